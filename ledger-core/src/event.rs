//! The events a record can carry, with the FSMA 204 key data elements.
//!
//! Quantities are integers in a named base unit; there are no floating
//! point numbers anywhere in signed data. Times are milliseconds since the
//! Unix epoch (UTC).

use std::fmt;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::hash::Hash;
use crate::key::PublicKey;

/// A participant's role; it decides which events it may sign.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Grows and harvests; may also cool and pack its own produce.
    Farm,
    /// Receives lots and transforms them.
    Processor,
    /// Ships, stores and records cold-chain readings.
    Logistics,
    /// Receives and sells to consumers.
    Retailer,
    /// Enrolls, revokes, inspects, certifies and recalls.
    Regulator,
    /// Inspects (tests) and certifies.
    Lab,
}

impl Role {
    /// Every role, in declaration order.
    pub const ALL: [Role; 6] = [
        Role::Farm,
        Role::Processor,
        Role::Logistics,
        Role::Retailer,
        Role::Regulator,
        Role::Lab,
    ];

    /// The lower-case name used in files, flags and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Farm => "farm",
            Role::Processor => "processor",
            Role::Logistics => "logistics",
            Role::Retailer => "retailer",
            Role::Regulator => "regulator",
            Role::Lab => "lab",
        }
    }

    /// Parses a lower-case role name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this role may sign an event of `kind`.
    pub fn may_sign(self, kind: EventKind) -> bool {
        use EventKind as K;
        use Role as R;
        match kind {
            K::Harvest => self == R::Farm,
            K::Transform => matches!(self, R::Processor | R::Farm),
            K::Ship | K::Receive | K::Observe => {
                matches!(self, R::Farm | R::Processor | R::Logistics | R::Retailer)
            }
            K::Inspect | K::Certify => matches!(self, R::Regulator | R::Lab),
            K::Recall | K::Enroll | K::Revoke | K::AssignPrefix | K::Identify => {
                self == R::Regulator
            }
            K::Sell => self == R::Retailer,
            // Whoever owns a prefix may authorise a packer; the rule that
            // it owns one is checked in context.
            K::RotateKey | K::AuthorisePacker => true,
            // Packing and attaching need the lot held (checked in context).
            K::Aggregate | K::Associate => {
                matches!(self, R::Farm | R::Processor | R::Logistics | R::Retailer)
            }
            // A buyer links its order before it holds anything; anyone may
            // declare its own record erroneous.
            K::Transact | K::Correct => true,
            // Farms and cooperatives spray; producers and purchasers
            // (a cooperative, a buyer, a market) issue certificates.
            K::InputUse => matches!(self, R::Farm | R::Processor),
            K::Certificate => matches!(self, R::Farm | R::Processor | R::Retailer),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The unit a quantity counts. Mass and volume are held in their smallest
/// practical base unit so that every quantity is an integer.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    /// Grams (UN/CEFACT `GRM`).
    Gram,
    /// Millilitres (UN/CEFACT `MLT`).
    Millilitre,
    /// Single items (UN/CEFACT `H87`).
    Piece,
    /// Cases (UN/CEFACT `CS`).
    Case,
    /// Bags or sacks (UN/CEFACT `BG`).
    Bag,
    /// Crates (UN/CEFACT `CR`).
    Crate,
}

impl Unit {
    /// Every unit, in declaration order.
    pub const ALL: [Unit; 6] = [
        Unit::Gram,
        Unit::Millilitre,
        Unit::Piece,
        Unit::Case,
        Unit::Bag,
        Unit::Crate,
    ];

    /// The short symbol used when printing quantities.
    pub fn symbol(self) -> &'static str {
        match self {
            Unit::Gram => "g",
            Unit::Millilitre => "ml",
            Unit::Piece => "piece",
            Unit::Case => "case",
            Unit::Bag => "bag",
            Unit::Crate => "crate",
        }
    }

    /// The plural name used in messages (`grams`, `cases`).
    pub fn name(self) -> &'static str {
        match self {
            Unit::Gram => "grams",
            Unit::Millilitre => "millilitres",
            Unit::Piece => "pieces",
            Unit::Case => "cases",
            Unit::Bag => "bags",
            Unit::Crate => "crates",
        }
    }

    /// The UN/CEFACT Recommendation 20 code.
    pub fn uncefact(self) -> &'static str {
        match self {
            Unit::Gram => "GRM",
            Unit::Millilitre => "MLT",
            Unit::Piece => "H87",
            Unit::Case => "CS",
            Unit::Bag => "BG",
            Unit::Crate => "CR",
        }
    }
}

