//! What the commands read from a ledger, and how they submit a signed
//! record, behind one small trait with two implementations: the local sled
//! ledger ([`LocalLedger`]) and a remote `terroird` node
//! ([`crate::remote::Node`]). Signing always happens here, in the CLI: a
//! node never sees a private key.

use anyhow::{anyhow, Result};
use ledger_core::graph::Graph;
use ledger_core::ledger::PendingReason;
use ledger_core::product::GtinRight;
use ledger_core::query::{self, Trace};
use ledger_core::reach::{self, Reach};
use ledger_core::reader::{Participant, Reader};
use ledger_core::{
    bundle, Genesis, Hash, Ledger, LotId, NetworkId, Outcome, PublicKey, Quantity, Role,
    SignedRecord,
};

use crate::ledger_dir::LocalLedger;

/// Who a key signs for and where its chain stands.
#[derive(Debug, Clone)]
pub(crate) struct KeyView {
    /// The participant identity (its first key).
    pub(crate) identity: PublicKey,
    pub(crate) role: Role,
    pub(crate) name: String,
    /// The chain's last record (seq, hash), if the key has signed before.
    pub(crate) head: Option<(u64, Hash)>,
    /// Seq of the rotate-key record that retired this key.
    pub(crate) retired_at: Option<u64>,
    /// The enroll or rotate-key record that introduced the key (what its
    /// first record must depend on); `None` for genesis authorities.
    pub(crate) introduced_by: Option<Hash>,
    /// The revocation reason, if the key was revoked.
    pub(crate) revoked: Option<String>,
    /// The records that let its participant put GTINs on lots.
    pub(crate) gtin_rights: Vec<GtinRight>,
}

/// What became of a submitted record.
#[derive(Debug)]
pub(crate) enum Submitted {
    /// Stored (or already stored: `duplicate`).
    Stored { duplicate: bool },
    /// Refused by the rules (the local ledger's typed error).
    Rejected(ledger_core::ValidationError),
    /// Refused, with the reason in words (a node's answer).
    Refused(String),
    /// Not stored: waiting, or no room; the reason in words.
    NotStored(String),
}

/// The reads the commands need, and submission.
pub(crate) trait Backend {
    /// The network id.
    fn network(&self) -> NetworkId;
    /// Where the records live, for messages ("this ledger", "node URL").
    fn place(&self) -> String;
    /// Who `key` signs for; `None` when it is not enrolled.
    fn key(&self, key: &PublicKey) -> Result<Option<KeyView>>;
    /// Every participant (genesis authorities and enrollments).
    fn participants(&self) -> Result<Vec<Participant>>;
    /// Every lot with this code, whoever created it.
    fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>>;
    /// A record by hash.
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>>;
    /// The hashes of the stored records whose hex starts with `prefix`
    /// (lower-case hex, shorter than 64), at most `limit` of them.
    fn records_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Hash>>;
    /// The codes of every lot created so far, for "did you mean"; empty
    /// where reading them all would be costly (a node).
    fn lot_codes(&self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    /// The record that created `lot`.
    fn creation(&self, lot: &LotId) -> Result<Hash>;
    /// The lot's trace, `None` when no record creates it.
    fn trace(&self, lot: &LotId) -> Result<Option<Trace>>;
    /// The lot's encoded trace bundle, `None` when no record names it.
    fn bundle(&self, lot: &LotId) -> Result<Option<Vec<u8>>>;
    /// The network's genesis, as the records of `lot` are read under it
    /// (for the verdict: the regulator's contact).
    fn genesis(&self, lot: &LotId) -> Result<Genesis>;
    /// What the participant `who` (an identity key) holds, by lot, zero
    /// balances left out.
    fn holdings(&self, who: &PublicKey) -> Result<Vec<(LotId, Quantity)>>;
    /// What a recall of `lot` must reach: the lot and every lot made from
    /// it, with who holds each and what is in transit.
    fn reach(&self, lot: &LotId) -> Result<Reach>;
    /// Submits one signed record; `now` is the clock (ms).
    fn submit(&mut self, record: &SignedRecord, now: u64) -> Result<Submitted>;
    /// Takes in records others signed (a delivery note's lineage), as
    /// replication does; returns how many were new here.
    fn load(&mut self, records: Vec<SignedRecord>) -> Result<usize>;
    /// How many records wait to be handed to the network (a replica's
    /// outbox); `None` where records go to the network at once.
    fn queued(&self) -> Option<usize> {
        None
    }
}

impl Backend for LocalLedger {
    fn network(&self) -> NetworkId {
        Reader::network(self)
    }

    fn place(&self) -> String {
        "this ledger".to_owned()
    }

    fn key(&self, pk: &PublicKey) -> Result<Option<KeyView>> {
        let Some(s) = self.signer(pk)? else {
            return Ok(None);
        };
        Ok(Some(KeyView {
            gtin_rights: self.gtin_rights(&s.identity)?,
            identity: s.identity,
            role: s.role,
            name: s.name,
            head: s.head,
            retired_at: s.retired_at,
            introduced_by: s.introduced_by,
            revoked: s.revoked,
        }))
    }

    fn participants(&self) -> Result<Vec<Participant>> {
        Ok(Reader::participants(self)?)
    }

    fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>> {
        Ok(Reader::lots_with_code(self, code)?)
    }

    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>> {
        Ok(Graph::record(self, hash)?)
    }

    fn records_with_prefix(&self, prefix: &str, limit: usize) -> Result<Vec<Hash>> {
        let mut hits = Vec::new();
        for (author, _, _) in self.heads()? {
            for (_, h) in Graph::chain(self, &author)? {
                if h.to_hex().starts_with(prefix) && !hits.contains(&h) {
                    hits.push(h);
                    if hits.len() >= limit {
                        return Ok(hits);
                    }
                }
            }
        }
        Ok(hits)
    }

