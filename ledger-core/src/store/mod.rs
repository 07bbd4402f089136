//! Storage behind a small trait: an ordered key-value space with single-key
//! writes and an explicit durable flush.
//!
//! Validation never touches this trait directly; [`crate::tables`] owns the
//! key layout on top of it and the ledger's log (see
//! [`crate::ledger`]) gives writes their atomicity, so the engine can
//! change without touching the rules. There are deliberately no atomic
//! multi-key batches: sled 0.34's `apply_batch` takes a process-wide lock
//! that every later read then waits behind. Two engines: [`MemoryStore`]
//! for pure tests, [`SledStore`] for production; [`Watched`] shows a crash
//! test every write.

mod memory;
mod sled;
mod watched;

pub use self::memory::MemoryStore;
pub use self::sled::{SledStore, DEFAULT_CACHE_BYTES, LOCK_WAIT};
pub use self::watched::{Watched, Watcher, Write};

use crate::error::StoreError;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// Where a [`Store::scan_page`] of `prefix` starts: just past `after`, or
/// at the prefix itself.
fn scan_start(prefix: &[u8], after: Option<&[u8]>) -> std::ops::Bound<Vec<u8>> {
    match after {
        Some(a) => std::ops::Bound::Excluded(a.to_vec()),
        None => std::ops::Bound::Included(prefix.to_vec()),
    }
}

/// An ordered key-value store, shared by the ledger's writer and its
/// readers (each clone is a handle on the same data).
pub trait Store: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Every entry whose key starts with `prefix`, in key order.
    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError>;
    /// Visits entries with `prefix` in key order until `visit` returns false;
    /// for scans too large to collect.
    fn for_each_prefix(
        &self,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError>;
    /// Up to `limit` entries with `prefix`, in key order, starting after
    /// the key `after` (or at the first). For walking large tables a page
    /// at a time without holding an iterator across writes.
    fn scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError>;
    /// The last entry whose key starts with `prefix`.
    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Entry>, StoreError>;
    /// Writes one key (visible at once, durable after [`Self::flush`]).
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError>;
    /// Removes one key (durable after [`Self::flush`]).
    fn delete(&self, key: &[u8]) -> Result<(), StoreError>;
    /// Makes every earlier write durable. Writes become durable in the
    /// order they were made: after a crash the store holds a prefix of
    /// them.
    fn flush(&self) -> Result<(), StoreError>;
    /// Stores `bytes` as the store's journal, durably and whole (a crash
    /// leaves the previous journal or this one, never a part), beside the
    /// key space: a fold's writes go there before they are applied. Large
    /// values are what a B-tree of 16-key leaves handles worst.
    fn put_journal(&self, bytes: &[u8]) -> Result<(), StoreError>;
    /// The journal, if one is stored.
    fn journal(&self) -> Result<Option<Vec<u8>>, StoreError>;
    /// Removes the journal, durably.
    fn clear_journal(&self) -> Result<(), StoreError>;
}
