//! DOCX export (what clerks open in Word and correct), built with docx-rs: centred title,
//! header fields, attendance lists, agenda, then the speeches with bold speaker headings,
//! time marks on their own lines and agenda items between rules; page numbers in the footer.
//! A4, Mincho at 10.5 pt, the usual layout of Japanese minutes.

use super::{Item, MeetingKind, Minutes, Speech};
use docx_rs::{
    AlignmentType, BreakType, Delete, Docx, Footer, LineSpacing, PageNum, Paragraph, Run, RunFonts,
    SpecialIndentType, Style, StyleType,
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

/// Word's own style ids and names for headings, so that the navigation pane, outline view
/// and a table of contents see the title and the sections (bold runs alone are not headings).
const HEADING1: &str = "Heading1";
const HEADING2: &str = "Heading2";

fn heading_styles(doc: Docx) -> Docx {
    doc.add_style(
        Style::new(HEADING1, StyleType::Paragraph)
            .name("heading 1")
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .ui_priority(9)
            .outline_lvl(0)
            .bold()
            .size(TITLE)
            .align(AlignmentType::Center)
            .line_spacing(LineSpacing::new().after(120)),
    )
    .add_style(
        Style::new(HEADING2, StyleType::Paragraph)
            .name("heading 2")
            .based_on("Normal")
            .next("Normal")
            .q_format(true)
            .ui_priority(9)
            .outline_lvl(1)
            .bold()
            .size(SECTION)
            .line_spacing(LineSpacing::new().before(240).after(60)),
    )
}

fn section(s: &str) -> Paragraph {
    Paragraph::new()
        .style(HEADING2)
        .add_run(text(s))
        .keep_next(true)
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
    let mut doc = heading_styles(Docx::new())
        .default_fonts(fonts)
        .default_size(BODY)
        .footer(
            Footer::new().add_paragraph(
                Paragraph::new()
                    .add_page_num(PageNum::new())
                    .align(AlignmentType::Center),
            ),
        );
    doc = doc.add_paragraph(Paragraph::new().style(HEADING1).add_run(text(&m.title)));
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
            doc = doc.add_paragraph(key_point(k));
        }
    }
    for f in &m.fields {
        doc = doc.add_paragraph(section(&f.label));
        if f.entries.is_empty() {
            // Nothing was said about it: visibly empty, for the caseworker to complete.
            doc = doc.add_paragraph(
                Paragraph::new().add_run(text(&m.labels.not_recorded).color("C00000")),
            );
        }
        for k in &f.entries {
            doc = doc.add_paragraph(key_point(k));
        }
    }
    doc = doc.add_paragraph(section(&m.labels.content));
    doc = doc.add_paragraph(line(&m.rule));
    let council = m.kind.is_council();
    for item in &m.items {
        doc = match item {
            // A mark or block with a heading opens that speaker's speech (the speech after
            // it is continued, without a heading): ○渡辺議長　○午後１時開会.
            Item::TimeMark {
                text: t,
                heading: Some(h),
                ..
            } => doc.add_paragraph(
                Paragraph::new()
                    .line_spacing(LineSpacing::new().before(120))
                    .add_run(text(h).bold())
                    .add_run(text(if ja { "　" } else { " " }))
                    .add_run(text(t)),
            ),
            Item::TimeMark { text: t, .. } => doc.add_paragraph(line(t)),
            Item::Agenda {
                number,
                title,
                heading,
                items,
                ..
            } => {
                let rule = match heading {
                    Some(h) => Paragraph::new()
                        .line_spacing(LineSpacing::new().before(120))
                        .add_run(text(h).bold())
                        .add_run(text(if ja { "　" } else { " " }))
                        .add_run(text(&m.rule)),
                    None => line(&m.rule),
                };
                let mut doc = doc
                    .add_paragraph(rule.keep_next(true))
                    .add_paragraph(
                        Paragraph::new()
                            .add_run(text(number).bold())
                            .keep_next(true),
                    )
                    .add_paragraph(line(title).keep_next(true));
                for sub in items {
                    doc = doc.add_paragraph(line(sub).keep_next(true));
                }
                doc.add_paragraph(line(&m.rule))
            }
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
    let mut xml = doc.build();
    xml.doc_props.core = core_xml(&core_properties(m)).into_bytes();
    xml.pack(&mut buf)
        .map_err(|e| anyhow::anyhow!("cannot write the DOCX: {e}"))?;
    Ok(buf.into_inner())
}

/// A sentence of the 要点 or of a record field: time, text, speaker; hanging indent.
fn key_point(k: &super::KeyPoint) -> Paragraph {
    Paragraph::new()
        .add_run(text(&format!("［{}］", k.time)).color("555555"))
        .add_run(text(&k.text))
        .add_run(text(&format!("（{}）", k.speaker)))
        .indent(
            Some(CHAR * 2),
            Some(SpecialIndentType::Hanging(CHAR * 2)),
            None,
            None,
        )
}

/// Document properties (File → Info in Word): who wrote the record and when.
struct CoreProperties {
    title: String,
    author: Option<String>,
    /// W3CDTF, e.g. 2024-07-03T00:00:00Z.
    created: Option<String>,
}

/// The author is the caseworker of a consultation, else the clerk named in the metadata;
/// the creation date is the meeting's date (midnight UTC: the metadata has a local date and
/// no time zone, and a date is what the clerk files by). Without them Word shows none
/// rather than the time the draft happened to be written.
fn core_properties(m: &Minutes) -> CoreProperties {
    let author = if m.kind == MeetingKind::Consultation {
        m.meta
            .consultation
            .caseworker
            .clone()
            .or(m.meta.clerk.clone())
    } else {
        m.meta.clerk.clone()
    };
    CoreProperties {
        title: m.title.clone(),
        author: author.filter(|a| !a.trim().is_empty()),
        created: m
            .meta
            .parsed_date()
            .ok()
            .flatten()
            .map(|d| format!("{}T00:00:00Z", d.format("%Y-%m-%d"))),
    }
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in xml_safe(s).chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// docProps/core.xml, written by hand because docx-rs 0.4 has no setter for dc:creator or
/// dc:title (its writer always says "unknown" and 1970).
fn core_xml(p: &CoreProperties) -> String {
    let mut xml = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n\
         <cp:coreProperties xmlns:cp=\"http://schemas.openxmlformats.org/package/2006/metadata/core-properties\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" xmlns:dcterms=\"http://purl.org/dc/terms/\" \
         xmlns:dcmitype=\"http://purl.org/dc/dcmitype/\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">",
    );
    xml.push_str(&format!("<dc:title>{}</dc:title>", xml_escape(&p.title)));
    if let Some(a) = &p.author {
        let a = xml_escape(a);
        xml.push_str(&format!(
            "<dc:creator>{a}</dc:creator><cp:lastModifiedBy>{a}</cp:lastModifiedBy>"
        ));
    }
    if let Some(c) = &p.created {
        xml.push_str(&format!(
            "<dcterms:created xsi:type=\"dcterms:W3CDTF\">{c}</dcterms:created>\
             <dcterms:modified xsi:type=\"dcterms:W3CDTF\">{c}</dcterms:modified>"
        ));
    }
    xml.push_str("<cp:revision>1</cp:revision></cp:coreProperties>");
    xml
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
    if sp.continued {
        // Goes on from the block or mark before it: no heading, no indent, as printed.
        for p in &sp.paragraphs {
            doc = doc.add_paragraph(add_paragraph_text(Paragraph::new(), p, m, options));
        }
        return doc;
    }
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
///
/// Accept All must give exactly the clean text. The kept pieces of the verbatim text are
/// not quite it: the draft also closes sentences (。), applies the terms dictionary and
/// normalises widths over the whole paragraph. So the kept pieces are only used to find
/// where each deletion falls: the clean text is cut at those places (a character diff maps
/// them), and what the draft added at a cut goes with the piece before it (the 。 closing a
/// sentence before a removed filler).
fn add_paragraph_text(
    para: Paragraph,
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
    let mut removals: Vec<(usize, usize)> = p
        .removals
        .iter()
        .map(|r| {
            (
                r.removal.start.min(chars.len()),
                r.removal.end.min(chars.len()),
            )
        })
        .collect();
    removals.sort_unstable();
    // Kept pieces (normalised as the draft writes them) and the deleted verbatim text after
    // each; the last piece has no deletion after it.
    let mut kept: Vec<String> = Vec::new();
    let mut deleted: Vec<String> = Vec::new();
    let mut pos = 0;
    for (start, end) in removals {
        let start = start.max(pos);
        if end <= start {
            continue;
        }
        let piece: String = chars[pos..start].iter().collect();
        kept.push(super::style::normalise_piece(&piece, &m.language, digits));
        deleted.push(chars[start..end].iter().collect());
        pos = end;
    }
    let piece: String = chars[pos..].iter().collect();
    kept.push(super::style::normalise_piece(&piece, &m.language, digits));
    let cuts = map_cuts(&kept, &p.text);
    let clean: Vec<char> = p.text.chars().collect();
    let mut para = para;
    let mut from = 0;
    for (k, del) in deleted.iter().enumerate() {
        let to = cuts[k].clamp(from, clean.len());
        if to > from {
            para = para.add_run(text(&clean[from..to].iter().collect::<String>()));
        }
        para = para.add_delete(
            Delete::new()
                .author("gijiroku")
                .add_run(Run::new().add_delete_text(xml_safe(del))),
        );
        from = to;
    }
    if from < clean.len() {
        para = para.add_run(text(&clean[from..].iter().collect::<String>()));
    }
    para
}

/// Where the ends of `pieces` (all but the last) fall in `clean`, in chars: a character diff
/// between the pieces joined and the clean text carries each end over; characters the clean
/// text has in addition at an end go before it. Monotone, within `clean`.
fn map_cuts(pieces: &[String], clean: &str) -> Vec<usize> {
    let joined: String = pieces.concat();
    let mut ends = Vec::with_capacity(pieces.len());
    let mut n = 0;
    for p in &pieces[..pieces.len().saturating_sub(1)] {
        n += p.chars().count();
        ends.push(n);
    }
    let diff = similar::TextDiff::from_chars(joined.as_str(), clean);
    // For each char of `joined`, the position in `clean` when it is reached (after any
    // insertions in front of it).
    let mut map = vec![0usize; joined.chars().count() + 1];
    let (mut i, mut j) = (0usize, 0usize);
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => {
                for _ in old.clone() {
                    map[i] = j;
                    i += 1;
                    j += 1;
                }
            }
            similar::DiffTag::Delete => {
                for _ in old.clone() {
                    map[i] = j;
                    i += 1;
                }
            }
            similar::DiffTag::Insert => j += new.len(),
            similar::DiffTag::Replace => {
                // A replaced run: its start stays put, the rest of its chars map to its end.
                let start = j;
                j += new.len();
                for (k, _) in old.clone().enumerate() {
                    map[i] = if k == 0 { start } else { j };
                    i += 1;
                }
            }
        }
    }
    map[i] = j;
    // map[e] already counts the insertions in front of joined[e]: they go with the piece
    // that ends at e.
    ends.iter().map(|&e| map[e.min(i)]).collect()
}
