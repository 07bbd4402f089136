//! The EPCIS 2.0 XML binding: exports validate against GS1's XSD, and XML
//! maps exactly as the JSON binding does (the farm story, the reference
//! examples written in XML, the 1.x extension wrappers), and bad XML gets
//! one clear error.
//!
//! XSD validation runs `xmllint` (Debian: `apt-get install libxml2-utils`);
//! without it those checks print "skipped" and pass.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use ledger_core::store::MemoryStore;
use ledger_core::Ledger;
use serde_json::{json, Value};
use terroir_standards::export;
use terroir_standards::import::{self, Mapped, MAX_DOCUMENT_BYTES};
use terroir_standards::xml::{self, XmlError};

fn xsd() -> PathBuf {
    standards_dir().join("epcis/xsd/EPCglobal-epcis-2_0.xsd")
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

/// `xmllint` on PATH, if installed.
fn xmllint() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("xmllint"))
        .find(|p| p.is_file())
}

/// Validates a file against the EPCIS 2.0 XSD: `Some(errors)` (empty when
/// valid), `None` when xmllint is missing (the check is skipped).
fn xsd_errors(file: &Path) -> Option<String> {
    let Some(lint) = xmllint() else {
        eprintln!("skipped: xmllint not installed (apt-get install libxml2-utils)");
        return None;
    };
    let out = Command::new(lint)
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(xsd())
        .arg(file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() {
        Some(String::new())
    } else {
        Some(if stderr.is_empty() {
            format!("xmllint failed: {}", out.status)
        } else {
            stderr
        })
    }
}

fn assert_valid(file: &Path) {
    if let Some(errors) = xsd_errors(file) {
        assert!(
            errors.is_empty(),
            "{} does not validate against the EPCIS 2.0 XSD:\n{errors}",
            file.display()
        );
    }
}

/// Each event's id, time and draft or reason.
fn results(mapped: &[Mapped]) -> Vec<(Option<String>, u64, Result<String, String>)> {
    mapped
        .iter()
        .map(|m| {
            (
                m.event_id.clone(),
                m.time,
                m.draft
                    .as_ref()
                    .map(|d| format!("{d:?}"))
                    .map_err(Clone::clone),
            )
        })
        .collect()
}

#[test]
fn the_farm_story_exports_to_xml_that_validates_against_the_xsd() {
    let doc = export_ledger(&farm_story("xml"));
    let text = xml::from_json(&doc).unwrap();
    assert!(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<epcis:EPCISDocument"));
    assert!(text.contains(&format!(
        "xmlns:terroir=\"{}\"",
        terroir_standards::vocab::NAMESPACE
    )));
    assert!(text.contains("<bizStep>urn:epcglobal:cbv:bizstep:commissioning</bizStep>"));
    assert!(
        text.contains("type=\"gs1:Temperature\" value=\"4.125\" uom=\"CEL\""),
        "{text}"
    );
    assert!(xml::is_xml(text.as_bytes()));
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terroir-farm-story.xml");
    std::fs::write(&file, &text).unwrap();
    assert_valid(&file);
}

#[test]
fn xml_maps_the_farm_story_exactly_as_json_does() {
    let doc = export_ledger(&farm_story("xml-map"));
    let text = xml::from_json(&doc).unwrap();
    let back = xml::to_json(text.as_bytes()).unwrap();
    // The whole JSON comes back, terroir:* extensions and numbers included.
    assert_eq!(back, doc);
    let from_json = import::map_document(&doc).unwrap();
    let from_xml = import::map_document(&back).unwrap();
    assert!(from_json.iter().all(|m| m.draft.is_ok()), "{from_json:#?}");
    assert_eq!(from_xml, from_json);
    // And the XML writer is stable: writing the round-tripped JSON again
    // gives the same bytes.
    assert_eq!(xml::from_json(&back).unwrap(), text);
}

#[test]
fn the_reference_examples_in_xml_validate_and_map_like_their_json() {
    let dir = standards_dir().join("epcis/examples");
    for name in [
        "Example_9.6.1-ObjectEvent",
        "Example_9.6.4-TransformationEvent",
        "PersistentDisposition-example",
        "SensorDataExample1",
    ] {
        let file = data(&format!("{name}.xml"));
        assert_valid(&file);
        let json: Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{name}.jsonld"))).unwrap())
                .unwrap();
        let doc = xml::to_json(&std::fs::read(&file).unwrap()).unwrap();
        let want = results(&import::map_document(&json).unwrap());
        let got = results(&import::map_document(&doc).unwrap());
        assert_eq!(got, want, "{name}");
        // `import::read` takes the XML file as it is.
        let read = results(&import::read(&std::fs::read(&file).unwrap()).unwrap());
        assert_eq!(read, want, "{name}");
        // Event by event, the XML gives the JSON's own fields and values.
        let events = |d: &Value| d["epcisBody"]["eventList"].as_array().unwrap().clone();
        assert_eq!(events(&doc), events(&json), "{name}");
        assert_eq!(doc["@context"], json["@context"], "{name}");
        // And the JSON written as XML validates and reads back whole.
        let written = xml::from_json(&json).unwrap();
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("terroir-{name}.xml"));
        std::fs::write(&out, &written).unwrap();
        assert_valid(&out);
        assert_eq!(xml::to_json(written.as_bytes()).unwrap(), json, "{name}");
    }
}

#[test]
fn lot_level_xml_maps_to_drafts_and_keeps_an_extension_with_its_namespace() {
    let ship = r#"<?xml version="1.0"?>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" xmlns:t="https://terroir.example/epcis/"
    xmlns:acme="http://acme.example/ns" schemaVersion="2.0" creationDate="2025-04-01T00:00:00Z">
  <EPCISBody><EventList>
    <ObjectEvent>
      <eventTime>2025-04-02T08:00:00Z</eventTime>
      <eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
      <action>OBSERVE</action>
      <bizStep>urn:epcglobal:cbv:bizstep:shipping</bizStep>
      <bizLocation><id>https://id.gs1.org/414/6901234000016</id></bizLocation>
      <quantityList><quantityElement>
        <epcClass>https://id.gs1.org/01/06901234567892/10/QDH-0401</epcClass>
        <quantity>12.5</quantity><uom>KGM</uom>
      </quantityElement></quantityList>
      <destinationList>
        <destination type="urn:epcglobal:cbv:sdt:location">https://id.gs1.org/414/6901234000030</destination>
      </destinationList>
      <t:destination>Processor &amp; Co.</t:destination>
    </ObjectEvent>
    <ObjectEvent>
      <eventTime>2025-04-02T09:00:00Z</eventTime>
      <eventTimeZoneOffset>+08:00</eventTimeZoneOffset>
      <action>OBSERVE</action>
      <bizStep>urn:epcglobal:cbv:bizstep:retail_selling</bizStep>
      <bizLocation><id>https://id.gs1.org/414/6901234000061</id></bizLocation>
      <quantityList><quantityElement>
        <epcClass>https://id.gs1.org/01/06901234567892/10/QDH-0401</epcClass>
        <quantity>2</quantity><uom>KGM</uom>
      </quantityElement></quantityList>
      <acme:grade>A</acme:grade>
    </ObjectEvent>
  </EventList></EPCISBody>
</epcis:EPCISDocument>"#;
    let doc = xml::to_json(ship.as_bytes()).unwrap();
    assert_eq!(
        doc["@context"],
        json!([export::EPCIS_CONTEXT, {"acme": "http://acme.example/ns", "terroir": "https://terroir.example/epcis/"}])
    );
    let e0 = &doc["epcisBody"]["eventList"][0];
    assert_eq!(e0["bizStep"], "shipping");
    assert_eq!(e0["quantityList"][0]["quantity"], 12.5);
    assert_eq!(e0["destinationList"][0]["type"], "location");
    // Any prefix bound to Terroir's namespace reads as terroir:.
    assert_eq!(e0["terroir:destination"], "Processor & Co.");
    let mapped = import::map_document(&doc).unwrap();
    match &mapped[0].draft {
        Ok(import::Draft::Ship {
            quantity,
            destination,
            ..
        }) => {
            assert_eq!(quantity.amount, 12_500);
            assert_eq!(destination.description, "Processor & Co.");
        }
        other => panic!("{other:?}"),
    }
    // The sale maps, and keeps the extension with the namespace the
    // document declared for it.
    assert!(mapped[1].draft.is_ok(), "{:?}", mapped[1]);
    let kept: serde_json::Value =
        serde_json::from_str(mapped[1].extras.as_deref().unwrap()).unwrap();
    assert_eq!(kept["acme:grade"], "A");
    assert_eq!(kept["@context"], json!({"acme": "http://acme.example/ns"}));
}

#[test]
fn epcis_1x_extension_wrappers_read_like_the_flat_2_0_form() {
    let doc = export_ledger(&farm_story("xml-1x"));
    let text = xml::from_json(&doc).unwrap();
    // 1.x: TransformationEvent sat in the event list's <extension>, and an
    // ObjectEvent's quantityList in the event's <extension>.
    let wrapped = text
        .replace("<TransformationEvent>", "<extension><TransformationEvent>")
        .replace(
            "</TransformationEvent>",
            "</TransformationEvent></extension>",
        )
        .replace("<quantityList>", "<extension><quantityList>")
        .replace("</quantityList>", "</quantityList></extension>");
    assert_ne!(wrapped, text);
    let back = xml::to_json(wrapped.as_bytes()).unwrap();
    assert_eq!(
        import::map_document(&back).unwrap(),
        import::map_document(&doc).unwrap()
    );
}

#[test]
fn malformed_xml_gets_one_line_naming_where() {
    let bad = b"<?xml version=\"1.0\"?>\n<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\">\n  <EPCISBody>\n  </EventList>\n</epcis:EPCISDocument>";
    let err = xml::to_json(bad).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(err, XmlError::Malformed { line: 4, .. }),
        "{err:?}"
    );
    assert!(
        msg.starts_with("the XML is malformed at line 4, column "),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "{msg}");

    let unclosed = b"<epcis:EPCISDocument xmlns:epcis=\"urn:epcglobal:epcis:xsd:2\"><EPCISBody>";
    let err = xml::to_json(unclosed).unwrap_err();
    assert!(matches!(err, XmlError::Malformed { .. }), "{err:?}");
    assert!(err.to_string().contains("not closed"), "{err}");

    let undeclared = b"<x:EPCISDocument/>";
    assert!(matches!(
        xml::to_json(undeclared),
        Err(XmlError::Malformed { .. })
    ));

    let not_epcis = b"<html><body/></html>";
    let err = xml::to_json(not_epcis).unwrap_err();
    assert!(matches!(err, XmlError::Schema(_)), "{err:?}");
    assert!(err.to_string().contains("epcis:EPCISDocument"), "{err}");

    let latin1 = b"<a>caf\xE9</a>";
    assert!(matches!(
        xml::to_json(latin1),
        Err(XmlError::Malformed { line: 1, .. })
    ));
}

