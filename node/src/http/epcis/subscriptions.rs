//! Query subscriptions (EPCIS 2.0 REST binding): a named query's new
//! events pushed to a webhook, or streamed over a WebSocket.
//!
//! - `POST /queries/{name}/subscriptions` with `{"dest": URL,
//!   "signatureToken": SECRET, "stream": true}` (or a `"schedule"` of cron
//!   fields instead of `stream`, and `"reportIfEmpty"`) creates a webhook
//!   subscription: 201 with `Location: /queries/{name}/subscriptions/{id}`.
//!   `GET` lists them (never their secrets), `GET …/{id}` shows one with
//!   its delivery state, `DELETE …/{id}` ends it.
//! - `GET /queries/{name}/subscriptions?stream=true` with a WebSocket
//!   upgrade streams the query's new events as text frames.
//!
//! **What is delivered.** Each delivery is an EPCISQueryDocument of the
//! events of the records this node logged after the subscription's cursor
//! that the query matches, at most [`BATCH`] at a time, in the order the
//! node accepted them. It names the query and the subscription
//! (`queryResults`) and carries `terroir:cursor`, the log position it
//! reaches.
//!
//! **Webhooks** are POSTed (`application/ld+json`) with `GS1-Signature`:
//! the base64 HMAC-SHA256 of the exact body under the subscriber's
//! `signatureToken`, when it gave one. A 2xx answer acknowledges the
//! delivery: only then does the cursor move past it, and it is saved
//! (see `book`). Anything else, or no answer within
//! [`DELIVERY_TIMEOUT`], is retried — the same body — after a pause that
//! doubles from [`RETRY_FIRST`] up to `epcis.webhook_retry_max_ms`. So
//! after an outage of the receiver (or of this node) every missed event
//! arrives, in one acknowledged delivery; only a delivery whose
//! acknowledgement was lost is sent again (receivers dedupe on
//! `eventID`). Redirects are not followed.
//!
//! **WebSockets** start at the end of the log, or after `after=CURSOR`
//! (the `terroir:cursor` of the last document the client processed): a
//! client that reconnects with it misses nothing and gets nothing twice.
//!
//! **Who may subscribe.** Subscribing makes this node send requests to an
//! address the client names, so it always needs a token: a query token
//! where `epcis.query_tokens` is set, else a capture token. At most
//! [`MAX_SUBSCRIPTIONS`] webhooks and [`MAX_STREAMS`] open streams.

use std::collections::HashMap;
use std::str::FromStr as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{FromRequestParts as _, Path, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use rand_core::{OsRng, RngCore as _};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use terroir_standards::vocab;
use tokio::sync::{watch, Semaphore};

use super::book;
use super::events::{self, Backlog, Filter};
use super::{authorize, configured, finish, Epcis, EpcisError, EpcisResult};
use crate::http::AppState;
use crate::ledger_task::{now_ms, ReadFailed};

/// The most webhook subscriptions a node keeps.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 100;
/// The most WebSocket streams open at once.
pub(crate) const MAX_STREAMS: usize = 64;
/// The most events one delivery carries.
pub(crate) const BATCH: usize = 500;
/// How often a streaming subscription looks for new records.
const POLL: Duration = Duration::from_millis(250);
/// How long a receiver has to answer a delivery.
pub(crate) const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);
/// The first pause before a failed delivery is retried.
pub(crate) const RETRY_FIRST: Duration = Duration::from_millis(500);
/// The longest `dest` and `signatureToken` accepted.
const MAX_FIELD: usize = 2_048;

/// A webhook subscription, as saved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Subscription {
    pub(super) id: String,
    /// The named query it follows.
    pub(super) query: String,
    /// The receiver's URL.
    pub(super) dest: String,
    /// The subscriber's secret the deliveries are signed with.
    pub(super) signature_token: Option<String>,
    /// The EPCIS `schedule` (cron fields) it is delivered on; `None`:
    /// streamed, delivered as events come.
    pub(super) schedule: Option<Map<String, Value>>,
    /// Whether a scheduled delivery is sent with no events.
    pub(super) report_if_empty: bool,
    /// When it was created (ms since the epoch).
    pub(super) created_at: u64,
    /// The log seq up to which its receiver has everything.
    pub(super) cursor: u64,
    /// Where `initialRecordTime` holds back older events.
    pub(super) backlog: Option<Backlog>,
    /// When its receiver last acknowledged a delivery.
    pub(super) last_notified_at: Option<u64>,
    /// How many events its receiver has acknowledged.
    pub(super) delivered: u64,
}

