//! What a recall must reach: a lot and every lot made from it, who holds
//! how much of each, and what is on the road — shipped, with no receive
//! for the shipment yet. A recall that only told the holders would miss
//! goods in a truck.
//!
//! [`recall_reach`] reads the records that name each reached lot
//! ([`Graph::lot_records`]) and the balances of the participants those
//! records name, so a read costs what the lots' histories hold, not what
//! the ledger holds. [`in_transit`] is the road part alone, written over
//! [`Graph`] so a stored ledger and an in-memory record set answer it the
//! same way.
//!
//! A shipment counts as in transit while no receive for it exists. A
//! receive may record less than was shipped: the difference is transit
//! loss (stated, signed), not goods still on the road.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::event::{Event, Location, LotId, Quantity};
use crate::graph::{Graph, KeyInfo};
use crate::hash::Hash;
use crate::key::PublicKey;
use crate::query;
use crate::reader::Reader;
use crate::store::Store;

/// Who holds how much of a lot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holding {
    /// The holder's identity key.
    pub participant: PublicKey,
    /// Its name from its enrollment, when the ledger knows it.
    pub name: Option<String>,
    /// How much it holds.
    pub quantity: Quantity,
}

/// A shipment on the road: shipped, and not received yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InTransit {
    /// The ship record.
    pub shipment: Hash,
    /// The shipper's identity key.
    pub from: PublicKey,
    /// The shipper's name from its enrollment, when known.
    pub from_name: Option<String>,
    /// The recipient's identity key.
    pub to: PublicKey,
    /// The recipient's name from its enrollment, when known.
    pub to_name: Option<String>,
    /// How much is on the road (all that was shipped).
    pub quantity: Quantity,
    /// When it was shipped: the ship record's time, ms since the Unix
    /// epoch (UTC); show it in the reader's local time.
    pub shipped_at: u64,
    /// Where it is going.
    pub destination: Location,
}

/// One lot a recall reaches: who holds it and what of it is on the road.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReachedLot {
    /// The lot.
    pub lot: LotId,
    /// Participants holding some of it (main-branch balances above zero):
    /// its creator first, then its receivers in the order they received.
    pub holders: Vec<Holding>,
    /// Its shipments not received yet, by ship time.
    pub in_transit: Vec<InTransit>,
}

/// Everything a recall of a lot must reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reach {
    /// The lot itself.
    pub lot: ReachedLot,
    /// Every lot made from it through transforms, transitively, in lot
    /// order (as [`query::downstream_lots`] lists them).
    pub downstream: Vec<ReachedLot>,
}

impl Reach {
    /// The lot, then every downstream lot.
    pub fn lots(&self) -> impl Iterator<Item = &ReachedLot> {
        std::iter::once(&self.lot).chain(&self.downstream)
    }

    /// Every shipment on the road, of the lot or a downstream lot, with
    /// its lot.
    pub fn in_transit(&self) -> impl Iterator<Item = (&LotId, &InTransit)> {
        self.lots()
            .flat_map(|r| r.in_transit.iter().map(move |t| (&r.lot, t)))
    }
}

/// Names and identities of keys, each looked up once per query.
#[derive(Default)]
struct Keys(BTreeMap<PublicKey, Option<KeyInfo>>);

impl Keys {
    fn info(
        &mut self,
        graph: &impl Graph,
        key: &PublicKey,
    ) -> Result<&Option<KeyInfo>, StoreError> {
        if !self.0.contains_key(key) {
            let info = graph.key_info(key)?;
            self.0.insert(*key, info);
        }
        Ok(self.0.get(key).unwrap_or(&None))
    }

    /// The participant identity `key` signs for (itself when unknown).
    fn identity(&mut self, graph: &impl Graph, key: &PublicKey) -> Result<PublicKey, StoreError> {
        Ok(self.info(graph, key)?.as_ref().map_or(*key, |i| i.identity))
    }

    /// The enrolled name of an identity, when known.
    fn name(
        &mut self,
        graph: &impl Graph,
        identity: &PublicKey,
    ) -> Result<Option<String>, StoreError> {
        Ok(self.info(graph, identity)?.as_ref().map(|i| i.name.clone()))
    }
}

/// What one pass over a lot's records finds: its shipments not received
/// yet, and who received some of it (identities, in receive order).
struct Custody {
    in_transit: Vec<InTransit>,
    receivers: Vec<PublicKey>,
}

