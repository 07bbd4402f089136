//! GS1 identifiers: GTIN and GLN check digits.

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

/// A GTIN padded with leading zeros to 14 digits (for Digital Link URIs).
pub fn gtin14(value: &str) -> String {
    format!("{value:0>14}")
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
}
