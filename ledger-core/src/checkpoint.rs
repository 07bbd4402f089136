//! Checkpoints: the genesis authorities' signed statements of what the
//! network's log holds — its size, its Merkle root, the root of the lot
//! status map below it — and when they said so.
//!
//! The text follows C2SP's *checkpoint* and *signed note* formats, so any
//! tool that reads a transparency-log checkpoint reads ours: an origin line
//! (`terroir/<network id>`), the tree size, the root in base64, then our
//! extension lines, a blank line and one signature line per signer. The
//! authority that proposes a checkpoint signs it as a plain Ed25519 note
//! signature; the others add C2SP *cosignature/v1* lines, which also carry
//! when they signed. A checkpoint is **final** when `k` distinct genesis
//! authorities (the genesis' `checkpoint_threshold`) have signed its body,
//! counting the proposer.
//!
//! ```text
//! terroir/5f0c…e1                       origin: the network id, hex
//! 1024                                  tree size
//! qL1r…=                                root (base64)
//! version 1
//! height 7                              checkpoints before this one
//! time 1733371200000                    ms since the epoch (UTC)
//! map 12 9fQe…=                         status map: entries and root
//! cut 3kTz…=                            hash of the cut's tips
//! prev Tq0r…=                           previous checkpoint's hash, or -
//!
//! — terroir-3b6a27bcceb6a42d Ktr4…      the proposer
//! — terroir-8a88e3dd7409f195 Y1x9…      a cosigner
//! ```

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use sha2::{Digest, Sha256};

use crate::genesis::Genesis;
use crate::hash::{Hash, NetworkId};
use crate::key::{self, PublicKey, Signature, SigningKey};

/// Version of the checkpoint body this build writes and reads.
pub const CHECKPOINT_VERSION: u16 = 1;

/// Longest note (body and signatures) accepted, in bytes.
pub const MAX_NOTE_BYTES: usize = 16 * 1024;

/// Most signature lines a note may carry (C2SP lets verifiers bound it).
pub const MAX_SIGNATURE_LINES: usize = 100;

/// Signed-note signature type of a plain Ed25519 signature.
const TYPE_ED25519: u8 = 0x01;
/// Signed-note signature type of a C2SP cosignature/v1.
const TYPE_COSIGNATURE: u8 = 0x04;

/// What a checkpoint states about the log at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// The network (its genesis hash); the origin line names it.
    pub network: NetworkId,
    /// Records in the log.
    pub size: u64,
    /// RFC 9162 Merkle root over the log's leaves.
    pub root: Hash,
    /// Checkpoints before this one (0 for the first).
    pub height: u64,
    /// When the proposer made it, ms since the epoch (UTC).
    pub time: u64,
    /// Entries in the lot status map.
    pub map_size: u64,
    /// Root of the lot status map.
    pub map_root: Hash,
    /// What the log appended: SHA-256 of the cut's tips, sorted and
    /// concatenated ([`cut_hash`]). The tips travel beside the note; a
    /// node refuses tips that do not hash to this before it uses them.
    pub cut: Hash,
    /// Hash of the previous checkpoint's body; none for the first.
    pub prev: Option<Hash>,
}

/// A checkpoint body that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// A line is missing, out of order, or not what its place requires.
    #[error("checkpoint line {line}: expected {expected}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What that line must hold.
        expected: &'static str,
    },
    /// The body is written in another format version.
    #[error("checkpoint version {0} is not understood (this build reads {CHECKPOINT_VERSION})")]
    Version(u64),
    /// Text after the last line this version defines.
    #[error("checkpoint has {0} unexpected line(s) after its last field")]
    Trailing(usize),
    /// The text is not what this body re-encodes to (extra spaces,
    /// leading zeros, a missing final newline …).
    #[error("checkpoint text is not in canonical form")]
    NotCanonical,
    /// A height 0 checkpoint names a previous one, or a later one names
    /// none.
    #[error("checkpoint at height {height} {problem}")]
    Prev {
        /// Its height.
        height: u64,
        /// What is wrong.
        problem: &'static str,
    },
}

impl Checkpoint {
    /// The origin line of a network's checkpoints.
    pub fn origin(network: &NetworkId) -> String {
        format!("terroir/{}", network.to_hex())
    }

