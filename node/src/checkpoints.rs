//! The checkpoint task: proposes, checks, cosigns and applies checkpoints.
//!
//! Every node checks a checkpoint the same way before it does anything
//! with it: the note is of this network and signed by genesis
//! authorities, it names the newest final checkpoint as its previous one,
//! and recomputing the cut it names from this node's own records gives
//! exactly the size, root and status map it states. A node lacking some of
//! the cut's records waits for sync to bring them and checks again.
//!
//! - **Proposing.** The authority whose turn it is (height modulo the
//!   number of authorities, in genesis order) proposes an interval after
//!   the newest final checkpoint was made, if anything is new; the next in
//!   turn an interval later if no proposal came, and so on, so an
//!   authority that is down is stood in for.
//! - **Cosigning.** An authority signs at most one checkpoint per height,
//!   and records which before it signs (`checkpoint-vote` in the data
//!   directory), so with a threshold above half the authorities no two
//!   different checkpoints can both become final at one height, even
//!   across restarts.
//! - **Applying.** A checkpoint with `k` signatures is applied to the log
//!   and announced with all its signatures. Every interval a node asks a
//!   couple of peers for final checkpoints past its newest, so one that
//!   was away fetches those it missed.
//! - **Contradictions.** Two signed checkpoints that cannot both be true
//!   (two at one height, a log that does not extend) are kept as proof
//!   (`checkpoint-conflicts`) and shown on `/status`.

use std::collections::{BTreeMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ledger_core::checkpoint::{contradiction, ConflictProof, Contradiction, SignedCheckpoint};
use ledger_core::ledger::{Applied, ApplyError};
use ledger_core::tlog::{ExtendError, Extension, LogState};
use ledger_core::{Genesis, Hash, NetworkId, SigningKey};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, watch};

use crate::ledger_task::{now_ms, LedgerHandle};
use crate::metrics::Metrics;
use crate::network::NetworkHandle;
use crate::protocol::{CheckpointItem, MAX_CUT_TIPS};

/// Checkpoints from peers and clients waiting for the task, at most;
/// more are dropped (final ones are fetched again every interval).
pub const INCOMING_QUEUE: usize = 256;
/// Proposals at the next height kept at once (one per authority, and
/// room for copies with other signature sets).
const MAX_PENDING: usize = 32;
/// Contradictions kept (the oldest go first).
const MAX_CONFLICTS: usize = 64;
/// Refused checkpoints remembered for `/status`.
const MAX_REFUSED: usize = 16;
/// How far ahead of this node's clock a checkpoint may be dated.
const MAX_FUTURE_MS: u64 = 5 * 60 * 1000;
/// How long before this node's clock a proposal may be dated and still be
/// cosigned: a cosignature says the checkpoint's records existed by its
/// time, so a proposer cannot backdate by more than this. Final
/// checkpoints of any age are still applied (a node catching up).
const MAX_PAST_MS: u64 = 5 * 60 * 1000;
/// A node asks its peers for final checkpoints it may have missed every
/// interval, but not more often than this.
const MIN_FETCH_EVERY: Duration = Duration::from_secs(1);
/// File of this authority's last vote in the data directory.
pub const VOTE_FILE: &str = "checkpoint-vote";
/// File of the contradictions seen, in the data directory.
pub const CONFLICTS_FILE: &str = "checkpoint-conflicts";

/// A checkpoint from a peer (gossip or a fetch) or a client.
#[derive(Debug)]
pub struct Incoming {
    /// The note and its cut.
    pub item: CheckpointItem,
    /// The peer it came from, to fetch what came before it.
    pub from: Option<PeerId>,
}

/// What the task is configured to do.
#[derive(Debug, Clone)]
pub struct CheckpointSettings {
    /// The authority key this node signs with, if it is one.
    pub key: Option<Arc<SigningKey>>,
    /// Whether it proposes.
    pub propose: bool,
    /// Whether it cosigns.
    pub cosign: bool,
    /// How long after a final checkpoint the next is due.
    pub interval: Duration,
}

/// A checkpoint as `/status` shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NoteView {
    /// Its height.
    pub height: u64,
    /// Records in its log.
    pub size: u64,
    /// When it was made, RFC 3339 in the network's time zone.
    pub time: String,
    /// Its hash, short.
    pub hash: String,
    /// Who signed it, by name.
    pub signers: Vec<String>,
    /// The signed note itself: the proof.
    pub note: String,
}

