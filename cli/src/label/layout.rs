//! Where everything on the label goes, worked out once: the raster and the
//! PDF both draw this list, so the two cannot drift apart.
//!
//! Positions are in dots (1/300 inch; see `DPI`) from the label's top
//! left corner. Text is measured with the font in its own units scaled to
//! the size it is set at, the same advances both outputs use.

use ab_glyph::{Font, FontVec, PxScale, ScaleFont};
use anyhow::{Context, Result};
use qrcode::{Color, QrCode};

use super::font::LabelFont;
use super::{dots, Contents, Size};

/// The promise the order requires, printed on every certificate.
const COMMITMENT: &str = "我承诺对生产销售的食用农产品：不使用禁用农药兽药及非法添加物；\
遵守农药安全间隔期、兽药休药期规定；销售的食用农产品符合农药兽药残留食品安全国家强制性标准；\
对出具的承诺达标合格证真实性负责。";

/// Thickness of the frame, in dots.
const FRAME: u32 = 4;

/// The label, ready to draw.
pub(super) struct Layout<'f> {
    /// The font it was measured with, which both outputs draw with.
    pub(super) font: &'f LabelFont,
    /// Its size.
    pub(super) size: Size,
    /// What is on it, in drawing order.
    pub(super) items: Vec<Item>,
    /// The lot, for the PDF's title.
    pub(super) lot: String,
}

/// One thing drawn on the label.
pub(super) enum Item {
    /// One line of text, set glyph after glyph at the font's advances
    /// (no kerning, no shaping), starting at `x` on the baseline.
    Text {
        x: f32,
        baseline: f32,
        /// ab_glyph's scale: the font's ascent-to-descent height in dots.
        scale: PxScale,
        text: String,
    },
    /// A black rectangle: a side of the frame.
    Fill { x: u32, y: u32, w: u32, h: u32 },
    /// A QR code: `width` modules a side, each `module` dots square, the
    /// first at (x, y) (inside the quiet zone); `dark` row after row.
    Qr {
        x: u32,
        y: u32,
        module: u32,
        width: u32,
        dark: Vec<bool>,
    },
}

/// Text set in one font at one size, wrapped to a width.
struct Pen<'f> {
    font: &'f FontVec,
    scale: PxScale,
}

impl Pen<'_> {
    fn new(font: &FontVec, mm: f32) -> Pen<'_> {
        #[allow(clippy::cast_precision_loss)]
        Pen {
            font,
            scale: PxScale::from(dots(mm) as f32),
        }
    }

    /// How wide `s` is set, in dots. A character the font lacks counts as
    /// its missing glyph (glyph 0), which is what both outputs draw.
    fn width(&self, s: &str) -> f32 {
        let f = self.font.as_scaled(self.scale);
        s.chars().map(|c| f.h_advance(f.glyph_id(c))).sum()
    }

    /// `text` broken into lines no wider than `max`, at the break
    /// opportunities of Unicode's line breaking algorithm (UAX #14): after
    /// any Chinese character but never before 、，。；：）」 and the like,
    /// between Latin words but not inside one. A piece wider than a line
    /// by itself (a long number) is cut where it must be.
    fn wrap(&self, text: &str, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        let mut start = 0;
        for (end, opportunity) in unicode_linebreak::linebreaks(text) {
            let piece = &text[start..end];
            start = end;
            let joined = format!("{line}{piece}");
            if line.is_empty() || self.width(joined.trim_end()) <= max {
                line = joined;
            } else {
                lines.push(line.trim_end().to_owned());
                line = piece.to_owned();
            }
            while self.width(line.trim_end()) > max {
                let rest = self.cut(&mut line, max);
                lines.push(std::mem::replace(&mut line, rest));
            }
            if opportunity == unicode_linebreak::BreakOpportunity::Mandatory {
                let done = line.trim_end().to_owned();
                line.clear();
                if !done.is_empty() {
                    lines.push(done);
                }
            }
        }
        if !line.trim_end().is_empty() {
            lines.push(line.trim_end().to_owned());
        }
        lines
    }

    /// Cuts `line` after the most characters that fit in `max` (at least
    /// one) and returns the rest.
    fn cut(&self, line: &mut String, max: f32) -> String {
        let mut at = line.char_indices().nth(1).map_or(line.len(), |(i, _)| i);
        for (i, c) in line.char_indices().skip(1) {
            if self.width(&line[..i + c.len_utf8()]) > max {
                break;
            }
            at = i + c.len_utf8();
        }
        line.split_off(at)
    }

    /// One line with its top at `y`; returns the next line's top.
    fn line(&self, items: &mut Vec<Item>, x: f32, y: f32, text: &str) -> f32 {
        let f = self.font.as_scaled(self.scale);
        items.push(Item::Text {
            x,
            baseline: y + f.ascent(),
            scale: self.scale,
            text: text.to_owned(),
        });
        y + (f.ascent() - f.descent() + f.line_gap()) * 1.15
    }

    /// `text` wrapped to `max` from `y`; returns the next line's top.
    fn para(&self, items: &mut Vec<Item>, x: f32, mut y: f32, max: f32, text: &str) -> f32 {
        for l in self.wrap(text, max) {
            y = self.line(items, x, y, &l);
        }
        y
    }
}

