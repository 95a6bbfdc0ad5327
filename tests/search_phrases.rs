//! Quoted phrases match wherever their characters appear (issue 17): fragments that start or
//! end inside words, hiragana only, mixed scripts, width variants, one and two characters,
//! exact hits above dictionary-word hits, known-item recall of random fragments of the real
//! minutes, and the migration of an index made by an older version.

mod archive_common;

use archive_common::*;
use gijiroku::archive::{Archive, MinutesImport, SearchRequest, TurnRow, Viewer};
use gijiroku::search::bench::{fragment, Rng};
use gijiroku::search::japanese::{normalize, phrase_ranges};
use gijiroku::search::{Filters, MatchedBy, SearchResult};

fn search(a: &Archive, q: &str, limit: usize) -> SearchResult {
    a.search(
        &Viewer::local(),
        &SearchRequest {
            query: q.into(),
            filters: Filters::default(),
            limit,
            answers_to: None,
        },
    )
    .unwrap_or_else(|e| panic!("{q}: {e:#}"))
}

/// Turns written for the example fragments that the 25 real meetings do not contain
/// (the issue's own archive had them), plus width variants and an English pair.
const EXTRA: &str = "# 2024年9月2日 文教委員会\n# date: 2024-09-02\n\n\
○山田委員長　これからの地域において、図書館が非常に重要な役割を担っていると考えます。\n\
○佐藤委員　その事業をきちんとやっているかどうかということを確認したいと思います。\n\
○鈴木課長　陳情の扱いについて何か決定したことはございません。ＡＢＣ計画とｶﾀｶﾅ表記のお知らせです。\n\
○田中委員　the council meetings were held twice.\n\
○高橋委員　the council meeting was held.\n\
○伊藤委員　最後の一字は鬱\n";

/// All turns of the archive with their meeting ids.
fn all_turns(a: &Archive, ids: &[(String, i64)]) -> Vec<(i64, TurnRow)> {
    let mut out = Vec::new();
    for (_, id) in ids {
        for t in a.turns(&Viewer::local(), *id).unwrap() {
            out.push((*id, t));
        }
    }
    out
}

fn archive_with_extra() -> (tempfile::TempDir, Archive, Vec<(String, i64)>) {
    let (tmp, mut a, mut ids) = archive_with_minutes();
    let f = tmp.path().join("extra.txt");
    std::fs::write(&f, EXTRA).unwrap();
    let id = a.import_minutes(&f, &MinutesImport::default()).unwrap();
    ids.push(("extra".into(), id));
    (tmp, a, ids)
}

/// Checks a quoted query against a scan of every turn: the same turns, all exact hits.
fn exact_as_scan(a: &Archive, turns: &[(i64, TurnRow)], phrase: &str) -> SearchResult {
    let expected = turns
        .iter()
        .filter(|(_, t)| normalize(&t.text).contains(&normalize(phrase)))
        .count();
    let res = search(a, &format!("\"{phrase}\""), 10_000);
    assert_eq!(res.total, expected, "\"{phrase}\": turns containing it");
    assert!(expected > 0, "\"{phrase}\" is in no turn");
    for h in &res.hits {
        assert_eq!(h.matched_by, MatchedBy::Phrase, "{phrase}");
        assert!(!phrase_ranges(&h.turn.text, phrase).is_empty());
        // The excerpt highlights the phrase itself.
        let first = &h.fragment[h.highlights[0].clone()];
        assert_eq!(normalize(first), normalize(phrase), "{phrase}: {first}");
    }
    res
}

