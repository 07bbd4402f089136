//! Import at scale (issue 15): the streaming reader maps a large document
//! exactly as `map_document` maps its `Value`, and the limits refuse what
//! is over them, in words.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::workload::{self, Shape};
use ledger_core::{Hash, SignedRecord};
use serde_json::{json, Value};
use terroir_standards::export::{self, Item};
use terroir_standards::import::{
    self, DocumentError, MAX_DOCUMENT_BYTES, MAX_EVENTS, MAX_XML_BYTES,
};

const EVENTS: usize = 20_000;

/// A generated supply chain's first 20,000 events as one EPCISDocument,
/// with a few that cannot be imported (an unknown event type, an
/// unreadable time).
fn document() -> Value {
    let w = workload::generate(Shape::for_records(EVENTS + 600));
    let hashes: Vec<Hash> = w.records.iter().map(SignedRecord::hash).collect();
    let items: Vec<Item<'_>> = w
        .records
        .iter()
        .zip(&hashes)
        .map(|(record, hash)| Item {
            hash: *hash,
            record,
        })
        .collect();
    let by_hash: std::collections::BTreeMap<Hash, &SignedRecord> =
        hashes.iter().copied().zip(&w.records).collect();
    let record = |h: &Hash| by_hash.get(h).map(|r| (*r).clone());
    let lookup = export::Lookup {
        product: &|_| None,
        record: &record,
    };
    let mut doc = export::export(&items, workload::T0, &lookup).document;
    let list = doc["epcisBody"]["eventList"].as_array_mut().unwrap();
    assert!(list.len() >= EVENTS, "{} events", list.len());
    list.truncate(EVENTS);
    for (i, e) in list.iter_mut().enumerate().step_by(997) {
        if i % 2 == 0 {
            e["type"] = json!("SensorEvent");
        } else {
            e["eventTime"] = json!("yesterday");
        }
    }
    doc
}

#[test]
fn the_streaming_reader_maps_20k_events_exactly_as_map_document() {
    let doc = document();
    // serde_json writes members sorted: "type" comes after "epcisBody",
    // so the reader must decide the list after reading it.
    let bytes = serde_json::to_vec(&doc).unwrap();
    let streamed = import::read(&bytes).unwrap();
    let parsed: Value = serde_json::from_slice(&bytes).unwrap();
    let by_value = import::map_document(&parsed).unwrap();
    assert_eq!(streamed.len(), EVENTS);
    assert!(streamed.iter().filter(|m| m.draft.is_err()).count() >= 20);
    assert!(streamed.iter().filter(|m| m.draft.is_ok()).count() > EVENTS / 2);
    assert_eq!(streamed, by_value);

    // A query's answer, with its events one level down, and progress
    // reported as the events are read.
    let query = json!({
        "type": "EPCISQueryDocument",
        "@context": doc["@context"],
        "schemaVersion": "2.0",
        "creationDate": doc["creationDate"],
        "epcisBody": { "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": { "eventList": doc["epcisBody"]["eventList"] },
        } },
    });
    let bytes = serde_json::to_vec(&query).unwrap();
    let mut seen = Vec::new();
    let streamed = import::read_with_progress(&bytes, &mut |n| seen.push(n)).unwrap();
    assert_eq!(streamed, by_value);
    assert_eq!(seen.len(), EVENTS / import::PROGRESS_EVERY);
    assert_eq!(seen.last(), Some(&EVENTS));
}

#[test]
fn the_streaming_reader_refuses_as_map_document_does() {
    let ok = r#""@context":[],"schemaVersion":"2.0","creationDate":"2025-01-01T00:00:00Z""#;
    let ev = r#"{"type":"ObjectEvent","eventTime":"2025-01-01T00:00:00Z","eventTimeZoneOffset":"+00:00"}"#;
    let cases = [
        "[]".to_owned(),
        "12".to_owned(),
        "null".to_owned(),
        r#"{"type":"EPCISDocument"}"#.to_owned(),
        r#"{"type":7}"#.to_owned(),
        format!(r#"{{"epcisBody":{{"eventList":[]}},{ok}}}"#),
        format!(r#"{{"epcisBody":{{"eventList":[]}},{ok},"type":"EPCISMasterDataDocument"}}"#),
        r#"{"type":"EPCISDocument","schemaVersion":"2.0","epcisBody":{}}"#.to_owned(),
        format!(r#"{{"type":"EPCISDocument",{ok},"epcisBody":"none"}}"#),
        format!(r#"{{"type":"EPCISDocument",{ok},"epcisBody":{{"eventList":{{}}}}}}"#),
        format!(r#"{{"type":"EPCISQueryDocument",{ok},"epcisBody":{{"eventList":[{ev}]}}}}"#),
        format!(
            r#"{{"type":"EPCISQueryDocument",{ok},"epcisBody":{{"queryResults":{{"resultsBody":{{"eventList":[{ev},[]]}}}}}}}}"#
        ),
        format!(
            r#"{{"type":"EPCISDocument",{ok},"epcisBody":{{"eventList":[{ev},{{"type":"ObjectEvent"}},3]}}}}"#
        ),
        // A repeated member replaces the earlier one, as in a Value.
        format!(
            r#"{{"type":"EPCISDocument",{ok},"epcisBody":{{"eventList":[3]}},"epcisBody":{{"eventList":[{ev}]}}}}"#
        ),
        format!(
            r#"{{"type":"EPCISDocument",{ok},"epcisBody":{{"eventList":[{ev}],"eventList":7}}}}"#
        ),
    ];
    for case in &cases {
        let by_value = import::map_document(&serde_json::from_str(case).unwrap());
        let streamed = import::read(case.as_bytes());
        match (&streamed, &by_value) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{case}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{case}"),
            _ => panic!("{case}: streamed {streamed:?}, by value {by_value:?}"),
        }
    }
    // Not JSON, or something after the document: not JSON either way.
    for bad in ["{\"type\":", "{} {}", "{\"a\":1,}"] {
        assert!(
            matches!(import::read(bad.as_bytes()), Err(DocumentError::Json(_))),
            "{bad}"
        );
    }
}

#[test]
fn documents_over_the_limits_are_refused_in_words() {
    // One event more than an import takes: counted, not mapped.
    let ev = r#"{"type":"ObjectEvent"},"#;
    let mut doc = String::from(
        r#"{"type":"EPCISDocument","@context":[],"schemaVersion":"2.0","creationDate":"2025-01-01T00:00:00Z","epcisBody":{"eventList":["#,
    );
    doc.push_str(&ev.repeat(MAX_EVENTS + 1));
    doc.pop();
    doc.push_str("]}}");
    let e = import::read(doc.as_bytes()).unwrap_err();
    assert!(
        matches!(e, DocumentError::TooManyEvents { len } if len == MAX_EVENTS + 1),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        format!(
            "the document has {} events; one import takes at most {MAX_EVENTS}",
            MAX_EVENTS + 1
        )
    );

    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    let e = import::read(&big).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the document is {} bytes; the limit is {MAX_DOCUMENT_BYTES}",
            MAX_DOCUMENT_BYTES + 1
        )
    );
    drop(big);

    // XML is read into one Value first and keeps the smaller limit.
    let mut xml = b"<epcis:EPCISDocument>".to_vec();
    xml.resize(MAX_XML_BYTES + 1, b' ');
    let e = import::read(&xml).unwrap_err();
    assert!(matches!(e, DocumentError::XmlTooLarge { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("the limit for XML is {MAX_XML_BYTES}")),
        "{e}"
    );
}
