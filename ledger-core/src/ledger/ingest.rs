//! Deciding records: each one is accepted (logged, indexed, its effects
//! applied), rejected, or parked in the pending pool until its causes
//! arrive or its time comes; accepting one releases what waited for it.
//!
//! The pool is bounded three ways: known authors' records by
//! [`LedgerConfig::pending_capacity`], strangers' (authors not known as
//! enrolled, whose keys cost nothing to make) by a budget of their own
//! (count and bytes, and a share of both per [`Source`] the records came
//! from), and every record by time: one waiting longer than
//! [`LedgerConfig::pending_ttl_ms`] is dropped on the next tick, and one
//! dated beyond [`LedgerConfig::max_park_ahead_ms`] is never parked.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use super::flags;
use super::pipeline::Checked;
use super::{IngestReport, LedgerConfig, Outcome, PendingReason, Source};
use crate::branch;
use crate::error::{StoreError, ValidationError};
use crate::event::Event;
use crate::event::LotId;
use crate::genesis::Genesis;
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::{self, LotEntry, Parked, Tables, TablesMut};
use crate::tail::{Layer, Writes};
use crate::tlog::Summary;
use crate::txn::Txn;
use crate::validate::{check_in_context, CheckError, Effects, View};

/// Whether records are being decided as they arrive, or re-derived from
/// the log on opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    /// Arriving records: accepted ones are logged.
    Live,
    /// Logged records: already in the log, derived again.
    Replay,
}

/// What staging a batch reads.
pub(super) struct Context<'a> {
    pub(super) store: &'a dyn Store,
    pub(super) layers: &'a [Arc<Layer>],
    pub(super) base: Option<&'a Writes>,
    pub(super) genesis: &'a Genesis,
    pub(super) config: LedgerConfig,
    pub(super) now: u64,
    pub(super) mode: Mode,
    /// Also release records waiting for something already stored (once,
    /// after opening: a crash can lose the release that accepting their
    /// cause had staged).
    pub(super) sweep: bool,
    /// Also drop the records that have waited too long (the ledger
    /// decides when: see `Ledger::stage`).
    pub(super) expire: bool,
    /// Records parked before a crash that the pool lost, each with its
    /// parking (on opening): decided again, keeping when they were first
    /// parked and where they came from.
    pub(super) revive: Vec<(Hash, SignedRecord, Parked)>,
}

/// What the pending pool holds, as kept between stagings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Pool {
    /// Records in the pool.
    pub(super) len: usize,
    /// Of them, records of strangers.
    pub(super) strangers: usize,
    /// Their bytes (encoded).
    pub(super) stranger_bytes: u64,
    /// Strangers' records by the source they came from (a source with
    /// none waiting has no entry, so this holds at most `strangers`).
    by_source: BTreeMap<Source, Share>,
}

/// One source's strangers' records in the pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Share {
    records: usize,
    bytes: u64,
}

impl Pool {
    /// Counts a parked record (its parking entry `p`) in.
    fn add(&mut self, p: &Parked) {
        self.len += 1;
        if !p.stranger {
            return;
        }
        self.strangers += 1;
        self.stranger_bytes += u64::from(p.bytes);
        if let Some(source) = p.source {
            let share = self.by_source.entry(source).or_default();
            share.records += 1;
            share.bytes += u64::from(p.bytes);
        }
    }

    /// Counts a stranger's record (its parking entry `p`) out; the pool's
    /// `len` is the caller's (a record may have lost its entry).
    fn remove_stranger(&mut self, p: &Parked) {
        if !p.stranger {
            return;
        }
        self.strangers = self.strangers.saturating_sub(1);
        self.stranger_bytes = self.stranger_bytes.saturating_sub(u64::from(p.bytes));
        if let Some(source) = p.source {
            if let Some(share) = self.by_source.get_mut(&source) {
                share.records = share.records.saturating_sub(1);
                share.bytes = share.bytes.saturating_sub(u64::from(p.bytes));
                if share.records == 0 {
                    self.by_source.remove(&source);
                }
            }
        }
    }

    /// The strangers' records `source` has in the pool, and their bytes.
    fn share(&self, source: &Source) -> (usize, u64) {
        self.by_source
            .get(source)
            .map_or((0, 0), |s| (s.records, s.bytes))
    }
}

