//! An EPCIS 2.0 JSON/JSON-LD document → Terroir event drafts, one per
//! EPCIS event, in document order. Lots and parties stay references here;
//! [`crate::apply`] matches them to a ledger and signs the records.
//!
//! A JSON-LD document is read streaming ([`read`]): each event of the
//! event list is parsed into a [`Value`], mapped and dropped before the
//! next is read, so a 100,000-event document never exists as one `Value`
//! tree (that tree is about ten times the document's bytes). The
//! document-level checks are the same as [`map_document`]'s, made once the
//! whole document has been read, in the same order and with the same
//! words. The XML binding becomes a `Value` first ([`crate::xml::to_json`])
//! and is mapped by [`map_document`]; it keeps the smaller
//! [`MAX_XML_BYTES`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

use ledger_core::event::{Action, Basis, Location, NewLot, Product, Reading, RefDoc, Verdict};
use ledger_core::record::MAX_EXTRAS_BYTES;
use ledger_core::{EventKind, Hash, PublicKey, Quantity};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::vocab::{self, LotRef};

/// Largest document accepted, in bytes: 256 MiB. A 100,000-event export
/// (harvests, observations, shipments; `terroir-bench import`) is 98 MB,
/// 980 B an event, so this leaves room for events about 2.7 times as
/// wordy. The streaming reader holds the bytes and the mapped events, not
/// a `Value` tree of them.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024 * 1024;
/// Most events in one document: 200,000, twice issue 15's 100,000. They
/// become one atomic batch, which the ledger stages in memory before its
/// one write (measured: about 2.2 KB a record at 100,000, so about 450 MB
/// at this limit).
pub const MAX_EVENTS: usize = 200_000;
/// Largest XML document accepted, in bytes (16 MiB, about 15,000
/// events). The XML binding is read into one JSON [`Value`] before it is
/// mapped, about ten times its size in memory, so it keeps the limit both
/// bindings had before JSON-LD was read streaming.
pub const MAX_XML_BYTES: usize = 16 * 1024 * 1024;

/// Why a whole document was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the document is {len} bytes; the limit is {MAX_DOCUMENT_BYTES}")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not JSON.
    #[error("the document is not valid JSON")]
    Json(#[from] serde_json::Error),
    /// XML that is malformed or no EPCIS document.
    #[error("the XML document cannot be read: {0}")]
    Xml(crate::xml::XmlError),
    /// Misses what the EPCIS 2.0 schema requires.
    #[error("the document does not follow the EPCIS 2.0 schema: {0}")]
    Schema(String),
    /// An XML document larger than [`MAX_XML_BYTES`].
    #[error("the XML document is {len} bytes; the limit for XML is {MAX_XML_BYTES} (JSON-LD may have up to {MAX_DOCUMENT_BYTES})")]
    XmlTooLarge {
        /// Its size.
        len: usize,
    },
    /// More than [`MAX_EVENTS`] events.
    #[error("the document has {len} events; one import takes at most {MAX_EVENTS}")]
    TooManyEvents {
        /// How many.
        len: usize,
    },
}

// Not `#[from]`: that would make the XML error the source as well, and a
// report of the chain would say it twice.
impl From<crate::xml::XmlError> for DocumentError {
    fn from(e: crate::xml::XmlError) -> Self {
        DocumentError::Xml(e)
    }
}

/// A party named by an EPCIS source or destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PartyRef {
    /// A Terroir participant key (`urn:terroir:party:…`).
    Key(PublicKey),
    /// A location GLN, matched to the participant enrolled there.
    Gln(String),
}

/// A Terroir event before its lots are matched to a ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Draft {
    Harvest {
        lot_code: String,
        product: Product,
        quantity: Quantity,
        location: Location,
        reference: Option<RefDoc>,
    },
    Transform {
        process: String,
        inputs: Vec<(LotRef, Quantity)>,
        outputs: Vec<NewLot>,
        loss: u64,
        location: Location,
        reference: Option<RefDoc>,
    },
    Ship {
        lot: LotRef,
        quantity: Quantity,
        to: PartyRef,
        from: Location,
        destination: Location,
        reference: Option<RefDoc>,
    },
    Receive {
        shipment: Option<Hash>,
        lot: LotRef,
        quantity: Quantity,
        location: Location,
        reference: Option<RefDoc>,
    },
    Observe {
        lot: LotRef,
        location: Location,
        readings: Vec<Reading>,
    },
    Inspect {
        lot: LotRef,
        test: String,
        verdict: Verdict,
        notes: String,
        reference: Option<RefDoc>,
    },
    Certify {
        lot: LotRef,
        claim: String,
        reference: Option<RefDoc>,
        valid_until: Option<u64>,
    },
    Recall {
        lot: LotRef,
        reason: String,
    },
    Sell {
        lot: LotRef,
        quantity: Quantity,
        location: Location,
    },
    Aggregate {
        action: Action,
        parent: String,
        children: Vec<(LotRef, Quantity)>,
        location: Location,
    },
    Associate {
        action: Action,
        parent: String,
        children: Vec<(LotRef, Quantity)>,
        location: Location,
    },
    Transact {
        action: Action,
        documents: Vec<RefDoc>,
        lots: Vec<(LotRef, Quantity)>,
        location: Location,
    },
    InputUse {
        product: String,
        ingredients: Vec<String>,
        registration: Option<String>,
        dose: Quantity,
        field: Location,
        safety_interval_days: u32,
    },
    Certificate {
        lot: LotRef,
        quantity: Quantity,
        origin: String,
        contact: String,
        basis: Basis,
        tests: Vec<Hash>,
        inputs: Vec<Hash>,
    },
    /// An error declaration: the eventID of the event declared erroneous,
    /// the reason as written (a CBV term such as `incorrect_data`, or
    /// text) and the eventIDs of the corrective events.
    Correct {
        declared: String,
        reason: String,
        corrective: Vec<String>,
    },
}

