//! A village station that works offline (issue 14): the real `terroir`
//! binary keeps a local replica of a county node (a `terroird` node
//! started in this process, real TCP on 127.0.0.1), the node goes away
//! for a simulated month, the station signs 1,000 records — receipts of
//! shipments among them, taken from delivery notes a tea garden handed
//! over with the goods — and then syncs: every record reaches the
//! network, both sides agree on the station's lineage, and the records of
//! a farmer whose key the regulator revoked meanwhile are reported and
//! kept, not lost.
//!
//! How fast a sync is, is measured in the bench (`terroir-bench sync`),
//! not here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::node::{start_node, Env};
use serde_json::Value;

/// Records the station signs while offline.
const OFFLINE_RECORDS: usize = 1_000;
/// Of which receipts of the garden's shipments.
const SHIPMENTS: usize = 10;
const DAY_MS: u64 = 86_400_000;

fn now_ms() -> u64 {
    u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// An RFC 3339 UTC time for `ms` (what `--time` takes).
fn rfc3339(ms: u64) -> String {
    let secs = i64::try_from(ms / 1000).unwrap();
    time::OffsetDateTime::from_unix_timestamp(secs)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn a_station_signs_a_month_offline_and_syncs_without_losing_a_record() {
    let env = Env::new();
    env.keys(&[
        ("bureau", "淳安县农业农村局"),
        ("garden", "千岛湖鸠坑茶园"),
        ("station", "枫树岭镇电商服务站"),
        ("farmer", "王大姐"),
    ]);
    let genesis = env.found("淳安县 千岛湖茶", &["--time-zone", "Asia/Shanghai"]);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = start_node(&rt, &env.path("county"), &genesis);
    let url = format!("http://{}", node.http_addr);

    // Everything starts a month and a day ago, one step at a time.
    let start = now_ms() - 31 * DAY_MS;
    let at = |step: u64| rfc3339(start + step * 60_000);
    for (i, (file, name)) in [
        ("garden", "千岛湖鸠坑茶园"),
        ("station", "枫树岭镇电商服务站"),
        ("farmer", "王大姐"),
    ]
    .iter()
    .enumerate()
    {
        env.json(&[
            "--node",
            &url,
            "enroll",
            "--key",
            "bureau.key",
            "--participant",
            &format!("{file}.key"),
            "--name",
            name,
            "--role",
            "farm",
            "--time",
            &at(i as u64),
        ]);
    }
    env.json(&[
        "--node",
        &url,
        "record",
        "harvest",
        "--key",
        "garden.key",
        "--lot",
        "JK-0401",
        "--product",
        "千岛湖茶 鲜叶",
        "--quantity",
        "500kg",
        "--time",
        &at(5),
    ]);

    // The station and the garden join; the station sees the enrolments.
    env.ok(&["--ledger", "station", "join", "--node", &url]);
    env.ok(&["--ledger", "garden", "join", "--node", &url]);
    let names = env.ok(&["--ledger", "station", "participants"]);
    assert!(
        names.contains("枫树岭镇电商服务站") && names.contains("王大姐"),
        "{names}"
    );

    // The county node goes away.
    rt.block_on(node.stop()).unwrap();
    assert!(
        env.run(&["--ledger", "station", "sync"]).status.code() == Some(1),
        "a sync without a node fails"
    );

    // Offline, the garden ships to the station with delivery notes: the
    // first as a note file (with the lineage), the rest as QR pictures,
    // which need only what the station already has.
    let mut notes = Vec::new();
    for i in 0..SHIPMENTS {
        let note = if i == 0 {
            "note-0.json".to_owned()
        } else {
            format!("note-{i}.png")
        };
        env.json(&[
            "--ledger",
            "garden",
            "record",
            "ship",
            "--key",
            "garden.key",
            "--lot",
            "JK-0401",
            "--quantity",
            "10kg",
            "--to",
            "枫树岭镇电商服务站",
            "--note",
            &note,
            "--time",
            &at(10 + i as u64),
        ]);
        notes.push(note);
    }
    // A QR picture before the note file that carries the lineage cannot
    // be checked yet: refused in words, nothing stored.
    let early = env.fails(&[
        "--ledger",
        "station",
        "record",
        "receive",
        "--key",
        "station.key",
        "--note",
        "note-1.png",
        "--time",
        &at(30),
    ]);
    assert!(early.contains("Load the .json delivery note"), "{early}");

    // The station signs 1,000 records over 30 days: the receipts, then
    // harvests it collects and storage readings.
    let month = 30 * DAY_MS / 60_000; // in steps of a minute
    let step = |k: usize| 40 + (k as u64) * month / OFFLINE_RECORDS as u64;
    let mut signed = 0;
    for note in &notes {
        env.json(&[
            "--ledger",
            "station",
            "record",
            "receive",
            "--key",
            "station.key",
            "--note",
            note,
            "--time",
            &at(step(signed)),
        ]);
        signed += 1;
    }
    while signed < OFFLINE_RECORDS {
        let time = at(step(signed));
        if signed % 2 == 0 {
            let lot = format!("FSL-{signed:04}");
            env.json(&[
                "--ledger",
                "station",
                "record",
                "harvest",
                "--key",
                "station.key",
                "--lot",
                &lot,
                "--product",
                "靖远枸杞",
                "--quantity",
                "12kg",
                "--time",
                &time,
            ]);
        } else {
            env.json(&[
                "--ledger",
                "station",
                "record",
                "observe",
                "--key",
                "station.key",
                "--lot",
                "JK-0401",
                "--temperature",
                "18.5",
                "--profile",
                "ambient",
                "--time",
                &time,
            ]);
        }
        signed += 1;
    }
    // A farmer signs at the station PC too; her key is lost meanwhile.
    for k in 0..3u64 {
        env.json(&[
            "--ledger",
            "station",
            "record",
            "harvest",
            "--key",
            "farmer.key",
            "--lot",
            &format!("WDJ-{k}"),
            "--product",
            "千岛湖茶 鲜叶",
            "--quantity",
            "3kg",
            "--time",
            &at(step(OFFLINE_RECORDS) + k),
        ]);
    }
    let held = env.ok(&["--ledger", "station", "holdings", "枫树岭镇电商服务站"]);
    assert!(
        held.contains("100 kg") && held.contains("JK-0401"),
        "{held}"
    );
    let waiting = env.json(&["--ledger", "station", "outbox"]);
    // The station's own 1,000 and the farmer's 3, and the garden's harvest
    // is already on the node, but its 10 shipments came with the notes.
    let kinds = |v: &Value, kind: &str| {
        v["waiting"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["kind"] == kind)
            .count()
    };
    assert_eq!(kinds(&waiting, "ship"), SHIPMENTS, "{waiting}");
    assert_eq!(kinds(&waiting, "receive"), SHIPMENTS, "{waiting}");
    assert_eq!(
        waiting["waiting"].as_array().unwrap().len(),
        OFFLINE_RECORDS + 3 + SHIPMENTS
    );

    // The node comes back; the regulator revokes the farmer's key.
    let node = start_node(&rt, &env.path("county"), &genesis);
    let url = format!("http://{}", node.http_addr);
    env.json(&[
        "--node",
        &url,
        "revoke",
        "--key",
        "bureau.key",
        "--participant",
        "farmer.key",
        "--distrust-all",
        "--reason",
        "钥匙丢失 (key lost)",
    ]);

    // The station syncs (with the node's new address).
    let human = env.ok(&["--ledger", "station", "sync", "--node", &url]);
    assert!(human.contains("sent 1010 record(s)"), "{human}");
    assert_eq!(
        human.matches("refused: harvest by 王大姐").count(),
        3,
        "{human}"
    );
    assert!(human.contains("revoked"), "{human}");
    assert!(
        human.contains("枫树岭镇电商服务站's lineage") && human.contains("the same on the node"),
        "{human}"
    );
    // Refused records are kept, with why.
    let after = env.json(&["--ledger", "station", "outbox"]);
    assert_eq!(after["waiting"].as_array().unwrap().len(), 0, "{after}");
    let refused = after["refused"].as_array().unwrap();
    assert_eq!(refused.len(), 3, "{after}");
    assert!(refused
        .iter()
        .all(|r| r["reason"].as_str().unwrap().contains("revoked")));
    for r in refused {
        let hash = r["record"].as_str().unwrap();
        assert!(env.path(&format!("station/refused/{hash}.rec")).is_file());
    }
    // The lineage as the JSON summary states it, independently re-asked.
    let again = env.json(&["--ledger", "station", "sync"]);
    let lineages = again["lineages"].as_array().unwrap();
    let station = lineages
        .iter()
        .find(|l| l["name"] == "枫树岭镇电商服务站")
        .unwrap();
    assert_eq!(station["same"], true, "{again}");
    assert!(station["local"]["records"].as_u64().unwrap() > OFFLINE_RECORDS as u64);
    assert_eq!(again["sent"], 0);

    // The network has the receipts: the node's trace shows the station
    // holding the garden's tea.
    let trace = env.ok(&["--node", &url, "trace", "JK-0401"]);
    assert!(trace.contains("枫树岭镇电商服务站"), "{trace}");
    // The garden's own sync finds its shipments already there.
    let garden = env.json(&["--ledger", "garden", "sync", "--node", &url]);
    assert_eq!(garden["sent"], SHIPMENTS as u64, "{garden}");
    assert_eq!(garden["refused"].as_array().unwrap().len(), 0);
    rt.block_on(node.stop()).unwrap();
}
