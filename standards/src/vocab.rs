//! The identifiers and vocabulary both directions share: lot classes,
//! locations, parties, documents, units, sensor types, times and decimals.

use ledger_core::event::{Location, RefDoc, SensorKind};
use ledger_core::gs1::{self, DigitalLink, PrimaryKey};
use ledger_core::{Hash, LotId, PublicKey, Unit};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// The resolver host of GS1 Digital Link URIs in exports.
pub const GS1_HOST: &str = "https://id.gs1.org";
/// Prefix of a lot class without a GTIN: `urn:terroir:lot:{source hex}:{code}`.
pub const LOT_URN: &str = "urn:terroir:lot:";
/// Prefix of a location without a GLN: `urn:terroir:loc:{description}`.
pub const LOC_URN: &str = "urn:terroir:loc:";
/// Prefix of a participant: `urn:terroir:party:{key hex}`.
pub const PARTY_URN: &str = "urn:terroir:party:";
/// Prefix of a business document: `urn:terroir:doc:{type}:{number}`.
pub const DOC_URN: &str = "urn:terroir:doc:";
/// Prefix of an event id: `urn:terroir:record:{record hash hex}`.
pub const RECORD_URN: &str = "urn:terroir:record:";
/// Prefix of a transform's business step: `urn:terroir:bizstep:{process}`.
pub const PROCESS_URN: &str = "urn:terroir:bizstep:";
/// The business step of an input applied to a field (CBV has none).
pub const INPUT_USE_STEP: &str = "urn:terroir:bizstep:input_use";
/// The class of an input product, by its label name.
pub const INPUT_URN: &str = "urn:terroir:input:";
/// A compliance certificate (承诺达标合格证), by its record hash.
pub const CERTIFICATE_URN: &str = "urn:terroir:certificate:";
/// The JSON-LD namespace of Terroir's extension fields (`terroir:…`).
pub const NAMESPACE: &str = "https://terroir.example/epcis/";

/// Everything but RFC 3986 unreserved characters is percent-encoded.
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Percent-encodes a value for use inside a URI.
pub fn enc(s: &str) -> String {
    utf8_percent_encode(s, ENCODE).to_string()
}

/// Decodes a percent-encoded value; `None` if it is not UTF-8.
pub fn dec(s: &str) -> Option<String> {
    percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(|c| c.into_owned())
}

/// A lot as an EPCIS class: GS1 Digital Link LGTIN when the product has a
/// GTIN and the code fits AI (10) (1–20 characters of GS1 set 82), else
/// the Terroir URN naming the lot's source key and code.
pub fn lot_class(source: &PublicKey, code: &str, gtin: Option<&str>) -> String {
    if let Some(g) = gtin {
        if let Ok(mut link) = DigitalLink::gtin(GS1_HOST, g) {
            link.lot = Some(code.to_owned());
            if link.check().is_ok() {
                return link.to_uri();
            }
        }
    }
    format!("{LOT_URN}{}:{}", source.to_hex(), enc(code))
}

/// The path under which `terroird` serves the consumer page of a lot named
/// by its source and code: `/lot/{source hex}/{code}`.
pub const LOT_PAGE_PREFIX: &str = "/lot/";

/// Which of the two consumer-page forms a lot's URL takes, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkForm {
    /// The GS1 Digital Link `/01/{GTIN-14}/10/{LOT}`: the product has a
    /// GTIN and the lot code is a valid AI (10) value.
    DigitalLink,
    /// `/lot/{source hex}/{LOT}`: the product has no GTIN.
    NoGtin,
    /// `/lot/{source hex}/{LOT}`: the product has a GTIN, but the GTIN and
    /// the lot code make no valid Digital Link; the error says why (a lot
    /// code outside GS1 character set 82 or longer than 20 characters).
    NotDigitalLink(gs1::LinkError),
}

impl LinkForm {
    /// One line saying which form was chosen and why.
    pub fn explain(&self) -> String {
        match self {
            LinkForm::DigitalLink => {
                "GS1 Digital Link /01/GTIN/10/LOT: the product has a GTIN and the lot code fits AI (10)"
                    .to_owned()
            }
            LinkForm::NoGtin => {
                "lot page /lot/SOURCE/LOT: the product has no GTIN, so the link names the lot by its creator's key"
                    .to_owned()
            }
            LinkForm::NotDigitalLink(why) => format!(
                "lot page /lot/SOURCE/LOT: the product has a GTIN, but {why}, so it cannot be a GS1 Digital Link"
            ),
        }
    }
}

