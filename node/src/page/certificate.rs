//! The lot's compliance-commitment certificate (承诺达标合格证) in a
//! section of its own, between the verdict and the journey: the latest
//! certificate issued for the lot — who issued it (with its unified social
//! credit code when a regulator recorded one), origin, phone, date,
//! quantity, basis, the tests it rests on and the promise it makes — then,
//! one compact item each, the certificates of the input lots it names. A
//! lot without a certificate of its own but made from certified lots lists
//! theirs; a lineage without any shows no section (most products need
//! none).
//!
//! Everything shown comes from the trace, whose lineage holds every
//! certificate and test of the lot and of the lots it was made from; only
//! the issuers' credit codes are read beside it ([`credit_codes`]). What
//! the trace says against a record (declared erroneous, a revoked key)
//! reads on it as in the journey.

use std::collections::BTreeMap;
use std::fmt::Write;

use ledger_core::event::{Basis, Verdict as Outcome};
use ledger_core::graph::Graph;
use ledger_core::query::{Trace, TraceEvent};
use ledger_core::{Event, Hash, LotId, PublicKey, StoreError};

use super::timeline::marks;
use super::{esc, lot_words, Ctx, Lang};

/// The participant a record speaks for (its signer's identity, else the
/// signing key).
fn issuer(e: &TraceEvent) -> PublicKey {
    e.signer.as_ref().map_or(e.author, |s| s.identity)
}

/// The unified social credit codes (统一社会信用代码) of the participants
/// that issued the certificates in `t`, by identity: the latest a
/// regulator recorded for each. A trace without a certificate reads
/// nothing; otherwise one short index scan per issuer.
pub fn credit_codes(
    graph: &impl Graph,
    t: &Trace,
) -> Result<BTreeMap<PublicKey, String>, StoreError> {
    let issuers: std::collections::BTreeSet<PublicKey> = t
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::Certificate { .. }))
        .map(issuer)
        .collect();
    let mut codes = BTreeMap::new();
    for who in issuers {
        if let Some(code) = graph.credit_code(&who)? {
            codes.insert(who, code);
        }
    }
    Ok(codes)
}

/// The basis of a promise in words: `委托检测合格` / `passed a test by a
/// commissioned lab`.
pub(super) fn basis_words(l: Lang, b: Basis) -> &'static str {
    l.tr(
        b.zh(),
        match b {
            Basis::QualityControl => "quality and safety control meets the requirements",
            Basis::OwnTest => "passed its own test",
            Basis::CommissionedTest => "passed a test by a commissioned lab",
        },
    )
}

/// The promise every certificate makes, in our own words.
fn promise(l: Lang) -> &'static str {
    l.tr(
        "开具者承诺：没有使用禁用的农药、兽药和非法添加物，遵守了安全间隔期和休药期，农药兽药残留不超过国家标准，并对本证的真实性负责。",
        "The issuer promises that no banned pesticide, veterinary drug or illegal additive was used, that safety intervals and withdrawal periods were kept, that residues are within the national limits, and it answers for the truth of this certificate.",
    )
}

