//! `terroir status`: what the ledger (or, with `--node`, the node) holds,
//! and its state digest.

use anyhow::Result;
use serde_json::json;

use serde_json::Value;

use crate::output::{say, BAD, BOLD, KEY};
use crate::replica::{Outbox, ReplicaFile};
use crate::settings::Settings;
use crate::{ledger_dir, remote};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(s: &Settings, _a: Args) -> Result<()> {
    if let Some(url) = &s.node {
        return remote_status(s, &remote::Node::connect(url, s.node_token.clone())?);
    }
    let ledger = ledger_dir::open(&s.ledger)?;
    let digest = ledger.state_digest()?;
    let participants = ledger.participants()?.len();
    let overlays = ledger.overlays()?;
    let replica = replica_line(s)?;
    s.out.json(&json!({
        "ledger": s.ledger,
        "replica": replica.as_ref().map(|r| json!({
            "node": r.file.node,
            "synced_at": r.file.synced_at.map(crate::parse::rfc3339),
            "waiting": r.waiting,
            "refused": r.refused,
        })),
        "network": ledger.genesis().network,
        "network_id": ledger.network(),
        "records": ledger.len(),
        "pending": ledger.pending_len(),
        "participants": participants,
        "recalls": overlays.recalls.len(),
        "revocations": overlays.revocations.len(),
        "forks": overlays.forks.len(),
        "state_digest": digest,
        "checkpoint": ledger.log().checkpoint.as_ref().map(|c| json!({
            "height": c.checkpoint.height,
            "size": c.checkpoint.size,
            "time": crate::parse::rfc3339(c.checkpoint.time),
            "signers": c.signer_names(ledger.genesis()),
        })),
    }))?;
    s.out.quiet(digest);
    if s.out.human() {
        say!("ledger        {}", s.ledger.display());
        if let Some(r) = &replica {
            say!(
                "replica of {} · last synced {} · {} waiting · {} refused",
                r.file.node,
                r.file
                    .synced_at
                    .map_or_else(|| "never".to_owned(), crate::parse::show_time),
                r.waiting,
                r.refused
            );
        }
        say!("network       {BOLD}{}{BOLD:#}", ledger.genesis().network);
        say!("network id    {KEY}{}{KEY:#}", ledger.network());
        say!(
            "records       {} ({} pending)",
            ledger.len(),
            ledger.pending_len()
        );
        say!("participants  {participants}");
        say!(
            "overlays      {} recall(s), {} revocation(s), {} fork proof(s)",
            overlays.recalls.len(),
            overlays.revocations.len(),
            overlays.forks.len()
        );
        say!("state digest  {digest}");
        match &ledger.log().checkpoint {
            Some(c) => say!(
                "checkpoint    {}: {} records, {}, signed by {}",
                c.checkpoint.height,
                c.checkpoint.size,
                crate::parse::show_time(c.checkpoint.time),
                c.signer_names(ledger.genesis()).join(", ")
            ),
            None => say!("checkpoint    none yet"),
        }
    }
    Ok(())
}

/// A replica's standing: the node it follows, and its outbox.
struct ReplicaView {
    file: ReplicaFile,
    /// Records in the outbox.
    waiting: usize,
    /// Records the network refused.
    refused: usize,
}

/// The replica the ledger directory is, if it is one.
fn replica_line(s: &Settings) -> Result<Option<ReplicaView>> {
    let Some(file) = ReplicaFile::read(&s.ledger)? else {
        return Ok(None);
    };
    Ok(Some(ReplicaView {
        file,
        waiting: Outbox::of(&s.ledger).len()?,
        refused: crate::replica::refused(&s.ledger)?.len(),
    }))
}

