//! `terroir completions SHELL`: the shell completion script, on stdout.
//!
//! ```text
//! terroir completions bash > ~/.local/share/bash-completion/completions/terroir
//! terroir completions zsh  > "${fpath[1]}/_terroir"
//! terroir completions fish > ~/.config/fish/completions/terroir.fish
//! ```

use anyhow::Result;
use clap_complete::Shell;

use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// bash, zsh, fish, powershell or elvish.
    #[arg(value_enum)]
    shell: Shell,
}

pub(crate) fn run(_s: &Settings, a: Args) -> Result<()> {
    // The full command line, global options included in every subcommand.
    let mut cmd = <crate::cli::Cli as clap::CommandFactory>::command();
    let mut out = Vec::new();
    clap_complete::generate(a.shell, &mut cmd, "terroir", &mut out);
    use std::io::Write;
    // A closed pipe (`terroir completions bash | head`) is not an error.
    let _ = std::io::stdout().lock().write_all(&out);
    Ok(())
}
