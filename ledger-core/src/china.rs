//! China's identifiers: the unified social credit code (统一社会信用代码,
//! GB 32100-2015) that firms and cooperatives are registered under, which
//! an enrollment may carry and compliance certificates (承诺达标合格证)
//! print.
//!
//! A code is 18 characters over 0–9 and the capital letters but I, O, S,
//! V and Z (31 characters); the last is a check character over the first
//! 17: the sum of each character's value times 3^(i−1) mod 31, and the
//! character that brings it to a multiple of 31.

use std::fmt;

/// The 31 characters a unified social credit code is written in, each
/// standing for its index.
pub const USCC_CHARACTERS: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Why a unified social credit code is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    /// Not 18 characters.
    #[error("unified social credit code {code:?} has {len} characters; it has 18")]
    Length {
        /// The code as given.
        code: String,
        /// Its length in characters.
        len: usize,
    },
    /// A character outside the code's set (lower case, I, O, S, V, Z, …).
    #[error("unified social credit code {code:?}: character {position} ({found:?}) is not one of 0-9 and the capital letters but I, O, S, V, Z")]
    Character {
        /// The code as given.
        code: String,
        /// The character's position, from 1.
        position: usize,
        /// The character.
        found: char,
    },
    /// The check character does not match the first 17.
    #[error("unified social credit code {code:?} has check character {found}, expected {expected}: a character is mistyped")]
    CheckCharacter {
        /// The code as given.
        code: String,
        /// The last character.
        found: char,
        /// What the first 17 give.
        expected: char,
    },
}

/// A well-formed unified social credit code.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Uscc(String);

impl Uscc {
    /// Reads a code, refusing a malformed one with the reason.
    pub fn parse(code: &str) -> Result<Uscc, UsccError> {
        check_uscc(code)?;
        Ok(Uscc(code.to_owned()))
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The check character of a code's first 17 characters (`body` must be
/// of the code's character set); `None` when it is not.
pub fn uscc_check_character(body: &str) -> Option<char> {
    let mut sum = 0u32;
    let mut weight = 1u32;
    for c in body.chars() {
        let value = u32::try_from(USCC_CHARACTERS.find(c)?).ok()?;
        sum += value * weight;
        weight = weight * 3 % 31;
    }
    USCC_CHARACTERS.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// Checks a unified social credit code: 18 characters of its set, the
/// last the check character of the first 17.
pub fn check_uscc(code: &str) -> Result<(), UsccError> {
    let len = code.chars().count();
    if len != 18 {
        return Err(UsccError::Length {
            code: code.to_owned(),
            len,
        });
    }
    if let Some((i, found)) = code
        .chars()
        .enumerate()
        .find(|(_, c)| !USCC_CHARACTERS.contains(*c))
    {
        return Err(UsccError::Character {
            code: code.to_owned(),
            position: i + 1,
            found,
        });
    }
    let (body, last) = code.split_at(17);
    let expected = uscc_check_character(body).ok_or_else(|| UsccError::Length {
        code: code.to_owned(),
        len,
    })?;
    let found = last.chars().next().unwrap_or(' ');
    if found != expected {
        return Err(UsccError::CheckCharacter {
            code: code.to_owned(),
            found,
            expected,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_example_and_real_codes_check() {
        // GB 32100's own example, and a registered firm's code.
        for code in ["91350100M000100Y43", "91110000802100433B"] {
            assert_eq!(check_uscc(code), Ok(()), "{code}");
        }
        // A farmers' professional cooperative (registration type 93)
        // written with its computed check character.
        let body = "93330127MA2B0X1Q6";
        let code = format!("{body}{}", uscc_check_character(body).unwrap());
        assert_eq!(code, "93330127MA2B0X1Q6M");
        assert!(Uscc::parse(&code).is_ok());
    }

    #[test]
    fn malformed_codes_are_refused_naming_what_is_wrong() {
        assert!(matches!(
            check_uscc("91350100M000100Y4"),
            Err(UsccError::Length { len: 17, .. })
        ));
        assert!(matches!(
            check_uscc("91350100M000100Y43X"),
            Err(UsccError::Length { len: 19, .. })
        ));
        // O is not in the set (it reads as 0).
        assert_eq!(
            check_uscc("91350100MO00100Y43"),
            Err(UsccError::Character {
                code: "91350100MO00100Y43".into(),
                position: 10,
                found: 'O'
            })
        );
        assert!(matches!(
            check_uscc("91350100m000100Y43"),
            Err(UsccError::Character { position: 9, .. })
        ));
        // One mistyped character changes the check character.
        assert_eq!(
            check_uscc("91350100M000100Y44"),
            Err(UsccError::CheckCharacter {
                code: "91350100M000100Y44".into(),
                found: '4',
                expected: '3'
            })
        );
        let e = check_uscc("91350100M000100Y44").unwrap_err().to_string();
        assert!(e.contains("expected 3"), "{e}");
        // Chinese text is counted in characters, not bytes.
        assert!(matches!(
            check_uscc("统一社会信用代码"),
            Err(UsccError::Length { len: 8, .. })
        ));
    }
}
