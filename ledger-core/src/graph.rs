//! Read access to a set of records as a DAG, shared by the stored ledger
//! and by trace bundles, so queries and overlays are written once.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Role};
use crate::genesis::Genesis;
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;

/// Who a key signs for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyInfo {
    /// The participant identity (its first key).
    pub identity: PublicKey,
    /// Its role.
    pub role: Role,
    /// Its display name.
    pub name: String,
}

/// Whether a ledger indexes records of `kind`, so that
/// [`Graph::records_of_kind`] lists them without a scan: enrollments,
/// revocations, key rotations, inspections, certifications, recalls,
/// prefix assignments, packer authorisations, error declarations, input
/// uses and compliance certificates.
pub fn kind_indexed(kind: EventKind) -> bool {
    crate::tables::indexed_kind(kind)
}

/// A set of records, navigable the ways queries need.
pub trait Graph {
    /// A record by hash.
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError>;
    /// Hashes of every record that creates or names `lot`.
    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError>;
    /// Who a key signs for, if it is known.
    fn key_info(&self, key: &PublicKey) -> Result<Option<KeyInfo>, StoreError>;
    /// Every record of an author's chain as (seq, hash), forks included.
    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError>;
    /// Records whose prev or deps include `hash`.
    fn children(&self, hash: &Hash) -> Result<Vec<Hash>, StoreError>;
    /// Records of one kind; a store-backed ledger lists only the kinds
    /// [`kind_indexed`] names (an in-memory graph lists every kind).
    fn records_of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError>;
    /// The input uses one key signed, in seq order (a stored ledger keeps
    /// an index; the default reads every input use).
    fn input_uses(&self, author: &PublicKey) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::new();
        for h in self.records_of_kind(EventKind::InputUse)? {
            if let Some(r) = self.record(&h)? {
                if r.record.author == *author {
                    out.push((r.record.seq, h));
                }
            }
        }
        out.sort();
        Ok(out.into_iter().map(|(_, h)| h).collect())
    }
    /// The unified social credit code a regulator last recorded for
    /// `participant` (an identity key), if any (a stored ledger keeps an
    /// index by participant; the default reads every such record).
    fn credit_code(&self, participant: &PublicKey) -> Result<Option<String>, StoreError> {
        let mut latest: Option<(u64, Hash, String)> = None;
        for h in self.records_of_kind(EventKind::Identify)? {
            let Some(r) = self.record(&h)? else { continue };
            if let Event::Identify {
                participant: p,
                uscc,
            } = r.record.event
            {
                if p == *participant
                    && latest
                        .as_ref()
                        .is_none_or(|(t, x, _)| (r.record.time, h) > (*t, *x))
                {
                    latest = Some((r.record.time, h, uscc));
                }
            }
        }
        Ok(latest.map(|(_, _, c)| c))
    }
    /// Seqs at which an author signed two different records.
    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError>;
}

/// An in-memory graph over a list of records (a bundle's, or a test's).
#[derive(Debug, Default)]
pub struct MemGraph {
    records: BTreeMap<Hash, SignedRecord>,
    lots: BTreeMap<LotId, Vec<Hash>>,
    keys: BTreeMap<PublicKey, KeyInfo>,
    chains: BTreeMap<PublicKey, Vec<(u64, Hash)>>,
    children: BTreeMap<Hash, Vec<Hash>>,
    kinds: BTreeMap<EventKind, Vec<Hash>>,
}

impl MemGraph {
    /// Indexes `records` under `genesis`. Key identities follow genesis,
    /// enrollments and rotations present among the records.
    pub fn new(genesis: &Genesis, records: impl IntoIterator<Item = SignedRecord>) -> Self {
        Self::from_hashed(genesis, records.into_iter().map(|r| (r.hash(), r)))
    }

