//! Sync: what to answer a peer's request, what to ask a peer for after
//! comparing heads, and when to catch up by a peer's log instead. Plain
//! functions over a ledger [`Reader`] (run on a blocking thread), and the
//! log syncs' bookkeeping, kept by the swarm task; the swarm task only
//! moves the messages.
//!
//! Two ways to fetch what a peer holds and we lack:
//! - **chains** ([`plan`]): per author, the chain from our head on. Cheap
//!   for small gaps, but chains come in key order, not causal order, so
//!   across a large gap records arrive before their deps and wait in the
//!   pending pool (or are dropped when it is full and fetched again).
//! - **the log** ([`LogSyncs`]): the peer's records in the order it
//!   accepted them, which is causal, a page at a time from a cursor kept
//!   per peer. Each page is ingested before the next is asked for, so
//!   every record's prev and deps are stored before it arrives. Used when
//!   a peer holds many records we lack ([`LogSyncs::wants`]).

use std::collections::{BTreeSet, HashMap, HashSet};

use ledger_core::graph::Graph;
use ledger_core::store::SledStore;
use ledger_core::{Hash, PublicKey, Reader, StoreError};
use libp2p::PeerId;

use crate::protocol::{
    ChainFrom, CheckpointItem, Head, SyncRequest, SyncResponse, MAX_CHECKPOINTS_PER_RESPONSE,
    MAX_HASHES_PER_REQUEST, MAX_HEADS, MAX_LOG_FROM_CHAINS, MAX_RECORDS_PER_RESPONSE,
    RESPONSE_BUDGET_BYTES,
};

/// A peer must hold at least this many records we lack (summed over
/// authors) before we catch up by its log rather than by chains: one full
/// response. Below it a gap takes a round or two of chain requests and
/// little waits in the pending pool; above it, chains fetched in key order
/// park more and more records until the pool overflows (issue #11).
pub const LOG_SYNC_MIN_RECORDS: u64 = MAX_RECORDS_PER_RESPONSE as u64;
/// Peers whose log cursor is remembered (~50 bytes each in memory, ~70
/// on disk). Beyond it the cursor of some other peer is forgotten; a
/// later catch-up from that peer starts at its log's beginning again.
pub const MAX_LOG_CURSORS: usize = 10_000;
/// Log entries read from the store at a time while answering
/// [`SyncRequest::Log`]: with 64 KiB records at most 16 MiB are read past
/// the response budget.
const LOG_SCAN_PAGE: usize = 256;

/// Every author's head with its stored record count. Authors are those
/// with a main-branch chain state (`Ledger::heads`).
pub fn heads(ledger: &Reader<SledStore>) -> Result<Vec<Head>, StoreError> {
    let mut out = Vec::new();
    for (author, seq, hash) in ledger.heads()?.into_iter().take(MAX_HEADS) {
        let count = ledger.chain(&author)?.len() as u64;
        out.push(Head {
            author: author.0,
            seq,
            hash: hash.0,
            count,
        });
    }
    Ok(out)
}

