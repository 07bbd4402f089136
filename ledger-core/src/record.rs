//! Records: one link of a participant's hash chain, and its signature.

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::encoding::{self, DecodeError, MAX_RECORD_BYTES};
use crate::event::Event;
use crate::hash::{Hash, NetworkId};
use crate::key::{self, BadSignature, PublicKey, Signature, SigningKey};

/// Current record format version (2 added the `AssignPrefix` and
/// `AuthorisePacker` events).
pub const RECORD_VERSION: u16 = 2;

/// Domain-separation tag prefixed to every signed message, so a record
/// signature can never be replayed as a signature over anything else.
pub const RECORD_SIGNING_TAG: &[u8; 16] = b"terroir/record/1";

/// One link of a participant's chain. Its hash (its identity) is SHA-256 of
/// its canonical encoding; the signature is not part of it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Record {
    /// Format version ([`RECORD_VERSION`]).
    pub version: u16,
    /// The network this record belongs to (its genesis hash).
    pub network: NetworkId,
    /// The signing key; names the chain.
    pub author: PublicKey,
    /// Position in the author's chain, from 0.
    pub seq: u64,
    /// Hash of the author's record at `seq - 1`; `None` exactly when `seq == 0`.
    pub prev: Option<Hash>,
    /// Event time, ms since the Unix epoch (UTC).
    pub time: u64,
    /// Other records this one relies on (the shipment it receives, the lot
    /// it inspects, the enrollment of its author …).
    pub deps: Vec<Hash>,
    /// What happened.
    pub event: Event,
}

impl Record {
    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// The record's identity: SHA-256 of its canonical bytes.
    pub fn hash(&self) -> Hash {
        Hash::of(&self.encode())
    }

    /// The exact bytes an author signs: tag ‖ network id ‖ canonical bytes.
    pub fn signing_message(&self) -> Vec<u8> {
        signing_message(&self.network, &self.encode())
    }

    /// [`Self::hash`] and [`Self::signing_message`] from one encoding, for
    /// the paths that need both for every record (ingest, bundle checks).
    pub fn hash_and_signing_message(&self) -> (Hash, Vec<u8>) {
        let bytes = self.encode();
        (Hash::of(&bytes), signing_message(&self.network, &bytes))
    }

    /// Signs the record.
    pub fn sign(self, key: &SigningKey) -> SignedRecord {
        let signature = key.sign(&self.signing_message());
        SignedRecord {
            record: self,
            signature,
        }
    }
}

fn signing_message(network: &NetworkId, record_bytes: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(RECORD_SIGNING_TAG.len() + 32 + record_bytes.len());
    msg.extend_from_slice(RECORD_SIGNING_TAG);
    msg.extend_from_slice(&network.0);
    msg.extend_from_slice(record_bytes);
    msg
}

/// A record with its author's signature: what nodes exchange and store.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct SignedRecord {
    /// The signed content.
    pub record: Record,
    /// ed25519 signature over [`Record::signing_message`].
    pub signature: Signature,
}

impl SignedRecord {
    /// Canonical bytes: the record's bytes followed by the 64 signature bytes.
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }

    /// Decodes a signed record, refusing anything over [`MAX_RECORD_BYTES`],
    /// trailing bytes and non-canonical encodings.
    pub fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        encoding::decode(bytes, MAX_RECORD_BYTES, "signed record")
    }

    /// The record's hash.
    pub fn hash(&self) -> Hash {
        self.record.hash()
    }

    /// Checks the signature under the author's key (ZIP-215 rule).
    pub fn verify_signature(&self) -> Result<(), BadSignature> {
        key::verify(
            &self.record.author,
            &self.record.signing_message(),
            &self.signature,
        )
    }
}
