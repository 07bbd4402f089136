//! The node's configuration file (TOML) and its limits.
//!
//! Relative paths in the file are read relative to the file's directory, so
//! a data directory can carry its own `terroird.toml`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use libp2p::Multiaddr;
use serde::{Deserialize, Serialize};

/// Default HTTP bind address: loopback only, so an API is never exposed by
/// accident; operators opt in to a public address.
pub const DEFAULT_HTTP: &str = "127.0.0.1:8700";
/// Default libp2p listen address.
pub const DEFAULT_LISTEN: &str = "/ip4/0.0.0.0/tcp/7700";

/// `terroird.toml` as written by an operator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the ledger (`ledger/`), the node key (`node.key`) and the
    /// catch-up cursors (`log-cursors`) live.
    pub data_dir: PathBuf,
    /// The genesis file (JSON of `ledger_core::Genesis`).
    pub genesis: PathBuf,
    /// libp2p listen addresses (multiaddrs).
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Peers to dial at start and whenever the node has no peer
    /// (multiaddrs, optionally ending in `/p2p/PEER_ID`).
    #[serde(default)]
    pub bootstrap: Vec<String>,
    /// HTTP API bind address.
    #[serde(default = "default_http")]
    pub http: SocketAddr,
    /// Discover peers on the local network with mDNS.
    #[serde(default)]
    pub mdns: bool,
    /// When set, `POST /records` needs `Authorization: Bearer TOKEN` with
    /// a token listed in this file (`terroird token` makes them); unset,
    /// anyone who reaches the HTTP API may submit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submit_tokens: Option<PathBuf>,
    /// Limits and intervals.
    #[serde(default)]
    pub limits: Limits,
    /// Proposing and cosigning checkpoints (genesis authorities only).
    #[serde(default)]
    pub checkpoints: Checkpoints,
    /// The EPCIS 2.0 REST binding (`POST /capture`, `GET /events`); absent,
    /// this node captures no EPCIS events and its EPCIS endpoints answer
    /// 404.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epcis: Option<Epcis>,
}

/// `[epcis]`: capturing EPCIS events as records of one organisation, and
/// who may query them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epcis {
    /// The participant key file (`terroir key new`) captured events are
    /// signed with: the organisation's enrolled key, not the node's libp2p
    /// key. An encrypted file's passphrase comes from
    /// `TERROIR_CAPTURE_PASSPHRASE`.
    pub capture_key: PathBuf,
    /// The tokens `/capture` needs (`Authorization: Bearer`), in the
    /// format of `submit_tokens` (`terroird token` makes them).
    pub capture_tokens: PathBuf,
    /// When set, `GET /events` needs a token listed here; unset, queries
    /// are open to anyone who reaches the API.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_tokens: Option<PathBuf>,
    /// The longest pause between retries of a webhook delivery its
    /// receiver did not acknowledge (the pause doubles from 0.5 s).
    #[serde(default = "default_webhook_retry_max_ms")]
    pub webhook_retry_max_ms: u64,
}

fn default_webhook_retry_max_ms() -> u64 {
    60_000
}

/// `[checkpoints]`: whether this node signs checkpoints, and how often.
/// A node without an authority key only checks and applies the final
/// checkpoints the authorities make.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Checkpoints {
    /// A genesis authority's key file (`terroir key new`), to sign with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<PathBuf>,
    /// Propose checkpoints (when it is this authority's turn).
    pub propose: bool,
    /// Cosign the checkpoints other authorities propose, once this node
    /// recomputed them from its own records.
    pub cosign: bool,
    /// How long after a final checkpoint the next is proposed (ms); an
    /// authority whose turn it is not waits one more interval per place
    /// it stands behind, so a proposer that is down is stood in for.
    pub interval_ms: u64,
}

impl Default for Checkpoints {
    fn default() -> Self {
        Checkpoints {
            key: None,
            propose: true,
            cosign: true,
            interval_ms: 10_000,
        }
    }
}

fn default_listen() -> Vec<String> {
    vec![DEFAULT_LISTEN.to_owned()]
}