/// The pool's counts as `kv` holds it (on opening).
pub(super) fn pool_counts(kv: &impl Tables) -> Result<Pool, StoreError> {
    let mut pool = Pool::default();
    for (_, p) in kv.parked_all()? {
        pool.add(&p);
    }
    // Records parked before parking entries were kept have none (they
    // count as known authors' records).
    pool.len = kv.pending_all()?.len();
    Ok(pool)
}

/// The key a record introduces to the ledger: the participant an enroll
/// names, or the successor a key rotation names.
pub(super) fn introduces(record: &SignedRecord) -> Option<PublicKey> {
    match &record.record.event {
        Event::Enroll { participant, .. } => Some(*participant),
        Event::RotateKey { new_key } => Some(*new_key),
        _ => None,
    }
}

/// A batch decided but not yet written.
pub(super) struct Staged {
    /// Log entries and derived writes.
    pub(super) writes: Writes,
    /// The records stored, as the transparency log needs them.
    pub(super) stored: Vec<(Hash, Summary)>,
    pub(super) report: IngestReport,
    pub(super) pool: Pool,
    pub(super) records_len: u64,
    pub(super) next_seq: u64,
}

impl Staged {
    /// The pool counts, record count and next log seq it leaves.
    pub(super) fn counts(&self) -> (Pool, u64, u64) {
        (self.pool.clone(), self.records_len, self.next_seq)
    }
}

/// Decides a checked batch: each record, then whatever the pool releases,
/// then records whose time has come, then (if `cx.expire`) the records
/// that have waited too long.
pub(super) fn stage(
    mut cx: Context<'_>,
    (pool, records_len, next_seq): (Pool, u64, u64),
    checked: Vec<Checked>,
) -> Result<Staged, StoreError> {
    let (cx_sweep, expire) = (cx.sweep, cx.expire);
    let revive = std::mem::take(&mut cx.revive);
    let mut ingest = Ingest::new(cx, pool, records_len, next_seq);
    if cx_sweep {
        ingest.adopt_unmarked()?;
    }
    for (hash, record, parked) in revive {
        // Out of the copies first: parking it again writes a new copy.
        ingest.txn.delete_parked_copy(&hash);
        let arrival = Arrival {
            since: Some(parked.since),
            source: parked.source,
        };
        // Back in the pool is no news; anything else (taken, expired,
        // refused) is reported as a release.
        let outcome = ingest.admit(hash, record, arrival)?;
        if !matches!(outcome, Outcome::Pending(_)) {
            ingest.report.released.push((hash, outcome));
        }
    }
    for (hash, record, verdict, source) in checked {
        let outcome = match verdict {
            Err(error) => Outcome::Rejected { error },
            Ok(()) => ingest.admit(
                hash,
                record,
                Arrival {
                    since: None,
                    source,
                },
            )?,
        };
        ingest.report.outcomes.push((hash, outcome));
    }
    ingest.release_due()?;
    if cx_sweep {
        ingest.release_stale()?;
    }
    if expire && !ingest.expired {
        ingest.expire()?;
    }
    Ok(ingest.finish())
}

/// Derives logged records again, each at its own seq. Each must be
/// accepted where it stands: its causes precede it in the log.
pub(super) fn stage_logged(
    cx: Context<'_>,
    (pool, records_len, next_seq): (Pool, u64, u64),
    entries: Vec<(u64, SignedRecord)>,
) -> Result<Staged, StoreError> {
    let mut ingest = Ingest::new(cx, pool, records_len, next_seq);
    for (seq, record) in entries {
        let hash = record.hash();
        ingest.log_seq = Some(seq);
        let outcome = ingest.decide(hash, record, Arrival::default())?;
        if outcome != Outcome::Accepted {
            return Err(StoreError::Corrupt {
                key: format!("log entry {seq}"),
                why: format!(
                    "record {} is logged but not acceptable: {outcome:?}",
                    hash.short()
                ),
            });
        }
    }
    Ok(ingest.finish())
}

/// How a record comes to be decided: when it was first parked (if it
/// comes from the pool) and where it came from (if its caller said).
#[derive(Debug, Clone, Copy, Default)]
struct Arrival {
    since: Option<u64>,
    source: Option<Source>,
}

