//! Japanese text analysis for the search index: the IPADIC dictionary (built once from Debian's
//! `mecab-ipadic` sources), a morphological tokenizer over lindera, and a tokenizer of bigrams
//! over every character (NFKC + lowercase) for exact phrases anywhere. Both fold width
//! (ＳＤＧｓ → sdgs, ３ → 3) and keep byte offsets into the original text, so snippets highlight
//! the words as written.
//!
//! This module never reads or writes the archive; it only turns text into tokens.

use anyhow::{bail, Context};
use lindera::dictionary::Dictionary;
use lindera::mode::Mode;
use lindera::segmenter::Segmenter;
use lindera::worker::SegmentWorker;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// Where Debian's `mecab-ipadic` package puts the EUC-JP IPADIC sources.
pub const IPADIC_SOURCE: &str = "/usr/share/mecab/dic/ipadic";

/// Name of the tokenizer for the morphological text field.
pub const JA_TOKENIZER: &str = "ja_ipadic";
/// Name of the tokenizer for the character-bigram text field (exact phrases).
pub const BIGRAM_TOKENIZER: &str = "char_bigram";

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

/// Whether a character makes a word searchable (letters and digits of any script); kana and
/// kanji answer without the Unicode tables, which cost ~1 % of indexing.
fn searchable(c: char) -> bool {
    match c {
        'a'..='z' | 'A'..='Z' | '0'..='9' => true,
        '\0'..='\u{7F}' => false,
        '\u{3041}'..='\u{3096}'
        | '\u{30A1}'..='\u{30FA}'
        | '\u{30FC}'
        | '\u{3005}'..='\u{3007}'
        | '\u{4E00}'..='\u{9FFF}' => true,
        _ if cjk_punctuation(c) => false,
        _ => c.is_alphanumeric(),
    }
}

/// CJK punctuation and brackets (、。「」〜・), the commonest non-words of the minutes: none is
/// a letter or digit, and NFKC keeps them (or makes a space of U+3000).
fn cjk_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' | '\u{30FB}')
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
                    if !w.surface.chars().any(searchable) {
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

/// English stemming (Snowball, as tantivy's `Stemmer` filter does it) for the tokens that hold
/// a Latin letter. tantivy's filter runs the stemmer on every token; on Japanese minutes that is
/// ~1 % of indexing spent leaving kana and kanji unchanged (the English rules only touch
/// ASCII letters and apostrophes). Written here because tantivy's filter has no such switch.
#[derive(Clone, Copy)]
pub struct LatinStemmer;

impl TokenFilter for LatinStemmer {
    type Tokenizer<T: Tokenizer> = LatinStemmerFilter<T>;
    fn transform<T: Tokenizer>(self, inner: T) -> LatinStemmerFilter<T> {
        LatinStemmerFilter { inner }
    }
}

#[derive(Clone)]
pub struct LatinStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for LatinStemmerFilter<T> {
    type TokenStream<'a> = LatinStemmerStream<T::TokenStream<'a>>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        LatinStemmerStream {
            tail: self.inner.token_stream(text),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

pub struct LatinStemmerStream<T> {
    tail: T,
    stemmer: frostem::Stemmer,
}

impl<T: TokenStream> TokenStream for LatinStemmerStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        if token
            .text
            .bytes()
            .any(|b| b.is_ascii_alphabetic() || b == b'\'')
        {
            if let std::borrow::Cow::Owned(s) = self.stemmer.stem(&token.text) {
                token.text = s;
            }
        }
        true
    }
    fn token(&self) -> &Token {
        self.tail.token()
    }
    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Appends the searchable characters of `text` to `out`, normalised as NFKC + lowercase, each
/// with the byte range of the text it came from (so highlights point at the text as written).
/// Punctuation, symbols and spaces are dropped: a phrase pasted without the 、 or 。 of the
/// minutes still matches, and a speech transcript's punctuation does not matter.
///
/// Written by hand because NFKC changes lengths (ｶﾞ → ガ, ㍻ → 平成) and the byte map is needed;
/// kana, kanji and ASCII (nearly all of the minutes) skip the Unicode tables for speed.
pub fn normalized_chars(text: &str, out: &mut Vec<(char, usize, usize)>) {
    use unicode_normalization::UnicodeNormalization;
    let bytes = text.len();
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        // A following voiced mark (combining or half-width) composes with this character.
        let voiced_next = it
            .peek()
            .is_some_and(|&(_, n)| matches!(n, '\u{3099}' | '\u{309A}' | '\u{FF9E}' | '\u{FF9F}'));
        if !voiced_next {
            match c {
                'a'..='z' | '0'..='9' => {
                    out.push((c, i, i + 1));
                    continue;
                }
                'A'..='Z' => {
                    out.push((c.to_ascii_lowercase(), i, i + 1));
                    continue;
                }
                '\0'..='\u{7F}' => continue,
                '\u{3041}'..='\u{3096}' // hiragana
                | '\u{30A1}'..='\u{30FA}' // katakana
                | '\u{30FC}' // ー
                | '\u{3005}' // 々
                | '\u{4E00}'..='\u{9FFF}' => {
                    out.push((c, i, i + c.len_utf8()));
                    continue;
                }
                _ if cjk_punctuation(c) => continue,
                _ => {}
            }
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, n)) = it.peek() {
            if !matches!(n, '\u{3099}' | '\u{309A}' | '\u{FF9E}' | '\u{FF9F}') {
                break;
            }
            end = j + n.len_utf8();
            it.next();
        }
        for d in text[i..end.min(bytes)].nfkc() {
            for l in d.to_lowercase() {
                if l.is_alphanumeric() {
                    out.push((l, i, end));
                }
            }
        }
    }
}

