//! `POST /capture` and the capture jobs it starts.
//!
//! Capture is asynchronous, as the EPCIS 2.0 REST binding specifies: the
//! document is read and mapped while the client waits (a malformed one is
//! answered 400 at once), then a capture job signs and commits its events
//! on the ledger thread, and the client follows the job at
//! `/capture/{captureID}`. Under the standard's default error behaviour,
//! `rollback`, the events are one atomic batch: if any is refused, nothing
//! is signed. Under `GS1-Capture-Error-Behaviour: proceed` the events that
//! map and resolve are signed, and the job lists the others.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::Hash;
use rand_core::{OsRng, RngCore};
use serde_json::{json, Value};
use terroir_standards::apply::{self, ImportError, ImportReport};
use terroir_standards::import::{self, DocumentError, Mapped};
use terroir_standards::{vocab, xml};
use tokio::sync::Semaphore;

use super::{authorize, configured, versions, EpcisError, EpcisResult};
use crate::http::AppState;
use crate::ledger_task::{now_ms, LedgerClosed};

/// Capture jobs remembered, running and finished together: the newest
/// 1,000. Jobs live in memory only; a restart forgets them (the records a
/// job signed stay in the ledger).
pub(crate) const MAX_JOBS: usize = 1_000;

/// Capture jobs waiting for or running on the ledger thread at once; a
/// capture beyond them is answered 503. Each holds its mapped document
/// (up to `limits.max_body_bytes` of input), and they run one after the
/// other on the ledger thread anyway.
pub(crate) const MAX_RUNNING: usize = 16;

/// Errors one job keeps; the rest are counted in one last entry.
pub(crate) const MAX_JOB_ERRORS: usize = 100;

/// The header choosing what a capture does with events it cannot sign.
const ERROR_BEHAVIOUR: &str = "GS1-Capture-Error-Behaviour";

/// What a capture does when some events cannot be signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Behaviour {
    /// Nothing is signed (the standard's default).
    Rollback,
    /// The others are signed.
    Proceed,
}

impl Behaviour {
    fn name(self) -> &'static str {
        match self {
            Behaviour::Rollback => "rollback",
            Behaviour::Proceed => "proceed",
        }
    }
}

/// One event's (or the whole job's) failure.
#[derive(Debug, Clone)]
struct JobError {
    index: Option<usize>,
    event_id: Option<String>,
    reason: String,
}

impl JobError {
    fn json(&self) -> Value {
        let mut v = json!({ "reason": self.reason });
        if let Some(i) = self.index {
            v["eventIndex"] = json!(i);
        }
        if let Some(id) = &self.event_id {
            v["eventID"] = json!(id);
        }
        v
    }
}

/// A capture job.
#[derive(Debug, Clone)]
struct Job {
    id: String,
    created: u64,
    behaviour: Behaviour,
    /// `None` while it runs.
    finished: Option<Finished>,
}

#[derive(Debug, Clone)]
struct Finished {
    at: u64,
    success: bool,
    errors: Vec<JobError>,
    records: Vec<Hash>,
}

impl Job {
    fn json(&self) -> Value {
        let mut v = json!({
            "captureID": self.id,
            "createdAt": vocab::rfc3339(self.created),
            "running": self.finished.is_none(),
            "captureErrorBehaviour": self.behaviour.name(),
            "errors": [],
        });
        if let Some(f) = &self.finished {
            v["finishedAt"] = json!(vocab::rfc3339(f.at));
            v["success"] = json!(f.success);
            v["errors"] = f.errors.iter().map(JobError::json).collect();
            v["terroir:records"] = json!(f.records);
        }
        v
    }
}

/// The capture jobs: the newest [`MAX_JOBS`], and the permits of those
/// running.
#[derive(Debug)]
pub(crate) struct Jobs {
    list: Mutex<VecDeque<Job>>,
    running: Arc<Semaphore>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            list: Mutex::new(VecDeque::new()),
            running: Arc::new(Semaphore::new(MAX_RUNNING)),
        }
    }
}

