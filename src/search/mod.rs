//! The full-text index of speaker turns (tantivy): one document per turn, a morphological
//! field (IPADIC via lindera) for words and a field of bigrams over every normalised character
//! for "quoted phrases" anywhere (and as the words' fallback for recall), filters on speaker, role, date, kind, body and classification, snippets with the
//! matched words highlighted.
//!
//! This module owns the index folder only. It never decides who may read what: the archive
//! (`crate::archive`) passes the allowed classifications/departments in [`Filters`], and every
//! read of the index goes through `Archive::search`.

pub mod bench;
pub mod japanese;
pub mod query;

use anyhow::{bail, Context};
use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use std::ops::{Bound, Range};
use std::path::Path;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, ConstScoreQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery,
    RegexQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{
    Facet, FacetOptions, Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing,
    TextOptions, Value, STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::{TextAnalyzer, TokenStream, TokenizerManager};
use tantivy::{
    DateTime, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};

use japanese::{CharBigramTokenizer, JapaneseTokenizer, BIGRAM_TOKENIZER, JA_TOKENIZER};

/// Bumped when the schema or the tokenizers change (2: bigrams over kanji/katakana only; 3:
/// bigrams over every character, for exact phrases); an index of another version is refused
/// with a message to run `archive reindex`, which rebuilds it from the catalog.
pub const INDEX_VERSION: u32 = 3;

/// Name of the field of character bigrams (quoted phrases are rewritten onto it).
const CHARS_FIELD: &str = "text_chars";

/// Fragments of at least this many characters that the dictionary words miss are matched
/// anywhere even unquoted: the morphology's precision (京都 not in 東京都) matters for short
/// words, while a longer pasted fragment is specific enough to mean itself.
const LONG_LITERAL_CHARS: usize = 5;

/// One speaker turn as the index stores it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TurnDoc {
    pub meeting_id: i64,
    /// Position of the turn in its meeting, from 1.
    pub seq: u32,
    pub kind: String,
    pub title: String,
    pub body: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub speaker: String,
    pub role: Option<String>,
    pub text: String,
    /// Seconds into the recording, when there is one.
    pub start: Option<f64>,
    pub end: Option<f64>,
    pub classification: String,
    pub department: String,
}

/// A unique key for a turn across the archive (`meeting_id << 20 | seq`).
pub fn turn_key(meeting_id: i64, seq: u32) -> u64 {
    ((meeting_id as u64) << 20) | (seq as u64 & 0xF_FFFF)
}

/// Restrictions on a search. Empty fields do not restrict.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Part of the speaker's name as written (`渡辺` finds `渡辺議長`).
    pub speaker: Option<String>,
    /// End of the speaker's role (`委員` finds 委員 but not 委員長; `課長` finds all 課長).
    pub role: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub kind: Option<String>,
    pub body: Option<String>,
    /// Set by the archive's access check: `Some(rules)` returns only turns matching one rule
    /// `(classification, department)`, where a `None` department means any; `None` does not
    /// restrict.
    pub readable: Option<Vec<(String, Option<String>)>>,
    /// Only these turns (see [`turn_key`]): used for `--answers-to`.
    pub turns: Option<Vec<u64>>,
}

/// How a hit was found.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MatchedBy {
    /// The exact characters of the quoted phrases (after NFKC + lowercase), anywhere.
    Phrase,
    /// Dictionary words (the morphological field).
    Words,
    /// Character bigrams, used only when no dictionary word matched.
    Bigrams,
    /// No text query: filters only.
    Filters,
}

#[derive(Debug, Clone, Serialize)]
pub struct Hit {
    pub score: f32,
    pub turn: TurnDoc,
    /// Excerpt of the turn around the matched words.
    pub fragment: String,
    /// Byte ranges of the matched words in `fragment`.
    pub highlights: Vec<Range<usize>>,
    pub matched_by: MatchedBy,
}

impl Hit {
    /// The fragment with the matched words wrapped in `open`/`close`.
    pub fn marked(&self, open: &str, close: &str) -> String {
        let mut out = String::new();
        let mut at = 0;
        for r in &self.highlights {
            if r.start < at || r.end > self.fragment.len() {
                continue;
            }
            out.push_str(&self.fragment[at..r.start]);
            out.push_str(open);
            out.push_str(&self.fragment[r.clone()]);
            out.push_str(close);
            at = r.end;
        }
        out.push_str(&self.fragment[at..]);
        out
    }
}

#[derive(Debug, Clone)]
pub struct SearchResult {
    /// Number of turns that matched (all of them, not only those returned).
    pub total: usize,
    /// `total` is a lower bound: an unquoted fragment's turns found by characters are checked
    /// only among the best-scoring candidates, and all of those were taken ("N件以上").
    pub at_least: bool,
    pub hits: Vec<Hit>,
}