/// `text` normalised as [`normalized_chars`] does, as a string (for queries and checks).
pub fn normalize(text: &str) -> String {
    let mut v = Vec::new();
    normalized_chars(text, &mut v);
    v.into_iter().map(|c| c.0).collect()
}

/// Byte ranges of `text` (as written) where the normalised `phrase` occurs, in order and not
/// overlapping. Used to check and highlight phrase hits.
pub fn phrase_ranges(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let p: Vec<char> = normalize(phrase).chars().collect();
    let mut chars = Vec::new();
    normalized_chars(text, &mut chars);
    let mut out = Vec::new();
    if p.is_empty() || chars.len() < p.len() {
        return out;
    }
    let mut i = 0;
    while i + p.len() <= chars.len() {
        if (0..p.len()).all(|k| chars[i + k].0 == p[k]) {
            out.push((chars[i].1, chars[i + p.len() - 1].2));
            i += p.len();
        } else {
            i += 1;
        }
    }
    out
}

/// Bigrams of every normalised character of the text, whatever the script and the word
/// boundaries (token `i` = characters `i` and `i+1`), so a phrase query over consecutive
/// bigrams is an exact substring match. At indexing time the last character is also a token of
/// its own (after the last bigram), so that a one-character query, searched as "bigrams
/// starting with it or that character alone", also finds it at the end of a turn. Queries
/// must not have that extra token ([`CharBigramTokenizer::for_queries`]), or a phrase would
/// have to end its turn.
///
/// Queries take every other bigram (and the last one): ab, cd, de for "abcde" at positions 0,
/// 2, 3 still pins every character, and a phrase of common kana (ところでござい) has half the
/// posting lists to intersect and check.
#[derive(Clone, Default)]
pub struct CharBigramTokenizer {
    for_queries: bool,
    chars: Vec<(char, usize, usize)>,
}

impl CharBigramTokenizer {
    /// The tokenizer to parse queries with (no final one-character token).
    pub fn for_queries() -> Self {
        CharBigramTokenizer {
            for_queries: true,
            chars: Vec::new(),
        }
    }
}

/// Tokens of [`CharBigramTokenizer`]: made on demand from its character buffer.
pub struct CharBigramStream<'a> {
    chars: &'a [(char, usize, usize)],
    /// Number of token positions: bigrams, plus the final character when indexing.
    count: usize,
    next: usize,
    /// 1 when indexing; 2 for queries (every other bigram, then the last).
    step: usize,
    token: Token,
}

impl Tokenizer for CharBigramTokenizer {
    type TokenStream<'a> = CharBigramStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> CharBigramStream<'a> {
        self.chars.clear();
        normalized_chars(text, &mut self.chars);
        let n = self.chars.len();
        // A query of one character keeps it as a token (the caller decides what it means).
        let count = match n {
            0 => 0,
            1 => 1,
            _ if self.for_queries => n - 1,
            _ => n,
        };
        CharBigramStream {
            chars: &self.chars,
            count,
            next: 0,
            step: if self.for_queries { 2 } else { 1 },
            token: Token::default(),
        }
    }
}

