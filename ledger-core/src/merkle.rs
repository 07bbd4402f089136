//! Merkle tree hashing and proofs for a transparency log of record hashes,
//! as defined by RFC 9162 (Certificate Transparency v2), §2.1.
//!
//! The log's leaves are 32-byte leaf hashes ([`leaf_hash`] of the logged
//! bytes). The tree over `n` leaves is the RFC's `MTH(D[n])`: an empty tree
//! hashes to [`empty_root`], one leaf is its own hash, and a larger tree
//! splits at `k`, the largest power of two below `n`, into a complete left
//! subtree over `D[0:k]` and a right subtree over `D[k:n]`, joined by
//! [`node_hash`].
//!
//! Every subtree in that recursion is made of a few complete ("perfect",
//! aligned) subtrees, so proofs here read stored nodes through [`Nodes`]
//! rather than rehashing leaves: a log keeps the hashes its [`Frontier`]
//! reports as final and serves proofs in `O(log n)` reads.
//!
//! Also here: batch inclusion proofs ([`batch_proof`], [`verify_batch`]) and
//! the C2SP `tlog-tiles` paths ([`tile_path`], [`parse_tile_path`]).

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

use crate::hash::Hash;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash.
const NODE_PREFIX: u8 = 0x01;
/// Length of one hash in bytes.
const HASH_LEN: usize = 32;

/// Hash of a leaf: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([LEAF_PREFIX]);
    h.update(data);
    Hash(h.finalize().into())
}

/// Hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([NODE_PREFIX]);
    h.update(left.0);
    h.update(right.0);
    Hash(h.finalize().into())
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    Hash::of(&[])
}