#[derive(Clone, Copy)]
struct Fields {
    meeting: Field,
    turn: Field,
    seq: Field,
    kind: Field,
    title: Field,
    body: Field,
    body_facet: Field,
    date: Field,
    speaker: Field,
    speaker_facet: Field,
    role: Field,
    text: Field,
    text_chars: Field,
    start: Field,
    end: Field,
    classification: Field,
    department: Field,
}

fn schema() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let num = NumericOptions::default()
        .set_indexed()
        .set_fast()
        .set_stored();
    let text_opts = |tokenizer: &str, stored: bool| {
        let o = TextOptions::default().set_indexing_options(
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(IndexRecordOption::WithFreqsAndPositions),
        );
        if stored {
            o.set_stored()
        } else {
            o
        }
    };
    let f = Fields {
        meeting: b.add_u64_field("meeting", num.clone()),
        turn: b.add_u64_field("turn", num.clone()),
        seq: b.add_u64_field("seq", NumericOptions::default().set_stored()),
        kind: b.add_text_field("kind", STRING | STORED | tantivy::schema::FAST),
        title: b.add_text_field("title", STORED),
        body: b.add_text_field("body", STRING | STORED),
        body_facet: b.add_facet_field("body_facet", FacetOptions::default()),
        date: b.add_date_field(
            "date",
            tantivy::schema::DateOptions::default()
                .set_indexed()
                .set_fast()
                .set_stored(),
        ),
        speaker: b.add_text_field("speaker", STRING | STORED),
        speaker_facet: b.add_facet_field("speaker_facet", FacetOptions::default()),
        role: b.add_text_field("role", STRING | STORED),
        text: b.add_text_field("text", text_opts(JA_TOKENIZER, true)),
        text_chars: b.add_text_field(CHARS_FIELD, text_opts(BIGRAM_TOKENIZER, false)),
        start: b.add_f64_field("start", STORED),
        end: b.add_f64_field("end", STORED),
        classification: b.add_text_field("classification", STRING | STORED | tantivy::schema::FAST),
        department: b.add_text_field("department", STRING | STORED),
    };
    (b.build(), f)
}

fn date_value(date: &str) -> anyhow::Result<DateTime> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .with_context(|| format!("bad date {date:?} (expected YYYY-MM-DD)"))?;
    if check_date(d).is_err() {
        // Archiving refuses such dates; one from an older catalog is clamped so that the
        // index can still be rebuilt from it.
        tracing::warn!("meeting date {d} is outside the index's range: indexed as the nearest");
        let y = d.year().clamp(MIN_YEAR, MAX_YEAR);
        return Ok(day_start(
            NaiveDate::from_ymd_opt(
                y,
                if y == MIN_YEAR { 1 } else { 12 },
                if y == MIN_YEAR { 1 } else { 31 },
            )
            .unwrap_or(d),
        ));
    }
    Ok(day_start(d))
}

fn day_start(d: NaiveDate) -> DateTime {
    let secs = d
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp())
        .unwrap_or(0);
    DateTime::from_timestamp_secs(secs)
}

