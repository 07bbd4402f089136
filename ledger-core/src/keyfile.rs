//! Signing-key files.
//!
//! A key file is a small JSON document (`format`, `version`, `name`,
//! `public`, `secret_seed` in hex). It is created with mode 0600 and never
//! overwritten; loading refuses a file that the group or others may read,
//! because anyone who reads it can sign in its owner's name.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::key::{PublicKey, SigningKey};

/// A key file that cannot be written or read, or must not be trusted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// The file system refused.
    #[error("cannot {action} key file {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Something exists at the path already.
    #[error("{0} already exists; a key file is never overwritten")]
    Exists(String),
    /// The file is not what a key file must be.
    #[error("{0}")]
    Refused(String),
}

type Result<T> = std::result::Result<T, KeyFileError>;

fn refused(why: String) -> KeyFileError {
    KeyFileError::Refused(why)
}

fn io<'p>(
    action: &'static str,
    path: &'p Path,
) -> impl FnOnce(std::io::Error) -> KeyFileError + 'p {
    move |source| KeyFileError::Io {
        action,
        path: path.display().to_string(),
        source,
    }
}

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
pub struct KeyFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The name its owner gave it, if any.
    pub name: Option<String>,
    /// The key.
    pub key: SigningKey,
}

impl KeyFile {
    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }
}

/// Writes a new key file with mode 0600; refuses to overwrite anything.
pub fn create(path: &Path, name: Option<&str>, key: &SigningKey) -> Result<()> {
    let seed = key.seed();
    let repr = Repr {
        format: FORMAT.into(),
        version: VERSION,
        name: name.map(str::to_owned),
        public: key.public().to_hex(),
        secret_seed: hex::encode(*seed),
    };
    let json = serde_json::to_string_pretty(&repr)
        .map_err(|e| refused(format!("cannot encode key file {}: {e}", path.display())))?;
    let text = Zeroizing::new(json + "\n");
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            KeyFileError::Exists(path.display().to_string())
        } else {
            io("create", path)(e)
        }
    })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io("write", path))?;
    Ok(())
}

/// Reads a key file, refusing one that others can read.
pub fn load(path: &Path) -> Result<KeyFile> {
    let shown = path.display();
    let meta = fs::metadata(path).map_err(io("read", path))?;
    if !meta.is_file() {
        return Err(refused(format!("key file {shown} is not a regular file")));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(refused(format!(
                "key file {shown} can be read by others (mode {mode:03o}); \
                 anyone who reads it can sign in your name: run `chmod 600 {shown}`"
            )));
        }
    }
    if meta.len() > 64 * 1024 {
        return Err(refused(format!(
            "{shown} is not a Terroir key file (too large)"
        )));
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io("read", path))?);
    let repr: Repr = serde_json::from_str(&text)
        .map_err(|e| refused(format!("{shown} is not a Terroir key file: {e}")))?;
    if repr.format != FORMAT {
        return Err(refused(format!(
            "{shown} is not a Terroir key file (format {:?})",
            repr.format
        )));
    }
    if repr.version != VERSION {
        return Err(refused(format!(
            "key file {shown} has version {}, this build reads version {VERSION}",
            repr.version
        )));
    }
    let mut seed = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(&repr.secret_seed, seed.as_mut()).map_err(|_| {
        refused(format!(
            "key file {shown} is damaged: its secret is not 64 hex characters"
        ))
    })?;
    let key = SigningKey::from_seed(&seed);
    if key.public().to_hex() != repr.public.trim().to_lowercase() {
        return Err(refused(format!(
            "key file {shown} is damaged: its public key does not match its secret"
        )));
    }
    Ok(KeyFile {
        path: path.to_path_buf(),
        name: repr.name.clone(),
        key,
    })
}
