//! Replication: three real `terroird` processes on 127.0.0.1, the
//! pre-signed workload submitted to one of them over HTTP, and how fast and
//! how soon the other two hold it; then a fresh fourth node catching up.
//!
//! The nodes are separate processes (the `terroird` binary next to this
//! one), not in-process nodes: that is how operators run them, each node
//! has its own runtime, sled and allocator, and the bench's own threads
//! (the HTTP client and the pollers) do not share a runtime with them. On
//! a small machine they all still share the cores; the figures say so.
//!
//! What is timed:
//! - **accepted by A**: records / (first POST sent → last POST answered),
//!   batches of [`SUBMIT_BATCH`] sent one after another.
//! - **replicated**: records / (first POST sent → B and C both store every
//!   record with an empty pending pool), read from `GET /metrics` (a
//!   counter, no ledger work); the state digests are compared afterwards.
//! - **propagation latency**: for [`LATENCY_SAMPLES`] records spread over
//!   the workload, from the moment the POST carrying it is sent to A until
//!   `GET /records/{hash}` first finds it on B (and on C). Only records
//!   whose POST has been sent and which a node does not hold yet are
//!   polled, so a sweep is short; its mean duration is reported as the
//!   resolution. The time A takes to answer that POST (its own validation
//!   and durable flush of the whole batch) is reported beside it.
//! - **catch-up**: a fresh node D bootstrapped to A after the others
//!   converged: records / (D's process spawned → D stores every record),
//!   by sync alone (nothing is gossiped any more). D's `/metrics` then
//!   say how many records it was sent (by sync and gossip, duplicates
//!   included) and how many its full pending pool dropped.

use std::io::Read;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::guard::{lock, DiskGuard, Proc};
use crate::ingest::{self, Prepared};

/// Records per `POST /records` (the node's `max_submit_records`).
pub(crate) const SUBMIT_BATCH: usize = 1_000;
/// Records whose propagation is timed.
pub(crate) const LATENCY_SAMPLES: usize = 200;
/// How long a node may take to start.
pub(crate) const START_DEADLINE: Duration = Duration::from_secs(30);
/// Bytes a node's data directory may hold per record before the bench
/// kills the cluster ([`DiskGuard`]): about three times the most any
/// layout so far has needed (5 KB a record at 1M, before the log layout).
pub(crate) const NODE_DISK_PER_RECORD: u64 = 16 << 10;
/// ... plus sled's fixed files and slack.
pub(crate) const NODE_DISK_BASE: u64 = 256 << 20;

/// Where to find `terroird`: the given path, or next to this binary.
pub(crate) fn locate_terroird(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_path_buf(),
        None => std::env::current_exe()
            .context("locating terroir-bench")?
            .with_file_name(format!("terroird{}", std::env::consts::EXE_SUFFIX)),
    };
    if !path.is_file() {
        bail!(
            "the replication figures need the node binary, and {} does not exist: \
             build it with `cargo build --release -p terroir-node` (it lands next to \
             terroir-bench), pass --terroird PATH, or skip them with --replicate 0",
            path.display()
        );
    }
    Ok(path)
}

