//! `terroir record EVENT`: sign a supply-chain event with your key.
//!
//! Each subcommand takes the event's fields as flags. Quantities are
//! written like `500kg`, `1.2t`, `24 case`; times as RFC 3339 or a date
//! (default now); participants by name, key, key prefix or key file; lots
//! as `CODE` or `CODE@SOURCE`. Locations default to where the signer (or,
//! for a shipment's destination, the recipient) was enrolled.

use std::path::PathBuf;

use anyhow::{bail, Result};
use ledger_core::event::{
    Action, Location, LotAmount, NewLot, Product, Reading, RefDoc, SensorKind, Verdict,
};
use ledger_core::{Event, Hash, Quantity};

use crate::backend::Backend;
use crate::book::Book;
use crate::parse::{self, Range, SensorValue, Timestamp};
use crate::settings::Settings;
use crate::{lots, writer};

/// Flags every record takes.
#[derive(Debug, clap::Args)]
pub(crate) struct Sign {
    /// Your key file.
    #[arg(long, value_name = "FILE")]
    pub(crate) key: PathBuf,
    /// Event time (RFC 3339 or YYYY-MM-DD; default now).
    #[arg(long, value_parser = parse::timestamp)]
    pub(crate) time: Option<Timestamp>,
}

/// A location given by flags.
#[derive(Debug, clap::Args)]
pub(crate) struct Place {
    /// Where it happened (default: where you were enrolled).
    #[arg(long, value_name = "TEXT")]
    location: Option<String>,
    /// The location's GLN (13 digits, check digit verified).
    #[arg(long, value_parser = parse::gln)]
    gln: Option<String>,
}

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// A farm harvests a new lot.
    #[command(after_help = "Examples:
  terroir record harvest --key farm.key --lot QDH-JK-0401 --product \"千岛湖茶 fresh leaf\" --quantity 500kg
  terroir record harvest --key farm.key --lot L-7 --product apples --quantity \"24 case\" --time 2025-04-01")]
    Harvest {
        #[command(flatten)]
        sign: Sign,
        /// The new lot's code (unique among your lots).
        #[arg(long, value_parser = parse::lot_code)]
        lot: String,
        /// What it is, any language (e.g. "千岛湖茶 fresh leaf").
        #[arg(long)]
        product: String,
        /// The product's GTIN (check digit verified).
        #[arg(long, value_parser = parse::gtin)]
        gtin: Option<String>,
        /// How much (500kg, 1.2t, 24 case …).
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Quantity,
        #[command(flatten)]
        place: Place,
        /// Backing document, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
    },
    /// Consume lots you hold and make new lots (cool, wash, blend, pack …).
    Transform {
        #[command(flatten)]
        sign: Sign,
        /// What was done: blend, pack, mill, dry …
        #[arg(long)]
        process: String,
        /// An input, LOT=QUANTITY (repeat).
        #[arg(long = "input", value_parser = parse::code_quantity, required = true)]
        inputs: Vec<(String, Quantity)>,
        /// An output, NEWCODE=QUANTITY (repeat).
        #[arg(long = "output", value_parser = parse::code_quantity, required = true)]
        outputs: Vec<(String, Quantity)>,
        /// What the outputs are.
        #[arg(long)]
        product: String,
        /// The outputs' GTIN.
        #[arg(long, value_parser = parse::gtin)]
        gtin: Option<String>,
        /// Stated loss (moisture, trimming): inputs = outputs + loss.
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        loss: Option<Quantity>,
        #[command(flatten)]
        place: Place,
        /// Backing document, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
    },
    /// Ship a quantity of a lot you hold to another participant.
    #[command(after_help = "Examples:
  terroir record ship --key farm.key --lot QDH-JK-0401 --quantity 500kg --to \"Qiandao Lake Tea Cooperative\"
  terroir record ship --key coop.key --lot QDH-PACK-0404 --quantity \"24 case\" --to shop.key --ref invoice:2025-0417
  terroir record ship --key coop.key --lot QDH-PACK-0404 --quantity \"24 case\" --to shop.key --note note-0417.json")]
    Ship {
        #[command(flatten)]
        sign: Sign,
        /// The lot (CODE or CODE@SOURCE).
        #[arg(long)]
        lot: String,
        /// How much.
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Quantity,
        /// The recipient: name, key, key prefix or key file.
        #[arg(long, value_name = "WHO")]
        to: String,
        /// Ship-from location (default: where you were enrolled).
        #[arg(long, value_name = "TEXT")]
        from: Option<String>,
        /// Ship-from GLN.
        #[arg(long, value_parser = parse::gln)]
        from_gln: Option<String>,
        /// Ship-to location (default: where the recipient was enrolled).
        #[arg(long, value_name = "TEXT")]
        destination: Option<String>,
        /// Ship-to GLN.
        #[arg(long, value_parser = parse::gln)]
        destination_gln: Option<String>,
        /// Bill of lading, invoice …, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
        /// Also write a delivery note that travels with the goods: .json
        /// (with the lineage: the receiver signs offline), .png (a QR code
        /// of the ship record) or .svg (a printable note with the code).
        #[arg(long, value_name = "FILE")]
        note: Option<PathBuf>,
    },
    /// Acknowledge a shipment addressed to you.
    #[command(after_help = "Examples:
  terroir record receive --key coop.key --shipment cb662c94
  terroir record receive --key coop.key --shipment cb662c94 --quantity 79.5kg
  terroir record receive --key shop.key --note note-0417.json      # offline, from the delivery note
  zbarcam --raw -1 | terroir record receive --key shop.key --note -  # scan the note's QR code")]
    Receive {
        #[command(flatten)]
        sign: Sign,
        /// The ship record's hash (printed by `terroir record ship`).
        /// (64 hex, or an unambiguous prefix of 8 or more as printed).
        #[arg(long, value_parser = parse::hash_prefix, value_name = "HASH",
              required_unless_present = "note", conflicts_with = "note")]
        shipment: Option<parse::HashPrefix>,
        /// The delivery note that came with the goods: a .json note file,
        /// a .png picture of its QR code, or - for the code's text on
        /// standard input (as a scanner types it).
        #[arg(long, value_name = "FILE")]
        note: Option<PathBuf>,
        /// How much arrived (default: all that was shipped).
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Option<Quantity>,
        #[command(flatten)]
        place: Place,
        /// Backing document, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
    },
    /// Record cold-chain or storage readings for a lot.
    Observe {
        #[command(flatten)]
        sign: Sign,
        /// The lot.
        #[arg(long)]
        lot: String,
        /// A temperature in °C, optionally VALUE@TIME (repeat).
        #[arg(long = "temperature", value_parser = parse::sensor_value, allow_hyphen_values = true)]
        temperatures: Vec<SensorValue>,
        /// The goods' temperature profile, which sets the allowed range:
        /// chilled 0 to 8 °C, frozen −30 to −15 °C, ambient 0 to 30 °C.
        #[arg(long, value_enum, conflicts_with = "temperature_range")]
        profile: Option<Profile>,
        /// Allowed temperatures, MIN..MAX in °C, when no profile fits.
        #[arg(long, value_parser = parse::range, allow_hyphen_values = true)]
        temperature_range: Option<Range>,
        /// A relative humidity in %, optionally VALUE@TIME (repeat).
        #[arg(long = "humidity", value_parser = parse::sensor_value)]
        humidities: Vec<SensorValue>,
        /// Allowed humidity, MIN..MAX in %.
        #[arg(long, value_parser = parse::range, default_value = "0..100")]
        humidity_range: Range,
        #[command(flatten)]
        place: Place,
    },
    /// Record an inspection or lab test of a lot (labs, regulators).
    Inspect {
        #[command(flatten)]
        sign: Sign,
        /// The lot.
        #[arg(long)]
        lot: String,
        /// What was tested (e.g. "pesticide residue (GB 2763)").
        #[arg(long)]
        test: String,
        /// pass or fail.
        #[arg(long, value_parser = parse::verdict)]
        verdict: Verdict,
        /// Findings.
        #[arg(long, default_value = "")]
        notes: String,
        /// Lab report, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
    },
    /// Certify a claim about a lot: organic, geographical indication … (labs, regulators).
    Certify {
        #[command(flatten)]
        sign: Sign,
        /// The lot.
        #[arg(long)]
        lot: String,
        /// The claim (e.g. organic, "GI 千岛湖茶").
        #[arg(long)]
        claim: String,
        /// Certificate, TYPE:NUMBER.
        #[arg(long = "ref", value_parser = parse::refdoc)]
        reference: Option<RefDoc>,
        /// Expiry (RFC 3339 or YYYY-MM-DD).
        #[arg(long, value_parser = parse::timestamp)]
        valid_until: Option<Timestamp>,
    },
    /// Recall a lot and, by overlay, every lot made from it (regulators).
    Recall {
        #[command(flatten)]
        sign: Sign,
        /// The lot.
        #[arg(long)]
        lot: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// Sell a quantity of a lot you hold to consumers (retailers).
    Sell {
        #[command(flatten)]
        sign: Sign,
        /// The lot.
        #[arg(long)]
        lot: String,
        /// How much.
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Quantity,
        #[command(flatten)]
        place: Place,
    },
    /// Record an input applied to a field (a pesticide, a veterinary
    /// drug): a harvest of the field before its safety interval has
    /// passed is flagged.
    #[command(after_help = "Example:
  terroir record input --key farm.key --product \"10% 吡虫啉可湿性粉剂\" --ingredient \"吡虫啉 imidacloprid\" --registration PD20070101 --dose 300g --field \"鸠坑乡 3号地\" --interval 7")]
    Input {
        #[command(flatten)]
        sign: Sign,
        /// The product as its label names it.
        #[arg(long)]
        product: String,
        /// An active ingredient (repeat): its Chinese and English names.
        #[arg(long = "ingredient", required = true)]
        ingredients: Vec<String>,
        /// Its registration number (农药登记证号), if it has one.
        #[arg(long)]
        registration: Option<String>,
        /// How much was applied (300g, 1.5l …).
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        dose: Quantity,
        /// The field, as your harvests name it.
        #[arg(long, value_name = "TEXT")]
        field: String,
        /// The field's GLN.
        #[arg(long = "field-gln", value_parser = parse::gln)]
        field_gln: Option<String>,
        /// The pre-harvest safety interval (安全间隔期) on the label, in days.
        #[arg(long, value_name = "DAYS", value_parser = parse::days)]
        interval: u32,
    },
    /// Pack lots you hold into a case or pallet (an SSCC): custody does
    /// not change; the unit is a name to find them by.
    #[command(after_help = "Examples:
  terroir record pack --key coop.key --into 106141412345678908 --lot QDH-PACK-0404=\"24 case\"
  terroir record pack --key coop.key --into \"pallet 7\" --lot QDH-0403=20kg --lot QDH-0405=10kg")]
    Pack {
        #[command(flatten)]
        sign: Sign,
        /// The unit: an SSCC (18 digits, check digit verified), an EPC URI, or your own name for it.
        #[arg(long, value_parser = parse::parent)]
        into: String,
        /// A lot and how much of it, LOT=QUANTITY (repeat).
        #[arg(long = "lot", value_parser = parse::code_quantity, required = true)]
        lots: Vec<(String, Quantity)>,
        #[command(flatten)]
        place: Place,
    },
    /// Unpack a case or pallet (all of it, or the lots named).
    Unpack {
        #[command(flatten)]
        sign: Sign,
        /// The unit, as it was packed.
        #[arg(long, value_parser = parse::parent)]
        from: String,
        /// A lot taken out, LOT=QUANTITY (repeat; none: everything).
        #[arg(long = "lot", value_parser = parse::code_quantity)]
        lots: Vec<(String, Quantity)>,
        #[command(flatten)]
        place: Place,
    },
    /// Link business documents (an order, a despatch advice, an invoice) to lots.
    #[command(after_help = "Example:
  terroir record link --key shop.key --doc po:PO-2025-118 --doc desadv:DA-41 --lot QDH-PACK-0404=\"24 case\"")]
    Link {
        #[command(flatten)]
        sign: Sign,
        /// A document, TYPE:NUMBER (repeat).
        #[arg(long = "doc", value_parser = parse::refdoc, required = true)]
        documents: Vec<RefDoc>,
        /// A lot and how much of it, LOT=QUANTITY (repeat).
        #[arg(long = "lot", value_parser = parse::code_quantity, required = true)]
        lots: Vec<(String, Quantity)>,
        #[command(flatten)]
        place: Place,
    },
    /// Declare one of your own records erroneous. It stays, shown as
    /// declared erroneous; correct it with new records and name them.
    #[command(after_help = "Examples:
  terroir record correct --key farm.key --record 3f2a9c --reason incorrect-data
  terroir record correct --key farm.key --record 3f2a9c --reason did-not-occur --corrected-by 7be014")]
    Correct {
        #[command(flatten)]
        sign: Sign,
        /// The record: its hash or a prefix of it.
        #[arg(long, value_parser = parse::hash_prefix)]
        record: parse::HashPrefix,
        /// Why: did-not-occur, incorrect-data, or your own words.
        #[arg(long)]
        reason: String,
        /// A record that corrects it (hash or prefix; repeat).
        #[arg(long = "corrected-by", value_parser = parse::hash_prefix)]
        corrected_by: Vec<parse::HashPrefix>,
    },
}