fn default_http() -> SocketAddr {
    // A constant that parses; falls back to the unspecified port-0 address
    // rather than panicking.
    DEFAULT_HTTP
        .parse()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 8700)))
}

/// Tunable limits. Every one bounds memory or work a peer or client can
/// cause.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// How often heads are compared with every peer (ms). Catch-up after a
    /// missed gossip message takes at most this long.
    pub sync_interval_ms: u64,
    /// Strikes (an invalid record, undecodable bytes, more sync requests
    /// at once than an honest node makes) a peer may collect before it is
    /// disconnected and banned for `ban_ms`. Strikes are forgotten an
    /// hour after the last.
    pub max_strikes: u32,
    /// How long a ban lasts (ms). It covers the peer's address too: new
    /// identities from it are refused while it lasts, though peers known
    /// before from the same address are not.
    pub ban_ms: u64,
    /// Peers the node keeps connected: below it, every known peer not
    /// connected is dialled, each on its own backoff.
    pub target_peers: usize,
    /// Connections to peers at most, in and out together.
    pub max_peers: u32,
    /// Inbound peer connections from one address (an IPv6 /64) at most.
    pub max_peer_connections_per_ip: u32,
    /// The longest wait between two dials of a lost peer (ms): a healed
    /// split reconnects within about this.
    pub redial_max_ms: u64,
    /// Sync requests one peer may have in flight with this node; more get
    /// refused, and a strike. Must be at least the 8 this node itself keeps
    /// in flight with a peer.
    pub peer_sync_inflight: usize,
    /// Sync requests one peer may make per second, sustained (bursts of
    /// 2 s of it); more are refused until the rate refills.
    pub peer_sync_requests_per_sec: u32,
    /// Bytes of sync answers one peer may draw per second, sustained
    /// (bursts of 2 s of it); a peer over it is refused until the rate
    /// has paid for what it drew.
    pub peer_sync_bytes_per_sec: u64,
    /// Largest HTTP request body (bytes). A batch of 1,000 ordinary records
    /// in hex is about 700 KiB.
    pub max_body_bytes: usize,
    /// Most records one HTTP submission may carry.
    pub max_submit_records: usize,
    /// HTTP reads (every request but `POST /records`: QR pages, traces,
    /// status, metrics) served at once; more get 503. Writes have their own
    /// budget, so slow uploads can never take the QR pages down.
    pub max_concurrent_http: usize,
    /// `POST /records` requests served at once, their bodies' reading
    /// included; more get 503.
    pub max_concurrent_writes: usize,
    /// Open HTTP connections, idle ones included. A connection over the
    /// cap is closed as soon as it is accepted (counted in
    /// `terroir_http_connections_refused_total`), so idle clients cannot
    /// take the file descriptors libp2p peers and the store need.
    pub max_http_connections: usize,
    /// Open HTTP connections from one client address (an IPv6 /64); more
    /// are closed as soon as they are accepted, so one address cannot
    /// fill `max_http_connections`. Behind a reverse proxy every client
    /// has the proxy's address: raise it to `max_http_connections`.
    pub max_http_connections_per_ip: usize,
    /// How long a client has to send a request's whole head (ms), counted
    /// from the connection's opening or the end of its previous answer:
    /// it bounds partial heads (slowloris) and idle keep-alive
    /// connections alike. Such a connection is closed without an answer.
    pub http_header_timeout_ms: u64,
    /// How long a request body may take to arrive in full (ms) once its
    /// head is read; a slower one is answered 408 and its connection
    /// closed.
    pub http_body_timeout_ms: u64,
    /// `POST /records` requests one client address (an IPv6 /64) may make
    /// per second, sustained; more get 429 with `Retry-After`.
    pub submit_rate_per_ip: u32,
    /// Requests one client address may make at once above that rate.
    pub submit_burst_per_ip: u32,
    /// Records of known authors (enrolled, or genesis authorities) the
    /// pending pool holds (see `ledger_core::LedgerConfig`).
    pub pending_capacity: usize,
    /// sled page cache (bytes).
    pub cache_bytes: u64,
    /// Niceness the ledger writer thread (validation, the log flush,
    /// folds) adds to its own, 0 to 19, so QR pages and other queries get
    /// a core first while the node ingests; 0 keeps one priority for all.
    pub writer_nice: i32,
    /// Records of strangers (authors this node does not know as enrolled:
    /// throwaway keys cost nothing) the pending pool holds, apart from
    /// `pending_capacity`; 0 parks none of them.
    pub stranger_capacity: usize,
    /// Bytes of strangers' records the pending pool holds.
    pub stranger_bytes: u64,
    /// Strangers' records one source (an HTTP client address, an IPv6
    /// /64, or a peer) may have waiting in the pending pool, so one sender
    /// cannot spend the whole strangers' room; its bytes are bounded in
    /// proportion to `stranger_bytes`. At least 1 (unless
    /// `stranger_capacity` is 0), at most `stranger_capacity`.
    pub stranger_per_source: usize,
    /// How long a record may wait in the pending pool before it is
    /// dropped (ms); it comes again by sync once its causes are known.
    pub pending_ttl_ms: u64,
    /// How far ahead of the clock a record may be dated and still wait
    /// in the pending pool (ms); one dated further ahead is refused.
    pub max_park_ahead_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            sync_interval_ms: 5_000,
            max_strikes: 3,
            ban_ms: 3_600_000,
            target_peers: 8,
            max_peers: 64,
            max_peer_connections_per_ip: 16,
            redial_max_ms: 4_000,
            peer_sync_inflight: 16,
            peer_sync_requests_per_sec: 100,
            peer_sync_bytes_per_sec: 8 * 1024 * 1024,
            max_body_bytes: 4 * 1024 * 1024,
            max_submit_records: 1_000,
            max_concurrent_http: 64,
            max_concurrent_writes: 16,
            max_http_connections: 512,
            max_http_connections_per_ip: 128,
            http_header_timeout_ms: 10_000,
            http_body_timeout_ms: 30_000,
            submit_rate_per_ip: 100,
            submit_burst_per_ip: 200,
            pending_capacity: 10_000,
            cache_bytes: ledger_core::store::DEFAULT_CACHE_BYTES,
            writer_nice: crate::priority::DEFAULT_WRITER_NICE,
            stranger_capacity: ledger_core::LedgerConfig::default().stranger_capacity,
            stranger_bytes: ledger_core::LedgerConfig::default().stranger_bytes,
            stranger_per_source: ledger_core::LedgerConfig::default().stranger_per_source,
            pending_ttl_ms: ledger_core::LedgerConfig::default().pending_ttl_ms,
            max_park_ahead_ms: ledger_core::LedgerConfig::default().max_park_ahead_ms,
        }
    }
}