/// `MTH` over the given leaf hashes, computed by the naive recursion of
/// RFC 9162 §2.1.1. Linear in the number of leaves; meant for small trees
/// and as the reference the other functions are tested against.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves {
        [] => empty_root(),
        [one] => *one,
        _ => {
            let k = split_point(leaves.len() as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly below `n`; `n` must be at least 2.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// A source of stored hashes of complete ("perfect", aligned) subtrees.
///
/// `node(level, index)` is the hash of the subtree over the leaves
/// `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes.
/// Only nodes of complete subtrees inside the tree are ever asked for.
pub trait Nodes {
    /// Why a node could not be read.
    type Error;

    /// The hash of the complete subtree at `level` and `index`.
    fn node(&self, level: u8, index: u64) -> Result<Hash, Self::Error>;
}

/// A node asked of an in-memory slice of leaf hashes lies outside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no complete subtree at level {level}, index {index} among {leaves} leaves")]
pub struct MissingNode {
    /// The level asked for.
    pub level: u8,
    /// The index asked for.
    pub index: u64,
    /// How many leaves the slice holds.
    pub leaves: usize,
}

/// Leaf hashes held in memory; higher levels are computed by hashing, so a
/// node at level `l` costs `2^l` hashes. For tests and small trees.
impl Nodes for [Hash] {
    type Error = MissingNode;

    fn node(&self, level: u8, index: u64) -> Result<Hash, MissingNode> {
        let missing = || MissingNode {
            level,
            index,
            leaves: self.len(),
        };
        let range = subtree_range(level, index).ok_or_else(missing)?;
        let (start, end) = (range.0 as usize, range.1 as usize);
        if range.1 > self.len() as u64 {
            return Err(missing());
        }
        Ok(root_of(&self[start..end]))
    }
}

/// The leaf range `[start, end)` of a complete subtree, if it fits in `u64`.
fn subtree_range(level: u8, index: u64) -> Option<(u64, u64)> {
    let width = 1u64.checked_shl(u32::from(level))?;
    let start = index.checked_mul(width)?;
    let end = start.checked_add(width)?;
    Some((start, end))
}

/// The hash of the subtree over `D[lo:lo+n]` of the RFC recursion (`n >= 1`).
///
/// Every such subtree starts at a multiple of the next power of two at or
/// above `n`, so it is the fold of the complete subtrees named by the set
/// bits of `n`, largest (leftmost) first.
fn subtree_hash<N: Nodes + ?Sized>(nodes: &N, lo: u64, n: u64) -> Result<Hash, N::Error> {
    let mut peaks = Vec::with_capacity(n.count_ones() as usize);
    let mut start = lo;
    for level in (0..64u8).rev() {
        let width = 1u64 << level;
        if n & width != 0 {
            peaks.push(nodes.node(level, start >> level)?);
            start += width;
        }
    }
    Ok(fold_peaks(&peaks))
}

/// Joins complete subtrees, left to right, into the RFC root: the rightmost
/// two are joined first.
fn fold_peaks(peaks: &[Hash]) -> Hash {
    let mut iter = peaks.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    iter.fold(*last, |acc, left| node_hash(left, &acc))
}

/// The root of the tree of the first `size` leaves; `size` 0 gives
/// [`empty_root`]. Reads one node per set bit of `size`.
pub fn root<N: Nodes + ?Sized>(nodes: &N, size: u64) -> Result<Hash, N::Error> {
    if size == 0 {
        return Ok(empty_root());
    }
    subtree_hash(nodes, 0, size)
}

/// Why a proof could not be produced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// A leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The index asked for.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// A consistency proof was asked from the empty tree.
    #[error("there is no consistency proof from the empty tree")]
    FromEmpty,
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("the old tree size {old_size} is larger than the new size {new_size}")]
    Shrinks {
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// A batch proof was asked for no leaves.
    #[error("a batch proof needs at least one leaf index")]
    NoIndices,
    /// Batch indices are not strictly increasing.
    #[error("leaf index {next} follows {previous}: indices must be strictly increasing")]
    Unsorted {
        /// The earlier index in the list.
        previous: u64,
        /// The index that does not exceed it.
        next: u64,
    },
    /// The node store failed.
    #[error("the node store failed")]
    Store(#[source] E),
}

impl<E> ProofError<E> {
    /// Wraps a store error.
    fn store(e: E) -> Self {
        ProofError::Store(e)
    }
}

/// Why a proof, a hash or a frontier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A hash was not 32 bytes (or hash bytes not a multiple of 32).
    #[error("expected 32-byte hashes, got {got} bytes")]
    HashLength {
        /// The byte length given.
        got: usize,
    },
    /// Consistency from the empty tree proves nothing and is refused.
    #[error("a consistency proof from the empty tree proves nothing")]
    FromEmpty,
    /// A leaf index is not inside the tree.
    #[error("leaf index {index} is outside a tree of {size} leaves")]
    IndexOutOfRange {
        /// The index given.
        index: u64,
        /// The tree size.
        size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("the old tree size {old_size} is larger than the new size {new_size}")]
    Shrinks {
        /// The older size.
        old_size: u64,
        /// The newer size.
        new_size: u64,
    },
    /// The proof has the wrong number of hashes for the sizes given.
    #[error("the proof has {got} hashes where {expected} are needed")]
    ProofLength {
        /// How many the sizes call for.
        expected: usize,
        /// How many were given.
        got: usize,
    },
    /// The proof does not lead to the (new) root.
    #[error("the proof does not lead to the expected root")]
    RootMismatch,
    /// A consistency proof does not lead to the old root.
    #[error("the proof does not lead to the old root")]
    OldRootMismatch,
    /// A batch proof was given no leaves.
    #[error("a batch proof needs at least one leaf")]
    NoLeaves,
    /// Batch leaves are not in strictly increasing index order.
    #[error("leaf index {next} follows {previous}: indices must be strictly increasing")]
    Unsorted {
        /// The earlier index in the list.
        previous: u64,
        /// The index that does not exceed it.
        next: u64,
    },
    /// A frontier's peak count does not match its size.
    #[error("a tree of {size} leaves has {expected} peaks, got {got}")]
    PeakCount {
        /// The tree size.
        size: u64,
        /// One per set bit of the size.
        expected: usize,
        /// How many were given.
        got: usize,
    },
}

/// The inclusion proof `PATH(m, D[n])` of RFC 9162 §2.1.3.1 for leaf `index`
/// in the tree of `size` leaves, bottom-up (the leaf's sibling first).
pub fn inclusion_proof<N: Nodes + ?Sized>(
    nodes: &N,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let (mut lo, mut n) = (0u64, size);
    let mut siblings = Vec::new();
    while n > 1 {
        let k = split_point(n);
        if index < lo + k {
            siblings.push(subtree_hash(nodes, lo + k, n - k).map_err(ProofError::store)?);
            n = k;
        } else {
            siblings.push(subtree_hash(nodes, lo, k).map_err(ProofError::store)?);
            lo += k;
            n -= k;
        }
    }
    siblings.reverse();
    Ok(siblings)
}

/// The consistency proof `PROOF(m, D[n])` of RFC 9162 §2.1.4.1 between the
/// tree of `old_size` leaves and that of `new_size`. Equal sizes give an
/// empty proof; an empty old tree or a shrinking one is refused.
pub fn consistency_proof<N: Nodes + ?Sized>(
    nodes: &N,
    old_size: u64,
    new_size: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    check_sizes(old_size, new_size)?;
    let (mut lo, mut n, mut m) = (0u64, new_size, old_size);
    let mut whole_old_tree = true;
    let mut siblings = Vec::new();
    while m < n {
        let k = split_point(n);
        if m <= k {
            siblings.push(subtree_hash(nodes, lo + k, n - k).map_err(ProofError::store)?);
            n = k;
        } else {
            siblings.push(subtree_hash(nodes, lo, k).map_err(ProofError::store)?);
            lo += k;
            n -= k;
            m -= k;
            whole_old_tree = false;
        }
    }
    if !whole_old_tree {
        siblings.push(subtree_hash(nodes, lo, n).map_err(ProofError::store)?);
    }
    siblings.reverse();
    Ok(siblings)
}

/// Refuses consistency between an empty or a larger old tree.
fn check_sizes<E>(old_size: u64, new_size: u64) -> Result<(), ProofError<E>> {
    if old_size == 0 {
        return Err(ProofError::FromEmpty);
    }
    if old_size > new_size {
        return Err(ProofError::Shrinks { old_size, new_size });
    }
    Ok(())
}

/// How many hashes `PATH(index, D[size])` has (`index < size`).
fn inclusion_len(index: u64, size: u64) -> usize {
    let (mut lo, mut n, mut len) = (0u64, size, 0usize);
    while n > 1 {
        let k = split_point(n);
        if index < lo + k {
            n = k;
        } else {
            lo += k;
            n -= k;
        }
        len += 1;
    }
    len
}

/// How many hashes `PROOF(old_size, D[new_size])` has (`0 < old <= new`).
fn consistency_len(old_size: u64, new_size: u64) -> usize {
    let (mut n, mut m, mut len) = (new_size, old_size, 0usize);
    let mut whole_old_tree = true;
    while m < n {
        let k = split_point(n);
        if m <= k {
            n = k;
        } else {
            n -= k;
            m -= k;
            whole_old_tree = false;
        }
        len += 1;
    }
    len + usize::from(!whole_old_tree)
}

/// Checks an inclusion proof with the algorithm of RFC 9162 §2.1.3.2: that
/// `leaf` is the leaf hash at `index` in the tree of `size` leaves whose
/// root is `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    expect_len(inclusion_len(index, size), proof.len())?;
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(VerifyError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 || r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Refuses a proof whose length is not the one the sizes call for.
fn expect_len(expected: usize, got: usize) -> Result<(), VerifyError> {
    if expected == got {
        Ok(())
    } else {
        Err(VerifyError::ProofLength { expected, got })
    }
}

/// Checks a consistency proof with the algorithm of RFC 9162 §2.1.4.2: that
/// the tree of `old_size` leaves with root `old_root` is a prefix of the tree
/// of `new_size` leaves with root `new_root`.
///
/// An old size of 0 is refused ([`VerifyError::FromEmpty`]): the empty tree
/// is a prefix of every tree, so such a "proof" proves nothing. Equal sizes
/// need an empty proof and equal roots.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size == 0 {
        return Err(VerifyError::FromEmpty);
    }
    if old_size > new_size {
        return Err(VerifyError::Shrinks { old_size, new_size });
    }
    expect_len(consistency_len(old_size, new_size), proof.len())?;
    if old_size == new_size {
        return if old_root == new_root {
            Ok(())
        } else {
            Err(VerifyError::RootMismatch)
        };
    }
    let (fr, sr, sn) = consistency_walk(old_size, new_size, old_root, proof)?;
    if sn != 0 || sr != *new_root {
        return Err(VerifyError::RootMismatch);
    }
    if fr != *old_root {
        return Err(VerifyError::OldRootMismatch);
    }
    Ok(())
}