/// What signing one record needs: the ledger, its address book, the
/// signer, the clock and the record's time.
pub(crate) struct Ctx {
    pub(crate) ledger: Box<dyn Backend>,
    pub(crate) book: Book,
    pub(crate) signer: writer::Signer,
    now: u64,
    time: u64,
}

impl Ctx {
    pub(crate) fn open(s: &Settings, sign: &Sign) -> Result<Self> {
        let ledger = s.backend()?;
        // The clock is read once the ledger is open (and locked): a
        // concurrent signer's record is then never later than ours.
        let now = parse::now_ms();
        let book = Book::load(ledger.as_ref())?;
        let signer = writer::load_signer(ledger.as_ref(), &sign.key)?;
        Ok(Ctx {
            ledger,
            book,
            signer,
            now,
            time: sign.time.map_or(now, |t| t.0),
        })
    }

    fn place(&self, p: Place) -> Result<Location> {
        self.location(p.location, p.gln, &self.signer.identity)
    }

    fn location(
        &self,
        text: Option<String>,
        gln: Option<String>,
        whose: &ledger_core::PublicKey,
    ) -> Result<Location> {
        let enrolled = self.book.location(self.ledger.as_ref(), whose)?;
        Ok(match text {
            Some(description) => Location { description, gln },
            None => Location {
                description: enrolled.description,
                gln: gln.or(enrolled.gln),
            },
        })
    }

