//! The indicator-lookup capability's backends: the [`IndicatorStore`] trait the host's
//! `indicators` import calls, [`NoIndicators`], and [`ThreatStore`], the gateway's
//! threat-intelligence store, filled with the manager's
//! [`IndicatorChange`](articdbm_config::threat::IndicatorChange)s.
//!
//! # ThreatStore layout
//!
//! Entries live in one slab (`Vec<Entry>`, freed slots reused). An entry's identity is
//! (feed, kind, value); the same value listed by several feeds (global and tenant feeds) is
//! a chain of entries linked through `Entry::next`, reached from one map slot:
//!
//! - exact addresses: IPv4 as `u32`, IPv6 as `u128` (IPv4-mapped IPv6 is IPv4);
//! - CIDR blocks: one map per prefix length actually present, keyed by the masked network.
//!   Lengths shorter than a guard length (/16 for IPv4, /32 for IPv6) are probed for every
//!   lookup; longer ones only when the address's guard bucket (its top 16 / 32 bits) holds a
//!   block of that length, which a per-bucket bit mask says. A lookup therefore costs one
//!   exact probe, one probe per short length present, one guard probe and one probe per
//!   length present in that bucket (usually none);
//! - names: one map per kind; domains, URLs, e-mail addresses and SQL patterns lower-cased,
//!   user names exact. SQL patterns are matched as substrings of the lower-cased statement.
//!
//! Feed and tenant strings are interned once per feed (`Source`), the listed value is the map
//! key (reconstructed for matches), so an entry costs its id, validity window and a few ints.

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::Hash;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::RwLock;
use prometheus::{IntCounter, IntGauge};

use super::bindings::IndicatorKind;
use super::bindings::articdbm::policy::indicators::IndicatorMatch;
use crate::metrics::Metrics;
use articdbm_config::threat::{Bypass, IndicatorChange, IndicatorEntry};

/// Lookups a plugin can make, already scoped to the calling tenant by the host.
pub trait IndicatorStore: Send + Sync + 'static {
    fn address_listed(&self, tenant: &str, addr: IpAddr) -> Option<IndicatorMatch>;
    fn name_listed(&self, tenant: &str, kind: IndicatorKind, name: &str) -> Option<IndicatorMatch>;
    fn sql_pattern_match(&self, tenant: &str, sql: &str) -> Option<IndicatorMatch>;
}

/// A shared store is a store: the gateway keeps an `Arc<ThreatStore>` to apply changes and
/// hands a clone of it to the host services for lookups.
impl<T: IndicatorStore + ?Sized> IndicatorStore for Arc<T> {
    fn address_listed(&self, tenant: &str, addr: IpAddr) -> Option<IndicatorMatch> {
        (**self).address_listed(tenant, addr)
    }
    fn name_listed(&self, tenant: &str, kind: IndicatorKind, name: &str) -> Option<IndicatorMatch> {
        (**self).name_listed(tenant, kind, name)
    }
    fn sql_pattern_match(&self, tenant: &str, sql: &str) -> Option<IndicatorMatch> {
        (**self).sql_pattern_match(tenant, sql)
    }
}

/// No indicators at all.
#[derive(Default)]
pub struct NoIndicators;

impl IndicatorStore for NoIndicators {
    fn address_listed(&self, _: &str, _: IpAddr) -> Option<IndicatorMatch> {
        None
    }
    fn name_listed(&self, _: &str, _: IndicatorKind, _: &str) -> Option<IndicatorMatch> {
        None
    }
    fn sql_pattern_match(&self, _: &str, _: &str) -> Option<IndicatorMatch> {
        None
    }
}

type FastMap<K, V> = foldhash::HashMap<K, V>;
type FastSet<T> = foldhash::HashSet<T>;

/// End of a chain.
const NIL: u32 = u32::MAX;
/// Longest name, URL or SQL pattern accepted.
pub const MAX_VALUE_LEN: usize = 4096;
/// Error messages kept in an [`ApplyReport`].
const MAX_REPORTED_ERRORS: usize = 8;
/// `::ffff:0:0`, the IPv4-mapped IPv6 range.
const MAPPED: u128 = 0xffff_0000_0000;

/// What [`ThreatStore::apply`] did with a batch of changes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Entries added or replaced.
    pub upserted: usize,
    /// Entries removed (removals of entries not held are not counted).
    pub removed: usize,
    /// Changes refused: unknown kind, unparsable address, bad confidence, empty feed or value.
    pub rejected: usize,
    /// The first few rejection messages, each naming the feed, kind and value.
    pub errors: Vec<String>,
}

/// Slots of the name maps, by kind.
const DOMAIN: usize = 0;
const URL: usize = 1;
const USER: usize = 2;
const EMAIL: usize = 3;
const SQL: usize = 4;

fn kind_from_wire(s: &str) -> Option<IndicatorKind> {
    Some(match s {
        "address" => IndicatorKind::Address,
        "domain" => IndicatorKind::Domain,
        "url" => IndicatorKind::Url,
        "user" => IndicatorKind::User,
        "email" => IndicatorKind::Email,
        "sql-pattern" => IndicatorKind::SqlPattern,
        _ => return None,
    })
}

fn name_slot(kind: IndicatorKind) -> Option<usize> {
    match kind {
        IndicatorKind::Address => None,
        IndicatorKind::Domain => Some(DOMAIN),
        IndicatorKind::Url => Some(URL),
        IndicatorKind::User => Some(USER),
        IndicatorKind::Email => Some(EMAIL),
        IndicatorKind::SqlPattern => Some(SQL),
    }
}

fn slot_kind(slot: usize) -> IndicatorKind {
    match slot {
        DOMAIN => IndicatorKind::Domain,
        URL => IndicatorKind::Url,
        USER => IndicatorKind::User,
        EMAIL => IndicatorKind::Email,
        _ => IndicatorKind::SqlPattern,
    }
}

/// Lower-cases without allocating when there is nothing to lower.
fn lower(s: &str) -> Cow<'_, str> {
    if s.bytes().any(|b| b.is_ascii_uppercase() || b >= 0x80) {
        Cow::Owned(s.to_lowercase())
    } else {
        Cow::Borrowed(s)
    }
}

/// The map key of a name of kind `slot`, as stored and as looked up.
fn name_key(slot: usize, value: &str) -> Cow<'_, str> {
    match slot {
        USER => Cow::Borrowed(value),
        SQL => lower(value),
        DOMAIN => {
            let v = value.trim();
            lower(v.strip_suffix('.').unwrap_or(v))
        }
        _ => lower(value.trim()),
    }
}

/// Address arithmetic shared by IPv4 (`u32`) and IPv6 (`u128`).
trait Bits: Copy + Eq + Hash {
    /// Width of the address in bits.
    const WIDTH: u8;
    /// Prefix lengths from this one up are found through the guard buckets.
    const GUARD: u8;
    fn masked(self, prefix: u8) -> Self;
    /// The guard bucket: the top `GUARD` bits.
    fn bucket(self) -> u32;
}

impl Bits for u32 {
    const WIDTH: u8 = 32;
    const GUARD: u8 = 16;
    fn masked(self, prefix: u8) -> u32 {
        self & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
    }
    fn bucket(self) -> u32 {
        self >> 16
    }
}

impl Bits for u128 {
    const WIDTH: u8 = 128;
    const GUARD: u8 = 32;
    fn masked(self, prefix: u8) -> u128 {
        self & u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0)
    }
    fn bucket(self) -> u32 {
        (self >> 96) as u32
    }
}

