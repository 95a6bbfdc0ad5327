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

/// Text Whisper writes on silence and noise, learnt from subtitled videos (YouTube outros,
/// subtitle credits). Compared after `phrase_key`; a segment made only of these (repeated or
/// not) is suspect, and dropped when its audio does not look like speech (`speechless`).
const SILENCE_PHRASES: &[&str] = &[
    // ja
    "ご視聴ありがとうございました",
    "ご視聴ありがとうございます",
    "最後までご視聴いただきありがとうございます",
    "最後までご視聴いただきありがとうございました",
    "ご覧いただきありがとうございます",
    "ご覧いただきありがとうございました",
    "チャンネル登録をお願いします",
    "チャンネル登録よろしくお願いします",
    "チャンネル登録お願いします",
    "高評価とチャンネル登録をお願いします",
    "ありがとうございました",
    "おやすみなさい",
    "字幕",
    "音楽",
    // en
    "you",
    "thankyou",
    "thankyouverymuch",
    "thanks",
    "thanksforwatching",
    "thankyouforwatching",
    "pleasesubscribe",
    "likeandsubscribe",
    "subscribetomychannel",
    "bye",
    "byebye",
    "subtitlesbytheamaraorgcommunity",
    // zh, ko, de, fr, es, pt, ru
    "字幕由amaraorg社区提供",
    "请不吝点赞订阅转发打赏支持明镜与点点栏目",
    "谢谢观看",
    "谢谢大家",
    "시청해주셔서감사합니다",
    "구독과좋아요부탁드립니다",
    "untertitelderamaraorgcommunity",
    "untertitelimauftragdeszdf",
    "vielendankfürszuschauen",
    "soustitresréalisésparlacommunautédamaraorg",
    "merci",
    "mercidavoirregardé",
    "subtítulosrealizadosporlacomunidaddeamaraorg",
    "graciasporver",
    "gracias",
    "obrigado",
    "спасибо",
    "продолжениеследует",
];

/// Letters and digits only, lowercased: "Thank you." and "ご視聴ありがとうございました!" meet
/// their list entries whatever the punctuation, width of spaces or case.
fn phrase_key(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(|c| c.to_lowercase())
        .collect()
}

/// Whether the text is nothing but silence phrases ("You", "You you you", "ご視聴…。チャンネル
/// 登録を…"). Greedy from the left, longest phrase first, so "thankyou" is not split badly.
pub fn is_silence_phrase(text: &str) -> bool {
    let mut rest = phrase_key(text);
    if rest.is_empty() {
        // Only punctuation or symbols ("♪", "…"): nothing anyone said.
        return !text.trim().is_empty();
    }
    let mut phrases: Vec<String> = SILENCE_PHRASES.iter().map(|p| phrase_key(p)).collect();
    phrases.sort_by_key(|p| std::cmp::Reverse(p.len()));
    'outer: while !rest.is_empty() {
        for p in &phrases {
            if let Some(r) = rest.strip_prefix(p.as_str()) {
                rest = r.to_string();
                continue 'outer;
            }
        }
        return false;
    }
    true
}

/// How the audio under a segment looks, from the energies of its 20 ms frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpanLevel {
    /// 95th percentile of the frame energies, dBFS (the loud part: speech peaks).
    pub peak_db: f32,
    /// 95th minus 10th percentile, dB: speech rises and falls with its syllables (15–65 dB
    /// over real clips), steady noise, hum and silence hardly move (0–7 dB).
    pub spread_db: f32,
}

const FRAME: usize = 320;

pub fn span_level(samples: &[f32]) -> Option<SpanLevel> {
    let mut db: Vec<f32> = samples
        .chunks_exact(FRAME)
        .map(|c| {
            let e = c.iter().map(|x| x * x).sum::<f32>() / FRAME as f32;
            10.0 * (e + 1e-12).log10()
        })
        .collect();
    if db.is_empty() {
        return None;
    }
    db.sort_by(f32::total_cmp);
    let q = |f: f32| db[((db.len() - 1) as f32 * f) as usize];
    Some(SpanLevel {
        peak_db: q(0.95),
        spread_db: q(0.95) - q(0.10),
    })
}

/// Below this the span is silence for any microphone (about 1/3000 of full scale; the
/// quietest real speech in the eval set peaks near -45 dBFS).
const SILENT_PEAK_DB: f32 = -70.0;
/// Steadier than this is noise whatever Whisper wrote (white noise and hum measure 0–1 dB;
/// speech under noise keeps several dB of syllable rhythm).
const STEADY_ANY_DB: f32 = 4.0;
/// Steadier than this, a silence phrase is taken for what it is (brown noise measures 6 dB;
/// the steadiest real speech clip 15.6 dB). Chosen on synthetic noise and the even-numbered
/// clips of the eval set; see the Reliability notes.
const STEADY_PHRASE_DB: f32 = 10.0;

