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

/// Which products China's certificate order covers, as a regulator's
/// register decides it: vegetables, fruit, fresh tea leaf, livestock, eggs
/// and farmed fish are in; made tea and dried goji, which fall under food
/// licensing, are out. Nothing in a record says which a product is, so a
/// product counts as covered when
/// - someone in the ledger has issued a certificate for a lot of the same
///   product (the same GTIN, or the same name where there is none), or
/// - the regulator lists it: a word of its name (`鲜叶`, `枸杞鲜果`) or its
///   GTIN's leading digits (a company prefix).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    listed: Vec<String>,
    certified: std::collections::BTreeSet<String>,
}

/// Why [`Scope`] counts a product as covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Covered {
    /// Lots of the same product have certificates.
    LikeCertified,
    /// The regulator's list names it (the entry that matched).
    Listed(String),
}

impl Scope {
    /// A scope with the regulator's entries: digits match a GTIN's leading
    /// digits, anything else a part of the product's name.
    pub fn new(listed: impl IntoIterator<Item = String>) -> Scope {
        Scope {
            listed: listed
                .into_iter()
                .map(|e| e.trim().to_lowercase())
                .filter(|e| !e.is_empty())
                .collect(),
            certified: Default::default(),
        }
    }

    /// Learns that a lot of `product` was certified.
    pub fn certified(&mut self, product: &crate::event::Product) {
        self.certified.insert(product_key(product));
    }

    /// Whether `product` is covered, and why.
    pub fn covers(&self, product: &crate::event::Product) -> Option<Covered> {
        if self.certified.contains(&product_key(product)) {
            return Some(Covered::LikeCertified);
        }
        let name = product.description.to_lowercase();
        let gtin = product.gtin.as_deref().map(|g| g.trim_start_matches('0'));
        self.listed
            .iter()
            .find(|e| {
                if e.bytes().all(|b| b.is_ascii_digit()) {
                    gtin.is_some_and(|g| g.starts_with(e.trim_start_matches('0')))
                } else {
                    name.contains(e.as_str())
                }
            })
            .map(|e| Covered::Listed(e.clone()))
    }
}

/// What makes two lots the same product: the GTIN (as a number, so GTIN-13
/// and its GTIN-14 form agree), else the name with its spacing evened out.
fn product_key(p: &crate::event::Product) -> String {
    match &p.gtin {
        Some(g) => format!("gtin:{}", g.trim_start_matches('0')),
        None => format!(
            "name:{}",
            p.description
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
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

    fn product(name: &str, gtin: Option<&str>) -> crate::event::Product {
        crate::event::Product {
            description: name.into(),
            gtin: gtin.map(Into::into),
        }
    }

    #[test]
    fn a_product_is_covered_when_certified_elsewhere_or_listed() {
        let mut scope = Scope::new(["鲜叶".to_owned(), "0690123".to_owned(), " ".to_owned()]);
        let leaf = product("千岛湖茶  鲜叶", None);
        let made = product("千岛湖茶 龙井 green tea", None);
        let goji = product("靖远枸杞 fresh", Some("06901234567892"));
        let grain = product("大米 rice", Some("6951234567890"));
        // Listed: by a word of the name, or by the GTIN's leading digits
        // whether it is written as GTIN-13 or GTIN-14.
        assert_eq!(scope.covers(&leaf), Some(Covered::Listed("鲜叶".into())));
        assert_eq!(scope.covers(&goji), Some(Covered::Listed("0690123".into())));
        assert_eq!(scope.covers(&made), None);
        assert_eq!(scope.covers(&grain), None);
        // Certified elsewhere: the same name, spacing aside, or GTIN.
        scope.certified(&product("千岛湖茶 龙井 green tea ", None));
        assert_eq!(scope.covers(&made), Some(Covered::LikeCertified));
        scope.certified(&product("rice", Some("06951234567890")));
        assert_eq!(scope.covers(&grain), Some(Covered::LikeCertified));
        // An empty list covers only what was certified.
        let bare = Scope::new(Vec::new());
        assert_eq!(bare.covers(&leaf), None);
    }
}