impl Jobs {
    fn with<T>(&self, f: impl FnOnce(&mut VecDeque<Job>) -> T) -> T {
        // A panic while the lock was held leaves a list that is still
        // whole (every change is one push, pop or assignment).
        f(&mut self.list.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn start(&self, job: Job) {
        self.with(|l| {
            l.push_back(job);
            while l.len() > MAX_JOBS {
                l.pop_front();
            }
        });
    }

    fn finish(&self, id: &str, finished: Finished) {
        self.with(|l| {
            if let Some(j) = l.iter_mut().find(|j| j.id == id) {
                j.finished = Some(finished);
            }
        });
    }

    fn get(&self, id: &str) -> Option<Value> {
        self.with(|l| l.iter().find(|j| j.id == id).map(Job::json))
    }

    fn all(&self) -> Vec<Value> {
        self.with(|l| l.iter().rev().map(Job::json).collect())
    }
}

/// How a document arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Binding {
    Json,
    Xml,
}

fn binding(headers: &HeaderMap, body: &[u8]) -> EpcisResult<Binding> {
    let Some(ct) = headers.get(header::CONTENT_TYPE) else {
        return Ok(if xml::is_xml(body) {
            Binding::Xml
        } else {
            Binding::Json
        });
    };
    let mime = ct
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "application/ld+json" => Ok(Binding::Json),
        "application/xml" | "text/xml" => Ok(Binding::Xml),
        other => Err(EpcisError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "epcisException:ValidationException",
            format!(
                "a capture is an EPCIS document in JSON-LD (application/ld+json, application/json) or XML (application/xml, text/xml), not {other:?}"
            ),
        )),
    }
}

fn behaviour(headers: &HeaderMap) -> EpcisResult<Behaviour> {
    match headers
        .get(ERROR_BEHAVIOUR)
        .map(|v| v.to_str().map(str::trim))
    {
        None => Ok(Behaviour::Rollback),
        Some(Ok(v)) if v.eq_ignore_ascii_case("rollback") => Ok(Behaviour::Rollback),
        Some(Ok(v)) if v.eq_ignore_ascii_case("proceed") => Ok(Behaviour::Proceed),
        Some(_) => Err(EpcisError::invalid(format!(
            "{ERROR_BEHAVIOUR} is rollback or proceed"
        ))),
    }
}

/// A document error in one line, with what lies under it.
fn document_words(e: &DocumentError) -> String {
    match std::error::Error::source(e) {
        Some(src) if !e.to_string().contains(&src.to_string()) => format!("{e}: {src}"),
        _ => e.to_string(),
    }
}

/// Reads and maps a captured document.
fn read(body: &[u8], binding: Binding) -> Result<Vec<Mapped>, DocumentError> {
    if body.len() > import::MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge { len: body.len() });
    }
    let doc: Value = match binding {
        Binding::Xml => xml::to_json(body)?,
        Binding::Json => serde_json::from_slice(body)?,
    };
    import::map_document(&doc)
}

fn capture_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// `POST /capture`: reads and maps the document, starts its capture job
/// and answers 202 with `Location: /capture/{captureID}`.
pub(crate) async fn capture(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    match start(st, &headers, body).await {
        Ok(r) => versions(r),
        Err(e) => e.into_response(),
    }
}

