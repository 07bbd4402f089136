//! `terroir key new|show|encrypt`: signing-key files.
//!
//! `new` encrypts the file under a passphrase whenever one is at hand
//! (`TERROIR_PASSPHRASE`, or asked twice on a terminal); `--plain`, or no
//! passphrase at all, writes an unencrypted (version 1) file. `show` needs
//! only the public half, never the passphrase.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::SigningKey;
use serde_json::json;

use crate::keyfile;
use crate::output::{say, KEY};
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Create a new key file (mode 0600; never overwrites), encrypted
    /// under a passphrase from TERROIR_PASSPHRASE or the terminal.
    New {
        /// Where to write it.
        #[arg(long, short, value_name = "FILE")]
        out: PathBuf,
        /// A name to remember it by (used as the authority name by `init`).
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Write the secret unencrypted (anyone who reads the file can sign).
        #[arg(long)]
        plain: bool,
    },
    /// Encrypt a plain key file in place under a passphrase from
    /// TERROIR_PASSPHRASE or the terminal.
    Encrypt {
        /// The key file.
        file: PathBuf,
    },
    /// Show a key file's public key and name (never its secret).
    Show {
        /// The key file.
        file: PathBuf,
    },
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::New { out, name, plain } => {
            let key = SigningKey::generate();
            let passphrase = if plain {
                None
            } else {
                keyfile::new_passphrase()?
            };
            match &passphrase {
                Some(p) => keyfile::create_encrypted(&out, name.as_deref(), &key, p)?,
                None => keyfile::create(&out, name.as_deref(), &key)?,
            }
            let encrypted = passphrase.is_some();
            let public = key.public();
            s.out.json(&json!({
                "public": public,
                "name": name,
                "file": out,
                "encrypted": encrypted,
            }))?;
            s.out.quiet(public);
            if s.out.human() {
                if encrypted {
                    say!("wrote key file {} (mode 0600, encrypted)", out.display());
                } else if plain {
                    say!(
                        "wrote key file {} (mode 0600, not encrypted)",
                        out.display()
                    );
                } else {
                    say!(
                        "wrote key file {} (mode 0600, not encrypted: no passphrase; \
                         set TERROIR_PASSPHRASE or run in a terminal, then \
                         `terroir key encrypt {}`)",
                        out.display(),
                        out.display()
                    );
                }
                say!("public key {KEY}{public}{KEY:#}");
                say!("Give the public key to a regulator to be enrolled; keep the file private.");
            }
        }
        Command::Show { file } => {
            let k = keyfile::read_public(&file)?;
            let public = k.public;
            s.out.json(&json!({
                "public": public,
                "name": k.name,
                "file": k.path,
                "encrypted": k.encrypted,
            }))?;
            s.out.quiet(public);
            if s.out.human() {
                say!("file        {}", k.path.display());
                say!("name        {}", k.name.as_deref().unwrap_or("-"));
                say!("public key  {KEY}{public}{KEY:#}");
                say!("encrypted   {}", if k.encrypted { "yes" } else { "no" });
            }
        }
        Command::Encrypt { file } => {
            let Some(passphrase) = keyfile::new_passphrase()? else {
                bail!(
                    "cannot encrypt key file {}: set TERROIR_PASSPHRASE or run in a terminal",
                    file.display()
                )
            };
            keyfile::encrypt(&file, &passphrase)?;
            let public = keyfile::read_public(&file)?.public;
            s.out
                .json(&json!({ "public": public, "file": file, "encrypted": true }))?;
            s.out.quiet(public);
            if s.out.human() {
                say!("encrypted key file {} (mode 0600)", file.display());
            }
        }
    }
    Ok(())
}
