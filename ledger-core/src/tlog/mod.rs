//! The transparency log over all records, which checkpoints state.
//!
//! Each final checkpoint appends the records new in its **cut** — the
//! causal past of a few records (its *tips*) less what earlier checkpoints
//! appended — in hash order, as RFC 9162 leaves whose data is the record
//! hash. Every node holding those records computes the same tree, the same
//! root and the same lot status map ([`map`]), so a node checks a
//! checkpoint by recomputing it, and applies it only once `k` authorities
//! signed it. A record accepted after a cut (a farm that was offline for a
//! week) lands in a later checkpoint, which then shows it existed by that
//! checkpoint's time.
//!
//! - this module: the log as a reader sees it, extending it by a cut, and
//!   the proofs it serves (inclusion, consistency, batch, tiles);
//! - [`map`]: the status map and its proofs;
//! - [`effects`]: what a cut's records change in the map.

mod effects;
pub mod map;
mod unlogged;

pub use self::unlogged::MAX_UNLOGGED;
pub(crate) use self::unlogged::{Summary, Unlogged};

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{cut_hash, Checkpoint, SignedCheckpoint};
use crate::error::StoreError;
use crate::event::LotId;
use crate::hash::Hash;
use crate::merkle::{self, Frontier, Nodes};
use crate::reader::Reader;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::{Kv, LogTables, Tables, ROW_WIDTH};

use self::map::{lot_key, LotStatus, MapProof, StatusMap};

/// Most records one checkpoint may append: a node must hold the new
/// records' hashes and the cut's closure in memory while it checks one.
pub const MAX_CHECKPOINT_RECORDS: usize = 1_000_000;

/// Most tips a cut may name.
pub const MAX_TIPS: usize = 100_000;

/// The log as of the newest final checkpoint a ledger applied.
#[derive(Debug, Clone, Default)]
pub struct LogState {
    /// The newest final checkpoint, every signature gathered so far.
    pub checkpoint: Option<SignedCheckpoint>,
    /// The status map it states.
    pub map: Arc<StatusMap>,
}

impl LogState {
    /// Records in the log.
    pub fn size(&self) -> u64 {
        self.checkpoint.as_ref().map_or(0, |c| c.checkpoint.size)
    }

    /// The height the next checkpoint has.
    pub fn next_height(&self) -> u64 {
        self.checkpoint
            .as_ref()
            .map_or(0, |c| c.checkpoint.height.saturating_add(1))
    }

    /// The newest checkpoint's hash (what the next one names as prev).
    pub fn head(&self) -> Option<Hash> {
        self.checkpoint.as_ref().map(|c| c.checkpoint.hash())
    }
}

/// Why a cut cannot be turned into a checkpoint here.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtendError {
    /// The cut names records this node has not accepted (yet): it can
    /// check the checkpoint once it holds them.
    #[error("this node lacks {} record(s) of the cut (first {})", .0.len(), .0.first().map(Hash::short).unwrap_or_default())]
    Missing(Vec<Hash>),
    /// More tips or new records than one checkpoint may hold.
    #[error("the cut is too large: {what} ({got}, at most {max})")]
    TooLarge {
        /// What is counted.
        what: &'static str,
        /// How many.
        got: usize,
        /// The bound.
        max: usize,
    },
    /// A checkpoint was being applied while the cut was read: read it
    /// again.
    #[error("the log moved on while the cut was read; try again")]
    Moved,
    /// Reading the ledger failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A checkpoint and the status map's proofs for some lots under it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct StatusProofs {
    /// The checkpoint's signed note (C2SP text).
    pub note: String,
    /// One proof per lot asked for, in the order asked.
    pub proofs: Vec<LotProof>,
}

/// One lot's status proof.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct LotProof {
    /// The lot.
    pub lot: LotId,
    /// Its entry in the map, or the neighbours that prove it has none.
    pub proof: MapProof,
}

