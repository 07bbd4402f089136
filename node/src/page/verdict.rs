//! The verdict box: the answer to "can I eat this?" that fills the first
//! screen, with what to do and whom to call, and the further findings.

use std::fmt::Write;

use ledger_core::event::{thousandths, SensorKind};
use ledger_core::excursion::excursion_events;
use ledger_core::overlay::Flag;
use ledger_core::query::Trace;
use ledger_core::verdict::{CertificateProblem, Finding, Verdict};

use super::{contact_line, esc, i18n, lot_words, place, Ctx, Lang};

/// The verdict box: one heading, what it means, what to do, whom to call.
pub(super) fn verdict_box(ctx: &Ctx<'_>, t: &Trace, v: &Verdict) -> String {
    let l = ctx.lang;
    let g = ctx.genesis;
    let mut h = String::new();
    let contact = contact_line(ctx, v.contact.as_deref());
    match &v.finding {
        Finding::Recalled {
            lot,
            this_lot,
            reason,
            time,
            ..
        } => {
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict bad\"><h1>⚠ {}</h1>",
                l.tr("已召回：请勿食用", "RECALLED: do not eat")
            );
            if *this_lot {
                let _ = write!(
                    h,
                    "<p>{}{}{}</p>",
                    l.tr("本批次已于 ", "This lot was recalled on "),
                    l.date(*time, g),
                    l.tr(" 被召回。", ".")
                );
            } else {
                let _ = write!(
                    h,
                    "<p>{}{}{}{}{}</p>",
                    l.tr("制成本产品的原料", "It was made from "),
                    lot_words(ctx, t, lot),
                    l.tr("，已于 ", ", recalled on "),
                    l.date(*time, g),
                    l.tr(" 被召回。", ".")
                );
            }
            let _ = write!(
                h,
                "<p>{}{}</p><p class=\"do\">{}</p><p>{contact}</p>",
                l.tr("原因：", "Why: "),
                esc(reason),
                l.tr(
                    "怎么办：请勿食用，退回购买的商店。",
                    "What to do: do not eat it; return it to the shop where you bought it."
                )
            );
        }
        Finding::FailedTest {
            lot,
            this_lot,
            test,
            notes,
            by,
            time,
            ..
        } => {
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict bad\"><h1>⚠ {}</h1>",
                l.tr("检测不合格：请勿食用", "FAILED A SAFETY TEST: do not eat")
            );
            let whose = if *this_lot {
                l.tr("本批次", "This lot").to_owned()
            } else {
                format!(
                    "{}{}",
                    l.tr("原料", "An ingredient, "),
                    lot_words(ctx, t, lot)
                )
            };
            let _ = match l {
                Lang::Zh => write!(
                    h,
                    "<p>{whose}在 {} 的检测中不合格：{}。</p>",
                    l.date(*time, g),
                    esc(test)
                ),
                Lang::En => write!(
                    h,
                    "<p>{whose} failed the test {} on {}.</p>",
                    esc(test),
                    l.date(*time, g)
                ),
            };
            if !notes.is_empty() {
                let _ = write!(
                    h,
                    "<p>{}{}{}</p>",
                    l.tr("检测结果：", "Result: "),
                    esc(notes),
                    by.as_ref()
                        .map(|b| format!("{}{}{}", l.tr("（", " ("), esc(b), l.tr("）", ")")))
                        .unwrap_or_default()
                );
            }
            let _ = write!(
                h,
                "<p class=\"do\">{}</p><p>{contact}</p>",
                l.tr(
                    "怎么办：请勿食用，退回购买的商店。",
                    "What to do: do not eat it; return it to the shop where you bought it."
                )
            );
        }
        Finding::SafetyInterval { lot, this_lot, .. } => {
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict bad\"><h1>⚠ {}</h1>",
                l.tr("未过安全间隔期即采收", "HARVESTED INSIDE A SAFETY INTERVAL")
            );
            let whose = if *this_lot {
                l.tr("本批次", "This lot").to_owned()
            } else {
                format!(
                    "{}{}",
                    l.tr("原料", "An ingredient, "),
                    lot_words(ctx, t, lot)
                )
            };
            let _ = write!(
                h,
                "<p>{whose}{}</p><p>{}</p><p class=\"do\">{}</p><p>{contact}</p>",
                l.tr("：", ": "),
                safety_words(ctx, &v.finding),
                l.tr(
                    "怎么办：农药残留可能超标，检测合格前请勿食用，可咨询购买的商店。",
                    "What to do: residues may exceed the limits; do not eat it until it is tested, and ask the shop where you bought it."
                )
            );
        }
        Finding::Excursion {
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
            let heading = match (sensor, too_high) {
                (SensorKind::Temperature, true) => {
                    l.tr("冷链温度超标", "COLD CHAIN BROKEN: too warm")
                }
                (SensorKind::Temperature, false) => {
                    l.tr("冷链温度过低", "COLD CHAIN BROKEN: too cold")
                }
                (SensorKind::Humidity, _) => l.tr("储运湿度超标", "HUMIDITY OUT OF RANGE"),
            };
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict warn\"><h1>⚠ {heading}</h1>"
            );
            let peak_words = if *too_high {
                l.tr("最高 ", " up to ")
            } else {
                l.tr("最低 ", " down to ")
            };
            let _ = write!(
                h,
                "<p>{}{peak_words}<b>{}</b>{}{}–{}</p>",
                l.tr(
                    l.sensor(*sensor),
                    match sensor {
                        SensorKind::Temperature => "Temperature",
                        SensorKind::Humidity => "Humidity",
                    }
                ),
                i18n::measure(*peak, *sensor),
                l.tr("，允许范围 ", ", allowed "),
                thousandths(*min),
                i18n::measure(*max, *sensor),
            );
            let how_long = match back_in {
                Some(back) => format!(
                    "{}<b>{}</b>{}{}{}{}",
                    l.tr("持续不超过 ", "For up to "),
                    l.duration(back.saturating_sub(*from)),
                    l.tr("（", " ("),
                    l.datetime(*from, g),
                    l.tr(" 起，", " until the reading of "),
                    format_args!(
                        "{}{}",
                        l.clock(*back, g),
                        l.tr(" 恢复正常）", " was back in range)")
                    )
                ),
                None if *readings > 1 => format!(
                    "{}<b>{}</b>{}{}{}",
                    l.tr("至少持续 ", "For at least "),
                    l.duration(last_out.saturating_sub(*from)),
                    l.tr("（自 ", " (from "),
                    l.datetime(*from, g),
                    l.tr(
                        " 起，最后一次读数仍未恢复）",
                        "; not back in range at the last reading)"
                    )
                ),
                None => format!(
                    "{}{}{}",
                    l.tr("读数时间：", "Measured at "),
                    l.datetime(*from, g),
                    l.tr(
                        "（最后一次读数，之后无记录）",
                        " (the last reading; none after it)"
                    )
                ),
            };
            let _ = write!(
                h,
                "<p>{how_long}{}</p><p>{}{}</p>",
                l.tr("。", "."),
                l.tr("地点：", "Where: "),
                esc(&place(location))
            );
            let _ = write!(
                h,
                "<p class=\"do\">{}</p><p>{contact}</p>",
                l.tr(
                    "怎么办：品质可能受影响。食用前请检查，有疑问请咨询商店。",
                    "What to do: quality may be affected. Check it before eating; ask the shop if in doubt."
                )
            );
        }
        Finding::Certificate {
            claim,
            number,
            valid_from,
            valid_until,
            problem,
            ..
        } => {
            let heading = match problem {
                CertificateProblem::Expired => l.tr("认证已过期", "CERTIFICATE EXPIRED"),
                CertificateProblem::NotYetValid => {
                    l.tr("认证尚未生效", "CERTIFICATE NOT YET VALID")
                }
            };
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict warn\"><h1>⚠ {heading}</h1><p>{}<b>{}</b>{}</p>",
                l.tr("“", "The claim “"),
                esc(claim),
                l.tr("”的认证", "”")
            );
            let validity = match valid_until {
                Some(u) => format!(
                    "{}{}{}{}",
                    l.tr("有效期 ", "valid from "),
                    l.date(*valid_from, g),
                    l.tr(" 至 ", " until "),
                    l.date(*u, g)
                ),
                None => format!(
                    "{}{}",
                    l.tr("生效日期 ", "valid from "),
                    l.date(*valid_from, g)
                ),
            };
            let _ = write!(
                h,
                "<p>{}{validity}{}</p>",
                number
                    .as_ref()
                    .map(|n| format!(
                        "{}{}{}",
                        l.tr("证书编号 ", "Certificate "),
                        esc(n),
                        l.tr("，", ", ")
                    ))
                    .unwrap_or_default(),
                match problem {
                    CertificateProblem::Expired => l.tr("，现已过期。", ": it has expired."),
                    CertificateProblem::NotYetValid => l.tr("，尚未生效。", ": not valid yet."),
                }
            );
            let _ = write!(
                h,
                "<p class=\"do\">{}</p><p>{contact}</p>",
                l.tr(
                    "这项声明目前没有有效认证；未发现召回或检测不合格。",
                    "This claim is not certified now; nothing is recalled and no test failed."
                )
            );
        }
        Finding::Clean => {
            let _ = write!(
                h,
                "<section id=\"verdict\" class=\"verdict ok\"><h1>✓ {}</h1><p>{}</p><p class=\"small\">{}</p>",
                l.tr("未发现问题", "NO PROBLEMS FOUND"),
                l.tr(
                    "没有召回，没有不合格的检测，冷链温度正常，认证有效。",
                    "Nothing recalled, no failed test, the cold chain stayed in range, certificates are valid."
                ),
                l.tr(
                    "下列每条记录都由登记的参与者签名，并经本节点核验。",
                    "Every record below is signed by an enrolled participant and was checked by this node."
                )
            );
        }
    }
    if !v.also.is_empty() {
        let _ = write!(
            h,
            "<p class=\"also\">{}</p><ul class=\"also\">",
            l.tr("另外：", "Also:")
        );
        for f in &v.also {
            let _ = write!(h, "<li>{}</li>", finding_line(ctx, t, f));
        }
        h.push_str("</ul>");
    }
    if !v.flags.is_empty() {
        let _ = write!(
            h,
            "<p class=\"also\"><b>{}</b></p><ul class=\"also\">",
            l.tr(
                "注意，部分记录不可信：",
                "Caution, some records cannot be trusted:"
            )
        );
        for f in &v.flags {
            let _ = write!(
                h,
                "<li>{}{}{}</li>",
                l.date(f.time, g),
                f.signer
                    .as_ref()
                    .map(|s| format!(" {}", esc(s)))
                    .unwrap_or_default(),
                flag_words(l, &f.flag)
            );
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");
    h
}

pub(super) fn flag_words(l: Lang, f: &Flag) -> &'static str {
    match f {
        Flag::Revoked { .. } => l.tr(
            "：签名密钥已被吊销",
            ": signed with a key the regulator revoked",
        ),
        Flag::Equivocation { .. } => l.tr(
            "：签名者签署了相互矛盾的记录",
            ": its signer signed two conflicting records",
        ),
        Flag::Tainted { .. } => l.tr(
            "：依赖于不可信的记录",
            ": relies on a record that cannot be trusted",
        ),
    }
}

