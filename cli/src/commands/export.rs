//! `terroir export epcis|fsma`: the ledger as a GS1 EPCIS 2.0 document or
//! the FDA FSMA 204 sortable spreadsheet (docs/standards.md, docs/fsma.md).

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use ledger_core::event::Product;
use ledger_core::graph::Graph;
use ledger_core::{query, Hash, LotId, PublicKey, SignedRecord};
use serde_json::json;
use terroir_standards::{export, fsma};

use crate::book::Book;
use crate::ledger_dir::{self, LocalLedger};
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
        /// Where to write the document.
        #[arg(long, short, value_name = "FILE.jsonld")]
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

/// The records to export in (time, author, seq) order.
fn select(
    ledger: &LocalLedger,
    book: &Book,
    lot: Option<&str>,
) -> Result<Vec<(Hash, SignedRecord)>> {
    let hashes: BTreeSet<Hash> = match lot {
        Some(spec) => {
            let lot = lots::resolve(ledger, book, spec)?;
            query::lineage(ledger, &lot)?
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
    let mut out = Vec::with_capacity(hashes.len());
    for h in hashes {
        if let Some(r) = ledger.record(&h)? {
            out.push((h, r));
        }
    }
    out.sort_by_key(|(h, r)| (r.record.time, r.record.author, r.record.seq, *h));
    Ok(out)
}

fn product(ledger: &LocalLedger, lot: &LotId) -> Option<Product> {
    for h in ledger.lot_records(lot).ok()? {
        let r = ledger.record(&h).ok()??;
        for (c, p, _) in r.record.event.created_lots() {
            if c == lot.code {
                return Some(p.clone());
            }
        }
    }
    None
}

struct Lookup<'a> {
    ledger: &'a LocalLedger,
    book: &'a Book,
}

impl fsma::Lookup for Lookup<'_> {
    fn product(&self, lot: &LotId) -> Option<Product> {
        product(self.ledger, lot)
    }
    fn name(&self, key: &PublicKey) -> Option<String> {
        self.book.get(key).map(|p| p.name.clone())
    }
    fn record(&self, hash: &Hash) -> Option<SignedRecord> {
        self.ledger.record(hash).ok().flatten()
    }
    fn identity(&self, key: &PublicKey) -> PublicKey {
        self.ledger
            .key_info(key)
            .ok()
            .flatten()
            .map_or(*key, |k| k.identity)
    }
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    let ledger = ledger_dir::open(&s.ledger)?;
    let book = Book::load(&ledger)?;
    let (out, what, count, bytes) = match c {
        Command::Epcis { lot, all: _, out } => {
            let records = select(&ledger, &book, lot.as_deref())?;
            let items: Vec<export::Item<'_>> = records
                .iter()
                .map(|(h, r)| export::Item {
                    hash: *h,
                    record: r,
                })
                .collect();
            let pf = |l: &LotId| product(&ledger, l);
            let doc = export::export(&items, parse::now_ms(), &pf);
            let text = serde_json::to_string_pretty(&doc.document)? + "\n";
            (out, "EPCIS events", doc.events, text.into_bytes())
        }
        Command::Fsma { lot, from, to, out } => {
            if let (Some(f), Some(t)) = (from, to) {
                if f.0 >= t.0 {
                    bail!("--from must be before --to");
                }
            }
            let records: Vec<_> = select(&ledger, &book, lot.as_deref())?
                .into_iter()
                .filter(|(_, r)| from.is_none_or(|f| r.record.time >= f.0))
                .filter(|(_, r)| to.is_none_or(|t| r.record.time < t.0))
                .collect();
            let lookup = Lookup {
                ledger: &ledger,
                book: &book,
            };
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
