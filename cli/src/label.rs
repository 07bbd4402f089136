//! The printed compliance-commitment certificate (承诺达标合格证): a label
//! drawn at 300 dpi in A6 (105 × 148 mm) or 60 × 40 mm, with the contents
//! the order requires in Chinese and the lot's QR code, written as a PNG
//! or as a one-page PDF holding that image (docs/china.md).
//!
//! Text is set in a CJK font found on the system (Noto Sans CJK SC, as
//! Debian's `fonts-noto-cjk` installs it) or named by
//! `TERROIR_LABEL_FONT` (`FILE` or `FILE#INDEX` for a collection).

use std::path::{Path, PathBuf};

use ab_glyph::{point, Font, FontVec, PxScale, ScaleFont};
use anyhow::{anyhow, bail, Context, Result};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref};
use qrcode::{Color, QrCode};

/// Dots per inch the label is drawn at.
const DPI: f32 = 300.0;

/// Where the label's font is looked for, with the face index of a
/// collection (2: Simplified Chinese in Noto's CJK collections).
const FONT_CANDIDATES: &[(&str, u32)] = &[
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    (
        "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
        2,
    ),
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:\\Windows\\Fonts\\msyh.ttc", 0),
];

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

    fn px(self) -> (u32, u32) {
        let (w, h) = self.mm();
        (px_of(w), px_of(h))
    }
}

fn px_of(mm: f32) -> u32 {
    // At most a few thousand pixels: the cast cannot truncate.
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

/// The promise the order requires, printed on every certificate.
const COMMITMENT: &str = "我承诺对生产销售的食用农产品：不使用禁用农药兽药及非法添加物；\
遵守农药安全间隔期、兽药休药期规定；销售的食用农产品符合农药兽药残留食品安全国家强制性标准；\
对出具的承诺达标合格证真实性负责。";

/// A grey image, 0 black to 255 white.
struct Canvas {
    w: u32,
    h: u32,
    px: Vec<u8>,
}

impl Canvas {
    fn new(w: u32, h: u32) -> Self {
        Canvas {
            w,
            h,
            px: vec![255; (w as usize) * (h as usize)],
        }
    }

    /// Darkens pixel (x, y) by coverage `c` (0..1).
    fn ink(&mut self, x: i64, y: i64, c: f32) {
        if x < 0 || y < 0 || x >= i64::from(self.w) || y >= i64::from(self.h) {
            return;
        }
        let i = (y as usize) * (self.w as usize) + x as usize;
        let v = f32::from(self.px[i]) * (1.0 - c.clamp(0.0, 1.0));
        self.px[i] = v.round() as u8;
    }

    fn fill(&mut self, x: u32, y: u32, w: u32, h: u32) {
        for yy in y..(y + h).min(self.h) {
            let row = (yy as usize) * (self.w as usize);
            for xx in x..(x + w).min(self.w) {
                self.px[row + xx as usize] = 0;
            }
        }
    }

    /// A frame `t` pixels thick around the rectangle.
    fn frame(&mut self, x: u32, y: u32, w: u32, h: u32, t: u32) {
        self.fill(x, y, w, t);
        self.fill(x, y + h - t, w, t);
        self.fill(x, y, t, h);
        self.fill(x + w - t, y, t, h);
    }
}

/// Text set in one font at one size, wrapped to a width.
struct Pen<'f> {
    font: &'f FontVec,
    scale: PxScale,
}

