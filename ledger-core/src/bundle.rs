//! Trace bundles: one self-contained file per lot that anyone can verify
//! offline against the network id they expect.
//!
//! A bundle holds the genesis document, the lot's lineage (see
//! [`crate::query::lineage`]) and everything those records name, closed
//! transitively: each author's chain back to its first record and that
//! record's enrollment (or key rotation), back to a genesis authority;
//! every dep; every transform input's creation; and the revocations and
//! fork proofs that concern any author reached. [`verify`] refuses a bundle
//! that lacks a record one of its records names.
//!
//! Since format 2 a bundle also carries the newest final checkpoint its
//! exporter had ([`BundleCheckpoint`]): a batch inclusion proof of its
//! records in the log, and the status map's proof for every lot of the
//! lineage, so a recall shows even when its record was left out
//! ([`status`]). [`verify_with_status`] re-judges those lots against a
//! fresher checkpoint.

mod status;

pub use status::{lineage_lots, BundleCheckpoint, LeafRef, LotReport, StatusReport};

use std::collections::{BTreeMap, BTreeSet};

use bincode::{Decode, Encode};
use serde::Serialize;

use crate::encoding::{self, DecodeError, MAX_BUNDLE_BYTES};
use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Role};
use crate::genesis::Genesis;
use crate::graph::{Graph, MemGraph};
use crate::hash::{Hash, NetworkId};
use crate::key::{self, PublicKey};
use crate::overlay::Overlays;
use crate::query::{self, Trace};
use crate::reader::Reader;
use crate::record::SignedRecord;
use crate::store::Store;
use crate::time;
use crate::tlog::StatusProofs;
use crate::validate::check_intrinsic;

/// Magic bytes opening every bundle file.
pub const BUNDLE_MAGIC: [u8; 8] = *b"TERROIRB";
/// Current bundle format version: 2 adds the checkpoint. Version 1
/// bundles (no checkpoint) are still read.
pub const BUNDLE_VERSION: u16 = 2;

/// A self-contained trace bundle for one lot.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Bundle {
    /// [`BUNDLE_MAGIC`].
    pub magic: [u8; 8],
    /// [`BUNDLE_VERSION`].
    pub version: u16,
    /// The network's genesis document.
    pub genesis: Genesis,
    /// The lot traced.
    pub lot: LotId,
    /// The records, in hash order.
    pub records: Vec<SignedRecord>,
    /// The newest final checkpoint the exporter had, with the proofs of
    /// the records and lineage lots under it; `None` before the network's
    /// first checkpoint (and in version 1 bundles).
    pub checkpoint: Option<BundleCheckpoint>,
}

/// The version 1 layout: a version 2 bundle without its last field.
#[derive(Encode, Decode)]
struct BundleV1 {
    magic: [u8; 8],
    version: u16,
    genesis: Genesis,
    lot: LotId,
    records: Vec<SignedRecord>,
}

impl Bundle {
    /// Canonical bytes (the file format): version 1's layout for a
    /// version 1 bundle without a checkpoint, else version 2's.
    pub fn encode(&self) -> Vec<u8> {
        if self.version == 1 && self.checkpoint.is_none() {
            return encoding::encode(&BundleV1 {
                magic: self.magic,
                version: self.version,
                genesis: self.genesis.clone(),
                lot: self.lot.clone(),
                records: self.records.clone(),
            });
        }
        encoding::encode(self)
    }

    /// Reads a bundle file of either version (canonical, at most
    /// [`MAX_BUNDLE_BYTES`]); the magic and version are checked by
    /// [`verify`], not here.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, DecodeError> {
        // The version sits after the 8 magic bytes (u16 LE).
        if bytes.get(8..10) == Some(&1u16.to_le_bytes()[..]) {
            let v1: BundleV1 = encoding::decode(bytes, MAX_BUNDLE_BYTES, "bundle")?;
            return Ok(Bundle {
                magic: v1.magic,
                version: v1.version,
                genesis: v1.genesis,
                lot: v1.lot,
                records: v1.records,
                checkpoint: None,
            });
        }
        encoding::decode(bytes, MAX_BUNDLE_BYTES, "bundle")
    }
}

