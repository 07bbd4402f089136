//! Issue 12: a 2|2 network partition over real `terroird` processes, each
//! in its own Linux network namespace. Nodes A and B (side 1) and C and D
//! (side 2) start fully connected and share a workload. Then the link
//! between the two sides is cut: within 10 s every node must show the
//! other side's peers as lost (gone from `/status` `peers`, listed in
//! `peers_lost`; `/metrics` `terroir_peers_connected` no longer counts
//! them and `terroir_peers_lost` does). Both sides write while split
//! (records cross to the own side, never to the other), and C is killed
//! and started again on its data dir. The split is held 20 s in all (no
//! record crosses, no node lists the other side again). Within 10 s of
//! healing the link all four nodes must hold every record and one state
//! digest: the one a single ledger reaches on all of them.
//!
//! The network, built by the test with `ip` (iproute2) and torn down when
//! the test ends, even on a panic:
//!
//! ```text
//!   namespace terpXs ("switch")
//!     br0 ──l0══l1── br1              l0/l1: a veth pair; the partition
//!     │  │           │  │             sets both ends down, the heal up
//!     p0 p1          p2 p3
//!     ║  ║           ║  ║             10.99.X.11-14/24 (libp2p :7700)
//!     A  B           C  D             a namespace each: terpXa ... terpXd
//!     ║  ║           ║  ║             10.98.X.4i+2/30 (HTTP :8700)
//!   root namespace (the test): terpXa ... terpXd, 10.98.X.4i+1/30
//! ```
//!
//! The test reaches each node's HTTP API over its own point-to-point link
//! from the root namespace, so it sees both sides while they cannot see
//! each other. No path between the sides goes through the root namespace:
//! a node's only route to the other nodes (10.99.X.0/24) is its bridge
//! leg, it has no default route, and libp2p listens on the bridge address
//! alone. X, the namespaces' and root links' number, is claimed per run:
//! the first free one from the test process's pid, taken by creating the
//! switch namespace (atomic: a second `ip netns add` of a name fails), so
//! concurrent runs on one machine never share names or subnets.
//!
//! Needs root (CI runs as root); without the privilege, or without `ip`,
//! the test prints `SKIPPED: <reason>` and passes, unless
//! `TERROIR_REQUIRE_NETNS` is set (as `.ci/run` does): then it fails.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::{
    expected_digest, harvest, http, init_data_dir, resume, workload, write_genesis, DEADLINE,
};
use ledger_core::workload::{Workload, T0};
use ledger_core::SignedRecord;
use serde_json::Value;
use terroir_node::Config;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");
/// How long after the split every node may take to show its lost peers.
const LOST_SHOWN_WITHIN: Duration = Duration::from_secs(10);
/// How long after the heal the four nodes may take to reach one digest.
const ONE_DIGEST_WITHIN: Duration = Duration::from_secs(10);
/// How long the sides stay apart (from the split to the heal): long
/// enough that a node redialling the other side has failed many times and
/// backed off, so that one digest within 10 s of the heal is not a retry
/// that happened to be due.
const SPLIT_HELD: Duration = Duration::from_secs(20);
/// Interval between polls of a condition.
const POLL: Duration = Duration::from_millis(50);
/// Records every node holds before the split.
const BASE_RECORDS: usize = 200;
/// Records written on each side while split (side 2 writes half of them
/// before C's restart, half after).
const SPLIT_WRITES: usize = 20;
const HTTP_PORT: u16 = 8700;
const P2P_PORT: u16 = 7700;
/// The nodes: A and B on side 1 (br0), C and D on side 2 (br1).
const NAMES: [&str; 4] = ["A", "B", "C", "D"];
/// Prefix of the namespaces and root-namespace links the test creates.
const PREFIX: &str = "terp";
/// Candidates for X (the run's number): X is in 20..20 + SLOTS.
const SLOTS: u32 = 200;

fn side(i: usize) -> usize {
    i / 2
}

/// Runs `ip ARGS`.
fn ip(args: &[&str]) -> std::io::Result<Output> {
    Command::new("ip").args(args).stdin(Stdio::null()).output()
}

/// Runs `ip ARGS` and fails the test with its stderr if it fails.
fn ip_ok(args: &[&str]) {
    let out = ip(args).unwrap_or_else(|e| panic!("ip {}: {e}", args.join(" ")));
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr).trim()
    );
}