/// Steps 2–6 of RFC 9162 §2.1.4.2 (`0 < old < new`, proof non-empty):
/// returns the recomputed old root, new root and the final `sn`.
fn consistency_walk(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    proof: &[Hash],
) -> Result<(Hash, Hash, u64), VerifyError> {
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fn_, mut sn) = (old_size - 1, new_size - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let Some((first, rest)) = path.split_first() else {
        return Err(VerifyError::ProofLength {
            expected: 1,
            got: 0,
        });
    };
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(VerifyError::RootMismatch);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    Ok((fr, sr, sn))
}

/// Splits concatenated 32-byte hashes; a length that is not a multiple of 32
/// is refused.
pub fn hashes_from_bytes(bytes: &[u8]) -> Result<Vec<Hash>, VerifyError> {
    if bytes.len() % HASH_LEN != 0 {
        return Err(VerifyError::HashLength { got: bytes.len() });
    }
    bytes.chunks_exact(HASH_LEN).map(hash_from_slice).collect()
}

/// Reads one hash from exactly 32 bytes.
pub fn hash_from_slice(bytes: &[u8]) -> Result<Hash, VerifyError> {
    <[u8; HASH_LEN]>::try_from(bytes)
        .map(Hash)
        .map_err(|_| VerifyError::HashLength { got: bytes.len() })
}