/// Exports the bundle of `lot`, or `None` if the ledger has no such lot.
///
/// The bundle is the lot's lineage (see [`crate::query::lineage`]) closed
/// under everything its records name: each record's `prev`, back to its
/// author's first record; each dep (a shipment, an enrollment, a lot's
/// creation …); each transform input's creation; and, for every author
/// the closure reaches, the revocations of its key and the fork proofs
/// against it — themselves closed the same way. The closure is the
/// lineage's causal past, so it grows with its authors' chain lengths
/// until checkpoints let a bundle prove a chain prefix instead.
pub fn export<S: Store>(ledger: &Reader<S>, lot: &LotId) -> Result<Option<Bundle>, StoreError> {
    let lineage = query::lineage(ledger, lot)?;
    if lineage.is_empty() {
        return Ok(None);
    }
    let mut closure = Closure::default();
    closure.todo.extend(lineage);
    // Revocations are few: read them once, then add those that concern an
    // author the closure reached, until no new author appears.
    let mut revocations = Vec::new();
    for h in ledger.records_of_kind(EventKind::Revoke)? {
        if let Some(r) = ledger.record(&h)? {
            if let Event::Revoke { key, .. } = r.record.event {
                revocations.push((key, h));
            }
        }
    }
    let forks = ledger.forks()?;
    loop {
        closure.close(ledger)?;
        for (key, h) in &revocations {
            if closure.authors.contains(key) && !closure.records.contains_key(h) {
                closure.todo.push(*h);
            }
        }
        for (author, seq) in &forks {
            if closure.authors.contains(author) {
                for (s, h) in ledger.chain(author)? {
                    if s == *seq && !closure.records.contains_key(&h) {
                        closure.todo.push(h);
                    }
                }
            }
        }
        if closure.todo.is_empty() {
            break;
        }
    }
    let checkpoint = status::export(ledger, lot, closure.records.keys().copied())?;
    Ok(Some(Bundle {
        magic: BUNDLE_MAGIC,
        version: BUNDLE_VERSION,
        genesis: ledger.genesis().clone(),
        lot: lot.clone(),
        records: closure.records.into_values().collect(),
        checkpoint,
    }))
}

/// The records of a bundle being exported, closed under what they name.
#[derive(Default)]
struct Closure {
    /// Records in, by hash (so in hash order, the bundle's order).
    records: BTreeMap<Hash, SignedRecord>,
    /// Authors of the records in.
    authors: BTreeSet<PublicKey>,
    /// Hashes named but not yet read.
    todo: Vec<Hash>,
    /// Creation record of each transform input seen, by lot.
    creations: BTreeMap<LotId, Option<Hash>>,
}

impl Closure {
    /// Adds every record in `todo` and, transitively, everything each names.
    /// Each record is read once; a name the ledger does not hold (it cannot
    /// happen for records the ledger validated) is skipped.
    fn close<S: Store>(&mut self, ledger: &Reader<S>) -> Result<(), StoreError> {
        while let Some(h) = self.todo.pop() {
            if self.records.contains_key(&h) {
                continue;
            }
            let Some(r) = ledger.record(&h)? else {
                continue;
            };
            let rec = &r.record;
            self.todo.extend(rec.prev);
            self.todo.extend(rec.deps.iter().copied());
            match &rec.event {
                Event::Receive { shipment, .. } => self.todo.push(*shipment),
                Event::Transform { inputs, .. } => {
                    for i in inputs {
                        let creation = match self.creations.get(&i.lot) {
                            Some(c) => *c,
                            None => {
                                let c = query::creation(ledger, &i.lot)?;
                                self.creations.insert(i.lot.clone(), c);
                                c
                            }
                        };
                        self.todo.extend(creation);
                    }
                }
                _ => {}
            }
            self.authors.insert(rec.author);
            self.records.insert(h, r);
        }
        Ok(())
    }
}

