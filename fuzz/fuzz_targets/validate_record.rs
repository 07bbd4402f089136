//! Arbitrary bytes offered to a ledger holding a small valid history: never
//! a panic, and a record that is not accepted leaves the state unchanged.
#![no_main]

use std::sync::OnceLock;

use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::store::MemoryStore;
use ledger_core::workload::{self, Shape, Workload};
use libfuzzer_sys::fuzz_target;

fn history() -> &'static Workload {
    static W: OnceLock<Workload> = OnceLock::new();
    W.get_or_init(|| workload::generate(Shape::for_records(200)))
}

fuzz_target!(|data: &[u8]| {
    let w = history();
    let Ok(mut ledger) = Ledger::create(MemoryStore::new(), w.genesis.clone(), LedgerConfig::default()) else {
        return;
    };
    let now = workload::T0 + 86_400_000;
    if ledger.ingest(w.records.clone(), now).is_err() {
        return;
    }
    let before = ledger.state_digest().ok();
    if let Ok(results) = ledger.ingest_bytes(&[data.to_vec()], now) {
        let stored = matches!(results.first(), Some(Ok((_, Outcome::Accepted))));
        if !stored {
            assert_eq!(ledger.state_digest().ok(), before);
        }
    }
});
