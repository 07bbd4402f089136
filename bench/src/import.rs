//! EPCIS import at scale (issue 15): one participant's `--events` records
//! exported as one EPCIS 2.0 document and imported into a fresh ledger as
//! that participant, against the ledger's own ingest of the same records.
//!
//! A farm (and the processor it ships to) is enrolled; the farm signs
//! `--events` records, in turn a harvest, a temperature observation of
//! that lot and a shipment of part of it to the processor. Those records
//! are exported with `terroir_standards::export` into one document, as
//! `terroir export epcis` writes it. Then, each on a fresh sled ledger
//! holding the genesis and the two enrollments, with the CLI's
//! `LedgerConfig::default()`:
//! - **ingest, one atomic batch**: `Ledger::ingest_atomic` of the farm's
//!   already-signed records, the operation an import ends with.
//! - **ingest, batches of 1,000**: `Ledger::ingest` of the same records,
//!   the ledger's ordinary ingest rate.
//! - **import**: `import::read` of the document's bytes (streaming, one
//!   event's `Value` at a time) and `apply::import` of what it mapped
//!   (lots matched, records signed, one `ingest_atomic`), wall-clock. The
//!   imported records must be the originals, hash for hash, or the bench
//!   fails.
//!
//! Also timed, not against the target: the same document parsed into one
//! `serde_json::Value` and mapped by `import::map_document` (the path the
//! XML binding takes), for its time beside the streaming reader's.
//!
//! Memory is measured in child processes (`terroir-bench import-child`),
//! so what the parent generated and freed does not count: one does what
//! `terroir import epcis` does (reads the file's bytes, opens a sled
//! ledger, reads the document streaming, imports it) and reports its
//! resident memory after each step and its peak (VmHWM; Linux only); the
//! other reads the bytes and maps them through one `Value`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{ensure, Context};
use serde::Serialize;

use ledger_core::author::Author;
use ledger_core::event::{Location, Product, Reading, SensorKind};
use ledger_core::genesis::{Authority, GENESIS_VERSION};
use ledger_core::ledger::Atomic;
use ledger_core::store::SledStore;
use ledger_core::workload::{key_for, T0};
use ledger_core::{
    Event, Genesis, Ledger, LedgerConfig, LotId, Outcome, Quantity, Role, SignedRecord, SigningKey,
    Unit,
};
use serde_json::Value;
use terroir_standards::export::{self, Item};
use terroir_standards::{apply, import};

use crate::primitives::Primitives;
use crate::report::{peak_rss_mib, reset_peak_rss};
use crate::targets::{Bound, Check, Target};

/// Events the target is stated for.
pub(crate) const TARGET_EVENTS: usize = 100_000;

/// Issue 15: an import runs at ≥ 0.5× the ledger's ingest rate.
pub(crate) const IMPORT_VS_INGEST: Target = Target {
    of: "",
    bound: Bound::AtLeast,
    limit: 0.5,
    unit: "×",
};

/// The ordinary ingest's batch size.
const BATCH: usize = 1_000;

