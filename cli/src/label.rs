//! The printed compliance-commitment certificate (承诺达标合格证): a label
//! in A6 (105 × 148 mm) or 60 × 40 mm, with the contents the order
//! requires in Chinese and the lot's QR code, written as a PNG drawn at
//! 300 dpi or as a one-page PDF whose text is text (docs/china.md).
//!
//! Text is set in a CJK font found on the system (Noto Sans CJK SC, as
//! Debian's `fonts-noto-cjk` installs it) or named by
//! `TERROIR_LABEL_FONT` (`FILE` or `FILE#INDEX` for a collection).
//!
//! # Layout
//!
//! - `font`: finding the font, and the face it is.
//! - `layout`: where everything goes, worked out once for both outputs —
//!   lines of text, the frame, the QR code — measured with the font.
//! - `raster`: that layout drawn into a grey image, written as a PNG.
//! - `pdf`: the same layout as PDF text in an embedded subset of the font,
//!   with a ToUnicode map, and the frame and QR code as vector paths.

mod font;
mod layout;
mod pdf;
mod raster;

use std::path::Path;

use anyhow::{bail, Context, Result};

pub(crate) use font::find_font;

/// Dots per inch the label's layout is worked out at: a dot is one pixel
/// of the PNG, and 72/300 of a point in the PDF.
const DPI: f32 = 300.0;

/// The two label sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Size {
    /// A6 portrait, 105 × 148 mm: a certificate travelling with a batch.
    A6,
    /// 60 × 40 mm landscape: a label on a package.
    #[value(name = "60x40")]
    Small,
}

impl Size {
    /// Width and height in millimetres.
    fn mm(self) -> (f32, f32) {
        match self {
            Size::A6 => (105.0, 148.0),
            Size::Small => (60.0, 40.0),
        }
    }

    /// Width and height in dots.
    fn dots(self) -> (u32, u32) {
        let (w, h) = self.mm();
        (dots(w), dots(h))
    }
}

/// `mm` millimetres in whole dots.
fn dots(mm: f32) -> u32 {
    // At most a few thousand dots: the cast cannot truncate.
    (mm / 25.4 * DPI).round() as u32
}

/// What the label says, already in words.
#[derive(Debug, Clone)]
pub(crate) struct Contents {
    /// 产品名称.
    pub(crate) product: String,
    /// 数量（重量）, as a person reads it (`50 kg`).
    pub(crate) quantity: String,
    /// 生产者名称.
    pub(crate) producer: String,
    /// 统一社会信用代码 of the producer, when it has one.
    pub(crate) uscc: Option<String>,
    /// 产地.
    pub(crate) origin: String,
    /// 联系方式.
    pub(crate) contact: String,
    /// 开具日期, local.
    pub(crate) date: String,
    /// 承诺依据, in Chinese.
    pub(crate) basis: String,
    /// The tests it rests on, each as `检测项目：合格`.
    pub(crate) tests: Vec<String>,
    /// 批次.
    pub(crate) lot: String,
    /// The lot's page, which the QR code opens.
    pub(crate) link: String,
}

