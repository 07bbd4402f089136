//! Status overlays: facts that change how records are read without ever
//! changing the records. They are computed from the whole record set, so
//! they converge once nodes hold the same records, whatever the arrival
//! order.
//!
//! - **Revocation**: a regulator revokes a key naming the last seq that
//!   stays trusted; that key's later records are flagged, and so is every
//!   record that depends on them, transitively (`Tainted`, naming its
//!   smallest-hash flagged parent).
//! - **Equivocation**: an author signed two records at one seq. Both are
//!   kept as a fork proof; the author's records from that seq on are
//!   flagged, and so is every record depending on them.
//! - **Recall** and **failed inspection** attach to lots: the lot and every
//!   lot derived from it (see [`crate::query`]).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::Serialize;

use crate::error::StoreError;
use crate::event::{Event, EventKind};
use crate::graph::Graph;
use crate::hash::Hash;
use crate::key::PublicKey;

/// Why a record is flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum Flag {
    /// Signed by a revoked key after its last trusted seq.
    Revoked {
        /// The revoke record.
        revocation: Hash,
    },
    /// Its author equivocated at or before this record's seq.
    Equivocation {
        /// The seq of the fork.
        fork_seq: u64,
    },
    /// Depends, directly or transitively, on a flagged record.
    Tainted {
        /// The flagged record it depends on (the first found).
        source: Hash,
    },
}

impl Flag {
    /// The flag's kind, as the digest counts it.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Flag::Revoked { .. } => 1,
            Flag::Equivocation { .. } => 2,
            Flag::Tainted { .. } => 3,
        }
    }
}

/// Two different records signed by one author at one seq: evidence a
/// regulator can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ForkProof {
    /// The equivocating key.
    pub author: PublicKey,
    /// The seq signed twice (or more).
    pub seq: u64,
    /// The conflicting records, in hash order.
    pub records: Vec<Hash>,
}

/// Where a trace reads records' flags: a stored ledger keeps them as
/// records land; a bundle's [`Overlays`] are computed over its records.
pub trait FlagSource {
    /// The flags on one record.
    fn flags_of(&self, h: &Hash) -> Result<Vec<Flag>, StoreError>;
}

impl FlagSource for Overlays {
    fn flags_of(&self, h: &Hash) -> Result<Vec<Flag>, StoreError> {
        Ok(self.flags(h))
    }
}

/// Every overlay over a record set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Overlays {
    /// Fork proofs, by author then seq.
    pub forks: Vec<ForkProof>,
    /// Revoke records.
    pub revocations: Vec<Hash>,
    /// Recall records.
    pub recalls: Vec<Hash>,
    /// Inspect records whose verdict is fail.
    pub failed_inspections: Vec<Hash>,
    /// Flagged records and why (one flag per reason kind).
    pub flagged: BTreeMap<Hash, BTreeSet<Flag>>,
}

impl Overlays {
    /// Computes every overlay of `graph`.
    pub fn compute(graph: &impl Graph) -> Result<Self, StoreError> {
        let mut o = Overlays::default();
        let mut roots: Vec<Hash> = Vec::new();

        for (author, seq) in graph.forks()? {
            let chain = graph.chain(&author)?;
            let records = chain
                .iter()
                .filter(|(s, _)| *s == seq)
                .map(|(_, h)| *h)
                .collect();
            o.forks.push(ForkProof {
                author,
                seq,
                records,
            });
            for (_, h) in chain.iter().filter(|(s, _)| *s >= seq) {
                let flags = o.flagged.entry(*h).or_default();
                // Keep the earliest fork only: one flag per reason.
                if !flags.iter().any(|f| matches!(f, Flag::Equivocation { .. })) {
                    flags.insert(Flag::Equivocation { fork_seq: seq });
                }
                roots.push(*h);
            }
        }

        // In hash order: the smallest revocation covering a record names it.
        let mut revokes = graph.records_of_kind(EventKind::Revoke)?;
        revokes.sort();
        for h in revokes {
            let Some(r) = graph.record(&h)? else { continue };
            let Event::Revoke {
                key,
                last_trusted_seq,
                ..
            } = r.record.event
            else {
                continue;
            };
            o.revocations.push(h);
            for (seq, rh) in graph.chain(&key)? {
                if last_trusted_seq.is_none_or(|last| seq > last) {
                    let flags = o.flagged.entry(rh).or_default();
                    if !flags.iter().any(|f| matches!(f, Flag::Revoked { .. })) {
                        flags.insert(Flag::Revoked { revocation: h });
                    }
                    roots.push(rh);
                }
            }
        }

        for h in graph.records_of_kind(EventKind::Recall)? {
            o.recalls.push(h);
        }
        for h in graph.records_of_kind(EventKind::Inspect)? {
            if let Some(r) = graph.record(&h)? {
                if matches!(
                    r.record.event,
                    Event::Inspect {
                        verdict: crate::event::Verdict::Fail,
                        ..
                    }
                ) {
                    o.failed_inspections.push(h);
                }
            }
        }

        // Taint: everything that depends on a flagged record and is not
        // flagged itself; its source is its smallest flagged parent.
        roots.sort();
        roots.dedup();
        let mut queue: VecDeque<Hash> = roots.iter().copied().collect();
        let mut seen: BTreeSet<Hash> = roots.iter().copied().collect();
        let mut tainted = Vec::new();
        while let Some(h) = queue.pop_front() {
            for c in graph.children(&h)? {
                if seen.insert(c) {
                    tainted.push(c);
                    queue.push_back(c);
                }
            }
        }
        for t in tainted {
            let Some(r) = graph.record(&t)? else { continue };
            let source = r
                .record
                .prev
                .iter()
                .chain(&r.record.deps)
                .filter(|p| seen.contains(p))
                .min()
                .copied();
            if let Some(source) = source {
                o.flagged
                    .entry(t)
                    .or_default()
                    .insert(Flag::Tainted { source });
            }
        }
        o.revocations.sort();
        o.recalls.sort();
        o.failed_inspections.sort();
        Ok(o)
    }

    /// The flags on one record.
    pub fn flags(&self, h: &Hash) -> Vec<Flag> {
        self.flagged
            .get(h)
            .map(|f| f.iter().copied().collect())
            .unwrap_or_default()
    }
}
