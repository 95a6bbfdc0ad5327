//! Redaction for publication or disclosure: a copy of a draft in which personal data is
//! masked with 〇〇, and the list of what was masked so the clerk can review it.
//!
//! Masked: person names other than the meeting's speakers and the people listed in the
//! metadata (attendees, absent members, chair, signers, caseworker, the client's pseudonym),
//! addresses (place + 丁目/番地/号 or N-N-N, 〒 postcodes), phone numbers, birth dates, My
//! Number (12 digits), bank account numbers (口座 / 普通 / 当座 + 7 digits) and e-mail
//! addresses. Every masked item becomes exactly one `〇〇`, whatever its kind or length: the
//! text stays readable, and the length of a name or number is not given away either.
//!
//! Names are found with the IPADIC morphology the search module builds (人名 姓/名 tags and
//! unknown words) plus context cues (さん/様/氏/君 after a name, 母/父/夫/妻… before one,
//! 氏名は…); English names after Mr/Ms/Mrs/Dr. The other kinds are patterns over the text with
//! full-width digits and dashes folded. The rules are deliberately generic; their precision
//! and recall on a hand-written set are measured in tests/redact.rs.
//!
//! The original draft is never changed. In the copy, each paragraph's verbatim text becomes
//! its redacted text and the ケバ取り removals are dropped: both would otherwise carry the
//! unmasked words into the JSON or a DOCX with tracked removals.

use super::{Item, Minutes};
use crate::minutes::MeetingMeta;
use crate::transcript::Transcript;
use lindera::dictionary::Dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::LazyLock;

/// What replaces each masked item.
pub const MASK: &str = "〇〇";

/// The kind of a masked item.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum MaskKind {
    Email,
    Phone,
    MyNumber,
    Account,
    BirthDate,
    Postcode,
    Address,
    Name,
}

impl MaskKind {
    pub const ALL: [MaskKind; 8] = [
        MaskKind::Name,
        MaskKind::Address,
        MaskKind::Postcode,
        MaskKind::Phone,
        MaskKind::BirthDate,
        MaskKind::MyNumber,
        MaskKind::Account,
        MaskKind::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MaskKind::Email => "email",
            MaskKind::Phone => "phone",
            MaskKind::MyNumber => "my_number",
            MaskKind::Account => "account",
            MaskKind::BirthDate => "birth_date",
            MaskKind::Postcode => "postcode",
            MaskKind::Address => "address",
            MaskKind::Name => "name",
        }
    }
}

impl std::fmt::Display for MaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

impl std::str::FromStr for MaskKind {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        MaskKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| anyhow::anyhow!("unknown kind of personal data {s:?}"))
    }
}

/// A span of personal data found in a text (byte offsets into that text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: MaskKind,
    pub start: usize,
    pub end: usize,
}

/// One masked item, for the clerk's review.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Masked {
    pub kind: MaskKind,
    /// The text that was masked, as written in the draft.
    pub original: String,
    /// Which part of the minutes: "speech", "key_point", "title", "subtitle", "header",
    /// "agenda", "agenda_line" (a line under an agenda block's title).
    pub field: String,
    /// Index into `Minutes::items` (speeches) and ordinal of the speech among the speeches.
    pub item: Option<usize>,
    pub speech: Option<usize>,
    /// Paragraph of the speech, or index of the key point / header field / agenda line.
    pub paragraph: Option<usize>,
    /// Char offset of the item in that text before masking.
    pub offset: usize,
}

impl Masked {
    /// Where it was, for people: "speech 3, paragraph 1", "header 場所".
    pub fn location(&self) -> String {
        match (self.field.as_str(), self.speech, self.paragraph) {
            ("speech", Some(s), Some(p)) => format!("speech {}, paragraph {}", s + 1, p + 1),
            (f, _, Some(p)) => format!("{f} {}", p + 1),
            (f, _, None) => f.to_string(),
        }
    }
}

/// Names that stay: the meeting's speakers, members and officials.
#[derive(Debug, Clone, Default)]
pub struct KeepList {
    /// Whole names and their parts, without spaces.
    names: Vec<String>,
}

impl KeepList {
    /// The names in the metadata (attendees, absent, chair, signers, caseworker, client
    /// pseudonym) and the transcript's named speakers.
    pub fn from_meta(meta: &MeetingMeta, transcript: &Transcript) -> KeepList {
        let mut k = KeepList::default();
        for a in &meta.attendees {
            k.add(&a.name);
            if let Some(s) = &a.short {
                k.add(s);
            }
        }
        for n in meta.absent.iter().chain(&meta.signers).chain(&meta.chair) {
            k.add(n);
        }
        let c = &meta.consultation;
        for n in [&c.caseworker, &c.client].into_iter().flatten() {
            k.add(n);
        }
        for s in &transcript.speakers {
            if let Some(n) = &s.name {
                k.add(n);
            }
        }
        k
    }

