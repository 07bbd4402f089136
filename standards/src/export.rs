//! Records → an EPCIS 2.0 JSON-LD document (see `docs/standards.md`).

use ledger_core::event::{Location, Product, Reading, RefDoc, Verdict};
use ledger_core::{Event, EventKind, Hash, LotId, Quantity, SignedRecord};
use serde_json::{json, Map, Value};

use crate::vocab::{self, NAMESPACE};

/// The JSON-LD context of every exported document.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// A record to export, with what the export needs to know about the lots
/// it names (their products, for GTINs and descriptions).
#[derive(Debug, Clone)]
pub struct Item<'a> {
    /// The record's hash.
    pub hash: Hash,
    /// The record.
    pub record: &'a SignedRecord,
}

/// An exported document and what was left out.
#[derive(Debug, Clone)]
pub struct Exported {
    /// The EPCISDocument.
    pub document: Value,
    /// How many events it holds.
    pub events: usize,
    /// Records that are not supply-chain events (enroll, revoke,
    /// rotate-key) and have no EPCIS form.
    pub skipped: Vec<Hash>,
}

/// What an export looks up beside the records it writes: the product
/// of a lot (for its GTIN and description) and a record by hash (the
/// record an error declaration declares erroneous, and the records that
/// correct it), `None` when unknown.
pub struct Lookup<'a> {
    /// The product of a lot.
    pub product: &'a dyn Fn(&LotId) -> Option<Product>,
    /// A record by hash.
    pub record: &'a dyn Fn(&Hash) -> Option<SignedRecord>,
}

