//! Queries: lots, lineage, downstream closure, traces, chains and the state
//! digest. Lineage and traces are written once over [`Graph`], so a stored
//! ledger and an offline trace bundle answer them the same way.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Product, Reading, Verdict};
use crate::graph::{Graph, KeyInfo};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::ledger::Ledger;
use crate::overlay::{Flag, Overlays};
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables;
use crate::txn::{decode_stored, read_record};
use crate::validate::KeyState;

/// Domain tag of the state digest.
const DIGEST_TAG: &[u8] = b"terroir/state/1";

impl<S: Store> Graph for Ledger<S> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        read_record(|k| self.store.get(k), hash)
    }

    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        let prefix = tables::lot_prefix(lot);
        let mut out = Vec::new();
        for (k, v) in self.store.scan_prefix(&prefix)? {
            match k.get(prefix.len()) {
                Some(&tables::LOT_POSTING_TAG) => out.extend(tables::hash_list(&v)),
                Some(&tables::LOT_OVERFLOW_TAG) => out.extend(tables::trailing_hash(&k)),
                _ => {}
            }
        }
        // In hash order, as the stored index always answered.
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn key_info(&self, key: &PublicKey) -> Result<Option<KeyInfo>, StoreError> {
        Ok(self.key_state(key)?.map(|s| KeyInfo {
            identity: s.identity,
            role: s.role,
            name: s.name,
        }))
    }

    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        let mut out = BTreeSet::new();
        for (k, v) in self.store.scan_prefix(&tables::chain_prefix(author))? {
            out.extend(tables::block_slots(&k, &v));
        }
        for (k, _) in self.store.scan_prefix(&tables::fork_prefix(author))? {
            let seq = k
                .get(33..41)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes);
            if let (Some(seq), Some(h)) = (seq, tables::trailing_hash(&k)) {
                out.insert((seq, h));
            }
        }
        Ok(out.into_iter().collect())
    }

    fn children(&self, hash: &Hash) -> Result<Vec<Hash>, StoreError> {
        let mut out = hashes_under(&self.store, &tables::children_prefix(hash))?;
        // Successors in the author's chain (more than one after a fork).
        if let Some(r) = self.record(hash)? {
            let (author, next) = (r.record.author, r.record.seq.saturating_add(1));
            let mut successors: BTreeSet<Hash> =
                hashes_under(&self.store, &tables::fork_seq_prefix(&author, next))?
                    .into_iter()
                    .collect();
            if let Some(block) = self.store.get(&tables::chain_block(&author, next))? {
                successors.extend(tables::slot_in_block(&block, next));
            }
            for h in successors {
                if self
                    .record(&h)?
                    .is_some_and(|c| c.record.prev == Some(*hash))
                {
                    out.push(h);
                }
            }
        }
        Ok(out)
    }

    fn records_of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError> {
        hashes_under(&self.store, &tables::kind_prefix(kind))
    }

    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        let mut out = BTreeSet::new();
        for (k, _) in self.store.scan_prefix(&[tables::FORK])? {
            let author = k.get(1..33).and_then(|b| <[u8; 32]>::try_from(b).ok());
            let seq = k
                .get(33..41)
                .and_then(|b| b.try_into().ok())
                .map(u64::from_be_bytes);
            if let (Some(a), Some(s)) = (author, seq) {
                out.insert((PublicKey(a), s));
            }
        }
        Ok(out.into_iter().collect())
    }
}

