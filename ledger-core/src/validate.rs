//! The validation rules: a record's verdict as a pure function of the record
//! and its causal past.
//!
//! Validation runs in two stages. [`check_intrinsic`] looks at the record
//! alone (format, network, sizes, GS1 check digits, key strength); the
//! signature is checked separately so it can be batched. [`check_in_context`]
//! then reads the record's causal past through a [`View`]: the author's
//! chain state just before it (its prev) and its deps. The caller must make
//! sure prev and every dep are present before calling it.

use std::collections::{BTreeMap, BTreeSet};

use bincode::{Decode, Encode};
use serde::Serialize;

use crate::encoding::MAX_RECORD_BYTES;
use crate::error::{StoreError, ValidationError};
use crate::event::{Action, Event, Location, LotAmount, LotId, Product, Quantity, RefDoc, Role};
use crate::genesis::Genesis;
use crate::gs1;
use crate::hash::{Hash, NetworkId};
use crate::key::PublicKey;
use crate::record::{
    Extras, Record, SignedRecord, MAX_EXTRAS_BYTES, RECORD_VERSION, RECORD_VERSION_EVENTS,
    RECORD_VERSION_EXTRAS,
};

/// Most deps one record may list.
pub const MAX_DEPS: usize = 64;
/// Most transform inputs or outputs.
pub const MAX_LOTS_PER_TRANSFORM: usize = 256;
/// Most sensor readings in one observation.
pub const MAX_READINGS: usize = 1024;
/// Longest free-text field, in bytes of UTF-8.
pub const MAX_TEXT_BYTES: usize = 1024;
/// Most active ingredients an input use names.
pub const MAX_INGREDIENTS: usize = 32;
/// The longest pre-harvest safety interval an input use may state, in
/// days (a year: labels set days or weeks; anything longer is a typing
/// error).
pub const MAX_SAFETY_INTERVAL_DAYS: u32 = 365;
/// How far back along a farm's chain the input uses of a harvested field
/// are looked for: the records of the year before the harvest
/// ([`MAX_SAFETY_INTERVAL_DAYS`]), and at most this many.
pub const MAX_INPUT_WALK: usize = 100_000;
/// Longest lot code, in bytes of UTF-8.
pub const MAX_LOT_CODE_BYTES: usize = 128;

/// What the ledger knows about a key's chain at some point of it: who the
/// key acts for, with what role, and where its chain ends.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize)]
pub struct KeyState {
    /// The participant identity this key signs for (its first key).
    pub identity: PublicKey,
    /// The participant's role.
    pub role: Role,
    /// The participant's display name.
    pub name: String,
    /// Seq of the chain's last record.
    pub head_seq: u64,
    /// Hash of the chain's last record.
    pub head: Hash,
    /// Time of the chain's last record.
    pub head_time: u64,
    /// Seq of the rotate-key record that ended this key's chain, if any.
    pub retired_at: Option<u64>,
}

/// Read access to the causal past that validation needs.
///
/// The per-author methods (`key_state`, `balance`, `received`, `created`)
/// must describe the author's chain as it stands at the record's `prev`.
pub trait View {
    /// A stored record.
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError>;
    /// A key's chain state.
    fn key_state(&self, key: &PublicKey) -> Result<Option<KeyState>, StoreError>;
    /// How much of `lot` the participant `holder` holds.
    fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError>;
    /// Whether `holder` already received `shipment`.
    fn received(&self, holder: &PublicKey, shipment: &Hash) -> Result<bool, StoreError>;
    /// Whether `holder` already created a lot with `code`.
    fn created(&self, holder: &PublicKey, code: &str) -> Result<bool, StoreError>;
}

/// What accepting a record changes in its author's chain state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effects {
    /// The author key's new state.
    pub key_state: KeyState,
    /// New balances (absolute) of the author's participant.
    pub balances: Vec<(LotId, Quantity)>,
    /// A shipment now received.
    pub received: Option<Hash>,
    /// Lot codes now created.
    pub created: Vec<String>,
}

/// A rejected record, or a storage failure while judging it.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// The record breaks a rule.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn text(
    field: &'static str,
    value: &str,
    max: usize,
    allow_empty: bool,
) -> Result<(), ValidationError> {
    let problem = if !allow_empty && value.trim().is_empty() {
        "must not be empty".to_owned()
    } else if value.len() > max {
        format!("is {} bytes, at most {max}", value.len())
    } else if value.chars().any(|c| c.is_control() && c != '\n') {
        "contains control characters".to_owned()
    } else {
        return Ok(());
    };
    Err(ValidationError::BadText { field, problem })
}

fn lot_code(field: &'static str, code: &str) -> Result<(), ValidationError> {
    text(field, code, MAX_LOT_CODE_BYTES, false)?;
    if code.contains(['/', '?', '#', '%']) || code.chars().any(char::is_whitespace) {
        return Err(ValidationError::BadText {
            field,
            problem: "may not contain whitespace or / ? # %".to_owned(),
        });
    }
    Ok(())
}

/// A new lot's product; a lot with a GTIN must have a code that fits a
/// GS1 lot number (AI 10), so its QR code can name it.
fn new_lot(code: &str, p: &Product) -> Result<(), ValidationError> {
    text("product description", &p.description, MAX_TEXT_BYTES, false)?;
    if let Some(gtin) = &p.gtin {
        gs1::check_gtin(gtin)?;
        if let Some(why) = gs1::lot_code_problem(code) {
            return Err(ValidationError::LotCodeNotGs1 {
                code: code.to_owned(),
                why,
            });
        }
    }
    Ok(())
}

