//! A rogue peer against a real `terroird` (issue 12): what its flood of
//! sync requests costs the node's shoppers and writers.
//!
//! One node holds the first half of the workload. Two equal phases then
//! each submit a quarter of it over HTTP (batches of 1,000, back to back)
//! while a reader asks consumer pages on a fixed schedule ([`INTERVAL`],
//! each timed from when it was due):
//! - **quiet**: nothing else;
//! - **attacked**: meanwhile, from the same address, a *flooder* keeps 64
//!   Heads and Chain requests in flight and, each time it is banned,
//!   comes back with a new identity; and a *greedy* peer keeps 8 in flight
//!   (what an honest node keeps, so it is never banned) and asks again
//!   the moment an answer comes.
//!
//! The rogues run in this process on a runtime of their own at the lowest
//! CPU priority: on a real network they sit on another machine, and their
//! own handshakes and decoding must not be counted against the node.
//!
//! Reported: the page p99 and the ingest rate of each phase and their
//! ratios (targets: p99 at most 2× quiet, ingest at least 0.8× quiet),
//! and what the rogues got: identities tried and let in, answers and
//! bytes, against the budget a peer is allowed.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{request_response, Multiaddr, PeerId, Swarm};
use serde::Serialize;
use terroir_node::protocol::{SyncRequest, SyncResponse};

use crate::guard::DiskGuard;
use crate::ingest::{self, Prepared};
use crate::replication::{get, prepare_cluster, start_node, LatencyMs, Setup, SUBMIT_BATCH};

/// One consumer page every 10 ms (100 a second), timed from when it was due.
const INTERVAL: Duration = Duration::from_millis(10);
/// Identities the flooder mints a second, at most. Minting and dialling
/// cost the flooder a key and a whole swarm each; on this machine that
/// CPU would be taken from the node, which a real attacker's is not.
const IDENTITIES_PER_SEC: u32 = 200;
/// A peer's byte budget at the node's defaults: 8 MiB/s, bursts of 2 s.
const BYTES_PER_SEC: u64 = 8 << 20;
const BURST_SECS: u64 = 2;

/// One phase's figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Phase {
    pub records: usize,
    pub ingest_per_s: f64,
    pub page: LatencyMs,
}

/// What the rogues got.
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct Rogues {
    /// Flooder identities that tried to connect.
    pub identities: u64,
    /// Of them, those whose requests were answered at all.
    pub identities_answered: u64,
    /// Bytes of records and heads sent to the flooder, all identities.
    pub flooder_bytes: u64,
    /// Answers and refusals the greedy peer got.
    pub greedy_answered: u64,
    pub greedy_refused: u64,
    /// Bytes of records and heads sent to the greedy peer.
    pub greedy_bytes: u64,
    /// Whether the greedy peer was banned (it should not be).
    pub greedy_banned: bool,
    /// Its byte budget over the phase: burst plus rate × time.
    pub greedy_budget_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RogueFigures {
    pub rogues_attacking: Which,
    pub records_before: usize,
    pub quiet: Phase,
    pub attacked: Phase,
    /// Attacked page p99 / quiet page p99 (target ≤ 2).
    pub page_p99_ratio: f64,
    /// Attacked ingest / quiet ingest (target ≥ 0.8).
    pub ingest_ratio: f64,
    pub rogues: Rogues,
    /// The node's own count of bans and refused connections.
    pub banned: u64,
    pub connections_refused: u64,
}

/// Which rogues attack.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Which {
    pub flooder: bool,
    pub greedy: bool,
}

