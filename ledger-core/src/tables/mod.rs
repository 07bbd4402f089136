//! The ledger's key layout, and the one place that encodes and decodes
//! its keys: every other module reads through [`Tables`] and writes
//! through [`TablesMut`], by table, in typed values.
//!
//! One byte names the table; fixed-width parts come first so prefix scans
//! select exactly one author, lot or parent. Integers in keys are
//! big-endian so keys sort numerically.
//!
//! | table | key | value |
//! |---|---|---|
//! | `g` | — | genesis document |
//! | `L` | log seq | signed record bytes (the log, written when accepted) |
//! | `h` | record hash | its log seq |
//! | `a` | author, seq / 128 | chain block: hashes of seqs in the block |
//! | `f` | author, seq, hash | ∅: records of a seq signed twice |
//! | `d` | dep, child | ∅: reverse dep edges |
//! | `e` | kind, hash | ∅: records of the kinds overlays list |
//! | `l` | lot, 0 | lot posting: its first 64 records' hashes |
//! | `l` | lot, 1, hash | ∅: the lot's further records |
//! | `c` | code, 0, source | ∅: lots by code |
//! | `n` | GTIN-14, code, 0, source | ∅: lots by product |
//! | `k` | key | main-branch chain state |
//! | `b` | holder, lot | main-branch balance |
//! | `v` | holder, shipment | ∅: shipments received |
//! | `p` | hash | pending record bytes |
//! | `w` | missing, waiter | ∅: what a pending record waits for |
//! | `t` | time, hash | ∅: pending records dated ahead |
//! | `o` | hash | a pending record's parking: when, whose (stranger or not), its size, its source (if known) |
//! | `P` | hash | a parked record as it must outlive a crash: its parking (as `o`), then its bytes |
//! | `u` | key | ∅: keys an enroll or rotation the ledger holds introduces |
//! | `x` | hash | the record's overlay flags |
//! | `r` | revoked key, revoke hash | its last trusted seq |
//! | `q` | key | ∅: the key has revocations or forks (so records by it may be flagged for themselves) |
//! | `i` | hash | ∅: inspections that failed |
//! | `m` | name | ledger metadata (fold cursor, record count, digest sums) |
//! | `T`, `E`, `X`, `Z`, `C` | … | the transparency log: tree rows, entries, leaf indexes by local log seq, status map versions, final checkpoints ([`tlog`]) |
//!
//! Only `L` and `P` are written when a batch is accepted; everything else
//! is derived from the log and folded in behind it (see [`crate::tail`]).
//! `P` is what the pending pool would lose to a crash before the next
//! fold: a record answered "pending" is in it once the batch's flush
//! returns, and leaves it with the batch that takes it out of the pool.
//! Opening puts back into the pool what `P` holds and the pool lacks.

mod tlog;

pub(crate) use self::tlog::{apply_order, LogTables, LogTablesMut, StoredCheckpoint, ROW_WIDTH};

use crate::digest::Sums;
use crate::encoding;
use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Quantity};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::ledger::Source;
use crate::overlay::Flag;
use crate::record::{Record, SignedRecord};
use crate::store::{Entry, Store};
use crate::validate::KeyState;

const GENESIS: &[u8] = b"g";
const LOG: u8 = b'L';
const SEQ: u8 = b'h';
const CHAIN: u8 = b'a';
const FORK: u8 = b'f';
const CHILD: u8 = b'd';
const KIND: u8 = b'e';
const LOT: u8 = b'l';
const CODE: u8 = b'c';
const GTIN: u8 = b'n';
const KEY_STATE: u8 = b'k';
const BALANCE: u8 = b'b';
const RECEIVED: u8 = b'v';
const PENDING: u8 = b'p';
const WAITING: u8 = b'w';
const FUTURE: u8 = b't';
const PARKED: u8 = b'o';
const PARKED_LOG: u8 = b'P';
const INTRODUCED: u8 = b'u';
const FLAGS: u8 = b'x';
const REVOKED: u8 = b'r';
const SUSPECT: u8 = b'q';
const FAILED: u8 = b'i';

/// The last log seq whose derived entries are folded into the store.
const FOLD_CURSOR: &[u8] = b"mfold";
/// Records stored (u64 LE), maintained with the indexes.
const RECORD_COUNT: &[u8] = b"mrecords";
/// How many signing keys have a chain (rows of `k`), so `/status` need
/// not count them.
const CHAIN_COUNT: &[u8] = b"mchains";
/// The digest's running sums.
const SUMS: &[u8] = b"mdigest";
/// Present once `u` lists every key introduced by the records stored
/// (stores from before `u` was kept are indexed once, on opening).
const INTRODUCED_INDEXED: &[u8] = b"mintroduced";

/// Seqs per chain block. An author's records folded together extend one
/// block value instead of writing a key each, and a full block is 4 KiB.
const CHAIN_BLOCK: u64 = 128;

/// Records of a lot listed in its posting value before the rest get a key
/// each: most lots are named by a handful of records, which then cost one
/// key; a lot named by thousands keeps its posting value at 2 KiB.
const LOT_POSTING: usize = 64;
const LOT_POSTING_TAG: u8 = 0;
const LOT_OVERFLOW_TAG: u8 = 1;

fn key(parts: &[&[u8]]) -> Vec<u8> {
    let mut k = Vec::with_capacity(parts.iter().map(|p| p.len()).sum());
    for p in parts {
        k.extend_from_slice(p);
    }
    k
}

fn lot_part(lot: &LotId) -> Vec<u8> {
    let len = u16::try_from(lot.code.len()).unwrap_or(u16::MAX);
    key(&[&lot.source.0, &len.to_be_bytes(), lot.code.as_bytes()])
}

fn log_key(seq: u64) -> Vec<u8> {
    key(&[&[LOG], &seq.to_be_bytes()])
}

fn seq_key(h: &Hash) -> Vec<u8> {
    key(&[&[SEQ], &h.0])
}