    /// Adds a name ("渡辺 ゆういち", "高橋（伸）"): the whole and each part are kept.
    pub fn add(&mut self, name: &str) {
        let whole: String = name
            .chars()
            .filter(|c| !c.is_whitespace() && !"()（）".contains(*c))
            .collect();
        if whole.is_empty() {
            return;
        }
        for part in name.split(|c: char| c.is_whitespace() || "()（）".contains(c)) {
            if !part.is_empty() && !self.names.iter().any(|n| n == part) {
                self.names.push(part.to_string());
            }
        }
        if !self.names.contains(&whole) {
            self.names.push(whole);
        }
    }

    /// True when `candidate` is one of the kept names or a part of one (IPADIC may cut a
    /// kept full name where the list has no space). Case-insensitive for Latin names.
    pub fn keeps(&self, candidate: &str) -> bool {
        let c: String = candidate
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_lowercase)
            .collect();
        if c.is_empty() {
            return false;
        }
        self.names.iter().any(|n| {
            let n: String = n.chars().flat_map(char::to_lowercase).collect();
            n == c || (c.chars().count() >= 2 && n.contains(&c))
        })
    }
}

/// Finds and masks personal data. Holds the IPADIC segmenter (built once; cheap to share).
pub struct Redactor {
    segmenter: Segmenter,
}

impl Redactor {
    pub fn new(dictionary: Dictionary) -> Redactor {
        Redactor {
            segmenter: Segmenter::new(Mode::Normal, dictionary, None),
        }
    }

    /// Loads (building once if needed) the IPADIC dictionary of the data folder `data`.
    pub fn load(data: &Path) -> anyhow::Result<Redactor> {
        let dir = crate::search::japanese::dictionary_dir(data);
        Ok(Redactor::new(
            crate::search::japanese::load_or_build_dictionary(&dir)?,
        ))
    }

    /// The personal data in `text`, sorted by position, never overlapping.
    pub fn find(&self, text: &str, keep: &KeepList) -> Vec<Found> {
        let folded = Folded::new(text);
        let mut cands: Vec<Found> = Vec::new();
        patterns(&folded, &mut cands);
        self.addresses(text, &folded, &mut cands);
        self.names(text, keep, &mut cands);
        english_names(text, keep, &mut cands);
        // Earlier kinds win overlaps (an e-mail is not a name, a phone is not an address).
        cands.sort_by_key(|f| (f.kind, f.start, std::cmp::Reverse(f.end)));
        let mut out: Vec<Found> = Vec::new();
        for c in cands {
            if c.start < c.end && !out.iter().any(|o| o.start < c.end && c.start < o.end) {
                out.push(c);
            }
        }
        out.sort_by_key(|f| f.start);
        out
    }

    /// Masks `text`: the new text and, per item, (kind, original, char offset).
    pub fn mask(&self, text: &str, keep: &KeepList) -> (String, Vec<(MaskKind, String, usize)>) {
        let found = self.find(text, keep);
        let mut out = String::with_capacity(text.len());
        let mut items = Vec::new();
        let mut at = 0;
        for f in found {
            out.push_str(&text[at..f.start]);
            out.push_str(MASK);
            items.push((
                f.kind,
                text[f.start..f.end].to_string(),
                text[..f.start].chars().count(),
            ));
            at = f.end;
        }
        out.push_str(&text[at..]);
        (out, items)
    }