#[derive(clap::Args, Clone)]
pub(crate) struct Args {
    /// Events in the imported document (records the farm signs).
    #[arg(long, default_value_t = TARGET_EVENTS)]
    pub events: usize,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Directory for the ledgers (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct ImportFigures {
    /// Events in the document (records the farm signed).
    pub events: usize,
    /// Cores this machine has (shared with whatever else runs).
    pub cores: usize,
    pub primitives: Primitives,
    /// The document: bytes, and bytes per event.
    pub document_bytes: usize,
    pub bytes_per_event: f64,
    /// `Ledger::ingest_atomic` of the signed records, one batch: s, /s.
    pub atomic_ingest_s: f64,
    pub atomic_ingest_per_s: f64,
    /// `Ledger::ingest` of the same records in batches of 1,000: s, /s.
    pub batched_ingest_s: f64,
    pub batched_ingest_per_s: f64,
    /// `import::read` (streaming) of the document's bytes, s.
    pub read_s: f64,
    /// `apply::import` of what it mapped: s, and how much of it was the
    /// ledger's commit (the `ingest_atomic` inside).
    pub apply_s: f64,
    pub apply_commit_s: f64,
    /// read + apply: s, events/s, ms per event.
    pub import_s: f64,
    pub import_per_s: f64,
    pub import_ms_per_event: f64,
    /// import rate ÷ the atomic ingest's, and ÷ the batched ingest's.
    pub import_vs_atomic: f64,
    pub import_vs_batched: f64,
    /// Import time per event ÷ one ZIP-215 verification.
    pub import_vs_verify: f64,
    /// Import time per event ÷ one sled insert flushed on its own.
    pub import_vs_sled_flush: f64,
    /// The imported records are the farm's originals, hash for hash.
    pub same_records: bool,
    /// `serde_json::from_slice::<Value>` + `import::map_document`, s.
    pub value_path_s: f64,
    /// Memory of a process importing the document as the CLI does.
    pub memory: Memory,
    /// Peak memory of a process mapping it through one `Value`, MiB.
    pub value_path_peak_mib: f64,
    /// The import's rate ÷ the batched ingest's, against issue 15's target
    /// (the stricter of the two ratios).
    pub target: Check,
}

/// Resident memory of the importing child process, MiB.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub(crate) struct Memory {
    /// Resident after starting.
    pub start_mib: f64,
    /// Resident after reading the file's bytes.
    pub bytes_mib: f64,
    /// Resident after opening the ledger.
    pub opened_mib: f64,
    /// Peak during `import::read`, and resident after it once the bytes
    /// are dropped, as the CLI drops them (the mapped events held).
    pub read_peak_mib: f64,
    pub mapped_mib: f64,
    /// Peak during `apply::import`: the process's peak.
    pub apply_peak_mib: f64,
}

#[derive(clap::Args, Clone)]
pub(crate) struct ChildArgs {
    /// The document.
    #[arg(long)]
    doc: PathBuf,
    /// The ledger to import it into as the farm; without one, map the
    /// document through one `Value` and report only the peak.
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// The clock, ms since epoch.
    #[arg(long)]
    now: u64,
}

/// The child: does one import, prints its [`Memory`] as JSON.
pub(crate) fn child(args: &ChildArgs) -> anyhow::Result<()> {
    let mut m = Memory {
        start_mib: rss_mib(),
        ..Memory::default()
    };
    let bytes = std::fs::read(&args.doc)?;
    m.bytes_mib = rss_mib();
    let Some(dir) = &args.ledger else {
        reset_peak_rss();
        let value: Value = serde_json::from_slice(&bytes)?;
        let mapped = import::map_document(&value)?;
        m.apply_peak_mib = peak_rss_mib();
        std::hint::black_box(mapped);
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    };
    let mut l = Ledger::open(SledStore::open(dir)?, LedgerConfig::default())?;
    m.opened_mib = rss_mib();
    reset_peak_rss();
    let mapped = import::read(&bytes)?;
    m.read_peak_mib = peak_rss_mib();
    // As the CLI does: the bytes are not needed once mapped.
    drop(bytes);
    m.mapped_mib = rss_mib();
    reset_peak_rss();
    let report = apply::import(&mut l, &key_for("farm", 0), &mapped, true, args.now)?;
    m.apply_peak_mib = peak_rss_mib();
    ensure!(
        report.imported.len() == mapped.len(),
        "the child's import skipped events"
    );
    l.close()?;
    println!("{}", serde_json::to_string(&m)?);
    Ok(())
}

/// Runs `terroir-bench import-child` and reads the memory it reports.
fn child_memory(doc: &Path, ledger: Option<&Path>, now: u64) -> anyhow::Result<Memory> {
    let exe = std::env::current_exe().context("locating terroir-bench")?;
    let mut cmd = Command::new(exe);
    cmd.arg("import-child")
        .arg("--doc")
        .arg(doc)
        .arg("--now")
        .arg(now.to_string());
    if let Some(l) = ledger {
        cmd.arg("--ledger").arg(l);
    }
    let out = cmd.output().context("running import-child")?;
    ensure!(
        out.status.success(),
        "import-child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn place(s: &str) -> Location {
    Location {
        description: s.into(),
        gln: None,
    }
}

/// The genesis, the two enrollments, the farm's key and its `events`
/// records: harvest, observation, shipment, harvest …
fn generate(events: usize) -> (Genesis, Vec<SignedRecord>, SigningKey, Vec<SignedRecord>) {
    let regulator_key = key_for("regulator", 0);
    let genesis = Genesis {
        version: GENESIS_VERSION,
        network: "terroir import bench".into(),
        authorities: vec![Authority {
            key: regulator_key.public(),
            name: "County Agriculture Bureau".into(),
        }],
        checkpoint_threshold: 1,
        created: T0,
        profile: Default::default(),
    };
    let mut regulator = Author::new(regulator_key, genesis.id());
    let farm_key = key_for("farm", 0);
    let processor = key_for("processor", 0).public();
    let enroll = |r: &mut Author, t: u64, key, name: &str, role| {
        r.sign(
            t,
            vec![],
            Event::Enroll {
                participant: key,
                name: name.into(),
                role,
                location: place("Chun'an County 淳安县"),
            },
        )
    };
    let enroll_farm = enroll(
        &mut regulator,
        T0 + 1_000,
        farm_key.public(),
        "Qiandao Lake tea garden",
        Role::Farm,
    );
    let enrollments = vec![
        enroll_farm.clone(),
        enroll(
            &mut regulator,
            T0 + 2_000,
            processor,
            "Chun'an tea works",
            Role::Processor,
        ),
    ];
    let mut farm = Author::new(SigningKey::from_seed(&farm_key.seed()), genesis.id());
    let mut records = Vec::with_capacity(events);
    let leaves = Product {
        description: "green tea leaves, first flush".into(),
        gtin: None,
    };
    for i in 0..events {
        let time = T0 + 10_000 + 1_000 * i as u64;
        let n = i / 3;
        let lot = LotId {
            source: farm_key.public(),
            code: format!("QDH-{n:06}"),
        };
        let (deps, event) = match i % 3 {
            0 => (
                if i == 0 {
                    vec![enroll_farm.hash()]
                } else {
                    vec![]
                },
                Event::Harvest {
                    lot_code: lot.code.clone(),
                    product: leaves.clone(),
                    quantity: Quantity::new(120_000 + (n as u64 % 50) * 500, Unit::Gram),
                    location: place(&format!("terrace {}", n % 12)),
                    reference: None,
                },
            ),
            1 => (
                vec![],
                Event::Observe {
                    lot,
                    location: place("withering shed"),
                    readings: vec![Reading {
                        time: time - 500,
                        kind: SensorKind::Temperature,
                        value: 18_000 + (n as i64 % 9) * 250,
                        min: 5_000,
                        max: 30_000,
                    }],
                },
            ),
            _ => (
                vec![],
                Event::Ship {
                    lot,
                    quantity: Quantity::new(100_000, Unit::Gram),
                    to: processor,
                    from: place("farm gate"),
                    destination: place("Chun'an tea works"),
                    reference: None,
                },
            ),
        };
        records.push(farm.sign(time, deps, event));
    }
    (genesis, enrollments, farm_key, records)
}

/// A fresh sled ledger in `dir` holding the genesis and the enrollments.
fn fresh(
    dir: &std::path::Path,
    genesis: &Genesis,
    enrollments: &[SignedRecord],
    now: u64,
) -> anyhow::Result<Ledger<SledStore>> {
    let mut l = Ledger::create(
        SledStore::open(dir)?,
        genesis.clone(),
        LedgerConfig::default(),
    )?;
    let r = l.ingest(enrollments.to_vec(), now)?;
    ensure!(
        r.outcomes
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Accepted)),
        "the enrollments were not accepted: {:?}",
        r.outcomes
    );
    Ok(l)
}

