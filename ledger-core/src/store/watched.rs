//! A store that shows each write to a watcher before making it: for crash
//! tests that record every write or stop at a chosen one.

use std::sync::Arc;

use super::{Entry, Store};
use crate::error::StoreError;

/// One write a store is asked to make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write<'a> {
    /// A key and its new value.
    Put(&'a [u8], &'a [u8]),
    /// A key removed.
    Delete(&'a [u8]),
    /// The journal stored (`Some`) or removed.
    Journal(Option<&'a [u8]>),
}

/// The watcher: called with each write before it is made.
pub type Watcher = Arc<dyn Fn(Write<'_>) + Send + Sync>;

/// `inner`, with every write shown to a watcher first. Reads pass
/// straight through; clones share the store and the watcher.
#[derive(Clone)]
pub struct Watched<S> {
    inner: S,
    watch: Watcher,
}

impl<S> Watched<S> {
    /// Watches the writes to `inner`.
    pub fn new(inner: S, watch: Watcher) -> Self {
        Watched { inner, watch }
    }

    /// The store underneath.
    pub fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Store> Store for Watched<S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }

    fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan_prefix(prefix)
    }

    fn for_each_prefix(
        &self,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        self.inner.for_each_prefix(prefix, visit)
    }

    fn scan_page(
        &self,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<Entry>, StoreError> {
        self.inner.scan_page(prefix, after, limit)
    }

    fn last_with_prefix(&self, prefix: &[u8]) -> Result<Option<Entry>, StoreError> {
        self.inner.last_with_prefix(prefix)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        (self.watch)(Write::Put(key, value));
        self.inner.put(key, value)
    }

    fn delete(&self, key: &[u8]) -> Result<(), StoreError> {
        (self.watch)(Write::Delete(key));
        self.inner.delete(key)
    }

    fn flush(&self) -> Result<(), StoreError> {
        self.inner.flush()
    }

    fn put_journal(&self, bytes: &[u8]) -> Result<(), StoreError> {
        (self.watch)(Write::Journal(Some(bytes)));
        self.inner.put_journal(bytes)
    }

    fn journal(&self) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.journal()
    }

    fn clear_journal(&self) -> Result<(), StoreError> {
        (self.watch)(Write::Journal(None));
        self.inner.clear_journal()
    }
}
