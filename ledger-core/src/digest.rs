//! The state digest, maintained as records land.
//!
//! Two nodes holding the same records must have the same digest, whatever
//! order the records arrived in, and a node must be able to tell it at
//! once however large its ledger. So the digest is built from sums: each
//! stored record and each overlay fact (a fork, a revocation, a recall, a
//! failed inspection, a flag on a record) contributes SHA-256 of its
//! canonical bytes, read as a 256-bit integer, to a running sum modulo
//! 2²⁵⁶; a fact that stops holding (a record's flag that changes) takes
//! its contribution back out. The digest is SHA-256 over a domain tag,
//! the record count and the two sums.
//!
//! Sums of hashes detect divergence between honest nodes; they are not a
//! commitment an adversary cannot collide (generalised-birthday attacks
//! find colliding multisets far faster than SHA-256 collisions). What a
//! third party verifies is a checkpoint's Merkle root, not this digest.

use sha2::{Digest, Sha256};

use crate::hash::Hash;
use crate::key::PublicKey;
use crate::overlay::Flag;

/// Domain tag of the state digest.
const DIGEST_TAG: &[u8] = b"terroir/state/2";

/// A 256-bit sum, little-endian 64-bit limbs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sum([u64; 4]);

impl Sum {
    fn limbs(h: &[u8; 32]) -> [u64; 4] {
        let mut out = [0u64; 4];
        for (limb, chunk) in out.iter_mut().zip(h.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *limb = u64::from_le_bytes(b);
        }
        out
    }

    /// Adds `h` (as an integer), modulo 2²⁵⁶.
    pub(crate) fn add(&mut self, h: &[u8; 32]) {
        let mut carry = false;
        for (a, b) in self.0.iter_mut().zip(Self::limbs(h)) {
            let (s, c1) = a.overflowing_add(b);
            let (s, c2) = s.overflowing_add(u64::from(carry));
            *a = s;
            carry = c1 || c2;
        }
    }

    /// Subtracts `h` (as an integer), modulo 2²⁵⁶.
    pub(crate) fn sub(&mut self, h: &[u8; 32]) {
        let mut borrow = false;
        for (a, b) in self.0.iter_mut().zip(Self::limbs(h)) {
            let (d, b1) = a.overflowing_sub(b);
            let (d, b2) = d.overflowing_sub(u64::from(borrow));
            *a = d;
            borrow = b1 || b2;
        }
    }

    pub(crate) fn to_bytes(self) -> [u8; 32] {
        let mut out = [0u8; 32];
        for (chunk, limb) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&limb.to_le_bytes());
        }
        out
    }

    pub(crate) fn from_bytes(b: &[u8; 32]) -> Self {
        Sum(Self::limbs(b))
    }
}

/// The running sums of a ledger.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Sums {
    /// Over the stored records.
    pub(crate) records: Sum,
    /// Over the overlay facts that hold.
    pub(crate) overlays: Sum,
}

impl Sums {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut v = self.records.to_bytes().to_vec();
        v.extend_from_slice(&self.overlays.to_bytes());
        v
    }

    pub(crate) fn decode(v: &[u8]) -> Option<Self> {
        let records: [u8; 32] = v.get(..32)?.try_into().ok()?;
        let overlays: [u8; 32] = v.get(32..64)?.try_into().ok()?;
        (v.len() == 64).then(|| Sums {
            records: Sum::from_bytes(&records),
            overlays: Sum::from_bytes(&overlays),
        })
    }

    /// The digest of a ledger of `count` records with these sums.
    pub(crate) fn digest(&self, count: u64) -> Hash {
        let mut h = Sha256::new();
        h.update(DIGEST_TAG);
        h.update(count.to_le_bytes());
        h.update(self.records.to_bytes());
        h.update(self.overlays.to_bytes());
        Hash(h.finalize().into())
    }
}

/// An overlay fact, as the digest counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fact<'a> {
    /// A stored record.
    Record(&'a Hash),
    /// A record at a seq its author signed more than once.
    Fork(&'a PublicKey, u64, &'a Hash),
    /// A revoke record.
    Revocation(&'a Hash),
    /// A recall record.
    Recall(&'a Hash),
    /// An inspection that failed.
    FailedInspection(&'a Hash),
    /// A flag on a record (its kind only: which revocation, fork or
    /// flagged parent explains it is shown, not counted).
    Flag(&'a Hash, &'a Flag),
}

impl Fact<'_> {
    /// SHA-256 of the fact's canonical bytes.
    pub(crate) fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        match self {
            Fact::Record(r) => {
                h.update(b"H");
                h.update(r.0);
            }
            Fact::Fork(author, seq, r) => {
                h.update(b"F");
                h.update(author.0);
                h.update(seq.to_le_bytes());
                h.update(r.0);
            }
            Fact::Revocation(r) => {
                h.update(b"V");
                h.update(r.0);
            }
            Fact::Recall(r) => {
                h.update(b"R");
                h.update(r.0);
            }
            Fact::FailedInspection(r) => {
                h.update(b"I");
                h.update(r.0);
            }
            Fact::Flag(r, f) => {
                h.update(b"X");
                h.update(r.0);
                h.update([f.code()]);
            }
        }
        h.finalize().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_do_not_depend_on_order_and_subtraction_undoes_addition() {
        let hs: Vec<[u8; 32]> = (0u8..50).map(|i| Hash::of(&[i]).0).collect();
        let mut a = Sum::default();
        let mut b = Sum::default();
        for h in &hs {
            a.add(h);
        }
        for h in hs.iter().rev() {
            b.add(h);
        }
        assert_eq!(a, b);
        let before = a;
        a.add(&[0xff; 32]);
        a.sub(&[0xff; 32]);
        assert_eq!(a, before);
        let mut z = Sum::default();
        z.sub(&[1; 32]);
        z.add(&[1; 32]);
        assert_eq!(z, Sum::default());
        let s = Sums {
            records: a,
            overlays: z,
        };
        assert_eq!(Sums::decode(&s.encode()), Some(s));
        assert_eq!(Sums::decode(&[0; 63]), None);
    }
}
