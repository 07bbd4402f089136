//! Link health across real `terroird` processes: a peer whose link dies
//! silently (its process stopped with SIGSTOP: no FIN, no RST, its socket
//! still open) is shown lost in `/status` and `/metrics` within 10 s, and
//! connected again once it resumes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{
    free_loopback_port, http, init_data_dir, metric, send_signal, wait_serving, workload,
    write_genesis, Running, DEADLINE,
};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

/// How soon a silent link must show as lost (the bound).
const LOST_WITHIN: Duration = Duration::from_secs(10);

/// The peer ids in `/status` field `field` (`peers` or `peers_lost`).
fn ids(status: &Value, field: &str) -> Vec<String> {
    status[field]
        .as_array()
        .unwrap_or_else(|| panic!("/status has no {field}: {status}"))
        .iter()
        .map(|p| p["peer_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn status(addr: SocketAddr) -> Value {
    let (code, body) = http(addr, "GET", "/status", None).await;
    assert_eq!(code, 200);
    serde_json::from_slice(&body).unwrap()
}

/// Starts `terroird run --data DATA` on a fresh HTTP and libp2p port,
/// bootstrapping from `bootstrap`; returns it, its HTTP address and its
/// libp2p address.
async fn start(data: &Path, bootstrap: Option<&str>) -> (Running, SocketAddr, String) {
    if let Some(b) = bootstrap {
        let path = data.join("terroird.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let written = text.replace("bootstrap = []", &format!("bootstrap = [\"{b}\"]"));
        assert_ne!(written, text, "no `bootstrap = []` in {text}");
        std::fs::write(&path, written).unwrap();
    }
    let http = SocketAddr::from(([127, 0, 0, 1], free_loopback_port()));
    let p2p = format!("/ip4/127.0.0.1/tcp/{}", free_loopback_port());
    let mut child = Running(
        std::process::Command::new(BIN)
            .arg("run")
            .arg("--data")
            .arg(data)
            .args(["--http", &http.to_string(), "--listen", &p2p])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_serving(&mut child.0, http).await;
    (child, http, p2p)
}

/// Polls `cond` every 100 ms until it holds or `within` has passed since
/// `since`; returns how long after `since` it held, or `None`.
async fn held_within<F, Fut>(since: Instant, within: Duration, mut cond: F) -> Option<Duration>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if cond().await {
            return Some(since.elapsed());
        }
        if since.elapsed() > within {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_peer_is_reported_lost_within_10_s_and_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(10);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let (da, db) = (tmp.path().join("a"), tmp.path().join("b"));
    init_data_dir(BIN, &gpath, &da);
    init_data_dir(BIN, &gpath, &db);
    let (_a, a_http, a_p2p) = start(&da, None).await;
    let (b, b_http, _) = start(&db, Some(&a_p2p)).await;
    let b_id = status(b_http).await["peer_id"].as_str().unwrap().to_owned();

    let connected = held_within(Instant::now(), DEADLINE, || async {
        ids(&status(a_http).await, "peers").contains(&b_id)
    })
    .await;
    assert!(connected.is_some(), "A never connected to B");
    assert_eq!(metric(a_http, "terroir_peers_lost").await, 0);

    // B's link dies silently: its process stops, its socket stays open.
    send_signal(b.0.id(), "-STOP");
    let stopped = Instant::now();
    let lost = held_within(stopped, LOST_WITHIN, || async {
        let s = status(a_http).await;
        !ids(&s, "peers").contains(&b_id) && ids(&s, "peers_lost").contains(&b_id)
    })
    .await;
    let s = status(a_http).await;
    // The metric says so too, read while B is still stopped: once it
    // resumes it may be back before the metric is read.
    let counted = held_within(stopped, LOST_WITHIN, || async {
        metric(a_http, "terroir_peers_lost").await >= 1
    })
    .await;
    // Resume B before failing, so nothing is left stopped.
    send_signal(b.0.id(), "-CONT");
    let after = lost.unwrap_or_else(|| {
        panic!(
            "B still not shown lost {LOST_WITHIN:?} after it stopped: peers {:?}, peers_lost {:?}",
            ids(&s, "peers"),
            ids(&s, "peers_lost")
        )
    });
    eprintln!("B shown lost {after:.1?} after it stopped");
    assert!(after <= LOST_WITHIN, "{after:?}");
    assert!(
        counted.is_some(),
        "terroir_peers_lost never counted B within {LOST_WITHIN:?}"
    );

    // B resumed: A dials it again (or B dials A) and the loss clears.
    let back = held_within(Instant::now(), DEADLINE, || async {
        let s = status(a_http).await;
        ids(&s, "peers").contains(&b_id) && !ids(&s, "peers_lost").contains(&b_id)
    })
    .await;
    let back = back.expect("B not connected again after SIGCONT");
    eprintln!("B back {back:.1?} after it resumed");
    assert_eq!(metric(a_http, "terroir_peers_lost").await, 0);
}
