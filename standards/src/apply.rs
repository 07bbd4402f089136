//! Mapped EPCIS events → signed records of one participant, committed to a
//! ledger as one atomic batch.
//!
//! The batch goes through [`Ledger::ingest_atomic`], which writes it only
//! if every record is accepted: a refused import leaves the ledger as it
//! was.

use std::collections::{BTreeMap, BTreeSet};

use ledger_core::event::LotAmount;
use ledger_core::graph::Graph;
use ledger_core::gs1;
use ledger_core::ledger::Atomic;
use ledger_core::record::Extras;
use ledger_core::store::Store;
use ledger_core::{
    Event, EventKind, Hash, Ledger, LotId, Outcome, PublicKey, Quantity, Record, Role,
    SignedRecord, SigningKey, StoreError,
};

use serde_json::{Map, Value};

use crate::export;
use crate::import::{Draft, Mapped, PartyRef};
use crate::vocab::{self, LotRef};

/// Why an import committed nothing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The key signs for nobody in this ledger.
    #[error("key {0} is not enrolled in this ledger")]
    NotEnrolled(String),
    /// `strict` and some events were skipped: every one of them, as
    /// (event index, eventID, reason), in document order.
    #[error("{} event(s) cannot be imported (strict mode imports nothing then); first: event {}: {}", skipped.len(), first(skipped).0, first(skipped).2)]
    Skipped {
        /// The skipped events (never empty).
        skipped: Vec<(usize, Option<String>, String)>,
    },
    /// A record would be refused by the ledger.
    #[error(
        "event {index} ({kind}) would be refused by the ledger, so nothing was imported: {reason}"
    )]
    Rejected {
        /// The event's index.
        index: usize,
        /// The event kind.
        kind: EventKind,
        /// Why.
        reason: String,
    },
    /// Importing would have decided a record waiting in the pending pool,
    /// and the ledger refused it.
    #[error("the import would release pending record {0}, which the ledger refuses, so nothing was imported")]
    ReleasedRefused(Hash),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What an import did.
#[derive(Debug, Clone, Default)]
pub struct ImportReport {
    /// Imported events: (event index, record hash, kind).
    pub imported: Vec<(usize, Hash, EventKind)>,
    /// Skipped events: (event index, eventID, reason).
    pub skipped: Vec<(usize, Option<String>, String)>,
    /// Records of others that waited in the pending pool for what this
    /// import signed, and were stored with it (a node announces them too).
    pub released: Vec<Hash>,
}

/// The first skipped event, for the error's one line.
fn first(skipped: &[(usize, Option<String>, String)]) -> (usize, &str, &str) {
    skipped.first().map_or((0, "", ""), |(i, id, r)| {
        (*i, id.as_deref().unwrap_or(""), r.as_str())
    })
}

struct Signer {
    identity: PublicKey,
    role: Role,
    first_dep: Option<Hash>,
}

fn signer<S: Store>(ledger: &Ledger<S>, pk: &PublicKey) -> Result<Signer, ImportError> {
    let s = ledger
        .signer(pk)?
        .ok_or_else(|| ImportError::NotEnrolled(pk.short()))?;
    Ok(Signer {
        identity: s.identity,
        role: s.role,
        // Only a key with no records yet names its introduction.
        first_dep: s.head.map_or(s.introduced_by, |_| None),
    })
}

/// The ledger (or this batch) as import resolves lots in it.
struct Resolver<'l, S: Store> {
    ledger: &'l Ledger<S>,
    /// The importing key, and whom it signs for.
    key: PublicKey,
    identity: PublicKey,
    /// The eventIDs of this batch's events → their place in the batch.
    ids: BTreeMap<String, usize>,
    /// The eventIDs the importing key's records in the ledger keep,
    /// read once, when an error declaration first needs them.
    ledger_ids: Option<BTreeMap<String, Hash>>,
    /// Lots created earlier in this batch (by code) → the creating
    /// record and the product's GTIN.
    created: BTreeMap<String, (Hash, Option<String>)>,
    /// Shipments received earlier in this batch.
    received: Vec<Hash>,
}

