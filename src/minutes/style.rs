//! Writing conventions of minutes: character widths, numbers, punctuation, clock times and
//! Japanese era dates (令和).
//!
//! Owns: pure string functions. Must not: remove words (that is `kebatori`'s job and is
//! recorded; what happens here only changes how characters are written).

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// How digits are written in Japanese minutes.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Digits {
    /// 公用文 convention of plenary minutes: one-digit numbers full-width (３月), longer
    /// numbers half-width (27日, 2,036億).
    #[default]
    Official,
    /// Every digit full-width (committee minutes: ６月１７日).
    Fullwidth,
    /// Every digit half-width.
    Halfwidth,
    /// Leave digits as recognised.
    Keep,
}

/// How clock times of time marks are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "kebab-case")]
pub enum TimeStyle {
    /// 午後１時 / 午後２時50分 (plenary minutes).
    #[default]
    Plain,
    /// 午後 １時００分 (committee minutes: hour padded, minutes always shown).
    Padded,
}

fn to_fullwidth(c: char) -> char {
    match c {
        '!'..='~' => char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c),
        _ => c,
    }
}

fn to_halfwidth(c: char) -> char {
    match c {
        '！'..='～' => char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c),
        _ => c,
    }
}

fn is_digit_any(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c)
}

fn is_japanese(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xFF00..=0xFFEF)
}

/// Writes the digits of `text` per `digits`; a number is a run of digits with inner `.`/`,`.
pub fn write_digits(text: &str, digits: Digits) -> String {
    if digits == Digits::Keep {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_digit_any(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len()
            && (is_digit_any(chars[i])
                || (matches!(chars[i], '.' | ',' | '．' | '，')
                    && chars.get(i + 1).is_some_and(|&c| is_digit_any(c))))
        {
            i += 1;
        }
        let run = &chars[start..i];
        let n_digits = run.iter().filter(|&&c| is_digit_any(c)).count();
        let full = match digits {
            Digits::Official => n_digits == 1,
            Digits::Fullwidth => true,
            _ => false,
        };
        for &c in run {
            if is_digit_any(c) {
                out.push(if full {
                    to_fullwidth(c)
                } else {
                    to_halfwidth(c)
                });
            } else if full {
                // Minutes keep the separators of full-width numbers as written (５.６３％, ６,０００).
                out.push(c);
            } else {
                out.push(to_halfwidth(c));
            }
        }
    }
    out
}

/// Normalises one paragraph of clean text for minutes in `language`.
///
/// Japanese: half-width katakana to full-width, ASCII punctuation between Japanese text to
/// its full-width form, Latin letters full-width (as official minutes write ＳＤＧｓ), digits
/// per `digits`. English: single spaces, no space before punctuation, capital letter at
/// sentence starts (ケバ取り may have removed the word that carried it).
pub fn normalise(text: &str, language: &str, digits: Digits) -> String {
    match language {
        "ja" => normalise_ja(text, digits),
        "en" => normalise_en(text),
        _ => text.trim().to_string(),
    }
}

/// Normalises a piece of a paragraph that is printed between removed words (DOCX tracked
/// deletions): as [`normalise`], but English keeps its edge spaces and its capitals.
pub fn normalise_piece(text: &str, language: &str, digits: Digits) -> String {
    match language {
        "ja" => normalise_ja(text, digits),
        _ => {
            let mut out = String::new();
            if text.starts_with(char::is_whitespace) {
                out.push(' ');
            }
            out.push_str(&text.split_whitespace().collect::<Vec<_>>().join(" "));
            if text.ends_with(char::is_whitespace) && !out.ends_with(' ') {
                out.push(' ');
            }
            out
        }
    }
}

fn normalise_ja(text: &str, digits: Digits) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // Half-width katakana (with its voicing marks) → full-width through NFKC, run by run,
        // so that nothing else NFKC would fold (①, ㈱, full-width Latin) is touched.
        if ('\u{ff61}'..='\u{ff9f}').contains(&c) {
            let start = i;
            while i < chars.len() && ('\u{ff61}'..='\u{ff9f}').contains(&chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out.extend(run.nfkc());
            continue;
        }
        // List markers typed in ASCII, (1) and 1), are left as written, digits included.
        if let Some(end) = ascii_list_marker(&chars, i) {
            out.push(PROTECT_START);
            out.extend(&chars[i..end]);
            out.push(PROTECT_END);
            i = end;
            continue;
        }
        let prev = out.last().copied().filter(|&p| p != PROTECT_END);
        let next = chars.get(i + 1).copied();
        let jp_near = prev.is_some_and(is_japanese) || next.is_some_and(is_japanese);
        let mapped = match c {
            // Whisper sometimes leaves a space after Japanese punctuation.
            ' ' if prev.is_some_and(|p| matches!(p, '、' | '。' | '？' | '！'))
                || next.is_some_and(|n| matches!(n, '、' | '。')) =>
            {
                None
            }
            '?' => Some('？'),
            '!' => Some('！'),
            '(' => Some('（'),
            ')' => Some('）'),
            '%' => Some('％'),
            ',' if !(prev.is_some_and(is_digit_any) && next.is_some_and(is_digit_any)) => {
                Some('、')
            }
            // A full stop after Japanese text; not in numbers or abbreviations (No.１).
            '.' if !next.is_some_and(is_digit_any)
                && (prev.is_some_and(is_japanese) || prev.is_none() && jp_near) =>
            {
                Some('。')
            }
            // Latin words full-width (ＳＤＧｓ), but not units and abbreviations that official
            // minutes keep half-width (m2, No.).
            c if c.is_ascii_alphabetic()
                && digits != Digits::Halfwidth
                && digits != Digits::Keep
                && !latin_kept_halfwidth(&chars, i) =>
            {
                Some(to_fullwidth(c))
            }
            c => Some(c),
        };
        if let Some(m) = mapped {
            out.push(m);
        }
        i += 1;
    }
    let s: String = out.into_iter().collect();
    // Convert digits outside the protected list markers only.
    let mut result = String::with_capacity(s.len());
    for (k, part) in s.split(PROTECT_START).enumerate() {
        match (k, part.split_once(PROTECT_END)) {
            (0, _) | (_, None) => result.push_str(&write_digits(part, digits)),
            (_, Some((kept, rest))) => {
                result.push_str(kept);
                result.push_str(&write_digits(rest, digits));
            }
        }
    }
    result
}

