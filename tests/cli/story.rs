//! The farm-to-fork story, step by step through the real `terroir` binary:
//! found a network, enroll every role, harvest, ship, receive, blend, pack,
//! observe the cold chain, inspect, certify, sell, recall; then trace,
//! bundle, verify, QR and audit. And the one-command demo.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Demo, Env};
use serde_json::Value;

fn hash(v: &Value) -> String {
    v["record"].as_str().expect("record hash").to_owned()
}

#[test]
fn every_role_end_to_end() {
    let env = Env::new();
    let k = |name: &str| format!("{name}.key");

    // Keys: one per participant, 0600.
    for (file, name) in [
        ("bureau", "淳安县农业农村局"),
        ("jiukeng", "千岛湖鸠坑茶园"),
        ("lin", "界首林家茶园"),
        ("coop", "千岛湖茶叶专业合作社"),
        ("carrier", "浙冷链物流"),
        ("lab", "杭州农产品质量检测中心"),
        ("shop", "鲜生超市"),
    ] {
        let v = env.json(&["key", "new", "--out", &k(file), "--name", name]);
        assert_eq!(v["public"].as_str().unwrap().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(env.path(&k(file)))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let show = env.json(&["key", "show", &k("jiukeng")]);
    assert_eq!(show["name"], "千岛湖鸠坑茶园");
    assert!(!serde_json::to_string(&show).unwrap().contains("secret"));

    // Found the network; genesis.json is written beside the store.
    let init = env.json(&[
        "init",
        "--network",
        "淳安县 千岛湖茶 traceability",
        "--authority-key",
        &k("bureau"),
        "--time-zone",
        "Asia/Shanghai",
        "--language",
        "zh-CN",
        "--contact",
        "淳安县农业农村局 · 12316",
    ]);
    let network = init["network_id"].as_str().unwrap().to_owned();
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(env.ledger().join("genesis.json")).unwrap())
            .unwrap();
    assert_eq!(genesis["network"], "淳安县 千岛湖茶 traceability");
    assert_eq!(genesis["authorities"][0]["name"], "淳安县农业农村局");
    let g = env.json(&[
        "genesis",
        "--file",
        env.ledger().join("genesis.json").to_str().unwrap(),
    ]);
    assert_eq!(g["network_id"], network.as_str());

    // Enroll everyone, by key file or by key hex.
    for (file, name, role, gln) in [
        ("jiukeng", "千岛湖鸠坑茶园", "farm", "6901234000016"),
        ("lin", "界首林家茶园", "farm", "6901234000023"),
        ("coop", "千岛湖茶叶专业合作社", "processor", "6901234000030"),
        ("carrier", "浙冷链物流", "logistics", "6901234000047"),
        ("lab", "杭州农产品质量检测中心", "lab", "6901234000054"),
    ] {
        env.ok(&[
            "enroll",
            "--key",
            &k("bureau"),
            "--participant",
            &k(file),
            "--name",
            name,
            "--role",
            role,
            "--location",
            &format!("{name} site"),
            "--gln",
            gln,
        ]);
    }
    let shop_key = env.json(&["key", "show", &k("shop")])["public"]
        .as_str()
        .unwrap()
        .to_owned();
    env.ok(&[
        "enroll",
        "--key",
        &k("bureau"),
        "--participant",
        &shop_key,
        "--name",
        "鲜生超市",
        "--role",
        "retailer",
        "--location",
        "杭州市西湖区",
    ]);
    let people = env.json(&["participants"]);
    assert_eq!(people.as_array().unwrap().len(), 7);
    // The cooperative's GS1 company prefix, so it may put GTINs on lots.
    env.ok(&[
        "assign-prefix",
        "--key",
        &k("bureau"),
        "--participant",
        &k("coop"),
        "--prefix",
        "6901234",
    ]);

    // Two gardens harvest and deliver to the cooperative.
    let h = env.json(&[
        "record",
        "harvest",
        "--key",
        &k("jiukeng"),
        "--lot",
        "JK-0401",
        "--product",
        "千岛湖茶 fresh leaf",
        "--quantity",
        "120kg",
    ]);
    assert_eq!(h["event"]["quantity"]["amount"], 120_000);
    assert_eq!(
        h["event"]["location"]["gln"], "6901234000016",
        "defaults to the enrolled site"
    );
    env.ok(&[
        "record",
        "harvest",
        "--key",
        &k("lin"),
        "--lot",
        "JS-0402",
        "--product",
        "千岛湖茶 fresh leaf",
        "--quantity",
        "0.08t",
        "--ref",
        "picking log:LJ-7",
    ]);
    let ship_a = hash(&env.json(&[
        "record",
        "ship",
        "--key",
        &k("jiukeng"),
        "--lot",
        "JK-0401",
        "--quantity",
        "120kg",
        "--to",
        "千岛湖茶叶专业合作社",
    ]));
    let ship_b = hash(&env.json(&[
        "record",
        "ship",
        "--key",
        &k("lin"),
        "--lot",
        "JS-0402",
        "--quantity",
        "80 kg",
        "--to",
        "千岛湖茶叶专业合作社",
    ]));
    env.ok(&[
        "record",
        "receive",
        "--key",
        &k("coop"),
        "--shipment",
        &ship_a,
    ]);
    let r = env.json(&[
        "record",
        "receive",
        "--key",
        &k("coop"),
        "--shipment",
        &ship_b,
        "--quantity",
        "79.5kg",
    ]);
    assert_eq!(r["event"]["quantity"]["amount"], 79_500);

    // Blend and pack; quantities are conserved with the stated loss.
    env.ok(&[
        "record",
        "transform",
        "--key",
        &k("coop"),
        "--process",
        "blend and dry",
        "--input",
        "JK-0401=120kg",
        "--input",
        "JS-0402=79.5kg",
        "--output",
        "BLEND-0403=48kg",
        "--loss",
        "151.5kg",
        "--product",
        "千岛湖茶 green tea",
    ]);
    env.ok(&[
        "record",
        "transform",
        "--key",
        &k("coop"),
        "--process",
        "pack into 250 g tins",
        "--input",
        "BLEND-0403=48kg",
        "--output",
        "PACK-0404=48kg",
        "--product",
        "千岛湖茶 green tea 250 g tin",
        "--gtin",
        "06901234567892",
    ]);
    let held = env.json(&["holdings", "千岛湖茶叶专业合作社"]);
    assert_eq!(held["holdings"][0]["quantity"]["amount"], 48_000);

    // Lab and regulator.
    env.ok(&[
        "record",
        "inspect",
        "--key",
        &k("lab"),
        "--lot",
        "PACK-0404",
        "--test",
        "pesticide residue (GB 2763)",
        "--verdict",
        "pass",
    ]);
    env.ok(&[
        "record",
        "certify",
        "--key",
        &k("bureau"),
        "--lot",
        "PACK-0404",
        "--claim",
        "GI 千岛湖茶",
        "--ref",
        "certificate:GI-1",
        "--valid-until",
        "2030-01-01",
    ]);

    // Cold chain with one excursion, then the shop.
    let to_carrier = hash(&env.json(&[
        "record",
        "ship",
        "--key",
        &k("coop"),
        "--lot",
        "PACK-0404",
        "--quantity",
        "20kg",
        "--to",
        "浙冷链物流",
    ]));
    env.ok(&[
        "record",
        "receive",
        "--key",
        &k("carrier"),
        "--shipment",
        &to_carrier,
    ]);
    let obs = env.json(&[
        "record",
        "observe",
        "--key",
        &k("carrier"),
        "--lot",
        "PACK-0404",
        "--temperature",
        "4.1",
        "--temperature",
        "9.6",
        "--temperature",
        "-0.5",
        "--temperature-range",
        "0..8",
        "--location",
        "reefer truck",
    ]);
    assert_eq!(obs["event"]["readings"][1]["value"], 9_600);
    let to_shop = hash(&env.json(&[
        "record",
        "ship",
        "--key",
        &k("carrier"),
        "--lot",
        "PACK-0404@千岛湖茶叶专业合作社",
        "--quantity",
        "20kg",
        "--to",
        &shop_key[..12],
    ]));
    env.ok(&[
        "record",
        "receive",
        "--key",
        &k("shop"),
        "--shipment",
        &to_shop,
    ]);
    let sold = env.ok(&[
        "record",
        "sell",
        "--key",
        &k("shop"),
        "--lot",
        "PACK-0404",
        "--quantity",
        "250g",
    ]);
    assert!(sold.contains("sold 250 g of lot PACK-0404"), "{sold}");

    // The trace tells the whole story, in Chinese where it was written so.
    let trace = env.ok(&["trace", "PACK-0404"]);
    for needle in [
        "千岛湖鸠坑茶园",
        "界首林家茶园",
        "blend and dry",
        "pesticide residue (GB 2763): PASS",
        "GI 千岛湖茶",
        "9.6 °C",
        "EXCURSION",
        "GTIN 06901234567892",
        "sold 250 g",
    ] {
        assert!(trace.contains(needle), "trace lacks {needle:?}:\n{trace}");
    }
    let t = env.json(&["trace", "PACK-0404"]);
    assert_eq!(t["upstream"].as_array().unwrap().len(), 3);
    assert_eq!(t["certifications"][0][1], "GI 千岛湖茶");
    assert_eq!(t["warnings"].as_array().unwrap().len(), 2, "two excursions");
    assert_eq!(
        t["verdict"]["finding"]["kind"], "excursion",
        "{}",
        t["verdict"]
    );

    // Recall one garden's lot: every downstream lot is reached.
    env.ok(&[
        "record",
        "recall",
        "--key",
        &k("bureau"),
        "--lot",
        "JS-0402",
        "--reason",
        "chlorpyrifos above the limit",
    ]);
    // Goods on the road are reached too: 5 kg shipped to the shop, not
    // received yet (regression: they were left out).
    let on_road = env.json(&[
        "record",
        "ship",
        "--key",
        &k("coop"),
        "--lot",
        "PACK-0404",
        "--quantity",
        "5kg",
        "--to",
        "鲜生超市",
    ]);
    let down = env.json(&["trace", "JS-0402", "--downstream"]);
    let reach: Vec<&str> = down["reach"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["lot"]["code"].as_str().unwrap())
        .collect();
    assert_eq!(reach, ["BLEND-0403", "PACK-0404"]);
    let transit = &down["reach"][1]["in_transit"];
    assert_eq!(transit.as_array().unwrap().len(), 1, "{down}");
    assert_eq!(transit[0]["shipment"], hash(&on_road));
    assert_eq!(transit[0]["from_name"], "千岛湖茶叶专业合作社");
    assert_eq!(transit[0]["to_name"], "鲜生超市");
    assert_eq!(transit[0]["quantity"]["amount"], 5_000);
    assert_eq!(down["in_transit"].as_array().unwrap().len(), 0, "{down}");
    assert_eq!(
        down["holders"],
        serde_json::json!([]),
        "all blended: {down}"
    );
    // Human units: kg, names, the ship time in the network's time zone
    // (Asia/Shanghai, from its genesis), whatever the reader's TZ.
    let shipped = on_road["time"].as_u64().unwrap();
    let local = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(shipped) * 1_000_000)
        .unwrap()
        .to_offset(time::macros::offset!(+8));
    let when = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} CST",
        local.year(),
        u8::from(local.month()),
        local.day(),
        local.hour(),
        local.minute()
    );
    let out = env
        .cmd()
        .env("TZ", "UTC")
        .args(["trace", "JS-0402", "--downstream"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("A recall of lot JS-0402"), "{text}");
    assert!(text.contains("鲜生超市 holds 19.75 kg"), "{text}");
    let line = format!("5 kg in transit from 千岛湖茶叶专业合作社 to 鲜生超市, shipped {when}");
    assert!(text.contains(&line), "lacks {line:?}:\n{text}");
    // Once received, it is stock, no longer on the road.
    env.ok(&[
        "record",
        "receive",
        "--key",
        &k("shop"),
        "--shipment",
        &hash(&on_road),
    ]);
    let down = env.json(&["trace", "JS-0402", "--downstream"]);
    assert_eq!(down["reach"][1]["in_transit"], serde_json::json!([]));
    let text = env.ok(&["trace", "JS-0402", "--downstream"]);
    assert!(!text.contains("in transit"), "{text}");
    assert!(text.contains("鲜生超市 holds 24.75 kg"), "{text}");
    let pack = env.ok(&["trace", "PACK-0404"]);
    assert!(pack.contains("Verdict: RECALLED: lot JS-0402"), "{pack}");
    assert!(pack.contains("Do not eat it"), "{pack}");
    let t = env.json(&["trace", "PACK-0404"]);
    assert_eq!(t["verdict"]["finding"]["kind"], "recalled");
    assert_eq!(t["verdict"]["finding"]["this_lot"], false);

    // Bundle, verify offline, QR codes, audit.
    let b = env.json(&["bundle", "PACK-0404", "-o", "pack.bundle"]);
    assert!(b["records"].as_u64().unwrap() > 10);
    let v = env.ok(&["verify", "pack.bundle", "--network", &network]);
    assert!(v.contains("VERIFIED"), "{v}");
    assert!(v.contains("RECALL"), "{v}");
    let vj = env.json(&["verify", "pack.bundle", "--network", "ledger/genesis.json"]);
    assert_eq!(vj["verified"], true);
    // decode, network, records, signatures, complete, enrollment, lineage
    assert_eq!(vj["checks"].as_array().unwrap().len(), 7);
    env.fails_with(
        1,
        &["verify", "pack.bundle", "--network", &network, "--strict"],
        "verdict is recalled, not clean",
    );

    let q = env.json(&["qr", "PACK-0404", "-o", "pack.png"]);
    assert_eq!(
        q["url"],
        "https://id.terroir.example/01/06901234567892/10/PACK-0404"
    );
    let png = std::fs::read(env.path("pack.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let q = env.json(&[
        "qr",
        "JK-0401",
        "-o",
        "leaf.svg",
        "--base-url",
        "https://node.example/",
    ]);
    let url = q["url"].as_str().unwrap();
    assert!(
        url.starts_with("https://node.example/lot/") && url.ends_with("/JK-0401"),
        "{url}"
    );
    assert!(std::fs::read_to_string(env.path("leaf.svg"))
        .unwrap()
        .contains("<svg"));
    let term = env.ok(&["qr", "PACK-0404", "--terminal"]);
    assert!(term.contains('█') || term.contains('▀'), "{term}");
    // --quiet prints only the essential value, the URL: no drawing. A file
    // named by -o is still written.
    let pack_url = "https://id.terroir.example/01/06901234567892/10/PACK-0404";
    let quiet = env.ok(&["--quiet", "qr", "PACK-0404", "--terminal"]);
    assert_eq!(quiet, format!("{pack_url}\n"));
    let quiet = env.ok(&["-q", "qr", "PACK-0404", "--terminal", "-o", "q.svg"]);
    assert_eq!(quiet, format!("{pack_url}\n"));
    assert!(std::fs::read_to_string(env.path("q.svg"))
        .unwrap()
        .contains("<svg"));

    let audit = env.json(&["audit"]);
    assert_eq!(audit["passed"], true);
    assert_eq!(audit["state_digest"], env.digest().as_str());
    assert_eq!(env.ok(&["--quiet", "status"]).trim(), env.digest());
}