impl<S: Store> Resolver<'_, S> {
    fn lot(&self, r: &LotRef) -> Result<LotId, String> {
        if let Some(source) = r.source {
            return Ok(LotId {
                source,
                code: r.code.clone(),
            });
        }
        // A lot named with a GTIN is that (GTIN, lot) pair and no other:
        // the same code on another product is another lot.
        if let Some((_, gtin)) = self.created.get(&r.code) {
            let same = |a: &Option<String>, b: &Option<String>| {
                a.as_deref().map(gs1::gtin14) == b.as_deref().map(gs1::gtin14)
            };
            if r.gtin.is_none() || same(&r.gtin, gtin) {
                return Ok(LotId {
                    source: self.identity,
                    code: r.code.clone(),
                });
            }
        }
        let lots = match &r.gtin {
            Some(gtin) => self.ledger.lots_with_gtin_and_code(gtin, &r.code),
            None => self.ledger.lots_with_code(&r.code),
        }
        .map_err(|e| e.to_string())?;
        match lots.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(match &r.gtin {
                Some(gtin) => format!(
                    "no lot {:?} of GTIN {gtin} in the ledger or earlier in the document",
                    r.code
                ),
                None => format!(
                    "no lot {:?} in the ledger or earlier in the document",
                    r.code
                ),
            }),
            many => Err(format!(
                "lot code {:?} is used by {} participants; name the lot by its urn:terroir:lot URN",
                r.code,
                many.len()
            )),
        }
    }

    /// The record that created `lot`.
    fn creation(&self, lot: &LotId) -> Result<Hash, String> {
        if lot.source == self.identity {
            if let Some((h, _)) = self.created.get(&lot.code) {
                return Ok(*h);
            }
        }
        ledger_core::query::creation(self.ledger, lot)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the ledger has no record creating lot {lot}"))
    }

    /// A shipment of `lot` to the importer not yet received.
    fn shipment(&self, lot: &LotId, given: Option<Hash>) -> Result<Hash, String> {
        let err = |e: StoreError| e.to_string();
        let records = self.ledger.lot_records(lot).map_err(err)?;
        let mut receipts = self.received.clone();
        let mut ships = Vec::new();
        for h in &records {
            let Some(r) = self.ledger.record(h).map_err(err)? else {
                continue;
            };
            match r.record.event {
                Event::Ship { to, .. } if to == self.identity => ships.push((r.record.time, *h)),
                Event::Receive { shipment, .. } => receipts.push(shipment),
                _ => {}
            }
        }
        if let Some(g) = given {
            if ships.iter().any(|(_, h)| *h == g) {
                return Ok(g);
            }
        }
        ships.sort();
        ships
            .into_iter()
            .map(|(_, h)| h)
            .find(|h| !receipts.contains(h))
            .ok_or_else(|| format!("no shipment of lot {lot} to you awaits receipt in the ledger"))
    }

    fn party(&self, p: &PartyRef) -> Result<PublicKey, String> {
        match p {
            PartyRef::Key(k) => Ok(*k),
            PartyRef::Gln(g) => {
                let found: Vec<PublicKey> = self
                    .ledger
                    .participants()
                    .map_err(|e| e.to_string())?
                    .into_iter()
                    .filter(|p| p.location.as_ref().and_then(|l| l.gln.as_deref()) == Some(g))
                    .map(|p| p.key)
                    .collect();
                match found.as_slice() {
                    [one] => Ok(*one),
                    [] => Err(format!("no participant is enrolled at GLN {g}")),
                    _ => Err(format!("several participants are enrolled at GLN {g}")),
                }
            }
        }
    }

    /// The importer's record with EPCIS eventID `id` (a record URN, or
    /// an eventID kept from the event it was captured from): in this
    /// batch, else in the ledger.
    fn own_event(&mut self, id: &str, batch: &[Record]) -> Result<(Hash, Record), String> {
        let err = |e: StoreError| e.to_string();
        let missing = || {
            format!(
                "the event {id} is not among your records in the ledger or earlier in the document"
            )
        };
        if let Some(i) = self.ids.get(id) {
            let r = batch.get(*i).ok_or_else(missing)?;
            return Ok((r.hash(), r.clone()));
        }
        let found = match id.strip_prefix(vocab::RECORD_URN) {
            Some(hex) => {
                let h = Hash::from_hex(hex).map_err(|_| missing())?;
                // Earlier in this batch (rare: a declaration in the very
                // document that captured the record), else the ledger.
                if self.ledger.record(&h).map_err(err)?.is_none() {
                    if let Some(r) = batch.iter().find(|r| r.hash() == h) {
                        return Ok((h, r.clone()));
                    }
                }
                Some(h)
            }
            None => {
                if self.ledger_ids.is_none() {
                    let mut ids = BTreeMap::new();
                    for (_, h) in self.ledger.chain(&self.key).map_err(err)? {
                        let Some(r) = self.ledger.record(&h).map_err(err)? else {
                            continue;
                        };
                        if let Some(kept) = r
                            .record
                            .extras
                            .as_ref()
                            .and_then(|x| serde_json::from_str::<Value>(&x.epcis).ok())
                            .and_then(|v| v.get("eventID")?.as_str().map(str::to_owned))
                        {
                            ids.insert(kept, h);
                        }
                    }
                    self.ledger_ids = Some(ids);
                }
                self.ledger_ids.as_ref().and_then(|m| m.get(id)).copied()
            }
        };
        let h = found.ok_or_else(missing)?;
        let r = self.ledger.record(&h).map_err(err)?.ok_or_else(missing)?;
        if r.record.author != self.key {
            return Err(format!(
                "the event {id} is another participant's record; only its author may declare it erroneous or correct it"
            ));
        }
        Ok((h, r.record))
    }

    /// Lots and quantities of a grouping or transaction, and the records
    /// creating them (its deps).
    fn lot_amounts(
        &self,
        lots: &[(LotRef, Quantity)],
    ) -> Result<(Vec<LotAmount>, Vec<Hash>), String> {
        let mut out = Vec::with_capacity(lots.len());
        let mut deps = Vec::with_capacity(lots.len());
        for (lot, quantity) in lots {
            let lot = self.lot(lot)?;
            let made = self.creation(&lot)?;
            deps.push(made);
            out.push(LotAmount {
                lot,
                quantity: *quantity,
            });
        }
        Ok((out, deps))
    }

    /// The event and the deps it needs; `batch` is the records made so
    /// far in this import.
    fn resolve(&mut self, d: &Draft, batch: &[Record]) -> Result<(Event, Vec<Hash>), String> {
        let event = match d.clone() {
            Draft::Aggregate {
                action,
                parent,
                children,
                location,
            } => {
                let (children, deps) = self.lot_amounts(&children)?;
                return Ok((
                    Event::Aggregate {
                        action,
                        parent,
                        children,
                        location,
                    },
                    deps,
                ));
            }
            Draft::Associate {
                action,
                parent,
                children,
                location,
            } => {
                let (children, deps) = self.lot_amounts(&children)?;
                return Ok((
                    Event::Associate {
                        action,
                        parent,
                        children,
                        location,
                    },
                    deps,
                ));
            }
            Draft::Transact {
                action,
                documents,
                lots,
                location,
            } => {
                let (lots, deps) = self.lot_amounts(&lots)?;
                return Ok((
                    Event::Transact {
                        action,
                        documents,
                        lots,
                        location,
                    },
                    deps,
                ));
            }
            Draft::InputUse {
                product,
                ingredients,
                registration,
                dose,
                field,
                safety_interval_days,
            } => {
                return Ok((
                    Event::InputUse {
                        product,
                        ingredients,
                        registration,
                        dose,
                        field,
                        safety_interval_days,
                    },
                    vec![],
                ))
            }
            Draft::Certificate {
                lot,
                quantity,
                origin,
                contact,
                basis,
                tests,
                inputs,
            } => {
                let lot = self.lot(&lot)?;
                let mut deps = vec![self.creation(&lot)?];
                // The rules check tests against the fields the lot came
                // from: every upstream lot's creation goes along.
                if !tests.is_empty() {
                    for up in ledger_core::query::upstream_lots(self.ledger, &lot)
                        .map_err(|e| e.to_string())?
                    {
                        deps.push(self.creation(&up)?);
                    }
                }
                deps.extend(tests.iter().chain(&inputs));
                return Ok((
                    Event::Certificate {
                        lot,
                        quantity,
                        origin,
                        contact,
                        basis,
                        tests,
                        inputs,
                    },
                    deps,
                ));
            }
            Draft::Correct {
                declared,
                reason,
                corrective,
            } => {
                let (record, target) = self.own_event(&declared, batch)?;
                if let Event::Correct { .. } = target.event {
                    return Err(format!(
                        "the event {declared} is itself an error declaration, which cannot be declared erroneous"
                    ));
                }
                let lots = target.event.lots_touched(&self.identity);
                let mut deps = vec![record];
                let mut correcting = Vec::with_capacity(corrective.len());
                for id in &corrective {
                    let (h, _) = self.own_event(id, batch)?;
                    correcting.push(h);
                    deps.push(h);
                }
                return Ok((
                    Event::Correct {
                        record,
                        lots,
                        reason,
                        corrective: correcting,
                    },
                    deps,
                ));
            }
            Draft::Harvest {
                lot_code,
                product,
                quantity,
                location,
                reference,
            } => {
                return Ok((
                    Event::Harvest {
                        lot_code,
                        product,
                        quantity,
                        location,
                        reference,
                    },
                    vec![],
                ))
            }
            Draft::Transform {
                process,
                inputs,
                outputs,
                loss,
                location,
                reference,
            } => {
                let mut ins = Vec::new();
                for (lot, quantity) in &inputs {
                    ins.push(ledger_core::event::LotAmount {
                        lot: self.lot(lot)?,
                        quantity: *quantity,
                    });
                }
                return Ok((
                    Event::Transform {
                        process,
                        inputs: ins,
                        outputs,
                        loss,
                        location,
                        reference,
                    },
                    vec![],
                ));
            }
            Draft::Ship {
                lot,
                quantity,
                to,
                from,
                destination,
                reference,
            } => Event::Ship {
                lot: self.lot(&lot)?,
                quantity,
                to: self.party(&to)?,
                from,
                destination,
                reference,
            },
            Draft::Receive {
                shipment,
                lot,
                quantity,
                location,
                reference,
            } => {
                let lot = self.lot(&lot)?;
                let ship = self.shipment(&lot, shipment)?;
                self.received.push(ship);
                return Ok((
                    Event::Receive {
                        shipment: ship,
                        lot,
                        quantity,
                        location,
                        reference,
                    },
                    vec![ship],
                ));
            }
            Draft::Sell {
                lot,
                quantity,
                location,
            } => Event::Sell {
                lot: self.lot(&lot)?,
                quantity,
                location,
            },
            Draft::Observe {
                lot,
                location,
                readings,
            } => Event::Observe {
                lot: self.lot(&lot)?,
                location,
                readings,
            },
            Draft::Inspect {
                lot,
                test,
                verdict,
                notes,
                reference,
            } => Event::Inspect {
                lot: self.lot(&lot)?,
                test,
                verdict,
                notes,
                reference,
            },
            Draft::Certify {
                lot,
                claim,
                reference,
                valid_until,
            } => Event::Certify {
                lot: self.lot(&lot)?,
                claim,
                reference,
                valid_until,
            },
            Draft::Recall { lot, reason } => Event::Recall {
                lot: self.lot(&lot)?,
                reason,
            },
        };
        // Observe, inspect, certify and recall depend on the lot's creation.
        let deps = match &event {
            Event::Observe { lot, .. }
            | Event::Inspect { lot, .. }
            | Event::Certify { lot, .. }
            | Event::Recall { lot, .. } => vec![self.creation(lot)?],
            _ => vec![],
        };
        Ok((event, deps))
    }
}

