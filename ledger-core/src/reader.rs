//! A reader: the ledger as it stood when the reader was taken (the store
//! seen through the unfolded tail of that moment), queried from any
//! thread while the writer goes on. Storage-backed queries live here;
//! the algorithms over [`Graph`] live in [`crate::query`].

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock, RwLockReadGuard};

use serde::Serialize;

use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Quantity};
use crate::genesis::Genesis;
use crate::graph::{Graph, KeyInfo};
use crate::hash::{Hash, NetworkId};
use crate::key::PublicKey;
use crate::overlay::{Flag, FlagSource, ForkProof, Overlays};
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::{self, Tables};
use crate::tail::{Layered, Layers};
use crate::tlog::{LogState, Unlogged};
use crate::validate::KeyState;

/// A consistent view of a ledger, cheap to clone and to send to another
/// thread. It never waits for the writer, and the writer never waits for
/// it.
pub struct Reader<S: Store> {
    store: Arc<S>,
    genesis: Arc<Genesis>,
    network: NetworkId,
    layers: Layers,
    records: u64,
    pending: usize,
    log_end: u64,
    log: Arc<LogState>,
    unlogged: Arc<RwLock<Unlogged>>,
}

impl<S: Store> Clone for Reader<S> {
    fn clone(&self) -> Self {
        Reader {
            store: Arc::clone(&self.store),
            genesis: Arc::clone(&self.genesis),
            network: self.network,
            layers: Arc::clone(&self.layers),
            records: self.records,
            pending: self.pending,
            log_end: self.log_end,
            log: Arc::clone(&self.log),
            unlogged: Arc::clone(&self.unlogged),
        }
    }
}

impl<S: Store> std::fmt::Debug for Reader<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("network", &self.network)
            .field("records", &self.records)
            .field("pending", &self.pending)
            .finish()
    }
}

/// A participant known to the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Participant {
    /// Its identity key.
    pub key: PublicKey,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: crate::event::Role,
    /// Where it is (with its GLN, if any); `None` for genesis authorities.
    pub location: Option<crate::event::Location>,
    /// The enroll record (`None` for genesis authorities).
    pub enrolled_by: Option<Hash>,
    /// Its unified social credit code (GB 32100), when a regulator
    /// recorded one (the latest).
    pub uscc: Option<String>,
}

/// Who a key signs for and where its chain stands: what a client needs
/// before signing the next record with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// The key.
    pub key: PublicKey,
    /// The participant identity it signs for (its first key).
    pub identity: PublicKey,
    /// The participant's role.
    pub role: crate::event::Role,
    /// The participant's display name.
    pub name: String,
    /// The chain's last record (seq, hash), if it has any.
    pub head: Option<(u64, Hash)>,
    /// The seq of the rotate-key record that ended this key's chain.
    pub retired_at: Option<u64>,
    /// The enroll or rotate-key record that introduced the key, which its
    /// first record must depend on (`None` for genesis authorities).
    pub introduced_by: Option<Hash>,
    /// The reason of the latest revocation of this key, if any.
    pub revoked: Option<String>,
}

impl<S: Store> Reader<S> {
    pub(crate) fn new(
        store: Arc<S>,
        genesis: Arc<Genesis>,
        layers: Layers,
        (records, pending, log_end): (u64, usize, u64),
        (log, unlogged): (Arc<LogState>, Arc<RwLock<Unlogged>>),
    ) -> Self {
        let network = genesis.id();
        Reader {
            store,
            genesis,
            network,
            layers,
            records,
            pending,
            log_end,
            log,
            unlogged,
        }
    }

    /// The records accepted and not yet logged, kept in memory (shared
    /// with the ledger, which adds to it as records land).
    pub(crate) fn unlogged(&self) -> RwLockReadGuard<'_, Unlogged> {
        self.unlogged.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The transparency log as of the newest final checkpoint.
    pub(crate) fn log_state(&self) -> &LogState {
        &self.log
    }