/// An integer amount of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
pub struct Quantity {
    /// How many base units.
    pub amount: u64,
    /// Which unit.
    pub unit: Unit,
}

impl Quantity {
    /// `amount` of `unit`.
    pub const fn new(amount: u64, unit: Unit) -> Self {
        Quantity { amount, unit }
    }
}

impl fmt::Display for Quantity {
    /// Grams of 1 kg and more print as kilograms, millilitres as litres,
    /// without trailing zeros: `120 kg`, `47.5 kg`, `250 g`, `24 case`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.unit {
            Unit::Gram if self.amount >= 1000 => {
                write!(f, "{} kg", decimal_thousandths(false, self.amount))
            }
            Unit::Millilitre if self.amount >= 1000 => {
                write!(f, "{} l", decimal_thousandths(false, self.amount))
            }
            unit => write!(f, "{} {}", self.amount, unit.symbol()),
        }
    }
}

/// A value held in thousandths (milli-°C, milli-%RH), as a person reads it:
/// `9.6`, `-1.5`, `8`, without trailing zeros.
pub fn thousandths(v: i64) -> String {
    decimal_thousandths(v < 0, v.unsigned_abs())
}

/// `magnitude / 1000` as a decimal without trailing zeros, signed.
fn decimal_thousandths(negative: bool, magnitude: u64) -> String {
    let sign = if negative { "-" } else { "" };
    let (whole, frac) = (magnitude / 1000, magnitude % 1000);
    if frac == 0 {
        return format!("{sign}{whole}");
    }
    let digits = format!("{frac:03}");
    format!("{sign}{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_basis_term_is_what_serde_writes_and_reads_back() {
        for b in Basis::ALL {
            assert_eq!(
                serde_json::to_value(b).ok(),
                Some(serde_json::Value::from(b.term()))
            );
            assert_eq!(Basis::from_term(b.term()), Some(b));
        }
        assert_eq!(Basis::from_term("quality-control"), None);
        assert_eq!(Basis::CommissionedTest.zh(), "委托检测合格");
    }

    #[test]
    fn quantities_print_without_trailing_zeros() {
        let g = |a| Quantity::new(a, Unit::Gram).to_string();
        assert_eq!(g(250), "250 g");
        assert_eq!(g(120_000), "120 kg");
        assert_eq!(g(47_500), "47.5 kg");
        assert_eq!(g(1_001), "1.001 kg");
        assert_eq!(Quantity::new(2_500, Unit::Millilitre).to_string(), "2.5 l");
        assert_eq!(Quantity::new(24, Unit::Case).to_string(), "24 case");
    }

    #[test]
    fn thousandths_print_as_decimals() {
        assert_eq!(thousandths(9_600), "9.6");
        assert_eq!(thousandths(-1_500), "-1.5");
        assert_eq!(thousandths(8_000), "8");
        assert_eq!(thousandths(-250), "-0.25");
        assert_eq!(thousandths(i64::MIN), "-9223372036854775.808");
    }
}

/// A traceability lot: the code its creator gave it, and the creator (the
/// FSMA "traceability lot code source"). Lot codes are unique per creator.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Encode, Decode, Serialize, Deserialize,
)]
pub struct LotId {
    /// The participant (identity key) that assigned the code.
    pub source: PublicKey,
    /// The traceability lot code.
    pub code: String,
}

