//! Shared helpers: the reference schema, small ledgers.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use ledger_core::author::Author;
use ledger_core::event::{Location, LotAmount, NewLot, Product, Reading, RefDoc, SensorKind};
use ledger_core::genesis::{Authority, GENESIS_VERSION};
use ledger_core::graph::Graph;
use ledger_core::store::{MemoryStore, Store};
use ledger_core::{
    Event, Genesis, Hash, Ledger, LedgerConfig, LotId, Quantity, Role, SignedRecord, SigningKey,
    Unit,
};
use serde_json::Value;
use terroir_standards::export::{self, Item};

/// `../shared/standards` beside the repository (as CI lays it out).
pub fn standards_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/standards");
    assert!(
        dir.join("epcis/schema/EPCIS-JSON-Schema.json").is_file(),
        "the GS1 reference data is missing: expected {} (clone the shared/ directory beside the repository)",
        dir.display()
    );
    dir
}

/// Validates `doc` against the EPCIS 2.0 JSON Schema; returns the errors.
pub fn schema_errors(doc: &serde_json::Value) -> Vec<String> {
    let path = standards_dir().join("epcis/schema/EPCIS-JSON-Schema.json");
    let schema: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let validator = jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap();
    validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect()
}

pub const T0: u64 = 1_743_465_600_000; // 2025-04-01T00:00:00Z

pub fn key(name: &str) -> SigningKey {
    SigningKey::from_seed(&Hash::of(name.as_bytes()).0)
}

pub fn genesis(name: &str) -> Genesis {
    Genesis {
        version: GENESIS_VERSION,
        network: name.into(),
        authorities: vec![Authority {
            key: key("bureau").public(),
            name: "淳安县农业农村局".into(),
        }],
        checkpoint_threshold: 1,
        created: T0 - 1_000_000,
        profile: Default::default(),
    }
}

pub fn loc(d: &str, gln: Option<&str>) -> Location {
    Location {
        description: d.into(),
        gln: gln.map(str::to_owned),
    }
}

/// A fresh ledger where the bureau enrolled a farm, a processor, a lab and
/// a retailer; returns the ledger and the enrollment hashes.
pub fn ledger(name: &str) -> (Ledger<MemoryStore>, Vec<Hash>) {
    let g = genesis(name);
    let mut l = Ledger::create(MemoryStore::new(), g.clone(), LedgerConfig::default()).unwrap();
    let mut bureau = Author::new(key("bureau"), g.id());
    let mut out = Vec::new();
    for (i, (who, role, gln)) in [
        ("farm", Role::Farm, "6901234000016"),
        ("processor", Role::Processor, "6901234000030"),
        ("lab", Role::Lab, "6901234000047"),
        ("retailer", Role::Retailer, "6901234000061"),
    ]
    .into_iter()
    .enumerate()
    {
        let r = bureau.sign(
            T0 + i as u64,
            vec![],
            Event::Enroll {
                participant: key(who).public(),
                name: format!("{who} 千岛湖"),
                role,
                location: loc(&format!("{who} site"), Some(gln)),
            },
        );
        out.push(r.hash());
        assert!(l.ingest_one(r, T0 + 10).unwrap().is_stored());
    }
    // The farm owns the GS1 prefix of the story's GTIN (the last hash).
    let r = bureau.sign(
        T0 + 5,
        vec![],
        Event::AssignPrefix {
            participant: key("farm").public(),
            prefix: "6901234".into(),
        },
    );
    out.push(r.hash());
    assert!(l.ingest_one(r, T0 + 10).unwrap().is_stored());
    (l, out)
}

