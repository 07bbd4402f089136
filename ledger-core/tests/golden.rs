#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Golden vectors for the canonical encoding (see `docs/encoding.md`).
//!
//! A fixed genesis and one signed record of every event type are built from
//! fixed 32-byte seeds and fixed field values. Their canonical bytes, record
//! hashes, signatures and signed-record bytes must equal the files checked in
//! under `tests/vectors/`: any change to the byte layout, the hash or the
//! signed message breaks this test.
//!
//! The vectors pin the encoding only; they are not meant to be a valid
//! ledger history (quantities, roles and custody are not checked here).
//!
//! To regenerate the files after a deliberate format change:
//!
//! ```text
//! TERROIR_BLESS=1 cargo test -p terroir-ledger-core --test golden -- --ignored bless
//! ```
//!
//! then review the diff and update `docs/encoding.md`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use ledger_core::encoding::{self, DecodeError, MAX_RECORD_BYTES};
use ledger_core::event::{
    Action, Basis, Event, Location, LotAmount, LotId, NewLot, Product, Quantity, Reading, RefDoc,
    Role, SensorKind, Unit, Verdict,
};
use ledger_core::genesis::{Authority, Genesis, NetworkProfile, GENESIS_VERSION};
use ledger_core::key;
use ledger_core::record::{
    Extras, Record, SignedRecord, RECORD_SIGNING_TAG, RECORD_VERSION, RECORD_VERSION_EVENTS,
    RECORD_VERSION_EXTRAS,
};
use ledger_core::{Hash, PublicKey, SigningKey};

// ---------------------------------------------------------------------------
// The fixed cast, genesis and records.
// ---------------------------------------------------------------------------

/// 2024-05-01T00:00:00Z in ms since the Unix epoch.
const T0: u64 = 1_714_521_600_000;
const HOUR: u64 = 3_600_000;
const DAY: u64 = 24 * HOUR;

/// A valid GTIN-14 (check digit 8).
const GTIN: &str = "09520123456788";
/// A valid GLN (check digit 8).
const GLN: &str = "9520123456788";

/// Every participant, with the byte its 32-byte seed repeats.
const CAST: [(&str, u8); 8] = [
    ("regulator", 0x11),
    ("farm", 0x22),
    ("goji_farm", 0x23),
    ("processor", 0x33),
    ("logistics", 0x44),
    ("retailer", 0x55),
    ("lab", 0x66),
    ("farm_next", 0x77),
];

fn signer(name: &str) -> SigningKey {
    let byte = CAST
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .expect("unknown cast member");
    SigningKey::from_seed(&[byte; 32])
}

fn public(name: &str) -> PublicKey {
    signer(name).public()
}

fn genesis() -> Genesis {
    Genesis {
        version: GENESIS_VERSION,
        network: "千岛湖茶 traceability".to_owned(),
        authorities: vec![Authority {
            key: public("regulator"),
            name: "淳安县市场监督管理局".to_owned(),
        }],
        checkpoint_threshold: 1,
        created: T0,
        profile: NetworkProfile {
            time_zone: Some("Asia/Shanghai".to_owned()),
            language: Some("zh-CN".to_owned()),
            contact: Some("淳安县市场监督管理局 12315".to_owned()),
        },
    }
}

fn loc(description: &str, gln: Option<&str>) -> Location {
    Location {
        description: description.to_owned(),
        gln: gln.map(str::to_owned),
    }
}

fn doc(kind: &str, number: &str) -> Option<RefDoc> {
    Some(RefDoc {
        kind: kind.to_owned(),
        number: number.to_owned(),
    })
}

fn lot(source: &str, code: &str) -> LotId {
    LotId {
        source: public(source),
        code: code.to_owned(),
    }
}

/// One golden vector: a file stem, who signed it and the signed record.
struct Vector {
    stem: String,
    signer: &'static str,
    signed: SignedRecord,
}

/// Appends records to per-author chains, filling in `seq` and `prev`.
struct Builder {
    network: Hash,
    heads: BTreeMap<PublicKey, (u64, Hash)>,
    vectors: Vec<Vector>,
}

impl Builder {
    fn push(&mut self, who: &'static str, time: u64, deps: Vec<Hash>, event: Event) -> Hash {
        self.push_keeping(who, time, deps, event, None)
    }

    /// [`Self::push`] of a record that keeps `extras` (version 3).
    fn push_keeping(
        &mut self,
        who: &'static str,
        time: u64,
        deps: Vec<Hash>,
        event: Event,
        extras: Option<Extras>,
    ) -> Hash {
        let key = signer(who);
        let author = key.public();
        let (seq, prev) = match self.heads.get(&author) {
            None => (0, None),
            Some((seq, hash)) => (seq + 1, Some(*hash)),
        };
        let record = Record {
            version: Record::version_for(&event, false),
            network: self.network,
            author,
            seq,
            prev,
            time,
            deps,
            event,
            extras: None,
        };
        let record = match extras {
            Some(x) => record.with_extras(x),
            None => record,
        };
        let hash = record.hash();
        self.heads.insert(author, (seq, hash));
        let kept = if record.extras.is_some() {
            "-extras"
        } else {
            ""
        };
        let stem = format!(
            "{:02}-{}{kept}",
            self.vectors.len() + 1,
            record.event.kind()
        );
        self.vectors.push(Vector {
            stem,
            signer: who,
            signed: record.sign(&key),
        });
        hash
    }
}

