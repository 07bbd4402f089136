//! The libp2p side: one task owns the [`Swarm`]; everything else holds a
//! [`NetworkHandle`] and sends it commands over a bounded channel.
//!
//! Each policy has one home:
//! - [`swarm`]: the transport and behaviours, libp2p's connection limits;
//! - [`gate`]: banned peers, and banned addresses for new identities;
//! - [`peers`]: the peer book (dialling back to the target peer count
//!   with backoff), strikes, and each peer's sync budget;
//! - [`gossip`]: announcements, validated in batches before gossipsub
//!   forwards them;
//! - [`client`]: heads comparison, chain fetches and catch-up by a peer's
//!   log (see [`crate::sync`]), at most a few requests in flight per peer;
//! - [`server`]: answering peers' sync requests within their budgets.
//!
//! Peering heals: a link with no ping answered for [`LIVENESS_TIMEOUT`]
//! is closed, so a dead link shows within about five seconds, and
//! the node dials every known peer it is not connected to, on a capped
//! backoff, whenever it has fewer than its target. It learns peers from
//! its bootstrap list, from identify (each peer's listen addresses), from
//! Kademlia's random walks and, when switched on, from mDNS. Every sync
//! interval it compares heads with every peer (anti-entropy), so two
//! sides that never lost all peers still reconcile.
//!
//! A peer that sends a record the ledger rejects, bytes that do not
//! decode, or more sync requests at once than any honest node does gets a
//! strike; at `max_strikes` it is disconnected and banned for `ban_ms`,
//! and new identities from its address are refused as long.

mod client;
mod gate;
mod gossip;
mod peers;
mod server;
mod swarm;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use ledger_core::checkpoint::{NoteError, SignedCheckpoint};
use ledger_core::{Genesis, NetworkId};
use libp2p::core::ConnectedPoint;
use libp2p::gossipsub::{self, IdentTopic, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, ListenError, SwarmEvent};
use libp2p::{identify, kad, mdns, ping, Multiaddr, PeerId, Swarm};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch, Semaphore};

use self::client::{Asked, Outbound};
use self::gossip::{GossipInflight, GossipItem, GossipVerdict};
use self::peers::{Link, PeerBook, Strikes, SyncBudgets, Target};
use crate::checkpoints::Incoming;
use crate::ledger_task::LedgerHandle;
use crate::log_cursors::{CursorFile, Saver};
use crate::metrics::Metrics;
use crate::protocol::{self, CheckpointItem, SyncRequest, SyncResponse};
use crate::read_pool::ReadPool;
use crate::sync::{Ingested, LogSyncs, Plan};

pub use self::client::{MAX_OUTBOUND_PER_PEER, MAX_QUEUED_PER_PEER};
pub use self::gate::{Gate, BANNED_HANDSHAKE_EVERY, MAX_BANNED};
pub use self::gossip::{GOSSIP_BATCH_RECORDS, GOSSIP_BATCH_WAIT, GOSSIP_QUEUE, GOSSIP_QUEUE_BYTES};
pub use self::peers::{SyncBudget, FORGET_AFTER, HEADS_PER_SEC, MAX_KNOWN_PEERS, SYNC_BURST_SECS};
pub use self::server::{ANSWER_NICE_BELOW_WRITER, ANSWER_QUEUE, ANSWER_THREADS, MAX_HOLD};
pub use self::swarm::{
    build_swarm, build_swarm_with, Behaviour, BehaviourEvent, ConnectionCaps, PING_INTERVAL,
    PING_TIMEOUT,
};