/// The certificate section of `t`'s page; empty when no certificate is
/// in its lineage. `codes`: the issuers' credit codes ([`credit_codes`]).
pub(super) fn certificate_section(
    ctx: &Ctx<'_>,
    t: &Trace,
    codes: &BTreeMap<PublicKey, String>,
) -> String {
    let l = ctx.lang;
    let certificates: Vec<&TraceEvent> = t
        .events
        .iter()
        .filter(|e| matches!(e.event, Event::Certificate { .. }))
        .collect();
    if certificates.is_empty() {
        return String::new();
    }
    let lot_of = |e: &TraceEvent| match &e.event {
        Event::Certificate { lot, .. } => Some(lot.clone()),
        _ => None,
    };
    let own = certificates
        .iter()
        .filter(|e| lot_of(e).as_ref() == Some(&t.lot))
        .max_by_key(|e| (e.time, e.hash));
    let mut h = String::new();
    let _ = write!(
        h,
        "<section id=\"certificate\" class=\"cert\"><h2>{}</h2>",
        l.tr("承诺达标合格证", "Compliance certificate")
    );
    let others: Vec<&TraceEvent> = match own {
        Some(c) => {
            h.push_str(&card(ctx, t, c, codes));
            let Event::Certificate { inputs, .. } = &c.event else {
                return String::new();
            };
            if !inputs.is_empty() {
                let _ = write!(
                    h,
                    "<p class=\"small\">{}</p>",
                    l.tr(
                        "它所依据的原料批次合格证：",
                        "The certificates of the lots it was made from, which it names:"
                    )
                );
            }
            inputs
                .iter()
                .filter_map(|i| certificates.iter().find(|e| e.hash == *i).copied())
                .collect()
        }
        None => {
            // The latest certificate of each lot it was made from.
            let mut latest: BTreeMap<LotId, &TraceEvent> = BTreeMap::new();
            for e in &certificates {
                if let Some(lot) = lot_of(e) {
                    if latest
                        .get(&lot)
                        .is_none_or(|x| (e.time, e.hash) > (x.time, x.hash))
                    {
                        latest.insert(lot, e);
                    }
                }
            }
            let _ = write!(
                h,
                "<p class=\"small\">{}</p>",
                l.tr(
                    "制成本产品的原料批次的合格证：",
                    "The certificates of the lots it was made from:"
                )
            );
            latest.into_values().collect()
        }
    };
    if !others.is_empty() {
        h.push_str("<ul class=\"certs\">");
        for e in others {
            h.push_str(&item(ctx, t, e, codes));
        }
        h.push_str("</ul>");
    }
    h.push_str("</section>");
    h
}

/// `alert` for a record an overlay flags, `erroneous` for one its signer
/// declared erroneous (as the journey marks them).
fn class(t: &Trace, e: &TraceEvent) -> &'static str {
    if !e.flags.is_empty() {
        " alert"
    } else if !t.declared_erroneous(&e.hash).is_empty() {
        " erroneous"
    } else {
        ""
    }
}

/// `千岛湖鸠坑茶园（统一社会信用代码 93330127MA2B0X1Q6M）`, escaped.
fn issuer_words(ctx: &Ctx<'_>, e: &TraceEvent, codes: &BTreeMap<PublicKey, String>) -> String {
    let l = ctx.lang;
    let name = match &e.signer {
        Some(s) => esc(&s.name),
        None => e.author.short(),
    };
    match codes.get(&issuer(e)) {
        Some(c) => format!(
            "{name}{}{}{}",
            l.tr("（统一社会信用代码 ", " (unified social credit code "),
            esc(c),
            l.tr("）", ")")
        ),
        None => name,
    }
}

/// The tests a certificate rests on, one line each: name, result, date,
/// lot and lab.
fn tests_lines(ctx: &Ctx<'_>, t: &Trace, tests: &[Hash]) -> Vec<String> {
    let l = ctx.lang;
    tests
        .iter()
        .map(|h| {
            let Some(e) = t.events.iter().find(|e| e.hash == *h) else {
                return format!("{}{}", l.tr("检测记录 ", "test record "), h.short());
            };
            let Event::Inspect {
                lot, test, verdict, ..
            } = &e.event
            else {
                return format!("{}{}", l.tr("记录 ", "record "), h.short());
            };
            let result = match verdict {
                Outcome::Pass => l.tr("合格", "PASS"),
                Outcome::Fail => l.tr("不合格", "FAIL"),
            };
            let lab = match &e.signer {
                Some(s) => esc(&s.name),
                None => e.author.short(),
            };
            let sep = l.tr("，", ", ");
            format!(
                "{}{}<b>{result}</b>{sep}{}{sep}{}{sep}{}{lab}{}",
                esc(test),
                l.tr("：", ": "),
                l.date(e.time, ctx.genesis),
                lot_words(ctx, t, lot),
                l.tr("检测机构：", "tested by "),
                marks(l, t, e)
            )
        })
        .collect()
}

