//! Trace bundles hold together: every lot of a generated history exports a
//! bundle that verifies and shows the journey the ledger shows; a bundle
//! missing any record one of its records names is refused, naming it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::time::Instant;

use ledger_core::bundle::{self, Bundle};
use ledger_core::event::{Event, LotId};
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::query;
use ledger_core::record::SignedRecord;
use ledger_core::store::MemoryStore;
use ledger_core::workload::{self, Shape, Workload};
use ledger_core::Hash;

const NOW: u64 = workload::T0 + 1_000_000_000;

fn ledger_of(records: usize) -> (Workload, Ledger<MemoryStore>) {
    let w = workload::generate(Shape::for_records(records));
    let config = LedgerConfig {
        pending_capacity: 100_000,
        // Records wait for their authors' enrollments in any order here.
        stranger_capacity: 100_000,
        stranger_bytes: u64::MAX,
        ..LedgerConfig::default()
    };
    let mut l = Ledger::create(MemoryStore::new(), w.genesis.clone(), config).unwrap();
    let report = l.ingest(w.records.clone(), NOW).unwrap();
    for (h, o) in &report.outcomes {
        assert_eq!(*o, Outcome::Accepted, "record {h}");
    }
    (w, l)
}

/// Every lot of the history: harvests, products, and any other lot a
/// record creates.
fn every_lot(w: &Workload) -> Vec<LotId> {
    let mut lots: BTreeSet<LotId> = w
        .harvest_lots
        .iter()
        .chain(&w.product_lots)
        .cloned()
        .collect();
    for r in &w.records {
        for (code, _, _) in r.record.event.created_lots() {
            lots.insert(LotId {
                source: r.record.author,
                code: code.to_owned(),
            });
        }
    }
    lots.into_iter().collect()
}

/// Median and largest of a list of sizes.
fn median_max(mut v: Vec<usize>) -> (usize, usize) {
    v.sort_unstable();
    (v[v.len() / 2], v[v.len() - 1])
}

