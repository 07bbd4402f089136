//! Whole histories: arrival-order independence, equivocation, reopening,
//! bundles and audit.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ledger_core::audit;
use ledger_core::bundle;
use ledger_core::event::{Event, Location, Product, Quantity, Unit};
use ledger_core::graph::Graph;
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::overlay::{Flag, Overlays};
use ledger_core::record::SignedRecord;
use ledger_core::store::{MemoryStore, SledStore, Store};
use ledger_core::workload::{self, Shape, Workload};
use ledger_core::{Genesis, Hash};
use proptest::prelude::*;

const NOW: u64 = workload::T0 + 1_000_000_000;

fn config() -> LedgerConfig {
    LedgerConfig {
        pending_capacity: 100_000,
        // Records wait for their authors' enrollments in any order here.
        stranger_capacity: 100_000,
        stranger_bytes: u64::MAX,
        ..LedgerConfig::default()
    }
}

fn fresh(genesis: &Genesis) -> Ledger<MemoryStore> {
    Ledger::create(MemoryStore::new(), genesis.clone(), config()).unwrap()
}

fn ingest_all<S: Store>(l: &mut Ledger<S>, records: &[SignedRecord], chunk: usize) {
    for c in records.chunks(chunk.max(1)) {
        let report = l.ingest(c.to_vec(), NOW).unwrap();
        for (h, o) in report.outcomes.iter().chain(&report.released) {
            assert!(
                matches!(o, Outcome::Accepted | Outcome::Pending(_)),
                "record {h}: {o:?}"
            );
        }
    }
}

/// The generated history plus an equivocation (farm 0 signs a second,
/// different record at the seq of its third record) and a revocation (the
/// regulator revokes processor 0's key after its fourth record), so
/// records are flagged for themselves and tainted downstream.
fn history_with_fork() -> (Workload, Hash, Hash) {
    let mut w = workload::generate(Shape::for_records(1_200));
    let key = workload::key_for("farm", 0);
    let original = w
        .records
        .iter()
        .find(|r| r.record.author == key.public() && r.record.seq == 2)
        .unwrap()
        .clone();
    let mut twin = original.record.clone();
    twin.event = Event::Harvest {
        lot_code: "TWIN".into(),
        product: Product {
            description: "靖远枸杞".into(),
            gtin: None,
        },
        quantity: Quantity::new(5, Unit::Gram),
        location: Location {
            description: "elsewhere".into(),
            gln: None,
        },
        reference: None,
    };
    let twin = twin.sign(&key);
    let hashes = (original.hash(), twin.hash());
    w.records.push(twin);

    let regulator = workload::key_for("regulator", 0);
    let last = w
        .records
        .iter()
        .filter(|r| r.record.author == regulator.public())
        .max_by_key(|r| r.record.seq)
        .unwrap()
        .clone();
    let mut revoke = last.record.clone();
    revoke.seq += 1;
    revoke.prev = Some(last.hash());
    revoke.deps = Vec::new();
    revoke.time += 1;
    revoke.event = Event::Revoke {
        key: workload::key_for("processor", 0).public(),
        last_trusted_seq: Some(3),
        reason: "key copied onto a second laptop".into(),
    };
    w.records.push(revoke.sign(&regulator));
    (w, hashes.0, hashes.1)
}

