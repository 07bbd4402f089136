//! The ledger: ingest (validate, log, index), the pending pool, group
//! commit, and the readers that query it meanwhile.
//!
//! - this module: the public API, the commit of a staged batch (log
//!   entries flushed, derived writes published as a tail layer) and
//!   opening with recovery;
//! - [`ingest`]: the decision of each record and the pending pool;
//! - [`flags`]: overlays and the digest, kept as records land;
//! - [`pipeline`]: signature checks over cores, and pipelined streams.

mod checkpoints;
mod flags;
mod ingest;
mod pipeline;

use std::sync::Arc;

use arc_swap::ArcSwap;

use serde::Serialize;

use crate::encoding;
use crate::error::{StoreError, ValidationError};
use crate::event::EventKind;
use crate::genesis::Genesis;
use crate::hash::{Hash, NetworkId};
use crate::reader::Reader;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::{self, Tables, TablesMut};
use crate::tail::{self, Layer, Layered, Writes};

pub use self::checkpoints::{Applied, ApplyError};
use self::ingest::{Mode, Pool, Staged};
use self::pipeline::{precheck, Checked};

/// Tunable limits of a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LedgerConfig {
    /// How far ahead of the local clock a record may be dated before it
    /// waits in the pending pool (ms). Five minutes covers phone clocks.
    pub max_future_skew_ms: u64,
    /// Most records of known authors the pending pool holds (authors a
    /// genesis names, or an enroll or key rotation the ledger holds
    /// introduces). Each is at most [`encoding::MAX_RECORD_BYTES`], so
    /// this part of the pool stays under ~640 MiB even if every record is
    /// maximal, and ~3 MiB for ordinary ones.
    pub pending_capacity: usize,
    /// Most records of strangers (authors not known as enrolled: throwaway
    /// keys cost nothing to make) the pending pool holds, apart from
    /// `pending_capacity`, so they never take the room of known authors'
    /// records. A participant's first records that arrive before its
    /// enrollment also count here until the enrollment is stored.
    pub stranger_capacity: usize,
    /// Most bytes (encoded) of strangers' records the pending pool holds.
    pub stranger_bytes: u64,
    /// Most strangers' records one [`Source`] (one client address, one
    /// peer) may have in the pending pool, so one sender minting keys
    /// cannot spend the whole strangers' budget and shut out everyone
    /// else's (a new participant's first records arriving before its
    /// enrollment, say). Its bytes are bounded in proportion, see
    /// [`Self::stranger_source_bytes`]. Records with no source (local
    /// tools, replays) count only against the whole budget.
    pub stranger_per_source: usize,
    /// How long a record may wait in the pending pool (ms, judged against
    /// the `now` of later calls) before it is dropped as expired. A peer
    /// offers it again by sync once its causes are known.
    pub pending_ttl_ms: u64,
    /// How far ahead of the local clock a record may be dated and still
    /// wait in the pending pool (ms); one dated further ahead is refused
    /// outright ([`Outcome::TooFarAhead`]), not parked. At most
    /// `pending_ttl_ms`, so a record parked for its time is due before
    /// it expires.
    pub max_park_ahead_ms: u64,
    /// Threads that verify a batch's signatures (1: on the caller's
    /// thread). Signature checks dominate ingest cost and are independent,
    /// so they spread over cores; everything else stays sequential.
    pub verify_threads: usize,
    /// Records accepted before what they derive (indexes, chain state,
    /// the pending pool) is folded from memory into the store. More
    /// means fewer rewrites of busy index values and more memory; it also
    /// bounds what opening re-derives from the log after a crash.
    pub fold_records: u64,
    /// Records accepted and not yet in a checkpoint's log kept in memory
    /// (about 150 bytes each), so checkpoints are cut without reading the
    /// store; past it they read what is missing from the store.
    pub unlogged_capacity: usize,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        LedgerConfig {
            max_future_skew_ms: 5 * 60 * 1000,
            pending_capacity: 10_000,
            stranger_capacity: 1_000,
            stranger_bytes: 4 * 1024 * 1024,
            stranger_per_source: 250,
            pending_ttl_ms: 24 * 3600 * 1000,
            max_park_ahead_ms: 24 * 3600 * 1000,
            verify_threads: 1,
            fold_records: 16_384,
            unlogged_capacity: crate::tlog::MAX_UNLOGGED,
        }
    }
}

