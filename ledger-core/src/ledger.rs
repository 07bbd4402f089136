//! The ledger: ingest (validate, store, index), the pending pool and group
//! commit.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use crate::branch;
use crate::encoding;
use crate::error::{StoreError, ValidationError};
use crate::genesis::Genesis;
use crate::hash::{Hash, NetworkId};
use crate::key;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables;
use crate::txn::{decode_stored, Txn, Writes};
use crate::validate::{check_in_context, check_intrinsic, CheckError, Effects, View};

/// Tunable limits of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerConfig {
    /// How far ahead of the local clock a record may be dated before it
    /// waits in the pending pool (ms). Five minutes covers phone clocks.
    pub max_future_skew_ms: u64,
    /// Most records the pending pool holds. Each is at most
    /// [`encoding::MAX_RECORD_BYTES`], so the pool stays under ~640 MiB even
    /// if every record is maximal, and ~3 MiB for ordinary ones.
    pub pending_capacity: usize,
    /// Threads that verify a batch's signatures (1: on the caller's
    /// thread). Signature checks dominate ingest cost and are independent,
    /// so they spread over cores; everything else stays sequential.
    pub verify_threads: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            max_future_skew_ms: 5 * 60 * 1000,
            pending_capacity: 10_000,
            verify_threads: 1,
        }
    }
}

/// Why a record waits in the pending pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "waiting_for", rename_all = "snake_case")]
pub enum PendingReason {
    /// Its prev or some deps are not stored yet.
    Missing {
        /// The absent hashes.
        hashes: Vec<Hash>,
    },
    /// It is dated beyond the allowed skew of the local clock.
    Future {
        /// Its time.
        time: u64,
        /// The local clock when it arrived.
        now: u64,
    },
}

/// What happened to one submitted record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// Validated and durably stored.
    Accepted,
    /// Already stored; nothing changed.
    Duplicate,
    /// Waiting in the pending pool; it is validated when it can be.
    Pending(PendingReason),
    /// Breaks a rule; not stored.
    Rejected {
        /// The rule.
        #[serde(serialize_with = "crate::ledger::display")]
        error: ValidationError,
    },
    /// It would have to wait, but the pending pool is full.
    PoolFull {
        /// The pool's capacity.
        capacity: usize,
    },
}

pub(crate) fn display<T: std::fmt::Display, S: serde::Serializer>(
    v: &T,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl Outcome {
    /// Whether the record is now stored.
    pub fn is_stored(&self) -> bool {
        matches!(self, Outcome::Accepted | Outcome::Duplicate)
    }
}

/// The outcome of one record given as bytes: `Err` if it did not decode.
pub type DecodedOutcome = Result<(Hash, Outcome), encoding::DecodeError>;

/// The verdicts of one ingest call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IngestReport {
    /// One outcome per submitted record, in order.
    pub outcomes: Vec<(Hash, Outcome)>,
    /// Records from the pending pool decided during this call.
    pub released: Vec<(Hash, Outcome)>,
}

/// The result of [`Ledger::ingest_atomic`].
#[derive(Debug, Clone)]
pub enum Atomic {
    /// Every record was accepted and the batch is durable.
    Committed(IngestReport),
    /// Some record was not accepted; nothing was written.
    Refused(IngestReport),
}

/// A record rejected, with the record it names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("record {hash} (author {author}, seq {seq}): {error}")]
pub struct Rejection {
    /// The record.
    pub hash: Hash,
    /// Its author (short hex).
    pub author: String,
    /// Its seq.
    pub seq: u64,
    /// The broken rule.
    pub error: ValidationError,
}

/// A validated, replicated-ready ledger over a [`Store`].
pub struct Ledger<S: Store> {
    pub(crate) store: S,
    pub(crate) genesis: Genesis,
    pub(crate) network: NetworkId,
    pub(crate) config: LedgerConfig,
    pending_len: usize,
    records_len: u64,
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("network", &self.network)
            .field("records", &self.records_len)
            .field("pending", &self.pending_len)
            .finish()
    }
}

