//! Delivery notes: a shipment that travels with the goods.
//!
//! `terroir record ship --note FILE` writes the signed ship record where
//! the receiver can read it without a network:
//! - `.json`: the note file: the ship record and every record its lot's
//!   lineage needs (the lot's bundle), so a receiver's replica can check
//!   and accept it offline, plus the shipment in words for people;
//! - `.png`: a QR code holding the ship record alone
//!   (`terroir-note:1:` and the record in URL-safe base64), for a label
//!   or a phone screen;
//! - `.svg`: a printable note: the shipment in words and that QR code.
//!
//! `terroir record receive --note FILE` reads any of them back (`-` reads
//! the QR code's text from standard input, as a handheld scanner types
//! it). A QR code carries no lineage: the receiver's ledger must already
//! hold what the shipment depends on (the shipper's earlier records).

use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ledger_core::{bundle, Event, Hash, NetworkId, SignedRecord};
use serde::{Deserialize, Serialize};

use crate::backend::Backend;
use crate::book::Book;

/// What a delivery note's QR code starts with.
pub(crate) const QR_PREFIX: &str = "terroir-note:1:";
/// The largest note file read.
const MAX_NOTE_BYTES: u64 = 32 * 1024 * 1024;
/// The format version of a note file.
const NOTE_VERSION: u32 = 1;

/// A note file (`.json`).
#[derive(Debug, Serialize, Deserialize)]
struct NoteFile {
    /// The format version: 1.
    terroir_delivery_note: u32,
    network: NetworkId,
    shipment: Hash,
    /// For people: the sender, recipient, lot, quantity and time.
    from: String,
    to: String,
    lot: String,
    quantity: String,
    shipped: String,
    /// The signed ship record (hex).
    record: String,
    /// The records the shipment's lot lineage needs (hex), in any order.
    lineage: Vec<String>,
}

/// A delivery note read back: the ship record and what it depends on.
#[derive(Debug)]
pub(crate) struct Note {
    pub(crate) shipment: SignedRecord,
    pub(crate) lineage: Vec<SignedRecord>,
}

/// The note's file kinds, by extension.
enum Kind {
    Json,
    Png,
    Svg,
}

fn kind(path: &Path) -> Result<Kind> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .unwrap_or_default();
    Ok(match ext.as_str() {
        "json" => Kind::Json,
        "png" => Kind::Png,
        "svg" => Kind::Svg,
        _ => bail!(
            "{}: a delivery note must end in .json (with the lineage), .png or .svg (a QR code)",
            path.display()
        ),
    })
}

/// Checks that a note can be written to `path` (before anything is signed).
pub(crate) fn check_path(path: &Path) -> Result<()> {
    kind(path).map(|_| ())
}

/// The QR code's text for a ship record.
pub(crate) fn qr_text(record: &SignedRecord) -> String {
    format!("{QR_PREFIX}{}", URL_SAFE_NO_PAD.encode(record.encode()))
}

