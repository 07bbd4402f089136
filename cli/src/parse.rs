//! Parsers for flag values: quantities, times, GS1 keys, references,
//! sensor readings. Each turns text into a checked value or a one-line
//! reason, and is used as a clap `value_parser`, so commands only ever see
//! well-formed input.

use ledger_core::event::{RefDoc, Verdict};
use ledger_core::{gs1, Hash, PublicKey, Quantity, Role, Unit};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// Mass and volume units accepted in quantities: (spellings, unit, base units each).
const UNITS: &[(&[&str], Unit, u64)] = &[
    (&["g", "gram", "grams", "克"], Unit::Gram, 1),
    (
        &[
            "kg",
            "kilo",
            "kilos",
            "kilogram",
            "kilograms",
            "公斤",
            "千克",
        ],
        Unit::Gram,
        1_000,
    ),
    (&["jin", "斤"], Unit::Gram, 500),
    (
        &["t", "tonne", "tonnes", "ton", "tons", "吨"],
        Unit::Gram,
        1_000_000,
    ),
    (
        &[
            "ml",
            "millilitre",
            "millilitres",
            "milliliter",
            "milliliters",
            "毫升",
        ],
        Unit::Millilitre,
        1,
    ),
    (
        &["l", "litre", "litres", "liter", "liters", "升"],
        Unit::Millilitre,
        1_000,
    ),
    (
        &["piece", "pieces", "pc", "pcs", "item", "items", "个", "件"],
        Unit::Piece,
        1,
    ),
    (&["case", "cases", "箱"], Unit::Case, 1),
    (&["bag", "bags", "sack", "sacks", "袋"], Unit::Bag, 1),
    (&["crate", "crates", "筐"], Unit::Crate, 1),
];

/// Parses a quantity such as `500kg`, `1.2t`, `250 g`, `2l`, `24 case`,
/// `3 crates` into integer base units (grams, millilitres or a count).
pub(crate) fn quantity(s: &str) -> Result<Quantity, String> {
    let text = s.trim();
    if text.starts_with('-') {
        return Err(format!("quantity {s:?} is negative"));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_' || c == ','))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: String = number.chars().filter(|c| *c != '_' && *c != ',').collect();
    let unit = unit.trim();
    if number.is_empty() {
        return Err(format!(
            "quantity {s:?} has no number; write e.g. 500kg, 1.2t, 250g, 2l, 24 case"
        ));
    }
    if unit.is_empty() {
        return Err(format!(
            "quantity {s:?} has no unit; use g, kg, t, ml, l, piece, case, bag or crate"
        ));
    }
    let lower = unit.to_lowercase();
    let Some((_, base, per)) = UNITS
        .iter()
        .find(|(names, _, _)| names.contains(&lower.as_str()))
    else {
        return Err(format!(
            "quantity {s:?} has unknown unit {unit:?}; use g, kg, t, ml, l, piece, case, bag or crate"
        ));
    };
    let amount = scaled(&number, *per).map_err(|why| format!("quantity {s:?} {why}"))?;
    if amount == 0 {
        return Err(format!("quantity {s:?} must be more than zero"));
    }
    Ok(Quantity::new(amount, *base))
}

/// `number × per` as an exact integer.
fn scaled(number: &str, per: u64) -> Result<u64, String> {
    let (int, frac) = match number.split_once('.') {
        Some((i, f)) => (i, f),
        None => (number, ""),
    };
    if frac.contains('.') || (int.is_empty() && frac.is_empty()) {
        return Err("is not a number".into());
    }
    if frac.len() > 9 {
        return Err("has too many decimals".into());
    }
    let digits = |d: &str| -> Result<u128, String> {
        if d.is_empty() {
            return Ok(0);
        }
        d.parse::<u128>().map_err(|_| "is too large".to_owned())
    };
    let scale = 10u128.pow(frac.len() as u32);
    let whole = digits(int)?
        .checked_mul(scale)
        .and_then(|v| v.checked_add(digits(frac).ok()?))
        .ok_or("is too large")?;
    let total = whole.checked_mul(u128::from(per)).ok_or("is too large")?;
    if total % scale != 0 {
        return Err(if per == 1 {
            "is fractional; this unit counts whole items (or whole grams/millilitres)".into()
        } else {
            "is finer than one base unit (1 g or 1 ml)".into()
        });
    }
    u64::try_from(total / scale).map_err(|_| "is too large".into())
}

/// A point in time, ms since the Unix epoch (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timestamp(pub(crate) u64);

/// Parses RFC 3339 (`2025-04-01T08:30:00+08:00`) or a date (`2025-04-01`,
/// midnight UTC).
pub(crate) fn timestamp(s: &str) -> Result<Timestamp, String> {
    let t = s.trim();
    let parsed = OffsetDateTime::parse(t, &Rfc3339).or_else(|_| {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(t, &fmt).map(|d| d.midnight().assume_utc())
    });
    let dt = parsed.map_err(|_| {
        format!("time {s:?} is not RFC 3339 (2025-04-01T08:30:00Z) or a date (2025-04-01)")
    })?;
    let ms = dt.unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms)
        .map(Timestamp)
        .map_err(|_| format!("time {s:?} is before 1970"))
}

