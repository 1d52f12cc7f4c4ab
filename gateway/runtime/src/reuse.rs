//! Verdicts a plugin declared reusable (`articdbm:policy/reuse@0.1.2`), kept per binding of
//! one tenant, keyed by statement identity.
//!
//! A statement's identity ([`Identity`]) is its fingerprint's shared entry, or, for a text the
//! fingerprint refused or whose facts are not shared, the facts of that exact text. An entry
//! holds the identity's `Arc`, so its address cannot be handed to another fingerprint or text
//! while the entry lives. A verdict declared for the `fingerprint` basis covers every
//! statement of the identity; one declared for the `shape` basis only those whose residue
//! (every hidden value but integers) is the same, that is the texts that differ at most in
//! integer values. The rest of the key is the part of the `query` record the identity does
//! not cover (protocol, `in-transaction`, `prepared-name`) and, for the `user` scope, the
//! connection's user, roles and database.
//!
//! The cache lives in a binding of a tenant's policy, which is rebuilt whenever the plugin, its
//! config or the tenant's pack changes, so an entry never outlives what it was computed from.
//! It is bounded, with CLOCK eviction: a hit sets the entry's reference bit, and an insert into
//! a full cache sweeps the hand over the slots, clearing set bits and evicting the first entry
//! whose bit is clear. An evicted statement's plugin is simply called again.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use parking_lot::RwLock;

use super::bindings::articdbm::policy::reuse::{Basis, Scope};
use super::bindings::{Connection, Protocol, Verdict};
use super::policy::Identity;

/// Entries per binding.
const CAPACITY: usize = 8192;

/// What identifies a statement for reuse, borrowed from the statement being judged.
pub(crate) struct Probe<'a> {
    pub identity: &'a Identity,
    pub residue: &'a [u8],
    pub protocol: Protocol,
    pub in_transaction: bool,
    pub prepared_name: Option<&'a str>,
    pub conn: &'a Connection,
}

struct Entry {
    /// Holds the identity's address for as long as the entry exists.
    identity: Identity,
    basis: Basis,
    /// The residue, for the `shape` basis; empty for `fingerprint`.
    residue: Box<[u8]>,
    protocol: Protocol,
    in_transaction: bool,
    prepared_name: Option<Box<str>>,
    /// `Some` for the `user` scope.
    principal: Option<Box<Principal>>,
    verdict: Verdict,
    /// Set by a hit; cleared by the sweeping hand.
    referenced: AtomicBool,
    hash: u64,
}

#[derive(PartialEq, Eq)]
struct Principal {
    user: String,
    database: String,
    roles: Vec<String>,
}

impl Entry {
    fn matches(&self, p: &Probe<'_>, scope: Scope, basis: Basis) -> bool {
        self.identity.addr() == p.identity.addr()
            && self.basis == basis
            && self.principal.is_some() == (scope == Scope::User)
            && (basis == Basis::Fingerprint || *self.residue == *p.residue)
            && self.protocol == p.protocol
            && self.in_transaction == p.in_transaction
            && self.prepared_name.as_deref() == p.prepared_name
            && match &self.principal {
                None => true,
                Some(who) => {
                    who.user == p.conn.user
                        && who.database == p.conn.database
                        && who.roles == p.conn.roles
                }
            }
    }
}

/// Keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The kinds of entry, in the order a lookup tries them: the narrower basis first.
const KINDS: [(Scope, Basis); 4] = [
    (Scope::Statement, Basis::Shape),
    (Scope::Statement, Basis::Fingerprint),
    (Scope::User, Basis::Shape),
    (Scope::User, Basis::Fingerprint),
];

fn kind_index(scope: Scope, basis: Basis) -> usize {
    match (scope, basis) {
        (Scope::Statement, Basis::Fingerprint) => 0,
        (Scope::Statement, Basis::Shape) => 1,
        (Scope::User, Basis::Fingerprint) => 2,
        (Scope::User, Basis::Shape) => 3,
    }
}

/// The entries: slots, and the hash of each key to the slots holding it.
#[derive(Default)]
struct Slots {
    index: HashMap<u64, Vec<u32>, BuildHasherDefault<PassThrough>>,
    slots: Vec<Option<Entry>>,
    free: Vec<u32>,
    hand: usize,
    len: usize,
}

impl Slots {
    fn find(&self, h: u64, p: &Probe<'_>, scope: Scope, basis: Basis) -> Option<u32> {
        self.index.get(&h)?.iter().copied().find(|&i| {
            self.slots[i as usize]
                .as_ref()
                .is_some_and(|e| e.matches(p, scope, basis))
        })
    }

    fn evict(&mut self, i: usize) {
        let Some(e) = self.slots[i].take() else {
            return;
        };
        if let Some(chain) = self.index.get_mut(&e.hash) {
            chain.retain(|&j| j as usize != i);
            if chain.is_empty() {
                self.index.remove(&e.hash);
            }
        }
        self.free.push(i as u32);
        self.len -= 1;
    }

