//! Signing-key files.
//!
//! A key file is a small JSON document (`format`, `version`, `name`,
//! `public`, `secret_seed` in hex). It is created with mode 0600 and never
//! overwritten; loading refuses a file that the group or others may read,
//! because anyone who reads it can sign in its owner's name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::{PublicKey, SigningKey};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// The `format` field of every key file.
const FORMAT: &str = "terroir-signing-key";
/// The current key-file version.
const VERSION: u16 = 1;

#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct Repr {
    format: String,
    version: u16,
    name: Option<String>,
    public: String,
    secret_seed: String,
}

/// A loaded key file.
#[derive(Debug)]
pub(crate) struct KeyFile {
    /// Where it was read from.
    pub(crate) path: PathBuf,
    /// The name its owner gave it, if any.
    pub(crate) name: Option<String>,
    /// The key.
    pub(crate) key: SigningKey,
}

impl KeyFile {
    /// The public half.
    pub(crate) fn public(&self) -> PublicKey {
        self.key.public()
    }
}

/// Writes a new key file with mode 0600; refuses to overwrite anything.
pub(crate) fn create(path: &Path, name: Option<&str>, key: &SigningKey) -> Result<()> {
    let seed = key.seed();
    let repr = Repr {
        format: FORMAT.into(),
        version: VERSION,
        name: name.map(str::to_owned),
        public: key.public().to_hex(),
        secret_seed: hex::encode(*seed),
    };
    let text = Zeroizing::new(serde_json::to_string_pretty(&repr)? + "\n");
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; a key file is never overwritten",
                path.display()
            )
        } else {
            anyhow::Error::new(e).context(format!("cannot create key file {}", path.display()))
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write key file {}", path.display()))?;
    Ok(())
}

/// Reads a key file, refusing one that others can read.
pub(crate) fn load(path: &Path) -> Result<KeyFile> {
    let shown = path.display();
    let meta = fs::metadata(path).with_context(|| format!("cannot read key file {shown}"))?;
    if !meta.is_file() {
        bail!("key file {shown} is not a regular file");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "key file {shown} can be read by others (mode {mode:03o}); \
                 anyone who reads it can sign in your name: run `chmod 600 {shown}`"
            );
        }
    }
    if meta.len() > 64 * 1024 {
        bail!("{shown} is not a Terroir key file (too large)");
    }
    let text = Zeroizing::new(
        fs::read_to_string(path).with_context(|| format!("cannot read key file {shown}"))?,
    );
    let repr: Repr = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{shown} is not a Terroir key file: {e}"))?;
    if repr.format != FORMAT {
        bail!(
            "{shown} is not a Terroir key file (format {:?})",
            repr.format
        );
    }
    if repr.version != VERSION {
        bail!(
            "key file {shown} has version {}, this terroir reads version {VERSION}",
            repr.version
        );
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&repr.secret_seed, seed.as_mut()).map_err(|_| {
        anyhow::anyhow!("key file {shown} is damaged: its secret is not 64 hex characters")
    })?;
    let key = SigningKey::from_seed(&seed);
    if key.public().to_hex() != repr.public.trim().to_lowercase() {
        bail!("key file {shown} is damaged: its public key does not match its secret");
    }
    Ok(KeyFile {
        path: path.to_path_buf(),
        name: repr.name.clone(),
        key,
    })
}
