//! Times as people read them. Signed data holds milliseconds since the
//! Unix epoch (UTC); what a person sees is a local date and time in the
//! network's time zone ([`crate::Genesis::time_zone`]).

use chrono::{DateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// A day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;

/// The instant `ms` (milliseconds since the Unix epoch) in zone `tz`.
/// Instants beyond chrono's range (about 262,000 years) show as the epoch.
pub fn local(ms: u64, tz: Tz) -> DateTime<Tz> {
    let utc = i64::try_from(ms)
        .ok()
        .and_then(DateTime::<Utc>::from_timestamp_millis)
        .unwrap_or(DateTime::UNIX_EPOCH);
    tz.from_utc_datetime(&utc.naive_utc())
}

/// `2025-04-08 10:00 CST`: a date and minute in `tz`, with the zone's
/// abbreviation, for messages and terminals.
pub fn show(ms: u64, tz: Tz) -> String {
    local(ms, tz).format("%Y-%m-%d %H:%M %Z").to_string()
}

/// `2025-04-08 02:00:00 UTC`: to the second, for messages that know no
/// network zone (validation errors judge a record alone).
pub fn show_utc(ms: u64) -> String {
    local(ms, Tz::UTC)
        .format("%Y-%m-%d %H:%M:%S UTC")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_local_time_with_zone() {
        // 2025-04-08T02:00:00Z is 10:00 in Shanghai.
        let ms = 1_744_077_600_000;
        assert_eq!(show(ms, chrono_tz::Asia::Shanghai), "2025-04-08 10:00 CST");
        assert_eq!(show_utc(ms), "2025-04-08 02:00:00 UTC");
        assert_eq!(show_utc(u64::MAX), "1970-01-01 00:00:00 UTC");
    }
}
