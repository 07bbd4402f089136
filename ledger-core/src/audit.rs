//! Audit: re-verify a whole stored ledger from scratch.
//!
//! Every stored record is decoded, its storage key compared with its hash,
//! its signature and every rule re-checked by replaying the whole ledger
//! into a fresh scratch ledger, and the resulting state digest compared with
//! the audited one. Every problem is reported, not just the first.

use serde::Serialize;

use crate::hash::Hash;
use crate::ledger::{CreateError, Ledger, LedgerConfig, Outcome};
use crate::record::SignedRecord;
use crate::store::Store;

/// One thing wrong with the audited ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The record concerned (its storage key).
    pub record: Hash,
    /// What is wrong.
    pub what: String,
}

/// The result of an audit.
#[derive(Debug, Clone, Serialize)]
pub struct AuditReport {
    /// Records examined.
    pub records: u64,
    /// Everything wrong, by record hash.
    pub problems: Vec<Problem>,
    /// Intact records that could not be re-validated because their prev or
    /// a dep is damaged or missing (the damaged record itself is a problem).
    pub unverifiable: Vec<Hash>,
    /// The audited ledger's state digest.
    pub digest: Hash,
    /// The digest recomputed by the replay (equal when nothing is wrong).
    pub replayed_digest: Hash,
}

impl AuditReport {
    /// Whether the ledger passed.
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
            && self.unverifiable.is_empty()
            && self.digest == self.replayed_digest
    }
}

/// How many records the replay ingests per group commit.
const REPLAY_BATCH: usize = 4096;

/// Audits `ledger`, replaying it into `scratch` (an empty store: a
/// [`crate::store::MemoryStore`], or a temporary sled store for very large
/// ledgers). `progress` is called with the count of records examined.
pub fn audit<S: Store, T: Store>(
    ledger: &Ledger<S>,
    scratch: T,
    now: u64,
    mut progress: impl FnMut(u64),
) -> Result<AuditReport, CreateError> {
    let config = LedgerConfig {
        pending_capacity: usize::MAX,
        // Stored records were accepted by this node's clock once; the audit
        // judges rules, not clocks.
        max_future_skew_ms: u64::MAX,
        // The replay's writer thread takes one core; signatures the rest.
        verify_threads: std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1),
    };
    let mut replay = Ledger::create(scratch, ledger.genesis().clone(), config)?;
    let mut problems = Vec::new();
    let mut examined = 0u64;

    // Pass 1: every stored record decodes and sits under its own hash.
    // Remember when each was made: time never decreases along prev and
    // deps, so replaying in time order is causal (ties aside, which the
    // pending pool absorbs) and the replay barely touches the pool.
    let mut order: Vec<(u64, Hash)> = Vec::new();
    ledger.for_each_record(|key, bytes| {
        examined += 1;
        progress(examined);
        match SignedRecord::decode(bytes) {
            Err(e) => problems.push(Problem {
                record: key,
                what: format!("stored bytes do not decode: {e}"),
            }),
            Ok(r) if r.hash() != key => problems.push(Problem {
                record: key,
                what: format!("stored under {key} but its content hashes to {}", r.hash()),
            }),
            Ok(r) => order.push((r.record.time, key)),
        }
        true
    })?;
    order.sort_unstable();

    // Pass 2: replay every intact record through every rule again, each
    // batch validated while the previous one is written.
    let mut read_error = None;
    let batches = order.chunks(REPLAY_BATCH).map_while(|chunk| {
        let mut batch = Vec::with_capacity(chunk.len());
        for (_, h) in chunk {
            match crate::graph::Graph::record(ledger, h) {
                Ok(Some(r)) => batch.push(r),
                Ok(None) => {}
                Err(e) => {
                    read_error = Some(e);
                    return None;
                }
            }
        }
        Some(batch)
    });
    replay.ingest_stream(batches, now, |report| {
        for (h, o) in report.outcomes.iter().chain(&report.released) {
            if let Outcome::Rejected { error } = o {
                problems.push(Problem {
                    record: *h,
                    what: format!("breaks a rule: {error}"),
                });
            }
        }
    })?;
    if let Some(e) = read_error {
        return Err(e.into());
    }

    // Whatever is still pending never found its prev or deps.
    let mut unverifiable = Vec::new();
    replay
        .store()
        .for_each_prefix(&[crate::tables::PENDING], &mut |k, _| {
            unverifiable.extend(crate::tables::trailing_hash(k));
            true
        })?;
    problems.sort_by(|a, b| a.record.cmp(&b.record).then(a.what.cmp(&b.what)));
    problems.dedup();

    Ok(AuditReport {
        records: examined,
        problems,
        unverifiable,
        digest: ledger.state_digest()?,
        replayed_digest: replay.state_digest()?,
    })
}
