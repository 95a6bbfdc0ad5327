//! Hostile and unusual queries (issue 19, items 9, 11, 12): apostrophes, colons, times and URLs
//! search as text; field names reach no field; 10,000 `(` is a clean error; dates the index
//! cannot hold are refused for searches and for archiving; and a fuzz run of the query parser
//! through `Archive::search` (fixed seed, ≥ 1,000 generated and mutated queries, 0 panics,
//! each answered within a time bound).

mod archive_common;

use archive_common::*;
use chrono::NaiveDate;
use gijiroku::archive::{Archive, Classification, MinutesImport, SearchRequest, Viewer};
use gijiroku::search::bench::Rng;
use gijiroku::search::{query, Filters, SearchResult};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const PUBLIC: &str = "# 2024年9月2日 総務委員会\n# date: 2024-09-02\n\n\
○山田委員長　Steve's plan was discussed with Mr. O'Brien at 10:00 in the morning.\n\
○佐藤委員　詳しくは https://www.city.example.lg.jp/kaigi/r6.html をご覧ください。\n\
○鈴木課長　会議は午前１０時から（classification: internal の扱い）です。\n\
○田中委員　保育園の待機児童について質問します。\n";

const INTERNAL: &str = "# 2024年9月3日 庁議\n# date: 2024-09-03\n\n\
○高橋部長　機密案件甲の進め方について協議します。\n\
○伊藤課長　保育園の予算は機密案件甲と別に扱います。\n";

fn archive() -> (tempfile::TempDir, Archive, i64, i64) {
    let (tmp, mut a) = new_archive();
    let p = tmp.path().join("public.txt");
    std::fs::write(&p, PUBLIC).unwrap();
    let public = a.import_minutes(&p, &MinutesImport::default()).unwrap();
    let i = tmp.path().join("internal.txt");
    std::fs::write(&i, INTERNAL).unwrap();
    let internal = a
        .import_minutes(
            &i,
            &MinutesImport {
                classification: Some(Classification::Internal),
                department: Some("総務課".into()),
                ..Default::default()
            },
        )
        .unwrap();
    (tmp, a, public, internal)
}

fn req(q: &str) -> SearchRequest {
    SearchRequest {
        query: q.into(),
        limit: 50,
        ..Default::default()
    }
}

fn search(a: &Archive, v: &Viewer, q: &str) -> SearchResult {
    a.search(v, &req(q))
        .unwrap_or_else(|e| panic!("{q}: {e:#}"))
}

#[test]
fn apostrophes_colons_times_and_urls_search_as_text() {
    let (_tmp, a, public, _) = archive();
    let v = Viewer::local();
    for (q, expect) in [
        ("Steve's", "Steve's"),
        ("O'Brien", "O'Brien"),
        ("\"O'Brien\"", "O'Brien"),
        ("10:00", "10:00"),
        ("\"10:00\"", "10:00"),
        (
            "https://www.city.example.lg.jp/kaigi/r6.html",
            "https://www.city.example.lg.jp/kaigi/r6.html",
        ),
        ("\"city.example.lg.jp\"", "city.example.lg.jp"),
        ("plan AND O'Brien", "O'Brien"),
    ] {
        let r = search(&a, &v, q);
        assert!(r.total >= 1, "{q} found nothing");
        assert!(
            r.hits.iter().all(|h| h.turn.text.contains(expect)),
            "{q}: {:?}",
            r.hits.iter().map(|h| &h.turn.text).collect::<Vec<_>>()
        );
        assert!(r.hits.iter().all(|h| h.turn.meeting_id == public));
    }
    // Other syntax of tantivy's grammar is text too, not an error.
    for q in [
        "a^2", "[a TO b]", "*", "/.*/", "保育~2", "{x}", "'single'", "\\",
    ] {
        a.search(&v, &req(q))
            .unwrap_or_else(|e| panic!("{q}: {e:#}"));
    }
}

#[test]
fn field_names_reach_no_field() {
    let (_tmp, a, public, internal) = archive();
    let local = Viewer::local();
    // The internal meeting is there for whoever may read it...
    let r = search(&a, &local, "機密案件甲");
    assert_eq!(r.total, 2);
    assert!(r.hits.iter().all(|h| h.turn.meeting_id == internal));
    // ...but a field name in a query is only words: `classification:internal` finds the turn
    // that says it, never the internal meeting by its classification.
    let r = search(&a, &local, "classification:internal");
    assert_eq!(r.total, 1, "{:?}", r.hits);
    assert_eq!(r.hits[0].turn.meeting_id, public);
    assert!(r.hits[0].turn.text.contains("classification: internal"));
    for q in [
        "department:総務課",
        "classification:internal AND 機密案件甲",
        "kind:council",
        "speaker:高橋部長",
        "meeting:2",
        "turn:1",
        "date:2024-09-03",
        "text:機密案件甲 OR text_chars:機密",
        "body:庁議",
    ] {
        let r = search(&a, &Viewer::public(), q);
        assert!(
            r.hits.iter().all(|h| h.turn.meeting_id == public),
            "{q} reached the internal meeting"
        );
        let r = search(&a, &local, q);
        assert_eq!(r.total, 0, "{q} matched as a field: {:?}", r.hits);
    }
    // The public sees no internal turn whatever the words.
    assert_eq!(search(&a, &Viewer::public(), "機密案件甲").total, 0);
    let r = search(&a, &Viewer::public(), "保育園");
    assert_eq!(r.total, 1);
    assert_eq!(r.hits[0].turn.meeting_id, public);
}

