//! The transparency log a ledger keeps as checkpoints are applied: the
//! same root on every node whatever order it took the records in, proofs
//! that verify against the checkpoint, the status map and its proofs, late
//! records, restarts, and checkpoints refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::event::{
    Event, LotAmount, LotId, NewLot, Product, Reading, Role, SensorKind, Verdict,
};
use ledger_core::ledger::{Applied, ApplyError, Ledger, LedgerConfig};
use ledger_core::merkle;
use ledger_core::record::SignedRecord;
use ledger_core::store::{MemoryStore, SledStore, Store};
use ledger_core::tlog::map::{lot_key, StatusKind};
use ledger_core::tlog::record_leaf;
use ledger_core::workload::{self, key_for, Shape};
use ledger_core::{Hash, SigningKey};

mod common;

use common::{g, place, World, NOW};

/// The time checkpoints are made at in these tests.
const AT: u64 = 1_760_000_000_000;

/// Proposes the next checkpoint of everything `ledger` holds, signed by
/// `key` (the only authority: k = 1), and applies it.
fn checkpoint_all<S: Store>(
    ledger: &mut Ledger<S>,
    key: &SigningKey,
) -> (SignedCheckpoint, Vec<Hash>) {
    let tips = ledger.unlogged_tips().unwrap();
    let ext = ledger.extend_log(&tips).unwrap();
    let c = ext.checkpoint(ledger.network(), AT + ext.height);
    let signed = SignedCheckpoint::propose(c, key);
    let applied = ledger.apply_checkpoint(&signed, &tips, Some(&ext)).unwrap();
    assert_eq!(
        applied,
        Applied::Extended {
            records: ext.records.len() as u64
        }
    );
    (signed, tips)
}

fn hashes(records: &[SignedRecord]) -> Vec<Hash> {
    records.iter().map(SignedRecord::hash).collect()
}

/// The root of a log holding `batches` of records, each batch in hash
/// order: what RFC 9162 gives, computed naively.
fn naive_root(batches: &[Vec<Hash>]) -> Hash {
    let mut leaves = Vec::new();
    for b in batches {
        let mut b = b.clone();
        b.sort();
        leaves.extend(b.iter().map(record_leaf));
    }
    merkle::root_of(&leaves)
}