/// Commands queued for the swarm task. Producers are HTTP handlers, the
/// gossip batcher (one command per batch, plus its fetches) and the
/// node's own worker tasks, which are capped by [`MAX_WORKERS`]; 1,024
/// leaves room for every worker's follow-up requests without blocking.
pub const NETWORK_QUEUE: usize = 1_024;
/// Worker tasks (answering and digesting sync messages) alive at once.
/// Beyond it, requests are refused as busy and responses are dropped (the
/// next sync round asks again).
pub const MAX_WORKERS: usize = 256;
/// How often the peering is tended: bans and strikes pruned, the book
/// decayed, dead links closed, and peers dialled when below the target.
const TEND_INTERVAL: Duration = Duration::from_millis(500);
/// A link with no successful ping for this long is dead, and closed: a
/// healthy link answers one every [`PING_INTERVAL`] (1 s), so this allows
/// a ping four seconds late, or several lost. (libp2p's ping reports only the second failure
/// in a row, and that one after a stream upgrade's 10 s timeout: too late
/// to tell an operator of a split within 10 s.)
pub const LIVENESS_TIMEOUT: Duration = Duration::from_secs(5);

/// A connected peer as `/status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PeerInfo {
    /// Its libp2p id.
    pub peer_id: String,
    /// The address of its connection.
    pub address: Option<String>,
    /// Strikes it has collected.
    pub strikes: u32,
    /// Its last ping's round trip (ms).
    pub rtt_ms: Option<u64>,
    /// Seconds since it connected.
    pub connected_secs: u64,
}

/// A peer that was connected and is no longer, as `/status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LostPeer {
    /// Its libp2p id.
    pub peer_id: String,
    /// Where it was last connected from.
    pub address: Option<String>,
    /// Seconds since the link was lost.
    pub lost_secs: u64,
}

/// The node's peering as `/status` shows it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Peering {
    /// Connected peers.
    pub peers: Vec<PeerInfo>,
    /// Peers lost (being dialled again).
    pub lost: Vec<LostPeer>,
    /// Peers in the peer book.
    pub known: usize,
    /// Bans in force: peers.
    pub banned_peers: usize,
    /// Bans in force: addresses.
    pub banned_addresses: usize,
}

/// Peers asked at once for checkpoints a node may have missed.
const CHECKPOINT_PEERS_ASKED: usize = 2;

enum NetCmd {
    Publish(Vec<u8>),
    /// A checkpoint item (CBOR) for the checkpoint topic.
    PublishCheckpoint(Vec<u8>),
    /// Asks a few connected peers for the final checkpoints from a height
    /// on.
    FetchCheckpoints {
        from_height: u64,
    },
    /// Final checkpoints a peer sent when asked.
    CheckpointsFetched {
        peer: PeerId,
        items: Vec<CheckpointItem>,
    },
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
        peer: PeerId,
        channel: ResponseChannel<SyncResponse>,
        response: SyncResponse,
    },
    /// A peer's request held for its budget, due again.
    Held {
        peer: PeerId,
        request: SyncRequest,
        channel: ResponseChannel<SyncResponse>,
    },
    Peering(oneshot::Sender<Peering>),
}

impl std::fmt::Debug for NetCmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NetCmd")
    }
}

/// A cheap, cloneable handle on the swarm task.
#[derive(Clone, Debug)]
pub struct NetworkHandle {
    tx: mpsc::Sender<NetCmd>,
}

impl NetworkHandle {
    /// Announces a validated record to the network.
    pub async fn publish(&self, record_bytes: Vec<u8>) {
        let _ = self.tx.send(NetCmd::Publish(record_bytes)).await;
    }

    /// Sends a checkpoint (a proposal, a cosignature or a final one) to
    /// the network's checkpoint topic.
    pub async fn publish_checkpoint(&self, item: &CheckpointItem) {
        let _ = self
            .tx
            .send(NetCmd::PublishCheckpoint(item.to_cbor()))
            .await;
    }

    /// Asks `peer` for the final checkpoints from `from_height` on; they
    /// come back to the checkpoint task.
    pub async fn fetch_checkpoints(&self, peer: PeerId, from_height: u64) {
        let request = SyncRequest::Checkpoints { from_height };
        let _ = self.tx.send(NetCmd::Fetch { peer, request }).await;
    }

