//! Product codes belong to someone, as a copycat meets it at a real
//! `terroird`: a lot under another participant's GS1 prefix is refused
//! (422 with the rule's words) and the QR page keeps showing the genuine
//! lot; a packer the owner authorised may create lots under the prefix; a
//! second lot with the same GTIN and lot code is refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::{
    first_deps, http, now, record_count, resume, serve_binary, submit_ok, wait_for, workload,
};
use ledger_core::event::{Location, Product};
use ledger_core::workload::Workload;
use ledger_core::{Event, PublicKey, Quantity, SignedRecord, Unit};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_terroird");
const GTIN: &str = "06901234567892";
const LOT: &str = "QDH-PACK-0404";

async fn post(addr: SocketAddr, r: &SignedRecord) -> (u16, Value) {
    let body = serde_json::json!({ "record": hex::encode(r.encode()) }).to_string();
    let (code, body) = http(addr, "POST", "/records", Some(body.as_bytes())).await;
    (code, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn page(addr: SocketAddr) -> String {
    let (code, body) = http(addr, "GET", &format!("/01/{GTIN}/10/{LOT}"), None).await;
    assert_eq!(code, 200);
    String::from_utf8(body).unwrap()
}

fn tin(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "千岛湖茶 green tea, 250 g tin".into(),
            gtin: Some(GTIN.into()),
        },
        quantity: Quantity::new(48_000, Unit::Gram),
        location: Location {
            description: "千岛湖鸠坑茶园".into(),
            gln: None,
        },
        reference: None,
    }
}

