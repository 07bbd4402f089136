//! The lot status map a checkpoint commits to: every lot with something a
//! shopper must be told (recalled, failed inspection, created by a revoked
//! or forked author, a temperature excursion — its own or upstream), as of
//! the checkpoint's tree size.
//!
//! The map is a sorted list: one entry per lot with a status, ordered by
//! its **lot key** (SHA-256 of `"terroir/lot\n"`, the source key and the
//! lot code), committed by an RFC 9162 Merkle tree over the entries. A lot
//! absent from the map has no status. Proving so takes the two neighbours
//! the key would sit between, with their inclusion proofs: adjacent
//! indexes leave no room for a third entry. Lots with a status are few
//! against all lots, so the map is small and every node keeps its tree in
//! memory.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::event::LotId;
use crate::hash::Hash;
use crate::merkle::{self, Nodes};

/// The key a lot is listed under in the status map.
pub fn lot_key(lot: &LotId) -> Hash {
    let mut bytes = Vec::with_capacity(12 + 32 + lot.code.len());
    bytes.extend_from_slice(b"terroir/lot\n");
    bytes.extend_from_slice(&lot.source.0);
    bytes.extend_from_slice(lot.code.as_bytes());
    Hash::of(&bytes)
}

/// One kind of status (a bit of [`LotStatus`]'s sets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusKind {
    /// A regulator recalled the lot.
    Recalled,
    /// An inspection or lab test of the lot failed.
    FailedInspection,
    /// The record that created the lot is by a key revoked before it.
    AuthorRevoked,
    /// The record that created the lot is by an author that signed two
    /// records at one seq, at or before it.
    AuthorForked,
    /// A sensor reading on the lot lay outside its allowed range.
    Excursion,
}

impl StatusKind {
    /// Every kind, most severe first.
    pub const ALL: [StatusKind; 5] = [
        StatusKind::Recalled,
        StatusKind::FailedInspection,
        StatusKind::AuthorRevoked,
        StatusKind::AuthorForked,
        StatusKind::Excursion,
    ];

    fn bit(self) -> u8 {
        match self {
            StatusKind::Recalled => 1,
            StatusKind::FailedInspection => 2,
            StatusKind::AuthorRevoked => 4,
            StatusKind::AuthorForked => 8,
            StatusKind::Excursion => 16,
        }
    }

    /// How serious, for choosing which cause to name (higher is worse).
    fn severity(self) -> u8 {
        match self {
            StatusKind::Recalled => 4,
            StatusKind::FailedInspection => 3,
            StatusKind::AuthorRevoked | StatusKind::AuthorForked => 2,
            StatusKind::Excursion => 1,
        }
    }

    /// Plain words.
    pub fn describe(self) -> &'static str {
        match self {
            StatusKind::Recalled => "recalled",
            StatusKind::FailedInspection => "failed inspection",
            StatusKind::AuthorRevoked => "created under a revoked key",
            StatusKind::AuthorForked => "created by an author that signed conflicting records",
            StatusKind::Excursion => "temperature or sensor excursion",
        }
    }
}

const ALL_BITS: u8 = 31;

/// A lot's entry in the status map. In JSON: `{"own": ["recalled"],
/// "upstream": [], "cause": "<hex>"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(into = "StatusJson", try_from = "StatusJson")]
pub struct LotStatus {
    /// Statuses of the lot itself (bits of [`StatusKind`]).
    own: u8,
    /// Statuses of lots it was made from, through transforms.
    upstream: u8,
    /// The smallest-hash record establishing its most severe status (a
    /// recall, an inspection, a revocation, a fork's record, an
    /// observation), its own or upstream.
    pub cause: Hash,
}

/// Bytes of a map entry's value; the leaf is the lot key and this.
pub const STATUS_BYTES: usize = 34;

impl LotStatus {
    /// A status of the lot itself.
    pub fn own(kind: StatusKind, cause: Hash) -> Self {
        LotStatus {
            own: kind.bit(),
            upstream: 0,
            cause,
        }
    }

