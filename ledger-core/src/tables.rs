//! The ledger's key layout on the ordered key-value store.
//!
//! One byte names the table; fixed-width parts come first so prefix scans
//! select exactly one author, lot or parent. Integers are big-endian so
//! keys sort numerically.

use crate::event::{EventKind, LotId};
use crate::hash::Hash;
use crate::key::PublicKey;

/// Genesis document bytes.
pub(crate) const GENESIS: &[u8] = b"g";
/// Number of stored records (u64 LE).
pub(crate) const RECORD_COUNT: &[u8] = b"mrecords";

pub(crate) const RECORD: u8 = b'r';
pub(crate) const CHAIN: u8 = b'a';
pub(crate) const KEY_STATE: u8 = b'k';
pub(crate) const BALANCE: u8 = b'b';
pub(crate) const RECEIVED: u8 = b'v';
pub(crate) const LOT: u8 = b'l';
pub(crate) const CHILD: u8 = b'd';
pub(crate) const FORK: u8 = b'f';
pub(crate) const KIND: u8 = b'e';
pub(crate) const PENDING: u8 = b'p';
pub(crate) const WAITING: u8 = b'w';
pub(crate) const FUTURE: u8 = b't';
pub(crate) const CODE: u8 = b'c';

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

/// `r` hash → signed record bytes.
pub(crate) fn record(h: &Hash) -> Vec<u8> {
    key(&[&[RECORD], &h.0])
}

/// `a` author seq → hash of the first record stored at that seq.
pub(crate) fn chain(author: &PublicKey, seq: u64) -> Vec<u8> {
    key(&[&[CHAIN], &author.0, &seq.to_be_bytes()])
}

/// Prefix of [`chain`] for one author.
pub(crate) fn chain_prefix(author: &PublicKey) -> Vec<u8> {
    key(&[&[CHAIN], &author.0])
}

/// `k` key → KeyState of its main branch.
pub(crate) fn key_state(k: &PublicKey) -> Vec<u8> {
    key(&[&[KEY_STATE], &k.0])
}

/// `b` holder lot → Quantity held on the main branch.
pub(crate) fn balance(holder: &PublicKey, lot: &LotId) -> Vec<u8> {
    key(&[&[BALANCE], &holder.0, &lot_part(lot)])
}

/// `v` holder shipment → ∅: shipments received on the main branch.
pub(crate) fn received(holder: &PublicKey, shipment: &Hash) -> Vec<u8> {
    key(&[&[RECEIVED], &holder.0, &shipment.0])
}

fn lot_part(lot: &LotId) -> Vec<u8> {
    let len = u16::try_from(lot.code.len()).unwrap_or(u16::MAX);
    key(&[&lot.source.0, &len.to_be_bytes(), lot.code.as_bytes()])
}

/// `l` lot hash → ∅: every record that creates or names a lot.
pub(crate) fn lot(lot: &LotId, h: &Hash) -> Vec<u8> {
    key(&[&[LOT], &lot_part(lot), &h.0])
}

/// Prefix of [`lot`] for one lot.
pub(crate) fn lot_prefix(l: &LotId) -> Vec<u8> {
    key(&[&[LOT], &lot_part(l)])
}

/// `d` dep child → ∅: reverse edges of deps (prev edges follow from
/// chain slots).
pub(crate) fn child(parent: &Hash, child: &Hash) -> Vec<u8> {
    key(&[&[CHILD], &parent.0, &child.0])
}

/// Prefix of [`child`] for one parent.
pub(crate) fn children_prefix(parent: &Hash) -> Vec<u8> {
    key(&[&[CHILD], &parent.0])
}

/// `f` author seq hash → ∅: every record at a seq where an author signed
/// more than one (the fork proofs).
pub(crate) fn fork(author: &PublicKey, seq: u64, h: &Hash) -> Vec<u8> {
    key(&[&[FORK], &author.0, &seq.to_be_bytes(), &h.0])
}

/// Prefix of [`fork`] for one author and seq.
pub(crate) fn fork_seq_prefix(author: &PublicKey, seq: u64) -> Vec<u8> {
    key(&[&[FORK], &author.0, &seq.to_be_bytes()])
}

/// Prefix of [`fork`] for one author.
pub(crate) fn fork_prefix(author: &PublicKey) -> Vec<u8> {
    key(&[&[FORK], &author.0])
}

/// The byte naming an event kind in the [`kind`] index.
pub(crate) fn kind_byte(k: EventKind) -> u8 {
    match k {
        EventKind::Harvest => 0,
        EventKind::Transform => 1,
        EventKind::Ship => 2,
        EventKind::Receive => 3,
        EventKind::Observe => 4,
        EventKind::Inspect => 5,
        EventKind::Certify => 6,
        EventKind::Recall => 7,
        EventKind::Sell => 8,
        EventKind::Enroll => 9,
        EventKind::Revoke => 10,
        EventKind::RotateKey => 11,
    }
}

/// `e` kind hash → ∅: records of the kinds overlays and listings need.
pub(crate) fn kind(k: EventKind, h: &Hash) -> Vec<u8> {
    key(&[&[KIND, kind_byte(k)], &h.0])
}

/// Prefix of [`kind`] for one kind.
pub(crate) fn kind_prefix(k: EventKind) -> Vec<u8> {
    vec![KIND, kind_byte(k)]
}

/// Whether records of this kind go into the [`kind`] index.
pub(crate) fn indexed_kind(k: EventKind) -> bool {
    matches!(
        k,
        EventKind::Enroll
            | EventKind::Revoke
            | EventKind::RotateKey
            | EventKind::Inspect
            | EventKind::Certify
            | EventKind::Recall
    )
}

/// `p` hash → signed record bytes waiting in the pending pool.
pub(crate) fn pending(h: &Hash) -> Vec<u8> {
    key(&[&[PENDING], &h.0])
}

/// `w` missing waiter → ∅: a pending record waits for `missing`.
pub(crate) fn waiting(missing: &Hash, waiter: &Hash) -> Vec<u8> {
    key(&[&[WAITING], &missing.0, &waiter.0])
}

/// Prefix of [`waiting`] for one missing record.
pub(crate) fn waiting_prefix(missing: &Hash) -> Vec<u8> {
    key(&[&[WAITING], &missing.0])
}

/// `t` time hash → ∅: a pending record dated ahead of the local clock.
pub(crate) fn future(time: u64, h: &Hash) -> Vec<u8> {
    key(&[&[FUTURE], &time.to_be_bytes(), &h.0])
}

/// The last 32 bytes of a key, as a hash.
pub(crate) fn trailing_hash(k: &[u8]) -> Option<Hash> {
    let start = k.len().checked_sub(32)?;
    let mut h = [0u8; 32];
    h.copy_from_slice(&k[start..]);
    Some(Hash(h))
}

/// `c` code 0x00 source → ∅: which creators used a lot code (codes hold no
/// control characters, so 0x00 ends the code unambiguously).
pub(crate) fn code(lot: &LotId) -> Vec<u8> {
    key(&[&[CODE], lot.code.as_bytes(), &[0], &lot.source.0])
}

/// Prefix of [`code`] for one code.
pub(crate) fn code_prefix(code: &str) -> Vec<u8> {
    key(&[&[CODE], code.as_bytes(), &[0]])
}
