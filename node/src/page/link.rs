//! What a GS1 Digital Link path served by this node asks for, parsed by
//! [`DigitalLink::parse`] so that a malformed link is refused with its
//! typed reason.
//!
//! Lot codes of lots with a GTIN fit AI 10 (the ledger refuses others), so
//! a value GS1 refuses names no lot either.

use ledger_core::gs1::{DigitalLink, LinkError, PrimaryKey};

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
    let link = DigitalLink::parse(&format!("http://node{raw_path}"))?;
    // The parser takes the rightmost key, which under `/01/` may be an
    // SSCC or GLN (`/01/{GTIN}/00/{SSCC}`): this route names products only.
    if !matches!(link.key, PrimaryKey::Gtin(_)) {
        return Err(LinkError::UnexpectedAi {
            key: "01",
            ai: link.key.ai().to_owned(),
            allowed: "22, 10, 21 (in that order) or 235",
        });
    }
    Ok(Target {
        gtin: link.key.value().to_owned(),
        cpv: link.cpv,
        lot: link.lot,
        serial: link.serial,
    })
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
    fn lot_values_outside_ai_10_are_refused() {
        assert!(matches!(
            parse("/01/06901234567892/10/%E9%B8%A0%E5%9D%91%E8%8C%B6-1"),
            Err(LinkError::BadValue { .. })
        ));
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
            parse("/01/06901234567892/10/L1/10/L2"),
            Err(LinkError::DuplicateAi { .. })
        ));
        // Only a GTIN is a product, even where the rightmost key is another.
        assert!(matches!(
            parse("/01/06901234567892/00/123456789012345675"),
            Err(LinkError::UnexpectedAi { key: "01", ref ai, .. }) if ai == "00"
        ));
        assert!(matches!(
            parse("/01/06901234567892/414/9520123456788/254/7"),
            Err(LinkError::UnexpectedAi { key: "01", ref ai, .. }) if ai == "414"
        ));
    }
}
