//! Gossip: announcements of new records on the network's topic.
//!
//! Gossiped records are validated in batches: the swarm task decodes each
//! message and queues it (bounded by [`GOSSIP_QUEUE`] records and
//! [`GOSSIP_QUEUE_BYTES`]) for one batcher task, which hands up to
//! [`GOSSIP_BATCH_RECORDS`] of them to the ledger in one ingest and reports
//! every message's own verdict back to gossipsub. Sync leaves authors with
//! records in that queue to gossip, so it does not fetch them twice.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ledger_core::ledger::PendingReason;
use ledger_core::{Outcome, SignedRecord};
use libp2p::gossipsub::{MessageAcceptance, MessageId};
use libp2p::PeerId;
use tokio::sync::mpsc;

use super::client::request_missing;
use super::{Net, NetCmd, NetworkHandle};
use crate::ledger_task::LedgerHandle;
use crate::metrics::Metrics;

/// Gossiped records queued for validation or being validated, at most.
/// A replica that keeps up holds about one batch; 4,096 is four of the
/// origin's 1,000-record submissions, so a burst waits instead of being
/// lost. Beyond it gossip is ignored (not forwarded) and those records
/// come by sync.
pub const GOSSIP_QUEUE: usize = 4_096;
/// Bytes of gossiped records queued or being validated, at most. For
/// ordinary records (~330 B) [`GOSSIP_QUEUE`] binds first (~1.3 MiB);
/// this keeps 4,096 maximal 64 KiB records from holding 256 MiB.
pub const GOSSIP_QUEUE_BYTES: usize = 16 * 1024 * 1024;
/// Most gossiped records validated by one ledger ingest. 1,000 is one of
/// the origin's submissions and ~120 ms of ingest at the one-thread rate
/// (~8,000/s), so a record waits little behind its own batch, and it is
/// well past the 256 where signature batch verification stops gaining.
/// Below the ledger's group limit, so a batch still merges with others.
pub const GOSSIP_BATCH_RECORDS: usize = 1_000;
/// How long a batch started on an idle node waits for more gossip before
/// it is validated. A submission's records arrive within a few ms of each
/// other, so they share one ingest; a lone record waits only this long.
/// Under load the queue already holds a full batch and nothing waits.
pub const GOSSIP_BATCH_WAIT: Duration = Duration::from_millis(5);

/// A gossiped record on its way to the ledger.
pub(super) struct GossipItem {
    pub(super) source: PeerId,
    pub(super) id: MessageId,
    pub(super) record: SignedRecord,
    /// The message's size, counted against [`GOSSIP_QUEUE_BYTES`].
    pub(super) bytes: usize,
}

/// What gossipsub is told about one message of a batch.
#[derive(Debug)]
pub(super) struct GossipVerdict {
    pub(super) source: PeerId,
    pub(super) id: MessageId,
    pub(super) acceptance: MessageAcceptance,
    pub(super) author: [u8; 32],
    pub(super) bytes: usize,
}

/// The gossiped records queued for validation or being validated: how
/// many, their bytes, and how many of each author (which sync leaves to
/// gossip).
#[derive(Debug, Default)]
pub(super) struct GossipInflight {
    pub(super) records: usize,
    pub(super) bytes: usize,
    pub(super) authors: HashMap<[u8; 32], usize>,
}

impl GossipInflight {
    /// Counts a record in, unless the queue is at its bounds.
    pub(super) fn admit(&mut self, author: [u8; 32], bytes: usize) -> bool {
        if self.records >= GOSSIP_QUEUE || self.bytes.saturating_add(bytes) > GOSSIP_QUEUE_BYTES {
            return false;
        }
        self.records += 1;
        self.bytes += bytes;
        *self.authors.entry(author).or_insert(0) += 1;
        true
    }

    /// Counts a record out once its verdict is known.
    pub(super) fn done(&mut self, author: &[u8; 32], bytes: usize) {
        self.records = self.records.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(bytes);
        if let Some(n) = self.authors.get_mut(author) {
            *n -= 1;
            if *n == 0 {
                self.authors.remove(author);
            }
        }
    }
}

