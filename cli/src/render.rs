//! The human-readable trace: a timeline of who did what, where, when and
//! how much, then certifications, upstream and downstream lots, and every
//! warning (recall, failed inspection, temperature excursion, revoked key,
//! equivocation).

use ledger_core::event::{thousandths, Action, Location, Reading, SensorKind, Verdict as Outcome};
use ledger_core::excursion::{excursion_events, ExcursionEvent};
use ledger_core::graph::KeyInfo;
use ledger_core::overlay::Flag;
use ledger_core::query::{Trace, TraceEvent};
use ledger_core::reach::{Holding, InTransit};
use ledger_core::verdict::{CertificateProblem, Finding, Verdict};
use ledger_core::{gs1, Event, LotId, PublicKey, Quantity};

use crate::output::{say, BAD, BOLD, DIM, KEY, OK, WARN};
use crate::parse::show_time;

/// Looks up a participant's display name.
type Lookup<'a> = Box<dyn Fn(&PublicKey) -> Option<String> + 'a>;

/// Names keys: from the address book or a trace's own signer info, else
/// the short key.
pub(crate) struct Names<'a> {
    lookup: Lookup<'a>,
}

impl<'a> Names<'a> {
    pub(crate) fn new(lookup: impl Fn(&PublicKey) -> Option<String> + 'a) -> Self {
        Names {
            lookup: Box::new(lookup),
        }
    }

    /// Names known from the trace's signers only (for offline bundles).
    pub(crate) fn from_trace(trace: &'a Trace) -> Self {
        Names::new(move |k| {
            trace
                .events
                .iter()
                .filter_map(|e| e.signer.as_ref())
                .find(|s| s.identity == *k)
                .map(|s| s.name.clone())
                .or_else(|| {
                    trace.events.iter().find_map(|e| match &e.event {
                        Event::Enroll {
                            participant, name, ..
                        } if participant == k => Some(name.clone()),
                        _ => None,
                    })
                })
        })
    }

    pub(crate) fn of(&self, k: &PublicKey) -> String {
        (self.lookup)(k).unwrap_or_else(|| k.short())
    }

    fn lot(&self, l: &LotId) -> String {
        format!("{l} ({})", self.of(&l.source))
    }
}

fn place(l: &Location) -> String {
    match (&l.description, &l.gln) {
        (d, Some(g)) if !d.is_empty() => format!("{d} (GLN {g})"),
        (_, Some(g)) => format!("GLN {g}"),
        (d, None) => d.clone(),
    }
}

fn at(l: &Location) -> String {
    let p = place(l);
    if p.is_empty() {
        String::new()
    } else {
        format!(" at {p}")
    }
}

/// `9.6 °C (allowed 0 to 8 °C)`.
pub(crate) fn reading(r: &Reading) -> String {
    let u = r.kind.unit_symbol();
    let what = match r.kind {
        SensorKind::Temperature => "temperature",
        SensorKind::Humidity => "humidity",
    };
    let allowed = match r.bounds() {
        (Some(lo), Some(hi)) => {
            format!(" (allowed {} to {} {u})", thousandths(lo), thousandths(hi))
        }
        (Some(lo), None) => format!(" (allowed from {} {u})", thousandths(lo)),
        (None, Some(hi)) => format!(" (allowed up to {} {u})", thousandths(hi)),
        (None, None) => String::new(),
    };
    format!("{what} {} {u}{allowed}", thousandths(r.value))
}

fn signer(e: &TraceEvent, names: &Names<'_>) -> String {
    match &e.signer {
        Some(KeyInfo { name, role, .. }) => format!("{name} ({role})"),
        None => names.of(&e.author),
    }
}

/// `120 kg`, `2.5 kg`, `500 g`, `1.25 l`, `24 case`.
pub(crate) fn q(q: &Quantity) -> String {
    q.to_string()
}

