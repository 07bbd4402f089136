//! A remote `terroird` node as a [`Backend`]: reads go to its HTTP API
//! (`docs/api.md`), records signed here are submitted with `POST /records`.
//! The private key never leaves this machine.
//!
//! Traces are computed here from the lot's bundle after verifying it
//! against the network id, so a node can only show what its signatures
//! prove.

use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use ledger_core::graph::MemGraph;
use ledger_core::query::{Lineage, Trace};
use ledger_core::reach::Reach;
use ledger_core::reader::Participant;
use ledger_core::tlog::StatusProofs;
use ledger_core::{
    bundle, Genesis, Hash, LotId, NetworkId, PublicKey, Quantity, Role, SignedRecord,
};
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use serde::Deserialize;
use serde_json::Value;

use crate::backend::{Backend, KeyView, Submitted};
use crate::settings::NodeUrl;
use ledger_core::product::GtinRight;

/// How long one request may take before the node counts as unreachable.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest JSON answer read (participants, lots, records).
const MAX_JSON: u64 = 16 * 1024 * 1024;
/// The largest bundle read (the same cap as `terroir verify`).
const MAX_BUNDLE: u64 = 64 * 1024 * 1024;

/// A node, reached over HTTP.
#[derive(Debug)]
pub(crate) struct Node {
    agent: ureq::Agent,
    url: NodeUrl,
    /// The write token sent with submissions, if any.
    token: Option<String>,
    network: NetworkId,
    status: Value,
}

/// `GET /keys/{key}`.
#[derive(Deserialize)]
struct KeyJson {
    identity: PublicKey,
    role: Role,
    name: String,
    head: Option<HeadJson>,
    retired_at: Option<u64>,
    introduced_by: Option<Hash>,
    revoked: Option<String>,
    #[serde(default)]
    gtin_rights: Vec<GtinRight>,
}

#[derive(Deserialize)]
struct HeadJson {
    seq: u64,
    hash: Hash,
}

/// One row of `GET /participants` (the core's `Participant` is not
/// deserializable; this mirrors it).
#[derive(Deserialize)]
struct ParticipantJson {
    key: PublicKey,
    name: String,
    role: Role,
    location: Option<ledger_core::event::Location>,
    enrolled_by: Option<Hash>,
    /// Absent from nodes of earlier builds.
    #[serde(default)]
    uscc: Option<String>,
}

/// One page of a node's log (see [`Node::log_page`]).
pub(crate) struct LogPage {
    pub(crate) records: Vec<SignedRecord>,
    /// The seq to ask after next.
    pub(crate) next: u64,
    /// The log's last seq when the node answered.
    pub(crate) end: u64,
}

#[derive(Deserialize)]
struct LogPageJson {
    records: Vec<LogEntryJson>,
    next: u64,
    end: u64,
}

#[derive(Deserialize)]
struct LogEntryJson {
    seq: u64,
    hex: String,
}

/// `GET /holdings/{key}`.
#[derive(Deserialize)]
struct HoldingsJson {
    holdings: Vec<HeldJson>,
}

#[derive(Deserialize)]
struct HeldJson {
    lot: LotId,
    quantity: Quantity,
}

#[derive(Deserialize)]
struct LineageJson {
    records: u64,
    digest: Hash,
}

/// What a node did with one record of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BatchOutcome {
    /// Stored, now or before.
    Stored,
    /// Refused by the rules, with the reason in words.
    Refused(String),
    /// Not stored yet (it waits for records the node lacks, or the node
    /// has no room): offered again on the next sync.
    Waiting(String),
}

impl BatchOutcome {
    fn of(v: &Value) -> Self {
        match v["outcome"].as_str().unwrap_or_default() {
            "accepted" | "duplicate" => BatchOutcome::Stored,
            "rejected" => {
                BatchOutcome::Refused(v["error"].as_str().unwrap_or("no reason given").to_owned())
            }
            "pending" => {
                BatchOutcome::Waiting("it depends on records the node does not have yet".to_owned())
            }
            "too_far_ahead" => {
                BatchOutcome::Waiting("it is dated ahead of the node's clock".to_owned())
            }
            other => BatchOutcome::Waiting(format!(
                "the node did not store it ({})",
                other.replace('_', " ")
            )),
        }
    }
}

