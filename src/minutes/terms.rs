//! The terms dictionary (用字用語): words a recogniser writes in a form the minutes do not
//! use, corrected in the draft's clean text. Three sources, applied in this order:
//! the municipality's own 誤→正 pairs (`--terms FILE`, `[terms]` in the metadata), the
//! members' names of the metadata (variant kanji such as 渡邊/渡辺 and, when a `reading` is
//! given, the name written in kana before a title: わたなべ議長 → 渡辺議長), then built-in
//! rules with the forms the published minutes use (記者ハンドブック / 公用文: ご意見,
//! いたします, ください, できる, 配付 for papers handed to members, 差し替え, 資料No.).
//!
//! Every built-in rule was checked against the 25 published Shinagawa minutes
//! (shared/eval/minutes): the form it writes is the one the clerks use, and the form it
//! replaces never appears there (tests/minutes_terms.rs holds that check).
//!
//! Owns: the dictionary and its application. Must not: touch the verbatim text (the draft
//! keeps it; DOCX tracked changes show only ケバ取り's removals).

use super::style::{self, Digits};
use super::MeetingMeta;
use anyhow::Context;
use regex::Regex;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::LazyLock;

/// A rule written as a regex: `find` → `replace` (`$1` refers to a group).
struct Rule {
    find: Regex,
    replace: &'static str,
}

fn rule(find: &str, replace: &'static str) -> Rule {
    Rule {
        find: Regex::new(find).expect("static regex"),
        replace,
    }
}

/// Built-in rules on normalised Japanese text (full-width kana, digits per convention).
/// Counts in the comments: the form written / the form replaced, in the published minutes.
static BUILTIN: LazyLock<Vec<Rule>> = LazyLock::new(|| {
    vec![
        // Papers handed to the members are 配付 (65 / お手元に配布 0); 配布 stays for
        // leaflets handed out to residents (99), so only these contexts are corrected.
        rule("(お手元|手元|机上)(に|へ)配布", "${1}${2}配付"),
        rule("配布(のとおり|の通り|の議事日程|の予定表|の資料|の審査|いたしました資料|しております資料)", "配付$1"),
        // 差し替え (3 / 差替え, 差換え, 差し換え 0).
        rule("差し?[替換]え", "差し替え"),
        // 資料No.１ (14 / 資料ナンバー, 資料ＮＯ, 資料№ 0): "No." half-width, as the clerks type it.
        rule(
            "資料(?:ナンバー|ﾅﾝﾊﾞｰ|№|Ｎｏ|ＮＯ|ｎｏ|NO|no|No)[\\.．]?\\s*([0-9０-９])",
            "資料No.$1",
        ),
        // 除斥 (地方自治法第117条): the homophone 除籍 is a family-register word.
        rule("(規定により|規定による)除籍", "${1}除斥"),
        // ご異議 86 / 御異議 0; ご意見 125 / 御意見 0; ご質問, ご答弁, ご報告, ご説明 (公用文:
        // 御 in kana before these words).
        rule("御(異議|意見|質問|答弁|報告|説明|審議|了承|協力|理解|指摘|要望|案内)", "ご$1"),
        // いたします 954 / 致します 0 (auxiliary in kana).
        rule("致(します|しました|しております|しまして|したい|しておりま)", "いた$1"),
        // ください 649 / 下さい 1: the auxiliary (after て/で, ご覧) only.
        rule("([てで]|ご覧)下さい", "${1}ください"),
        // できる 609 / 出来る 0 (出来上がる, 出来事 and 出来かねる stay).
        rule("出来(る|ます|ません|ない|なかった|れば|ず|た|て)", "でき$1"),
        // ぜひ 201 / 是非 0; ありがとう 221 / 有難う 0; および 559 / 及び 21 stays;
        // または 57 / 又は 0; ただし 18 / 但し 0; あらかじめ 32 / 予め 0.
        rule("是非", "ぜひ"),
        rule("有難う", "ありがとう"),
        rule("又は", "または"),
        rule("但し", "ただし"),
        rule("予め", "あらかじめ"),
        // 打合せ 11 / 打ち合わせ 0; 全て 159 / すべて 0; 既に 75 / すでに 0.
        rule("打ち合わせ", "打合せ"),
        rule("すべて", "全て"),
        rule("すでに", "既に"),
    ]
});

