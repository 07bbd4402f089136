//! The consumer page served at GS1 Digital Link paths
//! (`/01/{GTIN}/10/{LOT}`) and, for lots without a GTIN, at
//! `/lot/{SOURCE}/{LOT}`: what a phone shows after scanning a QR code.

use std::fmt::Write;

use ledger_core::query::{self, Trace};
use ledger_core::store::SledStore;
use ledger_core::{Ledger, LotId, PublicKey, StoreError};

/// GTINs compare as 14 digits (GTIN-8/12/13 are left-padded with zeros).
fn gtin14(s: &str) -> Option<String> {
    let d = s.trim();
    if d.is_empty() || d.len() > 14 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(format!("{d:0>14}"))
}

/// The trace of the lot with code `lot` whose product carries `gtin`.
pub fn find_trace(
    ledger: &Ledger<SledStore>,
    gtin: &str,
    lot: &str,
) -> Result<Option<Trace>, StoreError> {
    let Some(want) = gtin14(gtin) else {
        return Ok(None);
    };
    let overlays = ledger.overlays()?;
    for id in ledger.lots_with_code(lot)? {
        if let Some(t) = query::trace(ledger, &overlays, &id)? {
            let g = t
                .product
                .as_ref()
                .and_then(|p| p.gtin.as_deref())
                .and_then(gtin14);
            if g.as_deref() == Some(want.as_str()) {
                return Ok(Some(t));
            }
        }
    }
    Ok(None)
}

/// The lot a `/lot/{source}/{code}` link names, its path segments already
/// percent-decoded: the source is its creator's key as 64 hex digits.
pub fn lot_id(source: &str, code: String) -> Result<LotId, String> {
    let source = PublicKey::from_hex(source)
        .map_err(|_| "the lot's source is not a key of 64 hex digits".to_owned())?;
    if code.is_empty() {
        return Err("the link names no lot code".to_owned());
    }
    Ok(LotId { source, code })
}

/// The trace of the lot `id` (any product, with or without a GTIN).
pub fn find_lot(ledger: &Ledger<SledStore>, id: &LotId) -> Result<Option<Trace>, StoreError> {
    let overlays = ledger.overlays()?;
    query::trace(ledger, &overlays, id)
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

const HEAD: &str = "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>";

/// The journey page.
pub fn render(network: &str, t: &Trace) -> String {
    let mut h = String::new();
    let product = t.product.as_ref().map_or("", |p| p.description.as_str());
    let _ = write!(
        h,
        "{HEAD}{} — {}</title></head><body>",
        esc(product),
        esc(&t.lot.code)
    );
    let _ = write!(
        h,
        "<h1>{}</h1><p>Lot <b>{}</b> · network {}</p>",
        esc(product),
        esc(&t.lot.code),
        esc(network)
    );
    if t.is_clean() {
        h.push_str("<p style=\"color:green\">✔ Every record below is signed by an enrolled participant and was validated by this node. No recall, failed test or flag.</p>");
    } else {
        h.push_str("<p style=\"color:#b00\">⚠ Warnings:</p><ul>");
        for w in &t.warnings {
            let _ = write!(
                h,
                "<li>{}</li>",
                esc(&serde_json::to_string(w).unwrap_or_default())
            );
        }
        h.push_str("</ul>");
    }
    if !t.certifications.is_empty() {
        h.push_str("<h2>Certified</h2><ul>");
        for (lot, claim, _) in &t.certifications {
            let _ = write!(h, "<li>{} (lot {})</li>", esc(claim), esc(&lot.code));
        }
        h.push_str("</ul>");
    }
    h.push_str("<h2>Journey</h2><ol>");
    for e in &t.events {
        let who = e.signer.as_ref().map_or_else(
            || e.author.short(),
            |s| format!("{} ({})", s.name, s.role.as_str()),
        );
        let _ = write!(
            h,
            "<li><b>{}</b> by {} at {} ms <small>{}</small></li>",
            esc(e.event.kind().as_str()),
            esc(&who),
            e.time,
            e.hash.short()
        );
    }
    h.push_str("</ol></body></html>");
    h
}

/// The page for an unknown product or lot.
pub fn not_found(network: &str) -> String {
    message(
        network,
        "Not found",
        "No lot with this product and lot code is recorded",
    )
}

/// The page for a `/lot/{source}/{code}` link naming no recorded lot.
pub fn lot_not_found(network: &str) -> String {
    message(
        network,
        "Not found",
        "No lot with this creator and lot code is recorded",
    )
}

/// The page for a link that names no lot at all, with the reason.
pub fn bad_link(network: &str, reason: &str) -> String {
    format!(
        "{HEAD}Bad link</title></head><body><h1>Bad link</h1><p>This link names no lot: {}.</p><p>Network {}.</p></body></html>",
        esc(reason),
        esc(network)
    )
}

/// A one-paragraph page: `{text} on {network}.`
fn message(network: &str, title: &str, text: &str) -> String {
    format!(
        "{HEAD}{title}</title></head><body><h1>{title}</h1><p>{} on {}.</p></body></html>",
        esc(text),
        esc(network)
    )
}