impl LedgerConfig {
    /// Most bytes of strangers' records one [`Source`] may have in the
    /// pending pool: its records' share of the strangers' budget
    /// (`stranger_bytes × stranger_per_source / stranger_capacity`), but
    /// never less than one maximal record (nor more than the whole
    /// budget).
    pub fn stranger_source_bytes(&self) -> u64 {
        let share = if self.stranger_capacity == 0 {
            0
        } else {
            let per = u128::from(self.stranger_bytes)
                * (self.stranger_per_source.min(self.stranger_capacity) as u128)
                / (self.stranger_capacity as u128);
            u64::try_from(per).unwrap_or(u64::MAX)
        };
        share
            .max(encoding::MAX_RECORD_BYTES as u64)
            .min(self.stranger_bytes)
    }
}

/// Where a record came from, for the pending pool's per-source budget:
/// an opaque number the caller derives (a node hashes a client's address
/// or a peer's id). Never signed, never sent: it only decides whose share
/// of the strangers' budget a waiting record takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Source(pub u64);

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
    /// It would have to wait, but its author is a stranger (not known
    /// as enrolled) and the pool's room for strangers is spent.
    StrangerPoolFull {
        /// Most strangers' records the pool holds.
        capacity: usize,
        /// Most bytes of strangers' records the pool holds.
        bytes: u64,
    },
    /// It would have to wait, its author is a stranger, and the source it
    /// came from (one client address or peer) already has its share of
    /// the strangers' room in the pool: that sender is sending records
    /// under keys nobody enrolled, or their causes have not come yet.
    /// Other sources' records are still parked.
    StrangerSourceFull {
        /// Most strangers' records one source may have waiting.
        per_source: usize,
        /// Most bytes of strangers' records one source may have waiting.
        bytes: u64,
    },
    /// Dated further ahead of the local clock than a record may wait for:
    /// not stored and not parked (offer it again nearer its time).
    TooFarAhead {
        /// Its time.
        time: u64,
        /// The local clock.
        now: u64,
        /// How far ahead a record may wait (ms).
        max_ahead_ms: u64,
    },
    /// It waited in the pending pool longer than the pool keeps records
    /// and was dropped (reported among the released records).
    Expired {
        /// The local clock when it was parked.
        parked_at: u64,
        /// How long the pool keeps a record (ms).
        ttl_ms: u64,
    },
}

/// In words, for people: `it waits for 2 records it depends on
/// (1a2b3c4d, …)` or `it is dated 2030-01-01 00:00:00 UTC, ahead of the
/// clock (2026-12-04 22:30:00 UTC)`.
impl std::fmt::Display for PendingReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PendingReason::Missing { hashes } => {
                write!(f, "it waits for {} record(s) it depends on", hashes.len())?;
                match hashes.first() {
                    Some(h) if hashes.len() > 1 => write!(f, " ({}, …)", h.short()),
                    Some(h) => write!(f, " ({})", h.short()),
                    None => Ok(()),
                }
            }
            PendingReason::Future { time, now } => write!(
                f,
                "it is dated {}, ahead of the clock ({})",
                crate::time::show_utc(*time),
                crate::time::show_utc(*now)
            ),
        }
    }
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
    /// Records from the pending pool decided during this call (expired
    /// ones included, as [`Outcome::Expired`]).
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

/// How many keys the ledger wrote to its store, by path: what accepting
/// records costs, and what folding them behind costs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WriteStats {
    /// Log entries written when batches were accepted (one per record).
    pub log_keys: u64,
    /// Keys written by folds (journal chunks excluded).
    pub fold_keys: u64,
    /// Folds done.
    pub folds: u64,
}