impl Node {
    /// Connects: reads `GET /status`, which also proves the node is there.
    pub(crate) fn connect(url: &NodeUrl, token: Option<String>) -> Result<Self> {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .http_status_as_error(false)
            .build()
            .into();
        let probe = Node {
            agent,
            url: url.clone(),
            token: None,
            network: Hash([0; 32]),
            status: Value::Null,
        };
        let status = probe
            .get_json("/status")?
            .ok_or_else(|| anyhow!("{url} answered 404 on /status: is it a terroird node?"))?;
        let id = status["network_id"]
            .as_str()
            .and_then(|h| Hash::from_hex(h).ok())
            .ok_or_else(|| anyhow!("{url}/status names no network id: is it a terroird node?"))?;
        let node = Node {
            network: id,
            status,
            token,
            ..probe
        };
        Ok(node)
    }

    /// The node's `GET /status` answer, as read on connecting.
    pub(crate) fn status(&self) -> &Value {
        &self.status
    }

    fn unreachable(&self, e: ureq::Error) -> anyhow::Error {
        anyhow!("cannot reach the node at {}: {e}", self.url)
    }

    /// An answer's status and body, read up to `limit` bytes.
    fn answer(
        mut resp: ureq::http::Response<ureq::Body>,
        limit: u64,
        method: &str,
        path: &str,
    ) -> Result<(u16, Vec<u8>)> {
        let code = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| anyhow!("reading the node's answer to {method} {path}: {e}"))?;
        Ok((code, body))
    }

    /// A GET; `None` on 404, an error with the node's reason on any other
    /// failure.
    fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>> {
        let resp = self
            .agent
            .get(format!("{}{path}", self.url))
            .call()
            .map_err(|e| self.unreachable(e))?;
        let (code, body) = Self::answer(resp, limit, "GET", path)?;
        match code {
            200 => Ok(Some(body)),
            404 => Ok(None),
            _ => Err(self.refusal(code, &body)),
        }
    }

    fn get_json(&self, path: &str) -> Result<Option<Value>> {
        match self.get(path, MAX_JSON)? {
            None => Ok(None),
            Some(b) => serde_json::from_slice(&b)
                .map(Some)
                .with_context(|| format!("the node's answer to GET {path} is not JSON")),
        }
    }

    /// The node's `{"error": reason}` as an error.
    fn refusal(&self, code: u16, body: &[u8]) -> anyhow::Error {
        let reason = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(body).trim().to_owned());
        anyhow!("the node at {} refused ({code}): {reason}", self.url)
    }

    fn lot_path(lot: &LotId, what: &str) -> String {
        format!(
            "/lots/{}/{}/{what}",
            lot.source.to_hex(),
            utf8_percent_encode(&lot.code, NON_ALPHANUMERIC)
        )
    }

    /// `GET /genesis`: the network's founding document.
    pub(crate) fn genesis_doc(&self) -> Result<Genesis> {
        let v = self.get_json("/genesis")?.ok_or_else(|| {
            anyhow!(
                "the node at {} does not hand out its genesis (GET /genesis answered 404): it is                  older than this terroir; join with --genesis FILE instead",
                self.url
            )
        })?;
        let g: Genesis = serde_json::from_value(v)
            .with_context(|| format!("the node at {} sent no genesis document", self.url))?;
        g.check()
            .with_context(|| format!("the genesis the node at {} sent", self.url))?;
        if g.id() != self.network {
            bail!(
                "the node at {} sent a genesis of network {} but serves network {}",
                self.url,
                g.id().short(),
                self.network.short()
            );
        }
        Ok(g)
    }

    /// `GET /log`: up to `limit` of the node's records after its log seq
    /// `after`, in the order it accepted them (each after what it
    /// depends on), with the seq to ask after next and the log's end.
    pub(crate) fn log_page(&self, after: u64, limit: usize) -> Result<LogPage> {
        let path = format!("/log?after={after}&limit={limit}");
        let v = self.get_json(&path)?.ok_or_else(|| {
            anyhow!(
                "the node at {} does not serve its log (GET /log answered 404): it is older than                  this terroir",
                self.url
            )
        })?;
        let page: LogPageJson = serde_json::from_value(v)
            .with_context(|| format!("the node's answer to GET {path} is not a log page"))?;
        let mut records = Vec::with_capacity(page.records.len());
        for e in page.records {
            let bytes = hex::decode(&e.hex)
                .map_err(|_| anyhow!("the node's log entry {} is not hex", e.seq))?;
            let r = SignedRecord::decode(&bytes)
                .map_err(|e2| anyhow!("the node's log entry {} is not a record: {e2}", e.seq))?;
            records.push(r);
        }
        Ok(LogPage {
            records,
            next: page.next,
            end: page.end,
        })
    }

    /// `GET /lineage/{key}`: how many records the key's chain and its
    /// causal past hold at the node, and their digest; `None` when the
    /// node has no record by the key.
    pub(crate) fn lineage(&self, key: &PublicKey) -> Result<Option<Lineage>> {
        let path = format!("/lineage/{}", key.to_hex());
        let Some(v) = self.get_json(&path)? else {
            return Ok(None);
        };
        let l: LineageJson = serde_json::from_value(v)
            .with_context(|| format!("the node's answer to GET {path} is not a lineage"))?;
        Ok(Some(Lineage {
            records: l.records,
            digest: l.digest,
        }))
    }

    /// `POST /records` with many records at once: each one's outcome, in
    /// the order given. A batch the node finds too large is split.
    pub(crate) fn submit_batch(&self, records: &[SignedRecord]) -> Result<Vec<BatchOutcome>> {
        let body = serde_json::json!({
            "records": records.iter().map(|r| hex::encode(r.encode())).collect::<Vec<_>>()
        });
        let mut post = self.agent.post(format!("{}/records", self.url));
        if let Some(token) = &self.token {
            post = post.header("Authorization", &format!("Bearer {token}"));
        }
        let resp = post.send_json(&body).map_err(|e| self.unreachable(e))?;
        let (code, bytes) = Self::answer(resp, MAX_JSON, "POST", "/records")?;
        if code == 413 && records.len() > 1 {
            let (a, b) = records.split_at(records.len() / 2);
            let mut out = self.submit_batch(a)?;
            out.extend(self.submit_batch(b)?);
            return Ok(out);
        }
        if code == 401 {
            return Err(self.refusal(code, &bytes).context(
                "this node takes records only with a write token: pass it with --node-token or \
                 TERROIR_NODE_TOKEN",
            ));
        }
        if code != 200 {
            return Err(self.refusal(code, &bytes));
        }
        let v: Value = serde_json::from_slice(&bytes)
            .with_context(|| "the node's answer to POST /records is not JSON")?;
        let results = v["results"]
            .as_array()
            .ok_or_else(|| anyhow!("the node's answer to POST /records lists no results"))?;
        if results.len() != records.len() {
            bail!(
                "the node answered {} verdicts for {} records",
                results.len(),
                records.len()
            );
        }
        Ok(results.iter().map(BatchOutcome::of).collect())
    }

    /// `POST /proof/status`: the node's newest final checkpoint (signed
    /// note) with the status map's proofs for `lots`, which a bundle's
    /// lineage lots are re-judged against. Verified by the caller
    /// ([`bundle::verify_with_status`]), never trusted as answered.
    pub(crate) fn status_proofs(&self, lots: &[LotId]) -> Result<StatusProofs> {
        const PATH: &str = "/proof/status";
        let body = serde_json::json!({ "lots": lots });
        let resp = self
            .agent
            .post(format!("{}{PATH}", self.url))
            .send_json(&body)
            .map_err(|e| self.unreachable(e))?;
        let (code, bytes) = Self::answer(resp, MAX_JSON, "POST", PATH)?;
        match code {
            200 => serde_json::from_slice(&bytes)
                .with_context(|| format!("the node's answer to POST {PATH} is not status proofs")),
            404 => Err(anyhow!(
                "the node at {} has no status proofs (POST {PATH} answered 404): it has no final \
                 checkpoint yet, or is older than this terroir",
                self.url
            )),
            _ => Err(self.refusal(code, &bytes)),
        }
    }

    /// A final checkpoint's signed note: the newest, or the one at
    /// `height`; `None` if the node has none (there).
    pub(crate) fn checkpoint_note(&self, height: Option<u64>) -> Result<Option<Vec<u8>>> {
        let path = match height {
            Some(h) => format!("/checkpoint/{h}"),
            None => "/checkpoint".to_owned(),
        };
        self.get(&path, MAX_JSON)
    }

    /// The node's RFC 9162 consistency proof between two tree sizes
    /// (checked by the caller, never trusted as answered).
    pub(crate) fn consistency(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        let path = format!("/proof/consistency?from={from}&to={to}");
        let Some(v) = self.get_json(&path)? else {
            bail!(
                "the node at {} has no consistency proof from {from} to {to} records: its \
                 newest checkpoint is older",
                self.url
            );
        };
        v["path"]
            .as_array()
            .ok_or_else(|| anyhow!("the node's answer to GET {path} has no path"))?
            .iter()
            .map(|h| {
                h.as_str()
                    .and_then(|h| Hash::from_hex(h).ok())
                    .ok_or_else(|| anyhow!("the node's consistency proof holds a malformed hash"))
            })
            .collect()
    }

    /// The lot's bundle, verified against the network.
    fn verified(&self, lot: &LotId) -> Result<Option<(Vec<u8>, Trace)>> {
        let Some(bytes) = self.get(&Self::lot_path(lot, "bundle"), MAX_BUNDLE)? else {
            return Ok(None);
        };
        let v = bundle::verify(&bytes, &self.network);
        if let Some(f) = v.failure() {
            bail!(
                "the node's bundle of lot {lot} failed verification: {}: {}",
                f.name,
                f.detail
            );
        }
        let trace = v
            .trace
            .ok_or_else(|| anyhow!("the node's bundle of lot {lot} traces nothing"))?;
        Ok(Some((bytes, trace)))
    }
}