fn hashes_under(store: &impl Store, prefix: &[u8]) -> Result<Vec<Hash>, StoreError> {
    Ok(store
        .scan_prefix(prefix)?
        .iter()
        .filter_map(|(k, _)| tables::trailing_hash(k))
        .collect())
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

impl<S: Store> Ledger<S> {
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
        let k = tables::key_state(key);
        self.store
            .get(&k)?
            .map(|v| decode_stored(&k, &v))
            .transpose()
    }

    /// Every key's chain head on the main branch: (key, seq, hash), in key
    /// order. Nodes compare these to find what they miss.
    pub fn heads(&self) -> Result<Vec<(PublicKey, u64, Hash)>, StoreError> {
        let mut out = Vec::new();
        for (k, v) in self.store.scan_prefix(&[tables::KEY_STATE])? {
            let Some(key) = k.get(1..33).and_then(|b| <[u8; 32]>::try_from(b).ok()) else {
                continue;
            };
            let state: KeyState = decode_stored(&k, &v)?;
            out.push((PublicKey(key), state.head_seq, state.head));
        }
        Ok(out)
    }

    /// How much of `lot` a participant holds (main branch).
    pub fn balance(
        &self,
        holder: &PublicKey,
        lot: &LotId,
    ) -> Result<Option<crate::event::Quantity>, StoreError> {
        let k = tables::balance(holder, lot);
        self.store
            .get(&k)?
            .map(|v| decode_stored(&k, &v))
            .transpose()
    }

    /// Everything a participant holds, by lot.
    pub fn holdings(
        &self,
        holder: &PublicKey,
    ) -> Result<Vec<(LotId, crate::event::Quantity)>, StoreError> {
        let mut prefix = vec![tables::BALANCE];
        prefix.extend_from_slice(&holder.0);
        let mut out = Vec::new();
        for (k, v) in self.store.scan_prefix(&prefix)? {
            let rest = &k[prefix.len()..];
            let source = rest.get(..32).and_then(|b| <[u8; 32]>::try_from(b).ok());
            let code = rest
                .get(34..)
                .map(|b| String::from_utf8_lossy(b).into_owned());
            if let (Some(s), Some(code)) = (source, code) {
                let q = decode_stored(&k, &v)?;
                out.push((
                    LotId {
                        source: PublicKey(s),
                        code,
                    },
                    q,
                ));
            }
        }
        Ok(out)
    }

    /// Every lot whose code is `code` (codes are unique per creator only).
    pub fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>, StoreError> {
        let prefix = tables::code_prefix(code);
        Ok(self
            .store
            .scan_prefix(&prefix)?
            .iter()
            .filter_map(|(k, _)| {
                let s = <[u8; 32]>::try_from(k.get(prefix.len()..)?).ok()?;
                Some(LotId {
                    source: PublicKey(s),
                    code: code.to_owned(),
                })
            })
            .collect())
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
        let mut out = Vec::new();
        let mut seq = from;
        'blocks: while out.len() < limit {
            let Some(block) = self.store.get(&tables::chain_block(author, seq))? else {
                break;
            };
            // Slots fill without gaps: the first empty one ends the chain.
            while let Some(h) = tables::slot_in_block(&block, seq) {
                if let Some(r) = self.record(&h)? {
                    out.push(r);
                }
                seq = seq.saturating_add(1);
                if out.len() >= limit || seq % tables::CHAIN_BLOCK == 0 {
                    continue 'blocks;
                }
            }
            break;
        }
        Ok(out)
    }

    /// The hashes records in the pending pool are waiting for, so a node
    /// can ask its peers for exactly those (deduplicated, in hash order).
    pub fn pending_missing(&self) -> Result<Vec<Hash>, StoreError> {
        let mut out = BTreeSet::new();
        self.store
            .for_each_prefix(&[tables::WAITING], &mut |k, _| {
                if let Some(m) = k.get(1..33).and_then(|b| <[u8; 32]>::try_from(b).ok()) {
                    out.insert(Hash(m));
                }
                true
            })?;
        Ok(out.into_iter().collect())
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
                        },
                    ));
                }
            }
        }
        enrolled.sort_by_key(|(time, p)| (*time, p.key));
        out.extend(enrolled.into_iter().map(|(_, p)| p));
        Ok(out)
    }

    /// Every stored record, in hash order, a page at a time (no storage
    /// iterator is held while `visit` runs, so `visit` may write elsewhere).
    pub fn for_each_record(
        &self,
        mut visit: impl FnMut(Hash, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        const PAGE: usize = 1024;
        let mut after: Option<Vec<u8>> = None;
        loop {
            let page = self
                .store
                .scan_page(&[tables::RECORD], after.as_deref(), PAGE)?;
            let Some((last, _)) = page.last() else {
                return Ok(());
            };
            after = Some(last.clone());
            for (k, v) in &page {
                if let Some(h) = tables::trailing_hash(k) {
                    if !visit(h, v) {
                        return Ok(());
                    }
                }
            }
            if page.len() < PAGE {
                return Ok(());
            }
        }
    }

    /// The state digest: SHA-256 over the sorted hashes of every stored
    /// record and the canonical bytes of the overlays. Nodes holding the
    /// same records have the same digest, whatever order they arrived in.
    pub fn state_digest(&self) -> Result<Hash, StoreError> {
        use sha2::{Digest, Sha256};
        let mut hasher = Sha256::new();
        hasher.update(DIGEST_TAG);
        let mut count = 0u64;
        self.for_each_record(|h, _| {
            hasher.update(h.0);
            count += 1;
            true
        })?;
        hasher.update(count.to_le_bytes());
        hasher.update(Overlays::compute(self)?.digest_bytes());
        Ok(Hash(hasher.finalize().into()))
    }

    /// The overlays over the whole ledger.
    pub fn overlays(&self) -> Result<Overlays, StoreError> {
        Overlays::compute(self)
    }
}

fn identity_of(graph: &impl Graph, key: &PublicKey) -> Result<PublicKey, StoreError> {
    Ok(graph.key_info(key)?.map_or(*key, |k| k.identity))
}