/// The answer to a peer's request.
pub fn answer(
    ledger: &Reader<SledStore>,
    request: &SyncRequest,
) -> Result<SyncResponse, StoreError> {
    match request {
        SyncRequest::Heads => Ok(SyncResponse::Heads {
            heads: heads(ledger)?,
        }),
        SyncRequest::Chain { author, from_seq } => {
            let chain = ledger.chain(&PublicKey(*author))?;
            let mut records = Vec::new();
            let mut bytes = 0usize;
            let mut next_seq = None;
            let mut last_seq = None;
            for (seq, h) in chain.into_iter().filter(|(s, _)| *s >= *from_seq) {
                // Cut only between seqs, so every fork sibling of a seq
                // travels together and `next_seq` never skips one.
                let full =
                    bytes >= RESPONSE_BUDGET_BYTES || records.len() >= MAX_RECORDS_PER_RESPONSE;
                if full && last_seq != Some(seq) {
                    next_seq = Some(seq);
                    break;
                }
                if let Some(r) = ledger.record(&h)? {
                    let enc = r.encode();
                    bytes += enc.len();
                    records.push(serde_bytes::ByteBuf::from(enc));
                }
                last_seq = Some(seq);
            }
            Ok(SyncResponse::Records { records, next_seq })
        }
        SyncRequest::Records { hashes } => {
            if hashes.len() > MAX_HASHES_PER_REQUEST {
                return Ok(SyncResponse::Refused {
                    reason: format!(
                        "{} hashes requested, at most {MAX_HASHES_PER_REQUEST}",
                        hashes.len()
                    ),
                });
            }
            let mut records = Vec::new();
            let mut bytes = 0usize;
            for h in hashes {
                if bytes >= RESPONSE_BUDGET_BYTES {
                    break;
                }
                // A hash may name a record still in our own pending pool;
                // only stored (validated) records are served.
                if let Some(r) = ledger.record(&Hash(*h))? {
                    let enc = r.encode();
                    bytes += enc.len();
                    records.push(serde_bytes::ByteBuf::from(enc));
                }
            }
            Ok(SyncResponse::Records {
                records,
                next_seq: None,
            })
        }
        SyncRequest::Log { after } => log_page(ledger, *after),
        SyncRequest::Checkpoints { from_height } => {
            let mut items = Vec::new();
            let mut h = *from_height;
            while items.len() < MAX_CHECKPOINTS_PER_RESPONSE {
                let Some((note, tips)) = ledger.final_checkpoint(h)? else {
                    break;
                };
                items.push(CheckpointItem::new(note, &tips));
                h = h.saturating_add(1);
            }
            Ok(SyncResponse::Checkpoints { items })
        }
        SyncRequest::LogFrom { after, firsts } => {
            if firsts.len() > MAX_LOG_FROM_CHAINS {
                return Ok(SyncResponse::Refused {
                    reason: format!(
                        "{} chains named, at most {MAX_LOG_FROM_CHAINS}",
                        firsts.len()
                    ),
                });
            }
            let mut earliest: Option<u64> = None;
            for ChainFrom { author, seq } in firsts {
                if let Some(at) = ledger.log_seq_of_chain(&PublicKey(*author), *seq)? {
                    earliest = Some(earliest.map_or(at, |e| e.min(at)));
                }
            }
            // None of them stored here: nothing of ours to send from.
            let from = earliest.map_or(ledger.len(), |at| at.saturating_sub(1));
            log_page(ledger, from.max(*after))
        }
    }
}

/// The log entries after `after`, cut by the response budget. `end` is
/// exact when the page reaches the end of what `ledger` sees (the last
/// seq sent). When the page is cut it is the record count, which is the
/// log end (seqs are given one per accepted record, from 1, with no gap)
/// and never below `last + 1`, so a cut page never reads as the end.
fn log_page(ledger: &Reader<SledStore>, after: u64) -> Result<SyncResponse, StoreError> {
    let mut records = Vec::new();
    let mut bytes = 0usize;
    let mut last = after;
    loop {
        let page = ledger.log_page(last, LOG_SCAN_PAGE)?;
        let scanned = page.len();
        for (seq, enc) in page {
            if bytes >= RESPONSE_BUDGET_BYTES || records.len() >= MAX_RECORDS_PER_RESPONSE {
                let end = ledger.len().max(last.saturating_add(1));
                return Ok(SyncResponse::Log { records, last, end });
            }
            bytes += enc.len();
            records.push(serde_bytes::ByteBuf::from(enc));
            last = seq;
        }
        if scanned < LOG_SCAN_PAGE {
            break;
        }
    }
    // Nothing after `after`: the log ends at or before it; a log shorter
    // than the cursor says so with `end < after`.
    let end = if records.is_empty() {
        ledger.len().min(after)
    } else {
        last
    };
    Ok(SyncResponse::Log { records, last, end })
}