#[test]
fn generated_history_is_fully_accepted_in_order() {
    let w = workload::generate(Shape::for_records(1_200));
    let mut authors = std::collections::BTreeSet::new();
    let mut kinds = std::collections::BTreeSet::new();
    for r in &w.records {
        authors.insert(r.record.author);
        kinds.insert(r.record.event.kind());
    }
    assert!(w.records.len() >= 1_000 && authors.len() >= 6);
    for k in ["transform", "ship", "receive", "observe", "sell", "inspect"] {
        assert!(kinds.iter().any(|x| x.as_str() == k), "no {k}");
    }
    let mut l = fresh(&w.genesis);
    let report = l.ingest(w.records.clone(), NOW).unwrap();
    for (h, o) in &report.outcomes {
        assert_eq!(*o, Outcome::Accepted, "record {h}");
    }
    assert_eq!(l.len(), w.records.len() as u64);
    assert_eq!(l.pending_len(), 0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any arrival order, in any batch sizes, gives the same state digest,
    /// the same fork proof, and no leftovers in the pending pool.
    #[test]
    fn any_arrival_order_gives_the_same_digest(seed in any::<u64>(), chunk in 1usize..400) {
        use rand::{seq::SliceRandom, SeedableRng};
        let (w, a, b) = history_with_fork();
        let mut reference = fresh(&w.genesis);
        ingest_all(&mut reference, &w.records, 4096);
        let expected = reference.state_digest().unwrap();

        let mut shuffled = w.records.clone();
        shuffled.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
        let mut l = fresh(&w.genesis);
        ingest_all(&mut l, &shuffled, chunk);
        prop_assert_eq!(l.pending_len(), 0);
        prop_assert_eq!(l.len(), w.records.len() as u64);
        prop_assert_eq!(l.state_digest().unwrap(), expected);
        // The overlays kept as records landed are those computed from
        // scratch over the same records.
        let kept = l.overlays().unwrap();
        prop_assert_eq!(&kept, &Overlays::compute(&l).unwrap());
        // So is the chain count `/status` reads.
        prop_assert_eq!(l.chain_count().unwrap(), l.heads().unwrap().len() as u64);
        let revoked = kept.flagged.values().flatten().any(|f| matches!(f, Flag::Revoked { .. }));
        let tainted = kept.flagged.values().flatten().any(|f| matches!(f, Flag::Tainted { .. }));
        prop_assert!(revoked && tainted, "revoked {} tainted {}", revoked, tainted);
        let forks = kept.forks;
        prop_assert_eq!(forks.len(), 1);
        let mut both = vec![a, b];
        both.sort();
        prop_assert_eq!(&forks[0].records, &both);
    }

    /// Decoders and verifiers never panic on arbitrary bytes.
    #[test]
    fn decoding_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = SignedRecord::decode(&bytes);
        let _ = Genesis::decode(&bytes);
        let _ = bundle::verify(&bytes, &Hash::of(b"x"));
    }
}

#[test]
fn equivocation_freezes_the_authors_later_records_and_taints_dependents() {
    let (w, a, b) = history_with_fork();
    let mut l = fresh(&w.genesis);
    ingest_all(&mut l, &w.records, 512);
    let o = l.overlays().unwrap();
    let farm = workload::key_for("farm", 0).public();
    use ledger_core::overlay::Flag;
    for (seq, h) in l.chain(&farm).unwrap() {
        let flags = o.flags(&h);
        if seq >= 2 {
            assert!(
                flags.contains(&Flag::Equivocation { fork_seq: 2 }),
                "seq {seq}"
            );
        } else {
            assert!(flags.is_empty(), "seq {seq}");
        }
    }
    // The processor's receipt of farm 0's later shipments is tainted.
    let tainted = o
        .flagged
        .iter()
        .filter(|(_, f)| f.iter().any(|x| matches!(x, Flag::Tainted { .. })))
        .count();
    assert!(tainted > 0);
    assert!(o.flags(&a).contains(&Flag::Equivocation { fork_seq: 2 }));
    assert!(o.flags(&b).contains(&Flag::Equivocation { fork_seq: 2 }));
}

#[test]
fn sled_store_survives_drop_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let w = workload::generate(Shape::for_records(1_000));
    let digest;
    {
        let store = SledStore::open(dir.path()).unwrap();
        let mut l = Ledger::create(store, w.genesis.clone(), config()).unwrap();
        ingest_all(&mut l, &w.records, 250);
        digest = l.state_digest().unwrap();
    }
    let l = Ledger::open(SledStore::open(dir.path()).unwrap(), config()).unwrap();
    assert_eq!(l.len(), w.records.len() as u64);
    assert_eq!(l.state_digest().unwrap(), digest);
    for r in &w.records {
        assert_eq!(l.record(&r.hash()).unwrap().as_ref(), Some(r));
    }
}

#[test]
fn a_second_open_of_a_sled_ledger_is_refused_as_locked() {
    let dir = tempfile::tempdir().unwrap();
    let _first = SledStore::open(dir.path()).unwrap();
    let second = SledStore::open(dir.path());
    assert!(
        matches!(second, Err(ledger_core::StoreError::Locked(_))),
        "{second:?}"
    );
}

