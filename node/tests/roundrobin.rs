//! Issue #12: one author's chain written round-robin through four real
//! `terroird` processes converges within 10 s of the last write.
//!
//! One farm writes a single chain; batch k of [`BATCH`] records goes to
//! node k % 4, so the batch before it went to another node and, unless
//! gossip brought it first, the batch waits in the pending pool there
//! until its predecessor arrives. After the last write is answered, the
//! test measures until all four nodes store every record, nothing is
//! pending, and their state digests are equal.
//!
//! The test runs [`RECORDS`] records (a debug build on a small machine
//! must stay fast); `terroir-bench roundrobin` measures the issue's
//! 40,000 in a release build, against the same 10 s. Set
//! `TERROIR_ROUNDROBIN_RECORDS` to run another size here, and
//! `TERROIR_ROUNDROBIN_TERROIRD` to run another `terroird` (a release
//! build). Each node logs to `n{i}.log` in the test's directory
//! (`RUST_LOG`, default `terroir_node=info`); a failed run keeps the
//! directory and names it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{http, init_data_dir, loopback_config, write_genesis, Running, DEADLINE};
use serde_json::Value;
use terroir_node::Config;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");
/// Records of the chain (the farm's enrollment included).
const RECORDS: usize = 4_000;
/// Records per request.
const BATCH: usize = 100;
const NODES: usize = 4;
/// The bound: converged this long after the last write.
const CONVERGED_WITHIN: Duration = Duration::from_secs(10);

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `terroird run` with its log in `log`, and waits until its
/// `/status` answers.
async fn run_logged(bin: &str, config: &Path, addr: SocketAddr, log: &Path) -> Running {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "terroir_node=info".into());
    let child = std::process::Command::new(bin)
        .args(["run", "--config"])
        .arg(config)
        .env("RUST_LOG", filter)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut node = Running(child);
    let start = Instant::now();
    loop {
        assert!(
            node.0.try_wait().unwrap().is_none(),
            "terroird exited while starting"
        );
        if tokio::net::TcpStream::connect(addr).await.is_ok()
            && http(addr, "GET", "/status", None).await.0 == 200
        {
            return node;
        }
        assert!(start.elapsed() < DEADLINE, "terroird did not start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The pool, gossip and sync counters of a node's `/metrics`.
async fn counters(addr: SocketAddr) -> String {
    let (_, body) = http(addr, "GET", "/metrics", None).await;
    String::from_utf8_lossy(&body)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            ["pool", "pending", "gossip", "sync_records", "expired"]
                .iter()
                .any(|k| l.contains(k))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

async fn status(addr: SocketAddr) -> Value {
    let (code, body) = http(addr, "GET", "/status", None).await;
    assert_eq!(code, 200);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_chain_written_round_robin_through_four_nodes_converges() {
    let records: usize = std::env::var("TERROIR_ROUNDROBIN_RECORDS")
        .map(|v| v.parse().unwrap())
        .unwrap_or(RECORDS);
    let bin = std::env::var("TERROIR_ROUNDROBIN_TERROIRD").unwrap_or_else(|_| BIN.into());
    let started = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let (genesis, chain) = ledger_core::workload::one_chain(records);
    let gpath = write_genesis(tmp.path(), &genesis);

    // Each node listens on a port chosen here, so each can be told
    // every other's address before any starts.
    let ports: Vec<u16> = (0..NODES).map(|_| free_port()).collect();
    let mut nodes = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let data = tmp.path().join(format!("n{i}"));
        init_data_dir(&bin, &gpath, &data);
        let (cfg, addr) = loopback_config(&data);
        let mut config = Config::load(&cfg).unwrap();
        config.listen = vec![format!("/ip4/127.0.0.1/tcp/{port}")];
        config.bootstrap = ports
            .iter()
            .filter(|p| *p != port)
            .map(|p| format!("/ip4/127.0.0.1/tcp/{p}"))
            .collect();
        config.limits.sync_interval_ms = 500;
        std::fs::write(&cfg, config.to_toml().unwrap()).unwrap();
        let log = tmp.path().join(format!("n{i}.log"));
        nodes.push((run_logged(&bin, &cfg, addr, &log).await, addr));
    }
    let addrs: Vec<SocketAddr> = nodes.iter().map(|(_, a)| *a).collect();
    common::wait_for("every node connected to the three others", || async {
        for a in &addrs {
            if status(*a).await["peers"].as_array().map_or(0, Vec::len) < NODES - 1 {
                return false;
            }
        }
        true
    })
    .await;

    let bodies: Vec<String> = chain
        .chunks(BATCH)
        .map(|c| {
            let hexes: Vec<String> = c.iter().map(|r| hex::encode(r.encode())).collect();
            serde_json::json!({ "records": hexes }).to_string()
        })
        .collect();
    let (mut accepted, mut pending) = (0, 0);
    let writing = Instant::now();
    for (k, body) in bodies.iter().enumerate() {
        let (code, resp) = http(addrs[k % NODES], "POST", "/records", Some(body.as_bytes())).await;
        assert_eq!(code, 200, "batch {k}: {}", String::from_utf8_lossy(&resp));
        let v: Value = serde_json::from_slice(&resp).unwrap();
        for r in v["results"].as_array().unwrap() {
            match r["outcome"].as_str().unwrap() {
                "accepted" | "duplicate" => accepted += 1,
                "pending" => pending += 1,
                other => panic!("batch {k}: {other}: {r}"),
            }
        }
    }
    let last_write = Instant::now();
    eprintln!(
        "{records} records written round-robin in {} batches of {BATCH} in {:.1?}: \
         {accepted} accepted (or already there by gossip), {pending} pending where written",
        bodies.len(),
        last_write - writing
    );

    // Converged: every node stores the whole chain, nothing waits, and
    // the digests agree.
    let mut seen = Vec::new();
    loop {
        seen.clear();
        for a in &addrs {
            seen.push(status(*a).await);
        }
        let digest = seen[0]["state_digest"].as_str().unwrap();
        if seen.iter().all(|s| {
            s["records"].as_u64() == Some(records as u64)
                && s["pending"].as_u64() == Some(0)
                && s["state_digest"].as_str() == Some(digest)
        }) {
            break;
        }
        if last_write.elapsed() > DEADLINE {
            let mut why = Vec::new();
            for (i, (s, a)) in seen.iter().zip(&addrs).enumerate() {
                why.push(format!(
                    "n{i}: {} records, {} pending, digest {}; {}",
                    s["records"],
                    s["pending"],
                    s["state_digest"],
                    counters(*a).await
                ));
            }
            drop(nodes);
            let kept = tmp.keep();
            panic!(
                "not converged {DEADLINE:?} after the last write (logs in {}):\n{}",
                kept.display(),
                why.join("\n")
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let converged = last_write.elapsed();
    eprintln!(
        "converged {converged:.2?} after the last write (bound {CONVERGED_WITHIN:?}); \
         test took {:.1?}",
        started.elapsed()
    );
    if converged > CONVERGED_WITHIN {
        drop(nodes);
        let kept = tmp.keep();
        panic!(
            "converged only {converged:.2?} after the last write (logs in {})",
            kept.display()
        );
    }
}
