//! `terroir qr LOT`: the QR code a consumer scans.
//!
//! It carries a GS1 Digital Link URL: `{base}/01/{GTIN-14}/10/{LOT}` when
//! the lot's product has a GTIN and its code is a valid AI (10) value (1 to
//! 20 characters of GS1 character set 82). Otherwise — no GTIN, or a code
//! in Chinese, with spaces or longer than 20 characters — there is no
//! Digital Link that `DigitalLink::parse` (and any GS1 resolver) accepts,
//! so the fallback is `{base}/lot/{SOURCE-KEY-HEX}/{LOT}`, which names the
//! lot exactly (code and creator). Path segments are percent-encoded (RFC
//! 3986 unreserved characters stay as they are). `terroird` serves the
//! consumer page at both. The choice is [`vocab::consumer_link`]'s; the
//! command says on stderr which form it chose and why.
//!
//! The lot is read from the local ledger or replica, or with `--node` from
//! the node's verified bundle of it. `--base-url` does not follow `--node`
//! (that address is often a private one): give the node's public address.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::LotId;
use qrcode::render::svg;
use qrcode::{Color, EcLevel, QrCode};
use serde_json::json;
use terroir_standards::vocab::{self, ConsumerLink, LinkForm};

use crate::book::Book;
use crate::lots;
use crate::output::say;
use crate::settings::Settings;

/// Pixels per QR module in PNG output.
const PNG_SCALE: usize = 8;
/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET_ZONE: usize = 4;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("target").required(true).multiple(true).args(["out", "terminal"]))]
pub(crate) struct Args {
    /// The lot: CODE or CODE@SOURCE.
    lot: String,
    /// Write the code to FILE.png or FILE.svg.
    #[arg(long, short, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Draw the code in the terminal: black on white with its quiet zone,
    /// so it scans on light and dark themes (plain characters when stdout
    /// is not a terminal or NO_COLOR is set).
    #[arg(long)]
    terminal: bool,
    /// The resolver: any Terroir node's public address (with --node,
    /// likely that node's public address; --node itself is not used).
    #[arg(
        long,
        value_name = "URL",
        env = "TERROIR_BASE_URL",
        default_value = DEFAULT_BASE_URL
    )]
    base_url: String,
}

/// The resolver put in QR codes unless `--base-url` names another.
pub(crate) const DEFAULT_BASE_URL: &str = "https://id.terroir.example";

/// The URL of a lot's consumer page and its form: the Digital Link
/// `{base}/01/{GTIN-14}/10/{LOT}` when its product has a GTIN and the code
/// fits AI (10), else `{base}/lot/{source-hex}/{LOT}`. Chosen by
/// [`vocab::consumer_link`], which `terroird`'s tests use too, so the link
/// printed here is the one the node serves.
pub(crate) fn choose(base: &str, lot: &LotId, gtin: Option<&str>) -> ConsumerLink {
    vocab::consumer_link(base, lot, gtin)
}

/// The URL alone (see [`choose`]).
pub(crate) fn link(base: &str, lot: &LotId, gtin: Option<&str>) -> String {
    choose(base, lot, gtin).url
}

fn write_png(code: &QrCode, path: &Path) -> Result<()> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = (modules + 2 * QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET_ZONE, i / modules + QUIET_ZONE);
        for dy in 0..PNG_SCALE {
            let row = (my * PNG_SCALE + dy) * side;
            let start = row + mx * PNG_SCALE;
            pixels[start..start + PNG_SCALE].fill(0);
        }
    }
    let file = std::fs::File::create(path)?;
    let w = BufWriter::new(file);
    let side32 = u32::try_from(side)?;
    let mut enc = png::Encoder::new(w, side32, side32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(())
}

/// Ink and paper of the terminal drawing: black on bright white, set
/// explicitly on every character (quiet zone included) so the code reads
/// the same on light and dark themes.
const PAPER: anstyle::Style = anstyle::Style::new()
    .fg_color(Some(anstyle::Color::Ansi(anstyle::AnsiColor::Black)))
    .bg_color(Some(anstyle::Color::Ansi(anstyle::AnsiColor::BrightWhite)));

/// The code drawn for a terminal, two modules a character (`▀`, `▄`, `█`
/// or a space: dark modules are ink) inside the 4-module quiet zone, one
/// line per row pair, each in [`PAPER`]'s colours and reset at its end.
/// Where colours are dropped (stdout not a terminal, `NO_COLOR`) the
/// characters alone still draw dark modules as ink, as on paper.
fn terminal_rows(code: &QrCode) -> Vec<String> {
    let modules = code.width();
    let colors = code.to_colors();
    let side = modules + 2 * QUIET_ZONE;
    let dark = |x: usize, y: usize| {
        let inside = QUIET_ZONE..QUIET_ZONE + modules;
        inside.contains(&x)
            && inside.contains(&y)
            && colors[(y - QUIET_ZONE) * modules + (x - QUIET_ZONE)] == Color::Dark
    };
    (0..side)
        .step_by(2)
        .map(|y| {
            let cells: String = (0..side)
                .map(|x| match (dark(x, y), dark(x, y + 1)) {
                    (true, true) => '█',
                    (true, false) => '▀',
                    (false, true) => '▄',
                    (false, false) => ' ',
                })
                .collect();
            format!("{PAPER}{cells}{PAPER:#}")
        })
        .collect()
}