fn location(l: &Location) -> Result<(), ValidationError> {
    text("location description", &l.description, MAX_TEXT_BYTES, true)?;
    if let Some(gln) = &l.gln {
        gs1::check_gln(gln)?;
    }
    Ok(())
}

fn reference(r: &Option<RefDoc>) -> Result<(), ValidationError> {
    if let Some(r) = r {
        text("reference type", &r.kind, MAX_TEXT_BYTES, false)?;
        text("reference number", &r.number, MAX_TEXT_BYTES, false)?;
    }
    Ok(())
}

/// The lots of a grouping or transaction: well-formed codes, quantities
/// above zero, each lot once.
fn lot_amounts(quantity: &'static str, lots: &[LotAmount]) -> Result<(), ValidationError> {
    let mut seen = BTreeSet::new();
    for l in lots {
        lot_code("lot code", &l.lot.code)?;
        nonzero(quantity, &l.quantity)?;
        if !seen.insert(&l.lot) {
            return Err(ValidationError::BadText {
                field: "lots",
                problem: format!("name lot {} twice", l.lot),
            });
        }
    }
    Ok(())
}

fn nonzero(field: &'static str, q: &Quantity) -> Result<(), ValidationError> {
    if q.amount == 0 {
        return Err(ValidationError::ZeroQuantity { field });
    }
    Ok(())
}

fn strong(key: &PublicKey) -> Result<(), ValidationError> {
    key.check_strong()
        .map_err(|reason| ValidationError::WeakKey { key: *key, reason })
}

fn at_most(what: &'static str, len: usize, max: usize) -> Result<(), ValidationError> {
    if len > max {
        return Err(ValidationError::TooMany { what, len, max });
    }
    Ok(())
}

/// A record's extras: a non-empty JSON object of at most
/// [`MAX_EXTRAS_BYTES`].
fn check_extras(x: &Extras) -> Result<(), ValidationError> {
    if x.epcis.len() > MAX_EXTRAS_BYTES {
        return Err(ValidationError::Extras(format!(
            "are {} bytes, over the {MAX_EXTRAS_BYTES}-byte limit",
            x.epcis.len()
        )));
    }
    match serde_json::from_str::<serde_json::Value>(&x.epcis) {
        Ok(serde_json::Value::Object(m)) if !m.is_empty() => Ok(()),
        Ok(serde_json::Value::Object(_)) => Err(ValidationError::Extras(
            "keep nothing (an empty object)".into(),
        )),
        Ok(_) => Err(ValidationError::Extras("are not a JSON object".into())),
        Err(e) => Err(ValidationError::Extras(format!("are not JSON: {e}"))),
    }
}

