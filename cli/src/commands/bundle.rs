//! `terroir bundle LOT -o FILE`: export a self-contained trace bundle.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ledger_core::bundle;
use serde_json::json;

use crate::book::Book;
use crate::lots;
use crate::output::say;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The lot: CODE or CODE@SOURCE.
    lot: String,
    /// Where to write the bundle.
    #[arg(long, short, value_name = "FILE")]
    out: PathBuf,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let ledger = s.backend()?;
    let book = Book::load(ledger.as_ref())?;
    let lot = lots::resolve(ledger.as_ref(), &book, &a.lot)?;
    let Some(bytes) = ledger.bundle(&lot)? else {
        bail!("{} has no records of lot {lot}", ledger.place());
    };
    let b = bundle::Bundle::decode(&bytes).context("the bundle does not decode")?;
    // The height of the checkpoint it carries (read, not verified: the
    // reader's `terroir verify` does that).
    let height = b.checkpoint.as_ref().and_then(|c| {
        let body = c.note.split("\n\n").next()?;
        ledger_core::checkpoint::Checkpoint::parse(&format!("{body}\n"))
            .ok()
            .map(|c| c.height)
    });
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    let id = ledger.network();
    s.out.json(&json!({
        "lot": lot,
        "file": a.out,
        "records": b.records.len(),
        "bytes": bytes.len(),
        "network_id": id,
        "checkpoint": height,
    }))?;
    s.out.quiet(a.out.display());
    if s.out.human() {
        say!(
            "wrote the bundle of lot {lot} ({} records, {} bytes) to {}",
            b.records.len(),
            bytes.len(),
            a.out.display()
        );
        match height {
            Some(h) => say!(
                "it carries checkpoint {h}: its records' inclusion and the recall status of every lot of its lineage"
            ),
            None => say!(
                "it carries no checkpoint (the network has none final yet): nothing in it shows it omits no record"
            ),
        }
        say!(
            "verify it anywhere, offline: terroir verify {} --network {id}",
            a.out.display()
        );
    }
    Ok(())
}
