//! The log served as a transparency log (checkpoints, C2SP tiles,
//! inclusion, consistency and status proofs, `/status`) and the consumer
//! page's checkpoint line, from a node whose ledger was given two final
//! checkpoints before it started (nothing proposes them in `terroird`
//! yet). Every answer is checked with `ledger_core`'s verifiers against
//! the served, signature-checked checkpoint; every refusal by its status
//! and reason.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;

use common::{resume, write_genesis, TestNode};
use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::ledger::{Ledger, LedgerConfig};
use ledger_core::merkle;
use ledger_core::store::SledStore;
use ledger_core::tlog::map::{lot_key, StatusKind};
use ledger_core::tlog::{record_leaf, StatusProofs};
use ledger_core::workload::{self, key_for};
use ledger_core::{Event, Genesis, Hash, LotId, Outcome, SignedRecord, SigningKey};
use serde_json::{json, Value};
use terroir_node::page::Lang;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A node serving a ledger with two final checkpoints, and what a test
/// checks its answers against.
struct Logged {
    _tmp: tempfile::TempDir,
    node: TestNode,
    genesis: Genesis,
    first: SignedCheckpoint,
    second: SignedCheckpoint,
    /// A record in both checkpoints' trees.
    old: Hash,
    /// A record only in the second's.
    new: Hash,
    /// A record accepted after the second.
    late: Hash,
    clean: LotId,
    recalled: LotId,
    /// Harvested after the second checkpoint.
    uncovered: LotId,
}

const MINUTE: u64 = 60_000;

fn now() -> u64 {
    terroir_node::ledger_task::now_ms()
}

/// Proposes and applies a checkpoint of everything `ledger` holds, made
/// at `time` and signed by the network's one authority (k = 1).
fn checkpoint(ledger: &mut Ledger<SledStore>, key: &SigningKey, time: u64) -> SignedCheckpoint {
    let tips = ledger.unlogged_tips().unwrap();
    let ext = ledger.extend_log(&tips).unwrap();
    let signed = SignedCheckpoint::propose(ext.checkpoint(ledger.network(), time), key);
    ledger.apply_checkpoint(&signed, &tips, Some(&ext)).unwrap();
    signed
}

fn ingest(ledger: &mut Ledger<SledStore>, records: Vec<SignedRecord>) {
    let report = ledger.ingest(records, now()).unwrap();
    for (h, o) in report.outcomes {
        assert!(matches!(o, Outcome::Accepted), "{h}: {o:?}");
    }
}

/// The workload's history, checkpoint 0 (3 hours ago); a clean lot, a
/// recalled lot and 200 more harvests (so the tree passes one full tile),
/// checkpoint 1 (12½ minutes ago); then one more lot. With
/// `checkpoints` false, the same records and no checkpoint.
fn ledger_in(
    data: &Path,
    w: &workload::Workload,
    checkpoints: bool,
) -> (Vec<SignedCheckpoint>, [Hash; 3], [LotId; 3]) {
    std::fs::create_dir_all(data).unwrap();
    let store = SledStore::open(&data.join("ledger")).unwrap();
    let mut ledger = Ledger::create(store, w.genesis.clone(), LedgerConfig::default()).unwrap();
    let reg_key = key_for("regulator", 0);
    let start = now() - 4 * 60 * MINUTE;
    ingest(&mut ledger, w.records.clone());
    let mut made = Vec::new();
    if checkpoints {
        made.push(checkpoint(&mut ledger, &reg_key, now() - 180 * MINUTE));
    }

    let mut farm = resume(w, "farm", 0);
    let enrolled = common::enrollment(w, &farm.public());
    let first_deps = if farm.next_seq() == 0 {
        vec![enrolled]
    } else {
        vec![]
    };
    let mut t = start.max(w.records.iter().map(|r| r.record.time).max().unwrap_or(0)) + 1_000;
    let mut tick = || {
        t += 1_000;
        t
    };
    let clean = farm.sign(tick(), first_deps, common::harvest("CLEAN-1"));
    let bad = farm.sign(tick(), vec![], common::harvest("RECALL-1"));
    let lot = |code: &str| LotId {
        source: farm.public(),
        code: code.into(),
    };
    let (clean_lot, recalled_lot, late_lot) = (lot("CLEAN-1"), lot("RECALL-1"), lot("LATE-1"));
    let mut regulator = resume(w, "regulator", 0);
    let recall = regulator.sign(
        tick(),
        vec![bad.hash()],
        Event::Recall {
            lot: recalled_lot.clone(),
            reason: "pesticide residue above the limit".into(),
        },
    );
    let mut batch = vec![clean, bad, recall.clone()];
    for i in 0..200 {
        batch.push(farm.sign(tick(), vec![], common::harvest(&format!("F-{i}"))));
    }
    ingest(&mut ledger, batch);
    if checkpoints {
        made.push(checkpoint(
            &mut ledger,
            &reg_key,
            now() - 12 * MINUTE - 30_000,
        ));
    }
    let late = farm.sign(tick(), vec![], common::harvest("LATE-1"));
    let late_hash = late.hash();
    ingest(&mut ledger, vec![late]);
    (
        made,
        [w.records[5].hash(), recall.hash(), late_hash],
        [clean_lot, recalled_lot, late_lot],
    )
}

