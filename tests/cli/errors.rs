//! Bad input gets a clear one-line error and changes nothing: every
//! rejected command leaves the ledger's state digest as it was.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Demo, Env};

#[test]
fn key_files() {
    let d = Demo::new();
    let env = &d.env;
    let sell = |key: &str| {
        vec![
            "record",
            "sell",
            "--key",
            key,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "250g",
        ]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>()
    };
    let run = |args: Vec<String>, needle: &str| env.refused(&args, needle);
    run(sell("missing.key"), "cannot read key file missing.key");
    std::fs::write(env.path("garbage.key"), "not a key").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(
            env.path("garbage.key"),
            std::fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        run(sell("garbage.key"), "is not a Terroir key file");
        let shop = d.key("retailer");
        std::fs::set_permissions(&shop, std::fs::Permissions::from_mode(0o644)).unwrap();
        run(sell(&shop), "can be read by others (mode 644)");
        std::fs::set_permissions(&shop, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    // A key nobody enrolled.
    env.ok(&["key", "new", "--out", "stranger.key"]);
    run(sell("stranger.key"), "is not enrolled");
    // Enrolled, but not allowed this event.
    run(sell(&d.key("jiukeng-garden")), "may not sign sell records");
    env.refused(
        &[
            "record",
            "certify",
            "--key",
            &d.key("jiukeng-garden"),
            "--lot",
            "QDH-JK-0401",
            "--claim",
            "organic",
        ],
        "may not sign certify records",
    );
    env.refused(
        &[
            "enroll",
            "--key",
            &d.key("cooperative"),
            "--participant",
            "stranger.key",
            "--name",
            "x",
            "--role",
            "farm",
        ],
        "may not sign enroll records",
    );
    // key new never overwrites.
    env.fails_with(
        1,
        &["key", "new", "--out", "stranger.key"],
        "never overwritten",
    );
}

#[test]
fn lots_and_custody() {
    let d = Demo::new();
    let env = &d.env;
    let shop = d.key("retailer");
    let coop = d.key("cooperative");
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &shop,
            "--lot",
            "NO-SUCH-LOT",
            "--quantity",
            "1kg",
        ],
        "no lot \"NO-SUCH-LOT\"",
    );
    env.refused(&["trace", "NO-SUCH-LOT"], "no lot");
    env.refused(
        &[
            "record",
            "inspect",
            "--key",
            &d.key("lab"),
            "--lot",
            "NOPE",
            "--test",
            "t",
            "--verdict",
            "pass",
        ],
        "no lot",
    );
    // Selling and shipping more than held.
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &shop,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "1t",
        ],
        "you hold only 17.5 kg, but the record needs 1000 kg",
    );
    env.refused(
        &[
            "record",
            "ship",
            "--key",
            &coop,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "30kg",
            "--to",
            "浙冷链物流 Zhe Cold-Chain Logistics",
        ],
        "you hold only 27.5 kg",
    );
    env.refused(
        &[
            "record",
            "ship",
            "--key",
            &shop,
            "--lot",
            "QDH-JK-0401",
            "--quantity",
            "1kg",
            "--to",
            "lab",
        ],
        "unknown participant",
    );
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &shop,
            "--lot",
            "QDH-JK-0401",
            "--quantity",
            "1kg",
        ],
        "you hold none of lot QDH-JK-0401",
    );
    // A unit that does not match the lot's.
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &shop,
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "24 case",
        ],
        "is counted in grams (mass), but the quantity given is in cases",
    );
    // Receiving someone else's shipment, and receiving twice.
    let ships = d.shipments("QDH-PACK-0404");
    let (to_shop, _) = ships
        .iter()
        .find(|(_, e)| e["from"]["gln"] == "6901234000047")
        .unwrap();
    env.refused(
        &[
            "record",
            "receive",
            "--key",
            &d.key("lab"),
            "--shipment",
            to_shop,
        ],
        "may not sign receive records",
    );
    env.refused(
        &["record", "receive", "--key", &coop, "--shipment", to_shop],
        "is addressed to 鲜生超市西湖店",
    );
    env.refused(
        &["record", "receive", "--key", &shop, "--shipment", to_shop],
        "was already received",
    );
    env.refused(
        &[
            "record",
            "receive",
            "--key",
            &shop,
            "--shipment",
            &"ab".repeat(32),
        ],
        "no record abababab",
    );
    // Lot codes are unique per creator.
    env.refused(
        &[
            "record",
            "harvest",
            "--key",
            &d.key("jiukeng-garden"),
            "--lot",
            "QDH-JK-0401",
            "--product",
            "leaf",
            "--quantity",
            "1kg",
        ],
        "already created a lot with code",
    );
}

