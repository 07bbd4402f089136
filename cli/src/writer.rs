//! Signing a record with a local key and committing it to the ledger.
//!
//! Before signing, the writer works out who the key signs for and checks
//! what the CLI can tell early (enrolled, not revoked or retired, role may
//! sign this event, time not in the future), then adds the deps the rules
//! require (a first record's enrollment; the ship record a receive
//! acknowledges, the creation record of an inspected lot …), signs, and
//! ingests. Anything but "accepted" is an error, and a rejected record is
//! never stored.

use std::path::Path;

use anyhow::{anyhow, bail, Result};
use ledger_core::author::Author;
use ledger_core::graph::Graph;
use ledger_core::ledger::PendingReason;
use ledger_core::{
    Event, EventKind, Hash, Outcome, PublicKey, Role, SignedRecord, SigningKey, Unit,
    ValidationError,
};

use crate::book::Book;
use crate::keyfile;
use crate::ledger_dir::LocalLedger;

/// A key ready to sign, and who it signs for.
#[derive(Debug)]
pub(crate) struct Signer {
    pub(crate) key: SigningKey,
    /// The participant identity (its first key).
    pub(crate) identity: PublicKey,
    pub(crate) role: Role,
    pub(crate) name: String,
    /// The record a first record must depend on (enrollment or rotation).
    first_dep: Option<Hash>,
}

impl Signer {
    /// The signing (public) key.
    pub(crate) fn public(&self) -> PublicKey {
        self.key.public()
    }
}

/// Loads a key file and works out who it signs for.
pub(crate) fn load_signer(ledger: &LocalLedger, path: &Path) -> Result<Signer> {
    let file = keyfile::load(path)?;
    signer(ledger, file.key, path.display().to_string())
}

/// Works out who `key` signs for in `ledger`.
pub(crate) fn signer(ledger: &LocalLedger, key: SigningKey, origin: String) -> Result<Signer> {
    let pk = key.public();
    let overlays = ledger.overlays()?;
    for h in &overlays.revocations {
        if let Some(r) = ledger.record(h)? {
            if let Event::Revoke {
                key: revoked,
                reason,
                ..
            } = &r.record.event
            {
                if *revoked == pk {
                    bail!("key {} ({origin}) was revoked: {reason}", pk.short());
                }
            }
        }
    }
    if let Some(state) = ledger.key_state(&pk)? {
        if let Some(at) = state.retired_at {
            bail!(
                "key {} ({origin}) was rotated away at seq {at}; sign with its successor key",
                pk.short()
            );
        }
        return Ok(Signer {
            key,
            identity: state.identity,
            role: state.role,
            name: state.name,
            first_dep: None,
        });
    }
    if let Some(a) = ledger.genesis().authority(&pk) {
        let name = a.name.clone();
        return Ok(Signer {
            key,
            identity: pk,
            role: Role::Regulator,
            name,
            first_dep: None,
        });
    }
    for p in ledger.participants()? {
        if p.key == pk {
            return Ok(Signer {
                key,
                identity: pk,
                role: p.role,
                name: p.name,
                first_dep: p.enrolled_by,
            });
        }
    }
    for h in ledger.records_of_kind(EventKind::RotateKey)? {
        let Some(r) = ledger.record(&h)? else {
            continue;
        };
        if matches!(r.record.event, Event::RotateKey { new_key } if new_key == pk) {
            let Some(old) = ledger.key_state(&r.record.author)? else {
                continue;
            };
            return Ok(Signer {
                key,
                identity: old.identity,
                role: old.role,
                name: old.name,
                first_dep: Some(h),
            });
        }
    }
    bail!(
        "key {} ({origin}) is not enrolled in network {}: a regulator must first run \
         `terroir enroll --participant {} --name NAME --role ROLE`",
        pk.short(),
        ledger.network().short(),
        pk.to_hex()
    )
}

/// How far ahead of the clock a record may be dated (the ledger's own limit).
fn max_skew() -> u64 {
    ledger_core::LedgerConfig::default().max_future_skew_ms
}

