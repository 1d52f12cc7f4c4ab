//! Address blocks for the bypass lists: `192.0.2.0/24`, `2001:db8::/32`, or a bare address
//! (a /32 or /128), with the mask math done on integers (the same rules as the `network`
//! plugin: IPv4-mapped IPv6 is IPv4, host bits beyond the prefix are refused). An IPv6
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
