//! Signing-key files.
//!
//! A key file is a small JSON document. Version 2 (written by
//! [`create_encrypted`]) keeps the secret seed encrypted under a
//! passphrase: Argon2id stretches the passphrase and a random salt into a
//! 32-byte key, and XChaCha20-Poly1305 seals the 32-byte seed with the
//! file's name and public key as associated data, so a file whose public
//! key or name was swapped is refused. Version 1 (written by [`create`])
//! keeps the seed in hex, in the clear; it still loads, and [`encrypt`]
//! turns it into version 2 in place. `docs/encoding.md` ("Key files")
//! gives both layouts.
//!
//! Files are created with mode 0600 and [`create`] never overwrites;
//! loading refuses a file that the group or others may read, because
//! anyone who reads a plain one can sign in its owner's name.
//!
//! This module never asks for a passphrase: the caller hands one in (the
//! CLI from `TERROIR_PASSPHRASE` or a terminal prompt, `terroird` from
//! `TERROIR_PASSPHRASE`).
//!
//! ## Layout
//! - [`create`], [`create_encrypted`]: write a new file.
//! - [`load`], [`load_with`]: read one, with the passphrase if encrypted.
//! - [`read_public`]: the name and public key only; never needs the
//!   passphrase.
//! - [`encrypt`]: migrate a version 1 file to version 2 in place.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::{OsRng, RngCore};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

pub use zeroize::Zeroizing;

use crate::key::{PublicKey, SigningKey};

/// The environment variable the CLI and `terroird` read a key file's
/// passphrase from. Read by the binaries, never by this crate.
pub const PASSPHRASE_ENV: &str = "TERROIR_PASSPHRASE";

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
    /// The file is encrypted and [`load`] was asked to read it without a
    /// passphrase.
    #[error("key file {0} is encrypted: a passphrase is needed to use it")]
    Encrypted(String),
    /// The file is encrypted and the caller has no passphrase to give.
    #[error("key file {path} is encrypted: {hint}")]
    NoPassphrase {
        /// The file.
        path: String,
        /// Where a passphrase could come from (said by the caller).
        hint: String,
    },
    /// The passphrase does not open the file (or the file's sealed part,
    /// name or public key were altered: the two cannot be told apart).
    #[error("wrong passphrase for key file {0}")]
    WrongPassphrase(String),
}

/// Why a caller of [`load_with`] has no passphrase to give: a hint that
/// completes "key file FILE is encrypted: …".
#[derive(Debug, Clone)]
pub struct NoPassphrase(pub String);

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
/// Version 1: the seed in hex, in the clear.
const PLAIN: u16 = 1;
/// Version 2: the seed sealed under a passphrase.
const SEALED: u16 = 2;
/// The largest key file read (a real one is under 1 KiB).
const MAX_FILE: u64 = 64 * 1024;
/// `kdf.alg` of a version 2 file.
const KDF_ALG: &str = "argon2id";
/// `cipher.alg` of a version 2 file.
const CIPHER_ALG: &str = "xchacha20poly1305";
/// Bytes of Argon2 salt.
const SALT_LEN: usize = 16;
/// Bytes of XChaCha20 nonce.
const NONCE_LEN: usize = 24;
/// Bytes of the sealed seed: 32 of seed, 16 of Poly1305 tag.
const SEALED_LEN: usize = 32 + 16;
/// Prefix of the associated data (see [`associated_data`]).
const AD_PREFIX: &[u8] = b"terroir-signing-key v2\0";

/// Argon2id cost parameters of a version 2 key file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory, in KiB.
    pub m_cost: u32,
    /// Passes.
    pub t_cost: u32,
    /// Lanes.
    pub p_cost: u32,
}

impl KdfParams {
    /// The argon2 crate's recommended parameters (19 MiB, 2 passes, 1
    /// lane; OWASP's minimum for Argon2id), used for every file the
    /// binaries write.
    pub const RECOMMENDED: KdfParams = KdfParams {
        m_cost: argon2::Params::DEFAULT_M_COST,
        t_cost: argon2::Params::DEFAULT_T_COST,
        p_cost: argon2::Params::DEFAULT_P_COST,
    };
    /// The most memory a file may ask for (2 GiB): a bound, so that a
    /// hostile file cannot make loading it exhaust the machine.
    pub const MAX_M_COST: u32 = 2 * 1024 * 1024;
    /// The most passes a file may ask for.
    pub const MAX_T_COST: u32 = 64;
    /// The most lanes a file may ask for.
    pub const MAX_P_COST: u32 = 16;

