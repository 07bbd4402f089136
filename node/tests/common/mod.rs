//! Helpers for multi-node tests: each test gets its own temp dirs; nodes
//! run in-process over real TCP on 127.0.0.1 with ephemeral ports; a tiny
//! HTTP/1.1 client talks to their APIs; waits poll with a deadline.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ledger_core::author::Author;
use ledger_core::store::MemoryStore;
use ledger_core::workload::{self, Workload};
use ledger_core::{Genesis, Hash, Ledger, LedgerConfig, PublicKey, SignedRecord};
use libp2p::Multiaddr;
use serde_json::Value;
use terroir_node::{Config, Node};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// How long any convergence may take before a test fails.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// Runs `terroird init` for `genesis` into `data` with the binary `bin`,
/// failing the test with its stderr if it does not succeed.
pub fn init_data_dir(bin: &str, genesis: &Path, data: &Path) -> std::process::Output {
    let out = std::process::Command::new(bin)
        .args(["init", "--genesis"])
        .arg(genesis)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn write_genesis(dir: &Path, g: &Genesis) -> PathBuf {
    let p = dir.join("genesis.json");
    std::fs::write(&p, serde_json::to_string_pretty(g).unwrap()).unwrap();
    p
}

/// Points a `terroird init`-written config at a free loopback HTTP port
/// and an ephemeral libp2p port; returns the config path and HTTP address.
pub fn loopback_config(data: &Path) -> (PathBuf, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let path = data.join("terroird.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("127.0.0.1:8700", &format!("127.0.0.1:{port}"))
        .replace("/ip4/0.0.0.0/tcp/7700", "/ip4/127.0.0.1/tcp/0");
    std::fs::write(&path, text).unwrap();
    (path, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Runs `terroird run --config CONFIG` from `bin` and waits (up to
/// [`DEADLINE`]) until its `/status` answers 200; returns the child and
/// the status.
pub async fn run_binary(
    bin: &str,
    config: &Path,
    addr: SocketAddr,
) -> (std::process::Child, Value) {
    let mut child = std::process::Command::new(bin)
        .args(["run", "--config"])
        .arg(config)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "terroird exited while starting"
        );
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let (code, body) = http(addr, "GET", "/status", None).await;
            if code == 200 {
                return (child, serde_json::from_slice(&body).unwrap());
            }
        }
        assert!(start.elapsed() < DEADLINE, "terroird did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub struct TestNode {
    pub node: Option<Node>,
    pub data: PathBuf,
    pub genesis: PathBuf,
    pub http: SocketAddr,
    pub addr: Multiaddr,
}

pub fn config(data: &Path, genesis: &Path, bootstrap: &[Multiaddr]) -> Config {
    let mut c = Config::new(data.to_path_buf(), genesis.to_path_buf());
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    c.http = "127.0.0.1:0".parse().unwrap();
    c.bootstrap = bootstrap.iter().map(|a| a.to_string()).collect();
    c.limits.sync_interval_ms = 500;
    c
}

impl TestNode {
    /// Initializes `data` if it holds no ledger yet, then starts a node.
    pub async fn start(data: &Path, genesis: &Path, bootstrap: &[Multiaddr]) -> TestNode {
        TestNode::start_with(data, genesis, bootstrap, |_| {}).await
    }

    /// [`Self::start`] with the test's config changed by `adjust` first.
    pub async fn start_with(
        data: &Path,
        genesis: &Path,
        bootstrap: &[Multiaddr],
        adjust: impl FnOnce(&mut Config),
    ) -> TestNode {
        if !data.join("ledger").exists() {
            terroir_node::init(data, genesis).unwrap();
        }
        let mut c = config(data, genesis, bootstrap);
        adjust(&mut c);
        let settings = c.settings().unwrap();
        let node = Node::start(settings).await.unwrap();
        TestNode {
            http: node.http_addr,
            addr: node.listen_addrs[0].clone(),
            node: Some(node),
            data: data.to_path_buf(),
            genesis: genesis.to_path_buf(),
        }
    }

    pub async fn stop(&mut self) {
        if let Some(n) = self.node.take() {
            n.stop().await.unwrap();
        }
    }

    pub async fn restart(&mut self, bootstrap: &[Multiaddr]) {
        self.stop().await;
        let fresh = TestNode::start(&self.data, &self.genesis, bootstrap).await;
        *self = fresh;
    }

    pub async fn status(&self) -> Value {
        let (code, body) = http(self.http, "GET", "/status", None).await;
        assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let (code, body) = http(self.http, "GET", path, None).await;
        (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    pub async fn has_record(&self, h: &Hash) -> bool {
        let (code, _) = http(self.http, "GET", &format!("/records/{h}"), None).await;
        assert!(code == 200 || code == 404, "GET /records: {code}");
        code == 200
    }

    /// Submits one record; returns the status code and JSON answer.
    pub async fn submit(&self, r: &SignedRecord) -> (u16, Value) {
        let body = serde_json::json!({ "record": hex::encode(r.encode()) }).to_string();
        let (code, body) = http(self.http, "POST", "/records", Some(body.as_bytes())).await;
        (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
    }

    /// Submits records in batches; every record must be accepted or pending.
    pub async fn submit_all(&self, records: &[SignedRecord], batch: usize) {
        for chunk in records.chunks(batch) {
            let hexes: Vec<String> = chunk.iter().map(|r| hex::encode(r.encode())).collect();
            let body = serde_json::json!({ "records": hexes }).to_string();
            let (code, body) = http(self.http, "POST", "/records", Some(body.as_bytes())).await;
            assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
            let v: Value = serde_json::from_slice(&body).unwrap();
            for r in v["results"].as_array().unwrap() {
                let o = r["outcome"].as_str().unwrap();
                assert!(
                    matches!(o, "accepted" | "pending" | "duplicate"),
                    "submission refused: {r}"
                );
            }
        }
    }
}

/// A minimal HTTP/1.1 client (one request per connection).
pub async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
) -> (u16, Vec<u8>) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let body = body.unwrap_or(&[]);
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("HTTP response head");
    let head = String::from_utf8_lossy(&raw[..split]).to_string();
    let code: u16 = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let mut payload = raw[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    (code, payload)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(std::str::from_utf8(&b[..eol]).unwrap().trim(), 16).unwrap();
        if n == 0 {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + n]);
        b = &b[eol + 2 + n + 2..];
    }
    out
}

/// Polls `cond` every 50 ms until it holds or [`DEADLINE`] passes.
pub async fn wait_for<F, Fut>(what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if cond().await {
            eprintln!("{what}: after {:.1?}", start.elapsed());
            return;
        }
        assert!(start.elapsed() < DEADLINE, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until every node stores `records` records, has an empty pending
/// pool and the given digest.
pub async fn wait_converged(nodes: &[&TestNode], records: u64, digest: &str) {
    wait_for("all nodes at the expected digest", || async {
        for n in nodes {
            let s = n.status().await;
            if s["records"].as_u64() != Some(records)
                || s["pending"].as_u64() != Some(0)
                || s["state_digest"].as_str() != Some(digest)
            {
                return false;
            }
        }
        true
    })
    .await;
}

/// The digest a single in-memory ledger reaches on `records`: the truth
/// every node must converge to.
pub fn expected_digest(genesis: &Genesis, records: &[SignedRecord]) -> (u64, String) {
    let mut l = Ledger::create(
        MemoryStore::default(),
        genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    for chunk in records.chunks(1000) {
        l.ingest(chunk.to_vec(), now()).unwrap();
    }
    (l.len(), l.state_digest().unwrap().to_hex())
}

pub fn now() -> u64 {
    terroir_node::ledger_task::now_ms()
}

pub fn workload(records: usize) -> Workload {
    workload::generate(workload::Shape::for_records(records))
}

/// A harvest of one kilogram of tea with lot code `code`.
pub fn harvest(code: &str) -> ledger_core::Event {
    ledger_core::Event::Harvest {
        lot_code: code.into(),
        product: ledger_core::event::Product {
            description: "tea".into(),
            gtin: None,
        },
        quantity: ledger_core::event::Quantity::new(1_000, ledger_core::event::Unit::Gram),
        location: ledger_core::event::Location {
            description: "field".into(),
            gln: None,
        },
        reference: None,
    }
}

/// An author resumed at its last record in `records`.
pub fn resume(w: &Workload, role: &str, index: usize) -> Author {
    let key = workload::key_for(role, index);
    let head = head_of(w, &key.public());
    Author::resume(key, w.genesis.id(), head)
}

/// An author's last (seq, hash) in the workload.
pub fn head_of(w: &Workload, pk: &PublicKey) -> Option<(u64, Hash)> {
    w.records
        .iter()
        .filter(|r| r.record.author == *pk)
        .map(|r| (r.record.seq, r.hash()))
        .max_by_key(|(s, _)| *s)
}

/// A `terroird` process started by a test; killed when dropped, so a
/// failed assertion never leaves it running.
pub struct Running(pub std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the binary `bin` on loopback for `genesis`, with its data in
/// `dir`; returns it and its HTTP address once `/status` answers.
pub async fn serve_binary(bin: &str, dir: &Path, genesis: &Genesis) -> (Running, SocketAddr) {
    let gpath = write_genesis(dir, genesis);
    let data = dir.join("node");
    init_data_dir(bin, &gpath, &data);
    let (cfg, addr) = loopback_config(&data);
    let (child, _) = run_binary(bin, &cfg, addr).await;
    (Running(child), addr)
}

/// Submits `records` in one request and expects 200.
pub async fn submit_ok(addr: SocketAddr, records: &[SignedRecord]) {
    let hexes: Vec<String> = records.iter().map(|r| hex::encode(r.encode())).collect();
    let body = serde_json::json!({ "records": hexes }).to_string();
    let (code, body) = http(addr, "POST", "/records", Some(body.as_bytes())).await;
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
}

/// The node's stored record count (`/status`).
pub async fn record_count(addr: SocketAddr) -> u64 {
    let (code, body) = http(addr, "GET", "/status", None).await;
    assert_eq!(code, 200);
    let v: Value = serde_json::from_slice(&body).unwrap();
    v["records"].as_u64().unwrap()
}

/// The workload's enrollment of `participant`.
/// `deps`, with `author`'s enrollment added when it signs its first record.
pub fn first_deps(w: &Workload, author: &Author, mut deps: Vec<Hash>) -> Vec<Hash> {
    if author.next_seq() == 0 {
        deps.push(enrollment(w, &author.public()));
    }
    deps
}

pub fn enrollment(w: &Workload, participant: &PublicKey) -> Hash {
    w.records
        .iter()
        .find(|r| {
            matches!(&r.record.event, ledger_core::Event::Enroll { participant: p, .. } if p == participant)
        })
        .map(SignedRecord::hash)
        .unwrap()
}

/// A counter or gauge from the node's `/metrics` (0 when absent).
pub async fn metric(addr: SocketAddr, name: &str) -> u64 {
    let (code, body) = http(addr, "GET", "/metrics", None).await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            (n == name).then(|| v.trim().parse().unwrap())
        })
        .unwrap_or_else(|| panic!("/metrics has no {name}"))
}

/// A free loopback TCP port (bound then let go).
pub fn free_loopback_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits (up to [`DEADLINE`]) until the `terroird` process `child` answers
/// `/status` at `addr`; returns the status. Fails the test if it exits.
pub async fn wait_serving(child: &mut std::process::Child, addr: SocketAddr) -> Value {
    let start = Instant::now();
    loop {
        if let Some(exit) = child.try_wait().unwrap() {
            panic!("terroird exited while starting: {exit}");
        }
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let (code, body) = http(addr, "GET", "/status", None).await;
            if code == 200 {
                return serde_json::from_slice(&body).unwrap();
            }
        }
        assert!(start.elapsed() < DEADLINE, "terroird did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends `signal` (e.g. `-TERM`, `-STOP`) to process `pid`.
pub fn send_signal(pid: u32, signal: &str) {
    let ok = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(ok.success(), "kill {signal} {pid} failed");
}

/// Waits (up to [`DEADLINE`]) for `child` to exit; returns its status.
pub async fn wait_exit(child: &mut std::process::Child) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return s;
        }
        assert!(start.elapsed() < DEADLINE, "terroird did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