impl Draft {
    /// What the event is, with its article, for sentences: `an inspection`.
    pub fn noun(&self) -> &'static str {
        match self {
            Draft::Harvest { .. } => "a harvest",
            Draft::Transform { .. } => "a transformation",
            Draft::Ship { .. } => "a shipment",
            Draft::Receive { .. } => "a receipt",
            Draft::Observe { .. } => "an observation",
            Draft::Inspect { .. } => "an inspection",
            Draft::Certify { .. } => "a certification",
            Draft::Recall { .. } => "a recall",
            Draft::Sell { .. } => "a sale",
            Draft::Aggregate { .. } => "an aggregation",
            Draft::Associate { .. } => "an association",
            Draft::Transact { .. } => "a transaction",
            Draft::Correct { .. } => "an error declaration",
            Draft::InputUse { .. } => "an input use",
            Draft::Certificate { .. } => "a compliance certificate",
        }
    }

    /// The CBV business step (or Terroir's) this draft came from, for reports.
    pub fn name(&self) -> &'static str {
        match self {
            Draft::Harvest { .. } => "harvest",
            Draft::Transform { .. } => "transform",
            Draft::Ship { .. } => "ship",
            Draft::Receive { .. } => "receive",
            Draft::Observe { .. } => "observe",
            Draft::Inspect { .. } => "inspect",
            Draft::Certify { .. } => "certify",
            Draft::Recall { .. } => "recall",
            Draft::Sell { .. } => "sell",
            Draft::Aggregate { .. } => "aggregate",
            Draft::Associate { .. } => "associate",
            Draft::Transact { .. } => "transact",
            Draft::Correct { .. } => "correct",
            Draft::InputUse { .. } => "input_use",
            Draft::Certificate { .. } => "certificate",
        }
    }
}

/// One EPCIS event, mapped or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// Its position in the event list, from 0.
    pub index: usize,
    /// Its eventID, if it has one.
    pub event_id: Option<String>,
    /// The event time, ms since epoch (0 when unreadable; then `draft` is `Err`).
    pub time: u64,
    /// The draft, or why the event has no Terroir form.
    pub draft: Result<Draft, String>,
    /// What the record keeps beside its event (the event's fields it has
    /// no place for, a JSON object), when the event carries any.
    pub extras: Option<String>,
}

/// Parses and maps a document given as bytes: JSON-LD streaming, one
/// event at a time; XML through [`map_document`].
pub fn read(bytes: &[u8]) -> Result<Vec<Mapped>, DocumentError> {
    read_with_progress(bytes, &mut |_| {})
}

/// Events between two calls of [`read_with_progress`]'s `progress`.
pub const PROGRESS_EVERY: usize = 1_000;

