//! Peer policy: the peer book (who we know, how to reach them, when to
//! dial them again), strikes, and each peer's budget for the sync
//! requests it makes of us.
//!
//! The book is bounded ([`MAX_KNOWN_PEERS`]) and decays: a peer not seen
//! for [`FORGET_AFTER`] is forgotten, bootstrap peers excepted. Below the
//! target peer count the node dials every known peer it is not connected
//! to, each on its own backoff (doubling from [`FIRST_BACKOFF`] up to the
//! configured cap), so a split heals within about that cap once the
//! network does.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId};

/// Peers the book holds at most.
pub const MAX_KNOWN_PEERS: usize = 1_000;
/// Addresses kept per peer, newest first.
const MAX_ADDRS_PER_PEER: usize = 8;
/// A peer neither connected nor heard of for this long is forgotten.
pub const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);
/// The first wait before dialling a peer again after a failure.
pub(super) const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Dials in progress at once.
pub(super) const MAX_PENDING_DIALS: usize = 8;
/// Strikes are forgotten after this long without a new one.
pub(super) const STRIKE_MEMORY: Duration = Duration::from_secs(3600);
/// Peers whose strikes are remembered at most.
pub(super) const MAX_STRUCK: usize = 10_000;

/// Where a known peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Link {
    /// Never connected (learned from a peer or from discovery).
    Never,
    /// Connected since.
    Up(Instant),
    /// Connected before, lost since.
    Lost(Instant),
}

/// A peer the book knows.
#[derive(Debug, Clone)]
pub(super) struct Known {
    /// Addresses to dial it at, newest first.
    pub(super) addrs: Vec<Multiaddr>,
    /// Named in the configuration: never forgotten.
    pub(super) bootstrap: bool,
    /// Its link.
    pub(super) link: Link,
    /// The address of its current (or last) connection.
    pub(super) remote: Option<Multiaddr>,
    /// The last ping's round trip.
    pub(super) rtt: Option<Duration>,
    failures: u32,
    next_dial: Instant,
    last_seen: Instant,
}

impl Known {
    /// A peer just heard of, never connected.
    fn new(now: Instant) -> Self {
        Known {
            addrs: Vec::new(),
            bootstrap: false,
            link: Link::Never,
            remote: None,
            rtt: None,
            failures: 0,
            next_dial: now,
            last_seen: now,
        }
    }
}

/// Something to dial.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Target {
    /// A known peer at its addresses.
    Peer(PeerId, Vec<Multiaddr>),
    /// A bootstrap address whose peer is not known yet.
    Seed(Multiaddr),
}

#[derive(Debug, Clone)]
struct Seed {
    addr: Multiaddr,
    failures: u32,
    next_dial: Instant,
}

/// The peer book.
#[derive(Debug)]
pub(super) struct PeerBook {
    peers: HashMap<PeerId, Known>,
    seeds: Vec<Seed>,
    redial_max: Duration,
}

impl PeerBook {
    /// A book of the bootstrap addresses; `redial_max` caps the backoff.
    pub(super) fn new(bootstrap: &[Multiaddr], redial_max: Duration) -> Self {
        let now = Instant::now();
        let mut book = PeerBook {
            peers: HashMap::new(),
            seeds: Vec::new(),
            redial_max,
        };
        for addr in bootstrap {
            match peer_of(addr) {
                Some(peer) => {
                    book.learn(peer, addr.clone(), now);
                    if let Some(k) = book.peers.get_mut(&peer) {
                        k.bootstrap = true;
                    }
                }
                None => book.seeds.push(Seed {
                    addr: addr.clone(),
                    failures: 0,
                    next_dial: now,
                }),
            }
        }
        book
    }

    /// Notes an address `peer` can be reached at.
    pub(super) fn learn(&mut self, peer: PeerId, addr: Multiaddr, now: Instant) {
        if !dialable(&addr) {
            return;
        }
        let addr = without_peer(addr);
        if !self.peers.contains_key(&peer)
            && self.peers.len() >= MAX_KNOWN_PEERS
            && !self.evict_one()
        {
            return;
        }
        let k = self.peers.entry(peer).or_insert_with(|| Known::new(now));
        k.addrs.retain(|a| *a != addr);
        k.addrs.insert(0, addr);
        k.addrs.truncate(MAX_ADDRS_PER_PEER);
        if matches!(k.link, Link::Never) {
            k.last_seen = now;
        }
    }

