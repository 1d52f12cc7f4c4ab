//! Usage per tenant (connections, statements, refusals) since this gateway started, reported
//! to the manager with every heartbeat. Counters are atomics reached through an `Arc` each
//! session takes at login, so counting costs no lock on the query path.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

#[derive(Debug, Default)]
pub struct TenantUsage {
    pub connections: AtomicU64,
    pub queries: AtomicU64,
    pub denials: AtomicU64,
}

impl TenantUsage {
    pub fn add(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Default)]
pub struct Usage {
    tenants: Mutex<HashMap<String, Arc<TenantUsage>>>,
}

impl Usage {
    pub fn tenant(&self, tenant: &str) -> Arc<TenantUsage> {
        let mut m = self.tenants.lock();
        if let Some(t) = m.get(tenant) {
            return Arc::clone(t);
        }
        let t = Arc::new(TenantUsage::default());
        m.insert(tenant.to_string(), Arc::clone(&t));
        t
    }

    /// `{"tenant": {"connections": n, "queries": n, "denials": n}, ...}`: totals since start.
    pub fn totals(&self) -> serde_json::Value {
        let m = self.tenants.lock();
        serde_json::Value::Object(
            m.iter()
                .map(|(k, u)| {
                    (
                        k.clone(),
                        serde_json::json!({
                            "connections": u.connections.load(Ordering::Relaxed),
                            "queries": u.queries.load(Ordering::Relaxed),
                            "denials": u.denials.load(Ordering::Relaxed),
                        }),
                    )
                })
                .collect(),
        )
    }
}