/// A webhook's delivery state, in memory.
#[derive(Debug, Clone, Default)]
struct Health {
    failures: u32,
    last_error: Option<String>,
    retry_at: Option<u64>,
}

/// The running webhook deliveries and the open streams.
#[derive(Debug)]
pub(super) struct Runner {
    tasks: Mutex<HashMap<String, tokio::task::AbortHandle>>,
    health: Mutex<HashMap<String, Health>>,
    streams: Arc<Semaphore>,
    retry_max: Duration,
    stop: Mutex<Option<watch::Receiver<bool>>>,
}

impl Runner {
    pub(super) fn new(retry_max: Duration) -> Runner {
        Runner {
            tasks: Mutex::default(),
            health: Mutex::default(),
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
            retry_max: retry_max.max(RETRY_FIRST),
            stop: Mutex::new(None),
        }
    }

    fn health(&self, id: &str) -> Health {
        self.health
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .unwrap_or_default()
    }

    fn set_health(&self, id: &str, h: Option<Health>) {
        let mut map = self.health.lock().unwrap_or_else(PoisonError::into_inner);
        match h {
            Some(h) => map.insert(id.to_owned(), h),
            None => map.remove(id),
        };
    }

    fn stop_signal(&self) -> Option<watch::Receiver<bool>> {
        self.stop
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn end(&self, id: &str) {
        if let Some(task) = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id)
        {
            task.abort();
        }
        self.set_health(id, None);
    }
}

/// Starts delivering every saved webhook subscription, and the task that
/// saves what deliveries change; `stop` ends them, and the returned task
/// ends after a last save (a node's stop waits for it).
pub(crate) fn start(
    st: &AppState,
    stop: watch::Receiver<bool>,
) -> Option<tokio::task::JoinHandle<()>> {
    let epcis = st.epcis.as_ref()?;
    *epcis
        .runner
        .stop
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(stop.clone());
    let ids: Vec<String> = epcis
        .book
        .read(|s| s.subscriptions.keys().cloned().collect());
    for id in ids {
        spawn(st, epcis, id);
    }
    let saver = epcis.clone();
    let mut stop = stop;
    Some(tokio::spawn(async move {
        while !pause(book::SAVE_EVERY, &mut stop).await {
            saver.book.save_if_changed();
        }
        saver.book.save_if_changed();
    }))
}

fn spawn(st: &AppState, epcis: &Arc<Epcis>, id: String) {
    let Some(stop) = epcis.runner.stop_signal() else {
        // Not started yet: `start` spawns every saved one.
        return;
    };
    let task = tokio::spawn(deliver_webhook(st.clone(), epcis.clone(), id.clone(), stop));
    epcis
        .runner
        .tasks
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .insert(id, task.abort_handle());
}

/// Waits `d`; true when the node stops first.
async fn pause(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        () = tokio::time::sleep(d) => false,
        _ = stop.changed() => true,
    }
}

/// The next time a schedule fires, as a pause from now.
fn until_next(schedule: &cron::Schedule, zone: chrono_tz::Tz) -> Option<Duration> {
    let now = chrono::Utc::now().with_timezone(&zone);
    let next = schedule.after(&now).next()?;
    (next - now).to_std().ok()
}