/// CIDR blocks of one address family: a map per prefix length (full-length blocks are exact
/// addresses and live elsewhere).
struct Nets<A: Bits> {
    by_len: Vec<FastMap<A, u32>>,
    /// Bit `p` set: some block of length `p < GUARD` is held.
    short: u128,
    /// Guard bucket → bit `p` set when the bucket holds a block of length `p >= GUARD`.
    guard: FastMap<u32, u128>,
    /// Blocks per (bucket, length), to clear guard bits when the last one goes.
    counts: FastMap<(u32, u8), u32>,
}

impl<A: Bits> Default for Nets<A> {
    fn default() -> Self {
        Nets {
            by_len: (0..A::WIDTH).map(|_| FastMap::default()).collect(),
            short: 0,
            guard: FastMap::default(),
            counts: FastMap::default(),
        }
    }
}

impl<A: Bits> Nets<A> {
    fn head(&self, net: A, p: u8) -> Option<u32> {
        self.by_len.get(usize::from(p))?.get(&net).copied()
    }

    fn set_head(&mut self, net: A, p: u8, idx: u32) {
        let Some(map) = self.by_len.get_mut(usize::from(p)) else {
            return;
        };
        if map.insert(net, idx).is_some() {
            return;
        }
        if p < A::GUARD {
            self.short |= 1u128 << p;
        } else {
            let b = net.bucket();
            *self.counts.entry((b, p)).or_insert(0) += 1;
            *self.guard.entry(b).or_insert(0) |= 1u128 << p;
        }
    }

    fn remove_key(&mut self, net: A, p: u8) {
        let Some(map) = self.by_len.get_mut(usize::from(p)) else {
            return;
        };
        if map.remove(&net).is_none() {
            return;
        }
        if p < A::GUARD {
            if map.is_empty() {
                self.short &= !(1u128 << p);
            }
            return;
        }
        let b = net.bucket();
        let emptied = match self.counts.get_mut(&(b, p)) {
            Some(n) => {
                *n = n.saturating_sub(1);
                *n == 0
            }
            None => true,
        };
        if emptied {
            self.counts.remove(&(b, p));
            if let Some(mask) = self.guard.get_mut(&b) {
                *mask &= !(1u128 << p);
                if *mask == 0 {
                    self.guard.remove(&b);
                }
            }
        }
    }

    /// Calls `f(chain head, network, prefix)` for every held block containing `a`, longest
    /// prefix first.
    #[inline]
    fn probe(&self, a: A, mut f: impl FnMut(u32, A, u8)) {
        let mut lens = self.short;
        if let Some(g) = self.guard.get(&a.bucket()) {
            lens |= *g;
        }
        while lens != 0 {
            let p = (127 - lens.leading_zeros()) as u8;
            lens &= !(1u128 << p);
            let net = a.masked(p);
            if let Some(&h) = self.by_len[usize::from(p)].get(&net) {
                f(h, net, p);
            }
        }
    }
}

/// Where an entry's chain hangs.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    V4(u32),
    V6(u128),
    Net4(u32, u8),
    Net6(u128, u8),
    Name(usize, Box<str>),
}

fn v4_key(a: u32, p: u8) -> Key {
    if p == 32 {
        Key::V4(a)
    } else {
        Key::Net4(a.masked(p), p)
    }
}

fn v6_key(a: u128, p: u8) -> Key {
    if p == 128 {
        Key::V6(a)
    } else {
        Key::Net6(a.masked(p), p)
    }
}

/// Parses an address or CIDR block (`192.0.2.7`, `198.51.100.0/24`, `2001:db8::/32`,
/// `::ffff:192.0.2.0/120`). IPv4-mapped IPv6 becomes IPv4; host bits beyond the prefix are
/// masked off (feeds write `192.0.2.9/24` meaning the block).
fn parse_address(text: &str) -> Result<Key, String> {
    let t = text.trim();
    let (addr, prefix) = match t.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (t, None),
    };
    let addr = addr
        .strip_prefix('[')
        .and_then(|a| a.strip_suffix(']'))
        .unwrap_or(addr);
    let ip: IpAddr = addr
        .parse()
        .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
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
    Ok(match ip {
        IpAddr::V4(a) => v4_key(u32::from(a), prefix),
        IpAddr::V6(a) => match a.to_ipv4_mapped() {
            Some(v4) if prefix >= 96 => v4_key(u32::from(v4), prefix - 96),
            _ => v6_key(u128::from(a), prefix),
        },
    })
}

/// IPv4-mapped IPv6 addresses are IPv4.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// `a.b.c.d` or `a.b.c.d/p`, without the formatting machinery (this is on the hit path).
fn v4_text(n: u32, p: u8) -> String {
    fn num(out: &mut String, v: u8) {
        if v >= 100 {
            out.push(char::from(b'0' + v / 100));
        }
        if v >= 10 {
            out.push(char::from(b'0' + (v / 10) % 10));
        }
        out.push(char::from(b'0' + v % 10));
    }
    let mut out = String::with_capacity(18);
    for (i, octet) in n.to_be_bytes().into_iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        num(&mut out, octet);
    }
    if p < 32 {
        out.push('/');
        num(&mut out, p);
    }
    out
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// One listed indicator: 32 bytes, plus its id in the arena.
struct Entry {
    /// Milliseconds since the epoch; 0 when the indicator has no start.
    valid_from: u64,
    /// Milliseconds since the epoch; `u64::MAX` when it does not expire.
    valid_until: u64,
    /// The id's bytes in `Ids::text`.
    id_off: u32,
    /// The next entry listing the same value (another feed), or [`NIL`].
    next: u32,
    /// Index into `Inner::sources`; [`NIL`] for a free slot.
    source: u32,
    id_len: u16,
    confidence: u8,
}

/// Longest indicator id accepted.
pub const MAX_ID_LEN: usize = 1024;

/// Every entry's id, back to back in one string (a `Box<str>` per entry would cost a pointer
/// and an allocation each). Ids of removed or replaced entries are garbage until the arena is
/// compacted, which happens when garbage outweighs live text.
#[derive(Default)]
struct Ids {
    text: String,
    garbage: usize,
}

impl Ids {
    fn get(&self, e: &Entry) -> &str {
        let start = e.id_off as usize;
        self.text
            .get(start..start + usize::from(e.id_len))
            .unwrap_or_default()
    }

    /// Appends `id`; `None` when the arena would outgrow its 32-bit offsets.
    fn push(&mut self, id: &str) -> Option<(u32, u16)> {
        let off = u32::try_from(self.text.len()).ok()?;
        u32::try_from(self.text.len() + id.len()).ok()?;
        let len = u16::try_from(id.len()).ok()?;
        if self.text.capacity() - self.text.len() < id.len() {
            self.text
                .reserve_exact(growth(self.text.len()).max(id.len()));
        }
        self.text.push_str(id);
        Some((off, len))
    }
}

/// A feed, interned: entries point at it by index.
struct Source {
    feed: Arc<str>,
    tenant: Option<Arc<str>>,
}

/// One tenant's bypass rules, parsed.
#[derive(Default)]
struct TenantBypass {
    nets4: Vec<(u32, u8)>,
    nets6: Vec<(u128, u8)>,
    users: FastSet<Box<str>>,
    ids: FastSet<Box<str>>,
}

