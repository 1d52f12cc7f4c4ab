//! Domain names, URLs, e-mail addresses and user names, normalised the way the gateway looks
//! them up (lower-case domains, hosts and e-mail addresses; user names as given).

/// Lower-cases a domain name and drops a trailing dot. `None` when it is not a plausible
/// domain: empty, over 253 bytes, an empty or over-long (63) label, characters other than
/// letters, digits, `-`, `_` and `.`, or a wildcard.
pub fn normalize_domain(text: &str) -> Option<String> {
    let d = text.trim().trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 {
        return None;
    }
    for label in d.split('.') {
        if label.is_empty()
            || label.len() > 63
            || !label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
    }
    Some(d)
}

/// Normalises a URL: the scheme and host are lower-cased, the rest is kept. `None` when there
/// is no `scheme://host`.
pub fn normalize_url(text: &str) -> Option<String> {
    let t = text.trim();
    let (scheme, rest) = t.split_once("://")?;
    if scheme.is_empty()
        || !scheme
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
    {
        return None;
    }
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, tail) = rest.split_at(host_end);
    if host.is_empty() || host.chars().any(char::is_whitespace) {
        return None;
    }
    Some(format!(
        "{}://{}{}",
        scheme.to_ascii_lowercase(),
        host.to_ascii_lowercase(),
        tail
    ))
}

/// The host of a URL (without user info or port), lower-cased.
pub fn url_host(url: &str) -> Option<String> {
    let (_, rest) = url.split_once("://")?;
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    let host = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next()?
    } else {
        host.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// Lower-cases an e-mail address. `None` unless it has one `@` with text on both sides and a
/// plausible domain after it.
pub fn normalize_email(text: &str) -> Option<String> {
    let t = text.trim();
    let (local, domain) = t.rsplit_once('@')?;
    if local.is_empty() || local.contains(char::is_whitespace) {
        return None;
    }
    let domain = normalize_domain(domain)?;
    Some(format!("{}@{domain}", local.to_ascii_lowercase()))
}

/// A user or account name: trimmed, non-empty, without control characters.
pub fn normalize_user(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty() && !t.chars().any(char::is_control)).then(|| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalise() {
        assert_eq!(
            normalize_domain("Evil.Example.COM.").as_deref(),
            Some("evil.example.com")
        );
        assert_eq!(normalize_domain("*.example.com"), None);
        assert_eq!(normalize_domain("a..b"), None);
        assert_eq!(
            normalize_url("HTTP://Evil.Example/Path?Q=1").as_deref(),
            Some("http://evil.example/Path?Q=1")
        );
        assert_eq!(normalize_url("evil.example/path"), None);
        assert_eq!(
            url_host("https://u:p@Evil.Example:8443/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(
            url_host("http://[2001:db8::1]:80/").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(
            normalize_email("Mallory@Evil.Example").as_deref(),
            Some("mallory@evil.example")
        );
        assert_eq!(normalize_email("no-at-sign"), None);
        assert_eq!(normalize_user("  admin "), Some("admin".into()));
        assert_eq!(normalize_user(""), None);
    }
}
