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
use crate::tables::Tables;

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
        // Nor budgets: whatever waits, waits until the replay ends.
        stranger_capacity: usize::MAX,
        stranger_bytes: u64::MAX,
        pending_ttl_ms: u64::MAX,
        // The replay's writer thread takes one core; signatures the rest.
        verify_threads: std::thread::available_parallelism()
            .map_or(1, |n| n.get())
            .saturating_sub(1)
            .max(1),
        ..LedgerConfig::default()
    };
    let mut replay = Ledger::create(scratch, ledger.genesis().clone(), config)?;
    let mut problems = Vec::new();
    let examined = std::sync::atomic::AtomicU64::new(0);
    let examined = &examined;
    let count = std::sync::atomic::Ordering::Relaxed;

    // Every logged record decodes and is indexed under its own hash; the
    // intact ones are replayed through every rule again in log order
    // (causes before effects), each batch validated while the previous
    // one is written.
    let mut damaged: Vec<(u64, String)> = Vec::new();
    let mut read_error = None;
    let mut after = 0u64;
    let pages = std::iter::from_fn(|| {
        let page = match ledger.log_page(after, REPLAY_BATCH) {
            Ok(p) => p,
            Err(e) => {
                read_error = Some(e);
                return None;
            }
        };
        let (last, _) = page.last()?;
        after = *last;
        let mut batch = Vec::with_capacity(page.len());
        examined.fetch_add(u64::try_from(page.len()).unwrap_or(0), count);
        for (seq, bytes) in page {
            match SignedRecord::decode(&bytes) {
                Err(e) => damaged.push((seq, format!("stored bytes do not decode: {e}"))),
                Ok(r) => {
                    let h = r.hash();
                    match ledger.kv().seq_of(&h) {
                        Ok(Some(s)) if s == seq => batch.push(r),
                        Ok(_) => damaged.push((seq, format!("its content hashes to {h}"))),
                        Err(e) => {
                            read_error = Some(e);
                            return None;
                        }
                    }
                }
            }
        }
        Some(batch)
    });
    replay.ingest_stream(pages, now, |report| {
        progress(examined.load(count));
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
    let examined = examined.load(count);
    progress(examined);

    // Name damaged entries by the hash they are indexed under, and find
    // indexed records whose log entry is gone.
    if !damaged.is_empty() || examined != ledger.len() {
        let mut by_seq: std::collections::BTreeMap<u64, Hash> = std::collections::BTreeMap::new();
        ledger.for_each_indexed(|h, seq| {
            by_seq.insert(seq, h);
        })?;
        for (seq, what) in damaged {
            if let Some(h) = by_seq.remove(&seq) {
                problems.push(Problem { record: h, what });
            }
        }
        for (seq, h) in by_seq {
            if ledger
                .log_page(seq - 1, 1)?
                .first()
                .is_none_or(|(s, _)| *s != seq)
            {
                problems.push(Problem {
                    record: h,
                    what: format!("its log entry {seq} is missing"),
                });
            }
        }
    }

    // Whatever is still pending never found its prev or deps.
    let unverifiable = replay.kv().pending_all()?;
    let replayed_digest = replay.state_digest()?;
    drop(replay);
    problems.sort_by(|a, b| a.record.cmp(&b.record).then(a.what.cmp(&b.what)));
    problems.dedup();

    Ok(AuditReport {
        records: examined,
        problems,
        unverifiable,
        digest: ledger.state_digest()?,
        replayed_digest,
    })
}