pub(crate) fn measure(
    p: &Prepared,
    terroird: &Path,
    dir: &Path,
    which: Which,
) -> anyhow::Result<RogueFigures> {
    if p.count < 8 * SUBMIT_BATCH {
        bail!(
            "the rogue figures need at least {} records",
            8 * SUBMIT_BATCH
        );
    }
    let (genesis, agent) = prepare_cluster(dir, &p.genesis)?;
    let guard = DiskGuard::new((256 << 20) + (16 << 10) * p.count as u64);
    let node = start_node(
        "victim",
        terroird,
        dir,
        &genesis,
        &Setup::default(),
        &agent,
        &guard,
    )?;

    // Bodies of whole batches: half before, a quarter per phase.
    let mut bodies = Vec::new();
    for batch in ingest::batches(p, SUBMIT_BATCH)? {
        let batch = batch?;
        let hexes: Vec<String> = batch.iter().map(|r| hex::encode(r.encode())).collect();
        bodies.push((
            batch.len(),
            serde_json::json!({ "records": hexes }).to_string(),
        ));
    }
    let half = bodies.len() / 2;
    let quarter = (bodies.len() - half) / 2;
    let (before, rest) = bodies.split_at(half);
    let (quiet_bodies, rest) = rest.split_at(quarter);
    let attacked_bodies = &rest[..quarter];
    for (_, body) in before {
        post(&agent, node.http, body)?;
    }
    let records_before: usize = before.iter().map(|(n, _)| n).sum();
    let lots: Vec<String> = p
        .product_lots
        .iter()
        .zip(&p.product_lot_at)
        .filter(|(_, at)| **at < records_before)
        .map(|(l, _)| format!("/lot/{}/{}", l.source.to_hex(), encode_path(&l.code)))
        .collect();
    if lots.is_empty() {
        bail!("the first {records_before} records make no product lot");
    }

    let quiet = phase(&agent, node.http, quiet_bodies, &lots)?;

    let peer: PeerId = node
        .p2p
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .context("the node's libp2p address names no peer id")?;
    let target: Multiaddr = node.p2p.parse().context("the node's libp2p address")?;
    // Farms' chains (the longest) and the authorities'.
    let mut authors: Vec<[u8; 32]> = p.harvest_lots.iter().map(|l| l.source.0).collect();
    authors.extend(p.genesis.authorities.iter().map(|a| a.key.0));
    authors.sort_unstable();
    authors.dedup();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    // The rogues stand for another machine: their own handshakes and
    // decoding run at the lowest priority, so on a small machine they take
    // only the cores the node leaves idle.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .on_thread_start(|| {
            let _ = terroir_node::priority::lower_current_thread(terroir_node::priority::MAX_NICE);
        })
        .enable_all()
        .build()
        .context("starting the rogues' runtime")?;
    let network = p.genesis.id();
    let greedy = which.greedy.then(|| {
        runtime.spawn(greedy(
            target.clone(),
            peer,
            network,
            authors.clone(),
            stop.clone(),
            tally.clone(),
        ))
    });
    let flooder = which.flooder.then(|| {
        runtime.spawn(flooder(
            target,
            peer,
            network,
            authors,
            stop.clone(),
            tally.clone(),
        ))
    });
    let started = Instant::now();
    let attacked = phase(&agent, node.http, attacked_bodies, &lots);
    stop.store(true, Ordering::Relaxed);
    let lasted = started.elapsed();
    let greedy_banned = greedy.is_some_and(|g| runtime.block_on(g).unwrap_or(true));
    if let Some(f) = flooder {
        let _ = runtime.block_on(f);
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    let attacked = attacked?;
    if let Some(why) = guard.tripped() {
        bail!("{why}");
    }
    let [banned, connections_refused] = crate::replication::metrics(
        &agent,
        node.http,
        &[
            "terroir_peers_banned_total",
            "terroir_peer_connections_refused_total",
        ],
    )?[..] else {
        bail!("/metrics lacks the ban counters");
    };
    let t = |c: &AtomicU64| c.load(Ordering::Relaxed);
    Ok(RogueFigures {
        rogues_attacking: which,
        records_before,
        page_p99_ratio: attacked.page.p99_ms / quiet.page.p99_ms.max(1e-9),
        ingest_ratio: attacked.ingest_per_s / quiet.ingest_per_s.max(1e-9),
        quiet,
        attacked,
        rogues: Rogues {
            identities: t(&tally.identities),
            identities_answered: t(&tally.identities_answered),
            flooder_bytes: t(&tally.flooder_bytes),
            greedy_answered: t(&tally.greedy_answered),
            greedy_refused: t(&tally.greedy_refused),
            greedy_bytes: t(&tally.greedy_bytes),
            greedy_banned,
            greedy_budget_bytes: BYTES_PER_SEC * (BURST_SECS + lasted.as_secs() + 1),
        },
        banned,
        connections_refused,
    })
}

fn post(agent: &ureq::Agent, addr: SocketAddr, body: &str) -> anyhow::Result<()> {
    let resp = agent
        .post(&format!("http://{addr}/records"))
        .header("Content-Type", "application/json")
        .send(body)
        .with_context(|| format!("POST http://{addr}/records"))?;
    let code = resp.status().as_u16();
    if code != 200 {
        bail!("POST /records answered {code}");
    }
    Ok(())
}

