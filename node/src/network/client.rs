//! The sync client: what this node asks its peers for, and what it does
//! with their answers.
//!
//! Every round it compares heads with each peer ([`crate::sync::plan`])
//! and fetches the chains it lacks, or, for a gap of a log page or more,
//! catches up by the peer's log ([`crate::sync::LogSyncs`]) one page at a time: the
//! swarm task asks for a page, a worker ingests it and reports back, and
//! only then is the next page asked for, so pages are ingested in the
//! peer's log order. While a catch-up runs no heads are compared and no
//! chains fetched, with any peer, and heads comparisons made before it
//! started or ended are dropped as stale, so nothing it brings is fetched
//! twice.
//!
//! At most [`MAX_OUTBOUND_PER_PEER`] requests are in flight to one peer
//! (the rest wait in its queue, at most [`MAX_QUEUED_PER_PEER`]), below
//! what a peer's sync budget lets in, so an honest node is never refused
//! for asking too much at once.

use std::collections::{BTreeSet, HashSet, VecDeque};

use ledger_core::ledger::PendingReason;
use ledger_core::{Outcome, SignedRecord};
use libp2p::request_response::OutboundRequestId;
use libp2p::PeerId;

use super::{Net, NetCmd, NetworkHandle};
use crate::ledger_task::LedgerHandle;
use crate::metrics::Metrics;
use crate::protocol::{self, SyncRequest, SyncResponse, MAX_HASHES_PER_REQUEST};
use crate::sync::{self, Ingested, Paged, Plan};

/// Requests in flight to one peer at once.
pub const MAX_OUTBOUND_PER_PEER: usize = 8;
/// Requests waiting for one peer at most; beyond, a request is dropped
/// (the next heads round plans it again).
pub const MAX_QUEUED_PER_PEER: usize = 4_096;

/// What an outbound sync request asked for, kept until it is answered.
#[derive(Debug, Clone, Copy)]
pub(super) enum Asked {
    /// Heads, asked under this log syncs' epoch.
    Heads { epoch: u64 },
    /// An author's chain.
    Chain([u8; 32]),
    /// Records by hash.
    Records,
    /// A log page after this cursor; `positioned`: after where the peer
    /// finds the first record we lack ([`SyncRequest::LogFrom`]), at or
    /// past the cursor, so the page says where it starts.
    Log { after: u64, positioned: bool },
    /// Final checkpoints.
    Checkpoints,
}

/// One peer's outbound requests: in flight, and waiting their turn.
#[derive(Debug, Default)]
pub(super) struct Outbound {
    inflight: usize,
    queue: VecDeque<SyncRequest>,
    /// A heads request is in flight or queued: another one waits for it.
    heads: bool,
}

impl Net {
    /// Asks `peer` for something, now or once its earlier requests are
    /// answered.
    pub(super) fn fetch(&mut self, peer: PeerId, request: SyncRequest) {
        let is_log = matches!(
            request,
            SyncRequest::Log { .. } | SyncRequest::LogFrom { .. }
        );
        if self.paused(&request) {
            return;
        }
        if !self.swarm.is_connected(&peer) {
            if let SyncRequest::Log { after } | SyncRequest::LogFrom { after, .. } = request {
                // The page cannot be asked for now; the next heads round
                // starts the log sync again from its cursor.
                self.log.failed(peer, after);
            }
            return;
        }
        let out = self.outbound.entry(peer).or_default();
        match &request {
            SyncRequest::Chain { author, .. } if !self.chains_inflight.insert((peer, *author)) => {
                return
            }
            SyncRequest::Heads if out.heads => return,
            SyncRequest::Heads => out.heads = true,
            _ => {}
        }
        if out.queue.len() >= MAX_QUEUED_PER_PEER && !is_log {
            self.settled(peer, &request);
            return;
        }
        out.queue.push_back(request);
        self.pump(peer);
    }

    /// Whether a request waits for a running catch-up: it is fetching what
    /// the peers hold, so heads are not compared and chains not fetched
    /// (not even the rest of one planned before), and nothing comes twice.
    /// It ends by asking its peer for heads; the others are asked at the
    /// next round.
    fn paused(&self, request: &SyncRequest) -> bool {
        self.log.running().is_some()
            && matches!(request, SyncRequest::Heads | SyncRequest::Chain { .. })
    }

