//! What a string literal mentions that threat intelligence can list: addresses, URLs, e-mail
//! addresses and domains, each turned into the indicator lookups that would find it.
//!
//! A literal is split on whitespace (at most [`MAX_TOKENS`] words) and each word, stripped of
//! surrounding punctuation, is classified:
//!
//! 1. an IP address or CIDR block (`203.0.113.9`, `[2001:db8::1]`, `198.51.100.0/24`,
//!    `192.0.2.7:5432`) → an address lookup of the address (of a block: its network address);
//! 2. a word holding `://` → a URL lookup, normalised to a lower-case scheme and host (the
//!    path is kept as written; `http://h` and `http://h/` are both tried), then its host as an
//!    address or a domain;
//! 3. a word holding `@` whose part after the last `@` is a plausible domain → an e-mail
//!    lookup (lower-cased), then that domain;
//! 4. a plausible domain (a dot, labels of letters, digits, `-` and `_`, the last label
//!    alphabetic or `xn--`) → domain lookups of it and each parent down to two labels
//!    (`a.b.evil.example`, `b.evil.example`, `evil.example`).

use std::net::{IpAddr, Ipv4Addr};

use articdbm_plugin_sdk::IndicatorKind;

use articdbm_plugin_sdk::cidr::normalize;

/// Words of one literal that are classified.
pub const MAX_TOKENS: usize = 16;

/// What a lookup is about, for rules and reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mention {
    Address,
    Url,
    Email,
    Domain,
}

impl Mention {
    pub fn rule(self) -> &'static str {
        match self {
            Mention::Address => "threat.query.address",
            Mention::Url => "threat.query.url",
            Mention::Email => "threat.query.email",
            Mention::Domain => "threat.query.domain",
        }
    }

    pub fn counter(self) -> &'static str {
        match self {
            Mention::Address => "blocks.query.address",
            Mention::Url => "blocks.query.url",
            Mention::Email => "blocks.query.email",
            Mention::Domain => "blocks.query.domain",
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            Mention::Address => "address",
            Mention::Url => "URL",
            Mention::Email => "e-mail address",
            Mention::Domain => "domain",
        }
    }
}

/// One indicator lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub mention: Mention,
    /// What the statement says (the domain as written for a parent lookup).
    pub said: String,
    /// `Address` for an address lookup, else the name kind.
    pub kind: IndicatorKind,
    /// The value looked up.
    pub value: String,
    /// The address, for address lookups (bypass checks).
    pub ip: Option<IpAddr>,
}

/// The lookups a literal calls for, in order.
pub fn lookups(literal: &str) -> Vec<Lookup> {
    let mut out = Vec::new();
    for word in literal.split_whitespace().take(MAX_TOKENS) {
        let w = word.trim_matches(|c: char| {
            matches!(
                c,
                '"' | '\'' | '(' | ')' | '<' | '>' | '{' | '}' | ',' | ';' | '!' | '?' | '`'
            )
        });
        let w = w.trim_end_matches('.');
        if w.is_empty() {
            continue;
        }
        word_lookups(w, &mut out);
    }
    out
}

fn word_lookups(w: &str, out: &mut Vec<Lookup>) {
    if let Some(ip) = as_address(w) {
        out.push(address(w, ip));
        return;
    }
    if let Some((scheme, rest)) = w.split_once("://") {
        url_lookups(w, scheme, rest, out);
        return;
    }
    if let Some((local, domain)) = w.rsplit_once('@') {
        if !local.is_empty()
            && !local.contains(['@', '/', ':'])
            && let Some(d) = plausible_domain(domain)
        {
            out.push(Lookup {
                mention: Mention::Email,
                said: w.to_string(),
                kind: IndicatorKind::Email,
                value: format!("{}@{d}", local.to_lowercase()),
                ip: None,
            });
            domain_walk(&d, out);
        }
        return;
    }
    if let Some(d) = plausible_domain(w) {
        domain_walk(&d, out);
    }
}

fn address(said: &str, ip: IpAddr) -> Lookup {
    Lookup {
        mention: Mention::Address,
        said: said.to_string(),
        kind: IndicatorKind::Address,
        value: ip.to_string(),
        ip: Some(ip),
    }
}

/// An address, a block (its network address) or an IPv4 address with a port.
pub fn as_address(w: &str) -> Option<IpAddr> {
    let (a, prefix) = match w.split_once('/') {
        Some((a, p)) if !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) => {
            (a, p.parse::<u8>().ok())
        }
        Some(_) => return None,
        None => (w, None),
    };
    let ip = normalize(a).or_else(|| {
        // 192.0.2.7:5432
        let (host, port) = a.rsplit_once(':')?;
        if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        host.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
    })?;
    Some(match (ip, prefix) {
        (_, None) => ip,
        (IpAddr::V4(v4), Some(p)) if p <= 32 => {
            let m = u32::MAX.checked_shl(32 - u32::from(p)).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & m).into())
        }
        (IpAddr::V6(v6), Some(p)) if p <= 128 => {
            let m = u128::MAX.checked_shl(128 - u32::from(p)).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & m).into())
        }
        _ => return None,
    })
}

