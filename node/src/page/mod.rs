//! The consumer page a QR code opens: GS1 Digital Link paths
//! (`/01/{GTIN}/10/{LOT}`, and the product, serial and variant forms) and,
//! for lots without a GTIN, `/lot/{SOURCE}/{LOT}`.
//!
//! The page answers "can I eat this?" in its first screen: one verdict
//! ([`ledger_core::verdict`]), large, with what to do and whom to call;
//! then the lot's compliance-commitment certificate when its lineage has
//! one; then the journey as a timeline in local time, the cold-chain readings as
//! a chart with the allowed band, the route, and how to verify the lot's
//! bundle offline. One request, no script, no external file, in Chinese or
//! English.
//!
//! ## Layout
//! - this file: lookups in the ledger, and the pages.
//! - [`i18n`]: the language a request gets, words, dates and units.
//! - [`chart`]: the SVG chart of sensor readings.
//! - [`link`]: Digital Link paths, parsed with their typed errors.
//! - `verdict`: the verdict box of the first screen.
//! - [`certificate`]: the compliance-commitment certificate (承诺达标合格证)
//!   section, and the issuers' credit codes it shows.
//! - `timeline`: the journey, event by event, and the route.
//! - `bad_link`: what is wrong with a link, in words.
//! - [`standing`]: what the newest checkpoint says about the lot.

mod bad_link;
pub mod certificate;
pub mod chart;
pub mod i18n;
pub mod link;
pub mod standing;
mod timeline;
mod verdict;

use std::collections::BTreeMap;
use std::fmt::Write;

use ledger_core::event::{Location, RefDoc};
use ledger_core::graph::Graph;
use ledger_core::gs1::{self, LinkError};
use ledger_core::query::{self, Trace};
use ledger_core::store::SledStore;
use ledger_core::verdict::{Finding, Verdict};
use ledger_core::{Genesis, LotId, NetworkId, PublicKey, Reader, StoreError};

pub use bad_link::bad_link_words;
use certificate::certificate_section;
pub use certificate::credit_codes;
pub use i18n::Lang;
pub use standing::{standing, Standing};
use timeline::{event_item, route};
use verdict::verdict_box;

/// Most lots a product page lists (the newest first).
pub const MAX_PRODUCT_LOTS: usize = 50;

/// GTINs compare as 14 digits (GTIN-8/12/13 are left-padded with zeros).
fn gtin14(s: &str) -> Option<String> {
    let d = s.trim();
    if d.is_empty() || d.len() > 14 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{d:0>14}"))
}

/// The trace of the lot with code `lot` whose product carries `gtin`, and
/// how many lots carry that pair in all: one, unless an owner and its
/// packer created the same pair unseen by each other and replication
/// brought both here (admission refuses it everywhere else). Then the
/// first in (code, source) order is shown, with a warning.
pub fn find_trace(
    ledger: &Reader<SledStore>,
    gtin: &str,
    lot: &str,
) -> Result<Option<(Trace, usize)>, StoreError> {
    let Some(want) = gtin14(gtin) else {
        return Ok(None);
    };
    let lots = ledger.lots_with_gtin_and_code(&want, lot)?;
    for id in &lots {
        if let Some(t) = query::trace(ledger, ledger, id)? {
            return Ok(Some((t, lots.len())));
        }
    }
    Ok(None)
}

/// The traces of the lots of the product `gtin`, newest first, at most
/// [`MAX_PRODUCT_LOTS`].
pub fn product_traces(ledger: &Reader<SledStore>, gtin: &str) -> Result<Vec<Trace>, StoreError> {
    let Some(want) = gtin14(gtin) else {
        return Ok(Vec::new());
    };
    let mut lots: Vec<(u64, LotId)> = Vec::new();
    for id in ledger.lots_with_gtin(&want)? {
        let time = match query::creation(ledger, &id)? {
            Some(h) => Graph::record(ledger, &h)?.map_or(0, |r| r.record.time),
            None => 0,
        };
        lots.push((time, id));
    }
    lots.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    lots.truncate(MAX_PRODUCT_LOTS);
    let mut out = Vec::new();
    for (_, id) in lots {
        out.extend(query::trace(ledger, ledger, &id)?);
    }
    Ok(out)
}

