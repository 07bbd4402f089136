//! The rules of input uses and compliance-commitment certificates
//! (承诺达标合格证, issue 16): each builds the violating record and checks
//! the specific error and that nothing was stored; and a harvest inside a
//! pre-harvest safety interval is flagged, not refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::event::{
    Basis, Event, Location, LotAmount, LotId, NewLot, Product, Quantity, Role, Unit, Verdict,
};
use ledger_core::overlay::Overlays;
use ledger_core::query::{self, Warning};
use ledger_core::time::DAY_MS;
use ledger_core::{Hash, Outcome, ValidationError};

mod common;

use common::{g, World};

/// Late enough that no record of these tests waits for the clock.
const LATE: u64 = u64::MAX / 4;

fn world() -> World {
    World::with_cast(
        "certificate rules",
        &[
            ("farm", Role::Farm),
            ("farm2", Role::Farm),
            ("coop", Role::Processor),
            ("lab", Role::Lab),
            ("shop", Role::Retailer),
        ],
    )
}

fn field(name: &str) -> Location {
    Location {
        description: name.into(),
        gln: None,
    }
}

/// `deps` less `who`'s last record, which a record names as its prev.
fn besides_prev(w: &World, who: &str, mut deps: Vec<Hash>) -> Vec<Hash> {
    if let Some(state) = w.ledger.key_state(&w.pk(who)).unwrap() {
        deps.retain(|d| *d != state.head);
    }
    deps
}

/// Signs `who`'s next record and expects it accepted.
fn put(w: &mut World, who: &str, deps: Vec<Hash>, event: Event) -> Hash {
    let time = w.tick();
    let deps = besides_prev(w, who, deps);
    let deps = w.deps(who, deps);
    let r = w.authors.get_mut(who).unwrap().sign(time, deps, event);
    let h = r.hash();
    assert_eq!(w.ledger.ingest_one(r, LATE).unwrap(), Outcome::Accepted);
    h
}

/// Signs `who`'s next record, expects it refused, and checks nothing
/// changed.
fn refuse(w: &mut World, who: &str, deps: Vec<Hash>, event: Event) -> ValidationError {
    let deps = besides_prev(w, who, deps);
    let r = w.draft(who, deps, event);
    let before = w.ledger.state_digest().unwrap();
    let outcome = w.ledger.ingest_one(r, LATE).unwrap();
    assert_eq!(w.ledger.state_digest().unwrap(), before);
    match outcome {
        Outcome::Rejected { error } => error,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn spray(ingredients: &[&str], plot: &str, days: u32) -> Event {
    Event::InputUse {
        product: "10% 吡虫啉可湿性粉剂".into(),
        ingredients: ingredients.iter().map(|i| (*i).to_owned()).collect(),
        registration: Some("PD20070101".into()),
        dose: Quantity::new(300, Unit::Gram),
        field: field(plot),
        safety_interval_days: days,
    }
}

fn harvest(code: &str, plot: &str, grams: u64) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "千岛湖茶 鲜叶 fresh tea leaf".into(),
            gtin: None,
        },
        quantity: g(grams),
        location: field(plot),
        reference: None,
    }
}

fn inspect(lot: &LotId, test: &str, verdict: Verdict) -> Event {
    Event::Inspect {
        lot: lot.clone(),
        test: test.into(),
        verdict,
        notes: String::new(),
        reference: None,
    }
}

fn certificate(
    lot: &LotId,
    grams: u64,
    basis: Basis,
    tests: Vec<Hash>,
    inputs: Vec<Hash>,
) -> Event {
    Event::Certificate {
        lot: lot.clone(),
        quantity: g(grams),
        origin: "浙江省杭州市淳安县 鸠坑乡".into(),
        contact: "0571-6500 1234".into(),
        basis,
        tests,
        inputs,
    }
}

const IMIDACLOPRID: &str = "吡虫啉 imidacloprid";
const CHLORPYRIFOS: &str = "毒死蜱 chlorpyrifos";

