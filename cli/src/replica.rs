//! A local replica: a ledger directory that follows a node.
//!
//! A village station joins a network from a node (`terroir join`), keeps
//! the network's records in its own ledger, and signs offline: every
//! record it signs, or loads from a delivery note, is validated by its
//! own ledger and kept in `outbox/` until `terroir sync` hands it to a
//! node. What the network refuses moves to `refused/` with the reason:
//! never lost.
//!
//! Layout, beside the ledger's `genesis.json` and `store/`:
//! - `replica.json`: the node followed, how far its log has been read,
//!   and the keys that sign here;
//! - `outbox/NNNNNNNN-HASH.rec`: records not yet handed over, oldest
//!   first, each the record's bytes;
//! - `refused/HASH.rec` and `refused/HASH.txt`: records the network
//!   refused, and why.
//!
//! The outbox is written before the ledger: a record is never in the
//! ledger without being in the outbox, and opening the replica stores the
//! newest outbox record if a crash came between the two (so the chain's
//! head is never behind a record already signed).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use ledger_core::graph::Graph;
use ledger_core::reader::Participant;
use ledger_core::{Genesis, Hash, LotId, NetworkId, PublicKey, SignedRecord};
use serde::{Deserialize, Serialize};

use crate::backend::{Backend, KeyView, Submitted};
use crate::ledger_dir::{self, LocalLedger};

/// The replica's settings file in a ledger directory.
pub(crate) const REPLICA_FILE: &str = "replica.json";
/// Records waiting to be handed to a node.
pub(crate) const OUTBOX_DIR: &str = "outbox";
/// Records the network refused, with the reason.
pub(crate) const REFUSED_DIR: &str = "refused";

/// `replica.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ReplicaFile {
    /// The node synced with (`http://HOST:PORT`).
    pub(crate) node: String,
    /// The node's log seq read up to.
    pub(crate) cursor: u64,
    /// When the replica last synced (ms), if ever.
    #[serde(default)]
    pub(crate) synced_at: Option<u64>,
    /// Keys that signed records here: their lineage is compared with the
    /// node's after each sync.
    #[serde(default)]
    pub(crate) signers: Vec<PublicKey>,
}

impl ReplicaFile {
    /// Reads `dir/replica.json`; `None` when the directory is not a replica.
    pub(crate) fn read(dir: &Path) -> Result<Option<Self>> {
        let path = dir.join(REPLICA_FILE);
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is damaged; remove it to stop syncing", path.display()))
    }

    /// Writes `dir/replica.json` atomically.
    pub(crate) fn write(&self, dir: &Path) -> Result<()> {
        let json = serde_json::to_string_pretty(self)? + "\n";
        write_atomic(&dir.join(REPLICA_FILE), json.as_bytes())
    }
}

/// Writes `bytes` to `path` through a temporary file, flushed and renamed,
/// so a crash leaves the old file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    let shown = path.display();
    let mut f = fs::File::create(&tmp).with_context(|| format!("cannot write {shown}"))?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("cannot write {shown}"))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot write {shown}"))?;
    if let Some(parent) = path.parent() {
        // The rename is durable once the directory is.
        if let Ok(d) = fs::File::open(parent) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// One record waiting in the outbox.
pub(crate) struct Queued {
    pub(crate) path: PathBuf,
    pub(crate) record: SignedRecord,
}

/// The outbox of a replica directory.
pub(crate) struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub(crate) fn of(replica: &Path) -> Self {
        Outbox {
            dir: replica.join(OUTBOX_DIR),
        }
    }

    /// The file names in order (oldest first).
    fn names(&self) -> Result<Vec<String>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", self.dir.display())),
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.ends_with(".rec"))
            .collect();
        names.sort();
        Ok(names)
    }

    /// How many records wait.
    pub(crate) fn len(&self) -> Result<usize> {
        Ok(self.names()?.len())
    }

    /// Adds a record (durably) as the newest; returns its file.
    pub(crate) fn push(&self, record: &SignedRecord) -> Result<PathBuf> {
        fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let next = self
            .names()?
            .last()
            .and_then(|n| n.split('-').next()?.parse::<u64>().ok())
            .map_or(1, |n| n + 1);
        let path = self
            .dir
            .join(format!("{next:08}-{}.rec", record.hash().to_hex()));
        write_atomic(&path, &record.encode())?;
        Ok(path)
    }

    /// Every waiting record, oldest first.
    pub(crate) fn list(&self) -> Result<Vec<Queued>> {
        self.names()?
            .into_iter()
            .map(|n| self.read(self.dir.join(n)))
            .collect()
    }

    /// The newest waiting record.
    fn newest(&self) -> Result<Option<Queued>> {
        match self.names()?.pop() {
            Some(n) => self.read(self.dir.join(n)).map(Some),
            None => Ok(None),
        }
    }

    fn read(&self, path: PathBuf) -> Result<Queued> {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let record = SignedRecord::decode(&bytes)
            .map_err(|e| anyhow!("{} is damaged: {e}", path.display()))?;
        Ok(Queued { path, record })
    }
}