/// Whether the audio of a segment shows nobody speaking, and why (for the log).
fn speechless(level: Option<SpanLevel>, phrase: bool) -> Option<&'static str> {
    let l = level?;
    if l.peak_db < SILENT_PEAK_DB {
        Some("silence")
    } else if l.spread_db < STEADY_ANY_DB {
        Some("steady noise")
    } else if phrase && l.spread_db < STEADY_PHRASE_DB {
        Some("a silence phrase over steady noise")
    } else {
        None
    }
}

/// The chunk's samples under a segment (times relative to the chunk). Whisper's times for
/// invented text are loose, so a span under a second is widened to one second around it.
fn span<'a>(s: &Segment, samples: &'a [f32]) -> &'a [f32] {
    const SR: f64 = 16_000.0;
    let (mut a, mut b) = (s.start.max(0.0), s.end.max(0.0));
    if b - a < 1.0 {
        let mid = (a + b) / 2.0;
        a = (mid - 0.5).max(0.0);
        b = a + 1.0;
    }
    let a = ((a * SR) as usize).min(samples.len());
    let b = ((b * SR) as usize).clamp(a, samples.len());
    if b - a < FRAME {
        // Times past the audio: judge the whole chunk.
        samples
    } else {
        &samples[a..b]
    }
}

/// Drops text invented where nobody speaks: whisper's own signal (high no-speech probability
/// with low confidence, faster-whisper's rule), and — because whisper.cpp's no-speech
/// probability stays near 0 on noise (measured: 1e-5 on white noise, hum and silence) — the
/// audio under the segment: silent, steady noise, or a known silence phrase over audio
/// without the rise and fall of syllables.
pub fn drop_hallucinations(segments: Vec<Segment>, samples: &[f32]) -> Vec<Segment> {
    segments
        .into_iter()
        .filter(|s| {
            let why = if s.no_speech_prob > NO_SPEECH_MIN && s.avg_logprob < LOGPROB_MAX_FOR_SILENCE
            {
                Some("no-speech probability")
            } else {
                speechless(span_level(span(s, samples)), is_silence_phrase(&s.text))
            };
            if let Some(why) = why {
                tracing::debug!("dropping segment invented on {why}: {:?}", s.text);
            }
            why.is_none()
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

    fn seg(text: &str, start: f64, end: f64) -> Segment {
        Segment {
            id: 0,
            start,
            end,
            text: text.into(),
            words: vec![],
            speaker: None,
            avg_logprob: -0.3,
            no_speech_prob: 0.0,
            temperature: 0.0,
        }
    }

    /// A deterministic noise source (no rand dependency for one test).
    fn noise(n: usize, amp: f32) -> Vec<f32> {
        let mut x: u32 = 12345;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                (x as f32 / u32::MAX as f32 * 2.0 - 1.0) * amp
            })
            .collect()
    }

    #[test]
    fn knows_silence_phrases_not_speech() {
        for t in [
            "ご視聴ありがとうございました!",
            "チャンネル登録をお願いします!",
            "You",
            "you you you you",
            " Thank you. ",
            "Thanks for watching!",
            "♪",
        ] {
            assert!(is_silence_phrase(t), "{t}");
        }
        for t in [
            "ありがとうございました。次に議案第3号",
            "Thank you, Madam Chair.",
            "young",
            "",
        ] {
            assert!(!is_silence_phrase(t), "{t}");
        }
    }

    #[test]
    fn drops_text_on_silence_and_noise_keeps_it_on_syllables() {
        let sr = 16_000;
        let silence = vec![0f32; 5 * sr];
        let white = noise(5 * sr, 0.1);
        // Noise switched on and off 4 times a second: the rhythm of syllables.
        let bursts: Vec<f32> = noise(5 * sr, 0.3)
            .into_iter()
            .enumerate()
            .map(|(i, v)| if (i / 2000) % 2 == 0 { v } else { v * 0.01 })
            .collect();
        let phrase = || vec![seg("ご視聴ありがとうございました", 0.0, 5.0)];
        let words = || vec![seg("本日の会議を開きます", 0.0, 5.0)];
        assert!(drop_hallucinations(phrase(), &silence).is_empty());
        assert!(drop_hallucinations(words(), &silence).is_empty());
        assert!(drop_hallucinations(phrase(), &white).is_empty());
        assert!(drop_hallucinations(words(), &white).is_empty());
        assert_eq!(drop_hallucinations(phrase(), &bursts).len(), 1);
        assert_eq!(drop_hallucinations(words(), &bursts).len(), 1);
        // Times past the end of the chunk: the whole chunk is judged.
        assert!(drop_hallucinations(vec![seg("You", 9.0, 11.0)], &white).is_empty());
    }
}
