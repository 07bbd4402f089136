//! The records accepted here that no checkpoint has logged yet, kept in
//! memory as they land, so a checkpoint's cut is computed without reading
//! the store: a cut's causal past, its tips and what it changes in the
//! status map come from these summaries, and only the few records that
//! can change a status (a recall, a failed inspection, an excursion, a
//! revocation, a transform of a lot with a status) are read in full.
//!
//! Bounded by [`MAX_UNLOGGED`]: on a network that makes no checkpoints
//! the set stops growing, and checkpoints then read what it lacks from
//! the store (correct, only slower).

use std::collections::HashMap;
use std::sync::Arc;

use crate::event::{Event, LotId};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;

/// Most records kept (about 150 bytes each: ~30 MB). At 1,000 records a
/// second that is over three minutes of checkpoints not being made.
pub const MAX_UNLOGGED: usize = 200_000;

/// What a checkpoint needs of a record it has not logged yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Summary {
    /// Its seq in this node's acceptance log.
    pub(crate) local: u64,
    /// Its author and seq in the author's chain.
    pub(crate) author: PublicKey,
    pub(crate) seq: u64,
    /// What it names: its prev and deps.
    pub(crate) prev: Option<Hash>,
    pub(crate) deps: Vec<Hash>,
    /// What it may change in the status map.
    pub(crate) notable: Notable,
}

/// What a record may change in the status map, as far as it can be told
/// without the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notable {
    /// Nothing, whatever the map holds.
    Plain,
    /// It creates lots (a harvest): a status only if its author is
    /// revoked or forked.
    Creates,
    /// A transform of these input lots: its outputs take the inputs'
    /// statuses.
    Transform(Vec<LotId>),
    /// It sets a status itself: a recall, a failed inspection, an
    /// observation out of range, a revocation.
    Status,
}

impl Summary {
    /// The summary of a record stored at local log seq `local`.
    pub(crate) fn of(local: u64, r: &SignedRecord) -> Self {
        let rec = &r.record;
        let notable = match &rec.event {
            Event::Recall { .. } | Event::Revoke { .. } => Notable::Status,
            Event::Inspect { verdict, .. } if *verdict == crate::event::Verdict::Fail => {
                Notable::Status
            }
            Event::Observe { readings, .. } if readings.iter().any(|x| x.is_excursion()) => {
                Notable::Status
            }
            Event::Transform { inputs, .. } => {
                Notable::Transform(inputs.iter().map(|i| i.lot.clone()).collect())
            }
            Event::Harvest { .. } => Notable::Creates,
            _ => Notable::Plain,
        };
        Summary {
            local,
            author: rec.author,
            seq: rec.seq,
            prev: rec.prev,
            deps: rec.deps.clone(),
            notable,
        }
    }

    /// The records it names.
    pub(crate) fn named(&self) -> impl Iterator<Item = &Hash> {
        self.prev.iter().chain(&self.deps)
    }
}

/// The set itself.
#[derive(Debug)]
pub(crate) struct Unlogged {
    entries: HashMap<Hash, Arc<Summary>>,
    /// The height of the checkpoint the log will have next, as of this
    /// set: a reader whose log is at another height is out of step with
    /// it (a checkpoint is being applied) and must not combine the two.
    pub(crate) next_height: u64,
    /// Most records kept ([`MAX_UNLOGGED`] unless a ledger is configured
    /// otherwise).
    capacity: usize,
    /// Records were left out since the bound was reached: the set is not
    /// all that is unlogged.
    overflowed: bool,
}

impl Default for Unlogged {
    fn default() -> Self {
        Unlogged::with_capacity(MAX_UNLOGGED)
    }
}

impl Unlogged {
    /// An empty set keeping at most `capacity` records.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Unlogged {
            entries: HashMap::new(),
            next_height: 0,
            capacity,
            overflowed: false,
        }
    }

    /// Adds a record just stored.
    pub(crate) fn insert(&mut self, hash: Hash, summary: Summary) {
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&hash) {
            self.overflowed = true;
            return;
        }
        self.entries.insert(hash, Arc::new(summary));
    }

    /// Drops records a checkpoint appended.
    pub(crate) fn remove<'h>(&mut self, hashes: impl IntoIterator<Item = &'h Hash>) {
        for h in hashes {
            self.entries.remove(h);
        }
    }

    pub(crate) fn get(&self, h: &Hash) -> Option<&Arc<Summary>> {
        self.entries.get(h)
    }

    /// Whether every unlogged record is here.
    pub(crate) fn complete(&self) -> bool {
        !self.overflowed
    }

    /// Forgets everything (before it is filled again from the store).
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.overflowed = false;
    }

    /// The records no other record here names: the tips of everything
    /// unlogged, in hash order.
    pub(crate) fn tips(&self) -> Vec<Hash> {
        let named: std::collections::HashSet<&Hash> =
            self.entries.values().flat_map(|s| s.named()).collect();
        let mut tips: Vec<Hash> = self
            .entries
            .keys()
            .filter(|h| !named.contains(h))
            .copied()
            .collect();
        tips.sort();
        tips
    }

    /// The local log seq before the oldest record here (everything before
    /// it is logged), or `None` when the set is empty.
    pub(crate) fn settled(&self) -> Option<u64> {
        self.entries
            .values()
            .map(|s| s.local)
            .min()
            .map(|m| m.saturating_sub(1))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}
