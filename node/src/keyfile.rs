//! The node's libp2p identity key and the genesis file, both read from disk.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use ledger_core::Genesis;
use libp2p::identity::Keypair;

/// File name of the node key inside the data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// Directory of the sled database inside the data directory.
pub const LEDGER_DIR: &str = "ledger";
/// Largest genesis file read (JSON is a few times the 64 KiB binary limit).
const MAX_GENESIS_FILE: u64 = 1024 * 1024;

/// Loads the node key, creating it (mode 0600) when absent.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<Keypair> {
    let path = data_dir.join(NODE_KEY_FILE);
    if path.exists() {
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        return Keypair::from_protobuf_encoding(&bytes)
            .with_context(|| format!("{} is not a libp2p key", path.display()));
    }
    let key = Keypair::generate_ed25519();
    let bytes = key
        .to_protobuf_encoding()
        .context("encoding the node key")?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(&bytes)
        .and_then(|()| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(key)
}

/// Reads a genesis file: the JSON serialization of `ledger_core::Genesis`.
pub fn read_genesis(path: &Path) -> anyhow::Result<Genesis> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("reading genesis {}", path.display()))?
        .len();
    anyhow::ensure!(
        len <= MAX_GENESIS_FILE,
        "genesis {} is {len} bytes, more than {MAX_GENESIS_FILE}",
        path.display()
    );
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading genesis {}", path.display()))?;
    let genesis: Genesis = serde_json::from_str(&text)
        .with_context(|| format!("genesis {} is not a genesis JSON document", path.display()))?;
    genesis
        .check()
        .with_context(|| format!("genesis {}", path.display()))?;
    Ok(genesis)
}
