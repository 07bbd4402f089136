//! `terroir assign-prefix` (regulators) and `terroir authorise-packer`
//! (prefix owners): who may put which GTINs on lots.
//!
//! A lot with a GTIN can only be created by the owner of the GTIN's GS1
//! company prefix, or by a packer the owner authorised; the writer adds
//! the granting record to the deps of such a lot's harvest or transform.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::{gs1, Event};

use crate::book::Book;
use crate::commands::enroll::participant_key;
use crate::parse::{self, Timestamp};
use crate::settings::Settings;
use crate::writer;

#[derive(Debug, clap::Args)]
pub(crate) struct AssignArgs {
    /// The regulator's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The participant the prefix is assigned to: its public key (hex) or key file.
    #[arg(long, value_name = "KEY")]
    participant: String,
    /// The GS1 company prefix, 4 to 12 digits (e.g. 6901234).
    #[arg(long, value_parser = company_prefix)]
    prefix: String,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct AuthoriseArgs {
    /// The prefix owner's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The contract packer: its public key (hex) or key file.
    #[arg(long, value_name = "KEY")]
    packer: String,
    /// Your GS1 company prefix, or a longer one within it (a product range).
    #[arg(long, value_parser = company_prefix)]
    prefix: String,
    /// Until when the packer may create lots under it (RFC 3339, or
    /// YYYY-MM-DD for the start of that day, UTC).
    #[arg(long, value_parser = parse::timestamp)]
    until: Option<Timestamp>,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
}

fn company_prefix(s: &str) -> Result<String, String> {
    let p = s.trim();
    gs1::check_company_prefix(p).map_err(|e| e.to_string())?;
    Ok(p.to_owned())
}

pub(crate) fn assign(s: &Settings, a: AssignArgs) -> Result<()> {
    let participant = participant_key(&a.participant)?;
    let mut ledger = s.backend()?;
    // Read the clock only once the ledger is open (and locked), so that a
    // concurrent signer's record is never later than ours.
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    let Some(holder) = book.get(&participant) else {
        bail!(
            "key {} is not enrolled: enroll the participant before assigning it a prefix",
            participant.short()
        );
    };
    let holder = holder.name.clone();
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    let event = Event::AssignPrefix {
        participant,
        prefix: a.prefix.clone(),
    };
    let time = a.time.map_or(now, |t| t.0);
    let record = writer::commit(ledger.as_mut(), &book, &signer, time, now, vec![], event)?;
    writer::report(&s.out, &book, &signer, &record)?;
    if s.out.human() {
        crate::output::say!(
            "  GTINs under {} may now be put on lots by {holder} and the packers it authorises",
            a.prefix
        );
    }
    Ok(())
}

pub(crate) fn authorise(s: &Settings, a: AuthoriseArgs) -> Result<()> {
    let packer = participant_key(&a.packer)?;
    let mut ledger = s.backend()?;
    // Read the clock only once the ledger is open (and locked), so that a
    // concurrent signer's record is never later than ours.
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    if book.get(&packer).is_none() {
        bail!("packer key {} is not enrolled", packer.short());
    }
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    let event = Event::AuthorisePacker {
        packer,
        prefix: a.prefix,
        valid_until: a.until.map(|t| t.0),
    };
    let time = a.time.map_or(now, |t| t.0);
    let record = writer::commit(ledger.as_mut(), &book, &signer, time, now, vec![], event)?;
    writer::report(&s.out, &book, &signer, &record)
}
