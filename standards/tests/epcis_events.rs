//! EPCIS's aggregation, association and transaction events and its error
//! declarations (record version 4): each imports into its Terroir record,
//! exports back field by field, and what cannot be held is refused with
//! its reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use ledger_core::event::Action;
use ledger_core::graph::Graph;
use ledger_core::query;
use ledger_core::{Event, Hash, Ledger, LotId, SignedRecord};
use serde_json::{json, Value};
use terroir_standards::apply;
use terroir_standards::export::Item;
use terroir_standards::import;

const PALLET: &str = "urn:epc:id:sscc:6901234.0000000017";

/// The processor's cooled leaf, received from the farm in the story.
fn cooled() -> LotId {
    LotId {
        source: key("farm").public(),
        code: "QDC-0403".into(),
    }
}

fn cooled_class() -> String {
    terroir_standards::vocab::lot_class(&cooled().source, &cooled().code, None)
}

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-03T00:00:00Z",
        "epcisBody": { "eventList": events },
    })
}

/// The processor packs 100 kg of the cooled leaf onto a pallet (with the
/// serial numbers of its bags), attaches a data logger, links the
/// purchase order, and unpacks the pallet.
fn processor_events() -> Vec<Value> {
    let site = json!({ "id": "https://id.gs1.org/414/6901234000030" });
    vec![
        json!({
            "type": "AggregationEvent",
            "eventID": "urn:uuid:6c0e7a52-1f0b-4d7e-9a31-7e5c9d1b2a01",
            "eventTime": "2025-04-03T09:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": PALLET,
            "childEPCs": ["urn:epc:id:sgtin:6901234.000001.B-1", "urn:epc:id:sgtin:6901234.000001.B-2"],
            "action": "ADD",
            "bizStep": "packing",
            "disposition": "in_progress",
            "readPoint": { "id": "urn:epc:id:sgln:6901234.00003.1" },
            "bizLocation": site,
            "childQuantityList": [{ "epcClass": cooled_class(), "quantity": 100, "uom": "KGM" }],
        }),
        json!({
            "type": "AssociationEvent",
            "eventTime": "2025-04-03T09:10:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": "urn:epc:id:giai:6901234.LOGGER-7",
            "action": "ADD",
            "bizStep": "assembling",
            "bizLocation": site,
            "childQuantityList": [{ "epcClass": cooled_class(), "quantity": 100000, "uom": "GRM" }],
        }),
        json!({
            "type": "TransactionEvent",
            "eventID": "urn:uuid:6c0e7a52-1f0b-4d7e-9a31-7e5c9d1b2a03",
            "eventTime": "2025-04-03T09:20:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": PALLET,
            "action": "ADD",
            "bizStep": "shipping",
            "bizLocation": site,
            "bizTransactionList": [
                { "type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000004:PO-88" },
                { "type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000030:DA-12" },
            ],
            "quantityList": [{ "epcClass": cooled_class(), "quantity": 100000, "uom": "GRM" }],
        }),
        json!({
            "type": "AggregationEvent",
            "eventTime": "2025-04-03T17:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "parentID": PALLET,
            "action": "DELETE",
            "bizStep": "unpacking",
            "bizLocation": site,
        }),
    ]
}

/// Imports `doc` with `who`'s key into `l`, strictly; the records signed.
fn import_all(
    l: &mut Ledger<ledger_core::store::MemoryStore>,
    doc: &Value,
    who: &str,
) -> Vec<SignedRecord> {
    assert!(schema_errors(doc).is_empty(), "{:?}", schema_errors(doc));
    let mapped = import::map_document(doc).unwrap();
    let report = apply::import(l, &key(who), &mapped, true, u64::MAX / 2).unwrap();
    report
        .imported
        .iter()
        .map(|(_, h, _)| l.record(h).unwrap().unwrap())
        .collect()
}