impl TenantBypass {
    fn parse(tenant: &str, rules: &Bypass) -> TenantBypass {
        let mut b = TenantBypass::default();
        for a in &rules.addresses {
            match parse_address(a) {
                Ok(Key::V4(n)) => b.nets4.push((n, 32)),
                Ok(Key::Net4(n, p)) => b.nets4.push((n, p)),
                Ok(Key::V6(n)) => b.nets6.push((n, 128)),
                Ok(Key::Net6(n, p)) => b.nets6.push((n, p)),
                Ok(Key::Name(..)) => {}
                Err(e) => tracing::warn!(tenant, "threat bypass address ignored: {e}"),
            }
        }
        b.users = rules.users.iter().map(|u| Box::from(u.as_str())).collect();
        b.ids = rules
            .indicators
            .iter()
            .map(|i| Box::from(i.as_str()))
            .collect();
        b
    }

    fn covers(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                let m = MAPPED | u128::from(a);
                self.nets4.iter().any(|&(n, p)| a.masked(p) == n)
                    || self.nets6.iter().any(|&(n, p)| m.masked(p) == n)
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                self.nets6.iter().any(|&(n, p)| a.masked(p) == n)
            }
        }
    }
}

/// Per-lookup context: who asks, which ids they bypass, the clock (read at most once).
struct Scope<'a> {
    tenant: &'a str,
    skip_ids: Option<&'a FastSet<Box<str>>>,
    now: Option<u64>,
}

impl Scope<'_> {
    fn now(&mut self) -> u64 {
        *self.now.get_or_insert_with(now_ms)
    }
}

/// The best candidate so far: entry index and confidence.
type Best = Option<(u32, u8)>;

#[derive(Default)]
struct Inner {
    entries: Vec<Entry>,
    ids: Ids,
    free: Vec<u32>,
    live: usize,
    sources: Vec<Source>,
    source_index: FastMap<Arc<str>, Vec<u32>>,
    v4: FastMap<u32, u32>,
    v6: FastMap<u128, u32>,
    nets4: Nets<u32>,
    nets6: Nets<u128>,
    /// IPv6 blocks that contain the IPv4-mapped range (`::/0`, `::ffff:0:0/95`...): while
    /// any is held, IPv4 lookups also probe the IPv6 blocks with the mapped address.
    v6_covering_mapped: usize,
    names: [FastMap<Box<str>, u32>; 5],
    bypass: FastMap<Box<str>, TenantBypass>,
}

/// How much a full slab or arena of `len` grows by: a quarter rather than double, so that a
/// million entries do not leave a million empty slots behind.
fn growth(len: usize) -> usize {
    (len / 4).max(1024)
}

fn full() -> String {
    "indicator store is full".to_string()
}

fn covers_mapped(net: u128, p: u8) -> bool {
    p <= 96 && MAPPED.masked(p) == net
}

impl Inner {
    fn head(&self, key: &Key) -> Option<u32> {
        match key {
            Key::V4(a) => self.v4.get(a).copied(),
            Key::V6(a) => self.v6.get(a).copied(),
            Key::Net4(n, p) => self.nets4.head(*n, *p),
            Key::Net6(n, p) => self.nets6.head(*n, *p),
            Key::Name(slot, name) => self.names.get(*slot)?.get(name).copied(),
        }
    }

    fn set_head(&mut self, key: &Key, idx: u32) {
        match key {
            Key::V4(a) => {
                self.v4.insert(*a, idx);
            }
            Key::V6(a) => {
                self.v6.insert(*a, idx);
            }
            Key::Net4(n, p) => self.nets4.set_head(*n, *p, idx),
            Key::Net6(n, p) => {
                if self.nets6.head(*n, *p).is_none() && covers_mapped(*n, *p) {
                    self.v6_covering_mapped += 1;
                }
                self.nets6.set_head(*n, *p, idx);
            }
            Key::Name(slot, name) => {
                if let Some(map) = self.names.get_mut(*slot) {
                    match map.get_mut(name) {
                        Some(h) => *h = idx,
                        None => {
                            map.insert(name.clone(), idx);
                        }
                    }
                }
            }
        }
    }

    fn remove_key(&mut self, key: &Key) {
        match key {
            Key::V4(a) => {
                self.v4.remove(a);
            }
            Key::V6(a) => {
                self.v6.remove(a);
            }
            Key::Net4(n, p) => self.nets4.remove_key(*n, *p),
            Key::Net6(n, p) => {
                if self.nets6.head(*n, *p).is_some() && covers_mapped(*n, *p) {
                    self.v6_covering_mapped = self.v6_covering_mapped.saturating_sub(1);
                }
                self.nets6.remove_key(*n, *p);
            }
            Key::Name(slot, name) => {
                if let Some(map) = self.names.get_mut(*slot) {
                    map.remove(name);
                }
            }
        }
    }

    /// Applies `changes` in order; see [`ThreatStore::apply`].
    fn apply(&mut self, changes: &[IndicatorChange]) -> ApplyReport {
        let mut report = ApplyReport::default();
        for change in changes {
            let (result, feed, kind, value) = match change {
                IndicatorChange::Upsert(e) => {
                    (self.upsert(e).map(|()| true), &e.feed, &e.kind, &e.value)
                }
                IndicatorChange::Remove { feed, kind, value } => {
                    (self.remove(feed, kind, value), feed, kind, value)
                }
            };
            match (result, change) {
                (Ok(true), IndicatorChange::Upsert(_)) => report.upserted += 1,
                (Ok(true), IndicatorChange::Remove { .. }) => report.removed += 1,
                (Ok(false), _) => {}
                (Err(e), _) => {
                    report.rejected += 1;
                    if report.errors.len() < MAX_REPORTED_ERRORS {
                        let mut v: String = value.chars().take(80).collect();
                        if v.len() < value.len() {
                            v.push('…');
                        }
                        report
                            .errors
                            .push(format!("feed {feed:?}, {kind} {v:?}: {e}"));
                    }
                }
            }
        }
        self.compact_ids();
        report
    }

    /// Makes room for the first batch's upserts at once (into an empty store: a first load or
    /// a reload after `clear`), so that a million entries take the memory they need and no
    /// more. Later batches grow the slab and the arena by a quarter at a time.
    fn reserve_for(&mut self, changes: &[IndicatorChange]) {
        if !self.entries.is_empty() {
            return;
        }
        let (mut n, mut id_bytes) = (0usize, 0usize);
        for c in changes {
            if let IndicatorChange::Upsert(e) = c {
                n += 1;
                id_bytes += e.id.len();
            }
        }
        self.entries.reserve_exact(n);
        self.ids.text.reserve_exact(id_bytes);
    }

    /// Rewrites the id arena without garbage once garbage is most of it.
    fn compact_ids(&mut self) {
        if self.ids.garbage < 1 << 20 || self.ids.garbage * 2 < self.ids.text.len() {
            return;
        }
        let mut text = String::with_capacity(self.ids.text.len() - self.ids.garbage);
        for e in &mut self.entries {
            if e.source == NIL {
                continue;
            }
            let start = e.id_off as usize;
            let id = self
                .ids
                .text
                .get(start..start + usize::from(e.id_len))
                .unwrap_or_default();
            // Offsets stay below the old arena's length, which fitted in 32 bits.
            e.id_off = text.len() as u32;
            text.push_str(id);
        }
        self.ids = Ids { text, garbage: 0 };
    }