/// Two nodes that took the same history in different batches compute the
/// same checkpoint, equal to the naive root; a second checkpoint appends
/// only what is new, and inclusion and consistency proofs verify.
#[test]
fn every_node_computes_the_same_log() {
    let w = workload::generate(Shape::for_records(3_000));
    let regulator = key_for("regulator", 0);
    let (first, rest) = w.records.split_at(2_000);
    let mut a = Ledger::create(
        MemoryStore::new(),
        w.genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    // Room in the pending pool for the whole history out of order.
    let roomy = LedgerConfig {
        stranger_capacity: 10_000,
        stranger_bytes: 64 << 20,
        ..LedgerConfig::default()
    };
    let mut b = Ledger::create(MemoryStore::new(), w.genesis.clone(), roomy).unwrap();
    a.ingest(first.to_vec(), NOW).unwrap();
    // B takes them in another order: last chunks first, so most wait in
    // the pending pool for their causes.
    for chunk in first.chunks(7).rev() {
        b.ingest(chunk.to_vec(), NOW).unwrap();
    }
    assert_eq!(b.len(), a.len());

    let (c1, tips1) = checkpoint_all(&mut a, &regulator);
    assert_eq!(c1.checkpoint.size, 2_000);
    assert_eq!(c1.checkpoint.root, naive_root(&[hashes(first)]));
    assert_eq!(
        b.apply_checkpoint(&c1, &tips1, None).unwrap(),
        Applied::Extended { records: 2_000 }
    );
    assert_eq!(b.log().checkpoint, a.log().checkpoint);

    a.ingest(rest.to_vec(), NOW).unwrap();
    b.ingest(rest.to_vec(), NOW).unwrap();
    let (c2, tips2) = checkpoint_all(&mut a, &regulator);
    assert_eq!(c2.checkpoint.size, w.records.len() as u64);
    assert_eq!(c2.checkpoint.prev, Some(c1.checkpoint.hash()));
    assert_eq!(
        c2.checkpoint.root,
        naive_root(&[hashes(first), hashes(rest)])
    );
    b.apply_checkpoint(&c2, &tips2, None).unwrap();
    assert_eq!(b.log().checkpoint, a.log().checkpoint);

    // Inclusion of records from both checkpoints, from either node.
    for r in [
        &w.records[0],
        &w.records[1_999],
        &w.records[2_000],
        w.records.last().unwrap(),
    ] {
        let h = r.hash();
        let (index, path) = b.inclusion(&h).unwrap().expect("logged");
        merkle::verify_inclusion(
            &record_leaf(&h),
            index,
            c2.checkpoint.size,
            &path,
            &c2.checkpoint.root,
        )
        .unwrap();
        assert_eq!(a.inclusion(&h).unwrap(), Some((index, path)));
    }
    // Consistency from the first to the second.
    let proof = a
        .consistency(c1.checkpoint.size, c2.checkpoint.size)
        .unwrap();
    merkle::verify_consistency(
        c1.checkpoint.size,
        c2.checkpoint.size,
        &c1.checkpoint.root,
        &c2.checkpoint.root,
        &proof,
    )
    .unwrap();
    // A batch proof for a bundle's worth of leaves.
    let indexes: Vec<u64> = (0..c2.checkpoint.size).step_by(97).collect();
    let proof = a.batch_inclusion(&indexes).unwrap();
    let leaves: Vec<(u64, Hash)> = indexes.iter().map(|i| (*i, tile_leaf(&a, *i))).collect();
    merkle::verify_batch(&leaves, c2.checkpoint.size, &proof, &c2.checkpoint.root).unwrap();
    // Nothing new: the cut is empty.
    assert_eq!(a.unlogged_tips().unwrap(), Vec::<Hash>::new());
}

/// The leaf at `index`, read from the entry tiles a node serves.
fn tile_leaf<S: Store>(ledger: &Ledger<S>, index: u64) -> Hash {
    let size = ledger.log().size();
    let row = index / 256;
    let width = (size - row * 256).min(256) as u16;
    let tile = ledger.entries_tile(row, width).unwrap().expect("tile");
    let at = (index % 256) as usize * 34;
    assert_eq!(&tile[at..at + 2], &[0, 32]);
    record_leaf(&Hash(tile[at + 2..at + 34].try_into().unwrap()))
}

/// The record that created the farm's lot JK-0401 (a recall names it).
fn created(w: &World) -> Hash {
    let lot = w.lot("鸠坑茶园", "JK-0401");
    ledger_core::query::creation(&w.ledger, &lot)
        .unwrap()
        .expect("created")
}

/// A cast for the status map: a farm, a processor, a retailer.
fn tea_world() -> World {
    World::with_cast(
        "checkpoint test",
        &[
            ("鸠坑茶园", Role::Farm),
            ("合作社", Role::Processor),
            ("鲜生超市", Role::Retailer),
        ],
    )
}

/// Leaves → tea at the processor; returns (leaf lot, tea lot).
fn leaves_to_tea(w: &mut World) -> (LotId, LotId) {
    w.leaves_to_tea()
}

/// A recall of the leaves reaches the tea made from them; the map proves
/// both, and proves a lot with nothing against it absent. A recall made
/// after the cut is not in the map until a later checkpoint appends it.
#[test]
fn the_status_map_proves_recalls_upstream_and_clean_lots() {
    let mut w = tea_world();
    let reg = SigningKey::from_seed(&[1; 32]);
    let (leaf, tea) = leaves_to_tea(&mut w);
    let other = w.harvest_lot("鸠坑茶园", "JK-0402", 5_000);
    let (c1, _) = checkpoint_all(&mut w.ledger, &reg);
    assert_eq!(c1.checkpoint.map_size, 0);
    let proof = w.ledger.map_proof(&tea);
    assert_eq!(
        proof.verify(&lot_key(&tea), 0, &c1.checkpoint.map_root),
        Ok(None)
    );

    let recall = w.accept(
        "reg",
        vec![created(&w)],
        Event::Recall {
            lot: leaf.clone(),
            reason: "农药残留超标".into(),
        },
    );
    // Accepted, not yet checkpointed: the map still says nothing.
    assert!(w.ledger.log().map.get(&lot_key(&leaf)).is_none());
    let (c2, _) = checkpoint_all(&mut w.ledger, &reg);
    let c = &c2.checkpoint;
    assert_eq!(c.map_size, 2);
    let s = w
        .ledger
        .map_proof(&leaf)
        .verify(&lot_key(&leaf), c.map_size, &c.map_root)
        .unwrap()
        .expect("listed");
    assert!(s.has_own(StatusKind::Recalled));
    assert_eq!(s.cause, recall);
    let s = w
        .ledger
        .map_proof(&tea)
        .verify(&lot_key(&tea), c.map_size, &c.map_root)
        .unwrap()
        .expect("listed");
    assert!(s.has_upstream(StatusKind::Recalled) && !s.has_own(StatusKind::Recalled));
    assert_eq!(s.cause, recall);
    assert_eq!(
        w.ledger
            .map_proof(&other)
            .verify(&lot_key(&other), c.map_size, &c.map_root),
        Ok(None)
    );
    // A proof for one lot does not pass for another.
    assert!(w
        .ledger
        .map_proof(&leaf)
        .verify(&lot_key(&tea), c.map_size, &c.map_root)
        .is_err());
    // The absence proof of a clean lot fails against a map that lists it.
    let absent = w.ledger.map_proof(&other);
    let listed_root = c.map_root;
    assert!(absent
        .verify(&lot_key(&other), c.map_size + 1, &listed_root)
        .is_err());
}

/// A transform made after a recall of its input, in a later checkpoint,
/// still gets the recall as upstream status.
#[test]
fn a_later_transform_of_a_recalled_lot_is_recalled_upstream() {
    let mut w = tea_world();
    let reg = SigningKey::from_seed(&[1; 32]);
    let leaf = w.harvest_lot("鸠坑茶园", "JK-0401", 120_000);
    let recall = w.accept(
        "reg",
        vec![created(&w)],
        Event::Recall {
            lot: leaf.clone(),
            reason: "重金属".into(),
        },
    );
    checkpoint_all(&mut w.ledger, &reg);
    let (ship, _) = w.ship_lot("鸠坑茶园", &leaf, 120_000, "合作社");
    w.receive_lot("合作社", ship, &leaf, 120_000);
    w.accept(
        "合作社",
        vec![],
        Event::Transform {
            process: "dry".into(),
            inputs: vec![LotAmount {
                lot: leaf.clone(),
                quantity: g(120_000),
            }],
            outputs: vec![NewLot {
                code: "QDH-0404".into(),
                product: Product {
                    description: "千岛湖茶".into(),
                    gtin: None,
                },
                quantity: g(30_000),
            }],
            loss: 90_000,
            location: place("合作社"),
            reference: None,
        },
    );
    let (c, _) = checkpoint_all(&mut w.ledger, &reg);
    let tea = w.lot("合作社", "QDH-0404");
    let s = w
        .ledger
        .map_proof(&tea)
        .verify(
            &lot_key(&tea),
            c.checkpoint.map_size,
            &c.checkpoint.map_root,
        )
        .unwrap()
        .expect("listed");
    assert!(s.has_upstream(StatusKind::Recalled));
    assert_eq!(s.cause, recall);
}

/// Every kind of status reaches the map, with the record that causes it:
/// a failed inspection, an excursion, lots created under a revoked key
/// after its last trusted seq (and not before), and lots an author
/// created at and after a seq it signed twice.
#[test]
fn every_status_kind_reaches_the_map() {
    let mut w = World::with_cast(
        "status kinds",
        &[
            ("甲农场", Role::Farm),
            ("乙农场", Role::Farm),
            ("丙农场", Role::Farm),
        ],
    );
    let reg = SigningKey::from_seed(&[1; 32]);
    let tested = w.harvest_lot("甲农场", "A-1", 1_000);
    let creation = ledger_core::query::creation(&w.ledger, &tested)
        .unwrap()
        .unwrap();
    let failed = w.accept(
        "reg",
        vec![creation],
        Event::Inspect {
            lot: tested.clone(),
            test: "农药残留".into(),
            verdict: Verdict::Fail,
            notes: "毒死蜱 0.3 mg/kg".into(),
            reference: None,
        },
    );
    let warm = w.harvest_lot("甲农场", "A-2", 1_000);
    let excursion = w.accept(
        "甲农场",
        vec![],
        Event::Observe {
            lot: warm.clone(),
            location: place("冷库"),
            readings: vec![Reading {
                time: common::T,
                kind: SensorKind::Temperature,
                value: 31_000,
                min: 0,
                max: 8_000,
            }],
        },
    );
    let trusted = w.harvest_lot("乙农场", "B-1", 1_000);
    let revoke = w.accept(
        "reg",
        vec![],
        Event::Revoke {
            key: w.pk("乙农场"),
            last_trusted_seq: Some(0),
            reason: "手机丢失".into(),
        },
    );
    let untrusted = w.harvest_lot("乙农场", "B-2", 1_000);
    let before_fork = w.harvest_lot("丙农场", "C-1", 1_000);
    let one = w.draft("丙农场", vec![], harvest_event("C-2"));
    let two = w.draft("丙农场", vec![], harvest_event("C-3"));
    assert!(w
        .ledger
        .ingest(vec![one.clone(), two.clone()], NOW)
        .unwrap()
        .outcomes
        .iter()
        .all(|(_, o)| o.is_stored()));
    let fork_cause = one.hash().min(two.hash());

    let (c, _) = checkpoint_all(&mut w.ledger, &reg);
    let c = c.checkpoint;
    let status = |lot: &LotId| {
        w.ledger
            .map_proof(lot)
            .verify(&lot_key(lot), c.map_size, &c.map_root)
            .unwrap()
    };
    let s = status(&tested).expect("listed");
    assert!(s.has_own(StatusKind::FailedInspection));
    assert_eq!(s.cause, failed);
    let s = status(&warm).expect("listed");
    assert_eq!(s.kinds(), vec![StatusKind::Excursion]);
    assert_eq!(s.cause, excursion);
    assert_eq!(
        status(&trusted),
        None,
        "created before the last trusted seq"
    );
    let s = status(&untrusted).expect("listed");
    assert!(s.has_own(StatusKind::AuthorRevoked));
    assert_eq!(s.cause, revoke);
    assert_eq!(status(&before_fork), None, "created before the fork");
    for code in ["C-2", "C-3"] {
        let s = status(&w.lot("丙农场", code)).expect("listed");
        assert!(s.has_own(StatusKind::AuthorForked));
        assert_eq!(s.cause, fork_cause);
    }
}

fn harvest_event(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "千岛湖茶 鲜叶".into(),
            gtin: None,
        },
        quantity: g(1_000),
        location: place("茶园"),
        reference: None,
    }
}

