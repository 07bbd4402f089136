//! The `terroird` binary: `init` then `run`, serving `/status`, a clean
//! exit on SIGTERM, and one-line errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{http, init_data_dir, loopback_config, run_binary, workload, write_genesis, DEADLINE};

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

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