/// The twelve records, one per event type, in the order a real network
/// could have produced them (enrollment first).
fn vectors() -> Vec<Vector> {
    let mut b = Builder {
        network: genesis().id(),
        heads: BTreeMap::new(),
        vectors: Vec::new(),
    };
    let tea = lot("farm", "QDH-2024-0501-A");
    let tins = lot("processor", "QDH-P-0001");
    let goji = lot("goji_farm", "JY-GQ-2024-07");

    let enroll = b.push(
        "regulator",
        T0 + HOUR,
        vec![],
        Event::Enroll {
            participant: public("farm"),
            name: "千岛湖鸠坑茶叶专业合作社".to_owned(),
            role: Role::Farm,
            location: loc("浙江省杭州市淳安县鸠坑乡", Some(GLN)),
        },
    );
    let harvest = b.push(
        "farm",
        T0 + 2 * HOUR,
        vec![enroll],
        Event::Harvest {
            lot_code: tea.code.clone(),
            product: Product {
                description: "千岛湖茶 明前绿茶 fresh leaf".to_owned(),
                gtin: None,
            },
            quantity: Quantity::new(250_000, Unit::Gram),
            location: loc("鸠坑乡 3号茶园", None),
            reference: doc("picking log", "CJ-0501"),
        },
    );
    let ship = b.push(
        "farm",
        T0 + 5 * HOUR,
        vec![harvest],
        Event::Ship {
            lot: tea.clone(),
            quantity: Quantity::new(250_000, Unit::Gram),
            to: public("processor"),
            from: loc("鸠坑乡 3号茶园", None),
            destination: loc("千岛湖茶厂", Some(GLN)),
            reference: doc("BOL", "BOL-88017"),
        },
    );
    let receive = b.push(
        "processor",
        T0 + 7 * HOUR,
        vec![ship],
        Event::Receive {
            shipment: ship,
            lot: tea.clone(),
            quantity: Quantity::new(249_500, Unit::Gram),
            location: loc("千岛湖茶厂 收货区", Some(GLN)),
            reference: None,
        },
    );
    let transform = b.push(
        "processor",
        T0 + DAY,
        vec![receive],
        Event::Transform {
            process: "杀青 揉捻 烘干 装罐 (kill-green, roll, dry, tin)".to_owned(),
            inputs: vec![
                LotAmount {
                    lot: tea.clone(),
                    quantity: Quantity::new(249_500, Unit::Gram),
                },
                LotAmount {
                    lot: goji.clone(),
                    quantity: Quantity::new(20_000, Unit::Gram),
                },
            ],
            outputs: vec![NewLot {
                code: tins.code.clone(),
                product: Product {
                    description: "千岛湖茶·靖远枸杞 绿茶 250 g tin".to_owned(),
                    gtin: Some(GTIN.to_owned()),
                },
                quantity: Quantity::new(280, Unit::Piece),
            }],
            loss: 0,
            location: loc("千岛湖茶厂", Some(GLN)),
            reference: doc("batch sheet", "PB-0001"),
        },
    );
    let observe = b.push(
        "logistics",
        T0 + 2 * DAY,
        vec![transform],
        Event::Observe {
            lot: tins.clone(),
            location: loc("杭州 冷库 2号", None),
            readings: vec![
                Reading {
                    time: T0 + 2 * DAY - HOUR,
                    kind: SensorKind::Temperature,
                    value: 4_500,
                    min: 0,
                    max: 10_000,
                },
                Reading {
                    time: T0 + 2 * DAY - HOUR,
                    kind: SensorKind::Humidity,
                    value: 58_000,
                    min: 0,
                    max: 65_000,
                },
                Reading {
                    time: T0 + 2 * DAY - 30 * 60_000,
                    kind: SensorKind::Temperature,
                    value: -1_250,
                    min: 0,
                    max: 10_000,
                },
            ],
        },
    );
    let inspect = b.push(
        "lab",
        T0 + 3 * DAY,
        vec![transform, observe],
        Event::Inspect {
            lot: goji.clone(),
            test: "二氧化硫残留 sulphite residue (GB 2760)".to_owned(),
            verdict: Verdict::Fail,
            notes: "靖远枸杞 样品 0.32 g/kg, 超标".to_owned(),
            reference: doc("lab report", "ZJ-2024-1187"),
        },
    );
    let certify = b.push(
        "regulator",
        T0 + 4 * DAY,
        vec![transform],
        Event::Certify {
            lot: tins.clone(),
            claim: "GI 千岛湖茶 地理标志".to_owned(),
            reference: doc("certificate", "GI-330127-0042"),
            valid_until: Some(T0 + 365 * DAY),
        },
    );
    b.push(
        "regulator",
        T0 + 5 * DAY,
        vec![inspect, certify],
        Event::Recall {
            lot: goji.clone(),
            reason: "靖远枸杞 JY-GQ-2024-07: 二氧化硫超标 sulphite above limit".to_owned(),
        },
    );
    b.push(
        "retailer",
        T0 + 6 * DAY,
        vec![observe],
        Event::Sell {
            lot: tins.clone(),
            quantity: Quantity::new(4, Unit::Piece),
            location: loc("杭州 湖滨 超市", Some(GLN)),
        },
    );
    b.push(
        "regulator",
        T0 + 7 * DAY,
        vec![observe],
        Event::Revoke {
            key: public("logistics"),
            last_trusted_seq: Some(0),
            reason: "设备丢失 device lost".to_owned(),
        },
    );
    b.push(
        "farm",
        T0 + 8 * DAY,
        vec![],
        Event::RotateKey {
            new_key: public("farm_next"),
        },
    );
    let assigned = b.push(
        "regulator",
        T0 + 9 * DAY,
        vec![],
        Event::AssignPrefix {
            participant: public("processor"),
            prefix: "9520123".to_owned(),
        },
    );
    b.push(
        "processor",
        T0 + 10 * DAY,
        vec![assigned],
        Event::AuthorisePacker {
            packer: public("goji_farm"),
            prefix: "95201234".to_owned(),
            valid_until: Some(T0 + 365 * DAY),
        },
    );
    // A harvest captured from an EPCIS event, keeping what the event has
    // no place for (record version 3).
    b.push_keeping(
        "goji_farm",
        T0 + 11 * DAY,
        vec![],
        Event::Harvest {
            lot_code: "JY-GQ-2024-08".to_owned(),
            product: Product {
                description: "靖远枸杞 dried goji".to_owned(),
                gtin: None,
            },
            quantity: Quantity::new(40_000, Unit::Gram),
            location: loc("靖远县 东湾镇", None),
            reference: None,
        },
        Some(Extras {
            epcis: r#"{"eventID":"urn:uuid:6e0f4a4e-1d1b-4d5e-9a51-2f0c3b8d7a10","eventTimeZoneOffset":"+08:00","readPoint":{"id":"urn:epc:id:sgln:6952012.00001.7"}}"#.to_owned(),
        }),
    );
    // Record version 4's events: the processor packs tins onto a pallet,
    // attaches a data logger, the retailer links its order and despatch
    // advice, and the processor declares its packing erroneous.
    let packed = b.push(
        "processor",
        T0 + 12 * DAY,
        vec![],
        Event::Aggregate {
            action: Action::Add,
            parent: "urn:epc:id:sscc:9520123.0000000017".to_owned(),
            children: vec![LotAmount {
                lot: tins.clone(),
                quantity: Quantity::new(20, Unit::Piece),
            }],
            location: loc("淳安县 千岛湖镇 茶厂", Some(GLN)),
        },
    );
    b.push(
        "processor",
        T0 + 12 * DAY + HOUR,
        vec![],
        Event::Associate {
            action: Action::Add,
            parent: "urn:epc:id:giai:9520123.LOGGER-07".to_owned(),
            children: vec![LotAmount {
                lot: tins.clone(),
                quantity: Quantity::new(20, Unit::Piece),
            }],
            location: loc("淳安县 千岛湖镇 茶厂", Some(GLN)),
        },
    );
    b.push(
        "retailer",
        T0 + 13 * DAY,
        vec![packed],
        Event::Transact {
            action: Action::Add,
            documents: vec![
                RefDoc {
                    kind: "po".to_owned(),
                    number: "杭州-PO-0088".to_owned(),
                },
                RefDoc {
                    kind: "desadv".to_owned(),
                    number: "DA-0041".to_owned(),
                },
            ],
            lots: vec![LotAmount {
                lot: tins.clone(),
                quantity: Quantity::new(20, Unit::Piece),
            }],
            location: loc("杭州 湖滨 超市", Some(GLN)),
        },
    );
    b.push(
        "processor",
        T0 + 14 * DAY,
        vec![packed],
        Event::Correct {
            record: packed,
            lots: vec![tins],
            reason: "incorrect_data".to_owned(),
            corrective: vec![],
        },
    );
    // Issue 16's records: the goji farm sprays a field, and issues a
    // compliance certificate (承诺达标合格证) for its lot on a lab's test.
    b.push(
        "goji_farm",
        T0 + 15 * DAY,
        vec![],
        Event::InputUse {
            product: "1.8% 阿维菌素乳油".to_owned(),
            ingredients: vec!["阿维菌素 abamectin".to_owned()],
            registration: Some("PD20080001".to_owned()),
            dose: Quantity::new(150, Unit::Millilitre),
            field: loc("靖远县 东湾镇 枸杞园 2号地", None),
            safety_interval_days: 14,
        },
    );
    b.push(
        "goji_farm",
        T0 + 30 * DAY,
        vec![inspect],
        Event::Certificate {
            lot: goji,
            quantity: Quantity::new(40_000, Unit::Gram),
            origin: "甘肃省白银市靖远县 东湾镇".to_owned(),
            contact: "0943-612 3456".to_owned(),
            basis: Basis::CommissionedTest,
            tests: vec![inspect],
            inputs: vec![],
        },
    );
    // The regulator records the processor's unified social credit code.
    b.push(
        "regulator",
        T0 + 31 * DAY,
        vec![enroll],
        Event::Identify {
            participant: public("processor"),
            uscc: "93330127MA2B0X1Q6M".to_owned(),
        },
    );
    b.vectors
}

