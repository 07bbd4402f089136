//! One test per validation rule: each builds the violating record and
//! checks the specific error, and that nothing was stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::author::Author;
use ledger_core::event::{
    Event, Location, LotAmount, LotId, NewLot, Product, Quantity, Reading, Role, SensorKind, Unit,
    Verdict,
};
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome, PendingReason};
use ledger_core::record::{Extras, Record, SignedRecord, MAX_EXTRAS_BYTES};
use ledger_core::{Hash, PublicKey, SigningKey, ValidationError};

mod common;

use common::{here, World, NOW, T};

fn tea() -> Product {
    Product {
        description: "千岛湖茶".into(),
        gtin: None,
    }
}

fn g(amount: u64) -> Quantity {
    Quantity::new(amount, Unit::Gram)
}

impl World {
    fn new() -> Self {
        World::with_cast(
            "rules test",
            &[
                ("farm", Role::Farm),
                ("farm2", Role::Farm),
                ("proc", Role::Processor),
                ("carrier", Role::Logistics),
                ("retail", Role::Retailer),
                ("lab", Role::Lab),
            ],
        )
    }

    fn harvest(&mut self, who: &str, code: &str, grams: u64) -> Hash {
        self.accept(
            who,
            vec![],
            Event::Harvest {
                lot_code: code.into(),
                product: tea(),
                quantity: g(grams),
                location: here(),
                reference: None,
            },
        )
    }

    fn ship_event(&self, lot: LotId, grams: u64, to: &str) -> Event {
        Event::Ship {
            lot,
            quantity: g(grams),
            to: self.pk(to),
            from: here(),
            destination: here(),
            reference: None,
        }
    }

    fn ship(&mut self, who: &str, lot: LotId, grams: u64, to: &str) -> Hash {
        let e = self.ship_event(lot, grams, to);
        self.accept(who, vec![], e)
    }

    fn receive_event(&self, shipment: Hash, lot: LotId, grams: u64) -> Event {
        Event::Receive {
            shipment,
            lot,
            quantity: g(grams),
            location: here(),
            reference: None,
        }
    }
}

fn resign(r: &Record, key: &SigningKey) -> SignedRecord {
    r.clone().sign(key)
}

#[test]
fn bad_signature() {
    let mut w = World::new();
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    r.signature.0[5] ^= 1;
    assert_eq!(w.reject(r), ValidationError::BadSignature);
}

#[test]
fn signature_by_another_key() {
    let mut w = World::new();
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    let forged = resign(&r.record, &SigningKey::from_seed(&[99; 32]));
    assert_eq!(w.reject(forged), ValidationError::BadSignature);
}

#[test]
fn wrong_network() {
    let mut w = World::new();
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    r.record.network = Hash::of(b"another network");
    let key = SigningKey::from_seed(&[10; 32]);
    let r = resign(&r.record, &key);
    assert!(matches!(w.reject(r), ValidationError::WrongNetwork { .. }));
}

#[test]
fn unsupported_version() {
    let mut w = World::new();
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    r.record.version = 1;
    let r = resign(&r.record, &SigningKey::from_seed(&[10; 32]));
    assert_eq!(w.reject(r), ValidationError::Version(1));
}

/// The farm's next harvest at `version`, keeping `extras`, signed.
fn harvest_keeping(w: &mut World, version: u16, extras: Option<&str>) -> SignedRecord {
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    let mut record = r.record;
    record.version = version;
    record.extras = extras.map(|e| Extras {
        epcis: e.to_owned(),
    });
    let key = w.authors["farm"].key();
    record.sign(key)
}

#[test]
fn extras_need_version_3_and_version_3_needs_extras() {
    let mut w = World::new();
    let kept = r#"{"eventID":"urn:uuid:1"}"#;
    let r = harvest_keeping(&mut w, 2, Some(kept));
    assert!(
        matches!(w.reject(r), ValidationError::Extras(ref why) if why.contains("version 3")),
        "a version 2 record cannot keep extras (its bytes would not carry them)"
    );
    let r = harvest_keeping(&mut w, 3, None);
    assert!(matches!(w.reject(r), ValidationError::Extras(ref why) if why.contains("missing")));
    let r = harvest_keeping(&mut w, 5, Some(kept));
    assert_eq!(w.reject(r), ValidationError::Version(5));
}

