//! GS1 identifiers: GTIN, GLN and SSCC check digits, and GS1 Digital Link
//! URIs (build and parse).
//!
//! A Digital Link URI names a GS1 key on the web:
//! `https://{host}[/{stem}]/01/{GTIN-14}[/22/{cpv}][/10/{lot}][/21/{serial}][?17=YYMMDD&…]`.
//! [`DigitalLink::parse`] refuses anything the standard forbids (qualifiers
//! out of order or in the query string, duplicate AIs, bad percent-encoding,
//! a trailing `/`, a key with a wrong check digit) with a [`LinkError`]
//! naming what is wrong; [`DigitalLink::to_uri`] builds the canonical form,
//! so `parse(build(x)) == x`.

/// Why a GS1 key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Gs1Error {
    /// Contains something other than ASCII digits.
    #[error("{kind} {value:?} must contain only digits")]
    NotDigits {
        /// `GTIN`, `GLN` …
        kind: &'static str,
        /// The value given.
        value: String,
    },
    /// Wrong number of digits.
    #[error("{kind} {value:?} has {len} digits; expected {expected}")]
    Length {
        /// `GTIN`, `GLN` …
        kind: &'static str,
        /// The value given.
        value: String,
        /// Its length.
        len: usize,
        /// Allowed lengths.
        expected: &'static str,
    },
    /// The last digit is not the check digit of the others.
    #[error("{kind} {value:?} has check digit {got}, expected {want}")]
    CheckDigit {
        /// `GTIN`, `GLN` …
        kind: &'static str,
        /// The value given.
        value: String,
        /// Its last digit.
        got: u8,
        /// The correct check digit.
        want: u8,
    },
}

/// The GS1 check digit for `body` (all digits but the last): weights 3,1,3,…
/// from the right, and the digit that brings the sum to a multiple of 10.
/// `body` must be ASCII digits.
pub fn check_digit(body: &[u8]) -> u8 {
    let sum: u32 = body
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 3 } else { 1 })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

fn check_key(
    kind: &'static str,
    value: &str,
    lengths: &[usize],
    expected: &'static str,
) -> Result<(), Gs1Error> {
    let bytes = value.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(Gs1Error::NotDigits {
            kind,
            value: value.to_owned(),
        });
    }
    if !lengths.contains(&bytes.len()) {
        return Err(Gs1Error::Length {
            kind,
            value: value.to_owned(),
            len: bytes.len(),
            expected,
        });
    }
    let (body, last) = bytes.split_at(bytes.len() - 1);
    let want = check_digit(body);
    let got = last[0] - b'0';
    if got != want {
        return Err(Gs1Error::CheckDigit {
            kind,
            value: value.to_owned(),
            got,
            want,
        });
    }
    Ok(())
}

/// Checks a GTIN-8, -12, -13 or -14.
pub fn check_gtin(value: &str) -> Result<(), Gs1Error> {
    check_key("GTIN", value, &[8, 12, 13, 14], "8, 12, 13 or 14")
}

/// Checks a 13-digit GLN.
pub fn check_gln(value: &str) -> Result<(), Gs1Error> {
    check_key("GLN", value, &[13], "13")
}

/// Checks an 18-digit SSCC.
pub fn check_sscc(value: &str) -> Result<(), Gs1Error> {
    check_key("SSCC", value, &[18], "18")
}

/// Checks a GS1 company prefix: 4 to 12 digits.
pub fn check_company_prefix(value: &str) -> Result<(), Gs1Error> {
    if !value.bytes().all(|b| b.is_ascii_digit()) || value.is_empty() {
        return Err(Gs1Error::NotDigits {
            kind: "GS1 company prefix",
            value: value.to_owned(),
        });
    }
    if !(4..=12).contains(&value.len()) {
        return Err(Gs1Error::Length {
            kind: "GS1 company prefix",
            value: value.to_owned(),
            len: value.len(),
            expected: "4 to 12",
        });
    }
    Ok(())
}

/// Whether the GTIN (8 to 14 digits) lies under the GS1 company prefix:
/// in its 14-digit form, the digits after the indicator digit start with
/// the prefix.
pub fn prefix_covers(prefix: &str, gtin: &str) -> bool {
    gtin14(gtin)
        .get(1..)
        .is_some_and(|rest| rest.starts_with(prefix))
}