    /// Asks a few connected peers for the final checkpoints from
    /// `from_height` on: how a node that was away learns the ones it
    /// missed (gossip carries each only once).
    pub async fn fetch_checkpoints_any(&self, from_height: u64) {
        let _ = self.tx.send(NetCmd::FetchCheckpoints { from_height }).await;
    }

    /// The peering: connected and lost peers, bans (empty once the network
    /// has stopped).
    pub async fn peering(&self) -> Peering {
        let (reply, rx) = oneshot::channel();
        if self.tx.send(NetCmd::Peering(reply)).await.is_err() {
            return Peering::default();
        }
        rx.await.unwrap_or_default()
    }

    async fn send(&self, cmd: NetCmd) {
        let _ = self.tx.send(cmd).await;
    }
}

/// The peering policy's settings.
#[derive(Debug, Clone)]
pub struct PeerPolicy {
    /// Peers dialled at start and again whenever below the target.
    pub bootstrap: Vec<Multiaddr>,
    /// Peers the node keeps connected, dialling known ones when below.
    pub target_peers: usize,
    /// The longest wait between two dials of a lost peer.
    pub redial_max: Duration,
    /// Strikes before a ban.
    pub max_strikes: u32,
    /// How long a ban lasts.
    pub ban_for: Duration,
    /// What one peer may ask of this node.
    pub sync_budget: SyncBudget,
}