/// Checks a [`SyncResponse::Log`] page of `records` records (`bytes` in
/// all) against the cursor it answers: `after ≤ last ≤ end`, at most one
/// record per seq in `(after, last]`, and a page short of the response
/// budget only at the end of the log (so a peer cannot drip its log a
/// record at a time). A page that fails is garbage: the peer is struck and
/// the log sync stopped.
pub fn check_log_page(
    after: u64,
    records: usize,
    bytes: usize,
    last: u64,
    end: u64,
) -> Result<(), String> {
    let n = records as u64;
    if records > MAX_RECORDS_PER_RESPONSE {
        return Err(format!(
            "{records} records in a log page, at most {MAX_RECORDS_PER_RESPONSE}"
        ));
    }
    if last < after {
        return Err(format!(
            "log page ends at {last}, before its cursor {after}"
        ));
    }
    if n > last - after {
        return Err(format!(
            "{records} records for the {} log seqs after {after} up to {last}",
            last - after
        ));
    }
    if records == 0 && (last != after || end > after) {
        return Err(format!(
            "empty log page moving the cursor {after} to {last} (end {end})"
        ));
    }
    if records > 0 && last > end {
        return Err(format!("log page ends at {last}, past the log end {end}"));
    }
    if last < end && records < MAX_RECORDS_PER_RESPONSE && bytes < RESPONSE_BUDGET_BYTES {
        return Err(format!(
            "log page of {records} records ({bytes} bytes) cut short of the budget \
             at {last}, before the log end {end}"
        ));
    }
    Ok(())
}

/// What comparing a peer's heads with ours found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The chain requests, genesis authorities first.
    pub requests: Vec<SyncRequest>,
    /// Every chain the peer holds records of that we lack (gossip's
    /// authors included): its author and the first seq we lack, as a
    /// [`SyncRequest::LogFrom`] names them.
    pub firsts: Vec<ChainFrom>,
    /// Records the peer holds beyond ours, summed over authors (its count
    /// minus ours, where larger): what a catch-up would bring.
    pub behind: u64,
    /// Records we hold.
    pub held: u64,
}

/// What to fetch from a peer whose heads are `remote`: for each author the
/// peer holds records of that we lack, the chain from our head on when the
/// peer's chain simply extends ours, or the whole chain otherwise (a fork).
/// Genesis authorities come first, since everyone's first record depends
/// on their enrollments. Authors in `arriving` (gossiped records of theirs
/// are queued for validation here) are left out: gossip is bringing their
/// new records, and the next round fetches whatever it did not bring.
pub fn plan(
    ledger: &Reader<SledStore>,
    remote: &[Head],
    arriving: &HashSet<[u8; 32]>,
) -> Result<Plan, StoreError> {
    let authorities: BTreeSet<PublicKey> =
        ledger.genesis().authorities.iter().map(|a| a.key).collect();
    let mut first = Vec::new();
    let mut rest = Vec::new();
    let mut firsts = Vec::new();
    let mut behind = 0u64;
    for h in remote.iter().take(MAX_HEADS) {
        let author = PublicKey(h.author);
        let local = ledger.key_state(&author)?;
        let local_count = if local.is_some() {
            ledger.chain(&author)?.len() as u64
        } else {
            0
        };
        behind = behind.saturating_add(h.count.saturating_sub(local_count));
        let known = ledger.record(&Hash(h.hash))?.is_some();
        if known && h.count <= local_count {
            continue;
        }
        let from_seq = match &local {
            Some(s)
                if h.seq > s.head_seq
                    && h.count - local_count.min(h.count) == h.seq - s.head_seq =>
            {
                s.head_seq + 1
            }
            Some(_) => 0,
            None => 0,
        };
        firsts.push(ChainFrom {
            author: h.author,
            seq: from_seq,
        });
        if arriving.contains(&h.author) {
            continue;
        }
        let req = SyncRequest::Chain {
            author: h.author,
            from_seq,
        };
        if authorities.contains(&author) {
            first.push(req);
        } else {
            rest.push(req);
        }
    }
    first.extend(rest);
    Ok(Plan {
        requests: first,
        firsts,
        behind,
        held: ledger.len(),
    })
}

/// A log page, once ingested.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ingested {
    /// The peer's log seq of its last record (the next cursor).
    pub last: u64,
    /// The peer's log end when it answered.
    pub end: u64,
    /// Its records that were not stored yet.
    pub fresh: usize,
}

