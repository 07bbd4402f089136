//! `terroir verify FILE --network ID`: verify a trace bundle offline.
//! With `--node URL` (or `TERROIR_NODE`), the lineage's lots are judged
//! again against the node's latest final checkpoint (`POST
//! /proof/status`), verified here like the bundle: a lot recalled since
//! the bundle's checkpoint then reads recalled.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::bundle::{self, Verification};
use ledger_core::tlog::map::StatusKind;
use ledger_core::{verdict, Hash, NetworkId};
use serde_json::json;

use crate::backend::Backend;
use crate::ledger_dir;
use crate::output::{say, BAD, BOLD, OK, WARN};
use crate::parse;
use crate::remote;
use crate::render::{self, Names};
use crate::settings::Settings;

/// Bundles larger than this are refused before reading (64 MiB).
const MAX_BUNDLE_FILE: u64 = 64 * 1024 * 1024;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The bundle file.
    file: PathBuf,
    /// The network id you expect (64 hex), or its genesis.json.
    #[arg(long, value_name = "ID|FILE")]
    network: String,
    /// Also fail when the verified journey's verdict is not clean (recall,
    /// failed test, excursion, certificate not valid now, flagged record).
    #[arg(long)]
    strict: bool,
}

fn expected_network(spec: &str) -> Result<NetworkId> {
    if let Ok(id) = Hash::from_hex(spec) {
        return Ok(id);
    }
    let path = Path::new(spec);
    if path.is_file() {
        return Ok(ledger_dir::read_genesis(path)?.id());
    }
    bail!("--network {spec:?} is neither a network id (64 hex characters) nor a genesis.json file")
}