/// Writes the QR code of `url` to a .png or .svg file.
pub(crate) fn write_file(url: &str, path: &Path) -> Result<()> {
    let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
        .context("the URL does not fit in a QR code")?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_lowercase)
        .unwrap_or_default();
    match ext.as_str() {
        "png" => write_png(&code, path),
        "svg" => {
            let image = code
                .render::<svg::Color<'_>>()
                .quiet_zone(true)
                .min_dimensions(256, 256)
                .build();
            std::fs::File::create(path)
                .and_then(|mut f| f.write_all(image.as_bytes()))
                .map_err(anyhow::Error::from)
        }
        _ => bail!("{}: the QR file must end in .png or .svg", path.display()),
    }
    .with_context(|| format!("cannot write {}", path.display()))
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let base = a.base_url.trim();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        bail!("--base-url {base:?} must start with https:// or http://");
    }
    if let Some(out) = &a.out {
        let ext = out
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase);
        if !matches!(ext.as_deref(), Some("png" | "svg")) {
            bail!("{}: the QR file must end in .png or .svg", out.display());
        }
    }
    let ledger = s.backend()?;
    let book = Book::load(ledger.as_ref())?;
    let lot = lots::resolve(ledger.as_ref(), &book, &a.lot)?;
    let Some(trace) = ledger.trace(&lot)? else {
        bail!("{} has no record creating lot {lot}", ledger.place());
    };
    let gtin = trace.product.as_ref().and_then(|p| p.gtin.clone());
    let ConsumerLink { url, form } = choose(base, &lot, gtin.as_deref());
    if !s.out.quiet {
        eprintln!("{}", form.explain());
    }
    if let Some(out) = &a.out {
        write_file(&url, out)?;
    }
    let form_name = match form {
        LinkForm::DigitalLink => "digital_link",
        LinkForm::NoGtin | LinkForm::NotDigitalLink(_) => "lot_page",
    };
    s.out.json(&json!({
        "lot": lot,
        "url": url,
        "gtin": gtin,
        "form": form_name,
        "why": form.explain(),
        "file": a.out,
    }))?;
    s.out.quiet(&url);
    // The drawing is human output: `--quiet` prints only the URL and
    // `--json` only the document (a file named by `-o` is still written).
    if a.terminal && s.out.human() {
        let code = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::M)
            .context("the URL does not fit in a QR code")?;
        for row in terminal_rows(&code) {
            crate::output::line(&row);
        }
    }
    if s.out.human() {
        say!("{url}");
        if let Some(out) = &a.out {
            say!("wrote {}", out.display());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use ledger_core::PublicKey;

    #[test]
    fn links_follow_gs1_digital_link() {
        let lot = LotId {
            source: PublicKey([0xab; 32]),
            code: "QDH-2025/04".into(),
        };
        assert_eq!(
            link("https://x.example/", &lot, Some("6901234567892")),
            "https://x.example/01/06901234567892/10/QDH-2025%2F04"
        );
        assert_eq!(
            link("https://x.example", &lot, None),
            format!("https://x.example/lot/{}/QDH-2025%2F04", "ab".repeat(32))
        );
    }

    /// A GTIN product whose lot code cannot be an AI (10) value (Chinese,
    /// a space): the QR gets the lot page, which the node serves, not a
    /// `/01/…/10/…` link that `DigitalLink::parse` refuses.
    #[test]
    fn a_gtin_lot_with_a_code_outside_ai10_gets_the_lot_page() {
        let lot = LotId {
            source: PublicKey([0xab; 32]),
            code: "QDH-2025/04 茶".into(),
        };
        let c = choose("https://x.example/", &lot, Some("6901234567892"));
        assert_eq!(
            c.url,
            format!(
                "https://x.example/lot/{}/QDH-2025%2F04%20%E8%8C%B6",
                "ab".repeat(32)
            )
        );
        assert!(
            matches!(c.form, LinkForm::NotDigitalLink(_)),
            "{:?}",
            c.form
        );
        let why = c.form.explain();
        assert!(
            why.contains("character set 82") && !why.contains('\n'),
            "{why}"
        );
        // What the old code printed for it, which GS1's parser refuses.
        assert!(ledger_core::gs1::DigitalLink::parse(
            "https://x.example/01/06901234567892/10/QDH-2025%2F04%20%E8%8C%B6"
        )
        .is_err());
    }
}