fn chain_block_key(author: &PublicKey, seq: u64) -> Vec<u8> {
    key(&[&[CHAIN], &author.0, &(seq / CHAIN_BLOCK).to_be_bytes()])
}

fn fork_key(author: &PublicKey, seq: u64, h: &Hash) -> Vec<u8> {
    key(&[&[FORK], &author.0, &seq.to_be_bytes(), &h.0])
}

fn lot_posting_key(lot: &LotId) -> Vec<u8> {
    key(&[&[LOT], &lot_part(lot), &[LOT_POSTING_TAG]])
}

fn gtin_prefix(gtin: &str) -> Vec<u8> {
    key(&[&[GTIN], crate::gs1::gtin14(gtin).as_bytes()])
}

fn key_state_key(k: &PublicKey) -> Vec<u8> {
    key(&[&[KEY_STATE], &k.0])
}

fn balance_key(holder: &PublicKey, lot: &LotId) -> Vec<u8> {
    key(&[&[BALANCE], &holder.0, &lot_part(lot)])
}

fn received_key(holder: &PublicKey, shipment: &Hash) -> Vec<u8> {
    key(&[&[RECEIVED], &holder.0, &shipment.0])
}

fn pending_key(h: &Hash) -> Vec<u8> {
    key(&[&[PENDING], &h.0])
}

fn waiting_key(missing: &Hash, waiter: &Hash) -> Vec<u8> {
    key(&[&[WAITING], &missing.0, &waiter.0])
}

fn future_key(time: u64, h: &Hash) -> Vec<u8> {
    key(&[&[FUTURE], &time.to_be_bytes(), &h.0])
}

fn parked_key(h: &Hash) -> Vec<u8> {
    key(&[&[PARKED], &h.0])
}

/// A credit-code record's kind-index key: kind, participant, time, hash.
const IDENTIFY_KEY_LEN: usize = 2 + 32 + 8 + 32;

/// The kind-index key of `r`, whose hash is `h` (see `put_kind`).
fn kind_key(h: &Hash, r: &Record) -> Vec<u8> {
    let kind = r.event.kind();
    let head = [KIND, kind_byte(kind)];
    match &r.event {
        Event::InputUse { .. } => key(&[&head, &r.author.0, &r.seq.to_be_bytes(), &h.0]),
        Event::Identify { participant, .. } => {
            key(&[&head, &participant.0, &r.time.to_be_bytes(), &h.0])
        }
        _ => key(&[&head, &h.0]),
    }
}

/// The key under which a store written before credit codes were keyed by
/// participant indexes the credit-code record `h`.
pub(crate) fn unkeyed_identify_key(h: &Hash) -> Vec<u8> {
    key(&[&[KIND, kind_byte(EventKind::Identify)], &h.0])
}

fn parked_log_key(h: &Hash) -> Vec<u8> {
    key(&[&[PARKED_LOG], &h.0])
}

fn introduced_key(k: &PublicKey) -> Vec<u8> {
    key(&[&[INTRODUCED], &k.0])
}

/// How a record came to wait in the pending pool, kept beside it: what
/// expiry and the pool's budgets need without decoding the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Parked {
    /// The `now` of the call that first parked it (ms).
    pub(crate) since: u64,
    /// Whether its author was a stranger then (not known as enrolled).
    pub(crate) stranger: bool,
    /// Its encoded size.
    pub(crate) bytes: u32,
    /// Where it came from, if the caller said (a stranger's record counts
    /// against its source's share of the strangers' budget).
    pub(crate) source: Option<Source>,
}

impl Parked {
    /// `since` (8 bytes BE), `stranger` (1 byte), `bytes` (4 bytes BE),
    /// then, for a record with a source, the source (8 bytes BE): 13 or
    /// 21 bytes. Entries written before sources were kept are 13 bytes
    /// and read as source-less.
    fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(21);
        v.extend_from_slice(&self.since.to_be_bytes());
        v.push(u8::from(self.stranger));
        v.extend_from_slice(&self.bytes.to_be_bytes());
        if let Some(Source(s)) = self.source {
            v.extend_from_slice(&s.to_be_bytes());
        }
        v
    }

    fn decode(k: &[u8], v: &[u8]) -> Result<Self, StoreError> {
        let bad = || corrupt(k, "parking entry is not 13 or 21 bytes");
        let since = be_u64(v.get(..8)).ok_or_else(bad)?;
        let stranger = match v.get(8) {
            Some(0) => false,
            Some(1) => true,
            _ => return Err(bad()),
        };
        let bytes: [u8; 4] = v
            .get(9..13)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(bad)?;
        let source = match v.len() {
            13 => None,
            21 => Some(Source(be_u64(v.get(13..21)).ok_or_else(bad)?)),
            _ => return Err(bad()),
        };
        Ok(Parked {
            since,
            stranger,
            bytes: u32::from_be_bytes(bytes),
            source,
        })
    }
}

/// The byte naming an event kind in the kind index.
fn kind_byte(k: EventKind) -> u8 {
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
        EventKind::Aggregate => 14,
        EventKind::Associate => 15,
        EventKind::Transact => 16,
        EventKind::Correct => 17,
        EventKind::InputUse => 18,
        EventKind::Certificate => 19,
        EventKind::Identify => 20,
    }
}

/// Whether records of this kind go into the kind index.
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
            | EventKind::Correct
            | EventKind::InputUse
            | EventKind::Certificate
            | EventKind::Identify
    )
}

/// Whether a key belongs to the log (written when accepted, never folded).
pub(crate) fn is_log_key(k: &[u8]) -> bool {
    k.first() == Some(&LOG)
}

/// Whether `k` is written when its batch is accepted, not derived and
/// folded in later: the log, and the parked records' crash copies.
pub(crate) fn is_durable_key(k: &[u8]) -> bool {
    matches!(k.first(), Some(&LOG | &PARKED_LOG))
}