/// Two checkpoints that cannot both be true.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ConflictView {
    /// Why, in words.
    pub reason: String,
    /// One.
    pub a: NoteView,
    /// The other.
    pub b: NoteView,
}

/// A checkpoint this node would not sign or apply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RefusedView {
    /// Its height.
    pub height: u64,
    /// Its hash, short.
    pub hash: String,
    /// Why.
    pub reason: String,
}

/// The task's state as `/status` shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CheckpointView {
    /// `proposer and cosigner`, `cosigner`, `proposer` or `observer`.
    pub role: String,
    /// The authority this node signs as, by name.
    pub authority: Option<String>,
    /// Proposals at the next height: (height, signers, signatures needed).
    pub pending: Vec<PendingView>,
    /// Contradictions seen.
    pub conflicts: Vec<ConflictView>,
    /// Recently refused checkpoints.
    pub refused: Vec<RefusedView>,
}

/// A proposal waiting for signatures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingView {
    /// Its height.
    pub height: u64,
    /// Its hash, short.
    pub hash: String,
    /// Who signed it so far.
    pub signers: Vec<String>,
    /// How many must.
    pub need: u16,
    /// Whether this node could recompute it yet.
    pub checked: bool,
}

/// A handle on the checkpoint task.
#[derive(Debug, Clone)]
pub struct CheckpointHandle {
    tx: mpsc::Sender<Incoming>,
    view: Arc<Mutex<CheckpointView>>,
}

impl CheckpointHandle {
    /// Hands the task a checkpoint (from a client); `false` if its queue
    /// is full.
    pub fn offer(&self, item: CheckpointItem) -> bool {
        self.tx.try_send(Incoming { item, from: None }).is_ok()
    }

    /// What the task shows.
    pub fn view(&self) -> CheckpointView {
        self.view.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

/// Starts the task. `tx` must be the sender of `rx` (the network holds
/// another clone).
#[allow(clippy::too_many_arguments)]
pub fn spawn(
    settings: CheckpointSettings,
    genesis: Arc<Genesis>,
    ledger: LedgerHandle,
    net: NetworkHandle,
    metrics: Arc<Metrics>,
    data_dir: &Path,
    (tx, rx): (mpsc::Sender<Incoming>, mpsc::Receiver<Incoming>),
    shutdown: watch::Receiver<bool>,
) -> (CheckpointHandle, tokio::task::JoinHandle<()>) {
    let my_index = settings
        .key
        .as_ref()
        .and_then(|k| genesis.authorities.iter().position(|a| a.key == k.public()));
    if settings.key.is_some() && my_index.is_none() {
        tracing::warn!("the checkpoint key is not a genesis authority's: this node only observes");
    }
    let view = Arc::new(Mutex::new(CheckpointView::default()));
    let vote_path = data_dir.join(VOTE_FILE);
    let conflicts_path = data_dir.join(CONFLICTS_FILE);
    let conflicts = load_conflicts(&conflicts_path, &genesis);
    let task = Task {
        network: genesis.id(),
        genesis,
        ledger,
        net,
        metrics,
        my_index,
        settings,
        vote: Vote::load(&vote_path),
        vote_path,
        pending: BTreeMap::new(),
        pending_height: 0,
        conflicts,
        conflicts_path,
        refused: VecDeque::new(),
        view: view.clone(),
        last_fetch: Instant::now(),
        started: now_ms(),
    };
    let join = tokio::spawn(task.run(rx, shutdown));
    (CheckpointHandle { tx, view }, join)
}

/// The height and checkpoint this authority signed last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Vote {
    height: Option<u64>,
    hash: Hash,
}

impl Default for Vote {
    fn default() -> Self {
        Vote {
            height: None,
            hash: Hash([0; 32]),
        }
    }
}

impl Vote {
    fn load(path: &Path) -> Self {
        let Ok(text) = std::fs::read_to_string(path) else {
            return Vote::default();
        };
        let mut parts = text.split_whitespace();
        let height = parts.next().and_then(|h| h.parse().ok());
        let hash = parts.next().and_then(|h| Hash::from_hex(h).ok());
        match (height, hash) {
            (Some(height), Some(hash)) => Vote {
                height: Some(height),
                hash,
            },
            _ => {
                tracing::error!(file = %path.display(), "the checkpoint vote file is damaged: this authority signs no checkpoint until an operator checks which it signed last and removes the file");
                Vote {
                    height: Some(u64::MAX),
                    hash: Hash([0; 32]),
                }
            }
        }
    }

