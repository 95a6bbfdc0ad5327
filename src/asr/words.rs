//! Tokens → words with times. Languages written with spaces start a word at a token that
//! begins with a space; Japanese, Chinese, Thai... make a word of each token, merged until the
//! bytes form whole characters (one kanji can span two tokens).

use crate::transcript::Word;

#[derive(Debug, Clone)]
pub struct Token {
    pub bytes: Vec<u8>,
    pub p: f32,
    pub plog: f32,
    /// Timestamp-token times (coarse), seconds from the chunk start.
    pub t0: f64,
    pub t1: f64,
    /// DTW start time when the model's alignment heads are known.
    pub t_dtw: Option<f64>,
}

struct Building {
    bytes: Vec<u8>,
    probs: Vec<f32>,
    start: f64,
    end: f64,
}

fn is_punctuation(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && t.chars().all(|c| !c.is_alphanumeric())
}

pub fn group(tokens: &[Token], language: &str, seg_start: f64, seg_end: f64) -> Vec<Word> {
    let spaced = crate::transcript::uses_spaces(language);
    let mut out: Vec<Building> = Vec::new();
    let mut pending: Vec<u8> = Vec::new(); // bytes of an unfinished character
    let mut pending_probs: Vec<f32> = Vec::new();
    let mut pending_start: Option<f64> = None;
    for t in tokens {
        let start = t.t_dtw.unwrap_or(t.t0);
        if pending.is_empty() {
            pending_start = Some(start);
        }
        pending.extend_from_slice(&t.bytes);
        pending_probs.push(t.p);
        if std::str::from_utf8(&pending).is_err() && pending.len() < 16 {
            continue; // wait for the rest of the character
        }
        let text = String::from_utf8_lossy(&pending).into_owned();
        let begin = pending_start.take().unwrap_or(start);
        let new_word = out.is_empty()
            || if spaced {
                text.starts_with(' ') && !is_punctuation(&text)
            } else {
                !is_punctuation(&text)
            };
        if new_word {
            out.push(Building {
                bytes: std::mem::take(&mut pending),
                probs: std::mem::take(&mut pending_probs),
                start: begin,
                end: t.t1,
            });
        } else if let Some(last) = out.last_mut() {
            last.bytes.append(&mut pending);
            last.probs.append(&mut pending_probs);
            last.end = t.t1;
        }
    }
    if !pending.is_empty() {
        if let Some(last) = out.last_mut() {
            last.bytes.append(&mut pending);
            last.probs.append(&mut pending_probs);
        }
    }
    // Times: a word ends where the next begins (DTW gives starts only); keep them ordered
    // and inside the segment.
    let n = out.len();
    let starts: Vec<f64> = out.iter().map(|w| w.start).collect();
    let mut words = Vec::with_capacity(n);
    let mut prev_end = seg_start;
    for (i, w) in out.into_iter().enumerate() {
        let start = w.start.clamp(prev_end, seg_end);
        let mut end = if i + 1 < n {
            starts[i + 1]
        } else {
            seg_end.max(w.end.min(seg_end))
        };
        end = end.clamp(start, seg_end);
        prev_end = start;
        let p = if w.probs.is_empty() {
            0.0
        } else {
            w.probs.iter().sum::<f32>() / w.probs.len() as f32
        };
        words.push(Word {
            start,
            end,
            text: String::from_utf8_lossy(&w.bytes).into_owned(),
            probability: p,
            speaker: None,
        });
    }
    words
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tok(s: &[u8], t: f64) -> Token {
        Token {
            bytes: s.to_vec(),
            p: 0.9,
            plog: -0.1,
            t0: t,
            t1: t + 0.1,
            t_dtw: Some(t),
        }
    }

    #[test]
    fn english_words_start_at_spaces_and_keep_punctuation() {
        let toks = [
            tok(b" And", 0.0),
            tok(b" so", 0.5),
            tok(b" my", 0.8),
            tok(b" fel", 1.0),
            tok(b"low", 1.2),
            tok(b",", 1.4),
        ];
        let w = group(&toks, "en", 0.0, 2.0);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, vec![" And", " so", " my", " fellow,"]);
        assert_eq!(w[3].start, 1.0);
        assert_eq!(w[3].end, 2.0);
        assert_eq!(w[0].end, 0.5);
    }

    #[test]
    fn japanese_characters_split_across_tokens_are_joined() {
        let kan = "議".as_bytes(); // 3 bytes, split 2 + 1 across tokens
        let toks = [
            tok(&kan[..2], 0.0),
            tok(&kan[2..], 0.1),
            tok("会".as_bytes(), 0.4),
            tok("。".as_bytes(), 0.6),
        ];
        let w = group(&toks, "ja", 0.0, 1.0);
        let texts: Vec<&str> = w.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, vec!["議", "会。"]);
        assert_eq!(w[0].start, 0.0);
        assert_eq!(w[1].start, 0.4);
    }
}