/// The state of one staging.
struct Ingest<'a> {
    txn: Txn<'a>,
    genesis: &'a Genesis,
    config: LedgerConfig,
    now: u64,
    mode: Mode,
    pool: Pool,
    records_len: u64,
    records_before: u64,
    next_seq: u64,
    /// Replay: the seq of the entry being derived.
    log_seq: Option<u64>,
    /// Whether this staging has dropped the expired records already.
    expired: bool,
    report: IngestReport,
    stored: Vec<(Hash, Summary)>,
}

impl<'a> Ingest<'a> {
    fn new(cx: Context<'a>, pool: Pool, records_len: u64, next_seq: u64) -> Self {
        Ingest {
            txn: Txn::new(cx.store, cx.layers, cx.base),
            genesis: cx.genesis,
            config: cx.config,
            now: cx.now,
            mode: cx.mode,
            pool,
            records_len,
            records_before: records_len,
            next_seq,
            log_seq: None,
            expired: false,
            report: IngestReport::default(),
            stored: Vec::new(),
        }
    }

    fn finish(mut self) -> Staged {
        if self.records_len != self.records_before {
            self.txn.put_record_count(self.records_len);
        }
        Staged {
            stored: self.stored,
            writes: self.txn.into_writes(),
            report: self.report,
            pool: self.pool,
            records_len: self.records_len,
            next_seq: self.next_seq,
        }
    }

    /// Decides one record that passed the intrinsic and signature checks,
    /// then everything in the pending pool that it unblocks.
    fn admit(
        &mut self,
        hash: Hash,
        record: SignedRecord,
        arrival: Arrival,
    ) -> Result<Outcome, StoreError> {
        let outcome = self.decide(hash, record, arrival)?;
        if outcome == Outcome::Accepted {
            self.release_waiters(hash)?;
        }
        Ok(outcome)
    }

    fn decide(
        &mut self,
        hash: Hash,
        record: SignedRecord,
        arrival: Arrival,
    ) -> Result<Outcome, StoreError> {
        if self.txn.has_record(&hash)? {
            return Ok(Outcome::Duplicate);
        }
        let r = &record.record;
        // Beyond any wait the pool allows: refused, not parked (a record
        // dated in 2100 would otherwise hold a slot for good).
        let max_ahead_ms = self
            .config
            .max_park_ahead_ms
            .max(self.config.max_future_skew_ms);
        if r.time > self.now.saturating_add(max_ahead_ms) {
            return Ok(Outcome::TooFarAhead {
                time: r.time,
                now: self.now,
                max_ahead_ms,
            });
        }
        let mut absent = Vec::new();
        for h in r.prev.iter().chain(&r.deps) {
            if !self.txn.has_record(h)? {
                absent.push(*h);
            }
        }
        if !absent.is_empty() {
            return self.park(
                hash,
                &record,
                PendingReason::Missing { hashes: absent },
                arrival,
            );
        }
        if r.time > self.now.saturating_add(self.config.max_future_skew_ms) {
            let reason = PendingReason::Future {
                time: r.time,
                now: self.now,
            };
            return self.park(hash, &record, reason, arrival);
        }
        match self.judge(&record) {
            Ok((fx, main)) => {
                self.store_record(hash, &record, fx, main)?;
                Ok(Outcome::Accepted)
            }
            Err(CheckError::Invalid(error)) => Ok(Outcome::Rejected { error }),
            Err(CheckError::Store(e)) => Err(e),
        }
    }

    /// Validates against the main branch when the record extends it, and
    /// against its own replayed branch otherwise.
    fn judge(&self, record: &SignedRecord) -> Result<(Effects, bool), CheckError> {
        let r = &record.record;
        let state = View::key_state(&self.txn, &r.author)?;
        let main = match (r.prev, &state) {
            (Some(prev), Some(s)) => s.head == prev,
            (Some(_), None) => false,
            (None, Some(_)) => false,
            (None, None) => self.rotation_on_main(record)?,
        };
        if main {
            Ok((check_in_context(record, self.genesis, &self.txn)?, true))
        } else {
            // Refuse a broken chain link before paying for a replay.
            if let Some(prev) = r.prev {
                let link = View::record(&self.txn, &prev)?.ok_or_else(|| StoreError::Corrupt {
                    key: prev.to_hex(),
                    why: "prev vanished during ingest".into(),
                })?;
                if link.record.author != r.author {
                    return Err(ValidationError::PrevMismatch { prev }.into());
                }
                let expected = link.record.seq.saturating_add(1);
                if r.seq != expected {
                    let (prev_seq, seq) = (link.record.seq, r.seq);
                    return Err(if seq > expected {
                        ValidationError::SeqGap { prev_seq, seq }
                    } else {
                        ValidationError::SeqReuse { prev_seq, seq }
                    }
                    .into());
                }
            }
            let view = branch::replay(&self.txn, self.genesis, record)?;
            Ok((check_in_context(record, self.genesis, &view)?, false))
        }
    }