/// A batch ("multi") inclusion proof: the hashes needed to recompute the root
/// from a set of leaves at once.
///
/// Precisely: walk the RFC 9162 recursion `MTH(D[lo:hi])` top-down from the
/// whole tree, splitting `D[lo:hi]` at `lo + k` (`k` the largest power of two
/// below `hi - lo`) and visiting the left part before the right. A subtree
/// that contains none of the given leaves contributes its hash to the proof,
/// in that walk order, and is not descended; a single given leaf contributes
/// nothing. The proof is thus ordered by position in the tree, left to
/// right. For one leaf it holds the same hashes as the RFC path (in that
/// order rather than bottom-up); for many leaves, nodes their paths share
/// are sent once and nodes one leaf's path would send for another are not
/// sent at all.
///
/// `indices` must be non-empty, strictly increasing and below `size`.
pub fn batch_proof<N: Nodes + ?Sized>(
    nodes: &N,
    indices: &[u64],
    size: u64,
) -> Result<Vec<Hash>, ProofError<N::Error>> {
    check_indices(indices.iter().copied(), size).map_err(|e| match e {
        IndexProblem::Empty => ProofError::NoIndices,
        IndexProblem::Unsorted { previous, next } => ProofError::Unsorted { previous, next },
        IndexProblem::OutOfRange { index } => ProofError::IndexOutOfRange { index, size },
    })?;
    let mut proof = Vec::new();
    batch_walk(nodes, indices, 0, size, &mut proof).map_err(ProofError::store)?;
    Ok(proof)
}

/// Emits the batch proof hashes of the subtree `D[lo:lo+n]` holding `indices`.
fn batch_walk<N: Nodes + ?Sized>(
    nodes: &N,
    indices: &[u64],
    lo: u64,
    n: u64,
    proof: &mut Vec<Hash>,
) -> Result<(), N::Error> {
    if indices.is_empty() {
        proof.push(subtree_hash(nodes, lo, n)?);
        return Ok(());
    }
    if n == 1 {
        return Ok(());
    }
    let k = split_point(n);
    let (left, right) = indices.split_at(indices.partition_point(|&i| i < lo + k));
    batch_walk(nodes, left, lo, k, proof)?;
    batch_walk(nodes, right, lo + k, n - k, proof)
}

/// What is wrong with a list of batch indices.
enum IndexProblem {
    Empty,
    Unsorted { previous: u64, next: u64 },
    OutOfRange { index: u64 },
}

/// Checks that indices are non-empty, strictly increasing and below `size`.
fn check_indices(mut indices: impl Iterator<Item = u64>, size: u64) -> Result<(), IndexProblem> {
    let Some(mut previous) = indices.next() else {
        return Err(IndexProblem::Empty);
    };
    for next in indices {
        if next <= previous {
            return Err(IndexProblem::Unsorted { previous, next });
        }
        previous = next;
    }
    if previous >= size {
        return Err(IndexProblem::OutOfRange { index: previous });
    }
    Ok(())
}

