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
pub fn fold_char(c: char) -> char {
    let c = match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    };
    c.to_lowercase().next().unwrap_or(c)
}

fn fold(s: &str, out: &mut String) {
    out.clear();
    out.extend(s.chars().map(fold_char));
}

/// Morphological tokenizer: lindera with IPADIC (normal mode), punctuation dropped.
#[derive(Clone)]
pub struct JapaneseTokenizer {
    segmenter: Arc<Segmenter>,
}

impl JapaneseTokenizer {
    pub fn new(dictionary: Dictionary) -> Self {
        JapaneseTokenizer {
            segmenter: Arc::new(Segmenter::new(Mode::Normal, dictionary, None)),
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

pub struct VecTokenStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for JapaneseTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens = Vec::new();
        match self.segmenter.segment(std::borrow::Cow::Borrowed(text)) {
            Ok(words) => {
                for w in words {
                    if !w.surface.chars().any(char::is_alphanumeric) {
                        continue; // punctuation and symbols are not searchable words
                    }
                    let mut t = Token {
                        offset_from: w.byte_start,
                        offset_to: w.byte_end,
                        position: tokens.len(),
                        position_length: 1,
                        ..Default::default()
                    };
                    fold(&w.surface, &mut t.text);
                    tokens.push(t);
                }
            }
            Err(e) => tracing::warn!("Japanese tokenizer failed on a text: {e}"),
        }
        VecTokenStream { tokens, next: 0 }
    }
}

/// True for the characters written without spaces: kanji, kana, the iteration mark.
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{3041}'..='\u{309F}' // hiragana
        | '\u{30A0}'..='\u{30FF}' // katakana, ー
        | '\u{3005}' | '\u{3006}' // 々 〆
        | '\u{3400}'..='\u{4DBF}'
        | '\u{4E00}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FF66}'..='\u{FF9F}' // half-width katakana
        | '\u{20000}'..='\u{2FA1F}')
}

/// CJK bigrams for runs of kanji/kana (a lone character stays a unigram); other alphanumeric
/// runs become lowercased words. Finds names the dictionary splits oddly.
#[derive(Clone, Default)]
pub struct BigramTokenizer;

impl Tokenizer for BigramTokenizer {
    type TokenStream<'a> = VecTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream {
        let mut tokens: Vec<Token> = Vec::new();
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        let end_of = |i: usize| chars.get(i).map(|c| c.0).unwrap_or(text.len());
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i].1;
            if is_cjk(c) {
                let start = i;
                while i < chars.len() && is_cjk(chars[i].1) {
                    i += 1;
                }
                if i - start == 1 {
                    push(&mut tokens, text, chars[start].0, end_of(start + 1));
                } else {
                    for (j, &(from, _)) in chars.iter().enumerate().take(i - 1).skip(start) {
                        push(&mut tokens, text, from, end_of(j + 2));
                    }
                }
            } else if fold_char(c).is_alphanumeric() {
                let start = i;
                while i < chars.len()
                    && !is_cjk(chars[i].1)
                    && fold_char(chars[i].1).is_alphanumeric()
                {
                    i += 1;
                }
                push(&mut tokens, text, chars[start].0, end_of(i));
            } else {
                i += 1;
            }
        }
        VecTokenStream { tokens, next: 0 }
    }
}

fn push(tokens: &mut Vec<Token>, text: &str, from: usize, to: usize) {
    let mut t = Token {
        offset_from: from,
        offset_to: to,
        position: tokens.len(),
        position_length: 1,
        ..Default::default()
    };
    fold(&text[from..to], &mut t.text);
    tokens.push(t);
}