/// Current resident memory in MiB (VmRSS), or 0 where unknown.
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    let (_tmp, dir) = crate::work_dir(args.dir.as_deref())?;
    eprintln!("measuring primitives …");
    let primitives = crate::primitives::measure(&dir.join("raw-sled"))?;
    let figures = measure(args.events, primitives, &dir)?;
    print!("{}", figures.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&figures)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

fn measure(
    events: usize,
    primitives: Primitives,
    dir: &std::path::Path,
) -> anyhow::Result<ImportFigures> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    eprintln!("generating {events} records …");
    let (genesis, enrollments, farm_key, records) = generate(events);
    let now = records.last().map_or(T0, |r| r.record.time) + 60_000;

    eprintln!("exporting them as one EPCIS document …");
    let hashes: Vec<_> = records.iter().map(SignedRecord::hash).collect();
    let bytes = {
        let items: Vec<Item<'_>> = records
            .iter()
            .zip(&hashes)
            .map(|(record, hash)| Item {
                hash: *hash,
                record,
            })
            .collect();
        let leaves = Product {
            description: "green tea leaves, first flush".into(),
            gtin: None,
        };
        let exported = export::export(
            &items,
            now,
            &export::Lookup {
                product: &|_| Some(leaves.clone()),
                record: &|_| None,
            },
        );
        ensure!(
            exported.events == events,
            "the export holds {} events",
            exported.events
        );
        serde_json::to_vec(&exported.document)?
    };

    eprintln!("ingesting the signed records as one atomic batch …");
    let mut l = fresh(&dir.join("atomic"), &genesis, &enrollments, now)?;
    let t = Instant::now();
    let committed = matches!(l.ingest_atomic(records.clone(), now)?, Atomic::Committed(_));
    let atomic_ingest_s = t.elapsed().as_secs_f64();
    ensure!(committed, "the ledger refused its own records as one batch");
    l.close()?;

    eprintln!("ingesting them in batches of {BATCH} …");
    let mut l = fresh(&dir.join("batched"), &genesis, &enrollments, now)?;
    let mut batched_ingest_s = 0.0;
    for chunk in records.chunks(BATCH) {
        let chunk = chunk.to_vec();
        let t = Instant::now();
        let r = l.ingest(chunk, now)?;
        batched_ingest_s += t.elapsed().as_secs_f64();
        ensure!(
            r.outcomes
                .iter()
                .all(|(_, o)| matches!(o, Outcome::Accepted)),
            "the ledger refused some of its own records"
        );
    }
    l.close()?;
    drop(records);

    eprintln!("importing the document ({} bytes) …", bytes.len());
    let mut l = fresh(&dir.join("import"), &genesis, &enrollments, now)?;
    let t = Instant::now();
    let mapped = import::read(&bytes)?;
    let read_s = t.elapsed().as_secs_f64();
    let mut commit_started = None;
    let t = Instant::now();
    let report = apply::import_with_progress(
        &mut l,
        &farm_key,
        &mapped,
        true,
        now,
        &mut |stage, done, _| {
            if stage == apply::Stage::Committing && done == 0 {
                commit_started = Some(Instant::now());
            }
        },
    )?;
    let apply_s = t.elapsed().as_secs_f64();
    let apply_commit_s = commit_started.map_or(0.0, |c| c.elapsed().as_secs_f64());
    l.close()?;
    ensure!(
        report.imported.len() == events && report.skipped.is_empty(),
        "imported {}, skipped {} (first: {:?})",
        report.imported.len(),
        report.skipped.len(),
        report.skipped.first()
    );
    let same_records = report
        .imported
        .iter()
        .zip(&hashes)
        .all(|((_, h, _), o)| h == o);
    ensure!(
        same_records,
        "the imported records are not the farm's originals"
    );
    drop(mapped);

    eprintln!("the same document through one serde_json::Value …");
    let t = Instant::now();
    let value: Value = serde_json::from_slice(&bytes)?;
    let by_value = import::map_document(&value)?;
    let value_path_s = t.elapsed().as_secs_f64();
    ensure!(
        by_value.len() == events,
        "map_document mapped {}",
        by_value.len()
    );
    drop((value, by_value));

    eprintln!("memory: the import, and the Value path, each in a child process …");
    let doc = dir.join("document.jsonld");
    std::fs::write(&doc, &bytes)?;
    let child_dir = dir.join("child-import");
    fresh(&child_dir, &genesis, &enrollments, now)?.close()?;
    let memory = child_memory(&doc, Some(&child_dir), now)?;
    let value_path_peak_mib = child_memory(&doc, None, now)?.apply_peak_mib;

    let n = events.max(1) as f64;
    let import_s = read_s + apply_s;
    let per_event_s = import_s / n;
    let import_per_s = n / import_s.max(1e-9);
    let atomic_ingest_per_s = n / atomic_ingest_s.max(1e-9);
    let batched_ingest_per_s = n / batched_ingest_s.max(1e-9);
    let import_vs_batched = import_per_s / batched_ingest_per_s;
    Ok(ImportFigures {
        events,
        cores,
        document_bytes: bytes.len(),
        bytes_per_event: bytes.len() as f64 / n,
        atomic_ingest_s,
        atomic_ingest_per_s,
        batched_ingest_s,
        batched_ingest_per_s,
        read_s,
        apply_s,
        apply_commit_s,
        import_s,
        import_per_s,
        import_ms_per_event: per_event_s * 1e3,
        import_vs_atomic: import_per_s / atomic_ingest_per_s,
        import_vs_batched,
        import_vs_verify: per_event_s * primitives.verify_zip215,
        import_vs_sled_flush: per_event_s * primitives.sled_flush_each,
        same_records,
        memory,
        value_path_s,
        value_path_peak_mib,
        target: IMPORT_VS_INGEST.check(import_vs_batched.min(import_per_s / atomic_ingest_per_s)),
        primitives,
    })
}

