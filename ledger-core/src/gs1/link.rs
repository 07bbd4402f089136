//! GS1 Digital Link URIs: build, parse, check.

use super::ai::*;
use super::*;

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
    /// Scheme and host in lower case, and the optional path stem, without a
    /// trailing `/` (`https://id.gs1.org`, `https://example.com/products`).
    pub base: String,
    /// The primary key.
    pub key: PrimaryKey,
    /// AI 22, consumer product variant (GTIN only).
    pub cpv: Option<String>,
    /// AI 10, batch or lot number (GTIN only).
    pub lot: Option<String>,
    /// AI 21, serial number (GTIN only; not with [`Self::tpx`]).
    pub serial: Option<String>,
    /// AI 235, third-party controlled serialised extension of the GTIN
    /// (GTIN only; the alternative to AI 22, 10 and 21).
    pub tpx: Option<String>,
    /// AI 254, GLN extension component (GLN only).
    pub extension: Option<String>,
    /// Query-string parameters in their order: data attributes keyed by AI
    /// (`17`, `13`, `7007` …) and any non-AI parameters (`linkType` …),
    /// which are kept but not checked.
    pub attributes: Vec<(String, String)>,
}

/// Why a Digital Link URI was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// It does not start with `http://` or `https://` (in any case) and a
    /// host.
    #[error("\"{}\" is not an http(s) URI with a host", shown(.uri))]
    NotHttp {
        /// The URI given.
        uri: String,
    },
    /// The path ends with `/`.
    #[error("\"{}\" ends with '/': a Digital Link URI has no trailing slash", shown(.uri))]
    TrailingSlash {
        /// The URI given.
        uri: String,
    },
    /// No `/01/…`, `/00/…` or `/414/…` path segment pair was found.
    #[error("\"{}\" names no primary key (/01/GTIN, /00/SSCC or /414/GLN)", shown(.uri))]
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
    /// Two path qualifiers that exclude each other: AI 235 with any of
    /// AI 22, 10 or 21.
    #[error("AI ({ai}) may not be combined with AI ({with}) in the path: a GTIN takes qualifiers 22, 10, 21 or else 235")]
    Exclusive {
        /// The AI found second.
        ai: String,
        /// The AI it may not join.
        with: String,
    },
    /// An AI appears twice (path or query).
    #[error("AI ({ai}) appears more than once")]
    DuplicateAi {
        /// The repeated AI.
        ai: String,
    },
    /// A primary key or a qualifier of this link's key in the query string.
    #[error("AI ({ai}) is a key or key qualifier and belongs in the path, not the query string")]
    QualifierInQuery {
        /// The AI found in the query.
        ai: String,
    },
    /// A numeric query parameter that is no GS1 application identifier.
    #[error("AI ({ai}) in the query string is not a GS1 application identifier")]
    UnknownAi {
        /// The parameter name.
        ai: String,
    },
    /// An AI that the GS1 Barcode Syntax Dictionary does not permit as a
    /// Digital Link data attribute (no `?` flag), in the query string.
    #[error("AI ({ai}) is not a GS1 Digital Link data attribute, so it may not appear in the query string")]
    NotAttribute {
        /// The AI found in the query.
        ai: String,
    },
    /// An AI (path or query) with no value.
    #[error("AI ({ai}) has an empty value")]
    EmptyValue {
        /// The AI.
        ai: String,
    },
    /// A value, or a query parameter name, is not valid percent-encoded
    /// UTF-8.
    #[error("the value of {} is not valid percent-encoded UTF-8: \"{}\"", named(.ai), shown(.value))]
    BadEncoding {
        /// The AI (or parameter name).
        ai: String,
        /// The raw value.
        value: String,
    },
    /// A value, or a query parameter name, holds a control character
    /// (U+0000–U+001F, U+007F–U+009F), percent-encoded or not.
    #[error("the value of {} contains a control character (such as %00), which a Digital Link may not carry", named(.ai))]
    ControlCharacter {
        /// The AI (or parameter name), control characters shown as `%XX`.
        ai: String,
    },
    /// A value breaks its AI's format.
    #[error("the value \"{value}\" of AI ({ai}) is invalid: it {why}")]
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