/// A parked record's crash copy, read back on opening.
pub(crate) struct ParkedCopy {
    pub(crate) hash: Hash,
    /// Its parking and record, `None` when the entry does not parse (it
    /// is then only removed: a copy never decides anything alone).
    pub(crate) parsed: Option<(Parked, SignedRecord)>,
}

/// Every crash copy of a parked record in `store` (`P` is never in the
/// tail: it is read from the store alone).
pub(crate) fn parked_copies(store: &dyn Store) -> Result<Vec<ParkedCopy>, StoreError> {
    let mut out = Vec::new();
    for (k, v) in store.scan_prefix(&[PARKED_LOG])? {
        let Some(hash) = trailing_hash(&k) else {
            continue;
        };
        let parsed = v.split_first().and_then(|(&n, rest)| {
            let (head, bytes) = rest.split_at_checked(usize::from(n))?;
            let parked = Parked::decode(&k, head).ok()?;
            Some((parked, SignedRecord::decode(bytes).ok()?))
        });
        out.push(ParkedCopy { hash, parsed });
    }
    Ok(out)
}

/// The key of a parked record's crash copy.
pub(crate) fn parked_copy_key(h: &Hash) -> Vec<u8> {
    parked_log_key(h)
}

fn corrupt(k: &[u8], why: impl Into<String>) -> StoreError {
    StoreError::Corrupt {
        key: hex::encode(k),
        why: why.into(),
    }
}

fn trailing_hash(k: &[u8]) -> Option<Hash> {
    let start = k.len().checked_sub(32)?;
    k.get(start..)?.try_into().ok().map(Hash)
}

fn be_u64(b: Option<&[u8]>) -> Option<u64> {
    b?.try_into().ok().map(u64::from_be_bytes)
}

fn public_key(b: Option<&[u8]>) -> Option<PublicKey> {
    b?.try_into().ok().map(PublicKey)
}

/// The hashes of a value that lists them, 32 bytes each (chain blocks,
/// lot postings), refused as corrupt unless it is whole hashes.
fn hash_list(k: &[u8], v: &[u8]) -> Result<Vec<Hash>, StoreError> {
    if v.len() % 32 != 0 {
        return Err(corrupt(k, "value is not a list of 32-byte hashes"));
    }
    Ok(v.chunks_exact(32)
        .filter_map(|h| h.try_into().ok())
        .map(Hash)
        .collect())
}

/// Decodes a stored value, reporting damage as [`StoreError::Corrupt`].
pub(crate) fn decode_stored<T: bincode::Encode + bincode::Decode<()>>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    encoding::decode(bytes, encoding::MAX_RECORD_BYTES, "stored value")
        .map_err(|e| corrupt(key, e.to_string()))
}

/// Raw reads of the key space, as some layer of it sees it (the store
/// alone, or the store under writes not folded or not applied yet).
pub(crate) trait Kv {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry under `prefix`, in key order.
    fn scan(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError>;
}

/// Raw writes, buffered by whoever implements it.
pub(crate) trait KvWrite {
    /// Queues an insert.
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>);
    /// Queues a removal.
    fn delete(&mut self, key: Vec<u8>);
}

/// Typed reads of every table.
pub(crate) trait Tables: Kv {
    /// The genesis document's bytes.
    fn genesis_bytes(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.get(GENESIS)
    }

    /// The log seq of a stored record.
    fn seq_of(&self, h: &Hash) -> Result<Option<u64>, StoreError> {
        let k = seq_key(h);
        match self.get(&k)? {
            None => Ok(None),
            Some(v) => be_u64(Some(&v))
                .map(Some)
                .ok_or_else(|| corrupt(&k, "log seq is not 8 bytes")),
        }
    }

    /// Whether a record is stored.
    fn has_record(&self, h: &Hash) -> Result<bool, StoreError> {
        Ok(self.get(&seq_key(h))?.is_some())
    }

    /// The record at a log seq.
    fn logged(&self, seq: u64) -> Result<Option<SignedRecord>, StoreError> {
        let k = log_key(seq);
        self.get(&k)?.map(|v| decode_stored(&k, &v)).transpose()
    }

    /// A stored record by hash.
    fn record(&self, h: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        let Some(seq) = self.seq_of(h)? else {
            return Ok(None);
        };
        match self.logged(seq)? {
            Some(r) => Ok(Some(r)),
            None => Err(corrupt(&seq_key(h), format!("log seq {seq} is absent"))),
        }
    }

    /// The hash at `seq` in an author's chain (the first stored there).
    fn chain_slot(&self, author: &PublicKey, seq: u64) -> Result<Option<Hash>, StoreError> {
        let k = chain_block_key(author, seq);
        let Some(v) = self.get(&k)? else {
            return Ok(None);
        };
        let at = usize::try_from(seq % CHAIN_BLOCK).unwrap_or(usize::MAX);
        Ok(hash_list(&k, &v)?.get(at).copied())
    }

    /// An author's chain slots from `from` on, in seq order, until the
    /// first empty slot (slots fill without gaps) or `limit` of them.
    fn chain_slots_from(
        &self,
        author: &PublicKey,
        from: u64,
        limit: usize,
    ) -> Result<Vec<(u64, Hash)>, StoreError> {
        let mut out = Vec::new();
        let mut seq = from;
        while out.len() < limit {
            let k = chain_block_key(author, seq);
            let Some(v) = self.get(&k)? else { break };
            let block = hash_list(&k, &v)?;
            let start = seq - seq % CHAIN_BLOCK;
            let mut i = usize::try_from(seq - start).unwrap_or(usize::MAX);
            while let Some(h) = block.get(i) {
                if out.len() >= limit {
                    return Ok(out);
                }
                out.push((seq, *h));
                seq = seq.saturating_add(1);
                i += 1;
            }
            if seq % CHAIN_BLOCK != 0 {
                break;
            }
        }
        Ok(out)
    }

