//! Address blocks for plugins: `192.0.2.0/24`, `2001:db8::/32`, or a bare address (a /32 or
//! /128), with the mask math done on integers so no crate is needed inside the sandbox.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:192.0.2.7`) are IPv4: a dual-stack listener reports
//! IPv4 clients that way, and an operator writing `192.0.2.0/24` means them too. A block
//! written as mapped IPv6 with a prefix of at least 96 becomes the IPv4 block it maps; an IPv6
//! block that contains the mapped range (`::/0`, `::ffff:0:0/96`) matches IPv4 clients.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// One address block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cidr {
    V4 { net: u32, prefix: u8 },
    V6 { net: u128, prefix: u8 },
}

fn mask4(prefix: u8) -> u32 {
    u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

fn mask6(prefix: u8) -> u128 {
    u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
}

/// `::ffff:a.b.c.d` as a `u128`.
fn mapped(v4: u32) -> u128 {
    0xffff_0000_0000 | u128::from(v4)
}

impl Cidr {
    /// Parses `addr` or `addr/prefix`. Host bits beyond the prefix are an error (`10.0.0.1/8`
    /// is almost always a typo for `10.0.0.0/8` or `10.0.0.1/32`).
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let ip: IpAddr = addr
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u8>() {
                    Ok(n) if n <= max => n,
                    _ => return Err(format!("{text:?}: prefix length must be 0..={max}")),
                }
            }
            Some(_) => return Err(format!("{text:?}: prefix length must be 0..={max}")),
        };
        let cidr = match ip {
            IpAddr::V4(v4) => Cidr::V4 {
                net: u32::from(v4),
                prefix,
            },
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => Cidr::V4 {
                    net: u32::from(v4),
                    prefix: prefix - 96,
                },
                _ => Cidr::V6 {
                    net: u128::from(v6),
                    prefix,
                },
            },
        };
        let canonical = cidr.masked();
        if canonical != cidr {
            return Err(format!(
                "{text:?} has bits set beyond its prefix; did you mean {canonical}?"
            ));
        }
        Ok(cidr)
    }

    fn masked(self) -> Cidr {
        match self {
            Cidr::V4 { net, prefix } => Cidr::V4 {
                net: net & mask4(prefix),
                prefix,
            },
            Cidr::V6 { net, prefix } => Cidr::V6 {
                net: net & mask6(prefix),
                prefix,
            },
        }
    }

    /// Whether `ip` (already [`normalize`]d) is in the block.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (*self, ip) {
            (Cidr::V4 { net, prefix }, IpAddr::V4(a)) => u32::from(a) & mask4(prefix) == net,
            (Cidr::V6 { net, prefix }, IpAddr::V6(a)) => u128::from(a) & mask6(prefix) == net,
            (Cidr::V6 { net, prefix }, IpAddr::V4(a)) => {
                mapped(u32::from(a)) & mask6(prefix) == net
            }
            (Cidr::V4 { .. }, IpAddr::V6(_)) => false,
        }
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            Cidr::V4 { net, prefix } => write!(f, "{}/{prefix}", Ipv4Addr::from(net)),
            Cidr::V6 { net, prefix } => write!(f, "{}/{prefix}", Ipv6Addr::from(net)),
        }
    }
}