impl fmt::Display for LotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.code, self.source.short())
    }
}

/// What a lot is: description and optional GTIN.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Product {
    /// Free text, any language (e.g. `千岛湖茶 green tea`).
    pub description: String,
    /// GTIN-8/12/13/14 digits, check digit verified on validation.
    pub gtin: Option<String>,
}

/// Where an event happened.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Location {
    /// Free text (field, village, warehouse …).
    pub description: String,
    /// 13-digit GLN, check digit verified on validation.
    pub gln: Option<String>,
}

/// A business document backing an event (FSMA "reference document").
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct RefDoc {
    /// The document type: `BOL`, `invoice`, `PO`, `lab report`, …
    pub kind: String,
    /// Its number.
    pub number: String,
}

/// A quantity of an existing lot, used as a transform input.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct LotAmount {
    /// Which lot.
    pub lot: LotId,
    /// How much of it.
    pub quantity: Quantity,
}

/// A lot created by a transform.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct NewLot {
    /// The new lot code (the author becomes its source).
    pub code: String,
    /// What it is.
    pub product: Product,
    /// How much was made.
    pub quantity: Quantity,
}

/// What a sensor measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SensorKind {
    /// Thousandths of a degree Celsius.
    Temperature,
    /// Thousandths of a percent relative humidity.
    Humidity,
}

impl SensorKind {
    /// Printable unit of the value after dividing by 1000.
    pub fn unit_symbol(self) -> &'static str {
        match self {
            SensorKind::Temperature => "°C",
            SensorKind::Humidity => "%RH",
        }
    }
}

/// One sensor reading, with the range the cold-chain contract allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Reading {
    /// When it was measured (ms since epoch).
    pub time: u64,
    /// What was measured.
    pub kind: SensorKind,
    /// The value in thousandths (milli-°C, milli-%RH).
    pub value: i64,
    /// Lowest allowed value, in thousandths.
    pub min: i64,
    /// Highest allowed value, in thousandths.
    pub max: i64,
}

impl Reading {
    /// Whether the value lies outside the allowed range (an excursion).
    pub fn is_excursion(&self) -> bool {
        self.value < self.min || self.value > self.max
    }

    /// The allowed range's bounds (see [`bounds`]).
    pub fn bounds(&self) -> (Option<i64>, Option<i64>) {
        bounds(self.min, self.max)
    }
}

/// An allowed range's lower and upper bound, each `None` where the range
/// is open on that side: `i64::MIN` and `i64::MAX` stand for "no bound"
/// (a reading imported without a range), never for a temperature.
pub fn bounds(min: i64, max: i64) -> (Option<i64>, Option<i64>) {
    (
        Some(min).filter(|m| *m != i64::MIN),
        Some(max).filter(|m| *m != i64::MAX),
    )
}

/// Outcome of an inspection or test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Complies.
    Pass,
    /// Does not comply: an overlay warns on the lot and everything made from it.
    Fail,
}

/// What an aggregation, association or transaction does to the relation
/// it names (EPCIS `action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Starts the relation: lots packed, attached or linked.
    Add,
    /// Confirms the relation as it stands.
    Observe,
    /// Ends it: lots unpacked, detached or unlinked (no lots: all of them).
    Delete,
}

impl Action {
    /// The EPCIS spelling: `ADD`, `OBSERVE`, `DELETE`.
    pub fn epcis(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }
}

/// What a compliance-commitment certificate's promise rests on (the
/// order's three bases).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Quality and safety control meeting the requirements (质量安全控制符合要求).
    QualityControl,
    /// The issuer's own test (自行检测合格).
    OwnTest,
    /// A test by a commissioned body (委托检测合格).
    CommissionedTest,
}

impl Basis {
    /// The three, in the order's order.
    pub const ALL: [Basis; 3] = [
        Basis::QualityControl,
        Basis::OwnTest,
        Basis::CommissionedTest,
    ];