/// The URL a QR code carries for a lot and which form it takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerLink {
    /// The URL.
    pub url: String,
    /// Its form, and why.
    pub form: LinkForm,
}

/// The URL a QR code carries for a lot, the consumer page any `terroird`
/// serves: the GS1 Digital Link `{base}/01/{GTIN-14}/10/{LOT}` when the
/// lot's product has a GTIN and its code is a valid AI (10) value (the
/// check [`DigitalLink::parse`] applies, so the link always parses back),
/// else `{base}/lot/{source hex}/{LOT}`, which names the lot exactly (its
/// creator's key and its code). The lot code is percent-encoded as UTF-8
/// (RFC 3986 unreserved characters stay); a trailing `/` on `base` is
/// dropped. `terroir qr` prints this URL.
pub fn consumer_link(base: &str, lot: &LotId, gtin: Option<&str>) -> ConsumerLink {
    let base = base.trim_end_matches('/');
    let form = match gtin {
        None => LinkForm::NoGtin,
        Some(g) => {
            let link = DigitalLink::gtin(base, g).and_then(|mut link| {
                link.lot = Some(lot.code.clone());
                link.check().map(|()| link)
            });
            match link {
                Ok(link) => {
                    return ConsumerLink {
                        url: link.to_uri(),
                        form: LinkForm::DigitalLink,
                    }
                }
                Err(why) => LinkForm::NotDigitalLink(why),
            }
        }
    };
    ConsumerLink {
        url: format!(
            "{base}{LOT_PAGE_PREFIX}{}/{}",
            lot.source.to_hex(),
            gs1::percent_encode(&lot.code)
        ),
        form,
    }
}

/// The URL of [`consumer_link`], without its form.
pub fn consumer_url(base: &str, lot: &LotId, gtin: Option<&str>) -> String {
    consumer_link(base, lot, gtin).url
}

/// A lot named by an EPCIS class, before it is matched to a ledger lot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LotRef {
    /// The lot code.
    pub code: String,
    /// Its source, when the class names it (Terroir URNs do).
    pub source: Option<PublicKey>,
    /// The product's GTIN-14, when the class names it.
    pub gtin: Option<String>,
}

/// Reads an EPCIS class as a lot; `Err` says why it names no lot.
pub fn parse_lot_class(uri: &str) -> Result<LotRef, String> {
    if let Some(rest) = uri.strip_prefix(LOT_URN) {
        let (key, code) = rest
            .split_once(':')
            .ok_or_else(|| format!("{uri:?} is not {LOT_URN}KEY:CODE"))?;
        let source = PublicKey::from_hex(key)
            .map_err(|_| format!("{uri:?} does not name a 64-hex-digit source key"))?;
        let code = dec(code).ok_or_else(|| format!("{uri:?} has a code that is not UTF-8"))?;
        return Ok(LotRef {
            code,
            source: Some(source),
            gtin: None,
        });
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:class:lgtin:") {
        // urn:epc:class:lgtin:CompanyPrefix.IndicatorItemRef.Lot
        let mut parts = rest.splitn(3, '.');
        let (Some(cp), Some(item), Some(lot)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(format!("{uri:?} is not an LGTIN URN (CP.ITEM.LOT)"));
        };
        let gtin = sgtin_digits(cp, item)
            .ok_or_else(|| format!("{uri:?} has a malformed company prefix or item reference"))?;
        let code = dec(lot).ok_or_else(|| format!("{uri:?} has a lot that is not UTF-8"))?;
        return Ok(LotRef {
            code,
            source: None,
            gtin: Some(gtin),
        });
    }
    if uri.starts_with("http://") || uri.starts_with("https://") {
        let link = DigitalLink::parse(uri).map_err(|e| format!("{uri:?}: {e}"))?;
        return match (&link.key, link.lot, link.serial) {
            (PrimaryKey::Gtin(g), Some(lot), None) => Ok(LotRef {
                code: lot,
                source: None,
                gtin: Some(g.clone()),
            }),
            _ => Err(format!(
                "{uri:?} is not a lot class (a Digital Link with /01/GTIN/10/LOT and no serial)"
            )),
        };
    }
    if uri.starts_with("urn:epc:idpat:") {
        return Err(format!(
            "{uri:?} is an EPC pattern; Terroir tracks named lots, not patterns"
        ));
    }
    Err(format!(
        "{uri:?} is not a lot class (LGTIN Digital Link, urn:epc:class:lgtin or {LOT_URN})"
    ))
}