    /// Every (seq, hash) of an author's chain, forks included, in order.
    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        let mut out = std::collections::BTreeSet::new();
        out.extend(self.chain_slots_from(author, 0, usize::MAX)?);
        out.extend(self.forks_of(author)?);
        Ok(out.into_iter().collect())
    }

    /// The records of an author's seqs signed more than once.
    fn forks_of(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        Ok(self
            .scan(&key(&[&[FORK], &author.0]))?
            .iter()
            .filter_map(|(k, _)| Some((be_u64(k.get(33..41))?, trailing_hash(k)?)))
            .collect())
    }

    /// The records at one seq signed more than once.
    fn forks_at(&self, author: &PublicKey, seq: u64) -> Result<Vec<Hash>, StoreError> {
        let prefix = key(&[&[FORK], &author.0, &seq.to_be_bytes()]);
        Ok(self
            .scan(&prefix)?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// Every (author, seq) signed more than once.
    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        let mut out = std::collections::BTreeSet::new();
        for (k, _) in self.scan(&[FORK])? {
            if let (Some(a), Some(s)) = (public_key(k.get(1..33)), be_u64(k.get(33..41))) {
                out.insert((a, s));
            }
        }
        Ok(out.into_iter().collect())
    }

    /// Records listing `parent` among their deps.
    fn dep_children(&self, parent: &Hash) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&key(&[&[CHILD], &parent.0]))?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// Records of an indexed kind, in hash order.
    fn of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&[KIND, kind_byte(kind)])?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// The credit-code records naming `participant`, in time order.
    fn identified(&self, participant: &PublicKey) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&key(&[
                &[KIND, kind_byte(EventKind::Identify)],
                &participant.0,
            ]))?
            .iter()
            .filter(|(k, _)| k.len() == IDENTIFY_KEY_LEN)
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// Credit-code records indexed by hash alone, as stores written before
    /// [`Tables::identified`] keep them.
    fn identified_unkeyed(&self) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&[KIND, kind_byte(EventKind::Identify)])?
            .iter()
            .filter(|(k, _)| k.len() == 2 + 32)
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// The input uses `author` signed, in seq order.
    fn input_uses(&self, author: &PublicKey) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&key(&[&[KIND, kind_byte(EventKind::InputUse)], &author.0]))?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// The lot's posting value (its first records), as stored.
    fn lot_posting(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        let k = lot_posting_key(lot);
        match self.get(&k)? {
            Some(v) => hash_list(&k, &v),
            None => Ok(Vec::new()),
        }
    }

    /// Every record that creates or names a lot, in hash order.
    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        let prefix = key(&[&[LOT], &lot_part(lot)]);
        let mut out = Vec::new();
        for (k, v) in self.scan(&prefix)? {
            match k.get(prefix.len()) {
                Some(&LOT_POSTING_TAG) => out.extend(hash_list(&k, &v)?),
                Some(&LOT_OVERFLOW_TAG) => out.extend(trailing_hash(&k)),
                _ => {}
            }
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    /// Every lot whose code is `code`.
    fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>, StoreError> {
        let prefix = key(&[&[CODE], code.as_bytes(), &[0]]);
        Ok(self
            .scan(&prefix)?
            .iter()
            .filter_map(|(k, _)| {
                Some(LotId {
                    source: public_key(k.get(prefix.len()..))?,
                    code: code.to_owned(),
                })
            })
            .collect())
    }

    /// The lots of a product, optionally only those with one lot code.
    fn lots_with_gtin(&self, gtin: &str, code: Option<&str>) -> Result<Vec<LotId>, StoreError> {
        let mut prefix = gtin_prefix(gtin);
        if let Some(code) = code {
            prefix.extend_from_slice(code.as_bytes());
            prefix.push(0);
        }
        Ok(self
            .scan(&prefix)?
            .iter()
            .filter_map(|(k, _)| {
                let rest = k.get(15..)?;
                let zero = rest.len().checked_sub(33)?;
                if rest.get(zero) != Some(&0) {
                    return None;
                }
                Some(LotId {
                    source: public_key(rest.get(zero + 1..))?,
                    code: std::str::from_utf8(rest.get(..zero)?).ok()?.to_owned(),
                })
            })
            .collect())
    }

    /// A key's main-branch chain state.
    fn key_state(&self, k: &PublicKey) -> Result<Option<KeyState>, StoreError> {
        let key = key_state_key(k);
        self.get(&key)?.map(|v| decode_stored(&key, &v)).transpose()
    }

    /// Every key's main-branch chain state, in key order.
    fn key_states(&self) -> Result<Vec<(PublicKey, KeyState)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.scan(&[KEY_STATE])? {
            if let Some(key) = public_key(k.get(1..33)) {
                out.push((key, decode_stored(&k, &v)?));
            }
        }
        Ok(out)
    }

    /// How much of a lot a participant holds on its main branch.
    fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        let k = balance_key(holder, lot);
        self.get(&k)?.map(|v| decode_stored(&k, &v)).transpose()
    }

    /// Everything a participant holds, by lot.
    fn holdings(&self, holder: &PublicKey) -> Result<Vec<(LotId, Quantity)>, StoreError> {
        let prefix = key(&[&[BALANCE], &holder.0]);
        let mut out = Vec::new();
        for (k, v) in self.scan(&prefix)? {
            let rest = &k[prefix.len()..];
            let code = rest
                .get(34..)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            if let (Some(source), Some(code)) = (public_key(rest.get(..32)), code) {
                out.push((LotId { source, code }, decode_stored(&k, &v)?));
            }
        }
        Ok(out)
    }

    /// Whether `holder` received `shipment` on its main branch.
    fn received(&self, holder: &PublicKey, shipment: &Hash) -> Result<bool, StoreError> {
        Ok(self.get(&received_key(holder, shipment))?.is_some())
    }

    /// A record waiting in the pending pool.
    fn pending(&self, h: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        let k = pending_key(h);
        self.get(&k)?.map(|v| decode_stored(&k, &v)).transpose()
    }

    /// Every record in the pending pool.
    fn pending_all(&self) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&[PENDING])?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// How a pending record was parked (`None` for records parked
    /// before this was kept).
    fn parked(&self, h: &Hash) -> Result<Option<Parked>, StoreError> {
        let k = parked_key(h);
        self.get(&k)?.map(|v| Parked::decode(&k, &v)).transpose()
    }

    /// Every parking entry of the pending pool, in hash order.
    fn parked_all(&self) -> Result<Vec<(Hash, Parked)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.scan(&[PARKED])? {
            let parked = Parked::decode(&k, &v)?;
            out.extend(trailing_hash(&k).map(|h| (h, parked)));
        }
        Ok(out)
    }

    /// Whether an enroll or key rotation the ledger holds introduces `k`.
    fn introduced(&self, k: &PublicKey) -> Result<bool, StoreError> {
        Ok(self.get(&introduced_key(k))?.is_some())
    }

    /// Whether the introduced keys are indexed (see [`TablesMut::put_introduced`]).
    fn introduced_indexed(&self) -> Result<bool, StoreError> {
        Ok(self.get(INTRODUCED_INDEXED)?.is_some())
    }

    /// Pending records waiting for `missing`.
    fn waiters(&self, missing: &Hash) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&key(&[&[WAITING], &missing.0]))?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// Every hash some pending record waits for, deduplicated, in order.
    fn missing(&self) -> Result<Vec<Hash>, StoreError> {
        let mut out: Vec<Hash> = self
            .scan(&[WAITING])?
            .iter()
            .filter_map(|(k, _)| k.get(1..33)?.try_into().ok().map(Hash))
            .collect();
        out.dedup();
        Ok(out)
    }

    /// Pending records dated ahead, (time, hash) in time order, up to and
    /// including `horizon`.
    fn future_until(&self, horizon: u64) -> Result<Vec<(u64, Hash)>, StoreError> {
        Ok(self
            .scan(&[FUTURE])?
            .iter()
            .filter_map(|(k, _)| Some((be_u64(k.get(1..9))?, trailing_hash(k)?)))
            .take_while(|(t, _)| *t <= horizon)
            .collect())
    }

    /// A record's overlay flags (none for most).
    fn flags(&self, h: &Hash) -> Result<Vec<Flag>, StoreError> {
        let k = key(&[&[FLAGS], &h.0]);
        match self.get(&k)? {
            Some(v) => decode_flags(&v).ok_or_else(|| corrupt(&k, "flags do not decode")),
            None => Ok(Vec::new()),
        }
    }

    /// Every flagged record with its flags, in hash order.
    fn flagged(&self) -> Result<Vec<(Hash, Vec<Flag>)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.scan(&[FLAGS])? {
            let flags = decode_flags(&v).ok_or_else(|| corrupt(&k, "flags do not decode"))?;
            out.extend(trailing_hash(&k).map(|h| (h, flags)));
        }
        Ok(out)
    }

    /// The revocations of a key: (revoke record, last trusted seq).
    fn revocations_of(&self, k: &PublicKey) -> Result<Vec<(Hash, Option<u64>)>, StoreError> {
        let mut out = Vec::new();
        for (key, v) in self.scan(&key(&[&[REVOKED], &k.0]))? {
            let last = match v.as_slice() {
                [] => None,
                b => Some(be_u64(Some(b)).ok_or_else(|| corrupt(&key, "not 8 bytes"))?),
            };
            out.extend(trailing_hash(&key).map(|h| (h, last)));
        }
        Ok(out)
    }

    /// Whether a key has revocations or forks, so that its records may be
    /// flagged for themselves (one read, where most keys have neither).
    fn suspect(&self, k: &PublicKey) -> Result<bool, StoreError> {
        Ok(self.get(&key(&[&[SUSPECT], &k.0]))?.is_some())
    }

    /// Inspections that failed, in hash order.
    fn failed_inspections(&self) -> Result<Vec<Hash>, StoreError> {
        Ok(self
            .scan(&[FAILED])?
            .iter()
            .filter_map(|(k, _)| trailing_hash(k))
            .collect())
    }

    /// The digest's running sums.
    fn sums(&self) -> Result<Sums, StoreError> {
        match self.get(SUMS)? {
            None => Ok(Sums::default()),
            Some(v) => {
                Sums::decode(&v).ok_or_else(|| corrupt(SUMS, "digest sums are not 64 bytes"))
            }
        }
    }

    /// Records stored, as maintained with the indexes.
    fn record_count(&self) -> Result<u64, StoreError> {
        match self.get(RECORD_COUNT)? {
            None => Ok(0),
            Some(v) => v
                .as_slice()
                .try_into()
                .map(u64::from_le_bytes)
                .map_err(|_| corrupt(RECORD_COUNT, "record count is not 8 bytes")),
        }
    }

    /// How many signing keys have a chain, as maintained with the
    /// indexes; `None` in a store written before the count was kept.
    fn chain_count(&self) -> Result<Option<u64>, StoreError> {
        self.get(CHAIN_COUNT)?
            .map(|v| {
                v.as_slice()
                    .try_into()
                    .map(u64::from_le_bytes)
                    .map_err(|_| corrupt(CHAIN_COUNT, "chain count is not 8 bytes"))
            })
            .transpose()
    }
}