impl Net {
    /// Decodes a gossiped record and queues it for the batcher. Returns
    /// the verdict to report at once (undecodable bytes: reject and strike;
    /// queue full: ignore), or `None` when the batcher will report it.
    pub(super) fn queue_gossip(
        &mut self,
        source: PeerId,
        id: MessageId,
        data: Vec<u8>,
    ) -> Option<MessageAcceptance> {
        let record = match SignedRecord::decode(&data) {
            Ok(r) => r,
            Err(e) => {
                self.strike(source, &format!("gossip: {e}"));
                return Some(MessageAcceptance::Reject);
            }
        };
        let author = record.record.author.0;
        let bytes = data.len();
        if !self.gossip.admit(author, bytes) {
            self.metrics.inc(&self.metrics.gossip_dropped);
            return Some(MessageAcceptance::Ignore);
        }
        let item = GossipItem {
            source,
            id,
            record,
            bytes,
        };
        match self.gossip_tx.try_send(item) {
            Ok(()) => None,
            Err(_) => {
                self.gossip.done(&author, bytes);
                self.metrics.inc(&self.metrics.gossip_dropped);
                Some(MessageAcceptance::Ignore)
            }
        }
    }
}

/// The gossip batcher: takes queued gossip in batches of up to
/// [`GOSSIP_BATCH_RECORDS`] (waiting at most [`GOSSIP_BATCH_WAIT`] for a
/// batch to fill) and validates each batch with one ledger ingest. It ends
/// when the swarm task drops the queue.
pub(super) async fn gossip_batcher(
    mut rx: mpsc::Receiver<GossipItem>,
    ledger: LedgerHandle,
    handle: NetworkHandle,
    metrics: Arc<Metrics>,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        let wait = tokio::time::sleep(GOSSIP_BATCH_WAIT);
        tokio::pin!(wait);
        while batch.len() < GOSSIP_BATCH_RECORDS {
            tokio::select! {
                biased;
                item = rx.recv() => match item {
                    Some(item) => batch.push(item),
                    None => break,
                },
                () = &mut wait => break,
            }
        }
        metrics.inc(&metrics.gossip_batches);
        validate_batch(&ledger, &handle, batch).await;
    }
}