/// Writes the label to `path`: PDF for `.pdf`, PNG for `.png`.
pub(crate) fn write(path: &Path, c: &Contents, size: Size) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let font = find_font()?;
    let bytes = match ext.as_deref() {
        Some("pdf") => pdf::document(&layout::lay_out(c, size, &font)?)?,
        Some("png") => raster::png(&layout::lay_out(c, size, &font)?)?,
        _ => bail!("{}: name the label .pdf or .png", path.display()),
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    /// A certificate with everything filled in, a USCC and a test among it.
    fn sample() -> Contents {
        Contents {
            product: "千岛湖茶 鲜叶".into(),
            quantity: "12 kg".into(),
            producer: "千岛湖鸠坑茶园 Jiukeng Tea Garden".into(),
            uscc: Some("93330127MA2B0X1Q6M".into()),
            origin: "淳安县鸠坑乡 terraces, cooperative plot 7".into(),
            contact: "0571-6500 1234".into(),
            date: "2026年11月20日".into(),
            basis: "质量安全控制符合要求".into(),
            tests: vec!["农药残留：合格（淳安县农产品质量安全检测站）".into()],
            lot: "JK-1120".into(),
            link: "https://trace.example.cn/01/06901234567892/10/JK-1120".into(),
        }
    }

    /// The label's font, or `None` (and a line saying the test is
    /// skipped) where none is installed.
    fn font() -> Option<font::LabelFont> {
        match find_font() {
            Ok(f) => Some(f),
            Err(e) => {
                eprintln!("skipped: {e:#}");
                None
            }
        }
    }

    #[test]
    fn the_pdf_embeds_a_small_subset_and_is_smaller_than_the_image_it_replaced() {
        let Some(font) = font() else { return };
        for size in [Size::A6, Size::Small] {
            let layout = layout::lay_out(&sample(), size, &font).unwrap();
            let subset = pdf::Subset::of(&layout).unwrap();
            // The whole Noto Sans CJK collection is 19 MB; the characters
            // of one label, a few tens of kilobytes.
            assert!(
                subset.program.len() < 200_000 && subset.program.len() < font.data().len() / 50,
                "{size:?}: {} bytes embedded",
                subset.program.len()
            );
            let pdf = pdf::document(&layout).unwrap();
            // Before, the PDF held the 300-dpi image, compressed.
            let image = raster::draw(&layout);
            let raster = miniz_oxide::deflate::compress_to_vec_zlib(&image.px, 6);
            assert!(
                pdf.len() < raster.len(),
                "{size:?}: {} bytes of PDF, {} of compressed image",
                pdf.len(),
                raster.len()
            );
            // The same contents print to the same bytes.
            assert_eq!(pdf, pdf::document(&layout).unwrap());
        }
    }

    #[test]
    fn a_character_the_font_lacks_prints_as_its_missing_glyph() {
        let Some(font) = font() else { return };
        let mut c = sample();
        // A private-use character no font has.
        c.product = "鲜叶\u{F8FF}".into();
        let layout = layout::lay_out(&c, Size::A6, &font).unwrap();
        raster::png(&layout).unwrap();
        let subset = pdf::Subset::of(&layout).unwrap();
        assert_eq!(subset.text.get(&0), Some(&char::REPLACEMENT_CHARACTER));
        pdf::document(&layout).unwrap();
    }

    #[test]
    fn every_installed_candidate_font_embeds() {
        // CFF outlines (Noto) and TrueType ones (WenQuanYi), where installed.
        for &(path, index) in font::CANDIDATES {
            let path = std::path::Path::new(path);
            if !path.is_file() {
                continue;
            }
            let font = font::load(path, index).unwrap();
            let layout = layout::lay_out(&sample(), Size::A6, &font).unwrap();
            let pdf = pdf::document(&layout).unwrap();
            assert!(pdf.starts_with(b"%PDF-"), "{}", path.display());
        }
    }

    #[test]
    fn no_line_starts_with_closing_punctuation_or_splits_a_word() {
        let Some(font) = font() else { return };
        let mut c = sample();
        // Commas that fell at a line's start on the narrow label before.
        c.origin = "淳安县鸠坑乡 terraces, cooperative plot 7，鸠坑源头，3号茶园".into();
        for size in [Size::A6, Size::Small] {
            let layout = layout::lay_out(&c, size, &font).unwrap();
            let lines: Vec<&str> = layout
                .items
                .iter()
                .filter_map(|i| match i {
                    layout::Item::Text { text, .. } => Some(text.as_str()),
                    _ => None,
                })
                .collect();
            assert!(lines.len() > 5, "{size:?}: {lines:?}");
            for l in &lines {
                let first = l.chars().next().unwrap();
                assert!(
                    !"，。、；：）」』,.;:)".contains(first),
                    "{size:?}: a line starts with {first:?}: {lines:?}"
                );
                assert_eq!(l.trim(), *l, "{size:?}: {lines:?}");
            }
            // Latin words are whole on some line.
            let text = lines.join(" ");
            for word in ["terraces,", "cooperative", "Jiukeng"] {
                assert!(text.contains(word), "{size:?}: {word} split: {lines:?}");
            }
        }
    }
}