/// What appending a cut to the log gives: a checkpoint's contents, before
/// anyone signed them.
#[derive(Debug, Clone)]
pub struct Extension {
    /// Height of the checkpoint it makes.
    pub height: u64,
    /// The checkpoint it extends.
    pub prev: Option<Hash>,
    /// The cut's tips, sorted.
    pub tips: Vec<Hash>,
    /// The records appended, in log order (hash order).
    pub records: Vec<Hash>,
    /// Where each of them is in this node's acceptance log.
    pub(crate) locals: Vec<u64>,
    /// Size before.
    pub start: u64,
    /// The tree's root after.
    pub root: Hash,
    /// The status map after.
    pub map: Arc<StatusMap>,
    /// The entries the cut changed (their new values).
    pub map_changes: BTreeMap<Hash, LotStatus>,
    /// Complete subtrees the new leaves finished at the levels kept in
    /// rows: (level, index, hash).
    pub(crate) nodes: Vec<(u8, u64, Hash)>,
}

impl Extension {
    /// Records in the log after.
    pub fn size(&self) -> u64 {
        self.start + self.records.len() as u64
    }

    /// The checkpoint stating this extension, made at `time` (ms).
    pub fn checkpoint(&self, network: crate::hash::NetworkId, time: u64) -> Checkpoint {
        Checkpoint {
            network,
            size: self.size(),
            root: self.root,
            height: self.height,
            time,
            map_size: self.map.len(),
            map_root: self.map.root(),
            cut: cut_hash(&self.tips),
            prev: self.prev,
        }
    }

    /// Whether `c` states exactly this extension (any time).
    pub fn matches(&self, c: &Checkpoint) -> bool {
        c.height == self.height
            && c.prev == self.prev
            && c.size == self.size()
            && c.root == self.root
            && c.map_size == self.map.len()
            && c.map_root == self.map.root()
            && c.cut == cut_hash(&self.tips)
    }
}

/// The stored tree as of `size` leaves.
pub(crate) struct StoredTree<'a, K: Kv + ?Sized> {
    pub(crate) kv: &'a K,
    pub(crate) size: u64,
}

/// Tree levels kept in rows: every eighth from 8 (the C2SP tile levels
/// above the leaves). Leaf hashes come from the entries, and a node of a
/// level between two kept ones is hashed from at most 128 nodes of the
/// kept level below it: a quarter of the bytes per record to write when a
/// checkpoint is applied, for a few hundred hashes more per proof.
pub(crate) fn level_is_kept(level: u8) -> bool {
    level > 0 && level % 8 == 0
}

impl<K: Kv + ?Sized> StoredTree<'_, K> {
    /// `count` consecutive nodes of a kept level (or the leaves), from
    /// `start`, all within one row.
    fn row_nodes(&self, level: u8, start: u64, count: u64) -> Result<Vec<Hash>, StoreError> {
        let row = start / ROW_WIDTH;
        let from = usize::try_from(start % ROW_WIDTH).unwrap_or(usize::MAX);
        let to = from.saturating_add(usize::try_from(count).unwrap_or(usize::MAX));
        let nodes: Vec<Hash> = if level == 0 {
            self.kv
                .log_entries(row)?
                .get(from..to)
                .map(|e| e.iter().map(record_leaf).collect())
                .unwrap_or_default()
        } else {
            self.kv
                .log_row(level, row)?
                .get(from..to)
                .map(<[Hash]>::to_vec)
                .unwrap_or_default()
        };
        if nodes.len() as u64 != count {
            return Err(StoreError::Corrupt {
                key: format!("log tree level {level} row {row}"),
                why: format!(
                    "holds fewer than the {count} nodes from {start} a tree of {} leaves has",
                    self.size
                ),
            });
        }
        Ok(nodes)
    }
}

impl<K: Kv + ?Sized> Nodes for StoredTree<'_, K> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash, StoreError> {
        let complete = self.size.checked_shr(u32::from(level)).unwrap_or(0);
        if index >= complete {
            return Err(StoreError::Corrupt {
                key: format!("log tree level {level} node {index}"),
                why: format!("absent from a tree of {} leaves", self.size),
            });
        }
        // The kept level at or below, and how far above it this is.
        let up = level % 8;
        let base = level - up;
        let width = 1u64 << up;
        let mut nodes = self.row_nodes(base, index << up, width)?;
        while nodes.len() > 1 {
            nodes = nodes
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
        }
        nodes.pop().ok_or_else(|| StoreError::Corrupt {
            key: format!("log tree level {level} node {index}"),
            why: "no nodes".into(),
        })
    }
}

/// The leaf of a record: its hash is the leaf data.
pub fn record_leaf(h: &Hash) -> Hash {
    merkle::leaf_hash(&h.0)
}