    /// Whether signing `hash` at `height` keeps one vote per height.
    fn allows(&self, height: u64, hash: &Hash) -> bool {
        match self.height {
            Some(u64::MAX) => false,
            Some(h) if h == height => self.hash == *hash,
            Some(h) => h < height,
            None => true,
        }
    }
}

/// Writes `text` to `path` whole: a temporary file, fsync, rename.
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// A contradiction as kept on disk.
#[derive(Serialize, Deserialize)]
struct StoredConflict {
    a: String,
    b: String,
}

fn load_conflicts(path: &Path, genesis: &Genesis) -> Vec<ConflictProof> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    text.lines()
        .filter_map(|l| serde_json::from_str::<StoredConflict>(l).ok())
        .filter_map(|c| {
            let a = SignedCheckpoint::from_note(c.a.as_bytes(), genesis).ok()?;
            let b = SignedCheckpoint::from_note(c.b.as_bytes(), genesis).ok()?;
            let why = contradiction(&a.checkpoint, &b.checkpoint)?;
            Some(ConflictProof {
                a,
                b,
                contradiction: why,
            })
        })
        .collect()
}

/// Where a proposal stands with this node.
#[derive(Debug, Clone)]
enum Check {
    /// Not recomputed yet, or some of its records are still missing.
    Waiting,
    /// Recomputed: it states exactly what this node's records give.
    Good(Arc<Extension>),
    /// Recomputed, and it does not.
    Bad,
}

struct Pending {
    signed: SignedCheckpoint,
    tips: Vec<Hash>,
    check: Check,
}

struct Task {
    genesis: Arc<Genesis>,
    network: NetworkId,
    ledger: LedgerHandle,
    net: NetworkHandle,
    metrics: Arc<Metrics>,
    my_index: Option<usize>,
    settings: CheckpointSettings,
    vote: Vote,
    vote_path: PathBuf,
    /// Proposals at `pending_height`, by hash.
    pending: BTreeMap<Hash, Pending>,
    pending_height: u64,
    conflicts: Vec<ConflictProof>,
    conflicts_path: PathBuf,
    refused: VecDeque<RefusedView>,
    view: Arc<Mutex<CheckpointView>>,
    last_fetch: Instant,
    /// When the task started (ms): the first checkpoint is due an interval
    /// after.
    started: u64,
}

impl Task {
    async fn run(mut self, mut rx: mpsc::Receiver<Incoming>, mut shutdown: watch::Receiver<bool>) {
        let period =
            (self.settings.interval / 4).clamp(Duration::from_millis(50), Duration::from_secs(1));
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        self.show();
        loop {
            tokio::select! {
                _ = shutdown.changed() => break,
                Some(incoming) = rx.recv() => self.incoming(incoming).await,
                _ = tick.tick() => self.tick().await,
            }
            self.show();
        }
    }

    fn key(&self) -> Option<Arc<SigningKey>> {
        self.my_index.and(self.settings.key.clone())
    }

    async fn log_state(&self) -> Option<LogState> {
        self.ledger.read(|r| r.log().clone()).await.ok()
    }

    async fn incoming(&mut self, Incoming { item, from }: Incoming) {
        let Ok(signed) = SignedCheckpoint::from_note(item.note.as_bytes(), &self.genesis) else {
            return;
        };
        // Tips travel unsigned: only those the note's cut line names count.
        let Some(tips) = item.tips_of(&signed.checkpoint.cut) else {
            return;
        };
        let Some(state) = self.log_state().await else {
            return;
        };
        let next = state.next_height();
        let height = signed.checkpoint.height;
        if height < next {
            // At or below the newest: a contradiction with the final one
            // there, or more signatures for the newest.
            if !self.against_stored(&signed).await && height.saturating_add(1) == next {
                self.apply(signed, tips, None).await;
            }
        } else if height > next {
            if let Some(peer) = from {
                self.net.fetch_checkpoints(peer, next).await;
            }
        } else {
            self.offer(signed, tips, &state).await;
        }
    }

