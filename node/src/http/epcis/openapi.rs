//! `GET /openapi.json`: the OpenAPI 3 document of the EPCIS endpoints this
//! node serves. Served whether or not `[epcis]` is configured: it says
//! what the binding is, not whether this node captures.

use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use super::capture::{MAX_JOBS, MAX_RUNNING};
use super::events::{DEFAULT_PER_PAGE, MAX_PER_PAGE};
use super::queries::{MAX_NAME, MAX_QUERIES};
use super::subscriptions::{BATCH, MAX_STREAMS, MAX_SUBSCRIPTIONS};
use super::versions;

fn list_param(name: &str, what: &str) -> Value {
    json!({
        "name": name, "in": "query", "required": false, "description": what,
        "style": "form", "explode": false,
        "schema": { "type": "array", "items": { "type": "string" } },
    })
}

fn time_param(name: &str, what: &str) -> Value {
    json!({
        "name": name, "in": "query", "required": false, "description": what,
        "schema": { "type": "string", "format": "date-time" },
    })
}

/// The paging parameters: `perPage` (described as `what`) and
/// `nextPageToken`.
fn paging(what: &str) -> [Value; 2] {
    [
        json!({
            "name": "perPage", "in": "query", "required": false, "description": what,
            "schema": { "type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE },
        }),
        json!({
            "name": "nextPageToken", "in": "query", "required": false,
            "description": "from the previous page's Link header",
            "schema": { "type": "string" },
        }),
    ]
}

/// A 200 answer carrying one page of an EPCISQueryDocument.
fn query_page() -> Value {
    json!({
        "description": "an EPCISQueryDocument",
        "headers": { "Link": { "schema": { "type": "string" }, "description": "<…>; rel=\"next\" when there may be more" } },
        "content": {
            "application/ld+json": { "schema": { "type": "object" } },
            "application/xml": { "schema": { "type": "string" } },
        },
    })
}

/// A path parameter, a string.
fn path_param(name: &str) -> Value {
    json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } })
}

fn problem(what: &str) -> Value {
    json!({
        "description": what,
        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Problem" } } },
    })
}

