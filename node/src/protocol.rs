//! The wire protocols between nodes, all bound to the network id: the
//! gossipsub topic, the sync request-response protocol and the identify
//! protocol version each name it, so nodes of different networks never
//! exchange records.

use ledger_core::encoding::MAX_RECORD_BYTES;
use ledger_core::NetworkId;
use serde::{Deserialize, Serialize};

/// Largest sync request: a [`SyncRequest::Records`] of
/// [`MAX_HASHES_PER_REQUEST`] hashes in CBOR is under 20 KiB, a
/// [`SyncRequest::LogFrom`] of [`MAX_LOG_FROM_CHAINS`] chains under
/// 180 KiB.
pub const MAX_REQUEST_BYTES: u64 = 256 * 1024;
/// Most chains one [`SyncRequest::LogFrom`] names (each ~45 bytes of
/// CBOR). A node lacking records of more chains reads the peer's log
/// from its cursor instead.
pub const MAX_LOG_FROM_CHAINS: usize = 4_000;
/// Largest sync response accepted from a peer: the record budget plus room
/// for one maximal record and the CBOR framing.
pub const MAX_RESPONSE_BYTES: u64 = 2 * RESPONSE_BUDGET_BYTES as u64 + MAX_RECORD_BYTES as u64;
/// Records a response carries stop growing past this many bytes (4 MiB:
/// ~13,000 ordinary records, a fraction of a second to validate).
pub const RESPONSE_BUDGET_BYTES: usize = 4 * 1024 * 1024;
/// Most records in one response, whatever their size.
pub const MAX_RECORDS_PER_RESPONSE: usize = 2_000;
/// Most hashes one [`SyncRequest::Records`] may name.
pub const MAX_HASHES_PER_REQUEST: usize = 256;
/// Most heads one response lists (an author table of ~5 MiB of CBOR);
/// networks beyond 50,000 participants need a paged heads exchange.
pub const MAX_HEADS: usize = 50_000;
/// Largest gossip message: one record.
pub const MAX_GOSSIP_BYTES: usize = MAX_RECORD_BYTES + 1024;

/// The gossipsub topic new records are announced on.
pub fn topic(network: &NetworkId) -> String {
    format!("terroir/{}/records", network.to_hex())
}

/// The gossipsub topic checkpoints travel on: proposals, cosignatures
/// and final checkpoints, each a [`CheckpointItem`] in CBOR.
pub fn checkpoint_topic(network: &NetworkId) -> String {
    format!("terroir/{}/checkpoints", network.to_hex())
}

/// The sync protocol name. Version 2 added [`SyncRequest::Log`] and
/// [`SyncResponse::Log`], version 3 [`SyncRequest::LogFrom`], version 4
/// [`SyncRequest::Checkpoints`]; nodes speaking an older version do not
/// negotiate it.
pub fn sync_protocol(network: &NetworkId) -> String {
    format!("/terroir/{}/sync/4", network.to_hex())
}

/// Most tips a checkpoint's cut names, so a [`CheckpointItem`] fits in
/// one gossip message (64 KiB): a proposer with more chains to cover
/// leaves the rest to the next checkpoint.
pub const MAX_CUT_TIPS: usize = 1_500;

/// Most checkpoints one [`SyncResponse::Checkpoints`] carries (each at
/// most a gossip message: under 4.2 MiB in all).
pub const MAX_CHECKPOINTS_PER_RESPONSE: usize = 64;

/// A checkpoint as nodes exchange it: its signed note and the tips of
/// its cut, without which a node cannot recompute it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointItem {
    /// The C2SP signed note, with the signatures the sender holds.
    pub note: String,
    /// The cut's tips, 32 bytes each, concatenated (CBOR bytes).
    #[serde(with = "serde_bytes")]
    pub tips: Vec<u8>,
}

impl CheckpointItem {
    /// An item of a note and its cut's tips.
    pub fn new(note: String, tips: &[ledger_core::Hash]) -> Self {
        CheckpointItem {
            note,
            tips: tips.iter().flat_map(|h| h.0).collect(),
        }
    }

    /// The tips, or `None` if the bytes are not whole hashes or too many.
    pub fn tips(&self) -> Option<Vec<ledger_core::Hash>> {
        if !self.tips.len().is_multiple_of(32) || self.tips.len() / 32 > MAX_CUT_TIPS {
            return None;
        }
        Some(
            self.tips
                .chunks_exact(32)
                .filter_map(|c| c.try_into().ok().map(ledger_core::Hash))
                .collect(),
        )
    }

    /// The tips, if they are the cut `cut` names (the note commits to the
    /// hash of its tips; tips travel unsigned beside it).
    pub fn tips_of(&self, cut: &ledger_core::Hash) -> Option<Vec<ledger_core::Hash>> {
        self.tips()
            .filter(|t| ledger_core::checkpoint::cut_hash(t) == *cut)
    }