/// The client address as the gateway reports it, tolerating `[v6]` brackets and a `%zone`
/// suffix, with IPv4-mapped IPv6 turned into IPv4. `None` when it is not an IP address (a
/// Unix socket, say).
pub fn normalize(addr: &str) -> Option<IpAddr> {
    let a = addr.trim();
    let a = a
        .strip_prefix('[')
        .and_then(|x| x.strip_suffix(']'))
        .unwrap_or(a);
    let a = a.split_once('%').map_or(a, |(x, _)| x);
    match a.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> Cidr {
        match Cidr::parse(s) {
            Ok(c) => c,
            Err(e) => panic!("{e}"),
        }
    }

    fn ip(s: &str) -> IpAddr {
        match normalize(s) {
            Some(a) => a,
            None => panic!("{s} is not an address"),
        }
    }

    #[test]
    fn ipv4_boundaries() {
        let b = c("10.0.0.0/8");
        assert!(b.contains(ip("10.0.0.0")));
        assert!(b.contains(ip("10.255.255.255")));
        assert!(!b.contains(ip("11.0.0.0")));
        assert!(!b.contains(ip("9.255.255.255")));
        let b = c("192.0.2.6/31");
        assert!(b.contains(ip("192.0.2.6")) && b.contains(ip("192.0.2.7")));
        assert!(!b.contains(ip("192.0.2.8")) && !b.contains(ip("192.0.2.5")));
        let host = c("192.0.2.7");
        assert_eq!(host, c("192.0.2.7/32"));
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        let all = c("0.0.0.0/0");
        assert!(all.contains(ip("255.255.255.255")) && all.contains(ip("0.0.0.0")));
        assert!(
            !all.contains(ip("2001:db8::1")),
            "an IPv4 block never holds IPv6"
        );
        let half = c("128.0.0.0/1");
        assert!(half.contains(ip("200.1.1.1")) && !half.contains(ip("127.0.0.1")));
    }

    #[test]
    fn ipv6_boundaries() {
        let b = c("2001:db8::/32");
        assert!(b.contains(ip("2001:db8::1")));
        assert!(b.contains(ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
        assert!(!b.contains(ip("2001:db9::")));
        assert!(!b.contains(ip("10.0.0.1")));
        let host = c("2001:db8::7");
        assert_eq!(host, c("2001:db8::7/128"));
        assert!(host.contains(ip("2001:DB8:0:0:0:0:0:7")));
        assert!(!host.contains(ip("2001:db8::8")));
        let b = c("2001:db8:acme::/48".replace("acme", "ac").as_str());
        assert!(b.contains(ip("2001:db8:ac:1::1")) && !b.contains(ip("2001:db8:ad::1")));
        assert!(c("fe80::/10").contains(ip("fe80::1%eth0")));
        assert!(c("::1").contains(ip("[::1]")));
    }

    #[test]
    fn ipv4_mapped_ipv6_is_ipv4() {
        assert_eq!(ip("::ffff:192.0.2.7"), ip("192.0.2.7"));
        assert!(c("192.0.2.0/24").contains(ip("::ffff:192.0.2.7")));
        assert!(c("192.0.2.0/24").contains(ip("::FFFF:c000:0207")));
        assert_eq!(c("::ffff:192.0.2.0/120"), c("192.0.2.0/24"));
        assert_eq!(c("::ffff:10.1.2.3"), c("10.1.2.3/32"));
        // IPv6 blocks around the mapped range hold IPv4 clients
        assert!(c("::ffff:0:0/96").contains(ip("8.8.8.8")));
        assert!(c("::/0").contains(ip("8.8.8.8")));
        assert!(!c("2001:db8::/32").contains(ip("8.8.8.8")));
        // IPv4-compatible (deprecated) addresses are not mapped ones
        assert!(!c("192.0.2.7").contains(ip("::192.0.2.7")));
    }

    #[test]
    fn malformed_blocks_are_refused() {
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "10.0.0.0/-1",
            "10.0.0.0/+8",
            "10.0.0.0/ 8",
            "10.0.0.0/8/8",
            "10.0.0/8",
            "10.0.0.256",
            "2001:db8::/129",
            "2001:db8::/0400",
            "example.com",
            "[::1]",
            " 10.0.0.0/8",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn host_bits_beyond_the_prefix_are_refused_with_a_suggestion() {
        let e = Cidr::parse("10.0.0.1/8").err().unwrap_or_default();
        assert!(e.contains("did you mean 10.0.0.0/8"), "{e}");
        let e = Cidr::parse("2001:db8::1/32").err().unwrap_or_default();
        assert!(e.contains("did you mean 2001:db8::/32"), "{e}");
        assert!(Cidr::parse("0.0.0.0/0").is_ok());
        assert!(Cidr::parse("1.0.0.0/0").is_err());
    }

    #[test]
    fn non_addresses_normalize_to_none() {
        for a in [
            "",
            "unix",
            "/tmp/.s.PGSQL.5432",
            "localhost",
            "1.2.3.4:5432",
        ] {
            assert_eq!(normalize(a), None, "{a}");
        }
    }
}