impl<S: Store> Ledger<S> {
    /// Founds a new ledger in an empty store.
    pub fn create(store: S, genesis: Genesis, config: LedgerConfig) -> Result<Self, CreateError> {
        genesis.check()?;
        if store.get(tables::GENESIS)?.is_some() {
            return Err(StoreError::AlreadyExists("this store".into()).into());
        }
        let mut b = crate::store::Batch::default();
        b.put(tables::GENESIS.to_vec(), genesis.encode());
        b.put(tables::RECORD_COUNT.to_vec(), 0u64.to_le_bytes().to_vec());
        store.apply(b)?;
        store.flush()?;
        Ok(Self::from_parts(store, genesis, config, 0, 0))
    }

    /// Opens an existing ledger.
    pub fn open(store: S, config: LedgerConfig) -> Result<Self, CreateError> {
        let bytes = store
            .get(tables::GENESIS)?
            .ok_or_else(|| StoreError::NotALedger("this store".into()))?;
        let genesis = Genesis::decode(&bytes)?;
        let records_len = match store.get(tables::RECORD_COUNT)? {
            Some(v) => {
                u64::from_le_bytes(v.as_slice().try_into().map_err(|_| StoreError::Corrupt {
                    key: "mrecords".into(),
                    why: "record count is not 8 bytes".into(),
                })?)
            }
            None => 0,
        };
        let mut pending_len = 0;
        store.for_each_prefix(&[tables::PENDING], &mut |_, _| {
            pending_len += 1;
            true
        })?;
        Ok(Self::from_parts(
            store,
            genesis,
            config,
            pending_len,
            records_len,
        ))
    }

    fn from_parts(
        store: S,
        genesis: Genesis,
        config: LedgerConfig,
        pending_len: usize,
        records_len: u64,
    ) -> Self {
        let network = genesis.id();
        Ledger {
            store,
            genesis,
            network,
            config,
            pending_len,
            records_len,
        }
    }

    /// The genesis document.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The network id.
    pub fn network(&self) -> NetworkId {
        self.network
    }

    /// The limits this ledger was opened with.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (closing the ledger).
    pub fn into_store(self) -> S {
        self.store
    }

    /// How many records are stored.
    pub fn len(&self) -> u64 {
        self.records_len
    }

    /// Whether no record is stored.
    pub fn is_empty(&self) -> bool {
        self.records_len == 0
    }

    /// How many records wait in the pending pool.
    pub fn pending_len(&self) -> usize {
        self.pending_len
    }

    /// Ingests one record; see [`Self::ingest`].
    pub fn ingest_one(&mut self, record: SignedRecord, now: u64) -> Result<Outcome, StoreError> {
        let mut report = self.ingest(vec![record], now)?;
        Ok(report.outcomes.pop().map_or(Outcome::Duplicate, |(_, o)| o))
    }

    /// Decodes and ingests records given as canonical bytes. Bytes that do
    /// not decode are reported as `Err` in place, and nothing else about
    /// them is done.
    pub fn ingest_bytes(
        &mut self,
        items: &[Vec<u8>],
        now: u64,
    ) -> Result<Vec<DecodedOutcome>, StoreError> {
        let mut decoded = Vec::new();
        let mut slots = Vec::with_capacity(items.len());
        for bytes in items {
            match SignedRecord::decode(bytes) {
                Ok(r) => {
                    slots.push(Ok(decoded.len()));
                    decoded.push(r);
                }
                Err(e) => slots.push(Err(e)),
            }
        }
        let report = self.ingest(decoded, now)?;
        Ok(slots
            .into_iter()
            .map(|s| s.map(|i| report.outcomes[i].clone()))
            .collect())
    }

    /// Validates and stores a batch of records with one atomic write and one
    /// durable flush (group commit). Records may arrive in any order: those
    /// whose prev or deps are absent, or dated beyond the allowed clock skew
    /// of `now` (ms since epoch), wait in the pending pool and are decided
    /// when they can be. "Accepted" is reported only after the flush.
    pub fn ingest(
        &mut self,
        records: Vec<SignedRecord>,
        now: u64,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_inner(records, now, false)
            .map(|(report, _)| report)
    }

    /// Like [`Self::ingest`], but all or nothing: the batch is written only
    /// if every record in it is accepted (records it releases from the
    /// pending pool included); otherwise nothing at all is written and the
    /// report says why. For imports that must land whole.
    pub fn ingest_atomic(
        &mut self,
        records: Vec<SignedRecord>,
        now: u64,
    ) -> Result<Atomic, StoreError> {
        let (report, committed) = self.ingest_inner(records, now, true)?;
        Ok(if committed {
            Atomic::Committed(report)
        } else {
            Atomic::Refused(report)
        })
    }

