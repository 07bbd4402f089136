//! Overlays and the digest sums, kept as records land, so a QR page reads
//! a record's flags with one lookup and `/status` reads the digest with
//! one, however large the ledger.
//!
//! A record's flags (see [`crate::overlay`]) are its *direct* ones — signed
//! by a revoked key after its last trusted seq (the revocation with the
//! smallest hash names it), or at or after a seq its author signed twice
//! (the earliest such seq) — or, when it has none, `Tainted` by the
//! smallest-hash parent (prev or dep) that is flagged. Flags only ever
//! appear: a revocation or a fork flags records already stored, and the
//! taint then spreads to their descendants; a record arriving later reads
//! its flags from its own author's revocations and forks and from its
//! parents. The result is the same set of facts whatever the arrival
//! order, which is what [`crate::overlay::Overlays::compute`] derives from
//! scratch (a test holds the two together).

use std::collections::VecDeque;

use crate::digest::{Fact, Sums};
use crate::error::StoreError;
use crate::event::{Event, Verdict};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::overlay::Flag;
use crate::record::SignedRecord;
use crate::tables::{Tables, TablesMut};
use crate::txn::Txn;

/// What storing one record changes in the overlays: called after its
/// indexes are written. `forked` lists the records that just entered the
/// fork table at the record's seq (empty unless it equivocates).
pub(super) fn on_stored(
    txn: &mut Txn<'_>,
    hash: Hash,
    record: &SignedRecord,
    forked: &[Hash],
) -> Result<(), StoreError> {
    let r = &record.record;
    let mut sums = txn.sums()?;
    sums.records.add(&Fact::Record(&hash).hash());
    for f in forked {
        sums.overlays.add(&Fact::Fork(&r.author, r.seq, f).hash());
    }
    // (key, first seq newly flagged) of the chains to look at again.
    let mut affected: Vec<(PublicKey, u64)> = Vec::new();
    match &r.event {
        Event::Revoke {
            key,
            last_trusted_seq,
            ..
        } => {
            txn.put_revocation(key, &hash, *last_trusted_seq);
            txn.put_suspect(key);
            sums.overlays.add(&Fact::Revocation(&hash).hash());
            let first = last_trusted_seq.map_or(0, |l| l.saturating_add(1));
            affected.push((*key, first));
        }
        Event::Recall { .. } => sums.overlays.add(&Fact::Recall(&hash).hash()),
        Event::Inspect {
            verdict: Verdict::Fail,
            ..
        } => {
            txn.put_failed_inspection(&hash);
            sums.overlays.add(&Fact::FailedInspection(&hash).hash());
        }
        _ => {}
    }
    if !forked.is_empty() {
        txn.put_suspect(&r.author);
        affected.push((r.author, r.seq));
    }
    refresh(txn, &mut sums, &hash)?;
    for (key, from) in affected {
        for (seq, h) in txn.chain(&key)? {
            if seq >= from {
                refresh(txn, &mut sums, &h)?;
            }
        }
    }
    txn.put_sums(&sums);
    Ok(())
}

/// Recomputes one stored record's flags; when it becomes flagged, its
/// descendants become tainted.
fn refresh(txn: &mut Txn<'_>, sums: &mut Sums, h: &Hash) -> Result<(), StoreError> {
    let Some(record) = txn.record(h)? else {
        return Ok(());
    };
    let r = &record.record;
    let mut flags = direct(txn, &r.author, r.seq)?;
    if flags.is_empty() {
        let mut source: Option<Hash> = None;
        for p in r.prev.iter().chain(&r.deps) {
            if !txn.flags(p)?.is_empty() && source.is_none_or(|s| *p < s) {
                source = Some(*p);
            }
        }
        flags.extend(source.map(|source| Flag::Tainted { source }));
    }
    let old = txn.flags(h)?;
    if old == flags {
        return Ok(());
    }
    set(txn, sums, h, &old, &flags);
    if old.is_empty() {
        taint_descendants(txn, sums, *h)?;
    }
    Ok(())
}

/// The flags a record has for itself (by its author key and seq).
fn direct(txn: &Txn<'_>, author: &PublicKey, seq: u64) -> Result<Vec<Flag>, StoreError> {
    let mut flags = Vec::new();
    if !txn.suspect(author)? {
        return Ok(flags);
    }
    let revocation = txn
        .revocations_of(author)?
        .into_iter()
        .filter(|(_, last)| last.is_none_or(|l| seq > l))
        .map(|(h, _)| h)
        .min();
    flags.extend(revocation.map(|revocation| Flag::Revoked { revocation }));
    let fork_seq = txn
        .forks_of(author)?
        .into_iter()
        .map(|(s, _)| s)
        .filter(|s| *s <= seq)
        .min();
    flags.extend(fork_seq.map(|fork_seq| Flag::Equivocation { fork_seq }));
    flags.sort();
    Ok(flags)
}

fn set(txn: &mut Txn<'_>, sums: &mut Sums, h: &Hash, old: &[Flag], new: &[Flag]) {
    for f in old {
        sums.overlays.sub(&Fact::Flag(h, f).hash());
    }
    for f in new {
        sums.overlays.add(&Fact::Flag(h, f).hash());
    }
    txn.put_flags(h, new);
}

/// Spreads the taint of a newly flagged record to every descendant not
/// flagged yet; a tainted descendant keeps the smallest flagged parent as
/// its source.
fn taint_descendants(txn: &mut Txn<'_>, sums: &mut Sums, from: Hash) -> Result<(), StoreError> {
    let mut queue = VecDeque::from([from]);
    while let Some(parent) = queue.pop_front() {
        for child in children(txn, &parent)? {
            let old = txn.flags(&child)?;
            match old.as_slice() {
                [] => {
                    let new = [Flag::Tainted { source: parent }];
                    set(txn, sums, &child, &old, &new);
                    queue.push_back(child);
                }
                [Flag::Tainted { source }] if parent < *source => {
                    let new = [Flag::Tainted { source: parent }];
                    set(txn, sums, &child, &old, &new);
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Records naming `h` as prev or dep.
fn children(txn: &Txn<'_>, h: &Hash) -> Result<Vec<Hash>, StoreError> {
    let mut out = txn.dep_children(h)?;
    if let Some(r) = txn.record(h)? {
        let (author, next) = (r.record.author, r.record.seq.saturating_add(1));
        let mut successors = txn.forks_at(&author, next)?;
        successors.extend(txn.chain_slot(&author, next)?);
        successors.sort();
        successors.dedup();
        for s in successors {
            if txn.record(&s)?.is_some_and(|c| c.record.prev == Some(*h)) {
                out.push(s);
            }
        }
    }
    Ok(out)
}
