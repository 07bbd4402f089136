//! `terroir rotate-key`: hand a participant's identity over to a new key.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::Event;

use crate::book::Book;
use crate::parse::{self, Timestamp};
use crate::settings::Settings;
use crate::{keyfile, writer};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The current key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The successor's key file (create it with `terroir key new`).
    #[arg(long, value_name = "FILE")]
    new_key: PathBuf,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let new_key = keyfile::read_public(&a.new_key)?.public;
    let mut ledger = s.backend()?;
    // Read the clock only once the ledger is open (and locked), so that a
    // concurrent signer's record is never later than ours.
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    if new_key == signer.public() {
        bail!("the new key is the current key");
    }
    if ledger.key(&new_key)?.is_some() || book.get(&new_key).is_some() {
        bail!(
            "key {} is already in use in {}",
            new_key.short(),
            ledger.place()
        );
    }
    let time = a.time.map_or(now, |t| t.0);
    let event = Event::RotateKey { new_key };
    let record = writer::commit(ledger.as_mut(), &book, &signer, time, now, vec![], event)?;
    writer::report(&s.out, &book, &signer, &record)
}
