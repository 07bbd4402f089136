//! One test per validation rule of the events record version 4 added
//! (aggregate, associate, transact, correct): each builds the violating
//! record and checks the specific error, and that nothing was stored
//! (`World::reject`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::event::{Action, Event, LotAmount, LotId, RefDoc, Role};
use ledger_core::graph::Graph;
use ledger_core::record::{Extras, RECORD_VERSION_EVENTS};
use ledger_core::{Hash, ValidationError};

mod common;

use common::{g, here, World};

fn world() -> World {
    World::with_cast(
        "version 4 rules",
        &[
            ("farm", Role::Farm),
            ("farm2", Role::Farm),
            ("proc", Role::Processor),
            ("lab", Role::Lab),
        ],
    )
}

const PALLET: &str = "urn:epc:id:sscc:0614141.1234567890";

fn amount(lot: &LotId, grams: u64) -> LotAmount {
    LotAmount {
        lot: lot.clone(),
        quantity: g(grams),
    }
}

fn pack(action: Action, children: Vec<LotAmount>) -> Event {
    Event::Aggregate {
        action,
        parent: PALLET.into(),
        children,
        location: here(),
    }
}

fn order(lots: Vec<LotAmount>) -> Event {
    Event::Transact {
        action: Action::Add,
        documents: vec![RefDoc {
            kind: "po".into(),
            number: "PO-2026-118".into(),
        }],
        lots,
        location: here(),
    }
}

/// `record`, signed by `who`'s key.
fn signed(w: &World, who: &str, record: ledger_core::Record) -> ledger_core::SignedRecord {
    record.sign(w.authors[who].key())
}

/// The farm's harvest of `code` (`grams`), and the record's hash.
fn harvested(w: &mut World, code: &str, grams: u64) -> (LotId, Hash) {
    let lot = w.harvest_lot("farm", code, grams);
    let h = w.ledger.chain(&w.pk("farm")).unwrap().last().unwrap().1;
    (lot, h)
}

#[test]
fn new_kinds_are_written_in_version_4_and_old_kinds_never_are() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    let mut r = w.draft("farm", vec![], pack(Action::Add, vec![amount(&lot, 10)]));
    assert_eq!(r.record.version, RECORD_VERSION_EVENTS);
    r.record.version = 2;
    let r = signed(&w, "farm", r.record);
    assert_eq!(
        w.reject(r),
        ValidationError::VersionForKind {
            kind: ledger_core::EventKind::Aggregate,
            expected: 4,
            version: 2
        }
    );
    // A harvest may not claim version 4, with or without extras.
    for (extras, expected) in [(None, 2), (Some(r#"{"eventID":"urn:uuid:1"}"#), 3)] {
        let mut r = w
            .draft(
                "farm",
                vec![],
                Event::Harvest {
                    lot_code: "L2".into(),
                    product: ledger_core::event::Product {
                        description: "茶".into(),
                        gtin: None,
                    },
                    quantity: g(5),
                    location: here(),
                    reference: None,
                },
            )
            .record;
        r.version = 4;
        r.extras = extras.map(|e| Extras { epcis: e.into() });
        let r = signed(&w, "farm", r);
        assert_eq!(
            w.reject(r),
            ValidationError::VersionForKind {
                kind: ledger_core::EventKind::Harvest,
                expected,
                version: 4
            }
        );
    }
}

#[test]
fn a_version_4_record_may_keep_extras_and_they_are_checked() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    let mut r = w
        .draft("farm", vec![], pack(Action::Add, vec![amount(&lot, 10)]))
        .record;
    r.extras = Some(Extras {
        epcis: "[1]".into(),
    });
    let bad = signed(&w, "farm", r.clone());
    assert!(
        matches!(w.reject(bad), ValidationError::Extras(ref why) if why.contains("not a JSON object"))
    );
    r.extras = Some(Extras {
        epcis: r#"{"bizStep":"packing"}"#.into(),
    });
    assert_eq!(
        w.ledger
            .ingest_one(signed(&w, "farm", r), common::NOW)
            .unwrap(),
        ledger_core::Outcome::Accepted
    );
}