/// Checks everything that can be judged from the record alone, except the
/// signature.
pub fn check_intrinsic(signed: &SignedRecord, network: &NetworkId) -> Result<(), ValidationError> {
    let r = &signed.record;
    let kind = r.event.kind();
    if kind.since_version() >= RECORD_VERSION_EVENTS || r.version == RECORD_VERSION_EVENTS {
        let expected = Record::version_for(&r.event, r.extras.is_some());
        if r.version != expected {
            return Err(ValidationError::VersionForKind {
                kind,
                expected,
                version: r.version,
            });
        }
        if let Some(x) = &r.extras {
            check_extras(x)?;
        }
    } else {
        match (r.version, &r.extras) {
        (RECORD_VERSION, None) => {}
        (RECORD_VERSION, Some(_)) => {
            return Err(ValidationError::Extras(format!(
                "need record version {RECORD_VERSION_EXTRAS}; version {RECORD_VERSION} cannot keep them"
            )))
        }
        (RECORD_VERSION_EXTRAS, Some(x)) => check_extras(x)?,
        (RECORD_VERSION_EXTRAS, None) => {
            return Err(ValidationError::Extras(format!(
                "are missing: a version {RECORD_VERSION_EXTRAS} record keeps some"
            )))
        }
        (v, _) => return Err(ValidationError::Version(v)),
    }
    }
    if r.network != *network {
        return Err(ValidationError::WrongNetwork {
            expected: *network,
            got: r.network,
        });
    }
    let len = signed.encode().len();
    if len > MAX_RECORD_BYTES {
        return Err(ValidationError::TooLarge {
            len,
            max: MAX_RECORD_BYTES,
        });
    }
    if (r.seq == 0) != r.prev.is_none() {
        return Err(ValidationError::PrevShape { seq: r.seq });
    }
    at_most("deps", r.deps.len(), MAX_DEPS)?;
    let mut seen = BTreeSet::new();
    for d in &r.deps {
        if !seen.insert(d) || Some(*d) == r.prev {
            return Err(ValidationError::DuplicateDep(*d));
        }
    }
    match &r.event {
        Event::Harvest {
            lot_code: code,
            product: p,
            quantity,
            location: l,
            reference: rf,
        } => {
            lot_code("lot code", code)?;
            new_lot(code, p)?;
            nonzero("harvest quantity", quantity)?;
            location(l)?;
            reference(rf)?;
        }
        Event::Transform {
            process,
            inputs,
            outputs,
            location: l,
            reference: rf,
            ..
        } => {
            text("process", process, MAX_TEXT_BYTES, false)?;
            at_most("transform inputs", inputs.len(), MAX_LOTS_PER_TRANSFORM)?;
            at_most("transform outputs", outputs.len(), MAX_LOTS_PER_TRANSFORM)?;
            if inputs.is_empty() {
                return Err(ValidationError::BadText {
                    field: "transform inputs",
                    problem: "must not be empty".into(),
                });
            }
            if outputs.is_empty() {
                return Err(ValidationError::BadText {
                    field: "transform outputs",
                    problem: "must not be empty".into(),
                });
            }
            for i in inputs {
                lot_code("input lot code", &i.lot.code)?;
                nonzero("input quantity", &i.quantity)?;
            }
            for o in outputs {
                lot_code("output lot code", &o.code)?;
                new_lot(&o.code, &o.product)?;
                nonzero("output quantity", &o.quantity)?;
            }
            location(l)?;
            reference(rf)?;
        }
        Event::Ship {
            lot,
            quantity,
            from,
            destination,
            reference: rf,
            ..
        } => {
            lot_code("lot code", &lot.code)?;
            nonzero("ship quantity", quantity)?;
            location(from)?;
            location(destination)?;
            reference(rf)?;
        }
        Event::Receive {
            lot,
            quantity,
            location: l,
            reference: rf,
            ..
        } => {
            lot_code("lot code", &lot.code)?;
            nonzero("receive quantity", quantity)?;
            location(l)?;
            reference(rf)?;
        }
        Event::Observe {
            lot,
            location: l,
            readings,
        } => {
            lot_code("lot code", &lot.code)?;
            location(l)?;
            at_most("readings", readings.len(), MAX_READINGS)?;
            if readings.is_empty() {
                return Err(ValidationError::BadText {
                    field: "readings",
                    problem: "must not be empty".into(),
                });
            }
            for rd in readings {
                if rd.min > rd.max {
                    return Err(ValidationError::BadRange {
                        min: rd.min,
                        max: rd.max,
                    });
                }
            }
        }
        Event::Inspect {
            lot,
            test,
            notes,
            reference: rf,
            ..
        } => {
            lot_code("lot code", &lot.code)?;
            text("test", test, MAX_TEXT_BYTES, false)?;
            text("notes", notes, MAX_TEXT_BYTES, true)?;
            reference(rf)?;
        }
        Event::Certify {
            lot,
            claim,
            reference: rf,
            valid_until,
        } => {
            lot_code("lot code", &lot.code)?;
            text("claim", claim, MAX_TEXT_BYTES, false)?;
            reference(rf)?;
            if let Some(until) = *valid_until {
                if until <= r.time {
                    return Err(ValidationError::CertificateValidity {
                        time: r.time,
                        valid_until: until,
                    });
                }
            }
        }
        Event::Recall { lot, reason } => {
            lot_code("lot code", &lot.code)?;
            text("recall reason", reason, MAX_TEXT_BYTES, false)?;
        }
        Event::Sell {
            lot,
            quantity,
            location: l,
        } => {
            lot_code("lot code", &lot.code)?;
            nonzero("sell quantity", quantity)?;
            location(l)?;
        }
        Event::Enroll {
            participant,
            name,
            location: l,
            ..
        } => {
            strong(participant)?;
            text("participant name", name, MAX_TEXT_BYTES, false)?;
            location(l)?;
        }
        Event::Revoke { reason, .. } => {
            text("revoke reason", reason, MAX_TEXT_BYTES, false)?;
        }
        Event::AssignPrefix { prefix, .. } => gs1::check_company_prefix(prefix)?,
        Event::AuthorisePacker {
            prefix,
            valid_until,
            ..
        } => {
            gs1::check_company_prefix(prefix)?;
            if let Some(until) = *valid_until {
                if until <= r.time {
                    return Err(ValidationError::AuthorisationValidity {
                        time: r.time,
                        valid_until: until,
                    });
                }
            }
        }
        Event::Aggregate {
            action,
            parent,
            children,
            location: l,
        }
        | Event::Associate {
            action,
            parent,
            children,
            location: l,
        } => {
            text("parent", parent, MAX_TEXT_BYTES, false)?;
            at_most("children", children.len(), MAX_LOTS_PER_TRANSFORM)?;
            if children.is_empty() && *action == Action::Add {
                return Err(ValidationError::BadText {
                    field: "children",
                    problem: "must not be empty when adding".into(),
                });
            }
            lot_amounts("child quantity", children)?;
            location(l)?;
        }
        Event::Transact {
            documents,
            lots,
            location: l,
            ..
        } => {
            at_most("documents", documents.len(), MAX_LOTS_PER_TRANSFORM)?;
            if documents.is_empty() {
                return Err(ValidationError::BadText {
                    field: "documents",
                    problem: "must not be empty".into(),
                });
            }
            for d in documents {
                reference(&Some(d.clone()))?;
            }
            at_most("lots", lots.len(), MAX_LOTS_PER_TRANSFORM)?;
            if lots.is_empty() {
                return Err(ValidationError::BadText {
                    field: "lots",
                    problem: "must not be empty".into(),
                });
            }
            lot_amounts("lot quantity", lots)?;
            location(l)?;
        }
        Event::Correct {
            record,
            lots,
            reason,
            corrective,
        } => {
            text("correction reason", reason, MAX_TEXT_BYTES, true)?;
            at_most("lots", lots.len(), MAX_LOTS_PER_TRANSFORM)?;
            for l in lots {
                lot_code("lot code", &l.code)?;
            }
            at_most("corrective records", corrective.len(), MAX_DEPS)?;
            if corrective.contains(record) {
                return Err(ValidationError::BadCorrection {
                    record: *record,
                    why: "a record cannot correct itself".into(),
                });
            }
        }
        Event::InputUse {
            product,
            ingredients,
            registration,
            dose,
            field,
            safety_interval_days,
        } => {
            text("input product", product, MAX_TEXT_BYTES, false)?;
            at_most("ingredients", ingredients.len(), MAX_INGREDIENTS)?;
            if ingredients.is_empty() {
                return Err(ValidationError::BadText {
                    field: "ingredients",
                    problem: "must not be empty: name each active ingredient".into(),
                });
            }
            for i in ingredients {
                text("ingredient", i, MAX_TEXT_BYTES, false)?;
            }
            if let Some(reg) = registration {
                text("registration number", reg, MAX_TEXT_BYTES, false)?;
            }
            nonzero("dose", dose)?;
            location(field)?;
            if *safety_interval_days > MAX_SAFETY_INTERVAL_DAYS {
                return Err(ValidationError::BadText {
                    field: "safety interval",
                    problem: format!(
                        "is {safety_interval_days} days; at most {MAX_SAFETY_INTERVAL_DAYS}"
                    ),
                });
            }
        }
        Event::Certificate {
            lot,
            quantity,
            origin,
            contact,
            basis,
            tests,
            inputs,
        } => {
            lot_code("lot code", &lot.code)?;
            nonzero("certificate quantity", quantity)?;
            text("place of origin", origin, MAX_TEXT_BYTES, false)?;
            text("contact", contact, MAX_TEXT_BYTES, false)?;
            at_most("tests", tests.len(), MAX_DEPS)?;
            at_most("input certificates", inputs.len(), MAX_DEPS)?;
            if basis.is_test() && tests.is_empty() {
                return Err(ValidationError::CertificateNeedsTest);
            }
        }
        Event::Identify { uscc, .. } => crate::china::check_uscc(uscc)?,
        Event::RotateKey { new_key } => {
            strong(new_key)?;
            if *new_key == r.author {
                return Err(ValidationError::WeakKey {
                    key: *new_key,
                    reason: crate::key::WeakKey::NonCanonical,
                });
            }
        }
    }
    Ok(())
}