    fn ingest_inner(
        &mut self,
        records: Vec<SignedRecord>,
        now: u64,
        all_or_nothing: bool,
    ) -> Result<(IngestReport, bool), StoreError> {
        let checked = precheck(records, &self.network, self.config.verify_threads);
        let staged = self.stage(checked, now, None, self.pending_len, self.records_len)?;
        if all_or_nothing
            && staged
                .report
                .outcomes
                .iter()
                .chain(&staged.report.released)
                .any(|(_, o)| *o != Outcome::Accepted)
        {
            return Ok((staged.report, false));
        }
        if !staged.writes.is_empty() {
            self.store.apply(staged.writes.into())?;
            self.store.flush()?;
        }
        self.pending_len = staged.pending_len;
        self.records_len = staged.records_len;
        Ok((staged.report, true))
    }

    /// Ingests a stream of batches with pipelined group commit: while one
    /// batch is written and flushed on a second thread, the next is
    /// validated against the store and the writes still in flight, and a
    /// third thread runs the checks that need no ledger state (signatures
    /// above all) on the batch after that. Each
    /// batch's report goes to `on_commit` once that batch is durable, in
    /// order; the verdicts are those [`Self::ingest`] would give the same
    /// batches one after another. Validation and storage then overlap
    /// instead of adding up, which is what a node catching up or a bulk
    /// import wants.
    ///
    /// If storage fails, the batch being written and the one staged after
    /// it are not reported, and the error is returned.
    pub fn ingest_stream<I>(
        &mut self,
        batches: I,
        now: u64,
        mut on_commit: impl FnMut(IngestReport),
    ) -> Result<(), StoreError>
    where
        I: IntoIterator<Item = Vec<SignedRecord>>,
        I::IntoIter: Send,
    {
        let this = &*self;
        let (network, verify_threads) = (self.network, self.config.verify_threads);
        let (pending_len, records_len) = std::thread::scope(|s| {
            // The state-free checks (signatures above all) of the batch
            // after next run on a thread of their own, so whichever core
            // the writer leaves idle does them.
            let (to_stager, checked) = std::sync::mpsc::sync_channel::<Vec<Checked>>(1);
            let batches = batches.into_iter();
            s.spawn(move || {
                for records in batches {
                    if to_stager
                        .send(precheck(records, &network, verify_threads))
                        .is_err()
                    {
                        break;
                    }
                }
            });
            // One batch in flight: the writer applies it while this thread
            // stages the next (with at most two more checked or being
            // checked), so memory holds at most four batches.
            let (to_writer, work) = std::sync::mpsc::sync_channel::<Arc<Writes>>(1);
            let (done, written) = std::sync::mpsc::sync_channel::<Result<(), StoreError>>(1);
            s.spawn(move || {
                for writes in work {
                    let result = this.store.apply(Writes::clone(&writes).into());
                    if done.send(result.and_then(|()| this.store.flush())).is_err() {
                        break;
                    }
                }
            });
            // Waits until the batch in flight is durable, reports it and
            // gives the pool and record counts it leaves.
            let mut land = |st: Staged| {
                written.recv().map_err(|_| writer_gone())??;
                on_commit(st.report);
                Ok::<_, StoreError>((st.pending_len, st.records_len))
            };
            let mut committed = (this.pending_len, this.records_len);
            let mut in_flight: Option<(Arc<Writes>, Staged)> = None;
            for batch in checked {
                let (pending_len, records_len) = in_flight
                    .as_ref()
                    .map_or(committed, |(_, st)| (st.pending_len, st.records_len));
                let base = in_flight.as_ref().map(|(w, _)| w.as_ref());
                let mut staged = this.stage(batch, now, base, pending_len, records_len)?;
                let writes = Arc::new(std::mem::take(&mut staged.writes));
                if let Some((_, previous)) = in_flight.take() {
                    committed = land(previous)?;
                }
                to_writer
                    .send(Arc::clone(&writes))
                    .map_err(|_| writer_gone())?;
                in_flight = Some((writes, staged));
            }
            drop(to_writer);
            if let Some((_, last)) = in_flight {
                committed = land(last)?;
            }
            Ok::<_, StoreError>(committed)
        })?;
        self.pending_len = pending_len;
        self.records_len = records_len;
        Ok(())
    }

