//! Japanese text analysis for the search index: the IPADIC dictionary (built once from Debian's
//! `mecab-ipadic` sources), a morphological tokenizer over lindera, and a CJK-bigram tokenizer
//! for recall. Both tokenizers fold width (ＳＤＧｓ → sdgs, ３ → 3) and keep byte offsets into
//! the original text, so snippets highlight the words as written.
//!
//! This module never reads or writes the archive; it only turns text into tokens.

use anyhow::{bail, Context};
use lindera::dictionary::Dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::worker::SegmentWorker;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};

/// Where Debian's `mecab-ipadic` package puts the EUC-JP IPADIC sources.
pub const IPADIC_SOURCE: &str = "/usr/share/mecab/dic/ipadic";

/// Name of the tokenizer for the morphological text field.
pub const JA_TOKENIZER: &str = "ja_ipadic";
/// Name of the tokenizer for the CJK-bigram text field.
pub const BIGRAM_TOKENIZER: &str = "cjk_bigram";

/// The folder holding the built dictionary inside a data folder.
pub fn dictionary_dir(data: &Path) -> PathBuf {
    data.join("dict").join("ipadic")
}

/// Source folder of the IPADIC CSVs: env `GIJIROKU_IPADIC` or the Debian location.
pub fn ipadic_source() -> PathBuf {
    std::env::var_os("GIJIROKU_IPADIC")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(IPADIC_SOURCE))
}

/// Loads the lindera IPADIC dictionary from `dir`, building it first from the `mecab-ipadic`
/// sources when it is not there yet (≈3 s, 46 MB, once per data folder).
pub fn load_or_build_dictionary(dir: &Path) -> anyhow::Result<Dictionary> {
    if !dir.join("metadata.json").is_file() {
        build_dictionary(&ipadic_source(), dir)?;
    }
    lindera::dictionary::load_fs_dictionary(dir).map_err(|e| {
        anyhow::anyhow!(
            "cannot load the Japanese dictionary in {} ({e}); delete that folder to rebuild it",
            dir.display()
        )
    })
}

/// Builds the lindera dictionary from IPADIC sources into `out`, atomically (temp folder +
/// rename) so an interrupted build is never mistaken for a finished one.
pub fn build_dictionary(source: &Path, out: &Path) -> anyhow::Result<()> {
    if !source.join("matrix.def").is_file() || !source.join("Noun.csv").is_file() {
        bail!(
            "the Japanese dictionary sources are missing in {} (install the Debian package \
             `mecab-ipadic`: apt-get install mecab-ipadic, or set GIJIROKU_IPADIC to a folder \
             holding IPADIC's *.csv, matrix.def, char.def and unk.def)",
            source.display()
        );
    }
    let parent = out
        .parent()
        .with_context(|| format!("bad dictionary folder {}", out.display()))?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let tmp = tempfile_dir(parent)?;
    tracing::info!(
        "building the Japanese dictionary from {} (once)",
        source.display()
    );
    let bar = crate::progress::spinner("building the Japanese dictionary (once)");
    // mecab-ipadic ships EUC-JP; lindera's builder decodes it with encoding_rs.
    let metadata = lindera::dictionary::Metadata {
        name: "ipadic".into(),
        encoding: "EUC-JP".into(),
        ..Default::default()
    };
    let built =
        lindera::dictionary::DictionaryBuilder::new(metadata).build_dictionary(source, &tmp);
    bar.finish_and_clear();
    if let Err(e) = built {
        let _ = std::fs::remove_dir_all(&tmp);
        bail!(
            "cannot build the Japanese dictionary from {}: {e}",
            source.display()
        );
    }
    if out.exists() {
        std::fs::remove_dir_all(out)
            .with_context(|| format!("cannot replace {}", out.display()))?;
    }
    std::fs::rename(&tmp, out).with_context(|| format!("cannot create {}", out.display()))?;
    Ok(())
}

