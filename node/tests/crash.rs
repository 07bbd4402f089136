//! Crash safety of the daemon: `terroird` is killed with SIGKILL while a
//! submission is in flight, 20 times, and restarted each time. "In
//! flight" is checked from outside, both ways: before the kill, the node's
//! `terroir_submissions_received_total` shows it has read the submission
//! in full; after it, the submitting connection has received no byte of
//! an answer. After every kill, every record the node acknowledged (HTTP
//! 200, "accepted") must be stored, nothing may be half-written (the
//! ledger passes a full audit), and the restarted node must serve exactly
//! what is stored.
//!
//! The same, 20 times in the middle of a catch-up by a peer's log
//! ([`catch_up_survives_sigkill`]): every record the node said it stored
//! is there, its log-sync cursor on disk is never ahead of its ledger, and
//! each restart resumes from that cursor instead of the log's beginning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::time::Instant;

use std::collections::HashMap;
use std::time::Duration;

use common::{
    http, init_data_dir, loopback_config, now, run_binary, workload, write_genesis, Running,
    TestNode, DEADLINE,
};
use ledger_core::audit;
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::{MemoryStore, SledStore};
use ledger_core::{Hash, SignedRecord};
use serde_json::Value;
use terroir_node::log_cursors::CursorFile;
use terroir_node::protocol::MAX_RECORDS_PER_RESPONSE;
use terroir_node::Config;
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

/// Kills that must land in the middle of a catch-up.
const CATCH_UP_KILLS: usize = 20;
/// Records the peer holds: 30 log pages of 2,000. A killed run stores at
/// least one page (the kill waits for it) and usually only one, so 20
/// kills leave about 10 pages for the last run.
const CATCH_UP_RECORDS: usize = 60_000;
/// How long a poll of the catching-up node waits before the next one.
const POLL: Duration = Duration::from_millis(5);

/// Every counter and gauge of the node's `/metrics`.
async fn metrics(addr: SocketAddr) -> HashMap<String, u64> {
    let (code, body) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(code, 200);
    String::from_utf8(body)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name, v) = l.split_once(' ')?;
            Some((name.to_owned(), v.trim().parse().ok()?))
        })
        .collect()
}

