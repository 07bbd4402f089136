//! The README's walk-through runs as written: every ```sh block of its
//! "## Walk-through" section, top to bottom, as one bash script with
//! `set -euo pipefail`, in an empty directory with the real `terroir`
//! first on PATH. Then its outputs must show the story happened: every
//! role enrolled and signed the packed tea's journey, the goods went farm
//! → cooperative → carrier → shop, the consumer's `terroir verify` found
//! it genuine and clean, the QR code was written, the recall reached it.
//!
//! Blocks a reader must not run take another fence (```text); anything
//! else is refused here, so the README cannot grow an untested command.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::Env;
use serde_json::Value;

/// How long the whole walk-through may take before it is killed (it
/// takes a few seconds).
const DEADLINE: Duration = Duration::from_secs(120);

/// The lot the walk-through packs, ships, sells and puts a QR code on.
const PACK: &str = "QDH-PACK-0404";

/// One fenced block of the walk-through: its info string, first line
/// (1-based, in README.md) and text.
struct Block {
    info: String,
    line: usize,
    text: String,
}

/// The fenced blocks between the "## Walk-through" heading and the next
/// "## " heading.
fn walkthrough_blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.starts_with("## Walk-through"))
        .expect("README.md has no \"## Walk-through\" section");
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("## "))
        .map_or(lines.len(), |i| start + 1 + i);
    let mut blocks = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in lines.iter().enumerate().take(end).skip(start + 1) {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                open = Some(Block {
                    info: line.trim_start().trim_start_matches('`').trim().to_owned(),
                    line: i + 1,
                    text: String::new(),
                });
            }
            (Some(_), true) => blocks.push(open.take().expect("open block")),
            (Some(b), false) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, false) => {}
        }
    }
    if let Some(b) = open {
        panic!(
            "README.md line {}: the ```{} block is never closed",
            b.line, b.info
        );
    }
    blocks
}

/// `<farm public key>`-style text: a `<` followed by a letter with a `>`
/// later on the same line (a redirection such as `2>&1` or `< file` is
/// not one).
fn placeholders(script: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in script.lines() {
        for (i, _) in line.match_indices('<') {
            let rest = &line[i + 1..];
            if rest.chars().next().is_some_and(char::is_alphabetic) {
                if let Some(j) = rest.find('>') {
                    found.push(line[i..=i + 1 + j].to_owned());
                }
            }
        }
    }
    found
}

/// The last `n` lines of `text`, for failure messages.
fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

struct Run {
    status: std::process::ExitStatus,
    stdout: String,
    stderr: String,
}

/// Runs `bash script` in `dir` with `terroir` first on PATH; kills it at
/// the deadline.
fn run_bash(script: &Path, dir: &Path, out_dir: &Path) -> Run {
    let terroir = Path::new(env!("CARGO_BIN_EXE_terroir"));
    let bin_dir = terroir.parent().expect("terroir's directory");
    let path = std::env::var_os("PATH").unwrap_or_default();
    let path = std::env::join_paths(
        std::iter::once(bin_dir.to_path_buf()).chain(std::env::split_paths(&path)),
    )
    .expect("PATH");
    let mut child = match Command::new("bash")
        .arg(script)
        .current_dir(dir)
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("README_TEST_OUT", out_dir)
        // Nothing from the caller's shell may help or hinder the script.
        .env_remove("BASH_ENV")
        .env_remove("ENV")
        .env_remove("TERROIR_HOME")
        .env_remove("TERROIR_NODE")
        .env_remove("TERROIR_NODE_TOKEN")
        .env_remove("TERROIR_PASSPHRASE")
        .env_remove("TERROIR_BASE_URL")
        .env_remove("TERROIR_UTC")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => panic!(
            "`bash` is not on PATH: this test runs the README's sh blocks with bash; install bash"
        ),
        Err(e) => panic!("cannot start bash: {e}"),
    };
    // Both pipes are read to their end on their own threads, which report
    // when bash (and everything it started) has closed them.
    // One message from each of the two readers.
    let (tx, rx) = mpsc::sync_channel(2);
    let mut readers = Vec::new();
    for (name, mut pipe) in [
        (
            "stdout",
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn Read + Send>,
        ),
        ("stderr", Box::new(child.stderr.take().expect("stderr"))),
    ] {
        let tx = tx.clone();
        readers.push(std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send(name);
            String::from_utf8_lossy(&buf).into_owned()
        }));
    }
    drop(tx);
    let started = std::time::Instant::now();
    for _ in 0..2 {
        let left = DEADLINE.saturating_sub(started.elapsed());
        if rx.recv_timeout(left).is_err() {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the README walk-through did not finish within {} s; killed",
                DEADLINE.as_secs()
            );
        }
    }
    let status = child.wait().expect("wait for bash");
    let mut texts = readers.into_iter().map(|r| r.join().expect("pipe reader"));
    let stdout = texts.next().expect("stdout");
    let stderr = texts.next().expect("stderr");
    Run {
        status,
        stdout,
        stderr,
    }
}

