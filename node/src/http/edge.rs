//! The router's edge: what every request meets before its handler, and
//! the JSON answers for whatever no handler produces.
//!
//! - **Budgets.** Reads (every request but a write: QR pages, traces,
//!   status, metrics, proofs — `POST /proof/status` included) and writes
//!   (`POST /records` and `POST /checkpoints`, their bodies' reading
//!   included) take permits from two
//!   separate semaphores, so uploads, however slow or many, never take the
//!   consumer pages down.
//! - **Rate.** A client address may make `submit_rate_per_ip` writes per
//!   second (bursts of `submit_burst_per_ip`); more get 429 with
//!   `Retry-After`.
//! - **Bodies.** A POST's body must arrive in full within
//!   `http_body_timeout_ms` and fit `max_body_bytes`, else 408 or 413.
//! - **Heads.** More than [`MAX_HEADERS`] fields or [`MAX_HEADER_BYTES`]
//!   bytes of head get 431.
//! - **Errors.** 404, 405 and the extractors' rejections answer
//!   `{"error": reason}` like every handler; [`json_errors`] turns any
//!   other error answer that is not already JSON or a consumer page into
//!   one.

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota};
use http_body_util::BodyExt;
use serde::de::DeserializeOwned;
use tokio::sync::Semaphore;

use super::counters::EdgeCounters;
use super::tokens::SubmitTokens;
use super::ApiError;
use crate::config::Limits;

/// Most header fields a request may carry; more are answered 431.
pub(crate) const MAX_HEADERS: usize = 100;
/// Largest request head (request line and header fields, in bytes); a
/// larger one is answered 431.
pub(crate) const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Client addresses the write rate limiter remembers. Addresses whose
/// budget is full again are forgotten at each sweep; while it remembers
/// this many, writes get 503 until a sweep makes room, so a flood of
/// addresses costs bounded memory.
const MAX_RATE_CLIENTS: usize = 100_000;
/// The least time between two sweeps of the rate limiter's addresses.
const RATE_SWEEP_INTERVAL: Duration = Duration::from_secs(10);

/// The edge's shared state: the two budgets, the rate limiter and the
/// body bounds, all from [`Limits`].
#[derive(Debug)]
pub(crate) struct Edge {
    reads: Semaphore,
    writes: Semaphore,
    max_body_bytes: usize,
    body_timeout: Duration,
    submits: SubmitRate,
    tokens: Option<Arc<SubmitTokens>>,
    counters: Arc<EdgeCounters>,
}

impl Edge {
    /// The edge for `limits`, counting into `counters`; writes need one of
    /// `tokens` when there are any.
    pub(crate) fn new(
        limits: &Limits,
        tokens: Option<Arc<SubmitTokens>>,
        counters: Arc<EdgeCounters>,
    ) -> Edge {
        Edge {
            reads: Semaphore::new(limits.max_concurrent_http),
            writes: Semaphore::new(limits.max_concurrent_writes),
            max_body_bytes: limits.max_body_bytes,
            body_timeout: Duration::from_millis(limits.http_body_timeout_ms),
            submits: SubmitRate::new(limits.submit_rate_per_ip, limits.submit_burst_per_ip),
            tokens,
            counters,
        }
    }
}

/// POSTs that only read: their body is a question (`POST /proof/status`
/// names lots), so they take a read permit, with the body read here under
/// the same deadline and size cap as a write's.
const READING_POSTS: &[&str] = &["/proof/status"];

/// Whether a request writes (takes a write permit, is rate limited and
/// has its body read here): anything but GET, HEAD, OPTIONS and the
/// [`READING_POSTS`].
fn is_write(method: &Method, path: &str) -> bool {
    let reads = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
        || (*method == Method::POST && READING_POSTS.contains(&path));
    !reads
}