/// Now, ms since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    let ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
    u64::try_from(ms).unwrap_or(0)
}

/// The time zone of the ledger this process works on (its genesis'), set
/// once when the ledger is opened; UTC until then.
static ZONE: std::sync::OnceLock<chrono_tz::Tz> = std::sync::OnceLock::new();

/// Shows times in `tz` from now on (the network's zone, from its genesis).
pub(crate) fn set_time_zone(tz: chrono_tz::Tz) {
    let _ = ZONE.set(tz);
}

/// Set by `--utc` (or `TERROIR_UTC`) before any command runs: times are
/// shown in UTC whatever the network's zone.
static UTC: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Shows every time in UTC from now on (`--utc`); the network's zone no
/// longer applies.
pub(crate) fn show_in_utc() {
    UTC.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether times are shown in UTC (`--utc`).
pub(crate) fn in_utc() -> bool {
    UTC.load(std::sync::atomic::Ordering::Relaxed)
}

/// The zone people read times in: `network`'s (its genesis' zone), or UTC
/// under `--utc`.
pub(crate) fn shown_zone(network: chrono_tz::Tz) -> chrono_tz::Tz {
    if in_utc() {
        chrono_tz::Tz::UTC
    } else {
        network
    }
}

/// `2025-04-01 16:30 CST`: local time in the network's time zone
/// (`2025-04-01 08:30 UTC` for a network that names none, or under
/// `--utc`). Every time the CLI prints for people goes through here.
pub(crate) fn show_time(ms: u64) -> String {
    let network = ZONE.get().copied().unwrap_or(chrono_tz::Tz::UTC);
    ledger_core::time::show(ms, shown_zone(network))
}

/// `2025年4月1日`: the local date in the network's time zone, as a
/// Chinese certificate prints it.
pub(crate) fn show_date_zh(ms: u64) -> String {
    let network = ZONE.get().copied().unwrap_or(chrono_tz::Tz::UTC);
    ledger_core::time::local(ms, shown_zone(network))
        .format("%Y年%-m月%-d日")
        .to_string()
}

/// RFC 3339 in UTC, for JSON.
pub(crate) fn rfc3339(ms: u64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|dt| dt.format(&Rfc3339).ok())
        .unwrap_or_else(|| ms.to_string())
}

/// A GTIN-8/12/13/14 with a correct check digit.
pub(crate) fn gtin(s: &str) -> Result<String, String> {
    let v = s.trim();
    gs1::check_gtin(v).map_err(|e| e.to_string())?;
    Ok(v.to_owned())
}

/// A 13-digit GLN with a correct check digit.
pub(crate) fn gln(s: &str) -> Result<String, String> {
    let v = s.trim();
    gs1::check_gln(v).map_err(|e| e.to_string())?;
    Ok(v.to_owned())
}

/// A backing document as `TYPE:NUMBER` (`invoice:2025-0417`).
pub(crate) fn refdoc(s: &str) -> Result<RefDoc, String> {
    match s.split_once(':') {
        Some((k, n)) if !k.trim().is_empty() && !n.trim().is_empty() => Ok(RefDoc {
            kind: k.trim().to_owned(),
            number: n.trim().to_owned(),
        }),
        _ => Err(format!(
            "reference {s:?} must be TYPE:NUMBER, e.g. invoice:2025-0417"
        )),
    }
}

