//! Bundles that carry a checkpoint: their records' inclusion in its log
//! and the status map's word on every lot of the lineage, so leaving a
//! recall out of a bundle does not hide it, and a fresher checkpoint's
//! status proofs flip an old bundle to recalled.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::bundle::{self, Bundle, LeafRef};
use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::event::{Event, LotId, Role};
use ledger_core::ledger::{Applied, Ledger};
use ledger_core::store::Store;
use ledger_core::tlog::map::StatusKind;
use ledger_core::{Hash, SigningKey};

mod common;

use common::World;

/// The time of checkpoint 0 (2025-10-09 16:53 in Shanghai); each later
/// one is a minute after.
const AT: u64 = 1_760_000_000_000;

fn shanghai() -> chrono_tz::Tz {
    chrono_tz::Asia::Shanghai
}

/// Proposes the next checkpoint of everything `ledger` holds, signed by
/// the only authority (k = 1), and applies it.
fn checkpoint_all<S: Store>(ledger: &mut Ledger<S>) -> SignedCheckpoint {
    let key = SigningKey::from_seed(&[1; 32]);
    let tips = ledger.unlogged_tips().unwrap();
    let ext = ledger.extend_log(&tips).unwrap();
    let c = ext.checkpoint(ledger.network(), AT + 60_000 * ext.height);
    let signed = SignedCheckpoint::propose(c, &key);
    let applied = ledger.apply_checkpoint(&signed, &tips, Some(&ext)).unwrap();
    assert!(matches!(applied, Applied::Extended { .. }), "{applied:?}");
    signed
}

/// A farm's leaves made into tea at a processor; returns (leaf, tea).
fn tea_world() -> (World, LotId, LotId) {
    let mut w = World::with_cast(
        "bundle checkpoint test",
        &[
            ("鸠坑茶园", Role::Farm),
            ("合作社", Role::Processor),
            ("鲜生超市", Role::Retailer),
        ],
    );
    let (leaf, tea) = w.leaves_to_tea();
    (w, leaf, tea)
}

/// The regulator recalls the leaves; returns the recall record.
fn recall_leaves(w: &mut World, leaf: &LotId) -> Hash {
    let created = ledger_core::query::creation(&w.ledger, leaf)
        .unwrap()
        .unwrap();
    w.accept(
        "reg",
        vec![created],
        Event::Recall {
            lot: leaf.clone(),
            reason: "农药残留超标".into(),
        },
    )
}

fn export(w: &World, lot: &LotId) -> Bundle {
    bundle::export(&w.ledger, lot).unwrap().unwrap()
}

/// Verifies and expects every check to pass.
fn verified(w: &World, b: &Bundle) -> bundle::Verification {
    let v = bundle::verify(&b.encode(), &w.ledger.network());
    assert!(v.verified(), "{:?}", v.failure());
    v
}

/// The failed check of a bundle expected to be refused.
fn refused(w: &World, b: &Bundle) -> bundle::Check {
    let v = bundle::verify(&b.encode(), &w.ledger.network());
    v.failure().expect("refused").clone()
}

/// `b` without the record `gone`: with its leaf and the batch proof
/// recomputed when `reprove` (what anyone holding the bundle can do: the
/// proof and the leaves give every node on their paths).
fn without(w: &World, b: &Bundle, gone: &Hash, reprove: bool) -> Bundle {
    let mut bad = b.clone();
    bad.records.retain(|r| r.hash() != *gone);
    assert_eq!(bad.records.len() + 1, b.records.len(), "the record was in");
    if reprove {
        let cp = bad.checkpoint.as_mut().unwrap();
        cp.leaves.retain(|l| l.record != *gone);
        let indexes: Vec<u64> = cp.leaves.iter().map(|l| l.index).collect();
        cp.proof = w.ledger.batch_inclusion(&indexes).unwrap();
    }
    bad
}

