//! # Terroir ledger core
//!
//! The pure heart of Terroir, a traceability ledger for agricultural supply
//! chains: record types and their canonical encoding, signatures, the
//! validation rules, custody, status overlays, queries, trace bundles and
//! storage. It does no networking, no async and never reads the clock:
//! time (`now`), limits and the store are arguments.
//!
//! Each participant appends signed records to its own hash chain; records
//! link to other participants' records through `deps`, so the ledger is a
//! DAG. A record's validity is a pure function of its causal past, so every
//! node reaches the same verdicts whatever order records arrive in.
//!
//! ## Layout
//! - [`hash`], [`key`]: SHA-256 ids, ed25519 keys, the ZIP-215 signature rule.
//! - [`keyfile`]: signing-key files (JSON, mode 0600) the CLI and the node
//!   read.
//! - [`encoding`]: the one canonical encoding (bincode 2, fixed-width LE).
//! - [`genesis`], [`event`], [`record`]: the signed data.
//! - [`gs1`]: GTIN/GLN/SSCC check digits, company prefixes, lot codes (AI 10)
//!   and GS1 Digital Link URIs.
//! - [`time`]: local dates and times in a network's time zone.
//! - [`validate`]: the rules, as functions over a read-only [`validate::View`].
//! - [`author`]: signing the next record of a chain.
//! - [`workload`]: a generated farm-to-fork history for tests and benchmarks.
//! - [`ledger`]: ingest, the pending pool, group commit, the log and the
//!   folded tail behind it.
//! - [`reader`]: consistent views other threads query while the ledger
//!   takes in records.
//! - [`graph`]: the record DAG as queries see it, stored or in memory.
//! - [`product`]: GS1 prefix rights, lots by GTIN, one lot per (GTIN, lot).
//! - [`overlay`]: recalls, revocations, equivocations, failed inspections.
//! - [`query`]: lineage, downstream closure and traces over any [`graph::Graph`].
//! - [`excursion`]: out-of-range sensor readings grouped into excursion
//!   events (one lot and sensor kind, start, end, duration, peak).
//! - [`verdict`]: the one answer a shopper needs about a lot (recalled,
//!   failed test, excursion, certificate, clean).
//! - [`reach`]: what a recall must reach: holders and goods in transit.
//! - [`bundle`]: self-contained trace bundles and their offline verification.
//! - [`checkpoint`]: the authorities' signed checkpoints (C2SP signed
//!   notes and cosignatures) and the contradictions between them.
//! - [`china`]: China's unified social credit code (GB 32100).
//! - [`merkle`]: RFC 9162 transparency-log tree hashes, inclusion,
//!   consistency and batch proofs, the append frontier, tlog-tiles paths.
//! - [`tlog`]: the transparency log checkpoints state: extending it by a
//!   cut, the lot status map, inclusion, consistency and map proofs, tiles.
//! - [`audit`]: re-verification of a whole stored ledger.
//! - [`store`]: the key-value trait, an in-memory and a sled engine.
#![warn(missing_docs)]

pub mod audit;
pub mod author;
mod branch;
pub mod bundle;
pub mod checkpoint;
pub mod china;
mod digest;
pub mod encoding;
pub mod error;
pub mod event;
pub mod excursion;
pub mod genesis;
pub mod graph;
pub mod gs1;
pub mod hash;
pub mod key;
pub mod keyfile;
pub mod ledger;
pub mod merkle;
pub mod overlay;
pub mod product;
pub mod query;
pub mod reach;
pub mod reader;
pub mod record;
pub mod store;
mod tables;
mod tail;
pub mod time;
pub mod tlog;
mod txn;
pub mod validate;
pub mod verdict;
pub mod workload;

pub use error::{StoreError, ValidationError};
pub use event::{Event, EventKind, LotId, Quantity, Role, Unit};
pub use genesis::Genesis;
pub use hash::{Hash, NetworkId};
pub use key::{PublicKey, Signature, SigningKey};
pub use ledger::{Ledger, LedgerConfig, Outcome, Source};
pub use reader::Reader;
pub use record::{Record, SignedRecord};
