//! Ingest: a generated farm-to-fork workload, pre-signed, validated and
//! durably stored with group commit.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use ledger_core::ledger::{IngestReport, Ledger, LedgerConfig, Outcome, WriteStats};
use ledger_core::store::{MemoryStore, SledStore, Store};
use ledger_core::workload::{self, Shape};
use ledger_core::{Event, Genesis, LotId, SignedRecord};

use crate::primitives::Primitives;

/// Records per ingest call: one durable flush per this many.
pub(crate) const GROUP_COMMIT: usize = 1_000;

/// Records per ingest call on the small-batch path: what HTTP
/// submissions and gossip hand the ledger, one flush per call.
pub(crate) const SMALL_BATCH: usize = 10;

/// The clock every ingest runs at: ten years after the workload's first
/// record, so nothing waits as future-dated.
pub(crate) const NOW: u64 = workload::T0 + 10 * 365 * 86_400_000;

/// A workload written to disk, so it does not sit in memory while measured.
pub(crate) struct Prepared {
    pub genesis: Genesis,
    pub path: PathBuf,
    pub count: usize,
    pub mean_record_bytes: f64,
    pub harvest_lots: Vec<LotId>,
    pub product_lots: Vec<LotId>,
    /// For each of `product_lots`, the position in the workload of the
    /// record that makes it: a ledger holding the first N records holds
    /// exactly the product lots made before N.
    pub product_lot_at: Vec<usize>,
}

/// What [`prepare`] knows of a workload besides its records.
#[derive(Serialize, serde::Deserialize)]
struct Sidecar {
    genesis_hex: String,
    count: usize,
    mean_record_bytes: f64,
    harvest_lots: Vec<LotId>,
    product_lots: Vec<LotId>,
    product_lot_at: Vec<usize>,
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
    load(path)
}

/// Reads the description of a workload [`write_workload`] wrote to `path`.
pub(crate) fn load(path: &Path) -> anyhow::Result<Prepared> {
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
        product_lot_at: s.product_lot_at,
    })
}

/// Writes the generated workload of `records` records to `path` (length-
/// prefixed canonical records) and its description beside it.
pub(crate) fn write_workload(records: usize, path: &Path) -> anyhow::Result<()> {
    let w = workload::generate(Shape::for_records(records));
    let mut out =
        BufWriter::new(File::create(path).with_context(|| format!("creating {}", path.display()))?);
    let mut bytes = 0usize;
    let mut made_at = HashMap::new();
    for (i, r) in w.records.iter().enumerate() {
        let b = r.encode();
        bytes += b.len();
        out.write_all(&(b.len() as u32).to_le_bytes())?;
        out.write_all(&b)?;
        if let Event::Transform { outputs, .. } = &r.record.event {
            for o in outputs {
                let lot = LotId {
                    source: r.record.author,
                    code: o.code.clone(),
                };
                made_at.insert(lot, i);
            }
        }
    }
    out.flush()?;
    let product_lot_at = w
        .product_lots
        .iter()
        .map(|l| {
            made_at
                .get(l)
                .copied()
                .with_context(|| format!("no record makes product lot {l}"))
        })
        .collect::<anyhow::Result<_>>()?;
    let side = Sidecar {
        genesis_hex: hex::encode(w.genesis.encode()),
        count: w.records.len(),
        mean_record_bytes: bytes as f64 / w.records.len().max(1) as f64,
        harvest_lots: w.harvest_lots,
        product_lots: w.product_lots,
        product_lot_at,
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

/// Ingest rates and their ratio to the primitives' limit, and what the
/// ingested ledgers cost in keys and bytes.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct IngestFigures {
    /// Records/s on one thread, batches of [`GROUP_COMMIT`] (in a child
    /// process, killed afterwards: see [`crate::killed`]).
    pub single_thread: f64,
    /// Records/s on one thread, batches of [`SMALL_BATCH`].
    pub small_batches: f64,
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
    /// sled keys the pipelined ingest wrote, by path, its ledger closed
    /// (so every fold is counted).
    pub write_stats: WriteStats,
    /// The same for the small-batch ingest.
    pub small_batch_write_stats: WriteStats,
    /// sled keys written before a batch is acknowledged, per record
    /// (`write_stats.log_keys` / records).
    pub log_keys_per_record: f64,
    /// sled keys written per record, folds included.
    pub keys_per_record: f64,
    /// Bytes on disk per record of the pipelined ledger (batches of
    /// [`GROUP_COMMIT`]), closed.
    pub bytes_on_disk_per_record: f64,
    /// Bytes on disk per record of the small-batch ledger, closed.
    pub small_batch_bytes_on_disk_per_record: f64,
    /// Peak resident memory (MiB) of the pipelined ingest into sled, the
    /// earlier ledgers having been closed: what a node taking in the
    /// workload holds.
    pub peak_rss_mib: f64,
    /// Mean encoded record size, bytes.
    pub mean_record_bytes: f64,
    /// Opening the one-thread ledger after its process was killed, ms.
    pub killed_reopen_ms: f64,
}

/// How an ingest run uses the machine.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Mode {
    /// One `Ledger::ingest` call per `batch` records on this thread.
    OneThread { batch: usize },
    /// `Ledger::ingest_stream` over batches of [`GROUP_COMMIT`]: each is
    /// validated (its signatures on `verify_threads` threads) while the
    /// previous one is written.
    Pipelined { verify_threads: usize },
}

