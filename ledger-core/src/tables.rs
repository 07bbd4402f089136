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
pub(crate) const GTIN: u8 = b'n';

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

/// Seqs per chain block. An author's records stored in one batch extend
/// one block value instead of writing a key each (sled's cost is per key
/// written: its leaves hold at most 16 keys), and a full block is 4 KiB.
pub(crate) const CHAIN_BLOCK: u64 = 128;

/// `a` author block → the hashes of the first record stored at each seq
/// from `block × CHAIN_BLOCK` on, in seq order (32 bytes each). Slots
/// fill without gaps, since a record is stored only after its prev.
pub(crate) fn chain_block(author: &PublicKey, seq: u64) -> Vec<u8> {
    key(&[&[CHAIN], &author.0, &(seq / CHAIN_BLOCK).to_be_bytes()])
}

/// The first seq a chain block key covers.
pub(crate) fn block_start(k: &[u8]) -> Option<u64> {
    let block = k.get(33..41)?.try_into().ok().map(u64::from_be_bytes)?;
    block.checked_mul(CHAIN_BLOCK)
}

/// The hash at `seq` in the value of the chain block holding `seq`.
pub(crate) fn slot_in_block(block: &[u8], seq: u64) -> Option<Hash> {
    let at = usize::try_from(seq % CHAIN_BLOCK).ok()? * 32;
    block
        .get(at..at + 32)
        .and_then(|b| b.try_into().ok())
        .map(Hash)
}

/// The `(seq, hash)` slots of one chain block entry.
pub(crate) fn block_slots<'v>(k: &[u8], v: &'v [u8]) -> impl Iterator<Item = (u64, Hash)> + 'v {
    let start = block_start(k);
    hash_list(v)
        .enumerate()
        .filter_map(move |(i, h)| Some((start?.checked_add(u64::try_from(i).ok()?)?, h)))
}

/// The hashes of a value that lists them, 32 bytes each (chain blocks,
/// lot postings).
pub(crate) fn hash_list(v: &[u8]) -> impl Iterator<Item = Hash> + '_ {
    v.chunks_exact(32)
        .filter_map(|h| h.try_into().ok())
        .map(Hash)
}

/// Prefix of [`chain_block`] for one author.
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

/// Records of a lot listed in its posting value before the rest get a key
/// each: most lots are named by a handful of records (harvest, ship,
/// observe, receive, transform), which then cost one key, not one each;
/// a lot named by thousands (sales from a retailer's lot) keeps its
/// posting value at 2 KiB.
pub(crate) const LOT_POSTING: usize = 64;

/// Tag of a lot's posting value within its keys.
pub(crate) const LOT_POSTING_TAG: u8 = 0;
/// Tag of a lot's overflow keys within its keys.
pub(crate) const LOT_OVERFLOW_TAG: u8 = 1;

/// `l` lot 0x00 → the hashes of the first [`LOT_POSTING`] records that
/// create or name the lot, in the order they were stored (32 bytes each).
pub(crate) fn lot_posting(lot: &LotId) -> Vec<u8> {
    key(&[&[LOT], &lot_part(lot), &[LOT_POSTING_TAG]])
}

/// `l` lot 0x01 hash → ∅: the lot's further records.
pub(crate) fn lot_overflow(lot: &LotId, h: &Hash) -> Vec<u8> {
    key(&[&[LOT], &lot_part(lot), &[LOT_OVERFLOW_TAG], &h.0])
}

/// Prefix of [`lot_posting`] and [`lot_overflow`] for one lot (the code's
/// length is part of it, so no other lot's keys share it).
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
        EventKind::AssignPrefix => 12,
        EventKind::AuthorisePacker => 13,
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
            | EventKind::AssignPrefix
            | EventKind::AuthorisePacker
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

/// `n` GTIN-14 code 0x00 source → ∅: the lots of a product (its GTIN in
/// 14-digit form), for product-level QR links and the one-lot-per-code
/// admission rule.
pub(crate) fn gtin_lot(gtin: &str, lot: &LotId) -> Vec<u8> {
    key(&[
        &[GTIN],
        crate::gs1::gtin14(gtin).as_bytes(),
        lot.code.as_bytes(),
        &[0],
        &lot.source.0,
    ])
}

/// Prefix of [`gtin_lot`] for one product.
pub(crate) fn gtin_prefix(gtin: &str) -> Vec<u8> {
    key(&[&[GTIN], crate::gs1::gtin14(gtin).as_bytes()])
}

/// The lot a [`gtin_lot`] key names.
pub(crate) fn gtin_lot_of(k: &[u8]) -> Option<LotId> {
    let rest = k.get(15..)?;
    let zero = rest.len().checked_sub(33)?;
    if rest.get(zero) != Some(&0) {
        return None;
    }
    let code = std::str::from_utf8(rest.get(..zero)?).ok()?.to_owned();
    let source = <[u8; 32]>::try_from(rest.get(zero + 1..)?).ok()?;
    Some(LotId {
        source: crate::key::PublicKey(source),
        code,
    })
}
