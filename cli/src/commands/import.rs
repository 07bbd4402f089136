//! `terroir import epcis FILE --key KEY [--strict]`: sign the events of an
//! EPCIS 2.0 document as your records, all in one atomic batch. On a
//! terminal a progress bar on stderr follows the reading, the signing and
//! the commit; the summary comes at the end.

use std::io::Read;
use std::path::PathBuf;

use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use terroir_standards::apply::{self, Stage};
use terroir_standards::import;

use crate::keyfile;
use crate::ledger_dir;
use crate::output::{self, say, Output};
use crate::parse;
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Import an EPCIS 2.0 document, JSON-LD or XML.
    Epcis {
        /// The document.
        file: PathBuf,
        /// Your key file: every imported record is signed by you.
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// Import nothing if any event cannot be represented.
        #[arg(long)]
        strict: bool,
        /// List every event imported or skipped (default: a summary).
        #[arg(long, short)]
        verbose: bool,
    },
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    let Command::Epcis {
        file,
        key,
        strict,
        verbose,
    } = c;
    let shown = file.display();
    let f = std::fs::File::open(&file).with_context(|| format!("cannot read {shown}"))?;
    // Read one byte past the limit, so an oversized file is refused
    // without reading all of it.
    let limit = u64::try_from(import::MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
    let mut bytes = Vec::new();
    f.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {shown}"))?;
    let reading = spinner(&s.out);
    reading.set_message(format!("reading {shown}"));
    let mapped = import::read_with_progress(&bytes, &mut |n| {
        reading.set_message(format!("reading {shown}: {n} events"));
    });
    reading.finish_and_clear();
    let mapped = mapped.with_context(|| format!("{shown}"))?;
    drop(bytes);
    let mut ledger = ledger_dir::open(&s.ledger)?;
    let signer = keyfile::load(&key)?;
    let pb = output::bar(&s.out, mapped.len() as u64, "matching", "events");
    let report = apply::import_with_progress(
        &mut ledger,
        &signer.key,
        &mapped,
        strict,
        parse::now_ms(),
        &mut |stage, done, of| {
            let label = match stage {
                Stage::Matching => "matching",
                Stage::Signing => "signing",
                _ => "committing",
            };
            if pb.message() != label {
                pb.set_message(label);
                pb.set_length(of as u64);
                if label == "committing" {
                    // One atomic write, with no steps to count: keep the
                    // bar alive meanwhile.
                    pb.enable_steady_tick(Duration::from_millis(200));
                }
            }
            pb.set_position(done as u64);
        },
    );
    pb.finish_and_clear();
    let report = report.with_context(|| format!("cannot import {shown}"))?;
    s.out.json(&json!({
        "imported": report.imported.iter().map(|(i, h, k)| json!({"event": i, "record": h, "kind": k})).collect::<Vec<_>>(),
        "skipped": report.skipped.iter().map(|(i, id, r)| json!({"event": i, "event_id": id, "reason": r})).collect::<Vec<_>>(),
    }))?;
    s.out.quiet(report.imported.len());
    if s.out.human() {
        print_summary(&shown.to_string(), &report, verbose);
    }
    Ok(())
}

/// A spinner on stderr while the document is read (its number of events
/// is known only at the end); hidden like [`output::bar`].
fn spinner(out: &Output) -> ProgressBar {
    if !out.human() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new_spinner();
    pb.set_style(
        ProgressStyle::with_template("{spinner} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    pb.enable_steady_tick(Duration::from_millis(200));
    pb
}

/// What an import did, in a few lines however many events it had: the
/// records by kind, and the skipped events grouped by reason (each with
/// how many and the first); `verbose` lists every event instead.
fn print_summary(shown: &str, report: &apply::ImportReport, verbose: bool) {
    let mut kinds: Vec<(String, usize)> = Vec::new();
    for (_, _, k) in &report.imported {
        let k = k.to_string();
        match kinds.iter_mut().find(|(name, _)| *name == k) {
            Some((_, n)) => *n += 1,
            None => kinds.push((k, 1)),
        }
    }
    let by_kind: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
    let detail = if by_kind.is_empty() {
        String::new()
    } else {
        format!(": {}", by_kind.join(", "))
    };
    say!(
        "imported {} event(s) from {shown} as signed records{detail}",
        report.imported.len()
    );
    if verbose {
        for (i, h, k) in &report.imported {
            say!("  event {i}: {k} record {}", h.short());
        }
    }
    if report.skipped.is_empty() {
        return;
    }
    say!(
        "skipped {} event(s); nothing of them was signed:",
        report.skipped.len()
    );
    let id = |id: &Option<String>| id.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    if verbose {
        for (i, eid, reason) in &report.skipped {
            say!("  event {i}{}: {reason}", id(eid));
        }
        return;
    }
    let mut reasons: Vec<(&str, usize, usize, &Option<String>)> = Vec::new();
    for (i, eid, reason) in &report.skipped {
        match reasons.iter_mut().find(|(r, ..)| *r == reason.as_str()) {
            Some((_, n, ..)) => *n += 1,
            None => reasons.push((reason, 1, *i, eid)),
        }
    }
    for (reason, n, first, eid) in reasons {
        if n == 1 {
            say!("  event {first}{}: {reason}", id(eid));
        } else {
            say!("  {n} events, the first event {first}{}: {reason}", id(eid));
        }
    }
    say!("  (--verbose lists every event)");
}