/// Why `code` cannot be a GS1 batch/lot number (AI 10): 1 to 20
/// characters of GS1 character set 82 (ASCII letters, digits and
/// ``!"%&'()*+,-./:;<=>?_``), or `None` when it can.
pub fn lot_code_problem(code: &str) -> Option<&'static str> {
    if code.is_empty() {
        Some("empty")
    } else if code.chars().count() > 20 {
        Some("longer than 20 characters")
    } else if !code.chars().all(is_cset82) {
        Some("contains a character outside GS1 character set 82")
    } else {
        None
    }
}

/// A GTIN padded with leading zeros to 14 digits (for Digital Link URIs).
pub fn gtin14(value: &str) -> String {
    format!("{value:0>14}")
}

/// The primary GS1 key a Digital Link URI names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PrimaryKey {
    /// AI 01: a trade item, held as its 14-digit form.
    Gtin(String),
    /// AI 00: a logistic unit (18 digits).
    Sscc(String),
    /// AI 414: a physical location (13 digits).
    Gln(String),
}

impl PrimaryKey {
    /// The application identifier of this key.
    pub fn ai(&self) -> &'static str {
        match self {
            PrimaryKey::Gtin(_) => "01",
            PrimaryKey::Sscc(_) => "00",
            PrimaryKey::Gln(_) => "414",
        }
    }

    /// The key's digits.
    pub fn value(&self) -> &str {
        match self {
            PrimaryKey::Gtin(v) | PrimaryKey::Sscc(v) | PrimaryKey::Gln(v) => v,
        }
    }
}

/// A GS1 Digital Link URI, parsed: where it is served, the key, the key
/// qualifiers and the data attributes of its query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigitalLink {
    /// Scheme, host and optional path stem, without a trailing `/`
    /// (`https://id.gs1.org`, `https://example.com/products`).
    pub base: String,
    /// The primary key.
    pub key: PrimaryKey,
    /// AI 22, consumer product variant (GTIN only).
    pub cpv: Option<String>,
    /// AI 10, batch or lot number (GTIN only).
    pub lot: Option<String>,
    /// AI 21, serial number (GTIN only).
    pub serial: Option<String>,
    /// Query-string parameters in their order: data attributes keyed by AI
    /// (`17`, `13`, `7007` …) and any non-AI parameters (`linkType` …).
    pub attributes: Vec<(String, String)>,
}

/// Why a Digital Link URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// It does not start with `http://` or `https://` and a host.
    #[error("{uri:?} is not an http(s) URI with a host")]
    NotHttp {
        /// The URI given.
        uri: String,
    },
    /// The path ends with `/`.
    #[error("{uri:?} ends with '/': a Digital Link URI has no trailing slash")]
    TrailingSlash {
        /// The URI given.
        uri: String,
    },
    /// It has a `#fragment`.
    #[error("{uri:?} has a fragment ('#…'), which a Digital Link URI may not carry")]
    Fragment {
        /// The URI given.
        uri: String,
    },
    /// No `/01/…`, `/00/…` or `/414/…` path segment pair was found.
    #[error("{uri:?} names no primary key (/01/GTIN, /00/SSCC or /414/GLN)")]
    NoPrimaryKey {
        /// The URI given.
        uri: String,
    },
    /// A path AI that may not follow this primary key.
    #[error("AI ({ai}) may not appear in the path after AI ({key}); allowed: {allowed}")]
    UnexpectedAi {
        /// The primary key's AI.
        key: &'static str,
        /// The AI found.
        ai: String,
        /// The qualifiers allowed, in order.
        allowed: &'static str,
    },
    /// Qualifiers out of the order 22 → 10 → 21.
    #[error("AI ({ai}) comes after AI ({after}); qualifiers must be in the order 22, 10, 21")]
    OutOfOrder {
        /// The AI out of place.
        ai: String,
        /// The AI it follows.
        after: String,
    },
    /// An AI appears twice (path or query).
    #[error("AI ({ai}) appears more than once")]
    DuplicateAi {
        /// The repeated AI.
        ai: String,
    },
    /// A primary key or key qualifier in the query string.
    #[error("AI ({ai}) is a key or key qualifier and belongs in the path, not the query string")]
    QualifierInQuery {
        /// The AI found in the query.
        ai: String,
    },
    /// A value is not valid percent-encoded UTF-8.
    #[error("the value of AI ({ai}) is not valid percent-encoded UTF-8: {value:?}")]
    BadEncoding {
        /// The AI (or parameter name).
        ai: String,
        /// The raw value.
        value: String,
    },
    /// A value breaks its AI's format.
    #[error("the value {value:?} of AI ({ai}) is invalid: {why}")]
    BadValue {
        /// The AI.
        ai: String,
        /// The decoded value.
        value: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The primary key's digits are wrong.
    #[error("AI ({ai}): {source}")]
    Key {
        /// The AI.
        ai: &'static str,
        /// The key error.
        source: Gs1Error,
    },
}