/// Where an import is, for a progress bar: each call of the progress
/// callback names a stage, what of it is done and its size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Stage {
    /// Matching each event's lots and parties in order: (events done,
    /// events).
    Matching,
    /// Signing the records, on several threads: (records signed, records).
    Signing,
    /// The ledger checking and writing the signed batch, all or nothing:
    /// (0, records) when it starts, (records, records) once committed.
    Committing,
}

/// Events (records) between two [`Stage::Matching`] ([`Stage::Signing`])
/// calls of the progress callback.
pub const PROGRESS_EVERY: usize = 1_000;

/// Most threads an import signs on. Signing is most of an import's own
/// work (one ed25519 signature a record, about as costly as the ledger's
/// verification of it, which the ledger spreads over its verify threads);
/// the chain's hashes are computed in order first, so the signatures are
/// independent.
pub const MAX_SIGN_THREADS: usize = 8;

/// Records signed between two progress calls (and per thread spawn).
const SIGN_ROUND: usize = 8 * PROGRESS_EVERY;

/// Signs the representable events of `mapped` with `key`, in order, and
/// commits them as one batch, or nothing. With `strict`, any skipped event
/// makes the import fail. `now` is the local clock (ms since epoch).
pub fn import<S: Store>(
    ledger: &mut Ledger<S>,
    key: &SigningKey,
    mapped: &[Mapped],
    strict: bool,
    now: u64,
) -> Result<ImportReport, ImportError> {
    import_with_progress(ledger, key, mapped, strict, now, &mut |_, _, _| {})
}