    /// What this status means for a lot made from this one.
    pub fn passed_down(&self) -> Self {
        LotStatus {
            own: 0,
            upstream: self.own | self.upstream,
            cause: self.cause,
        }
    }

    /// Whether the lot itself has `kind`.
    pub fn has_own(&self, kind: StatusKind) -> bool {
        self.own & kind.bit() != 0
    }

    /// Whether a lot upstream has `kind`.
    pub fn has_upstream(&self, kind: StatusKind) -> bool {
        self.upstream & kind.bit() != 0
    }

    /// The kinds, own or upstream, most severe first.
    pub fn kinds(&self) -> Vec<StatusKind> {
        StatusKind::ALL
            .into_iter()
            .filter(|k| (self.own | self.upstream) & k.bit() != 0)
            .collect()
    }

    /// The most severe kind.
    pub fn worst(&self) -> Option<StatusKind> {
        self.kinds().into_iter().next()
    }

    fn severity(&self) -> u8 {
        self.worst().map_or(0, StatusKind::severity)
    }

    /// Both statuses at once: the union of the kinds, naming the
    /// smallest-hash cause among those of the most severe. Associative,
    /// commutative and idempotent, so a map built by joining in any
    /// order is the same map.
    pub fn join(&self, other: &LotStatus) -> LotStatus {
        let own = self.own | other.own;
        let upstream = self.upstream | other.upstream;
        let joined = LotStatus {
            own,
            upstream,
            cause: self.cause,
        };
        let top = joined.severity();
        let cause = [self, other]
            .into_iter()
            .filter(|s| s.severity() == top)
            .map(|s| s.cause)
            .min()
            .unwrap_or(self.cause);
        LotStatus { cause, ..joined }
    }

    /// The value's bytes: own bits, upstream bits, cause.
    pub fn to_bytes(&self) -> [u8; STATUS_BYTES] {
        let mut out = [0u8; STATUS_BYTES];
        out[0] = self.own;
        out[1] = self.upstream;
        out[2..].copy_from_slice(&self.cause.0);
        out
    }

    /// Reads a value; `None` unless it is [`STATUS_BYTES`] long with known
    /// bits and at least one of them set.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        let (bits, cause) = b.split_first_chunk::<2>()?;
        let cause: [u8; 32] = cause.try_into().ok()?;
        let [own, upstream] = *bits;
        if (own | upstream) & !ALL_BITS != 0 || own | upstream == 0 {
            return None;
        }
        Some(LotStatus {
            own,
            upstream,
            cause: Hash(cause),
        })
    }
}

/// [`LotStatus`] as JSON shows it.
#[derive(Serialize, Deserialize)]
struct StatusJson {
    own: Vec<StatusKind>,
    upstream: Vec<StatusKind>,
    cause: Hash,
}

fn bits(kinds: &[StatusKind]) -> u8 {
    kinds.iter().fold(0, |b, k| b | k.bit())
}

impl From<LotStatus> for StatusJson {
    fn from(s: LotStatus) -> Self {
        let pick = |b: u8| {
            StatusKind::ALL
                .into_iter()
                .filter(|k| b & k.bit() != 0)
                .collect()
        };
        StatusJson {
            own: pick(s.own),
            upstream: pick(s.upstream),
            cause: s.cause,
        }
    }
}

impl TryFrom<StatusJson> for LotStatus {
    type Error = &'static str;

    fn try_from(j: StatusJson) -> Result<Self, Self::Error> {
        let mut bytes = vec![bits(&j.own), bits(&j.upstream)];
        bytes.extend_from_slice(&j.cause.0);
        LotStatus::from_bytes(&bytes).ok_or("a lot status names no kind")
    }
}

/// The leaf data of a map entry: lot key, then the status.
fn leaf_data(key: &Hash, status: &LotStatus) -> Vec<u8> {
    let mut out = Vec::with_capacity(32 + STATUS_BYTES);
    out.extend_from_slice(&key.0);
    out.extend_from_slice(&status.to_bytes());
    out
}

/// The status map with its Merkle tree, every level kept in memory.
#[derive(Debug, Clone, Default)]
pub struct StatusMap {
    entries: BTreeMap<Hash, LotStatus>,
    /// `levels[0]` the leaf hashes in key order; each next level the
    /// parents of the complete pairs below.
    levels: Vec<Vec<Hash>>,
}

