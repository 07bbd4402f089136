//! The pending pool's bounds (issue 12): strangers' records have a budget
//! of their own, nothing waits for ever, and a record dated far ahead is
//! refused rather than parked; one source (a client, a peer) takes at most
//! its share of the strangers' budget. One test per rule: each builds the input
//! that meets the bound and checks the specific outcome.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::author::Author;
use ledger_core::event::{Event, Product, Quantity, Role, Unit};
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome, PendingReason, Source};
use ledger_core::record::SignedRecord;
use ledger_core::store::{MemoryStore, SledStore, Store};
use ledger_core::{Hash, SigningKey};

mod common;

use common::{here, World, NOW};

const HOUR: u64 = 3_600_000;

fn harvest(code: &str) -> Event {
    Event::Harvest {
        lot_code: code.into(),
        product: Product {
            description: "千岛湖茶".into(),
            gtin: None,
        },
        quantity: Quantity::new(10, Unit::Gram),
        location: here(),
        reference: None,
    }
}

fn world() -> World {
    World::with_cast("pool test", &[("farm", Role::Farm), ("farm2", Role::Farm)])
}

/// Reopens the world's ledger (closed cleanly: its tail folded) with
/// `config`.
fn reopen(w: &mut World, config: LedgerConfig) {
    let store = std::mem::replace(
        &mut w.ledger,
        Ledger::create(MemoryStore::new(), w.genesis.clone(), config).unwrap(),
    )
    .close()
    .unwrap();
    w.ledger = Ledger::open(store, config).unwrap();
}

/// A first record of a throwaway key nobody enrolled, waiting for a dep
/// nobody has: what fills a pool for free.
fn stranger(w: &World, i: u8) -> SignedRecord {
    let a = Author::new(SigningKey::from_seed(&[200 + i; 32]), w.genesis.id());
    a.draft(NOW, vec![Hash::of(&[i])], harvest(&format!("S{i}")))
        .sign(a.key())
}

/// A record of the enrolled `farm` waiting for a dep nobody has.
fn orphan(w: &mut World, i: u8) -> SignedRecord {
    w.draft(
        "farm",
        vec![Hash::of(&[100 + i])],
        harvest(&format!("F{i}")),
    )
}

/// Records expire after an hour in the pool, and may be parked up to an
/// hour ahead.
fn hour_ttl() -> LedgerConfig {
    LedgerConfig {
        pending_ttl_ms: HOUR,
        max_park_ahead_ms: HOUR,
        ..LedgerConfig::default()
    }
}

#[test]
fn strangers_have_a_pool_budget_of_their_own() {
    let mut w = world();
    let config = LedgerConfig {
        pending_capacity: 2,
        stranger_capacity: 2,
        ..LedgerConfig::default()
    };
    reopen(&mut w, config);
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let r = stranger(&w, i);
        outcomes.push(w.ledger.ingest_one(r, NOW).unwrap());
    }
    assert!(matches!(outcomes[0], Outcome::Pending(_)), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Pending(_)), "{outcomes:?}");
    assert_eq!(
        outcomes[2],
        Outcome::StrangerPoolFull {
            capacity: 2,
            bytes: config.stranger_bytes
        }
    );
    // The strangers took none of the room of an enrolled participant
    // (enrolled, with no record of its own yet: known by its enrollment).
    assert!(w.ledger.key_state(&w.pk("farm")).unwrap().is_none());
    let a = orphan(&mut w, 0);
    assert!(matches!(
        w.ledger.ingest_one(a, NOW).unwrap(),
        Outcome::Pending(PendingReason::Missing { .. })
    ));
    let b = orphan(&mut w, 1);
    assert!(matches!(
        w.ledger.ingest_one(b, NOW).unwrap(),
        Outcome::Pending(_)
    ));
    let c = orphan(&mut w, 2);
    assert_eq!(
        w.ledger.ingest_one(c, NOW).unwrap(),
        Outcome::PoolFull { capacity: 2 }
    );
    assert_eq!(w.ledger.pending_len(), 4);
    // The budget is counted again on opening: still full.
    reopen(&mut w, config);
    assert_eq!(w.ledger.pending_len(), 4);
    let r = stranger(&w, 9);
    assert!(matches!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::StrangerPoolFull { .. }
    ));
}

