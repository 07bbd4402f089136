//! The node's network messages under arbitrary input: sync requests and
//! responses (CBOR, decoded by the same library libp2p's codec uses) and
//! gossiped records never panic a decoder, and what decodes round-trips.
//! The cargo-fuzz target `sync_message` feeds the same entry point.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::SignedRecord;
use proptest::prelude::*;
use terroir_node::protocol::{Head, SyncRequest, SyncResponse};

fn decode_request(bytes: &[u8]) -> Option<SyncRequest> {
    cbor4ii::serde::from_slice(bytes).ok()
}

fn decode_response(bytes: &[u8]) -> Option<SyncResponse> {
    cbor4ii::serde::from_slice(bytes).ok()
}

fn encode<T: serde::Serialize>(v: &T) -> Vec<u8> {
    cbor4ii::serde::to_vec(Vec::new(), v).unwrap()
}

fn request() -> impl Strategy<Value = SyncRequest> {
    prop_oneof![
        Just(SyncRequest::Heads),
        (any::<[u8; 32]>(), any::<u64>())
            .prop_map(|(author, from_seq)| SyncRequest::Chain { author, from_seq }),
        proptest::collection::vec(any::<[u8; 32]>(), 0..8)
            .prop_map(|hashes| SyncRequest::Records { hashes }),
    ]
}

fn response() -> impl Strategy<Value = SyncResponse> {
    prop_oneof![
        proptest::collection::vec(
            (
                any::<[u8; 32]>(),
                any::<u64>(),
                any::<[u8; 32]>(),
                any::<u64>()
            ),
            0..4
        )
        .prop_map(|hs| SyncResponse::Heads {
            heads: hs
                .into_iter()
                .map(|(author, seq, hash, count)| Head {
                    author,
                    seq,
                    hash,
                    count
                })
                .collect()
        }),
        (
            proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(rs, next_seq)| SyncResponse::Records {
                records: rs.into_iter().map(serde_bytes::ByteBuf::from).collect(),
                next_seq
            }),
        ".{0,40}".prop_map(|reason| SyncResponse::Refused { reason }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic_a_message_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = decode_request(&bytes);
        if let Some(SyncResponse::Records { records, .. }) = decode_response(&bytes) {
            for r in records {
                let _ = SignedRecord::decode(&r);
            }
        }
        let _ = SignedRecord::decode(&bytes);
    }

    #[test]
    fn requests_round_trip(req in request()) {
        prop_assert_eq!(decode_request(&encode(&req)), Some(req));
    }

    #[test]
    fn responses_round_trip(resp in response()) {
        prop_assert_eq!(decode_response(&encode(&resp)), Some(resp));
    }

    /// A valid message with bytes flipped decodes to something or nothing,
    /// never a panic.
    #[test]
    fn mutated_messages_never_panic(resp in response(), flips in proptest::collection::vec((any::<usize>(), 1u8..), 1..6)) {
        let mut bytes = encode(&resp);
        if bytes.is_empty() {
            return Ok(());
        }
        for (pos, mask) in flips {
            let n = bytes.len();
            bytes[pos % n] ^= mask;
        }
        let _ = decode_response(&bytes);
        let _ = decode_request(&bytes);
    }
}

#[test]
fn a_forged_huge_length_is_an_error_not_an_allocation() {
    // CBOR array header claiming 2^62 heads, then nothing.
    let mut bytes = encode(&SyncResponse::Heads { heads: vec![] });
    let pos = bytes
        .iter()
        .position(|b| *b == 0x80)
        .expect("empty array header");
    bytes.truncate(pos);
    bytes.extend_from_slice(&[0x9b, 0x40, 0, 0, 0, 0, 0, 0, 0]);
    assert!(decode_response(&bytes).is_none());
}