impl Pen<'_> {
    fn width(&self, s: &str) -> f32 {
        let f = self.font.as_scaled(self.scale);
        s.chars().map(|c| f.h_advance(f.glyph_id(c))).sum()
    }

    /// `text` broken into lines no wider than `max`: at any character
    /// between Chinese ones (Chinese has no spaces to break at), at the
    /// last space inside a word written in Latin letters.
    fn wrap(&self, text: &str, max: f32) -> Vec<String> {
        let mut lines = Vec::new();
        let mut line = String::new();
        for c in text.chars() {
            let mut next = line.clone();
            next.push(c);
            if self.width(&next) <= max || line.is_empty() {
                line = next;
                continue;
            }
            // Inside a Latin word: carry the word over whole.
            let cut = if c.is_ascii_alphanumeric() {
                line.rfind(' ').filter(|i| {
                    line[i + 1..]
                        .chars()
                        .all(|x| x.is_ascii_alphanumeric() || x == '-')
                })
            } else {
                None
            };
            match cut {
                Some(i) if i > 0 => {
                    let word = line[i + 1..].to_owned();
                    line.truncate(i);
                    lines.push(std::mem::take(&mut line));
                    line = word;
                    line.push(c);
                }
                _ => {
                    lines.push(std::mem::take(&mut line));
                    if c != ' ' {
                        line.push(c);
                    }
                }
            }
        }
        if !line.is_empty() {
            lines.push(line);
        }
        lines
    }

    /// Draws one line with its top at `y`; returns the next line's top.
    fn line(&self, canvas: &mut Canvas, x: f32, y: f32, text: &str) -> f32 {
        let f = self.font.as_scaled(self.scale);
        let baseline = y + f.ascent();
        let mut pen = x;
        for c in text.chars() {
            let id = f.glyph_id(c);
            let glyph = id.with_scale_and_position(self.scale, point(pen, baseline));
            pen += f.h_advance(id);
            if let Some(outline) = self.font.outline_glyph(glyph) {
                let b = outline.px_bounds();
                outline.draw(|gx, gy, cov| {
                    canvas.ink(
                        b.min.x as i64 + i64::from(gx),
                        b.min.y as i64 + i64::from(gy),
                        cov,
                    );
                });
            }
        }
        y + (f.ascent() - f.descent() + f.line_gap()) * 1.15
    }

    /// Draws `text` wrapped to `max` from `y`; returns the next line's top.
    fn para(&self, canvas: &mut Canvas, x: f32, mut y: f32, max: f32, text: &str) -> f32 {
        for l in self.wrap(text, max) {
            y = self.line(canvas, x, y, &l);
        }
        y
    }
}

/// Draws the QR code of `link` with its 4-module quiet zone, `side`
/// pixels square, its top left at (x, y).
fn draw_qr(canvas: &mut Canvas, link: &str, x: u32, y: u32, side: u32) -> Result<()> {
    let code = QrCode::new(link.as_bytes()).context("the lot's link does not fit a QR code")?;
    let modules = u32::try_from(code.width())?;
    let total = modules + 8;
    let m = (side / total).max(1);
    let colors = code.to_colors();
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let i = u32::try_from(i)?;
        let (mx, my) = (i % modules + 4, i / modules + 4);
        canvas.fill(x + mx * m, y + my * m, m, m);
    }
    Ok(())
}

/// The label's font: `TERROIR_LABEL_FONT`, else the first of the known
/// CJK fonts installed.
pub(crate) fn find_font() -> Result<FontVec> {
    let (path, index) = match std::env::var("TERROIR_LABEL_FONT") {
        Ok(v) if !v.is_empty() => match v.rsplit_once('#') {
            Some((p, i)) => (
                PathBuf::from(p),
                i.parse()
                    .map_err(|_| anyhow!("TERROIR_LABEL_FONT {v:?}: the part after # is a face index"))?,
            ),
            None => (PathBuf::from(v), 0),
        },
        _ => FONT_CANDIDATES
            .iter()
            .map(|(p, i)| (PathBuf::from(p), *i))
            .find(|(p, _)| p.is_file())
            .ok_or_else(|| {
                anyhow!(
                    "no Chinese font found to print the certificate with: install fonts-noto-cjk (Debian, Ubuntu), or name a .ttf/.otf/.ttc with TERROIR_LABEL_FONT"
                )
            })?,
    };
    let bytes =
        std::fs::read(&path).with_context(|| format!("cannot read the font {}", path.display()))?;
    FontVec::try_from_vec_and_index(bytes, index).map_err(|_| {
        anyhow!(
            "{} (face {index}) is not a font this can read",
            path.display()
        )
    })
}