    /// A redacted copy of `m` and the list of what was masked. The speakers' own names (the
    /// speeches' names) are kept besides `keep`.
    pub fn redact(&self, m: &Minutes, keep: &KeepList) -> (Minutes, Vec<Masked>) {
        let mut keep = keep.clone();
        for it in &m.items {
            if let Item::Speech(s) = it {
                if let Some(n) = &s.name {
                    keep.add(n);
                }
            }
        }
        let mut r = m.clone();
        let mut list = Vec::new();
        let mut masked = |text: &mut String,
                          field: &str,
                          item: Option<usize>,
                          speech: Option<usize>,
                          paragraph: Option<usize>| {
            let (new, items) = self.mask(text, &keep);
            for (kind, original, offset) in items {
                list.push(Masked {
                    kind,
                    original,
                    field: field.to_string(),
                    item,
                    speech,
                    paragraph,
                    offset,
                });
            }
            *text = new;
        };
        masked(&mut r.title, "title", None, None, None);
        if let Some(s) = &mut r.subtitle {
            masked(s, "subtitle", None, None, None);
        }
        for (i, f) in r.header.iter_mut().enumerate() {
            masked(&mut f.value, "header", None, None, Some(i));
        }
        for (i, f) in r.agenda.iter_mut().enumerate() {
            masked(&mut f.value, "agenda", None, None, Some(i));
        }
        let mut speech_no = 0;
        for (i, it) in r.items.iter_mut().enumerate() {
            match it {
                Item::Speech(s) => {
                    for (p, para) in s.paragraphs.iter_mut().enumerate() {
                        masked(&mut para.text, "speech", Some(i), Some(speech_no), Some(p));
                        // The verbatim text and the removals would carry the unmasked words.
                        para.verbatim = para.text.clone();
                        para.removals.clear();
                    }
                    speech_no += 1;
                }
                Item::Agenda { title, items, .. } => {
                    masked(title, "agenda", Some(i), None, None);
                    for (j, sub) in items.iter_mut().enumerate() {
                        masked(sub, "agenda_line", Some(i), None, Some(j));
                    }
                }
                Item::TimeMark { .. } => {}
            }
        }
        for (i, k) in r.key_points.iter_mut().enumerate() {
            masked(&mut k.text, "key_point", None, None, Some(i));
        }
        // Consultation record fields copy sentences of the speeches: masked the same way.
        for f in r.fields.iter_mut() {
            for (i, k) in f.entries.iter_mut().enumerate() {
                masked(&mut k.text, "record_field", None, None, Some(i));
            }
        }
        // The terms of the metadata may hold names; the JSON export carries them.
        r.meta.terms.clear();
        r.removed = 0;
        // The metadata travels in the JSON export: mask its free-text fields the same way,
        // without listing them twice (they are the title, place and agenda listed above).
        let quiet = |s: &mut String| *s = self.mask(s, &keep).0;
        for s in [&mut r.meta.title, &mut r.meta.body, &mut r.meta.place]
            .into_iter()
            .flatten()
        {
            quiet(s);
        }
        for a in &mut r.meta.agenda {
            quiet(&mut a.title);
        }
        // Recordings are often named after the case (佐藤花子さん面談.m4a).
        quiet(&mut r.source.file_name);
        (r, list)
    }

    /// Addresses: a place written in kanji/katakana followed by a block number (2丁目1番3号,
    /// 1番地, 3-4-5).
    fn addresses(&self, text: &str, f: &Folded, out: &mut Vec<Found>) {
        static NUMBER: LazyLock<Regex> = LazyLock::new(|| {
            let n = "[0-9〇一二三四五六七八九十]+";
            Regex::new(&format!(
                "{n}丁目(?:\\s*{n}(?:番地?|-)(?:\\s*{n}号?)?)?(?:-{n})*\
                 |[0-9]+番地(?:の?[0-9]+)?(?:[0-9]+号)?\
                 |[0-9]+番[0-9]+号\
                 |[0-9]+-[0-9]+(?:-[0-9]+)?号?"
            ))
            .expect("address pattern")
        });
        for m in NUMBER.find_iter(&f.text) {
            let (s, e) = (f.orig(m.start()), f.orig(m.end()));
            if text[..s].ends_with(|c: char| c.is_ascii_digit() || c == '第') {
                continue;
            }
            let left = place_run_start(text, s);
            let place = &text[left..s];
            let before = &text[..left];
            let ctx_from = before
                .char_indices()
                .rev()
                .nth(11)
                .map(|(i, _)| i)
                .unwrap_or(0);
            // A residence word shortly before or after (住所は…, …に住んでいる).
            let after_to = text[e..]
                .char_indices()
                .nth(8)
                .map(|(i, _)| e + i)
                .unwrap_or(text.len());
            let residence = [
                "住所",
                "住ん",
                "住ま",
                "住む",
                "在住",
                "自宅",
                "転居",
                "引っ越",
            ]
            .iter()
            .any(|w| {
                before[ctx_from..].contains(w) || place.contains(w) || text[e..after_to].contains(w)
            });
            let matched = m.as_str();
            let chome = matched.contains("丁目");
            let more_than_chome = matched
                .split_once("丁目")
                .is_some_and(|(_, after)| !after.trim().is_empty());
            let place_cue = place
                .chars()
                .last()
                .is_some_and(|c| "都道府県市区町村郡".contains(c))
                || self.has_region(place);
            let ok = if chome {
                !place.is_empty() && (more_than_chome || residence)
            } else {
                !place.is_empty() && (place_cue || residence)
            };
            if ok {
                // The word 住所 itself is not part of the address.
                let left = ["現住所", "住所"]
                    .iter()
                    .find_map(|w| place.find(w).map(|i| left + i + w.len()))
                    .unwrap_or(left);
                if left < s {
                    out.push(Found {
                        kind: MaskKind::Address,
                        start: left,
                        end: e,
                    });
                }
            }
        }
    }

