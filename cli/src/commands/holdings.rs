//! `terroir holdings WHO`: what a participant holds, by lot (in the local
//! ledger or replica, or with `--node` as the node reads its balances).

use anyhow::Result;
use serde_json::json;

use crate::book::Book;
use crate::output::{say, BOLD};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The participant: a name, key, key prefix or key file.
    who: String,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let ledger = s.backend()?;
    let book = Book::load(ledger.as_ref())?;
    let who = book.resolve(&a.who)?;
    let held = ledger.holdings(&who)?;
    s.out.json(&json!({
        "participant": who,
        "name": book.get(&who).map(|p| p.name.clone()),
        "holdings": held.iter().map(|(l, q)| json!({"lot": l, "quantity": q})).collect::<Vec<_>>(),
    }))?;
    if s.out.human() {
        say!("{BOLD}{}{BOLD:#} holds:", book.label(&who));
        if held.is_empty() {
            say!("  nothing");
        }
    }
    let q_width = held
        .iter()
        .map(|(_, q)| crate::output::width(&crate::render::q(q)))
        .max()
        .unwrap_or(0)
        .max(12);
    for (l, q) in &held {
        s.out.quiet(format!("{l} {}", q.amount));
        if s.out.human() {
            say!(
                "  {} lot {} ({})",
                crate::output::pad(&crate::render::q(q), q_width),
                l,
                book.name(&l.source)
            );
        }
    }
    Ok(())
}
