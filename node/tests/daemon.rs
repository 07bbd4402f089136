//! The `terroird` binary: `init` then `run`, serving `/status`, a clean
//! exit on SIGTERM, and one-line errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{http, workload, write_genesis, DEADLINE};

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_run_status_and_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(10);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let data = tmp.path().join("node");
    let out = Command::new(BIN)
        .args(["init", "--genesis"])
        .arg(&gpath)
        .arg("--data")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
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

    let http_port = free_port();
    let cfg_path = data.join("terroird.toml");
    let mut cfg = std::fs::read_to_string(&cfg_path).unwrap();
    cfg = cfg.replace("127.0.0.1:8700", &format!("127.0.0.1:{http_port}"));
    cfg = cfg.replace("/ip4/0.0.0.0/tcp/7700", "/ip4/127.0.0.1/tcp/0");
    std::fs::write(&cfg_path, cfg).unwrap();

    let mut child = Command::new(BIN)
        .args(["run", "--config"])
        .arg(&cfg_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let addr = format!("127.0.0.1:{http_port}").parse().unwrap();
    let start = Instant::now();
    let status = loop {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            let (code, body) = http(addr, "GET", "/status", None).await;
            assert_eq!(code, 200);
            break serde_json::from_slice::<serde_json::Value>(&body).unwrap();
        }
        assert!(start.elapsed() < DEADLINE, "terroird did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        status["network_id"].as_str().unwrap(),
        w.genesis.id().to_hex()
    );
    assert_eq!(status["records"].as_u64(), Some(0));

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
