//! Sync: what to answer a peer's request, and what to ask a peer for after
//! comparing heads. Plain functions over the ledger, run on the ledger
//! thread; the swarm task only moves the messages. A peer's log is served
//! a page at a time ([`SyncRequest::Log`]): its records in the order it
//! accepted them, which is causal.

use std::collections::{BTreeSet, HashSet};

use ledger_core::graph::Graph;
use ledger_core::store::SledStore;
use ledger_core::{Hash, PublicKey, Reader, StoreError};

use crate::protocol::{
    Head, SyncRequest, SyncResponse, MAX_HASHES_PER_REQUEST, MAX_HEADS, MAX_RECORDS_PER_RESPONSE,
    RESPONSE_BUDGET_BYTES,
};

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
) -> Result<Vec<SyncRequest>, StoreError> {
    let authorities: BTreeSet<PublicKey> =
        ledger.genesis().authorities.iter().map(|a| a.key).collect();
    let mut first = Vec::new();
    let mut rest = Vec::new();
    for h in remote.iter().take(MAX_HEADS) {
        if arriving.contains(&h.author) {
            continue;
        }
        let author = PublicKey(h.author);
        let known = ledger.record(&Hash(h.hash))?.is_some();
        let local = ledger.key_state(&author)?;
        let local_count = if local.is_some() {
            ledger.chain(&author)?.len() as u64
        } else {
            0
        };
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
    Ok(first)
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
}
