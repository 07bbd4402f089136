//! CLI remote mode: the real `terroir` binary signs locally and works
//! against a `terroird` node started in this process (real TCP on
//! 127.0.0.1, ephemeral ports). The test is one of the CLI package's, so
//! Cargo builds the binary and names it in `CARGO_BIN_EXE_terroir`; the node
//! comes from the `terroir-node` library (a dev-dependency), as in
//! node/tests. Every CLI call returns after the node answered, so nothing
//! needs waiting on.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::node::{start_node, Env};
use serde_json::{json, Value};
use terroir_node::{Config, Node};

#[test]
fn sign_locally_submit_trace_bundle_verify_and_status_against_a_node() {
    let env = Env::new();
    env.keys(&[
        ("bureau", "County Bureau"),
        ("farm", "Hillside Farm"),
        ("coop", "Tea Coop"),
        ("stranger", "Nobody"),
    ]);
    // The genesis is founded with a scratch local ledger; only its
    // genesis.json is used, by the node.
    let founded = env.json(&[
        "--ledger",
        "founding",
        "init",
        "--network",
        "remote test",
        "--authority-key",
        "bureau.key",
    ]);
    let network = founded["network_id"].as_str().unwrap().to_owned();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = start_node(&rt, &env.path("node"), &env.path("founding/genesis.json"));
    let url = format!("http://{}", node.http_addr);
    let n = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["--node".to_owned(), url.clone()];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    };
    let json = |args: &[&str]| {
        let v = n(args);
        env.json(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let fails = |args: &[&str]| {
        let v = n(args);
        env.fails(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };

    // The regulator enrolls two participants through the node.
    env.enroll_through(
        &url,
        &[
            ("farm", "Hillside Farm", "farm"),
            ("coop", "Tea Coop", "processor"),
        ],
    );
    let parts = json(&["participants"]);
    assert_eq!(parts.as_array().unwrap().len(), 3);

    // Harvest, ship, receive: signed here, stored by the node.
    let h = json(&[
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        "LEAF-1",
        "--product",
        "fresh leaf",
        "--quantity",
        "500kg",
    ]);
    assert_eq!(h["seq"], 0, "a first record, depending on the enrollment");
    let ship = json(&[
        "record",
        "ship",
        "--key",
        "farm.key",
        "--lot",
        "LEAF-1",
        "--quantity",
        "200kg",
        "--to",
        "Tea Coop",
    ]);
    let ship_hash = ship["record"].as_str().unwrap().to_owned();
    assert_eq!(ship["seq"], 1);
    json(&[
        "record",
        "receive",
        "--key",
        "coop.key",
        "--shipment",
        &ship_hash,
    ]);
    let st = json(&["status"]);
    assert_eq!(st["network_id"], network.as_str());
    assert_eq!(st["records"], 5, "two enrollments, harvest, ship, receive");
    assert_eq!(st["pending"], 0);
    let digest = st["state_digest"].as_str().unwrap().to_owned();

    // Trace and bundle via the node; the bundle verifies offline.
    let trace = json(&["trace", "LEAF-1"]);
    assert_eq!(trace["events"].as_array().unwrap().len(), 3, "{trace}");
    let b = json(&["bundle", "LEAF-1", "-o", "leaf.bundle"]);
    assert_eq!(b["network_id"], network.as_str());
    let v = env.json(&["verify", "leaf.bundle", "--network", &network]);
    assert_eq!(v["verified"], true);

    // Bad input: one-line errors, and the node's state is unchanged.
    let e = fails(&[
        "record",
        "harvest",
        "--key",
        "stranger.key",
        "--lot",
        "X",
        "--product",
        "x",
        "--quantity",
        "1kg",
    ]);
    assert!(e.contains("not enrolled"), "{e}");
    let e = fails(&[
        "record",
        "ship",
        "--key",
        "farm.key",
        "--lot",
        "LEAF-1",
        "--quantity",
        "900kg",
        "--to",
        "Tea Coop",
    ]);
    assert!(e.contains("refused") && e.contains("LEAF-1"), "{e}");
    let e = fails(&["init", "--network", "x", "--authority-key", "bureau.key"]);
    assert!(e.contains("local ledger only"), "{e}");
    assert_eq!(json(&["status"])["state_digest"], digest.as_str());

    // An unreachable node: a port nothing listens on (bound, then freed).
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let e = env.fails(&["--node", &dead, "status"]);
    assert!(e.contains("cannot reach the node"), "{e}");
    let e = env.fails(&[
        "--node",
        &dead,
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        "Y",
        "--product",
        "y",
        "--quantity",
        "1kg",
    ]);
    assert!(e.contains("cannot reach the node"), "{e}");

    // TERROIR_NODE works like --node.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_terroir"))
        .args(["--quiet", "status"])
        .current_dir(env.dir.path())
        .env("TERROIR_NODE", &url)
        .env("TERROIR_HOME", env.path("no-local-ledger"))
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), digest);

    rt.block_on(node.stop()).unwrap();
}