/// A checkpoint signed by fewer authorities than the genesis needs, or
/// at a height that is not the next, is not applied.
#[test]
fn unfinal_and_out_of_turn_checkpoints_are_refused() {
    let mut w = tea_world();
    let reg = SigningKey::from_seed(&[1; 32]);
    leaves_to_tea(&mut w);
    let tips = w.ledger.unlogged_tips().unwrap();
    let ext = w.ledger.extend_log(&tips).unwrap();
    let c = ext.checkpoint(w.ledger.network(), AT);
    let unsigned = SignedCheckpoint {
        checkpoint: c.clone(),
        signatures: vec![],
    };
    assert!(matches!(
        w.ledger.apply_checkpoint(&unsigned, &tips, None),
        Err(ApplyError::NotFinal {
            have: 0,
            need: 1,
            ..
        })
    ));
    let ahead = SignedCheckpoint::propose(
        ledger_core::checkpoint::Checkpoint {
            height: 3,
            prev: Some(Hash::of(b"elsewhere")),
            ..c
        },
        &reg,
    );
    assert!(matches!(
        w.ledger.apply_checkpoint(&ahead, &tips, None),
        Err(ApplyError::NotNext {
            expected: 0,
            got: 3
        })
    ));
    assert_eq!(w.ledger.log().size(), 0);
}