/// The search index of one archive.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    f: Fields,
    ja: JapaneseTokenizer,
    /// The index's analyzers, except that character bigrams have no final one-character
    /// token (see [`CharBigramTokenizer::for_queries`]).
    query_tokenizers: TokenizerManager,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it when absent. `dict_dir` holds (or will hold) the
    /// Japanese dictionary.
    pub fn open(dir: &Path, dict_dir: &Path) -> anyhow::Result<SearchIndex> {
        let (schema, f) = schema();
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the search index folder {}", dir.display()))?;
        let version_file = dir.join("gijiroku-index-version");
        let index = if dir.join("meta.json").is_file() {
            let found = std::fs::read_to_string(&version_file).unwrap_or_default();
            if found.trim() != INDEX_VERSION.to_string() {
                bail!(
                    "the search index in {} was made by another gijiroku version: run \
                     `gijiroku archive reindex`",
                    dir.display()
                );
            }
            Index::open_in_dir(dir)
                .with_context(|| format!("cannot open the search index in {}", dir.display()))?
        } else {
            let index = Index::create_in_dir(dir, schema)
                .with_context(|| format!("cannot create the search index in {}", dir.display()))?;
            crate::util::write_atomic(&version_file, INDEX_VERSION.to_string().as_bytes())?;
            index
        };
        let dictionary = japanese::load_or_build_dictionary(dict_dir)?;
        let ja_tokenizer = JapaneseTokenizer::new(dictionary);
        // The tokenizer already folds width and case; English words are then stemmed.
        let ja = TextAnalyzer::builder(ja_tokenizer.clone())
            .filter(japanese::LatinStemmer)
            .build();
        index.tokenizers().register(JA_TOKENIZER, ja.clone());
        index.tokenizers().register(
            BIGRAM_TOKENIZER,
            TextAnalyzer::from(CharBigramTokenizer::default()),
        );
        let query_tokenizers = TokenizerManager::default();
        query_tokenizers.register(JA_TOKENIZER, ja);
        query_tokenizers.register(
            BIGRAM_TOKENIZER,
            TextAnalyzer::from(CharBigramTokenizer::for_queries()),
        );
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("cannot read the search index")?;
        Ok(SearchIndex {
            index,
            reader,
            f,
            ja: ja_tokenizer,
            query_tokenizers,
        })
    }

    /// A writer with `threads` indexing threads and `heap` bytes of buffer in total.
    pub fn writer(&self, threads: usize, heap: usize) -> anyhow::Result<IndexWriter> {
        self.index
            .writer_with_num_threads(threads.max(1), heap)
            .context(
                "cannot write to the search index (is another gijiroku writing to this archive?)",
            )
    }

    /// Queues the turns for indexing (visible after `commit` and [`Self::reload`]).
    pub fn add_turns(&self, w: &IndexWriter, turns: &[TurnDoc]) -> anyhow::Result<()> {
        for t in turns {
            w.add_document(self.document(t)?)?;
        }
        Ok(())
    }

    fn document(&self, t: &TurnDoc) -> anyhow::Result<TantivyDocument> {
        let f = &self.f;
        let mut d = TantivyDocument::new();
        d.add_u64(f.meeting, t.meeting_id as u64);
        d.add_u64(f.turn, turn_key(t.meeting_id, t.seq));
        d.add_u64(f.seq, t.seq as u64);
        d.add_text(f.kind, &t.kind);
        d.add_text(f.title, &t.title);
        d.add_text(f.body, &t.body);
        d.add_facet(f.body_facet, Facet::from_path([t.body.as_str()]));
        d.add_date(f.date, date_value(&t.date)?);
        d.add_text(f.speaker, &t.speaker);
        d.add_facet(f.speaker_facet, Facet::from_path([t.speaker.as_str()]));
        if let Some(r) = &t.role {
            d.add_text(f.role, r);
        }
        d.add_text(f.text, &t.text);
        d.add_text(f.text_chars, &t.text);
        if let Some(s) = t.start {
            d.add_f64(f.start, s);
        }
        if let Some(e) = t.end {
            d.add_f64(f.end, e);
        }
        d.add_text(f.classification, &t.classification);
        d.add_text(f.department, &t.department);
        Ok(d)
    }

    /// Queues the removal of every turn of a meeting.
    pub fn delete_meeting(&self, w: &IndexWriter, meeting_id: i64) {
        w.delete_term(Term::from_field_u64(self.f.meeting, meeting_id as u64));
    }

    /// Makes the last commit visible to searches.
    pub fn reload(&self) -> anyhow::Result<()> {
        self.reader
            .reload()
            .context("cannot reload the search index")
    }

    /// Number of indexed turns of a meeting (0 once it is removed).
    pub fn count_meeting(&self, meeting_id: i64) -> anyhow::Result<usize> {
        let q = TermQuery::new(
            Term::from_field_u64(self.f.meeting, meeting_id as u64),
            IndexRecordOption::Basic,
        );
        Ok(self.reader.searcher().search(&q, &Count)?)
    }

    /// Seconds one thread spends running each text analyzer (morphological, bigram) over
    /// `texts`, with the number of tokens it made: where indexing time goes.
    pub fn analyzer_seconds(&self, texts: &[&str]) -> Vec<(&'static str, f64, usize)> {
        let mut out = Vec::new();
        for name in [JA_TOKENIZER, BIGRAM_TOKENIZER] {
            let Some(mut a) = self.index.tokenizers().get(name) else {
                continue;
            };
            let t0 = std::time::Instant::now();
            let mut n = 0usize;
            for t in texts {
                let mut s = a.token_stream(t);
                while s.advance() {
                    n += 1;
                }
            }
            out.push((name, t0.elapsed().as_secs_f64(), n));
        }
        out
    }

    /// The dictionary words of a text, as the morphological field indexes them.
    pub fn japanese_words(&self) -> impl Fn(&str) -> Vec<String> + '_ {
        |text| self.ja.words(text)
    }

    /// True when a segment still holds deleted turns on disk (removal rewrites them away).
    pub fn has_deleted_documents(&self) -> bool {
        self.reader
            .searcher()
            .segment_readers()
            .iter()
            .any(|r| r.num_deleted_docs() > 0)
    }

    /// Number of segments the index is made of.
    pub fn num_segments(&self) -> usize {
        self.reader.searcher().segment_readers().len()
    }

    /// Number of turns in the index.
    pub fn num_turns(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Searches `query` (AND/OR/NOT, "phrases", words ANDed by default) under `filters`.
    /// "Quoted phrases" match their characters anywhere (NFKC + lowercase, punctuation and
    /// spaces ignored) and rank first; then dictionary words; character bigrams only when no
    /// dictionary word matched, so `京都` does not find `東京都` when 京都 itself is in the
    /// archive. Each stage leaves out the turns of the ones before.
    pub fn search(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
    ) -> anyhow::Result<SearchResult> {
        Ok(self.search_counting(query, filters, limit, None)?.0)
    }

    /// [`Self::search`], except that a query with positions (quoted phrases) stops checking
    /// candidates after `cap` matches: its top hits are the best of those and its count an
    /// estimate, scaled by the share of the index scanned. Returns whether the count is an
    /// estimate. Not used by the archive (its counts stay exact); `bench search
    /// --estimate-over N` measures what it would give ("約N件").
    pub fn search_estimating(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
        cap: usize,
    ) -> anyhow::Result<(SearchResult, bool)> {
        self.search_counting(query, filters, limit, Some(cap.max(1)))
    }

    fn search_counting(
        &self,
        query: &str,
        filters: &Filters,
        limit: usize,
        cap: Option<usize>,
    ) -> anyhow::Result<(SearchResult, bool)> {
        let mut estimated = false;
        let mut at_least = false;
        let limit = limit.max(1);
        let filter = self.filter_query(filters)?;
        let searcher = self.reader.searcher();
        if query.trim().is_empty() {
            let q = filter.unwrap_or_else(|| Box::new(AllQuery));
            let top =
                TopDocs::with_limit(limit).order_by_fast_field::<DateTime>("date", Order::Desc);
            let (docs, total) = searcher.search(&q, &(top, Count))?;
            let mut hits = Vec::with_capacity(docs.len());
            for (_, addr) in docs {
                let turn = self.turn_doc(&searcher.doc(addr)?);
                let fragment: String = turn.text.chars().take(100).collect();
                hits.push(Hit {
                    score: 0.0,
                    turn,
                    fragment,
                    highlights: Vec::new(),
                    matched_by: MatchedBy::Filters,
                });
            }
            return Ok((
                SearchResult {
                    total,
                    at_least: false,
                    hits,
                },
                false,
            ));
        }
        let with_filter = |q: &dyn Query, not: &[&dyn Query]| -> Box<dyn Query> {
            if filter.is_none() && not.is_empty() {
                // Unwrapped, a term query counts from its document frequency and its top hits
                // come from block-max WAND.
                return q.box_clone();
            }
            let mut clauses = vec![(Occur::Must, q.box_clone())];
            if let Some(fq) = &filter {
                clauses.push((Occur::Must, fq.box_clone()));
            }
            for n in not {
                clauses.push((Occur::MustNot, n.box_clone()));
            }
            Box::new(BooleanQuery::new(clauses))
        };
        let Some(parsed) = query::parse(query)? else {
            // Only operators or punctuation: no words asked for, nothing matches.
            return Ok((
                SearchResult {
                    total: 0,
                    at_least: false,
                    hits: Vec::new(),
                },
                false,
            ));
        };
        let literals = parsed.positive_literals();
        let phrases: Vec<&str> = literals
            .iter()
            .filter(|l| l.quoted)
            .map(|l| l.text.as_str())
            .collect();
        let mut hits = Vec::with_capacity(limit);
        let mut total = 0;
        // 1. Quoted phrases as exact characters (unquoted words still by the dictionary).
        let exact_q = if parsed.has_quoted() {
            Some(self.build(&parsed, Target::Exact)?)
        } else {
            None
        };
        if let Some(eq) = &exact_q {
            let (docs, n, est) = top_and_count(
                &searcher,
                &*with_filter(&**eq, &[]),
                limit,
                filter.is_some(),
                cap,
            )?;
            estimated |= est;
            total += n;
            let gen = self.snippets(&searcher, &**eq, self.f.text_chars)?;
            for (score, addr) in docs {
                let turn = self.turn_doc(&searcher.doc(addr)?);
                hits.push(phrase_hit(score, turn, &phrases, &gen));
            }
        }
        // 2. Dictionary words (and phrases as word sequences), below the exact hits. When the
        // exact hits fill the page this stage is skipped (it would only add variants such as
        // stemmed English words, and a phrase of common words is costly) and `total` counts
        // the exact hits.
        let words_q = self.build(&parsed, Target::Words)?;
        let not_exact: Vec<&dyn Query> = exact_q.iter().map(|q| &**q).collect();
        if exact_q.is_none() || hits.len() < limit {
            let (docs, n, est) = top_and_count(
                &searcher,
                &*with_filter(&*words_q, &not_exact),
                (limit - hits.len()).max(1),
                filter.is_some(),
                cap,
            )?;
            estimated |= est;
            total += n;
            let gen = self.snippets(&searcher, &*words_q, self.f.text)?;
            for (score, addr) in docs {
                if hits.len() >= limit {
                    break;
                }
                let turn = self.turn_doc(&searcher.doc(addr)?);
                hits.push(hit(score, turn, &gen, MatchedBy::Words));
            }
        }
        let unquoted: Vec<&str> = literals
            .iter()
            .filter(|l| !l.quoted)
            .map(|l| l.text.as_str())
            .collect();
        if hits.len() < limit && !unquoted.is_empty() {
            // Bigrams add the turns where a word starts a longer dictionary word (保育 in
            // 保育園), never those where it sits inside one (京都 in 東京都), unless it is a
            // long fragment (see LONG_LITERAL_CHARS).
            let bigram_q = self.build(&parsed, Target::Chars)?;
            let gen = self.snippets(&searcher, &*bigram_q, self.f.text_chars)?;
            let want = limit - hits.len();
            let mut not = not_exact.clone();
            not.push(&*words_q);
            let checked = want * 4 + 40;
            let candidates = searcher.search(
                &with_filter(&*bigram_q, &not),
                &TopDocs::with_limit(checked).order_by_score(),
            )?;
            // Candidates past those checked may match too: the count is then a lower bound.
            at_least = candidates.len() == checked;
            for (score, addr) in candidates {
                let turn = self.turn_doc(&searcher.doc(addr)?);
                let accepted = unquoted.iter().any(|l| {
                    (japanese::normalize(l).chars().count() >= LONG_LITERAL_CHARS
                        && !japanese::phrase_ranges(&turn.text, l).is_empty())
                        || self.starts_a_word(&turn.text, l)
                });
                if !accepted {
                    continue;
                }
                total += 1;
                if hits.len() < limit {
                    hits.push(hit(score, turn, &gen, MatchedBy::Bigrams));
                }
            }
        }
        Ok((
            SearchResult {
                total,
                at_least,
                hits,
            },
            estimated,
        ))
    }

    /// The tantivy query of a parsed user query, its literals on the text fields chosen by
    /// `target` (never another field: filters come from [`Filters`] only). Negations count
    /// inside an AND; a query of negations alone matches nothing, as tantivy's parser did.
    fn build(&self, node: &query::Node, target: Target) -> anyhow::Result<Box<dyn Query>> {
        Ok(self
            .build_node(node, target)?
            .unwrap_or_else(|| Box::new(EmptyQuery)))
    }

    fn build_node(
        &self,
        node: &query::Node,
        target: Target,
    ) -> anyhow::Result<Option<Box<dyn Query>>> {
        use query::Node;
        Ok(match node {
            Node::Lit(l) => self.literal_query(l, target)?,
            Node::Not(n) => self
                .build_node(n, target)?
                .map(|q| Box::new(BooleanQuery::new(vec![(Occur::MustNot, q)])) as Box<dyn Query>),
            Node::And(ns) => {
                let mut clauses = Vec::new();
                for n in ns {
                    let (occur, n) = match n {
                        Node::Not(inner) => (Occur::MustNot, &**inner),
                        n => (Occur::Must, n),
                    };
                    if let Some(q) = self.build_node(n, target)? {
                        clauses.push((occur, q));
                    }
                }
                match clauses.len() {
                    0 => None,
                    1 if clauses[0].0 == Occur::Must => clauses.pop().map(|c| c.1),
                    _ => Some(Box::new(BooleanQuery::new(clauses))),
                }
            }
            Node::Or(ns) => {
                let mut clauses = Vec::new();
                for n in ns {
                    if let Some(q) = self.build_node(n, target)? {
                        clauses.push((Occur::Should, q));
                    }
                }
                match clauses.len() {
                    0 => None,
                    1 => clauses.pop().map(|c| c.1),
                    _ => Some(Box::new(BooleanQuery::new(clauses))),
                }
            }
        })
    }

    /// One word or phrase: the tokens of the field's analyzer as a term (one token) or a
    /// phrase (several), as tantivy's query parser makes them; a quoted phrase of one
    /// normalised character on the bigrams is "a bigram starting with it, or it alone at the
    /// end" (see [`CharBigramTokenizer`]). `None` when it has no searchable character.
    fn literal_query(
        &self,
        l: &query::Literal,
        target: Target,
    ) -> anyhow::Result<Option<Box<dyn Query>>> {
        let on_chars = match target {
            Target::Exact => l.quoted,
            Target::Words => false,
            Target::Chars => true,
        };
        let (field, analyzer) = if on_chars {
            if l.quoted {
                let norm = japanese::normalize(&l.text);
                if norm.chars().count() == 1 {
                    let pat = format!("{}.*", regex::escape(&norm));
                    return Ok(Some(Box::new(RegexQuery::from_pattern(
                        &pat,
                        self.f.text_chars,
                    )?)));
                }
            }
            (self.f.text_chars, BIGRAM_TOKENIZER)
        } else {
            (self.f.text, JA_TOKENIZER)
        };
        let mut a = self
            .query_tokenizers
            .get(analyzer)
            .with_context(|| format!("no analyzer {analyzer}"))?;
        let mut terms: Vec<(usize, Term)> = Vec::new();
        let mut s = a.token_stream(&l.text);
        while s.advance() {
            let t = s.token();
            terms.push((t.position, Term::from_field_text(field, &t.text)));
        }
        Ok(match terms.len() {
            0 => None,
            1 => terms.pop().map(|(_, t)| {
                Box::new(TermQuery::new(t, IndexRecordOption::WithFreqs)) as Box<dyn Query>
            }),
            _ => Some(Box::new(PhraseQuery::new_with_offset(terms))),
        })
    }

    fn snippets(
        &self,
        searcher: &tantivy::Searcher,
        q: &dyn Query,
        field: Field,
    ) -> anyhow::Result<SnippetGenerator> {
        let mut gen = SnippetGenerator::create(searcher, q, field)?;
        gen.set_max_num_chars(240);
        Ok(gen)
    }

    /// Does `literal` occur in `text` where a dictionary word starts? Only a window around
    /// each occurrence is segmented: a few characters of context fix the word boundaries.
    fn starts_a_word(&self, text: &str, literal: &str) -> bool {
        let lit: Vec<char> = literal.chars().map(japanese::fold_char).collect();
        if lit.is_empty() {
            return false;
        }
        let chars: Vec<(usize, char)> = text.char_indices().collect();
        for i in 0..chars.len().saturating_sub(lit.len() - 1) {
            if !(0..lit.len()).all(|k| japanese::fold_char(chars[i + k].1) == lit[k]) {
                continue;
            }
            let from = chars[i.saturating_sub(12)].0;
            let to = chars
                .get(i + lit.len() + 12)
                .map(|c| c.0)
                .unwrap_or(text.len());
            let at = chars[i].0 - from;
            if self.ja.word_starts(&text[from..to]).contains(&at) {
                return true;
            }
        }
        false
    }

    fn filter_query(&self, fl: &Filters) -> anyhow::Result<Option<Box<dyn Query>>> {
        let f = &self.f;
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        let term = |field: Field, v: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, v),
                IndexRecordOption::Basic,
            ))
        };
        if let Some(s) = fl.speaker.as_deref().filter(|s| !s.is_empty()) {
            // Speakers are few (hundreds), so a regex over their names is cheap.
            let pat = format!(".*{}.*", regex::escape(s));
            must.push((
                Occur::Must,
                Box::new(RegexQuery::from_pattern(&pat, f.speaker)?),
            ));
        }
        if let Some(r) = fl.role.as_deref().filter(|s| !s.is_empty()) {
            let pat = format!(".*{}", regex::escape(r));
            must.push((
                Occur::Must,
                Box::new(BooleanQuery::new(vec![
                    (
                        Occur::Should,
                        Box::new(RegexQuery::from_pattern(&pat, f.role)?) as Box<dyn Query>,
                    ),
                    (
                        Occur::Should,
                        Box::new(RegexQuery::from_pattern(&pat, f.speaker)?),
                    ),
                ])),
            ));
        }
        if fl.from.is_some() || fl.to.is_some() {
            for d in fl.from.iter().chain(&fl.to) {
                check_date(*d)?;
            }
            let lo = match fl.from {
                Some(d) => Bound::Included(Term::from_field_date(f.date, day_start(d))),
                None => Bound::Unbounded,
            };
            let hi = match fl.to {
                Some(d) => Bound::Included(Term::from_field_date(f.date, day_start(d))),
                None => Bound::Unbounded,
            };
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if let Some(k) = fl.kind.as_deref().filter(|s| !s.is_empty()) {
            must.push((Occur::Must, term(f.kind, k)));
        }
        if let Some(b) = fl.body.as_deref().filter(|s| !s.is_empty()) {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_facet(f.body_facet, &Facet::from_path([b])),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        if let Some(rules) = &fl.readable {
            // No rule matches nothing (an empty BooleanQuery matches no document).
            let any: Vec<(Occur, Box<dyn Query>)> = rules
                .iter()
                .map(|(c, d)| {
                    let q: Box<dyn Query> = match d {
                        None => term(f.classification, c),
                        Some(d) => Box::new(BooleanQuery::new(vec![
                            (Occur::Must, term(f.classification, c)),
                            (Occur::Must, term(f.department, d)),
                        ])),
                    };
                    (Occur::Should, q)
                })
                .collect();
            must.push((Occur::Must, Box::new(BooleanQuery::new(any))));
        }
        if let Some(ts) = &fl.turns {
            must.push((
                Occur::Must,
                Box::new(TermSetQuery::new(
                    ts.iter().map(|t| Term::from_field_u64(f.turn, *t)),
                )),
            ));
        }
        if must.is_empty() {
            return Ok(None);
        }
        // Filters restrict but must not change the ranking.
        Ok(Some(Box::new(ConstScoreQuery::new(
            Box::new(BooleanQuery::new(must)),
            0.0,
        ))))
    }

    fn turn_doc(&self, d: &TantivyDocument) -> TurnDoc {
        let f = &self.f;
        let s = |field: Field| {
            d.get_first(field)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string()
        };
        let u = |field: Field| d.get_first(field).and_then(|v| v.as_u64()).unwrap_or(0);
        let fl = |field: Field| d.get_first(field).and_then(|v| v.as_f64());
        let date = d
            .get_first(f.date)
            .and_then(|v| v.as_datetime())
            .and_then(|dt| chrono::DateTime::from_timestamp(dt.into_timestamp_secs(), 0))
            .map(|dt| dt.date_naive().format("%Y-%m-%d").to_string())
            .unwrap_or_default();
        let role = s(f.role);
        TurnDoc {
            meeting_id: u(f.meeting) as i64,
            seq: u(f.seq) as u32,
            kind: s(f.kind),
            title: s(f.title),
            body: s(f.body),
            date,
            speaker: s(f.speaker),
            role: (!role.is_empty()).then_some(role),
            text: s(f.text),
            start: fl(f.start),
            end: fl(f.end),
            classification: s(f.classification),
            department: s(f.department),
        }
    }
}