fn ledger_with_history() -> (Workload, Ledger<MemoryStore>) {
    let w = workload::generate(Shape::for_records(1_000));
    let mut l = fresh(&w.genesis);
    ingest_all(&mut l, &w.records, 4096);
    (w, l)
}

#[test]
fn bundle_verifies_offline_and_any_flipped_byte_fails_it() {
    let (w, l) = ledger_with_history();
    let lot = w.product_lots[3].clone();
    let bytes = bundle::export(&l, &lot).unwrap().unwrap().encode();
    let network = l.network();
    let ok = bundle::verify(&bytes, &network);
    assert!(ok.verified(), "{:?}", ok.failure());
    let trace = ok.trace.unwrap();
    assert_eq!(trace.upstream.len(), 2);
    assert!(trace.events.len() >= 8);

    // Another network's id fails.
    let other = bundle::verify(&bytes, &Hash::of(b"other"));
    assert_eq!(other.failure().unwrap().name, "network");

    // Flip one byte at ≥ 200 positions spread over the whole file.
    let step = (bytes.len() / 250).max(1);
    let mut tried = 0;
    for pos in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[pos] ^= 0x01;
        let v = bundle::verify(&bad, &network);
        assert!(!v.verified(), "flipping byte {pos} still verified");
        tried += 1;
    }
    assert!(tried >= 200, "only {tried} positions");
}

#[test]
fn one_bad_signature_among_many_good_ones_fails_naming_its_record() {
    let (w, l) = ledger_with_history();
    let b = bundle::export(&l, &w.product_lots[3]).unwrap().unwrap();
    assert!(b.records.len() >= 10, "{} records", b.records.len());
    let network = l.network();
    let last = b.records.len() - 1;
    for i in [0, 1, last / 2, last] {
        let mut bad = b.clone();
        // A different, well-formed signature: the batch equation fails, and
        // each record is then judged alone.
        bad.records[i].signature.0[63] ^= 0x01;
        let v = bundle::verify(&bad.encode(), &network);
        let f = v.failure().expect("a bad signature must fail the bundle");
        assert_eq!(f.name, "signatures", "record {i}: {f:?}");
        let want = format!(
            "record {}… has a bad signature",
            b.records[i].hash().short()
        );
        assert_eq!(f.detail, want, "record {i}");
        assert!(v.trace.is_none());
        // Every check before it passed; none after it ran.
        assert_eq!(v.checks.len(), 4, "{:?}", v.checks);
    }
    // A signature copied from another record by the same author is equally
    // refused: it signs a different message.
    let (i, j) = (0..b.records.len())
        .flat_map(|i| (0..b.records.len()).map(move |j| (i, j)))
        .find(|&(i, j)| i != j && b.records[i].record.author == b.records[j].record.author)
        .expect("some author signed two records of the bundle");
    let mut bad = b.clone();
    bad.records[i].signature = b.records[j].signature;
    let v = bundle::verify(&bad.encode(), &network);
    let f = v.failure().unwrap();
    assert_eq!(f.name, "signatures");
    assert_eq!(
        f.detail,
        format!(
            "record {}… has a bad signature",
            b.records[i].hash().short()
        )
    );
}

#[test]
fn bundle_of_a_missing_lot_is_none() {
    let (w, l) = ledger_with_history();
    let mut lot = w.product_lots[0].clone();
    lot.code = "NOPE".into();
    assert!(bundle::export(&l, &lot).unwrap().is_none());
}