/// GTIN-14 from an EPC URN's company prefix and indicator+item reference.
fn sgtin_digits(cp: &str, item: &str) -> Option<String> {
    let ok = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !ok(cp) || !ok(item) || cp.len() + item.len() != 13 {
        return None;
    }
    // The indicator digit comes first, then the company prefix and item.
    let body = format!("{}{cp}{}", &item[..1], &item[1..]);
    let check = gs1::check_digit(body.as_bytes());
    Some(format!("{body}{check}"))
}

/// A location as an EPCIS id: Digital Link `https://id.gs1.org/414/{GLN}`
/// when it has a GLN (so no company-prefix length is needed, as an SGLN
/// would), else `urn:terroir:loc:{description}`.
pub fn location_id(loc: &Location) -> String {
    match &loc.gln {
        Some(gln) => format!("{GS1_HOST}/414/{gln}"),
        None => format!("{LOC_URN}{}", enc(&loc.description)),
    }
}

/// Reads an EPCIS location id; `name` (Terroir's `terroir:…Name` field)
/// gives the description when present.
pub fn parse_location(id: &str, name: Option<&str>) -> Result<Location, String> {
    let described = |gln: Option<String>, fallback: String| Location {
        description: name.map_or(fallback, str::to_owned),
        gln,
    };
    if let Some(rest) = id.strip_prefix(LOC_URN) {
        let d = dec(rest).ok_or_else(|| format!("{id:?} is not UTF-8"))?;
        return Ok(described(None, d));
    }
    if let Some(rest) = id.strip_prefix("urn:epc:id:sgln:") {
        // urn:epc:id:sgln:CP.LocRef.Ext: the GLN when the extension is 0.
        let parts: Vec<&str> = rest.split('.').collect();
        let gln = match parts.as_slice() {
            [cp, loc, "0"] if cp.len() + loc.len() == 12 => {
                let body = format!("{cp}{loc}");
                if body.bytes().all(|b| b.is_ascii_digit()) {
                    Some(format!("{body}{}", gs1::check_digit(body.as_bytes())))
                } else {
                    None
                }
            }
            _ => None,
        };
        return Ok(described(gln, id.to_owned()));
    }
    if id.starts_with("http://") || id.starts_with("https://") {
        if let Ok(link) = DigitalLink::parse(id) {
            if let PrimaryKey::Gln(g) = link.key {
                return Ok(described(Some(g), id.to_owned()));
            }
        }
    }
    Ok(described(None, id.to_owned()))
}

/// A participant as a URI.
pub fn party_id(key: &PublicKey) -> String {
    format!("{PARTY_URN}{}", key.to_hex())
}

/// Reads a participant URI.
pub fn parse_party(uri: &str) -> Option<PublicKey> {
    PublicKey::from_hex(uri.strip_prefix(PARTY_URN)?).ok()
}

/// A reference document as an EPCIS business transaction: its CBV type
/// where one fits, and `urn:terroir:doc:{type}:{number}`.
pub fn doc_transaction(doc: &RefDoc) -> serde_json::Value {
    let mut v = serde_json::json!({
        "bizTransaction": format!("{DOC_URN}{}:{}", enc(&doc.kind), enc(&doc.number)),
    });
    if let Some(t) = cbv_doc_type(&doc.kind) {
        v["type"] = t.into();
    }
    v
}

fn cbv_doc_type(kind: &str) -> Option<&'static str> {
    Some(match kind.to_ascii_lowercase().as_str() {
        "bol" | "bill of lading" => "bol",
        "invoice" | "inv" => "inv",
        "po" | "purchase order" => "po",
        "desadv" | "despatch advice" | "dispatch advice" => "desadv",
        "lab report" | "test result" | "testres" => "testres",
        "certificate" | "cert" => "cert",
        "prodorder" | "production order" => "prodorder",
        "recadv" | "receiving advice" => "recadv",
        _ => return None,
    })
}

