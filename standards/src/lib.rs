//! # Terroir standards interop
//!
//! Maps Terroir records to and from the forms the food industry already
//! exchanges: GS1 EPCIS 2.0 JSON-LD documents (export and import) and the
//! US FDA FSMA 204 electronic sortable spreadsheet (export). The mappings
//! are pure functions over records and `serde_json` values; the one place
//! that touches a ledger, [`apply`], takes it as an argument and commits an
//! import as one atomic batch. `docs/standards.md` explains each mapping
//! and what is not supported; `docs/fsma.md` lists the spreadsheet columns.
//!
//! ## Layout
//! - [`vocab`]: identifiers both ways (LGTIN Digital Link / Terroir URNs for
//!   lots, GLN Digital Link for locations, parties, documents), UN/CEFACT
//!   units, sensor types, times and exact decimals.
//! - [`export`]: records → EPCISDocument.
//! - [`import`]: EPCISDocument → drafts, one per event, or a reason.
//! - [`apply`]: drafts → signed records committed all at once, or not at all.
//! - [`fsma`]: records → the FSMA 204 CSV spreadsheet.
//! - [`xml`]: the EPCIS 2.0 XML binding, to and from the JSON-LD form
//!   [`import`] and [`export`] use.
#![warn(missing_docs)]

pub mod apply;
pub mod export;
pub mod fsma;
pub mod import;
pub mod vocab;
pub mod xml;
