//! Past minutes written as text (会議録): `○渡辺議長　発言…` speaker headings, one turn per
//! heading, optional `# title`, `# date: YYYY-MM-DD` and `# source:` header lines.
//!
//! A heading is a line starting with `○`, a name without spaces, then an ideographic space
//! (U+3000). Lines like `○日 程` or `○午後１時開会` are items of the order of business, not
//! speakers, and stay in the text of the turn they belong to.

/// One speaker turn read from minutes text.
#[derive(Debug, Clone, PartialEq)]
pub struct MinutesTurn {
    /// The heading as written, e.g. `渡辺議長`, `鈴木(ひ)委員`, `平原防災課長`.
    pub speaker: String,
    /// The role at the end of the heading when it is a known one (`議長`, `委員`, `課長`, ...).
    pub role: Option<String>,
    pub text: String,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct MinutesText {
    pub title: Option<String>,
    pub date: Option<String>,
    pub source: Option<String>,
    pub turns: Vec<MinutesTurn>,
}

/// Roles found at the end of headings in Japanese municipal minutes, longest first so that
/// `副委員長` wins over `委員長` and `委員`.
const ROLES: &[&str] = &[
    "副委員長",
    "委員長",
    "副議長",
    "議長",
    "委員",
    "議員",
    "副区長",
    "副市長",
    "副町長",
    "副村長",
    "区長",
    "市長",
    "町長",
    "村長",
    "知事",
    "教育長",
    "センター長",
    "事務局長",
    "局長",
    "次長",
    "部長",
    "室長",
    "課長",
    "所長",
    "館長",
    "園長",
    "校長",
    "係長",
    "主査",
    "主事",
    "参事",
    "理事",
    "会計管理者",
    "監査委員",
    "書記",
    "参考人",
    "説明員",
];

/// Roles that preside over a sitting: their turns call the next speaker, they do not answer.
pub const PRESIDING_ROLES: &[&str] = &["議長", "副議長", "委員長", "副委員長"];
/// Roles of elected members: their turns ask, they do not answer.
pub const MEMBER_ROLES: &[&str] = &["委員", "議員"];

/// The role at the end of a speaker heading, if it is one of the known ones.
pub fn role_of(speaker: &str) -> Option<String> {
    let mut best: Option<&str> = None;
    for r in ROLES {
        if speaker.ends_with(r) && speaker.len() > r.len() && best.is_none_or(|b| r.len() > b.len())
        {
            best = Some(r);
        }
    }
    best.map(str::to_string)
}

/// Parses minutes text. Text before the first heading (attendance lists, tables of contents)
/// is not a turn and is skipped.
pub fn parse(text: &str) -> MinutesText {
    let mut out = MinutesText::default();
    let mut current: Option<(String, Vec<&str>)> = None;
    let mut in_header = true;
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if in_header {
            if let Some(h) = line.strip_prefix("# ") {
                if let Some(d) = h.strip_prefix("date:") {
                    out.date = Some(d.trim().to_string());
                } else if let Some(s) = h.strip_prefix("source:") {
                    out.source = Some(s.trim().to_string());
                } else if out.title.is_none() {
                    out.title = Some(h.trim().to_string());
                }
                continue;
            }
            if !line.trim().is_empty() {
                in_header = false;
            }
        }
        if let Some((speaker, first)) = heading(line) {
            if let Some((s, lines)) = current.take() {
                out.turns.push(turn(s, &lines));
            }
            current = Some((speaker.to_string(), vec![first]));
        } else if let Some((_, lines)) = current.as_mut() {
            lines.push(line);
        }
    }
    if let Some((s, lines)) = current.take() {
        out.turns.push(turn(s, &lines));
    }
    out
}

fn heading(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix('○')?;
    let (name, text) = rest.split_once('\u{3000}')?;
    if name.is_empty() || name.chars().any(char::is_whitespace) {
        return None;
    }
    Some((name, text))
}

fn turn(speaker: String, lines: &[&str]) -> MinutesTurn {
    let text = lines.join("\n").trim().to_string();
    MinutesTurn {
        role: role_of(&speaker),
        speaker,
        text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headings_and_roles() {
        let m = parse(
            "# 2024年6月10日 総務委員会\n# date: 2024-06-10\n\n出席委員\n\
             ○渡辺議長　○午後１時開会\nただいまから開会いたします。\n○日 程\n\n\
             ○鈴木(ひ)委員　質問します。\n○平原防災課長　お答えします。\n",
        );
        assert_eq!(m.title.as_deref(), Some("2024年6月10日 総務委員会"));
        assert_eq!(m.date.as_deref(), Some("2024-06-10"));
        assert_eq!(m.turns.len(), 3);
        assert_eq!(m.turns[0].speaker, "渡辺議長");
        assert_eq!(m.turns[0].role.as_deref(), Some("議長"));
        assert_eq!(
            m.turns[0].text,
            "○午後１時開会\nただいまから開会いたします。\n○日 程"
        );
        assert_eq!(m.turns[1].role.as_deref(), Some("委員"));
        assert_eq!(m.turns[2].role.as_deref(), Some("課長"));
        assert_eq!(role_of("大倉副委員長").as_deref(), Some("副委員長"));
        assert_eq!(role_of("議長"), None);
    }
}