    fn intern(&mut self, feed: &str, tenant: Option<&str>) -> Result<u32, String> {
        if let Some(ids) = self.source_index.get(feed) {
            for &i in ids {
                if self.sources[i as usize].tenant.as_deref() == tenant {
                    return Ok(i);
                }
            }
        }
        let i = u32::try_from(self.sources.len()).map_err(|_| "too many feeds".to_string())?;
        let feed: Arc<str> = Arc::from(feed);
        self.sources.push(Source {
            feed: Arc::clone(&feed),
            tenant: tenant.map(Arc::from),
        });
        self.source_index.entry(feed).or_default().push(i);
        Ok(i)
    }

    fn key_of(kind: &str, value: &str) -> Result<Key, String> {
        let kind =
            kind_from_wire(kind).ok_or_else(|| format!("unknown indicator kind {kind:?}"))?;
        match name_slot(kind) {
            None => parse_address(value),
            Some(slot) => {
                if value.len() > MAX_VALUE_LEN {
                    return Err(format!(
                        "value longer than {MAX_VALUE_LEN} bytes ({})",
                        value.len()
                    ));
                }
                let key = name_key(slot, value);
                if key.trim().is_empty() {
                    return Err("empty value".into());
                }
                if slot != SQL && key.chars().any(char::is_control) {
                    return Err(format!("{value:?} holds control characters"));
                }
                Ok(Key::Name(slot, Box::from(key.as_ref())))
            }
        }
    }

    fn upsert(&mut self, e: &IndicatorEntry) -> Result<(), String> {
        if e.feed.is_empty() {
            return Err("empty feed name".into());
        }
        if e.confidence > 100 {
            return Err(format!("confidence {} is not 0-100", e.confidence));
        }
        if e.id.len() > MAX_ID_LEN {
            return Err(format!("indicator id longer than {MAX_ID_LEN} bytes"));
        }
        let key = Self::key_of(&e.kind, &e.value)?;
        let source = self.intern(&e.feed, e.tenant.as_deref())?;
        let (valid_from, valid_until) =
            (e.valid_from.unwrap_or(0), e.valid_until.unwrap_or(u64::MAX));
        let mut cur = self.head(&key).unwrap_or(NIL);
        let mut last = NIL;
        while cur != NIL {
            let ent = &self.entries[cur as usize];
            if *self.sources[ent.source as usize].feed == *e.feed {
                if self.ids.get(ent) != e.id {
                    let (off, len) = self.ids.push(&e.id).ok_or_else(full)?;
                    let ent = &mut self.entries[cur as usize];
                    self.ids.garbage += usize::from(ent.id_len);
                    (ent.id_off, ent.id_len) = (off, len);
                }
                let ent = &mut self.entries[cur as usize];
                ent.source = source;
                ent.confidence = e.confidence;
                ent.valid_from = valid_from;
                ent.valid_until = valid_until;
                return Ok(());
            }
            last = cur;
            cur = ent.next;
        }
        let (id_off, id_len) = self.ids.push(&e.id).ok_or_else(full)?;
        let entry = Entry {
            valid_from,
            valid_until,
            id_off,
            next: NIL,
            source,
            id_len,
            confidence: e.confidence,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = entry;
                i
            }
            None => {
                let i = u32::try_from(self.entries.len())
                    .ok()
                    .filter(|&i| i != NIL)
                    .ok_or_else(full)?;
                if self.entries.len() == self.entries.capacity() {
                    self.entries.reserve_exact(growth(self.entries.len()));
                }
                self.entries.push(entry);
                i
            }
        };
        if last == NIL {
            self.set_head(&key, idx);
        } else {
            self.entries[last as usize].next = idx;
        }
        self.live += 1;
        Ok(())
    }

    /// Removes the entry (feed, kind, value); `Ok(false)` when it is not held.
    fn remove(&mut self, feed: &str, kind: &str, value: &str) -> Result<bool, String> {
        let key = Self::key_of(kind, value)?;
        let mut cur = self.head(&key).unwrap_or(NIL);
        let mut prev = NIL;
        while cur != NIL {
            let ent = &self.entries[cur as usize];
            let next = ent.next;
            if *self.sources[ent.source as usize].feed == *feed {
                if prev != NIL {
                    self.entries[prev as usize].next = next;
                } else if next == NIL {
                    self.remove_key(&key);
                } else {
                    self.set_head(&key, next);
                }
                let slot = &mut self.entries[cur as usize];
                self.ids.garbage += usize::from(slot.id_len);
                (slot.id_off, slot.id_len) = (0, 0);
                slot.next = NIL;
                slot.source = NIL;
                self.free.push(cur);
                self.live -= 1;
                return Ok(true);
            }
            prev = cur;
            cur = next;
        }
        Ok(false)
    }

    /// Walks the chain from `head`, raising `best` with each entry the scope may see.
    /// Returns true when `best` changed.
    #[inline]
    fn consider(&self, head: u32, scope: &mut Scope<'_>, best: &mut Best) -> bool {
        let mut improved = false;
        let mut cur = head;
        while cur != NIL {
            let e = &self.entries[cur as usize];
            let idx = cur;
            cur = e.next;
            if best.is_some_and(|(_, c)| e.confidence <= c) {
                continue;
            }
            if let Some(t) = &self.sources[e.source as usize].tenant
                && **t != *scope.tenant
            {
                continue;
            }
            if (e.valid_from != 0 || e.valid_until != u64::MAX) && {
                let now = scope.now();
                e.valid_from > now || e.valid_until <= now
            } {
                continue;
            }
            if scope
                .skip_ids
                .is_some_and(|ids| ids.contains(self.ids.get(e)))
            {
                continue;
            }
            *best = Some((idx, e.confidence));
            improved = true;
        }
        improved
    }

    fn matched(&self, idx: u32, kind: IndicatorKind, value: String) -> IndicatorMatch {
        let e = &self.entries[idx as usize];
        IndicatorMatch {
            id: self.ids.get(e).to_string(),
            kind,
            value,
            confidence: e.confidence,
            source: self.sources[e.source as usize].feed.to_string(),
        }
    }

    fn bypass_for(&self, tenant: &str) -> Option<&TenantBypass> {
        if self.bypass.is_empty() {
            return None;
        }
        self.bypass.get(tenant)
    }

    fn scope<'a>(&'a self, tenant: &'a str, bypass: Option<&'a TenantBypass>) -> Scope<'a> {
        Scope {
            tenant,
            skip_ids: bypass.map(|b| &b.ids).filter(|ids| !ids.is_empty()),
            now: None,
        }
    }

    fn address(&self, tenant: &str, ip: IpAddr) -> Option<IndicatorMatch> {
        let ip = canonical(ip);
        let bypass = self.bypass_for(tenant);
        if bypass.is_some_and(|b| b.covers(ip)) {
            return None;
        }
        let mut scope = self.scope(tenant, bypass);
        let mut best: Best = None;
        /// The listed value of the best candidate: network and prefix.
        enum Listed {
            V4(u32, u8),
            V6(u128, u8),
        }
        let mut listed = Listed::V4(0, 0);
        match ip {
            IpAddr::V4(a) => {
                let a = u32::from(a);
                if let Some(&h) = self.v4.get(&a)
                    && self.consider(h, &mut scope, &mut best)
                {
                    listed = Listed::V4(a, 32);
                }
                self.nets4.probe(a, |h, net, p| {
                    if self.consider(h, &mut scope, &mut best) {
                        listed = Listed::V4(net, p);
                    }
                });
                if self.v6_covering_mapped > 0 {
                    self.nets6.probe(MAPPED | u128::from(a), |h, net, p| {
                        if self.consider(h, &mut scope, &mut best) {
                            listed = Listed::V6(net, p);
                        }
                    });
                }
            }
            IpAddr::V6(a) => {
                let a = u128::from(a);
                if let Some(&h) = self.v6.get(&a)
                    && self.consider(h, &mut scope, &mut best)
                {
                    listed = Listed::V6(a, 128);
                }
                self.nets6.probe(a, |h, net, p| {
                    if self.consider(h, &mut scope, &mut best) {
                        listed = Listed::V6(net, p);
                    }
                });
            }
        }
        let (idx, _) = best?;
        let value = match listed {
            Listed::V4(n, p) => v4_text(n, p),
            Listed::V6(n, 128) => Ipv6Addr::from(n).to_string(),
            Listed::V6(n, p) => format!("{}/{p}", Ipv6Addr::from(n)),
        };
        Some(self.matched(idx, IndicatorKind::Address, value))
    }

    fn name(&self, tenant: &str, slot: usize, name: &str) -> Option<IndicatorMatch> {
        let bypass = self.bypass_for(tenant);
        if slot == USER && bypass.is_some_and(|b| b.users.contains(name)) {
            return None;
        }
        let map = &self.names[slot];
        if map.is_empty() {
            return None;
        }
        let key = name_key(slot, name);
        let &head = map.get(key.as_ref())?;
        let mut scope = self.scope(tenant, bypass);
        let mut best: Best = None;
        self.consider(head, &mut scope, &mut best);
        let (idx, _) = best?;
        Some(self.matched(idx, slot_kind(slot), key.into_owned()))
    }

    fn sql(&self, tenant: &str, sql: &str) -> Option<IndicatorMatch> {
        let map = &self.names[SQL];
        if map.is_empty() {
            return None;
        }
        let text = lower(sql);
        let bypass = self.bypass_for(tenant);
        let mut scope = self.scope(tenant, bypass);
        let mut best: Best = None;
        let mut listed: &str = "";
        for (pattern, &head) in map {
            if text.contains(pattern.as_ref()) && self.consider(head, &mut scope, &mut best) {
                listed = pattern;
            }
        }
        let (idx, _) = best?;
        Some(self.matched(idx, IndicatorKind::SqlPattern, listed.to_string()))
    }
}