impl Backend for Node {
    fn network(&self) -> NetworkId {
        self.network
    }

    fn place(&self) -> String {
        format!("the node at {}", self.url)
    }

    fn key(&self, key: &PublicKey) -> Result<Option<KeyView>> {
        let Some(v) = self.get_json(&format!("/keys/{}", key.to_hex()))? else {
            return Ok(None);
        };
        let k: KeyJson = serde_json::from_value(v).context("the node's key answer")?;
        Ok(Some(KeyView {
            identity: k.identity,
            role: k.role,
            name: k.name,
            head: k.head.map(|h| (h.seq, h.hash)),
            retired_at: k.retired_at,
            introduced_by: k.introduced_by,
            revoked: k.revoked,
            gtin_rights: k.gtin_rights,
        }))
    }

    fn participants(&self) -> Result<Vec<Participant>> {
        let v = self
            .get_json("/participants")?
            .ok_or_else(|| anyhow!("the node has no /participants"))?;
        let rows: Vec<ParticipantJson> = serde_json::from_value(v["participants"].clone())
            .context("the node's participant list")?;
        Ok(rows
            .into_iter()
            .map(|p| Participant {
                key: p.key,
                name: p.name,
                role: p.role,
                location: p.location,
                enrolled_by: p.enrolled_by,
                uscc: p.uscc,
            })
            .collect())
    }

