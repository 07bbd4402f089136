//! `terroir genesis`: the network's founding document and id.

use std::path::PathBuf;

use anyhow::Result;
use serde_json::json;

use crate::ledger_dir;
use crate::output::{say, BOLD, KEY};
use crate::parse::show_time;
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Read this genesis.json instead of the ledger's.
    #[arg(long, value_name = "FILE")]
    file: Option<PathBuf>,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    let (genesis, path) = match a.file {
        Some(f) => (ledger_dir::read_genesis(&f)?, f),
        None => {
            let ledger = ledger_dir::open(&s.ledger)?;
            (
                ledger.genesis().clone(),
                ledger_dir::genesis_path(&s.ledger),
            )
        }
    };
    let id = genesis.id();
    s.out
        .json(&json!({ "network_id": id, "file": path, "genesis": genesis }))?;
    s.out.quiet(id);
    if s.out.human() {
        say!("network     {BOLD}{}{BOLD:#}", genesis.network);
        say!("network id  {KEY}{id}{KEY:#}");
        say!("file        {}", path.display());
        say!("created     {}", show_time(genesis.created));
        say!(
            "checkpoint threshold {} of {}",
            genesis.checkpoint_threshold,
            genesis.authorities.len()
        );
        for a in &genesis.authorities {
            say!("authority   {} {}", a.key, a.name);
        }
    }
    Ok(())
}