/// Drops a record from the outbox: the network has it.
pub(crate) fn sent(q: &Queued) -> Result<()> {
    fs::remove_file(&q.path).with_context(|| format!("cannot remove {}", q.path.display()))
}

/// Moves a record from the outbox to `refused/`, with the reason beside it.
pub(crate) fn refuse(replica: &Path, q: &Queued, reason: &str) -> Result<PathBuf> {
    let dir = replica.join(REFUSED_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let hex = q.record.hash().to_hex();
    write_atomic(
        &dir.join(format!("{hex}.txt")),
        format!("{reason}\n").as_bytes(),
    )?;
    let to = dir.join(format!("{hex}.rec"));
    fs::rename(&q.path, &to).with_context(|| format!("cannot move {}", q.path.display()))?;
    Ok(to)
}

/// The records the network refused, with their reasons.
pub(crate) fn refused(replica: &Path) -> Result<Vec<(SignedRecord, String)>> {
    let dir = replica.join(REFUSED_DIR);
    let Ok(entries) = fs::read_dir(&dir) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rec"))
        .collect();
    paths.sort();
    for p in paths {
        let bytes = fs::read(&p).with_context(|| format!("cannot read {}", p.display()))?;
        let record =
            SignedRecord::decode(&bytes).map_err(|e| anyhow!("{} is damaged: {e}", p.display()))?;
        let why = fs::read_to_string(p.with_extension("txt")).unwrap_or_default();
        out.push((record, why.trim().to_owned()));
    }
    Ok(out)
}

/// Why a record was not stored, in words.
fn words(o: &ledger_core::Outcome) -> String {
    use ledger_core::Outcome as O;
    match o {
        O::Rejected { error } => error.to_string(),
        O::Pending(reason) => reason.to_string(),
        O::Accepted | O::Duplicate => "it was stored".to_owned(),
        _ => "the ledger had no room to keep it waiting".to_owned(),
    }
}

/// Stores the queued records the ledger lacks (a command crashed between
/// queueing and storing); one the rules refuse moves to `refused/`.
fn recover(dir: &Path, ledger: &mut LocalLedger, queued: Vec<Queued>) -> Result<()> {
    let mut missing = Vec::new();
    for q in queued {
        if Graph::record(ledger, &q.record.hash())?.is_none() {
            missing.push(q);
        }
    }
    let records = missing.iter().map(|q| q.record.clone()).collect();
    // As they were first submitted: the submission rules apply.
    let report = ledger.submit(records, crate::parse::now_ms())?;
    for q in &missing {
        let h = q.record.hash();
        if let Some((_, o)) = report.outcomes.iter().find(|(x, _)| *x == h) {
            if matches!(o, ledger_core::Outcome::Rejected { .. }) {
                refuse(
                    dir,
                    q,
                    &format!("this replica's own ledger refused it: {}", words(o)),
                )?;
            }
        }
    }
    Ok(())
}

/// A replica opened for work: its ledger, and the outbox every record
/// signed or loaded here goes through.
pub(crate) struct Replica {
    pub(crate) ledger: LocalLedger,
    pub(crate) dir: PathBuf,
    pub(crate) file: ReplicaFile,
}

impl Replica {
    /// Opens the replica in `dir`, storing the newest outbox record if a
    /// crash kept it from the ledger.
    pub(crate) fn open(dir: &Path, file: ReplicaFile) -> Result<Self> {
        let mut ledger = ledger_dir::open(dir)?;
        let outbox = Outbox::of(dir);
        // Only the newest can be missing after a crash in one command; if
        // it is, take in every queued record the ledger lacks.
        if let Some(q) = outbox.newest()? {
            if Graph::record(&ledger, &q.record.hash())?.is_none() {
                recover(dir, &mut ledger, outbox.list()?)?;
            }
        }
        Ok(Replica {
            ledger,
            dir: dir.to_owned(),
            file,
        })
    }

    /// Records `key` as one that signs here (for the lineage check).
    fn note_signer(&mut self, key: PublicKey) -> Result<()> {
        if !self.file.signers.contains(&key) {
            self.file.signers.push(key);
            self.file.write(&self.dir)?;
        }
        Ok(())
    }

    /// Loads others' records (a delivery note's lineage) into the ledger
    /// and the outbox, so the network gets them on the next sync too.
    /// Returns how many were new here.
    pub(crate) fn load(&mut self, records: Vec<SignedRecord>) -> Result<usize> {
        let now = crate::parse::now_ms();
        let outbox = Outbox::of(&self.dir);
        // Queued first, as every record here: a crash never leaves one
        // stored but not queued.
        let mut fresh = Vec::new();
        for r in records {
            if Graph::record(&self.ledger, &r.hash())?.is_none() {
                let path = outbox.push(&r)?;
                fresh.push((r, path));
            }
        }
        let report = self
            .ledger
            .ingest(fresh.iter().map(|(r, _)| r.clone()).collect(), now)?;
        let mut stored = 0;
        let mut refused = None;
        for (r, path) in &fresh {
            let h = r.hash();
            if Graph::record(&self.ledger, &h)?.is_some() {
                stored += 1;
                continue;
            }
            fs::remove_file(path).with_context(|| format!("cannot remove {}", path.display()))?;
            if let Some((_, o)) = report.outcomes.iter().find(|(x, _)| *x == h) {
                if !matches!(o, ledger_core::Outcome::Pending(_)) && refused.is_none() {
                    refused = Some(format!(
                        "record {} of the note was refused: {}",
                        h.short(),
                        words(o)
                    ));
                }
            }
        }
        match refused {
            Some(why) => bail!("{why}"),
            None => Ok(stored),
        }
    }
}

impl Backend for Replica {
    fn network(&self) -> NetworkId {
        Backend::network(&self.ledger)
    }

    fn place(&self) -> String {
        "this replica".to_owned()
    }

    fn key(&self, key: &PublicKey) -> Result<Option<KeyView>> {
        Backend::key(&self.ledger, key)
    }

    fn participants(&self) -> Result<Vec<Participant>> {
        Backend::participants(&self.ledger)
    }

    fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>> {
        Backend::lots_with_code(&self.ledger, code)
    }

    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>> {
        Backend::record(&self.ledger, hash)
    }

    fn records_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Hash>> {
        Backend::records_with_prefix(&self.ledger, prefix, limit)
    }

    fn lot_codes(&self) -> Result<Vec<String>> {
        Backend::lot_codes(&self.ledger)
    }

    fn creation(&self, lot: &LotId) -> Result<Hash> {
        Backend::creation(&self.ledger, lot)
    }

    fn trace(&self, lot: &LotId) -> Result<Option<ledger_core::query::Trace>> {
        Backend::trace(&self.ledger, lot)
    }

    fn bundle(&self, lot: &LotId) -> Result<Option<Vec<u8>>> {
        Backend::bundle(&self.ledger, lot)
    }

    fn genesis(&self, lot: &LotId) -> Result<Genesis> {
        Backend::genesis(&self.ledger, lot)
    }

    fn holdings(&self, who: &PublicKey) -> Result<Vec<(LotId, ledger_core::Quantity)>> {
        Backend::holdings(&self.ledger, who)
    }

    fn reach(&self, lot: &LotId) -> Result<ledger_core::reach::Reach> {
        Backend::reach(&self.ledger, lot)
    }

    /// Outbox first, then the ledger: a refused record leaves the outbox
    /// again, a stored one waits there for `terroir sync`.
    fn submit(&mut self, record: &SignedRecord, now: u64) -> Result<Submitted> {
        let queued = Outbox::of(&self.dir).push(record)?;
        let result = Backend::submit(&mut self.ledger, record, now);
        match &result {
            Ok(Submitted::Stored { duplicate: false }) => {
                self.note_signer(record.record.author)?;
            }
            _ => {
                fs::remove_file(&queued)
                    .with_context(|| format!("cannot remove {}", queued.display()))?;
            }
        }
        result
    }

    fn load(&mut self, records: Vec<SignedRecord>) -> Result<usize> {
        Replica::load(self, records)
    }

    fn queued(&self) -> Option<usize> {
        Outbox::of(&self.dir).len().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::author::Author;
    use ledger_core::genesis::{Authority, GENESIS_VERSION};
    use ledger_core::{Event, Role, SigningKey};

    fn key(name: &str) -> SigningKey {
        SigningKey::from_seed(&Hash::of(name.as_bytes()).0)
    }

    /// A replica directory whose network the bureau founded.
    fn replica(dir: &Path) -> Genesis {
        let genesis = Genesis {
            version: GENESIS_VERSION,
            network: "crash test".into(),
            authorities: vec![Authority {
                key: key("bureau").public(),
                name: "bureau".into(),
            }],
            checkpoint_threshold: 1,
            created: 1_000,
            profile: Default::default(),
        };
        drop(ledger_dir::create(dir, genesis.clone()).expect("ledger"));
        ReplicaFile {
            node: "http://127.0.0.1:1".into(),
            cursor: 0,
            synced_at: None,
            signers: Vec::new(),
        }
        .write(dir)
        .expect("replica.json");
        genesis
    }

    fn enroll(bureau: &mut Author, who: &str, time: u64) -> SignedRecord {
        bureau.sign(
            time,
            vec![],
            Event::Enroll {
                participant: key(who).public(),
                name: who.into(),
                role: Role::Farm,
                location: ledger_core::event::Location {
                    description: "village".into(),
                    gln: None,
                },
            },
        )
    }

    #[test]
    fn a_record_queued_but_not_stored_before_a_crash_is_stored_on_open() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("station");
        let genesis = replica(&dir);
        let mut bureau = Author::new(key("bureau"), genesis.id());
        // Two records queued, the command died before storing them.
        let a = enroll(&mut bureau, "farm-a", 2_000);
        let b = enroll(&mut bureau, "farm-b", 3_000);
        let outbox = Outbox::of(&dir);
        outbox.push(&a).expect("queue");
        outbox.push(&b).expect("queue");
        let file = ReplicaFile::read(&dir).expect("read").expect("a replica");
        let replica = Replica::open(&dir, file).expect("open");
        for r in [&a, &b] {
            assert!(Graph::record(&replica.ledger, &r.hash())
                .expect("read")
                .is_some());
        }
        // Still queued for the node.
        assert_eq!(outbox.len().expect("len"), 2);
    }

    #[test]
    fn a_queued_record_the_rules_refuse_moves_to_refused_with_the_reason() {
        let tmp = tempfile::tempdir().expect("tmp");
        let dir = tmp.path().join("station");
        replica(&dir);
        // Signed for another network: the ledger refuses it.
        let mut stranger = Author::new(key("bureau"), Hash::of(b"another network"));
        let bad = enroll(&mut stranger, "farm-a", 2_000);
        Outbox::of(&dir).push(&bad).expect("queue");
        let file = ReplicaFile::read(&dir).expect("read").expect("a replica");
        let replica = Replica::open(&dir, file).expect("open");
        assert!(Graph::record(&replica.ledger, &bad.hash())
            .expect("read")
            .is_none());
        assert_eq!(Outbox::of(&dir).len().expect("len"), 0);
        let kept = refused(&dir).expect("refused");
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].0, bad);
        assert!(
            kept[0]
                .1
                .starts_with("this replica's own ledger refused it"),
            "{}",
            kept[0].1
        );
    }
}