    fn lots_with_code(&self, code: &str) -> Result<Vec<LotId>> {
        let path = format!("/lots?code={}", utf8_percent_encode(code, NON_ALPHANUMERIC));
        let v = self
            .get_json(&path)?
            .ok_or_else(|| anyhow!("the node has no /lots"))?;
        serde_json::from_value(v["lots"].clone()).context("the node's lot list")
    }

    fn records_with_prefix(&self, prefix: &str, _limit: usize) -> Result<Vec<Hash>> {
        bail!(
            "hash prefix {prefix} cannot be looked up on {}: give the full 64-character \
             hash with --node",
            self.place()
        )
    }

    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>> {
        let Some(v) = self.get_json(&format!("/records/{}", hash.to_hex()))? else {
            return Ok(None);
        };
        let bytes = v["hex"]
            .as_str()
            .and_then(|h| hex::decode(h).ok())
            .ok_or_else(|| anyhow!("the node's record {} has no hex", hash.short()))?;
        let r = SignedRecord::decode(&bytes)
            .with_context(|| format!("the node's record {}", hash.short()))?;
        if r.hash() != *hash {
            bail!("the node answered another record for {}", hash.short());
        }
        Ok(Some(r))
    }

    fn creation(&self, lot: &LotId) -> Result<Hash> {
        let Some((bytes, _)) = self.verified(lot)? else {
            bail!("{} has no record of lot {lot}", self.place());
        };
        let b = bundle::Bundle::decode(&bytes)
            .with_context(|| format!("the node's bundle of lot {lot}"))?;
        let graph = MemGraph::new(&b.genesis, b.records);
        ledger_core::query::creation(&graph, lot)?
            .ok_or_else(|| anyhow!("{} has no record creating lot {lot}", self.place()))
    }

