//! Multi-node scenarios (issue 4): nodes in one process over real TCP on
//! 127.0.0.1, each with its own data dir, driven through their HTTP APIs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use futures::StreamExt;
use ledger_core::author::Author;
use ledger_core::event::{Location, Product, Quantity, Unit};
use ledger_core::store::SledStore;
use ledger_core::workload::{key_for, T0};
use ledger_core::{Event, Genesis, Ledger, LedgerConfig, LotId, SignedRecord};
use libp2p::gossipsub;
use libp2p::swarm::SwarmEvent;
use terroir_node::network::{build_swarm, BehaviourEvent};

fn harvest(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "tea".into(),
            gtin: None,
        },
        quantity: Quantity::new(1_000, Unit::Gram),
        location: Location {
            description: "field".into(),
            gln: None,
        },
        reference: None,
    }
}

/// Time after every workload record.
fn later(w: &ledger_core::workload::Workload) -> u64 {
    w.records.iter().map(|r| r.record.time).max().unwrap_or(T0) + 60_000
}

/// Scenario 1: four nodes, each hosting different participants, write a
/// farm-to-fork story concurrently (≥ 2,000 records) and reach the same
/// state digest, the one a single ledger reaches on all the records.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_write_concurrently_and_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(2_000);
    assert!(w.records.len() >= 2_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (count, digest) = expected_digest(&w.genesis, &w.records);

    let n0 = TestNode::start(&tmp.path().join("n0"), &gpath, &[]).await;
    let boot = [n0.addr.clone()];
    let n1 = TestNode::start(&tmp.path().join("n1"), &gpath, &boot).await;
    let n2 = TestNode::start(&tmp.path().join("n2"), &gpath, &boot).await;
    let n3 = TestNode::start(&tmp.path().join("n3"), &gpath, &boot).await;
    let nodes = [&n0, &n1, &n2, &n3];

    // Each author is hosted by one node (by the first byte of its key).
    let mut parts: BTreeMap<usize, Vec<SignedRecord>> = BTreeMap::new();
    for r in &w.records {
        parts
            .entry(usize::from(r.record.author.0[0]) % 4)
            .or_default()
            .push(r.clone());
    }
    let started = std::time::Instant::now();
    let writes = nodes.iter().enumerate().map(|(i, n)| {
        let mine = parts.get(&i).cloned().unwrap_or_default();
        async move { n.submit_all(&mine, 50).await }
    });
    futures::future::join_all(writes).await;
    eprintln!("writes done after {:.1?}", started.elapsed());
    wait_converged(&nodes, count, &digest).await;
    for mut n in [n0, n1, n2, n3] {
        n.stop().await;
    }
}

/// Scenario 4: forged records (bad signature, unenrolled author, wrong
/// role, wrong network) are refused over HTTP with a reason; gossiped by a
/// misbehaving peer they are rejected, never stored by any honest node, and
/// the peer is disconnected after `max_strikes` (3).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_records_are_rejected_and_the_sender_disconnected() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(200);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (count, digest) = expected_digest(&w.genesis, &w.records);
    let a = TestNode::start(&tmp.path().join("a"), &gpath, &[]).await;
    let b = TestNode::start(&tmp.path().join("b"), &gpath, std::slice::from_ref(&a.addr)).await;
    a.submit_all(&w.records, 500).await;
    wait_converged(&[&a, &b], count, &digest).await;

    let t = later(&w);
    let farm = resume(&w, "farm", 0);
    let mut bad_sig = farm.draft(t, vec![], harvest("F-SIG")).sign(farm.key());
    bad_sig.signature.0[0] ^= 1;
    let unenrolled =
        Author::new(key_for("stranger", 0), w.genesis.id()).sign(t, vec![], harvest("F-WHO"));
    let wrong_role = farm.draft(
        t,
        vec![],
        Event::Recall {
            lot: LotId {
                source: farm.public(),
                code: "H0".into(),
            },
            reason: "a farm may not recall".into(),
        },
    );
    let wrong_role = wrong_role.sign(farm.key());
    let other = Genesis {
        network: "another network".into(),
        ..w.genesis.clone()
    };
    let farm_key = key_for("farm", 0);
    let head = head_of(&w, &farm_key.public());
    let wrong_net = Author::resume(farm_key, other.id(), head).sign(t, vec![], harvest("F-NET"));
    let forged = [&bad_sig, &unenrolled, &wrong_role, &wrong_net];
    for r in forged {
        let (code, v) = a.submit(r).await;
        assert_eq!(code, 422, "forged record accepted: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
        eprintln!("HTTP refused forged record: {}", v["error"]);
    }

    // A misbehaving peer gossips forged records straight to node A.
    let key = libp2p::identity::Keypair::generate_ed25519();
    let mut evil = build_swarm(key, &w.genesis.id(), false).unwrap();
    let topic = gossipsub::IdentTopic::new(terroir_node::protocol::topic(&w.genesis.id()));
    evil.behaviour_mut().gossipsub.subscribe(&topic).unwrap();
    evil.dial(a.addr.clone()).unwrap();
    let a_peer = a.node.as_ref().unwrap().peer_id;
    let mut gossip = vec![
        bad_sig.encode(),
        wrong_net.encode(),
        b"not a record".to_vec(),
        unenrolled.encode(),
    ];
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut subscribed = false;
    let disconnected = loop {
        let ev = tokio::time::timeout_at(deadline, evil.select_next_some()).await;
        let Ok(ev) = ev else { break false };
        match ev {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(gossipsub::Event::Subscribed {
                peer_id,
                ..
            })) if peer_id == a_peer => {
                subscribed = true;
                for m in gossip.drain(..) {
                    evil.behaviour_mut()
                        .gossipsub
                        .publish(topic.clone(), m)
                        .unwrap();
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                ..
            } if peer_id == a_peer => {
                break subscribed;
            }
            _ => {}
        }
    };
    assert!(
        disconnected,
        "node A did not disconnect the misbehaving peer"
    );
    let (_, text) = http(a.http, "GET", "/metrics", None).await;
    let text = String::from_utf8(text).unwrap();
    assert!(text.contains("terroir_peers_banned_total 1"), "{text}");

    // Nothing forged is stored anywhere, and the honest nodes still agree.
    for r in forged {
        assert!(!a.has_record(&r.hash()).await);
        assert!(!b.has_record(&r.hash()).await);
    }
    wait_converged(&[&a, &b], count, &digest).await;
    for mut n in [a, b] {
        n.stop().await;
    }
}

