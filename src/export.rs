//! Exports of a transcript: pure functions from `Transcript` to text (TXT, SRT, WebVTT,
//! JSON, RTTM). They never change the transcript and never touch files.

use crate::transcript::{Segment, Transcript};
use crate::util::timestamp;
use anyhow::bail;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Txt,
    Srt,
    Vtt,
    Rttm,
}

impl Format {
    pub fn parse_list(s: &str) -> anyhow::Result<Vec<Format>> {
        let mut out = Vec::new();
        for f in s.split(',').map(str::trim).filter(|f| !f.is_empty()) {
            out.push(match f {
                "json" => Format::Json,
                "txt" => Format::Txt,
                "srt" => Format::Srt,
                "vtt" => Format::Vtt,
                "rttm" => Format::Rttm,
                _ => bail!("unknown output format '{f}' (json, txt, srt, vtt, rttm)"),
            });
        }
        if out.is_empty() {
            bail!("no output format given");
        }
        Ok(out)
    }
    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Txt => "txt",
            Format::Srt => "srt",
            Format::Vtt => "vtt",
            Format::Rttm => "rttm",
        }
    }
}

pub fn render(t: &Transcript, f: Format) -> anyhow::Result<String> {
    Ok(match f {
        Format::Json => serde_json::to_string_pretty(t)? + "\n",
        Format::Txt => to_txt(t),
        Format::Srt => to_srt(t),
        Format::Vtt => to_vtt(t),
        Format::Rttm => {
            // Diarization that ran and heard nobody (silence) gives an empty RTTM.
            if t.turns.is_empty() && t.model.speaker_encoder.is_none() {
                bail!("RTTM needs speakers: transcribe with --diarize");
            }
            crate::diarize::to_rttm(t)
        }
    })
}

fn speaker_prefix(t: &Transcript, s: &Segment) -> String {
    match &s.speaker {
        Some(id) => format!("[{}] ", t.speaker_display(id)),
        None => String::new(),
    }
}

/// Plain text: one line per segment; with speakers, a new paragraph at each change of speaker.
pub fn to_txt(t: &Transcript) -> String {
    let mut out = String::new();
    let mut last: Option<&str> = None;
    for s in &t.segments {
        match &s.speaker {
            Some(id) if last != Some(id.as_str()) => {
                if last.is_some() {
                    out.push('\n');
                }
                out.push_str(&format!("[{}] {}\n", t.speaker_display(id), s.text));
                last = Some(id);
            }
            _ => {
                out.push_str(&s.text);
                out.push('\n');
            }
        }
    }
    out
}

pub fn to_srt(t: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in t.segments.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}{}\n\n",
            i + 1,
            timestamp(s.start, ','),
            timestamp(s.end, ','),
            speaker_prefix(t, s),
            s.text
        ));
    }
    out
}

pub fn to_vtt(t: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in &t.segments {
        let text = match &s.speaker {
            Some(id) => format!("<v {}>{}", t.speaker_display(id), s.text),
            None => s.text.clone(),
        };
        out.push_str(&format!(
            "{} --> {}\n{}\n\n",
            timestamp(s.start, '.'),
            timestamp(s.end, '.'),
            text
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transcript::*;

    fn sample() -> Transcript {
        Transcript {
            schema_version: SCHEMA_VERSION,
            source: Source::default(),
            language: "ja".into(),
            model: ModelInfo::default(),
            created_at: String::new(),
            speech: vec![],
            segments: vec![
                Segment {
                    id: 0,
                    start: 1.0,
                    end: 2.5,
                    text: "開会します。".into(),
                    words: vec![],
                    speaker: Some("S1".into()),
                    avg_logprob: 0.0,
                    no_speech_prob: 0.0,
                    temperature: 0.0,
                },
                Segment {
                    id: 1,
                    start: 3.0,
                    end: 4.0,
                    text: "はい。".into(),
                    words: vec![],
                    speaker: Some("S2".into()),
                    avg_logprob: 0.0,
                    no_speech_prob: 0.0,
                    temperature: 0.0,
                },
            ],
            speakers: vec![
                Speaker {
                    id: "S1".into(),
                    label: "話者1".into(),
                    name: Some("山田太郎".into()),
                    role: Some("議長".into()),
                },
                Speaker {
                    id: "S2".into(),
                    label: "話者2".into(),
                    name: None,
                    role: None,
                },
            ],
            turns: vec![],
        }
    }

    #[test]
    fn rttm_needs_diarization_but_not_speech() {
        let mut t = sample();
        assert!(render(&t, Format::Rttm).is_err(), "no diarization: refused");
        // Diarization ran and heard nobody (a silent clip): an empty RTTM, no error.
        t.model.speaker_encoder = Some("speaker-encoder-campplus.safetensors".into());
        assert_eq!(render(&t, Format::Rttm).unwrap(), "");
    }

    #[test]
    fn renders_subtitles_with_speakers() {
        let t = sample();
        assert_eq!(to_srt(&t), "1\n00:00:01,000 --> 00:00:02,500\n[山田太郎] 開会します。\n\n2\n00:00:03,000 --> 00:00:04,000\n[話者2] はい。\n\n");
        assert!(to_vtt(&t)
            .starts_with("WEBVTT\n\n00:00:01.000 --> 00:00:02.500\n<v 山田太郎>開会します。"));
        assert_eq!(to_txt(&t), "[山田太郎] 開会します。\n\n[話者2] はい。\n");
        assert!(render(&t, Format::Rttm).is_err());
        assert!(Format::parse_list("json,pdf").is_err());
    }
}