/// A bundle exported after a checkpoint proves its records are in the log
/// and its lots are not recalled as of the checkpoint, in local time,
/// naming who signed; records made after the checkpoint are counted newer.
#[test]
fn a_bundle_after_a_checkpoint_is_not_recalled_as_of_it() {
    let (mut w, leaf, tea) = tea_world();
    checkpoint_all(&mut w.ledger);
    let b = export(&w, &tea);
    assert_eq!(b.version, 2);
    let cp = b.checkpoint.as_ref().expect("a checkpoint");
    assert_eq!(cp.leaves.len(), b.records.len());
    assert_eq!(
        cp.lots.iter().map(|p| p.lot.clone()).collect::<Vec<_>>(),
        bundle::lineage_lots(&verified(&w, &b).trace.unwrap())
    );
    // The encoding is canonical and round-trips.
    let bytes = b.encode();
    assert_eq!(Bundle::decode(&bytes).unwrap(), b);

    let v = verified(&w, &b);
    let names: Vec<&str> = v.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        &names[names.len() - 3..],
        ["checkpoint", "inclusion", "status"]
    );
    let s = v.status.as_ref().expect("a status report");
    assert_eq!((s.height, s.covered, s.newer), (0, b.records.len(), 0));
    assert_eq!(s.signers, ["Bureau"]);
    assert_eq!(s.lots.len(), 2);
    assert!(s.lots.iter().all(|l| l.status.is_none()));
    assert!(s.lots.iter().any(|l| l.traced && l.lot == tea));
    assert!(s.lots.iter().any(|l| !l.traced && l.lot == leaf));
    assert_eq!(
        v.summary(shanghai()).unwrap(),
        "not recalled as of 2025-10-09 16:53 (Asia/Shanghai) — checkpoint 0, cosigned by 1 of 1: Bureau"
    );

    // The tea is shipped on after the checkpoint: that record is newer.
    let (ship, _) = w.ship_lot("合作社", &tea, 30_000, "鲜生超市");
    let b2 = export(&w, &tea);
    let v2 = verified(&w, &b2);
    let s2 = v2.status.unwrap();
    assert_eq!((s2.covered, s2.newer), (b.records.len(), 1));
    assert!(b2
        .checkpoint
        .unwrap()
        .leaves
        .iter()
        .all(|l| l.record != ship));
}

/// A recall recorded and checkpointed, then left out of the bundle (its
/// leaf dropped and the batch proof recomputed, so `inclusion` passes):
/// the status map still shows the tea recalled upstream and says the
/// recall record is not in the bundle. Dropping the record alone fails
/// `inclusion`, naming it.
#[test]
fn a_recall_left_out_of_the_bundle_still_shows_through_the_map() {
    let (mut w, leaf, tea) = tea_world();
    let recall = recall_leaves(&mut w, &leaf);
    checkpoint_all(&mut w.ledger);
    let b = export(&w, &tea);
    let v = verified(&w, &b);
    let s = v.status.as_ref().unwrap();
    assert_eq!(s.worst(), Some(StatusKind::Recalled));
    assert!(s.lots.iter().all(|l| l.cause_in_bundle));
    assert!(!v.trace.as_ref().unwrap().warnings.is_empty());
    assert!(v
        .summary(shanghai())
        .unwrap()
        .starts_with("recalled upstream as of 2025-10-09 16:53 (Asia/Shanghai) — checkpoint 0"));

    // Only the record removed: its leaf names it.
    let f = refused(&w, &without(&w, &b, &recall, false));
    assert_eq!(f.name, "inclusion", "{f:?}");
    assert!(
        f.detail.contains(&format!("record {}…", recall.short()))
            && f.detail.ends_with("which is not in the bundle"),
        "{}",
        f.detail
    );
    assert!(!f.detail.contains(&recall.to_hex()));

    // Record and leaf removed, proof recomputed: every check passes, the
    // bundle's own records show no recall, and the map still does.
    let bad = without(&w, &b, &recall, true);
    let v = verified(&w, &bad);
    assert!(v.trace.as_ref().unwrap().warnings.is_empty());
    let s = v.status.as_ref().unwrap();
    assert_eq!(s.worst(), Some(StatusKind::Recalled));
    let t = s.traced().unwrap();
    assert!(t.status.unwrap().has_upstream(StatusKind::Recalled));
    assert_eq!(t.status.unwrap().cause, recall);
    assert!(!t.cause_in_bundle);
    let summary = v.summary(shanghai()).unwrap();
    assert_eq!(
        summary,
        format!(
            "recalled upstream as of 2025-10-09 16:53 (Asia/Shanghai) — checkpoint 0, \
             cosigned by 1 of 1: Bureau; the record establishing it, {}…, is not in the bundle",
            recall.short()
        )
    );
    let findings = s.findings();
    assert!(
        findings
            .iter()
            .any(|f| f.starts_with(&format!("upstream lot {leaf}: recalled"))
                && f.ends_with("NOT in the bundle")),
        "{findings:?}"
    );
}