/// The lot's own certificate, in full.
fn card(ctx: &Ctx<'_>, t: &Trace, e: &TraceEvent, codes: &BTreeMap<PublicKey, String>) -> String {
    let l = ctx.lang;
    let Event::Certificate {
        quantity,
        origin,
        contact,
        basis,
        tests,
        ..
    } = &e.event
    else {
        return String::new();
    };
    let mut h = String::new();
    let _ = write!(h, "<div class=\"card{}\">{}", class(t, e), marks(l, t, e));
    let _ = write!(
        h,
        "<dl class=\"facts\"><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd>{}</dd><dt>{}</dt><dd><b>{}</b></dd></dl>",
        l.tr("开具者", "Issued by"),
        issuer_words(ctx, e, codes),
        l.tr("产地", "Origin"),
        esc(origin),
        l.tr("联系电话", "Phone"),
        esc(contact),
        l.tr("开具日期", "Issued on"),
        l.date(e.time, ctx.genesis),
        l.tr("数量", "Quantity"),
        l.quantity(quantity),
        l.tr("承诺依据", "Basis"),
        basis_words(l, *basis)
    );
    let lines = tests_lines(ctx, t, tests);
    if !lines.is_empty() {
        let _ = write!(
            h,
            "<p class=\"small\">{}</p><ul class=\"tests\">",
            l.tr("所依据的检测：", "The tests it rests on:")
        );
        for line in lines {
            let _ = write!(h, "<li>{line}</li>");
        }
        h.push_str("</ul>");
    }
    let _ = write!(h, "<p class=\"promise\">{}</p></div>", promise(l));
    h
}