fn export_records(l: &Ledger<ledger_core::store::MemoryStore>, records: &[SignedRecord]) -> Value {
    let hashes: Vec<Hash> = records.iter().map(SignedRecord::hash).collect();
    let items: Vec<Item<'_>> = records
        .iter()
        .zip(&hashes)
        .map(|(record, hash)| Item {
            hash: *hash,
            record,
        })
        .collect();
    let out = export_with(l, &items, T0).document;
    assert!(schema_errors(&out).is_empty(), "{:?}", schema_errors(&out));
    out
}

#[test]
fn aggregation_association_and_transaction_come_back_field_by_field() {
    let mut l = farm_story("groupings");
    let doc = document(processor_events());
    let records = import_all(&mut l, &doc, "processor");
    let kinds: Vec<String> = records
        .iter()
        .map(|r| r.record.event.kind().to_string())
        .collect();
    assert_eq!(kinds, ["aggregate", "associate", "transact", "aggregate"]);
    assert!(records.iter().all(|r| r.record.version == 4));
    match &records[0].record.event {
        Event::Aggregate {
            action,
            parent,
            children,
            location,
        } => {
            assert_eq!(*action, Action::Add);
            assert_eq!(parent, PALLET);
            assert_eq!(children[0].lot, cooled());
            assert_eq!(children[0].quantity.amount, 100_000);
            assert_eq!(location.gln.as_deref(), Some("6901234000030"));
        }
        other => panic!("{other:?}"),
    }
    match &records[2].record.event {
        Event::Transact { documents, .. } => {
            assert_eq!(documents.len(), 2);
            assert_eq!(documents[0].kind, "PO");
        }
        other => panic!("{other:?}"),
    }
    // Packing moved nothing: the processor still holds all it received.
    assert_eq!(
        l.balance(&key("processor").public(), &cooled())
            .unwrap()
            .unwrap()
            .amount,
        149_000
    );

    let out = export_records(&l, &records);
    let back = out["epcisBody"]["eventList"].as_array().unwrap();
    let times = [
        "2025-04-03T09:00:00.000+08:00",
        "2025-04-03T09:10:00.000+08:00",
        "2025-04-03T09:20:00.000+08:00",
        "2025-04-03T17:00:00.000+08:00",
    ];
    for ((input, back), time) in doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .zip(back)
        .zip(times)
    {
        same_fields(input, back, time);
    }
    // The XML binding carries the same events.
    let text = terroir_standards::xml::from_json(&out).unwrap();
    assert_eq!(
        terroir_standards::xml::to_json(text.as_bytes()).unwrap(),
        out
    );

    // Imported again elsewhere, the records keep the same extras.
    let mut again = farm_story("groupings");
    let second = import_all(&mut again, &out, "processor");
    for (a, b) in records.iter().zip(&second) {
        assert_eq!(a, b, "the same record, hash for hash");
    }
}