    fn argon2(&self) -> std::result::Result<argon2::Argon2<'static>, String> {
        if self.m_cost > Self::MAX_M_COST
            || self.t_cost > Self::MAX_T_COST
            || self.p_cost > Self::MAX_P_COST
        {
            return Err(format!(
                "its Argon2 parameters (m_cost {}, t_cost {}, p_cost {}) exceed the limits \
                 (m_cost {}, t_cost {}, p_cost {})",
                self.m_cost,
                self.t_cost,
                self.p_cost,
                Self::MAX_M_COST,
                Self::MAX_T_COST,
                Self::MAX_P_COST
            ));
        }
        let params = argon2::Params::new(self.m_cost, self.t_cost, self.p_cost, Some(32))
            .map_err(|e| format!("its Argon2 parameters are invalid: {e}"))?;
        Ok(argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        ))
    }
}

/// What every version has in common, read first to pick the version.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u16,
}

/// Version 1.
#[derive(Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
struct PlainRepr {
    format: String,
    version: u16,
    name: Option<String>,
    public: String,
    secret_seed: String,
}

/// Version 2.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SealedRepr {
    format: String,
    version: u16,
    name: Option<String>,
    public: String,
    kdf: KdfRepr,
    cipher: CipherRepr,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfRepr {
    alg: String,
    #[serde(flatten)]
    params: KdfParams,
    /// Hex.
    salt: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CipherRepr {
    alg: String,
    /// Hex.
    nonce: String,
    /// Hex: the sealed seed and its tag.
    ciphertext: String,
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
    /// Whether the file keeps the key encrypted (version 2); a plain
    /// (version 1) file is worth migrating with [`encrypt`].
    pub encrypted: bool,
}

impl KeyFile {
    /// The public half.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }
}

/// The public half of a key file, read without its passphrase.
#[derive(Debug, Clone)]
pub struct PublicKeyFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// The name its owner gave it, if any.
    pub name: Option<String>,
    /// The public key, as the file states it.
    pub public: PublicKey,
    /// Whether the file keeps the key encrypted (version 2).
    pub encrypted: bool,
}

/// Writes a new plain (version 1) key file with mode 0600; refuses to
/// overwrite anything. Prefer [`create_encrypted`].
pub fn create(path: &Path, name: Option<&str>, key: &SigningKey) -> Result<()> {
    let seed = key.seed();
    let repr = PlainRepr {
        format: FORMAT.into(),
        version: PLAIN,
        name: name.map(str::to_owned),
        public: key.public().to_hex(),
        secret_seed: hex::encode(*seed),
    };
    let json = serde_json::to_string_pretty(&repr)
        .map_err(|e| refused(format!("cannot encode key file {}: {e}", path.display())))?;
    write_new(path, &Zeroizing::new(json + "\n"))
}

/// Writes a new encrypted (version 2) key file with mode 0600, sealed
/// under `passphrase` with [`KdfParams::RECOMMENDED`]; refuses to
/// overwrite anything.
pub fn create_encrypted(
    path: &Path,
    name: Option<&str>,
    key: &SigningKey,
    passphrase: &str,
) -> Result<()> {
    create_encrypted_with(path, name, key, passphrase, KdfParams::RECOMMENDED)
}

/// [`create_encrypted`] with chosen Argon2id parameters (tests use cheap
/// ones; anything else should use [`KdfParams::RECOMMENDED`] or stronger).
pub fn create_encrypted_with(
    path: &Path,
    name: Option<&str>,
    key: &SigningKey,
    passphrase: &str,
    params: KdfParams,
) -> Result<()> {
    let text = seal(path, name, key, passphrase, params)?;
    write_new(path, &text)
}

/// Reads a key file, refusing one that others can read. An encrypted file
/// is refused with [`KeyFileError::Encrypted`]: use [`load_with`].
pub fn load(path: &Path) -> Result<KeyFile> {
    load_with(path, || Err(NoPassphrase(String::new()))).map_err(|e| match e {
        KeyFileError::NoPassphrase { path, .. } => KeyFileError::Encrypted(path),
        e => e,
    })
}