/// What was applied when, and how soon after it the lot was harvested:
/// `吡虫啉可湿性粉剂（吡虫啉）于 2025年4月1日 施用，安全间隔期 7 天，3 天后即采收`.
fn safety_words(ctx: &Ctx<'_>, f: &Finding) -> String {
    let Finding::SafetyInterval {
        product,
        ingredients,
        applied,
        harvested,
        interval_days,
        ..
    } = f
    else {
        return String::new();
    };
    let l = ctx.lang;
    let after = harvested.saturating_sub(*applied);
    let days = after / ledger_core::time::DAY_MS;
    let after = if days > 0 {
        format!(
            "{days}{}",
            l.tr(" 天", if days == 1 { " day" } else { " days" })
        )
    } else {
        format!("{}{}", after / 3_600_000, l.tr(" 小时", " hours"))
    };
    match l {
        Lang::Zh => format!(
            "{}（{}）于 {} 施用，安全间隔期 {interval_days} 天，{after}后即采收",
            esc(product),
            esc(&ingredients.join("、")),
            l.date(*applied, ctx.genesis)
        ),
        Lang::En => format!(
            "{} ({}) was applied on {}; its label sets {interval_days} days before harvest, and it was harvested {after} later",
            esc(product),
            esc(&ingredients.join(", ")),
            l.date(*applied, ctx.genesis)
        ),
    }
}

