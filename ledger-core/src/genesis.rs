//! The genesis document: the trust root of a network. Its hash is the
//! network id that every signature is bound to.

use std::collections::BTreeSet;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::encoding::{self, DecodeError};
use crate::hash::{Hash, NetworkId};
use crate::key::{PublicKey, WeakKey};

/// Current genesis format version (2 added [`NetworkProfile`]).
pub const GENESIS_VERSION: u16 = 2;

/// Longest profile text (language tag, contact), in bytes of UTF-8.
pub const MAX_PROFILE_TEXT_BYTES: usize = 256;

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
    /// How the network presents itself to people (time zone, language,
    /// who consumers call).
    pub profile: NetworkProfile,
}

/// How a network presents itself to the people who read its pages and
/// messages. Part of the signed genesis, so every node shows the same.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NetworkProfile {
    /// IANA time zone that local dates and times are shown in
    /// (e.g. `Asia/Shanghai`); UTC when absent.
    pub time_zone: Option<String>,
    /// Primary language of the network's people, a BCP 47 tag
    /// (e.g. `zh`, `zh-CN`, `en`); pages default to it.
    pub language: Option<String>,
    /// Whom a consumer calls about a recall or a suspect product: the
    /// regulator's name and telephone or web address.
    pub contact: Option<String>,
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
    /// The time zone is not an IANA time zone name.
    #[error("genesis time zone {0:?} is not an IANA time zone name such as Asia/Shanghai")]
    TimeZone(String),
    /// The language is not a BCP 47 tag.
    #[error("genesis language {0:?} is not a language tag such as zh, zh-CN or en")]
    Language(String),
    /// The contact is empty, too long or holds control characters.
    #[error("genesis contact must be 1 to {MAX_PROFILE_TEXT_BYTES} bytes of text on one line")]
    Contact,
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
        self.profile.check()
    }

    /// The time zone local times are shown in (UTC when genesis names none).
    pub fn time_zone(&self) -> chrono_tz::Tz {
        self.profile
            .time_zone
            .as_deref()
            .and_then(|z| z.parse().ok())
            .unwrap_or(chrono_tz::Tz::UTC)
    }

    /// The founding authority with this key, if any.
    pub fn authority(&self, key: &PublicKey) -> Option<&Authority> {
        self.authorities.iter().find(|a| a.key == *key)
    }
}

impl NetworkProfile {
    /// Checks the time zone, language tag and contact.
    pub fn check(&self) -> Result<(), GenesisError> {
        if let Some(z) = &self.time_zone {
            if z.parse::<chrono_tz::Tz>().is_err() {
                return Err(GenesisError::TimeZone(z.clone()));
            }
        }
        if let Some(l) = &self.language {
            if !is_language_tag(l) {
                return Err(GenesisError::Language(l.clone()));
            }
        }
        if let Some(c) = &self.contact {
            if c.trim().is_empty()
                || c.len() > MAX_PROFILE_TEXT_BYTES
                || c.chars().any(char::is_control)
            {
                return Err(GenesisError::Contact);
            }
        }
        Ok(())
    }
}

/// A BCP 47 tag of the common shape: a 2–3 letter language subtag, then
/// up to three alphanumeric subtags of 2–8 characters (`zh`, `zh-Hans-CN`).
fn is_language_tag(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_lowercase()));
    let rest: Vec<&str> = parts.collect();
    primary_ok
        && rest.len() <= 3
        && rest
            .iter()
            .all(|p| (2..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in ["zh", "zh-CN", "zh-Hans-CN", "en", "yue"] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in ["", "z", "ZH", "zh_CN", "zh-", "chinese", "zh-CN-x-y-z"] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn profile_rules_name_the_field() {
        let p = |z: Option<&str>, l: Option<&str>, c: Option<&str>| NetworkProfile {
            time_zone: z.map(Into::into),
            language: l.map(Into::into),
            contact: c.map(Into::into),
        };
        assert_eq!(
            p(Some("Asia/Shanghai"), Some("zh"), Some("12316")).check(),
            Ok(())
        );
        assert_eq!(p(None, None, None).check(), Ok(()));
        assert_eq!(
            p(Some("China/Beijing"), None, None).check(),
            Err(GenesisError::TimeZone("China/Beijing".into()))
        );
        assert_eq!(
            p(None, Some("chinese"), None).check(),
            Err(GenesisError::Language("chinese".into()))
        );
        assert_eq!(p(None, None, Some(" ")).check(), Err(GenesisError::Contact));
        assert_eq!(
            p(None, None, Some("a\nb")).check(),
            Err(GenesisError::Contact)
        );
    }
}