/// Reads a key file, refusing one that others can read; `passphrase` is
/// asked only if the file is encrypted. A passphrase that does not open it
/// gives [`KeyFileError::WrongPassphrase`].
pub fn load_with(
    path: &Path,
    passphrase: impl FnOnce() -> std::result::Result<Zeroizing<String>, NoPassphrase>,
) -> Result<KeyFile> {
    let shown = path.display();
    match parse(path)? {
        Parsed::Plain(repr) => {
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
                encrypted: false,
            })
        }
        Parsed::Sealed(repr) => {
            let sealed = check_sealed(path, &repr)?;
            let passphrase =
                passphrase().map_err(|NoPassphrase(hint)| KeyFileError::NoPassphrase {
                    path: shown.to_string(),
                    hint,
                })?;
            let key = open(path, &repr, &sealed, &passphrase)?;
            Ok(KeyFile {
                path: path.to_path_buf(),
                name: repr.name,
                key,
                encrypted: true,
            })
        }
    }
}

/// Reads a key file's name and public key; never needs the passphrase.
/// The same checks as [`load`] apply to the file (mode, size, format);
/// for a plain file the public key is checked against the secret.
pub fn read_public(path: &Path) -> Result<PublicKeyFile> {
    match parse(path)? {
        Parsed::Plain(_) => {
            let k = load(path)?;
            Ok(PublicKeyFile {
                public: k.public(),
                path: k.path,
                name: k.name,
                encrypted: false,
            })
        }
        Parsed::Sealed(repr) => {
            let sealed = check_sealed(path, &repr)?;
            Ok(PublicKeyFile {
                path: path.to_path_buf(),
                name: repr.name,
                public: sealed.public,
                encrypted: true,
            })
        }
    }
}

/// Encrypts a plain (version 1) key file in place under `passphrase`: the
/// new file is written beside it (mode 0600), flushed to disk, and renamed
/// over it, so a crash leaves one or the other whole. Refuses a file that
/// is already encrypted.
pub fn encrypt(path: &Path, passphrase: &str, params: KdfParams) -> Result<()> {
    let shown = path.display();
    let file = load(path).map_err(|e| match e {
        KeyFileError::Encrypted(_) => refused(format!("key file {shown} is already encrypted")),
        e => e,
    })?;
    let text = seal(path, file.name.as_deref(), &file.key, passphrase, params)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let base = path
        .file_name()
        .ok_or_else(|| refused(format!("{shown} is not a file name")))?;
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(base);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    write_new(&tmp, &text)?;
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(io("replace", path)(e));
    }
    #[cfg(unix)]
    {
        // Make the rename itself durable.
        fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io("sync the directory of", path))?;
    }
    Ok(())
}