#[test]
fn deeply_nested_queries_are_one_line_errors() {
    let (_tmp, a, _, _) = archive();
    let v = Viewer::local();
    for n in [10_000, 1_000, query::MAX_DEPTH + 1] {
        let q = "(".repeat(n) + "保育" + &")".repeat(n);
        let e = format!("{:#}", a.search(&v, &req(&q)).unwrap_err());
        assert!(!e.contains('\n') && e.len() < 200, "{n}: {e}");
        assert!(e.contains("too long") || e.contains("deep"), "{n}: {e}");
        let open_only = "(".repeat(n);
        assert!(a.search(&v, &req(&open_only)).is_err());
    }
    let ok = "(".repeat(query::MAX_DEPTH) + "保育" + &")".repeat(query::MAX_DEPTH);
    assert_eq!(search(&a, &v, &ok).total, 2);
    // Long runs of prefix operators are counted, not recursed.
    let nots = "NOT ".repeat(300) + "保育";
    assert!(a.search(&v, &req(&nots)).is_ok());
    let minus = "-".repeat(1_500) + "保育";
    assert!(a.search(&v, &req(&minus)).is_ok());
}

#[test]
fn dates_outside_the_index_range_are_refused() {
    let (tmp, mut a, _, _) = archive();
    let v = Viewer::local();
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    for (from, to) in [
        (Some("3000-01-01"), None),
        (None, Some("1600-01-01")),
        (Some("0000-01-01"), Some("2024-01-01")),
        (Some("2024-01-01"), Some("2262-12-31")),
    ] {
        let r = a.search(
            &v,
            &SearchRequest {
                query: "保育".into(),
                filters: Filters {
                    from: from.map(d),
                    to: to.map(d),
                    ..Default::default()
                },
                limit: 10,
                ..Default::default()
            },
        );
        let e = format!("{:#}", r.unwrap_err());
        assert!(e.contains("out of range") && !e.contains('\n'), "{e}");
    }
    // The edges of the range work (before the fix 3000-01-01 wrapped and found everything).
    let r = a
        .search(
            &v,
            &SearchRequest {
                query: "保育".into(),
                filters: Filters {
                    from: Some(d("2261-12-31")),
                    ..Default::default()
                },
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(r.total, 0);
    // Meeting dates: refused when archived, and nothing is left behind.
    let before = a.list(&v).unwrap().len();
    for date in ["3024-05-01", "0000-01-01", "1677-01-01"] {
        let f = tmp.path().join(format!("m{date}.txt"));
        std::fs::write(
            &f,
            format!("# {date} 会議\n# date: {date}\n\n○山田委員　保育について。\n"),
        )
        .unwrap();
        let e = format!(
            "{:#}",
            a.import_minutes(&f, &MinutesImport::default()).unwrap_err()
        );
        assert!(e.contains("out of range"), "{date}: {e}");
        let f2 = tmp.path().join("plain.txt");
        std::fs::write(&f2, "○山田委員　保育について別の日に。\n").unwrap();
        let e = a
            .import_minutes(
                &f2,
                &MinutesImport {
                    date: Some(d(date)),
                    ..Default::default()
                },
            )
            .unwrap_err();
        assert!(format!("{e:#}").contains("out of range"), "{date}: {e:#}");
    }
    assert_eq!(a.list(&v).unwrap().len(), before);

    // The command line: one line on stderr, non-zero exit, before the archive is opened.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gijiroku"))
        .arg("--data")
        .arg(tmp.path())
        .args(["search", "保育", "--from", "3000-01-01"])
        .env_remove("GIJIROKU_USER")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("out of range"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Pieces queries are made of: operators, quotes, the old grammar's syntax, field names,
/// scripts and characters that change length when normalised, control characters.
const PIECES: &[&str] = &[
    "(",
    ")",
    "\"",
    "'",
    ":",
    "-",
    "+",
    "*",
    "^",
    "~",
    "[",
    "]",
    "{",
    "}",
    "\\",
    "/",
    " ",
    "　",
    "AND",
    "OR",
    "NOT",
    "&&",
    "||",
    " TO ",
    "IN",
    "classification:",
    "text_chars:",
    "text:",
    "speaker:",
    "date:",
    "保育",
    "東京都",
    "京都",
    "こと",
    "ところでございます",
    "ｶﾞｯｺｳ",
    "ＳＤＧｓ",
    "sdgs",
    "10:00",
    "O'Brien",
    "https://a.jp/?q=1",
    "、",
    "。",
    "・",
    "か\u{3099}",
    "\u{3099}",
    "\u{0}",
    "\u{b}",
    "\u{feff}",
    "\u{fffe}",
    "😀",
    "é",
    "İ",
    "ß",
    "㍻",
    "①",
    "\n",
    "\t",
    "1",
    "2024-06-10",
    "-\"",
    "\"\"",
    "()",
    "((",
    "))",
    "NOT NOT",
    "a",
    "委員",
    "予算",
];

const SEEDS: &[&str] = &[
    "保育",
    "予算 AND 保育",
    "予算 OR 保育",
    "保育 NOT 予算",
    "\"防災訓練\"",
    "\"やっているかどうかと\"",
    "(保育 OR 子育て) -予算",
    "classification:internal",
    "Steve's",
    "O'Brien 10:00",
    "https://www.city.example.lg.jp/kaigi/r6.html",
    "\"保育 AND",
    "sdgs",
    "\"の\"",
    "+保育 -\"待機児童\"",
    "機密案件甲",
];

fn mutate(rng: &mut Rng, q: &str) -> String {
    let mut chars: Vec<char> = q.chars().collect();
    let piece = |rng: &mut Rng| PIECES[rng.below(PIECES.len())];
    match rng.below(7) {
        0 => {
            let at = rng.below(chars.len() + 1);
            let p: Vec<char> = piece(rng).chars().collect();
            chars.splice(at..at, p);
        }
        1 if !chars.is_empty() => {
            let a = rng.below(chars.len());
            let b = (a + 1 + rng.below(4)).min(chars.len());
            chars.drain(a..b);
        }
        2 if !chars.is_empty() => {
            // Repeat a span many times (deep nesting, long runs of operators).
            let a = rng.below(chars.len());
            let b = (a + 1 + rng.below(3)).min(chars.len());
            let span: Vec<char> = chars[a..b].to_vec();
            let times = [2, 10, 40, 200, 1500][rng.below(5)];
            let rep: Vec<char> = span
                .iter()
                .cycle()
                .take(span.len() * times)
                .copied()
                .collect();
            chars.splice(a..a, rep);
        }
        3 => {
            let other: Vec<char> = SEEDS[rng.below(SEEDS.len())].chars().collect();
            let at = rng.below(chars.len() + 1);
            chars.splice(at..at, other);
        }
        4 if !chars.is_empty() => {
            let i = rng.below(chars.len());
            chars[i] = char::from_u32(rng.below(0x3_0000) as u32).unwrap_or('?');
        }
        5 => {
            // Several pieces glued: the grammar's syntax in new orders.
            for _ in 0..1 + rng.below(6) {
                chars.extend(piece(rng).chars());
            }
        }
        _ => {
            chars.insert(0, '(');
            chars.push(')');
        }
    }
    chars.into_iter().collect()
}

#[test]
fn query_parser_fuzz() {
    let (_tmp, a, _, _) = archive();
    let viewers = [Viewer::local(), Viewer::public()];
    let mut rng = Rng(0x5EED_0019_F022_0001);
    let t0 = Instant::now();
    let (mut ok, mut err, mut panics) = (0usize, 0usize, Vec::new());
    let mut slowest = (Duration::ZERO, String::new());
    let mut corpus: Vec<String> = SEEDS.iter().map(|s| s.to_string()).collect();
    const CASES: usize = 1_500;
    for k in 0..CASES {
        let base = corpus[rng.below(corpus.len())].clone();
        let mut q = mutate(&mut rng, &base);
        if rng.below(3) == 0 {
            q = mutate(&mut rng, &q);
        }
        if q.chars().count() <= 3_000 {
            corpus.push(q.clone());
        }
        let mut r = req(&q);
        if k % 5 == 0 {
            r.filters.from = NaiveDate::from_ymd_opt(2024, 1, 1);
            r.filters.speaker = Some("山田".into());
        }
        let v = &viewers[k % 2];
        let t = Instant::now();
        let out = catch_unwind(AssertUnwindSafe(|| a.search(v, &r)));
        let took = t.elapsed();
        if took > slowest.0 {
            slowest = (took, q.chars().take(60).collect());
        }
        match out {
            Ok(Ok(res)) => {
                ok += 1;
                assert!(res.hits.len() <= 50);
            }
            Ok(Err(e)) => {
                err += 1;
                let msg = format!("{e:#}");
                assert!(
                    !msg.contains('\n') || q.contains('\n'),
                    "a multi-line error for {q:?}: {msg}"
                );
                assert!(msg.len() < 400, "a long error for a query: {msg}");
            }
            Err(_) => panics.push(q.chars().take(80).collect::<String>()),
        }
        assert!(
            took < Duration::from_secs(5),
            "{q:?} took {took:?} (bound 5 s)"
        );
    }
    eprintln!(
        "query fuzz: {CASES} queries, {ok} answered, {err} clean errors, {} panics, \
         slowest {:?} ({:?}), {:.1} s in all",
        panics.len(),
        slowest.0,
        slowest.1,
        t0.elapsed().as_secs_f64()
    );
    assert!(panics.is_empty(), "panics on: {panics:?}");
    assert!(ok > CASES / 3, "most queries must be answered: {ok}");
}