/// One webhook subscription's delivery loop.
async fn deliver_webhook(
    st: AppState,
    epcis: Arc<Epcis>,
    id: String,
    mut stop: watch::Receiver<bool>,
) {
    let agent = agent();
    let zone = st.genesis.time_zone();
    let mut backoff = RETRY_FIRST;
    loop {
        let Some((sub, pairs)) = epcis.book.read(|s| {
            let sub = s.subscriptions.get(&id)?.clone();
            let pairs = s.queries.get(&sub.query)?.clone();
            Some((sub, pairs))
        }) else {
            return;
        };
        let schedule = match sub.schedule.as_ref().map(read_schedule) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(e)) => {
                // Checked when it was created; a saved one that no longer
                // reads is not turned into a stream.
                tracing::error!(subscription = %id, "its schedule does not read: {}", e.reason);
                return;
            }
        };
        let wait = match &schedule {
            Some(s) => match until_next(s, zone) {
                Some(d) => d,
                None => return,
            },
            None => POLL,
        };
        if pause(wait, &mut stop).await {
            return;
        }
        let Ok(filter) = events::standing(&pairs) else {
            return;
        };
        let mut cursor = sub.cursor;
        loop {
            let now = now_ms();
            let (found, reached) = match read_since(&st, &filter, cursor, sub.backlog, now).await {
                Ok(x) => x,
                Err(None) => return,
                Err(Some(why)) => {
                    epcis.runner.set_health(
                        &id,
                        Some(Health {
                            failures: epcis.runner.health(&id).failures,
                            last_error: Some(why),
                            retry_at: None,
                        }),
                    );
                    break;
                }
            };
            let n = found.len();
            if n == 0 && !(schedule.is_some() && sub.report_if_empty) {
                epcis.book.advance(&id, reached);
                break;
            }
            let doc = events::delivery(found, now, &sub.query, &id, reached);
            let Ok(body) = serde_json::to_vec(&doc) else {
                return;
            };
            // Until the receiver acknowledges it, or the subscription ends.
            loop {
                match post(&agent, &sub.dest, sub.signature_token.as_deref(), &body).await {
                    Ok(()) => {
                        backoff = RETRY_FIRST;
                        epcis.runner.set_health(&id, None);
                        epcis.book.acknowledged(&id, reached, n as u64, now_ms());
                        break;
                    }
                    Err(why) => {
                        let failures = epcis.runner.health(&id).failures + 1;
                        tracing::warn!(
                            subscription = %id,
                            failures,
                            retry_in_ms = backoff.as_millis() as u64,
                            "EPCIS delivery failed: {why}"
                        );
                        epcis.runner.set_health(
                            &id,
                            Some(Health {
                                failures,
                                last_error: Some(why),
                                retry_at: Some(now_ms() + backoff.as_millis() as u64),
                            }),
                        );
                        if pause(backoff, &mut stop).await {
                            return;
                        }
                        backoff = (backoff * 2).min(epcis.runner.retry_max);
                        if epcis.book.read(|s| !s.subscriptions.contains_key(&id)) {
                            return;
                        }
                    }
                }
            }
            cursor = reached;
            if n < BATCH {
                break;
            }
        }
    }
}

