//! Typed errors of validation and storage.

use crate::event::{EventKind, LotId, Quantity, Role, Unit};
use crate::gs1::Gs1Error;
use crate::hash::Hash;
use crate::key::{PublicKey, WeakKey};

/// Why a record was rejected. Each variant is one validation rule; every
/// verdict depends only on the record and its causal past. Messages name
/// hashes and keys by their short prefix and times as dates: they reach
/// people (HTTP 422 reasons, CLI errors); the full values are in the
/// fields.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// Unknown record format version.
    #[error("unsupported record version {0}")]
    Version(u16),
    /// Signed for another network.
    #[error("record is for network {}, this ledger is {}", got.short(), expected.short())]
    WrongNetwork {
        /// This ledger's network id.
        expected: Hash,
        /// The record's.
        got: Hash,
    },
    /// The version is not the one the record's event kind is written in.
    #[error("a {kind} record is written in record version {expected}, not {version}")]
    VersionForKind {
        /// The event kind.
        kind: EventKind,
        /// The version it must have.
        expected: u16,
        /// The record's.
        version: u16,
    },
    /// An error declaration that does not fit the record it declares
    /// erroneous.
    #[error("declaration that record {} is erroneous: {why}", record.short())]
    BadCorrection {
        /// The record declared erroneous.
        record: Hash,
        /// What is wrong.
        why: String,
    },
    /// A malformed unified social credit code.
    #[error(transparent)]
    Uscc(#[from] crate::china::UsccError),
    /// A certificate on a test basis that names no test.
    #[error(
        "a certificate on a test basis names the passing test it rests on; this one names none"
    )]
    CertificateNeedsTest,
    /// A test a certificate names is not a passing inspection of the lot
    /// or of a lot it was made from.
    #[error("certificate test {}: {why}", test.short())]
    CertificateTest {
        /// The record named as a test.
        test: Hash,
        /// What is wrong with it.
        why: String,
    },
    /// The tests a certificate names do not test for every active
    /// ingredient used on the fields the lot came from (用什么药、检什么药).
    #[error("the tests this certificate rests on do not test for {}, used on the field the lot came from; test for what was used", missing.join(", "))]
    CertificateUntested {
        /// The ingredients used and not tested for.
        missing: Vec<String>,
    },
    /// A certificate of a lot made from others that does not name the
    /// certificate of one of them.
    #[error("lot {lot} went into this lot; a certificate of a mixed or split lot names the certificate of every lot it was made from, and none of lot {lot} is named")]
    CertificateMissingInput {
        /// The input lot without a certificate.
        lot: LotId,
    },
    /// The version does not match whether the record keeps extras, or the
    /// extras are not a JSON object within their size limit.
    #[error("the record's extras {0}")]
    Extras(String),
    /// Encoded size over the limit.
    #[error("record is {len} bytes, over the {max}-byte limit")]
    TooLarge {
        /// Encoded length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `prev` must be absent at seq 0 and present after.
    #[error("seq {seq} {}", if *seq == 0 { "must not name a prev" } else { "must name a prev" })]
    PrevShape {
        /// The record's seq.
        seq: u64,
    },
    /// `prev` is a record of another author.
    #[error("prev {} is not a record of this author", prev.short())]
    PrevMismatch {
        /// The prev hash named.
        prev: Hash,
    },
    /// The record skips seq numbers after its prev.
    #[error("seq gap: prev has seq {prev_seq}, this record has seq {seq}")]
    SeqGap {
        /// Seq of the prev record.
        prev_seq: u64,
        /// This record's seq.
        seq: u64,
    },
    /// The record does not advance the seq after its prev.
    #[error("seq reuse: prev has seq {prev_seq}, this record has seq {seq}")]
    SeqReuse {
        /// Seq of the prev record.
        prev_seq: u64,
        /// This record's seq.
        seq: u64,
    },
    /// The author's first record neither is a genesis authority's nor
    /// depends on an enrollment (or key rotation) of the author.
    #[error(
        "author {} is not enrolled: its first record must depend on its enrollment",
        .0.short()
    )]
    NotEnrolled(PublicKey),
    /// The key was handed over to a successor and its chain has ended.
    #[error("author key was rotated away at seq {at}; it may sign no more records")]
    KeyRetired {
        /// The seq of the rotate-key record.
        at: u64,
    },
    /// The author's role may not sign this event.
    #[error("a {role} may not sign a {kind} event")]
    RoleNotAllowed {
        /// The author's role.
        role: Role,
        /// The event kind.
        kind: EventKind,
    },
    /// A dependency is not the kind of record this event needs.
    #[error("dep {}: {why}", dep.short())]
    WrongDep {
        /// The dep.
        dep: Hash,
        /// What it should have been.
        why: String,
    },
    /// The event names a record or lot that must also be listed in `deps`.
    #[error("{what} must be listed in deps")]
    NotInDeps {
        /// What is missing from deps.
        what: String,
    },
    /// A dep listed twice, or the record's own prev listed as a dep.
    #[error("dep {} is listed twice", .0.short())]
    DuplicateDep(Hash),
    /// More than the allowed number of deps, inputs, readings …
    #[error("too many {what}: {len}, at most {max}")]
    TooMany {
        /// What.
        what: &'static str,
        /// How many.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A text field is empty or too long.
    #[error("{field} {problem}")]
    BadText {
        /// Which field.
        field: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// A quantity of zero.
    #[error("{field} must be more than zero")]
    ZeroQuantity {
        /// Which field.
        field: &'static str,
    },
    /// Shipping, transforming or selling more than the author holds.
    #[error("lot {lot}: wants {wanted} but holds {held}")]
    Overdraw {
        /// The lot.
        lot: LotId,
        /// What the author holds.
        held: Quantity,
        /// What the record needs.
        wanted: Quantity,
    },
    /// The author holds none of this lot.
    #[error("lot {0} is not held by the author")]
    NotHeld(LotId),
    /// A quantity's unit differs from the lot's.
    #[error("lot {lot} is counted in {}, the record uses {}", expected.name(), got.name())]
    UnitMismatch {
        /// The lot.
        lot: LotId,
        /// The lot's unit.
        expected: Unit,
        /// The record's unit.
        got: Unit,
    },
    /// An addition of quantities overflowed.
    #[error("quantity overflow in {0}")]
    QuantityOverflow(&'static str),
    /// Transform inputs ≠ outputs + loss.
    #[error(
        "transform does not conserve quantity: inputs {inputs} ≠ outputs {outputs} + loss {loss}"
    )]
    NotConserved {
        /// Sum of inputs.
        inputs: u64,
        /// Sum of outputs.
        outputs: u64,
        /// Stated loss.
        loss: u64,
    },
    /// The author already created a lot with this code.
    #[error("lot code {0:?} already used by this author")]
    LotExists(String),
    /// A receive for a shipment addressed to someone else.
    #[error(
        "shipment {} is addressed to {}, not to the author",
        shipment.short(),
        to.short()
    )]
    NotAddressed {
        /// The ship record.
        shipment: Hash,
        /// Its recipient.
        to: PublicKey,
    },
    /// The shipment was already received by the author.
    #[error("shipment {} was already received", .0.short())]
    AlreadyReceived(Hash),
    /// A receive disagrees with its shipment (lot, unit, more than shipped).
    #[error("receive does not match shipment {}: {why}", shipment.short())]
    ReceiveMismatch {
        /// The ship record.
        shipment: Hash,
        /// What differs.
        why: String,
    },
    /// A GTIN or GLN with a wrong check digit or shape.
    #[error(transparent)]
    Gs1(#[from] Gs1Error),
    /// A weak public key in an enrollment or rotation.
    #[error("key {} is weak: {reason}", key.short())]
    WeakKey {
        /// The key.
        key: PublicKey,
        /// Why.
        reason: WeakKey,
    },
    /// Time earlier than the author's previous record.
    #[error(
        "time {} is earlier than the author's previous record ({})",
        crate::time::show_utc(*time),
        crate::time::show_utc(*prev_time)
    )]
    TimeBeforePrev {
        /// This record's time.
        time: u64,
        /// The prev's time.
        prev_time: u64,
    },
    /// Time earlier than a dependency.
    #[error(
        "time {} is earlier than dep {} ({})",
        crate::time::show_utc(*time),
        dep.short(),
        crate::time::show_utc(*dep_time)
    )]
    TimeBeforeDep {
        /// This record's time.
        time: u64,
        /// The dep.
        dep: Hash,
        /// Its time.
        dep_time: u64,
    },
    /// A lot with a GTIN created by someone who neither owns the GTIN's
    /// GS1 company prefix nor is a packer its owner authorised.
    #[error(
        "GTIN {gtin} is not yours to use: only the owner of its GS1 company prefix, or a packer the owner authorised, may create lots with it (list the regulator's prefix assignment or the owner's packer authorisation in deps)"
    )]
    GtinNotOwned {
        /// The GTIN.
        gtin: String,
    },
    /// A lot with a GTIN created under a packer authorisation that had
    /// already ended.
    #[error(
        "the authorisation to pack GTIN {gtin} ended {}: ask the prefix owner for a new one",
        crate::time::show_utc(*until)
    )]
    AuthorisationEnded {
        /// The GTIN.
        gtin: String,
        /// When the authorisation ended (ms since epoch).
        until: u64,
    },
    /// A packer authorisation for a prefix the author does not own.
    #[error(
        "GS1 company prefix {prefix} is not assigned to you: you may authorise packers only under your own prefix (list its assignment in deps)"
    )]
    PrefixNotOwned {
        /// The prefix.
        prefix: String,
    },
    /// A lot code that cannot be printed as a GS1 lot number (AI 10) on a
    /// lot with a GTIN.
    #[error(
        "lot code {code:?} {why}, so it cannot go in the GS1 barcode or QR code of a product with a GTIN: use at most 20 letters, digits or !\"%&'()*+,-./:;<=>?_ (such as QDH-0404) and keep the Chinese name in the product description"
    )]
    LotCodeNotGs1 {
        /// The lot code.
        code: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A certificate whose validity ends before it is issued.
    #[error(
        "certificate valid until {} ends before it is issued ({})",
        crate::time::show_utc(*valid_until),
        crate::time::show_utc(*time)
    )]
    CertificateValidity {
        /// The certify record's time.
        time: u64,
        /// Its stated end of validity.
        valid_until: u64,
    },
    /// A packer authorisation that ends before it is given.
    #[error(
        "packer authorisation valid until {} ends before it is given ({})",
        crate::time::show_utc(*valid_until),
        crate::time::show_utc(*time)
    )]
    AuthorisationValidity {
        /// The record's time.
        time: u64,
        /// Its stated end.
        valid_until: u64,
    },
    /// A second lot with a (GTIN, lot code) pair already on the ledger.
    /// Judged when a record is submitted, against the submitting node's
    /// ledger (see `Ledger::admit`): a QR code must name one lot.
    #[error(
        "GTIN {gtin} already has a lot {code:?} on this ledger: a GTIN and lot code name one lot, so that a QR code names one journey; choose another lot code"
    )]
    DuplicateProductLot {
        /// The GTIN.
        gtin: String,
        /// The lot code.
        code: String,
    },
    /// A record signed by a revoked key after the last seq its revocation
    /// still trusts. Judged when a record is submitted (see
    /// `Ledger::admit`); one that arrives by replication is stored and
    /// flagged instead, so every node converges on the same records.
    #[error(
        "the key was revoked by a regulator (revocation {}): {}",
        revocation.short(),
        match last_trusted_seq {
            Some(n) => format!("records after its record #{n} are not accepted"),
            None => "none of its records are accepted".to_owned(),
        }
    )]
    KeyRevoked {
        /// The revoked signing key.
        key: PublicKey,
        /// The last seq of the key that stays trusted (`None`: none).
        last_trusted_seq: Option<u64>,
        /// The revoke record.
        revocation: Hash,
    },
    /// A sensor reading with min > max.
    #[error("reading range is empty: min {min} > max {max}")]
    BadRange {
        /// Lower bound.
        min: i64,
        /// Upper bound.
        max: i64,
    },
}

