//! Signing a record with a local key and committing it to the ledger (the
//! local one, or a node's: see [`crate::backend`]).
//!
//! Before signing, the writer works out who the key signs for and checks
//! what the CLI can tell early (enrolled, not revoked or retired, role may
//! sign this event, time not in the future), then adds the deps the rules
//! require (a first record's enrollment; the ship record a receive
//! acknowledges, the creation record of an inspected lot …), signs, and
//! ingests. Anything but "accepted" is an error, and a rejected record is
//! never stored.

use std::path::Path;

use anyhow::{bail, Result};
use ledger_core::author::Author;
use ledger_core::{Event, Hash, PublicKey, Role, SignedRecord, SigningKey, Unit, ValidationError};

use crate::backend::{Backend, Submitted};
use crate::book::Book;
use crate::keyfile;
use ledger_core::product::GtinRight;

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
pub(crate) fn load_signer(ledger: &dyn Backend, path: &Path) -> Result<Signer> {
    let file = keyfile::load(path)?;
    signer(ledger, file.key, path.display().to_string())
}

/// Works out who `key` signs for in `ledger`.
pub(crate) fn signer(ledger: &dyn Backend, key: SigningKey, origin: String) -> Result<Signer> {
    let pk = key.public();
    let Some(view) = ledger.key(&pk)? else {
        bail!(
            "key {} ({origin}) is not enrolled in network {}: a regulator must first run \
             `terroir enroll --participant {} --name NAME --role ROLE`",
            pk.short(),
            ledger.network().short(),
            pk.to_hex()
        )
    };
    if let Some(reason) = &view.revoked {
        bail!("key {} ({origin}) was revoked: {reason}", pk.short());
    }
    if let Some(at) = view.retired_at {
        bail!(
            "key {} ({origin}) was rotated away at seq {at}; sign with its successor key",
            pk.short()
        );
    }
    Ok(Signer {
        key,
        identity: view.identity,
        role: view.role,
        name: view.name,
        first_dep: view.introduced_by,
    })
}

/// How far ahead of the clock a record may be dated (the ledger's own limit).
fn max_skew() -> u64 {
    ledger_core::LedgerConfig::default().max_future_skew_ms
}

/// Signs `event` as the next record of `signer`'s chain, with `deps` plus
/// whatever the first record needs, and commits it.
pub(crate) fn commit(
    ledger: &mut dyn Backend,
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
            crate::parse::show_time(time)
        );
    }
    // Read now, not when the signer was loaded: a signer may sign many.
    let view = ledger.key(&signer.public())?;
    let head = view.as_ref().and_then(|v| v.head);
    let mut all: Vec<Hash> = Vec::with_capacity(deps.len() + 1);
    if head.is_none() {
        all.extend(signer.first_dep);
    }
    let rights = view.map(|v| v.gtin_rights).unwrap_or_default();
    let rights = gtin_deps(signer, &rights, &ledger.place(), time, &event)?;
    for d in deps.into_iter().chain(rights) {
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
    match ledger.submit(&record, now)? {
        Submitted::Stored { duplicate: false } => Ok(record),
        Submitted::Stored { duplicate: true } => {
            bail!("{} already holds this exact record", ledger.place())
        }
        Submitted::Rejected(error) => bail!(
            "{} refused the {kind} record: {}",
            ledger.place(),
            explain(&error, book)
        ),
        Submitted::Refused(reason) => {
            bail!("{} refused the {kind} record: {reason}", ledger.place())
        }
        Submitted::NotStored(why) => bail!("{why}"),
    }
}

/// The records that grant `signer` the right to what `event` does with
/// GS1 codes: for each new lot with a GTIN, the prefix assignment or packer
/// authorisation covering it; for a packer authorisation, the assignment
/// of the prefix. An error in words when there is none.
fn gtin_deps(
    signer: &Signer,
    rights: &[GtinRight],
    place: &str,
    time: u64,
    event: &Event,
) -> Result<Vec<Hash>> {
    let mut out = Vec::new();
    for (code, product, _) in event.created_lots() {
        let Some(gtin) = &product.gtin else { continue };
        if let Some(why) = ledger_core::gs1::lot_code_problem(code) {
            bail!(
                "{}",
                ValidationError::LotCodeNotGs1 {
                    code: code.to_owned(),
                    why
                }
            );
        }
        let Some(right) = rights.iter().find(|r| r.covers(gtin, time)) else {
            bail!(
                "GTIN {gtin} is not under a GS1 company prefix of {}: the regulator assigns prefixes \
                 (`terroir assign-prefix`), and a prefix owner may authorise you as its packer \
                 (`terroir authorise-packer`) on {}",
                signer.name,
                place
            );
        };
        out.push(right.record);
    }
    if let Event::AuthorisePacker { prefix, .. } = event {
        let owned = rights
            .iter()
            .find(|r| r.owner == signer.identity && prefix.starts_with(r.prefix.as_str()));
        let Some(right) = owned else {
            bail!(
                "{} owns no GS1 company prefix that {prefix} lies in: only a prefix's owner may authorise packers for it",
                signer.name
            );
        };
        out.push(right.record);
    }
    Ok(out)
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