/// What follows an ingested log page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Paged {
    /// The next page to ask for.
    Next(SyncRequest),
    /// The log sync is over: the whole log came (or it was another log).
    Done,
    /// The log sync is over before the log's end: a whole page brought
    /// nothing new (it came another way, e.g. by gossip), so the heads
    /// rounds fetch what remains rather than page through duplicates.
    Idle,
    /// The page was not of the log sync running now; nothing changes.
    Stale,
}

/// The log syncs: the cursor kept for each peer (the last of its log seqs
/// whose page we ingested) and the one catch-up running, if any. One at a
/// time: two peers' logs hold mostly the same records, so following both
/// would fetch them twice. Owned by the swarm task, which hands the
/// cursors to [`crate::log_cursors::Saver`] after every page that moves
/// them: a restarted node resumes each peer's log from the cursor last
/// written ([`LogSyncs::with_cursors`]).
#[derive(Debug, Default)]
pub struct LogSyncs {
    cursors: HashMap<PeerId, u64>,
    running: Option<PeerId>,
    epoch: u64,
}

impl LogSyncs {
    /// Log syncs resuming from `cursors` (read back from disk); past
    /// [`MAX_LOG_CURSORS`] peers, the rest are forgotten.
    pub fn with_cursors(cursors: HashMap<PeerId, u64>) -> Self {
        LogSyncs {
            cursors: cursors.into_iter().take(MAX_LOG_CURSORS).collect(),
            ..LogSyncs::default()
        }
    }

    /// Every peer's cursor: what [`crate::log_cursors::Saver`] writes.
    pub fn cursors(&self) -> &HashMap<PeerId, u64> {
        &self.cursors
    }

    /// Changes each time a log sync starts or stops. A heads comparison
    /// made under another epoch is stale: a catch-up may have fetched what
    /// it planned to fetch (or may be fetching it), so it is dropped and
    /// the next round plans afresh.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The peer a log sync is running with.
    pub fn running(&self) -> Option<PeerId> {
        self.running
    }

    /// The cursor kept for `peer` (0: from its log's beginning).
    pub fn cursor(&self, peer: &PeerId) -> u64 {
        self.cursors.get(peer).copied().unwrap_or(0)
    }

    /// Whether `plan` calls for catching up by a peer's log: it holds
    /// records we lack and we hold none, or it holds at least
    /// [`LOG_SYNC_MIN_RECORDS`] we lack (smaller gaps are fetched chain by
    /// chain). A node that holds records starts the peer's log past what
    /// it holds (see [`Self::start`]), so the log brings little it has.
    pub fn wants(&self, plan: &Plan) -> bool {
        plan.behind > 0 && (plan.held == 0 || plan.behind >= LOG_SYNC_MIN_RECORDS)
    }

    /// Starts a log sync with `peer` for `plan`; `None` while one is
    /// running. A fresh node reads the log from the cursor kept for the
    /// peer (or its beginning); a node that holds records asks the peer to
    /// start past both the cursor and where the first record it lacks
    /// stands ([`SyncRequest::LogFrom`]), and the page says where that was.
    pub fn start(&mut self, peer: PeerId, plan: &Plan) -> Option<SyncRequest> {
        if self.running.is_some() {
            return None;
        }
        self.running = Some(peer);
        self.epoch += 1;
        let after = self.cursor(&peer);
        let positioned = (1..=MAX_LOG_FROM_CHAINS).contains(&plan.firsts.len());
        Some(if plan.held > 0 && positioned {
            SyncRequest::LogFrom {
                after,
                firsts: plan.firsts.clone(),
            }
        } else {
            SyncRequest::Log { after }
        })
    }

    /// Whether a page of `peer`'s log after `after` belongs to the log
    /// sync running now: it runs with `peer` and is at that cursor. A page
    /// of an earlier run (stopped, then started again while the page was
    /// being ingested) does not.
    fn current(&self, peer: PeerId, after: u64) -> bool {
        self.running == Some(peer) && self.cursor(&peer) == after
    }