#[test]
fn strangers_records_are_bounded_by_bytes_too() {
    let mut w = world();
    let one = stranger(&w, 0).encode().len() as u64;
    let config = LedgerConfig {
        stranger_capacity: 100,
        stranger_bytes: one + one / 2,
        ..LedgerConfig::default()
    };
    reopen(&mut w, config);
    let r = stranger(&w, 0);
    assert!(matches!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::Pending(_)
    ));
    let r = stranger(&w, 1);
    assert_eq!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::StrangerPoolFull {
            capacity: 100,
            bytes: one + one / 2
        }
    );
    assert_eq!(w.ledger.pending_len(), 1);
}

#[test]
fn a_record_dated_beyond_the_parking_horizon_is_refused_not_parked() {
    let mut w = world();
    let config = LedgerConfig::default();
    let limit = config.max_park_ahead_ms;
    let a = &w.authors["farm"];
    let deps = w.deps("farm", vec![]);
    // Within the horizon: it waits for its time.
    let near = a
        .draft(NOW + limit, deps.clone(), harvest("NEAR"))
        .sign(a.key());
    assert!(matches!(
        w.ledger.ingest_one(near, NOW).unwrap(),
        Outcome::Pending(PendingReason::Future { .. })
    ));
    // A millisecond further: refused.
    let far = a.draft(NOW + limit + 1, deps, harvest("FAR")).sign(a.key());
    assert_eq!(
        w.ledger.ingest_one(far, NOW).unwrap(),
        Outcome::TooFarAhead {
            time: NOW + limit + 1,
            now: NOW,
            max_ahead_ms: limit
        }
    );
    // Dated in 2100 and waiting for a dep: refused, whatever it waits for.
    let year_2100 = 4_102_444_800_000;
    let s = Author::new(SigningKey::from_seed(&[250; 32]), w.genesis.id());
    let r = s
        .draft(year_2100, vec![Hash::of(b"nothing")], harvest("2100"))
        .sign(s.key());
    assert!(matches!(
        w.ledger.ingest_one(r, NOW).unwrap(),
        Outcome::TooFarAhead { time, .. } if time == year_2100
    ));
    assert_eq!(w.ledger.pending_len(), 1);
}

#[test]
fn parked_records_expire_after_the_ttl_across_reopening() {
    let mut w = world();
    let config = LedgerConfig {
        stranger_capacity: 1,
        ..hour_ttl()
    };
    reopen(&mut w, config);
    let s = stranger(&w, 0);
    let o = orphan(&mut w, 0);
    let (hs, ho) = (s.hash(), o.hash());
    assert!(matches!(
        w.ledger.ingest_one(s, NOW).unwrap(),
        Outcome::Pending(_)
    ));
    assert!(matches!(
        w.ledger.ingest_one(o, NOW + 1).unwrap(),
        Outcome::Pending(_)
    ));
    // Not yet.
    let report = w.ledger.tick(NOW + HOUR - 1).unwrap();
    assert!(report.released.is_empty(), "{:?}", report.released);
    // The pool is on disk: a restart keeps the records and when they came.
    reopen(&mut w, config);
    assert_eq!(w.ledger.pending_len(), 2);
    let report = w.ledger.tick(NOW + HOUR).unwrap();
    assert_eq!(
        report.released,
        vec![(
            hs,
            Outcome::Expired {
                parked_at: NOW,
                ttl_ms: HOUR
            }
        )]
    );
    assert_eq!(w.ledger.pending_len(), 1);
    let report = w.ledger.tick(NOW + HOUR + 1).unwrap();
    assert_eq!(
        report.released,
        vec![(
            ho,
            Outcome::Expired {
                parked_at: NOW + 1,
                ttl_ms: HOUR
            }
        )]
    );
    assert_eq!(w.ledger.pending_len(), 0);
    assert!(w.ledger.pending_missing().unwrap().is_empty());
    // The stranger's room is free again, and stays so across a restart.
    reopen(&mut w, config);
    assert_eq!(w.ledger.pending_len(), 0);
    let later = NOW + 2 * HOUR;
    let r = stranger(&w, 1);
    assert!(matches!(
        w.ledger.ingest_one(r, later).unwrap(),
        Outcome::Pending(_)
    ));
}

/// Signs `who`'s next record (advancing its chain).
fn sign(w: &mut World, who: &str, deps: Vec<Hash>, code: &str) -> SignedRecord {
    let time = w.tick();
    let deps = w.deps(who, deps);
    w.authors
        .get_mut(who)
        .unwrap()
        .sign(time, deps, harvest(code))
}