    /// True when IPADIC tags a word of `place` as a region (地域) or a place suffix.
    fn has_region(&self, place: &str) -> bool {
        if place.is_empty() {
            return false;
        }
        let Ok(mut tokens) = self.segmenter.segment(std::borrow::Cow::Borrowed(place)) else {
            return false;
        };
        tokens.iter_mut().any(|t| {
            let d = t.details();
            // 名詞,固有名詞,地域 (品川) and 名詞,接尾,地域 (区, 町).
            d.len() > 2 && d[2] == "地域"
        })
    }

    /// Japanese person names from IPADIC tags and context.
    fn names(&self, text: &str, keep: &KeepList, out: &mut Vec<Found>) {
        let Ok(mut tokens) = self.segmenter.segment(std::borrow::Cow::Borrowed(text)) else {
            return;
        };
        let mut toks: Vec<Tok> = tokens
            .iter_mut()
            .map(|t| {
                let unknown = t.word_id.is_unknown();
                let (surface, start, end) = (t.surface.to_string(), t.byte_start, t.byte_end);
                let d = t.details();
                let get = |i: usize| d.get(i).copied().unwrap_or("*").to_string();
                Tok {
                    surface,
                    start,
                    end,
                    pos: [get(0), get(1), get(2), get(3)],
                    unknown,
                }
            })
            .collect();
        // A company name in katakana right before a given name is a surname (クボタ マユミ,
        // ホンダ タロウ); kanji ones are usually the start of a longer company name (大成温調).
        for k in 0..toks.len().saturating_sub(1) {
            let gap = &text[toks[k].end..toks[k + 1].start];
            if toks[k].pos[1] == "固有名詞"
                && toks[k].pos[2] == "組織"
                && is_katakana(&toks[k].surface)
                && toks[k + 1].is_mei()
                && gap.chars().count() <= 1
                && gap.trim().is_empty()
            {
                toks[k].pos[2] = "人名".into();
                toks[k].pos[3] = "姓".into();
            }
        }
        let mut i = 0;
        while i < toks.len() {
            let t = &toks[i];
            // After 夫の / 母の, a proper noun is a person even where IPADIC reads a place
            // (元夫の石川).
            // After a label (名義：, 申請者は) a place is a place: 申請者は品川区に….
            let proper = t.pos[1] == "固有名詞" && is_name_chars(&t.surface);
            let related = t.is_name_like_unknown()
                && (after_relation(&toks, i) || after_name_label(&toks, i))
                || proper && after_relation(&toks, i)
                || proper
                    && after_name_label(&toks, i)
                    && !["地域", "組織"].contains(&t.pos[2].as_str());
            if !(t.is_person() || related) {
                i += 1;
                continue;
            }
            // A run of name parts: 姓 then 名, or an unknown given name after a 姓.
            let mut j = i + 1;
            while let Some(n) = toks.get(j) {
                let p = &toks[j - 1];
                // 原田 美智子: one space may separate a surname and a given name.
                let gap = &text[p.end..n.start];
                // After a label or a relation (名義：クボタ マユミ) the parts of the name
                // may be words the dictionary does not know, also across one space.
                let one_space = gap.chars().count() == 1 && gap.trim().is_empty();
                let joined = gap.is_empty()
                    || one_space
                        && (p.is_sei() && n.is_mei() || related && n.is_name_like_unknown());
                let part = n.is_person() || n.is_name_like_unknown() && (p.is_sei() || related);
                if !(joined && part) {
                    break;
                }
                j += 1;
            }
            let run = &toks[i..j];
            let cue = honorific_after(&toks, j);
            let relation = after_relation(&toks, i) || after_name_label(&toks, i);
            // The word right after the run, when nothing separates them.
            let next = toks.get(j).filter(|n| n.start == toks[j - 1].end);
            let place_after = next.is_some_and(|n| {
                n.pos[1] == "接尾" && n.pos[2] != "人名"
                    || PLACE_WORDS.iter().any(|w| n.surface.starts_with(w))
            });
            // 山田委員, 佐藤課長, 濱野前区長: a name before an official title is a member or
            // an official.
            let title_at = |k: usize| {
                toks.get(k).is_some_and(|n| {
                    // 松永 よしひろ 議員: the title may stand after one space.
                    let gap = &text[toks[k - 1].end..n.start];
                    gap.chars().count() <= 1
                        && gap.trim().is_empty()
                        && OFFICIAL_TITLES.iter().any(|w| n.surface.starts_with(w))
                })
            };
            let official = title_at(j)
                || next.is_some_and(|n| ["前", "元", "現", "新"].contains(&n.surface.as_str()))
                    && title_at(j + 1);
            // Without a cue, a name must look like one: a surname followed by a given name
            // (a surname alone is as often a place: 羽田, 大崎, 能登), not katakana only
            // (スマート), and not the first part of a compound noun (源氏前小学校, 能登地震).
            let first = &run[0];
            // A one-character surname needs a kanji given name (全+すま in 全すまいる is not
            // a name).
            let full_name = first.is_sei()
                && run.get(1).is_some_and(|g| {
                    g.is_mei()
                        && (first.surface.chars().count() >= 2
                            || g.surface
                                .chars()
                                .all(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)))
                });
            let katakana_only = run.iter().all(|t| {
                t.surface
                    .chars()
                    .all(|c| ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー')
            });
            let compound = next.is_some_and(|n| {
                n.pos[0] == "名詞"
                    && ["一般", "固有名詞", "サ変接続"].contains(&n.pos[1].as_str())
                    && !is_honorific(&n.surface)
                    && !PERSON_NOUNS.contains(&n.surface.as_str())
            });
            let looks_like_name = full_name && !katakana_only && !compound;
            // 田村という方: a surname introduced as a person.
            let introduced = first.is_sei() && introduced_as_person(&toks, j);
            let accept =
                !place_after && !official && (cue || relation || introduced || looks_like_name);
            if accept {
                let (s, e) = (run[0].start, run[run.len() - 1].end);
                if !keep.keeps(&text[s..e]) {
                    out.push(Found {
                        kind: MaskKind::Name,
                        start: s,
                        end: e,
                    });
                }
            }
            i = j;
        }
        // Unknown or proper nouns right before さん/様/氏/君: names IPADIC does not know
        // (ジョンさん, 珍しい姓).
        for k in 0..toks.len() {
            if !is_honorific(&toks[k].surface) || k == 0 {
                continue;
            }
            let mut b = k;
            // ・ joins the parts of a foreign name (ジョン・ブラウンさん).
            let dot = |b: usize| {
                toks[b - 1].surface == "・"
                    && b >= 2
                    && toks[b - 2].end == toks[b - 1].start
                    && is_name_chars(&toks[b - 2].surface)
                    && b < k
            };
            while b > 0
                && toks[b - 1].end == toks[b].start
                && (toks[b - 1].unknown && is_name_chars(&toks[b - 1].surface)
                    || dot(b)
                    // Katakana parts of a ・-joined name, known words or not (ファン・ティ・ラン).
                    || toks[b].surface == "・" && is_katakana(&toks[b - 1].surface)
                    || toks[b - 1].pos[1] == "固有名詞"
                        && !["地域", "組織"].contains(&toks[b - 1].pos[2].as_str())
                    || toks[b - 1].is_person())
            {
                b -= 1;
            }
            if b < k {
                let (s, e) = (toks[b].start, toks[k - 1].end);
                if !keep.keeps(&text[s..e]) {
                    out.push(Found {
                        kind: MaskKind::Name,
                        start: s,
                        end: e,
                    });
                }
            }
        }
    }
}