#[test]
fn extras_are_a_non_empty_json_object_within_the_limit() {
    let mut w = World::new();
    for (extras, says) in [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ("{}", "keep nothing"),
    ] {
        let r = harvest_keeping(&mut w, 3, Some(extras));
        match w.reject(r) {
            ValidationError::Extras(why) => assert!(why.contains(says), "{extras}: {why}"),
            other => panic!("{extras}: {other:?}"),
        }
    }
    let big = format!(r#"{{"ilmd":"{}"}}"#, "x".repeat(MAX_EXTRAS_BYTES));
    let r = harvest_keeping(&mut w, 3, Some(&big));
    assert!(matches!(w.reject(r), ValidationError::Extras(ref why) if why.contains("limit")));
}

#[test]
fn a_record_keeping_extras_is_accepted_and_stored_with_them() {
    let mut w = World::new();
    let kept = r#"{"eventID":"urn:uuid:1","readPoint":{"id":"urn:epc:id:sgln:0614141.00777.0"}}"#;
    let r = harvest_keeping(&mut w, 3, Some(kept));
    let h = r.hash();
    assert_eq!(
        w.ledger.ingest_one(r.clone(), common::NOW).unwrap(),
        Outcome::Accepted
    );
    let stored = Graph::record(&w.ledger, &h).unwrap().unwrap();
    assert_eq!(stored, r);
    assert_eq!(stored.record.extras.unwrap().epcis, kept);
}

#[test]
fn unenrolled_author() {
    let mut w = World::new();
    let stranger = SigningKey::from_seed(&[77; 32]);
    let a = Author::new(stranger, w.ledger.network());
    let r = a
        .draft(
            w.tick(),
            vec![],
            Event::Harvest {
                lot_code: "L1".into(),
                product: tea(),
                quantity: g(10),
                location: here(),
                reference: None,
            },
        )
        .sign(a.key());
    assert_eq!(w.reject(r), ValidationError::NotEnrolled(a.public()));
}

#[test]
fn enrollment_dep_of_someone_else_does_not_enroll() {
    let mut w = World::new();
    let other = w.enrolled[&w.pk("farm2")];
    let a = Author::new(SigningKey::from_seed(&[77; 32]), w.ledger.network());
    let r = a
        .draft(
            w.tick(),
            vec![other],
            Event::Harvest {
                lot_code: "L1".into(),
                product: tea(),
                quantity: g(10),
                location: here(),
                reference: None,
            },
        )
        .sign(a.key());
    assert_eq!(w.reject(r), ValidationError::NotEnrolled(a.public()));
}

#[test]
fn role_not_allowed() {
    let mut w = World::new();
    let h = w.harvest("farm2", "L1", 1000);
    let lot = w.lot("farm2", "L1");
    // A farm may not certify.
    let r = w.draft(
        "farm",
        vec![h],
        Event::Certify {
            lot: lot.clone(),
            claim: "organic".into(),
            reference: None,
            valid_until: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::RoleNotAllowed {
            role: Role::Farm,
            ..
        }
    ));
    // A retailer may not harvest.
    let r = w.draft(
        "retail",
        vec![],
        Event::Harvest {
            lot_code: "R1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::RoleNotAllowed {
            role: Role::Retailer,
            ..
        }
    ));
    // A lab may not recall.
    let r = w.draft(
        "lab",
        vec![h],
        Event::Recall {
            lot,
            reason: "x".into(),
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::RoleNotAllowed {
            role: Role::Lab,
            ..
        }
    ));
}

#[test]
fn seq_gap() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L2".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert_eq!(r.record.prev, Some(h));
    r.record.seq = 5;
    let r = resign(&r.record, &SigningKey::from_seed(&[10; 32]));
    assert_eq!(
        w.reject(r),
        ValidationError::SeqGap {
            prev_seq: 0,
            seq: 5
        }
    );
}

#[test]
fn seq_reuse() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let h1 = w.harvest("farm", "L2", 1000);
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L3".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert_eq!(r.record.prev, Some(h1));
    r.record.seq = 1; // prev is seq 1 too
    let r = resign(&r.record, &SigningKey::from_seed(&[10; 32]));
    assert_eq!(
        w.reject(r),
        ValidationError::SeqReuse {
            prev_seq: 1,
            seq: 1
        }
    );
}

#[test]
fn prev_of_another_author() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let other = w.harvest("farm2", "M1", 1000);
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L2".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    r.record.prev = Some(other);
    let r = resign(&r.record, &SigningKey::from_seed(&[10; 32]));
    assert_eq!(w.reject(r), ValidationError::PrevMismatch { prev: other });
}

#[test]
fn prev_shape() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let mut r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L2".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    r.record.prev = None;
    let r = resign(&r.record, &SigningKey::from_seed(&[10; 32]));
    assert_eq!(w.reject(r), ValidationError::PrevShape { seq: 1 });
    assert_eq!(w.ledger.key_state(&w.pk("farm")).unwrap().unwrap().head, h);
}

#[test]
fn missing_deps_wait_in_the_pool_and_are_released() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    // Sign a shipment but deliver the receive first.
    let time = w.tick();
    let ship_event = w.ship_event(lot.clone(), 400, "proc");
    let ship = w
        .authors
        .get_mut("farm")
        .unwrap()
        .sign(time, vec![], ship_event);
    let ship_hash = ship.hash();
    let recv_event = w.receive_event(ship_hash, lot, 400);
    let deps = w.deps("proc", vec![ship_hash]);
    let time = w.tick();
    let recv = w
        .authors
        .get_mut("proc")
        .unwrap()
        .sign(time, deps, recv_event);
    let recv_hash = recv.hash();
    assert_eq!(
        w.ledger.ingest_one(recv, NOW).unwrap(),
        Outcome::Pending(PendingReason::Missing {
            hashes: vec![ship_hash]
        })
    );
    assert_eq!(w.ledger.pending_len(), 1);
    let report = w.ledger.ingest(vec![ship], NOW).unwrap();
    assert_eq!(report.outcomes, vec![(ship_hash, Outcome::Accepted)]);
    assert_eq!(report.released, vec![(recv_hash, Outcome::Accepted)]);
    assert_eq!(w.ledger.pending_len(), 0);
    assert!(w.ledger.record(&h).unwrap().is_some());
}