async fn start(st: AppState, headers: &HeaderMap, body: Bytes) -> EpcisResult<Response> {
    let epcis = configured(&st)?.clone();
    authorize(&epcis.capture_tokens, headers, "captures EPCIS events")?;
    let behaviour = behaviour(headers)?;
    let binding = binding(headers, &body)?;
    let Ok(permit) = epcis.jobs.running.clone().try_acquire_owned() else {
        return Err(EpcisError::unavailable(format!(
            "{MAX_RUNNING} capture jobs are waiting or running; try again when they are done"
        )));
    };
    let mapped = tokio::task::spawn_blocking(move || read(&body, binding))
        .await
        .map_err(|_| EpcisError::internal("reading the document failed; the node's log says why"))?
        .map_err(|e| match e {
            DocumentError::TooLarge { .. }
            | DocumentError::XmlTooLarge { .. }
            | DocumentError::TooManyEvents { .. } => EpcisError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "epcisException:CaptureLimitExceededException",
                e.to_string(),
            ),
            other => EpcisError::invalid(document_words(&other)),
        })?;
    let job = Job {
        id: capture_id(),
        created: now_ms(),
        behaviour,
        finished: None,
    };
    let id = job.id.clone();
    let answer = job.json();
    epcis.jobs.start(job);
    // What the job's errors name: each event's ID, and the events that
    // did not map (under rollback the import names only its first
    // refusal, so these are listed from here).
    let ids: Vec<(usize, Option<String>)> = mapped
        .iter()
        .map(|m| (m.index, m.event_id.clone()))
        .collect();
    let unmapped: Vec<JobError> = mapped
        .iter()
        .filter_map(|m| {
            m.draft.as_ref().err().map(|reason| JobError {
                index: Some(m.index),
                event_id: m.event_id.clone(),
                reason: reason.clone(),
            })
        })
        .collect();
    let job_id = id.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let key = epcis.key.clone();
        let metrics = st.metrics.clone();
        let strict = behaviour == Behaviour::Rollback;
        let result = st
            .ledger
            .exclusive_announcing(move |s| {
                let r = apply::import(&mut s.ledger, &key, &mapped, strict, now_ms());
                metrics.set_gauges(s.ledger.len(), s.ledger.pending_len());
                // What it signed, and what that released from the pending
                // pool: both go out on gossip.
                let landed = r
                    .as_ref()
                    .map(|rep| {
                        rep.imported
                            .iter()
                            .map(|(_, h, _)| *h)
                            .chain(rep.released.iter().copied())
                            .collect()
                    })
                    .unwrap_or_default();
                (r, landed)
            })
            .await;
        let finished = finish(result, &ids, unmapped);
        if !finished.success {
            tracing::info!(capture = %job_id, errors = finished.errors.len(), "EPCIS capture refused events");
        }
        epcis.jobs.finish(&job_id, finished);
    });
    let location = format!("/capture/{id}");
    let mut r = (StatusCode::ACCEPTED, Json(answer)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// A finished job from the import's result.
fn finish(
    result: Result<Result<ImportReport, ImportError>, LedgerClosed>,
    ids: &[(usize, Option<String>)],
    unmapped: Vec<JobError>,
) -> Finished {
    let id_of = |index: usize| {
        ids.iter()
            .find(|(i, _)| *i == index)
            .and_then(|(_, id)| id.clone())
    };
    let whole = |reason: String| {
        vec![JobError {
            index: None,
            event_id: None,
            reason,
        }]
    };
    let (errors, records) = match result {
        Ok(Ok(report)) => (
            report
                .skipped
                .into_iter()
                .map(|(index, event_id, reason)| JobError {
                    index: Some(index),
                    event_id,
                    reason,
                })
                .collect(),
            report.imported.into_iter().map(|(_, h, _)| h).collect(),
        ),
        Ok(Err(ImportError::Skipped { skipped })) => {
            // Every event that did not map or resolve, in document order.
            let mut errors = unmapped;
            for (index, event_id, reason) in skipped {
                if !errors.iter().any(|e| e.index == Some(index)) {
                    errors.push(JobError {
                        index: Some(index),
                        event_id: event_id.or_else(|| id_of(index)),
                        reason,
                    });
                }
            }
            errors.sort_by_key(|e| e.index);
            (errors, Vec::new())
        }
        Ok(Err(ImportError::Rejected {
            index,
            kind,
            reason,
        })) => (
            vec![JobError {
                index: Some(index),
                event_id: id_of(index),
                reason: format!(
                    "the ledger refuses its {kind} record, so nothing was captured: {reason}"
                ),
            }],
            Vec::new(),
        ),
        Ok(Err(ImportError::Store(e))) => {
            tracing::error!(error = %e, "EPCIS capture: the store failed");
            (whole(format!("the node's store failed: {e}")), Vec::new())
        }
        Ok(Err(other)) => (whole(other.to_string()), Vec::new()),
        Err(LedgerClosed) => (
            whole("the node shut down before the capture ran".into()),
            Vec::new(),
        ),
    };
    let mut errors: Vec<JobError> = errors;
    if errors.len() > MAX_JOB_ERRORS {
        let more = errors.len() - MAX_JOB_ERRORS;
        errors.truncate(MAX_JOB_ERRORS);
        errors.push(JobError {
            index: None,
            event_id: None,
            reason: format!("{more} more error(s) not listed"),
        });
    }
    Finished {
        at: now_ms(),
        success: errors.is_empty(),
        errors,
        records,
    }
}

/// `GET /capture/{captureID}`: one capture job.
pub(crate) async fn job(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let answer = (|| {
        let epcis = configured(&st)?;
        authorize(&epcis.capture_tokens, &headers, "shows capture jobs")?;
        epcis.jobs.get(&id).ok_or_else(|| {
            EpcisError::new(
                StatusCode::NOT_FOUND,
                "epcisException:NoSuchResourceException",
                format!(
                    "no capture job {id:?} here (the node keeps the newest {MAX_JOBS}, in memory)"
                ),
            )
        })
    })();
    match answer {
        Ok(v) => versions(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

/// `GET /capture`: every capture job remembered, newest first.
pub(crate) async fn list(State(st): State<AppState>, headers: HeaderMap) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    let answer = configured(&st).and_then(|epcis| {
        authorize(&epcis.capture_tokens, &headers, "shows capture jobs")?;
        Ok(epcis.jobs.all())
    });
    match answer {
        Ok(v) => versions(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}