fn need<T>(found: Option<T>, hash: &Hash) -> Result<T, StoreError> {
    found.ok_or_else(|| StoreError::Corrupt {
        key: hash.to_hex(),
        why: "record the validator was promised is absent".into(),
    })
}

/// The chain state a key's first record starts: from genesis for a founding
/// authority, else from the enrollment or key rotation among its deps.
fn first_state(
    signed: &SignedRecord,
    genesis: &Genesis,
    view: &impl View,
) -> Result<(PublicKey, Role, String), CheckError> {
    let r = &signed.record;
    if let Some(a) = genesis.authority(&r.author) {
        return Ok((r.author, Role::Regulator, a.name.clone()));
    }
    for d in &r.deps {
        let dep = need(view.record(d)?, d)?;
        match &dep.record.event {
            Event::Enroll {
                participant,
                name,
                role,
                ..
            } if *participant == r.author => return Ok((r.author, *role, name.clone())),
            Event::RotateKey { new_key } if *new_key == r.author => {
                let old = need(view.key_state(&dep.record.author)?, d)?;
                return Ok((old.identity, old.role, old.name));
            }
            _ => {}
        }
    }
    Err(ValidationError::NotEnrolled(r.author).into())
}

/// Finds among `deps` (and the prev) the record that created `lot`.
/// Adds the author's previous record to `deps`: a lot's creation may be
/// the author's own previous record.
fn with_prev(deps: &mut Vec<SignedRecord>, r: &Record, view: &impl View) -> Result<(), StoreError> {
    if let Some(p) = r.prev {
        if let Some(prev) = view.record(&p)? {
            deps.push(prev);
        }
    }
    Ok(())
}

/// An error declaration names one of the author's own records (its prev
/// or a dep), every lot that record names or creates, in order, and
/// corrective records among its deps (or its prev).
fn check_correction(
    r: &Record,
    identity: &PublicKey,
    record: &Hash,
    lots: &[LotId],
    corrective: &[Hash],
    deps: &[SignedRecord],
    view: &impl View,
) -> Result<(), CheckError> {
    let bad = |why: String| ValidationError::BadCorrection {
        record: *record,
        why,
    };
    let target = if r.prev == Some(*record) {
        need(view.record(record)?, record)?
    } else {
        match r.deps.iter().position(|d| d == record) {
            Some(i) => deps[i].clone(),
            None => {
                return Err(ValidationError::NotInDeps {
                    what: format!("the record declared erroneous ({})", record.short()),
                }
                .into())
            }
        }
    };
    let author = view
        .key_state(&target.record.author)?
        .map(|k| k.identity)
        .unwrap_or(target.record.author);
    if author != *identity {
        return Err(bad(
            "it is another participant's record; only its author may declare it erroneous".into(),
        )
        .into());
    }
    if let Event::Correct { .. } = target.record.event {
        return Err(
            bad("it is itself a declaration, which cannot be declared erroneous".into()).into(),
        );
    }
    let named = target.record.event.lots_touched(identity);
    if lots != named.as_slice() {
        let list = |l: &mut dyn Iterator<Item = &LotId>| {
            let v: Vec<String> = l.map(|x| x.to_string()).collect();
            if v.is_empty() {
                "none".to_owned()
            } else {
                v.join(", ")
            }
        };
        return Err(bad(format!(
            "it names lots {}, but the record names {} (each once, in order)",
            list(&mut lots.iter()),
            list(&mut named.iter())
        ))
        .into());
    }
    for c in corrective {
        if !r.deps.contains(c) && r.prev != Some(*c) {
            return Err(ValidationError::NotInDeps {
                what: format!("corrective record {}", c.short()),
            }
            .into());
        }
    }
    Ok(())
}