/// The middleware every request passes: head size, then the write path
/// (rate, permit, body) or the read path (permit).
pub(crate) async fn gate(State(edge): State<Arc<Edge>>, req: Request, next: Next) -> Response {
    if let Some(why) = oversized_head(&req) {
        return closing(ApiError(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, why));
    }
    if !is_write(req.method(), req.uri().path()) {
        let Ok(_permit) = edge.reads.try_acquire() else {
            edge.counters.inc(&edge.counters.budget_exhausted);
            return busy("reads");
        };
        if *req.method() == Method::POST {
            return with_body(&edge, req, next).await;
        }
        return next.run(req).await;
    }
    // Who may write comes first: a write without its token costs nothing
    // else, not even a place in the rate limiter.
    if let Some(tokens) = &edge.tokens {
        let authorization = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        if let Err(denied) = tokens.check(authorization) {
            edge.counters.inc(&edge.counters.unauthorized);
            let mut r = closing(ApiError(StatusCode::UNAUTHORIZED, denied.to_string()));
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"terroir\""),
            );
            return r;
        }
    }
    let client = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip());
    if let Some(ip) = client {
        if let Err(refusal) = edge.submits.check(ip) {
            let counter = match refusal {
                Refusal::Later(_) => &edge.counters.rate_limited,
                Refusal::Full => &edge.counters.budget_exhausted,
            };
            edge.counters.inc(counter);
            return closing(refusal);
        }
    }
    let Ok(_permit) = edge.writes.try_acquire() else {
        edge.counters.inc(&edge.counters.budget_exhausted);
        return closing(busy("writes"));
    };
    with_body(&edge, req, next).await
}

/// Reads the request's body within the deadline and size cap, then runs
/// the handler on it.
async fn with_body(edge: &Edge, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > u64::try_from(edge.max_body_bytes).unwrap_or(u64::MAX)) {
        return too_large(edge.max_body_bytes);
    }
    let limited = http_body_util::Limited::new(body, edge.max_body_bytes);
    let bytes = match tokio::time::timeout(edge.body_timeout, limited.collect()).await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return too_large(edge.max_body_bytes)
        }
        Ok(Err(_)) => {
            return closing(ApiError::bad(
                "the request body ended before it was complete",
            ))
        }
        Err(_) => {
            edge.counters.inc(&edge.counters.body_timeouts);
            return closing(ApiError(
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request body did not arrive within {} ms",
                    edge.body_timeout.as_millis()
                ),
            ));
        }
    };
    next.run(Request::from_parts(parts, Body::from(bytes)))
        .await
}

/// A 503 for a spent budget.
fn busy(which: &str) -> Response {
    ApiError(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("too many {which} at once; retry shortly"),
    )
    .into_response()
}

/// A 413 for a body over the limit; the connection is closed, since the
/// rest of the body is not read.
fn too_large(max: usize) -> Response {
    closing(ApiError(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the request body is larger than {max} bytes"),
    ))
}

/// An answer with `Connection: close`: what is left of the request is
/// unread, so the connection cannot carry another.
fn closing(r: impl IntoResponse) -> Response {
    let mut r = r.into_response();
    r.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    r
}

/// Why a request's head is too large, if it is.
fn oversized_head(req: &Request) -> Option<String> {
    let headers = req.headers();
    if headers.len() > MAX_HEADERS {
        return Some(format!(
            "the request has {} header fields, more than {MAX_HEADERS}",
            headers.len()
        ));
    }
    // Request line, then "name: value\r\n" per field.
    let target = req.uri().path_and_query().map_or(1, |p| p.as_str().len());
    let line = req.method().as_str().len() + target + 12;
    let fields: usize = headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    (line + fields > MAX_HEADER_BYTES)
        .then(|| format!("the request head is larger than {MAX_HEADER_BYTES} bytes"))
}

/// The per-address write rate: a keyed GCRA limiter from `governor`,
/// swept of addresses whose budget is full again.
struct SubmitRate {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    start: Instant,
    /// When the last sweep ran, in ms since `start`.
    last_sweep_ms: AtomicU64,
}

/// A write refused by the rate limiter.
enum Refusal {
    /// Retry after this long.
    Later(Duration),
    /// The limiter remembers too many addresses.
    Full,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Later(wait) => {
                let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
                let secs = secs.max(1);
                let mut r = ApiError(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many submissions from this address; retry in {secs} s"),
                )
                .into_response();
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(secs));
                r
            }
            Refusal::Full => busy("clients submitting"),
        }
    }
}

impl std::fmt::Debug for SubmitRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubmitRate")
            .field("clients", &self.limiter.len())
            .finish_non_exhaustive()
    }
}

impl SubmitRate {
    fn new(per_second: u32, burst: u32) -> SubmitRate {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        SubmitRate {
            limiter: DefaultKeyedRateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            start: Instant::now(),
            last_sweep_ms: AtomicU64::new(0),
        }
    }

    fn check(&self, ip: IpAddr) -> Result<(), Refusal> {
        self.sweep();
        let key = client_key(ip);
        if self.limiter.len() >= MAX_RATE_CLIENTS {
            return Err(Refusal::Full);
        }
        self.limiter.check_key(&key).map_err(|not_until| {
            Refusal::Later(not_until.wait_time_from(self.limiter.clock().now()))
        })
    }

