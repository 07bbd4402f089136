//! Peering that heals (issue 12), on loopback: peers are found beyond the
//! bootstrap list, a lost peer is shown and dialled again until it is
//! back, and a rogue peer flooding sync requests is banned with its new
//! identities from the same address, while a node known from that address
//! before keeps its place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{request_response, Multiaddr, PeerId};
use serde_json::Value;
use terroir_node::network::{build_swarm, BehaviourEvent};
use terroir_node::protocol::{SyncRequest, SyncResponse};

/// A free loopback TCP port for a node's libp2p listener.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn ids(status: &Value, field: &str) -> Vec<String> {
    status[field]
        .as_array()
        .unwrap_or_else(|| panic!("/status has no {field}: {status}"))
        .iter()
        .map(|p| p["peer_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn start_on(
    dir: &std::path::Path,
    gpath: &std::path::Path,
    port: u16,
    boot: &[Multiaddr],
) -> TestNode {
    TestNode::start_with(dir, gpath, boot, |c| {
        c.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}")];
    })
    .await
}

/// Three nodes, B and C bootstrapped to A only: B and C find each other.
/// C is stopped: A and B show it lost. C comes back with no bootstrap
/// peer at all: A and B dial it again, and it catches up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peers_are_found_beyond_bootstrap_and_dialled_again_when_lost() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(400);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let a = TestNode::start(&tmp.path().join("a"), &gpath, &[]).await;
    let b = TestNode::start(&tmp.path().join("b"), &gpath, std::slice::from_ref(&a.addr)).await;
    let c_port = free_port();
    let mut c = start_on(
        &tmp.path().join("c"),
        &gpath,
        c_port,
        std::slice::from_ref(&a.addr),
    )
    .await;
    let c_id = c.node.as_ref().unwrap().peer_id.to_string();
    let b_id = b.node.as_ref().unwrap().peer_id.to_string();
    wait_for(
        "B and C connected, though neither bootstraps from the other",
        || async {
            ids(&b.status().await, "peers").contains(&c_id)
                && ids(&c.status().await, "peers").contains(&b_id)
        },
    )
    .await;

    c.stop().await;
    wait_for("A and B show C lost", || async {
        for n in [&a, &b] {
            let s = n.status().await;
            if ids(&s, "peers").contains(&c_id) || !ids(&s, "peers_lost").contains(&c_id) {
                return false;
            }
        }
        metric(a.http, "terroir_peers_lost").await == 1
    })
    .await;

    let (first, rest) = w.records.split_at(200);
    a.submit_all(first, 100).await;
    // C comes back on its old address knowing nobody: the others call it.
    let c = start_on(&tmp.path().join("c"), &gpath, c_port, &[]).await;
    a.submit_all(rest, 100).await;
    let started = Instant::now();
    wait_for("A and B dial C again", || async {
        ids(&a.status().await, "peers").contains(&c_id)
            && ids(&b.status().await, "peers").contains(&c_id)
    })
    .await;
    eprintln!("C back after {:.1?}", started.elapsed());
    let (count, digest) = expected_digest(&w.genesis, &w.records);
    wait_converged(&[&a, &b, &c], count, &digest).await;
    assert_eq!(metric(a.http, "terroir_peers_lost").await, 0);
    for mut n in [a, b, c] {
        n.stop().await;
    }
}

/// What a rogue peer's attack came to.
struct Attack {
    /// Its connection was closed by the node.
    banned: bool,
    /// Requests refused.
    refused: u64,
    /// Bytes of records and heads it was sent.
    bytes: u64,
    /// Requests answered (not refused).
    answered: u64,
    /// How long it lasted.
    lasted: Duration,
}

/// A rogue peer with a fresh identity connects to `target` and keeps 64
/// Heads and Chain requests in flight until the node hangs up (or 30 s
/// pass).
async fn flood(target: &Multiaddr, node: PeerId, w: &ledger_core::workload::Workload) -> Attack {
    attack(target, node, w, 64, Duration::from_secs(30)).await
}

