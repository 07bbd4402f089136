//! Checkpoints: what an authority node pays to extend the transparency
//! log while it ingests, how fast the log's proofs are served once it
//! holds a million records, and how many bytes of proof a bundle needs.
//!
//! The workload is ingested into a durable sled ledger in batches of
//! [`GROUP_COMMIT`], with the regulator recalling one harvest lot in 200
//! (the recall interleaved in the stream, so the status map is not empty
//! and its downstream propagation runs). Every `every` records, one full
//! checkpoint cycle runs as a proposer does it with k = 3 authorities:
//! the unlogged tips, the extension, a second
//! extension of the same tips (a cosigner's check: every node recomputes
//! once), the proposal, two cosignatures, the note read back and its
//! three signatures verified, and the apply (tree rows, leaf indexes,
//! map versions, flushed).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;

use ledger_core::author::Author;
use ledger_core::checkpoint::{key_name, SignatureKind, SignedCheckpoint};
use ledger_core::ledger::{Applied, Ledger, LedgerConfig};
use ledger_core::merkle;
use ledger_core::store::SledStore;
use ledger_core::tlog::map::lot_key;
use ledger_core::tlog::record_leaf;
use ledger_core::workload::key_for;
use ledger_core::{bundle, key, Event, Hash, LotId, Reader, SignedRecord, SigningKey};

use crate::ingest::{self, Mode, Prepared, GROUP_COMMIT, NOW};
use crate::primitives::Primitives;
use crate::queries::{latency, Latency, Pick};
use crate::targets::{self, Check};

/// Records between checkpoints by default: a busy county's 10-second
/// interval.
pub(crate) const EVERY: usize = 10_000;

/// One harvest lot in this many is recalled by the regulator (0.5 %).
pub(crate) const RECALL_ONE_IN: usize = 200;

/// Cosigners besides the proposer (k = 3).
const COSIGNERS: usize = 2;

#[derive(clap::Args, Clone)]
pub(crate) struct Args {
    /// Records in the generated workload.
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    /// Records ingested between two checkpoints.
    #[arg(long, default_value_t = EVERY)]
    pub every: usize,
    /// Proof samples per latency figure.
    #[arg(long, default_value_t = 10_000)]
    pub samples: usize,
    /// Write the figures as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Directory for the ledger (default: a temporary directory).
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

/// One checkpoint cycle, its parts timed (ms).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Cycle {
    pub height: u64,
    /// Log size after it.
    pub size: u64,
    /// Records it appended.
    pub records: u64,
    pub tips: usize,
    pub map_size: u64,
    /// `unlogged_tips`: the tips of what is not logged yet (kept in memory).
    pub tips_ms: f64,
    /// The proposer's `extend_log`.
    pub extend_ms: f64,
    /// A cosigner's `extend_log` of the same tips.
    pub cosigner_extend_ms: f64,
    /// Propose, two cosignatures, the note written, read back with
    /// `from_note` and its three signatures verified.
    pub sign_ms: f64,
    /// `apply_checkpoint` with the proposer's extension (writes, flush).
    pub apply_ms: f64,
    pub total_ms: f64,
}

