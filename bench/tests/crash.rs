//! Crash safety: a writer is killed with SIGKILL at random points during
//! ingest, again and again; every record it acknowledged must survive,
//! nothing may be half-written, and the ledger must pass its audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ledger_core::audit;
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::{MemoryStore, SledStore};
use ledger_core::workload::{self, Shape};

const RECORDS: usize = 3_000;
const BATCH: usize = 100;
const KILLS: usize = 20;

fn writer(dir: &std::path::Path) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_terroir-bench"))
        .args([
            "writer",
            "--records",
            &RECORDS.to_string(),
            "--batch",
            &BATCH.to_string(),
            "--dir",
        ])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

/// Reopens the ledger a killed writer left: it opens, holds every record
/// the writer acknowledged, and passes its audit.
fn survived(dir: &std::path::Path, acked: &[ledger_core::SignedRecord], now: u64, round: usize) {
    let ledger = Ledger::open(SledStore::open(dir).unwrap(), LedgerConfig::default())
        .unwrap_or_else(|e| panic!("round {round}: reopening after a kill: {e}"));
    for r in acked {
        assert!(
            ledger.record(&r.hash()).unwrap().is_some(),
            "round {round}: acknowledged record {} lost",
            r.hash()
        );
    }
    assert!(ledger.len() >= acked.len() as u64);
    let report = audit::audit(&ledger, MemoryStore::new(), now, |_| {}).unwrap();
    assert!(report.passed(), "round {round}: {:?}", report.problems);
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload::generate(Shape::for_records(RECORDS));
    let now = workload::T0 + 10 * 365 * 86_400_000;
    let deadline = Instant::now() + Duration::from_secs(300);
    // Deterministic kill points: after 0..=3 further acknowledgements.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut acked_total = 0usize;
    for round in 0..KILLS {
        assert!(
            Instant::now() < deadline,
            "crash test ran past its deadline"
        );
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let extra = (state % 4) as usize;
        let mut child = writer(dir.path());
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut seen = 0usize;
        let mut acked = 0usize;
        // Each run re-submits from the start; duplicates are acknowledged
        // too, so wait for a few acknowledgements past what survived.
        let target = (acked_total / BATCH + 1 + extra).min(RECORDS / BATCH - 1);
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked = n.parse().unwrap();
                seen += 1;
                if seen >= target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        acked_total = acked_total.max(acked);

        survived(dir.path(), &w.records[..acked], now, round);
    }
    assert!(acked_total > 0);

    // A last run to completion stores everything exactly once.
    let out = Command::new(env!("CARGO_BIN_EXE_terroir-bench"))
        .args(["writer", "--records", &RECORDS.to_string(), "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ledger = Ledger::open(
        SledStore::open(dir.path()).unwrap(),
        LedgerConfig::default(),
    )
    .unwrap();
    assert_eq!(ledger.len(), w.records.len() as u64);
}

/// Kills the writer in the middle of a fold, at a different write each
/// round (journal chunks, folded keys, the cursor), 20 times: the fold is
/// finished or redone on opening, every acknowledged record is there and
/// the audit passes.
#[test]
fn a_kill_in_the_middle_of_a_fold_loses_nothing() {
    let w = workload::generate(Shape::for_records(RECORDS));
    let now = workload::T0 + 10 * 365 * 86_400_000;
    let deadline = Instant::now() + Duration::from_secs(300);
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut frozen_at = std::collections::BTreeSet::new();
    for round in 0..KILLS {
        assert!(
            Instant::now() < deadline,
            "crash test ran past its deadline"
        );
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // A fresh ledger each round: with folds on their own thread the
        // writer acknowledges a varying number of records before it
        // freezes, and a shared ledger could run out of records to fold.
        let dir = tempfile::tempdir().unwrap();
        // A fold of 100 records stores its journal, writes several hundred
        // keys and the cursor, and drops the journal; even rounds freeze
        // around the journal (1: storing it, 2..: the first fold writes).
        let at = 1 + if round % 2 == 0 {
            state % 4
        } else {
            state % 600
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_terroir-bench"))
            .args(["writer", "--records", &RECORDS.to_string()])
            .args(["--batch", &BATCH.to_string(), "--fold-records", "100"])
            .args(["--freeze-in-fold", &at.to_string(), "--dir"])
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut acked = 0usize;
        let mut frozen = None;
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some(n) = line.strip_prefix("ack ") {
                acked = n.parse().unwrap();
            } else if let Some(n) = line.strip_prefix("frozen ") {
                frozen = Some(n.parse::<u64>().unwrap());
                break;
            }
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Every counted write is a fold's: the kill came with a fold under
        // way.
        assert_eq!(
            frozen,
            Some(at),
            "round {round}: the writer never froze in a fold"
        );
        frozen_at.insert(at);

        survived(dir.path(), &w.records[..acked], now, round);
    }
    assert!(
        frozen_at.len() >= 10,
        "kills landed at too few fold writes: {frozen_at:?}"
    );
}
