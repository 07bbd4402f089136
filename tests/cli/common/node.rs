//! CLI tests against a `terroird` node started in the test's process (real
//! TCP on 127.0.0.1, ephemeral ports): a temp directory where the real
//! `terroir` binary runs with no ledger or node from the environment, and
//! the node itself.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;
use terroir_node::{Config, Node};

/// A temp directory the `terroir` binary runs in.
pub(crate) struct Env {
    pub(crate) dir: tempfile::TempDir,
}

impl Env {
    pub(crate) fn new() -> Self {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }

    /// Runs `terroir ARGS` in the temp dir, with no node or UTC switch
    /// from the environment and a ledger directory that does not exist
    /// (so nothing can silently fall back to a local ledger).
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_terroir"))
            .args(args)
            .current_dir(self.dir.path())
            .env_remove("TERROIR_NODE")
            .env_remove("TERROIR_UTC")
            .env("TERROIR_HOME", self.path("no-local-ledger"))
            .env("NO_COLOR", "1")
            .output()
            .expect("run terroir")
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "terroir {args:?} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).expect("utf-8 stdout")
    }

    /// Runs with `--json` and expects success.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: bad JSON ({e}): {out}"))
    }

    /// Makes a plain key file `FILE.key` for each (file, name).
    pub(crate) fn keys(&self, people: &[(&str, &str)]) {
        for (file, name) in people {
            self.json(&[
                "key",
                "new",
                "--plain",
                "--out",
                &format!("{file}.key"),
                "--name",
                name,
            ]);
        }
    }

    /// The bureau (`bureau.key`) enrolls each (key file stem, name,
    /// role) at "Valley" through the node at `url`.
    pub(crate) fn enroll_through(&self, url: &str, people: &[(&str, &str, &str)]) {
        for (file, name, role) in people {
            self.json(&[
                "--node",
                url,
                "enroll",
                "--key",
                "bureau.key",
                "--participant",
                &format!("{file}.key"),
                "--name",
                name,
                "--role",
                role,
                "--location",
                "Valley",
            ]);
        }
    }

    /// Founds network `name` with `bureau.key` as its authority in the
    /// scratch ledger `founding/` (plus `extra` init flags); returns the
    /// path of its genesis file, which nodes start from.
    pub(crate) fn found(&self, name: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec![
            "--ledger",
            "founding",
            "init",
            "--network",
            name,
            "--authority-key",
            "bureau.key",
        ];
        args.extend_from_slice(extra);
        self.json(&args);
        self.path("founding/genesis.json")
    }

    /// Runs a command that must fail with exit 1 and one `error: …` line.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert_eq!(o.status.code(), Some(1), "terroir {args:?} should fail");
        let err = String::from_utf8_lossy(&o.stderr).to_string();
        assert_eq!(err.lines().count(), 1, "one line: {err:?}");
        assert!(err.starts_with("error: "), "{err}");
        err
    }
}

/// Starts a node on `data` (founded from `genesis` the first time) on
/// ephemeral ports; it answers once this returns.
pub(crate) fn start_node(rt: &tokio::runtime::Runtime, data: &Path, genesis: &Path) -> Node {
    if !data.exists() {
        terroir_node::init(data, genesis).expect("terroird init");
    }
    let mut c = Config::new(data.to_path_buf(), genesis.to_path_buf());
    c.listen = vec!["/ip4/127.0.0.1/tcp/0".into()];
    c.http = "127.0.0.1:0".parse().expect("address");
    rt.block_on(Node::start(c.settings().expect("settings")))
        .expect("node starts")
}