/// A node closed to the public takes records only with a write token:
/// without one the CLI says what to do, in one line; with the operator's
/// token (`--node-token` or `TERROIR_NODE_TOKEN`) it submits.
#[test]
fn a_node_that_needs_a_write_token_gets_it_from_the_cli() {
    let env = Env::new();
    for (file, name) in [("bureau", "County Bureau"), ("farm", "Hillside Farm")] {
        env.json(&[
            "key",
            "new",
            "--out",
            &format!("{file}.key"),
            "--name",
            name,
        ]);
    }
    let genesis = env.found("token test", &[]);
    let (token, line) = terroir_node::http::tokens::new_token("bureau-desk").unwrap();
    let tokens = env.path("submit-tokens");
    std::fs::write(&tokens, format!("{line}\n")).unwrap();
    let data = env.path("node");
    terroir_node::init(&data, &genesis).unwrap();
    let mut c = Config::new(data.clone(), genesis);
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    c.http = "127.0.0.1:0".parse().unwrap();
    c.submit_tokens = Some(tokens);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = rt.block_on(Node::start(c.settings().unwrap())).unwrap();
    let url = format!("http://{}", node.http_addr);
    let enroll = |extra: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec!["--node".into(), url.clone()];
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v.extend(
            [
                "enroll",
                "--key",
                "bureau.key",
                "--participant",
                "farm.key",
                "--name",
                "Hillside Farm",
                "--role",
                "farm",
                "--location",
                "Valley",
            ]
            .map(str::to_owned),
        );
        v
    };
    let args = enroll(&[]);
    let err = env.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("--node-token") && err.contains("401"), "{err}");
    let args = enroll(&["--node-token", "0123"]);
    let err = env.fails(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(err.contains("does not accept the write token"), "{err}");
    let args = enroll(&["--node-token", &token]);
    let done = env.json(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(done.is_object(), "{done}");
    let parts = env.json(&["--node", &url, "participants"]);
    assert!(parts.to_string().contains("Hillside Farm"), "{parts}");
    rt.block_on(node.stop()).unwrap();
}

/// Polls `cond` every 50 ms until it holds, failing after 60 s.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "timed out: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The shopper's worst case, end to end against a real node whose
/// regulator signs checkpoints: a bundle exported before a recall says
/// "not recalled as of" its checkpoint's time offline, and once the node
/// has checkpointed the recall, verifying it against the node reads
/// recalled — though the bundle itself holds no recall record.
#[test]
fn an_old_bundle_reads_recalled_once_the_node_checkpoints_the_recall() {
    let env = Env::new();
    for (file, name) in [("bureau", "淳安县农业农村局"), ("farm", "鸠坑茶园")] {
        env.json(&[
            "key",
            "new",
            "--out",
            &format!("{file}.key"),
            "--name",
            name,
        ]);
    }
    let founded = env.json(&[
        "--ledger",
        "founding",
        "init",
        "--network",
        "recall test",
        "--authority-key",
        "bureau.key",
    ]);
    let network = founded["network_id"].as_str().unwrap().to_owned();
    let genesis = env.path("founding/genesis.json");
    let rt = tokio::runtime::Runtime::new().unwrap();
    let data = env.path("node");
    terroir_node::init(&data, &genesis).unwrap();
    let mut c = Config::new(data.clone(), genesis.clone());
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    c.http = "127.0.0.1:0".parse().unwrap();
    c.checkpoints.key = Some(env.path("bureau.key"));
    c.checkpoints.interval_ms = 200;
    let node = rt.block_on(Node::start(c.settings().unwrap())).unwrap();
    let url = format!("http://{}", node.http_addr);
    let at = |args: &[&str]| {
        let mut v = vec!["--node", url.as_str()];
        v.extend_from_slice(args);
        env.json(&v)
    };
    let genesis_arg = genesis.display().to_string();
    let checkpointed = |records: u64| {
        let o = env.run(&[
            "--json",
            "--node",
            &url,
            "checkpoint",
            "show",
            "--genesis",
            &genesis_arg,
        ]);
        o.status.success()
            && serde_json::from_slice::<Value>(&o.stdout).unwrap()["size"].as_u64() == Some(records)
    };

    at(&[
        "enroll",
        "--key",
        "bureau.key",
        "--participant",
        "farm.key",
        "--name",
        "鸠坑茶园",
        "--role",
        "farm",
        "--location",
        "淳安县",
    ]);
    at(&[
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        "JK-0401",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "120kg",
    ]);
    wait_until("the node checkpoints the harvest", || checkpointed(2));
    at(&["bundle", "JK-0401", "-o", "old.bundle"]);
    let v = env.json(&["verify", "old.bundle", "--network", &network]);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("not recalled as of"),
        "{v}"
    );

    at(&[
        "record",
        "recall",
        "--key",
        "bureau.key",
        "--lot",
        "JK-0401",
        "--reason",
        "农药残留超标",
    ]);
    wait_until("the node checkpoints the recall", || checkpointed(3));
    // Offline, the old bundle can only speak for its own checkpoint.
    let v = env.json(&["verify", "old.bundle", "--network", &network]);
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .starts_with("not recalled as of"),
        "{v}"
    );
    // Against the node's newest checkpoint it reads recalled.
    let v = at(&["verify", "old.bundle", "--network", &network]);
    assert_eq!(v["overall"], "recalled", "{v}");
    let o = env.run(&[
        "--node",
        &url,
        "verify",
        "old.bundle",
        "--network",
        &network,
        "--strict",
    ]);
    assert_eq!(o.status.code(), Some(1), "--strict refuses a recalled lot");
    // The node's status names the checkpoint and who signed it.
    let st = at(&["status"]);
    assert_eq!(
        st["checkpoint"]["height"].as_u64().map(|h| h >= 1),
        Some(true),
        "{st}"
    );
    rt.block_on(node.stop()).unwrap();
}