// ---------------------------------------------------------------------------
// Rendering and reading the vector files.
// ---------------------------------------------------------------------------

const BLESS_HINT: &str =
    "TERROIR_BLESS=1 cargo test -p terroir-ledger-core --test golden -- --ignored bless";

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn header(title: &str) -> String {
    format!(
        "# Terroir golden vector: {title}\n\
         # Canonical encoding: bincode 2.0.1, fixed-width little-endian (docs/encoding.md).\n\
         # Generated by `{BLESS_HINT}`; do not edit by hand.\n"
    )
}

/// Every file the vector directory must hold, name → content.
fn expected_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();

    let mut keys = header("participant keys (each seed is one byte repeated 32 times)");
    for (name, byte) in CAST {
        keys += &format!(
            "{name}: seed {} public {}\n",
            hex(&[byte; 32]),
            SigningKey::from_seed(&[byte; 32]).public().to_hex()
        );
    }
    files.insert("keys.txt".to_owned(), keys);

    let g = genesis();
    let text = header("genesis") + &format!("genesis: {}\nid: {}\n", hex(&g.encode()), g.id());
    files.insert("00-genesis.txt".to_owned(), text);

    for v in vectors() {
        let r = &v.signed.record;
        let title = format!("{} signed by {} (seq {})", r.event.kind(), v.signer, r.seq);
        let text = header(&title)
            + &format!(
                "record: {}\nhash: {}\nsignature: {}\nsigned: {}\n",
                hex(&r.encode()),
                r.hash(),
                hex(&v.signed.signature.0),
                hex(&v.signed.encode()),
            );
        files.insert(format!("{}.txt", v.stem), text);
    }
    files
}

fn hex(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// `field: value` lines of a vector file (comments skipped).
fn fields(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_owned(), v.trim().to_owned()))
        .collect()
}

fn read_checked_in(name: &str) -> String {
    let path = vectors_dir().join(name);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden vector {}: {e}; generate it with `{BLESS_HINT}`",
            path.display()
        )
    });
    // A checkout that turned line ends into CRLF still holds the same vectors.
    text.replace("\r\n", "\n")
}

