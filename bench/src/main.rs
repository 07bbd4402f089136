//! `terroir-bench`: measures Terroir against the physical limits of the
//! machine it runs on, in one run, and reports every figure as a ratio to
//! the raw primitives measured in the same run.
//!
//! ## Layout
//! - `primitives`: ed25519 verification, SHA-256, sled durable writes.
//! - `ingest`: pre-signed farm-to-fork records validated and stored, in
//!   batches of 1,000 and of 10; keys written and bytes on disk.
//! - `killed`: the one-thread ingest in a child process killed when done,
//!   and its ledger reopened.
//! - `serving`: the consumer page and `/status` while the ledger ingests.
//! - `queries`: lineage, recall closure, the consumer page, digest, audit,
//!   bundles, reopening.
//! - `replication`: three `terroird` processes, propagation and catch-up;
//!   `guard` kills them should their stores run away with the disk.
//! - `roundrobin`: one author's chain written round-robin through four
//!   `terroird` processes; how soon after the last write they converge.
//! - `checkpoints`: a checkpoint every 10,000 records while ingesting,
//!   inclusion and status map proofs, bundles' batch proofs.
//! - `sync`: an offline station's `terroir sync` against a real
//!   `terroird` (issue 14), and a second replica joining.
//! - `import`: a 100,000-event EPCIS document imported by one
//!   participant against the ledger's ingest of the same records (issue 15).
//! - `targets`: issue #11's target for each figure it names.
//! - `report`: the figures with their targets, as a table and as JSON.
//! - `writer`: the crash-test writer (acknowledges each flushed batch).

mod checkpoints;
mod guard;
mod import;
mod ingest;
mod killed;
mod primitives;
mod queries;
mod replication;
mod report;
mod rogue;
mod roundrobin;
mod serving;
mod sync;
mod targets;
mod writer;

use std::path::PathBuf;
use std::process::ExitCode;

