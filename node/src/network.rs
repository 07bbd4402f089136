//! The libp2p side: one task owns the [`Swarm`]; everything else holds a
//! [`NetworkHandle`] and sends it commands over a bounded channel.
//!
//! - gossipsub announces new records on a topic named after the network
//!   id. Messages are validated by the ledger before gossipsub may forward
//!   them (`validate_messages` + `report_message_validation_result`).
//! - a request-response protocol (CBOR, size-bounded) exchanges heads and
//!   fetches chains and records by hash (see [`crate::sync`]).
//! - identify carries the network id in its protocol version; a peer of
//!   another network is disconnected and banned.
//! - mDNS (optional) finds peers on the local network.
//!
//! A peer that sends a record the ledger rejects (or bytes that do not
//! decode) gets a strike; at `max_strikes` it is disconnected and banned.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use ledger_core::ledger::PendingReason;
use ledger_core::{NetworkId, Outcome, SignedRecord};
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance, MessageAuthenticity, MessageId};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, OutboundRequestId, ProtocolSupport, ResponseChannel};
use libp2p::swarm::{behaviour::toggle::Toggle, SwarmEvent};
use libp2p::{identify, mdns, noise, tcp, yamux, Multiaddr, PeerId, StreamProtocol, Swarm};
use serde::Serialize;
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use crate::ledger_task::LedgerHandle;
use crate::metrics::Metrics;
use crate::protocol::{self, SyncRequest, SyncResponse, MAX_HASHES_PER_REQUEST};
use crate::sync;

/// Commands queued for the swarm task. Producers are HTTP handlers and the
/// node's own worker tasks, which are capped by [`MAX_WORKERS`]; 1,024
/// leaves room for every worker's follow-up requests without blocking.
pub const NETWORK_QUEUE: usize = 1_024;
/// Worker tasks (validating gossip, answering and digesting sync messages)
/// alive at once. Beyond it, gossip is ignored (not forwarded), requests
/// are refused as busy, and responses are dropped (the next sync round
/// asks again).
pub const MAX_WORKERS: usize = 256;
/// Outbound sync requests in flight at once.
pub const MAX_INFLIGHT_REQUESTS: usize = 1_024;
/// Banned peers remembered (each is 40 bytes).
pub const MAX_BANNED: usize = 10_000;
/// How long a sync request may take before it fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent sync streams per connection.
const MAX_STREAMS: usize = 64;
/// Idle connections stay open this long (sync rounds keep them busy).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);

pub use self::behaviour::{Behaviour, BehaviourEvent};

mod behaviour {
    // The derive generates `BehaviourEvent` without docs.
    #![allow(missing_docs)]
    use super::{gossipsub, identify, mdns, request_response, SyncRequest, SyncResponse, Toggle};
    use libp2p::swarm::NetworkBehaviour;

    /// The node's libp2p behaviours.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Record announcements.
        pub gossipsub: gossipsub::Behaviour,
        /// Heads and range fetch.
        pub sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
        /// Peer info, carrying the network id.
        pub identify: identify::Behaviour,
        /// Local discovery, when switched on.
        pub mdns: Toggle<mdns::tokio::Behaviour>,
    }
}