impl<T: Kv + ?Sized> Tables for T {}

/// Typed writes of every table.
pub(crate) trait TablesMut: KvWrite {
    /// The genesis document.
    fn put_genesis(&mut self, bytes: Vec<u8>) {
        self.put(GENESIS.to_vec(), bytes);
    }

    /// A record's log entry.
    fn put_logged(&mut self, seq: u64, bytes: Vec<u8>) {
        self.put(log_key(seq), bytes);
    }

    /// A stored record's log seq.
    fn put_seq(&mut self, h: &Hash, seq: u64) {
        self.put(seq_key(h), seq.to_be_bytes().to_vec());
    }

    /// An author's chain block holding `seq`, with its slots.
    fn put_chain_block(&mut self, author: &PublicKey, seq: u64, slots: &[Hash]) {
        let v = slots.iter().flat_map(|h| h.0).collect();
        self.put(chain_block_key(author, seq), v);
    }

    /// A record at a seq its author signed more than once.
    fn put_fork(&mut self, author: &PublicKey, seq: u64, h: &Hash) {
        self.put(fork_key(author, seq, h), Vec::new());
    }

    /// A reverse dep edge.
    fn put_dep_child(&mut self, parent: &Hash, child: &Hash) {
        self.put(key(&[&[CHILD], &parent.0, &child.0]), Vec::new());
    }