/// [`import`], calling `progress(stage, done, of)` as it goes: every
/// [`PROGRESS_EVERY`] events while matching, after each round of
/// signatures, and before and after the one atomic commit.
pub fn import_with_progress<S: Store>(
    ledger: &mut Ledger<S>,
    key: &SigningKey,
    mapped: &[Mapped],
    strict: bool,
    now: u64,
    progress: &mut dyn FnMut(Stage, usize, usize),
) -> Result<ImportReport, ImportError> {
    let pk = key.public();
    let who = signer(ledger, &pk)?;
    let head = ledger.key_state(&pk)?.map(|s| (s.head_seq, s.head));
    let network = ledger.network();
    let mut next_seq = head.map_or(0, |(seq, _)| seq.saturating_add(1));
    let mut prev = head.map(|(_, h)| h);
    let mut report = ImportReport::default();
    // (event index, record hash), and the unsigned records, in order.
    let mut meta: Vec<(usize, Hash)> = Vec::new();
    let mut unsigned: Vec<Record> = Vec::new();
    let mut first = head.is_none();
    let rights = ledger.gtin_rights(&who.identity)?;
    let mut resolver = Resolver {
        ledger,
        key: pk,
        identity: who.identity,
        ids: BTreeMap::new(),
        ledger_ids: None,
        created: BTreeMap::new(),
        received: Vec::new(),
    };
    for (done, m) in mapped.iter().enumerate() {
        if done % PROGRESS_EVERY == 0 {
            progress(Stage::Matching, done, mapped.len());
        }
        let resolved = m
            .draft
            .as_ref()
            .map_err(Clone::clone)
            .and_then(|d| resolver.resolve(d, &unsigned))
            .and_then(|(event, deps)| {
                if who.role.may_sign(event.kind()) {
                    Ok((event, deps))
                } else {
                    Err(format!(
                        "a {} may not sign {} records",
                        who.role,
                        event.kind()
                    ))
                }
            });
        // A lot with a GTIN names the grant that lets its creator use it.
        let resolved = resolved.and_then(|(event, mut deps)| {
            for (_, product, _) in event.created_lots() {
                let Some(gtin) = &product.gtin else { continue };
                let right = rights.iter().find(|r| r.covers(gtin, m.time)).ok_or_else(|| {
                    format!(
                        "GTIN {gtin} is not under a GS1 company prefix assigned to, or packed for, the importing participant"
                    )
                })?;
                deps.push(right.record);
            }
            Ok((event, deps))
        });
        let (event, mut deps) = match resolved {
            Ok(x) => x,
            Err(reason) => {
                report.skipped.push((m.index, m.event_id.clone(), reason));
                continue;
            }
        };
        if first {
            deps.extend(who.first_dep);
            first = false;
        }
        // Each dep once, and never the prev, whichever way a draft's
        // resolution named it twice (two upstream lots made by one
        // transform, a corrective record also the declared one's dep …).
        let mut seen = BTreeSet::new();
        deps.retain(|d| Some(*d) != prev && seen.insert(*d));
        let created: Vec<(String, Option<String>)> = event
            .created_lots()
            .iter()
            .map(|(c, product, _)| ((*c).to_owned(), product.gtin.clone()))
            .collect();
        let record = Record {
            version: Record::version_for(&event, false),
            network,
            author: pk,
            seq: next_seq,
            prev,
            time: m.time,
            deps,
            event,
            extras: None,
        };
        let record = with_extras(record, m.extras.as_deref());
        let hash = record.hash();
        next_seq = next_seq.saturating_add(1);
        prev = Some(hash);
        for (code, gtin) in created {
            resolver.created.insert(code, (hash, gtin));
        }
        // A declaration carries the eventID of the event it declares
        // erroneous: that id stays the declared record's.
        // A record URN is found by its hash instead (an export's every
        // eventID is one), so it needs no entry.
        if let (Some(id), false) = (&m.event_id, record.event.kind() == EventKind::Correct) {
            if !id.starts_with(vocab::RECORD_URN) {
                resolver.ids.insert(id.clone(), unsigned.len());
            }
        }
        meta.push((m.index, hash));
        unsigned.push(record);
    }
    progress(Stage::Matching, mapped.len(), mapped.len());
    if strict && !report.skipped.is_empty() {
        return Err(ImportError::Skipped {
            skipped: report.skipped,
        });
    }
    let records = sign_all(key, unsigned, progress);
    let kinds: Vec<EventKind> = records.iter().map(|r| r.record.event.kind()).collect();
    progress(Stage::Committing, 0, records.len());
    // Records enter the network here: one lot per (GTIN, lot code).
    for (((index, _), kind), admitted) in meta.iter().zip(&kinds).zip(ledger.admit(&records)?) {
        if let Err(e) = admitted {
            return Err(ImportError::Rejected {
                index: *index,
                kind: *kind,
                reason: e.to_string(),
            });
        }
    }
    let check = |outcomes: Vec<(Hash, Outcome)>| -> Result<(), ImportError> {
        for (((index, _), kind), (_, outcome)) in meta.iter().zip(&kinds).zip(outcomes) {
            let reason = match outcome {
                Outcome::Accepted => continue,
                Outcome::Rejected { error } => error.to_string(),
                Outcome::Duplicate => "the ledger already holds this exact record".into(),
                Outcome::Pending(p) => format!("it would wait in the pending pool: {p}"),
                Outcome::PoolFull { capacity } => format!("the pending pool is full ({capacity})"),
                Outcome::StrangerPoolFull { capacity, .. } => format!(
                    "its author is not enrolled here and the pending pool's room for such \
                     records is full ({capacity})"
                ),
                Outcome::StrangerSourceFull { per_source, .. } => format!(
                    "its author is not enrolled here and this source's share of the pending \
                     pool's room for such records is full ({per_source})"
                ),
                Outcome::TooFarAhead { time, now, .. } => {
                    format!(
                        "it is dated {}, too far ahead of the clock ({})",
                        ledger_core::time::show_utc(time),
                        ledger_core::time::show_utc(now)
                    )
                }
                Outcome::Expired { .. } => "it expired in the pending pool".into(),
            };
            return Err(ImportError::Rejected {
                index: *index,
                kind: *kind,
                reason,
            });
        }
        Ok(())
    };
    let len = records.len();
    match ledger.ingest_atomic(records, now)? {
        Atomic::Committed(r) => {
            progress(Stage::Committing, len, len);
            report.released = r
                .released
                .into_iter()
                .filter(|(_, o)| matches!(o, Outcome::Accepted))
                .map(|(h, _)| h)
                .collect();
        }
        Atomic::Refused(r) => {
            check(r.outcomes)?;
            // Every submitted record passed, so a released one failed.
            return Err(
                match r
                    .released
                    .iter()
                    .find(|(_, o)| !matches!(o, Outcome::Accepted | Outcome::Expired { .. }))
                {
                    Some((h, _)) => ImportError::ReleasedRefused(*h),
                    None => ImportError::Store(StoreError::Engine(
                        "the ledger refused the batch without naming a record".into(),
                    )),
                },
            );
        }
    }
    report.imported = meta
        .iter()
        .zip(kinds)
        .map(|((i, h), k)| (*i, *h, k))
        .collect();
    Ok(report)
}