/// Top hits (score, address), the number of matches, and whether that number is an estimate.
type TopAndCount = (Vec<(f32, tantivy::DocAddress)>, usize, bool);

/// The `limit` best hits of `q` and the number of turns it matches. A query without
/// positions is run twice, for the top hits alone (block-max WAND skips the blocks that cannot
/// enter them) and for the count alone (no scoring; a term query's is its document
/// frequency), which is much cheaper for common words than scoring every match. A phrase is
/// run once: checking positions is the cost, and both would pay it.
///
/// With `cap` (see [`SearchIndex::search_estimating`]) a query with positions stops after
/// `cap` matches; the third value says the count is then an estimate.
fn top_and_count(
    searcher: &tantivy::Searcher,
    q: &dyn Query,
    limit: usize,
    filtered: bool,
    cap: Option<usize>,
) -> anyhow::Result<TopAndCount> {
    let top = TopDocs::with_limit(limit).order_by_score();
    let mut positions = false;
    q.query_terms(&mut |_, needs_positions| positions |= needs_positions);
    if let (true, Some(cap)) = (positions, cap) {
        return capped_top_and_count(searcher, q, limit, cap);
    }
    if positions || filtered {
        let (docs, n) = searcher.search(q, &(top, Count))?;
        return Ok((docs, n, false));
    }
    Ok((
        searcher.search(q, &top)?,
        searcher.search(q, &Count)?,
        false,
    ))
}