#[test]
fn quoted_phrases_match_anywhere() {
    let (_tmp, a, ids) = archive_with_extra();
    let turns = all_turns(&a, &ids);
    let extra = ids.last().unwrap().1;

    // The four examples (the last one is in the real minutes across a 。).
    for p in [
        "やっているかどうかと",
        "書館が非常に重要な役",
        "扱いについて何か決定",
    ] {
        let r = exact_as_scan(&a, &turns, p);
        assert_eq!(r.hits[0].turn.meeting_id, extra, "{p}");
    }
    let r = exact_as_scan(&a, &turns, "て質疑を行いますご質");
    let real = ids.iter().find(|(s, _)| s == "r06-20240701-8").unwrap().1;
    assert!(r.hits.iter().take(5).any(|h| h.turn.meeting_id == real));

    // Starting and ending inside words, hiragana only, mixed scripts.
    for p in [
        "育園の",
        "書館",
        "ているかどうか",
        "ございますので",
        "第５８号議案",
        "ＳＤＧｓの",
        "区民の皆さま",
    ] {
        exact_as_scan(&a, &turns, p);
    }
    // Width and case variants meet: the query as typed either way, the text as written.
    for (typed, written) in [
        ("第58号議案", "第５８号議案"),
        ("sdgsの", "ＳＤＧｓの"),
        ("abc計画", "ＡＢＣ計画"),
        ("カタカナ表記", "ｶﾀｶﾅ表記"),
    ] {
        let a1 = search(&a, &format!("\"{typed}\""), 10_000);
        let a2 = exact_as_scan(&a, &turns, written);
        assert_eq!(a1.total, a2.total, "{typed} vs {written}");
        let h = &a1.hits[0];
        assert_eq!(&h.fragment[h.highlights[0].clone()], written);
    }

    // One character: anywhere in a turn, including its very last character; two characters.
    exact_as_scan(&a, &turns, "市");
    let last = exact_as_scan(&a, &turns, "鬱");
    assert!(last.hits.iter().any(|h| h.turn.text.ends_with('鬱')));
    // 50 reference turns hold 保育 as written; punctuation is ignored (so that the issue's
    // "て質疑を行いますご質" finds 行います。ご質), which adds the three with 確保・育成.
    let hoiku = exact_as_scan(&a, &turns, "保育");
    assert_eq!(hoiku.total, 53);

    // Quoted phrase with an unquoted word and a negation keep their boolean meaning.
    let both = search(&a, "\"ございますので\" 予算", 10_000);
    assert!(both.total > 0);
    assert!(both
        .hits
        .iter()
        .all(|h| h.turn.text.contains("ございますので") && h.turn.text.contains("予算")));
    let without = search(&a, "\"ございますので\" -\"予算\"", 10_000);
    let with_phrase = search(&a, "\"ございますので\"", 10_000).total;
    assert_eq!(without.total + both.total, with_phrase);
    assert!(without.hits.iter().all(|h| !h.turn.text.contains("予算")));
}

#[test]
fn exact_hits_rank_above_dictionary_words_and_unquoted_stays_morphological() {
    let (_tmp, mut a) = new_archive();
    let f = _tmp.path().join("extra.txt");
    std::fs::write(&f, EXTRA).unwrap();
    a.import_minutes(&f, &MinutesImport::default()).unwrap();
    // "council meetings": exactly in one turn; the stemmed words also in "council meeting".
    let r = search(&a, "\"council meetings\"", 10);
    assert_eq!(r.total, 2, "{:?}", r.hits);
    assert_eq!(r.hits[0].matched_by, MatchedBy::Phrase);
    assert!(r.hits[0].turn.text.contains("meetings"));
    assert_eq!(r.hits[1].matched_by, MatchedBy::Words);
    assert!(r.hits[1].turn.text.contains("meeting was"));
    assert!(r.hits[0].score > r.hits[1].score || r.hits[0].matched_by != r.hits[1].matched_by);

    // Unquoted: dictionary words as before; a short word is not matched inside another.
    let w = search(&a, "図書館 重要", 10);
    assert_eq!(w.total, 1);
    assert_eq!(w.hits[0].matched_by, MatchedBy::Words);
    assert_eq!(search(&a, "書館", 10).total, 0, "書館 is inside 図書館");
    assert_eq!(search(&a, "\"書館\"", 10).total, 1);
    // A long unquoted fragment that starts inside a word is still found, after the words.
    let frag = search(&a, "書館が非常に重要な役", 10);
    assert_eq!(frag.total, 1);
    assert!(frag.hits[0].turn.text.contains("図書館が非常に重要な役割"));
}