    /// The body text (what is signed), each line ending in a newline.
    pub fn body(&self) -> String {
        let prev = match &self.prev {
            Some(h) => B64.encode(h.0),
            None => "-".to_string(),
        };
        format!(
            "{origin}\n{size}\n{root}\nversion {CHECKPOINT_VERSION}\nheight {height}\ntime {time}\nmap {map_size} {map_root}\ncut {cut}\nprev {prev}\n",
            origin = Self::origin(&self.network),
            size = self.size,
            root = B64.encode(self.root.0),
            height = self.height,
            time = self.time,
            map_size = self.map_size,
            map_root = B64.encode(self.map_root.0),
            cut = B64.encode(self.cut.0),
        )
    }

    /// The checkpoint's identity: SHA-256 of its body.
    pub fn hash(&self) -> Hash {
        Hash::of(self.body().as_bytes())
    }

    /// Parses a body; it must be exactly what [`Self::body`] writes.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let Some(text) = body.strip_suffix('\n') else {
            return Err(CheckpointError::NotCanonical);
        };
        let lines: Vec<&str> = text.split('\n').collect();
        let line = |i: usize, expected: &'static str| CheckpointError::Line {
            line: i + 1,
            expected,
        };
        let field = |i: usize, name: &str, expected: &'static str| {
            lines
                .get(i)
                .and_then(|l| l.strip_prefix(name))
                .and_then(|l| l.strip_prefix(' '))
                .ok_or(line(i, expected))
        };
        let network = lines
            .first()
            .and_then(|l| l.strip_prefix("terroir/"))
            .and_then(|h| Hash::from_hex(h).ok())
            .ok_or(line(0, "the origin terroir/<network id in hex>"))?;
        let size = number(lines.get(1).copied()).ok_or(line(1, "the tree size"))?;
        let root = base64_hash(lines.get(2).copied()).ok_or(line(2, "the root in base64"))?;
        let version =
            number(Some(field(3, "version", "version <n>")?)).ok_or(line(3, "version <n>"))?;
        if version != u64::from(CHECKPOINT_VERSION) {
            return Err(CheckpointError::Version(version));
        }
        let height =
            number(Some(field(4, "height", "height <n>")?)).ok_or(line(4, "height <n>"))?;
        let time = number(Some(field(5, "time", "time <ms>")?)).ok_or(line(5, "time <ms>"))?;
        let map = field(6, "map", "map <entries> <root>")?;
        let (map_size, map_root) = map
            .split_once(' ')
            .and_then(|(n, r)| Some((number(Some(n))?, base64_hash(Some(r))?)))
            .ok_or(line(6, "map <entries> <root>"))?;
        let cut = base64_hash(Some(field(7, "cut", "cut <hash in base64>")?))
            .ok_or(line(7, "cut <hash in base64>"))?;
        let prev = match field(8, "prev", "prev <hash in base64, or ->")? {
            "-" => None,
            h => Some(base64_hash(Some(h)).ok_or(line(8, "prev <hash in base64, or ->"))?),
        };
        if lines.len() > 9 {
            return Err(CheckpointError::Trailing(lines.len() - 9));
        }
        let checkpoint = Checkpoint {
            network,
            size,
            root,
            height,
            time,
            map_size,
            map_root,
            cut,
            prev,
        };
        match (height, prev) {
            (0, Some(_)) => {
                return Err(CheckpointError::Prev {
                    height,
                    problem: "is the first and cannot name a previous checkpoint",
                })
            }
            (1.., None) => {
                return Err(CheckpointError::Prev {
                    height,
                    problem: "must name the previous checkpoint",
                })
            }
            _ => {}
        }
        if checkpoint.body() != body {
            return Err(CheckpointError::NotCanonical);
        }
        Ok(checkpoint)
    }
}

/// The hash a checkpoint names its cut by: SHA-256 of the tips, sorted
/// and without repeats, concatenated.
pub fn cut_hash(tips: &[Hash]) -> Hash {
    let mut sorted = tips.to_vec();
    sorted.sort();
    sorted.dedup();
    let bytes: Vec<u8> = sorted.iter().flat_map(|h| h.0).collect();
    Hash::of(&bytes)
}

/// A decimal number without sign or leading zeros.
fn number(s: Option<&str>) -> Option<u64> {
    let s = s?;
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) || (s.len() > 1 && s.starts_with('0'))
    {
        return None;
    }
    s.parse().ok()
}

