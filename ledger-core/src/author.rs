//! Writing a chain: an author's signing key and where its chain stands.

use crate::event::Event;
use crate::hash::{Hash, NetworkId};
use crate::key::{PublicKey, SigningKey};
use crate::record::{Record, SignedRecord};

/// An author appending to its own chain: signs each new record with the
/// next seq and the previous record's hash.
#[derive(Debug)]
pub struct Author {
    key: SigningKey,
    network: NetworkId,
    next_seq: u64,
    prev: Option<Hash>,
}

impl Author {
    /// An author whose chain is empty.
    pub fn new(key: SigningKey, network: NetworkId) -> Self {
        Author {
            key,
            network,
            next_seq: 0,
            prev: None,
        }
    }

    /// An author whose chain ends at `head` (seq, hash).
    pub fn resume(key: SigningKey, network: NetworkId, head: Option<(u64, Hash)>) -> Self {
        let (next_seq, prev) = match head {
            Some((seq, h)) => (seq.saturating_add(1), Some(h)),
            None => (0, None),
        };
        Author {
            key,
            network,
            next_seq,
            prev,
        }
    }

    /// The author's public key.
    pub fn public(&self) -> PublicKey {
        self.key.public()
    }

    /// The signing key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// The seq the next record will have.
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Signs the next record of the chain and advances it.
    pub fn sign(&mut self, time: u64, deps: Vec<Hash>, event: Event) -> SignedRecord {
        let signed = self.draft(time, deps, event).sign(&self.key);
        self.prev = Some(signed.hash());
        self.next_seq = self.next_seq.saturating_add(1);
        signed
    }

    /// The next record, unsigned, without advancing the chain.
    pub fn draft(&self, time: u64, deps: Vec<Hash>, event: Event) -> Record {
        Record {
            version: Record::version_for(&event, false),
            network: self.network,
            author: self.key.public(),
            seq: self.next_seq,
            prev: self.prev,
            time,
            deps,
            event,
            extras: None,
        }
    }
}