async fn logged_node(
    checkpoints: bool,
) -> (
    tempfile::TempDir,
    TestNode,
    Genesis,
    Vec<SignedCheckpoint>,
    [Hash; 3],
    [LotId; 3],
) {
    let tmp = tempfile::tempdir().unwrap();
    let w = common::workload(100);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    let (made, hashes, lots) = ledger_in(&data, &w, checkpoints);
    // Writes need a token nobody has: `POST /proof/status` must pass
    // anyway, as the read it is.
    let tokens = tmp.path().join("tokens");
    std::fs::write(&tokens, format!("ops {}\n", Hash::of(b"unused").to_hex())).unwrap();
    let node = TestNode::start_with(&data, &gpath, &[], |c| c.submit_tokens = Some(tokens)).await;
    (tmp, node, w.genesis, made, hashes, lots)
}

async fn logged() -> Logged {
    let (tmp, node, genesis, made, [old, new, late], [clean, recalled, uncovered]) =
        logged_node(true).await;
    let [first, second]: [SignedCheckpoint; 2] = made.try_into().unwrap();
    assert!(
        second.checkpoint.size > 256 && second.checkpoint.size < 512,
        "size {}",
        second.checkpoint.size
    );
    Logged {
        _tmp: tmp,
        node,
        genesis,
        first,
        second,
        old,
        new,
        late,
        clean,
        recalled,
        uncovered,
    }
}

/// An answer: status, header fields (names in lower case), body.
struct Answer {
    code: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    /// Asserts a refusal: its status and that its reason contains `why`.
    fn refused(&self, code: u16, why: &str) {
        assert_eq!(self.code, code, "{}", String::from_utf8_lossy(&self.body));
        let reason = self.json()["error"].as_str().unwrap_or_default().to_owned();
        assert!(reason.contains(why), "reason {reason:?} lacks {why:?}");
    }
}