/// One check of a bundle verification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Whether it held.
    pub ok: bool,
    /// Details (counts, or what failed).
    pub detail: String,
}

/// The result of verifying a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct Verification {
    /// Every check made, in order; verification stops at the first failure.
    pub checks: Vec<Check>,
    /// The trace, when every check passed.
    pub trace: Option<Trace>,
    /// What the checkpoint (the bundle's, or a fresher one given) proves
    /// about the lineage's lots, when every check passed; `None` for a
    /// bundle without a checkpoint.
    pub status: Option<StatusReport>,
}

impl Verification {
    /// The result in a sentence, for a verified bundle: `not recalled as
    /// of … — checkpoint 12, cosigned by 3 of 4: …`, the status the map
    /// proves (naming a cause left out of the bundle), or that the bundle
    /// carries no checkpoint. Local times in `tz` (the network's zone).
    pub fn summary(&self, tz: chrono_tz::Tz) -> Option<String> {
        if !self.verified() {
            return None;
        }
        Some(match &self.status {
            Some(s) => s.sentence(tz),
            None => "the bundle carries no checkpoint: nothing shows it omits no record, \
                     nor that the lot was not recalled"
                .to_owned(),
        })
    }

    /// Whether every check passed.
    pub fn verified(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.ok)
    }

    /// The first failed check, if any.
    pub fn failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.ok)
    }
}

struct Checks(Vec<Check>);

impl Checks {
    fn pass(&mut self, name: &'static str, detail: impl Into<String>) {
        self.0.push(Check {
            name,
            ok: true,
            detail: detail.into(),
        });
    }

    fn fail(mut self, name: &'static str, detail: impl Into<String>) -> Verification {
        self.0.push(Check {
            name,
            ok: false,
            detail: detail.into(),
        });
        Verification {
            checks: self.0,
            trace: None,
            status: None,
        }
    }
}

/// Verifies bundle bytes offline against the network id the reader expects.
/// Needs nothing else: no ledger, no network. A bundle with a checkpoint
/// gets three more checks (`checkpoint`, `inclusion`, `status`) and a
/// [`StatusReport`].
pub fn verify(bytes: &[u8], expected: &NetworkId) -> Verification {
    verify_inner(bytes, expected, None)
}

/// [`verify`], then the lineage's lots judged again under a fresher final
/// checkpoint's status proofs (as a node's `POST /proof/status` answers):
/// the `fresher` check refuses a checkpoint of another network, one not
/// final, one older than the bundle's, or a lot of the lineage without a
/// proof that verifies. The report then speaks as of that checkpoint.
pub fn verify_with_status(
    bytes: &[u8],
    expected: &NetworkId,
    fresher: &StatusProofs,
) -> Verification {
    verify_inner(bytes, expected, Some(fresher))
}