    /// Forgets addresses whose budget is full again, at most once per
    /// [`RATE_SWEEP_INTERVAL`].
    fn sweep(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_sweep_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(RATE_SWEEP_INTERVAL.as_millis()).unwrap_or(u64::MAX);
        if now.saturating_sub(last) < interval {
            return;
        }
        if self
            .last_sweep_ms
            .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
            .is_ok()
        {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }
}

/// The key an address is rate limited under: IPv4 addresses alone, IPv6
/// by their /64 (one subscriber's prefix).
pub(crate) fn client_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// `Path<T>` whose rejection is a JSON 400 in words.
#[derive(Debug)]
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(t)) => Ok(ApiPath(t)),
            Err(e) => Err(ApiError::bad(path_words(&e))),
        }
    }
}

/// What is wrong with a path, in one line.
pub(crate) fn path_words(e: &PathRejection) -> String {
    use axum::extract::path::ErrorKind;
    match e {
        PathRejection::FailedToDeserializePathParams(e) => match e.kind() {
            ErrorKind::InvalidUtf8InPathParam { key } => {
                format!("the path segment {key} is not UTF-8 once percent-decoded")
            }
            _ => "the path is malformed".to_owned(),
        },
        _ => "the path is malformed".to_owned(),
    }
}

/// `Query<T>` whose rejection is a JSON 400 in words.
#[derive(Debug)]
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(t)) => Ok(ApiQuery(t)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                // serde_urlencoded's words ("missing field `code`").
                let why = std::error::Error::source(&e)
                    .map_or_else(|| "malformed".to_owned(), ToString::to_string);
                Err(ApiError::bad(format!("bad query string: {why}")))
            }
            Err(_) => Err(ApiError::bad("bad query string")),
        }
    }
}

/// The router's fallback: no route has this path.
pub(crate) async fn not_found() -> ApiError {
    ApiError(StatusCode::NOT_FOUND, "no such path".into())
}

/// The answer to a method a path does not serve (axum adds `Allow`).
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError(
        StatusCode::METHOD_NOT_ALLOWED,
        "this path does not serve this method".into(),
    )
}

/// Largest error body [`json_errors`] reads to reword.
const MAX_REWORDED_BODY: usize = 1024;

/// Turns an error answer that is neither JSON nor a consumer page (HTML)
/// into `{"error": reason}`: the reason is its text when it is short
/// plain text, else the status's name.
pub(crate) async fn json_errors(req: Request, next: Next) -> Response {
    let resp = next.run(req).await;
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let kind = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if kind.starts_with("application/json") || kind.starts_with("text/html") {
        return resp;
    }
    let plain = kind.starts_with("text/plain");
    let (mut parts, body) = resp.into_parts();
    let text = if plain {
        match axum::body::to_bytes(body, MAX_REWORDED_BODY).await {
            Ok(b) => String::from_utf8(b.to_vec()).ok(),
            Err(_) => None,
        }
    } else {
        None
    };
    let reason = text
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty() && !t.contains('{') && !t.contains('\n'))
        .unwrap_or_else(|| {
            status
                .canonical_reason()
                .unwrap_or("request failed")
                .to_lowercase()
        });
    let fresh = ApiError(status, reason).into_response();
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let (fresh_parts, fresh_body) = fresh.into_parts();
    parts.headers.extend(fresh_parts.headers);
    Response::from_parts(parts, fresh_body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1"
            .parse()
            .unwrap_or(IpAddr::V4(0.into()));
        let b: IpAddr = "2001:db8:1:2:bbbb::9"
            .parse()
            .unwrap_or(IpAddr::V4(0.into()));
        assert_eq!(client_key(a), client_key(b));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap_or(IpAddr::V4(0.into()));
        assert_eq!(client_key(mapped), IpAddr::V4([10, 0, 0, 1].into()));
    }

    #[test]
    fn the_rate_refuses_past_the_burst_and_says_when() {
        let rate = SubmitRate::new(1, 2);
        let ip = IpAddr::V4([192, 0, 2, 1].into());
        assert!(rate.check(ip).is_ok());
        assert!(rate.check(ip).is_ok());
        match rate.check(ip) {
            Err(Refusal::Later(wait)) => assert!(wait <= Duration::from_secs(1), "{wait:?}"),
            _ => panic!("the third request in a row passed"),
        }
        // Another address has its own budget.
        assert!(rate.check(IpAddr::V4([192, 0, 2, 2].into())).is_ok());
    }
}
