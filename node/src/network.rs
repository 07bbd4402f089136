//! The libp2p side: one task owns the [`Swarm`]; everything else holds a
//! [`NetworkHandle`] and sends it commands over a bounded channel.
//!
//! - gossipsub announces new records on a topic named after the network
//!   id. Messages are validated by the ledger before gossipsub may forward
//!   them (`validate_messages` + `report_message_validation_result`).
//! - a request-response protocol (CBOR, size-bounded) exchanges heads and
//!   fetches chains and records by hash, or a peer's log from a cursor
//!   when catching up (see [`crate::sync`]).
//! - identify carries the network id in its protocol version; a peer of
//!   another network is disconnected and banned.
//! - mDNS (optional) finds peers on the local network.
//!
//! A peer that sends a record the ledger rejects (or bytes that do not
//! decode) gets a strike; at `max_strikes` it is disconnected and banned.
//!
//! Gossiped records are validated in batches: the swarm task decodes each
//! message and queues it (bounded by [`GOSSIP_QUEUE`] records and
//! [`GOSSIP_QUEUE_BYTES`]) for one batcher task, which hands up to
//! [`GOSSIP_BATCH_RECORDS`] of them to the ledger in one ingest and reports
//! every message's own verdict back to gossipsub. Sync leaves authors with
//! records in that queue to gossip, so it does not fetch them twice.
//!
//! A catch-up ([`sync::LogSyncs`]) runs one page at a time: the swarm task
//! asks for a page, a worker ingests it and reports back, and only then is
//! the next page asked for, so pages are ingested in the peer's log order.
//! While it runs no heads are compared and no chains fetched, with any
//! peer, and heads comparisons made before it started or ended are dropped
//! as stale, so nothing it brings is fetched twice.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
use crate::log_cursors::{CursorFile, Saver};
use crate::metrics::Metrics;
use crate::protocol::{self, SyncRequest, SyncResponse, MAX_HASHES_PER_REQUEST};
use crate::sync::{self, Ingested, LogSyncs, Paged, Plan};

/// Commands queued for the swarm task. Producers are HTTP handlers, the
/// gossip batcher (one command per batch, plus its fetches) and the
/// node's own worker tasks, which are capped by [`MAX_WORKERS`]; 1,024
/// leaves room for every worker's follow-up requests without blocking.
pub const NETWORK_QUEUE: usize = 1_024;
/// Worker tasks (answering and digesting sync messages) alive at once.
/// Beyond it, requests are refused as busy and responses are dropped (the
/// next sync round asks again).
pub const MAX_WORKERS: usize = 256;
/// Gossiped records queued for validation or being validated, at most.
/// A replica that keeps up holds about one batch; 4,096 is four of the
/// origin's 1,000-record submissions, so a burst waits instead of being
/// lost. Beyond it gossip is ignored (not forwarded) and those records
/// come by sync.
pub const GOSSIP_QUEUE: usize = 4_096;
/// Bytes of gossiped records queued or being validated, at most. For
/// ordinary records (~330 B) [`GOSSIP_QUEUE`] binds first (~1.3 MiB);
/// this keeps 4,096 maximal 64 KiB records from holding 256 MiB.
pub const GOSSIP_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Most gossiped records validated by one ledger ingest. 1,000 is one of
/// the origin's submissions and ~120 ms of ingest at the one-thread rate
/// (~8,000/s), so a record waits little behind its own batch, and it is
/// well past the 256 where signature batch verification stops gaining.
/// Below the ledger's group limit, so a batch still merges with others.
pub const GOSSIP_BATCH_RECORDS: usize = 1_000;
/// How long a batch started on an idle node waits for more gossip before
/// it is validated. A submission's records arrive within a few ms of each
/// other, so they share one ingest; a lone record waits only this long.
/// Under load the queue already holds a full batch and nothing waits.
pub const GOSSIP_BATCH_WAIT: Duration = Duration::from_millis(5);
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
    /// A gossip batch's verdicts, one per message, and the strikes its
    /// invalid records earned (applied first).
    Gossiped {
        verdicts: Vec<GossipVerdict>,
        strikes: Vec<(PeerId, String)>,
    },
    Strike {
        peer: PeerId,
        reason: String,
    },
    Fetch {
        peer: PeerId,
        request: SyncRequest,
    },
    /// A peer's heads compared with ours, under the log syncs' `epoch` of
    /// when the heads were asked for.
    Planned {
        peer: PeerId,
        epoch: u64,
        plan: Plan,
    },
    /// A page of a peer's log after `after` was ingested, or could not be
    /// (`None`: the log sync stops).
    LogPaged {
        peer: PeerId,
        after: u64,
        page: Option<Ingested>,
    },
    Respond {
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    Peers(oneshot::Sender<Vec<PeerInfo>>),
}

