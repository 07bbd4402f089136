//! `GET /events`: the node's records as EPCIS events, filtered by the
//! EPCIS 2.0 REST binding's query parameters, a page at a time.
//!
//! What a page costs depends on what the query names:
//! - a lot class (`MATCH_epcClass`, `MATCH_anyEPCClass`, `MATCH_anyEPC`):
//!   the records of those lots, from the lot index;
//! - else an event type or business step (`eventType`, `EQ_bizStep`) that
//!   only inspections, certifications and recalls can match (the kinds the
//!   ledger indexes): the records of those kinds, from the kind index;
//! - else (other business steps, times, locations or nothing): the log,
//!   read in acceptance order from where the previous page stopped until
//!   the page is full, so a filter that matches little scans much of the
//!   ledger.
//!
//! Indexed answers come in event time order (then record hash); scanned
//! ones in the order the node accepted the records.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::event::Product;
use ledger_core::graph::Graph;
use ledger_core::store::SledStore;
use ledger_core::{Hash, LotId, Reader, SignedRecord, StoreError};
use serde_json::{json, Value};
use terroir_standards::export::{self, Item, EPCIS_CONTEXT};
use terroir_standards::{vocab, xml};

use super::{authorize, configured, versions, EpcisError, EpcisResult};
use crate::http::AppState;
use crate::ledger_task::now_ms;

/// Events per page unless `perPage` says otherwise.
pub(crate) const DEFAULT_PER_PAGE: usize = 30;
/// The most events one page may carry.
pub(crate) const MAX_PER_PAGE: usize = 1_000;

/// The query parameters this node takes.
pub(crate) const PARAMETERS: &[&str] = &[
    "eventType",
    "EQ_bizStep",
    "GE_eventTime",
    "LT_eventTime",
    "EQ_bizLocation",
    "MATCH_anyEPC",
    "MATCH_epcClass",
    "MATCH_anyEPCClass",
    "perPage",
    "nextPageToken",
];

/// CBV business step prefixes, stripped to compare bare terms.
const BIZSTEP_PREFIXES: &[&str] = &[
    "urn:epcglobal:cbv:bizstep:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://gs1.org/voc/BizStep-",
];

/// A parsed query.
#[derive(Debug, Default, Clone)]
pub(super) struct Filter {
    event_types: Option<BTreeSet<String>>,
    biz_steps: Option<BTreeSet<String>>,
    ge_time: Option<u64>,
    lt_time: Option<u64>,
    locations: Option<BTreeSet<String>>,
    /// Each `MATCH_…` parameter given, and its values: one of them must
    /// be named (`MATCH_anyEPC` also by a parent or serialised item).
    classes: Vec<(&'static str, BTreeSet<String>)>,
    per_page: usize,
    after: Option<Token>,
}

/// Where a page starts: after this (time, hash) in an indexed answer, or
/// after this log seq in a scanned one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Time(u64, Hash),
    Seq(u64),
}

impl Token {
    fn encode(self) -> String {
        match self {
            Token::Time(t, h) => format!("t{t}.{}", h.to_hex()),
            Token::Seq(s) => format!("s{s}"),
        }
    }

    fn decode(s: &str) -> Option<Token> {
        if let Some(rest) = s.strip_prefix('t') {
            let (t, h) = rest.split_once('.')?;
            return Some(Token::Time(t.parse().ok()?, Hash::from_hex(h).ok()?));
        }
        Some(Token::Seq(s.strip_prefix('s')?.parse().ok()?))
    }
}

fn bare_step(s: &str) -> &str {
    BIZSTEP_PREFIXES
        .iter()
        .find_map(|p| s.strip_prefix(p))
        .unwrap_or(s)
}