/// A checkpoint whose root this ledger's records do not give is refused,
/// and so is a second, different checkpoint at a height already applied;
/// the log is unchanged.
#[test]
fn wrong_and_contradicting_checkpoints_are_refused() {
    let mut w = tea_world();
    let reg = SigningKey::from_seed(&[1; 32]);
    leaves_to_tea(&mut w);
    let tips = w.ledger.unlogged_tips().unwrap();
    let ext = w.ledger.extend_log(&tips).unwrap();
    let mut c = ext.checkpoint(w.ledger.network(), AT);
    c.root = Hash::of(b"not the root");
    let wrong = SignedCheckpoint::propose(c, &reg);
    assert!(matches!(
        w.ledger.apply_checkpoint(&wrong, &tips, None),
        Err(ApplyError::Mismatch { what: "a root", .. })
    ));
    assert_eq!(w.ledger.log().size(), 0);
    // The right checkpoint with other tips than its cut line names.
    let right = SignedCheckpoint::propose(ext.checkpoint(w.ledger.network(), AT), &reg);
    let fewer = &tips[..tips.len() - 1];
    assert!(matches!(
        w.ledger.apply_checkpoint(&right, fewer, None),
        Err(ApplyError::Mismatch {
            what: "another cut than the tips given",
            ..
        })
    ));
    assert_eq!(w.ledger.log().size(), 0);

    let (good, _) = checkpoint_all(&mut w.ledger, &reg);
    let mut other = good.checkpoint.clone();
    other.time += 1;
    let other = SignedCheckpoint::propose(other, &reg);
    match w.ledger.apply_checkpoint(&other, &tips, None) {
        Err(ApplyError::Contradicts(proof)) => {
            assert_eq!(proof.a, good);
            assert_eq!(proof.b, other);
        }
        e => panic!("expected a contradiction, got {e:?}"),
    }
    assert_eq!(w.ledger.log().checkpoint.as_ref(), Some(&good));
    // A cut naming a record this node lacks cannot be checked yet.
    let unknown = Hash::of(b"a record this node never saw");
    assert!(w.ledger.extend_log(&[unknown]).is_err());
}