#[test]
fn key_rotation_and_revocation() {
    let env = Env::new();
    env.ok(&["key", "new", "--out", "bureau.key", "--name", "Bureau"]);
    env.ok(&["key", "new", "--out", "farm.key"]);
    env.ok(&["key", "new", "--out", "farm2.key"]);
    env.ok(&[
        "init",
        "--network",
        "rotation test",
        "--authority-key",
        "bureau.key",
    ]);
    env.ok(&[
        "enroll",
        "--key",
        "bureau.key",
        "--participant",
        "farm.key",
        "--name",
        "靖远枸杞园",
        "--role",
        "farm",
    ]);
    env.ok(&[
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        "GOJI-1",
        "--product",
        "靖远枸杞 goji",
        "--quantity",
        "30kg",
    ]);
    env.ok(&["rotate-key", "--key", "farm.key", "--new-key", "farm2.key"]);
    // The old key is retired; the new one signs for the same farm.
    env.refused(
        &[
            "record",
            "harvest",
            "--key",
            "farm.key",
            "--lot",
            "GOJI-2",
            "--product",
            "x",
            "--quantity",
            "1kg",
        ],
        "rotated away",
    );
    env.ok(&[
        "record",
        "harvest",
        "--key",
        "farm2.key",
        "--lot",
        "GOJI-2",
        "--product",
        "靖远枸杞 goji",
        "--quantity",
        "20kg",
    ]);
    let held = env.json(&["holdings", "靖远枸杞园"]);
    assert_eq!(held["holdings"].as_array().unwrap().len(), 2);

    // Revoking the new key flags what it signed after the last trusted seq.
    env.ok(&[
        "revoke",
        "--key",
        "bureau.key",
        "--participant",
        "farm2.key",
        "--distrust-all",
        "--reason",
        "phone stolen",
    ]);
    let trace = env.ok(&["trace", "GOJI-2"]);
    assert!(trace.contains("signed by a revoked key"), "{trace}");
    env.refused(
        &[
            "record",
            "harvest",
            "--key",
            "farm2.key",
            "--lot",
            "GOJI-3",
            "--product",
            "x",
            "--quantity",
            "1kg",
        ],
        "was revoked",
    );
}