/// Percent-encodes a lot code for a path segment.
fn encode_path(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Submits `bodies` back to back while a reader asks consumer pages on a
/// fixed schedule; the ingest rate and the pages' latency.
fn phase(
    agent: &ureq::Agent,
    node: SocketAddr,
    bodies: &[(usize, String)],
    lots: &[String],
) -> anyhow::Result<Phase> {
    let stop = AtomicBool::new(false);
    let (ingested, pages) = std::thread::scope(|s| {
        let reader = s.spawn(|| -> anyhow::Result<Vec<f64>> {
            let mut ms = Vec::new();
            let first = Instant::now();
            for turn in 0u32.. {
                let due = first + INTERVAL * turn;
                if let Some(wait) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let path = &lots[turn as usize * 7919 % lots.len()];
                let (code, _) = get(agent, node, path)?;
                if code != 200 {
                    bail!("GET {path} answered {code}");
                }
                ms.push(due.elapsed().as_secs_f64() * 1e3);
            }
            Ok(ms)
        });
        let start = Instant::now();
        let mut records = 0;
        let mut result = Ok(());
        for (n, body) in bodies {
            if let Err(e) = post(agent, node, body) {
                result = Err(e);
                break;
            }
            records += n;
        }
        let seconds = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let pages = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the page reader panicked"));
        (result.map(|()| (records, seconds)), pages)
    });
    let (records, seconds) = ingested?;
    let pages = pages??;
    Ok(Phase {
        records,
        ingest_per_s: records as f64 / seconds.max(1e-9),
        page: LatencyMs::of(pages),
    })
}

#[derive(Default)]
struct Tally {
    identities: AtomicU64,
    identities_answered: AtomicU64,
    flooder_bytes: AtomicU64,
    greedy_answered: AtomicU64,
    greedy_refused: AtomicU64,
    greedy_bytes: AtomicU64,
}

/// Bytes of records or heads in an answer; `None` for a refusal.
fn answer_bytes(response: &SyncResponse) -> Option<u64> {
    match response {
        SyncResponse::Records { records, .. } | SyncResponse::Log { records, .. } => {
            Some(records.iter().map(|r| r.len() as u64).sum())
        }
        SyncResponse::Heads { heads } => Some(heads.len() as u64 * 80),
        SyncResponse::Checkpoints { items } => Some(
            items
                .iter()
                .map(|i| (i.note.len() + i.tips.len()) as u64)
                .sum(),
        ),
        SyncResponse::Refused { .. } => None,
    }
}

/// Heads or a chain, in turn.
fn request(n: usize, authors: &[[u8; 32]]) -> SyncRequest {
    match authors.get(n / 2 % authors.len().max(1)) {
        Some(author) if n % 2 == 1 => SyncRequest::Chain {
            author: *author,
            from_seq: 0,
        },
        _ => SyncRequest::Heads,
    }
}

mod rogue_behaviour {
    // The derive generates `RogueEvent` without docs.
    #![allow(missing_docs)]
    use libp2p::request_response;
    use libp2p::swarm::NetworkBehaviour;
    use terroir_node::protocol::{SyncRequest, SyncResponse};

    /// A rogue speaks the sync protocol and answers pings (a node drops
    /// a link whose pings go unanswered), nothing else: what it costs the
    /// node is its requests, and minting an identity costs the bench a
    /// key and a small swarm, not a node's whole set of behaviours.
    #[derive(NetworkBehaviour)]
    #[behaviour(to_swarm = "RogueEvent")]
    pub(super) struct Rogue {
        pub(super) sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
        pub(super) ping: libp2p::ping::Behaviour,
    }

    #[derive(Debug)]
    pub(super) enum RogueEvent {
        Sync(request_response::Event<SyncRequest, SyncResponse>),
        Ping,
    }

    impl From<libp2p::ping::Event> for RogueEvent {
        fn from(_: libp2p::ping::Event) -> Self {
            RogueEvent::Ping
        }
    }

    impl From<request_response::Event<SyncRequest, SyncResponse>> for RogueEvent {
        fn from(e: request_response::Event<SyncRequest, SyncResponse>) -> Self {
            RogueEvent::Sync(e)
        }
    }
}
use rogue_behaviour::{Rogue, RogueEvent};

fn swarm(network: ledger_core::NetworkId) -> Option<Swarm<Rogue>> {
    let name =
        libp2p::StreamProtocol::try_from_owned(terroir_node::protocol::sync_protocol(&network))
            .ok()?;
    let swarm = libp2p::SwarmBuilder::with_new_identity()
        .with_tokio()
        .with_tcp(
            libp2p::tcp::Config::default().nodelay(true),
            libp2p::noise::Config::new,
            libp2p::yamux::Config::default,
        )
        .ok()?
        .with_behaviour(|_| {
            let codec =
                request_response::cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
                    .set_response_size_maximum(terroir_node::protocol::MAX_RESPONSE_BYTES);
            Rogue {
                sync: request_response::Behaviour::with_codec(
                    codec,
                    [(name, request_response::ProtocolSupport::Full)],
                    request_response::Config::default()
                        .with_request_timeout(Duration::from_secs(30))
                        .with_max_concurrent_streams(64),
                ),
                ping: libp2p::ping::Behaviour::default(),
            }
        })
        .ok()?
        .build();
    Some(swarm)
}

/// What one identity's attack came to.
#[derive(Default)]
struct Asked {
    answered: u64,
    refused: u64,
    bytes: u64,
    /// The node hung up (or never let it in).
    shut_out: bool,
}

/// Dials `target` with a fresh identity and keeps `inflight` requests in
/// flight, asking again the moment an answer comes, until the node shuts
/// it out or `stop` is set.
async fn keep_asking(
    target: &Multiaddr,
    node: PeerId,
    network: ledger_core::NetworkId,
    authors: &[[u8; 32]],
    inflight: usize,
    stop: &AtomicBool,
) -> Asked {
    let mut asked = Asked::default();
    let Some(mut rogue) = swarm(network) else {
        asked.shut_out = true;
        return asked;
    };
    if rogue.dial(target.clone()).is_err() {
        asked.shut_out = true;
        return asked;
    }
    let mut n = 0usize;
    let mut ask = |rogue: &mut Swarm<Rogue>| {
        n += 1;
        rogue
            .behaviour_mut()
            .sync
            .send_request(&node, request(n, authors));
    };
    while !stop.load(Ordering::Relaxed) {
        let Ok(ev) =
            tokio::time::timeout(Duration::from_millis(200), rogue.select_next_some()).await
        else {
            continue;
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == node => {
                for _ in 0..inflight {
                    ask(&mut rogue);
                }
            }
            SwarmEvent::Behaviour(RogueEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            })) => {
                match answer_bytes(&response) {
                    Some(b) => {
                        asked.answered += 1;
                        asked.bytes += b;
                    }
                    None => asked.refused += 1,
                }
                ask(&mut rogue);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } if peer_id == node => {
                asked.shut_out = true;
                break;
            }
            SwarmEvent::OutgoingConnectionError { .. } => {
                asked.shut_out = true;
                break;
            }
            _ => {}
        }
    }
    asked
}