/// [`events::since`] on the ledger's readers. `Err(None)`: the node is
/// stopping; `Err(Some(why))`: this read failed.
async fn read_since(
    st: &AppState,
    filter: &Filter,
    after: u64,
    backlog: Option<Backlog>,
    now: u64,
) -> Result<(Vec<Value>, u64), Option<String>> {
    let f = filter.clone();
    match st
        .ledger
        .read(move |r| events::since(r, &f, after, BATCH, backlog, now))
        .await
    {
        Ok(Ok(x)) => Ok(x),
        Ok(Err(e)) => Err(Some(format!("reading the log: {e}"))),
        Err(ReadFailed::Closed) => Err(None),
        Err(e) => Err(Some(e.to_string())),
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(DELIVERY_TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

/// The `GS1-Signature` of `body` under `token`: base64 HMAC-SHA256.
pub(crate) fn signature(token: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length, so this never fails.
    let mut mac = match Hmac::<Sha256>::new_from_slice(token.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// POSTs one delivery; `Ok` when the receiver answered 2xx.
async fn post(
    agent: &ureq::Agent,
    dest: &str,
    token: Option<&str>,
    body: &[u8],
) -> Result<(), String> {
    let agent = agent.clone();
    let dest = dest.to_owned();
    let sig = token.map(|t| signature(t, body));
    let body = body.to_vec();
    let sent = tokio::task::spawn_blocking(move || {
        let mut req = agent
            .post(&dest)
            .header("Content-Type", "application/ld+json")
            .header("GS1-EPCIS-Version", "2.0.0")
            .header("GS1-CBV-Version", "2.0.0");
        if let Some(sig) = &sig {
            req = req.header("GS1-Signature", sig);
        }
        match req.send(&body[..]) {
            Ok(r) if r.status().is_success() => Ok(()),
            Ok(r) => Err(format!("the receiver answered {}", r.status())),
            Err(e) => Err(format!("the receiver could not be reached: {e}")),
        }
    })
    .await;
    sent.unwrap_or_else(|e| Err(format!("the delivery failed: {e}")))
}

/// The cron schedule of an EPCIS `schedule` object: its fields `second`,
/// `minute`, `hour`, `dayOfMonth`, `month` and `dayOfWeek` (1 = Monday …
/// 7 = Sunday), each a cron field (`5`, `1,15`, `9-17`, `*/10`; EPCIS's
/// `[9-17]` too). An omitted `second` is 0, any other omitted field any
/// value. Times are the network's.
pub(crate) fn read_schedule(m: &Map<String, Value>) -> EpcisResult<cron::Schedule> {
    const FIELDS: [(&str, &str); 6] = [
        ("second", "0"),
        ("minute", "*"),
        ("hour", "*"),
        ("dayOfMonth", "*"),
        ("month", "*"),
        ("dayOfWeek", "*"),
    ];
    if let Some(k) = m.keys().find(|k| !FIELDS.iter().any(|(f, _)| f == k)) {
        return Err(EpcisError::invalid(format!(
            "a schedule has second, minute, hour, dayOfMonth, month and dayOfWeek, not {k:?}"
        )));
    }
    let mut parts = Vec::with_capacity(FIELDS.len());
    for (field, default) in FIELDS {
        let text = match m.get(field) {
            None => default.to_owned(),
            Some(Value::String(s)) => s.replace(['[', ']'], "").trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return Err(EpcisError::invalid(format!(
                    "the schedule's {field} is a string such as \"5\" or \"1-5\", not {other}"
                )))
            }
        };
        if text.is_empty() || text.chars().any(char::is_whitespace) {
            return Err(EpcisError::invalid(format!(
                "the schedule's {field} is empty or has spaces"
            )));
        }
        parts.push(if field == "dayOfWeek" {
            weekday_names(&text)?
        } else {
            text
        });
    }
    let expr = parts.join(" ");
    let schedule = cron::Schedule::from_str(&expr)
        .map_err(|e| EpcisError::invalid(format!("the schedule ({expr}) does not read: {e}")))?;
    Ok(schedule)
}

/// ISO weekday numbers (1 = Monday … 7 = Sunday), single or in ranges
/// (`1-5`, `6-7`, `1-7/2`), as a list of the cron crate's day names, so
/// neither numbering (nor the crate's order of names) is guessed.
fn weekday_names(field: &str) -> EpcisResult<String> {
    const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    if field == "*" || field == "?" {
        return Ok(field.to_owned());
    }
    let bad = || {
        EpcisError::invalid(format!(
            "the schedule's dayOfWeek is days 1 (Monday) to 7 (Sunday), single or as ranges \
             such as 1-5, not {field:?}"
        ))
    };
    let day = |s: &str| -> EpcisResult<usize> {
        s.parse::<usize>()
            .ok()
            .filter(|d| (1..=7).contains(d))
            .ok_or_else(bad)
    };
    let mut days = Vec::new();
    for item in field.split(',') {
        let (range, step) = match item.split_once('/') {
            Some((r, n)) => (
                r,
                n.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(bad)?,
            ),
            None => (item, 1),
        };
        let (from, to) = match range.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None if range == "*" => (1, 7),
            None => (day(range)?, day(range)?),
        };
        if from > to {
            return Err(bad());
        }
        days.extend((from..=to).step_by(step));
    }
    days.sort_unstable();
    days.dedup();
    Ok(days
        .iter()
        .filter_map(|d| NAMES.get(d - 1))
        .copied()
        .collect::<Vec<_>>()
        .join(","))
}

/// A request to subscribe, read.
struct Wanted {
    dest: String,
    signature_token: Option<String>,
    schedule: Option<Map<String, Value>>,
    report_if_empty: bool,
    initial_record_time: Option<u64>,
}

/// Reads `{"dest", "signatureToken", "stream" | "schedule",
/// "reportIfEmpty", "initialRecordTime"}`.
fn read_request(body: &[u8]) -> EpcisResult<Wanted> {
    const KEYS: [&str; 6] = [
        "dest",
        "signatureToken",
        "stream",
        "schedule",
        "reportIfEmpty",
        "initialRecordTime",
    ];
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        EpcisError::invalid(format!(
            "the body is not JSON ({e}); send {{\"dest\": URL, \"signatureToken\": SECRET, \"stream\": true}}"
        ))
    })?;
    let Some(obj) = v.as_object() else {
        return Err(EpcisError::invalid(
            "the body is a JSON object: {\"dest\": URL, \"signatureToken\": SECRET, \"stream\": true}",
        ));
    };
    if let Some(k) = obj.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(EpcisError::invalid(format!(
            "a subscription has {}, not {k:?}",
            KEYS.join(", ")
        )));
    }
    let dest = obj
        .get("dest")
        .and_then(Value::as_str)
        .ok_or_else(|| EpcisError::invalid("\"dest\", the receiver's http(s) URL, is missing"))?;
    check_dest(dest)?;
    let signature_token = match obj.get("signatureToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(t)) if !t.is_empty() && t.len() <= MAX_FIELD => Some(t.clone()),
        Some(_) => {
            return Err(EpcisError::invalid(format!(
                "\"signatureToken\" is a string of 1 to {MAX_FIELD} bytes"
            )))
        }
    };
    let stream = match obj.get("stream") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(EpcisError::invalid("\"stream\" is true or false")),
    };
    let schedule =
        match obj.get("schedule") {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) => {
                read_schedule(m)?;
                Some(m.clone())
            }
            Some(_) => return Err(EpcisError::invalid(
                "\"schedule\" is an object of cron fields: {\"hour\": \"1\", \"minute\": \"5\"}",
            )),
        };
    match (stream, &schedule) {
        (true, Some(_)) => return Err(EpcisError::invalid(
            "a subscription is streamed (\"stream\": true) or scheduled (\"schedule\"), not both",
        )),
        (false, None) => {
            return Err(EpcisError::invalid(
                "say when to deliver: \"stream\": true for every new event, or a \"schedule\"",
            ))
        }
        _ => {}
    }
    let report_if_empty = match obj.get("reportIfEmpty") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(EpcisError::invalid("\"reportIfEmpty\" is true or false")),
    };
    let initial_record_time = match obj.get("initialRecordTime") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_str().and_then(vocab::parse_time).ok_or_else(|| {
            EpcisError::invalid(format!(
                "\"initialRecordTime\" is an RFC 3339 time (2025-04-03T08:00:00Z), not {v}"
            ))
        })?),
    };
    Ok(Wanted {
        dest: dest.to_owned(),
        signature_token,
        schedule,
        report_if_empty,
        initial_record_time,
    })
}