/// A 32-byte hash in standard base64.
fn base64_hash(s: Option<&str>) -> Option<Hash> {
    let bytes = B64.decode(s?).ok()?;
    Some(Hash(bytes.try_into().ok()?))
}

/// How an authority signed a checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureKind {
    /// A plain Ed25519 note signature: the proposer's.
    Proposer,
    /// A C2SP cosignature/v1: a cosigner's, with when it signed.
    Cosignature {
        /// Seconds since the epoch (UTC).
        time: u64,
    },
}

/// One authority's verified signature on a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The authority's key.
    pub key: PublicKey,
    /// How it signed.
    pub kind: SignatureKind,
    /// The Ed25519 signature.
    pub signature: Signature,
}

/// A checkpoint with the authorities' signatures that verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// What is stated.
    pub checkpoint: Checkpoint,
    /// At most one per authority, in key order.
    pub signatures: Vec<NoteSignature>,
}

/// A signed checkpoint that cannot be read or trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// Larger than [`MAX_NOTE_BYTES`].
    #[error("checkpoint note is {0} bytes, more than the {MAX_NOTE_BYTES} accepted")]
    TooLarge(usize),
    /// Not UTF-8.
    #[error("checkpoint note is not UTF-8 text")]
    NotText,
    /// No blank line between the body and the signatures.
    #[error("checkpoint note has no blank line before its signatures")]
    NoSignatureBlock,
    /// The body is malformed.
    #[error(transparent)]
    Body(#[from] CheckpointError),
    /// The checkpoint belongs to another network.
    #[error("checkpoint is for network {found}, not {expected}")]
    Network {
        /// The network expected (its id, short).
        expected: String,
        /// The network named (short).
        found: String,
    },
    /// A signature line is malformed.
    #[error("checkpoint signature line {line} is malformed: {reason}")]
    SignatureLine {
        /// 1-based number among the signature lines.
        line: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// More signature lines than [`MAX_SIGNATURE_LINES`].
    #[error("checkpoint note has more than {MAX_SIGNATURE_LINES} signature lines")]
    TooManySignatures,
    /// A genesis authority's signature does not verify.
    #[error("the signature of authority {0} on this checkpoint does not verify")]
    BadSignature(String),
    /// No genesis authority signed it.
    #[error("no authority of this network signed the checkpoint")]
    Unsigned,
}

/// The key name a genesis authority signs checkpoints under: printable,
/// without spaces, and unique per key.
pub fn key_name(key: &PublicKey) -> String {
    format!("terroir-{}", hex::encode(&key.0[..8]))
}

/// The signed-note key hash: the first 4 bytes of
/// SHA-256(name ‖ `\n` ‖ type ‖ key).
fn key_hash(name: &str, kind: u8, key: &PublicKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update(b"\n");
    h.update([kind]);
    h.update(key.0);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// What a cosigner signs: C2SP cosignature/v1's message.
fn cosigned_message(time: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

impl SignedCheckpoint {
    /// A checkpoint signed by the authority that proposes it.
    pub fn propose(checkpoint: Checkpoint, key: &SigningKey) -> Self {
        let signature = key.sign(checkpoint.body().as_bytes());
        SignedCheckpoint {
            checkpoint,
            signatures: vec![NoteSignature {
                key: key.public(),
                kind: SignatureKind::Proposer,
                signature,
            }],
        }
    }

    /// Adds `key`'s cosignature made at `time` (seconds since the epoch);
    /// replaces an earlier one by the same key.
    pub fn cosign(&mut self, key: &SigningKey, time: u64) {
        let message = cosigned_message(time, &self.checkpoint.body());
        let signature = NoteSignature {
            key: key.public(),
            kind: SignatureKind::Cosignature { time },
            signature: key.sign(&message),
        };
        self.add(signature);
    }

    /// Adds a verified signature, one per authority (a proposer's
    /// signature is kept over a cosignature by the same key).
    fn add(&mut self, s: NoteSignature) {
        match self.signatures.iter_mut().find(|o| o.key == s.key) {
            Some(o) if o.kind == SignatureKind::Proposer => {}
            Some(o) => *o = s,
            None => {
                self.signatures.push(s);
                self.signatures.sort_by_key(|a| a.key);
            }
        }
    }

    /// Takes in the signatures of another copy of the same checkpoint;
    /// returns how many authorities were added. Copies of different
    /// bodies are not merged (0).
    pub fn merge(&mut self, other: &SignedCheckpoint) -> usize {
        if other.checkpoint != self.checkpoint {
            return 0;
        }
        let before = self.signatures.len();
        for s in &other.signatures {
            self.add(s.clone());
        }
        self.signatures.len() - before
    }

    /// The keys that signed, in key order.
    pub fn signers(&self) -> Vec<PublicKey> {
        self.signatures.iter().map(|s| s.key).collect()
    }

    /// Whether `k` authorities signed (the genesis' threshold).
    pub fn is_final(&self, genesis: &Genesis) -> bool {
        self.signatures.len() >= usize::from(genesis.checkpoint_threshold)
    }

    /// The display names of the authorities that signed, in genesis order.
    pub fn signer_names(&self, genesis: &Genesis) -> Vec<String> {
        genesis
            .authorities
            .iter()
            .filter(|a| self.signatures.iter().any(|s| s.key == a.key))
            .map(|a| a.name.clone())
            .collect()
    }

    /// The signed note: the body, a blank line, one line per signature.
    pub fn to_note(&self) -> String {
        let body = self.checkpoint.body();
        let mut note = format!("{body}\n");
        for s in &self.signatures {
            let name = key_name(&s.key);
            let mut blob = Vec::with_capacity(76);
            match s.kind {
                SignatureKind::Proposer => {
                    blob.extend_from_slice(&key_hash(&name, TYPE_ED25519, &s.key));
                }
                SignatureKind::Cosignature { time } => {
                    blob.extend_from_slice(&key_hash(&name, TYPE_COSIGNATURE, &s.key));
                    blob.extend_from_slice(&time.to_be_bytes());
                }
            }
            blob.extend_from_slice(&s.signature.0);
            note.push_str(&format!("\u{2014} {name} {}\n", B64.encode(blob)));
        }
        note
    }

    /// Reads a signed note of `genesis`' network. Signatures by keys the
    /// genesis does not name are ignored (as C2SP asks); a genesis
    /// authority's signature that does not verify refuses the whole note.
    pub fn from_note(text: &[u8], genesis: &Genesis) -> Result<Self, NoteError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::TooLarge(text.len()));
        }
        let text = std::str::from_utf8(text).map_err(|_| NoteError::NotText)?;
        let split = text.find("\n\n").ok_or(NoteError::NoSignatureBlock)?;
        let (body, sigs) = (&text[..=split], &text[split + 2..]);
        let checkpoint = Checkpoint::parse(body)?;
        let network = genesis.id();
        if checkpoint.network != network {
            return Err(NoteError::Network {
                expected: network.short(),
                found: checkpoint.network.short(),
            });
        }
        let Some(sigs) = sigs.strip_suffix('\n') else {
            return Err(NoteError::SignatureLine {
                line: 1,
                reason: "the note must end with a newline after its last signature",
            });
        };
        let lines: Vec<&str> = sigs.split('\n').collect();
        if lines.len() > MAX_SIGNATURE_LINES {
            return Err(NoteError::TooManySignatures);
        }
        let authorities: BTreeMap<String, &crate::genesis::Authority> = genesis
            .authorities
            .iter()
            .map(|a| (key_name(&a.key), a))
            .collect();
        let mut signed = SignedCheckpoint {
            checkpoint,
            signatures: Vec::new(),
        };
        for (i, line) in lines.iter().enumerate() {
            let bad = |reason| NoteError::SignatureLine {
                line: i + 1,
                reason,
            };
            let rest = line
                .strip_prefix("\u{2014} ")
                .ok_or(bad("it does not start with an em dash and a space"))?;
            let (name, blob) = rest
                .split_once(' ')
                .ok_or(bad("it needs a key name and a signature"))?;
            let blob = B64
                .decode(blob)
                .map_err(|_| bad("the signature is not base64"))?;
            let Some(authority) = authorities.get(name) else {
                continue;
            };
            let key = authority.key;
            let Some(sig) = read_signature(&blob, name, &key, body) else {
                continue; // a key hash of another key under the same name
            };
            let sig = sig.ok_or_else(|| NoteError::BadSignature(authority.name.clone()))?;
            signed.add(sig);
        }
        if signed.signatures.is_empty() {
            return Err(NoteError::Unsigned);
        }
        Ok(signed)
    }
}

