//! The crash-test writer: ingests a deterministic workload into a sled
//! ledger in batches and prints `ack N` once the first N records are
//! durable. A test kills it at random points and checks that every
//! acknowledged record survived.
//!
//! With `--freeze-in-fold K` it stops dead at the K-th store write of its
//! folds (the ledger folding its tail into the store: journal
//! chunks, then the folded keys, then the cursor) and says `frozen K`, so
//! a test can kill it provably in the middle of a fold.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;

use ledger_core::ledger::{CreateError, Ledger, LedgerConfig, Outcome};
use ledger_core::store::{self, SledStore, Watched, Watcher};
use ledger_core::workload::{self, Shape};
use ledger_core::StoreError;

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Ledger directory (created with the workload's genesis if empty).
    #[arg(long)]
    dir: PathBuf,
    /// Records in the workload.
    #[arg(long, default_value_t = 3_000)]
    records: usize,
    /// Records per durable batch.
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Records the ledger's tail covers before it is folded.
    #[arg(long)]
    fold_records: Option<u64>,
    /// Stop at this store write of the folds (1 = the first fold's first
    /// journal chunk), print `frozen K`, and wait to be killed.
    #[arg(long)]
    freeze_in_fold: Option<u64>,
}

/// Freezes the writer at one write of a fold. A fold stores its journal
/// first, and once the first fold has begun, every write that is not a
/// log entry (`L`) or a parked record's crash copy (`P`), both written
/// with their batch, belongs to a fold.
fn freezer(at: u64) -> Watcher {
    use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
    let fold_writes = AtomicU64::new(0);
    Arc::new(move |w: store::Write<'_>| {
        let key = match w {
            store::Write::Put(k, _) | store::Write::Delete(k) => Some(k),
            store::Write::Journal(_) => None,
        };
        if key.is_some_and(|k| k.starts_with(b"L") || k.starts_with(b"P")) {
            return;
        }
        if fold_writes.load(SeqCst) == 0 && key.is_some() {
            return;
        }
        let n = fold_writes.fetch_add(1, SeqCst) + 1;
        if n == at {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "frozen {n}");
            let _ = out.flush();
            loop {
                std::thread::park();
            }
        }
    })
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let w = workload::generate(Shape::for_records(args.records));
    let watch = match args.freeze_in_fold {
        Some(at) => freezer(at),
        None => Arc::new(|_: store::Write<'_>| {}),
    };
    let store = Watched::new(SledStore::open(&args.dir)?, watch);
    let config = LedgerConfig {
        fold_records: args
            .fold_records
            .unwrap_or(LedgerConfig::default().fold_records),
        ..LedgerConfig::default()
    };
    let mut ledger = match Ledger::open(store.clone(), config) {
        Ok(l) => l,
        Err(CreateError::Store(StoreError::NotALedger(_))) => {
            Ledger::create(store, w.genesis.clone(), config)?
        }
        Err(e) => return Err(e.into()),
    };
    let now = workload::T0 + 10 * 365 * 86_400_000;
    // Not locked for the whole run: the fold thread may have to say
    // `frozen` meanwhile.
    let mut out = std::io::stdout();
    let mut done = 0usize;
    for chunk in w.records.chunks(args.batch.max(1)) {
        let report = ledger.ingest(chunk.to_vec(), now)?;
        if let Some((h, o)) = report.outcomes.iter().find(|(_, o)| !o.is_stored()) {
            anyhow::bail!("record {h} was not stored: {o:?}");
        }
        done += chunk.len();
        writeln!(out, "ack {done}").context("writing an acknowledgement")?;
        out.flush()?;
    }
    if !matches!(
        ledger.ingest(Vec::new(), now)?.outcomes.first(),
        None | Some((_, Outcome::Accepted))
    ) {
        anyhow::bail!("unexpected outcome on the final tick");
    }
    writeln!(out, "done {}", ledger.len())?;
    Ok(())
}
