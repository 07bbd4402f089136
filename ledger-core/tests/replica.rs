//! What a local replica relies on: a key's lineage digest is the same on
//! every ledger holding the same records, whatever order they arrived in,
//! and changes only when the key's causal past does; and a record signed
//! by a revoked key after its last trusted seq is refused at submission
//! but stored (flagged) by replication.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::event::{Event, Role};
use ledger_core::graph::MemGraph;
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::overlay::Flag;
use ledger_core::query::{lineage_digest, Lineage, LINEAGE_TAG};
use ledger_core::record::SignedRecord;
use ledger_core::store::MemoryStore;
use ledger_core::{Hash, ValidationError};

mod common;

use common::{g, here, World, NOW};

fn world() -> World {
    World::with_cast(
        "replica test",
        &[
            ("farm", Role::Farm),
            ("farm2", Role::Farm),
            ("proc", Role::Processor),
        ],
    )
}

fn harvest(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: ledger_core::event::Product {
            description: "tea".into(),
            gtin: None,
        },
        quantity: g(1000),
        location: here(),
        reference: None,
    }
}

/// Every record of `w`'s ledger, in its log order.
fn all_records(w: &World) -> Vec<SignedRecord> {
    let mut out = Vec::new();
    w.ledger
        .for_each_record(|_, bytes| {
            out.push(SignedRecord::decode(bytes).unwrap());
            true
        })
        .unwrap();
    out
}

#[test]
fn lineage_digest_is_the_same_whatever_the_arrival_order() {
    let mut w = world();
    let l1 = w.harvest_lot("farm", "L1", 1000);
    let (ship, _) = w.ship_lot("farm", &l1, 400, "proc");
    w.receive_lot("proc", ship, &l1, 400);
    w.accept("farm2", vec![], harvest("OTHER"));
    let farm = w.pk("farm");
    let proc_ = w.pk("proc");

    // The same records, arriving newest first: they wait in the pending
    // pool until their causes land.
    let mut records = all_records(&w);
    records.reverse();
    let mut other = Ledger::create(
        MemoryStore::new(),
        w.genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    other.ingest(records.clone(), NOW).unwrap();
    assert_eq!(other.len(), w.ledger.len());
    let graph = MemGraph::new(&w.genesis, records);

    for key in [farm, proc_, w.pk("farm2"), w.pk("reg")] {
        let here = lineage_digest(&w.ledger, &key).unwrap().unwrap();
        assert_eq!(lineage_digest(&other, &key).unwrap(), Some(here));
        assert_eq!(lineage_digest(&graph, &key).unwrap(), Some(here));
    }

    // The digest is the tagged hash of the sorted closure: the receiver's
    // closure holds its own records, the shipment and the farm's chain up
    // to it, both enrollments and the regulator's chain up to its own.
    let p = lineage_digest(&w.ledger, &proc_).unwrap().unwrap();
    let f = lineage_digest(&w.ledger, &farm).unwrap().unwrap();
    assert!(p.records > f.records, "{p:?} {f:?}");
    let mut sha = Vec::from(LINEAGE_TAG);
    let mut closure: Vec<Hash> = all_records(&w)
        .iter()
        .filter(|r| r.record.author == farm)
        .map(SignedRecord::hash)
        .collect();
    // The farm's chain depends on its enrollment, whose prev chain is the
    // regulator's first record (the farm is enrolled first).
    let enroll = w.enrolled[&farm];
    closure.push(enroll);
    closure.sort();
    for h in &closure {
        sha.extend_from_slice(&h.0);
    }
    assert_eq!(
        f,
        Lineage {
            records: closure.len() as u64,
            digest: Hash::of(&sha),
        }
    );

    // A key with no chain has no lineage.
    assert_eq!(
        lineage_digest(&w.ledger, &ledger_core::PublicKey([7; 32])).unwrap(),
        None
    );
}

#[test]
fn lineage_digest_changes_only_with_the_keys_causal_past() {
    let mut w = world();
    w.harvest_lot("farm", "L1", 1000);
    let farm = w.pk("farm");
    let before = lineage_digest(&w.ledger, &farm).unwrap().unwrap();

    // Another author's record is not in the farm's causal past.
    w.accept("farm2", vec![], harvest("OTHER"));
    assert_eq!(lineage_digest(&w.ledger, &farm).unwrap(), Some(before));

    // One more record of the farm is.
    w.accept("farm", vec![], harvest("L2"));
    let after = lineage_digest(&w.ledger, &farm).unwrap().unwrap();
    assert_ne!(after.digest, before.digest);
    assert_eq!(after.records, before.records + 1);
}

#[test]
fn a_revoked_keys_later_record_is_refused_at_submission_but_replicated() {
    let mut w = world();
    w.accept("farm", vec![], harvest("L1")); // seq 0
    let farm = w.pk("farm");
    let revocation = w.accept(
        "reg",
        vec![],
        Event::Revoke {
            key: farm,
            last_trusted_seq: Some(1),
            reason: "key stolen".into(),
        },
    );

    // Seq 1 is still trusted: submitted, it is accepted.
    let trusted = w.draft("farm", vec![], harvest("L2"));
    assert_eq!(
        w.ledger.admit(std::slice::from_ref(&trusted)).unwrap(),
        vec![Ok(())]
    );
    w.accept("farm", vec![], harvest("L2"));

    // Seq 2 is not: refused, with the revocation named, and not stored.
    let late = w.draft("farm", vec![], harvest("L3"));
    assert_eq!(late.record.seq, 2);
    let len = w.ledger.len();
    let report = w.ledger.submit(vec![late.clone()], NOW).unwrap();
    let error = ValidationError::KeyRevoked {
        key: farm,
        last_trusted_seq: Some(1),
        revocation,
    };
    assert_eq!(
        report.outcomes,
        vec![(
            late.hash(),
            Outcome::Rejected {
                error: error.clone()
            }
        )]
    );
    assert_eq!(w.ledger.len(), len);
    assert_eq!(
        error.to_string(),
        format!(
            "the key was revoked by a regulator (revocation {}): records after its record #1 are not accepted",
            revocation.short()
        )
    );

    // The same record arriving by replication is stored, and flagged: the
    // overlay rule, so every node converges on the same records.
    assert_eq!(
        w.ledger.ingest_one(late.clone(), NOW).unwrap(),
        Outcome::Accepted
    );
    let flags = w.ledger.overlays().unwrap().flags(&late.hash());
    assert_eq!(flags, vec![Flag::Revoked { revocation }]);
}

#[test]
fn a_revocation_trusting_nothing_refuses_every_record() {
    let mut w = world();
    let farm = w.pk("farm");
    let revocation = w.accept(
        "reg",
        vec![],
        Event::Revoke {
            key: farm,
            last_trusted_seq: None,
            reason: "never trusted".into(),
        },
    );
    let first = w.draft("farm", vec![], harvest("L1"));
    let verdicts = w.ledger.admit(&[first]).unwrap();
    let Err(e) = &verdicts[0] else {
        panic!("admitted: {verdicts:?}")
    };
    assert_eq!(
        *e,
        ValidationError::KeyRevoked {
            key: farm,
            last_trusted_seq: None,
            revocation
        }
    );
    assert!(
        e.to_string().ends_with("none of its records are accepted"),
        "{e}"
    );
    // Another key is not affected.
    let other = w.draft("farm2", vec![], harvest("L1"));
    assert_eq!(w.ledger.admit(&[other]).unwrap(), vec![Ok(())]);
}