#[test]
fn demo_builds_and_verifies_the_whole_story() {
    let demo = Demo::new();
    let env = &demo.env;
    for slug in [
        "authority",
        "jiukeng-garden",
        "lin-garden",
        "cooperative",
        "carrier",
        "lab",
        "retailer",
    ] {
        let path = env.path(&format!("demo/keys/{slug}.key"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{slug}");
        }
        env.ok(&["key", "show", path.to_str().unwrap()]);
    }
    let png = std::fs::read(env.path("demo/QDH-PACK-0404.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");

    // The exact verify command the demo prints works on its bundle.
    let v = env.ok(&["verify", &demo.bundle(), "--network", &demo.network]);
    assert!(v.contains("VERIFIED"), "{v}");
    for needle in [
        "千岛湖鸠坑茶园",
        "界首林家茶园",
        "浙冷链物流",
        "EXCURSION",
        "RECALL",
        "organic",
        "千岛湖茶",
    ] {
        assert!(v.contains(needle), "verify output lacks {needle:?}");
    }
    let down = env.json(&["trace", "QDH-JS-0402", "--downstream"]);
    assert_eq!(down["reach"].as_array().unwrap().len(), 2);
    assert_eq!(env.json(&["audit"])["passed"], true);

    // The demo's human output names the commands to run next.
    let other = Env::new();
    let out = other.cmd().args(["demo", "--dir", "d"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in [
        "network id",
        "terroir verify",
        "--network",
        "trace QDH-PACK-0404",
        "Try next",
        "VERIFIED",
    ] {
        assert!(text.contains(needle), "demo output lacks {needle:?}");
    }
    // A second run into the same, now non-empty, directory is refused.
    other.fails_with(1, &["demo", "--dir", "d"], "not empty");
}

/// Every lot of a stored ledger, as CODE@SOURCE-KEY, read through the
/// library (no command lists lots): each lot some record creates.
fn every_lot(ledger_dir: &std::path::Path) -> Vec<String> {
    use ledger_core::graph::Graph;
    use ledger_core::ledger::{Ledger, LedgerConfig};
    use ledger_core::store::SledStore;
    let store = SledStore::open(&ledger_dir.join("store")).unwrap();
    let ledger = Ledger::open(store, LedgerConfig::default()).unwrap();
    let mut hashes = Vec::new();
    ledger
        .for_each_record(|h, _| {
            hashes.push(h);
            true
        })
        .unwrap();
    let mut lots = std::collections::BTreeSet::new();
    for h in hashes {
        let r = ledger.record(&h).unwrap().unwrap();
        let source = ledger
            .key_info(&r.record.author)
            .unwrap()
            .map_or(r.record.author, |k| k.identity);
        for (code, _, _) in r.record.event.created_lots() {
            lots.insert(format!("{code}@{}", source.to_hex()));
        }
    }
    lots.into_iter().collect()
}

/// Every lot of the demo (the harvests, the blend that took two gardens'
/// leaf, the packed tin) exports a bundle that verifies.
#[test]
fn every_lot_of_the_demo_bundles_and_verifies() {
    let demo = Demo::new();
    let env = &demo.env;
    let lots = every_lot(&env.ledger());
    assert!(lots.len() >= 4, "{lots:?}");
    for (i, lot) in lots.iter().enumerate() {
        let file = format!("lot-{i}.bundle");
        env.ok(&["bundle", lot, "-o", &file]);
        let v = env.json(&["verify", &file, "--network", &demo.network]);
        assert_eq!(v["verified"], true, "lot {lot}: {}", v["checks"]);
        let complete = v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "complete");
        assert!(complete.is_some(), "lot {lot}: {}", v["checks"]);
    }
}

#[test]
fn founding_authorities_by_public_key() {
    // Two founders elsewhere hand over only their public keys; a third is
    // here with its key file. No founder's secret key is needed but the
    // one that signs here.
    let env = Env::new();
    let public = |file: &str, name: &str| {
        let v = env.json(&["key", "new", "--out", file, "--name", name]);
        let pk = v["public"].as_str().unwrap().to_owned();
        std::fs::remove_file(env.path(file)).unwrap();
        pk
    };
    let province = public("province.key", "浙江省农业农村厅");
    let city = public("city.key", "杭州市");
    env.ok(&[
        "key",
        "new",
        "--out",
        "bureau.key",
        "--name",
        "淳安县农业农村局",
    ]);
    let init = env.json(&[
        "init",
        "--network",
        "浙江 茶 traceability",
        "--authority",
        &format!("{province}=浙江省农业农村厅 (省级)"),
        "--authority-key",
        "bureau.key",
        "--authority",
        &city,
    ]);
    let genesis: Value =
        serde_json::from_str(&std::fs::read_to_string(env.ledger().join("genesis.json")).unwrap())
            .unwrap();
    let names: Vec<(&str, &str)> = genesis["authorities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["key"].as_str().unwrap(), a["name"].as_str().unwrap()))
        .collect();
    let bureau = env.json(&["key", "show", "bureau.key"]);
    let bureau = bureau["public"].as_str().unwrap();
    // Key files first, then keys by value, each in the order given.
    assert_eq!(
        names,
        vec![
            (bureau, "淳安县农业农村局"),
            (province.as_str(), "浙江省农业农村厅 (省级)"),
            (city.as_str(), &*format!("authority {}", &city[..8])),
        ]
    );
    assert_eq!(genesis["checkpoint_threshold"], 2);
    assert_eq!(init["network"], "浙江 茶 traceability");
    // The founder here signs; the network works.
    env.ok(&["key", "new", "--out", "farm.key"]);
    env.ok(&[
        "enroll",
        "--key",
        "bureau.key",
        "--participant",
        "farm.key",
        "--name",
        "千岛湖鸠坑茶园",
        "--role",
        "farm",
    ]);

    // A single authority by key, named with --authority-name.
    let solo = Env::new();
    solo.ok(&[
        "init",
        "--network",
        "solo",
        "--authority",
        &city,
        "--authority-name",
        "杭州市农业农村局",
    ]);
    let g: Value =
        serde_json::from_str(&std::fs::read_to_string(solo.ledger().join("genesis.json")).unwrap())
            .unwrap();
    assert_eq!(g["authorities"][0]["name"], "杭州市农业农村局");
    assert_eq!(g["authorities"][0]["key"], city.as_str());
}

/// A lot code GS1 does not allow in AI (10) — Chinese characters — on a
/// product without a GTIN: the QR carries the `/lot/{source}/{code}` page
/// that `terroird` serves, stderr says why in one line, and the printed
/// URL decodes, through the node's own route parser, to the lot itself.
#[test]
fn qr_of_a_chinese_lot_code_uses_the_lot_page() {
    let env = Env::new();
    env.ok(&["key", "new", "--out", "bureau.key", "--name", "Bureau"]);
    env.ok(&["key", "new", "--out", "farm.key"]);
    env.ok(&[
        "init",
        "--network",
        "qr test",
        "--authority-key",
        "bureau.key",
    ]);
    env.ok(&[
        "enroll",
        "--key",
        "bureau.key",
        "--participant",
        "farm.key",
        "--name",
        "千岛湖鸠坑茶园",
        "--role",
        "farm",
    ]);
    let code = "鸠坑茶-春茶0401";
    env.ok(&[
        "record",
        "harvest",
        "--key",
        "farm.key",
        "--lot",
        code,
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "120kg",
    ]);

    let out = env.cmd().args(["qr", code, "--terminal"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let url = stdout
        .lines()
        .find(|l| l.starts_with("https://"))
        .unwrap_or_else(|| panic!("no URL printed: {stdout}"));
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("/lot/") && stderr.contains("no GTIN"),
        "{stderr}"
    );

    // The node's route: /lot/{64-hex source}/{percent-encoded code}.
    let path = url
        .strip_prefix("https://id.terroir.example/lot/")
        .unwrap_or_else(|| panic!("not the lot page form: {url}"));
    assert!(path.is_ascii(), "{path}");
    let (source, encoded) = path.split_once('/').unwrap();
    assert_eq!(source.len(), 64, "{source}");
    assert!(!encoded.contains('/'), "one path segment: {encoded}");
    let decoded = terroir_standards::vocab::dec(encoded).unwrap();
    let lot = terroir_node::page::lot_id(source, decoded).unwrap();
    let j = env.json(&["qr", code, "--terminal"]);
    assert_eq!(serde_json::to_value(&lot).unwrap(), j["lot"]);
    assert_eq!(lot.code, code);
    assert_eq!(j["url"], url);
    assert_eq!(j["form"], "lot_page");

    // --quiet: the URL on stdout and nothing on stderr.
    let out = env
        .cmd()
        .args(["--quiet", "qr", code, "--terminal"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap().trim(), url);
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
