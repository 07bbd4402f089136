//! `terroir revoke`: a regulator revokes a key.

use std::path::PathBuf;

use anyhow::Result;
use ledger_core::Event;

use crate::book::Book;
use crate::parse::{self, Timestamp};
use crate::settings::Settings;
use crate::writer;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("trust").required(true).args(["last_trusted_seq", "distrust_all"]))]
pub(crate) struct Args {
    /// The regulator's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The key to revoke: a participant name, key, key prefix or key file.
    #[arg(long, value_name = "WHO")]
    participant: String,
    /// The last seq of that key's chain that stays trusted.
    #[arg(long, value_name = "SEQ")]
    last_trusted_seq: Option<u64>,
    /// Trust none of that key's records.
    #[arg(long)]
    distrust_all: bool,
    /// Why (key stolen, firm closed …).
    #[arg(long)]
    reason: String,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let mut ledger = s.backend()?;
    // Read the clock only once the ledger is open (and locked), so that a
    // concurrent signer's record is never later than ours.
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    let key = book.resolve(&a.participant)?;
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    let event = Event::Revoke {
        key,
        last_trusted_seq: if a.distrust_all {
            None
        } else {
            a.last_trusted_seq
        },
        reason: a.reason,
    };
    let time = a.time.map_or(now, |t| t.0);
    let record = writer::commit(ledger.as_mut(), &book, &signer, time, now, vec![], event)?;
    writer::report(&s.out, &book, &signer, &record)
}
