//! What a bundle's checkpoint proves: that its records were in the log by
//! the checkpoint's time, and the status map's word on every lot of the
//! lineage, so a recall (or failed inspection …) shows even when the
//! record establishing it was left out of the bundle.
//!
//! Export fills a [`BundleCheckpoint`] from the ledger's newest final
//! checkpoint; `verify` runs three checks on it after the bundle's own
//! (`checkpoint`, `inclusion`, `status`) and reports a [`StatusReport`].
//! A fresher checkpoint's [`StatusProofs`] (from a node) can re-judge the
//! lineage's lots later (the `fresher` check).

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use chrono_tz::Tz;
use serde::Serialize;

use crate::checkpoint::SignedCheckpoint;
use crate::error::StoreError;
use crate::event::LotId;
use crate::genesis::Genesis;
use crate::graph::MemGraph;
use crate::hash::Hash;
use crate::merkle;
use crate::query::{self, Trace};
use crate::reader::Reader;
use crate::store::Store;
use crate::tlog::map::{lot_key, LotStatus, StatusKind};
use crate::tlog::{record_leaf, LotProof, StatusProofs};

/// The checkpoint a bundle carries, with its proofs.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct BundleCheckpoint {
    /// The signed note (C2SP text) of the newest final checkpoint the
    /// exporting ledger had.
    pub note: String,
    /// The bundle's records in that checkpoint's log, by leaf index
    /// (strictly increasing). Records newer than the checkpoint are not
    /// listed.
    pub leaves: Vec<LeafRef>,
    /// One [`merkle::batch_proof`] of those leaves in the checkpoint's tree
    /// (empty when no record is listed).
    pub proof: Vec<Hash>,
    /// The status map's proof for every lot of the lineage (the traced
    /// lot and every lot upstream of it), in lot order.
    pub lots: Vec<LotProof>,
}

/// One of the bundle's records in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct LeafRef {
    /// Its leaf index.
    pub index: u64,
    /// The record's hash (the leaf's data).
    pub record: Hash,
}

/// The lots whose status a bundle proves: the traced lot and every lot
/// upstream of it, in lot order.
pub fn lineage_lots(trace: &Trace) -> Vec<LotId> {
    let mut lots: BTreeSet<LotId> = trace.upstream.iter().cloned().collect();
    lots.insert(trace.lot.clone());
    lots.into_iter().collect()
}

/// The checkpoint part of a bundle of `lot` whose records are `records`
/// (hash order), from `ledger`'s newest final checkpoint; `None` when the
/// ledger has none yet.
pub(super) fn export<S: Store>(
    ledger: &Reader<S>,
    lot: &LotId,
    records: impl Iterator<Item = Hash>,
) -> Result<Option<BundleCheckpoint>, StoreError> {
    let mut lots: BTreeSet<LotId> = query::upstream_lots(ledger, lot)?;
    lots.insert(lot.clone());
    let lots: Vec<LotId> = lots.into_iter().collect();
    let Some(status) = ledger.status_proofs(&lots) else {
        return Ok(None);
    };
    let mut leaves = Vec::new();
    for h in records {
        if let Some(index) = ledger.leaf_index(&h)? {
            leaves.push(LeafRef { index, record: h });
        }
    }
    leaves.sort_by_key(|l| l.index);
    let proof = if leaves.is_empty() {
        Vec::new()
    } else {
        let indexes: Vec<u64> = leaves.iter().map(|l| l.index).collect();
        ledger.batch_inclusion(&indexes)?
    };
    Ok(Some(BundleCheckpoint {
        note: status.note,
        leaves,
        proof,
        lots: status.proofs,
    }))
}

/// What a final checkpoint says about the lineage's lots, as a verified
/// bundle reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusReport {
    /// The checkpoint's height.
    pub height: u64,
    /// Its time (ms since the epoch, UTC).
    pub time: u64,
    /// The authorities that signed it (display names, genesis order).
    pub signers: Vec<String>,
    /// The network's authorities (`n`).
    pub authorities: usize,
    /// Signatures needed for finality (`k`).
    pub threshold: u16,
    /// Height of the checkpoint the bundle carries, if any: lower than
    /// [`Self::height`] when the statuses come from a fresher checkpoint.
    pub bundle_height: Option<u64>,
    /// The bundle's records its own checkpoint's log holds.
    pub covered: usize,
    /// The bundle's records newer than its own checkpoint (all of them
    /// when it carries none).
    pub newer: usize,
    /// Each lineage lot's status in the map, the traced lot among them.
    pub lots: Vec<LotReport>,
}