/// A rogue peer keeping `inflight` Heads and Chain requests in flight with
/// `target` until the node hangs up or `lasting` has passed.
async fn attack(
    target: &Multiaddr,
    node: PeerId,
    w: &ledger_core::workload::Workload,
    inflight: usize,
    lasting: Duration,
) -> Attack {
    let key = libp2p::identity::Keypair::generate_ed25519();
    let mut rogue = build_swarm(key, &w.genesis.id(), false).unwrap();
    rogue.dial(target.clone()).unwrap();
    let authors: Vec<[u8; 32]> = w.records.iter().map(|r| r.record.author.0).collect();
    let mut next = 0usize;
    let mut ask = |rogue: &mut libp2p::Swarm<terroir_node::network::Behaviour>| {
        next += 1;
        let request = if next.is_multiple_of(2) {
            SyncRequest::Heads
        } else {
            SyncRequest::Chain {
                author: authors[next % authors.len()],
                from_seq: 0,
            }
        };
        rogue.behaviour_mut().sync.send_request(&node, request);
    };
    let start = Instant::now();
    let deadline = tokio::time::Instant::now() + lasting;
    let mut attack = Attack {
        banned: false,
        refused: 0,
        bytes: 0,
        answered: 0,
        lasted: Duration::ZERO,
    };
    loop {
        let Ok(ev) = tokio::time::timeout_at(deadline, rogue.select_next_some()).await else {
            break;
        };
        match ev {
            SwarmEvent::ConnectionEstablished { peer_id, .. } if peer_id == node => {
                for _ in 0..inflight {
                    ask(&mut rogue);
                }
            }
            SwarmEvent::Behaviour(BehaviourEvent::Sync(request_response::Event::Message {
                message: request_response::Message::Response { response, .. },
                ..
            })) => {
                match response {
                    SyncResponse::Records { records, .. } | SyncResponse::Log { records, .. } => {
                        attack.answered += 1;
                        attack.bytes += records.iter().map(|r| r.len() as u64).sum::<u64>();
                    }
                    SyncResponse::Heads { heads } => {
                        attack.answered += 1;
                        attack.bytes += heads.len() as u64 * 80;
                    }
                    SyncResponse::Checkpoints { .. } => attack.answered += 1,
                    SyncResponse::Refused { .. } => attack.refused += 1,
                }
                ask(&mut rogue);
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } if peer_id == node => {
                attack.banned = true;
                break;
            }
            SwarmEvent::OutgoingConnectionError { .. } => {
                attack.banned = true;
                break;
            }
            _ => {}
        }
    }
    attack.lasted = start.elapsed();
    attack
}

/// Starts a real `terroird` for the genesis at `gpath` on a known libp2p
/// port; returns it, its HTTP address, its peer id and its address.
async fn start_target(
    dir: &std::path::Path,
    gpath: &std::path::Path,
) -> (Running, std::net::SocketAddr, PeerId, Multiaddr) {
    let bin = env!("CARGO_BIN_EXE_terroird");
    let data = dir.join("node");
    init_data_dir(bin, gpath, &data);
    let (cfg, http_addr) = loopback_config(&data);
    let port = free_port();
    let text = std::fs::read_to_string(&cfg).unwrap().replace(
        "/ip4/127.0.0.1/tcp/0",
        &format!("/ip4/127.0.0.1/tcp/{port}"),
    );
    std::fs::write(&cfg, text).unwrap();
    let (child, status) = run_binary(bin, &cfg, http_addr).await;
    let node: PeerId = status["peer_id"].as_str().unwrap().parse().unwrap();
    let target: Multiaddr = format!("/ip4/127.0.0.1/tcp/{port}/p2p/{node}")
        .parse()
        .unwrap();
    (Running(child), http_addr, node, target)
}