/// Compares field by field (naming the first difference), then the whole
/// file, so even a comment change is noticed.
fn assert_file_matches(name: &str, expected: &str) {
    let actual = read_checked_in(name);
    let (want, got) = (fields(expected), fields(&actual));
    for (field, value) in &want {
        assert_eq!(
            got.get(field),
            Some(value),
            "golden vector {name}: field `{field}` differs from the checked-in value \
             (the canonical encoding, hash or signature changed; if deliberate, run `{BLESS_HINT}`)"
        );
    }
    assert_eq!(
        actual, expected,
        "golden vector {name} differs from the checked-in file"
    );
}

// ---------------------------------------------------------------------------
// The golden tests.
// ---------------------------------------------------------------------------

/// Writes the vector files; a no-op unless `TERROIR_BLESS=1`.
#[test]
#[ignore = "regenerates tests/vectors; run with TERROIR_BLESS=1"]
fn bless() {
    if std::env::var("TERROIR_BLESS").as_deref() != Ok("1") {
        eprintln!("bless: TERROIR_BLESS is not 1; nothing written");
        return;
    }
    let dir = vectors_dir();
    fs::create_dir_all(&dir).unwrap();
    for entry in fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "txt") {
            fs::remove_file(path).unwrap();
        }
    }
    for (name, text) in expected_files() {
        fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn vector_directory_holds_exactly_the_expected_files() {
    let mut on_disk: Vec<String> = fs::read_dir(vectors_dir())
        .unwrap_or_else(|e| panic!("no tests/vectors directory ({e}); run `{BLESS_HINT}`"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".txt"))
        .collect();
    on_disk.sort();
    let expected: Vec<String> = expected_files().into_keys().collect();
    assert_eq!(on_disk, expected);
}

#[test]
fn every_vector_file_matches() {
    for (name, text) in expected_files() {
        assert_file_matches(&name, &text);
    }
}

#[test]
fn hash_and_signing_message_from_one_encoding_match_the_separate_ones() {
    for v in vectors() {
        let r = &v.signed.record;
        assert_eq!(
            r.hash_and_signing_message(),
            (r.hash(), r.signing_message()),
            "{}",
            v.stem
        );
    }
}

#[test]
fn there_is_one_vector_per_event_type() {
    let kinds: Vec<String> = vectors()
        .iter()
        .map(|v| v.signed.record.event.kind().to_string())
        .collect();
    assert_eq!(
        kinds,
        [
            "enroll",
            "harvest",
            "ship",
            "receive",
            "transform",
            "observe",
            "inspect",
            "certify",
            "recall",
            "sell",
            "revoke",
            "rotate_key",
            "assign_prefix",
            "authorise_packer",
            "harvest",
            "aggregate",
            "associate",
            "transact",
            "correct",
            "input_use",
            "certificate",
            "identify"
        ]
    );
    // The harvest keeping extras is version 3, the four kinds version 4
    // added are version 4; the others are version 2.
    let versions: Vec<u16> = vectors().iter().map(|v| v.signed.record.version).collect();
    assert_eq!(versions[14], RECORD_VERSION_EXTRAS);
    assert!(versions[15..].iter().all(|v| *v == RECORD_VERSION_EVENTS));
    assert!(versions[..14].iter().all(|v| *v == RECORD_VERSION));
}

#[test]
fn checked_in_genesis_decodes_and_hashes_to_its_id() {
    let f = fields(&read_checked_in("00-genesis.txt"));
    let bytes = hex::decode(&f["genesis"]).unwrap();
    let decoded = Genesis::decode(&bytes).unwrap();
    assert_eq!(decoded, genesis());
    assert_eq!(decoded.id().to_hex(), f["id"]);
    assert_eq!(Hash::of(&bytes).to_hex(), f["id"]);
    assert_eq!(decoded.encode(), bytes);
}

#[test]
fn checked_in_records_decode_verify_and_hash() {
    let network = genesis().id();
    for v in vectors() {
        let name = format!("{}.txt", v.stem);
        let f = fields(&read_checked_in(&name));
        let record_bytes = hex::decode(&f["record"]).unwrap();
        let signed_bytes = hex::decode(&f["signed"]).unwrap();
        let signature = hex::decode(&f["signature"]).unwrap();

        // Decoding the checked-in bytes gives back exactly the built value.
        let decoded = SignedRecord::decode(&signed_bytes).unwrap();
        assert_eq!(decoded, v.signed, "{name}");
        assert_eq!(decoded.encode(), signed_bytes, "{name}");

        // A signed record is the record's bytes followed by the raw
        // 64-byte signature: no length prefix, no tag.
        assert_eq!(signed_bytes.len(), record_bytes.len() + 64, "{name}");
        assert_eq!(
            signed_bytes[..record_bytes.len()],
            record_bytes[..],
            "{name}"
        );
        assert_eq!(signed_bytes[record_bytes.len()..], signature[..], "{name}");

        // The hash is SHA-256 of the record bytes (no signature).
        assert_eq!(Hash::of(&record_bytes).to_hex(), f["hash"], "{name}");
        assert_eq!(decoded.hash().to_hex(), f["hash"], "{name}");

        // The signature is over tag ‖ network id ‖ record bytes.
        let mut msg = RECORD_SIGNING_TAG.to_vec();
        msg.extend_from_slice(&network.0);
        msg.extend_from_slice(&record_bytes);
        assert_eq!(decoded.record.signing_message(), msg, "{name}");
        assert_eq!(decoded.verify_signature(), Ok(()), "{name}");
        // … and over nothing else: not the bare record bytes.
        assert!(
            key::verify(&decoded.record.author, &record_bytes, &decoded.signature).is_err(),
            "{name}"
        );
        // ed25519 signing is deterministic, so re-signing reproduces it.
        assert_eq!(
            v.signed.record.clone().sign(&signer(v.signer)).signature.0[..],
            signature[..],
            "{name}"
        );
    }
}

#[test]
fn checked_in_public_keys_match_seeds() {
    let f = fields(&read_checked_in("keys.txt"));
    for (name, byte) in CAST {
        let line = &f[name];
        let public = line.rsplit(' ').next().unwrap();
        assert_eq!(
            public,
            SigningKey::from_seed(&[byte; 32]).public().to_hex(),
            "{name}"
        );
        assert_eq!(public.len(), 64);
    }
}

#[test]
fn gs1_identifiers_in_the_vectors_are_valid() {
    ledger_core::gs1::check_gtin(GTIN).unwrap();
    ledger_core::gs1::check_gln(GLN).unwrap();
}

// ---------------------------------------------------------------------------
// The layout, checked byte by byte against what docs/encoding.md says.
// ---------------------------------------------------------------------------

/// Reads a record's bytes front to back, asserting each field's encoding.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Cursor { bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> &'a [u8] {
        let out = &self.bytes[self.at..self.at + n];
        self.at += n;
        out
    }
    fn u8(&mut self) -> u8 {
        self.take(1)[0]
    }
    fn u16(&mut self) -> u16 {
        u16::from_le_bytes(self.take(2).try_into().unwrap())
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.take(4).try_into().unwrap())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.take(8).try_into().unwrap())
    }
    fn array32(&mut self) -> [u8; 32] {
        self.take(32).try_into().unwrap()
    }
    /// A string: u64 LE byte length, then UTF-8 bytes.
    fn string(&mut self) -> String {
        let len = usize::try_from(self.u64()).unwrap();
        String::from_utf8(self.take(len).to_vec()).unwrap()
    }
    fn option_tag(&mut self) -> bool {
        match self.u8() {
            0 => false,
            1 => true,
            t => panic!("option tag {t}"),
        }
    }
    fn opt_string(&mut self) -> Option<String> {
        self.option_tag().then(|| self.string())
    }
    fn lot(&mut self) -> (PublicKey, String) {
        (PublicKey(self.array32()), self.string())
    }
    fn done(&self) {
        assert_eq!(self.at, self.bytes.len(), "bytes left over");
    }
}