/// One signature blob under an authority's name: `None` if its key hash is
/// not the authority's (for either type), `Some(None)` if it is but the
/// signature does not verify.
fn read_signature(
    blob: &[u8],
    name: &str,
    key: &PublicKey,
    body: &str,
) -> Option<Option<NoteSignature>> {
    let (hash, rest) = blob.split_first_chunk::<4>()?;
    let to_sig = |b: &[u8]| -> Option<Signature> { Some(Signature(b.try_into().ok()?)) };
    if *hash == key_hash(name, TYPE_ED25519, key) {
        let ok = to_sig(rest).filter(|s| key::verify(key, body.as_bytes(), s).is_ok());
        return Some(ok.map(|signature| NoteSignature {
            key: *key,
            kind: SignatureKind::Proposer,
            signature,
        }));
    }
    if *hash == key_hash(name, TYPE_COSIGNATURE, key) {
        let ok = rest.split_first_chunk::<8>().and_then(|(time, sig)| {
            let time = u64::from_be_bytes(*time);
            let sig = to_sig(sig)?;
            key::verify(key, &cosigned_message(time, body), &sig).ok()?;
            Some(NoteSignature {
                key: *key,
                kind: SignatureKind::Cosignature { time },
                signature: sig,
            })
        });
        return Some(ok);
    }
    None
}

