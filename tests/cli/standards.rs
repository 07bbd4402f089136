//! Standards through the real binary: the demo's EPCIS export validates
//! against the EPCIS 2.0 JSON Schema and names every record, and its FSMA
//! spreadsheet has the documented columns and one row per CTE.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::Demo;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::store::SledStore;
use ledger_core::{EventKind, SignedRecord};
use serde_json::Value;

/// The EPCIS 2.0 schema from `../shared/standards` beside the repository.
fn schema() -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/standards/epcis/schema/EPCIS-JSON-Schema.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "the GS1 reference data is missing at {} ({e}): clone shared/ beside the repository",
            path.display()
        )
    });
    serde_json::from_slice(&bytes).unwrap()
}

fn schema_errors(doc: &Value) -> Vec<String> {
    let schema = schema();
    let validator = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{e} at {}", e.instance_path))
        .collect()
}

/// Every record of the demo ledger (read after the CLI has exited).
fn demo_records(demo: &Demo) -> Vec<SignedRecord> {
    let store = SledStore::open(&demo.env.ledger().join("store")).unwrap();
    let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
    let mut out = Vec::new();
    ledger
        .for_each_record(|_, bytes| {
            out.push(SignedRecord::decode(bytes).unwrap());
            true
        })
        .unwrap();
    out
}

#[test]
fn the_demo_trace_exports_to_schema_valid_epcis_naming_every_record() {
    let demo = Demo::new();
    let env = &demo.env;
    env.ok(&["export", "epcis", "QDH-PACK-0404", "-o", "lot.jsonld"]);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(env.path("lot.jsonld")).unwrap()).unwrap();
    let errors = schema_errors(&doc);
    assert!(errors.is_empty(), "{errors:#?}");

    let trace = env.json(&["trace", "QDH-PACK-0404"]);
    let traced: BTreeSet<String> = trace["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("urn:terroir:record:{}", e["hash"].as_str().unwrap()))
        .collect();
    let exported: BTreeSet<String> = doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(exported, traced);
    // Chinese text survives the export.
    let text = String::from_utf8(std::fs::read(env.path("lot.jsonld")).unwrap()).unwrap();
    assert!(text.contains("千岛湖"), "no Chinese text in the export");

    // The whole ledger too.
    env.ok(&["export", "epcis", "--all", "-o", "all.jsonld"]);
    let all: Value =
        serde_json::from_slice(&std::fs::read(env.path("all.jsonld")).unwrap()).unwrap();
    let errors = schema_errors(&all);
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn the_demo_fsma_spreadsheet_has_the_documented_columns_and_one_row_per_cte() {
    let demo = Demo::new();
    let env = &demo.env;
    env.ok(&["export", "fsma", "-o", "fsma.csv"]);
    let mut reader = csv::Reader::from_path(env.path("fsma.csv")).unwrap();
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    // The columns docs/fsma.md documents, in its order.
    let documented = [
        "event_time",
        "cte",
        "traceability_lot_code",
        "lot_code_source",
        "lot_code_source_key",
        "product_description",
        "gtin",
        "quantity",
        "unit",
        "location_description",
        "location_gln",
        "immediate_previous_source",
        "next_recipient",
        "ship_to_location",
        "reference_document_type",
        "reference_document_number",
        "input_lots",
        "record_hash",
    ];
    assert_eq!(header, documented);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();

    let ctes: BTreeSet<String> = demo_records(&demo)
        .iter()
        .filter(|r| {
            matches!(
                r.record.event.kind(),
                EventKind::Harvest | EventKind::Transform | EventKind::Ship | EventKind::Receive
            )
        })
        .map(|r| r.hash().to_hex())
        .collect();
    let hash_col = documented.iter().position(|c| *c == "record_hash").unwrap();
    let listed: BTreeSet<String> = rows.iter().map(|r| r[hash_col].to_owned()).collect();
    assert_eq!(rows.len(), ctes.len(), "one row per CTE");
    assert_eq!(listed, ctes);
    let text = std::fs::read_to_string(env.path("fsma.csv")).unwrap();
    assert!(
        text.contains("千岛湖"),
        "no Chinese text in the spreadsheet"
    );
}

/// The fields of an exported event that name records of one particular
/// ledger (hashes differ between ledgers that hold the same events). The
/// eventID is not one: an imported record keeps the one it came with.
const LEDGER_SPECIFIC: [&str; 2] = ["terroir:record", "terroir:shipment"];

fn comparable(doc: &Value) -> Vec<Value> {
    let mut events: Vec<Value> = doc["epcisBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            for f in LEDGER_SPECIFIC {
                e.as_object_mut().unwrap().remove(f);
            }
            e
        })
        .collect();
    events.sort_by_key(|e| (e["eventTime"].as_str().unwrap().to_owned(), e.to_string()));
    events
}

