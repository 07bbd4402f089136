//! The figures, as a table and as JSON, with ratios to the primitives.

use std::fmt::Write;

use serde::Serialize;

use crate::ingest::{IngestFigures, GROUP_COMMIT, SMALL_BATCH};
use crate::primitives::Primitives;
use crate::queries::QueryFigures;
use crate::replication::ReplicationFigures;
use crate::roundrobin::RoundRobinFigures;
use crate::serving::ServingFigures;
use crate::targets::{self, Check};

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
    /// per record (folds included), if validation cost nothing: the
    /// group-commit rate (one key per insert) over keys per record.
    pub sled_ceiling: f64,
    /// Pages and `/status` while the ledger ingests, and its crash copy
    /// reopened.
    pub serving: ServingFigures,
    pub queries: QueryFigures,
    /// Three `terroird` nodes and a fresh fourth; absent with
    /// `--replicate 0` or when the cluster run failed.
    pub replication: Option<ReplicationFigures>,
    /// Why the cluster run failed, if it did.
    pub replication_error: Option<String>,
    /// One author's chain written round-robin through four nodes; absent
    /// with `--roundrobin 0` or when the run failed.
    pub roundrobin: Option<RoundRobinFigures>,
    /// Why the round-robin run failed, if it did.
    pub roundrobin_error: Option<String>,
    /// Replication throughput (B and C hold every record) over ingest on
    /// one thread, measured in the same run.
    pub replicated_vs_ingest: Option<f64>,
    /// The fresh node's catch-up rate over ingest on one thread.
    pub catch_up_vs_ingest: Option<f64>,
    /// Every figure of issue #11 against its target.
    pub targets: Checks,
}

/// Every figure of issue #11 against its target ([`crate::targets`]);
/// the replication ones are absent with `--replicate 0`.
#[derive(Debug, Serialize)]
pub(crate) struct Checks {
    /// sled keys written before the acknowledgement, per record.
    pub log_keys_per_record: Check,
    /// Bytes on disk per record, batches of 1,000, closed.
    pub bytes_on_disk_batch_1000: Check,
    /// Bytes on disk per record, batches of 10, closed.
    pub bytes_on_disk_batch_10: Check,
    /// Pipelined ingest over the limit.
    pub pipelined_vs_limit: Check,
    /// Consumer page p99 (ms) while ingesting.
    pub page_while_ingesting: Check,
    /// `/status` p99 (ms) while ingesting.
    pub status_while_ingesting: Check,
    /// Lineage p99 (ms), full ledger.
    pub lineage: Check,
    /// Recall closure p99 (ms), full ledger.
    pub recall: Check,
    /// Records a fresh node received per record it needed.
    pub catch_up_received_per_record: Option<Check>,
    /// Catch-up rate over single-node ingest.
    pub catch_up_vs_ingest: Option<Check>,
    /// Records the fresh node's full pending pool dropped.
    pub catch_up_pool_drops: Option<Check>,
    /// Reopening the closed ledger (s).
    pub reopen_closed: Check,
    /// Reopening a ledger whose process was killed (s).
    pub reopen_killed: Check,
    /// Peak resident memory (MiB), pipelined ingest.
    pub peak_rss_ingest: Check,
    /// Peak resident memory (MiB), ingest while serving.
    pub peak_rss_serving: Check,
    /// Three-node replication rate over single-node ingest.
    pub replicated_vs_ingest: Option<Check>,
    /// Propagation p99 (s).
    pub propagation: Option<Check>,
    /// Round-robin chain: converged after the last write (s).
    pub roundrobin_converged: Option<Check>,
    /// Checks made (the replication ones only with a cluster run).
    pub made: usize,
    /// Checks passed.
    pub passed: usize,
    /// Targets not measured in this run.
    pub not_measured: usize,
}

