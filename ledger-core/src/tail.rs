//! The unfolded tail: everything derived from recently logged records
//! (indexes, chain state, the pending pool), held in memory in layers
//! until it is folded into the store in one merged pass.
//!
//! Accepting a batch writes only its log entries to the store and flushes
//! them. What the batch derives goes into a new immutable layer here, and
//! readers see the store through the layers (newest first). When the
//! layers cover enough records they are merged and folded: the merged
//! writes are stored whole as the store's journal (a file beside sled's),
//! applied key by key, the fold cursor is moved past them and flushed,
//! and the journal dropped; a crash at any point either finds the journal
//! (and applies it again: its values are absolute) or finds the cursor
//! before the fold (and derives the layers again from the log).
//! Indexes that change often (chain blocks, lot postings, chain state) are
//! then written once per fold instead of once per batch.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::error::StoreError;
use crate::store::{Entry, Store};
use crate::tables::{self, Kv, KvWrite};

/// Buffered writes: `Some` puts, `None` removals, by key.
pub(crate) type Writes = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

impl KvWrite for Writes {
    fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.insert(key, Some(value));
    }

    fn delete(&mut self, key: Vec<u8>) {
        self.insert(key, None);
    }
}

/// What some accepted batches derived, not yet folded into the store.
#[derive(Debug, Default)]
pub(crate) struct Layer {
    /// The derived writes (never log entries: those are in the store).
    pub(crate) writes: Writes,
    /// The last log seq the layer covers (0: none).
    pub(crate) last_seq: u64,
    /// Records it covers.
    pub(crate) records: u64,
}

/// The tail as one reader sees it: immutable layers, oldest first.
pub(crate) type Layers = Arc<Vec<Arc<Layer>>>;

/// Looks `key` up in the layers, newest first: `Some(v)` when a layer
/// decides it (`v` is `None` for a removal).
pub(crate) fn layered_get<'l>(layers: &'l [Arc<Layer>], key: &[u8]) -> Option<&'l Option<Vec<u8>>> {
    layers.iter().rev().find_map(|l| l.writes.get(key))
}

/// Merges `layers` (oldest first) over the store entries under `prefix`.
pub(crate) fn layered_scan<'a>(
    base: Vec<Entry>,
    layers: impl Iterator<Item = &'a Writes>,
    prefix: &[u8],
) -> Vec<Entry> {
    let mut merged: BTreeMap<Vec<u8>, Vec<u8>> = base.into_iter().collect();
    for w in layers {
        for (k, v) in w
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            match v {
                Some(v) => merged.insert(k.clone(), v.clone()),
                None => merged.remove(k),
            };
        }
    }
    merged.into_iter().collect()
}

/// The store seen through a set of layers: what a reader reads.
pub(crate) struct Layered<'a, S: Store + ?Sized> {
    pub(crate) store: &'a S,
    pub(crate) layers: &'a [Arc<Layer>],
}

impl<S: Store + ?Sized> Kv for Layered<'_, S> {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        match layered_get(self.layers, key) {
            Some(v) => Ok(v.clone()),
            None => self.store.get(key),
        }
    }

    fn scan(&self, prefix: &[u8]) -> Result<Vec<Entry>, StoreError> {
        let base = self.store.scan_prefix(prefix)?;
        if self.layers.is_empty() {
            return Ok(base);
        }
        Ok(layered_scan(
            base,
            self.layers.iter().map(|l| &l.writes),
            prefix,
        ))
    }
}

/// Merges adjacent layers so a reader searches few of them: the newest
/// is merged into the one before while that one covers no more than
/// twice as many records (sizes then halve from oldest to newest, so
/// there are about log₂ of the tail's batches, and each write is copied
/// about as many times).
///
/// The first `frozen` layers are being folded and are left alone.
pub(crate) fn compact(layers: &mut Vec<Arc<Layer>>, frozen: usize) {
    while layers.len() >= frozen + 2 {
        let n = layers.len();
        let (older, newer) = (&layers[n - 2], &layers[n - 1]);
        if older.records > 2 * newer.records.max(1) {
            break;
        }
        let merged = merge(&[Arc::clone(older), Arc::clone(newer)]);
        layers.truncate(n - 2);
        layers.push(Arc::new(merged));
    }
}

/// One layer with the writes of `layers` (oldest first).
pub(crate) fn merge(layers: &[Arc<Layer>]) -> Layer {
    let mut out = Layer::default();
    for l in layers {
        out.writes
            .extend(l.writes.iter().map(|(k, v)| (k.clone(), v.clone())));
        out.last_seq = out.last_seq.max(l.last_seq);
        out.records += l.records;
    }
    out
}

/// Folds `layer` into the store: journal, apply, move the cursor, drop
/// the journal. Returns the keys written.
pub(crate) fn fold(store: &dyn Store, layer: &Layer) -> Result<u64, StoreError> {
    store.put_journal(&encode_journal(layer.last_seq, &layer.writes))?;
    let written = apply(store, &layer.writes)?;
    finish(store, layer.last_seq)?;
    Ok(written)
}

