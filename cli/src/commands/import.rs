//! `terroir import epcis FILE --key KEY [--strict]`: sign the events of an
//! EPCIS 2.0 document as your records, all in one atomic batch.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result};
use serde_json::json;
use terroir_standards::{apply, import};

use crate::keyfile;
use crate::ledger_dir;
use crate::output::say;
use crate::parse;
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Import an EPCIS 2.0 JSON/JSON-LD document.
    Epcis {
        /// The document.
        file: PathBuf,
        /// Your key file: every imported record is signed by you.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Import nothing if any event cannot be represented.
        #[arg(long)]
        strict: bool,
    },
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    let Command::Epcis { file, key, strict } = c;
    let shown = file.display();
    let f = std::fs::File::open(&file).with_context(|| format!("cannot read {shown}"))?;
    // Read one byte past the limit, so an oversized file is refused
    // without reading all of it.
    let limit = u64::try_from(import::MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {shown}"))?;
    let mapped = import::read(&bytes).with_context(|| format!("{shown}"))?;
    let mut ledger = ledger_dir::open(&s.ledger)?;
    let signer = keyfile::load(&key)?;
    let report = apply::import(&mut ledger, &signer.key, &mapped, strict, parse::now_ms())
        .with_context(|| format!("cannot import {shown}"))?;
    s.out.json(&json!({
        "imported": report.imported.iter().map(|(i, h, k)| json!({"event": i, "record": h, "kind": k})).collect::<Vec<_>>(),
        "skipped": report.skipped.iter().map(|(i, id, r)| json!({"event": i, "event_id": id, "reason": r})).collect::<Vec<_>>(),
    }))?;
    s.out.quiet(report.imported.len());
    if s.out.human() {
        say!("imported {} event(s) from {shown}", report.imported.len());
        for (i, h, k) in &report.imported {
            say!("  event {i}: {k} record {}", h.short());
        }
        for (i, id, reason) in &report.skipped {
            let id = id.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
            say!("  skipped event {i}{id}: {reason}");
        }
    }
    Ok(())
}
