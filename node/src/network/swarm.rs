//! The swarm and its behaviours: TCP + noise + yamux, gossipsub for
//! announcements, request-response for sync, identify (carrying the
//! network id), ping for liveness, Kademlia for finding peers beyond the
//! bootstrap list, libp2p's connection limits, the [`Gate`] that keeps
//! banned peers and their addresses out, and mDNS when switched on.

use std::num::NonZeroUsize;
use std::time::Duration;

use ledger_core::NetworkId;
use libp2p::gossipsub::{self, MessageAuthenticity, MessageId};
use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::behaviour::toggle::Toggle;
use libp2p::{
    connection_limits, identify, kad, mdns, noise, ping, tcp, yamux, StreamProtocol, Swarm,
};

use super::gate::Gate;
use crate::protocol::{self, SyncRequest, SyncResponse};

/// How long a sync request may take before it fails.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Concurrent sync streams per connection.
const MAX_STREAMS: usize = 64;
/// Idle connections stay open this long (sync rounds keep them busy).
const IDLE_TIMEOUT: Duration = Duration::from_secs(600);
/// How long dialling a peer (TCP, noise and yamux) may take: a dial into
/// a partition fails after this and is tried again, instead of waiting for
/// the kernel's SYN retries (minutes).
const DIAL_TIMEOUT: Duration = Duration::from_secs(5);
/// How often each connection is pinged, and how long a ping may take.
/// A link without a successful ping for `LIVENESS_TIMEOUT` is closed
/// (see the network module).
pub const PING_INTERVAL: Duration = Duration::from_secs(1);
/// See [`PING_INTERVAL`].
pub const PING_TIMEOUT: Duration = Duration::from_secs(4);
/// How often Kademlia walks the network for peers. A random walk asks a
/// handful of peers for their closest peers: cheap, and new peers are
/// found within a minute.
const DISCOVERY_INTERVAL: Duration = Duration::from_secs(30);

pub use self::behaviour::{Behaviour, BehaviourEvent};

mod behaviour {
    // The derive generates `BehaviourEvent` without docs.
    #![allow(missing_docs)]
    use super::{
        connection_limits, gossipsub, identify, kad, mdns, ping, request_response, Gate,
        SyncRequest, SyncResponse, Toggle,
    };
    use libp2p::swarm::NetworkBehaviour;

    /// The node's libp2p behaviours.
    #[derive(NetworkBehaviour)]
    pub struct Behaviour {
        /// Refuses banned peers and, for strangers, banned addresses.
        /// First, so a refused connection costs no other behaviour work.
        pub gate: Gate,
        /// Connection counts.
        pub limits: connection_limits::Behaviour,
        /// Record announcements.
        pub gossipsub: gossipsub::Behaviour,
        /// Heads and range fetch.
        pub sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
        /// Peer info, carrying the network id.
        pub identify: identify::Behaviour,
        /// Liveness.
        pub ping: ping::Behaviour,
        /// Finding peers beyond the bootstrap list.
        pub kad: kad::Behaviour<kad::store::MemoryStore>,
        /// Local discovery, when switched on.
        pub mdns: Toggle<mdns::tokio::Behaviour>,
    }
}

/// Connection limits of a swarm.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionCaps {
    /// Established connections, all peers together.
    pub max_peers: u32,
    /// Inbound connections being set up at once.
    pub max_pending_incoming: u32,
    /// Established inbound connections from one address.
    pub max_per_ip: u32,
}

impl Default for ConnectionCaps {
    fn default() -> Self {
        ConnectionCaps {
            max_peers: 64,
            max_pending_incoming: 32,
            max_per_ip: 16,
        }
    }
}

/// Builds a swarm with default connection caps. Public so tests can run
/// a peer of their own.
pub fn build_swarm(
    key: Keypair,
    network: &NetworkId,
    use_mdns: bool,
) -> anyhow::Result<Swarm<Behaviour>> {
    build_swarm_with(key, network, use_mdns, ConnectionCaps::default())
}