/// A right edge rebuilt from the stored tree.
fn frontier<K: Kv + ?Sized>(tree: &StoredTree<'_, K>) -> Result<Frontier, StoreError> {
    let mut peaks = Vec::new();
    let mut start = 0u64;
    for level in (0..64u8).rev() {
        if tree.size & (1u64 << level) != 0 {
            peaks.push(tree.node(level, start >> level)?);
            start += 1u64 << level;
        }
    }
    Frontier::from_parts(tree.size, peaks).map_err(|e| StoreError::Corrupt {
        key: "log tree".into(),
        why: e.to_string(),
    })
}

impl<S: Store> Reader<S> {
    /// The log as of the newest final checkpoint this reader sees.
    pub fn log(&self) -> &LogState {
        self.log_state()
    }

    /// The signed note of the final checkpoint at `height`, with every
    /// signature gathered, or `None` above the newest this reader sees.
    pub fn checkpoint_note(&self, height: u64) -> Result<Option<String>, StoreError> {
        Ok(self.final_checkpoint(height)?.map(|(note, _)| note))
    }

    /// Whether a record is in the log, and where.
    pub fn leaf_index(&self, h: &Hash) -> Result<Option<u64>, StoreError> {
        let kv = self.kv();
        let Some(local) = kv.seq_of(h)? else {
            return Ok(None);
        };
        self.leaf_index_at(local)
    }

    /// Where the record at local log seq `local` is in the log.
    fn leaf_index_at(&self, local: u64) -> Result<Option<u64>, StoreError> {
        let size = self.log().size();
        Ok(self.kv().leaf_index_at(local)?.filter(|i| *i < size))
    }

    /// What appending the cut named by `tips` gives: the records of their
    /// causal past not in the log yet, in hash order, the new root and
    /// the new status map. Every node holding the records computes the
    /// same.
    pub fn extend_log(&self, tips: &[Hash]) -> Result<Extension, ExtendError> {
        if tips.len() > MAX_TIPS {
            return Err(ExtendError::TooLarge {
                what: "tips",
                got: tips.len(),
                max: MAX_TIPS,
            });
        }
        let state = self.log().clone();
        let kv = self.kv();
        let new = self.cut(tips)?;
        let tree = StoredTree {
            kv: &kv,
            size: state.size(),
        };
        let mut edge = frontier(&tree)?;
        let mut nodes = Vec::with_capacity(new.len() * 2);
        for h in new.keys() {
            edge.push(record_leaf(h), &mut nodes);
        }
        nodes.retain(|(level, _, _)| level_is_kept(*level));
        let map_changes = effects::changes(self, &state, &new)?;
        let map = Arc::new(state.map.with(&map_changes));
        let mut tips: Vec<Hash> = tips.to_vec();
        tips.sort();
        tips.dedup();
        Ok(Extension {
            height: state.next_height(),
            prev: state.head(),
            tips,
            records: new.keys().copied().collect(),
            locals: new.values().map(|s| s.local).collect(),
            start: state.size(),
            root: edge.root(),
            map,
            map_changes,
            nodes,
        })
    }

    /// The records of the tips' causal past not in the log yet, by hash:
    /// from the summaries kept as records land, and from the store only
    /// for what they lack (records taken in past [`MAX_UNLOGGED`]).
    fn cut(&self, tips: &[Hash]) -> Result<BTreeMap<Hash, Arc<Summary>>, ExtendError> {
        let unlogged = self.unlogged();
        if unlogged.next_height != self.log().next_height() {
            return Err(ExtendError::Moved);
        }
        // Every record a kept record names was stored before it was
        // accepted; with every unlogged record kept, one named and not
        // kept is in the log, and needs no reading.
        let complete = unlogged.complete();
        let mut new = BTreeMap::new();
        let mut missing = BTreeSet::new();
        let mut todo: Vec<(Hash, bool)> = tips.iter().map(|h| (*h, true)).collect();
        while let Some((h, tip)) = todo.pop() {
            if new.contains_key(&h) || missing.contains(&h) {
                continue;
            }
            let summary = match unlogged.get(&h) {
                Some(s) => Arc::clone(s),
                None if complete && !tip => continue,
                None => match self.kv().seq_of(&h)? {
                    // Stored: in the log, or unlogged and not kept.
                    Some(local) if self.leaf_index_at(local)?.is_some() => continue,
                    Some(_) if complete => continue,
                    Some(local) => match self.kv().logged(local)? {
                        Some(r) => Arc::new(Summary::of(local, &r)),
                        None => {
                            missing.insert(h);
                            continue;
                        }
                    },
                    None => {
                        missing.insert(h);
                        continue;
                    }
                },
            };
            todo.extend(summary.named().map(|n| (*n, false)));
            new.insert(h, summary);
            if new.len() > MAX_CHECKPOINT_RECORDS {
                return Err(ExtendError::TooLarge {
                    what: "new records",
                    got: new.len(),
                    max: MAX_CHECKPOINT_RECORDS,
                });
            }
        }
        if !missing.is_empty() {
            return Err(ExtendError::Missing(missing.into_iter().collect()));
        }
        Ok(new)
    }

