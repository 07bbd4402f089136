#![allow(clippy::unwrap_used, clippy::expect_used)]
//! RFC 9162 Merkle tree hashing and proofs: published vectors, an
//! exhaustive comparison against the naive root for every size up to 1000,
//! refusals, and C2SP tlog-tiles paths.

use ledger_core::merkle::{
    batch_proof, consistency_proof, empty_root, entries_path, hash_from_slice, hashes_from_bytes,
    inclusion_proof, leaf_hash, node_hash, parse_tile_path, root, root_of, tile_path, verify_batch,
    verify_consistency, verify_inclusion, Frontier, Nodes, ProofError, TileKind, TilePathError,
    VerifyError,
};
use ledger_core::Hash;
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---------------------------------------------------------------------------
// Published vectors.
//
// Source: the RFC 6962 reference vectors of github.com/transparency-dev/merkle,
// file proof/verify_test.go (`leaves`, `roots`, `inclusionProofs`,
// `consistencyProofs`), the same data as google/certificate-transparency's
// merkle_tree_test. That file numbers leaves from 1 in `inclusionProofs`; the
// indices below are 0-based. RFC 9162 hashes trees exactly as RFC 6962 does.

/// The eight leaf inputs, hex.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

/// Roots of the trees of the first 0..=8 leaves.
const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, PATH).
const INCLUSION: [(u64, u64, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (old size, new size, PROOF).
const CONSISTENCY: [(u64, u64, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn hs(list: &[&str]) -> Vec<Hash> {
    list.iter().map(|s| h(s)).collect()
}

fn vector_leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|s| leaf_hash(&hex::decode(s).unwrap()))
        .collect()
}

/// A hash unrelated to the tree.
fn some_hash() -> Hash {
    Hash::of(b"not in the tree")
}

fn flip(proof: &[Hash], i: usize, bit: u8) -> Vec<Hash> {
    let mut out = proof.to_vec();
    out[i].0[0] ^= bit;
    out
}

fn with(front: &[Hash], proof: &[Hash], back: &[Hash]) -> Vec<Hash> {
    [front, proof, back].concat()
}

#[test]
fn vector_roots() {
    let leaves = vector_leaves();
    assert_eq!(empty_root(), h(ROOTS[0]));
    let mut frontier = Frontier::new();
    let mut completed = Vec::new();
    assert_eq!(frontier.root(), h(ROOTS[0]));
    for n in 0..=8u64 {
        if n > 0 {
            frontier.push(leaves[n as usize - 1], &mut completed);
        }
        let want = h(ROOTS[n as usize]);
        assert_eq!(root_of(&leaves[..n as usize]), want, "root_of {n}");
        assert_eq!(root(&leaves[..], n).unwrap(), want, "root {n}");
        assert_eq!(frontier.root(), want, "frontier {n}");
    }
}

#[test]
fn vector_inclusion_proofs() {
    let leaves = vector_leaves();
    for (index, size, want) in INCLUSION {
        let want = hs(want);
        let got = inclusion_proof(&leaves[..], index, size).unwrap();
        assert_eq!(got, want, "PATH({index}, D[{size}])");
        let leaf = leaves[index as usize];
        let root = h(ROOTS[size as usize]);
        verify_inclusion(&leaf, index, size, &want, &root).unwrap();
        for (desc, probe) in inclusion_probes(leaf, index, size, &want, root) {
            assert!(
                probe.is_err(),
                "PATH({index}, D[{size}]) verified with {desc}"
            );
        }
    }
}

type Probe = (String, Result<(), VerifyError>);

fn inclusion_probes(leaf: Hash, index: u64, size: u64, proof: &[Hash], root: Hash) -> Vec<Probe> {
    let check = |leaf: Hash, index: u64, size: u64, proof: &[Hash], root: Hash| {
        verify_inclusion(&leaf, index, size, proof, &root)
    };
    let mut probes: Vec<Probe> = vec![
        (
            "index - 1".into(),
            check(leaf, index.wrapping_sub(1), size, proof, root),
        ),
        (
            "index + 1".into(),
            check(leaf, index + 1, size, proof, root),
        ),
        (
            "index ^ 2".into(),
            check(leaf, index ^ 2, size, proof, root),
        ),
        ("size * 2".into(), check(leaf, index, size * 2, proof, root)),
        ("size / 2".into(), check(leaf, index, size / 2, proof, root)),
        (
            "wrong leaf".into(),
            check(some_hash(), index, size, proof, root),
        ),
        (
            "empty root".into(),
            check(leaf, index, size, proof, empty_root()),
        ),
        (
            "other root".into(),
            check(leaf, index, size, proof, some_hash()),
        ),
        (
            "trailing root".into(),
            check(leaf, index, size, &with(&[], proof, &[root]), root),
        ),
        (
            "preceding root".into(),
            check(leaf, index, size, &with(&[root], proof, &[]), root),
        ),
    ];
    for i in 0..proof.len() {
        let p = flip(proof, i, 8);
        probes.push((
            format!("proof[{i}] flipped"),
            check(leaf, index, size, &p, root),
        ));
    }
    if let Some((_, short)) = proof.split_last() {
        probes.push(("truncated".into(), check(leaf, index, size, short, root)));
    }
    if proof.len() > 1 {
        let p = with(&proof[..1], &[some_hash()], &proof[1..]);
        probes.push(("inserted".into(), check(leaf, index, size, &p, root)));
    }
    probes
}

#[test]
fn vector_consistency_proofs() {
    let leaves = vector_leaves();
    for (old, new, want) in CONSISTENCY {
        let want = hs(want);
        let got = consistency_proof(&leaves[..], old, new).unwrap();
        assert_eq!(got, want, "PROOF({old}, D[{new}])");
        let (r1, r2) = (h(ROOTS[old as usize]), h(ROOTS[new as usize]));
        verify_consistency(old, new, &r1, &r2, &want).unwrap();
        if want.is_empty() {
            continue;
        }
        for (desc, probe) in consistency_probes(old, new, r1, r2, &want) {
            assert!(
                probe.is_err(),
                "PROOF({old}, D[{new}]) verified with {desc}"
            );
        }
    }
}

fn consistency_probes(old: u64, new: u64, r1: Hash, r2: Hash, proof: &[Hash]) -> Vec<Probe> {
    let check = |old: u64, new: u64, r1: Hash, r2: Hash, proof: &[Hash]| {
        verify_consistency(old, new, &r1, &r2, proof)
    };
    let mut probes: Vec<Probe> = vec![
        ("old - 1".into(), check(old - 1, new, r1, r2, proof)),
        ("old + 1".into(), check(old + 1, new, r1, r2, proof)),
        ("old ^ 2".into(), check(old ^ 2, new, r1, r2, proof)),
        ("new * 2".into(), check(old, new * 2, r1, r2, proof)),
        ("new / 2".into(), check(old, new / 2, r1, r2, proof)),
        (
            "wrong old root".into(),
            check(old, new, some_hash(), r2, proof),
        ),
        (
            "wrong new root".into(),
            check(old, new, r1, some_hash(), proof),
        ),
        ("swapped roots".into(), check(old, new, r2, r1, proof)),
        ("empty proof".into(), check(old, new, r1, r2, &[])),
        (
            "trailing r1".into(),
            check(old, new, r1, r2, &with(&[], proof, &[r1])),
        ),
        (
            "trailing r2".into(),
            check(old, new, r1, r2, &with(&[], proof, &[r2])),
        ),
        (
            "preceding r1".into(),
            check(old, new, r1, r2, &with(&[r1], proof, &[])),
        ),
        (
            "preceding r2".into(),
            check(old, new, r1, r2, &with(&[r2], proof, &[])),
        ),
        (
            "preceding p0".into(),
            check(old, new, r1, r2, &with(&proof[..1], proof, &[])),
        ),
        (
            "truncated".into(),
            check(old, new, r1, r2, &proof[..proof.len() - 1]),
        ),
    ];
    for i in 0..proof.len() {
        let p = flip(proof, i, 16);
        probes.push((format!("proof[{i}] flipped"), check(old, new, r1, r2, &p)));
    }
    probes
}

#[test]
fn vector_proofs_round_trip_through_bytes() {
    for (_, _, proof) in INCLUSION.iter().chain(CONSISTENCY.iter()) {
        let want = hs(proof);
        let bytes: Vec<u8> = want.iter().flat_map(|x| x.0).collect();
        assert_eq!(hashes_from_bytes(&bytes).unwrap(), want);
    }
}

// ---------------------------------------------------------------------------
// Every size up to 1000 against the naive root.

const MAX: u64 = 1000;

/// Every complete-subtree node of `MAX` leaves, precomputed, served only
/// inside a tree of `size` leaves: a proof asking for a node outside the
/// tree fails the test.
struct Stored {
    levels: Vec<Vec<Hash>>,
}

struct Bounded<'a> {
    stored: &'a Stored,
    size: u64,
}

impl Stored {
    fn new(leaves: &[Hash]) -> Self {
        let mut levels = vec![leaves.to_vec()];
        while levels.last().unwrap().len() > 1 {
            let below = levels.last().unwrap();
            let up = below
                .chunks_exact(2)
                .map(|p| node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        Stored { levels }
    }

    fn upto(&self, size: u64) -> Bounded<'_> {
        Bounded { stored: self, size }
    }
}

impl Nodes for Bounded<'_> {
    type Error = String;

    fn node(&self, level: u8, index: u64) -> Result<Hash, String> {
        if (index + 1) << level > self.size {
            return Err(format!("node ({level}, {index}) is outside {}", self.size));
        }
        Ok(self.stored.levels[level as usize][index as usize])
    }
}

fn leaves(n: u64) -> Vec<Hash> {
    (0..n)
        .map(|i| leaf_hash(format!("record {i}").as_bytes()))
        .collect()
}

fn check_inclusion(stored: &Stored, leaves: &[Hash], index: u64, size: u64, root: &Hash) {
    let proof = inclusion_proof(&stored.upto(size), index, size).unwrap();
    verify_inclusion(&leaves[index as usize], index, size, &proof, root)
        .unwrap_or_else(|e| panic!("PATH({index}, D[{size}]): {e}"));
    let mut wrong = leaves[index as usize];
    wrong.0[31] ^= 1;
    assert_eq!(
        verify_inclusion(&wrong, index, size, &proof, root),
        Err(VerifyError::RootMismatch)
    );
}

fn check_consistency(stored: &Stored, roots: &[Hash], old: u64, new: u64) {
    let proof = consistency_proof(&stored.upto(new), old, new).unwrap();
    let (r1, r2) = (&roots[old as usize], &roots[new as usize]);
    verify_consistency(old, new, r1, r2, &proof)
        .unwrap_or_else(|e| panic!("PROOF({old}, D[{new}]): {e}"));
    if old < new {
        assert!(verify_consistency(old, new, r2, r1, &proof).is_err());
    }
}

fn check_batch(stored: &Stored, leaves: &[Hash], indices: &[u64], size: u64, root: &Hash) {
    let proof = batch_proof(&stored.upto(size), indices, size).unwrap();
    let mut given: Vec<(u64, Hash)> = indices.iter().map(|&i| (i, leaves[i as usize])).collect();
    verify_batch(&given, size, &proof, root)
        .unwrap_or_else(|e| panic!("batch {indices:?} of {size}: {e}"));
    let last = given.len() - 1;
    given[last / 2].1 .0[0] ^= 1;
    assert_eq!(
        verify_batch(&given, size, &proof, root),
        Err(VerifyError::RootMismatch)
    );
}

fn random_subset(rng: &mut StdRng, size: u64) -> Vec<u64> {
    let want = rng.gen_range(1..=size.min(12));
    let mut picked: Vec<u64> = (0..want).map(|_| rng.gen_range(0..size)).collect();
    picked.sort_unstable();
    picked.dedup();
    picked
}

#[test]
fn every_size_to_1000_matches_the_naive_root() {
    let leaves = leaves(MAX);
    let stored = Stored::new(&leaves);
    let mut rng = StdRng::seed_from_u64(9162);
    let mut roots = vec![empty_root()];
    let mut frontier = Frontier::new();
    let mut completed = Vec::new();
    for n in 1..=MAX {
        let naive = root_of(&leaves[..n as usize]);
        roots.push(naive);
        completed.clear();
        frontier.push(leaves[n as usize - 1], &mut completed);
        assert_eq!(frontier.root(), naive, "frontier root at {n}");
        assert_eq!(frontier.peaks().len(), n.count_ones() as usize);
        for &(level, index, hash) in &completed {
            assert_eq!(stored.levels[level as usize][index as usize], hash);
        }
        assert_eq!(completed.len(), 1 + n.trailing_zeros() as usize);
        assert_eq!(root(&stored.upto(n), n).unwrap(), naive, "root at {n}");
        for index in [0, n / 2, n - 1, rng.gen_range(0..n)] {
            check_inclusion(&stored, &leaves, index, n, &naive);
        }
        let sampled = rng.gen_range(1..=n);
        for old in [1, sampled, n] {
            check_consistency(&stored, &roots, old, n);
        }
        check_batch(&stored, &leaves, &random_subset(&mut rng, n), n, &naive);
    }
    for n in (1..=70).chain([127, 128, 129, 255, 256, 257, 999, 1000]) {
        for old in 1..=n {
            check_consistency(&stored, &roots, old, n);
        }
    }
}

#[test]
fn slice_nodes_agree_with_stored_nodes() {
    let leaves = leaves(130);
    let stored = Stored::new(&leaves);
    for n in 1..=130u64 {
        let slice = &leaves[..n as usize];
        assert_eq!(root(slice, n).unwrap(), root(&stored.upto(n), n).unwrap());
        for index in [0, n / 3, n - 1] {
            assert_eq!(
                inclusion_proof(slice, index, n).unwrap(),
                inclusion_proof(&stored.upto(n), index, n).unwrap()
            );
        }
        for old in [1, n / 2 + 1, n] {
            assert_eq!(
                consistency_proof(slice, old, n).unwrap(),
                consistency_proof(&stored.upto(n), old, n).unwrap()
            );
        }
    }
}

#[test]
fn frontier_reports_every_final_node_once() {
    let leaves = leaves(300);
    let stored = Stored::new(&leaves);
    let mut frontier = Frontier::new();
    let mut completed = Vec::new();
    for leaf in &leaves {
        frontier.push(*leaf, &mut completed);
    }
    let total: usize = stored.levels.iter().map(Vec::len).sum();
    assert_eq!(completed.len(), total);
    let rebuilt = Frontier::from_parts(frontier.size(), frontier.peaks().to_vec()).unwrap();
    assert_eq!(rebuilt, frontier);
    assert_eq!(rebuilt.root(), root_of(&leaves));
}

#[test]
fn batch_of_one_holds_the_path_hashes_left_to_right() {
    let leaves = leaves(100);
    for n in [1u64, 2, 3, 7, 64, 100] {
        for index in 0..n {
            let path = inclusion_proof(&leaves[..], index, n).unwrap();
            let batch = batch_proof(&leaves[..], &[index], n).unwrap();
            // Siblings left of the leaf come top-down, those right of it
            // bottom-up: the path's bits say which side each one is on.
            let (mut lefts, mut rights) = (Vec::new(), Vec::new());
            let (mut lo, mut size) = (0u64, n);
            let mut sides = Vec::new();
            while size > 1 {
                let k = 1u64 << (63 - (size - 1).leading_zeros());
                sides.push(index >= lo + k);
                if index < lo + k {
                    size = k;
                } else {
                    lo += k;
                    size -= k;
                }
            }
            for (hash, on_left) in path.iter().rev().zip(sides) {
                if on_left {
                    lefts.push(*hash);
                } else {
                    rights.push(*hash);
                }
            }
            rights.reverse();
            assert_eq!(batch, [lefts, rights].concat(), "leaf {index} of {n}");
        }
    }
}

#[test]
fn batch_of_all_leaves_is_empty_and_smaller_than_paths() {
    let leaves = leaves(100);
    let all: Vec<u64> = (0..100).collect();
    assert!(batch_proof(&leaves[..], &all, 100).unwrap().is_empty());
    let some: Vec<u64> = (0..100).step_by(5).collect();
    let batch = batch_proof(&leaves[..], &some, 100).unwrap();
    let paths: usize = some
        .iter()
        .map(|&i| inclusion_proof(&leaves[..], i, 100).unwrap().len())
        .sum();
    assert!(batch.len() * 2 < paths, "{} vs {paths}", batch.len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn chosen_proofs_verify(n in 1u64..=MAX, a in any::<u64>(), b in any::<u64>(),
                            picks in proptest::collection::btree_set(any::<u64>(), 1..20)) {
        let leaves = leaves(n);
        let stored = Stored::new(&leaves);
        let r = root_of(&leaves);
        check_inclusion(&stored, &leaves, a % n, n, &r);
        let old = 1 + b % n;
        let roots = [root_of(&leaves[..old as usize]), r];
        let proof = consistency_proof(&stored.upto(n), old, n).unwrap();
        prop_assert!(verify_consistency(old, n, &roots[0], &roots[1], &proof).is_ok());
        let mut indices: Vec<u64> = picks.iter().map(|p| p % n).collect();
        indices.sort_unstable();
        indices.dedup();
        check_batch(&stored, &leaves, &indices, n, &r);
    }
}

// ---------------------------------------------------------------------------
// Refusals.

#[test]
fn hash_lengths_are_refused() {
    assert_eq!(
        hash_from_slice(&[0; 31]),
        Err(VerifyError::HashLength { got: 31 })
    );
    assert_eq!(
        hash_from_slice(&[0; 33]),
        Err(VerifyError::HashLength { got: 33 })
    );
    assert_eq!(hash_from_slice(&[7; 32]), Ok(Hash([7; 32])));
    assert_eq!(
        hashes_from_bytes(&[0; 33]),
        Err(VerifyError::HashLength { got: 33 })
    );
    assert_eq!(hashes_from_bytes(&[]), Ok(vec![]));
    assert_eq!(hashes_from_bytes(&[1; 64]).unwrap().len(), 2);
}

#[test]
fn sizes_and_indices_are_refused() {
    let leaves = vector_leaves();
    let r = h(ROOTS[8]);
    assert_eq!(
        verify_consistency(0, 8, &empty_root(), &r, &[]),
        Err(VerifyError::FromEmpty)
    );
    assert_eq!(
        verify_consistency(0, 0, &empty_root(), &empty_root(), &[]),
        Err(VerifyError::FromEmpty)
    );
    assert!(matches!(
        verify_consistency(5, 4, &r, &r, &[]),
        Err(VerifyError::Shrinks { .. })
    ));
    assert_eq!(
        verify_consistency(3, 3, &r, &some_hash(), &[]),
        Err(VerifyError::RootMismatch)
    );
    assert!(matches!(
        verify_consistency(3, 3, &r, &r, &[r]),
        Err(VerifyError::ProofLength {
            expected: 0,
            got: 1
        })
    ));
    assert_eq!(
        verify_inclusion(&leaves[0], 8, 8, &[], &r),
        Err(VerifyError::IndexOutOfRange { index: 8, size: 8 })
    );
    assert_eq!(
        verify_inclusion(&leaves[0], 0, 0, &[], &empty_root()),
        Err(VerifyError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert!(matches!(
        inclusion_proof(&leaves[..], 8, 8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    ));
    assert!(matches!(
        consistency_proof(&leaves[..], 0, 8),
        Err(ProofError::FromEmpty)
    ));
    assert!(matches!(
        consistency_proof(&leaves[..], 8, 7),
        Err(ProofError::Shrinks { .. })
    ));
    assert!(consistency_proof(&leaves[..], 8, 8).unwrap().is_empty());
    assert!(matches!(
        inclusion_proof(&leaves[..], 3, 9),
        Err(ProofError::Store(_))
    ));
}

#[test]
fn batch_refusals() {
    let leaves = vector_leaves();
    let r = h(ROOTS[8]);
    let proof = batch_proof(&leaves[..], &[1, 4], 8).unwrap();
    let given = [(1, leaves[1]), (4, leaves[4])];
    verify_batch(&given, 8, &proof, &r).unwrap();
    assert_eq!(verify_batch(&[], 8, &proof, &r), Err(VerifyError::NoLeaves));
    assert_eq!(
        verify_batch(&[given[1], given[0]], 8, &proof, &r),
        Err(VerifyError::Unsorted {
            previous: 4,
            next: 1
        })
    );
    assert_eq!(
        verify_batch(&[given[0], given[0]], 8, &proof, &r),
        Err(VerifyError::Unsorted {
            previous: 1,
            next: 1
        })
    );
    assert_eq!(
        verify_batch(&[(1, leaves[1]), (8, leaves[4])], 8, &proof, &r),
        Err(VerifyError::IndexOutOfRange { index: 8, size: 8 })
    );
    let short = &proof[..proof.len() - 1];
    assert!(matches!(
        verify_batch(&given, 8, short, &r),
        Err(VerifyError::ProofLength { .. })
    ));
    let long = with(&[], &proof, &[r]);
    assert!(matches!(
        verify_batch(&given, 8, &long, &r),
        Err(VerifyError::ProofLength { .. })
    ));
    assert_eq!(
        verify_batch(&given, 8, &proof, &some_hash()),
        Err(VerifyError::RootMismatch)
    );
    assert!(matches!(
        batch_proof(&leaves[..], &[], 8),
        Err(ProofError::NoIndices)
    ));
    assert!(matches!(
        batch_proof(&leaves[..], &[3, 3], 8),
        Err(ProofError::Unsorted { .. })
    ));
    assert!(matches!(
        batch_proof(&leaves[..], &[3, 8], 8),
        Err(ProofError::IndexOutOfRange { index: 8, size: 8 })
    ));
}

#[test]
fn frontier_parts_must_match_the_size() {
    assert!(matches!(
        Frontier::from_parts(5, vec![some_hash()]),
        Err(VerifyError::PeakCount {
            size: 5,
            expected: 2,
            got: 1
        })
    ));
    let f = Frontier::from_parts(0, vec![]).unwrap();
    assert_eq!(f.root(), empty_root());
}

#[test]
fn error_messages_say_what_was_wrong() {
    let e = VerifyError::HashLength { got: 33 };
    assert_eq!(e.to_string(), "expected 32-byte hashes, got 33 bytes");
    let e = VerifyError::ProofLength {
        expected: 3,
        got: 4,
    };
    assert_eq!(e.to_string(), "the proof has 4 hashes where 3 are needed");
    let e: ProofError<String> = ProofError::IndexOutOfRange { index: 9, size: 8 };
    assert_eq!(e.to_string(), "leaf index 9 is outside a tree of 8 leaves");
}

// ---------------------------------------------------------------------------
// C2SP tlog-tiles paths.

#[test]
fn tile_paths_are_written_as_specified() {
    assert_eq!(tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
    assert_eq!(tile_path(0, 1234067, 5), "tile/0/x001/x234/067.p/5");
    assert_eq!(tile_path(2, 0, 256), "tile/2/000");
    assert_eq!(tile_path(1, 999, 255), "tile/1/999.p/255");
    assert_eq!(tile_path(1, 1000, 1), "tile/1/x001/000.p/1");
    assert_eq!(entries_path(1234067, 256), "tile/entries/x001/x234/067");
    assert_eq!(entries_path(7, 200), "tile/entries/007.p/200");
}

#[test]
fn tile_paths_round_trip() {
    let indices = [0, 1, 999, 1000, 1001, 1234067, 999_999_999, u64::MAX];
    for index in indices {
        for width in [1u16, 5, 255, 256] {
            for level in [0u8, 1, 5, 63] {
                let p = tile_path(level, index, width);
                let want = (TileKind::Hashes { level }, index, width);
                assert_eq!(parse_tile_path(&p), Ok(want), "{p}");
            }
            let p = entries_path(index, width);
            assert_eq!(
                parse_tile_path(&p),
                Ok((TileKind::Entries, index, width)),
                "{p}"
            );
        }
    }
}

proptest! {
    #[test]
    fn tile_paths_round_trip_any(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let p = tile_path(level, index, width);
        prop_assert_eq!(parse_tile_path(&p), Ok((TileKind::Hashes { level }, index, width)));
    }
}

#[test]
fn malformed_tile_paths_are_refused() {
    let bad = [
        "",
        "tile",
        "tile/",
        "tiles/0/000",
        "/tile/0/000",
        "tile/0",
        "tile/0/",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/a/000",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/abc",
        "tile/0/x000",
        "tile/0/001/234",
        "tile/0/x001/234/x067",
        "tile/0/y001/067",
        "tile/0/x000/067",
        "tile/0/x001//067",
        "tile/0/x001/067/",
        "tile/0/067.p/0",
        "tile/0/067.p/256",
        "tile/0/067.p/05",
        "tile/0/067.p/",
        "tile/0/067.p",
        "tile/0/067.p/5/",
        "tile/0/067.p/5.p/5",
        "tile/0/x018/x446/x744/x073/x709/x551/616",
        "tile/entries/",
        "tile/entries/0",
        "tile/entries/067.p/300",
    ];
    for p in bad {
        assert!(parse_tile_path(p).is_err(), "accepted {p:?}");
    }
    assert_eq!(
        parse_tile_path("tile/0/x000/067"),
        Err(TilePathError::LeadingZeroGroup)
    );
    assert_eq!(
        parse_tile_path("tile/0/067.p/256"),
        Err(TilePathError::Width { got: "256".into() })
    );
}