/// [`read`], calling `progress` with the number of events read so far
/// every [`PROGRESS_EVERY`] events (the total is known only at the end).
pub fn read_with_progress(
    bytes: &[u8],
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<Mapped>, DocumentError> {
    if bytes.len() > MAX_DOCUMENT_BYTES {
        return Err(DocumentError::TooLarge { len: bytes.len() });
    }
    // A byte-order mark is allowed before JSON text (RFC 8259 §8.1 lets a
    // parser ignore it); tools on Windows write one.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // The XML binding reads into the JSON-LD form, then maps the same way.
    if crate::xml::is_xml(bytes) {
        if bytes.len() > MAX_XML_BYTES {
            return Err(DocumentError::XmlTooLarge { len: bytes.len() });
        }
        return map_document(&crate::xml::to_json(bytes)?);
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut skim = Skim {
        kind: None,
        is_a: None,
        present: [false; REQUIRED.len()],
        events: None,
        query_events: None,
        context: BTreeMap::new(),
        read: 0,
        progress,
    };
    let object = Object(&mut skim).deserialize(&mut de)?;
    de.end()?;
    skim.finish(object)
}

/// Maps a parsed document.
pub fn map_document(doc: &Value) -> Result<Vec<Mapped>, DocumentError> {
    let schema = |m: &str| DocumentError::Schema(m.to_owned());
    let obj = doc
        .as_object()
        .ok_or_else(|| schema("it is not a JSON object"))?;
    let query = document_kind(obj.get("type").or_else(|| obj.get(IS_A)))?;
    for field in REQUIRED {
        if !obj.contains_key(field) {
            return Err(missing(field));
        }
    }
    let body = &obj["epcisBody"];
    let list = if query {
        body.get("queryResults")
            .and_then(|q| q.get("resultsBody"))
            .and_then(|r| r.get("eventList"))
            .and_then(Value::as_array)
            .ok_or_else(|| schema(NO_QUERY_LIST))?
    } else {
        body.get("eventList")
            .and_then(Value::as_array)
            .ok_or_else(|| schema(NO_LIST))?
    };
    if list.len() > MAX_EVENTS {
        return Err(DocumentError::TooManyEvents { len: list.len() });
    }
    let context = namespaces(obj.get("@context"));
    let mut out = Vec::with_capacity(list.len());
    for (index, ev) in list.iter().enumerate() {
        out.push(map_one(index, ev, &context)?);
    }
    Ok(out)
}

/// The extension namespaces a JSON-LD `@context` declares: prefix → URI,
/// from its objects (a string entry is a context document's URL).
fn namespaces(context: Option<&Value>) -> BTreeMap<String, String> {
    let objects: Vec<&Map<String, Value>> = match context {
        Some(Value::Object(m)) => vec![m],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    objects
        .into_iter()
        .flatten()
        .filter_map(|(p, u)| Some((p.clone(), u.as_str()?.to_owned())))
        .collect()
}

/// What drafts of EPCIS 2.0 called `type`, as many of GS1's example
/// documents still do: read as `type` where `type` is missing (an export
/// writes `type`).
const IS_A: &str = "isA";

/// The top-level fields every document needs besides its type.
const REQUIRED: [&str; 4] = ["@context", "schemaVersion", "creationDate", "epcisBody"];
const NO_LIST: &str = "epcisBody has no eventList array";
const NO_QUERY_LIST: &str = "epcisBody.queryResults.resultsBody has no eventList array";

/// Whether a document's `type` is a query's answer (`true`) or a plain
/// document (`false`); refuses any other.
fn document_kind(kind: Option<&Value>) -> Result<bool, DocumentError> {
    // A compact IRI in the EPCIS namespace names the same type.
    match kind
        .and_then(Value::as_str)
        .map(|k| k.strip_prefix("epcis:").unwrap_or(k))
    {
        Some("EPCISDocument") => Ok(false),
        // A query's answer carries its events the same way, one level down.
        Some("EPCISQueryDocument") => Ok(true),
        Some(other) => Err(DocumentError::Schema(format!(
            "its type is {other:?}; import takes an EPCISDocument or an EPCISQueryDocument"
        ))),
        None => Err(DocumentError::Schema(
            "it has no \"type\" (expected \"EPCISDocument\")".to_owned(),
        )),
    }
}

fn missing(field: &str) -> DocumentError {
    DocumentError::Schema(format!("the required field {field:?} is missing"))
}

/// One event of the list, at `index`: the per-event checks, then
/// [`map_event`] and [`all_kept`]. Both readers map every event here.
fn map_one(
    index: usize,
    ev: &Value,
    context: &BTreeMap<String, String>,
) -> Result<Mapped, DocumentError> {
    let Some(e) = ev.as_object() else {
        return Err(DocumentError::Schema(format!(
            "event {index} is not a JSON object"
        )));
    };
    let renamed;
    let e = match e.get(IS_A) {
        Some(kind) if !e.contains_key("type") => {
            let mut m = e.clone();
            m.remove(IS_A);
            m.insert("type".into(), kind.clone());
            renamed = m;
            &renamed
        }
        _ => e,
    };
    for field in ["type", "eventTime", "eventTimeZoneOffset"] {
        if !e.contains_key(field) {
            return Err(DocumentError::Schema(format!(
                "event {index} has no {field:?}"
            )));
        }
    }
    let event_id = e.get("eventID").and_then(Value::as_str).map(str::to_owned);
    let time = e
        .get("eventTime")
        .and_then(Value::as_str)
        .and_then(vocab::parse_time);
    let draft = match time {
        Some(_) => map_event(e).and_then(|d| all_kept(e, &d, context).map(|x| (d, x))),
        None => Err("eventTime is not an RFC 3339 time at or after 1970".to_owned()),
    };
    // A declaration's record is dated when the error was declared.
    let (time, draft) = match draft {
        Ok((d @ Draft::Correct { .. }, x)) => match declaration_time(e) {
            Ok(t) => (Some(t), Ok((d, x))),
            Err(why) => (time, Err(why)),
        },
        other => (time, other),
    };
    let (draft, extras) = match draft {
        Ok((d, x)) => (Ok(d), x),
        Err(why) => (Err(why), None),
    };
    Ok(Mapped {
        index,
        event_id,
        time: time.unwrap_or(0),
        draft,
        extras,
    })
}

// --- The streaming reader ------------------------------------------------
//
// serde visits the document's members in the order they are written, and
// `type` may come after `epcisBody`: so the reader notes what it saw
// (the type, which required fields, each event list mapped as it went
// by) and [`Skim::finish`] makes map_document's checks in map_document's
// order once the document is read. Both places an event list can be
// (`epcisBody.eventList`, and `epcisBody.queryResults.resultsBody
// .eventList` for a query's answer) are mapped as read; the type then
// picks one. A repeated member replaces the earlier one, as it does in
// a `Value`.

/// What the streaming reader saw of a document.
struct Skim<'p> {
    /// The `type` member.
    kind: Option<Value>,
    /// The `isA` member (a draft's `type`).
    is_a: Option<Value>,
    /// Which of [`REQUIRED`] were present.
    present: [bool; REQUIRED.len()],
    /// `epcisBody.eventList`, when it was an array.
    events: Option<List>,
    /// `epcisBody.queryResults.resultsBody.eventList`, when an array.
    query_events: Option<List>,
    /// The namespaces `@context` declared, as far as read: events met
    /// before it see none (documents put it first).
    context: BTreeMap<String, String>,
    /// Events read so far, in either list, for `progress`.
    read: usize,
    progress: &'p mut dyn FnMut(usize),
}

/// An event list as read: how long it is, the events mapped (the first
/// [`MAX_EVENTS`], up to the first that is refused), and that refusal.
#[derive(Default)]
struct List {
    len: usize,
    mapped: Vec<Mapped>,
    error: Option<DocumentError>,
}

impl Skim<'_> {
    /// map_document's checks, in its order, on what was read.
    fn finish(mut self, object: bool) -> Result<Vec<Mapped>, DocumentError> {
        if !object {
            return Err(DocumentError::Schema("it is not a JSON object".to_owned()));
        }
        let query = document_kind(self.kind.as_ref().or(self.is_a.as_ref()))?;
        for (field, present) in REQUIRED.iter().zip(self.present) {
            if !present {
                return Err(missing(field));
            }
        }
        let list = if query {
            self.query_events.take()
        } else {
            self.events.take()
        };
        let list = list.ok_or_else(|| {
            DocumentError::Schema(if query { NO_QUERY_LIST } else { NO_LIST }.to_owned())
        })?;
        if list.len > MAX_EVENTS {
            return Err(DocumentError::TooManyEvents { len: list.len });
        }
        match list.error {
            Some(e) => Err(e),
            None => Ok(list.mapped),
        }
    }
}

/// The members of a JSON object, one at a time.
trait Members<'de> {
    /// Reads the value of member `key` from `map`.
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Reads one JSON value: an object's members go to `T`, anything else is
/// skipped. Yields whether it was an object.
struct Object<'a, T>(&'a mut T);

impl<'de, T: Members<'de>> DeserializeSeed<'de> for Object<'_, T> {
    type Value = bool;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<bool, D::Error> {
        d.deserialize_any(self)
    }
}

/// The visitor methods of a reader that wants one kind of JSON value and
/// skips (answering `$no`) every other kind.
macro_rules! skip_others {
    ($no:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($no)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($no)
        }
    };
}

impl<'de, T: Members<'de>> Visitor<'de> for Object<'_, T> {
    type Value = bool;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    skip_others!(false);
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            self.0.member(&key, &mut map)?;
        }
        Ok(true)
    }
}