    /// A checkpoint at or below the newest height, against the final one
    /// there: kept as proof when they contradict and the contradiction
    /// shows someone lied — an authority signed both, or both are final.
    /// (An honest proposal that lost its height to another is neither.)
    /// Returns whether they differ.
    async fn against_stored(&mut self, signed: &SignedCheckpoint) -> bool {
        let height = signed.checkpoint.height;
        let stored = self.ledger.read(move |r| r.final_checkpoint(height)).await;
        let Ok(Ok(Some((note, _)))) = stored else {
            return false;
        };
        let Ok(fin) = SignedCheckpoint::from_note(note.as_bytes(), &self.genesis) else {
            return false;
        };
        let Some(why) = contradiction(&fin.checkpoint, &signed.checkpoint) else {
            return false;
        };
        let shared = fin.signers().iter().any(|k| signed.signers().contains(k));
        if shared || signed.is_final(&self.genesis) {
            self.conflict(ConflictProof {
                a: fin,
                b: signed.clone(),
                contradiction: why,
            });
        }
        true
    }

    /// A checkpoint at the next height: kept with the other proposals,
    /// checked, cosigned, applied once final.
    async fn offer(&mut self, signed: SignedCheckpoint, tips: Vec<Hash>, state: &LogState) {
        let height = state.next_height();
        if self.pending_height != height {
            self.pending.clear();
            self.pending_height = height;
        }
        let hash = signed.checkpoint.hash();
        // An authority that signed two different checkpoints at one height
        // broke its vote: the two are proof of it.
        let signers = signed.signers();
        let equivocation = self
            .pending
            .iter()
            .find(|(h, p)| **h != hash && p.signed.signers().iter().any(|k| signers.contains(k)))
            .map(|(_, p)| p.signed.clone());
        if let Some(other) = equivocation {
            self.conflict(ConflictProof {
                a: other,
                b: signed.clone(),
                contradiction: Contradiction::SameHeight,
            });
        }
        let room = self.pending.len() < MAX_PENDING;
        match self.pending.get_mut(&hash) {
            Some(p) => {
                p.signed.merge(&signed);
            }
            None if room => {
                self.pending.insert(
                    hash,
                    Pending {
                        signed,
                        tips,
                        check: Check::Waiting,
                    },
                );
            }
            None => return,
        }
        self.progress(hash, state).await;
    }

    /// Checks a proposal if it is not yet, cosigns it if this node may,
    /// applies it once final.
    async fn progress(&mut self, hash: Hash, state: &LogState) {
        let Some(p) = self.pending.get(&hash) else {
            return;
        };
        if matches!(p.check, Check::Waiting) {
            let (signed, tips) = (p.signed.clone(), p.tips.clone());
            let check = self.check(&signed, &tips, state).await;
            if let Some(p) = self.pending.get_mut(&hash) {
                p.check = check;
            }
        }
        let Some(p) = self.pending.get(&hash) else {
            return;
        };
        let Check::Good(ext) = p.check.clone() else {
            return;
        };
        let height = p.signed.checkpoint.height;
        let signed_here = self
            .key()
            .is_some_and(|k| p.signed.signers().contains(&k.public()));
        let fresh = p.signed.checkpoint.time >= now_ms().saturating_sub(MAX_PAST_MS);
        if self.settings.cosign && !signed_here && fresh && self.vote.allows(height, &hash) {
            self.cosign(hash, height).await;
        }
        let Some(p) = self.pending.get(&hash) else {
            return;
        };
        if p.signed.is_final(&self.genesis) {
            let (signed, tips) = (p.signed.clone(), p.tips.clone());
            self.apply(signed, tips, Some(ext)).await;
        }
    }

