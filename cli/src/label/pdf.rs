//! The label's layout as a one-page PDF of its size: the text as PDF text
//! in an embedded subset of the label's font, with a ToUnicode map so it
//! can be searched, copied and read aloud; the frame and the QR code as
//! filled vector paths.
//!
//! The font is a Type0 font with Identity-H encoding over one CID font:
//! CIDFontType0 with the subset's CFF table (FontFile3, CIDFontType0C) for
//! CFF outlines such as Noto Sans CJK, CIDFontType2 with the subset font
//! (FontFile2) for TrueType ones such as WenQuanYi. `subsetter` keeps the
//! glyphs used, renumbered from 1 (0 is the missing glyph), and a glyph's
//! new number is its CID; its width is its advance in the font, the same
//! advance the layout measured with.

use std::collections::BTreeMap;

use ab_glyph::{Font, GlyphId, ScaleFont};
use anyhow::{anyhow, bail, Result};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo, UnicodeCmap};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;

use super::layout::{Item, Layout};
use super::DPI;

/// Points per dot.
const PT: f32 = 72.0 / DPI;

/// The font's name in the page's resources.
const FONT: Name<'static> = Name(b"F0");

/// CIDs are glyph numbers: the identity collection.
const IDENTITY: SystemInfo<'static> = SystemInfo {
    registry: Str(b"Adobe"),
    ordering: Str(b"Identity"),
    supplement: 0,
};

/// How the subset's glyphs are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outlines {
    /// Compact Font Format (PostScript) outlines, as in Noto Sans CJK.
    Cff,
    /// TrueType outlines.
    TrueType,
}

/// The part of the font the label uses, ready to embed.
pub(super) struct Subset {
    /// The font program as embedded, Flate-compressed: the subset's CFF
    /// table, or the whole subset TrueType font.
    pub(super) program: Vec<u8>,
    outlines: Outlines,
    /// Each character set on the label, and its CID.
    cids: BTreeMap<char, u16>,
    /// What each CID says, for the ToUnicode map; the missing glyph
    /// (CID 0), where a character the font lacks was set, says U+FFFD.
    pub(super) text: BTreeMap<u16, char>,
    /// The widths of CIDs 0, 1, …, in thousandths of an em.
    widths: Vec<f32>,
    /// The subset's PostScript name: a tag naming the subset, `+`, the
    /// font's own name.
    name: String,
    /// The face's metrics for its font descriptor.
    descriptor: Descriptor,
}

/// A face's metrics as a PDF font descriptor gives them, in thousandths
/// of an em.
struct Descriptor {
    flags: FontFlags,
    bbox: Rect,
    italic_angle: f32,
    ascent: f32,
    descent: f32,
    cap_height: f32,
    stem_v: f32,
}

impl Descriptor {
    fn of(face: &ttf_parser::Face<'_>, em: f32) -> Descriptor {
        let k = |v: i16| f32::from(v) * 1000.0 / em;
        let b = face.global_bounding_box();
        let mut flags = FontFlags::SYMBOLIC;
        if face.is_italic() {
            flags |= FontFlags::ITALIC;
        }
        if face.is_monospaced() {
            flags |= FontFlags::FIXED_PITCH;
        }
        Descriptor {
            flags,
            bbox: Rect::new(k(b.x_min), k(b.y_min), k(b.x_max), k(b.y_max)),
            italic_angle: face.italic_angle(),
            ascent: k(face.ascender()),
            descent: k(face.descender()),
            cap_height: k(face.capital_height().unwrap_or(face.ascender())),
            // The usual estimate from the weight class: an OpenType font
            // does not say how wide its stems are.
            stem_v: 10.0 + 0.244 * (f32::from(face.weight().to_number()) - 50.0),
        }
    }
}