    /// Decides a batch that went through [`precheck`] against the store,
    /// read through `base` (writes not yet in the store), starting from
    /// the given pool and record counts, and returns the writes it needs
    /// without applying them.
    fn stage(
        &self,
        checked: Vec<Checked>,
        now: u64,
        base: Option<&Writes>,
        pending_len: usize,
        records_len: u64,
    ) -> Result<Staged, StoreError> {
        let mut ingest = Ingest {
            txn: Txn::new(&self.store, base),
            genesis: &self.genesis,
            config: self.config,
            now,
            pending_len,
            stored: 0,
            report: IngestReport::default(),
        };
        for (hash, record, verdict) in checked {
            let outcome = match verdict {
                Err(error) => Outcome::Rejected { error },
                Ok(()) => ingest.admit(hash, record)?,
            };
            ingest.report.outcomes.push((hash, outcome));
        }
        ingest.release_due()?;

        let Ingest {
            mut txn,
            pending_len,
            stored,
            report,
            ..
        } = ingest;
        let records_len = records_len + stored;
        if stored > 0 {
            txn.put(
                tables::RECORD_COUNT.to_vec(),
                records_len.to_le_bytes().to_vec(),
            );
        }
        Ok(Staged {
            writes: txn.into_writes(),
            report,
            pending_len,
            records_len,
        })
    }

    /// Releases pending records whose time has come; call on a timer.
    pub fn tick(&mut self, now: u64) -> Result<IngestReport, StoreError> {
        self.ingest(Vec::new(), now)
    }
}

/// Lists `hash` among the records of `lot`: in the lot's posting value
/// while it has room, under a key of its own after that.
fn index_lot(txn: &mut Txn<'_>, lot: &crate::event::LotId, hash: &Hash) -> Result<(), StoreError> {
    let key = tables::lot_posting(lot);
    let mut posting = read_hash_list(txn, &key)?;
    if tables::hash_list(&posting).any(|h| h == *hash) {
        // A transform may name one lot in two inputs.
        return Ok(());
    }
    if posting.len() / 32 < tables::LOT_POSTING {
        posting.extend_from_slice(&hash.0);
        txn.put(key, posting);
    } else {
        txn.put(tables::lot_overflow(lot, hash), Vec::new());
    }
    Ok(())
}

/// The value under `key` that lists hashes (empty if absent), refused as
/// corrupt unless it is whole hashes.
fn read_hash_list(txn: &Txn<'_>, key: &[u8]) -> Result<Vec<u8>, StoreError> {
    let value = txn.get(key)?.unwrap_or_default();
    if value.len() % 32 != 0 {
        return Err(StoreError::Corrupt {
            key: hex::encode(key),
            why: "value is not a list of 32-byte hashes".into(),
        });
    }
    Ok(value)
}

/// A record with its hash and the verdict of the checks that need no
/// ledger state (well-formedness, network, signature).
type Checked = (Hash, SignedRecord, Result<(), ValidationError>);

/// The state-free checks of a batch: cheap ones first, then every
/// signature in one ZIP-215 batch (spread over `verify_threads`).
fn precheck(
    records: Vec<SignedRecord>,
    network: &NetworkId,
    verify_threads: usize,
) -> Vec<Checked> {
    let mut messages = Vec::with_capacity(records.len());
    let mut checked: Vec<Checked> = records
        .into_iter()
        .map(|r| {
            let verdict = check_intrinsic(&r, network);
            let (hash, message) = r.record.hash_and_signing_message();
            messages.push(message);
            (hash, r, verdict)
        })
        .collect();
    let items: Vec<_> = checked
        .iter()
        .zip(&messages)
        .filter(|((_, _, v), _)| v.is_ok())
        .map(|((_, r, _), m)| (r.record.author, m.as_slice(), r.signature))
        .collect();
    let mut sig_verdicts = verify_parallel(&items, verify_threads).into_iter();
    for (_, _, verdict) in checked.iter_mut().filter(|(_, _, v)| v.is_ok()) {
        if !matches!(sig_verdicts.next(), Some(Ok(()))) {
            *verdict = Err(ValidationError::BadSignature);
        }
    }
    checked
}