#[test]
fn what_the_ledger_cannot_hold_of_a_grouping_is_refused_with_its_reason() {
    let site = json!({ "id": "https://id.gs1.org/414/6901234000030" });
    let child = json!([{ "epcClass": cooled_class(), "quantity": 1, "uom": "KGM" }]);
    let cases = [
        (
            json!({"type": "AggregationEvent", "action": "ADD", "bizLocation": site, "childQuantityList": child}),
            "no parentID",
        ),
        (
            json!({"type": "AggregationEvent", "action": "ADD", "parentID": PALLET, "bizLocation": site,
                   "childEPCs": ["urn:epc:id:sgtin:6901234.000001.B-1"]}),
            "serialised items (childEPCs) without a lot",
        ),
        (
            json!({"type": "TransactionEvent", "action": "ADD", "bizLocation": site, "quantityList": child}),
            "no business document",
        ),
        (
            json!({"type": "AssociationEvent", "action": "ADD", "parentID": "urn:epc:id:giai:6901234.L7",
                   "bizLocation": site}),
            "adds no lot",
        ),
        (
            json!({"type": "AggregationEvent", "action": "ADD", "parentID": PALLET, "bizLocation": site,
                   "childQuantityList": [{ "epcClass": cooled_class(), "quantity": 1, "uom": "KGM", "example:bag": 3 }]}),
            "\"example:bag\" on a quantity element",
        ),
    ];
    for (mut event, words) in cases {
        event["eventTime"] = json!("2025-04-03T09:00:00+08:00");
        event["eventTimeZoneOffset"] = json!("+08:00");
        let mapped = import::map_document(&document(vec![event])).unwrap();
        match &mapped[0].draft {
            Err(r) => assert!(r.contains(words), "{words}: {r}"),
            Ok(d) => panic!("{words}: mapped to {}", d.name()),
        }
        let mut l = farm_story("refused");
        let before = l.state_digest().unwrap();
        let report =
            apply::import(&mut l, &key("processor"), &mapped, false, u64::MAX / 2).unwrap();
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(l.state_digest().unwrap(), before);
    }
    // Packing more than the processor holds is refused by the ledger,
    // naming the event, and nothing is signed.
    let mut l = farm_story("overdraw");
    let before = l.state_digest().unwrap();
    let mut e = processor_events().remove(0);
    e["childQuantityList"][0]["quantity"] = json!(150);
    let mapped = import::map_document(&document(vec![e])).unwrap();
    let err = apply::import(&mut l, &key("processor"), &mapped, false, u64::MAX / 2).unwrap_err();
    assert!(err.to_string().contains("event 0 (aggregate)"), "{err}");
    assert!(err.to_string().contains("holds 149 kg"), "{err}");
    assert_eq!(l.state_digest().unwrap(), before);
}

/// The story every declaration test runs in: the same records, hash for
/// hash, in every ledger made of it.
const STORY: &str = "declarations";

/// The farm's observation of QDH-0401 in the story, as exported, with
/// the farm's declaration that it is erroneous.
fn declared(reason: &str, corrective: Vec<&str>) -> Value {
    let l = farm_story(STORY);
    let farm = key("farm").public();
    let observe = l
        .chain(&farm)
        .unwrap()
        .iter()
        .map(|(_, h)| l.record(h).unwrap().unwrap())
        .find(|r| matches!(r.record.event, Event::Observe { .. }))
        .unwrap();
    let out = export_records(&l, &[observe]);
    let mut e = out["epcisBody"]["eventList"][0].clone();
    e["errorDeclaration"] = json!({
        "declarationTime": "2025-04-04T10:00:00+08:00",
        "reason": reason,
        "correctiveEventIDs": corrective,
    });
    e
}

#[test]
fn an_error_declaration_marks_the_declared_record_and_comes_back() {
    let mut l = farm_story(STORY);
    let farm = key("farm").public();
    let decl = declared("https://ref.gs1.org/cbv/ER-incorrect_data", vec![]);
    let declared_id = decl["eventID"].as_str().unwrap().to_owned();
    let lot = LotId {
        source: farm,
        code: "QDH-0401".into(),
    };
    let before = {
        let overlays = ledger_core::overlay::Overlays::compute(&l).unwrap();
        query::trace(&l, &overlays, &lot).unwrap().unwrap()
    };
    let records = import_all(&mut l, &document(vec![decl]), "farm");
    let Event::Correct {
        record,
        lots,
        reason,
        corrective,
    } = &records[0].record.event
    else {
        panic!("{:?}", records[0].record.event)
    };
    assert_eq!(declared_id, terroir_standards::vocab::record_id(record));
    assert_eq!(reason, "https://ref.gs1.org/cbv/ER-incorrect_data");
    assert!(corrective.is_empty());
    assert_eq!(lots, &vec![lot.clone()]);
    // Dated when it was declared.
    assert_eq!(
        records[0].record.time,
        terroir_standards::vocab::parse_time("2025-04-04T10:00:00+08:00").unwrap()
    );

    // The trace shows the declared record as erroneous; that is no
    // warning about the food (the trace warns as it did before).
    let overlays = ledger_core::overlay::Overlays::compute(&l).unwrap();
    let trace = query::trace(&l, &overlays, &lot).unwrap().unwrap();
    let said = trace.declared_erroneous(record);
    assert_eq!(said.len(), 1);
    assert_eq!(
        ledger_core::event::bare_error_reason(said[0].1),
        "incorrect_data"
    );
    let others: Vec<_> = trace
        .warnings
        .iter()
        .filter(|w| !matches!(w, query::Warning::DeclaredErroneous { .. }))
        .cloned()
        .collect();
    assert_eq!(others, before.warnings);
    assert_eq!(trace.is_clean(), before.is_clean());

    // Exported, it is the declared event with its errorDeclaration.
    let out = export_records(&l, &records);
    let e = &out["epcisBody"]["eventList"][0];
    assert_eq!(e["eventID"], declared_id.as_str());
    assert_eq!(e["type"], "ObjectEvent");
    assert_eq!(
        e["errorDeclaration"]["reason"],
        "https://ref.gs1.org/cbv/ER-incorrect_data"
    );
    assert_eq!(
        e["errorDeclaration"]["declarationTime"],
        "2025-04-04T02:00:00.000Z"
    );
    let text = terroir_standards::xml::from_json(&out).unwrap();
    assert_eq!(
        terroir_standards::xml::to_json(text.as_bytes()).unwrap(),
        out
    );
}