    pub(crate) fn lot(&self, spec: &str) -> Result<ledger_core::LotId> {
        lots::resolve(self.ledger.as_ref(), &self.book, spec)
    }

    /// Lots named `LOT=QUANTITY`, and the records creating them (the deps
    /// a record naming them needs).
    fn amounts(&self, given: Vec<(String, Quantity)>) -> Result<(Vec<LotAmount>, Vec<Hash>)> {
        let mut out = Vec::with_capacity(given.len());
        let mut deps = Vec::with_capacity(given.len());
        for (spec, quantity) in given {
            let lot = self.lot(&spec)?;
            let made = lots::creation(self.ledger.as_ref(), &lot)?;
            // writer::commit names each dep once.
            deps.push(made);
            out.push(LotAmount { lot, quantity });
        }
        Ok((out, deps))
    }

    pub(crate) fn commit(mut self, s: &Settings, deps: Vec<Hash>, event: Event) -> Result<()> {
        let record = self.sign(deps, event)?;
        writer::report(&s.out, &self.book, &self.signer, &record)?;
        self.queued_hint(s);
        Ok(())
    }

    fn sign(&mut self, deps: Vec<Hash>, event: Event) -> Result<ledger_core::SignedRecord> {
        writer::commit(
            self.ledger.as_mut(),
            &self.book,
            &self.signer,
            self.time,
            self.now,
            deps,
            event,
        )
    }

