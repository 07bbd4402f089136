//! `terroir init`: found a network.

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::genesis::{Authority, NetworkProfile, GENESIS_VERSION};
use ledger_core::{Genesis, PublicKey};
use serde_json::json;

use crate::keyfile;
use crate::ledger_dir;
use crate::output::{say, BOLD, KEY};
use crate::parse::{self, now_ms, AuthoritySpec};
use crate::settings::Settings;

#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("founders").required(true).multiple(true).args(["authority_keys", "authorities"]))]
pub(crate) struct Args {
    /// The network's name, e.g. "淳安县 tea traceability".
    #[arg(long, value_name = "NAME")]
    network: String,
    /// Key file of a founding authority (a regulator); repeat for several.
    #[arg(long = "authority-key", value_name = "FILE")]
    authority_keys: Vec<PathBuf>,
    /// A founding authority by its public key (64 hex, as `terroir key
    /// show` prints it), with an optional display name; no secret key is
    /// read. Repeat for several.
    #[arg(long = "authority", value_name = "KEY[=NAME]", value_parser = parse::authority)]
    authorities: Vec<AuthoritySpec>,
    /// Display name of the single authority (default: the name in its key
    /// file).
    #[arg(long, value_name = "NAME")]
    authority_name: Option<String>,
    /// Authorities needed to finalise a checkpoint (default: a majority).
    #[arg(long, value_name = "K")]
    threshold: Option<u16>,
    /// IANA time zone that pages and messages show local times in
    /// (e.g. Asia/Shanghai; default UTC).
    #[arg(long, value_name = "ZONE")]
    time_zone: Option<String>,
    /// Language consumer pages default to, a BCP 47 tag (e.g. zh-CN, en).
    #[arg(long, value_name = "TAG")]
    language: Option<String>,
    /// Whom consumers call about a recall or a suspect product (e.g.
    /// "淳安县农业农村局 · 12316").
    #[arg(long, value_name = "TEXT")]
    contact: Option<String>,
}

pub(crate) fn run(s: &Settings, a: Args) -> Result<()> {
    if a.network.trim().is_empty() {
        bail!("the network name must not be empty");
    }
    if a.authority_name.is_some() && a.authority_keys.len() + a.authorities.len() > 1 {
        bail!("--authority-name names a single authority; put names in the key files or write --authority KEY=NAME instead");
    }
    if a.authority_name.is_some() && a.authorities.iter().any(|s| s.name.is_some()) {
        bail!("the authority is named twice: by --authority KEY=NAME and by --authority-name");
    }
    let default_name = |key: &PublicKey| format!("authority {}", key.short());
    // Key files first, then keys given by value, each in the order given.
    let mut authorities: Vec<Authority> = Vec::new();
    for path in &a.authority_keys {
        let file = keyfile::read_public(path)?;
        let key = file.public;
        let name = a
            .authority_name
            .clone()
            .or(file.name.clone())
            .unwrap_or_else(|| default_name(&key));
        authorities.push(Authority { key, name });
    }
    for spec in &a.authorities {
        let name = spec
            .name
            .clone()
            .or(a.authority_name.clone())
            .unwrap_or_else(|| default_name(&spec.key));
        authorities.push(Authority {
            key: spec.key,
            name,
        });
    }
    let mut seen = BTreeSet::new();
    for au in &authorities {
        if !seen.insert(au.key) {
            bail!(
                "authority {} is named twice (by --authority-key or --authority); list each founder once",
                au.key.short()
            );
        }
    }
    let n = u16::try_from(authorities.len()).unwrap_or(u16::MAX);
    let genesis = Genesis {
        version: GENESIS_VERSION,
        network: a.network.trim().to_owned(),
        authorities,
        checkpoint_threshold: a.threshold.unwrap_or(n / 2 + 1),
        created: now_ms(),
        profile: NetworkProfile {
            time_zone: a.time_zone.map(|z| z.trim().to_owned()),
            language: a.language.map(|l| l.trim().to_owned()),
            contact: a.contact.map(|c| c.trim().to_owned()),
        },
    };
    let ledger = ledger_dir::create(&s.ledger, genesis)?;
    let id = ledger.network();
    let gpath = ledger_dir::genesis_path(&s.ledger);
    s.out.json(&json!({
        "network_id": id,
        "network": ledger.genesis().network,
        "ledger": s.ledger,
        "genesis_file": gpath,
    }))?;
    s.out.quiet(id);
    if s.out.human() {
        say!("Founded network {BOLD}{}{BOLD:#}", ledger.genesis().network);
        say!("network id  {KEY}{id}{KEY:#}");
        say!("ledger      {}", s.ledger.display());
        say!("genesis     {}", gpath.display());
        say!("Next: enroll participants with `terroir enroll --key <authority key> --participant <key> --name NAME --role ROLE`.");
    }
    Ok(())
}
