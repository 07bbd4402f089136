//! Signing-key files: the format lives in `ledger_core::keyfile`, shared
//! with `terroird`, which signs checkpoints with a regulator's key file.
//!
//! This module decides where a passphrase comes from: the
//! `TERROIR_PASSPHRASE` environment variable (for scripts), else a prompt
//! on the terminal (no echo) when standard input is one, else nowhere, and
//! an encrypted file is refused with a line saying what to do.

use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Result};
pub(crate) use ledger_core::keyfile::{create, create_encrypted, read_public};
use ledger_core::keyfile::{KdfParams, KeyFile, NoPassphrase, Zeroizing, PASSPHRASE_ENV};

/// Completes "key file FILE is encrypted: …" when no passphrase is at hand.
const NO_PASSPHRASE: &str = "set TERROIR_PASSPHRASE or run in a terminal";

/// The passphrase from `TERROIR_PASSPHRASE`, if set.
fn from_env() -> Option<Zeroizing<String>> {
    std::env::var_os(PASSPHRASE_ENV).map(|v| Zeroizing::new(v.to_string_lossy().into_owned()))
}

fn prompt(text: &str) -> Result<Zeroizing<String>> {
    Ok(Zeroizing::new(rpassword::prompt_password(text)?))
}

/// Reads a key file, asking for its passphrase if it is encrypted. A plain
/// file still loads; on a terminal a one-line warning suggests encrypting it.
pub(crate) fn load(path: &Path) -> Result<KeyFile> {
    let file = ledger_core::keyfile::load_with(path, || {
        if let Some(p) = from_env() {
            return Ok(p);
        }
        if std::io::stdin().is_terminal() {
            return prompt(&format!("passphrase for {}: ", path.display()))
                .map_err(|e| NoPassphrase(format!("cannot read the passphrase: {e}")));
        }
        Err(NoPassphrase(NO_PASSPHRASE.into()))
    })?;
    if !file.encrypted && std::io::stderr().is_terminal() {
        eprintln!(
            "warning: key file {0} is not encrypted: run `terroir key encrypt {0}`",
            path.display()
        );
    }
    Ok(file)
}

/// A passphrase for a new encrypted file: `TERROIR_PASSPHRASE`, else asked
/// twice on the terminal; `None` when neither is available.
pub(crate) fn new_passphrase() -> Result<Option<Zeroizing<String>>> {
    if let Some(p) = from_env() {
        if p.is_empty() {
            bail!("TERROIR_PASSPHRASE is empty: set a passphrase, or pass --plain");
        }
        return Ok(Some(p));
    }
    if !std::io::stdin().is_terminal() {
        return Ok(None);
    }
    let first = prompt("new passphrase: ")?;
    if first.is_empty() {
        bail!("the passphrase is empty: type one, or pass --plain for an unencrypted file");
    }
    let again = prompt("the same passphrase again: ")?;
    if *first != *again {
        bail!("the two passphrases differ; nothing was written");
    }
    Ok(Some(first))
}

/// Encrypts a plain key file in place under `passphrase`.
pub(crate) fn encrypt(path: &Path, passphrase: &str) -> Result<()> {
    Ok(ledger_core::keyfile::encrypt(
        path,
        passphrase,
        KdfParams::RECOMMENDED,
    )?)
}
