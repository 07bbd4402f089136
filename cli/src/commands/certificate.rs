//! `terroir certificate`: China's compliance-commitment certificate
//! (承诺达标合格证), issued by the holder of a lot at origin or by a
//! purchaser that mixed or split lots (docs/china.md).

use anyhow::{bail, Result};
use ledger_core::china::{Covered, Scope};
use ledger_core::event::{Basis, Event, Product, Verdict};
use ledger_core::query::Trace;
use ledger_core::{Hash, LotId, Quantity};

use super::record::{Ctx, Sign};
use crate::lots;
use crate::parse;
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Issue a certificate for a quantity of a lot you hold.
    #[command(after_help = "Examples:
  terroir certificate issue --key farm.key --lot JK-1110 --quantity 50kg --basis commissioned-test --contact \"0571-6500 1234\"
  terroir certificate issue --key coop.key --lot BLEND-1112 --quantity 80kg --basis quality-control --contact 0571-6500 8888

A test basis rests on the passing tests of the lot and of the lots it was
made from (all of them, or those named with --test); they must test for
every active ingredient recorded as used on the fields it came from. A
lot blended or split from others names the certificates of its input
lots, which are found for you.")]
    Issue {
        #[command(flatten)]
        sign: Sign,
        /// The lot (CODE or CODE@SOURCE).
        #[arg(long)]
        lot: String,
        /// How much it covers (at most what you hold).
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Quantity,
        /// quality-control (质量安全控制符合要求), own-test (自行检测合格) or
        /// commissioned-test (委托检测合格).
        #[arg(long, value_parser = basis)]
        basis: Basis,
        /// A passing test it rests on (hash or prefix; repeat; default:
        /// every passing test of the lot and of what it was made from).
        #[arg(long = "test", value_parser = parse::hash_prefix)]
        tests: Vec<parse::HashPrefix>,
        /// Place of origin (产地; default: where you were enrolled).
        #[arg(long)]
        origin: Option<String>,
        /// Whom to call about it: a phone number.
        #[arg(long)]
        contact: String,
    },
    /// Print a lot's latest certificate as a label: A6 or 60×40 mm, PDF or
    /// PNG, in Chinese, with the QR code of the lot's page.
    #[command(after_help = "Examples:
  terroir certificate print JK-1110 --out JK-1110.pdf
  terroir certificate print JK-1110 --out label.png --size 60x40 --base-url https://trace.example.cn")]
    Print {
        /// The lot (CODE or CODE@SOURCE).
        lot: String,
        /// The file to write: .pdf or .png.
        #[arg(long, short = 'o', value_name = "FILE")]
        out: std::path::PathBuf,
        /// a6 (105×148 mm, travelling with a batch) or 60x40 (a package label).
        #[arg(long, value_enum, default_value = "a6")]
        size: crate::label::Size,
        /// The resolver the QR code points to.
        #[arg(long, default_value = super::qr::DEFAULT_BASE_URL, value_name = "URL")]
        base_url: String,
    },
    /// List the certificates issued in a period, and the shipments by
    /// farms and cooperatives of covered products whose lot had no
    /// certificate (regulators; a local ledger or a replica).
    #[command(after_help = "Examples:
  terroir certificate list --from 2026-11-01 --to 2026-12-01
  terroir certificate list --from 2026-11-01 --covered 鲜叶 --covered 鲜果 --csv certificates-2026-11.csv

A product counts as covered when a lot of the same product (same GTIN, or
same name) has a certificate somewhere in the ledger, or when --covered
names it. Made tea, dried goji and other processed food fall under food
licensing instead; list only what the order covers.