impl Nodes for StatusMap {
    type Error = std::convert::Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error> {
        let found = self
            .levels
            .get(usize::from(level))
            .and_then(|l| l.get(usize::try_from(index).ok()?));
        // Only complete subtrees inside the tree are asked for, and each
        // level holds them all.
        Ok(found.copied().unwrap_or(Hash([0; 32])))
    }
}

impl StatusMap {
    /// A map of these entries.
    pub fn new(entries: BTreeMap<Hash, LotStatus>) -> Self {
        let leaves: Vec<Hash> = entries
            .iter()
            .map(|(k, s)| merkle::leaf_hash(&leaf_data(k, s)))
            .collect();
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let up = below
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        StatusMap { entries, levels }
    }

    /// Entries.
    pub fn len(&self) -> u64 {
        self.entries.len() as u64
    }

    /// Whether no lot has a status.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The root the checkpoint states.
    pub fn root(&self) -> Hash {
        let Ok(root) = merkle::root(self, self.len());
        root
    }

    /// A lot's status, by lot key.
    pub fn get(&self, key: &Hash) -> Option<&LotStatus> {
        self.entries.get(key)
    }

    /// Every entry, in key order.
    pub fn entries(&self) -> &BTreeMap<Hash, LotStatus> {
        &self.entries
    }

    /// This map with `changes` joined in.
    pub fn with(&self, changes: &BTreeMap<Hash, LotStatus>) -> Self {
        let mut entries = self.entries.clone();
        for (k, s) in changes {
            let joined = entries.get(k).map_or(*s, |o| o.join(s));
            entries.insert(*k, joined);
        }
        StatusMap::new(entries)
    }

    fn entry_proof(&self, index: usize) -> Option<MapEntryProof> {
        let (key, status) = self.entries.iter().nth(index)?;
        let index = index as u64;
        let path = merkle::inclusion_proof(self, index, self.len()).ok()?;
        Some(MapEntryProof {
            index,
            key: *key,
            status: *status,
            path,
        })
    }

    /// Proves a lot's status, or that it has none.
    pub fn prove(&self, key: &Hash) -> MapProof {
        let at = self.entries.range(..key).count();
        let present = self.entries.contains_key(key);
        match self.entry_proof(at) {
            Some(entry) if present => MapProof::Present(entry),
            right => MapProof::Absent {
                left: at.checked_sub(1).and_then(|i| self.entry_proof(i)),
                right,
            },
        }
    }
}

/// One map entry with its inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct MapEntryProof {
    /// Its position in the map.
    pub index: u64,
    /// Its lot key.
    pub key: Hash,
    /// Its status.
    pub status: LotStatus,
    /// RFC 9162 inclusion proof in the map's tree.
    pub path: Vec<Hash>,
}

/// Proof of a lot's entry in the status map, or of its absence.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MapProof {
    /// The lot's entry.
    Present(MapEntryProof),
    /// The entries just before and after where its key would be (none at
    /// an end of the map).
    Absent {
        /// The greatest key below.
        left: Option<MapEntryProof>,
        /// The least key above.
        right: Option<MapEntryProof>,
    },
}

/// A map proof that does not prove what it claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapProofError {
    /// An entry's inclusion proof fails.
    #[error("status map entry {index} does not belong to the map the checkpoint states: {reason}")]
    Inclusion {
        /// Its index.
        index: u64,
        /// Why.
        reason: merkle::VerifyError,
    },
    /// The entry shown is another lot's.
    #[error("status map proof shows another lot's entry")]
    WrongLot,
    /// The neighbours leave room for the lot, or are not neighbours.
    #[error("status map proof of absence does not prove it: {0}")]
    NotAbsent(&'static str),
}

impl MapEntryProof {
    fn verify(&self, size: u64, root: &Hash) -> Result<(), MapProofError> {
        let leaf = merkle::leaf_hash(&leaf_data(&self.key, &self.status));
        merkle::verify_inclusion(&leaf, self.index, size, &self.path, root).map_err(|reason| {
            MapProofError::Inclusion {
                index: self.index,
                reason,
            }
        })
    }
}