/// A role name.
pub(crate) fn role(s: &str) -> Result<Role, String> {
    Role::parse(&s.trim().to_lowercase()).ok_or_else(|| {
        format!("unknown role {s:?}; use farm, processor, logistics, retailer, regulator or lab")
    })
}

/// `pass` or `fail`.
pub(crate) fn verdict(s: &str) -> Result<Verdict, String> {
    match s.trim().to_lowercase().as_str() {
        "pass" | "passed" | "ok" => Ok(Verdict::Pass),
        "fail" | "failed" => Ok(Verdict::Fail),
        _ => Err(format!("verdict {s:?} must be pass or fail")),
    }
}

/// A record hash or an unambiguous prefix of one (8 to 64 hex
/// characters), resolved against the ledger by
/// [`crate::backend::resolve_hash`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HashPrefix(String);

impl HashPrefix {
    /// The lower-case hex given.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash, when all 64 characters were given.
    pub(crate) fn full(&self) -> Option<Hash> {
        Hash::from_hex(&self.0).ok()
    }
}

/// A record hash, or a prefix of 8 or more hex characters (as `terroir`
/// prints them).
pub(crate) fn hash_prefix(s: &str) -> Result<HashPrefix, String> {
    let t = s.trim().to_lowercase();
    if t.len() < 8 || t.len() > 64 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(format!(
            "{s:?} is not a record hash (64 hex characters, or a prefix of 8 or more)"
        ));
    }
    Ok(HashPrefix(t))
}

/// A decimal such as `4.2`, `-18.5`, `9.6°C`, `65%` in thousandths.
pub(crate) fn milli(s: &str) -> Result<i64, String> {
    let t = s
        .trim()
        .trim_end_matches("°C")
        .trim_end_matches(['C', 'c', '%'])
        .trim_end_matches("RH")
        .trim();
    let (neg, body) = match t.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let ok = !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.chars().all(|c| c.is_ascii_digit())
        && frac.len() <= 3
        && int.len() <= 12;
    if !ok {
        return Err(format!("{s:?} is not a number with at most 3 decimals"));
    }
    let frac_val: i64 = format!("{frac:0<3}")
        .parse()
        .map_err(|_| format!("{s:?} is not a number"))?;
    let int_val: i64 = int.parse().map_err(|_| format!("{s:?} is too large"))?;
    let v = int_val * 1000 + frac_val;
    Ok(if neg { -v } else { v })
}

/// A sensor value, optionally with its own time: `4.2` or `4.2@2025-04-08T10:00:00Z`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SensorValue {
    pub(crate) milli: i64,
    pub(crate) time: Option<u64>,
}

pub(crate) fn sensor_value(s: &str) -> Result<SensorValue, String> {
    match s.split_once('@') {
        Some((v, t)) => Ok(SensorValue {
            milli: milli(v)?,
            time: Some(timestamp(t)?.0),
        }),
        None => Ok(SensorValue {
            milli: milli(s)?,
            time: None,
        }),
    }
}

/// An allowed range `MIN..MAX` in thousandths.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Range {
    pub(crate) min: i64,
    pub(crate) max: i64,
}

pub(crate) fn range(s: &str) -> Result<Range, String> {
    let (a, b) = s
        .split_once("..")
        .ok_or_else(|| format!("range {s:?} must be MIN..MAX, e.g. 0..8"))?;
    let r = Range {
        min: milli(a)?,
        max: milli(b)?,
    };
    if r.min > r.max {
        return Err(format!(
            "range {s:?} is empty: its minimum is above its maximum"
        ));
    }
    Ok(r)
}

/// A lot code for a new lot: what the core will accept.
pub(crate) fn lot_code(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("lot code must not be empty".into());
    }
    if t.len() > ledger_core::validate::MAX_LOT_CODE_BYTES {
        return Err(format!(
            "lot code {s:?} is longer than {} bytes",
            ledger_core::validate::MAX_LOT_CODE_BYTES
        ));
    }
    if t.contains(['/', '?', '#', '%', '@'])
        || t.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "lot code {s:?} may not contain whitespace or / ? # % @"
        ));
    }
    Ok(t.to_owned())
}

