//! The HTTP edge's counters, rendered after the node's own
//! ([`crate::metrics::Metrics`]) on `GET /metrics`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What the connection limits and timeouts, the budgets and the rate
/// limit did. Plain atomics: every writer only adds or subtracts.
#[derive(Debug, Default)]
pub struct EdgeCounters {
    /// Connections closed at once because `max_http_connections` were
    /// open.
    pub connections_refused: AtomicU64,
    /// Connections closed at once because `max_http_connections_per_ip`
    /// were open from their address.
    pub connections_refused_per_ip: AtomicU64,
    /// Connections closed because no complete request head came in time
    /// after they opened (partial heads, connections that never sent
    /// one).
    pub header_timeouts: AtomicU64,
    /// Requests answered 408 because their body did not arrive in time.
    pub body_timeouts: AtomicU64,
    /// Writes answered 429 by the per-address rate limit.
    pub rate_limited: AtomicU64,
    /// Requests answered 503 because their budget (reads or writes) was
    /// spent.
    pub budget_exhausted: AtomicU64,
    /// Writes answered 401: no token, or one not accepted.
    pub unauthorized: AtomicU64,
    /// Gauge: open connections.
    pub connections_open: AtomicU64,
}

impl EdgeCounters {
    /// Adds one to a counter.
    pub fn inc(&self, c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text format.
    pub fn render(&self) -> String {
        let rows: [crate::metrics::Row<'_>; 8] = [
            (
                "terroir_http_connections_refused_total",
                "counter",
                "HTTP connections closed on arrival because limits.max_http_connections were open.",
                &self.connections_refused,
            ),
            (
                "terroir_http_connections_refused_per_ip_total",
                "counter",
                "HTTP connections closed on arrival because limits.max_http_connections_per_ip were open from their address.",
                &self.connections_refused_per_ip,
            ),
            (
                "terroir_http_header_timeouts_total",
                "counter",
                "HTTP connections closed because no complete request head came within limits.http_header_timeout_ms of opening.",
                &self.header_timeouts,
            ),
            (
                "terroir_http_unauthorized_total",
                "counter",
                "Writes answered 401 because submit_tokens is set and they carried no accepted token.",
                &self.unauthorized,
            ),
            (
                "terroir_http_body_timeouts_total",
                "counter",
                "HTTP requests answered 408: the body did not arrive within limits.http_body_timeout_ms.",
                &self.body_timeouts,
            ),
            (
                "terroir_http_rate_limited_total",
                "counter",
                "HTTP writes answered 429 by the per-address rate limit.",
                &self.rate_limited,
            ),
            (
                "terroir_http_busy_total",
                "counter",
                "HTTP requests answered 503 because their budget (reads or writes) was spent.",
                &self.budget_exhausted,
            ),
            (
                "terroir_http_connections_open",
                "gauge",
                "Open HTTP connections.",
                &self.connections_open,
            ),
        ];
        crate::metrics::exposition(&rows)
    }
}