    /// A record of an indexed kind. An input use is keyed by its author
    /// and seq before its hash, so one farm's sprays are one prefix scan
    /// ([`Tables::input_uses`]); a credit code by the participant it
    /// names and its time, so a firm's latest code is one short scan
    /// ([`Tables::identified`]); every key still ends with the hash.
    fn put_kind(&mut self, h: &Hash, r: &Record) {
        self.put(kind_key(h, r), Vec::new());
    }

    /// A lot's posting value.
    fn put_lot_posting(&mut self, lot: &LotId, hashes: &[Hash]) {
        let v = hashes.iter().flat_map(|h| h.0).collect();
        self.put(lot_posting_key(lot), v);
    }

    /// A lot's record beyond its posting value.
    fn put_lot_overflow(&mut self, lot: &LotId, h: &Hash) {
        self.put(
            key(&[&[LOT], &lot_part(lot), &[LOT_OVERFLOW_TAG], &h.0]),
            Vec::new(),
        );
    }

    /// A lot by its code (codes hold no control characters, so 0 ends
    /// the code unambiguously).
    fn put_code(&mut self, lot: &LotId) {
        self.put(
            key(&[&[CODE], lot.code.as_bytes(), &[0], &lot.source.0]),
            Vec::new(),
        );
    }

    /// A lot by product.
    fn put_gtin_lot(&mut self, gtin: &str, lot: &LotId) {
        self.put(
            key(&[&gtin_prefix(gtin), lot.code.as_bytes(), &[0], &lot.source.0]),
            Vec::new(),
        );
    }

    /// A key's main-branch chain state.
    fn put_key_state(&mut self, k: &PublicKey, state: &KeyState) {
        self.put(key_state_key(k), encoding::encode(state));
    }

    /// A main-branch balance.
    fn put_balance(&mut self, holder: &PublicKey, lot: &LotId, q: &Quantity) {
        self.put(balance_key(holder, lot), encoding::encode(q));
    }

    /// A shipment received on the main branch.
    fn put_received(&mut self, holder: &PublicKey, shipment: &Hash) {
        self.put(received_key(holder, shipment), Vec::new());
    }

    /// A record into the pending pool.
    fn put_pending(&mut self, h: &Hash, bytes: Vec<u8>) {
        self.put(pending_key(h), bytes);
    }

    /// A record out of the pending pool.
    fn delete_pending(&mut self, h: &Hash) {
        self.delete(pending_key(h));
    }

    /// A pending record waits for `missing`.
    fn put_waiting(&mut self, missing: &Hash, waiter: &Hash) {
        self.put(waiting_key(missing, waiter), Vec::new());
    }

    /// A pending record no longer waits for `missing`.
    fn delete_waiting(&mut self, missing: &Hash, waiter: &Hash) {
        self.delete(waiting_key(missing, waiter));
    }

    /// A pending record dated ahead.
    fn put_future(&mut self, time: u64, h: &Hash) {
        self.put(future_key(time, h), Vec::new());
    }

    /// A pending record no longer dated ahead.
    fn delete_future(&mut self, time: u64, h: &Hash) {
        self.delete(future_key(time, h));
    }

    /// How a pending record was parked.
    fn put_parked(&mut self, h: &Hash, parked: &Parked) {
        self.put(parked_key(h), parked.encode());
    }

    /// A pending record's parking entry, removed with it.
    fn delete_parked(&mut self, h: &Hash) {
        self.delete(parked_key(h));
    }

    /// A parked record's crash copy: its parking, then its bytes.
    fn put_parked_copy(&mut self, h: &Hash, parked: &Parked, bytes: &[u8]) {
        let head = parked.encode();
        let mut v = Vec::with_capacity(1 + head.len() + bytes.len());
        // 13 or 21 bytes: fits the length byte.
        v.push(u8::try_from(head.len()).unwrap_or(u8::MAX));
        v.extend_from_slice(&head);
        v.extend_from_slice(bytes);
        self.put(parked_log_key(h), v);
    }

    /// A record left the pool: its crash copy goes with it.
    fn delete_parked_copy(&mut self, h: &Hash) {
        self.delete(parked_log_key(h));
    }

    /// A key introduced by an enroll or rotation record stored.
    fn put_introduced(&mut self, k: &PublicKey) {
        self.put(introduced_key(k), Vec::new());
    }

    /// Marks the introduced keys as indexed.
    fn put_introduced_indexed(&mut self) {
        self.put(INTRODUCED_INDEXED.to_vec(), Vec::new());
    }

    /// A record's overlay flags (removed when empty).
    fn put_flags(&mut self, h: &Hash, flags: &[Flag]) {
        let k = key(&[&[FLAGS], &h.0]);
        if flags.is_empty() {
            self.delete(k);
        } else {
            self.put(k, encode_flags(flags));
        }
    }

    /// A revocation of `k`.
    fn put_revocation(&mut self, k: &PublicKey, h: &Hash, last_trusted: Option<u64>) {
        let v = last_trusted
            .map(|s| s.to_be_bytes().to_vec())
            .unwrap_or_default();
        self.put(key(&[&[REVOKED], &k.0, &h.0]), v);
    }

