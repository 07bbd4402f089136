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
