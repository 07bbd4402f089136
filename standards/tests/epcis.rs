//! EPCIS 2.0 export and import: schema validity, the reference examples,
//! and import → export → import round trips.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use ledger_core::graph::Graph;
use ledger_core::store::MemoryStore;
use ledger_core::workload::{self, Shape};
use ledger_core::{Event, Hash, Ledger, LedgerConfig, LotId, SignedRecord};
use serde_json::Value;
use terroir_standards::apply::{self, ImportError};
use terroir_standards::export::Item;
use terroir_standards::import::{self, DocumentError, Draft};

#[test]
fn a_generated_supply_chain_exports_to_a_schema_valid_document() {
    let w = workload::generate(Shape {
        farms: 2,
        processors: 2,
        carriers: 1,
        retailers: 2,
        records: 120,
    });
    let mut l = Ledger::create(
        MemoryStore::new(),
        w.genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    l.ingest(w.records, u64::MAX / 2).unwrap();
    let doc = export_ledger(&l);
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");
    let events = doc["epcisBody"]["eventList"].as_array().unwrap();
    let steps: std::collections::BTreeSet<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["type"].as_str().unwrap(),
                e["bizStep"].as_str().unwrap_or("-")
            )
        })
        .collect();
    for want in [
        "AggregationEvent/-",
        "TransactionEvent/-",
        "ObjectEvent/commissioning",
        "ObjectEvent/shipping",
        "ObjectEvent/receiving",
        "ObjectEvent/sensor_reporting",
        "ObjectEvent/retail_selling",
        "ObjectEvent/inspecting",
    ] {
        assert!(steps.contains(want), "{want} missing from {steps:?}");
    }
    assert!(steps.iter().any(|s| s.starts_with("TransformationEvent/")));
    // Every event carries its record hash, and the hash is in the ledger;
    // an error declaration is the declared record's event, under its id.
    let mut declarations = 0;
    for e in events {
        let h = Hash::from_hex(e["terroir:record"].as_str().unwrap()).unwrap();
        let r = l.record(&h).unwrap().unwrap();
        let named = match r.record.event {
            Event::Correct { record, .. } => {
                declarations += 1;
                assert!(e["errorDeclaration"]["declarationTime"].is_string());
                record
            }
            _ => h,
        };
        assert_eq!(
            e["eventID"],
            format!("urn:terroir:record:{}", named.to_hex())
        );
    }
    assert!(declarations > 0);
}

#[test]
fn the_farm_story_exports_valid_epcis_with_the_documented_identifiers() {
    let l = farm_story("story");
    let doc = export_ledger(&l);
    assert!(schema_errors(&doc).is_empty(), "{:#?}", schema_errors(&doc));
    let events = doc["epcisBody"]["eventList"].as_array().unwrap();
    let harvest = &events[0];
    assert_eq!(harvest["action"], "ADD");
    assert_eq!(harvest["bizStep"], "commissioning");
    assert_eq!(
        harvest["quantityList"][0],
        serde_json::json!({"epcClass": "https://id.gs1.org/01/06901234567892/10/QDH-0401", "quantity": 120500, "uom": "GRM"})
    );
    assert_eq!(
        harvest["bizLocation"]["id"],
        "https://id.gs1.org/414/6901234000016"
    );
    // Without a GTIN the lot is the Terroir URN with its source key.
    let h2 = events[1]["quantityList"][0]["epcClass"].as_str().unwrap();
    assert!(
        h2.starts_with("urn:terroir:lot:") && h2.ends_with(":QDH-0402"),
        "{h2}"
    );
    let ship = events.iter().find(|e| e["bizStep"] == "shipping").unwrap();
    assert_eq!(ship["destinationList"][0]["type"], "owning_party");
    assert_eq!(ship["sourceList"][1]["type"], "location");
    let obs = events
        .iter()
        .find(|e| e["bizStep"] == "sensor_reporting")
        .unwrap();
    assert_eq!(
        obs["sensorElementList"][0]["sensorReport"][0]["value"],
        4.125
    );
    assert_eq!(obs["sensorElementList"][0]["sensorReport"][0]["uom"], "CEL");
}

