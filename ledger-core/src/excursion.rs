//! Excursion events: a lot's out-of-range sensor readings grouped into
//! the excursions a reader thinks in ("40 minutes up to 12.4 °C"), rather
//! than one warning per reading.
//!
//! Readings of one lot and one sensor kind, from every observe record of
//! the trace, are put in reading-time order; consecutive out-of-range
//! readings form one [`ExcursionEvent`], which ends at the next in-range
//! reading of that lot and kind. Integers only: values in thousandths
//! (milli-°C, milli-%RH), times in ms since epoch.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::event::{Event, LotId, Reading, SensorKind};
use crate::hash::Hash;
use crate::query::Trace;

/// The reading of an excursion farthest outside its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Peak {
    /// The value, in thousandths.
    pub value: i64,
    /// Lowest allowed value, in thousandths.
    pub min: i64,
    /// Highest allowed value, in thousandths.
    pub max: i64,
}

impl Peak {
    /// How far outside its range the value lies (0 inside it).
    pub fn beyond(&self) -> i64 {
        if self.value > self.max {
            self.value.saturating_sub(self.max)
        } else {
            self.min.saturating_sub(self.value).max(0)
        }
    }

    /// Whether the value is above its range (else below).
    pub fn too_high(&self) -> bool {
        self.value > self.max
    }
}

/// Consecutive out-of-range readings of one lot and sensor kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExcursionEvent {
    /// The observed lot.
    pub lot: LotId,
    /// What was measured.
    pub kind: SensorKind,
    /// Time of the first out-of-range reading (ms since epoch).
    pub start: u64,
    /// Time of the last out-of-range reading (ms since epoch).
    pub end: u64,
    /// `end - start`: 0 for a single reading.
    pub duration_ms: u64,
    /// The reading farthest outside its range.
    pub peak: Peak,
    /// How many readings were out of range.
    pub readings: u32,
    /// The observe records holding those readings, in reading order,
    /// each once.
    pub records: Vec<Hash>,
}

/// The excursion events of `trace`, ordered by start time (then lot and
/// sensor kind).
pub fn excursion_events(trace: &Trace) -> Vec<ExcursionEvent> {
    let mut series: BTreeMap<(LotId, u8), Vec<(Reading, Hash)>> = BTreeMap::new();
    for e in &trace.events {
        if let Event::Observe { lot, readings, .. } = &e.event {
            for r in readings {
                series
                    .entry((lot.clone(), kind_rank(r.kind)))
                    .or_default()
                    .push((*r, e.hash));
            }
        }
    }
    let mut out = Vec::new();
    for ((lot, _), mut samples) in series {
        // Stable: readings at the same time keep record and list order.
        samples.sort_by_key(|(r, _)| r.time);
        let mut run: Option<ExcursionEvent> = None;
        for (r, record) in samples {
            if !r.is_excursion() {
                out.extend(run.take());
                continue;
            }
            let peak = Peak {
                value: r.value,
                min: r.min,
                max: r.max,
            };
            match run.as_mut() {
                None => {
                    run = Some(ExcursionEvent {
                        lot: lot.clone(),
                        kind: r.kind,
                        start: r.time,
                        end: r.time,
                        duration_ms: 0,
                        peak,
                        readings: 1,
                        records: vec![record],
                    });
                }
                Some(ev) => {
                    if peak.beyond() > ev.peak.beyond() {
                        ev.peak = peak;
                    }
                    ev.end = r.time;
                    ev.duration_ms = ev.end.saturating_sub(ev.start);
                    ev.readings = ev.readings.saturating_add(1);
                    if !ev.records.contains(&record) {
                        ev.records.push(record);
                    }
                }
            }
        }
        out.extend(run);
    }
    out.sort_by(|a, b| {
        (a.start, &a.lot, kind_rank(a.kind)).cmp(&(b.start, &b.lot, kind_rank(b.kind)))
    });
    out
}