    /// A first record is on the main branch unless it continues a rotated
    /// chain from a rotate-key record that is not its old key's main head.
    fn rotation_on_main(&self, record: &SignedRecord) -> Result<bool, StoreError> {
        for d in &record.record.deps {
            let Some(dep) = View::record(&self.txn, d)? else {
                continue;
            };
            if matches!(dep.record.event, crate::event::Event::RotateKey { new_key } if new_key == record.record.author)
            {
                let old = View::key_state(&self.txn, &dep.record.author)?;
                return Ok(old.is_some_and(|s| s.head == *d));
            }
        }
        Ok(true)
    }

    /// Whether the ledger knows `author` as enrolled: a genesis authority,
    /// a key with a chain, or one an enroll or rotation it holds
    /// introduces. Anyone else is a stranger to the pending pool.
    fn known(&self, author: &PublicKey) -> Result<bool, StoreError> {
        Ok(self.genesis.authority(author).is_some()
            || Tables::key_state(&self.txn, author)?.is_some()
            || self.txn.introduced(author)?)
    }

    /// Parks a record in the pending pool, within its budget: known
    /// authors' records count against `pending_capacity`, strangers'
    /// against their own count and bytes, and against their source's
    /// share of those. When the budget is spent, the
    /// records that have waited too long are dropped first (once per
    /// staging), and the record is refused if that made no room.
    fn park(
        &mut self,
        hash: Hash,
        record: &SignedRecord,
        reason: PendingReason,
        arrival: Arrival,
    ) -> Result<Outcome, StoreError> {
        if self.mode == Mode::Replay {
            // A logged record always follows its causes in the log.
            return Ok(Outcome::Pending(reason));
        }
        let already = self.txn.pending(&hash)?.is_some();
        if !already {
            let bytes = record.encode();
            let size = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
            let parked = Parked {
                since: arrival.since.unwrap_or(self.now),
                stranger: !self.known(&record.record.author)?,
                bytes: size,
                source: arrival.source,
            };
            if let Some(full) = self.no_room(&parked) {
                if self.expired {
                    return Ok(full);
                }
                self.expire()?;
                if let Some(full) = self.no_room(&parked) {
                    return Ok(full);
                }
            }
            self.pool.add(&parked);
            self.txn.put_parked_copy(&hash, &parked, &bytes);
            self.txn.put_pending(&hash, bytes);
            self.txn.put_parked(&hash, &parked);
        }
        match &reason {
            PendingReason::Missing { hashes } => {
                for m in hashes {
                    self.txn.put_waiting(m, &hash);
                }
            }
            PendingReason::Future { time, .. } => self.txn.put_future(*time, &hash),
        }
        Ok(Outcome::Pending(reason))
    }

    /// The refusal a record to be parked as `p` meets when its part of
    /// the pool (its source's share of the strangers', the strangers', or
    /// known authors') is spent; `None` if it fits. The strangers' whole
    /// room is judged first: a source's share is the reason only while
    /// other sources still have room.
    fn no_room(&self, p: &Parked) -> Option<Outcome> {
        let c = &self.config;
        let size = u64::from(p.bytes);
        if p.stranger {
            // The whole room first: a source's share is the reason only
            // while others still have room.
            let bytes = self.pool.stranger_bytes.saturating_add(size);
            if self.pool.strangers >= c.stranger_capacity || bytes > c.stranger_bytes {
                return Some(Outcome::StrangerPoolFull {
                    capacity: c.stranger_capacity,
                    bytes: c.stranger_bytes,
                });
            }
            let source = p.source?;
            let (records, bytes) = self.pool.share(&source);
            let per_source = c.stranger_per_source.min(c.stranger_capacity);
            let max_bytes = c.stranger_source_bytes();
            (records >= per_source || bytes.saturating_add(size) > max_bytes).then_some(
                Outcome::StrangerSourceFull {
                    per_source,
                    bytes: max_bytes,
                },
            )
        } else {
            let known = self.pool.len.saturating_sub(self.pool.strangers);
            (known >= c.pending_capacity).then_some(Outcome::PoolFull {
                capacity: c.pending_capacity,
            })
        }
    }