    /// Recomputes a proposal from this node's records.
    async fn check(&mut self, signed: &SignedCheckpoint, tips: &[Hash], state: &LogState) -> Check {
        let c = &signed.checkpoint;
        let hash = c.hash();
        if c.prev != state.head() {
            return self.refuse(
                c.height,
                hash,
                "it does not extend the newest final checkpoint",
            );
        }
        let prev_time = state.checkpoint.as_ref().map_or(0, |p| p.checkpoint.time);
        if c.time < prev_time || c.time > now_ms().saturating_add(MAX_FUTURE_MS) {
            return self.refuse(
                c.height,
                hash,
                "its time is before the previous checkpoint's or ahead of the clock",
            );
        }
        let owned = tips.to_vec();
        match self.ledger.read(move |r| r.extend_log(&owned)).await {
            Ok(Ok(ext)) if ext.matches(c) => Check::Good(Arc::new(ext)),
            Ok(Ok(_)) => self.refuse(
                c.height,
                hash,
                "recomputing it from this node's records gives another log or status map",
            ),
            Ok(Err(ExtendError::Missing(_) | ExtendError::Moved)) | Err(_) => Check::Waiting,
            Ok(Err(e)) => {
                let why = format!("it cannot be recomputed: {e}");
                self.refuse(c.height, hash, &why)
            }
        }
    }

    fn refuse(&mut self, height: u64, hash: Hash, reason: &str) -> Check {
        tracing::warn!(height, hash = %hash.short(), reason, "refusing a checkpoint");
        self.metrics.inc(&self.metrics.checkpoints_refused);
        if self.refused.len() >= MAX_REFUSED {
            self.refused.pop_front();
        }
        self.refused.push_back(RefusedView {
            height,
            hash: hash.short(),
            reason: reason.to_owned(),
        });
        Check::Bad
    }

    /// Records the vote, then signs and announces.
    async fn cosign(&mut self, hash: Hash, height: u64) {
        let Some(key) = self.key() else {
            return;
        };
        if !self.record_vote(height, hash) {
            return;
        }
        let Some(p) = self.pending.get_mut(&hash) else {
            return;
        };
        p.signed.cosign(&key, now_ms() / 1000);
        self.metrics.inc(&self.metrics.checkpoints_cosigned);
        tracing::info!(height, hash = %hash.short(), "cosigned a checkpoint");
        let item = CheckpointItem::new(p.signed.to_note(), &p.tips);
        self.net.publish_checkpoint(&item).await;
    }

    /// Keeps on disk that this authority signs `hash` at `height`, before
    /// it does; `false` (and no signature) if it cannot.
    fn record_vote(&mut self, height: u64, hash: Hash) -> bool {
        let vote = Vote {
            height: Some(height),
            hash,
        };
        if self.vote == vote {
            return true;
        }
        match write_whole(&self.vote_path, &format!("{height} {}\n", hash.to_hex())) {
            Ok(()) => {
                self.vote = vote;
                true
            }
            Err(e) => {
                tracing::error!(file = %self.vote_path.display(), error = %e, "cannot record the checkpoint vote; not signing");
                false
            }
        }
    }

    /// Applies a final checkpoint (or adds its signatures to the newest).
    async fn apply(
        &mut self,
        signed: SignedCheckpoint,
        tips: Vec<Hash>,
        ext: Option<Arc<Extension>>,
    ) {
        let (s, t) = (signed.clone(), tips.clone());
        let applied = self
            .ledger
            .exclusive(move |l| l.ledger.apply_checkpoint(&s, &t, ext.as_deref()))
            .await;
        let c = &signed.checkpoint;
        match applied {
            Ok(Ok(Applied::Extended { records })) => {
                self.metrics.inc(&self.metrics.checkpoints_applied);
                tracing::info!(
                    height = c.height,
                    size = c.size,
                    records,
                    signers = signed.signatures.len(),
                    "checkpoint final"
                );
                self.pending.clear();
                self.pending_height = c.height.saturating_add(1);
                self.net
                    .publish_checkpoint(&CheckpointItem::new(signed.to_note(), &tips))
                    .await;
            }
            Ok(Ok(Applied::Signatures { .. })) => {}
            Ok(Err(ApplyError::Contradicts(proof))) => self.conflict(*proof),
            Ok(Err(ApplyError::Mismatch { what, .. })) => {
                let why = format!("it states {what} that this node's records do not give");
                self.refuse(c.height, c.hash(), &why);
            }
            Ok(Err(e)) => {
                tracing::debug!(height = c.height, error = %e, "checkpoint not applied yet")
            }
            Err(_) => {}
        }
    }

