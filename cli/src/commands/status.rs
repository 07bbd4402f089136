//! `terroir status`: what the ledger (or, with `--node`, the node) holds,
//! and its state digest.

use anyhow::Result;
use serde_json::json;

use crate::output::{say, BOLD, KEY};
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
    s.out.json(&json!({
        "ledger": s.ledger,
        "network": ledger.genesis().network,
        "network_id": ledger.network(),
        "records": ledger.len(),
        "pending": ledger.pending_len(),
        "participants": participants,
        "recalls": overlays.recalls.len(),
        "revocations": overlays.revocations.len(),
        "forks": overlays.forks.len(),
        "state_digest": digest,
    }))?;
    s.out.quiet(digest);
    if s.out.human() {
        say!("ledger        {}", s.ledger.display());
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
    }
    Ok(())
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
        "state_digest": digest,
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
        say!("state digest  {digest}");
    }
    Ok(())
}