/// Why two signed checkpoints cannot both be true.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contradiction {
    /// Two different checkpoints at one height.
    SameHeight,
    /// One tree size with two roots (or two status maps).
    SameSize,
    /// The later one's log does not extend the earlier one's: its size
    /// is smaller, or a consistency proof between them fails.
    NotAnExtension,
}

impl Contradiction {
    /// Plain words for people.
    pub fn describe(&self) -> &'static str {
        match self {
            Contradiction::SameHeight => "two different checkpoints at the same height",
            Contradiction::SameSize => "the same log size with two different roots",
            Contradiction::NotAnExtension => {
                "the later checkpoint's log does not extend the earlier one's"
            }
        }
    }
}

/// What the two checkpoints alone prove contradictory, without a
/// consistency proof: the same height or size with different contents, or
/// a later height with a smaller log. `None` when they agree as far as
/// can be told without the tree.
pub fn contradiction(a: &Checkpoint, b: &Checkpoint) -> Option<Contradiction> {
    if a == b {
        return None;
    }
    if a.height == b.height {
        return Some(Contradiction::SameHeight);
    }
    if a.size == b.size
        && (a.root != b.root || a.map_size != b.map_size || a.map_root != b.map_root)
    {
        return Some(Contradiction::SameSize);
    }
    let (early, late) = if a.height < b.height { (a, b) } else { (b, a) };
    if late.size < early.size {
        return Some(Contradiction::NotAnExtension);
    }
    None
}

