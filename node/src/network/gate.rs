//! The gate every connection passes: banned peers are refused, and so are
//! peers this node does not know yet that come from a banned address (a
//! banned peer's new identities), and inbound connections past the
//! per-address cap. Peers known before their address was banned keep
//! their place: several honest nodes may share an address (a NAT, one
//! host), and one bad neighbour must not cut them off.
//!
//! Who is behind a connection is known only after its handshake, which
//! costs the node a key exchange and a signature check. So a banned
//! address gets at most one handshake a second ([`BANNED_HANDSHAKE_EVERY`]):
//! its other connections are dropped as they arrive, before any
//! cryptography, and a rogue minting identities in a loop cannot make the
//! node spend its cores on handshakes. A peer known in good standing from
//! that address gets through within a second or so.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::net::IpAddr;
use std::task::{Context, Poll};
use std::time::Instant;

use libp2p::core::transport::PortUse;
use libp2p::core::Endpoint;
use libp2p::multiaddr::Protocol;
use libp2p::swarm::{
    dummy, ConnectionDenied, ConnectionId, FromSwarm, NetworkBehaviour, THandler, THandlerInEvent,
    THandlerOutEvent, ToSwarm,
};
use libp2p::{Multiaddr, PeerId};

/// Banned peers, and banned addresses, remembered at most (each entry is
/// under 100 bytes); when full, the ban nearest its end is forgotten.
pub const MAX_BANNED: usize = 10_000;

/// How often a banned address may start a handshake.
pub const BANNED_HANDSHAKE_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Why a connection was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(&'static str);

/// The connection gate (a [`NetworkBehaviour`] with no protocol).
#[derive(Debug)]
pub struct Gate {
    peers: HashMap<PeerId, Instant>,
    addresses: HashMap<IpAddr, Instant>,
    /// Peers known in good standing: a banned address does not refuse
    /// them.
    known: HashSet<PeerId>,
    /// Established inbound connections per address.
    inbound: HashMap<IpAddr, u32>,
    /// When each banned address last started a handshake.
    handshakes: HashMap<IpAddr, Instant>,
    max_per_ip: u32,
}

impl Gate {
    /// A gate with no bans, allowing `max_per_ip` inbound connections
    /// per address.
    pub fn new(max_per_ip: u32) -> Self {
        Gate {
            peers: HashMap::new(),
            addresses: HashMap::new(),
            known: HashSet::new(),
            inbound: HashMap::new(),
            handshakes: HashMap::new(),
            max_per_ip,
        }
    }

    /// Bans `peer` until `until`, and its addresses with it.
    pub fn ban(
        &mut self,
        peer: PeerId,
        addresses: impl IntoIterator<Item = IpAddr>,
        until: Instant,
    ) {
        self.known.remove(&peer);
        insert_bounded(&mut self.peers, peer, until);
        for ip in addresses {
            insert_bounded(&mut self.addresses, ip, until);
        }
    }

    /// Whether `peer` is banned now.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.peers.get(peer).is_some_and(|&t| t > Instant::now())
    }

    /// Bans in force: peers and addresses.
    pub fn banned(&self) -> (usize, usize) {
        (self.peers.len(), self.addresses.len())
    }

    /// Marks `peer` as known in good standing (or no longer).
    pub fn vouch(&mut self, peer: PeerId, good: bool) {
        if good {
            self.known.insert(peer);
        } else {
            self.known.remove(&peer);
        }
    }

    /// Forgets bans that have ended.
    pub fn prune(&mut self, now: Instant) {
        self.peers.retain(|_, t| *t > now);
        self.addresses.retain(|_, t| *t > now);
        let addresses = &self.addresses;
        self.handshakes.retain(|ip, _| addresses.contains_key(ip));
    }

    fn admit(&self, peer: &PeerId, remote: Option<IpAddr>) -> Result<(), ConnectionDenied> {
        let now = Instant::now();
        if self.peers.get(peer).is_some_and(|&t| t > now) {
            return Err(ConnectionDenied::new(Refused("the peer is banned")));
        }
        let Some(ip) = remote else { return Ok(()) };
        if !self.known.contains(peer) && self.addresses.get(&ip).is_some_and(|&t| t > now) {
            return Err(ConnectionDenied::new(Refused(
                "a new peer from a banned address",
            )));
        }
        Ok(())
    }
}

/// Inserts into a bounded ban map, forgetting the ban nearest its end
/// when full.
fn insert_bounded<K: std::hash::Hash + Eq + Copy>(
    map: &mut HashMap<K, Instant>,
    key: K,
    until: Instant,
) {
    if map.len() >= MAX_BANNED && !map.contains_key(&key) {
        if let Some(soonest) = map.iter().min_by_key(|(_, t)| **t).map(|(k, _)| *k) {
            map.remove(&soonest);
        }
    }
    let t = map.entry(key).or_insert(until);
    *t = (*t).max(until);
}

/// The address a multiaddr connects from, IPv6 cut to its /64 (one
/// customer's allocation), so one host cannot pose as many.
pub(super) fn ip_of(addr: &Multiaddr) -> Option<IpAddr> {
    addr.iter().find_map(|p| match p {
        Protocol::Ip4(ip) => Some(IpAddr::V4(ip)),
        Protocol::Ip6(ip) => {
            let net = u128::from(ip) & !((1u128 << 64) - 1);
            Some(IpAddr::V6(net.into()))
        }
        _ => None,
    })
}