fn drafts(doc: &Value) -> Vec<(u64, Draft)> {
    import::map_document(doc)
        .unwrap()
        .into_iter()
        .map(|m| (m.time, m.draft.unwrap()))
        .collect()
}

#[test]
fn import_export_import_round_trips_the_farm_story() {
    // Ledger A: the farm's own records; export them.
    let a = farm_story("A");
    let farm = key("farm");
    let farm_only: Vec<(Hash, SignedRecord)> = all_records(&a)
        .into_iter()
        .filter(|(_, r)| r.record.author == farm.public())
        .collect();
    let items: Vec<Item<'_>> = farm_only
        .iter()
        .map(|(h, r)| Item {
            hash: *h,
            record: r,
        })
        .collect();
    let doc1 = export_with(&a, &items, T0).document;
    assert!(schema_errors(&doc1).is_empty());

    // Ledger B: the farm imports them; export again.
    let (mut b, _) = ledger("B");
    let bytes = serde_json::to_vec(&doc1).unwrap();
    let mapped = import::read(&bytes).unwrap();
    let report = apply::import(&mut b, &farm, &mapped, true, u64::MAX / 2).unwrap();
    assert_eq!(report.imported.len(), farm_only.len());
    assert!(report.skipped.is_empty());

    let doc2 = export_ledger(&b);
    let doc2_farm: Vec<Value> = doc2["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["terroir:author"] == doc1["epcisBody"]["eventList"][0]["terroir:author"])
        .cloned()
        .collect();
    let mut doc2 = doc2.clone();
    doc2["epcisBody"]["eventList"] = Value::Array(doc2_farm);
    assert!(schema_errors(&doc2).is_empty());
    // Lot codes, quantities, units, times, steps, locations and readings
    // come back the same.
    assert_eq!(drafts(&doc1), drafts(&doc2));
    // What Terroir's export writes itself (UTC offsets, read points that
    // are the business location, its source and destination lists) is
    // not kept beside the records: at most the eventID, which names a
    // record of ledger A. (Into A's own network, a record the import
    // signs byte for byte as the original keeps nothing: the bench checks
    // that, hash for hash.)
    for (_, h, _) in &report.imported {
        let r = b.record(h).unwrap().unwrap();
        if let Some(x) = &r.record.extras {
            let kept: Value = serde_json::from_str(&x.epcis).unwrap();
            let keys: Vec<&String> = kept.as_object().unwrap().keys().collect();
            assert_eq!(keys, ["eventID"], "{kept}");
        }
    }
    // And the eventIDs: ledger B's records (another network, so other
    // hashes) keep the ones they came with.
    let ids = |d: &Value| -> Vec<Value> {
        d["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["eventID"].clone())
            .collect()
    };
    assert_eq!(ids(&doc1), ids(&doc2));

    // Ledger C: import again; the records carry the same events as A's.
    let (mut c, _) = ledger("C");
    let mapped = import::map_document(&doc2).unwrap();
    apply::import(&mut c, &farm, &mapped, true, u64::MAX / 2).unwrap();
    let events = |l: &Ledger<MemoryStore>| -> Vec<(u64, Event)> {
        all_records(l)
            .into_iter()
            .filter(|(_, r)| r.record.author == farm.public())
            .map(|(_, r)| (r.record.time, r.record.event))
            .collect()
    };
    assert_eq!(events(&a), events(&c));

    // The processor in C receives the shipment from an EPCIS receiving event.
    let recv: Vec<(Hash, SignedRecord)> = all_records(&a)
        .into_iter()
        .filter(|(_, r)| matches!(r.record.event, Event::Receive { .. }))
        .collect();
    let items: Vec<Item<'_>> = recv
        .iter()
        .map(|(h, r)| Item {
            hash: *h,
            record: r,
        })
        .collect();
    let mut doc3 = export_with(&a, &items, T0).document;
    // A's shipment hash differs from C's: drop it so import matches by lot.
    doc3["epcisBody"]["eventList"][0]
        .as_object_mut()
        .unwrap()
        .remove("terroir:shipment");
    let mapped = import::map_document(&doc3).unwrap();
    let r = apply::import(&mut c, &key("processor"), &mapped, true, u64::MAX / 2).unwrap();
    assert_eq!(r.imported.len(), 1);
}

#[test]
fn a_partly_bad_batch_imports_nothing() {
    let a = farm_story("A");
    let farm = key("farm");
    let mut recs: Vec<(Hash, SignedRecord)> = all_records(&a)
        .into_iter()
        .filter(|(_, r)| r.record.author == farm.public())
        .collect();
    // Ship more than the farm will hold: the ledger refuses that record.
    if let Event::Ship { quantity, .. } = &mut recs.last_mut().unwrap().1.record.event {
        quantity.amount = 10_000_000;
    }
    let items: Vec<Item<'_>> = recs
        .iter()
        .map(|(h, r)| Item {
            hash: *h,
            record: r,
        })
        .collect();
    let doc = export_with(&a, &items, T0).document;
    let (mut b, _) = ledger("B");
    let before = b.state_digest().unwrap();
    let mapped = import::map_document(&doc).unwrap();
    let err = apply::import(&mut b, &farm, &mapped, false, u64::MAX / 2).unwrap_err();
    assert!(
        matches!(err, ImportError::Rejected { index: 4, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was imported"), "{err}");
    assert_eq!(b.state_digest().unwrap(), before);
}

#[test]
fn every_reference_example_imports_or_is_rejected_with_its_reason() {
    let dir = standards_dir().join("epcis/examples");
    let mut seen = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let doc: Value = serde_json::from_slice(&bytes).unwrap();
        assert!(
            schema_errors(&doc).is_empty(),
            "{} is schema-valid",
            path.display()
        );
        let mapped = import::read(&bytes).unwrap();
        let reasons: Vec<String> = mapped
            .iter()
            .map(|m| match &m.draft {
                Ok(d) => format!("ok:{}", d.name()),
                Err(r) => r.clone(),
            })
            .collect();
        seen.insert(
            path.file_name().unwrap().to_string_lossy().into_owned(),
            reasons,
        );
    }
    let reasons = |f: &str| {
        seen.get(f)
            .unwrap_or_else(|| panic!("{f} missing: {seen:#?}"))
    };
    // Serialised items (SGTIN epcList) name no lot.
    for r in reasons("Example_9.6.1-ObjectEvent.jsonld") {
        assert!(r.contains("serialised items (epcList)"), "{r}");
    }
    let t = reasons("Example_9.6.4-TransformationEvent.jsonld");
    assert!(
        t[0].contains("serialised items in outputEPCList and no lot"),
        "{t:?}"
    );
    for r in reasons("SensorDataExample1.jsonld") {
        assert!(r.contains("serialised items"), "{r}");
    }
    let p = reasons("PersistentDisposition-example.jsonld");
    assert!(p.iter().all(|r| r.contains("serialised items")), "{p:?}");

    // With the lot-level form of the same events, they map: an LGTIN
    // class replaces the SGTINs.
    let bytes = std::fs::read(dir.join("Example_9.6.1-ObjectEvent.jsonld")).unwrap();
    let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
    for e in doc["epcisBody"]["eventList"].as_array_mut().unwrap() {
        let o = e.as_object_mut().unwrap();
        o.remove("epcList");
        o.insert(
            "quantityList".into(),
            serde_json::json!([{"epcClass": "urn:epc:class:lgtin:0614141.107346.L17", "quantity": 12.5, "uom": "KGM"}]),
        );
    }
    assert!(schema_errors(&doc).is_empty());
    let mapped = import::map_document(&doc).unwrap();
    assert!(
        matches!(mapped[0].draft, Err(ref r) if r.contains("without a destination location")),
        "{:?}",
        mapped[0]
    );
    // The receipt maps, and keeps beside its record what the record has
    // no place for: its second business document, its read point (a dock
    // door inside its business location), its eventID and time-zone
    // offset, and the sender's own extension field with its namespace.
    let mapped = import::map_document(&doc).unwrap();
    match &mapped[1].draft {
        Ok(Draft::Receive {
            lot,
            quantity,
            location,
            reference,
            ..
        }) => {
            assert_eq!(lot.code, "L17");
            assert_eq!(quantity.amount, 12_500);
            assert_eq!(location.gln.as_deref(), Some("0012345111112"));
            assert_eq!(reference.as_ref().unwrap().kind, "PO");
        }
        other => panic!("{other:?}"),
    }
    let extras: Value = serde_json::from_str(mapped[1].extras.as_deref().unwrap()).unwrap();
    let receipt = &doc["epcisBody"]["eventList"][1];
    for field in [
        "eventID",
        "eventTimeZoneOffset",
        "readPoint",
        "bizTransactionList",
        "example:myField",
    ] {
        assert_eq!(extras[field], receipt[field], "{field}");
    }
    assert_eq!(extras["bizTransactionList"].as_array().unwrap().len(), 2);
    assert_eq!(
        extras["@context"],
        serde_json::json!({"example": "http://ns.example.com/epcis/"})
    );
    // Without the namespace in the document's @context, the same field is
    // refused, naming the prefix nobody declared.
    doc["@context"] =
        serde_json::json!(["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]);
    let mapped = import::map_document(&doc).unwrap();
    assert!(
        matches!(mapped[1].draft, Err(ref r) if r.contains("\"example:myField\", whose namespace prefix \"example\" no @context declares")),
        "{:?}",
        mapped[1]
    );
}

#[test]
fn documents_that_are_not_epcis_get_one_clear_error() {
    assert!(matches!(
        import::read(b"{not json"),
        Err(DocumentError::Json(_))
    ));
    let e = import::read(br#"{"type":"EPCISDocument"}"#).unwrap_err();
    assert!(e.to_string().contains("\"@context\" is missing"), "{e}");
    let e = import::read(br#"{"type":"EPCISMasterDataDocument"}"#).unwrap_err();
    assert!(
        e.to_string()
            .contains("takes an EPCISDocument or an EPCISQueryDocument"),
        "{e}"
    );
    let big = vec![b' '; import::MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(
        import::read(&big),
        Err(DocumentError::TooLarge { .. })
    ));
    let doc = br#"{"@context":[],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-01-01T00:00:00Z","epcisBody":{"eventList":[{"type":"ObjectEvent"}]}}"#;
    let e = import::read(doc).unwrap_err();
    assert!(
        e.to_string().contains("event 0 has no \"eventTime\""),
        "{e}"
    );
}

/// An inspection of lot `lot` of `gtin`, as a lab's EPCIS tool writes it.
fn inspection(gtin: &str, lot: &str, disposition: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-03T00:00:00Z",
        "epcisBody": { "eventList": [{
            "type": "ObjectEvent",
            "eventTime": "2025-04-03T08:00:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "disposition": disposition,
            "quantityList": [{
                "epcClass": format!("https://id.gs1.org/01/{gtin}/10/{lot}"),
                "quantity": 1,
                "uom": "KGM"
            }]
        }]}
    }))
    .unwrap()
}

#[test]
fn an_event_for_one_gtin_never_touches_the_same_lot_code_of_another() {
    // The farm's lot QDH-0401 is of GTIN 06901234567892.
    let mut l = farm_story("G");
    let lab = key("lab");
    let before = l.state_digest().unwrap();
    // A failed inspection of lot QDH-0401 of another product.
    let mapped = import::read(&inspection("04012345123456", "QDH-0401", "non_conformant")).unwrap();
    let report = apply::import(&mut l, &lab, &mapped, false, u64::MAX / 2).unwrap();
    assert!(report.imported.is_empty(), "{report:?}");
    let (index, _, reason) = &report.skipped[0];
    assert_eq!(*index, 0);
    assert!(
        reason.contains("no lot \"QDH-0401\" of GTIN 04012345123456"),
        "{reason}"
    );
    assert_eq!(l.state_digest().unwrap(), before, "nothing was signed");
    // The same inspection of the right product lands on the farm's lot.
    let mapped = import::read(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    let report = apply::import(&mut l, &lab, &mapped, true, u64::MAX / 2).unwrap();
    let (_, hash, _) = report.imported[0];
    let record = l.record(&hash).unwrap().unwrap();
    let Event::Inspect { lot, .. } = &record.record.event else {
        panic!("{:?}", record.record.event.kind());
    };
    assert_eq!(
        *lot,
        LotId {
            source: key("farm").public(),
            code: "QDH-0401".into()
        }
    );
}

#[test]
fn an_event_carrying_what_a_record_cannot_keep_is_refused_not_trimmed() {
    let base: Value =
        serde_json::from_slice(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    let with = |key: &str, value: Value| {
        let mut doc = base.clone();
        doc["epcisBody"]["eventList"][0][key] = value;
        doc
    };
    let mut on_quantity = base.clone();
    on_quantity["epcisBody"]["eventList"][0]["quantityList"][0]["example:bag"] =
        serde_json::json!(3);
    let cases = [
        (
            with("example:batchNote", serde_json::json!("hand-picked")),
            "the field \"example:batchNote\"",
        ),
        (on_quantity, "\"example:bag\" on a quantity element"),
    ];
    for (doc, words) in cases {
        let mapped = import::map_document(&doc).unwrap();
        match &mapped[0].draft {
            Err(r) => {
                assert!(r.contains(words), "{r}");
                assert!(r.contains("importing it would drop that"), "{r}");
            }
            Ok(d) => panic!("{words}: mapped to {} and would lose it", d.name()),
        }
        // A lenient import reports it skipped, with its index; nothing signed.
        let mut l = farm_story("K");
        let before = l.state_digest().unwrap();
        let report = apply::import(&mut l, &key("lab"), &mapped, false, u64::MAX / 2).unwrap();
        assert!(report.imported.is_empty());
        assert_eq!(report.skipped.len(), 1);
        assert_eq!(report.skipped[0].0, 0);
        assert_eq!(l.state_digest().unwrap(), before);
    }
    // The plain inspection imports.
    let mapped = import::map_document(&base).unwrap();
    assert!(mapped[0].draft.is_ok(), "{:?}", mapped[0]);
}

#[test]
fn a_query_answer_and_a_byte_order_mark_import_like_a_document() {
    let doc: Value =
        serde_json::from_slice(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    let events = doc["epcisBody"]["eventList"].clone();
    let query = serde_json::json!({
        "@context": doc["@context"],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-03T00:00:00Z",
        "epcisBody": { "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": { "eventList": events }
        }}
    });
    assert!(
        schema_errors(&query).is_empty(),
        "{:?}",
        schema_errors(&query)
    );
    let from_query = import::map_document(&query).unwrap();
    let from_doc = import::map_document(&doc).unwrap();
    assert_eq!(from_query, from_doc);
    assert!(from_query[0].draft.is_ok());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(serde_json::to_vec(&doc).unwrap());
    assert_eq!(import::read(&bom).unwrap(), from_doc);
}

#[test]
fn a_strict_import_names_every_event_it_cannot_take() {
    let mut l = farm_story("S");
    let before = l.state_digest().unwrap();
    let mut doc: Value =
        serde_json::from_slice(&inspection("04012345123456", "QDH-0401", "conformant")).unwrap();
    let event = doc["epcisBody"]["eventList"][0].clone();
    let mut good: Value =
        serde_json::from_slice(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    let good = good["epcisBody"]["eventList"][0].take();
    doc["epcisBody"]["eventList"] = Value::Array(vec![event.clone(), good, event]);
    let mapped = import::map_document(&doc).unwrap();
    let err = apply::import(&mut l, &key("lab"), &mapped, true, u64::MAX / 2).unwrap_err();
    let ImportError::Skipped { skipped } = &err else {
        panic!("{err}");
    };
    let indexes: Vec<usize> = skipped.iter().map(|(i, _, _)| *i).collect();
    assert_eq!(
        indexes,
        vec![0, 2],
        "both unresolvable events, not only the first"
    );
    assert!(
        err.to_string().starts_with("2 event(s) cannot be imported"),
        "{err}"
    );
    assert_eq!(l.state_digest().unwrap(), before);
}

/// Imports `doc`'s one event into a farm story ledger signed by `who`,
/// checks its record keeps extras, and exports it: (input event, exported
/// event, the record).
fn import_and_export(doc: &Value, who: &str) -> (Value, Value, SignedRecord) {
    assert!(schema_errors(doc).is_empty(), "{:?}", schema_errors(doc));
    let mut l = farm_story("X");
    let mapped = import::map_document(doc).unwrap();
    assert!(mapped[0].draft.is_ok(), "{:?}", mapped[0]);
    let report = apply::import(&mut l, &key(who), &mapped, true, u64::MAX / 2).unwrap();
    let (_, hash, _) = report.imported[0];
    let record = l.record(&hash).unwrap().unwrap();
    assert_eq!(
        record.record.version,
        ledger_core::record::RECORD_VERSION_EXTRAS
    );
    let out = export_with(
        &l,
        &[Item {
            hash,
            record: &record,
        }],
        T0,
    )
    .document;
    assert!(schema_errors(&out).is_empty(), "{:?}", schema_errors(&out));
    // The XML binding carries the same event (its XSD check is in
    // tests/xml.rs); an event's own @context becomes the document's there.
    let text = terroir_standards::xml::from_json(&out).unwrap();
    if out["epcisBody"]["eventList"][0].get("@context").is_none() {
        assert_eq!(
            terroir_standards::xml::to_json(text.as_bytes()).unwrap(),
            out
        );
    }
    let back = out["epcisBody"]["eventList"][0].clone();
    (doc["epcisBody"]["eventList"][0].clone(), back, record)
}

#[test]
fn what_a_record_keeps_beside_its_event_comes_back_field_by_field() {
    // An inspection carrying what no Terroir event models: its eventID
    // and offset, a read point inside the business location, a source
    // and destination party of foreign types, a persistent disposition,
    // two business documents, serialised items and sensor data.
    let mut doc: Value =
        serde_json::from_slice(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    let o = doc["epcisBody"]["eventList"][0].as_object_mut().unwrap();
    for (k, v) in [
        (
            "eventID",
            serde_json::json!("urn:uuid:5f0c1d2e-3a4b-4c5d-8e6f-7a8b9c0d1e2f"),
        ),
        (
            "bizLocation",
            serde_json::json!({"id": "urn:epc:id:sgln:6901234.00001.0"}),
        ),
        (
            "readPoint",
            serde_json::json!({"id": "urn:epc:id:sgln:6901234.00001.2"}),
        ),
        (
            "sourceList",
            serde_json::json!([{"type": "possessing_party", "source": "urn:epc:id:pgln:6901234.00002"}]),
        ),
        (
            "destinationList",
            serde_json::json!([{"type": "owning_party", "destination": "urn:epc:id:pgln:6901234.00003"}]),
        ),
        (
            "persistentDisposition",
            serde_json::json!({"set": ["completeness_verified"]}),
        ),
        // Serialised items beside the lot, and sensor data on an event
        // that is no sensor report, with a field no reading holds.
        (
            "epcList",
            serde_json::json!(["https://id.gs1.org/01/06901234567892/21/7"]),
        ),
        (
            "sensorElementList",
            serde_json::json!([{
                "sensorMetadata": {"time": "2025-04-03T07:55:00+08:00", "deviceID": "urn:epc:id:giai:6901234.L7"},
                "sensorReport": [{"type": "Temperature", "value": 4.5, "uom": "CEL"}]
            }]),
        ),
        (
            "bizTransactionList",
            serde_json::json!([
                {"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000004:PO-88"},
                {"type": "desadv", "bizTransaction": "urn:epcglobal:cbv:bt:6901234000004:DA-12"}
            ]),
        ),
    ] {
        o.insert(k.into(), v);
    }
    let (input, back, record) = import_and_export(&doc, "lab");
    same_fields(&input, &back, "2025-04-03T08:00:00.000+08:00");

    // Imported again elsewhere, the record keeps the same extras.
    let out = serde_json::json!({
        "@context": doc["@context"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-04T00:00:00Z",
        "epcisBody": { "eventList": [back] },
    });
    let (_, _, again) = import_and_export(&out, "lab");
    assert_eq!(again.record.extras, record.record.extras);
}

#[test]
fn lot_master_data_of_a_harvest_comes_back() {
    // ilmd belongs to events that create (ADD): the farm's harvest,
    // with its best-before date and origin.
    let farm = key("farm");
    let doc = serde_json::json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-05T00:00:00Z",
        "epcisBody": { "eventList": [{
            "type": "ObjectEvent",
            "eventID": "urn:uuid:0b1c2d3e-4f50-4a61-8b72-9c8d7e6f5a41",
            "eventTime": "2025-04-05T09:30:00+08:00",
            "eventTimeZoneOffset": "+08:00",
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active",
            "bizLocation": { "id": "urn:terroir:loc:jiukeng-garden-3" },
            "quantityList": [{
                "epcClass": terroir_standards::vocab::lot_class(&farm.public(), "QDH-0405", None),
                "quantity": 12,
                "uom": "KGM"
            }],
            "ilmd": {
                "cbvmda:bestBeforeDate": "2026-04-05",
                "cbvmda:countryOfOrigin": "CN",
                "cbvmda:harvestStartDate": "2025-04-05"
            }
        }]}
    });
    let (input, back, _) = import_and_export(&doc, "farm");
    same_fields(&input, &back, "2025-04-05T09:30:00.000+08:00");
}

#[test]
fn extension_fields_come_back_with_their_namespace_in_json_and_xml() {
    let mut doc: Value =
        serde_json::from_slice(&inspection("06901234567892", "QDH-0401", "conformant")).unwrap();
    doc["@context"] = serde_json::json!([
        "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
        {"acme": "https://acme.example.com/epcis/"}
    ]);
    let e = doc["epcisBody"]["eventList"][0].as_object_mut().unwrap();
    e.insert("acme:grade".into(), serde_json::json!("特级 special grade"));
    e.insert(
        "acme:sampler".into(),
        serde_json::json!({"acme:name": "王大姐", "acme:station": "3"}),
    );
    let (input, back, record) = import_and_export(&doc, "lab");
    same_fields(&input, &back, "2025-04-03T08:00:00.000+08:00");
    // The namespace travels with the event.
    assert_eq!(
        back["@context"],
        serde_json::json!({"acme": "https://acme.example.com/epcis/"})
    );

    // Through XML: the namespace is declared on the root, the fields are
    // elements in it, and an import of the XML keeps the same.
    let out = serde_json::json!({
        "@context": [
            terroir_standards::export::EPCIS_CONTEXT,
            {"terroir": terroir_standards::vocab::NAMESPACE}
        ],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-04T00:00:00Z",
        "epcisBody": { "eventList": [back] },
    });
    let text = terroir_standards::xml::from_json(&out).unwrap();
    assert!(
        text.contains("xmlns:acme=\"https://acme.example.com/epcis/\""),
        "{text}"
    );
    assert!(
        text.contains("<acme:grade>特级 special grade</acme:grade>"),
        "{text}"
    );
    let from_xml = terroir_standards::xml::to_json(text.as_bytes()).unwrap();
    let (_, _, again) = import_and_export(&from_xml, "lab");
    assert_eq!(again.record.extras, record.record.extras);
}