/// The best `limit` of the first `cap` matches of `q` (in index order) and the number of
/// matches, estimated when the cap was reached as `cap` × (documents in the index /
/// documents scanned). Written by hand because tantivy's collectors cannot stop early.
fn capped_top_and_count(
    searcher: &tantivy::Searcher,
    q: &dyn Query,
    limit: usize,
    cap: usize,
) -> anyhow::Result<TopAndCount> {
    use tantivy::query::EnableScoring;
    use tantivy::{DocSet, TERMINATED};
    let weight = q.weight(EnableScoring::enabled_from_searcher(searcher))?;
    let readers = searcher.segment_readers();
    let all_docs: u64 = readers.iter().map(|r| r.max_doc() as u64).sum();
    let mut scanned = 0u64;
    let mut found: Vec<(f32, tantivy::DocAddress)> = Vec::new();
    let mut capped_at = None;
    'segments: for (ord, reader) in readers.iter().enumerate() {
        let mut scorer = weight.scorer(reader, 1.0)?;
        let alive = reader.alive_bitset();
        let mut doc = scorer.doc();
        while doc != TERMINATED {
            if alive.is_none_or(|a| a.is_alive(doc)) {
                found.push((scorer.score(), tantivy::DocAddress::new(ord as u32, doc)));
                if found.len() >= cap {
                    capped_at = Some(scanned + doc as u64 + 1);
                    break 'segments;
                }
            }
            doc = scorer.advance();
        }
        scanned += reader.max_doc() as u64;
    }
    let n = found.len();
    found.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    found.truncate(limit);
    Ok(match capped_at {
        Some(seen) => {
            let est = (n as f64 * all_docs as f64 / seen.max(1) as f64).round() as usize;
            (found, est.max(n), true)
        }
        None => (found, n, false),
    })
}

