//! `terroir demo`: a whole farm-to-fork story on a fresh ledger.
//!
//! A county agriculture bureau founds the network and enrolls everyone;
//! two tea gardens of a cooperative harvest 千岛湖茶 leaf; the
//! cooperative's plant receives, blends and packs it; a cold-chain carrier
//! moves packed tea to a supermarket, logging one temperature excursion;
//! a lab tests pesticide residue; the bureau certifies organic and the
//! geographical indication; the supermarket receives and sells. Then a
//! retained sample of one garden's leaf fails, the bureau recalls that lot,
//! and the recall reaches every lot made from it. Everything goes through
//! the same signing path as `terroir record`, and the bundle is verified
//! as `terroir verify` would.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::bundle;
use ledger_core::event::{
    Location, LotAmount, NewLot, Product, Reading, RefDoc, SensorKind, Verdict,
};
use ledger_core::genesis::{Authority, NetworkProfile, GENESIS_VERSION};
use ledger_core::{
    query, Event, Genesis, Hash, LotId, PublicKey, Quantity, Role, SigningKey, Unit,
};
use serde_json::json;

use crate::book::Book;
use crate::commands::{qr, trace};
use crate::keyfile;
use crate::ledger_dir::{self, LocalLedger};
use crate::output::{say, BOLD, DIM, KEY, OK, WARN};
use crate::parse::{self, show_time};
use crate::render::{self, Names};
use crate::settings::Settings;
use crate::writer::{self, Signer};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Where to build it: a new or empty directory.
    #[arg(long, value_name = "DIR", default_value = "terroir-demo")]
    dir: PathBuf,
    /// The resolver base URL put in the QR code.
    #[arg(
        long,
        value_name = "URL",
        env = "TERROIR_BASE_URL",
        default_value = qr::DEFAULT_BASE_URL
    )]
    base_url: String,
}

/// The packed tea's GTIN-14 (valid check digit), under the cooperative's
/// GS1 company prefix.
const PACK_GTIN: &str = "06901234567892";

/// The GS1 company prefix the bureau assigns to the cooperative.
const COOP_PREFIX: &str = "6901234";

/// Whom consumers call about this network's products (in its genesis).
const CONTACT: &str = "淳安县农业农村局 Chun'an County Agriculture Bureau · 12316";

struct Cast {
    slug: &'static str,
    name: &'static str,
    role: Role,
    place: &'static str,
    gln: &'static str,
}

const AUTHORITY: Cast = Cast {
    slug: "authority",
    name: "淳安县农业农村局 Chun'an County Agriculture Bureau",
    role: Role::Regulator,
    place: "淳安县千岛湖镇",
    gln: "6901234000078",
};

const CAST: [Cast; 6] = [
    Cast {
        slug: "jiukeng-garden",
        name: "千岛湖鸠坑茶园 Jiukeng Tea Garden",
        role: Role::Farm,
        place: "淳安县鸠坑乡 terraces, cooperative plot 7",
        gln: "6901234000016",
    },
    Cast {
        slug: "lin-garden",
        name: "界首林家茶园 Lin Family Tea Garden",
        role: Role::Farm,
        place: "淳安县界首乡 hillside, cooperative plot 12",
        gln: "6901234000023",
    },
    Cast {
        slug: "cooperative",
        name: "千岛湖茶叶专业合作社 Qiandao Lake Tea Cooperative",
        role: Role::Processor,
        place: "淳安县千岛湖镇 processing plant",
        gln: "6901234000030",
    },
    Cast {
        slug: "carrier",
        name: "浙冷链物流 Zhe Cold-Chain Logistics",
        role: Role::Logistics,
        place: "杭州市余杭区 cold store",
        gln: "6901234000047",
    },
    Cast {
        slug: "lab",
        name: "杭州农产品质量检测中心 Hangzhou Agri-Product Testing Centre",
        role: Role::Lab,
        place: "杭州市西湖区 laboratory",
        gln: "6901234000054",
    },
    Cast {
        slug: "retailer",
        name: "鲜生超市西湖店 Xiansheng Market, West Lake",
        role: Role::Retailer,
        place: "杭州市西湖区 supermarket",
        gln: "6901234000061",
    },
];