/// Values of a list parameter: comma-separated, or the parameter repeated.
fn values(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

fn parse(pairs: &[(String, String)]) -> EpcisResult<Filter> {
    let mut f = Filter {
        per_page: DEFAULT_PER_PAGE,
        ..Filter::default()
    };
    let mut classes: HashMap<&str, BTreeSet<String>> = HashMap::new();
    let time = |k: &str, v: &str| {
        vocab::parse_time(v.trim()).ok_or_else(|| {
            EpcisError::parameter(format!(
                "{k} is an RFC 3339 time (2025-04-03T08:00:00Z), not {v:?}"
            ))
        })
    };
    for (k, v) in pairs {
        match k.as_str() {
            "eventType" => f.event_types.get_or_insert_default().extend(values(v)),
            "EQ_bizStep" => f
                .biz_steps
                .get_or_insert_default()
                .extend(values(v).map(|s| bare_step(&s).to_owned())),
            "GE_eventTime" => f.ge_time = Some(time(k, v)?),
            "LT_eventTime" => f.lt_time = Some(time(k, v)?),
            "EQ_bizLocation" => f.locations.get_or_insert_default().extend(values(v)),
            "MATCH_anyEPC" | "MATCH_epcClass" | "MATCH_anyEPCClass" => {
                let key = PARAMETERS
                    .iter()
                    .copied()
                    .find(|p| p == k)
                    .unwrap_or("MATCH_anyEPC");
                classes.entry(key).or_default().extend(values(v));
            }
            "perPage" => {
                f.per_page = v
                    .trim()
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PER_PAGE).contains(n))
                    .ok_or_else(|| {
                        EpcisError::parameter(format!(
                            "perPage is a number from 1 to {MAX_PER_PAGE}, not {v:?}"
                        ))
                    })?;
            }
            "nextPageToken" => {
                f.after = Some(Token::decode(v.trim()).ok_or_else(|| {
                    EpcisError::parameter(format!("nextPageToken {v:?} is not one this node gave"))
                })?);
            }
            other => {
                return Err(EpcisError::parameter(format!(
                    "this node does not take the query parameter {other:?}; it takes {}",
                    PARAMETERS.join(", ")
                )))
            }
        }
    }
    f.classes = classes.into_iter().collect();
    Ok(f)
}

/// Whether an exported event passes the filter (its time is checked
/// apart, from the record).
fn matches(f: &Filter, e: &Value) -> bool {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    if let Some(types) = &f.event_types {
        if !text(&e["type"]).is_some_and(|t| types.contains(&t)) {
            return false;
        }
    }
    if let Some(steps) = &f.biz_steps {
        if !e["bizStep"]
            .as_str()
            .is_some_and(|s| steps.contains(bare_step(s)))
        {
            return false;
        }
    }
    if let Some(locations) = &f.locations {
        if !text(&e["bizLocation"]["id"]).is_some_and(|l| locations.contains(&l)) {
            return false;
        }
    }
    if !f.classes.is_empty() {
        let classes: Vec<&str> = [
            "quantityList",
            "inputQuantityList",
            "outputQuantityList",
            "childQuantityList",
        ]
        .iter()
        .filter_map(|k| e[*k].as_array())
        .flatten()
        .filter_map(|q| q["epcClass"].as_str())
        .collect();
        // Instances: the parent (a pallet's SSCC) and serialised items.
        let instances: Vec<&str> = ["epcList", "childEPCs", "inputEPCList", "outputEPCList"]
            .iter()
            .filter_map(|k| e[*k].as_array())
            .flatten()
            .filter_map(Value::as_str)
            .chain(e["parentID"].as_str())
            .collect();
        if !f.classes.iter().all(|(key, set)| {
            classes.iter().any(|c| set.contains(*c))
                || (*key == "MATCH_anyEPC" && instances.iter().any(|c| set.contains(*c)))
        }) {
            return false;
        }
    }
    true
}

fn in_time(f: &Filter, t: u64) -> bool {
    f.ge_time.is_none_or(|g| t >= g) && f.lt_time.is_none_or(|l| t < l)
}

/// Exports records one at a time, remembering each lot's product.
struct Exporter<'r> {
    reader: &'r Reader<SledStore>,
    products: RefCell<HashMap<LotId, Option<Product>>>,
    now: u64,
}

impl<'r> Exporter<'r> {
    fn new(reader: &'r Reader<SledStore>, now: u64) -> Self {
        Exporter {
            reader,
            products: RefCell::new(HashMap::new()),
            now,
        }
    }

    fn product(&self, lot: &LotId) -> Option<Product> {
        if let Some(p) = self.products.borrow().get(lot) {
            return p.clone();
        }
        let found = (|| {
            let h = ledger_core::query::creation(self.reader, lot).ok()??;
            let r = Graph::record(self.reader, &h).ok()??;
            r.record
                .event
                .created_lots()
                .into_iter()
                .find(|(c, _, _)| *c == lot.code)
                .map(|(_, p, _)| p.clone())
        })();
        self.products
            .borrow_mut()
            .insert(lot.clone(), found.clone());
        found
    }

