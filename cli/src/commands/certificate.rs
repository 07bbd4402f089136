//! `terroir certificate`: China's compliance-commitment certificate
//! (承诺达标合格证), issued by the holder of a lot at origin or by a
//! purchaser that mixed or split lots (docs/china.md).

use anyhow::{bail, Result};
use ledger_core::event::{Basis, Event, Verdict};
use ledger_core::query::Trace;
use ledger_core::{Hash, LotId, Quantity};

use super::record::{Ctx, Sign};
use crate::lots;
use crate::parse;
use crate::settings::Settings;

#[derive(Debug, clap::Subcommand)]
pub(crate) enum Command {
    /// Issue a certificate for a quantity of a lot you hold.
    #[command(after_help = "Examples:
  terroir certificate issue --key farm.key --lot JK-1110 --quantity 50kg --basis commissioned-test --contact \"0571-6500 1234\"
  terroir certificate issue --key coop.key --lot BLEND-1112 --quantity 80kg --basis quality-control --contact 0571-6500 8888

A test basis rests on the passing tests of the lot and of the lots it was
made from (all of them, or those named with --test); they must test for
every active ingredient recorded as used on the fields it came from. A
lot blended or split from others names the certificates of its input
lots, which are found for you.")]
    Issue {
        #[command(flatten)]
        sign: Sign,
        /// The lot (CODE or CODE@SOURCE).
        #[arg(long)]
        lot: String,
        /// How much it covers (at most what you hold).
        #[arg(long, value_parser = parse::quantity, allow_hyphen_values = true)]
        quantity: Quantity,
        /// quality-control (质量安全控制符合要求), own-test (自行检测合格) or
        /// commissioned-test (委托检测合格).
        #[arg(long, value_parser = basis)]
        basis: Basis,
        /// A passing test it rests on (hash or prefix; repeat; default:
        /// every passing test of the lot and of what it was made from).
        #[arg(long = "test", value_parser = parse::hash_prefix)]
        tests: Vec<parse::HashPrefix>,
        /// Place of origin (产地; default: where you were enrolled).
        #[arg(long)]
        origin: Option<String>,
        /// Whom to call about it: a phone number.
        #[arg(long)]
        contact: String,
    },
}

fn basis(s: &str) -> Result<Basis, String> {
    match s {
        "quality-control" | "质量安全控制符合要求" => Ok(Basis::QualityControl),
        "own-test" | "自行检测合格" => Ok(Basis::OwnTest),
        "commissioned-test" | "委托检测合格" => Ok(Basis::CommissionedTest),
        other => Err(format!(
            "{other:?} is no basis: quality-control, own-test or commissioned-test"
        )),
    }
}

pub(crate) fn run(s: &Settings, c: Command) -> Result<()> {
    match c {
        Command::Issue {
            sign,
            lot,
            quantity,
            basis,
            tests,
            origin,
            contact,
        } => {
            let ctx = Ctx::open(s, &sign)?;
            let lot = ctx.lot(&lot)?;
            let Some(trace) = ctx.ledger.trace(&lot)? else {
                bail!("no record creates lot {lot} in {}", ctx.ledger.place());
            };
            // Only the holder certifies, at most what it holds (the rules
            // say so too; said first here, before what else is missing).
            let held = ctx
                .ledger
                .holdings(&ctx.signer.identity)?
                .into_iter()
                .find(|(l, _)| *l == lot)
                .map(|(_, q)| q);
            match held {
                None => bail!(
                    "you hold none of lot {lot}; only the lot's holder issues its certificate"
                ),
                Some(h) if h.unit != quantity.unit || h.amount < quantity.amount => bail!(
                    "you hold only {h} of lot {lot}; a certificate covers at most what you hold"
                ),
                Some(_) => {}
            }
            let made = lots::creation(ctx.ledger.as_ref(), &lot)?;
            let mut deps = vec![made];
            let inputs = input_certificates(&ctx, &lot, made)?;
            deps.extend(&inputs);
            let tests = if tests.is_empty() {
                if basis.is_test() {
                    passing_tests(&trace)
                } else {
                    Vec::new()
                }
            } else {
                let mut named = Vec::with_capacity(tests.len());
                for t in &tests {
                    named.push(crate::backend::resolve_hash(ctx.ledger.as_ref(), t)?);
                }
                named
            };
            if basis.is_test() && tests.is_empty() {
                bail!(
                    "lot {lot} has no passing test to rest a test-based certificate on; have it tested, or certify on quality-control"
                );
            }
            if !tests.is_empty() {
                // The rules check the tests against the fields the lot came
                // from: its creation and every upstream lot's.
                for up in &trace.upstream {
                    deps.push(lots::creation(ctx.ledger.as_ref(), up)?);
                }
                deps.extend(&tests);
            }
            deps.dedup();
            let origin = match origin {
                Some(o) => o,
                None => {
                    ctx.book
                        .location(ctx.ledger.as_ref(), &ctx.signer.identity)?
                        .description
                }
            };
            let event = Event::Certificate {
                lot,
                quantity,
                origin,
                contact,
                basis,
                tests,
                inputs,
            };
            ctx.commit(s, deps, event)
        }
    }
}

/// The passing inspections of the lot and of the lots it was made from.
fn passing_tests(trace: &Trace) -> Vec<Hash> {
    trace
        .events
        .iter()
        .filter(|e| {
            matches!(
                e.event,
                Event::Inspect {
                    verdict: Verdict::Pass,
                    ..
                }
            )
        })
        .map(|e| e.hash)
        .collect()
}

/// For a lot made from others (`made` is its transform), the latest
/// certificate of each input lot; none for a harvested lot.
fn input_certificates(ctx: &Ctx, lot: &LotId, made: Hash) -> Result<Vec<Hash>> {
    let Some(creation) = ctx.ledger.record(&made)? else {
        bail!("the record creating lot {lot} is missing");
    };
    let Event::Transform { inputs, .. } = &creation.record.event else {
        return Ok(Vec::new());
    };
    let mut out = Vec::with_capacity(inputs.len());
    for input in inputs {
        let latest = ctx
            .ledger
            .trace(&input.lot)?
            .into_iter()
            .flat_map(|t| t.events)
            .filter(|e| matches!(&e.event, Event::Certificate { lot: l, .. } if *l == input.lot))
            .max_by_key(|e| (e.time, e.hash))
            .map(|e| e.hash);
        match latest {
            Some(h) => out.push(h),
            None => bail!(
                "lot {} ({}) went into lot {lot} and has no certificate; a mixed or split lot is certified from the certificates of its input lots, so its holder issues one first",
                input.lot,
                ctx.book.name(&input.lot.source)
            ),
        }
    }
    Ok(out)
}
