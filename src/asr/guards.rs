//! Guards against Whisper's well-known failures, after faster-whisper: repetition loops
//! (a high gzip compression ratio or the same n-gram many times in a row) and text
//! hallucinated where nobody speaks (high no-speech probability with low confidence).

use crate::transcript::Segment;
use std::io::Write;

/// faster-whisper's thresholds.
const COMPRESSION_RATIO_MAX: f64 = 2.4;
const NO_SPEECH_MIN: f32 = 0.6;
const LOGPROB_MAX_FOR_SILENCE: f32 = -1.0;

/// gzip ratio of the text: loops compress far better than speech.
pub fn compression_ratio(text: &str) -> f64 {
    if text.is_empty() {
        return 0.0;
    }
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = e.write_all(text.as_bytes());
    let z = e.finish().unwrap_or_default();
    text.len() as f64 / z.len().max(1) as f64
}

/// Where a unit of 1–15 characters starts repeating itself at least `min_repeats` times in a
/// row, covering at least 24 characters: the start of the loop's second copy.
pub fn repetition_start(text: &str) -> Option<usize> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    for unit in 1..=15usize {
        let min_repeats = if unit == 1 { 12 } else { 4 };
        let mut i = 0;
        while i + unit * min_repeats <= n {
            let mut reps = 1;
            while i + unit * (reps + 1) <= n
                && chars[i..i + unit] == chars[i + unit * reps..i + unit * (reps + 1)]
            {
                reps += 1;
            }
            if reps >= min_repeats
                && unit * reps >= 24
                && !chars[i..i + unit].iter().all(|c| c.is_whitespace())
            {
                return Some(i + unit);
            }
            i += 1;
        }
    }
    None
}

pub fn looks_broken(segments: &[Segment]) -> bool {
    let text: String = segments
        .iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    text.chars().count() > 20
        && (compression_ratio(&text) > COMPRESSION_RATIO_MAX || repetition_start(&text).is_some())
}

/// Last resort when re-decoding did not help: keep each segment up to the first copy of its
/// loop, and drop segments that only repeat the one before.
pub fn cut_repetitions(segments: Vec<Segment>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    for mut s in segments {
        if let Some(cut) = repetition_start(&s.text) {
            s.text = s.text.chars().take(cut).collect();
            let keep = s.text.chars().count();
            let mut seen = 0;
            s.words.retain(|w| {
                seen += w.text.chars().count();
                seen <= keep + 1
            });
        }
        if out.last().is_some_and(|p: &Segment| p.text == s.text) {
            continue;
        }
        out.push(s);
    }
    out
}

pub fn drop_hallucinations(segments: Vec<Segment>) -> Vec<Segment> {
    segments
        .into_iter()
        .filter(|s| {
            let silent =
                s.no_speech_prob > NO_SPEECH_MIN && s.avg_logprob < LOGPROB_MAX_FOR_SILENCE;
            if silent {
                tracing::debug!(
                    "dropping segment probably hallucinated on silence: {:?}",
                    s.text
                );
            }
            !silent
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_loops_not_speech() {
        let speech = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country.";
        assert_eq!(repetition_start(speech), None);
        assert!(compression_ratio(speech) < COMPRESSION_RATIO_MAX);
        let jloop = "本日の会議を開きます。ありがとうございます。ありがとうございます。ありがとうございます。ありがとうございます。ありがとうございます。";
        assert!(repetition_start(jloop).is_some());
        let eloop = "thank you thank you thank you thank you thank you thank you";
        assert!(repetition_start(eloop).is_some());
    }

    #[test]
    fn cuts_a_loop_after_its_first_copy() {
        let s = Segment {
            id: 0,
            start: 0.0,
            end: 5.0,
            text: "はい。はい。はい。はい。はい。はい。はい。はい。はい。はい。はい。はい。はい。"
                .into(),
            words: vec![],
            speaker: None,
            avg_logprob: -0.2,
            no_speech_prob: 0.0,
            temperature: 0.0,
        };
        let out = cut_repetitions(vec![s]);
        assert_eq!(out[0].text, "はい。");
    }
}
