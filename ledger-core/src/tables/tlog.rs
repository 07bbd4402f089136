//! The transparency log's tables: the Merkle tree's rows, the leaves'
//! record hashes, where each record sits in the log, the status map's
//! versions and the final checkpoints.
//!
//! | table | key | value |
//! |---|---|---|
//! | `T` | level, row (BE) | up to 256 node hashes of that level: the complete subtrees over leaves `[i << level, (i + 1) << level)` for `i` in the row; levels 8, 16, … only (see `tlog::level_is_kept`) |
//! | `E` | row (BE) | up to 256 record hashes: the log's entries (leaf data) |
//! | `X` | local log seq / 256 (BE) | the leaf index (BE) of each of 256 records of this node's log, in its order (`u64::MAX`: not in the log) |
//! | `Z` | lot key, height (BE) | the lot's status from that checkpoint on |
//! | `C` | height (BE) | the final checkpoint: its signed note and the cut's tips |
//! | `mcheckpoint` | — | the newest final checkpoint's height |
//! | `mtlogcursor` | — | a local log seq at or before which every record is in the log |
//!
//! Everything a checkpoint adds is written before its `C` entry and
//! flushed with it, so the newest `C` entry says how much of the rest is
//! real: rows are read only up to the tree size it states, leaf indexes
//! at or past it and map versions above its height are leftovers of an
//! apply a crash cut short, and the next apply overwrites them.

use bincode::{Decode, Encode};

use super::{be_u64, corrupt, hash_list, key, Kv, KvWrite};
use crate::encoding;
use crate::error::StoreError;
use crate::hash::Hash;

const ROW: u8 = b'T';
const ENTRIES: u8 = b'E';
const LEAF_ROW: u8 = b'X';
const MAP: u8 = b'Z';
const CHECKPOINT: u8 = b'C';
/// The height of the newest final checkpoint, written after its `C` entry.
const LAST_CHECKPOINT: &[u8] = b"mcheckpoint";
/// A local log seq at or before which every record is in the log.
const LOG_CURSOR: &[u8] = b"mtlogcursor";
/// A leaf-row slot for a record not in the log.
const NOT_LOGGED: u64 = u64::MAX;

/// Largest stored checkpoint (note and tips) read back: 100,000 tips.
const MAX_STORED_CHECKPOINT: usize = 4 * 1024 * 1024;

/// Hashes per row: a C2SP tile's width, so rows at levels 0, 8, 16 … are
/// the tiles a log serves.
pub(crate) const ROW_WIDTH: u64 = 256;

/// A final checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(crate) struct StoredCheckpoint {
    /// The signed note, with every signature gathered.
    pub(crate) note: Vec<u8>,
    /// The cut's tips: the records whose causal past, less what earlier
    /// checkpoints hold, this one appended.
    pub(crate) tips: Vec<Hash>,
}

fn row_key(level: u8, row: u64) -> Vec<u8> {
    key(&[&[ROW, level], &row.to_be_bytes()])
}

fn entries_key(row: u64) -> Vec<u8> {
    key(&[&[ENTRIES], &row.to_be_bytes()])
}

fn leaf_row_key(row: u64) -> Vec<u8> {
    key(&[&[LEAF_ROW], &row.to_be_bytes()])
}

/// The leaf indexes of a leaf row, `NOT_LOGGED` where a record is not in
/// the log.
fn leaf_row(k: &[u8], v: &[u8]) -> Result<Vec<u64>, StoreError> {
    if v.len() % 8 != 0 {
        return Err(corrupt(k, "leaf row is not a list of 8-byte indexes"));
    }
    Ok(v.chunks_exact(8)
        .filter_map(|c| c.try_into().ok().map(u64::from_be_bytes))
        .collect())
}

fn map_key(lot: &Hash, height: u64) -> Vec<u8> {
    key(&[&[MAP], &lot.0, &height.to_be_bytes()])
}

fn checkpoint_key(height: u64) -> Vec<u8> {
    key(&[&[CHECKPOINT], &height.to_be_bytes()])
}

/// Whether a key is one an apply writes last, in this order: the final
/// checkpoint's, then the pointer to it.
pub(crate) fn apply_order(k: &[u8]) -> u8 {
    match k.first() {
        Some(&CHECKPOINT) => 1,
        _ if k == LAST_CHECKPOINT => 2,
        _ => 0,
    }
}

fn decode_checkpoint(k: &[u8], v: &[u8]) -> Result<StoredCheckpoint, StoreError> {
    encoding::decode(v, MAX_STORED_CHECKPOINT, "stored checkpoint")
        .map_err(|e| corrupt(k, e.to_string()))
}

/// Typed reads of the log's tables.
pub(crate) trait LogTables: Kv {
    /// A row of node hashes (possibly longer than the tree it is read
    /// for: the caller cuts it to the tree's size).
    fn log_row(&self, level: u8, row: u64) -> Result<Vec<Hash>, StoreError> {
        let k = row_key(level, row);
        match self.get(&k)? {
            Some(v) => hash_list(&k, &v),
            None => Ok(Vec::new()),
        }
    }