/// Exports and verifies the bundle of every lot of a 10,000-record history,
/// on every core: each verifies, and the journey it shows is the one the
/// ledger shows (the records the closure adds are not journey events).
///
/// Slow by nature: the bundles hold ~7.3 million records between them
/// (median 2,809, max 6,687), each signature checked once per bundle, so
/// about 4 minutes of CPU in a debug build (~36 µs a record, half of it
/// the signature batch): 2 minutes on two idle cores. Checkpoints, which will let a bundle prove a
/// chain prefix instead of carrying it, are what will make it fast.
#[test]
fn every_lot_of_a_10k_history_exports_a_bundle_that_verifies() {
    let started = Instant::now();
    let (w, l) = ledger_of(10_000);
    let lots = every_lot(&w);
    assert!(!w.harvest_lots.is_empty() && !w.product_lots.is_empty());
    let overlays = l.overlays().unwrap();
    let network = l.network();
    let built = started.elapsed();

    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    let chunk = lots.len().div_ceil(workers);
    let sizes: Vec<(usize, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = lots
            .chunks(chunk)
            .map(|part| {
                let (l, overlays) = (&l, &overlays);
                s.spawn(move || {
                    let mut sizes = Vec::with_capacity(part.len());
                    for lot in part {
                        let b = bundle::export(l, lot)
                            .unwrap()
                            .expect("lot is in the ledger");
                        let bytes = b.encode();
                        let v = bundle::verify(&bytes, &network);
                        assert!(v.verified(), "lot {lot}: {:?}", v.failure());
                        let shown: Vec<Hash> =
                            v.trace.unwrap().events.iter().map(|e| e.hash).collect();
                        let want: Vec<Hash> = query::trace(l, overlays, lot)
                            .unwrap()
                            .unwrap()
                            .events
                            .iter()
                            .map(|e| e.hash)
                            .collect();
                        assert_eq!(shown, want, "lot {lot}: the journey differs");
                        sizes.push((b.records.len(), bytes.len()));
                    }
                    sizes
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let (median_records, max_records) = median_max(sizes.iter().map(|s| s.0).collect());
    let (median_bytes, max_bytes) = median_max(sizes.iter().map(|s| s.1).collect());
    eprintln!(
        "{} records, {} lots: bundle records median {median_records} max {max_records}, \
         bytes median {median_bytes} max {max_bytes}; ledger built in {built:?}, \
         all bundles in {:?}",
        w.records.len(),
        lots.len(),
        started.elapsed() - built
    );
}

/// A bundle of `lot` from a small history.
fn small_bundle(l: &Ledger<MemoryStore>, lot: &LotId) -> Bundle {
    bundle::export(l, lot).unwrap().unwrap()
}

/// A harvest lot that was inspected, observed and blended with another lot.
fn blended_observed_inspected(w: &Workload) -> LotId {
    let mut observed = BTreeSet::new();
    let mut inspected = BTreeSet::new();
    let mut blended = BTreeSet::new();
    for r in &w.records {
        match &r.record.event {
            Event::Observe { lot, .. } => {
                observed.insert(lot.clone());
            }
            Event::Inspect { lot, .. } => {
                inspected.insert(lot.clone());
            }
            Event::Transform { inputs, .. } if inputs.len() > 1 => {
                blended.extend(inputs.iter().map(|i| i.lot.clone()));
            }
            _ => {}
        }
    }
    // From the middle of the history, so its bundle holds longer chains.
    let all: Vec<&LotId> = w
        .harvest_lots
        .iter()
        .filter(|l| observed.contains(*l) && inspected.contains(*l) && blended.contains(*l))
        .collect();
    assert!(!all.is_empty(), "the history has such a lot");
    all[all.len() / 2].clone()
}

/// The bug: the bundle of a lot that went into a multi-input blend held the
/// blend, but not the creation of the blend's other inputs, and failed its
/// own check ("transform … consumes lot …, whose creation is absent").
#[test]
fn regression_bundle_of_a_blended_lot_lacked_the_other_inputs_creation() {
    let (w, l) = ledger_of(600);
    let lot = blended_observed_inspected(&w);
    let b = small_bundle(&l, &lot);
    let v = bundle::verify(&b.encode(), &l.network());
    assert!(v.verified(), "{:?}", v.failure());
    // The journey still shows the blend that consumed the lot.
    let trace = v.trace.unwrap();
    assert!(trace
        .events
        .iter()
        .any(|e| matches!(&e.event, Event::Transform { inputs, .. } if inputs.len() > 1)));
}

/// What the records of `records` name: (named record, what names it).
/// Written here from the records alone, apart from the code under test.
fn names(records: &[SignedRecord]) -> Vec<(Hash, &'static str)> {
    let mut out = Vec::new();
    for r in records {
        let rec = &r.record;
        out.extend(rec.prev.map(|p| (p, "prev")));
        out.extend(rec.deps.iter().map(|d| (*d, "dep")));
        match &rec.event {
            Event::Receive { shipment, .. } => out.push((*shipment, "shipment")),
            Event::Transform { inputs, .. } => {
                for i in inputs {
                    for c in records {
                        let creates = c.record.author == i.lot.source
                            && c.record
                                .event
                                .created_lots()
                                .iter()
                                .any(|(code, _, _)| *code == i.lot.code);
                        if creates {
                            out.push((c.hash(), "input creation"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Removes each record of a bundle in turn: every removal of a record that
/// another record of the bundle names (prev, dep, receipt's shipment, input
/// creation) is refused by the completeness check, naming that record by
/// its short hash (or, named only as an input's creation, the lot it
/// created); never a full hash.
///
/// Records that nothing in the bundle names — the last record of a chain
/// there — may be removed and the rest still verify: nothing inside a
/// bundle can show that a later record existed. Checkpoints (a later
/// change) will let a bundle prove its authors' chain heads.
#[test]
fn removing_any_named_record_is_refused_naming_it() {
    let (w, l) = ledger_of(600);
    // A harvest lot blended with another, and the blend's product.
    let harvest = blended_observed_inspected(&w);
    let product = w
        .product_lots
        .iter()
        .find(|p| query::upstream_lots(&l, p).unwrap().contains(&harvest))
        .expect("the blend's product")
        .clone();
    for lot in [harvest, product] {
        removals_are_refused(&l, &small_bundle(&l, &lot));
    }
}

fn removals_are_refused(l: &Ledger<MemoryStore>, b: &Bundle) {
    let network = l.network();
    assert!(bundle::verify(&b.encode(), &network).verified());
    let mut refused = 0;
    let mut unnamed = 0;
    for i in 0..b.records.len() {
        let gone = &b.records[i];
        let gone_hash = gone.hash();
        let mut bad = b.clone();
        bad.records.remove(i);
        let named: Vec<&str> = names(&bad.records)
            .into_iter()
            .filter(|(h, _)| *h == gone_hash)
            .map(|(_, why)| why)
            .collect();
        let v = bundle::verify(&bad.encode(), &network);
        if named.is_empty() {
            unnamed += 1;
            continue;
        }
        let f = v
            .failure()
            .unwrap_or_else(|| panic!("removing {gone_hash:?} (named as {named:?}) verified"));
        assert_eq!(f.name, "complete", "removing {gone_hash:?}: {f:?}");
        assert!(!f.detail.contains(&gone_hash.to_hex()), "{}", f.detail);
        if named.iter().any(|n| *n != "input creation") {
            assert!(
                f.detail.contains(&format!("{}…", gone_hash.short())),
                "removing {gone_hash:?} ({named:?}): {}",
                f.detail
            );
        } else {
            let created = gone.record.event.created_lots();
            assert!(
                created.iter().any(|(c, _, _)| f.detail.contains(c)),
                "removing {gone_hash:?} ({named:?}): {}",
                f.detail
            );
        }
        refused += 1;
    }
    eprintln!(
        "{} records: {refused} removals refused, {unnamed} unnamed",
        b.records.len()
    );
    assert!(refused > 10, "{refused} refused");
}

/// Dropping the carrier's observation of the lot (what shows an excursion)
/// is refused when a later record of the carrier in the bundle names it;
/// the detail speaks the reader's terms: kind, short hash, seq and name.
#[test]
fn a_dropped_observation_is_named_with_its_author_and_seq() {
    let (w, l) = ledger_of(600);
    // A blend's product: the journey shows its inputs' observations, the
    // earlier of which the carrier's later observation names as its prev.
    let b = small_bundle(&l, &w.product_lots[w.product_lots.len() / 2]);
    let named: BTreeSet<Hash> = names(&b.records).into_iter().map(|(h, _)| h).collect();
    let v = bundle::verify(&b.encode(), &l.network());
    let journey: BTreeSet<Hash> = v.trace.unwrap().events.iter().map(|e| e.hash).collect();
    let (i, observe) = b
        .records
        .iter()
        .enumerate()
        .find(|(_, r)| {
            matches!(&r.record.event, Event::Observe { .. })
                && journey.contains(&r.hash())
                && named.contains(&r.hash())
        })
        .expect("an observation in the journey that a later record names");
    let mut bad = b.clone();
    bad.records.remove(i);
    let v = bundle::verify(&bad.encode(), &l.network());
    let f = v.failure().expect("refused");
    assert_eq!(f.name, "complete");
    let want = format!(
        "prev {}… (seq {} of carrier ",
        observe.hash().short(),
        observe.record.seq
    );
    assert!(f.detail.contains(&want), "{} lacks {want}", f.detail);
    assert!(f
        .detail
        .ends_with("the record before it) is missing from the bundle"));
}
