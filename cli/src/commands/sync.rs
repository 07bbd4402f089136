//! `terroir join`, `terroir sync` and `terroir outbox`: a local replica
//! that signs offline and catches up with a node when one is reachable
//! (see [`crate::replica`]).

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ledger_core::{Hash, PublicKey, SignedRecord};
use serde_json::json;

use crate::backend::Backend;
use crate::book::Book;
use crate::ledger_dir;
use crate::output::{bar, say, BOLD, DIM, OK};
use crate::remote::{BatchOutcome, Node};
use crate::replica::{self, Outbox, Replica, ReplicaFile};
use crate::settings::{NodeUrl, Settings};

/// Records handed to a node per request.
const PUSH_BATCH: usize = 500;
/// Records asked of a node per request.
const PULL_PAGE: usize = 1000;

#[derive(Debug, clap::Args)]
pub(crate) struct JoinArgs {
    /// The network's genesis file; by default the node's (`GET /genesis`).
    /// Given both, they must be the same network.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SyncArgs {}

#[derive(Debug, clap::Args)]
pub(crate) struct OutboxArgs {}

/// The node to work with: `--node`, else the replica's own.
fn node_of(s: &Settings, file: Option<&ReplicaFile>) -> Result<NodeUrl> {
    if let Some(url) = &s.node {
        return Ok(url.clone());
    }
    match file {
        Some(f) => crate::settings::node_url(&f.node)
            .map_err(|e| anyhow::anyhow!("replica.json names a bad node: {e}")),
        None => bail!("give the node to join with --node http://HOST:PORT"),
    }
}

pub(crate) fn join(s: &Settings, a: JoinArgs) -> Result<()> {
    let url = node_of(s, None)?;
    let node = Node::connect(&url, s.node_token.clone())?;
    let genesis = match &a.genesis {
        Some(path) => {
            let g = ledger_dir::read_genesis(path)?;
            if g.id() != node.network() {
                bail!(
                    "{} founds network {}, but the node at {url} serves network {}",
                    path.display(),
                    g.id().short(),
                    node.network().short()
                );
            }
            g
        }
        None => node.genesis_doc()?,
    };
    let ledger = ledger_dir::create(&s.ledger, genesis)?;
    drop(ledger);
    let file = ReplicaFile {
        node: url.to_string(),
        cursor: 0,
        synced_at: None,
        signers: Vec::new(),
    };
    file.write(&s.ledger)?;
    if s.out.human() {
        say!(
            "joined network {} as a replica of {url} in {}",
            node.network().short(),
            s.ledger.display()
        );
    }
    let mut replica = Replica::open(&s.ledger, file)?;
    let summary = run_sync(s, &mut replica, &node)?;
    summary.print(s, &replica)
}

pub(crate) fn sync(s: &Settings, _a: SyncArgs) -> Result<()> {
    let Some(file) = ReplicaFile::read(&s.ledger)? else {
        bail!(
            "{} is not a replica: `terroir join --node URL` makes one (a ledger founded with \
             `terroir init` is the network's own and follows no node)",
            s.ledger.display()
        );
    };
    let url = node_of(s, Some(&file))?;
    let mut replica = Replica::open(&s.ledger, file)?;
    let node = Node::connect(&url, s.node_token.clone())?;
    if node.network() != Backend::network(&replica) {
        bail!(
            "the node at {url} serves network {}, this replica follows network {}",
            node.network().short(),
            Backend::network(&replica).short()
        );
    }
    if url.to_string() != replica.file.node {
        // Another node's log numbers its records differently.
        replica.file.node = url.to_string();
        replica.file.cursor = 0;
        replica.file.write(&s.ledger)?;
    }
    let summary = run_sync(s, &mut replica, &node)?;
    summary.print(s, &replica)
}

/// What one sync did.
#[derive(Default)]
struct Summary {
    sent: usize,
    refused: Vec<(SignedRecord, String)>,
    waiting: Vec<(SignedRecord, String)>,
    pulled: u64,
    lineages: Vec<LineageCheck>,
}

struct LineageCheck {
    key: PublicKey,
    local: Option<ledger_core::query::Lineage>,
    node: Option<ledger_core::query::Lineage>,
}

/// Pushes the outbox, then pulls what is new, then compares lineages.
fn run_sync(s: &Settings, replica: &mut Replica, node: &Node) -> Result<Summary> {
    let mut summary = Summary::default();
    // Push, oldest first: each record goes after what it depends on.
    let queued = Outbox::of(&replica.dir).list()?;
    let pb = bar(&s.out, queued.len() as u64, "sending", "records");
    for chunk in queued.chunks(PUSH_BATCH) {
        let records: Vec<SignedRecord> = chunk.iter().map(|q| q.record.clone()).collect();
        let outcomes = node.submit_batch(&records)?;
        for (q, outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                BatchOutcome::Stored => {
                    replica::sent(q)?;
                    summary.sent += 1;
                }
                BatchOutcome::Refused(why) => {
                    replica::refuse(&replica.dir, q, &why)?;
                    summary.refused.push((q.record.clone(), why));
                }
                BatchOutcome::Waiting(why) => summary.waiting.push((q.record.clone(), why)),
            }
        }
        pb.inc(chunk.len() as u64);
    }
    pb.finish_and_clear();
    // Pull what the node has that this replica has not read yet.
    let first = node.log_page(replica.file.cursor, PULL_PAGE)?;
    let pb = bar(
        &s.out,
        first.end.saturating_sub(replica.file.cursor),
        "receiving",
        "records",
    );
    let mut page = first;
    loop {
        let n = page.records.len() as u64;
        if n > 0 {
            let before = replica.ledger.len();
            replica
                .ledger
                .ingest(page.records, crate::parse::now_ms())
                .context("storing the node's records")?;
            summary.pulled += replica.ledger.len().saturating_sub(before);
        }
        replica.file.cursor = page.next;
        pb.inc(n);
        if n == 0 || page.next >= page.end {
            break;
        }
        page = node.log_page(replica.file.cursor, PULL_PAGE)?;
    }
    pb.finish_and_clear();
    replica.file.synced_at = Some(crate::parse::now_ms());
    replica.file.write(&replica.dir)?;
    for key in replica.file.signers.clone() {
        summary.lineages.push(LineageCheck {
            key,
            local: ledger_core::query::lineage_digest(&replica.ledger, &key)?,
            node: node.lineage(&key)?,
        });
    }
    Ok(summary)
}