#[test]
fn audit_passes_and_reports_exactly_the_tampered_records() {
    let (w, l) = ledger_with_history();
    let report = audit::audit(&l, MemoryStore::new(), NOW, |_| {}).unwrap();
    assert!(report.passed(), "{:?}", report.problems);
    assert_eq!(report.records, w.records.len() as u64);

    // Alter the stored bytes of two records underneath the ledger: the
    // log entries (key `L` and the big-endian log seq) holding them.
    let store = l.close().unwrap();
    let victims = [w.records[40].hash(), w.records[700].hash()];
    for (key, mut bytes) in store.scan_prefix(b"L").unwrap() {
        let hash = SignedRecord::decode(&bytes).unwrap().hash();
        if victims.contains(&hash) {
            let n = bytes.len();
            bytes[n - 70] ^= 0x40; // inside the record body
            store.put(&key, &bytes).unwrap();
        }
    }
    let l = Ledger::open(store, LedgerConfig::default()).unwrap();
    let report = audit::audit(&l, MemoryStore::new(), NOW, |_| {}).unwrap();
    assert!(!report.passed());
    let mut named: Vec<Hash> = report.problems.iter().map(|p| p.record).collect();
    named.sort();
    named.dedup();
    let mut expected = victims.to_vec();
    expected.sort();
    assert_eq!(named, expected, "{:?}", report.problems);
    // Their dependents are intact but cannot be re-validated without them.
    assert!(!report.unverifiable.is_empty());
    assert!(report.unverifiable.iter().all(|h| !expected.contains(h)));
}

#[test]
fn parallel_signature_checks_give_the_same_verdicts() {
    let w = workload::generate(Shape::for_records(1_000));
    let mut records = w.records.clone();
    records[500].signature.0[10] ^= 0x20;
    let bad = records[500].hash();
    let run = |threads: usize| {
        let mut l = Ledger::create(
            MemoryStore::new(),
            w.genesis.clone(),
            LedgerConfig {
                verify_threads: threads,
                ..config()
            },
        )
        .unwrap();
        let report = l.ingest(records.clone(), NOW).unwrap();
        (report.outcomes, l.state_digest().unwrap())
    };
    let (one, d1) = run(1);
    let (four, d4) = run(4);
    assert_eq!(one, four);
    assert_eq!(d1, d4);
    let (_, verdict) = one.iter().find(|(h, _)| *h == bad).unwrap();
    assert_eq!(
        *verdict,
        Outcome::Rejected {
            error: ledger_core::ValidationError::BadSignature
        }
    );
}

/// Ingests `records` in chunks with `Ledger::ingest`, returning each
/// chunk's report.
fn reports_one_by_one<S: Store>(
    l: &mut Ledger<S>,
    records: &[SignedRecord],
    chunk: usize,
) -> Vec<ledger_core::ledger::IngestReport> {
    records
        .chunks(chunk)
        .map(|c| l.ingest(c.to_vec(), NOW).unwrap())
        .collect()
}

/// A shuffled fork history with one forged signature: records wait in the
/// pending pool across batches, one is rejected, one author equivocates.
fn shuffled_history_with_a_forgery(seed: u64) -> (Workload, Vec<SignedRecord>) {
    use rand::{seq::SliceRandom, SeedableRng};
    let (w, _, _) = history_with_fork();
    let mut records = w.records.clone();
    records.shuffle(&mut rand::rngs::StdRng::seed_from_u64(seed));
    records[300].signature.0[7] ^= 0x01;
    (w, records)
}

#[test]
fn pipelined_ingest_into_sled_gives_the_verdicts_of_one_batch_at_a_time() {
    let (w, records) = shuffled_history_with_a_forgery(7);
    let mut reference = fresh(&w.genesis);
    let expected = reports_one_by_one(&mut reference, &records, 97);
    assert!(
        expected
            .iter()
            .any(|r| r.released.iter().any(|(_, o)| *o == Outcome::Accepted)),
        "the history must exercise the pending pool across batches"
    );

    let dir = tempfile::tempdir().unwrap();
    let store = SledStore::open(dir.path()).unwrap();
    let mut l = Ledger::create(store, w.genesis.clone(), config()).unwrap();
    let mut got = Vec::new();
    l.ingest_stream(records.chunks(97).map(<[_]>::to_vec), NOW, |r| got.push(r))
        .unwrap();
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g.outcomes, e.outcomes);
        assert_eq!(g.released, e.released);
    }
    assert_eq!(l.len(), reference.len());
    assert_eq!(l.pending_len(), reference.pending_len());
    let digest = reference.state_digest().unwrap();
    assert_eq!(l.state_digest().unwrap(), digest);

    // Everything reported was durable: a reopened ledger agrees.
    let store = l.close().unwrap();
    drop(store);
    let reopened = Ledger::open(SledStore::open(dir.path()).unwrap(), config()).unwrap();
    assert_eq!(reopened.len(), reference.len());
    assert_eq!(reopened.state_digest().unwrap(), digest);
    assert_eq!(
        reopened.chain_count().unwrap(),
        reference.heads().unwrap().len() as u64
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Pipelined group commit decides every batch as the sequential path
    /// does, whatever the arrival order and batch size.
    #[test]
    fn pipelined_ingest_matches_sequential_ingest(seed in any::<u64>(), chunk in 1usize..300) {
        let (w, records) = shuffled_history_with_a_forgery(seed);
        let mut reference = fresh(&w.genesis);
        let expected = reports_one_by_one(&mut reference, &records, chunk);
        let mut l = fresh(&w.genesis);
        let mut got = Vec::new();
        l.ingest_stream(records.chunks(chunk).map(<[_]>::to_vec), NOW, |r| got.push(r))
            .unwrap();
        prop_assert_eq!(got.len(), expected.len());
        for (g, e) in got.iter().zip(&expected) {
            prop_assert_eq!(&g.outcomes, &e.outcomes);
            prop_assert_eq!(&g.released, &e.released);
        }
        prop_assert_eq!(l.pending_len(), reference.pending_len());
        prop_assert_eq!(l.state_digest().unwrap(), reference.state_digest().unwrap());
    }
}