/// Signs `records` with `key`, in order, on up to [`MAX_SIGN_THREADS`]
/// threads, a round of [`SIGN_ROUND`] at a time, calling `progress` after
/// each round.
fn sign_all(
    key: &SigningKey,
    records: Vec<Record>,
    progress: &mut dyn FnMut(Stage, usize, usize),
) -> Vec<SignedRecord> {
    let len = records.len();
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, MAX_SIGN_THREADS);
    let mut signed = Vec::with_capacity(len);
    let mut rest = records.into_iter();
    progress(Stage::Signing, 0, len);
    loop {
        let round: Vec<Record> = rest.by_ref().take(SIGN_ROUND).collect();
        if round.is_empty() {
            break;
        }
        if threads == 1 || round.len() < 2 * PROGRESS_EVERY {
            signed.extend(round.into_iter().map(|r| r.sign(key)));
        } else {
            let per = round.len().div_ceil(threads);
            let mut parts: Vec<Vec<Record>> = Vec::with_capacity(threads);
            let mut round = round.into_iter();
            loop {
                let part: Vec<Record> = round.by_ref().take(per).collect();
                if part.is_empty() {
                    break;
                }
                parts.push(part);
            }
            std::thread::scope(|scope| {
                let handles: Vec<_> = parts
                    .into_iter()
                    .map(|part| {
                        scope.spawn(move || {
                            part.into_iter().map(|r| r.sign(key)).collect::<Vec<_>>()
                        })
                    })
                    .collect();
                for h in handles {
                    // A signing thread cannot panic short of a bug;
                    // pass one on as it is.
                    match h.join() {
                        Ok(part) => signed.extend(part),
                        Err(panic) => std::panic::resume_unwind(panic),
                    }
                }
            });
        }
        progress(Stage::Signing, signed.len(), len);
    }
    signed
}