fn vector(stem_suffix: &str) -> Vector {
    vectors()
        .into_iter()
        .find(|v| v.stem.ends_with(stem_suffix))
        .unwrap()
}

#[test]
fn genesis_layout_by_hand() {
    let g = genesis();
    let bytes = g.encode();
    // The first bytes, literally: version 2 as u16 LE, then the name's
    // length (25 = four 3-byte CJK characters + " traceability") as u64 LE.
    assert_eq!(hex(&bytes[..10]), "02001900000000000000");
    let mut c = Cursor::new(&bytes);
    assert_eq!(c.u16(), 2);
    assert_eq!(c.string(), "千岛湖茶 traceability");
    assert_eq!(c.u64(), 1, "authorities: u64 LE count");
    assert_eq!(PublicKey(c.array32()), public("regulator"));
    assert_eq!(c.string(), "淳安县市场监督管理局");
    assert_eq!(c.u16(), 1, "checkpoint_threshold: u16 LE");
    assert_eq!(c.u64(), T0, "created: u64 LE");
    // The profile: three Option<String>, each a tag byte then the string.
    assert_eq!(c.opt_string().as_deref(), Some("Asia/Shanghai"));
    assert_eq!(c.opt_string().as_deref(), Some("zh-CN"));
    assert_eq!(
        c.opt_string().as_deref(),
        Some("淳安县市场监督管理局 12315")
    );
    c.done();
}

/// The record header common to every event; returns the cursor at the
/// event's variant index.
fn walk_header<'a>(r: &Record, bytes: &'a [u8]) -> Cursor<'a> {
    let mut c = Cursor::new(bytes);
    assert_eq!(c.u16(), r.version);
    assert_eq!(Hash(c.array32()), r.network);
    assert_eq!(PublicKey(c.array32()), r.author);
    assert_eq!(c.u64(), r.seq);
    let prev = c.option_tag().then(|| Hash(c.array32()));
    assert_eq!(prev, r.prev);
    assert_eq!(c.u64(), r.time);
    let n = c.u64();
    let deps: Vec<Hash> = (0..n).map(|_| Hash(c.array32())).collect();
    assert_eq!(deps, r.deps);
    c
}

#[test]
fn revoke_record_layout_by_hand() {
    // The worked example of docs/encoding.md.
    let v = vector("revoke");
    let r = &v.signed.record;
    let bytes = r.encode();
    assert_eq!(
        bytes.len(),
        2 + 32 + 32 + 8 + 33 + 8 + 8 + 32 + 4 + 32 + 9 + 8 + 24
    );
    // Literal bytes at the fixed offsets.
    assert_eq!(hex(&bytes[0..2]), "0200", "version 2, u16 LE");
    assert_eq!(hex(&bytes[66..74]), "0300000000000000", "seq 3, u64 LE");
    assert_eq!(bytes[74], 1, "prev: Some tag");
    assert_eq!(
        hex(&bytes[107..115]),
        hex(&(T0 + 7 * DAY).to_le_bytes()),
        "time"
    );
    assert_eq!(hex(&bytes[115..123]), "0100000000000000", "one dep");
    assert_eq!(
        hex(&bytes[155..159]),
        "0a000000",
        "Event::Revoke = 10, u32 LE"
    );
    assert_eq!(
        hex(&bytes[191..200]),
        "010000000000000000",
        "last_trusted_seq: Some(0)"
    );
    assert_eq!(
        hex(&bytes[200..208]),
        "1800000000000000",
        "reason: 24 bytes"
    );

    let mut c = walk_header(r, &bytes);
    assert_eq!(c.u32(), 10);
    assert_eq!(PublicKey(c.array32()), public("logistics"));
    assert!(c.option_tag());
    assert_eq!(c.u64(), 0);
    assert_eq!(c.string(), "设备丢失 device lost");
    c.done();

    // The signed record appends the 64 signature bytes and nothing else.
    let signed = v.signed.encode();
    assert_eq!(signed.len(), bytes.len() + 64);
    assert_eq!(signed[bytes.len()..], v.signed.signature.0[..]);
}

