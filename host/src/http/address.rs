//! Which IP addresses are internal: never connected to on a connector's behalf unless the
//! operator wrote that origin explicitly.
//!
//! Owns: the classification of one address (loopback, private, link-local, unique-local, CGNAT,
//! unspecified, multicast, cloud metadata, reserved), including IPv6 forms that embed an IPv4
//! address (v4-mapped, v4-compatible, NAT64, 6to4). It does not resolve names (see `resolver`)
//! or decide which origins are granted (see `grant`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address is internal. `Display` is a short noun phrase for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InternalAddress {
    Loopback,
    /// 10/8, 172.16/12, 192.168/16, and the deprecated IPv6 site-local fec0::/10.
    Private,
    LinkLocal,
    /// fc00::/7.
    UniqueLocal,
    /// 100.64/10, carrier-grade NAT.
    SharedCgnat,
    Unspecified,
    Multicast,
    /// Cloud instance metadata (169.254.169.254, fd00:ec2::254): credentials live there.
    Metadata,
    /// 0/8, 240/4, broadcast, IETF protocol and benchmarking ranges, documentation ranges.
    Reserved,
}

impl std::fmt::Display for InternalAddress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Loopback => "a loopback address",
            Self::Private => "a private address",
            Self::LinkLocal => "a link-local address",
            Self::UniqueLocal => "a unique-local address",
            Self::SharedCgnat => "a shared (CGNAT) address",
            Self::Unspecified => "the unspecified address",
            Self::Multicast => "a multicast address",
            Self::Metadata => "a cloud metadata address",
            Self::Reserved => "a reserved address",
        })
    }
}

/// `Some(why)` when `ip` is internal, `None` when it is a public unicast address.
pub fn internal_class(ip: IpAddr) -> Option<InternalAddress> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => v6_class(v6),
    }
}

fn v4_class(ip: Ipv4Addr) -> Option<InternalAddress> {
    use InternalAddress::*;
    let [a, b, c, _] = ip.octets();
    Some(match (a, b) {
        _ if ip == Ipv4Addr::new(169, 254, 169, 254) => Metadata,
        _ if ip.is_unspecified() => Unspecified,
        (127, _) => Loopback,
        (10, _) | (172, 16..=31) | (192, 168) => Private,
        (169, 254) => LinkLocal,
        (100, 64..=127) => SharedCgnat,
        (224..=239, _) => Multicast,
        (0, _) | (240..=255, _) => Reserved,
        (192, 0) if c == 0 || c == 2 => Reserved,
        (198, 18..=19) => Reserved,
        (198, 51) if c == 100 => Reserved,
        (203, 0) if c == 113 => Reserved,
        _ => return None,
    })
}

fn v6_class(ip: Ipv6Addr) -> Option<InternalAddress> {
    use InternalAddress::*;
    let s = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        return Some(Metadata);
    }
    if ip.is_unspecified() {
        return Some(Unspecified);
    }
    if ip.is_loopback() {
        return Some(Loopback);
    }
    // Forms that carry an IPv4 address: judged by that address.
    let embedded = |hi: u16, lo: u16| Ipv4Addr::from(((hi as u32) << 16) | lo as u32);
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_class(v4);
    }
    if s[..6] == [0; 6] {
        // ::a.b.c.d (deprecated v4-compatible)
        return v4_class(embedded(s[6], s[7]));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 well-known prefix
        return v4_class(embedded(s[6], s[7]));
    }
    if s[0] == 0x2002 {
        // 6to4
        return v4_class(embedded(s[1], s[2]));
    }
    Some(match s[0] {
        0xfe80..=0xfebf => LinkLocal,
        0xfec0..=0xfeff => Private,
        0xfc00..=0xfdff => UniqueLocal,
        0xff00..=0xffff => Multicast,
        // 100::/64 discard, 2001:db8::/32 documentation
        0x0100 if s[1..4] == [0, 0, 0] => Reserved,
        0x2001 if s[1] == 0x0db8 => Reserved,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::InternalAddress::*;
    use super::*;

    fn class(s: &str) -> Option<InternalAddress> {
        internal_class(s.parse().unwrap())
    }

    #[test]
    fn internal_ipv4_ranges_are_classified() {
        for (ip, want) in [
            ("127.0.0.1", Loopback),
            ("127.255.255.254", Loopback),
            ("10.1.2.3", Private),
            ("172.16.0.1", Private),
            ("172.31.255.255", Private),
            ("192.168.1.1", Private),
            ("169.254.1.1", LinkLocal),
            ("169.254.169.254", Metadata),
            ("100.64.0.1", SharedCgnat),
            ("100.127.255.255", SharedCgnat),
            ("0.0.0.0", Unspecified),
            ("0.1.2.3", Reserved),
            ("224.0.0.1", Multicast),
            ("239.255.255.250", Multicast),
            ("255.255.255.255", Reserved),
            ("240.0.0.1", Reserved),
            ("192.0.2.7", Reserved),
            ("198.18.0.1", Reserved),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.15.255.255",
            "172.32.0.1",
            "100.63.255.255",
            "100.128.0.1",
            "169.253.1.1",
            "192.169.0.1",
            "2a00:1450:4007:80e::200e",
            "2606:4700::1111",
        ] {
            assert_eq!(class(ip), None, "{ip}");
        }
    }

    #[test]
    fn internal_ipv6_ranges_and_embedded_ipv4_are_classified() {
        for (ip, want) in [
            ("::1", Loopback),
            ("::", Unspecified),
            ("fe80::1", LinkLocal),
            ("febf::1", LinkLocal),
            ("fec0::1", Private),
            ("fc00::1", UniqueLocal),
            ("fd12:3456::1", UniqueLocal),
            ("fd00:ec2::254", Metadata),
            ("ff02::1", Multicast),
            ("2001:db8::1", Reserved),
            ("100::1", Reserved),
            // v4-mapped forms of internal IPv4 addresses
            ("::ffff:127.0.0.1", Loopback),
            ("::ffff:10.0.0.1", Private),
            ("::ffff:169.254.169.254", Metadata),
            ("::ffff:0.0.0.0", Unspecified),
            // v4-compatible, NAT64 and 6to4 carrying internal IPv4 addresses
            ("::127.0.0.1", Loopback),
            ("64:ff9b::10.0.0.1", Private),
            ("64:ff9b::169.254.169.254", Metadata),
            ("2002:7f00:1::1", Loopback),
            ("2002:c0a8:101::1", Private),
        ] {
            assert_eq!(class(ip), Some(want), "{ip}");
        }
        // ... and carrying public ones, public.
        assert_eq!(class("::ffff:8.8.8.8"), None);
        assert_eq!(class("64:ff9b::8.8.8.8"), None);
        assert_eq!(class("2002:808:808::1"), None);
    }
}
