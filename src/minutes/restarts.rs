//! ケバ取り of compound words broken off and said again in full: 国民健康保、国民健康保険 /
//! 品川区新公会計制度基本方、品川区新公会計制度基本方針 / 区立保育園整備計、保育園整備計画.
//!
//! Owns: the decision whether a kanji/katakana run said before a pause is the first part of
//! the longer word said right after it, cut off inside a word (a restart, removed) or a whole
//! word (a list such as 大崎図書館、大崎図書館分館, kept). Must not: remove anything else;
//! kebatori's rules own fillers and short repeats.
//!
//! The difference is in the dictionary, not in the characters: 保|険 is inside one word,
//! 図書館|分館 is between two. So the longer word is segmented with IPADIC (lindera, the
//! dictionary the search index builds from Debian's mecab-ipadic) and the run is a restart only
//! when it ends inside a token.
//!
//! One exception: a whole compound of 4+ characters said again with one more kanji and nothing
//! after it (福祉避難、福祉避難所では / 総務委員、総務委員会の / 疾病負荷、疾病負荷等から) is a restart
//! one suffix short, although 所, 会, 等 are words of their own. On the benchmark's dev half of
//! the published minutes (492 k characters) that shape is meant once (女性相談、女性相談員による,
//! now removed) against 16 restarts in the drafts; a longer suffix (図書館、図書館分館) or a
//! 3-character word (営業所、営業所長) stays a list.

use lindera::dictionary::Dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

// The pause marks are kebatori's (the same set ends a filler there).
use super::kebatori::{is_kanji, is_pause};

/// Shortest broken-off run handled here: shorter ones (予定、予定表 / 本、本日) are kebatori's,
/// at clause starts only, and 3-character whole words (営業所、営業所長) are too often meant.
const MIN_RUN: usize = 4;
/// Longest run looked at (a broken-off compound is rarely longer).
const MAX_RUN: usize = 24;

/// Finds compound restarts; holds the IPADIC segmenter (built once, shared).
pub struct CompoundRestarts {
    segmenter: Segmenter,
}

impl std::fmt::Debug for CompoundRestarts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CompoundRestarts(IPADIC)")
    }
}

fn is_compound_char(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
        || ('\u{3400}'..='\u{4dbf}').contains(&c)
        || c == '々'
        || ('\u{30a1}'..='\u{30fa}').contains(&c)
        || c == 'ー'
}

impl CompoundRestarts {
    pub fn new(dictionary: Dictionary) -> CompoundRestarts {
        CompoundRestarts {
            segmenter: Segmenter::new(Mode::Normal, dictionary, None),
        }
    }

    /// Loads (building once if needed) the IPADIC dictionary of the data folder `data`.
    pub fn load(data: &Path) -> anyhow::Result<CompoundRestarts> {
        let dir = crate::search::japanese::dictionary_dir(data);
        Ok(CompoundRestarts::new(
            crate::search::japanese::load_or_build_dictionary(&dir)?,
        ))
    }