/// Proof bytes of one bundle's records.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct BundleProof {
    /// "harvest 10 %" …
    pub which: String,
    pub records: usize,
    /// Encoded records, bytes.
    pub record_bytes: usize,
    /// Hashes in the batch inclusion proof of all its records.
    pub batch_hashes: usize,
    /// 32 × batch hashes ÷ records.
    pub batch_bytes_per_record: f64,
    /// 32 × the RFC 9162 path length, averaged over its records: one
    /// inclusion proof per record.
    pub rfc_bytes_per_record: f64,
    pub export_ms: f64,
    /// Leaf indexes looked up and the batch proof built.
    pub proof_ms: f64,
    pub verify_ms: f64,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct CheckpointFigures {
    pub records: usize,
    /// Recalls the regulator signed (interleaved, included in `records`'
    /// ingest time).
    pub recalls: usize,
    pub every: usize,
    pub verify_threads: usize,
    pub primitives: Primitives,
    /// Seconds inside `Ledger::ingest` calls.
    pub ingest_s: f64,
    pub ingest_per_s: f64,
    /// Seconds of checkpoint work, every cycle.
    pub checkpoint_s: f64,
    /// checkpoint_s ÷ ingest_s: the proposer's and a cosigner's work
    /// together.
    pub checkpoint_share: f64,
    /// What the proposing node does (tips, its extension, signing and
    /// verifying the note, the apply) ÷ ingest: the node that works most,
    /// which the target is checked on.
    pub proposer_share: f64,
    /// What a cosigning node does (its own extension, verifying and
    /// cosigning, the apply) ÷ ingest.
    pub cosigner_share: f64,
    /// Checkpoint work per record logged, µs.
    pub checkpoint_us_per_record: f64,
    /// That, in SHA-256 hashes of 300 bytes.
    pub per_record_vs_sha256: f64,
    /// That, in sled group-committed inserts.
    pub per_record_vs_sled_write: f64,
    /// Share of the checkpoint time by part.
    pub share_tips: f64,
    pub share_extend: f64,
    pub share_cosigner_extend: f64,
    pub share_sign: f64,
    pub share_apply: f64,
    /// Mean ms per appended record × 1000 of the first and last tenth of
    /// the full-interval cycles, and their ratio (last ÷ first).
    pub first_tenth_ms_per_1k: f64,
    pub last_tenth_ms_per_1k: f64,
    pub growth: f64,
    pub cycles: Vec<Cycle>,
    pub map_size: u64,
    pub log_size: u64,
    pub reopen_ms: f64,
    pub inclusion: Latency,
    pub inclusion_verify: Latency,
    /// Half of the samples lots with a status, half without.
    pub map_proof: Latency,
    pub map_verify: Latency,
    pub lots_with_status: usize,
    pub bundles: Vec<BundleProof>,
    pub targets: Checks,
}

#[derive(Debug, Clone, Serialize)]
pub(crate) struct Checks {
    pub checkpoint_share: Check,
    pub inclusion: Check,
    pub map_proof: Check,
}

/// `terroir-bench checkpoints`: the figures, the table to stdout, JSON to
/// `--json`.
pub(crate) fn run(args: &Args) -> anyhow::Result<()> {
    if args.records < 1_000 || args.every == 0 {
        anyhow::bail!("--records must be at least 1000 and --every positive");
    }
    let (_tmp, dir) = crate::work_dir(args.dir.as_deref())?;
    eprintln!("measuring primitives …");
    let primitives = crate::primitives::measure(&dir.join("raw-sled"))?;
    ingest::discard(&dir.join("raw-sled"));
    eprintln!("generating {} records …", args.records);
    let workload = ingest::prepare(args.records, &dir.join("workload.bin"))?;
    let ledger_dir = dir.join("ledger-checkpoints");
    let result = measure(&workload, &ledger_dir, args, primitives);
    ingest::discard(&ledger_dir);
    let _ = std::fs::remove_file(&workload.path);
    let _ = std::fs::remove_file(workload.path.with_extension("json"));
    let figures = result?;
    print!("{}", figures.table());
    if let Some(path) = &args.json {
        let json = serde_json::to_string_pretty(&figures)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("figures written to {}", path.display());
    }
    Ok(())
}

/// The authority keys of the cycle: the regulator proposes, two more
/// cosign (the workload's genesis names only the regulator, so their
/// signatures are verified here rather than by `from_note`).
fn cosigner_keys() -> Vec<SigningKey> {
    (0..COSIGNERS)
        .map(|i| key_for("authority", i + 1))
        .collect()
}