    /// Evicts one entry by CLOCK.
    fn evict_one(&mut self) {
        // Two sweeps clear every bit, so a victim is found within them.
        for _ in 0..self.slots.len() * 2 + 1 {
            let i = self.hand % self.slots.len().max(1);
            self.hand = i + 1;
            if let Some(e) = &self.slots[i] {
                if e.referenced.swap(false, Ordering::Relaxed) {
                    continue;
                }
                self.evict(i);
                return;
            }
        }
    }
}

/// Reusable verdicts of one binding.
pub(crate) struct ReuseCache {
    slots: RwLock<Slots>,
    capacity: usize,
    hasher: foldhash::fast::RandomState,
    len: AtomicUsize,
    /// Whether any entry of each (scope, basis) exists, so a lookup skips those that have none.
    any: [AtomicBool; 4],
}

impl Default for ReuseCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl ReuseCache {
    fn hash(&self, p: &Probe<'_>, scope: Scope, basis: Basis) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_usize(p.identity.addr());
        h.write_usize(kind_index(scope, basis));
        if basis == Basis::Shape {
            h.write(p.residue);
        }
        h.write_u8(p.protocol as u8);
        h.write_u8(u8::from(p.in_transaction));
        match p.prepared_name {
            Some(n) => {
                h.write_u8(1);
                h.write(n.as_bytes());
            }
            None => h.write_u8(0),
        }
        if scope == Scope::User {
            // Lengths keep ("ab", "c") and ("a", "bc") apart.
            h.write_usize(p.conn.user.len());
            h.write(p.conn.user.as_bytes());
            h.write_usize(p.conn.database.len());
            h.write(p.conn.database.as_bytes());
            for r in &p.conn.roles {
                h.write_usize(r.len());
                h.write(r.as_bytes());
            }
        }
        h.finish()
    }

    pub(crate) fn with_capacity(capacity: usize) -> Self {
        ReuseCache {
            slots: RwLock::new(Slots::default()),
            capacity: capacity.max(1),
            hasher: foldhash::fast::RandomState::default(),
            len: AtomicUsize::new(0),
            any: Default::default(),
        }
    }

    /// The verdict reused for this statement, if the plugin declared one.
    pub(crate) fn get(&self, p: &Probe<'_>) -> Option<Verdict> {
        for (scope, basis) in KINDS {
            if !self.any[kind_index(scope, basis)].load(Ordering::Relaxed) {
                continue;
            }
            let h = self.hash(p, scope, basis);
            let s = self.slots.read();
            if let Some(i) = s.find(h, p, scope, basis)
                && let Some(e) = &s.slots[i as usize]
            {
                e.referenced.store(true, Ordering::Relaxed);
                return Some(e.verdict.clone());
            }
        }
        None
    }

    /// Keeps `verdict` for every statement of this `basis` within `scope`.
    pub(crate) fn insert(&self, p: &Probe<'_>, scope: Scope, basis: Basis, verdict: &Verdict) {
        let h = self.hash(p, scope, basis);
        let principal = (scope == Scope::User).then(|| {
            Box::new(Principal {
                user: p.conn.user.clone(),
                database: p.conn.database.clone(),
                roles: p.conn.roles.clone(),
            })
        });
        let entry = Entry {
            identity: p.identity.clone(),
            basis,
            residue: match basis {
                Basis::Shape => p.residue.into(),
                Basis::Fingerprint => Box::default(),
            },
            protocol: p.protocol,
            in_transaction: p.in_transaction,
            prepared_name: p.prepared_name.map(Box::from),
            principal,
            verdict: verdict.clone(),
            referenced: AtomicBool::new(false),
            hash: h,
        };
        let mut s = self.slots.write();
        // Two gateway threads may have judged the same new statement at once.
        if let Some(i) = s.find(h, p, scope, basis) {
            s.slots[i as usize] = Some(entry);
            return;
        }
        while s.len >= self.capacity {
            s.evict_one();
        }
        let i = match s.free.pop() {
            Some(i) => {
                s.slots[i as usize] = Some(entry);
                i
            }
            None => {
                s.slots.push(Some(entry));
                (s.slots.len() - 1) as u32
            }
        };
        s.index.entry(h).or_default().push(i);
        s.len += 1;
        self.len.store(s.len, Ordering::Relaxed);
        self.any[kind_index(scope, basis)].store(true, Ordering::Relaxed);
    }

    pub(crate) fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::{Finding, LiteralCounts, QueryFacts};
    use std::sync::Arc;

    fn facts() -> Identity {
        Identity::Text(Arc::new(QueryFacts {
            parsed: true,
            parse_error: None,
            statements: vec![],
            stacked: false,
            tables: vec![],
            functions: vec![],
            comments: vec![],
            union_count: 0,
            union_literal_branch: false,
            constant_comparisons: vec![],
            literals: LiteralCounts {
                strings: 0,
                numbers: 0,
                placeholders: 0,
                nulls: 0,
                booleans: 0,
                hex: 0,
            },
            file_access: false,
            locking_read: false,
        }))
    }