/// A founding authority named by its public key alone (`--authority`).
#[derive(Debug, Clone)]
pub(crate) struct AuthoritySpec {
    /// Its public key, checked strong.
    pub(crate) key: PublicKey,
    /// Its display name, when given as `KEY=NAME`.
    pub(crate) name: Option<String>,
}

/// `KEY` or `KEY=NAME`: a public key of 64 hex characters (as `terroir key
/// show` prints it) that the core accepts as strong, and an optional
/// non-empty display name in any script.
pub(crate) fn authority(s: &str) -> Result<AuthoritySpec, String> {
    let (key, name) = match s.split_once('=') {
        Some((k, n)) => (k.trim(), Some(n.trim())),
        None => (s.trim(), None),
    };
    let key = PublicKey::from_hex(key).map_err(|_| {
        format!("authority {key:?} is not a public key (64 hex characters, as `terroir key show` prints it)")
    })?;
    key.check_strong()
        .map_err(|why| format!("authority key {} is unusable: {why}", key.short()))?;
    let name = match name {
        None => None,
        Some("") => return Err(format!("authority {s:?} has an empty name after '='")),
        Some(n) if n.chars().any(char::is_control) => {
            return Err(format!("authority name {n:?} contains control characters"))
        }
        Some(n) => Some(n.to_owned()),
    };
    Ok(AuthoritySpec { key, name })
}

/// `CODE=QUANTITY`, for transform inputs and outputs.
/// A unified social credit code (GB 32100), check character verified.
pub(crate) fn uscc(s: &str) -> Result<String, String> {
    let v = s.trim().to_ascii_uppercase();
    ledger_core::china::check_uscc(&v).map_err(|e| e.to_string())?;
    Ok(v)
}

/// A number of days: `7`, `7d`, `7 days`, `7天` (at most a year).
pub(crate) fn days(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let digits = t.trim_end_matches(|c: char| !c.is_ascii_digit()).trim();
    let unit = t[digits.len()..].trim();
    if !matches!(unit, "" | "d" | "day" | "days" | "天") {
        return Err(format!("{s:?} is not a number of days (7, 7d, 7 days)"));
    }
    let n: u32 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a number of days (7, 7d, 7 days)"))?;
    let max = ledger_core::validate::MAX_SAFETY_INTERVAL_DAYS;
    if n > max {
        return Err(format!(
            "{n} days is longer than any label sets (at most {max})"
        ));
    }
    Ok(n)
}

/// A packing unit or asset: an SSCC's 18 digits (check digit verified),
/// written as its GS1 Digital Link `https://id.gs1.org/00/{SSCC}`; an EPC
/// URI or other URI as given; or the packer's own name for it.
pub(crate) fn parent(s: &str) -> Result<String, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("the unit needs a name: an SSCC (18 digits), an EPC URI or your own".into());
    }
    if t.len() == 18 && t.bytes().all(|b| b.is_ascii_digit()) {
        ledger_core::gs1::check_sscc(t).map_err(|e| e.to_string())?;
        return Ok(format!("https://id.gs1.org/00/{t}"));
    }
    Ok(t.to_owned())
}

pub(crate) fn code_quantity(s: &str) -> Result<(String, Quantity), String> {
    let (code, q) = s
        .rsplit_once('=')
        .ok_or_else(|| format!("{s:?} must be LOT=QUANTITY, e.g. QDH-0401=500kg"))?;
    let code = code.trim();
    if code.is_empty() {
        return Err(format!("{s:?} names no lot"));
    }
    Ok((code.to_owned(), quantity(q)?))
}

/// The candidate nearest `typed`: an abbreviation of it (its letters in
/// order, same first letter), or within a small edit distance.
pub(crate) fn closest<'a>(
    typed: &str,
    candidates: impl Iterator<Item = &'a str>,
) -> Option<&'a str> {
    let typed_l = typed.to_lowercase();
    let mut best: Option<(usize, &str)> = None;
    for c in candidates {
        let cl = c.to_lowercase();
        let score = if is_abbreviation(&typed_l, &cl) {
            0
        } else {
            let d = strsim::levenshtein(&typed_l, &cl);
            let limit = (typed_l.chars().count().max(cl.chars().count()) / 3).max(1);
            if d > limit {
                continue;
            }
            d
        };
        if best.is_none_or(|(b, _)| score < b) {
            best = Some((score, c));
        }
    }
    best.map(|(_, c)| c)
}