    fn trace(&self, lot: &LotId) -> Result<Option<Trace>> {
        Ok(self.verified(lot)?.map(|(_, t)| t))
    }

    fn bundle(&self, lot: &LotId) -> Result<Option<Vec<u8>>> {
        Ok(self.verified(lot)?.map(|(b, _)| b))
    }

    fn genesis(&self, lot: &LotId) -> Result<Genesis> {
        let Some((bytes, _)) = self.verified(lot)? else {
            bail!("{} has no record of lot {lot}", self.place());
        };
        let b = bundle::Bundle::decode(&bytes)
            .with_context(|| format!("the node's bundle of lot {lot}"))?;
        Ok(b.genesis)
    }

    /// `GET /holdings/{key}`: the node's balances (not covered by a
    /// bundle's signatures: balances are the node's reading of its
    /// records).
    fn holdings(&self, who: &PublicKey) -> Result<Vec<(LotId, Quantity)>> {
        let path = format!("/holdings/{}", who.to_hex());
        let Some(v) = self.get_json(&path)? else {
            bail!(
                "{} knows no participant {} (or is older than this terroir: GET /holdings \
                 answered 404)",
                self.place(),
                who.short()
            );
        };
        let h: HoldingsJson = serde_json::from_value(v)
            .with_context(|| format!("the node's answer to GET {path} is not holdings"))?;
        Ok(h.holdings
            .into_iter()
            .filter(|h| h.quantity.amount > 0)
            .map(|h| (h.lot, h.quantity))
            .collect())
    }

    /// `GET /lots/{source}/{code}/downstream`: its `reach`, as the node
    /// computes it from its balances.
    fn reach(&self, lot: &LotId) -> Result<Reach> {
        let path = Self::lot_path(lot, "downstream");
        let v = self
            .get_json(&path)?
            .ok_or_else(|| anyhow!("{} has no record of lot {lot}", self.place()))?;
        if v.get("reach").is_none() {
            bail!(
                "{} lists no holders downstream of lot {lot} (GET {path} has no \"reach\"): it \
                 is older than this terroir",
                self.place()
            );
        }
        serde_json::from_value(v["reach"].clone())
            .with_context(|| format!("the node's answer to GET {path} is not a recall reach"))
    }

    fn load(&mut self, records: Vec<SignedRecord>) -> Result<usize> {
        let outcomes = self.submit_batch(&records)?;
        Ok(outcomes
            .iter()
            .filter(|o| **o == BatchOutcome::Stored)
            .count())
    }

    fn submit(&mut self, record: &SignedRecord, _now: u64) -> Result<Submitted> {
        let body = serde_json::json!({ "record": hex::encode(record.encode()) });
        let mut post = self.agent.post(format!("{}/records", self.url));
        if let Some(token) = &self.token {
            post = post.header("Authorization", &format!("Bearer {token}"));
        }
        let resp = post.send_json(&body).map_err(|e| self.unreachable(e))?;
        let (code, bytes) = Self::answer(resp, MAX_JSON, "POST", "/records")?;
        let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let outcome = v["outcome"].as_str().unwrap_or_default();
        Ok(match (code, outcome) {
            (200, "accepted") => Submitted::Stored { duplicate: false },
            (200, "duplicate") => Submitted::Stored { duplicate: true },
            (422, _) => Submitted::Refused(
                v["error"]
                    .as_str()
                    .unwrap_or("no reason given")
                    .to_owned(),
            ),
            (202, _) => Submitted::NotStored(format!(
                "the node holds the record pending ({}): it depends on records it does not have yet",
                v["waiting_for"].as_str().unwrap_or("missing")
            )),
            (401, _) => {
                let why = self.refusal(code, &bytes);
                return Err(match self.token {
                    None => why.context(
                        "this node takes records only with a write token: ask its operator \
                         for one and pass it with --node-token or TERROIR_NODE_TOKEN",
                    ),
                    Some(_) => why.context(
                        "the node does not accept the write token given (--node-token or \
                         TERROIR_NODE_TOKEN); ask its operator for a valid one",
                    ),
                });
            }
            _ => return Err(self.refusal(code, &bytes)),
        })
    }
}
