//! Storage behind a small trait: an ordered key-value space with atomic
//! batches and an explicit durable flush.
//!
//! Validation never touches this trait directly; [`crate::ledger`] lays out
//! its tables on top of it, so the engine can change without touching the
//! rules. Two engines: [`MemoryStore`] for pure tests, [`SledStore`] for
//! production.

mod memory;
mod sled;

pub use self::memory::MemoryStore;
pub use self::sled::{SledStore, DEFAULT_CACHE_BYTES, LOCK_WAIT};

use crate::error::StoreError;

/// A key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// A set of writes applied all at once or not at all.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// `(key, Some(value))` inserts, `(key, None)` removes, in order.
    pub ops: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

impl Batch {
    /// Queues an insert.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.ops.push((key, Some(value)));
    }

    /// Queues a removal.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.ops.push((key, None));
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }
}

/// An ordered key-value store.
pub trait Store: Send + Sync {
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
    /// Applies every write of `batch` atomically (not yet durable).
    fn apply(&self, batch: Batch) -> Result<(), StoreError>;
    /// Makes every applied batch durable.
    fn flush(&self) -> Result<(), StoreError>;
}
