//! Starting and stopping a node: the ledger thread, the swarm task and the
//! HTTP server, wired together by handles.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use ledger_core::store::SledStore;
use ledger_core::{Ledger, LedgerConfig, NetworkId};
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::watch;

use crate::checkpoints::{self, CheckpointHandle, CheckpointSettings, INCOMING_QUEUE};
use crate::config::Settings;
use crate::http::{self, AppState};
use crate::keyfile;
use crate::ledger_task::{Ended, LedgerDied, LedgerHandle};
use crate::log_cursors::CursorFile;
use crate::metrics::Metrics;
use crate::network::{self, NetworkHandle, NetworkParts, PeerPolicy, SyncBudget};

/// How long start-up waits for the listeners to report their addresses.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a node whose ledger thread died waits for the HTTP server
/// (its requests in flight) and the network to stop before it drops them:
/// a slow client must not keep a dead node up.
const HALT_TIMEOUT: Duration = Duration::from_secs(5);

/// A running node.
#[derive(Debug)]
pub struct Node {
    /// The HTTP API's bound address.
    pub http_addr: SocketAddr,
    /// The libp2p listen addresses (one per configured listener), with
    /// `/p2p/PEER_ID` appended: ready to use as bootstrap addresses.
    pub listen_addrs: Vec<Multiaddr>,
    /// This node's libp2p id.
    pub peer_id: PeerId,
    /// The network id.
    pub network: NetworkId,
    /// Handle on the ledger thread.
    pub ledger: LedgerHandle,
    /// Handle on the swarm task.
    pub net: NetworkHandle,
    /// Handle on the checkpoint task.
    pub checkpoints: CheckpointHandle,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    ledger_join: tokio::task::JoinHandle<Ended>,
}

/// Creates a node's data directory: the ledger founded on `genesis` and
/// the node key. Fails if a ledger already exists there.
pub fn init(
    data_dir: &std::path::Path,
    genesis: &std::path::Path,
) -> anyhow::Result<(NetworkId, PeerId)> {
    let g = keyfile::read_genesis(genesis)?;
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let store =
        SledStore::open(&data_dir.join(keyfile::LEDGER_DIR)).context("opening the store")?;
    let ledger =
        Ledger::create(store, g, LedgerConfig::default()).context("founding the ledger")?;
    let key = keyfile::load_or_create(data_dir)?;
    Ok((ledger.network(), key.public().to_peer_id()))
}