/// A new ledger with the demo's participants enrolled anew, into which each
/// participant imports the events of `doc` it signed, in an order where
/// everything an event needs is already there. Returns its export.
fn import_per_participant(demo: &Demo, doc: &Value) -> Value {
    let a = &demo.env;
    let b = common::Env::new();
    b.ok(&[
        "init",
        "--network",
        "round trip",
        "--authority-key",
        &demo.key("authority"),
    ]);
    let slugs = [
        "jiukeng-garden",
        "lin-garden",
        "cooperative",
        "lab",
        "authority",
        "carrier",
        "retailer",
    ];
    let key_hex = |slug: &str| -> String {
        let shown = a.json(&["key", "show", &demo.key(slug)]);
        shown["public"].as_str().unwrap().to_owned()
    };
    for p in a.json(&["participants"]).as_array().unwrap() {
        if p["enrolled_by"].is_null() {
            continue; // the genesis authority
        }
        let slug = slugs
            .iter()
            .find(|s| key_hex(s) == p["key"].as_str().unwrap())
            .expect("a key file for every participant");
        let mut args = vec![
            "enroll".to_owned(),
            "--key".into(),
            demo.key("authority"),
            "--participant".into(),
            demo.key(slug),
            "--name".into(),
            p["name"].as_str().unwrap().into(),
            "--role".into(),
            p["role"].as_str().unwrap().into(),
            // Before every event of the story, as the enrollments were in A.
            "--time".into(),
            "2025-01-01".into(),
        ];
        if let Some(gln) = p["location"]["gln"].as_str() {
            args.extend(["--gln".into(), gln.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        b.ok(&args);
    }
    // The cooperative owns the tin's GS1 prefix in B as it did in A.
    b.ok(&[
        "assign-prefix",
        "--key",
        &demo.key("authority"),
        "--participant",
        &demo.key("cooperative"),
        "--prefix",
        "6901234",
        "--time",
        "2025-01-01",
    ]);
    for slug in slugs {
        let party = format!("urn:terroir:party:{}", key_hex(slug));
        let mine: Vec<Value> = doc["epcisBody"]["eventList"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["terroir:author"] == party.as_str())
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut part = doc.clone();
        part["epcisBody"]["eventList"] = Value::Array(mine);
        let file = b.path(&format!("{slug}.jsonld"));
        std::fs::write(&file, serde_json::to_vec(&part).unwrap()).unwrap();
        b.ok(&[
            "import",
            "epcis",
            file.to_str().unwrap(),
            "--key",
            &demo.key(slug),
            "--strict",
        ]);
    }
    b.ok(&["export", "epcis", "--all", "-o", "out.jsonld"]);
    let out: Value = serde_json::from_slice(&std::fs::read(b.path("out.jsonld")).unwrap()).unwrap();
    assert!(schema_errors(&out).is_empty());
    out
}

/// Export → import → export → import → export: lot codes, quantities,
/// units, times, business steps, locations and sensor readings come back
/// as they were, every time.
#[test]
fn the_demo_trace_round_trips_through_export_and_import() {
    let demo = Demo::new();
    demo.env.ok(&["export", "epcis", "--all", "-o", "a.jsonld"]);
    let doc_a: Value =
        serde_json::from_slice(&std::fs::read(demo.env.path("a.jsonld")).unwrap()).unwrap();
    assert!(!comparable(&doc_a).is_empty());
    let doc_b = import_per_participant(&demo, &doc_a);
    assert_eq!(comparable(&doc_a), comparable(&doc_b));
    let doc_c = import_per_participant(&demo, &doc_b);
    assert_eq!(comparable(&doc_b), comparable(&doc_c));
}

#[test]
fn an_import_prints_a_summary_and_lists_events_only_when_asked() {
    let demo = Demo::new();
    let example = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/standards/epcis/examples/Example_9.6.1-ObjectEvent.jsonld");
    let doc: Value = serde_json::from_slice(&std::fs::read(&example).unwrap()).unwrap();
    // Three events of serialised items: skipped for one reason.
    let mut three = doc.clone();
    let first = doc["epcisBody"]["eventList"][0].clone();
    three["epcisBody"]["eventList"] = Value::Array(vec![first.clone(), first.clone(), first]);
    let file = demo.env.path("three.jsonld");
    std::fs::write(&file, serde_json::to_vec(&three).unwrap()).unwrap();
    let path = file.to_str().unwrap();
    let out = demo
        .env
        .ok(&["import", "epcis", path, "--key", &demo.key("cooperative")]);
    assert!(out.contains("imported 0 event(s)"), "{out}");
    assert!(out.contains("skipped 3 event(s)"), "{out}");
    assert_eq!(
        out.matches("names serialised items").count(),
        1,
        "grouped: {out}"
    );
    assert!(out.contains("3 events, the first event 0"), "{out}");
    assert!(out.contains("--verbose lists every event"), "{out}");
    let verbose = demo.env.ok(&[
        "import",
        "epcis",
        path,
        "--key",
        &demo.key("cooperative"),
        "--verbose",
    ]);
    assert_eq!(
        verbose.matches("names serialised items").count(),
        3,
        "{verbose}"
    );
    for i in 0..3 {
        assert!(verbose.contains(&format!("event {i}")), "{verbose}");
    }
}

#[test]
fn epcis_exports_and_imports_as_xml_too() {
    let demo = Demo::new();
    let out = demo.env.path("pack.xml");
    demo.env.ok(&[
        "export",
        "epcis",
        "QDH-PACK-0404",
        "-o",
        out.to_str().unwrap(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("<?xml"),
        "{}",
        &text[..text.len().min(200)]
    );
    assert!(text.contains("epcis:EPCISDocument"), "XML binding");
    assert!(text.contains("千岛湖"), "Chinese text kept");
    let json = demo.env.path("pack.jsonld");
    demo.env.ok(&[
        "export",
        "epcis",
        "QDH-PACK-0404",
        "-o",
        json.to_str().unwrap(),
    ]);
    // Both read back to the same events.
    let a = terroir_standards::import::read(text.as_bytes()).unwrap();
    let b = terroir_standards::import::read(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

#[test]
fn packing_linking_and_a_declared_error_show_in_the_trace_and_the_epcis_export() {
    let demo = Demo::new();
    let env = &demo.env;
    let coop = demo.key("cooperative");
    let shop = demo.key("retailer");
    // The cooperative packs two lots onto a pallet (an SSCC), the shop
    // links its order; packing moves nothing.
    let held = env.ok(&["holdings", &coop]);
    let packed = env.json(&[
        "record",
        "pack",
        "--key",
        &coop,
        "--into",
        "106141412345678908",
        "--lot",
        "QDH-PACK-0404=20kg",
        "--lot",
        "QDH-PACK-0415=5kg",
    ]);
    let pack_hash = packed["record"].as_str().unwrap().to_owned();
    assert_eq!(env.ok(&["holdings", &coop]), held);
    env.ok(&[
        "record",
        "link",
        "--key",
        &shop,
        "--doc",
        "po:PO-2025-118",
        "--lot",
        "QDH-PACK-0404=10kg",
    ]);
    // What the ledger would refuse is refused in one line, nothing signed.
    env.malformed(
        &[
            "record",
            "pack",
            "--key",
            &coop,
            "--into",
            "106141412345678907",
            "--lot",
            "QDH-PACK-0404=1kg",
        ],
        "check digit 7, expected 8",
    );
    env.refused(
        &[
            "record",
            "pack",
            "--key",
            &coop,
            "--into",
            "pallet 9",
            "--lot",
            "QDH-PACK-0404=30kg",
        ],
        "you hold only 27.5 kg",
    );
    env.refused(
        &[
            "record",
            "correct",
            "--key",
            &shop,
            "--record",
            &pack_hash[..12],
            "--reason",
            "incorrect-data",
        ],
        "only its signer may declare it erroneous",
    );
    // The cooperative declares its packing erroneous.
    env.ok(&[
        "record",
        "correct",
        "--key",
        &coop,
        "--record",
        &pack_hash[..12],
        "--reason",
        "incorrect-data",
    ]);
    let trace = env.ok(&["trace", "QDH-PACK-0415"]);
    assert!(
        trace.contains("packed into SSCC 106141412345678908"),
        "{trace}"
    );
    assert!(
        trace.contains("⚠ declared erroneous by its signer: its data were incorrect"),
        "{trace}"
    );
    let trace = env.ok(&["trace", "QDH-PACK-0404"]);
    assert!(trace.contains("linked po PO-2025-118"), "{trace}");

    // The export carries the aggregation, the transaction and the
    // declaration, valid EPCIS 2.0.
    let out = env.path("pack.jsonld");
    env.ok(&[
        "export",
        "epcis",
        "QDH-PACK-0404",
        "--out",
        out.to_str().unwrap(),
    ]);
    let doc: Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert!(schema_errors(&doc).is_empty(), "{:?}", schema_errors(&doc));
    let events = doc["epcisBody"]["eventList"].as_array().unwrap();
    let packing: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "AggregationEvent")
        .collect();
    assert_eq!(packing.len(), 2, "the packing and its declaration");
    assert_eq!(
        packing[0]["parentID"],
        "https://id.gs1.org/00/106141412345678908"
    );
    assert_eq!(packing[1]["errorDeclaration"]["reason"], "incorrect_data");
    assert!(events.iter().any(|e| e["type"] == "TransactionEvent"
        && e["bizTransactionList"][0]["bizTransaction"] == "urn:terroir:doc:po:PO-2025-118"));
}
