//! The `terroird` binary: `init` then `run`, serving `/status`, a clean
//! exit on SIGTERM, and one-line errors; a node whose ledger thread ends
//! while it runs stops instead of answering 503 forever.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{
    free_loopback_port, http, init_data_dir, loopback_config, run_binary, send_signal, wait_exit,
    wait_serving, workload, write_genesis, DEADLINE,
};
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

/// `terroird run --data DIR` reads `DIR/terroird.toml` (as `init` wrote
/// it); `--http` and `--listen` override its addresses. Its log, written
/// to a file (not a terminal), holds no ANSI colour codes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flags_override_the_config_and_logs_to_a_file_are_plain() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(10);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    init_data_dir(BIN, &gpath, &data);
    // The config's own HTTP port, which the flag must replace.
    let (_, config_addr) = loopback_config(&data);
    let http_port = free_loopback_port();
    let p2p_port = free_loopback_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], http_port));
    let log_path = tmp.path().join("terroird.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = common::Running(
        Command::new(BIN)
            .arg("run")
            .arg("--data")
            .arg(&data)
            .args(["--http", &addr.to_string()])
            .args(["--listen", &format!("/ip4/127.0.0.1/tcp/{p2p_port}")])
            .env_remove("NO_COLOR")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let status = wait_serving(&mut child.0, addr).await;
    assert_eq!(
        status["network_id"].as_str().unwrap(),
        w.genesis.id().to_hex()
    );
    assert!(
        tokio::net::TcpStream::connect(config_addr).await.is_err(),
        "the config's HTTP address is served too"
    );
    assert!(
        tokio::net::TcpStream::connect(("127.0.0.1", p2p_port))
            .await
            .is_ok(),
        "libp2p does not listen on the --listen address"
    );
    send_signal(child.0.id(), "-TERM");
    let exit = wait_exit(&mut child.0).await;
    assert!(exit.success(), "terroird exited with {exit}");
    let text = std::fs::read(&log_path).unwrap();
    let shown = String::from_utf8_lossy(&text);
    assert!(shown.contains("HTTP API listening"), "{shown}");
    assert!(shown.contains(&format!("tcp/{p2p_port}")), "{shown}");
    assert!(!text.contains(&0x1b), "ANSI escapes in the log: {shown:?}");
}

/// Runs `terroird run --config` on a config file with `text` (after the
/// data dir and genesis lines); returns its stderr, checking it failed.
fn run_config_text(dir: &std::path::Path, name: &str, text: &str) -> (std::path::PathBuf, String) {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!("data_dir = \"d\"\ngenesis = \"g.json\"\n{text}"),
    )
    .unwrap();
    let out = Command::new(BIN)
        .arg("run")
        .arg("--config")
        .arg(&path)
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        !out.stderr.contains(&0x1b),
        "ANSI escapes: {:?}",
        out.stderr
    );
    (path, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A config error (an unknown key, bad TOML, a limit out of range) is
/// one line: `error: FILE:LINE:COL: MESSAGE`, and the run fails.
#[test]
fn config_errors_are_one_line_naming_file_and_line() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, text, line, words) in [
        (
            "unknown.toml",
            "mdns = true\nbogus_key = 1\n",
            4,
            "bogus_key",
        ),
        ("syntax.toml", "mdns = true\nhttp = \"127.0.0.1:1\n", 4, ""),
        (
            "limit.toml",
            "[limits]\nsync_interval_ms = 1000\nmax_strikes = 0\n",
            5,
            "limits.max_strikes",
        ),
    ] {
        let (path, err) = run_config_text(tmp.path(), name, text);
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 1, "{name}: {err}");
        let prefix = format!("error: {}:{line}:", path.display());
        assert!(lines[0].starts_with(&prefix), "{name}: {err}");
        assert!(lines[0].contains(words), "{name}: {err}");
    }
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