/// Issue 14: a station working through `--node` reads what it reads
/// locally — holdings, its lot's QR code, a lot's export, what a recall
/// must reach, and the node's recall, revocation and fork counts — and a
/// replica answers the same reads once the node is gone.
#[test]
fn every_read_command_works_through_a_node_and_on_a_replica() {
    let env = Env::new();
    env.keys(&[
        ("bureau", "County Bureau"),
        ("farm", "Hillside Farm"),
        ("coop", "Tea Coop"),
        ("thief", "Lost Laptop"),
    ]);
    let genesis = env.found("reads test", &[]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = start_node(&rt, &env.path("node"), &genesis);
    let url = format!("http://{}", node.http_addr);
    let n = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["--node".to_owned(), url.clone()];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    };
    let json = |args: &[&str]| {
        let v = n(args);
        env.json(&v.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let human = |args: &[&str]| {
        let v = n(args);
        let o = env.run(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            o.status.success(),
            "terroir {v:?} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    };

    env.enroll_through(
        &url,
        &[
            ("farm", "Hillside Farm", "farm"),
            ("coop", "Tea Coop", "processor"),
            ("thief", "Lost Laptop", "farm"),
        ],
    );
    json(&[
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        "LEAF-1",
        "--product",
        "fresh leaf",
        "--quantity",
        "500kg",
    ]);
    let ship = json(&[
        "record",
        "ship",
        "--key",
        "farm.key",
        "--lot",
        "LEAF-1",
        "--quantity",
        "200kg",
        "--to",
        "Tea Coop",
    ]);
    json(&[
        "record",
        "receive",
        "--key",
        "coop.key",
        "--shipment",
        ship["record"].as_str().unwrap(),
    ]);
    json(&[
        "record",
        "transform",
        "--key",
        "coop.key",
        "--process",
        "dry",
        "--input",
        "LEAF-1=200kg",
        "--output",
        "TEA-1=200kg",
        "--product",
        "green tea",
    ]);

    // holdings
    let h = json(&["holdings", "Hillside Farm"]);
    let held = h["holdings"].as_array().unwrap();
    assert_eq!(held.len(), 1, "{h}");
    assert_eq!(held[0]["lot"]["code"], "LEAF-1", "{h}");
    assert_eq!(held[0]["quantity"]["amount"], 300_000, "{h}");
    assert_eq!(h["name"], "Hillside Farm");
    let text = human(&["holdings", "Tea Coop"]);
    assert!(text.contains("TEA-1") && text.contains("200 kg"), "{text}");

    // qr: the URL at the base given, and a PNG written.
    let q = json(&[
        "qr",
        "TEA-1",
        "-o",
        "tea.png",
        "--base-url",
        "https://id.example",
    ]);
    let link = q["url"].as_str().unwrap();
    assert!(
        link.starts_with("https://id.example/lot/") && link.ends_with("/TEA-1"),
        "{q}"
    );
    let png = std::fs::read(env.path("tea.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a PNG file");

    // export of one lot, from the node's verified bundle; a whole ledger
    // is refused in one line.
    let e = json(&["export", "epcis", "TEA-1", "-o", "tea.jsonld"]);
    assert!(e["count"].as_u64().unwrap() >= 4, "{e}");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("tea.jsonld")).unwrap()).unwrap();
    assert!(doc.to_string().contains("TEA-1"), "{doc}");
    let f = json(&["export", "fsma", "TEA-1", "-o", "tea.csv"]);
    assert!(f["count"].as_u64().unwrap() >= 1, "{f}");
    for args in [
        ["export", "epcis", "--all", "-o", "all.jsonld"].as_slice(),
        ["export", "fsma", "-o", "all.csv"].as_slice(),
    ] {
        let v = n(args);
        let err = env.fails(&v.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(err.contains("local ledger") && err.contains("LOT"), "{err}");
    }

    // trace --downstream: what a recall reaches, with holders.
    let t = json(&["trace", "LEAF-1", "--downstream"]);
    let reach = t["reach"].as_array().unwrap();
    assert_eq!(reach.len(), 1, "{t}");
    assert_eq!(reach[0]["lot"]["code"], "TEA-1", "{t}");
    assert!(reach[0]["holders"].to_string().contains("200000"), "{t}");
    let text = human(&["trace", "LEAF-1", "--downstream"]);
    assert!(
        text.contains("A recall of lot LEAF-1") && text.contains("TEA-1"),
        "{text}"
    );

    // status: recalls, revocations and forks.
    let st = json(&["status"]);
    assert_eq!(
        (&st["recalls"], &st["revocations"], &st["forks"]),
        (&json!(0), &json!(0), &json!(0)),
        "{st}"
    );
    json(&[
        "record",
        "recall",
        "--key",
        "bureau.key",
        "--lot",
        "LEAF-1",
        "--reason",
        "pesticide residue",
    ]);
    json(&[
        "revoke",
        "--key",
        "bureau.key",
        "--participant",
        "Lost Laptop",
        "--distrust-all",
        "--reason",
        "laptop stolen",
    ]);
    let st = json(&["status"]);
    assert_eq!(
        (&st["recalls"], &st["revocations"], &st["forks"]),
        (&json!(1), &json!(1), &json!(0)),
        "{st}"
    );
    let text = human(&["status"]);
    assert!(
        text.contains("1 recall(s), 1 revocation(s), 0 fork proof(s)"),
        "{text}"
    );
    let remote_reach = json(&["trace", "LEAF-1", "--downstream"])["reach"].clone();
    let remote_export = json(&["export", "epcis", "LEAF-1", "-o", "node-leaf.jsonld"]);

    // A replica: its status names the node and its outbox; it answers the
    // same reads, the same way, after the node is gone.
    env.json(&["--ledger", "station", "join", "--node", &url]);
    let o = env.run(&["--ledger", "station", "status"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(&format!("replica of {url} · last synced "))
            && text.contains(" · 0 waiting · 0 refused"),
        "{text}"
    );
    let st = env.json(&["--ledger", "station", "status"]);
    assert_eq!(st["replica"]["node"], url.as_str(), "{st}");
    assert_eq!(st["replica"]["waiting"], 0, "{st}");
    assert_eq!(st["recalls"], 1, "{st}");
    rt.block_on(node.stop()).unwrap();

    let h = env.json(&["--ledger", "station", "holdings", "Hillside Farm"]);
    assert_eq!(h["holdings"][0]["quantity"]["amount"], 300_000, "{h}");
    let q = env.json(&[
        "--ledger",
        "station",
        "qr",
        "TEA-1",
        "-o",
        "station.png",
        "--base-url",
        "https://id.example",
    ]);
    assert_eq!(q["url"].as_str(), Some(link), "{q}");
    assert!(std::fs::read(env.path("station.png"))
        .unwrap()
        .starts_with(b"\x89PNG"));
    let t = env.json(&["--ledger", "station", "trace", "LEAF-1", "--downstream"]);
    assert_eq!(t["reach"], remote_reach, "the replica and the node agree");
    let e = env.json(&[
        "--ledger",
        "station",
        "export",
        "epcis",
        "LEAF-1",
        "-o",
        "station-leaf.jsonld",
    ]);
    assert_eq!(e["count"], remote_export["count"], "{e} vs {remote_export}");
}