/// Draws the label: a grey image, `size` at 300 dpi.
fn draw(c: &Contents, size: Size, font: &FontVec) -> Result<Canvas> {
    let (w, h) = size.px();
    let mut canvas = Canvas::new(w, h);
    let margin = px_of(if size == Size::A6 { 6.0 } else { 2.5 });
    canvas.frame(margin, margin, w - 2 * margin, h - 2 * margin, 4);
    let inner = margin + px_of(if size == Size::A6 { 4.0 } else { 1.5 });
    #[allow(clippy::cast_precision_loss)]
    let (x, right) = (inner as f32, (w - inner) as f32);
    match size {
        Size::A6 => {
            let title = Pen {
                font,
                scale: PxScale::from(px_of(6.5) as f32),
            };
            let body = Pen {
                font,
                scale: PxScale::from(px_of(3.6) as f32),
            };
            let small = Pen {
                font,
                scale: PxScale::from(px_of(2.8) as f32),
            };
            let heading = "承诺达标合格证";
            let mid = (w as f32 - title.width(heading)) / 2.0;
            let mut y = title.line(&mut canvas, mid, inner as f32, heading);
            y += px_of(2.0) as f32;
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
                    y = body.para(&mut canvas, x, y, right - x, &format!("{k}：{v}"));
                }
            }
            for t in &c.tests {
                y = body.para(&mut canvas, x, y, right - x, &format!("检测结果：{t}"));
            }
            y += px_of(1.5) as f32;
            y = small.para(&mut canvas, x, y, right - x, COMMITMENT);
            let qr = px_of(34.0);
            let top = (y as u32 + px_of(2.0)).min(h - inner - qr - px_of(6.0));
            draw_qr(&mut canvas, &c.link, (w - qr) / 2, top, qr)?;
            let note = "扫码查看产品溯源信息";
            let mid = (w as f32 - small.width(note)) / 2.0;
            small.line(&mut canvas, mid, (top + qr) as f32, note);
        }
        Size::Small => {
            let qr = h - 2 * inner;
            let text_right = (w - inner - qr) as f32 - px_of(1.0) as f32;
            let title = Pen {
                font,
                scale: PxScale::from(px_of(3.4) as f32),
            };
            let body = Pen {
                font,
                scale: PxScale::from(px_of(2.1) as f32),
            };
            let mut y = title.line(&mut canvas, x, inner as f32, "承诺达标合格证");
            for line in [
                format!("{} {}", c.product, c.quantity),
                format!("生产者：{}", c.producer),
                format!("产地：{}", c.origin),
                format!("电话：{}", c.contact),
                format!("日期：{}", c.date),
                format!("依据：{}", c.basis),
                "承诺不使用禁用药物、遵守安全间隔期、残留不超标".to_owned(),
            ] {
                y = body.para(&mut canvas, x, y, text_right - x, &line);
            }
            draw_qr(&mut canvas, &c.link, w - inner - qr, inner, qr)?;
        }
    }
    Ok(canvas)
}

/// The label as PNG bytes.
pub(crate) fn png(c: &Contents, size: Size, font: &FontVec) -> Result<Vec<u8>> {
    let canvas = draw(c, size, font)?;
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, canvas.w, canvas.h);
        enc.set_color(png::ColorType::Grayscale);
        enc.set_depth(png::BitDepth::Eight);
        // 300 dpi, so it prints at its size.
        enc.set_pixel_dims(Some(png::PixelDimensions {
            xppu: 11_811,
            yppu: 11_811,
            unit: png::Unit::Meter,
        }));
        let mut w = enc.write_header()?;
        w.write_image_data(&canvas.px)?;
        w.finish()?;
    }
    Ok(out)
}

/// The label as a one-page PDF of its size holding the 300-dpi image.
pub(crate) fn pdf(c: &Contents, size: Size, font: &FontVec) -> Result<Vec<u8>> {
    let canvas = draw(c, size, font)?;
    let (wmm, hmm) = size.mm();
    let (wpt, hpt) = (wmm / 25.4 * 72.0, hmm / 25.4 * 72.0);
    let mut pdf = Pdf::new();
    let (catalog, tree, page, image, content) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let name = Name(b"Label");
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, wpt, hpt));
    p.parent(tree);
    p.contents(content);
    p.resources().x_objects().pair(name, image);
    p.finish();
    let data = miniz_oxide::deflate::compress_to_vec_zlib(&canvas.px, 6);
    let mut x = pdf.image_xobject(image, &data);
    x.filter(Filter::FlateDecode);
    x.width(i32::try_from(canvas.w)?);
    x.height(i32::try_from(canvas.h)?);
    x.color_space().device_gray();
    x.bits_per_component(8);
    x.finish();
    let mut draw = Content::new();
    draw.save_state();
    draw.transform([wpt, 0.0, 0.0, hpt, 0.0, 0.0]);
    draw.x_object(name);
    draw.restore_state();
    pdf.stream(content, &draw.finish());
    Ok(pdf.finish())
}

/// Writes the label to `path`: PDF for `.pdf`, PNG for `.png`.
pub(crate) fn write(path: &Path, c: &Contents, size: Size) -> Result<()> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let font = find_font()?;
    let bytes = match ext.as_deref() {
        Some("pdf") => pdf(c, size, &font)?,
        Some("png") => png(c, size, &font)?,
        _ => bail!("{}: name the label .pdf or .png", path.display()),
    };
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