/// Checks a [`batch_proof`]: that `leaves` (index, leaf hash), strictly
/// increasing by index, are in the tree of `size` leaves whose root is
/// `root`. Every proof hash must be used.
pub fn verify_batch(
    leaves: &[(u64, Hash)],
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    check_indices(leaves.iter().map(|l| l.0), size).map_err(|e| match e {
        IndexProblem::Empty => VerifyError::NoLeaves,
        IndexProblem::Unsorted { previous, next } => VerifyError::Unsorted { previous, next },
        IndexProblem::OutOfRange { index } => VerifyError::IndexOutOfRange { index, size },
    })?;
    let indices: Vec<u64> = leaves.iter().map(|l| l.0).collect();
    expect_len(batch_len(&indices, 0, size), proof.len())?;
    let mut cursor = BatchCursor { leaves, proof };
    let got = cursor.subtree(0, size)?;
    if got != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// How many hashes the batch proof for `indices` in `D[lo:lo+n]` has.
fn batch_len(indices: &[u64], lo: u64, n: u64) -> usize {
    if indices.is_empty() {
        return 1;
    }
    if n == 1 {
        return 0;
    }
    let k = split_point(n);
    let (left, right) = indices.split_at(indices.partition_point(|&i| i < lo + k));
    batch_len(left, lo, k) + batch_len(right, lo + k, n - k)
}

/// The leaves and proof hashes not yet consumed by a batch verification.
struct BatchCursor<'a> {
    leaves: &'a [(u64, Hash)],
    proof: &'a [Hash],
}

impl BatchCursor<'_> {
    /// Recomputes the hash of `D[lo:lo+n]`, consuming its leaves and hashes.
    fn subtree(&mut self, lo: u64, n: u64) -> Result<Hash, VerifyError> {
        let inside = self.leaves.partition_point(|l| l.0 < lo + n);
        if inside == 0 {
            return self.next_proof_hash();
        }
        if n == 1 {
            let (leaf, rest) = self.leaves.split_at(1);
            self.leaves = rest;
            return Ok(leaf[0].1);
        }
        let k = split_point(n);
        let left = self.subtree(lo, k)?;
        let right = self.subtree(lo + k, n - k)?;
        Ok(node_hash(&left, &right))
    }

    /// Takes the next proof hash.
    fn next_proof_hash(&mut self) -> Result<Hash, VerifyError> {
        let Some((first, rest)) = self.proof.split_first() else {
            return Err(VerifyError::RootMismatch);
        };
        self.proof = rest;
        Ok(*first)
    }
}

/// The right edge of an append-only tree: the hashes of the complete
/// subtrees ("peaks") the leaves so far decompose into, one per set bit of
/// the size, largest (leftmost) first. Lets a log append leaves and learn
/// which complete-subtree nodes become final.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rebuilds a frontier from its size and peaks (largest first); the peak
    /// count must equal the number of set bits of `size`.
    pub fn from_parts(size: u64, peaks: Vec<Hash>) -> Result<Self, VerifyError> {
        let expected = size.count_ones() as usize;
        if peaks.len() != expected {
            return Err(VerifyError::PeakCount {
                size,
                expected,
                got: peaks.len(),
            });
        }
        Ok(Frontier { size, peaks })
    }

    /// How many leaves have been pushed.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The peaks, largest (leftmost) first.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Appends one leaf hash. Pushes `(level, index, hash)` onto `completed`
    /// for the leaf itself (level 0) and for every complete subtree it
    /// completes, lowest first: exactly the nodes that became final.
    pub fn push(&mut self, leaf: Hash, completed: &mut Vec<(u8, u64, Hash)>) {
        let index = self.size;
        completed.push((0, index, leaf));
        let mut hash = leaf;
        let mut level = 0u8;
        while index >> level & 1 == 1 {
            let Some(left) = self.peaks.pop() else {
                break;
            };
            hash = node_hash(&left, &hash);
            level += 1;
            completed.push((level, index >> level, hash));
        }
        self.peaks.push(hash);
        self.size += 1;
    }

    /// The root of the tree of all leaves pushed; equals [`root_of`] over
    /// them.
    pub fn root(&self) -> Hash {
        fold_peaks(&self.peaks)
    }
}

/// Hashes per full tile: C2SP tlog-tiles uses tiles of height 8.
pub const TILE_WIDTH: u16 = 256;

/// What a tile path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TileKind {
    /// A tile of node hashes at a tile level (tile level `l` holds tree
    /// level `8 * l`).
    Hashes {
        /// The tile level.
        level: u8,
    },
    /// A tile of log entries (`tile/entries/…`).
    Entries,
}

