//! Serving while ingesting: the consumer page and `/status`, asked on
//! another thread while the ledger takes in the second half of the
//! workload at full rate (a pipelined `ingest_stream`), the first half
//! already stored.
//!
//! The ingest runs on a thread of its own at the priority terroird gives
//! its ledger thread by default (niceness +10, see
//! `terroir_node::priority`), the sampler at the priority of terroird's
//! query threads. The sampler asks
//! through `Readers::latest()`, as those threads do, one question after
//! another on a fixed schedule (see [`INTERVAL`]) for as long as the
//! ingest runs, each timed from when it was due: [`PAGES_PER_STATUS`] consumer pages of random product lots the
//! first half made, then one `/status`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;

use ledger_core::ledger::{Ledger, Readers};
use ledger_core::store::SledStore;
use ledger_core::LotId;
use terroir_node::priority;

use crate::ingest::{self, Mode, Prepared, GROUP_COMMIT};
use crate::queries::{self, Latency, Pick};

/// Consumer pages asked between two `/status` requests: a QR scan is
/// the common request, and `/status` costs more.
const PAGES_PER_STATUS: usize = 10;

/// One question every 2.5 ms (400 a second), far more than a county's
/// shoppers scan: requests arrive, as on a node, rather than follow one
/// another back to back (a loop that never waits would hold a core and
/// measure the scheduler's time slice, not the ledger).
const INTERVAL: Duration = Duration::from_micros(2_500);

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ServingFigures {
    /// Records stored before the clock starts.
    pub records_before: usize,
    /// Records ingested while serving.
    pub records_during: usize,
    /// Records/s of that ingest.
    pub ingest_per_s: f64,
    /// The consumer page of a random product lot of the first half:
    /// trace, verdict and HTML, as terroird serves it.
    pub consumer_page: Latency,
    /// What terroird's `/status` reads: the counts (records, chains,
    /// pending) and the state digest.
    pub status: Latency,
    /// Peak resident memory (MiB) from the first record of the first half
    /// to the end of the ingest: ingesting and serving.
    pub peak_rss_mib: f64,
    /// Bytes on disk per record right after the ingest, the ledger still
    /// open: sled's own figure, with whatever it has not cleaned yet.
    pub bytes_on_disk_per_record: f64,
}

/// What the sampler measured.
struct Served {
    page_us: Vec<f64>,
    page_bytes: usize,
    status_us: Vec<f64>,
}

/// What terroird's `/status` reads from the latest reader.
fn status(readers: &Readers<SledStore>) -> anyhow::Result<()> {
    let reader = readers.latest();
    let heads = reader.chain_count()?;
    let (records, pending) = (reader.len(), reader.pending_len());
    std::hint::black_box((heads, records, pending, reader.state_digest()?));
    Ok(())
}

/// Asks for pages and `/status` on a fixed schedule until `stop` is set.
/// Each question is timed from when it was due, not from when the sampler
/// got to it: a question that starts late because the one before ran long
/// (or the thread did not get a core) counts its wait.
fn serve(
    readers: &Readers<SledStore>,
    lots: &[LotId],
    stop: &AtomicBool,
) -> anyhow::Result<Served> {
    let mut pick = Pick(0x1656_67b1);
    let mut served = Served {
        page_us: Vec::new(),
        page_bytes: 0,
        status_us: Vec::new(),
    };
    let first = Instant::now();
    for turn in 0u32.. {
        let due = first + INTERVAL * turn;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if stop.load(Ordering::Relaxed) {
            break;
        }
        if turn as usize % (PAGES_PER_STATUS + 1) == PAGES_PER_STATUS {
            status(readers)?;
            served.status_us.push(due.elapsed().as_secs_f64() * 1e6);
        } else {
            let lot = &lots[pick.next(lots.len())];
            let page = queries::consumer_page(&readers.latest(), lot)?;
            served.page_us.push(due.elapsed().as_secs_f64() * 1e6);
            served.page_bytes += page.len();
        }
    }
    Ok(served)
}

pub(crate) fn measure(
    p: &Prepared,
    dir: &Path,
    verify_threads: usize,
) -> anyhow::Result<ServingFigures> {
    let live = dir.join("ledger-serving");
    crate::report::reset_peak_rss();
    let config = ingest::config(Mode::Pipelined { verify_threads });
    let store = SledStore::open(&live)?;
    let mut ledger = Ledger::create(store.clone(), p.genesis.clone(), config)?;
    let first_batches = (p.count / 2).div_ceil(GROUP_COMMIT);
    let records_before = (first_batches * GROUP_COMMIT).min(p.count);
    let mut batches = ingest::batches(p, GROUP_COMMIT)?;
    ingest::stream(&mut ledger, batches.by_ref().take(first_batches))?;
    let lots: Vec<LotId> = p
        .product_lots
        .iter()
        .zip(&p.product_lot_at)
        .filter(|(_, at)| **at < records_before)
        .map(|(l, _)| l.clone())
        .collect();
    if lots.is_empty() {
        anyhow::bail!("the first {records_before} records make no product lot");
    }

    let readers = ledger.readers();
    let stop = AtomicBool::new(false);
    let (ingested, served) = std::thread::scope(|s| {
        let writer = s.spawn(|| {
            // As terroird's ledger thread does: the writer (and the
            // pipeline threads it spawns) yield the CPU to queries.
            let ingested = priority::lower_current_thread(priority::DEFAULT_WRITER_NICE)
                .context("lowering the writer's priority")
                .and_then(|_| ingest::stream(&mut ledger, batches));
            stop.store(true, Ordering::Relaxed);
            ingested
        });
        let served = serve(&readers, &lots, &stop);
        let ingested = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the ingest thread panicked"));
        (ingested, served)
    });
    // Readers hold the store open: none may outlive the ledger's close.
    drop(readers);
    let seconds = ingested??;
    let served = served?;
    let peak_rss_mib = crate::report::peak_rss_mib();
    let bytes_on_disk = store.size_on_disk()?;
    drop(store);
    drop(ledger.close()?);
    ingest::discard(&live);

    let records_during = p.count - records_before;
    Ok(ServingFigures {
        records_before,
        records_during,
        ingest_per_s: records_during as f64 / seconds.max(1e-9),
        consumer_page: queries::latency(served.page_us, served.page_bytes),
        status: queries::latency(served.status_us, 0),
        peak_rss_mib,
        bytes_on_disk_per_record: bytes_on_disk as f64 / p.count.max(1) as f64,
    })
}