/// An input lot's certificate, compactly.
fn item(ctx: &Ctx<'_>, t: &Trace, e: &TraceEvent, codes: &BTreeMap<PublicKey, String>) -> String {
    let l = ctx.lang;
    let Event::Certificate {
        lot,
        quantity,
        origin,
        contact,
        basis,
        tests,
        ..
    } = &e.event
    else {
        return String::new();
    };
    let sep = " · ";
    let mut h = String::new();
    let _ = write!(
        h,
        "<li class=\"card{}\"><p><b>{}</b>{sep}{}{sep}{}</p><p class=\"small\">{}{sep}{}{}{sep}{}{}</p><p class=\"small\">{}{}</p>",
        class(t, e),
        lot_words(ctx, t, lot),
        l.quantity(quantity),
        l.date(e.time, ctx.genesis),
        basis_words(l, *basis),
        l.tr("产地 ", "origin "),
        esc(origin),
        l.tr("电话 ", "phone "),
        esc(contact),
        l.tr("开具者：", "Issued by "),
        issuer_words(ctx, e, codes)
    );
    for line in tests_lines(ctx, t, tests) {
        let _ = write!(
            h,
            "<p class=\"small\">{}{line}</p>",
            l.tr("检测：", "Test: ")
        );
    }
    h.push_str(&marks(l, t, e));
    h.push_str("</li>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::author::Author;
    use ledger_core::event::{LotAmount, NewLot, Product};
    use ledger_core::graph::{KeyInfo, MemGraph};
    use ledger_core::overlay::Flag;
    use ledger_core::query::Warning;
    use ledger_core::verdict::verdict;
    use ledger_core::workload::{generate, key_for, Shape};
    use ledger_core::{Genesis, Quantity, Role, Unit};

    use crate::page::{lot_page, Lang, Note};

    /// 2025-11-10 18:00 UTC: 11 November in Shanghai.
    const T: u64 = 1_762_797_600_000;
    const HOUR: u64 = 3_600_000;
    const JIUKENG: PublicKey = PublicKey([7; 32]);
    const LIN: PublicKey = PublicKey([6; 32]);
    const COOP: PublicKey = PublicKey([8; 32]);
    const LAB: PublicKey = PublicKey([9; 32]);
    const CODE: &str = "93330127MA2B0X1Q6M";

    fn genesis() -> Genesis {
        let mut g = generate(Shape::for_records(10)).genesis;
        g.profile.time_zone = Some("Asia/Shanghai".into());
        g
    }

    fn name(key: PublicKey) -> (&'static str, Role) {
        match key {
            JIUKENG => ("千岛湖鸠坑茶园", Role::Farm),
            LIN => ("界首林家茶园", Role::Farm),
            COOP => ("淳安县鸠坑乡茶叶专业合作社", Role::Processor),
            _ => ("杭州农产品质量检测中心", Role::Lab),
        }
    }

    fn ev(n: u8, author: PublicKey, time: u64, event: Event) -> TraceEvent {
        let (name, role) = name(author);
        TraceEvent {
            hash: Hash([n; 32]),
            author,
            signer: Some(KeyInfo {
                identity: author,
                role,
                name: name.into(),
            }),
            seq: u64::from(n),
            time,
            event,
            flags: Vec::new(),
        }
    }

    fn lot(source: PublicKey, code: &str) -> LotId {
        LotId {
            source,
            code: code.into(),
        }
    }

    fn tea() -> Product {
        Product {
            description: "千岛湖茶 鲜叶".into(),
            gtin: None,
        }
    }

    fn harvest(n: u8, farm: PublicKey, code: &str) -> TraceEvent {
        ev(
            n,
            farm,
            T - 48 * HOUR,
            Event::Harvest {
                lot_code: code.into(),
                product: tea(),
                quantity: Quantity::new(50_000, Unit::Gram),
                location: ledger_core::event::Location {
                    description: "鸠坑乡 3号地".into(),
                    gln: None,
                },
                reference: None,
            },
        )
    }

    fn inspect(n: u8, of: LotId) -> TraceEvent {
        ev(
            n,
            LAB,
            T - 24 * HOUR,
            Event::Inspect {
                lot: of,
                test: "吡虫啉 imidacloprid (GB 2763-2021)".into(),
                verdict: Outcome::Pass,
                notes: String::new(),
                reference: None,
            },
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn certificate(
        n: u8,
        by: PublicKey,
        time: u64,
        of: LotId,
        grams: u64,
        basis: Basis,
        tests: Vec<Hash>,
        inputs: Vec<Hash>,
    ) -> TraceEvent {
        ev(
            n,
            by,
            time,
            Event::Certificate {
                lot: of,
                quantity: Quantity::new(grams, Unit::Gram),
                origin: "淳安县鸠坑乡 <3号地>".into(),
                contact: "0571-6500 1234".into(),
                basis,
                tests,
                inputs,
            },
        )
    }

    fn trace(of: LotId, events: Vec<TraceEvent>, warnings: Vec<Warning>) -> Trace {
        Trace {
            left_out: Vec::new(),
            lot: of,
            product: Some(tea()),
            events,
            upstream: vec![],
            downstream: vec![],
            certifications: vec![],
            warnings,
        }
    }

    fn page(g: &Genesis, t: &Trace, lang: Lang, codes: BTreeMap<PublicKey, String>) -> String {
        let ctx = Ctx {
            genesis: g,
            network: g.id(),
            lang,
            now: T + HOUR,
            path: "/",
        };
        let v = verdict(t, g, ctx.now);
        lot_page(&ctx, t, &v, &[Note::CreditCodes(codes)])
    }

    fn section(page: &str) -> &str {
        let from = page.find("<section id=\"certificate\"").expect("a section");
        let to = from + page[from..].find("</section>").expect("its end");
        &page[from..to]
    }

    #[test]
    fn a_certificate_on_a_commissioned_test_shows_issuer_basis_tests_and_promise() {
        let g = genesis();
        let jk = lot(JIUKENG, "JK-1110");
        let test = inspect(2, jk.clone());
        // An older certificate, then the latest: the page shows the latest.
        let old = certificate(
            3,
            JIUKENG,
            T - 10 * HOUR,
            jk.clone(),
            20_000,
            Basis::QualityControl,
            vec![],
            vec![],
        );
        let latest = certificate(
            4,
            JIUKENG,
            T,
            jk.clone(),
            50_000,
            Basis::CommissionedTest,
            vec![test.hash],
            vec![],
        );
        let t = trace(
            jk,
            vec![harvest(1, JIUKENG, "JK-1110"), test, old, latest],
            vec![],
        );
        let codes = BTreeMap::from([(JIUKENG, CODE.to_owned())]);
        for (lang, words) in [
            (
                Lang::Zh,
                [
                    "承诺达标合格证",
                    "千岛湖鸠坑茶园（统一社会信用代码 93330127MA2B0X1Q6M）",
                    "委托检测合格",
                    "<dd>2025年11月11日</dd>",
                    "50 千克",
                    "吡虫啉 imidacloprid (GB 2763-2021)：<b>合格</b>",
                    "检测机构：杭州农产品质量检测中心",
                    "开具者承诺：没有使用禁用的农药",
                ],
            ),
            (
                Lang::En,
                [
                    "Compliance certificate",
                    "千岛湖鸠坑茶园 (unified social credit code 93330127MA2B0X1Q6M)",
                    "passed a test by a commissioned lab",
                    "<dd>11 Nov 2025</dd>",
                    "50 kg",
                    "吡虫啉 imidacloprid (GB 2763-2021): <b>PASS</b>",
                    "tested by 杭州农产品质量检测中心",
                    "The issuer promises that no banned pesticide",
                ],
            ),
        ] {
            let p = page(&g, &t, lang, codes.clone());
            let s = section(&p);
            for w in words {
                assert!(s.contains(w), "{w}: {s}");
            }
            assert!(s.contains("淳安县鸠坑乡 &lt;3号地&gt;"), "{s}");
            assert!(s.contains("0571-6500 1234"), "{s}");
            // The latest certificate only; local dates, no epoch or hashes.
            assert!(!s.contains("20 千克") && !s.contains("20 kg"), "{s}");
            assert!(
                !s.contains("<dd>2025年11月10日") && !s.contains("<dd>10 Nov"),
                "{s}"
            );
            assert!(!p.contains(&T.to_string()), "{p}");
            assert!(!p.contains(&Hash([4; 32]).to_hex()), "{p}");
            // After the verdict, before the journey.
            let at = |w: &str| p.find(w).unwrap_or_else(|| panic!("{w}: {p}"));
            assert!(at("id=\"verdict\"") < at("id=\"certificate\""));
            assert!(at("id=\"certificate\"") < at("class=\"journey\""));
        }
        // Without a recorded code, the issuer's name alone.
        let p = page(&g, &t, Lang::Zh, BTreeMap::new());
        assert!(section(&p).contains("<dd>千岛湖鸠坑茶园</dd>"), "{p}");
        assert!(!p.contains("统一社会信用代码"), "{p}");
    }

    #[test]
    fn a_blend_lists_the_input_certificates_it_names_and_marks_distrusted_ones() {
        let g = genesis();
        let (jk, js) = (lot(JIUKENG, "JK-0401"), lot(LIN, "JS-0402"));
        let blend = lot(COOP, "BLEND-0403");
        let test = inspect(3, js.clone());
        let mut cert_jk = certificate(
            4,
            JIUKENG,
            T - 20 * HOUR,
            jk.clone(),
            30_000,
            Basis::QualityControl,
            vec![],
            vec![],
        );
        cert_jk.flags.push(Flag::Revoked {
            revocation: Hash([20; 32]),
        });
        let cert_js = certificate(
            5,
            LIN,
            T - 19 * HOUR,
            js.clone(),
            25_000,
            Basis::OwnTest,
            vec![test.hash],
            vec![],
        );
        let correct = ev(
            6,
            LIN,
            T - 18 * HOUR,
            Event::Correct {
                record: cert_js.hash,
                lots: vec![js.clone()],
                reason: "incorrect_data".into(),
                corrective: vec![],
            },
        );
        let transform = ev(
            7,
            COOP,
            T - 2 * HOUR,
            Event::Transform {
                process: "拼配 blend".into(),
                inputs: vec![
                    LotAmount {
                        lot: jk.clone(),
                        quantity: Quantity::new(30_000, Unit::Gram),
                    },
                    LotAmount {
                        lot: js.clone(),
                        quantity: Quantity::new(25_000, Unit::Gram),
                    },
                ],
                outputs: vec![NewLot {
                    code: blend.code.clone(),
                    product: tea(),
                    quantity: Quantity::new(55_000, Unit::Gram),
                }],
                loss: 0,
                location: ledger_core::event::Location {
                    description: "鸠坑乡 合作社".into(),
                    gln: None,
                },
                reference: None,
            },
        );
        let cert_blend = certificate(
            8,
            COOP,
            T,
            blend.clone(),
            55_000,
            Basis::QualityControl,
            vec![],
            vec![cert_jk.hash, cert_js.hash],
        );
        let warnings = vec![
            Warning::Flagged {
                record: cert_jk.hash,
                flag: cert_jk.flags[0],
            },
            Warning::DeclaredErroneous {
                record: cert_js.hash,
                declaration: correct.hash,
                reason: "incorrect_data".into(),
                corrective: vec![],
            },
        ];
        let events = vec![
            harvest(1, JIUKENG, "JK-0401"),
            harvest(2, LIN, "JS-0402"),
            test,
            cert_jk,
            cert_js,
            correct,
            transform,
            cert_blend,
        ];
        let t = trace(blend, events.clone(), warnings.clone());
        let codes = BTreeMap::from([(COOP, CODE.to_owned())]);
        let p = page(&g, &t, Lang::Zh, codes.clone());
        let s = section(&p);
        for w in [
            "淳安县鸠坑乡茶叶专业合作社（统一社会信用代码 93330127MA2B0X1Q6M）",
            "55 千克",
            "质量安全控制符合要求",
            "它所依据的原料批次合格证",
            "批次 JK-0401（千岛湖鸠坑茶园）",
            "30 千克",
            "批次 JS-0402（界首林家茶园）",
            "25 千克",
            "自行检测合格",
            "检测：吡虫啉 imidacloprid (GB 2763-2021)：<b>合格</b>",
            "2025年11月10日",
            "签名密钥已被吊销",
            "签署者已声明此记录有误</b>：数据有误",
            "class=\"card alert\"",
            "class=\"card erroneous\"",
        ] {
            assert!(s.contains(w), "{w}: {s}");
        }
        // The blend's own card is trusted.
        assert!(s.contains("<div class=\"card\">"), "{s}");
        let p = page(&g, &t, Lang::En, codes);
        let s = section(&p);
        for w in [
            "The certificates of the lots it was made from, which it names:",
            "lot JS-0402 (界首林家茶园)",
            "passed its own test",
            "30 kg",
            ": signed with a key the regulator revoked",
            "Its signer declared this record erroneous",
        ] {
            assert!(s.contains(w), "{w}: {s}");
        }

        // A tin packed from the blend, with no certificate of its own (made
        // tea needs none): the certificates of the lots it came from.
        let tin = lot(COOP, "PACK-0404");
        let t = trace(tin, events, warnings);
        let p = page(&g, &t, Lang::Zh, BTreeMap::new());
        let s = section(&p);
        assert!(s.contains("制成本产品的原料批次的合格证"), "{s}");
        for code in ["BLEND-0403", "JK-0401", "JS-0402"] {
            assert!(s.contains(code), "{code}: {s}");
        }
        assert!(!s.contains("<div class=\"card"), "{s}");
    }

    #[test]
    fn no_certificate_in_the_lineage_shows_no_section() {
        let g = genesis();
        let jk = lot(JIUKENG, "JK-1110");
        let t = trace(jk.clone(), vec![harvest(1, JIUKENG, "JK-1110")], vec![]);
        for lang in [Lang::Zh, Lang::En] {
            let p = page(&g, &t, lang, BTreeMap::new());
            assert!(!p.contains("id=\"certificate\""), "{p}");
            assert!(!p.contains("承诺") && !p.contains("ompliance"), "{p}");
            assert!(p.contains("class=\"journey\""), "{p}");
        }
    }

    #[test]
    fn credit_codes_are_the_latest_recorded_for_each_issuer() {
        let g = generate(Shape::for_records(10)).genesis;
        let mut regulator = Author::new(key_for("regulator", 0), g.id());
        let identify = |r: &mut Author, time, who: PublicKey, code: &str| {
            r.sign(
                time,
                vec![],
                Event::Identify {
                    participant: who,
                    uscc: code.into(),
                },
            )
        };
        let records = vec![
            identify(&mut regulator, T, JIUKENG, "93330127MA2B0X0000"),
            identify(&mut regulator, T + HOUR, JIUKENG, CODE),
            identify(&mut regulator, T + 2 * HOUR, LAB, "93330127MA2B0X9999"),
        ];
        let graph = MemGraph::new(&g, records);
        let jk = lot(JIUKENG, "JK-1110");
        let mut t = trace(jk.clone(), vec![harvest(1, JIUKENG, "JK-1110")], vec![]);
        assert!(credit_codes(&graph, &t).unwrap().is_empty());
        t.events.push(certificate(
            2,
            JIUKENG,
            T,
            jk,
            1_000,
            Basis::QualityControl,
            vec![],
            vec![],
        ));
        assert_eq!(
            credit_codes(&graph, &t).unwrap(),
            BTreeMap::from([(JIUKENG, CODE.to_owned())])
        );
    }
}
