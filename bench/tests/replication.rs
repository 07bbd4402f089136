//! The replication measurement runs end to end on a tiny workload: three
//! `terroird` processes converge on the same digest and a fresh fourth
//! catches up. Needs the `terroird` binary next to `terroir-bench` (built
//! by `cargo test --workspace`); skipped, saying so, when it is absent,
//! except under CI, where that is a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::Command;

#[test]
fn three_nodes_replicate_and_a_fresh_node_catches_up() {
    let bench = PathBuf::from(env!("CARGO_BIN_EXE_terroir-bench"));
    let terroird = bench.with_file_name(format!("terroird{}", std::env::consts::EXE_SUFFIX));
    if !terroird.is_file() {
        // In CI the whole workspace is built, so a missing node is a failure.
        assert!(
            std::env::var_os("CI").is_none(),
            "{} is not built",
            terroird.display()
        );
        eprintln!(
            "skipped: {} is not built (run `cargo test --workspace` or build terroir-node)",
            terroird.display()
        );
        return;
    }
    let out = Command::new(&bench)
        .args(["replicate", "--records", "300"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["records"].as_u64().unwrap() >= 300, "{v}");
    assert_eq!(v["digests_equal"], true, "{v}");
    assert_eq!(v["catch_up_digest_equal"], true, "{v}");
    assert!(v["replicated_per_s"].as_f64().unwrap() > 0.0, "{v}");
    assert_eq!(v["propagation"]["samples"].as_u64(), Some(400), "{v}");
}