    fn conn(user: &str, roles: &[&str]) -> Connection {
        Connection {
            id: 1,
            tenant: "t".into(),
            user: user.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            database: "db".into(),
            client_addr: "127.0.0.1".into(),
            client_port: 1,
            tls: false,
            protocol: Protocol::Postgres,
            application_name: None,
            account_expires_at: None,
        }
    }

    fn probe<'a>(f: &'a Identity, c: &'a Connection) -> Probe<'a> {
        Probe {
            identity: f,
            residue: &[],
            protocol: Protocol::Postgres,
            in_transaction: false,
            prepared_name: None,
            conn: c,
        }
    }

    /// Verdicts have no `PartialEq`: compare what matters.
    fn rule(v: Option<Verdict>) -> Option<String> {
        match v? {
            Verdict::Allow => Some("allow".into()),
            Verdict::Deny(f) | Verdict::Audit(f) => Some(f.rule),
        }
    }

    fn deny() -> Verdict {
        Verdict::Deny(Finding {
            rule: "r".into(),
            reason: "why".into(),
            score: None,
        })
    }

    #[test]
    fn statement_scope_applies_to_every_connection_of_the_shape_only() {
        let cache = ReuseCache::default();
        let (a, b) = (facts(), facts());
        let (alice, bob) = (conn("alice", &[]), conn("bob", &[]));
        assert!(cache.get(&probe(&a, &alice)).is_none());
        cache.insert(&probe(&a, &alice), Scope::Statement, Basis::Shape, &deny());
        assert_eq!(rule(cache.get(&probe(&a, &bob))).as_deref(), Some("r"));
        // Equal facts of another shape are another key.
        assert!(cache.get(&probe(&b, &alice)).is_none());
        let mut in_tx = probe(&a, &alice);
        in_tx.in_transaction = true;
        assert!(cache.get(&in_tx).is_none());
        let mut named = probe(&a, &alice);
        named.prepared_name = Some("s1");
        assert!(cache.get(&named).is_none());
    }

    #[test]
    fn the_shape_basis_needs_the_residue_the_fingerprint_basis_does_not() {
        let cache = ReuseCache::default();
        let f = facts();
        let c = conn("alice", &[]);
        let with = |residue: &'static [u8]| Probe {
            residue,
            ..probe(&f, &c)
        };
        cache.insert(
            &with(b"S\x01\0\0\0x"),
            Scope::Statement,
            Basis::Shape,
            &deny(),
        );
        assert_eq!(
            rule(cache.get(&with(b"S\x01\0\0\0x"))).as_deref(),
            Some("r")
        );
        assert!(cache.get(&with(b"S\x01\0\0\0y")).is_none());
        cache.insert(
            &with(b"S\x01\0\0\0z"),
            Scope::Statement,
            Basis::Fingerprint,
            &Verdict::Allow,
        );
        // The shape entry answers its own residue first; any other residue gets the
        // fingerprint's verdict.
        assert_eq!(
            rule(cache.get(&with(b"S\x01\0\0\0x"))).as_deref(),
            Some("r")
        );
        assert_eq!(rule(cache.get(&with(b""))).as_deref(), Some("allow"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn user_scope_needs_the_same_user_roles_and_database() {
        let cache = ReuseCache::default();
        let f = facts();
        let alice = conn("alice", &["reader"]);
        cache.insert(
            &probe(&f, &alice),
            Scope::User,
            Basis::Shape,
            &Verdict::Allow,
        );
        assert_eq!(
            rule(cache.get(&probe(&f, &alice))).as_deref(),
            Some("allow")
        );
        assert!(cache.get(&probe(&f, &conn("bob", &["reader"]))).is_none());
        assert!(cache.get(&probe(&f, &conn("alice", &["writer"]))).is_none());
        let mut other_db = conn("alice", &["reader"]);
        other_db.database = "other".into();
        assert!(cache.get(&probe(&f, &other_db)).is_none());
    }

    #[test]
    fn a_full_cache_evicts_what_was_not_used_and_keeps_what_was() {
        let cache = ReuseCache::with_capacity(4);
        let c = conn("alice", &[]);
        let keys: Vec<_> = (0..6).map(|_| facts()).collect();
        let put = |f: &Identity| {
            cache.insert(
                &probe(f, &c),
                Scope::Statement,
                Basis::Fingerprint,
                &Verdict::Allow,
            )
        };
        for f in &keys[..4] {
            put(f);
        }
        assert_eq!(cache.len(), 4);
        // Keys 0 and 2 are used; inserting two more evicts 1 and 3.
        assert!(cache.get(&probe(&keys[0], &c)).is_some());
        assert!(cache.get(&probe(&keys[2], &c)).is_some());
        put(&keys[4]);
        put(&keys[5]);
        assert_eq!(cache.len(), 4);
        let held: Vec<bool> = keys
            .iter()
            .map(|f| cache.get(&probe(f, &c)).is_some())
            .collect();
        assert_eq!(held, [true, false, true, false, true, true]);
    }
}
