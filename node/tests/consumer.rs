//! The consumer page behind the QR code `terroir qr` prints for a lot
//! without a GTIN (`/lot/{source}/{code}`), served by the real `terroird`
//! binary on loopback; lot codes in any script, malformed links refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::{
    enrollment, first_deps, http, now, record_count, resume, serve_binary, submit_ok, wait_for,
    workload,
};
use ledger_core::event::{Location, Product};
use ledger_core::{Event, LotId, Quantity, Unit};
use serde_json::Value;
use terroir_standards::vocab::consumer_url;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");

async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (code, body) = http(addr, "GET", path, None).await;
    (code, String::from_utf8(body).expect("UTF-8 page"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lot_without_gtin_is_served_at_its_qr_link() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(40);
    let (_node, addr) = serve_binary(BIN, tmp.path(), &w.genesis).await;

    // The workload, then a farm harvests a lot with a Chinese code and
    // characters a URL must percent-encode, for a product without a GTIN.
    let mut farm = resume(&w, "farm", 0);
    let farm_key = farm.public();
    let deps = first_deps(&w, &farm, Vec::new());
    let code = "鸠坑茶+2025&春:1";
    let harvest = farm.sign(
        now(),
        deps,
        Event::Harvest {
            lot_code: code.into(),
            product: Product {
                description: "千岛湖茶 鲜叶".into(),
                gtin: None,
            },
            quantity: Quantity::new(120_000, Unit::Gram),
            location: Location {
                description: "千岛湖鸠坑茶园".into(),
                gln: None,
            },
            reference: None,
        },
    );
    let mut all = w.records.clone();
    all.push(harvest);
    submit_ok(addr, &all).await;
    let want = all.len() as u64;
    wait_for("every record stored", || async {
        record_count(addr).await == want
    })
    .await;

    // The URL `terroir qr` prints (same function), resolved by this node.
    let base = format!("http://{addr}");
    let lot = LotId {
        source: farm_key,
        code: code.into(),
    };
    let url = consumer_url(&base, &lot, None);
    let path = url.strip_prefix(&base).unwrap();
    assert!(path.starts_with("/lot/") && path.is_ascii(), "{path}");
    let (status, page) = get(addr, path).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("千岛湖茶 鲜叶"), "{page}");
    assert!(page.contains("鸠坑茶+2025&amp;春:1"), "{page}");
    assert!(page.contains("Harvested"), "{page}");
    assert!(page.contains("NO PROBLEMS FOUND"), "{page}");

    // The same lot's JSON trace, addressed the same way.
    let trace_path = path.replacen("/lot/", "/lots/", 1) + "/trace";
    let (status, body) = get(addr, &trace_path).await;
    assert_eq!(status, 200, "{body}");
    let trace: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(trace["lot"]["code"], code);

    // A workload lot (plain ASCII code, no GTIN) too.
    let plain = w.harvest_lots.first().expect("the workload harvests");
    let plain_url = consumer_url(&base, plain, None);
    let (status, page) = get(addr, plain_url.strip_prefix(&base).unwrap()).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&plain.code), "{page}");

    // Unknown lots are a 404 page; malformed links a 400 page with the
    // reason on one line; never a panic (the node still answers).
    let hex = farm_key.to_hex();
    for (path, want, why) in [
        (format!("/lot/{hex}/NO-SUCH-LOT"), 404, "UNKNOWN CODE"),
        (format!("/lot/{}/H0", "ab".repeat(32)), 404, "UNKNOWN CODE"),
        ("/lot/not-a-key/H0".to_owned(), 400, "64 hex digits"),
        (format!("/lot/{}/H0", &hex[..63]), 400, "64 hex digits"),
        (format!("/lot/{hex}/%FF%FE"), 400, "not valid UTF-8"),
    ] {
        let (status, page) = get(addr, &path).await;
        assert_eq!(status, want, "{path}: {page}");
        assert!(page.contains(why), "{path}: {page}");
        assert_eq!(page.lines().count(), 1, "{path}: {page}");
    }
    assert_eq!(record_count(addr).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_and_a_harvest_inside_its_safety_interval_show_on_the_page() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(40);
    let (_node, addr) = serve_binary(BIN, tmp.path(), &w.genesis).await;

    // The farm sprays plot 3 (7-day interval), picks it two days later,
    // and certifies the lot (承诺达标合格证) on quality control.
    let mut farm = resume(&w, "farm", 0);
    let farm_key = farm.public();
    let enrolled = enrollment(&w, &farm_key);
    let first = first_deps(&w, &farm, Vec::new());
    let day = 86_400_000;
    let t = now() - 3 * day;
    let field = Location {
        description: "鸠坑乡 3号地".into(),
        gln: None,
    };
    let spray = farm.sign(
        t,
        first,
        Event::InputUse {
            product: "10% 吡虫啉可湿性粉剂".into(),
            ingredients: vec!["吡虫啉 imidacloprid".into()],
            registration: Some("PD20070101".into()),
            dose: Quantity::new(300, Unit::Gram),
            field: field.clone(),
            safety_interval_days: 7,
        },
    );
    let code = "JK-EARLY";
    let harvest = farm.sign(
        t + 2 * day,
        vec![],
        Event::Harvest {
            lot_code: code.into(),
            product: Product {
                description: "千岛湖茶 鲜叶".into(),
                gtin: None,
            },
            quantity: Quantity::new(20_000, Unit::Gram),
            location: field,
            reference: None,
        },
    );
    let lot = LotId {
        source: farm_key,
        code: code.into(),
    };
    let hour = 3_600_000;
    let harvested = harvest.hash();
    let certificate = farm.sign(
        t + 2 * day + hour,
        vec![],
        Event::Certificate {
            lot: lot.clone(),
            quantity: Quantity::new(20_000, Unit::Gram),
            origin: "淳安县鸠坑乡".into(),
            contact: "0571-6500 1234".into(),
            basis: ledger_core::event::Basis::QualityControl,
            tests: vec![],
            inputs: vec![],
        },
    );
    // A lab tests the lot for what was sprayed, the farm certifies 12 kg
    // again on that test, and the regulator records the farm's unified
    // social credit code: the page's certificate section shows the latest.
    let mut lab = resume(&w, "lab", 0);
    let tested_deps = first_deps(&w, &lab, vec![harvested]);
    let test = lab.sign(
        t + 2 * day + 2 * hour,
        tested_deps,
        Event::Inspect {
            lot: lot.clone(),
            test: "吡虫啉 imidacloprid 残留 (GB 2763-2021)".into(),
            verdict: ledger_core::event::Verdict::Pass,
            notes: String::new(),
            reference: None,
        },
    );
    let issued = t + 2 * day + 3 * hour;
    let on_test = farm.sign(
        issued,
        vec![test.hash(), harvested],
        Event::Certificate {
            lot: lot.clone(),
            quantity: Quantity::new(12_000, Unit::Gram),
            origin: "淳安县鸠坑乡 <3号地>".into(),
            contact: "0571-6500 1234".into(),
            basis: ledger_core::event::Basis::CommissionedTest,
            tests: vec![test.hash()],
            inputs: vec![],
        },
    );
    let body = "92330127MA2JK0001";
    let uscc = format!(
        "{body}{}",
        ledger_core::china::uscc_check_character(body).unwrap()
    );
    let identify = resume(&w, "regulator", 0).sign(
        t + 2 * day + 4 * hour,
        vec![enrolled],
        Event::Identify {
            participant: farm_key,
            uscc: uscc.clone(),
        },
    );
    let mut all = w.records.clone();
    all.extend([spray, harvest, certificate, test, on_test, identify]);
    submit_ok(addr, &all).await;
    let want = all.len() as u64;
    wait_for("every record stored", || async {
        record_count(addr).await == want
    })
    .await;

    let base = format!("http://{addr}");
    let url = consumer_url(&base, &lot, None);
    let path = url.strip_prefix(&base).unwrap();
    let (status, page) = get(addr, path).await;
    assert_eq!(status, 200, "{page}");
    let either = |zh: &str, en: &str| page.contains(zh) || page.contains(en);
    assert!(
        either("未过安全间隔期即采收", "HARVESTED INSIDE A SAFETY INTERVAL"),
        "{page}"
    );
    assert!(either("承诺达标合格证", "Compliance certificate"), "{page}");
    assert!(
        either(
            "质量安全控制符合要求",
            "quality and safety control meets the requirements"
        ),
        "{page}"
    );
    assert!(page.contains("0571-6500 1234"), "{page}");

    // The certificate section, after the verdict and before the journey,
    // in both languages: the latest certificate, in local dates and kg.
    let day_of = |ms: u64, fmt: &str| {
        chrono::DateTime::from_timestamp_millis(ms as i64)
            .unwrap()
            .format(fmt)
            .to_string()
    };
    for (lang, words) in [
        (
            "zh",
            [
                format!("farm 0（统一社会信用代码 {uscc}）"),
                "委托检测合格".to_owned(),
                "12 千克".to_owned(),
                format!("<dd>{}</dd>", day_of(issued, "%Y年%-m月%-d日")),
                "吡虫啉 imidacloprid 残留 (GB 2763-2021)：<b>合格</b>".to_owned(),
                "开具者承诺".to_owned(),
            ],
        ),
        (
            "en",
            [
                format!("farm 0 (unified social credit code {uscc})"),
                "passed a test by a commissioned lab".to_owned(),
                "12 kg".to_owned(),
                format!("<dd>{}</dd>", day_of(issued, "%-d %b %Y")),
                "吡虫啉 imidacloprid 残留 (GB 2763-2021): <b>PASS</b>".to_owned(),
                "The issuer promises".to_owned(),
            ],
        ),
    ] {
        let (status, page) = get(addr, &format!("{path}?lang={lang}")).await;
        assert_eq!(status, 200, "{page}");
        let at = |w: &str| page.find(w).unwrap_or_else(|| panic!("{w}: {page}"));
        let (from, to) = (at("<section id=\"certificate\""), at("class=\"journey\""));
        assert!(at("id=\"verdict\"") < from, "{page}");
        let section = &page[from..to];
        for w in &words {
            assert!(section.contains(w.as_str()), "{w}: {section}");
        }
        assert!(section.contains("淳安县鸠坑乡 &lt;3号地&gt;"), "{section}");
        assert!(
            !section.contains("20 千克") && !section.contains("20 kg"),
            "{section}"
        );
        assert!(!section.contains(&issued.to_string()), "{section}");
    }
}
