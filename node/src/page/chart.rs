//! Cold-chain readings as an inline SVG chart with the allowed band
//! marked: no script, no external file, scales to the phone's width.

use std::fmt::Write;

use ledger_core::event::{Reading, SensorKind};
use ledger_core::Genesis;

use super::i18n::{measure, Lang};

/// Drawing size in SVG user units (the chart scales to its box).
const W: f64 = 340.0;
const H: f64 = 150.0;
/// Margins: left for the value labels, bottom for the times.
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 8.0;
const BOTTOM: f64 = 22.0;

/// An SVG chart of `readings` (one sensor, sorted by time or not), the
/// allowed band shaded, readings out of band drawn red; `None` when there
/// is nothing to draw.
pub fn chart(readings: &[Reading], lang: Lang, genesis: &Genesis) -> Option<String> {
    let mut rs: Vec<&Reading> = readings.iter().collect();
    rs.sort_by_key(|r| r.time);
    let (first, last) = (rs.first()?, rs.last()?);
    let kind: SensorKind = first.kind;
    // An open side of the range (a reading imported without one) has no
    // line: the plot spans the readings and the bounds there are.
    let (band_lo, band_hi) = first.bounds();
    let lo = rs
        .iter()
        .map(|r| r.bounds().0.map_or(r.value, |b| r.value.min(b)))
        .min()?;
    let hi = rs
        .iter()
        .map(|r| r.bounds().1.map_or(r.value, |b| r.value.max(b)))
        .max()?;
    // A little room above and below.
    let pad = (hi.saturating_sub(lo) / 10).max(500);
    let (lo, hi) = (lo.saturating_sub(pad), hi.saturating_add(pad));
    let span_v = (i128::from(hi) - i128::from(lo)).max(1) as f64;
    let span_t = last.time.saturating_sub(first.time).max(1) as f64;
    let x = |t: u64| {
        if rs.len() == 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (t.saturating_sub(first.time) as f64) / span_t * (W - LEFT - RIGHT)
        }
    };
    let y = |v: i64| TOP + (i128::from(hi) - i128::from(v)) as f64 / span_v * (H - TOP - BOTTOM);
    let label = match lang.allowed(first.min, first.max, kind) {
        Some(range) => format!("{}: {range}", lang.tr("允许范围", "allowed range")),
        None => lang
            .tr(
                "读数（未给出允许范围）",
                "readings (no allowed range given)",
            )
            .to_owned(),
    };
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"{label}\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    // The allowed band, to the plot's edge on an open side.
    if band_lo.is_some() || band_hi.is_some() {
        let (top, bottom) = (y(band_hi.unwrap_or(hi)), y(band_lo.unwrap_or(lo)));
        let _ = write!(
            s,
            "<rect x=\"{LEFT}\" y=\"{top:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"#d8f0dc\"/>",
            W - LEFT - RIGHT,
            (bottom - top).max(1.0)
        );
    }
    for v in [band_lo, band_hi].into_iter().flatten() {
        let _ = write!(
            s,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#3a8a4a\" stroke-dasharray=\"4 3\"/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#333\">{}</text>",
            W - RIGHT,
            y(v),
            y(v),
            LEFT - 4.0,
            y(v) + 4.0,
            measure(v, kind)
        );
    }
    let points: Vec<String> = rs
        .iter()
        .map(|r| format!("{:.1},{:.1}", x(r.time), y(r.value)))
        .collect();
    let _ = write!(
        s,
        "<polyline points=\"{}\" fill=\"none\" stroke=\"#1d4f91\" stroke-width=\"2\"/>",
        points.join(" ")
    );
    for r in &rs {
        let (fill, radius) = if r.is_excursion() {
            ("#c62828", 5.0)
        } else {
            ("#1d4f91", 3.0)
        };
        let _ = write!(
            s,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{radius}\" fill=\"{fill}\"/>",
            x(r.time),
            y(r.value)
        );
        if r.is_excursion() {
            let _ = write!(
                s,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#c62828\">{}</text>",
                x(r.time).clamp(LEFT + 20.0, W - RIGHT - 20.0),
                (y(r.value) - 8.0).max(TOP + 8.0),
                measure(r.value, kind)
            );
        }
    }
    // Times of the first and last reading.
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\" fill=\"#333\">{}</text>",
        H - 6.0,
        lang.clock(first.time, genesis)
    );
    if rs.len() > 1 {
        let _ = write!(
            s,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#333\">{}</text>",
            W - RIGHT,
            H - 6.0,
            lang.clock(last.time, genesis)
        );
    }
    s.push_str("</svg>");
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ledger_core::genesis::GENESIS_VERSION;

    fn genesis() -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            network: "t".into(),
            authorities: vec![],
            checkpoint_threshold: 1,
            created: 0,
            profile: Default::default(),
        }
    }

    fn reading(t: u64, value: i64, min: i64, max: i64) -> Reading {
        Reading {
            time: 1_744_453_200_000 + t * 60_000,
            kind: SensorKind::Temperature,
            value,
            min,
            max,
        }
    }

    #[test]
    fn readings_without_a_range_draw_no_band_and_never_overflow() {
        let rs = [
            reading(0, 4_100, i64::MIN, i64::MAX),
            reading(10, 5_200, i64::MIN, i64::MAX),
        ];
        let svg = chart(&rs, Lang::En, &genesis()).unwrap_or_default();
        assert!(svg.contains("readings (no allowed range given)"), "{svg}");
        assert!(!svg.contains("#d8f0dc"), "no band: {svg}");
        assert!(!svg.contains("9223372036854775"), "{svg}");
        assert!(svg.contains("5.2 °C") || !svg.contains("NaN"), "{svg}");
    }

    #[test]
    fn a_range_open_on_one_side_draws_its_one_bound() {
        let rs = [
            reading(0, -18_500, i64::MIN, -15_000),
            reading(10, -14_000, i64::MIN, -15_000),
        ];
        let svg = chart(&rs, Lang::En, &genesis()).unwrap_or_default();
        assert!(svg.contains("allowed range: at most -15 °C"), "{svg}");
        assert!(svg.contains("#d8f0dc"), "band below the bound: {svg}");
        assert!(!svg.contains("9223372036854775"), "{svg}");
        let zh = chart(&rs, Lang::Zh, &genesis()).unwrap_or_default();
        assert!(zh.contains("不高于 -15 °C"), "{zh}");
    }
}