#[test]
fn an_expiry_lost_to_a_crash_is_done_again_on_the_first_staging() {
    let mut w = world();
    let config = hour_ttl();
    let store = std::mem::replace(
        &mut w.ledger,
        Ledger::create(MemoryStore::new(), w.genesis.clone(), config).unwrap(),
    )
    .close()
    .unwrap();
    w.ledger = Ledger::open(store.clone(), config).unwrap();
    let o = orphan(&mut w, 0);
    let h = o.hash();
    assert!(matches!(
        w.ledger.ingest_one(o, NOW).unwrap(),
        Outcome::Pending(_)
    ));
    w.ledger.fold().unwrap();
    let report = w.ledger.tick(NOW + HOUR).unwrap();
    assert!(matches!(report.released[..], [(x, Outcome::Expired { .. })] if x == h));
    // A crash before the tail is folded loses the expiry with it.
    let crashed = std::mem::replace(
        &mut w.ledger,
        Ledger::create(MemoryStore::new(), w.genesis.clone(), config).unwrap(),
    );
    std::mem::forget(crashed);
    w.ledger = Ledger::open(store, config).unwrap();
    assert_eq!(w.ledger.pending_len(), 1);
    // The first staging after opening drops it again.
    let r = stranger(&w, 3);
    let report = w.ledger.ingest(vec![r], NOW + HOUR).unwrap();
    assert!(matches!(report.outcomes[0].1, Outcome::Pending(_)));
    assert_eq!(
        report.released,
        vec![(
            h,
            Outcome::Expired {
                parked_at: NOW,
                ttl_ms: HOUR
            }
        )]
    );
    assert_eq!(w.ledger.pending_len(), 1);
}

#[test]
fn a_released_record_keeps_its_first_parking_time() {
    let mut w = world();
    let config = hour_ttl();
    reopen(&mut w, config);
    // c waits for b and for a record nobody has; b waits for a.
    let a = sign(&mut w, "farm", vec![], "A");
    let b = sign(&mut w, "farm2", vec![a.hash()], "B");
    let c = sign(&mut w, "farm2", vec![Hash::of(b"never")], "C");
    let hc = c.hash();
    let r = w.ledger.ingest(vec![c, b], NOW).unwrap();
    assert!(r
        .outcomes
        .iter()
        .all(|(_, o)| matches!(o, Outcome::Pending(_))));
    // a lands an hour minus a bit later: b is accepted, c waits on.
    let r = w.ledger.ingest(vec![a], NOW + HOUR - 10).unwrap();
    assert_eq!(r.outcomes[0].1, Outcome::Accepted);
    assert_eq!(w.ledger.pending_len(), 1);
    // It expires an hour after it first came, not after its re-parking.
    let r = w.ledger.tick(NOW + HOUR).unwrap();
    assert_eq!(
        r.released,
        vec![(
            hc,
            Outcome::Expired {
                parked_at: NOW,
                ttl_ms: HOUR
            }
        )]
    );
}

// Per-source shares of the strangers' budget.

const A: Option<Source> = Some(Source(1));
const B: Option<Source> = Some(Source(2));
const C: Option<Source> = Some(Source(3));

/// Ingests `r` as coming from `source`; its outcome.
fn from(w: &mut World, r: SignedRecord, source: Option<Source>, now: u64) -> Outcome {
    let mut report = w.ledger.ingest_from(vec![(r, source)], now).unwrap();
    assert_eq!(report.outcomes.len(), 1);
    report.outcomes.pop().unwrap().1
}

fn source_full(config: &LedgerConfig) -> Outcome {
    Outcome::StrangerSourceFull {
        per_source: config.stranger_per_source,
        bytes: config.stranger_source_bytes(),
    }
}

#[test]
fn one_source_filling_its_share_is_refused_while_others_still_park() {
    let mut w = world();
    let config = LedgerConfig {
        stranger_capacity: 4,
        stranger_per_source: 2,
        ..LedgerConfig::default()
    };
    reopen(&mut w, config);
    for i in 0..2 {
        let r = stranger(&w, i);
        assert!(matches!(from(&mut w, r, A, NOW), Outcome::Pending(_)));
    }
    // A third from A: its share is spent, though the pool has room.
    let r = stranger(&w, 2);
    assert_eq!(from(&mut w, r, A, NOW), source_full(&config));
    assert_eq!(
        source_full(&config),
        Outcome::StrangerSourceFull {
            per_source: 2,
            bytes: config.stranger_bytes / 2
        }
    );
    // Another source's strangers still park, and so do records with no
    // source (local tools), up to the whole strangers' budget.
    let r = stranger(&w, 3);
    assert!(matches!(from(&mut w, r, B, NOW), Outcome::Pending(_)));
    let r = stranger(&w, 4);
    assert!(matches!(from(&mut w, r, None, NOW), Outcome::Pending(_)));
    assert_eq!(w.ledger.pending_len(), 4);
    let r = stranger(&w, 5);
    assert_eq!(
        from(&mut w, r, C, NOW),
        Outcome::StrangerPoolFull {
            capacity: 4,
            bytes: config.stranger_bytes
        }
    );
    // Known authors' records never count against a source's share.
    for i in 0..3 {
        let o = orphan(&mut w, i);
        assert!(matches!(from(&mut w, o, A, NOW), Outcome::Pending(_)));
    }
    // Within one batch too: the share is counted as the batch is decided.
    let batch = (10..13).map(|i| (stranger(&w, i), B)).collect();
    let mut w2 = world();
    reopen(&mut w2, config);
    let report = w2.ledger.ingest_from(batch, NOW).unwrap();
    let outcomes: Vec<_> = report.outcomes.into_iter().map(|(_, o)| o).collect();
    assert!(matches!(outcomes[0], Outcome::Pending(_)), "{outcomes:?}");
    assert!(matches!(outcomes[1], Outcome::Pending(_)), "{outcomes:?}");
    assert_eq!(outcomes[2], source_full(&config));
}