/// Words that make a preceding surname-like word a place or an institution (中野区, 山田小学校).
const PLACE_WORDS: &[&str] = &[
    "駅",
    "線",
    "通り",
    "公園",
    "小学校",
    "中学校",
    "高校",
    "高等学校",
    "病院",
    "橋",
    "川",
    "町",
    "村",
    "区",
    "市",
    "県",
    "地区",
    "会館",
    "センター",
    "団地",
    "商店",
    "銀行",
    "支店",
    "工業",
    "建設",
    "株式会社",
    "保育園",
    "幼稚園",
];

/// Titles of members and officials: a name right before one is kept.
const OFFICIAL_TITLES: &[&str] = &[
    "議員",
    "委員",
    "議長",
    "副議長",
    "市長",
    "区長",
    "町長",
    "村長",
    "知事",
    "副市長",
    "副区長",
    "教育長",
    "部長",
    "課長",
    "局長",
    "室長",
    "係長",
    "所長",
    "参事",
    "理事",
    "主査",
    "主幹",
    "次長",
    "監査",
    "事務局",
    "相談員",
    "ケースワーカー",
];

const HONORIFICS: &[&str] = &[
    "さん",
    "様",
    "さま",
    "氏",
    "君",
    "くん",
    "ちゃん",
    "殿",
    "先生",
];