    /// Whether the promise rests on a test, which the certificate must name.
    pub fn is_test(self) -> bool {
        !matches!(self, Basis::QualityControl)
    }

    /// The order's own words, as a certificate prints them (承诺依据).
    pub fn zh(self) -> &'static str {
        match self {
            Basis::QualityControl => "质量安全控制符合要求",
            Basis::OwnTest => "自行检测合格",
            Basis::CommissionedTest => "委托检测合格",
        }
    }

    /// The term JSON and EPCIS (`terroir:basis`) carry: `quality_control`,
    /// `own_test`, `commissioned_test` (what serde writes).
    pub fn term(self) -> &'static str {
        match self {
            Basis::QualityControl => "quality_control",
            Basis::OwnTest => "own_test",
            Basis::CommissionedTest => "commissioned_test",
        }
    }

    /// The basis a [`Basis::term`] names.
    pub fn from_term(term: &str) -> Option<Basis> {
        Basis::ALL.into_iter().find(|b| b.term() == term)
    }
}

/// An error declaration's reason as its bare CBV term (`did_not_occur`,
/// `incorrect_data`) in whichever form it was written (bare, URN, GS1 web
/// URI); any other text as written.
pub fn bare_error_reason(reason: &str) -> &str {
    [
        "urn:epcglobal:cbv:er:",
        "https://ref.gs1.org/cbv/ER-",
        "https://gs1.org/voc/ER-",
    ]
    .iter()
    .find_map(|p| reason.strip_prefix(p))
    .unwrap_or(reason)
}