    /// The record's EPCIS event, `None` for records with no EPCIS form.
    fn event(&self, hash: Hash, record: &SignedRecord) -> Option<Value> {
        let product = |lot: &LotId| self.product(lot);
        let find = |h: &Hash| Graph::record(self.reader, h).ok().flatten();
        let lookup = export::Lookup {
            product: &product,
            record: &find,
        };
        let mut doc = export::export(&[Item { hash, record }], self.now, &lookup).document;
        let e = doc["epcisBody"]["eventList"].get_mut(0)?.take();
        Some(e)
    }
}

/// One page of events, and the token of the next if there may be one.
type Page = (Vec<Value>, Option<Token>);

fn indexed(
    r: &Reader<SledStore>,
    f: &Filter,
    hashes: BTreeSet<Hash>,
    x: &Exporter<'_>,
) -> Result<EpcisResult<Page>, StoreError> {
    let after = match f.after {
        None => None,
        Some(Token::Time(t, h)) => Some((t, h)),
        Some(Token::Seq(_)) => {
            return Ok(Err(EpcisError::parameter(
                "that nextPageToken belongs to a query answered from an index, not this one",
            )))
        }
    };
    let mut found: Vec<(u64, Hash, SignedRecord)> = Vec::new();
    for h in hashes {
        let Some(rec) = Graph::record(r, &h)? else {
            continue;
        };
        let t = rec.record.time;
        if in_time(f, t) && after.is_none_or(|a| (t, h) > a) {
            found.push((t, h, rec));
        }
    }
    found.sort_by_key(|(t, h, _)| (*t, *h));
    let mut events = Vec::new();
    let mut last = None;
    for (t, h, rec) in found {
        let Some(e) = x.event(h, &rec) else { continue };
        if !matches(f, &e) {
            continue;
        }
        if events.len() == f.per_page {
            return Ok(Ok((events, last.map(|(t, h)| Token::Time(t, h)))));
        }
        events.push(e);
        last = Some((t, h));
    }
    Ok(Ok((events, None)))
}

/// Walks the log after `after` in acceptance order, handing `take` each
/// record's seq and its EPCIS event when it passes `f` (else `None`);
/// records `skip` names (by seq and event time) pass nothing. Stops when
/// `take` returns false. A log entry that does not decode is a damaged
/// store.
fn walk(
    r: &Reader<SledStore>,
    f: &Filter,
    x: &Exporter<'_>,
    after: u64,
    skip: impl Fn(u64, u64) -> bool,
    mut take: impl FnMut(u64, Option<Value>) -> bool,
) -> Result<(), StoreError> {
    let mut damaged = None;
    r.for_each_logged_after(after, |seq, bytes| {
        let rec = match SignedRecord::decode(bytes) {
            Ok(rec) => rec,
            Err(e) => {
                damaged = Some(StoreError::Corrupt {
                    key: format!("log seq {seq}"),
                    why: e.to_string(),
                });
                return false;
            }
        };
        let t = rec.record.time;
        let event = if skip(seq, t) || !in_time(f, t) {
            None
        } else {
            x.event(rec.hash(), &rec).filter(|e| matches(f, e))
        };
        take(seq, event)
    })?;
    damaged.map_or(Ok(()), Err)
}

fn scanned(
    r: &Reader<SledStore>,
    f: &Filter,
    x: &Exporter<'_>,
) -> Result<EpcisResult<Page>, StoreError> {
    let after = match f.after {
        None => 0,
        Some(Token::Seq(s)) => s,
        Some(Token::Time(..)) => {
            return Ok(Err(EpcisError::parameter(
                "that nextPageToken belongs to a query answered by a scan, not this one",
            )))
        }
    };
    let mut events = Vec::new();
    let mut last = None;
    let mut more = false;
    walk(
        r,
        f,
        x,
        after,
        |_, _| false,
        |seq, event| {
            let Some(e) = event else { return true };
            if events.len() == f.per_page {
                more = true;
                return false;
            }
            events.push(e);
            last = Some(seq);
            true
        },
    )?;
    Ok(Ok((events, last.filter(|_| more).map(Token::Seq))))
}