#[test]
fn packing_needs_the_lot_in_hand() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    // More than held.
    let r = w.draft("farm", vec![], pack(Action::Add, vec![amount(&lot, 1001)]));
    assert_eq!(
        w.reject(r),
        ValidationError::Overdraw {
            lot: lot.clone(),
            held: g(1000),
            wanted: g(1001)
        }
    );
    // Another farm's lot, which this one never held.
    let other = w.harvest_lot("farm2", "M1", 500);
    let made = w.ledger.chain(&w.pk("farm2")).unwrap().last().unwrap().1;
    let r = w.draft(
        "farm",
        vec![made],
        pack(Action::Add, vec![amount(&other, 10)]),
    );
    assert_eq!(w.reject(r), ValidationError::NotHeld(other.clone()));
    // Associating with a data logger is held to the same rule.
    let r = w.draft(
        "farm",
        vec![made],
        Event::Associate {
            action: Action::Add,
            parent: "urn:epc:id:giai:0614141.LOGGER-7".into(),
            children: vec![amount(&other, 10)],
            location: here(),
        },
    );
    assert_eq!(w.reject(r), ValidationError::NotHeld(other));
    // What is held packs, and packing moves nothing: all 1000 g can
    // still be shipped.
    w.accept("farm", vec![], pack(Action::Add, vec![amount(&lot, 1000)]));
    w.ship_lot("farm", &lot, 1000, "proc");
}

#[test]
fn unpacking_needs_no_holding_and_may_name_no_lots() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    w.accept("farm", vec![], pack(Action::Add, vec![amount(&lot, 1000)]));
    w.ship_lot("farm", &lot, 1000, "proc");
    let (_, h) = harvested(&mut w, "L0", 1);
    // The lot has left, yet its unpacking is recorded.
    let l1 = w.ledger.chain(&w.pk("farm")).unwrap()[0].1;
    w.accept(
        "farm",
        vec![l1],
        pack(Action::Delete, vec![amount(&lot, 1000)]),
    );
    w.accept("farm", vec![h], pack(Action::Delete, vec![]));
}

#[test]
fn packing_names_children_each_once_with_quantities() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    let r = w.draft("farm", vec![], pack(Action::Add, vec![]));
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "children",
            ..
        }
    ));
    let r = w.draft(
        "farm",
        vec![],
        pack(Action::Add, vec![amount(&lot, 1), amount(&lot, 2)]),
    );
    assert!(
        matches!(w.reject(r), ValidationError::BadText { field: "lots", ref problem } if problem.contains("twice"))
    );
    let r = w.draft("farm", vec![], pack(Action::Add, vec![amount(&lot, 0)]));
    assert_eq!(
        w.reject(r),
        ValidationError::ZeroQuantity {
            field: "child quantity"
        }
    );
    let mut e = pack(Action::Add, vec![amount(&lot, 1)]);
    if let Event::Aggregate { parent, .. } = &mut e {
        parent.clear();
    }
    let r = w.draft("farm", vec![], e);
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "parent",
            ..
        }
    ));
}

#[test]
fn a_packed_lot_must_be_in_deps() {
    let mut w = world();
    let (lot, _) = harvested(&mut w, "L1", 1000);
    harvested(&mut w, "L2", 1000);
    // L1's creation is neither a dep nor the prev (L2's harvest is).
    let r = w.draft("farm", vec![], pack(Action::Add, vec![amount(&lot, 1)]));
    assert!(matches!(w.reject(r), ValidationError::NotInDeps { .. }));
}

#[test]
fn a_lab_may_not_pack() {
    let mut w = world();
    let (lot, h) = harvested(&mut w, "L1", 1000);
    let r = w.draft("lab", vec![h], pack(Action::Observe, vec![amount(&lot, 1)]));
    assert_eq!(
        w.reject(r),
        ValidationError::RoleNotAllowed {
            role: Role::Lab,
            kind: ledger_core::EventKind::Aggregate
        }
    );
}