/// Removing any one record of a checkpointed bundle is refused: by
/// `complete` when another record names it (`lineage` for the record
/// creating the traced lot), else by `inclusion` (the
/// last record of a chain, which `complete` cannot see), naming it.
#[test]
fn removing_any_record_is_refused() {
    let (mut w, leaf, tea) = tea_world();
    // The last record of the regulator's chain: nothing names it.
    let recall = recall_leaves(&mut w, &leaf);
    checkpoint_all(&mut w.ledger);
    let b = export(&w, &tea);
    let mut by_inclusion = Vec::new();
    for r in &b.records {
        let h = r.hash();
        let f = refused(&w, &without(&w, &b, &h, false));
        match f.name {
            // The tea's creation: nothing creates the lot traced.
            "complete" | "lineage" => {}
            "inclusion" => {
                assert!(f.detail.contains(&format!("{}…", h.short())), "{f:?}");
                by_inclusion.push(h);
            }
            other => panic!("removing {}: refused by {other}: {}", h.short(), f.detail),
        }
    }
    assert_eq!(by_inclusion, [recall]);
}

/// A bundle exported before a recall says not recalled as of its
/// checkpoint; the ledger's status proofs after the recall's checkpoint
/// flip it to recalled, naming the recall as not in the bundle. Status
/// proofs older than the bundle's checkpoint, or lacking a lineage lot,
/// are refused.
#[test]
fn a_fresher_checkpoint_flips_an_old_bundle_to_recalled() {
    let (mut w, leaf, tea) = tea_world();
    checkpoint_all(&mut w.ledger);
    let old = export(&w, &tea);
    let lots = bundle::lineage_lots(&verified(&w, &old).trace.unwrap());
    let stale = w.ledger.status_proofs(&lots).unwrap();
    assert!(verified(&w, &old)
        .summary(shanghai())
        .unwrap()
        .starts_with("not recalled as of 2025-10-09 16:53"));

    let recall = recall_leaves(&mut w, &leaf);
    checkpoint_all(&mut w.ledger);
    // The old bundle alone still says what its checkpoint said.
    assert!(verified(&w, &old).status.unwrap().is_clean());
    let fresh = w.ledger.status_proofs(&lots).unwrap();
    let v = bundle::verify_with_status(&old.encode(), &w.ledger.network(), &fresh);
    assert!(v.verified(), "{:?}", v.failure());
    assert_eq!(v.checks.last().unwrap().name, "fresher");
    let s = v.status.as_ref().unwrap();
    assert_eq!((s.height, s.bundle_height), (1, Some(0)));
    assert_eq!(s.worst(), Some(StatusKind::Recalled));
    assert_eq!(s.traced().unwrap().status.unwrap().cause, recall);
    assert_eq!(
        v.summary(shanghai()).unwrap(),
        format!(
            "recalled upstream as of 2025-10-09 16:54 (Asia/Shanghai) — checkpoint 1, \
             cosigned by 1 of 1: Bureau; the record establishing it, {}…, is not in the bundle",
            recall.short()
        )
    );

    // Older than the bundle's checkpoint: refused.
    let new = export(&w, &tea);
    let v = bundle::verify_with_status(&new.encode(), &w.ledger.network(), &stale);
    let f = v.failure().expect("refused");
    assert_eq!(f.name, "fresher");
    assert!(f.detail.contains("older than the bundle's"), "{}", f.detail);

    // A lineage lot without a proof: refused.
    let mut partial = fresh.clone();
    partial.proofs.retain(|p| p.lot != leaf);
    let v = bundle::verify_with_status(&old.encode(), &w.ledger.network(), &partial);
    let f = v.failure().expect("refused");
    assert_eq!(f.name, "fresher");
    assert!(f
        .detail
        .contains(&format!("no status map proof for lot {leaf}")));
}

