//! Named queries (EPCIS 2.0 REST binding): `POST /queries` names a set
//! of `GET /events` parameters, `GET /queries` and `GET /queries/{name}`
//! show them, `GET /queries/{name}/events` runs one exactly as
//! `GET /events` would, and `DELETE /queries/{name}` forgets it and ends
//! its subscriptions (see `subscriptions`).
//!
//! They are saved in the data directory (see `book`), at most
//! [`MAX_QUERIES`] at once. Who may create, read, run or delete them is
//! who may query: anyone, or the holders of `epcis.query_tokens` when the
//! operator set it.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use super::{authorize, configured, events, finish, subscriptions, Epcis, EpcisError, EpcisResult};
use crate::http::AppState;

/// The most named queries a node keeps.
pub(crate) const MAX_QUERIES: usize = 100;
/// The longest name a query may have.
pub(crate) const MAX_NAME: usize = 64;

/// The paging parameters a run may add to a named query's own.
const PAGING: &[&str] = &["perPage", "nextPageToken"];

fn shown(name: &str, pairs: &[(String, String)]) -> Value {
    let query: Map<String, Value> = pairs
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    json!({ "name": name, "query": query })
}

fn no_such(name: &str) -> EpcisError {
    EpcisError::new(
        StatusCode::NOT_FOUND,
        "epcisException:NoSuchNameException",
        format!("no named query {name:?} on this node"),
    )
}

/// The `[epcis]` state, once the caller is allowed to query.
fn allowed<'a>(st: &'a AppState, headers: &HeaderMap) -> EpcisResult<&'a std::sync::Arc<Epcis>> {
    let epcis = configured(st)?;
    if let Some(tokens) = &epcis.query_tokens {
        authorize(tokens, headers, "answers EPCIS queries")?;
    }
    Ok(epcis)
}

fn valid_name(name: &str) -> EpcisResult<()> {
    if name.is_empty()
        || name.len() > MAX_NAME
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return Err(EpcisError::invalid(format!(
            "a query's name is 1 to {MAX_NAME} of A-Z, a-z, 0-9, _ and -, not {name:?}"
        )));
    }
    Ok(())
}

/// Reads `{"name": …, "query": {parameter: string, …}}`.
fn read_new(body: &[u8]) -> EpcisResult<(String, Vec<(String, String)>)> {
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        EpcisError::invalid(format!(
            "the body is not JSON ({e}); send {{\"name\": NAME, \"query\": {{PARAMETER: VALUE, …}}}}"
        ))
    })?;
    let Some(obj) = v.as_object() else {
        return Err(EpcisError::invalid(
            "the body is a JSON object: {\"name\": NAME, \"query\": {PARAMETER: VALUE, …}}",
        ));
    };
    if let Some(other) = obj.keys().find(|k| *k != "name" && *k != "query") {
        return Err(EpcisError::invalid(format!(
            "a named query has only \"name\" and \"query\", not {other:?}"
        )));
    }
    let name = obj
        .get("name")
        .and_then(Value::as_str)
        .ok_or_else(|| EpcisError::invalid("\"name\" is missing or not a string"))?
        .to_owned();
    valid_name(&name)?;
    let query = match obj.get("query") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => {
            return Err(EpcisError::invalid(
                "\"query\" is an object of GET /events parameters, each a string",
            ))
        }
    };
    let mut pairs = Vec::with_capacity(query.len());
    for (k, v) in query {
        let Value::String(s) = v else {
            return Err(EpcisError::parameter(format!(
                "the query parameter {k:?} is a string (a list is comma-separated), not {v}"
            )));
        };
        pairs.push((k, s));
    }
    Ok((name, pairs))
}

/// `POST /queries`.
pub(crate) async fn create(
    State(st): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(create_answer(&st, &headers, &body))
}

