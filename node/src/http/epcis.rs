//! The EPCIS 2.0 REST binding: capture (`POST /capture`), capture jobs
//! (`GET /capture`, `GET /capture/{captureID}`), the events query
//! (`GET /events`), named queries (`/queries`), their subscriptions by
//! webhook and WebSocket (`/queries/{name}/subscriptions`) and the OpenAPI
//! document (`GET /openapi.json`). Named queries and webhook
//! subscriptions are saved in the data directory (`epcis.json`). See
//! `docs/api.md`,
//! "EPCIS 2.0 REST binding", and `docs/operator.md`, "Capturing EPCIS
//! events".
//!
//! Captured documents are mapped by `terroir_standards::import` and
//! signed, as one atomic batch, with the organisation's participant key the
//! operator configured in `[epcis]` (never the node's libp2p key), on the
//! ledger thread (`LedgerHandle::exclusive_announcing`), so the batch is
//! judged against the ledger as it stands and announced like a submission.
//!
//! ## Layout
//! - this file: the shared state ([`Epcis`]), who may capture and query,
//!   the routes and their own edge;
//! - `capture`: capture and capture jobs;
//! - `events`: the events query;
//! - `queries`: named queries;
//! - `subscriptions`: webhook and WebSocket subscriptions;
//! - `book`: the named queries and subscriptions saved across restarts;
//! - `openapi`: the OpenAPI 3 document.

mod book;
mod capture;
mod events;
mod openapi;
mod queries;
mod subscriptions;

pub(crate) use subscriptions::start as start_subscriptions;

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use ledger_core::SigningKey;
use serde_json::json;

use super::counters::EdgeCounters;
use super::edge::{self, Edge};
use super::tokens::{Denied, SubmitTokens};
use super::AppState;
use crate::config::Limits;

/// The environment variable an encrypted `capture_key`'s passphrase is
/// read from when `terroird` starts.
pub const CAPTURE_PASSPHRASE_ENV: &str = "TERROIR_CAPTURE_PASSPHRASE";

/// What the EPCIS endpoints share: the capture key, the tokens and the
/// capture jobs.
pub struct Epcis {
    /// The participant key captured events are signed with.
    key: Arc<SigningKey>,
    /// Who may capture (and read capture jobs).
    capture_tokens: Arc<SubmitTokens>,
    /// Who may query; `None`: anyone.
    query_tokens: Option<SubmitTokens>,
    /// The capture jobs, running and recent.
    jobs: capture::Jobs,
    /// The named queries and webhook subscriptions, saved.
    book: book::Book,
    /// The subscriptions' deliveries.
    runner: subscriptions::Runner,
}

impl std::fmt::Debug for Epcis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Epcis")
            .field("key", &self.key.public().short())
            .field("capture_tokens", &self.capture_tokens.len())
            .field(
                "query_tokens",
                &self.query_tokens.as_ref().map(SubmitTokens::len),
            )
            .finish_non_exhaustive()
    }
}

impl Epcis {
    /// Reads `[epcis]`'s files: the capture key (an encrypted one opened
    /// with [`CAPTURE_PASSPHRASE_ENV`]), the capture tokens and the query
    /// tokens, if any, and the named queries and subscriptions saved in
    /// `data_dir` (`None`: kept in memory only). Errors say which setting
    /// or file is at fault, on one line.
    pub fn load(cfg: &crate::config::Epcis, data_dir: Option<&Path>) -> anyhow::Result<Self> {
        let key = load_capture_key(&cfg.capture_key)?;
        let capture_tokens =
            SubmitTokens::load(&cfg.capture_tokens).context("epcis.capture_tokens")?;
        if capture_tokens.is_empty() {
            tracing::warn!(
                file = %cfg.capture_tokens.display(),
                "no capture token listed: every EPCIS capture is refused"
            );
        }
        let query_tokens = match &cfg.query_tokens {
            Some(p) => Some(SubmitTokens::load(p).context("epcis.query_tokens")?),
            None => None,
        };
        Ok(Epcis {
            key: Arc::new(key),
            capture_tokens: Arc::new(capture_tokens),
            query_tokens,
            jobs: capture::Jobs::default(),
            book: book::Book::open(data_dir)?,
            runner: subscriptions::Runner::new(std::time::Duration::from_millis(
                cfg.webhook_retry_max_ms,
            )),
        })
    }

    /// The public half of the capture key.
    pub fn capture_key(&self) -> ledger_core::PublicKey {
        self.key.public()
    }
}

/// Reads the capture key file; a daemon has no terminal, so an encrypted
/// file's passphrase comes from [`CAPTURE_PASSPHRASE_ENV`] only.
fn load_capture_key(path: &Path) -> anyhow::Result<SigningKey> {
    let file = ledger_core::keyfile::load_with(path, || {
        std::env::var(CAPTURE_PASSPHRASE_ENV)
            .map(ledger_core::keyfile::Zeroizing::new)
            .map_err(|_| {
                ledger_core::keyfile::NoPassphrase(format!(
                    "set {CAPTURE_PASSPHRASE_ENV} in terroird's environment"
                ))
            })
    })
    .context("epcis.capture_key")?;
    Ok(file.key)
}

