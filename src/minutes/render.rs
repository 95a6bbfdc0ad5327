//! Exports of a draft: text formats through minijinja templates (the defaults in templates/,
//! or a municipality's own copy), DOCX through docx-rs, JSON through serde.
//!
//! Owns: the list of formats and which template renders which. Must not: change the draft;
//! every format is a pure function of [`Minutes`].

use super::{MeetingKind, Minutes};
use anyhow::Context;

/// An export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Docx,
    Markdown,
    Text,
    Html,
    Json,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Docx,
        Format::Markdown,
        Format::Text,
        Format::Html,
        Format::Json,
    ];

    /// File extension, also the name used on the command line.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Docx => "docx",
            Format::Markdown => "md",
            Format::Text => "txt",
            Format::Html => "html",
            Format::Json => "json",
        }
    }

    /// Whether a template renders this format.
    pub fn is_templated(self) -> bool {
        matches!(self, Format::Markdown | Format::Text | Format::Html)
    }
}

impl std::str::FromStr for Format {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Format> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "docx" | "word" => Format::Docx,
            "md" | "markdown" => Format::Markdown,
            "txt" | "text" => Format::Text,
            "html" | "htm" => Format::Html,
            "json" => Format::Json,
            other => anyhow::bail!("unknown format {other:?}: use docx, md, txt, html or json"),
        })
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.extension())
    }
}

/// The default template shipped for a kind and a text format (None for DOCX and JSON).
pub fn default_template(kind: MeetingKind, format: Format) -> Option<&'static str> {
    Some(match (kind.template_name(), format) {
        ("council", Format::Text) => include_str!("../../templates/council.txt.jinja"),
        ("council", Format::Markdown) => include_str!("../../templates/council.md.jinja"),
        ("consultation", Format::Text) => include_str!("../../templates/consultation.txt.jinja"),
        ("consultation", Format::Markdown) => {
            include_str!("../../templates/consultation.md.jinja")
        }
        ("meeting", Format::Text) => include_str!("../../templates/meeting.txt.jinja"),
        ("meeting", Format::Markdown) => include_str!("../../templates/meeting.md.jinja"),
        (_, Format::Html) => include_str!("../../templates/minutes.html.jinja"),
        _ => return None,
    })
}

/// Renders the draft in `format` with the default template.
pub fn render(minutes: &Minutes, format: Format) -> anyhow::Result<Vec<u8>> {
    match format {
        Format::Docx => super::docx::render(minutes, &super::docx::DocxOptions::default()),
        Format::Json => {
            let mut v = serde_json::to_vec_pretty(minutes)?;
            v.push(b'\n');
            Ok(v)
        }
        _ => {
            let src = default_template(minutes.kind, format)
                .with_context(|| format!("no default template for {format}"))?;
            let name = format!(
                "{}.{}.jinja",
                minutes.kind.template_name(),
                format.extension()
            );
            let mut text = render_template(minutes, &name, src)?;
            if !text.ends_with('\n') {
                text.push('\n');
            }
            Ok(text.into_bytes())
        }
    }
}

/// Renders the draft through a template; `name` decides escaping (`*.html*` escapes HTML).
pub fn render_template(minutes: &Minutes, name: &str, source: &str) -> anyhow::Result<String> {
    let mut env = minijinja::Environment::new();
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    // A misspelt field in a municipality's template should fail loudly, not print nothing.
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    if name.contains(".md") {
        // Markdown passes raw HTML through to whoever renders it: a `<script>` said (or typed
        // into a speaker's name) must arrive as text. Only < > & are escaped, so the file
        // still reads as plain text.
        env.set_formatter(|out, state, value| match value.as_str() {
            Some(s) if !value.is_safe() => {
                let mut esc = String::with_capacity(s.len());
                for c in s.chars() {
                    match c {
                        '<' => esc.push_str("&lt;"),
                        '>' => esc.push_str("&gt;"),
                        '&' => esc.push_str("&amp;"),
                        c => esc.push(c),
                    }
                }
                std::fmt::Write::write_str(out, &esc).map_err(|_| {
                    minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "cannot write")
                })
            }
            _ => minijinja::escape_formatter(out, state, value),
        });
    }
    let tmpl = env
        .template_from_named_str(name, source)
        .with_context(|| format!("template {name} has a syntax error"))?;
    tmpl.render(minutes)
        .with_context(|| format!("template {name} failed to render"))
}
