//! Prometheus counters and gauges, rendered in the text exposition format.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

/// The node's metrics. Plain atomics: every writer only adds or sets.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Records validated and stored.
    pub records_accepted: AtomicU64,
    /// Records already stored when they arrived.
    pub records_duplicate: AtomicU64,
    /// Records parked in the pending pool.
    pub records_pending: AtomicU64,
    /// Records that broke a rule.
    pub records_rejected: AtomicU64,
    /// Records dropped because the pending pool was full.
    pub records_pool_full: AtomicU64,
    /// Records of authors not known as enrolled refused because the
    /// pending pool's room for strangers was spent.
    pub records_stranger_full: AtomicU64,
    /// Strangers' records refused because the source they came from (a
    /// client address or peer) already had its share of that room.
    pub records_stranger_source_full: AtomicU64,
    /// Records refused because they were dated too far ahead to wait.
    pub records_too_far_ahead: AtomicU64,
    /// Records dropped from the pending pool after waiting too long.
    pub records_expired: AtomicU64,
    /// Gossip messages received.
    pub gossip_received: AtomicU64,
    /// Gossip messages ignored unvalidated because the node was busy.
    pub gossip_dropped: AtomicU64,
    /// Ledger ingests of gossip batches.
    pub gossip_batches: AtomicU64,
    /// Sync requests answered.
    pub sync_served: AtomicU64,
    /// Sync responses received.
    pub sync_received: AtomicU64,
    /// Records carried by sync responses.
    pub sync_records: AtomicU64,
    /// Records carried by sync responses that were already stored.
    pub sync_records_duplicate: AtomicU64,
    /// Pages of peers' logs ingested while catching up.
    pub sync_log_pages: AtomicU64,
    /// Records carried by log pages (also counted in `sync_records`).
    pub sync_log_records: AtomicU64,
    /// Records carried by log pages that were already stored.
    pub sync_log_records_duplicate: AtomicU64,
    /// Records carried by log pages that had to wait in the pending pool.
    /// Pages come in causal order, so this stays near 0.
    pub sync_log_records_pending: AtomicU64,
    /// Catch-ups that reached the end of a peer's log.
    pub sync_logs_completed: AtomicU64,
    /// Strikes given to peers for invalid data.
    pub peer_strikes: AtomicU64,
    /// Peers banned.
    pub peers_banned: AtomicU64,
    /// HTTP requests served.
    pub http_requests: AtomicU64,
    /// `POST /records` bodies read in full, counted before they are parsed
    /// and judged: with the answers clients got, it tells how many
    /// submissions are still being worked on.
    pub submissions_received: AtomicU64,
    /// Gauge: stored records.
    pub ledger_records: AtomicU64,
    /// Gauge: records in the pending pool.
    pub ledger_pending: AtomicU64,
    /// Gauge: connected peers.
    pub peers_connected: AtomicU64,
    /// Gauge: peers connected before and lost since (being dialled again).
    pub peers_lost: AtomicU64,
    /// Gauge: peers in the peer book.
    pub peers_known: AtomicU64,
    /// Dials of peers started.
    pub peer_dials: AtomicU64,
    /// Dials of peers that failed.
    pub peer_dial_failures: AtomicU64,
    /// Links closed because a ping failed.
    pub peer_links_dropped: AtomicU64,
    /// Inbound peer connections refused: a banned peer, a new peer from a
    /// banned address, or over a connection limit.
    pub peer_connections_refused: AtomicU64,
    /// Peers' sync requests refused (over budget, busy).
    pub sync_refused: AtomicU64,
    /// Peers' sync requests held until their peer's budget allowed them.
    pub sync_held: AtomicU64,
    /// Bytes of records and heads sent in answer to peers' sync requests.
    pub sync_bytes_served: AtomicU64,
    /// Checkpoints this node proposed.
    pub checkpoints_proposed: AtomicU64,
    /// Checkpoints this node cosigned.
    pub checkpoints_cosigned: AtomicU64,
    /// Final checkpoints applied to the log.
    pub checkpoints_applied: AtomicU64,
    /// Checkpoints refused: they did not extend the newest, were dated
    /// wrong, or stated what this node's records do not give.
    pub checkpoints_refused: AtomicU64,
    /// Pairs of signed checkpoints found contradicting each other.
    pub checkpoint_conflicts: AtomicU64,
}

