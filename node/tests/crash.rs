//! Crash safety of the daemon: `terroird` is killed with SIGKILL while
//! records are being submitted to it, 20 times, and restarted each time.
//! Every record whose acceptance the node acknowledged (HTTP 200,
//! "accepted") must be stored, nothing may be half-written, and the stored
//! ledger must pass a full audit after every kill.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{http, init_data_dir, loopback_config, run_binary, workload, write_genesis};
use ledger_core::audit;
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::{MemoryStore, SledStore};
use ledger_core::SignedRecord;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");
const KILLS: usize = 20;
const BATCH: usize = 40;

fn body(records: &[SignedRecord]) -> Vec<u8> {
    let hexes: Vec<String> = records.iter().map(|r| hex::encode(r.encode())).collect();
    serde_json::json!({ "records": hexes })
        .to_string()
        .into_bytes()
}

/// Whether the node answered 200 with every record accepted or duplicate.
fn acknowledged(code: u16, body: &[u8]) -> bool {
    if code != 200 {
        return false;
    }
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return false;
    };
    v["results"].as_array().is_some_and(|rs| {
        rs.iter()
            .all(|r| matches!(r["outcome"].as_str(), Some("accepted" | "duplicate")))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(3_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    init_data_dir(BIN, &gpath, &data);
    let (cfg, addr) = loopback_config(&data);
    let now = ledger_core::workload::T0 + 10 * 365 * 86_400_000;

    // Records [0, acked) have been acknowledged by some run of the node.
    let mut acked = 0usize;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for round in 0..KILLS {
        let (mut child, _) = run_binary(BIN, &cfg, addr).await;
        // Acknowledge 0..=2 more batches, then kill while the next one is
        // on its way in.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let more = (state % 3) as usize;
        for _ in 0..more {
            let end = (acked + BATCH).min(w.records.len());
            let (code, resp) = http(
                addr,
                "POST",
                "/records",
                Some(&body(&w.records[acked..end])),
            )
            .await;
            assert!(acknowledged(code, &resp), "round {round}: {code}");
            acked = end;
        }
        let end = (acked + BATCH).min(w.records.len());
        let in_flight = body(&w.records[acked..end]);
        let post = tokio::spawn(async move {
            // The connection may die with the node: that is expected.
            let s = tokio::net::TcpStream::connect(addr).await;
            if let Ok(mut s) = s {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let head = format!(
                    "POST /records HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    in_flight.len()
                );
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(&in_flight).await;
                let mut raw = Vec::new();
                let _ = s.read_to_end(&mut raw).await;
                raw
            } else {
                Vec::new()
            }
        });
        tokio::task::yield_now().await;
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let raw = post.await.unwrap();
        // If the answer made it out before the kill, it was acknowledged.
        if raw.starts_with(b"HTTP/1.1 200") {
            if let Some(split) = raw.windows(4).position(|x| x == b"\r\n\r\n") {
                if acknowledged(200, &raw[split + 4..]) {
                    acked = end;
                }
            }
        }

        // Every acknowledged record is there, and the ledger is whole.
        let store = SledStore::open(&data.join("ledger")).unwrap();
        let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
        for r in &w.records[..acked] {
            assert!(
                ledger.record(&r.hash()).unwrap().is_some(),
                "round {round}: acknowledged record {} lost",
                r.hash()
            );
        }
        let report = audit::audit(&ledger, MemoryStore::new(), now, |_| {}).unwrap();
        assert!(report.passed(), "round {round}: {:?}", report.problems);
        assert!(ledger.len() >= acked as u64, "round {round}");
        if acked == w.records.len() {
            break;
        }
    }
    eprintln!("acknowledged {acked} records over {KILLS} kills");
    assert!(acked > 0, "nothing was ever acknowledged");
}