    /// Takes a record out of the pool (if there) for another decision,
    /// with the time it was first parked and where it came from.
    fn unpark(&mut self, hash: &Hash) -> Result<Option<(SignedRecord, Arrival)>, StoreError> {
        let Some(record) = self.txn.pending(hash)? else {
            return Ok(None);
        };
        let parked = self.txn.parked(hash)?;
        self.txn.delete_pending(hash);
        self.txn.delete_parked_copy(hash);
        self.pool.len = self.pool.len.saturating_sub(1);
        if let Some(p) = parked {
            self.txn.delete_parked(hash);
            self.pool.remove_stranger(&p);
        }
        let arrival = Arrival {
            since: parked.map(|p| p.since),
            source: parked.and_then(|p| p.source),
        };
        Ok(Some((record, arrival)))
    }

    fn release_waiters(&mut self, arrived: Hash) -> Result<(), StoreError> {
        if self.pool.len == 0 {
            return Ok(());
        }
        let mut queue = VecDeque::from([arrived]);
        while let Some(h) = queue.pop_front() {
            for waiter in self.txn.waiters(&h)? {
                self.txn.delete_waiting(&h, &waiter);
                if let Some((record, arrival)) = self.unpark(&waiter)? {
                    let outcome = self.decide(waiter, record, arrival)?;
                    if outcome == Outcome::Accepted {
                        queue.push_back(waiter);
                    }
                    if !matches!(outcome, Outcome::Pending(_)) {
                        self.report.released.push((waiter, outcome));
                    }
                }
            }
        }
        Ok(())
    }

    /// Retries records that were dated ahead of the clock and now are not.
    fn release_due(&mut self) -> Result<(), StoreError> {
        if self.pool.len == 0 {
            return Ok(());
        }
        let horizon = self.now.saturating_add(self.config.max_future_skew_ms);
        for (time, h) in self.txn.future_until(horizon)? {
            self.txn.delete_future(time, &h);
            if let Some((record, arrival)) = self.unpark(&h)? {
                let outcome = self.admit(h, record, arrival)?;
                if !matches!(outcome, Outcome::Pending(_)) {
                    self.report.released.push((h, outcome));
                }
            }
        }
        Ok(())
    }

    /// Releases records waiting for something already stored.
    fn release_stale(&mut self) -> Result<(), StoreError> {
        if self.pool.len == 0 {
            return Ok(());
        }
        for m in self.txn.missing()? {
            if self.txn.has_record(&m)? {
                self.release_waiters(m)?;
            }
        }
        Ok(())
    }

    /// Drops the records that have waited in the pool for
    /// `pending_ttl_ms` or longer, with what they wait for. Goes through
    /// the staged writes like any other change of the pool, so it lands
    /// (or is lost to a crash, and done again) with the batch.
    fn expire(&mut self) -> Result<(), StoreError> {
        self.expired = true;
        if self.pool.len == 0 {
            return Ok(());
        }
        let ttl_ms = self.config.pending_ttl_ms;
        for (h, parked) in self.txn.parked_all()? {
            if parked.since.saturating_add(ttl_ms) > self.now {
                continue;
            }
            let Some((record, _)) = self.unpark(&h)? else {
                self.txn.delete_parked(&h);
                self.txn.delete_parked_copy(&h);
                continue;
            };
            let r = &record.record;
            for m in r.prev.iter().chain(&r.deps) {
                self.txn.delete_waiting(m, &h);
            }
            self.txn.delete_future(r.time, &h);
            let outcome = Outcome::Expired {
                parked_at: parked.since,
                ttl_ms,
            };
            self.report.released.push((h, outcome));
        }
        Ok(())
    }