    /// The tables as this reader sees them.
    pub(crate) fn kv(&self) -> Layered<'_, S> {
        Layered {
            store: self.store.as_ref(),
            layers: &self.layers,
        }
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// How many records are stored.
    pub fn len(&self) -> u64 {
        self.records
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// How many signing keys have a chain (what [`Self::heads`] would
    /// list), kept as records land: one read, not a scan.
    pub fn chain_count(&self) -> Result<u64, StoreError> {
        Ok(self.kv().chain_count()?.unwrap_or(0))
    }

    /// How many records wait in the pending pool.
    pub fn pending_len(&self) -> usize {
        self.pending
    }

    /// Whether the record `h` waits in the pending pool.
    pub fn is_pending(&self, h: &Hash) -> Result<bool, StoreError> {
        Ok(self.kv().pending(h)?.is_some())
    }

    /// Who `key` signs for, or `None` when nothing in the ledger enrolls
    /// it (as a genesis authority, by an enrollment or by a key rotation).
    pub fn signer(&self, key: &PublicKey) -> Result<Option<Signer>, StoreError> {
        let state = self.key_state(key)?;
        let mut who = state.as_ref().map(|s| (s.identity, s.role, s.name.clone()));
        let mut introduced_by = None;
        if let Some(a) = self.genesis.authority(key) {
            who = who.or(Some((*key, crate::event::Role::Regulator, a.name.clone())));
        } else {
            for h in self
                .records_of_kind(EventKind::Enroll)?
                .into_iter()
                .chain(self.records_of_kind(EventKind::RotateKey)?)
            {
                let Some(r) = self.record(&h)? else { continue };
                match &r.record.event {
                    Event::Enroll {
                        participant,
                        name,
                        role,
                        ..
                    } if participant == key => {
                        who = who.or(Some((*key, *role, name.clone())));
                    }
                    Event::RotateKey { new_key } if new_key == key => {
                        if who.is_none() {
                            who = self
                                .key_state(&r.record.author)?
                                .map(|o| (o.identity, o.role, o.name));
                        }
                    }
                    _ => continue,
                }
                // The earliest introduction is the one a first record names.
                let earlier = match introduced_by {
                    Some((t, _)) => r.record.time < t,
                    None => true,
                };
                if earlier {
                    introduced_by = Some((r.record.time, h));
                }
            }
        }
        let mut revoked: Option<(u64, String)> = None;
        for h in self.records_of_kind(EventKind::Revoke)? {
            let Some(r) = self.record(&h)? else { continue };
            if let Event::Revoke { key: k, reason, .. } = r.record.event {
                if k == *key && revoked.as_ref().is_none_or(|(t, _)| r.record.time >= *t) {
                    revoked = Some((r.record.time, reason));
                }
            }
        }
        Ok(who.map(|(identity, role, name)| Signer {
            key: *key,
            identity,
            role,
            name,
            head: state.as_ref().map(|s| (s.head_seq, s.head)),
            retired_at: state.as_ref().and_then(|s| s.retired_at),
            introduced_by: introduced_by.map(|(_, h)| h),
            revoked: revoked.map(|(_, why)| why),
        }))
    }

    /// A key's main-branch chain state.
    pub fn key_state(&self, key: &PublicKey) -> Result<Option<KeyState>, StoreError> {
        self.kv().key_state(key)
    }

    /// Every key's chain head on the main branch: (key, seq, hash), in key
    /// order. Nodes compare these to find what they miss.
    pub fn heads(&self) -> Result<Vec<(PublicKey, u64, Hash)>, StoreError> {
        Ok(self
            .kv()
            .key_states()?
            .into_iter()
            .map(|(k, s)| (k, s.head_seq, s.head))
            .collect())
    }

    /// How much of `lot` a participant holds (main branch).
    pub fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        self.kv().balance(holder, lot)
    }

    /// Everything a participant holds, by lot.
    pub fn holdings(&self, holder: &PublicKey) -> Result<Vec<(LotId, Quantity)>, StoreError> {
        self.kv().holdings(holder)
    }

    /// Every lot whose code is `code` (codes are unique per creator only).
    pub fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>, StoreError> {
        self.kv().lots_with_code(code)
    }

    /// Up to `limit` records of an author's main chain from seq `from` on,
    /// in seq order: what a peer that holds the chain up to `from - 1`
    /// needs. Fork branches are listed by [`Graph::chain`].
    pub fn chain_from(
        &self,
        author: &PublicKey,
        from: u64,
        limit: usize,
    ) -> Result<Vec<SignedRecord>, StoreError> {
        let kv = self.kv();
        let mut out = Vec::new();
        for (_, h) in kv.chain_slots_from(author, from, limit)? {
            out.extend(kv.record(&h)?);
        }
        Ok(out)
    }

    /// The hashes records in the pending pool are waiting for, so a node
    /// can ask its peers for exactly those (deduplicated, in hash order).
    pub fn pending_missing(&self) -> Result<Vec<Hash>, StoreError> {
        self.kv().missing()
    }

