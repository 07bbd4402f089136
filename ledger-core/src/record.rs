//! Records: one link of a participant's hash chain, and its signature.

use bincode::de::{BorrowDecoder, Decoder};
use bincode::enc::Encoder;
use bincode::error::{DecodeError as BincodeDecodeError, EncodeError};
use bincode::{BorrowDecode, Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::encoding::{self, DecodeError, MAX_RECORD_BYTES};
use crate::event::Event;
use crate::hash::{Hash, NetworkId};
use crate::key::{self, BadSignature, PublicKey, Signature, SigningKey};

/// The record format version of a record without [`Extras`] (2 added the
/// `AssignPrefix` and `AuthorisePacker` events).
pub const RECORD_VERSION: u16 = 2;

/// The record format version of a record with [`Extras`]: its encoding
/// ends with them. Version 2 records end with the event, so their bytes,
/// and hashes, are unchanged.
pub const RECORD_VERSION_EXTRAS: u16 = 3;

/// The record format version of a record whose event is of a kind added
/// in version 4 (aggregate, associate, transact, correct). Its encoding
/// ends with the extras option, present or not, as version 3's does; older
/// kinds keep versions 2 and 3, so their bytes and hashes never change.
pub const RECORD_VERSION_EVENTS: u16 = 4;

/// The largest [`Extras::epcis`] text, in bytes.
pub const MAX_EXTRAS_BYTES: usize = 16 * 1024;

/// What a record keeps beside its event that the ledger does not
/// interpret: the fields of the EPCIS event it was captured from that the
/// event has no place for (the original `eventID`, `eventTimeZoneOffset`,
/// `readPoint`, source and destination lists, `ilmd`, further business
/// documents, extension fields), so an export gives them back. Signed
/// with the record; validation checks only their shape.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Extras {
    /// A JSON object of EPCIS 2.0 JSON-LD fields, at most
    /// [`MAX_EXTRAS_BYTES`].
    pub epcis: String,
}

/// Domain-separation tag prefixed to every signed message, so a record
/// signature can never be replayed as a signature over anything else.
pub const RECORD_SIGNING_TAG: &[u8; 16] = b"terroir/record/1";

/// One link of a participant's chain. Its hash (its identity) is SHA-256 of
/// its canonical encoding; the signature is not part of it.
///
/// The encoding is the fields in order; a [`RECORD_VERSION_EXTRAS`] record
/// appends `extras` (as an option), an older one has none to append.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version, fixed by the content ([`Record::version_for`]):
    /// [`RECORD_VERSION_EVENTS`] for an event of a kind version 4 added,
    /// else [`RECORD_VERSION_EXTRAS`] exactly when `extras` is present,
    /// else [`RECORD_VERSION`].
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
    /// What it keeps beside the event (versions 3 and 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extras: Option<Extras>,
}

impl Encode for Record {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        self.version.encode(e)?;
        self.network.encode(e)?;
        self.author.encode(e)?;
        self.seq.encode(e)?;
        self.prev.encode(e)?;
        self.time.encode(e)?;
        self.deps.encode(e)?;
        self.event.encode(e)?;
        if self.version >= RECORD_VERSION_EXTRAS {
            self.extras.encode(e)?;
        }
        Ok(())
    }
}

impl<Context> Decode<Context> for Record {
    fn decode<D: Decoder<Context = Context>>(d: &mut D) -> Result<Self, BincodeDecodeError> {
        let version = u16::decode(d)?;
        let network = Decode::decode(d)?;
        let author = Decode::decode(d)?;
        let seq = Decode::decode(d)?;
        let prev = Decode::decode(d)?;
        let time = Decode::decode(d)?;
        let deps = Decode::decode(d)?;
        let event = Decode::decode(d)?;
        let extras = if version >= RECORD_VERSION_EXTRAS {
            Decode::decode(d)?
        } else {
            None
        };
        Ok(Record {
            version,
            network,
            author,
            seq,
            prev,
            time,
            deps,
            event,
            extras,
        })
    }
}

impl<'de, Context> BorrowDecode<'de, Context> for Record {
    fn borrow_decode<D: BorrowDecoder<'de, Context = Context>>(
        d: &mut D,
    ) -> Result<Self, BincodeDecodeError> {
        Decode::decode(d)
    }
}

impl Record {
    /// The one format version a record with this event, keeping extras or
    /// not, is written in: the version is a function of the content, so
    /// one content never has two encodings.
    pub fn version_for(event: &Event, keeps_extras: bool) -> u16 {
        let since = event.kind().since_version();
        if since >= RECORD_VERSION_EVENTS {
            since
        } else if keeps_extras {
            RECORD_VERSION_EXTRAS
        } else {
            RECORD_VERSION
        }
    }

    /// The record keeping `extras` beside its event.
    pub fn with_extras(mut self, extras: Extras) -> Record {
        self.version = Record::version_for(&self.event, true);
        self.extras = Some(extras);
        self
    }

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
