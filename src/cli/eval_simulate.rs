//! `gijiroku eval simulate <eval dir> <out dir>`: simulated meetings with exact RTTMs from
//! the real single-speaker speech of ../shared/eval (see `eval::simulate`), for `eval der`.

use super::Globals;
use anyhow::{bail, Context};
use gijiroku::eval::simulate::{self, SimOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The evaluation folder (../shared/eval: asr_en, asr_ja, diarization).
    source: PathBuf,
    /// Where to write dev/, heldout/, long/ and speakers.tsv (outside git: /tmp or target/).
    out: PathBuf,
    /// Seed of everything random (same seed and sources: same files).
    #[arg(long, default_value_t = 16)]
    seed: u64,
    /// Meetings in each half.
    #[arg(long, default_value_t = 24)]
    meetings: usize,
    /// Length of the long meeting built from the dev meetings (seconds; 0: none).
    #[arg(long, default_value_t = 1500.0)]
    long_seconds: f64,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if a.meetings == 0 || a.meetings > 1000 {
        bail!("--meetings must be 1–1000");
    }
    if !(0.0..=36_000.0).contains(&a.long_seconds) {
        bail!("--long-seconds must be 0–36000");
    }
    let opts = SimOptions {
        seed: a.seed,
        meetings: a.meetings,
        long_seconds: a.long_seconds,
        ..SimOptions::default()
    };
    let sources = simulate::load_sources(&a.source)?;
    let (dev, held) = simulate::split_speakers(sources, a.seed);
    let mut tsv = String::from("speaker\tsplit\tgroup\tunits\tseconds\n");
    for (split, v) in [("dev", &dev), ("heldout", &held)] {
        for s in v.iter() {
            tsv.push_str(&format!(
                "{}\t{split}\t{}\t{}\t{:.1}\n",
                s.id,
                s.group,
                s.units.len(),
                s.seconds()
            ));
        }
    }
    std::fs::create_dir_all(&a.out)
        .with_context(|| format!("cannot create {}", a.out.display()))?;
    gijiroku::util::write_atomic(&a.out.join("speakers.tsv"), tsv.as_bytes())?;
    let (dm, hm) = simulate::simulate(&dev, &held, &opts);
    let mut summary = Vec::new();
    for (split, ms) in [("dev", &dm), ("heldout", &hm)] {
        let dir = a.out.join(split);
        for m in ms.iter() {
            simulate::write_meeting(&dir, m)?;
            summary.push((
                split,
                m.name.clone(),
                m.samples.len() as f64 / 16_000.0,
                m.speakers.len(),
                m.overlap_seconds(),
                m.rt60,
            ));
        }
    }
    if opts.long_seconds > 0.0 {
        let long = simulate::long_meeting(&dm, &opts);
        simulate::write_meeting(&a.out.join("long"), &long)?;
        summary.push((
            "long",
            long.name.clone(),
            long.samples.len() as f64 / 16_000.0,
            long.speakers.len(),
            long.overlap_seconds(),
            f64::NAN,
        ));
    }
    if !g.quiet {
        println!(
            "{} source speakers: {} dev, {} held-out (list in {})",
            dev.len() + held.len(),
            dev.len(),
            held.len(),
            a.out.join("speakers.tsv").display()
        );
        for split in ["dev", "heldout", "long"] {
            let rows: Vec<_> = summary.iter().filter(|r| r.0 == split).collect();
            if rows.is_empty() {
                continue;
            }
            let secs: f64 = rows.iter().map(|r| r.2).sum();
            let ov: f64 = rows.iter().map(|r| r.4).sum();
            let spk: usize = rows.iter().map(|r| r.3).sum();
            println!(
                "{split}: {} files, {secs:.0} s, {:.1} speakers a file, {ov:.0} s of overlapped speech ({:.1} %) → {}",
                rows.len(),
                spk as f64 / rows.len() as f64,
                100.0 * ov / secs.max(1e-9),
                a.out.join(split).display()
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