fn read_bundle(path: &Path) -> Result<Vec<u8>> {
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot read bundle {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_BUNDLE_FILE + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read bundle {}", path.display()))?;
    if bytes.len() as u64 > MAX_BUNDLE_FILE {
        bail!(
            "{} is larger than {MAX_BUNDLE_FILE} bytes; not a trace bundle",
            path.display()
        );
    }
    Ok(bytes)
}

/// Verifies the bundle, then, when a node was given, again with the
/// node's latest status proofs for its lineage's lots.
fn verify(s: &Settings, bytes: &[u8], expected: &NetworkId) -> Result<Verification> {
    let v = bundle::verify(bytes, expected);
    let (Some(url), Some(trace)) = (&s.node, &v.trace) else {
        return Ok(v);
    };
    let node = remote::Node::connect(url, s.node_token.clone())?;
    if node.network() != *expected {
        bail!(
            "the node at {url} serves network {}, not the expected {}",
            node.network().short(),
            expected.short()
        );
    }
    let proofs = node.status_proofs(&bundle::lineage_lots(trace))?;
    Ok(bundle::verify_with_status(bytes, expected, &proofs))
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let expected = expected_network(&a.network)?;
    let bytes = read_bundle(&a.file)?;
    let v = verify(s, &bytes, &expected)?;
    let warnings = v.trace.as_ref().map_or(0, |t| t.warnings.len());
    // The verdict, read under the bundle's own genesis (checked above to
    // be the expected network's).
    let genesis = bundle::Bundle::decode(&bytes).ok().map(|b| b.genesis);
    let verdict = match (&v.trace, &genesis) {
        (Some(t), Some(g)) if v.verified() => Some(verdict::verdict(t, g, parse::now_ms())),
        _ => None,
    };
    let tz = genesis
        .as_ref()
        .map_or(chrono_tz::Tz::UTC, |g| g.time_zone());
    if v.verified() {
        // Times as the network's people read them (its genesis checked
        // above to be the expected one's).
        parse::set_time_zone(tz);
    }
    let summary = v.summary(parse::shown_zone(tz));
    // What the checkpoint's status map lists, whether or not the bundle
    // holds the records behind it: a recall left out still counts.
    let map_worst = v.status.as_ref().and_then(|r| r.worst());
    let clean = verdict.as_ref().is_none_or(|v| v.is_clean()) && map_worst.is_none();
    let overall = verdict.as_ref().map(|v| overall(v, map_worst));
    s.out.json(&json!({
        "file": a.file,
        "network_id": expected,
        "verified": v.verified(),
        "checks": v.checks,
        "warnings": warnings,
        "verdict": verdict,
        "overall": overall,
        "summary": summary,
        "status": v.status,
        "status_findings": v.status.as_ref().map(|r| r.findings()),
        "status_from_node": s.node.as_ref().filter(|_| v.status.is_some()).map(ToString::to_string),
        "trace": v.trace,
    }))?;
    if s.out.human() {
        say!(
            "{BOLD}Verifying {}{BOLD:#} against network {}",
            a.file.display(),
            expected.short()
        );
        for c in &v.checks {
            if c.ok {
                say!("  {OK}✓{OK:#} {:<11} {}", c.name, c.detail);
            } else {
                say!("  {BAD}✗{BAD:#} {:<11} {}", c.name, c.detail);
            }
        }
        if let (Some(t), Some(verdict)) = (&v.trace, &verdict) {
            say!();
            render::print_trace(t, verdict, &Names::from_trace(t));
        }
        if let Some(summary) = &summary {
            say!();
            match map_worst {
                None if v.status.is_some() => say!("{OK}Status{OK:#}: {summary}"),
                None => say!("{WARN}Status{WARN:#}: {summary}"),
                Some(_) => say!("{BAD}Status{BAD:#}: {summary}"),
            }
            for f in v.status.iter().flat_map(|r| r.findings()) {
                say!("  {BAD}!{BAD:#} {f}");
            }
        }
        say!();
    }
    if let Some(fail) = v.failure().cloned().or_else(|| {
        (!v.verified()).then(|| ledger_core::bundle::Check {
            name: "bundle",
            ok: false,
            detail: "no check ran".into(),
        })
    }) {
        if s.out.human() {
            say!("{BAD}FAILED{BAD:#}: {}: {}", fail.name, fail.detail);
        }
        bail!(
            "bundle {} failed verification: {}: {}",
            a.file.display(),
            fail.name,
            fail.detail
        );
    }
    s.out.quiet(if !clean {
        "verified-with-warnings"
    } else {
        "verified"
    });
    if s.out.human() {
        if clean {
            say!("{OK}VERIFIED{OK:#}: every record is genuine, signed by enrolled participants, and complete back to the harvests.");
        } else if overall.is_some_and(|o| verdict.as_ref().is_none_or(|v| v.finding.kind() != o)) {
            say!(
                "{OK}VERIFIED{OK:#}: every record is genuine and complete, {BAD}but the checkpoint's status map shows the lot {}, which the bundle's records do not (see Status above).{BAD:#}",
                overall.unwrap_or_default().replace('_', " ")
            );
        } else {
            say!("{OK}VERIFIED{OK:#}: every record is genuine and complete, {WARN}but the verdict is not clean (see above).{WARN:#}");
        }
    }
    if a.strict && !clean {
        let kind = overall.unwrap_or("unknown");
        bail!("the verified journey's verdict is {kind}, not clean (--strict)");
    }
    Ok(())
}

/// The verdict's kind, or what the status map lists when that is more
/// severe (a recall whose record the bundle left out): `recalled`,
/// `failed_test`, `author_revoked`, `author_forked`, `excursion`,
/// `certificate`, `flagged` or `clean`.
fn overall(v: &verdict::Verdict, map: Option<StatusKind>) -> &'static str {
    let rank = |k: &str| match k {
        "recalled" => 0,
        "failed_test" => 1,
        "author_revoked" | "author_forked" => 2,
        "excursion" => 3,
        "certificate" => 4,
        "flagged" => 5,
        _ => 6,
    };
    let own = match v.finding.kind() {
        "clean" if !v.is_clean() => "flagged",
        k => k,
    };
    let listed = map.map(|k| match k {
        StatusKind::Recalled => "recalled",
        StatusKind::FailedInspection => "failed_test",
        StatusKind::AuthorRevoked => "author_revoked",
        StatusKind::AuthorForked => "author_forked",
        _ => "excursion",
    });
    match listed {
        Some(l) if rank(l) < rank(own) => l,
        _ => own,
    }
}
