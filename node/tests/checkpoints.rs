//! Four regulators' nodes (k = 3) checkpoint the ledger together: every
//! node holds the same final checkpoints and log; with one authority's
//! node down the other three still finalise, and it catches up when it
//! comes back; a forked checkpoint fed to a node is kept and shown as
//! proof.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use common::{harvest, now, wait_for, TestNode};
use ledger_core::author::Author;
use ledger_core::checkpoint::{Checkpoint, SignedCheckpoint};
use ledger_core::event::{Event, Location, Role};
use ledger_core::genesis::{Authority, Genesis, GENESIS_VERSION};
use ledger_core::tlog::LogState;
use ledger_core::{SignedRecord, SigningKey};
use libp2p::Multiaddr;
use terroir_node::protocol::CheckpointItem;

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

/// Starts authority `i`'s node, its key file in its data directory.
async fn start(
    dir: &Path,
    genesis: &Path,
    i: usize,
    key: &SigningKey,
    boot: &[Multiaddr],
) -> TestNode {
    let data = dir.join(format!("n{i}"));
    std::fs::create_dir_all(&data).unwrap();
    let key_file = data.join("authority.key");
    if !key_file.exists() {
        ledger_core::keyfile::create(&key_file, Some(AUTHORITIES[i]), key).unwrap();
    }
    TestNode::start_with(&data, genesis, boot, |c| {
        c.checkpoints.key = Some(key_file.clone());
        c.checkpoints.interval_ms = 300;
    })
    .await
}

async fn log(n: &TestNode) -> LogState {
    n.node
        .as_ref()
        .unwrap()
        .ledger
        .read(|r| r.log().clone())
        .await
        .unwrap()
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
    let mut nodes = Vec::new();
    let first = start(dir.path(), &genesis_path, 0, &keys[0], &[]).await;
    let boot = vec![first.addr.clone()];
    nodes.push(first);
    for (i, k) in keys.iter().enumerate().skip(1) {
        nodes.push(start(dir.path(), &genesis_path, i, k, &boot).await);
    }

    let mut farm = Author::new(SigningKey::from_seed(&[60; 32]), g.id());
    let mut enroll = None;
    let records = history(&g, &keys, 0, 40, &mut farm, &mut enroll);
    nodes[0].submit_all(&records, 50).await;
    let total = records.len() as u64;
    wait_for(
        "every node holds a final checkpoint of everything",
        || async {
            for n in &nodes {
                if log(n).await.size() != total {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let newest: Vec<LogState> = futures::future::join_all(nodes.iter().map(log)).await;
    let c = newest[0].checkpoint.clone().unwrap();
    assert!(c.is_final(&g), "{:?}", c.signatures);
    for s in &newest {
        assert_eq!(
            s.checkpoint.as_ref().unwrap().checkpoint,
            c.checkpoint,
            "same checkpoint everywhere"
        );
    }

    // The fourth authority goes down; the other three go on.
    nodes[3].stop().await;
    let more = history(&g, &keys, 40, 20, &mut farm, &mut enroll);
    nodes[1].submit_all(&more, 50).await;
    let total = total + more.len() as u64;
    wait_for("three authorities finalise without the fourth", || async {
        for n in &nodes[..3] {
            if log(n).await.size() != total {
                return false;
            }
        }
        true
    })
    .await;
    let later = log(&nodes[0]).await.checkpoint.unwrap();
    assert!(later.checkpoint.height > c.checkpoint.height);
    assert!(!later.signers().contains(&keys[3].public()));

    // It comes back, catches up with the records and the checkpoints it
    // missed, and computes the same log.
    let back = start(dir.path(), &genesis_path, 3, &keys[3], &boot).await;
    nodes[3] = back;
    wait_for("the returning authority catches up", || async {
        log(&nodes[3]).await.size() == total
    })
    .await;
    let s3 = log(&nodes[3]).await.checkpoint.unwrap();
    let s0 = log(&nodes[0]).await.checkpoint.unwrap();
    assert_eq!(s3.checkpoint.root, s0.checkpoint.root);
    assert_eq!(s3.checkpoint.map_root, s0.checkpoint.map_root);

    // A forked checkpoint: three authority keys sign another body at a
    // height already final. The node keeps the two as proof.
    let fin = s0.checkpoint.clone();
    let forged = Checkpoint {
        time: fin.time + 1,
        ..fin.clone()
    };
    let mut fork = SignedCheckpoint::propose(forged, &keys[0]);
    fork.cosign(&keys[1], now() / 1000);
    fork.cosign(&keys[2], now() / 1000);
    let handle = nodes[2].node.as_ref().unwrap().checkpoints.clone();
    assert!(handle.offer(CheckpointItem::new(fork.to_note(), &[])));
    wait_for("the node shows the contradiction", || async {
        !handle.view().conflicts.is_empty()
    })
    .await;
    let view = handle.view();
    let conflict = &view.conflicts[0];
    assert_eq!(conflict.a.height, fin.height);
    assert_eq!(conflict.b.height, fin.height);
    assert_ne!(conflict.a.note, conflict.b.note);
    assert!(
        conflict.reason.contains("same height"),
        "{}",
        conflict.reason
    );
    // Kept on disk, so a restart still shows it.
    let kept = std::fs::read_to_string(
        nodes[2]
            .data
            .join(terroir_node::checkpoints::CONFLICTS_FILE),
    )
    .unwrap();
    assert_eq!(kept.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(kept.trim()).unwrap();
    let notes = [line["a"].as_str().unwrap(), line["b"].as_str().unwrap()];
    assert!(notes.contains(&fork.to_note().as_str()), "{kept}");
    for n in &mut nodes {
        n.stop().await;
    }
}