/// jemalloc instead of glibc's malloc: glibc keeps a heap arena per
/// thread and holds on to what each frees, so with the pipelined ingest's
/// writer thread and sled's own threads the ledger's resident memory was
/// about twice what jemalloc needs for the same work (measured: peak after
/// a 30,000-record ingest 217 MiB with glibc, 116 MiB with jemalloc).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "terroir-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Clone)]
struct RunArgs {
    /// Records in the generated workload.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Query samples per latency figure.
    #[arg(long, default_value_t = 1_000)]
    samples: usize,
    /// Directory for the ledgers (default: a temporary directory).
    #[arg(long)]
    dir: Option<PathBuf>,
    /// Records submitted to the three-node cluster for the replication
    /// figures (the first N of the workload; 0 skips them).
    #[arg(long, default_value_t = 20_000)]
    replicate: usize,
    /// Records of the one-author chain written round-robin through four
    /// nodes for the round-robin figure (0 skips it).
    #[arg(long, default_value_t = 40_000)]
    roundrobin: usize,
    /// The `terroird` binary (default: next to this one).
    #[arg(long)]
    terroird: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct RoundRobinArgs {
    /// Records of the chain (the farm's enrollment included).
    #[arg(long, default_value_t = 40_000)]
    records: usize,
    /// The nodes' `limits.sync_interval_ms`.
    #[arg(long, default_value_t = roundrobin::SYNC_INTERVAL_MS)]
    sync_interval_ms: u64,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The `terroird` binary (default: next to this one).
    #[arg(long)]
    terroird: Option<PathBuf>,
}

#[derive(clap::Args, Clone)]
struct ReplicateArgs {
    /// Records in the generated workload, all submitted to the cluster.
    #[arg(long, default_value_t = 20_000)]
    records: usize,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// The `terroird` binary (default: next to this one).
    #[arg(long)]
    terroird: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the benchmark (the default).
    Run(RunArgs),
    /// Ingest a generated workload into a sled ledger, printing `ack N`
    /// after each durable batch (used by the crash tests).
    Writer(writer::Args),
    /// Only the replication figures: three `terroird` nodes and a fresh
    /// fourth one catching up.
    Replicate(ReplicateArgs),
    /// Only the round-robin figure: one author's chain written through
    /// four `terroird` nodes in turn, and how soon they converge.
    Roundrobin(RoundRobinArgs),
    /// Only the serving figures: consumer pages and `/status` while the
    /// ledger takes in the second half of the workload.
    Serving(ServingArgs),
    /// A rogue peer against a real terroird: consumer pages and ingest
    /// with and without a flood of sync requests.
    Rogue(RogueArgs),
    /// Only the checkpoint figures: a checkpoint cycle every `--every`
    /// records while ingesting, then proof latency and bundle proof bytes.
    Checkpoints(checkpoints::Args),
    /// Only the offline-station figures: a replica signs `--records`
    /// records while the node is down, then `terroir sync` is timed, and
    /// a second replica's `terroir join`.
    Sync(sync::Args),
    /// Only the EPCIS import figures: one participant's `--events` records
    /// exported as one document and imported into a fresh ledger, against
    /// the ledger's ingest of the same records.
    Import(import::Args),
    /// Write the generated workload to a file (the bench runs this in a
    /// child process, so generating does not count in its memory figure).
    #[command(hide = true)]
    Workload(WorkloadArgs),
    /// Ingest a written workload on one thread, report, and wait to be
    /// killed without closing the ledger (the bench runs this).
    #[command(hide = true)]
    IngestChild(killed::ChildArgs),
    /// Import a document as the CLI does and report memory (the bench
    /// runs this).
    #[command(hide = true)]
    ImportChild(import::ChildArgs),
}

#[derive(clap::Args, Clone)]
struct ServingArgs {
    /// Records in the generated workload.
    #[arg(long, default_value_t = 100_000)]
    records: usize,
}

#[derive(clap::Args, Clone)]
struct RogueArgs {
    /// Records in the generated workload (half stored first, a quarter
    /// per phase).
    #[arg(long, default_value_t = 40_000)]
    records: usize,
    /// The `terroird` binary (default: next to this one).
    #[arg(long)]
    terroird: Option<PathBuf>,
    /// Also write the figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Leave the flooding rogue out.
    #[arg(long)]
    no_flooder: bool,
    /// Leave the greedy rogue out.
    #[arg(long)]
    no_greedy: bool,
}

#[derive(clap::Args, Clone)]
struct WorkloadArgs {
    /// Records in the generated workload.
    #[arg(long)]
    records: usize,
    /// Where to write them (a JSON description goes beside it).
    #[arg(long)]
    out: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Writer(args)) => writer::run(&args),
        Some(Command::Run(args)) => run(&args),
        Some(Command::Replicate(args)) => replicate(&args),
        Some(Command::Roundrobin(args)) => roundrobin_only(&args),
        Some(Command::Serving(args)) => serving_only(&args),
        Some(Command::Rogue(args)) => rogue_only(&args),
        Some(Command::Checkpoints(args)) => checkpoints::run(&args),
        Some(Command::Sync(args)) => sync::run(&args),
        Some(Command::Import(args)) => import::run(&args),
        Some(Command::ImportChild(args)) => import::child(&args),
        Some(Command::Workload(args)) => ingest::write_workload(args.records, &args.out),
        Some(Command::IngestChild(args)) => killed::child(&args),
        None => run(&cli.run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The serving figures alone, printed as JSON.
fn serving_only(args: &ServingArgs) -> anyhow::Result<()> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let workload = ingest::prepare(args.records, &tmp.path().join("workload.bin"))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let figures = serving::measure(&workload, tmp.path(), ingest::verify_threads(cores))?;
    println!("{}", serde_json::to_string_pretty(&figures)?);
    Ok(())
}

/// The rogue-peer figures alone, printed as JSON.
fn rogue_only(args: &RogueArgs) -> anyhow::Result<()> {
    let terroird = replication::locate_terroird(args.terroird.as_deref())?;
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let workload = ingest::prepare(args.records, &tmp.path().join("workload.bin"))?;
    let which = rogue::Which {
        flooder: !args.no_flooder,
        greedy: !args.no_greedy,
    };
    let figures = rogue::measure(&workload, &terroird, &tmp.path().join("rogue"), which)?;
    let json = serde_json::to_string_pretty(&figures)?;
    println!("{json}");
    eprintln!(
        "rogue: page p99 {:.1} ms quiet, {:.1} ms attacked ({:.2}x, target <= 2); ingest {:.0}/s quiet, {:.0}/s attacked ({:.2}x, target >= 0.8)",
        figures.quiet.page.p99_ms,
        figures.attacked.page.p99_ms,
        figures.page_p99_ratio,
        figures.quiet.ingest_per_s,
        figures.attacked.ingest_per_s,
        figures.ingest_ratio
    );
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Where a run's ledgers go: `dir` (created if need be), or a temporary
/// directory removed when the returned guard drops.
fn work_dir(dir: Option<&std::path::Path>) -> anyhow::Result<(Option<tempfile::TempDir>, PathBuf)> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("creating {}", d.display()))?;
            Ok((None, d.to_path_buf()))
        }
        None => {
            let tmp = tempfile::tempdir().context("creating a temporary directory")?;
            let path = tmp.path().to_path_buf();
            Ok((Some(tmp), path))
        }
    }
}