/// Node B catches up 60,000 records from node A by A's log and is killed
/// with SIGKILL 20 times in the middle of it: in turn once it has stored a
/// page since its start (the kill races the write of that page's cursor),
/// and once the next page has arrived and is being ingested (B's
/// `terroir_sync_records_total` runs ahead of its
/// `terroir_sync_log_records_total`). After each kill B's ledger is
/// opened directly: it holds every record B reported stored, is exactly a
/// prefix of A's log (in A's log order), passes a full audit and holds
/// fewer records than A; B's cursor for A on disk is never past what its
/// ledger holds. Each restart must resume by the log (a log page stored,
/// at most one page of duplicates): without kept cursors, B would start at
/// A's log's beginning, or fetch by chains once it holds more than it
/// lacks. The last run catches up to A's records and state digest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catch_up_survives_sigkill() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(CATCH_UP_RECORDS);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let audit_now = ledger_core::workload::T0 + 10 * 365 * 86_400_000;

    // A's ledger is filled directly; its log, in order, is what B holds a
    // prefix of.
    let seed = tmp.path().join("a");
    terroir_node::init(&seed, &gpath).unwrap();
    let (total, digest, log) = {
        let store = SledStore::open(&seed.join("ledger")).unwrap();
        let mut l = Ledger::open(store, LedgerConfig::default()).unwrap();
        for chunk in w.records.chunks(MAX_RECORDS_PER_RESPONSE) {
            l.ingest(chunk.to_vec(), now()).unwrap();
        }
        let r = l.readers().latest();
        let mut log: Vec<Hash> = Vec::new();
        loop {
            let page = r.log_page(log.len() as u64, 4_096).unwrap();
            if page.is_empty() {
                break;
            }
            for (seq, bytes) in page {
                assert_eq!(
                    seq,
                    log.len() as u64 + 1,
                    "log seqs run from 1 without a gap"
                );
                log.push(SignedRecord::decode(&bytes).unwrap().hash());
            }
        }
        (l.len(), l.state_digest().unwrap().to_hex(), log)
    };
    assert_eq!(log.len() as u64, total);
    let a = TestNode::start(&seed, &gpath, &[]).await;
    let a_peer = a.node.as_ref().unwrap().peer_id;
    eprintln!("A holds {total} records after {:.1?}", started.elapsed());

    let data = tmp.path().join("b");
    init_data_dir(BIN, &gpath, &data);
    let (cfg, addr) = loopback_config(&data);
    let mut config = Config::load(&cfg).unwrap();
    config.bootstrap = vec![a.addr.to_string()];
    config.limits.sync_interval_ms = 500;
    std::fs::write(&cfg, config.to_toml().unwrap()).unwrap();
    let cursors = CursorFile::in_dir(&data);

    // Records B's store holds: those the last kill left.
    let mut held: Option<u64> = None;
    let mut lacked = 0;
    // `terroir_sync_records_total` of every killed run, at its last poll.
    let mut received = 0;
    // What restarting at the beginning of A's log would fetch again.
    let mut from_zero = 0;
    let (mut cursor_behind, mut cut_ingests) = (0, 0);
    for kill in 1..=CATCH_UP_KILLS {
        let (child, status) = run_binary(BIN, &cfg, addr).await;
        let mut b = Running(child);
        let at_start = status["records"].as_u64().unwrap();
        match held {
            Some(n) => assert_eq!(at_start, n, "kill {kill}: B serves what it stored"),
            None => lacked = total - at_start,
        }
        from_zero += at_start;
        // Odd kills once a page is stored, even ones while the next is
        // being ingested.
        let mid_ingest = kill % 2 == 0;
        let polled = Instant::now();
        let seen = loop {
            let m = metrics(addr).await;
            let stored = m["terroir_ledger_records"];
            assert!(
                stored < total,
                "kill {kill}: B caught up all {total} records before it could be killed"
            );
            let grew = stored > at_start && m["terroir_sync_log_pages_total"] >= 1;
            let ingesting = m["terroir_sync_records_total"] > m["terroir_sync_log_records_total"];
            if grew && (!mid_ingest || ingesting) {
                break m;
            }
            assert!(
                polled.elapsed() < DEADLINE,
                "kill {kill}: B stored no page of A's log in {DEADLINE:?} \
                 (it held {at_start}, now {stored})"
            );
            tokio::time::sleep(POLL).await;
        };
        b.0.kill().unwrap(); // SIGKILL
        b.0.wait().unwrap();
        let reported = seen["terroir_ledger_records"];
        received += seen["terroir_sync_records_total"];
        let dup = seen["terroir_sync_log_records_duplicate_total"];
        assert!(
            dup <= MAX_RECORDS_PER_RESPONSE as u64,
            "kill {kill}: {dup} duplicates after restarting with {at_start} records: \
             the catch-up did not resume from its cursor"
        );
        assert_eq!(
            seen["terroir_sync_log_records_pending_total"], 0,
            "kill {kill}"
        );

        // Every record B reported is there, B's store is a prefix of A's
        // log, the ledger is whole, and the kill was mid catch-up.
        let store = SledStore::open(&data.join("ledger")).unwrap();
        let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
        let stored = ledger.len();
        assert!(
            stored >= reported,
            "kill {kill}: B reported {reported} records stored, holds {stored} after the kill"
        );
        assert!(stored < total, "kill {kill}: came after the catch-up ended");
        for (i, h) in log[..stored as usize].iter().enumerate() {
            assert!(
                ledger.record(h).unwrap().is_some(),
                "kill {kill}: record {} of A's log ({h}) missing; B holds {stored}, \
                 reported {reported}",
                i + 1
            );
        }
        let report = audit::audit(&ledger, MemoryStore::new(), audit_now, |_| {}).unwrap();
        assert!(report.passed(), "kill {kill}: {:?}", report.problems);
        drop(ledger);
        // The cursor on disk covers only stored records: A's log seqs run
        // from 1 without a gap, so cursor c names A's first c records.
        // (None yet when the first kill beat the first write.)
        let cursor = cursors.load().get(&a_peer).copied().unwrap_or(0);
        assert!(
            cursor <= stored,
            "kill {kill}: cursor {cursor} on disk is past the {stored} records stored"
        );
        cursor_behind += u64::from(cursor < stored);
        cut_ingests += u64::from(mid_ingest && stored == reported);
        eprintln!(
            "kill {kill}: B held {at_start}, reported {reported}, holds {stored}, cursor \
             {cursor}, {dup} duplicates, after {:.1?}",
            started.elapsed()
        );
        held = Some(stored);
    }

    // The last run catches up.
    let (child, status) = run_binary(BIN, &cfg, addr).await;
    let _b = Running(child);
    assert_eq!(status["records"].as_u64(), held, "B serves what it stored");
    // Caught up, and the catch-up knows it: the log sync counts as
    // finished once A answers that nothing follows, which comes a request
    // after the last page is stored, so both are waited for.
    let polled = Instant::now();
    let m = loop {
        let (code, body) = http(addr, "GET", "/status", None).await;
        assert_eq!(code, 200);
        let s: Value = serde_json::from_slice(&body).unwrap();
        let caught_up =
            s["records"].as_u64() == Some(total) && s["state_digest"].as_str() == Some(&digest);
        let m = metrics(addr).await;
        if caught_up && m["terroir_sync_logs_completed_total"] >= 1 {
            break m;
        }
        assert!(
            polled.elapsed() < DEADLINE,
            "B did not catch up after the last restart ({s}), or never finished A's log \
             (logs completed: {})",
            m["terroir_sync_logs_completed_total"]
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(m["terroir_sync_log_records_duplicate_total"] <= MAX_RECORDS_PER_RESPONSE as u64);
    received += m["terroir_sync_records_total"];
    // Each record B lacked comes once; a kill costs at most two pages
    // more: the page stored before the kill whose cursor was not on disk
    // yet (fetched again, all duplicates) and the page the kill cut short
    // in its ingest (received, never stored).
    let page = MAX_RECORDS_PER_RESPONSE as u64;
    let bound = lacked + CATCH_UP_KILLS as u64 * 2 * page;
    eprintln!(
        "caught up after {} kills in {:.1?}: {received} records received for {lacked} lacked \
         (bound {bound}; from the log's beginning at each restart: {}); the cursor on disk \
         lagged the ledger after {cursor_behind} kills, {cut_ingests} kills cut an ingest",
        CATCH_UP_KILLS,
        started.elapsed(),
        lacked + from_zero,
    );
    assert!(
        cursor_behind < CATCH_UP_KILLS as u64,
        "the cursor on disk lagged the ledger after every kill: is it written at all?"
    );
    assert!(
        bound < lacked + from_zero,
        "the bound must tell a resumed catch-up from one restarted at 0"
    );
    assert!(
        received <= bound,
        "B received {received} records over all runs for the {lacked} it lacked (bound {bound})"
    );
}
