//! The FSMA 204 electronic sortable spreadsheet: one CSV row per critical
//! tracking event with its key data elements (see `docs/fsma.md` for the
//! columns and the 21 CFR 1 Subpart S section each answers).

use ledger_core::event::{Location, Product, RefDoc};
use ledger_core::{Event, Hash, LotId, PublicKey, SignedRecord};

use crate::vocab;

/// The columns, in order.
pub const COLUMNS: [&str; 18] = [
    "event_time",
    "cte",
    "traceability_lot_code",
    "lot_code_source",
    "lot_code_source_key",
    "product_description",
    "gtin",
    "quantity",
    "unit",
    "location_description",
    "location_gln",
    "immediate_previous_source",
    "next_recipient",
    "ship_to_location",
    "reference_document_type",
    "reference_document_number",
    "input_lots",
    "record_hash",
];

/// What the spreadsheet needs to know beyond the records themselves.
pub trait Lookup {
    /// The product of a lot, if known.
    fn product(&self, lot: &LotId) -> Option<Product>;
    /// A participant's display name, if known.
    fn name(&self, key: &PublicKey) -> Option<String>;
    /// A record by hash, if known (the shipment a receive acknowledges).
    fn record(&self, hash: &Hash) -> Option<SignedRecord>;
    /// The identity a signing key signs for (itself if unknown).
    fn identity(&self, key: &PublicKey) -> PublicKey {
        *key
    }
}

/// Why the spreadsheet could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FsmaError {
    /// The CSV writer failed.
    #[error("cannot write the spreadsheet: {0}")]
    Csv(#[from] csv::Error),
    /// The output was not UTF-8 (cannot happen with UTF-8 input).
    #[error("the spreadsheet is not UTF-8")]
    Utf8,
}

/// The FSMA critical tracking event of a record, if it is one.
pub fn cte(event: &Event) -> Option<&'static str> {
    Some(match event {
        Event::Harvest { .. } => "harvesting",
        Event::Transform { process, .. } => {
            let p = process.to_lowercase();
            if p.contains("cool") {
                "cooling"
            } else if p.contains("pack") {
                "initial packing"
            } else {
                "transformation"
            }
        }
        Event::Ship { .. } => "shipping",
        Event::Receive { .. } => "receiving",
        _ => return None,
    })
}

#[derive(Default)]
struct Row {
    cells: Vec<String>,
}

impl Row {
    fn push(&mut self, s: impl Into<String>) {
        self.cells.push(s.into());
    }
}

fn party(l: &dyn Lookup, key: &PublicKey) -> String {
    let id = l.identity(key);
    match l.name(&id) {
        Some(n) => format!("{n} ({})", id.short()),
        None => id.to_hex(),
    }
}

/// Writes the spreadsheet for `records` (non-CTE records are left out),
/// returning the CSV text and the number of rows.
pub fn spreadsheet(
    records: &[(Hash, SignedRecord)],
    lookup: &dyn Lookup,
) -> Result<(String, usize), FsmaError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS)?;
    let mut rows = 0;
    for (hash, signed) in records {
        let r = &signed.record;
        let Some(kind) = cte(&r.event) else { continue };
        let author = lookup.identity(&r.author);
        // (lot, product, quantity, location, previous, next, ship-to, ref, inputs)
        let mut lot: Option<LotId> = None;
        let mut product: Option<Product> = None;
        let mut qty = None;
        let mut location: Option<&Location> = None;
        let (mut prev, mut next, mut ship_to, mut inputs) =
            (String::new(), String::new(), String::new(), String::new());
        let mut reference: Option<&RefDoc> = None;
        match &r.event {
            Event::Harvest {
                lot_code,
                product: p,
                quantity,
                location: loc,
                reference: rf,
            } => {
                lot = Some(LotId {
                    source: author,
                    code: lot_code.clone(),
                });
                product = Some(p.clone());
                qty = Some(*quantity);
                location = Some(loc);
                reference = rf.as_ref();
            }
            Event::Transform {
                inputs: ins,
                outputs,
                location: loc,
                reference: rf,
                ..
            } => {
                let out: Vec<String> = outputs.iter().map(|o| o.code.clone()).collect();
                lot = Some(LotId {
                    source: author,
                    code: out.join(" | "),
                });
                product = outputs.first().map(|o| o.product.clone());
                let total: u64 = outputs.iter().map(|o| o.quantity.amount).sum();
                qty = outputs
                    .first()
                    .map(|o| ledger_core::Quantity::new(total, o.quantity.unit));
                location = Some(loc);
                reference = rf.as_ref();
                inputs = ins
                    .iter()
                    .map(|i| {
                        format!(
                            "{} ({} {})",
                            i.lot.code,
                            i.quantity.amount,
                            i.quantity.unit.uncefact()
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" | ");
                prev = ins
                    .iter()
                    .map(|i| party(lookup, &i.lot.source))
                    .collect::<Vec<_>>()
                    .join(" | ");
            }
            Event::Ship {
                lot: l,
                quantity,
                to,
                from,
                destination,
                reference: rf,
            } => {
                product = lookup.product(l);
                lot = Some(l.clone());
                qty = Some(*quantity);
                location = Some(from);
                next = party(lookup, to);
                ship_to = destination.gln.as_ref().map_or_else(
                    || destination.description.clone(),
                    |g| format!("{} (GLN {g})", destination.description),
                );
                reference = rf.as_ref();
            }
            Event::Receive {
                shipment,
                lot: l,
                quantity,
                location: loc,
                reference: rf,
            } => {
                product = lookup.product(l);
                lot = Some(l.clone());
                qty = Some(*quantity);
                location = Some(loc);
                prev = lookup
                    .record(shipment)
                    .map_or_else(|| shipment.to_hex(), |s| party(lookup, &s.record.author));
                reference = rf.as_ref();
            }
            _ => {}
        }
        let mut row = Row::default();
        row.push(vocab::rfc3339(r.time));
        row.push(kind);
        row.push(lot.as_ref().map(|l| l.code.clone()).unwrap_or_default());
        row.push(
            lot.as_ref()
                .map(|l| party(lookup, &l.source))
                .unwrap_or_default(),
        );
        row.push(lot.as_ref().map(|l| l.source.to_hex()).unwrap_or_default());
        row.push(
            product
                .as_ref()
                .map(|p| p.description.clone())
                .unwrap_or_default(),
        );
        row.push(product.and_then(|p| p.gtin).unwrap_or_default());
        row.push(qty.map(|q| q.amount.to_string()).unwrap_or_default());
        row.push(
            qty.map(|q| q.unit.uncefact().to_owned())
                .unwrap_or_default(),
        );
        row.push(location.map(|l| l.description.clone()).unwrap_or_default());
        row.push(location.and_then(|l| l.gln.clone()).unwrap_or_default());
        row.push(prev);
        row.push(next);
        row.push(ship_to);
        row.push(reference.map(|d| d.kind.clone()).unwrap_or_default());
        row.push(reference.map(|d| d.number.clone()).unwrap_or_default());
        row.push(inputs);
        row.push(hash.to_hex());
        w.write_record(&row.cells)?;
        rows += 1;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| FsmaError::Csv(e.into_error().into()))?;
    let text = String::from_utf8(bytes).map_err(|_| FsmaError::Utf8)?;
    Ok((text, rows))
}