/// The event a record carries. See DESIGN.md's table for who may sign what.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// A farm harvests: creates a lot it holds.
    Harvest {
        /// New lot code.
        lot_code: String,
        /// What was harvested.
        product: Product,
        /// How much.
        quantity: Quantity,
        /// Field or farm.
        location: Location,
        /// Backing document, if any.
        reference: Option<RefDoc>,
    },
    /// Consumes input quantities and creates output lots.
    Transform {
        /// What was done: `cool`, `wash`, `sort`, `pack`, `blend`, `mill`, …
        process: String,
        /// Consumed inputs, all held by the author.
        inputs: Vec<LotAmount>,
        /// Created lots.
        outputs: Vec<NewLot>,
        /// Stated loss (moisture, trimming); inputs = outputs + loss.
        loss: u64,
        /// Where.
        location: Location,
        /// Backing document, if any.
        reference: Option<RefDoc>,
    },
    /// Moves a quantity of a held lot into transit to a named recipient.
    Ship {
        /// Which lot.
        lot: LotId,
        /// How much.
        quantity: Quantity,
        /// The recipient's identity key.
        to: PublicKey,
        /// Ship-from location.
        from: Location,
        /// Ship-to location.
        destination: Location,
        /// Bill of lading, invoice …
        reference: Option<RefDoc>,
    },
    /// Acknowledges a shipment addressed to the author and credits it.
    Receive {
        /// The ship record (also listed in `deps`).
        shipment: Hash,
        /// The lot shipped.
        lot: LotId,
        /// How much arrived (at most what was shipped; the rest is transit loss).
        quantity: Quantity,
        /// Receiving location.
        location: Location,
        /// Backing document, if any.
        reference: Option<RefDoc>,
    },
    /// Cold-chain or storage evidence for a lot.
    Observe {
        /// The lot observed.
        lot: LotId,
        /// Where.
        location: Location,
        /// The readings.
        readings: Vec<Reading>,
    },
    /// An inspection or lab test of a lot.
    Inspect {
        /// The lot inspected.
        lot: LotId,
        /// What was tested (e.g. `pesticide residue`).
        test: String,
        /// Outcome.
        verdict: Verdict,
        /// Free-text findings.
        notes: String,
        /// Lab report.
        reference: Option<RefDoc>,
    },
    /// Certifies a claim about a lot (organic, geographical indication …).
    Certify {
        /// The lot certified.
        lot: LotId,
        /// The claim (e.g. `organic`, `GI 千岛湖茶`).
        claim: String,
        /// Certificate.
        reference: Option<RefDoc>,
        /// Expiry (ms since epoch), if any.
        valid_until: Option<u64>,
    },
    /// Recalls a lot and, by overlay, every lot derived from it.
    Recall {
        /// The lot recalled.
        lot: LotId,
        /// Why.
        reason: String,
    },
    /// A retailer sells a quantity to consumers.
    Sell {
        /// Which lot.
        lot: LotId,
        /// How much.
        quantity: Quantity,
        /// Store.
        location: Location,
    },
    /// A regulator enrolls a participant key with a role.
    Enroll {
        /// The participant's key (its identity).
        participant: PublicKey,
        /// Display name, any language.
        name: String,
        /// What it may sign.
        role: Role,
        /// Its location (GLN optional).
        location: Location,
    },
    /// A regulator revokes a key; records after `last_trusted_seq` are flagged.
    Revoke {
        /// The revoked key.
        key: PublicKey,
        /// The last seq of that key that stays trusted (`None`: none).
        last_trusted_seq: Option<u64>,
        /// Why.
        reason: String,
    },
    /// The author hands its identity to a new key; its own chain ends here.
    RotateKey {
        /// The successor key, whose first record depends on this one.
        new_key: PublicKey,
    },
    /// A regulator assigns a GS1 company prefix to a participant: only it,
    /// or a packer it authorises, may create lots with GTINs under it.
    AssignPrefix {
        /// The participant's identity key.
        participant: PublicKey,
        /// The GS1 company prefix: 4 to 12 digits.
        prefix: String,
    },
    /// A prefix owner authorises a contract packer to create lots with
    /// GTINs under its prefix (or a narrower one).
    AuthorisePacker {
        /// The packer's identity key.
        packer: PublicKey,
        /// The owner's prefix, or a longer one within it.
        prefix: String,
        /// Last time (ms since epoch) a lot may be created under it, if
        /// the authorisation ends.
        valid_until: Option<u64>,
    },
    /// Packs lots into a logistic unit (a case or pallet named by its
    /// SSCC) or unpacks them: EPCIS's AggregationEvent. Custody does not
    /// change; the contents keep their lots, their lineage and their
    /// holder, and the unit is a name to find them by. Record version 4.
    Aggregate {
        /// Packing, checking, or unpacking.
        action: Action,
        /// The unit's identifier: an EPC URI (`urn:epc:id:sscc:…`) or the
        /// author's own name for it.
        parent: String,
        /// The lots in it and how much of each (none: unpack everything).
        children: Vec<LotAmount>,
        /// Where.
        location: Location,
    },
    /// Attaches lots to an asset (a data logger, a returnable crate) or
    /// detaches them: EPCIS's AssociationEvent. No custody effect. Record
    /// version 4.
    Associate {
        /// Attaching, checking, or detaching.
        action: Action,
        /// The asset's identifier (`urn:epc:id:giai:…`, `…:grai:…`).
        parent: String,
        /// The lots and how much of each (none on detach: all of them).
        children: Vec<LotAmount>,
        /// Where.
        location: Location,
    },
    /// Links business documents (a purchase order, a despatch advice, an
    /// invoice) to lots, or unlinks them: EPCIS's TransactionEvent. No
    /// custody effect. Record version 4.
    Transact {
        /// Linking, confirming, or unlinking.
        action: Action,
        /// The documents, at least one.
        documents: Vec<RefDoc>,
        /// The lots and how much of each.
        lots: Vec<LotAmount>,
        /// Where.
        location: Location,
    },
    /// The author declares one of its own earlier records erroneous
    /// (EPCIS's errorDeclaration). Nothing is deleted or undone: the
    /// record is shown as declared erroneous, and the records that correct
    /// it, if any, are named. Record version 4.
    Correct {
        /// The record declared erroneous (in `deps`, or the author's prev).
        record: Hash,
        /// Every lot that record names or creates, so the declaration
        /// travels with them (in traces and bundles).
        lots: Vec<LotId>,
        /// Why (`did not occur`, `incorrect data`, or free text; may be empty).
        reason: String,
        /// The records that correct it (each in `deps`).
        corrective: Vec<Hash>,
    },
    /// A farm applies an input (a pesticide, a veterinary drug) to a
    /// field, at the record's time. A harvest of that field before the
    /// label's pre-harvest safety interval (安全间隔期) has passed is flagged.
    /// Record version 4.
    InputUse {
        /// The product as its label names it (`10% 吡虫啉可湿性粉剂`).
        product: String,
        /// Its active ingredients, at least one (`吡虫啉 imidacloprid`).
        ingredients: Vec<String>,
        /// Its registration number (农药登记证号 `PD20070101`), if it has one.
        registration: Option<String>,
        /// How much was applied.
        dose: Quantity,
        /// The field, as the farm's harvests name it (the same GLN, or
        /// without GLNs the same description).
        field: Location,
        /// The pre-harvest safety interval, in days (0: none).
        safety_interval_days: u32,
    },
    /// A compliance-commitment certificate (承诺达标合格证) for a quantity
    /// of a lot its author holds: the promise that no banned substance was
    /// used, intervals were kept and residues are within limits, on the
    /// basis it names. Product, producer and date are the lot's, the
    /// author's and the record's. Record version 4.
    Certificate {
        /// The lot.
        lot: LotId,
        /// How much it covers (at most what the author holds).
        quantity: Quantity,
        /// Place of origin (产地).
        origin: String,
        /// Whom to call about it (a phone number).
        contact: String,
        /// What the promise rests on.
        basis: Basis,
        /// The passing tests it rests on (each in `deps`): a test basis
        /// names at least one, together covering every active ingredient
        /// used on the fields the lot came from.
        tests: Vec<Hash>,
        /// The certificates of the lots it was made from (each in
        /// `deps`): a holder that mixed or split lots names one for every
        /// input lot.
        inputs: Vec<Hash>,
    },
    /// A regulator records the national registration of a participant it
    /// enrolled: the unified social credit code (统一社会信用代码, GB 32100)
    /// of a firm or cooperative, check character verified. Record
    /// version 4.
    Identify {
        /// The participant (its enrollment is in `deps`).
        participant: PublicKey,
        /// Its unified social credit code, 18 characters.
        uscc: String,
    },
}

