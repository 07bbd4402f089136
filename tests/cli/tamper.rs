//! Tampering underneath the store: `terroir audit` names exactly the
//! altered records, exits non-zero, and nothing crashes. Tampering with a
//! checkpointed bundle: a recall cut out still shows through the status
//! map, and a node's fresher status proofs flip an old bundle to recalled.
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

/// A checkpointed demo: the tin's bundle carries checkpoint 0 and `terroir
/// verify` says, in local time, who signed it and that the tin is recalled
/// upstream. Cut the recall record out of the bundle (its leaf dropped, the
/// batch proof recomputed): the journey no longer shows the recall, but
/// the checkpoint's status map does, naming the record left out, and
/// `--strict` fails on it. Cut the record alone: `inclusion` refuses it in
/// one line. A node that cannot be reached fails `--node` in one line.
#[test]
fn a_recall_cut_from_a_checkpointed_bundle_still_shows() {
    use ledger_core::bundle::Bundle;
    use ledger_core::ledger::{Ledger, LedgerConfig};
    use ledger_core::Event;

    let demo = Demo::new();
    let env = &demo.env;
    let net = demo.network.as_str();
    // The demo's bureau signed checkpoint 0 of everything.
    let cp = env.json(&["checkpoint", "show"]);
    assert_eq!(cp["height"], 0);
    let made = env.json(&["bundle", "QDH-PACK-0404", "-o", "pack.bundle"]);
    assert_eq!(made["checkpoint"], 0);

    let out = env.ok(&["verify", "pack.bundle", "--network", net]);
    let status = out
        .lines()
        .find(|l| l.starts_with("Status: "))
        .unwrap_or_else(|| panic!("no status line: {out}"));
    assert!(
        status.starts_with("Status: recalled upstream as of ")
            && status.ends_with(
                "(Asia/Shanghai) — checkpoint 0, cosigned by 1 of 1: 淳安县农业农村局 Chun'an County Agriculture Bureau"
            ),
        "{status}"
    );
    assert!(out.contains("RECALLED"), "{out}");

    // Cut the recall out, recomputing the proof from the ledger.
    let bytes = std::fs::read(env.path("pack.bundle")).unwrap();
    let b = Bundle::decode(&bytes).unwrap();
    let recall = b
        .records
        .iter()
        .find(|r| matches!(r.record.event, Event::Recall { .. }))
        .expect("the demo's recall")
        .hash();
    let mut alone = b.clone();
    alone.records.retain(|r| r.hash() != recall);
    let mut cut = alone.clone();
    {
        let store = SledStore::open(&env.ledger().join("store")).unwrap();
        let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
        let c = cut.checkpoint.as_mut().unwrap();
        c.leaves.retain(|l| l.record != recall);
        let indexes: Vec<u64> = c.leaves.iter().map(|l| l.index).collect();
        c.proof = ledger.batch_inclusion(&indexes).unwrap();
    }
    std::fs::write(env.path("cut.bundle"), cut.encode()).unwrap();
    std::fs::write(env.path("alone.bundle"), alone.encode()).unwrap();

    let out = env.ok(&["verify", "cut.bundle", "--network", net]);
    assert!(
        !out.contains("RECALLED"),
        "the journey still shows it: {out}"
    );
    let short = format!("{}…", recall.short());
    let status = out.lines().find(|l| l.starts_with("Status: ")).unwrap();
    assert!(
        status.starts_with("Status: recalled upstream as of ")
            && status.ends_with(&format!(
                "; the record establishing it, {short}, is not in the bundle"
            )),
        "{status}"
    );
    assert!(
        out.contains("but the checkpoint's status map shows the lot recalled, which the bundle's records do not"),
        "{out}"
    );
    let v = env.json(&["verify", "cut.bundle", "--network", net]);
    assert_eq!(v["verified"], true);
    assert_eq!(v["verdict"]["finding"]["kind"], "failed_test");
    assert_eq!(v["overall"], "recalled");
    assert_eq!(v["status"]["height"], 0);
    assert!(v["status"]["lots"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["traced"] == true && l["cause_in_bundle"] == false));
    env.fails_with(
        1,
        &["verify", "cut.bundle", "--network", net, "--strict"],
        "is recalled, not clean",
    );

    let line = env.fails_with(
        1,
        &["verify", "alone.bundle", "--network", net],
        "inclusion",
    );
    assert!(line.contains(&format!("record {short}")), "{line}");

    env.fails_with(
        1,
        &[
            "--node",
            "http://127.0.0.1:9",
            "verify",
            "pack.bundle",
            "--network",
            net,
        ],
        "cannot reach the node",
    );
}