fn loc(c: &Cast) -> Location {
    Location {
        description: c.place.to_owned(),
        gln: Some(c.gln.to_owned()),
    }
}

fn at(t: &str) -> Result<u64> {
    Ok(parse::timestamp(t).map_err(anyhow::Error::msg)?.0)
}

fn kg(n: u64) -> Quantity {
    Quantity::new(n * 1000, Unit::Gram)
}

fn doc(kind: &str, number: &str) -> Option<RefDoc> {
    Some(RefDoc {
        kind: kind.into(),
        number: number.into(),
    })
}

struct Story {
    ledger: LocalLedger,
    now: u64,
    human: bool,
}

impl Story {
    /// Signs and commits one event through the CLI's signing path.
    fn sign(&mut self, who: &Signer, time: &str, deps: Vec<Hash>, event: Event) -> Result<Hash> {
        let book = Book::load(&self.ledger)?;
        let t = at(time)?;
        let r = writer::commit(&mut self.ledger, &book, who, t, self.now, deps, event)?;
        if self.human {
            let names = Names::new(|k| book.get(k).map(|p| short_name(&p.name)));
            let line = render::describe(&r.record.event, &names)
                .into_iter()
                .next()
                .unwrap_or_default();
            let style = if matches!(r.record.event, Event::Recall { .. }) {
                WARN
            } else {
                OK
            };
            say!(
                "  {style}✓{style:#} {DIM}{}{DIM:#}  {BOLD}{}{BOLD:#} {line}",
                show_time(t),
                short_name(&who.name)
            );
        }
        Ok(r.hash())
    }

    fn signer(&self, key: &SigningKey, file: &Path) -> Result<Signer> {
        writer::signer(
            &self.ledger,
            SigningKey::from_seed(&key.seed()),
            file.display().to_string(),
        )
    }
}

/// The Chinese half of a bilingual demo name.
fn short_name(name: &str) -> String {
    name.split(' ').next().unwrap_or(name).to_owned()
}

