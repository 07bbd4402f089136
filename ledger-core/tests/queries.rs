//! Queries over a small stored ledger: what a recall must reach, with the
//! goods still on the road.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::event::Role;
use ledger_core::graph::{Graph, MemGraph};
use ledger_core::reach::{self, Holding};

mod common;

use common::{g, place, World};

/// A regulator, a farm, a processor and a retailer on one ledger.
impl World {
    fn new() -> Self {
        World::with_cast(
            "queries test",
            &[
                ("鸠坑茶园", Role::Farm),
                ("合作社", Role::Processor),
                ("鲜生超市", Role::Retailer),
            ],
        )
    }

    fn holding(&self, who: &str, grams: u64) -> Holding {
        Holding {
            participant: self.pk(who),
            name: Some(who.to_owned()),
            quantity: g(grams),
        }
    }
}

/// The regression of "trace --downstream leaves out goods on the road": a
/// shipment with no receive is listed as in transit, from the shipper to
/// the recipient, by name, with its quantity and ship time.
#[test]
fn recall_reach_lists_a_shipment_not_yet_received() {
    let mut w = World::new();
    let leaf = w.harvest_lot("鸠坑茶园", "JK-0401", 120_000);
    let (ship, shipped_at) = w.ship_lot("鸠坑茶园", &leaf, 20_000, "合作社");

    let r = reach::recall_reach(&w.ledger, &leaf).unwrap();
    assert_eq!(r.lot.lot, leaf);
    assert_eq!(r.lot.holders, [w.holding("鸠坑茶园", 100_000)]);
    assert_eq!(r.lot.in_transit.len(), 1, "{r:?}");
    let t = &r.lot.in_transit[0];
    assert_eq!(t.shipment, ship);
    assert_eq!((t.from, t.to), (w.pk("鸠坑茶园"), w.pk("合作社")));
    assert_eq!(t.from_name.as_deref(), Some("鸠坑茶园"));
    assert_eq!(t.to_name.as_deref(), Some("合作社"));
    assert_eq!(t.quantity, g(20_000));
    assert_eq!(t.shipped_at, shipped_at);
    assert_eq!(t.destination, place("合作社"));
    assert!(r.downstream.is_empty());

    // The same answer from the records alone, over an in-memory graph.
    let mut hashes = Vec::new();
    w.ledger
        .for_each_record(|h, _| {
            hashes.push(h);
            true
        })
        .unwrap();
    let records = hashes.iter().map(|h| w.ledger.record(h).unwrap().unwrap());
    let graph = MemGraph::new(&w.genesis, records);
    assert_eq!(reach::in_transit(&graph, &leaf).unwrap(), r.lot.in_transit);
}

/// Once the recipient receives the shipment it is no longer on the road,
/// even when it records less than was shipped (the rest is transit loss),
/// and the recipient is listed as a holder instead.
#[test]
fn recall_reach_drops_a_shipment_once_received() {
    let mut w = World::new();
    let leaf = w.harvest_lot("鸠坑茶园", "JK-0401", 120_000);
    let (ship, _) = w.ship_lot("鸠坑茶园", &leaf, 20_000, "合作社");
    w.receive_lot("合作社", ship, &leaf, 19_500);

    let r = reach::recall_reach(&w.ledger, &leaf).unwrap();
    assert!(r.lot.in_transit.is_empty(), "{r:?}");
    assert_eq!(
        r.lot.holders,
        [w.holding("鸠坑茶园", 100_000), w.holding("合作社", 19_500)]
    );
    assert_eq!(r.in_transit().count(), 0);
}

/// Goods made from the lot and on their way to a shop are reached too:
/// the downstream lot lists its own shipment in transit.
#[test]
fn recall_reach_lists_downstream_lots_in_transit() {
    let mut w = World::new();
    let (leaf, tea) = w.leaves_to_tea();
    let (to_shop, _) = w.ship_lot("合作社", &tea, 20_000, "鲜生超市");

    let r = reach::recall_reach(&w.ledger, &leaf).unwrap();
    assert!(r.lot.holders.is_empty() && r.lot.in_transit.is_empty());
    assert_eq!(r.downstream.len(), 1);
    let d = &r.downstream[0];
    assert_eq!(d.lot, tea);
    assert_eq!(d.holders, [w.holding("合作社", 10_000)]);
    let on_road: Vec<_> = r
        .in_transit()
        .map(|(l, t)| (l.clone(), t.shipment))
        .collect();
    assert_eq!(on_road, [(tea.clone(), to_shop)]);

    w.receive_lot("鲜生超市", to_shop, &tea, 20_000);
    let r = reach::recall_reach(&w.ledger, &leaf).unwrap();
    assert_eq!(r.in_transit().count(), 0);
    assert_eq!(
        r.downstream[0].holders,
        [w.holding("合作社", 10_000), w.holding("鲜生超市", 20_000)]
    );
}