A regulator running terroird follows its network with a replica:
`terroir join --node URL` once, then `terroir sync` before listing.")]
    List {
        /// From this time (RFC 3339 or YYYY-MM-DD), inclusive.
        #[arg(long, value_parser = parse::timestamp)]
        from: Option<parse::Timestamp>,
        /// Until this time, exclusive.
        #[arg(long, value_parser = parse::timestamp)]
        to: Option<parse::Timestamp>,
        /// A covered product: a word of its name (鲜叶) or its GTIN's
        /// leading digits (repeat).
        #[arg(long = "covered", value_name = "WORD|DIGITS")]
        covered: Vec<String>,
        /// Also write them as CSV (UTF-8, one row per certificate or
        /// uncertified shipment).
        #[arg(long, value_name = "FILE")]
        csv: Option<std::path::PathBuf>,
    },
}

/// A basis as typed: its term with hyphens (`quality-control`) or the
/// order's own words (`质量安全控制符合要求`).
fn basis(s: &str) -> Result<Basis, String> {
    Basis::ALL
        .into_iter()
        .find(|b| b.zh() == s || b.term().replace('_', "-") == s)
        .ok_or_else(|| format!("{s:?} is no basis: quality-control, own-test or commissioned-test"))
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::List {
            from,
            to,
            covered,
            csv,
        } => list(
            s,
            from.map(|t| t.0),
            to.map(|t| t.0),
            Scope::new(covered),
            csv,
        ),
        Command::Print {
            lot,
            out,
            size,
            base_url,
        } => print(s, &lot, &out, size, &base_url),
        Command::Issue {
            sign,
            lot,
            quantity,
            basis,
            tests,
            origin,
            contact,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let Some(trace) = ctx.ledger.trace(&lot)? else {
                bail!("no record creates lot {lot} in {}", ctx.ledger.place());
            };
            // Only the holder certifies, at most what it holds (the rules
            // say so too; said first here, before what else is missing).
            let held = ctx
                .ledger
                .holdings(&ctx.signer.identity)?
                .into_iter()
                .find(|(l, _)| *l == lot)
                .map(|(_, q)| q);
            match held {
                None => bail!(
                    "you hold none of lot {lot}; only the lot's holder issues its certificate"
                ),
                Some(h) if h.unit != quantity.unit || h.amount < quantity.amount => bail!(
                    "you hold only {h} of lot {lot}; a certificate covers at most what you hold"
                ),
                Some(_) => {}
            }
            let made = lots::creation(ctx.ledger.as_ref(), &lot)?;
            let mut deps = vec![made];
            let inputs = input_certificates(&ctx, &lot, made)?;
            deps.extend(&inputs);
            let tests = if tests.is_empty() {
                if basis.is_test() {
                    passing_tests(&trace)
                } else {
                    Vec::new()
                }
            } else {
                let mut named = Vec::with_capacity(tests.len());
                for t in &tests {
                    named.push(crate::backend::resolve_hash(ctx.ledger.as_ref(), t)?);
                }
                named
            };
            if basis.is_test() && tests.is_empty() {
                bail!(
                    "lot {lot} has no passing test to rest a test-based certificate on; have it tested, or certify on quality-control"
                );
            }
            if !tests.is_empty() {
                // The rules check the tests against the fields the lot came
                // from: its creation and every upstream lot's.
                for up in &trace.upstream {
                    deps.push(lots::creation(ctx.ledger.as_ref(), up)?);
                }
                deps.extend(&tests);
            }
            // writer::commit names each dep once.
            let origin = match origin {
                Some(o) => o,
                None => {
                    ctx.book
                        .location(ctx.ledger.as_ref(), &ctx.signer.identity)?
                        .description
                }
            };
            let event = Event::Certificate {
                lot,
                quantity,
                origin,
                contact,
                basis,
                tests,
                inputs,
            };
            ctx.commit(s, deps, event)
        }
    }
}

/// The passing inspections of the lot and of the lots it was made from.
fn passing_tests(trace: &Trace) -> Vec<Hash> {
    trace
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::Inspect {
                    verdict: Verdict::Pass,
                    ..
                }
            )
        })
        .map(|e| e.hash)
        .collect()
}