    /// Records that the page of `peer`'s log after `after` is ingested (it
    /// passed [`check_log_page`]), and says what comes next. A log shorter
    /// than the cursor (`end < after`: the peer's ledger is not the one
    /// the cursor was kept in) ends the log sync and forgets the cursor.
    pub fn page(&mut self, peer: PeerId, after: u64, page: Ingested) -> Paged {
        let Ingested { last, end, fresh } = page;
        if !self.current(peer, after) {
            return Paged::Stale;
        }
        if end < after {
            self.cursors.remove(&peer);
            self.stop(peer);
            return Paged::Done;
        }
        if self.cursors.len() >= MAX_LOG_CURSORS && !self.cursors.contains_key(&peer) {
            if let Some(other) = self.cursors.keys().find(|p| **p != peer).copied() {
                self.cursors.remove(&other);
            }
        }
        self.cursors.insert(peer, last);
        if last >= end {
            self.stop(peer);
            return Paged::Done;
        }
        if fresh == 0 {
            self.stop(peer);
            return Paged::Idle;
        }
        Paged::Next(SyncRequest::Log { after: last })
    }

    /// The page of `peer`'s log after `after` could not be ingested (the
    /// ledger did not answer, or the page was garbage): the log sync stops
    /// unless the page was of an earlier run.
    pub fn failed(&mut self, peer: PeerId, after: u64) {
        if self.current(peer, after) {
            self.stop(peer);
        }
    }

