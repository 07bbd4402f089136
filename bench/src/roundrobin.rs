//! One author's chain written round-robin through four `terroird`
//! processes (issue #12): how long after the last write all four hold
//! the whole chain, nothing pending, with equal state digests.
//!
//! One farm (enrolled by the genesis authority) writes a single chain;
//! batch k of [`BATCH`] records is POSTed to node k % 4, one after
//! another, so a batch's predecessor went to another node and, unless
//! gossip brought it first, the batch waits in the pending pool where it
//! was written until the predecessor arrives. The nodes run with the
//! default limits except `sync_interval_ms` (as the node tests set it;
//! `--sync-interval-ms`).

use std::io::Read;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::Serialize;

use crate::guard::DiskGuard;
use crate::replication::{
    self, get, metrics, start_node, NodeProc, Setup, NODE_DISK_BASE, NODE_DISK_PER_RECORD,
};

/// Records per `POST /records`.
pub(crate) const BATCH: usize = 100;
/// Nodes the chain is written through.
const NODES: usize = 4;
/// The sync interval the node tests use (ms).
pub(crate) const SYNC_INTERVAL_MS: u64 = 500;
/// How long after the last write the run waits before it fails.
const CONVERGE_DEADLINE: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, Serialize)]
pub(crate) struct RoundRobinFigures {
    pub nodes: usize,
    /// Records of the chain (the farm's enrollment included).
    pub records: usize,
    pub batch: usize,
    /// The nodes' `sync_interval_ms`.
    pub sync_interval_ms: u64,
    /// First POST sent → last POST answered (ms).
    pub write_ms: f64,
    /// Records answered `pending` by the node they were written to.
    pub pending_where_written: u64,
    /// Last POST answered → all nodes hold every record, nothing pending,
    /// equal digests (ms).
    pub converged_after_last_write_ms: f64,
    /// Records the nodes refused because their pending pool was full
    /// (sum over them).
    pub pool_full: u64,
    /// Gossip messages the nodes ignored because they were busy (sum).
    pub gossip_dropped: u64,
    /// Records the nodes received by sync (sum).
    pub sync_received: u64,
}

/// Runs the figure on a chain of `records` records.
pub(crate) fn measure(
    records: usize,
    sync_interval_ms: u64,
    terroird: &Path,
    dir: &Path,
) -> anyhow::Result<RoundRobinFigures> {
    if records < 2 {
        bail!("a chain needs at least 2 records");
    }
    let guard = DiskGuard::new(NODE_DISK_BASE + NODE_DISK_PER_RECORD * records as u64);
    let figures = cluster(records, sync_interval_ms, terroird, dir, &guard);
    match guard.tripped() {
        Some(why) => Err(anyhow::anyhow!("{why}")),
        None => figures,
    }
}

fn status(agent: &ureq::Agent, n: &NodeProc) -> anyhow::Result<serde_json::Value> {
    let (code, body) = get(agent, n.http, "/status")?;
    if code != 200 {
        bail!("GET /status on node {}: {code}: {body}", n.name);
    }
    serde_json::from_str(&body).context("parsing /status")
}

fn cluster(
    records: usize,
    sync_interval_ms: u64,
    terroird: &Path,
    dir: &Path,
    guard: &DiskGuard,
) -> anyhow::Result<RoundRobinFigures> {
    let (genesis, chain) = ledger_core::workload::one_chain(records);
    let (gpath, agent) = crate::replication::prepare_cluster(dir, &genesis)?;
    let bodies: Vec<String> = chain
        .chunks(BATCH)
        .map(|c| {
            let hexes: Vec<String> = c.iter().map(|r| hex::encode(r.encode())).collect();
            serde_json::json!({ "records": hexes }).to_string()
        })
        .collect();

    // Each node bootstraps to every node started before it: a full mesh.
    let limits = format!("sync_interval_ms = {sync_interval_ms}\n");
    let names = ["n0", "n1", "n2", "n3"];
    let mut nodes: Vec<NodeProc> = Vec::new();
    for name in names.into_iter().take(NODES) {
        let setup = Setup {
            bootstrap: nodes.iter().map(|n| n.p2p.clone()).collect(),
            limits: limits.clone(),
        };
        nodes.push(start_node(
            name, terroird, dir, &gpath, &setup, &agent, guard,
        )?);
    }
    let mesh_deadline = Instant::now() + replication::START_DEADLINE;
    loop {
        let mut connected = true;
        for n in &nodes {
            let v = status(&agent, n)?;
            connected &= v["peers"].as_array().map_or(0, Vec::len) >= NODES - 1;
        }
        if connected {
            break;
        }
        if Instant::now() > mesh_deadline {
            bail!("the four nodes did not all connect to each other");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    // gossipsub grafts its mesh on heartbeats (about a second).
    std::thread::sleep(Duration::from_secs(2));

    let started = Instant::now();
    let mut pending = 0u64;
    for (k, body) in bodies.iter().enumerate() {
        let n = &nodes[k % NODES];
        let mut resp = agent
            .post(&format!("http://{}/records", n.http))
            .header("content-type", "application/json")
            .send(body.as_str())
            .with_context(|| format!("POST /records to node {}", n.name))?;
        let code = resp.status().as_u16();
        let mut text = String::new();
        resp.body_mut()
            .as_reader()
            .read_to_string(&mut text)
            .context("reading POST /records")?;
        if code != 200 {
            bail!("POST /records to node {}: {code}: {text}", n.name);
        }
        let v: serde_json::Value = serde_json::from_str(&text).context("parsing verdicts")?;
        for r in v["results"].as_array().context("no results")? {
            match r["outcome"].as_str() {
                Some("accepted" | "duplicate") => {}
                Some("pending") => pending += 1,
                _ => bail!("node {} refused a record of the chain: {r}", n.name),
            }
        }
    }
    let last_write = Instant::now();
    let converged = loop {
        let mut seen = Vec::new();
        for n in &nodes {
            seen.push(status(&agent, n)?);
        }
        let digest = seen[0]["state_digest"].clone();
        if seen.iter().all(|s| {
            s["records"].as_u64() == Some(records as u64)
                && s["pending"].as_u64() == Some(0)
                && s["state_digest"] == digest
        }) {
            break Instant::now();
        }
        if last_write.elapsed() > CONVERGE_DEADLINE {
            let state: Vec<String> = nodes
                .iter()
                .zip(&seen)
                .map(|(n, s)| {
                    format!(
                        "{} {}/{records} ({} pending)",
                        n.name, s["records"], s["pending"]
                    )
                })
                .collect();
            bail!(
                "not converged {CONVERGE_DEADLINE:?} after the last write: {}; last log lines \
                 of n0:\n{}",
                state.join(", "),
                replication::log_tail(&nodes[0].log)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let (mut pool_full, mut gossip_dropped, mut sync_received) = (0, 0, 0);
    for n in &nodes {
        if let [pf, gd, s] = metrics(
            &agent,
            n.http,
            &[
                "terroir_records_pool_full_total",
                "terroir_gossip_dropped_total",
                "terroir_sync_records_total",
            ],
        )?[..]
        {
            pool_full += pf;
            gossip_dropped += gd;
            sync_received += s;
        }
    }
    Ok(RoundRobinFigures {
        nodes: NODES,
        records,
        batch: BATCH,
        sync_interval_ms,
        write_ms: 1e3 * (last_write - started).as_secs_f64(),
        pending_where_written: pending,
        converged_after_last_write_ms: 1e3 * (converged - last_write).as_secs_f64(),
        pool_full,
        gossip_dropped,
        sync_received,
    })
}
