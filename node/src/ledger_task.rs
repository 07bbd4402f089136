//! The one owner of the ledger: a blocking thread that receives commands
//! over a bounded channel and answers over oneshot channels.
//!
//! Ingest commands that are queued together are merged into one
//! `Ledger::ingest` call: one atomic write and one flush for all of them
//! (group commit), and each caller hears its own verdicts after the flush.

use std::time::{SystemTime, UNIX_EPOCH};

use ledger_core::ledger::IngestReport;
use ledger_core::store::SledStore;
use ledger_core::{Hash, Ledger, Outcome, SignedRecord, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::metrics::Metrics;

/// Commands queued for the ledger thread. 256 queued commands keep every
/// caller waiting in line (backpressure) without holding more than a few
/// MB of records in the queue.
pub const LEDGER_QUEUE: usize = 256;

/// Most records merged into one group commit: ~1,000 records cost a few
/// tens of ms to validate, so no caller waits long behind a big batch.
pub const MAX_GROUP_RECORDS: usize = 2_000;

/// The ledger and what the node caches beside it.
pub struct LedgerState {
    /// The ledger.
    pub ledger: Ledger<SledStore>,
    digest: Option<(u64, Hash)>,
}

impl std::fmt::Debug for LedgerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerState")
            .field("ledger", &self.ledger)
            .finish()
    }
}

impl LedgerState {
    /// The state digest, cached until the record count changes (the digest
    /// is a function of the stored record set, which only grows).
    pub fn digest(&mut self) -> Result<Hash, StoreError> {
        let len = self.ledger.len();
        if let Some((l, d)) = self.digest {
            if l == len {
                return Ok(d);
            }
        }
        let d = self.ledger.state_digest()?;
        self.digest = Some((len, d));
        Ok(d)
    }
}

type ReadFn = Box<dyn FnOnce(&mut LedgerState) + Send>;

enum Cmd {
    Ingest {
        records: Vec<SignedRecord>,
        /// Records entering the network here (HTTP submissions): judged by
        /// the admission rule too (`Ledger::submit`), unlike replication.
        submitted: bool,
        reply: oneshot::Sender<Result<IngestReport, StoreError>>,
    },
    Read(ReadFn),
    Close(oneshot::Sender<()>),
}

/// The ledger thread stopped (the node is shutting down or storage failed).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("the ledger is closed")]
pub struct LedgerClosed;

/// A cheap, cloneable handle on the ledger thread.
#[derive(Debug, Clone)]
pub struct LedgerHandle {
    tx: mpsc::Sender<Cmd>,
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
    /// handle (it ends after [`Self::close`]).
    pub fn spawn(
        ledger: Ledger<SledStore>,
        metrics: std::sync::Arc<Metrics>,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(LEDGER_QUEUE);
        let state = LedgerState {
            ledger,
            digest: None,
        };
        let join = tokio::task::spawn_blocking(move || serve(state, rx, &metrics));
        (LedgerHandle { tx }, join)
    }

    /// Validates and stores replicated records (group commit); verdicts
    /// come after the flush. An empty batch releases pending records whose
    /// time has come.
    pub async fn ingest(
        &self,
        records: Vec<SignedRecord>,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        self.send_ingest(records, false).await
    }

    /// Like [`Self::ingest`], for records a client submits: the admission
    /// rule (one lot per GTIN and lot code) is judged in the same step, on
    /// the ledger thread, so concurrent submissions cannot both pass it.
    pub async fn submit(
        &self,
        records: Vec<SignedRecord>,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        self.send_ingest(records, true).await
    }

    async fn send_ingest(
        &self,
        records: Vec<SignedRecord>,
        submitted: bool,
    ) -> Result<Result<IngestReport, StoreError>, LedgerClosed> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Ingest {
                records,
                submitted,
                reply,
            })
            .await
            .map_err(|_| LedgerClosed)?;
        rx.await.map_err(|_| LedgerClosed)
    }

    /// Runs `f` on the ledger thread and returns its result.
    pub async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut LedgerState) -> T + Send + 'static,
    ) -> Result<T, LedgerClosed> {
        let (reply, rx) = oneshot::channel();
        let job: ReadFn = Box::new(move |s| {
            let _ = reply.send(f(s));
        });
        self.tx
            .send(Cmd::Read(job))
            .await
            .map_err(|_| LedgerClosed)?;
        rx.await.map_err(|_| LedgerClosed)
    }

    /// Flushes and stops the ledger thread; later calls get [`LedgerClosed`].
    pub async fn close(&self) {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(Cmd::Close(reply)).await.is_ok() {
            let _ = rx.await;
        }
    }
}

fn serve(mut state: LedgerState, mut rx: mpsc::Receiver<Cmd>, metrics: &Metrics) {
    let mut deferred: Vec<Cmd> = Vec::new();
    loop {
        let first = match deferred.pop() {
            Some(c) => c,
            None => match rx.blocking_recv() {
                Some(c) => c,
                None => break,
            },
        };
        match first {
            Cmd::Read(f) => f(&mut state),
            Cmd::Close(reply) => {
                shut_down(state);
                let _ = reply.send(());
                return;
            }
            Cmd::Ingest {
                records,
                submitted,
                reply,
            } => {
                // Group commit: merge every ingest of the same kind already
                // queued (submissions with submissions, replication with
                // replication).
                let mut groups = vec![(records.len(), reply)];
                let mut all = records;
                while all.len() < MAX_GROUP_RECORDS {
                    match rx.try_recv() {
                        Ok(Cmd::Ingest {
                            records,
                            submitted: same,
                            reply,
                        }) if same == submitted => {
                            groups.push((records.len(), reply));
                            all.extend(records);
                        }
                        Ok(other) => {
                            deferred.push(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                let result = if submitted {
                    state.ledger.submit(all, now_ms())
                } else {
                    state.ledger.ingest(all, now_ms())
                };
                match result {
                    Ok(report) => {
                        count(metrics, &report);
                        metrics.set_gauges(state.ledger.len(), state.ledger.pending_len());
                        let mut outcomes = report.outcomes.into_iter();
                        let mut released = Some(report.released);
                        for (n, reply) in groups {
                            let part = IngestReport {
                                outcomes: outcomes.by_ref().take(n).collect(),
                                released: released.take().unwrap_or_default(),
                            };
                            let _ = reply.send(Ok(part));
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "ledger ingest failed");
                        for (_, reply) in groups {
                            let _ = reply.send(Err(StoreError::Engine(e.to_string())));
                        }
                    }
                }
            }
        }
    }
    shut_down(state);
}

/// Folds the ledger's tail into its store and flushes it, so the next
/// start has nothing to re-derive.
fn shut_down(state: LedgerState) {
    if let Err(e) = state.ledger.close() {
        tracing::error!(error = %e, "closing the ledger at shutdown");
    }
}

fn count(metrics: &Metrics, report: &IngestReport) {
    for (_, o) in report.outcomes.iter().chain(&report.released) {
        match o {
            Outcome::Accepted => metrics.inc(&metrics.records_accepted),
            Outcome::Duplicate => metrics.inc(&metrics.records_duplicate),
            Outcome::Pending(_) => metrics.inc(&metrics.records_pending),
            Outcome::Rejected { .. } => metrics.inc(&metrics.records_rejected),
            Outcome::PoolFull { .. } => metrics.inc(&metrics.records_pool_full),
        }
    }
}
