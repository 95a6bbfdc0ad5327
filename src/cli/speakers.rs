//! `gijiroku speakers …`: enrolled voiceprints, and renaming speakers in a transcript.

use super::Globals;
use anyhow::{bail, Context};
use gijiroku::diarize::{self, voiceprint, SpeakerEncoder, VoiceprintStore};
use gijiroku::Transcript;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Enroll a person from one or more recordings of their voice alone (replaces an earlier
    /// voiceprint of the same name). Stored in <data>/voiceprints.json, never sent anywhere.
    Enroll {
        /// The person's name as minutes print it, e.g. 山田太郎.
        name: String,
        /// Role, e.g. 議長, 委員, 相談員.
        #[arg(long)]
        role: Option<String>,
        /// Recordings of this person speaking (any length ≥ 1 s; 10–60 s is best).
        #[arg(required = true)]
        audio: Vec<PathBuf>,
    },
    /// List enrolled people.
    List,
    /// Forget an enrolled person.
    Remove { name: String },
    /// Rename a speaker in a finished transcript JSON (e.g. 話者3 佐藤花子); every turn,
    /// segment and word follows. The file is rewritten atomically.
    Rename {
        transcript: PathBuf,
        /// Speaker id (S3), label (話者3 / "Speaker 3") or current name.
        speaker: String,
        new_name: String,
    },
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match c {
        Command::Enroll { name, role, audio } => {
            let encoder = SpeakerEncoder::from_models_dir(&g.models_dir)?;
            let mut clips = Vec::new();
            let mut seconds = 0.0;
            for p in &audio {
                let s = read_start(p, ENROLL_MAX_SECONDS)
                    .with_context(|| format!("cannot read {}", p.display()))?;
                if s.is_empty() {
                    bail!("{} holds no audio", p.display());
                }
                seconds += s.len() as f64 / 16_000.0;
                let label = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                clips.push((label, s));
            }
            let pb = gijiroku::progress::spinner(format!("enrolling {name} ({seconds:.0} s)"));
            let v = voiceprint::enroll(&encoder, &name, role.as_deref(), &clips);
            pb.finish_and_clear();
            let v = v?;
            let mut store = VoiceprintStore::open(&g.data)?;
            let replaced = store.get(&v.name).is_some();
            let (n, secs, cons) = (v.name.clone(), v.seconds, v.consistency);
            store.upsert(v);
            store.save()?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&store.get(&n))?);
            } else {
                println!(
                    "{} {n}: {secs:.1} s of speech, consistency {cons:.2} → {}",
                    if replaced { "re-enrolled" } else { "enrolled" },
                    VoiceprintStore::path_in(&g.data).display()
                );
                if cons < 0.75 {
                    println!("note: the voice varies a lot across these clips; make sure they hold {n} alone");
                }
                if secs < 5.0 {
                    println!(
                        "note: under 5 s of speech; recognition is more reliable with 10 s or more"
                    );
                }
            }
        }
        Command::List => {
            let store = VoiceprintStore::open(&g.data)?;
            if g.json {
                let rows: Vec<_> = store
                    .speakers
                    .iter()
                    .map(|v| {
                        serde_json::json!({"name": v.name, "role": v.role, "seconds": v.seconds,
                            "consistency": v.consistency, "sources": v.sources, "enrolled_at": v.enrolled_at})
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if store.speakers.is_empty() {
                println!(
                    "no enrolled speakers (enroll one with `gijiroku speakers enroll NAME --role ROLE <audio>`)"
                );
            } else {
                println!(
                    "{} {} {:>7} {:>6}  ENROLLED",
                    pad("NAME", 20),
                    pad("ROLE", 10),
                    "SPEECH",
                    "CONS"
                );
                for v in &store.speakers {
                    println!(
                        "{} {} {:>6.1}s {:>6.2}  {}",
                        pad(&v.name, 20),
                        pad(v.role.as_deref().unwrap_or("-"), 10),
                        v.seconds,
                        v.consistency,
                        v.enrolled_at.get(..10).unwrap_or(&v.enrolled_at)
                    );
                }
            }
        }
        Command::Remove { name } => {
            let mut store = VoiceprintStore::open(&g.data)?;
            if !store.remove(&name) {
                bail!("no enrolled speaker named '{name}' (see `gijiroku speakers list`)");
            }
            store.save()?;
            if !g.quiet {
                println!("removed {name}");
            }
        }
        Command::Rename {
            transcript,
            speaker,
            new_name,
        } => {
            let mut t = Transcript::load(&transcript)?;
            if t.speakers.is_empty() {
                bail!(
                    "{} has no speakers (transcribe with --diarize first)",
                    transcript.display()
                );
            }
            let id = diarize::rename_speaker(&mut t, &speaker, &new_name)?;
            t.save(&transcript)?;
            let turns = t.turns.iter().filter(|x| x.speaker == id).count();
            if !g.quiet {
                println!("{speaker} ({id}) → {new_name} in {turns} turns");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Pads to a column width in terminal cells (kanji and kana take two).
fn pad(s: &str, width: usize) -> String {
    let w = unicode_width::UnicodeWidthStr::width(s);
    format!("{s}{}", " ".repeat(width.saturating_sub(w)))
}

/// A voiceprint settles within a minute of speech; longer recordings are read only this far
/// (streamed, so a whole meeting given by mistake costs neither minutes nor gigabytes).
const ENROLL_MAX_SECONDS: f64 = 600.0;

/// The first `max_seconds` of a recording as 16 kHz mono.
fn read_start(path: &std::path::Path, max_seconds: f64) -> anyhow::Result<Vec<f32>> {
    let mut d = gijiroku::audio::Decoder16k::open(path)?;
    let max = (max_seconds * 16_000.0) as usize;
    let mut out = Vec::new();
    while let Some(b) = d.next_block()? {
        let room = max - out.len();
        out.extend_from_slice(&b[..b.len().min(room)]);
        if out.len() >= max {
            tracing::info!(
                "{}: enrolling from its first {max_seconds:.0} s",
                path.display()
            );
            break;
        }
    }
    Ok(out)
}