/// Kanji written in more than one form in personal names: the metadata's form is the one
/// the member registered, a recogniser may write another.
const NAME_VARIANTS: &[&[char]] = &[
    &['辺', '邊', '邉'],
    &['高', '髙'],
    &['崎', '﨑', '嵜'],
    &['斎', '齋', '齊', '斉'],
    &['沢', '澤'],
    &['浜', '濱', '濵'],
    &['島', '嶋', '嶌'],
    &['竜', '龍'],
    &['広', '廣'],
    &['国', '國'],
    &['桜', '櫻'],
    &['恵', '惠'],
    &['栄', '榮'],
    &['徳', '德'],
    &['槙', '槇'],
    &['関', '關'],
    &['瀬', '瀨'],
    &['真', '眞'],
    &['条', '條'],
    &['富', '冨'],
    &['吉', '𠮷'],
];

/// Titles a member's name is said with (わたなべ議長, たかはし委員).
const NAME_TITLES: &[&str] = &[
    "副委員長",
    "委員長",
    "副議長",
    "議長",
    "委員",
    "議員",
    "区長",
    "市長",
    "町長",
    "村長",
    "部長",
    "課長",
    "さん",
    "君",
    "氏",
];

/// A dictionary ready to apply to a draft.
#[derive(Debug, Default)]
pub struct Terms {
    /// 誤 → 正, explicit pairs (user, metadata, names); the longest 誤 wins at a position.
    pairs: HashMap<String, String>,
    /// First characters of the 誤 forms, to skip positions quickly.
    firsts: HashMap<char, Vec<usize>>,
    /// Built-in rules on (Japanese).
    builtin: bool,
}

impl Terms {
    /// The dictionary for a draft of `meta`: `extra` (from `--terms`), the metadata's
    /// `[terms]`, and with `builtin` for Japanese its people's names and the built-in rules.
    pub fn new(
        meta: &MeetingMeta,
        extra: &BTreeMap<String, String>,
        ja: bool,
        builtin: bool,
    ) -> Terms {
        let digits = if ja { meta.digits() } else { Digits::Keep };
        let lang = if ja { "ja" } else { "en" };
        let mut pairs: HashMap<String, String> = HashMap::new();
        if ja && builtin {
            for (wrong, right) in name_pairs(meta) {
                pairs.entry(wrong).or_insert(right);
            }
        }
        // Explicit pairs last so that they win over derived ones.
        for (wrong, right) in meta.terms.iter().chain(extra) {
            let w = style::normalise(wrong, lang, digits);
            if w.is_empty() || w == *right {
                continue;
            }
            pairs.insert(w, right.clone());
        }
        let mut firsts: HashMap<char, Vec<usize>> = HashMap::new();
        for k in pairs.keys() {
            if let Some(c) = k.chars().next() {
                firsts.entry(c).or_default().push(k.chars().count());
            }
        }
        for v in firsts.values_mut() {
            v.sort_unstable_by(|a, b| b.cmp(a));
            v.dedup();
        }
        Terms {
            pairs,
            firsts,
            builtin: ja && builtin,
        }
    }

    /// `text` corrected, and how many words were.
    pub fn apply(&self, text: &str) -> (String, usize) {
        let mut n = 0;
        let mut out = String::with_capacity(text.len());
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        'outer: while i < chars.len() {
            if let Some(lens) = self.firsts.get(&chars[i]) {
                for &len in lens {
                    if i + len > chars.len() {
                        continue;
                    }
                    let cand: String = chars[i..i + len].iter().collect();
                    if let Some(right) = self.pairs.get(&cand) {
                        out.push_str(right);
                        n += 1;
                        i += len;
                        continue 'outer;
                    }
                }
            }
            out.push(chars[i]);
            i += 1;
        }
        if self.builtin {
            for r in BUILTIN.iter() {
                let new = r.find.replace_all(&out, |caps: &regex::Captures| {
                    let mut dst = String::new();
                    caps.expand(r.replace, &mut dst);
                    if dst != caps[0] {
                        n += 1;
                    }
                    dst
                });
                if let std::borrow::Cow::Owned(new) = new {
                    out = new;
                }
            }
        }
        (out, n)
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && !self.builtin
    }
}