impl Gate {
    /// Whether a connection from `remote` may start its handshake: yes,
    /// unless its address is banned and had one within the last
    /// [`BANNED_HANDSHAKE_EVERY`].
    fn may_handshake(&mut self, remote: Option<IpAddr>, now: Instant) -> bool {
        let Some(ip) = remote else { return true };
        if self.addresses.get(&ip).is_none_or(|&t| t <= now) {
            return true;
        }
        match self.handshakes.get(&ip) {
            Some(&last) if now.saturating_duration_since(last) < BANNED_HANDSHAKE_EVERY => false,
            _ => {
                self.handshakes.insert(ip, now);
                true
            }
        }
    }
}

impl NetworkBehaviour for Gate {
    type ConnectionHandler = dummy::ConnectionHandler;
    type ToSwarm = Infallible;

    fn handle_pending_inbound_connection(
        &mut self,
        _: ConnectionId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<(), ConnectionDenied> {
        if self.may_handshake(ip_of(remote), Instant::now()) {
            Ok(())
        } else {
            Err(ConnectionDenied::new(Refused(
                "a banned address, over its handshake rate",
            )))
        }
    }

    fn handle_established_inbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        remote: &Multiaddr,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        let ip = ip_of(remote);
        self.admit(&peer, ip)?;
        if let Some(ip) = ip {
            if self.inbound.get(&ip).copied().unwrap_or(0) >= self.max_per_ip {
                return Err(ConnectionDenied::new(Refused(
                    "too many connections from one address",
                )));
            }
        }
        Ok(dummy::ConnectionHandler)
    }

    fn handle_pending_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: Option<PeerId>,
        _: &[Multiaddr],
        _: Endpoint,
    ) -> Result<Vec<Multiaddr>, ConnectionDenied> {
        if let Some(peer) = peer {
            self.admit(&peer, None)?;
        }
        Ok(vec![])
    }

    fn handle_established_outbound_connection(
        &mut self,
        _: ConnectionId,
        peer: PeerId,
        _: &Multiaddr,
        _: Endpoint,
        _: PortUse,
    ) -> Result<THandler<Self>, ConnectionDenied> {
        self.admit(&peer, None)?;
        Ok(dummy::ConnectionHandler)
    }

    fn on_swarm_event(&mut self, event: FromSwarm) {
        match event {
            FromSwarm::ConnectionEstablished(e) if e.endpoint.is_listener() => {
                if let Some(ip) = ip_of(e.endpoint.get_remote_address()) {
                    *self.inbound.entry(ip).or_insert(0) += 1;
                }
            }
            FromSwarm::ConnectionClosed(e) if e.endpoint.is_listener() => {
                if let Some(ip) = ip_of(e.endpoint.get_remote_address()) {
                    if let Some(n) = self.inbound.get_mut(&ip) {
                        *n = n.saturating_sub(1);
                        if *n == 0 {
                            self.inbound.remove(&ip);
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn on_connection_handler_event(
        &mut self,
        _: PeerId,
        _: ConnectionId,
        event: THandlerOutEvent<Self>,
    ) {
        match event {}
    }

    fn poll(&mut self, _: &mut Context<'_>) -> Poll<ToSwarm<Self::ToSwarm, THandlerInEvent<Self>>> {
        Poll::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_banned_address_refuses_new_peers_but_not_known_ones() {
        let mut gate = Gate::new(4);
        let (known, rogue, fresh) = (PeerId::random(), PeerId::random(), PeerId::random());
        let ip: IpAddr = [10, 0, 0, 7].into();
        gate.vouch(known, true);
        gate.ban(rogue, [ip], Instant::now() + Duration::from_secs(60));
        assert!(gate.admit(&rogue, None).is_err(), "the banned peer");
        assert!(gate.admit(&fresh, Some(ip)).is_err(), "its new identity");
        assert!(gate.admit(&known, Some(ip)).is_ok(), "a peer known before");
        assert!(gate.admit(&fresh, Some([10, 0, 0, 8].into())).is_ok());
        gate.prune(Instant::now() + Duration::from_secs(61));
        assert_eq!(gate.banned(), (0, 0), "bans end");
        assert!(gate.admit(&fresh, Some(ip)).is_ok());
    }

    #[test]
    fn a_banned_address_gets_one_handshake_a_second() {
        let mut gate = Gate::new(4);
        let ip: IpAddr = [10, 0, 0, 7].into();
        let other: IpAddr = [10, 0, 0, 8].into();
        let now = Instant::now();
        gate.ban(PeerId::random(), [ip], now + Duration::from_secs(60));
        assert!(gate.may_handshake(Some(ip), now));
        assert!(!gate.may_handshake(Some(ip), now + Duration::from_millis(10)));
        assert!(!gate.may_handshake(Some(ip), now + Duration::from_millis(999)));
        assert!(gate.may_handshake(Some(ip), now + BANNED_HANDSHAKE_EVERY));
        for _ in 0..5 {
            assert!(
                gate.may_handshake(Some(other), now),
                "other addresses are not held"
            );
        }
    }

    #[test]
    fn ipv6_addresses_are_banned_by_their_64() {
        let a: Multiaddr = "/ip6/2001:db8:1:2:aaaa::1/tcp/7700".parse().unwrap();
        let b: Multiaddr = "/ip6/2001:db8:1:2:bbbb::9/tcp/7700".parse().unwrap();
        let c: Multiaddr = "/ip6/2001:db8:1:3::1/tcp/7700".parse().unwrap();
        assert_eq!(ip_of(&a), ip_of(&b));
        assert_ne!(ip_of(&a), ip_of(&c));
    }

    #[test]
    fn the_ban_list_is_bounded() {
        let mut gate = Gate::new(4);
        let now = Instant::now();
        for i in 0..MAX_BANNED + 10 {
            gate.ban(
                PeerId::random(),
                [],
                now + Duration::from_secs(i as u64 + 1),
            );
        }
        assert_eq!(gate.banned().0, MAX_BANNED);
    }
}
