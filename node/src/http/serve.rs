//! Serving the router over TCP with our own accept loop (axum's `serve`
//! does not expose hyper's connection settings): each connection gets
//! hyper's header-read timeout and head-size ceilings, and the number of
//! open connections is capped.
//!
//! A connection over `max_http_connections`, or over
//! `max_http_connections_per_ip` from one client address, is closed as
//! soon as it is accepted, counted in
//! `terroir_http_connections_refused_total` (or `…_per_ip_total`) and
//! reported by a warning at most every [`WARN_EVERY`]: one address alone
//! cannot fill the node's connections. A connection that
//! does not deliver a request head within `http_header_timeout_ms` of
//! opening, or of its previous answer (a partial head, or an idle
//! keep-alive connection), is closed by hyper; those that had not
//! finished a first head are counted in
//! `terroir_http_header_timeouts_total`.

use std::collections::HashMap;
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use super::counters::EdgeCounters;
use super::edge::{client_key, MAX_HEADERS, MAX_HEADER_BYTES};

/// Hyper's own ceilings on a request head. The router answers heads over
/// [`MAX_HEADERS`] fields or [`MAX_HEADER_BYTES`] with a JSON 431; only a
/// head past these (four times larger) is refused by hyper itself, with
/// an empty 431.
const HARD_MAX_HEADERS: usize = 4 * MAX_HEADERS;
/// See [`HARD_MAX_HEADERS`].
const HARD_MAX_HEADER_BYTES: usize = 4 * MAX_HEADER_BYTES;

/// The pause after an accept error that is not one connection's own
/// (e.g. the process is out of file descriptors): retrying at once would
/// spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// The least time between two warnings about refused connections or
/// failed accepts.
pub(crate) const WARN_EVERY: Duration = Duration::from_secs(10);

/// How long a stop waits for open connections to finish the requests
/// they are serving before it drops them.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection-level limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// Open connections at most.
    pub(crate) max_connections: usize,
    /// Open connections from one client address at most.
    pub(crate) max_per_ip: usize,
    /// Time to deliver a request head.
    pub(crate) header_timeout: Duration,
}

