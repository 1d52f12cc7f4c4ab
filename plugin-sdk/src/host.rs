//! The gateway's capabilities, callable from plugin code. In a wasm build these are the WIT
//! imports; in a native build (unit tests) they reach the in-memory host of [`crate::testing`].

use crate::{IndicatorKind, IndicatorMatch, KvError, Level};

#[cfg(target_arch = "wasm32")]
use crate::bindings::articdbm::policy as imports;

/// Writes a line to the gateway log, tagged with tenant and plugin.
pub fn log(level: Level, message: &str) {
    #[cfg(target_arch = "wasm32")]
    imports::log::log(level, message);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| h.logs.push((level, message.to_string())));
}

/// Wall-clock milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return imports::clock::now_ms();
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| h.now_ms)
}

/// Monotonic nanoseconds.
pub fn monotonic_ns() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return imports::clock::monotonic_ns();
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| h.now_ms.saturating_mul(1_000_000))
}

/// Adds to a plugin-defined counter.
pub fn counter_add(name: &str, value: u64) {
    #[cfg(target_arch = "wasm32")]
    imports::metrics::counter_add(name, value);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| *h.counters.entry(name.to_string()).or_default() += value);
}

/// The tenant-and-plugin scoped key-value store.
pub mod kv {
    use super::*;

    pub fn get(key: &str) -> Result<Option<Vec<u8>>, KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::get(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.kv_get(key))
    }

    pub fn set(key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::set(key, value, ttl_ms);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.kv_set(key, value, ttl_ms))
    }

    pub fn incr(key: &str, delta: i64, ttl_ms: Option<u64>) -> Result<i64, KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::incr(key, delta, ttl_ms);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.kv_incr(key, delta, ttl_ms))
    }

    pub fn delete(key: &str) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::delete(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.kv.remove(key);
            Ok(())
        })
    }
}

/// Threat-intelligence lookups.
pub mod indicators {
    use super::*;

    pub fn address_listed(addr: &str) -> Option<IndicatorMatch> {
        #[cfg(target_arch = "wasm32")]
        return imports::indicators::address_listed(addr);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.lookup(IndicatorKind::Address, addr))
    }

    pub fn name_listed(kind: IndicatorKind, name: &str) -> Option<IndicatorMatch> {
        #[cfg(target_arch = "wasm32")]
        return imports::indicators::name_listed(kind, name);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| h.lookup(kind, name))
    }

    pub fn sql_pattern_match(sql: &str) -> Option<IndicatorMatch> {
        #[cfg(target_arch = "wasm32")]
        return imports::indicators::sql_pattern_match(sql);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.indicators
                .iter()
                .find(|m| m.kind == IndicatorKind::SqlPattern && sql.contains(m.value.as_str()))
                .cloned()
        })
    }
}