/// Private-use marks around text `write_digits` must leave alone.
const PROTECT_START: char = '\u{E000}';
const PROTECT_END: char = '\u{E001}';

/// `(1)` or `1)` typed with ASCII at `i`: returns the end of the marker.
fn ascii_list_marker(chars: &[char], i: usize) -> Option<usize> {
    let mut j = i;
    let open = chars[i] == '(';
    if open {
        j += 1;
    } else if i > 0 && chars[i - 1].is_ascii_digit() {
        return None; // inside a longer number
    }
    let d0 = j;
    while j < chars.len() && chars[j].is_ascii_digit() {
        j += 1;
    }
    if j == d0 || j - d0 > 2 || chars.get(j) != Some(&')') {
        return None;
    }
    Some(j + 1)
}

/// Latin letters official minutes keep half-width: a letter run followed by `.` or a digit
/// (No.１, m2), or a single letter after a digit (３００m).
fn latin_kept_halfwidth(chars: &[char], i: usize) -> bool {
    let mut e = i;
    while e < chars.len() && chars[e].is_ascii_alphabetic() {
        e += 1;
    }
    let mut b = i;
    while b > 0 && chars[b - 1].is_ascii_alphabetic() {
        b -= 1;
    }
    // Words of a name or phrase written with spaces (Tokyo Point, for Shinagawa) stay as
    // written; single words and acronyms are widened (ＳＤＧｓ).
    let spaced_after =
        chars.get(e) == Some(&' ') && chars.get(e + 1).is_some_and(char::is_ascii_alphabetic);
    let spaced_before = b >= 2 && chars[b - 1] == ' ' && chars[b - 2].is_ascii_alphabetic();
    if spaced_after || spaced_before {
        return true;
    }
    match chars.get(e) {
        Some('.') => chars
            .get(e + 1)
            .is_some_and(|&c| c.is_ascii_digit() || ('０'..='９').contains(&c)),
        Some(c) if c.is_ascii_digit() || ('０'..='９').contains(c) => true,
        _ => false,
    }
}

fn normalise_en(text: &str) -> String {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = String::with_capacity(text.len());
    for w in words {
        let attaches = w
            .chars()
            .all(|c| matches!(c, ',' | '.' | '?' | '!' | ';' | ':'));
        if !out.is_empty() && !attaches {
            out.push(' ');
        }
        out.push_str(w);
    }
    // Capitalise sentence starts.
    let mut result = String::with_capacity(out.len());
    let mut cap = true;
    for c in out.chars() {
        if cap && c.is_alphabetic() {
            result.extend(c.to_uppercase());
            cap = false;
        } else {
            result.push(c);
            if matches!(c, '.' | '?' | '!') {
                cap = true;
            } else if !c.is_whitespace() && c != '"' {
                cap = false;
            }
        }
    }
    result
}