/// Keeps 8 requests in flight until `stop`; true if it was banned.
async fn greedy(
    target: Multiaddr,
    node: PeerId,
    network: ledger_core::NetworkId,
    authors: Vec<[u8; 32]>,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> bool {
    let asked = keep_asking(&target, node, network, &authors, 8, &stop).await;
    tally
        .greedy_answered
        .fetch_add(asked.answered, Ordering::Relaxed);
    tally
        .greedy_refused
        .fetch_add(asked.refused, Ordering::Relaxed);
    tally.greedy_bytes.fetch_add(asked.bytes, Ordering::Relaxed);
    asked.shut_out
}

/// A new identity each time the last one is shut out (at most
/// [`IDENTITIES_PER_SEC`] a second), each keeping 64 requests in flight,
/// until `stop`.
async fn flooder(
    target: Multiaddr,
    node: PeerId,
    network: ledger_core::NetworkId,
    authors: Vec<[u8; 32]>,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) {
    let mut pace = tokio::time::interval(Duration::from_secs(1) / IDENTITIES_PER_SEC);
    while !stop.load(Ordering::Relaxed) {
        pace.tick().await;
        tally.identities.fetch_add(1, Ordering::Relaxed);
        let asked = keep_asking(&target, node, network, &authors, 64, &stop).await;
        tally
            .flooder_bytes
            .fetch_add(asked.bytes, Ordering::Relaxed);
        if asked.answered > 0 {
            tally.identities_answered.fetch_add(1, Ordering::Relaxed);
        }
    }
}