/// One lot's entry in the status map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LotReport {
    /// The lot.
    pub lot: LotId,
    /// Whether it is the traced lot (else a lot upstream of it).
    pub traced: bool,
    /// Its status, or `None` when the map lists nothing against it.
    pub status: Option<LotStatus>,
    /// Whether the record causing the status is in the bundle (false when
    /// it was left out: the map shows what the bundle does not).
    pub cause_in_bundle: bool,
}

impl StatusReport {
    /// The traced lot's entry.
    pub fn traced(&self) -> Option<&LotReport> {
        self.lots.iter().find(|l| l.traced)
    }

    /// The most severe status of any lineage lot, if any.
    pub fn worst(&self) -> Option<StatusKind> {
        // `StatusKind` is declared most severe first.
        self.lots
            .iter()
            .filter_map(|l| l.status.as_ref()?.worst())
            .min()
    }

    /// Whether the map lists nothing against any lineage lot.
    pub fn is_clean(&self) -> bool {
        self.worst().is_none()
    }

    /// `as of 2026-12-05 10:20 (Asia/Shanghai) — checkpoint 12, cosigned
    /// by 3 of 4: 淳安县市场监督管理局, …`.
    pub fn as_of(&self, tz: Tz) -> String {
        let when = crate::time::local(self.time, tz).format("%Y-%m-%d %H:%M");
        format!(
            "as of {when} ({}) — checkpoint {}, cosigned by {} of {}: {}",
            tz.name(),
            self.height,
            self.signers.len(),
            self.authorities,
            self.signers.join(", ")
        )
    }

    /// The verdict in a sentence: `not recalled as of …` or `recalled
    /// (upstream …) as of …`, naming a cause left out of the bundle.
    pub fn sentence(&self, tz: Tz) -> String {
        let as_of = self.as_of(tz);
        let Some(worst) = self.worst() else {
            return format!("not recalled {as_of}");
        };
        let (what, missing) = match self.traced().and_then(|t| Some((t, t.status?))) {
            Some((t, s)) if s.worst() == Some(worst) => {
                let what = if s.has_own(worst) {
                    worst.describe().to_owned()
                } else {
                    format!("{} upstream", worst.describe())
                };
                (what, (!t.cause_in_bundle).then_some(s.cause))
            }
            _ => {
                let l = self
                    .lots
                    .iter()
                    .find(|l| l.status.and_then(|s| s.worst()) == Some(worst));
                let what = match l {
                    Some(l) => format!("{} upstream (lot {})", worst.describe(), l.lot),
                    None => worst.describe().to_owned(),
                };
                let missing = l.and_then(|l| (!l.cause_in_bundle).then_some(l.status?.cause));
                (what, missing)
            }
        };
        match missing {
            Some(cause) => format!(
                "{what} {as_of}; the record establishing it, {}…, is not in the bundle",
                cause.short()
            ),
            None => format!("{what} {as_of}"),
        }
    }

    /// One line per lineage lot with a status: what the map says, and
    /// whether the bundle holds the record causing it.
    pub fn findings(&self) -> Vec<String> {
        self.lots
            .iter()
            .filter_map(|l| {
                let s = l.status?;
                let kinds: Vec<String> = s
                    .kinds()
                    .into_iter()
                    .map(|k| {
                        if s.has_own(k) {
                            k.describe().to_owned()
                        } else {
                            format!("{} upstream", k.describe())
                        }
                    })
                    .collect();
                let held = if l.cause_in_bundle {
                    "in the bundle"
                } else {
                    "NOT in the bundle"
                };
                Some(format!(
                    "{} lot {}: {} (checkpoint {}); cause {}… {held}",
                    if l.traced { "traced" } else { "upstream" },
                    l.lot,
                    kinds.join(", "),
                    self.height,
                    s.cause.short()
                ))
            })
            .collect()
    }
}