/// The record among `known` that created `lot`.
fn creation_among<'k>(
    lot: &LotId,
    known: &'k BTreeMap<Hash, SignedRecord>,
    view: &impl View,
) -> Result<Option<&'k SignedRecord>, StoreError> {
    for d in known.values() {
        if d.record
            .event
            .created_lots()
            .iter()
            .any(|(c, _, _)| *c == lot.code)
            && view.key_state(&d.record.author)?.map(|k| k.identity) == Some(lot.source)
        {
            return Ok(Some(d));
        }
    }
    Ok(None)
}

/// Whether two locations name one field: the same GLN, or, where either
/// has none, the same description.
pub fn same_field(a: &Location, b: &Location) -> bool {
    match (&a.gln, &b.gln) {
        (Some(x), Some(y)) => x == y,
        _ => a.description.trim() == b.description.trim(),
    }
}

/// Whether a test's description names an active ingredient: the
/// ingredient as recorded, or any word of it of two characters or more
/// (its Chinese or its English name), ignoring case.
pub fn test_names(test: &str, ingredient: &str) -> bool {
    let t = test.to_lowercase();
    let i = ingredient.trim().to_lowercase();
    t.contains(&i)
        || i.split_whitespace()
            .any(|w| w.chars().count() >= 2 && t.contains(w))
}

/// The input uses on `harvest`'s field that count for it: the author's
/// records of the year before it ([`MAX_SAFETY_INTERVAL_DAYS`], and at
/// most [`MAX_INPUT_WALK`] records), newest first. A farm that picks a
/// field again and again (tea) counts every spraying of the year, and no
/// interval can reach further back.
pub fn inputs_before(
    harvest: &SignedRecord,
    mut record: impl FnMut(&Hash) -> Result<Option<SignedRecord>, StoreError>,
) -> Result<Vec<(Hash, SignedRecord)>, StoreError> {
    let Event::Harvest {
        location: field, ..
    } = &harvest.record.event
    else {
        return Ok(Vec::new());
    };
    let since = harvest
        .record
        .time
        .saturating_sub(u64::from(MAX_SAFETY_INTERVAL_DAYS) * crate::time::DAY_MS);
    let mut out = Vec::new();
    let mut at = harvest.record.prev;
    let mut walked = 0;
    while let Some(h) = at {
        walked += 1;
        if walked > MAX_INPUT_WALK {
            break;
        }
        let Some(r) = record(&h)? else { break };
        // A chain's times never decrease: the rest is older still.
        if r.record.time < since {
            break;
        }
        at = r.record.prev;
        if let Event::InputUse { field: f, .. } = &r.record.event {
            if same_field(f, field) {
                out.push((h, r));
            }
        }
    }
    Ok(out)
}