#[test]
fn extras_record_layout_by_hand() {
    // Version 3: the event as in version 2, then the extras as an
    // Option (tag 01) of a struct holding one string.
    let v = vector("extras");
    let r = &v.signed.record;
    let bytes = r.encode();
    assert_eq!(hex(&bytes[0..2]), "0300", "version 3, u16 LE");
    let mut c = walk_header(r, &bytes);
    assert_eq!(c.u32(), 0, "Event::Harvest = 0");
    assert_eq!(c.string(), "JY-GQ-2024-08");
    assert_eq!(c.string(), "靖远枸杞 dried goji");
    assert_eq!(c.opt_string(), None, "no GTIN");
    assert_eq!(c.u64(), 40_000);
    assert_eq!(c.u32(), 0, "Unit::Gram = 0");
    assert_eq!(c.string(), "靖远县 东湾镇");
    assert_eq!(c.opt_string(), None, "no GLN");
    assert!(!c.option_tag(), "no reference");
    assert!(c.option_tag(), "extras: Some");
    assert_eq!(Some(c.string()), r.extras.as_ref().map(|x| x.epcis.clone()));
    c.done();

    // The same record as version 2 is the same bytes without the tail,
    // so records without extras hash as they always did.
    let mut plain = r.clone();
    plain.version = RECORD_VERSION;
    plain.extras = None;
    let short = plain.encode();
    assert_eq!(short[2..], bytes[2..short.len()]);
}

#[test]
fn observe_record_layout_by_hand() {
    // Nested Vec of structs, a C-like enum inside a struct and negative i64.
    let v = vector("observe");
    let r = &v.signed.record;
    let bytes = r.encode();
    let mut c = walk_header(r, &bytes);
    assert_eq!(r.prev, None);
    assert_eq!(bytes[74], 0, "prev: None is the single byte 00");
    assert_eq!(c.u32(), 4, "Event::Observe = 4");
    assert_eq!(c.lot(), (public("processor"), "QDH-P-0001".to_owned()));
    assert_eq!(c.string(), "杭州 冷库 2号");
    assert_eq!(c.opt_string(), None);
    assert_eq!(c.u64(), 3, "three readings");
    let mut kinds = Vec::new();
    let mut values = Vec::new();
    for _ in 0..3 {
        let _time = c.u64();
        kinds.push(c.u32());
        values.push(c.i64());
        let (_min, _max) = (c.i64(), c.i64());
    }
    c.done();
    assert_eq!(kinds, [0, 1, 0], "Temperature = 0, Humidity = 1, u32 LE");
    assert_eq!(values, [4_500, 58_000, -1_250]);
    // -1250 is two's complement little endian.
    let needle = (-1_250i64).to_le_bytes();
    assert_eq!(hex(&needle), "1efbffffffffffff");
    assert!(bytes.windows(8).any(|w| w == needle));
}

#[test]
fn transform_record_layout_by_hand() {
    let v = vector("transform");
    let r = &v.signed.record;
    let bytes = r.encode();
    let mut c = walk_header(r, &bytes);
    assert_eq!(c.u32(), 1, "Event::Transform = 1");
    assert_eq!(
        c.string(),
        "杀青 揉捻 烘干 装罐 (kill-green, roll, dry, tin)"
    );
    assert_eq!(c.u64(), 2, "two inputs");
    assert_eq!(c.lot(), (public("farm"), "QDH-2024-0501-A".to_owned()));
    assert_eq!((c.u64(), c.u32()), (249_500, 0), "249500 Gram");
    assert_eq!(c.lot(), (public("goji_farm"), "JY-GQ-2024-07".to_owned()));
    assert_eq!((c.u64(), c.u32()), (20_000, 0));
    assert_eq!(c.u64(), 1, "one output");
    assert_eq!(c.string(), "QDH-P-0001");
    assert_eq!(c.string(), "千岛湖茶·靖远枸杞 绿茶 250 g tin");
    assert_eq!(c.opt_string().as_deref(), Some(GTIN));
    assert_eq!((c.u64(), c.u32()), (280, 2), "280 Piece");
    assert_eq!(c.u64(), 0, "loss");
    assert_eq!(c.string(), "千岛湖茶厂");
    assert_eq!(c.opt_string().as_deref(), Some(GLN));
    assert!(c.option_tag(), "reference: Some");
    assert_eq!(c.string(), "batch sheet");
    assert_eq!(c.string(), "PB-0001");
    c.done();
}

#[test]
fn event_variant_index_of_every_vector() {
    for (i, v) in vectors().iter().enumerate() {
        let r = &v.signed.record;
        let bytes = r.encode();
        let at =
            2 + 32 + 32 + 8 + if r.prev.is_some() { 33 } else { 1 } + 8 + 8 + 32 * r.deps.len();
        let index = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let expected = match r.event {
            Event::Harvest { .. } => 0,
            Event::Transform { .. } => 1,
            Event::Ship { .. } => 2,
            Event::Receive { .. } => 3,
            Event::Observe { .. } => 4,
            Event::Inspect { .. } => 5,
            Event::Certify { .. } => 6,
            Event::Recall { .. } => 7,
            Event::Sell { .. } => 8,
            Event::Enroll { .. } => 9,
            Event::Revoke { .. } => 10,
            Event::RotateKey { .. } => 11,
            Event::AssignPrefix { .. } => 12,
            Event::AuthorisePacker { .. } => 13,
            Event::Aggregate { .. } => 14,
            Event::Associate { .. } => 15,
            Event::Transact { .. } => 16,
            Event::Correct { .. } => 17,
            Event::InputUse { .. } => 18,
            Event::Certificate { .. } => 19,
            Event::Identify { .. } => 20,
        };
        assert_eq!(index, expected, "vector {i} ({})", v.stem);
    }
}