fn name_of(w: &Workload, pk: &PublicKey) -> String {
    w.records
        .iter()
        .find_map(|r| match &r.record.event {
            Event::Enroll {
                participant, name, ..
            } if participant == pk => Some(name.clone()),
            _ => None,
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn product_codes_belong_to_their_owner_and_its_packers() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(40);
    let (_node, addr) = serve_binary(BIN, tmp.path(), &w.genesis).await;
    submit_ok(addr, &w.records).await;
    let want = w.records.len() as u64;
    wait_for("the workload stored", || async {
        record_count(addr).await == want
    })
    .await;

    let mut regulator = resume(&w, "regulator", 0);
    let mut brand = resume(&w, "farm", 0);
    let mut copycat = resume(&w, "farm", 1);
    let brand_name = name_of(&w, &brand.public());
    let copycat_name = name_of(&w, &copycat.public());

    // The bureau assigns the prefix to the brand, which packs the tin.
    let assign = regulator.sign(
        now(),
        vec![],
        Event::AssignPrefix {
            participant: brand.public(),
            prefix: "6901234".into(),
        },
    );
    assert_eq!(post(addr, &assign).await.0, 200);
    let deps = first_deps(&w, &brand, vec![assign.hash()]);
    let genuine = brand.sign(now(), deps, tin(LOT));
    assert_eq!(post(addr, &genuine).await.0, 200);
    let before = page(addr).await;
    assert!(before.contains(&brand_name), "{before}");

    // The copycat signs the same tin, with and without the brand's grant.
    for deps in [vec![], vec![assign.hash()]] {
        let deps = first_deps(&w, &copycat, deps);
        let fake = copycat.draft(now(), deps, tin(LOT)).sign(copycat.key());
        let (code, body) = post(addr, &fake).await;
        assert_eq!(code, 422, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(
            error.contains(&format!("GTIN {GTIN} is not yours to use")),
            "{error}"
        );
        assert_eq!(body["outcome"], "rejected");
    }
    // The page still shows the genuine lot, and nothing of the copycat.
    let after = page(addr).await;
    assert!(after.contains(&brand_name), "{after}");
    assert!(!after.contains(&copycat_name), "{after}");

    // The brand authorises the copycat's farm as its contract packer: now
    // it may pack under the prefix.
    let auth = brand.sign(
        now(),
        vec![assign.hash()],
        Event::AuthorisePacker {
            packer: copycat.public(),
            prefix: "6901234".into(),
            valid_until: None,
        },
    );
    assert_eq!(post(addr, &auth).await.0, 200);
    let deps = first_deps(&w, &copycat, vec![auth.hash()]);
    let packed = copycat.sign(now(), deps, tin("QDH-PACK-0405"));
    let (code, body) = post(addr, &packed).await;
    assert_eq!(code, 200, "{body}");

    // But not a second lot with the genuine lot's code.
    let dup = copycat
        .draft(now(), vec![auth.hash()], tin(LOT))
        .sign(copycat.key());
    let (code, body) = post(addr, &dup).await;
    assert_eq!(code, 422, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains(&format!("GTIN {GTIN} already has a lot \"{LOT}\"")),
        "{error}"
    );
    // Owner and packer submit the same new pair at the same moment:
    // exactly one lands, whichever the node takes first.
    let mine = brand.draft(now(), vec![assign.hash()], tin("QDH-PACK-0406"));
    let mine = mine.sign(brand.key());
    let theirs = copycat.draft(now(), vec![auth.hash()], tin("QDH-PACK-0406"));
    let theirs = theirs.sign(copycat.key());
    let (a, b) = tokio::join!(post(addr, &mine), post(addr, &theirs));
    let mut codes = [a.0, b.0];
    codes.sort_unstable();
    assert_eq!(codes, [200, 422], "{a:?} {b:?}");
    let refused = if a.0 == 422 { &a.1 } else { &b.1 };
    let error = refused["error"].as_str().unwrap();
    assert!(
        error.contains("already has a lot \"QDH-PACK-0406\""),
        "{error}"
    );

    let last = page(addr).await;
    assert!(last.contains(&brand_name), "{last}");
    assert!(!last.contains(&copycat_name), "{last}");
}

/// Owner and packer, each offline, packed the same (GTIN, lot) and
/// replication brought both records here: both are kept (they are valid,
/// and admission judges only submissions), and the page shows the first
/// with a warning instead of silently choosing.
#[test]
fn a_code_two_lots_share_by_replication_is_shown_with_a_warning() {
    use ledger_core::store::SledStore;
    use ledger_core::{Ledger, LedgerConfig, Outcome};
    use terroir_node::page::{self, Ctx, Lang, Note};

    let tmp = tempfile::tempdir().unwrap();
    let w = workload(40);
    let store = SledStore::open(&tmp.path().join("store")).unwrap();
    let mut ledger = Ledger::create(store, w.genesis.clone(), LedgerConfig::default()).unwrap();
    let t = now();
    ledger.ingest(w.records.clone(), t).unwrap();
    let mut regulator = resume(&w, "regulator", 0);
    let mut brand = resume(&w, "farm", 0);
    let mut packer = resume(&w, "farm", 1);
    let assign = regulator.sign(
        t,
        vec![],
        Event::AssignPrefix {
            participant: brand.public(),
            prefix: "6901234".into(),
        },
    );
    let deps = first_deps(&w, &brand, vec![assign.hash()]);
    let auth = brand.sign(
        t,
        deps,
        Event::AuthorisePacker {
            packer: packer.public(),
            prefix: "6901234".into(),
            valid_until: None,
        },
    );
    let mine = brand.sign(t, vec![assign.hash()], tin(LOT));
    let deps = first_deps(&w, &packer, vec![auth.hash()]);
    let theirs = packer.sign(t, deps, tin(LOT));
    let report = ledger.ingest(vec![assign, auth, mine, theirs], t).unwrap();
    assert!(
        report.outcomes.iter().all(|(_, o)| *o == Outcome::Accepted),
        "{report:?}"
    );

    let (trace, lots) = page::find_trace(&ledger, GTIN, LOT).unwrap().unwrap();
    assert_eq!(lots, 2);
    let verdict = ledger_core::verdict::verdict(&trace, &w.genesis, t);
    let path = format!("/01/{GTIN}/10/{LOT}");
    let ctx = Ctx {
        genesis: &w.genesis,
        network: w.genesis.id(),
        lang: Lang::En,
        now: t,
        path: &path,
    };
    let html = page::lot_page(&ctx, &trace, &verdict, &[Note::SharedCode(lots)]);
    assert!(
        html.contains("This product code and lot code name 2 lots"),
        "{html}"
    );
}
