//! What a parsed pattern lets a gateway enforce.
//!
//! A gateway looks values up one at a time ("is this address listed?"), so a pattern is
//! enforceable where it reduces to "the observed value is one of these":
//!
//! - `=`, `IN (...)` and, for addresses, `ISSUBSET` on the object paths of [`RULES`], with a
//!   constant that normalises to the path's kind (an address or CIDR block, a domain...);
//! - `OR`, at either level: the union of both sides, each side judged on its own;
//! - `AND`, at either level, only when every side yields the same single value: otherwise a
//!   lookup of one side would block what the pattern does not match;
//! - qualifiers: kept as labels (`qualifier:WITHIN 600 SECONDS`); `START ... STOP` also
//!   narrows the validity window.
//!
//! Everything else is reported by kind (see the crate documentation for the names).

use articdbm_feed_sdk::IndicatorKind;
use articdbm_feed_sdk::names::{normalize_domain, normalize_email, normalize_url, normalize_user};
use articdbm_feed_sdk::net::normalize_address;

use crate::pattern::{
    CompareOp, Comparison, ObjectPath, Observation, Predicate, Qualifier, Step, Test,
};

/// A validity window in milliseconds since the Unix epoch; `None` is unbounded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<u64>,
    pub until: Option<u64>,
}

impl Window {
    /// The times in both windows.
    pub fn intersect(self, other: Self) -> Self {
        Self {
            from: self.from.max(other.from),
            until: match (self.until, other.until) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            },
        }
    }

    /// The smallest window holding both.
    fn hull(self, other: Self) -> Self {
        Self {
            from: self.from.zip(other.from).map(|(a, b)| a.min(b)),
            until: self.until.zip(other.until).map(|(a, b)| a.max(b)),
        }
    }
}

/// One enforceable value a pattern yields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub kind: IndicatorKind,
    pub value: String,
    /// Narrowed by `START ... STOP` qualifiers.
    pub window: Window,
    /// `qualifier:...` labels of the observations it came from.
    pub labels: Vec<String>,
}

impl Candidate {
    fn same_value(&self, other: &Self) -> bool {
        self.kind == other.kind && self.value == other.value
    }

    fn add_labels(&mut self, labels: Vec<String>) {
        for label in labels {
            if !self.labels.contains(&label) {
                self.labels.push(label);
            }
        }
    }
}

/// What a pattern yields: enforceable values, and the kinds of what is not enforceable (each
/// kind once).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Extraction {
    pub candidates: Vec<Candidate>,
    pub unsupported: Vec<String>,
}

/// Extracts the enforceable values of a pattern. Each (kind, value) appears once: when the
/// pattern yields it several times its window covers all of them and its labels are merged.
pub fn extract(pattern: &Observation<'_>) -> Extraction {
    let mut extraction = Extraction::default();
    extraction.candidates = extraction.observation(pattern);
    extraction.candidates = merge_duplicates(std::mem::take(&mut extraction.candidates));
    if extraction.candidates.is_empty() && extraction.unsupported.is_empty() {
        extraction.note("pattern:empty".to_string());
    }
    extraction
}

impl Extraction {
    fn note(&mut self, kind: String) {
        if !self.unsupported.contains(&kind) {
            self.unsupported.push(kind);
        }
    }

    fn observation(&mut self, observation: &Observation<'_>) -> Vec<Candidate> {
        match observation {
            Observation::Match(comparison) => self.comparison(comparison),
            Observation::Or(items) => items.iter().flat_map(|o| self.observation(o)).collect(),
            Observation::And(items) => self.conjunction(items, Self::observation),
            Observation::FollowedBy(_) => {
                self.note("pattern:followedby".to_string());
                Vec::new()
            }
            Observation::Qualified(inner, qualifiers) => {
                let mut candidates = self.observation(inner);
                for candidate in &mut candidates {
                    qualify(candidate, qualifiers);
                }
                candidates
            }
        }
    }