/// Validates a batch of gossiped records with one ledger ingest and tells
/// gossipsub each message's verdict: accepted records are forwarded;
/// rejected ones are rejected and their sender struck; duplicates are
/// ignored; records still waiting for their own chain's previous record
/// only are forwarded if their author has a chain here (they travel while they wait, see
/// `ledger_task::travels_pending`) and ignored otherwise, and their
/// senders are asked for what they wait on. A record that waited on another of the same batch and was
/// stored by the same ingest is accepted like any other. One record's
/// verdict never depends on the rest of the batch beyond that: the ledger
/// judges each on its own causal past.
async fn validate_batch(ledger: &LedgerHandle, handle: &NetworkHandle, batch: Vec<GossipItem>) {
    let mut records = Vec::with_capacity(batch.len());
    let mut verdicts = Vec::with_capacity(batch.len());
    for item in batch {
        verdicts.push(GossipVerdict {
            source: item.source,
            id: item.id,
            acceptance: MessageAcceptance::Ignore,
            author: item.record.record.author.0,
            bytes: item.bytes,
        });
        // The peer that propagated it: its strangers' records share one
        // part of the pending pool.
        records.push((item.record, Some(crate::source::of_peer(&item.source))));
    }
    let mut strikes = Vec::new();
    // (index in the batch, its hash, its author and prev, the hashes it
    // waits for)
    type Who = (ledger_core::PublicKey, Option<ledger_core::Hash>);
    let mut waiting: Vec<(usize, ledger_core::Hash, Who, Vec<ledger_core::Hash>)> = Vec::new();
    let authors: Vec<Who> = records
        .iter()
        .map(|(r, _)| (r.record.author, r.record.prev))
        .collect();
    if let Ok(Ok(report)) = ledger.ingest_sourced(records).await {
        for (i, (v, (hash, outcome))) in verdicts.iter_mut().zip(report.outcomes).enumerate() {
            v.acceptance = match outcome {
                Outcome::Accepted => MessageAcceptance::Accept,
                Outcome::Rejected { error } => {
                    strikes.push((v.source, format!("gossiped record {hash}: {error}")));
                    MessageAcceptance::Reject
                }
                Outcome::Pending(PendingReason::Missing { hashes }) => {
                    if let Some(who) = authors.get(i) {
                        waiting.push((i, hash, *who, hashes));
                    }
                    MessageAcceptance::Ignore
                }
                _ => MessageAcceptance::Ignore,
            };
        }
    }
    let mut missing: BTreeMap<PeerId, BTreeSet<ledger_core::Hash>> = BTreeMap::new();
    if !waiting.is_empty() {
        // Which waiting records are stored now (released by this ingest),
        // which travel on while they wait (their author has a chain here:
        // see `ledger_task::travels_pending`), and which of their missing
        // hashes are neither stored nor waiting in this batch themselves
        // (then what they wait on is asked for).
        let in_batch: HashSet<ledger_core::Hash> = waiting.iter().map(|(_, h, _, _)| *h).collect();
        let checked = ledger
            .read(move |r| {
                let stored = |h: &ledger_core::Hash| {
                    ledger_core::graph::Graph::record(r, h).is_ok_and(|r| r.is_some())
                };
                waiting
                    .into_iter()
                    .map(|(i, hash, (author, prev), wants)| {
                        let travels =
                            crate::ledger_task::travels_while_waiting(r, &author, prev, &wants);
                        let absent: Vec<_> = wants
                            .into_iter()
                            .filter(|h| !in_batch.contains(h) && !stored(h))
                            .collect();
                        (i, stored(&hash), travels, absent)
                    })
                    .collect::<Vec<_>>()
            })
            .await
            .unwrap_or_default();
        for (i, now_stored, travels, absent) in checked {
            let Some(v) = verdicts.get_mut(i) else {
                continue;
            };
            if now_stored || travels {
                v.acceptance = MessageAcceptance::Accept;
            }
            if !now_stored {
                missing.entry(v.source).or_default().extend(absent);
            }
        }
    }
    handle.send(NetCmd::Gossiped { verdicts, strikes }).await;
    for (peer, hashes) in missing {
        request_missing(handle, peer, hashes).await;
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::NETWORK_QUEUE;
    use crate::protocol::SyncRequest;
    use ledger_core::store::SledStore;
    use ledger_core::workload::{self, Shape};
    use ledger_core::{Hash, Ledger, LedgerConfig};

    fn item(source: PeerId, r: &SignedRecord) -> GossipItem {
        let bytes = r.encode();
        GossipItem {
            source,
            id: MessageId::from(Hash::of(&bytes).0.to_vec()),
            record: r.clone(),
            bytes: bytes.len(),
        }
    }

    /// Queues `items`, then runs the batcher over them until the queue is
    /// drained; returns the ledger, the metrics, the records it held before
    /// and every command it sent the swarm task.
    async fn batch_all(
        genesis: ledger_core::Genesis,
        items: Vec<GossipItem>,
    ) -> (
        tempfile::TempDir,
        LedgerHandle,
        Arc<Metrics>,
        u64,
        Vec<NetCmd>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("ledger")).unwrap();
        let ledger = Ledger::create(store, genesis, LedgerConfig::default()).unwrap();
        let founded = ledger.len();
        let metrics = Arc::new(Metrics::default());
        let (ledger, _join) = LedgerHandle::spawn(ledger, metrics.clone(), 0);
        let (gossip_tx, gossip_rx) = mpsc::channel(GOSSIP_QUEUE);
        for i in items {
            gossip_tx.try_send(i).unwrap();
        }
        drop(gossip_tx);
        let (tx, mut rx) = mpsc::channel(NETWORK_QUEUE);
        let batcher = tokio::spawn(gossip_batcher(
            gossip_rx,
            ledger.clone(),
            NetworkHandle { tx },
            metrics.clone(),
        ));
        let mut cmds = Vec::new();
        // Ends when the batcher, the only sender, has finished.
        while let Some(c) = rx.recv().await {
            cmds.push(c);
        }
        batcher.await.unwrap();
        (dir, ledger, metrics, founded, cmds)
    }

    fn verdicts(cmds: &[NetCmd]) -> Vec<&GossipVerdict> {
        cmds.iter()
            .filter_map(|c| match c {
                NetCmd::Gossiped { verdicts, .. } => Some(verdicts),
                _ => None,
            })
            .flatten()
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gossip_arriving_together_is_validated_in_few_ingests() {
        let w = workload::generate(Shape::for_records(2_500));
        let n = w.records.len();
        let peer = PeerId::random();
        let items = w.records.iter().map(|r| item(peer, r)).collect();
        let (_dir, ledger, metrics, founded, cmds) = batch_all(w.genesis.clone(), items).await;

        let batches = n.div_ceil(GOSSIP_BATCH_RECORDS);
        let gossiped = cmds
            .iter()
            .filter(|c| matches!(c, NetCmd::Gossiped { .. }))
            .count();
        assert_eq!(gossiped, batches, "one verdict command per batch");
        assert_eq!(
            metrics
                .gossip_batches
                .load(std::sync::atomic::Ordering::Relaxed),
            batches as u64,
            "one ledger ingest per batch"
        );
        let v = verdicts(&cmds);
        assert_eq!(v.len(), n, "every message gets a verdict");
        assert!(v
            .iter()
            .all(|v| v.acceptance == MessageAcceptance::Accept && v.source == peer));
        let stored = ledger.read(|r| r.len()).await.unwrap();
        assert_eq!(stored, founded + n as u64, "every record stored");
        assert!(!cmds
            .iter()
            .any(|c| matches!(c, NetCmd::Fetch { .. } | NetCmd::Strike { .. })));
        // Close before the directory goes: the ledger folds its tail.
        ledger.close().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalid_record_in_a_batch_costs_only_its_sender() {
        let w = workload::generate(Shape::for_records(300));
        let r = &w.records;
        let depends = |later: &SignedRecord, on: &SignedRecord| {
            let h = on.hash();
            later.record.prev == Some(h) || later.record.deps.contains(&h)
        };
        // A record left out, and the first later record that names it.
        let m = 200;
        let j = (m + 1..r.len())
            .find(|&j| depends(&r[j], &r[m]))
            .expect("a record depending on the one left out");
        // A pair (a, b), b naming a, that arrives the wrong way round.
        let (a, b) = (50..m)
            .flat_map(|a| (a + 1..m).map(move |b| (a, b)))
            .find(|&(a, b)| depends(&r[b], &r[a]))
            .expect("a dependent pair");

        let honest = PeerId::random();
        let evil = PeerId::random();
        let k = 120;
        let mut forged = r[k].clone();
        forged.signature.0[0] ^= 1;
        let mut order: Vec<usize> = (0..m).filter(|&i| i != b).collect();
        let at = order.iter().position(|&i| i == a).unwrap();
        order.insert(at, b);
        order.extend(m + 1..=j);
        let mut items = Vec::new();
        for &i in &order {
            if i == k {
                // The forgery of record k arrives just before k itself.
                items.push(item(evil, &forged));
            }
            items.push(item(honest, &r[i]));
        }
        // A stranger (a key nobody enrolled) whose record waits for a
        // record nobody has: it waits here and does not travel.
        let mut stranger = ledger_core::author::Author::resume(
            workload::key_for("stranger", 0),
            w.genesis.id(),
            Some((3, Hash::of(b"nothing"))),
        );
        let strangers = stranger.sign(r[j].record.time, vec![], r[j].record.event.clone());
        items.push(item(honest, &strangers));
        let forged_id = item(evil, &forged).id;
        let stranger_waiting = item(honest, &strangers).id;
        let left_waiting = item(honest, &r[j]).id;
        let author_j = r[j].record.author;
        let (_dir, ledger, _metrics, _, cmds) = batch_all(w.genesis.clone(), items).await;
        let has_chain = ledger
            .read(move |r| r.key_state(&author_j).unwrap().is_some())
            .await
            .unwrap();
        assert!(has_chain, "the waiting record's author has a chain here");

        let v = verdicts(&cmds);
        assert_eq!(v.len(), order.len() + 2, "every message gets a verdict");
        // The record left waiting travels on if it waits for its own
        // chain's previous record (its author has a chain here); not if it
        // waits for another author's.
        let j_travels = r[j].record.prev == Some(r[m].hash());
        for v in &v {
            let want = if v.id == forged_id {
                MessageAcceptance::Reject
            } else if v.id == stranger_waiting || (v.id == left_waiting && !j_travels) {
                MessageAcceptance::Ignore
            } else {
                MessageAcceptance::Accept
            };
            assert_eq!(v.acceptance, want, "message from {}", v.source);
        }
        let strikes: Vec<&PeerId> = cmds
            .iter()
            .filter_map(|c| match c {
                NetCmd::Gossiped { strikes, .. } => Some(strikes.iter().map(|(p, _)| p)),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(strikes, vec![&evil], "only the forger is struck");
        let fetches: Vec<(&PeerId, &SyncRequest)> = cmds
            .iter()
            .filter_map(|c| match c {
                NetCmd::Fetch { peer, request } => Some((peer, request)),
                _ => None,
            })
            .collect();
        let mut asked = [r[m].hash(), Hash::of(b"nothing")];
        asked.sort();
        assert_eq!(
            fetches,
            vec![(
                &honest,
                &SyncRequest::Records {
                    hashes: asked.iter().map(|h| h.0).collect()
                }
            )],
            "the sender of the waiting records is asked for what they wait on"
        );
        let (hb, hk, hj) = (r[b].hash(), r[k].hash(), r[j].hash());
        let held = ledger
            .read(move |r| {
                [hb, hk, hj].map(|h| ledger_core::graph::Graph::record(r, &h).unwrap().is_some())
            })
            .await
            .unwrap();
        assert_eq!(held, [true, true, false]);
        ledger.close().await;
    }
}