/// A receiver's URL: http or https, with a host.
fn check_dest(dest: &str) -> EpcisResult<()> {
    let uri = axum::http::Uri::from_str(dest).ok();
    let ok = dest.len() <= MAX_FIELD
        && uri.as_ref().is_some_and(|u| {
            matches!(u.scheme_str(), Some("http" | "https"))
                && u.host().is_some_and(|h| !h.is_empty())
        });
    if ok {
        Ok(())
    } else {
        Err(EpcisError::invalid(format!(
            "\"dest\" is the receiver's http:// or https:// URL, not {dest:?}"
        )))
    }
}

fn new_id() -> String {
    let mut b = [0u8; 16];
    OsRng.fill_bytes(&mut b);
    let h = hex::encode(b);
    // The UUID layout clients expect of a subscriptionID.
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Who may subscribe: a query token where queries need one, else a
/// capture token (subscribing makes the node send requests).
fn may_subscribe<'a>(st: &'a AppState, headers: &HeaderMap) -> EpcisResult<&'a Arc<Epcis>> {
    let epcis = configured(st)?;
    match &epcis.query_tokens {
        Some(tokens) => authorize(tokens, headers, "takes subscriptions")?,
        None => authorize(&epcis.capture_tokens, headers, "takes subscriptions")?,
    }
    Ok(epcis)
}