/// A stranger's record heavy with deps (a few KiB), waiting.
fn heavy_stranger(w: &World, i: u8) -> SignedRecord {
    let a = Author::new(SigningKey::from_seed(&[i; 32]), w.genesis.id());
    let deps = (0..64u8).map(|d| Hash::of(&[i, d])).collect();
    let mut event = harvest(&format!("H{i}"));
    if let Event::Harvest { product, .. } = &mut event {
        product.description = "茶".repeat(300);
    }
    a.draft(NOW, deps, event).sign(a.key())
}

#[test]
fn a_sources_bytes_are_bounded_in_proportion() {
    let mut w = world();
    let config = LedgerConfig {
        stranger_capacity: 400,
        stranger_per_source: 40,
        stranger_bytes: 655_360,
        ..LedgerConfig::default()
    };
    assert_eq!(config.stranger_source_bytes(), 65_536);
    reopen(&mut w, config);
    let size = heavy_stranger(&w, 0).encode().len() as u64;
    assert!(size > 2_000, "{size}");
    let mut parked = 0u64;
    let refused = loop {
        let r = heavy_stranger(&w, 100 + parked as u8);
        match from(&mut w, r, A, NOW) {
            Outcome::Pending(_) => parked += 1,
            other => break other,
        }
        assert!(parked < 40, "the byte share never bound");
    };
    assert_eq!(refused, source_full(&config));
    assert!(parked * size <= 65_536 && (parked + 1) * size > 65_536);
    let r = heavy_stranger(&w, 1);
    assert!(matches!(from(&mut w, r, B, NOW), Outcome::Pending(_)));
}

#[test]
fn a_sources_byte_share_holds_one_maximal_record_and_never_overflows() {
    let one = ledger_core::encoding::MAX_RECORD_BYTES as u64;
    let defaults = LedgerConfig::default();
    assert_eq!(defaults.stranger_per_source, defaults.stranger_capacity / 4);
    assert_eq!(
        defaults.stranger_source_bytes(),
        defaults.stranger_bytes / 4
    );
    let tiny = LedgerConfig {
        stranger_per_source: 1,
        ..defaults
    };
    assert_eq!(tiny.stranger_source_bytes(), one);
    let unbounded = LedgerConfig {
        stranger_capacity: usize::MAX,
        stranger_per_source: usize::MAX,
        stranger_bytes: u64::MAX,
        ..defaults
    };
    assert_eq!(unbounded.stranger_source_bytes(), u64::MAX);
    // Never more than the whole budget.
    let small = LedgerConfig {
        stranger_bytes: 1_000,
        ..defaults
    };
    assert_eq!(small.stranger_source_bytes(), 1_000);
}

