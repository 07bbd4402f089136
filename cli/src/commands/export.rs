//! `terroir export epcis|fsma`: the ledger as a GS1 EPCIS 2.0 document or
//! the FDA FSMA 204 sortable spreadsheet (docs/standards.md, docs/fsma.md).
//!
//! One lot's lineage exports from the local ledger, a replica, or with
//! `--node` from the node's bundle of the lot (verified against the
//! network first); a whole ledger from a local ledger or replica only.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{anyhow, bail, Context, Result};
use ledger_core::event::Product;
use ledger_core::graph::{Graph, MemGraph};
use ledger_core::{bundle, query, Hash, LotId, PublicKey, SignedRecord};
use serde_json::json;
use terroir_standards::{export, fsma};

use crate::book::Book;
use crate::ledger_dir;
use crate::lots;
use crate::output::say;
use crate::parse::{self, Timestamp};
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Write an EPCIS 2.0 JSON-LD document of one lot's lineage or of everything.
    Epcis {
        /// The lot (CODE or CODE@SOURCE); its lineage is exported.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        lot: Option<String>,
        /// Export every record of the ledger.
        #[arg(long)]
        all: bool,
        /// Where to write the document: FILE.jsonld (or .json) for the JSON-LD
        /// binding, FILE.xml for the XML binding.
        #[arg(long, short, value_name = "FILE.jsonld|FILE.xml")]
        out: PathBuf,
    },
    /// Write the FSMA 204 sortable spreadsheet (CSV, one row per critical tracking event).
    Fsma {
        /// The lot (CODE or CODE@SOURCE); its lineage is exported.
        lot: Option<String>,
        /// Only events at or after this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_parser = parse::timestamp)]
        from: Option<Timestamp>,
        /// Only events before this time (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_parser = parse::timestamp)]
        to: Option<Timestamp>,
        /// Where to write the spreadsheet.
        #[arg(long, short, value_name = "FILE.csv")]
        out: PathBuf,
    },
}

/// The lot a command names, if any.
fn lot_of(c: &Command) -> Option<&str> {
    match c {
        Command::Epcis { lot, .. } | Command::Fsma { lot, .. } => lot.as_deref(),
    }
}

/// `hashes`' records in (time, author, seq) order.
fn records_of(graph: &impl Graph, hashes: BTreeSet<Hash>) -> Result<Vec<(Hash, SignedRecord)>> {
    let mut out = Vec::with_capacity(hashes.len());
    for h in hashes {
        if let Some(r) = graph.record(&h)? {
            out.push((h, r));
        }
    }
    out.sort_by_key(|(h, r)| (r.record.time, r.record.author, r.record.seq, *h));
    Ok(out)
}

fn product(graph: &impl Graph, lot: &LotId) -> Option<Product> {
    for h in graph.lot_records(lot).ok()? {
        let r = graph.record(&h).ok()??;
        for (c, p, _) in r.record.event.created_lots() {
            if c == lot.code {
                return Some(p.clone());
            }
        }
    }
    None
}

struct Lookup<'a, G> {
    graph: &'a G,
    book: &'a Book,
}

impl<G: Graph> fsma::Lookup for Lookup<'_, G> {
    fn product(&self, lot: &LotId) -> Option<Product> {
        product(self.graph, lot)
    }
    fn name(&self, key: &PublicKey) -> Option<String> {
        self.book.get(key).map(|p| p.name.clone())
    }
    fn record(&self, hash: &Hash) -> Option<SignedRecord> {
        self.graph.record(hash).ok().flatten()
    }
    fn identity(&self, key: &PublicKey) -> PublicKey {
        self.graph
            .key_info(key)
            .ok()
            .flatten()
            .map_or(*key, |k| k.identity)
    }
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    if s.node.is_some() {
        return remote(s, c);
    }
    let ledger = ledger_dir::open(&s.ledger)?;
    let book = Book::load(&ledger)?;
    let hashes = match lot_of(&c) {
        Some(spec) => {
            let lot = lots::resolve(&ledger, &book, spec)?;
            query::lineage(&ledger, &lot)?
        }
        None => {
            let mut all = BTreeSet::new();
            ledger.for_each_record(|h, _| {
                all.insert(h);
                true
            })?;
            all
        }
    };
    write(s, c, &ledger, &book, hashes)
}

/// `terroir --node URL export … LOT`: the lot's lineage from the node's
/// bundle, verified against the network before anything is written. A
/// whole ledger is not exported through a node (that would be its whole
/// log).
fn remote(s: &Settings, c: Command) -> Result<()> {
    let Some(spec) = lot_of(&c) else {
        bail!(
            "`terroir export` without a lot exports a whole ledger, which works on a local \
             ledger or replica only; through --node, export one lot: `export epcis|fsma LOT -o FILE`"
        );
    };
    let node = s.backend()?;
    let book = Book::load(node.as_ref())?;
    let lot = lots::resolve(node.as_ref(), &book, spec)?;
    let bytes = node
        .bundle(&lot)?
        .ok_or_else(|| anyhow!("{} has no record of lot {lot}", node.place()))?;
    let b = bundle::Bundle::decode(&bytes)
        .with_context(|| format!("the node's bundle of lot {lot}"))?;
    let graph = MemGraph::new(&b.genesis, b.records);
    let hashes = query::lineage(&graph, &lot)?;
    write(s, c, &graph, &book, hashes)
}

/// Writes the document of `hashes`' records from `graph`.
fn write(
    s: &Settings,
    c: Command,
    graph: &impl Graph,
    book: &Book,
    hashes: BTreeSet<Hash>,
) -> Result<()> {
    let (out, what, count, bytes) = match c {
        Command::Epcis { out, .. } => {
            let records = records_of(graph, hashes)?;
            let items: Vec<export::Item<'_>> = records
                .iter()
                .map(|(h, r)| export::Item {
                    hash: *h,
                    record: r,
                })
                .collect();
            let product = |l: &LotId| product(graph, l);
            let find = |h: &Hash| graph.record(h).ok().flatten();
            let lookup = export::Lookup {
                product: &product,
                record: &find,
            };
            let doc = export::export(&items, parse::now_ms(), &lookup);
            // The XML binding when the file is named .xml, else JSON-LD.
            let xml = out
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| e.eq_ignore_ascii_case("xml"));
            let text = if xml {
                terroir_standards::xml::from_json(&doc.document)
                    .context("cannot write the EPCIS XML document")?
            } else {
                serde_json::to_string_pretty(&doc.document)? + "\n"
            };
            (out, "EPCIS events", doc.events, text.into_bytes())
        }
        Command::Fsma { from, to, out, .. } => {
            if let (Some(f), Some(t)) = (from, to) {
                if f.0 >= t.0 {
                    bail!("--from must be before --to");
                }
            }
            let records: Vec<_> = records_of(graph, hashes)?
                .into_iter()
                .filter(|(_, r)| from.is_none_or(|f| r.record.time >= f.0))
                .filter(|(_, r)| to.is_none_or(|t| r.record.time < t.0))
                .collect();
            let lookup = Lookup { graph, book };
            let (text, rows) = fsma::spreadsheet(&records, &lookup)?;
            (out, "critical tracking events", rows, text.into_bytes())
        }
    };
    std::fs::write(&out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    s.out
        .json(&json!({ "file": out, "count": count, "bytes": bytes.len() }))?;
    s.out.quiet(out.display());
    if s.out.human() {
        say!(
            "wrote {count} {what} ({} bytes) to {}",
            bytes.len(),
            out.display()
        );
    }
    Ok(())
}