#[test]
fn enum_variant_indexes_are_u32_le_in_declaration_order() {
    let idx = |bytes: Vec<u8>| -> u32 {
        assert_eq!(bytes.len(), 4);
        u32::from_le_bytes(bytes.try_into().unwrap())
    };
    let roles: Vec<u32> = Role::ALL.iter().map(|r| idx(encoding::encode(r))).collect();
    assert_eq!(roles, [0, 1, 2, 3, 4, 5]);
    assert_eq!(Role::ALL[4], Role::Regulator);
    let units: Vec<u32> = Unit::ALL.iter().map(|u| idx(encoding::encode(u))).collect();
    assert_eq!(units, [0, 1, 2, 3, 4, 5]);
    assert_eq!(Unit::ALL[2], Unit::Piece);
    assert_eq!(idx(encoding::encode(&SensorKind::Temperature)), 0);
    assert_eq!(idx(encoding::encode(&SensorKind::Humidity)), 1);
    assert_eq!(idx(encoding::encode(&Verdict::Pass)), 0);
    assert_eq!(idx(encoding::encode(&Verdict::Fail)), 1);
}

#[test]
fn primitive_encodings() {
    assert_eq!(encoding::encode(&0x0102u16), [0x02, 0x01]);
    assert_eq!(encoding::encode(&1u64), [1, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        encoding::encode(&-2i64),
        [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    );
    assert_eq!(encoding::encode(&true), [1]);
    assert_eq!(encoding::encode(&false), [0]);
    assert_eq!(encoding::encode(&None::<u64>), [0]);
    assert_eq!(encoding::encode(&Some(7u64)), [1, 7, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(
        encoding::encode(&"茶".to_owned()),
        [3, 0, 0, 0, 0, 0, 0, 0, 0xe8, 0x8c, 0xb6]
    );
    assert_eq!(
        encoding::encode(&vec![1u16, 2]),
        [2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 2, 0]
    );
    assert_eq!(
        encoding::encode(&[7u8; 32]),
        [7u8; 32],
        "fixed arrays: no prefix"
    );
    assert_eq!(encoding::encode(&Hash([9; 32])), [9u8; 32]);
}

// ---------------------------------------------------------------------------
// Decoding rejections.
// ---------------------------------------------------------------------------

fn signed_bytes(stem_suffix: &str) -> Vec<u8> {
    vector(stem_suffix).signed.encode()
}

#[test]
fn trailing_bytes_are_refused() {
    let mut bytes = signed_bytes("revoke");
    bytes.push(0);
    assert_eq!(
        SignedRecord::decode(&bytes),
        Err(DecodeError::TrailingBytes {
            what: "signed record",
            extra: 1
        })
    );
    // A whole second record appended is trailing bytes too.
    let mut two = signed_bytes("revoke");
    let extra = signed_bytes("sell");
    two.extend_from_slice(&extra);
    assert_eq!(
        SignedRecord::decode(&two),
        Err(DecodeError::TrailingBytes {
            what: "signed record",
            extra: extra.len()
        })
    );
}

#[test]
fn every_truncation_is_malformed() {
    for v in vectors() {
        let bytes = v.signed.encode();
        for len in 0..bytes.len() {
            match SignedRecord::decode(&bytes[..len]) {
                Err(DecodeError::Malformed { .. }) => {}
                other => panic!("{} cut to {len} bytes: {other:?}", v.stem),
            }
        }
    }
}

#[test]
fn oversized_input_is_refused_before_decoding() {
    let bytes = vec![0u8; MAX_RECORD_BYTES + 1];
    assert_eq!(
        SignedRecord::decode(&bytes),
        Err(DecodeError::TooLarge {
            what: "signed record",
            len: MAX_RECORD_BYTES + 1,
            max: MAX_RECORD_BYTES
        })
    );
    // A valid record padded to just over the limit is refused the same way.
    let mut padded = signed_bytes("transform");
    padded.resize(MAX_RECORD_BYTES + 1, 0);
    assert!(matches!(
        SignedRecord::decode(&padded),
        Err(DecodeError::TooLarge { .. })
    ));
}

fn assert_malformed(bytes: &[u8], what: &str) {
    match SignedRecord::decode(bytes) {
        Err(DecodeError::Malformed { .. }) => {}
        other => panic!("{what}: expected Malformed, got {other:?}"),
    }
}

#[test]
fn option_tag_other_than_0_or_1_is_malformed() {
    // The revoke record: `prev` tag at offset 74 (Some).
    let good = signed_bytes("revoke");
    assert_eq!(good[74], 1);
    for tag in [2u8, 3, 0x80, 0xff] {
        let mut bad = good.clone();
        bad[74] = tag;
        assert_malformed(&bad, &format!("prev tag {tag}"));
    }
    // last_trusted_seq tag at offset 191.
    let mut bad = good.clone();
    assert_eq!(bad[191], 1);
    bad[191] = 2;
    assert_malformed(&bad, "last_trusted_seq tag 2");
}

#[test]
fn invalid_enum_indexes_are_malformed() {
    // Event variant index (Revoke = 10 at offset 155): 14 is one past
    // AuthorisePacker.
    let good = signed_bytes("revoke");
    for index in [14u32, 15, 0x100, u32::MAX] {
        let mut bad = good.clone();
        bad[155..159].copy_from_slice(&index.to_le_bytes());
        assert_malformed(&bad, &format!("event index {index}"));
    }
    // A Role index of 6 in the enroll record (the role follows the name).
    let enroll = vector("enroll");
    let bytes = enroll.signed.encode();
    let role_at = 2 + 32 + 32 + 8 + 1 + 8 + 8 + 4 + 32 + 8 + "千岛湖鸠坑茶叶专业合作社".len();
    assert_eq!(bytes[role_at..role_at + 4], [0, 0, 0, 0], "Role::Farm");
    let mut bad = bytes.clone();
    bad[role_at] = 6;
    assert_malformed(&bad, "role index 6");
    // A Verdict index of 2 in the inspect record.
    let inspect = vector("inspect");
    let bytes = inspect.signed.encode();
    let Event::Inspect { test, .. } = &inspect.signed.record.event else {
        unreachable!()
    };
    let verdict_at =
        2 + 32 + 32 + 8 + 1 + 8 + 8 + 2 * 32 + 4 + 32 + 8 + "JY-GQ-2024-07".len() + 8 + test.len();
    assert_eq!(
        bytes[verdict_at..verdict_at + 4],
        [1, 0, 0, 0],
        "Verdict::Fail"
    );
    let mut bad = bytes.clone();
    bad[verdict_at] = 2;
    assert_malformed(&bad, "verdict index 2");
}

#[test]
fn invalid_bool_is_malformed() {
    // No record field is a bool today; the canonical config still accepts
    // only 0 and 1 for one.
    assert_eq!(encoding::decode::<bool>(&[1], 1, "bool"), Ok(true));
    assert_eq!(encoding::decode::<bool>(&[0], 1, "bool"), Ok(false));
    for b in [2u8, 0xff] {
        assert!(matches!(
            encoding::decode::<bool>(&[b], 1, "bool"),
            Err(DecodeError::Malformed { .. })
        ));
    }
}

#[test]
fn invalid_utf8_is_malformed() {
    // The revoke reason starts at offset 208: "设" is e8 ae be.
    let mut bad = signed_bytes("revoke");
    assert_eq!(bad[208], 0xe8);
    bad[208] = 0xff;
    assert_malformed(&bad, "invalid UTF-8 in reason");
}

#[test]
fn forged_length_prefixes_are_errors_not_panics() {
    let good = signed_bytes("revoke");
    // deps count at 115, reason length at 200.
    for at in [115usize, 200] {
        for len in [
            u64::MAX,
            u64::MAX / 32 + 1,
            1 << 62,
            1 << 40,
            u64::from(u32::MAX) + 1,
            (4 * MAX_RECORD_BYTES) as u64 + 1,
            (4 * MAX_RECORD_BYTES) as u64,
            MAX_RECORD_BYTES as u64,
            good.len() as u64,
        ] {
            let mut bad = good.clone();
            bad[at..at + 8].copy_from_slice(&len.to_le_bytes());
            assert!(
                SignedRecord::decode(&bad).is_err(),
                "length {len} at offset {at} was accepted"
            );
        }
    }
    // A forged huge count for a Vec of structs (the transform's inputs).
    let transform = vector("transform");
    let bytes = transform.signed.encode();
    let process_at = 2 + 32 + 32 + 8 + 33 + 8 + 8 + 32 + 4;
    let process_len = u64::from_le_bytes(bytes[process_at..process_at + 8].try_into().unwrap());
    let inputs_at = process_at + 8 + usize::try_from(process_len).unwrap();
    assert_eq!(bytes[inputs_at..inputs_at + 8], 2u64.to_le_bytes());
    for len in [u64::MAX, 1 << 60, 1 << 32, 100_000] {
        let mut bad = bytes.clone();
        bad[inputs_at..inputs_at + 8].copy_from_slice(&len.to_le_bytes());
        assert!(SignedRecord::decode(&bad).is_err(), "inputs count {len}");
    }
}

#[test]
fn decoding_is_exactly_the_inverse_of_encoding() {
    for v in vectors() {
        let bytes = v.signed.encode();
        let back = SignedRecord::decode(&bytes).unwrap();
        assert_eq!(back, v.signed);
        assert_eq!(back.encode(), bytes);
    }
}

#[test]
fn docs_list_every_golden_hash() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/encoding.md");
    let doc =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let g = genesis();
    assert!(
        doc.contains(&g.id().to_hex()),
        "docs/encoding.md does not list the genesis id"
    );
    for v in vectors() {
        let hash = v.signed.record.hash().to_hex();
        assert!(
            doc.contains(&format!("`{}.txt`", v.stem)) && doc.contains(&hash),
            "docs/encoding.md does not list {} with hash {hash}",
            v.stem
        );
    }
}

/// The example checkpoint note in docs/encoding.md section 13 is what
/// this build writes: the golden genesis's regulator proposes, a made-up
/// log (the hashes of fixed words) at a fixed time, and the note is final
/// under that genesis. A change of the note's layout breaks this test
/// until the document shows the new layout.
#[test]
fn the_documented_checkpoint_note_is_what_this_build_writes() {
    use ledger_core::checkpoint::{cut_hash, key_name, Checkpoint, SignedCheckpoint};

    let g = genesis();
    let regulator = signer("regulator");
    let c = Checkpoint {
        network: g.id(),
        size: 25,
        root: Hash::of(b"log root"),
        height: 3,
        time: 1_715_126_400_000,
        map_size: 1,
        map_root: Hash::of(b"map root"),
        cut: cut_hash(&[Hash::of(b"tip")]),
        prev: Some(Hash::of(b"checkpoint 2")),
    };
    let signed = SignedCheckpoint::propose(c.clone(), &regulator);
    let note = signed.to_note();
    assert!(signed.is_final(&g));
    assert_eq!(SignedCheckpoint::from_note(note.as_bytes(), &g), Ok(signed));

    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/encoding.md"))
        .expect("docs/encoding.md");
    let example = doc
        .split("**Example.**")
        .nth(1)
        .and_then(|rest| rest.split("```text\n").nth(1))
        .and_then(|block| block.split("```").next())
        .expect("the example note in docs/encoding.md");
    assert_eq!(
        example, note,
        "docs/encoding.md's example note; this build writes:\n{note}"
    );
    let facts = [
        format!("The body is {} bytes", c.body().len()),
        c.hash().to_hex(),
        key_name(&regulator.public()),
    ];
    for fact in facts {
        assert!(doc.contains(&fact), "docs/encoding.md should say {fact:?}");
    }
}