/// A latency distribution in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LatencyMs {
    pub samples: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl LatencyMs {
    pub(crate) fn of(mut ms: Vec<f64>) -> Self {
        ms.sort_by(f64::total_cmp);
        let at = |q: f64| {
            if ms.is_empty() {
                0.0
            } else {
                ms[((ms.len() - 1) as f64 * q).round() as usize]
            }
        };
        LatencyMs {
            samples: ms.len(),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
            max_ms: ms.last().copied().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ReplicationFigures {
    /// Nodes replicating the submissions (A, B, C).
    pub nodes: usize,
    /// Records submitted to A.
    pub records: usize,
    /// Records per POST.
    pub submit_batch: usize,
    /// Records/s A accepted (validated and durably stored) over HTTP.
    pub accepted_per_s: f64,
    /// Records/s until B and C both held every record.
    pub replicated_per_s: f64,
    /// How long after A's last answer B and C held every record (ms).
    pub lag_after_last_ack_ms: f64,
    /// POST sent to A → record stored on B or C (one sample per record and
    /// node).
    pub propagation: LatencyMs,
    /// POST sent to A → A's answer, for the same records.
    pub submit_ack: LatencyMs,
    /// Mean duration of one polling sweep: the latency figures' resolution.
    pub poll_sweep_ms: f64,
    /// B's and C's state digests equal A's at the end.
    pub digests_equal: bool,
    /// Records B and C received by gossip (sum over both; duplicates
    /// included, since each may hear a record from A and from the other).
    pub gossip_received: u64,
    /// Records B and C received by sync (sum over both).
    pub sync_received: u64,
    /// Of those, records B and C already stored when they arrived: fetched
    /// for nothing (sum over both).
    pub sync_redundant: u64,
    /// Gossip messages B and C ignored unvalidated because they were busy
    /// (sum over both); those records then come by sync.
    pub gossip_dropped: u64,
    /// Records B and C dropped because their pending pool was full (sum
    /// over both).
    pub pool_full: u64,
    /// Fresh node D: process spawned → API answering (ms).
    pub fresh_node_start_ms: f64,
    /// Fresh node D: process spawned → every record stored (ms). Sync
    /// starts as soon as D connects, often before its API answers, so the
    /// clock starts at the spawn and includes D's start-up.
    pub catch_up_ms: f64,
    /// Records/s D took in by sync.
    pub catch_up_per_s: f64,
    /// Records D received while catching up, by sync and gossip,
    /// duplicates included.
    pub catch_up_received: u64,
    /// Records D dropped because its pending pool was full.
    pub catch_up_pool_full: u64,
    /// D's digest equals A's at the end.
    pub catch_up_digest_equal: bool,
}

/// A `terroird` child process; killed (SIGKILL) and reaped on drop.
pub(crate) struct NodeProc {
    pub(crate) name: &'static str,
    child: Proc,
    pub(crate) http: SocketAddr,
    pub(crate) p2p: String,
    pub(crate) log: PathBuf,
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The tail of a node's log, for error messages.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(10)..].join("\n")
}

/// Removes ANSI colour escapes (`ESC [ … m`) from a log line.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The value of `key=VALUE` in a log line.
fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// What a node is told besides its data dir and genesis.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    /// Peers to dial (multiaddrs).
    pub bootstrap: Vec<String>,
    /// The config's `[limits]` table (TOML lines; empty: the defaults).
    pub limits: String,
}

impl Setup {
    /// Default limits, these peers.
    fn boot(bootstrap: &[String]) -> Self {
        Setup {
            bootstrap: bootstrap.to_vec(),
            limits: String::new(),
        }
    }
}

/// Starts `terroird run --config CONFIG` with its log (plain, info
/// level) written to `log`; the caller waits for it to answer.
pub(crate) fn spawn_run(
    terroird: &Path,
    config: &Path,
    log: &Path,
) -> anyhow::Result<std::process::Child> {
    let log_file =
        std::fs::File::create(log).with_context(|| format!("creating {}", log.display()))?;
    Command::new(terroird)
        .arg("run")
        .arg("--config")
        .arg(config)
        .env("RUST_LOG", "terroir_node=info")
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("starting {} run", terroird.display()))
}

/// `init`s a data dir and runs a node on ephemeral ports, returning once
/// its log names both addresses and `GET /status` answers.
pub(crate) fn start_node(
    name: &'static str,
    terroird: &Path,
    dir: &Path,
    genesis: &Path,
    setup: &Setup,
    agent: &ureq::Agent,
    guard: &DiskGuard,
) -> anyhow::Result<NodeProc> {
    let data = dir.join(name);
    let out = Command::new(terroird)
        .arg("init")
        .arg("--genesis")
        .arg(genesis)
        .arg("--data")
        .arg(&data)
        .output()
        .with_context(|| format!("running {} init", terroird.display()))?;
    if !out.status.success() {
        bail!(
            "terroird init for node {name} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    let config = serde_json::json!({
        "data_dir": data,
        "genesis": genesis,
        "listen": ["/ip4/127.0.0.1/tcp/0"],
        "bootstrap": setup.bootstrap,
        "http": "127.0.0.1:0",
    });
    let mut toml = json_to_toml(&config)?;
    if !setup.limits.is_empty() {
        toml.push_str("\n[limits]\n");
        toml.push_str(&setup.limits);
    }
    let config_path = data.join("terroird.toml");
    std::fs::write(&config_path, toml)
        .with_context(|| format!("writing {}", config_path.display()))?;
    let log = data.join("terroird.log");
    let child = spawn_run(terroird, &config_path, &log)?;
    // From here on the child is killed on every early return.
    let mut node = NodeProc {
        name,
        child: Arc::new(Mutex::new(child)),
        http: SocketAddr::from(([127, 0, 0, 1], 0)),
        p2p: String::new(),
        log,
    };
    guard.watch(name, &data, &node.child);
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let exited = lock(&node.child).try_wait()?;
        if let Some(status) = exited {
            bail!(
                "node {name} exited with {status} while starting:\n{}",
                log_tail(&node.log)
            );
        }
        if Instant::now() > deadline {
            bail!(
                "node {name} did not start within {START_DEADLINE:?}:\n{}",
                log_tail(&node.log)
            );
        }
        let text = strip_ansi(&std::fs::read_to_string(&node.log).unwrap_or_default());
        let http = text
            .lines()
            .filter(|l| l.contains("HTTP API listening"))
            .find_map(|l| field(l, "http_addr")?.parse::<SocketAddr>().ok());
        let p2p = text
            .lines()
            .filter(|l| l.contains("libp2p listening"))
            .find_map(|l| field(l, "address"));
        if let (Some(http), Some(p2p)) = (http, p2p) {
            node.http = http;
            node.p2p = p2p.to_owned();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    while get(agent, node.http, "/status")?.0 != 200 {
        if Instant::now() > deadline {
            bail!("node {name}'s /status did not answer 200");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(node)
}

/// Creates `dir` with the genesis file the nodes read, and the HTTP
/// client that talks to them (statuses are answers, not errors).
pub(crate) fn prepare_cluster(
    dir: &Path,
    genesis: &ledger_core::Genesis,
) -> anyhow::Result<(PathBuf, ureq::Agent)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join("genesis.json");
    std::fs::write(&path, serde_json::to_string_pretty(genesis)?)
        .with_context(|| format!("writing {}", path.display()))?;
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(60)))
        .build()
        .into();
    Ok((path, agent))
}

/// `terroird.toml` text from a flat JSON object of strings and string
/// lists (TOML basic strings share JSON's escapes for what we write).
fn json_to_toml(v: &serde_json::Value) -> anyhow::Result<String> {
    let obj = v.as_object().context("config is not an object")?;
    let mut out = String::new();
    for (k, v) in obj {
        out.push_str(&format!("{k} = {v}\n"));
    }
    Ok(out)
}

/// GET a path; (status, body). Connection errors are errors.
pub(crate) fn get(
    agent: &ureq::Agent,
    addr: SocketAddr,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    let mut resp = agent
        .get(&format!("http://{addr}{path}"))
        .call()
        .with_context(|| format!("GET http://{addr}{path}"))?;
    let code = resp.status().as_u16();
    let mut body = String::new();
    resp.body_mut()
        .as_reader()
        .read_to_string(&mut body)
        .with_context(|| format!("reading GET http://{addr}{path}"))?;
    Ok((code, body))
}

/// Named values from `GET /metrics` (Prometheus text).
pub(crate) fn metrics(
    agent: &ureq::Agent,
    addr: SocketAddr,
    names: &[&str],
) -> anyhow::Result<Vec<u64>> {
    let (code, body) = get(agent, addr, "/metrics")?;
    if code != 200 {
        bail!("GET /metrics on {addr}: {code}");
    }
    names
        .iter()
        .map(|name| {
            body.lines()
                .find_map(|l| {
                    let rest = l.strip_prefix(name)?.strip_prefix(' ')?;
                    rest.trim().parse::<f64>().ok()
                })
                .map(|v| v as u64)
                .with_context(|| format!("{name} missing from {addr}/metrics"))
        })
        .collect()
}

/// (records stored, records pending) from `GET /metrics`.
fn counts(agent: &ureq::Agent, addr: SocketAddr) -> anyhow::Result<(u64, u64)> {
    match metrics(
        agent,
        addr,
        &["terroir_ledger_records", "terroir_ledger_pending"],
    )?[..]
    {
        [records, pending] => Ok((records, pending)),
        _ => bail!("metrics answer of the wrong length"),
    }
}

/// How records reached the replicas, summed over them.
#[derive(Debug, Default)]
struct Arrivals {
    gossip: u64,
    gossip_dropped: u64,
    sync: u64,
    sync_redundant: u64,
    pool_full: u64,
}

/// Records `nodes` received by gossip and by sync, and dropped for a full
/// pending pool (sums over them).
fn arrivals(agent: &ureq::Agent, nodes: &[&NodeProc]) -> anyhow::Result<Arrivals> {
    let mut sum = Arrivals::default();
    for n in nodes {
        if let [g, gd, s, sd, pf] = metrics(
            agent,
            n.http,
            &[
                "terroir_gossip_received_total",
                "terroir_gossip_dropped_total",
                "terroir_sync_records_total",
                "terroir_sync_records_duplicate_total",
                "terroir_records_pool_full_total",
            ],
        )?[..]
        {
            sum.gossip += g;
            sum.gossip_dropped += gd;
            sum.sync += s;
            sum.sync_redundant += sd;
            sum.pool_full += pf;
        }
    }
    Ok(sum)
}

fn digest(agent: &ureq::Agent, addr: SocketAddr) -> anyhow::Result<String> {
    let (code, body) = get(agent, addr, "/status")?;
    if code != 200 {
        bail!("GET /status on {addr}: {code}: {body}");
    }
    let v: serde_json::Value = serde_json::from_str(&body).context("parsing /status")?;
    v["state_digest"]
        .as_str()
        .map(str::to_owned)
        .context("/status has no state_digest")
}

/// Polls until every node stores `target` records with nothing pending;
/// returns the moment that was first seen.
fn wait_all_hold(
    agent: &ureq::Agent,
    nodes: &[&NodeProc],
    target: u64,
    deadline: Instant,
) -> anyhow::Result<Instant> {
    loop {
        let mut done = true;
        let mut seen = Vec::new();
        for n in nodes {
            let (records, pending) = counts(agent, n.http)?;
            seen.push(format!("{} {records}/{target} ({pending} pending)", n.name));
            done &= records >= target && pending == 0;
        }
        if done {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("replication did not finish in time: {}", seen.join(", "));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// When a sample's POST was sent, and when A answered it.
type Sent = (Instant, Option<Instant>);

/// What the propagation poller shares with the submitter.
struct Samples {
    /// (index in the workload, hash hex).
    records: Vec<(usize, String)>,
    /// When the POST carrying each sample was sent, and answered.
    sent: Mutex<Vec<Option<Sent>>>,
}

/// Polls B and C for the sampled records until each is seen on both.
fn poll_samples(
    agent: &ureq::Agent,
    samples: &Samples,
    targets: &[SocketAddr],
    stop: &AtomicBool,
) -> anyhow::Result<(Vec<Vec<Option<Instant>>>, f64)> {
    let n = samples.records.len();
    let mut seen: Vec<Vec<Option<Instant>>> = vec![vec![None; n]; targets.len()];
    let mut sweeps = 0u64;
    let mut sweep_time = 0.0;
    while !stop.load(Ordering::Relaxed) {
        let sent: Vec<bool> = match samples.sent.lock() {
            Ok(s) => s.iter().map(Option::is_some).collect(),
            Err(_) => bail!("submitter panicked"),
        };
        let start = Instant::now();
        let mut polled = 0;
        for (t, addr) in targets.iter().enumerate() {
            for (i, (_, hash)) in samples.records.iter().enumerate() {
                if !sent[i] || seen[t][i].is_some() {
                    continue;
                }
                polled += 1;
                let (code, _) = get(agent, *addr, &format!("/records/{hash}"))?;
                match code {
                    200 => seen[t][i] = Some(Instant::now()),
                    404 => {}
                    c => bail!("GET /records/{hash} on {addr}: {c}"),
                }
            }
        }
        if polled > 0 {
            sweeps += 1;
            sweep_time += start.elapsed().as_secs_f64();
        } else {
            if seen.iter().all(|s| s.iter().all(Option::is_some)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    Ok((seen, 1e3 * sweep_time / sweeps.max(1) as f64))
}

/// Runs the three-node replication and the fresh node's catch-up on the
/// first `records` records of the prepared workload.
pub(crate) fn measure(
    p: &Prepared,
    records: usize,
    terroird: &Path,
    dir: &Path,
) -> anyhow::Result<ReplicationFigures> {
    let records = records.min(p.count);
    if records == 0 {
        bail!("no records to replicate");
    }
    let guard = DiskGuard::new(NODE_DISK_BASE + NODE_DISK_PER_RECORD * records as u64);
    let figures = cluster(p, records, terroird, dir, &guard);
    match guard.tripped() {
        Some(why) => Err(anyhow::anyhow!("{why}")),
        None => figures,
    }
}

/// [`measure`], its nodes watched by `guard`.
fn cluster(
    p: &Prepared,
    records: usize,
    terroird: &Path,
    dir: &Path,
    guard: &DiskGuard,
) -> anyhow::Result<ReplicationFigures> {
    let (genesis, agent) = prepare_cluster(dir, &p.genesis)?;

    // The request bodies, encoded before the clock starts.
    let mut bodies: Vec<(usize, String)> = Vec::new();
    let mut hashes: Vec<String> = Vec::with_capacity(records);
    let mut taken = 0usize;
    for batch in ingest::batches(p, SUBMIT_BATCH)? {
        let batch = batch?;
        let batch: Vec<_> = batch.into_iter().take(records - taken).collect();
        if batch.is_empty() {
            break;
        }
        let hexes: Vec<String> = batch.iter().map(|r| hex::encode(r.encode())).collect();
        hashes.extend(batch.iter().map(|r| r.hash().to_hex()));
        bodies.push((taken, serde_json::json!({ "records": hexes }).to_string()));
        taken += batch.len();
        if taken >= records {
            break;
        }
    }
    let sample_count = LATENCY_SAMPLES.min(records);
    let samples = Arc::new(Samples {
        records: (0..sample_count)
            .map(|k| {
                let i = (k * records + records / (2 * sample_count)) / sample_count;
                let i = i.min(records - 1);
                (i, hashes.get(i).cloned().unwrap_or_default())
            })
            .collect(),
        sent: Mutex::new(vec![None; sample_count]),
    });

    let a = start_node(
        "a",
        terroird,
        dir,
        &genesis,
        &Setup::default(),
        &agent,
        guard,
    )?;
    let boot = [a.p2p.clone()];
    let b = start_node(
        "b",
        terroird,
        dir,
        &genesis,
        &Setup::boot(&boot),
        &agent,
        guard,
    )?;
    let c = start_node(
        "c",
        terroird,
        dir,
        &genesis,
        &Setup::boot(&boot),
        &agent,
        guard,
    )?;
    let base = counts(&agent, a.http)?.0;
    let target = base + records as u64;
    // Give the mesh a moment to form: B and C must both see A.
    let mesh_deadline = Instant::now() + START_DEADLINE;
    loop {
        let (_, body) = get(&agent, a.http, "/status")?;
        let v: serde_json::Value = serde_json::from_str(&body).context("parsing /status")?;
        if v["peers"].as_array().map_or(0, Vec::len) >= 2 {
            break;
        }
        if Instant::now() > mesh_deadline {
            bail!("nodes b and c did not connect to a: {body}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // gossipsub grafts its mesh on heartbeats (about a second).
    std::thread::sleep(Duration::from_secs(2));

    let deadline =
        Instant::now() + Duration::from_secs(120) + Duration::from_millis(records as u64 * 3);
    let stop = Arc::new(AtomicBool::new(false));
    // One poller per replica, so one busy node does not slow the other's
    // sweep.
    let pollers: Vec<_> = [b.http, c.http]
        .into_iter()
        .map(|target| {
            let agent = agent.clone();
            let samples = samples.clone();
            let stop = stop.clone();
            std::thread::spawn(move || poll_samples(&agent, &samples, &[target], &stop))
        })
        .collect();

    let started = Instant::now();
    let submitted = (|| -> anyhow::Result<Instant> {
        for (first, body) in &bodies {
            let end = first + SUBMIT_BATCH;
            let mine: Vec<usize> = samples
                .records
                .iter()
                .enumerate()
                .filter(|(_, (i, _))| (*first..end).contains(i))
                .map(|(k, _)| k)
                .collect();
            let sent_at = Instant::now();
            if let Ok(mut s) = samples.sent.lock() {
                for &k in &mine {
                    s[k] = Some((sent_at, None));
                }
            }
            let mut resp = agent
                .post(&format!("http://{}/records", a.http))
                .header("content-type", "application/json")
                .send(body.as_str())
                .context("POST /records to node a")?;
            let code = resp.status().as_u16();
            let mut text = String::new();
            resp.body_mut()
                .as_reader()
                .read_to_string(&mut text)
                .context("reading POST /records")?;
            let acked = Instant::now();
            if code != 200 {
                bail!("POST /records to node a: {code}: {text}");
            }
            let v: serde_json::Value = serde_json::from_str(&text).context("parsing verdicts")?;
            let verdicts = v["results"].as_array().context("no results")?;
            if let Some(bad) = verdicts.iter().find(|r| r["outcome"] != "accepted") {
                bail!("node a did not accept a workload record: {bad}");
            }
            if let Ok(mut s) = samples.sent.lock() {
                for &k in &mine {
                    s[k] = Some((sent_at, Some(acked)));
                }
            }
            if Instant::now() > deadline {
                bail!("submission ran past its deadline");
            }
        }
        Ok(Instant::now())
    })();
    let submitted = match submitted {
        Ok(t) => t,
        Err(e) => {
            stop.store(true, Ordering::Relaxed);
            for p in pollers {
                let _ = p.join();
            }
            return Err(e);
        }
    };
    let held = wait_all_hold(&agent, &[&b, &c], target, deadline);
    let sample_deadline = Instant::now() + Duration::from_secs(10);
    while !pollers.iter().all(|p| p.is_finished()) && Instant::now() < sample_deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    stop.store(true, Ordering::Relaxed);
    let mut seen = Vec::new();
    let mut sweeps = Vec::new();
    for p in pollers {
        let (s, sweep) = p
            .join()
            .map_err(|_| anyhow::anyhow!("a propagation poller panicked"))??;
        seen.extend(s);
        sweeps.push(sweep);
    }
    let held = held?;
    let poll_sweep_ms = sweeps.iter().sum::<f64>() / sweeps.len().max(1) as f64;

    let sent = samples
        .sent
        .lock()
        .map_err(|_| anyhow::anyhow!("sample lock poisoned"))?
        .clone();
    let mut propagation = Vec::new();
    let mut acks = Vec::new();
    for (k, s) in sent.iter().enumerate() {
        let Some((sent_at, acked)) = s else { continue };
        if let Some(acked) = acked {
            acks.push(1e3 * (*acked - *sent_at).as_secs_f64());
        }
        for node in &seen {
            match node.get(k).copied().flatten() {
                Some(at) => {
                    propagation.push(1e3 * at.saturating_duration_since(*sent_at).as_secs_f64())
                }
                None => bail!(
                    "sampled record {} never seen on a replica",
                    samples.records[k].1
                ),
            }
        }
    }
    let arrived = arrivals(&agent, &[&b, &c])?;
    let da = digest(&agent, a.http)?;
    let digests_equal = digest(&agent, b.http)? == da && digest(&agent, c.http)? == da;

    // A fresh node, bootstrapped to A, catches up by sync alone.
    drop(c);
    drop(b);
    let spawned = Instant::now();
    let d = start_node(
        "d",
        terroird,
        dir,
        &genesis,
        &Setup::boot(&boot),
        &agent,
        guard,
    )?;
    let ready = Instant::now();
    let catch_deadline =
        ready + Duration::from_secs(120) + Duration::from_millis(records as u64 * 3);
    let caught = wait_all_hold(&agent, &[&d], target, catch_deadline)?;
    let catch_up_digest_equal = digest(&agent, d.http)? == da;
    let caught_up = arrivals(&agent, &[&d])?;
    drop(d);
    drop(a);

    let secs =
        |from: Instant, to: Instant| to.saturating_duration_since(from).as_secs_f64().max(1e-9);
    Ok(ReplicationFigures {
        nodes: 3,
        records,
        submit_batch: SUBMIT_BATCH,
        accepted_per_s: records as f64 / secs(started, submitted),
        replicated_per_s: records as f64 / secs(started, held),
        lag_after_last_ack_ms: 1e3 * held.saturating_duration_since(submitted).as_secs_f64(),
        propagation: LatencyMs::of(propagation),
        submit_ack: LatencyMs::of(acks),
        poll_sweep_ms,
        digests_equal,
        gossip_received: arrived.gossip,
        sync_received: arrived.sync,
        sync_redundant: arrived.sync_redundant,
        gossip_dropped: arrived.gossip_dropped,
        pool_full: arrived.pool_full,
        fresh_node_start_ms: 1e3 * secs(spawned, ready),
        catch_up_ms: 1e3 * secs(spawned, caught),
        catch_up_per_s: records as f64 / secs(spawned, caught),
        catch_up_received: caught_up.gossip + caught_up.sync,
        catch_up_pool_full: caught_up.pool_full,
        catch_up_digest_equal,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_fields_are_read_through_colour_codes() {
        let line = "\u{1b}[2m2026-11-23T10:00:00Z\u{1b}[0m \u{1b}[32m INFO\u{1b}[0m \u{1b}[2mterroir_node::node\u{1b}[0m\u{1b}[2m:\u{1b}[0m HTTP API listening \u{1b}[3mhttp_addr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:4242";
        let plain = strip_ansi(line);
        assert_eq!(field(&plain, "http_addr"), Some("127.0.0.1:4242"));
    }

    #[test]
    fn percentiles_of_nothing_are_zero() {
        let l = LatencyMs::of(Vec::new());
        assert_eq!(l.samples, 0);
        assert_eq!(l.p99_ms, 0.0);
    }
}