    /// Keeps a contradiction, on disk and for `/status`.
    fn conflict(&mut self, proof: ConflictProof) {
        let (a, b) = (proof.a.checkpoint.hash(), proof.b.checkpoint.hash());
        let known = self.conflicts.iter().any(|p| {
            let (x, y) = (p.a.checkpoint.hash(), p.b.checkpoint.hash());
            (x, y) == (a, b) || (x, y) == (b, a)
        });
        if known {
            return;
        }
        tracing::error!(
            height_a = proof.a.checkpoint.height,
            height_b = proof.b.checkpoint.height,
            reason = proof.contradiction.describe(),
            "two signed checkpoints contradict each other; keeping the proof"
        );
        self.metrics.inc(&self.metrics.checkpoint_conflicts);
        if self.conflicts.len() >= MAX_CONFLICTS {
            self.conflicts.remove(0);
        }
        self.conflicts.push(proof);
        let lines: Vec<String> = self
            .conflicts
            .iter()
            .filter_map(|p| {
                serde_json::to_string(&StoredConflict {
                    a: p.a.to_note(),
                    b: p.b.to_note(),
                })
                .ok()
            })
            .collect();
        if let Err(e) = write_whole(&self.conflicts_path, &(lines.join("\n") + "\n")) {
            tracing::error!(file = %self.conflicts_path.display(), error = %e, "cannot keep the checkpoint conflicts");
        }
    }

    async fn tick(&mut self) {
        let Some(state) = self.log_state().await else {
            return;
        };
        if self.pending_height != state.next_height() {
            self.pending.clear();
            self.pending_height = state.next_height();
        }
        let waiting: Vec<Hash> = self
            .pending
            .iter()
            .filter(|(_, p)| !matches!(p.check, Check::Bad))
            .map(|(h, _)| *h)
            .collect();
        for hash in waiting {
            self.progress(hash, &state).await;
        }
        self.maybe_propose(&state).await;
        if self.last_fetch.elapsed() >= self.settings.interval.max(MIN_FETCH_EVERY) {
            self.last_fetch = Instant::now();
            self.net.fetch_checkpoints_any(state.next_height()).await;
        }
    }

    /// Proposes the next checkpoint when it is this authority's turn and
    /// something is new.
    async fn maybe_propose(&mut self, state: &LogState) {
        let (Some(index), true) = (self.my_index, self.settings.propose) else {
            return;
        };
        let Some(key) = self.key() else {
            return;
        };
        let height = state.next_height();
        // A vote at this height or beyond (a damaged vote file reads as
        // the highest) rules out proposing another.
        if !self.pending.is_empty() || self.vote.height.is_some_and(|v| v >= height) {
            return;
        }
        let since = state
            .checkpoint
            .as_ref()
            .map_or(self.started, |c| c.checkpoint.time);
        let now = now_ms();
        if proposer_at(
            since,
            now,
            self.settings.interval,
            height,
            self.genesis.authorities.len(),
        ) != Some(index)
        {
            return;
        }
        let Ok(Ok(mut tips)) = self.ledger.read(|r| r.unlogged_tips()).await else {
            return;
        };
        if tips.is_empty() {
            return;
        }
        tips.truncate(MAX_CUT_TIPS);
        let owned = tips.clone();
        let Ok(Ok(ext)) = self.ledger.read(move |r| r.extend_log(&owned)).await else {
            return;
        };
        if ext.records.is_empty() || ext.height != height {
            return;
        }
        let prev_time = state.checkpoint.as_ref().map_or(0, |c| c.checkpoint.time);
        let c = ext.checkpoint(self.network, now.max(prev_time));
        let hash = c.hash();
        if !self.record_vote(height, hash) {
            return;
        }
        let signed = SignedCheckpoint::propose(c, &key);
        self.metrics.inc(&self.metrics.checkpoints_proposed);
        tracing::info!(
            height,
            size = ext.size(),
            records = ext.records.len(),
            "proposing a checkpoint"
        );
        let item = CheckpointItem::new(signed.to_note(), &ext.tips);
        self.pending_height = height;
        self.pending.insert(
            hash,
            Pending {
                signed,
                tips: ext.tips.clone(),
                check: Check::Good(Arc::new(ext)),
            },
        );
        self.net.publish_checkpoint(&item).await;
        self.progress(hash, state).await;
    }