fn hit(score: f32, turn: TurnDoc, gen: &SnippetGenerator, matched_by: MatchedBy) -> Hit {
    let snip = gen.snippet(&turn.text);
    let (fragment, highlights) = if snip.is_empty() {
        (turn.text.chars().take(100).collect(), Vec::new())
    } else {
        // Bigram highlights overlap (保育, 育園): merged into one range each.
        let mut merged: Vec<Range<usize>> = Vec::new();
        for r in snip.highlighted() {
            match merged.last_mut() {
                Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
                _ => merged.push(r.clone()),
            }
        }
        (snip.fragment().to_string(), merged)
    };
    Hit {
        score,
        turn,
        fragment,
        highlights,
        matched_by,
    }
}

/// A hit of the exact phrases: the excerpt starts a little before the first occurrence and
/// highlights the occurrences themselves (the bigram snippet would light up every bigram of
/// the phrase anywhere in the turn).
fn phrase_hit(score: f32, turn: TurnDoc, phrases: &[&str], gen: &SnippetGenerator) -> Hit {
    let text = &turn.text;
    let mut ranges: Vec<(usize, usize)> = phrases
        .iter()
        .flat_map(|p| japanese::phrase_ranges(text, p))
        .collect();
    ranges.sort_unstable();
    let Some(&(first, _)) = ranges.first() else {
        // Only a negated or field-qualified phrase matched: no occurrence to show.
        return hit(score, turn, gen, MatchedBy::Phrase);
    };
    let start = text[..first]
        .char_indices()
        .rev()
        .nth(SNIPPET_LEAD_CHARS - 1)
        .map(|(i, _)| i)
        .unwrap_or(0);
    let end = text[start..]
        .char_indices()
        .nth(SNIPPET_CHARS)
        .map(|(i, _)| start + i)
        .unwrap_or(text.len());
    let mut highlights: Vec<Range<usize>> = Vec::new();
    for (a, b) in ranges {
        if a < start || b > end {
            continue;
        }
        match highlights.last_mut() {
            Some(last) if a - start <= last.end => last.end = last.end.max(b - start),
            _ => highlights.push(a - start..b - start),
        }
    }
    let fragment = text[start..end].to_string();
    Hit {
        score,
        turn,
        fragment,
        highlights,
        matched_by: MatchedBy::Phrase,
    }
}