    /// Marks a key as having revocations or forks.
    fn put_suspect(&mut self, k: &PublicKey) {
        self.put(key(&[&[SUSPECT], &k.0]), Vec::new());
    }

    /// An inspection that failed.
    fn put_failed_inspection(&mut self, h: &Hash) {
        self.put(key(&[&[FAILED], &h.0]), Vec::new());
    }

    /// The digest's running sums.
    fn put_sums(&mut self, sums: &Sums) {
        self.put(SUMS.to_vec(), sums.encode());
    }

    /// The record count.
    fn put_record_count(&mut self, n: u64) {
        self.put(RECORD_COUNT.to_vec(), n.to_le_bytes().to_vec());
    }

    /// The chain count.
    fn put_chain_count(&mut self, n: u64) {
        self.put(CHAIN_COUNT.to_vec(), n.to_le_bytes().to_vec());
    }
}

impl<T: KvWrite + ?Sized> TablesMut for T {}

/// The chain block value that holds `seq` with `h` appended at `seq`, or
/// `None` when the slot is taken (an equivocation).
pub(crate) fn extend_chain_block<K: Kv + ?Sized>(
    kv: &K,
    author: &PublicKey,
    seq: u64,
    h: &Hash,
) -> Result<Result<Vec<Hash>, Hash>, StoreError> {
    let k = chain_block_key(author, seq);
    let mut block = match kv.get(&k)? {
        Some(v) => hash_list(&k, &v)?,
        None => Vec::new(),
    };
    let at = usize::try_from(seq % CHAIN_BLOCK).unwrap_or(usize::MAX);
    if let Some(first) = block.get(at) {
        return Ok(Err(*first));
    }
    if block.len() != at {
        return Err(corrupt(
            &k,
            format!("chain block does not end just before seq {seq}"),
        ));
    }
    block.push(*h);
    Ok(Ok(block))
}

/// Where a lot's new record goes: `Some(posting)` to rewrite the posting
/// value, `None` for an overflow key; nothing when already listed.
pub(crate) enum LotEntry {
    /// Rewrite the posting value with this list.
    Posting(Vec<Hash>),
    /// Give the record an overflow key.
    Overflow,
    /// The record is already listed (a transform may name one lot twice).
    Listed,
}

/// Decides how `h` joins `lot`'s records.
pub(crate) fn lot_entry<K: Kv + ?Sized>(
    kv: &K,
    lot: &LotId,
    h: &Hash,
) -> Result<LotEntry, StoreError> {
    let mut posting = kv.lot_posting(lot)?;
    if posting.contains(h) {
        return Ok(LotEntry::Listed);
    }
    if posting.len() < LOT_POSTING {
        posting.push(*h);
        Ok(LotEntry::Posting(posting))
    } else {
        Ok(LotEntry::Overflow)
    }
}

/// The fold cursor: the last log seq whose derived entries are in the
/// store (0: none).
pub(crate) fn fold_cursor<K: Kv + ?Sized>(kv: &K) -> Result<u64, StoreError> {
    match kv.get(FOLD_CURSOR)? {
        None => Ok(0),
        Some(v) => be_u64(Some(&v)).ok_or_else(|| corrupt(FOLD_CURSOR, "not 8 bytes")),
    }
}

/// The key and value that set the fold cursor.
pub(crate) fn fold_cursor_entry(seq: u64) -> Entry {
    (FOLD_CURSOR.to_vec(), seq.to_be_bytes().to_vec())
}

/// The log's key prefix and the seq a log key names.
pub(crate) fn log_prefix() -> &'static [u8] {
    &[LOG]
}

/// The seq of a log key.
pub(crate) fn log_seq(k: &[u8]) -> Option<u64> {
    if !is_log_key(k) {
        return None;
    }
    be_u64(k.get(1..9))
}

/// The key of the log entry at `seq`.
pub(crate) fn log_entry_key(seq: u64) -> Vec<u8> {
    log_key(seq)
}