/// A gossiped record on its way to the ledger.
struct GossipItem {
    source: PeerId,
    id: MessageId,
    record: SignedRecord,
    /// The message's size, counted against [`GOSSIP_QUEUE_BYTES`].
    bytes: usize,
}

/// What gossipsub is told about one message of a batch.
#[derive(Debug)]
struct GossipVerdict {
    source: PeerId,
    id: MessageId,
    acceptance: MessageAcceptance,
    author: [u8; 32],
    bytes: usize,
}

/// The gossiped records queued for validation or being validated: how
/// many, their bytes, and how many of each author (which sync leaves to
/// gossip).
#[derive(Debug, Default)]
struct GossipInflight {
    records: usize,
    bytes: usize,
    authors: HashMap<[u8; 32], usize>,
}

impl GossipInflight {
    /// Counts a record in, unless the queue is at its bounds.
    fn admit(&mut self, author: [u8; 32], bytes: usize) -> bool {
        if self.records >= GOSSIP_QUEUE || self.bytes.saturating_add(bytes) > GOSSIP_QUEUE_BYTES {
            return false;
        }
        self.records += 1;
        self.bytes += bytes;
        *self.authors.entry(author).or_insert(0) += 1;
        true
    }

    /// Counts a record out once its verdict is known.
    fn done(&mut self, author: &[u8; 32], bytes: usize) {
        self.records = self.records.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(bytes);
        if let Some(n) = self.authors.get_mut(author) {
            *n -= 1;
            if *n == 0 {
                self.authors.remove(author);
            }
        }
    }
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
    /// Where the log syncs' cursors are kept across restarts.
    pub log_cursors: CursorFile,
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
    // What lands in the ledger from a submission or a release from the
    // pending pool is announced once, from the ledger thread, in the
    // order it landed (see `LedgerHandle::announce_with`). The send waits
    // while the queue is full, and fails only once the network stopped.
    let announce = handle.tx.clone();
    ledger.announce_with(move |bytes| {
        let _ = announce.blocking_send(NetCmd::Publish(bytes));
    });
    let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
    tokio::spawn(gossip_batcher(
        gossip_rx,
        ledger.clone(),
        handle.clone(),
        metrics.clone(),
    ));
    let mut swarm = parts.swarm;
    let topic = IdentTopic::new(protocol::topic(&parts.network));
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&topic)
        .map_err(|e| anyhow::anyhow!("subscribing to {topic}: {e}"))?;
    let cursors = parts.log_cursors.load();
    if !cursors.is_empty() {
        tracing::info!(peers = cursors.len(), "resuming log-sync cursors");
    }
    let net = Net {
        swarm,
        topic,
        version: protocol::identify_version(&parts.network),
        ledger,
        handle: handle.clone(),
        metrics,
        workers: Arc::new(Semaphore::new(MAX_WORKERS)),
        gossip_tx,
        gossip: GossipInflight::default(),
        strikes: HashMap::new(),
        banned: HashSet::new(),
        max_strikes: parts.max_strikes,
        inflight: HashMap::new(),
        chains_inflight: HashSet::new(),
        log: LogSyncs::with_cursors(cursors.clone()),
        cursor_saver: Saver::spawn(parts.log_cursors, cursors),
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
    gossip_tx: mpsc::Sender<GossipItem>,
    gossip: GossipInflight,
    strikes: HashMap<PeerId, u32>,
    banned: HashSet<PeerId>,
    max_strikes: u32,
    inflight: HashMap<OutboundRequestId, (PeerId, Asked)>,
    chains_inflight: HashSet<(PeerId, [u8; 32])>,
    log: LogSyncs,
    cursor_saver: Saver,
    bootstrap: Vec<Multiaddr>,
}