/// A failure of the storage engine (I/O, corruption). Never caused by a
/// record's content.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine reported an error.
    #[error("storage: {0}")]
    Engine(String),
    /// Stored bytes did not decode: the store is damaged.
    #[error("storage corrupt at {key}: {why}")]
    Corrupt {
        /// Hex of the key.
        key: String,
        /// What failed.
        why: String,
    },
    /// The directory holds no ledger.
    #[error("{0} is not a Terroir ledger (no genesis); create one with `terroir init`")]
    NotALedger(String),
    /// The directory is used by another process.
    #[error("ledger at {0} is locked by another process")]
    Locked(String),
    /// A ledger already exists here.
    #[error("a ledger already exists at {0}")]
    AlreadyExists(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The longest run of hex digits in `s`.
    fn longest_hex(s: &str) -> usize {
        s.split(|c: char| !c.is_ascii_hexdigit())
            .map(str::len)
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn messages_name_hashes_and_keys_by_their_prefix() {
        let h = Hash([0xab; 32]);
        let k = PublicKey([0xcd; 32]);
        let errors = [
            ValidationError::WrongNetwork {
                expected: h,
                got: Hash([0x12; 32]),
            },
            ValidationError::PrevMismatch { prev: h },
            ValidationError::NotEnrolled(k),
            ValidationError::WrongDep {
                dep: h,
                why: "a receive needs a ship record".into(),
            },
            ValidationError::DuplicateDep(h),
            ValidationError::NotAddressed { shipment: h, to: k },
            ValidationError::AlreadyReceived(h),
            ValidationError::ReceiveMismatch {
                shipment: h,
                why: "shipped 5 kg, received 6 kg".into(),
            },
            ValidationError::WeakKey {
                key: k,
                reason: WeakKey::SmallOrder,
            },
            ValidationError::TimeBeforeDep {
                time: 1_735_689_600_000,
                dep: h,
                dep_time: 1_735_689_700_000,
            },
        ];
        for e in errors {
            let text = e.to_string();
            assert!(longest_hex(&text) <= 12, "{text}");
            assert!(!text.contains("1735689"), "epoch milliseconds in {text}");
        }
    }
}
