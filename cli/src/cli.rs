//! The command line, as clap sees it. Flag values are parsed into checked
//! types here (see [`crate::parse`]), so a command never runs on malformed
//! input.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    audit, bundle, checkpoint, demo, enroll, export, genesis, holdings, import, init, key,
    participants, prefix, qr, record, revoke, rotate_key, status, trace, verify,
};

/// Terroir: sign, trace and verify the farm-to-fork journey of agricultural lots.
#[derive(Debug, Parser)]
#[command(
    name = "terroir",
    version,
    propagate_version = true,
    max_term_width = 100
)]
#[command(after_help = "Start with `terroir demo`, then follow the commands it prints.")]
pub(crate) struct Cli {
    #[command(flatten)]
    pub(crate) global: GlobalArgs,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
pub(crate) struct GlobalArgs {
    /// The ledger directory.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "TERROIR_HOME",
        default_value = ".terroir"
    )]
    pub(crate) ledger: PathBuf,
    /// Work against a terroird node (http://HOST:PORT) instead of the local
    /// ledger: records are signed here and submitted; keys never leave.
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TERROIR_NODE",
        value_parser = crate::settings::node_url
    )]
    pub(crate) node: Option<crate::settings::NodeUrl>,
    /// The write token the node's operator gave you, for a node that takes
    /// records only with one (`terroird token`); sent with submissions.
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "TERROIR_NODE_TOKEN",
        hide_env_values = true
    )]
    pub(crate) node_token: Option<String>,
    /// Print machine-readable JSON on stdout (schema: docs/cli.md).
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print only the essential value (a hash, an id), or nothing.
    #[arg(long, short, global = true, conflicts_with = "json")]
    pub(crate) quiet: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Found a new network: write its genesis and create the ledger.
    Init(init::Args),
    /// Create or inspect signing-key files.
    #[command(subcommand)]
    Key(key::Command),
    /// Show the network's genesis document and id.
    Genesis(genesis::Args),
    /// Summarise the ledger: network, records, participants, state digest.
    Status(status::Args),
    /// List the address book: every enrolled participant.
    Participants(participants::Args),
    /// List what a participant holds.
    Holdings(holdings::Args),
    /// Enroll a participant with a role (regulators).
    Enroll(enroll::Args),
    /// Assign a GS1 company prefix to a participant (regulators).
    AssignPrefix(prefix::AssignArgs),
    /// Let a contract packer put your GTINs on the lots it packs.
    AuthorisePacker(prefix::AuthoriseArgs),
    /// Revoke a participant's key (regulators).
    Revoke(revoke::Args),
    /// Hand your identity over to a new key.
    RotateKey(rotate_key::Args),
    /// Sign a supply-chain event.
    #[command(subcommand)]
    Record(record::Command),
    /// Show a lot's journey.
    Trace(trace::Args),
    /// Export a lot's self-contained trace bundle.
    Bundle(bundle::Args),
    /// Verify a trace bundle offline (with --node, its lots' status also
    /// against the node's latest checkpoint).
    Verify(verify::Args),
    /// Make the QR code (GS1 Digital Link) for a lot.
    Qr(qr::Args),
    /// Re-verify the whole local ledger.
    Audit(audit::Args),
    /// Build and verify a farm-to-fork demo network in a fresh directory.
    Demo(demo::Args),
    /// Export GS1 EPCIS 2.0 or the FSMA 204 spreadsheet.
    #[command(subcommand)]
    Export(export::Command),
    /// Import a GS1 EPCIS 2.0 document as your signed records.
    #[command(subcommand)]
    Import(import::Command),
    /// Show the authorities' checkpoints and check that one extends another.
    #[command(subcommand)]
    Checkpoint(checkpoint::Command),
}