/// The EPCIS routes, behind an edge of their own with the node's limits:
/// their own budgets of reads and writes (a burst of captures takes no
/// permit from `POST /records`, a burst of queries none from the consumer
/// pages), their own per-address write rate, the same body deadline and
/// size cap; a capture without a capture token is refused there, before
/// its body is read.
///
/// Named queries and their subscriptions are behind an edge of their own
/// with the same limits but no capture token: creating and deleting a
/// query needs what querying needs (a query token when
/// `epcis.query_tokens` is set), subscribing a token always; their
/// handlers check.
pub(super) fn router(
    epcis: Option<Arc<Epcis>>,
    limits: &Limits,
    counters: Arc<EdgeCounters>,
) -> Router<AppState> {
    let tokens = epcis.as_ref().map(|e| e.capture_tokens.clone());
    let named_edge = Arc::new(Edge::new(limits, None, counters.clone()));
    let edge = Arc::new(Edge::new(limits, tokens, counters));
    let named = Router::new()
        .route("/queries", get(queries::list).post(queries::create))
        .route(
            "/queries/{name}",
            get(queries::one).merge(delete(queries::delete)),
        )
        .route("/queries/{name}/events", get(queries::run))
        .route(
            "/queries/{name}/subscriptions",
            get(subscriptions::list_or_stream).post(subscriptions::create),
        )
        .route(
            "/queries/{name}/subscriptions/{id}",
            get(subscriptions::one).merge(delete(subscriptions::delete)),
        )
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(named_edge, edge::gate));
    Router::new()
        .route("/capture", get(capture::list).post(capture::capture))
        .route("/capture/{id}", get(capture::job))
        .route("/events", get(events::events))
        .route("/openapi.json", get(openapi::document))
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(middleware::from_fn_with_state(edge, edge::gate))
        .merge(named)
}

/// An EPCIS answer's error: `{"error": reason}` like every other, with
/// the EPCIS REST binding's problem fields (`type`, `title`, `status`).
#[derive(Debug)]
pub(super) struct EpcisError {
    status: StatusCode,
    kind: &'static str,
    reason: String,
}

impl EpcisError {
    fn new(status: StatusCode, kind: &'static str, reason: impl Into<String>) -> Self {
        EpcisError {
            status,
            kind,
            reason: reason.into(),
        }
    }

    /// A malformed request (`ValidationException`).
    fn invalid(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "epcisException:ValidationException",
            reason,
        )
    }

    /// A query parameter this node does not take or cannot read.
    fn parameter(reason: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "epcisException:QueryParameterException",
            reason,
        )
    }

    fn internal(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "epcisException:ImplementationException",
            reason.to_string(),
        )
    }

    fn unavailable(reason: impl std::fmt::Display) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "epcisException:ImplementationException",
            reason.to_string(),
        )
    }
}

impl IntoResponse for EpcisError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(json!({
                "error": self.reason,
                "type": self.kind,
                "title": self.reason,
                "status": self.status.as_u16(),
            })),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"terroir\""),
            );
        }
        versions(r)
    }
}

impl From<crate::ledger_task::ReadFailed> for EpcisError {
    fn from(e: crate::ledger_task::ReadFailed) -> Self {
        match e {
            crate::ledger_task::ReadFailed::Panicked(_) => {
                EpcisError::internal("the query failed; the node's log says why")
            }
            other => EpcisError::unavailable(other),
        }
    }
}

type EpcisResult<T> = Result<T, EpcisError>;

/// The `[epcis]` state, or the 404 a node without it answers.
fn configured(st: &AppState) -> EpcisResult<&Arc<Epcis>> {
    st.epcis.as_ref().ok_or_else(|| {
        EpcisError::new(
            StatusCode::NOT_FOUND,
            "epcisException:NoSuchResourceException",
            "this node does not capture EPCIS events: its operator has not configured [epcis]",
        )
    })
}

/// Checks the `Authorization` header against `tokens`; `what` completes
/// "this node … only with a token".
fn authorize(tokens: &SubmitTokens, headers: &HeaderMap, what: &str) -> EpcisResult<()> {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    tokens.check(authorization).map(|_| ()).map_err(|denied| {
        let reason = match denied {
            Denied::Missing => {
                format!("this node {what} only with a token: send `Authorization: Bearer TOKEN`")
            }
            Denied::Unknown => denied.to_string(),
        };
        EpcisError::new(
            StatusCode::UNAUTHORIZED,
            "epcisException:SecurityException",
            reason,
        )
    })
}

/// An EPCIS answer: the response with the versions, or the error.
fn finish(r: EpcisResult<Response>) -> Response {
    match r {
        Ok(r) => versions(r),
        Err(e) => e.into_response(),
    }
}

/// Adds the EPCIS and CBV versions every EPCIS answer carries.
fn versions(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert("GS1-EPCIS-Version", HeaderValue::from_static("2.0.0"));
    h.insert("GS1-CBV-Version", HeaderValue::from_static("2.0.0"));
    r
}