/// A stand-in for a node's `GET /status` and `POST /proof/status` (body
/// `{"lots":[{"source","code"}]}`, answer the JSON of
/// `tlog::StatusProofs`: the contract the node's endpoint is built to):
/// answers `status_json` and `proofs_json`,
/// one request per connection, and sends each request's line and body to
/// the returned channel. Returns its `http://` URL.
fn fake_node(
    status_json: String,
    proofs_json: String,
) -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // Requests kept for the test to read; more are answered, not kept.
    const REQUESTS_KEPT: usize = 64;
    let (tx, rx) = std::sync::mpsc::sync_channel(REQUESTS_KEPT);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some((k, v)) = line.split_once(':') {
                    if k.eq_ignore_ascii_case("content-length") {
                        length = v.trim().parse().unwrap();
                    }
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let answer = if request.starts_with("GET /status ") {
                &status_json
            } else if request.starts_with("POST /proof/status ") {
                &proofs_json
            } else {
                "{}"
            };
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .unwrap();
            let _ = tx.try_send((
                request.trim_end().to_owned(),
                String::from_utf8(body).unwrap(),
            ));
        }
    });
    (url, rx)
}

/// A bundle of the Jiukeng leaf, exported under checkpoint 0, reads not
/// recalled as of it; the leaf is recalled and checkpoint 1 made; offline
/// the bundle still says checkpoint 0, but `verify --node` asks the node
/// for the lineage's status proofs (`POST /proof/status` with
/// `{"lots":[{"source","code"}]}`), checks them, and reads recalled as of
/// checkpoint 1, the recall not in the bundle; `--strict` then fails.
#[test]
fn a_nodes_fresher_checkpoint_flips_an_old_bundle_to_recalled() {
    use ledger_core::bundle::Bundle;
    use ledger_core::ledger::{Ledger, LedgerConfig};

    let demo = Demo::new();
    let env = &demo.env;
    let net = demo.network.as_str();
    let authority = demo.key("authority");
    env.ok(&["bundle", "QDH-JK-0401", "-o", "jk.bundle"]);
    let out = env.ok(&["verify", "jk.bundle", "--network", net]);
    assert!(
        out.contains("Status: not recalled as of ")
            && out.contains("(Asia/Shanghai) — checkpoint 0, cosigned by 1 of 1: "),
        "{out}"
    );

    let recall = env.json(&[
        "record",
        "recall",
        "--key",
        &authority,
        "--lot",
        "QDH-JK-0401",
        "--reason",
        "农药残留超标",
    ]);
    let recall = recall["record"]
        .as_str()
        .expect("the recall's hash")
        .to_owned();
    env.ok(&["checkpoint", "sign", "--key", &authority]);
    let lot = Bundle::decode(&std::fs::read(env.path("jk.bundle")).unwrap())
        .unwrap()
        .lot;
    let proofs = {
        let store = SledStore::open(&env.ledger().join("store")).unwrap();
        let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
        ledger.status_proofs(std::slice::from_ref(&lot)).unwrap()
    };
    let (url, requests) = fake_node(
        serde_json::json!({ "network_id": net }).to_string(),
        serde_json::to_string(&proofs).unwrap(),
    );

    // Offline: what the bundle's checkpoint said.
    let out = env.ok(&["verify", "jk.bundle", "--network", net]);
    assert!(out.contains("Status: not recalled as of "), "{out}");
    // With the node: recalled as of checkpoint 1.
    let out = env.ok(&["--node", &url, "verify", "jk.bundle", "--network", net]);
    let short = &recall[..8];
    let status = out.lines().find(|l| l.starts_with("Status: ")).unwrap();
    assert!(
        status.starts_with("Status: recalled as of ")
            && status.contains("— checkpoint 1, cosigned by 1 of 1: ")
            && status.ends_with(&format!(
                "; the record establishing it, {short}…, is not in the bundle"
            )),
        "{status}"
    );
    assert!(out.contains("✓ fresher"), "{out}");
    let got: Vec<(String, String)> = requests.try_iter().collect();
    let (line, body) = got
        .iter()
        .find(|(l, _)| l.starts_with("POST /proof/status "))
        .unwrap_or_else(|| panic!("no status request: {got:?}"));
    assert!(line.ends_with("HTTP/1.1"), "{line}");
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"lots": [{"source": lot.source.to_hex(), "code": "QDH-JK-0401"}]})
    );
    let v = env.json(&["--node", &url, "verify", "jk.bundle", "--network", net]);
    assert_eq!(v["overall"], "recalled");
    assert_eq!(v["status"]["height"], 1);
    assert_eq!(v["status"]["bundle_height"], 0);
    assert_eq!(v["status_from_node"], url.as_str());
    env.fails_with(
        1,
        &[
            "--node",
            &url,
            "verify",
            "jk.bundle",
            "--network",
            net,
            "--strict",
        ],
        "is recalled, not clean",
    );

    // A node of another network is refused before anything is asked.
    let other = "ab".repeat(32);
    let (url, _) = fake_node(
        serde_json::json!({ "network_id": other }).to_string(),
        serde_json::to_string(&proofs).unwrap(),
    );
    env.fails_with(
        1,
        &["--node", &url, "verify", "jk.bundle", "--network", net],
        "serves network",
    );
}