/// Length of an excerpt, and how much of it comes before a phrase hit.
const SNIPPET_CHARS: usize = 240;
const SNIPPET_LEAD_CHARS: usize = 60;

pub use query::Literal;

/// The words and phrases a query asks for (not those after NOT or `-`), as typed; none when
/// the query cannot be parsed.
pub fn positive_literals(query: &str) -> Vec<Literal> {
    match query::parse(query) {
        Ok(Some(n)) => n.positive_literals(),
        _ => Vec::new(),
    }
}

/// Which field a literal of the query is searched on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// Quoted phrases on the character bigrams, words by the dictionary.
    Exact,
    /// Everything by the dictionary.
    Words,
    /// Everything on the character bigrams.
    Chars,
}

/// Earliest and latest years the index can hold: tantivy's dates are nanoseconds in an i64
/// (1677-09-21 to 2262-04-11); whole years inside that range keep the message simple.
pub const MIN_YEAR: i32 = 1678;
pub const MAX_YEAR: i32 = 2261;

/// Refuses a date the index cannot hold (it would wrap around: 3000 became 1855).
pub fn check_date(d: NaiveDate) -> anyhow::Result<()> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&d.year()) {
        bail!("the date {d} is out of range: years {MIN_YEAR} to {MAX_YEAR} only");
    }
    Ok(())
}
