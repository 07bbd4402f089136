//! Key files encrypted at rest (issue 14): `key new` seals the secret under
//! `TERROIR_PASSPHRASE`, signing needs the right passphrase, `key show`
//! needs none, and `key encrypt` migrates a plain file in place.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Output;

use common::Env;
use serde_json::Value;

/// Runs `terroir ARGS` with `TERROIR_PASSPHRASE` set to `pass` (or unset),
/// standard input not a terminal.
fn run(env: &Env, pass: Option<&str>, args: &[&str]) -> Output {
    let mut c = env.cmd();
    c.env_remove("TERROIR_PASSPHRASE");
    if let Some(p) = pass {
        c.env("TERROIR_PASSPHRASE", p);
    }
    c.args(args).output().expect("run terroir")
}

fn ok(env: &Env, pass: Option<&str>, args: &[&str]) -> Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(env, pass, &all);
    assert!(
        out.status.success(),
        "terroir {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Fails with exit 1, one stderr line `error: …` containing `needle`, and
/// the ledger's state digest unchanged.
fn refused(env: &Env, pass: Option<&str>, args: &[&str], needle: &str) {
    let before = env.digest();
    let out = run(env, pass, args);
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr:?}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(needle), "{stderr:?} lacks {needle:?}");
    assert_eq!(env.digest(), before, "{args:?} changed the ledger");
}

fn enroll<'a>(participant: &'a str, name: &'a str) -> [&'a str; 9] {
    [
        "enroll",
        "--key",
        "bureau.key",
        "--participant",
        participant,
        "--name",
        name,
        "--role",
        "farm",
    ]
}

#[test]
fn encrypted_key_signs_only_with_its_passphrase() {
    let env = Env::new();
    let made = ok(
        &env,
        Some("tea garden 7"),
        &["key", "new", "--out", "bureau.key", "--name", "Bureau"],
    );
    assert_eq!(made["encrypted"], true);
    let text = std::fs::read_to_string(env.path("bureau.key")).unwrap();
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["version"], 2);
    assert_eq!(file["kdf"]["alg"], "argon2id");
    assert_eq!(file["cipher"]["alg"], "xchacha20poly1305");
    assert!(file.get("secret_seed").is_none(), "{text}");

    // The public half needs no passphrase: show, init, enroll --participant.
    let shown = ok(&env, None, &["key", "show", "bureau.key"]);
    assert_eq!(shown["public"], made["public"]);
    assert_eq!(shown["encrypted"], true);
    ok(
        &env,
        None,
        &[
            "init",
            "--network",
            "keys test",
            "--authority-key",
            "bureau.key",
        ],
    );
    ok(&env, None, &["key", "new", "--plain", "--out", "farm.key"]);

    // Signing needs the right passphrase.
    refused(
        &env,
        Some("tea garden 8"),
        &enroll("farm.key", "Farm"),
        "error: wrong passphrase for key file bureau.key",
    );
    refused(
        &env,
        None,
        &enroll("farm.key", "Farm"),
        "key file bureau.key is encrypted: set TERROIR_PASSPHRASE or run in a terminal",
    );
    ok(&env, Some("tea garden 7"), &enroll("farm.key", "Farm"));
}

#[test]
fn key_encrypt_migrates_a_plain_file() {
    let env = Env::new();
    let made = ok(
        &env,
        None,
        &["key", "new", "--plain", "--out", "bureau.key"],
    );
    assert_eq!(made["encrypted"], false);
    let plain: Value =
        serde_json::from_str(&std::fs::read_to_string(env.path("bureau.key")).unwrap()).unwrap();
    let seed = plain["secret_seed"].as_str().unwrap().to_owned();
    ok(
        &env,
        None,
        &[
            "init",
            "--network",
            "keys test",
            "--authority-key",
            "bureau.key",
        ],
    );
    ok(&env, None, &["key", "new", "--plain", "--out", "farm.key"]);
    ok(&env, None, &["key", "new", "--plain", "--out", "farm2.key"]);
    // A plain file signs without a passphrase.
    ok(&env, None, &enroll("farm.key", "Farm"));

    refused(
        &env,
        None,
        &["key", "encrypt", "bureau.key"],
        "cannot encrypt key file bureau.key: set TERROIR_PASSPHRASE or run in a terminal",
    );
    let done = ok(&env, Some("pw 1"), &["key", "encrypt", "bureau.key"]);
    assert_eq!(done["public"], made["public"]);
    let text = std::fs::read_to_string(env.path("bureau.key")).unwrap();
    assert!(!text.contains(&seed), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("bureau.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    refused(
        &env,
        Some("pw 1"),
        &["key", "encrypt", "bureau.key"],
        "key file bureau.key is already encrypted",
    );

    // Now it needs the passphrase.
    refused(
        &env,
        None,
        &enroll("farm2.key", "Farm 2"),
        "key file bureau.key is encrypted",
    );
    refused(
        &env,
        Some("pw 2"),
        &enroll("farm2.key", "Farm 2"),
        "wrong passphrase for key file bureau.key",
    );
    ok(&env, Some("pw 1"), &enroll("farm2.key", "Farm 2"));
    assert_eq!(
        ok(&env, None, &["key", "show", "bureau.key"])["public"],
        made["public"]
    );
}