/// One request per connection, with an `Accept` field.
async fn fetch(addr: SocketAddr, method: &str, path: &str, accept: &str, body: &[u8]) -> Answer {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAccept: {accept}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let mut lines = head.split("\r\n");
    let code = lines
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: HashMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    assert!(!headers.contains_key("transfer-encoding"), "{head}");
    Answer {
        code,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    fetch(addr, "GET", path, "*/*", b"").await
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hash::from_hex(h.as_str().unwrap()).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_are_served_as_signed_notes() {
    let l = logged().await;
    let addr = l.node.http;

    let a = get(addr, "/checkpoint").await;
    assert_eq!(a.code, 200, "{}", a.text());
    assert_eq!(a.header("content-type"), "text/plain; charset=utf-8");
    assert_eq!(a.header("cache-control"), "no-cache");
    let served = SignedCheckpoint::from_note(&a.body, &l.genesis).unwrap();
    assert_eq!(served.checkpoint, l.second.checkpoint);
    assert!(served.is_final(&l.genesis));

    for (height, c) in [(0, &l.first), (1, &l.second)] {
        let a = get(addr, &format!("/checkpoint/{height}")).await;
        assert_eq!(a.code, 200, "{}", a.text());
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        let served = SignedCheckpoint::from_note(&a.body, &l.genesis).unwrap();
        assert_eq!(served.checkpoint, c.checkpoint);
    }
    get(addr, "/checkpoint/2")
        .await
        .refused(404, "no checkpoint of height 2");
    get(addr, "/checkpoint/two")
        .await
        .refused(400, "not a whole number");
    get(addr, "/checkpoint/-1")
        .await
        .refused(400, "not a whole number");

    // `/status` names it in local time, with its signers and age.
    let s = get(addr, "/status").await.json();
    let c = &s["checkpoint"];
    assert_eq!(c["height"], 1);
    assert_eq!(c["size"], l.second.checkpoint.size);
    assert_eq!(c["signers"], json!(["County Agriculture Bureau"]));
    let age = c["age_s"].as_u64().unwrap();
    assert!((750..800).contains(&age), "age {age}");
    let time = chrono::DateTime::parse_from_rfc3339(c["time"].as_str().unwrap()).unwrap();
    assert_eq!(time.timestamp_millis() as u64, l.second.checkpoint.time);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiles_rebuild_the_checkpoint_root() {
    let l = logged().await;
    let addr = l.node.http;
    let c = &l.second.checkpoint;
    let rest = u16::try_from(c.size - 256).unwrap();

    let full = get(addr, "/tile/0/000").await;
    assert_eq!(full.code, 200, "{}", full.text());
    assert_eq!(full.header("content-type"), "application/octet-stream");
    assert_eq!(
        full.header("cache-control"),
        "public, max-age=31536000, immutable"
    );
    assert_eq!(full.body.len(), 256 * 32);
    let partial = get(addr, &format!("/tile/0/001.p/{rest}")).await;
    assert_eq!(partial.code, 200, "{}", partial.text());
    assert_eq!(partial.header("cache-control"), "public, max-age=60");
    let mut leaves = merkle::hashes_from_bytes(&full.body).unwrap();
    leaves.extend(merkle::hashes_from_bytes(&partial.body).unwrap());
    assert_eq!(leaves.len() as u64, c.size);
    assert_eq!(merkle::root_of(&leaves), c.root);

    // Level 1 holds the first 256 leaves' subtree.
    let up = get(addr, "/tile/1/000.p/1").await;
    assert_eq!(up.code, 200, "{}", up.text());
    assert_eq!(
        merkle::hashes_from_bytes(&up.body).unwrap(),
        vec![merkle::root_of(&leaves[..256])]
    );

    // Entry bundles: the record hashes whose leaves the tiles hold.
    let mut entries = get(addr, "/tile/entries/000").await.body;
    entries.extend(get(addr, &format!("/tile/entries/001.p/{rest}")).await.body);
    assert_eq!(entries.len() as u64, c.size * 34);
    for (i, e) in entries.chunks(34).enumerate() {
        assert_eq!(e[..2], [0, 32]);
        let h = Hash(e[2..].try_into().unwrap());
        assert_eq!(record_leaf(&h), leaves[i], "entry {i}");
    }

    // Beyond the tree, and paths C2SP would not write.
    for path in [
        format!("/tile/0/001.p/{}", rest + 1),
        "/tile/0/001".to_owned(),
        "/tile/0/002".to_owned(),
        "/tile/1/000".to_owned(),
        "/tile/2/000.p/1".to_owned(),
        format!("/tile/entries/001.p/{}", rest + 1),
    ] {
        get(addr, &path)
            .await
            .refused(404, "beyond the newest checkpoint");
    }
    for (path, why) in [
        ("/tile/0/01", "three digits"),
        ("/tile/0/000.p/0", "partial tile width"),
        ("/tile/0/000.p/256", "partial tile width"),
        ("/tile/64/000", "tile level"),
        ("/tile/01/000", "tile level"),
        ("/tile/0/x000/001", "zero group"),
        ("/tile/0", "no index"),
    ] {
        get(addr, path).await.refused(400, why);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inclusion_and_consistency_proofs_verify() {
    let l = logged().await;
    let addr = l.node.http;
    let (c1, c2) = (&l.first.checkpoint, &l.second.checkpoint);

    for h in [l.old, l.new] {
        let a = get(addr, &format!("/proof/inclusion/{h}")).await;
        assert_eq!(a.code, 200, "{}", a.text());
        let p = a.json();
        assert_eq!(p["size"], c2.size);
        assert_eq!(
            Hash::from_hex(p["root"].as_str().unwrap()).unwrap(),
            c2.root
        );
        let index = p["index"].as_u64().unwrap();
        merkle::verify_inclusion(
            &record_leaf(&h),
            index,
            c2.size,
            &hashes(&p["path"]),
            &c2.root,
        )
        .unwrap();
    }
    // In the first checkpoint's tree.
    let p = get(
        addr,
        &format!("/proof/inclusion/{}?size={}", l.old, c1.size),
    )
    .await
    .json();
    assert_eq!(
        Hash::from_hex(p["root"].as_str().unwrap()).unwrap(),
        c1.root
    );
    merkle::verify_inclusion(
        &record_leaf(&l.old),
        p["index"].as_u64().unwrap(),
        c1.size,
        &hashes(&p["path"]),
        &c1.root,
    )
    .unwrap();

    let inclusion = |h: &Hash, q: &str| format!("/proof/inclusion/{h}{q}");
    get(addr, &inclusion(&l.late, ""))
        .await
        .refused(404, "not in a checkpoint yet");
    get(addr, &inclusion(&l.new, &format!("?size={}", c1.size)))
        .await
        .refused(404, "after the tree of size");
    get(addr, &inclusion(&l.old, &format!("?size={}", c1.size + 1)))
        .await
        .refused(404, "no final checkpoint has size");
    get(addr, &inclusion(&l.old, "?size=0"))
        .await
        .refused(400, "size 0");
    get(addr, &inclusion(&l.old, &format!("?size={}", c2.size + 1)))
        .await
        .refused(400, "beyond the newest checkpoint");
    get(addr, &inclusion(&l.old, "?size=many"))
        .await
        .refused(400, "bad query string");
    get(addr, "/proof/inclusion/abcd")
        .await
        .refused(400, "record hash");

    for q in [
        format!("from={}&to={}", c1.size, c2.size),
        format!("from={}", c1.size),
    ] {
        let a = get(addr, &format!("/proof/consistency?{q}")).await;
        assert_eq!(a.code, 200, "{}", a.text());
        let p = a.json();
        assert_eq!(
            (p["from"].as_u64(), p["to"].as_u64()),
            (Some(c1.size), Some(c2.size))
        );
        merkle::verify_consistency(c1.size, c2.size, &c1.root, &c2.root, &hashes(&p["path"]))
            .unwrap();
    }
    let consistency = |q: String| format!("/proof/consistency?{q}");
    get(addr, &consistency(format!("from=0&to={}", c2.size)))
        .await
        .refused(400, "from=0");
    get(
        addr,
        &consistency(format!("from={}&to={}", c2.size, c1.size)),
    )
    .await
    .refused(400, "is larger than");
    get(addr, &consistency(format!("from=1&to={}", c2.size + 1)))
        .await
        .refused(400, "beyond the newest checkpoint");
    get(addr, &consistency("to=5".into()))
        .await
        .refused(400, "missing field `from`");
}

async fn post_status(addr: SocketAddr, body: &Value) -> Answer {
    fetch(
        addr,
        "POST",
        "/proof/status",
        "*/*",
        body.to_string().as_bytes(),
    )
    .await
}

fn ask(lots: &[&LotId]) -> Value {
    json!({ "lots": lots.iter().map(|l| json!({ "source": l.source.to_hex(), "code": l.code })).collect::<Vec<_>>() })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_proofs_prove_clean_and_recalled_lots() {
    let l = logged().await;
    let addr = l.node.http;

    // Writes need a token here; this read does not.
    let w = fetch(addr, "POST", "/records", "*/*", b"{\"records\":[]}").await;
    assert_eq!(w.code, 401);

    let a = post_status(addr, &ask(&[&l.clean, &l.recalled, &l.uncovered])).await;
    assert_eq!(a.code, 200, "{}", a.text());
    let proofs: StatusProofs = serde_json::from_slice(&a.body).unwrap();
    let c = SignedCheckpoint::from_note(proofs.note.as_bytes(), &l.genesis)
        .unwrap()
        .checkpoint;
    assert_eq!(c, l.second.checkpoint);
    assert_eq!(proofs.proofs.len(), 3);
    let verify = |i: usize, lot: &LotId| {
        assert_eq!(&proofs.proofs[i].lot, lot);
        proofs.proofs[i]
            .proof
            .verify(&lot_key(lot), c.map_size, &c.map_root)
            .unwrap()
    };
    assert_eq!(verify(0, &l.clean), None);
    assert!(verify(1, &l.recalled)
        .unwrap()
        .has_own(StatusKind::Recalled));
    assert_eq!(verify(2, &l.uncovered), None);

    let too_many: Vec<&LotId> = std::iter::repeat_n(&l.clean, 1_001).collect();
    post_status(addr, &ask(&too_many))
        .await
        .refused(413, "at most 1000");
    post_status(addr, &json!({ "lots": [] }))
        .await
        .refused(400, "no lot given");
    post_status(addr, &json!({ "lots": [{ "source": "zz", "code": "A" }] }))
        .await
        .refused(400, "lot 0: source");
    post_status(
        addr,
        &json!({ "lots": [{ "source": l.clean.source.to_hex(), "code": "" }] }),
    )
    .await
    .refused(400, "lot 0: the code is empty");
    post_status(addr, &json!({ "lot": [] }))
        .await
        .refused(400, "body");
    fetch(addr, "POST", "/proof/status", "*/*", b"{not json")
        .await
        .refused(400, "body");
    // A body declared larger than the cap is refused before it is read.
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /proof/status HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        5 * 1024 * 1024
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw).await;
    let raw = String::from_utf8_lossy(&raw);
    assert!(raw.starts_with("HTTP/1.1 413"), "{raw}");
    assert!(raw.contains("larger than"), "{raw}");
}

/// The lot page's checkpoint line, in both languages.
async fn page(addr: SocketAddr, lot: &LotId, lang: &str) -> String {
    let path = format!(
        "/lot/{}/{}?lang={lang}",
        lot.source.to_hex(),
        ledger_core::gs1::percent_encode(&lot.code)
    );
    let a = fetch(addr, "GET", &path, "text/html", b"").await;
    assert_eq!(a.code, 200, "{}", a.text());
    a.text()
}

async fn page_json(addr: SocketAddr, lot: &LotId) -> Value {
    let path = format!("/lot/{}/{}", lot.source.to_hex(), lot.code);
    let a = fetch(addr, "GET", &path, "application/json", b"").await;
    assert_eq!(a.code, 200, "{}", a.text());
    a.json()["checkpoint"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_says_what_the_checkpoint_says() {
    let l = logged().await;
    let addr = l.node.http;
    let t = l.second.checkpoint.time;
    let (en, zh) = (
        Lang::En.datetime(t, &l.genesis),
        Lang::Zh.datetime(t, &l.genesis),
    );

    let p = page(addr, &l.clean, "en").await;
    assert!(
        p.contains(&format!(
            "Not recalled as of {en} — checkpoint 1, cosigned by 1 of 1: County Agriculture Bureau. Checkpoint 12 minutes old."
        )),
        "{p}"
    );
    let p = page(addr, &l.clean, "zh").await;
    assert!(
        p.contains(&format!(
            "截至 {zh} 未被召回——检查点 1，由 1 个监管机构中的 1 个共同签署：County Agriculture Bureau。检查点生成于 12 分钟前。"
        )),
        "{p}"
    );

    let p = page(addr, &l.recalled, "en").await;
    assert!(
        p.contains(&format!(
            "<b>Listed as recalled as of {en}</b> — checkpoint 1, cosigned by 1 of 1: County Agriculture Bureau."
        )),
        "{p}"
    );
    assert!(!p.contains("Not recalled"), "{p}");
    let p = page(addr, &l.recalled, "zh").await;
    assert!(
        p.contains(&format!("<b>截至 {zh} 已列为：已召回</b>——检查点 1")),
        "{p}"
    );
    assert!(!p.contains("未被召回"), "{p}");

    let p = page(addr, &l.uncovered, "en").await;
    assert!(
        p.contains("This lot is not yet covered by a checkpoint. Checkpoint 12 minutes old."),
        "{p}"
    );
    let p = page(addr, &l.uncovered, "zh").await;
    assert!(
        p.contains("本批次尚未被检查点覆盖。检查点生成于 12 分钟前。"),
        "{p}"
    );

    let j = page_json(addr, &l.clean).await;
    assert_eq!(
        (j["height"].as_u64(), j["covered"].as_bool()),
        (Some(1), Some(true))
    );
    assert_eq!(j["status"], Value::Null);
    assert_eq!(j["signers"], json!(["County Agriculture Bureau"]));
    let j = page_json(addr, &l.recalled).await;
    assert_eq!(j["status"]["own"], json!(["recalled"]));
    assert_eq!(page_json(addr, &l.uncovered).await["covered"], json!(false));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn before_the_first_checkpoint_everything_says_so() {
    let (_tmp, node, _genesis, made, [old, _, _], [clean, _, _]) = logged_node(false).await;
    assert!(made.is_empty());
    let addr = node.http;
    let none = "no checkpoint is final yet";
    get(addr, "/checkpoint").await.refused(404, none);
    get(addr, "/checkpoint/0")
        .await
        .refused(404, "no checkpoint of height 0");
    get(addr, &format!("/proof/inclusion/{old}"))
        .await
        .refused(404, none);
    get(addr, "/proof/consistency?from=1&to=1")
        .await
        .refused(404, none);
    get(addr, "/tile/0/000.p/1")
        .await
        .refused(404, "beyond the newest checkpoint");
    post_status(addr, &ask(&[&clean])).await.refused(404, none);
    assert_eq!(get(addr, "/status").await.json()["checkpoint"], Value::Null);

    let p = page(addr, &clean, "en").await;
    assert!(p.contains(">Not yet covered by a checkpoint.</p>"), "{p}");
    assert!(!p.contains("Not recalled"), "{p}");
    let p = page(addr, &clean, "zh").await;
    assert!(p.contains(">尚未被检查点覆盖。</p>"), "{p}");
    assert_eq!(page_json(addr, &clean).await, Value::Null);
}
