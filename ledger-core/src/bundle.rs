//! Trace bundles: one self-contained file per lot that anyone can verify
//! offline against the network id they expect.
//!
//! A bundle holds the genesis document, the lot's lineage (see
//! [`crate::query::lineage`]), the revocations and fork proofs that concern
//! its authors, and the enrollment (and key-rotation) records of every
//! author back to a genesis authority.

use std::collections::{BTreeMap, BTreeSet};

use bincode::{Decode, Encode};
use serde::Serialize;

use crate::encoding::{self, MAX_BUNDLE_BYTES};
use crate::error::StoreError;
use crate::event::{Event, EventKind, LotId, Role};
use crate::genesis::Genesis;
use crate::graph::{Graph, MemGraph};
use crate::hash::{Hash, NetworkId};
use crate::key::{self, PublicKey};
use crate::ledger::Ledger;
use crate::overlay::Overlays;
use crate::query::{self, Trace};
use crate::record::SignedRecord;
use crate::store::Store;
use crate::validate::check_intrinsic;

/// Magic bytes opening every bundle file.
pub const BUNDLE_MAGIC: [u8; 8] = *b"TERROIRB";
/// Current bundle format version.
pub const BUNDLE_VERSION: u16 = 1;

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
}

impl Bundle {
    /// Canonical bytes (the file format).
    pub fn encode(&self) -> Vec<u8> {
        encoding::encode(self)
    }
}

/// Exports the bundle of `lot`, or `None` if the ledger has no such lot.
pub fn export<S: Store>(ledger: &Ledger<S>, lot: &LotId) -> Result<Option<Bundle>, StoreError> {
    let lineage = query::lineage(ledger, lot)?;
    if lineage.is_empty() {
        return Ok(None);
    }
    let mut hashes: BTreeSet<Hash> = lineage;
    let mut authors: BTreeSet<PublicKey> = BTreeSet::new();
    for h in &hashes {
        if let Some(r) = ledger.record(h)? {
            authors.insert(r.record.author);
        }
    }
    // Enrollment closure: each author's first record names its enrollment
    // (or the rotation that handed it the identity); follow enrollers too.
    let mut todo: Vec<PublicKey> = authors.iter().copied().collect();
    let mut done = BTreeSet::new();
    while let Some(k) = todo.pop() {
        if !done.insert(k) || ledger.genesis().authority(&k).is_some() {
            continue;
        }
        let Some((_, first)) = ledger.chain(&k)?.into_iter().find(|(s, _)| *s == 0) else {
            continue;
        };
        let Some(first) = ledger.record(&first)? else {
            continue;
        };
        for d in &first.record.deps {
            let Some(dep) = ledger.record(d)? else {
                continue;
            };
            let grants = match dep.record.event {
                Event::Enroll { participant, .. } => participant == k,
                Event::RotateKey { new_key } => new_key == k,
                _ => false,
            };
            if grants {
                hashes.insert(*d);
                todo.push(dep.record.author);
                authors.insert(dep.record.author);
            }
        }
    }
    // Revocations of, and fork proofs against, any author involved.
    for h in ledger.records_of_kind(EventKind::Revoke)? {
        if let Some(r) = ledger.record(&h)? {
            if matches!(r.record.event, Event::Revoke { key, .. } if authors.contains(&key)) {
                hashes.insert(h);
            }
        }
    }
    for (author, seq) in ledger.forks()? {
        if authors.contains(&author) {
            for (s, h) in ledger.chain(&author)? {
                if s == seq {
                    hashes.insert(h);
                }
            }
        }
    }
    let mut records = Vec::with_capacity(hashes.len());
    for h in &hashes {
        if let Some(r) = ledger.record(h)? {
            records.push(r);
        }
    }
    Ok(Some(Bundle {
        magic: BUNDLE_MAGIC,
        version: BUNDLE_VERSION,
        genesis: ledger.genesis().clone(),
        lot: lot.clone(),
        records,
    }))
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
}

impl Verification {
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
        }
    }
}