/// One short line for a finding after the first.
fn finding_line(ctx: &Ctx<'_>, t: &Trace, f: &Finding) -> String {
    let l = ctx.lang;
    let g = ctx.genesis;
    match f {
        Finding::Recalled { lot, reason, .. } => format!(
            "{}{}{}{}",
            l.tr("已召回：", "Recalled: "),
            lot_words(ctx, t, lot),
            l.tr("，原因：", ", because: "),
            esc(reason)
        ),
        Finding::FailedTest { lot, test, .. } => format!(
            "{}{}{}{}",
            l.tr("检测不合格：", "Failed test: "),
            lot_words(ctx, t, lot),
            l.tr("，", ", "),
            esc(test)
        ),
        Finding::SafetyInterval { lot, .. } => format!(
            "{}{}{}{}",
            l.tr(
                "未过安全间隔期即采收：",
                "Harvested inside a safety interval: "
            ),
            lot_words(ctx, t, lot),
            l.tr("，", ", "),
            safety_words(ctx, f)
        ),
        Finding::Excursion {
            lot,
            sensor,
            peak,
            min,
            max,
            from,
            ..
        } => {
            // The same run as an excursion event: its length, peak and
            // number of readings on one line.
            let events = excursion_events(t);
            match events
                .iter()
                .find(|e| e.lot == *lot && e.kind == *sensor && e.start == *from)
            {
                Some(e) => l.excursion(e, g),
                None => format!(
                    "{}{} {}{}{}–{}{}{}",
                    l.tr("冷链超标：", "Cold chain: "),
                    l.sensor(*sensor),
                    i18n::measure(*peak, *sensor),
                    l.tr("（允许 ", " (allowed "),
                    thousandths(*min),
                    i18n::measure(*max, *sensor),
                    l.tr("），", "), "),
                    l.datetime(*from, g)
                ),
            }
        }
        Finding::Certificate {
            claim,
            problem,
            valid_until,
            ..
        } => format!(
            "{}{}{}",
            match problem {
                CertificateProblem::Expired => l.tr("认证已过期：", "Certificate expired: "),
                CertificateProblem::NotYetValid =>
                    l.tr("认证尚未生效：", "Certificate not yet valid: "),
            },
            esc(claim),
            valid_until
                .map(|u| format!("{}{}", l.tr("，有效期至 ", ", valid until "), l.date(u, g)))
                .unwrap_or_default()
        ),
        Finding::Clean => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::event::{Event, Location, LotId, Product, Reading, Verdict as Outcome};
    use ledger_core::hash::Hash;
    use ledger_core::key::PublicKey;
    use ledger_core::query::{TraceEvent, Warning};
    use ledger_core::verdict::verdict;
    use ledger_core::workload::{generate, Shape};

    const MIN: u64 = 60_000;
    const T0: u64 = 1_744_453_200_000; // 2025-04-12 10:20 UTC

    fn lot() -> LotId {
        LotId {
            source: PublicKey([7; 32]),
            code: "QDH-0403".into(),
        }
    }

    fn ev(n: u8, time: u64, event: Event) -> TraceEvent {
        TraceEvent {
            hash: Hash([n; 32]),
            author: PublicKey([n; 32]),
            signer: None,
            seq: 0,
            time,
            event,
            flags: Vec::new(),
        }
    }

    #[test]
    fn an_excursion_of_several_readings_is_one_line() {
        let genesis = generate(Shape::for_records(10)).genesis;
        let reading = |i: u64, value| Reading {
            time: T0 + i * 10 * MIN,
            kind: SensorKind::Temperature,
            value,
            min: 0,
            max: 8_000,
        };
        let observe = ev(
            1,
            T0,
            Event::Observe {
                lot: lot(),
                location: Location {
                    description: "reefer".into(),
                    gln: None,
                },
                readings: [8_600, 12_400, 11_000, 10_100, 9_000, 7_000]
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| reading(i as u64, v))
                    .collect(),
            },
        );
        // A failed test comes first, so the excursion is in the "also" list.
        let test = ev(
            2,
            T0 + 60 * MIN,
            Event::Inspect {
                lot: lot(),
                test: "residue".into(),
                verdict: Outcome::Fail,
                notes: String::new(),
                reference: None,
            },
        );
        let warnings = vec![Warning::FailedInspection {
            lot: lot(),
            record: test.hash,
            test: "residue".into(),
        }];
        let t = Trace {
            left_out: Vec::new(),
            lot: lot(),
            product: Some(Product {
                description: "tea".into(),
                gtin: None,
            }),
            events: vec![observe, test],
            upstream: Vec::new(),
            downstream: Vec::new(),
            certifications: Vec::new(),
            warnings,
        };
        let v = verdict(&t, &genesis, T0 + 120 * MIN);
        for (lang, line, count) in [
            (Lang::En, "Temperature excursion: ", "5 readings"),
            (Lang::Zh, "温度超标：", "共 5 次读数"),
        ] {
            let ctx = Ctx {
                genesis: &genesis,
                network: genesis.id(),
                lang,
                now: T0 + 120 * MIN,
                path: "/",
            };
            let h = verdict_box(&ctx, &t, &v);
            assert_eq!(h.matches(line).count(), 1, "{h}");
            assert!(h.contains(count), "{h}");
            assert!(h.contains("12.4 °C"), "{h}");
            assert!(!h.contains("12400"), "{h}");
        }
        let ctx = Ctx {
            genesis: &genesis,
            network: genesis.id(),
            lang: Lang::En,
            now: T0,
            path: "/",
        };
        let h = verdict_box(&ctx, &t, &v);
        assert!(h.contains("40 min from "), "{h}");
    }

    #[test]
    fn a_harvest_inside_a_safety_interval_leads_the_page_in_words() {
        let genesis = generate(Shape::for_records(10)).genesis;
        let harvest = ev(
            1,
            T0 + 3 * 86_400_000,
            Event::Harvest {
                lot_code: lot().code,
                product: Product {
                    description: "千岛湖茶 鲜叶".into(),
                    gtin: None,
                },
                quantity: ledger_core::Quantity::new(20_000, ledger_core::Unit::Gram),
                location: Location {
                    description: "鸠坑乡 3号地".into(),
                    gln: None,
                },
                reference: None,
            },
        );
        let t = Trace {
            left_out: Vec::new(),
            lot: lot(),
            product: None,
            events: vec![harvest],
            upstream: vec![],
            downstream: vec![],
            certifications: vec![],
            warnings: vec![Warning::SafetyInterval {
                lot: lot(),
                harvest: Hash([1; 32]),
                harvested: T0 + 3 * 86_400_000,
                input: Hash([2; 32]),
                product: "10% 吡虫啉可湿性粉剂".into(),
                ingredients: vec!["吡虫啉 imidacloprid".into()],
                applied: T0,
                interval_days: 7,
            }],
        };
        let v = verdict(&t, &genesis, T0 + 10 * 86_400_000);
        for (lang, words) in [
            (
                Lang::Zh,
                ["未过安全间隔期即采收", "安全间隔期 7 天", "3 天后即采收"],
            ),
            (
                Lang::En,
                [
                    "HARVESTED INSIDE A SAFETY INTERVAL",
                    "sets 7 days before harvest",
                    "3 days later",
                ],
            ),
        ] {
            let ctx = Ctx {
                genesis: &genesis,
                network: genesis.id(),
                lang,
                now: T0,
                path: "/",
            };
            let h = verdict_box(&ctx, &t, &v);
            for w in words {
                assert!(h.contains(w), "{w}: {h}");
            }
            assert!(h.contains("吡虫啉"), "{h}");
            assert!(!h.contains(&T0.to_string()), "no epoch milliseconds: {h}");
        }
    }
}
