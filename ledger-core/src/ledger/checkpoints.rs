//! Applying final checkpoints to the stored log, and loading the newest
//! one on opening.
//!
//! A final checkpoint is applied only after this ledger recomputed it from
//! its own records (see [`crate::tlog`]): the entries, the tree's new
//! nodes, the leaf indexes and the map's changed entries are written, then
//! the checkpoint itself and the pointer to it, then one flush. A crash
//! keeps a prefix of those writes, so the pointer names a checkpoint only
//! once everything it states is stored; leftovers past it are ignored and
//! overwritten by the next apply.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::Ledger;
use crate::checkpoint::{contradiction, ConflictProof, NoteError, SignedCheckpoint};
use crate::error::StoreError;
use crate::hash::Hash;
use crate::store::Store;
use crate::tables::{apply_order, LogTables, LogTablesMut, StoredCheckpoint, ROW_WIDTH};
use crate::tail::{Layered, Writes};
use crate::tlog::map::{LotStatus, StatusMap};
use crate::tlog::{level_is_kept, ExtendError, Extension, LogState, Summary};

/// Why a checkpoint was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApplyError {
    /// Fewer authorities signed it than the genesis requires.
    #[error("checkpoint {height} has {have} of the {need} authority signatures it needs")]
    NotFinal {
        /// Its height.
        height: u64,
        /// Signatures.
        have: usize,
        /// Threshold.
        need: usize,
    },
    /// It is not the next one: an earlier one is missing here, or it is
    /// older than the newest applied.
    #[error("checkpoint {got} is not the next one here (expected height {expected})")]
    NotNext {
        /// The height this ledger expects.
        expected: u64,
        /// Its height.
        got: u64,
    },
    /// The ledger cannot recompute it yet, or at all.
    #[error("cannot recompute checkpoint: {0}")]
    Extend(#[from] ExtendError),
    /// Recomputing it from this ledger's records gives another tree or
    /// map than it states: its signers attest a log these records do not
    /// make.
    #[error("checkpoint {height} states {what} that this ledger's records do not give")]
    Mismatch {
        /// Its height.
        height: u64,
        /// What differs.
        what: &'static str,
    },
    /// It contradicts a checkpoint applied here, and both are signed:
    /// the proof is kept.
    #[error("checkpoint contradicts a final one: {}", .0.contradiction.describe())]
    Contradicts(Box<ConflictProof>),
    /// Reading or writing the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What applying a checkpoint did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// It extended the log.
    Extended {
        /// Records appended.
        records: u64,
    },
    /// It was the newest already; its new signatures were kept.
    Signatures {
        /// Authorities added.
        added: usize,
    },
}

impl<S: Store> Ledger<S> {
    /// The newest final checkpoint and its map, from the store.
    pub(super) fn load_log(&self) -> Result<LogState, StoreError> {
        let kv = Layered {
            store: self.store.as_ref(),
            layers: &[],
        };
        let Some((height, stored)) = kv.last_checkpoint()? else {
            return Ok(LogState::default());
        };
        let corrupt = |why: String| StoreError::Corrupt {
            key: format!("checkpoint {height}"),
            why,
        };
        let signed = SignedCheckpoint::from_note(&stored.note, &self.genesis)
            .map_err(|e: NoteError| corrupt(e.to_string()))?;
        let mut entries: BTreeMap<Hash, LotStatus> = BTreeMap::new();
        for (lot, at, value) in kv.map_versions()? {
            if at > height {
                continue; // a leftover of an apply a crash cut short
            }
            let status = LotStatus::from_bytes(&value)
                .ok_or_else(|| corrupt(format!("map entry {} does not decode", lot.short())))?;
            // Versions come in height order for each lot: the last wins.
            entries.insert(lot, status);
        }
        let map = StatusMap::new(entries);
        if map.len() != signed.checkpoint.map_size || map.root() != signed.checkpoint.map_root {
            return Err(corrupt(
                "the stored status map is not the one it states".into(),
            ));
        }
        Ok(LogState {
            checkpoint: Some(signed),
            map: Arc::new(map),
        })
    }