/// Builds a swarm (TCP + noise + yamux) for `network`. Public so tests can
/// run a peer of their own.
pub fn build_swarm(
    key: Keypair,
    network: &NetworkId,
    use_mdns: bool,
) -> anyhow::Result<Swarm<Behaviour>> {
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .validate_messages()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .max_transmit_size(protocol::MAX_GOSSIP_BYTES)
        // Content addressing: one record is one message, whoever sent it.
        .message_id_fn(|m: &gossipsub::Message| {
            MessageId::from(ledger_core::Hash::of(&m.data).0.to_vec())
        })
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let sync_name = StreamProtocol::try_from_owned(protocol::sync_protocol(network))
        .map_err(|e| anyhow::anyhow!("sync protocol name: {e}"))?;
    let version = protocol::identify_version(network);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key: &Keypair| {
            let gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_cfg)?;
            let codec =
                request_response::cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
                    .set_request_size_maximum(protocol::MAX_REQUEST_BYTES)
                    .set_response_size_maximum(protocol::MAX_RESPONSE_BYTES);
            let sync = request_response::Behaviour::with_codec(
                codec,
                [(sync_name, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(MAX_STREAMS),
            );
            let identify = identify::Behaviour::new(
                identify::Config::new(version, key.public())
                    .with_agent_version(format!("terroird/{}", env!("CARGO_PKG_VERSION"))),
            );
            let mdns = if use_mdns {
                Some(mdns::tokio::Behaviour::new(
                    mdns::Config::default(),
                    key.public().to_peer_id(),
                )?)
            } else {
                None
            };
            Ok(Behaviour {
                gossipsub,
                sync,
                identify,
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| anyhow::anyhow!("building the swarm: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .build();
    Ok(swarm)
}

/// A connected peer as `/status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// Its libp2p id.
    pub peer_id: String,
    /// Strikes it has collected.
    pub strikes: u32,
}

enum NetCmd {
    Publish(Vec<u8>),
    Validated {
        id: MessageId,
        source: PeerId,
        acceptance: MessageAcceptance,
    },
    Strike {
        peer: PeerId,
        reason: String,
    },
    Fetch {
        peer: PeerId,
        request: SyncRequest,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// A cheap, cloneable handle on the swarm task.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    tx: mpsc::Sender<NetCmd>,
}

impl std::fmt::Debug for NetCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetCmd")
    }
}

impl NetworkHandle {
    /// Announces a validated record to the network.
    pub async fn publish(&self, record_bytes: Vec<u8>) {
        let _ = self.tx.send(NetCmd::Publish(record_bytes)).await;
    }

    /// The connected peers (empty once the network has stopped).
    pub async fn peers(&self) -> Vec<PeerInfo> {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(NetCmd::Peers(reply)).await.is_err() {
            return Vec::new();
        }
        rx.await.unwrap_or_default()
    }

    async fn send(&self, cmd: NetCmd) {
        let _ = self.tx.send(cmd).await;
    }
}

/// What the swarm task needs to start.
pub struct NetworkParts {
    /// The swarm, already listening.
    pub swarm: Swarm<Behaviour>,
    /// The network id.
    pub network: NetworkId,
    /// Peers dialled at start and whenever no peer is connected.
    pub bootstrap: Vec<Multiaddr>,
    /// Heads are compared with every peer this often.
    pub sync_interval: Duration,
    /// Strikes before a ban.
    pub max_strikes: u32,
}

/// Starts the swarm task; it ends when `shutdown` turns true.
pub fn spawn(
    parts: NetworkParts,
    ledger: LedgerHandle,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(NetworkHandle, tokio::task::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(NETWORK_QUEUE);
    let handle = NetworkHandle { tx };
    let mut swarm = parts.swarm;
    let topic = IdentTopic::new(protocol::topic(&parts.network));
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| anyhow::anyhow!("subscribing to {topic}: {e}"))?;
    let net = Net {
        swarm,
        topic,
        version: protocol::identify_version(&parts.network),
        ledger,
        handle: handle.clone(),
        metrics,
        workers: Arc::new(Semaphore::new(MAX_WORKERS)),
        strikes: HashMap::new(),
        banned: HashSet::new(),
        max_strikes: parts.max_strikes,
        inflight: HashMap::new(),
        chains_inflight: HashSet::new(),
        bootstrap: parts.bootstrap,
    };
    let join = tokio::spawn(net.run(rx, shutdown, parts.sync_interval));
    Ok((handle, join))
}

struct Net {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    version: String,
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: Arc<Metrics>,
    workers: Arc<Semaphore>,
    strikes: HashMap<PeerId, u32>,
    banned: HashSet<PeerId>,
    max_strikes: u32,
    inflight: HashMap<OutboundRequestId, (PeerId, Option<[u8; 32]>)>,
    chains_inflight: HashSet<(PeerId, [u8; 32])>,
    bootstrap: Vec<Multiaddr>,
}

impl Net {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<NetCmd>,
        mut shutdown: watch::Receiver<bool>,
        sync_interval: Duration,
    ) {
        self.dial_bootstrap();
        let mut timer = tokio::time::interval(sync_interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(cmd) = rx.recv() => self.command(cmd),
                event = self.swarm.select_next_some() => self.event(event),
                _ = timer.tick() => self.sync_round(),
            }
        }
        tracing::info!("network stopped");
    }

    fn dial_bootstrap(&mut self) {
        for addr in self.bootstrap.clone() {
            if let Err(e) = self.swarm.dial(addr.clone()) {
                tracing::warn!(%addr, error = %e, "dialling bootstrap peer");
            }
        }
    }

    fn sync_round(&mut self) {
        let peers: Vec<PeerId> = self.swarm.connected_peers().copied().collect();
        if peers.is_empty() {
            self.dial_bootstrap();
        }
        for peer in peers {
            self.fetch(peer, SyncRequest::Heads);
        }
        // Release records dated ahead of the clock whose time has come.
        let ledger = self.ledger.clone();
        if let Ok(permit) = self.workers.clone().try_acquire_owned() {
            tokio::spawn(async move {
                let _ = ledger.ingest(Vec::new()).await;
                drop(permit);
            });
        }
    }

    fn command(&mut self, cmd: NetCmd) {
        match cmd {
            NetCmd::Publish(bytes) => {
                let topic = self.topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    tracing::debug!(error = %e, "gossip publish");
                }
            }
            NetCmd::Validated {
                id,
                source,
                acceptance,
            } => {
                self.swarm
                    .behaviour_mut()
                    .gossipsub
                    .report_message_validation_result(&id, &source, acceptance);
            }
            NetCmd::Strike { peer, reason } => self.strike(peer, &reason),
            NetCmd::Fetch { peer, request } => self.fetch(peer, request),
            NetCmd::Respond { channel, response } => {
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .sync
                    .send_response(channel, response);
            }
            NetCmd::Peers(reply) => {
                let peers = self
                    .swarm
                    .connected_peers()
                    .map(|p| PeerInfo {
                        peer_id: p.to_string(),
                        strikes: self.strikes.get(p).copied().unwrap_or(0),
                    })
                    .collect();
                let _ = reply.send(peers);
            }
        }
    }

    fn strike(&mut self, peer: PeerId, reason: &str) {
        self.metrics.inc(&self.metrics.peer_strikes);
        let n = self.strikes.entry(peer).or_insert(0);
        *n += 1;
        tracing::warn!(%peer, strikes = *n, reason, "peer sent invalid data");
        // Ban once, at the threshold; strikes for messages already in
        // flight when the ban fell only count.
        if *n == self.max_strikes {
            self.ban(peer, "too many invalid records");
        }
    }

    fn ban(&mut self, peer: PeerId, why: &str) {
        tracing::warn!(%peer, why, "disconnecting and banning peer");
        self.metrics.inc(&self.metrics.peers_banned);
        if self.banned.len() < MAX_BANNED {
            self.banned.insert(peer);
        }
        self.swarm.behaviour_mut().gossipsub.blacklist_peer(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
    }

    fn fetch(&mut self, peer: PeerId, request: SyncRequest) {
        if !self.swarm.is_connected(&peer) || self.inflight.len() >= MAX_INFLIGHT_REQUESTS {
            return;
        }
        let chain = match &request {
            SyncRequest::Chain { author, .. } => {
                if !self.chains_inflight.insert((peer, *author)) {
                    return;
                }
                Some(*author)
            }
            _ => None,
        };
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.inflight.insert(id, (peer, chain));
    }

    fn finished(&mut self, id: &OutboundRequestId) -> Option<PeerId> {
        let (peer, chain) = self.inflight.remove(id)?;
        if let Some(a) = chain {
            self.chains_inflight.remove(&(peer, a));
        }
        Some(peer)
    }

    fn worker(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.workers.clone().try_acquire_owned().ok()
    }

    fn event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "listening");
            }
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                if self.banned.contains(&peer_id) {
                    let _ = self.swarm.disconnect_peer_id(peer_id);
                    return;
                }
                tracing::info!(peer = %peer_id, "connected");
                self.gauge_peers();
                if num_established.get() == 1 {
                    self.fetch(peer_id, SyncRequest::Heads);
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established,
                ..
            } => {
                if num_established == 0 {
                    tracing::info!(peer = %peer_id, "disconnected");
                    self.chains_inflight.retain(|(p, _)| *p != peer_id);
                }
                self.gauge_peers();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) if info.protocol_version != self.version => {
                self.ban(peer_id, "peer belongs to another network");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                for (peer, addr) in found {
                    if !self.swarm.is_connected(&peer) && !self.banned.contains(&peer) {
                        let _ = self.swarm.dial(addr);
                    }
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                self.metrics.inc(&self.metrics.gossip_received);
                let Some(permit) = self.worker() else {
                    self.metrics.inc(&self.metrics.gossip_dropped);
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            MessageAcceptance::Ignore,
                        );
                    return;
                };
                let (ledger, handle) = (self.ledger.clone(), self.handle.clone());
                tokio::spawn(async move {
                    validate_gossip(ledger, handle, propagation_source, message_id, message.data)
                        .await;
                    drop(permit);
                });
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    self.metrics.inc(&self.metrics.sync_served);
                    let Some(permit) = self.worker() else {
                        let busy = SyncResponse::Refused {
                            reason: "busy".into(),
                        };
                        let _ = self.swarm.behaviour_mut().sync.send_response(channel, busy);
                        return;
                    };
                    let (ledger, handle) = (self.ledger.clone(), self.handle.clone());
                    tokio::spawn(async move {
                        let response = match ledger
                            .read(move |s| sync::answer(&s.ledger, &request))
                            .await
                        {
                            Ok(Ok(r)) => r,
                            Ok(Err(e)) => SyncResponse::Refused {
                                reason: e.to_string(),
                            },
                            Err(e) => SyncResponse::Refused {
                                reason: e.to_string(),
                            },
                        };
                        handle.send(NetCmd::Respond { channel, response }).await;
                        drop(permit);
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    self.metrics.inc(&self.metrics.sync_received);
                    let Some(peer) = self.finished(&request_id) else {
                        return;
                    };
                    let Some(permit) = self.worker() else {
                        return;
                    };
                    let (ledger, handle) = (self.ledger.clone(), self.handle.clone());
                    let metrics = self.metrics.clone();
                    tokio::spawn(async move {
                        digest_response(ledger, handle, &metrics, peer, response).await;
                        drop(permit);
                    });
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                },
            )) => {
                self.finished(&request_id);
                tracing::debug!(%peer, %error, "sync request failed");
            }
            _ => {}
        }
    }

    fn gauge_peers(&self) {
        let n = self.swarm.connected_peers().count();
        self.metrics.peers_connected.store(
            u64::try_from(n).unwrap_or(u64::MAX),
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

/// Validates one gossiped record through the ledger and tells gossipsub
/// whether to forward it. Only records the ledger accepts are forwarded.
async fn validate_gossip(
    ledger: LedgerHandle,
    handle: NetworkHandle,
    source: PeerId,
    id: MessageId,
    data: Vec<u8>,
) {
    let acceptance = match SignedRecord::decode(&data) {
        Err(e) => {
            handle
                .send(NetCmd::Strike {
                    peer: source,
                    reason: format!("gossip: {e}"),
                })
                .await;
            MessageAcceptance::Reject
        }
        Ok(record) => match ledger.ingest(vec![record]).await {
            Ok(Ok(report)) => match report.outcomes.into_iter().next() {
                Some((_, Outcome::Accepted)) => MessageAcceptance::Accept,
                Some((hash, Outcome::Rejected { error })) => {
                    handle
                        .send(NetCmd::Strike {
                            peer: source,
                            reason: format!("gossiped record {hash}: {error}"),
                        })
                        .await;
                    MessageAcceptance::Reject
                }
                Some((_, Outcome::Pending(PendingReason::Missing { hashes }))) => {
                    request_missing(&handle, source, hashes.into_iter().collect()).await;
                    MessageAcceptance::Ignore
                }
                _ => MessageAcceptance::Ignore,
            },
            _ => MessageAcceptance::Ignore,
        },
    };
    handle
        .send(NetCmd::Validated {
            id,
            source,
            acceptance,
        })
        .await;
}

async fn request_missing(
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

/// Acts on a peer's sync response: plans fetches from its heads, or
/// ingests the records it sent (striking it for invalid ones) and asks for
/// whatever they turn out to be missing.
async fn digest_response(
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: &Metrics,
    peer: PeerId,
    response: SyncResponse,
) {
    match response {
        SyncResponse::Heads { heads } => {
            match ledger.read(move |s| sync::plan(&s.ledger, &heads)).await {
                Ok(Ok(plan)) => {
                    for request in plan {
                        handle.send(NetCmd::Fetch { peer, request }).await;
                    }
                }
                Ok(Err(e)) => tracing::error!(error = %e, "planning sync"),
                Err(_) => {}
            }
        }
        SyncResponse::Records { records, next_seq } => {
            metrics.add(&metrics.sync_records, records.len());
            let mut decoded = Vec::with_capacity(records.len());
            for bytes in &records {
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
            let author = decoded.first().map(|r| r.record.author.0);
            let Ok(Ok(report)) = ledger.ingest(decoded).await else {
                return;
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
                    Outcome::Pending(PendingReason::Missing { hashes }) => missing.extend(hashes),
                    Outcome::Duplicate => metrics.inc(&metrics.sync_records_duplicate),
                    _ => {}
                }
            }
            // Records fetched in this response may be the missing ones.
            if !missing.is_empty() {
                let still = ledger
                    .read(move |s| {
                        missing
                            .into_iter()
                            .filter(|h| {
                                ledger_core::graph::Graph::record(&s.ledger, h)
                                    .map_or(true, |r| r.is_none())
                            })
                            .collect::<BTreeSet<_>>()
                    })
                    .await
                    .unwrap_or_default();
                request_missing(&handle, peer, still).await;
            }
            if let (Some(from_seq), Some(author)) = (next_seq, author) {
                handle
                    .send(NetCmd::Fetch {
                        peer,
                        request: SyncRequest::Chain { author, from_seq },
                    })
                    .await;
            }
        }
        SyncResponse::Refused { reason } => {
            tracing::debug!(%peer, reason, "sync request refused");
        }
    }
}