/// The effective uid of this process (from procfs).
fn euid() -> Option<u32> {
    std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The test's network (see the module doc). Dropping it deletes the root
/// links and the namespaces; a node process still inside one must be
/// stopped first ([`Cluster`] drops its nodes before its network).
struct Net {
    x: u32,
    /// Namespaces created so far (deleted on drop).
    namespaces: Vec<String>,
    /// Root-namespace links created so far (deleted on drop).
    root_links: Vec<String>,
}

impl Net {
    /// Claims a free X and builds the network, or says why the test must
    /// be skipped. Fails the test if the network cannot be built once the
    /// first namespace exists: from there on, the privilege is there.
    fn build() -> Result<Net, String> {
        match euid() {
            Some(0) => {}
            Some(uid) => {
                return Err(format!(
                    "not root (uid {uid}): network namespaces need root"
                ))
            }
            None => return Err("cannot read this process's uid from /proc".into()),
        }
        match Command::new("ip").arg("-V").output() {
            Ok(o) if o.status.success() => {}
            Ok(o) => {
                return Err(format!(
                    "`ip -V` failed: {}",
                    String::from_utf8_lossy(&o.stderr).trim()
                ))
            }
            Err(e) => return Err(format!("the `ip` tool (iproute2) is missing: {e}")),
        }
        // Subnets 10.98.X.0/24 already in the root namespace are not ours.
        let root_addrs = ip(&["-4", "-o", "addr", "show"])
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        let first = std::process::id() % SLOTS;
        for k in 0..SLOTS {
            let x = 20 + (first + k) % SLOTS;
            if root_addrs.contains(&format!(" 10.98.{x}.")) {
                continue;
            }
            let switch = format!("{PREFIX}{x}s");
            let out = ip(&["netns", "add", &switch])
                .map_err(|e| format!("`ip netns add {switch}`: {e}"))?;
            if out.status.success() {
                let mut net = Net {
                    x,
                    namespaces: vec![switch],
                    root_links: Vec::new(),
                };
                net.wire();
                return Ok(net);
            }
            let err = String::from_utf8_lossy(&out.stderr);
            if !err.contains("File exists") {
                return Err(format!("`ip netns add {switch}` failed: {}", err.trim()));
            }
        }
        panic!(
            "all {SLOTS} namespace numbers are taken: are namespaces {PREFIX}* left over from \
             killed runs? (`ip netns list`)"
        );
    }

    fn switch(&self) -> String {
        format!("{PREFIX}{}s", self.x)
    }

    /// Node `i`'s namespace, and its link's name in the root namespace.
    fn ns(&self, i: usize) -> String {
        format!("{PREFIX}{}{}", self.x, NAMES[i].to_ascii_lowercase())
    }

    /// Node `i`'s address on the bridges (libp2p).
    fn node_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 99, self.x as u8, 11 + i as u8)
    }

    /// Node `i`'s address on its link to the root namespace (HTTP).
    fn mgmt_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 98, self.x as u8, 4 * i as u8 + 2)
    }

    fn root_addr(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(10, 98, self.x as u8, 4 * i as u8 + 1)
    }

    fn multiaddr(&self, i: usize) -> String {
        format!("/ip4/{}/tcp/{P2P_PORT}", self.node_addr(i))
    }

    fn wire(&mut self) {
        let s = self.switch();
        ip_ok(&["-n", &s, "link", "set", "lo", "up"]);
        for br in ["br0", "br1"] {
            ip_ok(&["-n", &s, "link", "add", br, "type", "bridge"]);
            ip_ok(&["-n", &s, "link", "set", br, "up"]);
        }
        ip_ok(&[
            "-n", &s, "link", "add", "l0", "type", "veth", "peer", "name", "l1",
        ]);
        for (l, br) in [("l0", "br0"), ("l1", "br1")] {
            ip_ok(&["-n", &s, "link", "set", l, "master", br]);
            ip_ok(&["-n", &s, "link", "set", l, "up"]);
        }
        for i in 0..NAMES.len() {
            let ns = self.ns(i);
            ip_ok(&["netns", "add", &ns]);
            self.namespaces.push(ns.clone());
            ip_ok(&["-n", &ns, "link", "set", "lo", "up"]);
            // Its leg into its side's bridge.
            let port = format!("p{i}");
            ip_ok(&[
                "-n", &s, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ]);
            let br = format!("br{}", side(i));
            ip_ok(&["-n", &s, "link", "set", &port, "master", &br]);
            ip_ok(&["-n", &s, "link", "set", &port, "up"]);
            let addr = format!("{}/24", self.node_addr(i));
            ip_ok(&["-n", &ns, "addr", "add", &addr, "dev", "eth0"]);
            ip_ok(&["-n", &ns, "link", "set", "eth0", "up"]);
            // Its link to the test, in the root namespace.
            ip_ok(&[
                "link", "add", &ns, "type", "veth", "peer", "name", "mgmt", "netns", &ns,
            ]);
            self.root_links.push(ns.clone());
            let root = format!("{}/30", self.root_addr(i));
            ip_ok(&["addr", "add", &root, "dev", &ns]);
            ip_ok(&["link", "set", &ns, "up"]);
            let mgmt = format!("{}/30", self.mgmt_addr(i));
            ip_ok(&["-n", &ns, "addr", "add", &mgmt, "dev", "mgmt"]);
            ip_ok(&["-n", &ns, "link", "set", "mgmt", "up"]);
        }
    }

    /// Cuts (`false`) or restores (`true`) the link between the bridges.
    fn bridge_link(&self, up: bool) {
        let s = self.switch();
        let state = if up { "up" } else { "down" };
        for l in ["l0", "l1"] {
            ip_ok(&["-n", &s, "link", "set", l, state]);
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for l in &self.root_links {
            let _ = ip(&["link", "del", l]);
        }
        for ns in self.namespaces.iter().rev() {
            let _ = ip(&["netns", "del", ns]);
        }
    }
}