/// Exports `items` (in the order given) as one EPCISDocument created at
/// `created` (ms since epoch).
pub fn export(items: &[Item<'_>], created: u64, lookup: &Lookup<'_>) -> Exported {
    let mut events = Vec::new();
    let mut skipped = Vec::new();
    for item in items {
        match event(item, lookup) {
            Some(e) => events.push(e),
            None => skipped.push(item.hash),
        }
    }
    let document = json!({
        "@context": [EPCIS_CONTEXT, { "terroir": NAMESPACE }],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": vocab::rfc3339(created),
        "epcisBody": { "eventList": events },
    });
    Exported {
        events: events_len(&document),
        document,
        skipped,
    }
}

fn events_len(doc: &Value) -> usize {
    doc["epcisBody"]["eventList"].as_array().map_or(0, Vec::len)
}

fn quantity(class: String, q: Quantity) -> Value {
    json!({ "epcClass": class, "quantity": q.amount, "uom": q.unit.uncefact() })
}

fn class_of(lot: &LotId, product_of: &dyn Fn(&LotId) -> Option<Product>) -> String {
    let gtin = product_of(lot).and_then(|p| p.gtin);
    vocab::lot_class(&lot.source, &lot.code, gtin.as_deref())
}

fn place(e: &mut Map<String, Value>, loc: &Location) {
    e.insert(
        "bizLocation".into(),
        json!({ "id": vocab::location_id(loc) }),
    );
    e.insert("readPoint".into(), json!({ "id": vocab::location_id(loc) }));
    e.insert("terroir:location".into(), loc.description.clone().into());
}

fn reference(e: &mut Map<String, Value>, r: Option<&RefDoc>) {
    if let Some(r) = r {
        e.insert(
            "bizTransactionList".into(),
            json!([vocab::doc_transaction(r)]),
        );
    }
}

/// The CBV terms an export writes for a record of `kind` that is an
/// ObjectEvent (an inspection's disposition by its `verdict`): its action,
/// business step and disposition, `None` where it writes none; `None` for
/// kinds that are no ObjectEvent. An import need not keep terms that say
/// the same.
pub fn object_terms(
    kind: EventKind,
    verdict: Option<Verdict>,
) -> Option<(&'static str, Option<&'static str>, Option<&'static str>)> {
    Some(match kind {
        EventKind::Harvest => ("ADD", Some("commissioning"), Some("active")),
        EventKind::Ship => ("OBSERVE", Some("shipping"), Some("in_transit")),
        EventKind::Receive => ("OBSERVE", Some("receiving"), Some("in_progress")),
        EventKind::Observe => ("OBSERVE", Some("sensor_reporting"), None),
        EventKind::Inspect => (
            "OBSERVE",
            Some("inspecting"),
            Some(match verdict {
                Some(Verdict::Fail) => "non_conformant",
                _ => "conformant",
            }),
        ),
        EventKind::Certify => ("OBSERVE", None, None),
        EventKind::Recall => ("OBSERVE", None, Some("recalled")),
        EventKind::Sell => ("OBSERVE", Some("retail_selling"), Some("retail_sold")),
        _ => return None,
    })
}

fn object(e: &mut Map<String, Value>, kind: EventKind, verdict: Option<Verdict>) {
    let Some((action, step, disposition)) = object_terms(kind, verdict) else {
        return;
    };
    e.insert("type".into(), "ObjectEvent".into());
    e.insert("action".into(), action.into());
    if let Some(step) = step {
        e.insert("bizStep".into(), step.into());
    }
    if let Some(d) = disposition {
        e.insert("disposition".into(), d.into());
    }
}

fn lot_list(
    e: &mut Map<String, Value>,
    lot: &LotId,
    q: Option<Quantity>,
    pf: &dyn Fn(&LotId) -> Option<Product>,
) {
    let class = class_of(lot, pf);
    let element = match q {
        Some(q) => quantity(class, q),
        None => json!({ "epcClass": class }),
    };
    e.insert("quantityList".into(), json!([element]));
}

/// One record as an EPCIS event; `None` for records with no EPCIS form
/// (and for an error declaration whose declared record is unknown).
fn event(item: &Item<'_>, lookup: &Lookup<'_>) -> Option<Value> {
    let r = &item.record.record;
    if let Event::Correct {
        record,
        reason,
        corrective,
        ..
    } = &r.event
    {
        return declaration(item, record, reason, corrective, lookup);
    }
    let mut e = own_event(&item.hash, r, lookup.product)?;
    restore_extras(&mut e, r);
    Some(Value::Object(e))
}

/// The eventID an export gives a record: the one it kept, else its URN.
fn event_id(hash: &Hash, r: &ledger_core::Record) -> String {
    r.extras
        .as_ref()
        .and_then(|x| serde_json::from_str::<Value>(&x.epcis).ok())
        .and_then(|v| v.get("eventID").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| vocab::record_id(hash))
}

/// An error declaration, as EPCIS writes one: the declared event as the
/// ledger holds it, under its own eventID, with an `errorDeclaration`
/// giving the declaration's time, reason and corrective events.
fn declaration(
    item: &Item<'_>,
    declared: &Hash,
    reason: &str,
    corrective: &[Hash],
    lookup: &Lookup<'_>,
) -> Option<Value> {
    let target = (lookup.record)(declared)?;
    // own_event has no form for a declaration, so a declaration of a
    // declaration (which validation refuses) exports nothing.
    let mut e = own_event(declared, &target.record, lookup.product)?;
    restore_extras(&mut e, &target.record);
    let mut decl = Map::new();
    decl.insert(
        "declarationTime".into(),
        vocab::rfc3339(item.record.record.time).into(),
    );
    if !reason.is_empty() {
        decl.insert("reason".into(), reason.into());
    }
    if !corrective.is_empty() {
        let ids: Vec<Value> = corrective
            .iter()
            .map(|h| match (lookup.record)(h) {
                Some(c) => event_id(h, &c.record).into(),
                None => vocab::record_id(h).into(),
            })
            .collect();
        decl.insert("correctiveEventIDs".into(), ids.into());
    }
    e.insert("errorDeclaration".into(), Value::Object(decl));
    e.insert("terroir:record".into(), item.hash.to_hex().into());
    Some(Value::Object(e))
}

/// The fields an export writes of record `r` (whose hash is `hash`) from
/// its event alone, without what it keeps beside it: what an import need
/// not keep, since the export gives it back anyway. Lots are named
/// without their products (a GTIN lot by its Terroir class). `None` for
/// records with no EPCIS form.
pub fn own_fields(hash: &Hash, r: &ledger_core::Record) -> Option<Map<String, Value>> {
    own_event(hash, r, &|_| None)
}

fn own_event(
    hash: &Hash,
    r: &ledger_core::Record,
    pf: &dyn Fn(&LotId) -> Option<Product>,
) -> Option<Map<String, Value>> {
    let mut e = Map::new();
    e.insert("type".into(), Value::Null);
    e.insert("eventTime".into(), vocab::rfc3339(r.time).into());
    e.insert("eventTimeZoneOffset".into(), "+00:00".into());
    e.insert("eventID".into(), vocab::record_id(hash).into());
    e.insert("terroir:record".into(), hash.to_hex().into());
    e.insert("terroir:author".into(), vocab::party_id(&r.author).into());
    match &r.event {
        Event::Harvest {
            lot_code,
            product,
            quantity: q,
            location,
            reference: refdoc,
        } => {
            object(&mut e, EventKind::Harvest, None);
            let class = vocab::lot_class(&r.author, lot_code, product.gtin.as_deref());
            e.insert("quantityList".into(), json!([quantity(class.clone(), *q)]));
            e.insert(
                "terroir:products".into(),
                json!({ class: product.description }),
            );
            place(&mut e, location);
            reference(&mut e, refdoc.as_ref());
        }
        Event::Transform {
            process,
            inputs,
            outputs,
            loss,
            location,
            reference: refdoc,
        } => {
            e.insert("type".into(), "TransformationEvent".into());
            e.insert(
                "bizStep".into(),
                format!("{}{}", vocab::PROCESS_URN, vocab::enc(process)).into(),
            );
            let ins: Vec<Value> = inputs
                .iter()
                .map(|i| quantity(class_of(&i.lot, pf), i.quantity))
                .collect();
            let mut products = Map::new();
            let outs: Vec<Value> = outputs
                .iter()
                .map(|o| {
                    let class = vocab::lot_class(&r.author, &o.code, o.product.gtin.as_deref());
                    products.insert(class.clone(), o.product.description.clone().into());
                    quantity(class, o.quantity)
                })
                .collect();
            e.insert("inputQuantityList".into(), ins.into());
            e.insert("outputQuantityList".into(), outs.into());
            e.insert("terroir:products".into(), products.into());
            e.insert("terroir:loss".into(), (*loss).into());
            place(&mut e, location);
            reference(&mut e, refdoc.as_ref());
        }
        Event::Ship {
            lot,
            quantity: q,
            to,
            from,
            destination,
            reference: refdoc,
        } => {
            object(&mut e, EventKind::Ship, None);
            lot_list(&mut e, lot, Some(*q), pf);
            place(&mut e, from);
            e.insert(
                "sourceList".into(),
                json!([
                    { "type": "owning_party", "source": vocab::party_id(&r.author) },
                    { "type": "location", "source": vocab::location_id(from) },
                ]),
            );
            e.insert(
                "destinationList".into(),
                json!([
                    { "type": "owning_party", "destination": vocab::party_id(to) },
                    { "type": "location", "destination": vocab::location_id(destination) },
                ]),
            );
            e.insert(
                "terroir:destination".into(),
                destination.description.clone().into(),
            );
            reference(&mut e, refdoc.as_ref());
        }
        Event::Receive {
            shipment,
            lot,
            quantity: q,
            location,
            reference: refdoc,
        } => {
            object(&mut e, EventKind::Receive, None);
            lot_list(&mut e, lot, Some(*q), pf);
            place(&mut e, location);
            e.insert(
                "destinationList".into(),
                json!([
                    { "type": "owning_party", "destination": vocab::party_id(&r.author) },
                    { "type": "location", "destination": vocab::location_id(location) },
                ]),
            );
            e.insert("terroir:shipment".into(), shipment.to_hex().into());
            reference(&mut e, refdoc.as_ref());
        }
        Event::Observe {
            lot,
            location,
            readings,
        } => {
            object(&mut e, EventKind::Observe, None);
            lot_list(&mut e, lot, None, pf);
            place(&mut e, location);
            e.insert("sensorElementList".into(), sensor_elements(readings));
        }
        Event::Inspect {
            lot,
            test,
            verdict,
            notes,
            reference: refdoc,
        } => {
            object(&mut e, EventKind::Inspect, Some(*verdict));
            lot_list(&mut e, lot, None, pf);
            e.insert("terroir:test".into(), test.clone().into());
            e.insert("terroir:notes".into(), notes.clone().into());
            reference(&mut e, refdoc.as_ref());
        }
        Event::Certify {
            lot,
            claim,
            reference: refdoc,
            valid_until,
        } => {
            object(&mut e, EventKind::Certify, None);
            lot_list(&mut e, lot, None, pf);
            let cert = match refdoc {
                Some(d) => format!(
                    "{}{}:{}",
                    vocab::DOC_URN,
                    vocab::enc(&d.kind),
                    vocab::enc(&d.number)
                ),
                None => format!("{}certificate:{}", vocab::DOC_URN, vocab::enc(claim)),
            };
            e.insert("certificationInfo".into(), cert.into());
            e.insert("terroir:claim".into(), claim.clone().into());
            if let Some(v) = valid_until {
                e.insert("terroir:validUntil".into(), vocab::rfc3339(*v).into());
            }
            reference(&mut e, refdoc.as_ref());
        }
        Event::Recall { lot, reason } => {
            object(&mut e, EventKind::Recall, None);
            lot_list(&mut e, lot, None, pf);
            e.insert("terroir:reason".into(), reason.clone().into());
        }
        Event::Sell {
            lot,
            quantity: q,
            location,
        } => {
            object(&mut e, EventKind::Sell, None);
            lot_list(&mut e, lot, Some(*q), pf);
            place(&mut e, location);
        }
        Event::Aggregate {
            action,
            parent,
            children,
            location,
        }
        | Event::Associate {
            action,
            parent,
            children,
            location,
        } => {
            let kind = match r.event {
                Event::Aggregate { .. } => "AggregationEvent",
                _ => "AssociationEvent",
            };
            e.insert("type".into(), kind.into());
            e.insert("action".into(), action.epcis().into());
            e.insert("parentID".into(), parent.clone().into());
            if !children.is_empty() {
                let list: Vec<Value> = children
                    .iter()
                    .map(|c| quantity(class_of(&c.lot, pf), c.quantity))
                    .collect();
                e.insert("childQuantityList".into(), list.into());
            }
            place(&mut e, location);
        }
        Event::Transact {
            action,
            documents,
            lots,
            location,
        } => {
            e.insert("type".into(), "TransactionEvent".into());
            e.insert("action".into(), action.epcis().into());
            let docs: Vec<Value> = documents.iter().map(vocab::doc_transaction).collect();
            e.insert("bizTransactionList".into(), docs.into());
            let list: Vec<Value> = lots
                .iter()
                .map(|l| quantity(class_of(&l.lot, pf), l.quantity))
                .collect();
            e.insert("quantityList".into(), list.into());
            place(&mut e, location);
        }
        Event::Enroll { .. }
        | Event::Revoke { .. }
        | Event::RotateKey { .. }
        | Event::AssignPrefix { .. }
        | Event::AuthorisePacker { .. }
        | Event::Correct { .. }
        | Event::Identify { .. } => return None,
        Event::InputUse {
            product,
            ingredients,
            registration,
            dose,
            field,
            safety_interval_days,
        } => {
            // An OBSERVE of the input product applied to the field: the
            // dose as its quantity, the rest as Terroir's fields.
            e.insert("type".into(), "ObjectEvent".into());
            e.insert("action".into(), "OBSERVE".into());
            e.insert("bizStep".into(), vocab::INPUT_USE_STEP.into());
            e.insert("epcList".into(), json!([]));
            e.insert(
                "quantityList".into(),
                json!([quantity(
                    format!("{}{}", vocab::INPUT_URN, vocab::enc(product)),
                    *dose
                )]),
            );
            place(&mut e, field);
            e.insert("terroir:inputProduct".into(), product.clone().into());
            if let Some(v) = one_or_many(ingredients.iter().cloned()) {
                e.insert("terroir:ingredient".into(), v);
            }
            if let Some(r) = registration {
                e.insert("terroir:registration".into(), r.clone().into());
            }
            e.insert(
                "terroir:safetyIntervalDays".into(),
                (*safety_interval_days).into(),
            );
        }
        Event::Certificate {
            lot,
            quantity: q,
            origin,
            contact,
            basis,
            tests,
            inputs,
        } => {
            // A certification of the lot (certificationInfo names the
            // certificate), with what the order requires it to say.
            e.insert("type".into(), "ObjectEvent".into());
            e.insert("action".into(), "OBSERVE".into());
            lot_list(&mut e, lot, Some(*q), pf);
            e.insert(
                "certificationInfo".into(),
                format!("{}{}", vocab::CERTIFICATE_URN, hash.to_hex()).into(),
            );
            e.insert("terroir:basis".into(), basis.term().into());
            e.insert("terroir:origin".into(), origin.clone().into());
            e.insert("terroir:contact".into(), contact.clone().into());
            if let Some(v) = one_or_many(tests.iter().map(Hash::to_hex)) {
                e.insert("terroir:test".into(), v);
            }
            if let Some(v) = one_or_many(inputs.iter().map(Hash::to_hex)) {
                e.insert("terroir:inputCertificate".into(), v);
            }
        }
    }
    Some(e)
}

/// A list of texts as an extension field writes it, so that XML, where a
/// repeated element is the list, reads back the same: nothing for none,
/// the text for one, an array for more.
fn one_or_many(items: impl Iterator<Item = String>) -> Option<Value> {
    let mut v: Vec<Value> = items.map(Value::String).collect();
    match v.len() {
        0 => None,
        1 => v.pop(),
        _ => Some(Value::Array(v)),
    }
}

/// An observation's readings as EPCIS writes them: one sensor element a
/// reading, with its time, and the allowed range where it has one
/// (`terroir:allowedMin`/`Max`, in thousandths).
pub fn sensor_elements(readings: &[Reading]) -> Value {
    readings
        .iter()
        .map(|rd| {
            let (kind, uom) = vocab::sensor_type(rd.kind);
            let mut report = json!({
                "type": kind,
                "value": vocab::milli_number(rd.value),
                "uom": uom,
            });
            let (min, max) = rd.bounds();
            if let Some(min) = min {
                report["terroir:allowedMin"] = min.into();
            }
            if let Some(max) = max {
                report["terroir:allowedMax"] = max.into();
            }
            json!({
                "sensorMetadata": { "time": vocab::rfc3339(rd.time) },
                "sensorReport": [report],
            })
        })
        .collect()
}

/// Gives back what the record kept of the event it was captured from
/// (its extras, see `import`): those fields replace the export's own, and
/// the event time is written at the kept time-zone offset (UTC as `Z`).
fn restore_extras(e: &mut Map<String, Value>, r: &ledger_core::Record) {
    let Some(extras) = &r.extras else { return };
    // Validation admits only a JSON object here.
    let Ok(Value::Object(kept)) = serde_json::from_str::<Value>(&extras.epcis) else {
        return;
    };
    for (k, v) in kept {
        e.insert(k, v);
    }
    // UTC stays written as `Z`, as every export writes it.
    if let Some(at) = e
        .get("eventTimeZoneOffset")
        .and_then(Value::as_str)
        .filter(|o| !matches!(*o, "+00:00" | "-00:00"))
        .and_then(|o| vocab::rfc3339_at(r.time, o))
    {
        e.insert("eventTime".into(), at.into());
    }
}