/// A clock time for a Japanese time mark: `午後１時`, `午後２時50分` (plain) or `午後 １時００分`
/// (padded). `seconds_of_day` is rounded down to the minute.
pub fn clock_ja(seconds_of_day: f64, style: TimeStyle, digits: Digits) -> String {
    let total_min = (seconds_of_day.max(0.0) / 60.0).floor() as u32 % (24 * 60);
    let (h, m) = (total_min / 60, total_min % 60);
    let (ampm, h12) = if h < 12 {
        ("午前", h)
    } else {
        ("午後", h - 12)
    };
    let s = match style {
        TimeStyle::Plain if m == 0 => format!("{ampm}{h12}時"),
        TimeStyle::Plain => format!("{ampm}{h12}時{m:02}分"),
        TimeStyle::Padded => format!("{ampm}{h12:>2}時{m:02}分"),
    };
    write_digits(&s, digits)
}

/// `10:05` for English minutes.
pub fn clock_en(seconds_of_day: f64) -> String {
    let total_min = (seconds_of_day.max(0.0) / 60.0).floor() as u32 % (24 * 60);
    format!("{:02}:{:02}", total_min / 60, total_min % 60)
}

/// `令和６年２月20日（火）` from a date; years before 令和 (2019-05-01) use the Gregorian year.
pub fn date_ja(date: chrono::NaiveDate, digits: Digits) -> String {
    use chrono::Datelike;
    let wd =
        ["月", "火", "水", "木", "金", "土", "日"][date.weekday().num_days_from_monday() as usize];
    let reiwa_start = chrono::NaiveDate::from_ymd_opt(2019, 5, 1).unwrap_or(date);
    let year = if date >= reiwa_start {
        match date.year() - 2018 {
            1 => "令和元年".to_string(),
            n => format!("令和{n}年"),
        }
    } else {
        format!("{}年", date.year())
    };
    write_digits(
        &format!("{year}{}月{}日（{wd}）", date.month(), date.day()),
        digits,
    )
}

/// Parses `13:00`, `13:00:30` or `1300` into seconds after midnight.
pub fn parse_clock(s: &str) -> Option<f64> {
    // Full-width digits and colon (１３：００, as typed with a Japanese IME) read as ASCII.
    let s: String = s
        .trim()
        .chars()
        .map(|c| match c {
            '０'..='９' | '：' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            c => c,
        })
        .collect();
    let parts: Vec<&str> = s.split(':').collect();
    let nums: Option<Vec<u32>> = match parts.len() {
        // "1300": only ASCII digits may be cut by bytes ("1時" is 4 bytes too).
        1 if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(vec![s[..2].parse().ok()?, s[2..].parse().ok()?])
        }
        2 | 3 => parts.iter().map(|p| p.parse().ok()).collect(),
        _ => None,
    };
    let nums = nums?;
    let (h, m, sec) = (nums[0], nums[1], nums.get(2).copied().unwrap_or(0));
    if h > 23 || m > 59 || sec > 59 {
        return None;
    }
    Some((h * 3600 + m * 60 + sec) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_follow_the_convention() {
        assert_eq!(
            write_digits("3月27日までの37日間", Digits::Official),
            "３月27日までの37日間"
        );
        assert_eq!(
            write_digits("2,036億5,600万円と8.8%", Digits::Official),
            "2,036億5,600万円と8.8%"
        );
        assert_eq!(write_digits("6月17日", Digits::Fullwidth), "６月１７日");
        assert_eq!(
            write_digits("5.63%と6,000円", Digits::Fullwidth),
            "５.６３%と６,０００円"
        );
    }

    #[test]
    fn clock_marks() {
        assert_eq!(
            clock_ja(13.0 * 3600.0, TimeStyle::Plain, Digits::Official),
            "午後１時"
        );
        assert_eq!(
            clock_ja(
                14.0 * 3600.0 + 50.0 * 60.0,
                TimeStyle::Plain,
                Digits::Official
            ),
            "午後２時50分"
        );
        assert_eq!(
            clock_ja(
                15.0 * 3600.0 + 26.0 * 60.0,
                TimeStyle::Padded,
                Digits::Fullwidth
            ),
            "午後 ３時２６分"
        );
        assert_eq!(
            clock_ja(10.0 * 3600.0, TimeStyle::Padded, Digits::Fullwidth),
            "午前１０時００分"
        );
    }

    #[test]
    fn japanese_text() {
        assert_eq!(
            normalise("SDGsの推進について、 ｶﾀｶﾅ?", "ja", Digits::Official),
            "ＳＤＧｓの推進について、カタカナ？"
        );
        // A name written with spaces keeps its letters (issue 18 item 5).
        assert_eq!(
            normalise("会場はTokyo Pointです", "ja", Digits::Official),
            "会場はTokyo Pointです"
        );
        assert_eq!(
            normalise("so we decided .", "en", Digits::Keep),
            "So we decided."
        );
    }

    #[test]
    fn era_dates() {
        let d = chrono::NaiveDate::from_ymd_opt(2024, 2, 20).unwrap();
        assert_eq!(date_ja(d, Digits::Official), "令和６年２月20日（火）");
    }
}