/// Known-item search with random fragments (6–12 characters cut anywhere in a line of a
/// turn, fixed seed): is the fragment's meeting (and turn) in the top 5? Half of the meetings
/// (even positions) were used while developing, the other half only measured. A fragment
/// found in more than 5 meetings by a plain scan of the text (boilerplate such as
/// これより採決いたします) cannot single out its meeting in a top 5 whatever the ranking: those
/// are drawn, counted and reported, but the 30 of the target are fragments that can.
#[test]
fn recall_of_random_fragments_of_real_minutes() {
    let (_tmp, a, ids) = archive_with_minutes();
    let v = Viewer::local();
    let turns = all_turns(&a, &ids);
    let normalized: Vec<(i64, String)> = turns
        .iter()
        .map(|(id, t)| (*id, normalize(&t.text)))
        .collect();
    for (half, name) in [(0, "development"), (1, "held-out")] {
        let meetings: Vec<i64> = ids
            .iter()
            .enumerate()
            .filter(|(i, _)| i % 2 == half)
            .map(|(_, (_, id))| *id)
            .collect();
        let mut rng = Rng(0x5EED_0017 + half as u64);
        let (mut quoted_meeting, mut quoted_turn, mut unquoted_meeting) = (0, 0, 0);
        let (mut n, mut ambiguous, mut ambiguous_found) = (0, 0, 0);
        let mut misses = Vec::new();
        while n < 30 {
            let id = meetings[rng.below(meetings.len())];
            let turns = a.turns(&v, id).unwrap();
            let t = &turns[rng.below(turns.len())];
            let len = 6 + rng.below(7);
            let Some(frag) = fragment(&mut rng, &t.text, len) else {
                continue;
            };
            let r = search(&a, &format!("\"{frag}\""), 5);
            assert!(r.total > 0, "\"{frag}\" found nothing");
            let found = r.hits.iter().any(|h| h.turn.meeting_id == id);
            let nf = normalize(&frag);
            let mut in_meetings: Vec<i64> = normalized
                .iter()
                .filter(|(_, t)| t.contains(&nf))
                .map(|(m, _)| *m)
                .collect();
            in_meetings.dedup();
            if in_meetings.len() > 5 {
                ambiguous += 1;
                ambiguous_found += found as usize;
                continue;
            }
            n += 1;
            if found {
                quoted_meeting += 1;
            } else {
                misses.push(frag.clone());
            }
            if r.hits
                .iter()
                .any(|h| h.turn.meeting_id == id && h.turn.seq == t.seq)
            {
                quoted_turn += 1;
            }
            // Unquoted, a pasted ")" or "AND" is query syntax: an error counts as a miss.
            let u = a.search(
                &v,
                &SearchRequest {
                    query: frag.clone(),
                    limit: 5,
                    ..Default::default()
                },
            );
            if u.is_ok_and(|u| u.hits.iter().any(|h| h.turn.meeting_id == id)) {
                unquoted_meeting += 1;
            }
        }
        eprintln!(
            "{name} meetings: recall@5 quoted {quoted_meeting}/30 (its turn {quoted_turn}/30), \
             unquoted {unquoted_meeting}/30; missed {misses:?}; also drawn: {ambiguous} \
             fragments in more than 5 meetings ({ambiguous_found} found in the top 5 anyway)"
        );
        assert!(
            quoted_meeting >= 29,
            "{name}: {quoted_meeting}/30 {misses:?}"
        );
    }
}