fn create_answer(st: &AppState, headers: &HeaderMap, body: &[u8]) -> EpcisResult<Response> {
    let epcis = allowed(st, headers)?;
    let (name, pairs) = read_new(body)?;
    if pairs.iter().any(|(k, _)| k == "nextPageToken") {
        return Err(EpcisError::parameter(
            "a named query cannot keep a nextPageToken; give it when running the query",
        ));
    }
    events::check(&pairs)?;
    let body = shown(&name, &pairs);
    epcis.book.change(|s| {
        if s.queries.contains_key(&name) {
            return Err(EpcisError::new(
                StatusCode::CONFLICT,
                "epcisException:DuplicateNameException",
                format!("a query named {name:?} already exists; delete it first to replace it"),
            ));
        }
        if s.queries.len() >= MAX_QUERIES {
            return Err(EpcisError::new(
                StatusCode::CONFLICT,
                "epcisException:ImplementationException",
                format!("this node keeps at most {MAX_QUERIES} named queries; delete one first"),
            ));
        }
        s.queries.insert(name.clone(), pairs);
        Ok(())
    })?;
    let mut r = (StatusCode::CREATED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&format!("/queries/{name}")) {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

/// `GET /queries`.
pub(crate) async fn list(State(st): State<AppState>, headers: HeaderMap) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(allowed(&st, &headers).map(|epcis| {
        let all: Vec<Value> = epcis
            .book
            .read(|s| s.queries.iter().map(|(n, p)| shown(n, p)).collect());
        Json(all).into_response()
    }))
}

/// `GET /queries/{name}`.
pub(crate) async fn one(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(allowed(&st, &headers).and_then(|epcis| {
        let pairs = epcis
            .book
            .read(|s| s.queries.get(&name).cloned())
            .ok_or_else(|| no_such(&name))?;
        Ok(Json(shown(&name, &pairs)).into_response())
    }))
}

/// `DELETE /queries/{name}`.
pub(crate) async fn delete(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(allowed(&st, &headers).and_then(|epcis| {
        let ended = epcis.book.change(|s| {
            s.queries.remove(&name).ok_or_else(|| no_such(&name))?;
            let ids: Vec<String> = s
                .subscriptions
                .values()
                .filter(|sub| sub.query == name)
                .map(|sub| sub.id.clone())
                .collect();
            for id in &ids {
                s.subscriptions.remove(id);
            }
            Ok(ids)
        })?;
        subscriptions::end_all_of(epcis, &ended);
        Ok(StatusCode::NO_CONTENT.into_response())
    }))
}

/// `GET /queries/{name}/events`.
pub(crate) async fn run(
    State(st): State<AppState>,
    headers: HeaderMap,
    Path(name): Path<String>,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    finish(run_answer(&st, &headers, &name, query).await)
}

async fn run_answer(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> EpcisResult<Response> {
    let epcis = allowed(st, headers)?;
    let Query(paging) = query
        .map_err(|e| EpcisError::parameter(format!("the query string does not parse: {e}")))?;
    if let Some((k, _)) = paging.iter().find(|(k, _)| !PAGING.contains(&k.as_str())) {
        return Err(EpcisError::parameter(format!(
            "a named query's parameters are its own: running it takes only {}, not {k:?}",
            PAGING.join(" and ")
        )));
    }
    let mut pairs = epcis
        .book
        .read(|s| s.queries.get(name).cloned())
        .ok_or_else(|| no_such(name))?;
    // Given after the query's own, so a perPage here wins.
    pairs.extend(paging.iter().cloned());
    events::respond(
        st,
        headers,
        &pairs,
        &format!("/queries/{name}/events"),
        &paging,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert!(valid_name("daily-recalls_2").is_ok());
        for bad in ["", "a b", "é", "a/b", &"x".repeat(MAX_NAME + 1)] {
            assert!(valid_name(bad).is_err(), "{bad:?}");
        }
        assert!(valid_name(&"x".repeat(MAX_NAME)).is_ok());
    }

    #[test]
    fn bodies_are_read() {
        let (n, p) = read_new(br#"{"name":"q","query":{"EQ_bizStep":"shipping"}}"#).unwrap();
        assert_eq!(n, "q");
        assert_eq!(p, vec![("EQ_bizStep".to_owned(), "shipping".to_owned())]);
        assert!(read_new(br#"{"name":"q","query":{"perPage":5}}"#).is_err());
        assert!(read_new(br#"{"name":"q","extra":1}"#).is_err());
        assert!(read_new(b"nope").is_err());
    }
}
