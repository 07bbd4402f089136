//! The command line, as clap sees it. Flag values are parsed into checked
//! types here (see [`crate::parse`]), so a command never runs on malformed
//! input.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::commands::{
    audit, bundle, certificate, checkpoint, completions, demo, enroll, export, genesis, holdings,
    import, init, key, participants, prefix, qr, record, revoke, rotate_key, status, sync, trace,
    verify,
};

/// The command line with the global options shown once: `terroir --help`
/// lists them, each subcommand's help names only its own options and
/// points there.
pub(crate) fn command() -> clap::Command {
    let cmd = <Cli as clap::CommandFactory>::command();
    // Each subcommand gets hidden copies of the global options; clap then
    // does not propagate the visible ones (it skips ids already there), and
    // the values still reach the top as global values do.
    let globals: Vec<clap::Arg> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.clone().hide(true))
        .collect();
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sub| hide_globals(sub, &globals))
    })
}

fn hide_globals(cmd: clap::Command, globals: &[clap::Arg]) -> clap::Command {
    let note = "Global options (--ledger, --node, --json, --quiet …): see `terroir --help`.";
    let after = match cmd.get_after_help() {
        Some(text) => format!("{text}\n\n{note}"),
        None => note.to_owned(),
    };
    let mut cmd = cmd.after_help(after);
    for a in globals {
        if cmd.get_arguments().all(|have| have.get_id() != a.get_id()) {
            cmd = cmd.arg(a.clone());
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .collect();
    names.into_iter().fold(cmd, |cmd, name| {
        cmd.mut_subcommand(name, |sub| hide_globals(sub, globals))
    })
}

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
    /// Show times in UTC instead of the network's time zone (its genesis').
    #[arg(
        long,
        global = true,
        env = "TERROIR_UTC",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub(crate) utc: bool,
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
    #[command(after_help = "Examples:
  terroir status
  terroir --json status
  terroir --node http://127.0.0.1:8080 status")]
    Status(status::Args),
    /// List the address book: every enrolled participant.
    Participants(participants::Args),
    /// List what a participant holds.
    Holdings(holdings::Args),
    /// Enroll a participant with a role (regulators).
    Enroll(enroll::Args),
    /// Record a participant's unified social credit code (regulators).
    #[command(after_help = "Example:
  terroir identify --key bureau.key --participant \"Qiandao Lake Tea Cooperative\" --uscc 93330127MA2B0X1Q6M")]
    Identify(enroll::IdentifyArgs),
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
    /// Issue China's compliance-commitment certificate (承诺达标合格证).
    #[command(subcommand)]
    Certificate(certificate::Command),
    /// Show a lot's journey.
    #[command(after_help = "Examples:
  terroir trace QDH-PACK-0404
  terroir trace QDH-JK-0401 --downstream
  terroir --json trace QDH-PACK-0404")]
    Trace(trace::Args),
    /// Export a lot's self-contained trace bundle.
    #[command(after_help = "Examples:
  terroir bundle QDH-PACK-0404 --out QDH-PACK-0404.bundle
  terroir verify QDH-PACK-0404.bundle --network genesis.json")]
    Bundle(bundle::Args),
    /// Verify a trace bundle offline (with --node, its lots' status also
    /// against the node's latest checkpoint).
    #[command(after_help = "Examples:
  terroir verify QDH-PACK-0404.bundle --network genesis.json
  terroir verify QDH-PACK-0404.bundle --network NETWORK_ID --strict")]
    Verify(verify::Args),
    /// Make the QR code (GS1 Digital Link) for a lot.
    #[command(after_help = "Examples:
  terroir qr QDH-PACK-0404 --out pack.png
  terroir qr QDH-PACK-0404 --terminal
  terroir qr QDH-PACK-0404 --out pack.svg --base-url https://id.example.org")]
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
    /// Join a network as a local replica of a node: sign offline, sync later.
    #[command(after_help = "Examples:
  terroir join --node http://county.example:8080 --ledger station
  terroir join --node http://county.example:8080 --genesis genesis.json")]
    Join(sync::JoinArgs),
    /// Hand this replica's outbox to its node and fetch what is new.
    #[command(after_help = "Examples:
  terroir sync
  terroir sync --node http://other-node.example:8080   # any node of the network")]
    Sync(sync::SyncArgs),
    /// List what waits in this replica's outbox, and what the network refused.
    Outbox(sync::OutboxArgs),
    /// Print the shell completion script (bash, zsh, fish, powershell, elvish).
    Completions(completions::Args),
}
