//! The gateway's capabilities, callable from plugin code. In a wasm build these are the WIT
//! imports; in a native build (unit tests) they reach the in-memory host of [`crate::testing`].

use crate::{IndicatorKind, IndicatorMatch, KvError, Level, ReuseBasis, ReuseScope};

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
    crate::testing::with_host(|h| {
        h.stateful = true;
        h.now_ms
    })
}

/// Monotonic nanoseconds.
pub fn monotonic_ns() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return imports::clock::monotonic_ns();
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| {
        h.stateful = true;
        h.now_ms.saturating_mul(1_000_000)
    })
}

/// Declares, from inside [`crate::Policy::on_query`], that the verdict being returned holds
/// for every statement of the same shape within `scope`, so the gateway answers those without
/// calling the plugin again (contract 0.1.1, `articdbm:policy/reuse`).
///
/// Same shape: the same protocol, a text that differs at most in the values of integer
/// literals, and the same facts, `prepared_name` and `in_transaction`. Declare it only for a
/// verdict that follows from the shape alone: not from integer values in the text, the clock,
/// the key-value store or indicators, and for [`ReuseScope::Statement`] not from the
/// connection ([`ReuseScope::User`] allows the user, roles and database). The gateway ignores
/// the declaration when the call used the clock, the key-value store or the indicators.
pub fn reuse_verdict(scope: ReuseScope) {
    reuse_verdict_for(scope, ReuseBasis::Shape);
}

/// Like [`reuse_verdict`], for every statement of the same `basis` (contract 0.1.2).
///
/// [`ReuseBasis::Fingerprint`] reaches further than a shape: texts that differ at most in the
/// values of number and plain string literals, in the length of a list of literals after `IN`,
/// and in the text of block comments whose first non-blank character is of the same class (a
/// letter or digit, none, or the same punctuation). Declare it only for a verdict that reads
/// none of those: the facts' `comments` texts and `literals` counts, and the literal values in
/// the text. A statement with constant comparisons (`1=1`) is never covered by another
/// statement's verdict. The gateway's definition is `articdbm_facts::Fingerprint`.
pub fn reuse_verdict_for(scope: ReuseScope, basis: ReuseBasis) {
    #[cfg(target_arch = "wasm32")]
    imports::reuse::reuse_verdict_for(scope, basis);
    #[cfg(not(target_arch = "wasm32"))]
    crate::testing::with_host(|h| h.reuse = Some((scope, basis)));
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
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.kv_get(key)
        })
    }

    pub fn set(key: &str, value: &[u8], ttl_ms: Option<u64>) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::set(key, value, ttl_ms);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.kv_set(key, value, ttl_ms)
        })
    }

    pub fn incr(key: &str, delta: i64, ttl_ms: Option<u64>) -> Result<i64, KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::incr(key, delta, ttl_ms);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.kv_incr(key, delta, ttl_ms)
        })
    }

    pub fn delete(key: &str) -> Result<(), KvError> {
        #[cfg(target_arch = "wasm32")]
        return imports::kv::delete(key);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.stateful = true;
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
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.lookup(IndicatorKind::Address, addr)
        })
    }

    pub fn name_listed(kind: IndicatorKind, name: &str) -> Option<IndicatorMatch> {
        #[cfg(target_arch = "wasm32")]
        return imports::indicators::name_listed(kind, name);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.lookup(kind, name)
        })
    }

    pub fn sql_pattern_match(sql: &str) -> Option<IndicatorMatch> {
        #[cfg(target_arch = "wasm32")]
        return imports::indicators::sql_pattern_match(sql);
        #[cfg(not(target_arch = "wasm32"))]
        crate::testing::with_host(|h| {
            h.stateful = true;
            h.indicators
                .iter()
                .find(|m| m.kind == IndicatorKind::SqlPattern && sql.contains(m.value.as_str()))
                .cloned()
        })
    }
}
