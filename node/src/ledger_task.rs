//! The one writer of the ledger: a blocking thread that receives commands
//! over a bounded channel and answers over oneshot channels. Queries do
//! not go through it: each runs on a blocking thread of its own over the
//! latest [`Reader`], so no scan waits behind a write and no write behind
//! a scan.
//!
//! Ingest commands that are queued together are merged into one
//! `Ledger::ingest` call: one flush of the log for all of them (group
//! commit), and each caller hears its own verdicts after the flush. Each
//! record keeps the source it came from (see [`crate::source`]) through
//! the merge, so the pending pool's per-source budget counts it for its
//! own sender.

use std::sync::{Arc, OnceLock};
use std::time::{SystemTime, UNIX_EPOCH};

use ledger_core::graph::Graph;
use ledger_core::ledger::{IngestReport, PendingReason, Readers};
use ledger_core::store::SledStore;
use ledger_core::{Ledger, Outcome, Reader, SignedRecord, Source, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// Commands queued for the ledger thread. 256 queued commands keep every
/// caller waiting in line (backpressure) without holding more than a few
/// MB of records in the queue.
pub const LEDGER_QUEUE: usize = 256;

/// Most records merged into one group commit: ~1,000 records cost a few
/// tens of ms to validate, so no caller waits long behind a big batch.
/// Queued ingests join a group only while it stays within the bound; one
/// ingest larger than it (a gossip batch or submission is capped by its
/// own limit) is served alone.
pub const MAX_GROUP_RECORDS: usize = 2_000;

/// What the ledger thread owns.
#[derive(Debug)]
pub struct LedgerState {
    /// The ledger.
    pub ledger: Ledger<SledStore>,
}

type ExclusiveFn = Box<dyn FnOnce(&mut LedgerState) + Send>;

/// Announces one record (its canonical bytes) to the network.
type AnnounceFn = Box<dyn Fn(Vec<u8>) + Send + Sync>;

/// Where the ledger thread announces the records that land (see
/// [`LedgerHandle::announce_with`]): set once, by the network.
#[derive(Clone, Default)]
struct Announcer(Arc<OnceLock<AnnounceFn>>);

impl std::fmt::Debug for Announcer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.get().is_some() {
            "Announcer(set)"
        } else {
            "Announcer(unset)"
        })
    }
}

/// Records to validate and store (each with where it came from, if
/// known), and where their verdicts go.
struct Ingest {
    records: Vec<(SignedRecord, Option<Source>)>,
    /// Records entering the network here (HTTP submissions): judged by
    /// the admission rule too (`Ledger::submit`), unlike replication.
    submitted: bool,
    reply: oneshot::Sender<Result<IngestReport, StoreError>>,
}

enum Cmd {
    Ingest(Ingest),
    Exclusive(ExclusiveFn),
    Close(oneshot::Sender<()>),
}

/// The ledger thread stopped (the node is shutting down or storage failed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the ledger is closed")]
pub struct LedgerClosed;

/// A query did not answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ReadFailed {
    /// The runtime is shutting down.
    #[error("the node is shutting down")]
    Closed,
    /// The query panicked (a bug; the node goes on serving).
    #[error("the query failed: {0}")]
    Panicked(String),
    /// The pool it was asked of is full.
    #[error("busy")]
    Busy,
}

/// How the ledger thread returned (it flushed the store either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// Asked to, by [`LedgerHandle::close`].
    Closed,
    /// Every handle was dropped, so no command could come any more.
    Abandoned,
}

/// The ledger thread ended while the node still served: it panicked, or
/// returned without the node asking it to. A node without its ledger
/// could only answer 503, so it stops, and `terroird` exits with
/// [`LedgerDied::EXIT_CODE`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("the ledger thread {0}")]
pub struct LedgerDied(String);

impl LedgerDied {
    /// `terroird`'s exit status when its ledger thread dies: 70, sysexits'
    /// `EX_SOFTWARE` (internal software error), apart from 1 (could not
    /// start) so a supervisor or operator can tell the two apart.
    pub const EXIT_CODE: u8 = 70;