    /// Forgets the longest-unseen peer that is neither connected nor a
    /// bootstrap peer; false if there is none.
    fn evict_one(&mut self) -> bool {
        let victim = self
            .peers
            .iter()
            .filter(|(_, k)| !k.bootstrap && !matches!(k.link, Link::Up(_)))
            .min_by_key(|(_, k)| k.last_seen)
            .map(|(p, _)| *p);
        victim.is_some_and(|p| self.peers.remove(&p).is_some())
    }

    /// A connection to `peer` is up; `dialed` is the address we dialled
    /// (for a bootstrap address, the peer it turned out to be).
    pub(super) fn connected(
        &mut self,
        peer: PeerId,
        remote: &Multiaddr,
        dialed: Option<&Multiaddr>,
        now: Instant,
    ) {
        if let Some(addr) = dialed {
            let addr = without_peer(addr.clone());
            if let Some(i) = self.seeds.iter().position(|s| s.addr == addr) {
                self.seeds.remove(i);
                self.learn(peer, addr, now);
                if let Some(k) = self.peers.get_mut(&peer) {
                    k.bootstrap = true;
                }
            } else {
                self.learn(peer, addr, now);
            }
        }
        let k = self.peers.entry(peer).or_insert_with(|| Known::new(now));
        if !matches!(k.link, Link::Up(_)) {
            k.link = Link::Up(now);
        }
        k.remote = Some(remote.clone());
        k.failures = 0;
        k.last_seen = now;
    }

    /// The last connection to `peer` closed.
    pub(super) fn disconnected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(k) = self.peers.get_mut(peer) {
            k.link = Link::Lost(now);
            k.last_seen = now;
            k.rtt = None;
            // Try again soon: the link may have been dropped for a ping
            // lost on a link that is back.
            k.next_dial = now + FIRST_BACKOFF;
        }
    }

    /// A dial failed: `target` waits longer before the next.
    pub(super) fn dial_failed(&mut self, target: &Target, now: Instant) {
        let cap = self.redial_max;
        let wait = |failures: u32| {
            FIRST_BACKOFF
                .saturating_mul(1u32 << failures.min(16))
                .min(cap)
        };
        match target {
            Target::Peer(peer, _) => {
                if let Some(k) = self.peers.get_mut(peer) {
                    k.failures = k.failures.saturating_add(1);
                    k.next_dial = now + wait(k.failures);
                }
            }
            Target::Seed(addr) => {
                if let Some(s) = self.seeds.iter_mut().find(|s| s.addr == *addr) {
                    s.failures = s.failures.saturating_add(1);
                    s.next_dial = now + wait(s.failures);
                }
            }
        }
    }

    /// A ping's round trip.
    pub(super) fn rtt(&mut self, peer: &PeerId, rtt: Duration) {
        if let Some(k) = self.peers.get_mut(peer) {
            k.rtt = Some(rtt);
        }
    }

    /// Up to `n` peers and seeds due for a dial, skipping `skip` (being
    /// dialled, or banned): those that failed least first. Each returned
    /// target is pushed back by the first backoff, so a dial's outcome
    /// decides its next.
    pub(super) fn due(
        &mut self,
        n: usize,
        now: Instant,
        skip: impl Fn(&Target) -> bool,
    ) -> Vec<Target> {
        let mut due: Vec<(u32, Target)> = self
            .peers
            .iter()
            .filter(|(_, k)| !matches!(k.link, Link::Up(_)) && k.next_dial <= now)
            .filter(|(_, k)| !k.addrs.is_empty())
            .map(|(p, k)| (k.failures, Target::Peer(*p, k.addrs.clone())))
            .chain(
                self.seeds
                    .iter()
                    .filter(|s| s.next_dial <= now)
                    .map(|s| (s.failures, Target::Seed(s.addr.clone()))),
            )
            .filter(|(_, t)| !skip(t))
            .collect();
        due.sort_by_key(|(f, _)| *f);
        due.truncate(n);
        for (_, t) in &due {
            match t {
                Target::Peer(p, _) => {
                    if let Some(k) = self.peers.get_mut(p) {
                        k.next_dial = now + FIRST_BACKOFF;
                    }
                }
                Target::Seed(a) => {
                    if let Some(s) = self.seeds.iter_mut().find(|s| s.addr == *a) {
                        s.next_dial = now + FIRST_BACKOFF;
                    }
                }
            }
        }
        due.into_iter().map(|(_, t)| t).collect()
    }

    /// Forgets a peer (banned).
    pub(super) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }

    /// Forgets peers unseen for [`FORGET_AFTER`], bootstrap peers except.
    pub(super) fn prune(&mut self, now: Instant) {
        self.peers.retain(|_, k| {
            k.bootstrap
                || matches!(k.link, Link::Up(_))
                || now.saturating_duration_since(k.last_seen) < FORGET_AFTER
        });
    }

    /// A known peer.
    pub(super) fn get(&self, peer: &PeerId) -> Option<&Known> {
        self.peers.get(peer)
    }

    /// Peers known, connected or not.
    pub(super) fn len(&self) -> usize {
        self.peers.len()
    }

    /// Whether the book is empty.
    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }

    /// Peers connected before and lost since, with when.
    pub(super) fn lost(&self) -> impl Iterator<Item = (&PeerId, &Known, Instant)> {
        self.peers.iter().filter_map(|(p, k)| match k.link {
            Link::Lost(since) => Some((p, k, since)),
            _ => None,
        })
    }
}

