//! Buffered writes over a store, readable before they are applied, so a
//! batch of records can be validated one after another and then committed
//! with one atomic write and one flush (group commit).

use std::collections::BTreeMap;

use bincode::Decode;

use crate::encoding;
use crate::error::StoreError;
use crate::event::{LotId, Quantity};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;
use crate::store::{Batch, Entry, Store};
use crate::tables;
use crate::validate::{KeyState, View};

/// Buffered writes: `Some` puts, `None` removals, by key.
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Pending writes over a store, and over the writes of an earlier batch
/// that may still be on its way into the store (pipelined group commit).
pub(crate) struct Txn<'s> {
    store: &'s dyn Store,
    base: Option<&'s Writes>,
    writes: Writes,
}

impl<'s> Txn<'s> {
    /// Writes over `store`, reading `base` (an earlier batch being applied
    /// concurrently) before it.
    pub(crate) fn new(store: &'s dyn Store, base: Option<&'s Writes>) -> Self {
        Txn {
            store,
            base,
            writes: BTreeMap::new(),
        }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let buffered = self.writes.get(key).or_else(|| self.base?.get(key));
        match buffered {
            Some(v) => Ok(v.clone()),
            None => self.store.get(key),
        }
    }

    pub(crate) fn contains(&self, key: &[u8]) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }

    pub(crate) fn scan_prefix(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let mut merged: BTreeMap<Vec<u8>, Vec<u8>> =
            self.store.scan_prefix(prefix)?.into_iter().collect();
        for layer in self.base.into_iter().chain([&self.writes]) {
            for (k, v) in layer
                .range(prefix.to_vec()..)
                .take_while(|(k, _)| k.starts_with(prefix))
            {
                match v {
                    Some(v) => merged.insert(k.clone(), v.clone()),
                    None => merged.remove(k),
                };
            }
        }
        Ok(merged.into_iter().collect())
    }

    pub(crate) fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.writes.insert(key, Some(value));
    }

    pub(crate) fn delete(&mut self, key: Vec<u8>) {
        self.writes.insert(key, None);
    }

    pub(crate) fn into_writes(self) -> Writes {
        self.writes
    }
}

impl From<Writes> for Batch {
    fn from(writes: Writes) -> Self {
        Batch {
            ops: writes.into_iter().collect(),
        }
    }
}

/// Decodes a stored value, reporting damage as [`StoreError::Corrupt`].
pub(crate) fn decode_stored<T: bincode::Encode + Decode<()>>(
    key: &[u8],
    bytes: &[u8],
) -> Result<T, StoreError> {
    encoding::decode(bytes, encoding::MAX_RECORD_BYTES, "stored value").map_err(|e| {
        StoreError::Corrupt {
            key: hex::encode(key),
            why: e.to_string(),
        }
    })
}

/// Reads a stored signed record by hash.
pub(crate) fn read_record(
    get: impl Fn(&[u8]) -> Result<Option<Vec<u8>>, StoreError>,
    hash: &Hash,
) -> Result<Option<SignedRecord>, StoreError> {
    let key = tables::record(hash);
    get(&key)?
        .map(|bytes| decode_stored(&key, &bytes))
        .transpose()
}

/// The main branch, as seen through a transaction.
impl View for Txn<'_> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        read_record(|k| self.get(k), hash)
    }

    fn key_state(&self, key: &PublicKey) -> Result<Option<KeyState>, StoreError> {
        let k = tables::key_state(key);
        self.get(&k)?.map(|v| decode_stored(&k, &v)).transpose()
    }

    fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        let k = tables::balance(holder, lot);
        self.get(&k)?.map(|v| decode_stored(&k, &v)).transpose()
    }

    fn received(&self, holder: &PublicKey, shipment: &Hash) -> Result<bool, StoreError> {
        self.contains(&tables::received(holder, shipment))
    }

    /// A participant's own lots always have a balance entry (kept at zero
    /// once spent), and only its own creations carry its key as source.
    fn created(&self, holder: &PublicKey, code: &str) -> Result<bool, StoreError> {
        let lot = LotId {
            source: *holder,
            code: code.to_owned(),
        };
        self.contains(&tables::balance(holder, &lot))
    }
}
