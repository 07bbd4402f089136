//! Where records come from, as the pending pool's per-source budget
//! counts them ([`ledger_core::LedgerConfig::stranger_per_source`]): an
//! HTTP client by its address (an IPv6 client by its /64, as the submit
//! rate counts it), a peer by its id. The ledger sees only an opaque
//! number, a hash of either, never stored anywhere but beside a waiting
//! record.

use std::net::IpAddr;

use ledger_core::{Hash, Source};
use libp2p::PeerId;

/// The source of records an HTTP client at `ip` submits.
pub fn of_client(ip: IpAddr) -> Source {
    let key = crate::http::client_key(ip);
    let bytes = match key {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    digest(b"terroir record source: http client\0", &bytes)
}

/// The source of records `peer` gossips or syncs to this node.
pub fn of_peer(peer: &PeerId) -> Source {
    digest(b"terroir record source: peer\0", &peer.to_bytes())
}

/// The first 8 bytes of the hash of `tag` and `bytes` (the tags keep a
/// client and a peer from ever sharing a source).
fn digest(tag: &[u8], bytes: &[u8]) -> Source {
    let mut v = Vec::with_capacity(tag.len() + bytes.len());
    v.extend_from_slice(tag);
    v.extend_from_slice(bytes);
    let h = Hash::of(&v);
    let mut first = [0u8; 8];
    first.copy_from_slice(&h.0[..8]);
    Source(u64::from_be_bytes(first))
}

#[cfg(test)]
mod tests {
    use std::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    #[test]
    fn clients_of_one_64_share_a_source_and_others_do_not() {
        let a = of_client(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6)));
        let b = of_client(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9)));
        let c = of_client(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 3, 3, 4, 5, 6)));
        assert_eq!(a, b);
        assert_ne!(a, c);
        let v4 = of_client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_ne!(v4, of_client(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2))));
        // An IPv4 client is one source however it connects.
        let mapped = Ipv4Addr::new(192, 0, 2, 1).to_ipv6_mapped();
        assert_eq!(v4, of_client(IpAddr::V6(mapped)));
        let peer = PeerId::random();
        assert_eq!(of_peer(&peer), of_peer(&peer));
        assert_ne!(of_peer(&peer), of_peer(&PeerId::random()));
    }
}