/// Serves `app` on `listener` until `stop` completes, then stops
/// accepting, lets open connections finish (at most [`DRAIN_TIMEOUT`])
/// and returns.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    counters: Arc<EdgeCounters>,
    stop: impl Future<Output = ()>,
) {
    let slots = Slots::new(limits.max_connections, limits.max_per_ip);
    // Connections are upgradeable (EPCIS WebSocket streams), which
    // hyper-util's graceful shutdown does not watch: each connection task
    // holds an `open` sender and shuts its connection down gracefully
    // when `shutdown` says so; the drain waits until every sender is gone.
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_headers(HARD_MAX_HEADERS)
        .max_header_size(HARD_MAX_HEADER_BYTES);
    let mut refused = Throttled::new(WARN_EVERY);
    let mut refused_ip = Throttled::new(WARN_EVERY);
    let mut failed = Throttled::new(WARN_EVERY);
    tokio::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(a) => a,
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                if let Some(missed) = failed.due() {
                    tracing::warn!(error = %e, missed, "HTTP accept failed; pausing");
                }
                tokio::time::sleep(ACCEPT_BACKOFF).await;
                continue;
            }
        };
        let slot = match slots.take(peer.ip()) {
            Ok(slot) => slot,
            Err(full) => {
                drop(stream);
                match full {
                    Full::All => {
                        counters.inc(&counters.connections_refused);
                        if let Some(missed) = refused.due() {
                            tracing::warn!(
                                limit = limits.max_connections,
                                %peer,
                                refused_since_last_warning = missed + 1,
                                "HTTP connection refused: limits.max_http_connections are open"
                            );
                        }
                    }
                    Full::Address => {
                        counters.inc(&counters.connections_refused_per_ip);
                        if let Some(missed) = refused_ip.due() {
                            tracing::warn!(
                                limit = limits.max_per_ip,
                                %peer,
                                refused_since_last_warning = missed + 1,
                                "HTTP connection refused: limits.max_http_connections_per_ip are open from this address"
                            );
                        }
                    }
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let svc = app
            .clone()
            .map_request(move |mut req: axum::http::Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                req
            });
        let conn = http
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
            .with_upgrades();
        let counters = counters.clone();
        let mut shutdown = shutdown_rx.clone();
        let open = open_tx.clone();
        tokio::spawn(async move {
            let _open = open;
            counters.connections_open.fetch_add(1, Ordering::Relaxed);
            let mut conn = std::pin::pin!(conn);
            let ended = tokio::select! {
                ended = conn.as_mut() => ended,
                _ = shutdown.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = ended {
                if e.is_timeout() {
                    counters.inc(&counters.header_timeouts);
                }
                tracing::debug!(error = %e, %peer, "HTTP connection ended");
            }
            drop(slot);
            counters.connections_open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(listener);
    let _ = shutdown_tx.send(true);
    drop(open_tx);
    if tokio::time::timeout(DRAIN_TIMEOUT, open_rx.recv())
        .await
        .is_err()
    {
        tracing::warn!("HTTP connections still open after the stop; dropping them");
    }
}

/// The open connections' slots: all of them, and per client address
/// (keyed as the rate limit keys them: IPv4 address, IPv6 /64).
#[derive(Debug)]
struct Slots {
    all: Arc<Semaphore>,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
    max_per_ip: usize,
}

/// Which cap a refused connection met.
#[derive(Debug)]
enum Full {
    /// `max_http_connections`.
    All,
    /// `max_http_connections_per_ip`.
    Address,
}

/// A connection's slot, given back when dropped. The per-address map
/// holds only addresses with an open connection, so it is bounded by
/// `max_http_connections`.
#[derive(Debug)]
struct Slot {
    _all: OwnedSemaphorePermit,
    key: IpAddr,
    per_ip: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl Slots {
    fn new(max: usize, max_per_ip: usize) -> Slots {
        Slots {
            all: Arc::new(Semaphore::new(max)),
            per_ip: Arc::new(Mutex::new(HashMap::new())),
            max_per_ip: max_per_ip.max(1),
        }
    }

    fn take(&self, ip: IpAddr) -> Result<Slot, Full> {
        let all = self
            .all
            .clone()
            .try_acquire_owned()
            .map_err(|_| Full::All)?;
        let key = client_key(ip);
        let mut open = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let n = open.entry(key).or_insert(0);
        // `max_per_ip` is at least 1, so a refusal never leaves a 0 entry.
        if *n >= self.max_per_ip {
            return Err(Full::Address);
        }
        *n += 1;
        Ok(Slot {
            _all: all,
            key,
            per_ip: self.per_ip.clone(),
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = open.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                open.remove(&self.key);
            }
        }
    }
}

/// Errors of one connection that `accept` reports (the client left
/// before it was accepted): the listener itself is fine.
fn is_connection_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::ConnectionRefused
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::ConnectionReset
    )
}

/// Something to report at most once per interval, with how often it was
/// not reported in between.
#[derive(Debug)]
struct Throttled {
    every: Duration,
    last: Option<Instant>,
    missed: u64,
}

impl Throttled {
    fn new(every: Duration) -> Throttled {
        Throttled {
            every,
            last: None,
            missed: 0,
        }
    }

    /// `Some(times not reported since the last report)` when a report is
    /// due now, else `None` (and this time is counted as missed).
    fn due(&mut self) -> Option<u64> {
        self.due_at(Instant::now())
    }

    fn due_at(&mut self, now: Instant) -> Option<u64> {
        if self
            .last
            .is_some_and(|t| now.duration_since(t) < self.every)
        {
            self.missed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.missed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_slot() {
        let slots = Slots::new(3, 2);
        let a = IpAddr::V4([192, 0, 2, 1].into());
        let b = IpAddr::V4([192, 0, 2, 2].into());
        let a1 = slots.take(a).ok();
        let a2 = slots.take(a).ok();
        assert!(a1.is_some() && a2.is_some());
        assert!(matches!(slots.take(a), Err(Full::Address)));
        let b1 = slots.take(b).ok();
        assert!(b1.is_some());
        assert!(matches!(slots.take(b), Err(Full::All)));
        drop(a1);
        assert!(slots.take(a).is_ok(), "a freed slot is taken again");
        drop((a2, b1));
        let open = slots.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        assert!(open.is_empty(), "{open:?}");
    }

    #[test]
    fn a_throttled_report_counts_what_it_skipped() {
        let t0 = Instant::now();
        let mut t = Throttled::new(Duration::from_secs(10));
        assert_eq!(t.due_at(t0), Some(0));
        assert_eq!(t.due_at(t0 + Duration::from_secs(1)), None);
        assert_eq!(t.due_at(t0 + Duration::from_secs(9)), None);
        assert_eq!(t.due_at(t0 + Duration::from_secs(10)), Some(2));
        assert_eq!(t.due_at(t0 + Duration::from_secs(11)), None);
    }
}