/// For a lot made from others (`made` is its transform), the latest
/// certificate of each input lot; none for a harvested lot.
fn input_certificates(ctx: &Ctx, lot: &LotId, made: Hash) -> Result<Vec<Hash>> {
    let Some(creation) = ctx.ledger.record(&made)? else {
        bail!("the record creating lot {lot} is missing");
    };
    let Event::Transform { inputs, .. } = &creation.record.event else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let latest = ctx
            .ledger
            .trace(&input.lot)?
            .into_iter()
            .flat_map(|t| t.events)
            .filter(|e| matches!(&e.event, Event::Certificate { lot: l, .. } if *l == input.lot))
            .max_by_key(|e| (e.time, e.hash))
            .map(|e| e.hash);
        match latest {
            Some(h) => out.push(h),
            None => bail!(
                "lot {} ({}) went into lot {lot} and has no certificate; a mixed or split lot is certified from the certificates of its input lots, so its holder issues one first",
                input.lot,
                ctx.book.name(&input.lot.source)
            ),
        }
    }
    Ok(out)
}

/// One row of the list: a certificate, or a shipment without one.
struct Row {
    time: u64,
    what: &'static str,
    who: String,
    lot: LotId,
    product: String,
    quantity: Quantity,
    basis: String,
    origin: String,
    contact: String,
    /// Why an uncertified shipment is listed: what made it covered.
    why: String,
    record: Hash,
}

/// The basis in the order's words and in English, for the regulator's list.
fn basis_words(b: Basis) -> String {
    let en = match b {
        Basis::QualityControl => "quality control",
        Basis::OwnTest => "own test",
        Basis::CommissionedTest => "commissioned test",
    };
    format!("{} {en}", b.zh())
}

fn covered_words(c: &Covered) -> String {
    match c {
        Covered::LikeCertified => "lots of this product have certificates".to_owned(),
        Covered::Listed(e) => format!("--covered {e}"),
    }
}