/// Characters percent-encoded in Digital Link values: all but RFC 3986
/// unreserved characters.
const DL_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// GS1 AI encodable character set 82 (the set of AIs 10, 21, 22).
fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

/// Checks a qualifier value (AI 10, 21, 22): 1 to 20 characters of CSET 82.
fn check_x20(ai: &str, value: &str) -> Result<(), LinkError> {
    let bad = |why| LinkError::BadValue {
        ai: ai.to_owned(),
        value: value.to_owned(),
        why,
    };
    match lot_code_problem(value) {
        Some(why) => Err(bad(why)),
        None => Ok(()),
    }
}

/// Checks the attributes whose format this module knows: dates.
fn check_attribute(ai: &str, value: &str) -> Result<(), LinkError> {
    let digits = value.bytes().all(|b| b.is_ascii_digit());
    let ok = match ai {
        // Production, pack, best before, sell by, expiry dates: YYMMDD.
        "11" | "13" | "15" | "16" | "17" => digits && value.len() == 6,
        // Harvest date: YYMMDD or a range YYMMDDYYMMDD.
        "7007" => digits && (value.len() == 6 || value.len() == 12),
        _ => return Ok(()),
    };
    if ok && date_ok(value) {
        Ok(())
    } else {
        Err(LinkError::BadValue {
            ai: ai.to_owned(),
            value: value.to_owned(),
            why: "not a date YYMMDD (7007: YYMMDD or YYMMDDYYMMDD)",
        })
    }
}

/// Month 01–12 and day 00–31 (GS1 allows day 00: "end of month").
fn date_ok(v: &str) -> bool {
    v.as_bytes().chunks(6).all(|d| {
        let n = |i: usize| u32::from(d[i] - b'0') * 10 + u32::from(d[i + 1] - b'0');
        (1..=12).contains(&n(2)) && n(4) <= 31
    })
}

fn decode(ai: &str, raw: &str) -> Result<String, LinkError> {
    let bad = || LinkError::BadEncoding {
        ai: ai.to_owned(),
        value: raw.to_owned(),
    };
    let b = raw.as_bytes();
    for (i, _) in raw.match_indices('%') {
        let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
    }
    percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| bad())
}

/// Percent-encodes a Digital Link path or query value: everything but
/// RFC 3986 unreserved characters, UTF-8 first.
pub fn percent_encode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, DL_ENCODE).to_string()
}