/// A configuration checked and resolved: what [`crate::Node::start`] uses.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Genesis file.
    pub genesis: PathBuf,
    /// Listen addresses.
    pub listen: Vec<Multiaddr>,
    /// Bootstrap peers.
    pub bootstrap: Vec<Multiaddr>,
    /// HTTP bind address.
    pub http: SocketAddr,
    /// mDNS switch.
    pub mdns: bool,
    /// The tokens file writes need, if any.
    pub submit_tokens: Option<PathBuf>,
    /// Limits.
    pub limits: Limits,
    /// Checkpoint signing.
    pub checkpoints: Checkpoints,
    /// The EPCIS REST binding, if configured.
    pub epcis: Option<Epcis>,
}

impl Config {
    /// A configuration for a data dir and genesis with every default.
    pub fn new(data_dir: PathBuf, genesis: PathBuf) -> Self {
        Config {
            data_dir,
            genesis,
            listen: default_listen(),
            bootstrap: Vec::new(),
            http: default_http(),
            mdns: false,
            submit_tokens: None,
            limits: Limits::default(),
            checkpoints: Checkpoints::default(),
            epcis: None,
        }
    }

    /// Reads a TOML file, resolving relative paths against its directory.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut cfg: Config = toml::from_str(&text).map_err(|e| {
            ConfigError::new(
                path,
                e.span().map(|span| line_col(&text, span.start)),
                e.message(),
            )
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if cfg.data_dir.is_relative() {
            cfg.data_dir = base.join(&cfg.data_dir);
        }
        if cfg.genesis.is_relative() {
            cfg.genesis = base.join(&cfg.genesis);
        }
        if let Some(t) = cfg.submit_tokens.as_mut().filter(|t| t.is_relative()) {
            *t = base.join(&*t);
        }
        if let Some(k) = cfg.checkpoints.key.as_mut().filter(|k| k.is_relative()) {
            *k = base.join(&*k);
        }
        if let Some(e) = cfg.epcis.as_mut() {
            for p in [&mut e.capture_key, &mut e.capture_tokens]
                .into_iter()
                .chain(e.query_tokens.as_mut())
            {
                if p.is_relative() {
                    *p = base.join(&*p);
                }
            }
        }
        Ok(cfg)
    }

    /// TOML text of this configuration.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("serializing config")
    }

    /// [`Config::settings`], its error a [`ConfigError`] naming `path`
    /// (the file this configuration was loaded from) and, when the
    /// setting at fault is written there, its line.
    pub fn settings_of(&self, path: &Path) -> anyhow::Result<Settings> {
        self.settings().map_err(|e| {
            let message = format!("{e:#}");
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let at = setting_names(&message).find_map(|(table, key)| locate(&text, table, key));
            ConfigError::new(path, at, &message).into()
        })
    }

    /// Parses addresses and checks limits.
    pub fn settings(&self) -> anyhow::Result<Settings> {
        let parse = |list: &[String], what: &str| -> anyhow::Result<Vec<Multiaddr>> {
            list.iter()
                .map(|a| {
                    a.parse::<Multiaddr>()
                        .with_context(|| format!("{what} address {a:?} is not a multiaddr"))
                })
                .collect()
        };
        let l = &self.limits;
        anyhow::ensure!(
            l.sync_interval_ms >= 100,
            "limits.sync_interval_ms must be at least 100"
        );
        anyhow::ensure!(l.max_strikes >= 1, "limits.max_strikes must be at least 1");
        anyhow::ensure!(
            (1_000..=30 * 24 * 3_600_000).contains(&l.ban_ms),
            "limits.ban_ms must be between 1000 (a second) and 30 days"
        );
        anyhow::ensure!(
            l.target_peers >= 1,
            "limits.target_peers must be at least 1"
        );
        anyhow::ensure!(
            l.max_peers as usize >= l.target_peers,
            "limits.max_peers must be at least limits.target_peers"
        );
        anyhow::ensure!(
            l.max_peer_connections_per_ip >= 1,
            "limits.max_peer_connections_per_ip must be at least 1"
        );
        anyhow::ensure!(
            (500..=3_600_000).contains(&l.redial_max_ms),
            "limits.redial_max_ms must be between 500 and 3600000"
        );
        anyhow::ensure!(
            l.peer_sync_inflight >= crate::network::MAX_OUTBOUND_PER_PEER,
            "limits.peer_sync_inflight must be at least {} (what a node keeps in flight \
             with one peer)",
            crate::network::MAX_OUTBOUND_PER_PEER
        );
        anyhow::ensure!(
            l.peer_sync_requests_per_sec >= 10,
            "limits.peer_sync_requests_per_sec must be at least 10"
        );
        anyhow::ensure!(
            l.peer_sync_bytes_per_sec >= 2 * crate::protocol::RESPONSE_BUDGET_BYTES as u64,
            "limits.peer_sync_bytes_per_sec must be at least two full sync answers ({} bytes)",
            2 * crate::protocol::RESPONSE_BUDGET_BYTES
        );
        anyhow::ensure!(
            l.max_submit_records >= 1,
            "limits.max_submit_records must be at least 1"
        );
        anyhow::ensure!(
            l.max_concurrent_http >= 1,
            "limits.max_concurrent_http must be at least 1"
        );
        anyhow::ensure!(
            l.max_concurrent_writes >= 1,
            "limits.max_concurrent_writes must be at least 1"
        );
        anyhow::ensure!(
            l.max_http_connections >= 1,
            "limits.max_http_connections must be at least 1"
        );
        anyhow::ensure!(
            l.max_http_connections >= l.max_concurrent_http + l.max_concurrent_writes,
            "limits.max_http_connections must be at least max_concurrent_http + max_concurrent_writes"
        );
        anyhow::ensure!(
            (1..=l.max_http_connections).contains(&l.max_http_connections_per_ip),
            "limits.max_http_connections_per_ip must be between 1 and max_http_connections"
        );
        anyhow::ensure!(
            (100..=600_000).contains(&l.http_header_timeout_ms),
            "limits.http_header_timeout_ms must be between 100 and 600000"
        );
        anyhow::ensure!(
            (100..=3_600_000).contains(&l.http_body_timeout_ms),
            "limits.http_body_timeout_ms must be between 100 and 3600000"
        );
        anyhow::ensure!(
            l.submit_rate_per_ip >= 1,
            "limits.submit_rate_per_ip must be at least 1"
        );
        anyhow::ensure!(
            l.submit_burst_per_ip >= 1,
            "limits.submit_burst_per_ip must be at least 1"
        );
        anyhow::ensure!(
            (0..=crate::priority::MAX_NICE).contains(&l.writer_nice),
            "limits.writer_nice must be between 0 and 19"
        );
        anyhow::ensure!(
            l.max_body_bytes >= 2 * ledger_core::encoding::MAX_RECORD_BYTES + 64,
            "limits.max_body_bytes must hold one maximal record in hex"
        );
        anyhow::ensure!(
            l.stranger_capacity == 0
                || l.stranger_bytes >= ledger_core::encoding::MAX_RECORD_BYTES as u64,
            "limits.stranger_bytes must hold one maximal record ({} bytes), or set \
             limits.stranger_capacity to 0",
            ledger_core::encoding::MAX_RECORD_BYTES
        );
        anyhow::ensure!(
            l.stranger_capacity == 0 || (1..=l.stranger_capacity).contains(&l.stranger_per_source),
            "limits.stranger_per_source must be between 1 and limits.stranger_capacity ({})",
            l.stranger_capacity
        );
        anyhow::ensure!(
            l.pending_ttl_ms >= 60_000 && l.pending_ttl_ms >= l.sync_interval_ms.saturating_mul(2),
            "limits.pending_ttl_ms must be at least a minute and two sync intervals, so a \
             record's causes have time to come"
        );
        anyhow::ensure!(
            l.max_park_ahead_ms <= l.pending_ttl_ms,
            "limits.max_park_ahead_ms must not exceed limits.pending_ttl_ms (a record parked \
             for its time would expire first)"
        );
        anyhow::ensure!(
            (100..=24 * 3_600_000).contains(&self.checkpoints.interval_ms),
            "checkpoints.interval_ms must be between 100 and 86400000 (a day)"
        );
        Ok(Settings {
            checkpoints: self.checkpoints.clone(),
            data_dir: self.data_dir.clone(),
            genesis: self.genesis.clone(),
            listen: parse(&self.listen, "listen")?,
            bootstrap: parse(&self.bootstrap, "bootstrap")?,
            http: self.http,
            mdns: self.mdns,
            submit_tokens: self.submit_tokens.clone(),
            limits: self.limits.clone(),
            epcis: self.epcis.clone(),
        })
    }
}

