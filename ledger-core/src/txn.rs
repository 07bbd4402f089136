//! Buffered writes over the ledger's state, readable before they are
//! applied, so a batch of records can be validated one after another and
//! then accepted with one flush of the log (group commit).

use std::sync::Arc;

use crate::error::StoreError;
use crate::event::{LotId, Quantity};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;
use crate::store::{Entry, Store};
use crate::tables::{Kv, KvWrite, Tables};
use crate::tail::{layered_get, layered_scan, Layer, Writes};
use crate::validate::{KeyState, View};

/// Pending writes over the store and the unfolded tail, and over the
/// writes of an earlier batch that may still be on its way into the log
/// (pipelined group commit).
pub(crate) struct Txn<'s> {
    store: &'s dyn Store,
    layers: &'s [Arc<Layer>],
    base: Option<&'s Writes>,
    writes: Writes,
}

impl<'s> Txn<'s> {
    /// Writes over `store` under `layers`, reading `base` (an earlier
    /// batch not yet published) before them.
    pub(crate) fn new(
        store: &'s dyn Store,
        layers: &'s [Arc<Layer>],
        base: Option<&'s Writes>,
    ) -> Self {
        Txn {
            store,
            layers,
            base,
            writes: Writes::new(),
        }
    }

    pub(crate) fn into_writes(self) -> Writes {
        self.writes
    }
}

impl Kv for Txn<'_> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let buffered = self
            .writes
            .get(key)
            .or_else(|| self.base?.get(key))
            .or_else(|| layered_get(self.layers, key));
        match buffered {
            Some(v) => Ok(v.clone()),
            None => self.store.get(key),
        }
    }

    fn scan(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let layers = self
            .layers
            .iter()
            .map(|l| &l.writes)
            .chain(self.base)
            .chain([&self.writes]);
        Ok(layered_scan(
            self.store.scan_prefix(prefix)?,
            layers,
            prefix,
        ))
    }
}

impl KvWrite for Txn<'_> {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }
}

/// The main branch, as seen through a transaction.
impl View for Txn<'_> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        Tables::record(self, hash)
    }

    fn key_state(&self, key: &PublicKey) -> Result<Option<KeyState>, StoreError> {
        Tables::key_state(self, key)
    }

    fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        Tables::balance(self, holder, lot)
    }

    fn received(&self, holder: &PublicKey, shipment: &Hash) -> Result<bool, StoreError> {
        Tables::received(self, holder, shipment)
    }

    /// A participant's own lots always have a balance entry (kept at zero
    /// once spent), and only its own creations carry its key as source.
    fn created(&self, holder: &PublicKey, code: &str) -> Result<bool, StoreError> {
        let lot = LotId {
            source: *holder,
            code: code.to_owned(),
        };
        Ok(Tables::balance(self, holder, &lot)?.is_some())
    }
}