    fn lot_codes(&self) -> Result<Vec<String>> {
        let mut codes = Vec::new();
        // Transforms are not indexed by kind: walk every chain (this runs
        // only on the way to an error message).
        for (author, _, _) in self.heads()? {
            for (_, h) in Graph::chain(self, &author)? {
                if let Some(r) = Graph::record(self, &h)? {
                    for (code, _, _) in r.record.event.created_lots() {
                        if !codes.iter().any(|c| c == code) {
                            codes.push(code.to_owned());
                        }
                    }
                }
            }
        }
        Ok(codes)
    }

    fn creation(&self, lot: &LotId) -> Result<Hash> {
        query::creation(self, lot)?
            .ok_or_else(|| anyhow!("the ledger has no record creating lot {lot}"))
    }

    fn trace(&self, lot: &LotId) -> Result<Option<Trace>> {
        Ok(query::trace(self, self, lot)?)
    }

    fn bundle(&self, lot: &LotId) -> Result<Option<Vec<u8>>> {
        Ok(bundle::export(self, lot)?.map(|b| b.encode()))
    }

    fn genesis(&self, _lot: &LotId) -> Result<Genesis> {
        Ok(Reader::genesis(self).clone())
    }

    fn holdings(&self, who: &PublicKey) -> Result<Vec<(LotId, Quantity)>> {
        Ok(Reader::holdings(self, who)?
            .into_iter()
            .filter(|(_, q)| q.amount > 0)
            .collect())
    }

    fn reach(&self, lot: &LotId) -> Result<Reach> {
        Ok(reach::recall_reach(self, lot)?)
    }

    fn load(&mut self, records: Vec<SignedRecord>) -> Result<usize> {
        let before = Reader::len(self);
        Ledger::ingest(self, records, crate::parse::now_ms())?;
        Ok(usize::try_from(Reader::len(self).saturating_sub(before)).unwrap_or(usize::MAX))
    }

    fn submit(&mut self, record: &SignedRecord, now: u64) -> Result<Submitted> {
        let hash = record.hash();
        let report = Ledger::submit(self, vec![record.clone()], now)?;
        let outcome = report
            .outcomes
            .into_iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, o)| o)
            .ok_or_else(|| anyhow!("the ledger gave no verdict on the record"))?;
        Ok(match outcome {
            Outcome::Accepted => Submitted::Stored { duplicate: false },
            Outcome::Duplicate => Submitted::Stored { duplicate: true },
            Outcome::Rejected { error } => Submitted::Rejected(error),
            Outcome::Pending(PendingReason::Missing { hashes }) => Submitted::NotStored(format!(
                "the record depends on {} record(s) this ledger does not hold (first: {})",
                hashes.len(),
                hashes.first().map(Hash::short).unwrap_or_default()
            )),
            Outcome::Pending(PendingReason::Future { .. }) => Submitted::NotStored(
                "the record is dated in the future and waits for the clock".to_owned(),
            ),
            Outcome::PoolFull { capacity } => Submitted::NotStored(format!(
                "the ledger's pending pool is full ({capacity} records)"
            )),
            Outcome::StrangerPoolFull { capacity, .. } => Submitted::NotStored(format!(
                "the author is not enrolled in this ledger, and the pending pool's room for such \
                 records is full ({capacity} records)"
            )),
            Outcome::StrangerSourceFull { per_source, .. } => Submitted::NotStored(format!(
                "the author is not enrolled in this ledger, and the records of that kind from \
                 where this one came already fill their share of the pending pool ({per_source} \
                 records)"
            )),
            Outcome::TooFarAhead {
                time,
                now,
                max_ahead_ms,
            } => Submitted::NotStored(format!(
                "the record is dated {}, more than {} ahead of the ledger's clock ({}); check \
                 the clock",
                crate::parse::show_time(time),
                span(max_ahead_ms),
                crate::parse::show_time(now)
            )),
            Outcome::Expired { .. } => {
                Submitted::NotStored("the record waited too long in the pending pool".to_owned())
            }
        })
    }
}

/// Finds the record a hash or hash prefix names: a full hash as is; a
/// prefix of 8 or more hex characters when exactly one stored record
/// starts with it.
pub(crate) fn resolve_hash(ledger: &dyn Backend, given: &crate::parse::HashPrefix) -> Result<Hash> {
    if let Some(full) = given.full() {
        return Ok(full);
    }
    let prefix = given.as_str();
    let hits = ledger.records_with_prefix(prefix, 4)?;
    match hits.as_slice() {
        [one] => Ok(*one),
        [] => Err(anyhow!("no record starting {prefix} in {}", ledger.place())),
        many => {
            let shown: Vec<String> = many.iter().take(3).map(Hash::to_hex).collect();
            let more = if many.len() > 3 { ", …" } else { "" };
            Err(anyhow!(
                "hash prefix {prefix} is ambiguous: it starts {}{more}; give more digits",
                shown.join(", ")
            ))
        }
    }
}

/// A span of time in the unit a person would use: `90 s`, `5 min`, `24 h`.
fn span(ms: u64) -> String {
    match ms / 1000 {
        s if s < 120 => format!("{s} s"),
        s if s < 120 * 60 => format!("{} min", s / 60),
        s => format!("{} h", s / 3600),
    }
}

#[cfg(test)]
mod span_tests {
    use super::span;

    #[test]
    fn spans_read_in_the_unit_a_person_would_use() {
        assert_eq!(span(90_000), "90 s");
        assert_eq!(span(5 * 60_000), "5 min");
        assert_eq!(span(86_400_000), "24 h");
    }
}