/// A validated, replicated-ready ledger over a [`Store`].
///
/// A ledger has one writer (whoever holds it mutably) and any number of
/// readers: it reads through its latest [`Reader`] (it dereferences to
/// it), and [`Self::readers`] hands out a [`Readers`] handle that other
/// threads use to query without waiting for writes.
pub struct Ledger<S: Store> {
    store: Arc<S>,
    genesis: Arc<Genesis>,
    network: NetworkId,
    config: LedgerConfig,
    pool: Pool,
    records_len: u64,
    /// The seq the next logged record gets.
    next_seq: u64,
    /// The unfolded tail, oldest first (the writer's copy).
    layers: Vec<Arc<Layer>>,
    /// The fold running on its own thread over the oldest layers, if any.
    folding: Option<Folding>,
    current: Reader<S>,
    published: Readers<S>,
    stats: WriteStats,
    /// The next staging also releases pool records whose causes are
    /// stored (set on opening).
    sweep: bool,
    /// The `now` of the last staging that dropped expired pool records.
    expired_at: u64,
    /// The transparency log as of the newest final checkpoint applied.
    log: Arc<crate::tlog::LogState>,
    /// Records accepted and not yet in the log, kept as they land.
    unlogged: Arc<std::sync::RwLock<crate::tlog::Unlogged>>,
    /// Whether landing records are added to `unlogged` (not while opening:
    /// that fills it from the store once).
    track_unlogged: bool,
}

/// How often (in the callers' `now`) a staging also drops the pool's
/// expired records, besides every tick: a tick may be merged into a busy
/// node's batches, and expiry must not wait for an idle moment.
const EXPIRE_EVERY_MS: u64 = 60_000;

/// A shareable handle on a ledger's latest published state.
pub struct Readers<S: Store>(Arc<ArcSwap<Reader<S>>>);

impl<S: Store> Clone for Readers<S> {
    fn clone(&self) -> Self {
        Readers(Arc::clone(&self.0))
    }
}

impl<S: Store> std::fmt::Debug for Readers<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Readers").field(&self.latest()).finish()
    }
}

impl<S: Store> Readers<S> {
    /// A reader of everything accepted so far; it keeps seeing that state
    /// (plus, at most, records accepted later) however long it is used.
    /// Lock-free: it never waits for the writer, however the writer is
    /// scheduled (a reader queued behind a descheduled writer on a lock
    /// would wait as long as the writer does).
    pub fn latest(&self) -> Reader<S> {
        Reader::clone(&self.0.load())
    }

    /// Publishes `reader`; the one it replaces is dropped here, outside
    /// any reader's way, unless a query still holds it.
    fn set(&self, reader: Reader<S>) {
        drop(self.0.swap(Arc::new(reader)));
    }
}

impl<S: Store> std::fmt::Debug for Ledger<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("network", &self.network)
            .field("records", &self.records_len)
            .field("pending", &self.pool.len)
            .field("tail_layers", &self.layers.len())
            .finish()
    }
}

/// A ledger reads through its latest reader: every query of [`Reader`]
/// is a query of the ledger.
impl<S: Store> std::ops::Deref for Ledger<S> {
    type Target = Reader<S>;

    fn deref(&self) -> &Reader<S> {
        &self.current
    }
}

impl<S: Store> Ledger<S> {
    /// Founds a new ledger in an empty store.
    pub fn create(store: S, genesis: Genesis, config: LedgerConfig) -> Result<Self, CreateError> {
        genesis.check()?;
        let kv = Layered {
            store: &store,
            layers: &[],
        };
        if kv.genesis_bytes()?.is_some() {
            return Err(StoreError::AlreadyExists("this store".into()).into());
        }
        let mut w = Writes::new();
        w.put_genesis(genesis.encode());
        for (k, v) in w.into_iter() {
            if let Some(v) = v {
                store.put(&k, &v)?;
            }
        }
        store.flush()?;
        Self::open(store, config)
    }

