//! The HTTP API (JSON): submit signed records, read records, lots, traces,
//! bundles, participants, heads, forks, node status and metrics. Handlers
//! hold only handles; see `docs/api.md` for every endpoint.
//!
//! ## Layout
//! - this file: the routes and their handlers;
//! - `edge`: what every request meets first (budgets for reads and
//!   writes, the per-address write rate, body deadline and size, head
//!   size) and the JSON answers for 404, 405 and rejected extractors;
//! - `serve`: the accept loop: the connection cap and hyper's
//!   header-read timeout;
//! - `counters`: what those limits did, on `GET /metrics`;
//! - `replica`: what a local replica reads: genesis, the log, lineages;
//! - `reads`: what a station working through a node reads besides traces
//!   and bundles: a participant's holdings;
//! - `tlog`: the transparency log: checkpoints, tiles and proofs;
//! - `epcis`: the EPCIS 2.0 REST binding (capture, capture jobs, the
//!   events query, the OpenAPI document), behind an edge of its own.

mod counters;
mod edge;
pub mod epcis;
mod reads;
mod replica;
mod serve;
pub mod tlog;
pub mod tokens;

pub(crate) use edge::client_key;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use ledger_core::graph::Graph;
use ledger_core::query;
use ledger_core::{Genesis, Hash, LotId, NetworkId, Outcome, PublicKey, SignedRecord};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::net::TcpListener;

pub use self::counters::EdgeCounters;
use self::edge::{ApiPath, ApiQuery, Edge};
use crate::config::Limits;
use crate::ledger_task::{LedgerClosed, LedgerHandle};
use crate::metrics::Metrics;
use crate::network::NetworkHandle;
use crate::page;

/// What every handler shares: handles, never the ledger or swarm itself.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The ledger thread.
    pub ledger: LedgerHandle,
    /// The swarm task.
    pub net: NetworkHandle,
    /// Counters.
    pub metrics: Arc<Metrics>,
    /// The network id.
    pub network: NetworkId,
    /// The network's human name.
    pub network_name: String,
    /// The network's genesis (time zone, language, contact for the page).
    pub genesis: Arc<Genesis>,
    /// This node's libp2p id.
    pub peer_id: String,
    /// Most records in one submission.
    pub max_submit_records: usize,
    /// The tokens writes need, when the deployment requires one.
    pub submit_tokens: Option<Arc<tokens::SubmitTokens>>,
    /// The checkpoint task (what it shows, and where offered
    /// checkpoints go).
    pub checkpoints: crate::checkpoints::CheckpointHandle,
    /// The EPCIS REST binding's state, when `[epcis]` is configured.
    pub epcis: Option<Arc<epcis::Epcis>>,
}

/// An error answered as `{"error": reason}` with a 4xx/5xx status.
#[derive(Debug)]
pub struct ApiError(StatusCode, String);