#[test]
fn a_dtd_or_an_entity_is_refused_and_a_byte_order_mark_is_fine() {
    let xxe = br#"<?xml version="1.0"?>
<!DOCTYPE epcis:EPCISDocument [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2025-04-01T00:00:00Z">
  <EPCISBody><EventList/></EPCISBody>
</epcis:EPCISDocument>"#;
    let err = xml::to_json(xxe).unwrap_err();
    assert!(
        matches!(err, XmlError::Dtd { line: 2, column: 1 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("DTD"), "{err}");

    // An entity reference without a DTD is undefined, never expanded.
    let undefined = br#"<epcis:EPCISDocument xmlns:epcis="urn:epcglobal:epcis:xsd:2" schemaVersion="2.0" creationDate="2025-04-01T00:00:00Z"><EPCISBody><EventList/></EPCISBody><x>&xxe;</x></epcis:EPCISDocument>"#;
    let err = xml::to_json(undefined).unwrap_err();
    assert!(err.to_string().contains("&xxe;"), "{err}");

    let doc = export_ledger(&farm_story("xml-bom"));
    let text = xml::from_json(&doc).unwrap();
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(text.as_bytes());
    assert!(xml::is_xml(&bom));
    assert!(xml::is_xml(b"  \n<a/>"));
    assert!(!xml::is_xml(b"{\"type\":\"EPCISDocument\"}"));
    assert!(!xml::is_xml(b"\xEF\xBB\xBF {}"));
    assert_eq!(xml::to_json(&bom).unwrap(), doc);

    let big = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(matches!(xml::to_json(&big), Err(XmlError::TooLarge { .. })));
}

#[test]
fn text_survives_the_round_trip_and_what_xml_cannot_carry_is_an_error() {
    let doc = export_ledger(&farm_story("xml-text"));
    let mut doc2 = doc.clone();
    let notes = "  line one\r\nline <two> & \"three\"\t\u{00e9}\u{6dd8}  ";
    doc2["epcisBody"]["eventList"][0]["terroir:location"] = notes.into();
    let back = xml::to_json(xml::from_json(&doc2).unwrap().as_bytes()).unwrap();
    assert_eq!(back, doc2);
    match &import::map_document(&back).unwrap()[0].draft {
        Ok(import::Draft::Harvest { location, .. }) => assert_eq!(location.description, notes),
        other => panic!("{other:?}"),
    }

    let mut bad = doc.clone();
    bad["epcisBody"]["eventList"][0]["terroir:notes"] = "bell \u{7}".into();
    assert!(matches!(
        xml::from_json(&bad),
        Err(XmlError::Unwritable(m)) if m.contains("U+0007")
    ));
    let mut bad = doc;
    bad["epcisBody"]["eventList"][0]["colour"] = "red".into();
    let err = xml::from_json(&bad).unwrap_err();
    assert!(err.to_string().contains("event 0"), "{err}");
    assert!(err.to_string().contains("colour"), "{err}");
}

#[test]
fn a_generated_supply_chain_round_trips_through_valid_xml() {
    use ledger_core::workload::{self, Shape};
    use ledger_core::LedgerConfig;
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
    let text = xml::from_json(&doc).unwrap();
    let kinds: std::collections::BTreeSet<&str> = [
        "<TransformationEvent>",
        "<certificationInfo>",
        "recalled",
        "<sensorElementList>",
        "retail_selling",
        "inspecting",
    ]
    .into_iter()
    .filter(|k| text.contains(k))
    .collect();
    eprintln!("generated workload covers {kinds:?}");
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terroir-workload.xml");
    std::fs::write(&file, &text).unwrap();
    assert_valid(&file);
    let back = xml::to_json(text.as_bytes()).unwrap();
    assert_eq!(back, doc);
    assert_eq!(
        import::map_document(&back).unwrap(),
        import::map_document(&doc).unwrap()
    );
}

#[test]
fn every_event_type_and_optional_field_writes_valid_xml_and_reads_back() {
    let lot = "https://id.gs1.org/01/06901234567892/10/QDH-0401";
    let site = "https://id.gs1.org/414/6901234000016";
    let common = |kind: &str, minute: u32| {
        json!({
            "type": kind,
            "eventTime": format!("2025-04-02T08:{minute:02}:00.000Z"),
            "recordTime": "2025-04-02T09:00:00.000Z",
            "eventTimeZoneOffset": "+08:00",
            "eventID": format!("urn:uuid:00000000-0000-4000-8000-0000000000{minute:02}"),
        })
    };
    let with = |mut base: Value, extra: Value| {
        base.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        base
    };
    let events = vec![
        // Terroir's certification, recall and inspection forms.
        with(
            common("ObjectEvent", 1),
            json!({
                "action": "OBSERVE", "quantityList": [{"epcClass": lot}],
                "certificationInfo": "urn:terroir:doc:certificate:organic%20EU",
                "bizTransactionList": [{"type": "cert", "bizTransaction": "urn:terroir:doc:certificate:organic%20EU"}],
                "terroir:claim": "organic EU", "terroir:validUntil": "2026-04-01T00:00:00.000Z",
            }),
        ),
        with(
            common("ObjectEvent", 2),
            json!({
                "action": "OBSERVE", "disposition": "recalled", "quantityList": [{"epcClass": lot}],
                "terroir:reason": "listeria found",
            }),
        ),
        with(
            common("ObjectEvent", 3),
            json!({
                "action": "OBSERVE", "bizStep": "inspecting", "disposition": "non_conformant",
                "quantityList": [{"epcClass": lot}], "terroir:test": "pesticide residue",
                "terroir:notes": "", "bizTransactionList": [{"type": "testres", "bizTransaction": "urn:terroir:doc:lab%20report:R-9"}],
            }),
        ),
        // An error declaration (mapped), then the rest of EPCIS, each
        // refused by reason: without a location, or with serialised items
        // only.
        with(
            common("ObjectEvent", 4),
            json!({
                "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "ADD",
                "bizStep": "commissioning", "disposition": "active",
                "readPoint": {"id": site}, "bizLocation": {"id": site},
                "errorDeclaration": {"declarationTime": "2025-04-03T00:00:00Z", "reason": "incorrect_data",
                    "correctiveEventIDs": ["urn:uuid:00000000-0000-4000-8000-000000000099"]},
                "persistentDisposition": {"set": ["completeness_inferred"], "unset": ["completeness_verified"]},
                "ilmd": {"terroir:origin": "Chun'an"},
                "sensorElementList": [{"sensorMetadata": {"time": "2025-04-02T08:00:00Z", "deviceID": "urn:epc:id:giai:4000001.111"},
                    "sensorReport": [{"type": "Temperature", "value": -1.5, "uom": "CEL", "minValue": -2, "maxValue": 0.25,
                        "exception": "ALARM_CONDITION", "booleanValue": true}]}],
            }),
        ),
        with(
            common("AggregationEvent", 5),
            json!({
                "parentID": "urn:epc:id:sscc:0614141.1234567890",
                "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"], "action": "ADD", "bizStep": "packing",
                "childQuantityList": [{"epcClass": lot, "quantity": 2.5, "uom": "KGM"}],
                "sourceList": [{"type": "owning_party", "source": "urn:epc:id:pgln:9520001.11111"}],
            }),
        ),
        with(
            common("TransactionEvent", 6),
            json!({
                "bizTransactionList": [{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:9529999999991:XYZ567"}],
                "epcList": [], "action": "ADD", "quantityList": [{"epcClass": lot, "quantity": 3}],
                "destinationList": [{"type": "location", "destination": site}],
            }),
        ),
        with(
            common("AssociationEvent", 7),
            json!({
                "parentID": "urn:epc:id:grai:4012345.55555.987", "childEPCs": ["urn:epc:id:giai:4000001.12345"],
                "action": "ADD", "bizStep": "assembling", "readPoint": {"id": site},
            }),
        ),
        with(
            common("TransformationEvent", 8),
            json!({
                "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
                "outputQuantityList": [{"epcClass": lot, "quantity": 10, "uom": "KGM"}],
                "transformationID": "urn:uuid:00000000-0000-4000-8000-00000000aaaa",
                "bizStep": "urn:terroir:bizstep:roast", "ilmd": {"terroir:harvested": "2025-03-30"},
            }),
        ),
    ];
    let doc = json!({
        "@context": [export::EPCIS_CONTEXT, {"terroir": terroir_standards::vocab::NAMESPACE}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2025-04-02T10:00:00.000Z",
        "epcisBody": {"eventList": events},
    });
    let text = xml::from_json(&doc).unwrap();
    let file = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("terroir-all-events.xml");
    std::fs::write(&file, &text).unwrap();
    assert_valid(&file);
    let back = xml::to_json(text.as_bytes()).unwrap();
    assert_eq!(back, doc);
    let mapped = import::map_document(&back).unwrap();
    assert_eq!(mapped, import::map_document(&doc).unwrap());
    let names: Vec<&str> = mapped[..4]
        .iter()
        .map(|m| m.draft.as_ref().unwrap().name())
        .collect();
    assert_eq!(names, ["certify", "recall", "inspect", "correct"]);
    assert!(mapped[4..].iter().all(|m| m.draft.is_err()), "{mapped:#?}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]
    /// Arbitrary bytes, and a valid document cut or with a byte changed,
    /// give a document or an error, never a panic.
    #[test]
    fn the_reader_never_panics(
        junk in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
        cut in 0usize..4096,
        at in 0usize..4096,
        byte in proptest::prelude::any::<u8>(),
    ) {
        let _ = xml::to_json(&junk);
        let valid = std::fs::read(data("Example_9.6.1-ObjectEvent.xml")).unwrap();
        let _ = xml::to_json(&valid[..cut.min(valid.len())]);
        let mut changed = valid.clone();
        let i = at % changed.len();
        changed[i] = byte;
        if let Ok(doc) = xml::to_json(&changed) {
            let _ = import::map_document(&doc);
        }
    }
}
