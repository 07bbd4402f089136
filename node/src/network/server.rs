//! The sync server: answering peers' requests within each peer's budget
//! ([`super::peers::SyncBudgets`]): requests in flight, requests per
//! second (heads apart) and answer bytes per second. A request over the
//! rates is held until they allow it (up to [`MAX_HOLD`]), still counted
//! in flight, so a peer that asks without pause is slowed to its budget
//! by its own requests instead of being refused into asking again. Answers are read on
//! [`ANSWER_THREADS`] thread below the ledger writer's priority
//! ([`crate::read_pool`], [`ANSWER_NICE_BELOW_WRITER`]), so peers
//! together never take more than one core, never go before a shopper's
//! page, and yield to ingest; an idle node gives them all they ask. A peer over its rates is refused until they have
//! refilled; one with more requests in flight than any honest client
//! keeps is refused and struck, and banned at the strike limit.

use std::time::{Duration, Instant};

use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;

use super::peers::Admit;
use super::{Net, NetCmd};
use crate::protocol::{SyncRequest, SyncResponse};
use crate::sync;

/// Threads reading answers for peers, all peers together.
pub const ANSWER_THREADS: usize = 1;
/// How many niceness steps below the ledger writer answers are read.
pub const ANSWER_NICE_BELOW_WRITER: i32 = 5;
/// Answers waiting for those threads; beyond, requests are refused as busy.
pub const ANSWER_QUEUE: usize = 64;

/// Bytes a heads entry is charged (its CBOR is about this).
const HEAD_BYTES: usize = 110;

/// The longest a request over its peer's budget is held before it is
/// refused instead (the asker's own timeout is 30 s).
pub const MAX_HOLD: Duration = Duration::from_secs(5);

impl Net {
    /// A peer's request: answered by a worker, held until its peer's
    /// budget allows it, or refused.
    pub(super) fn on_request(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        self.metrics.inc(&self.metrics.sync_served);
        let heads = matches!(request, SyncRequest::Heads);
        let admit = self.budgets.admit(peer, heads, Instant::now());
        self.decide(peer, request, channel, admit);
    }

    /// A request held for its peer's budget, asked again.
    pub(super) fn on_held(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        let heads = matches!(request, SyncRequest::Heads);
        let admit = self.budgets.readmit(&peer, heads, Instant::now());
        self.decide(peer, request, channel, admit);
    }

    fn refuse(&mut self, channel: ResponseChannel<SyncResponse>, reason: &str) {
        self.metrics.inc(&self.metrics.sync_refused);
        let refused = SyncResponse::Refused {
            reason: reason.into(),
        };
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, refused);
    }

    fn decide(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
        admit: Admit,
    ) {
        match admit {
            Admit::Yes => {}
            Admit::Later(wait) if wait <= MAX_HOLD => {
                self.metrics.inc(&self.metrics.sync_held);
                let handle = self.handle.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    handle
                        .send(NetCmd::Held {
                            peer,
                            request,
                            channel,
                        })
                        .await;
                });
                return;
            }
            Admit::Later(_) => {
                self.budgets.answered(&peer, 0, Instant::now());
                return self.refuse(channel, "over your sync budget; ask later");
            }
            Admit::Gone => return,
            Admit::TooMany => {
                self.refuse(channel, "too many requests in flight");
                self.strike(peer, "sync: too many requests in flight");
                return;
            }
        }
        let Some(permit) = self.worker() else {
            self.budgets.answered(&peer, 0, Instant::now());
            return self.refuse(channel, "busy");
        };
        let (ledger, handle, pool) = (
            self.ledger.clone(),
            self.handle.clone(),
            self.answer_pool.clone(),
        );
        tokio::spawn(async move {
            let read = ledger.read_on(&pool, move |r| sync::answer(r, &request));
            let response = match read.await {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => SyncResponse::Refused {
                    reason: e.to_string(),
                },
                Err(e) => SyncResponse::Refused {
                    reason: e.to_string(),
                },
            };
            handle
                .send(NetCmd::Respond {
                    peer,
                    channel,
                    response,
                })
                .await;
            drop(permit);
        });
    }

    /// Sends an answer and charges it to its peer's budget.
    pub(super) fn respond(
        &mut self,
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    ) {
        let bytes = answer_bytes(&response);
        self.budgets.answered(&peer, bytes, Instant::now());
        self.metrics.add(&self.metrics.sync_bytes_served, bytes);
        let _ = self
            .swarm
            .behaviour_mut()
            .sync
            .send_response(channel, response);
    }
}

/// About how many bytes an answer puts on the wire.
fn answer_bytes(response: &SyncResponse) -> usize {
    match response {
        SyncResponse::Heads { heads } => heads.len().saturating_mul(HEAD_BYTES),
        SyncResponse::Records { records, .. } | SyncResponse::Log { records, .. } => {
            records.iter().map(|r| r.len() + 3).sum()
        }
        SyncResponse::Checkpoints { items } => {
            items.iter().map(|i| i.note.len() + i.tips.len() + 8).sum()
        }
        SyncResponse::Refused { reason } => reason.len(),
    }
}
