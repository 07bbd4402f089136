//! The verdict a shopper needs about one lot, computed once from its
//! [`Trace`] and the network's genesis, for the consumer page, its JSON
//! form, `terroir trace` and `terroir verify` alike.
//!
//! A trace can carry many warnings; a person holding the product needs one
//! answer first. [`verdict`] orders what it finds, most severe first:
//!
//! 1. [`Finding::Recalled`]: the lot or a lot it was made from is recalled
//!    (do not eat it; return it; the regulator's contact is in
//!    [`Verdict::contact`]);
//! 2. [`Finding::FailedTest`]: a test of the lot or an upstream lot failed;
//! 3. [`Finding::SafetyInterval`]: the lot or an upstream lot was harvested
//!    inside the safety interval of an input used on its field;
//! 4. [`Finding::Excursion`]: a cold-chain excursion, with how far out of
//!    the allowed band and for how long (consecutive readings out of band
//!    form one excursion);
//! 5. [`Finding::Certificate`]: a certified claim whose certificate has
//!    expired, or is not yet valid, at `now`;
//! 6. [`Finding::Clean`].
//!
//! Overlay flags (revoked key, equivocation, tainted) are listed beside the
//! findings in [`Verdict::flags`]. The function is pure: `now` is an
//! argument, never a clock read. Turning a verdict into words is the
//! caller's business (the page speaks Chinese or English, the CLI English).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::{Event, Location, LotId, SensorKind};
use crate::genesis::Genesis;
use crate::hash::Hash;
use crate::overlay::Flag;
use crate::query::{Trace, Warning};

/// What the verdict found, one kind per variant, most severe first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Finding {
    /// The lot, or a lot it was made from, is recalled: do not eat it,
    /// return it where it was bought, call [`Verdict::contact`].
    Recalled {
        /// The recalled lot.
        lot: LotId,
        /// Whether the recalled lot is the lot itself (else upstream).
        this_lot: bool,
        /// The stated reason.
        reason: String,
        /// Who recalled it (participant name), when known.
        by: Option<String>,
        /// When (ms since epoch).
        time: u64,
        /// The recall record.
        record: Hash,
    },
    /// A test of the lot or a lot it was made from failed.
    FailedTest {
        /// The tested lot.
        lot: LotId,
        /// Whether the tested lot is the lot itself (else upstream).
        this_lot: bool,
        /// What was tested (with the standard, as the lab wrote it).
        test: String,
        /// The lab's findings.
        notes: String,
        /// Which lab, when known.
        by: Option<String>,
        /// When (ms since epoch).
        time: u64,
        /// The inspect record.
        record: Hash,
    },
    /// The lot, or a lot it was made from, was harvested before the
    /// pre-harvest safety interval (安全间隔期) of an input used on its field
    /// had passed: residues may exceed the limits.
    SafetyInterval {
        /// The harvested lot.
        lot: LotId,
        /// Whether it is the lot itself (else upstream).
        this_lot: bool,
        /// The input as its label names it.
        product: String,
        /// Its active ingredients.
        ingredients: Vec<String>,
        /// When it was applied (ms since epoch).
        applied: u64,
        /// When the lot was harvested (ms since epoch).
        harvested: u64,
        /// The interval the label sets, in days.
        interval_days: u32,
        /// Who harvested it, when known.
        by: Option<String>,
        /// The harvest record.
        record: Hash,
        /// The input-use record.
        input: Hash,
    },
    /// Consecutive sensor readings outside the allowed band.
    Excursion {
        /// The observed lot.
        lot: LotId,
        /// What was measured.
        sensor: SensorKind,
        /// The reading furthest outside the band, in thousandths
        /// (milli-°C, milli-%RH).
        peak: i64,
        /// Lowest allowed value, in thousandths.
        min: i64,
        /// Highest allowed value, in thousandths.
        max: i64,
        /// Whether the values were above the band (else below).
        too_high: bool,
        /// Time of the first reading out of band (ms since epoch).
        from: u64,
        /// Time of the last reading out of band.
        last_out: u64,
        /// Time of the first reading back inside the band, if there was
        /// one: the excursion ended before it.
        back_in: Option<u64>,
        /// How many consecutive readings were out of band.
        readings: u32,
        /// Where (the observe record's location).
        location: Location,
        /// The observe record with the first reading out of band.
        record: Hash,
    },
    /// A certified claim whose certificate is not valid at `now`.
    Certificate {
        /// The certified lot.
        lot: LotId,
        /// The claim (`organic (GB/T 19630)` …).
        claim: String,
        /// The certificate's number, if the record names one.
        number: Option<String>,
        /// Valid from: the certify record's time.
        valid_from: u64,
        /// Valid until, if it expires.
        valid_until: Option<u64>,
        /// Expired or not yet valid.
        problem: CertificateProblem,
        /// The certify record.
        record: Hash,
    },
    /// Nothing recalled, no failed test, no excursion, every certificate
    /// valid.
    Clean,
}

