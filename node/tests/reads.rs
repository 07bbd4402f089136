//! What a station working through a node reads besides traces and
//! bundles, against a node started in process on loopback:
//! `GET /holdings/{key}` answers every participant's balances as a single
//! in-memory ledger holding the same records does (400 on a malformed key,
//! 404 on a stranger's), `GET /lots/{source}/{code}/downstream` carries the
//! recall reach the CLI prints, and `GET /status` counts recalls,
//! revocations and forks as the ledger's overlays do.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{resume, wait_for, workload, write_genesis, TestNode};
use ledger_core::reach::{recall_reach, Reach};
use ledger_core::store::MemoryStore;
use ledger_core::{Event, Ledger, LedgerConfig, LotId, PublicKey, SignedRecord, SigningKey};
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holdings_downstream_and_status_counts_match_the_ledger() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(120);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let mut node = TestNode::start(&tmp.path().join("node"), &gpath, &[]).await;

    // The regulator recalls a harvested lot, on top of the workload.
    let recalled = w.harvest_lots[0].clone();
    let creation = w
        .records
        .iter()
        .find(|r| {
            r.record
                .event
                .created_lots()
                .iter()
                .any(|(c, _, _)| *c == recalled.code)
                && r.record.author == recalled.source
        })
        .unwrap()
        .hash();
    let mut regulator = resume(&w, "regulator", 0);
    let time = w.records.iter().map(|r| r.record.time).max().unwrap() + 1_000;
    let recall = regulator.sign(
        time,
        vec![creation],
        Event::Recall {
            lot: recalled.clone(),
            reason: "pesticide residue".into(),
        },
    );
    let mut records: Vec<SignedRecord> = w.records.clone();
    records.push(recall);
    node.submit_all(&records, 500).await;
    let want = records.len() as u64;
    wait_for("the records stored", || async {
        node.status().await["records"].as_u64() == Some(want)
    })
    .await;

    let mut truth = Ledger::create(
        MemoryStore::default(),
        w.genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    truth.ingest(records, common::now()).unwrap();
    assert_eq!(truth.len(), want);

    // Holdings: every participant, as the ledger reads them.
    let mut holders = 0;
    for p in truth.participants().unwrap() {
        let (code, v) = node
            .get_json(&format!("/holdings/{}", p.key.to_hex()))
            .await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(v["participant"], json!(p.key), "{v}");
        let expected: Vec<Value> = truth
            .holdings(&p.key)
            .unwrap()
            .into_iter()
            .filter(|(_, q)| q.amount > 0)
            .map(|(lot, quantity)| json!({ "lot": lot, "quantity": quantity }))
            .collect();
        if !expected.is_empty() {
            holders += 1;
        }
        assert_eq!(v["holdings"], json!(expected), "{}", p.name);
    }
    assert!(holders > 0, "the workload leaves someone holding something");
    let (code, v) = node.get_json("/holdings/not-a-key").await;
    assert_eq!(code, 400, "{v}");
    assert!(v["error"].as_str().unwrap().contains("key"), "{v}");
    let stranger: PublicKey = SigningKey::from_seed(&[7; 32]).public();
    let (code, v) = node
        .get_json(&format!("/holdings/{}", stranger.to_hex()))
        .await;
    assert_eq!(code, 404, "{v}");

    // Downstream: the lots, and the reach with holders.
    let lot: &LotId = &recalled;
    let (code, v) = node
        .get_json(&format!(
            "/lots/{}/{}/downstream",
            lot.source.to_hex(),
            lot.code
        ))
        .await;
    assert_eq!(code, 200, "{v}");
    let reach: Reach = serde_json::from_value(v["reach"].clone()).unwrap();
    assert_eq!(reach, recall_reach(&truth, lot).unwrap());
    assert_eq!(
        v["downstream"].as_array().unwrap().len(),
        reach.downstream.len(),
        "{v}"
    );

    // Status: the overlays' counts.
    let o = truth.overlays().unwrap();
    let st = node.status().await;
    assert_eq!(st["recalls"], 1, "{st}");
    assert_eq!(st["recalls"], o.recalls.len(), "{st}");
    assert_eq!(st["revocations"], o.revocations.len(), "{st}");
    assert_eq!(st["forks"], o.forks.len(), "{st}");
    node.stop().await;
}