    /// The finder of the data folder `data`, loaded once per process and folder; `None`
    /// (with a warning) when the dictionary can neither be loaded nor built.
    pub fn shared(data: &Path) -> Option<Arc<CompoundRestarts>> {
        static SHARED: Mutex<Vec<(PathBuf, Option<Arc<CompoundRestarts>>)>> =
            Mutex::new(Vec::new());
        let mut all = SHARED.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, r)) = all.iter().find(|(d, _)| d == data) {
            return r.clone();
        }
        let r = match CompoundRestarts::load(data) {
            Ok(r) => Some(Arc::new(r)),
            Err(e) => {
                tracing::warn!(
                    "ケバ取り without the compound-restart rule (国民健康保、国民健康保険): {e:#}"
                );
                None
            }
        };
        all.push((data.to_path_buf(), r.clone()));
        r
    }

    /// Char offsets (within `word`) where its IPADIC tokens start, and its length.
    fn boundaries(&self, word: &str) -> Vec<usize> {
        let Ok(tokens) = self.segmenter.segment(std::borrow::Cow::Borrowed(word)) else {
            return Vec::new();
        };
        let mut out: Vec<usize> = tokens
            .iter()
            .map(|t| word[..t.byte_start].chars().count())
            .collect();
        out.push(word.chars().count());
        out
    }

    /// Spans `[start, end)` of `chars` to remove: each broken-off run with the pause marks
    /// after it, so that the word said in full follows what came before.
    pub fn spans(&self, chars: &[char]) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            if !is_compound_char(chars[i]) {
                i += 1;
                continue;
            }
            // The run of kanji/katakana from i, then the pause marks after it.
            let mut a_end = i;
            while a_end < chars.len() && is_compound_char(chars[a_end]) {
                a_end += 1;
            }
            let mut q = a_end;
            while q < chars.len() && is_pause(chars[q]) {
                q += 1;
            }
            if q == a_end || q >= chars.len() {
                i = a_end;
                continue;
            }
            // The longer word said after the pause: the run from q.
            let mut w_end = q;
            while w_end < chars.len() && is_compound_char(chars[w_end]) {
                w_end += 1;
            }
            let word: String = chars[q..w_end].iter().collect();
            let mut cut = None;
            // The whole compound (run started at i) said again with one kanji more.
            let one_more = w_end - q == a_end - i + 1
                && a_end - i >= MIN_RUN
                && a_end - i <= MAX_RUN
                && chars[i..a_end] == chars[q..w_end - 1]
                && is_kanji(chars[w_end - 1])
                && (i == 0 || !is_compound_char(chars[i - 1]));
            // The whole run, else its last part (区立保育園整備計 → 保育園整備計), restarted: the part
            // said again must be a proper prefix of the longer word.
            for s in i..a_end {
                let len = a_end - s;
                if !(MIN_RUN..=MAX_RUN).contains(&len) || len >= w_end - q {
                    continue;
                }
                if chars[s..a_end] != chars[q..q + len] {
                    continue;
                }
                // A list goes on after the longer word (東京、東京都、神奈川県): not a restart.
                let list = chars.get(w_end).is_some_and(|&c| is_pause(c))
                    && chars.get(w_end + 1).is_some_and(|&c| is_compound_char(c));
                if !list && (one_more || !self.boundaries(&word).contains(&len)) {
                    cut = Some(s);
                }
                break;
            }
            if let Some(s) = cut {
                out.push((s, q));
            }
            i = a_end;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restarts() -> Option<CompoundRestarts> {
        let src = crate::search::japanese::ipadic_source();
        if !src.join("matrix.def").is_file() {
            eprintln!("mecab-ipadic missing: run scripts/setup.sh");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("ipadic");
        crate::search::japanese::build_dictionary(&src, &out).unwrap();
        Some(CompoundRestarts::new(
            crate::search::japanese::load_or_build_dictionary(&out).unwrap(),
        ))
    }

    fn clean(r: &CompoundRestarts, s: &str) -> String {
        let chars: Vec<char> = s.chars().collect();
        let spans = r.spans(&chars);
        chars
            .iter()
            .enumerate()
            .filter(|(k, _)| !spans.iter().any(|&(a, b)| (a..b).contains(k)))
            .map(|(_, c)| *c)
            .collect()
    }

    #[test]
    fn words_cut_inside_are_restarts_whole_words_are_lists() {
        let r = restarts().expect("mecab-ipadic (scripts/setup.sh) is needed");
        for (said, clean_text) in [
            ("国民健康保、国民健康保険の加入者", "国民健康保険の加入者"),
            (
                "品川区新公会計制度基本方、品川区新公会計制度基本方針に基づき",
                "品川区新公会計制度基本方針に基づき",
            ),
            (
                "らの一時保護受、一時保護受託でございます",
                "らの一時保護受託でございます",
            ),
            ("令和６年度補正予、年度補正予算で", "令和６年度補正予算で"),
            (
                "本日は区立保育園整備計、保育園整備計画について",
                "本日は区立保育園整備計画について",
            ),
            // Whole words before the longer one: lists of the published minutes, kept.
            (
                "大崎図書館、大崎図書館分館において",
                "大崎図書館、大崎図書館分館において",
            ),
            // A whole compound said again with one kanji more: a restart one suffix short.
            ("女性相談、女性相談員による", "女性相談員による"),
            ("福祉避難、福祉避難所では訓練を", "福祉避難所では訓練を"),
            ("総務委員、総務委員会の観点", "総務委員会の観点"),
            // ... but not when the compound goes on (a list) or the suffix is kana.
            (
                "大崎図書館、大崎図書館分館の",
                "大崎図書館、大崎図書館分館の",
            ),
            ("東京営業所、営業所長の", "東京営業所、営業所長の"),
            // Three characters and less are kebatori's rules; a repeat of the same word too.
            ("営業所、営業所長の", "営業所、営業所長の"),
            (
                "国民健康保険、国民健康保険の",
                "国民健康保険、国民健康保険の",
            ),
            // A list after the longer word.
            (
                "東京都庁舎、東京都庁舎別館、神奈川県庁",
                "東京都庁舎、東京都庁舎別館、神奈川県庁",
            ),
        ] {
            assert_eq!(clean(&r, said), clean_text, "{said}");
        }
    }
}