/// Writes the note of `shipment` (just signed by `ledger`'s participant).
pub(crate) fn write(
    path: &Path,
    ledger: &dyn Backend,
    book: &Book,
    shipment: &SignedRecord,
) -> Result<()> {
    let shown = path.display();
    let Event::Ship {
        lot, quantity, to, ..
    } = &shipment.record.event
    else {
        bail!("only a ship record has a delivery note");
    };
    let from = book.name(&shipment.record.author);
    let to = book.name(to);
    let quantity = crate::render::q(quantity);
    let shipped = crate::parse::show_time(shipment.record.time);
    match kind(path)? {
        Kind::Json => {
            let lineage = match ledger.bundle(lot)? {
                Some(bytes) => {
                    bundle::Bundle::decode(&bytes)
                        .map_err(|e| anyhow!("the lineage of lot {lot} is unreadable: {e}"))?
                        .records
                }
                None => Vec::new(),
            };
            let hash = shipment.hash();
            let note = NoteFile {
                terroir_delivery_note: NOTE_VERSION,
                network: ledger.network(),
                shipment: hash,
                from,
                to,
                lot: lot.code.clone(),
                quantity,
                shipped,
                record: hex::encode(shipment.encode()),
                lineage: lineage
                    .iter()
                    .filter(|r| r.hash() != hash)
                    .map(|r| hex::encode(r.encode()))
                    .collect(),
            };
            let json = serde_json::to_string_pretty(&note)? + "\n";
            std::fs::write(path, json).with_context(|| format!("cannot write {shown}"))
        }
        Kind::Png => crate::commands::qr::write_file(&qr_text(shipment), path),
        Kind::Svg => {
            let lines = [
                format!(
                    "Delivery note · 发货单 · shipment {}",
                    shipment.hash().short()
                ),
                format!("From 发货方: {from}"),
                format!("To 收货方: {to}"),
                format!("Lot 批次: {} — {quantity}", lot.code),
                format!("Shipped 发货时间: {shipped}"),
                "Receive offline: terroir record receive --note THIS-FILE (or scan the code)"
                    .to_owned(),
            ];
            std::fs::write(path, svg(&lines, &qr_text(shipment))?)
                .with_context(|| format!("cannot write {shown}"))
        }
    }
}

/// A printable A5-ish page: the lines of text, then the QR code.
fn svg(lines: &[String], qr: &str) -> Result<String> {
    use qrcode::{Color, EcLevel, QrCode};
    let code = QrCode::with_error_correction_level(qr.as_bytes(), EcLevel::M)
        .context("the ship record does not fit in a QR code")?;
    let n = code.width();
    let module = 4usize;
    let top = 40 + 28 * lines.len();
    let side = (n + 8) * module;
    let width = side.max(560);
    let height = top + side + 20;
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n\
         <g font-family=\"Noto Sans CJK SC, sans-serif\" font-size=\"16\" fill=\"#000\">\n"
    );
    for (i, line) in lines.iter().enumerate() {
        out.push_str(&format!(
            "<text x=\"20\" y=\"{}\">{}</text>\n",
            36 + 28 * i,
            escape(line)
        ));
    }
    out.push_str("</g>\n<g fill=\"#000\">\n");
    for (i, c) in code.to_colors().iter().enumerate() {
        if *c == Color::Dark {
            let (x, y) = ((i % n + 4) * module + 20, (i / n + 4) * module + top);
            out.push_str(&format!(
                "<rect x=\"{x}\" y=\"{y}\" width=\"{module}\" height=\"{module}\"/>"
            ));
        }
    }
    out.push_str("\n</g>\n</svg>\n");
    Ok(out)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Reads a note: a `.json` note file, a `.png` picture of its QR code, or
/// (`-`) the QR code's text on standard input.
pub(crate) fn read(path: &Path) -> Result<Note> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_NOTE_BYTES)
            .read_to_string(&mut text)
            .context("cannot read the note's text from standard input")?;
        return from_qr_text(text.trim()).context("standard input");
    }
    let shown = path.display();
    let read_bytes = || -> Result<Vec<u8>> {
        let f = std::fs::File::open(path).with_context(|| format!("cannot read {shown}"))?;
        let mut bytes = Vec::new();
        f.take(MAX_NOTE_BYTES + 1)
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read {shown}"))?;
        if bytes.len() as u64 > MAX_NOTE_BYTES {
            bail!("{shown} is larger than a delivery note can be (32 MiB)");
        }
        Ok(bytes)
    };
    match kind(path)? {
        Kind::Json => from_json(&read_bytes()?).with_context(|| format!("{shown}")),
        Kind::Png => {
            let text = decode_png(&read_bytes()?).with_context(|| format!("{shown}"))?;
            from_qr_text(&text).with_context(|| format!("{shown}"))
        }
        Kind::Svg => bail!(
            "{shown}: an .svg note is for printing; scan its code (`--note -`) or load the .json \
             note"
        ),
    }
}

