//! Queries, audit, bundles and storage on the ingested ledger.

use std::path::Path;
use std::time::Instant;

use serde::Serialize;

use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::SledStore;
use ledger_core::{audit, bundle, query, LotId, Reader};

use crate::ingest::{Prepared, NOW};

/// Latency distribution in microseconds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Latency {
    pub samples: usize,
    pub p50_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    /// Mean records (lineage) or lots (closure) per answer.
    pub mean_size: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct QueryFigures {
    pub lineage: Latency,
    pub recall_closure: Latency,
    /// The consumer page of a random product lot: the trace (with the
    /// overlays), the verdict and the HTML, as terroird serves it; the
    /// size is the page's bytes.
    pub consumer_page: Latency,
    /// `consumer_page` p50 over `lineage` p50: what the page adds to the
    /// query under it.
    pub page_vs_lineage: f64,
    pub state_digest_ms: f64,
    pub audit_records_per_s: f64,
    pub bundles_per_s: f64,
    pub bundle_signatures_per_s: f64,
    /// ZIP-215 batch verification (batches of 256), signatures/s,
    /// measured in turns with the bundle verification.
    pub batch_verify_beside_bundles: f64,
    pub bundle_verify_vs_batch: f64,
    /// Peak resident memory (MiB) since the pipelined ingest began:
    /// ingest, serving, queries and audit.
    pub peak_rss_mib: f64,
    /// Opening the closed ledger (sled and the ledger), ms.
    pub reopen_ms: f64,
}

/// A small deterministic generator for picking samples (no `rand` state
/// shared with the workload, so picks are reproducible).
pub(crate) struct Pick(pub u64);

