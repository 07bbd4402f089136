//! The journey as a timeline: one item per event, in the network's local
//! time, and the route as an ordered list of places.

use std::collections::BTreeMap;
use std::fmt::Write;

use ledger_core::event::{Location, Reading, SensorKind, Verdict as Outcome};
use ledger_core::query::{Trace, TraceEvent};
use ledger_core::{gs1, Event, LotId};

use super::certificate::basis_words;
use super::verdict::flag_words;
use super::{chart, doc, esc, lot_words, place, who, Ctx, Lang};

/// One event of the journey as a timeline entry.
pub(super) fn event_item(ctx: &Ctx<'_>, t: &Trace, e: &TraceEvent) -> String {
    let l = ctx.lang;
    let g = ctx.genesis;
    let alert = matches!(
        &e.event,
        Event::Recall { .. }
            | Event::Inspect {
                verdict: Outcome::Fail,
                ..
            }
    ) || matches!(&e.event, Event::Observe { readings, .. } if readings.iter().any(Reading::is_excursion))
        || !e.flags.is_empty();
    let declared = t.declared_erroneous(&e.hash);
    let mut h = String::new();
    let _ = write!(
        h,
        "<li{}><p class=\"when\">{}</p><h3>{}</h3>",
        if alert {
            " class=\"alert\""
        } else if !declared.is_empty() {
            " class=\"erroneous\""
        } else {
            ""
        },
        l.datetime(e.time, g),
        l.event(e.event.kind())
    );
    let signer = match &e.signer {
        Some(s) => format!("{} · {}", esc(&s.name), l.role(s.role)),
        None => e.author.short(),
    };
    let _ = write!(
        h,
        "<p class=\"small\">{}{signer}</p>",
        l.tr("签名：", "Signed by ")
    );
    let lotw = |lot: &LotId| lot_words(ctx, t, lot);
    match &e.event {
        Event::Harvest {
            lot_code,
            product,
            quantity,
            location,
            reference,
        } => {
            let _ = write!(
                h,
                "<p>{} {}{}{}</p><p class=\"small\">{}{}</p>{}",
                l.quantity(quantity),
                esc(&product.description),
                l.tr("，批次 ", ", lot "),
                esc(lot_code),
                l.tr("地点：", "Where: "),
                esc(&place(location)),
                doc(l, reference)
            );
        }
        Event::Transform {
            process,
            inputs,
            outputs,
            location,
            reference,
            ..
        } => {
            let _ = write!(h, "<p>{}</p>", esc(process));
            for i in inputs {
                let _ = write!(
                    h,
                    "<p class=\"small\">{}{} {}</p>",
                    l.tr("原料：", "From: "),
                    l.quantity(&i.quantity),
                    lotw(&i.lot)
                );
            }
            for o in outputs {
                let _ = write!(
                    h,
                    "<p>{}{} {}{}{}</p>",
                    l.tr("制成：", "Made: "),
                    l.quantity(&o.quantity),
                    esc(&o.product.description),
                    l.tr("，批次 ", ", lot "),
                    esc(&o.code)
                );
            }
            let _ = write!(
                h,
                "<p class=\"small\">{}{}</p>{}",
                l.tr("地点：", "Where: "),
                esc(&place(location)),
                doc(l, reference)
            );
        }
        Event::Ship {
            lot,
            quantity,
            to,
            from,
            destination,
            reference,
        } => {
            let _ = write!(
                h,
                "<p>{} {}{}{}</p><p class=\"small\">{}{}</p><p class=\"small\">{}{}</p>{}",
                l.quantity(quantity),
                lotw(lot),
                l.tr(" 发往 ", " to "),
                esc(&who(t, to)),
                l.tr("从：", "From: "),
                esc(&place(from)),
                l.tr("到：", "To: "),
                esc(&place(destination)),
                doc(l, reference)
            );
        }
        Event::Receive {
            lot,
            quantity,
            location,
            reference,
            ..
        } => {
            let _ = write!(
                h,
                "<p>{} {}</p><p class=\"small\">{}{}</p>{}",
                l.quantity(quantity),
                lotw(lot),
                l.tr("地点：", "Where: "),
                esc(&place(location)),
                doc(l, reference)
            );
        }
        Event::Observe {
            location, readings, ..
        } => {
            let _ = write!(
                h,
                "<p class=\"small\">{}{}</p>",
                l.tr("地点：", "Where: "),
                esc(&place(location))
            );
            let mut by_kind: BTreeMap<u8, Vec<Reading>> = BTreeMap::new();
            for r in readings {
                let k = match r.kind {
                    SensorKind::Temperature => 0,
                    SensorKind::Humidity => 1,
                };
                by_kind.entry(k).or_default().push(*r);
            }
            for rs in by_kind.values() {
                let out = rs.iter().filter(|r| r.is_excursion()).count();
                if let Some(first) = rs.first() {
                    let allowed = match l.allowed(first.min, first.max, first.kind) {
                        Some(range) => format!("{}{range}", l.tr("，允许 ", ", allowed ")),
                        None => l
                            .tr("，未给出允许范围", ", no allowed range given")
                            .to_owned(),
                    };
                    let _ = write!(
                        h,
                        "<p>{}{}{}{}</p>",
                        rs.len(),
                        l.tr(" 次读数", " readings"),
                        allowed,
                        if out > 0 {
                            format!(
                                "{}{out}{}",
                                l.tr("，<b>", "; <b>"),
                                l.tr(" 次超出范围</b>", " out of range</b>")
                            )
                        } else {
                            l.tr("，全部在范围内", "; all in range").to_owned()
                        }
                    );
                }
                h.extend(chart::chart(rs, l, g));
            }
        }
        Event::Inspect {
            lot,
            test,
            verdict,
            notes,
            reference,
        } => {
            let result = match verdict {
                Outcome::Pass => l.tr("合格", "PASS"),
                Outcome::Fail => l.tr("不合格", "FAIL"),
            };
            let _ = write!(
                h,
                "<p>{}：{}</p><p><b>{result}</b>{}</p>{}",
                lotw(lot),
                esc(test),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!("{}{}", l.tr("：", ": "), esc(notes))
                },
                doc(l, reference)
            );
        }
        Event::Certify {
            lot,
            claim,
            reference,
            valid_until,
        } => {
            let validity = match valid_until {
                Some(u) => format!(
                    "{}{}{}{}",
                    l.tr("有效期 ", "Valid "),
                    l.date(e.time, g),
                    l.tr(" 至 ", " to "),
                    l.date(*u, g)
                ),
                None => format!("{}{}", l.tr("生效日期 ", "Valid from "), l.date(e.time, g)),
            };
            let _ = write!(
                h,
                "<p><b>{}</b></p><p class=\"small\">{}</p><p class=\"small\">{validity}</p>{}",
                esc(claim),
                lotw(lot),
                doc(l, reference)
            );
        }
        Event::Recall { lot, reason } => {
            let _ = write!(
                h,
                "<p><b>{}</b>{}{}</p>",
                lotw(lot),
                l.tr("，原因：", ", because: "),
                esc(reason)
            );
        }
        Event::Sell {
            quantity, location, ..
        } => {
            let _ = write!(
                h,
                "<p>{}</p><p class=\"small\">{}{}</p>",
                l.quantity(quantity),
                l.tr("地点：", "Where: "),
                esc(&place(location))
            );
        }
        Event::Enroll { name, role, .. } => {
            let _ = write!(h, "<p>{} · {}</p>", esc(name), l.role(*role));
        }
        Event::Revoke { key, reason, .. } => {
            let _ = write!(
                h,
                "<p>{}{}{}</p>",
                esc(&who(t, key)),
                l.tr("，原因：", ", because: "),
                esc(reason)
            );
        }
        Event::RotateKey { .. } => {}
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
            let _ = write!(
                h,
                "<p>{} {}</p>",
                l.action(e.event.kind(), *action),
                esc(&gs1::parent_words(parent))
            );
            for c in children {
                let _ = write!(
                    h,
                    "<p class=\"small\">{} {}</p>",
                    l.quantity(&c.quantity),
                    lotw(&c.lot)
                );
            }
            let _ = write!(
                h,
                "<p class=\"small\">{}{}</p>",
                l.tr("地点：", "Where: "),
                esc(&place(location))
            );
        }
        Event::Transact {
            action,
            documents,
            lots,
            location,
        } => {
            let docs: Vec<String> = documents
                .iter()
                .map(|d| format!("{} {}", esc(&d.kind), esc(&d.number)))
                .collect();
            let _ = write!(
                h,
                "<p>{}{}{}</p>",
                l.action(e.event.kind(), *action),
                l.tr("：", ": "),
                docs.join(l.tr("、", ", "))
            );
            for x in lots {
                let _ = write!(
                    h,
                    "<p class=\"small\">{} {}</p>",
                    l.quantity(&x.quantity),
                    lotw(&x.lot)
                );
            }
            let _ = write!(
                h,
                "<p class=\"small\">{}{}</p>",
                l.tr("地点：", "Where: "),
                esc(&place(location))
            );
        }
        Event::Identify { participant, uscc } => {
            let _ = write!(
                h,
                "<p>{}{}{}</p>",
                esc(&who(t, participant)),
                l.tr("：统一社会信用代码 ", ": unified social credit code "),
                esc(uscc)
            );
        }
        Event::InputUse {
            product,
            ingredients,
            dose,
            field,
            safety_interval_days,
            ..
        } => {
            let _ = write!(
                h,
                "<p>{} {}（{}）</p><p class=\"small\">{}{}</p><p class=\"small\">{}{safety_interval_days}{}</p>",
                l.quantity(dose),
                esc(product),
                esc(&ingredients.join(l.tr("、", ", "))),
                l.tr("地块：", "Field: "),
                esc(&place(field)),
                l.tr("安全间隔期 ", "Safety interval: "),
                l.tr(" 天", " days")
            );
        }
        Event::Certificate {
            lot,
            quantity,
            origin,
            contact,
            basis,
            ..
        } => {
            let _ = write!(
                h,
                "<p>{} {}</p><p class=\"small\">{}{}</p><p class=\"small\">{}{}{}{}</p>",
                l.quantity(quantity),
                lotw(lot),
                l.tr("承诺依据：", "Basis: "),
                basis_words(l, *basis),
                l.tr("产地：", "Origin: "),
                esc(origin),
                l.tr("，联系电话：", ", phone: "),
                esc(contact)
            );
        }
        Event::Correct {
            record,
            reason,
            corrective,
            ..
        } => {
            let what = t
                .events
                .iter()
                .find(|x| x.hash == *record)
                .map(|x| format!("{}（{}）", l.event(x.event.kind()), l.datetime(x.time, g)))
                .unwrap_or_else(|| record.short());
            let _ = write!(
                h,
                "<p>{}{}{}</p>",
                l.tr("声明以下记录有误：", "Declared erroneous: "),
                esc(&what),
                if reason.is_empty() {
                    String::new()
                } else {
                    format!(
                        "{}{}",
                        l.tr("，原因：", ", because "),
                        esc(l.error_reason(reason))
                    )
                }
            );
            if !corrective.is_empty() {
                let _ = write!(
                    h,
                    "<p class=\"small\">{}{}</p>",
                    l.tr("更正记录：", "Corrected by: "),
                    corrective.len()
                );
            }
        }
        Event::AssignPrefix {
            participant,
            prefix,
        } => {
            let _ = write!(
                h,
                "<p>{}{}{}</p>",
                esc(&who(t, participant)),
                l.tr("：厂商识别代码 ", ": company prefix "),
                esc(prefix)
            );
        }
        Event::AuthorisePacker {
            packer,
            prefix,
            valid_until,
        } => {
            let _ = write!(
                h,
                "<p>{}{}{}{}</p>",
                esc(&who(t, packer)),
                l.tr("：可使用厂商识别代码 ", ": may pack under company prefix "),
                esc(prefix),
                valid_until
                    .map(|u| format!("{}{}", l.tr("，有效期至 ", ", until "), l.date(u, g)))
                    .unwrap_or_default()
            );
        }
    }
    h.push_str(&marks(l, t, e));
    h.push_str("</li>");
    h
}

