//! `terroir participants`: the address book.

use anyhow::Result;
use serde_json::json;

use crate::book::Book;
use crate::output::{say, BOLD, DIM};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {}

pub(crate) fn run(s: &Settings, _a: Args) -> Result<()> {
    let ledger = s.backend()?;
    let book = Book::load(ledger.as_ref())?;
    let list: Vec<_> = book
        .entries()
        .iter()
        .map(|p| {
            json!({
                "key": p.key,
                "name": p.name,
                "role": p.role,
                "enrolled_by": p.enrolled_by,
                "uscc": p.uscc,
            })
        })
        .collect();
    s.out.json(&list)?;
    // Names in any script: columns by display width (CJK takes two).
    let name_width = book
        .entries()
        .iter()
        .map(|p| crate::output::width(&p.name))
        .max()
        .unwrap_or(0);
    for p in book.entries() {
        s.out.quiet(format!("{} {}", p.key, p.name));
        if s.out.human() {
            say!(
                "{BOLD}{:<10}{BOLD:#} {}  {DIM}{}{DIM:#}{}",
                p.role.as_str(),
                crate::output::pad(&p.name, name_width),
                p.key,
                p.uscc
                    .as_ref()
                    .map(|u| format!("  统一社会信用代码 {u}"))
                    .unwrap_or_default()
            );
        }
    }
    Ok(())
}