/// The lot a `/lot/{source}/{code}` link names, its path segments already
/// percent-decoded: the source is its creator's key as 64 hex digits.
pub fn lot_id(source: &str, code: String) -> Result<LotId, BadLink> {
    let source = PublicKey::from_hex(source).map_err(|_| BadLink::Source)?;
    if code.is_empty() {
        return Err(BadLink::NoLot);
    }
    Ok(LotId { source, code })
}

/// The trace of the lot `id` (any product, with or without a GTIN).
pub fn find_lot(ledger: &Reader<SledStore>, id: &LotId) -> Result<Option<Trace>, StoreError> {
    query::trace(ledger, ledger, id)
}

/// Why a link names no lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadLink {
    /// A malformed GS1 Digital Link.
    Link(LinkError),
    /// `/lot/{source}/…` whose source is not a key of 64 hex digits.
    Source,
    /// `/lot/{source}/{code}` with an empty code.
    NoLot,
    /// A path segment that is not percent-encoded UTF-8.
    Encoding,
}

/// What the page is rendered for: the network, the reader's language,
/// the time, the path (for the language switch).
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// The network's genesis (name, time zone, contact).
    pub genesis: &'a Genesis,
    /// The network id.
    pub network: NetworkId,
    /// The reader's language.
    pub lang: Lang,
    /// Now, ms since epoch (certificates are judged at this time).
    pub now: u64,
    /// The request's path, without its query.
    pub path: &'a str,
}

/// A note on a lot page: reached by a serial or variant link, or by a
/// code that names more than one lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// `/…/10/{lot}/21/{serial}`: serials are not tracked one by one.
    Serial(String),
    /// `/…/22/{variant}/10/{lot}`: the variant is not tracked.
    Variant(String),
    /// The GTIN and lot code name this many lots (more than one): the
    /// page shows the first and warns.
    SharedCode(usize),
    /// What the newest checkpoint says about the lot (shown first, under
    /// the verdict).
    Standing(Standing),
    /// The unified social credit codes of the participants that issued
    /// the certificates of the lot's lineage ([`credit_codes`]): no line
    /// of their own, they show on those certificates.
    CreditCodes(BTreeMap<PublicKey, String>),
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The page's style: system fonts, one column, long words wrap.
const STYLE: &str = "*{box-sizing:border-box}\
html{-webkit-text-size-adjust:100%}\
body{margin:0;font:16px/1.5 system-ui,-apple-system,'Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif;color:#1b1b1b;background:#f6f6f3;overflow-wrap:anywhere;word-break:normal}\
main{max-width:40rem;margin:0 auto;padding:0 12px 24px}\
header{display:flex;justify-content:space-between;gap:8px;align-items:baseline;padding:8px 12px;max-width:40rem;margin:0 auto;font-size:14px;color:#555}\
header a{color:#1d4f91;white-space:nowrap}\
.product{margin:4px 0 8px;font-size:15px;color:#333}\
.product b{font-size:17px;color:#111}\
.verdict{border-radius:10px;padding:14px 16px;margin:0 0 16px;border:3px solid}\
.verdict h1{font-size:28px;line-height:1.2;margin:0 0 8px}\
.verdict p{margin:6px 0;font-size:17px}\
.verdict .do{font-weight:700}\
.bad{background:#fdecea;border-color:#c62828;color:#7f1010}\
.warn{background:#fff4e0;border-color:#e08a00;color:#5c3800}\
.ok{background:#e8f5e9;border-color:#2e7d32;color:#1b4d20}\
.also{font-size:15px}\
h2{font-size:19px;margin:22px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}\
ol.journey{list-style:none;padding:0;margin:0}\
ol.journey li{background:#fff;border-left:4px solid #9bb7d9;border-radius:4px;padding:8px 10px;margin:0 0 10px}\
ol.journey li.alert{border-left-color:#c62828}\
ol.journey li.erroneous{border-left-color:#9e9e9e;color:#555}\
.when{color:#555;font-size:14px;margin:0}\
.journey h3{margin:2px 0;font-size:17px}\
.journey p{margin:2px 0}\
.small{font-size:14px;color:#555}\
.chart{width:100%;height:auto;background:#fff;margin:6px 0}\
ol.route{padding-left:1.4em}\
ul.lots{padding-left:1.2em}\
.cert .card{background:#fff;border-left:4px solid #2e7d32;border-radius:4px;padding:8px 10px;margin:0 0 10px}\
.cert .card.alert{border-left-color:#c62828}\
.cert .card.erroneous{border-left-color:#9e9e9e;color:#555}\
.cert p{margin:2px 0}\
dl.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:2px 12px;margin:0 0 6px}\
dl.facts dt{color:#555}\
dl.facts dd{margin:0}\
ul.certs{list-style:none;padding:0;margin:0}\
ul.tests{padding-left:1.2em;margin:2px 0 6px}\
.promise{font-size:15px}\
code{font-size:14px;background:#eee;padding:1px 4px;border-radius:3px}\
a{color:#1d4f91}";

