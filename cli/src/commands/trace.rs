//! `terroir trace LOT`: a lot's journey as a timeline.

use anyhow::{bail, Result};
use ledger_core::LotId;
use ledger_core::{query, verdict};
use serde_json::json;

use crate::backend::Backend;
use crate::book::Book;
use crate::ledger_dir::{self, LocalLedger};
use crate::lots;
use crate::output::{say, BOLD, WARN};
use crate::parse;
use crate::render::{self, Names};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The lot: CODE, or CODE@SOURCE when several participants used the code.
    lot: String,
    /// Also list every lot made from it and who holds it: what a recall must reach.
    #[arg(long)]
    downstream: bool,
}

/// Every downstream lot with its product and current holders.
pub(crate) fn reach(
    ledger: &LocalLedger,
    book: &Book,
    lot: &LotId,
) -> Result<Vec<serde_json::Value>> {
    let mut out = Vec::new();
    for l in query::downstream_lots(ledger, lot)? {
        let mut holders = Vec::new();
        for p in book.entries() {
            if let Some(q) = ledger.balance(&p.key, &l)? {
                if q.amount > 0 {
                    holders.push(json!({ "participant": p.key, "name": p.name, "quantity": q }));
                }
            }
        }
        out.push(json!({ "lot": l, "display": l.to_string(), "holders": holders }));
    }
    Ok(out)
}

/// `A holds 2 kg; B holds 1 kg`, or `none left in stock`.
pub(crate) fn holders_text(r: &serde_json::Value, name: impl Fn(&str) -> String) -> String {
    let holders: Vec<String> = r["holders"]
        .as_array()
        .map(|hs| {
            hs.iter()
                .map(|h| {
                    let q: Option<ledger_core::Quantity> =
                        serde_json::from_value(h["quantity"].clone()).ok();
                    format!(
                        "{} holds {}",
                        name(h["name"].as_str().unwrap_or_default()),
                        q.map(|q| crate::render::q(&q)).unwrap_or_default()
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if holders.is_empty() {
        "none left in stock".to_owned()
    } else {
        holders.join("; ")
    }
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    // `--downstream` needs balances, which only the local ledger answers.
    let local = if a.downstream {
        s.local_only("trace --downstream")?;
        Some(ledger_dir::open(&s.ledger)?)
    } else {
        None
    };
    let remote = match local {
        Some(_) => None,
        None => Some(s.backend()?),
    };
    let ledger: &dyn Backend = match (&local, &remote) {
        (Some(l), _) => l,
        (None, Some(r)) => r.as_ref(),
        (None, None) => bail!("no ledger to trace in"),
    };
    let book = Book::load(ledger)?;
    let lot = lots::resolve(ledger, &book, &a.lot)?;
    let Some(trace) = ledger.trace(&lot)? else {
        bail!("{} has no record creating lot {lot}", ledger.place());
    };
    let genesis = ledger.genesis(&lot)?;
    let verdict = verdict::verdict(&trace, &genesis, parse::now_ms());
    let reach = match &local {
        Some(l) => Some(reach(l, &book, &lot)?),
        None => None,
    };
    if s.out.json {
        let mut v = serde_json::to_value(&trace)?;
        if let Some(obj) = v.as_object_mut() {
            obj.insert("verdict".into(), json!(verdict));
            if let Some(r) = &reach {
                obj.insert("reach".into(), json!(r));
            }
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
            if reach.is_empty() {
                say!("{BOLD}Nothing was made from lot {lot}.{BOLD:#}");
            } else {
                say!(
                    "{WARN}A recall of lot {lot} must reach {} lot(s):{WARN:#}",
                    reach.len()
                );
                for r in &reach {
                    let shown = r["display"].as_str().unwrap_or_default();
                    let held = holders_text(r, str::to_owned);
                    say!("  {shown}  {held}");
                }
            }
        }
    }
    Ok(())
}