/// The document.
pub(crate) fn openapi() -> Value {
    let page = paging("events per page");
    let named_page = paging("overrides the query's own perPage");
    let epcis_doc = json!({
        "type": "object",
        "description": "An EPCIS 2.0 EPCISDocument (JSON-LD binding)",
    });
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "terroird EPCIS 2.0 REST binding",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Capture, capture jobs, the events query and named queries of the EPCIS 2.0 \
                REST binding. Subscriptions are not available yet. Named queries are kept in memory: \
                a restart forgets them. Captured events are signed \
                with the organisation's participant key the operator configured in [epcis]. A node \
                without [epcis] answers 404 on /capture, /events and /queries.",
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer" } },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": { "type": "string", "description": "why, in one line" },
                        "type": { "type": "string", "example": "epcisException:QueryParameterException" },
                        "title": { "type": "string" },
                        "status": { "type": "integer" },
                    },
                },
                "NamedQuery": {
                    "type": "object",
                    "required": ["name", "query"],
                    "properties": {
                        "name": { "type": "string", "pattern": format!("^[A-Za-z0-9_-]{{1,{MAX_NAME}}}$") },
                        "query": {
                            "type": "object",
                            "description": "GET /events parameters (not nextPageToken), each a string; a list is comma-separated",
                            "additionalProperties": { "type": "string" },
                        },
                    },
                },
                "SubscriptionRequest": {
                    "type": "object",
                    "required": ["dest"],
                    "description": "Either stream: true (deliver as events come) or a schedule (deliver what came since, when it fires).",
                    "properties": {
                        "dest": { "type": "string", "format": "uri", "description": "the receiver's http:// or https:// URL" },
                        "signatureToken": { "type": "string", "description": "the subscriber's secret: each delivery's GS1-Signature is the base64 HMAC-SHA256 of its body under it" },
                        "stream": { "type": "boolean" },
                        "schedule": {
                            "type": "object",
                            "description": "cron fields in the network's time zone; second defaults to 0, the others to any; dayOfWeek 1 = Monday … 7 = Sunday",
                            "properties": {
                                "second": { "type": "string" }, "minute": { "type": "string" }, "hour": { "type": "string" },
                                "dayOfMonth": { "type": "string" }, "month": { "type": "string" }, "dayOfWeek": { "type": "string" },
                            },
                            "additionalProperties": false,
                        },
                        "reportIfEmpty": { "type": "boolean", "description": "a scheduled delivery is sent even with no events" },
                        "initialRecordTime": { "type": "string", "format": "date-time", "description": "also deliver the events this node already holds with an event time at or after it" },
                    },
                    "additionalProperties": false,
                },
                "Subscription": {
                    "type": "object",
                    "properties": {
                        "subscriptionID": { "type": "string" },
                        "queryName": { "type": "string" },
                        "dest": { "type": "string" },
                        "stream": { "type": "boolean" },
                        "schedule": { "type": "object" },
                        "reportIfEmpty": { "type": "boolean" },
                        "createdAt": { "type": "string", "format": "date-time" },
                        "lastNotifiedAt": { "type": "string", "format": "date-time", "description": "when the receiver last acknowledged a delivery" },
                        "terroir:delivered": { "type": "integer", "description": "events the receiver has acknowledged" },
                        "terroir:failedAttempts": { "type": "integer", "description": "failed attempts since the last acknowledged delivery" },
                        "terroir:lastError": { "type": "string" },
                        "terroir:nextAttempt": { "type": "string", "format": "date-time" },
                    },
                },
                "CaptureJob": {
                    "type": "object",
                    "required": ["captureID", "createdAt", "running", "captureErrorBehaviour", "errors"],
                    "properties": {
                        "captureID": { "type": "string" },
                        "createdAt": { "type": "string", "format": "date-time" },
                        "finishedAt": { "type": "string", "format": "date-time" },
                        "running": { "type": "boolean" },
                        "success": { "type": "boolean", "description": "present once finished: true when every event was signed" },
                        "captureErrorBehaviour": { "type": "string", "enum": ["rollback", "proceed"] },
                        "errors": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["reason"],
                                "properties": {
                                    "eventIndex": { "type": "integer", "description": "the event's place in the document's eventList, from 0" },
                                    "eventID": { "type": "string" },
                                    "reason": { "type": "string" },
                                },
                            },
                        },
                        "terroir:records": {
                            "type": "array", "items": { "type": "string" },
                            "description": "hashes of the records the job signed",
                        },
                    },
                },
            },
        },
        "paths": {
            "/capture": {
                "post": {
                    "summary": "Capture an EPCIS document",
                    "description": format!("Reads and maps the document at once (400 if it is not an EPCIS 2.0 document), \
                        then signs its events in a capture job and answers 202 with Location: /capture/{{captureID}}. \
                        At most {MAX_RUNNING} jobs wait or run at once (503 beyond)."),
                    "security": [{ "bearer": [] }],
                    "parameters": [{
                        "name": "GS1-Capture-Error-Behaviour", "in": "header", "required": false,
                        "description": "rollback (default): nothing is signed if any event cannot be; proceed: the others are signed",
                        "schema": { "type": "string", "enum": ["rollback", "proceed"], "default": "rollback" },
                    }],
                    "requestBody": {
                        "required": true,
                        "content": {
                            "application/ld+json": { "schema": epcis_doc },
                            "application/json": { "schema": epcis_doc },
                            "application/xml": { "schema": { "type": "string" } },
                            "text/xml": { "schema": { "type": "string" } },
                        },
                    },
                    "responses": {
                        "202": {
                            "description": "capture job started",
                            "headers": { "Location": { "schema": { "type": "string" }, "description": "/capture/{captureID}" } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CaptureJob" } } },
                        },
                        "400": problem("not an EPCIS 2.0 document, or a bad GS1-Capture-Error-Behaviour"),
                        "401": problem("no accepted capture token"),
                        "404": problem("this node's operator has not configured [epcis]"),
                        "413": problem("over limits.max_body_bytes, or more events than one capture takes"),
                        "415": problem("neither JSON nor XML"),
                        "503": problem("too many capture jobs waiting"),
                    },
                },
                "get": {
                    "summary": format!("Capture jobs remembered (the newest {MAX_JOBS}, in memory), newest first"),
                    "security": [{ "bearer": [] }],
                    "responses": {
                        "200": { "description": "the jobs", "content": { "application/json": { "schema": {
                            "type": "array", "items": { "$ref": "#/components/schemas/CaptureJob" } } } } },
                        "401": problem("no accepted capture token"),
                        "404": problem("this node's operator has not configured [epcis]"),
                    },
                },
            },
            "/capture/{captureID}": {
                "get": {
                    "summary": "One capture job",
                    "security": [{ "bearer": [] }],
                    "parameters": [path_param("captureID")],
                    "responses": {
                        "200": { "description": "the job", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/CaptureJob" } } } },
                        "401": problem("no accepted capture token"),
                        "404": problem("no such job (or [epcis] not configured)"),
                    },
                },
            },
            "/events": {
                "get": {
                    "summary": "The node's records as EPCIS events (SimpleEventQuery)",
                    "description": "Parameters combine with AND; a list parameter matches any of its values. \
                        A query naming a lot class, event type or bizStep is answered from the ledger's \
                        indexes, in eventTime order; any other is a scan of the log in acceptance order. \
                        A bearer token is needed only when the operator set epcis.query_tokens.",
                    "security": [{}, { "bearer": [] }],
                    "parameters": [
                        list_param("eventType", "ObjectEvent or TransformationEvent"),
                        list_param("EQ_bizStep", "CBV business step, bare (commissioning) or as a URN"),
                        time_param("GE_eventTime", "events at or after this time (RFC 3339)"),
                        time_param("LT_eventTime", "events before this time (RFC 3339)"),
                        list_param("EQ_bizLocation", "the bizLocation id as exported (https://id.gs1.org/414/GLN or urn:terroir:loc:…)"),
                        list_param("MATCH_anyEPC", "a lot class as exported; Terroir tracks lots, so this matches quantity lists"),
                        list_param("MATCH_epcClass", "a lot class as exported (GS1 Digital Link /01/GTIN/10/LOT or urn:terroir:lot:KEY:CODE)"),
                        list_param("MATCH_anyEPCClass", "as MATCH_epcClass"),
                        page[0], page[1],
                    ],
                    "responses": {
                        "200": query_page(),
                        "400": problem("an unknown or malformed query parameter (QueryParameterException)"),
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("this node's operator has not configured [epcis]"),
                    },
                },
            },
            "/queries": {
                "post": {
                    "summary": "Name a query (saved: it survives a restart)",
                    "description": format!("The query's parameters are checked as GET /events checks them (400 naming \
                        the one at fault). At most {MAX_QUERIES} named queries at once (409 beyond). \
                        A bearer token is needed only when the operator set epcis.query_tokens."),
                    "security": [{}, { "bearer": [] }],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NamedQuery" } } },
                    },
                    "responses": {
                        "201": {
                            "description": "named",
                            "headers": { "Location": { "schema": { "type": "string" }, "description": "/queries/{queryName}" } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NamedQuery" } } },
                        },
                        "400": problem("a bad name, body, or query parameter"),
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("this node's operator has not configured [epcis]"),
                        "409": problem("the name is taken, or the node keeps as many named queries as it will"),
                    },
                },
                "get": {
                    "summary": "The named queries, by name",
                    "security": [{}, { "bearer": [] }],
                    "responses": {
                        "200": { "description": "the queries", "content": { "application/json": { "schema": {
                            "type": "array", "items": { "$ref": "#/components/schemas/NamedQuery" } } } } },
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("this node's operator has not configured [epcis]"),
                    },
                },
            },
            "/queries/{queryName}": {
                "parameters": [path_param("queryName")],
                "get": {
                    "summary": "One named query",
                    "security": [{}, { "bearer": [] }],
                    "responses": {
                        "200": { "description": "the query", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/NamedQuery" } } } },
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("no such query (or [epcis] not configured)"),
                    },
                },
                "delete": {
                    "summary": "Forget a named query and end its subscriptions",
                    "security": [{}, { "bearer": [] }],
                    "responses": {
                        "204": { "description": "forgotten" },
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("no such query (or [epcis] not configured)"),
                    },
                },
            },
            "/queries/{queryName}/events": {
                "get": {
                    "summary": "Run a named query, as GET /events with its parameters",
                    "security": [{}, { "bearer": [] }],
                    "parameters": [
                        path_param("queryName"), named_page[0], named_page[1],
                    ],
                    "responses": {
                        "200": query_page(),
                        "400": problem("a parameter other than perPage or nextPageToken, or a malformed one"),
                        "401": problem("no accepted query token (when query_tokens is set)"),
                        "404": problem("no such query (or [epcis] not configured)"),
                    },
                },
            },
            "/queries/{queryName}/subscriptions": {
                "parameters": [path_param("queryName")],
                "post": {
                    "summary": "Subscribe a webhook to a named query",
                    "description": format!("Deliveries are POSTed as EPCISQueryDocuments of at most {BATCH} events, in the \
                        order this node accepted them, each with GS1-Signature when a signatureToken was given. \
                        A 2xx answer acknowledges a delivery; anything else is retried with the same body, \
                        so after an outage every missed event arrives once. Subscribing needs a token: a query \
                        token where query_tokens is set, else a capture token. At most {MAX_SUBSCRIPTIONS} \
                        subscriptions (409 beyond); they are saved and survive a restart."),
                    "security": [{ "bearer": [] }],
                    "requestBody": {
                        "required": true,
                        "content": { "application/json": { "schema": { "$ref": "#/components/schemas/SubscriptionRequest" } } },
                    },
                    "responses": {
                        "201": {
                            "description": "subscribed",
                            "headers": { "Location": { "schema": { "type": "string" }, "description": "/queries/{queryName}/subscriptions/{subscriptionID}" } },
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Subscription" } } },
                        },
                        "400": problem("a bad body: no dest, neither stream nor schedule, an unreadable schedule"),
                        "401": problem("no accepted token"),
                        "404": problem("no such query (or [epcis] not configured)"),
                        "409": problem("the node keeps as many subscriptions as it will"),
                    },
                },
                "get": {
                    "summary": "The query's webhook subscriptions; with a WebSocket upgrade and ?stream=true, a stream of its new events",
                    "description": format!("A WebSocket stream sends each new batch of matching events as an EPCISQueryDocument \
                        text frame carrying terroir:cursor; reconnecting with ?stream=true&after=CURSOR resumes after the \
                        last document processed, with nothing missed or repeated. At most {MAX_STREAMS} streams at once (503 beyond)."),
                    "security": [{ "bearer": [] }],
                    "parameters": [
                        { "name": "stream", "in": "query", "required": false, "schema": { "type": "boolean" } },
                        { "name": "after", "in": "query", "required": false, "description": "a stream's resume point: the terroir:cursor of the last document processed", "schema": { "type": "string" } },
                        { "name": "initialRecordTime", "in": "query", "required": false, "schema": { "type": "string", "format": "date-time" } },
                    ],
                    "responses": {
                        "101": { "description": "a WebSocket stream" },
                        "200": { "description": "the subscriptions (never their secrets)", "content": { "application/json": { "schema": {
                            "type": "array", "items": { "$ref": "#/components/schemas/Subscription" } } } } },
                        "401": problem("no accepted token"),
                        "404": problem("no such query (or [epcis] not configured)"),
                        "503": problem("too many streams open"),
                    },
                },
            },
            "/queries/{queryName}/subscriptions/{subscriptionID}": {
                "parameters": [
                    path_param("queryName"),
                    path_param("subscriptionID"),
                ],
                "get": {
                    "summary": "One subscription, with its delivery state",
                    "security": [{ "bearer": [] }],
                    "responses": {
                        "200": { "description": "the subscription", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Subscription" } } } },
                        "401": problem("no accepted token"),
                        "404": problem("no such subscription"),
                    },
                },
                "delete": {
                    "summary": "Unsubscribe",
                    "security": [{ "bearer": [] }],
                    "responses": {
                        "204": { "description": "ended" },
                        "401": problem("no accepted token"),
                        "404": problem("no such subscription"),
                    },
                },
            },
        },
    })
}

/// `GET /openapi.json`.
pub(crate) async fn document() -> Response {
    versions(Json(openapi()).into_response())
}
