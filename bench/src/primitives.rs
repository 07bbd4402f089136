//! The raw primitives that bound ingest: signature verification, hashing
//! and durable writes.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use serde::Serialize;
use sha2::{Digest, Sha256};

use ledger_core::key::{self, PublicKey, Signature, SigningKey};

/// Per-second rates of the primitives on this machine.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Primitives {
    /// ed25519 verifications/s, one at a time, ZIP-215 (the rule we use).
    pub verify_zip215: f64,
    /// ed25519 verifications/s, one at a time, dalek's `verify_strict`.
    pub verify_strict: f64,
    /// ed25519 verifications/s in ZIP-215 batches of 256.
    pub verify_batch: f64,
    /// SHA-256 throughput over a 64 MiB buffer, MB/s.
    pub sha256_mb_s: f64,
    /// SHA-256 of 300-byte messages per second.
    pub sha256_300b: f64,
    /// sled inserts/s of 300-byte values with one flush per 1,000.
    pub sled_group_commit: f64,
    /// sled inserts/s with a flush after every insert.
    pub sled_flush_each: f64,
}

const SIGNATURES: usize = 8_192;
const MESSAGE: usize = 300;

fn rate(n: usize, start: Instant) -> f64 {
    n as f64 / start.elapsed().as_secs_f64().max(1e-9)
}

pub(crate) fn measure(sled_dir: &Path) -> anyhow::Result<Primitives> {
    let probe = BatchProbe::new(SIGNATURES);
    let items = &probe.items;

    let start = Instant::now();
    for (k, m, s) in items {
        key::verify(k, m, s).context("a benchmark signature failed to verify")?;
    }
    let verify_zip215 = rate(items.len(), start);

    let dalek: Vec<(ed25519_dalek::VerifyingKey, ed25519_dalek::Signature)> = items
        .iter()
        .map(|(k, _, s)| {
            Ok((
                ed25519_dalek::VerifyingKey::from_bytes(&k.0)?,
                ed25519_dalek::Signature::from_bytes(&s.0),
            ))
        })
        .collect::<Result<_, ed25519_dalek::SignatureError>>()?;
    let start = Instant::now();
    for ((vk, sig), (_, m, _)) in dalek.iter().zip(items) {
        vk.verify_strict(m, sig)?;
    }
    let verify_strict = rate(items.len(), start);

    let (signatures, seconds) = probe.run()?;
    let verify_batch = signatures as f64 / seconds.max(1e-9);

    let buf = vec![0x5au8; 64 << 20];
    let start = Instant::now();
    let mut h = Sha256::new();
    for c in buf.chunks(1 << 20) {
        h.update(c);
    }
    std::hint::black_box(h.finalize());
    let sha256_mb_s = buf.len() as f64 / 1e6 / start.elapsed().as_secs_f64().max(1e-9);
    let start = Instant::now();
    for c in buf.chunks(MESSAGE).take(200_000) {
        std::hint::black_box(Sha256::digest(c));
    }
    let sha256_300b = rate(200_000, start);

    let db = sled::Config::new()
        .path(sled_dir)
        .cache_capacity(ledger_core::store::DEFAULT_CACHE_BYTES)
        .mode(sled::Mode::HighThroughput)
        .open()?;
    let value = vec![7u8; MESSAGE];
    let n = 100_000usize;
    let start = Instant::now();
    for i in 0..n {
        db.insert(Sha256::digest(i.to_le_bytes()).as_slice(), value.as_slice())?;
        if i % 1000 == 999 {
            db.flush()?;
        }
    }
    db.flush()?;
    let sled_group_commit = rate(n, start);
    let m = 2_000usize;
    let start = Instant::now();
    for i in 0..m {
        db.insert(
            Sha256::digest((n + i).to_le_bytes()).as_slice(),
            value.as_slice(),
        )?;
        db.flush()?;
    }
    let sled_flush_each = rate(m, start);
    drop(db);

    Ok(Primitives {
        verify_zip215,
        verify_strict,
        verify_batch,
        sha256_mb_s,
        sha256_300b,
        sled_group_commit,
        sled_flush_each,
    })
}

/// Signatures to time ZIP-215 batch verification with, again and again
/// beside another measurement, so a ratio to it does not drift with the
/// load on a shared machine.
pub(crate) struct BatchProbe {
    items: Vec<(PublicKey, Vec<u8>, Signature)>,
}

impl BatchProbe {
    /// `count` signed 300-byte messages under 64 keys.
    pub(crate) fn new(count: usize) -> Self {
        let keys: Vec<SigningKey> = (0..64u8).map(|i| SigningKey::from_seed(&[i; 32])).collect();
        let items = (0..count)
            .map(|i| {
                let k = &keys[i % keys.len()];
                let msg: Vec<u8> = (0..MESSAGE).map(|j| (i * 31 + j) as u8).collect();
                let sig = k.sign(&msg);
                (k.public(), msg, sig)
            })
            .collect();
        BatchProbe { items }
    }

    /// Verifies every signature in batches of 256 and returns
    /// (signatures, seconds).
    pub(crate) fn run(&self) -> anyhow::Result<(usize, f64)> {
        let refs: Vec<(PublicKey, &[u8], Signature)> = self
            .items
            .iter()
            .map(|(k, m, s)| (*k, m.as_slice(), *s))
            .collect();
        let start = Instant::now();
        for chunk in refs.chunks(256) {
            if key::verify_batch(chunk).iter().any(Result::is_err) {
                anyhow::bail!("a benchmark batch failed to verify");
            }
        }
        Ok((refs.len(), start.elapsed().as_secs_f64()))
    }
}
