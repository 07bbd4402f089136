//! The EPCIS 2.0 XML binding: an XML `epcis:EPCISDocument` ↔ the JSON-LD
//! form [`crate::import`] reads and [`crate::export`] writes, so one
//! mapping serves both bindings (see `docs/standards.md`, "XML binding").
//!
//! [`to_json`] turns XML into the JSON the EPCIS 2.0 JSON schema describes
//! (same key names; CBV URNs become the bare terms the JSON binding uses;
//! extension elements become `prefix:localName` keys, so import refuses
//! what it cannot keep by name instead of dropping it). [`from_json`]
//! writes a document in the element order of `EPCglobal-epcis-2_0.xsd`,
//! with Terroir's `terroir:*` keys as extension elements in the
//! [`vocab::NAMESPACE`] namespace where the schema allows them
//! (`##other` at the end of each event, attributes on sensor reports).

use std::collections::BTreeMap;

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use serde_json::{Map, Number, Value};

use crate::export::EPCIS_CONTEXT;
use crate::import::MAX_DOCUMENT_BYTES;
use crate::vocab;

/// The EPCIS 2.0 XML namespace (`epcis:` in the standard's examples).
pub const EPCIS_NS: &str = "urn:epcglobal:epcis:xsd:2";
/// The EPCIS 2.0 query namespace (`epcisq:`), for query answers.
pub const QUERY_NS: &str = "urn:epcglobal:epcis-query:xsd:2";
/// Deepest element nesting read. EPCIS needs about 8 levels; extension
/// elements may nest more, but a deeper document is an attack on the
/// parser's stack, not traceability data.
pub const MAX_DEPTH: usize = 64;

const XSI_NS: &str = "http://www.w3.org/2001/XMLSchema-instance";
const BIZSTEP: &str = "urn:epcglobal:cbv:bizstep:";
const DISP: &str = "urn:epcglobal:cbv:disp:";
const BTT: &str = "urn:epcglobal:cbv:btt:";
const SDT: &str = "urn:epcglobal:cbv:sdt:";
const ER: &str = "urn:epcglobal:cbv:er:";
const GS1: &str = "gs1:";
/// The CBV master-data namespace: JSON-LD documents write its terms as
/// `cbvmda:…` (the EPCIS context declares the prefix), XML in this
/// namespace (ilmd's best-before date, country of origin …).
const CBVMDA_NS: &str = "urn:epcglobal:cbv:mda";
/// Terroir extension keys whose values are integers in the JSON form.
const TERROIR_INTEGERS: [&str; 4] = [
    "terroir:loss",
    "terroir:allowedMin",
    "terroir:allowedMax",
    "terroir:safetyIntervalDays",
];
/// Sensor report attributes that are numbers in the JSON form.
const SENSOR_NUMBERS: [&str; 7] = [
    "value",
    "minValue",
    "maxValue",
    "sDev",
    "meanValue",
    "percRank",
    "percValue",
];

/// Why an XML document could not be read, or a document not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Larger than [`MAX_DOCUMENT_BYTES`].
    #[error("the document is {len} bytes; the limit is {MAX_DOCUMENT_BYTES}")]
    TooLarge {
        /// Its size.
        len: usize,
    },
    /// Not well-formed XML (or not UTF-8).
    #[error("the XML is malformed at line {line}, column {column}: {message}")]
    Malformed {
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// What is wrong there.
        message: String,
    },
    /// It declares a DTD; entity declarations are how XXE and
    /// entity-expansion attacks start, and EPCIS documents have none.
    #[error("the XML declares a DTD at line {line}, column {column}; DTDs and entity declarations are refused (EPCIS documents have none)")]
    Dtd {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// Well-formed XML that is not an EPCIS 2.0 document.
    #[error("the XML does not follow the EPCIS 2.0 schema: {0}")]
    Schema(String),
    /// The JSON document has something the XML binding cannot carry.
    #[error("the document cannot be written as EPCIS 2.0 XML: {0}")]
    Unwritable(String),
}

/// Whether `bytes` look like XML: the first byte that is not whitespace,
/// after an optional UTF-8 byte-order mark, is `<`.
pub fn is_xml(bytes: &[u8]) -> bool {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'<')
}

// ---------------------------------------------------------------- reading

/// A parsed element: names resolved to namespaces, text concatenated.
#[derive(Debug)]
struct Elem {
    ns: Option<String>,
    prefix: Option<String>,
    local: String,
    attrs: Vec<Attr>,
    /// Namespaces it declares (`xmlns:prefix="uri"`).
    decls: Vec<(String, String)>,
    children: Vec<Elem>,
    text: String,
}

#[derive(Debug)]
struct Attr {
    ns: Option<String>,
    prefix: Option<String>,
    local: String,
    value: String,
}

impl Elem {
    fn epcis(&self, local: &str) -> bool {
        self.ns.is_none() && self.local == local
    }

    fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }

    fn trimmed(&self) -> String {
        self.text.trim().to_owned()
    }

    fn nil(&self) -> bool {
        self.attrs.iter().any(|a| {
            a.ns.as_deref() == Some(XSI_NS) && a.local == "nil" && a.value.trim() == "true"
        })
    }
}

