//! `gijiroku serve`: the web app (see src/server/API.md).
use super::Globals;
use anyhow::Context;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Address to listen on. Keep 127.0.0.1 unless HTTPS is on (--tls-cert) or a reverse proxy
    /// with HTTPS stands in front.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: std::net::SocketAddr,
    /// Serve HTTPS with this certificate chain (PEM; the council's own CA or a self-signed one).
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<std::path::PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<std::path::PathBuf>,
    /// Largest recording accepted for upload, e.g. 4G, 500M.
    #[arg(long, default_value = "8G")]
    max_upload: String,
    /// CPU threads for Whisper in the job worker (default: all cores).
    #[arg(short = 't', long)]
    threads: Option<usize>,
    /// The council's style file for every minutes draft ([conventions] set once, e.g.
    /// examples/style-shinagawa.toml), as `gijiroku minutes --style`.
    #[arg(long, value_name = "FILE")]
    minutes_style: Option<std::path::PathBuf>,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    let max_upload = parse_size(&a.max_upload).with_context(|| {
        format!(
            "--max-upload {:?} is not a size like 4G or 500M",
            a.max_upload
        )
    })?;
    if let Some(t) = a.threads {
        if t == 0 || t > 256 {
            anyhow::bail!("--threads must be from 1 to 256");
        }
    }
    // Read before anything listens: a misspelt key is one error line, not a failed job later.
    let minutes_style = a
        .minutes_style
        .as_deref()
        .map(gijiroku::minutes::Style::load)
        .transpose()?;
    gijiroku::server::run(gijiroku::server::ServeOptions {
        addr: a.addr,
        data: g.data.clone(),
        models_dir: g.models_dir.clone(),
        max_upload,
        threads: a.threads,
        key_file: g.key_file.clone(),
        tls: a
            .tls_cert
            .zip(a.tls_key)
            .map(|(cert, key)| gijiroku::server::TlsFiles { cert, key }),
        minutes_style,
    })?;
    Ok(ExitCode::SUCCESS)
}

/// `8G`, `500M`, `1024K` or plain bytes.
fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()?.to_ascii_uppercase() {
        'G' => (&s[..s.len() - 1], 1u64 << 30),
        'M' => (&s[..s.len() - 1], 1 << 20),
        'K' => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1),
    };
    let n: f64 = num.trim().parse().ok()?;
    (n.is_finite() && n > 0.0).then_some((n * mult as f64) as u64)
}
