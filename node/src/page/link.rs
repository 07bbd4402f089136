//! What a GS1 Digital Link path served by this node asks for, parsed by
//! [`DigitalLink::parse`] so that a malformed link is refused with its
//! typed reason.
//!
//! One leniency: GS1 limits lot, serial and variant values to 20
//! characters of its character set 82, but lot codes on this ledger may be
//! in any script (`鸠坑茶-1`). A value refused only for its characters or
//! length is accepted when the rest of the link is well-formed.

use ledger_core::gs1::{DigitalLink, LinkError};

/// What a Digital Link path names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The GTIN, 14 digits.
    pub gtin: String,
    /// AI 22, consumer product variant.
    pub cpv: Option<String>,
    /// AI 10, the lot code.
    pub lot: Option<String>,
    /// AI 21, a serial number.
    pub serial: Option<String>,
}

/// Parses the raw (still percent-encoded) path of a request, from `/01/`.
pub fn parse(raw_path: &str) -> Result<Target, LinkError> {
    let uri = format!("http://node{raw_path}");
    let link = match DigitalLink::parse(&uri) {
        Ok(link) => link,
        Err(LinkError::BadValue { ref ai, why, .. })
            if matches!(ai.as_str(), "10" | "21" | "22") && why != "empty" =>
        {
            lenient(raw_path)?
        }
        Err(e) => return Err(e),
    };
    Ok(Target {
        gtin: link.key.value().to_owned(),
        cpv: link.cpv,
        lot: link.lot,
        serial: link.serial,
    })
}

/// Checks the link's shape with every qualifier value replaced by a
/// placeholder GS1 accepts, then puts the decoded values back.
fn lenient(raw_path: &str) -> Result<DigitalLink, LinkError> {
    let segs: Vec<&str> = raw_path.split('/').collect();
    let mut masked = segs.clone();
    let mut values = Vec::new();
    // Segments: "", "01", gtin, ai, value, ai, value …
    for i in (3..segs.len()).step_by(2) {
        if let Some(v) = segs.get(i + 1) {
            values.push((segs[i], *v));
            masked[i + 1] = "X";
        }
    }
    let mut link = DigitalLink::parse(&format!("http://node{}", masked.join("/")))?;
    for (ai, raw) in values {
        let decoded = percent_decode(raw).ok_or_else(|| LinkError::BadEncoding {
            ai: ai.to_owned(),
            value: raw.to_owned(),
        })?;
        match ai {
            "22" => link.cpv = Some(decoded),
            "10" => link.lot = Some(decoded),
            _ => link.serial = Some(decoded),
        }
    }
    Ok(link)
}

fn percent_decode(raw: &str) -> Option<String> {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lot_serial_and_variant_paths() {
        let t = parse("/01/06901234567892/10/QDH-PACK-0404").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.gtin, "06901234567892");
        assert_eq!(t.lot.as_deref(), Some("QDH-PACK-0404"));
        let t = parse("/01/6901234567892/22/A1/10/L%2F1/21/S9").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.gtin, "06901234567892");
        assert_eq!(
            (t.cpv.as_deref(), t.lot.as_deref(), t.serial.as_deref()),
            (Some("A1"), Some("L/1"), Some("S9"))
        );
        let t = parse("/01/06901234567892").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((t.lot, t.serial), (None, None));
    }

    #[test]
    fn chinese_lot_codes_are_accepted() {
        let t = parse("/01/06901234567892/10/%E9%B8%A0%E5%9D%91%E8%8C%B6-1")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t.lot.as_deref(), Some("鸠坑茶-1"));
    }

    #[test]
    fn malformed_links_keep_their_typed_reason() {
        assert!(matches!(
            parse("/01/06901234567891/10/L1"),
            Err(LinkError::Key { .. })
        ));
        assert!(matches!(
            parse("/01/12ab/10/L1"),
            Err(LinkError::Key { .. })
        ));
        assert!(matches!(
            parse("/01/06901234567892/21/S1/10/L1"),
            Err(LinkError::OutOfOrder { .. })
        ));
        assert!(matches!(
            parse("/01/06901234567892/10/%FF"),
            Err(LinkError::BadEncoding { .. })
        ));
        assert!(matches!(
            parse("/01/06901234567892/10/L1/"),
            Err(LinkError::TrailingSlash { .. })
        ));
        assert!(matches!(
            parse("/01/06901234567892/10/%E8%8C%B6/10/L2"),
            Err(LinkError::DuplicateAi { .. })
        ));
    }
}