fn position(text: &str, offset: u64) -> (usize, usize) {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let mut end = offset;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn malformed(text: &str, offset: u64, message: impl Into<String>) -> XmlError {
    let (line, column) = position(text, offset);
    XmlError::Malformed {
        line,
        column,
        message: message.into(),
    }
}

fn resolved(r: ResolveResult<'_>) -> Result<Option<String>, String> {
    match r {
        ResolveResult::Bound(ns) => Ok(Some(ns.0.to_owned())),
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(p) => Err(format!("the namespace prefix {p:?} is not declared")),
    }
}

fn parse(xml: &[u8]) -> Result<Elem, XmlError> {
    if xml.len() > MAX_DOCUMENT_BYTES {
        return Err(XmlError::TooLarge { len: xml.len() });
    }
    let body = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = match std::str::from_utf8(body) {
        Ok(t) => t,
        Err(e) => {
            let valid = std::str::from_utf8(&body[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = position(valid, u64::MAX);
            return Err(XmlError::Malformed {
                line,
                column,
                message: "the document is not UTF-8".into(),
            });
        }
    };
    let mut reader = NsReader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Elem> = Vec::new();
    let mut root: Option<Elem> = None;
    loop {
        let at = reader.buffer_position();
        let (ns, event) = match reader.read_resolved_event() {
            Ok((ns, ev)) => (resolved(ns), ev),
            Err(e) => return Err(malformed(text, reader.error_position(), e.to_string())),
        };
        match event {
            Event::Start(ref s) | Event::Empty(ref s) => {
                let empty = matches!(event, Event::Empty(_));
                let ns = ns.map_err(|m| malformed(text, at, m))?;
                if root.is_some() && stack.is_empty() {
                    return Err(malformed(text, at, "a second root element"));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(malformed(
                        text,
                        at,
                        format!("elements nest deeper than {MAX_DEPTH} levels"),
                    ));
                }
                let name = s.name();
                let (local, prefix) = name.decompose();
                let mut el = Elem {
                    ns,
                    prefix: prefix.map(|p| p.into_inner().to_owned()),
                    local: local.into_inner().to_owned(),
                    attrs: Vec::new(),
                    decls: Vec::new(),
                    children: Vec::new(),
                    text: String::new(),
                };
                for a in s.attributes() {
                    let a = a.map_err(|e| malformed(text, at, e.to_string()))?;
                    let (aloc, apre) = a.key.decompose();
                    let value = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .map_err(|e| malformed(text, at, e.to_string()))?
                        .into_owned();
                    if a.key.into_inner() == "xmlns" {
                        continue;
                    }
                    if apre.is_some_and(|p| p.into_inner() == "xmlns") {
                        el.decls.push((aloc.into_inner().to_owned(), value));
                        continue;
                    }
                    let ans = resolved(reader.resolver().resolve_attribute(a.key).0)
                        .map_err(|m| malformed(text, at, m))?;
                    el.attrs.push(Attr {
                        ns: ans,
                        prefix: apre.map(|p| p.into_inner().to_owned()),
                        local: aloc.into_inner().to_owned(),
                        value,
                    });
                }
                if empty {
                    close(el, &mut stack, &mut root);
                } else {
                    stack.push(el);
                }
            }
            Event::End(_) => {
                if let Some(el) = stack.pop() {
                    close(el, &mut stack, &mut root);
                }
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&content),
                    None if content.trim().is_empty() => {}
                    None => return Err(malformed(text, at, "text outside the root element")),
                }
            }
            Event::CData(c) => match stack.last_mut() {
                Some(el) => el.text.push_str(&c.xml10_content()),
                None => return Err(malformed(text, at, "CDATA outside the root element")),
            },
            Event::GeneralRef(r) => {
                let ch = match r.resolve_char_ref() {
                    Ok(Some(c)) => c,
                    Ok(None) => match &*r.xml10_content() {
                        "lt" => '<',
                        "gt" => '>',
                        "amp" => '&',
                        "apos" => '\'',
                        "quot" => '"',
                        other => {
                            return Err(malformed(
                                text,
                                at,
                                format!(
                                    "the entity &{other}; is not defined (only XML's five are)"
                                ),
                            ))
                        }
                    },
                    Err(e) => return Err(malformed(text, at, e.to_string())),
                };
                match stack.last_mut() {
                    Some(el) => el.text.push(ch),
                    None => {
                        return Err(malformed(text, at, "a reference outside the root element"))
                    }
                }
            }
            Event::DocType(_) => {
                let (line, column) = position(text, at);
                return Err(XmlError::Dtd { line, column });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(malformed(
            text,
            u64::MAX,
            format!(
                "the element <{}> is not closed",
                qname(open.prefix.as_deref(), &open.local)
            ),
        ));
    }
    root.ok_or_else(|| malformed(text, u64::MAX, "there is no root element"))
}

fn close(el: Elem, stack: &mut [Elem], root: &mut Option<Elem>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

fn qname(prefix: Option<&str>, local: &str) -> String {
    match prefix {
        Some(p) => format!("{p}:{local}"),
        None => local.to_owned(),
    }
}

/// The JSON-LD prefixes of the extension namespaces met while converting.
#[derive(Default)]
struct Names {
    prefixes: BTreeMap<String, String>,
}

impl Names {
    /// The JSON key of a namespaced name: `prefix:local`, with Terroir's
    /// namespace always `terroir:` and no other namespace ever `terroir:`.
    fn key(&mut self, ns: &str, prefix: Option<&str>, local: &str) -> String {
        let terroir = vocab::NAMESPACE.trim_end_matches('/');
        if ns.trim_end_matches(':') == CBVMDA_NS {
            return format!("cbvmda:{local}");
        }
        if ns.trim_end_matches('/') == terroir {
            self.prefixes
                .insert("terroir".into(), vocab::NAMESPACE.to_owned());
            return format!("terroir:{local}");
        }
        if let Some((p, _)) = self.prefixes.iter().find(|(_, u)| u.as_str() == ns) {
            return format!("{p}:{local}");
        }
        let taken =
            |p: &str, names: &Names| p == "terroir" || p == "gs1" || names.prefixes.contains_key(p);
        let mut p = prefix.unwrap_or("ns").to_owned();
        if taken(&p, self) {
            let base = p.clone();
            let mut n = 1;
            while taken(&p, self) {
                p = format!("{base}{n}");
                n += 1;
            }
        }
        self.prefixes.insert(p.clone(), ns.to_owned());
        format!("{p}:{local}")
    }

    fn elem_key(&mut self, el: &Elem) -> String {
        match &el.ns {
            Some(ns) => self.key(ns, el.prefix.as_deref(), &el.local),
            None => el.local.clone(),
        }
    }

    fn attr_key(&mut self, a: &Attr) -> String {
        match &a.ns {
            Some(ns) => self.key(ns, a.prefix.as_deref(), &a.local),
            None => a.local.clone(),
        }
    }
}

/// A CBV URN as the bare term of the JSON binding (`urn:epcglobal:cbv:bizstep:shipping` → `shipping`).
fn compact(value: &str, prefix: &str) -> String {
    match value.strip_prefix(prefix) {
        Some(term)
            if !term.is_empty() && term.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') =>
        {
            term.to_owned()
        }
        _ => value.to_owned(),
    }
}

/// A bare CBV term as the URN of the XML binding; URIs stay as they are.
fn expand(value: &str, prefix: &str) -> String {
    if value.contains(':') {
        value.to_owned()
    } else {
        format!("{prefix}{value}")
    }
}

/// An `xsd:decimal` or `xsd:double` as a JSON number, read the way the
/// JSON path reads numbers; `None` when JSON has no such number (NaN, INF).
fn number(text: &str) -> Option<Number> {
    let t = text.trim();
    let (sign, digits) = match t.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", t.strip_prefix('+').unwrap_or(t)),
    };
    let mut d = digits.to_owned();
    if d.starts_with('.') {
        d.insert(0, '0');
    }
    if let Some(stripped) = d.strip_suffix('.') {
        d = stripped.to_owned();
    }
    d = d.replace(".e", "e").replace(".E", "E");
    match serde_json::from_str::<Value>(&format!("{sign}{d}")) {
        Ok(Value::Number(n)) => Some(n),
        _ => None,
    }
}

/// An extension value: Terroir's integer keys as numbers, else the text.
fn ext_leaf(key: &str, text: &str) -> Value {
    if TERROIR_INTEGERS.contains(&key) {
        if let Ok(v) = text.trim().parse::<i64>() {
            return v.into();
        }
        if let Ok(v) = text.trim().parse::<u64>() {
            return v.into();
        }
    }
    Value::String(text.to_owned())
}

/// An element in another namespace (or one the binding does not know),
/// kept whole so import can name it.
fn generic(el: &Elem, key: &str, names: &mut Names) -> Value {
    if key == "terroir:products" {
        let mut m = Map::new();
        for c in &el.children {
            let class = c.attr("epcClass").unwrap_or_default();
            m.insert(class.to_owned(), Value::String(c.text.clone()));
        }
        return Value::Object(m);
    }
    let attrs: Vec<&Attr> = el
        .attrs
        .iter()
        .filter(|a| a.ns.as_deref() != Some(XSI_NS))
        .collect();
    if el.children.is_empty() && attrs.is_empty() {
        return ext_leaf(key, &el.text);
    }
    let mut m = Map::new();
    for a in attrs {
        let k = names.attr_key(a);
        let v = ext_leaf(&k, &a.value);
        m.insert(k, v);
    }
    for c in &el.children {
        let k = names.elem_key(c);
        let v = generic(c, &k, names);
        push(&mut m, k, v);
    }
    if !el.text.trim().is_empty() {
        m.insert("@value".into(), Value::String(el.text.clone()));
    }
    Value::Object(m)
}

/// Adds `k`; a repeated key becomes an array.
fn push(m: &mut Map<String, Value>, k: String, v: Value) {
    match m.get_mut(&k) {
        None => {
            m.insert(k, v);
        }
        Some(Value::Array(a)) => a.push(v),
        Some(old) => {
            let first = old.take();
            *old = Value::Array(vec![first, v]);
        }
    }
}

fn put_once(m: &mut Map<String, Value>, k: &str, v: Value, event: &str) -> Result<(), XmlError> {
    if m.contains_key(k) {
        return Err(XmlError::Schema(format!("{event} has more than one <{k}>")));
    }
    m.insert(k.to_owned(), v);
    Ok(())
}

/// Parses an EPCIS 2.0 XML document into its JSON-LD form, which
/// [`crate::import::map_document`] maps exactly as it maps the JSON binding.
pub fn to_json(xml: &[u8]) -> Result<Value, XmlError> {
    let root = parse(xml)?;
    let mut names = Names::default();
    let query = match (root.ns.as_deref(), root.local.as_str()) {
        (Some(EPCIS_NS), "EPCISDocument") => false,
        (Some(QUERY_NS), "EPCISQueryDocument") => true,
        (ns, local) => {
            return Err(XmlError::Schema(match ns {
                Some("urn:epcglobal:epcis:xsd:1") => format!(
                    "the root element is EPCIS 1.x's {local} (namespace urn:epcglobal:epcis:xsd:1); Terroir reads EPCIS 2.0 (epcis:EPCISDocument in {EPCIS_NS})"
                ),
                Some(ns) => format!(
                    "the root element is {local} in namespace {ns:?}; expected epcis:EPCISDocument ({EPCIS_NS})"
                ),
                None => format!(
                    "the root element is {local} in no namespace; expected epcis:EPCISDocument ({EPCIS_NS})"
                ),
            }))
        }
    };
    // The extension namespaces the document declares up front go to the
    // @context even when unused, as a JSON-LD document would declare them.
    for (p, uri) in &root.decls {
        if ![EPCIS_NS, QUERY_NS, XSI_NS].contains(&uri.as_str()) {
            names.key(uri, Some(p), "");
        }
    }
    let mut doc = Map::new();
    doc.insert("@context".into(), Value::Null);
    doc.insert(
        "type".into(),
        if query {
            "EPCISQueryDocument"
        } else {
            "EPCISDocument"
        }
        .into(),
    );
    for a in &root.attrs {
        if a.ns.as_deref() == Some(XSI_NS) {
            continue; // schemaLocation: where the XSD is, an XML-only hint
        }
        let k = names.attr_key(a);
        doc.insert(k, Value::String(a.value.trim().to_owned()));
    }
    for field in ["schemaVersion", "creationDate"] {
        if !doc.contains_key(field) {
            return Err(XmlError::Schema(format!(
                "the document element has no {field} attribute"
            )));
        }
    }
    let mut body = None;
    for c in &root.children {
        if c.epcis("EPCISHeader") {
            doc.insert("epcisHeader".into(), generic(c, "epcisHeader", &mut names));
        } else if c.epcis("EPCISBody") {
            body = Some(c);
        } else {
            let k = names.elem_key(c);
            let v = generic(c, &k, &mut names);
            push(&mut doc, k, v);
        }
    }
    let body = body.ok_or_else(|| XmlError::Schema("the document has no EPCISBody".into()))?;
    let mut events = Vec::new();
    let mut body_json = Map::new();
    if query {
        let results = body
            .children
            .iter()
            .find(|c| c.ns.as_deref() == Some(QUERY_NS) && c.local == "QueryResults")
            .ok_or_else(|| {
                XmlError::Schema("the query document's EPCISBody has no QueryResults".into())
            })?;
        let mut qr = Map::new();
        for c in &results.children {
            if c.epcis("resultsBody") {
                for l in c.children.iter().filter(|l| l.epcis("EventList")) {
                    event_list(l, &mut events, &mut names)?;
                }
            } else {
                let k = names.elem_key(c);
                let v = generic(c, &k, &mut names);
                push(&mut qr, k, v);
            }
        }
        let mut rb = Map::new();
        rb.insert("eventList".into(), Value::Array(events));
        qr.insert("resultsBody".into(), Value::Object(rb));
        body_json.insert("queryResults".into(), Value::Object(qr));
    } else {
        for c in &body.children {
            if c.epcis("EventList") {
                event_list(c, &mut events, &mut names)?;
            } else {
                let k = names.elem_key(c);
                let v = generic(c, &k, &mut names);
                push(&mut body_json, k, v);
            }
        }
        body_json.insert("eventList".into(), Value::Array(events));
    }
    doc.insert("epcisBody".into(), Value::Object(body_json));
    let mut context = vec![Value::String(EPCIS_CONTEXT.into())];
    if !names.prefixes.is_empty() {
        context.push(Value::Object(
            names
                .prefixes
                .into_iter()
                .map(|(p, u)| (p, Value::String(u)))
                .collect(),
        ));
    }
    doc.insert("@context".into(), Value::Array(context));
    Ok(Value::Object(doc))
}

fn event_list(list: &Elem, out: &mut Vec<Value>, names: &mut Names) -> Result<(), XmlError> {
    for c in &list.children {
        if c.epcis("extension") {
            // EPCIS 1.x put TransformationEvent (and 1.2's association
            // events) one level down, in the event list's extension.
            event_list(c, out, names)?;
        } else if c.ns.is_none() {
            let mut m = Map::new();
            m.insert("type".into(), Value::String(c.local.clone()));
            for a in &c.attrs {
                if a.ns.as_deref() == Some(XSI_NS) {
                    continue;
                }
                let k = names.attr_key(a);
                let v = ext_leaf(&k, &a.value);
                m.insert(k, v);
            }
            event_fields(c, &mut m, names, &c.local)?;
            out.push(Value::Object(m));
        } else {
            return Err(XmlError::Schema(format!(
                "the event list holds <{}> ({}), which is no EPCIS event",
                qname(c.prefix.as_deref(), &c.local),
                c.ns.as_deref().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

fn texts(el: &Elem, child: &str) -> Value {
    Value::Array(
        el.children
            .iter()
            .filter(|c| c.epcis(child))
            .map(|c| Value::String(c.trimmed()))
            .collect(),
    )
}

/// The child elements of an element the binding knows, with the
/// unknown ones (and `extension` wrappers' contents) kept as keys.
fn with_rest(el: &Elem, m: &mut Map<String, Value>, names: &mut Names, known: &[&str]) {
    for c in &el.children {
        if c.ns.is_none() && known.contains(&c.local.as_str()) {
            continue;
        }
        if c.epcis("extension") {
            with_rest(c, m, names, known);
            continue;
        }
        let k = names.elem_key(c);
        let v = generic(c, &k, names);
        push(m, k, v);
    }
}

fn quantity_list(el: &Elem, names: &mut Names) -> Value {
    let mut out = Vec::new();
    for q in &el.children {
        if !q.epcis("quantityElement") {
            let k = names.elem_key(q);
            let mut m = Map::new();
            let v = generic(q, &k, names);
            m.insert(k, v);
            out.push(Value::Object(m));
            continue;
        }
        let mut m = Map::new();
        for c in &q.children {
            match (c.ns.is_none(), c.local.as_str()) {
                (true, "epcClass") | (true, "uom") => {
                    m.insert(c.local.clone(), Value::String(c.trimmed()));
                }
                (true, "quantity") if c.nil() => {}
                (true, "quantity") => {
                    let v =
                        number(&c.text).map_or_else(|| Value::String(c.trimmed()), Value::Number);
                    m.insert("quantity".into(), v);
                }
                _ => {
                    let k = names.elem_key(c);
                    let v = generic(c, &k, names);
                    push(&mut m, k, v);
                }
            }
        }
        out.push(Value::Object(m));
    }
    Value::Array(out)
}

fn sensor_elements(el: &Elem, names: &mut Names) -> Value {
    let mut out = Vec::new();
    for s in &el.children {
        if !s.epcis("sensorElement") {
            continue; // the list's own `extension` holds only future EPCIS elements
        }
        let mut m = Map::new();
        let mut reports = Vec::new();
        for c in &s.children {
            if c.epcis("sensorMetadata") || c.epcis("sensorReport") {
                let mut o = Map::new();
                for a in &c.attrs {
                    let k = names.attr_key(a);
                    let v = match k.as_str() {
                        "type" | "exception" | "component" => {
                            Value::String(compact(a.value.trim(), GS1))
                        }
                        "booleanValue" => match a.value.trim() {
                            "true" | "1" => Value::Bool(true),
                            "false" | "0" => Value::Bool(false),
                            other => Value::String(other.to_owned()),
                        },
                        k if SENSOR_NUMBERS.contains(&k) => number(&a.value).map_or_else(
                            || Value::String(a.value.trim().to_owned()),
                            Value::Number,
                        ),
                        _ => ext_leaf(&k, &a.value),
                    };
                    o.insert(k, v);
                }
                if !c.text.trim().is_empty() {
                    o.insert("@value".into(), Value::String(c.text.clone()));
                }
                if c.local == "sensorReport" {
                    reports.push(Value::Object(o));
                } else {
                    m.insert("sensorMetadata".into(), Value::Object(o));
                }
            }
        }
        m.insert("sensorReport".into(), Value::Array(reports));
        with_rest(s, &mut m, names, &["sensorMetadata", "sensorReport"]);
        out.push(Value::Object(m));
    }
    Value::Array(out)
}

fn event_fields(
    el: &Elem,
    m: &mut Map<String, Value>,
    names: &mut Names,
    event: &str,
) -> Result<(), XmlError> {
    for c in &el.children {
        if c.ns.is_some() {
            let k = names.elem_key(c);
            let v = generic(c, &k, names);
            push(m, k, v);
            continue;
        }
        let name = c.local.as_str();
        let v = match name {
            // 1.x wrappers: their contents belong to the event.
            "extension" | "baseExtension" => {
                event_fields(c, m, names, event)?;
                continue;
            }
            "eventTime"
            | "recordTime"
            | "eventTimeZoneOffset"
            | "eventID"
            | "certificationInfo"
            | "action"
            | "parentID"
            | "transformationID" => Value::String(c.trimmed()),
            "bizStep" => Value::String(compact(c.text.trim(), BIZSTEP)),
            "disposition" => Value::String(compact(c.text.trim(), DISP)),
            "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => texts(c, "epc"),
            "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
                quantity_list(c, names)
            }
            "readPoint" | "bizLocation" => {
                let mut o = Map::new();
                if let Some(id) = c.children.iter().find(|i| i.epcis("id")) {
                    o.insert("id".into(), Value::String(id.trimmed()));
                }
                with_rest(c, &mut o, names, &["id"]);
                Value::Object(o)
            }
            "bizTransactionList" => Value::Array(
                c.children
                    .iter()
                    .map(|t| {
                        let mut o = Map::new();
                        if let Some(ty) = t.attr("type") {
                            o.insert("type".into(), Value::String(compact(ty.trim(), BTT)));
                        }
                        o.insert("bizTransaction".into(), Value::String(t.trimmed()));
                        Value::Object(o)
                    })
                    .collect(),
            ),
            "sourceList" | "destinationList" => {
                let item = if name == "sourceList" {
                    "source"
                } else {
                    "destination"
                };
                Value::Array(
                    c.children
                        .iter()
                        .map(|t| {
                            let mut o = Map::new();
                            if let Some(ty) = t.attr("type") {
                                o.insert("type".into(), Value::String(compact(ty.trim(), SDT)));
                            }
                            o.insert(item.into(), Value::String(t.trimmed()));
                            Value::Object(o)
                        })
                        .collect(),
                )
            }
            "sensorElementList" => sensor_elements(c, names),
            "persistentDisposition" => {
                let mut o = Map::new();
                for which in ["set", "unset"] {
                    let list: Vec<Value> = c
                        .children
                        .iter()
                        .filter(|d| d.epcis(which))
                        .map(|d| Value::String(compact(d.text.trim(), DISP)))
                        .collect();
                    if !list.is_empty() {
                        o.insert(which.into(), Value::Array(list));
                    }
                }
                with_rest(c, &mut o, names, &["set", "unset"]);
                Value::Object(o)
            }
            "ilmd" => {
                let mut o = Map::new();
                with_rest(c, &mut o, names, &[]);
                Value::Object(o)
            }
            "errorDeclaration" => {
                let mut o = Map::new();
                for d in &c.children {
                    match (d.ns.is_none(), d.local.as_str()) {
                        (true, "declarationTime") => {
                            o.insert("declarationTime".into(), Value::String(d.trimmed()));
                        }
                        (true, "reason") => {
                            o.insert("reason".into(), Value::String(compact(d.text.trim(), ER)));
                        }
                        (true, "correctiveEventIDs") => {
                            o.insert("correctiveEventIDs".into(), texts(d, "correctiveEventID"));
                        }
                        _ => {}
                    }
                }
                with_rest(
                    c,
                    &mut o,
                    names,
                    &["declarationTime", "reason", "correctiveEventIDs"],
                );
                Value::Object(o)
            }
            // An element this binding does not know: kept under its own
            // name, so import refuses the event for it.
            _ => generic(c, name, names),
        };
        put_once(m, name, v, event)?;
    }
    Ok(())
}

// ---------------------------------------------------------------- writing

/// Element order of each event type in `EPCglobal-epcis-2_0.xsd`, after
/// the common `eventTime`, `recordTime`, `eventTimeZoneOffset`, `eventID`,
/// `errorDeclaration`, `certificationInfo`.
fn order(kind: &str) -> Option<&'static [&'static str]> {
    Some(match kind {
        "ObjectEvent" => &[
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd",
        ],
        "AggregationEvent" => &[
            "parentID",
            "childEPCs",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "childQuantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
        ],
        "TransactionEvent" => &[
            "bizTransactionList",
            "parentID",
            "epcList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "quantityList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
        ],
        "TransformationEvent" => &[
            "inputEPCList",
            "inputQuantityList",
            "outputEPCList",
            "outputQuantityList",
            "transformationID",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
            "ilmd",
        ],
        "AssociationEvent" => &[
            "parentID",
            "childEPCs",
            "childQuantityList",
            "action",
            "bizStep",
            "disposition",
            "readPoint",
            "bizLocation",
            "bizTransactionList",
            "sourceList",
            "destinationList",
            "sensorElementList",
            "persistentDisposition",
        ],
        _ => return None,
    })
}

const COMMON: [&str; 6] = [
    "eventTime",
    "recordTime",
    "eventTimeZoneOffset",
    "eventID",
    "errorDeclaration",
    "certificationInfo",
];

fn unwritable(m: impl Into<String>) -> XmlError {
    XmlError::Unwritable(m.into())
}

/// Escapes text or an attribute value; characters XML 1.0 cannot carry
/// are an error, and CR, LF and TAB are written as references where a
/// reader would otherwise normalise them away.
fn esc(s: &str, attribute: bool) -> Result<String, XmlError> {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                return Err(unwritable(format!(
                    "the text {s:?} holds U+{:04X}, which XML 1.0 cannot carry",
                    u32::from(c)
                )))
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

struct Writer {
    out: String,
    depth: usize,
    /// Declared extension prefixes → namespace URIs.
    ns: BTreeMap<String, String>,
}

impl Writer {
    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn tag(&mut self, name: &str, attrs: &[(String, String)]) -> Result<(), XmlError> {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            self.out.push_str(&esc(v, true)?);
            self.out.push('"');
        }
        Ok(())
    }

    fn open(&mut self, name: &str, attrs: &[(String, String)]) -> Result<(), XmlError> {
        self.indent();
        self.tag(name, attrs)?;
        self.out.push_str(">\n");
        self.depth += 1;
        Ok(())
    }

    fn close(&mut self, name: &str) {
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
    }

    fn leaf(&mut self, name: &str, attrs: &[(String, String)], text: &str) -> Result<(), XmlError> {
        self.indent();
        self.tag(name, attrs)?;
        self.out.push('>');
        self.out.push_str(&esc(text, false)?);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        Ok(())
    }

    /// A `prefix:local` key as a qualified name whose prefix is declared.
    fn qualified(&self, key: &str) -> Result<(), XmlError> {
        let ok = key
            .split_once(':')
            .is_some_and(|(p, l)| self.ns.contains_key(p) && ncname(p) && ncname(l));
        if ok {
            Ok(())
        } else {
            Err(unwritable(format!(
                "the key {key:?} is neither an EPCIS field nor an extension in a namespace the @context declares"
            )))
        }
    }

    fn extension(&mut self, key: &str, v: &Value) -> Result<(), XmlError> {
        self.qualified(key)?;
        match v {
            Value::Array(items) => {
                for item in items {
                    self.extension(key, item)?;
                }
                Ok(())
            }
            Value::Object(o) if key == "terroir:products" => {
                self.open(key, &[])?;
                for (class, description) in o {
                    let d = scalar(description).ok_or_else(|| {
                        unwritable(format!("terroir:products[{class:?}] is not text"))
                    })?;
                    self.leaf("terroir:product", &[("epcClass".into(), class.clone())], &d)?;
                }
                self.close(key);
                Ok(())
            }
            Value::Object(o) => {
                self.open(key, &[])?;
                for (k, v) in o {
                    self.extension(k, v)?;
                }
                self.close(key);
                Ok(())
            }
            other => {
                let text = scalar(other).ok_or_else(|| unwritable(format!("{key} is null")))?;
                self.leaf(key, &[], &text)
            }
        }
    }
}

fn ncname(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn text_of(v: &Value, what: &str) -> Result<String, XmlError> {
    scalar(v).ok_or_else(|| unwritable(format!("{what} is not text")))
}

fn array_of<'a>(v: &'a Value, what: &str) -> Result<&'a Vec<Value>, XmlError> {
    v.as_array()
        .ok_or_else(|| unwritable(format!("{what} is not a list")))
}

/// Writes the JSON-LD document [`crate::export::export`] produces (or any
/// EPCIS 2.0 JSON document of the same shape) as EPCIS 2.0 XML that
/// validates against `EPCglobal-epcis-2_0.xsd`.
pub fn from_json(doc: &Value) -> Result<String, XmlError> {
    let obj = doc
        .as_object()
        .ok_or_else(|| unwritable("the document is not a JSON object"))?;
    match obj.get("type").and_then(Value::as_str) {
        Some("EPCISDocument") => {}
        other => {
            return Err(unwritable(match other {
                Some(t) => format!("its type is {t:?}; the XML writer takes an EPCISDocument"),
                None => "it has no type; the XML writer takes an EPCISDocument".to_owned(),
            }))
        }
    }
    let mut ns = BTreeMap::new();
    // The document's namespaces, then those an event declares in its own
    // @context (an imported record keeps its extensions' that way): XML
    // declares them all on the root, so one prefix names one namespace.
    let events_contexts = obj
        .get("epcisBody")
        .and_then(|b| b.get("eventList"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|e| e.get("@context"));
    for c in obj.get("@context").into_iter().chain(events_contexts) {
        let objects: Vec<&Value> = match c {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        };
        for (p, u) in objects.into_iter().filter_map(Value::as_object).flatten() {
            if let (Some(u), true) = (u.as_str(), ncname(p)) {
                if p != "epcis" && p != "xsi" && p != "xml" && !p.starts_with("xml") {
                    match ns.get(p) {
                        Some(bound) if bound != u => {
                            return Err(unwritable(format!(
                                "the prefix {p:?} names two namespaces ({bound} and {u})"
                            )))
                        }
                        _ => {
                            ns.insert(p.clone(), u.to_owned());
                        }
                    }
                }
            }
        }
    }
    // The EPCIS context's own master-data prefix needs no declaration
    // in JSON-LD; XML declares it.
    ns.entry("cbvmda".to_owned())
        .or_insert_with(|| CBVMDA_NS.to_owned());
    let mut w = Writer {
        out: String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"),
        depth: 0,
        ns,
    };
    let mut attrs = vec![("xmlns:epcis".to_owned(), EPCIS_NS.to_owned())];
    for (p, u) in &w.ns {
        attrs.push((format!("xmlns:{p}"), u.clone()));
    }
    for field in ["schemaVersion", "creationDate"] {
        let v = obj
            .get(field)
            .ok_or_else(|| unwritable(format!("the required field {field:?} is missing")))?;
        attrs.push((field.to_owned(), text_of(v, field)?));
    }
    for (k, v) in obj {
        match k.as_str() {
            "@context" | "type" | "schemaVersion" | "creationDate" | "epcisBody" => {}
            "id" | "instanceIdentifier" | "sender" | "receiver" => {
                attrs.push((k.clone(), text_of(v, k)?));
            }
            other => {
                return Err(unwritable(format!(
                    "the document field {other:?} has no place in the XML writer's output"
                )))
            }
        }
    }
    w.open("epcis:EPCISDocument", &attrs)?;
    w.open("EPCISBody", &[])?;
    let events = obj
        .get("epcisBody")
        .and_then(|b| b.get("eventList"))
        .ok_or_else(|| unwritable("epcisBody has no eventList"))?;
    let events = array_of(events, "eventList")?;
    if events.is_empty() {
        w.indent();
        w.out.push_str("<EventList/>\n");
    } else {
        w.open("EventList", &[])?;
        for (i, e) in events.iter().enumerate() {
            write_event(&mut w, e).map_err(|err| match err {
                XmlError::Unwritable(m) => unwritable(format!("event {i}: {m}")),
                other => other,
            })?;
        }
        w.close("EventList");
    }
    w.close("EPCISBody");
    w.close("epcis:EPCISDocument");
    Ok(w.out)
}

fn write_event(w: &mut Writer, e: &Value) -> Result<(), XmlError> {
    let e = e
        .as_object()
        .ok_or_else(|| unwritable("it is not a JSON object"))?;
    let kind = e
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| unwritable("it has no type"))?;
    let fields =
        order(kind).ok_or_else(|| unwritable(format!("{kind} is no EPCIS 2.0 event type")))?;
    for k in e.keys() {
        let known = k == "type"
            || k == "@context"
            || COMMON.contains(&k.as_str())
            || fields.contains(&k.as_str());
        if !known && !k.contains(':') {
            return Err(unwritable(format!(
                "{k:?} is no field of an EPCIS 2.0 {kind}"
            )));
        }
    }
    w.open(kind, &[])?;
    for name in COMMON.iter().chain(fields) {
        if let Some(v) = e.get(*name) {
            write_field(w, name, v)?;
        }
    }
    for (k, v) in e {
        if k.contains(':') && k != "@context" {
            w.extension(k, v)?;
        }
    }
    w.close(kind);
    Ok(())
}

fn write_field(w: &mut Writer, name: &str, v: &Value) -> Result<(), XmlError> {
    match name {
        "eventTime"
        | "recordTime"
        | "eventTimeZoneOffset"
        | "eventID"
        | "action"
        | "parentID"
        | "transformationID" => w.leaf(name, &[], &text_of(v, name)?),
        "certificationInfo" => {
            let text = match v {
                Value::Array(a) if a.len() == 1 => text_of(&a[0], name)?,
                Value::Array(a) => {
                    return Err(unwritable(format!(
                        "{} certificationInfo values; the XML binding carries one",
                        a.len()
                    )))
                }
                other => text_of(other, name)?,
            };
            w.leaf(name, &[], &text)
        }
        "bizStep" => w.leaf(name, &[], &expand(&text_of(v, name)?, BIZSTEP)),
        "disposition" => w.leaf(name, &[], &expand(&text_of(v, name)?, DISP)),
        "epcList" | "childEPCs" | "inputEPCList" | "outputEPCList" => {
            let list = array_of(v, name)?;
            if list.is_empty() {
                w.indent();
                w.out.push_str(&format!("<{name}/>\n"));
                return Ok(());
            }
            w.open(name, &[])?;
            for epc in list {
                w.leaf("epc", &[], &text_of(epc, "an epc")?)?;
            }
            w.close(name);
            Ok(())
        }
        "quantityList" | "childQuantityList" | "inputQuantityList" | "outputQuantityList" => {
            let list = array_of(v, name)?;
            if list.is_empty() {
                w.indent();
                w.out.push_str(&format!("<{name}/>\n"));
                return Ok(());
            }
            w.open(name, &[])?;
            for q in list {
                let q = q
                    .as_object()
                    .ok_or_else(|| unwritable(format!("a {name} element is not an object")))?;
                if let Some(k) = q
                    .keys()
                    .find(|k| !matches!(k.as_str(), "epcClass" | "quantity" | "uom"))
                {
                    return Err(unwritable(format!("{k:?} on a quantity element")));
                }
                w.open("quantityElement", &[])?;
                let class = q
                    .get("epcClass")
                    .ok_or_else(|| unwritable("a quantity element has no epcClass"))?;
                w.leaf("epcClass", &[], &text_of(class, "epcClass")?)?;
                if let Some(n) = q.get("quantity") {
                    let n = n
                        .as_number()
                        .ok_or_else(|| unwritable("a quantity is not a number"))?
                        .to_string();
                    if n.contains(['e', 'E']) {
                        return Err(unwritable(format!("the quantity {n} is no xsd:decimal")));
                    }
                    w.leaf("quantity", &[], &n)?;
                    if let Some(u) = q.get("uom") {
                        w.leaf("uom", &[], &text_of(u, "uom")?)?;
                    }
                } else if q.contains_key("uom") {
                    return Err(unwritable("a quantity element has a uom but no quantity"));
                }
                w.close("quantityElement");
            }
            w.close(name);
            Ok(())
        }
        "readPoint" | "bizLocation" => {
            let o = v
                .as_object()
                .ok_or_else(|| unwritable(format!("{name} is not an object")))?;
            w.open(name, &[])?;
            let id = o
                .get("id")
                .ok_or_else(|| unwritable(format!("{name} has no id")))?;
            w.leaf("id", &[], &text_of(id, "id")?)?;
            for (k, v) in o.iter().filter(|(k, _)| k.as_str() != "id") {
                w.extension(k, v)?;
            }
            w.close(name);
            Ok(())
        }
        "bizTransactionList" => {
            w.open(name, &[])?;
            for t in array_of(v, name)? {
                let mut attrs = Vec::new();
                if let Some(ty) = t.get("type") {
                    attrs.push(("type".to_owned(), expand(&text_of(ty, "type")?, BTT)));
                }
                let id = t
                    .get("bizTransaction")
                    .ok_or_else(|| unwritable("a business transaction has no bizTransaction"))?;
                w.leaf("bizTransaction", &attrs, &text_of(id, "bizTransaction")?)?;
            }
            w.close(name);
            Ok(())
        }
        "sourceList" | "destinationList" => {
            let item = if name == "sourceList" {
                "source"
            } else {
                "destination"
            };
            w.open(name, &[])?;
            for t in array_of(v, name)? {
                let ty = t.get("type").ok_or_else(|| {
                    unwritable(format!("a {item} has no type, which XML requires"))
                })?;
                let id = t
                    .get(item)
                    .ok_or_else(|| unwritable(format!("a {item} entry has no {item}")))?;
                w.leaf(
                    item,
                    &[("type".to_owned(), expand(&text_of(ty, "type")?, SDT))],
                    &text_of(id, item)?,
                )?;
            }
            w.close(name);
            Ok(())
        }
        "sensorElementList" => {
            w.open(name, &[])?;
            for el in array_of(v, name)? {
                let el = el
                    .as_object()
                    .ok_or_else(|| unwritable("a sensor element is not an object"))?;
                w.open("sensorElement", &[])?;
                if let Some(meta) = el.get("sensorMetadata") {
                    let attrs = sensor_attrs(w, meta)?;
                    w.indent();
                    w.tag("sensorMetadata", &attrs)?;
                    w.out.push_str("/>\n");
                }
                for rep in el
                    .get("sensorReport")
                    .map(|r| array_of(r, "sensorReport"))
                    .transpose()?
                    .into_iter()
                    .flatten()
                {
                    let attrs = sensor_attrs(w, rep)?;
                    w.indent();
                    w.tag("sensorReport", &attrs)?;
                    w.out.push_str("/>\n");
                }
                for (k, v) in el {
                    if k != "sensorMetadata" && k != "sensorReport" {
                        w.extension(k, v)?;
                    }
                }
                w.close("sensorElement");
            }
            w.close(name);
            Ok(())
        }
        "persistentDisposition" => {
            let o = v
                .as_object()
                .ok_or_else(|| unwritable("persistentDisposition is not an object"))?;
            w.open(name, &[])?;
            for which in ["unset", "set"] {
                for d in o
                    .get(which)
                    .map(|l| array_of(l, which))
                    .transpose()?
                    .into_iter()
                    .flatten()
                {
                    w.leaf(which, &[], &expand(&text_of(d, which)?, DISP))?;
                }
            }
            w.close(name);
            Ok(())
        }
        "ilmd" => {
            let o = v
                .as_object()
                .ok_or_else(|| unwritable("ilmd is not an object"))?;
            w.open(name, &[])?;
            for (k, v) in o {
                w.extension(k, v)?;
            }
            w.close(name);
            Ok(())
        }
        "errorDeclaration" => {
            let o = v
                .as_object()
                .ok_or_else(|| unwritable("errorDeclaration is not an object"))?;
            w.open(name, &[])?;
            if let Some(t) = o.get("declarationTime") {
                w.leaf("declarationTime", &[], &text_of(t, "declarationTime")?)?;
            }
            if let Some(r) = o.get("reason") {
                w.leaf("reason", &[], &expand(&text_of(r, "reason")?, ER))?;
            }
            if let Some(ids) = o.get("correctiveEventIDs") {
                w.open("correctiveEventIDs", &[])?;
                for id in array_of(ids, "correctiveEventIDs")? {
                    w.leaf("correctiveEventID", &[], &text_of(id, "correctiveEventID")?)?;
                }
                w.close("correctiveEventIDs");
            }
            for (k, v) in o {
                if !matches!(
                    k.as_str(),
                    "declarationTime" | "reason" | "correctiveEventIDs"
                ) {
                    w.extension(k, v)?;
                }
            }
            w.close(name);
            Ok(())
        }
        other => Err(unwritable(format!("no writer for {other}"))),
    }
}

fn sensor_attrs(w: &Writer, v: &Value) -> Result<Vec<(String, String)>, XmlError> {
    let o = v
        .as_object()
        .ok_or_else(|| unwritable("a sensor report or metadata is not an object"))?;
    let mut out = Vec::new();
    for (k, v) in o {
        if k.contains(':') {
            w.qualified(k)?;
        }
        let text = text_of(v, k)?;
        let text = match k.as_str() {
            "type" | "exception" | "component" => expand(&text, GS1),
            _ => text,
        };
        out.push((k.clone(), text));
    }
    // The schema's own attributes first, in its order; extensions last.
    out.sort_by_key(|(k, _)| {
        SENSOR_ATTRIBUTES
            .iter()
            .position(|a| a == k)
            .unwrap_or(if k.contains(':') {
                usize::MAX
            } else {
                usize::MAX - 1
            })
    });
    Ok(out)
}

/// The attributes of `sensorReport` and `sensorMetadata`, in the XSD's order.
const SENSOR_ATTRIBUTES: [&str; 26] = [
    "type",
    "value",
    "component",
    "stringValue",
    "booleanValue",
    "hexBinaryValue",
    "uriValue",
    "uom",
    "minValue",
    "maxValue",
    "sDev",
    "chemicalSubstance",
    "microorganism",
    "deviceID",
    "deviceMetadata",
    "rawData",
    "time",
    "startTime",
    "endTime",
    "meanValue",
    "percRank",
    "percValue",
    "bizRules",
    "dataProcessingMethod",
    "coordinateReferenceSystem",
    "exception",
];