/// `s` with control characters shown as `%XX`, so a message stays one line.
fn shown(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                percent_encoding::utf8_percent_encode(c.encode_utf8(&mut [0; 4]), DL_ENCODE)
                    .to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `AI (17)` for an AI, `query parameter "linkType"` for anything else.
fn named(ai: &str) -> String {
    if is_numeric(ai) {
        format!("AI ({ai})")
    } else {
        format!("query parameter \"{}\"", shown(ai))
    }
}

/// Characters percent-encoded in Digital Link values: all but RFC 3986
/// unreserved characters.
const DL_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// A primary key this parser knows and the path qualifiers it may take.
struct KeyRule {
    /// The key's AI.
    ai: &'static str,
    /// Alternative qualifier sequences, each in its required order (the
    /// `dlpkey` attribute of the GS1 Barcode Syntax Dictionary; for AI 414
    /// only 254).
    sequences: &'static [&'static [&'static str]],
    /// The same, in words, for [`LinkError::UnexpectedAi`].
    allowed: &'static str,
}

/// The primary keys a Digital Link may name here.
const KEYS: [KeyRule; 3] = [
    KeyRule {
        ai: "01",
        sequences: &[&["22", "10", "21"], &["235"]],
        allowed: "22, 10, 21 (in that order) or 235",
    },
    KeyRule {
        ai: "00",
        sequences: &[],
        allowed: "none",
    },
    KeyRule {
        ai: "414",
        sequences: &[&["254"]],
        allowed: "254",
    },
];

/// The rule for the primary key `ai`, if it is one.
fn key_rule(ai: &str) -> Option<&'static KeyRule> {
    KEYS.iter().find(|k| k.ai == ai)
}

/// Checks one AI value against the dictionary: not empty, no control
/// character, the AI's format. `ai` must be in the dictionary.
fn check_value(ai: &str, value: &str) -> Result<(), LinkError> {
    if value.chars().any(char::is_control) {
        return Err(LinkError::ControlCharacter { ai: ai.to_owned() });
    }
    if value.is_empty() {
        return Err(LinkError::EmptyValue { ai: ai.to_owned() });
    }
    let spec = ai_format(ai).map_or("X..90", |(_, spec)| spec);
    match format_problem(spec, value) {
        Some(why) => Err(LinkError::BadValue {
            ai: ai.to_owned(),
            value: value.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

/// Percent-decodes a path segment, query name or value, refusing bad
/// escapes, non-UTF-8 and control characters.
fn decode(ai: &str, raw: &str) -> Result<String, LinkError> {
    let bad = || LinkError::BadEncoding {
        ai: shown(ai),
        value: raw.to_owned(),
    };
    let b = raw.as_bytes();
    for (i, _) in raw.match_indices('%') {
        let hex = b.get(i + 1..i + 3).ok_or_else(bad)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad());
        }
    }
    let value = percent_encoding::percent_decode_str(raw)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| bad())?;
    if value.chars().any(char::is_control) {
        return Err(LinkError::ControlCharacter { ai: shown(ai) });
    }
    Ok(value)
}

/// Percent-encodes a Digital Link path or query value: everything but
/// RFC 3986 unreserved characters, UTF-8 first.
pub fn percent_encode(v: &str) -> String {
    percent_encoding::utf8_percent_encode(v, DL_ENCODE).to_string()
}

/// Whether `s` is all ASCII digits (a query parameter naming an AI).
fn is_numeric(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Checks the path qualifiers after the primary key `key` (AI/raw-value
/// pairs): each allowed for the key, one sequence only, in its order,
/// none twice. Values are not looked at.
fn check_qualifier_order(key: &'static str, pairs: &[&str]) -> Result<(), LinkError> {
    let (sequences, allowed) =
        key_rule(key).map_or((&[][..], "none"), |k| (k.sequences, k.allowed));
    // (sequence, rank, AI) of the last qualifier.
    let mut last: Option<(usize, usize, &str)> = None;
    for pair in pairs.chunks(2) {
        let ai = pair[0];
        if ai == key {
            return Err(LinkError::DuplicateAi { ai: ai.to_owned() });
        }
        let Some((seq, rank)) = sequences
            .iter()
            .enumerate()
            .find_map(|(s, q)| q.iter().position(|x| *x == ai).map(|r| (s, r)))
        else {
            return Err(LinkError::UnexpectedAi {
                key,
                ai: ai.to_owned(),
                allowed,
            });
        };
        if let Some((prev_seq, prev_rank, prev)) = last {
            if seq != prev_seq {
                return Err(LinkError::Exclusive {
                    ai: ai.to_owned(),
                    with: prev.to_owned(),
                });
            }
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
        last = Some((seq, rank, ai));
    }
    Ok(())
}

impl DigitalLink {
    /// A link for a GTIN (any of 8, 12, 13, 14 digits; held as 14) on
    /// `base`, with no qualifiers or attributes.
    pub fn gtin(base: &str, gtin: &str) -> Result<Self, LinkError> {
        check_gtin(gtin).map_err(|source| LinkError::Key { ai: "01", source })?;
        Ok(Self::bare(base, PrimaryKey::Gtin(gtin14(gtin))))
    }

    /// A link for an 18-digit SSCC on `base`, with no attributes.
    pub fn sscc(base: &str, sscc: &str) -> Result<Self, LinkError> {
        check_sscc(sscc).map_err(|source| LinkError::Key { ai: "00", source })?;
        Ok(Self::bare(base, PrimaryKey::Sscc(sscc.to_owned())))
    }

    /// A link for a 13-digit GLN on `base`, with no extension or
    /// attributes.
    pub fn gln(base: &str, gln: &str) -> Result<Self, LinkError> {
        check_gln(gln).map_err(|source| LinkError::Key { ai: "414", source })?;
        Ok(Self::bare(base, PrimaryKey::Gln(gln.to_owned())))
    }

    fn bare(base: &str, key: PrimaryKey) -> Self {
        DigitalLink {
            base: base.trim_end_matches('/').to_owned(),
            key,
            cpv: None,
            lot: None,
            serial: None,
            tpx: None,
            extension: None,
            attributes: Vec::new(),
        }
    }

    /// The path qualifiers present, as (AI, value) in canonical order.
    fn qualifiers(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("22", &self.cpv),
            ("10", &self.lot),
            ("21", &self.serial),
            ("235", &self.tpx),
            ("254", &self.extension),
        ]
        .into_iter()
        .filter_map(|(ai, v)| v.as_deref().map(|v| (ai, v)))
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
        let present: Vec<(&str, &str)> = self.qualifiers().collect();
        let pairs: Vec<&str> = present.iter().flat_map(|(q, v)| [*q, *v]).collect();
        check_qualifier_order(ai, &pairs)?;
        for (q, value) in &present {
            check_value(q, value)?;
        }
        let sequences = key_rule(ai).map_or(&[][..], |k| k.sequences);
        let mut seen: Vec<&str> = Vec::new();
        for (k, value) in &self.attributes {
            if k.chars().any(char::is_control) || value.chars().any(char::is_control) {
                return Err(LinkError::ControlCharacter { ai: shown(k) });
            }
            if !is_numeric(k) {
                continue;
            }
            let in_path = sequences.iter().any(|s| s.contains(&k.as_str()));
            if in_path || key_rule(k).is_some() {
                return Err(LinkError::QualifierInQuery { ai: k.clone() });
            }
            match ai_format(k) {
                None => return Err(LinkError::UnknownAi { ai: k.clone() }),
                Some((false, _)) => return Err(LinkError::NotAttribute { ai: k.clone() }),
                Some((true, _)) => {}
            }
            if seen.contains(&k.as_str()) {
                return Err(LinkError::DuplicateAi { ai: k.clone() });
            }
            seen.push(k);
            check_value(k, value)?;
        }
        Ok(())
    }

    /// The canonical URI: base, key, qualifiers in the order 22, 10, 21
    /// (or 235; 254 for a GLN), then the attributes as a query string;
    /// values percent-encoded.
    pub fn to_uri(&self) -> String {
        let mut s = format!("{}/{}/{}", self.base, self.key.ai(), self.key.value());
        for (ai, v) in self.qualifiers() {
            s.push_str(&format!("/{ai}/{}", percent_encode(v)));
        }
        for (i, (k, v)) in self.attributes.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(&format!("{}={}", percent_encode(k), percent_encode(v)));
        }
        s
    }

    /// Parses and checks a Digital Link URI.
    ///
    /// The scheme (`http`/`https`) and host may be in any case and are
    /// held in lower case; a `#fragment` is ignored. The primary key is the
    /// rightmost path segment pair `/01/…`, `/00/…` or `/414/…` from which
    /// the rest of the path is that key's qualifiers in order; everything
    /// before it is the path stem, kept in [`Self::base`]. Numeric query
    /// parameters must be GS1 data attributes with valid values; other
    /// parameters are kept unchecked.
    pub fn parse(uri: &str) -> Result<Self, LinkError> {
        let whole = || uri.to_owned();
        let no_fragment = uri.split_once('#').map_or(uri, |(u, _)| u);
        let (scheme, rest) = no_fragment
            .split_once("://")
            .filter(|(s, _)| s.eq_ignore_ascii_case("https") || s.eq_ignore_ascii_case("http"))
            .ok_or_else(|| LinkError::NotHttp { uri: whole() })?;
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
        // The key is the rightmost primary AI from which the rest of the
        // path is its qualifiers in order. Candidates all sit at the same
        // parity, so a qualifier value can never be taken for a key.
        let mut rightmost_error = None;
        let mut start = None;
        for i in (0..segs.len()).rev() {
            let Some(KeyRule { ai: key, .. }) = key_rule(segs[i]) else {
                continue;
            };
            if (segs.len() - i) % 2 != 0 {
                continue;
            }
            match check_qualifier_order(key, &segs[i + 2..]) {
                Ok(()) => {
                    start = Some(i);
                    break;
                }
                Err(e) => {
                    rightmost_error.get_or_insert(e);
                }
            }
        }
        let start = match (start, rightmost_error) {
            (Some(start), _) => start,
            (None, Some(e)) => return Err(e),
            (None, None) => return Err(LinkError::NoPrimaryKey { uri: whole() }),
        };
        let mut base = format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            host.to_ascii_lowercase()
        );
        for seg in &segs[..start] {
            base.push('/');
            base.push_str(seg);
        }

        let key_ai = segs[start];
        let key_value = decode(key_ai, segs[start + 1])?;
        if key_value.is_empty() {
            return Err(LinkError::EmptyValue {
                ai: key_ai.to_owned(),
            });
        }
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
        let mut link = Self::bare("", key);
        link.base = base;
        for pair in segs[start + 2..].chunks(2) {
            let (ai, raw) = (pair[0], pair[1]);
            let value = decode(ai, raw)?;
            check_value(ai, &value)?;
            let slot = match ai {
                "22" => &mut link.cpv,
                "10" => &mut link.lot,
                "21" => &mut link.serial,
                "235" => &mut link.tpx,
                _ => &mut link.extension,
            };
            *slot = Some(value);
        }
        for param in query.unwrap_or_default().split('&') {
            if param.is_empty() {
                continue;
            }
            let (k, v) = param.split_once('=').unwrap_or((param, ""));
            let k = decode(k, k)?;
            let v = decode(&k, v)?;
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
        // A fragment is ignored.
        assert_eq!(
            DigitalLink::parse("https://id.gs1.org/01/09520123456788#x"),
            DigitalLink::parse("https://id.gs1.org/01/09520123456788")
        );
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
