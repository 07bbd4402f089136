//! A ledger directory: `genesis.json` (the network's founding document, as
//! pretty JSON, shared with `terroird`) and `store/` (the sled database).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::store::SledStore;
use ledger_core::{Genesis, Ledger, LedgerConfig, StoreError};

/// The genesis file inside a ledger directory.
pub(crate) const GENESIS_FILE: &str = "genesis.json";
/// The sled database inside a ledger directory.
pub(crate) const STORE_DIR: &str = "store";

/// The ledger type the CLI works with.
pub(crate) type LocalLedger = Ledger<SledStore>;

/// The genesis file's path.
pub(crate) fn genesis_path(dir: &Path) -> PathBuf {
    dir.join(GENESIS_FILE)
}

/// Opens the ledger in `dir`; never creates anything.
pub(crate) fn open(dir: &Path) -> Result<LocalLedger> {
    let shown = dir.display();
    if !dir.is_dir() {
        bail!(
            "no ledger at {shown}: the directory does not exist \
             (create one with `terroir init`, or point --ledger or TERROIR_HOME at one)"
        );
    }
    let store_dir = dir.join(STORE_DIR);
    if !store_dir.is_dir() {
        bail!("{shown} is not a Terroir ledger (it has no {STORE_DIR}/ directory); create one with `terroir init`");
    }
    let store = SledStore::open(&store_dir).map_err(|e| match e {
        StoreError::Locked(_) => anyhow::anyhow!(
            "the ledger at {shown} is locked by another process (a running terroird or terroir); \
             stop it or wait for it to finish"
        ),
        other => anyhow::Error::new(other).context(format!("cannot open the ledger at {shown}")),
    })?;
    let ledger = Ledger::open(store, LedgerConfig::default())
        .map_err(|e| anyhow::Error::new(e).context(format!("cannot open the ledger at {shown}")))?;
    crate::parse::set_time_zone(ledger.genesis().time_zone());
    Ok(ledger)
}

/// Founds a new ledger in `dir` (created if absent) and writes `genesis.json`.
pub(crate) fn create(dir: &Path, genesis: Genesis) -> Result<LocalLedger> {
    let shown = dir.display();
    let store_dir = dir.join(STORE_DIR);
    let gpath = genesis_path(dir);
    if store_dir.exists() || gpath.exists() {
        bail!("a ledger already exists at {shown}; choose another --ledger directory");
    }
    genesis
        .check()
        .context("the genesis document is unusable")?;
    fs::create_dir_all(dir).with_context(|| format!("cannot create {shown}"))?;
    let json = serde_json::to_string_pretty(&genesis)? + "\n";
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&gpath)
        .and_then(|mut f| std::io::Write::write_all(&mut f, json.as_bytes()))
        .with_context(|| format!("cannot write {}", gpath.display()))?;
    let store = SledStore::open(&store_dir)
        .with_context(|| format!("cannot create the store in {}", store_dir.display()))?;
    let ledger = Ledger::create(store, genesis, LedgerConfig::default())
        .with_context(|| format!("cannot create the ledger at {shown}"))?;
    crate::parse::set_time_zone(ledger.genesis().time_zone());
    Ok(ledger)
}

/// Reads a `genesis.json` file.
pub(crate) fn read_genesis(path: &Path) -> Result<Genesis> {
    let text = fs::read_to_string(path)
        .with_context(|| format!("cannot read genesis file {}", path.display()))?;
    let g: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a genesis document", path.display()))?;
    g.check()
        .with_context(|| format!("{} cannot found a network", path.display()))?;
    Ok(g)
}