    /// Opens an existing ledger. A fold a crash interrupted is finished,
    /// and what the log holds beyond the last fold is derived again. Log
    /// entries are written in order and a crash keeps a prefix of them,
    /// so each one's causes precede it: one that cannot be derived again
    /// means the store was damaged, and opening fails naming it.
    pub fn open(store: S, config: LedgerConfig) -> Result<Self, CreateError> {
        let bytes = Layered {
            store: &store,
            layers: &[],
        }
        .genesis_bytes()?
        .ok_or_else(|| StoreError::NotALedger("this store".into()))?;
        let genesis = Arc::new(Genesis::decode(&bytes)?);
        tail::recover(&store)?;
        let store = Arc::new(store);
        let network = genesis.id();
        let current = Reader::new(
            Arc::clone(&store),
            Arc::clone(&genesis),
            Arc::default(),
            (0, 0, 0),
            (Arc::default(), Arc::default()),
        );
        let mut ledger = Ledger {
            published: Readers(Arc::new(ArcSwap::from_pointee(current.clone()))),
            current,
            store,
            genesis,
            network,
            config,
            pool: Pool::default(),
            records_len: 0,
            next_seq: 1,
            layers: Vec::new(),
            folding: None,
            stats: WriteStats::default(),
            sweep: false,
            expired_at: 0,
            log: Arc::default(),
            unlogged: Arc::new(std::sync::RwLock::new(
                crate::tlog::Unlogged::with_capacity(config.unlogged_capacity),
            )),
            track_unlogged: false,
        };
        ledger.replay_log()?;
        ledger.log = Arc::new(ledger.load_log()?);
        ledger.publish_reader();
        ledger.load_unlogged()?;
        ledger.track_unlogged = true;
        Ok(ledger)
    }

    /// Derives the tail again from the log entries after the fold cursor.
    fn replay_log(&mut self) -> Result<(), StoreError> {
        const CHUNK: usize = 4096;
        let kv = Layered {
            store: self.store.as_ref(),
            layers: &[],
        };
        let cursor = tables::fold_cursor(&kv)?;
        let last = self
            .store
            .last_with_prefix(tables::log_prefix())?
            .and_then(|(k, _)| tables::log_seq(&k))
            .unwrap_or(0);
        self.next_seq = cursor.max(last) + 1;
        self.records_len = kv.record_count()?;
        if kv.chain_count()?.is_none() {
            // A store from before the count was kept: count the chains
            // folded so far (the log tail replayed below adds its own).
            let chains = kv.key_states()?.len() as u64;
            let mut count = Writes::default();
            count.put_chain_count(chains);
            tail::apply(self.store.as_ref() as &dyn Store, &count)?;
            self.store.flush()?;
        }
        if !kv.introduced_indexed()? {
            // A store from before `u` was kept: index the keys its folded
            // enrolls and rotations introduce (the log tail replayed below
            // indexes its own). Values are absolute: redoing it is harmless.
            let mut index = Writes::default();
            for kind in [EventKind::Enroll, EventKind::RotateKey] {
                for h in kv.of_kind(kind)? {
                    if let Some(k) = kv.record(&h)?.and_then(|r| ingest::introduces(&r)) {
                        index.put_introduced(&k);
                    }
                }
            }
            index.put_introduced_indexed();
            tail::apply(self.store.as_ref() as &dyn Store, &index)?;
            self.store.flush()?;
        }
        let unkeyed = kv.identified_unkeyed()?;
        if !unkeyed.is_empty() {
            // A store from before credit codes were indexed by the
            // participant they name: key its folded ones so (the log tail
            // replayed below keys its own).
            let mut index = Writes::default();
            for h in unkeyed {
                if let Some(r) = kv.record(&h)? {
                    tables::KvWrite::delete(&mut index, tables::unkeyed_identify_key(&h));
                    index.put_kind(&h, &r.record);
                }
            }
            tail::apply(self.store.as_ref() as &dyn Store, &index)?;
            self.store.flush()?;
        }
        let mut after = Some(tables::log_entry_key(cursor));
        loop {
            let page = self
                .store
                .scan_page(tables::log_prefix(), after.as_deref(), CHUNK)?;
            let Some((last_key, _)) = page.last() else {
                break;
            };
            after = Some(last_key.clone());
            let mut entries = Vec::with_capacity(page.len());
            for (k, v) in &page {
                let seq = tables::log_seq(k).unwrap_or(0);
                let record = SignedRecord::decode(v).map_err(|e| StoreError::Corrupt {
                    key: format!("log entry {seq}"),
                    why: format!("does not decode: {e}"),
                })?;
                entries.push((seq, record));
            }
            let staged = self.stage_replay(entries)?;
            self.publish(staged, false)?;
            if page.len() < CHUNK {
                break;
            }
        }
        self.pool = ingest::pool_counts(&self.current.kv())?;
        self.publish_reader();
        self.park_lost()?;
        // A crash may have lost the release of pool records whose causes
        // the log holds: the first staging (with a real clock) does it,
        // and drops what has expired meanwhile.
        self.sweep = self.pool.len > 0;
        Ok(())
    }