    /// The tips of everything accepted and not in the log: the records
    /// no other unlogged record names, in hash order. From memory; when
    /// more records are unlogged than are kept there, by reading this
    /// node's log after the local log seq before which everything is
    /// logged.
    pub fn unlogged_tips(&self) -> Result<Vec<Hash>, StoreError> {
        {
            let unlogged = self.unlogged();
            if unlogged.complete() {
                return Ok(unlogged.tips());
            }
        }
        let after = self.kv().tlog_cursor()?;
        let mut named_by: BTreeMap<Hash, Vec<Hash>> = BTreeMap::new();
        let mut damaged = None;
        self.for_each_logged_after(after, |local, bytes| {
            let r = match SignedRecord::decode(bytes) {
                Ok(r) => r,
                Err(e) => {
                    damaged = Some(StoreError::Corrupt {
                        key: format!("log seq {local}"),
                        why: e.to_string(),
                    });
                    return false;
                }
            };
            match self.leaf_index_at(local) {
                Ok(Some(_)) => {}
                Ok(None) => {
                    let mut named = r.record.deps.clone();
                    named.extend(r.record.prev);
                    named_by.insert(r.hash(), named);
                }
                Err(e) => {
                    damaged = Some(e);
                    return false;
                }
            }
            true
        })?;
        if let Some(e) = damaged {
            return Err(e);
        }
        let named: BTreeSet<Hash> = named_by.values().flatten().copied().collect();
        Ok(named_by
            .keys()
            .filter(|h| !named.contains(h))
            .copied()
            .collect())
    }

    /// Records accepted and not yet logged that this reader keeps in
    /// memory.
    pub fn unlogged_len(&self) -> usize {
        self.unlogged().len()
    }

    /// The final checkpoint at `height` as applied here: its signed note
    /// (every signature gathered) and its cut's tips.
    pub fn final_checkpoint(&self, height: u64) -> Result<Option<(String, Vec<Hash>)>, StoreError> {
        if height >= self.log().next_height() {
            return Ok(None);
        }
        let Some(stored) = self.kv().final_checkpoint(height)? else {
            return Ok(None);
        };
        let note = String::from_utf8(stored.note).map_err(|e| StoreError::Corrupt {
            key: format!("checkpoint {height}"),
            why: e.to_string(),
        })?;
        Ok(Some((note, stored.tips)))
    }

    /// RFC 9162 inclusion proof of the record `h` in the tree of the
    /// newest checkpoint: its leaf index and audit path, or `None` when
    /// it is not in the log yet.
    pub fn inclusion(&self, h: &Hash) -> Result<Option<(u64, Vec<Hash>)>, StoreError> {
        let Some(index) = self.leaf_index(h)? else {
            return Ok(None);
        };
        let path = self.inclusion_at(index, self.log().size())?;
        Ok(Some((index, path)))
    }

    /// RFC 9162 inclusion proof of leaf `index` in the tree of `size`
    /// leaves (at most the newest checkpoint's).
    pub fn inclusion_at(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        let kv = self.kv();
        let tree = self.tree(&kv, size)?;
        merkle::inclusion_proof(&tree, index, size).map_err(proof_error)
    }

    /// RFC 9162 consistency proof from the tree of `old` leaves to the
    /// tree of `new` (at most the newest checkpoint's).
    pub fn consistency(&self, old: u64, new: u64) -> Result<Vec<Hash>, StoreError> {
        let kv = self.kv();
        let tree = self.tree(&kv, new)?;
        merkle::consistency_proof(&tree, old, new).map_err(proof_error)
    }