/// Visits every (hash, log seq) of the seq index: the store's a page at a
/// time, overridden by the layers, then the layers' own.
pub(crate) fn for_each_seq(
    store: &dyn crate::store::Store,
    layers: &[std::sync::Arc<crate::tail::Layer>],
    visit: &mut dyn FnMut(Hash, u64),
) -> Result<(), StoreError> {
    const PAGE: usize = 4096;
    let layered = |k: &[u8]| crate::tail::layered_get(layers, k);
    let mut after: Option<Vec<u8>> = None;
    loop {
        let page = store.scan_page(&[SEQ], after.as_deref(), PAGE)?;
        for (k, v) in &page {
            if layered(k).is_none() {
                if let (Some(h), Some(seq)) = (trailing_hash(k), be_u64(Some(v))) {
                    visit(h, seq);
                }
            }
        }
        match page.last() {
            Some((k, _)) if page.len() == PAGE => after = Some(k.clone()),
            _ => break,
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for l in layers.iter().rev() {
        for (k, v) in l
            .writes
            .range(vec![SEQ]..)
            .take_while(|(k, _)| k.first() == Some(&SEQ))
        {
            if seen.insert(k.clone()) {
                if let (Some(h), Some(Some(seq))) =
                    (trailing_hash(k), v.as_ref().map(|v| be_u64(Some(v))))
                {
                    visit(h, seq);
                }
            }
        }
    }
    Ok(())
}

/// Flags as stored: per flag a tag (its code) and its detail (a hash, or
/// a fork's seq as 8 bytes BE).
fn encode_flags(flags: &[Flag]) -> Vec<u8> {
    let mut v = Vec::with_capacity(flags.len() * 33);
    for f in flags {
        v.push(f.code());
        match f {
            Flag::Revoked { revocation: h } | Flag::Tainted { source: h } => {
                v.extend_from_slice(&h.0)
            }
            Flag::Equivocation { fork_seq } => v.extend_from_slice(&fork_seq.to_be_bytes()),
        }
    }
    v
}

fn decode_flags(mut v: &[u8]) -> Option<Vec<Flag>> {
    let mut out = Vec::new();
    while let Some((&tag, rest)) = v.split_first() {
        let (flag, rest) = match tag {
            1 | 3 => {
                let h = Hash(rest.get(..32)?.try_into().ok()?);
                let f = if tag == 1 {
                    Flag::Revoked { revocation: h }
                } else {
                    Flag::Tainted { source: h }
                };
                (f, rest.get(32..)?)
            }
            2 => (
                Flag::Equivocation {
                    fork_seq: be_u64(rest.get(..8))?,
                },
                rest.get(8..)?,
            ),
            _ => return None,
        };
        out.push(flag);
        v = rest;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn parking_entries_keep_their_source_and_old_ones_read_as_sourceless() {
        let k = parked_key(&Hash::of(b"r"));
        let mut p = Parked {
            since: 1_700_000_000_000,
            stranger: true,
            bytes: 300,
            source: None,
        };
        // Source-less: the 13 bytes every version wrote.
        let old = p.encode();
        assert_eq!(old.len(), 13);
        assert_eq!(Parked::decode(&k, &old).unwrap(), p);
        p.source = Some(Source(0x0102_0304_0506_0708));
        let new = p.encode();
        assert_eq!(new.len(), 21);
        assert_eq!(new[..13], old[..]);
        assert_eq!(Parked::decode(&k, &new).unwrap(), p);
        for len in [0, 12, 14, 20, 22] {
            let mut v = new.clone();
            v.resize(len, 0);
            assert!(
                matches!(Parked::decode(&k, &v), Err(StoreError::Corrupt { .. })),
                "{len} bytes"
            );
        }
        let mut bad_class = old;
        bad_class[8] = 2;
        assert!(Parked::decode(&k, &bad_class).is_err());
    }

    /// A firm's credit code is found through the index by participant,
    /// the latest one when a regulator records it again, and a store
    /// written before that index (keys by hash alone) is keyed so on
    /// opening.
    #[test]
    fn credit_codes_are_found_by_participant_and_old_stores_are_keyed_on_opening() {
        use crate::graph::{Graph, MemGraph};
        use crate::ledger::{Ledger, LedgerConfig};
        use crate::store::MemoryStore;
        use crate::workload::{generate, Shape};

        let w = generate(Shape::for_records(300));
        let now = w.records.iter().map(|r| r.record.time).max().unwrap() + 1;
        let codes: Vec<(Hash, Record)> = w
            .records
            .iter()
            .filter(|r| matches!(r.record.event, Event::Identify { .. }))
            .map(|r| (r.hash(), r.record.clone()))
            .collect();
        assert!(codes.len() >= 2, "the workload registers cooperatives");
        let mut ledger = Ledger::create(
            MemoryStore::new(),
            w.genesis.clone(),
            LedgerConfig::default(),
        )
        .unwrap();
        ledger.ingest(w.records.clone(), now).unwrap();
        let graph = MemGraph::new(&w.genesis, w.records.clone());
        for (_, r) in &codes {
            let Event::Identify { participant, uscc } = &r.event else {
                unreachable!()
            };
            let reader = ledger.readers().latest();
            assert_eq!(
                reader.credit_code(participant).unwrap().as_ref(),
                Some(uscc)
            );
            assert_eq!(graph.credit_code(participant).unwrap().as_ref(), Some(uscc));
        }
        assert_eq!(
            ledger
                .readers()
                .latest()
                .credit_code(&PublicKey([0; 32]))
                .unwrap(),
            None
        );

        // The same store as an older version wrote it.
        let store = ledger.close().unwrap();
        for (h, r) in &codes {
            store.delete(&kind_key(h, r)).unwrap();
            store.put(&unkeyed_identify_key(h), &[]).unwrap();
        }
        store.flush().unwrap();
        let reopened = Ledger::open(store, LedgerConfig::default()).unwrap();
        let reader = reopened.readers().latest();
        assert!(reader.kv().identified_unkeyed().unwrap().is_empty());
        for (_, r) in &codes {
            let Event::Identify { participant, uscc } = &r.event else {
                unreachable!()
            };
            assert_eq!(
                reader.credit_code(participant).unwrap().as_ref(),
                Some(uscc)
            );
        }
    }

    /// A crash copy that does not parse decides nothing and is removed on
    /// opening, as is the copy of a record the ledger holds by now.
    #[test]
    fn unusable_crash_copies_are_removed_on_opening() {
        use crate::ledger::{Ledger, LedgerConfig};
        use crate::store::MemoryStore;
        use crate::workload::{generate, Shape};

        let w = generate(Shape::for_records(50));
        let now = w.records.iter().map(|r| r.record.time).max().unwrap() + 1;
        let mut ledger = Ledger::create(
            MemoryStore::new(),
            w.genesis.clone(),
            LedgerConfig::default(),
        )
        .unwrap();
        ledger.ingest(w.records.clone(), now).unwrap();
        let store = ledger.close().unwrap();
        let held = w.records[3].hash();
        let junk = Hash::of(b"junk");
        let mut copy = vec![13];
        copy.extend_from_slice(&[0; 13]);
        copy.extend_from_slice(&w.records[3].encode());
        store.put(&parked_log_key(&held), &copy).unwrap();
        store.put(&parked_log_key(&junk), &[200, 1, 2]).unwrap();
        store.flush().unwrap();
        assert_eq!(parked_copies(&store).unwrap().len(), 2);
        let reopened = Ledger::open(store, LedgerConfig::default()).unwrap();
        assert_eq!(reopened.pending_len(), 0);
        let store = reopened.close().unwrap();
        assert!(parked_copies(&store).unwrap().is_empty());
    }
}
