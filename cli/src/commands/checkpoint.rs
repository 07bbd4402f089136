//! `terroir checkpoint`: read the authorities' checkpoints and check that
//! one extends another.
//!
//! - `show [NOTE]`: a checkpoint (a note file, or the newest the ledger
//!   or node has), checked against the network's genesis: who signed it
//!   and whether that is final.
//! - `consistency OLD NEW`: two checkpoints of one network, each checked,
//!   then a consistency proof (from `--proof`, the local ledger or the
//!   node) showing the newer log extends the older; two that cannot both
//!   be true are reported as such.
//! - `sign --key FILE` (hidden; development and tests): one authority
//!   signs and applies the next checkpoint of the local ledger, where its
//!   signature alone is final (k = 1). Networks make checkpoints on their
//!   nodes.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use ledger_core::checkpoint::{contradiction, SignedCheckpoint};
use ledger_core::{merkle, Genesis, Hash, SigningKey};
use serde_json::json;

use crate::ledger_dir::LocalLedger;
use crate::output::{say, BAD, BOLD, OK};
use crate::settings::Settings;
use crate::{keyfile, ledger_dir, parse, remote};

/// Largest note file read (a note is at most 16 KiB).
const MAX_NOTE_FILE: u64 = 64 * 1024;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Show a checkpoint and who signed it, checked against the network.
    Show(ShowArgs),
    /// Check that a newer checkpoint's log extends an older one's.
    Consistency(ConsistencyArgs),
    /// Sign and apply the next checkpoint of the local ledger with one
    /// authority's key (development and tests; k = 1 networks only).
    #[command(hide = true)]
    Sign(SignArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ShowArgs {
    /// A signed note file; without it, the newest checkpoint of the
    /// ledger (or of the node, with --node).
    file: Option<PathBuf>,
    /// The checkpoint at this height instead of the newest.
    #[arg(long, conflicts_with = "file")]
    height: Option<u64>,
    /// The network's genesis.json (default: the local ledger's).
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Also save the signed note (what `consistency` and other
    /// transparency-log tools read) to this file.
    #[arg(long, short = 'o', value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ConsistencyArgs {
    /// The older checkpoint's signed note.
    old: PathBuf,
    /// The newer checkpoint's signed note.
    new: PathBuf,
    /// A consistency proof as JSON (`{"path": ["<hex>", …]}`, what a node's
    /// `GET /proof/consistency` answers); without it, the local ledger or
    /// the node (--node) gives one.
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// The network's genesis.json (default: the local ledger's).
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SignArgs {
    /// A genesis authority's key file.
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::Show(a) => show(s, a),
        Command::Consistency(a) => consistency(s, a),
        Command::Sign(a) => {
            s.local_only("checkpoint sign")?;
            sign(s, a)
        }
    }
}

/// The genesis to check notes against: `--genesis`, else the local
/// ledger's.
fn genesis(s: &Settings, file: Option<&Path>) -> Result<Genesis> {
    if let Some(f) = file {
        return ledger_dir::read_genesis(f);
    }
    match ledger_dir::open(&s.ledger) {
        Ok(l) => Ok(l.genesis().clone()),
        Err(e) => Err(e.context(
            "checking a checkpoint needs the network's genesis: give --genesis FILE, or run \
             where the ledger is",
        )),
    }
}

fn read_note(path: &Path) -> Result<Vec<u8>> {
    let len = std::fs::metadata(path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .len();
    if len > MAX_NOTE_FILE {
        bail!("{} is {len} bytes: not a checkpoint note", path.display());
    }
    std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
}

fn checked(bytes: &[u8], g: &Genesis, what: &str) -> Result<SignedCheckpoint> {
    SignedCheckpoint::from_note(bytes, g)
        .with_context(|| format!("{what} is not a checkpoint of this network"))
}

/// "3 of 4: A, B, C".
fn signers(c: &SignedCheckpoint, g: &Genesis) -> String {
    format!(
        "{} of {}: {}",
        c.signatures.len(),
        g.authorities.len(),
        c.signer_names(g).join(", ")
    )
}

fn summary(c: &SignedCheckpoint, g: &Genesis) -> serde_json::Value {
    json!({
        "height": c.checkpoint.height,
        "size": c.checkpoint.size,
        "time": parse::rfc3339(c.checkpoint.time),
        "root": c.checkpoint.root,
        "map_entries": c.checkpoint.map_size,
        "signers": c.signer_names(g),
        "final": c.is_final(g),
        "hash": c.checkpoint.hash(),
    })
}

fn show(s: &Settings, a: ShowArgs) -> Result<()> {
    let g = genesis(s, a.genesis.as_deref())?;
    parse::set_time_zone(g.time_zone());
    let bytes = match (&a.file, &s.node) {
        (Some(f), _) => read_note(f)?,
        (None, Some(url)) => {
            let node = remote::Node::connect(url, s.node_token.clone())?;
            node.checkpoint_note(a.height)?
                .context("the node has no final checkpoint there yet")?
        }
        (None, None) => {
            let ledger = ledger_dir::open(&s.ledger)?;
            let height = match a.height {
                Some(h) => h,
                None => ledger
                    .log()
                    .next_height()
                    .checked_sub(1)
                    .context("the ledger has no checkpoint yet")?,
            };
            ledger
                .final_checkpoint(height)?
                .with_context(|| format!("the ledger has no checkpoint at height {height}"))?
                .0
                .into_bytes()
        }
    };
    let c = checked(&bytes, &g, "the note")?;
    if let Some(out) = &a.out {
        std::fs::write(out, &bytes).with_context(|| format!("cannot write {}", out.display()))?;
    }
    s.out.json(&summary(&c, &g))?;
    s.out.quiet(c.checkpoint.height);
    if s.out.human() {
        let cp = &c.checkpoint;
        say!("{BOLD}checkpoint {}{BOLD:#}  of {}", cp.height, g.network);
        say!("  made       {}", parse::show_time(cp.time));
        say!(
            "  log        {} records, root {}…",
            cp.size,
            cp.root.short()
        );
        say!("  status map {} lot(s) with a status", cp.map_size);
        if c.is_final(&g) {
            say!("  {OK}final{OK:#}      cosigned by {}", signers(&c, &g));
        } else {
            say!(
                "  {BAD}not final{BAD:#}  signed by {} ({} needed)",
                signers(&c, &g),
                g.checkpoint_threshold
            );
        }
    }
    Ok(())
}

fn consistency(s: &Settings, a: ConsistencyArgs) -> Result<()> {
    let g = genesis(s, a.genesis.as_deref())?;
    parse::set_time_zone(g.time_zone());
    let mut old = checked(&read_note(&a.old)?, &g, &a.old.display().to_string())?;
    let mut new = checked(&read_note(&a.new)?, &g, &a.new.display().to_string())?;
    for (c, path) in [(&old, &a.old), (&new, &a.new)] {
        if !c.is_final(&g) {
            bail!(
                "{} is signed by {} of the {} authorities a final checkpoint needs",
                path.display(),
                c.signatures.len(),
                g.checkpoint_threshold
            );
        }
    }
    if old.checkpoint.height > new.checkpoint.height {
        std::mem::swap(&mut old, &mut new);
    }
    let (o, n) = (&old.checkpoint, &new.checkpoint);
    if let Some(why) = contradiction(o, n) {
        bail!(
            "checkpoints {} and {} cannot both be true: {} (signed by {} and by {})",
            o.height,
            n.height,
            why.describe(),
            signers(&old, &g),
            signers(&new, &g)
        );
    }
    let proof = if o.size == n.size || o.size == 0 {
        Vec::new()
    } else {
        match (&a.proof, &s.node) {
            (Some(f), _) => proof_file(f)?,
            (None, Some(url)) => {
                remote::Node::connect(url, s.node_token.clone())?.consistency(o.size, n.size)?
            }
            (None, None) => ledger_dir::open(&s.ledger)?
                .consistency(o.size, n.size)
                .context("the local ledger cannot prove it (its log is shorter?)")?,
        }
    };
    if o.size > 0 {
        merkle::verify_consistency(o.size, n.size, &o.root, &n.root, &proof).map_err(|e| {
            anyhow::anyhow!(
                "checkpoint {}'s log does not extend checkpoint {}'s: {e}",
                n.height,
                o.height
            )
        })?;
    }
    s.out.json(&json!({
        "consistent": true,
        "old": summary(&old, &g),
        "new": summary(&new, &g),
        "proof_hashes": proof.len(),
    }))?;
    if s.out.human() {
        say!(
            "{OK}consistent{OK:#}: checkpoint {} ({} records, {}) extends checkpoint {} ({} records, {}), proved by {} hash(es)",
            n.height,
            n.size,
            parse::show_time(n.time),
            o.height,
            o.size,
            parse::show_time(o.time),
            proof.len()
        );
    }
    Ok(())
}

/// A proof file: `{"path": ["<hex>", …]}`.
fn proof_file(path: &Path) -> Result<Vec<Hash>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    v["path"]
        .as_array()
        .with_context(|| format!("{} has no \"path\" list", path.display()))?
        .iter()
        .map(|h| {
            h.as_str()
                .and_then(|h| Hash::from_hex(h).ok())
                .with_context(|| {
                    format!(
                        "{} holds a hash that is not 64 hex characters",
                        path.display()
                    )
                })
        })
        .collect()
}

/// One authority signs the next checkpoint of everything `ledger` holds
/// and applies it, where its signature alone is final (k = 1): the
/// checkpoint and how many records it appended.
pub(crate) fn sign_next(
    ledger: &mut LocalLedger,
    key: &SigningKey,
    now: u64,
) -> Result<(SignedCheckpoint, usize)> {
    let genesis = ledger.genesis().clone();
    if genesis.authority(&key.public()).is_none() {
        bail!("the key is not an authority's of this network; only they sign checkpoints");
    }
    let tips = ledger.unlogged_tips()?;
    let ext = ledger
        .extend_log(&tips)
        .context("cannot cut the next checkpoint")?;
    if ext.records.is_empty() {
        bail!(
            "nothing to checkpoint: every record is in checkpoint {} already",
            ext.height.saturating_sub(1)
        );
    }
    let signed = SignedCheckpoint::propose(ext.checkpoint(ledger.network(), now), key);
    if !signed.is_final(&genesis) {
        bail!(
            "this network needs {} authorities' signatures for a final checkpoint; \
             `terroir checkpoint sign` signs with one",
            genesis.checkpoint_threshold
        );
    }
    ledger
        .apply_checkpoint(&signed, &tips, Some(&ext))
        .context("cannot apply the checkpoint")?;
    Ok((signed, ext.records.len()))
}

fn sign(s: &Settings, a: SignArgs) -> Result<()> {
    let key = keyfile::load(&a.key)?;
    let mut ledger = ledger_dir::open(&s.ledger)?;
    let Some(signer) = ledger
        .genesis()
        .authority(&key.public())
        .map(|a| a.name.clone())
    else {
        bail!(
            "{} is not the key of an authority of this network; only they sign checkpoints",
            a.key.display()
        );
    };
    let (signed, added) = sign_next(&mut ledger, &key.key, parse::now_ms())?;
    let (height, size) = (signed.checkpoint.height, signed.checkpoint.size);
    s.out.json(&json!({
        "height": height,
        "size": size,
        "records_added": added,
        "signer": signer,
    }))?;
    s.out.quiet(height);
    if s.out.human() {
        say!("checkpoint {height} signed by {signer}: {added} new records, {size} in the log");
    }
    Ok(())
}