fn list(
    s: &Settings,
    from: Option<u64>,
    to: Option<u64>,
    mut scope: Scope,
    csv: Option<std::path::PathBuf>,
) -> Result<()> {
    use ledger_core::graph::Graph;
    use std::collections::BTreeMap;

    if let Some(url) = &s.node {
        bail!(
            "`terroir certificate list` reads a local ledger or replica, not --node {url}; \
             follow the node with `terroir join --node {url}` once and `terroir sync`, then list"
        );
    }
    if let (Some(f), Some(t)) = (from, to) {
        if f >= t {
            bail!("--from must be before --to");
        }
    }
    let ledger = crate::ledger_dir::open(&s.ledger)?;
    let in_period = |t: u64| from.is_none_or(|f| t >= f) && to.is_none_or(|u| t < u);
    let name = |k: &ledger_core::PublicKey| -> Result<(String, Option<ledger_core::Role>)> {
        Ok(match Graph::key_info(&ledger, k)? {
            Some(i) => (i.name, Some(i.role)),
            None => (k.short(), None),
        })
    };
    let product = |lot: &LotId| -> Result<Option<Product>> {
        let Some(h) = ledger_core::query::creation(&ledger, lot)? else {
            return Ok(None);
        };
        Ok(Graph::record(&ledger, &h)?.and_then(|r| {
            r.record
                .event
                .created_lots()
                .into_iter()
                .find(|(c, _, _)| *c == lot.code)
                .map(|(_, p, _)| p.clone())
        }))
    };
    let described = |p: &Option<Product>| {
        p.as_ref()
            .map(|p| p.description.clone())
            .unwrap_or_default()
    };
    // Every certificate (kept in an index of their own): when each lot was
    // first certified, by whoever held it, and what products are covered.
    let mut first_certified: BTreeMap<LotId, u64> = BTreeMap::new();
    let mut out = Vec::new();
    for h in Graph::records_of_kind(&ledger, ledger_core::EventKind::Certificate)? {
        let Some(r) = Graph::record(&ledger, &h)? else {
            continue;
        };
        let r = r.record;
        let Event::Certificate {
            lot,
            quantity,
            origin,
            contact,
            basis,
            ..
        } = r.event
        else {
            continue;
        };
        let made = product(&lot)?;
        if let Some(p) = &made {
            scope.certified(p);
        }
        let at = first_certified.entry(lot.clone()).or_insert(r.time);
        *at = (*at).min(r.time);
        if in_period(r.time) {
            out.push(Row {
                time: r.time,
                what: "certificate",
                who: name(&r.author)?.0,
                product: described(&made),
                lot,
                quantity,
                basis: basis_words(basis),
                origin,
                contact,
                why: String::new(),
                record: h,
            });
        }
    }
    out.sort_by_key(|r| (r.time, r.record));
    let certified = out.len();
    // The period's shipments (not indexed: one pass over the ledger).
    let mut ships = Vec::new();
    ledger.for_each_record(|h, bytes| {
        if let Ok(r) = ledger_core::SignedRecord::decode(bytes) {
            if matches!(r.record.event, Event::Ship { .. }) && in_period(r.record.time) {
                ships.push((h, r.record));
            }
        }
        true
    })?;
    ships.sort_by_key(|(h, r)| (r.time, *h));
    let mut out_of_scope = 0usize;
    for (h, r) in ships {
        let (who, role) = name(&r.author)?;
        // Farms and cooperatives issue at origin and when they buy; others
        // (carriers, shops) pass on what they received.
        if !matches!(
            role,
            Some(ledger_core::Role::Farm | ledger_core::Role::Processor)
        ) {
            continue;
        }
        let Event::Ship { lot, quantity, .. } = r.event else {
            continue;
        };
        // A lot certified before it left, by its holder then or earlier
        // (a purchaser passes on the certificate of a lot it did not mix).
        if first_certified.get(&lot).is_some_and(|t| *t <= r.time) {
            continue;
        }
        let made = product(&lot)?;
        let Some(why) = made.as_ref().and_then(|p| scope.covers(p)) else {
            out_of_scope += 1;
            continue;
        };
        out.push(Row {
            time: r.time,
            what: "shipped without a certificate",
            who,
            product: described(&made),
            lot,
            quantity,
            basis: String::new(),
            origin: String::new(),
            contact: String::new(),
            why: covered_words(&why),
            record: h,
        });
    }
    let uncertified = out.len() - certified;
    if let Some(path) = &csv {
        let mut w = ::csv::Writer::from_writer(Vec::new());
        w.write_record([
            "time",
            "what",
            "issuer or shipper",
            "lot",
            "lot source",
            "product",
            "quantity",
            "basis",
            "origin",
            "contact",
            "covered because",
            "record",
        ])?;
        for row in &out {
            w.write_record([
                parse::show_time(row.time),
                row.what.to_owned(),
                row.who.clone(),
                row.lot.code.clone(),
                row.lot.source.to_hex(),
                row.product.clone(),
                row.quantity.to_string(),
                row.basis.clone(),
                row.origin.clone(),
                row.contact.clone(),
                row.why.clone(),
                row.record.to_hex(),
            ])?;
        }
        let bytes = w
            .into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write the CSV: {e}"))?;
        std::fs::write(path, bytes)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    }
    s.out.json(&serde_json::json!({
        "certificates": out.iter().take(certified).map(|r| serde_json::json!({
            "time": parse::rfc3339(r.time), "issuer": r.who, "lot": r.lot, "product": r.product,
            "quantity": r.quantity, "basis": r.basis, "origin": r.origin, "contact": r.contact,
            "record": r.record,
        })).collect::<Vec<_>>(),
        "shipped_without_certificate": out.iter().skip(certified).map(|r| serde_json::json!({
            "time": parse::rfc3339(r.time), "shipper": r.who, "lot": r.lot, "product": r.product,
            "quantity": r.quantity, "covered_because": r.why, "record": r.record,
        })).collect::<Vec<_>>(),
        "uncertified_out_of_scope": out_of_scope,
    }))?;
    if s.out.human() {
        use crate::output::say;
        say!("{certified} certificate(s) issued:");
        for r in out.iter().take(certified) {
            say!(
                "  {}  {}  {} of lot {} ({})  {}  产地 {}  电话 {}",
                parse::show_time(r.time),
                r.who,
                r.quantity,
                r.lot.code,
                r.product,
                r.basis,
                r.origin,
                r.contact
            );
        }
        say!("{uncertified} shipment(s) of covered products by farms and cooperatives without a certificate:");
        for r in out.iter().skip(certified) {
            say!(
                "  {}  {}  {} of lot {} ({}; covered: {})",
                parse::show_time(r.time),
                r.who,
                r.quantity,
                r.lot.code,
                r.product,
                r.why
            );
        }
        if out_of_scope > 0 {
            say!(
                "{out_of_scope} other uncertified shipment(s) are of products not known to be covered \
                 (name them with --covered WORD if the order covers them)"
            );
        }
        if let Some(path) = &csv {
            say!("wrote {} row(s) to {}", out.len(), path.display());
        }
    }
    Ok(())
}