    /// Sends `peer` its queued requests while it has room in flight.
    fn pump(&mut self, peer: PeerId) {
        loop {
            let request = {
                let Some(out) = self.outbound.get_mut(&peer) else {
                    return;
                };
                if out.inflight >= MAX_OUTBOUND_PER_PEER {
                    return;
                }
                let Some(request) = out.queue.pop_front() else {
                    return;
                };
                request
            };
            if self.paused(&request) {
                self.settled(peer, &request);
                continue;
            }
            if let Some(out) = self.outbound.get_mut(&peer) {
                out.inflight += 1;
            }
            let asked = match &request {
                // The epoch of when the heads are asked, not queued.
                SyncRequest::Heads => Asked::Heads {
                    epoch: self.log.epoch(),
                },
                SyncRequest::Chain { author, .. } => Asked::Chain(*author),
                SyncRequest::Records { .. } => Asked::Records,
                SyncRequest::Log { after } => Asked::Log {
                    after: *after,
                    positioned: false,
                },
                SyncRequest::LogFrom { after, .. } => Asked::Log {
                    after: *after,
                    positioned: true,
                },
                SyncRequest::Checkpoints { .. } => Asked::Checkpoints,
            };
            let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
            self.inflight.insert(id, (peer, asked));
        }
    }

    /// A request to `peer` is no longer in flight nor queued: another like
    /// it may be asked.
    fn settled(&mut self, peer: PeerId, request: &SyncRequest) {
        match request {
            SyncRequest::Chain { author, .. } => {
                self.chains_inflight.remove(&(peer, *author));
            }
            SyncRequest::Heads => {
                if let Some(out) = self.outbound.get_mut(&peer) {
                    out.heads = false;
                }
            }
            _ => {}
        }
    }

    fn finished(&mut self, id: &OutboundRequestId) -> Option<(PeerId, Asked)> {
        let (peer, asked) = self.inflight.remove(id)?;
        if let Some(out) = self.outbound.get_mut(&peer) {
            out.inflight = out.inflight.saturating_sub(1);
            if matches!(asked, Asked::Heads { .. }) {
                out.heads = false;
            }
        }
        if let Asked::Chain(a) = asked {
            self.chains_inflight.remove(&(peer, a));
        }
        self.pump(peer);
        Some((peer, asked))
    }

    /// Acts on a heads comparison: drops it if stale or while a catch-up
    /// runs, starts a catch-up by the peer's log if the gap calls for one,
    /// and fetches chains otherwise.
    pub(super) fn planned(&mut self, peer: PeerId, epoch: u64, plan: Plan) {
        if epoch != self.log.epoch() || self.log.running().is_some() {
            return;
        }
        if self.log.wants(&plan) {
            if let Some(request) = self.log.start(peer, &plan) {
                tracing::info!(
                    %peer,
                    behind = plan.behind,
                    held = plan.held,
                    cursor = self.log.cursor(&peer),
                    "catching up by the peer's log"
                );
                self.fetch(peer, request);
            }
            return;
        }
        for request in plan.requests {
            self.fetch(peer, request);
        }
    }

    /// A log page was ingested (or failed): asks for the next one, or ends
    /// the log sync and lets a heads round fetch whatever remains.
    pub(super) fn log_paged(&mut self, peer: PeerId, after: u64, page: Option<Ingested>) {
        let Some(page) = page else {
            self.log.failed(peer, after);
            return;
        };
        let paged = self.log.page(peer, after, page);
        if paged != Paged::Stale {
            // The page is stored (its ingest flushed before it reported
            // back), so its cursor may be written.
            self.cursor_saver.save(self.log.cursors().clone());
        }
        match paged {
            Paged::Next(next) => self.fetch(peer, next),
            Paged::Done => {
                self.metrics.inc(&self.metrics.sync_logs_completed);
                tracing::info!(%peer, end = page.end, "caught up with the peer's log");
                self.fetch(peer, SyncRequest::Heads);
            }
            Paged::Idle => {
                tracing::info!(
                    %peer,
                    at = page.last,
                    end = page.end,
                    "the peer's log brings nothing new; heads rounds fetch the rest"
                );
                self.fetch(peer, SyncRequest::Heads);
            }
            Paged::Stale => {}
        }
    }