/// A certificate's rules beyond holding: the certificates of the lots a
/// mixed or split lot was made from, and the tests it rests on — passing
/// inspections of the lot or of a lot it was made from, which on a test
/// basis name every active ingredient used on the fields it came from.
fn check_certificate(
    lot: &LotId,
    basis: crate::event::Basis,
    tests: &[Hash],
    inputs: &[Hash],
    known: &BTreeMap<Hash, SignedRecord>,
    view: &impl View,
) -> Result<(), CheckError> {
    let creation = creation_among(lot, known, view)?.ok_or_else(|| ValidationError::NotInDeps {
        what: format!("the record that created lot {lot}"),
    })?;
    // A mixed or split lot names the certificate of every input lot.
    if let Event::Transform {
        inputs: made_from, ..
    } = &creation.record.event
    {
        for i in inputs {
            let named = known.get(i).ok_or_else(|| ValidationError::NotInDeps {
                what: format!("input certificate {}", i.short()),
            })?;
            match &named.record.event {
                Event::Certificate { lot: l, .. } if made_from.iter().any(|m| m.lot == *l) => {}
                other => {
                    return Err(ValidationError::WrongDep {
                        dep: *i,
                        why: format!(
                            "an input certificate is a certificate of a lot this one was made from, not a {}",
                            other.kind()
                        ),
                    }
                    .into())
                }
            }
        }
        for m in made_from {
            let certified = inputs.iter().any(|i| {
                matches!(known.get(i).map(|r| &r.record.event),
                    Some(Event::Certificate { lot: l, .. }) if *l == m.lot)
            });
            if !certified {
                return Err(ValidationError::CertificateMissingInput { lot: m.lot.clone() }.into());
            }
        }
    } else if let Some(i) = inputs.first() {
        return Err(ValidationError::WrongDep {
            dep: *i,
            why: format!("lot {lot} was made from no other lot, so its certificate names no input certificate"),
        }
        .into());
    }
    if tests.is_empty() {
        return Ok(());
    }
    // The lot and every lot it was made from, with their harvests.
    let mut upstream: BTreeSet<LotId> = BTreeSet::new();
    let mut harvests: Vec<&SignedRecord> = Vec::new();
    let mut stack = vec![lot.clone()];
    while let Some(l) = stack.pop() {
        if !upstream.insert(l.clone()) {
            continue;
        }
        let made = creation_among(&l, known, view)?.ok_or_else(|| ValidationError::NotInDeps {
            what: format!(
                "the record that created lot {l} (a certificate's tests are checked against the fields its lot came from)"
            ),
        })?;
        match &made.record.event {
            Event::Transform { inputs, .. } => stack.extend(inputs.iter().map(|i| i.lot.clone())),
            Event::Harvest { .. } => harvests.push(made),
            _ => {}
        }
    }
    let mut named = Vec::with_capacity(tests.len());
    for t in tests {
        let record = known.get(t).ok_or_else(|| ValidationError::NotInDeps {
            what: format!("test {}", t.short()),
        })?;
        let bad = |why: String| ValidationError::CertificateTest { test: *t, why };
        match &record.record.event {
            Event::Inspect {
                lot: tested,
                test,
                verdict,
                ..
            } => {
                if *verdict != crate::event::Verdict::Pass {
                    return Err(
                        bad("it failed; a certificate rests only on passing tests".into()).into(),
                    );
                }
                if !upstream.contains(tested) {
                    return Err(bad(format!(
                        "it tested lot {tested}, which is neither lot {lot} nor a lot it was made from"
                    ))
                    .into());
                }
                named.push(test.as_str());
            }
            other => {
                return Err(bad(format!(
                    "it is a {} record, not an inspection",
                    other.kind()
                ))
                .into())
            }
        }
    }
    if !basis.is_test() {
        return Ok(());
    }
    // 用什么药、检什么药: every active ingredient used must be tested for.
    let mut missing: Vec<String> = Vec::new();
    for h in harvests {
        for (_, used) in inputs_before(h, |x| view.record(x))? {
            if let Event::InputUse { ingredients, .. } = &used.record.event {
                for i in ingredients {
                    if !named.iter().any(|t| test_names(t, i)) && !missing.contains(i) {
                        missing.push(i.clone());
                    }
                }
            }
        }
    }
    if !missing.is_empty() {
        return Err(ValidationError::CertificateUntested { missing }.into());
    }
    Ok(())
}

fn lot_in_deps(lot: &LotId, deps: &[SignedRecord], view: &impl View) -> Result<(), CheckError> {
    for d in deps {
        let creator = view.key_state(&d.record.author)?.map(|k| k.identity);
        if creator == Some(lot.source)
            && d.record
                .event
                .created_lots()
                .iter()
                .any(|(c, _, _)| *c == lot.code)
        {
            return Ok(());
        }
    }
    Err(ValidationError::NotInDeps {
        what: format!("the record that created lot {lot}"),
    }
    .into())
}

/// Whether `identity` may create a lot with `gtin` at `time`: among the
/// record's deps is the regulator's assignment to it of a prefix covering
/// the GTIN, or its owner's authorisation of it as a packer for one.
pub(crate) fn gtin_right(
    identity: &PublicKey,
    time: u64,
    gtin: &str,
    deps: &[SignedRecord],
) -> Result<(), ValidationError> {
    let mut ended = None;
    for d in deps {
        match &d.record.event {
            Event::AssignPrefix {
                participant,
                prefix,
            } if participant == identity && gs1::prefix_covers(prefix, gtin) => return Ok(()),
            Event::AuthorisePacker {
                packer,
                prefix,
                valid_until,
            } if packer == identity && gs1::prefix_covers(prefix, gtin) => match valid_until {
                Some(until) if *until < time => ended = Some(*until),
                _ => return Ok(()),
            },
            _ => {}
        }
    }
    Err(match ended {
        Some(until) => ValidationError::AuthorisationEnded {
            gtin: gtin.to_owned(),
            until,
        },
        None => ValidationError::GtinNotOwned {
            gtin: gtin.to_owned(),
        },
    })
}

/// Whether `identity` owns `prefix`: among the deps is the regulator's
/// assignment to it of `prefix` or of a shorter prefix that `prefix`
/// extends.
fn owns_prefix(
    identity: &PublicKey,
    prefix: &str,
    deps: &[SignedRecord],
) -> Result<(), ValidationError> {
    let assigned = deps.iter().any(|d| {
        matches!(&d.record.event, Event::AssignPrefix { participant, prefix: p }
            if participant == identity && prefix.starts_with(p.as_str()))
    });
    if assigned {
        Ok(())
    } else {
        Err(ValidationError::PrefixNotOwned {
            prefix: prefix.to_owned(),
        })
    }
}

/// A running view of the author's balances while one record is applied.
struct Ledgerbook<'v, V: View> {
    view: &'v V,
    holder: PublicKey,
    changed: BTreeMap<LotId, Quantity>,
}