/// Why a certificate is not valid at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateProblem {
    /// `now` is after its expiry.
    Expired,
    /// `now` is before the certify record's time.
    NotYetValid,
}

impl Finding {
    /// 0 for the most severe ([`Finding::Recalled`]) up to 5 for
    /// [`Finding::Clean`].
    pub fn severity_rank(&self) -> u8 {
        match self {
            Finding::Recalled { .. } => 0,
            Finding::FailedTest { .. } => 1,
            Finding::SafetyInterval { .. } => 2,
            Finding::Excursion { .. } => 3,
            Finding::Certificate { .. } => 4,
            Finding::Clean => 5,
        }
    }

    /// The snake_case name of the kind (as in the JSON form).
    pub fn kind(&self) -> &'static str {
        match self {
            Finding::Recalled { .. } => "recalled",
            Finding::FailedTest { .. } => "failed_test",
            Finding::SafetyInterval { .. } => "safety_interval",
            Finding::Excursion { .. } => "excursion",
            Finding::Certificate { .. } => "certificate",
            Finding::Clean => "clean",
        }
    }
}

/// A record of the trace flagged by an overlay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Flagged {
    /// The record.
    pub record: Hash,
    /// Its signer's name, when known.
    pub signer: Option<String>,
    /// Its time (ms since epoch).
    pub time: u64,
    /// Why it is flagged.
    pub flag: Flag,
}

/// A certified claim valid at `now`, for the page's "certified" list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ValidClaim {
    /// The certified lot.
    pub lot: LotId,
    /// The claim.
    pub claim: String,
    /// The certificate's number, if any.
    pub number: Option<String>,
    /// Valid from (the certify record's time).
    pub valid_from: u64,
    /// Valid until, if it expires.
    pub valid_until: Option<u64>,
    /// The certify record.
    pub record: Hash,
}

/// The answer to "can I eat this?" for one lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// The lot.
    pub lot: LotId,
    /// The most severe finding ([`Finding::Clean`] when there is none).
    pub finding: Finding,
    /// The other findings, most severe first.
    pub also: Vec<Finding>,
    /// Records of the trace flagged by an overlay.
    pub flags: Vec<Flagged>,
    /// Certified claims valid at `now`.
    pub certified: Vec<ValidClaim>,
    /// Who a consumer should call (the regulator's contact from genesis).
    pub contact: Option<String>,
    /// The time the verdict was computed for (ms since epoch).
    pub now: u64,
}

impl Verdict {
    /// Whether nothing was found and nothing is flagged.
    pub fn is_clean(&self) -> bool {
        self.finding == Finding::Clean && self.flags.is_empty()
    }

    /// Every finding, most severe first (just [`Finding::Clean`] when
    /// there is none).
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        std::iter::once(&self.finding).chain(self.also.iter())
    }
}

/// The regulator's contact for consumers, from genesis.
pub fn contact(genesis: &Genesis) -> Option<String> {
    genesis.profile.contact.clone()
}