#[test]
fn pending_records_name_what_they_wait_for() {
    let mut w = World::new();
    let missing = Hash::of(b"not yet here");
    let r = w.draft(
        "farm",
        vec![missing],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::Pending(_)
    ));
    assert_eq!(w.ledger.pending_missing().unwrap(), vec![missing]);
}

#[test]
fn chain_from_lists_the_rest_of_a_chain() {
    let mut w = World::new();
    let hs: Vec<Hash> = (0..5)
        .map(|i| w.harvest("farm", &format!("L{i}"), 10))
        .collect();
    let farm = w.pk("farm");
    let from2: Vec<Hash> = w
        .ledger
        .chain_from(&farm, 2, 100)
        .unwrap()
        .iter()
        .map(|r| r.hash())
        .collect();
    assert_eq!(from2, hs[2..]);
    assert_eq!(w.ledger.chain_from(&farm, 0, 2).unwrap().len(), 2);
    assert!(w.ledger.chain_from(&farm, 9, 100).unwrap().is_empty());
}

#[test]
fn lot_records_lists_every_record_of_a_lot_named_by_many() {
    // More records than a lot's posting value holds (64): the rest are
    // indexed one key each, and the answer is the same whole set.
    let mut w = World::new();
    let mut expected = vec![w.harvest("farm", "L1", 1000)];
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 500, "retail");
    expected.push(s);
    let e = w.receive_event(s, lot.clone(), 500);
    expected.push(w.accept("retail", vec![s], e));
    for _ in 0..150 {
        let sale = Event::Sell {
            lot: lot.clone(),
            quantity: g(1),
            location: here(),
        };
        expected.push(w.accept("retail", vec![], sale));
    }
    expected.sort();
    assert_eq!(w.ledger.lot_records(&lot).unwrap(), expected);
    assert!(w
        .ledger
        .lot_records(&w.lot("farm", "L2"))
        .unwrap()
        .is_empty());
}

#[test]
fn atomic_ingest_writes_all_or_nothing() {
    use ledger_core::ledger::Atomic;
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    // Two valid shipments and one overdraw, chained on the farm's chain.
    let time = w.tick();
    let farm = w.authors.get_mut("farm").unwrap();
    let mut batch = Vec::new();
    for grams in [100, 200, 5000] {
        batch.push(farm.sign(
            time,
            vec![],
            Event::Ship {
                lot: lot.clone(),
                quantity: g(grams),
                to: PublicKey([0; 32]),
                from: here(),
                destination: here(),
                reference: None,
            },
        ));
    }
    let before = w.ledger.state_digest().unwrap();
    let len = w.ledger.len();
    match w.ledger.ingest_atomic(batch.clone(), NOW).unwrap() {
        Atomic::Refused(report) => assert!(matches!(
            report.outcomes[2].1,
            Outcome::Rejected {
                error: ValidationError::Overdraw { .. }
            }
        )),
        Atomic::Committed(_) => panic!("a batch with an overdraw was committed"),
    }
    assert_eq!(w.ledger.state_digest().unwrap(), before);
    assert_eq!(w.ledger.len(), len);
    assert_eq!(w.ledger.pending_len(), 0);
    // Without the bad record, it lands whole.
    batch.pop();
    assert!(matches!(
        w.ledger.ingest_atomic(batch, NOW).unwrap(),
        Atomic::Committed(_)
    ));
    assert_eq!(w.ledger.len(), len + 2);
}

#[test]
fn signer_says_who_a_key_signs_for() {
    let mut w = World::new();
    let farm = w.pk("farm");
    let enrolled = w.enrolled[&farm];
    // Before its first record: enrolled, no head, and what to depend on.
    let s = w.ledger.signer(&farm).unwrap().unwrap();
    assert_eq!((s.identity, s.role, s.head), (farm, Role::Farm, None));
    assert_eq!(s.introduced_by, Some(enrolled));
    let h = w.harvest("farm", "L1", 10);
    assert_eq!(w.ledger.signer(&farm).unwrap().unwrap().head, Some((0, h)));
    // A rotated-in key signs for the same identity.
    let new_key = SigningKey::from_seed(&[56; 32]).public();
    let rot = w.accept("farm", vec![], Event::RotateKey { new_key });
    let s = w.ledger.signer(&new_key).unwrap().unwrap();
    assert_eq!((s.identity, s.introduced_by), (farm, Some(rot)));
    assert_eq!(w.ledger.signer(&farm).unwrap().unwrap().retired_at, Some(1));
    // Revocation is reported; unknown keys are not signers.
    w.accept(
        "reg",
        vec![],
        Event::Revoke {
            key: farm,
            last_trusted_seq: Some(1),
            reason: "lost phone".into(),
        },
    );
    assert_eq!(
        w.ledger.signer(&farm).unwrap().unwrap().revoked.as_deref(),
        Some("lost phone")
    );
    assert!(w
        .ledger
        .signer(&SigningKey::from_seed(&[99; 32]).public())
        .unwrap()
        .is_none());
    // Genesis authorities need no introduction.
    let reg = w.pk("reg");
    let s = w.ledger.signer(&reg).unwrap().unwrap();
    assert_eq!((s.role, s.introduced_by), (Role::Regulator, None));
}