/// Copies a ledger directory (closed) file by file.
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// A harvest by the demo's first garden.
fn harvest(demo: &Demo, lot: &str) {
    demo.env.ok(&[
        "record",
        "harvest",
        "--key",
        &demo.key("jiukeng-garden"),
        "--lot",
        lot,
        "--product",
        "千岛湖茶 fresh leaf",
        "--quantity",
        "5kg",
    ]);
}

/// `terroir checkpoint show` reads a checkpoint back as a verifier would,
/// and `consistency` proves a later checkpoint of the ledger extends an
/// earlier one; two checkpoints at one height of ledgers that diverged
/// cannot both be true, and a note with a changed byte is not the
/// authority's.
#[test]
fn checkpoints_show_and_prove_that_one_extends_another() {
    let demo = Demo::new();
    let env = &demo.env;
    let authority = demo.key("authority");
    // Nothing new since the demo's checkpoint 0: nothing to sign.
    env.fails_with(
        1,
        &["checkpoint", "sign", "--key", &authority],
        "nothing to checkpoint: every record is in checkpoint 0 already",
    );
    let shown = env.json(&["checkpoint", "show", "--out", "c0.note"]);
    assert_eq!(shown["height"], 0);
    assert_eq!(shown["final"], true);
    assert_eq!(
        shown["signers"][0],
        "淳安县农业农村局 Chun'an County Agriculture Bureau"
    );

    let fork_dir = env.path("fork");
    copy_dir(&env.ledger(), &fork_dir);
    harvest(&demo, "JK-0501");
    env.ok(&["checkpoint", "sign", "--key", &authority]);
    env.ok(&["checkpoint", "show", "--out", "c1.note"]);
    let out = env.ok(&["checkpoint", "consistency", "c0.note", "c1.note"]);
    assert!(out.contains("consistent: checkpoint 1"), "{out}");
    let v = env.json(&["checkpoint", "consistency", "c1.note", "c0.note"]);
    assert_eq!(v["consistent"], true);
    assert_eq!(v["old"]["height"], 0);

    // The copy took another record: its checkpoint 1 is another log.
    let main_dir = env.path("main");
    std::fs::rename(env.ledger(), &main_dir).unwrap();
    std::fs::rename(&fork_dir, env.ledger()).unwrap();
    harvest(&demo, "JK-0502");
    env.ok(&["checkpoint", "sign", "--key", &authority]);
    env.ok(&["checkpoint", "show", "--out", "c1b.note"]);
    std::fs::rename(env.ledger(), &fork_dir).unwrap();
    std::fs::rename(&main_dir, env.ledger()).unwrap();
    env.fails_with(
        1,
        &["checkpoint", "consistency", "c1.note", "c1b.note"],
        "cannot both be true: two different checkpoints at the same height",
    );

    // One changed byte: the authority's signature no longer holds.
    let note = std::fs::read_to_string(env.path("c1.note")).unwrap();
    let size_line = note.lines().nth(1).unwrap().to_owned();
    let bigger = (size_line.parse::<u64>().unwrap() + 1).to_string();
    std::fs::write(
        env.path("forged.note"),
        note.replacen(&size_line, &bigger, 1),
    )
    .unwrap();
    env.fails_with(
        1,
        &["checkpoint", "consistency", "c0.note", "forged.note"],
        "forged.note is not a checkpoint of this network",
    );
}

