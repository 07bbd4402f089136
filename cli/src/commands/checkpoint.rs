//! `terroir checkpoint --key FILE` (hidden; for development and tests): a
//! genesis authority signs the next checkpoint of everything the local
//! ledger holds and, when its signature alone is final (k = 1), applies
//! it, so bundles exported from then on carry it. Networks make
//! checkpoints on their nodes; this is the one-authority shortcut.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ledger_core::checkpoint::SignedCheckpoint;
use serde_json::json;

use crate::keyfile;
use crate::ledger_dir;
use crate::output::say;
use crate::parse;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// A genesis authority's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let key = keyfile::load(&a.key)?;
    let mut ledger = ledger_dir::open(&s.ledger)?;
    let genesis = ledger.genesis().clone();
    let Some(authority) = genesis.authority(&key.public()) else {
        bail!(
            "{} is not the key of an authority of this network; only they sign checkpoints",
            a.key.display()
        );
    };
    let signer = authority.name.clone();
    let (tips, _) = ledger.unlogged_tips(0)?;
    let ext = ledger
        .extend_log(&tips)
        .context("cannot cut the next checkpoint")?;
    let checkpoint = ext.checkpoint(ledger.network(), parse::now_ms());
    let signed = SignedCheckpoint::propose(checkpoint, &key.key);
    if !signed.is_final(&genesis) {
        bail!(
            "this network needs {} authorities' signatures for a final checkpoint; \
             `terroir checkpoint` signs with one",
            genesis.checkpoint_threshold
        );
    }
    let height = signed.checkpoint.height;
    let size = signed.checkpoint.size;
    let added = ext.records.len();
    ledger
        .apply_checkpoint(&signed, &tips, Some(&ext))
        .context("cannot apply the checkpoint")?;
    s.out.json(&json!({
        "height": height,
        "size": size,
        "records_added": added,
        "signer": signer,
    }))?;
    s.out.quiet(height);
    if s.out.human() {
        say!("checkpoint {height} signed by {signer}: {added} new records, {size} in the log");
    }
    Ok(())
}