impl Subset {
    /// The subset of the layout's font that draws the layout's text.
    pub(super) fn of(layout: &Layout<'_>) -> Result<Subset> {
        let font = layout.font;
        let glyphs = &font.glyphs;
        let mut remapper = GlyphRemapper::new();
        let mut cids = BTreeMap::new();
        let mut text = BTreeMap::new();
        for item in &layout.items {
            let Item::Text { text: line, .. } = item else {
                continue;
            };
            for c in line.chars() {
                // A character the font lacks is glyph 0, as in the raster.
                let glyph = glyphs.glyph_id(c).0;
                let cid = remapper.remap(glyph);
                cids.insert(c, cid);
                let says = if glyph == 0 {
                    char::REPLACEMENT_CHARACTER
                } else {
                    c
                };
                text.entry(cid).or_insert(says);
            }
        }
        let whole = || format!("{} (face {})", font.path.display(), font.index);
        let subset = subsetter::subset(font.data(), font.index, &remapper)
            .map_err(|e| anyhow!("cannot embed the font {}: {e}", whole()))?;
        let raw = ttf_parser::RawFace::parse(&subset, 0)
            .map_err(|e| anyhow!("cannot embed the font {}: its subset: {e}", whole()))?;
        let (outlines, program) = if let Some(cff) = raw.table(ttf_parser::Tag::from_bytes(b"CFF "))
        {
            (Outlines::Cff, cff)
        } else if raw.table(ttf_parser::Tag::from_bytes(b"glyf")).is_some() {
            (Outlines::TrueType, subset.as_slice())
        } else {
            bail!(
                "cannot embed the font {}: it has neither CFF nor TrueType outlines",
                whole()
            );
        };
        let em = units_per_em(layout)?;
        let widths = remapper
            .remapped_gids()
            .map(|g| glyphs.h_advance_unscaled(GlyphId(g)) * 1000.0 / em)
            .collect();
        let face = ttf_parser::Face::parse(font.data(), font.index)
            .map_err(|e| anyhow!("cannot embed the font {}: {e}", whole()))?;
        let own = face
            .names()
            .into_iter()
            .filter(|n| n.name_id == ttf_parser::name_id::POST_SCRIPT_NAME)
            .find_map(|n| n.to_string())
            .unwrap_or_default()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>();
        let own = if own.is_empty() {
            "Font".to_owned()
        } else {
            own
        };
        let name = format!("{}+{own}", tag(remapper.remapped_gids()));
        Ok(Subset {
            descriptor: Descriptor::of(&face, em),
            program: miniz_oxide::deflate::compress_to_vec_zlib(program, 9),
            outlines,
            cids,
            text,
            widths,
            name,
        })
    }

    /// `line` in CIDs, two bytes each (Identity-H).
    fn encode(&self, line: &str) -> Vec<u8> {
        line.chars()
            .flat_map(|c| self.cids.get(&c).copied().unwrap_or(0).to_be_bytes())
            .collect()
    }
}

/// Font units per em, as ab_glyph reads them.
fn units_per_em(layout: &Layout<'_>) -> Result<f32> {
    layout
        .font
        .glyphs
        .units_per_em()
        .filter(|u| *u > 0.0)
        .ok_or_else(|| anyhow!("{} has no units per em", layout.font.path.display()))
}

/// Six capital letters naming a subset (PDF 32000-1, 9.6.4), the same for
/// the same glyphs.
fn tag(glyphs: impl Iterator<Item = u16>) -> String {
    // FNV-1a.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for g in glyphs {
        for b in g.to_be_bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    (0..6)
        .map(|_| {
            // Below 26: the cast cannot truncate.
            let c = char::from(b'A' + (h % 26) as u8);
            h /= 26;
            c
        })
        .collect()
}

