#![allow(clippy::unwrap_used, clippy::expect_used)]
//! Edge-case vectors for the one signature rule (ZIP-215, via
//! `ed25519-consensus`) and for enrollment's weak-key check
//! (`PublicKey::check_strong`). See `docs/encoding.md`, "Signatures".
//!
//! ZIP-215 is deliberately permissive about *encodings* (non-canonical
//! points are accepted) and uses the cofactored equation
//! `[8][s]B = [8]R + [8][k]A`, so torsion components of `R` and `A` are
//! ignored. That is what lets single and batch verification agree. The
//! price is that keys with a torsion component, or of small order, admit
//! extra signatures (or outright forgeries); enrollment therefore refuses
//! them with `check_strong`. Several tests below show both halves: the
//! signature rule accepts, the weak-key check rejects.

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::{clamp_integer, Scalar};
use curve25519_dalek::traits::IsIdentity;
use ledger_core::key::{self, BadSignature, WeakKey};
use ledger_core::{PublicKey, Signature, SigningKey};
use sha2::{Digest, Sha512};

/// The group order L = 2^252 + 27742317777372353535851937790883648493,
/// little endian.
const L: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

const MSG: &[u8] = "terroir/record/1 千岛湖茶 test message".as_bytes();

fn h32(s: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).unwrap();
    out
}

/// The eight small-order points, in canonical encoding.
const SMALL_ORDER_CANONICAL: [(&str, u32); 8] = [
    // identity (0, 1): order 1
    (
        "0100000000000000000000000000000000000000000000000000000000000000",
        1,
    ),
    // (0, -1): order 2
    (
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        2,
    ),
    // (±sqrt(-1), 0): order 4
    (
        "0000000000000000000000000000000000000000000000000000000000000000",
        4,
    ),
    (
        "0000000000000000000000000000000000000000000000000000000000000080",
        4,
    ),
    // order 8
    (
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        8,
    ),
    (
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        8,
    ),
    (
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        8,
    ),
    (
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
        8,
    ),
];

/// Non-canonical encodings of small-order points: y ≥ p (p = 2^255 - 19),
/// or a set sign bit on x = 0.
const SMALL_ORDER_NON_CANONICAL: [&str; 6] = [
    // identity with the sign bit set ("-0")
    "0100000000000000000000000000000000000000000000000000000000000080",
    // (0, -1) with the sign bit set
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    // y = p + 1 ≡ 1 (the identity), both signs
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    // y = p ≡ 0 (order 4), both signs
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
];

/// y = 2 is not the y of any curve point.
const NOT_ON_CURVE: &str = "0200000000000000000000000000000000000000000000000000000000000000";
/// y = p + 2 ≡ 2: not on the curve, and non-canonical besides.
const NOT_ON_CURVE_NON_CANONICAL: &str =
    "efffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";
/// y = p + 3 ≡ 3: a curve point of large order, encoded non-canonically.
const LARGE_ORDER_NON_CANONICAL: &str =
    "f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f";

/// The honest key used throughout.
fn honest() -> SigningKey {
    SigningKey::from_seed(&[0x42; 32])
}

/// RFC 8032 secret expansion: the scalar `a` and the nonce prefix.
fn expand(key: &SigningKey) -> (Scalar, [u8; 32]) {
    let h = Sha512::digest(*key.seed());
    let mut lower = [0u8; 32];
    lower.copy_from_slice(&h[..32]);
    let mut prefix = [0u8; 32];
    prefix.copy_from_slice(&h[32..]);
    (Scalar::from_bytes_mod_order(clamp_integer(lower)), prefix)
}

fn hash_scalar(parts: &[&[u8]]) -> Scalar {
    let mut h = Sha512::new();
    for p in parts {
        h.update(p);
    }
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A hand-made signature: `R` given as bytes, `s = r + k·a` with
/// `k = H(R_bytes ‖ A_bytes ‖ msg)`. With `r·B` equal to `R` up to torsion
/// it satisfies the cofactored equation under the key bytes `a_bytes`
/// whenever `a_bytes` decodes to `a·B` up to torsion.
fn raw_sign(a: Scalar, r: Scalar, r_bytes: [u8; 32], a_bytes: [u8; 32], msg: &[u8]) -> Signature {
    let k = hash_scalar(&[&r_bytes, &a_bytes, msg]);
    let s = r + k * a;
    let mut sig = [0u8; 64];
    sig[..32].copy_from_slice(&r_bytes);
    sig[32..].copy_from_slice(s.as_bytes());
    Signature(sig)
}

fn point(hex: &str) -> EdwardsPoint {
    CompressedEdwardsY(h32(hex)).decompress().unwrap()
}

/// `verify_strict` from ed25519-dalek: the cofactorless rule Terroir does
/// *not* use, shown for contrast where the two rules differ.
fn dalek_strict(key: &[u8; 32], msg: &[u8], sig: &Signature) -> bool {
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(key) else {
        return false;
    };
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig.0))
        .is_ok()
}