#[test]
fn pending_pool_is_bounded() {
    let mut w = World::new();
    w.ledger = Ledger::open(
        w.ledger.close().unwrap(),
        LedgerConfig {
            pending_capacity: 2,
            ..LedgerConfig::default()
        },
    )
    .unwrap();
    let mut outcomes = Vec::new();
    for i in 0..3u8 {
        let r = w.draft(
            "farm",
            vec![Hash::of(&[i])],
            Event::Harvest {
                lot_code: format!("L{i}"),
                product: tea(),
                quantity: g(10),
                location: here(),
                reference: None,
            },
        );
        outcomes.push(w.ledger.ingest_one(r, NOW).unwrap());
    }
    assert!(matches!(outcomes[0], Outcome::Pending(_)));
    assert!(matches!(outcomes[1], Outcome::Pending(_)));
    assert_eq!(outcomes[2], Outcome::PoolFull { capacity: 2 });
    assert_eq!(w.ledger.pending_len(), 2);
}

#[test]
fn future_records_wait_for_the_clock() {
    let mut w = World::new();
    let far = NOW + 3_600_000;
    let a = &w.authors["farm"];
    let deps = w.deps("farm", vec![]);
    let r = a
        .draft(
            far,
            deps,
            Event::Harvest {
                lot_code: "L1".into(),
                product: tea(),
                quantity: g(10),
                location: here(),
                reference: None,
            },
        )
        .sign(a.key());
    let h = r.hash();
    assert!(matches!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::Pending(PendingReason::Future { .. })
    ));
    // Still too early.
    assert!(w.ledger.tick(NOW + 60_000).unwrap().released.is_empty());
    let report = w.ledger.tick(far).unwrap();
    assert_eq!(report.released, vec![(h, Outcome::Accepted)]);
}

#[test]
fn dep_of_the_wrong_kind() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    // A receive whose "shipment" is a harvest record.
    let e = w.receive_event(h, lot, 10);
    let r = w.draft("proc", vec![h], e);
    assert!(matches!(w.reject(r), ValidationError::WrongDep { dep, .. } if dep == h));
}

#[test]
fn receive_must_list_its_shipment_in_deps() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc");
    let e = w.receive_event(s, lot, 100);
    let r = w.draft("proc", vec![], e);
    assert!(matches!(w.reject(r), ValidationError::NotInDeps { .. }));
}

#[test]
fn inspection_must_depend_on_the_lot() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let other = w.harvest("farm2", "M1", 1000);
    let lot = w.lot("farm", "L1");
    let r = w.draft(
        "lab",
        vec![other],
        Event::Inspect {
            lot,
            test: "pesticide residue".into(),
            verdict: Verdict::Pass,
            notes: String::new(),
            reference: None,
        },
    );
    assert!(matches!(w.reject(r), ValidationError::NotInDeps { .. }));
}

#[test]
fn a_lot_created_by_the_prev_record_needs_no_dep() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    // The farm observes its own fresh harvest: the creation is its prev.
    w.accept(
        "farm",
        vec![],
        Event::Observe {
            lot,
            location: here(),
            readings: vec![Reading {
                time: T,
                kind: SensorKind::Temperature,
                value: 12_000,
                min: 0,
                max: 25_000,
            }],
        },
    );
}

#[test]
fn shipping_more_than_held() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let e = w.ship_event(lot.clone(), 1001, "proc");
    let r = w.draft("farm", vec![], e);
    assert_eq!(
        w.reject(r),
        ValidationError::Overdraw {
            lot,
            held: g(1000),
            wanted: g(1001)
        }
    );
}

#[test]
fn shipping_a_lot_not_held() {
    let mut w = World::new();
    w.harvest("farm2", "M1", 1000);
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm2", "M1");
    let e = w.ship_event(lot.clone(), 1, "proc");
    let r = w.draft("farm", vec![], e);
    assert_eq!(w.reject(r), ValidationError::NotHeld(lot));
}

#[test]
fn transforming_more_than_held() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let r = w.draft(
        "farm",
        vec![],
        Event::Transform {
            process: "pack".into(),
            inputs: vec![
                LotAmount {
                    lot: lot.clone(),
                    quantity: g(600),
                },
                LotAmount {
                    lot: lot.clone(),
                    quantity: g(600),
                },
            ],
            outputs: vec![NewLot {
                code: "P1".into(),
                product: tea(),
                quantity: g(1200),
            }],
            loss: 0,
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(w.reject(r), ValidationError::Overdraw { .. }));
}