#[test]
fn chains_read_back_across_chain_blocks() {
    let w = workload::generate(Shape::for_records(3_000));
    let mut l = fresh(&w.genesis);
    ingest_all(&mut l, &w.records, 1_000);
    // The busiest author's chain spans several 128-seq blocks.
    let mut by_author: std::collections::BTreeMap<_, Vec<&SignedRecord>> = Default::default();
    for r in &w.records {
        by_author.entry(r.record.author).or_default().push(r);
    }
    let (author, mut expected) = by_author
        .into_iter()
        .max_by_key(|(_, rs)| rs.len())
        .unwrap();
    assert!(expected.len() > 300, "{} records", expected.len());
    expected.sort_by_key(|r| r.record.seq);
    let hashes: Vec<(u64, Hash)> = expected.iter().map(|r| (r.record.seq, r.hash())).collect();
    assert_eq!(l.chain(&author).unwrap(), hashes);
    let len = expected.len() as u64;
    for (from, limit) in [
        (0, 5),
        (0, 1_000),
        (126, 4),
        (127, 1),
        (128, 130),
        (255, 2),
        (len - 1, 9),
        (len, 3),
    ] {
        let got: Vec<Hash> = l
            .chain_from(&author, from, limit)
            .unwrap()
            .iter()
            .map(SignedRecord::hash)
            .collect();
        let want: Vec<Hash> = hashes
            .iter()
            .skip(from as usize)
            .take(limit)
            .map(|(_, h)| *h)
            .collect();
        assert_eq!(got, want, "chain_from({from}, {limit})");
    }
}

/// A ledger holding most of a generated history, shared by the mutation
/// cases below (they never change its digest).
fn shared_history() -> &'static std::sync::Mutex<(Workload, Ledger<MemoryStore>)> {
    static SHARED: std::sync::OnceLock<std::sync::Mutex<(Workload, Ledger<MemoryStore>)>> =
        std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let w = workload::generate(Shape::for_records(1_000));
        let mut l = fresh(&w.genesis);
        ingest_all(&mut l, &w.records[..900], 4096);
        std::sync::Mutex::new((w, l))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The fuzz target `validate_record`, as a property: a mutated valid
    /// record (flipped bytes, truncated, extended) never panics the
    /// validator, is never accepted, and never changes the state digest.
    #[test]
    fn mutated_records_are_never_accepted(
        which in 900usize..1000,
        flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let mut guard = shared_history().lock().unwrap();
        let (w, l) = &mut *guard;
        let mut bytes = w.records[which].encode();
        for (pos, mask) in flips {
            let n = bytes.len();
            bytes[pos % n] ^= mask;
        }
        if let Some(c) = cut {
            let n = bytes.len();
            bytes.truncate(c % n);
        }
        let before = l.state_digest().unwrap();
        let results = l.ingest_bytes(&[bytes], NOW).unwrap();
        prop_assert!(!matches!(results[0], Ok((_, Outcome::Accepted))));
        prop_assert_eq!(l.state_digest().unwrap(), before);
    }
}
