//! Naming lots on the command line.
//!
//! A lot is its code plus its source (the participant that created it); a
//! code is unique per source only. `CODE` is enough when one participant
//! used it; otherwise write `CODE@SOURCE`, where SOURCE is a name, a key or
//! a key prefix (`terroir` prints lots as `CODE@KEYPREFIX`).

use anyhow::{bail, Result};
use ledger_core::hash::Hash;
use ledger_core::LotId;

use crate::backend::Backend;
use crate::book::Book;

/// Finds the lot `spec` names.
pub(crate) fn resolve(ledger: &dyn Backend, book: &Book, spec: &str) -> Result<LotId> {
    let spec = spec.trim();
    let whole = ledger.lots_with_code(spec)?;
    match whole.as_slice() {
        [one] => return Ok(one.clone()),
        [] => {}
        many => bail!(
            "lot code {spec:?} is used by {} participants: {}; name one as CODE@SOURCE",
            many.len(),
            many.iter()
                .map(|l| format!("{l} ({})", book.name(&l.source)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
    if let Some((code, source)) = spec.rsplit_once('@') {
        let lots = ledger.lots_with_code(code)?;
        if lots.is_empty() {
            bail!(
                "no lot {code:?} in {}{}",
                ledger.place(),
                suggest(ledger, code)
            );
        }
        let src = book.resolve(source)?;
        if let Some(l) = lots.into_iter().find(|l| l.source == src) {
            return Ok(l);
        }
        bail!("{} created no lot {code:?}", book.name(&src));
    }
    bail!(
        "no lot {spec:?} in {}{}",
        ledger.place(),
        suggest(ledger, spec)
    )
}

/// `; did you mean "CODE"?` for the known lot code nearest `spec`, or
/// nothing.
fn suggest(ledger: &dyn Backend, spec: &str) -> String {
    let codes = ledger.lot_codes().unwrap_or_default();
    crate::parse::closest(spec, codes.iter().map(String::as_str))
        .map(|c| format!("; did you mean {c:?}?"))
        .unwrap_or_default()
}

/// The record that created `lot` (its harvest or transform).
pub(crate) fn creation(ledger: &dyn Backend, lot: &LotId) -> Result<Hash> {
    ledger.creation(lot)
}