    /// A row of entries: the record hashes of 256 leaves.
    fn log_entries(&self, row: u64) -> Result<Vec<Hash>, StoreError> {
        let k = entries_key(row);
        match self.get(&k)? {
            Some(v) => hash_list(&k, &v),
            None => Ok(Vec::new()),
        }
    }

    /// Where the record at local log seq `local` was appended (check it
    /// against the tree size).
    fn leaf_index_at(&self, local: u64) -> Result<Option<u64>, StoreError> {
        let k = leaf_row_key(local / ROW_WIDTH);
        let Some(v) = self.get(&k)? else {
            return Ok(None);
        };
        if v.len() % 8 != 0 {
            return Err(corrupt(&k, "leaf row is not a list of 8-byte indexes"));
        }
        let at = usize::try_from(local % ROW_WIDTH).unwrap_or(usize::MAX) * 8;
        Ok(be_u64(v.get(at..at.saturating_add(8))).filter(|i| *i != NOT_LOGGED))
    }

    /// A leaf row as stored (for extending it).
    fn leaf_row(&self, row: u64) -> Result<Vec<u64>, StoreError> {
        let k = leaf_row_key(row);
        match self.get(&k)? {
            Some(v) => leaf_row(&k, &v),
            None => Ok(Vec::new()),
        }
    }

    /// A local log seq at or before which every record is in the log.
    fn tlog_cursor(&self) -> Result<u64, StoreError> {
        match self.get(LOG_CURSOR)? {
            None => Ok(0),
            Some(v) => be_u64(Some(&v)).ok_or_else(|| corrupt(LOG_CURSOR, "not 8 bytes")),
        }
    }

    /// Every stored map version: (lot key, height, status bytes), in key
    /// order.
    fn map_versions(&self) -> Result<Vec<(Hash, u64, Vec<u8>)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.scan(&[MAP])? {
            let lot = k
                .get(1..33)
                .and_then(|b| b.try_into().ok())
                .map(Hash)
                .ok_or_else(|| corrupt(&k, "map key is not 41 bytes"))?;
            let height = be_u64(k.get(33..41)).ok_or_else(|| corrupt(&k, "map key height"))?;
            out.push((lot, height, v));
        }
        Ok(out)
    }

    /// The final checkpoint at `height`.
    fn final_checkpoint(&self, height: u64) -> Result<Option<StoredCheckpoint>, StoreError> {
        let k = checkpoint_key(height);
        self.get(&k)?.map(|v| decode_checkpoint(&k, &v)).transpose()
    }

    /// The newest final checkpoint and its height.
    fn last_checkpoint(&self) -> Result<Option<(u64, StoredCheckpoint)>, StoreError> {
        let Some(v) = self.get(LAST_CHECKPOINT)? else {
            return Ok(None);
        };
        let height =
            be_u64(Some(&v)).ok_or_else(|| corrupt(LAST_CHECKPOINT, "height is not 8 bytes"))?;
        match self.final_checkpoint(height)? {
            Some(c) => Ok(Some((height, c))),
            None => Err(corrupt(
                LAST_CHECKPOINT,
                format!("checkpoint {height} is absent"),
            )),
        }
    }
}

impl<T: Kv + ?Sized> LogTables for T {}

/// Typed writes of the log's tables.
pub(crate) trait LogTablesMut: KvWrite {
    /// A row of node hashes.
    fn put_log_row(&mut self, level: u8, row: u64, hashes: &[Hash]) {
        self.put(
            row_key(level, row),
            hashes.iter().flat_map(|h| h.0).collect(),
        );
    }

    /// A row of entries.
    fn put_log_entries(&mut self, row: u64, hashes: &[Hash]) {
        self.put(entries_key(row), hashes.iter().flat_map(|h| h.0).collect());
    }

    /// A leaf row: the leaf index of each of 256 local log seqs
    /// (`None`: not in the log).
    fn put_leaf_row(&mut self, row: u64, indexes: &[Option<u64>]) {
        let bytes = indexes
            .iter()
            .flat_map(|i| i.unwrap_or(NOT_LOGGED).to_be_bytes())
            .collect();
        self.put(leaf_row_key(row), bytes);
    }

    /// A local log seq at or before which every record is in the log.
    fn put_tlog_cursor(&mut self, local: u64) {
        self.put(LOG_CURSOR.to_vec(), local.to_be_bytes().to_vec());
    }

    /// A lot's status from `height` on.
    fn put_map_version(&mut self, lot: &Hash, height: u64, status: Vec<u8>) {
        self.put(map_key(lot, height), status);
    }

    /// A final checkpoint.
    fn put_final_checkpoint(&mut self, height: u64, c: &StoredCheckpoint) {
        self.put(checkpoint_key(height), encoding::encode(c));
        self.put(LAST_CHECKPOINT.to_vec(), height.to_be_bytes().to_vec());
    }
}

impl<T: KvWrite + ?Sized> LogTablesMut for T {}