fn verify_inner(
    bytes: &[u8],
    expected: &NetworkId,
    fresher: Option<&StatusProofs>,
) -> Verification {
    let mut c = Checks(Vec::new());
    let bundle = match Bundle::decode(bytes) {
        Ok(b) => b,
        Err(e) => return c.fail("decode", e.to_string()),
    };
    if bundle.magic != BUNDLE_MAGIC || !(1..=BUNDLE_VERSION).contains(&bundle.version) {
        return c.fail("decode", "not a Terroir bundle of a known version");
    }
    c.pass(
        "decode",
        format!(
            "{} records, canonical encoding (format {})",
            bundle.records.len(),
            bundle.version
        ),
    );

    if let Err(e) = bundle.genesis.check() {
        return c.fail("genesis", e.to_string());
    }
    let network = bundle.genesis.id();
    if network != *expected {
        return c.fail(
            "network",
            format!("bundle is for network {network}, expected {expected}"),
        );
    }
    c.pass(
        "network",
        format!("genesis matches network {}", network.short()),
    );

    // Each record is encoded once here, for its hash and its signing
    // message both.
    let mut messages: Vec<Vec<u8>> = Vec::with_capacity(bundle.records.len());
    let mut hashes: Vec<Hash> = Vec::with_capacity(bundle.records.len());
    let mut sorted = true;
    for r in &bundle.records {
        let (h, message) = r.record.hash_and_signing_message();
        if let Err(e) = check_intrinsic(r, &network) {
            return c.fail("records", format!("record {}…: {e}", h.short()));
        }
        sorted &= hashes.last().is_none_or(|p| *p < h);
        hashes.push(h);
        messages.push(message);
    }
    if !sorted {
        return c.fail(
            "records",
            "records are not in strict hash order (duplicates?)",
        );
    }
    c.pass("records", "every record well-formed for this network");

    let items: Vec<_> = bundle
        .records
        .iter()
        .zip(&messages)
        .map(|(r, m)| (r.record.author, m.as_slice(), r.signature))
        .collect();
    let verdicts = key::verify_batch(&items);
    if let Some((h, _)) = hashes.iter().zip(&verdicts).find(|(_, v)| v.is_err()) {
        return c.fail(
            "signatures",
            format!("record {}… has a bad signature", h.short()),
        );
    }
    c.pass(
        "signatures",
        format!("{} signatures verified (ZIP-215)", items.len()),
    );
    drop(items);
    drop(messages);

    // The records move into the graph: nothing below needs them twice.
    let Bundle {
        genesis,
        lot,
        records,
        checkpoint,
        ..
    } = bundle;
    let record_count = records.len();
    let graph = MemGraph::from_hashed(&genesis, hashes.into_iter().zip(records));

    // Completeness: every record the bundle's records name is in it, so
    // the journey cannot be shortened by leaving records out.
    match check_complete(&graph) {
        Ok(links) => c.pass(
            "complete",
            format!("every record named is present ({links} prevs, deps, shipments, inputs)"),
        ),
        Err(e) => return c.fail("complete", e),
    }

    // Authority: every author is enrolled, transitively, by a genesis
    // authority, and its role may sign what it signed.
    let roles = enrolled_roles(&genesis, &graph);
    for (h, r) in graph.records() {
        let Some(role) = roles.get(&r.record.author) else {
            return c.fail(
                "enrollment",
                format!(
                    "author {}… of record {}… is not enrolled",
                    r.record.author.short(),
                    h.short()
                ),
            );
        };
        let kind = r.record.event.kind();
        if !role.may_sign(kind) {
            return c.fail(
                "enrollment",
                format!(
                    "record {}…: a {role} may not sign a {kind} event",
                    h.short()
                ),
            );
        }
    }
    c.pass(
        "enrollment",
        format!("{} authors enrolled back to genesis", roles.len()),
    );

    if let Err(e) = check_links(&graph) {
        return c.fail("lineage", e);
    }
    let overlays = match Overlays::compute(&graph) {
        Ok(o) => o,
        Err(e) => return c.fail("lineage", e.to_string()),
    };
    let trace = match query::trace(&graph, &overlays, &lot) {
        Ok(Some(trace)) => trace,
        Ok(None) => return c.fail("lineage", format!("no record creates lot {lot}")),
        Err(e) => return c.fail("lineage", e.to_string()),
    };
    c.pass(
        "lineage",
        format!(
            "{} events, {} upstream lots, complete back to the harvests",
            trace.events.len(),
            trace.upstream.len()
        ),
    );

    let lineage = lineage_lots(&trace);
    let mut report = None;
    if let Some(cp) = &checkpoint {
        let signed = match status::read_note(&cp.note, &genesis) {
            Ok(s) => s,
            Err(e) => return c.fail("checkpoint", e),
        };
        let tz = genesis.time_zone();
        c.pass(
            "checkpoint",
            format!(
                "checkpoint {} of {} ({}), final: signed by {} of {} authorities ({} needed)",
                signed.checkpoint.height,
                time::local(signed.checkpoint.time, tz).format("%Y-%m-%d %H:%M"),
                tz.name(),
                signed.signatures.len(),
                genesis.authorities.len(),
                genesis.checkpoint_threshold
            ),
        );
        let covered = match status::check_inclusion(&signed, cp, &graph) {
            Ok(n) => n,
            Err(e) => return c.fail("inclusion", e),
        };
        c.pass(
            "inclusion",
            format!(
                "{covered} records in checkpoint {}'s log (one batch proof), {} newer",
                signed.checkpoint.height,
                record_count - covered
            ),
        );
        if cp.lots.len() != lineage.len() {
            return c.fail(
                "status",
                format!(
                    "{} status proofs for the lineage's {} lots: one per lot is expected",
                    cp.lots.len(),
                    lineage.len()
                ),
            );
        }
        let lots = match status::judge(&signed, &cp.lots, &lineage, &lot, &graph) {
            Ok(l) => l,
            Err(e) => return c.fail("status", e),
        };
        let r = status::report(&signed, &genesis, None, covered, record_count, lots);
        c.pass("status", status_detail(&r));
        report = Some(StatusReport {
            bundle_height: Some(r.height),
            ..r
        });
    }
    if let Some(fresh) = fresher {
        let bundle_height = report.as_ref().and_then(|r| r.bundle_height);
        let signed = match status::fresher(fresh, &genesis, bundle_height) {
            Ok(s) => s,
            Err(e) => return c.fail("fresher", e),
        };
        let lots = match status::judge(&signed, &fresh.proofs, &lineage, &lot, &graph) {
            Ok(l) => l,
            Err(e) => return c.fail("fresher", e),
        };
        let covered = report.as_ref().map_or(0, |r| r.covered);
        let r = status::report(
            &signed,
            &genesis,
            bundle_height,
            covered,
            record_count,
            lots,
        );
        c.pass("fresher", status_detail(&r));
        report = Some(r);
    }
    Verification {
        checks: c.0,
        trace: Some(trace),
        status: report,
    }
}

