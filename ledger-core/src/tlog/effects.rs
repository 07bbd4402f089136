//! What a cut's records change in the lot status map.
//!
//! The map is a function of the log alone: every status comes from
//! records in the log, and reaches the lots made from a lot only through
//! transforms in the log. A node's ledger also holds records no checkpoint
//! has appended yet, so every lookup here is filtered to the log after the
//! cut. Statuses only join ([`LotStatus::join`]), so the order records
//! and lots are visited in does not matter: the result is the join of
//! every contribution, the same on every node.
//!
//! | record in the log | status |
//! |---|---|
//! | recall of a lot | `Recalled` |
//! | failed inspection of a lot | `FailedInspection` |
//! | observation with a reading out of range | `Excursion` |
//! | revocation of key K after seq s | `AuthorRevoked` on lots created by K's records after s |
//! | two records of one author at seq s | `AuthorForked` on lots created by its records from s on |
//! | transform | its outputs take its inputs' statuses as upstream |

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::map::{lot_key, LotStatus, StatusKind};
use super::unlogged::{Notable, Summary};
use super::{ExtendError, LogState};
use crate::error::StoreError;
use crate::event::{Event, LotId, Verdict};
use crate::graph::Graph;
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::reader::Reader;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::Tables;

/// The map entries the records `new` (the cut) change, with their new
/// values.
pub(super) fn changes<S: Store>(
    reader: &Reader<S>,
    state: &LogState,
    new: &BTreeMap<Hash, Arc<Summary>>,
) -> Result<BTreeMap<Hash, LotStatus>, ExtendError> {
    let mut effects = Effects {
        reader,
        state,
        new,
        changed: BTreeMap::new(),
        todo: Vec::new(),
        identities: BTreeMap::new(),
        suspects: BTreeMap::new(),
    };
    for (h, s) in new {
        effects.summary(h, s)?;
    }
    effects.pass_down()?;
    Ok(effects.changed)
}

struct Effects<'a, S: Store> {
    reader: &'a Reader<S>,
    state: &'a LogState,
    new: &'a BTreeMap<Hash, Arc<Summary>>,
    /// New values of the entries changed so far.
    changed: BTreeMap<Hash, LotStatus>,
    /// Lots whose status changed, to pass down to lots made from them.
    todo: Vec<LotId>,
    identities: BTreeMap<PublicKey, PublicKey>,
    /// Whether each author seen has revocations or forks.
    suspects: BTreeMap<PublicKey, bool>,
}