    fn comparison(&mut self, comparison: &Comparison<'_>) -> Vec<Candidate> {
        match comparison {
            Comparison::Or(items) => items.iter().flat_map(|c| self.comparison(c)).collect(),
            Comparison::And(items) => self.conjunction(items, Self::comparison),
            Comparison::Test(test) => self.test(test),
        }
    }

    /// An AND: the value every side yields when they all yield the same single one, else
    /// nothing and `pattern:and`.
    fn conjunction<T>(
        &mut self,
        items: &[T],
        judge: fn(&mut Self, &T) -> Vec<Candidate>,
    ) -> Vec<Candidate> {
        let mut common: Option<Candidate> = None;
        for item in items {
            let mut side = Self::default();
            let mut yielded = judge(&mut side, item);
            let single = match (
                yielded.pop(),
                yielded.is_empty() && side.unsupported.is_empty(),
            ) {
                (Some(candidate), true) => candidate,
                _ => return self.not_enforceable_and(),
            };
            common = match common {
                None => Some(single),
                Some(mut kept) if kept.same_value(&single) => {
                    kept.window = kept.window.intersect(single.window);
                    kept.add_labels(single.labels);
                    Some(kept)
                }
                Some(_) => return self.not_enforceable_and(),
            };
        }
        common.into_iter().collect()
    }

    fn not_enforceable_and(&mut self) -> Vec<Candidate> {
        self.note("pattern:and".to_string());
        Vec::new()
    }

    fn test(&mut self, test: &Test<'_>) -> Vec<Candidate> {
        let Some(rule) = Rule::find(&test.path) else {
            self.note(format!("{}:{}", test.path.object_type, test.path.property));
            return Vec::new();
        };
        let mut candidates = Vec::new();
        match (&test.predicate, test.negated) {
            (Predicate::Compare(CompareOp::Eq, constant), false) => {
                self.value(rule, constant.as_str(), false, &mut candidates);
            }
            (Predicate::In(constants), false) => {
                for constant in constants {
                    self.value(rule, constant.as_str(), false, &mut candidates);
                }
            }
            (Predicate::IsSubset(block), false) if rule.target.has_addresses() => {
                self.value(rule, Some(block), true, &mut candidates);
            }
            _ => self.note(format!("{} {}", rule.path, test.operator())),
        }
        candidates
    }

    /// Adds the indicator `text` gives on `rule`'s path, or notes it invalid.
    fn value(
        &mut self,
        rule: &Rule,
        text: Option<&str>,
        subset: bool,
        candidates: &mut Vec<Candidate>,
    ) {
        match text.and_then(|t| rule.target.normalize(t, subset)) {
            Some((kind, value)) => candidates.push(Candidate {
                kind,
                value,
                window: Window::default(),
                labels: Vec::new(),
            }),
            None => self.note(format!("{}:invalid-value", rule.path)),
        }
    }
}

/// Applies an observation's qualifiers to a value it yields.
fn qualify(candidate: &mut Candidate, qualifiers: &[Qualifier<'_>]) {
    for qualifier in qualifiers {
        if let Qualifier::StartStop {
            start_ms, stop_ms, ..
        } = qualifier
        {
            candidate.window = candidate.window.intersect(Window {
                from: Some(*start_ms),
                until: Some(*stop_ms),
            });
        }
        candidate.add_labels(vec![format!("qualifier:{qualifier}")]);
    }
}

/// One candidate per (kind, value), in first-seen order.
fn merge_duplicates(candidates: Vec<Candidate>) -> Vec<Candidate> {
    let mut merged: Vec<Candidate> = Vec::with_capacity(candidates.len());
    if candidates.len() <= 8 {
        for candidate in candidates {
            match merged.iter_mut().find(|kept| kept.same_value(&candidate)) {
                Some(kept) => merge_into(kept, candidate),
                None => merged.push(candidate),
            }
        }
        return merged;
    }
    let mut seen = std::collections::BTreeMap::new();
    for candidate in candidates {
        match seen.get(&(candidate.kind, candidate.value.clone())) {
            Some(&i) => merge_into(&mut merged[i], candidate),
            None => {
                seen.insert((candidate.kind, candidate.value.clone()), merged.len());
                merged.push(candidate);
            }
        }
    }
    merged
}

fn merge_into(kept: &mut Candidate, other: Candidate) {
    kept.window = kept.window.hull(other.window);
    kept.add_labels(other.labels);
}

/// What kind of value an enforceable path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Address,
    /// `network-traffic` ends: an address, or a domain name.
    TrafficEnd,
    Domain,
    Url,
    User,
    Email,
}