    /// Parks again the records a crash took from the pool (see
    /// [`Self::lost_from_pool`]), each decided as when it was last parked:
    /// with the clock at the latest of their parking times, keeping each
    /// one's own. What waited for something still waits for it; the first
    /// staging with a real clock drops what has since expired.
    fn park_lost(&mut self) -> Result<(), StoreError> {
        let lost = self.lost_from_pool()?;
        let Some(now) = lost.iter().map(|(_, _, p)| p.since).max() else {
            return Ok(());
        };
        let staged = ingest::stage(
            ingest::Context {
                revive: lost,
                ..self.context(now, Mode::Live)
            },
            (self.pool.clone(), self.records_len, self.next_seq),
            Vec::new(),
        )?;
        self.write_log(&staged.writes)?;
        self.publish(staged, false)?;
        Ok(())
    }

    /// The records parked before a crash that the pool, derived again
    /// from the log, no longer holds: their crash copies (`P`) outlive
    /// them. The copies of records in the pool stay; those of records the
    /// ledger holds by now, and any that do not parse, are removed.
    fn lost_from_pool(&self) -> Result<Vec<(Hash, SignedRecord, tables::Parked)>, StoreError> {
        let kv = self.current.kv();
        let mut lost = Vec::new();
        let mut stale = Vec::new();
        for copy in tables::parked_copies(self.store.as_ref())? {
            if kv.pending(&copy.hash)?.is_some() {
                continue;
            }
            match copy.parsed {
                Some((parked, r)) if r.hash() == copy.hash && !kv.has_record(&copy.hash)? => {
                    lost.push((copy.hash, r, parked))
                }
                _ => stale.push(copy.hash),
            }
        }
        if !stale.is_empty() {
            for h in &stale {
                self.store.delete(&tables::parked_copy_key(h))?;
            }
            self.store.flush()?;
        }
        Ok(lost)
    }

    /// The limits this ledger was opened with.
    pub fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// A handle other threads query the ledger through: each
    /// [`Readers::latest`] sees everything accepted until then, and no
    /// reader ever waits for the writer.
    pub fn readers(&self) -> Readers<S> {
        self.published.clone()
    }

    /// What the ledger has written to its store so far, by path.
    pub fn write_stats(&self) -> WriteStats {
        self.stats
    }

    /// Folds the whole tail into the store, flushes, and gives the store
    /// back. Opening it again then derives nothing. Dropping a ledger
    /// does the same, but cannot report failure.
    pub fn close(mut self) -> Result<S, StoreError>
    where
        S: Clone,
    {
        self.fold()?;
        self.store.flush()?;
        Ok(S::clone(&self.store))
    }

    /// Folds the whole tail into the store now (after the fold running
    /// behind, if any).
    pub fn fold(&mut self) -> Result<(), StoreError> {
        self.reap(true)?;
        if !self.layers.is_empty() {
            let merged = tail::merge(&self.layers);
            self.stats.fold_keys += tail::fold(self.store.as_ref(), &merged)?;
            self.stats.folds += 1;
            self.layers.clear();
        }
        self.publish_reader();
        Ok(())
    }

    /// Starts folding every layer of the tail on a thread of its own; the
    /// layers stay readable until it is done.
    fn start_fold(&mut self) {
        let layers = self.layers.clone();
        let store = Arc::clone(&self.store);
        let thread = std::thread::spawn(move || {
            let merged = tail::merge(&layers);
            tail::fold(store.as_ref(), &merged)
        });
        self.folding = Some(Folding {
            layers: self.layers.len(),
            thread,
        });
    }