#[test]
fn an_index_of_an_older_version_asks_for_reindex_which_migrates_it() {
    let (tmp, mut a) = new_archive();
    let f = tmp.path().join("extra.txt");
    std::fs::write(&f, EXTRA).unwrap();
    a.import_minutes(&f, &MinutesImport::default()).unwrap();
    assert_eq!(search(&a, "\"書館が非常\"", 10).total, 1);
    drop(a);
    // An index written by version 2 (bigrams over kanji/katakana only).
    std::fs::write(tmp.path().join("index/gijiroku-index-version"), "2").unwrap();
    let mut a = Archive::open(tmp.path()).unwrap();
    let err = a
        .search(
            &Viewer::local(),
            &SearchRequest {
                query: "\"書館が非常\"".into(),
                limit: 10,
                ..Default::default()
            },
        )
        .unwrap_err();
    let msg = format!("{err:#}");
    assert!(msg.contains("archive reindex"), "{msg}");
    assert_eq!(a.reindex().unwrap(), 6);
    assert_eq!(search(&a, "\"書館が非常\"", 10).total, 1);
    let version = std::fs::read_to_string(tmp.path().join("index/gijiroku-index-version"));
    assert_eq!(
        version.unwrap().trim(),
        gijiroku::search::INDEX_VERSION.to_string()
    );
}

/// `search_estimating` (measured by `bench search --estimate-over`, not used by the archive):
/// below its cap it is the exact search; past it the count is flagged as an estimate, at least
/// the cap and near the exact count, and the hits are still exact phrase hits.
#[test]
fn estimated_phrase_counts_are_flagged_and_close() {
    use gijiroku::archive::minutes_text;
    use gijiroku::search::{turn_key, SearchIndex, TurnDoc};
    let (tmp, _a) = new_archive();
    let index = SearchIndex::open(
        &tmp.path().join("est-index"),
        &tmp.path().join("dict/ipadic"),
    )
    .unwrap();
    let mut w = index.writer(2, 64 << 20).unwrap();
    for (mi, f) in minutes_files().iter().enumerate() {
        let m = minutes_text::parse(&std::fs::read_to_string(f).unwrap());
        let docs: Vec<TurnDoc> = m
            .turns
            .iter()
            .enumerate()
            .map(|(i, t)| TurnDoc {
                meeting_id: mi as i64 + 1,
                seq: i as u32 + 1,
                kind: "council".into(),
                title: String::new(),
                body: "本会議".into(),
                date: "2024-06-01".into(),
                speaker: t.speaker.clone(),
                role: t.role.clone(),
                text: t.text.clone(),
                start: None,
                end: None,
                classification: "public".into(),
                department: String::new(),
            })
            .collect();
        index.add_turns(&w, &docs).unwrap();
    }
    w.commit().unwrap();
    w.wait_merging_threads().unwrap();
    index.reload().unwrap();
    let keys = |r: &SearchResult| -> Vec<u64> {
        r.hits
            .iter()
            .map(|h| turn_key(h.turn.meeting_id, h.turn.seq))
            .collect()
    };
    let q = "\"でございます\"";
    let exact = index.search(q, &Filters::default(), 10).unwrap();
    assert!(exact.total > 400, "{}", exact.total);
    // A cap above the count: the exact search.
    let (same, estimated) = index
        .search_estimating(q, &Filters::default(), 10, exact.total + 1)
        .unwrap();
    assert!(!estimated);
    assert_eq!(same.total, exact.total);
    assert_eq!(keys(&same), keys(&exact));
    // A cap below it: an estimate of the right size, hits still exact.
    let (est, estimated) = index
        .search_estimating(q, &Filters::default(), 10, 100)
        .unwrap();
    assert!(estimated);
    assert!(est.total >= 100);
    let ratio = est.total as f64 / exact.total as f64;
    assert!(
        (0.5..2.0).contains(&ratio),
        "{} vs {}",
        est.total,
        exact.total
    );
    assert_eq!(est.hits.len(), 10);
    for h in &est.hits {
        assert_eq!(h.matched_by, MatchedBy::Phrase);
        assert!(!phrase_ranges(&h.turn.text, "でございます").is_empty());
    }
    // Word queries (no positions) are not capped.
    let (words, estimated) = index
        .search_estimating("議員", &Filters::default(), 10, 5)
        .unwrap();
    assert!(!estimated);
    assert_eq!(
        words.total,
        index.search("議員", &Filters::default(), 10).unwrap().total
    );
}
