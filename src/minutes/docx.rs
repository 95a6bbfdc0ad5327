//! DOCX export (what clerks open in Word and correct), built with docx-rs: centred title,
//! header fields, attendance lists, agenda, then the speeches with bold speaker headings,
//! time marks on their own lines and agenda items between rules; page numbers in the footer.
//! A4, Mincho at 10.5 pt, the usual layout of Japanese minutes.

use super::{Item, MeetingKind, Minutes, Speech};
use docx_rs::{
    AlignmentType, BreakType, Delete, Docx, Footer, LineSpacing, PageNum, Paragraph, Run, RunFonts,
    SpecialIndentType,
};

/// Options of the DOCX export.
#[derive(Debug, Clone, Copy, Default)]
pub struct DocxOptions {
    /// Print the words ケバ取り removed as tracked deletions (Word: Review → Reject restores
    /// one; Accept All gives the clean text). Off: the clean text only.
    pub track_removals: bool,
}

/// Font size in half-points (docx-rs unit): 10.5 pt body, 16 pt title, 12 pt section titles.
const BODY: usize = 21;
const TITLE: usize = 32;
const SECTION: usize = 24;
/// One character of body text, in twips (10.5 pt × 20).
const CHAR: i32 = 210;

/// A run of text. U+000B (Word's own manual line break, common in pasted text) becomes a
/// line break; the other characters XML 1.0 forbids are dropped, since docx-rs writes them
/// as they are and Word then refuses the whole file.
fn text(s: &str) -> Run {
    let mut run = Run::new();
    for (i, part) in s.split('\u{000B}').enumerate() {
        if i > 0 {
            run = run.add_break(BreakType::TextWrapping);
        }
        run = run.add_text(xml_safe(part));
    }
    run
}

/// `s` without the characters XML 1.0 does not allow (C0 controls other than tab, line
/// feed and carriage return; U+FFFE, U+FFFF); U+000B becomes a space (for deleted text,
/// which cannot hold a break).
pub(crate) fn xml_safe(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\u{000B}' => Some(' '),
            '\t' | '\n' | '\r' => Some(c),
            '\u{0000}'..='\u{001F}' | '\u{FFFE}' | '\u{FFFF}' => None,
            c => Some(c),
        })
        .collect()
}

fn line(s: &str) -> Paragraph {
    Paragraph::new().add_run(text(s))
}

fn blank() -> Paragraph {
    Paragraph::new()
}

fn section(s: &str) -> Paragraph {
    Paragraph::new()
        .add_run(text(s).bold().size(SECTION))
        .keep_next(true)
        .line_spacing(LineSpacing::new().before(240).after(60))
}