/// Opens a page: head, style, the network and the language switch.
fn open(ctx: &Ctx<'_>, title: &str) -> String {
    let l = ctx.lang;
    let other = l.other();
    let mut h = String::with_capacity(16 * 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body><header><span>{}</span><a href=\"{}?lang={}\" hreflang=\"{}\" lang=\"{}\">{}</a></header><main>",
        l.tag(),
        esc(title),
        esc(&ctx.genesis.network),
        esc(ctx.path),
        other.param(),
        other.tag(),
        other.tag(),
        other.own_name()
    );
    h
}

fn close(mut h: String) -> String {
    h.push_str("</main></body></html>");
    h
}

/// The regulator's contact, or the authority's name when genesis has none.
fn contact_line(ctx: &Ctx<'_>, verdict_contact: Option<&str>) -> String {
    let l = ctx.lang;
    let who = ctx
        .genesis
        .authorities
        .first()
        .map(|a| a.name.as_str())
        .unwrap_or_default();
    match verdict_contact {
        Some(c) => format!(
            "{}{}",
            l.tr("咨询与举报：", "Questions and reports: "),
            esc(c)
        ),
        None => format!(
            "{}{}",
            l.tr("咨询与举报：", "Questions and reports: "),
            esc(who)
        ),
    }
}

/// The participant name for `key`, from the trace's signers.
fn name_of(t: &Trace, key: &PublicKey) -> Option<String> {
    t.events
        .iter()
        .filter_map(|e| e.signer.as_ref())
        .find(|s| s.identity == *key)
        .map(|s| s.name.clone())
}

/// `批次 QDH-JS-0402（界首林家茶园）` / `lot QDH-JS-0402 (Lin Family …)`.
fn lot_words(ctx: &Ctx<'_>, t: &Trace, lot: &LotId) -> String {
    let l = ctx.lang;
    match name_of(t, &lot.source) {
        Some(n) => format!(
            "{}{}{}{}{}",
            l.tr("批次 ", "lot "),
            esc(&lot.code),
            l.tr("（", " ("),
            esc(&n),
            l.tr("）", ")")
        ),
        None => format!("{}{}", l.tr("批次 ", "lot "), esc(&lot.code)),
    }
}

fn place(loc: &Location) -> String {
    match (&loc.description, &loc.gln) {
        (d, Some(g)) if !d.is_empty() => format!("{d} · GLN {g}"),
        (_, Some(g)) => format!("GLN {g}"),
        (d, None) => d.clone(),
    }
}

fn doc(l: Lang, r: &Option<RefDoc>) -> String {
    r.as_ref()
        .map(|r| {
            format!(
                "<p class=\"small\">{}{} {}</p>",
                l.tr("单据：", "Document: "),
                esc(&r.kind),
                esc(&r.number)
            )
        })
        .unwrap_or_default()
}

/// A participant's name from the trace, else the short key.
fn who(t: &Trace, key: &PublicKey) -> String {
    name_of(t, key).unwrap_or_else(|| key.short())
}

fn product_line(ctx: &Ctx<'_>, t: &Trace) -> String {
    let l = ctx.lang;
    let product = t.product.as_ref();
    format!(
        "<p class=\"product\"><b>{}</b><br>{}{}{}{}</p>",
        esc(product.map_or("", |p| p.description.as_str())),
        l.tr("批号 ", "Lot "),
        esc(&t.lot.code),
        l.tr(" · 生产者 ", " · made by "),
        esc(&who(t, &t.lot.source))
    )
}

