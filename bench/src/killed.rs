//! The one-thread ingest, run in a child process that is killed (SIGKILL)
//! once it has acknowledged the whole workload, and the ledger it leaves
//! opened again: a node's restart after a crash.
//!
//! The child (`terroir-bench ingest-child`, hidden) ingests the prepared
//! workload in batches of [`GROUP_COMMIT`] on one thread, timing the
//! ingest calls only, prints one JSON line (its rate) and waits to be
//! killed, never closing its ledger. The records after the last finished
//! fold are then only in the log, so opening derives them again: fewer
//! than twice `LedgerConfig::fold_records` (a tail that large waits for
//! the fold behind it), the most a crash can leave.
//! A copy of an open sled directory would not do: sled rewrites its
//! files in the background, so a copy is not a moment's state.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::SledStore;

use crate::ingest::{self, Mode, Prepared, GROUP_COMMIT, NOW};

#[derive(clap::Args, Clone)]
pub(crate) struct ChildArgs {
    /// The prepared workload (`workload.bin`, its description beside it).
    #[arg(long)]
    workload: PathBuf,
    /// Directory of the new ledger.
    #[arg(long)]
    dir: PathBuf,
}

/// What the child reports once every record is acknowledged.
#[derive(Debug, Serialize, Deserialize)]
struct ChildReport {
    /// Records/s over the ingest calls.
    rate: f64,
    /// Records stored.
    records: u64,
}

/// The child: ingests, reports, and waits until its parent kills it (or
/// goes away), without closing the ledger.
pub(crate) fn child(args: &ChildArgs) -> anyhow::Result<()> {
    let p = ingest::load(&args.workload)?;
    let mode = Mode::OneThread {
        batch: GROUP_COMMIT,
    };
    let mut ledger = Ledger::create(
        SledStore::open(&args.dir)?,
        p.genesis.clone(),
        ingest::config(mode),
    )?;
    let mut elapsed = 0.0;
    for batch in ingest::batches(&p, GROUP_COMMIT)? {
        let batch = batch?;
        let start = Instant::now();
        let report = ledger.ingest(batch, NOW)?;
        elapsed += start.elapsed().as_secs_f64();
        ingest::all_accepted(&report)?;
    }
    let report = ChildReport {
        rate: p.count as f64 / elapsed.max(1e-9),
        records: ledger.len(),
    };
    println!("{}", serde_json::to_string(&report)?);
    // Wait for the kill; should the parent die instead, leave without
    // closing the ledger all the same.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    std::process::exit(0);
}

/// What the killed run measured.
pub(crate) struct Killed {
    /// Records/s of the one-thread ingest.
    pub rate: f64,
    /// Opening the killed ledger (sled and the ledger), ms.
    pub reopen_ms: f64,
}

/// Runs the child on `p` into `dir`, kills it once it is done, opens what
/// it left and removes it.
pub(crate) fn measure(p: &Prepared, dir: &Path) -> anyhow::Result<Killed> {
    let exe = std::env::current_exe().context("locating terroir-bench")?;
    let mut child = Command::new(exe)
        .arg("ingest-child")
        .arg("--workload")
        .arg(&p.path)
        .arg("--dir")
        .arg(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("running terroir-bench ingest-child")?;
    let mut line = String::new();
    let read = match child.stdout.take() {
        Some(out) => BufReader::new(out).read_line(&mut line),
        None => Ok(0),
    };
    // SIGKILL on Unix: whatever the child printed, it dies unclosed.
    let _ = child.kill();
    let status = child.wait().context("waiting for ingest-child")?;
    read.context("reading ingest-child's report")?;
    let report: ChildReport = serde_json::from_str(&line)
        .with_context(|| format!("ingest-child ended ({status}) without a report"))?;

    let start = Instant::now();
    let ledger = Ledger::open(SledStore::open(dir)?, LedgerConfig::default())?;
    let reopen_ms = start.elapsed().as_secs_f64() * 1e3;
    if ledger.len() != report.records {
        anyhow::bail!(
            "the killed ledger held {} records and reopened with {}",
            report.records,
            ledger.len()
        );
    }
    drop(ledger);
    ingest::discard(dir);
    Ok(Killed {
        rate: report.rate,
        reopen_ms,
    })
}
