//! The EPCIS 2.0 REST binding of a node started in process on loopback
//! (issue 15, first slice): `POST /capture` signs a document's events with
//! the organisation's participant key from `[epcis]` behind a capture
//! token and answers 202 with the job's `Location`; the job tells success
//! or each refused event (rollback: nothing signed; proceed: the rest
//! signed); `GET /events` answers the captured events by the standard's
//! query parameters, in JSON-LD or XML, a page at a time; unknown
//! parameters are a 400 naming them; `/openapi.json` is an OpenAPI 3
//! document; a node without `[epcis]` says so with a 404.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{wait_for, workload, write_genesis, TestNode, DEADLINE};
use ledger_core::workload::key_for;
use ledger_core::SigningKey;
use serde_json::{json, Value};
use terroir_node::config::Epcis;
use terroir_standards::{vocab, xml};

/// An answer: status, `Location` and `Link` headers, body text.
#[derive(Debug)]
struct Answer {
    status: u16,
    location: Option<String>,
    link: Option<String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

/// One request with ureq, on a blocking thread (the node serves on this
/// runtime's workers).
async fn call(
    addr: SocketAddr,
    method: &'static str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Vec<u8>>,
) -> Answer {
    let url = format!("http://{addr}{path}");
    let headers: Vec<(String, String)> = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        let mut resp = match (method, body) {
            ("GET", _) => {
                let mut req = agent.get(&url);
                for (k, v) in &headers {
                    req = req.header(k, v);
                }
                req.call()
            }
            (_, body) => {
                let mut req = agent.post(&url);
                for (k, v) in &headers {
                    req = req.header(k, v);
                }
                req.send(body.unwrap_or_default())
            }
        }
        .unwrap();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let (location, link) = (header("location"), header("link"));
        Answer {
            status: resp.status().as_u16(),
            location,
            link,
            body: resp.body_mut().read_to_string().unwrap(),
        }
    })
    .await
    .unwrap()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// An EPCIS document of `events`.
fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": vocab::rfc3339(common::now()),
        "epcisBody": { "eventList": events },
    })
}

/// The farm's harvest (commissioning) of lot `code`, a minute ago.
fn harvest(farm: &SigningKey, code: &str) -> Value {
    json!({
        "type": "ObjectEvent",
        "eventID": format!("urn:uuid:harvest-{code}"),
        "eventTime": vocab::rfc3339(common::now() - 60_000),
        "eventTimeZoneOffset": "+00:00",
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "bizLocation": { "id": "urn:terroir:loc:tea-garden" },
        "quantityList": [{
            "epcClass": vocab::lot_class(&farm.public(), code, None),
            "quantity": 5,
            "uom": "KGM",
        }],
    })
}

/// An event Terroir has no form for.
fn decommissioning(farm: &SigningKey) -> Value {
    let mut e = harvest(farm, "GONE");
    e["action"] = json!("DELETE");
    e["eventID"] = json!("urn:uuid:decommissioning");
    e
}