#[test]
fn the_walkthrough_runs_as_written() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", readme_path.display()));
    let blocks = walkthrough_blocks(&readme);

    // Every block is either run (sh) or plainly not a command (text).
    for b in &blocks {
        assert!(
            b.info == "sh" || b.info == "text",
            "README.md line {}: a walk-through block fenced ```{} is neither run (```sh) \
             nor marked as not to be run (```text)",
            b.line,
            b.info
        );
    }
    let sh: Vec<&Block> = blocks.iter().filter(|b| b.info == "sh").collect();
    assert!(
        sh.len() >= 8,
        "only {} sh blocks in the walk-through",
        sh.len()
    );

    let mut script = String::from("set -euo pipefail\nset -x\n");
    for b in &sh {
        script.push_str(&format!("\n# README.md line {}\n{}", b.line, b.text));
    }
    let bad = placeholders(&script);
    assert!(
        bad.is_empty(),
        "the walk-through has placeholders a reader cannot run as written: {bad:?}"
    );
    // After the README's own commands, in the same shell (its TERROIR_HOME):
    // the packed lot's journey as JSON, for the checks below.
    script.push_str(&format!(
        "\n# the test's own epilogue\nterroir --json trace {PACK} > \"$README_TEST_OUT/trace.json\"\n"
    ));

    let env = Env::new();
    let dir = env.path("walk");
    let out_dir = env.path("out");
    std::fs::create_dir(&dir).expect("work dir");
    std::fs::create_dir(&out_dir).expect("out dir");
    let script_path = env.path("readme.sh");
    std::fs::write(&script_path, &script).expect("write script");

    let run = run_bash(&script_path, &dir, &out_dir);
    assert!(
        run.status.success(),
        "the README walk-through failed ({}).\n--- stdout (end) ---\n{}\n--- stderr (end) ---\n{}",
        run.status,
        tail(&run.stdout, 40),
        tail(&run.stderr, 40)
    );
    let out = &run.stdout;

    // The consumer's offline check: genuine, complete and clean.
    assert!(
        out.contains(
            "VERIFIED: every record is genuine, signed by enrolled participants, \
             and complete back to the harvests."
        ),
        "`terroir verify` did not find the journey genuine and clean:\n{}",
        tail(out, 60)
    );
    // The shelf's QR code: the GS1 Digital Link of the packed lot, written
    // to a real image file.
    assert!(
        out.contains(&format!("/01/06901234567892/10/{PACK}")),
        "no GS1 Digital Link for {PACK} printed"
    );
    let images: Vec<_> = std::fs::read_dir(&dir)
        .expect("read work dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "png" || x == "svg"))
        .collect();
    assert!(
        !images.is_empty(),
        "`terroir qr` wrote no .png or .svg file"
    );
    for p in &images {
        let bytes = std::fs::read(p).expect("read QR image");
        let ok = if p.extension().is_some_and(|x| x == "png") {
            bytes.starts_with(b"\x89PNG\r\n\x1a\n")
        } else {
            String::from_utf8_lossy(&bytes).contains("<svg")
        };
        assert!(ok, "{} is not a PNG/SVG image", p.display());
    }
    assert!(out.contains("audit passed"), "`terroir audit` did not pass");

    // The journey of the packed tea: who signed what.
    let trace: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("trace.json")).expect("trace.json"),
    )
    .expect("trace JSON");
    assert_eq!(
        trace["product"]["gtin"], "06901234567892",
        "{}",
        trace["product"]
    );
    let events = trace["events"].as_array().expect("events");
    let role_of = |key: &Value| -> String {
        events
            .iter()
            .find(|e| e["signer"]["identity"] == *key)
            .map_or("?".into(), |e| {
                e["signer"]["role"].as_str().unwrap_or("?").to_owned()
            })
    };
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| e["event"]["type"].as_str().expect("event type"))
        .collect();
    for kind in [
        "harvest",
        "ship",
        "receive",
        "transform",
        "observe",
        "inspect",
        "certify",
        "sell",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in the journey: {kinds:?}");
    }
    // Every participant, by its Chinese name, signed part of it.
    let signers: Vec<&str> = events
        .iter()
        .map(|e| e["signer"]["name"].as_str().expect("signer name"))
        .collect();
    for name in [
        "千岛湖鸠坑茶园",
        "界首林家茶园",
        "千岛湖茶叶专业合作社",
        "浙冷链物流",
        "杭州农产品质量检测中心",
        "鲜生超市西湖店",
        "淳安县农业农村局",
    ] {
        assert!(
            signers.iter().any(|s| s.starts_with(name)),
            "{name} signed nothing in the journey of {PACK}: {signers:?}"
        );
    }
    // The hand-overs: two gardens to the cooperative, the cooperative to
    // the carrier, the carrier to the shop, each one received.
    let mut legs: Vec<(String, String)> = Vec::new();
    for e in events.iter().filter(|e| e["event"]["type"] == "ship") {
        let (from, to) = (role_of(&e["author"]), role_of(&e["event"]["to"]));
        let received = events
            .iter()
            .any(|r| r["event"]["type"] == "receive" && r["event"]["shipment"] == e["hash"]);
        assert!(received, "the shipment {from} → {to} was never received");
        legs.push((from, to));
    }
    for (from, to) in [
        ("farm", "processor"),
        ("processor", "logistics"),
        ("logistics", "retailer"),
    ] {
        assert!(
            legs.iter().any(|(f, t)| f == from && t == to),
            "no shipment {from} → {to} in the journey: {legs:?}"
        );
    }
    assert_eq!(
        legs.iter().filter(|(f, _)| f == "farm").count(),
        2,
        "both gardens deliver to the cooperative: {legs:?}"
    );
    // The recall at the end reaches the packed tea through the blend.
    assert_eq!(
        trace["verdict"]["finding"]["kind"], "recalled",
        "the recall did not reach {PACK}: {}",
        trace["verdict"]["finding"]
    );
}