#[test]
fn a_declaration_names_its_corrective_events_and_refuses_what_it_cannot_find() {
    // The farm corrects its observation with a new one, then declares
    // the old one erroneous, naming the new one by its eventID.
    let mut l = farm_story(STORY);
    let mut fix = declared("", vec![]);
    fix.as_object_mut().unwrap().remove("errorDeclaration");
    fix.as_object_mut().unwrap().remove("terroir:record");
    fix["eventID"] = json!("urn:uuid:0d1e2f30-4152-4637-8899-aabbccddeeff");
    fix["eventTime"] = json!("2025-04-04T09:00:00+08:00");
    fix["sensorElementList"][0]["sensorReport"][0]["value"] = json!(4.5);
    let decl = declared(
        "did_not_occur",
        vec!["urn:uuid:0d1e2f30-4152-4637-8899-aabbccddeeff"],
    );
    let records = import_all(&mut l, &document(vec![fix, decl]), "farm");
    let Event::Correct { corrective, .. } = &records[1].record.event else {
        panic!()
    };
    assert_eq!(corrective, &vec![records[0].hash()]);
    let out = export_records(&l, &records);
    assert_eq!(
        out["epcisBody"]["eventList"][1]["errorDeclaration"]["correctiveEventIDs"],
        json!(["urn:uuid:0d1e2f30-4152-4637-8899-aabbccddeeff"])
    );

    // Refused, each with its reason, and nothing signed: an unknown
    // declared event, an unknown corrective event, another participant's
    // record, a declaration without its time, and a field a declaration
    // has no place for.
    let unknown = {
        let mut d = declared("incorrect_data", vec![]);
        d["eventID"] = json!("urn:uuid:00000000-0000-4000-8000-000000000000");
        d
    };
    let stray = declared(
        "incorrect_data",
        vec!["urn:uuid:11111111-0000-4000-8000-000000000000"],
    );
    let untimed = {
        let mut d = declared("incorrect_data", vec![]);
        d["errorDeclaration"]
            .as_object_mut()
            .unwrap()
            .remove("declarationTime");
        d
    };
    let extra = {
        let mut d = declared("incorrect_data", vec![]);
        d["errorDeclaration"]["example:ticket"] = json!("T-9");
        d
    };
    for (event, who, words) in [
        (unknown, "farm", "is not among your records"),
        (
            stray,
            "farm",
            "urn:uuid:11111111-0000-4000-8000-000000000000 is not among your records",
        ),
        (
            declared("incorrect_data", vec![]),
            "processor",
            "another participant's record",
        ),
        (untimed, "farm", "no declarationTime"),
        (extra, "farm", "\"example:ticket\" in its errorDeclaration"),
    ] {
        let mut l = farm_story(STORY);
        let before = l.state_digest().unwrap();
        let mapped = import::map_document(&document(vec![event])).unwrap();
        let report = apply::import(&mut l, &key(who), &mapped, false, u64::MAX / 2).unwrap();
        assert_eq!(report.skipped.len(), 1, "{words}");
        assert!(
            report.skipped[0].2.contains(words),
            "{words}: {}",
            report.skipped[0].2
        );
        assert_eq!(l.state_digest().unwrap(), before);
    }
}