/// The peer id an address ends with, if any.
pub(super) fn peer_of(addr: &Multiaddr) -> Option<PeerId> {
    addr.iter().find_map(|p| match p {
        Protocol::P2p(id) => Some(id),
        _ => None,
    })
}

fn without_peer(mut addr: Multiaddr) -> Multiaddr {
    if matches!(addr.iter().last(), Some(Protocol::P2p(_))) {
        addr.pop();
    }
    addr
}

/// Whether an address can be dialled at all: not an unspecified or
/// relayed one.
fn dialable(addr: &Multiaddr) -> bool {
    addr.iter().all(|p| match p {
        Protocol::Ip4(ip) => !ip.is_unspecified(),
        Protocol::Ip6(ip) => !ip.is_unspecified(),
        Protocol::P2pCircuit => false,
        _ => true,
    })
}

/// Strikes per peer, forgotten after [`STRIKE_MEMORY`] without a new one
/// and bounded by [`MAX_STRUCK`] peers.
#[derive(Debug, Default)]
pub(super) struct Strikes {
    map: HashMap<PeerId, (u32, Instant)>,
}

impl Strikes {
    /// Gives `peer` a strike; returns how many it has.
    pub(super) fn add(&mut self, peer: PeerId, now: Instant) -> u32 {
        if self.map.len() >= MAX_STRUCK && !self.map.contains_key(&peer) {
            self.prune(now);
            if self.map.len() >= MAX_STRUCK {
                if let Some(oldest) = self
                    .map
                    .iter()
                    .min_by_key(|(_, (_, t))| *t)
                    .map(|(p, _)| *p)
                {
                    self.map.remove(&oldest);
                }
            }
        }
        let e = self.map.entry(peer).or_insert((0, now));
        e.0 = e.0.saturating_add(1);
        e.1 = now;
        e.0
    }

    /// `peer`'s strikes.
    pub(super) fn of(&self, peer: &PeerId) -> u32 {
        self.map.get(peer).map_or(0, |e| e.0)
    }

    /// Forgets strikes older than [`STRIKE_MEMORY`].
    pub(super) fn prune(&mut self, now: Instant) {
        self.map
            .retain(|_, (_, t)| now.saturating_duration_since(*t) < STRIKE_MEMORY);
    }

    /// Peers with strikes remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// What one peer may ask of us: requests in flight, and a rate of
/// requests and of answer bytes.
#[derive(Debug, Clone, Copy)]
pub struct SyncBudget {
    /// Requests of one peer being answered at once. Our own client keeps
    /// at most [`super::client::MAX_OUTBOUND_PER_PEER`] in flight to a
    /// peer, so an honest peer never exceeds it.
    pub inflight: usize,
    /// Requests per second, sustained.
    pub requests_per_sec: u32,
    /// Bytes of answers per second, sustained.
    pub bytes_per_sec: u64,
    /// How far above the rates a peer may go at once, in seconds of them.
    pub burst_secs: u32,
}

/// The burst a peer's sync budget allows, in seconds of its rates.
pub const SYNC_BURST_SECS: u32 = 2;

/// Heads requests one peer may make per second (with bursts of
/// [`SyncBudget::burst_secs`] of it), whatever its request rate: a heads
/// answer reads every chain's state, so it costs far more than a chain
/// page. An honest node asks once per sync interval (5 s by default, at
/// least 100 ms), on connecting and after a catch-up.
pub const HEADS_PER_SEC: u32 = 4;

/// Whether a peer's request may be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Answer it.
    Yes,
    /// Too many of its requests in flight: refused, and a strike (an
    /// honest client never does this).
    TooMany,
    /// Over its rate of requests or bytes: held (still in flight) and
    /// asked again after this long, when the rate will have refilled. A
    /// peer asking without pause is slowed to its rate by its own
    /// in-flight requests, instead of being refused into asking again at
    /// once.
    Later(Duration),
    /// The peer is gone (its request with it): nothing to answer.
    Gone,
}