/// `terroir --node URL status`: the node's own status (`GET /status`).
fn remote_status(s: &Settings, node: &remote::Node) -> Result<()> {
    let st = node.status();
    let text = |k: &str| st[k].as_str().unwrap_or_default().to_owned();
    let num = |k: &str| st[k].as_u64().unwrap_or_default();
    let peers = st["peers"].as_array().map_or(0, Vec::len);
    // Peers connected before and lost since: the node is dialling them.
    let lost = st["peers_lost"].as_array().map_or(0, Vec::len);
    let digest = text("state_digest");
    let conflicts = st["checkpointing"]["conflicts"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    s.out.json(&json!({
        "node": s.node.as_ref().map(ToString::to_string),
        "network": text("network_name"),
        "network_id": text("network_id"),
        "peer_id": text("peer_id"),
        "records": num("records"),
        "pending": num("pending"),
        "heads": num("heads"),
        "peers": peers,
        "peers_lost": lost,
        "recalls": num("recalls"),
        "revocations": num("revocations"),
        "forks": num("forks"),
        "state_digest": digest,
        "checkpoint": st["checkpoint"],
        "checkpoint_conflicts": conflicts.len(),
    }))?;
    s.out.quiet(&digest);
    if s.out.human() {
        if let Some(url) = &s.node {
            say!("node          {url}");
        }
        say!("network       {BOLD}{}{BOLD:#}", text("network_name"));
        say!("network id    {KEY}{}{KEY:#}", text("network_id"));
        say!("peer id       {}", text("peer_id"));
        say!(
            "records       {} ({} pending)",
            num("records"),
            num("pending")
        );
        say!("chains        {}", num("heads"));
        if lost == 0 {
            say!("peers         {peers}");
        } else {
            say!("peers         {peers} ({lost} lost, being dialled again)");
        }
        say!(
            "overlays      {} recall(s), {} revocation(s), {} fork proof(s)",
            num("recalls"),
            num("revocations"),
            num("forks")
        );
        say!("state digest  {digest}");
        let cp = &st["checkpoint"];
        match cp["height"].as_u64() {
            Some(height) => say!(
                "checkpoint    {height}: {} records, {} ({} old), signed by {}",
                cp["size"].as_u64().unwrap_or_default(),
                node_time(cp["time"].as_str().unwrap_or_default()),
                age(cp["age_s"].as_u64().unwrap_or_default()),
                cp["signers"]
                    .as_array()
                    .map(|a| a
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(", "))
                    .unwrap_or_default()
            ),
            None => say!("checkpoint    none final yet"),
        }
        for c in &conflicts {
            say!(
                "{BAD}CONTRADICTION{BAD:#} {}: checkpoints {} and {} (signed by {} / {}); the node keeps both notes as proof",
                c["reason"].as_str().unwrap_or_default(),
                c["a"]["height"],
                c["b"]["height"],
                names(&c["a"]["signers"]),
                names(&c["b"]["signers"]),
            );
        }
    }
    Ok(())
}

/// A time a node gave (RFC 3339 in the network's zone) as the CLI shows
/// times: `2025-04-08 10:00 +08:00`, or `2025-04-08 02:00 UTC` under
/// `--utc`.
fn node_time(rfc: &str) -> String {
    let Ok(t) = crate::parse::timestamp(rfc) else {
        return rfc.to_owned();
    };
    // The offset after the seconds and their fraction: `+08:00` or `Z`.
    let offset = rfc
        .get(19..)
        .map(|r| r.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit()))
        .unwrap_or_default();
    match (rfc.get(..10), rfc.get(11..16)) {
        (Some(day), Some(clock)) if !crate::parse::in_utc() && !matches!(offset, "" | "Z") => {
            format!("{day} {clock} {offset}")
        }
        _ => crate::parse::show_time(t.0),
    }
}

/// Names in a JSON list, joined.
fn names(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// An age in one human unit.
fn age(secs: u64) -> String {
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7_199 => format!("{} min", secs / 60),
        7_200..=172_799 => format!("{} h", secs / 3_600),
        _ => format!("{} days", secs / 86_400),
    }
}