/// The highest tile level a path may name.
const MAX_TILE_LEVEL: u8 = 63;

/// The C2SP tlog-tiles path of the hash tile at tile `level` and `index`
/// holding `width` hashes: `tile/<L>/<N>[.p/<W>]`, e.g.
/// `tile_path(0, 1234067, 256) == "tile/0/x001/x234/067"`. A width of 256
/// names the full tile; widths 1 to 255 add `.p/<W>`. A width of 0 or above
/// 256 names no tile and is written as the full tile.
pub fn tile_path(level: u8, index: u64, width: u16) -> String {
    format!("tile/{level}/{}", index_and_width(index, width))
}

/// The C2SP tlog-tiles path of the entry bundle at `index` holding `width`
/// entries: `tile/entries/<N>[.p/<W>]`, widths as for [`tile_path`].
pub fn entries_path(index: u64, width: u16) -> String {
    format!("tile/entries/{}", index_and_width(index, width))
}

/// `<N>[.p/<W>]`: the index in 3-digit groups, all but the last prefixed
/// with `x`, and the partial-width suffix.
fn index_and_width(index: u64, width: u16) -> String {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    let mut out = String::new();
    for (i, group) in groups.iter().rev().enumerate() {
        let prefix = if i + 1 < groups.len() { "x" } else { "" };
        let _ = write!(out, "{prefix}{group:03}/");
    }
    out.pop();
    if (1..TILE_WIDTH).contains(&width) {
        let _ = write!(out, ".p/{width}");
    }
    out
}

/// Why a tile path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TilePathError {
    /// The path does not start with `tile/`.
    #[error("a tile path starts with \"tile/\"")]
    NotTile,
    /// The level is not a decimal number from 0 to 63 without leading zeros.
    #[error("tile level {got:?} is not a number from 0 to 63 without leading zeros")]
    Level {
        /// The level as written.
        got: String,
    },
    /// The path has no index after the level.
    #[error("the tile path has no index")]
    NoIndex,
    /// An index group is not three digits, with `x` before all but the last.
    #[error("index part {got:?} is not three digits (with an \"x\" before all but the last)")]
    IndexGroup {
        /// The group as written.
        got: String,
    },
    /// The index starts with a zero group (`x000/…`), which is not canonical.
    #[error("the index starts with a zero group \"x000\"")]
    LeadingZeroGroup,
    /// The index does not fit in 64 bits.
    #[error("the index is too large")]
    IndexTooLarge,
    /// The partial width is not a number from 1 to 255 without leading zeros.
    #[error("partial tile width {got:?} is not a number from 1 to 255 without leading zeros")]
    Width {
        /// The width as written.
        got: String,
    },
}

/// Parses a C2SP tlog-tiles path (`tile/<L>/<N>[.p/<W>]` or
/// `tile/entries/<N>[.p/<W>]`) into what it names, the index and the width
/// (256 for a full tile). Refuses any path [`tile_path`] or [`entries_path`]
/// would not write.
pub fn parse_tile_path(path: &str) -> Result<(TileKind, u64, u16), TilePathError> {
    let rest = path.strip_prefix("tile/").ok_or(TilePathError::NotTile)?;
    let (kind, rest) = rest.split_once('/').ok_or(TilePathError::NoIndex)?;
    let kind = parse_kind(kind)?;
    let (index_part, width) = match rest.split_once(".p/") {
        Some((index_part, width)) => (index_part, parse_width(width)?),
        None => (rest, TILE_WIDTH),
    };
    Ok((kind, parse_index(index_part)?, width))
}

/// `entries` or a tile level.
fn parse_kind(s: &str) -> Result<TileKind, TilePathError> {
    if s == "entries" {
        return Ok(TileKind::Entries);
    }
    let bad = || TilePathError::Level { got: s.to_owned() };
    let level = parse_decimal(s).ok_or_else(bad)?;
    match u8::try_from(level) {
        Ok(level) if level <= MAX_TILE_LEVEL => Ok(TileKind::Hashes { level }),
        _ => Err(bad()),
    }
}

/// A partial width: 1 to 255.
fn parse_width(s: &str) -> Result<u16, TilePathError> {
    let bad = || TilePathError::Width { got: s.to_owned() };
    let width = parse_decimal(s).ok_or_else(bad)?;
    match u16::try_from(width) {
        Ok(w) if (1..TILE_WIDTH).contains(&w) => Ok(w),
        _ => Err(bad()),
    }
}