    /// Publishes the view `/status` shows.
    fn show(&self) {
        let names = |s: &SignedCheckpoint| s.signer_names(&self.genesis);
        let note_view = |s: &SignedCheckpoint| NoteView {
            height: s.checkpoint.height,
            size: s.checkpoint.size,
            time: ledger_core::time::local(s.checkpoint.time, self.genesis.time_zone())
                .to_rfc3339(),
            hash: s.checkpoint.hash().short(),
            signers: names(s),
            note: s.to_note(),
        };
        let role = match (
            self.my_index.is_some(),
            self.settings.propose,
            self.settings.cosign,
        ) {
            (false, _, _) => "observer",
            (true, true, true) => "proposer and cosigner",
            (true, true, false) => "proposer",
            (true, false, true) => "cosigner",
            (true, false, false) => "observer",
        };
        let view = CheckpointView {
            role: role.to_owned(),
            authority: self
                .my_index
                .and_then(|i| self.genesis.authorities.get(i))
                .map(|a| a.name.clone()),
            pending: self
                .pending
                .iter()
                .map(|(h, p)| PendingView {
                    height: p.signed.checkpoint.height,
                    hash: h.short(),
                    signers: names(&p.signed),
                    need: self.genesis.checkpoint_threshold,
                    checked: matches!(p.check, Check::Good(_)),
                })
                .collect(),
            conflicts: self
                .conflicts
                .iter()
                .map(|p| ConflictView {
                    reason: p.contradiction.describe().to_owned(),
                    a: note_view(&p.a),
                    b: note_view(&p.b),
                })
                .collect(),
            refused: self.refused.iter().cloned().collect(),
        };
        if let Ok(mut v) = self.view.lock() {
            *v = view;
        }
    }
}

/// Whose turn it is to propose checkpoint `height` at `now`, counting
/// from `since` (the newest checkpoint's time): nobody for the first
/// interval, then one authority per interval, starting with authority
/// `height mod n` in genesis order and moving on to the next each
/// interval it lets pass. Only one authority's turn at a time, however
/// long the network was quiet, so two proposals at one height need
/// clocks (or gossip) an interval apart.
fn proposer_at(since: u64, now: u64, interval: Duration, height: u64, n: usize) -> Option<usize> {
    let interval = u64::try_from(interval.as_millis())
        .unwrap_or(u64::MAX)
        .max(1);
    let slot = now.saturating_sub(since) / interval;
    let slot = slot.checked_sub(1)?;
    let n = n as u64;
    if n == 0 {
        return None;
    }
    usize::try_from((height % n + slot % n) % n).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authority_signs_one_checkpoint_per_height_across_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(VOTE_FILE);
        let (a, b) = (Hash([1; 32]), Hash([2; 32]));
        let none = Vote::load(&path);
        assert!(none.allows(0, &a) && none.allows(7, &b));
        write_whole(&path, &format!("7 {}\n", a.to_hex())).unwrap();
        let vote = Vote::load(&path);
        assert!(vote.allows(7, &a), "the same one again");
        assert!(!vote.allows(7, &b), "another at the same height");
        assert!(!vote.allows(6, &b), "an older height");
        assert!(vote.allows(8, &b), "the next height");
        std::fs::write(&path, "garbage").unwrap();
        let damaged = Vote::load(&path);
        assert!(!damaged.allows(7, &a) && !damaged.allows(1_000, &b));
    }
}

#[cfg(test)]
mod turns {
    use super::*;

    #[test]
    fn one_authority_at_a_time_whatever_the_quiet() {
        let i = Duration::from_millis(1_000);
        assert_eq!(
            proposer_at(0, 999, i, 0, 4),
            None,
            "the first interval is nobody's"
        );
        assert_eq!(proposer_at(0, 1_000, i, 0, 4), Some(0));
        assert_eq!(proposer_at(0, 1_999, i, 0, 4), Some(0));
        assert_eq!(proposer_at(0, 2_000, i, 0, 4), Some(1), "a stand-in");
        assert_eq!(
            proposer_at(0, 1_000, i, 5, 4),
            Some(1),
            "height 5 starts at authority 1"
        );
        assert_eq!(proposer_at(0, 4_000, i, 5, 4), Some(0), "and wraps round");
        // A night's quiet: still exactly one.
        let night = 8 * 3_600 * 1_000;
        let turns: Vec<usize> = (0..4)
            .filter(|a| proposer_at(0, night, i, 3, 4) == Some(*a))
            .collect();
        assert_eq!(turns.len(), 1);
        assert_eq!(proposer_at(5_000, 1_000, i, 0, 4), None, "a clock behind");
    }
}
