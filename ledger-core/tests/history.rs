//! Whole histories: ingest order independence, reopening, bundles, audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::bundle;
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::store::{MemoryStore, SledStore};
use ledger_core::workload::{self, Shape};
use proptest::prelude::*;

const NOW: u64 = workload::T0 + 1_000_000_000;

fn fresh(genesis: &ledger_core::Genesis) -> Ledger<MemoryStore> {
    Ledger::create(MemoryStore::new(), genesis.clone(), LedgerConfig {
        pending_capacity: 100_000,
        ..LedgerConfig::default()
    })
    .unwrap()
}

#[test]
fn generated_history_is_fully_accepted_in_order() {
    let w = workload::generate(Shape::for_records(1_200));
    let mut l = fresh(&w.genesis);
    let report = l.ingest(w.records.clone(), NOW).unwrap();
    for (h, o) in &report.outcomes {
        assert_eq!(*o, Outcome::Accepted, "record {h}");
    }
    assert_eq!(l.len(), w.records.len() as u64);
    assert_eq!(l.pending_len(), 0);
}