/// A version 2 file's fields, decoded and checked.
struct Sealed {
    public: PublicKey,
    argon2: argon2::Argon2<'static>,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

enum Parsed {
    Plain(PlainRepr),
    Sealed(SealedRepr),
}

/// Reads and decodes a key file of either version, after checking its
/// mode and size.
fn parse(path: &Path) -> Result<Parsed> {
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
    if meta.len() > MAX_FILE {
        return Err(refused(format!(
            "{shown} is not a Terroir key file (too large)"
        )));
    }
    let text = Zeroizing::new(fs::read_to_string(path).map_err(io("read", path))?);
    let header: Header = serde_json::from_str(&text)
        .map_err(|e| refused(format!("{shown} is not a Terroir key file: {e}")))?;
    if header.format != FORMAT {
        return Err(refused(format!(
            "{shown} is not a Terroir key file (format {:?})",
            header.format
        )));
    }
    let damaged = |e: serde_json::Error| refused(format!("key file {shown} is damaged: {e}"));
    match header.version {
        PLAIN => Ok(Parsed::Plain(serde_json::from_str(&text).map_err(damaged)?)),
        SEALED => Ok(Parsed::Sealed(
            serde_json::from_str(&text).map_err(damaged)?,
        )),
        v => Err(refused(format!(
            "key file {shown} has version {v}, this build reads versions {PLAIN} and {SEALED}"
        ))),
    }
}

/// Checks a version 2 file's algorithms and decodes its fields.
fn check_sealed(path: &Path, repr: &SealedRepr) -> Result<Sealed> {
    let shown = path.display();
    let damaged = |why: String| refused(format!("key file {shown} is damaged: {why}"));
    if repr.kdf.alg != KDF_ALG {
        return Err(refused(format!(
            "key file {shown} uses key derivation {:?}; this build knows {KDF_ALG:?}",
            repr.kdf.alg
        )));
    }
    if repr.cipher.alg != CIPHER_ALG {
        return Err(refused(format!(
            "key file {shown} uses cipher {:?}; this build knows {CIPHER_ALG:?}",
            repr.cipher.alg
        )));
    }
    let public = PublicKey::from_hex(repr.public.trim())
        .map_err(|_| damaged("its public key is not 64 hex characters".into()))?;
    let argon2 = repr.kdf.params.argon2().map_err(damaged)?;
    let mut salt = [0u8; SALT_LEN];
    hex::decode_to_slice(&repr.kdf.salt, &mut salt)
        .map_err(|_| damaged(format!("its salt is not {} hex characters", 2 * SALT_LEN)))?;
    let mut nonce = [0u8; NONCE_LEN];
    hex::decode_to_slice(&repr.cipher.nonce, &mut nonce)
        .map_err(|_| damaged(format!("its nonce is not {} hex characters", 2 * NONCE_LEN)))?;
    let ciphertext = hex::decode(&repr.cipher.ciphertext)
        .ok()
        .filter(|c| c.len() == SEALED_LEN)
        .ok_or_else(|| {
            damaged(format!(
                "its ciphertext is not {} hex characters",
                2 * SEALED_LEN
            ))
        })?;
    Ok(Sealed {
        public,
        argon2,
        salt,
        nonce,
        ciphertext,
    })
}

/// The bytes authenticated with the seed: a fixed prefix, the public key,
/// then `0` for no name or `1` and the name's UTF-8 bytes.
fn associated_data(public: &PublicKey, name: Option<&str>) -> Vec<u8> {
    let mut ad = AD_PREFIX.to_vec();
    ad.extend_from_slice(&public.0);
    match name {
        None => ad.push(0),
        Some(n) => {
            ad.push(1);
            ad.extend_from_slice(n.as_bytes());
        }
    }
    ad
}

/// The key-encryption key for `passphrase`.
fn derive(
    path: &Path,
    argon2: &argon2::Argon2<'_>,
    passphrase: &str,
    salt: &[u8],
) -> Result<Zeroizing<[u8; 32]>> {
    let mut kek = Zeroizing::new([0u8; 32]);
    argon2
        .hash_password_into(passphrase.as_bytes(), salt, kek.as_mut())
        .map_err(|e| {
            refused(format!(
                "cannot derive the key of key file {}: {e}",
                path.display()
            ))
        })?;
    Ok(kek)
}

/// Encodes a version 2 file for `key`.
fn seal(
    path: &Path,
    name: Option<&str>,
    key: &SigningKey,
    passphrase: &str,
    params: KdfParams,
) -> Result<Zeroizing<String>> {
    let shown = path.display();
    if passphrase.is_empty() {
        return Err(refused(format!(
            "cannot encrypt key file {shown} with an empty passphrase"
        )));
    }
    let argon2 = params
        .argon2()
        .map_err(|e| refused(format!("cannot encrypt key file {shown}: {e}")))?;
    let mut salt = [0u8; SALT_LEN];
    OsRng.fill_bytes(&mut salt);
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let kek = derive(path, &argon2, passphrase, &salt)?;
    let public = key.public();
    let ad = associated_data(&public, name);
    let seed = key.seed();
    let ciphertext = XChaCha20Poly1305::new(kek.as_ref().into())
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: seed.as_ref(),
                aad: &ad,
            },
        )
        .map_err(|_| refused(format!("cannot encrypt key file {shown}")))?;
    let repr = SealedRepr {
        format: FORMAT.into(),
        version: SEALED,
        name: name.map(str::to_owned),
        public: public.to_hex(),
        kdf: KdfRepr {
            alg: KDF_ALG.into(),
            params,
            salt: hex::encode(salt),
        },
        cipher: CipherRepr {
            alg: CIPHER_ALG.into(),
            nonce: hex::encode(nonce),
            ciphertext: hex::encode(ciphertext),
        },
    };
    let json = serde_json::to_string_pretty(&repr)
        .map_err(|e| refused(format!("cannot encode key file {shown}: {e}")))?;
    Ok(Zeroizing::new(json + "\n"))
}

