//! `terroir bundle LOT -o FILE`: export a self-contained trace bundle.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ledger_core::bundle;
use serde_json::json;

use crate::book::Book;
use crate::ledger_dir;
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
    let ledger = ledger_dir::open(&s.ledger)?;
    let book = Book::load(&ledger)?;
    let lot = lots::resolve(&ledger, &book, &a.lot)?;
    let Some(b) = bundle::export(&ledger, &lot)? else {
        bail!("the ledger has no records of lot {lot}");
    };
    let bytes = b.encode();
    std::fs::write(&a.out, &bytes).with_context(|| format!("cannot write {}", a.out.display()))?;
    let id = ledger.network();
    s.out.json(&json!({
        "lot": lot,
        "file": a.out,
        "records": b.records.len(),
        "bytes": bytes.len(),
        "network_id": id,
    }))?;
    s.out.quiet(a.out.display());
    if s.out.human() {
        say!(
            "wrote the bundle of lot {lot} ({} records, {} bytes) to {}",
            b.records.len(),
            bytes.len(),
            a.out.display()
        );
        say!(
            "verify it anywhere, offline: terroir verify {} --network {id}",
            a.out.display()
        );
    }
    Ok(())
}
