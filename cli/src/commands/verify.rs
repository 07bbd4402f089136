//! `terroir verify FILE --network ID`: verify a trace bundle offline.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::bundle::{self, Verification};
use ledger_core::{encoding, verdict, Hash, NetworkId};
use serde_json::json;

use crate::ledger_dir;
use crate::output::{say, BAD, BOLD, OK, WARN};
use crate::parse;
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

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let expected = expected_network(&a.network)?;
    let bytes = read_bundle(&a.file)?;
    let v: Verification = bundle::verify(&bytes, &expected);
    let warnings = v.trace.as_ref().map_or(0, |t| t.warnings.len());
    // The verdict, read under the bundle's own genesis (checked above to
    // be the expected network's).
    let genesis = encoding::decode::<bundle::Bundle>(&bytes, encoding::MAX_BUNDLE_BYTES, "bundle")
        .ok()
        .map(|b| b.genesis);
    let verdict = match (&v.trace, &genesis) {
        (Some(t), Some(g)) if v.verified() => Some(verdict::verdict(t, g, parse::now_ms())),
        _ => None,
    };
    let clean = verdict.as_ref().is_none_or(|v| v.is_clean());
    s.out.json(&json!({
        "file": a.file,
        "network_id": expected,
        "verified": v.verified(),
        "checks": v.checks,
        "warnings": warnings,
        "verdict": verdict,
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
        } else {
            say!("{OK}VERIFIED{OK:#}: every record is genuine and complete, {WARN}but the verdict is not clean (see above).{WARN:#}");
        }
    }
    if a.strict && !clean {
        let kind = verdict.as_ref().map_or("unknown", |v| v.finding.kind());
        bail!("the verified journey's verdict is {kind}, not clean (--strict)");
    }
    Ok(())
}