/// A rogue peer flooding a real `terroird` with Heads and Chain requests
/// is banned at once, the bytes it drew stay within its budget, its new
/// identities from the same address are refused, and an honest node on
/// that address, known before, stays connected and in sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rogue_peer_flooding_sync_is_banned_with_its_new_identities() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(3_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (_node, http_addr, node, target) = start_target(tmp.path(), &gpath).await;
    submit_ok(http_addr, &w.records[..1_000]).await;
    submit_ok(http_addr, &w.records[1_000..2_000]).await;

    // An honest node on the same address, connected before the attack.
    let honest = TestNode::start(
        &tmp.path().join("honest"),
        &gpath,
        std::slice::from_ref(&target),
    )
    .await;
    let honest_id = honest.node.as_ref().unwrap().peer_id.to_string();
    wait_for("the honest node connected", || async {
        let (_, body) = http(http_addr, "GET", "/status", None).await;
        let s: Value = serde_json::from_slice(&body).unwrap();
        ids(&s, "peers").contains(&honest_id)
    })
    .await;

    let first = flood(&target, node, &w).await;
    eprintln!(
        "rogue 1: banned {} after {:.1?}, {} answers, {} bytes",
        first.banned, first.lasted, first.answered, first.bytes
    );
    assert!(first.banned, "the rogue was not disconnected within 30 s");
    // Its budget: 8 MiB/s with a burst of 2 s of it.
    let budget = 8 * 1024 * 1024 * (2 + first.lasted.as_secs() + 1);
    assert!(
        first.bytes <= budget,
        "{} bytes sent, budget {budget}",
        first.bytes
    );
    assert!(metric(http_addr, "terroir_peers_banned_total").await >= 1);

    for i in 2..=3 {
        let again = flood(&target, node, &w).await;
        eprintln!(
            "rogue {i} (new identity, same address): closed {} after {:.1?}, {} answers",
            again.banned, again.lasted, again.answered
        );
        assert!(
            again.banned,
            "a new identity from the banned address was let in"
        );
        assert_eq!(
            again.answered, 0,
            "a new identity from the banned address was answered"
        );
    }
    assert!(metric(http_addr, "terroir_peer_connections_refused_total").await >= 2);
    let (_, body) = http(http_addr, "GET", "/status", None).await;
    let s: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(s["bans"]["peers"], 1, "{s}");
    assert_eq!(s["bans"]["addresses"], 1, "{s}");
    assert!(
        ids(&s, "peers").contains(&honest_id),
        "the honest node was cut off: {s}"
    );

    // The honest node still syncs through it all.
    for chunk in w.records[2_000..].chunks(1_000) {
        submit_ok(http_addr, chunk).await;
    }
    let (count, digest) = expected_digest(&w.genesis, &w.records);
    wait_for("the honest node in sync", || async {
        let s = honest.status().await;
        s["records"].as_u64() == Some(count) && s["state_digest"].as_str() == Some(&digest)
    })
    .await;
    let mut honest = honest;
    honest.stop().await;
}

/// A greedy peer that stays within its in-flight budget (8 requests, like
/// an honest node) but asks without pause is slowed to its rate by its
/// requests being held, not banned, and the node's pages still answer
/// meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greedy_peer_is_held_to_its_rate() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(1_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (_node, http_addr, node, target) = start_target(tmp.path(), &gpath).await;
    submit_ok(http_addr, &w.records[..1_000]).await;

    let lasting = Duration::from_secs(6);
    let pages = tokio::spawn(async move {
        let mut worst = Duration::ZERO;
        let end = Instant::now() + lasting;
        while Instant::now() < end {
            let t = Instant::now();
            let (code, _) = http(http_addr, "GET", "/status", None).await;
            assert_eq!(code, 200);
            worst = worst.max(t.elapsed());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        worst
    });
    let greedy = attack(&target, node, &w, 8, lasting).await;
    let worst = pages.await.unwrap();
    eprintln!(
        "greedy peer: {} answered, {} refused in {:.1?}; banned {}; slowest /status {:.0?}",
        greedy.answered, greedy.refused, greedy.lasted, greedy.banned, worst
    );
    assert!(
        !greedy.banned,
        "a peer within its in-flight budget was banned"
    );
    // 100 requests a second with a burst of 2 s of them (node defaults).
    let allowed = 200 + 100 * greedy.lasted.as_secs_f64().ceil() as u64;
    assert!(
        greedy.answered <= allowed,
        "{} answers, the budget allows {allowed}",
        greedy.answered
    );
    // Held back by holding its requests until its budget allows them, not
    // by refusals it would answer with asking again at once.
    assert!(
        metric(http_addr, "terroir_sync_held_total").await > 0,
        "the greedy peer was never held back"
    );
    assert_eq!(greedy.refused, 0, "a held request is answered, not refused");
    assert_eq!(metric(http_addr, "terroir_peers_banned_total").await, 0);
}