/// A sled ledger reopened has the same checkpoint, map and proofs.
#[test]
fn the_log_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = tea_world();
    let reg = SigningKey::from_seed(&[1; 32]);
    let (leaf, tea) = leaves_to_tea(&mut w);
    w.accept(
        "reg",
        vec![created(&w)],
        Event::Recall {
            lot: leaf,
            reason: "test".into(),
        },
    );
    let mut records = Vec::new();
    w.ledger
        .for_each_record(|_, bytes| {
            records.push(SignedRecord::decode(bytes).unwrap());
            true
        })
        .unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut ledger = Ledger::create(store, w.genesis.clone(), LedgerConfig::default()).unwrap();
    ledger.ingest(records.clone(), NOW).unwrap();
    let (c, _) = checkpoint_all(&mut ledger, &reg);
    let first = records[0].hash();
    let proof = ledger.inclusion(&first).unwrap();
    let map_proof = ledger.map_proof(&tea);
    drop(ledger);

    let ledger = Ledger::open(
        SledStore::open(dir.path()).unwrap(),
        LedgerConfig::default(),
    )
    .unwrap();
    assert_eq!(ledger.log().checkpoint.as_ref(), Some(&c));
    assert_eq!(ledger.inclusion(&first).unwrap(), proof);
    assert_eq!(ledger.map_proof(&tea), map_proof);
    assert_eq!(ledger.log().map.len(), 2);
}