#[test]
fn an_input_use_names_what_was_used_and_where() {
    let mut w = world();
    let mut e = spray(&[], "3号地", 7);
    assert!(matches!(
        refuse(&mut w, "farm", vec![], e.clone()),
        ValidationError::BadText {
            field: "ingredients",
            ..
        }
    ));
    if let Event::InputUse {
        ingredients,
        safety_interval_days,
        ..
    } = &mut e
    {
        ingredients.push(IMIDACLOPRID.into());
        *safety_interval_days = 366;
    }
    assert!(matches!(
        refuse(&mut w, "farm", vec![], e.clone()),
        ValidationError::BadText { field: "safety interval", ref problem } if problem.contains("366")
    ));
    if let Event::InputUse {
        dose,
        safety_interval_days,
        ..
    } = &mut e
    {
        *safety_interval_days = 7;
        *dose = g(0);
    }
    assert_eq!(
        refuse(&mut w, "farm", vec![], e),
        ValidationError::ZeroQuantity { field: "dose" }
    );
    assert_eq!(
        refuse(&mut w, "lab", vec![], spray(&[IMIDACLOPRID], "3号地", 7)),
        ValidationError::RoleNotAllowed {
            role: Role::Lab,
            kind: ledger_core::EventKind::InputUse
        }
    );
    put(&mut w, "farm", vec![], spray(&[IMIDACLOPRID], "3号地", 7));
}

