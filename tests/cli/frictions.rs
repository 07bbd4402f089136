//! Issue 14: a CLI that helps people who make mistakes — concurrent
//! signers, hash prefixes, suggestions, help text, completions, and
//! tables that line up in any script.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Demo;

/// Two CLIs signing for one participant at once both succeed: the default
/// time is read after the ledger is open (and locked), so no record is
/// ever earlier than the author's previous one.
#[test]
fn concurrent_signers_for_one_key_all_succeed() {
    let d = Demo::new();
    let farm = d.key("jiukeng-garden");
    // Four at once: each waits for the ledger lock up to `LOCK_WAIT` (1.5 s),
    // so more could time out on a loaded machine rather than race.
    let codes: Vec<String> = (0..4).map(|i| format!("RACE-{i}")).collect();
    let children: Vec<_> = codes
        .iter()
        .map(|code| {
            std::process::Command::new(env!("CARGO_BIN_EXE_terroir"))
                .current_dir(d.env.root())
                .env_remove("TERROIR_HOME")
                .env_remove("TERROIR_NODE")
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .arg("--ledger")
                .arg(d.env.ledger())
                .args([
                    "record",
                    "harvest",
                    "--key",
                    &farm,
                    "--lot",
                    code,
                    "--product",
                    "tea leaf",
                    "--quantity",
                    "10kg",
                ])
                .spawn()
                .expect("spawn terroir")
        })
        .collect();
    for (code, child) in codes.iter().zip(children) {
        let out = child.wait_with_output().expect("wait terroir");
        assert!(
            out.status.success(),
            "harvest {code} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for code in &codes {
        let t = d.env.json(&["trace", code]);
        assert_eq!(t["events"].as_array().expect("events").len(), 1, "{code}");
    }
}

/// `record receive --shipment` takes the 8-hex hash `terroir` prints (or
/// any unambiguous prefix); an unknown prefix is one clear line, and so is
/// a prefix with `--node`.
#[test]
fn shipments_are_named_by_hash_prefix() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let coop = d.key("cooperative");
    env.ok(&[
        "record",
        "harvest",
        "--key",
        &farm,
        "--lot",
        "PREFIX-1",
        "--product",
        "tea leaf",
        "--quantity",
        "10kg",
    ]);
    let ship = env.json(&[
        "record",
        "ship",
        "--key",
        &farm,
        "--lot",
        "PREFIX-1",
        "--quantity",
        "10kg",
        "--to",
        &coop,
    ]);
    let hash = ship["record"].as_str().expect("hash").to_owned();
    let short = hash[..8].to_uppercase();
    env.malformed(
        &[
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            &hash[..7],
        ],
        "prefix of 8 or more",
    );
    env.refused(
        &[
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            "0000000000",
        ],
        "no record starting 0000000000",
    );
    env.refused(
        &[
            "--node",
            "http://127.0.0.1:9",
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            &short,
        ],
        "give the full 64-character hash",
    );
    let r = env.json(&["record", "receive", "--key", &coop, "--shipment", &short]);
    assert_eq!(r["kind"], "receive");
    assert_eq!(r["deps"][0], hash.as_str());
    assert_eq!(r["event"]["quantity"]["amount"], 10_000);
}

/// A mistyped command, flag, lot code or participant name gets a "did you
/// mean", on the one error line.
#[test]
fn mistakes_get_a_did_you_mean() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    env.malformed(&["tarce", "QDH-JK-0401"], "did you mean 'trace'?");
    env.malformed(
        &[
            "record",
            "harvest",
            "--key",
            &farm,
            "--lot",
            "X-1",
            "--product",
            "tea",
            "--qty",
            "5kg",
        ],
        "did you mean '--quantity'?",
    );
    env.refused(&["trace", "QDH-JK-0041"], "did you mean \"QDH-JK-0401\"?");
    env.refused(
        &[
            "record",
            "ship",
            "--key",
            &farm,
            "--lot",
            "QDH-JK-041",
            "--quantity",
            "1kg",
            "--to",
            "Xiansheng Market, West Lake",
        ],
        "no lot \"QDH-JK-041\" in this ledger; did you mean \"QDH-JK-0401\"?",
    );
    env.refused(
        &["holdings", "鲜生超市西湖店 Xiansheng Market, Wset Lake"],
        "did you mean \"鲜生超市西湖店 Xiansheng Market, West Lake\"?",
    );
    // Nothing near: no guess.
    let line = env.refused(&["trace", "ZZZZZZZZZZZZ"], "no lot");
    assert!(!line.contains("did you mean"), "{line}");
}