/// Builds a swarm (TCP + noise + yamux) for `network`.
pub fn build_swarm_with(
    key: Keypair,
    network: &NetworkId,
    use_mdns: bool,
    caps: ConnectionCaps,
) -> anyhow::Result<Swarm<Behaviour>> {
    let gossip_cfg = gossipsub::ConfigBuilder::default()
        .validate_messages()
        .validation_mode(gossipsub::ValidationMode::Strict)
        .max_transmit_size(protocol::MAX_GOSSIP_BYTES)
        // Content addressing: one record is one message, whoever sent it.
        .message_id_fn(|m: &gossipsub::Message| {
            MessageId::from(ledger_core::Hash::of(&m.data).0.to_vec())
        })
        .build()
        .map_err(|e| anyhow::anyhow!("gossipsub config: {e}"))?;
    let sync_name = StreamProtocol::try_from_owned(protocol::sync_protocol(network))
        .map_err(|e| anyhow::anyhow!("sync protocol name: {e}"))?;
    let kad_name = StreamProtocol::try_from_owned(protocol::kad_protocol(network))
        .map_err(|e| anyhow::anyhow!("kademlia protocol name: {e}"))?;
    let version = protocol::identify_version(network);
    let swarm = libp2p::SwarmBuilder::with_existing_identity(key)
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )?
        .with_behaviour(|key: &Keypair| {
            let me = key.public().to_peer_id();
            let gossipsub =
                gossipsub::Behaviour::new(MessageAuthenticity::Signed(key.clone()), gossip_cfg)?;
            let codec =
                request_response::cbor::codec::Codec::<SyncRequest, SyncResponse>::default()
                    .set_request_size_maximum(protocol::MAX_REQUEST_BYTES)
                    .set_response_size_maximum(protocol::MAX_RESPONSE_BYTES);
            let sync = request_response::Behaviour::with_codec(
                codec,
                [(sync_name, ProtocolSupport::Full)],
                request_response::Config::default()
                    .with_request_timeout(REQUEST_TIMEOUT)
                    .with_max_concurrent_streams(MAX_STREAMS),
            );
            let identify = identify::Behaviour::new(
                identify::Config::new(version, key.public())
                    .with_agent_version(format!("terroird/{}", env!("CARGO_PKG_VERSION"))),
            );
            let ping = ping::Behaviour::new(
                ping::Config::new()
                    .with_interval(PING_INTERVAL)
                    .with_timeout(PING_TIMEOUT),
            );
            let mut kad_cfg = kad::Config::new(kad_name);
            kad_cfg
                .set_periodic_bootstrap_interval(Some(DISCOVERY_INTERVAL))
                // The node stores no DHT records: Kademlia only finds peers.
                .set_record_filtering(kad::StoreInserts::FilterBoth)
                .set_kbucket_size(NonZeroUsize::new(20).unwrap_or(NonZeroUsize::MIN));
            let mut kad =
                kad::Behaviour::with_config(me, kad::store::MemoryStore::new(me), kad_cfg);
            // Every node answers: peers find each other through any of
            // them, on private networks as well as public ones.
            kad.set_mode(Some(kad::Mode::Server));
            let limits = connection_limits::Behaviour::new(
                connection_limits::ConnectionLimits::default()
                    .with_max_established(Some(caps.max_peers))
                    .with_max_pending_incoming(Some(caps.max_pending_incoming))
                    .with_max_established_per_peer(Some(2)),
            );
            let mdns = if use_mdns {
                Some(mdns::tokio::Behaviour::new(mdns::Config::default(), me)?)
            } else {
                None
            };
            Ok(Behaviour {
                gate: Gate::new(caps.max_per_ip),
                limits,
                gossipsub,
                sync,
                identify,
                ping,
                kad,
                mdns: Toggle::from(mdns),
            })
        })
        .map_err(|e| anyhow::anyhow!("building the swarm: {e}"))?
        .with_swarm_config(|c| c.with_idle_connection_timeout(IDLE_TIMEOUT))
        .with_connection_timeout(DIAL_TIMEOUT)
        .build();
    Ok(swarm)
}