/// Nouns that follow a person's name without making a compound: 佐野浩名義, 田中宅.
const PERSON_NOUNS: &[&str] = &[
    "名義", "宅", "方", "家", "本人", "夫妻", "一家", "家族", "世帯", "個人",
];

/// Labels a name follows in forms and records: 氏名：…, 名義：…, 保証人は….
const NAME_LABELS: &[&str] = &[
    "氏名",
    "名前",
    "お名前",
    "名義",
    "申請者",
    "保証人",
    "連帯保証人",
    "世帯主",
    "契約者",
    "届出人",
    "代理人",
];

/// Kinship and relation words that a given name often follows: 母の花子, 夫・健一.
const RELATIONS: &[&str] = &[
    "母",
    "父",
    "夫",
    "妻",
    "長男",
    "長女",
    "次男",
    "次女",
    "三男",
    "三女",
    "息子",
    "娘",
    "祖母",
    "祖父",
    "兄",
    "姉",
    "弟",
    "妹",
    "孫",
    "叔母",
    "叔父",
    "伯母",
    "伯父",
    "義母",
    "義父",
    "元夫",
    "元妻",
    "主人",
    "内縁",
    "母親",
    "父親",
    "義兄",
    "義姉",
    "義弟",
    "義妹",
    "甥",
    "姪",
    "配偶者",
    "同居人",
    "交際相手",
];

struct Tok {
    surface: String,
    start: usize,
    end: usize,
    pos: [String; 4],
    unknown: bool,
}

impl Tok {
    fn is_person(&self) -> bool {
        self.pos[1] == "固有名詞" && self.pos[2] == "人名"
    }
    fn is_sei(&self) -> bool {
        self.is_person() && self.pos[3] == "姓"
    }
    fn is_mei(&self) -> bool {
        self.is_person() && self.pos[3] == "名"
    }
    /// A word the dictionary does not know, written like a name (kanji/katakana, short).
    fn is_name_like_unknown(&self) -> bool {
        self.unknown && is_name_chars(&self.surface) && self.surface.chars().count() <= 4
    }
}

fn is_katakana(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| ('\u{30A1}'..='\u{30FA}').contains(&c) || c == 'ー')
}

/// Kanji or katakana only; ・ may join katakana parts (ファン・ティ・ラン).
fn is_name_chars(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('・')
        && !s.ends_with('・')
        && s.chars().all(
            |c| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3005}' | '\u{30A1}'..='\u{30FB}' | 'ー'),
        )
}

fn is_honorific(s: &str) -> bool {
    HONORIFICS.contains(&s)
}

fn honorific_after(toks: &[Tok], j: usize) -> bool {
    toks.get(j).is_some_and(|t| {
        is_honorific(&t.surface)
            && toks
                .get(j.wrapping_sub(1))
                .is_some_and(|p| p.end == t.start)
    })
}

/// True when token `i` follows a relation word, maybe with の/、/・/space between.
fn after_relation(toks: &[Tok], i: usize) -> bool {
    let mut k = i;
    while k > 0 && ["の", "、", "・", " ", "　"].contains(&toks[k - 1].surface.as_str()) {
        k -= 1;
    }
    k > 0 && RELATIONS.contains(&toks[k - 1].surface.as_str())
}

/// True when the tokens from `j` say という方 / という人 / という男性 ...
fn introduced_as_person(toks: &[Tok], j: usize) -> bool {
    let mut k = j;
    let mut said = false;
    while let Some(t) = toks.get(k) {
        match t.surface.as_str() {
            "と" | "という" | "いう" | "言う" | "って" => {
                said = true;
                k += 1;
            }
            w => return said && ["方", "人", "男性", "女性", "者", "職員"].contains(&w),
        }
    }
    false
}

/// True after 氏名は / 名前は / 氏名：.
fn after_name_label(toks: &[Tok], i: usize) -> bool {
    let mut k = i;
    while k > 0
        && ["は", "が", ":", "：", "、", " ", "　", "を"].contains(&toks[k - 1].surface.as_str())
    {
        k -= 1;
    }
    k > 0 && NAME_LABELS.contains(&toks[k - 1].surface.as_str())
}

