//! Product codes: who may put a GTIN on a lot, which lots a GTIN names,
//! and the rule that a (GTIN, lot code) pair names one lot.
//!
//! A regulator assigns a GS1 company prefix to a participant
//! ([`Event::AssignPrefix`]); the owner may authorise contract packers
//! ([`Event::AuthorisePacker`]). A record that creates a lot with a GTIN
//! must list, in its deps, the assignment or authorisation that covers the
//! GTIN: that rule is part of validation (a pure function of the causal
//! past, see [`crate::validate`]).
//!
//! That a (GTIN, lot code) pair exists once per network cannot be judged
//! from a record's causal past alone: an owner and its packer could each
//! sign the same pair without seeing the other. So it is an *admission*
//! rule, [`Ledger::admit`], applied where a record enters the network (a
//! node's HTTP submission, the CLI's local ledger, both through
//! [`Ledger::submit`]; an EPCIS import) against everything that ledger
//! holds. Pairs that meet later by replication are both kept, and
//! [`Ledger::lots_with_gtin_and_code`] lists both: the consumer page shows
//! the first and warns that the code names more than one lot.

use serde::Serialize;

use crate::error::{StoreError, ValidationError};
use crate::event::{Event, EventKind, LotId};
use crate::graph::Graph;
use crate::gs1;
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::ledger::{IngestReport, Ledger, Outcome, Source};
use crate::reader::Reader;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::tables::Tables;

/// A right to create lots with GTINs under a prefix: the record that
/// grants it, which a lot-creating record lists in its deps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GtinRight {
    /// The GS1 company prefix (or a longer one within it).
    pub prefix: String,
    /// The assign-prefix or authorise-packer record.
    pub record: Hash,
    /// The prefix owner (the holder itself for an assignment).
    pub owner: PublicKey,
    /// End of a packer authorisation (ms since epoch), if it ends.
    pub valid_until: Option<u64>,
}

impl GtinRight {
    /// Whether this right lets its holder create a lot with `gtin` at `time`.
    pub fn covers(&self, gtin: &str, time: u64) -> bool {
        gs1::prefix_covers(&self.prefix, gtin) && self.valid_until.is_none_or(|u| time <= u)
    }
}

impl<S: Store> Reader<S> {
    /// Every lot created with `gtin` (any GTIN length; compared as 14
    /// digits), in (code, source) order.
    pub fn lots_with_gtin(&self, gtin: &str) -> Result<Vec<LotId>, StoreError> {
        self.kv().lots_with_gtin(gtin, None)
    }

    /// The lots with `gtin` whose code is `code`: one, unless an owner and
    /// its packer created the same pair unseen by each other.
    pub fn lots_with_gtin_and_code(
        &self,
        gtin: &str,
        code: &str,
    ) -> Result<Vec<LotId>, StoreError> {
        self.kv().lots_with_gtin(gtin, Some(code))
    }

