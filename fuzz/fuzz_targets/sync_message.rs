//! Arbitrary bytes through the node's sync-message decoding (CBOR, as
//! libp2p's request-response codec decodes it) and the records a response
//! carries: never a panic, and what decodes re-encodes and decodes the same.
#![no_main]

use ledger_core::SignedRecord;
use libfuzzer_sys::fuzz_target;
use terroir_node::protocol::{SyncRequest, SyncResponse};

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = cbor4ii::serde::from_slice::<SyncRequest>(data) {
        let again = cbor4ii::serde::to_vec(Vec::new(), &req).unwrap_or_default();
        assert_eq!(cbor4ii::serde::from_slice::<SyncRequest>(&again).ok(), Some(req));
    }
    if let Ok(resp) = cbor4ii::serde::from_slice::<SyncResponse>(data) {
        if let SyncResponse::Records { records, .. } = &resp {
            for r in records {
                let _ = SignedRecord::decode(r);
            }
        }
        let again = cbor4ii::serde::to_vec(Vec::new(), &resp).unwrap_or_default();
        assert_eq!(cbor4ii::serde::from_slice::<SyncResponse>(&again).ok(), Some(resp));
    }
});
