//! Crash safety of the daemon: `terroird` is killed with SIGKILL while a
//! submission is in flight, 20 times, and restarted each time. "In
//! flight" is checked from outside, both ways: before the kill, the node's
//! `terroir_submissions_received_total` shows it has read the submission
//! in full; after it, the submitting connection has received no byte of
//! an answer. After every kill, every record the node acknowledged (HTTP
//! 200, "accepted") must be stored, nothing may be half-written (the
//! ledger passes a full audit), and the restarted node must serve exactly
//! what is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use common::{
    http, init_data_dir, loopback_config, run_binary, workload, write_genesis, Running, DEADLINE,
};
use ledger_core::audit;
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::{MemoryStore, SledStore};
use ledger_core::SignedRecord;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BIN: &str = env!("CARGO_BIN_EXE_terroird");
/// Kills that must land while a submission is in flight.
const KILLS: usize = 20;
/// Kills tried before the test gives up. A kill does not count when the
/// node's answer got out first, which is rare: the answer needs the
/// ledger's work, the kill only one more `/metrics` round trip.
const ATTEMPTS: usize = 3 * KILLS;
/// Records in a submission acknowledged before the kill.
const BATCH: usize = 40;
/// Most records in the submission in flight at the kill. Sizes vary so
/// the kill lands in different steps: a few hundred records keep the node
/// decoding and validating for many times a `/metrics` round trip; a
/// handful are often written and flushed, the answer not yet out.
const MAX_IN_FLIGHT: usize = 400;
/// Most records in a small submission in flight (half of them are).
const SMALL_IN_FLIGHT: usize = 8;

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

/// The node's `terroir_submissions_received_total`.
async fn submissions_received(addr: SocketAddr) -> u64 {
    let (code, body) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(code, 200);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("terroir_submissions_received_total "))
        .and_then(|v| v.trim().parse().ok())
        .expect("terroir_submissions_received_total in /metrics")
}

/// POSTs `body` to `/records` and returns every byte that comes back
/// before the connection ends (none if the node dies first).
async fn post_raw(addr: SocketAddr, body: Vec<u8>) -> Vec<u8> {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /records HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    // The node is killed under this read: a reset is an answer of none.
    let _ = s.read_to_end(&mut raw).await;
    raw
}

/// A small deterministic generator (xorshift64), so every run asks the
/// same things.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_records_survive_sigkill_in_flight() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(4_000);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    init_data_dir(BIN, &gpath, &data);
    let (cfg, addr) = loopback_config(&data);
    let now = ledger_core::workload::T0 + 10 * 365 * 86_400_000;

    // Records [0, acked) have been acknowledged by some run of the node.
    let mut acked = 0usize;
    // Records stored when the node was last killed.
    let mut stored: Option<u64> = None;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut in_flight_kills = 0;
    // In-flight kills after which the in-flight records were all stored
    // (the kill came between the flush and the answer).
    let mut stored_unanswered = 0;
    let mut attempts = 0;
    while in_flight_kills < KILLS {
        assert!(
            attempts < ATTEMPTS,
            "only {in_flight_kills} of {attempts} kills landed while a submission was in flight"
        );
        attempts += 1;
        let round = attempts;
        let (child, status) = run_binary(BIN, &cfg, addr).await;
        let mut node = Running(child);
        // The restarted node serves what the last run stored.
        if let Some(n) = stored {
            assert_eq!(status["records"].as_u64(), Some(n), "round {round}");
        }

        // Acknowledge 0..=2 more batches.
        for _ in 0..rng.below(3) {
            let end = acked + BATCH;
            assert!(end <= w.records.len(), "the workload ran out");
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

        // Submit the next records and kill the node once it has read them.
        let most = if rng.below(2) == 0 {
            SMALL_IN_FLIGHT
        } else {
            MAX_IN_FLIGHT
        };
        let end = acked + 1 + rng.below(most);
        assert!(end <= w.records.len(), "the workload ran out");
        let received = submissions_received(addr).await;
        let post = tokio::spawn(post_raw(addr, body(&w.records[acked..end])));
        let start = Instant::now();
        // Each poll is a round trip to the node: no sleep in between, so
        // the kill follows the read as closely as the test can see it.
        while submissions_received(addr).await == received {
            assert!(
                start.elapsed() < DEADLINE,
                "round {round}: the node never read the submission"
            );
        }
        node.0.kill().unwrap(); // SIGKILL
        node.0.wait().unwrap();
        let raw = post.await.unwrap();
        if raw.is_empty() {
            in_flight_kills += 1;
        } else if let Some(split) = raw.windows(4).position(|x| x == b"\r\n\r\n") {
            // The answer got out first: this kill does not count, and what
            // it acknowledged must be there like the rest.
            if raw.starts_with(b"HTTP/1.1 200") && acknowledged(200, &raw[split + 4..]) {
                acked = end;
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
        let last = w.records[end - 1].hash();
        if raw.is_empty() && ledger.record(&last).unwrap().is_some() {
            stored_unanswered += 1;
        }
        stored = Some(ledger.len());
    }

    // The node starts on what the last kill left, and serves it.
    let (child, status) = run_binary(BIN, &cfg, addr).await;
    let _node = Running(child);
    assert_eq!(status["records"].as_u64(), stored);
    eprintln!(
        "{in_flight_kills} kills in flight out of {attempts} ({stored_unanswered} after the \
         flush, before the answer); {acked} records acknowledged"
    );
    assert!(acked > 0, "nothing was ever acknowledged");
}
