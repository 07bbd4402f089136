//! `terroir key new|show`: signing-key files.

use std::path::PathBuf;

use anyhow::Result;
use ledger_core::SigningKey;
use serde_json::json;

use crate::keyfile;
use crate::output::{say, KEY};
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a new key file (mode 0600; never overwrites).
    New {
        /// Where to write it.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// A name to remember it by (used as the authority name by `init`).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
    },
    /// Show a key file's public key and name (never its secret).
    Show {
        /// The key file.
        file: PathBuf,
    },
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::New { out, name } => {
            let key = SigningKey::generate();
            keyfile::create(&out, name.as_deref(), &key)?;
            let public = key.public();
            s.out
                .json(&json!({ "public": public, "name": name, "file": out }))?;
            s.out.quiet(public);
            if s.out.human() {
                say!("wrote key file {} (mode 0600)", out.display());
                say!("public key {KEY}{public}{KEY:#}");
                say!("Give the public key to a regulator to be enrolled; keep the file private.");
            }
        }
        Command::Show { file } => {
            let k = keyfile::load(&file)?;
            let public = k.public();
            s.out
                .json(&json!({ "public": public, "name": k.name, "file": k.path }))?;
            s.out.quiet(public);
            if s.out.human() {
                say!("file        {}", k.path.display());
                say!("name        {}", k.name.as_deref().unwrap_or("-"));
                say!("public key  {KEY}{public}{KEY:#}");
            }
        }
    }
    Ok(())
}