fn run(r: &Reader<SledStore>, f: &Filter, now: u64) -> Result<EpcisResult<Page>, StoreError> {
    let x = Exporter::new(r, now);
    // Every lot the first MATCH_ parameter names, when it names only lot
    // classes; the others are checked on the events. One naming an
    // instance (a pallet's SSCC, a serialised item) is found by a scan.
    let first = f.classes.first().map(|(_, set)| set);
    if let Some(first) = first.filter(|set| set.iter().all(|c| vocab::parse_lot_class(c).is_ok())) {
        let mut lots: BTreeSet<LotId> = BTreeSet::new();
        for class in first {
            let Ok(lot) = vocab::parse_lot_class(class) else {
                continue;
            };
            match (lot.source, &lot.gtin) {
                (Some(source), _) => {
                    lots.insert(LotId {
                        source,
                        code: lot.code,
                    });
                }
                (None, Some(gtin)) => lots.extend(r.lots_with_gtin_and_code(gtin, &lot.code)?),
                (None, None) => {}
            }
        }
        let mut hashes = BTreeSet::new();
        for lot in &lots {
            hashes.extend(Graph::lot_records(r, lot)?);
        }
        return indexed(r, f, hashes, &x);
    }
    // Any other query scans the log in acceptance order: neither an event
    // type nor a step tells the kind of record (a declaration has the
    // type of what it declares; a record keeps the step it came with).
    scanned(r, f, &x)
}

/// A standing query's filter: a named query's parameters, read as
/// `GET /events` reads them (a saved query has no paging token).
pub(super) fn standing(pairs: &[(String, String)]) -> EpcisResult<Filter> {
    parse(pairs)
}

/// Where a subscription's backlog ends: records logged up to `until`
/// are delivered only when their event time is at or after `from`
/// (`initialRecordTime`); later ones all are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(super) struct Backlog {
    pub(super) until: u64,
    pub(super) from: u64,
}

/// What a subscription has not seen yet: the events of the records
/// logged after `after` that pass `f` (its time bounds included), at
/// most `limit`, and the log seq read up to — the last event's when the
/// batch is full, else the end of the log, so records that match nothing
/// are read once.
pub(super) fn since(
    r: &Reader<SledStore>,
    f: &Filter,
    after: u64,
    limit: usize,
    backlog: Option<Backlog>,
    now: u64,
) -> Result<(Vec<Value>, u64), StoreError> {
    let x = Exporter::new(r, now);
    let mut events = Vec::new();
    let mut cursor = after;
    let before_start = |seq: u64, t: u64| backlog.is_some_and(|b| seq <= b.until && t < b.from);
    walk(r, f, &x, after, before_start, |seq, event| {
        cursor = seq;
        events.extend(event);
        events.len() < limit
    })?;
    if events.len() < limit {
        cursor = cursor.max(r.log_end());
    }
    Ok((events, cursor))
}

/// What a subscription delivers: the EPCISQueryDocument of `events` for
/// the named query, with the subscription's id and, as `terroir:cursor`,
/// the log position a WebSocket client resumes after.
pub(super) fn delivery(
    events: Vec<Value>,
    now: u64,
    query: &str,
    subscription: &str,
    cursor: u64,
) -> Value {
    let mut doc = query_document(events, now);
    let results = &mut doc["epcisBody"]["queryResults"];
    results["queryName"] = Value::String(query.to_owned());
    results["subscriptionID"] = Value::String(subscription.to_owned());
    doc["terroir:cursor"] = Value::String(cursor.to_string());
    doc
}

/// Percent-encodes a query component.
fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether the client asked for XML.
fn wants_xml(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| {
            a.split(',').any(|t| {
                let t = t.trim();
                t.starts_with("application/xml") || t.starts_with("text/xml")
            })
        })
}

/// The EPCISQueryDocument of `events`, JSON-LD.
fn query_document(events: Vec<Value>, now: u64) -> Value {
    json!({
        "@context": [EPCIS_CONTEXT, { "terroir": vocab::NAMESPACE }],
        "type": "EPCISQueryDocument",
        "schemaVersion": "2.0",
        "creationDate": vocab::rfc3339(now),
        "epcisBody": { "queryResults": {
            "queryName": "SimpleEventQuery",
            "resultsBody": { "eventList": events },
        }},
    })
}

