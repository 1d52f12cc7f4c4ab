//! Addresses and CIDR blocks, as a gateway matches them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Normalises an IPv4 or IPv6 address or CIDR block to its canonical text: `198.51.100.7`,
/// `2001:db8::1`, `198.51.100.0/24`. Host bits beyond the prefix are cleared
/// (`10.1.2.3/8` becomes `10.0.0.0/8`), a full-length prefix becomes a bare address, and an
/// IPv4-mapped IPv6 address becomes IPv4. Anything else gives `None`.
pub fn normalize_address(text: &str) -> Option<String> {
    let text = text.trim();
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            (a, Some(p.parse::<u8>().ok()?))
        }
        None => (text, None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let (ip, prefix) = match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => (
                IpAddr::V4(v4),
                prefix
                    .map(|p| p.checked_sub(96))
                    .map(|p| p.ok_or(()))
                    .transpose()
                    .ok()?,
            ),
            None => (IpAddr::V6(v6), prefix),
        },
        v4 => (v4, prefix),
    };
    match (ip, prefix) {
        (ip, None) => Some(ip.to_string()),
        (IpAddr::V4(v4), Some(p)) if p <= 32 => {
            if p == 32 {
                return Some(v4.to_string());
            }
            let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
            Some(format!("{}/{p}", Ipv4Addr::from(u32::from(v4) & mask)))
        }
        (IpAddr::V6(v6), Some(p)) if p <= 128 => {
            if p == 128 {
                return Some(v6.to_string());
            }
            let mask = if p == 0 { 0 } else { u128::MAX << (128 - p) };
            Some(format!("{}/{p}", Ipv6Addr::from(u128::from(v6) & mask)))
        }
        _ => None,
    }
}

/// True when `text` is an IPv4 or IPv6 address or CIDR block [`normalize_address`] accepts.
pub fn is_address(text: &str) -> bool {
    normalize_address(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::normalize_address as n;

    #[test]
    fn normalises_addresses_and_blocks() {
        assert_eq!(n("198.51.100.7").as_deref(), Some("198.51.100.7"));
        assert_eq!(n(" 198.51.100.7/32 ").as_deref(), Some("198.51.100.7"));
        assert_eq!(n("198.51.100.7/24").as_deref(), Some("198.51.100.0/24"));
        assert_eq!(n("0.0.0.0/0").as_deref(), Some("0.0.0.0/0"));
        assert_eq!(n("2001:DB8:0:0::1").as_deref(), Some("2001:db8::1"));
        assert_eq!(n("2001:db8::1/32").as_deref(), Some("2001:db8::/32"));
        assert_eq!(n("::ffff:203.0.113.9").as_deref(), Some("203.0.113.9"));
        assert_eq!(
            n("::ffff:203.0.113.0/120").as_deref(),
            Some("203.0.113.0/24")
        );
    }

    #[test]
    fn refuses_what_is_not_an_address() {
        for bad in [
            "",
            "example.com",
            "1.2.3",
            "1.2.3.4/33",
            "1.2.3.4/",
            "1.2.3.4/x",
            "2001:db8::/129",
            "::ffff:1.2.3.4/90",
            "300.1.1.1",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }
}