impl Target {
    fn has_addresses(self) -> bool {
        matches!(self, Self::Address | Self::TrafficEnd)
    }

    /// The indicator for `text`; only addresses and blocks when `subset` (ISSUBSET).
    fn normalize(self, text: &str, subset: bool) -> Option<(IndicatorKind, String)> {
        let address = || normalize_address(text).map(|a| (IndicatorKind::Address, a));
        match self {
            Self::Address => address(),
            Self::TrafficEnd if subset => address(),
            Self::TrafficEnd => {
                address().or_else(|| normalize_domain(text).map(|d| (IndicatorKind::Domain, d)))
            }
            Self::Domain => normalize_domain(text).map(|d| (IndicatorKind::Domain, d)),
            Self::Url => normalize_url(text).map(|u| (IndicatorKind::Url, u)),
            Self::User => normalize_user(text).map(|u| (IndicatorKind::User, u)),
            Self::Email => normalize_email(text).map(|e| (IndicatorKind::Email, e)),
        }
    }
}

/// An enforceable object path: `object_type:property`, then `.key` when `key` is set.
#[derive(Debug)]
struct Rule {
    object_type: &'static str,
    property: &'static str,
    key: Option<&'static str>,
    /// The path as written, for unsupported kinds.
    path: &'static str,
    target: Target,
}

const fn rule(
    object_type: &'static str,
    property: &'static str,
    key: Option<&'static str>,
    path: &'static str,
    target: Target,
) -> Rule {
    Rule {
        object_type,
        property,
        key,
        path,
        target,
    }
}

/// The object paths a gateway can enforce.
const RULES: [Rule; 11] = [
    rule(
        "ipv4-addr",
        "value",
        None,
        "ipv4-addr:value",
        Target::Address,
    ),
    rule(
        "ipv6-addr",
        "value",
        None,
        "ipv6-addr:value",
        Target::Address,
    ),
    rule(
        "network-traffic",
        "src_ref",
        Some("value"),
        "network-traffic:src_ref.value",
        Target::TrafficEnd,
    ),
    rule(
        "network-traffic",
        "dst_ref",
        Some("value"),
        "network-traffic:dst_ref.value",
        Target::TrafficEnd,
    ),
    rule(
        "domain-name",
        "value",
        None,
        "domain-name:value",
        Target::Domain,
    ),
    rule("url", "value", None, "url:value", Target::Url),
    rule(
        "user-account",
        "user_id",
        None,
        "user-account:user_id",
        Target::User,
    ),
    rule(
        "user-account",
        "account_login",
        None,
        "user-account:account_login",
        Target::User,
    ),
    rule(
        "email-addr",
        "value",
        None,
        "email-addr:value",
        Target::Email,
    ),
    rule(
        "email-message",
        "from_ref",
        Some("value"),
        "email-message:from_ref.value",
        Target::Email,
    ),
    rule(
        "email-message",
        "sender_ref",
        Some("value"),
        "email-message:sender_ref.value",
        Target::Email,
    ),
];