impl ApiError {
    fn bad(why: impl Into<String>) -> Self {
        ApiError(StatusCode::BAD_REQUEST, why.into())
    }
    fn not_found(why: impl Into<String>) -> Self {
        ApiError(StatusCode::NOT_FOUND, why.into())
    }
    fn internal(why: impl std::fmt::Display) -> Self {
        ApiError(StatusCode::INTERNAL_SERVER_ERROR, why.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

type ApiResult<T> = Result<T, ApiError>;

/// The router, behind the edge (`edge`): separate budgets for reads and
/// writes, the per-address write rate, the body's deadline and size cap,
/// JSON for every error.
pub fn router(state: AppState, limits: &Limits, counters: Arc<EdgeCounters>) -> Router {
    let edge = Arc::new(Edge::new(
        limits,
        state.submit_tokens.clone(),
        counters.clone(),
    ));
    let epcis = epcis::router(state.epcis.clone(), limits, counters.clone());
    Router::new()
        .route("/records", post(submit))
        .route("/records/{hash}", get(get_record))
        .route("/lots", get(find_lots))
        .route("/lots/{source}/{code}/trace", get(lot_trace))
        .route("/lots/{source}/{code}/downstream", get(lot_downstream))
        .route("/lots/{source}/{code}/bundle", get(lot_bundle))
        .route("/keys/{key}", get(key_view))
        .route("/holdings/{key}", get(reads::holdings))
        .route("/participants", get(participants))
        .route("/heads", get(heads))
        .route("/forks", get(forks))
        .route("/status", get(status))
        .route("/genesis", get(replica::genesis))
        .route("/log", get(replica::log))
        .route("/lineage/{key}", get(replica::lineage))
        .route("/checkpoint", get(tlog::newest))
        .route("/checkpoint/{height}", get(tlog::at_height))
        .route("/tile/{*path}", get(tlog::tile))
        .route("/proof/inclusion/{hash}", get(tlog::inclusion))
        .route("/proof/consistency", get(tlog::consistency))
        .route("/proof/status", post(tlog::status_proofs))
        .route("/checkpoints", post(tlog::offer))
        .route("/metrics", get(metrics))
        .route("/01/{*link}", get(digital_link))
        .route("/lot/{source}/{code}", get(consumer_page_by_lot))
        .fallback(edge::not_found)
        .method_not_allowed_fallback(edge::method_not_allowed)
        // The edge reads write bodies against the cap itself; this one is
        // for the extractor, behind it.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(Extension(counters))
        .layer(middleware::from_fn_with_state(edge, edge::gate))
        // Behind an edge of their own (capture tokens, separate budgets).
        .merge(epcis)
        .layer(middleware::from_fn(edge::json_errors))
        .with_state(state)
}

/// Serves `state`'s API on `listener` under `limits` until `stop`
/// completes, then lets open connections finish (a few seconds at most).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    limits: &Limits,
    stop: impl Future<Output = ()>,
) {
    let counters = Arc::new(EdgeCounters::default());
    let app = router(state, limits, counters.clone());
    let conn = serve::ConnLimits {
        max_connections: limits.max_http_connections,
        max_per_ip: limits.max_http_connections_per_ip,
        header_timeout: std::time::Duration::from_millis(limits.http_header_timeout_ms),
    };
    serve::serve(listener, app, conn, counters, stop).await;
}

fn closed<E: std::fmt::Display>(e: E) -> ApiError {
    ApiError(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
}

impl From<LedgerClosed> for ApiError {
    fn from(e: LedgerClosed) -> Self {
        closed(e)
    }
}

impl From<crate::ledger_task::ReadFailed> for ApiError {
    fn from(e: crate::ledger_task::ReadFailed) -> Self {
        match e {
            // HTTP reads never go to a pool that can be full; if one
            // did, the client may try again.
            crate::ledger_task::ReadFailed::Closed | crate::ledger_task::ReadFailed::Busy => {
                closed(e)
            }
            // The panic's text (logged where it happened) is Rust's, not
            // the client's business.
            crate::ledger_task::ReadFailed::Panicked(_) => {
                ApiError::internal("the query failed; the node's log says why")
            }
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitJson {
    record: Option<String>,
    records: Option<Vec<String>>,
}

#[derive(Serialize)]
struct Verdict {
    hash: Hash,
    #[serde(flatten)]
    outcome: Outcome,
}

/// Parses a submission: JSON `{"record": hex}` / `{"records": [hex…]}`, or
/// hex text (records separated by whitespace).
fn parse_submission(body: &[u8], max: usize) -> ApiResult<(Vec<SignedRecord>, bool)> {
    let text = std::str::from_utf8(body).map_err(|_| ApiError::bad("body is not UTF-8"))?;
    let text = text.trim();
    let (hexes, single): (Vec<String>, bool) = if text.starts_with('{') {
        let j: SubmitJson =
            serde_json::from_str(text).map_err(|e| ApiError::bad(format!("body: {e}")))?;
        match (j.record, j.records) {
            (Some(r), None) => (vec![r], true),
            (None, Some(rs)) => (rs, false),
            _ => {
                return Err(ApiError::bad(
                    "give exactly one of \"record\" or \"records\"",
                ))
            }
        }
    } else {
        let v: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
        let single = v.len() == 1;
        (v, single)
    };
    if hexes.is_empty() {
        return Err(ApiError::bad("no record given"));
    }
    if hexes.len() > max {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("{} records in one submission, at most {max}", hexes.len()),
        ));
    }
    let mut out = Vec::with_capacity(hexes.len());
    for (i, h) in hexes.iter().enumerate() {
        let bytes = hex::decode(h.trim())
            .map_err(|e| ApiError::bad(format!("record {i}: not hex: {e}")))?;
        let r = SignedRecord::decode(&bytes)
            .map_err(|e| ApiError::bad(format!("record {i}: {}", decode_words(&e))))?;
        out.push(r);
    }
    Ok((out, single))
}

/// A record that does not decode, in one line and plain words.
fn decode_words(e: &ledger_core::encoding::DecodeError) -> String {
    use ledger_core::encoding::DecodeError;
    match e {
        DecodeError::Malformed { what, reason } => {
            format!("the bytes are not a {what}: {reason}")
        }
        other => other.to_string(),
    }
}

async fn submit(
    State(st): State<AppState>,
    client: Option<Extension<ConnectInfo<SocketAddr>>>,
    body: Bytes,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    // The whole body has been read (the extractor buffers it).
    st.metrics.inc(&st.metrics.submissions_received);
    let (records, single) = parse_submission(&body, st.max_submit_records)?;
    // Records enter the network here: `submit` judges the admission rules
    // (no record by a revoked key after its last trusted seq; one lot per
    // GTIN and lot code) in the same step as ingest, and the
    // ledger thread announces on gossip what it accepts (and what that
    // releases from the pending pool) once it is durable. Strangers'
    // records that must wait count against the client's share of the
    // pool (by its address; an IPv6 client by its /64).
    let source = client.map(|Extension(ConnectInfo(addr))| crate::source::of_client(addr.ip()));
    let report = st
        .ledger
        .submit(records, source)
        .await?
        .map_err(ApiError::internal)?;
    let verdicts: Vec<Verdict> = report
        .outcomes
        .into_iter()
        .map(|(hash, outcome)| Verdict { hash, outcome })
        .collect();
    let mut verdicts = verdicts;
    if single && verdicts.len() == 1 {
        if let Some(v) = verdicts.pop() {
            let code = match &v.outcome {
                Outcome::Accepted | Outcome::Duplicate => StatusCode::OK,
                Outcome::Pending(_) => StatusCode::ACCEPTED,
                Outcome::Rejected { error } => {
                    return Ok((
                        StatusCode::UNPROCESSABLE_ENTITY,
                        Json(json!({ "error": error.to_string(), "hash": v.hash, "outcome": "rejected" })),
                    )
                        .into_response())
                }
                Outcome::PoolFull { .. }
                | Outcome::StrangerPoolFull { .. }
                | Outcome::StrangerSourceFull { .. }
                | Outcome::Expired { .. } => StatusCode::SERVICE_UNAVAILABLE,
                Outcome::TooFarAhead { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            };
            return Ok((code, Json(v)).into_response());
        }
    }
    Ok(Json(json!({ "results": verdicts })).into_response())
}

fn parse_hash(s: &str) -> ApiResult<Hash> {
    Hash::from_hex(s).map_err(|e| ApiError::bad(e.to_string()))
}

fn parse_lot(source: &str, code: String) -> ApiResult<LotId> {
    let source =
        PublicKey::from_hex(source).map_err(|e| ApiError::bad(format!("lot source: {e}")))?;
    Ok(LotId { source, code })
}

async fn get_record(
    State(st): State<AppState>,
    ApiPath(hash): ApiPath<String>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let h = parse_hash(&hash)?;
    let r = st
        .ledger
        .read(move |r| r.record(&h))
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("no record {h}")))?;
    Ok(Json(json!({ "hash": h, "hex": hex::encode(r.encode()), "record": r.record, "signature": hex::encode(r.signature.0) })).into_response())
}

#[derive(Deserialize)]
struct CodeQuery {
    code: String,
}

async fn find_lots(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<CodeQuery>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let lots = st
        .ledger
        .read(move |r| r.lots_with_code(&q.code))
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "lots": lots })).into_response())
}

