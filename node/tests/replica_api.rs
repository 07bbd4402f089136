//! What a local replica reads from a node, against a node started in
//! process on loopback: `GET /genesis` is the genesis the node runs,
//! `GET /log` pages through every record once, in an order a replica can
//! ingest, `GET /lineage/{key}` agrees with ledger-core's digest over the
//! same records, and a revoked key's later record submitted over HTTP is
//! refused in words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;

use common::{enrollment, http, now, resume, wait_for, workload, write_genesis, TestNode};
use ledger_core::graph::MemGraph;
use ledger_core::query::lineage_digest;
use ledger_core::{Event, Genesis, Hash, SignedRecord};
use serde_json::Value;

async fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (code, body) = http(addr, "GET", path, None).await;
    let v = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("{path}: not JSON: {}", String::from_utf8_lossy(&body)));
    (code, v)
}

/// Every log entry, `limit` at a time: (seq, record) in log order.
async fn whole_log(addr: SocketAddr, limit: usize) -> (Vec<(u64, SignedRecord)>, u64) {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let (code, page) = get(addr, &format!("/log?after={after}&limit={limit}")).await;
        assert_eq!(code, 200, "{page}");
        let records = page["records"].as_array().unwrap();
        assert!(records.len() <= limit, "{} > {limit}", records.len());
        for e in records {
            let bytes = hex::decode(e["hex"].as_str().unwrap()).unwrap();
            out.push((
                e["seq"].as_u64().unwrap(),
                SignedRecord::decode(&bytes).unwrap(),
            ));
        }
        let next = page["next"].as_u64().unwrap();
        let end = page["end"].as_u64().unwrap();
        if records.is_empty() {
            assert_eq!(next, after, "{page}");
            return (out, end);
        }
        assert_eq!(next, out.last().unwrap().0, "{page}");
        after = next;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_reads_genesis_log_and_lineages() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(60);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let mut node = TestNode::start(&tmp.path().join("node"), &gpath, &[]).await;
    let addr = node.http;
    node.submit_all(&w.records, 500).await;
    let want = w.records.len() as u64;
    wait_for("the workload stored", || async {
        node.status().await["records"].as_u64() == Some(want)
    })
    .await;

    // Genesis: the bytes `genesis.json` holds, naming the node's network.
    let (code, body) = http(addr, "GET", "/genesis", None).await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).unwrap();
    assert_eq!(
        text,
        serde_json::to_string_pretty(&w.genesis).unwrap() + "\n"
    );
    let genesis: Genesis = serde_json::from_str(&text).unwrap();
    assert_eq!(genesis, w.genesis);
    assert_eq!(
        node.status().await["network_id"].as_str(),
        Some(genesis.id().to_hex().as_str())
    );

    // The log: seqs 1..=end with no gap or repeat, every record once, each
    // after the records it names.
    let (log, end) = whole_log(addr, 7).await;
    assert_eq!(end, want);
    let seqs: Vec<u64> = log.iter().map(|(s, _)| *s).collect();
    assert_eq!(seqs, (1..=want).collect::<Vec<_>>());
    let mut seen: BTreeSet<Hash> = BTreeSet::new();
    for (seq, r) in &log {
        for p in r.record.prev.iter().chain(&r.record.deps) {
            assert!(seen.contains(p), "log seq {seq} comes before its cause {p}");
        }
        assert!(seen.insert(r.hash()), "log seq {seq} repeats a record");
    }
    let sent: BTreeSet<Hash> = w.records.iter().map(SignedRecord::hash).collect();
    assert_eq!(seen, sent);
    // Default page, and one past the end.
    let (code, page) = get(addr, "/log").await;
    assert_eq!(code, 200);
    assert_eq!(
        page["records"].as_array().unwrap().len() as u64,
        want.min(500)
    );
    assert_eq!(page["records"][0]["seq"], 1);
    let (code, page) = get(addr, &format!("/log?after={}", want + 5)).await;
    assert_eq!(code, 200);
    assert_eq!(
        page,
        serde_json::json!({ "records": [], "next": want + 5, "end": want })
    );
    // The limit is enforced; bad queries are refused in one line.
    for bad in [
        "/log?limit=2001",
        "/log?limit=0",
        "/log?after=-1",
        "/log?after=x",
        "/log?from=3",
    ] {
        let (code, v) = get(addr, bad).await;
        assert_eq!(code, 400, "{bad}: {v}");
        let why = v["error"].as_str().unwrap();
        assert!(!why.is_empty() && !why.contains('\n'), "{bad}: {why}");
    }
    let (code, page) = get(addr, "/log?limit=2000").await;
    assert_eq!(code, 200);
    assert_eq!(page["records"].as_array().unwrap().len() as u64, want);

    // Lineages: the node's digest is ledger-core's over the same records.
    let graph = MemGraph::new(&w.genesis, w.records.clone());
    let (_, heads) = get(addr, "/heads").await;
    let heads = heads["heads"].as_array().unwrap();
    assert!(heads.len() > 3);
    for h in heads {
        let key = h["author"].as_str().unwrap();
        let pk = ledger_core::PublicKey::from_hex(key).unwrap();
        let expected = lineage_digest(&graph, &pk).unwrap().unwrap();
        let (code, v) = get(addr, &format!("/lineage/{key}")).await;
        assert_eq!(code, 200, "{v}");
        assert_eq!(
            v,
            serde_json::json!({
                "key": key,
                "records": expected.records,
                "digest": expected.digest.to_hex(),
            })
        );
    }
    let (code, v) = get(addr, &format!("/lineage/{}", "07".repeat(32))).await;
    assert_eq!(code, 404, "{v}");
    let (code, v) = get(addr, "/lineage/nothex").await;
    assert_eq!(code, 400, "{v}");

    // The regulator revokes a farm's key, trusting what it signed so far:
    // its next record is refused, alone (422) or in a batch.
    let mut regulator = resume(&w, "regulator", 0);
    let farm = resume(&w, "farm", 0);
    let trusted = farm.next_seq().checked_sub(1);
    let revoke = regulator.sign(
        now(),
        vec![],
        Event::Revoke {
            key: farm.public(),
            last_trusted_seq: trusted,
            reason: "key stolen".into(),
        },
    );
    let (code, v) = node.submit(&revoke).await;
    assert_eq!(code, 200, "{v}");
    let deps = if farm.next_seq() == 0 {
        vec![enrollment(&w, &farm.public())]
    } else {
        vec![]
    };
    let late = farm
        .draft(now(), deps, common::harvest("AFTER-REVOKE"))
        .sign(farm.key());
    let words = format!(
        "the key was revoked by a regulator (revocation {}): ",
        revoke.hash().short()
    );
    let (code, v) = node.submit(&late).await;
    assert_eq!(code, 422, "{v}");
    assert_eq!(v["outcome"], "rejected");
    let error = v["error"].as_str().unwrap();
    assert!(error.starts_with(&words), "{error}");
    match trusted {
        Some(n) => assert!(
            error.ends_with(&format!("records after its record #{n} are not accepted")),
            "{error}"
        ),
        None => assert!(
            error.ends_with("none of its records are accepted"),
            "{error}"
        ),
    }
    let body = serde_json::json!({ "records": [hex::encode(late.encode())] }).to_string();
    let (code, body) = http(addr, "POST", "/records", Some(body.as_bytes())).await;
    assert_eq!(code, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    let result = &v["results"][0];
    assert_eq!(result["outcome"], "rejected", "{v}");
    assert_eq!(result["hash"], late.hash().to_hex());
    assert!(result["error"].as_str().unwrap().starts_with(&words), "{v}");
    assert!(!node.has_record(&late.hash()).await);
    node.stop().await;
}
