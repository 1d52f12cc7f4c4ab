//! The key-value capability's backends. Plugins reach them through the `kv` WIT interface;
//! the host scopes every key by (tenant, plugin) before it gets here, so a backend never sees
//! an unscoped key. [`MemoryKv`] serves a single gateway; a Redis backend for clusters
//! implements the same trait.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Why a key-value operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvFailure {
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
    #[error("the stored value is not an integer")]
    NotAnInteger,
}

/// A key-value store backend. Calls are synchronous because policy hooks are; a networked
/// backend must bound each call's time itself.
pub trait KvBackend: Send + Sync + 'static {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvFailure>;
    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvFailure>;
    /// Adds `delta` to the integer at `key` (0 when missing), returning the new value. `ttl`
    /// applies when this call creates the key.
    fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, KvFailure>;
    fn delete(&self, key: &str) -> Result<(), KvFailure>;
    /// [`KvBackend::incr`] agreed with every gateway before it returns, for counts that must
    /// never be exceeded (access-token uses). Blocking: call it off the async workers. The
    /// default is `incr`, exact for a store local to one gateway.
    fn incr_exact(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, KvFailure> {
        self.incr(key, delta, ttl)
    }
}

struct Entry {
    value: Vec<u8>,
    expires: Option<Instant>,
}

impl Entry {
    fn live(&self, now: Instant) -> bool {
        self.expires.is_none_or(|e| e > now)
    }
}

const SHARDS: usize = 16;

/// An in-memory store with TTLs, sharded to keep lock hold times short. Bounded: when a shard
/// is full it first drops expired entries, then refuses new keys with `unavailable`.
pub struct MemoryKv {
    shards: Vec<Mutex<HashMap<String, Entry>>>,
    hasher: RandomState,
    max_per_shard: usize,
}

impl MemoryKv {
    /// A store holding at most `max_entries` keys.
    pub fn new(max_entries: usize) -> Self {
        MemoryKv {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hasher: RandomState::new(),
            max_per_shard: max_entries.div_ceil(SHARDS).max(1),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<HashMap<String, Entry>> {
        let i = (self.hasher.hash_one(key) as usize) % SHARDS;
        &self.shards[i]
    }

    fn make_room(&self, map: &mut HashMap<String, Entry>, now: Instant) -> Result<(), KvFailure> {
        if map.len() < self.max_per_shard {
            return Ok(());
        }
        map.retain(|_, e| e.live(now));
        if map.len() < self.max_per_shard {
            Ok(())
        } else {
            Err(KvFailure::Unavailable("in-memory store is full".into()))
        }
    }
}

impl Default for MemoryKv {
    fn default() -> Self {
        MemoryKv::new(1_000_000)
    }
}

impl KvBackend for MemoryKv {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvFailure> {
        let now = Instant::now();
        let map = self.shard(key).lock();
        Ok(map
            .get(key)
            .filter(|e| e.live(now))
            .map(|e| e.value.clone()))
    }

    fn set(&self, key: &str, value: &[u8], ttl: Option<Duration>) -> Result<(), KvFailure> {
        let now = Instant::now();
        let mut map = self.shard(key).lock();
        if !map.contains_key(key) {
            self.make_room(&mut map, now)?;
        }
        map.insert(
            key.to_string(),
            Entry {
                value: value.to_vec(),
                expires: ttl.map(|t| now + t),
            },
        );
        Ok(())
    }

    fn incr(&self, key: &str, delta: i64, ttl: Option<Duration>) -> Result<i64, KvFailure> {
        let now = Instant::now();
        let mut map = self.shard(key).lock();
        let current = match map.get(key) {
            Some(e) if e.live(now) => std::str::from_utf8(&e.value)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(KvFailure::NotAnInteger)?,
            Some(_) => {
                map.remove(key);
                0
            }
            None => 0,
        };
        let next = current.saturating_add(delta);
        match map.get_mut(key) {
            Some(e) => e.value = next.to_string().into_bytes(),
            None => {
                self.make_room(&mut map, now)?;
                map.insert(
                    key.to_string(),
                    Entry {
                        value: next.to_string().into_bytes(),
                        expires: ttl.map(|t| now + t),
                    },
                );
            }
        }
        Ok(next)
    }

    fn delete(&self, key: &str) -> Result<(), KvFailure> {
        self.shard(key).lock().remove(key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incr_creates_counts_and_expires() {
        let kv = MemoryKv::new(100);
        assert_eq!(kv.incr("a", 2, Some(Duration::from_millis(30))).unwrap(), 2);
        assert_eq!(kv.incr("a", 3, None).unwrap(), 5);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(kv.get("a").unwrap(), None);
        assert_eq!(kv.incr("a", 1, None).unwrap(), 1);
    }

    #[test]
    fn incr_on_text_is_an_error() {
        let kv = MemoryKv::new(100);
        kv.set("t", b"hello", None).unwrap();
        assert_eq!(kv.incr("t", 1, None), Err(KvFailure::NotAnInteger));
    }

    #[test]
    fn full_store_refuses_new_keys_but_updates_existing() {
        let kv = MemoryKv::new(SHARDS); // one key per shard
        let mut refused = 0;
        for i in 0..200 {
            if kv.set(&format!("k{i}"), b"v", None).is_err() {
                refused += 1;
            }
        }
        assert!(refused > 0);
        kv.set("k0", b"w", None).ok();
    }
}
