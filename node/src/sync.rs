//! Sync: what to answer a peer's request, and what to ask a peer for after
//! comparing heads. Plain functions over the ledger, run on the ledger
//! thread; the swarm task only moves the messages.

use std::collections::{BTreeSet, HashSet};

use ledger_core::graph::Graph;
use ledger_core::store::SledStore;
use ledger_core::{Hash, PublicKey, Reader, StoreError};

use crate::protocol::{
    Head, SyncRequest, SyncResponse, MAX_HASHES_PER_REQUEST, MAX_HEADS, MAX_RECORDS_PER_RESPONSE,
    RESPONSE_BUDGET_BYTES,
};

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
    }
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
