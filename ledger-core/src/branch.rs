//! Chain state along a branch other than the main one.
//!
//! The store keeps one author's chain state (head, balances, receipts, lot
//! codes) only for its main branch: the first branch this node accepted. A
//! record that extends another branch — which happens only after its author
//! equivocated — is judged against state rebuilt by replaying that branch
//! from the identity's first record. So the verdict depends on the record's
//! causal past alone, never on which branch this node saw first.

use std::collections::{BTreeMap, BTreeSet};

use crate::error::StoreError;
use crate::event::{Event, LotId, Quantity};
use crate::genesis::Genesis;
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::record::SignedRecord;
use crate::validate::{check_in_context, CheckError, KeyState, View};

/// The author's state along one branch, over the main-branch view of
/// everyone else.
pub(crate) struct BranchView<'b, V: View> {
    base: &'b V,
    identity: PublicKey,
    keys: BTreeMap<PublicKey, KeyState>,
    balances: BTreeMap<LotId, Quantity>,
    received: BTreeSet<Hash>,
    created: BTreeSet<String>,
}

impl<V: View> View for BranchView<'_, V> {
    fn record(&self, hash: &Hash) -> Result<Option<SignedRecord>, StoreError> {
        self.base.record(hash)
    }

    fn key_state(&self, key: &PublicKey) -> Result<Option<KeyState>, StoreError> {
        match self.keys.get(key) {
            Some(k) => Ok(Some(k.clone())),
            None if *key == self.identity => Ok(None),
            None => self.base.key_state(key),
        }
    }

    fn balance(&self, holder: &PublicKey, lot: &LotId) -> Result<Option<Quantity>, StoreError> {
        if *holder == self.identity {
            Ok(self.balances.get(lot).copied())
        } else {
            self.base.balance(holder, lot)
        }
    }

    fn received(&self, holder: &PublicKey, shipment: &Hash) -> Result<bool, StoreError> {
        if *holder == self.identity {
            Ok(self.received.contains(shipment))
        } else {
            self.base.received(holder, shipment)
        }
    }

    fn created(&self, holder: &PublicKey, code: &str) -> Result<bool, StoreError> {
        if *holder == self.identity {
            Ok(self.created.contains(code))
        } else {
            self.base.created(holder, code)
        }
    }
}

fn missing(h: &Hash) -> StoreError {
    StoreError::Corrupt {
        key: h.to_hex(),
        why: "a stored record's chain link is absent".into(),
    }
}

/// The records of the identity's chain up to and including `tip`, oldest
/// first, following key rotations back to the first key.
fn branch_records(
    base: &impl View,
    tip: Option<Hash>,
    author: &PublicKey,
    deps: &[Hash],
) -> Result<Vec<SignedRecord>, StoreError> {
    let mut out = Vec::new();
    // A first record (no prev) of a rotated-in key continues the chain of
    // the rotate-key record among its deps.
    let rotation_of =
        |key: &PublicKey, deps: &[Hash]| -> Result<Option<SignedRecord>, StoreError> {
            for d in deps {
                let r = base.record(d)?.ok_or_else(|| missing(d))?;
                if matches!(r.record.event, Event::RotateKey { new_key } if new_key == *key) {
                    return Ok(Some(r));
                }
            }
            Ok(None)
        };
    let mut cur = match tip {
        Some(h) => Some(base.record(&h)?.ok_or_else(|| missing(&h))?),
        None => rotation_of(author, deps)?,
    };
    while let Some(r) = cur {
        cur = match r.record.prev {
            Some(p) => Some(base.record(&p)?.ok_or_else(|| missing(&p))?),
            None => rotation_of(&r.record.author, &r.record.deps)?,
        };
        out.push(r);
    }
    out.reverse();
    Ok(out)
}

/// Rebuilds the chain state a record sees at its prev by replaying its branch.
pub(crate) fn replay<'b, V: View>(
    base: &'b V,
    genesis: &Genesis,
    signed: &SignedRecord,
) -> Result<BranchView<'b, V>, CheckError> {
    let r = &signed.record;
    let chain = branch_records(base, r.prev, &r.author, &r.deps)?;
    let identity = chain.first().map_or(r.author, |f| f.record.author);
    let mut view = BranchView {
        base,
        identity,
        keys: BTreeMap::new(),
        balances: BTreeMap::new(),
        received: BTreeSet::new(),
        created: BTreeSet::new(),
    };
    for past in &chain {
        let fx = check_in_context(past, genesis, &view)?;
        view.keys.insert(past.record.author, fx.key_state);
        view.balances.extend(fx.balances);
        view.received.extend(fx.received);
        view.created.extend(fx.created);
    }
    Ok(view)
}
