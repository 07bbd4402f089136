//! The label's layout drawn into a grey image at 300 dpi, and that image
//! as a PNG which carries its resolution, so it prints at size.

use ab_glyph::{point, Font, ScaleFont};
use anyhow::Result;

use super::layout::{Item, Layout};

/// A grey image, 0 black to 255 white.
pub(super) struct Canvas {
    w: u32,
    h: u32,
    pub(super) px: Vec<u8>,
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
}

/// Draws the layout: a grey image, one pixel a dot.
pub(super) fn draw(layout: &Layout) -> Canvas {
    let (w, h) = layout.size.dots();
    let mut canvas = Canvas::new(w, h);
    for item in &layout.items {
        match item {
            Item::Text {
                x,
                baseline,
                scale,
                text,
            } => {
                let font = &layout.font.glyphs;
                let f = font.as_scaled(*scale);
                let mut pen = *x;
                for c in text.chars() {
                    // A character the font lacks draws as glyph 0.
                    let id = f.glyph_id(c);
                    let glyph = id.with_scale_and_position(*scale, point(pen, *baseline));
                    pen += f.h_advance(id);
                    if let Some(outline) = font.outline_glyph(glyph) {
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
            }
            Item::Fill { x, y, w, h } => canvas.fill(*x, *y, *w, *h),
            Item::Qr {
                x,
                y,
                module,
                width,
                dark,
            } => {
                for (i, d) in (0u32..).zip(dark) {
                    if *d {
                        let (mx, my) = (i % width, i / width);
                        canvas.fill(x + mx * module, y + my * module, *module, *module);
                    }
                }
            }
        }
    }
    canvas
}

/// The label as PNG bytes.
pub(super) fn png(layout: &Layout) -> Result<Vec<u8>> {
    let canvas = draw(layout);
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