#[test]
fn selling_more_than_held() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 500, "retail");
    let e = w.receive_event(s, lot.clone(), 500);
    w.accept("retail", vec![s], e);
    let r = w.draft(
        "retail",
        vec![],
        Event::Sell {
            lot: lot.clone(),
            quantity: g(501),
            location: here(),
        },
    );
    assert!(matches!(w.reject(r), ValidationError::Overdraw { .. }));
}

#[test]
fn transform_must_conserve_quantity() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let r = w.draft(
        "farm",
        vec![],
        Event::Transform {
            process: "dry".into(),
            inputs: vec![LotAmount {
                lot,
                quantity: g(1000),
            }],
            outputs: vec![NewLot {
                code: "D1".into(),
                product: tea(),
                quantity: g(900),
            }],
            loss: 50,
            location: here(),
            reference: None,
        },
    );
    assert_eq!(
        w.reject(r),
        ValidationError::NotConserved {
            inputs: 1000,
            outputs: 900,
            loss: 50
        }
    );
}

#[test]
fn receiving_a_shipment_addressed_to_someone_else() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc");
    let e = w.receive_event(s, lot, 100);
    let r = w.draft("retail", vec![s], e);
    let proc_pk = w.pk("proc");
    assert_eq!(
        w.reject(r),
        ValidationError::NotAddressed {
            shipment: s,
            to: proc_pk
        }
    );
}

#[test]
fn receiving_twice() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc");
    let e = w.receive_event(s, lot.clone(), 100);
    w.accept("proc", vec![s], e);
    let e = w.receive_event(s, lot, 100);
    let r = w.draft("proc", vec![s], e);
    assert_eq!(w.reject(r), ValidationError::AlreadyReceived(s));
}

#[test]
fn receiving_more_or_another_lot_than_shipped() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    w.harvest("farm", "L2", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc");
    let e = w.receive_event(s, lot, 101);
    let r = w.draft("proc", vec![s], e);
    assert!(matches!(
        w.reject(r),
        ValidationError::ReceiveMismatch { .. }
    ));
    let e = w.receive_event(s, w.lot("farm", "L2"), 100);
    let r = w.draft("proc", vec![s], e);
    assert!(matches!(
        w.reject(r),
        ValidationError::ReceiveMismatch { .. }
    ));
}

#[test]
fn unit_mismatch() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let r = w.draft(
        "farm",
        vec![],
        Event::Ship {
            lot: lot.clone(),
            quantity: Quantity::new(2, Unit::Case),
            to: w.pk("proc"),
            from: here(),
            destination: here(),
            reference: None,
        },
    );
    assert_eq!(
        w.reject(r),
        ValidationError::UnitMismatch {
            lot,
            expected: Unit::Gram,
            got: Unit::Case
        }
    );
}

#[test]
fn quantity_overflow() {
    let mut w = World::new();
    w.harvest("farm", "L1", u64::MAX);
    let lot = w.lot("farm", "L1");
    let r = w.draft(
        "farm",
        vec![],
        Event::Transform {
            process: "split".into(),
            inputs: vec![LotAmount {
                lot,
                quantity: g(u64::MAX),
            }],
            outputs: vec![
                NewLot {
                    code: "A".into(),
                    product: tea(),
                    quantity: g(u64::MAX),
                },
                NewLot {
                    code: "B".into(),
                    product: tea(),
                    quantity: g(1),
                },
            ],
            loss: 0,
            location: here(),
            reference: None,
        },
    );
    assert_eq!(
        w.reject(r),
        ValidationError::QuantityOverflow("transform outputs")
    );
}

#[test]
fn bad_gtin_and_gln_check_digits() {
    let mut w = World::new();
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: Product {
                description: "靖远枸杞".into(),
                gtin: Some("12345673".into()),
            },
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::Gs1(ledger_core::gs1::Gs1Error::CheckDigit { kind: "GTIN", .. })
    ));
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: Location {
                description: "field".into(),
                gln: Some("9520123456789".into()),
            },
            reference: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::Gs1(ledger_core::gs1::Gs1Error::CheckDigit { kind: "GLN", .. })
    ));
}

#[test]
fn time_before_previous_record() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let prev_time = w.time;
    let a = &w.authors["farm"];
    let r = a
        .draft(
            prev_time - 1,
            vec![],
            Event::Harvest {
                lot_code: "L2".into(),
                product: tea(),
                quantity: g(10),
                location: here(),
                reference: None,
            },
        )
        .sign(a.key());
    assert_eq!(
        w.reject(r),
        ValidationError::TimeBeforePrev {
            time: prev_time - 1,
            prev_time
        }
    );
}

#[test]
fn time_before_a_dep() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc");
    let ship_time = w.time;
    let deps = w.deps("proc", vec![s]);
    let e = w.receive_event(s, lot, 100);
    let a = &w.authors["proc"];
    let r = a.draft(ship_time - 1, deps, e).sign(a.key());
    assert_eq!(
        w.reject(r),
        ValidationError::TimeBeforeDep {
            time: ship_time - 1,
            dep: s,
            dep_time: ship_time
        }
    );
}

#[test]
fn record_larger_than_the_limit() {
    let mut w = World::new();
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: Location {
                description: "田".repeat(30_000),
                gln: None,
            },
            reference: None,
        },
    );
    assert!(matches!(w.reject(r), ValidationError::TooLarge { .. }));
}