impl Summary {
    fn print(&self, s: &Settings, replica: &Replica) -> Result<()> {
        let book = Book::load(replica)?;
        let waiting_total = Outbox::of(&replica.dir).len()?;
        let describe = |r: &SignedRecord| {
            format!(
                "{} by {} (record {}, {})",
                r.record.event.kind(),
                book.name(&r.record.author),
                r.hash().short(),
                crate::parse::show_time(r.record.time)
            )
        };
        s.out.json(&json!({
            "node": replica.file.node,
            "sent": self.sent,
            "refused": self.refused.iter().map(|(r, why)| json!({"record": r.hash(), "kind": r.record.event.kind(), "reason": why})).collect::<Vec<_>>(),
            "waiting": self.waiting.iter().map(|(r, why)| json!({"record": r.hash(), "reason": why})).collect::<Vec<_>>(),
            "received": self.pulled,
            "outbox": waiting_total,
            "lineages": self.lineages.iter().map(|l| json!({
                "key": l.key,
                "name": book.name(&l.key),
                "local": l.local,
                "node": l.node,
                "same": l.local == l.node,
            })).collect::<Vec<_>>(),
        }))?;
        s.out.quiet(self.sent);
        if !s.out.human() {
            return Ok(());
        }
        say!(
            "{BOLD}synced with {}{BOLD:#}: sent {} record(s), received {} new record(s)",
            replica.file.node,
            self.sent,
            self.pulled
        );
        for (r, why) in &self.refused {
            say!(
                "  refused: {} — {why}; kept in {}/",
                describe(r),
                replica::REFUSED_DIR
            );
        }
        for (r, why) in &self.waiting {
            say!("  not yet: {} — {why}; it stays in the outbox", describe(r));
        }
        for l in &self.lineages {
            let name = book.name(&l.key);
            match (&l.local, &l.node) {
                (Some(a), Some(b)) if a == b => say!(
                    "  {OK}✓{OK:#} {name}'s lineage: {} records, digest {} — the same on the node",
                    a.records,
                    a.digest.short()
                ),
                (a, b) => say!(
                    "  ✗ {name}'s lineage differs: {} here, {} on the node; sync again",
                    a.map_or("none".to_owned(), |l| format!("{} records", l.records)),
                    b.map_or("none".to_owned(), |l| format!("{} records", l.records)),
                ),
            }
        }
        if waiting_total > 0 {
            say!("{DIM}{waiting_total} record(s) still wait in the outbox{DIM:#}");
        }
        Ok(())
    }
}

/// `terroir outbox`: what waits to be sent, and what the network refused.
pub(crate) fn outbox(s: &Settings, _a: OutboxArgs) -> Result<()> {
    let Some(file) = ReplicaFile::read(&s.ledger)? else {
        bail!(
            "{} is not a replica, so it has no outbox (`terroir join --node URL` makes one)",
            s.ledger.display()
        );
    };
    let replica = Replica::open(&s.ledger, file)?;
    let book = Book::load(&replica)?;
    let queued = Outbox::of(&replica.dir).list()?;
    let refused = replica::refused(&replica.dir)?;
    let row = |r: &SignedRecord| -> (Hash, String) {
        (
            r.hash(),
            format!(
                "{} by {} at {} (record {})",
                r.record.event.kind(),
                book.name(&r.record.author),
                crate::parse::show_time(r.record.time),
                r.hash().short()
            ),
        )
    };
    s.out.json(&json!({
        "node": replica.file.node,
        "synced_at": replica.file.synced_at.map(crate::parse::rfc3339),
        "waiting": queued.iter().map(|q| json!({"record": q.record.hash(), "kind": q.record.record.event.kind()})).collect::<Vec<_>>(),
        "refused": refused.iter().map(|(r, why)| json!({"record": r.hash(), "kind": r.record.event.kind(), "reason": why})).collect::<Vec<_>>(),
    }))?;
    s.out.quiet(queued.len());
    if s.out.human() {
        let last = replica
            .file
            .synced_at
            .map_or("never".to_owned(), crate::parse::show_time);
        say!("replica of {} · last synced {last}", replica.file.node);
        say!("{} record(s) wait to be sent:", queued.len());
        for q in &queued {
            say!("  {}", row(&q.record).1);
        }
        if !refused.is_empty() {
            say!(
                "{} record(s) the network refused (kept in {}/):",
                refused.len(),
                replica::REFUSED_DIR
            );
            for (r, why) in &refused {
                say!("  {} — {why}", row(r).1);
            }
        }
    }
    Ok(())
}