    /// CBOR bytes (what gossip carries).
    pub fn to_cbor(&self) -> Vec<u8> {
        // Writing CBOR into a Vec cannot fail.
        cbor4ii::serde::to_vec(Vec::new(), self).unwrap_or_default()
    }

    /// Reads gossip bytes.
    pub fn from_cbor(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_GOSSIP_BYTES {
            return None;
        }
        cbor4ii::serde::from_slice(bytes).ok()
    }
}

/// The identify protocol version; a peer announcing another is refused.
pub fn identify_version(network: &NetworkId) -> String {
    format!("/terroir/{}/1", network.to_hex())
}

/// One author's chain as a peer holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    /// The author's key.
    pub author: [u8; 32],
    /// Seq of its main-branch head.
    pub seq: u64,
    /// Hash of its main-branch head.
    pub hash: [u8; 32],
    /// Records of the author stored, forks included.
    pub count: u64,
}

/// A sync request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncRequest {
    /// Every author's head.
    Heads,
    /// An author's records from a seq on (forks included), in seq order.
    Chain {
        /// The author.
        author: [u8; 32],
        /// First seq wanted.
        from_seq: u64,
    },
    /// Records by hash (at most [`MAX_HASHES_PER_REQUEST`]).
    Records {
        /// The hashes.
        hashes: Vec<[u8; 32]>,
    },
    /// The peer's log from a cursor on: the records it accepted after its
    /// log seq `after`, in the order it accepted them, which is causal (a
    /// record's prev and deps come before it). Log seqs are the peer's
    /// own; they number records differently on every node.
    Log {
        /// The last log seq already received (0 for the whole log).
        after: u64,
    },
    /// The peer's log from where the first record we lack of any of these
    /// chains stands in it: answered with a [`SyncResponse::Log`] page
    /// after the log seq before the earliest of them (or after `after`,
    /// if later), so a node
    /// that holds much of the ledger and has no cursor for this peer
    /// skips the log it already holds. Everything before that point in
    /// the peer's log is a record of a chain we hold at least that far.
    LogFrom {
        /// A cursor kept for this peer (0 if none): the page starts past
        /// it too.
        after: u64,
        /// Each chain we lack records of, at most [`MAX_LOG_FROM_CHAINS`].
        firsts: Vec<ChainFrom>,
    },
    /// The final checkpoints from a height on, with their cuts: what a
    /// node that missed some needs to extend its log.
    Checkpoints {
        /// The first height wanted.
        from_height: u64,
    },
}

/// A chain and the first seq of it a node lacks (0 for an author it knows
/// nothing of, or a forked chain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainFrom {
    /// The chain's author (CBOR bytes, not an array of 32 numbers).
    #[serde(with = "serde_bytes")]
    pub author: [u8; 32],
    /// The first seq lacked.
    pub seq: u64,
}

/// A sync response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncResponse {
    /// Answer to [`SyncRequest::Heads`].
    Heads {
        /// The heads, at most [`MAX_HEADS`].
        heads: Vec<Head>,
    },
    /// Answer to [`SyncRequest::Chain`] and [`SyncRequest::Records`].
    Records {
        /// Canonical bytes of signed records.
        records: Vec<serde_bytes::ByteBuf>,
        /// For a chain cut short by the budget: the seq to ask from next.
        next_seq: Option<u64>,
    },
    /// Answer to [`SyncRequest::Log`]: log entries after `after`, in log
    /// order, cut by [`RESPONSE_BUDGET_BYTES`] and
    /// [`MAX_RECORDS_PER_RESPONSE`].
    Log {
        /// Canonical bytes of signed records, in the peer's log order.
        records: Vec<serde_bytes::ByteBuf>,
        /// The peer's log seq of the last record sent (`after` if none):
        /// the cursor to ask from next.
        last: u64,
        /// The peer's log end when it answered; `last == end` means the
        /// whole log was sent. Below `after` when the peer's log is
        /// shorter than the cursor (it is not the log the cursor was in).
        end: u64,
    },
    /// Answer to [`SyncRequest::Checkpoints`]: final checkpoints in
    /// height order, at most [`MAX_CHECKPOINTS_PER_RESPONSE`].
    Checkpoints {
        /// The checkpoints.
        items: Vec<CheckpointItem>,
    },
    /// The request was refused.
    Refused {
        /// Why.
        reason: String,
    },
}

/// The Kademlia protocol name: peers of other networks never share a
/// routing table.
pub fn kad_protocol(network: &NetworkId) -> String {
    format!("/terroir/{}/kad/1", network.to_hex())
}