impl Checks {
    fn new(
        records: usize,
        ingest: &IngestFigures,
        serving: &ServingFigures,
        queries: &QueryFigures,
        replication: Option<&ReplicationFigures>,
        roundrobin: Option<&RoundRobinFigures>,
    ) -> Self {
        let ms = |us: f64| us / 1e3;
        let r = replication;
        let mut checks = Checks {
            log_keys_per_record: targets::LOG_KEYS_PER_RECORD.check(ingest.log_keys_per_record),
            bytes_on_disk_batch_1000: targets::BYTES_ON_DISK_PER_RECORD
                .check(ingest.bytes_on_disk_per_record),
            bytes_on_disk_batch_10: targets::BYTES_ON_DISK_PER_RECORD
                .check(ingest.small_batch_bytes_on_disk_per_record),
            pipelined_vs_limit: targets::pipelined_vs_limit(records)
                .check(ingest.all_cores / ingest.limit),
            page_while_ingesting: targets::PAGE_WHILE_INGESTING
                .check(ms(serving.consumer_page.p99_us)),
            status_while_ingesting: targets::STATUS_WHILE_INGESTING
                .check(ms(serving.status.p99_us)),
            lineage: targets::LINEAGE.check(ms(queries.lineage.p99_us)),
            recall: targets::RECALL.check(ms(queries.recall_closure.p99_us)),
            catch_up_received_per_record: r.map(|r| {
                targets::CATCH_UP_RECEIVED_PER_RECORD
                    .check(r.catch_up_received as f64 / r.records.max(1) as f64)
            }),
            catch_up_vs_ingest: r.map(|r| {
                targets::CATCH_UP_VS_INGEST.check(r.catch_up_per_s / ingest.single_thread)
            }),
            catch_up_pool_drops: r
                .map(|r| targets::CATCH_UP_POOL_DROPS.check(r.catch_up_pool_full as f64)),
            reopen_closed: targets::REOPEN.check(queries.reopen_ms / 1e3),
            reopen_killed: targets::REOPEN.check(ingest.killed_reopen_ms / 1e3),
            peak_rss_ingest: targets::PEAK_RSS.check(ingest.peak_rss_mib),
            peak_rss_serving: targets::PEAK_RSS.check(serving.peak_rss_mib),
            replicated_vs_ingest: r.map(|r| {
                targets::REPLICATED_VS_INGEST.check(r.replicated_per_s / ingest.single_thread)
            }),
            propagation: r.map(|r| targets::PROPAGATION.check(r.propagation.p99_ms / 1e3)),
            roundrobin_converged: roundrobin.map(|r| {
                targets::ROUNDROBIN_CONVERGED.check(r.converged_after_last_write_ms / 1e3)
            }),
            made: 0,
            passed: 0,
            not_measured: 0,
        };
        let all = checks.all();
        let made: Vec<&Check> = all.iter().flatten().collect();
        checks.made = made.len();
        checks.passed = made.iter().filter(|c| c.pass).count();
        checks.not_measured = all.len() - made.len();
        checks
    }