#[test]
fn malformed_values() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let harvest = |extra: &[&'static str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "record",
            "harvest",
            "--key",
            farm.as_str(),
            "--lot",
            "NEW-1",
            "--product",
            "leaf",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    for (q, why) in [
        ("5x", "unknown unit"),
        ("-3kg", "negative"),
        ("1.5 case", "fractional"),
        ("0kg", "more than zero"),
        ("kg", "no number"),
        ("12", "no unit"),
        ("99999999999999999999t", "too large"),
    ] {
        env.malformed(&harvest(&["--quantity", q]), why);
    }
    env.malformed(
        &harvest(&["--quantity", "1kg", "--gtin", "06901234567891"]),
        "check digit 1, expected 2",
    );
    env.malformed(
        &harvest(&["--quantity", "1kg", "--gtin", "123"]),
        "has 3 digits",
    );
    env.malformed(
        &harvest(&["--quantity", "1kg", "--gln", "6901234000017"]),
        "GLN",
    );
    env.malformed(
        &harvest(&["--quantity", "1kg", "--time", "last tuesday"]),
        "not RFC 3339",
    );
    env.malformed(
        &harvest(&["--quantity", "1kg", "--ref", "no-colon"]),
        "TYPE:NUMBER",
    );
    env.malformed(
        &[
            "enroll",
            "--key",
            &farm,
            "--participant",
            "x",
            "--name",
            "x",
            "--role",
            "wizard",
        ],
        "unknown role",
    );
    env.malformed(
        &["record", "receive", "--key", &farm, "--shipment", "abc"],
        "not a record hash",
    );
    env.malformed(
        &[
            "record",
            "observe",
            "--key",
            &farm,
            "--lot",
            "QDH-JK-0401",
            "--temperature",
            "4",
            "--temperature-range",
            "8..0",
        ],
        "empty",
    );
    env.malformed(
        &[
            "record",
            "harvest",
            "--key",
            &farm,
            "--lot",
            "A/B",
            "--product",
            "x",
            "--quantity",
            "1kg",
        ],
        "may not contain",
    );
    // Well-formed, but in the future, or before the lot existed.
    env.refused(
        &harvest(&["--quantity", "1kg", "--time", "2999-01-01"]),
        "in the future",
    );
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &d.key("retailer"),
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "1kg",
            "--time",
            "2025-01-01",
        ],
        "earlier than",
    );
    // Mixed units inside a transform are refused by the core's rules.
    env.refused(
        &[
            "record",
            "transform",
            "--key",
            &d.key("cooperative"),
            "--process",
            "pack",
            "--input",
            "QDH-PACK-0404=1kg",
            "--output",
            "BOX-1=2 case",
            "--product",
            "boxed tea",
        ],
        "counted in grams",
    );
    env.refused(
        &[
            "record",
            "transform",
            "--key",
            &d.key("cooperative"),
            "--process",
            "pack",
            "--input",
            "QDH-PACK-0404=1kg",
            "--output",
            "BOX-1=900g",
            "--product",
            "boxed tea",
        ],
        "does not conserve quantity",
    );
}