/// What the swarm task needs to start.
pub struct NetworkParts {
    /// The swarm, already listening.
    pub swarm: Swarm<Behaviour>,
    /// The network id.
    pub network: NetworkId,
    /// Heads are compared with every peer this often.
    pub sync_interval: Duration,
    /// Peering.
    pub policy: PeerPolicy,
    /// Where the log syncs' cursors are kept across restarts.
    pub log_cursors: CursorFile,
    /// The niceness peers' answers are read at (below the ledger
    /// writer's).
    pub answer_nice: i32,
    /// The genesis, to check gossiped checkpoints' signatures.
    pub genesis: Arc<Genesis>,
    /// Where checkpoints from peers go.
    pub checkpoints: mpsc::Sender<Incoming>,
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
    tokio::spawn(gossip::gossip_batcher(
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
    let checkpoint_topic = IdentTopic::new(protocol::checkpoint_topic(&parts.network));
    swarm
        .behaviour_mut()
        .gossipsub
        .subscribe(&checkpoint_topic)
        .map_err(|e| anyhow::anyhow!("subscribing to {checkpoint_topic}: {e}"))?;
    let cursors = parts.log_cursors.load();
    if !cursors.is_empty() {
        tracing::info!(peers = cursors.len(), "resuming log-sync cursors");
    }
    let policy = parts.policy;
    let answer_pool = ReadPool::spawn(
        "peer-reads",
        server::ANSWER_THREADS,
        parts.answer_nice,
        server::ANSWER_QUEUE,
    )
    .map_err(|e| anyhow::anyhow!("starting the peer read threads: {e}"))?;
    let net = Net {
        swarm,
        topic,
        checkpoint_topic,
        genesis: parts.genesis,
        checkpoints: parts.checkpoints,
        version: protocol::identify_version(&parts.network),
        ledger,
        handle: handle.clone(),
        metrics,
        workers: Arc::new(Semaphore::new(MAX_WORKERS)),
        answer_pool,
        gossip_tx,
        gossip: GossipInflight::default(),
        book: PeerBook::new(&policy.bootstrap, policy.redial_max),
        dialing: HashMap::new(),
        alive: HashMap::new(),
        strikes: Strikes::default(),
        budgets: SyncBudgets::new(policy.sync_budget),
        inflight: HashMap::new(),
        outbound: HashMap::new(),
        chains_inflight: HashSet::new(),
        log: LogSyncs::with_cursors(cursors.clone()),
        cursor_saver: Saver::spawn(parts.log_cursors, cursors),
        policy,
    };
    let join = tokio::spawn(net.run(rx, shutdown, parts.sync_interval));
    Ok((handle, join))
}

struct Net {
    swarm: Swarm<Behaviour>,
    topic: IdentTopic,
    checkpoint_topic: IdentTopic,
    genesis: Arc<Genesis>,
    checkpoints: mpsc::Sender<Incoming>,
    version: String,
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: Arc<Metrics>,
    workers: Arc<Semaphore>,
    /// Where peers' answers are read.
    answer_pool: ReadPool,
    gossip_tx: mpsc::Sender<GossipItem>,
    gossip: GossipInflight,
    book: PeerBook,
    /// Dials in progress, and what each dials.
    dialing: HashMap<ConnectionId, Target>,
    /// Each open connection's peer and last sign of life (its opening or
    /// its last successful ping).
    alive: HashMap<ConnectionId, (PeerId, Instant)>,
    strikes: Strikes,
    budgets: SyncBudgets,
    inflight: HashMap<OutboundRequestId, (PeerId, Asked)>,
    outbound: HashMap<PeerId, Outbound>,
    chains_inflight: HashSet<(PeerId, [u8; 32])>,
    log: LogSyncs,
    cursor_saver: Saver,
    policy: PeerPolicy,
}

impl Net {
    async fn run(
        mut self,
        mut rx: mpsc::Receiver<NetCmd>,
        mut shutdown: watch::Receiver<bool>,
        sync_interval: Duration,
    ) {
        self.tend();
        let mut timer = tokio::time::interval(sync_interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut tending = tokio::time::interval(TEND_INTERVAL);
        tending.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(cmd) = rx.recv() => self.command(cmd),
                event = self.swarm.select_next_some() => self.event(event),
                _ = timer.tick() => self.sync_round(),
                _ = tending.tick() => self.tend(),
            }
        }
        self.cursor_saver.close().await;
        tracing::info!("network stopped");
    }

    /// Prunes bans, strikes and the book, and dials known peers while
    /// below the target.
    fn tend(&mut self) {
        let now = Instant::now();
        self.swarm.behaviour_mut().gate.prune(now);
        self.strikes.prune(now);
        self.book.prune(now);
        self.close_dead_links(now);
        let connected = self.live_peers().len();
        let room = peers::MAX_PENDING_DIALS.saturating_sub(self.dialing.len());
        if connected < self.policy.target_peers && room > 0 {
            let want = room.min(self.policy.target_peers - connected);
            let swarm = &self.swarm;
            let gate = &swarm.behaviour().gate;
            let dialing: HashSet<&Target> = self.dialing.values().collect();
            // A peer whose given-up link is still closing is dialled once
            // the close is done (libp2p refuses a dial before), not
            // counted as a failed dial meanwhile.
            let due = self.book.due(want, now, |t| {
                dialing.contains(t)
                    || matches!(t, Target::Peer(p, _) if gate.is_banned(p) || swarm.is_connected(p))
            });
            for target in due {
                self.dial(target);
            }
        }
        self.gauge_peers();
    }

    /// Closes every link without a successful ping for
    /// [`LIVENESS_TIMEOUT`]: its peer shows as lost and is dialled again.
    fn close_dead_links(&mut self, now: Instant) {
        let dead: Vec<(ConnectionId, PeerId)> = self
            .alive
            .iter()
            .filter(|(_, (_, seen))| now.saturating_duration_since(*seen) > LIVENESS_TIMEOUT)
            .map(|(id, (peer, _))| (*id, *peer))
            .collect();
        for (id, peer) in dead {
            tracing::warn!(%peer, "no ping answered for {LIVENESS_TIMEOUT:?}; closing the link");
            self.drop_link(id, peer, now);
        }
    }

    /// Gives up on a link that carries no ping. It stops counting at once:
    /// the close libp2p starts is graceful and, on a path that is gone,
    /// can last as long as TCP takes to give up (minutes), and meanwhile
    /// the peer would still be listed as connected. Its peer shows as lost
    /// once no other link to it is alive.
    fn drop_link(&mut self, id: ConnectionId, peer: PeerId, now: Instant) {
        self.metrics.inc(&self.metrics.peer_links_dropped);
        self.alive.remove(&id);
        self.swarm.close_connection(id);
        if !self.is_live(&peer) {
            self.book.disconnected(&peer, now);
        }
        self.gauge_peers();
    }

    /// Whether some link to `peer` is alive (connected and not given up).
    fn is_live(&self, peer: &PeerId) -> bool {
        self.alive.values().any(|(p, _)| p == peer)
    }

    /// The peers with a live link: those the node counts, lists and syncs
    /// with.
    fn live_peers(&self) -> Vec<PeerId> {
        self.swarm
            .connected_peers()
            .filter(|p| self.is_live(p))
            .copied()
            .collect()
    }

    fn dial(&mut self, target: Target) {
        let opts = match &target {
            Target::Peer(peer, addrs) => DialOpts::peer_id(*peer)
                .addresses(addrs.clone())
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build(),
            Target::Seed(addr) => DialOpts::unknown_peer_id().address(addr.clone()).build(),
        };
        let id = opts.connection_id();
        self.metrics.inc(&self.metrics.peer_dials);
        match self.swarm.dial(opts) {
            Ok(()) => {
                self.dialing.insert(id, target);
            }
            Err(e) => {
                tracing::debug!(?target, error = %e, "not dialling");
                self.book.dial_failed(&target, Instant::now());
            }
        }
    }

    fn sync_round(&mut self) {
        for peer in self.live_peers() {
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
            NetCmd::PublishCheckpoint(bytes) => {
                let topic = self.checkpoint_topic.clone();
                if let Err(e) = self.swarm.behaviour_mut().gossipsub.publish(topic, bytes) {
                    tracing::debug!(error = %e, "checkpoint publish");
                }
            }
            NetCmd::FetchCheckpoints { from_height } => {
                let peers = self.live_peers();
                for peer in peers.into_iter().take(CHECKPOINT_PEERS_ASKED) {
                    self.fetch(peer, SyncRequest::Checkpoints { from_height });
                }
            }
            NetCmd::CheckpointsFetched { peer, items } => {
                for item in items {
                    self.hand_checkpoint(Some(peer), item);
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
            NetCmd::Respond {
                peer,
                channel,
                response,
            } => self.respond(peer, channel, response),
            NetCmd::Held {
                peer,
                request,
                channel,
            } => self.on_held(peer, request, channel),
            NetCmd::Peering(reply) => {
                let _ = reply.send(self.peering());
            }
        }
    }

    fn peering(&self) -> Peering {
        let now = Instant::now();
        let peers = self
            .live_peers()
            .iter()
            .map(|p| {
                let known = self.book.get(p);
                PeerInfo {
                    peer_id: p.to_string(),
                    address: known.and_then(|k| k.remote.as_ref().map(|a| a.to_string())),
                    strikes: self.strikes.of(p),
                    rtt_ms: known
                        .and_then(|k| k.rtt)
                        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
                    connected_secs: match known.map(|k| k.link) {
                        Some(Link::Up(since)) => now.saturating_duration_since(since).as_secs(),
                        _ => 0,
                    },
                }
            })
            .collect();
        let lost = self
            .book
            .lost()
            .map(|(p, k, since)| LostPeer {
                peer_id: p.to_string(),
                address: k.remote.as_ref().map(|a| a.to_string()),
                lost_secs: now.saturating_duration_since(since).as_secs(),
            })
            .collect();
        let (banned_peers, banned_addresses) = self.swarm.behaviour().gate.banned();
        Peering {
            peers,
            lost,
            known: self.book.len(),
            banned_peers,
            banned_addresses,
        }
    }

    fn strike(&mut self, peer: PeerId, reason: &str) {
        self.metrics.inc(&self.metrics.peer_strikes);
        let n = self.strikes.add(peer, Instant::now());
        tracing::warn!(%peer, strikes = n, reason, "peer misbehaved");
        self.swarm.behaviour_mut().gate.vouch(peer, false);
        // Ban once, at the threshold; strikes for messages already in
        // flight when the ban fell only count.
        if n == self.policy.max_strikes {
            self.ban(peer, "too many strikes");
        }
    }

    fn ban(&mut self, peer: PeerId, why: &str) {
        let addresses: Vec<_> = self
            .book
            .get(&peer)
            .and_then(|k| k.remote.as_ref())
            .and_then(gate::ip_of)
            .into_iter()
            .collect();
        tracing::warn!(%peer, ?addresses, why, "disconnecting and banning peer");
        self.metrics.inc(&self.metrics.peers_banned);
        let until = Instant::now() + self.policy.ban_for;
        let b = self.swarm.behaviour_mut();
        b.gate.ban(peer, addresses, until);
        b.gossipsub.blacklist_peer(&peer);
        b.kad.remove_peer(&peer);
        self.book.forget(&peer);
        let _ = self.swarm.disconnect_peer_id(peer);
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
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.dialing.remove(&connection_id);
                self.alive.insert(connection_id, (peer_id, Instant::now()));
                let dialed = match &endpoint {
                    ConnectedPoint::Dialer { address, .. } => Some(address),
                    ConnectedPoint::Listener { .. } => None,
                };
                let remote = endpoint.get_remote_address();
                self.book.connected(peer_id, remote, dialed, Instant::now());
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, %remote, "connected");
                    self.fetch(peer_id, SyncRequest::Heads);
                }
                self.gauge_peers();
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                self.alive.remove(&connection_id);
                if num_established == 0 {
                    tracing::info!(peer = %peer_id, cause = ?cause.map(|c| c.to_string()), "disconnected");
                    // Lost already if its link was given up (`drop_link`).
                    if self
                        .book
                        .get(&peer_id)
                        .is_none_or(|k| !matches!(k.link, Link::Lost(_)))
                    {
                        self.book.disconnected(&peer_id, Instant::now());
                    }
                    self.budgets.forget(&peer_id);
                    self.outbound.remove(&peer_id);
                    self.chains_inflight.retain(|(p, _)| *p != peer_id);
                    self.log.stop(peer_id);
                }
                self.gauge_peers();
            }
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                error,
                ..
            } => {
                if let Some(target) = self.dialing.remove(&connection_id) {
                    tracing::debug!(?target, %error, "dial failed");
                    self.metrics.inc(&self.metrics.peer_dial_failures);
                    self.book.dial_failed(&target, Instant::now());
                }
            }
            SwarmEvent::IncomingConnectionError {
                error: ListenError::Denied { cause },
                send_back_addr,
                ..
            } => {
                tracing::debug!(from = %send_back_addr, %cause, "peer connection refused");
                self.metrics.inc(&self.metrics.peer_connections_refused);
            }
            SwarmEvent::Behaviour(BehaviourEvent::Identify(identify::Event::Received {
                peer_id,
                info,
                ..
            })) => {
                if info.protocol_version != self.version {
                    self.ban(peer_id, "peer belongs to another network");
                    return;
                }
                let good = self.strikes.of(&peer_id) == 0;
                let now = Instant::now();
                let b = self.swarm.behaviour_mut();
                b.gate.vouch(peer_id, good);
                for addr in info.listen_addrs.into_iter().take(8) {
                    b.kad.add_address(&peer_id, addr.clone());
                    self.book.learn(peer_id, addr, now);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Kad(kad::Event::RoutingUpdated {
                peer,
                addresses,
                ..
            })) => {
                let now = Instant::now();
                for addr in addresses.iter() {
                    self.book.learn(peer, addr.clone(), now);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Ping(ping::Event {
                peer,
                connection,
                result,
            })) => match result {
                Ok(rtt) => {
                    self.book.rtt(&peer, rtt);
                    if let Some((_, seen)) = self.alive.get_mut(&connection) {
                        *seen = Instant::now();
                    }
                }
                Err(e) => {
                    // A link that cannot carry a ping is dead: close it, so
                    // the peer shows as lost and is dialled again.
                    tracing::warn!(%peer, error = %e, "ping failed; closing the link");
                    self.drop_link(connection, peer, Instant::now());
                }
            },
            SwarmEvent::Behaviour(BehaviourEvent::Mdns(mdns::Event::Discovered(found))) => {
                let now = Instant::now();
                for (peer, addr) in found {
                    self.book.learn(peer, addr, now);
                }
                self.tend();
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            })) => {
                let verdict = if message.topic == self.checkpoint_topic.hash() {
                    Some(self.checkpoint_gossip(propagation_source, &message.data))
                } else {
                    self.metrics.inc(&self.metrics.gossip_received);
                    self.queue_gossip(propagation_source, message_id.clone(), message.data)
                };
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
                peer,
                message,
                ..
            })) => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_request(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => self.on_response(request_id, response),
            },
            SwarmEvent::Behaviour(BehaviourEvent::Sync(
                request_response::Event::OutboundFailure {
                    request_id, error, ..
                },
            )) => self.on_outbound_failure(request_id, &error),
            _ => {}
        }
    }

    /// A gossiped checkpoint: forwarded (and passed on by gossipsub) when
    /// its note is of this network and carries a verified authority
    /// signature; a note with a forged authority signature earns a strike.
    fn checkpoint_gossip(&mut self, peer: PeerId, data: &[u8]) -> MessageAcceptance {
        let Some(item) = CheckpointItem::from_cbor(data) else {
            self.strike(peer, "gossip: a checkpoint message that does not decode");
            return MessageAcceptance::Reject;
        };
        match SignedCheckpoint::from_note(item.note.as_bytes(), &self.genesis) {
            Ok(c) if item.tips_of(&c.checkpoint.cut).is_some() => {
                self.hand_checkpoint(Some(peer), item);
                MessageAcceptance::Accept
            }
            Ok(_) => {
                self.strike(
                    peer,
                    "gossip: a checkpoint whose tips are not the cut it names",
                );
                MessageAcceptance::Reject
            }
            Err(NoteError::BadSignature(_)) => {
                self.strike(
                    peer,
                    "gossip: a checkpoint with a forged authority signature",
                );
                MessageAcceptance::Reject
            }
            Err(e) => {
                tracing::debug!(%peer, error = %e, "ignoring a checkpoint message");
                MessageAcceptance::Ignore
            }
        }
    }

    /// Hands a checkpoint to the checkpoint task; dropped when its queue
    /// is full (a final checkpoint is fetched again: nodes ask
    /// their peers for the ones past their newest every interval).
    fn hand_checkpoint(&mut self, from: Option<PeerId>, item: CheckpointItem) {
        if self.checkpoints.try_send(Incoming { item, from }).is_err() {
            tracing::debug!("checkpoint queue full; dropping one");
        }
    }

    fn gauge_peers(&self) {
        let set = |gauge: &std::sync::atomic::AtomicU64, n: usize| {
            gauge.store(
                u64::try_from(n).unwrap_or(u64::MAX),
                std::sync::atomic::Ordering::Relaxed,
            );
        };
        set(&self.metrics.peers_connected, self.live_peers().len());
        set(&self.metrics.peers_lost, self.book.lost().count());
        set(&self.metrics.peers_known, self.book.len());
    }
}