/// A note whose root was changed, a note without signatures, a tampered
/// batch proof, a map proof of another lot, and a missing lot proof are
/// each refused by the check that covers them.
#[test]
fn tampered_notes_and_proofs_are_refused() {
    let (mut w, leaf, tea) = tea_world();
    let other = w.harvest_lot("鸠坑茶园", "JK-0402", 5_000);
    recall_leaves(&mut w, &leaf);
    checkpoint_all(&mut w.ledger);
    let b = export(&w, &tea);
    verified(&w, &b);
    let note = b.checkpoint.as_ref().unwrap().note.clone();

    let with_note = |n: String| {
        let mut bad = b.clone();
        bad.checkpoint.as_mut().unwrap().note = n;
        bad
    };
    // The root line (the third) changed: the signature no longer verifies.
    let mut lines: Vec<&str> = note.split('\n').collect();
    let forged = ledger_core::Hash::of(b"forged root");
    let root = base64_of(&forged.0);
    lines[2] = &root;
    let f = refused(&w, &with_note(lines.join("\n")));
    assert_eq!(f.name, "checkpoint");
    assert!(f.detail.contains("does not verify"), "{}", f.detail);
    // The signature lines dropped.
    let body_only = format!("{}\n", note.split("\n\n").next().unwrap());
    let f = refused(&w, &with_note(format!("{body_only}\n")));
    assert_eq!(f.name, "checkpoint", "{f:?}");
    let f = refused(&w, &with_note(body_only));
    assert_eq!(f.name, "checkpoint", "{f:?}");

    // A batch proof hash flipped.
    let mut bad = b.clone();
    bad.checkpoint.as_mut().unwrap().proof[0].0[0] ^= 1;
    assert_eq!(refused(&w, &bad).name, "inclusion");
    // A leaf listed at another index.
    let mut bad = b.clone();
    let leaves = &mut bad.checkpoint.as_mut().unwrap().leaves;
    let last = leaves.len() - 1;
    let (first, end) = (leaves[0], leaves[last]);
    leaves[0] = LeafRef {
        index: first.index,
        record: end.record,
    };
    leaves[last].record = first.record;
    assert_eq!(refused(&w, &bad).name, "inclusion");

    // The recalled leaves' proof replaced by the clean lot's: refused.
    let mut bad = b.clone();
    let lots = &mut bad.checkpoint.as_mut().unwrap().lots;
    let i = lots.iter().position(|p| p.lot == leaf).unwrap();
    lots[i].proof = w.ledger.map_proof(&other);
    let f = refused(&w, &bad);
    assert_eq!(f.name, "status");
    assert!(f.detail.contains(&format!("lot {leaf}")), "{}", f.detail);
    // A lineage lot's proof missing: refused.
    let mut bad = b.clone();
    bad.checkpoint.as_mut().unwrap().lots.remove(i);
    assert_eq!(refused(&w, &bad).name, "status");
    // Another lot's proof in its place: refused.
    let mut bad = b.clone();
    bad.checkpoint.as_mut().unwrap().lots[i] = ledger_core::tlog::LotProof {
        lot: other.clone(),
        proof: w.ledger.map_proof(&other),
    };
    let f = refused(&w, &bad);
    assert_eq!(f.name, "status");
    assert!(f.detail.contains("no status map proof"), "{}", f.detail);
}

/// A bundle without a checkpoint (before the network's first, or a
/// version 1 file) verifies as before and says it carries none.
#[test]
fn a_bundle_without_a_checkpoint_says_so() {
    let (w, _, tea) = tea_world();
    let b = export(&w, &tea);
    assert!(b.checkpoint.is_none());
    let v = verified(&w, &b);
    assert!(v.status.is_none());
    assert!(v
        .summary(shanghai())
        .unwrap()
        .starts_with("the bundle carries no checkpoint"));
    let v1 = Bundle { version: 1, ..b };
    let bytes = v1.encode();
    assert_eq!(Bundle::decode(&bytes).unwrap(), v1);
    let v = bundle::verify(&bytes, &w.ledger.network());
    assert!(v.verified(), "{:?}", v.failure());
    assert!(v.checks[0].detail.ends_with("(format 1)"));
}

/// Standard base64 (what signed notes use), written here apart from the
/// code under test.
fn base64_of(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Any single flipped byte of a bundle's checkpoint part (the note, the
/// leaves, the batch proof, the map proofs) fails verification.
#[test]
fn any_flipped_byte_of_the_checkpoint_fails() {
    let (mut w, leaf, tea) = tea_world();
    recall_leaves(&mut w, &leaf);
    checkpoint_all(&mut w.ledger);
    let b = export(&w, &tea);
    let bytes = b.encode();
    let start = Bundle {
        checkpoint: None,
        ..b.clone()
    }
    .encode()
    .len()
        - 1;
    let network = w.ledger.network();
    for at in start..bytes.len() {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        let v = bundle::verify(&bad, &network);
        assert!(
            !v.verified(),
            "flipping byte {at} of {} verified",
            bytes.len()
        );
    }
}