#[test]
fn a_transaction_links_documents_to_lots_without_holding_them() {
    let mut w = world();
    let (lot, h) = harvested(&mut w, "L1", 1000);
    // The buyer orders what the farm holds.
    w.accept("proc", vec![h], order(vec![amount(&lot, 500)]));
    let r = w.draft("proc", vec![], order(vec![]));
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText { field: "lots", .. }
    ));
    let mut e = order(vec![amount(&lot, 500)]);
    if let Event::Transact { documents, .. } = &mut e {
        documents.clear();
    }
    let r = w.draft("proc", vec![h], e);
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "documents",
            ..
        }
    ));
    let mut e = order(vec![amount(&lot, 500)]);
    if let Event::Transact { documents, .. } = &mut e {
        documents[0].number.clear();
    }
    let r = w.draft("proc", vec![h], e);
    assert!(matches!(
        w.reject(r),
        ValidationError::BadText {
            field: "reference number",
            ..
        }
    ));
    // A lot whose creation the record does not reach.
    let stray = w.lot("farm2", "NOPE");
    let r = w.draft("proc", vec![h], order(vec![amount(&stray, 1)]));
    assert!(matches!(w.reject(r), ValidationError::NotInDeps { .. }));
}

fn correct(record: Hash, lots: Vec<LotId>, corrective: Vec<Hash>) -> Event {
    Event::Correct {
        record,
        lots,
        reason: "incorrect_data".into(),
        corrective,
    }
}

#[test]
fn an_author_declares_its_own_record_erroneous_naming_its_lots() {
    let mut w = world();
    let (lot, h) = harvested(&mut w, "L1", 1000);
    let (fixed, fix) = harvested(&mut w, "L1-FIX", 990);
    // Its prev needs no dep; the corrective record is one.
    let bad = w.draft("farm", vec![], correct(h, vec![lot.clone()], vec![fix]));
    assert_eq!(
        w.reject(bad),
        ValidationError::NotInDeps {
            what: format!("the record declared erroneous ({})", h.short())
        }
    );
    let r = w.draft(
        "farm",
        vec![h],
        correct(h, vec![lot.clone()], vec![fix, Hash([7; 32])]),
    );
    assert_eq!(
        w.reject(r),
        ValidationError::NotInDeps {
            what: format!("corrective record {}", Hash([7; 32]).short())
        }
    );
    let r = w.draft("farm", vec![h], correct(h, vec![fixed.clone()], vec![]));
    assert!(
        matches!(w.reject(r), ValidationError::BadCorrection { record, ref why } if record == h && why.contains("L1-FIX"))
    );
    let r = w.draft("farm", vec![h], correct(h, vec![lot.clone()], vec![h]));
    assert!(
        matches!(w.reject(r), ValidationError::BadCorrection { ref why, .. } if why.contains("itself"))
    );
    let declared = w.accept("farm", vec![h], correct(h, vec![lot.clone()], vec![fix]));
    // The declaration travels with the lot.
    assert!(w.ledger.lot_records(&lot).unwrap().contains(&declared));
    // A declaration cannot itself be declared erroneous.
    let r = w.draft("farm", vec![], correct(declared, vec![lot], vec![]));
    assert!(
        matches!(w.reject(r), ValidationError::BadCorrection { ref why, .. } if why.contains("itself a declaration"))
    );
}

#[test]
fn nobody_declares_another_participants_record_erroneous() {
    let mut w = world();
    let (lot, h) = harvested(&mut w, "L1", 1000);
    let r = w.draft("proc", vec![h], correct(h, vec![lot], vec![]));
    assert!(
        matches!(w.reject(r), ValidationError::BadCorrection { ref why, .. } if why.contains("another participant"))
    );
}
