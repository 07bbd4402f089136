//! `terroir trace LOT`: a lot's journey as a timeline.

use anyhow::{bail, Result};
use ledger_core::excursion::excursion_events;
use ledger_core::reach::{self, Reach, ReachedLot};
use ledger_core::verdict;
use ledger_core::LotId;
use serde::Deserialize;
use serde_json::json;

use crate::backend::Backend;
use crate::book::Book;
use crate::ledger_dir::LocalLedger;
use crate::lots;
use crate::output::{say, BOLD, WARN};
use crate::parse;
use crate::render::{self, Names};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The lot: CODE, or CODE@SOURCE when several participants used the code.
    lot: String,
    /// Also list every lot made from it, who holds each and what is in transit: what a recall must reach.
    #[arg(long)]
    downstream: bool,
}

/// Every downstream lot with its current holders and its shipments still
/// in transit, as JSON entries `{lot, display, holders, in_transit}` (what
/// `trace --downstream --json` lists under `reach`, and the demo prints).
/// Names come from the ledger's enrollments.
pub(crate) fn reach(ledger: &LocalLedger, lot: &LotId) -> Result<Vec<serde_json::Value>> {
    reach::recall_reach(ledger, lot)?
        .downstream
        .iter()
        .map(entry)
        .collect()
}

/// One reached lot as JSON, with its `code@source` form for display.
fn entry(r: &ReachedLot) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(obj) = v.as_object_mut() {
        obj.insert("display".into(), json!(r.lot.to_string()));
    }
    Ok(v)
}

/// One line for a reached lot given as a [`reach`] entry: who holds how
/// much, then what is in transit (`none left in stock` when nothing is
/// held); `name` shortens or styles participants' names.
pub(crate) fn holders_text(r: &serde_json::Value, name: impl Fn(&str) -> String) -> String {
    let Ok(r) = ReachedLot::deserialize(r) else {
        return String::new();
    };
    std::iter::once(render::holders(&r.holders, &name))
        .chain(r.in_transit.iter().map(|t| render::in_transit(t, &name)))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Prints what a recall of `lot` must reach: the lot itself and each lot
/// made from it, with its holders, and a line for each shipment of it
/// still on the road.
fn print_reach(lot: &LotId, r: &Reach) {
    let made = r.downstream.len();
    if made == 0 {
        say!("{BOLD}Nothing was made from lot {lot}.{BOLD:#}");
    }
    say!(
        "{WARN}A recall of lot {lot} must reach {} lot(s): the lot itself and {made} made from it{WARN:#}",
        made + 1
    );
    let width = r
        .lots()
        .map(|l| l.lot.to_string().chars().count())
        .max()
        .unwrap_or(0);
    for l in r.lots() {
        let shown = l.lot.to_string();
        let pad = " ".repeat(width - shown.chars().count());
        say!(
            "  {shown}{pad}  {}",
            render::holders(&l.holders, str::to_owned)
        );
        for t in &l.in_transit {
            say!(
                "  {}  {WARN}{}{WARN:#}",
                " ".repeat(width),
                render::in_transit(t, str::to_owned)
            );
        }
    }
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let backend = s.backend()?;
    let ledger: &dyn Backend = backend.as_ref();
    let book = Book::load(ledger)?;
    let lot = lots::resolve(ledger, &book, &a.lot)?;
    let Some(trace) = ledger.trace(&lot)? else {
        bail!("{} has no record creating lot {lot}", ledger.place());
    };
    let genesis = ledger.genesis(&lot)?;
    // Times in the network's zone, a node's lots too (a local ledger set
    // it when opened).
    parse::set_time_zone(genesis.time_zone());
    let verdict = verdict::verdict(&trace, &genesis, parse::now_ms());
    // Balances are the ledger's (or the node's) reading of its records:
    // a node answers them from `GET /lots/{source}/{code}/downstream`.
    let reach = if a.downstream {
        Some(ledger.reach(&lot)?)
    } else {
        None
    };
    if s.out.json {
        let mut v = serde_json::to_value(&trace)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("verdict".into(), json!(verdict));
            obj.insert("excursions".into(), json!(excursion_events(&trace)));
        }
        if let (Some(r), Some(obj)) = (&reach, v.as_object_mut()) {
            let downstream = r.downstream.iter().map(entry).collect::<Result<Vec<_>>>()?;
            obj.insert("reach".into(), json!(downstream));
            obj.insert("holders".into(), json!(r.lot.holders));
            obj.insert("in_transit".into(), json!(r.lot.in_transit));
        }
        s.out.json(&v)?;
    }
    s.out.quiet(format!(
        "{} event(s), verdict {}",
        trace.events.len(),
        verdict.finding.kind()
    ));
    if s.out.human() {
        let names = Names::new(|k| book.get(k).map(|p| p.name.clone()));
        render::print_trace(&trace, &verdict, &names);
        if let Some(reach) = reach {
            say!();
            print_reach(&lot, &reach);
        }
    }
    Ok(())
}