/// Whether `s` looks like an application identifier (2–4 digits).
fn is_ai(s: &str) -> bool {
    (2..=4).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl DigitalLink {
    /// A link for a GTIN (any of 8, 12, 13, 14 digits; held as 14) on
    /// `base`, with no qualifiers or attributes.
    pub fn gtin(base: &str, gtin: &str) -> Result<Self, LinkError> {
        check_gtin(gtin).map_err(|source| LinkError::Key { ai: "01", source })?;
        Ok(DigitalLink {
            base: base.trim_end_matches('/').to_owned(),
            key: PrimaryKey::Gtin(gtin14(gtin)),
            cpv: None,
            lot: None,
            serial: None,
            attributes: Vec::new(),
        })
    }

    /// Checks everything [`Self::parse`] checks, on a built value.
    pub fn check(&self) -> Result<(), LinkError> {
        let ai = self.key.ai();
        let v = self.key.value();
        let keyed = |source| LinkError::Key { ai, source };
        match &self.key {
            PrimaryKey::Gtin(_) => {
                check_key("GTIN", v, &[14], "14 (padded)").map_err(keyed)?;
            }
            PrimaryKey::Sscc(_) => check_sscc(v).map_err(keyed)?,
            PrimaryKey::Gln(_) => check_gln(v).map_err(keyed)?,
        }
        let quals = [("22", &self.cpv), ("10", &self.lot), ("21", &self.serial)];
        for (q, value) in quals {
            if let Some(value) = value {
                if !matches!(self.key, PrimaryKey::Gtin(_)) {
                    return Err(LinkError::UnexpectedAi {
                        key: ai,
                        ai: q.to_owned(),
                        allowed: "none",
                    });
                }
                check_x20(q, value)?;
            }
        }
        let mut seen: Vec<&str> = Vec::new();
        for (k, value) in &self.attributes {
            if matches!(k.as_str(), "01" | "00" | "414" | "22" | "10" | "21") {
                return Err(LinkError::QualifierInQuery { ai: k.clone() });
            }
            if is_ai(k) && seen.contains(&k.as_str()) {
                return Err(LinkError::DuplicateAi { ai: k.clone() });
            }
            seen.push(k);
            check_attribute(k, value)?;
        }
        Ok(())
    }

    /// The canonical URI: base, key, qualifiers in the order 22, 10, 21,
    /// then the attributes as a query string; values percent-encoded.
    pub fn to_uri(&self) -> String {
        let mut s = format!("{}/{}/{}", self.base, self.key.ai(), self.key.value());
        for (ai, v) in [("22", &self.cpv), ("10", &self.lot), ("21", &self.serial)] {
            if let Some(v) = v {
                s.push_str(&format!("/{ai}/{}", percent_encode(v)));
            }
        }
        for (i, (k, v)) in self.attributes.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&format!("{}={}", percent_encode(k), percent_encode(v)));
        }
        s
    }

    /// Parses and checks a Digital Link URI.
    pub fn parse(uri: &str) -> Result<Self, LinkError> {
        let whole = || uri.to_owned();
        if uri.contains('#') {
            return Err(LinkError::Fragment { uri: whole() });
        }
        let rest = uri
            .strip_prefix("https://")
            .or_else(|| uri.strip_prefix("http://"))
            .ok_or_else(|| LinkError::NotHttp { uri: whole() })?;
        let scheme_len = uri.len() - rest.len();
        let (path_part, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q)),
            None => (rest, None),
        };
        let (host, path) = path_part.split_once('/').unwrap_or((path_part, ""));
        if host.is_empty() {
            return Err(LinkError::NotHttp { uri: whole() });
        }
        if path.is_empty() {
            return Err(LinkError::NoPrimaryKey { uri: whole() });
        }
        if path.ends_with('/') {
            return Err(LinkError::TrailingSlash { uri: whole() });
        }
        let segs: Vec<&str> = path.split('/').collect();
        // The key is the first primary AI from which the rest pairs up.
        let start = (0..segs.len())
            .find(|&i| matches!(segs[i], "01" | "00" | "414") && (segs.len() - i) % 2 == 0)
            .ok_or_else(|| LinkError::NoPrimaryKey { uri: whole() })?;
        let stem: usize = segs[..start].iter().map(|s| s.len() + 1).sum();
        let base = uri[..scheme_len + host.len() + stem].to_owned();

        let key_ai = segs[start];
        let key_value = decode(key_ai, segs[start + 1])?;
        let key = match key_ai {
            "01" => {
                check_gtin(&key_value).map_err(|source| LinkError::Key { ai: "01", source })?;
                PrimaryKey::Gtin(gtin14(&key_value))
            }
            "00" => {
                check_sscc(&key_value).map_err(|source| LinkError::Key { ai: "00", source })?;
                PrimaryKey::Sscc(key_value)
            }
            _ => {
                check_gln(&key_value).map_err(|source| LinkError::Key { ai: "414", source })?;
                PrimaryKey::Gln(key_value)
            }
        };
        let key_ai = key.ai();
        let mut link = DigitalLink {
            base,
            key,
            cpv: None,
            lot: None,
            serial: None,
            attributes: Vec::new(),
        };
        const ORDER: [&str; 3] = ["22", "10", "21"];
        let mut last: Option<(usize, &str)> = None;
        for pair in segs[start + 2..].chunks(2) {
            let (ai, raw) = (pair[0], pair.get(1).copied().unwrap_or_default());
            let Some(rank) = ORDER.iter().position(|q| *q == ai) else {
                if ai == key_ai {
                    return Err(LinkError::DuplicateAi { ai: ai.to_owned() });
                }
                return Err(LinkError::UnexpectedAi {
                    key: key_ai,
                    ai: ai.to_owned(),
                    allowed: if key_ai == "01" { "22, 10, 21" } else { "none" },
                });
            };
            if key_ai != "01" {
                return Err(LinkError::UnexpectedAi {
                    key: key_ai,
                    ai: ai.to_owned(),
                    allowed: "none",
                });
            }
            if let Some((prev_rank, prev)) = last {
                if rank == prev_rank {
                    return Err(LinkError::DuplicateAi { ai: ai.to_owned() });
                }
                if rank < prev_rank {
                    return Err(LinkError::OutOfOrder {
                        ai: ai.to_owned(),
                        after: prev.to_owned(),
                    });
                }
            }
            last = Some((rank, ai));
            let value = decode(ai, raw)?;
            check_x20(ai, &value)?;
            match ai {
                "22" => link.cpv = Some(value),
                "10" => link.lot = Some(value),
                _ => link.serial = Some(value),
            }
        }
        for param in query.unwrap_or_default().split('&') {
            if param.is_empty() {
                continue;
            }
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            let k = decode(k, k)?;
            let v = decode(&k, v)?;
            if is_ai(&k) && link.attributes.iter().any(|(seen, _)| *seen == k) {
                return Err(LinkError::DuplicateAi { ai: k });
            }
            link.attributes.push((k, v));
        }
        link.check()?;
        Ok(link)
    }
}