    /// Why the ledger thread ended, from its join result; any end is
    /// unexpected where this is asked.
    pub fn from_join(ended: Result<Ended, tokio::task::JoinError>) -> Self {
        LedgerDied(match ended {
            Ok(Ended::Closed) => "was closed while the node was running".to_owned(),
            Ok(Ended::Abandoned) => "lost every handle while the node was running".to_owned(),
            Err(e) if e.is_panic() => format!("panicked: {}", panic_text(e.into_panic().as_ref())),
            Err(e) => format!("was cancelled: {e}"),
        })
    }
}

/// A panic's message on one line (`panic!` carries a `&str` or a
/// `String`; line breaks are escaped).
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    text.replace('\n', "\\n")
}

/// A cheap, cloneable handle on the ledger: its writer thread, and the
/// readers queries use.
#[derive(Debug, Clone)]
pub struct LedgerHandle {
    tx: mpsc::Sender<Cmd>,
    readers: Readers<SledStore>,
    announcer: Announcer,
}

/// Milliseconds since the Unix epoch (the node's clock; the core never
/// reads one).
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl LedgerHandle {
    /// Starts the ledger thread. Returns the handle and the thread's join
    /// handle (it ends after [`Self::close`], when every handle is dropped,
    /// or on a panic).
    ///
    /// The thread is a named OS thread of its own ("ledger") that lowers
    /// its priority by `writer_nice` (see [`crate::priority`]), so queries
    /// on the other threads get a core first; a blocking task waits for
    /// it and passes its end (or its panic) on.
    pub fn spawn(
        ledger: Ledger<SledStore>,
        metrics: std::sync::Arc<Metrics>,
        writer_nice: i32,
    ) -> (Self, tokio::task::JoinHandle<Ended>) {
        let (tx, rx) = mpsc::channel(LEDGER_QUEUE);
        let readers = ledger.readers();
        let state = LedgerState { ledger };
        let announcer = Announcer::default();
        let announce = announcer.clone();
        let join = tokio::task::spawn_blocking(move || {
            let body = move || {
                if writer_nice > 0 {
                    match crate::priority::lower_current_thread(writer_nice) {
                        Ok(nice) => tracing::debug!(nice, "ledger writer priority lowered"),
                        Err(e) => tracing::warn!(
                            error = %e,
                            "could not lower the ledger writer's priority; queries may wait \
                             behind ingest"
                        ),
                    }
                }
                serve(state, rx, &metrics, &announce)
            };
            // The body moves into the thread: if the OS refuses a thread,
            // there is nothing left to run here, so the task panics and
            // the node stops as for any other end of its ledger thread.
            match std::thread::Builder::new()
                .name("ledger".into())
                .spawn(body)
            {
                Ok(thread) => thread
                    .join()
                    .unwrap_or_else(|payload| std::panic::resume_unwind(payload)),
                Err(e) => panic!("could not start the ledger thread: {e}"),
            }
        });
        let handle = LedgerHandle {
            tx,
            readers,
            announcer,
        };
        (handle, join)
    }

    /// Sets where the ledger thread announces what lands, as canonical
    /// record bytes: every record a submission (HTTP) gets accepted, then
    /// every record the pending pool releases and the ledger accepts,
    /// whatever brought its cause (a submission, gossip, sync or the
    /// clock). A record is accepted once, so it is announced once; records
    /// accepted straight from gossip or sync are not (gossipsub forwards
    /// the former, peers sync the latter). The first call wins; the
    /// network makes it when it starts. `announce` runs on the ledger
    /// thread and may block it (backpressure from a bounded queue).
    pub fn announce_with(&self, announce: impl Fn(Vec<u8>) + Send + Sync + 'static) {
        if self.announcer.0.set(Box::new(announce)).is_err() {
            tracing::warn!("the ledger's announcer was already set; the new one is ignored");
        }
    }

    /// Validates and stores replicated records (group commit); verdicts
    /// come after the flush. An empty batch releases pending records whose
    /// time has come. The records have no source: for local callers;
    /// records from a peer go through [`Self::ingest_from`].
    pub async fn ingest(
        &self,
        records: Vec<SignedRecord>,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        let records = records.into_iter().map(|r| (r, None)).collect();
        self.send_ingest(records, false).await
    }

    /// Like [`Self::ingest`], for records that all came from `source`
    /// (one peer): strangers' records among them that must wait count
    /// against its share of the pending pool.
    pub async fn ingest_from(
        &self,
        records: Vec<SignedRecord>,
        source: Source,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        let records = records.into_iter().map(|r| (r, Some(source))).collect();
        self.send_ingest(records, false).await
    }

    /// Like [`Self::ingest`], each record with its own source (a gossip
    /// batch gathers several peers' messages).
    pub async fn ingest_sourced(
        &self,
        records: Vec<(SignedRecord, Option<Source>)>,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        self.send_ingest(records, false).await
    }

    /// Like [`Self::ingest`], for records a client submits: the admission
    /// rule (one lot per GTIN and lot code) is judged in the same step, on
    /// the ledger thread, so concurrent submissions cannot both pass it.
    /// `source`: the client's (see [`crate::source::of_client`]), if known.
    pub async fn submit(
        &self,
        records: Vec<SignedRecord>,
        source: Option<Source>,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        let records = records.into_iter().map(|r| (r, source)).collect();
        self.send_ingest(records, true).await
    }

    async fn send_ingest(
        &self,
        records: Vec<(SignedRecord, Option<Source>)>,
        submitted: bool,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Ingest(Ingest {
                records,
                submitted,
                reply,
            }))
            .await
            .map_err(|_| LedgerClosed)?;
        rx.await.map_err(|_| LedgerClosed)
    }

    /// Runs the query `f` over everything accepted so far, on a blocking
    /// thread of its own: it waits for no write, and no write waits for
    /// it. A query that panics answers [`ReadFailed::Panicked`] and takes
    /// nothing else down.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Reader<SledStore>) -> T + Send + 'static,
    ) -> Result<T, ReadFailed> {
        let reader = self.readers.latest();
        tokio::task::spawn_blocking(move || f(&reader))
            .await
            .map_err(|e| match e.try_into_panic() {
                Ok(payload) => {
                    let why = panic_text(payload.as_ref());
                    tracing::error!(panic = %why, "a query panicked");
                    ReadFailed::Panicked(why)
                }
                Err(_) => ReadFailed::Closed,
            })
    }

    /// Like [`Self::read`], on `pool`'s threads instead of tokio's (see
    /// [`crate::read_pool`]): for reads done on behalf of peers.
    pub async fn read_on<T: Send + 'static>(
        &self,
        pool: &crate::read_pool::ReadPool,
        f: impl FnOnce(&Reader<SledStore>) -> T + Send + 'static,
    ) -> Result<T, ReadFailed> {
        let reader = self.readers.latest();
        match pool.run(move || f(&reader)).await {
            Ok(Some(t)) => Ok(t),
            Ok(None) => {
                tracing::error!("a query for a peer panicked");
                Err(ReadFailed::Panicked("a query for a peer".into()))
            }
            Err(crate::read_pool::PoolRefused::Busy) => Err(ReadFailed::Busy),
            Err(crate::read_pool::PoolRefused::Closed) => Err(ReadFailed::Closed),
        }
    }

    /// Runs `f` on the ledger thread, between writes, and returns its
    /// result: for what must see no write half done.
    pub async fn exclusive<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LedgerState) -> T + Send + 'static,
    ) -> Result<T, LedgerClosed> {
        let (reply, rx) = oneshot::channel();
        let job: ExclusiveFn = Box::new(move |s| {
            let _ = reply.send(f(s));
        });
        self.tx
            .send(Cmd::Exclusive(job))
            .await
            .map_err(|_| LedgerClosed)?;
        rx.await.map_err(|_| LedgerClosed)
    }

    /// Like [`Self::exclusive`], for a write made on the ledger thread by
    /// `f` itself (an EPCIS capture signs and commits its batch there,
    /// against the ledger as it stands): the records whose hashes `f`
    /// returns entered the network here, so they are announced afterwards,
    /// on the ledger thread, as a submission's accepted records are.
    pub async fn exclusive_announcing<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LedgerState) -> (T, Vec<ledger_core::Hash>) + Send + 'static,
    ) -> Result<T, LedgerClosed> {
        let announcer = self.announcer.clone();
        self.exclusive(move |s| {
            let (t, landed) = f(s);
            if let Some(announce) = announcer.0.get() {
                for hash in &landed {
                    match Graph::record(&*s.ledger, hash) {
                        Ok(Some(record)) => announce(record.encode()),
                        Ok(None) => tracing::warn!(%hash, "a written record is not readable"),
                        Err(e) => tracing::warn!(%hash, error = %e, "reading a written record to announce it"),
                    }
                }
            }
            t
        })
        .await
    }

    /// Flushes and stops the ledger thread; later calls get [`LedgerClosed`].
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Cmd::Close(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

fn serve(
    mut state: LedgerState,
    mut rx: mpsc::Receiver<Cmd>,
    metrics: &Metrics,
    announcer: &Announcer,
) -> Ended {
    // The command taken from the queue while gathering a group that did
    // not join it: served next, before anything still queued.
    let mut held: Option<Cmd> = None;
    loop {
        let cmd = match held.take() {
            Some(c) => c,
            None => match rx.blocking_recv() {
                Some(c) => c,
                None => {
                    shut_down(state);
                    return Ended::Abandoned;
                }
            },
        };
        match cmd {
            Cmd::Exclusive(f) => f(&mut state),
            Cmd::Close(reply) => {
                shut_down(state);
                let _ = reply.send(());
                return Ended::Closed;
            }
            Cmd::Ingest(first) => {
                let (group, next) = gather(first, || rx.try_recv().ok());
                held = next;
                commit(&mut state, group, metrics, announcer);
            }
        }
    }
}

/// Folds the ledger's tail into its store and flushes it, so the next
/// start has nothing to re-derive.
fn shut_down(state: LedgerState) {
    if let Err(e) = state.ledger.close() {
        tracing::error!(error = %e, "closing the ledger at shutdown");
    }
}

/// Gathers one group commit: `first`, then the ingests of the same kind
/// (submissions with submissions, replication with replication) that
/// `next` yields from the queue, as long as the group stays within
/// [`MAX_GROUP_RECORDS`]. Returns the group, in queue order, and the
/// command that ended it, if any, which must be served next: an ingest
/// that would push the group past the bound waits for the next group. A
/// single ingest larger than the bound is still served, as a group of its
/// own.
fn gather(first: Ingest, mut next: impl FnMut() -> Option<Cmd>) -> (Vec<Ingest>, Option<Cmd>) {
    let submitted = first.submitted;
    let mut total = first.records.len();
    let mut group = vec![first];
    while total < MAX_GROUP_RECORDS {
        match next() {
            None => break,
            Some(Cmd::Ingest(i))
                if i.submitted == submitted
                    && total.saturating_add(i.records.len()) <= MAX_GROUP_RECORDS =>
            {
                total += i.records.len();
                group.push(i);
            }
            Some(other) => return (group, Some(other)),
        }
    }
    (group, None)
}

/// Validates and stores a group with one `Ledger` call (one atomic write,
/// one flush), then answers each caller with its own verdicts.
fn commit(state: &mut LedgerState, group: Vec<Ingest>, metrics: &Metrics, announcer: &Announcer) {
    let submitted = group.first().is_some_and(|i| i.submitted);
    let mut all = Vec::with_capacity(group.iter().map(|i| i.records.len()).sum());
    let mut replies = Vec::with_capacity(group.len());
    for i in group {
        replies.push((i.records.len(), i.reply));
        all.extend(i.records);
    }
    // A submission's records are announced once accepted.
    let encoded: Vec<Submitted> = if submitted && announcer.0.get().is_some() {
        all.iter()
            .map(|(r, _)| Submitted {
                bytes: r.encode(),
                author: r.record.author,
                prev: r.record.prev,
            })
            .collect()
    } else {
        Vec::new()
    };
    let result = if submitted {
        state.ledger.submit_from(all, now_ms())
    } else {
        state.ledger.ingest_from(all, now_ms())
    };
    match result {
        Ok(report) => {
            count(metrics, &report);
            metrics.set_gauges(state.ledger.len(), state.ledger.pending_len());
            announce(&state.ledger, announcer, &report, &encoded);
            let mut outcomes = report.outcomes.into_iter();
            let mut released = Some(report.released);
            for (n, reply) in replies {
                let part = IngestReport {
                    outcomes: outcomes.by_ref().take(n).collect(),
                    released: released.take().unwrap_or_default(),
                };
                let _ = reply.send(Ok(part));
            }
        }
        Err(e) => {
            tracing::error!(error = %e, "ledger ingest failed");
            for (_, reply) in replies {
                let _ = reply.send(Err(StoreError::Engine(e.to_string())));
            }
        }
    }
}

/// A submitted record, kept for announcing: its bytes, and what decides
/// whether it travels while it waits.
struct Submitted {
    bytes: Vec<u8>,
    author: ledger_core::PublicKey,
    prev: Option<ledger_core::Hash>,
}

/// Hands what landed to the announcer, in acceptance order as far as the
/// report tells it: a submission's accepted records (`submitted`: their
/// bytes, in order; empty for replication), and those of its records that
/// wait for a missing record of an author with a chain here (see
/// [`travels_pending`]), then the records the pending pool released and
/// the ledger accepted.
fn announce(
    ledger: &Ledger<SledStore>,
    announcer: &Announcer,
    report: &IngestReport,
    submitted: &[Submitted],
) {
    let Some(announce) = announcer.0.get() else {
        return;
    };
    for ((_, outcome), s) in report.outcomes.iter().zip(submitted) {
        let travels = match outcome {
            Outcome::Accepted => true,
            Outcome::Pending(_) => travels_pending(ledger, &s.author, s.prev, outcome),
            _ => false,
        };
        if travels {
            announce(s.bytes.clone());
        }
    }
    for (hash, outcome) in &report.released {
        if *outcome != Outcome::Accepted {
            continue;
        }
        match Graph::record(&**ledger, hash) {
            Ok(Some(record)) => announce(record.encode()),
            Ok(None) => tracing::warn!(%hash, "a released record is not readable after its commit"),
            Err(e) => tracing::warn!(%hash, error = %e, "reading a released record to announce it"),
        }
    }
}

/// Whether a record left waiting in the pending pool travels on anyway:
/// one waiting for nothing but the previous record of its own chain,
/// whose author already has a chain here (so is enrolled and answerable
/// for it). Such a record is the next of a chain written through several
/// nodes (a load balancer, a CLI failing over): if it waited where it was
/// written until its predecessor came, a chain of n batches would reach
/// the others one hop per batch. Travelling, it waits in every pool, and
/// the whole chain lands everywhere as soon as its first missing record
/// does. Records waiting for other authors' records (their causes are
/// elsewhere, and may be strangers' to the receivers) and strangers'
/// records never travel before they land.
pub fn travels_pending(
    reader: &Reader<SledStore>,
    author: &ledger_core::PublicKey,
    prev: Option<ledger_core::Hash>,
    outcome: &Outcome,
) -> bool {
    match outcome {
        Outcome::Pending(PendingReason::Missing { hashes }) => {
            travels_while_waiting(reader, author, prev, hashes)
        }
        _ => false,
    }
}

/// [`travels_pending`]'s rule for a record of `author` with `prev`
/// waiting for `missing`.
pub fn travels_while_waiting(
    reader: &Reader<SledStore>,
    author: &ledger_core::PublicKey,
    prev: Option<ledger_core::Hash>,
    missing: &[ledger_core::Hash],
) -> bool {
    let waits_for_prev_only = matches!((missing, prev), ([h], Some(p)) if *h == p);
    waits_for_prev_only && reader.key_state(author).is_ok_and(|s| s.is_some())
}

fn count(metrics: &Metrics, report: &IngestReport) {
    for (_, o) in report.outcomes.iter().chain(&report.released) {
        match o {
            Outcome::Accepted => metrics.inc(&metrics.records_accepted),
            Outcome::Duplicate => metrics.inc(&metrics.records_duplicate),
            Outcome::Pending(_) => metrics.inc(&metrics.records_pending),
            Outcome::Rejected { .. } => metrics.inc(&metrics.records_rejected),
            Outcome::PoolFull { .. } => metrics.inc(&metrics.records_pool_full),
            Outcome::StrangerPoolFull { .. } => metrics.inc(&metrics.records_stranger_full),
            Outcome::StrangerSourceFull { .. } => {
                metrics.inc(&metrics.records_stranger_source_full)
            }
            Outcome::TooFarAhead { .. } => metrics.inc(&metrics.records_too_far_ahead),
            Outcome::Expired { .. } => metrics.inc(&metrics.records_expired),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::collections::VecDeque;

    use super::*;

    fn ingest(n: usize, submitted: bool) -> Cmd {
        let record = ledger_core::workload::generate(ledger_core::workload::Shape::for_records(1))
            .records
            .swap_remove(0);
        let (reply, _) = oneshot::channel();
        Cmd::Ingest(Ingest {
            records: vec![(record, None); n],
            submitted,
            reply,
        })
    }

    /// What the ledger thread serves, given `queue`: each group commit as
    /// its commands' sizes, and `None` for a command that is not an ingest.
    /// Drives [`gather`] the way [`serve`] does, holding the command that
    /// ended a group for the next turn.
    fn schedule(mut queue: VecDeque<Cmd>) -> Vec<Option<Vec<usize>>> {
        let mut held = None;
        let mut served = Vec::new();
        while let Some(cmd) = held.take().or_else(|| queue.pop_front()) {
            match cmd {
                Cmd::Ingest(first) => {
                    let (group, next) = gather(first, || queue.pop_front());
                    held = next;
                    served.push(Some(group.iter().map(|i| i.records.len()).collect()));
                }
                Cmd::Exclusive(_) | Cmd::Close(_) => served.push(None),
            }
        }
        served
    }

    /// Two HTTP clients (two addresses) get separate shares of the
    /// strangers' room in the pending pool, their submissions merged into
    /// group commits or not: a client that spends its share is refused
    /// `StrangerSourceFull`, while the other's strangers' records still
    /// wait.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_clients_get_separate_stranger_shares() {
        use std::net::{IpAddr, Ipv4Addr};

        use ledger_core::author::Author;
        use ledger_core::{Event, Hash, LedgerConfig, SigningKey};

        let w = ledger_core::workload::generate(ledger_core::workload::Shape::for_records(1));
        let harvest = Event::Harvest {
            lot_code: "L1".into(),
            product: ledger_core::event::Product {
                description: "tea".into(),
                gtin: None,
            },
            quantity: ledger_core::Quantity::new(10, ledger_core::Unit::Gram),
            location: ledger_core::event::Location {
                description: "field".into(),
                gln: None,
            },
            reference: None,
        };
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger")).unwrap();
        // Room for six strangers' records, two per source: the whole room
        // is never full here, so a refusal is the source's share.
        let config = LedgerConfig {
            stranger_capacity: 6,
            stranger_per_source: 2,
            ..LedgerConfig::default()
        };
        let ledger = Ledger::create(store, w.genesis.clone(), config).unwrap();
        let metrics = Arc::new(Metrics::default());
        let (ledger, _join) = LedgerHandle::spawn(ledger, metrics.clone(), 0);
        // Throwaway keys' records waiting for a dep nobody has.
        let stranger = |i: u8| {
            let a = Author::new(SigningKey::from_seed(&[100 + i; 32]), w.genesis.id());
            a.draft(now_ms(), vec![Hash::of(&[i])], harvest.clone())
                .sign(a.key())
        };
        let one = crate::source::of_client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        let two = crate::source::of_client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2)));
        assert_ne!(one, two);
        // Client one sends three, one at a time, alongside client two's
        // first (queued together, they may share a group commit).
        let (a, b, c, d) = tokio::join!(
            ledger.submit(vec![stranger(0)], Some(one)),
            ledger.submit(vec![stranger(1)], Some(one)),
            ledger.submit(vec![stranger(2)], Some(one)),
            ledger.submit(vec![stranger(3)], Some(two)),
        );
        let outcome = |r: Result<Result<IngestReport, StoreError>, LedgerClosed>| {
            r.unwrap().unwrap().outcomes.pop().unwrap().1
        };
        let ones = [outcome(a), outcome(b), outcome(c)];
        let full = Outcome::StrangerSourceFull {
            per_source: 2,
            bytes: config.stranger_source_bytes(),
        };
        assert_eq!(
            ones.iter()
                .filter(|o| matches!(o, Outcome::Pending(_)))
                .count(),
            2,
            "{ones:?}"
        );
        assert_eq!(ones.iter().filter(|o| **o == full).count(), 1, "{ones:?}");
        assert!(matches!(outcome(d), Outcome::Pending(_)));
        // Client two still has room; client one has none.
        let e = ledger.submit(vec![stranger(4)], Some(two)).await;
        assert!(matches!(outcome(e), Outcome::Pending(_)));
        let f = ledger.submit(vec![stranger(5)], Some(one)).await;
        assert_eq!(outcome(f), full);
        assert_eq!(
            metrics
                .records_stranger_source_full
                .load(std::sync::atomic::Ordering::Relaxed),
            2
        );
        ledger.close().await;
    }

    fn sizes(groups: &[Option<Vec<usize>>]) -> Vec<usize> {
        groups.iter().flatten().flatten().copied().collect()
    }

    #[test]
    fn a_group_never_exceeds_max_group_records() {
        let queue: VecDeque<Cmd> = [1_500, 1_500, 10, 2_500]
            .into_iter()
            .map(|n| ingest(n, true))
            .collect();
        let groups = schedule(queue);
        // The second 1,500 would make 3,000: it waits for the next group;
        // 2,500 alone exceeds the bound and is still served, by itself.
        assert_eq!(
            groups,
            vec![Some(vec![1_500]), Some(vec![1_500, 10]), Some(vec![2_500])]
        );
        for g in groups.iter().flatten() {
            assert!(g.len() == 1 || g.iter().sum::<usize>() <= MAX_GROUP_RECORDS);
        }
    }

    #[test]
    fn a_group_fills_up_to_the_bound_exactly() {
        let queue: VecDeque<Cmd> = [1_000, 600, 400, 1]
            .into_iter()
            .map(|n| ingest(n, false))
            .collect();
        assert_eq!(
            schedule(queue),
            vec![Some(vec![1_000, 600, 400]), Some(vec![1])]
        );
    }

    #[test]
    fn commands_are_served_in_queue_order() {
        // Sizes tag the commands; kinds and reads split the groups.
        let mut queue = VecDeque::new();
        for (n, submitted) in [(1, true), (2, true), (3, false), (1_997, false), (5, false)] {
            queue.push_back(ingest(n, submitted));
        }
        queue.push_back(Cmd::Exclusive(Box::new(|_| {})));
        for n in [1_998, 6, 7] {
            queue.push_back(ingest(n, true));
        }
        let groups = schedule(queue);
        assert_eq!(
            groups,
            vec![
                Some(vec![1, 2]),
                Some(vec![3, 1_997]),
                Some(vec![5]),
                None,
                Some(vec![1_998]),
                Some(vec![6, 7]),
            ]
        );
        assert_eq!(sizes(&groups), vec![1, 2, 3, 1_997, 5, 1_998, 6, 7]);
    }
}