/// The farm's trace warnings of `code` about safety intervals.
fn interval_warnings(w: &World, code: &str) -> Vec<(LotId, u32)> {
    let overlays = Overlays::compute(&w.ledger).unwrap();
    let t = query::trace(&w.ledger, &overlays, &w.lot("farm", code))
        .unwrap()
        .unwrap();
    t.warnings
        .iter()
        .filter_map(|x| match x {
            Warning::SafetyInterval {
                lot, interval_days, ..
            } => Some((lot.clone(), *interval_days)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_harvest_inside_the_safety_interval_is_flagged_not_refused() {
    let mut w = world();
    put(&mut w, "farm", vec![], spray(&[IMIDACLOPRID], "3号地", 7));
    w.time += 3 * DAY_MS;
    // Picked three days after spraying: accepted, and flagged.
    put(&mut w, "farm", vec![], harvest("EARLY", "3号地", 5_000));
    assert_eq!(
        interval_warnings(&w, "EARLY"),
        vec![(w.lot("farm", "EARLY"), 7)]
    );
    // Another field the same day is not.
    put(&mut w, "farm", vec![], harvest("OTHER", "5号地", 5_000));
    assert!(interval_warnings(&w, "OTHER").is_empty());
    // Picked again on day five: still inside, though a harvest came between.
    w.time += 2 * DAY_MS;
    put(&mut w, "farm", vec![], harvest("AGAIN", "3号地", 5_000));
    assert_eq!(interval_warnings(&w, "AGAIN").len(), 1);
    // After the interval: clean.
    w.time += 3 * DAY_MS;
    put(&mut w, "farm", vec![], harvest("LATER", "3号地", 5_000));
    assert!(interval_warnings(&w, "LATER").is_empty());

    // A trace bundle of the early lot carries the spray, so an offline
    // verifier flags it too.
    let early = w.lot("farm", "EARLY");
    let bundle = ledger_core::bundle::export(&w.ledger, &early)
        .unwrap()
        .unwrap();
    let graph = ledger_core::graph::MemGraph::new(&w.genesis, bundle.records);
    let overlays = Overlays::compute(&graph).unwrap();
    let offline = query::trace(&graph, &overlays, &early).unwrap().unwrap();
    assert!(offline.warnings.iter().any(|x| matches!(
        x,
        Warning::SafetyInterval {
            interval_days: 7,
            ..
        }
    )));

    // The verdict on the early lot says so first, for the shopper.
    let overlays = Overlays::compute(&w.ledger).unwrap();
    let t = query::trace(&w.ledger, &overlays, &w.lot("farm", "EARLY"))
        .unwrap()
        .unwrap();
    let v = ledger_core::verdict::verdict(&t, &w.genesis, LATE);
    assert!(
        matches!(
            &v.finding,
            ledger_core::verdict::Finding::SafetyInterval {
                interval_days: 7,
                this_lot: true,
                ..
            }
        ),
        "{:?}",
        v.finding
    );
}

/// A farm that sprayed plot 3 with imidacloprid and chlorpyrifos, harvested
/// it after the interval (lot L1, 10 kg), and a lab's passing tests of
/// L1: one for imidacloprid only, one for both. Returns (L1's creation,
/// the partial test, the full test).
fn sprayed_and_tested(w: &mut World) -> (Hash, Hash, Hash) {
    put(
        w,
        "farm",
        vec![],
        spray(&[IMIDACLOPRID, CHLORPYRIFOS], "3号地", 7),
    );
    w.time += 10 * DAY_MS;
    let made = put(w, "farm", vec![], harvest("L1", "3号地", 10_000));
    let lot = w.lot("farm", "L1");
    let partial = put(
        w,
        "lab",
        vec![made],
        inspect(&lot, "农药残留 吡虫啉", Verdict::Pass),
    );
    let full = put(
        w,
        "lab",
        vec![made],
        inspect(
            &lot,
            "农药残留 pesticide residue: 吡虫啉、毒死蜱",
            Verdict::Pass,
        ),
    );
    (made, partial, full)
}

#[test]
fn only_the_holder_certifies_at_most_what_it_holds() {
    let mut w = world();
    let (made, _, _) = sprayed_and_tested(&mut w);
    let lot = w.lot("farm", "L1");
    assert_eq!(
        refuse(
            &mut w,
            "shop",
            vec![made],
            certificate(&lot, 1_000, Basis::QualityControl, vec![], vec![])
        ),
        ValidationError::NotHeld(lot.clone())
    );
    assert_eq!(
        refuse(
            &mut w,
            "farm",
            vec![made],
            certificate(&lot, 10_001, Basis::QualityControl, vec![], vec![])
        ),
        ValidationError::Overdraw {
            lot: lot.clone(),
            held: g(10_000),
            wanted: g(10_001)
        }
    );
    assert_eq!(
        refuse(
            &mut w,
            "lab",
            vec![made],
            certificate(&lot, 1_000, Basis::QualityControl, vec![], vec![])
        ),
        ValidationError::RoleNotAllowed {
            role: Role::Lab,
            kind: ledger_core::EventKind::Certificate
        }
    );
    // On quality control, with no test named, the holder may certify.
    put(
        &mut w,
        "farm",
        vec![made],
        certificate(&lot, 10_000, Basis::QualityControl, vec![], vec![]),
    );
}

#[test]
fn a_test_based_certificate_tests_for_what_was_used() {
    let mut w = world();
    let (made, partial, full) = sprayed_and_tested(&mut w);
    let lot = w.lot("farm", "L1");
    assert_eq!(
        refuse(
            &mut w,
            "farm",
            vec![made],
            certificate(&lot, 10_000, Basis::CommissionedTest, vec![], vec![])
        ),
        ValidationError::CertificateNeedsTest
    );
    // 用什么药、检什么药: the imidacloprid test misses chlorpyrifos.
    assert_eq!(
        refuse(
            &mut w,
            "farm",
            vec![made, partial],
            certificate(&lot, 10_000, Basis::CommissionedTest, vec![partial], vec![])
        ),
        ValidationError::CertificateUntested {
            missing: vec![CHLORPYRIFOS.to_owned()]
        }
    );
    // A test that is not in deps.
    assert!(matches!(
        refuse(
            &mut w,
            "farm",
            vec![made],
            certificate(&lot, 10_000, Basis::CommissionedTest, vec![full], vec![])
        ),
        ValidationError::NotInDeps { .. }
    ));
    // A failed test, and a test of another lot.
    let failed = put(
        &mut w,
        "lab",
        vec![made],
        inspect(&lot, "吡虫啉、毒死蜱", Verdict::Fail),
    );
    assert!(matches!(
        refuse(&mut w, "farm", vec![made, failed], certificate(&lot, 10_000, Basis::OwnTest, vec![failed], vec![])),
        ValidationError::CertificateTest { test, ref why } if test == failed && why.contains("failed")
    ));
    let other = put(&mut w, "farm2", vec![], harvest("M1", "9号地", 1_000));
    let other_lot = w.lot("farm2", "M1");
    let stray = put(
        &mut w,
        "lab",
        vec![other],
        inspect(&other_lot, "吡虫啉、毒死蜱", Verdict::Pass),
    );
    assert!(matches!(
        refuse(&mut w, "farm", vec![made, stray], certificate(&lot, 10_000, Basis::OwnTest, vec![stray], vec![])),
        ValidationError::CertificateTest { ref why, .. } if why.contains("neither")
    ));
    // A record that is no inspection.
    assert!(matches!(
        refuse(&mut w, "farm", vec![made, other], certificate(&lot, 10_000, Basis::OwnTest, vec![other], vec![])),
        ValidationError::CertificateTest { ref why, .. } if why.contains("not an inspection")
    ));
    // The test naming both is enough.
    put(
        &mut w,
        "farm",
        vec![made, full],
        certificate(&lot, 10_000, Basis::CommissionedTest, vec![full], vec![]),
    );
}

#[test]
fn a_blend_is_certified_from_the_certificates_of_every_input_lot() {
    let mut w = world();
    let (made, _, full) = sprayed_and_tested(&mut w);
    let l1 = w.lot("farm", "L1");
    let cert1 = put(
        &mut w,
        "farm",
        vec![made, full],
        certificate(&l1, 10_000, Basis::CommissionedTest, vec![full], vec![]),
    );
    let made2 = put(&mut w, "farm2", vec![], harvest("M1", "9号地", 4_000));
    let l2 = w.lot("farm2", "M1");
    let cert2 = put(
        &mut w,
        "farm2",
        vec![],
        certificate(&l2, 4_000, Basis::QualityControl, vec![], vec![]),
    );
    // Both go to the cooperative, which blends them.
    for (who, lot, grams) in [("farm", &l1, 10_000), ("farm2", &l2, 4_000)] {
        let ship = Event::Ship {
            lot: lot.clone(),
            quantity: g(grams),
            to: w.pk("coop"),
            from: field(who),
            destination: field("合作社"),
            reference: None,
        };
        let ship = put(&mut w, who, vec![], ship);
        let receive = Event::Receive {
            shipment: ship,
            lot: lot.clone(),
            quantity: g(grams),
            location: field("合作社"),
            reference: None,
        };
        put(&mut w, "coop", vec![ship], receive);
    }
    let blend = put(
        &mut w,
        "coop",
        vec![],
        Event::Transform {
            process: "blend 拼配".into(),
            inputs: vec![
                LotAmount {
                    lot: l1.clone(),
                    quantity: g(10_000),
                },
                LotAmount {
                    lot: l2.clone(),
                    quantity: g(4_000),
                },
            ],
            outputs: vec![NewLot {
                code: "BLEND-1".into(),
                product: Product {
                    description: "千岛湖茶 拼配鲜叶".into(),
                    gtin: None,
                },
                quantity: g(14_000),
            }],
            loss: 0,
            location: field("合作社"),
            reference: None,
        },
    );
    let lot = w.lot("coop", "BLEND-1");
    // Without the certificate of M1, refused naming M1.
    assert_eq!(
        refuse(
            &mut w,
            "coop",
            vec![cert1],
            certificate(&lot, 14_000, Basis::QualityControl, vec![], vec![cert1])
        ),
        ValidationError::CertificateMissingInput { lot: l2.clone() }
    );
    // A record that is no certificate, named as one.
    assert!(matches!(
        refuse(&mut w, "coop", vec![cert1, made2], certificate(&lot, 14_000, Basis::QualityControl, vec![], vec![cert1, made2])),
        ValidationError::WrongDep { dep, .. } if dep == made2
    ));
    put(
        &mut w,
        "coop",
        vec![cert1, cert2],
        certificate(
            &lot,
            14_000,
            Basis::QualityControl,
            vec![],
            vec![cert1, cert2],
        ),
    );
    // A test-based certificate of the blend may rest on the test of an
    // input lot, when its deps reach the harvests (to know the fields);
    // the test covers plot 3's sprays, and plot 9 had none.
    let without_harvests = refuse(
        &mut w,
        "coop",
        vec![blend, cert1, cert2, full],
        certificate(
            &lot,
            14_000,
            Basis::CommissionedTest,
            vec![full],
            vec![cert1, cert2],
        ),
    );
    assert!(
        matches!(without_harvests, ValidationError::NotInDeps { ref what } if what.contains("fields its lot came from")),
        "{without_harvests:?}"
    );
    put(
        &mut w,
        "coop",
        vec![blend, cert1, cert2, made, made2, full],
        certificate(
            &lot,
            14_000,
            Basis::CommissionedTest,
            vec![full],
            vec![cert1, cert2],
        ),
    );
}

#[test]
fn a_certificate_of_a_lot_made_from_none_names_no_input() {
    let mut w = world();
    let (made, _, _) = sprayed_and_tested(&mut w);
    let other = put(&mut w, "farm2", vec![], harvest("M1", "9号地", 4_000));
    let m1 = w.lot("farm2", "M1");
    let cert2 = put(
        &mut w,
        "farm2",
        vec![],
        certificate(&m1, 4_000, Basis::QualityControl, vec![], vec![]),
    );
    let _ = other;
    let lot = w.lot("farm", "L1");
    assert!(matches!(
        refuse(&mut w, "farm", vec![made, cert2], certificate(&lot, 1_000, Basis::QualityControl, vec![], vec![cert2])),
        ValidationError::WrongDep { dep, ref why } if dep == cert2 && why.contains("made from no other lot")
    ));
}

#[test]
fn a_registration_code_is_checked_and_names_an_enrolled_participant() {
    let mut w = world();
    let coop = w.pk("coop");
    let enrolled = w.enrolled[&coop];
    let identify = |uscc: &str| Event::Identify {
        participant: coop,
        uscc: uscc.into(),
    };
    // One mistyped character.
    assert_eq!(
        refuse(
            &mut w,
            "reg",
            vec![enrolled],
            identify("93330127MA2B0X1Q6N")
        ),
        ValidationError::Uscc(ledger_core::china::UsccError::CheckCharacter {
            code: "93330127MA2B0X1Q6N".into(),
            found: 'N',
            expected: 'M'
        })
    );
    assert!(matches!(
        refuse(&mut w, "reg", vec![enrolled], identify("9333")),
        ValidationError::Uscc(ledger_core::china::UsccError::Length { len: 4, .. })
    ));
    // Without the enrollment among its deps.
    let stranger = put(&mut w, "farm", vec![], harvest("X", "1号地", 1));
    assert!(matches!(
        refuse(&mut w, "reg", vec![stranger], identify("93330127MA2B0X1Q6M")),
        ValidationError::NotInDeps { ref what } if what.contains("enrollment")
    ));
    // Only a regulator records one.
    assert_eq!(
        refuse(
            &mut w,
            "farm",
            vec![enrolled],
            identify("93330127MA2B0X1Q6M")
        ),
        ValidationError::RoleNotAllowed {
            role: Role::Farm,
            kind: ledger_core::EventKind::Identify
        }
    );
    put(
        &mut w,
        "reg",
        vec![enrolled],
        identify("93330127MA2B0X1Q6M"),
    );
    let listed = w.ledger.participants().unwrap();
    let p = listed.iter().find(|p| p.key == coop).unwrap();
    assert_eq!(p.uscc.as_deref(), Some("93330127MA2B0X1Q6M"));
}