    /// A peer's answer to one of our requests.
    pub(super) fn on_response(&mut self, request_id: OutboundRequestId, response: SyncResponse) {
        self.metrics.inc(&self.metrics.sync_received);
        let Some((peer, asked)) = self.finished(&request_id) else {
            return;
        };
        // A log page answers a log request and nothing else; a
        // log sync whose page does not come stops, and the next
        // heads round starts it again from its cursor.
        match (asked, &response) {
            (Asked::Log { .. }, SyncResponse::Log { .. }) => {}
            (Asked::Log { after, .. }, SyncResponse::Refused { reason }) => {
                tracing::debug!(%peer, reason, "log page refused");
                self.log.failed(peer, after);
                return;
            }
            (Asked::Log { after, .. }, _) => {
                self.log.failed(peer, after);
                self.strike(peer, "sync: a log request answered with no log page");
                return;
            }
            (_, SyncResponse::Log { .. }) => {
                self.strike(peer, "sync: a log page nobody asked for");
                return;
            }
            // Heads asked before a catch-up started are stale.
            (Asked::Heads { .. }, _) if self.log.running().is_some() => return,
            _ => {}
        }
        let Some(permit) = self.worker() else {
            if let Asked::Log { after, .. } = asked {
                self.log.failed(peer, after);
            }
            return;
        };
        // Authors whose records gossip is bringing right now:
        // the plan leaves them to it.
        let arriving: HashSet<[u8; 32]> = match &response {
            SyncResponse::Heads { .. } => self.gossip.authors.keys().copied().collect(),
            _ => HashSet::new(),
        };
        let (ledger, handle) = (self.ledger.clone(), self.handle.clone());
        let metrics = self.metrics.clone();
        tokio::spawn(async move {
            let asked = (peer, asked);
            digest_response(ledger, handle, &metrics, asked, response, arriving).await;
            drop(permit);
        });
    }

    /// One of our requests failed (timeout, closed connection, refused
    /// stream).
    pub(super) fn on_outbound_failure(
        &mut self,
        request_id: OutboundRequestId,
        error: &dyn std::fmt::Display,
    ) {
        match self.finished(&request_id) {
            Some((peer, Asked::Log { after, .. })) => {
                // A catch-up that cannot ask for its pages never ends:
                // say so where an operator looks.
                self.log.failed(peer, after);
                tracing::warn!(%peer, %error, "a catch-up's log request failed");
            }
            Some((peer, _)) => tracing::debug!(%peer, %error, "sync request failed"),
            None => {}
        }
    }
}

pub(super) async fn request_missing(
    handle: &NetworkHandle,
    peer: PeerId,
    missing: BTreeSet<ledger_core::Hash>,
) {
    let all: Vec<[u8; 32]> = missing.into_iter().map(|h| h.0).collect();
    for chunk in all.chunks(MAX_HASHES_PER_REQUEST) {
        handle
            .send(NetCmd::Fetch {
                peer,
                request: SyncRequest::Records {
                    hashes: chunk.to_vec(),
                },
            })
            .await;
    }
}

/// What ingesting synced records came to.
#[derive(Debug, Default)]
struct Synced {
    /// The author of the first record that decoded.
    author: Option<[u8; 32]>,
    /// Records already stored.
    duplicate: usize,
    /// Records parked in the pending pool.
    pending: usize,
}

/// Decodes and ingests records a peer sent by sync (striking it for bytes
/// that do not decode and records the ledger rejects), and asks it for
/// whatever they turn out to be missing. `None` when the ledger did not
/// answer (it is closed or its store failed).
async fn ingest_synced(
    ledger: &LedgerHandle,
    handle: &NetworkHandle,
    metrics: &Metrics,
    peer: PeerId,
    records: &[serde_bytes::ByteBuf],
) -> Option<Synced> {
    metrics.add(&metrics.sync_records, records.len());
    let mut decoded = Vec::with_capacity(records.len());
    for bytes in records {
        match SignedRecord::decode(bytes) {
            Ok(r) => decoded.push(r),
            Err(e) => {
                handle
                    .send(NetCmd::Strike {
                        peer,
                        reason: format!("sync: {e}"),
                    })
                    .await;
            }
        }
    }
    let mut synced = Synced {
        author: decoded.first().map(|r| r.record.author.0),
        ..Synced::default()
    };
    let source = crate::source::of_peer(&peer);
    let Ok(Ok(report)) = ledger.ingest_from(decoded, source).await else {
        return None;
    };
    let mut missing = BTreeSet::new();
    for (hash, outcome) in report.outcomes {
        match outcome {
            Outcome::Rejected { error } => {
                handle
                    .send(NetCmd::Strike {
                        peer,
                        reason: format!("synced record {hash}: {error}"),
                    })
                    .await;
            }
            Outcome::Pending(reason) => {
                synced.pending += 1;
                if let PendingReason::Missing { hashes } = reason {
                    missing.extend(hashes);
                }
            }
            Outcome::Duplicate => {
                synced.duplicate += 1;
                metrics.inc(&metrics.sync_records_duplicate);
            }
            _ => {}
        }
    }
    // Records fetched in this response may be the missing ones.
    if !missing.is_empty() {
        let still = ledger
            .read(move |r| {
                missing
                    .into_iter()
                    .filter(|h| {
                        ledger_core::graph::Graph::record(r, h).map_or(true, |r| r.is_none())
                    })
                    .collect::<BTreeSet<_>>()
            })
            .await
            .unwrap_or_default();
        request_missing(handle, peer, still).await;
    }
    Some(synced)
}