fn prepare(dir: &Path) -> Result<()> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir)
            .with_context(|| format!("{} exists but cannot be read", dir.display()))?;
        if entries.next().is_some() {
            bail!(
                "{} already exists and is not empty; remove it or pass --dir with a new directory",
                dir.display()
            );
        }
    }
    std::fs::create_dir_all(dir.join("keys"))
        .with_context(|| format!("cannot create {}", dir.display()))
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let started = std::time::Instant::now();
    let base = a.base_url.trim().to_owned();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        bail!("--base-url {base:?} must start with https:// or http://");
    }
    let dir = a.dir;
    prepare(&dir)?;
    let human = s.out.human();
    let ledger_path = dir.join("ledger");
    let keys_dir = dir.join("keys");

    // Keys, written as key files (0600) like `terroir key new` does.
    let key_path = |c: &Cast| keys_dir.join(format!("{}.key", c.slug));
    let authority_key = SigningKey::generate();
    keyfile::create(&key_path(&AUTHORITY), Some(AUTHORITY.name), &authority_key)?;
    let mut keys = Vec::new();
    for c in &CAST {
        let k = SigningKey::generate();
        keyfile::create(&key_path(c), Some(c.name), &k)?;
        keys.push(k);
    }

    let genesis = Genesis {
        version: GENESIS_VERSION,
        network: "淳安县 千岛湖茶 traceability (demo)".into(),
        authorities: vec![Authority {
            key: authority_key.public(),
            name: AUTHORITY.name.into(),
        }],
        checkpoint_threshold: 1,
        created: at("2025-03-20T09:00:00+08:00")?,
        profile: NetworkProfile {
            time_zone: Some("Asia/Shanghai".into()),
            language: Some("zh-CN".into()),
            contact: Some(CONTACT.into()),
        },
    };
    let ledger = ledger_dir::create(&ledger_path, genesis)?;
    let network = ledger.network();
    if human {
        say!("{BOLD}Terroir demo{BOLD:#}: a spring tea harvest in 淳安县, from the garden to a Hangzhou shelf");
        say!("network {KEY}{network}{KEY:#}");
        say!("building it in {}", dir.display());
        say!();
    }
    let mut story = Story {
        ledger,
        now: parse::now_ms(),
        human,
    };
    let authority = story.signer(&authority_key, &key_path(&AUTHORITY))?;

    // Enrollment.
    for (c, k) in CAST.iter().zip(&keys) {
        story.sign(
            &authority,
            "2025-03-25T10:00:00+08:00",
            vec![],
            Event::Enroll {
                participant: k.public(),
                name: c.name.into(),
                role: c.role,
                location: loc(c),
            },
        )?;
    }
    let mut cast = Vec::new();
    for (c, k) in CAST.iter().zip(&keys) {
        cast.push(story.signer(k, &key_path(c))?);
    }
    let [jiukeng, lin, coop, carrier, lab, retailer] = &cast[..] else {
        bail!("the demo cast is incomplete");
    };
    let [c_jiukeng, c_lin, c_coop, c_carrier, c_lab, c_retailer] = &CAST;

    // The cooperative's GS1 company prefix: only it (or a packer it
    // authorises) may put its GTINs on lots.
    story.sign(
        &authority,
        "2025-03-25T10:30:00+08:00",
        vec![],
        Event::AssignPrefix {
            participant: coop.identity,
            prefix: COOP_PREFIX.into(),
        },
    )?;
    let lot = |who: &Signer, code: &str| LotId {
        source: who.identity,
        code: code.into(),
    };
    let leaf = |garden: &str| Product {
        description: format!("千岛湖茶 fresh tea leaf (鲜叶), {garden}"),
        gtin: None,
    };

    // Two gardens harvest and deliver to the cooperative's plant.
    let a_lot = lot(jiukeng, "QDH-JK-0401");
    let b_lot = lot(lin, "QDH-JS-0402");
    let a_harvest = story.sign(
        jiukeng,
        "2025-04-01T07:30:00+08:00",
        vec![],
        Event::Harvest {
            lot_code: a_lot.code.clone(),
            product: leaf("鸠坑 Jiukeng"),
            quantity: kg(120),
            location: loc(c_jiukeng),
            reference: doc("picking log", "JK-2025-0401"),
        },
    )?;
    let b_harvest = story.sign(
        lin,
        "2025-04-02T07:10:00+08:00",
        vec![],
        Event::Harvest {
            lot_code: b_lot.code.clone(),
            product: leaf("界首 Jieshou"),
            quantity: kg(80),
            location: loc(c_lin),
            reference: doc("picking log", "LJ-2025-0402"),
        },
    )?;
    let ship_a = story.sign(
        jiukeng,
        "2025-04-02T15:00:00+08:00",
        vec![],
        Event::Ship {
            lot: a_lot.clone(),
            quantity: kg(120),
            to: coop.identity,
            from: loc(c_jiukeng),
            destination: loc(c_coop),
            reference: doc("delivery note", "JK-D-0402"),
        },
    )?;
    let ship_b = story.sign(
        lin,
        "2025-04-02T15:20:00+08:00",
        vec![],
        Event::Ship {
            lot: b_lot.clone(),
            quantity: kg(80),
            to: coop.identity,
            from: loc(c_lin),
            destination: loc(c_coop),
            reference: doc("delivery note", "LJ-D-0402"),
        },
    )?;
    for (ship, l, q) in [(ship_a, &a_lot, kg(120)), (ship_b, &b_lot, kg(80))] {
        story.sign(
            coop,
            "2025-04-02T17:00:00+08:00",
            vec![ship],
            Event::Receive {
                shipment: ship,
                lot: l.clone(),
                quantity: q,
                location: loc(c_coop),
                reference: None,
            },
        )?;
    }

    // The cooperative blends and packs.
    let blend = lot(coop, "QDH-BLEND-0403");
    story.sign(
        coop,
        "2025-04-03T18:00:00+08:00",
        vec![],
        Event::Transform {
            process: "wither, fix, roll and dry; blend of two gardens".into(),
            inputs: vec![
                LotAmount {
                    lot: a_lot.clone(),
                    quantity: kg(120),
                },
                LotAmount {
                    lot: b_lot.clone(),
                    quantity: kg(80),
                },
            ],
            outputs: vec![NewLot {
                code: blend.code.clone(),
                product: Product {
                    description: "千岛湖茶 green tea, bulk blend (绿茶)".into(),
                    gtin: None,
                },
                quantity: kg(48),
            }],
            loss: 152_000,
            location: loc(c_coop),
            reference: doc("batch sheet", "QDH-B-0403"),
        },
    )?;
    let pack = lot(coop, "QDH-PACK-0404");
    let packed = story.sign(
        coop,
        "2025-04-04T11:00:00+08:00",
        vec![],
        Event::Transform {
            process: "pack into 250 g tins".into(),
            inputs: vec![LotAmount {
                lot: blend.clone(),
                quantity: kg(48),
            }],
            outputs: vec![NewLot {
                code: pack.code.clone(),
                product: Product {
                    description: "千岛湖茶 organic green tea, 250 g tin".into(),
                    gtin: Some(PACK_GTIN.into()),
                },
                quantity: Quantity::new(47_500, Unit::Gram),
            }],
            loss: 500,
            location: loc(c_coop),
            reference: doc("batch sheet", "QDH-P-0404"),
        },
    )?;

    // Lab test and certification.
    story.sign(
        lab,
        "2025-04-06T14:00:00+08:00",
        vec![packed],
        Event::Inspect {
            lot: pack.clone(),
            test: "pesticide residue, GB 2763-2021 (68 analytes)".into(),
            verdict: Verdict::Pass,
            notes: "all analytes below limits of quantification".into(),
            reference: doc("lab report", "HZ-QC-2025-0412"),
        },
    )?;
    story.sign(
        &authority,
        "2025-04-07T09:00:00+08:00",
        vec![packed],
        Event::Certify {
            lot: pack.clone(),
            claim: "organic (GB/T 19630)".into(),
            reference: doc("certificate", "DEMO-ORG-2025-0386"),
            valid_until: Some(at("2026-04-06T23:59:59+08:00")?),
        },
    )?;
    story.sign(
        &authority,
        "2025-04-07T09:05:00+08:00",
        vec![packed],
        Event::Certify {
            lot: pack.clone(),
            claim: "geographical indication 千岛湖茶 (Qiandao Lake tea)".into(),
            reference: doc("GI registration", "DEMO-AGI-0001"),
            valid_until: None,
        },
    )?;

    // Cold chain to the supermarket, with one excursion while loading.
    let to_carrier = story.sign(
        coop,
        "2025-04-08T06:00:00+08:00",
        vec![],
        Event::Ship {
            lot: pack.clone(),
            quantity: kg(20),
            to: carrier.identity,
            from: loc(c_coop),
            destination: loc(c_carrier),
            reference: doc("waybill", "ZCL-2025-04-0815"),
        },
    )?;
    story.sign(
        carrier,
        "2025-04-08T06:30:00+08:00",
        vec![to_carrier],
        Event::Receive {
            shipment: to_carrier,
            lot: pack.clone(),
            quantity: kg(20),
            location: loc(c_coop),
            reference: doc("waybill", "ZCL-2025-04-0815"),
        },
    )?;
    let reading = |t: &str, milli_c: i64| -> Result<Reading> {
        Ok(Reading {
            time: at(t)?,
            kind: SensorKind::Temperature,
            value: milli_c,
            min: 0,
            max: 8_000,
        })
    };
    story.sign(
        carrier,
        "2025-04-08T10:00:00+08:00",
        vec![packed],
        Event::Observe {
            lot: pack.clone(),
            location: Location {
                description: "reefer truck 浙A·C7315, 淳安 → 杭州".into(),
                gln: None,
            },
            readings: vec![
                reading("2025-04-08T06:45:00+08:00", 4_100)?,
                reading("2025-04-08T07:45:00+08:00", 4_600)?,
                reading("2025-04-08T08:45:00+08:00", 9_600)?,
                reading("2025-04-08T09:45:00+08:00", 5_200)?,
            ],
        },
    )?;
    let to_shop = story.sign(
        carrier,
        "2025-04-08T10:10:00+08:00",
        vec![],
        Event::Ship {
            lot: pack.clone(),
            quantity: kg(20),
            to: retailer.identity,
            from: loc(c_carrier),
            destination: loc(c_retailer),
            reference: doc("waybill", "ZCL-2025-04-0815"),
        },
    )?;
    story.sign(
        retailer,
        "2025-04-08T10:40:00+08:00",
        vec![to_shop],
        Event::Receive {
            shipment: to_shop,
            lot: pack.clone(),
            quantity: kg(20),
            location: loc(c_retailer),
            reference: doc("goods receipt", "XS-GR-88213"),
        },
    )?;
    story.sign(
        retailer,
        "2025-04-09T19:00:00+08:00",
        vec![],
        Event::Sell {
            lot: pack.clone(),
            quantity: Quantity::new(2_500, Unit::Gram),
            location: loc(c_retailer),
        },
    )?;

    // A retained sample of one garden's leaf fails; the bureau recalls it.
    story.sign(
        lab,
        "2025-04-10T16:00:00+08:00",
        vec![b_harvest],
        Event::Inspect {
            lot: b_lot.clone(),
            test: "pesticide residue, retained leaf sample: chlorpyrifos".into(),
            verdict: Verdict::Fail,
            notes: "0.35 mg/kg found; maximum residue limit 0.1 mg/kg (GB 2763-2021)".into(),
            reference: doc("lab report", "HZ-QC-2025-0431"),
        },
    )?;
    story.sign(
        &authority,
        "2025-04-11T08:00:00+08:00",
        vec![b_harvest],
        Event::Recall {
            lot: b_lot.clone(),
            reason: "chlorpyrifos above the maximum residue limit in a retained sample".into(),
        },
    )?;
    let _ = a_harvest;

    // A later picking from Jiukeng alone, packed into three lots of the
    // same tin: one clean, one that met a warm truck, one whose organic
    // certificate has run out. With the tin above they are the four
    // verdicts a shopper can meet under one GTIN.
    let more = more_tins(&mut story, &authority, &cast, &CAST)?;

    // The county bureau, the network's one authority (k = 1), signs a
    // checkpoint of it all: the bundle then proves its records were in the
    // log by then, and that the status map lists (or does not list) each
    // of its lots.
    let mut ledger = story.ledger;
    let (checkpoint, _) = super::checkpoint::sign_next(&mut ledger, &authority_key, story.now)?;
    let book = Book::load(&ledger)?;
    let names = Names::new(|k: &PublicKey| book.get(k).map(|p| p.name.clone()));
    let genesis_copy = ledger.genesis().clone();
    let Some(pack_trace) = query::trace(&ledger, &ledger, &pack)? else {
        bail!("the demo's packed lot has no trace");
    };
    let reach = trace::reach(&ledger, &b_lot)?;
    let bundle_path = dir.join(format!("{}.bundle", pack.code));
    let qr_path = dir.join(format!("{}.png", pack.code));
    let Some(b) = bundle::export(&ledger, &pack)? else {
        bail!("the demo's packed lot has no bundle");
    };
    let bytes = b.encode();
    std::fs::write(&bundle_path, &bytes)
        .with_context(|| format!("cannot write {}", bundle_path.display()))?;
    let url = qr::link(&base, &pack, Some(PACK_GTIN));
    qr::write_file(&url, &qr_path)?;
    let verification = bundle::verify(&std::fs::read(&bundle_path)?, &network);
    let records = ledger.len();
    let digest = ledger.state_digest()?;
    drop(ledger);

    if human {
        say!();
        say!(
            "{BOLD}The county bureau signs checkpoint {}{BOLD:#}: the log of all {} records, and the status map of the {} lot(s) with something to tell",
            checkpoint.checkpoint.height,
            checkpoint.checkpoint.size,
            checkpoint.checkpoint.map_size
        );
        say!();
        say!(
            "{BOLD}What the QR code on a tin of {} shows{BOLD:#}",
            pack.code
        );
        say!("{DIM}{url}{DIM:#}");
        say!();
        let verdict = ledger_core::verdict::verdict(&pack_trace, &genesis_copy, parse::now_ms());
        render::print_trace(&pack_trace, &verdict, &names);
        say!();
        say!(
            "{WARN}The recall of {} ({}) reaches {} lot(s) made from it:{WARN:#}",
            b_lot,
            short_name(&book.name(&b_lot.source)),
            reach.len()
        );
        for r in &reach {
            say!(
                "  {}  {}",
                r["display"].as_str().unwrap_or_default(),
                trace::holders_text(r, short_name)
            );
        }
        say!();
        say!(
            "{BOLD}Verifying the bundle offline{BOLD:#} ({} records, {} bytes)",
            b.records.len(),
            bytes.len()
        );
        for c in &verification.checks {
            let (mark, st) = if c.ok { ("✓", OK) } else { ("✗", WARN) };
            say!("  {st}{mark}{st:#} {:<11} {}", c.name, c.detail);
        }
        if let Some(summary) = verification.summary(parse::shown_zone(genesis_copy.time_zone())) {
            say!("  {summary}");
        }
    }
    if !verification.verified() {
        let why = verification
            .failure()
            .map(|c| format!("{}: {}", c.name, c.detail))
            .unwrap_or_default();
        bail!("the demo bundle failed verification: {why}");
    }
    let warnings = verification.trace.as_ref().map_or(0, |t| t.warnings.len());
    let keys_list: Vec<_> = std::iter::once(&AUTHORITY)
        .chain(CAST.iter())
        .map(|c| json!({ "name": c.name, "role": c.role, "file": key_path(c) }))
        .collect();
    s.out.json(&json!({
        "dir": dir,
        "ledger": ledger_path,
        "network_id": network,
        "records": records,
        "state_digest": digest,
        "checkpoint": checkpoint.checkpoint.height,
        "keys": keys_list,
        "lots": {
            "harvests": [a_lot, b_lot],
            "blend": blend,
            "pack": pack,
            "recalled": b_lot,
            "clean": more.clean,
            "excursion": more.excursion,
            "expired_certificate": more.expired,
        },
        "bundle": bundle_path,
        "qr": qr_path,
        "qr_url": url,
        "verified": true,
        "warnings": warnings,
        "reach": reach,
        "seconds": started.elapsed().as_secs_f64(),
    }))?;
    s.out.quiet(network);
    if human {
        let l = ledger_path.display();
        let bp = bundle_path.display();
        say!(
            "  {OK}VERIFIED{OK:#}: genuine and complete back to both harvests; {WARN}{warnings} warning(s){WARN:#} (the excursion, the failed test, the recall)"
        );
        say!();
        say!(
            "{BOLD}Done{BOLD:#} in {:.1} s: {records} records.",
            started.elapsed().as_secs_f64()
        );
        say!("  network id  {KEY}{network}{KEY:#}");
        say!("  ledger      {l}");
        say!(
            "  keys        {}/*.key (one per participant, mode 0600)",
            keys_dir.display()
        );
        say!("  bundle      {bp}");
        say!("  QR code     {}", qr_path.display());
        say!();
        say!("{BOLD}Inspect, trace and verify it yourself{BOLD:#} (use `cargo run --release --bin terroir --` for `terroir` if it is not installed):");
        say!("  terroir --ledger {l} status");
        say!("  terroir --ledger {l} participants");
        say!("  terroir --ledger {l} trace {}", pack.code);
        say!("  terroir --ledger {l} trace {} --downstream", b_lot.code);
        say!("  terroir verify {bp} --network {network}");
        say!("  terroir --ledger {l} audit");
        say!();
        say!("{BOLD}Try next{BOLD:#}");
        say!(
            "  sell a tin:        terroir --ledger {l} record sell --key {} --lot {} --quantity 250g",
            key_path(c_retailer).display(),
            pack.code
        );
        say!(
            "  oversell:          terroir --ledger {l} record sell --key {} --lot {} --quantity 1t   (refused, nothing changes)",
            key_path(c_retailer).display(),
            pack.code
        );
        say!(
            "  QR in a terminal:  terroir --ledger {l} qr {} --terminal",
            pack.code
        );
        say!("  tamper:            flip a byte of {bp} and verify it again");
        say!("  your own network:  terroir key new --out me.key --name ME && terroir --ledger my-ledger init --network NAME --authority-key me.key");
        let _ = c_lab;
    }
    Ok(())
}