    /// [`Self::new`] for records whose hashes the caller has computed
    /// already (a bundle check hashes each record once). Each hash must be
    /// its record's.
    pub fn from_hashed(
        genesis: &Genesis,
        records: impl IntoIterator<Item = (Hash, SignedRecord)>,
    ) -> Self {
        let mut g = MemGraph::default();
        for a in &genesis.authorities {
            g.keys.insert(
                a.key,
                KeyInfo {
                    identity: a.key,
                    role: Role::Regulator,
                    name: a.name.clone(),
                },
            );
        }
        g.records.extend(records);
        // Enrollments first, then rotations in time order, so a rotated key
        // inherits its predecessor's identity.
        let mut rotations = Vec::new();
        for r in g.records.values() {
            match &r.record.event {
                Event::Enroll {
                    participant,
                    name,
                    role,
                    ..
                } => {
                    g.keys.entry(*participant).or_insert(KeyInfo {
                        identity: *participant,
                        role: *role,
                        name: name.clone(),
                    });
                }
                Event::RotateKey { new_key } => {
                    rotations.push((r.record.time, r.record.author, *new_key))
                }
                _ => {}
            }
        }
        rotations.sort();
        for (_, old, new) in rotations {
            if let Some(info) = g.keys.get(&old).cloned() {
                g.keys.entry(new).or_insert(info);
            }
        }
        let MemGraph {
            records,
            lots,
            keys,
            chains,
            children,
            kinds,
        } = &mut g;
        for (&h, r) in records.iter() {
            let rec = &r.record;
            chains.entry(rec.author).or_default().push((rec.seq, h));
            for p in rec.prev.iter().chain(&rec.deps) {
                children.entry(*p).or_default().push(h);
            }
            kinds.entry(rec.event.kind()).or_default().push(h);
            for lot in rec.event.referenced_lots() {
                lots.entry(lot.clone()).or_default().push(h);
            }
            let identity = keys.get(&rec.author).map_or(rec.author, |k| k.identity);
            for (code, _, _) in rec.event.created_lots() {
                lots.entry(LotId {
                    source: identity,
                    code: code.to_owned(),
                })
                .or_default()
                .push(h);
            }
        }
        for c in chains.values_mut() {
            c.sort();
        }
        g
    }

    /// The record with this hash, borrowed.
    pub fn get(&self, hash: &Hash) -> Option<&SignedRecord> {
        self.records.get(hash)
    }

    /// Every record, by hash.
    pub fn records(&self) -> impl Iterator<Item = (&Hash, &SignedRecord)> {
        self.records.iter()
    }

    /// Lots whose code is `code`.
    pub fn lots_with_code(&self, code: &str) -> Vec<LotId> {
        self.lots
            .keys()
            .filter(|l| l.code == code)
            .cloned()
            .collect()
    }
}

impl Graph for MemGraph {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        Ok(self.records.get(hash).cloned())
    }

    fn lot_records(&self, lot: &LotId) -> Result<Vec<Hash>, StoreError> {
        Ok(self.lots.get(lot).cloned().unwrap_or_default())
    }

    fn key_info(&self, key: &PublicKey) -> Result<Option<KeyInfo>, StoreError> {
        Ok(self.keys.get(key).cloned())
    }

    fn chain(&self, author: &PublicKey) -> Result<Vec<(u64, Hash)>, StoreError> {
        Ok(self.chains.get(author).cloned().unwrap_or_default())
    }

    fn children(&self, hash: &Hash) -> Result<Vec<Hash>, StoreError> {
        Ok(self.children.get(hash).cloned().unwrap_or_default())
    }

    fn records_of_kind(&self, kind: EventKind) -> Result<Vec<Hash>, StoreError> {
        Ok(self.kinds.get(&kind).cloned().unwrap_or_default())
    }

    fn forks(&self) -> Result<Vec<(PublicKey, u64)>, StoreError> {
        let mut out = BTreeSet::new();
        for (author, chain) in &self.chains {
            for w in chain.windows(2) {
                if w[0].0 == w[1].0 {
                    out.insert((*author, w[0].0));
                }
            }
        }
        Ok(out.into_iter().collect())
    }
}