/// Acts on a peer's sync response to what was `asked`: compares heads
/// (the swarm task then decides what to fetch), or ingests the records it
/// sent and asks for the rest of a chain, or for the next page of a log.
async fn digest_response(
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: &Metrics,
    (peer, asked): (PeerId, Asked),
    response: SyncResponse,
    arriving: HashSet<[u8; 32]>,
) {
    match response {
        SyncResponse::Heads { heads } => {
            let Asked::Heads { epoch } = asked else {
                return;
            };
            match ledger.read(move |r| sync::plan(r, &heads, &arriving)).await {
                Ok(Ok(plan)) => handle.send(NetCmd::Planned { peer, epoch, plan }).await,
                Ok(Err(e)) => tracing::error!(error = %e, "planning sync"),
                Err(_) => {}
            }
        }
        SyncResponse::Records { records, next_seq } => {
            let Some(synced) = ingest_synced(&ledger, &handle, metrics, peer, &records).await
            else {
                return;
            };
            if let (Some(from_seq), Some(author)) = (next_seq, synced.author) {
                handle
                    .send(NetCmd::Fetch {
                        peer,
                        request: SyncRequest::Chain { author, from_seq },
                    })
                    .await;
            }
        }
        SyncResponse::Log { records, last, end } => {
            let Asked::Log { after, positioned } = asked else {
                return;
            };
            let bytes = records.iter().map(|r| r.len()).sum();
            // A positioned page starts where the peer found the first
            // record we lack: log seqs have no gaps, so its records tell.
            let from = if positioned {
                last.saturating_sub(records.len() as u64)
            } else {
                after
            };
            let checked = if from < after {
                Err(format!(
                    "log page starts at {from}, before its cursor {after}"
                ))
            } else {
                sync::check_log_page(from, records.len(), bytes, last, end)
            };
            let page = match checked {
                Err(why) => {
                    handle
                        .send(NetCmd::Strike {
                            peer,
                            reason: format!("sync: {why}"),
                        })
                        .await;
                    None
                }
                Ok(()) => {
                    let synced = ingest_synced(&ledger, &handle, metrics, peer, &records).await;
                    synced.map(|s| {
                        metrics.inc(&metrics.sync_log_pages);
                        metrics.add(&metrics.sync_log_records, records.len());
                        metrics.add(&metrics.sync_log_records_duplicate, s.duplicate);
                        metrics.add(&metrics.sync_log_records_pending, s.pending);
                        Ingested {
                            last,
                            end,
                            fresh: records.len().saturating_sub(s.duplicate),
                        }
                    })
                }
            };
            handle.send(NetCmd::LogPaged { peer, after, page }).await;
        }
        SyncResponse::Checkpoints { items } => {
            if !matches!(asked, Asked::Checkpoints)
                || items.len() > protocol::MAX_CHECKPOINTS_PER_RESPONSE
            {
                handle
                    .send(NetCmd::Strike {
                        peer,
                        reason: "sync: checkpoints nobody asked for".into(),
                    })
                    .await;
                return;
            }
            handle
                .send(NetCmd::CheckpointsFetched { peer, items })
                .await;
        }
        SyncResponse::Refused { reason } => {
            tracing::debug!(%peer, reason, "sync request refused");
        }
    }
}