#[test]
fn over_long_text_and_empty_fields() {
    let mut w = World::new();
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "lot code",
            ..
        }
    ));
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: Product {
                description: "x".repeat(2000),
                gtin: None,
            },
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "product description",
            ..
        }
    ));
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(0),
            location: here(),
            reference: None,
        },
    );
    assert!(matches!(w.reject(r), ValidationError::ZeroQuantity { .. }));
}

#[test]
fn duplicate_lot_code_by_one_creator() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let r = w.draft(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    assert_eq!(w.reject(r), ValidationError::LotExists("L1".into()));
    // Another farm may use the same code: lots are (source, code).
    w.harvest("farm2", "L1", 1000);
}

#[test]
fn duplicate_deps() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let r = w.draft(
        "lab",
        vec![h, h],
        Event::Inspect {
            lot: w.lot("farm", "L1"),
            test: "residue".into(),
            verdict: Verdict::Pass,
            notes: String::new(),
            reference: None,
        },
    );
    assert_eq!(w.reject(r), ValidationError::DuplicateDep(h));
}

#[test]
fn enrolling_a_weak_key() {
    let mut w = World::new();
    let mut identity = [0u8; 32];
    identity[0] = 1; // the identity point: small order
    let r = w.draft(
        "reg",
        vec![],
        Event::Enroll {
            participant: PublicKey(identity),
            name: "weak".into(),
            role: Role::Farm,
            location: here(),
        },
    );
    assert!(matches!(
        w.reject(r),
        ValidationError::WeakKey {
            reason: ledger_core::key::WeakKey::SmallOrder,
            ..
        }
    ));
}

#[test]
fn bad_sensor_range() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let r = w.draft(
        "carrier",
        vec![h],
        Event::Observe {
            lot: w.lot("farm", "L1"),
            location: here(),
            readings: vec![Reading {
                time: T,
                kind: SensorKind::Temperature,
                value: 4000,
                min: 8000,
                max: 0,
            }],
        },
    );
    assert_eq!(w.reject(r), ValidationError::BadRange { min: 8000, max: 0 });
}

#[test]
fn rotated_key_retires_and_successor_inherits_custody() {
    let mut w = World::new();
    w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let new_key = SigningKey::from_seed(&[55; 32]);
    let new_pk = new_key.public();
    let rot = w.accept("farm", vec![], Event::RotateKey { new_key: new_pk });
    // The old key may sign no more.
    let e = w.ship_event(lot.clone(), 10, "proc");
    let r = w.draft("farm", vec![], e);
    assert!(matches!(w.reject(r), ValidationError::KeyRetired { .. }));
    // The new key ships the old identity's lot.
    let network = w.ledger.network();
    w.authors.insert("farm-new", Author::new(new_key, network));
    let e = w.ship_event(lot, 10, "proc");
    w.accept("farm-new", vec![rot], e);
}

#[test]
fn failed_inspection_and_recall_are_overlays_on_downstream_lots() {
    let mut w = World::new();
    let h = w.harvest("farm", "L1", 1000);
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 1000, "proc");
    let e = w.receive_event(s, lot.clone(), 1000);
    w.accept("proc", vec![s], e);
    w.accept(
        "proc",
        vec![],
        Event::Transform {
            process: "pack".into(),
            inputs: vec![LotAmount {
                lot: lot.clone(),
                quantity: g(1000),
            }],
            outputs: vec![NewLot {
                code: "P1".into(),
                product: tea(),
                quantity: g(1000),
            }],
            loss: 0,
            location: here(),
            reference: None,
        },
    );
    w.accept(
        "lab",
        vec![h],
        Event::Inspect {
            lot: lot.clone(),
            test: "pesticide residue".into(),
            verdict: Verdict::Fail,
            notes: "chlorpyrifos 0.3 mg/kg".into(),
            reference: None,
        },
    );
    w.accept(
        "reg",
        vec![h],
        Event::Recall {
            lot: lot.clone(),
            reason: "residue over MRL".into(),
        },
    );
    let product = w.lot("proc", "P1");
    let down = ledger_core::query::downstream_lots(&w.ledger, &lot).unwrap();
    assert!(down.contains(&product));
    let overlays = w.ledger.overlays().unwrap();
    let t = ledger_core::query::trace(&w.ledger, &overlays, &product)
        .unwrap()
        .unwrap();
    use ledger_core::query::Warning;
    assert!(t
        .warnings
        .iter()
        .any(|x| matches!(x, Warning::Recalled { lot: l, .. } if *l == lot)));
    assert!(t
        .warnings
        .iter()
        .any(|x| matches!(x, Warning::FailedInspection { lot: l, .. } if *l == lot)));
}