impl Rule {
    fn find(path: &ObjectPath<'_>) -> Option<&'static Self> {
        RULES.iter().find(|rule| {
            rule.object_type == path.object_type
                && rule.property == path.property
                && match (rule.key, path.steps.as_slice()) {
                    (None, []) => true,
                    (Some(key), [Step::Key(step)]) => key == step,
                    _ => false,
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use IndicatorKind::{Address, Domain, Email, Url, User};

    use super::*;
    use crate::pattern::parse;

    /// The (kind, value) pairs and unsupported kinds of `pattern`.
    fn run(pattern: &str) -> (Vec<(IndicatorKind, String)>, Vec<String>) {
        let tree = parse(pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
        let extraction = extract(&tree);
        let values = extraction
            .candidates
            .into_iter()
            .map(|c| (c.kind, c.value))
            .collect();
        (values, extraction.unsupported)
    }

    fn yields(pattern: &str, expected: &[(IndicatorKind, &str)]) {
        let (values, unsupported) = run(pattern);
        let expected: Vec<_> = expected.iter().map(|(k, v)| (*k, v.to_string())).collect();
        assert_eq!(values, expected, "{pattern}");
        assert!(unsupported.is_empty(), "{pattern}: {unsupported:?}");
    }

    fn refuses(pattern: &str, kinds: &[&str]) {
        let (values, unsupported) = run(pattern);
        assert!(values.is_empty(), "{pattern}: {values:?}");
        assert_eq!(unsupported, kinds, "{pattern}");
    }

    #[test]
    fn each_enforceable_path() {
        yields(
            "[ipv4-addr:value = '198.51.100.7']",
            &[(Address, "198.51.100.7")],
        );
        yields(
            "[ipv6-addr:value = '2001:DB8::1']",
            &[(Address, "2001:db8::1")],
        );
        yields(
            "[network-traffic:src_ref.value = '203.0.113.5']",
            &[(Address, "203.0.113.5")],
        );
        yields(
            "[network-traffic:dst_ref.value = 'Evil.Example']",
            &[(Domain, "evil.example")],
        );
        yields(
            "[domain-name:value = 'Evil.Example.']",
            &[(Domain, "evil.example")],
        );
        yields(
            "[url:value = 'HTTP://Evil.Example/Path']",
            &[(Url, "http://evil.example/Path")],
        );
        yields("[user-account:user_id = 'mallory']", &[(User, "mallory")]);
        yields("[user-account:account_login = ' root ']", &[(User, "root")]);
        yields(
            "[email-addr:value = 'Mallory@Evil.Example']",
            &[(Email, "mallory@evil.example")],
        );
        yields(
            "[email-message:from_ref.value = 'a@evil.example']",
            &[(Email, "a@evil.example")],
        );
        yields(
            "[email-message:sender_ref.value = 'b@evil.example']",
            &[(Email, "b@evil.example")],
        );
    }

    #[test]
    fn cidr_blocks_by_equality_and_issubset() {
        yields(
            "[ipv4-addr:value = '198.51.100.7/24']",
            &[(Address, "198.51.100.0/24")],
        );
        yields(
            "[ipv4-addr:value = '198.51.100.7/32']",
            &[(Address, "198.51.100.7")],
        );
        yields(
            "[ipv4-addr:value ISSUBSET '10.1.0.0/16']",
            &[(Address, "10.1.0.0/16")],
        );
        yields(
            "[network-traffic:dst_ref.value ISSUBSET '2001:0db8:dead:beef:0000:0000:0000:0000/64']",
            &[(Address, "2001:db8:dead:beef::/64")],
        );
        refuses(
            "[network-traffic:dst_ref.value ISSUBSET 'evil.example']",
            &["network-traffic:dst_ref.value:invalid-value"],
        );
        refuses(
            "[domain-name:value ISSUBSET 'example.com']",
            &["domain-name:value ISSUBSET"],
        );
    }

    #[test]
    fn in_lists_yield_each_valid_value() {
        yields(
            "[domain-name:value IN ('a.example', 'B.example', 'a.example')]",
            &[(Domain, "a.example"), (Domain, "b.example")],
        );
        let (values, unsupported) =
            run("[ipv4-addr:value IN ('198.51.100.1', 'not-an-address', 42)]");
        assert_eq!(values, [(Address, "198.51.100.1".to_string())]);
        assert_eq!(unsupported, ["ipv4-addr:value:invalid-value"]);
        refuses("[ipv4-addr:value IN ()]", &["pattern:empty"]);
    }

    #[test]
    fn or_is_a_union_at_both_levels() {
        yields(
            "[ipv4-addr:value = '198.51.100.1' OR domain-name:value = 'evil.example']",
            &[(Address, "198.51.100.1"), (Domain, "evil.example")],
        );
        yields(
            "[url:value = 'http://a.example/x'] OR ([user-account:user_id = 'eve'] OR [email-addr:value = 'e@a.example'])",
            &[
                (Url, "http://a.example/x"),
                (User, "eve"),
                (Email, "e@a.example"),
            ],
        );
        let (values, unsupported) = run(
            "[ipv4-addr:value = '198.51.100.1' OR file:hashes.MD5 = 'cead3f77f6cda6ec00f57d76c9a6879f']",
        );
        assert_eq!(values, [(Address, "198.51.100.1".to_string())]);
        assert_eq!(unsupported, ["file:hashes"]);
    }

    #[test]
    fn and_yields_only_one_shared_value() {
        yields(
            "[ipv4-addr:value = '198.51.100.1' AND ipv4-addr:value = '198.51.100.1/32']",
            &[(Address, "198.51.100.1")],
        );
        yields(
            "[domain-name:value = 'a.example'] AND [domain-name:value = 'A.example']",
            &[(Domain, "a.example")],
        );
        refuses(
            "[network-traffic:dst_ref.type = 'ipv4-addr' AND network-traffic:dst_ref.value = '203.0.113.33/32']",
            &["pattern:and"],
        );
        refuses(
            "[ipv4-addr:value = '198.51.100.1'] AND [ipv4-addr:value = '198.51.100.2']",
            &["pattern:and"],
        );
        refuses(
            "[ipv4-addr:value IN ('198.51.100.1', '198.51.100.2') AND ipv4-addr:value = '198.51.100.1']",
            &["pattern:and"],
        );
        // Counted once per pattern, and the unenforceable sides are not counted again.
        refuses(
            "[file:name = 'a' AND process:name = 'b'] OR [file:size = 1 AND ipv4-addr:value = '198.51.100.1']",
            &["pattern:and"],
        );
    }

    #[test]
    fn followedby_is_counted() {
        refuses(
            "[ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [domain-name:value = 'evil.example']",
            &["pattern:followedby"],
        );
        let (values, unsupported) = run(
            "([ipv4-addr:value = '198.51.100.1'] FOLLOWEDBY [x:y = 'z']) OR [url:value = 'http://a.example/']",
        );
        assert_eq!(values, [(Url, "http://a.example/".to_string())]);
        assert_eq!(unsupported, ["pattern:followedby"]);
    }

    #[test]
    fn unenforceable_operators_name_the_path() {
        for (pattern, kind) in [
            ("[ipv4-addr:value != '198.51.100.1']", "ipv4-addr:value !="),
            (
                "[ipv4-addr:value NOT = '198.51.100.1']",
                "ipv4-addr:value NOT =",
            ),
            (
                "[ipv4-addr:value NOT IN ('198.51.100.1')]",
                "ipv4-addr:value NOT IN",
            ),
            (
                "[ipv4-addr:value NOT ISSUBSET '10.0.0.0/8']",
                "ipv4-addr:value NOT ISSUBSET",
            ),
            ("[ipv4-addr:value > '198.51.100.1']", "ipv4-addr:value >"),
            (
                "[domain-name:value LIKE '%.evil.example']",
                "domain-name:value LIKE",
            ),
            ("[url:value MATCHES '^http://evil']", "url:value MATCHES"),
            (
                "[ipv4-addr:value ISSUPERSET '198.51.100.1']",
                "ipv4-addr:value ISSUPERSET",
            ),
            (
                "[EXISTS user-account:user_id]",
                "user-account:user_id EXISTS",
            ),
        ] {
            refuses(pattern, &[kind]);
        }
    }

    #[test]
    fn other_paths_name_type_and_property() {
        for (pattern, kind) in [
            (
                "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
                "file:hashes",
            ),
            ("[process:name = 'evil.exe']", "process:name"),
            (
                "[windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\foo']",
                "windows-registry-key:key",
            ),
            (
                "[email-message:to_refs[*].value = 'a@b.example']",
                "email-message:to_refs",
            ),
            (
                "[ipv4-addr:resolves_to_refs[*].value = '00:11:22:33:44:55']",
                "ipv4-addr:resolves_to_refs",
            ),
            (
                "[network-traffic:dst_port = 443]",
                "network-traffic:dst_port",
            ),
            (
                "[network-traffic:dst_ref.type = 'ipv4-addr']",
                "network-traffic:dst_ref",
            ),
            ("[domain-name:value.x = 'a.example']", "domain-name:value"),
        ] {
            refuses(pattern, &[kind]);
        }
        // Each kind once per pattern.
        refuses(
            "[file:hashes.MD5 = 'a' OR file:hashes.SHA1 = 'b']",
            &["file:hashes"],
        );
    }

    #[test]
    fn invalid_constants_are_counted() {
        for (pattern, kind) in [
            (
                "[ipv4-addr:value = '198.51.100.300']",
                "ipv4-addr:value:invalid-value",
            ),
            (
                "[ipv4-addr:value = 3325256705]",
                "ipv4-addr:value:invalid-value",
            ),
            (
                "[domain-name:value = '*.evil.example']",
                "domain-name:value:invalid-value",
            ),
            (
                "[url:value = 'evil.example/path']",
                "url:value:invalid-value",
            ),
            (
                "[email-addr:value = 'no-at-sign']",
                "email-addr:value:invalid-value",
            ),
            (
                "[user-account:user_id = '']",
                "user-account:user_id:invalid-value",
            ),
        ] {
            refuses(pattern, &[kind]);
        }
    }

    #[test]
    fn qualifiers_become_labels_and_narrow_the_window() {
        let tree = parse(
            "([ipv4-addr:value = '198.51.100.1'] REPEATS 5 TIMES WITHIN 600 SECONDS) START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let extraction = extract(&tree);
        assert_eq!(
            extraction.candidates,
            [Candidate {
                kind: Address,
                value: "198.51.100.1".to_string(),
                window: Window {
                    from: Some(1_464_739_200_000),
                    until: Some(1_467_331_200_000),
                },
                labels: vec![
                    "qualifier:REPEATS 5 TIMES".to_string(),
                    "qualifier:WITHIN 600 SECONDS".to_string(),
                    "qualifier:START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"
                        .to_string(),
                ],
            }]
        );
    }

    #[test]
    fn a_value_yielded_twice_is_merged() {
        let tree = parse(
            "([domain-name:value = 'a.example'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z') OR ([domain-name:value = 'a.example'] START t'2016-08-01T00:00:00Z' STOP t'2016-09-01T00:00:00Z')",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let extraction = extract(&tree);
        assert_eq!(extraction.candidates.len(), 1);
        assert_eq!(
            extraction.candidates[0].window,
            Window {
                from: Some(1_464_739_200_000),
                until: Some(1_472_688_000_000),
            }
        );
        assert_eq!(extraction.candidates[0].labels.len(), 2);
        let many = (0..20)
            .map(|i| format!("'198.51.100.{}'", i % 10))
            .collect::<Vec<_>>()
            .join(", ");
        let (values, _) = run(&format!("[ipv4-addr:value IN ({many})]"));
        let expected: Vec<_> = (0..10)
            .map(|i| (Address, format!("198.51.100.{i}")))
            .collect();
        assert_eq!(values, expected);
    }

    #[test]
    fn windows_intersect_and_hull() {
        let a = Window {
            from: Some(10),
            until: None,
        };
        let b = Window {
            from: Some(5),
            until: Some(20),
        };
        assert_eq!(
            a.intersect(b),
            Window {
                from: Some(10),
                until: Some(20)
            }
        );
        assert_eq!(
            a.hull(b),
            Window {
                from: Some(5),
                until: None
            }
        );
        assert_eq!(Window::default().intersect(b), b);
        assert_eq!(Window::default().hull(b), Window::default());
    }
}