impl Pick {
    pub(crate) fn next(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

/// The distribution of `us` (zeros if empty); `sizes` is the sum of the
/// answers' sizes.
pub(crate) fn latency(mut us: Vec<f64>, sizes: usize) -> Latency {
    us.sort_by(f64::total_cmp);
    let at = |q: f64| match us.len() {
        0 => 0.0,
        n => us[((n - 1) as f64 * q).round() as usize],
    };
    Latency {
        samples: us.len(),
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: us.last().copied().unwrap_or_default(),
        mean_size: sizes as f64 / us.len().max(1) as f64,
    }
}

fn sample<T>(
    lots: &[LotId],
    n: usize,
    seed: u64,
    mut f: impl FnMut(&LotId) -> anyhow::Result<T>,
    size: impl Fn(&T) -> usize,
) -> anyhow::Result<Latency> {
    let mut pick = Pick(seed);
    let mut us = Vec::with_capacity(n);
    let mut total = 0;
    for _ in 0..n {
        let lot = &lots[pick.next(lots.len())];
        let start = Instant::now();
        let out = f(lot)?;
        us.push(start.elapsed().as_secs_f64() * 1e6);
        total += size(&out);
    }
    Ok(latency(us, total))
}

/// Passes over the bundles, each followed by one of the batch-verify
/// primitive.
const BUNDLE_ROUNDS: usize = 5;

/// Signatures in each pass of the batch-verify primitive beside the
/// bundles: eight batches of 256, about as long as a pass over them.
const BUNDLE_PROBE_SIGNATURES: usize = 2_048;

/// The consumer page of `lot` as terroird serves it: the trace (with the
/// overlays), the verdict and the HTML.
pub(crate) fn consumer_page(reader: &Reader<SledStore>, lot: &LotId) -> anyhow::Result<String> {
    let Some(trace) = terroir_node::page::find_lot(reader, lot)? else {
        anyhow::bail!("benchmark lot {lot} has no trace");
    };
    let genesis = reader.genesis();
    let verdict = ledger_core::verdict::verdict(&trace, genesis, NOW);
    let path = format!("/lot/{}/{}", lot.source.to_hex(), lot.code);
    let ctx = terroir_node::page::Ctx {
        genesis,
        network: reader.network(),
        lang: terroir_node::page::Lang::Zh,
        now: NOW,
        path: &path,
    };
    Ok(terroir_node::page::lot_page(&ctx, &trace, &verdict, &[]))
}

pub(crate) fn measure(p: &Prepared, dir: &Path, samples: usize) -> anyhow::Result<QueryFigures> {
    let start = Instant::now();
    let ledger = Ledger::open(SledStore::open(dir)?, LedgerConfig::default())?;
    let reopen_ms = start.elapsed().as_secs_f64() * 1e3;

    let lineage = sample(
        &p.product_lots,
        samples,
        0x9e37_79b9,
        |l| Ok(query::lineage(&ledger, l)?),
        |s| s.len(),
    )?;
    let recall_closure = sample(
        &p.harvest_lots,
        samples,
        0x85eb_ca6b,
        |l| Ok(query::downstream_lots(&ledger, l)?),
        |s| s.len(),
    )?;

    let network = ledger.network();
    let consumer_page = sample(
        &p.product_lots,
        samples,
        0x27d4_eb2f,
        |l| consumer_page(&ledger, l),
        String::len,
    )?;
    let page_vs_lineage = consumer_page.p50_us / lineage.p50_us.max(1e-9);

    let start = Instant::now();
    std::hint::black_box(ledger.state_digest()?);
    let state_digest_ms = start.elapsed().as_secs_f64() * 1e3;

    let mut pick = Pick(0xc2b2_ae35);
    let bundles = 200.min(p.product_lots.len());
    let mut encoded = Vec::with_capacity(bundles);
    let start = Instant::now();
    for _ in 0..bundles {
        let lot = &p.product_lots[pick.next(p.product_lots.len())];
        if let Some(b) = bundle::export(&ledger, lot)? {
            encoded.push((b.records.len(), b.encode()));
        }
    }
    let export_s = start.elapsed().as_secs_f64();
    // Bundle verification and the batch-verify primitive take turns, so
    // their ratio compares the two under the same load.
    let probe = crate::primitives::BatchProbe::new(BUNDLE_PROBE_SIGNATURES);
    let (mut verify_s, mut signatures) = (0.0, 0usize);
    let (mut probe_s, mut probe_signatures) = (0.0, 0usize);
    for _ in 0..BUNDLE_ROUNDS {
        let start = Instant::now();
        for (n, bytes) in &encoded {
            let v = bundle::verify(bytes, &network);
            if !v.verified() {
                anyhow::bail!("a benchmark bundle failed to verify: {:?}", v.failure());
            }
            signatures += n;
        }
        verify_s += start.elapsed().as_secs_f64();
        let (n, s) = probe.run()?;
        probe_signatures += n;
        probe_s += s;
    }
    let verify_s = verify_s.max(1e-9);
    let rounds = BUNDLE_ROUNDS as f64;
    let bundles_per_s = encoded.len() as f64 / (export_s + verify_s / rounds);
    let bundle_signatures_per_s = signatures as f64 / verify_s;
    let batch_verify_beside_bundles = probe_signatures as f64 / probe_s.max(1e-9);

    let scratch = tempfile::tempdir_in(dir.parent().unwrap_or(dir))?;
    let start = Instant::now();
    let report = audit::audit(&ledger, SledStore::open(scratch.path())?, NOW, |_| {})?;
    let audit_records_per_s = report.records as f64 / start.elapsed().as_secs_f64().max(1e-9);
    if !report.passed() {
        anyhow::bail!(
            "the benchmark ledger failed its audit: {:?}",
            report.problems.first()
        );
    }
    Ok(QueryFigures {
        lineage,
        recall_closure,
        consumer_page,
        page_vs_lineage,
        state_digest_ms,
        audit_records_per_s,
        bundles_per_s,
        bundle_signatures_per_s,
        batch_verify_beside_bundles,
        bundle_verify_vs_batch: bundle_signatures_per_s / batch_verify_beside_bundles,
        peak_rss_mib: crate::report::peak_rss_mib(),
        reopen_ms,
    })
}