#[test]
fn revocation_flags_later_records_and_their_dependents() {
    let mut w = World::new();
    let trusted = w.harvest("farm", "L1", 1000); // seq 0
    let lot = w.lot("farm", "L1");
    let s = w.ship("farm", lot.clone(), 100, "proc"); // seq 1
    let e = w.receive_event(s, lot, 100);
    let recv = w.accept("proc", vec![s], e);
    let farm = w.pk("farm");
    w.accept(
        "reg",
        vec![],
        Event::Revoke {
            key: farm,
            last_trusted_seq: Some(0),
            reason: "key stolen".into(),
        },
    );
    let o = w.ledger.overlays().unwrap();
    use ledger_core::overlay::Flag;
    assert!(o.flags(&trusted).is_empty());
    assert!(matches!(o.flags(&s)[..], [Flag::Revoked { .. }]));
    assert!(matches!(o.flags(&recv)[..], [Flag::Tainted { source }] if source == s));
}

// ---------------------------------------------------------------------------
// Product codes: GS1 prefixes, packers, AI 10 lot codes, certificates.
// ---------------------------------------------------------------------------

/// The tin's GTIN-13, under prefix 6901234 (check digit verified).
const TIN: &str = "6901234567892";

fn tin(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "千岛湖茶 250 g tin".into(),
            gtin: Some(TIN.into()),
        },
        quantity: g(250),
        location: here(),
        reference: None,
    }
}

impl World {
    /// The regulator assigns `prefix` to `who`.
    fn assign(&mut self, who: &str, prefix: &str) -> Hash {
        let participant = self.pk(who);
        self.accept(
            "reg",
            vec![],
            Event::AssignPrefix {
                participant,
                prefix: prefix.into(),
            },
        )
    }
}

#[test]
fn gtin_lot_without_a_prefix_right_is_refused() {
    let mut w = World::new();
    // farm2 copies the farm's tin: no assignment names it.
    let assigned = w.assign("farm", "6901234");
    let r = w.draft("farm2", vec![], tin("QDH-PACK-0404"));
    assert_eq!(
        w.reject(r),
        ValidationError::GtinNotOwned { gtin: TIN.into() }
    );
    // Listing someone else's assignment does not help either.
    let r = w.draft("farm2", vec![assigned], tin("QDH-PACK-0404"));
    assert_eq!(
        w.reject(r),
        ValidationError::GtinNotOwned { gtin: TIN.into() }
    );
    // The owner, listing its assignment, may.
    w.accept("farm", vec![assigned], tin("QDH-PACK-0404"));
    // A prefix that does not cover the GTIN gives no right.
    let other = w.assign("farm2", "6909999");
    let r = w.draft("farm2", vec![other], tin("QDH-PACK-0405"));
    assert!(matches!(w.reject(r), ValidationError::GtinNotOwned { .. }));
}

#[test]
fn authorised_packer_may_create_and_others_may_not_authorise() {
    let mut w = World::new();
    let assigned = w.assign("proc", "6901234");
    let packer = w.pk("farm");
    // farm2 owns no prefix, so it cannot authorise anyone for it.
    let r = w.draft(
        "farm2",
        vec![assigned],
        Event::AuthorisePacker {
            packer,
            prefix: "6901234".into(),
            valid_until: None,
        },
    );
    assert_eq!(
        w.reject(r),
        ValidationError::PrefixNotOwned {
            prefix: "6901234".into()
        }
    );
    // The owner authorises the farm, until a day from now, for a range
    // within its prefix.
    let until = w.time + 86_400_000;
    let auth = w.accept(
        "proc",
        vec![assigned],
        Event::AuthorisePacker {
            packer,
            prefix: "69012345".into(),
            valid_until: Some(until),
        },
    );
    w.accept("farm", vec![auth], tin("CO-PACK-1"));
    // The authorisation does not reach outside its range.
    let outside = Event::Harvest {
        lot_code: "CO-PACK-2".into(),
        product: Product {
            description: "千岛湖茶".into(),
            gtin: Some("6901234000016".into()),
        },
        quantity: g(250),
        location: here(),
        reference: None,
    };
    let r = w.draft("farm", vec![auth], outside);
    assert!(matches!(w.reject(r), ValidationError::GtinNotOwned { .. }));
    // Once it has ended, the packer is told when.
    w.time = until + 1;
    let r = w.draft("farm", vec![auth], tin("CO-PACK-3"));
    assert_eq!(
        w.reject(r),
        ValidationError::AuthorisationEnded {
            gtin: TIN.into(),
            until
        }
    );
}

