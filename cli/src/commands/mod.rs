//! One file per command. Each has its clap `Args` and a `run` that receives
//! only parsed, checked values.

pub(crate) mod audit;
pub(crate) mod bundle;
pub(crate) mod certificate;
pub(crate) mod checkpoint;
pub(crate) mod completions;
pub(crate) mod demo;
pub(crate) mod enroll;
pub(crate) mod export;
pub(crate) mod genesis;
pub(crate) mod holdings;
pub(crate) mod import;
pub(crate) mod init;
pub(crate) mod key;
pub(crate) mod participants;
pub(crate) mod prefix;
pub(crate) mod qr;
pub(crate) mod record;
pub(crate) mod revoke;
pub(crate) mod rotate_key;
pub(crate) mod status;
pub(crate) mod sync;
pub(crate) mod trace;
pub(crate) mod verify;

use anyhow::Result;

use crate::cli::Command;
use crate::settings::Settings;

/// Runs one command.
pub(crate) fn run(s: &Settings, command: Command) -> Result<()> {
    // Commands that read or write a ledger directory directly; the others
    // work against `--node` too (`key` and `verify` need no ledger at all;
    // `export` of a whole ledger, rather than a lot, says so itself).
    let local_only = match &command {
        Command::Init(_) => Some("init"),
        Command::Demo(_) => Some("demo"),
        Command::Audit(_) => Some("audit"),
        Command::Genesis(_) => Some("genesis"),
        Command::Import(_) => Some("import"),
        _ => None,
    };
    if let Some(name) = local_only {
        s.local_only(name)?;
    }
    match command {
        Command::Init(a) => init::run(s, a),
        Command::Key(c) => key::run(s, c),
        Command::Genesis(a) => genesis::run(s, a),
        Command::Status(a) => status::run(s, a),
        Command::Participants(a) => participants::run(s, a),
        Command::Holdings(a) => holdings::run(s, a),
        Command::Enroll(a) => enroll::run(s, a),
        Command::Identify(a) => enroll::identify(s, a),
        Command::AssignPrefix(a) => prefix::assign(s, a),
        Command::AuthorisePacker(a) => prefix::authorise(s, a),
        Command::Revoke(a) => revoke::run(s, a),
        Command::RotateKey(a) => rotate_key::run(s, a),
        Command::Record(c) => record::run(s, c),
        Command::Certificate(c) => certificate::run(s, c),
        Command::Trace(a) => trace::run(s, a),
        Command::Bundle(a) => bundle::run(s, a),
        Command::Verify(a) => verify::run(s, a),
        Command::Qr(a) => qr::run(s, a),
        Command::Audit(a) => audit::run(s, a),
        Command::Demo(a) => demo::run(s, a),
        Command::Export(c) => export::run(s, c),
        Command::Import(c) => import::run(s, c),
        Command::Checkpoint(a) => checkpoint::run(s, a),
        Command::Completions(a) => completions::run(s, a),
        Command::Join(a) => sync::join(s, a),
        Command::Sync(a) => sync::sync(s, a),
        Command::Outbox(a) => sync::outbox(s, a),
    }
}