#[test]
fn a_step_written_another_way_comes_back_as_written() {
    // The farm's cold-store reading, captured as `storing` in CBV web URIs;
    // Terroir reads it as a sensor report, and keeps the terms it came
    // with.
    let mut l = farm_story("steps");
    let lot = "https://id.gs1.org/01/06901234567892/10/QDH-0401";
    let event = json!({
        "type": "ObjectEvent",
        "eventTime": "2025-04-03T08:00:00+08:00",
        "eventTimeZoneOffset": "+08:00",
        "action": "OBSERVE",
        "bizStep": "https://ref.gs1.org/cbv/BizStep-storing",
        "disposition": "https://ref.gs1.org/cbv/Disp-in_progress",
        "bizLocation": { "id": "https://id.gs1.org/414/6901234000016" },
        "quantityList": [{ "epcClass": lot }],
        "sensorElementList": [{ "sensorReport": [{ "type": "Temperature", "value": 3.5, "uom": "CEL" }] }],
    });
    let doc = document(vec![event.clone()]);
    let records = import_all(&mut l, &doc, "farm");
    assert_eq!(records[0].record.event.kind().as_str(), "observe");
    let out = export_records(&l, &records);
    let back = &out["epcisBody"]["eventList"][0];
    same_fields(&event, back, "2025-04-03T08:00:00.000+08:00");
    // What the export writes the same is not kept: a sensor report
    // written as Terroir writes one keeps nothing beside its event.
    let mut plain = event.clone();
    plain["bizStep"] = json!("sensor_reporting");
    plain.as_object_mut().unwrap().remove("disposition");
    plain["eventTimeZoneOffset"] = json!("+00:00");
    plain["eventTime"] = json!("2025-04-03T09:00:00Z");
    plain["sensorElementList"] = json!([{
        "sensorMetadata": { "time": "2025-04-03T09:00:00.000Z" },
        "sensorReport": [{ "type": "Temperature", "value": 3.5, "uom": "CEL" }],
    }]);
    let records = import_all(&mut l, &document(vec![plain]), "farm");
    assert_eq!(records[0].record.extras, None);
    assert_eq!(records[0].record.version, 2);
}

#[test]
fn a_drafts_is_a_reads_as_type_and_xml_errors_say_it_once() {
    // Drafts of EPCIS 2.0 wrote `isA` where the standard writes `type`,
    // as many of GS1's example documents still do.
    let mut event = processor_events().remove(0);
    let kind = event.as_object_mut().unwrap().remove("type").unwrap();
    event["isA"] = kind;
    let mut doc = document(vec![event]);
    let kind = doc.as_object_mut().unwrap().remove("type").unwrap();
    doc["isA"] = kind;
    let bytes = serde_json::to_vec(&doc).unwrap();
    let streamed = import::read(&bytes).unwrap();
    assert_eq!(streamed, import::map_document(&doc).unwrap());
    assert_eq!(streamed[0].draft.as_ref().unwrap().name(), "aggregate");
    // So is a type written as a compact IRI.
    doc["isA"] = json!("epcis:EPCISDocument");
    assert_eq!(import::map_document(&doc).unwrap(), streamed);

    // An EPCIS 1.x XML document is refused once, in words.
    let old = br#"<?xml version="1.0"?><epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:1" schemaVersion="1.2" creationDate="2025-01-01T00:00:00Z"><EPCISBody><EventList/></EPCISBody></epcis:EPCISDocument>"#;
    let err = import::read(old).unwrap_err();
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
    let words = err.to_string();
    assert!(words.contains("EPCIS 1.x"), "{words}");
    assert_eq!(words.matches("root element").count(), 1, "{words}");
}

