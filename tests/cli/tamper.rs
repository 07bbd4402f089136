//! Tampering underneath the store: `terroir audit` names exactly the
//! altered records, exits non-zero, and nothing crashes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Demo;
use ledger_core::store::{SledStore, Store};
use ledger_core::{Hash, SignedRecord};

/// Flips one byte inside the stored body of each record in `victims`:
/// in the ledger's log (keys `L` and the big-endian log seq), written
/// to sled directly, behind the ledger's back.
fn tamper(ledger_dir: &std::path::Path, victims: &[Hash]) {
    let store = SledStore::open(&ledger_dir.join("store")).unwrap();
    let mut found = 0;
    for (key, mut bytes) in store.scan_prefix(b"L").unwrap() {
        let hash = SignedRecord::decode(&bytes).unwrap().hash();
        if victims.contains(&hash) {
            let n = bytes.len();
            bytes[n - 80] ^= 0x10;
            store.put(&key, &bytes).unwrap();
            found += 1;
        }
    }
    assert_eq!(found, victims.len(), "every victim is in the log");
    store.flush().unwrap();
}

#[test]
fn audit_reports_exactly_the_altered_records() {
    let demo = Demo::new();
    let env = &demo.env;
    let before = env.json(&["audit"]);
    assert_eq!(before["passed"], true);

    let trace = env.json(&["trace", "QDH-PACK-0404"]);
    let events = trace["events"].as_array().unwrap();
    let pick = |kind: &str| {
        let e = events
            .iter()
            .find(|e| e["event"]["type"] == kind)
            .unwrap_or_else(|| panic!("no {kind} in the trace"));
        Hash::from_hex(e["hash"].as_str().unwrap()).unwrap()
    };
    let mut victims = vec![pick("sell"), pick("certify")];
    victims.sort();
    tamper(&env.ledger(), &victims);

    let out = env
        .cmd()
        .args(["--json", "audit"])
        .output()
        .expect("run audit");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.starts_with("error: audit failed"), "{stderr}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["passed"], false);
    let mut named: Vec<Hash> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Hash::from_hex(p["record"].as_str().unwrap()).unwrap())
        .collect();
    named.sort();
    named.dedup();
    assert_eq!(named, victims);
}
