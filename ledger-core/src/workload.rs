//! A generated farm-to-fork history: many farms harvest, carriers ship and
//! observe, processors receive and blend, retailers receive and sell, labs
//! inspect and regulators certify. Deterministic for a given size, so
//! tests and benchmarks can rely on it.

use std::collections::VecDeque;

use crate::author::Author;
use crate::event::{
    Action, Basis, Event, Location, LotAmount, LotId, NewLot, Product, Quantity, Reading, RefDoc,
    Role, SensorKind, Unit, Verdict,
};
use crate::genesis::{Authority, Genesis, GENESIS_VERSION};
use crate::hash::Hash;
use crate::key::SigningKey;
use crate::record::SignedRecord;

/// Shape of a generated workload.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Farms.
    pub farms: usize,
    /// Processors.
    pub processors: usize,
    /// Logistics firms.
    pub carriers: usize,
    /// Retailers.
    pub retailers: usize,
    /// Stop once at least this many records exist.
    pub records: usize,
}

impl Shape {
    /// A shape with enough participants for `records` records.
    pub fn for_records(records: usize) -> Self {
        let scale = (records / 2_000).clamp(1, 200);
        Shape {
            farms: 4 * scale,
            processors: scale.div_ceil(2).max(2),
            carriers: scale.div_ceil(4).max(1),
            retailers: scale.div_ceil(2).max(2),
            records,
        }
    }
}

/// A generated history, in a valid causal order.
#[derive(Debug)]
pub struct Workload {
    /// The genesis it runs under.
    pub genesis: Genesis,
    /// The records, each after everything it depends on.
    pub records: Vec<SignedRecord>,
    /// Lots created by harvests (candidates for recall queries).
    pub harvest_lots: Vec<LotId>,
    /// Lots created by transforms (candidates for lineage queries).
    pub product_lots: Vec<LotId>,
}

/// Start of generated time: 2025-01-01T00:00:00Z.
pub const T0: u64 = 1_735_689_600_000;

/// A deterministic key for participant `index` of `role`.
pub fn key_for(role: &str, index: usize) -> SigningKey {
    let seed = Hash::of(format!("terroir/workload/{role}/{index}").as_bytes());
    SigningKey::from_seed(&seed.0)
}

struct Clock(u64);

impl Clock {
    fn tick(&mut self) -> u64 {
        self.0 += 1_000;
        self.0
    }
}

fn loc(s: String) -> Location {
    Location {
        description: s,
        gln: None,
    }
}

/// A genesis with one authority, its enrollment of one farm, and the
/// farm's chain of harvests: `records` records in all, each after the
/// one before: what a chain written through several nodes in turn (a
/// load balancer, a CLI failing over) is made of.
pub fn one_chain(records: usize) -> (Genesis, Vec<SignedRecord>) {
    let regulator_key = key_for("regulator", 0);
    let genesis = Genesis {
        version: GENESIS_VERSION,
        network: "terroir round-robin".into(),
        authorities: vec![Authority {
            key: regulator_key.public(),
            name: "County Agriculture Bureau".into(),
        }],
        checkpoint_threshold: 1,
        created: T0,
        profile: Default::default(),
    };
    let mut regulator = Author::new(regulator_key, genesis.id());
    let farm_key = key_for("farm", 0);
    let place = |s: &str| Location {
        description: s.into(),
        gln: None,
    };
    let enroll = regulator.sign(
        T0 + 1_000,
        vec![],
        Event::Enroll {
            participant: farm_key.public(),
            name: "farm 0".into(),
            role: Role::Farm,
            location: place("Chun'an County"),
        },
    );
    let mut farm = Author::new(farm_key, genesis.id());
    let mut out = vec![enroll.clone()];
    for i in 1..records {
        let deps = if i == 1 { vec![enroll.hash()] } else { vec![] };
        out.push(farm.sign(
            T0 + 1_000 * (i as u64 + 1),
            deps,
            Event::Harvest {
                lot_code: format!("H{i}"),
                product: Product {
                    description: "green tea leaves".into(),
                    gtin: None,
                },
                quantity: Quantity::new(1_000, Unit::Gram),
                location: place("field"),
                reference: None,
            },
        ));
    }
    (genesis, out)
}

