//! A small ledger world for rule and query tests: a genesis regulator
//! (`reg`) and a cast of enrolled participants, each with its own chain,
//! on an in-memory store. Times advance a second per record.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use ledger_core::author::Author;
use ledger_core::event::{Event, Location, LotId, Product, Quantity, Role, Unit};
use ledger_core::genesis::{Authority, Genesis, GENESIS_VERSION};
use ledger_core::ledger::{Ledger, LedgerConfig, Outcome};
use ledger_core::record::SignedRecord;
use ledger_core::store::MemoryStore;
use ledger_core::{Hash, PublicKey, SigningKey, ValidationError};

/// The world's start: 2025-06-15T15:06:40Z.
pub const T: u64 = 1_750_000_000_000;
/// The clock records are judged against: a day after [`T`].
pub const NOW: u64 = T + 86_400_000;

/// Where everyone is.
pub fn here() -> Location {
    Location {
        description: "淳安县 千岛湖镇".into(),
        gln: None,
    }
}

/// A place named `what`.
pub fn place(what: &str) -> Location {
    Location {
        description: what.into(),
        gln: None,
    }
}

/// Grams.
pub fn g(amount: u64) -> Quantity {
    Quantity::new(amount, Unit::Gram)
}

pub struct World {
    pub genesis: Genesis,
    pub ledger: Ledger<MemoryStore>,
    pub authors: BTreeMap<&'static str, Author>,
    pub enrolled: BTreeMap<PublicKey, Hash>,
    pub time: u64,
}

impl World {
    /// A network named `network` whose regulator `reg` enrolls `cast`, in
    /// order (participant `i` has the seed `10 + i` repeated).
    pub fn with_cast(network: &str, cast: &[(&'static str, Role)]) -> Self {
        let reg = SigningKey::from_seed(&[1; 32]);
        let genesis = Genesis {
            version: GENESIS_VERSION,
            network: network.into(),
            authorities: vec![Authority {
                key: reg.public(),
                name: "Bureau".into(),
            }],
            checkpoint_threshold: 1,
            created: T,
            profile: Default::default(),
        };
        let id = genesis.id();
        let ledger =
            Ledger::create(MemoryStore::new(), genesis.clone(), LedgerConfig::default()).unwrap();
        let mut w = World {
            genesis,
            ledger,
            authors: BTreeMap::new(),
            enrolled: BTreeMap::new(),
            time: T,
        };
        w.authors.insert("reg", Author::new(reg, id));
        for (i, (name, role)) in cast.iter().enumerate() {
            let key = SigningKey::from_seed(&[10 + i as u8; 32]);
            let pk = key.public();
            let h = w.accept(
                "reg",
                vec![],
                Event::Enroll {
                    participant: pk,
                    name: (*name).into(),
                    role: *role,
                    location: here(),
                },
            );
            w.enrolled.insert(pk, h);
            w.authors.insert(name, Author::new(key, id));
        }
        w
    }

    pub fn pk(&self, who: &str) -> PublicKey {
        self.authors[who].public()
    }

    pub fn tick(&mut self) -> u64 {
        self.time += 1000;
        self.time
    }

    /// Deps plus the author's enrollment when this is its first record.
    pub fn deps(&self, who: &str, mut deps: Vec<Hash>) -> Vec<Hash> {
        let a = &self.authors[who];
        if a.next_seq() == 0 {
            if let Some(e) = self.enrolled.get(&a.public()) {
                deps.push(*e);
            }
        }
        deps
    }

    /// Signs the next record without advancing the author's chain.
    pub fn draft(&mut self, who: &str, deps: Vec<Hash>, event: Event) -> SignedRecord {
        let time = self.tick();
        let deps = self.deps(who, deps);
        let a = &self.authors[who];
        a.draft(time, deps, event).sign(a.key())
    }

    /// Signs the next record, expects it accepted, and returns its hash.
    pub fn accept(&mut self, who: &str, deps: Vec<Hash>, event: Event) -> Hash {
        let time = self.tick();
        let deps = self.deps(who, deps);
        let r = self.authors.get_mut(who).unwrap().sign(time, deps, event);
        let h = r.hash();
        assert_eq!(self.ledger.ingest_one(r, NOW).unwrap(), Outcome::Accepted);
        h
    }

    /// Submits `r`, expects a rejection, and checks nothing changed.
    pub fn reject(&mut self, r: SignedRecord) -> ValidationError {
        let before = self.ledger.state_digest().unwrap();
        let len = self.ledger.len();
        let outcome = self.ledger.ingest_one(r, NOW).unwrap();
        assert_eq!(self.ledger.state_digest().unwrap(), before);
        assert_eq!(self.ledger.len(), len);
        match outcome {
            Outcome::Rejected { error } => error,
            other => panic!("expected a rejection, got {other:?}"),
        }
    }

    /// The lot `code` created by `who`.
    pub fn lot(&self, who: &str, code: &str) -> LotId {
        LotId {
            source: self.pk(who),
            code: code.into(),
        }
    }
}

/// Custody steps of the tea world, by name.
impl World {
    /// Harvests `grams` of tea leaves as lot `code`.
    pub fn harvest_lot(&mut self, who: &str, code: &str, grams: u64) -> LotId {
        self.accept(
            who,
            vec![],
            Event::Harvest {
                lot_code: code.into(),
                product: Product {
                    description: "千岛湖茶 鲜叶".into(),
                    gtin: None,
                },
                quantity: g(grams),
                location: place("茶园"),
                reference: None,
            },
        );
        LotId {
            source: self.pk(who),
            code: code.into(),
        }
    }

    /// Ships, and returns the ship record and its time.
    pub fn ship_lot(&mut self, who: &str, lot: &LotId, grams: u64, to: &str) -> (Hash, u64) {
        let event = Event::Ship {
            lot: lot.clone(),
            quantity: g(grams),
            to: self.pk(to),
            from: place(who),
            destination: place(to),
            reference: None,
        };
        let h = self.accept(who, vec![], event);
        (h, self.time)
    }

    pub fn receive_lot(&mut self, who: &str, shipment: Hash, lot: &LotId, grams: u64) {
        self.accept(
            who,
            vec![shipment],
            Event::Receive {
                shipment,
                lot: lot.clone(),
                quantity: g(grams),
                location: place(who),
                reference: None,
            },
        );
    }

    /// The tea world's usual story: 鸠坑茶园 harvests 120 kg of leaves
    /// (JK-0401), ships them all to 合作社, which receives them and makes
    /// 30 kg of tea (QDH-0403). Returns (leaves, tea).
    pub fn leaves_to_tea(&mut self) -> (LotId, LotId) {
        let leaf = self.harvest_lot("鸠坑茶园", "JK-0401", 120_000);
        let (ship, _) = self.ship_lot("鸠坑茶园", &leaf, 120_000, "合作社");
        self.receive_lot("合作社", ship, &leaf, 120_000);
        self.accept(
            "合作社",
            vec![],
            Event::Transform {
                process: "wither, fix, roll and dry".into(),
                inputs: vec![ledger_core::event::LotAmount {
                    lot: leaf.clone(),
                    quantity: g(120_000),
                }],
                outputs: vec![ledger_core::event::NewLot {
                    code: "QDH-0403".into(),
                    product: Product {
                        description: "千岛湖茶 green tea".into(),
                        gtin: None,
                    },
                    quantity: g(30_000),
                }],
                loss: 90_000,
                location: place("合作社"),
                reference: None,
            },
        );
        let tea = self.lot("合作社", "QDH-0403");
        (leaf, tea)
    }
}