/// Writes `writes` into the store as they are (not durable until a flush).
pub(crate) fn apply(store: &dyn Store, writes: &Writes) -> Result<u64, StoreError> {
    let mut n = 0u64;
    for (k, v) in writes {
        match v {
            Some(v) => store.put(k, v)?,
            None => store.delete(k)?,
        }
        n += 1;
    }
    Ok(n)
}

/// Moves the cursor past the folded writes, makes it all durable, then
/// drops the journal.
fn finish(store: &dyn Store, last_seq: u64) -> Result<(), StoreError> {
    let (cursor, value) = tables::fold_cursor_entry(last_seq);
    store.put(&cursor, &value)?;
    store.flush()?;
    store.clear_journal()
}

/// Finishes a fold a crash interrupted: a journal still there is applied
/// again (its values are absolute, so applying twice is harmless).
/// Returns whether there was one.
pub(crate) fn recover(store: &dyn Store) -> Result<bool, StoreError> {
    let Some(bytes) = store.journal()? else {
        return Ok(false);
    };
    let (last_seq, writes) = decode_journal(&bytes).map_err(|why| StoreError::Corrupt {
        key: "fold journal".into(),
        why,
    })?;
    apply(store, &writes)?;
    finish(store, last_seq)?;
    Ok(true)
}

/// The journal: the last log seq folded (8 bytes BE), then entries
/// `[key len u32][key][0 | 1, value len u32, value]`.
fn encode_journal(last_seq: u64, writes: &Writes) -> Vec<u8> {
    let mut out = last_seq.to_be_bytes().to_vec();
    for (k, v) in writes {
        let klen = u32::try_from(k.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&klen.to_be_bytes());
        out.extend_from_slice(k);
        match v {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                let vlen = u32::try_from(v.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&vlen.to_be_bytes());
                out.extend_from_slice(v);
            }
        }
    }
    out
}

fn decode_journal(mut b: &[u8]) -> Result<(u64, Writes), String> {
    fn take<'a>(b: &mut &'a [u8], n: usize) -> Result<&'a [u8], String> {
        if b.len() < n {
            return Err("journal entry is cut short".into());
        }
        let (head, rest) = b.split_at(n);
        *b = rest;
        Ok(head)
    }
    fn len(b: &mut &[u8]) -> Result<usize, String> {
        let raw: [u8; 4] = take(b, 4)?.try_into().map_err(|_| "bad length")?;
        usize::try_from(u32::from_be_bytes(raw)).map_err(|_| "bad length".into())
    }
    let seq: [u8; 8] = take(&mut b, 8)?.try_into().map_err(|_| "bad seq")?;
    let mut out = Writes::new();
    while !b.is_empty() {
        let klen = len(&mut b)?;
        let k = take(&mut b, klen)?.to_vec();
        match take(&mut b, 1)? {
            [0] => {
                out.insert(k, None);
            }
            [1] => {
                let vlen = len(&mut b)?;
                out.insert(k, Some(take(&mut b, vlen)?.to_vec()));
            }
            _ => return Err("journal entry has a bad tag".into()),
        }
    }
    Ok((u64::from_be_bytes(seq), out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    fn writes(n: u8) -> Writes {
        let mut w = Writes::new();
        for i in 0..n {
            w.put(vec![b'x', i], vec![i; 3]);
        }
        w.delete(b"gone".to_vec());
        w
    }

    #[test]
    fn journal_round_trips() {
        let w = writes(200);
        assert_eq!(decode_journal(&encode_journal(7, &w)).unwrap(), (7, w));
        assert!(decode_journal(&[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 9, 1]).is_err());
        assert!(decode_journal(&[0, 0]).is_err());
    }

    #[test]
    fn a_journal_left_by_a_crash_is_applied_again() {
        let store = MemoryStore::new();
        store.put(b"gone", b"old").unwrap();
        // A crash after the journal was stored, before any fold write.
        store.put_journal(&encode_journal(42, &writes(5))).unwrap();
        assert!(recover(&store).unwrap());
        assert_eq!(store.get(&[b'x', 3]).unwrap(), Some(vec![3; 3]));
        assert_eq!(store.get(b"gone").unwrap(), None);
        let kv = Layered {
            store: &store,
            layers: &[],
        };
        assert_eq!(tables::fold_cursor(&kv).unwrap(), 42);
        assert_eq!(store.journal().unwrap(), None);
        assert!(!recover(&store).unwrap());
    }
    #[test]
    fn compaction_keeps_the_newest_value() {
        let mut layers = Vec::new();
        for i in 0..10u8 {
            let mut w = Writes::new();
            w.put(b"k".to_vec(), vec![i]);
            layers.push(Arc::new(Layer {
                writes: w,
                last_seq: u64::from(i),
                records: 1,
            }));
            compact(&mut layers, 0);
        }
        assert!(layers.len() <= 4, "{} layers", layers.len());
        assert_eq!(layered_get(&layers, b"k"), Some(&Some(vec![9])));
        assert_eq!(layers.iter().map(|l| l.records).sum::<u64>(), 10);
    }
}