/// The verdict on `trace` at time `now` (ms since epoch), with the
/// contact from `genesis`.
pub fn verdict(trace: &Trace, genesis: &Genesis, now: u64) -> Verdict {
    let mut found = Vec::new();
    let by_hash: BTreeMap<Hash, &crate::query::TraceEvent> =
        trace.events.iter().map(|e| (e.hash, e)).collect();
    let signer = |h: &Hash| {
        by_hash
            .get(h)
            .and_then(|e| e.signer.as_ref())
            .map(|s| s.name.clone())
    };
    let time_of = |h: &Hash| by_hash.get(h).map_or(0, |e| e.time);
    let mut flags = Vec::new();
    for w in &trace.warnings {
        match w {
            Warning::Recalled {
                lot,
                record,
                reason,
            } => found.push(Finding::Recalled {
                lot: lot.clone(),
                this_lot: *lot == trace.lot,
                reason: reason.clone(),
                by: signer(record),
                time: time_of(record),
                record: *record,
            }),
            Warning::FailedInspection { lot, record, test } => {
                let notes = by_hash
                    .get(record)
                    .and_then(|e| match &e.event {
                        Event::Inspect { notes, .. } => Some(notes.clone()),
                        _ => None,
                    })
                    .unwrap_or_default();
                found.push(Finding::FailedTest {
                    lot: lot.clone(),
                    this_lot: *lot == trace.lot,
                    test: test.clone(),
                    notes,
                    by: signer(record),
                    time: time_of(record),
                    record: *record,
                });
            }
            // Excursions are read from the readings below, where
            // consecutive ones join into one.
            Warning::Excursion { .. } => {}
            Warning::SafetyInterval {
                lot,
                harvest,
                harvested,
                input,
                product,
                ingredients,
                applied,
                interval_days,
            } => found.push(Finding::SafetyInterval {
                lot: lot.clone(),
                this_lot: *lot == trace.lot,
                product: product.clone(),
                ingredients: ingredients.clone(),
                applied: *applied,
                harvested: *harvested,
                interval_days: *interval_days,
                by: signer(harvest),
                record: *harvest,
                input: *input,
            }),
            // Shown on the declared record itself, in the journey: its
            // author's own correction, no warning about the food.
            Warning::DeclaredErroneous { .. } => {}
            Warning::Flagged { record, flag } => flags.push(Flagged {
                record: *record,
                signer: signer(record),
                time: time_of(record),
                flag: *flag,
            }),
        }
    }
    found.extend(excursions(trace));
    let (bad, certified) = certificates(trace, now);
    found.extend(bad);
    // Stable: within one kind, the order found (recalls of this lot
    // first, then by time).
    found.sort_by_key(|f| {
        let (this, time) = match f {
            Finding::Recalled { this_lot, time, .. }
            | Finding::FailedTest { this_lot, time, .. } => (!*this_lot, *time),
            Finding::SafetyInterval {
                this_lot,
                harvested,
                ..
            } => (!*this_lot, *harvested),
            Finding::Excursion { from, .. } => (false, *from),
            Finding::Certificate { valid_from, .. } => (false, *valid_from),
            Finding::Clean => (false, 0),
        };
        (f.severity_rank(), this, time)
    });
    let mut found = found.into_iter();
    let finding = found.next().unwrap_or(Finding::Clean);
    Verdict {
        lot: trace.lot.clone(),
        finding,
        also: found.collect(),
        flags,
        certified,
        contact: contact(genesis),
        now,
    }
}

/// One reading with the record and place it came from.
struct Sample<'a> {
    time: u64,
    value: i64,
    min: i64,
    max: i64,
    record: Hash,
    location: &'a Location,
}

