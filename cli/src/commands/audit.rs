//! `terroir audit`: re-verify the whole local ledger.

use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use ledger_core::audit;
use ledger_core::store::MemoryStore;
use serde_json::json;

use crate::ledger_dir;
use crate::output::{say, BAD, OK};
use crate::parse::now_ms;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(s: &Settings, _a: Args) -> Result<()> {
    let ledger = ledger_dir::open(&s.ledger)?;
    let total = ledger.len();
    let target = if s.out.human() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    if let Ok(style) = ProgressStyle::with_template(
        "auditing {bar:40} {pos}/{len} records ({per_sec}, {eta} left)",
    ) {
        bar.set_style(style);
    }
    let report = audit::audit(&ledger, MemoryStore::new(), now_ms(), |n| {
        bar.set_position(n)
    })?;
    bar.finish_and_clear();
    s.out.json(&json!({
        "passed": report.passed(),
        "records": report.records,
        "problems": report.problems,
        "unverifiable": report.unverifiable,
        "state_digest": report.digest,
        "replayed_digest": report.replayed_digest,
    }))?;
    if s.out.human() {
        for p in &report.problems {
            say!("  {BAD}✗{BAD:#} record {}: {}", p.record.short(), p.what);
        }
        if !report.unverifiable.is_empty() {
            say!(
                "  {BAD}✗{BAD:#} {} intact record(s) depend on damaged ones and cannot be re-verified",
                report.unverifiable.len()
            );
        }
        if report.passed() {
            say!(
                "{OK}audit passed{OK:#}: {} records re-verified (signatures, rules, custody); state digest {}",
                report.records,
                report.digest
            );
        }
    }
    if !report.passed() {
        bail!(
            "audit failed: {} problem(s) and {} unverifiable record(s) in {} records; state digest {} but the replay gives {}",
            report.problems.len(),
            report.unverifiable.len(),
            report.records,
            report.digest.short(),
            report.replayed_digest.short()
        );
    }
    s.out.quiet(report.digest);
    Ok(())
}