/// The farm's story in ledger `name`: two harvests (one with a GTIN), an
/// observation with readings, a cooling transform, and a shipment to the
/// processor, who receives it; a lab inspects and certifies nothing.
pub fn farm_story(name: &str) -> Ledger<MemoryStore> {
    let (mut l, enrolls) = ledger(name);
    let net = l.network();
    let mut farm = Author::new(key("farm"), net);
    let fk = key("farm").public();
    let mut t = T0 + 60_000;
    let mut tick = || {
        t += 3_600_000;
        t
    };
    let h1 = farm.sign(
        tick(),
        vec![enrolls[0], enrolls[4]],
        Event::Harvest {
            lot_code: "QDH-0401".into(),
            product: Product {
                description: "千岛湖茶 fresh leaf".into(),
                gtin: Some("06901234567892".into()),
            },
            quantity: Quantity::new(120_500, Unit::Gram),
            location: loc("鸠坑乡 terraces, plot 7", Some("6901234000016")),
            reference: Some(RefDoc {
                kind: "harvest log".into(),
                number: "HL-7".into(),
            }),
        },
    );
    let h2 = farm.sign(
        tick(),
        vec![],
        Event::Harvest {
            lot_code: "QDH-0402".into(),
            product: Product {
                description: "千岛湖茶 fresh leaf, plot 9".into(),
                gtin: None,
            },
            quantity: Quantity::new(80_000, Unit::Gram),
            location: loc("鸠坑乡 plot 9", None),
            reference: None,
        },
    );
    let lot1 = LotId {
        source: fk,
        code: "QDH-0401".into(),
    };
    let lot2 = LotId {
        source: fk,
        code: "QDH-0402".into(),
    };
    let tr = tick();
    let obs = farm.sign(
        tr,
        vec![h1.hash()],
        Event::Observe {
            lot: lot1.clone(),
            location: loc("cool room 冷库", None),
            readings: vec![
                Reading {
                    time: tr - 1000,
                    kind: SensorKind::Temperature,
                    value: 4_125,
                    min: 0,
                    max: 8_000,
                },
                Reading {
                    time: tr,
                    kind: SensorKind::Humidity,
                    value: 85_500,
                    min: 60_000,
                    max: 95_000,
                },
                Reading {
                    time: tr,
                    kind: SensorKind::Temperature,
                    value: -1_500,
                    min: 0,
                    max: 8_000,
                },
            ],
        },
    );
    let cool = farm.sign(
        tick(),
        vec![],
        Event::Transform {
            process: "cool".into(),
            inputs: vec![
                LotAmount {
                    lot: lot1,
                    quantity: Quantity::new(100_000, Unit::Gram),
                },
                LotAmount {
                    lot: lot2,
                    quantity: Quantity::new(80_000, Unit::Gram),
                },
            ],
            outputs: vec![NewLot {
                code: "QDC-0403".into(),
                product: Product {
                    description: "千岛湖茶 cooled leaf".into(),
                    gtin: None,
                },
                quantity: Quantity::new(178_000, Unit::Gram),
            }],
            loss: 2_000,
            location: loc("cool room 冷库", None),
            reference: None,
        },
    );
    let ship = farm.sign(
        tick(),
        vec![],
        Event::Ship {
            lot: LotId {
                source: fk,
                code: "QDC-0403".into(),
            },
            quantity: Quantity::new(150_000, Unit::Gram),
            to: key("processor").public(),
            from: loc("鸠坑乡 terraces, plot 7", Some("6901234000016")),
            destination: loc("processor site", Some("6901234000030")),
            reference: Some(RefDoc {
                kind: "BOL".into(),
                number: "B-77".into(),
            }),
        },
    );
    let ship_hash = ship.hash();
    let mut processor = Author::new(key("processor"), net);
    let recv = processor.sign(
        tick(),
        vec![enrolls[1], ship_hash],
        Event::Receive {
            shipment: ship_hash,
            lot: LotId {
                source: fk,
                code: "QDC-0403".into(),
            },
            quantity: Quantity::new(149_000, Unit::Gram),
            location: loc("processor site", Some("6901234000030")),
            reference: None,
        },
    );
    let report = l
        .ingest(vec![h1, h2, obs, cool, ship, recv], T0 + 100 * 3_600_000)
        .unwrap();
    for (h, o) in report.outcomes {
        assert!(o.is_stored(), "{h}: {o:?}");
    }
    l
}

/// Every record of a ledger in (time, hash) order.
pub fn all_records<S: Store>(l: &Ledger<S>) -> Vec<(Hash, SignedRecord)> {
    let mut out = Vec::new();
    l.for_each_record(|h, _| {
        out.push(h);
        true
    })
    .unwrap();
    let mut recs: Vec<(Hash, SignedRecord)> = out
        .into_iter()
        .map(|h| (h, l.record(&h).unwrap().unwrap()))
        .collect();
    recs.sort_by_key(|(h, r)| (r.record.time, r.record.author, r.record.seq, *h));
    recs
}

pub fn products<S: Store>(
    l: &Ledger<S>,
) -> impl Fn(&LotId) -> Option<ledger_core::event::Product> + '_ {
    move |lot: &LotId| {
        for h in l.lot_records(lot).ok()? {
            let r = l.record(&h).ok()??;
            for (c, p, _) in r.record.event.created_lots() {
                if c == lot.code {
                    return Some(p.clone());
                }
            }
        }
        None
    }
}

/// Exports `items`, looking products and records up in `l`.
pub fn export_with<S: Store>(l: &Ledger<S>, items: &[Item<'_>], created: u64) -> export::Exported {
    let product = products(l);
    let record = |h: &Hash| l.record(h).ok().flatten();
    export::export(
        items,
        created,
        &export::Lookup {
            product: &product,
            record: &record,
        },
    )
}

pub fn export_ledger<S: Store>(l: &Ledger<S>) -> Value {
    let recs = all_records(l);
    let items: Vec<Item<'_>> = recs
        .iter()
        .map(|(h, r)| Item {
            hash: *h,
            record: r,
        })
        .collect();
    export_with(l, &items, T0).document
}

/// Every input field comes back as it was, but for the allowed
/// differences docs/standards.md lists: the event time is written with
/// milliseconds (the same instant at the same offset), kilograms come
/// back as grams (the same quantity), and the fields the export adds
/// (`terroir:…`) are new.
pub fn same_fields(input: &Value, back: &Value, event_time: &str) {
    let grams = |q: &Value| match q["uom"].as_str() {
        Some("KGM") => (q["quantity"].as_f64().unwrap() * 1000.0).round(),
        _ => q["quantity"].as_f64().unwrap(),
    };
    for (field, value) in input.as_object().unwrap() {
        match field.as_str() {
            "eventTime" => assert_eq!(back[field], event_time),
            "quantityList" | "childQuantityList" if back[field] != *value => {
                let (a, b) = (&value[0], &back[field][0]);
                assert_eq!(a["epcClass"], b["epcClass"]);
                assert_eq!(grams(a), grams(b));
                assert_eq!(b["uom"], "GRM");
            }
            _ => assert_eq!(&back[field], value, "{field}"),
        }
    }
}