/// Two signed checkpoints of one network that cannot both be true: the
/// proof that an authority (at least one of those that signed both
/// sides, or the proposers) lied. Nodes keep it and show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictProof {
    /// One checkpoint.
    pub a: SignedCheckpoint,
    /// The other.
    pub b: SignedCheckpoint,
    /// Why they cannot both hold.
    pub contradiction: Contradiction,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesis::{Authority, NetworkProfile, GENESIS_VERSION};

    fn keys(n: u8) -> Vec<SigningKey> {
        (1..=n).map(|i| SigningKey::from_seed(&[i; 32])).collect()
    }

    fn genesis(keys: &[SigningKey], k: u16) -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            network: "测试 network".into(),
            authorities: keys
                .iter()
                .enumerate()
                .map(|(i, s)| Authority {
                    key: s.public(),
                    name: format!("监管局 {i}"),
                })
                .collect(),
            checkpoint_threshold: k,
            created: 0,
            profile: NetworkProfile::default(),
        }
    }

    fn checkpoint(g: &Genesis) -> Checkpoint {
        Checkpoint {
            network: g.id(),
            size: 1024,
            root: Hash::of(b"root"),
            height: 7,
            time: 1_733_371_200_000,
            map_size: 12,
            map_root: Hash::of(b"map"),
            cut: cut_hash(&[Hash::of(b"tip")]),
            prev: Some(Hash::of(b"prev")),
        }
    }

    #[test]
    fn body_round_trips_and_only_canonical_text_parses() {
        let ks = keys(1);
        let g = genesis(&ks, 1);
        let c = checkpoint(&g);
        let body = c.body();
        assert_eq!(Checkpoint::parse(&body), Ok(c.clone()));
        let first = Checkpoint {
            height: 0,
            prev: None,
            ..c.clone()
        };
        assert_eq!(Checkpoint::parse(&first.body()), Ok(first));
        for bad in [
            body.replace("1024", "01024"),
            body.replace("height 7", "height  7"),
            body.trim_end().to_string(),
            format!("{body}extra\n"),
            body.replace("version 1", "version 2"),
            body.replace("prev ", "prev -").replace("prev -", "prev - "),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            Checkpoint::parse(&body.replace("version 1", "version 2")),
            Err(CheckpointError::Version(2))
        );
        let orphan = Checkpoint { prev: None, ..c };
        assert!(matches!(
            Checkpoint::parse(&orphan.body()),
            Err(CheckpointError::Prev { height: 7, .. })
        ));
    }

    #[test]
    fn proposer_and_cosigners_make_a_final_note() {
        let ks = keys(4);
        let g = genesis(&ks, 3);
        let mut s = SignedCheckpoint::propose(checkpoint(&g), &ks[0]);
        assert!(!s.is_final(&g));
        s.cosign(&ks[2], 1_733_371_201);
        s.cosign(&ks[2], 1_733_371_202);
        assert_eq!(s.signatures.len(), 2);
        s.cosign(&ks[3], 1_733_371_203);
        assert!(s.is_final(&g));
        let note = s.to_note();
        let read = SignedCheckpoint::from_note(note.as_bytes(), &g).expect("reads");
        assert_eq!(read, s);
        assert_eq!(read.to_note(), note);
        assert_eq!(
            read.signer_names(&g),
            vec!["监管局 0", "监管局 2", "监管局 3"]
        );
    }

    #[test]
    fn forged_foreign_and_unsigned_notes_are_refused() {
        let ks = keys(2);
        let g = genesis(&ks, 2);
        let s = SignedCheckpoint::propose(checkpoint(&g), &ks[0]);
        let note = s.to_note();
        // Another body under the same signature.
        let forged = note.replace("height 7", "height 8");
        assert_eq!(
            SignedCheckpoint::from_note(forged.as_bytes(), &g),
            Err(NoteError::BadSignature("监管局 0".into()))
        );
        // A stranger's signature is ignored, so the note is unsigned.
        let stranger = SigningKey::from_seed(&[9; 32]);
        let by_stranger = SignedCheckpoint::propose(checkpoint(&g), &stranger).to_note();
        assert_eq!(
            SignedCheckpoint::from_note(by_stranger.as_bytes(), &g),
            Err(NoteError::Unsigned)
        );
        // Another network.
        let other = genesis(&keys(3), 1);
        assert!(matches!(
            SignedCheckpoint::from_note(note.as_bytes(), &other),
            Err(NoteError::Network { .. })
        ));
        let body_only = checkpoint(&g).body();
        assert_eq!(
            SignedCheckpoint::from_note(body_only.as_bytes(), &g),
            Err(NoteError::NoSignatureBlock)
        );
        let big = vec![b'a'; MAX_NOTE_BYTES + 1];
        assert_eq!(
            SignedCheckpoint::from_note(&big, &g),
            Err(NoteError::TooLarge(MAX_NOTE_BYTES + 1))
        );
    }

    #[test]
    fn contradictions_are_found_without_the_tree() {
        let g = genesis(&keys(1), 1);
        let a = checkpoint(&g);
        let b = Checkpoint {
            root: Hash::of(b"other"),
            ..a.clone()
        };
        assert_eq!(contradiction(&a, &b), Some(Contradiction::SameHeight));
        let later_smaller = Checkpoint {
            height: 8,
            size: 1000,
            ..a.clone()
        };
        assert_eq!(
            contradiction(&a, &later_smaller),
            Some(Contradiction::NotAnExtension)
        );
        let later_same_size = Checkpoint {
            height: 8,
            root: Hash::of(b"x"),
            ..a.clone()
        };
        assert_eq!(
            contradiction(&a, &later_same_size),
            Some(Contradiction::SameSize)
        );
        let later = Checkpoint {
            height: 8,
            size: 2000,
            ..a.clone()
        };
        assert_eq!(contradiction(&a, &later), None);
        assert_eq!(contradiction(&a, &a), None);
    }
}