/// A status check's detail: how many lots, and what the map lists.
fn status_detail(r: &StatusReport) -> String {
    let listed = r.lots.iter().filter(|l| l.status.is_some()).count();
    match r.worst() {
        None => format!(
            "{} lineage lots proved against checkpoint {}'s status map: none listed",
            r.lots.len(),
            r.height
        ),
        Some(k) => format!(
            "{} lineage lots proved against checkpoint {}'s status map: {listed} listed, worst {}",
            r.lots.len(),
            r.height,
            k.describe()
        ),
    }
}

/// Roles of the keys enrolled through the bundle's own records.
fn enrolled_roles(genesis: &Genesis, graph: &MemGraph) -> BTreeMap<PublicKey, Role> {
    let mut roles: BTreeMap<PublicKey, Role> = genesis
        .authorities
        .iter()
        .map(|a| (a.key, Role::Regulator))
        .collect();
    loop {
        let mut grew = false;
        for (_, r) in graph.records() {
            let Some(&granter) = roles.get(&r.record.author) else {
                continue;
            };
            let (key, role) = match r.record.event {
                Event::Enroll {
                    participant, role, ..
                } if granter == Role::Regulator => (participant, role),
                Event::RotateKey { new_key } => (new_key, granter),
                _ => continue,
            };
            if let std::collections::btree_map::Entry::Vacant(e) = roles.entry(key) {
                e.insert(role);
                grew = true;
            }
        }
        if !grew {
            return roles;
        }
    }
}

/// A record as a reader of a failed check should see it: its short hash,
/// and its seq and author's name (or short key).
fn describe(graph: &MemGraph, hash: &Hash, record: &SignedRecord) -> String {
    format!(
        "{} {}… (seq {} of {})",
        record.record.event.kind(),
        hash.short(),
        record.record.seq,
        author_name(graph, &record.record.author)
    )
}

