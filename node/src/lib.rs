//! # terroird, the Terroir peer node
//!
//! A node holds a validated replica of the ledger (`ledger-core` over
//! sled), exchanges records with its peers over libp2p and serves an HTTP
//! API. Nodes never hold a participant's key: they accept records already
//! signed.
//!
//! ## Shape
//! Three owners, each reached only through a cheap cloneable handle that
//! sends commands over a bounded channel with oneshot replies:
//! - the **ledger thread** ([`ledger_task`]) owns the `Ledger` and merges
//!   queued ingests into one group commit;
//! - the **swarm task** ([`network`]) owns the libp2p `Swarm`;
//! - the **HTTP server** ([`http`]) whose handlers hold only handles.
//!
//! ## Layout
//! - [`config`]: the TOML file and its limits.
//! - [`keyfile`]: node identity key and genesis file.
//! - [`ledger_task`]: the ledger's owner thread and its handle.
//! - [`protocol`]: wire types and bounds, all named after the network id.
//! - [`sync`]: answering and planning head/range exchanges.
//! - [`log_cursors`]: catch-up cursors kept on disk across restarts.
//! - [`network`]: behaviours, the swarm task, peer strikes and bans.
//! - [`checkpoints`]: proposing, checking, cosigning and applying
//!   checkpoints; contradictions kept as proof.
//! - [`http`], [`page`]: the JSON API and the consumer page.
//! - [`metrics`]: Prometheus counters.
//! - [`priority`]: the ledger writer yields the CPU to queries.
//! - [`node`]: start, stop, `run(config, shutdown)`.
#![warn(missing_docs)]

pub mod checkpoints;
pub mod config;
pub mod http;
pub mod keyfile;
pub mod ledger_task;
pub mod log_cursors;
pub mod metrics;
pub mod network;
pub mod node;
pub mod page;
pub mod priority;
pub mod protocol;
pub mod read_pool;
pub mod source;
pub mod sync;

pub use config::{Config, Settings};
pub use node::{init, run, Node};
