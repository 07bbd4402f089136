//! The sync server: answering peers' requests within each peer's budget
//! ([`SyncBudgets`]): requests in flight, requests per second and answer
//! bytes per second. A peer over its rates is refused until they have
//! refilled; one with more requests in flight than any honest client
//! keeps is refused and struck, and banned at the strike limit.

use std::time::Instant;

use libp2p::request_response::ResponseChannel;
use libp2p::PeerId;

use super::peers::Admit;
use super::{Net, NetCmd};
use crate::protocol::{SyncRequest, SyncResponse};
use crate::sync;

/// Bytes a heads entry is charged (its CBOR is about this).
const HEAD_BYTES: usize = 110;

impl Net {
    /// A peer's request: answered by a worker, or refused.
    pub(super) fn on_request(
        &mut self,
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    ) {
        self.metrics.inc(&self.metrics.sync_served);
        let refuse = |net: &mut Net, channel, reason: &str| {
            net.metrics.inc(&net.metrics.sync_refused);
            let refused = SyncResponse::Refused {
                reason: reason.into(),
            };
            let _ = net
                .swarm
                .behaviour_mut()
                .sync
                .send_response(channel, refused);
        };
        let heads = matches!(request, SyncRequest::Heads);
        match self.budgets.admit(peer, heads, Instant::now()) {
            Admit::Yes => {}
            Admit::OverBudget => return refuse(self, channel, "over your sync budget; ask later"),
            Admit::TooMany => {
                refuse(self, channel, "too many requests in flight");
                self.strike(peer, "sync: too many requests in flight");
                return;
            }
        }
        let Some(permit) = self.worker() else {
            self.budgets.answered(&peer, 0, Instant::now());
            return refuse(self, channel, "busy");
        };
        let (ledger, handle) = (self.ledger.clone(), self.handle.clone());
        tokio::spawn(async move {
            let response = match ledger.read(move |r| sync::answer(r, &request)).await {
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
        SyncResponse::Refused { reason } => reason.len(),
    }
}