/// The lots [`more_tins`] packs.
struct MoreTins {
    clean: LotId,
    excursion: LotId,
    expired: LotId,
}

/// A second Jiukeng picking, packed by the cooperative into three lots of
/// the tin: a clean one (tested, GI-certified, sold through the shop), one
/// with a cold-chain excursion on the way to the shop, and one whose
/// organic certificate expired on 2025-10-31.
fn more_tins(
    story: &mut Story,
    authority: &Signer,
    cast: &[Signer],
    roles: &[Cast; 6],
) -> Result<MoreTins> {
    let [jiukeng, _, coop, carrier, lab, retailer] = cast else {
        bail!("the demo cast is incomplete");
    };
    let [c_jiukeng, _, c_coop, c_carrier, _, c_retailer] = roles;
    let lot = |who: &Signer, code: &str| LotId {
        source: who.identity,
        code: code.into(),
    };
    let leaf = lot(jiukeng, "QDH-JK-0412");
    let harvest = story.sign(
        jiukeng,
        "2025-04-12T07:40:00+08:00",
        vec![],
        Event::Harvest {
            lot_code: leaf.code.clone(),
            product: Product {
                description: "千岛湖茶 fresh tea leaf (鲜叶), 鸠坑 Jiukeng".into(),
                gtin: None,
            },
            quantity: kg(60),
            location: loc(c_jiukeng),
            reference: doc("picking log", "JK-2025-0412"),
        },
    )?;
    story.sign(
        lab,
        "2025-04-12T15:00:00+08:00",
        vec![harvest],
        Event::Inspect {
            lot: leaf.clone(),
            test: "pesticide residue, GB 2763-2021 (68 analytes)".into(),
            verdict: Verdict::Pass,
            notes: "all analytes below limits of quantification".into(),
            reference: doc("lab report", "HZ-QC-2025-0447"),
        },
    )?;
    let shipped = story.sign(
        jiukeng,
        "2025-04-12T16:00:00+08:00",
        vec![],
        Event::Ship {
            lot: leaf.clone(),
            quantity: kg(60),
            to: coop.identity,
            from: loc(c_jiukeng),
            destination: loc(c_coop),
            reference: doc("delivery note", "JK-D-0412"),
        },
    )?;
    story.sign(
        coop,
        "2025-04-12T17:30:00+08:00",
        vec![shipped],
        Event::Receive {
            shipment: shipped,
            lot: leaf.clone(),
            quantity: kg(60),
            location: loc(c_coop),
            reference: None,
        },
    )?;
    let tins = MoreTins {
        clean: lot(coop, "QDH-PACK-0413"),
        excursion: lot(coop, "QDH-PACK-0414"),
        expired: lot(coop, "QDH-PACK-0415"),
    };
    let tin = |code: &str| NewLot {
        code: code.into(),
        product: Product {
            description: "千岛湖茶 organic green tea, 250 g tin".into(),
            gtin: Some(PACK_GTIN.into()),
        },
        quantity: kg(5),
    };
    let packed = story.sign(
        coop,
        "2025-04-13T11:00:00+08:00",
        vec![],
        Event::Transform {
            process: "wither, fix, roll and dry; pack into 250 g tins".into(),
            inputs: vec![LotAmount {
                lot: leaf.clone(),
                quantity: kg(60),
            }],
            outputs: vec![
                tin(&tins.clean.code),
                tin(&tins.excursion.code),
                tin(&tins.expired.code),
            ],
            loss: 45_000,
            location: loc(c_coop),
            reference: doc("batch sheet", "QDH-P-0413"),
        },
    )?;
    for (l, valid_until) in [
        (&tins.clean, None),
        (&tins.excursion, None),
        (&tins.expired, Some(at("2025-10-31T23:59:59+08:00")?)),
    ] {
        let (claim, reference) = match valid_until {
            None => (
                "geographical indication 千岛湖茶 (Qiandao Lake tea)",
                doc("GI registration", "DEMO-AGI-0001"),
            ),
            Some(_) => (
                "organic (GB/T 19630)",
                doc("certificate", "DEMO-ORG-2025-0419"),
            ),
        };
        story.sign(
            authority,
            "2025-04-14T09:00:00+08:00",
            vec![packed],
            Event::Certify {
                lot: l.clone(),
                claim: claim.into(),
                reference,
                valid_until,
            },
        )?;
    }
    // The clean tin goes to the shop in the cooperative's own van.
    let to_shop = story.sign(
        coop,
        "2025-04-15T05:30:00+08:00",
        vec![],
        Event::Ship {
            lot: tins.clean.clone(),
            quantity: kg(5),
            to: retailer.identity,
            from: loc(c_coop),
            destination: loc(c_retailer),
            reference: doc("delivery note", "QDH-D-0415"),
        },
    )?;
    story.sign(
        retailer,
        "2025-04-15T10:20:00+08:00",
        vec![to_shop],
        Event::Receive {
            shipment: to_shop,
            lot: tins.clean.clone(),
            quantity: kg(5),
            location: loc(c_retailer),
            reference: doc("goods receipt", "XS-GR-88342"),
        },
    )?;
    // The excursion tin rides a truck whose cooling failed for two hours.
    let to_carrier = story.sign(
        coop,
        "2025-04-15T06:00:00+08:00",
        vec![],
        Event::Ship {
            lot: tins.excursion.clone(),
            quantity: kg(5),
            to: carrier.identity,
            from: loc(c_coop),
            destination: loc(c_carrier),
            reference: doc("waybill", "ZCL-2025-04-0911"),
        },
    )?;
    story.sign(
        carrier,
        "2025-04-15T06:20:00+08:00",
        vec![to_carrier],
        Event::Receive {
            shipment: to_carrier,
            lot: tins.excursion.clone(),
            quantity: kg(5),
            location: loc(c_coop),
            reference: doc("waybill", "ZCL-2025-04-0911"),
        },
    )?;
    let mut readings = Vec::new();
    for (t, milli_c) in [
        ("2025-04-15T06:30:00+08:00", 4_200),
        ("2025-04-15T07:30:00+08:00", 5_100),
        ("2025-04-15T08:30:00+08:00", 11_800),
        ("2025-04-15T09:30:00+08:00", 12_400),
        ("2025-04-15T10:30:00+08:00", 6_300),
    ] {
        readings.push(Reading {
            time: at(t)?,
            kind: SensorKind::Temperature,
            value: milli_c,
            min: 0,
            max: 8_000,
        });
    }
    story.sign(
        carrier,
        "2025-04-15T10:40:00+08:00",
        vec![packed],
        Event::Observe {
            lot: tins.excursion.clone(),
            location: Location {
                description: "reefer truck 浙A·D2046, 淳安 → 杭州".into(),
                gln: None,
            },
            readings,
        },
    )?;
    let onward = story.sign(
        carrier,
        "2025-04-15T10:50:00+08:00",
        vec![],
        Event::Ship {
            lot: tins.excursion.clone(),
            quantity: kg(5),
            to: retailer.identity,
            from: loc(c_carrier),
            destination: loc(c_retailer),
            reference: doc("waybill", "ZCL-2025-04-0911"),
        },
    )?;
    story.sign(
        retailer,
        "2025-04-15T11:30:00+08:00",
        vec![onward],
        Event::Receive {
            shipment: onward,
            lot: tins.excursion.clone(),
            quantity: kg(5),
            location: loc(c_retailer),
            reference: doc("goods receipt", "XS-GR-88350"),
        },
    )?;
    Ok(tins)
}