/// The lot's page: product, verdict, compliance certificate, certified
/// claims, journey, route and how to verify its bundle offline.
pub fn lot_page(ctx: &Ctx<'_>, t: &Trace, v: &Verdict, notes: &[Note]) -> String {
    let l = ctx.lang;
    let product = t.product.as_ref().map_or("", |p| p.description.as_str());
    let mut h = open(ctx, &format!("{product} · {}", t.lot.code));
    h.push_str(&product_line(ctx, t));
    h.push_str(&verdict_box(ctx, t, v));
    for note in notes {
        note_line(&mut h, ctx, note);
    }
    let no_codes = BTreeMap::new();
    let codes = notes
        .iter()
        .find_map(|n| match n {
            Note::CreditCodes(c) => Some(c),
            _ => None,
        })
        .unwrap_or(&no_codes);
    h.push_str(&certificate_section(ctx, t, codes));
    if !v.certified.is_empty() {
        let _ = write!(h, "<h2>{}</h2><ul>", l.tr("有效认证", "Valid certificates"));
        for c in &v.certified {
            let _ = write!(
                h,
                "<li><b>{}</b>{}{}</li>",
                esc(&c.claim),
                c.number
                    .as_ref()
                    .map(|n| format!("{}{}", l.tr("，证书编号 ", ", certificate "), esc(n)))
                    .unwrap_or_default(),
                match c.valid_until {
                    Some(u) => format!(
                        "{}{}",
                        l.tr("，有效期至 ", ", valid until "),
                        l.date(u, ctx.genesis)
                    ),
                    None => l.tr("，长期有效", ", no expiry").to_owned(),
                }
            );
        }
        h.push_str("</ul>");
    }
    let _ = write!(
        h,
        "<h2>{}</h2><ol class=\"journey\">",
        l.tr("从农田到货架", "From the field to the shelf")
    );
    for e in &t.events {
        h.push_str(&event_item(ctx, t, e));
    }
    h.push_str("</ol>");
    let places = route(t);
    if !places.is_empty() {
        let _ = write!(h, "<h2>{}</h2><ol class=\"route\">", l.tr("路线", "Route"));
        for p in places {
            let _ = write!(h, "<li>{}</li>", esc(&p));
        }
        h.push_str("</ol>");
    }
    let file = format!("{}.bundle", t.lot.code);
    let _ = write!(
        h,
        "<h2>{}</h2><p><a href=\"/lots/{}/{}/bundle\" download=\"{}\">{}</a></p><p class=\"small\">{}<code>terroir verify {} --network {}</code>{}</p>",
        l.tr("自己核验", "Check it yourself"),
        t.lot.source.to_hex(),
        gs1::percent_encode(&t.lot.code),
        esc(&file),
        l.tr("下载本批次的追溯文件", "Download this lot's trace bundle"),
        l.tr("离线核验：", "Verify it offline: "),
        esc(&file),
        ctx.network.short(),
        l.tr(
            "（网络编号请用监管部门公布的完整编号，它以上面的字符开头）。",
            " (give the full network id the regulator publishes; it starts with these characters)."
        )
    );
    close(h)
}

/// A product's page (`/01/{gtin}`): its lots, newest first, with their
/// verdicts; `note` explains why the reader landed here.
pub fn product_page(
    ctx: &Ctx<'_>,
    gtin: &str,
    lots: &[(Trace, Verdict)],
    serial: Option<&str>,
) -> String {
    let l = ctx.lang;
    let product = lots
        .first()
        .and_then(|(t, _)| t.product.as_ref())
        .map_or(String::new(), |p| p.description.clone());
    let mut h = open(ctx, &product);
    let _ = write!(
        h,
        "<p class=\"product\"><b>{}</b><br>GTIN {}</p>",
        esc(&product),
        esc(gtin)
    );
    if let Some(s) = serial {
        let _ = write!(
            h,
            "<section id=\"verdict\" class=\"verdict warn\"><h1>{}</h1><p>{}{}{}</p></section>",
            l.tr("需要批号", "The lot number is needed"),
            l.tr("序列号 ", "Serial "),
            esc(s),
            l.tr(
                "：本系统按批次追溯，不记录单件商品。请查看包装上的批号，在下面选择。",
                ": this ledger traces lots, not single items. Find the lot number on the pack and choose it below."
            )
        );
    }
    let _ = write!(
        h,
        "<h2>{}</h2><ul class=\"lots\">",
        l.tr("本产品的批次", "Lots of this product")
    );
    for (t, v) in lots {
        let (mark, words) = match &v.finding {
            Finding::Recalled { .. } => ("⚠", l.tr("已召回", "recalled")),
            Finding::FailedTest { .. } => ("⚠", l.tr("检测不合格", "failed a test")),
            Finding::SafetyInterval { .. } => (
                "⚠",
                l.tr("未过安全间隔期即采收", "harvested inside a safety interval"),
            ),
            Finding::Excursion { .. } => ("⚠", l.tr("冷链超标", "cold chain broken")),
            Finding::Certificate { .. } => ("⚠", l.tr("认证无效", "certificate not valid")),
            Finding::Clean => ("✓", l.tr("未发现问题", "no problems found")),
        };
        let _ = write!(
            h,
            "<li><a href=\"/01/{}/10/{}?lang={}\">{}</a> {mark} {words}</li>",
            esc(gtin),
            gs1::percent_encode(&t.lot.code),
            l.param(),
            esc(&t.lot.code)
        );
    }
    h.push_str("</ul>");
    close(h)
}