    /// A batch inclusion proof of many leaves in the newest checkpoint's
    /// tree ([`merkle::batch_proof`]); `indexes` strictly increasing.
    pub fn batch_inclusion(&self, indexes: &[u64]) -> Result<Vec<Hash>, StoreError> {
        let kv = self.kv();
        let size = self.log().size();
        let tree = self.tree(&kv, size)?;
        merkle::batch_proof(&tree, indexes, size).map_err(proof_error)
    }

    /// The status map's proof for a lot, as of the newest checkpoint.
    pub fn map_proof(&self, lot: &LotId) -> MapProof {
        self.log().map.prove(&lot_key(lot))
    }

    /// The newest checkpoint's signed note with the status map's proofs
    /// for `lots`, from one consistent view: what a verifier needs to
    /// check a bundle's lots against the latest checkpoint. `None` when
    /// no checkpoint is final yet.
    pub fn status_proofs(&self, lots: &[LotId]) -> Option<StatusProofs> {
        let checkpoint = self.log().checkpoint.as_ref()?;
        Some(StatusProofs {
            note: checkpoint.to_note(),
            proofs: lots
                .iter()
                .map(|lot| LotProof {
                    lot: lot.clone(),
                    proof: self.map_proof(lot),
                })
                .collect(),
        })
    }

    /// A C2SP tile of the newest checkpoint's tree: `width` hashes of
    /// tile level `level` (tree level 8 × `level`) from `index × 256` on,
    /// or `None` if the tree has fewer.
    pub fn tile(&self, level: u8, index: u64, width: u16) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(tree_level) = level.checked_mul(8) else {
            return Ok(None);
        };
        let complete = self
            .log()
            .size()
            .checked_shr(u32::from(tree_level))
            .unwrap_or(0);
        let row = if tree_level == 0 {
            // Level-0 tiles are the leaf hashes: hashed from the entries.
            self.kv()
                .log_entries(index)?
                .iter()
                .map(record_leaf)
                .collect()
        } else {
            self.kv().log_row(tree_level, index)?
        };
        self.cut_tile(row.iter().map(|h| h.0.to_vec()), complete, index, width)
    }

    /// A C2SP entry bundle: the record hashes of leaves `index × 256` on,
    /// each as a big-endian u16 length (32) and the hash.
    pub fn entries_tile(&self, index: u64, width: u16) -> Result<Option<Vec<u8>>, StoreError> {
        let row = self.kv().log_entries(index)?;
        let entries = row.iter().map(|h| {
            let mut e = 32u16.to_be_bytes().to_vec();
            e.extend_from_slice(&h.0);
            e
        });
        self.cut_tile(entries, self.log().size(), index, width)
    }

    /// `width` items of a row whose level holds `complete` items, or
    /// `None` if the level does not reach that far.
    fn cut_tile(
        &self,
        items: impl Iterator<Item = Vec<u8>>,
        complete: u64,
        index: u64,
        width: u16,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let start = index.saturating_mul(ROW_WIDTH);
        let end = start.saturating_add(u64::from(width));
        if width == 0 || u64::from(width) > ROW_WIDTH || end > complete {
            return Ok(None);
        }
        let items: Vec<Vec<u8>> = items.take(usize::from(width)).collect();
        if items.len() < usize::from(width) {
            return Err(StoreError::Corrupt {
                key: format!("log tile {index}"),
                why: format!("holds {} of {width} items", items.len()),
            });
        }
        Ok(Some(items.concat()))
    }

    fn tree<'k, K: Kv + ?Sized>(
        &self,
        kv: &'k K,
        size: u64,
    ) -> Result<StoredTree<'k, K>, StoreError> {
        let newest = self.log().size();
        if size > newest {
            return Err(StoreError::Corrupt {
                key: "log tree".into(),
                why: format!("asked for {size} leaves, the newest checkpoint has {newest}"),
            });
        }
        Ok(StoredTree { kv, size })
    }
}

fn proof_error(e: merkle::ProofError<StoreError>) -> StoreError {
    match e {
        merkle::ProofError::Store(e) => e,
        other => StoreError::Corrupt {
            key: "log tree".into(),
            why: other.to_string(),
        },
    }
}
