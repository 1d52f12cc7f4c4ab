//! The facts cache: bounded, sharded, keyed by (dialect, statement text).
//!
//! A hit hashes the text once (foldhash, randomly seeded per cache), takes a shard's read lock,
//! compares the text of the entries with that hash and clones an `Arc`: no allocation.
//!
//! Eviction is CLOCK (second chance) per shard: a hit sets the entry's reference bit; an
//! insert into a full shard sweeps the hand over the slots, clearing set bits and evicting the
//! first entry whose bit is clear. A shard is full when it holds its share of `capacity`
//! entries or its share of the text byte budget. Texts larger than a shard's byte budget are
//! extracted but not cached. Equal hashes chain through the slots; a chain is capped so crafted
//! collisions cannot make a lookup slow (an insert into a full chain is simply not cached).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::{Dialect, QueryFacts, extract};

const NONE: u32 = u32::MAX;
/// Longest chain of entries sharing one hash.
const MAX_CHAIN: usize = 8;
/// Text bytes budgeted per entry when the caller gives no byte limit.
const BYTES_PER_ENTRY: usize = 1024;

/// Keys are already hashes: pass them through.
#[derive(Default)]
struct Identity(u64);

impl Hasher for Identity {
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

struct Entry<V> {
    hash: u64,
    dialect: Dialect,
    sql: Box<str>,
    value: Arc<V>,
    referenced: AtomicBool,
    /// Next slot with the same hash, or `NONE`.
    next: u32,
}

struct Shard<V> {
    /// Hash to the first slot of its chain.
    index: HashMap<u64, u32, BuildHasherDefault<Identity>>,
    slots: Vec<Option<Entry<V>>>,
    free: Vec<u32>,
    hand: usize,
    len: usize,
    bytes: usize,
}

struct Padded<V> {
    shard: RwLock<Shard<V>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

/// A bounded cache of facts (or of a value made from them) keyed by (dialect, statement text).
pub struct FactsCache<V = QueryFacts> {
    shards: Box<[Padded<V>]>,
    hasher: foldhash::fast::RandomState,
    /// Entries per shard.
    entries: usize,
    /// Text bytes per shard.
    bytes: usize,
}

impl<V: Send + Sync + 'static> FactsCache<V> {
    /// A cache of at most `capacity` entries and `capacity` KiB of statement text.
    pub fn new(capacity: usize) -> Self {
        Self::with_limits(capacity, capacity.saturating_mul(BYTES_PER_ENTRY))
    }

    /// A cache of at most `capacity` entries holding at most `max_bytes` of statement text.
    pub fn with_limits(capacity: usize, max_bytes: usize) -> Self {
        // Small caches get one shard so the limits are exact.
        let n = if capacity >= 4096 { 16 } else { 1 };
        let shards = (0..n)
            .map(|_| Padded {
                shard: RwLock::new(Shard {
                    index: HashMap::default(),
                    slots: Vec::new(),
                    free: Vec::new(),
                    hand: 0,
                    len: 0,
                    bytes: 0,
                }),
                hits: AtomicU64::new(0),
                misses: AtomicU64::new(0),
            })
            .collect();
        FactsCache {
            shards,
            hasher: foldhash::fast::RandomState::default(),
            entries: capacity.div_ceil(n),
            bytes: max_bytes.div_ceil(n),
        }
    }

    fn hash(&self, sql: &str, dialect: Dialect) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write_u8(dialect as u8);
        h.write(sql.as_bytes());
        h.finish()
    }

    fn shard(&self, hash: u64) -> &Padded<V> {
        // High bits pick the shard; the map uses all of them.
        let i = (hash >> 56) as usize % self.shards.len();
        &self.shards[i]
    }

    /// The cached value for `sql`, or `make` applied to freshly extracted facts (then cached).
    pub fn get_or_insert_with(
        &self,
        sql: &str,
        dialect: Dialect,
        make: impl FnOnce(QueryFacts) -> V,
    ) -> Arc<V> {
        self.get_or_make(sql, dialect, || make(extract(sql, dialect)))
    }