/// Reads an EPCIS business transaction as a reference document.
pub fn parse_doc(tx: &str, kind: Option<&str>) -> RefDoc {
    if let Some(rest) = tx.strip_prefix(DOC_URN) {
        if let Some((k, n)) = rest.split_once(':') {
            if let (Some(k), Some(n)) = (dec(k), dec(n)) {
                return RefDoc { kind: k, number: n };
            }
        }
    }
    let kind = match kind {
        Some("bol") => "BOL",
        Some("inv") => "invoice",
        Some("po") => "PO",
        Some("desadv") => "despatch advice",
        Some("testres") => "lab report",
        Some("cert") => "certificate",
        Some(other) => other,
        None => "document",
    };
    RefDoc {
        kind: kind.to_owned(),
        number: tx.to_owned(),
    }
}

/// An event id carrying the record hash.
pub fn record_id(hash: &Hash) -> String {
    format!("{RECORD_URN}{}", hash.to_hex())
}

/// How a UN/CEFACT unit maps to a Terroir unit: the unit and the factor
/// from the EPCIS amount to Terroir's integer base unit.
pub fn unit_from_uncefact(code: Option<&str>) -> Option<(Unit, u64)> {
    Some(match code {
        None | Some("H87") | Some("EA") | Some("C62") => (Unit::Piece, 1),
        Some("GRM") => (Unit::Gram, 1),
        Some("KGM") => (Unit::Gram, 1_000),
        Some("TNE") => (Unit::Gram, 1_000_000),
        Some("MLT") => (Unit::Millilitre, 1),
        Some("LTR") => (Unit::Millilitre, 1_000),
        Some(code) => (Unit::ALL.into_iter().find(|u| u.uncefact() == code)?, 1),
    })
}

/// An EPCIS sensor measurement type and unit for a Terroir sensor kind.
pub fn sensor_type(kind: SensorKind) -> (&'static str, &'static str) {
    match kind {
        SensorKind::Temperature => ("Temperature", "CEL"),
        SensorKind::Humidity => ("RelativeHumidity", "P1"),
    }
}

/// The Terroir sensor kind of an EPCIS measurement type and unit.
pub fn parse_sensor(kind: &str, uom: Option<&str>) -> Option<SensorKind> {
    match (kind, uom) {
        ("Temperature" | "gs1:Temperature", Some("CEL")) => Some(SensorKind::Temperature),
        ("RelativeHumidity" | "gs1:RelativeHumidity", Some("P1")) => Some(SensorKind::Humidity),
        _ => None,
    }
}

/// `ms` since the epoch as an RFC 3339 time with milliseconds at the
/// EPCIS time-zone offset `offset` (`+08:00`); `None` for an offset that
/// does not read.
pub fn rfc3339_at(ms: u64, offset: &str) -> Option<String> {
    let offset = time::UtcOffset::parse(
        offset,
        &time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
    )
    .ok()?;
    let t = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(t)
        .ok()?
        .to_offset(offset)
        .format(&time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3][offset_hour sign:mandatory]:[offset_minute]"
        ))
        .ok()
}

/// RFC 3339 UTC with milliseconds.
pub fn rfc3339(ms: u64) -> String {
    let t = i128::from(ms) * 1_000_000;
    time::OffsetDateTime::from_unix_timestamp_nanos(t)
        .ok()
        .and_then(|d| {
            d.format(&time::macros::format_description!(
                "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
            ))
            .ok()
        })
        .unwrap_or_else(|| "1970-01-01T00:00:00.000Z".to_owned())
}

/// Parses an RFC 3339 time to ms since the epoch; `None` if malformed or
/// before 1970.
pub fn parse_time(s: &str) -> Option<u64> {
    let d = time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    u64::try_from(d.unix_timestamp_nanos() / 1_000_000).ok()
}

/// A JSON number as an exact decimal times `10^scale`, if it is an integer
/// at that scale (`12.5` at scale 3 is `12500`; `0.0001` at scale 3 is
/// `None`). Works on the number's text, so no floating point rounding.
pub fn scaled(n: &serde_json::Number, scale: u32) -> Option<i128> {
    let text = n.to_string();
    let (mantissa, exp) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m.to_owned(), e.parse::<i32>().ok()?),
        None => (text, 0),
    };
    let negative = mantissa.starts_with('-');
    let m = mantissa.trim_start_matches(['-', '+']);
    let (int, frac) = m.split_once('.').unwrap_or((m, ""));
    let digits = format!("{int}{frac}");
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let shift = i32::try_from(scale).ok()? + exp - i32::try_from(frac.len()).ok()?;
    let mut v: i128 = digits.parse().ok()?;
    if shift >= 0 {
        v = v.checked_mul(10i128.checked_pow(u32::try_from(shift).ok()?)?)?;
    } else {
        let p = 10i128.checked_pow(u32::try_from(-shift).ok()?)?;
        if v % p != 0 {
            return None;
        }
        v /= p;
    }
    Some(if negative { -v } else { v })
}