impl std::fmt::Display for DigitalLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_uri())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_keys_from_sources_md() {
        check_gtin("09520123456788").unwrap();
        check_gtin("1234567890128").unwrap();
        check_gtin("12345678901231").unwrap();
        check_sscc("123456789012345675").unwrap();
        check_gln("9520123456788").unwrap();
    }

    #[test]
    fn invalid_check_digit_is_named() {
        assert_eq!(
            check_gtin("12345673"),
            Err(Gs1Error::CheckDigit {
                kind: "GTIN",
                value: "12345673".into(),
                got: 3,
                want: 0
            })
        );
    }

    #[test]
    fn wrong_length_and_non_digits() {
        assert!(matches!(check_gtin("123"), Err(Gs1Error::Length { .. })));
        assert!(matches!(
            check_gln("95201234567a8"),
            Err(Gs1Error::NotDigits { .. })
        ));
        assert!(matches!(check_gln(""), Err(Gs1Error::NotDigits { .. })));
    }

    #[test]
    fn gtin14_pads() {
        assert_eq!(gtin14("1234567890128"), "01234567890128");
    }

    #[test]
    fn digital_link_parses_every_part() {
        let l = DigitalLink::parse(
            "https://example.com/shop/01/09520123456788/22/2A/10/ABC%2F1/21/12345?17=260101&7007=250901&linkType=gs1:pip",
        )
        .unwrap();
        assert_eq!(l.base, "https://example.com/shop");
        assert_eq!(l.key, PrimaryKey::Gtin("09520123456788".into()));
        assert_eq!(l.cpv.as_deref(), Some("2A"));
        assert_eq!(l.lot.as_deref(), Some("ABC/1"));
        assert_eq!(l.serial.as_deref(), Some("12345"));
        assert_eq!(l.attributes.len(), 3);
        assert_eq!(
            l.to_uri(),
            "https://example.com/shop/01/09520123456788/22/2A/10/ABC%2F1/21/12345?17=260101&7007=250901&linkType=gs1%3Apip"
        );
        // A short GTIN is accepted and held as GTIN-14.
        let short = DigitalLink::parse("https://id.gs1.org/01/1234567890128/10/L1").unwrap();
        assert_eq!(short.key.value(), "01234567890128");
        let sscc = DigitalLink::parse("https://id.gs1.org/00/123456789012345675").unwrap();
        assert_eq!(sscc.key, PrimaryKey::Sscc("123456789012345675".into()));
        let gln = DigitalLink::parse("https://id.gs1.org/414/9520123456788").unwrap();
        assert_eq!(gln.key, PrimaryKey::Gln("9520123456788".into()));
    }

    #[test]
    fn digital_link_errors_name_the_fault() {
        let e = |u: &str| DigitalLink::parse(u).unwrap_err();
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/L1/"),
            LinkError::TrailingSlash { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/21/S1/10/L1"),
            LinkError::OutOfOrder { ref ai, ref after } if ai == "10" && after == "21"
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/L1/10/L2"),
            LinkError::DuplicateAi { ref ai } if ai == "10"
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788?10=L1"),
            LinkError::QualifierInQuery { ref ai } if ai == "10"
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788?17=260101&17=260102"),
            LinkError::DuplicateAi { ref ai } if ai == "17"
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/L%ZZ"),
            LinkError::BadEncoding { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/%FF"),
            LinkError::BadEncoding { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456780"),
            LinkError::Key {
                ai: "01",
                source: Gs1Error::CheckDigit { .. }
            }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/12345673"),
            LinkError::Key {
                source: Gs1Error::CheckDigit {
                    got: 3,
                    want: 0,
                    ..
                },
                ..
            }
        ));
        assert!(matches!(
            e("https://id.gs1.org/414/9520123456788/10/L1"),
            LinkError::UnexpectedAi { key: "414", .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/99/x"),
            LinkError::UnexpectedAi { key: "01", .. }
        ));
        assert!(matches!(
            e("ftp://id.gs1.org/01/09520123456788"),
            LinkError::NotHttp { .. }
        ));
        assert!(matches!(
            e("https:///01/09520123456788"),
            LinkError::NotHttp { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/10/L1"),
            LinkError::NoPrimaryKey { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788#x"),
            LinkError::Fragment { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/%E8%8C%B6"),
            LinkError::BadValue { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788/10/123456789012345678901"),
            LinkError::BadValue { .. }
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788?7007=251301"),
            LinkError::BadValue { ref ai, .. } if ai == "7007"
        ));
        assert!(matches!(
            e("https://id.gs1.org/01/09520123456788?13=2601"),
            LinkError::BadValue { ref ai, .. } if ai == "13"
        ));
        // Messages say what is wrong.
        let msg = e("https://id.gs1.org/01/09520123456788/21/S1/10/L1").to_string();
        assert!(msg.contains("order 22, 10, 21"), "{msg}");
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn gtin() -> impl Strategy<Value = String> {
            proptest::collection::vec(0u8..10, 13).prop_map(|d| {
                let body: Vec<u8> = d.iter().map(|x| b'0' + x).collect();
                let mut s = String::from_utf8(body.clone()).unwrap_or_default();
                s.push(char::from(b'0' + check_digit(&body)));
                s
            })
        }

        fn x20() -> impl Strategy<Value = String> {
            "[A-Za-z0-9!\"%&'()*+,./:;<=>?_-]{1,20}"
        }

        fn date() -> impl Strategy<Value = String> {
            (0u32..100, 1u32..13, 1u32..29).prop_map(|(y, m, d)| format!("{y:02}{m:02}{d:02}"))
        }

        proptest! {
            #[test]
            fn build_then_parse_is_identity(
                g in gtin(),
                cpv in proptest::option::of(x20()),
                lot in proptest::option::of(x20()),
                serial in proptest::option::of(x20()),
                exp in proptest::option::of(date()),
                harvest in proptest::option::of(date()),
                stem in proptest::option::of("[a-z]{1,8}"),
            ) {
                let base = match stem {
                    Some(s) => format!("https://example.com/{s}"),
                    None => "https://id.gs1.org".to_owned(),
                };
                let mut link = DigitalLink::gtin(&base, &g).unwrap();
                link.cpv = cpv;
                link.lot = lot;
                link.serial = serial;
                link.attributes.extend(exp.map(|d| ("17".to_owned(), d)));
                link.attributes.extend(harvest.map(|d| ("7007".to_owned(), d)));
                prop_assert_eq!(link.check(), Ok(()));
                let uri = link.to_uri();
                prop_assert_eq!(DigitalLink::parse(&uri), Ok(link));
            }

            #[test]
            fn check_digit_makes_every_gtin_valid(g in gtin()) {
                prop_assert_eq!(check_gtin(&g), Ok(()));
                // Changing the check digit breaks it.
                let mut bytes = g.into_bytes();
                bytes[13] = b'0' + (bytes[13] - b'0' + 1) % 10;
                let bad = String::from_utf8(bytes).unwrap_or_default();
                let is_check_digit_error = matches!(check_gtin(&bad), Err(Gs1Error::CheckDigit { .. }));
                prop_assert!(is_check_digit_error);
            }
        }
    }
}