    /// On a replica: how many records wait for `terroir sync`.
    fn queued_hint(&self, s: &Settings) {
        if let (Some(n), true) = (self.ledger.queued(), s.out.human()) {
            crate::output::say!(
                "{n} record(s) wait in this replica's outbox; `terroir sync` hands them to the network"
            );
        }
    }

    /// Takes a delivery note's records in, and returns its ship record,
    /// which must be addressed to the signer.
    fn take_note(&mut self, note: crate::note::Note) -> Result<ledger_core::SignedRecord> {
        let ship = note.shipment;
        if ship.record.network != self.ledger.network() {
            bail!(
                "the delivery note is for network {}, not this one ({})",
                ship.record.network.short(),
                self.ledger.network().short()
            );
        }
        let Event::Ship { to, .. } = &ship.record.event else {
            bail!(
                "the delivery note holds a {} record, not a shipment",
                ship.record.event.kind()
            );
        };
        if *to != self.signer.identity {
            bail!(
                "the delivery note's shipment {} is addressed to {}, not to {}",
                ship.hash().short(),
                self.book.name(to),
                self.signer.name
            );
        }
        let mut records = note.lineage;
        records.push(ship.clone());
        // Nothing is taken in unless all of it can be checked: every record
        // a note's record names is in the note or already here.
        let given: std::collections::BTreeSet<Hash> = records.iter().map(|r| r.hash()).collect();
        let mut complete = true;
        for r in &records {
            for named in r.record.prev.iter().chain(&r.record.deps) {
                if !given.contains(named) && self.ledger.record(named)?.is_none() {
                    complete = false;
                }
            }
        }
        if complete {
            self.ledger.load(records)?;
        }
        if !complete || self.ledger.record(&ship.hash())?.is_none() {
            bail!(
                "{} cannot check shipment {} yet: it lacks the records the shipment depends on \
                 (the shipper's earlier records). Load the .json delivery note, which carries \
                 them, or sync first",
                self.ledger.place(),
                ship.hash().short()
            );
        }
        // The book may have learnt new participants from the note.
        self.book = Book::load(self.ledger.as_ref())?;
        Ok(ship)
    }
}