/// A competitor enrolled on the network signs a cold-chain excursion on a
/// garden's lot it never had. The ledger takes the record (an observation
/// moves no custody, and it is signed and attributable), but the lot's
/// trace, verdict and consumer page leave it out and list it for an
/// auditor instead.
#[test]
fn a_strangers_excursion_does_not_reach_the_lots_trace() {
    let demo = Demo::new();
    let env = &demo.env;
    let shop = demo.key("retailer");
    let before = env.json(&["trace", "QDH-JK-0401"]);
    let fake = env.json(&[
        "record",
        "observe",
        "--key",
        &shop,
        "--lot",
        "QDH-JK-0401",
        "--temperature",
        "35",
        "--profile",
        "chilled",
    ]);
    let fake = fake["record"].as_str().unwrap().to_owned();
    let after = env.json(&["trace", "QDH-JK-0401"]);
    assert_eq!(
        after["verdict"]["finding"], before["verdict"]["finding"],
        "{after}"
    );
    assert_eq!(after["events"], before["events"], "{after}");
    assert_eq!(after["excursions"], before["excursions"], "{after}");
    let left_out = after["left_out"].as_array().unwrap();
    assert_eq!(left_out.len(), 1, "{after}");
    assert_eq!(left_out[0]["hash"], fake.as_str(), "{after}");
    let shown = env.ok(&["trace", "QDH-JK-0401"]);
    assert!(
        shown.contains("Left out (1): signed by someone who never had the lot they name"),
        "{shown}"
    );
    assert!(!shown.contains("35 °C"), "{shown}");

    // A logistics firm off the custody path (the leaf went from the garden
    // straight to the cooperative) names the shipment it carries, so its
    // truck's readings stay on the lot's journey.
    let truck = env.json(&[
        "record",
        "observe",
        "--key",
        &demo.key("carrier"),
        "--lot",
        "QDH-JK-0401",
        "--temperature",
        "6",
        "--profile",
        "chilled",
    ]);
    let truck = truck["record"].as_str().unwrap();
    let with_truck = env.json(&["trace", "QDH-JK-0401"]);
    let events = with_truck["events"].as_array().unwrap();
    assert!(events.iter().any(|e| e["hash"] == truck), "{with_truck}");
    assert_eq!(with_truck["left_out"].as_array().unwrap().len(), 1);
}