/// Metric handles, resolved once.
struct StoreMetrics {
    entries: IntGauge,
    hits: IntCounter,
    misses: IntCounter,
}

/// The gateway's threat-intelligence store: indicators from the manager's feeds (global and
/// per tenant) plus per-tenant bypass rules, answering the `indicators` host import.
///
/// Lookups take a read lock and allocate only for a match; writers apply a whole batch under
/// one write lock. See the module documentation for the layout.
pub struct ThreatStore {
    inner: RwLock<Inner>,
    metrics: std::sync::OnceLock<StoreMetrics>,
}

impl Default for ThreatStore {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreatStore {
    /// An empty store without metrics.
    pub fn new() -> ThreatStore {
        ThreatStore {
            inner: RwLock::new(Inner::default()),
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// An empty store that keeps `articdbm_threat_indicators` (entries held) and
    /// `articdbm_threat_lookups_total{result}` of `metrics` up to date.
    pub fn with_metrics(metrics: &Metrics) -> ThreatStore {
        let store = ThreatStore::new();
        store.bind_metrics(metrics);
        store
    }

    /// From now on keeps `articdbm_threat_indicators` and `articdbm_threat_lookups_total` of
    /// `metrics` up to date (a store made before the gateway's metrics, as a managed gateway's
    /// is, gets them here). Only the first binding counts.
    pub fn bind_metrics(&self, metrics: &Metrics) {
        let bound = StoreMetrics {
            entries: metrics.threat_indicators.clone(),
            hits: metrics.threat_lookups.with_label_values(&["hit"]),
            misses: metrics.threat_lookups.with_label_values(&["miss"]),
        };
        bound.entries.set(self.len() as i64);
        let _ = self.metrics.set(bound);
    }

    /// Applies a batch of changes in order, under one write lock. An upsert adds the entry
    /// or replaces the one with the same (feed, kind, value); a removal drops it if held. A
    /// change with an unknown kind, an address that does not parse, a confidence above 100 or
    /// an empty feed or value is rejected (counted, the first few messages kept) and the rest
    /// of the batch still applies.
    pub fn apply(&self, changes: &[IndicatorChange]) -> ApplyReport {
        let (report, live) = {
            let mut inner = self.inner.write();
            inner.reserve_for(changes);
            let report = inner.apply(changes);
            (report, inner.live)
        };
        if let Some(m) = self.metrics.get() {
            m.entries.set(live as i64);
        }
        report
    }

    /// Replaces every indicator with those of `changes` (a full resync: the pages of
    /// `changes?after=0`, concatenated), keeping the bypass rules. The new set is built
    /// without holding the lock and swapped in at once, so lookups see either the old set or
    /// the new one, never an empty or half-built store.
    pub fn replace_all(&self, changes: &[IndicatorChange]) -> ApplyReport {
        let mut fresh = Inner::default();
        fresh.reserve_for(changes);
        let report = fresh.apply(changes);
        let live = fresh.live;
        let old = {
            let mut inner = self.inner.write();
            fresh.bypass = std::mem::take(&mut inner.bypass);
            std::mem::replace(&mut *inner, fresh)
        };
        // The old set is freed after the lock is released.
        drop(old);
        if let Some(m) = self.metrics.get() {
            m.entries.set(live as i64);
        }
        report
    }

    /// Replaces every tenant's bypass rules. Addresses are CIDR blocks or bare addresses;
    /// unparsable ones are logged and ignored.
    pub fn set_bypass(&self, rules: HashMap<String, Bypass>) {
        let parsed: FastMap<Box<str>, TenantBypass> = rules
            .iter()
            .map(|(t, b)| (Box::from(t.as_str()), TenantBypass::parse(t, b)))
            .collect();
        self.inner.write().bypass = parsed;
    }

    /// Entries held (one per (feed, kind, value)).
    pub fn len(&self) -> usize {
        self.inner.read().live
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every indicator (bypass rules stay).
    pub fn clear(&self) {
        let old = {
            let mut inner = self.inner.write();
            let bypass = std::mem::take(&mut inner.bypass);
            std::mem::replace(
                &mut *inner,
                Inner {
                    bypass,
                    ..Inner::default()
                },
            )
        };
        drop(old);
        if let Some(m) = self.metrics.get() {
            m.entries.set(0);
        }
    }

    fn count(&self, r: Option<IndicatorMatch>) -> Option<IndicatorMatch> {
        if let Some(m) = self.metrics.get() {
            if r.is_some() {
                m.hits.inc();
            } else {
                m.misses.inc();
            }
        }
        r
    }
}

impl IndicatorStore for ThreatStore {
    fn address_listed(&self, tenant: &str, addr: IpAddr) -> Option<IndicatorMatch> {
        let r = self.inner.read().address(tenant, addr);
        self.count(r)
    }

    fn name_listed(&self, tenant: &str, kind: IndicatorKind, name: &str) -> Option<IndicatorMatch> {
        let r = match name_slot(kind) {
            Some(SQL) => self.inner.read().sql(tenant, name),
            Some(slot) => self.inner.read().name(tenant, slot, name),
            None => match parse_address(name) {
                Ok(Key::V4(a)) => self.inner.read().address(tenant, IpAddr::V4(a.into())),
                Ok(Key::V6(a)) => self.inner.read().address(tenant, IpAddr::V6(a.into())),
                _ => None,
            },
        };
        self.count(r)
    }

    fn sql_pattern_match(&self, tenant: &str, sql: &str) -> Option<IndicatorMatch> {
        let r = self.inner.read().sql(tenant, sql);
        self.count(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn entry(
        feed: &str,
        tenant: Option<&str>,
        kind: &str,
        value: &str,
        id: &str,
        c: u8,
    ) -> IndicatorEntry {
        IndicatorEntry {
            feed: feed.into(),
            tenant: tenant.map(Into::into),
            kind: kind.into(),
            value: value.into(),
            id: id.into(),
            confidence: c,
            valid_from: None,
            valid_until: None,
        }
    }

    fn up(e: IndicatorEntry) -> IndicatorChange {
        IndicatorChange::Upsert(e)
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().expect("test address")
    }

    fn store(changes: Vec<IndicatorChange>) -> ThreatStore {
        let s = ThreatStore::new();
        let r = s.apply(&changes);
        assert_eq!(r.rejected, 0, "{r:?}");
        s
    }

    fn hit(s: &ThreatStore, tenant: &str, a: &str) -> Option<(String, String, u8, String)> {
        s.address_listed(tenant, addr(a))
            .map(|m| (m.id, m.value, m.confidence, m.source))
    }

    #[test]
    fn tenant_scope_sees_global_and_own_entries_only() {
        let s = store(vec![
            up(entry("abuse", None, "address", "203.0.113.9", "g-1", 60)),
            up(entry(
                "acme/internal",
                Some("acme"),
                "address",
                "198.51.100.7",
                "a-1",
                70,
            )),
            up(entry(
                "beta/internal",
                Some("beta"),
                "address",
                "198.51.100.8",
                "b-1",
                70,
            )),
            up(entry(
                "acme/internal",
                Some("acme"),
                "domain",
                "evil.example",
                "a-2",
                70,
            )),
        ]);
        assert_eq!(
            hit(&s, "acme", "203.0.113.9").map(|h| h.0).as_deref(),
            Some("g-1")
        );
        assert_eq!(
            hit(&s, "beta", "203.0.113.9").map(|h| h.0).as_deref(),
            Some("g-1")
        );
        assert_eq!(
            hit(&s, "acme", "198.51.100.7").map(|h| h.0).as_deref(),
            Some("a-1")
        );
        assert_eq!(hit(&s, "beta", "198.51.100.7"), None);
        assert_eq!(hit(&s, "acme", "198.51.100.8"), None);
        assert_eq!(
            hit(&s, "beta", "198.51.100.8").map(|h| h.0).as_deref(),
            Some("b-1")
        );
        assert!(
            s.name_listed("acme", IndicatorKind::Domain, "EVIL.example.")
                .is_some()
        );
        assert!(
            s.name_listed("beta", IndicatorKind::Domain, "evil.example")
                .is_none()
        );
        // a tenant entry listed by the same value as a global one: both kept
        let s = store(vec![
            up(entry("abuse", None, "address", "192.0.2.1", "g", 40)),
            up(entry(
                "acme/x",
                Some("acme"),
                "address",
                "192.0.2.1",
                "t",
                90,
            )),
        ]);
        assert_eq!(s.len(), 2);
        assert_eq!(
            hit(&s, "acme", "192.0.2.1").map(|h| h.0).as_deref(),
            Some("t")
        );
        assert_eq!(
            hit(&s, "beta", "192.0.2.1").map(|h| h.0).as_deref(),
            Some("g")
        );
    }

    #[test]
    fn best_confidence_across_feeds() {
        let s = store(vec![
            up(entry("low", None, "address", "192.0.2.1", "l", 30)),
            up(entry("high", None, "address", "192.0.2.1", "h", 95)),
            up(entry("mid", None, "address", "192.0.2.1", "m", 60)),
        ]);
        let (id, value, c, source) = hit(&s, "t", "192.0.2.1").expect("listed");
        assert_eq!(
            (id.as_str(), value.as_str(), c, source.as_str()),
            ("h", "192.0.2.1", 95, "high")
        );
        let s = store(vec![
            up(entry("a", None, "user", "mallory", "u1", 20)),
            up(entry("b", None, "user", "mallory", "u2", 80)),
        ]);
        let m = s
            .name_listed("t", IndicatorKind::User, "mallory")
            .expect("listed");
        assert_eq!(
            (m.id.as_str(), m.confidence, m.source.as_str()),
            ("u2", 80, "b")
        );
        assert_eq!(m.kind, IndicatorKind::User);
    }

    #[test]
    fn upsert_replaces_and_remove_removes() {
        let s = store(vec![
            up(entry("abuse", None, "address", "192.0.2.1", "x-1", 30)),
            up(entry("other", None, "address", "192.0.2.1", "y-1", 20)),
        ]);
        let r = s.apply(&[up(entry("abuse", None, "address", "192.0.2.1", "x-2", 70))]);
        assert_eq!(r.upserted, 1);
        assert_eq!(s.len(), 2);
        assert_eq!(
            hit(&s, "t", "192.0.2.1").map(|h| (h.0, h.2)),
            Some(("x-2".into(), 70))
        );
        // removing a value held by no such feed, or by another kind, changes nothing
        let r = s.apply(&[
            IndicatorChange::Remove {
                feed: "nope".into(),
                kind: "address".into(),
                value: "192.0.2.1".into(),
            },
            IndicatorChange::Remove {
                feed: "abuse".into(),
                kind: "domain".into(),
                value: "192.0.2.1".into(),
            },
        ]);
        assert_eq!((r.removed, r.rejected, s.len()), (0, 0, 2));
        let r = s.apply(&[IndicatorChange::Remove {
            feed: "abuse".into(),
            kind: "address".into(),
            value: "192.0.2.1".into(),
        }]);
        assert_eq!((r.removed, s.len()), (1, 1));
        assert_eq!(
            hit(&s, "t", "192.0.2.1").map(|h| h.0).as_deref(),
            Some("y-1")
        );
        let r = s.apply(&[IndicatorChange::Remove {
            feed: "other".into(),
            kind: "address".into(),
            value: "192.0.2.1".into(),
        }]);
        assert_eq!((r.removed, s.len()), (1, 0));
        assert_eq!(hit(&s, "t", "192.0.2.1"), None);
        // CIDR identity is the normalised block; the slot is reused
        s.apply(&[up(entry("abuse", None, "address", "10.1.0.0/16", "n", 50))]);
        assert!(hit(&s, "t", "10.1.2.3").is_some());
        let r = s.apply(&[IndicatorChange::Remove {
            feed: "abuse".into(),
            kind: "address".into(),
            value: "10.1.0.0/16".into(),
        }]);
        assert_eq!(r.removed, 1);
        assert_eq!(hit(&s, "t", "10.1.2.3"), None);
        assert!(s.is_empty());
        // middle of a chain
        let s = store(vec![
            up(entry("a", None, "domain", "x.example", "1", 10)),
            up(entry("b", None, "domain", "x.example", "2", 20)),
            up(entry("c", None, "domain", "x.example", "3", 30)),
        ]);
        s.apply(&[IndicatorChange::Remove {
            feed: "b".into(),
            kind: "domain".into(),
            value: "X.example".into(),
        }]);
        assert_eq!(s.len(), 2);
        let m = s.name_listed("t", IndicatorKind::Domain, "x.example");
        assert_eq!(m.map(|m| m.id).as_deref(), Some("3"));
        s.clear();
        assert!(s.is_empty());
        assert!(
            s.name_listed("t", IndicatorKind::Domain, "x.example")
                .is_none()
        );
    }

    #[test]
    fn replace_all_swaps_the_set_and_keeps_bypass() {
        let s = store(vec![
            up(entry("f", None, "address", "192.0.2.1", "old", 50)),
            up(entry("f", None, "address", "192.0.2.2", "kept", 50)),
        ]);
        let mut rules = HashMap::new();
        rules.insert(
            "acme".to_string(),
            Bypass {
                addresses: vec!["192.0.2.3".into()],
                ..Bypass::default()
            },
        );
        s.set_bypass(rules);
        let r = s.replace_all(&[
            up(entry("f", None, "address", "192.0.2.2", "kept", 60)),
            up(entry("f", None, "address", "192.0.2.3", "new", 60)),
            up(entry("f", None, "nope", "x", "bad", 60)),
        ]);
        assert_eq!((r.upserted, r.rejected, s.len()), (2, 1, 2));
        assert_eq!(hit(&s, "t", "192.0.2.1"), None);
        assert_eq!(hit(&s, "t", "192.0.2.2").map(|h| h.2), Some(60));
        assert_eq!(
            hit(&s, "t", "192.0.2.3").map(|h| h.0).as_deref(),
            Some("new")
        );
        assert_eq!(hit(&s, "acme", "192.0.2.3"), None);
    }

    #[test]
    fn validity_window() {
        let now = now_ms();
        let mut expired = entry("f", None, "address", "192.0.2.1", "old", 90);
        expired.valid_until = Some(now - 1000);
        let mut future = entry("g", None, "address", "192.0.2.1", "soon", 90);
        future.valid_from = Some(now + 60_000);
        let mut live = entry("h", None, "address", "192.0.2.1", "live", 10);
        live.valid_from = Some(now - 60_000);
        live.valid_until = Some(now + 60_000);
        let s = store(vec![up(expired), up(future)]);
        assert_eq!(hit(&s, "t", "192.0.2.1"), None);
        s.apply(&[up(live)]);
        assert_eq!(
            hit(&s, "t", "192.0.2.1").map(|h| h.0).as_deref(),
            Some("live")
        );
        let mut exact_end = entry("f", None, "domain", "d.example", "d", 90);
        exact_end.valid_until = Some(now);
        s.apply(&[up(exact_end)]);
        assert!(
            s.name_listed("t", IndicatorKind::Domain, "d.example")
                .is_none()
        );
    }

    #[test]
    fn bypass_by_address_user_and_id() {
        let s = store(vec![
            up(entry("abuse", None, "address", "203.0.113.0/24", "net", 80)),
            up(entry("abuse", None, "address", "2001:db8::5", "v6", 80)),
            up(entry("abuse", None, "user", "Mallory", "u", 80)),
            up(entry("abuse", None, "domain", "evil.example", "dom-1", 80)),
            up(entry("other", None, "domain", "evil.example", "dom-2", 40)),
        ]);
        let mut rules = HashMap::new();
        rules.insert(
            "acme".to_string(),
            Bypass {
                addresses: vec![
                    "203.0.113.128/25".into(),
                    "2001:db8::5".into(),
                    "junk".into(),
                ],
                users: vec!["Mallory".into()],
                indicators: vec!["dom-1".into()],
            },
        );
        s.set_bypass(rules);
        assert_eq!(hit(&s, "acme", "203.0.113.200"), None);
        assert_eq!(hit(&s, "acme", "::ffff:203.0.113.200"), None);
        assert_eq!(
            hit(&s, "acme", "203.0.113.9").map(|h| h.1).as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            hit(&s, "beta", "203.0.113.200").map(|h| h.0).as_deref(),
            Some("net")
        );
        assert_eq!(hit(&s, "acme", "2001:db8::5"), None);
        assert!(hit(&s, "beta", "2001:db8::5").is_some());
        assert!(
            s.name_listed("acme", IndicatorKind::User, "Mallory")
                .is_none()
        );
        assert!(
            s.name_listed("beta", IndicatorKind::User, "Mallory")
                .is_some()
        );
        // user names are exact
        assert!(
            s.name_listed("beta", IndicatorKind::User, "mallory")
                .is_none()
        );
        let m = s.name_listed("acme", IndicatorKind::Domain, "evil.example");
        assert_eq!(m.map(|m| m.id).as_deref(), Some("dom-2"));
        let m = s.name_listed("beta", IndicatorKind::Domain, "evil.example");
        assert_eq!(m.map(|m| m.id).as_deref(), Some("dom-1"));
        // replaced wholesale
        s.set_bypass(HashMap::new());
        assert!(hit(&s, "acme", "203.0.113.200").is_some());
    }

    #[test]
    fn ipv4_mapped_ipv6_is_ipv4() {
        let s = store(vec![
            up(entry("f", None, "address", "192.0.2.7", "a", 50)),
            up(entry(
                "f",
                None,
                "address",
                "::ffff:198.51.100.0/120",
                "b",
                50,
            )),
        ]);
        assert_eq!(
            hit(&s, "t", "::ffff:192.0.2.7").map(|h| h.1).as_deref(),
            Some("192.0.2.7")
        );
        assert_eq!(
            hit(&s, "t", "198.51.100.9").map(|h| h.1).as_deref(),
            Some("198.51.100.0/24")
        );
        assert_eq!(
            hit(&s, "t", "::ffff:198.51.100.9").map(|h| h.0).as_deref(),
            Some("b")
        );
        assert_eq!(hit(&s, "t", "::192.0.2.7"), None);
        // an IPv6 block around the mapped range holds IPv4 clients
        s.apply(&[up(entry("f", None, "address", "::/0", "all6", 5))]);
        assert_eq!(
            hit(&s, "t", "8.8.8.8").map(|h| h.1).as_deref(),
            Some("::/0")
        );
        s.apply(&[IndicatorChange::Remove {
            feed: "f".into(),
            kind: "address".into(),
            value: "::/0".into(),
        }]);
        assert_eq!(hit(&s, "t", "8.8.8.8"), None);
    }

    #[test]
    fn cidr_longest_and_best_match() {
        let s = store(vec![
            up(entry("f", None, "address", "10.0.0.0/8", "n8", 50)),
            up(entry("f", None, "address", "10.1.0.0/16", "n16", 50)),
            up(entry("f", None, "address", "10.1.2.0/24", "n24", 40)),
            up(entry("g", None, "address", "10.1.2.0/30", "n30", 50)),
            up(entry("f", None, "address", "2001:db8::/32", "v32", 50)),
            up(entry("f", None, "address", "2001:db8:1::/48", "v48", 70)),
            up(entry("f", None, "address", "2001:db8:1:2::/64", "v64", 60)),
            up(entry(
                "f",
                None,
                "address",
                "2001:db8:1:2::7/127",
                "v127",
                10,
            )),
        ]);
        // equal confidence: the most specific wins
        assert_eq!(
            hit(&s, "t", "10.1.2.1").map(|h| (h.0, h.1)),
            Some(("n30".into(), "10.1.2.0/30".into()))
        );
        assert_eq!(
            hit(&s, "t", "10.1.2.9").map(|h| h.0).as_deref(),
            Some("n16")
        );
        assert_eq!(
            hit(&s, "t", "10.1.9.9").map(|h| h.0).as_deref(),
            Some("n16")
        );
        assert_eq!(hit(&s, "t", "10.9.9.9").map(|h| h.0).as_deref(), Some("n8"));
        assert_eq!(hit(&s, "t", "11.0.0.1"), None);
        // higher confidence on a shorter block beats a longer one
        assert_eq!(
            hit(&s, "t", "2001:db8:1:2::7").map(|h| (h.0, h.1)),
            Some(("v48".into(), "2001:db8:1::/48".into()))
        );
        assert_eq!(
            hit(&s, "t", "2001:db8:2::1").map(|h| h.0).as_deref(),
            Some("v32")
        );
        assert_eq!(hit(&s, "t", "2001:db9::1"), None);
        // host bits are masked; /32 and /128 are exact addresses
        s.apply(&[
            up(entry("h", None, "address", "172.16.5.5/12", "m", 99)),
            up(entry("h", None, "address", "192.0.2.1/32", "e4", 99)),
            up(entry("h", None, "address", "2001:db8::1/128", "e6", 99)),
        ]);
        assert_eq!(
            hit(&s, "t", "172.31.0.1").map(|h| h.1).as_deref(),
            Some("172.16.0.0/12")
        );
        assert_eq!(
            hit(&s, "t", "192.0.2.1").map(|h| h.1).as_deref(),
            Some("192.0.2.1")
        );
        assert_eq!(
            hit(&s, "t", "2001:db8::1").map(|h| h.1).as_deref(),
            Some("2001:db8::1")
        );
        // removing the last block of a guarded length clears it
        for v in ["10.1.2.0/24", "10.1.0.0/16"] {
            s.apply(&[IndicatorChange::Remove {
                feed: "f".into(),
                kind: "address".into(),
                value: v.into(),
            }]);
        }
        assert_eq!(hit(&s, "t", "10.1.9.9").map(|h| h.0).as_deref(), Some("n8"));
        let inner = s.inner.read();
        assert_eq!(
            inner.nets4.guard.get(&(10 << 8 | 1)).copied(),
            Some(1u128 << 30)
        );
    }

    #[test]
    fn ipv4_text() {
        for (n, p) in [
            (0u32, 32u8),
            (u32::MAX, 32),
            (0x0a01_0203, 8),
            (0xc000_0207, 32),
            (0x6400_0a09, 31),
        ] {
            let want = if p == 32 {
                Ipv4Addr::from(n).to_string()
            } else {
                format!("{}/{p}", Ipv4Addr::from(n))
            };
            assert_eq!(v4_text(n, p), want);
        }
    }

    #[test]
    fn id_arena_is_compacted() {
        let s = ThreatStore::new();
        let id = "x".repeat(MAX_ID_LEN);
        for round in 0..3 {
            let batch: Vec<IndicatorChange> = (0..2000u32)
                .map(|i| {
                    up(entry(
                        "f",
                        None,
                        "address",
                        &Ipv4Addr::from(i).to_string(),
                        &format!("{round}{id}")[..MAX_ID_LEN],
                        50,
                    ))
                })
                .collect();
            assert_eq!(s.apply(&batch).upserted, 2000);
        }
        {
            let inner = s.inner.read();
            assert!(
                inner.ids.text.len() <= 2 * 2000 * MAX_ID_LEN,
                "{}",
                inner.ids.text.len()
            );
        }
        let m = s.address_listed("t", addr("0.0.7.207")).expect("listed");
        assert_eq!(m.id, format!("2{id}")[..MAX_ID_LEN]);
        let r = s.apply(&[up(entry(
            "f",
            None,
            "address",
            "192.0.2.1",
            &"y".repeat(MAX_ID_LEN + 1),
            50,
        ))]);
        assert_eq!(r.rejected, 1);
    }

    #[test]
    fn rejects_without_panicking() {
        let s = ThreatStore::new();
        let r = s.apply(&[
            up(entry("f", None, "hash", "abc", "1", 50)),
            up(entry("f", None, "address", "not-an-ip", "2", 50)),
            up(entry("f", None, "address", "10.0.0.0/33", "3", 50)),
            up(entry("f", None, "address", "10.0.0.0/+8", "3b", 50)),
            up(entry("f", None, "address", "2001:db8::/129", "4", 50)),
            up(entry("f", None, "domain", "  ", "5", 50)),
            up(entry("f", None, "domain", "a.example", "6", 101)),
            up(entry("", None, "domain", "a.example", "7", 50)),
            up(entry(
                "f",
                None,
                "url",
                &"x".repeat(MAX_VALUE_LEN + 1),
                "8",
                50,
            )),
            IndicatorChange::Remove {
                feed: "f".into(),
                kind: "nope".into(),
                value: "x".into(),
            },
            up(entry("f", None, "address", "192.0.2.1", "ok", 50)),
        ]);
        assert_eq!((r.upserted, r.rejected, r.removed), (1, 10, 0), "{r:?}");
        assert_eq!(r.errors.len(), MAX_REPORTED_ERRORS);
        assert!(
            r.errors[0].contains("unknown indicator kind \"hash\""),
            "{:?}",
            r.errors
        );
        assert!(r.errors[1].contains("not-an-ip"), "{:?}", r.errors);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn names_and_sql_patterns() {
        let s = store(vec![
            up(entry("f", None, "url", "HTTP://Evil.Example/Path", "u", 50)),
            up(entry("f", None, "email", "Bad@Evil.Example", "e", 50)),
            up(entry("f", None, "domain", "evil.example", "d", 50)),
            up(entry("f", None, "sql-pattern", "INTO OUTFILE", "s", 50)),
        ]);
        let m = s.name_listed("t", IndicatorKind::Url, "http://evil.example/path");
        assert_eq!(
            m.map(|m| m.value).as_deref(),
            Some("http://evil.example/path")
        );
        assert!(
            s.name_listed("t", IndicatorKind::Email, "bad@evil.example")
                .is_some()
        );
        // no parent walk in the store
        assert!(
            s.name_listed("t", IndicatorKind::Domain, "www.evil.example")
                .is_none()
        );
        // a domain is not a URL
        assert!(
            s.name_listed("t", IndicatorKind::Url, "evil.example")
                .is_none()
        );
        let m = s.sql_pattern_match("t", "select 1 into outfile '/tmp/x'");
        assert_eq!(
            m.map(|m| (m.id, m.kind)),
            Some(("s".into(), IndicatorKind::SqlPattern))
        );
        assert!(s.sql_pattern_match("t", "select 1").is_none());
        // address kind through name_listed
        s.apply(&[up(entry("f", None, "address", "192.0.2.0/24", "a", 50))]);
        assert!(
            s.name_listed("t", IndicatorKind::Address, "192.0.2.4")
                .is_some()
        );
    }

    #[test]
    fn metrics_follow_the_store() {
        let metrics = Metrics::new();
        let s = ThreatStore::with_metrics(&metrics);
        s.apply(&[
            up(entry("f", None, "address", "192.0.2.1", "a", 50)),
            up(entry("f", None, "address", "192.0.2.2", "b", 50)),
        ]);
        assert!(s.address_listed("t", addr("192.0.2.1")).is_some());
        assert!(s.address_listed("t", addr("192.0.2.3")).is_none());
        assert!(s.address_listed("t", addr("192.0.2.4")).is_none());
        let text = metrics.render();
        assert!(text.contains("articdbm_threat_indicators 2"), "{text}");
        assert!(
            text.contains("articdbm_threat_lookups_total{result=\"hit\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("articdbm_threat_lookups_total{result=\"miss\"} 2"),
            "{text}"
        );
        s.clear();
        assert!(metrics.render().contains("articdbm_threat_indicators 0"));
    }
}