/// The kind of an [`Event`], without its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum EventKind {
    Harvest,
    Transform,
    Ship,
    Receive,
    Observe,
    Inspect,
    Certify,
    Recall,
    Sell,
    Enroll,
    Revoke,
    RotateKey,
    AssignPrefix,
    AuthorisePacker,
    Aggregate,
    Associate,
    Transact,
    Correct,
    InputUse,
    Certificate,
    Identify,
}

impl EventKind {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Harvest => "harvest",
            EventKind::Transform => "transform",
            EventKind::Ship => "ship",
            EventKind::Receive => "receive",
            EventKind::Observe => "observe",
            EventKind::Inspect => "inspect",
            EventKind::Certify => "certify",
            EventKind::Recall => "recall",
            EventKind::Sell => "sell",
            EventKind::Enroll => "enroll",
            EventKind::Revoke => "revoke",
            EventKind::RotateKey => "rotate_key",
            EventKind::AssignPrefix => "assign_prefix",
            EventKind::AuthorisePacker => "authorise_packer",
            EventKind::Aggregate => "aggregate",
            EventKind::Associate => "associate",
            EventKind::Transact => "transact",
            EventKind::Correct => "correct",
            EventKind::InputUse => "input_use",
            EventKind::Certificate => "certificate",
            EventKind::Identify => "identify",
        }
    }

    /// The first record format version that may carry this kind.
    pub fn since_version(self) -> u16 {
        match self {
            EventKind::Aggregate
            | EventKind::Associate
            | EventKind::Transact
            | EventKind::Correct
            | EventKind::InputUse
            | EventKind::Certificate
            | EventKind::Identify => 4,
            _ => 2,
        }
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Event {
    /// This event's kind.
    pub fn kind(&self) -> EventKind {
        match self {
            Event::Harvest { .. } => EventKind::Harvest,
            Event::Transform { .. } => EventKind::Transform,
            Event::Ship { .. } => EventKind::Ship,
            Event::Receive { .. } => EventKind::Receive,
            Event::Observe { .. } => EventKind::Observe,
            Event::Inspect { .. } => EventKind::Inspect,
            Event::Certify { .. } => EventKind::Certify,
            Event::Recall { .. } => EventKind::Recall,
            Event::Sell { .. } => EventKind::Sell,
            Event::Enroll { .. } => EventKind::Enroll,
            Event::Revoke { .. } => EventKind::Revoke,
            Event::RotateKey { .. } => EventKind::RotateKey,
            Event::AssignPrefix { .. } => EventKind::AssignPrefix,
            Event::AuthorisePacker { .. } => EventKind::AuthorisePacker,
            Event::Aggregate { .. } => EventKind::Aggregate,
            Event::Associate { .. } => EventKind::Associate,
            Event::Transact { .. } => EventKind::Transact,
            Event::Correct { .. } => EventKind::Correct,
            Event::InputUse { .. } => EventKind::InputUse,
            Event::Certificate { .. } => EventKind::Certificate,
            Event::Identify { .. } => EventKind::Identify,
        }
    }

    /// Every existing lot this event refers to (not the lots it creates).
    pub fn referenced_lots(&self) -> Vec<&LotId> {
        match self {
            Event::Transform { inputs, .. } => inputs.iter().map(|i| &i.lot).collect(),
            Event::Ship { lot, .. }
            | Event::Receive { lot, .. }
            | Event::Observe { lot, .. }
            | Event::Inspect { lot, .. }
            | Event::Certify { lot, .. }
            | Event::Recall { lot, .. }
            | Event::Sell { lot, .. }
            | Event::Certificate { lot, .. } => vec![lot],
            Event::Aggregate { children, .. } | Event::Associate { children, .. } => {
                children.iter().map(|c| &c.lot).collect()
            }
            Event::Transact { lots, .. } => lots.iter().map(|l| &l.lot).collect(),
            Event::Correct { lots, .. } => lots.iter().collect(),
            Event::Harvest { .. }
            | Event::InputUse { .. }
            | Event::Identify { .. }
            | Event::Enroll { .. }
            | Event::Revoke { .. }
            | Event::RotateKey { .. }
            | Event::AssignPrefix { .. }
            | Event::AuthorisePacker { .. } => Vec::new(),
        }
    }

    /// Every lot this event names or creates (those it creates as
    /// `creator`'s, the identity that signs it), each once, in `LotId`
    /// order: the lots a declaration that it is erroneous names.
    pub fn lots_touched(&self, creator: &PublicKey) -> Vec<LotId> {
        let mut lots: std::collections::BTreeSet<LotId> =
            self.referenced_lots().into_iter().cloned().collect();
        for (code, _, _) in self.created_lots() {
            lots.insert(LotId {
                source: *creator,
                code: code.to_owned(),
            });
        }
        lots.into_iter().collect()
    }

    /// The lot codes this event creates, with their product and quantity.
    pub fn created_lots(&self) -> Vec<(&str, &Product, Quantity)> {
        match self {
            Event::Harvest {
                lot_code,
                product,
                quantity,
                ..
            } => vec![(lot_code.as_str(), product, *quantity)],
            Event::Transform { outputs, .. } => outputs
                .iter()
                .map(|o| (o.code.as_str(), &o.product, o.quantity))
                .collect(),
            _ => Vec::new(),
        }
    }
}
