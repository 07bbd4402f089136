//! What a local replica (the CLI's copy of a network's ledger) reads from
//! a node: the genesis it was founded on, the node's records in the order
//! it accepted them (causes before effects, so a replica can ingest them
//! page by page without a pending pool), and the summed lineage of one
//! key, to check it holds the same history of that key as the node.
//!
//! - `GET /genesis`: the genesis document, as `genesis.json` holds it.
//! - `GET /log?after=N&limit=K`: log entries with seq > N, oldest first.
//! - `GET /lineage/{key}`: [`query::lineage_digest`] of a key.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::query;
use ledger_core::{Hash, PublicKey};
use serde::{Deserialize, Serialize};

use super::edge::{ApiPath, ApiQuery};
use super::{ApiError, ApiResult, AppState};

/// Entries a `/log` page holds when the client names no `limit`.
pub(crate) const LOG_DEFAULT_LIMIT: usize = 500;
/// Most entries a `/log` page may ask for: about 0.6 MB of hex at the
/// typical record size, small enough to answer from one read.
pub(crate) const LOG_MAX_LIMIT: usize = 2000;
/// Record bytes after which a `/log` page is cut short (before hex): a
/// page of 2,000 records at the 64 KiB record limit would otherwise be
/// 256 MB of JSON. A page always holds at least one entry when there is
/// one; the client continues from `next`.
pub(crate) const LOG_PAGE_BYTES: usize = 4 * 1024 * 1024;

/// `GET /genesis`: the network's genesis document, as the CLI writes it to
/// `genesis.json` (pretty JSON and a newline). Its network id is the
/// SHA-256 of its canonical encoding, not of these bytes: a client checks
/// it by decoding the JSON and asking the document for its id.
pub(super) async fn genesis(State(st): State<AppState>) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let text = serde_json::to_string_pretty(&*st.genesis).map_err(ApiError::internal)? + "\n";
    Ok(([(header::CONTENT_TYPE, "application/json")], text).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LogQuery {
    after: Option<u64>,
    limit: Option<usize>,
}

/// One log entry: its seq and the record's canonical bytes, hex.
#[derive(Serialize)]
struct LogEntry {
    seq: u64,
    hex: String,
}

#[derive(Serialize)]
struct LogPage {
    records: Vec<LogEntry>,
    /// The seq of the page's last entry, or `after` when it has none: the
    /// `after` of the next request.
    next: u64,
    /// The log's last seq (its length: seqs run from 1 with no gap).
    end: u64,
}

/// `GET /log?after=N&limit=K`: up to `limit` (500 by default, at most
/// 2,000; fewer past [`LOG_PAGE_BYTES`]) of this node's log entries with
/// seq greater than `after` (0 by default: from the first, seq 1), in log
/// order.
pub(super) async fn log(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let after = q.after.unwrap_or(0);
    let limit = q.limit.unwrap_or(LOG_DEFAULT_LIMIT);
    if limit == 0 || limit > LOG_MAX_LIMIT {
        return Err(ApiError::bad(format!(
            "limit {limit} is out of range: ask for 1 to {LOG_MAX_LIMIT} entries"
        )));
    }
    let page = st
        .ledger
        .read(move |r| -> Result<_, ledger_core::StoreError> {
            let end = r.len();
            let mut records = Vec::new();
            let mut bytes = 0usize;
            for (seq, enc) in r.log_page(after, limit)? {
                if bytes >= LOG_PAGE_BYTES {
                    break;
                }
                bytes += enc.len();
                records.push(LogEntry {
                    seq,
                    hex: hex::encode(enc),
                });
            }
            let next = records.last().map_or(after, |e| e.seq);
            Ok(LogPage { records, next, end })
        })
        .await?
        .map_err(ApiError::internal)?;
    Ok(Json(page).into_response())
}

#[derive(Serialize)]
struct LineageView {
    key: PublicKey,
    records: u64,
    digest: Hash,
}

/// `GET /lineage/{key}`: the count and digest of the causal closure of
/// `key`'s chain ([`query::lineage_digest`]); 404 when the key has no
/// chain here.
pub(super) async fn lineage(
    State(st): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let pk = PublicKey::from_hex(&key).map_err(|e| ApiError::bad(format!("key: {e}")))?;
    let l = st
        .ledger
        .read(move |r| query::lineage_digest(r, &pk))
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| {
            ApiError::not_found(format!("key {} has no records on this node", pk.short()))
        })?;
    Ok(Json(LineageView {
        key: pk,
        records: l.records,
        digest: l.digest,
    })
    .into_response())
}
