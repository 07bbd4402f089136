//! Mutated valid records offered to a ledger holding the history before
//! them: never a panic, nothing but an original record is ever accepted,
//! and a record that is not accepted leaves the state digest unchanged.
//!
//! Input: the first byte picks one of the last records of a generated
//! history; the rest is XORed over its canonical bytes (a longer input also
//! appends bytes, a zero byte at the end truncates).
#![no_main]

use std::sync::{Mutex, OnceLock};

use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::store::MemoryStore;
use ledger_core::workload::{self, Shape, Workload};
use libfuzzer_sys::fuzz_target;

const HISTORY: usize = 200;
const HELD_BACK: usize = 16;

fn shared() -> &'static Mutex<(Workload, Ledger<MemoryStore>)> {
    static S: OnceLock<Mutex<(Workload, Ledger<MemoryStore>)>> = OnceLock::new();
    S.get_or_init(|| {
        let w = workload::generate(Shape::for_records(HISTORY));
        let mut l = Ledger::create(MemoryStore::new(), w.genesis.clone(), LedgerConfig::default())
            .unwrap_or_else(|e| panic!("creating the fuzz ledger: {e}"));
        let keep = w.records.len() - HELD_BACK;
        l.ingest(w.records[..keep].to_vec(), now())
            .unwrap_or_else(|e| panic!("seeding the fuzz ledger: {e}"));
        Mutex::new((w, l))
    })
}

fn now() -> u64 {
    workload::T0 + 86_400_000
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, mask)) = data.split_first() else {
        return;
    };
    let Ok(mut guard) = shared().lock() else {
        return;
    };
    let (w, ledger) = &mut *guard;
    let index = w.records.len() - HELD_BACK + usize::from(pick) % HELD_BACK;
    let original = &w.records[index];
    let mut bytes = original.encode();
    for (i, m) in mask.iter().enumerate() {
        match bytes.get_mut(i) {
            Some(b) => *b ^= m,
            None => bytes.push(*m),
        }
    }
    if mask.last() == Some(&0) && mask.len() < bytes.len() {
        bytes.truncate(mask.len());
    }
    let before = ledger.state_digest().ok();
    let Ok(results) = ledger.ingest_bytes(&[bytes.clone()], now()) else {
        return;
    };
    match results.first() {
        Some(Ok((_, Outcome::Accepted))) => {
            assert!(
                w.records.iter().any(|r| r.encode() == bytes),
                "a mutated record was accepted"
            );
        }
        _ => assert_eq!(ledger.state_digest().ok(), before),
    }
});