#[test]
fn input_use_and_certificates_map_to_epcis_and_back_and_the_fsma_sheet_ignores_them() {
    // The farm records a spray of its plot 7 and certifies 20 kg of
    // QDH-0401 (it holds 20.5 kg after the story's cooling) on quality
    // control, through EPCIS as Terroir's export writes them.
    let mut l = farm_story("inputs");
    let lot = terroir_standards::vocab::lot_class(
        &key("farm").public(),
        "QDH-0401",
        Some("06901234567892"),
    );
    let events = vec![
        json!({
            "type": "ObjectEvent",
            "eventTime": "2025-04-03T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "action": "OBSERVE",
            "bizStep": terroir_standards::vocab::INPUT_USE_STEP,
            "epcList": [],
            "quantityList": [{ "epcClass": "urn:terroir:input:10%25%20%E5%90%A1%E8%99%AB%E5%95%89", "quantity": 300, "uom": "GRM" }],
            "bizLocation": { "id": "https://id.gs1.org/414/6901234000016" },
            "terroir:inputProduct": "10% 吡虫啉",
            "terroir:ingredient": ["吡虫啉 imidacloprid", "毒死蜱 chlorpyrifos"],
            "terroir:registration": "PD20070101",
            "terroir:safetyIntervalDays": 7,
        }),
        json!({
            "type": "ObjectEvent",
            "eventTime": "2025-04-03T09:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "action": "OBSERVE",
            "quantityList": [{ "epcClass": lot, "quantity": 20, "uom": "KGM" }],
            "certificationInfo": "urn:terroir:certificate:00",
            "terroir:basis": "quality_control",
            "terroir:origin": "浙江省杭州市淳安县 鸠坑乡",
            "terroir:contact": "0571-6500 1234",
        }),
    ];
    let doc = document(events.clone());
    let records = import_all(&mut l, &doc, "farm");
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r.record.event.kind().as_str())
        .collect();
    assert_eq!(kinds, ["input_use", "certificate"]);
    let out = export_records(&l, &records);
    let back = out["epcisBody"]["eventList"].as_array().unwrap();
    same_fields(&events[0], &back[0], "2025-04-03T08:00:00.000+08:00");
    for k in ["terroir:basis", "terroir:origin", "terroir:contact"] {
        assert_eq!(back[1][k], events[1][k], "{k}");
    }
    assert_eq!(back[1]["quantityList"][0]["quantity"], 20000);
    // The XML binding carries them too.
    let text = terroir_standards::xml::from_json(&out).unwrap();
    assert_eq!(
        terroir_standards::xml::to_json(text.as_bytes()).unwrap(),
        out
    );

    // The FSMA 204 sheet has no row for them: the same rows as before.
    struct Names;
    impl terroir_standards::fsma::Lookup for Names {
        fn product(&self, _: &LotId) -> Option<ledger_core::event::Product> {
            None
        }
        fn name(&self, _: &ledger_core::PublicKey) -> Option<String> {
            None
        }
        fn record(&self, _: &Hash) -> Option<SignedRecord> {
            None
        }
    }
    let all = all_records(&l);
    let without: Vec<(Hash, SignedRecord)> = all
        .iter()
        .filter(|(_, r)| {
            !matches!(
                r.record.event,
                Event::InputUse { .. } | Event::Certificate { .. }
            )
        })
        .cloned()
        .collect();
    let (_, rows) = terroir_standards::fsma::spreadsheet(&all, &Names).unwrap();
    let (_, rows_before) = terroir_standards::fsma::spreadsheet(&without, &Names).unwrap();
    assert_eq!(rows, rows_before);
}