impl Node {
    /// Opens the ledger, starts listening and serving, and returns once the
    /// listen addresses are known.
    pub async fn start(s: Settings) -> anyhow::Result<Node> {
        let genesis = keyfile::read_genesis(&s.genesis)?;
        let ledger_dir = s.data_dir.join(keyfile::LEDGER_DIR);
        anyhow::ensure!(
            ledger_dir.exists(),
            "{} holds no ledger; run `terroird init --genesis FILE --data {}` first",
            s.data_dir.display(),
            s.data_dir.display()
        );
        let store = SledStore::open_with_cache(&ledger_dir, s.limits.cache_bytes)
            .with_context(|| format!("opening {}", ledger_dir.display()))?;
        let cfg = LedgerConfig {
            pending_capacity: s.limits.pending_capacity,
            stranger_capacity: s.limits.stranger_capacity,
            stranger_bytes: s.limits.stranger_bytes,
            stranger_per_source: s.limits.stranger_per_source,
            pending_ttl_ms: s.limits.pending_ttl_ms,
            max_park_ahead_ms: s.limits.max_park_ahead_ms,
            // A batch's signatures are checked on every core.
            verify_threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            ..LedgerConfig::default()
        };
        let ledger = Ledger::open(store, cfg).context("opening the ledger")?;
        let network = ledger.network();
        anyhow::ensure!(
            network == genesis.id(),
            "the ledger in {} belongs to network {network}, but genesis {} is network {}",
            s.data_dir.display(),
            s.genesis.display(),
            genesis.id()
        );
        let key = keyfile::load_or_create(&s.data_dir)?;
        let peer_id = key.public().to_peer_id();
        let metrics = Arc::new(Metrics::default());
        metrics.set_gauges(ledger.len(), ledger.pending_len());
        tracing::info!(%network, %peer_id, records = ledger.len(), "opening node");

        let l = &s.limits;
        let caps = network::ConnectionCaps {
            max_peers: l.max_peers,
            max_per_ip: l.max_peer_connections_per_ip,
            ..network::ConnectionCaps::default()
        };
        let mut swarm = network::build_swarm_with(key, &network, s.mdns, caps)?;
        let mut listeners = Vec::new();
        for addr in &s.listen {
            listeners.push(
                swarm
                    .listen_on(addr.clone())
                    .with_context(|| format!("listening on {addr}"))?,
            );
        }
        let mut listen_addrs: Vec<Multiaddr> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
        while seen.len() < listeners.len() {
            let ev = tokio::time::timeout_at(deadline, swarm.select_next_some())
                .await
                .context("waiting for the libp2p listeners")?;
            match ev {
                SwarmEvent::NewListenAddr {
                    listener_id,
                    address,
                } if seen.insert(listener_id) => {
                    listen_addrs.push(address.with(libp2p::multiaddr::Protocol::P2p(peer_id)));
                }
                SwarmEvent::ListenerError { error, .. } => {
                    anyhow::bail!("libp2p listener: {error}")
                }
                _ => {}
            }
        }

        let checkpoint_key = match &s.checkpoints.key {
            Some(path) => Some(Arc::new(
                // A daemon has no terminal: an encrypted checkpoint key's
                // passphrase comes from TERROIR_PASSPHRASE only.
                ledger_core::keyfile::load_with(path, || {
                    std::env::var(ledger_core::keyfile::PASSPHRASE_ENV)
                        .map(ledger_core::keyfile::Zeroizing::new)
                        .map_err(|_| {
                            ledger_core::keyfile::NoPassphrase(
                                "set TERROIR_PASSPHRASE in terroird's environment".into(),
                            )
                        })
                })
                .with_context(|| "reading the checkpoint key".to_string())?
                .key,
            )),
            None => None,
        };
        // [epcis]: read before the ledger thread and the tasks start, so
        // a wrong key or passphrase stops the node at once.
        let epcis = match &s.epcis {
            Some(cfg) => {
                let e = http::epcis::Epcis::load(cfg, Some(&s.data_dir))?;
                tracing::info!(key = %e.capture_key().short(), "EPCIS capture enabled");
                Some(Arc::new(e))
            }
            None => None,
        };
        let (ledger, ledger_join) =
            LedgerHandle::spawn(ledger, metrics.clone(), s.limits.writer_nice);
        let (stop, stop_rx) = watch::channel(false);
        let (checkpoint_tx, checkpoint_rx) = tokio::sync::mpsc::channel(INCOMING_QUEUE);
        let genesis = Arc::new(genesis);
        let (net, net_join) = network::spawn(
            NetworkParts {
                swarm,
                network,
                sync_interval: Duration::from_millis(s.limits.sync_interval_ms),
                policy: PeerPolicy {
                    bootstrap: s.bootstrap.clone(),
                    target_peers: s.limits.target_peers,
                    redial_max: Duration::from_millis(s.limits.redial_max_ms),
                    max_strikes: s.limits.max_strikes,
                    ban_for: Duration::from_millis(s.limits.ban_ms),
                    sync_budget: SyncBudget {
                        inflight: s.limits.peer_sync_inflight,
                        requests_per_sec: s.limits.peer_sync_requests_per_sec,
                        bytes_per_sec: s.limits.peer_sync_bytes_per_sec,
                        burst_secs: network::SYNC_BURST_SECS,
                    },
                },
                log_cursors: CursorFile::in_dir(&s.data_dir),
                answer_nice: (s.limits.writer_nice + network::ANSWER_NICE_BELOW_WRITER)
                    .min(crate::priority::MAX_NICE),
                genesis: genesis.clone(),
                checkpoints: checkpoint_tx.clone(),
            },
            ledger.clone(),
            metrics.clone(),
            stop_rx.clone(),
        )?;

        let (checkpoints, checkpoint_join) = checkpoints::spawn(
            CheckpointSettings {
                key: checkpoint_key,
                propose: s.checkpoints.propose,
                cosign: s.checkpoints.cosign,
                interval: Duration::from_millis(s.checkpoints.interval_ms),
            },
            genesis.clone(),
            ledger.clone(),
            net.clone(),
            metrics.clone(),
            &s.data_dir,
            (checkpoint_tx, checkpoint_rx),
            stop_rx.clone(),
        );

        let listener = tokio::net::TcpListener::bind(s.http)
            .await
            .with_context(|| format!("binding HTTP on {}", s.http))?;
        let http_addr = listener.local_addr().context("HTTP local address")?;
        let submit_tokens = match &s.submit_tokens {
            Some(path) => {
                let tokens = http::tokens::SubmitTokens::load(path)?;
                if tokens.is_empty() {
                    tracing::warn!(file = %path.display(), "no submit token listed: every write is refused");
                }
                tracing::info!(tokens = tokens.len(), "writes need a token");
                Some(Arc::new(tokens))
            }
            None => None,
        };
        let state = AppState {
            ledger: ledger.clone(),
            net: net.clone(),
            metrics,
            network,
            network_name: genesis.network.clone(),
            genesis: genesis.clone(),
            peer_id: peer_id.to_string(),
            max_submit_records: s.limits.max_submit_records,
            submit_tokens,
            checkpoints: checkpoints.clone(),
            epcis,
        };
        let subscriptions = http::epcis::start_subscriptions(&state, stop_rx.clone());
        let limits = s.limits.clone();
        let mut http_stop = stop_rx;
        let http_join = tokio::spawn(async move {
            http::serve(listener, state, &limits, async move {
                let _ = http_stop.changed().await;
            })
            .await;
        });
        tracing::info!(%http_addr, "HTTP API listening");
        for a in &listen_addrs {
            tracing::info!(address = %a, "libp2p listening");
        }
        Ok(Node {
            http_addr,
            listen_addrs,
            peer_id,
            network,
            ledger,
            net,
            checkpoints,
            stop,
            tasks: [net_join, http_join, checkpoint_join]
                .into_iter()
                .chain(subscriptions)
                .collect(),
            ledger_join,
        })
    }

    /// Serves until `shutdown` completes, then stops cleanly. If the
    /// ledger thread ends first (a panic, or a return nobody asked for),
    /// stops serving and returns [`LedgerDied`]: without its ledger the
    /// node could only answer 503, forever.
    pub async fn serve_until(mut self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        tokio::select! {
            () = shutdown => {
                tracing::info!("shutting down");
                self.stop().await
            }
            ended = &mut self.ledger_join => {
                let died = LedgerDied::from_join(ended);
                let _ = self.stop.send(true);
                let deadline = tokio::time::Instant::now() + HALT_TIMEOUT;
                for mut t in self.tasks {
                    if tokio::time::timeout_at(deadline, &mut t).await.is_err() {
                        t.abort();
                    }
                }
                Err(died.into())
            }
        }
    }

    /// Stops serving, stops the network, flushes and closes the ledger.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
        self.ledger.close().await;
        self.ledger_join.await.context("ledger thread")?;
        tracing::info!("node stopped");
        Ok(())
    }
}

/// Runs a node until `shutdown` completes, then stops it cleanly.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    Node::start(settings).await?.serve_until(shutdown).await
}