/// A final checkpoint of `genesis`' network read from its note, or why
/// not.
pub(super) fn read_note(note: &str, genesis: &Genesis) -> Result<SignedCheckpoint, String> {
    let signed =
        SignedCheckpoint::from_note(note.as_bytes(), genesis).map_err(|e| e.to_string())?;
    if !signed.is_final(genesis) {
        return Err(format!(
            "checkpoint {} is signed by {} of {} authorities; {} are needed for it to be final",
            signed.checkpoint.height,
            signed.signatures.len(),
            genesis.authorities.len(),
            genesis.checkpoint_threshold
        ));
    }
    Ok(signed)
}

/// Checks the bundle's leaves and batch proof against the checkpoint's
/// root: every listed record is in the bundle and in the log where listed.
/// Returns how many records are covered.
pub(super) fn check_inclusion(
    signed: &SignedCheckpoint,
    c: &BundleCheckpoint,
    graph: &MemGraph,
) -> Result<usize, String> {
    let cp = &signed.checkpoint;
    let mut leaves = Vec::with_capacity(c.leaves.len());
    for l in &c.leaves {
        if graph.get(&l.record).is_none() {
            return Err(format!(
                "leaf {} of checkpoint {} is record {}…, which is not in the bundle",
                l.index,
                cp.height,
                l.record.short()
            ));
        }
        leaves.push((l.index, record_leaf(&l.record)));
    }
    if leaves.is_empty() {
        if !c.proof.is_empty() {
            return Err("a proof is given for no leaves".into());
        }
        return Ok(0);
    }
    merkle::verify_batch(&leaves, cp.size, &c.proof, &cp.root).map_err(|e| {
        format!(
            "the bundle's {} logged records do not recompute checkpoint {}'s root: {e}",
            leaves.len(),
            cp.height
        )
    })?;
    Ok(leaves.len())
}

/// Each lineage lot's status under `signed`'s map, from `proofs`; fails
/// on a lot without a proof or a proof that does not verify.
pub(super) fn judge(
    signed: &SignedCheckpoint,
    proofs: &[LotProof],
    lineage: &[LotId],
    traced: &LotId,
    graph: &MemGraph,
) -> Result<Vec<LotReport>, String> {
    let cp = &signed.checkpoint;
    lineage
        .iter()
        .map(|lot| {
            let Some(p) = proofs.iter().find(|p| p.lot == *lot) else {
                return Err(format!(
                    "no status map proof for lot {lot} of the lineage: nothing shows it is not recalled"
                ));
            };
            let status = p
                .proof
                .verify(&lot_key(lot), cp.map_size, &cp.map_root)
                .map_err(|e| format!("lot {lot}: {e} (checkpoint {})", cp.height))?;
            Ok(LotReport {
                lot: lot.clone(),
                traced: lot == traced,
                cause_in_bundle: status.is_some_and(|s| graph.get(&s.cause).is_some()),
                status,
            })
        })
        .collect()
}

/// The report's head from a checkpoint.
pub(super) fn report(
    signed: &SignedCheckpoint,
    genesis: &Genesis,
    bundle_height: Option<u64>,
    covered: usize,
    records: usize,
    lots: Vec<LotReport>,
) -> StatusReport {
    StatusReport {
        height: signed.checkpoint.height,
        time: signed.checkpoint.time,
        signers: signed.signer_names(genesis),
        authorities: genesis.authorities.len(),
        threshold: genesis.checkpoint_threshold,
        bundle_height,
        covered,
        newer: records.saturating_sub(covered),
        lots,
    }
}

/// Checks a fresher checkpoint's status proofs for the lineage against
/// the bundle's: same network, final, not older.
pub(super) fn fresher(
    fresh: &StatusProofs,
    genesis: &Genesis,
    bundle_height: Option<u64>,
) -> Result<SignedCheckpoint, String> {
    let signed = read_note(&fresh.note, genesis)?;
    if let Some(h) = bundle_height {
        if signed.checkpoint.height < h {
            return Err(format!(
                "the checkpoint given (height {}) is older than the bundle's (height {h})",
                signed.checkpoint.height
            ));
        }
    }
    Ok(signed)
}