fn print(
    s: &Settings,
    spec: &str,
    out: &std::path::Path,
    size: crate::label::Size,
    base: &str,
) -> Result<()> {
    let ledger = s.backend()?;
    let book = crate::book::Book::load(ledger.as_ref())?;
    let lot = lots::resolve(ledger.as_ref(), &book, spec)?;
    let Some(trace) = ledger.trace(&lot)? else {
        bail!("no record creates lot {lot} in {}", ledger.place());
    };
    let Some(cert) = trace
        .events
        .iter()
        .filter(|e| matches!(&e.event, Event::Certificate { lot: l, .. } if *l == lot))
        .max_by_key(|e| (e.time, e.hash))
    else {
        bail!("lot {lot} has no certificate yet; its holder issues one with `terroir certificate issue`");
    };
    let Event::Certificate {
        quantity,
        origin,
        contact,
        basis,
        tests,
        ..
    } = &cert.event
    else {
        bail!("lot {lot} has no certificate yet");
    };
    let mut tested = Vec::new();
    for t in tests {
        if let Some(r) = ledger.record(t)? {
            if let Event::Inspect { test, .. } = &r.record.event {
                tested.push(format!("{test}：合格（{}）", book.name(&r.record.author)));
            }
        }
    }
    let product = trace.product.as_ref();
    let contents = crate::label::Contents {
        product: product.map(|p| p.description.clone()).unwrap_or_default(),
        quantity: quantity.to_string(),
        producer: book.name(&cert.author),
        uscc: book.get(&cert.author).and_then(|p| p.uscc.clone()),
        origin: origin.clone(),
        contact: contact.clone(),
        date: parse::show_date_zh(cert.time),
        basis: basis.zh().to_owned(),
        tests: tested,
        lot: lot.code.clone(),
        link: super::qr::link(base.trim(), &lot, product.and_then(|p| p.gtin.as_deref())),
    };
    crate::label::write(out, &contents, size)?;
    s.out.json(&serde_json::json!({
        "file": out, "lot": lot, "certificate": cert.hash, "link": contents.link,
    }))?;
    s.out.quiet(out.display());
    if s.out.human() {
        crate::output::say!(
            "wrote the certificate of lot {} ({}, {}) to {}; its QR code opens {}",
            lot.code,
            match size {
                crate::label::Size::A6 => "A6",
                crate::label::Size::Small => "60×40 mm",
            },
            contents.quantity,
            out.display(),
            contents.link
        );
    }
    Ok(())
}