/// `A holds 2 kg; B holds 1 kg`, or `none left in stock`; `name` shortens
/// or styles a participant's name.
pub(crate) fn holders(hs: &[Holding], name: impl Fn(&str) -> String) -> String {
    if hs.is_empty() {
        return "none left in stock".to_owned();
    }
    hs.iter()
        .map(|h| {
            let who = h
                .name
                .as_deref()
                .map_or_else(|| h.participant.short(), &name);
            format!("{who} holds {}", h.quantity)
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `20 kg in transit from A to B, shipped 2025-04-08 06:00 +08:00`.
pub(crate) fn in_transit(t: &InTransit, name: impl Fn(&str) -> String) -> String {
    let who = |n: &Option<String>, k: &PublicKey| n.as_deref().map_or_else(|| k.short(), &name);
    format!(
        "{} in transit from {} to {}, shipped {}",
        t.quantity,
        who(&t.from_name, &t.from),
        who(&t.to_name, &t.to),
        show_time(t.shipped_at)
    )
}

/// The lines describing one event.
pub(crate) fn describe(e: &Event, names: &Names<'_>) -> Vec<String> {
    match e {
        Event::Harvest {
            lot_code,
            product,
            quantity,
            location,
            reference,
        } => {
            let mut v = vec![format!(
                "harvested {} of {}{} as lot {lot_code}{}",
                q(quantity),
                product.description,
                product
                    .gtin
                    .as_ref()
                    .map(|g| format!(" (GTIN {g})"))
                    .unwrap_or_default(),
                at(location)
            )];
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v
        }
        Event::Transform {
            process,
            inputs,
            outputs,
            loss,
            location,
            reference,
        } => {
            let unit = inputs.first().map(|i| i.quantity.unit);
            let mut v = vec![format!("{process}{}", at(location))];
            for i in inputs {
                v.push(format!(
                    "in:  {} of lot {}",
                    q(&i.quantity),
                    names.lot(&i.lot)
                ));
            }
            for o in outputs {
                v.push(format!(
                    "out: {} of {}{} as lot {}",
                    q(&o.quantity),
                    o.product.description,
                    o.product
                        .gtin
                        .as_ref()
                        .map(|g| format!(" (GTIN {g})"))
                        .unwrap_or_default(),
                    o.code
                ));
            }
            if let (Some(u), true) = (unit, *loss > 0) {
                v.push(format!("loss: {}", q(&Quantity::new(*loss, u))));
            }
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v
        }
        Event::Ship {
            lot,
            quantity,
            to,
            from,
            destination,
            reference,
        } => {
            let mut v = vec![format!(
                "shipped {} of lot {} to {}",
                q(quantity),
                names.lot(lot),
                names.of(to)
            )];
            let (f, d) = (place(from), place(destination));
            if !f.is_empty() || !d.is_empty() {
                v.push(format!("from {f} to {d}"));
            }
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v
        }
        Event::Receive {
            shipment,
            lot,
            quantity,
            location,
            reference,
        } => {
            let mut v = vec![format!(
                "received {} of lot {}{} (shipment {})",
                q(quantity),
                names.lot(lot),
                at(location),
                shipment.short()
            )];
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v
        }
        Event::Observe {
            lot,
            location,
            readings,
        } => {
            let mut v = vec![format!(
                "observed lot {}{}: {} reading(s)",
                names.lot(lot),
                at(location),
                readings.len()
            )];
            for r in readings {
                let flag = if r.is_excursion() { "  EXCURSION" } else { "" };
                v.push(format!("{}  {}{flag}", show_time(r.time), reading(r)));
            }
            v
        }
        Event::Inspect {
            lot,
            test,
            verdict,
            notes,
            reference,
        } => {
            let verdict = match verdict {
                Outcome::Pass => "PASS",
                Outcome::Fail => "FAIL",
            };
            let mut v = vec![format!(
                "inspected lot {}: {test}: {verdict}",
                names.lot(lot)
            )];
            if !notes.is_empty() {
                v.push(notes.clone());
            }
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v
        }
        Event::Certify {
            lot,
            claim,
            reference,
            valid_until,
        } => {
            let mut v = vec![format!("certified lot {}: {claim}", names.lot(lot))];
            v.extend(
                reference
                    .as_ref()
                    .map(|r| format!("{}: {}", r.kind, r.number)),
            );
            v.extend(valid_until.map(|t| format!("valid until {}", show_time(t))));
            v
        }
        Event::Recall { lot, reason } => {
            vec![format!("RECALLED lot {}: {reason}", names.lot(lot))]
        }
        Event::Sell {
            lot,
            quantity,
            location,
        } => vec![format!(
            "sold {} of lot {}{}",
            q(quantity),
            names.lot(lot),
            at(location)
        )],
        Event::Enroll {
            participant,
            name,
            role,
            location,
        } => vec![format!(
            "enrolled {name} as {role}{} (key {})",
            at(location),
            participant.short()
        )],
        Event::Revoke {
            key,
            last_trusted_seq,
            reason,
        } => vec![format!(
            "revoked key {} ({}) after {}: {reason}",
            key.short(),
            names.of(key),
            last_trusted_seq.map_or("its first record".into(), |s| format!("seq {s}"))
        )],
        Event::RotateKey { new_key } => {
            vec![format!("handed its identity to key {}", new_key.short())]
        }
        Event::AssignPrefix {
            participant,
            prefix,
        } => vec![format!(
            "assigned GS1 company prefix {prefix} to {}",
            names.of(participant)
        )],
        Event::AuthorisePacker {
            packer,
            prefix,
            valid_until,
        } => vec![format!(
            "authorised {} to pack GTINs under {prefix}{}",
            names.of(packer),
            valid_until.map_or(String::new(), |u| format!(
                " until {}",
                crate::parse::show_time(u)
            ))
        )],
        Event::Aggregate {
            action,
            parent,
            children,
            location,
        }
        | Event::Associate {
            action,
            parent,
            children,
            location,
        } => {
            let verb = match (e, action) {
                (Event::Aggregate { .. }, Action::Add) => "packed into",
                (Event::Aggregate { .. }, Action::Observe) => "counted in",
                (Event::Aggregate { .. }, Action::Delete) => "unpacked from",
                (_, Action::Add) => "attached to",
                (_, Action::Observe) => "checked on",
                (_, Action::Delete) => "detached from",
            };
            let mut v = vec![format!(
                "{verb} {}{}",
                gs1::parent_words(parent),
                at(location)
            )];
            if children.is_empty() {
                v.push("all its contents".to_owned());
            }
            for c in children {
                v.push(format!("{} of lot {}", q(&c.quantity), names.lot(&c.lot)));
            }
            v
        }
        Event::Transact {
            action,
            documents,
            lots,
            location,
        } => {
            let verb = match action {
                Action::Add => "linked",
                Action::Observe => "confirmed",
                Action::Delete => "unlinked",
            };
            let docs: Vec<String> = documents
                .iter()
                .map(|d| format!("{} {}", d.kind, d.number))
                .collect();
            let mut v = vec![format!("{verb} {}{}", docs.join(", "), at(location))];
            for l in lots {
                v.push(format!("{} of lot {}", q(&l.quantity), names.lot(&l.lot)));
            }
            v
        }
        Event::Identify { participant, uscc } => vec![format!(
            "recorded the unified social credit code of {}: {uscc}",
            names.of(participant)
        )],
        Event::InputUse {
            product,
            ingredients,
            registration,
            dose,
            field,
            safety_interval_days,
        } => {
            let mut v = vec![format!(
                "applied {} of {product} ({}){}",
                q(dose),
                ingredients.join(", "),
                at(field)
            )];
            v.extend(registration.as_ref().map(|r| format!("registration {r}")));
            v.push(match safety_interval_days {
                0 => "no pre-harvest safety interval".to_owned(),
                1 => "pre-harvest safety interval 1 day".to_owned(),
                n => format!("pre-harvest safety interval {n} days"),
            });
            v
        }
        Event::Certificate {
            lot,
            quantity,
            origin,
            contact,
            basis,
            tests,
            inputs,
        } => {
            let basis = match basis {
                ledger_core::event::Basis::QualityControl => "quality and safety control",
                ledger_core::event::Basis::OwnTest => "own test",
                ledger_core::event::Basis::CommissionedTest => "test by a commissioned lab",
            };
            let mut v = vec![
                format!(
                    "compliance certificate (承诺达标合格证) for {} of lot {}",
                    q(quantity),
                    names.lot(lot)
                ),
                format!("origin {origin}, contact {contact}; basis: {basis}"),
            ];
            if !tests.is_empty() {
                let t: Vec<String> = tests.iter().map(|h| h.short()).collect();
                v.push(format!("tests {}", t.join(", ")));
            }
            if !inputs.is_empty() {
                let c: Vec<String> = inputs.iter().map(|h| h.short()).collect();
                v.push(format!("from the certificates {}", c.join(", ")));
            }
            v
        }
        Event::Correct {
            record,
            reason,
            corrective,
            ..
        } => {
            let mut v = vec![format!(
                "declared its record {} erroneous{}",
                record.short(),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(": {}", error_reason(reason))
                }
            )];
            if !corrective.is_empty() {
                let c: Vec<String> = corrective.iter().map(|h| h.short()).collect();
                v.push(format!("corrected by {}", c.join(", ")));
            }
            v
        }
    }
}

/// A time span in days and hours, as a person reads it: `3 days 4 h`,
/// `1 day`, `5 h`.
pub(crate) fn span_days(ms: u64) -> String {
    let hours = ms / 3_600_000;
    let (days, hours) = (hours / 24, hours % 24);
    let d = match days {
        0 => String::new(),
        1 => "1 day".to_owned(),
        n => format!("{n} days"),
    };
    match (d.is_empty(), hours) {
        (true, h) => format!("{h} h"),
        (false, 0) => d,
        (false, h) => format!("{d} {h} h"),
    }
}

/// Why a record was declared erroneous, in words: the CBV reasons
/// (`did_not_occur`, `incorrect_data`) spelled out, anything else as
/// written.
pub(crate) fn error_reason(reason: &str) -> &str {
    match ledger_core::event::bare_error_reason(reason) {
        "did_not_occur" => "the event did not occur",
        "incorrect_data" => "its data were incorrect",
        other => other,
    }
}

fn flag(f: &Flag) -> String {
    match f {
        Flag::Revoked { revocation } => {
            format!(
                "signed by a revoked key (revocation {})",
                revocation.short()
            )
        }
        Flag::Equivocation { fork_seq } => {
            format!("its author equivocated (two records at seq {fork_seq})")
        }
        Flag::Tainted { source } => format!("depends on flagged record {}", source.short()),
    }
}

/// `40 min`, `1 h`, `2 h 5 min` (whole minutes, rounded down).
fn mins(ms: u64) -> String {
    let m = ms / 60_000;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// A value in thousandths with one decimal, rounded half away from zero:
/// `12.4`, `-1.5`, `8.0`.
fn one_decimal(v: i64) -> String {
    let tenths = (i128::from(v) + if v < 0 { -50 } else { 50 }) / 100;
    let sign = if tenths < 0 { "-" } else { "" };
    let t = tenths.unsigned_abs();
    format!("{sign}{}.{}", t / 10, t % 10)
}

/// One excursion event as a line: `temperature excursion on QDH-0403:
/// 40 min from 2025-04-12 10:20 UTC to 11:00, peak 12.4 °C (allowed 0–8
/// °C), 5 readings`. The end shows only its clock time when it falls on
/// the start's date.
pub(crate) fn excursion_event(e: &ExcursionEvent) -> String {
    let what = match e.kind {
        SensorKind::Temperature => "temperature",
        SensorKind::Humidity => "humidity",
    };
    let u = e.kind.unit_symbol();
    let start = show_time(e.start);
    let when = if e.readings <= 1 {
        format!("at {start}")
    } else {
        let end = show_time(e.end);
        let end = match (start.get(..10), end.get(..10), end.get(11..16)) {
            (Some(a), Some(b), Some(clock)) if a == b => clock.to_owned(),
            _ => end,
        };
        format!("{} from {start} to {end}", mins(e.duration_ms))
    };
    format!(
        "{what} excursion on {}: {when}, peak {} {u} (allowed {}–{} {u}), {} reading{}",
        e.lot.code,
        one_decimal(e.peak.value),
        thousandths(e.peak.min),
        thousandths(e.peak.max),
        e.readings,
        if e.readings == 1 { "" } else { "s" }
    )
}

/// `for up to 1 h (from 2025-04-08 00:45 UTC until the reading of 01:45 was back in range)`.
fn excursion_span(from: u64, last_out: u64, back_in: Option<u64>, readings: u32) -> String {
    match back_in {
        Some(b) => format!(
            "for up to {} (from {}; back in range at {})",
            mins(b.saturating_sub(from)),
            show_time(from),
            show_time(b)
        ),
        None if readings > 1 => format!(
            "for at least {} (from {}; not back in range at the last reading)",
            mins(last_out.saturating_sub(from)),
            show_time(from)
        ),
        None => format!("at {} (the last reading)", show_time(from)),
    }
}

/// One finding of a verdict, as a sentence.
pub(crate) fn finding(f: &Finding, names: &Names<'_>) -> String {
    match f {
        Finding::Recalled {
            lot,
            this_lot,
            reason,
            time,
            ..
        } => {
            let whose = if *this_lot {
                format!("lot {}", names.lot(lot))
            } else {
                format!("lot {}, which it was made from,", names.lot(lot))
            };
            format!(
                "RECALLED: {whose} was recalled on {}: {reason}",
                show_time(*time)
            )
        }
        Finding::FailedTest {
            lot,
            test,
            notes,
            time,
            ..
        } => {
            let notes = if notes.is_empty() {
                String::new()
            } else {
                format!(" ({notes})")
            };
            format!(
                "FAILED TEST: lot {} failed {test} on {}{notes}",
                names.lot(lot),
                show_time(*time)
            )
        }
        Finding::SafetyInterval {
            lot,
            this_lot,
            product,
            ingredients,
            applied,
            harvested,
            interval_days,
            ..
        } => {
            let whose = if *this_lot {
                format!("lot {}", names.lot(lot))
            } else {
                format!("lot {}, which it was made from,", names.lot(lot))
            };
            format!(
                "HARVESTED INSIDE A SAFETY INTERVAL: {whose} was harvested {} after {product} ({}) was applied on {}; its label sets {interval_days} days",
                span_days(harvested.saturating_sub(*applied)),
                ingredients.join(", "),
                show_time(*applied)
            )
        }
        Finding::Excursion {
            lot,
            sensor,
            peak,
            min,
            max,
            too_high,
            from,
            last_out,
            back_in,
            readings,
            location,
            ..
        } => {
            let what = match sensor {
                SensorKind::Temperature => "temperature",
                SensorKind::Humidity => "humidity",
            };
            let u = sensor.unit_symbol();
            format!(
                "EXCURSION: lot {} {what} {} {} {u} (allowed {} to {} {u}) {}{}",
                names.lot(lot),
                if *too_high { "up to" } else { "down to" },
                thousandths(*peak),
                thousandths(*min),
                thousandths(*max),
                excursion_span(*from, *last_out, *back_in, *readings),
                at(location)
            )
        }
        Finding::Certificate {
            lot,
            claim,
            number,
            valid_from,
            valid_until,
            problem,
            ..
        } => {
            let number = number
                .as_ref()
                .map(|n| format!(" (certificate {n})"))
                .unwrap_or_default();
            let until = valid_until
                .map(|u| format!(" until {}", show_time(u)))
                .unwrap_or_default();
            let state = match problem {
                CertificateProblem::Expired => "EXPIRED",
                CertificateProblem::NotYetValid => "NOT YET VALID",
            };
            format!(
                "CERTIFICATE {state}: {claim}{number} on lot {}, valid from {}{until}",
                names.lot(lot),
                show_time(*valid_from)
            )
        }
        Finding::Clean => {
            "no recall, no failed test, no excursion, every certificate valid".to_owned()
        }
    }
}

/// Prints the verdict: the most severe finding first, what to do, then the
/// other findings and the flags.
pub(crate) fn print_verdict(v: &Verdict, names: &Names<'_>) {
    let advice = match &v.finding {
        Finding::Recalled { .. } | Finding::FailedTest { .. } => {
            Some("Do not eat it; return it to the shop where it was bought.")
        }
        Finding::SafetyInterval { .. } => {
            Some("Residues may exceed the limits: do not eat it until it is tested; ask the shop.")
        }
        Finding::Excursion { .. } => Some("Quality may be affected: check it before eating."),
        Finding::Certificate { .. } => {
            Some("The claim is not certified now; nothing is recalled and no test failed.")
        }
        Finding::Clean => None,
    };
    if v.finding == Finding::Clean {
        say!("{OK}Verdict: clean{OK:#}: {}.", finding(&v.finding, names));
    } else {
        let style = if v.finding.severity_rank() <= 1 {
            BAD
        } else {
            WARN
        };
        say!("{style}Verdict: {}{style:#}", finding(&v.finding, names));
    }
    if let Some(a) = advice {
        say!("  {a}");
        if let Some(c) = &v.contact {
            say!("  Questions: {c}");
        }
    }
    if !v.also.is_empty() {
        say!("{WARN}Also ({}){WARN:#}", v.also.len());
        for f in &v.also {
            say!("  {WARN}⚠{WARN:#} {}", finding(f, names));
        }
    }
    if !v.flags.is_empty() {
        say!("{BAD}Flagged records ({}){BAD:#}", v.flags.len());
        for f in &v.flags {
            say!(
                "  {BAD}⚠{BAD:#} record {} ({}) {}",
                f.record.short(),
                show_time(f.time),
                flag(&f.flag)
            );
        }
    }
}

/// Prints the whole trace.
pub(crate) fn print_trace(t: &Trace, v: &Verdict, names: &Names<'_>) {
    let product = t.product.as_ref();
    say!(
        "{BOLD}Lot {}{BOLD:#}  {}{}",
        names.lot(&t.lot),
        product.map(|p| p.description.as_str()).unwrap_or(""),
        product
            .and_then(|p| p.gtin.as_ref())
            .map(|g| format!("  GTIN {g}"))
            .unwrap_or_default()
    );
    say!();
    for e in &t.events {
        let lines = describe(&e.event, names);
        say!(
            "{KEY}{}{KEY:#}  {BOLD}{:<9}{BOLD:#} {}  {DIM}{}{DIM:#}",
            show_time(e.time),
            e.event.kind().as_str(),
            signer(e, names),
            e.hash.short()
        );
        for line in lines {
            let style = if line.contains("EXCURSION")
                || line.contains("FAIL")
                || line.starts_with("RECALLED")
            {
                WARN
            } else {
                anstyle::Style::new()
            };
            say!("                               {style}{line}{style:#}");
        }
        for (declaration, reason) in t.declared_erroneous(&e.hash) {
            let why = if reason.is_empty() {
                String::new()
            } else {
                format!(": {}", error_reason(reason))
            };
            say!(
                "                               {WARN}⚠ declared erroneous by its signer{why} ({}){WARN:#}",
                declaration.short()
            );
        }
        for f in &e.flags {
            say!("                               {BAD}⚠ {}{BAD:#}", flag(f));
        }
    }
    say!();
    if !t.certifications.is_empty() {
        say!("{BOLD}Certified{BOLD:#}");
        for (lot, claim, h) in &t.certifications {
            say!(
                "  {OK}✓{OK:#} {claim}  (lot {}, record {})",
                names.lot(lot),
                h.short()
            );
        }
    }
    if !t.upstream.is_empty() {
        say!("{BOLD}Made from{BOLD:#}");
        for l in &t.upstream {
            say!("  {}", names.lot(l));
        }
    }
    if !t.downstream.is_empty() {
        say!("{BOLD}Made into{BOLD:#}");
        for l in &t.downstream {
            say!("  {}", names.lot(l));
        }
    }
    let excursions = excursion_events(t);
    if !excursions.is_empty() {
        say!("{WARN}Excursions ({}){WARN:#}", excursions.len());
        for e in &excursions {
            say!("  {WARN}⚠{WARN:#} {}", excursion_event(e));
        }
    }
    if !t.left_out.is_empty() {
        say!(
            "{DIM}Left out ({}): signed by someone who never had the lot they name{DIM:#}",
            t.left_out.len()
        );
        for e in &t.left_out {
            say!(
                "  {DIM}{}  {} by {}  {}{DIM:#}",
                show_time(e.time),
                e.event.kind().as_str(),
                signer(e, names),
                e.hash.short()
            );
        }
    }
    print_verdict(v, names);
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::excursion::Peak;
    use ledger_core::Hash;

    #[test]
    fn a_reading_shows_only_the_bounds_its_range_has() {
        let r = |min, max| Reading {
            time: 0,
            kind: SensorKind::Temperature,
            value: 4_100,
            min,
            max,
        };
        assert_eq!(
            reading(&r(0, 8_000)),
            "temperature 4.1 °C (allowed 0 to 8 °C)"
        );
        assert_eq!(
            reading(&r(i64::MIN, 8_000)),
            "temperature 4.1 °C (allowed up to 8 °C)"
        );
        assert_eq!(
            reading(&r(0, i64::MAX)),
            "temperature 4.1 °C (allowed from 0 °C)"
        );
        assert_eq!(reading(&r(i64::MIN, i64::MAX)), "temperature 4.1 °C");
    }

    const MIN: u64 = 60_000;
    const T0: u64 = 1_744_453_200_000; // 2025-04-12 10:20 UTC

    fn event(kind: SensorKind, readings: u32, duration_ms: u64, peak: Peak) -> ExcursionEvent {
        ExcursionEvent {
            lot: LotId {
                source: PublicKey([7; 32]),
                code: "QDH-0403".into(),
            },
            kind,
            start: T0,
            end: T0 + duration_ms,
            duration_ms,
            peak,
            readings,
            records: vec![Hash([1; 32])],
        }
    }

    #[test]
    fn an_excursion_event_is_one_line_in_human_units() {
        let e = event(
            SensorKind::Temperature,
            5,
            40 * MIN,
            Peak {
                value: 12_420,
                min: 0,
                max: 8_000,
            },
        );
        assert_eq!(
            excursion_event(&e),
            "temperature excursion on QDH-0403: 40 min from 2025-04-12 10:20 UTC to 11:00, \
             peak 12.4 °C (allowed 0–8 °C), 5 readings"
        );
        let h = event(
            SensorKind::Humidity,
            1,
            0,
            Peak {
                value: 85_000,
                min: 50_000,
                max: 70_000,
            },
        );
        assert_eq!(
            excursion_event(&h),
            "humidity excursion on QDH-0403: at 2025-04-12 10:20 UTC, \
             peak 85.0 %RH (allowed 50–70 %RH), 1 reading"
        );
    }

    #[test]
    fn one_decimal_rounds_half_away_from_zero() {
        assert_eq!(one_decimal(12_449), "12.4");
        assert_eq!(one_decimal(12_450), "12.5");
        assert_eq!(one_decimal(-1_550), "-1.6");
        assert_eq!(one_decimal(-40), "0.0");
        assert_eq!(one_decimal(8_000), "8.0");
    }
}