async fn lot_trace(
    State(st): State<AppState>,
    ApiPath((source, code)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let lot = parse_lot(&source, code)?;
    let trace = st
        .ledger
        .read(move |r| query::trace(r, r, &lot))
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no record creates this lot"))?;
    Ok(Json(trace).into_response())
}

async fn lot_downstream(
    State(st): State<AppState>,
    ApiPath((source, code)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let lot = parse_lot(&source, code)?;
    let l2 = lot.clone();
    // The lots alone, and with who holds each and what is on the road:
    // what `terroir trace --downstream` prints.
    let (down, reach) = st
        .ledger
        .read(move |r| -> Result<_, ledger_core::StoreError> {
            Ok((
                query::downstream_lots(r, &l2)?,
                ledger_core::reach::recall_reach(r, &l2)?,
            ))
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "lot": lot, "downstream": down, "reach": reach })).into_response())
}

async fn lot_bundle(
    State(st): State<AppState>,
    ApiPath((source, code)): ApiPath<(String, String)>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let lot = parse_lot(&source, code)?;
    let bundle = st
        .ledger
        .read(move |r| ledger_core::bundle::export(r, &lot))
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no record names this lot"))?;
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        bundle.encode(),
    )
        .into_response())
}

/// `GET /keys/{key}`: what a client needs to sign the next record with
/// `key` (the CLI signs locally and never sends the key): who it signs for,
/// its chain head, and the record a first record must depend on.
async fn key_view(
    State(st): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let pk = PublicKey::from_hex(&key).map_err(|e| ApiError::bad(format!("key: {e}")))?;
    let view = st
        .ledger
        .read(move |r| -> Result<_, ledger_core::StoreError> {
            let Some(v) = r.signer(&pk)? else {
                return Ok(None);
            };
            let rights = r.gtin_rights(&v.identity)?;
            Ok(Some({
                json!({
                    "key": v.key,
                    "identity": v.identity,
                    "role": v.role,
                    "name": v.name,
                    "head": v.head.map(|(seq, hash)| json!({ "seq": seq, "hash": hash })),
                    "retired_at": v.retired_at,
                    "introduced_by": v.introduced_by,
                    "revoked": v.revoked,
                    "gtin_rights": rights,
                })
            }))
        })
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("key {} is not enrolled", pk.short())))?;
    Ok(Json(view).into_response())
}