/// A token bucket that may go into debt: an answer's size is known only
/// once it is made, so it is charged after; a peer in debt is refused
/// until the rate has paid it off.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    level: f64,
    rate: f64,
    cap: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: f64, cap: f64, now: Instant) -> Self {
        Bucket {
            level: cap,
            rate,
            cap,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.at).as_secs_f64();
        self.level = (self.level + dt * self.rate).min(self.cap);
        self.at = now;
    }

    fn take(&mut self, n: f64, now: Instant) {
        self.refill(now);
        self.level -= n;
    }

    /// How long until the level is above 0 again.
    fn wait(&mut self, now: Instant) -> Duration {
        self.refill(now);
        if self.level > 0.0 {
            return Duration::ZERO;
        }
        Duration::from_secs_f64(-self.level / self.rate.max(1e-9)) + Duration::from_millis(1)
    }
}

#[derive(Debug)]
struct PeerSync {
    inflight: usize,
    requests: Bucket,
    heads: Bucket,
    bytes: Bucket,
}

/// The sync budgets of connected peers.
#[derive(Debug)]
pub(super) struct SyncBudgets {
    budget: SyncBudget,
    peers: HashMap<PeerId, PeerSync>,
}

impl SyncBudgets {
    /// Budgets of `budget` each.
    pub(super) fn new(budget: SyncBudget) -> Self {
        SyncBudgets {
            budget,
            peers: HashMap::new(),
        }
    }

    /// Decides on a new request of `peer` (`heads`: a heads request); but
    /// for [`Admit::TooMany`] it counts as in flight until
    /// [`Self::answered`], held ones included.
    pub(super) fn admit(&mut self, peer: PeerId, heads: bool, now: Instant) -> Admit {
        let b = self.budget;
        let burst = f64::from(b.burst_secs.max(1));
        let p = self.peers.entry(peer).or_insert_with(|| PeerSync {
            inflight: 0,
            requests: Bucket::new(
                f64::from(b.requests_per_sec),
                f64::from(b.requests_per_sec) * burst,
                now,
            ),
            heads: Bucket::new(
                f64::from(HEADS_PER_SEC),
                f64::from(HEADS_PER_SEC) * burst,
                now,
            ),
            bytes: Bucket::new(b.bytes_per_sec as f64, b.bytes_per_sec as f64 * burst, now),
        });
        if p.inflight >= b.inflight {
            return Admit::TooMany;
        }
        p.inflight += 1;
        Self::take(p, heads, now)
    }

    /// Decides again on a request of `peer` held by [`Admit::Later`].
    pub(super) fn readmit(&mut self, peer: &PeerId, heads: bool, now: Instant) -> Admit {
        match self.peers.get_mut(peer) {
            Some(p) => Self::take(p, heads, now),
            None => Admit::Gone,
        }
    }

    fn take(p: &mut PeerSync, heads: bool, now: Instant) -> Admit {
        let mut wait = p.requests.wait(now).max(p.bytes.wait(now));
        if heads {
            wait = wait.max(p.heads.wait(now));
        }
        if !wait.is_zero() {
            return Admit::Later(wait);
        }
        p.requests.take(1.0, now);
        if heads {
            p.heads.take(1.0, now);
        }
        Admit::Yes
    }

    /// A request of `peer` was answered with `bytes`.
    pub(super) fn answered(&mut self, peer: &PeerId, bytes: usize, now: Instant) {
        if let Some(p) = self.peers.get_mut(peer) {
            p.inflight = p.inflight.saturating_sub(1);
            p.bytes.take(bytes as f64, now);
        }
    }