/// `s` plus the group order `L`, as 32 little-endian bytes.
fn add_l(s: &[u8]) -> [u8; 32] {
    let l = h32(L);
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(l[i]) + carry;
        out[i] = sum.to_le_bytes()[0];
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

// ---------------------------------------------------------------------------
// The honest case, and the manual signer used below.
// ---------------------------------------------------------------------------

#[test]
fn honest_signature_verifies_and_raw_signer_matches_rfc8032() {
    let key = honest();
    let sig = key.sign(MSG);
    assert_eq!(key::verify(&key.public(), MSG, &sig), Ok(()));
    assert!(dalek_strict(&key.public().0, MSG, &sig));
    assert_eq!(key.public().check_strong(), Ok(()));

    // The hand-made signer reproduces RFC 8032 exactly when given the
    // deterministic nonce, so the edge cases below are built correctly.
    let (a, prefix) = expand(&key);
    let r = hash_scalar(&[&prefix, MSG]);
    let r_bytes = (r * ED25519_BASEPOINT_POINT).compress().to_bytes();
    assert_eq!(raw_sign(a, r, r_bytes, key.public().0, MSG), sig);
    assert_eq!(
        (a * ED25519_BASEPOINT_POINT).compress().to_bytes(),
        key.public().0
    );
}

#[test]
fn l_is_the_group_order() {
    assert_eq!(Scalar::from_bytes_mod_order(h32(L)), Scalar::ZERO);
    assert!(bool::from(Scalar::from_canonical_bytes(h32(L)).is_none()));
    let mut below = h32(L);
    below[0] -= 1;
    assert_eq!(Scalar::from_bytes_mod_order(below), -Scalar::ONE);
    assert!((Scalar::ONE * EIGHT_TORSION[0]).is_identity());
}

#[test]
fn wrong_message_key_or_bit_flips_are_rejected() {
    let key = honest();
    let sig = key.sign(MSG);
    assert_eq!(
        key::verify(&key.public(), b"other", &sig),
        Err(BadSignature)
    );
    let other = SigningKey::from_seed(&[0x43; 32]).public();
    assert_eq!(key::verify(&other, MSG, &sig), Err(BadSignature));
    for byte in [0, 31, 32, 63] {
        let mut bad = sig;
        bad.0[byte] ^= 0x01;
        assert_eq!(
            key::verify(&key.public(), MSG, &bad),
            Err(BadSignature),
            "byte {byte}"
        );
    }
}

// ---------------------------------------------------------------------------
// Weak public keys: `check_strong` verdicts.
// ---------------------------------------------------------------------------

#[test]
fn the_eight_small_order_points_are_what_we_think() {
    let mut ours: Vec<[u8; 32]> = SMALL_ORDER_CANONICAL.iter().map(|(h, _)| h32(h)).collect();
    let mut dalek: Vec<[u8; 32]> = EIGHT_TORSION
        .iter()
        .map(|p| p.compress().to_bytes())
        .collect();
    ours.sort();
    dalek.sort();
    assert_eq!(ours, dalek);
    for (hex, order) in SMALL_ORDER_CANONICAL {
        let p = point(hex);
        let mut q = p;
        let mut n = 1;
        while !q.is_identity() {
            q += p;
            n += 1;
        }
        assert_eq!(n, order, "{hex}");
    }
}

#[test]
fn small_order_keys_are_weak() {
    for (hex, _) in SMALL_ORDER_CANONICAL {
        assert_eq!(
            PublicKey(h32(hex)).check_strong(),
            Err(WeakKey::SmallOrder),
            "{hex}"
        );
    }
}

#[test]
fn non_canonical_small_order_keys_are_weak() {
    for hex in SMALL_ORDER_NON_CANONICAL {
        // They do decode to a point (ZIP-215 accepts them as keys) …
        assert!(CompressedEdwardsY(h32(hex)).decompress().is_some(), "{hex}");
        // … but enrollment refuses the encoding before even looking at the order.
        assert_eq!(
            PublicKey(h32(hex)).check_strong(),
            Err(WeakKey::NonCanonical),
            "{hex}"
        );
    }
}

#[test]
fn non_canonical_large_order_key_is_weak() {
    let key = PublicKey(h32(LARGE_ORDER_NON_CANONICAL));
    let p = point(LARGE_ORDER_NON_CANONICAL);
    assert!(!p.is_small_order());
    // Its canonical encoding is y = 3.
    assert_eq!(
        hex::encode(p.compress().as_bytes()),
        "0300000000000000000000000000000000000000000000000000000000000000"
    );
    assert_eq!(key.check_strong(), Err(WeakKey::NonCanonical));
}

#[test]
fn not_on_curve_keys_are_weak() {
    for hex in [NOT_ON_CURVE, NOT_ON_CURVE_NON_CANONICAL] {
        assert_eq!(
            PublicKey(h32(hex)).check_strong(),
            Err(WeakKey::NotOnCurve),
            "{hex}"
        );
    }
    // And the signature rule refuses them as keys outright.
    let sig = honest().sign(MSG);
    assert_eq!(
        key::verify(&PublicKey(h32(NOT_ON_CURVE)), MSG, &sig),
        Err(BadSignature)
    );
}

#[test]
fn mixed_order_key_is_weak() {
    let honest_point = point(&honest().public().to_hex());
    for t in EIGHT_TORSION.iter().skip(1) {
        let mixed = PublicKey((honest_point + t).compress().to_bytes());
        assert_eq!(mixed.check_strong(), Err(WeakKey::MixedOrder), "{mixed:?}");
    }
}

#[test]
fn many_honest_keys_are_strong() {
    for b in 0..=255u8 {
        let key = SigningKey::from_seed(&[b; 32]).public();
        assert_eq!(key.check_strong(), Ok(()), "seed byte {b}");
    }
}

/// The weak-key check as first written, with the textbook operations
/// (re-compress to judge the encoding, constant-time `is_torsion_free`):
/// `check_strong` must give exactly its verdicts.
fn check_strong_reference(bytes: [u8; 32]) -> Result<(), WeakKey> {
    let compressed = CompressedEdwardsY(bytes);
    let point = compressed.decompress().ok_or(WeakKey::NotOnCurve)?;
    if point.compress() != compressed {
        return Err(WeakKey::NonCanonical);
    }
    if point.is_small_order() {
        return Err(WeakKey::SmallOrder);
    }
    if !point.is_torsion_free() {
        return Err(WeakKey::MixedOrder);
    }
    Ok(())
}

#[test]
fn check_strong_agrees_with_the_reference_on_edge_encodings() {
    let mut cases: Vec<[u8; 32]> = Vec::new();
    // y near 0, near p and at or above p (2^255 - 19 ≤ y < 2^255), with
    // and without the sign bit: every non-canonical y and both x = 0 points.
    for low in 0u8..=40 {
        let mut b = [0u8; 32];
        b[0] = low;
        cases.push(b);
    }
    for low in 0xc0u8..=0xff {
        let mut b = [0xffu8; 32];
        b[0] = low;
        b[31] = 0x7f;
        cases.push(b);
        // One below the all-ones run in byte 30: far below p.
        let mut c = b;
        c[30] = 0xfe;
        cases.push(c);
    }
    // The small-order points and honest, mixed-order and torsion-shifted
    // keys, plus their sign-flipped encodings.
    for (hex, _) in SMALL_ORDER_CANONICAL {
        cases.push(h32(hex));
    }
    for hex in SMALL_ORDER_NON_CANONICAL {
        cases.push(h32(hex));
    }
    cases.push(h32(LARGE_ORDER_NON_CANONICAL));
    cases.push(h32(NOT_ON_CURVE));
    cases.push(h32(NOT_ON_CURVE_NON_CANONICAL));
    for b in 0..=63u8 {
        let honest_point = point(&SigningKey::from_seed(&[b; 32]).public().to_hex());
        for t in EIGHT_TORSION.iter() {
            cases.push((honest_point + t).compress().to_bytes());
        }
    }
    let mut seen = [0usize; 5];
    for case in cases {
        for bytes in [case, {
            let mut f = case;
            f[31] ^= 0x80;
            f
        }] {
            let want = check_strong_reference(bytes);
            assert_eq!(
                PublicKey(bytes).check_strong(),
                want,
                "{}",
                hex::encode(bytes)
            );
            seen[match want {
                Ok(()) => 0,
                Err(WeakKey::NotOnCurve) => 1,
                Err(WeakKey::NonCanonical) => 2,
                Err(WeakKey::SmallOrder) => 3,
                Err(_) => 4,
            }] += 1;
        }
    }
    // Every verdict is exercised.
    assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
}

// ---------------------------------------------------------------------------
// Why weak keys are refused: what ZIP-215 accepts under them.
// ---------------------------------------------------------------------------

/// R = identity, s = 0: satisfies `[8]0·B = [8]R + [8]k·A` for every message
/// whenever A has small order.
fn trivial_forgery() -> Signature {
    let mut sig = [0u8; 64];
    sig[0] = 1; // R = identity (0100…00), s = 0
    Signature(sig)
}

#[test]
fn small_order_keys_admit_universal_forgeries_under_zip215() {
    for hex in SMALL_ORDER_CANONICAL
        .iter()
        .map(|(h, _)| *h)
        .chain(SMALL_ORDER_NON_CANONICAL)
    {
        let key = PublicKey(h32(hex));
        for msg in [MSG, b"anything at all".as_slice(), b""] {
            assert_eq!(key::verify(&key, msg, &trivial_forgery()), Ok(()), "{hex}");
        }
        // verify_strict refuses small-order keys; ZIP-215 does not, which is
        // exactly why enrollment must.
        assert!(!dalek_strict(&key.0, MSG, &trivial_forgery()), "{hex}");
        assert!(key.check_strong().is_err(), "{hex}");
    }
}

#[test]
fn mixed_order_key_admits_a_second_key_encoding_under_zip215() {
    // The owner of `a` can sign under A' = a·B + T (T of order 8): the
    // cofactored equation cannot see T. So one secret would control two
    // identities; enrollment refuses A'.
    let key = honest();
    let (a, prefix) = expand(&key);
    let mixed = (point(&key.public().to_hex()) + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let r = hash_scalar(&[&prefix, MSG]);
    let r_bytes = (r * ED25519_BASEPOINT_POINT).compress().to_bytes();
    let sig = raw_sign(a, r, r_bytes, mixed, MSG);
    assert_eq!(key::verify(&PublicKey(mixed), MSG, &sig), Ok(()));
    assert!(!dalek_strict(&mixed, MSG, &sig));
    assert_eq!(PublicKey(mixed).check_strong(), Err(WeakKey::MixedOrder));
}

// ---------------------------------------------------------------------------
// Edge-case signatures under an honest key.
// ---------------------------------------------------------------------------

#[test]
fn s_at_or_above_the_group_order_is_rejected() {
    let key = honest();
    let sig = key.sign(MSG);
    // s + n·L is the same scalar mod L for every n, so the equation alone
    // would accept all of them: only the canonical-s rule (s < L) refuses
    // them. n = 1 is the classic malleability; n ≥ 8 sets the top bit.
    let mut s = sig.0[32..].to_vec();
    for n in 1..=14 {
        s = add_l(&s).to_vec();
        let mut malleated = sig;
        malleated.0[32..].copy_from_slice(&s);
        assert_eq!(
            key::verify(&key.public(), MSG, &malleated),
            Err(BadSignature),
            "s + {n}·L"
        );
        assert!(!dalek_strict(&key.public().0, MSG, &malleated), "s + {n}·L");
    }

    // s = L: the trivial forgery under a small-order key verifies with
    // s = 0 (see below) and is refused with s = L ≡ 0.
    let weak = PublicKey(h32(SMALL_ORDER_CANONICAL[0].0));
    assert_eq!(key::verify(&weak, MSG, &trivial_forgery()), Ok(()));
    let mut with_l = trivial_forgery();
    with_l.0[32..].copy_from_slice(&h32(L));
    assert_eq!(key::verify(&weak, MSG, &with_l), Err(BadSignature));
}

/// `R` given as bytes (possibly small order or non-canonical), nonce 0:
/// `s = k·a`, so `[8]s·B = [8]k·A` and `[8]R = 0` make the cofactored
/// equation hold.
fn signature_with_small_order_r(r_hex: &str) -> Signature {
    let key = honest();
    let (a, _) = expand(&key);
    raw_sign(a, Scalar::ZERO, h32(r_hex), key.public().0, MSG)
}

#[test]
fn small_order_r_is_accepted_by_zip215() {
    let key = honest().public();
    for (hex, _) in SMALL_ORDER_CANONICAL {
        let sig = signature_with_small_order_r(hex);
        assert_eq!(key::verify(&key, MSG, &sig), Ok(()), "R = {hex}");
        // A different message under the same R and s fails: the signature is
        // still bound to the message through k.
        assert_eq!(
            key::verify(&key, b"other", &sig),
            Err(BadSignature),
            "R = {hex}"
        );
    }
    // Contrast: verify_strict rejects a small-order R.
    assert!(!dalek_strict(
        &key.0,
        MSG,
        &signature_with_small_order_r(SMALL_ORDER_CANONICAL[0].0)
    ));
}

#[test]
fn non_canonical_r_is_accepted_by_zip215() {
    let key = honest().public();
    for hex in SMALL_ORDER_NON_CANONICAL {
        let sig = signature_with_small_order_r(hex);
        assert_eq!(key::verify(&key, MSG, &sig), Ok(()), "R = {hex}");
    }
    // R is hashed as given: the same s does not carry over to the canonical
    // encoding of the same point (y = p + 1 re-encoded as y = 1).
    let mut sig = signature_with_small_order_r(SMALL_ORDER_NON_CANONICAL[2]);
    sig.0[..32].copy_from_slice(&h32(SMALL_ORDER_CANONICAL[0].0));
    assert_eq!(key::verify(&key, MSG, &sig), Err(BadSignature));
    // Large-order points have non-canonical encodings only for y in 3..=18,
    // whose discrete logs nobody knows, so no one can sign with such an R;
    // swapped into an honest signature it simply fails.
    let mut bad = honest().sign(MSG);
    bad.0[..32].copy_from_slice(&h32(LARGE_ORDER_NON_CANONICAL));
    assert_eq!(key::verify(&key, MSG, &bad), Err(BadSignature));
}

#[test]
fn mixed_order_r_is_accepted_by_zip215_but_not_by_verify_strict() {
    let key = honest();
    let (a, prefix) = expand(&key);
    let r = hash_scalar(&[&prefix, MSG]);
    let r_mixed = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[3])
        .compress()
        .to_bytes();
    let sig = raw_sign(a, r, r_mixed, key.public().0, MSG);
    assert_eq!(key::verify(&key.public(), MSG, &sig), Ok(()));
    assert!(!dalek_strict(&key.public().0, MSG, &sig));
}

#[test]
fn r_not_on_curve_is_rejected() {
    let key = honest();
    let mut sig = key.sign(MSG);
    for hex in [NOT_ON_CURVE, NOT_ON_CURVE_NON_CANONICAL] {
        sig.0[..32].copy_from_slice(&h32(hex));
        assert_eq!(
            key::verify(&key.public(), MSG, &sig),
            Err(BadSignature),
            "{hex}"
        );
    }
}

// ---------------------------------------------------------------------------
// Batch verification gives exactly the single verdicts.
// ---------------------------------------------------------------------------

/// A mix of honest, edge-accepted and rejected items.
fn mixed_items() -> Vec<(PublicKey, Vec<u8>, Signature, bool)> {
    let key = honest();
    let pk = key.public();
    let (a, prefix) = expand(&key);
    let r = hash_scalar(&[&prefix, MSG]);
    let mixed_key = (point(&pk.to_hex()) + EIGHT_TORSION[1])
        .compress()
        .to_bytes();
    let mixed_r = (r * ED25519_BASEPOINT_POINT + EIGHT_TORSION[5])
        .compress()
        .to_bytes();
    let honest_r = (r * ED25519_BASEPOINT_POINT).compress().to_bytes();
    let good = key.sign(MSG);
    let mut malleated = good;
    malleated.0[32..].copy_from_slice(&add_l(&good.0[32..]));
    let mut flipped = good;
    flipped.0[40] ^= 0x10;
    let mut r_off_curve = good;
    r_off_curve.0[..32].copy_from_slice(&h32(NOT_ON_CURVE));

    let mut items = vec![
        (pk, MSG.to_vec(), good, true),
        (pk, MSG.to_vec(), malleated, false),
        (
            PublicKey(h32(SMALL_ORDER_CANONICAL[0].0)),
            b"forged".to_vec(),
            trivial_forgery(),
            true,
        ),
        (
            PublicKey(h32(SMALL_ORDER_NON_CANONICAL[2])),
            b"forged".to_vec(),
            trivial_forgery(),
            true,
        ),
        (pk, MSG.to_vec(), flipped, false),
        (
            PublicKey(mixed_key),
            MSG.to_vec(),
            raw_sign(a, r, honest_r, mixed_key, MSG),
            true,
        ),
        (pk, MSG.to_vec(), raw_sign(a, r, mixed_r, pk.0, MSG), true),
        (
            pk,
            MSG.to_vec(),
            signature_with_small_order_r(SMALL_ORDER_CANONICAL[6].0),
            true,
        ),
        (pk, MSG.to_vec(), r_off_curve, false),
        (PublicKey(h32(NOT_ON_CURVE)), MSG.to_vec(), good, false),
        (pk, b"wrong message".to_vec(), good, false),
    ];
    // Plenty of honest items from several keys, some sharing a key.
    for i in 0..20u8 {
        let k = SigningKey::from_seed(&[i % 5; 32]);
        let msg = vec![i; usize::from(i) * 7];
        let sig = k.sign(&msg);
        items.push((k.public(), msg, sig, true));
    }
    items
}

fn batch_of(items: &[(PublicKey, Vec<u8>, Signature, bool)]) -> Vec<(PublicKey, &[u8], Signature)> {
    items
        .iter()
        .map(|(k, m, s, _)| (*k, m.as_slice(), *s))
        .collect()
}

#[test]
fn batch_verdicts_equal_single_verdicts_on_a_mixed_batch() {
    let items = mixed_items();
    let single: Vec<_> = items
        .iter()
        .map(|(k, m, s, _)| key::verify(k, m, s))
        .collect();
    // The single verdicts are the ones this file expects.
    let expected: Vec<_> = items
        .iter()
        .map(|(.., ok)| if *ok { Ok(()) } else { Err(BadSignature) })
        .collect();
    assert_eq!(single, expected);
    let batch = batch_of(&items);
    for _ in 0..5 {
        assert_eq!(key::verify_batch(&batch), single);
    }
    // Every sub-batch of one item agrees too.
    for (i, item) in batch.iter().enumerate() {
        assert_eq!(
            key::verify_batch(std::slice::from_ref(item)),
            vec![single[i]]
        );
    }
}

#[test]
fn batch_of_only_accepted_edge_cases_passes_the_batch_equation() {
    // All-valid batches take the fast path; the edge cases ZIP-215 accepts
    // alone (small-order and mixed-order R and keys) must pass it too, or a
    // record's verdict would depend on its batch.
    let items: Vec<_> = mixed_items().into_iter().filter(|i| i.3).collect();
    let batch = batch_of(&items);
    assert_eq!(key::verify_batch(&batch), vec![Ok(()); items.len()]);
    let mut raw = ed25519_consensus::batch::Verifier::new();
    for (k, m, s) in &batch {
        raw.queue((
            ed25519_consensus::VerificationKeyBytes::from(k.0),
            ed25519_consensus::Signature::from(s.0),
            m,
        ));
    }
    assert!(raw.verify(rand_core::OsRng).is_ok());
}

#[test]
fn empty_batch_gives_no_verdicts() {
    assert!(key::verify_batch(&[]).is_empty());
}

// ---------------------------------------------------------------------------
// Secrets stay secret.
// ---------------------------------------------------------------------------

#[test]
fn signing_key_debug_shows_no_secret() {
    let seed = [0xa7u8; 32];
    let key = SigningKey::from_seed(&seed);
    let debug = format!("{key:?}");
    let alt = format!("{key:#?}");
    let (a, prefix) = expand(&key);
    for out in [&debug, &alt] {
        let lower = out.to_lowercase();
        assert!(!lower.contains(&hex::encode(seed)), "{out}");
        assert!(!lower.contains("a7a7a7a7"), "{out}");
        assert!(!lower.contains("167, 167"), "{out}");
        assert!(!lower.contains(&hex::encode(&a.as_bytes()[..8])), "{out}");
        assert!(!lower.contains(&hex::encode(&prefix[..8])), "{out}");
        // It does name the public half, so logs stay useful.
        assert!(out.contains(&key.public().short()), "{out}");
    }
}
