use super::Globals;
use gijiroku::search::bench::{run as bench, BenchOptions};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of real minutes text files to replicate.
    #[arg(long, default_value = "../shared/eval/minutes")]
    minutes: PathBuf,
    /// Number of turns to index.
    #[arg(long, default_value_t = 2_000_000)]
    turns: usize,
    /// Number of queries to time.
    #[arg(long, default_value_t = 300)]
    queries: usize,
    /// Indexing threads.
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Indexing buffer in MB (all threads together).
    #[arg(long, default_value_t = 512)]
    heap_mb: usize,
    /// Index folder (deleted and rebuilt; default: <data>/bench-index).
    #[arg(long)]
    index: Option<PathBuf>,
    /// Only time queries, on the index left by a previous run.
    #[arg(long)]
    reuse: bool,
    /// Measure estimated counts: quoted phrases stop after N matches (top hits from those,
    /// count scaled up) and are compared with the exact search. Searches stay exact.
    #[arg(long, value_name = "N")]
    estimate_over: Option<usize>,
}

pub fn run(a: Args, g: &Globals) -> anyhow::Result<ExitCode> {
    if a.turns == 0 || a.queries == 0 {
        anyhow::bail!("--turns and --queries must be at least 1");
    }
    if a.heap_mb < 16 * a.threads.max(1) {
        anyhow::bail!("--heap-mb must be at least 16 per thread");
    }
    let opts = BenchOptions {
        minutes: a.minutes,
        index_dir: a.index.unwrap_or_else(|| g.data.join("bench-index")),
        dict_dir: gijiroku::search::japanese::dictionary_dir(&g.data),
        turns: a.turns,
        queries: a.queries,
        threads: a.threads,
        heap: a.heap_mb << 20,
        reuse: a.reuse,
        estimate_over: a.estimate_over,
    };
    if opts.estimate_over == Some(0) {
        anyhow::bail!("--estimate-over must be at least 1");
    }
    let r = bench(&opts)?;
    if g.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("index folder       {}", opts.index_dir.display());
    if opts.reuse && r.index_seconds == 0.0 {
        println!("reused index       {} turns", r.turns);
    } else {
        println!(
            "indexed            {} turns ({:.0} MB of text) in {:.1} s ({} thread(s))",
            r.turns,
            r.text_bytes as f64 / 1e6,
            r.index_seconds,
            opts.threads
        );
        println!(
            "throughput         {:.0} turns/s, {:.2} MB/s",
            r.turns_per_second, r.megabytes_per_second
        );
    }
    if let Some(cpu) = r.index_cpu_seconds {
        println!(
            "CPU time           {:.1} s ({:.0} turns per CPU-second)",
            cpu,
            r.turns as f64 / cpu.max(1e-9)
        );
    }
    for (name, tps, tokens) in &r.analyzers {
        println!("analyzer {name:<10} {tps:.0} turns/s on one thread ({tokens:.0} tokens a turn)");
    }
    println!(
        "index size         {:.0} MB in {} segment(s)",
        r.index_bytes as f64 / 1e6,
        r.segments
    );
    println!(
        "queries            {} (first {:.1} ms), mean {:.0} matching turns",
        r.queries, r.first_query_ms, r.mean_hits
    );
    println!(
        "latency (top 10 with snippets)  p50 {:.1} ms  p95 {:.1} ms  p99 {:.1} ms  max {:.1} ms",
        r.p50_ms, r.p95_ms, r.p99_ms, r.max_ms
    );
    println!(
        "quoted phrases     {} of the queries, p95 {:.1} ms",
        r.phrase_queries, r.phrase_p95_ms
    );
    for (kind, n, p50, p95, max) in &r.kinds {
        println!("  {kind:<18} {n:>4}  p50 {p50:>6.1} ms  p95 {p95:>6.1} ms  max {max:>6.1} ms");
    }
    if let Some(cap) = opts.estimate_over {
        println!(
            "estimated counts   {} queries past {cap} matches; error median {:.1} %, max {:.1} %; top 10 changed in {}",
            r.estimated_queries,
            r.estimate_error_median * 100.0,
            r.estimate_error_max * 100.0,
            r.estimate_top_changed
        );
    }
    for (q, ms) in &r.slowest {
        println!("  slow: {q:<34} {ms:.1} ms");
    }
    for (q, n) in &r.examples {
        println!("  {q:<40} {n} turns");
    }
    Ok(ExitCode::SUCCESS)
}