    /// The rights `identity` holds to create lots with GTINs: prefixes a
    /// regulator assigned to it and packer authorisations naming it.
    pub fn gtin_rights(&self, identity: &PublicKey) -> Result<Vec<GtinRight>, StoreError> {
        let mut out = Vec::new();
        for kind in [EventKind::AssignPrefix, EventKind::AuthorisePacker] {
            for h in self.records_of_kind(kind)? {
                let Some(r) = self.record(&h)? else { continue };
                match r.record.event {
                    Event::AssignPrefix {
                        participant,
                        prefix,
                    } if participant == *identity => out.push(GtinRight {
                        prefix,
                        record: h,
                        owner: participant,
                        valid_until: None,
                    }),
                    Event::AuthorisePacker {
                        packer,
                        prefix,
                        valid_until,
                    } if packer == *identity => {
                        let owner = self
                            .key_state(&r.record.author)?
                            .map_or(r.record.author, |s| s.identity);
                        out.push(GtinRight {
                            prefix,
                            record: h,
                            owner,
                            valid_until,
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(out)
    }

    /// The admission rules for records entering the network here: a
    /// record must not be signed by a key this ledger holds a revocation
    /// of, after the revocation's last trusted seq
    /// ([`ValidationError::KeyRevoked`]); and each lot with a GTIN that
    /// `records` create must be the only lot with that (GTIN, lot code)
    /// pair, on this ledger and within `records`. Returns, per record,
    /// `Ok` or the refusal.
    ///
    /// A record whose author has no right to the GTIN passes admission:
    /// validation then refuses it with the rule that explains why (a
    /// copycat hears "not yours to use", not "choose another lot code").
    pub fn admit(
        &self,
        records: &[SignedRecord],
    ) -> Result<Vec<Result<(), ValidationError>>, StoreError> {
        let mut batch: Vec<(String, &str)> = Vec::new();
        let mut out = Vec::with_capacity(records.len());
        for r in records {
            if let Some(refused) = self.revoked_at(&r.record.author, r.record.seq)? {
                out.push(Err(refused));
                continue;
            }
            let mut verdict = Ok(());
            let mut deps = None;
            for (code, product, _) in r.record.event.created_lots() {
                let Some(gtin) = &product.gtin else { continue };
                let deps = match &mut deps {
                    Some(d) => d,
                    None => deps.insert(self.present(&r.record.deps)?),
                };
                let identity = self
                    .key_state(&r.record.author)?
                    .map_or(r.record.author, |s| s.identity);
                if crate::validate::gtin_right(&identity, r.record.time, gtin, deps).is_err() {
                    continue;
                }
                let g14 = gs1::gtin14(gtin);
                let taken = batch.iter().any(|(g, c)| *g == g14 && *c == code)
                    || !self.lots_with_gtin_and_code(gtin, code)?.is_empty();
                if taken {
                    verdict = Err(ValidationError::DuplicateProductLot {
                        gtin: g14,
                        code: code.to_owned(),
                    });
                    break;
                }
                batch.push((g14, code));
            }
            out.push(verdict);
        }
        Ok(out)
    }

    /// The refusal of a record by `key` at `seq` when a revocation this
    /// ledger holds no longer trusts the key there. Of several such
    /// revocations, the one with the smallest hash is named, as the
    /// overlays' flag names it.
    fn revoked_at(&self, key: &PublicKey, seq: u64) -> Result<Option<ValidationError>, StoreError> {
        let kv = self.kv();
        if !kv.suspect(key)? {
            return Ok(None);
        }
        Ok(kv
            .revocations_of(key)?
            .into_iter()
            .filter(|(_, last)| last.is_none_or(|l| seq > l))
            .min_by_key(|(h, _)| *h)
            .map(
                |(revocation, last_trusted_seq)| ValidationError::KeyRevoked {
                    key: *key,
                    last_trusted_seq,
                    revocation,
                },
            ))
    }

    /// The records among `hashes` that this ledger holds.
    fn present(&self, hashes: &[Hash]) -> Result<Vec<SignedRecord>, StoreError> {
        let mut out = Vec::with_capacity(hashes.len());
        for h in hashes {
            out.extend(self.record(h)?);
        }
        Ok(out)
    }
}

impl<S: Store> Ledger<S> {
    /// Ingests records entering the network here (a submission, not
    /// replication): [`Self::admit`] first, then [`Self::ingest`] of the
    /// admitted ones, in one call, so two submissions of one (GTIN, lot)
    /// pair cannot both pass. Refused records are reported
    /// [`Outcome::Rejected`] and not stored; outcomes keep the order of
    /// `records`.
    pub fn submit(
        &mut self,
        records: Vec<SignedRecord>,
        now: u64,
    ) -> Result<IngestReport, StoreError> {
        self.submit_from(records.into_iter().map(|r| (r, None)).collect(), now)
    }

    /// Like [`Self::submit`], each record with where it came from (see
    /// [`Self::ingest_from`]).
    pub fn submit_from(
        &mut self,
        records: Vec<(SignedRecord, Option<Source>)>,
        now: u64,
    ) -> Result<IngestReport, StoreError> {
        let (records, sources): (Vec<_>, Vec<_>) = records.into_iter().unzip();
        let verdicts = self.admit(&records)?;
        let mut decided = Vec::with_capacity(records.len());
        let mut admitted = Vec::with_capacity(records.len());
        for ((r, source), verdict) in records.into_iter().zip(sources).zip(verdicts) {
            match verdict {
                Ok(()) => {
                    decided.push(None);
                    admitted.push((r, source));
                }
                Err(error) => decided.push(Some((r.hash(), Outcome::Rejected { error }))),
            }
        }
        let report = if admitted.is_empty() {
            IngestReport::default()
        } else {
            self.ingest_from(admitted, now)?
        };
        let mut ingested = report.outcomes.into_iter();
        Ok(IngestReport {
            outcomes: decided
                .into_iter()
                .filter_map(|d| d.or_else(|| ingested.next()))
                .collect(),
            released: report.released,
        })
    }
}