async fn participants(State(st): State<AppState>) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let p = st
        .ledger
        .read(|r| r.participants())
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "participants": p })).into_response())
}

async fn heads(State(st): State<AppState>) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let h = st
        .ledger
        .read(|r| r.heads())
        .await?
        .map_err(ApiError::internal)?;
    let rows: Vec<_> = h
        .into_iter()
        .map(|(a, seq, hash)| json!({ "author": a, "seq": seq, "hash": hash }))
        .collect();
    Ok(Json(json!({ "heads": rows })).into_response())
}

async fn forks(State(st): State<AppState>) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let o = st
        .ledger
        .read(|r| r.overlays())
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(json!({ "forks": o.forks })).into_response())
}

/// `GET /status`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Status {
    /// Network id (hex).
    pub network_id: String,
    /// Network name from genesis.
    pub network_name: String,
    /// This node's libp2p peer id.
    pub peer_id: String,
    /// Records stored.
    pub records: u64,
    /// Authors with a chain.
    pub heads: usize,
    /// Records waiting in the pending pool.
    pub pending: usize,
    /// State digest (hex) over the stored records and overlays.
    pub state_digest: String,
    /// Recall records stored.
    #[serde(default)]
    pub recalls: usize,
    /// Revoke records stored.
    #[serde(default)]
    pub revocations: usize,
    /// Equivocations: (author, seq) pairs signed more than once.
    #[serde(default)]
    pub forks: usize,
    /// Connected peers.
    pub peers: Vec<crate::network::PeerInfo>,
    /// Peers connected before and lost since: the node dials them again.
    pub peers_lost: Vec<crate::network::LostPeer>,
    /// Peers in the peer book, connected or not.
    pub peers_known: usize,
    /// Bans in force: peers, and addresses new peers are refused from.
    pub bans: Bans,
    /// The newest final checkpoint, or `null` before the first.
    pub checkpoint: Option<CheckpointStatus>,
    /// What this node does with checkpoints: its role, the proposals it
    /// waits on, those it refused, and any two signed checkpoints that
    /// contradict each other (the proof, in full).
    pub checkpointing: crate::checkpoints::CheckpointView,
}

