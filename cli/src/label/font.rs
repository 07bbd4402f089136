//! The label's font: `TERROIR_LABEL_FONT`, else the first known CJK font
//! installed, read once; ab_glyph measures and draws with it, and the PDF
//! embeds a subset of the same face.

use std::path::{Path, PathBuf};

use ab_glyph::FontVec;
use anyhow::{anyhow, Context, Result};

/// Where the label's font is looked for, with the face index of a
/// collection (2: Simplified Chinese in Noto's CJK collections).
pub(super) const CANDIDATES: &[(&str, u32)] = &[
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

/// One face of a font file.
pub(crate) struct LabelFont {
    /// The face as ab_glyph reads it; it holds the whole file's bytes.
    pub(super) glyphs: FontVec,
    /// Which face of the file it is: 0, or its place in a collection.
    pub(super) index: u32,
    /// The file, for messages.
    pub(super) path: PathBuf,
}

impl LabelFont {
    /// The whole file's bytes (every face of a collection).
    pub(super) fn data(&self) -> &[u8] {
        self.glyphs.as_slice()
    }
}

/// The label's font: `TERROIR_LABEL_FONT`, else the first of the known
/// CJK fonts installed.
pub(crate) fn find_font() -> Result<LabelFont> {
    let (path, index) = match std::env::var("TERROIR_LABEL_FONT") {
        Ok(v) if !v.is_empty() => match v.rsplit_once('#') {
            Some((p, i)) => (
                PathBuf::from(p),
                i.parse()
                    .map_err(|_| anyhow!("TERROIR_LABEL_FONT {v:?}: the part after # is a face index"))?,
            ),
            None => (PathBuf::from(v), 0),
        },
        _ => CANDIDATES
            .iter()
            .map(|(p, i)| (PathBuf::from(p), *i))
            .find(|(p, _)| p.is_file())
            .ok_or_else(|| {
                anyhow!(
                    "no Chinese font found to print the certificate with: install fonts-noto-cjk (Debian, Ubuntu), or name a .ttf/.otf/.ttc with TERROIR_LABEL_FONT"
                )
            })?,
    };
    load(&path, index)
}

/// Face `index` of the font file at `path`.
pub(super) fn load(path: &Path, index: u32) -> Result<LabelFont> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the font {}", path.display()))?;
    let glyphs = FontVec::try_from_vec_and_index(bytes, index).map_err(|_| {
        anyhow!(
            "{} (face {index}) is not a font this can read",
            path.display()
        )
    })?;
    Ok(LabelFont {
        glyphs,
        index,
        path: path.to_owned(),
    })
}
