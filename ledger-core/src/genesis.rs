//! The genesis document: the trust root of a network. Its hash is the
//! network id that every signature is bound to.

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::encoding::{self, DecodeError};
use crate::hash::{Hash, NetworkId};
use crate::key::{PublicKey, WeakKey};

/// Current genesis format version.
pub const GENESIS_VERSION: u16 = 1;

/// The largest genesis document accepted, in bytes.
pub const MAX_GENESIS_BYTES: usize = 64 * 1024;

/// A founding authority (a regulator) named in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Authority {
    /// Its key; enrolled as a regulator from the start.
    pub key: PublicKey,
    /// Display name.
    pub name: String,
}

/// The document that founds a network.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Genesis {
    /// Format version ([`GENESIS_VERSION`]).
    pub version: u16,
    /// Human name of the network (e.g. `淳安县 tea traceability`).
    pub network: String,
    /// Founding regulators.
    pub authorities: Vec<Authority>,
    /// How many authorities must sign a checkpoint for it to be final.
    pub checkpoint_threshold: u16,
    /// Creation time, ms since epoch.
    pub created: u64,
}

/// A genesis document that cannot found a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    /// Bytes did not decode.
    #[error("genesis: {0}")]
    Decode(#[from] DecodeError),
    /// Unknown version.
    #[error("genesis has version {0}, this build understands {GENESIS_VERSION}")]
    Version(u16),
    /// No authorities.
    #[error("genesis names no authority")]
    NoAuthority,
    /// An authority key is weak.
    #[error("genesis authority {key} has a weak key: {reason}")]
    WeakKey {
        /// The key.
        key: PublicKey,
        /// What is wrong with it.
        reason: WeakKey,
    },
    /// An authority listed twice.
    #[error("genesis lists authority {0} twice")]
    Duplicate(PublicKey),
    /// Threshold out of range.
    #[error("checkpoint threshold {threshold} is not between 1 and {authorities}")]
    Threshold {
        /// The threshold.
        threshold: u16,
        /// Number of authorities.
        authorities: usize,
    },
    /// Empty network name.
    #[error("genesis network name is empty")]
    EmptyName,
}

impl Genesis {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// The network id: SHA-256 of the canonical bytes.
    pub fn id(&self) -> NetworkId {
        Hash::of(&self.encode())
    }

    /// Decodes and checks a genesis document.
    pub fn decode(bytes: &[u8]) -> Result<Self, GenesisError> {
        let g: Genesis = encoding::decode(bytes, MAX_GENESIS_BYTES, "genesis")?;
        g.check()?;
        Ok(g)
    }

    /// Checks that this document can found a network.
    pub fn check(&self) -> Result<(), GenesisError> {
        if self.version != GENESIS_VERSION {
            return Err(GenesisError::Version(self.version));
        }
        if self.network.trim().is_empty() {
            return Err(GenesisError::EmptyName);
        }
        if self.authorities.is_empty() {
            return Err(GenesisError::NoAuthority);
        }
        let mut seen = BTreeSet::new();
        for a in &self.authorities {
            a.key
                .check_strong()
                .map_err(|reason| GenesisError::WeakKey { key: a.key, reason })?;
            if !seen.insert(a.key) {
                return Err(GenesisError::Duplicate(a.key));
            }
        }
        let t = self.checkpoint_threshold;
        if t == 0 || usize::from(t) > self.authorities.len() {
            return Err(GenesisError::Threshold {
                threshold: t,
                authorities: self.authorities.len(),
            });
        }
        Ok(())
    }

    /// The founding authority with this key, if any.
    pub fn authority(&self, key: &PublicKey) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.key == *key)
    }
}