/// `record` keeping `extras` (version 3), less what an export of the
/// record gives back anyway (`export::own_fields`): a UTC offset, a read
/// point that is the business location, the source and destination
/// lists Terroir writes itself. An `eventID` that names the very record
/// this is (`urn:terroir:record:{hash}`, its hash with the rest of what
/// it keeps) is dropped too: re-importing a Terroir export into its own
/// network then signs the original records, hash for hash, and the
/// eventID still comes back.
fn with_extras(record: Record, extras: Option<&str>) -> Record {
    let Some(text) = extras else { return record };
    let keep = |fields: Map<String, Value>| {
        record.clone().with_extras(Extras {
            epcis: Value::Object(fields).to_string(),
        })
    };
    // Import wrote this object; anything else is kept as it came.
    let Ok(Value::Object(mut fields)) = serde_json::from_str::<Value>(text) else {
        return record.with_extras(Extras {
            epcis: text.to_owned(),
        });
    };
    let event_id = fields.remove("eventID");
    if !fields.is_empty() {
        let own = export::own_fields(&record.hash(), &record).unwrap_or_default();
        fields.retain(|k, v| own.get(k) != Some(v));
    }
    let without_id = if fields.is_empty() {
        record.clone()
    } else {
        keep(fields.clone())
    };
    match event_id {
        // The eventID names the very record: the export writes it anyway.
        Some(Value::String(id)) if id == vocab::record_id(&without_id.hash()) => without_id,
        Some(id) => {
            fields.insert("eventID".into(), id);
            keep(fields)
        }
        None => without_id,
    }
}
