//! GS1 identifiers: GTIN, GLN and SSCC check digits, and GS1 Digital Link
//! URIs (build and parse).
//!
//! A Digital Link URI names a GS1 key on the web:
//! `https://{host}[/{stem}]/01/{GTIN-14}[/22/{cpv}][/10/{lot}][/21/{serial}][?17=YYMMDD&…]`,
//! `…/01/{GTIN-14}/235/{tpx}`, `…/00/{SSCC}` or `…/414/{GLN}[/254/{ext}]`.
//! [`DigitalLink::parse`] takes the scheme and host in any case, ignores a
//! `#fragment`, and takes as the key the rightmost path segments that read
//! as key and qualifiers in order (anything before is the stem). It refuses
//! anything the standard forbids (qualifiers out of order, combined wrongly
//! or in the query string, duplicate AIs, unknown or non-attribute AIs in
//! the query, empty values, bad percent-encoding, control characters, a
//! value breaking its AI's format in the GS1 Barcode Syntax Dictionary, a
//! trailing `/`, a key with a wrong check digit) with a [`LinkError`]
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

/// GS1 AI encodable character set 82 (the set of AIs 10, 21, 22).
pub(crate) fn is_cset82(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!\"%&'()*+,-./:;<=>?_".contains(c)
}

mod ai;
mod link;

pub use link::{percent_encode, DigitalLink, LinkError, PrimaryKey};

/// A parent identifier (the unit of an aggregation, the asset of an
/// association) as a person reads it: an SSCC as its 18 digits (from an
/// EPC URI `urn:epc:id:sscc:CompanyPrefix.SerialReference` or a Digital
/// Link `…/00/…`), anything else as written.
pub fn parent_words(parent: &str) -> String {
    if let Some(rest) = parent.strip_prefix("urn:epc:id:sscc:") {
        if let Some((prefix, serial)) = rest.split_once('.') {
            let digits = serial
                .get(..1)
                .map(|ext| format!("{ext}{prefix}{}", serial.get(1..).unwrap_or_default()));
            if let Some(body) =
                digits.filter(|d| d.len() == 17 && d.bytes().all(|b| b.is_ascii_digit()))
            {
                return format!("SSCC {body}{}", check_digit(body.as_bytes()));
            }
        }
    }
    if let Some((_, sscc)) = parent.split_once("/00/") {
        let sscc = sscc.split(['/', '?', '#']).next().unwrap_or_default();
        if check_sscc(sscc).is_ok() {
            return format!("SSCC {sscc}");
        }
    }
    parent.to_owned()
}

#[cfg(test)]
mod parent_tests {
    use super::*;

    #[test]
    fn an_sscc_reads_as_its_eighteen_digits() {
        // GS1's example: company prefix 0614141, serial reference 1234567890.
        assert_eq!(
            parent_words("urn:epc:id:sscc:0614141.1234567890"),
            "SSCC 106141412345678908"
        );
        assert_eq!(
            parent_words("https://id.gs1.org/00/106141412345678908"),
            "SSCC 106141412345678908"
        );
        assert_eq!(
            parent_words("urn:epc:id:giai:0614141.LOGGER-7"),
            "urn:epc:id:giai:0614141.LOGGER-7"
        );
        assert_eq!(parent_words("托盘 7"), "托盘 7");
    }
}
