//! Global settings, resolved once from the global flags.

use std::fmt;
use std::path::PathBuf;

use anyhow::{bail, Result};

use crate::backend::Backend;
use crate::cli::GlobalArgs;
use crate::ledger_dir;
use crate::output::Output;
use crate::remote;
use crate::replica::{Replica, ReplicaFile};

/// A node's base URL (`http://HOST:PORT`, no trailing slash), checked at
/// parse time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeUrl(String);

impl fmt::Display for NodeUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses `--node`: `http://HOST[:PORT][/PREFIX]`, or a bare `HOST:PORT`.
pub(crate) fn node_url(s: &str) -> Result<NodeUrl, String> {
    let s = s.trim().trim_end_matches('/');
    if s.starts_with("https://") {
        return Err(
            "https is not supported by this build of terroir: give the node's \
                    http:// address (reach a remote node through an SSH tunnel or a TLS proxy)"
                .into(),
        );
    }
    let url = if s.starts_with("http://") {
        s.to_owned()
    } else if s.contains("://") {
        return Err(format!("{s:?} is not an http:// URL"));
    } else {
        format!("http://{s}")
    };
    let host = url.trim_start_matches("http://");
    if host.is_empty() || host.starts_with('/') || host.contains(char::is_whitespace) {
        return Err(format!("{s:?} names no host; write http://HOST:PORT"));
    }
    Ok(NodeUrl(url))
}

/// What every command needs to know besides its own arguments.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The ledger directory (`--ledger`, else `$TERROIR_HOME`, else `./.terroir`).
    pub(crate) ledger: PathBuf,
    /// The node to work against instead (`--node`, else `$TERROIR_NODE`).
    pub(crate) node: Option<NodeUrl>,
    /// Its write token, if it needs one (`--node-token`, else
    /// `$TERROIR_NODE_TOKEN`).
    pub(crate) node_token: Option<String>,
    /// How to print.
    pub(crate) out: Output,
}

impl Settings {
    pub(crate) fn from_args(g: &GlobalArgs) -> Self {
        Settings {
            ledger: g.ledger.clone(),
            node: g.node.clone(),
            node_token: g.node_token.clone(),
            out: Output {
                json: g.json,
                quiet: g.quiet,
            },
        }
    }

    /// The ledger the commands read and submit to: the node when one is
    /// given, else the local ledger directory (through its outbox when it
    /// is a replica).
    pub(crate) fn backend(&self) -> Result<Box<dyn Backend>> {
        Ok(match &self.node {
            Some(url) => Box::new(remote::Node::connect(url, self.node_token.clone())?),
            None => match ReplicaFile::read(&self.ledger)? {
                Some(file) => Box::new(Replica::open(&self.ledger, file)?),
                None => Box::new(ledger_dir::open(&self.ledger)?),
            },
        })
    }

    /// Fails when a node was given to a command that works on a local
    /// ledger only.
    pub(crate) fn local_only(&self, command: &str) -> Result<()> {
        if let Some(url) = &self.node {
            bail!(
                "`terroir {command}` works on a local ledger only, but --node {url} \
                 (or TERROIR_NODE) was given; drop it to use the ledger at {}",
                self.ledger.display()
            );
        }
        Ok(())
    }
}