    /// The value cached for the key `text`, or `make()`'s, cached when it fits.
    pub fn get_or_make(&self, text: &str, dialect: Dialect, make: impl FnOnce() -> V) -> Arc<V> {
        let hash = self.hash(text, dialect);
        let p = self.shard(hash);
        if let Some(v) = p.shard.read().find(hash, text, dialect) {
            p.hits.fetch_add(1, Ordering::Relaxed);
            return v;
        }
        p.misses.fetch_add(1, Ordering::Relaxed);
        let value = Arc::new(make());
        if self.entries == 0 || text.len() > self.bytes {
            return value;
        }
        let mut s = p.shard.write();
        if let Some(v) = s.find(hash, text, dialect) {
            return v;
        }
        s.insert(
            hash,
            text,
            dialect,
            Arc::clone(&value),
            self.entries,
            self.bytes,
        );
        value
    }

    /// Entries cached.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|p| p.shard.read().len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of statement text cached.
    pub fn text_bytes(&self) -> usize {
        self.shards.iter().map(|p| p.shard.read().bytes).sum()
    }

    /// Lookups answered from the cache.
    pub fn hits(&self) -> u64 {
        self.shards
            .iter()
            .map(|p| p.hits.load(Ordering::Relaxed))
            .sum()
    }

    /// Lookups that extracted.
    pub fn misses(&self) -> u64 {
        self.shards
            .iter()
            .map(|p| p.misses.load(Ordering::Relaxed))
            .sum()
    }
}

impl FactsCache<QueryFacts> {
    /// The facts of `sql`, extracted once per distinct (dialect, text).
    pub fn get(&self, sql: &str, dialect: Dialect) -> Arc<QueryFacts> {
        self.get_or_insert_with(sql, dialect, |f| f)
    }
}

impl<V> Shard<V> {
    fn find(&self, hash: u64, sql: &str, dialect: Dialect) -> Option<Arc<V>> {
        let mut i = *self.index.get(&hash)?;
        while let Some(Some(e)) = self.slots.get(i as usize) {
            if e.dialect == dialect && *e.sql == *sql {
                e.referenced.store(true, Ordering::Relaxed);
                return Some(Arc::clone(&e.value));
            }
            i = e.next;
        }
        None
    }

    fn chain_len(&self, hash: u64) -> usize {
        let mut n = 0;
        let mut i = self.index.get(&hash).copied().unwrap_or(NONE);
        while let Some(Some(e)) = self.slots.get(i as usize) {
            n += 1;
            i = e.next;
        }
        n
    }

    /// Unlinks and empties slot `i`.
    fn evict(&mut self, i: usize) {
        let Some(e) = self.slots.get_mut(i).and_then(Option::take) else {
            return;
        };
        self.len -= 1;
        self.bytes -= e.sql.len();
        self.free.push(i as u32);
        let head = self.index.get(&e.hash).copied().unwrap_or(NONE);
        if head as usize == i {
            if e.next == NONE {
                self.index.remove(&e.hash);
            } else {
                self.index.insert(e.hash, e.next);
            }
            return;
        }
        let mut j = head;
        while let Some(Some(p)) = self.slots.get_mut(j as usize) {
            if p.next as usize == i {
                p.next = e.next;
                return;
            }
            j = p.next;
        }
    }

    /// Evicts one entry by CLOCK. Returns false when the shard is empty.
    fn evict_one(&mut self) -> bool {
        if self.len == 0 || self.slots.is_empty() {
            return false;
        }
        // Two sweeps clear every bit, so a victim is found within them.
        for _ in 0..self.slots.len() * 2 + 1 {
            let i = self.hand % self.slots.len();
            self.hand = i + 1;
            if let Some(e) = &self.slots[i] {
                if e.referenced.swap(false, Ordering::Relaxed) {
                    continue;
                }
                self.evict(i);
                return true;
            }
        }
        false
    }

    fn insert(
        &mut self,
        hash: u64,
        sql: &str,
        dialect: Dialect,
        value: Arc<V>,
        max_entries: usize,
        max_bytes: usize,
    ) {
        if self.chain_len(hash) >= MAX_CHAIN {
            return;
        }
        while (self.len >= max_entries || self.bytes + sql.len() > max_bytes) && self.evict_one() {}
        let head = self.index.get(&hash).copied().unwrap_or(NONE);
        let entry = Entry {
            hash,
            dialect,
            sql: sql.into(),
            value,
            referenced: AtomicBool::new(false),
            next: head,
        };
        let i = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(entry);
                i
            }
            None => {
                self.slots.push(Some(entry));
                (self.slots.len() - 1) as u32
            }
        };
        self.index.insert(hash, i);
        self.len += 1;
        self.bytes += sql.len();
    }
}