impl TokenStream for CharBigramStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next >= self.count {
            return false;
        }
        let i = self.next;
        let (a, from, mut to) = self.chars[i];
        self.token.text.clear();
        self.token.text.push(a);
        if let Some(&(b, _, end)) = self.chars.get(i + 1) {
            self.token.text.push(b);
            to = end;
        }
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.position = i;
        self.token.position_length = 1;
        self.next = if i + 1 < self.count {
            (i + self.step).min(self.count - 1)
        } else {
            self.count
        };
        true
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bigrams(t: &mut CharBigramTokenizer, text: &str) -> Vec<(String, usize, usize, usize)> {
        let mut s = t.token_stream(text);
        let mut out = Vec::new();
        while s.advance() {
            let k = s.token();
            out.push((k.text.clone(), k.offset_from, k.offset_to, k.position));
        }
        out
    }

    #[test]
    fn bigrams_cover_every_script_without_punctuation() {
        let mut t = CharBigramTokenizer::default();
        let words: Vec<String> = bigrams(&mut t, "都の、ＳＤ２")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(words, ["都の", "のs", "sd", "d2", "2"]);
        // Offsets point into the text as written (full-width letters are 3 bytes each), and
        // positions are consecutive across the dropped 、.
        let b = bigrams(&mut t, "市、Ａ");
        assert_eq!(b, vec![("市a".into(), 0, 9, 0), ("a".into(), 6, 9, 1)]);
        // Queries: no final character token, except for a lone character.
        let mut q = CharBigramTokenizer::for_queries();
        assert_eq!(bigrams(&mut q, "市、Ａ"), vec![("市a".into(), 0, 9, 0)]);
        assert_eq!(bigrams(&mut q, "「市」"), vec![("市".into(), 3, 6, 0)]);
        assert!(bigrams(&mut q, "。、").is_empty());
        let every_other: Vec<(String, usize)> = bigrams(&mut q, "abcde")
            .into_iter()
            .map(|t| (t.0, t.3))
            .collect();
        assert_eq!(
            every_other,
            [("ab".into(), 0), ("cd".into(), 2), ("de".into(), 3)]
        );
        assert_eq!(bigrams(&mut q, "abcd").len(), 2);
        assert_eq!(bigrams(&mut q, "abc").len(), 2);
        assert_eq!(bigrams(&mut t, "abcd").len(), 4);
    }

    #[test]
    fn normalisation_is_nfkc_and_lowercase() {
        assert_eq!(normalize("ＡＢｃ abc"), "abcabc");
        assert_eq!(normalize("ｶﾀｶﾅ ｶﾞｯｺｳ"), "カタカナガッコウ");
        assert_eq!(normalize("か\u{3099}・㍻①"), "が平成1");
        // Half-width ｶﾞ (two characters) maps to the bytes of both.
        let mut v = Vec::new();
        normalized_chars("ｶﾞ", &mut v);
        assert_eq!(v, vec![('ガ', 0, 6)]);
        assert_eq!(
            phrase_ranges("税理士のＡＢＣ、ａｂｃ", "abc"),
            vec![(12, 21), (24, 33)]
        );
        assert_eq!(phrase_ranges("ｶﾀｶﾅです", "カタカナ"), vec![(0, 12)]);
        assert!(phrase_ranges("カタカナ", "カタカナで").is_empty());
    }

    #[test]
    fn folding_is_width_and_case_only() {
        let folded: String = "ＡＢｃ Ｄ１々ア京É".chars().map(fold_char).collect();
        assert_eq!(folded, "abc d1々ア京é");
    }

    /// The stemmer skipped on tokens without a Latin letter gives what tantivy's filter gives
    /// on every token: kana, kanji, digits, full-width and mixed words of the minutes.
    #[test]
    fn latin_stemming_matches_tantivys_filter() {
        use tantivy::tokenizer::{Language, Stemmer, TextAnalyzer, WhitespaceTokenizer};
        let text = "running caresses ponies don't cards 議会 会議録 ありがとうございます 々 ー \
                    2024年 ３月 sdgsの取り組み covid-19 ictを活用 ｓ é élégantes 〇〇議員 \
                    yearly yes's generously Ｔｏｋｙｏ";
        let tokens = |a: &mut TextAnalyzer| {
            let mut s = a.token_stream(text);
            let mut v = Vec::new();
            while s.advance() {
                v.push(s.token().text.clone());
            }
            v
        };
        let mut theirs = TextAnalyzer::builder(WhitespaceTokenizer::default())
            .filter(Stemmer::new(Language::English))
            .build();
        let mut ours = TextAnalyzer::builder(WhitespaceTokenizer::default())
            .filter(LatinStemmer)
            .build();
        let (a, b) = (tokens(&mut theirs), tokens(&mut ours));
        assert_eq!(a, b);
        assert!(b.contains(&"run".to_string()) && b.contains(&"poni".to_string()));
    }

    #[test]
    fn punctuation_fast_paths_agree_with_unicode() {
        use unicode_normalization::UnicodeNormalization;
        for c in ('\u{3000}'..='\u{30FF}').chain('\u{FF00}'..='\u{FF65}') {
            assert_eq!(
                searchable(c),
                c.is_alphanumeric(),
                "{c:?} U+{:04X}",
                c as u32
            );
            let mut fast = Vec::new();
            normalized_chars(&c.to_string(), &mut fast);
            let slow: Vec<char> = c
                .to_string()
                .nfkc()
                .flat_map(char::to_lowercase)
                .filter(|l| l.is_alphanumeric())
                .collect();
            let fast: Vec<char> = fast.into_iter().map(|t| t.0).collect();
            assert_eq!(fast, slow, "U+{:04X}", c as u32);
        }
    }
}