fn run(args: &RunArgs) -> anyhow::Result<()> {
    if args.records < 1_000 {
        anyhow::bail!("--records must be at least 1000");
    }
    let (_tmp, dir) = work_dir(args.dir.as_deref())?;
    // Fail before the long run, not after it, if the node is missing.
    let terroird = match (args.replicate, args.roundrobin) {
        (0, 0) => None,
        _ => Some(replication::locate_terroird(args.terroird.as_deref())?),
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let stage =
        |name: &str| eprintln!("{name} (peak RSS so far {:.0} MiB)", report::peak_rss_mib());
    stage("measuring primitives …");
    let primitives = primitives::measure(&dir.join("raw-sled"))?;
    stage(&format!("generating {} records …", args.records));
    let workload = ingest::prepare(args.records, &dir.join("workload.bin"))?;
    stage(&format!(
        "ingesting (1 thread, then in batches of {}, then {cores} cores) …",
        ingest::SMALL_BATCH
    ));
    let mut ingest = ingest::measure(&workload, &dir, cores, &primitives)?;
    stage("serving pages and /status while ingesting …");
    let serving = serving::measure(&workload, &dir, ingest::verify_threads(cores))?;
    stage("querying …");
    let queries = queries::measure(&workload, &dir.join("ledger-all-cores"), args.samples)?;
    ingest::discard(&dir.join("ledger-all-cores"));
    stage("ingesting into the in-memory store …");
    ingest.in_memory = ingest::in_memory(&workload)?;
    let replication = match terroird.as_ref().filter(|_| args.replicate > 0) {
        Some(bin) => {
            let n = args.replicate.min(workload.count);
            stage(&format!(
                "replicating {n} records over three terroird nodes, then catching up a fourth …"
            ));
            // A failed cluster run is reported in its rows, not fatal: the
            // other figures are still worth having.
            let measured = replication::measure(&workload, n, bin, &dir.join("replication"));
            Some(measured.map_err(|e| {
                let why = format!("{e:#}");
                eprintln!("replication failed: {why}");
                why
            }))
        }
        None => None,
    };
    // The nodes' data dirs are not needed any more (best effort).
    let _ = std::fs::remove_dir_all(dir.join("replication"));
    let roundrobin = match terroird.as_ref().filter(|_| args.roundrobin > 0) {
        Some(bin) => {
            stage(&format!(
                "writing a {}-record chain round-robin through four terroird nodes …",
                args.roundrobin
            ));
            let measured = roundrobin::measure(
                args.roundrobin,
                roundrobin::SYNC_INTERVAL_MS,
                bin,
                &dir.join("roundrobin"),
            );
            Some(measured.map_err(|e| {
                let why = format!("{e:#}");
                eprintln!("round-robin failed: {why}");
                why
            }))
        }
        None => None,
    };
    let _ = std::fs::remove_dir_all(dir.join("roundrobin"));
    stage("done");
    let figures = report::Figures::new(
        args.records,
        cores,
        primitives,
        ingest,
        serving,
        queries,
        report::Clusters {
            replication,
            roundrobin,
        },
    );
    print!("{}", figures.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&figures)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

/// The round-robin figure alone, printed as JSON, with its check.
fn roundrobin_only(args: &RoundRobinArgs) -> anyhow::Result<()> {
    let terroird = replication::locate_terroird(args.terroird.as_deref())?;
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let figures = roundrobin::measure(
        args.records,
        args.sync_interval_ms,
        &terroird,
        &tmp.path().join("roundrobin"),
    )?;
    let check = targets::ROUNDROBIN_CONVERGED.check(figures.converged_after_last_write_ms / 1e3);
    let json = serde_json::to_string_pretty(&serde_json::json!({
        "roundrobin": figures,
        "converged_after_last_write": check,
    }))?;
    println!("{json}");
    eprintln!(
        "converged {:.2} s after the last write: {}",
        figures.converged_after_last_write_ms / 1e3,
        check.mark()
    );
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

fn replicate(args: &ReplicateArgs) -> anyhow::Result<()> {
    let terroird = replication::locate_terroird(args.terroird.as_deref())?;
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let workload = ingest::prepare(args.records, &tmp.path().join("workload.bin"))?;
    let figures = replication::measure(
        &workload,
        workload.count,
        &terroird,
        &tmp.path().join("replication"),
    )?;
    let json = serde_json::to_string_pretty(&figures)?;
    println!("{json}");
    if let Some(path) = &args.json {
        std::fs::write(path, &json).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
