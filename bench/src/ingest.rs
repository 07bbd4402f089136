//! Ingest: a generated farm-to-fork workload, pre-signed, validated and
//! durably stored with group commit.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use ledger_core::ledger::{IngestReport, Ledger, LedgerConfig, Outcome, WriteStats};
use ledger_core::store::{MemoryStore, SledStore, Store};
use ledger_core::workload::{self, Shape};
use ledger_core::{Genesis, LotId, SignedRecord};

use crate::primitives::Primitives;

/// Records per ingest call: one durable flush per this many.
pub(crate) const GROUP_COMMIT: usize = 1_000;

/// A workload written to disk, so it does not sit in memory while measured.
pub(crate) struct Prepared {
    pub genesis: Genesis,
    pub path: PathBuf,
    pub count: usize,
    pub mean_record_bytes: f64,
    pub harvest_lots: Vec<LotId>,
    pub product_lots: Vec<LotId>,
}

/// What [`prepare`] knows of a workload besides its records.
#[derive(Serialize, serde::Deserialize)]
struct Sidecar {
    genesis_hex: String,
    count: usize,
    mean_record_bytes: f64,
    harvest_lots: Vec<LotId>,
    product_lots: Vec<LotId>,
}

fn sidecar_path(path: &Path) -> PathBuf {
    path.with_extension("json")
}

/// Generates the workload in a child process (`terroir-bench workload`)
/// and reads back what it wrote: generating holds every record in memory,
/// and the allocator would keep that memory in this process, inflating
/// the peak resident memory the bench reports for the ledger.
pub(crate) fn prepare(records: usize, path: &Path) -> anyhow::Result<Prepared> {
    let exe = std::env::current_exe().context("locating terroir-bench")?;
    let status = std::process::Command::new(exe)
        .arg("workload")
        .arg("--records")
        .arg(records.to_string())
        .arg("--out")
        .arg(path)
        .status()
        .context("running terroir-bench workload")?;
    if !status.success() {
        anyhow::bail!("generating the workload failed ({status})");
    }
    let side = sidecar_path(path);
    let text =
        std::fs::read_to_string(&side).with_context(|| format!("reading {}", side.display()))?;
    let s: Sidecar = serde_json::from_str(&text)?;
    Ok(Prepared {
        genesis: Genesis::decode(&hex::decode(&s.genesis_hex)?)?,
        path: path.to_path_buf(),
        count: s.count,
        mean_record_bytes: s.mean_record_bytes,
        harvest_lots: s.harvest_lots,
        product_lots: s.product_lots,
    })
}

/// Writes the generated workload of `records` records to `path` (length-
/// prefixed canonical records) and its description beside it.
pub(crate) fn write_workload(records: usize, path: &Path) -> anyhow::Result<()> {
    let w = workload::generate(Shape::for_records(records));
    let mut out =
        BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let mut bytes = 0usize;
    for r in &w.records {
        let b = r.encode();
        bytes += b.len();
        out.write_all(&(b.len() as u32).to_le_bytes())?;
        out.write_all(&b)?;
    }
    out.flush()?;
    let side = Sidecar {
        genesis_hex: hex::encode(w.genesis.encode()),
        count: w.records.len(),
        mean_record_bytes: bytes as f64 / w.records.len().max(1) as f64,
        harvest_lots: w.harvest_lots,
        product_lots: w.product_lots,
    };
    let path = sidecar_path(path);
    std::fs::write(&path, serde_json::to_vec(&side)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// Streams the prepared records in batches.
pub(crate) fn batches(
    p: &Prepared,
    size: usize,
) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Vec<SignedRecord>>>> {
    let mut input = BufReader::new(File::open(&p.path)?);
    let mut done = false;
    Ok(std::iter::from_fn(move || {
        if done {
            return None;
        }
        let mut batch = Vec::with_capacity(size);
        while batch.len() < size {
            let mut len = [0u8; 4];
            match input.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    done = true;
                    break;
                }
                Err(e) => return Some(Err(e.into())),
            }
            let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
            if let Err(e) = input.read_exact(&mut buf) {
                return Some(Err(e.into()));
            }
            match SignedRecord::decode(&buf) {
                Ok(r) => batch.push(r),
                Err(e) => return Some(Err(e.into())),
            }
        }
        (!batch.is_empty()).then_some(Ok(batch))
    }))
}

/// Ingest rates and their ratio to the primitives' limit.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IngestFigures {
    /// Records/s on one thread.
    pub single_thread: f64,
    /// Records/s using every core: pipelined group commit, signatures
    /// verified on all but the writer thread's core.
    pub all_cores: f64,
    /// Cores used.
    pub cores: usize,
    /// min(batch verify rate × cores, sled group-commit rate).
    pub limit: f64,
    /// Which primitive sets the limit.
    pub limit_bound_by: &'static str,
    /// Records/s on one thread into the in-memory store: validation
    /// without durable storage (filled in by [`in_memory`]).
    pub in_memory: f64,
    /// Store keys written per record (sled's cost is per key written;
    /// filled in by [`in_memory`]).
    pub keys_per_record: f64,
    /// Peak resident memory (MiB) of the pipelined ingest into sled, the
    /// first ledger having been closed: what a node taking in the
    /// workload holds.
    pub peak_rss_mib: f64,
    /// Mean encoded record size, bytes.
    pub mean_record_bytes: f64,
}