/// Scenario 3: a node stopped mid-run and restarted catches up, and loses
/// nothing it had acknowledged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarted_node_catches_up_and_keeps_what_it_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(2_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (count, digest) = expected_digest(&w.genesis, &w.records);
    let third = w.records.len() / 3;
    let (first, rest) = w.records.split_at(third);
    let (second, last) = rest.split_at(third);

    let a = TestNode::start(&tmp.path().join("a"), &gpath, &[]).await;
    let mut b = TestNode::start(&tmp.path().join("b"), &gpath, std::slice::from_ref(&a.addr)).await;
    a.submit_all(first, 200).await;
    // B acknowledges the second third itself.
    b.submit_all(second, 200).await;
    let (c2, d2) = expected_digest(&w.genesis, &w.records[..2 * third]);
    wait_converged(&[&a, &b], c2, &d2).await;

    b.stop().await;
    a.submit_all(last, 200).await;
    b.restart(std::slice::from_ref(&a.addr)).await;
    for r in second.iter().step_by(37) {
        assert!(
            b.has_record(&r.hash()).await,
            "B lost an acknowledged record"
        );
    }
    wait_converged(&[&a, &b], count, &digest).await;
    for mut n in [a, b] {
        n.stop().await;
    }
}

/// Scenario 5: an author signs two records at one seq and sends them to
/// different nodes; both nodes end with the same fork proof and digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn equivocation_is_flagged_with_the_same_fork_proof_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(200);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let a = TestNode::start(&tmp.path().join("a"), &gpath, &[]).await;
    let b = TestNode::start(&tmp.path().join("b"), &gpath, std::slice::from_ref(&a.addr)).await;
    let c = TestNode::start(&tmp.path().join("c"), &gpath, std::slice::from_ref(&b.addr)).await;
    a.submit_all(&w.records, 500).await;
    let (count, digest) = expected_digest(&w.genesis, &w.records);
    wait_converged(&[&a, &b, &c], count, &digest).await;

    let farm = resume(&w, "farm", 1);
    let t = later(&w);
    let x = farm.draft(t, vec![], harvest("EQ-X")).sign(farm.key());
    let y = farm.draft(t, vec![], harvest("EQ-Y")).sign(farm.key());
    assert_eq!(x.record.seq, y.record.seq);
    let (sa, sb) = tokio::join!(a.submit(&x), c.submit(&y));
    assert_eq!(sa.0, 200, "{}", sa.1);
    assert_eq!(sb.0, 200, "{}", sb.1);

    let mut all = w.records.clone();
    all.push(x.clone());
    all.push(y.clone());
    let (count, digest) = expected_digest(&w.genesis, &all);
    wait_converged(&[&a, &b, &c], count, &digest).await;
    let (_, fa) = a.get_json("/forks").await;
    let (_, fb) = b.get_json("/forks").await;
    let (_, fc) = c.get_json("/forks").await;
    assert_eq!(fa, fb);
    assert_eq!(fa, fc);
    let forks = fa["forks"].as_array().unwrap();
    assert_eq!(forks.len(), 1, "{fa}");
    let mut want = vec![x.hash().to_hex(), y.hash().to_hex()];
    want.sort();
    let got: Vec<String> = forks[0]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(got, want);
    assert_eq!(forks[0]["author"].as_str().unwrap(), farm.public().to_hex());
    for mut n in [a, b, c] {
        n.stop().await;
    }
}

/// Scenario 2: a fresh node started after ≥ 10,000 records catches up to
/// the same digest by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_node_catches_up_ten_thousand_records() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(10_000);
    assert!(w.records.len() >= 10_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    // The seed node's ledger is filled directly (fast), then served.
    let seed = tmp.path().join("seed");
    terroir_node::init(&seed, &gpath).unwrap();
    let (count, digest) = {
        let store = SledStore::open(&seed.join("ledger")).unwrap();
        let mut l = Ledger::open(store, LedgerConfig::default()).unwrap();
        for chunk in w.records.chunks(2_000) {
            l.ingest(chunk.to_vec(), now()).unwrap();
        }
        (l.len(), l.state_digest().unwrap().to_hex())
    };
    assert_eq!(count as usize, w.records.len());
    let a = TestNode::start(&seed, &gpath, &[]).await;
    let started = std::time::Instant::now();
    let b = TestNode::start(
        &tmp.path().join("fresh"),
        &gpath,
        std::slice::from_ref(&a.addr),
    )
    .await;
    wait_converged(&[&a, &b], count, &digest).await;
    eprintln!(
        "fresh node caught up {count} records in {:.1?}",
        started.elapsed()
    );
    for mut n in [a, b] {
        n.stop().await;
    }
}
