use super::Globals;
use anyhow::bail;
use gijiroku::models::{self, Quantization};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Convert and install models: a CTranslate2 Whisper folder (faster-whisper layout; give
    /// every folder holding a model.bin.partN of a split model), a Silero VAD .safetensors, or a
    /// ready whisper.cpp ggml file.
    Import {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Name of the installed model (default: from its architecture, e.g. whisper-base).
        #[arg(long)]
        name: Option<String>,
        /// Weight-matrix type: q8_0, q5_1 or bf16 (default f16). The default name gets the
        /// type as suffix (whisper-base-q8_0).
        #[arg(long, alias = "quant", value_parser = parse_quant)]
        quantize: Option<Quantization>,
    },
    /// List installed models: name, size, languages, type.
    List,
}

fn parse_quant(s: &str) -> Result<Quantization, String> {
    match s {
        "q8_0" => Ok(Quantization::Q8_0),
        "q5_1" => Ok(Quantization::Q5_1),
        "bf16" => Ok(Quantization::Bf16),
        _ => Err(format!("unknown quantization '{s}' (q8_0, q5_1 or bf16)")),
    }
}

pub fn run(c: Command, g: &Globals) -> anyhow::Result<ExitCode> {
    match c {
        Command::Import {
            paths,
            name,
            quantize,
        } => {
            let done = models::import(&paths, &g.models_dir, name.as_deref(), quantize)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&done)?);
            } else {
                for m in &done {
                    println!(
                        "imported {} → {} ({:.1} MB)",
                        m.name,
                        m.path.display(),
                        m.size as f64 / 1e6
                    );
                }
            }
        }
        Command::List => {
            let all = models::list(&g.models_dir)?;
            if g.json {
                println!("{}", serde_json::to_string_pretty(&all)?);
            } else if all.is_empty() {
                bail!(
                    "no models in {}: run scripts/setup.sh or `gijiroku models import`",
                    g.models_dir.display()
                );
            } else {
                println!(
                    "{:<28} {:>9}  {:<13} {:<20} DESCRIPTION",
                    "NAME", "SIZE", "LANGUAGES", "TYPE"
                );
                for m in all {
                    let kind = serde_json::to_value(m.kind)?
                        .as_str()
                        .unwrap_or("")
                        .to_string();
                    println!(
                        "{:<28} {:>7.1}MB  {:<13} {:<20} {}",
                        m.name,
                        m.size as f64 / 1e6,
                        m.languages,
                        kind,
                        m.description
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