    /// Stops the log sync with `peer`, if one runs (its page failed, was
    /// refused or garbage, or the peer left); the cursor stays, and a later
    /// heads round starts it again.
    pub fn stop(&mut self, peer: PeerId) {
        if self.running == Some(peer) {
            self.running = None;
            self.epoch += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::store::MemoryStore;
    use ledger_core::workload::{self, Shape};
    use ledger_core::{Ledger, LedgerConfig, Outcome, SignedRecord};

    use crate::ledger_task::now_ms;

    /// A sled ledger holding `records` (in that order), and its directory.
    fn ledger_of(
        genesis: &ledger_core::Genesis,
        records: &[SignedRecord],
    ) -> (tempfile::TempDir, Ledger<SledStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger")).unwrap();
        let mut l = Ledger::create(store, genesis.clone(), LedgerConfig::default()).unwrap();
        for chunk in records.chunks(1_000) {
            l.ingest(chunk.to_vec(), now_ms()).unwrap();
        }
        (dir, l)
    }

    fn log_answer(r: &Reader<SledStore>, after: u64) -> (Vec<serde_bytes::ByteBuf>, u64, u64) {
        match answer(r, &SyncRequest::Log { after }).unwrap() {
            SyncResponse::Log { records, last, end } => (records, last, end),
            other => panic!("not a log page: {other:?}"),
        }
    }

    /// The log, read page by page from cursor 0, holds every record once,
    /// in an order a fresh ledger accepts page after page without parking
    /// anything; pages stay within the budget and their cursors pass
    /// [`check_log_page`].
    #[test]
    fn log_pages_bring_every_record_once_in_causal_order() {
        let w = workload::generate(Shape::for_records(4_500));
        let (_dir, peer) = ledger_of(&w.genesis, &w.records);
        let r = peer.readers().latest();
        let total = r.len();
        assert_eq!(total, w.records.len() as u64);

        let mut fresh = Ledger::create(
            MemoryStore::default(),
            w.genesis.clone(),
            LedgerConfig::default(),
        )
        .unwrap();
        let (mut after, mut pages, mut got) = (0, 0, 0u64);
        loop {
            let (records, last, end) = log_answer(&r, after);
            let bytes = records.iter().map(|r| r.len()).sum();
            check_log_page(after, records.len(), bytes, last, end).unwrap();
            assert!(records.len() <= MAX_RECORDS_PER_RESPONSE);
            assert_eq!(end, total, "the log end is the record count");
            let decoded: Vec<SignedRecord> = records
                .iter()
                .map(|b| SignedRecord::decode(b).unwrap())
                .collect();
            got += decoded.len() as u64;
            let report = fresh.ingest(decoded, now_ms()).unwrap();
            assert!(
                report
                    .outcomes
                    .iter()
                    .all(|(_, o)| matches!(o, Outcome::Accepted)),
                "a log page record did not land at once"
            );
            pages += 1;
            after = last;
            if last == end {
                break;
            }
        }
        assert_eq!(got, total);
        assert_eq!(pages, total.div_ceil(MAX_RECORDS_PER_RESPONSE as u64));
        assert_eq!(fresh.len(), total);
        assert_eq!(fresh.pending_len(), 0);
        assert_eq!(
            fresh.state_digest().unwrap(),
            peer.readers().latest().state_digest().unwrap()
        );

        // At the end: an empty page that says so.
        let (records, last, end) = log_answer(&r, total);
        assert!(records.is_empty());
        assert_eq!((last, end), (total, total));
        check_log_page(total, 0, 0, last, end).unwrap();
        // A cursor past the log: it is not the log the cursor was kept in.
        let (records, last, end) = log_answer(&r, total + 10);
        assert!(records.is_empty());
        assert_eq!(last, total + 10);
        assert!(end < total + 10);
        check_log_page(total + 10, 0, 0, last, end).unwrap();
    }

    #[test]
    fn log_pages_that_do_not_fit_their_cursor_are_garbage() {
        let full = MAX_RECORDS_PER_RESPONSE;
        let big = RESPONSE_BUDGET_BYTES;
        // (after, records, bytes, last, end)
        let ok = [
            (0, 2, 600, 2, 2),            // the whole log
            (0, full, 600, 2_000, 9_000), // cut by count
            (0, 3, big, 5, 9),            // cut by bytes, a seq skipped
            (7, 0, 0, 7, 7),              // at the end
            (7, 0, 0, 7, 3),              // a log shorter than the cursor
        ];
        for (after, n, bytes, last, end) in ok {
            check_log_page(after, n, bytes, last, end).unwrap();
        }
        let bad = [
            (10, 1, 300, 9, 20),                    // backwards
            (10, 3, 900, 12, 12),                   // more records than seqs
            (10, 0, 0, 12, 20),                     // advancing with nothing
            (10, 0, 0, 10, 20),                     // nothing, yet not at the end
            (10, 2, 600, 12, 11),                   // past its own end
            (10, 2, 600, 12, 20),                   // short, yet not at the end
            (0, full + 1, 600, u64::MAX, u64::MAX), // too many
        ];
        for (after, n, bytes, last, end) in bad {
            assert!(
                check_log_page(after, n, bytes, last, end).is_err(),
                "{after} {n} {bytes} {last} {end}"
            );
        }
    }

    #[test]
    fn plan_counts_what_the_peer_holds_beyond_us() {
        let w = workload::generate(Shape::for_records(600));
        let (_d1, full) = ledger_of(&w.genesis, &w.records);
        let (_d2, part) = ledger_of(&w.genesis, &w.records[..200]);
        let remote = heads(&full.readers().latest()).unwrap();
        let plan = plan(&part.readers().latest(), &remote, &HashSet::new()).unwrap();
        assert_eq!(plan.held, 200);
        assert_eq!(plan.behind, w.records.len() as u64 - 200);
        assert!(!plan.requests.is_empty());
        // Gossip bringing an author leaves its chain out, not its count.
        let arriving: HashSet<[u8; 32]> = remote.iter().map(|h| h.author).collect();
        let plan = super::plan(&part.readers().latest(), &remote, &arriving).unwrap();
        assert!(plan.requests.is_empty());
        assert_eq!(plan.behind, w.records.len() as u64 - 200);
    }

    fn gap(behind: u64, held: u64) -> Plan {
        Plan {
            requests: Vec::new(),
            firsts: vec![ChainFrom {
                author: [7; 32],
                seq: 3,
            }],
            behind,
            held,
        }
    }

    /// What a fresh node plans.
    fn fresh() -> Plan {
        gap(10, 0)
    }

    #[test]
    fn a_log_sync_is_wanted_for_a_fresh_node_and_for_large_gaps() {
        let logs = LogSyncs::default();
        let min = LOG_SYNC_MIN_RECORDS;
        assert!(!logs.wants(&gap(0, 0)), "nothing to fetch");
        assert!(logs.wants(&gap(1, 0)), "a fresh node");
        assert!(!logs.wants(&gap(min - 1, 10)), "a small gap");
        assert!(logs.wants(&gap(min, 1_000_000)), "a page or more");
    }

    #[test]
    fn a_node_holding_records_starts_the_log_past_what_it_holds() {
        let (p, q) = (PeerId::random(), PeerId::random());
        let mut logs = LogSyncs::with_cursors([(p, 4_000)].into());
        let holding = gap(LOG_SYNC_MIN_RECORDS, 1_000_000);
        let log_from = |after| {
            Some(SyncRequest::LogFrom {
                after,
                firsts: holding.firsts.clone(),
            })
        };
        assert_eq!(logs.start(p, &holding), log_from(4_000), "past the cursor");
        logs.stop(p);
        assert_eq!(logs.start(q, &holding), log_from(0), "no cursor");
        logs.stop(q);
        assert_eq!(logs.start(q, &fresh()), Some(SyncRequest::Log { after: 0 }));
        logs.stop(q);
        // Lacking records of more chains than a request may name, it
        // reads from its cursor.
        let mut wide = holding.clone();
        wide.firsts = vec![
            ChainFrom {
                author: [7; 32],
                seq: 3
            };
            MAX_LOG_FROM_CHAINS + 1
        ];
        assert_eq!(
            logs.start(p, &wide),
            Some(SyncRequest::Log { after: 4_000 })
        );
    }

    #[test]
    fn the_widest_log_from_request_fits_a_sync_request() {
        let firsts = (0..MAX_LOG_FROM_CHAINS)
            .map(|i| ChainFrom {
                author: [u8::MAX; 32],
                seq: u64::MAX - i as u64,
            })
            .collect();
        let request = SyncRequest::LogFrom {
            after: u64::MAX,
            firsts,
        };
        let bytes = cbor4ii::serde::to_vec(Vec::new(), &request).unwrap();
        assert!(
            bytes.len() as u64 <= crate::protocol::MAX_REQUEST_BYTES,
            "{} bytes",
            bytes.len()
        );
    }

    /// The records of `ledger`'s log after `after`, decoded.
    fn log_records(ledger: &Reader<SledStore>, request: &SyncRequest) -> (Vec<SignedRecord>, u64) {
        match answer(ledger, request).unwrap() {
            SyncResponse::Log { records, last, .. } => (
                records
                    .iter()
                    .map(|b| SignedRecord::decode(b).unwrap())
                    .collect(),
                last,
            ),
            other => panic!("not a log page: {other:?}"),
        }
    }

    #[test]
    fn log_from_starts_at_the_first_record_the_asker_lacks() {
        let w = workload::generate(Shape::for_records(1_200));
        let (_d1, full) = ledger_of(&w.genesis, &w.records);
        let (_d2, part) = ledger_of(&w.genesis, &w.records[..700]);
        let (full, part) = (full.readers().latest(), part.readers().latest());
        let plan = plan(&part, &heads(&full).unwrap(), &HashSet::new()).unwrap();
        let firsts = plan.firsts.clone();
        let (page, last) = log_records(&full, &SyncRequest::LogFrom { after: 0, firsts });
        // No gap in log seqs: the page starts right after `last - n`.
        let from = last - page.len() as u64;
        assert!(from > 0, "the asker holds a prefix of the log: skip it");
        assert!(
            part.record(&page[0].hash()).unwrap().is_none(),
            "the page starts with a record the asker lacks"
        );
        let (skipped, _) = log_records(&full, &SyncRequest::Log { after: 0 });
        for r in skipped.iter().take(usize::try_from(from).unwrap()) {
            assert!(
                part.record(&r.hash()).unwrap().is_some(),
                "every record skipped is held by the asker"
            );
        }
        // Past a kept cursor, when that is further.
        let firsts = plan.firsts.clone();
        let (_, cursor_last) = log_records(
            &full,
            &SyncRequest::LogFrom {
                after: 1_000,
                firsts,
            },
        );
        assert!(cursor_last > 1_000);
        // Chains the peer does not hold leave nothing to send.
        let unknown = SyncRequest::LogFrom {
            after: 0,
            firsts: vec![ChainFrom {
                author: [9; 32],
                seq: 0,
            }],
        };
        assert_eq!(log_records(&full, &unknown).0.len(), 0);
        let too_many = SyncRequest::LogFrom {
            after: 0,
            firsts: vec![
                ChainFrom {
                    author: [9; 32],
                    seq: 0
                };
                MAX_LOG_FROM_CHAINS + 1
            ],
        };
        assert!(matches!(
            answer(&full, &too_many).unwrap(),
            SyncResponse::Refused { .. }
        ));
    }

    fn page(last: u64, end: u64, fresh: usize) -> Ingested {
        Ingested { last, end, fresh }
    }

    #[test]
    fn cursors_read_back_are_resumed_and_stay_bounded() {
        let p = PeerId::random();
        let mut read: HashMap<PeerId, u64> = (0..MAX_LOG_CURSORS + 5)
            .map(|i| (PeerId::random(), i as u64))
            .collect();
        read.insert(p, 4_000);
        let mut logs = LogSyncs::with_cursors(read.clone());
        assert_eq!(logs.cursors().len(), MAX_LOG_CURSORS);
        let kept = *logs.cursors().keys().next().unwrap();
        assert_eq!(
            logs.start(kept, &fresh()),
            Some(SyncRequest::Log { after: read[&kept] })
        );
        logs.stop(kept);
        assert_eq!(
            LogSyncs::with_cursors([(p, 4_000)].into()).start(p, &fresh()),
            Some(SyncRequest::Log { after: 4_000 })
        );
        // A new peer's cursor takes another's place.
        let q = PeerId::random();
        logs.start(q, &fresh());
        assert_eq!(
            logs.page(q, 0, page(2_000, 9_000, 2_000)),
            Paged::Next(SyncRequest::Log { after: 2_000 })
        );
        assert_eq!(logs.cursors().len(), MAX_LOG_CURSORS);
        assert_eq!(logs.cursor(&q), 2_000);
    }

    #[test]
    fn log_syncs_run_one_at_a_time_page_after_page() {
        let mut logs = LogSyncs::default();
        let (p, q) = (PeerId::random(), PeerId::random());
        let e0 = logs.epoch();
        assert_eq!(logs.start(p, &fresh()), Some(SyncRequest::Log { after: 0 }));
        assert_ne!(logs.epoch(), e0, "plans made before it are stale");
        assert_eq!(logs.start(q, &fresh()), None, "one at a time");
        let stale = logs.page(q, 0, page(5, 9, 5));
        assert_eq!(stale, Paged::Stale, "q is not followed");
        assert_eq!(logs.cursor(&q), 0);

        let e1 = logs.epoch();
        let next = SyncRequest::Log { after: 2_000 };
        assert_eq!(logs.page(p, 0, page(2_000, 5_000, 1)), Paged::Next(next));
        assert_eq!(logs.epoch(), e1, "a page changes nothing but the cursor");
        // The same page again (of an earlier run) changes nothing.
        assert_eq!(logs.page(p, 0, page(2_000, 5_000, 1)), Paged::Stale);
        logs.failed(p, 0);
        assert_eq!(logs.running(), Some(p));
        let end = logs.page(p, 2_000, page(5_000, 5_000, 0));
        assert_eq!(end, Paged::Done, "the end, even if nothing new came");
        assert_eq!(logs.running(), None);
        assert_ne!(logs.epoch(), e1);
        assert_eq!(logs.cursor(&p), 5_000);

        // The next one resumes from the cursor; a failure keeps it.
        assert_eq!(
            logs.start(p, &fresh()),
            Some(SyncRequest::Log { after: 5_000 })
        );
        logs.failed(p, 5_000);
        assert_eq!(logs.running(), None);
        assert_eq!(logs.cursor(&p), 5_000);
        // A page of nothing new ends it early; the cursor moves on.
        logs.start(p, &fresh());
        let idle = logs.page(p, 5_000, page(7_000, 9_000, 0));
        assert_eq!(idle, Paged::Idle);
        assert_eq!(logs.running(), None);
        assert_eq!(logs.cursor(&p), 7_000);
        // A log shorter than the cursor is another log: start over.
        logs.start(p, &fresh());
        assert_eq!(logs.page(p, 7_000, page(7_000, 40, 0)), Paged::Done);
        assert_eq!(logs.cursor(&p), 0);
        assert_eq!(logs.running(), None);
        assert_eq!(logs.start(q, &fresh()), Some(SyncRequest::Log { after: 0 }));
    }
}
