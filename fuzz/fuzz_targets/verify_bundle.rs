//! Arbitrary bytes through offline bundle verification: never a panic, and
//! garbage never verifies.
#![no_main]

use ledger_core::{bundle, Hash};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let v = bundle::verify(data, &Hash::of(b"fuzz network"));
    assert!(!v.verified());
});