/// The page for a code no recorded lot carries: possibly counterfeit.
pub fn unknown_page(ctx: &Ctx<'_>, gtin: Option<&str>, lot: Option<&str>) -> String {
    let l = ctx.lang;
    let mut h = open(ctx, l.tr("查无此码", "Unknown code"));
    let mut what = String::new();
    if let Some(g) = gtin {
        let _ = write!(what, "GTIN {}", esc(g));
    }
    if let Some(c) = lot {
        let _ = write!(what, "{}{}", l.tr("，批号 ", ", lot "), esc(c));
    }
    let _ = write!(
        h,
        "<section id=\"verdict\" class=\"verdict bad\"><h1>⚠ {}</h1><p>{}{}</p><p class=\"do\">{}</p><p>{}</p></section>",
        l.tr("查无此码：可能是假冒产品", "UNKNOWN CODE: possibly counterfeit"),
        if what.is_empty() { String::new() } else { format!("{what}{}", l.tr("：", ": ")) },
        l.tr(
            "本追溯网络中没有这个产品或批次的记录。",
            "this traceability network has no record of this product or lot."
        ),
        l.tr(
            "怎么办：请勿食用，保留包装和购物凭证，向监管部门举报。",
            "What to do: do not eat it; keep the pack and the receipt, and report it to the regulator."
        ),
        contact_line(ctx, ledger_core::verdict::contact(ctx.genesis).as_deref())
    );
    close(h)
}

/// The page for a malformed link, saying what is wrong with it.
pub fn bad_link_page(ctx: &Ctx<'_>, why: &BadLink) -> String {
    let l = ctx.lang;
    let mut h = open(ctx, l.tr("链接有误", "Broken link"));
    let _ = write!(
        h,
        "<section id=\"verdict\" class=\"verdict warn\"><h1>⚠ {}</h1><p>{}</p><p>{}</p></section>",
        l.tr("链接有误", "BROKEN LINK"),
        esc(&bad_link_words(l, why)),
        l.tr(
            "请重新扫描包装上的二维码；如果仍然出错，包装可能不是正品。",
            "Scan the code on the pack again; if it is still wrong, the pack may not be genuine."
        )
    );
    close(h)
}

/// One note under the verdict box.
fn note_line(h: &mut String, ctx: &Ctx<'_>, note: &Note) {
    let l = ctx.lang;
    match note {
        Note::Standing(st) => h.push_str(&standing::standing_html(ctx, st)),
        // Shown on the certificates they belong to.
        Note::CreditCodes(_) => {}
        Note::Serial(s) => {
            let _ = write!(
                h,
                "<p class=\"small\">{}{}{}</p>",
                l.tr("序列号 ", "Serial "),
                esc(s),
                l.tr(
                    "：本系统按批次追溯，不单独记录每件商品；以上是该批次的信息。",
                    ": this ledger traces lots, not single items; this is the page of its lot."
                )
            );
        }
        Note::Variant(c) => {
            let _ = write!(
                h,
                "<p class=\"small\">{}{}{}</p>",
                l.tr("规格 ", "Variant "),
                esc(c),
                l.tr(
                    "：本系统不区分规格；以上是该批次的信息。",
                    ": variants are not tracked; this is the page of its lot."
                )
            );
        }
        Note::SharedCode(n) => {
            let _ = write!(
                h,
                "<p class=\"verdict warn\">⚠ {}{n}{}</p>",
                l.tr(
                    "此商品条码和批号对应 ",
                    "This product code and lot code name "
                ),
                l.tr(
                    " 个批次，本页显示其中第一个。请向商店或监管部门核实。",
                    " lots; this page shows the first. Check with the shop or the regulator."
                )
            );
        }
    }
}
