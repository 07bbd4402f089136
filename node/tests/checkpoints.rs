//! Four regulators' nodes (k = 3) checkpoint the ledger together: every
//! node holds the same final checkpoints and log; with one authority's
//! node down the other three still finalise, and it catches up when it
//! comes back; a forked checkpoint fed to a node is kept and shown as
//! proof.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use common::{harvest, now, wait_for, Running};
use ledger_core::author::Author;
use ledger_core::checkpoint::{cut_hash, Checkpoint, SignedCheckpoint};
use ledger_core::event::{Event, Location, Role};
use ledger_core::genesis::{Authority, Genesis, GENESIS_VERSION};
use ledger_core::{SignedRecord, SigningKey};
use libp2p::Multiaddr;
use serde_json::Value;

const AUTHORITIES: [&str; 4] = [
    "淳安县农业农村局",
    "淳安县市场监督管理局",
    "杭州市农产品质量安全中心",
    "浙江省农业农村厅",
];

fn keys() -> Vec<SigningKey> {
    (0..4u8)
        .map(|i| SigningKey::from_seed(&[40 + i; 32]))
        .collect()
}

fn genesis(keys: &[SigningKey]) -> Genesis {
    Genesis {
        version: GENESIS_VERSION,
        network: "淳安县 checkpoint test".into(),
        authorities: keys
            .iter()
            .zip(AUTHORITIES)
            .map(|(k, name)| Authority {
                key: k.public(),
                name: name.into(),
            })
            .collect(),
        checkpoint_threshold: 3,
        created: now() - 60_000,
        profile: Default::default(),
    }
}

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

/// A free loopback port.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Authority `i`'s `terroird`: its data directory (with the authority's
/// key file), its config and its addresses.
struct Station {
    config: PathBuf,
    http: SocketAddr,
    p2p: Multiaddr,
    data: PathBuf,
}

/// Writes authority `i`'s data directory and config; every node
/// bootstraps from the first.
fn prepare(dir: &Path, genesis: &Path, i: usize, key: &SigningKey, boot: &[Multiaddr]) -> Station {
    let data = dir.join(format!("n{i}"));
    common::init_data_dir(BIN, genesis, &data);
    let key_file = data.join("authority.key");
    ledger_core::keyfile::create(&key_file, Some(AUTHORITIES[i]), key).unwrap();
    let (http, p2p_port) = (free_port(), free_port());
    let p2p: Multiaddr = format!("/ip4/127.0.0.1/tcp/{p2p_port}").parse().unwrap();
    let mut c = common::config(&data, genesis, boot);
    c.listen = vec![p2p.to_string()];
    c.http = SocketAddr::from(([127, 0, 0, 1], http));
    c.checkpoints.key = Some(key_file);
    c.checkpoints.interval_ms = 300;
    let config = data.join("terroird.toml");
    std::fs::write(&config, c.to_toml().unwrap()).unwrap();
    Station {
        config,
        http: c.http,
        p2p,
        data,
    }
}

async fn run(a: &Station) -> Running {
    Running(common::run_binary(BIN, &a.config, a.http).await.0)
}

async fn get(addr: SocketAddr, path: &str) -> (u16, Vec<u8>) {
    common::http(addr, "GET", path, None).await
}

/// The newest final checkpoint a node serves, read as a verifier would.
async fn newest(addr: SocketAddr, g: &Genesis) -> Option<SignedCheckpoint> {
    let (code, body) = get(addr, "/checkpoint").await;
    (code == 200).then(|| SignedCheckpoint::from_note(&body, g).unwrap())
}

async fn status(addr: SocketAddr) -> Value {
    serde_json::from_slice(&get(addr, "/status").await.1).unwrap()
}

