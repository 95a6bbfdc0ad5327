//! Council minutes drafted from the speaker turns of 25 published Shinagawa ward assembly
//! minutes (shared/eval/minutes), compared with the published text: share of speaker
//! heading lines (`○渡辺議長　ただいまから…`) reproduced exactly.

use gijiroku::minutes::fidelity;
use gijiroku::minutes::MinutesOptions;
use std::path::Path;

const EVAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/eval/minutes");

fn print(rows: &[fidelity::MeetingFidelity]) -> (f64, f64) {
    let (mut r, mut l, mut h, mut k) = (0, 0, 0, 0);
    for m in rows {
        println!(
            "{:28} headings {:4} drafted {:4} lines exact {:5.1}% speaker exact {:5.1}% removals {}",
            m.meeting_id,
            m.reference,
            m.drafted,
            100.0 * m.lines_exact as f64 / m.reference.max(1) as f64,
            100.0 * m.headings_exact as f64 / m.reference.max(1) as f64,
            m.removals
        );
        for x in &m.removed_examples {
            println!("    removed: {x}");
        }
        for (a, b) in &m.examples {
            println!("    published: {}\n    drafted:   {}", trunc(a), trunc(b));
        }
        r += m.reference;
        l += m.lines_exact;
        h += m.headings_exact;
        k += m.removals;
    }
    let (lines, heads) = (l as f64 / r as f64, h as f64 / r as f64);
    println!(
        "ALL {} meetings: {} heading lines, {:.1}% reproduced exactly (whole line), {:.1}% speaker headings exact, {} ケバ取り removals on edited text",
        rows.len(), r, 100.0 * lines, 100.0 * heads, k
    );
    (lines, heads)
}

fn trunc(s: &str) -> String {
    s.chars().take(60).collect()
}

#[test]
fn headings_of_a_few_meetings_are_reproduced() {
    let ids = ["r06-20240220-honkaigi", "r06-20240610-5", "r06-20240702-9"];
    let rows = fidelity::measure(Path::new(EVAL), Some(&ids), &MinutesOptions::default())
        .expect("eval minutes in ../shared/eval/minutes");
    assert_eq!(rows.len(), 3);
    let (lines, heads) = print(&rows);
    // Measured on these three (404 headings): 99.5% of whole heading lines and 100% of
    // speaker headings reproduced; 2 ケバ取り removals on the edited text (図工……、図工 and,
    // since the comma-less あの before a noun is a filler, the demonstrative 、あの機材: one of
    // 4 in the 25 published minutes, given up for the fillers a speaker says far more often).
    assert!(heads >= 0.99, "speaker headings exact {heads}");
    assert!(lines >= 0.99, "heading lines exact {lines}");
    let removals: usize = rows.iter().map(|r| r.removals).sum();
    assert!(
        removals <= 2,
        "ケバ取り removed {removals} spans from edited minutes"
    );
}

#[test]
#[ignore = "prints the figure for all 25 meetings: cargo test --release --test minutes_fidelity -- --ignored --nocapture"]
fn headings_of_all_meetings() {
    let t0 = std::time::Instant::now();
    let rows = fidelity::measure(Path::new(EVAL), None, &MinutesOptions::default()).unwrap();
    // Includes reading turns.jsonl and the published text: 2.7 MB, 2235 speeches.
    println!(
        "drafted and rendered 25 meetings in {:.2} s",
        t0.elapsed().as_secs_f64()
    );
    assert_eq!(rows.len(), 25);
    let (lines, heads) = print(&rows);
    assert!(
        lines >= 0.99 && heads >= 0.99,
        "lines {lines} headings {heads}"
    );
}