    /// Completes the fold running behind when it has finished (or, with
    /// `wait`, once it has): its layers leave the tail.
    fn reap(&mut self, wait: bool) -> Result<(), StoreError> {
        let Some(f) = self.folding.take_if(|f| wait || f.thread.is_finished()) else {
            return Ok(());
        };
        let keys = f
            .thread
            .join()
            .map_err(|_| StoreError::Engine("the fold thread stopped (it panicked)".into()))??;
        self.stats.fold_keys += keys;
        self.stats.folds += 1;
        self.layers.drain(..f.layers);
        Ok(())
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

    /// Validates and stores a batch of records with one flush of the log
    /// (group commit). Records may arrive in any order: those whose prev
    /// or deps are absent, or dated beyond the allowed clock skew of `now`
    /// (ms since epoch), wait in the pending pool and are decided when
    /// they can be. "Accepted" is reported only after the flush.
    pub fn ingest(
        &mut self,
        records: Vec<SignedRecord>,
        now: u64,
    ) -> Result<IngestReport, StoreError> {
        self.ingest_from(records.into_iter().map(|r| (r, None)).collect(), now)
    }

    /// Like [`Self::ingest`], each record with where it came from: a
    /// stranger's record that must wait counts against its source's share
    /// of the strangers' budget ([`LedgerConfig::stranger_per_source`])
    /// and is refused [`Outcome::StrangerSourceFull`] past it. A record
    /// with no source counts only against the whole budget.
    pub fn ingest_from(
        &mut self,
        records: Vec<(SignedRecord, Option<Source>)>,
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
        let records = records.into_iter().map(|r| (r, None)).collect();
        let (report, committed) = self.ingest_inner(records, now, true)?;
        Ok(if committed {
            Atomic::Committed(report)
        } else {
            Atomic::Refused(report)
        })
    }

    fn ingest_inner(
        &mut self,
        records: Vec<(SignedRecord, Option<Source>)>,
        now: u64,
        all_or_nothing: bool,
    ) -> Result<(IngestReport, bool), StoreError> {
        let checked = precheck(records, &self.network, self.config.verify_threads);
        let staged = self.stage(checked, now, None)?;
        // Records the pool dropped as expired are no part of the batch.
        if all_or_nothing
            && staged
                .report
                .outcomes
                .iter()
                .chain(&staged.report.released)
                .any(|(_, o)| !matches!(o, Outcome::Accepted | Outcome::Expired { .. }))
        {
            return Ok((staged.report, false));
        }
        self.write_log(&staged.writes)?;
        let report = self.publish(staged, true)?;
        Ok((report, true))
    }

    /// Releases pending records whose time has come and drops those that
    /// waited longer than [`LedgerConfig::pending_ttl_ms`]; call on a
    /// timer.
    pub fn tick(&mut self, now: u64) -> Result<IngestReport, StoreError> {
        self.ingest(Vec::new(), now)
    }

    /// Decides a checked batch against the ledger, read through `base`
    /// (a batch staged before it and not yet published), and returns
    /// what it writes without writing it.
    fn stage(
        &mut self,
        checked: Vec<Checked>,
        now: u64,
        base: Option<(&Writes, (Pool, u64, u64))>,
    ) -> Result<Staged, StoreError> {
        let (base, counts) = match base {
            Some((writes, counts)) => (Some(writes), counts),
            None => (None, (self.pool.clone(), self.records_len, self.next_seq)),
        };
        let sweep = std::mem::take(&mut self.sweep);
        // Expiry runs on a tick (an empty batch), on the first staging
        // after opening (a crash may have lost one) and at least every
        // EXPIRE_EVERY_MS of the callers' clock (ticks merged into busy
        // batches must not starve it).
        let expire =
            checked.is_empty() || sweep || now.saturating_sub(self.expired_at) >= EXPIRE_EVERY_MS;
        if expire {
            self.expired_at = now;
        }
        ingest::stage(
            ingest::Context {
                base,
                sweep,
                expire,
                ..self.context(now, Mode::Live)
            },
            counts,
            checked,
        )
    }

    /// What a staging reads: the store through the tail, against nothing
    /// staged before it, with no sweep, expiry or revival unless the
    /// caller sets them.
    fn context(&self, now: u64, mode: Mode) -> ingest::Context<'_> {
        ingest::Context {
            store: self.store.as_ref(),
            layers: &self.layers,
            base: None,
            genesis: &self.genesis,
            config: self.config,
            now,
            mode,
            sweep: false,
            expire: false,
            revive: Vec::new(),
        }
    }

