//! Crash recovery of the store layout: the log, the tail folded behind it
//! and the fold journal.
//!
//! A store records every write the ledger makes. A crash at write `k`
//! leaves exactly the first `k` writes (a flush makes everything before
//! it durable and writes persist in order; sled promises no more). For
//! crash points all through a history with out-of-order arrivals, the
//! pending pool and several folds, the reopened ledger must hold every
//! record acknowledged before the crash, pass its audit, have the state
//! of a ledger that simply took in the records it holds, and converge
//! with everyone else once it takes in the rest.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use ledger_core::audit;
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::store::{MemoryStore, Store, Watched, Write};
use ledger_core::workload::{self, Shape};
use ledger_core::{Hash, SignedRecord};

const NOW: u64 = workload::T0 + 1_000_000_000;

#[derive(Debug, Clone)]
enum Op {
    Put(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    /// The journal stored (`Some`) or removed; durable at once.
    Journal(Option<Vec<u8>>),
}

/// A memory store that remembers every write, in order.
#[derive(Clone)]
struct Recording {
    store: Watched<MemoryStore>,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recording {
    fn new() -> Self {
        Self::on(MemoryStore::new())
    }

    /// Records the writes made to `inner` from now on.
    fn on(inner: MemoryStore) -> Self {
        let ops: Arc<Mutex<Vec<Op>>> = Arc::default();
        let log = Arc::clone(&ops);
        let watch = move |w: Write<'_>| {
            log.lock().unwrap().push(match w {
                Write::Put(k, v) => Op::Put(k.to_vec(), v.to_vec()),
                Write::Delete(k) => Op::Delete(k.to_vec()),
                Write::Journal(j) => Op::Journal(j.map(<[u8]>::to_vec)),
            })
        };
        Recording {
            store: Watched::new(inner, Arc::new(watch)),
            ops,
        }
    }

    fn len(&self) -> usize {
        self.ops.lock().unwrap().len()
    }