fn decode_record(hex_text: &str, what: &str) -> Result<SignedRecord> {
    let bytes = hex::decode(hex_text.trim()).map_err(|_| anyhow!("{what} is not hex"))?;
    SignedRecord::decode(&bytes).map_err(|e| anyhow!("{what} is not a record: {e}"))
}

fn from_json(bytes: &[u8]) -> Result<Note> {
    let file: NoteFile = serde_json::from_slice(bytes)
        .map_err(|e| anyhow!("not a delivery note (line {}: {})", e.line(), plain(&e)))?;
    if file.terroir_delivery_note != NOTE_VERSION {
        bail!(
            "a delivery note of format {}, which this terroir does not read (it reads {NOTE_VERSION})",
            file.terroir_delivery_note
        );
    }
    let shipment = decode_record(&file.record, "the ship record")?;
    if shipment.hash() != file.shipment {
        bail!(
            "the note names shipment {} but holds record {}",
            file.shipment.short(),
            shipment.hash().short()
        );
    }
    let lineage = file
        .lineage
        .iter()
        .enumerate()
        .map(|(i, h)| decode_record(h, &format!("lineage record {}", i + 1)))
        .collect::<Result<Vec<_>>>()?;
    Ok(Note { shipment, lineage })
}

/// serde_json's reason without its position suffix (given separately).
fn plain(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.find(" at line ") {
        Some(i) => s[..i].to_owned(),
        None => s,
    }
}

fn from_qr_text(text: &str) -> Result<Note> {
    let Some(b64) = text.strip_prefix(QR_PREFIX) else {
        bail!("not a Terroir delivery note (its code does not start {QR_PREFIX:?})");
    };
    let bytes = URL_SAFE_NO_PAD
        .decode(b64.trim())
        .map_err(|_| anyhow!("the delivery note's code is damaged (not base64)"))?;
    let shipment = SignedRecord::decode(&bytes)
        .map_err(|e| anyhow!("the delivery note's code holds no record: {e}"))?;
    Ok(Note {
        shipment,
        lineage: Vec::new(),
    })
}

/// The text of the first QR code in a PNG picture.
fn decode_png(bytes: &[u8]) -> Result<String> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder
        .read_info()
        .map_err(|e| anyhow!("not a PNG picture: {e}"))?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| anyhow!("the PNG picture is damaged: {e}"))?;
    let (w, h) = (info.width as usize, info.height as usize);
    if w.saturating_mul(h) > 64 * 1024 * 1024 {
        bail!("the picture is too large to search for a code ({w}×{h})");
    }
    let channels = info.color_type.samples();
    let line = info.line_size;
    let luma = |x: usize, y: usize| -> u8 {
        let at = y * line + x * channels;
        match channels {
            1 | 2 => buf[at],
            _ => {
                let (r, g, b) = (buf[at] as u32, buf[at + 1] as u32, buf[at + 2] as u32);
                ((r * 299 + g * 587 + b * 114) / 1000) as u8
            }
        }
    };
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grids = img.detect_grids();
    let Some(grid) = grids.first() else {
        bail!("no QR code found in the picture");
    };
    let (_, text) = grid
        .decode()
        .map_err(|e| anyhow!("the QR code in the picture cannot be read: {e}"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qr_text_that_is_not_a_note_is_refused_in_words() {
        let e = from_qr_text("https://example.com/01/123").unwrap_err();
        assert!(e.to_string().contains("not a Terroir delivery note"), "{e}");
        let e = from_qr_text("terroir-note:1:!!!").unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        let e = from_qr_text("terroir-note:1:AAAA").unwrap_err();
        assert!(e.to_string().contains("holds no record"), "{e}");
    }

    #[test]
    fn a_note_file_naming_another_shipment_is_refused() {
        let json = br#"{"terroir_delivery_note":2,"network":"00","shipment":"00","from":"","to":"","lot":"","quantity":"","shipped":"","record":"","lineage":[]}"#;
        assert!(from_json(json).is_err());
        let e = from_json(b"{").unwrap_err();
        assert!(e.to_string().starts_with("not a delivery note"), "{e}");
    }
}