/// A temperature profile of goods, with its allowed range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Profile {
    /// Fresh produce, dairy, meat: 0 to 8 °C.
    Chilled,
    /// Frozen goods: −30 to −15 °C.
    Frozen,
    /// Dry goods such as tea: 0 to 30 °C.
    Ambient,
}

impl Profile {
    /// The allowed range, in thousandths of a °C.
    fn range(self) -> Range {
        let (min, max) = match self {
            Profile::Chilled => (0, 8),
            Profile::Frozen => (-30, -15),
            Profile::Ambient => (0, 30),
        };
        Range {
            min: min * 1_000,
            max: max * 1_000,
        }
    }
}

fn readings(values: &[SensorValue], kind: SensorKind, range: Range, time: u64) -> Vec<Reading> {
    values
        .iter()
        .map(|v| Reading {
            time: v.time.unwrap_or(time),
            kind,
            value: v.milli,
            min: range.min,
            max: range.max,
        })
        .collect()
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::Harvest {
            sign,
            lot,
            product,
            gtin,
            quantity,
            place,
            reference,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let event = Event::Harvest {
                lot_code: lot,
                product: Product {
                    description: product,
                    gtin,
                },
                quantity,
                location: ctx.place(place)?,
                reference,
            };
            ctx.commit(s, vec![], event)
        }
        Command::Transform {
            sign,
            process,
            inputs,
            outputs,
            product,
            gtin,
            loss,
            place,
            reference,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let mut ins = Vec::with_capacity(inputs.len());
            for (spec, quantity) in inputs {
                ins.push(LotAmount {
                    lot: ctx.lot(&spec)?,
                    quantity,
                });
            }
            let mut outs = Vec::with_capacity(outputs.len());
            for (code, quantity) in outputs {
                outs.push(NewLot {
                    code: parse::lot_code(&code).map_err(anyhow::Error::msg)?,
                    product: Product {
                        description: product.clone(),
                        gtin: gtin.clone(),
                    },
                    quantity,
                });
            }
            let unit = ins.first().map(|i| i.quantity.unit);
            let loss = match (loss, unit) {
                (Some(l), Some(u)) if l.unit != u => bail!(
                    "the loss is in {} but the inputs are in {}; give it in the inputs' unit",
                    l.unit.symbol(),
                    u.symbol()
                ),
                (Some(l), _) => l.amount,
                (None, _) => 0,
            };
            let event = Event::Transform {
                process,
                inputs: ins,
                outputs: outs,
                loss,
                location: ctx.place(place)?,
                reference,
            };
            ctx.commit(s, vec![], event)
        }
        Command::Ship {
            sign,
            lot,
            quantity,
            to,
            from,
            from_gln,
            destination,
            destination_gln,
            reference,
            note,
        } => {
            if let Some(path) = &note {
                crate::note::check_path(path)?;
            }
            let mut ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let to = ctx.book.resolve(&to)?;
            if ctx.book.get(&to).is_none() {
                bail!("{} is not enrolled in this network", to.short());
            }
            if to == ctx.signer.identity {
                bail!("you cannot ship to yourself");
            }
            let event = Event::Ship {
                lot,
                quantity,
                to,
                from: ctx.location(from, from_gln, &ctx.signer.identity)?,
                destination: ctx.location(destination, destination_gln, &to)?,
                reference,
            };
            let record = ctx.sign(vec![], event)?;
            writer::report(&s.out, &ctx.book, &ctx.signer, &record)?;
            if let Some(path) = &note {
                crate::note::write(path, ctx.ledger.as_ref(), &ctx.book, &record)?;
                if s.out.human() {
                    crate::output::say!("delivery note written to {}", path.display());
                }
            }
            ctx.queued_hint(s);
            Ok(())
        }
        Command::Receive {
            sign,
            shipment,
            note,
            quantity,
            place,
            reference,
        } => {
            if let (Some(url), Some(None)) = (&s.node, shipment.as_ref().map(|h| h.full())) {
                bail!(
                    "--shipment {} is a hash prefix; with --node {url} give the full \
                     64-character hash",
                    shipment.as_ref().map(|h| h.as_str()).unwrap_or_default()
                );
            }
            // A note is read before anything is opened: a bad one changes nothing.
            let note = note.as_deref().map(crate::note::read).transpose()?;
            let mut ctx = Ctx::open(s, &sign)?;
            let ship = match (note, &shipment) {
                (Some(note), _) => ctx.take_note(note)?,
                (None, Some(given)) => {
                    let hash = crate::backend::resolve_hash(ctx.ledger.as_ref(), given)?;
                    ctx.ledger.record(&hash)?.ok_or_else(|| {
                        anyhow::anyhow!("no record {} in {}", hash.short(), ctx.ledger.place())
                    })?
                }
                (None, None) => bail!("give --shipment HASH or --note FILE"),
            };
            let shipment = ship.hash();
            let Event::Ship {
                lot,
                quantity: shipped,
                ..
            } = ship.record.event
            else {
                bail!(
                    "record {} is a {} record, not a shipment",
                    shipment.short(),
                    ship.record.event.kind()
                );
            };
            let event = Event::Receive {
                shipment,
                lot,
                quantity: quantity.unwrap_or(shipped),
                location: ctx.place(place)?,
                reference,
            };
            ctx.commit(s, vec![shipment], event)
        }
        Command::Observe {
            sign,
            lot,
            temperatures,
            profile,
            temperature_range,
            humidities,
            humidity_range,
            place,
        } => {
            // The allowed range is signed into every reading: a frozen lot
            // read at −18 °C against a chilled range would carry an
            // excursion for good, so it is never guessed.
            let temperature_range = match (profile, temperature_range) {
                (Some(p), _) => p.range(),
                (None, Some(r)) => r,
                (None, None) if temperatures.is_empty() => Profile::Chilled.range(),
                (None, None) => bail!(
                    "say what the goods are kept at: --profile chilled, frozen or ambient, or \
                     --temperature-range MIN..MAX (it is signed into every reading)"
                ),
            };
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let mut rs = readings(
                &temperatures,
                SensorKind::Temperature,
                temperature_range,
                ctx.time,
            );
            rs.extend(readings(
                &humidities,
                SensorKind::Humidity,
                humidity_range,
                ctx.time,
            ));
            if rs.is_empty() {
                bail!("give at least one --temperature or --humidity reading");
            }
            let mut deps = vec![lots::creation(ctx.ledger.as_ref(), &lot)?];
            // A logistics firm off the custody path names the shipment it
            // carries (the latest of the lot's), or its readings stay off
            // the lot's trace.
            if ctx.signer.role == ledger_core::Role::Logistics {
                if let Some(t) = ctx.ledger.trace(&lot)? {
                    let carried = t
                        .events
                        .iter()
                        .rfind(|e| {
                            e.time <= ctx.time
                                && matches!(&e.event, Event::Ship { lot: l, .. } if *l == lot)
                        })
                        .map(|e| e.hash);
                    deps.extend(carried);
                }
            }
            let event = Event::Observe {
                lot,
                location: ctx.place(place)?,
                readings: rs,
            };
            ctx.commit(s, deps, event)
        }
        Command::Inspect {
            sign,
            lot,
            test,
            verdict,
            notes,
            reference,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let dep = lots::creation(ctx.ledger.as_ref(), &lot)?;
            let event = Event::Inspect {
                lot,
                test,
                verdict,
                notes,
                reference,
            };
            ctx.commit(s, vec![dep], event)
        }
        Command::Certify {
            sign,
            lot,
            claim,
            reference,
            valid_until,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let dep = lots::creation(ctx.ledger.as_ref(), &lot)?;
            let event = Event::Certify {
                lot,
                claim,
                reference,
                valid_until: valid_until.map(|t| t.0),
            };
            ctx.commit(s, vec![dep], event)
        }
        Command::Recall { sign, lot, reason } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let dep = lots::creation(ctx.ledger.as_ref(), &lot)?;
            let event = Event::Recall { lot, reason };
            ctx.commit(s, vec![dep], event)
        }
        Command::Sell {
            sign,
            lot,
            quantity,
            place,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let event = Event::Sell {
                lot,
                quantity,
                location: ctx.place(place)?,
            };
            ctx.commit(s, vec![], event)
        }
        Command::Input {
            sign,
            product,
            ingredients,
            registration,
            dose,
            field,
            field_gln,
            interval,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let event = Event::InputUse {
                product,
                ingredients,
                registration,
                dose,
                field: Location {
                    description: field,
                    gln: field_gln,
                },
                safety_interval_days: interval,
            };
            ctx.commit(s, vec![], event)
        }
        Command::Pack {
            sign,
            into,
            lots,
            place,
        } => aggregate(s, &sign, Action::Add, into, lots, place),
        Command::Unpack {
            sign,
            from,
            lots,
            place,
        } => aggregate(s, &sign, Action::Delete, from, lots, place),
        Command::Link {
            sign,
            documents,
            lots,
            place,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let (lots, deps) = ctx.amounts(lots)?;
            let event = Event::Transact {
                action: Action::Add,
                documents,
                lots,
                location: ctx.place(place)?,
            };
            ctx.commit(s, deps, event)
        }
        Command::Correct {
            sign,
            record,
            reason,
            corrected_by,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let target = crate::backend::resolve_hash(ctx.ledger.as_ref(), &record)?;
            let Some(declared) = ctx.ledger.record(&target)? else {
                bail!("no record {} in {}", target.short(), ctx.ledger.place());
            };
            if declared.record.author != ctx.signer.public() {
                bail!(
                    "record {} was signed by {}, not by you; only its signer may declare it erroneous",
                    target.short(),
                    ctx.book.name(&declared.record.author)
                );
            }
            let lots = declared.record.event.lots_touched(&ctx.signer.identity);
            let mut deps = vec![target];
            let mut corrective = Vec::with_capacity(corrected_by.len());
            for c in &corrected_by {
                let h = crate::backend::resolve_hash(ctx.ledger.as_ref(), c)?;
                corrective.push(h);
                deps.push(h);
            }
            let reason = match reason.as_str() {
                "did-not-occur" | "did_not_occur" => "did_not_occur".to_owned(),
                "incorrect-data" | "incorrect_data" => "incorrect_data".to_owned(),
                _ => reason,
            };
            let event = Event::Correct {
                record: target,
                lots,
                reason,
                corrective,
            };
            ctx.commit(s, deps, event)
        }
    }
}

/// Packs `lots` into `parent` or unpacks them (an aggregation).
fn aggregate(
    s: &Settings,
    sign: &Sign,
    action: Action,
    parent: String,
    lots: Vec<(String, Quantity)>,
    place: Place,
) -> Result<()> {
    let ctx = Ctx::open(s, sign)?;
    let (children, deps) = ctx.amounts(lots)?;
    let event = Event::Aggregate {
        action,
        parent,
        children,
        location: ctx.place(place)?,
    };
    ctx.commit(s, deps, event)
}
