//! The harness of the CLI end-to-end tests: each test gets its own temp
//! directory and runs the real `terroir` binary in it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub(crate) mod node;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// A temp directory and a ledger path inside it.
pub(crate) struct Env {
    pub(crate) tmp: TempDir,
}

impl Env {
    pub(crate) fn new() -> Self {
        Env {
            tmp: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    pub(crate) fn root(&self) -> &Path {
        self.tmp.path()
    }

    /// The ledger directory every command gets (`--ledger`).
    pub(crate) fn ledger(&self) -> PathBuf {
        self.path("ledger")
    }

    /// `terroir --ledger DIR` in the temp dir, without colour or stray env.
    pub(crate) fn cmd(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_terroir"));
        c.current_dir(self.root())
            .env_remove("TERROIR_HOME")
            .env_remove("TERROIR_BASE_URL")
            .env("NO_COLOR", "1")
            .arg("--ledger")
            .arg(self.ledger());
        c
    }

    /// Runs and expects success; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("run terroir");
        let stdout = String::from_utf8(out.stdout).expect("utf-8 stdout");
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert!(
            out.status.success(),
            "terroir {args:?} failed ({:?}):\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code()
        );
        stdout
    }

    /// Runs with `--json` and expects success.
    pub(crate) fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.ok(&all);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: bad JSON ({e}): {out}"))
    }

    /// The ledger's state digest (`terroir status --json`).
    pub(crate) fn digest(&self) -> String {
        self.json(&["status"])["state_digest"]
            .as_str()
            .expect("digest")
            .to_owned()
    }

    /// Runs a command that must fail with exit `code` and a single stderr
    /// line `error: …` containing `needle`; returns that line.
    pub(crate) fn fails_with<S: AsRef<str> + std::fmt::Debug>(
        &self,
        code: i32,
        args: &[S],
        needle: &str,
    ) -> String {
        let out = self
            .cmd()
            .args(args.iter().map(AsRef::as_ref))
            .output()
            .expect("run terroir");
        let stderr = String::from_utf8(out.stderr).expect("utf-8 stderr");
        assert_eq!(
            out.status.code(),
            Some(code),
            "terroir {args:?} should exit {code}; stderr: {stderr}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "terroir {args:?}: want one stderr line, got {stderr:?}"
        );
        assert!(lines[0].starts_with("error: "), "{stderr}");
        assert!(
            lines[0].contains(needle),
            "terroir {args:?}: {:?} does not mention {needle:?}",
            lines[0]
        );
        lines[0].to_owned()
    }

    /// A refused command: exit 1 (2 for malformed flags), one clear line,
    /// and the ledger's state digest unchanged.
    pub(crate) fn refused<S: AsRef<str> + std::fmt::Debug>(
        &self,
        args: &[S],
        needle: &str,
    ) -> String {
        let before = self.digest();
        let line = self.fails_with(1, args, needle);
        assert_eq!(self.digest(), before, "terroir {args:?} changed the ledger");
        line
    }

    /// Like [`Self::refused`] for flags clap rejects (exit 2).
    pub(crate) fn malformed<S: AsRef<str> + std::fmt::Debug>(
        &self,
        args: &[S],
        needle: &str,
    ) -> String {
        let before = self.digest();
        let line = self.fails_with(2, args, needle);
        assert_eq!(self.digest(), before, "terroir {args:?} changed the ledger");
        line
    }
}

/// The demo world: `terroir demo --dir <tmp>/demo`, with its ledger as
/// this env's ledger.
pub(crate) struct Demo {
    pub(crate) env: Env,
    pub(crate) network: String,
}

impl Demo {
    pub(crate) fn new() -> Self {
        let env = Env::new();
        let out = Command::new(env!("CARGO_BIN_EXE_terroir"))
            .current_dir(env.root())
            .env("NO_COLOR", "1")
            .args(["--json", "demo", "--dir", "demo"])
            .output()
            .expect("run demo");
        assert!(
            out.status.success(),
            "demo failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("demo JSON");
        std::fs::rename(env.path("demo/ledger"), env.ledger()).expect("move ledger");
        Demo {
            network: v["network_id"].as_str().expect("network id").to_owned(),
            env,
        }
    }

    pub(crate) fn key(&self, slug: &str) -> String {
        self.env
            .path(&format!("demo/keys/{slug}.key"))
            .display()
            .to_string()
    }

    pub(crate) fn bundle(&self) -> String {
        self.env
            .path("demo/QDH-PACK-0404.bundle")
            .display()
            .to_string()
    }

    /// Hashes of the ship records in a lot's trace.
    pub(crate) fn shipments(&self, lot: &str) -> Vec<(String, Value)> {
        let t = self.env.json(&["trace", lot]);
        t["events"]
            .as_array()
            .expect("events")
            .iter()
            .filter(|e| e["event"]["type"] == "ship")
            .map(|e| {
                (
                    e["hash"].as_str().expect("hash").to_owned(),
                    e["event"].clone(),
                )
            })
            .collect()
    }
}
