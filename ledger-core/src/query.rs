//! Queries: lots, lineage, downstream closure and traces, written once over
//! [`Graph`], so a stored ledger and an offline trace bundle answer them
//! the same way. What reads storage directly is in [`crate::reader`].

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::StoreError;
use crate::event::{Event, LotId, Product, Reading, Verdict};
use crate::graph::{Graph, KeyInfo};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::overlay::{Flag, FlagSource};
use crate::record::SignedRecord;

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
/// the observations, inspections, certifications, recalls and compliance
/// certificates of it; and every declaration that one of those records is
/// erroneous.
pub fn lineage(graph: &impl Graph, lot: &LotId) -> Result<BTreeSet<Hash>, StoreError> {
    let mut out = BTreeSet::new();
    let mut visited = BTreeSet::new();
    // (lot, holder whose path to follow; None = every record of the lot)
    let mut stack: Vec<(LotId, Option<PublicKey>)> = vec![(lot.clone(), None)];
    // Error declarations met on the way: (declared record, declaration).
    let mut declarations = Vec::new();
    while let Some((l, holder)) = stack.pop() {
        if !visited.insert((l.clone(), holder)) {
            continue;
        }
        for (h, r) in records(graph, &graph.lot_records(&l)?)? {
            if let Event::Correct { record, .. } = &r.record.event {
                declarations.push((*record, h));
            }
            let author = identity_of(graph, &r.record.author)?;
            let creates = creates(graph, &r, &l)?;
            let include = match (&r.record.event, holder) {
                (_, None) => true,
                (_, _) if creates => true,
                (
                    Event::Observe { .. }
                    | Event::Inspect { .. }
                    | Event::Certify { .. }
                    | Event::Recall { .. }
                    | Event::Certificate { .. },
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
    // A declaration that a record of the lineage is erroneous travels
    // with it, wherever upstream the record is.
    for (declared, declaration) in declarations {
        if out.contains(&declared) {
            out.insert(declaration);
        }
    }
    Ok(out)
}

/// The causal closure of one signing key's chain, summed: what a local
/// replica compares with a node's to know it holds the same history of
/// that key (see [`lineage_digest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Lineage {
    /// Records in the closure.
    pub records: u64,
    /// SHA-256 over [`LINEAGE_TAG`] and the closure's hashes, ascending.
    pub digest: Hash,
}

/// The domain tag [`lineage_digest`] hashes first.
pub const LINEAGE_TAG: &[u8] = b"terroir-lineage-v1\n";

/// The causal closure of `author`'s chain — every record the key signed
/// (fork branches included, so the answer does not depend on which branch
/// a ledger saw first) and, recursively, every record they name as `prev`
/// or in `deps` — counted and summed: SHA-256 over [`LINEAGE_TAG`]
/// followed by the closure's 32-byte hashes in ascending order. Two
/// ledgers holding the same closure give the same [`Lineage`] whatever
/// order the records arrived in. `None` when the key has no chain.
/// Parents missing from `graph` are not followed (a stored ledger holds
/// every parent of what it stores).
///
/// Costs one record read per member of the closure.
pub fn lineage_digest(
    graph: &impl Graph,
    author: &PublicKey,
) -> Result<Option<Lineage>, StoreError> {
    let chain = graph.chain(author)?;
    if chain.is_empty() {
        return Ok(None);
    }
    let mut seen: BTreeSet<Hash> = BTreeSet::new();
    let mut stack: Vec<Hash> = chain.into_iter().map(|(_, h)| h).collect();
    while let Some(h) = stack.pop() {
        if seen.contains(&h) {
            continue;
        }
        let Some(r) = graph.record(&h)? else { continue };
        seen.insert(h);
        stack.extend(
            r.record
                .prev
                .iter()
                .chain(&r.record.deps)
                .filter(|p| !seen.contains(*p)),
        );
    }
    let mut sha = Sha256::new();
    sha.update(LINEAGE_TAG);
    for h in &seen {
        sha.update(h.0);
    }
    Ok(Some(Lineage {
        records: seen.len() as u64,
        digest: Hash(sha.finalize().into()),
    }))
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
    /// A lot of the trace was harvested from a field before the safety
    /// interval (安全间隔期) of an input used on it had passed.
    SafetyInterval {
        /// The harvested lot.
        lot: LotId,
        /// The harvest record.
        harvest: Hash,
        /// When it was harvested (ms since epoch).
        harvested: u64,
        /// The input-use record.
        input: Hash,
        /// The input as its label names it.
        product: String,
        /// Its active ingredients.
        ingredients: Vec<String>,
        /// When it was applied (ms since epoch).
        applied: u64,
        /// Its safety interval, in days.
        interval_days: u32,
    },
    /// Its author declared a record of the trace erroneous (an EPCIS
    /// error declaration): the record stays, read as erroneous.
    DeclaredErroneous {
        /// The record declared erroneous.
        record: Hash,
        /// The declaration.
        declaration: Hash,
        /// The stated reason (may be empty).
        reason: String,
        /// The records that correct it.
        corrective: Vec<Hash>,
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
    /// Observations, linked documents and unpackings of its lots signed by
    /// someone who never had them, left out of `events` and `warnings`
    /// (see [`trace`]), by time.
    pub left_out: Vec<TraceEvent>,
}

impl Trace {
    /// Whether the trace carries no warning (an author's declaration that
    /// one of its own records is erroneous is shown on that record, and
    /// is no warning about the lot).
    pub fn is_clean(&self) -> bool {
        self.warnings
            .iter()
            .all(|w| matches!(w, Warning::DeclaredErroneous { .. }))
    }

    /// The declarations that `record` is erroneous: (declaration, reason).
    pub fn declared_erroneous(&self, record: &Hash) -> Vec<(Hash, &str)> {
        self.warnings
            .iter()
            .filter_map(|w| match w {
                Warning::DeclaredErroneous {
                    record: r,
                    declaration,
                    reason,
                    ..
                } if r == record => Some((*declaration, reason.as_str())),
                _ => None,
            })
            .collect()
    }
}

/// The input uses whose pre-harvest safety interval had not passed when
/// `harvest` was harvested from their field (none for another record).
///
/// Read from the author's input uses (indexed by author), never by
/// walking its chain: a consumer page pays for the farm's sprays, not for
/// all it signed.
pub fn safety_breaches(
    graph: &impl Graph,
    harvest: &SignedRecord,
) -> Result<Vec<(Hash, SignedRecord)>, StoreError> {
    let Event::Harvest {
        location: field, ..
    } = &harvest.record.event
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    // Newest first; the interval is at most a year.
    for h in graph.input_uses(&harvest.record.author)?.iter().rev() {
        let Some(used) = graph.record(h)? else {
            continue;
        };
        if used.record.seq >= harvest.record.seq {
            continue;
        }
        let Event::InputUse {
            field: sprayed,
            safety_interval_days,
            ..
        } = &used.record.event
        else {
            continue;
        };
        let until = used
            .record
            .time
            .saturating_add(u64::from(*safety_interval_days) * crate::time::DAY_MS);
        if until <= harvest.record.time
            && harvest.record.time.saturating_sub(used.record.time)
                > u64::from(crate::validate::MAX_SAFETY_INTERVAL_DAYS) * crate::time::DAY_MS
        {
            break;
        }
        if harvest.record.time < until && crate::validate::same_field(sprayed, field) {
            out.push((*h, used));
        }
    }
    Ok(out)
}

/// One record of a lot's lineage, with who signed it.
struct Member {
    hash: Hash,
    record: SignedRecord,
    signer: Option<KeyInfo>,
    identity: PublicKey,
}

/// The records of `lot`'s lineage that a trace shows, and those it leaves
/// out: records that need no custody (an observation, a linked document,
/// an unpacking) signed by someone who never had the lot. Anyone enrolled
/// may sign those, so without this a stranger could put a made-up
/// temperature excursion or document on any brand's page. A lot's parties
/// are its maker, whoever shipped or received it, whoever it was shipped
/// to (a buyer may observe a delivery before receiving it), and, for an
/// observation, a logistics firm naming the shipment it carries.
fn members(graph: &impl Graph, lot: &LotId) -> Result<(Vec<Member>, Vec<Member>), StoreError> {
    let hashes = lineage(graph, lot)?;
    let mut all = Vec::with_capacity(hashes.len());
    let mut infos: BTreeMap<PublicKey, Option<KeyInfo>> = BTreeMap::new();
    let mut parties: BTreeMap<LotId, BTreeSet<PublicKey>> = BTreeMap::new();
    let mut shipments: BTreeMap<Hash, LotId> = BTreeMap::new();
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
        for (code, _, _) in r.record.event.created_lots() {
            let made = LotId {
                source: identity,
                code: code.to_owned(),
            };
            parties.entry(made).or_default().insert(identity);
        }
        match &r.record.event {
            Event::Ship { lot, to, .. } => {
                shipments.insert(*h, lot.clone());
                let p = parties.entry(lot.clone()).or_default();
                p.insert(identity);
                p.insert(*to);
            }
            Event::Receive { lot, .. } => {
                parties.entry(lot.clone()).or_default().insert(identity);
            }
            _ => {}
        }
        all.push(Member {
            hash: *h,
            record: r,
            signer,
            identity,
        });
    }
    let (mut shown, mut left_out) = (Vec::with_capacity(all.len()), Vec::new());
    for m in all {
        let custody_free: Vec<&LotId> = match &m.record.record.event {
            Event::Observe { lot, .. } => vec![lot],
            Event::Transact { lots, .. } => lots.iter().map(|l| &l.lot).collect(),
            Event::Aggregate {
                action: crate::event::Action::Delete,
                children,
                ..
            }
            | Event::Associate {
                action: crate::event::Action::Delete,
                children,
                ..
            } => children.iter().map(|c| &c.lot).collect(),
            _ => Vec::new(),
        };
        let stranger = custody_free.into_iter().any(|l| {
            parties
                .get(l)
                .is_some_and(|p| !p.contains(&m.identity) && l.source != m.identity)
                && !carries(&m, l, &shipments)
        });
        if stranger {
            left_out.push(m);
        } else {
            shown.push(m);
        }
    }
    Ok((shown, left_out))
}

/// Whether `m` is a logistics firm's observation of a shipment of `lot`
/// it carries: it names the ship record among its deps. (A shipment does
/// not name its carrier, so a truck's readings come from a firm off the
/// custody path.)
fn carries(m: &Member, lot: &LotId, shipments: &BTreeMap<Hash, LotId>) -> bool {
    matches!(m.record.record.event, Event::Observe { .. })
        && m.signer
            .as_ref()
            .is_some_and(|s| s.role == crate::event::Role::Logistics)
        && m.record
            .record
            .deps
            .iter()
            .any(|d| shipments.get(d) == Some(lot))
}

/// Builds the trace of `lot`, or `None` if no record creates it.
///
/// An observation, linked document or unpacking signed by someone who
/// never made, shipped, received or was sent the lot it names is left out
/// of its events and warnings (anyone enrolled may sign those) and listed
/// in [`Trace::left_out`], for an auditor to see who tried.
pub fn trace(
    graph: &impl Graph,
    flags: &impl FlagSource,
    lot: &LotId,
) -> Result<Option<Trace>, StoreError> {
    let (members, strangers) = members(graph, lot)?;
    let mut events = Vec::with_capacity(members.len());
    let mut product = None;
    let mut warnings = Vec::new();
    let mut certifications = Vec::new();
    for Member {
        hash,
        record: r,
        signer,
        identity,
    } in members
    {
        let h = &hash;
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
        if let Event::Harvest { lot_code, .. } = &r.record.event {
            for (input, used) in safety_breaches(graph, &r)? {
                if let Event::InputUse {
                    product,
                    ingredients,
                    safety_interval_days,
                    ..
                } = used.record.event
                {
                    warnings.push(Warning::SafetyInterval {
                        lot: LotId {
                            source: identity,
                            code: lot_code.clone(),
                        },
                        harvest: *h,
                        harvested: r.record.time,
                        input,
                        product,
                        ingredients,
                        applied: used.record.time,
                        interval_days: safety_interval_days,
                    });
                }
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
            Event::Correct {
                record,
                reason,
                corrective,
                ..
            } => warnings.push(Warning::DeclaredErroneous {
                record: *record,
                declaration: *h,
                reason: reason.clone(),
                corrective: corrective.clone(),
            }),
            _ => {}
        }
        let flags = flags.flags_of(h)?;
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
    let mut left_out = Vec::with_capacity(strangers.len());
    for m in strangers {
        left_out.push(TraceEvent {
            hash: m.hash,
            author: m.record.record.author,
            signer: m.signer,
            seq: m.record.record.seq,
            time: m.record.record.time,
            flags: flags.flags_of(&m.hash)?,
            event: m.record.record.event,
        });
    }
    left_out.sort_by_key(|e| (e.time, e.hash));
    Ok(Some(Trace {
        lot: lot.clone(),
        product,
        events,
        upstream: upstream_lots(graph, lot)?.into_iter().collect(),
        downstream: downstream_lots(graph, lot)?.into_iter().collect(),
        certifications,
        warnings,
        left_out,
    }))
}