/// Polls the capture job at `location` until it has finished.
async fn finished(addr: SocketAddr, location: &str, auth: &str) -> Value {
    let start = Instant::now();
    loop {
        let a = call(addr, "GET", location, &[("Authorization", auth)], None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let job = a.json();
        if job["running"] == json!(false) {
            return job;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "capture job never finished: {job}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Captures `doc` and waits for its job.
async fn capture(
    addr: SocketAddr,
    auth: &str,
    content_type: &str,
    behaviour: Option<&str>,
    body: Vec<u8>,
) -> Value {
    let mut headers = vec![("Authorization", auth), ("Content-Type", content_type)];
    if let Some(b) = behaviour {
        headers.push(("GS1-Capture-Error-Behaviour", b));
    }
    let a = call(addr, "POST", "/capture", &headers, Some(body)).await;
    assert_eq!(a.status, 202, "{}", a.body);
    let location = a.location.clone().expect("a Location header");
    let id = a.json()["captureID"].as_str().unwrap().to_owned();
    assert_eq!(location, format!("/capture/{id}"));
    finished(addr, &location, auth).await
}

/// The events of a query, answered 200.
async fn events(addr: SocketAddr, query: &str) -> (Vec<Value>, Option<String>) {
    let a = call(addr, "GET", &format!("/events?{query}"), &[], None).await;
    assert_eq!(a.status, 200, "{query}: {}", a.body);
    let doc = a.json();
    assert_eq!(doc["type"], "EPCISQueryDocument", "{doc}");
    let list = doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .clone();
    (list, a.link)
}

/// The event IDs of a query read two at a time, following the `Link`
/// headers.
async fn paged(addr: SocketAddr, query: &str) -> Vec<Value> {
    let mut seen = Vec::new();
    let mut next = Some(format!("/events?{query}&perPage=2"));
    while let Some(path) = next {
        let a = call(addr, "GET", &path, &[], None).await;
        assert_eq!(a.status, 200, "{}", a.body);
        let list = a.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
            .as_array()
            .unwrap()
            .clone();
        assert!(list.len() <= 2);
        seen.extend(list.into_iter().map(|e| e["eventID"].clone()));
        next = a.link.map(|l| {
            l.trim_start_matches('<')
                .split_once('>')
                .unwrap()
                .0
                .to_owned()
        });
    }
    seen
}

fn write_token(dir: &Path, file: &str, name: &str) -> String {
    let (token, line) = terroir_node::http::tokens::new_token(name).unwrap();
    std::fs::write(dir.join(file), format!("{line}\n")).unwrap();
    token
}

/// A node with `[epcis]` (the farm's plain key file, a capture token,
/// open queries) that holds a workload of `records`.
struct Setup {
    /// Held until the test ends: the directory goes with it.
    tmp: tempfile::TempDir,
    gpath: std::path::PathBuf,
    data: std::path::PathBuf,
    farm: SigningKey,
    auth: String,
    epcis: Epcis,
    node: TestNode,
    want: u64,
}

async fn epcis_node(records: usize) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(records);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let farm = key_for("farm", 0);
    let key_path = tmp.path().join("farm.key");
    ledger_core::keyfile::create(&key_path, Some("farm"), &farm).unwrap();
    let token = write_token(tmp.path(), "capture-tokens", "erp");
    let epcis = Epcis {
        capture_key: key_path,
        capture_tokens: tmp.path().join("capture-tokens"),
        query_tokens: None,
        webhook_retry_max_ms: 1_000,
    };
    let data = tmp.path().join("node");
    let cfg = epcis.clone();
    let node = TestNode::start_with(&data, &gpath, &[], |c| {
        c.epcis = Some(cfg);
    })
    .await;
    node.submit_all(&w.records, 500).await;
    let want = w.records.len() as u64;
    wait_for("the workload stored", || async {
        node.status().await["records"].as_u64() == Some(want)
    })
    .await;
    Setup {
        tmp,
        gpath,
        data,
        farm,
        auth: format!("Bearer {token}"),
        epcis,
        node,
        want,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capture_jobs_and_the_events_query() {
    let Setup {
        tmp: _tmp,
        gpath,
        data,
        farm,
        auth,
        node,
        want,
        ..
    } = epcis_node(300).await;
    let addr = node.http;
    let class = |code: &str| vocab::lot_class(&farm.public(), code, None);

    // No token, no capture (refused before the body is read).
    let doc = serde_json::to_vec(&document(vec![harvest(&farm, "EPCIS-1")])).unwrap();
    let a = call(
        addr,
        "POST",
        "/capture",
        &[("Content-Type", "application/ld+json")],
        Some(doc.clone()),
    )
    .await;
    assert_eq!(a.status, 401, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("token"));
    let a = call(addr, "GET", "/capture", &[], None).await;
    assert_eq!(a.status, 401, "{}", a.body);

    // A harvest, captured and signed by the farm.
    let job = capture(addr, &auth, "application/ld+json", None, doc).await;
    assert_eq!(job["success"], json!(true), "{job}");
    assert_eq!(job["captureErrorBehaviour"], "rollback");
    assert_eq!(job["errors"], json!([]));
    assert_eq!(job["terroir:records"].as_array().unwrap().len(), 1, "{job}");
    assert_eq!(node.status().await["records"].as_u64(), Some(want + 1));

    // Found by bizStep (indexed), by lot class, and by location.
    let (all, _) = events(addr, "EQ_bizStep=commissioning&perPage=1000").await;
    assert!(all.iter().all(|e| e["bizStep"] == "commissioning"));
    let mine: Vec<&Value> = all
        .iter()
        .filter(|e| e["quantityList"][0]["epcClass"] == json!(class("EPCIS-1")))
        .collect();
    assert_eq!(mine.len(), 1, "{all:?}");
    assert_eq!(
        mine[0]["terroir:author"],
        json!(vocab::party_id(&farm.public()))
    );
    let q = format!(
        "EQ_bizStep={}&MATCH_epcClass={}",
        enc("urn:epcglobal:cbv:bizstep:commissioning"),
        enc(&class("EPCIS-1"))
    );
    let (found, link) = events(addr, &q).await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(link.is_none());
    let q = format!(
        "EQ_bizLocation={}&GE_eventTime={}",
        enc("urn:terroir:loc:tea-garden"),
        enc(&vocab::rfc3339(common::now() - 3_600_000))
    );
    let (found, _) = events(addr, &q).await;
    assert_eq!(found.len(), 1, "{found:?}");

    // Pages: every commissioning event once, following the Link headers.
    let seen = paged(addr, "EQ_bizStep=commissioning").await;
    let ids: Vec<Value> = all.iter().map(|e| e["eventID"].clone()).collect();
    assert_eq!(seen, ids);
    // Inspections are answered from the kind index, in time order.
    let (inspections, _) = events(addr, "EQ_bizStep=inspecting&perPage=1000").await;
    assert!(inspections.len() > 2, "{inspections:?}");
    assert!(inspections.iter().all(|e| e["bizStep"] == "inspecting"));
    let ids: Vec<Value> = inspections.iter().map(|e| e["eventID"].clone()).collect();
    assert_eq!(paged(addr, "EQ_bizStep=inspecting").await, ids);
    // A scan (no index applies) pages too.
    let (page, link) = events(addr, "perPage=3").await;
    assert_eq!(page.len(), 3);
    assert!(link.unwrap().contains("nextPageToken="));

    // Rollback: one event Terroir cannot keep, and nothing is signed.
    let doc = serde_json::to_vec(&document(vec![
        harvest(&farm, "EPCIS-2"),
        decommissioning(&farm),
    ]))
    .unwrap();
    let job = capture(addr, &auth, "application/json", None, doc.clone()).await;
    assert_eq!(job["success"], json!(false), "{job}");
    let errors = job["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{job}");
    assert_eq!(errors[0]["eventIndex"], json!(1));
    assert_eq!(errors[0]["eventID"], "urn:uuid:decommissioning");
    assert!(
        errors[0]["reason"].as_str().unwrap().contains("DELETE"),
        "{job}"
    );
    assert_eq!(node.status().await["records"].as_u64(), Some(want + 1));
    let q = format!("MATCH_anyEPC={}", enc(&class("EPCIS-2")));
    assert!(events(addr, &q).await.0.is_empty());

    // Proceed: the harvest is signed, the other event reported.
    let job = capture(addr, &auth, "application/json", Some("proceed"), doc).await;
    assert_eq!(job["captureErrorBehaviour"], "proceed");
    assert_eq!(job["errors"][0]["eventIndex"], json!(1), "{job}");
    assert_eq!(job["terroir:records"].as_array().unwrap().len(), 1, "{job}");
    assert_eq!(events(addr, &q).await.0.len(), 1);

    // XML in, XML out.
    let doc = document(vec![harvest(&farm, "EPCIS-3")]);
    let body = xml::from_json(&doc).unwrap().into_bytes();
    let job = capture(addr, &auth, "application/xml", None, body).await;
    assert_eq!(job["success"], json!(true), "{job}");
    let q = format!("/events?MATCH_epcClass={}", enc(&class("EPCIS-3")));
    let a = call(addr, "GET", &q, &[("Accept", "application/xml")], None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let back = xml::to_json(a.body.as_bytes()).unwrap();
    assert_eq!(back["type"], "EPCISQueryDocument");
    let list = back["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap();
    assert_eq!(list.len(), 1, "{back}");

    // The jobs, newest first.
    let a = call(addr, "GET", "/capture", &[("Authorization", &auth)], None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json().as_array().unwrap().len(), 4);

    // What the standard calls a QueryParameterException.
    let a = call(addr, "GET", "/events?EQ_color=red", &[], None).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("EQ_color"));
    assert_eq!(a.json()["type"], "epcisException:QueryParameterException");

    // A document that is not EPCIS is refused at once.
    let a = call(
        addr,
        "POST",
        "/capture",
        &[
            ("Authorization", &auth),
            ("Content-Type", "application/json"),
        ],
        Some(b"{\"type\": \"Nonsense\"}".to_vec()),
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);

    // The OpenAPI document.
    let a = call(addr, "GET", "/openapi.json", &[], None).await;
    assert_eq!(a.status, 200);
    let api = a.json();
    assert!(api["openapi"].as_str().unwrap().starts_with("3."), "{api}");
    assert!(api["paths"]["/events"]["get"].is_object());

    // A node whose operator did not configure [epcis] says so.
    let other = TestNode::start(&data.with_file_name("other"), &gpath, &[]).await;
    let a = call(other.http, "GET", "/events", &[], None).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("[epcis]"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_can_need_a_token_and_a_wrong_passphrase_stops_the_node() {
    let tmp = tempfile::tempdir().unwrap();
    let w = workload(20);
    let gpath = write_genesis(tmp.path(), &w.genesis);
    let farm = key_for("farm", 0);
    let key_path = tmp.path().join("farm.key");
    ledger_core::keyfile::create_encrypted_with(
        &key_path,
        Some("farm"),
        &farm,
        "tea garden",
        ledger_core::keyfile::KdfParams {
            m_cost: 8,
            t_cost: 1,
            p_cost: 1,
        },
    )
    .unwrap();
    write_token(tmp.path(), "capture-tokens", "erp");
    let reader = write_token(tmp.path(), "query-tokens", "auditor");
    let epcis = Epcis {
        capture_key: key_path,
        capture_tokens: tmp.path().join("capture-tokens"),
        query_tokens: Some(tmp.path().join("query-tokens")),
        webhook_retry_max_ms: 1_000,
    };
    // The passphrase is read from the environment at start; without it,
    // the node does not start, and says why on one line.
    let data = tmp.path().join("node");
    terroir_node::init(&data, &gpath).unwrap();
    let mut c = common::config(&data, &gpath, &[]);
    c.epcis = Some(epcis.clone());
    let e = match terroir_node::Node::start(c.settings().unwrap()).await {
        Ok(_) => panic!("a node started without the capture key's passphrase"),
        Err(e) => format!("{e:#}"),
    };
    assert!(e.contains("epcis.capture_key"), "{e}");
    assert!(e.contains("TERROIR_CAPTURE_PASSPHRASE"), "{e}");
    assert!(!e.contains('\n'), "{e}");
    // Set only in this test binary's process, for this test.
    std::env::set_var("TERROIR_CAPTURE_PASSPHRASE", "tea garden");
    // A data dir of its own: the refused start opened the other's store.
    let node = TestNode::start_with(&tmp.path().join("node2"), &gpath, &[], |c| {
        c.epcis = Some(epcis)
    })
    .await;
    std::env::remove_var("TERROIR_CAPTURE_PASSPHRASE");
    let a = call(node.http, "GET", "/events", &[], None).await;
    assert_eq!(a.status, 401, "{}", a.body);
    let auth = format!("Bearer {reader}");
    let a = call(
        node.http,
        "GET",
        "/events",
        &[("Authorization", &auth)],
        None,
    )
    .await;
    assert_eq!(a.status, 200, "{}", a.body);
}

/// A DELETE, answered with its status.
async fn delete(addr: SocketAddr, path: &str) -> u16 {
    let url = format!("http://{addr}{path}");
    tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build()
            .into();
        agent.delete(&url).call().unwrap().status().as_u16()
    })
    .await
    .unwrap()
}

/// The event IDs of an answer.
fn ids(a: &Answer) -> Vec<Value> {
    a.json()["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["eventID"].clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn named_queries_are_created_listed_run_and_deleted() {
    let Setup {
        tmp: _tmp, node, ..
    } = epcis_node(120).await;
    let addr = node.http;
    let json_body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let ct = [("Content-Type", "application/json")];

    // Created without a capture token (none is needed when queries are
    // open), with a Location.
    let query = json!({ "EQ_bizStep": "commissioning", "perPage": "1000" });
    let a = call(
        addr,
        "POST",
        "/queries",
        &ct,
        json_body(json!({ "name": "harvests", "query": query })),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.location.as_deref(), Some("/queries/harvests"));
    assert_eq!(a.json()["query"], query);

    // Listed, and shown alone.
    let a = call(addr, "GET", "/queries", &[], None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json(), json!([{ "name": "harvests", "query": query }]));
    let a = call(addr, "GET", "/queries/harvests", &[], None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["name"], "harvests");

    // Run: what GET /events answers with the same parameters.
    let run = call(addr, "GET", "/queries/harvests/events", &[], None).await;
    assert_eq!(run.status, 200, "{}", run.body);
    let direct = call(
        addr,
        "GET",
        "/events?EQ_bizStep=commissioning&perPage=1000",
        &[],
        None,
    )
    .await;
    assert_eq!(direct.status, 200, "{}", direct.body);
    assert!(ids(&direct).len() > 2, "too few to page: {}", direct.body);
    assert_eq!(ids(&run), ids(&direct));

    // Paged on the run, following its own Link headers.
    let mut seen = Vec::new();
    let mut next = Some("/queries/harvests/events?perPage=2".to_owned());
    while let Some(path) = next {
        let a = call(addr, "GET", &path, &[], None).await;
        assert_eq!(a.status, 200, "{path}: {}", a.body);
        assert!(ids(&a).len() <= 2);
        seen.extend(ids(&a));
        next = a.link.map(|l| {
            let target = l.trim_start_matches('<').split_once('>').unwrap().0;
            assert!(target.starts_with("/queries/harvests/events?"), "{l}");
            target.to_owned()
        });
    }
    assert_eq!(seen, ids(&direct));
    // A run takes only paging parameters.
    let a = call(
        addr,
        "GET",
        "/queries/harvests/events?eventType=ObjectEvent",
        &[],
        None,
    )
    .await;
    assert_eq!(a.status, 400, "{}", a.body);

    // A taken name is a 409; a bad name or parameter a 400 naming it.
    for (body, status, named) in [
        (json!({ "name": "harvests", "query": {} }), 409, "harvests"),
        (
            json!({ "name": "colours", "query": { "EQ_color": "red" } }),
            400,
            "EQ_color",
        ),
        (
            json!({ "name": "late", "query": { "GE_eventTime": "yesterday" } }),
            400,
            "GE_eventTime",
        ),
        (
            json!({ "name": "no spaces", "query": {} }),
            400,
            "no spaces",
        ),
    ] {
        let a = call(addr, "POST", "/queries", &ct, json_body(body)).await;
        assert_eq!(a.status, status, "{}", a.body);
        assert!(
            a.json()["error"].as_str().unwrap().contains(named),
            "{}",
            a.body
        );
    }
    let a = call(addr, "GET", "/queries", &[], None).await;
    assert_eq!(a.json().as_array().unwrap().len(), 1, "{}", a.body);

    // Deleted, then gone.
    assert_eq!(delete(addr, "/queries/harvests").await, 204);
    let a = call(addr, "GET", "/queries/harvests", &[], None).await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = call(addr, "GET", "/queries/harvests/events", &[], None).await;
    assert_eq!(a.status, 404, "{}", a.body);
    assert_eq!(delete(addr, "/queries/harvests").await, 404);

    let a = call(addr, "GET", "/openapi.json", &[], None).await;
    assert!(a.json()["paths"]["/queries/{queryName}/events"]["get"].is_object());
}

/// What the test's webhook receiver saw: the lot codes of every
/// delivery it acknowledged, and how many it refused.
#[derive(Debug, Default)]
struct Received {
    acked: Vec<String>,
    /// Acknowledged deliveries, empty ones included.
    deliveries: usize,
    refused: usize,
    bad_signatures: usize,
}

/// The test's webhook receiver: checks `GS1-Signature` (HMAC-SHA256 of
/// the body under `secret`), answers 503 while `up` is false, else 204
/// and keeps the deliveries' lot codes.
#[derive(Clone)]
struct Receiver {
    secret: &'static str,
    up: Arc<AtomicBool>,
    seen: Arc<Mutex<Received>>,
}

async fn receive(
    axum::extract::State(r): axum::extract::State<Receiver>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> axum::http::StatusCode {
    use base64::Engine as _;
    use hmac::Mac as _;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(r.secret.as_bytes()).unwrap();
    mac.update(&body);
    let want = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    let got = headers
        .get("GS1-Signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut seen = r.seen.lock().unwrap();
    if got != want {
        seen.bad_signatures += 1;
        return axum::http::StatusCode::UNAUTHORIZED;
    }
    if !r.up.load(Ordering::SeqCst) {
        seen.refused += 1;
        return axum::http::StatusCode::SERVICE_UNAVAILABLE;
    }
    let doc: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(doc["type"], "EPCISQueryDocument", "{doc}");
    assert_eq!(doc["epcisBody"]["queryResults"]["queryName"], "garden");
    seen.acked.extend(lot_codes(&doc));
    seen.deliveries += 1;
    axum::http::StatusCode::NO_CONTENT
}

/// The lot codes of a query document's events.
fn lot_codes(doc: &Value) -> Vec<String> {
    doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let class = e["quantityList"][0]["epcClass"].as_str().unwrap();
            vocab::parse_lot_class(class).unwrap().code
        })
        .collect()
}

/// Serves the receiver on `addr` until `stop` fires.
async fn serve_receiver(
    listener: tokio::net::TcpListener,
    r: Receiver,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(r);
    let mut stop = std::pin::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => accepted.unwrap(),
            _ = &mut stop => return,
        };
        let svc = hyper_util::service::TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// A harvest captured at `location`.
fn harvest_at(farm: &SigningKey, code: &str, location: &str) -> Value {
    let mut e = harvest(farm, code);
    e["bizLocation"]["id"] = json!(location);
    e
}

/// A WebSocket stream of the named query `garden`, after `after`.
fn open_stream(
    addr: SocketAddr,
    auth: &str,
    after: Option<&str>,
) -> tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>> {
    use tungstenite::client::IntoClientRequest as _;
    let mut url = format!("ws://{addr}/queries/garden/subscriptions?stream=true");
    if let Some(a) = after {
        url.push_str(&format!("&after={a}"));
    }
    let mut req = url.into_client_request().unwrap();
    req.headers_mut()
        .insert("Authorization", auth.parse().unwrap());
    let (mut ws, resp) = tungstenite::connect(req).unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_mut() {
        s.set_read_timeout(Some(DEADLINE)).unwrap();
    }
    ws
}

/// The next document a stream sends.
fn next_document(
    ws: &mut tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>,
) -> Value {
    loop {
        match ws.read().unwrap() {
            tungstenite::Message::Text(t) => return serde_json::from_str(t.as_str()).unwrap(),
            tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriptions_deliver_signed_and_resume_after_outages() {
    let Setup {
        tmp: _tmp,
        gpath,
        data,
        farm,
        auth,
        epcis,
        mut node,
        ..
    } = epcis_node(120).await;
    let addr = node.http;
    let json_body = |v: Value| Some(serde_json::to_vec(&v).unwrap());
    let with_auth = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let garden = "urn:terroir:loc:tea-garden";
    let capture_lots = |codes: &'static [(&'static str, &'static str)]| {
        let farm = key_for("farm", 0);
        let auth = auth.clone();
        async move {
            let events = codes
                .iter()
                .map(|(code, at)| harvest_at(&farm, code, at))
                .collect();
            let doc = serde_json::to_vec(&document(events)).unwrap();
            let job = capture(addr, &auth, "application/ld+json", None, doc).await;
            assert_eq!(job["success"], json!(true), "{job}");
        }
    };

    // The query: harvests in the tea garden.
    let a = call(
        addr,
        "POST",
        "/queries",
        &with_auth,
        json_body(json!({ "name": "garden", "query": {
            "EQ_bizStep": "commissioning", "EQ_bizLocation": garden,
        }})),
    )
    .await;
    assert_eq!(a.status, 201, "{}", a.body);

    // The receiver, up.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = listener.local_addr().unwrap();
    let receiver = Receiver {
        secret: "s3cret-from-the-subscriber",
        up: Arc::new(AtomicBool::new(true)),
        seen: Arc::default(),
    };
    let (stop_receiver, stopped) = tokio::sync::oneshot::channel();
    tokio::spawn(serve_receiver(listener, receiver.clone(), stopped));

    // Subscribing needs a token; a subscription says when it delivers.
    let sub = json!({
        "dest": format!("http://{hook}/hook"),
        "signatureToken": receiver.secret,
        "stream": true,
    });
    let path = "/queries/garden/subscriptions";
    let ct = [("Content-Type", "application/json")];
    let a = call(addr, "POST", path, &ct, json_body(sub.clone())).await;
    assert_eq!(a.status, 401, "{}", a.body);
    let mut unscheduled = sub.clone();
    unscheduled.as_object_mut().unwrap().remove("stream");
    let a = call(addr, "POST", path, &with_auth, json_body(unscheduled)).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(
        a.json()["error"].as_str().unwrap().contains("stream"),
        "{}",
        a.body
    );
    let a = call(
        addr,
        "POST",
        "/queries/nothing/subscriptions",
        &with_auth,
        json_body(sub.clone()),
    )
    .await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = call(addr, "POST", path, &with_auth, json_body(sub.clone())).await;
    assert_eq!(a.status, 201, "{}", a.body);
    let created = a.json();
    let id = created["subscriptionID"].as_str().unwrap().to_owned();
    let sub_path = format!("{path}/{id}");
    assert_eq!(a.location.as_deref(), Some(sub_path.as_str()));
    assert_eq!(created["stream"], json!(true));
    assert!(
        !a.body.contains(receiver.secret),
        "the secret is never shown"
    );

    // Capture → query → delivery: the garden's harvest arrives, signed;
    // the one elsewhere matches neither the query nor the subscription.
    capture_lots(&[
        ("SUB-1", "urn:terroir:loc:tea-garden"),
        ("ELSEWHERE", "urn:terroir:loc:mill"),
    ])
    .await;
    let (found, _) = events(
        addr,
        &format!("EQ_bizLocation={}&perPage=1000", enc(garden)),
    )
    .await;
    assert_eq!(
        lot_codes(&json!({"epcisBody": {"queryResults": {"resultsBody": {"eventList": found}}}})),
        ["SUB-1"]
    );
    let acked = |n: usize| {
        let seen = receiver.seen.clone();
        move || {
            let seen = seen.clone();
            async move { seen.lock().unwrap().acked.len() >= n }
        }
    };
    wait_for("the first delivery", acked(1)).await;

    // Outage 1: the receiver answers 503. Deliveries are retried, the
    // subscription shows why, and nothing is acknowledged meanwhile.
    receiver.up.store(false, Ordering::SeqCst);
    capture_lots(&[
        ("SUB-2", "urn:terroir:loc:tea-garden"),
        ("SUB-3", "urn:terroir:loc:tea-garden"),
    ])
    .await;
    wait_for("two refused attempts", || async {
        receiver.seen.lock().unwrap().refused >= 2
    })
    .await;
    let a = call(addr, "GET", &sub_path, &with_auth, None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let shown = a.json();
    assert!(
        shown["terroir:failedAttempts"].as_u64().unwrap() >= 1,
        "{shown}"
    );
    assert!(
        shown["terroir:lastError"].as_str().unwrap().contains("503"),
        "{shown}"
    );

    // Outage 2: the receiver is gone altogether, and the node restarts.
    stop_receiver.send(()).unwrap();
    node.stop().await;
    let cfg = epcis.clone();
    node = TestNode::start_with(&data, &gpath, &[], |c| {
        c.epcis = Some(cfg);
    })
    .await;
    let addr = node.http;
    let a = call(addr, "GET", &sub_path, &with_auth, None).await;
    assert_eq!(
        a.status, 200,
        "the subscription survives a restart: {}",
        a.body
    );
    assert_eq!(a.json()["terroir:delivered"], json!(1));
    let auth2 = auth.clone();
    let farm2 = key_for("farm", 0);
    let doc = serde_json::to_vec(&document(vec![harvest_at(&farm2, "SUB-4", garden)])).unwrap();
    let job = capture(addr, &auth2, "application/ld+json", None, doc).await;
    assert_eq!(job["success"], json!(true), "{job}");
    wait_for("a failed attempt while the receiver is gone", || async {
        let a = call(addr, "GET", &sub_path, &with_auth, None).await;
        a.json()["terroir:lastError"]
            .as_str()
            .is_some_and(|e| e.contains("could not be reached"))
    })
    .await;

    // The receiver comes back on its address: every missed event
    // arrives, each exactly once, in the order the node accepted them.
    let listener = tokio::net::TcpListener::bind(hook).await.unwrap();
    receiver.up.store(true, Ordering::SeqCst);
    let (_stop_receiver, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(serve_receiver(listener, receiver.clone(), stopped));
    wait_for("the missed deliveries", acked(4)).await;
    {
        let seen = receiver.seen.lock().unwrap();
        assert_eq!(seen.acked, ["SUB-1", "SUB-2", "SUB-3", "SUB-4"], "{seen:?}");
        assert_eq!(seen.bad_signatures, 0);
    }
    wait_for("the delivered count saved", || async {
        let a = call(addr, "GET", &sub_path, &with_auth, None).await;
        a.json()["terroir:delivered"] == json!(4)
    })
    .await;

    // WebSocket: a stream sends new matching events; a client that
    // reconnects after the cursor of its last document misses nothing
    // and gets nothing twice.
    let auth_ws = auth.clone();
    let mut ws = tokio::task::spawn_blocking(move || open_stream(addr, &auth_ws, None))
        .await
        .unwrap();
    let doc = serde_json::to_vec(&document(vec![harvest_at(&farm, "WS-1", garden)])).unwrap();
    let job = capture(addr, &auth, "application/ld+json", None, doc).await;
    assert_eq!(job["success"], json!(true), "{job}");
    let (first, ws) = tokio::task::spawn_blocking(move || {
        let d = next_document(&mut ws);
        (d, ws)
    })
    .await
    .unwrap();
    assert_eq!(lot_codes(&first), ["WS-1"]);
    let cursor = first["terroir:cursor"].as_str().unwrap().to_owned();
    drop(ws);
    let doc = serde_json::to_vec(&document(vec![harvest_at(&farm, "WS-2", garden)])).unwrap();
    let job = capture(addr, &auth, "application/ld+json", None, doc).await;
    assert_eq!(job["success"], json!(true), "{job}");
    let auth_ws = auth.clone();
    let again = tokio::task::spawn_blocking(move || {
        let mut ws = open_stream(addr, &auth_ws, Some(&cursor));
        next_document(&mut ws)
    })
    .await
    .unwrap();
    assert_eq!(lot_codes(&again), ["WS-2"]);
    // The webhook got both as well.
    wait_for("the webhook's share of the stream", acked(6)).await;

    // A scheduled subscription (every second, reporting when empty)
    // calls with an empty document when nothing came.
    let before = receiver.seen.lock().unwrap().deliveries;
    let scheduled = json!({
        "dest": format!("http://{hook}/hook"),
        "signatureToken": receiver.secret,
        "schedule": { "second": "*" },
        "reportIfEmpty": true,
    });
    let a = call(addr, "POST", path, &with_auth, json_body(scheduled)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.json()["schedule"], json!({ "second": "*" }));
    let scheduled_path = a.location.clone().unwrap();
    wait_for("an empty scheduled delivery", || async {
        receiver.seen.lock().unwrap().deliveries > before
    })
    .await;
    assert_eq!(
        receiver.seen.lock().unwrap().acked.len(),
        6,
        "nothing new came"
    );

    // Unsubscribed: gone from the list.
    let del = |p: String| {
        let auth = auth.clone();
        tokio::task::spawn_blocking(move || {
            let agent: ureq::Agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .build()
                .into();
            agent
                .delete(&format!("http://{addr}{p}"))
                .header("Authorization", &auth)
                .call()
                .unwrap()
                .status()
                .as_u16()
        })
    };
    assert_eq!(del(sub_path.clone()).await.unwrap(), 204);
    assert_eq!(del(scheduled_path).await.unwrap(), 204);
    let a = call(addr, "GET", &sub_path, &with_auth, None).await;
    assert_eq!(a.status, 404, "{}", a.body);
    let a = call(addr, "GET", path, &with_auth, None).await;
    assert_eq!(a.json(), json!([]));

    // initialRecordTime: a new subscription also gets the events already
    // held whose time is at or after it — the six garden harvests, in
    // the order the node accepted them.
    let before = receiver.seen.lock().unwrap().acked.len();
    let backfill = json!({
        "dest": format!("http://{hook}/hook"),
        "signatureToken": receiver.secret,
        "stream": true,
        "initialRecordTime": vocab::rfc3339(common::now() - 3_600_000),
    });
    let a = call(addr, "POST", path, &with_auth, json_body(backfill)).await;
    assert_eq!(a.status, 201, "{}", a.body);
    wait_for("the backfill", acked(before + 6)).await;
    assert_eq!(
        receiver.seen.lock().unwrap().acked[before..],
        ["SUB-1", "SUB-2", "SUB-3", "SUB-4", "WS-1", "WS-2"]
    );

    // A stranger without a token opens no stream either.
    let refused = tokio::task::spawn_blocking(move || {
        use tungstenite::client::IntoClientRequest as _;
        let req = format!("ws://{addr}{path}?stream=true")
            .into_client_request()
            .unwrap();
        match tungstenite::connect(req) {
            Err(tungstenite::Error::Http(resp)) => resp.status().as_u16(),
            other => panic!(
                "a stream without a token: {:?}",
                other.map(|(_, r)| r.status())
            ),
        }
    })
    .await
    .unwrap();
    assert_eq!(refused, 401);

    // A token holder cannot make the node keep more than 100: the 101st
    // is a 409 that says so.
    let idle = json!({ "dest": "http://127.0.0.1:9/idle", "stream": true });
    for _ in 1..100 {
        let a = call(addr, "POST", path, &with_auth, json_body(idle.clone())).await;
        assert_eq!(a.status, 201, "{}", a.body);
    }
    let a = call(addr, "POST", path, &with_auth, json_body(idle)).await;
    assert_eq!(a.status, 409, "{}", a.body);
    assert!(
        a.json()["error"].as_str().unwrap().contains("at most 100"),
        "{}",
        a.body
    );
}