/// A batch decided but not yet written.
struct Staged {
    writes: Writes,
    report: IngestReport,
    pending_len: usize,
    records_len: u64,
}

/// The pipeline's writer thread ended without answering (it panicked).
fn writer_gone() -> StoreError {
    StoreError::Engine("the pipelined writer thread stopped".into())
}

/// Fewest signatures worth a thread of their own.
const MIN_SIGNATURES_PER_THREAD: usize = 64;

/// [`key::verify_batch`] spread over up to `threads` scoped threads.
fn verify_parallel(
    items: &[(crate::key::PublicKey, &[u8], crate::key::Signature)],
    threads: usize,
) -> Vec<Result<(), key::BadSignature>> {
    let threads = threads.clamp(1, items.len().div_ceil(MIN_SIGNATURES_PER_THREAD).max(1));
    if threads == 1 {
        return key::verify_batch(items);
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|c| s.spawn(move || key::verify_batch(c)))
            .collect();
        handles
            .into_iter()
            .zip(items.chunks(chunk))
            .flat_map(|(h, c)| {
                // A verifier thread cannot panic on well-formed input; if it
                // did, count its signatures as bad rather than accept them.
                h.join()
                    .unwrap_or_else(|_| vec![Err(key::BadSignature); c.len()])
            })
            .collect()
    })
}

/// A ledger could not be created or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreateError {
    /// The genesis document is unusable.
    #[error(transparent)]
    Genesis(#[from] crate::genesis::GenesisError),
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The state of one ingest call.
struct Ingest<'a> {
    txn: Txn<'a>,
    genesis: &'a Genesis,
    config: LedgerConfig,
    now: u64,
    pending_len: usize,
    stored: u64,
    report: IngestReport,
}

