//! What the newest final checkpoint says about a lot: the line under the
//! verdict that a shopper can hold the authorities to. A lot absent from
//! the checkpoint's status map was not recalled (nor failed a test, nor
//! was made under a revoked key or from such a lot) as of the
//! checkpoint's time, and `k` of the `n` authorities signed that map;
//! a lot the map lists is named with what it lists.

use ledger_core::checkpoint::SignedCheckpoint;
use ledger_core::query;
use ledger_core::store::SledStore;
use ledger_core::tlog::map::{lot_key, LotStatus, StatusKind};
use ledger_core::{Genesis, LotId, Reader, StoreError};
use serde_json::{json, Value};

use super::{esc, Ctx, Lang};

/// The newest final checkpoint, as the page names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seal {
    /// Its height.
    pub height: u64,
    /// When it was made, ms since the epoch.
    pub time: u64,
    /// The authorities that signed it, by name, in genesis order.
    pub signers: Vec<String>,
    /// How many authorities the network has.
    pub authorities: usize,
}

/// A lot's standing under the newest final checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Standing {
    /// The newest final checkpoint; `None` before the first.
    pub seal: Option<Seal>,
    /// Whether the record that created the lot is in that checkpoint's
    /// log (a lot made since is not covered yet).
    pub covered: bool,
    /// The lot's entry in the status map; `None` when it has none.
    pub status: Option<LotStatus>,
}

/// The standing of `lot` as of the newest checkpoint `ledger` applied:
/// a map lookup and one index read, whatever the ledger's size.
pub fn standing(
    ledger: &Reader<SledStore>,
    genesis: &Genesis,
    lot: &LotId,
) -> Result<Standing, StoreError> {
    let log = ledger.log();
    let Some(c) = log.checkpoint.as_ref() else {
        return Ok(Standing {
            seal: None,
            covered: false,
            status: None,
        });
    };
    let covered = match query::creation(ledger, lot)? {
        Some(h) => ledger.leaf_index(&h)?.is_some(),
        None => false,
    };
    Ok(Standing {
        seal: Some(seal(c, genesis)),
        covered,
        status: log.map.get(&lot_key(lot)).copied(),
    })
}

fn seal(c: &SignedCheckpoint, genesis: &Genesis) -> Seal {
    Seal {
        height: c.checkpoint.height,
        time: c.checkpoint.time,
        signers: c.signer_names(genesis),
        authorities: genesis.authorities.len(),
    }
}

/// The lot's own statuses and its inputs', in the page's words, most
/// severe first.
fn status_words(l: Lang, s: &LotStatus) -> Vec<&'static str> {
    let mut out = Vec::new();
    for kind in StatusKind::ALL {
        if s.has_own(kind) {
            out.push(match kind {
                StatusKind::Recalled => l.tr("已召回", "recalled"),
                StatusKind::FailedInspection => l.tr("检测不合格", "failed a safety test"),
                StatusKind::AuthorRevoked => {
                    l.tr("由已吊销的密钥登记", "recorded under a revoked key")
                }
                StatusKind::AuthorForked => l.tr(
                    "登记者签署了相互矛盾的记录",
                    "recorded by a participant that signed conflicting records",
                ),
                StatusKind::Excursion => l.tr("冷链超标", "out of its cold-chain range"),
            });
        }
    }
    for kind in StatusKind::ALL {
        if s.has_upstream(kind) {
            out.push(match kind {
                StatusKind::Recalled => l.tr("原料批次已召回", "made from a recalled lot"),
                StatusKind::FailedInspection => l.tr(
                    "原料批次检测不合格",
                    "made from a lot that failed a safety test",
                ),
                StatusKind::AuthorRevoked => l.tr(
                    "原料批次由已吊销的密钥登记",
                    "made from a lot recorded under a revoked key",
                ),
                StatusKind::AuthorForked => l.tr(
                    "原料批次的登记者签署了相互矛盾的记录",
                    "made from a lot whose recorder signed conflicting records",
                ),
                StatusKind::Excursion => l.tr(
                    "原料批次冷链超标",
                    "made from a lot that left its cold-chain range",
                ),
            });
        }
    }
    out
}

/// `checkpoint 3, cosigned by 2 of 3: A, B` / `检查点 3，由 3 个机构中的 2 个共同签署：A、B`.
fn cosigned(l: Lang, s: &Seal) -> String {
    let k = s.signers.len();
    let n = s.authorities;
    match l {
        Lang::Zh => format!(
            "检查点 {}，由 {n} 个监管机构中的 {k} 个共同签署：{}",
            s.height,
            esc(&s.signers.join("、"))
        ),
        Lang::En => format!(
            "checkpoint {}, cosigned by {k} of {n}: {}",
            s.height,
            esc(&s.signers.join(", "))
        ),
    }
}

/// `Checkpoint 12 minutes old.` / `检查点生成于 12 分钟前。`
fn age(ctx: &Ctx<'_>, s: &Seal) -> String {
    let l = ctx.lang;
    let age = l.age(ctx.now.saturating_sub(s.time));
    match l {
        Lang::Zh => format!("检查点生成于 {age}前。"),
        Lang::En => format!("Checkpoint {age} old."),
    }
}

/// The standing's line(s) under the verdict, as HTML.
pub(super) fn standing_html(ctx: &Ctx<'_>, st: &Standing) -> String {
    let l = ctx.lang;
    let g = ctx.genesis;
    let Some(seal) = &st.seal else {
        return format!(
            "<p class=\"small\" id=\"checkpoint\">{}</p>",
            l.tr("尚未被检查点覆盖。", "Not yet covered by a checkpoint.")
        );
    };
    let age = age(ctx, seal);
    let line = if !st.covered {
        format!(
            "{}{}{age}",
            l.tr(
                "本批次尚未被检查点覆盖。",
                "This lot is not yet covered by a checkpoint."
            ),
            l.tr("", " ")
        )
    } else {
        let when = l.datetime(seal.time, g);
        let cosigned = cosigned(l, seal);
        match (&st.status, l) {
            (None, Lang::Zh) => format!("截至 {when} 未被召回——{cosigned}。{age}"),
            (None, Lang::En) => format!("Not recalled as of {when} — {cosigned}. {age}"),
            (Some(status), Lang::Zh) => format!(
                "<b>截至 {when} 已列为：{}</b>——{cosigned}。{age}",
                status_words(l, status).join("；")
            ),
            (Some(status), Lang::En) => format!(
                "<b>Listed as {} as of {when}</b> — {cosigned}. {age}",
                status_words(l, status).join("; ")
            ),
        }
    };
    format!("<p class=\"small\" id=\"checkpoint\">{line}</p>")
}

/// The standing in the page's JSON view: `null` before the first
/// checkpoint.
pub fn standing_json(ctx: &Ctx<'_>, st: &Standing) -> Value {
    let Some(seal) = &st.seal else {
        return Value::Null;
    };
    json!({
        "height": seal.height,
        "time": ledger_core::time::local(seal.time, ctx.genesis.time_zone()).to_rfc3339(),
        "age_s": ctx.now.saturating_sub(seal.time) / 1000,
        "signers": seal.signers,
        "authorities": seal.authorities,
        "covered": st.covered,
        "status": st.status,
    })
}