fn kind_rank(k: SensorKind) -> u8 {
    match k {
        SensorKind::Temperature => 0,
        SensorKind::Humidity => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Location, Product};
    use crate::key::PublicKey;
    use crate::query::TraceEvent;

    const MIN: u64 = 60_000;
    const T0: u64 = 1_744_453_200_000; // 2025-04-12 10:20 UTC

    fn lot(code: &str) -> LotId {
        LotId {
            source: PublicKey([7; 32]),
            code: code.into(),
        }
    }

    fn reading(kind: SensorKind, time: u64, value: i64, min: i64, max: i64) -> Reading {
        Reading {
            time,
            kind,
            value,
            min,
            max,
        }
    }

    fn chilled(time: u64, value: i64) -> Reading {
        reading(SensorKind::Temperature, time, value, 0, 8_000)
    }

    fn observe(n: u8, code: &str, readings: Vec<Reading>) -> TraceEvent {
        TraceEvent {
            hash: Hash([n; 32]),
            author: PublicKey([n; 32]),
            signer: None,
            seq: u64::from(n),
            time: readings.first().map_or(T0, |r| r.time),
            event: Event::Observe {
                lot: lot(code),
                location: Location {
                    description: "reefer".into(),
                    gln: None,
                },
                readings,
            },
            flags: Vec::new(),
        }
    }

    fn trace(events: Vec<TraceEvent>) -> Trace {
        Trace {
            left_out: Vec::new(),
            lot: lot("QDH-0403"),
            product: Some(Product {
                description: "tea".into(),
                gtin: None,
            }),
            events,
            upstream: Vec::new(),
            downstream: Vec::new(),
            certifications: Vec::new(),
            warnings: Vec::new(),
        }
    }

    #[test]
    fn five_readings_over_forty_minutes_are_one_event_with_their_peak() {
        // Split over two records, the second listed first: order is by
        // reading time, not by record.
        let late = observe(
            2,
            "QDH-0403",
            vec![
                chilled(T0 + 30 * MIN, 10_100),
                chilled(T0 + 40 * MIN, 9_000),
                chilled(T0 + 50 * MIN, 7_000),
            ],
        );
        let early = observe(
            1,
            "QDH-0403",
            vec![
                chilled(T0 - 10 * MIN, 5_000),
                chilled(T0, 8_600),
                chilled(T0 + 10 * MIN, 12_400),
                chilled(T0 + 20 * MIN, 11_000),
            ],
        );
        let events = excursion_events(&trace(vec![late, early]));
        assert_eq!(events.len(), 1, "{events:?}");
        let e = &events[0];
        assert_eq!(e.lot, lot("QDH-0403"));
        assert_eq!(e.kind, SensorKind::Temperature);
        assert_eq!(
            (e.start, e.end, e.duration_ms),
            (T0, T0 + 40 * MIN, 40 * MIN)
        );
        assert_eq!(
            e.peak,
            Peak {
                value: 12_400,
                min: 0,
                max: 8_000
            }
        );
        assert!(e.peak.too_high());
        assert_eq!(e.readings, 5);
        assert_eq!(e.records, vec![Hash([1; 32]), Hash([2; 32])]);
    }

    #[test]
    fn an_in_range_reading_splits_two_events() {
        let obs = observe(
            1,
            "QDH-0403",
            vec![
                chilled(T0, 9_000),
                chilled(T0 + 10 * MIN, 9_500),
                chilled(T0 + 20 * MIN, 4_000),
                chilled(T0 + 30 * MIN, -1_500),
                chilled(T0 + 40 * MIN, -500),
            ],
        );
        let events = excursion_events(&trace(vec![obs]));
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!((events[0].start, events[0].end), (T0, T0 + 10 * MIN));
        assert_eq!(events[0].peak.value, 9_500);
        assert_eq!(events[0].readings, 2);
        assert_eq!(
            (events[1].start, events[1].end),
            (T0 + 30 * MIN, T0 + 40 * MIN)
        );
        assert_eq!(events[1].peak.value, -1_500);
        assert!(!events[1].peak.too_high());
        assert_eq!(events[1].readings, 2);
    }

    #[test]
    fn sensor_kinds_and_lots_are_kept_apart() {
        let humid = |t, v| reading(SensorKind::Humidity, t, v, 50_000, 70_000);
        // A humidity reading in range does not end the temperature event,
        // nor does an in-range reading of another lot.
        let a = observe(
            1,
            "QDH-0403",
            vec![
                chilled(T0, 9_000),
                humid(T0 + 5 * MIN, 60_000),
                humid(T0 + 10 * MIN, 80_000),
                chilled(T0 + 20 * MIN, 9_200),
            ],
        );
        let b = observe(2, "OTHER", vec![chilled(T0 + 15 * MIN, 4_000)]);
        let events = excursion_events(&trace(vec![a, b]));
        assert_eq!(events.len(), 2, "{events:?}");
        assert_eq!(events[0].kind, SensorKind::Temperature);
        assert_eq!((events[0].readings, events[0].duration_ms), (2, 20 * MIN));
        assert_eq!(events[1].kind, SensorKind::Humidity);
        assert_eq!((events[1].readings, events[1].peak.value), (1, 80_000));
    }

    #[test]
    fn a_single_reading_is_an_event_of_no_duration() {
        let obs = observe(
            1,
            "QDH-0403",
            vec![chilled(T0, 4_000), chilled(T0 + MIN, 8_001)],
        );
        let events = excursion_events(&trace(vec![obs]));
        assert_eq!(events.len(), 1);
        assert_eq!((events[0].start, events[0].end), (T0 + MIN, T0 + MIN));
        assert_eq!((events[0].duration_ms, events[0].readings), (0, 1));
    }

    #[test]
    fn frozen_goods_at_minus_eighteen_are_no_excursion() {
        let frozen = |t, v| reading(SensorKind::Temperature, t, v, -25_000, -15_000);
        let obs = observe(
            1,
            "FROZEN",
            vec![frozen(T0, -18_000), frozen(T0 + 10 * MIN, -18_000)],
        );
        assert!(excursion_events(&trace(vec![obs.clone()])).is_empty());
        // Warmer than −15 °C is one.
        let thawed = observe(2, "FROZEN", vec![frozen(T0 + 20 * MIN, -12_000)]);
        let events = excursion_events(&trace(vec![obs, thawed]));
        assert_eq!(events.len(), 1);
        assert!(events[0].peak.too_high());
        assert_eq!(events[0].peak.beyond(), 3_000);
    }
}