    /// Every target's check, `None` where not measured.
    fn all(&self) -> Vec<Option<Check>> {
        [
            Some(self.log_keys_per_record),
            Some(self.bytes_on_disk_batch_1000),
            Some(self.bytes_on_disk_batch_10),
            Some(self.pipelined_vs_limit),
            Some(self.page_while_ingesting),
            Some(self.status_while_ingesting),
            Some(self.lineage),
            Some(self.recall),
            self.catch_up_received_per_record,
            self.catch_up_vs_ingest,
            self.catch_up_pool_drops,
            Some(self.reopen_closed),
            Some(self.reopen_killed),
            Some(self.peak_rss_ingest),
            Some(self.peak_rss_serving),
            self.replicated_vs_ingest,
            self.propagation,
            self.roundrobin_converged,
        ]
        .into_iter()
        .collect()
    }
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

/// The runs of real `terroird` clusters: each absent when skipped, an
/// error when it failed.
pub(crate) struct Clusters {
    pub replication: Option<Result<ReplicationFigures, String>>,
    pub roundrobin: Option<Result<RoundRobinFigures, String>>,
}

impl Figures {
    pub(crate) fn new(
        records: usize,
        cores: usize,
        primitives: Primitives,
        ingest: IngestFigures,
        serving: ServingFigures,
        queries: QueryFigures,
        clusters: Clusters,
    ) -> Self {
        let (replication, replication_error) = match clusters.replication {
            Some(Ok(r)) => (Some(r), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        let (roundrobin, roundrobin_error) = match clusters.roundrobin {
            Some(Ok(r)) => (Some(r), None),
            Some(Err(why)) => (None, Some(why)),
            None => (None, None),
        };
        let one_core_limit = primitives.verify_batch.min(primitives.sled_group_commit);
        let targets = Checks::new(
            records,
            &ingest,
            &serving,
            &queries,
            replication.as_ref(),
            roundrobin.as_ref(),
        );
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
            serving,
            queries,
            replication,
            replication_error,
            roundrobin,
            roundrobin_error,
            targets,
        }
    }

    pub(crate) fn table(&self) -> String {
        let p = &self.primitives;
        let i = &self.ingest;
        let s = &self.serving;
        let q = &self.queries;
        let c = &self.targets;
        let mut table = Table::new("target (#11)");
        let mut row = |name: &str, value: String, target: Option<&Check>, note: String| {
            table.row(name, &value, target, &note)
        };
        row(
            "ed25519 verify, ZIP-215, single",
            format!("{:.0}/s", p.verify_zip215),
            None,
            "primitive".into(),
        );
        row(
            "ed25519 verify_strict (dalek), single",
            format!("{:.0}/s", p.verify_strict),
            None,
            format!("{:.2}× ZIP-215 single", p.verify_strict / p.verify_zip215),
        );
        row(
            "ed25519 verify, ZIP-215, batch of 256",
            format!("{:.0}/s", p.verify_batch),
            None,
            format!("{:.2}× single", p.verify_batch / p.verify_zip215),
        );
        row(
            "SHA-256",
            format!("{:.0} MB/s", p.sha256_mb_s),
            None,
            format!("{:.0} × 300 B/s", p.sha256_300b),
        );
        row(
            "sled insert, flush per 1,000",
            format!("{:.0}/s", p.sled_group_commit),
            None,
            "primitive".into(),
        );
        row(
            "sled insert, flush per insert",
            format!("{:.0}/s", p.sled_flush_each),
            None,
            format!(
                "{:.3}× group commit",
                p.sled_flush_each / p.sled_group_commit
            ),
        );
        row(
            &format!("ingest, 1 thread ({} records)", self.records),
            format!("{:.0}/s", i.single_thread),
            None,
            format!(
                "{:.2}× one-core limit; batches of {GROUP_COMMIT}",
                self.ingest_single_vs_limit
            ),
        );
        row(
            &format!("ingest, 1 thread, batches of {SMALL_BATCH}"),
            format!("{:.0}/s", i.small_batches),
            None,
            format!(
                "{:.2}× batches of {GROUP_COMMIT}; one flush per batch",
                i.small_batches / i.single_thread
            ),
        );
        row(
            "ingest, 1 thread, in-memory store",
            format!("{:.0}/s", i.in_memory),
            None,
            format!(
                "{:.2}× batch verify: validation alone",
                i.in_memory / p.verify_batch
            ),
        );
        row(
            "sled keys per record, acknowledged path",
            format!("{:.2}", i.log_keys_per_record),
            Some(&c.log_keys_per_record),
            "written before a batch is acknowledged (write_stats: log keys)".into(),
        );
        row(
            "sled keys per record, folds included",
            format!("{:.2}", i.keys_per_record),
            None,
            format!(
                "{} folds; batches of {SMALL_BATCH}: {:.2}; sled ceiling {:.0}/s = {:.2}× limit",
                i.write_stats.folds,
                (i.small_batch_write_stats.log_keys + i.small_batch_write_stats.fold_keys) as f64
                    / self.records.max(1) as f64,
                self.sled_ceiling,
                self.sled_ceiling / i.limit
            ),
        );
        row(
            &format!("ingest, {} cores, pipelined", i.cores),
            format!("{:.0}/s", i.all_cores),
            Some(&c.pipelined_vs_limit),
            format!(
                "{:.2}× limit {:.0}/s ({})",
                self.ingest_all_cores_vs_limit, i.limit, i.limit_bound_by
            ),
        );
        row(
            "ingest while serving (second half)",
            format!("{:.0}/s", s.ingest_per_s),
            None,
            format!(
                "{:.2}× pipelined; {} records onto {}",
                s.ingest_per_s / i.all_cores,
                s.records_during,
                s.records_before
            ),
        );
        row(
            "consumer page, while ingesting",
            format!("p99 {:.0} µs", s.consumer_page.p99_us),
            Some(&c.page_while_ingesting),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {} samples",
                s.consumer_page.p50_us, s.consumer_page.max_us, s.consumer_page.samples
            ),
        );
        row(
            "/status, while ingesting",
            format!("p99 {:.0} µs", s.status.p99_us),
            Some(&c.status_while_ingesting),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {} samples (counts and digest)",
                s.status.p50_us, s.status.max_us, s.status.samples
            ),
        );
        row(
            "lineage of a random product lot",
            format!("p99 {:.0} µs", q.lineage.p99_us),
            Some(&c.lineage),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {:.1} records",
                q.lineage.p50_us, q.lineage.max_us, q.lineage.mean_size
            ),
        );
        row(
            "recall closure of a random harvest lot",
            format!("p99 {:.0} µs", q.recall_closure.p99_us),
            Some(&c.recall),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {:.1} lots",
                q.recall_closure.p50_us, q.recall_closure.max_us, q.recall_closure.mean_size
            ),
        );
        row(
            "consumer page, idle",
            format!("p99 {:.0} µs", q.consumer_page.p99_us),
            None,
            format!(
                "p50 {:.0} µs, max {:.0} µs, {:.1}× lineage p50, {:.0} bytes",
                q.consumer_page.p50_us,
                q.consumer_page.max_us,
                q.page_vs_lineage,
                q.consumer_page.mean_size
            ),
        );
        row(
            "state digest",
            format!("{:.0} µs", q.state_digest_ms * 1e3),
            None,
            "what /status reads; full ledger, idle".into(),
        );
        row(
            "full audit",
            format!("{:.0} records/s", q.audit_records_per_s),
            None,
            format!(
                "{:.2}× ingest, 1 thread",
                q.audit_records_per_s / i.single_thread
            ),
        );
        row(
            "bundle export + offline verify",
            format!("{:.0}/s", q.bundles_per_s),
            None,
            format!(
                "verify {:.0} sig/s = {:.2}× batch verify ({:.0}/s, timed in turns)",
                q.bundle_signatures_per_s, q.bundle_verify_vs_batch, q.batch_verify_beside_bundles
            ),
        );
        for (batch, bytes, check) in [
            (
                GROUP_COMMIT,
                i.bytes_on_disk_per_record,
                &c.bytes_on_disk_batch_1000,
            ),
            (
                SMALL_BATCH,
                i.small_batch_bytes_on_disk_per_record,
                &c.bytes_on_disk_batch_10,
            ),
        ] {
            row(
                &format!("bytes on disk per record, batches of {batch}"),
                format!("{bytes:.0} B"),
                Some(check),
                format!(
                    "{:.1}× the {:.0}-byte record; closed",
                    bytes / i.mean_record_bytes,
                    i.mean_record_bytes
                ),
            );
        }
        row(
            "bytes on disk per record, after serving",
            format!("{:.0} B", s.bytes_on_disk_per_record),
            None,
            "pipelined, read while ingesting; still open".into(),
        );
        row(
            "peak resident memory, ingest",
            format!("{:.0} MiB", i.peak_rss_mib),
            Some(&c.peak_rss_ingest),
            "one sled ledger open, pipelined ingest".into(),
        );
        row(
            "peak resident memory, ingest + serving",
            format!("{:.0} MiB", s.peak_rss_mib),
            Some(&c.peak_rss_serving),
            "pipelined ingest, pages and /status on another thread".into(),
        );
        row(
            "peak resident memory, all",
            format!("{:.0} MiB", q.peak_rss_mib),
            None,
            "also queries and audit (two sled ledgers open)".into(),
        );
        row(
            "reopen, closed",
            format!("{:.0} ms", q.reopen_ms),
            Some(&c.reopen_closed),
            "sled and the ledger; nothing to derive".into(),
        );
        row(
            "reopen, killed",
            format!("{:.0} ms", i.killed_reopen_ms),
            Some(&c.reopen_killed),
            "SIGKILLed after its last ack; derives the unfolded tail again".into(),
        );
        if let Some(r) = &self.replication {
            row(
                &format!("3 nodes: accepted by A ({} records)", r.records),
                format!("{:.0}/s", r.accepted_per_s),
                None,
                format!(
                    "{:.2}× ingest, 1 thread; POSTs of {}",
                    r.accepted_per_s / i.single_thread,
                    r.submit_batch
                ),
            );
            row(
                "3 nodes: replicated to B and C",
                format!("{:.0}/s", r.replicated_per_s),
                c.replicated_vs_ingest.as_ref(),
                format!(
                    "{:.2}× ingest, 1 thread; done {:.0} ms after A's last ack; digests {}; pool drops {}",
                    self.replicated_vs_ingest.unwrap_or_default(),
                    r.lag_after_last_ack_ms,
                    if r.digests_equal { "equal" } else { "DIFFER" },
                    r.pool_full
                ),
            );
            row(
                "3 nodes: propagation, sent to A → B/C",
                format!("p99 {:.0} ms", r.propagation.p99_ms),
                c.propagation.as_ref(),
                format!(
                    "p50 {:.0} ms, max {:.0} ms, {} samples; A answers in p50 {:.0} ms; poll {:.1} ms",
                    r.propagation.p50_ms,
                    r.propagation.max_ms,
                    r.propagation.samples,
                    r.submit_ack.p50_ms,
                    r.poll_sweep_ms
                ),
            );
            row(
                "fresh node catch-up (sync from A)",
                format!("{:.0}/s", r.catch_up_per_s),
                c.catch_up_vs_ingest.as_ref(),
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
            row(
                "fresh node: records received per record",
                format!(
                    "{:.3}",
                    r.catch_up_received as f64 / r.records.max(1) as f64
                ),
                c.catch_up_received_per_record.as_ref(),
                format!(
                    "{} received by sync and gossip for {}",
                    r.catch_up_received, r.records
                ),
            );
            row(
                "fresh node: pending-pool drops",
                format!("{}", r.catch_up_pool_full),
                c.catch_up_pool_drops.as_ref(),
                "terroir_records_pool_full_total".into(),
            );
        }
        if let Some(why) = &self.replication_error {
            row(
                "3 nodes and a fresh node",
                "FAILED".into(),
                None,
                format!("not measured: {why}"),
            );
        }
        if let Some(r) = &self.roundrobin {
            row(
                &format!("4 nodes: one chain round-robin ({} records)", r.records),
                format!("{:.2} s", r.converged_after_last_write_ms / 1e3),
                c.roundrobin_converged.as_ref(),
                format!(
                    "converged after the last write; POSTs of {} to node k % 4 in {:.1} s, {} \
                     pending where written; sync every {} ms; pool drops {}",
                    r.batch,
                    r.write_ms / 1e3,
                    r.pending_where_written,
                    r.sync_interval_ms,
                    r.pool_full
                ),
            );
        }
        if let Some(why) = &self.roundrobin_error {
            row(
                "4 nodes: one chain round-robin",
                "FAILED".into(),
                None,
                format!("not measured: {why}"),
            );
        }
        let mut t = table.into_string();
        let _ = writeln!(
            t,
            "\ntargets met: {} of {} measured, {} not measured (targets are for 1,000,000 records)",
            c.passed, c.made, c.not_measured
        );
        t
    }
}

/// A figures table in Markdown: figure, value, target mark, ratio or note.
pub(crate) struct Table(String);

impl Table {
    /// A table whose target column is headed `target_heading`.
    pub(crate) fn new(target_heading: &str) -> Self {
        let mut t = Table(String::new());
        t.cells("figure", "value", target_heading, "ratio / note");
        t.cells("---", "---", "---", "---");
        t
    }

    fn cells(&mut self, name: &str, value: &str, target: &str, note: &str) {
        use std::fmt::Write;
        let _ = writeln!(
            self.0,
            "| {name:<42} | {value:>16} | {target:<20} | {note} |"
        );
    }

    /// One figure, with its target's mark if it has one.
    pub(crate) fn row(&mut self, name: &str, value: &str, target: Option<&Check>, note: &str) {
        let mark = target.map(Check::mark).unwrap_or_default();
        self.cells(name, value, &mark, note);
    }

    /// The table's text.
    pub(crate) fn into_string(self) -> String {
        self.0
    }
}