/// The global options are listed once, by `terroir --help`; a
/// subcommand's help shows its own options and points there. They still
/// work after the subcommand.
#[test]
fn global_options_are_shown_once() {
    let env = common::Env::new();
    let top = env.ok(&["--help"]);
    for flag in ["--ledger", "--node", "--json", "--quiet"] {
        assert!(top.contains(flag), "terroir --help lacks {flag}: {top}");
    }
    let help = env.ok(&["key", "new", "--help"]);
    assert!(help.contains("--out"), "{help}");
    for flag in ["--ledger", "--node", "--node-token", "--json", "--quiet"] {
        let listed = help
            .lines()
            .map(str::trim_start)
            .any(|l| l.starts_with(flag) || l.starts_with(&format!("-q, {flag}")));
        assert!(!listed, "terroir key new --help lists {flag}: {help}");
    }
    assert!(
        help.contains("Global options (--ledger, --node, --json, --quiet …): see `terroir --help`"),
        "{help}"
    );
    let out = env.ok(&["key", "new", "--out", "a.key", "--plain", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON after the subcommand");
    assert!(v.is_object(), "{out}");
}

/// `terroir completions SHELL` prints a completion script that knows the
/// commands and their flags.
#[test]
fn completions_for_every_shell() {
    let env = common::Env::new();
    let bash = env.ok(&["completions", "bash"]);
    assert!(bash.contains("trace"), "bash completions lack trace");
    assert!(
        bash.contains("--quantity"),
        "bash completions lack --quantity"
    );
    assert!(bash.contains("--ledger"), "bash completions lack --ledger");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = env.ok(&["completions", shell]);
        assert!(
            out.contains("quantity"),
            "{shell} completions lack --quantity"
        );
    }
    env.fails_with(2, &["completions", "tcsh"], "invalid value 'tcsh'");
}

/// The most used commands end their help with examples.
#[test]
fn help_has_examples() {
    let env = common::Env::new();
    let help = env.ok(&["record", "receive", "--help"]);
    assert!(
        help.contains("Examples:\n  terroir record receive --key coop.key --shipment cb662c94"),
        "{help}"
    );
    for cmd in [
        &["record", "harvest"][..],
        &["record", "ship"],
        &["trace"],
        &["bundle"],
        &["verify"],
        &["qr"],
        &["status"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = env.ok(&args);
        let want = format!("Examples:\n  terroir {}", cmd.join(" "));
        assert!(help.contains(&want), "terroir {cmd:?} --help: {help}");
        // The pointer to the global options comes after the examples.
        assert!(help.trim_end().ends_with("see `terroir --help`."), "{help}");
    }
}

/// `terroir participants` pads names by display width, so the key column
/// starts at the same terminal column whatever the script of the names.
#[test]
fn participant_names_align_by_display_width() {
    let d = Demo::new();
    let out = d.env.ok(&["participants"]);
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 5, "{out}");
    assert!(
        out.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{out}"
    );
    let starts: Vec<usize> = lines
        .iter()
        .map(|l| {
            // The key is the last word: 64 hex characters.
            let key_at = l.rfind(' ').expect("columns") + 1;
            assert_eq!(l.len() - key_at, 64, "{l}");
            unicode_width::UnicodeWidthStr::width(&l[..key_at])
        })
        .collect();
    assert!(
        starts.iter().all(|s| *s == starts[0]),
        "key columns start at display widths {starts:?}:\n{out}"
    );
}

/// A temperature needs the goods' profile (or an explicit range): frozen
/// goods read at −18 °C are no excursion under `--profile frozen`, and
/// nothing is guessed when neither is given.
#[test]
fn temperatures_need_a_profile_or_a_range() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let observe = |extra: &[&str]| {
        let mut args = vec![
            "record",
            "observe",
            "--key",
            farm.as_str(),
            "--lot",
            "QDH-JK-0401",
            "--temperature",
            "-18",
        ];
        args.extend_from_slice(extra);
        args.iter()
            .map(|a| (*a).to_owned())
            .collect::<Vec<String>>()
    };
    env.refused(&observe(&[]), "--profile chilled, frozen or ambient");
    let frozen = env.json(
        &observe(&["--profile", "frozen"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let reading = &frozen["event"]["readings"][0];
    assert_eq!(reading["min"], -30_000, "{frozen}");
    assert_eq!(reading["max"], -15_000);
    assert_eq!(reading["value"], -18_000);
    env.malformed(
        &observe(&["--profile", "frozen", "--temperature-range", "0..8"]),
        "cannot be used with",
    );
}