    /// `peer` is gone: its budget with it.
    pub(super) fn forget(&mut self, peer: &PeerId) {
        self.peers.remove(peer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> Multiaddr {
        format!("/ip4/10.0.0.1/tcp/{port}").parse().unwrap()
    }

    #[test]
    fn a_lost_peer_is_dialled_again_with_a_capped_backoff() {
        let cap = Duration::from_secs(4);
        let mut book = PeerBook::new(&[], cap);
        let p = PeerId::random();
        let t0 = Instant::now();
        book.learn(p, addr(1), t0);
        book.connected(p, &addr(1), None, t0);
        assert!(book.due(8, t0, |_| false).is_empty(), "connected");
        book.disconnected(&p, t0);
        assert_eq!(book.lost().count(), 1);
        let mut now = t0 + FIRST_BACKOFF;
        for _ in 0..10 {
            let due = book.due(8, now, |_| false);
            assert_eq!(due, vec![Target::Peer(p, vec![addr(1)])]);
            book.dial_failed(&due[0], now);
            assert!(book.due(8, now, |_| false).is_empty(), "backing off");
            now += cap;
        }
        book.connected(p, &addr(1), Some(&addr(1)), now);
        assert_eq!(book.lost().count(), 0);
    }

    #[test]
    fn a_bootstrap_address_becomes_its_peer_and_stays() {
        let mut book = PeerBook::new(&[addr(7)], Duration::from_secs(4));
        let now = Instant::now();
        assert_eq!(book.due(8, now, |_| false), vec![Target::Seed(addr(7))]);
        let p = PeerId::random();
        book.connected(p, &addr(7), Some(&addr(7)), now);
        book.disconnected(&p, now);
        book.prune(now + FORGET_AFTER * 2);
        assert!(book.get(&p).is_some_and(|k| k.bootstrap), "never forgotten");
    }

    #[test]
    fn the_book_is_bounded_and_forgets() {
        let mut book = PeerBook::new(&[], Duration::from_secs(4));
        let now = Instant::now();
        for i in 0..MAX_KNOWN_PEERS + 50 {
            book.learn(PeerId::random(), addr(i as u16), now);
        }
        assert_eq!(book.len(), MAX_KNOWN_PEERS);
        book.prune(now + FORGET_AFTER);
        assert!(book.is_empty());
        let unspecified: Multiaddr = "/ip4/0.0.0.0/tcp/1".parse().unwrap();
        book.learn(PeerId::random(), unspecified, now);
        assert!(book.is_empty(), "an unspecified address is not kept");
    }

    #[test]
    fn strikes_are_forgotten_and_bounded() {
        let mut s = Strikes::default();
        let p = PeerId::random();
        let now = Instant::now();
        assert_eq!(s.add(p, now), 1);
        assert_eq!(s.add(p, now), 2);
        s.prune(now + STRIKE_MEMORY);
        assert_eq!(s.of(&p), 0);
        for _ in 0..MAX_STRUCK + 5 {
            s.add(PeerId::random(), now);
        }
        assert_eq!(s.len(), MAX_STRUCK);
    }

    #[test]
    fn a_peer_over_its_budget_is_refused() {
        let budget = SyncBudget {
            inflight: 2,
            requests_per_sec: 10,
            bytes_per_sec: 1_000,
            burst_secs: 1,
        };
        let mut b = SyncBudgets::new(budget);
        let p = PeerId::random();
        let now = Instant::now();
        assert_eq!(b.admit(p, false, now), Admit::Yes);
        assert_eq!(b.admit(p, false, now), Admit::Yes);
        assert_eq!(b.admit(p, false, now), Admit::TooMany);
        // A large answer puts the peer in debt until the rate pays it:
        // 5,010 bytes over a 1,000-byte bucket at 1,000 a second.
        b.answered(&p, 5_000, now);
        b.answered(&p, 10, now);
        let Admit::Later(wait) = b.admit(p, false, now) else {
            panic!("a peer in debt is held");
        };
        assert!((4_000..=4_100).contains(&wait.as_millis()), "{wait:?}");
        assert_eq!(b.readmit(&p, false, now + wait), Admit::Yes);
        b.forget(&p);
        assert_eq!(
            b.readmit(&p, false, now + wait),
            Admit::Gone,
            "no strike for the gone"
        );
        // Requests: 10 a second.
        let mut q = SyncBudgets::new(SyncBudget {
            inflight: 100,
            ..budget
        });
        let admitted = (0..50)
            .filter(|_| q.admit(p, false, now) == Admit::Yes)
            .count();
        assert_eq!(admitted, 10, "the others are held");
        // Heads: HEADS_PER_SEC a second, whatever the request rate.
        let mut h = SyncBudgets::new(SyncBudget {
            inflight: 100,
            requests_per_sec: 1_000,
            ..budget
        });
        let heads = (0..50)
            .filter(|_| h.admit(p, true, now) == Admit::Yes)
            .count();
        assert_eq!(heads, HEADS_PER_SEC as usize);
        assert_eq!(h.admit(p, false, now), Admit::Yes, "chains still pass");
    }
}