/// `value / 1000` as a JSON number (exact: the shortest decimal that reads
/// back as the same double, and [`scaled`] reads that text).
pub fn milli_number(value: i64) -> serde_json::Value {
    let f = value as f64 / 1000.0;
    serde_json::Number::from_f64(f).map_or(serde_json::Value::Null, serde_json::Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaled_is_exact() {
        let n = |s: &str| serde_json::from_str::<serde_json::Number>(s).unwrap();
        assert_eq!(scaled(&n("12.5"), 3), Some(12_500));
        assert_eq!(scaled(&n("10"), 3), Some(10_000));
        assert_eq!(scaled(&n("-0.5"), 3), Some(-500));
        assert_eq!(scaled(&n("1e3"), 0), Some(1_000));
        assert_eq!(scaled(&n("0.0001"), 3), None);
        for v in [-40_123i64, 0, 7_123, 26_100, 1] {
            let j = milli_number(v);
            let back = scaled(j.as_number().unwrap(), 3);
            assert_eq!(back, Some(i128::from(v)), "{j}");
        }
    }

    #[test]
    fn consumer_links_fall_back_to_the_lot_page_when_ai10_refuses_the_code() {
        let source = PublicKey([0xab; 32]);
        let lot = |code: &str| LotId {
            source,
            code: code.into(),
        };
        let gtin = Some("6901234567892");
        let ok = consumer_link("https://x.example/", &lot("QDH-2025/04"), gtin);
        assert_eq!(ok.form, LinkForm::DigitalLink);
        assert_eq!(
            ok.url,
            "https://x.example/01/06901234567892/10/QDH-2025%2F04"
        );
        assert!(DigitalLink::parse(&ok.url).is_ok());
        let hex = "ab".repeat(32);
        for (code, encoded) in [
            ("鸠坑-0401", "%E9%B8%A0%E5%9D%91-0401"),
            ("QDH 0401", "QDH%200401"),
            ("L-123456789012345678901", "L-123456789012345678901"),
        ] {
            let l = consumer_link("https://x.example", &lot(code), gtin);
            assert_eq!(
                l.url,
                format!("https://x.example/lot/{hex}/{encoded}"),
                "{code}"
            );
            assert!(
                matches!(l.form, LinkForm::NotDigitalLink(gs1::LinkError::BadValue { ref ai, .. }) if ai == "10"),
                "{code}: {:?}",
                l.form
            );
            assert!(l.form.explain().contains("AI (10)"), "{}", l.form.explain());
        }
        let none = consumer_link("https://x.example", &lot("QDH-2025/04"), None);
        assert_eq!(none.form, LinkForm::NoGtin);
        assert_eq!(
            none.url,
            format!("https://x.example/lot/{hex}/QDH-2025%2F04")
        );
    }

    #[test]
    fn urn_forms_round_trip() {
        let k = PublicKey([7; 32]);
        let c = lot_class(&k, "千岛湖-01/a", None);
        let l = parse_lot_class(&c).unwrap();
        assert_eq!((l.code.as_str(), l.source), ("千岛湖-01/a", Some(k)));
        let d = lot_class(&k, "L-1", Some("06901234567892"));
        assert_eq!(d, "https://id.gs1.org/01/06901234567892/10/L-1");
        assert_eq!(parse_lot_class(&d).unwrap().code, "L-1");
        let lg = parse_lot_class("urn:epc:class:lgtin:4012345.011111.4444").unwrap();
        assert_eq!(lg.gtin.as_deref(), Some("04012345111118"));
        let loc = parse_location("urn:epc:id:sgln:0614141.07346.0", None).unwrap();
        assert_eq!(loc.gln.as_deref(), Some("0614141073467"));
        assert_eq!(
            parse_time("2005-04-03T20:33:31.116000-06:00"),
            Some(1_112_582_011_116)
        );
        assert_eq!(rfc3339(1_112_582_011_116), "2005-04-04T02:33:31.116Z");
    }
}