/// One `terroird`, run in its namespace; killed when dropped.
struct Node {
    name: &'static str,
    ns: String,
    config: PathBuf,
    http: SocketAddr,
    /// Its stderr, over all its runs.
    log: PathBuf,
    child: Option<Child>,
}

impl Node {
    fn spawn(&mut self) {
        assert!(self.child.is_none(), "{} is running", self.name);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        // `ip netns exec` enters the namespace and execs terroird in its
        // place: the child is terroird itself.
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns, BIN, "run", "--config"])
            .arg(&self.config)
            // Quiet, plain logs: their tails are printed when the test fails.
            .env("RUST_LOG", "info,libp2p_gossipsub=error")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Waits until the node answers `/status`; returns it.
    async fn wait_up(&mut self) -> Value {
        let start = Instant::now();
        loop {
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{} exited while starting ({st}):\n{}",
                    self.name,
                    tail(&self.log, 20)
                );
            }
            if tokio::net::TcpStream::connect(self.http).await.is_ok() {
                let (code, body) = http(self.http, "GET", "/status", None).await;
                if code == 200 {
                    return serde_json::from_slice(&body).unwrap();
                }
            }
            assert!(
                start.elapsed() < DEADLINE,
                "{} did not start:\n{}",
                self.name,
                tail(&self.log, 20)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// SIGKILL.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    async fn status(&self) -> Value {
        let (code, body) = http(self.http, "GET", "/status", None).await;
        assert_eq!(
            code,
            200,
            "{}: GET /status: {}",
            self.name,
            String::from_utf8_lossy(&body)
        );
        serde_json::from_slice(&body).unwrap()
    }

    /// Every sample of `/metrics`, by name.
    async fn metrics(&self) -> HashMap<String, f64> {
        let (code, body) = http(self.http, "GET", "/metrics", None).await;
        assert_eq!(code, 200, "{}: GET /metrics", self.name);
        String::from_utf8(body)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (name, v) = l.split_once(' ')?;
                Some((name.to_owned(), v.trim().parse().ok()?))
            })
            .collect()
    }

    /// Submits `records` in one request; each must be accepted.
    async fn submit_accepted(&self, records: &[SignedRecord]) {
        let hexes: Vec<String> = records.iter().map(|r| hex::encode(r.encode())).collect();
        let body = serde_json::json!({ "records": hexes }).to_string();
        let (code, body) = http(self.http, "POST", "/records", Some(body.as_bytes())).await;
        let text = String::from_utf8_lossy(&body);
        assert_eq!(code, 200, "{}: POST /records: {text}", self.name);
        let v: Value = serde_json::from_slice(&body).unwrap();
        for r in v["results"].as_array().unwrap() {
            assert_eq!(r["outcome"], "accepted", "{}: {r}", self.name);
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// The last `n` lines of the file at `path`.
fn tail(path: &Path, n: usize) -> String {
    let Ok(f) = std::fs::File::open(path) else {
        return String::new();
    };
    let lines: Vec<String> = std::io::BufReader::new(f)
        .lines()
        .map_while(Result::ok)
        .collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// The nodes and their network. Fields drop in order: the nodes are
/// killed before their namespaces go. On a panic, the end of each node's
/// log is printed.
struct Cluster {
    nodes: Vec<Node>,
    /// The nodes' peer ids, once they are up (for the log tails).
    ids: Vec<String>,
    net: Net,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let mut err = std::io::stderr().lock();
            for (name, id) in NAMES.iter().zip(&self.ids) {
                let _ = writeln!(err, "{name} is peer {id}");
            }
            for n in &self.nodes {
                let _ = writeln!(
                    err,
                    "--- {} ({}) log tail:\n{}",
                    n.name,
                    n.ns,
                    tail(&n.log, 15)
                );
            }
        }
    }
}

/// The peer ids in `/status` field `field` (`peers` or `peers_lost`),
/// or a message saying the field is not there.
fn peer_ids(node: &str, status: &Value, field: &str) -> Result<Vec<String>, String> {
    let Some(list) = status.get(field).and_then(Value::as_array) else {
        return Err(format!(
            "{node}: GET /status has no `{field}` array of {{\"peer_id\": ...}} objects"
        ));
    };
    list.iter()
        .map(|p| {
            p.get("peer_id")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{node}: an entry of `{field}` has no `peer_id`: {p}"))
        })
        .collect()
}

/// What still keeps node `i` from showing the other side as lost, given
/// every node's peer id (empty when it shows them).
async fn lost_unmet(c: &Cluster, i: usize, ids: &[String]) -> Vec<String> {
    let node = &c.nodes[i];
    let name = node.name;
    let others: Vec<usize> = (0..NAMES.len()).filter(|j| side(*j) != side(i)).collect();
    let st = node.status().await;
    let mut unmet = Vec::new();
    match peer_ids(name, &st, "peers") {
        Ok(peers) => {
            for &j in &others {
                if peers.contains(&ids[j]) {
                    unmet.push(format!("{name} still lists {} in `peers`", NAMES[j]));
                }
            }
        }
        Err(e) => unmet.push(e),
    }
    match peer_ids(name, &st, "peers_lost") {
        Ok(lost) => {
            for &j in &others {
                if !lost.contains(&ids[j]) {
                    unmet.push(format!("{name}'s `peers_lost` lacks {}", NAMES[j]));
                }
            }
        }
        Err(e) => unmet.push(e),
    }
    let m = node.metrics().await;
    match m.get("terroir_peers_connected") {
        // Its own side's one peer at most.
        Some(&n) if n <= 1.0 => {}
        Some(n) => unmet.push(format!(
            "{name}: terroir_peers_connected is {n}, the other side still counted"
        )),
        None => unmet.push(format!("{name}: /metrics has no terroir_peers_connected")),
    }
    match m.get("terroir_peers_lost") {
        Some(&n) if n >= others.len() as f64 => {}
        Some(n) => unmet.push(format!(
            "{name}: terroir_peers_lost is {n}, {} peers lost",
            others.len()
        )),
        None => unmet.push(format!("{name}: /metrics has no terroir_peers_lost gauge")),
    }
    unmet
}

/// Whether the other side has left every node's `peers` (today's code
/// shows this, if anything, before `peers_lost` exists).
async fn other_side_gone(c: &Cluster, ids: &[String]) -> bool {
    for (i, n) in c.nodes.iter().enumerate() {
        let Ok(peers) = peer_ids(n.name, &n.status().await, "peers") else {
            return false;
        };
        if (0..NAMES.len()).any(|j| side(j) != side(i) && peers.contains(&ids[j])) {
            return false;
        }
    }
    true
}

/// One line per node: records, pending, digest and peers.
async fn summary(c: &Cluster, ids: &[String]) -> String {
    let name_of = |id: &str| {
        ids.iter()
            .position(|x| x == id)
            .map_or_else(|| id.to_owned(), |j| NAMES[j].to_owned())
    };
    let mut lines = Vec::new();
    for n in &c.nodes {
        let st = n.status().await;
        let names = |field: &str| match peer_ids(n.name, &st, field) {
            Ok(v) => format!("{:?}", v.iter().map(|p| name_of(p)).collect::<Vec<_>>()),
            Err(_) => "(absent)".to_owned(),
        };
        lines.push(format!(
            "{}: {} records, {} pending, digest {}, peers {}, peers_lost {}",
            n.name,
            st["records"],
            st["pending"],
            st["state_digest"],
            names("peers"),
            names("peers_lost")
        ));
    }
    lines.join("\n  ")
}

/// Polls until every node's `/status` satisfies `cond` or `within`
/// passes; returns how long it took, or `None`.
async fn poll_all<F>(c: &Cluster, within: Duration, mut cond: F) -> Option<Duration>
where
    F: FnMut(usize, &Value) -> bool,
{
    let start = Instant::now();
    loop {
        let mut all = true;
        for (i, n) in c.nodes.iter().enumerate() {
            if !cond(i, &n.status().await) {
                all = false;
                break;
            }
        }
        if all {
            return Some(start.elapsed());
        }
        if start.elapsed() >= within {
            return None;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `n` harvests by farm `farm`, after every workload record: their causal
/// past (the farm's chain) is on every node before the split.
fn harvests(
    w: &Workload,
    farm: &mut ledger_core::author::Author,
    tag: &str,
    n: usize,
) -> Vec<SignedRecord> {
    let t = w.records.iter().map(|r| r.record.time).max().unwrap_or(T0) + 60_000;
    (0..n)
        .map(|k| farm.sign(t + 1_000 * k as u64, vec![], harvest(&format!("{tag}-{k}"))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partition_two_by_two_shows_lost_peers_and_heals_to_one_digest() {
    let net = match Net::build() {
        Ok(net) => net,
        Err(reason) => {
            // CI runs as root and must run it (.ci/run sets this).
            assert!(
                std::env::var_os("TERROIR_REQUIRE_NETNS").is_none(),
                "TERROIR_REQUIRE_NETNS is set but the namespace test cannot run: {reason}"
            );
            eprintln!("SKIPPED: {reason}");
            return;
        }
    };
    eprintln!(
        "network: namespaces {PREFIX}{x}s (switch), {PREFIX}{x}a-d (nodes), 10.99.{x}.0/24",
        x = net.x
    );
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(BASE_RECORDS);
    let gpath = write_genesis(tmp.path(), &w.genesis);

    let mut nodes = Vec::new();
    for (i, name) in NAMES.iter().enumerate() {
        let data = tmp.path().join(name.to_ascii_lowercase());
        init_data_dir(BIN, &gpath, &data);
        let config = data.join("terroird.toml");
        let mut cfg = Config::load(&config).unwrap();
        cfg.listen = vec![net.multiaddr(i)];
        cfg.http = SocketAddr::from((net.mgmt_addr(i), HTTP_PORT));
        // Every node knows every other: the test is about losing and
        // regaining links, not about discovering peers.
        cfg.bootstrap = (0..NAMES.len())
            .filter(|j| *j != i)
            .map(|j| net.multiaddr(j))
            .collect();
        cfg.mdns = false;
        cfg.limits.sync_interval_ms = 500;
        std::fs::write(&config, cfg.to_toml().unwrap()).unwrap();
        nodes.push(Node {
            name,
            ns: net.ns(i),
            config,
            http: cfg.http,
            log: tmp.path().join(format!("{name}.log")),
            child: None,
        });
    }
    let mut c = Cluster {
        nodes,
        ids: Vec::new(),
        net,
    };
    for n in &mut c.nodes {
        n.spawn();
    }
    for n in &mut c.nodes {
        let st = n.wait_up().await;
        c.ids.push(st["peer_id"].as_str().unwrap().to_owned());
    }
    let ids = c.ids.clone();

    // Before the split: a full mesh, and the base workload everywhere.
    c.nodes[0].submit_accepted(&w.records).await;
    let (base_count, base_digest) = expected_digest(&w.genesis, &w.records);
    let Some(took) = poll_all(&c, DEADLINE, |i, st| {
        let peers = peer_ids(NAMES[i], st, "peers").unwrap_or_default();
        st["records"].as_u64() == Some(base_count)
            && st["state_digest"].as_str() == Some(&base_digest)
            && (0..NAMES.len()).all(|j| j == i || peers.contains(&ids[j]))
    })
    .await
    else {
        panic!(
            "before the split, the nodes never all held the workload and each other:\n  {}",
            summary(&c, &ids).await
        );
    };
    eprintln!("full mesh and {base_count} records everywhere: {took:.1?}");

    // Split: within 10 s, every node shows the other side as lost.
    c.net.bridge_link(false);
    let split = Instant::now();
    let mut gone_at = None;
    let lost_at = loop {
        if gone_at.is_none() && other_side_gone(&c, &ids).await {
            gone_at = Some(split.elapsed());
        }
        let mut unmet = Vec::new();
        for i in 0..NAMES.len() {
            unmet.extend(lost_unmet(&c, i, &ids).await);
        }
        if unmet.is_empty() {
            break split.elapsed();
        }
        assert!(
            split.elapsed() < LOST_SHOWN_WITHIN,
            "{LOST_SHOWN_WITHIN:?} after the split, the lost peers are not shown \
             (the other side left every `peers`: {}):\n  {}\nnodes:\n  {}",
            gone_at.map_or_else(|| "never".to_owned(), |t| format!("after {t:.1?}")),
            unmet.join("\n  "),
            summary(&c, &ids).await
        );
        tokio::time::sleep(POLL).await;
    };
    eprintln!(
        "split: other side gone from `peers` after {:.1?}, lost peers shown after {lost_at:.1?}",
        gone_at.unwrap_or(lost_at)
    );

    // Both sides write: farm 0 on A (side 1), farm 1 on C (side 2).
    let mut farm0 = resume(&w, "farm", 0);
    let mut farm1 = resume(&w, "farm", 1);
    let side1 = harvests(&w, &mut farm0, "SIDE1", SPLIT_WRITES);
    let side2 = harvests(&w, &mut farm1, "SIDE2", SPLIT_WRITES);
    let (side2_before, side2_after) = side2.split_at(SPLIT_WRITES / 2);
    c.nodes[0].submit_accepted(&side1).await;
    c.nodes[2].submit_accepted(side2_before).await;
    // Each side's writes reach its other node, never the other side.
    let want = |i: usize| {
        base_count
            + if side(i) == 0 {
                side1.len() as u64
            } else {
                side2_before.len() as u64
            }
    };
    let Some(took) = poll_all(&c, DEADLINE, |i, st| {
        st["records"].as_u64().is_some_and(|r| r >= want(i))
    })
    .await
    else {
        panic!(
            "the writes made while split did not reach their own side:\n  {}",
            summary(&c, &ids).await
        );
    };
    for (i, n) in c.nodes.iter().enumerate() {
        assert_eq!(
            n.status().await["records"].as_u64(),
            Some(want(i)),
            "records crossed the partition:\n  {}",
            summary(&c, &ids).await
        );
    }
    eprintln!("writes while split reached their own side only: {took:.1?}");

    // C is killed and started again on its data dir, while split; it
    // serves what it stored and takes more writes.
    c.nodes[2].kill();
    c.nodes[2].spawn();
    let st = c.nodes[2].wait_up().await;
    assert_eq!(st["records"].as_u64(), Some(want(2)), "C after its restart");
    c.nodes[2].submit_accepted(side2_after).await;
    eprintln!(
        "C restarted while split and took {} writes",
        side2_after.len()
    );

    // The split holds until SPLIT_HELD: no record crosses it, and no node
    // lists a peer of the other side again (a redial must fail).
    while split.elapsed() < SPLIT_HELD {
        for (i, n) in c.nodes.iter().enumerate() {
            let peers = peer_ids(n.name, &n.status().await, "peers").unwrap();
            for j in (0..NAMES.len()).filter(|j| side(*j) != side(i)) {
                assert!(
                    !peers.contains(&ids[j]),
                    "{} lists {} in `peers` while split, {:.1?} after the split",
                    n.name,
                    NAMES[j],
                    split.elapsed()
                );
            }
            let foreign = if side(i) == 0 { &side2[0] } else { &side1[0] };
            let (code, _) =
                http(n.http, "GET", &format!("/records/{}", foreign.hash()), None).await;
            assert_eq!(
                code, 404,
                "{} holds a record of the other side while split",
                n.name
            );
        }
        tokio::time::sleep(POLL).await;
    }

    // Heal: within 10 s, every node holds everything, at one digest.
    let all: Vec<SignedRecord> = [&w.records[..], &side1, &side2].concat();
    let (count, digest) = expected_digest(&w.genesis, &all);
    c.net.bridge_link(true);
    let Some(healed) = poll_all(&c, ONE_DIGEST_WITHIN, |_, st| {
        st["records"].as_u64() == Some(count)
            && st["pending"].as_u64() == Some(0)
            && st["state_digest"].as_str() == Some(&digest)
    })
    .await
    else {
        panic!(
            "{ONE_DIGEST_WITHIN:?} after the heal, the nodes are not at one digest \
         (expected {count} records, digest {digest}):\n  {}",
            summary(&c, &ids).await
        );
    };
    eprintln!("heal: one digest ({count} records) after {healed:.1?}");
}