/// The newest final checkpoint, as `/status` shows it.
#[derive(Debug, Serialize, Deserialize)]
pub struct CheckpointStatus {
    /// Checkpoints before it.
    pub height: u64,
    /// Records in the log it states.
    pub size: u64,
    /// When it was made, RFC 3339 in the network's time zone.
    pub time: String,
    /// The authorities that signed it, by name, in genesis order.
    pub signers: Vec<String>,
    /// How old it is, in seconds.
    pub age_s: u64,
}

impl CheckpointStatus {
    fn of(c: &ledger_core::checkpoint::SignedCheckpoint, genesis: &Genesis, now: u64) -> Self {
        let t = c.checkpoint.time;
        CheckpointStatus {
            height: c.checkpoint.height,
            size: c.checkpoint.size,
            time: ledger_core::time::local(t, genesis.time_zone()).to_rfc3339(),
            signers: c.signer_names(genesis),
            age_s: now.saturating_sub(t) / 1000,
        }
    }
}

/// Bans in force, as `/status` shows them.
#[derive(Debug, Serialize, Deserialize)]
pub struct Bans {
    /// Peers banned.
    pub peers: usize,
    /// Addresses new peers are refused from.
    pub addresses: usize,
}

async fn status(State(st): State<AppState>) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let (records, heads, pending, digest, checkpoint, overlays) = st
        .ledger
        .read(|r| -> Result<_, ledger_core::StoreError> {
            let heads = usize::try_from(r.chain_count()?).unwrap_or(usize::MAX);
            let checkpoint = r.log().checkpoint.clone();
            // Counts from the kind and fork indexes: each scan is as long
            // as its own list (recalls, revocations, forks), never the
            // ledger; `overlays()` would also list every flagged record.
            let overlays = (
                Graph::records_of_kind(r, ledger_core::EventKind::Recall)?.len(),
                Graph::records_of_kind(r, ledger_core::EventKind::Revoke)?.len(),
                Graph::forks(r)?.len(),
            );
            Ok((
                r.len(),
                heads,
                r.pending_len(),
                r.state_digest()?,
                checkpoint,
                overlays,
            ))
        })
        .await?
        .map_err(ApiError::internal)?;
    let peering = st.net.peering().await;
    Ok(Json(Status {
        network_id: st.network.to_hex(),
        network_name: st.network_name.clone(),
        peer_id: st.peer_id.clone(),
        records,
        heads,
        pending,
        state_digest: digest.to_hex(),
        recalls: overlays.0,
        revocations: overlays.1,
        forks: overlays.2,
        peers: peering.peers,
        peers_lost: peering.lost,
        peers_known: peering.known,
        bans: Bans {
            peers: peering.banned_peers,
            addresses: peering.banned_addresses,
        },
        checkpoint: checkpoint.map(|c| CheckpointStatus::of(&c, &st.genesis, now_ms())),
        checkpointing: st.checkpoints.view(),
    })
    .into_response())
}