fn records(graph: &impl Graph, hashes: &[Hash]) -> Result<Vec<(Hash, SignedRecord)>, StoreError> {
    let mut out = Vec::with_capacity(hashes.len());
    for h in hashes {
        if let Some(r) = graph.record(h)? {
            out.push((*h, r));
        }
    }
    Ok(out)
}

/// Whether `record` created `lot`: its author signs for the lot's source
/// and the lot's code is among the lots it creates.
pub fn creates(graph: &impl Graph, record: &SignedRecord, lot: &LotId) -> Result<bool, StoreError> {
    Ok(record
        .record
        .event
        .created_lots()
        .iter()
        .any(|(c, _, _)| *c == lot.code)
        && identity_of(graph, &record.record.author)? == lot.source)
}

/// The record that created `lot` (its harvest or transform), if present.
pub fn creation(graph: &impl Graph, lot: &LotId) -> Result<Option<Hash>, StoreError> {
    for h in graph.lot_records(lot)? {
        if let Some(r) = graph.record(&h)? {
            if creates(graph, &r, lot)? {
                return Ok(Some(h));
            }
        }
    }
    Ok(None)
}

/// The lots a lot was made from, transitively (not including itself).
pub fn upstream_lots(graph: &impl Graph, lot: &LotId) -> Result<BTreeSet<LotId>, StoreError> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![lot.clone()];
    while let Some(l) = stack.pop() {
        for (_, r) in records(graph, &graph.lot_records(&l)?)? {
            if let Event::Transform { inputs, .. } = &r.record.event {
                if creates(graph, &r, &l)? {
                    for i in inputs {
                        if seen.insert(i.lot.clone()) {
                            stack.push(i.lot.clone());
                        }
                    }
                }
            }
        }
    }
    seen.remove(lot);
    Ok(seen)
}

/// Every lot derived from `lot` through transforms, transitively (not
/// including itself): what a recall of `lot` must reach.
pub fn downstream_lots(graph: &impl Graph, lot: &LotId) -> Result<BTreeSet<LotId>, StoreError> {
    let mut seen = BTreeSet::new();
    let mut stack = vec![lot.clone()];
    while let Some(l) = stack.pop() {
        for (_, r) in records(graph, &graph.lot_records(&l)?)? {
            if let Event::Transform {
                inputs, outputs, ..
            } = &r.record.event
            {
                if inputs.iter().any(|i| i.lot == l) {
                    let source = identity_of(graph, &r.record.author)?;
                    for o in outputs {
                        let out = LotId {
                            source,
                            code: o.code.clone(),
                        };
                        if seen.insert(out.clone()) {
                            stack.push(out);
                        }
                    }
                }
            }
        }
    }
    seen.remove(lot);
    Ok(seen)
}

/// Every record that contributed to `lot`: all records naming the lot
/// itself, and for each upstream lot the custody path that brought it to
/// the transform that consumed it (creation, ship and receive records), and
/// the observations, inspections, certifications and recalls of it.
pub fn lineage(graph: &impl Graph, lot: &LotId) -> Result<BTreeSet<Hash>, StoreError> {
    let mut out = BTreeSet::new();
    let mut visited = BTreeSet::new();
    // (lot, holder whose path to follow; None = every record of the lot)
    let mut stack: Vec<(LotId, Option<PublicKey>)> = vec![(lot.clone(), None)];
    while let Some((l, holder)) = stack.pop() {
        if !visited.insert((l.clone(), holder)) {
            continue;
        }
        for (h, r) in records(graph, &graph.lot_records(&l)?)? {
            let author = identity_of(graph, &r.record.author)?;
            let creates = creates(graph, &r, &l)?;
            let include = match (&r.record.event, holder) {
                (_, None) => true,
                (_, _) if creates => true,
                (
                    Event::Observe { .. }
                    | Event::Inspect { .. }
                    | Event::Certify { .. }
                    | Event::Recall { .. },
                    _,
                ) => true,
                (Event::Receive { .. }, Some(p)) => author == p,
                _ => false,
            };
            if !include {
                continue;
            }
            out.insert(h);
            match &r.record.event {
                Event::Transform { inputs, .. } if creates => {
                    for i in inputs {
                        stack.push((i.lot.clone(), Some(author)));
                    }
                }
                Event::Receive { shipment, .. } if holder.is_some() => {
                    if let Some(ship) = graph.record(shipment)? {
                        out.insert(*shipment);
                        let shipper = identity_of(graph, &ship.record.author)?;
                        stack.push((l.clone(), Some(shipper)));
                    }
                }
                _ => {}
            }
        }
    }
    Ok(out)
}