/// What the trace says against a record, one line each: its signer
/// declared it erroneous (and why), or an overlay flags it (a revoked
/// key, an equivocation, a taint). Empty for a record nothing is said
/// against.
pub(super) fn marks(l: Lang, t: &Trace, e: &TraceEvent) -> String {
    let mut h = String::new();
    for (_, reason) in t.declared_erroneous(&e.hash) {
        let _ = write!(
            h,
            "<p class=\"small\"><b>{}</b>{}</p>",
            l.tr(
                "⚠ 签署者已声明此记录有误",
                "⚠ Its signer declared this record erroneous"
            ),
            if reason.is_empty() {
                String::new()
            } else {
                format!("{}{}", l.tr("：", ": "), esc(l.error_reason(reason)))
            }
        );
    }
    for f in &e.flags {
        let _ = write!(h, "<p class=\"small\"><b>⚠{}</b></p>", flag_words(l, f));
    }
    h
}

/// The places of the journey in time order, consecutive repeats merged.
pub(super) fn route(t: &Trace) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in &t.events {
        let locs: Vec<&Location> = match &e.event {
            Event::Harvest { location, .. }
            | Event::Transform { location, .. }
            | Event::Receive { location, .. }
            | Event::Observe { location, .. }
            | Event::Sell { location, .. }
            | Event::Aggregate { location, .. }
            | Event::Associate { location, .. }
            | Event::Transact { location, .. } => vec![location],
            Event::Ship {
                from, destination, ..
            } => vec![from, destination],
            _ => Vec::new(),
        };
        for loc in locs {
            let p = place(loc);
            if !p.is_empty() && out.last() != Some(&p) {
                out.push(p);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::event::{Action, LotAmount, Product, Quantity, Unit};
    use ledger_core::hash::Hash;
    use ledger_core::key::PublicKey;
    use ledger_core::query::Warning;
    use ledger_core::workload::{generate, Shape};

    use crate::page::Lang;

    const T0: u64 = 1_744_453_200_000; // 2025-04-12 10:20 UTC

    fn ev(n: u8, time: u64, event: Event) -> TraceEvent {
        TraceEvent {
            hash: Hash([n; 32]),
            author: PublicKey([7; 32]),
            signer: None,
            seq: u64::from(n),
            time,
            event,
            flags: Vec::new(),
        }
    }

    #[test]
    fn a_packing_declared_erroneous_reads_as_such_in_both_languages() {
        let genesis = generate(Shape::for_records(10)).genesis;
        let lot = LotId {
            source: PublicKey([7; 32]),
            code: "QDH-0403".into(),
        };
        let pack = ev(
            1,
            T0,
            Event::Aggregate {
                action: Action::Add,
                parent: "urn:epc:id:sscc:0614141.1234567890".into(),
                children: vec![LotAmount {
                    lot: lot.clone(),
                    quantity: Quantity::new(20_000, Unit::Gram),
                }],
                location: Location {
                    description: "淳安县 茶厂".into(),
                    gln: None,
                },
            },
        );
        let correct = ev(
            2,
            T0 + 3_600_000,
            Event::Correct {
                record: pack.hash,
                lots: vec![lot.clone()],
                reason: "https://ref.gs1.org/cbv/ER-incorrect_data".into(),
                corrective: vec![],
            },
        );
        let t = Trace {
            left_out: Vec::new(),
            lot,
            product: Some(Product {
                description: "千岛湖茶".into(),
                gtin: None,
            }),
            events: vec![pack.clone(), correct.clone()],
            upstream: vec![],
            downstream: vec![],
            certifications: vec![],
            warnings: vec![Warning::DeclaredErroneous {
                record: pack.hash,
                declaration: correct.hash,
                reason: "https://ref.gs1.org/cbv/ER-incorrect_data".into(),
                corrective: vec![],
            }],
        };
        for (lang, packed, declared, why, heading) in [
            (
                Lang::Zh,
                "装入 SSCC 106141412345678908",
                "签署者已声明此记录有误",
                "数据有误",
                "声明以下记录有误：装箱 / 组托",
            ),
            (
                Lang::En,
                "Packed into SSCC 106141412345678908",
                "Its signer declared this record erroneous",
                "its data were incorrect",
                "Declared erroneous: Packing",
            ),
        ] {
            let ctx = Ctx {
                genesis: &genesis,
                network: genesis.id(),
                lang,
                now: T0,
                path: "/",
            };
            let item = event_item(&ctx, &t, &pack);
            assert!(item.contains(packed), "{item}");
            assert!(item.contains(declared), "{item}");
            assert!(item.contains(why), "{item}");
            assert!(item.contains("class=\"erroneous\""), "{item}");
            assert!(item.contains("20 "), "{item}");
            let item = event_item(&ctx, &t, &correct);
            assert!(item.contains(heading), "{item}");
            assert!(!item.contains("https://"), "{item}");
        }
    }
}