/// Verifies bundle bytes offline against the network id the reader expects.
/// Needs nothing else: no ledger, no network.
pub fn verify(bytes: &[u8], expected: &NetworkId) -> Verification {
    let mut c = Checks(Vec::new());
    let bundle: Bundle = match encoding::decode(bytes, MAX_BUNDLE_BYTES, "bundle") {
        Ok(b) => b,
        Err(e) => return c.fail("decode", e.to_string()),
    };
    if bundle.magic != BUNDLE_MAGIC || bundle.version != BUNDLE_VERSION {
        return c.fail("decode", "not a Terroir bundle of a known version");
    }
    c.pass(
        "decode",
        format!("{} records, canonical encoding", bundle.records.len()),
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
            return c.fail("records", format!("record {h}: {e}"));
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
        return c.fail("signatures", format!("record {h} has a bad signature"));
    }
    c.pass(
        "signatures",
        format!("{} signatures verified (ZIP-215)", items.len()),
    );
    drop(items);
    drop(messages);

    // Authority: every author is enrolled, transitively, by a genesis
    // authority, and its role may sign what it signed.
    let roles = match enrolled_roles(&bundle) {
        Ok(r) => r,
        Err(e) => return c.fail("enrollment", e),
    };
    for (r, h) in bundle.records.iter().zip(&hashes) {
        let Some(role) = roles.get(&r.record.author) else {
            return c.fail(
                "enrollment",
                format!("author {} of record {h} is not enrolled", r.record.author),
            );
        };
        let kind = r.record.event.kind();
        if !role.may_sign(kind) {
            return c.fail(
                "enrollment",
                format!("record {h}: a {role} may not sign a {kind} event"),
            );
        }
    }
    c.pass(
        "enrollment",
        format!("{} authors enrolled back to genesis", roles.len()),
    );

    // The records move into the graph: nothing below needs them twice.
    let Bundle {
        genesis,
        lot,
        records,
        ..
    } = bundle;
    let graph = MemGraph::new(&genesis, records);
    if let Err(e) = check_links(&graph) {
        return c.fail("lineage", e);
    }
    let overlays = match Overlays::compute(&graph) {
        Ok(o) => o,
        Err(e) => return c.fail("lineage", e.to_string()),
    };
    match query::trace(&graph, &overlays, &lot) {
        Ok(Some(trace)) => {
            c.pass(
                "lineage",
                format!(
                    "{} events, {} upstream lots, complete back to the harvests",
                    trace.events.len(),
                    trace.upstream.len()
                ),
            );
            Verification {
                checks: c.0,
                trace: Some(trace),
            }
        }
        Ok(None) => c.fail("lineage", format!("no record creates lot {lot}")),
        Err(e) => c.fail("lineage", e.to_string()),
    }
}

/// Roles of the keys enrolled through the bundle's own records.
fn enrolled_roles(bundle: &Bundle) -> Result<BTreeMap<PublicKey, Role>, String> {
    let mut roles: BTreeMap<PublicKey, Role> = bundle
        .genesis
        .authorities
        .iter()
        .map(|a| (a.key, Role::Regulator))
        .collect();
    loop {
        let mut grew = false;
        for r in &bundle.records {
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
            return Ok(roles);
        }
    }
}

/// Every link the lineage relies on is present and consistent.
fn check_links(graph: &MemGraph) -> Result<(), String> {
    let identity = |k: &PublicKey| -> PublicKey {
        graph.key_info(k).ok().flatten().map_or(*k, |i| i.identity)
    };
    for (h, r) in graph.records() {
        let rec = &r.record;
        match &rec.event {
            Event::Receive { shipment, lot, .. } => {
                let ship = graph.record(shipment).ok().flatten().ok_or_else(|| {
                    format!("receive {h} names shipment {shipment}, absent from the bundle")
                })?;
                match &ship.record.event {
                    Event::Ship { lot: l, to, .. } if l == lot && *to == identity(&rec.author) => {}
                    _ => return Err(format!("receive {h} does not match shipment {shipment}")),
                }
            }
            Event::Transform { inputs, .. } => {
                for i in inputs {
                    if query::creation(graph, &i.lot)
                        .map_err(|e| e.to_string())?
                        .is_none()
                    {
                        return Err(format!(
                            "transform {h} consumes lot {}, whose creation is absent",
                            i.lot
                        ));
                    }
                }
            }
            _ => {}
        }
        // A record whose author's previous seq is in the bundle links to
        // one of the records there (more than one after a fork).
        if let Some(p) = rec.prev {
            let before: Vec<Hash> = graph
                .chain(&rec.author)
                .map_err(|e| e.to_string())?
                .into_iter()
                .filter(|(s, _)| s.saturating_add(1) == rec.seq)
                .map(|(_, h)| h)
                .collect();
            if !before.is_empty() && !before.contains(&p) {
                return Err(format!(
                    "record {h} does not link to its author's record at seq {}",
                    rec.seq - 1
                ));
            }
        }
    }
    Ok(())
}