/// The page's drawing: `hpt` is the page's height in points (PDF's y runs
/// up from the bottom, the layout's down from the top).
fn content(layout: &Layout<'_>, subset: &Subset, hpt: f32) -> Result<Vec<u8>> {
    #[allow(clippy::cast_precision_loss)] // dots: a few thousand at most
    let pt = |d: u32| d as f32 * PT;
    let em = units_per_em(layout)?;
    let mut c = Content::new();
    for item in &layout.items {
        match item {
            Item::Text {
                x,
                baseline,
                scale,
                text,
            } => {
                if text.is_empty() {
                    continue;
                }
                // The em in dots: ab_glyph scales the font's height
                // (ascent to descent) to `scale`.
                let f = layout.font.glyphs.as_scaled(*scale);
                let size = f.h_scale_factor() * em * PT;
                c.begin_text();
                c.set_font(FONT, size);
                c.set_text_matrix([1.0, 0.0, 0.0, 1.0, x * PT, hpt - baseline * PT]);
                c.show(Str(&subset.encode(text)));
                c.end_text();
            }
            Item::Fill { x, y, w, h } => {
                c.rect(pt(*x), hpt - pt(y + h), pt(*w), pt(*h));
                c.fill_nonzero();
            }
            Item::Qr {
                x,
                y,
                module,
                width,
                dark,
            } => {
                // One path of a rectangle per run of dark modules in a row,
                // filled at once: no seams between modules.
                for (my, row) in (0u32..).zip(dark.chunks((*width).max(1) as usize)) {
                    let top = y + my * module;
                    let mut start = None;
                    // A light module after the row ends the last run.
                    for (mx, d) in (0u32..).zip(row.iter().chain([&false])) {
                        match (*d, start) {
                            (true, None) => start = Some(mx),
                            (false, Some(s)) => {
                                c.rect(
                                    pt(x + s * module),
                                    hpt - pt(top + module),
                                    pt((mx - s) * module),
                                    pt(*module),
                                );
                                start = None;
                            }
                            _ => {}
                        }
                    }
                }
                c.fill_nonzero();
            }
        }
    }
    Ok(c.finish().to_vec())
}

/// The label as a one-page PDF of its size.
pub(super) fn document(layout: &Layout<'_>) -> Result<Vec<u8>> {
    let subset = Subset::of(layout)?;
    let (wmm, hmm) = layout.size.mm();
    let (wpt, hpt) = (wmm / 25.4 * 72.0, hmm / 25.4 * 72.0);
    let [catalog, tree, page, content_id, info, type0, cid, descriptor, unicode, program] =
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map(Ref::new);
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree).lang(TextStr("zh-CN"));
    pdf.document_info(info)
        .title(TextStr(&format!("承诺达标合格证 {}", layout.lot)))
        .creator(TextStr("terroir"));
    pdf.pages(tree).kids([page]).count(1);
    let mut p = pdf.page(page);
    p.media_box(Rect::new(0.0, 0.0, wpt, hpt));
    p.parent(tree);
    p.contents(content_id);
    p.resources().fonts().pair(FONT, type0);
    p.finish();
    let drawing = miniz_oxide::deflate::compress_to_vec_zlib(&content(layout, &subset, hpt)?, 9);
    pdf.stream(content_id, &drawing).filter(Filter::FlateDecode);

    let name = Name(subset.name.as_bytes());
    pdf.type0_font(type0)
        .base_font(name)
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(unicode);
    let mut f = pdf.cid_font(cid);
    f.subtype(match subset.outlines {
        Outlines::Cff => CidFontType::Type0,
        Outlines::TrueType => CidFontType::Type2,
    });
    f.base_font(name);
    f.system_info(IDENTITY);
    f.font_descriptor(descriptor);
    f.widths().consecutive(0, subset.widths.iter().copied());
    if subset.outlines == Outlines::TrueType {
        f.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    f.finish();

    let m = subset.descriptor;
    let mut d = pdf.font_descriptor(descriptor);
    d.name(name)
        .flags(m.flags)
        .bbox(m.bbox)
        .italic_angle(m.italic_angle)
        .ascent(m.ascent)
        .descent(m.descent)
        .cap_height(m.cap_height)
        .stem_v(m.stem_v);
    match subset.outlines {
        Outlines::Cff => d.font_file3(program),
        Outlines::TrueType => d.font_file2(program),
    };
    d.finish();

    let mut cmap = UnicodeCmap::new(Name(b"Terroir-UTF16"), IDENTITY);
    for (cid, c) in &subset.text {
        cmap.pair(*cid, *c);
    }
    let cmap = miniz_oxide::deflate::compress_to_vec_zlib(&cmap.finish(), 9);
    pdf.stream(unicode, &cmap).filter(Filter::FlateDecode);

    let mut s = pdf.stream(program, &subset.program);
    s.filter(Filter::FlateDecode);
    if subset.outlines == Outlines::Cff {
        s.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    }
    s.finish();
    Ok(pdf.finish())
}