/// One event of a trace, with who signed it and any flags on it.
#[derive(Debug, Clone, Serialize)]
pub struct TraceEvent {
    /// The record's hash.
    pub hash: Hash,
    /// The signing key.
    pub author: PublicKey,
    /// The signer's name and role, when known.
    pub signer: Option<KeyInfo>,
    /// Its seq.
    pub seq: u64,
    /// Event time (ms since epoch).
    pub time: u64,
    /// The event.
    pub event: Event,
    /// Overlay flags (revoked key, equivocation, tainted).
    pub flags: Vec<Flag>,
}

/// Something a reader of a trace must be warned about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum Warning {
    /// The lot or a lot it was made from is recalled.
    Recalled {
        /// The recalled lot.
        lot: LotId,
        /// The recall record.
        record: Hash,
        /// The stated reason.
        reason: String,
    },
    /// An inspection of the lot or an upstream lot failed.
    FailedInspection {
        /// The inspected lot.
        lot: LotId,
        /// The inspect record.
        record: Hash,
        /// What was tested.
        test: String,
    },
    /// A sensor reading outside its allowed range.
    Excursion {
        /// The observed lot.
        lot: LotId,
        /// The observe record.
        record: Hash,
        /// The reading.
        reading: Reading,
    },
    /// A record of the trace is flagged by an overlay.
    Flagged {
        /// The record.
        record: Hash,
        /// Why.
        flag: Flag,
    },
}

/// A lot's journey, ready to show.
#[derive(Debug, Clone, Serialize)]
pub struct Trace {
    /// The lot.
    pub lot: LotId,
    /// What it is, from its creation record.
    pub product: Option<Product>,
    /// The events of its lineage, by time.
    pub events: Vec<TraceEvent>,
    /// Lots it was made from.
    pub upstream: Vec<LotId>,
    /// Lots made from it.
    pub downstream: Vec<LotId>,
    /// Certified claims on it or its upstream lots: (lot, claim, record).
    pub certifications: Vec<(LotId, String, Hash)>,
    /// What a reader must be warned about.
    pub warnings: Vec<Warning>,
}

impl Trace {
    /// Whether the trace carries no warning.
    pub fn is_clean(&self) -> bool {
        self.warnings.is_empty()
    }
}

/// Builds the trace of `lot`, or `None` if no record creates it.
pub fn trace(
    graph: &impl Graph,
    overlays: &Overlays,
    lot: &LotId,
) -> Result<Option<Trace>, StoreError> {
    let hashes = lineage(graph, lot)?;
    let mut events = Vec::with_capacity(hashes.len());
    let mut product = None;
    let mut warnings = Vec::new();
    let mut certifications = Vec::new();
    let mut infos: BTreeMap<PublicKey, Option<KeyInfo>> = BTreeMap::new();
    for h in &hashes {
        let Some(r) = graph.record(h)? else { continue };
        let signer = match infos.get(&r.record.author) {
            Some(i) => i.clone(),
            None => {
                let i = graph.key_info(&r.record.author)?;
                infos.insert(r.record.author, i.clone());
                i
            }
        };
        let identity = signer.as_ref().map_or(r.record.author, |i| i.identity);
        if identity == lot.source {
            if let Some((_, p, _)) = r
                .record
                .event
                .created_lots()
                .into_iter()
                .find(|(c, _, _)| *c == lot.code)
            {
                product = Some(p.clone());
            }
        }
        match &r.record.event {
            Event::Recall { lot, reason } => warnings.push(Warning::Recalled {
                lot: lot.clone(),
                record: *h,
                reason: reason.clone(),
            }),
            Event::Inspect {
                lot,
                test,
                verdict: Verdict::Fail,
                ..
            } => warnings.push(Warning::FailedInspection {
                lot: lot.clone(),
                record: *h,
                test: test.clone(),
            }),
            Event::Observe { lot, readings, .. } => {
                for reading in readings.iter().filter(|r| r.is_excursion()) {
                    warnings.push(Warning::Excursion {
                        lot: lot.clone(),
                        record: *h,
                        reading: *reading,
                    });
                }
            }
            Event::Certify { lot, claim, .. } => {
                certifications.push((lot.clone(), claim.clone(), *h))
            }
            _ => {}
        }
        let flags = overlays.flags(h);
        for f in &flags {
            warnings.push(Warning::Flagged {
                record: *h,
                flag: *f,
            });
        }
        events.push(TraceEvent {
            hash: *h,
            author: r.record.author,
            signer,
            seq: r.record.seq,
            time: r.record.time,
            event: r.record.event,
            flags,
        });
    }
    if product.is_none() {
        return Ok(None);
    }
    events.sort_by_key(|e| (e.time, e.hash));
    Ok(Some(Trace {
        lot: lot.clone(),
        product,
        events,
        upstream: upstream_lots(graph, lot)?.into_iter().collect(),
        downstream: downstream_lots(graph, lot)?.into_iter().collect(),
        certifications,
        warnings,
    }))
}