async fn metrics(
    State(st): State<AppState>,
    Extension(edge): Extension<Arc<EdgeCounters>>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let mut text = st.metrics.render();
    text.push_str(&edge.render());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// What a consumer request asked for besides its path: the language and
/// whether an app wants JSON.
struct Asked {
    lang: page::Lang,
    json: bool,
    path: String,
}

impl Asked {
    fn new(st: &AppState, uri: &Uri, headers: &HeaderMap) -> Asked {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        let query_lang = uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
        let json = header(header::ACCEPT).is_some_and(|a| {
            a.split(',')
                .any(|t| t.trim().starts_with("application/json"))
        });
        Asked {
            lang: page::Lang::choose(&st.genesis, query_lang, header(header::ACCEPT_LANGUAGE)),
            json,
            path: uri.path().to_owned(),
        }
    }

    fn ctx<'a>(&'a self, st: &'a AppState) -> page::Ctx<'a> {
        page::Ctx {
            genesis: &st.genesis,
            network: st.network,
            lang: self.lang,
            now: now_ms(),
            path: &self.path,
        }
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A consumer answer: HTML (or JSON for apps), varying by `Accept` and
/// `Accept-Language`.
fn consumer(
    code: StatusCode,
    asked: &Asked,
    html: impl FnOnce() -> String,
    json: impl FnOnce() -> serde_json::Value,
) -> Response {
    let vary = [(header::VARY, "Accept, Accept-Language")];
    if asked.json {
        (code, vary, Json(json())).into_response()
    } else {
        (code, vary, Html(html())).into_response()
    }
}

fn lot_answer(
    st: &AppState,
    asked: &Asked,
    trace: &query::Trace,
    notes: &[page::Note],
) -> Response {
    let ctx = asked.ctx(st);
    let verdict = ledger_core::verdict::verdict(trace, &st.genesis, ctx.now);
    let bundle = format!(
        "/lots/{}/{}/bundle",
        trace.lot.source.to_hex(),
        ledger_core::gs1::percent_encode(&trace.lot.code)
    );
    consumer(
        StatusCode::OK,
        asked,
        || page::lot_page(&ctx, trace, &verdict, notes),
        || {
            let mut note = serde_json::Map::new();
            for n in notes {
                let (key, value) = match n {
                    page::Note::Serial(s) => ("serial", json!(s)),
                    page::Note::Variant(c) => ("variant", json!(c)),
                    page::Note::SharedCode(lots) => ("lots_with_this_code", json!(lots)),
                    // Its own field, `checkpoint`, below.
                    page::Note::Standing(_) => continue,
                    // Shown on the page's certificates only.
                    page::Note::CreditCodes(_) => continue,
                };
                note.insert(key.into(), value);
            }
            if note.contains_key("serial") || note.contains_key("variant") {
                note.insert("tracked".into(), json!("lot"));
            }
            let note = if note.is_empty() {
                serde_json::Value::Null
            } else {
                serde_json::Value::Object(note)
            };
            let checkpoint = notes
                .iter()
                .find_map(|n| match n {
                    page::Note::Standing(s) => Some(page::standing::standing_json(&ctx, s)),
                    _ => None,
                })
                .unwrap_or(serde_json::Value::Null);
            json!({ "verdict": verdict, "trace": trace, "bundle": bundle, "note": note, "checkpoint": checkpoint })
        },
    )
}

fn unknown_answer(st: &AppState, asked: &Asked, gtin: Option<&str>, lot: Option<&str>) -> Response {
    let ctx = asked.ctx(st);
    consumer(
        StatusCode::NOT_FOUND,
        asked,
        || page::unknown_page(&ctx, gtin, lot),
        || {
            json!({
                "error": "no lot with this product and lot code is recorded",
                "verdict": { "finding": { "kind": "unknown" }, "contact": ledger_core::verdict::contact(&st.genesis) },
                "gtin": gtin,
                "lot": lot,
            })
        },
    )
}

fn bad_link_answer(st: &AppState, asked: &Asked, why: &page::BadLink) -> Response {
    let ctx = asked.ctx(st);
    consumer(
        StatusCode::BAD_REQUEST,
        asked,
        || page::bad_link_page(&ctx, why),
        || json!({ "error": page::bad_link_words(page::Lang::En, why) }),
    )
}

/// `GET /01/{gtin}[/22/{cpv}][/10/{lot}][/21/{serial}]`: the consumer page
/// a QR code opens (GS1 Digital Link). A lot resolves to its page (a serial
/// or variant with it is noted: the ledger tracks lots); a product alone
/// lists its lots; a serial without its lot asks for the lot. Malformed
/// links are a 400 page saying what is wrong, unknown codes a 404 page
/// warning of a possible counterfeit.
async fn digital_link(State(st): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let asked = Asked::new(&st, &uri, &headers);
    let target = match page::link::parse(uri.path()) {
        Ok(t) => t,
        Err(e) => return bad_link_answer(&st, &asked, &page::BadLink::Link(e)),
    };
    let gtin = target.gtin.clone();
    match target.lot.clone() {
        Some(lot) => {
            let (g, code) = (gtin.clone(), lot.clone());
            let genesis = st.genesis.clone();
            let result = st
                .ledger
                .read(move |r| -> Result<_, ledger_core::StoreError> {
                    let Some((trace, lots)) = page::find_trace(r, &g, &code)? else {
                        return Ok(None);
                    };
                    let standing = page::standing(r, &genesis, &trace.lot)?;
                    let codes = page::credit_codes(r, &trace)?;
                    Ok(Some((trace, lots, standing, codes)))
                })
                .await;
            match result {
                Ok(Ok(Some((trace, lots, standing, codes)))) => {
                    let mut notes = vec![
                        page::Note::Standing(standing),
                        page::Note::CreditCodes(codes),
                    ];
                    if lots > 1 {
                        notes.push(page::Note::SharedCode(lots));
                    }
                    match (target.serial, target.cpv) {
                        (Some(s), _) => notes.push(page::Note::Serial(s)),
                        (None, Some(c)) => notes.push(page::Note::Variant(c)),
                        (None, None) => {}
                    }
                    lot_answer(&st, &asked, &trace, &notes)
                }
                Ok(Ok(None)) => unknown_answer(&st, &asked, Some(&gtin), Some(&lot)),
                Ok(Err(e)) => ApiError::internal(e).into_response(),
                Err(e) => closed(e).into_response(),
            }
        }
        None => {
            let g = gtin.clone();
            let result = st.ledger.read(move |r| page::product_traces(r, &g)).await;
            let traces = match result {
                Ok(Ok(t)) => t,
                Ok(Err(e)) => return ApiError::internal(e).into_response(),
                Err(e) => return closed(e).into_response(),
            };
            if traces.is_empty() {
                return unknown_answer(&st, &asked, Some(&gtin), None);
            }
            let ctx = asked.ctx(&st);
            let lots: Vec<_> = traces
                .into_iter()
                .map(|t| {
                    let v = ledger_core::verdict::verdict(&t, &st.genesis, ctx.now);
                    (t, v)
                })
                .collect();
            let serial = target.serial.clone();
            let code = if serial.is_some() {
                StatusCode::NOT_FOUND
            } else {
                StatusCode::OK
            };
            consumer(
                code,
                &asked,
                || page::product_page(&ctx, &gtin, &lots, serial.as_deref()),
                || {
                    let rows: Vec<_> = lots
                        .iter()
                        .map(|(t, v)| json!({ "lot": t.lot, "product": t.product, "verdict": v }))
                        .collect();
                    let mut v = json!({ "gtin": gtin, "lots": rows });
                    if let Some(s) = &serial {
                        v["error"] =
                            json!("serials are not tracked one by one: the lot number is needed");
                        v["serial"] = json!(s);
                    }
                    v
                },
            )
        }
    }
}

/// `GET /lot/{source}/{code}`: the consumer page of a lot named by its
/// creator's key (hex) and its code, the link `terroir qr` prints for a lot
/// whose product has no GTIN. Axum percent-decodes the segments; one that
/// is not UTF-8, or a source that is not a key, is a 400 page with the
/// reason, an unknown lot a 404 page.
async fn consumer_page_by_lot(
    State(st): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let asked = Asked::new(&st, &uri, &headers);
    let lot = path
        .map_err(|_| page::BadLink::Encoding)
        .and_then(|Path((source, code))| page::lot_id(&source, code));
    let lot = match lot {
        Ok(lot) => lot,
        Err(why) => return bad_link_answer(&st, &asked, &why),
    };
    let code = lot.code.clone();
    let genesis = st.genesis.clone();
    let result = st
        .ledger
        .read(move |r| -> Result<_, ledger_core::StoreError> {
            let Some(trace) = page::find_lot(r, &lot)? else {
                return Ok(None);
            };
            let standing = page::standing(r, &genesis, &lot)?;
            let codes = page::credit_codes(r, &trace)?;
            Ok(Some((trace, standing, codes)))
        })
        .await;
    match result {
        Ok(Ok(Some((trace, standing, codes)))) => lot_answer(
            &st,
            &asked,
            &trace,
            &[
                page::Note::Standing(standing),
                page::Note::CreditCodes(codes),
            ],
        ),
        Ok(Ok(None)) => unknown_answer(&st, &asked, None, Some(&code)),
        Ok(Err(e)) => ApiError::internal(e).into_response(),
        Err(e) => closed(e).into_response(),
    }
}
