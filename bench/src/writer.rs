//! The crash-test writer: ingests a deterministic workload into a sled
//! ledger in batches and prints `ack N` once the first N records are
//! durable. A test kills it at random points and checks that every
//! acknowledged record survived.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;

use ledger_core::ledger::{CreateError, Ledger, LedgerConfig, Outcome};
use ledger_core::store::SledStore;
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
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let w = workload::generate(Shape::for_records(args.records));
    let store = SledStore::open(&args.dir)?;
    let mut ledger = match Ledger::open(store.clone(), LedgerConfig::default()) {
        Ok(l) => l,
        Err(CreateError::Store(StoreError::NotALedger(_))) => {
            Ledger::create(store, w.genesis.clone(), LedgerConfig::default())?
        }
        Err(e) => return Err(e.into()),
    };
    let now = workload::T0 + 10 * 365 * 86_400_000;
    let mut out = std::io::stdout().lock();
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