/// Signs `event` as the next record of `signer`'s chain, with `deps` plus
/// whatever the first record needs, and commits it.
pub(crate) fn commit(
    ledger: &mut LocalLedger,
    book: &Book,
    signer: &Signer,
    time: u64,
    now: u64,
    deps: Vec<Hash>,
    event: Event,
) -> Result<SignedRecord> {
    let kind = event.kind();
    if !signer.role.may_sign(kind) {
        bail!(
            "{} is enrolled as a {} and may not sign {} records",
            signer.name,
            signer.role,
            kind
        );
    }
    if time > now.saturating_add(max_skew()) {
        bail!(
            "time {} is in the future; records may be dated at most 5 minutes ahead of the clock",
            crate::parse::rfc3339(time)
        );
    }
    let head = ledger
        .key_state(&signer.public())?
        .map(|s| (s.head_seq, s.head));
    let mut all: Vec<Hash> = Vec::with_capacity(deps.len() + 1);
    if head.is_none() {
        all.extend(signer.first_dep);
    }
    for d in deps {
        if Some(d) == head.map(|h| h.1) {
            // Already linked as the prev, which the rules accept in its place.
            continue;
        }
        if !all.contains(&d) {
            all.push(d);
        }
    }
    let mut author = Author::resume(
        SigningKey::from_seed(&signer.key.seed()),
        ledger.network(),
        head,
    );
    let record = author.sign(time, all, event);
    let hash = record.hash();
    let report = ledger.ingest(vec![record.clone()], now)?;
    let outcome = report
        .outcomes
        .into_iter()
        .find(|(h, _)| *h == hash)
        .map(|(_, o)| o)
        .ok_or_else(|| anyhow!("the ledger gave no verdict on the record"))?;
    match outcome {
        Outcome::Accepted => Ok(record),
        Outcome::Duplicate => bail!("the ledger already holds this exact record"),
        Outcome::Rejected { error } => bail!(
            "the ledger refused the {kind} record: {}",
            explain(&error, book)
        ),
        Outcome::Pending(PendingReason::Missing { hashes }) => bail!(
            "the record depends on {} record(s) this ledger does not hold (first: {})",
            hashes.len(),
            hashes.first().map(Hash::short).unwrap_or_default()
        ),
        Outcome::Pending(PendingReason::Future { .. }) => {
            bail!("the record is dated in the future and waits for the clock")
        }
        Outcome::PoolFull { capacity } => {
            bail!("the ledger's pending pool is full ({capacity} records)")
        }
    }
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Gram => "grams (mass)",
        Unit::Millilitre => "millilitres (volume)",
        Unit::Piece => "pieces",
        Unit::Case => "cases",
        Unit::Bag => "bags",
        Unit::Crate => "crates",
    }
}

/// A rule violation in the words of the person at the keyboard.
pub(crate) fn explain(e: &ValidationError, book: &Book) -> String {
    match e {
        ValidationError::Overdraw { lot, held, wanted } => {
            format!(
                "lot {lot}: you hold only {}, but the record needs {}",
                crate::render::q(held),
                crate::render::q(wanted)
            )
        }
        ValidationError::NotHeld(lot) => format!("you hold none of lot {lot}"),
        ValidationError::UnitMismatch { lot, expected, got } => format!(
            "lot {lot} is counted in {}, but the quantity given is in {}",
            unit_name(*expected),
            unit_name(*got)
        ),
        ValidationError::NotAddressed { shipment, to } => format!(
            "shipment {} is addressed to {}, not to you",
            shipment.short(),
            book.label(to)
        ),
        ValidationError::AlreadyReceived(s) => {
            format!("shipment {} was already received", s.short())
        }
        ValidationError::LotExists(code) => {
            format!(
                "you already created a lot with code {code:?}; lot codes are unique per creator"
            )
        }
        ValidationError::RoleNotAllowed { role, kind } => {
            format!("a {role} may not sign {kind} records")
        }
        other => other.to_string(),
    }
}

/// Prints a committed record: its hash (`--quiet`), a JSON object
/// (`--json`), or a short description.
pub(crate) fn report(
    out: &crate::output::Output,
    book: &Book,
    signer: &Signer,
    record: &SignedRecord,
) -> Result<()> {
    use crate::output::{say, DIM, OK};
    let r = &record.record;
    let hash = record.hash();
    out.json(&serde_json::json!({
        "record": hash,
        "kind": r.event.kind(),
        "author": r.author,
        "identity": signer.identity,
        "signer": signer.name,
        "seq": r.seq,
        "time": r.time,
        "time_rfc3339": crate::parse::rfc3339(r.time),
        "deps": r.deps,
        "event": r.event,
    }))?;
    out.quiet(hash);
    if out.human() {
        let names = crate::render::Names::new(|k| book.get(k).map(|p| p.name.clone()));
        say!(
            "{OK}✓{OK:#} {} signed by {} at {}",
            r.event.kind(),
            signer.name,
            crate::parse::show_time(r.time)
        );
        for line in crate::render::describe(&r.event, &names) {
            say!("  {line}");
        }
        say!(
            "record {hash}  {DIM}(seq {} of {}){DIM:#}",
            r.seq,
            r.author.short()
        );
    }
    Ok(())
}