impl<V: View> Ledgerbook<'_, V> {
    fn held(&self, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        match self.changed.get(lot) {
            Some(q) => Ok(Some(*q)),
            None => self.view.balance(&self.holder, lot),
        }
    }

    fn debit(&mut self, lot: &LotId, q: Quantity) -> Result<(), CheckError> {
        let left = self.after_debit(lot, q)?;
        self.changed.insert(lot.clone(), left);
        Ok(())
    }

    /// What the author would hold of `lot` after giving up `q`: an error
    /// if it holds less, or counts the lot in another unit.
    fn after_debit(&self, lot: &LotId, q: Quantity) -> Result<Quantity, CheckError> {
        let held = self
            .held(lot)?
            .ok_or_else(|| ValidationError::NotHeld(lot.clone()))?;
        if held.unit != q.unit {
            return Err(ValidationError::UnitMismatch {
                lot: lot.clone(),
                expected: held.unit,
                got: q.unit,
            }
            .into());
        }
        let left = held
            .amount
            .checked_sub(q.amount)
            .ok_or_else(|| ValidationError::Overdraw {
                lot: lot.clone(),
                held,
                wanted: q,
            })?;
        Ok(Quantity::new(left, q.unit))
    }

    fn credit(&mut self, lot: &LotId, q: Quantity) -> Result<(), CheckError> {
        let total = match self.held(lot)? {
            None => q,
            Some(held) if held.unit != q.unit => {
                return Err(ValidationError::UnitMismatch {
                    lot: lot.clone(),
                    expected: held.unit,
                    got: q.unit,
                }
                .into())
            }
            Some(held) => Quantity::new(
                held.amount
                    .checked_add(q.amount)
                    .ok_or(ValidationError::QuantityOverflow("balance"))?,
                q.unit,
            ),
        };
        self.changed.insert(lot.clone(), total);
        Ok(())
    }
}

fn sum(mut amounts: impl Iterator<Item = u64>, what: &'static str) -> Result<u64, ValidationError> {
    amounts
        .try_fold(0u64, u64::checked_add)
        .ok_or(ValidationError::QuantityOverflow(what))
}