/// What is not yet logged survives a restart (a reopened ledger finds it
/// in its log from the cursor the last checkpoint left), and a ledger
/// keeping fewer unlogged records in memory than it holds cuts the same
/// checkpoint from the store.
#[test]
fn unlogged_records_survive_a_restart_and_overflow_memory() {
    let w = workload::generate(Shape::for_records(3_000));
    let regulator = key_for("regulator", 0);
    let (first, rest) = w.records.split_at(1_000);
    let dir = tempfile::tempdir().unwrap();
    let open =
        |config: LedgerConfig| Ledger::open(SledStore::open(dir.path()).unwrap(), config).unwrap();
    {
        let mut l = Ledger::create(
            SledStore::open(dir.path()).unwrap(),
            w.genesis.clone(),
            LedgerConfig::default(),
        )
        .unwrap();
        l.ingest(first.to_vec(), NOW).unwrap();
        checkpoint_all(&mut l, &regulator);
        l.ingest(rest.to_vec(), NOW).unwrap();
        assert_eq!(l.unlogged_len(), rest.len());
    }
    let reopened = open(LedgerConfig::default());
    assert_eq!(
        reopened.unlogged_len(),
        rest.len(),
        "found again in the log"
    );
    let tips = reopened.unlogged_tips().unwrap();
    let from_memory = reopened.extend_log(&tips).unwrap();
    drop(reopened);

    // Room for 100 of them: the rest are read from the store.
    let small = LedgerConfig {
        unlogged_capacity: 100,
        ..LedgerConfig::default()
    };
    let mut tight = open(small);
    assert_eq!(tight.unlogged_len(), 100);
    assert_eq!(tight.unlogged_tips().unwrap(), tips);
    let from_store = tight.extend_log(&tips).unwrap();
    assert_eq!(from_store.records, from_memory.records);
    assert_eq!(from_store.root, from_memory.root);
    assert_eq!(from_store.map.root(), from_memory.map.root());
    let c = checkpoint_all(&mut tight, &regulator).0;
    assert_eq!(c.checkpoint.size, w.records.len() as u64);
    assert_eq!(
        c.checkpoint.root,
        naive_root(&[hashes(first), hashes(rest)])
    );
    assert_eq!(tight.unlogged_tips().unwrap(), Vec::<Hash>::new());
    assert_eq!(
        tight.unlogged_len(),
        0,
        "all in the log, and memory knows it again"
    );
}

/// Many checkpoints of uneven sizes: after each, the stored tree (rows
/// every eighth level, leaves from the entries, the levels between hashed
/// on demand) gives proofs that verify against the naive root, for the
/// first, last and a middle leaf, and consistency with the one before.
#[test]
fn the_stored_tree_agrees_with_the_naive_one_through_uneven_checkpoints() {
    let w = workload::generate(Shape::for_records(1_300));
    let regulator = key_for("regulator", 0);
    let mut l = Ledger::create(
        MemoryStore::new(),
        w.genesis.clone(),
        LedgerConfig::default(),
    )
    .unwrap();
    let mut batches: Vec<Vec<Hash>> = Vec::new();
    let mut previous: Option<(u64, Hash)> = None;
    let mut at = 0;
    for step in [
        1usize, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 255, 256, 257, 300,
    ] {
        let end = (at + step).min(w.records.len());
        if end == at {
            break;
        }
        l.ingest(w.records[at..end].to_vec(), NOW).unwrap();
        batches.push(hashes(&w.records[at..end]));
        at = end;
        let c = checkpoint_all(&mut l, &regulator).0.checkpoint;
        assert_eq!(c.root, naive_root(&batches), "root at size {}", c.size);
        let mut leaves: Vec<Hash> = Vec::new();
        for b in &batches {
            let mut b = b.clone();
            b.sort();
            leaves.extend(b);
        }
        for index in [0, c.size / 2, c.size - 1] {
            let h = leaves[index as usize];
            let (i, path) = l.inclusion(&h).unwrap().expect("logged");
            assert_eq!(i, index);
            merkle::verify_inclusion(&record_leaf(&h), i, c.size, &path, &c.root).unwrap();
        }
        if let Some((size, root)) = previous {
            let proof = l.consistency(size, c.size).unwrap();
            merkle::verify_consistency(size, c.size, &root, &c.root, &proof).unwrap();
        }
        previous = Some((c.size, c.root));
    }
}