/// The cosigned message of C2SP cosignature/v1 (as ledger-core signs it).
fn cosigned_message(time: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

/// One checkpoint cycle on everything accepted and not yet logged.
fn cycle(
    ledger: &mut Ledger<SledStore>,
    regulator: &SigningKey,
    cosigners: &[SigningKey],
) -> anyhow::Result<Cycle> {
    let t = Instant::now();
    let tips = ledger.unlogged_tips()?;
    let tips_ms = ms(t);

    let t = Instant::now();
    let ext = ledger.extend_log(&tips)?;
    let extend_ms = ms(t);

    let t = Instant::now();
    let again = ledger.extend_log(&tips)?;
    let cosigner_extend_ms = ms(t);
    if again.root != ext.root || again.map.root() != ext.map.root() {
        anyhow::bail!("two extensions of the same tips differ");
    }
    drop(again);

    let t = Instant::now();
    let secs = (NOW + ext.height * 10_000) / 1_000;
    let c = ext.checkpoint(ledger.network(), secs * 1_000);
    let mut signed = SignedCheckpoint::propose(c, regulator);
    for k in cosigners {
        signed.cosign(k, secs);
    }
    let note = signed.to_note();
    let read = SignedCheckpoint::from_note(note.as_bytes(), ledger.genesis())?;
    if read.checkpoint != signed.checkpoint {
        anyhow::bail!("the note read back states another checkpoint");
    }
    let body = signed.checkpoint.body();
    let mut verified = read.signatures.len();
    for s in &signed.signatures {
        if let SignatureKind::Cosignature { time } = s.kind {
            key::verify(&s.key, &cosigned_message(time, &body), &s.signature)
                .with_context(|| format!("cosignature of {}", key_name(&s.key)))?;
            verified += 1;
        }
    }
    if verified != 1 + cosigners.len() {
        anyhow::bail!(
            "{verified} signatures verified, not {}",
            1 + cosigners.len()
        );
    }
    let sign_ms = ms(t);

    let t = Instant::now();
    let applied = ledger.apply_checkpoint(&signed, &tips, Some(&ext))?;
    let apply_ms = ms(t);
    if applied
        != (Applied::Extended {
            records: ext.records.len() as u64,
        })
    {
        anyhow::bail!("checkpoint {} applied as {applied:?}", ext.height);
    }
    Ok(Cycle {
        height: ext.height,
        size: ext.size(),
        records: ext.records.len() as u64,
        tips: tips.len(),
        map_size: ext.map.len(),
        tips_ms,
        extend_ms,
        cosigner_extend_ms,
        sign_ms,
        apply_ms,
        total_ms: tips_ms + extend_ms + cosigner_extend_ms + sign_ms + apply_ms,
    })
}

/// What the ingest with checkpoints leaves for the proof figures.
struct Ingested {
    ingest_s: f64,
    recalls: Vec<LotId>,
    sampled: Vec<Hash>,
    cycles: Vec<Cycle>,
    /// Cycles that ran on a full interval (not the last one, on what was
    /// left).
    full_cycles: usize,
}

/// Ingests the workload with the regulator's recalls interleaved,
/// checkpointing every `every` records, and reservoir-samples `samples`
/// record hashes for the inclusion figure.
fn ingest_with_checkpoints(
    p: &Prepared,
    ledger: &mut Ledger<SledStore>,
    every: usize,
    samples: usize,
) -> anyhow::Result<Ingested> {
    let regulator_key = key_for("regulator", 0);
    let regulator = regulator_key.public();
    let cosigners = cosigner_keys();
    let network = ledger.network();
    let mut head: Option<(u64, Hash)> = None;
    let mut harvests = 0usize;
    let mut recalls = Vec::new();
    let mut pick = Pick(0x2545_f491);
    let mut sampled: Vec<Hash> = Vec::with_capacity(samples);
    let mut seen = 0usize;
    let mut cycles = Vec::new();
    let mut since = 0usize;
    let mut ingest_s = 0.0;
    let mut full_cycles = 0;
    let mut sample = |h: Hash, sampled: &mut Vec<Hash>| {
        seen += 1;
        if sampled.len() < samples {
            sampled.push(h);
        } else {
            let j = pick.next(seen);
            if j < samples {
                sampled[j] = h;
            }
        }
    };
    for batch in ingest::batches(p, GROUP_COMMIT)? {
        let mut batch = batch?;
        let workload_records = batch.len();
        let mut extra: Vec<SignedRecord> = Vec::new();
        for r in &batch {
            let h = r.hash();
            sample(h, &mut sampled);
            if r.record.author == regulator {
                head = Some((r.record.seq, h));
            }
            if let Event::Harvest { lot_code, .. } = &r.record.event {
                harvests += 1;
                if harvests % RECALL_ONE_IN == RECALL_ONE_IN / 2 {
                    let lot = LotId {
                        source: r.record.author,
                        code: lot_code.clone(),
                    };
                    let mut author = Author::resume(key_for("regulator", 0), network, head.take());
                    let recall = author.sign(
                        r.record.time + 1,
                        vec![h],
                        Event::Recall {
                            lot: lot.clone(),
                            reason: "pesticide residue above the limit".into(),
                        },
                    );
                    head = Some((recall.record.seq, recall.hash()));
                    recalls.push(lot);
                    extra.push(recall);
                }
            }
        }
        for r in &extra {
            sample(r.hash(), &mut sampled);
        }
        batch.extend(extra);
        let start = Instant::now();
        let report = ledger.ingest(batch, NOW)?;
        ingest_s += start.elapsed().as_secs_f64();
        ingest::all_accepted(&report)?;
        since += workload_records;
        if since >= every {
            since = 0;
            let c = cycle(ledger, &regulator_key, &cosigners)?;
            eprintln!(
                "checkpoint {}: {} records appended, log {}, map {}, {:.0} ms (ingest so far {:.1} s)",
                c.height, c.records, c.size, c.map_size, c.total_ms, ingest_s
            );
            cycles.push(c);
            full_cycles = cycles.len();
        }
    }
    if since > 0 {
        cycles.push(cycle(ledger, &regulator_key, &cosigners)?);
    }
    Ok(Ingested {
        ingest_s,
        recalls,
        sampled,
        cycles,
        full_cycles,
    })
}

/// Hashes in the RFC 9162 inclusion path of leaf `m` in a tree of `n`.
fn path_len(mut m: u64, mut n: u64) -> usize {
    let mut len = 0;
    while n > 1 {
        let k = 1u64 << (63 - (n - 1).leading_zeros());
        if m < k {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// The lots of the bundle figures: a harvest and a product lot at every
/// tenth of the history from 10 % to 90 %, and the last of each.
fn bundle_lots(p: &Prepared) -> Vec<(String, LotId)> {
    let mut out = Vec::new();
    for (kind, lots) in [("harvest", &p.harvest_lots), ("product", &p.product_lots)] {
        if lots.is_empty() {
            continue;
        }
        for tenth in 1..=9usize {
            let i = (lots.len() - 1) * tenth / 10;
            out.push((format!("{kind} {}0 %", tenth), lots[i].clone()));
        }
        out.push((format!("{kind} last"), lots[lots.len() - 1].clone()));
    }
    out
}

fn bundle_proof(
    reader: &Reader<SledStore>,
    which: String,
    lot: &LotId,
) -> anyhow::Result<BundleProof> {
    let t = Instant::now();
    let b = bundle::export(reader, lot)?.with_context(|| format!("no bundle for {lot}"))?;
    let export_ms = ms(t);
    let size = reader.log().size();
    let root = reader
        .log()
        .checkpoint
        .as_ref()
        .map(|c| c.checkpoint.root)
        .context("no checkpoint")?;
    let t = Instant::now();
    let mut leaves = Vec::with_capacity(b.records.len());
    let mut record_bytes = 0;
    for r in &b.records {
        record_bytes += r.encode().len();
        let h = r.hash();
        let i = reader
            .leaf_index(&h)?
            .with_context(|| format!("bundle record {h} is not in the log"))?;
        leaves.push((i, record_leaf(&h)));
    }
    leaves.sort_by_key(|l| l.0);
    let indexes: Vec<u64> = leaves.iter().map(|l| l.0).collect();
    let proof = reader.batch_inclusion(&indexes)?;
    let proof_ms = ms(t);
    let t = Instant::now();
    merkle::verify_batch(&leaves, size, &proof, &root)
        .map_err(|e| anyhow::anyhow!("batch proof of {which}: {e:?}"))?;
    let verify_ms = ms(t);
    let n = b.records.len().max(1) as f64;
    let rfc: usize = indexes.iter().map(|i| path_len(*i, size)).sum();
    Ok(BundleProof {
        which,
        records: b.records.len(),
        record_bytes,
        batch_hashes: proof.len(),
        batch_bytes_per_record: 32.0 * proof.len() as f64 / n,
        rfc_bytes_per_record: 32.0 * rfc as f64 / n,
        export_ms,
        proof_ms,
        verify_ms,
    })
}

fn measure(
    p: &Prepared,
    dir: &Path,
    args: &Args,
    primitives: Primitives,
) -> anyhow::Result<CheckpointFigures> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let verify_threads = ingest::verify_threads(cores);
    let config = ingest::config(Mode::Pipelined { verify_threads });
    let mut ledger = Ledger::create(SledStore::open(dir)?, p.genesis.clone(), config)?;
    eprintln!(
        "ingesting {} records in batches of {GROUP_COMMIT}, a checkpoint every {} …",
        p.count, args.every
    );
    let ing = ingest_with_checkpoints(p, &mut ledger, args.every, args.samples)?;
    ledger.close()?;

    let records: u64 = ing.cycles.iter().map(|c| c.records).sum();
    let checkpoint_s = ing.cycles.iter().map(|c| c.total_ms).sum::<f64>() / 1e3;
    let part = |f: fn(&Cycle) -> f64| {
        ing.cycles.iter().map(f).sum::<f64>() / 1e3 / checkpoint_s.max(1e-12)
    };
    let per_record_s = checkpoint_s / records.max(1) as f64;
    let full = &ing.cycles[..ing.full_cycles];
    let tenth = (full.len() / 10).max(1);
    let per_1k = |cs: &[Cycle]| {
        let ms: f64 = cs.iter().map(|c| c.total_ms).sum();
        let n: u64 = cs.iter().map(|c| c.records).sum();
        1e3 * ms / n.max(1) as f64
    };
    let (first, last) = if full.is_empty() {
        (0.0, 0.0)
    } else {
        (per_1k(&full[..tenth]), per_1k(&full[full.len() - tenth..]))
    };

    eprintln!("reopening and sampling proofs …");
    let t = Instant::now();
    let ledger = Ledger::open(SledStore::open(dir)?, LedgerConfig::default())?;
    let reopen_ms = ms(t);
    let reader = ledger.readers().latest();
    let signed = reader
        .log()
        .checkpoint
        .clone()
        .context("no checkpoint after reopening")?;
    let c = &signed.checkpoint;

    // Inclusion of sampled records: each proof, then its verification.
    let mut order = ing.sampled.clone();
    let mut pick = Pick(0x1656_67b1);
    for i in (1..order.len()).rev() {
        order.swap(i, pick.next(i + 1));
    }
    let (mut prove_us, mut verify_us) = (Vec::new(), Vec::new());
    let mut path_hashes = 0;
    for h in &order {
        let t = Instant::now();
        let found = reader.inclusion(h)?;
        prove_us.push(t.elapsed().as_secs_f64() * 1e6);
        let (index, path) = found.with_context(|| format!("record {h} is not in the log"))?;
        path_hashes += path.len();
        let t = Instant::now();
        merkle::verify_inclusion(&record_leaf(h), index, c.size, &path, &c.root)
            .map_err(|e| anyhow::anyhow!("inclusion of {h}: {e:?}"))?;
        verify_us.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let inclusion = latency(prove_us, path_hashes);
    let inclusion_verify = latency(verify_us, path_hashes);

    // Map proofs: half lots with a status, half without.
    let map = &reader.log().map;
    let (mut with, mut without): (Vec<&LotId>, Vec<&LotId>) = (Vec::new(), Vec::new());
    for lot in p.harvest_lots.iter().chain(&p.product_lots) {
        if map.get(&lot_key(lot)).is_some() {
            with.push(lot);
        } else {
            without.push(lot);
        }
    }
    let lots_with_status = with.len();
    let mut pick = Pick(0xd3a2_646c);
    let (mut prove_us, mut verify_us) = (Vec::new(), Vec::new());
    for i in 0..args.samples {
        let listed = i % 2 == 0 && !with.is_empty();
        let pool = if listed { &with } else { &without };
        let lot = pool[pick.next(pool.len())];
        let key = lot_key(lot);
        let t = Instant::now();
        let proof = reader.map_proof(lot);
        prove_us.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        let status = proof
            .verify(&key, c.map_size, &c.map_root)
            .map_err(|e| anyhow::anyhow!("map proof of {lot}: {e}"))?;
        verify_us.push(t.elapsed().as_secs_f64() * 1e6);
        if status.is_some() != listed {
            anyhow::bail!("map proof of {lot}: listed {}", status.is_some());
        }
    }
    let map_proof = latency(prove_us, 0);
    let map_verify = latency(verify_us, 0);

    eprintln!("bundles and their batch proofs …");
    let mut bundles = Vec::new();
    for (which, lot) in bundle_lots(p) {
        let b = bundle_proof(&reader, which, &lot)?;
        eprintln!(
            "  {}: {} records, batch {:.1} B/record, RFC paths {:.0} B/record",
            b.which, b.records, b.batch_bytes_per_record, b.rfc_bytes_per_record
        );
        bundles.push(b);
    }
    let map_size = c.map_size;
    let log_size = c.size;
    drop(reader);
    ledger.close()?;

    let checkpoint_share = checkpoint_s / ing.ingest_s.max(1e-9);
    let sum = |f: fn(&Cycle) -> f64| ing.cycles.iter().map(f).sum::<f64>() / 1e3;
    let proposer_s = sum(|c| c.tips_ms + c.extend_ms + c.sign_ms + c.apply_ms);
    let cosigner_s = sum(|c| c.cosigner_extend_ms + c.sign_ms + c.apply_ms);
    let proposer_share = proposer_s / ing.ingest_s.max(1e-9);
    let cosigner_share = cosigner_s / ing.ingest_s.max(1e-9);
    let targets = Checks {
        checkpoint_share: targets::CHECKPOINT_SHARE.check(proposer_share * 100.0),
        inclusion: targets::INCLUSION_PROOF.check(inclusion.p99_us / 1e3),
        map_proof: targets::MAP_PROOF.check(map_proof.p99_us / 1e3),
    };
    Ok(CheckpointFigures {
        records: p.count,
        recalls: ing.recalls.len(),
        every: args.every,
        verify_threads,
        ingest_s: ing.ingest_s,
        ingest_per_s: (p.count + ing.recalls.len()) as f64 / ing.ingest_s.max(1e-9),
        checkpoint_s,
        checkpoint_share,
        proposer_share,
        cosigner_share,
        checkpoint_us_per_record: per_record_s * 1e6,
        per_record_vs_sha256: per_record_s * primitives.sha256_300b,
        per_record_vs_sled_write: per_record_s * primitives.sled_group_commit,
        share_tips: part(|c| c.tips_ms),
        share_extend: part(|c| c.extend_ms),
        share_cosigner_extend: part(|c| c.cosigner_extend_ms),
        share_sign: part(|c| c.sign_ms),
        share_apply: part(|c| c.apply_ms),
        first_tenth_ms_per_1k: first,
        last_tenth_ms_per_1k: last,
        growth: last / first.max(1e-12),
        primitives,
        cycles: ing.cycles,
        map_size,
        log_size,
        reopen_ms,
        inclusion,
        inclusion_verify,
        map_proof,
        map_verify,
        lots_with_status,
        bundles,
        targets,
    })
}

/// Median of `xs` (0 if empty).
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or_default()
}

impl CheckpointFigures {
    pub(crate) fn table(&self) -> String {
        use std::fmt::Write;
        let p = &self.primitives;
        let c = &self.targets;
        let mut table = crate::report::Table::new("target");
        let mut row = |name: &str, value: String, target: Option<&Check>, note: String| {
            table.row(name, &value, target, &note)
        };
        row(
            "SHA-256 of 300 B",
            format!("{:.0}/s", p.sha256_300b),
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
            &format!("ingest, batches of {GROUP_COMMIT}, with recalls"),
            format!("{:.0}/s", self.ingest_per_s),
            None,
            format!(
                "{} records + {} recalls in {:.1} s; {} verify thread(s)",
                self.records, self.recalls, self.ingest_s, self.verify_threads
            ),
        );
        row(
            &format!("proposer's checkpoint work / ingest (every {})", self.every),
            format!("{:.2} %", self.proposer_share * 100.0),
            Some(&c.checkpoint_share),
            "tips, its extension, signing and verifying k = 3, apply: the node that works most"
                .to_owned(),
        );
        row(
            "a cosigner's checkpoint work / ingest",
            format!("{:.2} %", self.cosigner_share * 100.0),
            None,
            "its own extension of the same tips, verifying and cosigning, apply".to_owned(),
        );
        row(
            "both nodes' work / ingest",
            format!("{:.2} %", self.checkpoint_share * 100.0),
            None,
            format!(
                "{} checkpoints, {:.2} s; tips {:.0} %, extend {:.0} %, cosigner extend {:.0} %, sign+verify {:.0} %, apply {:.0} %",
                self.cycles.len(),
                self.checkpoint_s,
                self.share_tips * 100.0,
                self.share_extend * 100.0,
                self.share_cosigner_extend * 100.0,
                self.share_sign * 100.0,
                self.share_apply * 100.0
            ),
        );
        row(
            "checkpoint work per record logged",
            format!("{:.2} µs", self.checkpoint_us_per_record),
            None,
            format!(
                "{:.1}× SHA-256 of 300 B; {:.3}× a sled group-committed insert",
                self.per_record_vs_sha256, self.per_record_vs_sled_write
            ),
        );
        row(
            "cost per record, last ÷ first tenth",
            format!("{:.2}×", self.growth),
            None,
            format!(
                "{:.1} → {:.1} ms per 1,000 records appended (must not grow with the log)",
                self.first_tenth_ms_per_1k, self.last_tenth_ms_per_1k
            ),
        );
        row(
            "log size, status map entries",
            format!("{}", self.log_size),
            None,
            format!(
                "{} map entries ({} lots of the workload have a status)",
                self.map_size, self.lots_with_status
            ),
        );
        row(
            "inclusion proof (reopened ledger)",
            format!("p99 {:.0} µs", self.inclusion.p99_us),
            Some(&c.inclusion),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {} samples, {:.1} hashes; reopen {:.0} ms",
                self.inclusion.p50_us,
                self.inclusion.max_us,
                self.inclusion.samples,
                self.inclusion.mean_size,
                self.reopen_ms
            ),
        );
        row(
            "inclusion proof, verify",
            format!("p99 {:.0} µs", self.inclusion_verify.p99_us),
            None,
            format!(
                "p50 {:.0} µs, max {:.0} µs",
                self.inclusion_verify.p50_us, self.inclusion_verify.max_us
            ),
        );
        row(
            "status map proof (half listed)",
            format!("p99 {:.0} µs", self.map_proof.p99_us),
            Some(&c.map_proof),
            format!(
                "p50 {:.0} µs, max {:.0} µs, {} samples",
                self.map_proof.p50_us, self.map_proof.max_us, self.map_proof.samples
            ),
        );
        row(
            "status map proof, verify",
            format!("p99 {:.0} µs", self.map_verify.p99_us),
            None,
            format!(
                "p50 {:.0} µs, max {:.0} µs",
                self.map_verify.p50_us, self.map_verify.max_us
            ),
        );
        let b = &self.bundles;
        let batch = median(b.iter().map(|x| x.batch_bytes_per_record).collect());
        let rfc = median(b.iter().map(|x| x.rfc_bytes_per_record).collect());
        let rec = median(
            b.iter()
                .map(|x| x.record_bytes as f64 / x.records.max(1) as f64)
                .collect(),
        );
        let max_batch = b
            .iter()
            .map(|x| x.batch_bytes_per_record)
            .fold(0.0, f64::max);
        row(
            &format!("bundle batch proof per record ({} lots)", b.len()),
            format!("{batch:.1} B"),
            None,
            format!(
                "median; max {max_batch:.1} B; one RFC path each {rfc:.0} B; records {rec:.0} B; {:.3}× record bytes",
                batch / rec.max(1e-9)
            ),
        );
        for x in b {
            row(
                &format!("  {}", x.which),
                format!("{:.1} B", x.batch_bytes_per_record),
                None,
                format!(
                    "{} records, {:.1} MB; RFC paths {:.0} B/record; export {:.0} ms, proof {:.0} ms, verify {:.0} ms",
                    x.records,
                    x.record_bytes as f64 / 1e6,
                    x.rfc_bytes_per_record,
                    x.export_ms,
                    x.proof_ms,
                    x.verify_ms
                ),
            );
        }
        let checks = [&c.checkpoint_share, &c.inclusion, &c.map_proof];
        let passed = checks.iter().filter(|c| c.pass).count();
        let mut t = table.into_string();
        let _ = writeln!(t, "\ntargets: {passed} of {} pass", checks.len());
        t
    }
}

#[cfg(test)]
mod tests {
    use super::path_len;
    use ledger_core::merkle;

    #[test]
    fn path_lengths_are_those_of_ledger_cores_proofs() {
        for n in 1..=40u64 {
            let leaves: Vec<_> = (0..n)
                .map(|i| merkle::leaf_hash(&i.to_le_bytes()))
                .collect();
            for m in 0..n {
                let proof = merkle::inclusion_proof(leaves.as_slice(), m, n).unwrap_or_default();
                assert_eq!(path_len(m, n), proof.len(), "leaf {m} of {n}");
            }
        }
        assert_eq!(path_len(1_000, 1_000_003), 20);
    }
}
