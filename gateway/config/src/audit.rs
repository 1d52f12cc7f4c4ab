//! The audit event, the wire format of `POST /api/v1/audit`: written by gateways (`AuditSink`
//! in the gateway crate batches and spools them), stored and served by the manager.

use serde::{Deserialize, Serialize};

/// One audit event, the wire format of `POST /api/v1/audit` (the manager stores it as is).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEvent {
    pub id: String,
    pub at: i64,
    pub tenant: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub verdict: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

impl AuditEvent {
    pub fn new(tenant: &str, actor: &str, action: &str, target: &str, verdict: &str) -> Self {
        let mut b = [0u8; 16];
        let _ = getrandom::fill(&mut b);
        AuditEvent {
            id: hex::encode(b),
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or(0),
            tenant: tenant.into(),
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            verdict: verdict.into(),
            detail: serde_json::Value::Null,
        }
    }
}