impl ImportFigures {
    pub(crate) fn table(&self) -> String {
        use std::fmt::Write;
        let p = &self.primitives;
        let mut table = crate::report::Table::new("target");
        let mut row = |name: &str, value: String, target: Option<&Check>, note: String| {
            table.row(name, &value, target, &note)
        };
        row(
            "ed25519 verify (ZIP-215)",
            format!("{:.0}/s", p.verify_zip215),
            None,
            "primitive, one at a time".into(),
        );
        row(
            "sled insert, flush each",
            format!("{:.0}/s", p.sled_flush_each),
            None,
            "primitive".into(),
        );
        row(
            "sled insert, flush per 1,000",
            format!("{:.0}/s", p.sled_group_commit),
            None,
            "primitive".into(),
        );
        row(
            "the document",
            format!("{:.1} MB", self.document_bytes as f64 / 1e6),
            None,
            format!(
                "{} events, {:.0} B per event; harvests, observations, shipments",
                self.events, self.bytes_per_event
            ),
        );
        row(
            "ingest, one atomic batch",
            format!("{:.0}/s", self.atomic_ingest_per_s),
            None,
            format!(
                "ingest_atomic of the {} signed records in {:.2} s",
                self.events, self.atomic_ingest_s
            ),
        );
        row(
            &format!("ingest, batches of {BATCH}"),
            format!("{:.0}/s", self.batched_ingest_per_s),
            None,
            format!("the same records in {:.2} s", self.batched_ingest_s),
        );
        row(
            "import (read + sign + one atomic commit)",
            format!("{:.0}/s", self.import_per_s),
            None,
            format!(
                "{:.2} s: read {:.2} s, match and sign {:.2} s, commit {:.2} s; {:.3} ms per event",
                self.import_s,
                self.read_s,
                self.apply_s - self.apply_commit_s,
                self.apply_commit_s,
                self.import_ms_per_event
            ),
        );
        row(
            "import ÷ ingest",
            format!("{:.2}×", self.import_vs_batched.min(self.import_vs_atomic)),
            Some(&self.target),
            format!(
                "{:.2}× the batched ingest, {:.2}× the atomic one",
                self.import_vs_batched, self.import_vs_atomic
            ),
        );
        row(
            "import per event ÷ primitives",
            format!("{:.1}× verify", self.import_vs_verify),
            None,
            format!(
                "{:.3}× a sled insert flushed on its own",
                self.import_vs_sled_flush
            ),
        );
        let m = &self.memory;
        row(
            "peak memory of an import process",
            format!("{:.0} MiB", m.apply_peak_mib.max(m.read_peak_mib)),
            None,
            format!(
                "started {:.0}, the bytes read {:.0}, ledger open {:.0}, read peak {:.0}, \
                 mapped (bytes dropped) {:.0}, apply peak {:.0} MiB",
                m.start_mib,
                m.bytes_mib,
                m.opened_mib,
                m.read_peak_mib,
                m.mapped_mib,
                m.apply_peak_mib
            ),
        );
        row(
            "peak memory, one Value + map_document",
            format!("{:.0} MiB", self.value_path_peak_mib),
            None,
            format!(
                "the bytes and one Value tree; {:.2} s (XML's path; for comparison)",
                self.value_path_s
            ),
        );
        let mut t = table.into_string();
        let _ = writeln!(
            t,
            "\nimported records are the originals, hash for hash: {}; {} cores (shared)",
            if self.same_records { "yes" } else { "no" },
            self.cores
        );
        let _ = writeln!(
            t,
            "target: {}",
            if self.target.pass { "pass" } else { "FAIL" }
        );
        t
    }
}
