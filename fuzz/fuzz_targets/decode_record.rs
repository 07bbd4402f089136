//! Arbitrary bytes through the record decoder: never a panic, and whatever
//! decodes re-encodes to exactly the input.
#![no_main]

use ledger_core::SignedRecord;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = SignedRecord::decode(data) {
        assert_eq!(r.encode(), data);
    }
});
