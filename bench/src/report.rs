//! The figures, as a table and as JSON, with ratios to the primitives.

use std::fmt::Write;

use serde::Serialize;

use crate::ingest::IngestFigures;
use crate::primitives::Primitives;
use crate::queries::QueryFigures;
use crate::replication::ReplicationFigures;

#[derive(Debug, Serialize)]
pub(crate) struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub os: String,
}

#[derive(Debug, Serialize)]
pub(crate) struct Figures {
    pub machine: Machine,
    pub records: usize,
    pub primitives: Primitives,
    pub ingest: IngestFigures,
    /// Ingest on one thread over the one-core limit (batch verify rate,
    /// capped by group commit).
    pub ingest_single_vs_limit: f64,
    /// Ingest on all cores over the all-core limit.
    pub ingest_all_cores_vs_limit: f64,
    /// The most records/s sled could take at the keys the ledger writes
    /// per record, if validation cost nothing: the group-commit rate (one
    /// key per insert) over keys per record.
    pub sled_ceiling: f64,
    pub queries: QueryFigures,
    /// Three `terroird` nodes and a fresh fourth; absent with
    /// `--replicate 0`.
    pub replication: Option<ReplicationFigures>,
    /// Replication throughput (B and C hold every record) over ingest on
    /// one thread, measured in the same run.
    pub replicated_vs_ingest: Option<f64>,
    /// The fresh node's catch-up rate over ingest on one thread.
    pub catch_up_vs_ingest: Option<f64>,
}

/// Resets the kernel's peak-RSS mark (Linux; elsewhere a no-op), so the
/// figure reflects the ledger, not the workload generation before it.
pub(crate) fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// Peak resident memory in MiB (VmHWM), or 0 where unknown.
pub(crate) fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into())
}

impl Figures {
    pub(crate) fn new(
        records: usize,
        cores: usize,
        primitives: Primitives,
        ingest: IngestFigures,
        queries: QueryFigures,
        replication: Option<ReplicationFigures>,
    ) -> Self {
        let one_core_limit = primitives.verify_batch.min(primitives.sled_group_commit);
        Figures {
            machine: Machine {
                cpu: cpu_model(),
                cores,
                os: std::env::consts::OS.into(),
            },
            records,
            ingest_single_vs_limit: ingest.single_thread / one_core_limit,
            ingest_all_cores_vs_limit: ingest.all_cores / ingest.limit,
            sled_ceiling: primitives.sled_group_commit / ingest.keys_per_record.max(1e-9),
            replicated_vs_ingest: replication
                .as_ref()
                .map(|r| r.replicated_per_s / ingest.single_thread),
            catch_up_vs_ingest: replication
                .as_ref()
                .map(|r| r.catch_up_per_s / ingest.single_thread),
            primitives,
            ingest,
            queries,
            replication,
        }
    }