impl Metrics {
    /// Adds one to a counter.
    pub fn inc(&self, c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n` to a counter.
    pub fn add(&self, c: &AtomicU64, n: usize) {
        c.fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Sets the ledger gauges.
    pub fn set_gauges(&self, records: u64, pending: usize) {
        self.ledger_records.store(records, Ordering::Relaxed);
        self.ledger_pending.store(
            u64::try_from(pending).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let rows: [Row<'_>; 42] = [
            (
                "terroir_records_accepted_total",
                "counter",
                "Records validated and stored.",
                &self.records_accepted,
            ),
            (
                "terroir_records_duplicate_total",
                "counter",
                "Records already stored on arrival.",
                &self.records_duplicate,
            ),
            (
                "terroir_records_pending_total",
                "counter",
                "Records parked in the pending pool.",
                &self.records_pending,
            ),
            (
                "terroir_records_rejected_total",
                "counter",
                "Records that broke a validation rule.",
                &self.records_rejected,
            ),
            (
                "terroir_records_pool_full_total",
                "counter",
                "Records dropped because the pending pool was full.",
                &self.records_pool_full,
            ),
            (
                "terroir_records_stranger_full_total",
                "counter",
                "Records of authors not known as enrolled refused because the pending pool's room for strangers was spent.",
                &self.records_stranger_full,
            ),
            (
                "terroir_records_stranger_source_full_total",
                "counter",
                "Records of authors not known as enrolled refused because the client or peer they came from already had its share of the pending pool's room for strangers.",
                &self.records_stranger_source_full,
            ),
            (
                "terroir_records_too_far_ahead_total",
                "counter",
                "Records refused because they were dated too far ahead of the clock to wait.",
                &self.records_too_far_ahead,
            ),
            (
                "terroir_records_expired_total",
                "counter",
                "Records dropped from the pending pool after waiting too long.",
                &self.records_expired,
            ),
            (
                "terroir_gossip_received_total",
                "counter",
                "Gossip messages received.",
                &self.gossip_received,
            ),
            (
                "terroir_gossip_dropped_total",
                "counter",
                "Gossip messages ignored unvalidated because the node was busy.",
                &self.gossip_dropped,
            ),
            (
                "terroir_gossip_batches_total",
                "counter",
                "Ledger ingests of gossip batches.",
                &self.gossip_batches,
            ),
            (
                "terroir_sync_served_total",
                "counter",
                "Sync requests answered.",
                &self.sync_served,
            ),
            (
                "terroir_sync_received_total",
                "counter",
                "Sync responses received.",
                &self.sync_received,
            ),
            (
                "terroir_sync_records_total",
                "counter",
                "Records carried by sync responses.",
                &self.sync_records,
            ),
            (
                "terroir_sync_records_duplicate_total",
                "counter",
                "Records carried by sync responses that were already stored.",
                &self.sync_records_duplicate,
            ),
            (
                "terroir_sync_log_pages_total",
                "counter",
                "Pages of peers' logs ingested while catching up.",
                &self.sync_log_pages,
            ),
            (
                "terroir_sync_log_records_total",
                "counter",
                "Records carried by log pages (included in terroir_sync_records_total).",
                &self.sync_log_records,
            ),
            (
                "terroir_sync_log_records_duplicate_total",
                "counter",
                "Records carried by log pages that were already stored.",
                &self.sync_log_records_duplicate,
            ),
            (
                "terroir_sync_log_records_pending_total",
                "counter",
                "Records carried by log pages that had to wait in the pending pool.",
                &self.sync_log_records_pending,
            ),
            (
                "terroir_sync_logs_completed_total",
                "counter",
                "Catch-ups that reached the end of a peer's log.",
                &self.sync_logs_completed,
            ),
            (
                "terroir_peer_strikes_total",
                "counter",
                "Strikes given to peers for invalid data or too many sync requests at once.",
                &self.peer_strikes,
            ),
            (
                "terroir_peers_banned_total",
                "counter",
                "Peers disconnected and banned.",
                &self.peers_banned,
            ),
            (
                "terroir_http_requests_total",
                "counter",
                "HTTP requests served.",
                &self.http_requests,
            ),
            (
                "terroir_submissions_received_total",
                "counter",
                "Record submissions (POST /records) whose body was read in full.",
                &self.submissions_received,
            ),
            (
                "terroir_ledger_records",
                "gauge",
                "Records stored.",
                &self.ledger_records,
            ),
            (
                "terroir_ledger_pending",
                "gauge",
                "Records waiting in the pending pool.",
                &self.ledger_pending,
            ),
            (
                "terroir_peers_connected",
                "gauge",
                "Connected peers.",
                &self.peers_connected,
            ),
            (
                "terroir_peers_lost",
                "gauge",
                "Peers connected before and lost since, being dialled again.",
                &self.peers_lost,
            ),
            (
                "terroir_peers_known",
                "gauge",
                "Peers in the peer book.",
                &self.peers_known,
            ),
            (
                "terroir_peer_dials_total",
                "counter",
                "Dials of peers started.",
                &self.peer_dials,
            ),
            (
                "terroir_peer_dial_failures_total",
                "counter",
                "Dials of peers that failed.",
                &self.peer_dial_failures,
            ),
            (
                "terroir_peer_links_dropped_total",
                "counter",
                "Links to peers closed because a ping failed.",
                &self.peer_links_dropped,
            ),
            (
                "terroir_peer_connections_refused_total",
                "counter",
                "Inbound peer connections refused: a banned peer, a new peer from a banned address, or over a connection limit.",
                &self.peer_connections_refused,
            ),
            (
                "terroir_sync_refused_total",
                "counter",
                "Peers' sync requests refused: held too long for the peer's budget, too many in flight, or busy.",
                &self.sync_refused,
            ),
            (
                "terroir_sync_held_total",
                "counter",
                "Peers' sync requests held until their peer's budget allowed them.",
                &self.sync_held,
            ),
            (
                "terroir_sync_bytes_served_total",
                "counter",
                "Bytes of records and heads sent in answer to peers' sync requests.",
                &self.sync_bytes_served,
            ),
            (
                "terroir_checkpoints_proposed_total",
                "counter",
                "Checkpoints this node proposed.",
                &self.checkpoints_proposed,
            ),
            (
                "terroir_checkpoints_cosigned_total",
                "counter",
                "Checkpoints this node cosigned after recomputing them.",
                &self.checkpoints_cosigned,
            ),
            (
                "terroir_checkpoints_applied_total",
                "counter",
                "Final checkpoints applied to the log.",
                &self.checkpoints_applied,
            ),
            (
                "terroir_checkpoints_refused_total",
                "counter",
                "Checkpoints refused: not extending the newest, dated wrong, or stating what this node's records do not give.",
                &self.checkpoints_refused,
            ),
            (
                "terroir_checkpoint_conflicts_total",
                "counter",
                "Pairs of signed checkpoints found contradicting each other.",
                &self.checkpoint_conflicts,
            ),
        ];
        exposition(&rows)
    }
}

/// One metric for [`exposition`]: its name, type (`counter` or `gauge`),
/// help text and value.
pub type Row<'a> = (&'a str, &'a str, &'a str, &'a AtomicU64);

/// Metrics in Prometheus' text exposition format.
pub fn exposition(rows: &[Row<'_>]) -> String {
    let mut out = String::new();
    for (name, kind, help, v) in rows {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {}", v.load(Ordering::Relaxed));
    }
    out
}
