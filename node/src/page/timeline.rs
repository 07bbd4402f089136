//! The journey as a timeline: one item per event, in the network's local
//! time, and the route as an ordered list of places.

use std::collections::BTreeMap;
use std::fmt::Write;

use ledger_core::event::{Location, Reading, SensorKind, Verdict as Outcome};
use ledger_core::query::{Trace, TraceEvent};
use ledger_core::{Event, LotId};

use super::verdict::flag_words;
use super::{chart, doc, esc, lot_words, place, who, Ctx};

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
    let mut h = String::new();
    let _ = write!(
        h,
        "<li{}><p class=\"when\">{}</p><h3>{}</h3>",
        if alert { " class=\"alert\"" } else { "" },
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
    for f in &e.flags {
        let _ = write!(h, "<p class=\"small\"><b>⚠{}</b></p>", flag_words(l, f));
    }
    h.push_str("</li>");
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
            | Event::Sell { location, .. } => vec![location],
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