fn no_query(name: &str) -> EpcisError {
    EpcisError::new(
        StatusCode::NOT_FOUND,
        "epcisException:NoSuchNameException",
        format!("no named query {name:?} on this node"),
    )
}

fn no_subscription(id: &str) -> EpcisError {
    EpcisError::new(
        StatusCode::NOT_FOUND,
        "epcisException:NoSuchSubscriptionException",
        format!("no subscription {id:?} on that query"),
    )
}

fn shown(sub: &Subscription, runner: &Runner) -> Value {
    let mut v = json!({
        "subscriptionID": sub.id,
        "queryName": sub.query,
        "dest": sub.dest,
        "createdAt": vocab::rfc3339(sub.created_at),
        "reportIfEmpty": sub.report_if_empty,
        "terroir:delivered": sub.delivered,
    });
    match &sub.schedule {
        Some(s) => v["schedule"] = Value::Object(s.clone()),
        None => v["stream"] = Value::Bool(true),
    }
    if let Some(t) = sub.last_notified_at {
        v["lastNotifiedAt"] = Value::String(vocab::rfc3339(t));
    }
    let h = runner.health(&sub.id);
    if h.failures > 0 {
        v["terroir:failedAttempts"] = json!(h.failures);
    }
    if let Some(e) = h.last_error {
        v["terroir:lastError"] = Value::String(e);
    }
    if let Some(t) = h.retry_at {
        v["terroir:nextAttempt"] = Value::String(vocab::rfc3339(t));
    }
    v
}

/// `POST /queries/{name}/subscriptions`.
pub(crate) async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    body: Bytes,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(create_answer(&st, &headers, &name, &body).await)
}

async fn create_answer(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    body: &[u8],
) -> EpcisResult<Response> {
    let epcis = may_subscribe(st, headers)?;
    let req = read_request(body)?;
    let log_end = st.ledger.read(|r| r.log_end()).await?;
    let now = now_ms();
    let sub = Subscription {
        id: new_id(),
        query: name.to_owned(),
        dest: req.dest,
        signature_token: req.signature_token,
        schedule: req.schedule,
        report_if_empty: req.report_if_empty,
        created_at: now,
        cursor: if req.initial_record_time.is_some() {
            0
        } else {
            log_end
        },
        backlog: req.initial_record_time.map(|from| Backlog {
            until: log_end,
            from,
        }),
        last_notified_at: None,
        delivered: 0,
    };
    epcis.book.change(|s| {
        if !s.queries.contains_key(name) {
            return Err(no_query(name));
        }
        if s.subscriptions.len() >= MAX_SUBSCRIPTIONS {
            return Err(EpcisError::new(
                StatusCode::CONFLICT,
                "epcisException:ImplementationException",
                format!(
                    "this node keeps at most {MAX_SUBSCRIPTIONS} subscriptions; delete one first"
                ),
            ));
        }
        s.subscriptions.insert(sub.id.clone(), sub.clone());
        Ok(())
    })?;
    spawn(st, epcis, sub.id.clone());
    let mut r = (StatusCode::CREATED, Json(shown(&sub, &epcis.runner))).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/queries/{name}/subscriptions/{}", sub.id)) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// `GET /queries/{name}/subscriptions`: the list, or a WebSocket stream
/// when the request asks to upgrade.
pub(crate) async fn list_or_stream(
    State(st): State<AppState>,
    Path(name): Path<String>,
    req: Request,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let (mut parts, _) = req.into_parts();
    let upgrade = parts
        .headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !upgrade {
        return finish(list(&st, &parts.headers, &name));
    }
    let ws = match WebSocketUpgrade::from_request_parts(&mut parts, &st).await {
        Ok(ws) => ws,
        Err(e) => return e.into_response(),
    };
    let pairs = match Query::<Vec<(String, String)>>::try_from_uri(&parts.uri) {
        Ok(Query(pairs)) => pairs,
        Err(e) => {
            return EpcisError::parameter(format!("the query string does not parse: {e}"))
                .into_response()
        }
    };
    match open_stream(&st, &parts.headers, &name, &pairs).await {
        Ok(stream) => ws.on_upgrade(move |socket| stream.run(socket)),
        Err(e) => e.into_response(),
    }
}

fn list(st: &AppState, headers: &HeaderMap, name: &str) -> EpcisResult<Response> {
    let epcis = may_subscribe(st, headers)?;
    let all = epcis.book.read(|s| {
        if !s.queries.contains_key(name) {
            return Err(no_query(name));
        }
        Ok(s.subscriptions
            .values()
            .filter(|sub| sub.query == name)
            .map(|sub| shown(sub, &epcis.runner))
            .collect::<Vec<Value>>())
    })?;
    Ok(Json(all).into_response())
}

/// `GET /queries/{name}/subscriptions/{id}`.
pub(crate) async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(may_subscribe(&st, &headers).and_then(|epcis| {
        let sub = epcis
            .book
            .read(|s| {
                s.subscriptions
                    .get(&id)
                    .filter(|s| s.query == name)
                    .cloned()
            })
            .ok_or_else(|| no_subscription(&id))?;
        Ok(Json(shown(&sub, &epcis.runner)).into_response())
    }))
}