/// The built-in rules alone, on `text` (for checking them against published minutes).
pub fn builtin_apply(text: &str) -> (String, usize) {
    Terms {
        builtin: true,
        ..Default::default()
    }
    .apply(text)
}

/// 誤→正 pairs for the people of the metadata: other kanji forms of their names, and their
/// kana reading before a title.
fn name_pairs(meta: &MeetingMeta) -> Vec<(String, String)> {
    let mut names: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for a in &meta.attendees {
        let full: String = a.name.split_whitespace().collect();
        names.push((
            a.family_name().to_string(),
            a.reading.clone(),
            a.role.clone(),
        ));
        if full != a.family_name() {
            names.push((full, None, None));
        }
    }
    for n in meta.chair.iter().chain(&meta.signers).chain(&meta.absent) {
        names.push((n.split_whitespace().collect(), None, None));
    }
    let registered: std::collections::HashSet<&str> =
        names.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut out = Vec::new();
    for (name, reading, role) in &names {
        for v in variants(name) {
            // Two members may be 高橋 and 髙橋: then both forms are right.
            if v != *name && !registered.contains(v.as_str()) {
                out.push((v, name.clone()));
            }
        }
        if let Some(r) = reading {
            let family_reading = r.split([' ', '　']).find(|s| !s.is_empty()).unwrap_or(r);
            let family = name;
            let kata: String = family_reading.chars().map(hira_to_kata).collect();
            let hira: String = family_reading.chars().map(kata_to_hira).collect();
            let titles = NAME_TITLES
                .iter()
                .map(|t| t.to_string())
                .chain(role.clone());
            for t in titles {
                for kana in [&hira, &kata] {
                    if kana.chars().count() >= 2 {
                        out.push((format!("{kana}{t}"), format!("{family}{t}")));
                    }
                }
            }
        }
    }
    out
}

/// Other spellings of `name` with the variant kanji of [`NAME_VARIANTS`] (at most 32).
fn variants(name: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    for c in name.chars() {
        let group = NAME_VARIANTS.iter().find(|g| g.contains(&c));
        let alts: Vec<char> = match group {
            Some(g) => g.to_vec(),
            None => vec![c],
        };
        let mut next = Vec::new();
        for prefix in &out {
            for a in &alts {
                if next.len() < 32 {
                    next.push(format!("{prefix}{a}"));
                }
            }
        }
        out = next;
    }
    out
}

fn hira_to_kata(c: char) -> char {
    match c {
        'ぁ'..='ゖ' => char::from_u32(c as u32 + 0x60).unwrap_or(c),
        c => c,
    }
}

fn kata_to_hira(c: char) -> char {
    match c {
        'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
        c => c,
    }
}

/// Reads a terms file: TOML with 誤 = "正" pairs, at the top level or under `[terms]`.
pub fn load_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the terms file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let table = match table.get("terms") {
        Some(toml::Value::Table(t)) => t.clone(),
        Some(_) => anyhow::bail!("{}: terms must be a table of 誤 = \"正\"", path.display()),
        None => table,
    };
    let mut out = BTreeMap::new();
    for (wrong, right) in table {
        match right {
            toml::Value::String(r) => {
                if wrong.trim().is_empty() {
                    anyhow::bail!("{}: an empty word cannot be corrected", path.display());
                }
                out.insert(wrong, r);
            }
            other => anyhow::bail!(
                "{}: {wrong:?} = {other} is not a string: write 誤 = \"正\"",
                path.display()
            ),
        }
    }
    Ok(out)
}