#[test]
fn gtin_lot_codes_must_fit_gs1_ai_10() {
    let mut w = World::new();
    let assigned = w.assign("farm", "6901234");
    for (code, why) in [
        (
            "千岛湖茶-0404",
            "contains a character outside GS1 character set 82",
        ),
        ("QDH-PACK-0404-SPRING-2025", "longer than 20 characters"),
    ] {
        let r = w.draft("farm", vec![assigned], tin(code));
        assert_eq!(
            w.reject(r),
            ValidationError::LotCodeNotGs1 {
                code: code.into(),
                why
            }
        );
    }
    // Without a GTIN, any UTF-8 code stays allowed.
    w.accept(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "千岛湖茶-0404".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
}

#[test]
fn certificate_valid_until_before_it_is_issued_is_refused() {
    let mut w = World::new();
    let created = w.accept(
        "farm",
        vec![],
        Event::Harvest {
            lot_code: "L1".into(),
            product: tea(),
            quantity: g(10),
            location: here(),
            reference: None,
        },
    );
    let lot = w.lot("farm", "L1");
    let certify = |valid_until| Event::Certify {
        lot: lot.clone(),
        claim: "organic".into(),
        reference: None,
        valid_until,
    };
    let r = w.draft("reg", vec![created], certify(Some(T)));
    let time = r.record.time;
    let err = w.reject(r);
    assert_eq!(
        err,
        ValidationError::CertificateValidity {
            time,
            valid_until: T
        }
    );
    // The message speaks in dates, not epoch milliseconds.
    let text = err.to_string();
    assert!(text.contains("2025-06-15"), "{text}");
    assert!(!text.contains(&T.to_string()), "{text}");
    // Valid from issue onwards is fine.
    w.accept("reg", vec![created], certify(Some(NOW + 1)));
}

#[test]
fn a_second_lot_with_the_same_gtin_and_code_is_not_admitted() {
    let mut w = World::new();
    let assigned = w.assign("farm", "6901234");
    let auth = w.accept(
        "farm",
        vec![assigned],
        Event::AuthorisePacker {
            packer: w.pk("farm2"),
            prefix: "6901234".into(),
            valid_until: None,
        },
    );
    w.accept("farm", vec![assigned], tin("QDH-0404"));
    // The packer signs the same (GTIN, lot): valid by the rules of its
    // causal past, but not admitted where the first one is known.
    let dup = w.draft("farm2", vec![auth], tin("QDH-0404"));
    let fresh = w.draft("farm2", vec![auth], tin("QDH-0405"));
    let verdicts = w.ledger.admit(&[dup, fresh]).unwrap();
    assert_eq!(
        verdicts,
        vec![
            Err(ValidationError::DuplicateProductLot {
                gtin: "06901234567892".into(),
                code: "QDH-0404".into()
            }),
            Ok(())
        ]
    );
    // Two new records in one submission with the same pair: the second is
    // refused.
    let a = w.draft("farm2", vec![auth], tin("QDH-0406"));
    let b = w.draft("farm", vec![assigned], tin("QDH-0406"));
    let verdicts = w.ledger.admit(&[a, b]).unwrap();
    assert!(verdicts[0].is_ok());
    assert!(matches!(
        verdicts[1],
        Err(ValidationError::DuplicateProductLot { .. })
    ));
    // `submit` applies admission and ingest in one step, outcomes in order:
    // the duplicate is refused and not stored, the fresh lot is accepted.
    let len = w.ledger.len();
    let dup = w.draft("farm2", vec![auth], tin("QDH-0404"));
    let fresh = w.draft("farm2", vec![auth], tin("QDH-0405"));
    let fresh_hash = fresh.hash();
    let report = w.ledger.submit(vec![dup, fresh], NOW).unwrap();
    assert!(matches!(
        report.outcomes[0].1,
        Outcome::Rejected {
            error: ValidationError::DuplicateProductLot { .. }
        }
    ));
    assert_eq!(report.outcomes[1], (fresh_hash, Outcome::Accepted));
    assert_eq!(w.ledger.len(), len + 1);
    // A copycat with no right to the GTIN passes admission, so that
    // validation refuses it with the reason that matters.
    let copycat = w.draft("proc", vec![assigned], tin("QDH-0404"));
    assert_eq!(w.ledger.admit(&[copycat]).unwrap(), vec![Ok(())]);
    // The product's lots are listed by GTIN in any of its lengths.
    let lots = w.ledger.lots_with_gtin("06901234567892").unwrap();
    assert_eq!(
        lots,
        vec![w.lot("farm", "QDH-0404"), w.lot("farm2", "QDH-0405")]
    );
    assert_eq!(w.ledger.lots_with_gtin(TIN).unwrap(), lots);
}

#[test]
fn assign_prefix_is_for_regulators_and_needs_a_prefix() {
    let mut w = World::new();
    let participant = w.pk("farm");
    let r = w.draft(
        "proc",
        vec![],
        Event::AssignPrefix {
            participant,
            prefix: "6901234".into(),
        },
    );
    assert_eq!(
        w.reject(r),
        ValidationError::RoleNotAllowed {
            role: Role::Processor,
            kind: ledger_core::EventKind::AssignPrefix
        }
    );
    let r = w.draft(
        "reg",
        vec![],
        Event::AssignPrefix {
            participant,
            prefix: "69A".into(),
        },
    );
    assert!(matches!(w.reject(r), ValidationError::Gs1(_)));
}

#[test]
fn packer_authorisation_ending_before_it_is_given_is_refused() {
    let mut w = World::new();
    let assigned = w.assign("farm", "6901234");
    let packer = w.pk("farm2");
    let r = w.draft(
        "farm",
        vec![assigned],
        Event::AuthorisePacker {
            packer,
            prefix: "6901234".into(),
            valid_until: Some(T),
        },
    );
    let time = r.record.time;
    assert_eq!(
        w.reject(r),
        ValidationError::AuthorisationValidity {
            time,
            valid_until: T
        }
    );
}