    /// An author's records in seq order (forks included).
    pub fn chain_records(&self, author: &PublicKey) -> Result<Vec<SignedRecord>, StoreError> {
        let mut out = Vec::new();
        for (_, h) in self.chain(author)? {
            if let Some(r) = self.record(&h)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Every participant: genesis authorities, then enrollments in time order.
    pub fn participants(&self) -> Result<Vec<Participant>, StoreError> {
        let mut out: Vec<Participant> = self
            .genesis
            .authorities
            .iter()
            .map(|a| Participant {
                key: a.key,
                name: a.name.clone(),
                role: crate::event::Role::Regulator,
                location: None,
                enrolled_by: None,
                uscc: None,
            })
            .collect();
        let mut enrolled = Vec::new();
        for h in self.records_of_kind(EventKind::Enroll)? {
            if let Some(r) = self.record(&h)? {
                if let Event::Enroll {
                    participant,
                    name,
                    role,
                    location,
                } = r.record.event
                {
                    enrolled.push((
                        r.record.time,
                        Participant {
                            key: participant,
                            name,
                            role,
                            location: Some(location),
                            enrolled_by: Some(h),
                            uscc: None,
                        },
                    ));
                }
            }
        }
        enrolled.sort_by_key(|(time, p)| (*time, p.key));
        out.extend(enrolled.into_iter().map(|(_, p)| p));
        let mut codes: Vec<(u64, Hash, PublicKey, String)> = Vec::new();
        for h in self.records_of_kind(EventKind::Identify)? {
            if let Some(r) = self.record(&h)? {
                if let Event::Identify { participant, uscc } = r.record.event {
                    codes.push((r.record.time, h, participant, uscc));
                }
            }
        }
        // The latest recorded code wins.
        codes.sort();
        for (_, _, participant, uscc) in codes {
            if let Some(p) = out.iter_mut().find(|p| p.key == participant) {
                p.uscc = Some(uscc);
            }
        }
        Ok(out)
    }

    /// Every stored record with its log seq, in the order they were
    /// accepted (causes before effects), a page at a time: no storage
    /// iterator is held while `visit` runs. Stops when `visit` returns
    /// false.
    pub fn for_each_logged(&self, visit: impl FnMut(u64, &[u8]) -> bool) -> Result<(), StoreError> {
        self.for_each_logged_after(0, visit)
    }

    /// The last log seq this view sees (0 while the log is empty): a
    /// position to follow the log from, seeing only what comes after.
    pub fn log_end(&self) -> u64 {
        self.log_end
    }

    /// [`Self::for_each_logged`] from the log seq after `after` on.
    pub fn for_each_logged_after(
        &self,
        after: u64,
        mut visit: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        const PAGE: usize = 1024;
        let mut after: Option<Vec<u8>> = Some(tables::log_entry_key(after));
        loop {
            let page = self
                .store
                .scan_page(tables::log_prefix(), after.as_deref(), PAGE)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = Some(last.clone());
            for (k, v) in &page {
                let Some(seq) = tables::log_seq(k) else {
                    continue;
                };
                if seq > self.log_end || !visit(seq, v) {
                    return Ok(());
                }
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }

    /// The log seq of the record at `seq` of `author`'s main chain, if
    /// it is stored: where a peer lacking that record and the chain after
    /// it may start reading this ledger's log.
    pub fn log_seq_of_chain(
        &self,
        author: &PublicKey,
        seq: u64,
    ) -> Result<Option<u64>, StoreError> {
        let kv = self.kv();
        match kv.chain_slots_from(author, seq, 1)?.into_iter().next() {
            Some((at, h)) if at == seq => kv.seq_of(&h),
            _ => Ok(None),
        }
    }

    /// Up to `limit` log entries after seq `after`, in log order.
    pub fn log_page(&self, after: u64, limit: usize) -> Result<Vec<(u64, Vec<u8>)>, StoreError> {
        let start = tables::log_entry_key(after);
        Ok(self
            .store
            .scan_page(tables::log_prefix(), Some(&start), limit)?
            .into_iter()
            .filter_map(|(k, v)| Some((tables::log_seq(&k)?, v)))
            .take_while(|(seq, _)| *seq <= self.log_end)
            .collect())
    }

    /// Every indexed record's hash and log seq, in no particular order.
    pub(crate) fn for_each_indexed(
        &self,
        mut visit: impl FnMut(Hash, u64),
    ) -> Result<(), StoreError> {
        tables::for_each_seq(self.store.as_ref(), &self.layers, &mut visit)
    }

    /// Every stored record with its hash, in the order they were accepted
    /// (see [`Self::for_each_logged`]).
    pub fn for_each_record(
        &self,
        mut visit: impl FnMut(Hash, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        let mut damaged = None;
        self.for_each_logged(|seq, bytes| match SignedRecord::decode(bytes) {
            Ok(r) => visit(r.hash(), bytes),
            Err(e) => {
                damaged = Some(StoreError::Corrupt {
                    key: format!("log seq {seq}"),
                    why: e.to_string(),
                });
                false
            }
        })?;
        damaged.map_or(Ok(()), Err)
    }

    /// The state digest: nodes holding the same records have the same
    /// digest, whatever order they arrived in. Kept as records land (see
    /// `digest.rs`), so this is one read.
    pub fn state_digest(&self) -> Result<Hash, StoreError> {
        Ok(self.kv().sums()?.digest(self.records))
    }

    /// The overlays over the whole ledger, as kept while records landed:
    /// the cost of the overlays' size, not the ledger's.
    pub fn overlays(&self) -> Result<Overlays, StoreError> {
        let kv = self.kv();
        let mut forks = Vec::new();
        for (author, seq) in kv.forks()? {
            forks.push(ForkProof {
                author,
                seq,
                records: kv.forks_at(&author, seq)?,
            });
        }
        Ok(Overlays {
            forks,
            revocations: kv.of_kind(EventKind::Revoke)?,
            recalls: kv.of_kind(EventKind::Recall)?,
            failed_inspections: kv.failed_inspections()?,
            flagged: kv
                .flagged()?
                .into_iter()
                .map(|(h, f)| (h, f.into_iter().collect()))
                .collect(),
        })
    }
}

/// A stored record's flags are one lookup.
impl<S: Store> FlagSource for Reader<S> {
    fn flags_of(&self, h: &Hash) -> Result<Vec<Flag>, StoreError> {
        self.kv().flags(h)
    }
}

impl<S: Store> Graph for Reader<S> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        self.kv().record(hash)
    }

    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        self.kv().lot_records(lot)
    }

    fn key_info(&self, key: &PublicKey) -> Result<Option<KeyInfo>, StoreError> {
        Ok(self.key_state(key)?.map(|s| KeyInfo {
            identity: s.identity,
            role: s.role,
            name: s.name,
        }))
    }

    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        self.kv().chain(author)
    }

    fn children(&self, hash: &Hash) -> Result<Vec<Hash>, StoreError> {
        let kv = self.kv();
        let mut out = kv.dep_children(hash)?;
        // Successors in the author's chain (more than one after a fork).
        if let Some(r) = kv.record(hash)? {
            let (author, next) = (r.record.author, r.record.seq.saturating_add(1));
            let mut successors: BTreeSet<Hash> = kv.forks_at(&author, next)?.into_iter().collect();
            successors.extend(kv.chain_slot(&author, next)?);
            for h in successors {
                if kv.record(&h)?.is_some_and(|c| c.record.prev == Some(*hash)) {
                    out.push(h);
                }
            }
        }
        Ok(out)
    }

    fn records_of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError> {
        self.kv().of_kind(kind)
    }

    fn input_uses(&self, author: &PublicKey) -> Result<Vec<Hash>, StoreError> {
        self.kv().input_uses(author)
    }

    fn credit_code(&self, participant: &PublicKey) -> Result<Option<String>, StoreError> {
        let kv = self.kv();
        // Keyed by time: the last is the latest (same-time ties by hash).
        for h in kv.identified(participant)?.iter().rev() {
            if let Some(Event::Identify { uscc, .. }) = kv.record(h)?.map(|r| r.record.event) {
                return Ok(Some(uscc));
            }
        }
        Ok(None)
    }

    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        self.kv().forks()
    }
}

impl<S: Store> FlagSource for crate::ledger::Ledger<S> {
    fn flags_of(&self, h: &Hash) -> Result<Vec<Flag>, StoreError> {
        FlagSource::flags_of(&**self, h)
    }
}

/// A ledger is read through its latest reader.
impl<S: Store> Graph for crate::ledger::Ledger<S> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        Graph::record(&**self, hash)
    }

    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        Graph::lot_records(&**self, lot)
    }

    fn key_info(&self, key: &PublicKey) -> Result<Option<KeyInfo>, StoreError> {
        Graph::key_info(&**self, key)
    }

    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        Graph::chain(&**self, author)
    }

    fn children(&self, hash: &Hash) -> Result<Vec<Hash>, StoreError> {
        Graph::children(&**self, hash)
    }

    fn records_of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError> {
        Graph::records_of_kind(&**self, kind)
    }

    fn input_uses(&self, author: &PublicKey) -> Result<Vec<Hash>, StoreError> {
        Graph::input_uses(&**self, author)
    }

    fn credit_code(&self, participant: &PublicKey) -> Result<Option<String>, StoreError> {
        Graph::credit_code(&**self, participant)
    }

    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        Graph::forks(&**self)
    }
}