impl<'de> Members<'de> for Skim<'_> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        if let Some(i) = REQUIRED.iter().position(|f| *f == key) {
            self.present[i] = true;
        }
        match key {
            "type" => self.kind = Some(map.next_value()?),
            IS_A => self.is_a = Some(map.next_value()?),
            "@context" => self.context = namespaces(Some(&map.next_value::<Value>()?)),
            "epcisBody" => {
                self.events = None;
                self.query_events = None;
                map.next_value_seed(Object(&mut Body(self)))?;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `epcisBody`.
struct Body<'s, 'p>(&'s mut Skim<'p>);

impl<'de> Members<'de> for Body<'_, '_> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "eventList" => {
                let list = map.next_value_seed(Events(self.0))?;
                self.0.events = list;
            }
            "queryResults" => {
                self.0.query_events = None;
                map.next_value_seed(Object(&mut Results(self.0, false)))?;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// `queryResults` (`false`), then its `resultsBody` (`true`).
struct Results<'s, 'p>(&'s mut Skim<'p>, bool);

impl<'de> Members<'de> for Results<'_, '_> {
    fn member<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match (self.1, key) {
            (false, "resultsBody") => {
                self.0.query_events = None;
                map.next_value_seed(Object(&mut Results(self.0, true)))?;
            }
            (true, "eventList") => {
                let list = map.next_value_seed(Events(self.0))?;
                self.0.query_events = list;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// An event list: each event read into a `Value`, mapped by [`map_one`]
/// and dropped. Past [`MAX_EVENTS`], or after an event is refused, the
/// rest are only counted. `None` when it is not an array.
struct Events<'s, 'p>(&'s mut Skim<'p>);

impl<'de> DeserializeSeed<'de> for Events<'_, '_> {
    type Value = Option<List>;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Option<List>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Events<'_, '_> {
    type Value = Option<List>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    skip_others!(None);
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<List>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<List>, A::Error> {
        let mut list = List::default();
        loop {
            let index = list.len;
            if index < MAX_EVENTS && list.error.is_none() {
                let Some(ev) = seq.next_element::<Value>()? else {
                    break;
                };
                match map_one(index, &ev, &self.0.context) {
                    Ok(m) => list.mapped.push(m),
                    Err(e) => list.error = Some(e),
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
            list.len += 1;
            self.0.read += 1;
            if self.0.read % PROGRESS_EVERY == 0 {
                (self.0.progress)(self.0.read);
            }
        }
        Ok(Some(list))
    }
}

/// A CBV term without its namespace (`urn:epcglobal:cbv:bizstep:shipping`,
/// `https://ref.gs1.org/cbv/BizStep-shipping` → `shipping`).
fn bare(term: &str) -> &str {
    for prefix in [
        "urn:epcglobal:cbv:bizstep:",
        "urn:epcglobal:cbv:disp:",
        "https://ref.gs1.org/cbv/BizStep-",
        "https://ref.gs1.org/cbv/Disp-",
        "https://gs1.org/voc/BizStep-",
        "https://gs1.org/voc/Disp-",
    ] {
        if let Some(rest) = term.strip_prefix(prefix) {
            return rest;
        }
    }
    term
}

type Ev = Map<String, Value>;

fn str_of<'a>(e: &'a Ev, k: &str) -> Option<&'a str> {
    e.get(k).and_then(Value::as_str)
}

fn location(e: &Ev) -> Result<Location, String> {
    let id = e
        .get("bizLocation")
        .or_else(|| e.get("readPoint"))
        .and_then(|l| l.get("id"))
        .and_then(Value::as_str)
        .ok_or("it has no bizLocation or readPoint, and Terroir events need a location")?;
    vocab::parse_location(id, str_of(e, "terroir:location"))
}

fn reference(e: &Ev) -> Option<RefDoc> {
    let tx = e.get("bizTransactionList")?.as_array()?.first()?;
    Some(vocab::parse_doc(
        tx.get("bizTransaction")?.as_str()?,
        tx.get("type").and_then(Value::as_str),
    ))
}

fn quantity(q: &Value, what: &str) -> Result<Quantity, String> {
    let n = q
        .get("quantity")
        .and_then(Value::as_number)
        .ok_or_else(|| format!("{what} has no quantity"))?;
    let uom = q.get("uom").and_then(Value::as_str);
    let (unit, factor) = vocab::unit_from_uncefact(uom).ok_or_else(|| {
        format!(
            "{what}: unit {:?} is not one Terroir counts in (GRM, KGM, TNE, MLT, LTR, H87/EA, CS, BG, CR)",
            uom.unwrap_or_default()
        )
    })?;
    // The factor is a power of ten: scale the decimal exactly.
    let scale = u32::try_from(factor.to_string().len()).unwrap_or(1) - 1;
    let amount = vocab::scaled(n, scale)
        .and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .ok_or_else(|| {
            format!(
                "{what}: quantity {n} {} is not a positive whole number of {}",
                uom.unwrap_or("(pieces)"),
                unit.name()
            )
        })?;
    Ok(Quantity::new(amount, unit))
}

fn class(q: &Value) -> Result<LotRef, String> {
    let c = q
        .get("epcClass")
        .and_then(Value::as_str)
        .ok_or("a quantity element has no epcClass")?;
    vocab::parse_lot_class(c)
}

/// The single lot (and quantity element) an ObjectEvent names.
fn one_lot(e: &Ev) -> Result<(LotRef, &Value), String> {
    let qs = e
        .get("quantityList")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty());
    let Some(qs) = qs else {
        if e.get("epcList")
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty())
        {
            return Err("it names serialised items (epcList) without a lot; Terroir tracks quantities of lots (quantityList with an LGTIN class), and keeps serialised items only beside them".into());
        }
        return Err("it names no lot (no quantityList)".into());
    };
    if qs.len() > 1 {
        return Err(format!(
            "it names {} lots in quantityList; a Terroir event names one",
            qs.len()
        ));
    }
    Ok((class(&qs[0])?, &qs[0]))
}

fn product(e: &Ev, class_uri: &str, lot: &LotRef) -> Product {
    let described = e
        .get("terroir:products")
        .and_then(|p| p.get(class_uri))
        .and_then(Value::as_str)
        .map(str::to_owned);
    Product {
        description: described.unwrap_or_else(|| match &lot.gtin {
            Some(g) => format!("GTIN {g}"),
            None => class_uri.to_owned(),
        }),
        gtin: lot.gtin.clone(),
    }
}

fn map_event(e: &Ev) -> Result<Draft, String> {
    if e.contains_key("errorDeclaration") {
        return error_declaration(e);
    }
    let kind = str_of(e, "type").unwrap_or_default();
    match kind {
        "ObjectEvent" => object_event(e),
        "TransformationEvent" => transformation(e),
        "AggregationEvent" | "AssociationEvent" => grouping(e, kind == "AggregationEvent"),
        "TransactionEvent" => transaction(e),
        other => Err(format!(
            "{other:?} is not an EPCIS 2.0 event type (ObjectEvent, AggregationEvent, AssociationEvent, TransactionEvent, TransformationEvent)"
        )),
    }
}

fn action(e: &Ev) -> Result<Action, String> {
    match str_of(e, "action") {
        Some("ADD") => Ok(Action::Add),
        Some("OBSERVE") => Ok(Action::Observe),
        Some("DELETE") => Ok(Action::Delete),
        Some(other) => Err(format!(
            "its action {other:?} is none of ADD, OBSERVE, DELETE"
        )),
        None => Err("it has no action (ADD, OBSERVE or DELETE)".into()),
    }
}

/// The lots and quantities of a quantity list, or why there are none
/// Terroir can hold: serialised items (`epcs`) alone name no lot.
fn lots_of(e: &Ev, list: &str, epcs: &str, what: &str) -> Result<Vec<(LotRef, Quantity)>, String> {
    let mut out = Vec::new();
    for (i, q) in e
        .get(list)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        out.push((class(q)?, quantity(q, &format!("{what} {i}"))?));
    }
    if out.is_empty()
        && e.get(epcs)
            .and_then(Value::as_array)
            .is_some_and(|l| !l.is_empty())
    {
        return Err(format!(
            "it names serialised items ({epcs}) without a lot; Terroir tracks quantities of lots ({list} with an LGTIN class), and keeps serialised items only beside them"
        ));
    }
    Ok(out)
}

/// An AggregationEvent (`aggregation`) or an AssociationEvent: a parent
/// (the case, pallet or asset) and the lots in or on it.
fn grouping(e: &Ev, aggregation: bool) -> Result<Draft, String> {
    let action = action(e)?;
    let parent = str_of(e, "parentID")
        .filter(|p| !p.is_empty())
        .ok_or(if aggregation {
            "it has no parentID; Terroir names the case or pallet by it"
        } else {
            "it has no parentID; Terroir names the asset by it"
        })?
        .to_owned();
    let children = lots_of(e, "childQuantityList", "childEPCs", "child")?;
    if children.is_empty() && action == Action::Add {
        return Err("it adds no lot (no childQuantityList)".into());
    }
    let location = location(e)?;
    Ok(if aggregation {
        Draft::Aggregate {
            action,
            parent,
            children,
            location,
        }
    } else {
        Draft::Associate {
            action,
            parent,
            children,
            location,
        }
    })
}

/// A TransactionEvent: business documents and the lots they concern.
fn transaction(e: &Ev) -> Result<Draft, String> {
    let action = action(e)?;
    let mut documents = Vec::new();
    for tx in e
        .get("bizTransactionList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = tx
            .get("bizTransaction")
            .and_then(Value::as_str)
            .ok_or("a business transaction has no bizTransaction")?;
        documents.push(vocab::parse_doc(id, tx.get("type").and_then(Value::as_str)));
    }
    if documents.is_empty() {
        return Err("it names no business document (bizTransactionList)".into());
    }
    let lots = lots_of(e, "quantityList", "epcList", "lot")?;
    if lots.is_empty() {
        return Err("it names no lot (no quantityList)".into());
    }
    Ok(Draft::Transact {
        action,
        documents,
        lots,
        location: location(e)?,
    })
}

/// An event carrying an `errorDeclaration`: its sender declares the event
/// with this eventID erroneous.
fn error_declaration(e: &Ev) -> Result<Draft, String> {
    let declared = str_of(e, "eventID")
        .ok_or("it declares an error but has no eventID naming the event declared erroneous")?;
    let decl = e
        .get("errorDeclaration")
        .and_then(Value::as_object)
        .ok_or("its errorDeclaration is not an object")?;
    // Kept as written, so the export gives it back in the same form.
    let reason = decl
        .get("reason")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut corrective = Vec::new();
    for id in decl
        .get("correctiveEventIDs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        corrective.push(
            id.as_str()
                .ok_or("a correctiveEventID is not text")?
                .to_owned(),
        );
    }
    Ok(Draft::Correct {
        declared: declared.to_owned(),
        reason,
        corrective,
    })
}

/// When the error was declared (`errorDeclaration.declarationTime`).
fn declaration_time(e: &Ev) -> Result<u64, String> {
    e.get("errorDeclaration")
        .and_then(|d| d.get("declarationTime"))
        .and_then(Value::as_str)
        .and_then(vocab::parse_time)
        .ok_or_else(|| {
            "its errorDeclaration has no declarationTime that is an RFC 3339 time at or after 1970"
                .to_owned()
        })
}

fn transformation(e: &Ev) -> Result<Draft, String> {
    // Serialised items are kept beside lots (all_kept), never instead.
    for (epcs, lots) in [
        ("inputEPCList", "inputQuantityList"),
        ("outputEPCList", "outputQuantityList"),
    ] {
        let some = |k: &str| {
            e.get(k)
                .and_then(Value::as_array)
                .is_some_and(|l| !l.is_empty())
        };
        if some(epcs) && !some(lots) {
            return Err(format!(
                "it lists serialised items in {epcs} and no lot in {lots}; Terroir transforms quantities of lots, and keeps serialised items only beside them"
            ));
        }
    }
    let list = |k: &str| {
        e.get(k)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut inputs = Vec::new();
    for (i, q) in list("inputQuantityList").iter().enumerate() {
        inputs.push((class(q)?, quantity(q, &format!("input {i}"))?));
    }
    let mut outputs = Vec::new();
    for (i, q) in list("outputQuantityList").iter().enumerate() {
        let lot = class(q)?;
        let uri = q
            .get("epcClass")
            .and_then(Value::as_str)
            .unwrap_or_default();
        outputs.push(NewLot {
            code: lot.code.clone(),
            product: product(e, uri, &lot),
            quantity: quantity(q, &format!("output {i}"))?,
        });
    }
    if inputs.is_empty() || outputs.is_empty() {
        return Err(
            "a transform needs at least one input and one output lot with quantities".into(),
        );
    }
    let process = match str_of(e, "bizStep") {
        Some(s) => match s.strip_prefix(vocab::PROCESS_URN) {
            Some(p) => vocab::dec(p).unwrap_or_else(|| p.to_owned()),
            None => bare(s).to_owned(),
        },
        None => "transform".to_owned(),
    };
    let loss = e.get("terroir:loss").and_then(Value::as_u64).unwrap_or(0);
    Ok(Draft::Transform {
        process,
        inputs,
        outputs,
        loss,
        location: location(e)?,
        reference: reference(e),
    })
}

fn object_event(e: &Ev) -> Result<Draft, String> {
    let action = str_of(e, "action").unwrap_or("OBSERVE");
    let step = str_of(e, "bizStep").map(bare);
    let disposition = str_of(e, "disposition").map(bare);
    if action == "DELETE" {
        return Err("action DELETE (decommissioning) has no Terroir form".into());
    }
    if str_of(e, "bizStep") == Some(vocab::INPUT_USE_STEP) {
        return input_use(e);
    }
    let (lot, q) = one_lot(e)?;
    let text = |k: &str| str_of(e, k).map(str::to_owned);
    if e.contains_key("terroir:basis") {
        return certificate(e, lot, q);
    }
    if action == "ADD" {
        if step != Some("commissioning") {
            return Err(match step {
                Some(step) => format!(
                    "action ADD with bizStep {step:?}: only commissioning (harvest) creates a lot"
                ),
                None => "action ADD without a bizStep: only commissioning (harvest) creates a lot"
                    .to_owned(),
            });
        }
        let uri = q
            .get("epcClass")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return Ok(Draft::Harvest {
            lot_code: lot.code.clone(),
            product: product(e, uri, &lot),
            quantity: quantity(q, "the harvested lot")?,
            location: location(e)?,
            reference: reference(e),
        });
    }
    if e.contains_key("certificationInfo") {
        let info = match &e["certificationInfo"] {
            Value::String(s) => s.clone(),
            Value::Array(a) => a
                .first()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        let reference = reference(e).or_else(|| Some(vocab::parse_doc(&info, Some("cert"))));
        return Ok(Draft::Certify {
            lot,
            claim: text("terroir:claim").unwrap_or(info),
            reference,
            valid_until: str_of(e, "terroir:validUntil").and_then(vocab::parse_time),
        });
    }
    if disposition == Some("recalled") {
        return Ok(Draft::Recall {
            lot,
            reason: text("terroir:reason").unwrap_or_else(|| "recalled (EPCIS import)".into()),
        });
    }
    match step {
        Some("shipping") => {
            let dests = e.get("destinationList").and_then(Value::as_array);
            let pick = |t: &str| {
                dests.into_iter().flatten().find_map(|d| {
                    (d.get("type").and_then(Value::as_str).map(bare) == Some(t))
                        .then(|| d.get("destination").and_then(Value::as_str))
                        .flatten()
                })
            };
            let from = location(e)?;
            let destination = match pick("location") {
                Some(id) => vocab::parse_location(id, str_of(e, "terroir:destination"))?,
                None => {
                    return Err("shipping without a destination location in destinationList".into())
                }
            };
            let to = match pick("owning_party").and_then(vocab::parse_party) {
                Some(k) => PartyRef::Key(k),
                None => match &destination.gln {
                    Some(g) => PartyRef::Gln(g.clone()),
                    None => return Err("shipping names no recipient: destinationList needs an owning_party urn:terroir:party:KEY or a location with a GLN".into()),
                },
            };
            Ok(Draft::Ship {
                lot,
                quantity: quantity(q, "the shipped lot")?,
                to,
                from,
                destination,
                reference: reference(e),
            })
        }
        Some("receiving") => Ok(Draft::Receive {
            shipment: str_of(e, "terroir:shipment").and_then(|h| Hash::from_hex(h).ok()),
            lot,
            quantity: quantity(q, "the received lot")?,
            location: location(e)?,
            reference: reference(e),
        }),
        Some("inspecting") => {
            let verdict = match disposition {
                Some("conformant") => Verdict::Pass,
                Some("non_conformant") => Verdict::Fail,
                Some(other) => {
                    return Err(format!(
                        "inspecting with disposition {other:?}: the result is unknown (Terroir needs conformant or non_conformant)"
                    ))
                }
                None => {
                    return Err(
                        "inspecting without a disposition: the result is unknown (Terroir needs conformant or non_conformant)"
                            .to_owned(),
                    )
                }
            };
            Ok(Draft::Inspect {
                lot,
                test: text("terroir:test").unwrap_or_else(|| "inspection".into()),
                verdict,
                notes: text("terroir:notes").unwrap_or_default(),
                reference: reference(e),
            })
        }
        Some("retail_selling") => Ok(Draft::Sell {
            lot,
            quantity: quantity(q, "the sold lot")?,
            location: location(e)?,
        }),
        _ if e.contains_key("sensorElementList") || step == Some("sensor_reporting") => {
            Ok(Draft::Observe {
                lot,
                location: location(e)?,
                readings: readings(e)?,
            })
        }
        Some(other) => Err(format!(
            "bizStep {other:?} with action {action} has no Terroir form"
        )),
        None => Err(format!(
            "an ObjectEvent with action {action}, no bizStep and no sensor data has no Terroir form"
        )),
    }
}

/// An extension field's texts: one, or a list (XML's repeated element).
fn texts(e: &Ev, k: &str) -> Vec<String> {
    match e.get(k) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Terroir's input use, as its export writes it.
fn input_use(e: &Ev) -> Result<Draft, String> {
    let q = e
        .get("quantityList")
        .and_then(Value::as_array)
        .and_then(|l| l.first())
        .ok_or("an input use without its dose (quantityList)")?;
    Ok(Draft::InputUse {
        product: str_of(e, "terroir:inputProduct")
            .ok_or("an input use without its terroir:inputProduct")?
            .to_owned(),
        ingredients: texts(e, "terroir:ingredient"),
        registration: str_of(e, "terroir:registration").map(str::to_owned),
        dose: quantity(q, "the dose")?,
        field: location(e)?,
        safety_interval_days: e
            .get("terroir:safetyIntervalDays")
            .and_then(Value::as_u64)
            .and_then(|d| u32::try_from(d).ok())
            .ok_or("an input use without its terroir:safetyIntervalDays")?,
    })
}

/// Terroir's compliance certificate, as its export writes it.
fn certificate(e: &Ev, lot: LotRef, q: &Value) -> Result<Draft, String> {
    let text = |k: &str| {
        str_of(e, k)
            .map(str::to_owned)
            .ok_or_else(|| format!("a compliance certificate without its {k}"))
    };
    let term = str_of(e, "terroir:basis");
    let Some(basis) = term.and_then(Basis::from_term) else {
        return Err(format!(
            "a compliance certificate's basis is quality_control, own_test or commissioned_test, not {}",
            term.map_or("missing".to_owned(), |o| format!("{o:?}"))
        ));
    };
    let hashes = |k: &str| -> Result<Vec<Hash>, String> {
        texts(e, k)
            .iter()
            .map(|h| {
                Hash::from_hex(h).map_err(|_| {
                    format!("a compliance certificate's {k} is a record hash, not {h:?}")
                })
            })
            .collect()
    };
    Ok(Draft::Certificate {
        lot,
        quantity: quantity(q, "the certified lot")?,
        origin: text("terroir:origin")?,
        contact: text("terroir:contact")?,
        basis,
        tests: hashes("terroir:test")?,
        inputs: hashes("terroir:inputCertificate")?,
    })
}

fn readings(e: &Ev) -> Result<Vec<Reading>, String> {
    let mut out = Vec::new();
    let elements = e.get("sensorElementList").and_then(Value::as_array);
    for (i, el) in elements.into_iter().flatten().enumerate() {
        let meta_time = el
            .get("sensorMetadata")
            .and_then(|m| m.get("time"))
            .and_then(Value::as_str);
        for rep in el
            .get("sensorReport")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let t = rep.get("type").and_then(Value::as_str).unwrap_or_default();
            let uom = rep.get("uom").and_then(Value::as_str);
            let kind = vocab::parse_sensor(t, uom).ok_or_else(|| {
                format!(
                    "sensor element {i}: {t} in {:?} is not a reading Terroir records (Temperature in CEL, RelativeHumidity in P1)",
                    uom.unwrap_or_default()
                )
            })?;
            let value = rep
                .get("value")
                .and_then(Value::as_number)
                .and_then(|n| vocab::scaled(n, 3))
                .and_then(|v| i64::try_from(v).ok())
                .ok_or_else(|| format!("sensor element {i}: {t} has no value in thousandths"))?;
            let time = rep
                .get("time")
                .and_then(Value::as_str)
                .or(meta_time)
                .or_else(|| str_of(e, "eventTime"))
                .and_then(vocab::parse_time)
                .ok_or_else(|| format!("sensor element {i}: no readable time"))?;
            let bound = |k: &str, d: i64| rep.get(k).and_then(Value::as_i64).unwrap_or(d);
            out.push(Reading {
                time,
                kind,
                value,
                min: bound("terroir:allowedMin", i64::MIN),
                max: bound("terroir:allowedMax", i64::MAX),
            });
        }
    }
    if out.is_empty() {
        return Err("sensor reporting without readings".into());
    }
    Ok(out)
}

/// Fields a record keeps as they came, in its extras (record version 3),
/// and an export gives back: what identifies or describes the event
/// without changing what the ledger tracks.
pub const EXTRAS_FIELDS: &[&str] = &[
    "eventID",
    "eventTimeZoneOffset",
    "readPoint",
    "sourceList",
    "destinationList",
    "ilmd",
    "persistentDisposition",
];

/// What of the event the record keeps beside its event (its extras, a
/// JSON object; `None` when nothing), or why the event is refused: an
/// import never drops data while reporting success.
///
/// Kept as they came: [`EXTRAS_FIELDS`]; the action, business step and
/// disposition, and the business transactions, where an export of the
/// record would write other ones; the business location and the quantity
/// list (its quantities) of an event that has no place for them
/// (inspections, certifications and recalls); serialised items beside
/// the lots; sensor data on an event that is no sensor report, or with
/// fields a reading has no place for; a transaction's parent; certification
/// information on an event that is no certification; and extension
/// fields, with the namespaces their prefixes name in the event's or the
/// document's `context` (as `@context`). Refused: extra fields on a
/// quantity element, a field of an error declaration other than its
/// three, and an extension field whose prefix no context declares. An
/// error declaration keeps nothing: the rest of it repeats the declared
/// event. Not kept: `recordTime`, which the capturing repository sets.
fn all_kept(
    e: &Ev,
    d: &Draft,
    context: &BTreeMap<String, String>,
) -> Result<Option<String>, String> {
    let drop = |what: String| {
        Err(format!(
            "it carries {what}, which Terroir cannot keep yet; importing it would drop that"
        ))
    };
    // A declaration repeats the declared event, which the ledger holds:
    // only the declaration itself is read.
    if let Draft::Correct { .. } = d {
        let decl = e.get("errorDeclaration").and_then(Value::as_object);
        if let Some(extra) = decl.into_iter().flatten().map(|(k, _)| k).find(|k| {
            !matches!(
                k.as_str(),
                "declarationTime" | "reason" | "correctiveEventIDs"
            )
        }) {
            return drop(format!("{extra:?} in its errorDeclaration"));
        }
        return Ok(None);
    }
    let grouping = matches!(d, Draft::Aggregate { .. } | Draft::Associate { .. });
    // Inspections, certifications and recalls name a lot, but have no
    // place for a location or a quantity.
    let has_location = !matches!(
        d,
        Draft::Inspect { .. }
            | Draft::Certify { .. }
            | Draft::Recall { .. }
            | Draft::Certificate { .. }
    );
    let mut extras = serde_json::Map::new();
    // Extension fields keep their namespaces with them: the event's own
    // @context, then the document's.
    let own = namespaces(e.get("@context"));
    let mut used = Map::new();
    for (key, value) in e {
        let kept = match key.as_str() {
            "type" | "eventTime" | "recordTime" | "@context" => true,
            // Kept as they came; what the export writes the same is left
            // out when the record is made (`apply`), so a CBV URN or a
            // step Terroir reads another way comes back as it came.
            "action" | "bizStep" | "disposition" => {
                if value.as_str() != written(d, key).as_deref() {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            // Kept where the record has no place for it.
            "bizLocation" => {
                if !has_location {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            k if k.starts_with("terroir:") => true,
            // What every export writes anyway is not kept (the rest of
            // that is left out when the record is made, see `apply`).
            "eventTimeZoneOffset" if value.as_str() == Some("+00:00") => true,
            "readPoint"
                if has_location
                    && e.get("bizLocation")
                        .is_some_and(|b| b.get("id") == value.get("id")) =>
            {
                true
            }
            k if EXTRAS_FIELDS.contains(&k) => {
                extras.insert(key.clone(), value.clone());
                true
            }
            "parentID" => {
                if matches!(d, Draft::Transact { .. }) {
                    extras.insert(key.clone(), value.clone());
                }
                grouping || matches!(d, Draft::Transact { .. })
            }
            "childQuantityList" => grouping,
            // Serialised items are kept beside the lots: instance identity
            // the ledger's custody of lots does not count.
            "childEPCs" if grouping => {
                if value.as_array().is_some_and(|l| !l.is_empty()) {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            "inputEPCList" | "outputEPCList" if matches!(d, Draft::Transform { .. }) => {
                if value.as_array().is_some_and(|l| !l.is_empty()) {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            "quantityList" if grouping => false,
            "quantityList" => {
                // The lot is the record's; the quantity inspected,
                // certified or recalled has no place, so the list is
                // kept as it came.
                if !has_location
                    && !matches!(d, Draft::Certificate { .. })
                    && value
                        .as_array()
                        .is_some_and(|l| l.iter().any(|q| q.get("quantity").is_some()))
                {
                    extras.insert(key.clone(), value.clone());
                }
                !matches!(d, Draft::Transform { .. })
            }
            "inputQuantityList" | "outputQuantityList" => matches!(d, Draft::Transform { .. }),
            // Kept as it came (a record's reference holds one document,
            // in Terroir's form); left out when the export writes the same.
            "bizTransactionList" => {
                if Some(value) != written_documents(d).as_ref() {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            // An observation's readings are the record's (checked against
            // their range); sensor data on any other event, or written
            // otherwise than an export writes the readings (statistics,
            // device ids, no time …), are kept as they came.
            "sensorElementList" => {
                let same = matches!(d, Draft::Observe { readings, .. }
                    if crate::export::sensor_elements(readings) == *value);
                if !same {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            "certificationInfo" => {
                if !matches!(d, Draft::Certify { .. }) {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            "epcList" if !grouping && !matches!(d, Draft::Transform { .. }) => {
                if value.as_array().is_some_and(|l| !l.is_empty()) {
                    extras.insert(key.clone(), value.clone());
                }
                true
            }
            k if k.contains(':') => {
                let prefix = k.split_once(':').map_or(k, |(p, _)| p);
                let Some(uri) = own.get(prefix).or_else(|| context.get(prefix)) else {
                    return drop(format!(
                        "the field {k:?}, whose namespace prefix {prefix:?} no @context declares"
                    ));
                };
                used.insert(prefix.to_owned(), Value::String(uri.clone()));
                extras.insert(key.clone(), value.clone());
                true
            }
            _ => false,
        };
        if !kept {
            return drop(describe_field(key));
        }
    }
    for list in [
        "quantityList",
        "inputQuantityList",
        "outputQuantityList",
        "childQuantityList",
    ] {
        for q in e.get(list).and_then(Value::as_array).into_iter().flatten() {
            if let Some(extra) = q.as_object().and_then(|o| {
                o.keys()
                    .find(|k| !matches!(k.as_str(), "epcClass" | "quantity" | "uom"))
            }) {
                return drop(format!("{extra:?} on a quantity element"));
            }
        }
    }
    if !used.is_empty() {
        extras.insert("@context".into(), Value::Object(used));
    }
    if extras.is_empty() {
        return Ok(None);
    }
    // Held as text until the record is made: a few hundred bytes an
    // event rather than a tree of values. What an export would give back
    // anyway is left out then (`apply`), so this bound is on the most it
    // can keep.
    let text = Value::Object(extras).to_string();
    if text.len() > MAX_EXTRAS_BYTES {
        return Err(format!(
            "what it carries beside its event ({}) is {} bytes, over the {} KiB a record keeps",
            EXTRAS_FIELDS.join(", "),
            text.len(),
            MAX_EXTRAS_BYTES / 1024
        ));
    }
    Ok(Some(text))
}

/// What an export of the record `d` becomes writes for `key` (`action`,
/// `bizStep` or `disposition`): what an import need not keep.
fn written(d: &Draft, key: &str) -> Option<Cow<'static, str>> {
    let (kind, verdict) = match d {
        Draft::Transform { process, .. } => {
            return (key == "bizStep")
                .then(|| Cow::Owned(format!("{}{}", vocab::PROCESS_URN, vocab::enc(process))))
        }
        Draft::Aggregate { action, .. }
        | Draft::Associate { action, .. }
        | Draft::Transact { action, .. } => {
            return (key == "action").then(|| Cow::Borrowed(action.epcis()))
        }
        Draft::Correct { .. } => return None,
        Draft::InputUse { .. } => {
            return match key {
                "action" => Some(Cow::Borrowed("OBSERVE")),
                "bizStep" => Some(Cow::Borrowed(vocab::INPUT_USE_STEP)),
                _ => None,
            }
        }
        Draft::Certificate { .. } => return (key == "action").then_some(Cow::Borrowed("OBSERVE")),
        Draft::Inspect { verdict, .. } => (EventKind::Inspect, Some(*verdict)),
        Draft::Harvest { .. } => (EventKind::Harvest, None),
        Draft::Ship { .. } => (EventKind::Ship, None),
        Draft::Receive { .. } => (EventKind::Receive, None),
        Draft::Observe { .. } => (EventKind::Observe, None),
        Draft::Certify { .. } => (EventKind::Certify, None),
        Draft::Recall { .. } => (EventKind::Recall, None),
        Draft::Sell { .. } => (EventKind::Sell, None),
    };
    let (action, step, disposition) = crate::export::object_terms(kind, verdict)?;
    match key {
        "action" => Some(action),
        "bizStep" => step,
        "disposition" => disposition,
        _ => None,
    }
    .map(Cow::Borrowed)
}

/// The `bizTransactionList` an export of the record `d` becomes writes.
fn written_documents(d: &Draft) -> Option<Value> {
    let one = match d {
        Draft::Transact { documents, .. } => {
            return Some(documents.iter().map(vocab::doc_transaction).collect())
        }
        Draft::Harvest { reference, .. }
        | Draft::Transform { reference, .. }
        | Draft::Ship { reference, .. }
        | Draft::Receive { reference, .. }
        | Draft::Inspect { reference, .. }
        | Draft::Certify { reference, .. } => reference.as_ref()?,
        _ => return None,
    };
    Some(Value::Array(vec![vocab::doc_transaction(one)]))
}

/// What a field is, in words, for the refusal.
fn describe_field(key: &str) -> String {
    match key {
        "errorDeclaration" => {
            "an error declaration (its sender declared the event erroneous)".into()
        }
        "epcList" => "serialised items (epcList) beside the lot".into(),
        "quantityList" => "a quantity list on a transformation".into(),
        other => format!("the field {other:?}"),
    }
}