/// A decimal number of at most 5 digits without leading zeros.
fn parse_decimal(s: &str) -> Option<u32> {
    let canonical = !s.is_empty()
        && s.len() <= 5
        && s.bytes().all(|b| b.is_ascii_digit())
        && (s == "0" || !s.starts_with('0'));
    if !canonical {
        return None;
    }
    s.parse().ok()
}

/// The index groups: `x` + 3 digits for all but the last, 3 digits last.
fn parse_index(s: &str) -> Result<u64, TilePathError> {
    if s.is_empty() {
        return Err(TilePathError::NoIndex);
    }
    let groups: Vec<&str> = s.split('/').collect();
    let last = groups.len() - 1;
    let mut index = 0u64;
    for (i, group) in groups.iter().enumerate() {
        let digits = if i < last {
            group.strip_prefix('x')
        } else {
            Some(*group)
        };
        let value = digits
            .and_then(three_digits)
            .ok_or_else(|| TilePathError::IndexGroup {
                got: (*group).to_owned(),
            })?;
        if i == 0 && i < last && value == 0 {
            return Err(TilePathError::LeadingZeroGroup);
        }
        index = index
            .checked_mul(1000)
            .and_then(|x| x.checked_add(value))
            .ok_or(TilePathError::IndexTooLarge)?;
    }
    Ok(index)
}

/// Exactly three ASCII digits.
fn three_digits(s: &str) -> Option<u64> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_point_is_largest_power_of_two_below() {
        let cases = [
            (2, 1),
            (3, 2),
            (4, 2),
            (5, 4),
            (8, 4),
            (9, 8),
            (1 << 40, 1 << 39),
        ];
        for (n, k) in cases {
            assert_eq!(split_point(n), k, "n = {n}");
        }
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn lengths_match_generated_proofs() {
        let leaves: Vec<Hash> = (0u32..40).map(|i| leaf_hash(&i.to_le_bytes())).collect();
        for size in 1..=40u64 {
            for index in 0..size {
                let proof = inclusion_proof(&leaves[..], index, size).unwrap();
                assert_eq!(proof.len(), inclusion_len(index, size));
                let batch = batch_proof(&leaves[..], &[index], size).unwrap();
                assert_eq!(batch.len(), batch_len(&[index], 0, size));
            }
            for old in 1..=size {
                let proof = consistency_proof(&leaves[..], old, size).unwrap();
                assert_eq!(proof.len(), consistency_len(old, size), "{old} -> {size}");
            }
        }
    }

    #[test]
    fn slice_nodes_refuse_outside_and_overflow() {
        let leaves = [leaf_hash(b"a"); 5];
        assert!(leaves[..].node(2, 1).is_err());
        assert!(leaves[..].node(0, 5).is_err());
        assert!(leaves[..].node(64, 0).is_err());
        assert!(leaves[..].node(1, u64::MAX).is_err());
        assert_eq!(leaves[..].node(2, 0).unwrap(), root_of(&leaves[..4]));
    }

    #[test]
    fn fold_peaks_of_nothing_is_empty_root() {
        assert_eq!(fold_peaks(&[]), empty_root());
    }

    #[test]
    fn index_groups() {
        assert_eq!(index_and_width(0, 256), "000");
        assert_eq!(index_and_width(999, 256), "999");
        assert_eq!(index_and_width(1000, 256), "x001/000");
        assert_eq!(index_and_width(1234067, 5), "x001/x234/067.p/5");
        assert_eq!(parse_index("x001/x234/067").unwrap(), 1234067);
        assert!(parse_index("x000/001").is_err());
        assert!(parse_index("001/x234").is_err());
        assert!(parse_index("01").is_err());
        assert!(parse_index("x018/x446/x744/x073/x709/x551/616").is_err());
        assert_eq!(
            parse_index("x018/x446/x744/x073/x709/x551/615").unwrap(),
            u64::MAX
        );
    }

    #[test]
    fn decimals_are_canonical() {
        assert_eq!(parse_decimal("0"), Some(0));
        assert_eq!(parse_decimal("255"), Some(255));
        assert_eq!(parse_decimal("05"), None);
        assert_eq!(parse_decimal(""), None);
        assert_eq!(parse_decimal("+5"), None);
        assert_eq!(parse_decimal("123456"), None);
    }
}