/// An error in a configuration file, shown on one line as
/// `FILE:LINE:COL: MESSAGE` (`FILE: MESSAGE` when no place is known).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// Line and column (from 1) of the fault, when known.
    pub at: Option<(usize, usize)>,
    /// What is wrong, on one line.
    pub message: String,
}

impl ConfigError {
    fn new(path: &Path, at: Option<(usize, usize)>, message: &str) -> Self {
        ConfigError {
            path: path.to_owned(),
            at,
            message: message.split_whitespace().collect::<Vec<_>>().join(" "),
        }
    }
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.at {
            Some((line, col)) => {
                write!(f, "{}:{line}:{col}: {}", self.path.display(), self.message)
            }
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Line and column (from 1, the column in characters) of byte `offset`.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

/// The settings an error message names: `table.key` (e.g.
/// `limits.max_strikes`), or a top-level key it starts with.
fn setting_names(message: &str) -> impl Iterator<Item = (&str, &str)> {
    let first = message
        .split_whitespace()
        .next()
        .filter(|w| matches!(*w, "listen" | "bootstrap"))
        .map(|w| ("", w));
    let dotted = message
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
        .filter_map(|w| w.trim_end_matches('.').split_once('.'))
        .filter(|(t, k)| !t.is_empty() && !k.is_empty() && !k.contains('.'));
    dotted.chain(first)
}

/// Where `key` of table `table` (`""`: the top level) is set in `text`.
fn locate(text: &str, table: &str, key: &str) -> Option<(usize, usize)> {
    let mut current = "";
    let dotted = format!("{table}.{key}");
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if let Some(header) = trimmed.strip_prefix('[') {
            current = header.split(']').next().unwrap_or("").trim();
            continue;
        }
        let Some((name, _)) = trimmed.split_once('=') else {
            continue;
        };
        let name = name.trim();
        if (current == table && name == key) || (current.is_empty() && name == dotted) {
            return Some((i + 1, line.len() - trimmed.len() + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(change: impl FnOnce(&mut Limits)) -> anyhow::Result<Settings> {
        let mut c = Config::new("data".into(), "genesis.json".into());
        change(&mut c.limits);
        c.settings()
    }

    #[test]
    fn pending_pool_limits_are_checked() {
        assert!(with(|_| {}).is_ok());
        let e = with(|l| l.stranger_bytes = 1_000).unwrap_err();
        assert!(e.to_string().contains("limits.stranger_bytes"), "{e}");
        assert!(with(|l| {
            l.stranger_capacity = 0;
            l.stranger_bytes = 0;
        })
        .is_ok());
        let e = with(|l| l.stranger_per_source = 0).unwrap_err();
        assert!(e.to_string().contains("limits.stranger_per_source"), "{e}");
        let e = with(|l| l.stranger_per_source = l.stranger_capacity + 1).unwrap_err();
        assert!(e.to_string().contains("limits.stranger_per_source"), "{e}");
        assert!(with(|l| l.stranger_per_source = l.stranger_capacity).is_ok());
        assert!(with(|l| l.stranger_per_source = 1).is_ok());
        // Strangers parked nowhere: no share to check.
        for per_source in [0, 250] {
            assert!(with(|l| {
                l.stranger_capacity = 0;
                l.stranger_bytes = 0;
                l.stranger_per_source = per_source;
            })
            .is_ok());
        }
        let e = with(|l| l.pending_ttl_ms = 1_000).unwrap_err();
        assert!(e.to_string().contains("limits.pending_ttl_ms"), "{e}");
        let e = with(|l| l.max_park_ahead_ms = l.pending_ttl_ms + 1).unwrap_err();
        assert!(e.to_string().contains("limits.max_park_ahead_ms"), "{e}");
    }

    #[test]
    fn config_errors_name_their_line() {
        assert_eq!(line_col("a = 1\nbb = 2\n", 8), (2, 3));
        assert_eq!(line_col("", 5), (1, 1));
        let text = "data_dir = \"d\"\n[limits]\n  max_strikes = 0\n";
        assert_eq!(locate(text, "limits", "max_strikes"), Some((3, 3)));
        assert_eq!(locate(text, "", "max_strikes"), None);
        assert_eq!(
            locate("limits.ban_ms = 1\n", "limits", "ban_ms"),
            Some((1, 1))
        );
        let names: Vec<_> =
            setting_names("limits.max_peers must be at least limits.target_peers").collect();
        assert_eq!(names, [("limits", "max_peers"), ("limits", "target_peers")]);
        let e = ConfigError::new(Path::new("t.toml"), Some((2, 5)), "bad\n  thing");
        assert_eq!(e.to_string(), "t.toml:2:5: bad thing");
    }
}