/// Runs of consecutive out-of-band readings, per lot and sensor, across
/// every observe record of the trace, in time order.
fn excursions(trace: &Trace) -> Vec<Finding> {
    let mut series: BTreeMap<(LotId, u8), (SensorKind, Vec<Sample<'_>>)> = BTreeMap::new();
    for e in &trace.events {
        if let Event::Observe {
            lot,
            location,
            readings,
        } = &e.event
        {
            for r in readings {
                let key = match r.kind {
                    SensorKind::Temperature => 0,
                    SensorKind::Humidity => 1,
                };
                series
                    .entry((lot.clone(), key))
                    .or_insert_with(|| (r.kind, Vec::new()))
                    .1
                    .push(Sample {
                        time: r.time,
                        value: r.value,
                        min: r.min,
                        max: r.max,
                        record: e.hash,
                        location,
                    });
            }
        }
    }
    let mut out = Vec::new();
    for ((lot, _), (sensor, mut samples)) in series {
        samples.sort_by_key(|s| s.time);
        let mut run: Option<Finding> = None;
        for s in &samples {
            let out_of_band = s.value < s.min || s.value > s.max;
            match (run.as_mut(), out_of_band) {
                (None, true) => {
                    run = Some(Finding::Excursion {
                        lot: lot.clone(),
                        sensor,
                        peak: s.value,
                        min: s.min,
                        max: s.max,
                        too_high: s.value > s.max,
                        from: s.time,
                        last_out: s.time,
                        back_in: None,
                        readings: 1,
                        location: s.location.clone(),
                        record: s.record,
                    });
                }
                (
                    Some(Finding::Excursion {
                        peak,
                        min,
                        max,
                        too_high,
                        last_out,
                        readings,
                        ..
                    }),
                    true,
                ) => {
                    let beyond = |v: i64| if v > *max { v - *max } else { *min - v };
                    if beyond(s.value) > beyond(*peak) {
                        *peak = s.value;
                        *too_high = s.value > *max;
                    }
                    *last_out = s.time;
                    *readings = readings.saturating_add(1);
                }
                (Some(Finding::Excursion { back_in, .. }), false) => {
                    *back_in = Some(s.time);
                    out.extend(run.take());
                }
                _ => {}
            }
        }
        out.extend(run);
    }
    out
}

/// The certificates not valid at `now`, and the claims that are: a claim
/// on a lot counts as valid when any of its certify records is valid.
fn certificates(trace: &Trace, now: u64) -> (Vec<Finding>, Vec<ValidClaim>) {
    let mut by_claim: BTreeMap<(LotId, String), Vec<ValidClaim>> = BTreeMap::new();
    for e in &trace.events {
        if let Event::Certify {
            lot,
            claim,
            reference,
            valid_until,
        } = &e.event
        {
            by_claim
                .entry((lot.clone(), claim.clone()))
                .or_default()
                .push(ValidClaim {
                    lot: lot.clone(),
                    claim: claim.clone(),
                    number: reference.as_ref().map(|r| r.number.clone()),
                    valid_from: e.time,
                    valid_until: *valid_until,
                    record: e.hash,
                });
        }
    }
    let problem = |c: &ValidClaim| {
        if now < c.valid_from {
            Some(CertificateProblem::NotYetValid)
        } else if c.valid_until.is_some_and(|u| now > u) {
            Some(CertificateProblem::Expired)
        } else {
            None
        }
    };
    let (mut bad, mut good) = (Vec::new(), Vec::new());
    for (_, certs) in by_claim {
        if let Some(ok) = certs.iter().rfind(|c| problem(c).is_none()) {
            good.push(ok.clone());
            continue;
        }
        // The latest certificate says why the claim does not hold now.
        if let Some(c) = certs.into_iter().max_by_key(|c| c.valid_from) {
            if let Some(p) = problem(&c) {
                bad.push(Finding::Certificate {
                    lot: c.lot,
                    claim: c.claim,
                    number: c.number,
                    valid_from: c.valid_from,
                    valid_until: c.valid_until,
                    problem: p,
                    record: c.record,
                });
            }
        }
    }
    (bad, good)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Product, Reading, RefDoc, Verdict as Outcome};
    use crate::graph::KeyInfo;
    use crate::key::PublicKey;
    use crate::query::TraceEvent;
    use crate::workload::{generate, Shape};
    use crate::Role;

    const HOUR: u64 = 3_600_000;
    const T0: u64 = 1_743_465_600_000; // 2025-04-01 00:00 UTC

    fn lot(code: &str) -> LotId {
        LotId {
            source: PublicKey([7; 32]),
            code: code.into(),
        }
    }

    fn place(d: &str) -> Location {
        Location {
            description: d.into(),
            gln: None,
        }
    }

    fn ev(n: u8, time: u64, event: Event) -> TraceEvent {
        TraceEvent {
            hash: Hash([n; 32]),
            author: PublicKey([n; 32]),
            signer: Some(KeyInfo {
                identity: PublicKey([n; 32]),
                role: Role::Lab,
                name: format!("signer {n}"),
            }),
            seq: 0,
            time,
            event,
            flags: Vec::new(),
        }
    }

    fn trace(events: Vec<TraceEvent>, warnings: Vec<Warning>) -> Trace {
        Trace {
            left_out: Vec::new(),
            lot: lot("PACK"),
            product: Some(Product {
                description: "tea".into(),
                gtin: None,
            }),
            events,
            upstream: vec![lot("LEAF")],
            downstream: Vec::new(),
            certifications: Vec::new(),
            warnings,
        }
    }

    fn genesis() -> Genesis {
        generate(Shape::for_records(10)).genesis
    }

    fn temp(time: u64, value: i64) -> Reading {
        Reading {
            time,
            kind: SensorKind::Temperature,
            value,
            min: 0,
            max: 8_000,
        }
    }

    fn observe(n: u8, readings: Vec<Reading>) -> TraceEvent {
        ev(
            n,
            T0 + 10 * HOUR,
            Event::Observe {
                lot: lot("PACK"),
                location: place("reefer truck"),
                readings,
            },
        )
    }

    fn certify(n: u8, time: u64, until: Option<u64>) -> TraceEvent {
        ev(
            n,
            time,
            Event::Certify {
                lot: lot("PACK"),
                claim: "organic".into(),
                reference: Some(RefDoc {
                    kind: "certificate".into(),
                    number: "ORG-1".into(),
                }),
                valid_until: until,
            },
        )
    }

    #[test]
    fn a_clean_trace_is_clean_and_lists_valid_claims() {
        let t = trace(vec![certify(1, T0, Some(T0 + 100 * HOUR))], vec![]);
        let v = verdict(&t, &genesis(), T0 + HOUR);
        assert_eq!(v.finding, Finding::Clean);
        assert!(v.is_clean());
        assert!(v.also.is_empty());
        assert_eq!(v.certified.len(), 1);
        assert_eq!(v.certified[0].number.as_deref(), Some("ORG-1"));
        assert_eq!(v.now, T0 + HOUR);
    }

    #[test]
    fn an_upstream_recall_comes_first_whatever_else_is_found() {
        let recall = ev(
            9,
            T0 + 20 * HOUR,
            Event::Recall {
                lot: lot("LEAF"),
                reason: "chlorpyrifos".into(),
            },
        );
        let test = ev(
            8,
            T0 + 19 * HOUR,
            Event::Inspect {
                lot: lot("LEAF"),
                test: "residue GB 2763".into(),
                verdict: Outcome::Fail,
                notes: "0.35 mg/kg".into(),
                reference: None,
            },
        );
        let obs = observe(3, vec![temp(T0, 9_600), temp(T0 + HOUR, 4_000)]);
        let warnings = vec![
            Warning::FailedInspection {
                lot: lot("LEAF"),
                record: test.hash,
                test: "residue GB 2763".into(),
            },
            Warning::Recalled {
                lot: lot("LEAF"),
                record: recall.hash,
                reason: "chlorpyrifos".into(),
            },
        ];
        let t = trace(vec![obs, test, recall], warnings);
        let v = verdict(&t, &genesis(), T0 + 30 * HOUR);
        let Finding::Recalled {
            lot: l,
            this_lot,
            reason,
            by,
            time,
            ..
        } = &v.finding
        else {
            panic!("expected a recall first, got {:?}", v.finding);
        };
        assert_eq!(l.code, "LEAF");
        assert!(!this_lot);
        assert_eq!(reason, "chlorpyrifos");
        assert_eq!(by.as_deref(), Some("signer 9"));
        assert_eq!(*time, T0 + 20 * HOUR);
        let kinds: Vec<&str> = v.also.iter().map(Finding::kind).collect();
        assert_eq!(kinds, ["failed_test", "excursion"]);
        assert!(!v.is_clean());
    }

    #[test]
    fn a_failed_test_carries_the_test_and_the_lab_notes() {
        let test = ev(
            8,
            T0,
            Event::Inspect {
                lot: lot("PACK"),
                test: "residue GB 2763".into(),
                verdict: Outcome::Fail,
                notes: "0.35 mg/kg".into(),
                reference: None,
            },
        );
        let w = Warning::FailedInspection {
            lot: lot("PACK"),
            record: test.hash,
            test: "residue GB 2763".into(),
        };
        let v = verdict(&trace(vec![test], vec![w]), &genesis(), T0 + HOUR);
        assert!(matches!(
            &v.finding,
            Finding::FailedTest { this_lot: true, test, notes, .. }
                if test == "residue GB 2763" && notes == "0.35 mg/kg"
        ));
    }

    #[test]
    fn consecutive_readings_out_of_band_are_one_excursion_with_a_duration() {
        let obs = observe(
            3,
            vec![
                temp(T0, 4_000),
                temp(T0 + HOUR, 9_600),
                temp(T0 + 2 * HOUR, 11_200),
                temp(T0 + 3 * HOUR, 10_000),
                temp(T0 + 4 * HOUR, 5_000),
                temp(T0 + 5 * HOUR, -1_500),
            ],
        );
        let v = verdict(&trace(vec![obs], vec![]), &genesis(), T0 + 9 * HOUR);
        let Finding::Excursion {
            sensor,
            peak,
            too_high,
            from,
            last_out,
            back_in,
            readings,
            location,
            max,
            ..
        } = &v.finding
        else {
            panic!("expected an excursion, got {:?}", v.finding);
        };
        assert_eq!(*sensor, SensorKind::Temperature);
        assert_eq!((*peak, *too_high, *max), (11_200, true, 8_000));
        assert_eq!((*from, *last_out), (T0 + HOUR, T0 + 3 * HOUR));
        assert_eq!(*back_in, Some(T0 + 4 * HOUR));
        assert_eq!(*readings, 3);
        assert_eq!(location.description, "reefer truck");
        // The cold reading at the end is a second excursion, never back in.
        assert!(matches!(
            v.also.as_slice(),
            [Finding::Excursion {
                peak: -1_500,
                too_high: false,
                back_in: None,
                readings: 1,
                ..
            }]
        ));
    }

    #[test]
    fn an_expired_certificate_is_named_unless_a_later_one_is_valid() {
        let old = certify(1, T0, Some(T0 + 10 * HOUR));
        let v = verdict(
            &trace(vec![old.clone()], vec![]),
            &genesis(),
            T0 + 11 * HOUR,
        );
        assert!(matches!(
            &v.finding,
            Finding::Certificate {
                problem: CertificateProblem::Expired,
                claim,
                number: Some(n),
                valid_from,
                valid_until: Some(u),
                ..
            } if claim == "organic" && n == "ORG-1" && *valid_from == T0 && *u == T0 + 10 * HOUR
        ));
        assert!(v.certified.is_empty());
        // Renewed: the claim holds again.
        let renewed = certify(2, T0 + 9 * HOUR, Some(T0 + 100 * HOUR));
        let v = verdict(
            &trace(vec![old, renewed], vec![]),
            &genesis(),
            T0 + 11 * HOUR,
        );
        assert_eq!(v.finding, Finding::Clean);
        assert_eq!(v.certified.len(), 1);
    }

    #[test]
    fn a_certificate_dated_after_now_is_not_yet_valid() {
        let c = certify(1, T0 + 5 * HOUR, None);
        let v = verdict(&trace(vec![c], vec![]), &genesis(), T0);
        assert!(matches!(
            &v.finding,
            Finding::Certificate {
                problem: CertificateProblem::NotYetValid,
                valid_until: None,
                ..
            }
        ));
    }

    #[test]
    fn flags_are_listed_beside_a_clean_finding() {
        let e = ev(
            4,
            T0,
            Event::Sell {
                lot: lot("PACK"),
                quantity: crate::Quantity::new(1, crate::Unit::Case),
                location: place("shop"),
            },
        );
        let w = Warning::Flagged {
            record: e.hash,
            flag: Flag::Equivocation { fork_seq: 3 },
        };
        let v = verdict(&trace(vec![e], vec![w]), &genesis(), T0);
        assert_eq!(v.finding, Finding::Clean);
        assert!(!v.is_clean());
        assert_eq!(v.flags.len(), 1);
        assert_eq!(v.flags[0].signer.as_deref(), Some("signer 4"));
        assert_eq!(v.flags[0].flag, Flag::Equivocation { fork_seq: 3 });
    }

    #[test]
    fn the_verdict_serializes_with_its_kind() {
        let v = verdict(&trace(vec![], vec![]), &genesis(), T0);
        let j = serde_json::to_value(&v).unwrap_or_default();
        assert_eq!(j["finding"]["kind"], "clean");
        assert_eq!(j["now"], T0);
    }
}