fn author_name(graph: &MemGraph, key: &PublicKey) -> String {
    match graph.key_info(key).ok().flatten() {
        Some(info) => info.name,
        None => format!("key {}…", key.short()),
    }
}

/// Every record named by a record of the bundle is in the bundle: its
/// `prev` (its author's record at the seq before, so each chain runs back
/// to the author's first record and that record's enrollment), each of its
/// deps, a receipt's shipment and a transform's input creations. Returns
/// how many records were named (with repeats), or what is missing, in the
/// reader's terms. Costs one lookup per name: proportional to the bundle.
///
/// Records that nothing in the bundle names (a chain's last record here)
/// cannot be missed this way; checkpoints will prove those.
fn check_complete(graph: &MemGraph) -> Result<usize, String> {
    // Borrowed lookups: `Graph::record` would clone each record it finds.
    let index: BTreeMap<&Hash, &SignedRecord> = graph.records().collect();
    let mut links = 0usize;
    // Names by hash first, so a missing record is named by its hash
    // whenever some record names it so.
    for (h, r) in graph.records() {
        let rec = &r.record;
        if let Some(p) = &rec.prev {
            links += 1;
            let before = rec.seq.saturating_sub(1);
            match index.get(p) {
                None => {
                    return Err(format!(
                        "{}'s prev {}… (seq {before} of {}, the record before it) is missing from the bundle",
                        describe(graph, h, r),
                        p.short(),
                        author_name(graph, &rec.author),
                    ))
                }
                Some(prev) if prev.record.author != rec.author || prev.record.seq != before => {
                    return Err(format!(
                        "{}'s prev {}… is not its author's record at seq {before}",
                        describe(graph, h, r),
                        p.short(),
                    ))
                }
                Some(_) => {}
            }
        }
        let shipment = match &rec.event {
            Event::Receive { shipment, .. } => Some(shipment),
            _ => None,
        };
        for d in rec
            .deps
            .iter()
            .chain(shipment.filter(|s| !rec.deps.contains(s)))
        {
            links += 1;
            if !index.contains_key(d) {
                let what = if Some(d) == shipment {
                    "shipment (the ship record it receives)"
                } else if rec.seq == 0 {
                    "dependency (its author's enrollment or a record it relies on)"
                } else {
                    "dependency"
                };
                return Err(format!(
                    "{}'s {what} {}… is missing from the bundle",
                    describe(graph, h, r),
                    d.short(),
                ));
            }
        }
    }
    for (h, r) in graph.records() {
        if let Event::Transform { inputs, .. } = &r.record.event {
            for i in inputs {
                links += 1;
                if query::creation(graph, &i.lot)
                    .map_err(|e| e.to_string())?
                    .is_none()
                {
                    return Err(format!(
                        "{} consumes lot {} ({}), whose creation record is missing from the bundle",
                        describe(graph, h, r),
                        i.lot,
                        author_name(graph, &i.lot.source),
                    ));
                }
            }
        }
    }
    Ok(links)
}

/// Each receipt matches the shipment it names (both present: see
/// [`check_complete`]).
fn check_links(graph: &MemGraph) -> Result<(), String> {
    let identity = |k: &PublicKey| -> PublicKey {
        graph.key_info(k).ok().flatten().map_or(*k, |i| i.identity)
    };
    for (h, r) in graph.records() {
        let rec = &r.record;
        if let Event::Receive { shipment, lot, .. } = &rec.event {
            let matches = graph.record(shipment).ok().flatten().is_some_and(|ship| {
                matches!(&ship.record.event,
                    Event::Ship { lot: l, to, .. } if l == lot && *to == identity(&rec.author))
            });
            if !matches {
                return Err(format!(
                    "{} does not match the shipment {}… it names",
                    describe(graph, h, r),
                    shipment.short()
                ));
            }
        }
    }
    Ok(())
}