impl<S: Store> Effects<'_, S> {
    /// Whether a record is in the log once the cut is appended.
    fn in_log(&self, h: &Hash) -> Result<bool, StoreError> {
        if self.new.contains_key(h) {
            return Ok(true);
        }
        Ok(self.reader.leaf_index(h)?.is_some())
    }

    /// A record of the cut or of the log, read in full.
    fn logged(&self, h: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        if !self.in_log(h)? {
            return Ok(None);
        }
        self.reader.record(h)
    }

    /// A record of the cut, read in full: it is stored (it was accepted
    /// here), though a reader taken just before it landed may not see it
    /// yet, and the cut is then checked again.
    fn read(&self, h: &Hash) -> Result<SignedRecord, ExtendError> {
        self.reader
            .record(h)?
            .ok_or_else(|| ExtendError::Missing(vec![*h]))
    }

    /// Whether an author has revocations or forks (one read per author).
    fn suspect(&mut self, author: &PublicKey) -> Result<bool, StoreError> {
        if let Some(s) = self.suspects.get(author) {
            return Ok(*s);
        }
        let s = self.reader.kv().suspect(author)?;
        self.suspects.insert(*author, s);
        Ok(s)
    }

    fn status(&self, lot: &LotId) -> Option<LotStatus> {
        let k = lot_key(lot);
        self.changed
            .get(&k)
            .or_else(|| self.state.map.get(&k))
            .copied()
    }

    /// Joins `add` into a lot's status; a change is passed down later.
    fn raise(&mut self, lot: &LotId, add: LotStatus) {
        let k = lot_key(lot);
        let now = match self.status(lot) {
            Some(old) => {
                let joined = old.join(&add);
                if joined == old {
                    return;
                }
                joined
            }
            None => add,
        };
        self.changed.insert(k, now);
        self.todo.push(lot.clone());
    }

    /// The identity a key signs for (lots are named by identity).
    fn identity(&mut self, key: &PublicKey) -> Result<PublicKey, StoreError> {
        if let Some(i) = self.identities.get(key) {
            return Ok(*i);
        }
        let identity = self.reader.key_info(key)?.map_or(*key, |i| i.identity);
        self.identities.insert(*key, identity);
        Ok(identity)
    }

    /// The lots a record creates.
    fn created(&mut self, r: &SignedRecord) -> Result<Vec<LotId>, StoreError> {
        let codes: Vec<String> = r
            .record
            .event
            .created_lots()
            .into_iter()
            .map(|(code, _, _)| code.to_string())
            .collect();
        if codes.is_empty() {
            return Ok(Vec::new());
        }
        let source = self.identity(&r.record.author)?;
        Ok(codes
            .into_iter()
            .map(|code| LotId { source, code })
            .collect())
    }

    /// What one record of the cut contributes, read in full only when it
    /// can change a status.
    fn summary(&mut self, h: &Hash, s: &Summary) -> Result<(), ExtendError> {
        match &s.notable {
            Notable::Status => {
                let r = self.read(h)?;
                self.record(h, &r)?;
            }
            Notable::Transform(inputs) => {
                let statuses: Vec<LotStatus> =
                    inputs.iter().filter_map(|i| self.status(i)).collect();
                if !statuses.is_empty() {
                    let r = self.read(h)?;
                    let outputs = self.created(&r)?;
                    for st in &statuses {
                        for o in &outputs {
                            self.raise(o, st.passed_down());
                        }
                    }
                }
            }
            Notable::Creates | Notable::Plain => {}
        }
        if self.suspect(&s.author)? {
            let r = self.read(h)?;
            self.forked(h, &r)?;
            self.created_when_suspect(&r)?;
        }
        Ok(())
    }

    /// What a record that sets a status contributes.
    fn record(&mut self, h: &Hash, r: &SignedRecord) -> Result<(), StoreError> {
        match &r.record.event {
            Event::Recall { lot, .. } => self.raise(lot, LotStatus::own(StatusKind::Recalled, *h)),
            Event::Inspect {
                lot,
                verdict: Verdict::Fail,
                ..
            } => self.raise(lot, LotStatus::own(StatusKind::FailedInspection, *h)),
            Event::Observe { lot, readings, .. } if readings.iter().any(|x| x.is_excursion()) => {
                self.raise(lot, LotStatus::own(StatusKind::Excursion, *h))
            }
            Event::Revoke {
                key,
                last_trusted_seq,
                ..
            } => self.revoked(*h, key, *last_trusted_seq)?,
            _ => {}
        }
        Ok(())
    }

    /// A revocation in the cut: lots created by the key's later records.
    fn revoked(
        &mut self,
        cause: Hash,
        key: &PublicKey,
        last: Option<u64>,
    ) -> Result<(), StoreError> {
        let from = last.map_or(0, |s| s.saturating_add(1));
        for (_, h) in self.reader.kv().chain(key)? {
            let Some(r) = self.logged(&h)? else { continue };
            if r.record.seq < from {
                continue;
            }
            for lot in self.created(&r)? {
                self.raise(&lot, LotStatus::own(StatusKind::AuthorRevoked, cause));
            }
        }
        Ok(())
    }

    /// A record of the cut at a seq its author already signed: lots
    /// created by the author's records from that seq on.
    fn forked(&mut self, h: &Hash, r: &SignedRecord) -> Result<(), StoreError> {
        let (author, seq) = (r.record.author, r.record.seq);
        let mut at_seq = BTreeSet::new();
        for other in self.reader.kv().forks_at(&author, seq)? {
            if self.in_log(&other)? {
                at_seq.insert(other);
            }
        }
        at_seq.insert(*h);
        if at_seq.len() < 2 {
            return Ok(());
        }
        let cause = at_seq.iter().min().copied().unwrap_or(*h);
        for (s, other) in self.reader.kv().chain(&author)? {
            if s < seq {
                continue;
            }
            let Some(rec) = self.logged(&other)? else {
                continue;
            };
            for lot in self.created(&rec)? {
                self.raise(&lot, LotStatus::own(StatusKind::AuthorForked, cause));
            }
        }
        Ok(())
    }

    /// A record of the cut creating lots under a key revoked before it, or
    /// at or after a seq its author signed twice.
    fn created_when_suspect(&mut self, r: &SignedRecord) -> Result<(), StoreError> {
        let (author, seq) = (r.record.author, r.record.seq);
        let lots = self.created(r)?;
        if lots.is_empty() {
            return Ok(());
        }
        for (revocation, last) in self.reader.kv().revocations_of(&author)? {
            if self.in_log(&revocation)? && last.is_none_or(|l| seq > l) {
                for lot in &lots {
                    self.raise(lot, LotStatus::own(StatusKind::AuthorRevoked, revocation));
                }
            }
        }
        let mut by_seq: BTreeMap<u64, BTreeSet<Hash>> = BTreeMap::new();
        for (s, h) in self.reader.kv().chain(&author)? {
            if s <= seq && self.in_log(&h)? {
                by_seq.entry(s).or_default().insert(h);
            }
        }
        for fork in by_seq.values().filter(|hs| hs.len() > 1) {
            let cause = fork.iter().min().copied().unwrap_or(Hash([0; 32]));
            for lot in &lots {
                self.raise(lot, LotStatus::own(StatusKind::AuthorForked, cause));
            }
        }
        Ok(())
    }

    /// Passes every changed status down to the lots made from it by
    /// transforms in the log, until nothing changes.
    fn pass_down(&mut self) -> Result<(), StoreError> {
        while let Some(lot) = self.todo.pop() {
            let Some(status) = self.status(&lot) else {
                continue;
            };
            for h in self.reader.lot_records(&lot)? {
                let Some(r) = self.logged(&h)? else { continue };
                let Event::Transform { inputs, .. } = &r.record.event else {
                    continue;
                };
                if !inputs.iter().any(|i| i.lot == lot) {
                    continue;
                }
                for o in self.created(&r)? {
                    self.raise(&o, status.passed_down());
                }
            }
        }
        Ok(())
    }
}