/// The demo tin's bundle without the carrier's temperature reading (the
/// record that shows the excursion) is refused, naming the reading by its
/// short hash, seq and signer; it no longer verifies without the warning.
#[test]
fn a_bundle_missing_the_carriers_observation_is_refused() {
    use ledger_core::bundle::Bundle;
    use ledger_core::encoding::{self, MAX_BUNDLE_BYTES};
    use ledger_core::event::Event;
    let d = Demo::new();
    let env = &d.env;
    let bytes = std::fs::read(d.bundle()).unwrap();
    let mut b: Bundle = encoding::decode(&bytes, MAX_BUNDLE_BYTES, "bundle").unwrap();
    let i = b
        .records
        .iter()
        .position(|r| matches!(&r.record.event, Event::Observe { readings, .. } if readings.iter().any(|x| x.is_excursion())))
        .expect("the bundle holds the excursion reading");
    let gone = b.records.remove(i);
    std::fs::write(env.path("no-reading.bundle"), b.encode()).unwrap();
    let line = env.fails_with(
        1,
        &["verify", "no-reading.bundle", "--network", &d.network],
        "complete: ",
    );
    let want = format!(
        "prev {}… (seq {} of 浙冷链物流",
        gone.hash().short(),
        gone.record.seq
    );
    assert!(line.contains(&want), "{line} lacks {want}");
    assert!(line.contains("is missing from the bundle"), "{line}");
    assert!(!line.contains(&gone.hash().to_hex()), "{line}");
}

#[test]
fn bundles_and_networks() {
    let d = Demo::new();
    let env = &d.env;
    let bundle = d.bundle();
    env.ok(&["verify", &bundle, "--network", &d.network]);

    // Tampered: one byte changed in the middle of a record.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x01;
    std::fs::write(env.path("tampered.bundle"), &bytes).unwrap();
    let out = env
        .cmd()
        .args(["verify", "tampered.bundle", "--network", &d.network])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("FAILED"), "{stdout}");
    assert!(stdout.contains('✗'), "{stdout}");
    env.fails_with(
        1,
        &["verify", "tampered.bundle", "--network", &d.network],
        "failed verification",
    );
    // Truncated, and not a bundle at all.
    std::fs::write(env.path("short.bundle"), &bytes[..bytes.len() - 10]).unwrap();
    env.fails_with(
        1,
        &["verify", "short.bundle", "--network", &d.network],
        "decode",
    );
    std::fs::write(env.path("readme.bundle"), "hello").unwrap();
    env.fails_with(
        1,
        &["verify", "readme.bundle", "--network", &d.network],
        "decode",
    );
    env.fails_with(
        1,
        &["verify", "missing.bundle", "--network", &d.network],
        "cannot read bundle",
    );

    // Another network's id.
    let other = Env::new();
    other.ok(&["key", "new", "--out", "a.key", "--name", "Other bureau"]);
    let id = other.json(&[
        "init",
        "--network",
        "another county",
        "--authority-key",
        "a.key",
    ])["network_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let v = env
        .cmd()
        .args(["--json", "verify", &bundle, "--network", &id])
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(1));
    let j: serde_json::Value = serde_json::from_slice(&v.stdout).unwrap();
    assert_eq!(j["verified"], false);
    assert_eq!(j["checks"][1]["name"], "network");
    env.fails_with(1, &["verify", &bundle, "--network", &id], "expected");
    env.malformed(&["verify", &bundle], "--network");
    env.fails_with(
        1,
        &["verify", &bundle, "--network", "cafe"],
        "neither a network id",
    );

    // Records signed for another network never enter this ledger.
    env.refused(
        &[
            "record",
            "sell",
            "--key",
            &other.path("a.key").display().to_string(),
            "--lot",
            "QDH-PACK-0404",
            "--quantity",
            "1g",
        ],
        "is not enrolled",
    );
    // QR output type.
    env.fails_with(
        1,
        &["qr", "QDH-PACK-0404", "-o", "code.jpg"],
        ".png or .svg",
    );
}