fn url_lookups(w: &str, scheme: &str, rest: &str, out: &mut Vec<Lookup>) {
    let scheme_ok = scheme
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
    if !scheme_ok {
        return;
    }
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let hostport = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(r) = hostport.strip_prefix('[') {
        r.split_once(']').map_or(r, |(h, _)| h)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => hostport,
        }
    };
    if host.is_empty() {
        return;
    }
    let base = format!(
        "{}://{}",
        scheme.to_ascii_lowercase(),
        authority.to_lowercase()
    );
    let mut push = |value: String| {
        out.push(Lookup {
            mention: Mention::Url,
            said: w.to_string(),
            kind: IndicatorKind::Url,
            value,
            ip: None,
        })
    };
    push(format!("{base}{path}"));
    match path {
        "" => push(format!("{base}/")),
        "/" => push(base.clone()),
        _ => {}
    }
    if let Some(ip) = normalize(host) {
        out.push(address(w, ip));
    } else if let Some(d) = plausible_domain(host) {
        domain_walk(&d, out);
    }
}

/// The domain lower-cased, without a trailing dot, if it looks like one.
pub fn plausible_domain(d: &str) -> Option<String> {
    let d = d.strip_suffix('.').unwrap_or(d);
    if d.len() < 3 || d.len() > 253 || !d.contains('.') {
        return None;
    }
    let mut labels = d.split('.').peekable();
    while let Some(l) = labels.next() {
        let ok = !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
            && !l.starts_with('-')
            && !l.ends_with('-');
        if !ok {
            return None;
        }
        if labels.peek().is_none() {
            let tld = l.len() >= 2 && l.bytes().all(|c| c.is_ascii_alphabetic());
            let idn = l.len() > 4 && l[..4].eq_ignore_ascii_case("xn--");
            if !tld && !idn {
                return None;
            }
        }
    }
    Some(d.to_ascii_lowercase())
}

/// Domain lookups of `d` (already plausible, lower-case) and its parents down to two labels.
fn domain_walk(d: &str, out: &mut Vec<Lookup>) {
    let mut rest = d;
    loop {
        out.push(Lookup {
            mention: Mention::Domain,
            said: d.to_string(),
            kind: IndicatorKind::Domain,
            value: rest.to_string(),
            ip: None,
        });
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(literal: &str) -> Vec<(Mention, String)> {
        lookups(literal)
            .into_iter()
            .map(|l| (l.mention, l.value))
            .collect()
    }

    fn v(m: Mention, s: &str) -> (Mention, String) {
        (m, s.to_string())
    }

    #[test]
    fn addresses() {
        use Mention::Address as A;
        assert_eq!(values("203.0.113.9"), [v(A, "203.0.113.9")]);
        assert_eq!(values("198.51.100.77/24"), [v(A, "198.51.100.0")]);
        assert_eq!(values("[2001:DB8::1]"), [v(A, "2001:db8::1")]);
        assert_eq!(values("::ffff:192.0.2.1"), [v(A, "192.0.2.1")]);
        assert_eq!(values("192.0.2.7:5432"), [v(A, "192.0.2.7")]);
        assert_eq!(values("from 192.0.2.7, again"), [v(A, "192.0.2.7")]);
        assert_eq!(values("10.0.0.0/33"), []);
        assert_eq!(values("1.5"), []);
        assert_eq!(values("2024-01-01"), []);
    }

    #[test]
    fn urls() {
        use Mention::{Address as A, Domain as D, Url as U};
        assert_eq!(
            values("HTTPS://WWW.Evil.Example:8443/Path?q=1"),
            [
                v(U, "https://www.evil.example:8443/Path?q=1"),
                v(D, "www.evil.example"),
                v(D, "evil.example"),
            ]
        );
        assert_eq!(
            values("see http://evil.example."),
            [
                v(U, "http://evil.example"),
                v(U, "http://evil.example/"),
                v(D, "evil.example"),
            ]
        );
        assert_eq!(
            values("http://u:p@203.0.113.9/"),
            [
                v(U, "http://u:p@203.0.113.9/"),
                v(U, "http://u:p@203.0.113.9"),
                v(A, "203.0.113.9"),
            ]
        );
        assert_eq!(
            values("ftp://[2001:db8::1]:21/x"),
            [v(U, "ftp://[2001:db8::1]:21/x"), v(A, "2001:db8::1")]
        );
        assert_eq!(values("1http://x.example"), []);
        assert_eq!(values("http://"), []);
    }

    #[test]
    fn emails() {
        use Mention::{Domain as D, Email as E};
        assert_eq!(
            values("<Bob@Mail.Evil.Example>"),
            [
                v(E, "bob@mail.evil.example"),
                v(D, "mail.evil.example"),
                v(D, "evil.example"),
            ]
        );
        assert_eq!(values("@evil.example"), []);
        assert_eq!(values("user@localhost"), []);
    }

    #[test]
    fn domains() {
        use Mention::Domain as D;
        assert_eq!(
            values("a.b.Evil.Example."),
            [
                v(D, "a.b.evil.example"),
                v(D, "b.evil.example"),
                v(D, "evil.example"),
            ]
        );
        assert_eq!(
            values("xn--80ak6aa92e.xn--p1ai"),
            [v(D, "xn--80ak6aa92e.xn--p1ai")]
        );
        for no in [
            "evil",
            "a..b.example",
            "-a.example",
            "a.b1",
            "a.c",
            "x.例子",
            "a_b",
        ] {
            assert_eq!(values(no), [], "{no}");
        }
        assert_eq!(values("hello world, nothing here"), []);
        let many = "x.example ".repeat(40);
        assert_eq!(values(&many).len(), MAX_TOKENS);
    }
}