    pub(crate) fn table(&self) -> String {
        let p = &self.primitives;
        let i = &self.ingest;
        let q = &self.queries;
        let mut t = String::new();
        let mut row = |name: &str, value: String, note: String| {
            let _ = writeln!(t, "| {name:<38} | {value:>16} | {note} |");
        };
        row("figure", "value".into(), "ratio / note".into());
        row("---", "---".into(), "---".into());
        row(
            "ed25519 verify, ZIP-215, single",
            format!("{:.0}/s", p.verify_zip215),
            "primitive".into(),
        );
        row(
            "ed25519 verify_strict (dalek), single",
            format!("{:.0}/s", p.verify_strict),
            format!("{:.2}× ZIP-215 single", p.verify_strict / p.verify_zip215),
        );
        row(
            "ed25519 verify, ZIP-215, batch of 256",
            format!("{:.0}/s", p.verify_batch),
            format!("{:.2}× single", p.verify_batch / p.verify_zip215),
        );
        row(
            "SHA-256",
            format!("{:.0} MB/s", p.sha256_mb_s),
            format!("{:.0} × 300 B/s", p.sha256_300b),
        );
        row(
            "sled insert, flush per 1,000",
            format!("{:.0}/s", p.sled_group_commit),
            "primitive".into(),
        );
        row(
            "sled insert, flush per insert",
            format!("{:.0}/s", p.sled_flush_each),
            format!(
                "{:.3}× group commit",
                p.sled_flush_each / p.sled_group_commit
            ),
        );
        row(
            &format!("ingest, 1 thread ({} records)", self.records),
            format!("{:.0}/s", i.single_thread),
            format!("{:.2}× one-core limit", self.ingest_single_vs_limit),
        );
        row(
            "ingest, 1 thread, in-memory store",
            format!("{:.0}/s", i.in_memory),
            format!(
                "{:.2}× batch verify: validation alone",
                i.in_memory / p.verify_batch
            ),
        );
        row(
            "store keys written per record",
            format!("{:.2}", i.keys_per_record),
            format!(
                "sled ceiling {:.0}/s = {:.2}× limit (group commit ÷ keys)",
                self.sled_ceiling,
                self.sled_ceiling / i.limit
            ),
        );
        row(
            &format!("ingest, {} cores, pipelined", i.cores),
            format!("{:.0}/s", i.all_cores),
            format!(
                "{:.2}× limit {:.0}/s ({})",
                self.ingest_all_cores_vs_limit, i.limit, i.limit_bound_by
            ),
        );
        row(
            "lineage of a random product lot",
            format!("p50 {:.0} µs", q.lineage.p50_us),
            format!(
                "p99 {:.0} µs, max {:.0} µs, {:.1} records",
                q.lineage.p99_us, q.lineage.max_us, q.lineage.mean_size
            ),
        );
        row(
            "recall closure of a random harvest lot",
            format!("p50 {:.0} µs", q.recall_closure.p50_us),
            format!(
                "p99 {:.0} µs, max {:.0} µs, {:.1} lots",
                q.recall_closure.p99_us, q.recall_closure.max_us, q.recall_closure.mean_size
            ),
        );
        row(
            "consumer page of a random product lot",
            format!("p50 {:.0} µs", q.consumer_page.p50_us),
            format!(
                "p99 {:.0} µs, max {:.0} µs, {:.1}× lineage p50, {:.0} bytes",
                q.consumer_page.p99_us,
                q.consumer_page.max_us,
                q.page_vs_lineage,
                q.consumer_page.mean_size
            ),
        );
        row(
            "state digest",
            format!("{:.0} ms", q.state_digest_ms),
            format!(
                "{:.0} records/ms",
                self.records as f64 / q.state_digest_ms.max(1e-9)
            ),
        );
        row(
            "full audit",
            format!("{:.0} records/s", q.audit_records_per_s),
            format!(
                "{:.2}× ingest, 1 thread",
                q.audit_records_per_s / i.single_thread
            ),
        );
        row(
            "bundle export + offline verify",
            format!("{:.0}/s", q.bundles_per_s),
            format!(
                "verify {:.0} sig/s = {:.2}× batch verify ({:.0}/s, timed in turns)",
                q.bundle_signatures_per_s, q.bundle_verify_vs_batch, q.batch_verify_beside_bundles
            ),
        );
        row(
            "bytes on disk per record",
            format!("{:.0} B", q.bytes_on_disk_per_record),
            format!(
                "{:.1}× the {:.0}-byte record",
                q.bytes_on_disk_per_record / i.mean_record_bytes,
                i.mean_record_bytes
            ),
        );
        row(
            "peak resident memory, ingest",
            format!("{:.0} MiB", i.peak_rss_mib),
            "one sled ledger open, pipelined ingest".into(),
        );
        row(
            "peak resident memory, all",
            format!("{:.0} MiB", q.peak_rss_mib),
            "ingest, queries and audit (two sled ledgers open)".into(),
        );
        row("reopen", format!("{:.0} ms", q.reopen_ms), String::new());
        if let Some(r) = &self.replication {
            row(
                &format!("3 nodes: accepted by A ({} records)", r.records),
                format!("{:.0}/s", r.accepted_per_s),
                format!(
                    "{:.2}× ingest, 1 thread; POSTs of {}",
                    r.accepted_per_s / i.single_thread,
                    r.submit_batch
                ),
            );
            row(
                "3 nodes: replicated to B and C",
                format!("{:.0}/s", r.replicated_per_s),
                format!(
                    "{:.2}× ingest, 1 thread; done {:.0} ms after A's last ack; digests {}",
                    self.replicated_vs_ingest.unwrap_or_default(),
                    r.lag_after_last_ack_ms,
                    if r.digests_equal { "equal" } else { "DIFFER" }
                ),
            );
            row(
                "3 nodes: propagation, sent to A → B/C",
                format!("p50 {:.0} ms", r.propagation.p50_ms),
                format!(
                    "p99 {:.0} ms, max {:.0} ms, {} samples; A answers in p50 {:.0} ms; poll {:.1} ms",
                    r.propagation.p99_ms,
                    r.propagation.max_ms,
                    r.propagation.samples,
                    r.submit_ack.p50_ms,
                    r.poll_sweep_ms
                ),
            );
            row(
                "fresh node catch-up (sync from A)",
                format!("{:.0}/s", r.catch_up_per_s),
                format!(
                    "{:.2}× ingest, 1 thread; {:.0} ms; started in {:.0} ms; digest {}",
                    self.catch_up_vs_ingest.unwrap_or_default(),
                    r.catch_up_ms,
                    r.fresh_node_start_ms,
                    if r.catch_up_digest_equal {
                        "equal"
                    } else {
                        "DIFFERS"
                    }
                ),
            );
        }
        t
    }
}