    /// Re-derives logged records (opening after a crash).
    fn stage_replay(&self, entries: Vec<(u64, SignedRecord)>) -> Result<Staged, StoreError> {
        ingest::stage_logged(
            self.context(u64::MAX, Mode::Replay),
            (self.pool.clone(), self.records_len, self.next_seq),
            entries,
        )
    }

    /// Writes a staged batch's log entries and flushes them: once this
    /// returns, its records are accepted.
    fn write_log(&mut self, writes: &Writes) -> Result<(), StoreError> {
        write_log(self.store.as_ref(), writes).map(|n| self.stats.log_keys += n)
    }

    /// Makes a staged batch (already durable in the log) visible: its
    /// derived writes become a tail layer, readers see them, and the tail
    /// is folded when it has grown enough.
    fn publish(&mut self, staged: Staged, may_fold: bool) -> Result<IngestReport, StoreError> {
        let Staged {
            writes,
            report,
            pool,
            records_len,
            next_seq,
            stored,
        } = staged;
        let records = records_len - self.records_len;
        let derived: Writes = writes
            .into_iter()
            .filter(|(k, _)| !tables::is_durable_key(k))
            .collect();
        self.pool = pool;
        self.records_len = records_len;
        self.next_seq = next_seq;
        let frozen = self.folding.as_ref().map_or(0, |f| f.layers);
        if !derived.is_empty() {
            self.layers.push(Arc::new(Layer {
                writes: derived,
                last_seq: next_seq - 1,
                records,
            }));
            tail::compact(&mut self.layers, frozen);
        }
        if may_fold {
            self.reap(false)?;
            let frozen = self.folding.as_ref().map_or(0, |f| f.layers);
            let unfolded = &self.layers[frozen..];
            let records: u64 = unfolded.iter().map(|l| l.records).sum();
            let writes: usize = unfolded.iter().map(|l| l.writes.len()).sum();
            let writes = u64::try_from(writes).unwrap_or(u64::MAX);
            let limit = self.config.fold_records.max(1);
            // Due when the tail covers `fold_records` records (or its
            // writes are many more than such a tail's); a tail twice that
            // waits for the fold behind, so memory stays bounded.
            let due = |n: u64| records >= n * limit || writes >= n * limit.saturating_mul(16);
            if self.folding.is_some() && due(2) {
                self.reap(true)?;
            }
            if self.folding.is_none() && due(1) {
                self.start_fold();
            }
        }
        self.publish_reader();
        // After the reader that sees them: a summary never names a record
        // the newest reader cannot read.
        if self.track_unlogged && !stored.is_empty() {
            let mut unlogged = self.unlogged.write().unwrap_or_else(|p| p.into_inner());
            for (h, summary) in stored {
                unlogged.insert(h, summary);
            }
        }
        Ok(report)
    }

    fn publish_reader(&mut self) {
        self.current = Reader::new(
            Arc::clone(&self.store),
            Arc::clone(&self.genesis),
            Arc::new(self.layers.clone()),
            (self.records_len, self.pool.len, self.next_seq - 1),
            (Arc::clone(&self.log), Arc::clone(&self.unlogged)),
        );
        self.published.set(self.current.clone());
    }
}

/// A fold running on its own thread: how many of the tail's oldest
/// layers it covers, and the keys it wrote.
struct Folding {
    layers: usize,
    thread: std::thread::JoinHandle<Result<u64, StoreError>>,
}

impl<S: Store> Drop for Ledger<S> {
    /// Waits for the fold running behind and folds the rest of the tail,
    /// so the next opening has nothing to derive. On failure the log
    /// still holds everything: opening derives it again.
    fn drop(&mut self) {
        if self.fold().is_ok() {
            let _ = self.store.flush();
        }
    }
}

/// Writes the log entries among `writes`, and the crash copies of the
/// records parked or unparked, and flushes them; returns how many log
/// entries there were.
fn write_log(store: &dyn Store, writes: &Writes) -> Result<u64, StoreError> {
    let mut n = 0;
    for (k, v) in writes.iter().filter(|(k, _)| tables::is_durable_key(k)) {
        match v {
            Some(v) => {
                store.put(k, v)?;
                n += u64::from(tables::is_log_key(k));
            }
            None => store.delete(k)?,
        }
    }
    store.flush()?;
    Ok(n)
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
