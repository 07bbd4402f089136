//! `terroir enroll`: a regulator enrolls a participant with a role.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::event::Location;
use ledger_core::{Event, PublicKey, Role};

use crate::book::Book;
use crate::parse::{self, Timestamp};
use crate::settings::Settings;
use crate::{keyfile, writer};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The regulator's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The new participant's public key (hex), or its key file.
    #[arg(long, value_name = "KEY")]
    participant: String,
    /// Its display name, any language (e.g. 千岛湖鸠坑茶园).
    #[arg(long)]
    name: String,
    /// farm, processor, logistics, retailer, regulator or lab.
    #[arg(long, value_parser = parse::role)]
    role: Role,
    /// Where it is (farm, plant, depot, shop).
    #[arg(long, default_value = "")]
    location: String,
    /// The location's GLN (13 digits, check digit verified).
    #[arg(long, value_parser = parse::gln)]
    gln: Option<String>,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
    /// A firm's or cooperative's unified social credit code (统一社会信用代码,
    /// 18 characters, check character verified): recorded with the
    /// enrollment, printed on its certificates.
    #[arg(long, value_parser = parse::uscc)]
    uscc: Option<String>,
}

/// Reads a participant key given as hex or as a key file.
pub(crate) fn participant_key(spec: &str) -> Result<PublicKey> {
    if let Ok(k) = PublicKey::from_hex(spec) {
        return Ok(k);
    }
    let path = std::path::Path::new(spec);
    if path.is_file() {
        return Ok(keyfile::read_public(path)?.public);
    }
    bail!("{spec:?} is neither a public key (64 hex characters) nor a key file")
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let participant = participant_key(&a.participant)?;
    if let Err(why) = participant.check_strong() {
        bail!("cannot enroll key {}: {why}", participant.short());
    }
    let mut ledger = s.backend()?;
    // Read the clock only once the ledger is open (and locked), so that a
    // concurrent signer's record is never later than ours.
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    if let Some(p) = book.get(&participant) {
        bail!(
            "key {} is already enrolled as {} ({})",
            participant.short(),
            p.name,
            p.role
        );
    }
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    let event = Event::Enroll {
        participant,
        name: a.name.trim().to_owned(),
        role: a.role,
        location: Location {
            description: a.location,
            gln: a.gln,
        },
    };
    let time = a.time.map_or(now, |t| t.0);
    let record = writer::commit(ledger.as_mut(), &book, &signer, time, now, vec![], event)?;
    writer::report(&s.out, &book, &signer, &record)?;
    if let Some(uscc) = a.uscc {
        let identified = writer::commit(
            ledger.as_mut(),
            &book,
            &signer,
            time,
            now,
            vec![record.hash()],
            Event::Identify { participant, uscc },
        )?;
        // `--json` keeps its one object, the enrollment's; the code's
        // record is said in words and is in the participant list.
        if s.out.human() {
            crate::output::say!(
                "recorded its unified social credit code (record {})",
                identified.hash().short()
            );
        }
    }
    Ok(())
}

/// `terroir identify`: a regulator records the unified social credit code
/// of a participant enrolled earlier.
#[derive(Debug, clap::Args)]
pub(crate) struct IdentifyArgs {
    /// Your (the regulator's) key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// The participant: name, key, key prefix or key file.
    #[arg(long, value_name = "WHO")]
    participant: String,
    /// Its unified social credit code (统一社会信用代码, 18 characters,
    /// check character verified).
    #[arg(long, value_parser = parse::uscc)]
    uscc: String,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    time: Option<Timestamp>,
}

pub(crate) fn identify(s: &Settings, a: IdentifyArgs) -> Result<()> {
    let mut ledger = s.backend()?;
    let now = parse::now_ms();
    let book = Book::load(ledger.as_ref())?;
    let participant = book.resolve(&a.participant)?;
    let Some(enrolled_by) = book.get(&participant).and_then(|p| p.enrolled_by) else {
        bail!(
            "{} was not enrolled by a regulator (a genesis authority has no enrollment to attach a code to)",
            book.name(&participant)
        );
    };
    let signer = writer::load_signer(ledger.as_ref(), &a.key)?;
    let time = a.time.map_or(now, |t| t.0);
    let record = writer::commit(
        ledger.as_mut(),
        &book,
        &signer,
        time,
        now,
        vec![enrolled_by],
        Event::Identify {
            participant,
            uscc: a.uscc,
        },
    )?;
    writer::report(&s.out, &book, &signer, &record)
}