    /// Fills the records accepted and not yet logged from the store: this
    /// node's log from the cursor on (after a restart, or on opening a
    /// store from before the transparency log).
    pub(super) fn load_unlogged(&mut self) -> Result<(), StoreError> {
        let reader = self.current.clone();
        let after = reader.kv().tlog_cursor()?;
        let size = self.log().size();
        let mut found = Vec::new();
        let mut damaged = None;
        reader.for_each_logged_after(after, |local, bytes| {
            let logged = match reader.kv().leaf_index_at(local) {
                Ok(i) => i.is_some_and(|i| i < size),
                Err(e) => {
                    damaged = Some(e);
                    return false;
                }
            };
            if !logged {
                match crate::record::SignedRecord::decode(bytes) {
                    Ok(r) => found.push((r.hash(), Summary::of(local, &r))),
                    Err(e) => {
                        damaged = Some(StoreError::Corrupt {
                            key: format!("log seq {local}"),
                            why: e.to_string(),
                        });
                        return false;
                    }
                }
            }
            true
        })?;
        if let Some(e) = damaged {
            return Err(e);
        }
        let mut unlogged = self.unlogged.write().unwrap_or_else(|p| p.into_inner());
        unlogged.clear();
        unlogged.next_height = self.log().next_height();
        for (h, s) in found {
            unlogged.insert(h, s);
        }
        Ok(())
    }

    /// Applies a final checkpoint whose cut is `tips`, after recomputing
    /// it from this ledger's records. The newest checkpoint again (same
    /// body) only adds its new signatures. The returned extension can be
    /// handed back in `known` when it was already computed (a cosigner
    /// checked it before signing).
    pub fn apply_checkpoint(
        &mut self,
        signed: &SignedCheckpoint,
        tips: &[Hash],
        known: Option<&Extension>,
    ) -> Result<Applied, ApplyError> {
        let c = &signed.checkpoint;
        let need = usize::from(self.genesis.checkpoint_threshold);
        if signed.signatures.len() < need {
            return Err(ApplyError::NotFinal {
                height: c.height,
                have: signed.signatures.len(),
                need,
            });
        }
        let state = self.log().clone();
        if let Some(newest) = &state.checkpoint {
            if let Some(why) = contradiction(&newest.checkpoint, c) {
                return Err(ApplyError::Contradicts(Box::new(ConflictProof {
                    a: newest.clone(),
                    b: signed.clone(),
                    contradiction: why,
                })));
            }
            if newest.checkpoint == *c {
                return self.add_signatures(newest.clone(), signed);
            }
        }
        let expected = state.next_height();
        if c.height != expected {
            return Err(ApplyError::NotNext {
                expected,
                got: c.height,
            });
        }
        let computed;
        let ext = match known.filter(|e| e.matches(c)) {
            Some(e) => e,
            None => {
                computed = self.extend_log(tips)?;
                &computed
            }
        };
        if let Some(what) = mismatch(ext, c) {
            return Err(ApplyError::Mismatch {
                height: c.height,
                what,
            });
        }
        let mut w = Writes::new();
        self.stage_extension(&mut w, ext)?;
        // Everything before the oldest record left unlogged is logged; a
        // reopened ledger reads its log from there to find what is not.
        let settled = {
            let mut unlogged = self.unlogged.write().unwrap_or_else(|p| p.into_inner());
            unlogged.remove(&ext.records);
            unlogged.next_height = c.height.saturating_add(1);
            match (unlogged.complete(), unlogged.settled()) {
                (true, Some(s)) => Some(s),
                (true, None) => Some(self.next_seq - 1),
                (false, _) => None,
            }
        };
        if let Some(s) = settled {
            w.put_tlog_cursor(s);
        }
        w.put_final_checkpoint(
            c.height,
            &StoredCheckpoint {
                note: signed.to_note().into_bytes(),
                tips: ext.tips.clone(),
            },
        );
        self.write_ordered(&w)?;
        self.set_log(LogState {
            checkpoint: Some(signed.clone()),
            map: Arc::clone(&ext.map),
        });
        if settled.is_none() {
            // More was unlogged than memory kept: find what still is from
            // the store, once, and move the cursor past what is not.
            self.load_unlogged()?;
            let unlogged = self.unlogged.read().unwrap_or_else(|p| p.into_inner());
            if unlogged.complete() {
                let mut w = Writes::new();
                w.put_tlog_cursor(unlogged.settled().unwrap_or(self.next_seq - 1));
                drop(unlogged);
                self.write_ordered(&w)?;
            }
        }
        Ok(Applied::Extended {
            records: ext.records.len() as u64,
        })
    }

    /// Keeps the signatures `signed` adds to the newest checkpoint.
    fn add_signatures(
        &mut self,
        mut newest: SignedCheckpoint,
        signed: &SignedCheckpoint,
    ) -> Result<Applied, ApplyError> {
        let added = newest.merge(signed);
        if added > 0 {
            let kv = Layered {
                store: self.store.as_ref(),
                layers: &[],
            };
            let height = newest.checkpoint.height;
            let tips = kv
                .final_checkpoint(height)?
                .map(|s| s.tips)
                .unwrap_or_default();
            let mut w = Writes::new();
            w.put_final_checkpoint(
                height,
                &StoredCheckpoint {
                    note: newest.to_note().into_bytes(),
                    tips,
                },
            );
            self.write_ordered(&w)?;
            let map = Arc::clone(&self.log().map);
            self.set_log(LogState {
                checkpoint: Some(newest),
                map,
            });
        }
        Ok(Applied::Signatures { added })
    }