fn tempfile_dir(parent: &Path) -> anyhow::Result<PathBuf> {
    let dir = parent.join(format!(".ipadic-build-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    Ok(dir)
}

/// Folds full-width ASCII (ＳＤＧｓ, ３) to half-width and lowercases, so the written forms
/// of council minutes and typed queries meet. NFKC would also do this but changes lengths.
/// Kana and kanji have no case: they pass without a Unicode table lookup (indexing speed).
pub fn fold_char(c: char) -> char {
    match c {
        'A'..='Z' => c.to_ascii_lowercase(),
        '\0'..='\u{7F}' => c,
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or(c),
        '\u{3000}' => ' ',
        '\u{3001}'..='\u{9FFF}' => c,
        _ => c.to_lowercase().next().unwrap_or(c),
    }
}

fn fold_into(s: &str, out: &mut String) {
    out.clear();
    out.extend(s.chars().map(fold_char));
}

/// Tokens as byte ranges of the text, turned into tantivy's one reused [`Token`] as the
/// indexer asks for them: no string is allocated per token.
pub struct SpanTokenStream<'a> {
    text: &'a str,
    spans: Vec<(usize, usize)>,
    next: usize,
    token: Token,
}

impl<'a> SpanTokenStream<'a> {
    fn new(text: &'a str, spans: Vec<(usize, usize)>) -> Self {
        SpanTokenStream {
            text,
            spans,
            next: 0,
            token: Token::default(),
        }
    }
}

impl TokenStream for SpanTokenStream<'_> {
    fn advance(&mut self) -> bool {
        let Some(&(from, to)) = self.spans.get(self.next) else {
            return false;
        };
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = self.next;
        self.token.position_length = 1;
        fold_into(&self.text[from..to], &mut self.token.text);
        self.next += 1;
        true
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Morphological tokenizer: lindera with IPADIC (normal mode), punctuation dropped.
///
/// Each clone (tantivy clones the analyzer for every indexing thread) owns a lindera
/// `SegmentWorker`, which keeps its Viterbi lattice between texts instead of allocating one
/// per turn.
pub struct JapaneseTokenizer {
    segmenter: Arc<Segmenter>,
    worker: SegmentWorker,
}

impl Clone for JapaneseTokenizer {
    fn clone(&self) -> Self {
        JapaneseTokenizer {
            segmenter: self.segmenter.clone(),
            worker: self.segmenter.new_worker(),
        }
    }
}

impl JapaneseTokenizer {
    pub fn new(dictionary: Dictionary) -> Self {
        let segmenter = Arc::new(Segmenter::new(Mode::Normal, dictionary, None));
        JapaneseTokenizer {
            worker: segmenter.new_worker(),
            segmenter,
        }
    }

    /// Byte offsets where the dictionary words of `text` start.
    pub fn word_starts(&self, text: &str) -> Vec<usize> {
        match self.segmenter.segment(std::borrow::Cow::Borrowed(text)) {
            Ok(words) => words.iter().map(|w| w.byte_start).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The tokens' folded texts, for tests and diagnostics.
    pub fn words(&self, text: &str) -> Vec<String> {
        let mut t = self.clone();
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            out.push(s.token().text.clone());
        }
        out
    }
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = SpanTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SpanTokenStream<'a> {
        let mut spans = Vec::new();
        match self.worker.segment(text) {
            Ok(words) => {
                for w in words {
                    if !w.surface.chars().any(char::is_alphanumeric) {
                        continue; // punctuation and symbols are not searchable words
                    }
                    spans.push((w.byte_start, w.byte_end));
                }
            }
            Err(e) => tracing::warn!("Japanese tokenizer failed on a text: {e}"),
        }
        SpanTokenStream::new(text, spans)
    }
}

/// True for the characters names and rare words are written in: kanji, katakana (with ー),
/// the iteration marks. Hiragana is left out on purpose: it carries particles and endings,
/// which the dictionary field segments well, and its bigrams were 3/4 of all bigrams in the
/// real minutes (340 → 92 a turn), the largest single cost of indexing.
fn is_bigram_char(c: char) -> bool {
    matches!(c,
        '\u{30A0}'..='\u{30FF}' // katakana, ー
        | '\u{3005}' | '\u{3006}' // 々 〆
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF66}'..='\u{FF9F}' // half-width katakana
        | '\u{20000}'..='\u{2FA1F}')
}

fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{309F}')
}

/// Bigrams over runs of kanji/katakana (a lone character stays a unigram); other alphanumeric
/// runs (Latin, digits) become lowercased words; hiragana makes no token. Finds names the
/// dictionary splits oddly (the query side uses the same tokenizer, and every candidate is
/// checked against the text, see `SearchIndex::search`).
#[derive(Clone, Default)]
pub struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = SpanTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SpanTokenStream<'a> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        // Start of the previous kanji/katakana in the current run, and of a Latin/digit word.
        let mut prev: Option<usize> = None;
        let mut word_start: Option<usize> = None;
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if is_bigram_char(c) {
                if let Some(ws) = word_start.take() {
                    spans.push((ws, i));
                }
                let end = i + c.len_utf8();
                match prev {
                    Some(p) => spans.push((p, end)),
                    None if !chars.peek().is_some_and(|&(_, n)| is_bigram_char(n)) => {
                        spans.push((i, end)) // a lone character
                    }
                    None => {}
                }
                prev = Some(i);
            } else {
                prev = None;
                if !is_hiragana(c) && fold_char(c).is_alphanumeric() {
                    word_start.get_or_insert(i);
                } else if let Some(ws) = word_start.take() {
                    spans.push((ws, i));
                }
            }
        }
        if let Some(ws) = word_start {
            spans.push((ws, text.len()));
        }
        SpanTokenStream::new(text, spans)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bigrams(text: &str) -> Vec<(String, usize, usize)> {
        let mut t = BigramTokenizer;
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let k = s.token();
            out.push((k.text.clone(), k.offset_from, k.offset_to));
        }
        out
    }

    #[test]
    fn bigrams_cover_kanji_and_katakana_runs_and_skip_hiragana() {
        let words: Vec<String> = bigrams("東京都の保育園でＳＤＧｓ２件、ポスト")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(
            words,
            ["東京", "京都", "保育", "育園", "sdgs2", "件", "ポス", "スト"]
        );
        // Offsets point into the text as written (full-width letters are 3 bytes each).
        let t = bigrams("市のＳＤＧｓ");
        assert_eq!(t, vec![("市".into(), 0, 3), ("sdgs".into(), 6, 18)]);
        assert!(bigrams("ありがとうございます").is_empty());
    }

    #[test]
    fn folding_is_width_and_case_only() {
        let folded: String = "ＡＢｃ Ｄ１々ア京É".chars().map(fold_char).collect();
        assert_eq!(folded, "abc d1々ア京é");
    }
}
