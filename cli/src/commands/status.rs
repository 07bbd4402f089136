//! `terroir status`: what the ledger holds, and its state digest.

use anyhow::Result;
use serde_json::json;

use crate::ledger_dir;
use crate::output::{say, BOLD, KEY};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(s: &Settings, _a: Args) -> Result<()> {
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