#[test]
fn ledger_directories() {
    let env = Env::new();
    // Absent, not a ledger, then a ledger that another process holds.
    env.fails_with(1, &["status"], "no ledger at");
    std::fs::create_dir_all(env.ledger()).unwrap();
    env.fails_with(1, &["status"], "is not a Terroir ledger");
    std::fs::create_dir_all(env.ledger().join("store")).unwrap();
    env.fails_with(1, &["status"], "not a Terroir ledger (no genesis)");
    std::fs::remove_dir_all(env.ledger()).unwrap();

    env.ok(&["key", "new", "--out", "a.key", "--name", "Bureau"]);
    env.ok(&["init", "--network", "lock test", "--authority-key", "a.key"]);
    env.fails_with(
        1,
        &["init", "--network", "again", "--authority-key", "a.key"],
        "already exists",
    );
    let before = env.digest();
    {
        let _held = ledger_core::store::SledStore::open(&env.ledger().join("store")).unwrap();
        env.fails_with(1, &["status"], "locked by another process");
        env.fails_with(
            1,
            &[
                "enroll",
                "--key",
                "a.key",
                "--participant",
                &"0".repeat(64),
                "--name",
                "x",
                "--role",
                "farm",
            ],
            "cannot enroll key",
        );
        env.ok(&["key", "new", "--out", "b.key"]);
        env.fails_with(
            1,
            &[
                "enroll",
                "--key",
                "a.key",
                "--participant",
                "b.key",
                "--name",
                "x",
                "--role",
                "farm",
            ],
            "locked by another process",
        );
    }
    assert_eq!(env.digest(), before);
    // TERROIR_HOME is the default ledger.
    let out = assert_cmd::Command::new(env!("CARGO_BIN_EXE_terroir"))
        .current_dir(env.root())
        .env("TERROIR_HOME", env.ledger())
        .args(["--quiet", "status"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), before);
}

/// Regression: a farm observing the lot it has just harvested needs the
/// harvest in deps, but the harvest is also its prev, which may not be
/// listed twice. The CLI says so instead of signing a record the ledger
/// would refuse with a puzzling "must be listed in deps".
#[test]
fn regression_observe_own_lot_right_after_harvest() {
    let env = Env::new();
    env.ok(&["key", "new", "--out", "a.key"]);
    env.ok(&["key", "new", "--out", "f.key"]);
    env.ok(&["init", "--network", "n", "--authority-key", "a.key"]);
    env.ok(&[
        "enroll",
        "--key",
        "a.key",
        "--participant",
        "f.key",
        "--name",
        "F",
        "--role",
        "farm",
    ]);
    env.ok(&[
        "record",
        "harvest",
        "--key",
        "f.key",
        "--lot",
        "L1",
        "--product",
        "靖远枸杞",
        "--quantity",
        "5kg",
    ]);
    // The harvest is the farm's prev, which stands in for the lot dep.
    env.ok(&[
        "record",
        "observe",
        "--key",
        "f.key",
        "--lot",
        "L1",
        "--temperature",
        "4",
        "--profile",
        "chilled",
    ]);
}