/// Start of the run of place characters (kanji, katakana, ヶ, 々) that ends at `end`; a run
/// of hiragana right before 市/町/村 counts too (さいたま市, つくば市).
fn place_run_start(text: &str, end: usize) -> usize {
    let hiragana = |c: char| ('\u{3041}'..='\u{309F}').contains(&c);
    let mut start = end;
    let placeish = |c: char| matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3005}' | '\u{30A1}'..='\u{30FA}' | 'ー');
    let mut prev: Option<char> = None;
    let mut chars = text[..end].char_indices().rev().peekable();
    while let Some((i, c)) = chars.next() {
        // の, が, ケ between kanji belong to the name: 旗の台, 自由が丘, 関ケ原.
        let joiner = "のがケヶ".contains(c)
            && prev.is_some_and(placeish)
            && chars
                .peek()
                .is_some_and(|&(_, b)| ('\u{4E00}'..='\u{9FFF}').contains(&b));
        if !placeish(c) && !joiner {
            break;
        }
        start = i;
        prev = Some(c);
    }
    if text[start..end].starts_with(['市', '町', '村']) {
        for (i, c) in text[..start].char_indices().rev() {
            if !hiragana(c) || "のはがをにでともへ".contains(c) {
                break;
            }
            start = i;
        }
    }
    start
}

/// The text with full-width ASCII, dashes and ideographic spaces folded to ASCII, and a map
/// back to byte offsets in the original (patterns run on the folded text).
struct Folded {
    text: String,
    /// Original byte offset of each byte of `text` (and one past the end).
    map: Vec<usize>,
}

impl Folded {
    fn new(s: &str) -> Folded {
        let chars: Vec<(usize, char)> = s.char_indices().collect();
        let mut text = String::with_capacity(s.len());
        let mut map = Vec::with_capacity(s.len() + 1);
        let digit = |c: char| c.is_ascii_digit() || ('０'..='９').contains(&c);
        for (k, &(i, c)) in chars.iter().enumerate() {
            let f = match c {
                '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
                '\u{3000}' => ' ',
                '‐' | '‑' | '‒' | '–' | '—' | '―' | '−' | 'ｰ' => '-',
                // ー between digits is a dash in handwritten addresses and numbers (３ー４).
                'ー' if k > 0
                    && digit(chars[k - 1].1)
                    && chars.get(k + 1).is_some_and(|n| digit(n.1)) =>
                {
                    '-'
                }
                c => c,
            };
            let before = text.len();
            text.push(f);
            map.extend(std::iter::repeat_n(i, text.len() - before));
        }
        map.push(s.len());
        Folded { text, map }
    }

    fn orig(&self, folded: usize) -> usize {
        self.map[folded]
    }
}