fn custody(graph: &impl Graph, keys: &mut Keys, lot: &LotId) -> Result<Custody, StoreError> {
    let mut ships = Vec::new();
    let mut received = BTreeSet::new();
    let mut receives = Vec::new();
    for h in graph.lot_records(lot)? {
        let Some(r) = graph.record(&h)? else { continue };
        match r.record.event {
            Event::Ship {
                lot: shipped,
                quantity,
                to,
                destination,
                ..
            } if shipped == *lot => {
                ships.push((h, r.record.author, r.record.time, quantity, to, destination))
            }
            Event::Receive {
                shipment, lot: got, ..
            } => {
                received.insert(shipment);
                if got == *lot {
                    receives.push((r.record.time, h, r.record.author));
                }
            }
            _ => {}
        }
    }
    let mut in_transit = Vec::new();
    for (shipment, author, time, quantity, to, destination) in ships {
        if received.contains(&shipment) {
            continue;
        }
        let from = keys.identity(graph, &author)?;
        in_transit.push(InTransit {
            shipment,
            from,
            from_name: keys.name(graph, &from)?,
            to,
            to_name: keys.name(graph, &to)?,
            quantity,
            shipped_at: time,
            destination,
        });
    }
    in_transit.sort_by_key(|t| (t.shipped_at, t.shipment));
    receives.sort_unstable();
    let mut receivers = Vec::new();
    for (_, _, author) in receives {
        let who = keys.identity(graph, &author)?;
        if !receivers.contains(&who) {
            receivers.push(who);
        }
    }
    Ok(Custody {
        in_transit,
        receivers,
    })
}

/// The shipments of `lot` that are on the road: shipped, and no receive
/// for them yet, by ship time. Reads only the lot's records.
pub fn in_transit(graph: &impl Graph, lot: &LotId) -> Result<Vec<InTransit>, StoreError> {
    Ok(custody(graph, &mut Keys::default(), lot)?.in_transit)
}

fn reached_lot<S: Store>(
    ledger: &Reader<S>,
    keys: &mut Keys,
    lot: &LotId,
) -> Result<ReachedLot, StoreError> {
    let Custody {
        in_transit,
        receivers,
    } = custody(ledger, keys, lot)?;
    // Only the creator and receivers can hold a lot: the creator's
    // harvest or transform and a receive are the only credits.
    let mut holders = Vec::new();
    for who in std::iter::once(lot.source).chain(receivers.into_iter().filter(|r| *r != lot.source))
    {
        if let Some(quantity) = ledger.balance(&who, lot)? {
            if quantity.amount > 0 {
                holders.push(Holding {
                    participant: who,
                    name: keys.name(ledger, &who)?,
                    quantity,
                });
            }
        }
    }
    Ok(ReachedLot {
        lot: lot.clone(),
        holders,
        in_transit,
    })
}

/// What a recall of `lot` must reach: the lot and every lot made from it,
/// with who holds how much of each and what of each is in transit. Reads
/// the reached lots' records and their holders' balances (and, for a
/// recipient that has signed nothing yet, the enrollments, for its name).
pub fn recall_reach<S: Store>(ledger: &Reader<S>, lot: &LotId) -> Result<Reach, StoreError> {
    let mut keys = Keys::default();
    let first = reached_lot(ledger, &mut keys, lot)?;
    let mut downstream = Vec::new();
    for l in query::downstream_lots(ledger, lot)? {
        downstream.push(reached_lot(ledger, &mut keys, &l)?);
    }
    let mut reach = Reach {
        lot: first,
        downstream,
    };
    name_the_silent(ledger, &mut reach)?;
    Ok(reach)
}

/// A stored ledger knows a key's name from its chain state, which exists
/// once the key has signed; a recipient that has signed nothing yet (a
/// shop waiting for its first delivery) is named from its enrollment.
/// That look-up reads the enrollments, so it runs only for such keys.
fn name_the_silent<S: Store>(ledger: &Reader<S>, reach: &mut Reach) -> Result<(), StoreError> {
    let mut found: BTreeMap<PublicKey, Option<String>> = BTreeMap::new();
    let mut name = |key: &PublicKey, slot: &mut Option<String>| -> Result<(), StoreError> {
        if slot.is_some() {
            return Ok(());
        }
        if !found.contains_key(key) {
            let n = ledger.signer(key)?.map(|s| s.name);
            found.insert(*key, n);
        }
        slot.clone_from(found.get(key).unwrap_or(&None));
        Ok(())
    };
    for l in std::iter::once(&mut reach.lot).chain(&mut reach.downstream) {
        for h in &mut l.holders {
            name(&h.participant, &mut h.name)?;
        }
        for t in &mut l.in_transit {
            name(&t.from, &mut t.from_name)?;
            name(&t.to, &mut t.to_name)?;
        }
    }
    Ok(())
}