#[test]
fn founding_authorities_by_public_key_refuses_bad_keys() {
    let env = Env::new();
    let a = env.json(&["key", "new", "--out", "a.key", "--name", "Bureau"]);
    let a = a["public"].as_str().unwrap().to_owned();
    // The identity point: 64 hex digits, but a small-order (weak) key.
    let weak = format!("01{}", "0".repeat(62));
    let init = |more: &[&str]| {
        let mut v = vec!["init", "--network", "n"];
        v.extend_from_slice(more);
        v.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let cases: Vec<(i32, Vec<String>, &str)> = vec![
        (
            2,
            init(&["--authority", "zz"]),
            "is not a public key (64 hex",
        ),
        (2, init(&["--authority", &a[..63]]), "is not a public key"),
        (2, init(&["--authority", &weak]), "small-order point"),
        (2, init(&["--authority", &format!("{a}=")]), "empty name"),
        (
            2,
            init(&["--authority", &format!("{a}=x\u{7}")]),
            "control characters",
        ),
        (2, init(&[]), "--authority"),
        (
            1,
            init(&["--authority", &a, "--authority", &format!("{a}=again")]),
            "is named twice",
        ),
        (
            1,
            init(&["--authority-key", "a.key", "--authority", &a]),
            "is named twice",
        ),
        (
            1,
            init(&[
                "--authority",
                &a,
                "--authority-key",
                "a.key",
                "--authority-name",
                "x",
            ]),
            "names a single authority",
        ),
        (
            1,
            init(&[
                "--authority",
                &format!("{a}=Bureau"),
                "--authority-name",
                "x",
            ]),
            "named twice",
        ),
    ];
    for (code, args, needle) in cases {
        env.fails_with(code, &args, needle);
        assert!(
            !env.ledger().exists(),
            "terroir {args:?} wrote {}",
            env.ledger().display()
        );
    }
}

/// What an enrolled stranger meets when it reaches for another brand's
/// GTIN, and a regulator's or owner's slips: one line, exit 1 or 2, and
/// the ledger unchanged.
#[test]
fn product_codes_refuse_strangers_and_slips() {
    let d = Demo::new();
    let env = &d.env;
    let tin = "06901234567892";
    // A member garden packs under the cooperative's GTIN without being its packer.
    env.refused(
        &[
            "record",
            "harvest",
            "--key",
            &d.key("lin-garden"),
            "--lot",
            "FAKE-0404",
            "--product",
            "千岛湖茶 tin",
            "--gtin",
            tin,
            "--quantity",
            "5kg",
        ],
        "is not under a GS1 company prefix of 界首林家茶园",
    );
    // It cannot make itself a packer either: it owns no prefix.
    env.refused(
        &[
            "authorise-packer",
            "--key",
            &d.key("lin-garden"),
            "--packer",
            &d.key("jiukeng-garden"),
            "--prefix",
            "6901234",
        ],
        "owns no GS1 company prefix that 6901234 lies in",
    );
    // Only regulators assign prefixes.
    env.refused(
        &[
            "assign-prefix",
            "--key",
            &d.key("cooperative"),
            "--participant",
            &d.key("lin-garden"),
            "--prefix",
            "6901234",
        ],
        "may not sign assign_prefix records",
    );
    // A Chinese lot code on a GTIN lot, and the owner reusing a lot code.
    env.refused(
        &[
            "record",
            "transform",
            "--key",
            &d.key("cooperative"),
            "--process",
            "pack",
            "--input",
            "QDH-PACK-0413=1kg",
            "--output",
            "千岛湖-0501=1kg",
            "--product",
            "千岛湖茶 tin",
            "--gtin",
            tin,
        ],
        "cannot go in the GS1 barcode or QR code",
    );
    env.refused(
        &[
            "record",
            "transform",
            "--key",
            &d.key("cooperative"),
            "--process",
            "pack",
            "--input",
            "QDH-PACK-0413=1kg",
            "--output",
            "QDH-PACK-0404=1kg",
            "--product",
            "千岛湖茶 tin",
            "--gtin",
            tin,
        ],
        "GTIN 06901234567892 already has a lot \"QDH-PACK-0404\"",
    );
    // Malformed prefixes never reach the ledger.
    env.malformed(
        &[
            "assign-prefix",
            "--key",
            &d.key("authority"),
            "--participant",
            &d.key("lin-garden"),
            "--prefix",
            "69A",
        ],
        "GS1 company prefix",
    );
    // A certificate that would expire before it is issued.
    env.refused(
        &[
            "record",
            "certify",
            "--key",
            &d.key("authority"),
            "--lot",
            "QDH-PACK-0413",
            "--claim",
            "organic",
            "--valid-until",
            "2020-01-01",
        ],
        "ends before it is issued",
    );
}