    /// Gives records parked before parking entries were kept (by an older
    /// version) an entry as of now: they count as known authors' records
    /// and expire a `pending_ttl_ms` from now.
    fn adopt_unmarked(&mut self) -> Result<(), StoreError> {
        if self.pool.len == 0 {
            return Ok(());
        }
        for h in self.txn.pending_all()? {
            if self.txn.parked(&h)?.is_some() {
                continue;
            }
            if let Some(record) = self.txn.pending(&h)? {
                let parked = Parked {
                    since: self.now,
                    stranger: false,
                    bytes: u32::try_from(record.encode().len()).unwrap_or(u32::MAX),
                    source: None,
                };
                self.txn.put_parked(&h, &parked);
            }
        }
        Ok(())
    }

    /// Logs a record (live) and writes its indexes and, on the main
    /// branch, its effects.
    fn store_record(
        &mut self,
        hash: Hash,
        record: &SignedRecord,
        fx: Effects,
        main: bool,
    ) -> Result<(), StoreError> {
        let r = &record.record;
        let seq = match (self.mode, self.log_seq) {
            (Mode::Replay, Some(seq)) => seq,
            _ => {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.txn.put_logged(seq, record.encode());
                seq
            }
        };
        self.stored.push((hash, Summary::of(seq, record)));
        if self.mode == Mode::Replay {
            // Whatever the pool still holds of it was released by the
            // batch that logged it.
            self.unpark(&hash)?;
        }
        let txn = &mut self.txn;
        txn.put_seq(&hash, seq);
        if self.mode == Mode::Replay {
            for m in r.prev.iter().chain(&r.deps) {
                txn.delete_waiting(m, &hash);
            }
            txn.delete_future(r.time, &hash);
        }

        let mut forked = Vec::new();
        match tables::extend_chain_block(txn, &r.author, r.seq, &hash)? {
            Ok(block) => txn.put_chain_block(&r.author, r.seq, &block),
            Err(first) => {
                // An equivocation: keep both records as the fork proof.
                if txn.forks_at(&r.author, r.seq)?.is_empty() {
                    txn.put_fork(&r.author, r.seq, &first);
                    forked.push(first);
                }
                txn.put_fork(&r.author, r.seq, &hash);
                forked.push(hash);
            }
        }
        for dep in &r.deps {
            txn.put_dep_child(dep, &hash);
        }
        let kind = r.event.kind();
        if tables::indexed_kind(kind) {
            txn.put_kind(&hash, r);
        }
        for lot in r.event.referenced_lots() {
            index_lot(txn, lot, &hash)?;
        }
        if let Some(k) = introduces(record) {
            txn.put_introduced(&k);
        }
        for (code, product, _) in r.event.created_lots() {
            let lot = LotId {
                source: fx.key_state.identity,
                code: code.to_owned(),
            };
            index_lot(txn, &lot, &hash)?;
            txn.put_code(&lot);
            if let Some(gtin) = &product.gtin {
                txn.put_gtin_lot(gtin, &lot);
            }
        }
        if main {
            let identity = fx.key_state.identity;
            // On the main branch a record without prev is its key's
            // first (judge: no prev extends the main branch only where
            // the key has no chain yet).
            if r.prev.is_none() {
                let chains = txn.chain_count()?.unwrap_or(0);
                txn.put_chain_count(chains + 1);
            }
            txn.put_key_state(&r.author, &fx.key_state);
            for (lot, q) in &fx.balances {
                txn.put_balance(&identity, lot, q);
            }
            if let Some(s) = fx.received {
                txn.put_received(&identity, &s);
            }
        }
        flags::on_stored(txn, hash, record, &forked)?;
        self.records_len += 1;
        Ok(())
    }
}

/// Lists `hash` among the records of `lot`: in the lot's posting value
/// while it has room, under a key of its own after that.
fn index_lot(txn: &mut Txn<'_>, lot: &LotId, hash: &Hash) -> Result<(), StoreError> {
    match tables::lot_entry(txn, lot, hash)? {
        LotEntry::Posting(posting) => txn.put_lot_posting(lot, &posting),
        LotEntry::Overflow => txn.put_lot_overflow(lot, hash),
        LotEntry::Listed => {}
    }
    Ok(())
}