/// What one ingest into a fresh ledger measured.
struct Run<S> {
    /// Records/s.
    rate: f64,
    /// Keys written, every fold included.
    stats: WriteStats,
    /// The store, its ledger closed.
    store: S,
}

/// What one ingest into a fresh sled ledger measured.
pub(crate) struct SledRun {
    /// Records/s.
    pub rate: f64,
    /// Keys written, every fold included.
    pub stats: WriteStats,
    /// Bytes on disk per record, the ledger closed.
    pub bytes_per_record: f64,
}

/// Ingests the workload into a fresh sled ledger in `dir` and closes it.
pub(crate) fn ingest_into(p: &Prepared, dir: &Path, mode: Mode) -> anyhow::Result<SledRun> {
    let run = ingest_store(p, SledStore::open(dir)?, mode)?;
    Ok(SledRun {
        rate: run.rate,
        stats: run.stats,
        bytes_per_record: run.store.size_on_disk()? as f64 / p.count.max(1) as f64,
    })
}

/// The ledger config of an ingest in `mode`.
pub(crate) fn config(mode: Mode) -> LedgerConfig {
    let verify_threads = match mode {
        Mode::OneThread { .. } => 1,
        Mode::Pipelined { verify_threads } => verify_threads,
    };
    LedgerConfig {
        verify_threads,
        ..LedgerConfig::default()
    }
}

fn ingest_store<S: Store + Clone>(p: &Prepared, store: S, mode: Mode) -> anyhow::Result<Run<S>> {
    let mut ledger = Ledger::create(store, p.genesis.clone(), config(mode))?;
    let elapsed = match mode {
        Mode::OneThread { batch } => {
            // Reading the workload file is not ingest: time the calls only.
            let mut elapsed = 0.0;
            for batch in batches(p, batch)? {
                let batch = batch?;
                let start = Instant::now();
                let report = ledger.ingest(batch, NOW)?;
                elapsed += start.elapsed().as_secs_f64();
                all_accepted(&report)?;
            }
            elapsed
        }
        Mode::Pipelined { .. } => stream(&mut ledger, batches(p, GROUP_COMMIT)?)?,
    };
    ledger.fold()?;
    let stats = ledger.write_stats();
    let store = ledger.close()?;
    Ok(Run {
        rate: p.count as f64 / elapsed.max(1e-9),
        stats,
        store,
    })
}