#[test]
fn a_sources_share_comes_back_on_release_and_on_expiry() {
    let mut w = world();
    let config = LedgerConfig {
        stranger_per_source: 1,
        ..hour_ttl()
    };
    reopen(&mut w, config);
    // A stranger's record waiting for a farm record not stored yet.
    let cause = sign(&mut w, "farm", vec![], "CAUSE");
    let s = Author::new(SigningKey::from_seed(&[77; 32]), w.genesis.id());
    let waiting = s.draft(NOW, vec![cause.hash()], harvest("W")).sign(s.key());
    let hw = waiting.hash();
    assert!(matches!(from(&mut w, waiting, A, NOW), Outcome::Pending(_)));
    let r = stranger(&w, 0);
    assert_eq!(from(&mut w, r, A, NOW), source_full(&config));
    // Its cause lands: it leaves the pool (decided; the stranger is not
    // enrolled, so rejected) and A's share is free again.
    let report = w.ledger.ingest(vec![cause], NOW + 1).unwrap();
    assert_eq!(report.outcomes[0].1, Outcome::Accepted);
    assert!(
        report
            .released
            .iter()
            .any(|(h, o)| *h == hw && !matches!(o, Outcome::Pending(_))),
        "{:?}",
        report.released
    );
    assert_eq!(w.ledger.pending_len(), 0);
    let r = stranger(&w, 0);
    let h0 = r.hash();
    assert!(matches!(from(&mut w, r, A, NOW + 2), Outcome::Pending(_)));
    let r = stranger(&w, 1);
    assert_eq!(from(&mut w, r, A, NOW + 2), source_full(&config));
    // It expires: A's share is free again.
    let report = w.ledger.tick(NOW + 2 + HOUR).unwrap();
    assert_eq!(
        report.released,
        vec![(
            h0,
            Outcome::Expired {
                parked_at: NOW + 2,
                ttl_ms: HOUR
            }
        )]
    );
    let r = stranger(&w, 1);
    assert!(matches!(
        from(&mut w, r, A, NOW + 3 + HOUR),
        Outcome::Pending(_)
    ));
}

#[test]
fn per_source_counts_survive_reopening_and_old_parking_entries_still_open() {
    let w = world();
    let config = LedgerConfig {
        stranger_per_source: 2,
        ..LedgerConfig::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let mut ledger = Ledger::create(
        SledStore::open(dir.path()).unwrap(),
        w.genesis.clone(),
        config,
    )
    .unwrap();
    let ingest = |l: &mut Ledger<SledStore>, i: u8, source| {
        let mut report = l.ingest_from(vec![(stranger(&w, i), source)], NOW).unwrap();
        report.outcomes.pop().unwrap().1
    };
    let mut a_hashes = Vec::new();
    for i in 0..2 {
        a_hashes.push(stranger(&w, i).hash());
        assert!(matches!(ingest(&mut ledger, i, A), Outcome::Pending(_)));
    }
    assert_eq!(ingest(&mut ledger, 2, A), source_full(&config));
    drop(ledger.close().unwrap());
    // Counted again on opening: A's share is still spent, B's is not.
    let mut ledger = Ledger::open(SledStore::open(dir.path()).unwrap(), config).unwrap();
    assert_eq!(ledger.pending_len(), 2);
    assert_eq!(ingest(&mut ledger, 2, A), source_full(&config));
    assert!(matches!(ingest(&mut ledger, 3, B), Outcome::Pending(_)));
    let store = ledger.close().unwrap();
    // A store written before sources were kept has 13-byte parking
    // entries (`o`: since, stranger, size): they open, as source-less.
    for h in &a_hashes {
        let key = [&[b'o'][..], &h.0].concat();
        let value = store.get(&key).unwrap().unwrap();
        assert_eq!(value.len(), 21, "a parking entry with a source");
        assert_eq!(value[..8], NOW.to_be_bytes());
        assert_eq!(value[13..], 1u64.to_be_bytes());
        store.put(&key, &value[..13]).unwrap();
    }
    store.flush().unwrap();
    drop(store);
    let mut ledger = Ledger::open(SledStore::open(dir.path()).unwrap(), config).unwrap();
    assert_eq!(ledger.pending_len(), 3);
    // A's records count for no source now: A has its whole share again,
    // while B's record still counts for B.
    assert!(matches!(ingest(&mut ledger, 2, A), Outcome::Pending(_)));
    assert!(matches!(ingest(&mut ledger, 4, B), Outcome::Pending(_)));
    assert_eq!(ingest(&mut ledger, 5, B), source_full(&config));
    // The old entries still expire on time (their `since` was kept).
    let report = ledger.tick(NOW + config.pending_ttl_ms).unwrap();
    assert_eq!(report.released.len(), 5, "{:?}", report.released);
    assert_eq!(ledger.pending_len(), 0);
}

#[test]
fn where_strangers_get_no_room_a_source_hears_about_the_whole_budget() {
    let mut w = world();
    let config = LedgerConfig {
        stranger_capacity: 0,
        ..LedgerConfig::default()
    };
    reopen(&mut w, config);
    let r = stranger(&w, 0);
    assert_eq!(
        from(&mut w, r, A, NOW),
        Outcome::StrangerPoolFull {
            capacity: 0,
            bytes: config.stranger_bytes
        }
    );
}