impl Ingest<'_> {
    /// Decides one record that passed the intrinsic and signature checks,
    /// then everything in the pending pool that it unblocks.
    fn admit(&mut self, hash: Hash, record: SignedRecord) -> Result<Outcome, StoreError> {
        let outcome = self.decide(hash, record)?;
        if outcome == Outcome::Accepted {
            self.release_waiters(hash)?;
        }
        Ok(outcome)
    }

    fn decide(&mut self, hash: Hash, record: SignedRecord) -> Result<Outcome, StoreError> {
        if self.txn.contains(&tables::record(&hash))? {
            return Ok(Outcome::Duplicate);
        }
        let r = &record.record;
        let mut absent = Vec::new();
        for h in r.prev.iter().chain(&r.deps) {
            if !self.txn.contains(&tables::record(h))? {
                absent.push(*h);
            }
        }
        if !absent.is_empty() {
            return self.park(hash, &record, PendingReason::Missing { hashes: absent });
        }
        if r.time > self.now.saturating_add(self.config.max_future_skew_ms) {
            return self.park(
                hash,
                &record,
                PendingReason::Future {
                    time: r.time,
                    now: self.now,
                },
            );
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
        let state = self.txn.key_state(&r.author)?;
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
                let link = self.txn.record(&prev)?.ok_or_else(|| StoreError::Corrupt {
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
            let Some(dep) = self.txn.record(d)? else {
                continue;
            };
            if matches!(dep.record.event, crate::event::Event::RotateKey { new_key } if new_key == record.record.author)
            {
                let old = self.txn.key_state(&dep.record.author)?;
                return Ok(old.is_some_and(|s| s.head == *d));
            }
        }
        Ok(true)
    }

    fn park(
        &mut self,
        hash: Hash,
        record: &SignedRecord,
        reason: PendingReason,
    ) -> Result<Outcome, StoreError> {
        let key = tables::pending(&hash);
        let already = self.txn.contains(&key)?;
        if !already && self.pending_len >= self.config.pending_capacity {
            return Ok(Outcome::PoolFull {
                capacity: self.config.pending_capacity,
            });
        }
        if !already {
            self.pending_len += 1;
        }
        self.txn.put(key, record.encode());
        match &reason {
            PendingReason::Missing { hashes } => {
                for m in hashes {
                    self.txn.put(tables::waiting(m, &hash), Vec::new());
                }
            }
            PendingReason::Future { time, .. } => {
                self.txn.put(tables::future(*time, &hash), Vec::new())
            }
        }
        Ok(Outcome::Pending(reason))
    }

    /// Takes a record out of the pool (if there) for another decision.
    fn unpark(&mut self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        let key = tables::pending(hash);
        let Some(bytes) = self.txn.get(&key)? else {
            return Ok(None);
        };
        self.txn.delete(key.clone());
        self.pending_len = self.pending_len.saturating_sub(1);
        decode_stored(&key, &bytes).map(Some)
    }

    fn release_waiters(&mut self, arrived: Hash) -> Result<(), StoreError> {
        if self.pending_len == 0 {
            return Ok(());
        }
        let mut queue = VecDeque::from([arrived]);
        while let Some(h) = queue.pop_front() {
            for (k, _) in self.txn.scan_prefix(&tables::waiting_prefix(&h))? {
                self.txn.delete(k.clone());
                let Some(waiter) = tables::trailing_hash(&k) else {
                    continue;
                };
                if let Some(record) = self.unpark(&waiter)? {
                    let outcome = self.decide(waiter, record)?;
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
        let horizon = self.now.saturating_add(self.config.max_future_skew_ms);
        for (k, _) in self.txn.scan_prefix(&[tables::FUTURE])? {
            let time = k
                .get(1..9)
                .and_then(|b| b.try_into().ok())
                .map_or(u64::MAX, u64::from_be_bytes);
            if time > horizon {
                break;
            }
            self.txn.delete(k.clone());
            let Some(h) = tables::trailing_hash(&k) else {
                continue;
            };
            if let Some(record) = self.unpark(&h)? {
                let outcome = self.admit(h, record)?;
                if !matches!(outcome, Outcome::Pending(_)) {
                    self.report.released.push((h, outcome));
                }
            }
        }
        Ok(())
    }

    /// Writes a record, its indexes and (on the main branch) its effects.
    fn store_record(
        &mut self,
        hash: Hash,
        record: &SignedRecord,
        fx: Effects,
        main: bool,
    ) -> Result<(), StoreError> {
        let r = &record.record;
        let txn = &mut self.txn;
        txn.put(tables::record(&hash), record.encode());

        let block_key = tables::chain_block(&r.author, r.seq);
        let mut block = read_hash_list(txn, &block_key)?;
        match tables::slot_in_block(&block, r.seq) {
            Some(first) => {
                // An equivocation: keep both records as the fork proof.
                txn.put(tables::fork(&r.author, r.seq, &first), Vec::new());
                txn.put(tables::fork(&r.author, r.seq, &hash), Vec::new());
            }
            None => {
                let next = block.len() / 32;
                if u64::try_from(next).ok() != Some(r.seq % tables::CHAIN_BLOCK) {
                    return Err(StoreError::Corrupt {
                        key: hex::encode(&block_key),
                        why: format!("chain block does not end just before seq {}", r.seq),
                    });
                }
                block.extend_from_slice(&hash.0);
                txn.put(block_key, block);
            }
        }

        for dep in &r.deps {
            txn.put(tables::child(dep, &hash), Vec::new());
        }
        let kind = r.event.kind();
        if tables::indexed_kind(kind) {
            txn.put(tables::kind(kind, &hash), Vec::new());
        }
        for lot in r.event.referenced_lots() {
            index_lot(txn, lot, &hash)?;
        }
        for (code, product, _) in r.event.created_lots() {
            let lot = crate::event::LotId {
                source: fx.key_state.identity,
                code: code.to_owned(),
            };
            index_lot(txn, &lot, &hash)?;
            txn.put(tables::code(&lot), Vec::new());
            if let Some(gtin) = &product.gtin {
                txn.put(tables::gtin_lot(gtin, &lot), Vec::new());
            }
        }
        if main {
            let identity = fx.key_state.identity;
            txn.put(
                tables::key_state(&r.author),
                encoding::encode(&fx.key_state),
            );
            for (lot, q) in &fx.balances {
                txn.put(tables::balance(&identity, lot), encoding::encode(q));
            }
            if let Some(s) = fx.received {
                txn.put(tables::received(&identity, &s), Vec::new());
            }
        }
        self.stored += 1;
        Ok(())
    }
}