    /// The writes of an extension, short of its checkpoint.
    fn stage_extension(&self, w: &mut Writes, ext: &Extension) -> Result<(), StoreError> {
        let kv = Layered {
            store: self.store.as_ref(),
            layers: &[],
        };
        // Entries and tree rows: read each touched row once, cut to what
        // the old tree holds, extend, write.
        let mut entry_rows: BTreeMap<u64, Vec<Hash>> = BTreeMap::new();
        let mut leaf_rows: BTreeMap<u64, Vec<Option<u64>>> = BTreeMap::new();
        let size = ext.size();
        for (i, (h, local)) in ext.records.iter().zip(&ext.locals).enumerate() {
            let index = ext.start + i as u64;
            let row = index / ROW_WIDTH;
            if let std::collections::btree_map::Entry::Vacant(v) = entry_rows.entry(row) {
                let mut old = kv.log_entries(row)?;
                old.truncate(
                    usize::try_from(ext.start.saturating_sub(row * ROW_WIDTH))
                        .unwrap_or(0)
                        .min(256),
                );
                v.insert(old);
            }
            if let Some(r) = entry_rows.get_mut(&row) {
                r.push(*h);
            }
            let leaf_row = local / ROW_WIDTH;
            if let std::collections::btree_map::Entry::Vacant(v) = leaf_rows.entry(leaf_row) {
                // Slots a crash left past the tree read as not logged.
                let old = kv
                    .leaf_row(leaf_row)?
                    .into_iter()
                    .map(|i| (i < ext.start).then_some(i))
                    .collect();
                v.insert(old);
            }
            if let Some(r) = leaf_rows.get_mut(&leaf_row) {
                let at = usize::try_from(local % ROW_WIDTH).unwrap_or(0);
                if r.len() <= at {
                    r.resize(at + 1, None);
                }
                r[at] = Some(index).filter(|i| *i < size);
            }
        }
        for (row, indexes) in &leaf_rows {
            w.put_leaf_row(*row, indexes);
        }
        for (row, hashes) in &entry_rows {
            w.put_log_entries(*row, hashes);
        }
        let mut node_rows: BTreeMap<(u8, u64), Vec<Hash>> = BTreeMap::new();
        for (level, index, hash) in ext.nodes.iter().filter(|(l, _, _)| level_is_kept(*l)) {
            let row = index / ROW_WIDTH;
            if let std::collections::btree_map::Entry::Vacant(v) = node_rows.entry((*level, row)) {
                let complete = ext.start.checked_shr(u32::from(*level)).unwrap_or(0);
                let mut old = kv.log_row(*level, row)?;
                old.truncate(
                    usize::try_from(complete.saturating_sub(row * ROW_WIDTH))
                        .unwrap_or(0)
                        .min(256),
                );
                v.insert(old);
            }
            if let Some(r) = node_rows.get_mut(&(*level, row)) {
                r.push(*hash);
            }
        }
        for ((level, row), hashes) in &node_rows {
            w.put_log_row(*level, *row, hashes);
        }
        for (lot, status) in &ext.map_changes {
            w.put_map_version(lot, ext.height, status.to_bytes().to_vec());
        }
        Ok(())
    }

    /// Writes `w` with the checkpoint's keys last, then flushes.
    fn write_ordered(&self, w: &Writes) -> Result<(), StoreError> {
        for order in 0..=2 {
            for (k, v) in w.iter().filter(|(k, _)| apply_order(k) == order) {
                match v {
                    Some(v) => self.store.put(k, v)?,
                    None => self.store.delete(k)?,
                }
            }
        }
        self.store.flush()
    }

    fn set_log(&mut self, state: LogState) {
        self.log = Arc::new(state);
        self.publish_reader();
    }
}

/// What a checkpoint states differently from the extension recomputed.
fn mismatch(ext: &Extension, c: &crate::checkpoint::Checkpoint) -> Option<&'static str> {
    if c.cut != crate::checkpoint::cut_hash(&ext.tips) {
        Some("another cut than the tips given")
    } else if c.prev != ext.prev {
        Some("a previous checkpoint")
    } else if c.size != ext.size() {
        Some("a log size")
    } else if c.root != ext.root {
        Some("a root")
    } else if c.map_size != ext.map.len() || c.map_root != ext.map.root() {
        Some("a status map")
    } else {
        None
    }
}