/// `DELETE /queries/{name}/subscriptions/{id}`.
pub(crate) async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path((name, id)): Path<(String, String)>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(may_subscribe(&st, &headers).and_then(|epcis| {
        epcis.book.change(|s| {
            match s.subscriptions.get(&id) {
                Some(sub) if sub.query == name => {}
                _ => return Err(no_subscription(&id)),
            }
            s.subscriptions.remove(&id);
            Ok(())
        })?;
        epcis.runner.end(&id);
        Ok(StatusCode::NO_CONTENT.into_response())
    }))
}

/// Ends the subscriptions of a named query being deleted.
pub(super) fn end_all_of(epcis: &Epcis, ids: &[String]) {
    for id in ids {
        epcis.runner.end(id);
    }
}

/// An accepted WebSocket stream, before the upgrade.
struct Stream {
    st: AppState,
    epcis: Arc<Epcis>,
    query: String,
    filter: Filter,
    cursor: u64,
    backlog: Option<Backlog>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

async fn open_stream(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    pairs: &[(String, String)],
) -> EpcisResult<Stream> {
    let epcis = may_subscribe(st, headers)?;
    let mut after = None;
    let mut initial = None;
    let mut stream = false;
    for (k, v) in pairs {
        match k.as_str() {
            "stream" => stream = v == "true",
            "after" => {
                after = Some(v.parse::<u64>().map_err(|_| {
                    EpcisError::parameter(format!(
                        "after is the terroir:cursor of a delivered document, not {v:?}"
                    ))
                })?)
            }
            "initialRecordTime" => {
                initial = Some(vocab::parse_time(v).ok_or_else(|| {
                    EpcisError::parameter(format!(
                        "initialRecordTime is an RFC 3339 time (2025-04-03T08:00:00Z), not {v:?}"
                    ))
                })?)
            }
            other => {
                return Err(EpcisError::parameter(format!(
                    "a WebSocket subscription takes stream=true, after and initialRecordTime, not {other:?}"
                )))
            }
        }
    }
    if !stream {
        return Err(EpcisError::parameter(
            "a WebSocket subscription streams: ask with ?stream=true",
        ));
    }
    let pairs_of_query = epcis
        .book
        .read(|s| s.queries.get(name).cloned())
        .ok_or_else(|| no_query(name))?;
    let filter = events::standing(&pairs_of_query)?;
    let permit = epcis
        .runner
        .streams
        .clone()
        .try_acquire_owned()
        .map_err(|_| {
            EpcisError::unavailable(format!(
                "this node has {MAX_STREAMS} streams open; try again later"
            ))
        })?;
    let log_end = st.ledger.read(|r| r.log_end()).await?;
    let (cursor, backlog) = match (after, initial) {
        (Some(a), _) => (a, None),
        (None, Some(from)) => (
            0,
            Some(Backlog {
                until: log_end,
                from,
            }),
        ),
        (None, None) => (log_end, None),
    };
    Ok(Stream {
        st: st.clone(),
        epcis: epcis.clone(),
        query: name.to_owned(),
        filter,
        cursor,
        backlog,
        _permit: permit,
    })
}

impl Stream {
    async fn run(mut self, mut socket: WebSocket) {
        let id = format!("ws-{}", new_id());
        let Some(mut stop) = self.epcis.runner.stop_signal() else {
            return;
        };
        loop {
            tokio::select! {
                msg = socket.recv() => match msg {
                    Some(Ok(Message::Close(_))) | Some(Err(_)) | None => return,
                    Some(Ok(_)) => continue,
                },
                () = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
            if self
                .epcis
                .book
                .read(|s| !s.queries.contains_key(&self.query))
            {
                let _ = socket
                    .send(Message::Close(Some(axum::extract::ws::CloseFrame {
                        code: 1000,
                        reason: "the named query was deleted".into(),
                    })))
                    .await;
                return;
            }
            loop {
                let now = now_ms();
                let (found, reached) = match read_since(
                    &self.st,
                    &self.filter,
                    self.cursor,
                    self.backlog,
                    now,
                )
                .await
                {
                    Ok(x) => x,
                    Err(_) => return,
                };
                let n = found.len();
                if n > 0 {
                    let doc = events::delivery(found, now, &self.query, &id, reached);
                    let text = doc.to_string();
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                self.cursor = reached;
                if n < BATCH {
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A streamed subscription `id` to the query `q`, at cursor 0.
    pub(in crate::http::epcis) fn subscription(id: &str) -> Subscription {
        Subscription {
            id: id.into(),
            query: "q".into(),
            dest: "http://127.0.0.1:9/hook".into(),
            signature_token: None,
            schedule: None,
            report_if_empty: false,
            created_at: 0,
            cursor: 0,
            backlog: None,
            last_notified_at: None,
            delivered: 0,
        }
    }

    fn sched(v: Value) -> EpcisResult<cron::Schedule> {
        read_schedule(v.as_object().unwrap())
    }

    #[test]
    fn schedules_read_as_epcis_writes_them() {
        use chrono::{Datelike as _, TimeZone as _, Timelike as _};
        let s = sched(json!({"hour": "1", "minute": "5"})).unwrap();
        let start = chrono::Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let next = s.after(&start).next().unwrap();
        assert_eq!((next.hour(), next.minute(), next.second()), (1, 5, 0));
        // 1 = Monday … 7 = Sunday; 2026-03-02 is a Monday.
        let s = sched(json!({"hour": "9", "dayOfWeek": "[6-7]"})).unwrap();
        let next = s.after(&start).next().unwrap();
        assert_eq!(next.weekday(), chrono::Weekday::Sat);
        assert!(sched(json!({"hour": "25"})).is_err());
        assert!(sched(json!({"dayOfWeek": "8"})).is_err());
        assert!(sched(json!({"fortnight": "1"})).is_err());
    }

    #[test]
    fn requests_say_what_is_wrong() {
        let err = |body: Value| {
            read_request(body.to_string().as_bytes())
                .err()
                .unwrap()
                .reason
        };
        assert!(err(json!({"stream": true})).contains("dest"));
        assert!(err(json!({"dest": "ftp://x/", "stream": true})).contains("http"));
        assert!(err(json!({"dest": "http://x/"})).contains("stream"));
        assert!(
            err(json!({"dest": "http://x/", "stream": true, "schedule": {"hour": "1"}}))
                .contains("not both")
        );
        assert!(err(json!({"dest": "http://x/", "stream": true, "colour": 1})).contains("colour"));
        let ok = read_request(
            json!({"dest": "https://r.example/cb", "signatureToken": "s", "stream": true})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ok.signature_token.as_deref(), Some("s"));
    }

    #[test]
    fn signatures_are_hmac_sha256_in_base64() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sig)
            .unwrap();
        assert_eq!(
            hex::encode(raw),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