/// The QR code of `link` with its 4-module quiet zone, `side` dots
/// square, its top left at (x, y).
fn qr(link: &str, x: u32, y: u32, side: u32) -> Result<Item> {
    let code = QrCode::new(link.as_bytes()).context("the lot's link does not fit a QR code")?;
    let width = u32::try_from(code.width())?;
    let module = (side / (width + 8)).max(1);
    Ok(Item::Qr {
        x: x + 4 * module,
        y: y + 4 * module,
        module,
        width,
        dark: code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect(),
    })
}

/// A frame `FRAME` dots thick, `inset` dots inside the edges of a label
/// `w` × `h` dots.
fn frame(items: &mut Vec<Item>, inset: u32, w: u32, h: u32) {
    let (x, y, w, h, t) = (inset, inset, w - 2 * inset, h - 2 * inset, FRAME);
    items.extend([
        Item::Fill { x, y, w, h: t },
        Item::Fill {
            x,
            y: y + h - t,
            w,
            h: t,
        },
        Item::Fill { x, y, w: t, h },
        Item::Fill {
            x: x + w - t,
            y,
            w: t,
            h,
        },
    ]);
}

/// Lays the label out: `c` at `size`, measured with `face`.
#[allow(clippy::cast_precision_loss)] // dots: a few thousand at most
pub(super) fn lay_out<'f>(c: &Contents, size: Size, face: &'f LabelFont) -> Result<Layout<'f>> {
    let font = &face.glyphs;
    let (w, h) = size.dots();
    let mut items = Vec::new();
    let margin = dots(if size == Size::A6 { 6.0 } else { 2.5 });
    frame(&mut items, margin, w, h);
    let inner = margin + dots(if size == Size::A6 { 4.0 } else { 1.5 });
    let (x, right) = (inner as f32, (w - inner) as f32);
    match size {
        Size::A6 => {
            let title = Pen::new(font, 6.5);
            let body = Pen::new(font, 3.6);
            let small = Pen::new(font, 2.8);
            let heading = "承诺达标合格证";
            let mid = (w as f32 - title.width(heading)) / 2.0;
            let mut y = title.line(&mut items, mid, inner as f32, heading);
            y += dots(2.0) as f32;
            for (k, v) in [
                ("产品名称", c.product.as_str()),
                ("数量（重量）", c.quantity.as_str()),
                ("批次", c.lot.as_str()),
                ("生产者", c.producer.as_str()),
                ("统一社会信用代码", c.uscc.as_deref().unwrap_or("")),
                ("产地", c.origin.as_str()),
                ("联系方式", c.contact.as_str()),
                ("开具日期", c.date.as_str()),
                ("承诺依据", c.basis.as_str()),
            ] {
                if !v.is_empty() {
                    y = body.para(&mut items, x, y, right - x, &format!("{k}：{v}"));
                }
            }
            for t in &c.tests {
                y = body.para(&mut items, x, y, right - x, &format!("检测结果：{t}"));
            }
            y += dots(1.5) as f32;
            y = small.para(&mut items, x, y, right - x, COMMITMENT);
            let side = dots(34.0);
            // Below the text, or as low as the note under it allows.
            let top = (y as u32 + dots(2.0)).min(h - inner - side - dots(6.0));
            items.push(qr(&c.link, (w - side) / 2, top, side)?);
            let note = "扫码查看产品溯源信息";
            let mid = (w as f32 - small.width(note)) / 2.0;
            small.line(&mut items, mid, (top + side) as f32, note);
        }
        Size::Small => {
            let side = h - 2 * inner;
            let text_right = (w - inner - side) as f32 - dots(1.0) as f32;
            let title = Pen::new(font, 3.4);
            let body = Pen::new(font, 2.1);
            let mut y = title.line(&mut items, x, inner as f32, "承诺达标合格证");
            for line in [
                format!("{} {}", c.product, c.quantity),
                format!("生产者：{}", c.producer),
                format!("产地：{}", c.origin),
                format!("电话：{}", c.contact),
                format!("日期：{}", c.date),
                format!("依据：{}", c.basis),
                "承诺不使用禁用药物、遵守安全间隔期、残留不超标".to_owned(),
            ] {
                y = body.para(&mut items, x, y, text_right - x, &line);
            }
            items.push(qr(&c.link, w - inner - side, inner, side)?);
        }
    }
    Ok(Layout {
        font: face,
        size,
        items,
        lot: c.lot.clone(),
    })
}