/// Opens a version 2 file's seed with `passphrase`.
fn open(path: &Path, repr: &SealedRepr, sealed: &Sealed, passphrase: &str) -> Result<SigningKey> {
    let kek = derive(path, &sealed.argon2, passphrase, &sealed.salt)?;
    let ad = associated_data(&sealed.public, repr.name.as_deref());
    let seed = Zeroizing::new(
        XChaCha20Poly1305::new(kek.as_ref().into())
            .decrypt(
                XNonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: &ad,
                },
            )
            .map_err(|_| KeyFileError::WrongPassphrase(path.display().to_string()))?,
    );
    let seed: Zeroizing<[u8; 32]> = Zeroizing::new(seed.as_slice().try_into().map_err(|_| {
        refused(format!(
            "key file {} is damaged: its secret is not 32 bytes",
            path.display()
        ))
    })?);
    let key = SigningKey::from_seed(&seed);
    if key.public() != sealed.public {
        return Err(refused(format!(
            "key file {} is damaged: its public key does not match its secret",
            path.display()
        )));
    }
    Ok(key)
}

/// Writes `text` to a new file with mode 0600 and flushes it to disk;
/// refuses to overwrite anything.
fn write_new(path: &Path, text: &str) -> Result<()> {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// Cheap Argon2id parameters: the tests check the format, not the cost.
    const CHEAP: KdfParams = KdfParams {
        m_cost: 64,
        t_cost: 1,
        p_cost: 1,
    };

    fn pass(p: &str) -> impl FnOnce() -> std::result::Result<Zeroizing<String>, NoPassphrase> {
        let p = p.to_owned();
        move || Ok(Zeroizing::new(p))
    }

    fn sealed(dir: &tempfile::TempDir, name: Option<&str>) -> (PathBuf, SigningKey) {
        let path = dir.path().join("k.json");
        let key = SigningKey::generate();
        create_encrypted_with(&path, name, &key, "correct horse", CHEAP).unwrap();
        (path, key)
    }

    /// Rewrites one JSON field of a key file (keeping mode 0600).
    fn edit(path: &Path, f: impl FnOnce(&mut serde_json::Value)) {
        let mut v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
        f(&mut v);
        fs::write(path, serde_json::to_string(&v).unwrap()).unwrap();
    }

    #[test]
    fn keyfile_encrypted_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (path, key) = sealed(&dir, Some("Alice"));
        let k = load_with(&path, pass("correct horse")).unwrap();
        assert_eq!(*k.key.seed(), *key.seed());
        assert_eq!(k.name.as_deref(), Some("Alice"));
        assert!(k.encrypted);
        let p = read_public(&path).unwrap();
        assert_eq!(p.public, key.public());
        assert!(p.encrypted);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Default parameters are recorded in the file.
        let path2 = dir.path().join("k2.json");
        create_encrypted(&path2, None, &key, "pw").unwrap();
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&path2).unwrap()).unwrap();
        assert_eq!(v["version"], 2);
        assert_eq!(v["kdf"]["alg"], "argon2id");
        assert_eq!(v["kdf"]["m_cost"], KdfParams::RECOMMENDED.m_cost);
        assert_eq!(v["cipher"]["alg"], "xchacha20poly1305");
        assert_eq!(
            *load_with(&path2, pass("pw")).unwrap().key.seed(),
            *key.seed()
        );
    }

    #[test]
    fn keyfile_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = sealed(&dir, None);
        let e = load_with(&path, pass("correct horsf")).unwrap_err();
        assert!(matches!(e, KeyFileError::WrongPassphrase(_)), "{e}");
        assert_eq!(
            e.to_string(),
            format!("wrong passphrase for key file {}", path.display())
        );
    }

    #[test]
    fn keyfile_encrypted_needs_a_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let (path, _) = sealed(&dir, None);
        assert!(matches!(load(&path), Err(KeyFileError::Encrypted(_))));
        let e = load_with(&path, || Err(NoPassphrase("set IT".into()))).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("key file {} is encrypted: set IT", path.display())
        );
    }

    #[test]
    fn keyfile_encrypted_has_no_secret_in_clear() {
        use base64::Engine as _;
        let dir = tempfile::tempdir().unwrap();
        let (path, key) = sealed(&dir, None);
        let bytes = fs::read(&path).unwrap();
        let seed = key.seed();
        let text = String::from_utf8(bytes.clone()).unwrap().to_lowercase();
        assert!(!text.contains(&hex::encode(*seed)));
        assert!(!bytes.windows(32).any(|w| w == seed.as_slice()));
        for engine in [
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::STANDARD_NO_PAD,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ] {
            let b64 = engine.encode(*seed);
            // The first 40 characters encode the first 30 bytes exactly.
            assert!(!String::from_utf8_lossy(&bytes).contains(&b64[..40]));
        }
    }

    #[test]
    fn keyfile_tampering_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let other = SigningKey::generate().public().to_hex();
        // Another public key.
        let (path, _) = sealed(&dir, Some("Alice"));
        edit(&path, |v| v["public"] = other.clone().into());
        let e = load_with(&path, pass("correct horse")).unwrap_err();
        assert!(matches!(e, KeyFileError::WrongPassphrase(_)), "{e}");
        fs::remove_file(&path).unwrap();
        // Another name.
        let (path, _) = sealed(&dir, Some("Alice"));
        edit(&path, |v| v["name"] = "Mallory".into());
        assert!(load_with(&path, pass("correct horse")).is_err());
        fs::remove_file(&path).unwrap();
        // One ciphertext bit flipped.
        let (path, _) = sealed(&dir, Some("Alice"));
        edit(&path, |v| {
            let mut c = hex::decode(v["cipher"]["ciphertext"].as_str().unwrap()).unwrap();
            c[0] ^= 1;
            v["cipher"]["ciphertext"] = hex::encode(c).into();
        });
        let e = load_with(&path, pass("correct horse")).unwrap_err();
        assert!(matches!(e, KeyFileError::WrongPassphrase(_)), "{e}");
        fs::remove_file(&path).unwrap();
        // A truncated ciphertext is damage, said as such.
        let (path, _) = sealed(&dir, None);
        edit(&path, |v| v["cipher"]["ciphertext"] = "00".into());
        let e = load_with(&path, pass("correct horse")).unwrap_err();
        assert!(e.to_string().contains("is damaged"), "{e}");
        fs::remove_file(&path).unwrap();
        // Absurd Argon2 costs are refused before any work.
        let (path, _) = sealed(&dir, None);
        edit(&path, |v| v["kdf"]["m_cost"] = u32::MAX.into());
        let e = load_with(&path, pass("correct horse")).unwrap_err();
        assert!(e.to_string().contains("exceed the limits"), "{e}");
    }

    #[test]
    fn keyfile_plain_still_loads_and_migrates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plain.json");
        let key = SigningKey::generate();
        create(&path, Some("Bob"), &key).unwrap();
        let k = load(&path).unwrap();
        assert!(!k.encrypted);
        assert_eq!(*k.key.seed(), *key.seed());
        // A plain file never asks for a passphrase.
        let k = load_with(&path, || panic!("asked for a passphrase")).unwrap();
        assert_eq!(k.name.as_deref(), Some("Bob"));

        encrypt(&path, "pw", CHEAP).unwrap();
        assert!(matches!(load(&path), Err(KeyFileError::Encrypted(_))));
        let k = load_with(&path, pass("pw")).unwrap();
        assert!(k.encrypted);
        assert_eq!(*k.key.seed(), *key.seed());
        assert_eq!(k.name.as_deref(), Some("Bob"));
        assert!(!fs::read_to_string(&path)
            .unwrap()
            .contains(&hex::encode(*key.seed())));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        // Only the key file is left in the directory.
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
        let e = encrypt(&path, "pw", CHEAP).unwrap_err();
        assert!(e.to_string().contains("already encrypted"), "{e}");
        assert!(matches!(
            encrypt(&dir.path().join("none.json"), "pw", CHEAP),
            Err(KeyFileError::Io { .. })
        ));
    }

    #[test]
    fn keyfile_empty_passphrase_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        let e = create_encrypted_with(&path, None, &SigningKey::generate(), "", CHEAP).unwrap_err();
        assert!(e.to_string().contains("empty passphrase"), "{e}");
        assert!(!path.exists());
    }
}