/// `qty` abbreviates `quantity`: same first letter, letters in order.
fn is_abbreviation(short: &str, long: &str) -> bool {
    if short.len() < 2 || short.len() >= long.len() || short.chars().next() != long.chars().next() {
        return false;
    }
    let mut rest = long.chars();
    short.chars().all(|c| rest.any(|l| l == c))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quantities_become_base_units() {
        assert_eq!(
            quantity("500kg").unwrap(),
            Quantity::new(500_000, Unit::Gram)
        );
        assert_eq!(
            quantity("1.2t").unwrap(),
            Quantity::new(1_200_000, Unit::Gram)
        );
        assert_eq!(quantity("250 g").unwrap(), Quantity::new(250, Unit::Gram));
        assert_eq!(
            quantity("2l").unwrap(),
            Quantity::new(2_000, Unit::Millilitre)
        );
        assert_eq!(quantity("24 case").unwrap(), Quantity::new(24, Unit::Case));
        assert_eq!(quantity("3 crates").unwrap(), Quantity::new(3, Unit::Crate));
        assert_eq!(
            quantity("1.5 KG").unwrap(),
            Quantity::new(1_500, Unit::Gram)
        );
        assert_eq!(quantity("3斤").unwrap(), Quantity::new(1_500, Unit::Gram));
        assert_eq!(
            quantity("1,000kg").unwrap(),
            Quantity::new(1_000_000, Unit::Gram)
        );
    }

    #[test]
    fn bad_quantities_say_why() {
        for (input, why) in [
            ("-5kg", "negative"),
            ("0kg", "more than zero"),
            ("500", "no unit"),
            ("kg", "no number"),
            ("5 furlongs", "unknown unit"),
            ("1.5 case", "fractional"),
            ("0.0001 g", "fractional"),
            ("1.0001kg", "finer than one base unit"),
            ("99999999999999999999 t", "too large"),
            ("1.2.3kg", "not a number"),
        ] {
            let err = quantity(input).unwrap_err();
            assert!(err.contains(why), "{input}: {err}");
        }
    }

    #[test]
    fn times() {
        assert_eq!(timestamp("1970-01-02").unwrap().0, 86_400_000);
        assert_eq!(
            timestamp("2025-04-01T08:00:00+08:00").unwrap().0,
            1_743_465_600_000
        );
        assert!(timestamp("yesterday").is_err());
        assert!(timestamp("1969-12-31").is_err());
        assert_eq!(show_time(1_743_465_600_000), "2025-04-01 00:00 UTC");
    }

    #[test]
    fn sensor_values() {
        assert_eq!(milli("4.2").unwrap(), 4_200);
        assert_eq!(milli("-18.5°C").unwrap(), -18_500);
        assert_eq!(milli("9.625").unwrap(), 9_625);
        assert!(milli("4.2345").is_err());
        assert!(range("8..0").is_err());
        let r = range("0..8").unwrap();
        assert_eq!((r.min, r.max), (0, 8_000));
    }

    #[test]
    fn closest_names() {
        let names = ["quantity", "lot", "product"];
        assert_eq!(closest("qty", names.into_iter()), Some("quantity"));
        assert_eq!(closest("prodcut", names.into_iter()), Some("product"));
        assert_eq!(closest("zebra", names.into_iter()), None);
        assert_eq!(
            closest("QDH-JK-0041", ["QDH-JK-0401", "QDH-PACK-0404"].into_iter()),
            Some("QDH-JK-0401")
        );
    }

    #[test]
    fn hash_prefixes() {
        assert!(hash_prefix("cb662c94").unwrap().full().is_none());
        assert!(hash_prefix("CB662C94").is_ok());
        assert!(hash_prefix("cb662c9").is_err());
        assert!(hash_prefix("cb662c9z").is_err());
        assert!(hash_prefix(&"a".repeat(64)).unwrap().full().is_some());
        assert!(hash_prefix(&"a".repeat(65)).is_err());
    }

    #[test]
    fn gs1_keys() {
        assert!(gtin("06901234567892").is_ok());
        assert!(gtin("06901234567891").unwrap_err().contains("check digit"));
        assert!(gln("6901234000016").is_ok());
        assert!(gln("6901234000017").is_err());
    }
}