    /// The store a crash after the first `k` writes leaves.
    fn crashed_at(&self, k: usize) -> MemoryStore {
        let store = MemoryStore::new();
        for op in &self.ops.lock().unwrap()[..k] {
            match op {
                Op::Put(key, v) => store.put(key, v).unwrap(),
                Op::Delete(key) => store.delete(key).unwrap(),
                Op::Journal(Some(j)) => store.put_journal(j).unwrap(),
                Op::Journal(None) => store.clear_journal().unwrap(),
            }
        }
        store
    }
}

fn config() -> LedgerConfig {
    LedgerConfig {
        pending_capacity: 100_000,
        // Records wait for their authors' enrollments in any order here.
        stranger_capacity: 100_000,
        stranger_bytes: u64::MAX,
        // Fold often, so crashes land in and around many folds.
        fold_records: 40,
        ..LedgerConfig::default()
    }
}

/// Batches of the workload in an order that makes records wait: every
/// three consecutive batches arrive newest first.
fn arrival_order(records: &[SignedRecord]) -> Vec<Vec<SignedRecord>> {
    let batches: Vec<Vec<SignedRecord>> = records.chunks(23).map(<[_]>::to_vec).collect();
    batches
        .chunks(3)
        .flat_map(|group| group.iter().rev().cloned())
        .collect()
}

fn digest_of_records(genesis: &ledger_core::Genesis, records: Vec<SignedRecord>) -> Hash {
    let mut l = Ledger::create(MemoryStore::new(), genesis.clone(), config()).unwrap();
    l.ingest(records, NOW).unwrap();
    assert_eq!(l.pending_len(), 0);
    l.state_digest().unwrap()
}

#[test]
fn a_crash_at_any_write_loses_nothing_acknowledged_and_recovers_whole() {
    let w = workload::generate(Shape::for_records(400));
    let full_digest = digest_of_records(&w.genesis, w.records.clone());

    let store = Recording::new();
    let mut ledger = Ledger::create(store.store.clone(), w.genesis.clone(), config()).unwrap();
    // (writes made when the call returned, records acknowledged by then,
    // records answered "pending" and not yet taken by then)
    type Acked = (usize, Vec<Hash>, BTreeSet<Hash>);
    let mut acked: Vec<Acked> = vec![(store.len(), Vec::new(), BTreeSet::new())];
    let mut so_far = Vec::new();
    let mut waiting = BTreeSet::new();
    let mut parked = 0;
    for batch in arrival_order(&w.records) {
        let report = ledger.ingest(batch, NOW).unwrap();
        for (h, o) in report.outcomes.iter().chain(&report.released) {
            assert!(
                matches!(o, Outcome::Accepted | Outcome::Pending(_)),
                "{h}: {o:?}"
            );
            if *o == Outcome::Accepted {
                so_far.push(*h);
                waiting.remove(h);
            } else if waiting.insert(*h) {
                parked += 1;
            }
        }
        acked.push((store.len(), so_far.clone(), waiting.clone()));
    }
    assert!(parked > 50, "only {parked} records waited");
    assert_eq!(ledger.pending_len(), 0);
    assert_eq!(ledger.state_digest().unwrap(), full_digest);
    let folds = ledger.write_stats().folds;
    assert!(folds >= 5, "only {folds} folds");
    // The crash images are taken from the writes so far: dropping the
    // ledger would fold its tail.
    let total = store.len();
    // Every write of the first folds, then a spread over the rest.
    let created = acked[0].0;
    let mut points: Vec<usize> = (created..total.min(1_500)).step_by(7).collect();
    points.extend((created..total).step_by(total / 60 + 1));
    points.push(total);
    for k in points {
        let crashed = store.crashed_at(k);
        let mut l = Ledger::open(crashed, config())
            .unwrap_or_else(|e| panic!("crash at write {k}: reopening failed: {e}"));
        let (must_hold, must_wait) = acked
            .iter()
            .rev()
            .find(|(at, _, _)| *at <= k)
            .map(|(_, h, p)| (h.as_slice(), p.clone()))
            .unwrap_or_default();
        for h in must_hold {
            assert!(
                ledger_core::graph::Graph::record(&l, h).unwrap().is_some(),
                "crash at write {k}: acknowledged record {h} is gone"
            );
        }
        // A record answered "pending" still waits (or was taken since).
        for h in &must_wait {
            assert!(
                l.is_pending(h).unwrap()
                    || ledger_core::graph::Graph::record(&l, h).unwrap().is_some(),
                "crash at write {k}: pending record {h} is lost"
            );
        }
        let report = audit::audit(&l, MemoryStore::new(), NOW, |_| {}).unwrap();
        assert!(report.passed(), "crash at write {k}: {:?}", report.problems);

        let mut held = Vec::new();
        l.for_each_record(|_, bytes| {
            held.push(SignedRecord::decode(bytes).unwrap());
            true
        })
        .unwrap();
        assert_eq!(held.len() as u64, l.len(), "crash at write {k}");
        assert_eq!(
            l.state_digest().unwrap(),
            digest_of_records(&w.genesis, held),
            "crash at write {k}: state differs from a ledger holding the same records"
        );
        assert_eq!(
            l.chain_count().unwrap(),
            l.heads().unwrap().len() as u64,
            "crash at write {k}: the chain count"
        );

        // Taking in everything again converges with everyone else.
        for batch in arrival_order(&w.records) {
            l.ingest(batch, NOW).unwrap();
        }
        assert_eq!(l.pending_len(), 0, "crash at write {k}");
        assert_eq!(l.state_digest().unwrap(), full_digest, "crash at write {k}");
    }
}

#[test]
fn opening_derives_the_unfolded_tail_and_a_closed_ledger_has_none() {
    let w = workload::generate(Shape::for_records(400));
    let store = Recording::new();
    let config = LedgerConfig {
        fold_records: 10_000,
        ..config()
    };
    let mut ledger = Ledger::create(store.store.clone(), w.genesis.clone(), config).unwrap();
    ledger.ingest(w.records.clone(), NOW).unwrap();
    let digest = ledger.state_digest().unwrap();
    assert_eq!(ledger.write_stats().folds, 0);
    assert_eq!(ledger.write_stats().log_keys, w.records.len() as u64);

    // A crash now: nothing was folded, so opening derives it all again
    // from the log, writing nothing.
    let logged = store.len();
    let crashed = store.crashed_at(logged);
    drop(ledger);
    let store = Recording::on(crashed);
    let reopened = Ledger::open(store.store.clone(), config).unwrap();
    assert_eq!(store.len(), 0);
    assert_eq!(reopened.len(), w.records.len() as u64);
    assert_eq!(reopened.state_digest().unwrap(), digest);

    // Closing folds it; opening again finds nothing to derive.
    let closed = reopened.close().unwrap();
    assert!(store.len() > 0, "closing folds the tail");
    let at_close = store.len();
    let again = Ledger::open(closed, config).unwrap();
    assert_eq!(again.state_digest().unwrap(), digest);
    assert_eq!(
        store.len(),
        at_close,
        "opening a closed ledger writes nothing"
    );
}
