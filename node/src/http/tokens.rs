//! Who may write: when a deployment sets `submit_tokens`, `POST /records`
//! needs `Authorization: Bearer TOKEN` with a token named in that file.
//!
//! The file holds one token per line as `NAME SHA256-HEX` (`#` starts a
//! comment): the SHA-256 of each token, never the token itself, so the
//! file is no secret and a leaked copy lets no one write. `terroird token`
//! makes a token, prints it once and appends its line.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use ledger_core::Hash;
use rand_core::{OsRng, RngCore};

/// The tokens a deployment accepts, by their hash.
#[derive(Debug, Default)]
pub struct SubmitTokens {
    names: HashMap<Hash, String>,
}

/// Why a write was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denied {
    /// No `Authorization: Bearer` header.
    Missing,
    /// A token this node does not accept.
    Unknown,
}

impl std::fmt::Display for Denied {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Denied::Missing => {
                "this node accepts records only with a token: send `Authorization: Bearer TOKEN`"
            }
            Denied::Unknown => "this node does not accept that token",
        })
    }
}

impl SubmitTokens {
    /// Reads a tokens file.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading submit tokens {}", path.display()))?;
        let mut names = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let parsed = line.rsplit_once(char::is_whitespace).and_then(|(name, h)| {
                let bytes: [u8; 32] = hex::decode(h.trim()).ok()?.try_into().ok()?;
                Some((name.trim().to_owned(), Hash(bytes)))
            });
            let Some((name, hash)) = parsed else {
                anyhow::bail!(
                    "{} line {}: expected `NAME SHA256-HEX` (64 hex digits)",
                    path.display(),
                    i + 1
                );
            };
            names.insert(hash, name);
        }
        Ok(SubmitTokens { names })
    }

    /// The name of the token an `Authorization` header carries.
    pub fn check(&self, authorization: Option<&str>) -> Result<&str, Denied> {
        let token = authorization
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or(Denied::Missing)?;
        // Looked up by its hash: no comparison of the token's own bytes
        // that could leak them by timing.
        self.names
            .get(&Hash::of(token.as_bytes()))
            .map(String::as_str)
            .ok_or(Denied::Unknown)
    }

    /// Tokens accepted.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether none is (no write would pass).
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// A fresh token (256 random bits, hex) and its line for the file.
pub fn new_token(name: &str) -> anyhow::Result<(String, String)> {
    anyhow::ensure!(
        !name.is_empty() && !name.contains(char::is_whitespace) && !name.contains('#'),
        "a token's name is one word without `#`, e.g. coop-station-1"
    );
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    let line = format!("{name} {}", Hash::of(token.as_bytes()).to_hex());
    Ok((token, line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_tokens_pass() {
        let dir = tempfile::tempdir().unwrap();
        let (token, line) = new_token("coop-1").unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, format!("# stations\n{line}\n\n")).unwrap();
        let tokens = SubmitTokens::load(&path).unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens.check(Some(&format!("Bearer {token}"))), Ok("coop-1"));
        assert_eq!(tokens.check(None), Err(Denied::Missing));
        assert_eq!(tokens.check(Some(&token)), Err(Denied::Missing));
        assert_eq!(tokens.check(Some("Bearer 00")), Err(Denied::Unknown));
        assert!(!std::fs::read_to_string(&path).unwrap().contains(&token));
    }

    #[test]
    fn a_malformed_file_is_refused_with_its_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens");
        std::fs::write(&path, "coop-1 abc\n").unwrap();
        let e = SubmitTokens::load(&path).unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        assert!(new_token("two words").is_err());
    }
}