/// The EPCISQueryDocument of `events`, XML: the XML writer writes them as
/// an EPCISDocument, whose root and body are then those of a query
/// document (`epcisq:EPCISQueryDocument`, `EPCISBody/QueryResults`).
fn query_xml(events: Vec<Value>, now: u64) -> Result<String, xml::XmlError> {
    let doc = json!({
        "@context": [EPCIS_CONTEXT, { "terroir": vocab::NAMESPACE }],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": vocab::rfc3339(now),
        "epcisBody": { "eventList": events },
    });
    let text = xml::from_json(&doc)?;
    // Element names never occur in text or attributes (the writer escapes
    // `<`), so these are the document's own tags.
    Ok(text
        .replacen(
            "<epcis:EPCISDocument",
            &format!(
                "<epcisq:EPCISQueryDocument xmlns:epcisq=\"{}\"",
                xml::QUERY_NS
            ),
            1,
        )
        .replacen("</epcis:EPCISDocument>", "</epcisq:EPCISQueryDocument>", 1)
        .replacen(
            "<EPCISBody>",
            "<EPCISBody><epcisq:QueryResults><queryName>SimpleEventQuery</queryName><resultsBody>",
            1,
        )
        .replacen(
            "</EPCISBody>",
            "</resultsBody></epcisq:QueryResults></EPCISBody>",
            1,
        ))
}

/// `GET /events`.
pub(crate) async fn events(
    State(st): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> Response {
    st.metrics.inc(&st.metrics.http_requests);
    match answer(&st, &headers, query).await {
        Ok(r) => versions(r),
        Err(e) => e.into_response(),
    }
}

async fn answer(
    st: &AppState,
    headers: &HeaderMap,
    query: Result<Query<Vec<(String, String)>>, QueryRejection>,
) -> EpcisResult<Response> {
    let epcis = configured(st)?;
    if let Some(tokens) = &epcis.query_tokens {
        authorize(tokens, headers, "answers EPCIS queries")?;
    }
    let Query(pairs) = query
        .map_err(|e| EpcisError::parameter(format!("the query string does not parse: {e}")))?;
    respond(st, headers, &pairs, "/events", &pairs).await
}

/// Whether `pairs` are parameters `GET /events` takes, and well formed;
/// the error is the one `GET /events` would answer.
pub(super) fn check(pairs: &[(String, String)]) -> EpcisResult<()> {
    parse(pairs).map(|_| ())
}

/// Answers the query `pairs` (the caller has checked who asks) as
/// `GET /events` does; the next page's `Link` is `path` with
/// `link_pairs` (less any `nextPageToken`) and the next page's token.
pub(super) async fn respond(
    st: &AppState,
    headers: &HeaderMap,
    pairs: &[(String, String)],
    path: &str,
    link_pairs: &[(String, String)],
) -> EpcisResult<Response> {
    let filter = parse(pairs)?;
    let now = now_ms();
    let f = filter.clone();
    let (events, next) = st
        .ledger
        .read(move |r| run(r, &f, now))
        .await?
        .map_err(EpcisError::internal)??;
    let link = next.map(|t| {
        let mut q: Vec<String> = link_pairs
            .iter()
            .filter(|(k, _)| k != "nextPageToken")
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect();
        q.push(format!("nextPageToken={}", enc(&t.encode())));
        format!("<{path}?{}>; rel=\"next\"", q.join("&"))
    });
    let mut r = if wants_xml(headers) {
        let text = query_xml(events, now).map_err(EpcisError::internal)?;
        ([(header::CONTENT_TYPE, "application/xml")], text).into_response()
    } else {
        let mut r = Json(query_document(events, now)).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/ld+json"),
        );
        r
    };
    if let Some(link) = link.and_then(|l| HeaderValue::from_str(&l).ok()) {
        r.headers_mut().insert(header::LINK, link);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_junk_is_refused() {
        let h = Hash::of(b"x");
        for t in [Token::Time(42, h), Token::Seq(7)] {
            assert_eq!(Token::decode(&t.encode()), Some(t));
        }
        assert_eq!(Token::decode("x1"), None);
        assert_eq!(Token::decode("t1.zz"), None);
    }

    #[test]
    fn parameters_parse_and_unknown_ones_are_named() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter().map(|(a, b)| ((*a).into(), (*b).into())).collect()
        };
        let f = parse(&pairs(&[
            (
                "EQ_bizStep",
                "urn:epcglobal:cbv:bizstep:commissioning,shipping",
            ),
            ("perPage", "5"),
        ]))
        .unwrap();
        assert_eq!(f.per_page, 5);
        assert_eq!(
            f.biz_steps,
            Some(BTreeSet::from([
                "commissioning".to_owned(),
                "shipping".to_owned()
            ]))
        );
        let e = parse(&pairs(&[("EQ_color", "red")])).unwrap_err();
        assert!(e.reason.contains("EQ_color"), "{}", e.reason);
        assert!(parse(&pairs(&[("perPage", "0")])).is_err());
        assert!(parse(&pairs(&[("GE_eventTime", "yesterday")])).is_err());
    }
}
