//! The `terroird` binary: `init` then `run`, serving `/status`, a clean
//! exit on SIGTERM, and one-line errors; a node whose ledger thread ends
//! while it runs stops instead of answering 503 forever.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{http, init_data_dir, loopback_config, run_binary, workload, write_genesis, DEADLINE};
use terroir_node::ledger_task::{LedgerDied, LedgerHandle};
use terroir_node::Node;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

/// Each thread of process `pid`: its name and niceness (from procfs).
fn thread_niceness(pid: u32) -> Vec<(String, i32)> {
    let tasks = std::path::PathBuf::from(format!("/proc/{pid}/task"));
    let mut out = Vec::new();
    for task in std::fs::read_dir(&tasks).unwrap() {
        let dir = task.unwrap().path();
        let name = std::fs::read_to_string(dir.join("comm")).unwrap();
        let stat = std::fs::read_to_string(dir.join("stat")).unwrap();
        // Fields after the parenthesised name: state is field 3, nice 19.
        let rest = &stat[stat.rfind(')').unwrap() + 2..];
        let nice = rest.split(' ').nth(16).unwrap().parse().unwrap();
        out.push((name.trim().to_owned(), nice));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_run_status_and_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(10);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    let out = init_data_dir(BIN, &gpath, &data);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(&w.genesis.id().to_hex()), "{stdout}");

    // A second init refuses to overwrite the ledger, in one line.
    let again = Command::new(BIN)
        .args(["init", "--genesis"])
        .arg(&gpath)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        err.trim()
            .lines()
            .filter(|l| l.starts_with("terroird:"))
            .count(),
        1,
        "{err}"
    );

    let (cfg_path, addr) = loopback_config(&data);
    let (mut child, status) = run_binary(BIN, &cfg_path, addr).await;
    assert_eq!(
        status["network_id"].as_str().unwrap(),
        w.genesis.id().to_hex()
    );
    assert_eq!(status["records"].as_u64(), Some(0));
    if cfg!(target_os = "linux") {
        // The ledger writer yields the CPU to queries; the rest does not.
        let nice = thread_niceness(child.id());
        let ledger = nice.iter().find(|(name, _)| name == "ledger");
        let base = nice.iter().map(|(_, n)| *n).min();
        assert_eq!(
            ledger.map(|(_, n)| *n),
            base.map(|b| (b + terroir_node::priority::DEFAULT_WRITER_NICE).min(19)),
            "{nice:?}"
        );
    }

    // Bad input gets a 4xx with a JSON reason.
    let (code, body) = http(addr, "POST", "/records", Some(b"{\"record\": \"zz\"}")).await;
    assert_eq!(code, 400);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(v["error"].as_str().is_some(), "{v}");

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let start = Instant::now();
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "terroird did not stop on SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "terroird exited with {exit}");
}

#[test]
fn run_with_a_missing_config_fails_in_one_line() {
    let out = Command::new(BIN)
        .args(["run", "--config", "/nonexistent/terroird.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("terroird: reading config"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

/// Starts a node in process and serves it as `terroird run` does (with
/// no shutdown signal); returns its ledger handle, its HTTP address and
/// the serving task.
async fn serving_node(
    dir: &std::path::Path,
) -> (
    LedgerHandle,
    std::net::SocketAddr,
    tokio::task::JoinHandle<anyhow::Result<()>>,
) {
    let w = workload(10);
    let gpath = write_genesis(dir, &w.genesis);
    let data = dir.join("node");
    terroir_node::init(&data, &gpath).unwrap();
    let settings = common::config(&data, &gpath, &[]).settings().unwrap();
    let node = Node::start(settings).await.unwrap();
    let (ledger, addr) = (node.ledger.clone(), node.http_addr);
    let serving = tokio::spawn(node.serve_until(std::future::pending()));
    let (code, _) = http(addr, "GET", "/status", None).await;
    assert_eq!(code, 200);
    (ledger, addr, serving)
}

/// Waits for the node to stop serving by itself; returns why it did.
async fn stopped(serving: tokio::task::JoinHandle<anyhow::Result<()>>) -> LedgerDied {
    let ended = tokio::time::timeout(DEADLINE, serving)
        .await
        .expect("the node kept serving without its ledger thread")
        .unwrap();
    let err = ended.expect_err("the node stopped as if asked to");
    err.downcast_ref::<LedgerDied>()
        .unwrap_or_else(|| panic!("not a LedgerDied: {err:#}"))
        .clone()
}

/// A panic on the ledger thread (here an exclusive job that panics, the
/// one kind of code a caller can run there) ends the node's run with
/// `LedgerDied`, which `terroird` turns into exit status 70, and its HTTP
/// API goes away: before, it kept answering 503 forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_on_the_ledger_thread_stops_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, addr, serving) = serving_node(tmp.path()).await;
    let job = ledger
        .exclusive::<()>(|_| panic!("injected by the test"))
        .await;
    assert!(job.is_err(), "the panicking job answered");
    let died = stopped(serving).await;
    assert_eq!(
        died.to_string(),
        "the ledger thread panicked: injected by the test"
    );
    assert_eq!(LedgerDied::EXIT_CODE, 70);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "the HTTP API still answers"
    );
}

/// A query that panics runs on a reader thread of its own: it answers an
/// error, and the ledger thread and the node go on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_query_fails_alone() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, addr, serving) = serving_node(tmp.path()).await;
    let job = ledger.read::<()>(|_| panic!("injected by the test")).await;
    assert_eq!(
        job.unwrap_err().to_string(),
        "the query failed: injected by the test"
    );
    let (code, _) = http(addr, "GET", "/status", None).await;
    assert_eq!(code, 200);
    assert!(!serving.is_finished(), "the node stopped");
    let held = ledger.exclusive(|s| s.ledger.len()).await.unwrap();
    assert_eq!(held, ledger.read(|r| r.len()).await.unwrap());
    serving.abort();
    ledger.close().await;
}

/// Any end of the ledger thread the node did not ask for stops it too:
/// here a handle closes the ledger while the node runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ledger_closed_under_the_node_stops_it() {
    let tmp = tempfile::tempdir().unwrap();
    let (ledger, _, serving) = serving_node(tmp.path()).await;
    ledger.close().await;
    let died = stopped(serving).await;
    assert_eq!(
        died.to_string(),
        "the ledger thread was closed while the node was running"
    );
}