/// What an outbound sync request asked for, kept until it is answered.
#[derive(Debug, Clone, Copy)]
enum Asked {
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
        self.cursor_saver.close().await;
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
            NetCmd::Gossiped { verdicts, strikes } => {
                for (peer, reason) in strikes {
                    self.strike(peer, &reason);
                }
                for v in verdicts {
                    self.gossip.done(&v.author, v.bytes);
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(&v.id, &v.source, v.acceptance);
                }
            }
            NetCmd::Strike { peer, reason } => self.strike(peer, &reason),
            NetCmd::Fetch { peer, request } => self.fetch(peer, request),
            NetCmd::Planned { peer, epoch, plan } => self.planned(peer, epoch, plan),
            NetCmd::LogPaged { peer, after, page } => self.log_paged(peer, after, page),
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
        let asked = match &request {
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
        };
        // While a catch-up runs it is fetching what the peers hold: heads
        // are not compared and chains not fetched (not even the rest of one
        // planned before), so nothing comes twice. It ends by asking its
        // peer for heads; the others are asked at the next round.
        if self.log.running().is_some() && matches!(asked, Asked::Heads { .. } | Asked::Chain(_)) {
            return;
        }
        if !self.swarm.is_connected(&peer) || self.inflight.len() >= MAX_INFLIGHT_REQUESTS {
            if let Asked::Log { after, .. } = asked {
                // The page cannot be asked for now; the next heads round
                // starts the log sync again from its cursor.
                self.log.failed(peer, after);
            }
            return;
        }
        if let Asked::Chain(author) = asked {
            if !self.chains_inflight.insert((peer, author)) {
                return;
            }
        }
        let id = self.swarm.behaviour_mut().sync.send_request(&peer, request);
        self.inflight.insert(id, (peer, asked));
    }

    fn finished(&mut self, id: &OutboundRequestId) -> Option<(PeerId, Asked)> {
        let (peer, asked) = self.inflight.remove(id)?;
        if let Asked::Chain(a) = asked {
            self.chains_inflight.remove(&(peer, a));
        }
        Some((peer, asked))
    }

    /// Acts on a heads comparison: drops it if stale or while a catch-up
    /// runs, starts a catch-up by the peer's log if the gap calls for one,
    /// and fetches chains otherwise.
    fn planned(&mut self, peer: PeerId, epoch: u64, plan: Plan) {
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
    fn log_paged(&mut self, peer: PeerId, after: u64, page: Option<Ingested>) {
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
                    self.log.stop(peer_id);
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
                let verdict =
                    self.queue_gossip(propagation_source, message_id.clone(), message.data);
                if let Some(acceptance) = verdict {
                    self.swarm
                        .behaviour_mut()
                        .gossipsub
                        .report_message_validation_result(
                            &message_id,
                            &propagation_source,
                            acceptance,
                        );
                }
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
                        let response = match ledger.read(move |r| sync::answer(r, &request)).await {
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
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure {
                    peer,
                    request_id,
                    error,
                    ..
                },
            )) => {
                match self.finished(&request_id) {
                    Some((peer, Asked::Log { after, .. })) => {
                        // A catch-up that cannot ask for its pages never
                        // ends: say so where an operator looks.
                        self.log.failed(peer, after);
                        tracing::warn!(%peer, %error, "a catch-up's log request failed");
                    }
                    _ => tracing::debug!(%peer, %error, "sync request failed"),
                }
            }
            _ => {}
        }
    }

    /// Decodes a gossiped record and queues it for the batcher. Returns
    /// the verdict to report at once (undecodable bytes: reject and strike;
    /// queue full: ignore), or `None` when the batcher will report it.
    fn queue_gossip(
        &mut self,
        source: PeerId,
        id: MessageId,
        data: Vec<u8>,
    ) -> Option<MessageAcceptance> {
        let record = match SignedRecord::decode(&data) {
            Ok(r) => r,
            Err(e) => {
                self.strike(source, &format!("gossip: {e}"));
                return Some(MessageAcceptance::Reject);
            }
        };
        let author = record.record.author.0;
        let bytes = data.len();
        if !self.gossip.admit(author, bytes) {
            self.metrics.inc(&self.metrics.gossip_dropped);
            return Some(MessageAcceptance::Ignore);
        }
        let item = GossipItem {
            source,
            id,
            record,
            bytes,
        };
        match self.gossip_tx.try_send(item) {
            Ok(()) => None,
            Err(_) => {
                self.gossip.done(&author, bytes);
                self.metrics.inc(&self.metrics.gossip_dropped);
                Some(MessageAcceptance::Ignore)
            }
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

/// The gossip batcher: takes queued gossip in batches of up to
/// [`GOSSIP_BATCH_RECORDS`] (waiting at most [`GOSSIP_BATCH_WAIT`] for a
/// batch to fill) and validates each batch with one ledger ingest. It ends
/// when the swarm task drops the queue.
async fn gossip_batcher(
    mut rx: mpsc::Receiver<GossipItem>,
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: Arc<Metrics>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let wait = tokio::time::sleep(GOSSIP_BATCH_WAIT);
        tokio::pin!(wait);
        while batch.len() < GOSSIP_BATCH_RECORDS {
            tokio::select! {
                biased;
                item = rx.recv() => match item {
                    Some(item) => batch.push(item),
                    None => break,
                },
                () = &mut wait => break,
            }
        }
        metrics.inc(&metrics.gossip_batches);
        validate_batch(&ledger, &handle, batch).await;
    }
}

/// Validates a batch of gossiped records with one ledger ingest and tells
/// gossipsub each message's verdict: accepted records are forwarded;
/// rejected ones are rejected and their sender struck; duplicates and
/// records still waiting are ignored, and their senders asked for what
/// they wait on. A record that waited on another of the same batch and was
/// stored by the same ingest is accepted like any other. One record's
/// verdict never depends on the rest of the batch beyond that: the ledger
/// judges each on its own causal past.
async fn validate_batch(ledger: &LedgerHandle, handle: &NetworkHandle, batch: Vec<GossipItem>) {
    let mut records = Vec::with_capacity(batch.len());
    let mut verdicts = Vec::with_capacity(batch.len());
    for item in batch {
        verdicts.push(GossipVerdict {
            source: item.source,
            id: item.id,
            acceptance: MessageAcceptance::Ignore,
            author: item.record.record.author.0,
            bytes: item.bytes,
        });
        records.push(item.record);
    }
    let mut strikes = Vec::new();
    // (index in the batch, its hash, the hashes it waits for)
    let mut waiting: Vec<(usize, ledger_core::Hash, Vec<ledger_core::Hash>)> = Vec::new();
    if let Ok(Ok(report)) = ledger.ingest(records).await {
        for (i, (v, (hash, outcome))) in verdicts.iter_mut().zip(report.outcomes).enumerate() {
            v.acceptance = match outcome {
                Outcome::Accepted => MessageAcceptance::Accept,
                Outcome::Rejected { error } => {
                    strikes.push((v.source, format!("gossiped record {hash}: {error}")));
                    MessageAcceptance::Reject
                }
                Outcome::Pending(PendingReason::Missing { hashes }) => {
                    waiting.push((i, hash, hashes));
                    MessageAcceptance::Ignore
                }
                _ => MessageAcceptance::Ignore,
            };
        }
    }
    let mut missing: BTreeMap<PeerId, BTreeSet<ledger_core::Hash>> = BTreeMap::new();
    if !waiting.is_empty() {
        // Which waiting records are stored now (released by this ingest),
        // and which of their missing hashes are neither stored nor waiting
        // in this batch themselves (then what they wait on is asked for).
        let in_batch: HashSet<ledger_core::Hash> = waiting.iter().map(|(_, h, _)| *h).collect();
        let checked = ledger
            .read(move |r| {
                let stored = |h: &ledger_core::Hash| {
                    ledger_core::graph::Graph::record(r, h).is_ok_and(|r| r.is_some())
                };
                waiting
                    .into_iter()
                    .map(|(i, hash, wants)| {
                        let absent: Vec<_> = wants
                            .into_iter()
                            .filter(|h| !in_batch.contains(h) && !stored(h))
                            .collect();
                        (i, stored(&hash), absent)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        for (i, now_stored, absent) in checked {
            let Some(v) = verdicts.get_mut(i) else {
                continue;
            };
            if now_stored {
                v.acceptance = MessageAcceptance::Accept;
            } else {
                missing.entry(v.source).or_default().extend(absent);
            }
        }
    }
    handle.send(NetCmd::Gossiped { verdicts, strikes }).await;
    for (peer, hashes) in missing {
        request_missing(handle, peer, hashes).await;
    }
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
    let Ok(Ok(report)) = ledger.ingest(decoded).await else {
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
        SyncResponse::Refused { reason } => {
            tracing::debug!(%peer, reason, "sync request refused");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::store::SledStore;
    use ledger_core::workload::{self, Shape};
    use ledger_core::{Hash, Ledger, LedgerConfig};

    fn item(source: PeerId, r: &SignedRecord) -> GossipItem {
        let bytes = r.encode();
        GossipItem {
            source,
            id: MessageId::from(Hash::of(&bytes).0.to_vec()),
            record: r.clone(),
            bytes: bytes.len(),
        }
    }

    /// Queues `items`, then runs the batcher over them until the queue is
    /// drained; returns the ledger, the metrics, the records it held before
    /// and every command it sent the swarm task.
    async fn batch_all(
        genesis: ledger_core::Genesis,
        items: Vec<GossipItem>,
    ) -> (
        tempfile::TempDir,
        LedgerHandle,
        Arc<Metrics>,
        u64,
        Vec<NetCmd>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger")).unwrap();
        let ledger = Ledger::create(store, genesis, LedgerConfig::default()).unwrap();
        let founded = ledger.len();
        let metrics = Arc::new(Metrics::default());
        let (ledger, _join) = LedgerHandle::spawn(ledger, metrics.clone(), 0);
        let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
        for i in items {
            gossip_tx.try_send(i).unwrap();
        }
        drop(gossip_tx);
        let (tx, mut rx) = mpsc::channel(NETWORK_QUEUE);
        let batcher = tokio::spawn(gossip_batcher(
            gossip_rx,
            ledger.clone(),
            NetworkHandle { tx },
            metrics.clone(),
        ));
        let mut cmds = Vec::new();
        // Ends when the batcher, the only sender, has finished.
        while let Some(c) = rx.recv().await {
            cmds.push(c);
        }
        batcher.await.unwrap();
        (dir, ledger, metrics, founded, cmds)
    }

    fn verdicts(cmds: &[NetCmd]) -> Vec<&GossipVerdict> {
        cmds.iter()
            .filter_map(|c| match c {
                NetCmd::Gossiped { verdicts, .. } => Some(verdicts),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gossip_arriving_together_is_validated_in_few_ingests() {
        let w = workload::generate(Shape::for_records(2_500));
        let n = w.records.len();
        let peer = PeerId::random();
        let items = w.records.iter().map(|r| item(peer, r)).collect();
        let (_dir, ledger, metrics, founded, cmds) = batch_all(w.genesis.clone(), items).await;

        let batches = n.div_ceil(GOSSIP_BATCH_RECORDS);
        let gossiped = cmds
            .iter()
            .filter(|c| matches!(c, NetCmd::Gossiped { .. }))
            .count();
        assert_eq!(gossiped, batches, "one verdict command per batch");
        assert_eq!(
            metrics
                .gossip_batches
                .load(std::sync::atomic::Ordering::Relaxed),
            batches as u64,
            "one ledger ingest per batch"
        );
        let v = verdicts(&cmds);
        assert_eq!(v.len(), n, "every message gets a verdict");
        assert!(v
            .iter()
            .all(|v| v.acceptance == MessageAcceptance::Accept && v.source == peer));
        let stored = ledger.read(|r| r.len()).await.unwrap();
        assert_eq!(stored, founded + n as u64, "every record stored");
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, NetCmd::Fetch { .. } | NetCmd::Strike { .. })));
        // Close before the directory goes: the ledger folds its tail.
        ledger.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalid_record_in_a_batch_costs_only_its_sender() {
        let w = workload::generate(Shape::for_records(300));
        let r = &w.records;
        let depends = |later: &SignedRecord, on: &SignedRecord| {
            let h = on.hash();
            later.record.prev == Some(h) || later.record.deps.contains(&h)
        };
        // A record left out, and the first later record that names it.
        let m = 200;
        let j = (m + 1..r.len())
            .find(|&j| depends(&r[j], &r[m]))
            .expect("a record depending on the one left out");
        // A pair (a, b), b naming a, that arrives the wrong way round.
        let (a, b) = (50..m)
            .flat_map(|a| (a + 1..m).map(move |b| (a, b)))
            .find(|&(a, b)| depends(&r[b], &r[a]))
            .expect("a dependent pair");

        let honest = PeerId::random();
        let evil = PeerId::random();
        let k = 120;
        let mut forged = r[k].clone();
        forged.signature.0[0] ^= 1;
        let mut order: Vec<usize> = (0..m).filter(|&i| i != b).collect();
        let at = order.iter().position(|&i| i == a).unwrap();
        order.insert(at, b);
        order.extend(m + 1..=j);
        let mut items = Vec::new();
        for &i in &order {
            if i == k {
                // The forgery of record k arrives just before k itself.
                items.push(item(evil, &forged));
            }
            items.push(item(honest, &r[i]));
        }
        let forged_id = item(evil, &forged).id;
        let left_waiting = item(honest, &r[j]).id;
        let (_dir, ledger, _metrics, _, cmds) = batch_all(w.genesis.clone(), items).await;

        let v = verdicts(&cmds);
        assert_eq!(v.len(), order.len() + 1, "every message gets a verdict");
        for v in &v {
            let want = if v.id == forged_id {
                MessageAcceptance::Reject
            } else if v.id == left_waiting {
                MessageAcceptance::Ignore
            } else {
                MessageAcceptance::Accept
            };
            assert_eq!(v.acceptance, want, "message from {}", v.source);
        }
        let strikes: Vec<&PeerId> = cmds
            .iter()
            .filter_map(|c| match c {
                NetCmd::Gossiped { strikes, .. } => Some(strikes.iter().map(|(p, _)| p)),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(strikes, vec![&evil], "only the forger is struck");
        let fetches: Vec<(&PeerId, &SyncRequest)> = cmds
            .iter()
            .filter_map(|c| match c {
                NetCmd::Fetch { peer, request } => Some((peer, request)),
                _ => None,
            })
            .collect();
        assert_eq!(
            fetches,
            vec![(
                &honest,
                &SyncRequest::Records {
                    hashes: vec![r[m].hash().0]
                }
            )],
            "the sender of the waiting record is asked for what it waits on"
        );
        let (hb, hk, hj) = (r[b].hash(), r[k].hash(), r[j].hash());
        let held = ledger
            .read(move |r| {
                [hb, hk, hj].map(|h| ledger_core::graph::Graph::record(r, &h).unwrap().is_some())
            })
            .await
            .unwrap();
        assert_eq!(held, [true, true, false]);
        ledger.close().await;
    }
}