/// How an ingest run uses the machine.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// One `Ledger::ingest` call per batch on this thread.
    OneThread,
    /// `Ledger::ingest_stream`: each batch is validated (its signatures
    /// on `verify_threads` threads) while the previous one is written.
    Pipelined { verify_threads: usize },
}

pub(crate) fn ingest_into(p: &Prepared, dir: &Path, mode: Mode) -> anyhow::Result<f64> {
    Ok(ingest_store(p, SledStore::open(dir)?, mode)?.0)
}

/// Records/s, and the keys the ledger wrote (the final fold included).
fn ingest_store<S: Store + Clone>(
    p: &Prepared,
    store: S,
    mode: Mode,
) -> anyhow::Result<(f64, WriteStats)> {
    let verify_threads = match mode {
        Mode::OneThread => 1,
        Mode::Pipelined { verify_threads } => verify_threads,
    };
    let config = LedgerConfig {
        verify_threads,
        ..LedgerConfig::default()
    };
    let mut ledger = Ledger::create(store, p.genesis.clone(), config)?;
    let now = workload::T0 + 10 * 365 * 86_400_000;
    let check = |report: &IngestReport| match report
        .outcomes
        .iter()
        .find(|(_, o)| *o != Outcome::Accepted)
    {
        Some((h, o)) => anyhow::bail!("workload record {h} was not accepted: {o:?}"),
        None => Ok(()),
    };
    let elapsed = match mode {
        Mode::OneThread => {
            // Reading the workload file is not ingest: time the calls only.
            let mut elapsed = 0.0;
            for batch in batches(p, GROUP_COMMIT)? {
                let batch = batch?;
                let start = Instant::now();
                let report = ledger.ingest(batch, now)?;
                elapsed += start.elapsed().as_secs_f64();
                check(&report)?;
            }
            elapsed
        }
        Mode::Pipelined { .. } => {
            // Batches are read from the file as the pipeline asks for them
            // (holding a million records in memory would swamp the memory
            // figure), so this clock includes reading them (~1 µs a record).
            let mut read_error = None;
            let stream = batches(p, GROUP_COMMIT)?.map_while(|b| match b {
                Ok(batch) => Some(batch),
                Err(e) => {
                    read_error = Some(e);
                    None
                }
            });
            let mut verdict = Ok(());
            let start = Instant::now();
            ledger.ingest_stream(stream, now, |report| {
                if verdict.is_ok() {
                    verdict = check(&report);
                }
            })?;
            let elapsed = start.elapsed().as_secs_f64();
            if let Some(e) = read_error {
                return Err(e);
            }
            verdict?;
            elapsed
        }
    };
    let rate = p.count as f64 / elapsed.max(1e-9);
    ledger.fold()?;
    Ok((rate, ledger.write_stats()))
}

/// Records/s on one thread into the in-memory store, and the store keys
/// written per record. It holds the whole ledger in memory, so the bench
/// runs it after taking the memory figure.
pub(crate) fn in_memory(p: &Prepared) -> anyhow::Result<(f64, f64)> {
    let (rate, stats) = ingest_store(p, MemoryStore::new(), Mode::OneThread)?;
    Ok((rate, stats.log_keys as f64 / p.count.max(1) as f64))
}

pub(crate) fn measure(
    p: &Prepared,
    dir: &Path,
    cores: usize,
    prim: &Primitives,
) -> anyhow::Result<IngestFigures> {
    let single_thread = ingest_into(p, &dir.join("ledger-one-thread"), Mode::OneThread)?;
    crate::report::reset_peak_rss();
    // The pipeline's writer thread takes one core; signatures spread over
    // the rest.
    let verify_threads = cores.saturating_sub(1).max(1);
    let all_cores = ingest_into(
        p,
        &dir.join("ledger-all-cores"),
        Mode::Pipelined { verify_threads },
    )?;
    let peak_rss_mib = crate::report::peak_rss_mib();
    let verify_limit = prim.verify_batch * cores as f64;
    let (limit, limit_bound_by) = if verify_limit <= prim.sled_group_commit {
        (verify_limit, "signature verification")
    } else {
        (prim.sled_group_commit, "sled group commit")
    };
    Ok(IngestFigures {
        single_thread,
        all_cores,
        cores,
        limit,
        limit_bound_by,
        in_memory: 0.0,
        keys_per_record: 0.0,
        peak_rss_mib,
        mean_record_bytes: p.mean_record_bytes,
    })
}