/// An enrolled stranger may sign an observation or link a document
/// naming any lot (neither moves custody), but a made-up cold-chain
/// excursion on another brand's lot must not reach its page: the trace
/// leaves out such records by anyone who never made, shipped, received or
/// was sent the lot, and lists them for an auditor. The lot's own parties
/// still count, the recipient included before it receives.
#[test]
fn strangers_observations_and_documents_stay_off_the_trace() {
    use ledger_core::event::{Action, LotAmount, Reading, RefDoc, SensorKind};
    use ledger_core::query::{self, Warning};
    let mut w = World::with_cast(
        "strangers test",
        &[
            ("鸠坑茶园", Role::Farm),
            ("合作社", Role::Processor),
            ("鲜生超市", Role::Retailer),
            ("浙冷链", Role::Logistics),
        ],
    );
    let leaf = w.harvest_lot("鸠坑茶园", "JK-0401", 120_000);
    let (ship, _) = w.ship_lot("鸠坑茶园", &leaf, 20_000, "合作社");
    let warm = |value| ledger_core::event::Event::Observe {
        lot: leaf.clone(),
        location: place("truck"),
        readings: vec![Reading {
            time: common::T,
            kind: SensorKind::Temperature,
            value,
            min: 0,
            max: 8_000,
        }],
    };
    let creation = ledger_core::query::creation(&w.ledger, &leaf)
        .unwrap()
        .unwrap();
    // The shop never had the lot: its excursion and its document.
    let fake = w.accept("鲜生超市", vec![creation], warm(35_000));
    let linked = w.accept(
        "鲜生超市",
        vec![creation],
        ledger_core::event::Event::Transact {
            action: Action::Add,
            documents: vec![RefDoc {
                kind: "invoice".into(),
                number: "FAKE-1".into(),
            }],
            lots: vec![LotAmount {
                lot: leaf.clone(),
                quantity: g(1_000),
            }],
            location: place("shop"),
        },
    );
    // A logistics firm's truck readings count for the shipment it names
    // as carried, not for the lot at large.
    let idle = w.accept("浙冷链", vec![creation], warm(30_000));
    let truck = w.accept("浙冷链", vec![creation, ship], warm(6_000));
    // The cooperative the leaf was sent to reads its logger on arrival.
    let arrival = w.accept("合作社", vec![ship, creation], warm(9_000));

    let overlays = w.ledger.overlays().unwrap();
    let t = query::trace(&w.ledger, &overlays, &leaf).unwrap().unwrap();
    let shown: Vec<_> = t.events.iter().map(|e| e.hash).collect();
    assert!(
        !shown.contains(&fake) && !shown.contains(&linked),
        "{shown:?}"
    );
    assert!(
        shown.contains(&arrival) && shown.contains(&truck),
        "{shown:?}"
    );
    assert!(!shown.contains(&idle), "{shown:?}");
    let excursions: Vec<_> = t
        .warnings
        .iter()
        .filter_map(|x| match x {
            Warning::Excursion { record, .. } => Some(*record),
            _ => None,
        })
        .collect();
    assert_eq!(excursions, [arrival]);
    let mut left_out: Vec<_> = t.left_out.iter().map(|e| e.hash).collect();
    left_out.sort();
    let mut want = vec![fake, linked, idle];
    want.sort();
    assert_eq!(left_out, want);

    // The farm's own observation is its own lot's.
    let own = w.accept("鸠坑茶园", vec![creation], warm(4_000));
    let t = query::trace(&w.ledger, &overlays, &leaf).unwrap().unwrap();
    assert!(t.events.iter().any(|e| e.hash == own));
}
