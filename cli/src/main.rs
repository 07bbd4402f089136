//! `terroir`: the command-line client of the Terroir traceability ledger.
//!
//! Farmers, processors, carriers, labs, regulators and retailers use it to
//! sign provenance records with their own keys into a local (embedded)
//! ledger, to trace lots, export and verify trace bundles, print QR codes
//! and audit the ledger. `terroir demo` builds a whole farm-to-fork story.
//!
//! ## Layout
//! - [`cli`]: the clap definitions. Every flag value is parsed into a
//!   checked type ([`parse`]) before any command runs (parse, then validate).
//! - [`settings`]: the global settings (ledger directory, output mode).
//! - [`output`]: human (coloured when stdout is a terminal and `NO_COLOR` is
//!   unset), `--json` and `--quiet` output.
//! - [`keyfile`]: signing-key files (0600, refused when others can read them).
//! - [`ledger_dir`]: a ledger directory: `genesis.json` and the sled store.
//! - [`book`]: the address book: participants by name, key or key prefix.
//! - [`lots`]: naming lots as `CODE` or `CODE@SOURCE`.
//! - [`backend`]: what commands read and where they submit: the local
//!   ledger or, with `--node`, a remote `terroird` ([`remote`]).
//! - [`writer`]: signing a record and committing it to the ledger.
//! - [`render`]: the human-readable trace timeline.
//! - [`commands`]: one file per command.

mod backend;
mod book;
mod cli;
mod commands;
mod keyfile;
mod label;
mod ledger_dir;
mod lots;
mod note;
mod output;
mod parse;
mod remote;
mod render;
mod replica;
mod settings;
mod writer;

use std::process::ExitCode;

fn main() -> ExitCode {
    let parsed = cli::command()
        .try_get_matches()
        .and_then(|m| <cli::Cli as clap::FromArgMatches>::from_arg_matches(&m));
    let cli = match parsed {
        Ok(cli) => cli,
        Err(e) => return clap_failure(&e),
    };
    if cli.global.utc {
        // Before any command opens a ledger and its zone: `--utc` wins.
        parse::show_in_utc();
    }
    let settings = settings::Settings::from_args(&cli.global);
    match commands::run(&settings, cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            report(&e);
            ExitCode::FAILURE
        }
    }
}

/// Prints the whole error chain on one line.
fn report(e: &anyhow::Error) {
    let line = format!("{e:#}").replace(['\n', '\r'], " ");
    eprintln!("error: {line}");
}

/// Help and version go to stdout as clap renders them; usage errors are cut
/// to their first line (`error: …`) and exit with status 2.
fn clap_failure(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(2)
        }
        _ => {
            // The message is its first paragraph (clap lists missing
            // arguments on the following lines); usage and tips are dropped.
            let text = e.render().to_string();
            let message: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(str::trim)
                .collect();
            let mut line = message.join(" ");
            if let Some(hint) = did_you_mean(e) {
                line.push_str(&format!("; did you mean {hint}?"));
            }
            if line.starts_with("error:") {
                eprintln!("{line}");
            } else {
                eprintln!("error: {line}");
            }
            ExitCode::from(2)
        }
    }
}

/// clap's own suggestion for a mistyped subcommand or flag, or failing
/// that the closest long flag of the subcommand that was typed (an
/// abbreviation such as `--qty` for `--quantity` counts as close).
fn did_you_mean(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    for kind in [ContextKind::SuggestedSubcommand, ContextKind::SuggestedArg] {
        match e.get(kind) {
            Some(ContextValue::String(s)) => return Some(format!("'{s}'")),
            Some(ContextValue::Strings(v)) if !v.is_empty() => {
                return Some(
                    v.iter()
                        .map(|s| format!("'{s}'"))
                        .collect::<Vec<_>>()
                        .join(" or "),
                )
            }
            _ => {}
        }
    }
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(bad)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let typed = bad.strip_prefix("--")?.split('=').next()?.to_owned();
    // The subcommand the flag was given to: follow the words on the line.
    let mut cmd = <cli::Cli as clap::CommandFactory>::command();
    for word in std::env::args().skip(1) {
        if word.starts_with('-') {
            continue;
        }
        match cmd.find_subcommand(&word) {
            Some(sub) => cmd = sub.clone(),
            None => continue,
        }
    }
    let longs: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set())
        .filter_map(|a| a.get_long().map(str::to_owned))
        .collect();
    parse::closest(&typed, longs.iter().map(String::as_str)).map(|l| format!("'--{l}'"))
}