/// Generates a history of at least `shape.records` records.
pub fn generate(shape: Shape) -> Workload {
    let regulator_key = key_for("regulator", 0);
    let genesis = Genesis {
        version: GENESIS_VERSION,
        network: "terroir workload".into(),
        authorities: vec![Authority {
            key: regulator_key.public(),
            name: "County Agriculture Bureau".into(),
        }],
        checkpoint_threshold: 1,
        created: T0,
        profile: Default::default(),
    };
    let network = genesis.id();
    let mut clock = Clock(T0);
    let mut records = Vec::with_capacity(shape.records + 64);
    let mut regulator = Author::new(regulator_key, network);
    let mut registered = 0usize;

    let mut enroll = |role: Role,
                      name: String,
                      key: SigningKey,
                      records: &mut Vec<SignedRecord>,
                      clock: &mut Clock| {
        let event = Event::Enroll {
            participant: key.public(),
            name,
            role,
            location: loc("Chun'an County 淳安县".into()),
        };
        let r = regulator.sign(clock.tick(), vec![], event);
        let h = r.hash();
        records.push(r);
        // Cooperatives are registered firms: the regulator records each
        // one's unified social credit code with its enrollment.
        if role == Role::Processor {
            let body = format!("93330127MA2B0X{:03}", registered % 1000);
            registered += 1;
            if let Some(check) = crate::china::uscc_check_character(&body) {
                records.push(regulator.sign(
                    clock.tick(),
                    vec![],
                    Event::Identify {
                        participant: key.public(),
                        uscc: format!("{body}{check}"),
                    },
                ));
            }
        }
        (Author::new(key, network), Some(h))
    };
    let mut group =
        |role: Role, label: &str, n: usize, records: &mut Vec<SignedRecord>, clock: &mut Clock| {
            (0..n)
                .map(|i| {
                    enroll(
                        role,
                        format!("{label} {i}"),
                        key_for(label, i),
                        records,
                        clock,
                    )
                })
                .collect::<Vec<_>>()
        };
    let mut farms = group(Role::Farm, "farm", shape.farms, &mut records, &mut clock);
    let mut processors = group(
        Role::Processor,
        "processor",
        shape.processors,
        &mut records,
        &mut clock,
    );
    let mut carriers = group(
        Role::Logistics,
        "carrier",
        shape.carriers,
        &mut records,
        &mut clock,
    );
    let mut retailers = group(
        Role::Retailer,
        "retailer",
        shape.retailers,
        &mut records,
        &mut clock,
    );
    let mut labs = group(Role::Lab, "lab", 1, &mut records, &mut clock);

    // The first record of each participant depends on its enrollment.
    fn deps(first: &mut Option<Hash>, mut more: Vec<Hash>) -> Vec<Hash> {
        if let Some(e) = first.take() {
            more.push(e);
        }
        more
    }

    let mut harvest_lots = Vec::new();
    let mut product_lots = Vec::new();
    // Per processor: received farm lots waiting to be blended.
    let mut stock: Vec<VecDeque<(LotId, u64)>> = vec![VecDeque::new(); shape.processors];
    let mut round = 0usize;
    while records.len() < shape.records {
        let f = round % shape.farms;
        let p = round % shape.processors;
        let c = round % shape.carriers;
        let (farm, farm_first) = &mut farms[f];
        let code = format!("H{round}");
        let amount = 100_000 + (round as u64 % 7) * 10_000;
        // Now and then the farm sprays the field before picking it (an
        // input with no safety interval, so nothing is flagged) and
        // certifies the harvest (承诺达标合格证): issue 16's records in every
        // history.
        let certified = round % 20 == 9;
        if certified {
            records.push(farm.sign(
                clock.tick(),
                deps(farm_first, vec![]),
                Event::InputUse {
                    product: "枯草芽孢杆菌 可湿性粉剂".into(),
                    ingredients: vec!["枯草芽孢杆菌 Bacillus subtilis".into()],
                    registration: None,
                    dose: Quantity::new(500, Unit::Gram),
                    field: loc(format!("field {f}")),
                    safety_interval_days: 0,
                },
            ));
        }
        let harvest = farm.sign(
            clock.tick(),
            deps(farm_first, vec![]),
            Event::Harvest {
                lot_code: code.clone(),
                product: Product {
                    description: "千岛湖茶 green tea leaves".into(),
                    gtin: None,
                },
                quantity: Quantity::new(amount, Unit::Gram),
                location: loc(format!("field {f}")),
                reference: None,
            },
        );
        let harvest_hash = harvest.hash();
        records.push(harvest);
        let lot = LotId {
            source: farm.public(),
            code,
        };
        if certified {
            records.push(farm.sign(
                clock.tick(),
                vec![],
                Event::Certificate {
                    lot: lot.clone(),
                    quantity: Quantity::new(amount, Unit::Gram),
                    origin: format!("field {f}"),
                    contact: "0571-0000 0000".into(),
                    basis: Basis::QualityControl,
                    tests: vec![],
                    inputs: vec![],
                },
            ));
        }
        harvest_lots.push(lot.clone());

        let (processor, proc_first) = &mut processors[p];
        let ship = farm.sign(
            clock.tick(),
            vec![],
            Event::Ship {
                lot: lot.clone(),
                quantity: Quantity::new(amount, Unit::Gram),
                to: processor.public(),
                from: loc(format!("field {f}")),
                destination: loc(format!("plant {p}")),
                reference: None,
            },
        );
        let ship_hash = ship.hash();
        records.push(ship);

        let (carrier, carrier_first) = &mut carriers[c];
        records.push(carrier.sign(
            clock.tick(),
            deps(carrier_first, vec![harvest_hash, ship_hash]),
            Event::Observe {
                lot: lot.clone(),
                location: loc(format!("truck {c}")),
                readings: vec![Reading {
                    time: clock.0,
                    kind: SensorKind::Temperature,
                    value: 4_000 + (round as i64 % 5) * 500,
                    min: 0,
                    max: 8_000,
                }],
            },
        ));

        records.push(processor.sign(
            clock.tick(),
            deps(proc_first, vec![ship_hash]),
            Event::Receive {
                shipment: ship_hash,
                lot: lot.clone(),
                quantity: Quantity::new(amount, Unit::Gram),
                location: loc(format!("plant {p}")),
                reference: None,
            },
        ));
        stock[p].push_back((lot, amount));

        if round % 10 == 3 {
            let (lab, lab_first) = &mut labs[0];
            let dep = harvest_hash;
            let lot = stock[p].back().map(|(l, _)| l.clone());
            if let Some(lot) = lot {
                records.push(lab.sign(
                    clock.tick(),
                    deps(lab_first, vec![dep]),
                    Event::Inspect {
                        lot,
                        test: "pesticide residue".into(),
                        verdict: Verdict::Pass,
                        notes: String::new(),
                        reference: None,
                    },
                ));
            }
        }

        if stock[p].len() >= 2 {
            let inputs: Vec<(LotId, u64)> = stock[p].drain(..2).collect();
            let total: u64 = inputs.iter().map(|(_, a)| a).sum();
            let loss = total / 20;
            let out_code = format!("P{round}");
            let transform = processor.sign(
                clock.tick(),
                vec![],
                Event::Transform {
                    process: "blend and pack".into(),
                    inputs: inputs
                        .iter()
                        .map(|(l, a)| LotAmount {
                            lot: l.clone(),
                            quantity: Quantity::new(*a, Unit::Gram),
                        })
                        .collect(),
                    outputs: vec![NewLot {
                        code: out_code.clone(),
                        product: Product {
                            description: "千岛湖茶 packed tea".into(),
                            gtin: None,
                        },
                        quantity: Quantity::new(total - loss, Unit::Gram),
                    }],
                    loss,
                    location: loc(format!("plant {p}")),
                    reference: None,
                },
            );
            let transform_hash = transform.hash();
            records.push(transform);
            let product = LotId {
                source: processor.public(),
                code: out_code,
            };
            product_lots.push(product.clone());
            let made = LotAmount {
                lot: product.clone(),
                quantity: Quantity::new(total - loss, Unit::Gram),
            };

            // Now and then the processor packs the lot onto a pallet,
            // links its despatch advice, and declares the packing
            // erroneous: record version 4's events in every history.
            if round % 25 == 7 {
                let pack = processor.sign(
                    clock.tick(),
                    vec![],
                    Event::Aggregate {
                        action: Action::Add,
                        parent: format!("urn:epc:id:sscc:0614141.{round:010}"),
                        children: vec![made.clone()],
                        location: loc(format!("plant {p}")),
                    },
                );
                let pack_hash = pack.hash();
                records.push(pack);
                records.push(processor.sign(
                    clock.tick(),
                    vec![transform_hash],
                    Event::Transact {
                        action: Action::Add,
                        documents: vec![RefDoc {
                            kind: "desadv".into(),
                            number: format!("DA-{round}"),
                        }],
                        lots: vec![made.clone()],
                        location: loc(format!("plant {p}")),
                    },
                ));
                records.push(processor.sign(
                    clock.tick(),
                    vec![pack_hash],
                    Event::Correct {
                        record: pack_hash,
                        lots: vec![product.clone()],
                        reason: "incorrect_data".into(),
                        corrective: vec![],
                    },
                ));
            }

            let (retailer, retail_first) = &mut retailers[round % shape.retailers];
            let ship = processor.sign(
                clock.tick(),
                vec![],
                Event::Ship {
                    lot: product.clone(),
                    quantity: Quantity::new(total - loss, Unit::Gram),
                    to: retailer.public(),
                    from: loc(format!("plant {p}")),
                    destination: loc("store".into()),
                    reference: None,
                },
            );
            let ship_hash = ship.hash();
            records.push(ship);
            records.push(retailer.sign(
                clock.tick(),
                deps(retail_first, vec![ship_hash]),
                Event::Receive {
                    shipment: ship_hash,
                    lot: product.clone(),
                    quantity: Quantity::new(total - loss, Unit::Gram),
                    location: loc("store".into()),
                    reference: None,
                },
            ));
            records.push(retailer.sign(
                clock.tick(),
                vec![],
                Event::Sell {
                    lot: product,
                    quantity: Quantity::new((total - loss) / 2, Unit::Gram),
                    location: loc("store".into()),
                },
            ));
        }
        round += 1;
    }
    Workload {
        genesis,
        records,
        harvest_lots,
        product_lots,
    }
}