/// Renders the draft as DOCX.
pub fn render(m: &Minutes, options: &DocxOptions) -> anyhow::Result<Vec<u8>> {
    let ja = m.language == "ja";
    let fonts = if ja {
        RunFonts::new()
            .east_asia("ＭＳ 明朝")
            .ascii("Century")
            .hi_ansi("Century")
    } else {
        RunFonts::new()
            .ascii("Times New Roman")
            .hi_ansi("Times New Roman")
    };
    let mut doc = Docx::new().default_fonts(fonts).default_size(BODY).footer(
        Footer::new().add_paragraph(
            Paragraph::new()
                .add_page_num(PageNum::new())
                .align(AlignmentType::Center),
        ),
    );
    doc = doc.add_paragraph(
        Paragraph::new()
            .add_run(text(&m.title).bold().size(TITLE))
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().after(120)),
    );
    if let Some(sub) = &m.subtitle {
        doc = doc.add_paragraph(line(sub).align(AlignmentType::Center));
    }
    doc = doc.add_paragraph(blank());
    let sep = if ja { "　" } else { ": " };
    for f in &m.header {
        doc = doc.add_paragraph(
            Paragraph::new()
                .add_run(text(&f.label).bold())
                .add_run(text(sep))
                .add_run(text(&f.value)),
        );
    }
    for g in &m.attendance {
        doc = doc.add_paragraph(
            Paragraph::new()
                .add_run(text(&g.label).bold())
                .keep_next(true),
        );
        doc = doc.add_paragraph(line(&g.names.join(if ja { "　" } else { ", " })).indent(
            Some(CHAR * 2),
            None,
            None,
            None,
        ));
    }
    if !m.agenda.is_empty() {
        doc = doc.add_paragraph(section(&m.labels.agenda));
        for a in &m.agenda {
            doc = doc.add_paragraph(
                Paragraph::new()
                    .add_run(text(&a.label).bold())
                    .add_run(text(&format!("{sep}{}", a.value)))
                    .indent(Some(CHAR), None, None, None),
            );
        }
    }
    if !m.key_points.is_empty() || m.kind == MeetingKind::Consultation {
        doc = doc.add_paragraph(section(&m.labels.key_points));
        if m.key_points.is_empty() {
            doc = doc.add_paragraph(line(&m.labels.none));
        }
        for k in &m.key_points {
            doc = doc.add_paragraph(
                Paragraph::new()
                    .add_run(text(&format!("［{}］", k.time)).color("555555"))
                    .add_run(text(&k.text))
                    .add_run(text(&format!("（{}）", k.speaker)))
                    .indent(
                        Some(CHAR * 2),
                        Some(SpecialIndentType::Hanging(CHAR * 2)),
                        None,
                        None,
                    ),
            );
        }
    }
    doc = doc.add_paragraph(section(&m.labels.content));
    doc = doc.add_paragraph(line(&m.rule));
    let council = m.kind.is_council();
    for item in &m.items {
        doc = match item {
            Item::TimeMark { text: t, .. } => doc.add_paragraph(line(t)),
            Item::Agenda { number, title, .. } => doc
                .add_paragraph(line(&m.rule).keep_next(true))
                .add_paragraph(
                    Paragraph::new()
                        .add_run(text(number).bold())
                        .keep_next(true),
                )
                .add_paragraph(line(title).keep_next(true))
                .add_paragraph(line(&m.rule)),
            Item::Speech(sp) => add_speech(doc, sp, council, ja, m, options),
        };
    }
    for s in &m.open_sections {
        doc = doc.add_paragraph(section(s));
        for _ in 0..4 {
            doc = doc.add_paragraph(blank());
        }
    }
    if !m.signatures.is_empty() {
        doc = doc.add_paragraph(blank()).add_paragraph(line(&m.rule));
        for s in &m.signatures {
            doc = doc.add_paragraph(line(&format!("{}{sep}{}", s.label, s.value)));
        }
    }
    let mut buf = std::io::Cursor::new(Vec::new());
    doc.build()
        .pack(&mut buf)
        .map_err(|e| anyhow::anyhow!("cannot write the DOCX: {e}"))?;
    Ok(buf.into_inner())
}

/// A speech: heading and first paragraph on one line (as printed minutes do), later
/// paragraphs indented by one character; consultations and meetings show the time.
fn add_speech(
    mut doc: Docx,
    sp: &Speech,
    council: bool,
    ja: bool,
    m: &Minutes,
    options: &DocxOptions,
) -> Docx {
    let mut heading = text(&sp.heading).bold();
    if !sp.identified {
        // Left for the clerk: red so it is not missed.
        heading = heading.color("C00000");
    }
    let mut first = Paragraph::new().line_spacing(LineSpacing::new().before(120));
    if !council {
        first = first.add_run(text(&format!("［{}］", sp.time)).color("555555"));
    }
    first = first
        .add_run(heading)
        .add_run(text(if ja { "　" } else { " " }));
    let mut paras = sp.paragraphs.iter();
    if let Some(p) = paras.next() {
        first = add_paragraph_text(first, p, m, options);
    }
    doc = doc.add_paragraph(first);
    for p in paras {
        let para =
            Paragraph::new().indent(None, Some(SpecialIndentType::FirstLine(CHAR)), None, None);
        doc = doc.add_paragraph(add_paragraph_text(para, p, m, options));
    }
    doc
}

/// The text of a paragraph: clean, or verbatim with the removals as tracked deletions.
fn add_paragraph_text(
    mut para: Paragraph,
    p: &super::Paragraph,
    m: &Minutes,
    options: &DocxOptions,
) -> Paragraph {
    if !options.track_removals || p.removals.is_empty() {
        return para.add_run(text(&p.text));
    }
    let digits = if m.language == "ja" {
        m.meta.digits()
    } else {
        super::style::Digits::Keep
    };
    let chars: Vec<char> = p.verbatim.chars().collect();
    let mut pos = 0;
    for r in &p.removals {
        let (start, end) = (
            r.removal.start.min(chars.len()),
            r.removal.end.min(chars.len()),
        );
        if start > pos {
            let kept: String = chars[pos..start].iter().collect();
            para = para.add_run(text(&super::style::normalise_piece(
                &kept,
                &m.language,
                digits,
            )));
        }
        para = para.add_delete(Delete::new().author("gijiroku").add_run(
            Run::new().add_delete_text(xml_safe(&chars[start..end].iter().collect::<String>())),
        ));
        pos = end.max(pos);
    }
    if pos < chars.len() {
        let kept: String = chars[pos..].iter().collect();
        para = para.add_run(text(&super::style::normalise_piece(
            &kept,
            &m.language,
            digits,
        )));
    }
    para
}
