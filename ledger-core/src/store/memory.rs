//! An in-memory store for pure tests.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::{Entry, Store};
use crate::error::StoreError;

/// A `BTreeMap` behind a mutex; clones share it. Flushing does nothing.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    map: Arc<Mutex<Map>>,
    journal: Arc<Mutex<Option<Vec<u8>>>>,
}

type Map = BTreeMap<Vec<u8>, Vec<u8>>;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn journal_lock(&self) -> Result<MutexGuard<'_, Option<Vec<u8>>>, StoreError> {
        self.journal
            .lock()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))
    }

    fn lock(&self) -> Result<MutexGuard<'_, Map>, StoreError> {
        self.map
            .lock()
            .map_err(|_| StoreError::Engine("memory store lock poisoned".into()))
    }
}

impl Store for MemoryStore {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock()?.get(key).cloned())
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let mut out = Vec::new();
        self.for_each_prefix(prefix, &mut |k, v| {
            out.push((k.to_vec(), v.to_vec()));
            true
        })?;
        Ok(out)
    }

    fn for_each_prefix(
        &self,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let map = self.lock()?;
        for (k, v) in map.range(prefix.to_vec()..) {
            if !k.starts_with(prefix) || !visit(k, v) {
                break;
            }
        }
        Ok(())
    }

    fn scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        use std::ops::Bound;
        let map = self.lock()?;
        let start = super::scan_start(prefix, after);
        Ok(map
            .range((start, Bound::Unbounded))
            .take_while(|(k, _)| k.starts_with(prefix))
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        let map = self.lock()?;
        Ok(map
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .last()
            .map(|(k, v)| (k.clone(), v.clone())))
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.lock()?.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        self.lock()?.remove(key);
        Ok(())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn put_journal(&self, bytes: &[u8]) -> Result<(), StoreError> {
        *self.journal_lock()? = Some(bytes.to_vec());
        Ok(())
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.journal_lock()?.clone())
    }

    fn clear_journal(&self) -> Result<(), StoreError> {
        *self.journal_lock()? = None;
        Ok(())
    }
}