/// The farm's enrollment by the first authority and `count` harvests.
fn history(
    g: &Genesis,
    keys: &[SigningKey],
    from: usize,
    count: usize,
    farm: &mut Author,
    enroll: &mut Option<SignedRecord>,
) -> Vec<SignedRecord> {
    let mut out = Vec::new();
    let t = now() - 30_000;
    if enroll.is_none() {
        let mut reg = Author::new(SigningKey::from_seed(&keys[0].seed()), g.id());
        let e = reg.sign(
            t,
            vec![],
            Event::Enroll {
                participant: farm.public(),
                name: "鸠坑茶园".into(),
                role: Role::Farm,
                location: Location {
                    description: "淳安县 鸠坑乡".into(),
                    gln: None,
                },
            },
        );
        out.push(e.clone());
        *enroll = Some(e);
    }
    for i in from..from + count {
        let deps = match (farm.next_seq(), enroll.as_ref()) {
            (0, Some(e)) => vec![e.hash()],
            _ => vec![],
        };
        out.push(farm.sign(t + 1 + i as u64, deps, harvest(&format!("JK-{i:04}"))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn four_authorities_finalise_checkpoints_with_one_down() {
    let dir = tempfile::tempdir().unwrap();
    let keys = keys();
    let g = genesis(&keys);
    let genesis_path = common::write_genesis(dir.path(), &g);
    let first = prepare(dir.path(), &genesis_path, 0, &keys[0], &[]);
    let boot = vec![first.p2p.clone()];
    let mut nodes = vec![first];
    for (i, k) in keys.iter().enumerate().skip(1) {
        nodes.push(prepare(dir.path(), &genesis_path, i, k, &boot));
    }
    let mut running = Vec::new();
    for n in &nodes {
        running.push(Some(run(n).await));
    }

    let mut farm = Author::new(SigningKey::from_seed(&[60; 32]), g.id());
    let mut enroll = None;
    let records = history(&g, &keys, 0, 40, &mut farm, &mut enroll);
    common::submit_ok(nodes[0].http, &records).await;
    let total = records.len() as u64;
    wait_for(
        "every node serves a final checkpoint of everything",
        || async {
            for n in &nodes {
                if newest(n.http, &g)
                    .await
                    .is_none_or(|c| c.checkpoint.size != total)
                {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let mut seen = Vec::new();
    for n in &nodes {
        seen.push(newest(n.http, &g).await.unwrap());
    }
    let c = seen[0].clone();
    assert!(c.is_final(&g), "{:?}", c.signatures);
    for s in &seen {
        assert_eq!(s.checkpoint, c.checkpoint, "the same checkpoint everywhere");
    }

    // The fourth authority's node dies; the other three go on.
    running[3] = None;
    let more = history(&g, &keys, 40, 20, &mut farm, &mut enroll);
    common::submit_ok(nodes[1].http, &more).await;
    let total = total + more.len() as u64;
    wait_for("three authorities finalise without the fourth", || async {
        for n in &nodes[..3] {
            if newest(n.http, &g)
                .await
                .is_none_or(|c| c.checkpoint.size != total)
            {
                return false;
            }
        }
        true
    })
    .await;
    let later = newest(nodes[0].http, &g).await.unwrap();
    assert!(later.checkpoint.height > c.checkpoint.height);
    assert!(!later.signers().contains(&keys[3].public()));

    // It comes back, catches up with the records and the checkpoints it
    // missed, and computes the same log.
    running[3] = Some(run(&nodes[3]).await);
    wait_for("the returning authority catches up", || async {
        newest(nodes[3].http, &g)
            .await
            .is_some_and(|c| c.checkpoint.size == total)
    })
    .await;
    let back = newest(nodes[3].http, &g).await.unwrap();
    let s0 = newest(nodes[0].http, &g).await.unwrap();
    assert_eq!(back.checkpoint.root, s0.checkpoint.root);
    assert_eq!(back.checkpoint.map_root, s0.checkpoint.map_root);
    for h in 0..=s0.checkpoint.height {
        let mut notes = Vec::new();
        for n in &nodes {
            let (code, body) = get(n.http, &format!("/checkpoint/{h}")).await;
            assert_eq!(code, 200);
            notes.push(body);
        }
        let bodies: Vec<Checkpoint> = notes
            .iter()
            .map(|n| SignedCheckpoint::from_note(n, &g).unwrap().checkpoint)
            .collect();
        assert!(
            bodies.windows(2).all(|w| w[0] == w[1]),
            "checkpoint {h} differs between nodes"
        );
    }

    // A forked checkpoint: three authority keys sign another body at a
    // height already final. The node it is fed to keeps both as proof.
    let fin = s0.checkpoint.clone();
    let forged = Checkpoint {
        time: fin.time + 1,
        cut: cut_hash(&[]),
        ..fin.clone()
    };
    let mut fork = SignedCheckpoint::propose(forged, &keys[0]);
    fork.cosign(&keys[1], now() / 1000);
    fork.cosign(&keys[2], now() / 1000);
    let body = serde_json::json!({ "note": fork.to_note(), "tips": [] }).to_string();
    let (code, answer) =
        common::http(nodes[2].http, "POST", "/checkpoints", Some(body.as_bytes())).await;
    assert_eq!(code, 202, "{}", String::from_utf8_lossy(&answer));
    wait_for("the node shows the contradiction", || async {
        status(nodes[2].http).await["checkpointing"]["conflicts"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    })
    .await;
    let st = status(nodes[2].http).await;
    let conflict = &st["checkpointing"]["conflicts"][0];
    assert_eq!(conflict["a"]["height"], fin.height);
    assert_eq!(conflict["b"]["height"], fin.height);
    assert!(
        conflict["reason"].as_str().unwrap().contains("same height"),
        "{conflict}"
    );
    let notes = [
        conflict["a"]["note"].as_str().unwrap(),
        conflict["b"]["note"].as_str().unwrap(),
    ];
    assert!(notes.contains(&fork.to_note().as_str()), "{conflict}");
    // The proof is kept on disk: a restart still shows it.
    running[2] = None;
    running[2] = Some(run(&nodes[2]).await);
    let st = status(nodes[2].http).await;
    assert_eq!(
        st["checkpointing"]["conflicts"].as_array().map(Vec::len),
        Some(1),
        "{st}"
    );
    assert!(nodes[2]
        .data
        .join(terroir_node::checkpoints::CONFLICTS_FILE)
        .exists());
    // An authority proposing two different checkpoints at the next height
    // breaks its one vote per height: the pair is kept as proof too.
    let propose = |root: &[u8]| {
        let c = Checkpoint {
            height: fin.height + 1,
            prev: Some(fin.hash()),
            size: fin.size + 1,
            root: ledger_core::Hash::of(root),
            cut: cut_hash(&[]),
            ..fin.clone()
        };
        let note = SignedCheckpoint::propose(c, &keys[0]).to_note();
        serde_json::json!({ "note": note, "tips": [] }).to_string()
    };
    for body in [propose(b"one"), propose(b"two")] {
        let (code, _) =
            common::http(nodes[2].http, "POST", "/checkpoints", Some(body.as_bytes())).await;
        assert_eq!(code, 202);
    }
    wait_for("the node shows the equivocation", || async {
        status(nodes[2].http).await["checkpointing"]["conflicts"]
            .as_array()
            .is_some_and(|c| c.len() == 2)
    })
    .await;
    let st = status(nodes[2].http).await;
    let second = &st["checkpointing"]["conflicts"][1];
    assert_eq!(second["a"]["height"], fin.height + 1);
    assert_eq!(second["a"]["signers"][0], AUTHORITIES[0]);
    assert_eq!(second["b"]["signers"][0], AUTHORITIES[0]);

    // A note forged outright is refused at the door.
    let bad = fork.to_note().replace(
        &format!("time {}", fin.time + 1),
        &format!("time {}", fin.time + 2),
    );
    let body = serde_json::json!({ "note": bad }).to_string();
    let (code, answer) =
        common::http(nodes[2].http, "POST", "/checkpoints", Some(body.as_bytes())).await;
    assert_eq!(code, 400);
    assert!(String::from_utf8_lossy(&answer).contains("does not verify"));
    // Tips are unsigned, but the note's cut line names them: others are
    // refused.
    let wrong_tips = serde_json::json!({ "note": fork.to_note(), "tips": [fin.root] }).to_string();
    let (code, answer) = common::http(
        nodes[2].http,
        "POST",
        "/checkpoints",
        Some(wrong_tips.as_bytes()),
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        String::from_utf8_lossy(&answer).contains("not the cut"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}
