//! ケバ取り on a hand-written test set (tests/fixtures/kebatori/{ja,en}.txt): precision and
//! recall of removed characters, utterances cleaned exactly, and the guarantee that no
//! character an editor keeps (other than punctuation and spaces) is removed.
//! Print the figures: cargo test --release --test kebatori -- --nocapture

use gijiroku::minutes::kebatori;

struct Case {
    verbatim: String,
    gold_clean: String,
    /// Per char of `verbatim`: an editor removes it.
    gold: Vec<bool>,
}

fn load(lang: &str) -> Vec<Case> {
    let path = format!(
        "{}/tests/fixtures/kebatori/{lang}.txt",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).expect("test set");
    let mut cases = Vec::new();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let (mut verbatim, mut gold_clean, mut gold) = (String::new(), String::new(), Vec::new());
        let mut inside = false;
        for c in line.chars() {
            match c {
                '{' => inside = true,
                '}' => inside = false,
                c => {
                    verbatim.push(c);
                    gold.push(inside);
                    if !inside {
                        gold_clean.push(c);
                    }
                }
            }
        }
        cases.push(Case {
            verbatim,
            gold_clean,
            gold,
        });
    }
    cases
}

struct Score {
    precision: f64,
    recall: f64,
    exact: f64,
    content_removed: Vec<String>,
}

fn score(lang: &str) -> Score {
    let cases = load(lang);
    let (mut tp, mut fp, mut fn_, mut exact) = (0usize, 0usize, 0usize, 0usize);
    let mut content_removed = Vec::new();
    for c in &cases {
        let r = kebatori::clean(&c.verbatim, lang);
        let chars: Vec<char> = c.verbatim.chars().collect();
        let mut sys = vec![false; chars.len()];
        for x in &r.removals {
            for s in &mut sys[x.start..x.end] {
                *s = true;
            }
        }
        for k in 0..chars.len() {
            match (sys[k], c.gold[k]) {
                (true, true) => tp += 1,
                (true, false) => {
                    fp += 1;
                    let ch = chars[k];
                    if !(ch.is_whitespace()
                        || ch.is_ascii_punctuation()
                        || "、。，．？！…".contains(ch))
                    {
                        content_removed.push(format!("{} -> {}", c.verbatim, r.text));
                    }
                }
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        if r.text == c.gold_clean {
            exact += 1;
        } else {
            println!(
                "  [{lang}] {}\n       got:  {}\n       want: {}",
                c.verbatim, r.text, c.gold_clean
            );
        }
    }
    content_removed.dedup();
    let s = Score {
        precision: tp as f64 / (tp + fp).max(1) as f64,
        recall: tp as f64 / (tp + fn_).max(1) as f64,
        exact: exact as f64 / cases.len() as f64,
        content_removed,
    };
    println!(
        "ケバ取り {lang}: {} utterances, removed chars precision {:.3} recall {:.3}, utterances exact {:.3}",
        cases.len(),
        s.precision,
        s.recall,
        s.exact
    );
    s
}

#[test]
fn japanese_fillers() {
    let s = score("ja");
    assert!(
        s.content_removed.is_empty(),
        "content removed: {:#?}",
        s.content_removed
    );
    // Measured: precision 1.000, recall 0.985, 52/53 exact; the miss is a kana fragment
    // restarted in kanji (きょ、今日), which needs readings a rule set does not have. On the
    // 2.7 MB of published (edited) minutes the same rules remove 3 spans (minutes_fidelity).
    assert!(s.precision >= 0.98, "precision {}", s.precision);
    assert!(s.recall >= 0.90, "recall {}", s.recall);
    assert!(s.exact >= 0.85, "exact {}", s.exact);
}

#[test]
fn english_fillers() {
    let s = score("en");
    assert!(
        s.content_removed.is_empty(),
        "content removed: {:#?}",
        s.content_removed
    );
    // Measured: precision 1.000, recall 1.000, 39/39 exact. The set was written beside the
    // rules, so this is optimistic; the real-speech lines (MFA corpus) are the honest part.
    assert!(s.precision >= 0.98, "precision {}", s.precision);
    assert!(s.recall >= 0.90, "recall {}", s.recall);
    assert!(s.exact >= 0.85, "exact {}", s.exact);
}

/// The verbatim text is never lost: removing the recorded spans from it gives the clean text.
#[test]
fn removals_rebuild_the_clean_text() {
    for lang in ["ja", "en"] {
        for c in load(lang) {
            let r = kebatori::clean(&c.verbatim, lang);
            let chars: Vec<char> = c.verbatim.chars().collect();
            let mut rebuilt = String::new();
            let mut pos = 0;
            for x in &r.removals {
                assert!(x.start >= pos && x.end > x.start);
                assert_eq!(chars[x.start..x.end].iter().collect::<String>(), x.text);
                rebuilt.extend(&chars[pos..x.start]);
                pos = x.end;
            }
            rebuilt.extend(&chars[pos..]);
            assert_eq!(rebuilt, r.text);
        }
    }
}