impl MapProof {
    /// Checks the proof for `key` against a checkpoint's map (`size`
    /// entries, `root`): the lot's status, or `None` when it has none.
    pub fn verify(
        &self,
        key: &Hash,
        size: u64,
        root: &Hash,
    ) -> Result<Option<LotStatus>, MapProofError> {
        match self {
            MapProof::Present(e) => {
                if e.key != *key {
                    return Err(MapProofError::WrongLot);
                }
                e.verify(size, root)?;
                Ok(Some(e.status))
            }
            MapProof::Absent { left, right } => {
                for e in left.iter().chain(right) {
                    e.verify(size, root)?;
                }
                match (left, right) {
                    (None, None) if size == 0 && *root == merkle::empty_root() => Ok(None),
                    (None, None) => Err(MapProofError::NotAbsent("the map is not empty")),
                    (None, Some(r)) if r.index == 0 && r.key > *key => Ok(None),
                    (Some(l), None) if l.index + 1 == size && l.key < *key => Ok(None),
                    (Some(l), Some(r))
                        if l.index + 1 == r.index && l.key < *key && *key < r.key =>
                    {
                        Ok(None)
                    }
                    _ => Err(MapProofError::NotAbsent(
                        "the entries shown are not the lot key's neighbours",
                    )),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn status() -> impl Strategy<Value = LotStatus> {
        (0u8..32, 0u8..32, 0u8..4)
            .prop_filter("some kind", |(o, u, _)| o | u != 0)
            .prop_map(|(own, upstream, c)| LotStatus {
                own,
                upstream,
                cause: Hash([c; 32]),
            })
    }

    proptest! {
        /// Joining is associative, commutative and idempotent, so a map
        /// built by joining in any order is the same map.
        #[test]
        fn join_is_a_semilattice(a in status(), b in status(), c in status()) {
            prop_assert_eq!(a.join(&b), b.join(&a));
            prop_assert_eq!(a.join(&b).join(&c), a.join(&b.join(&c)));
            prop_assert_eq!(a.join(&a), a);
        }

        /// Bytes round-trip, and any map proves each entry and the absence
        /// of keys between them.
        #[test]
        fn proofs_hold_for_any_map(keys in proptest::collection::btree_set(any::<[u8; 32]>(), 0..40), probe in any::<[u8; 32]>()) {
            let entries: BTreeMap<Hash, LotStatus> = keys
                .iter()
                .map(|k| (Hash(*k), LotStatus::own(StatusKind::Recalled, Hash(*k))))
                .collect();
            let map = StatusMap::new(entries.clone());
            for (k, s) in &entries {
                prop_assert_eq!(LotStatus::from_bytes(&s.to_bytes()), Some(*s));
                prop_assert_eq!(map.prove(k).verify(k, map.len(), &map.root()), Ok(Some(*s)));
            }
            let probe = Hash(probe);
            let expected = entries.get(&probe).copied();
            prop_assert_eq!(map.prove(&probe).verify(&probe, map.len(), &map.root()), Ok(expected));
        }
    }

    #[test]
    fn the_worst_kind_names_the_cause() {
        let recall = LotStatus::own(StatusKind::Recalled, Hash([9; 32]));
        let excursion = LotStatus::own(StatusKind::Excursion, Hash([1; 32]));
        let joined = excursion.join(&recall.passed_down());
        assert_eq!(joined.worst(), Some(StatusKind::Recalled));
        assert_eq!(joined.cause, Hash([9; 32]));
        assert!(joined.has_upstream(StatusKind::Recalled) && joined.has_own(StatusKind::Excursion));
        assert_eq!(LotStatus::from_bytes(&[0; STATUS_BYTES]), None, "no kind");
        assert_eq!(
            LotStatus::from_bytes(&[64; STATUS_BYTES]),
            None,
            "unknown kind"
        );
        assert_eq!(LotStatus::from_bytes(&[1; 3]), None, "short");
    }
}