/// Phones, My Number, accounts, birth dates, postcodes and e-mail addresses.
fn patterns(f: &Folded, out: &mut Vec<Found>) {
    static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+").expect("email")
    });
    static PHONE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\+81[- ]?(?:\(0\))?\d{1,4}[- )]?\d{1,4}[- ]?\d{3,4}|0\d{9,10}|0\d{1,4}(?:-|\(|\) ?| )\d{1,4}(?:-|\)|\s)\d{3,4}",
        )
        .expect("phone")
    });
    static MY_NUMBER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\d{4}[- ]?\d{4}[- ]?\d{4}").expect("my number"));
    static ACCOUNT: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?:口座番号|口座|普通預金|当座預金|普通|当座|account(?: number| no\.?)?)[^0-9。.]{0,10}?(\d{7})")
            .expect("account")
    });
    static BIRTH: LazyLock<Regex> = LazyLock::new(|| {
        let era = r"(?:明治|大正|昭和|平成|令和)(?:\d{1,2}|元)年(?:\d{1,2}月(?:\d{1,2}日)?)?";
        let west = r"(?:18|19|20)\d{2}年(?:\d{1,2}月(?:\d{1,2}日)?)?";
        let num = r"(?:18|19|20)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}|\d{1,2}/\d{1,2}/(?:18|19|20)\d{2}";
        let en = r"\d{1,2} [A-Z][a-z]+ \d{4}|[A-Z][a-z]+ \d{1,2},? \d{4}|(?:18|19|20)\d{2}\b";
        Regex::new(&format!(
            "(?:生年月日|(?i:date of birth|DOB|born(?: on| in)?))(?:[はがのを:、 ]|is |was )*({era}|{west}|{num}|{en})\
             |({era}|{west}) ?に?(?:生まれ|生)"
        ))
        .expect("birth date")
    });
    static POSTCODE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"〒 ?\d{3}-?\d{4}|\d{3}-\d{4}").expect("postcode"));

    let t = &f.text;
    let digit_at = |i: usize| t[i..].starts_with(|c: char| c.is_ascii_digit());
    let digit_before = |i: usize| t[..i].ends_with(|c: char| c.is_ascii_digit() || c == '-');
    let isolated = |s: usize, e: usize| {
        !digit_before(s) && (e >= t.len() || !digit_at(e)) && !t[e..].starts_with('-')
    };
    let mut push = |kind, s: usize, e: usize| {
        out.push(Found {
            kind,
            start: f.orig(s),
            end: f.orig(e),
        })
    };
    for m in EMAIL.find_iter(t) {
        push(MaskKind::Email, m.start(), m.end());
    }
    for m in MY_NUMBER.find_iter(t) {
        let amount = ["円", "万", "億", "千"]
            .iter()
            .any(|w| t[m.end()..].starts_with(w));
        if isolated(m.start(), m.end()) && !amount {
            push(MaskKind::MyNumber, m.start(), m.end());
        }
    }
    for m in PHONE.find_iter(t) {
        let digits = m.as_str().chars().filter(char::is_ascii_digit).count();
        let intl = m.as_str().starts_with("+81");
        let ok = if intl {
            (10..=13).contains(&digits)
        } else {
            (10..=11).contains(&digits)
        };
        if ok && isolated(m.start(), m.end()) {
            push(MaskKind::Phone, m.start(), m.end());
        }
    }
    for c in ACCOUNT.captures_iter(t) {
        if let Some(g) = c.get(1) {
            if isolated(g.start(), g.end()) {
                push(MaskKind::Account, g.start(), g.end());
            }
        }
    }
    for c in BIRTH.captures_iter(t) {
        let Some(whole) = c.get(0) else { continue };
        // 生 must end the phrase: 令和5年生活保護 is not a birth date.
        let next_kanji = t[whole.end()..]
            .chars()
            .next()
            .is_some_and(|n| ('\u{4E00}'..='\u{9FFF}').contains(&n));
        if whole.as_str().ends_with('生') && next_kanji {
            continue;
        }
        if let Some(g) = c.get(1).or_else(|| c.get(2)) {
            push(MaskKind::BirthDate, g.start(), g.end());
        }
    }
    for m in POSTCODE.find_iter(t) {
        let marked = m.as_str().starts_with('〒')
            || t[..m.start()].ends_with("郵便番号")
            || t[..m.start()].ends_with("郵便番号は");
        if isolated(m.start(), m.end()) && (marked || m.as_str().contains('-')) {
            push(MaskKind::Postcode, m.start(), m.end());
        }
    }
}

/// English names after a title: Mr Smith, Dr. Jane Doe.
fn english_names(text: &str, keep: &KeepList, out: &mut Vec<Found>) {
    static TITLED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"\b(?:Mr|Ms|Mrs|Miss|Mx|Dr|Prof)\.? +([A-Z][A-Za-z'’-]+(?: +[A-Z][A-Za-z'’-]+)?)",
        )
        .expect("titled name")
    });
    for c in TITLED.captures_iter(text) {
        if let Some(g) = c.get(1) {
            if !keep.keeps(g.as_str())
                && !g
                    .as_str()
                    .split(' ')
                    .any(|p| keep.keeps(p) && !p.is_empty())
            {
                out.push(Found {
                    kind: MaskKind::Name,
                    start: g.start(),
                    end: g.end(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folding_maps_back_to_the_original() {
        let f = Folded::new("電話０３ー１２３４－５６７８まで");
        assert_eq!(f.text, "電話03-1234-5678まで");
        let s = f.text.find('0').unwrap();
        let e = f.text.find('ま').unwrap();
        assert_eq!(
            &"電話０３ー１２３４－５６７８まで"[f.orig(s)..f.orig(e)],
            "０３ー１２３４－５６７８"
        );
    }

    #[test]
    fn keep_list_keeps_whole_names_and_parts() {
        let mut k = KeepList::default();
        k.add("渡辺 ゆういち");
        k.add("高橋（伸）");
        assert!(k.keeps("渡辺"));
        assert!(k.keeps("渡辺ゆういち"));
        assert!(k.keeps("ゆういち"));
        assert!(k.keeps("高橋"));
        assert!(!k.keeps("佐藤"));
        assert!(!k.keeps(""));
    }
}