/// Checks the rules that need the causal past, and computes the effects of
/// accepting the record. `view` must hold the record's prev and deps, and
/// describe the author's chain as of its prev.
pub fn check_in_context(
    signed: &SignedRecord,
    genesis: &Genesis,
    view: &impl View,
) -> Result<Effects, CheckError> {
    let r = &signed.record;
    let hash = signed.hash();

    // The author's chain up to here.
    let (identity, role, name, retired_at) = match r.prev {
        None => {
            let (identity, role, name) = first_state(signed, genesis, view)?;
            (identity, role, name, None)
        }
        Some(prev_hash) => {
            let state = need(view.key_state(&r.author)?, &prev_hash)?;
            // The view describes the chain at prev, so prev is normally the
            // head it names; only a malformed link needs the record itself.
            let (prev_author, prev_seq, prev_time) = if state.head == prev_hash {
                (r.author, state.head_seq, state.head_time)
            } else {
                let prev = need(view.record(&prev_hash)?, &prev_hash)?;
                (prev.record.author, prev.record.seq, prev.record.time)
            };
            if prev_author != r.author {
                return Err(ValidationError::PrevMismatch { prev: prev_hash }.into());
            }
            let expected = prev_seq.saturating_add(1);
            if r.seq > expected {
                return Err(ValidationError::SeqGap {
                    prev_seq,
                    seq: r.seq,
                }
                .into());
            }
            if r.seq < expected {
                return Err(ValidationError::SeqReuse {
                    prev_seq,
                    seq: r.seq,
                }
                .into());
            }
            if let Some(at) = state.retired_at {
                return Err(ValidationError::KeyRetired { at }.into());
            }
            if r.time < prev_time {
                return Err(ValidationError::TimeBeforePrev {
                    time: r.time,
                    prev_time,
                }
                .into());
            }
            (state.identity, state.role, state.name, state.retired_at)
        }
    };

    let mut deps = Vec::with_capacity(r.deps.len());
    for d in &r.deps {
        let dep = need(view.record(d)?, d)?;
        if r.time < dep.record.time {
            return Err(ValidationError::TimeBeforeDep {
                time: r.time,
                dep: *d,
                dep_time: dep.record.time,
            }
            .into());
        }
        deps.push(dep);
    }

    let kind = r.event.kind();
    if !role.may_sign(kind) {
        return Err(ValidationError::RoleNotAllowed { role, kind }.into());
    }

    let mut book = Ledgerbook {
        view,
        holder: identity,
        changed: BTreeMap::new(),
    };
    let mut received = None;
    let mut created = Vec::new();
    let create = |code: &str, created: &mut Vec<String>| -> Result<(), CheckError> {
        if created.iter().any(|c| c == code) || view.created(&identity, code)? {
            return Err(ValidationError::LotExists(code.to_owned()).into());
        }
        created.push(code.to_owned());
        Ok(())
    };
    let own = |code: &str| LotId {
        source: identity,
        code: code.to_owned(),
    };

    for (_, product, _) in r.event.created_lots() {
        if let Some(gtin) = &product.gtin {
            gtin_right(&identity, r.time, gtin, &deps)?;
        }
    }

    match &r.event {
        Event::Harvest {
            lot_code, quantity, ..
        } => {
            create(lot_code, &mut created)?;
            book.credit(&own(lot_code), *quantity)?;
        }
        Event::Transform {
            inputs,
            outputs,
            loss,
            ..
        } => {
            let unit = inputs[0].quantity.unit;
            for q in inputs.iter().map(|i| (&i.lot, i.quantity)) {
                if q.1.unit != unit {
                    return Err(ValidationError::UnitMismatch {
                        lot: q.0.clone(),
                        expected: unit,
                        got: q.1.unit,
                    }
                    .into());
                }
            }
            for o in outputs {
                if o.quantity.unit != unit {
                    return Err(ValidationError::UnitMismatch {
                        lot: own(&o.code),
                        expected: unit,
                        got: o.quantity.unit,
                    }
                    .into());
                }
            }
            let total_in = sum(inputs.iter().map(|i| i.quantity.amount), "transform inputs")?;
            let total_out = sum(
                outputs.iter().map(|o| o.quantity.amount),
                "transform outputs",
            )?;
            let accounted = total_out
                .checked_add(*loss)
                .ok_or(ValidationError::QuantityOverflow("transform outputs"))?;
            if accounted != total_in {
                return Err(ValidationError::NotConserved {
                    inputs: total_in,
                    outputs: total_out,
                    loss: *loss,
                }
                .into());
            }
            for i in inputs {
                book.debit(&i.lot, i.quantity)?;
            }
            for o in outputs {
                create(&o.code, &mut created)?;
                book.credit(&own(&o.code), o.quantity)?;
            }
        }
        Event::Ship { lot, quantity, .. } | Event::Sell { lot, quantity, .. } => {
            book.debit(lot, *quantity)?;
        }
        Event::Receive {
            shipment,
            lot,
            quantity,
            ..
        } => {
            // `deps` holds the dep records in the order of `r.deps`.
            let Some(ship) = r.deps.iter().position(|d| d == shipment).map(|i| &deps[i]) else {
                return Err(ValidationError::NotInDeps {
                    what: format!("shipment {shipment}"),
                }
                .into());
            };
            let Event::Ship {
                lot: shipped_lot,
                quantity: shipped,
                to,
                ..
            } = &ship.record.event
            else {
                return Err(ValidationError::WrongDep {
                    dep: *shipment,
                    why: format!(
                        "a receive needs a ship record, not a {}",
                        ship.record.event.kind()
                    ),
                }
                .into());
            };
            if *to != identity {
                return Err(ValidationError::NotAddressed {
                    shipment: *shipment,
                    to: *to,
                }
                .into());
            }
            if view.received(&identity, shipment)? {
                return Err(ValidationError::AlreadyReceived(*shipment).into());
            }
            let mismatch = |why: String| ValidationError::ReceiveMismatch {
                shipment: *shipment,
                why,
            };
            if lot != shipped_lot {
                return Err(
                    mismatch(format!("shipped lot {shipped_lot}, received lot {lot}")).into(),
                );
            }
            if quantity.unit != shipped.unit {
                return Err(mismatch(format!(
                    "shipped in {:?}, received in {:?}",
                    shipped.unit, quantity.unit
                ))
                .into());
            }
            if quantity.amount > shipped.amount {
                return Err(mismatch(format!("shipped {shipped}, received {quantity}")).into());
            }
            book.credit(lot, *quantity)?;
            received = Some(*shipment);
        }
        Event::Observe { lot, .. }
        | Event::Inspect { lot, .. }
        | Event::Certify { lot, .. }
        | Event::Recall { lot, .. } => {
            with_prev(&mut deps, r, view)?;
            lot_in_deps(lot, &deps, view)?
        }
        Event::Aggregate {
            action, children, ..
        }
        | Event::Associate {
            action, children, ..
        } => {
            with_prev(&mut deps, r, view)?;
            for c in children {
                lot_in_deps(&c.lot, &deps, view)?;
                // Packing or attaching needs the lot in hand; unpacking
                // what has since left does not.
                if *action != Action::Delete {
                    book.after_debit(&c.lot, c.quantity)?;
                }
            }
        }
        Event::Transact { lots, .. } => {
            with_prev(&mut deps, r, view)?;
            for l in lots {
                lot_in_deps(&l.lot, &deps, view)?;
            }
        }
        Event::Correct {
            record,
            lots,
            corrective,
            ..
        } => check_correction(r, &identity, record, lots, corrective, &deps, view)?,
        Event::InputUse { .. } => {}
        Event::Identify { participant, .. } => {
            // The enrollment may be the regulator's own previous record.
            with_prev(&mut deps, r, view)?;
            let enrolled = deps.iter().any(|d| {
                matches!(&d.record.event, Event::Enroll { participant: p, .. } if p == participant)
            });
            if !enrolled {
                return Err(ValidationError::NotInDeps {
                    what: format!("the enrollment of participant {}", participant.short()),
                }
                .into());
            }
        }
        Event::Certificate {
            lot,
            quantity,
            basis,
            tests,
            inputs,
            ..
        } => {
            // Only the lot's holder certifies, and at most what it holds.
            book.after_debit(lot, *quantity)?;
            let mut known: BTreeMap<Hash, SignedRecord> =
                r.deps.iter().copied().zip(deps.iter().cloned()).collect();
            if let Some(p) = r.prev {
                if let Some(prev) = view.record(&p)? {
                    known.insert(p, prev);
                }
            }
            check_certificate(lot, *basis, tests, inputs, &known, view)?;
        }
        Event::AuthorisePacker { prefix, .. } => owns_prefix(&identity, prefix, &deps)?,
        Event::Enroll { .. }
        | Event::Revoke { .. }
        | Event::RotateKey { .. }
        | Event::AssignPrefix { .. } => {}
    }

    let retired_at = match r.event {
        Event::RotateKey { .. } => Some(r.seq),
        _ => retired_at,
    };
    Ok(Effects {
        key_state: KeyState {
            identity,
            role,
            name,
            head_seq: r.seq,
            head: hash,
            head_time: r.time,
            retired_at,
        },
        balances: book.changed.into_iter().collect(),
        received,
        created,
    })
}