/// Fails unless the ledger accepted every record of a batch.
pub(crate) fn all_accepted(report: &IngestReport) -> anyhow::Result<()> {
    match report
        .outcomes
        .iter()
        .find(|(_, o)| *o != Outcome::Accepted)
    {
        Some((h, o)) => anyhow::bail!("workload record {h} was not accepted: {o:?}"),
        None => Ok(()),
    }
}

/// Feeds `batches` through `Ledger::ingest_stream`, every record of which
/// must be accepted, and returns the seconds it took.
///
/// Batches are read from the file as the pipeline asks for them (holding
/// a million records in memory would swamp the memory figure), so this
/// clock includes reading them (~1 µs a record).
pub(crate) fn stream<S: Store>(
    ledger: &mut Ledger<S>,
    batches: impl Iterator<Item = anyhow::Result<Vec<SignedRecord>>> + Send,
) -> anyhow::Result<f64> {
    let mut read_error = None;
    let stream = batches.map_while(|b| match b {
        Ok(batch) => Some(batch),
        Err(e) => {
            read_error = Some(e);
            None
        }
    });
    let mut verdict = Ok(());
    let start = Instant::now();
    ledger.ingest_stream(stream, NOW, |report| {
        if verdict.is_ok() {
            verdict = all_accepted(&report);
        }
    })?;
    let elapsed = start.elapsed().as_secs_f64();
    if let Some(e) = read_error {
        return Err(e);
    }
    verdict?;
    Ok(elapsed)
}

/// Records/s on one thread into the in-memory store. It holds the whole
/// ledger in memory, so the bench runs it after taking the memory figures.
pub(crate) fn in_memory(p: &Prepared) -> anyhow::Result<f64> {
    let mode = Mode::OneThread {
        batch: GROUP_COMMIT,
    };
    Ok(ingest_store(p, MemoryStore::new(), mode)?.rate)
}

/// Signature threads of the pipelined ingest on `cores` cores: the
/// pipeline's writer thread takes one core, signatures spread over the
/// rest.
pub(crate) fn verify_threads(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Removes a measured ledger, so a 1M-record run does not keep several
/// on disk at once (best effort: it is a temporary directory).
pub(crate) fn discard(dir: &Path) {
    let _ = std::fs::remove_dir_all(dir);
}

pub(crate) fn measure(
    p: &Prepared,
    dir: &Path,
    cores: usize,
    prim: &Primitives,
) -> anyhow::Result<IngestFigures> {
    let single = crate::killed::measure(p, &dir.join("ledger-one-thread"))?;
    let small_dir = dir.join("ledger-batch-10");
    let small = ingest_into(p, &small_dir, Mode::OneThread { batch: SMALL_BATCH })?;
    discard(&small_dir);
    crate::report::reset_peak_rss();
    let all = ingest_into(
        p,
        &dir.join("ledger-all-cores"),
        Mode::Pipelined {
            verify_threads: verify_threads(cores),
        },
    )?;
    let peak_rss_mib = crate::report::peak_rss_mib();
    let verify_limit = prim.verify_batch * cores as f64;
    let (limit, limit_bound_by) = if verify_limit <= prim.sled_group_commit {
        (verify_limit, "signature verification")
    } else {
        (prim.sled_group_commit, "sled group commit")
    };
    let records = p.count.max(1) as f64;
    Ok(IngestFigures {
        single_thread: single.rate,
        small_batches: small.rate,
        all_cores: all.rate,
        cores,
        limit,
        limit_bound_by,
        in_memory: 0.0,
        write_stats: all.stats,
        small_batch_write_stats: small.stats,
        log_keys_per_record: all.stats.log_keys as f64 / records,
        keys_per_record: (all.stats.log_keys + all.stats.fold_keys) as f64 / records,
        bytes_on_disk_per_record: all.bytes_per_record,
        small_batch_bytes_on_disk_per_record: small.bytes_per_record,
        peak_rss_mib,
        mean_record_bytes: p.mean_record_bytes,
        killed_reopen_ms: single.reopen_ms,
    })
}
