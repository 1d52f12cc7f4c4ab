//! API keys and roles.
//!
//! A key is `adbm_` followed by 32 random bytes in URL-safe base64. It is shown once, when
//! created; the store keeps only its SHA-256. Requests carry it as `Authorization: Bearer KEY`.
//!
//! Roles: `admin` (everything), `tenant-admin` (one tenant's resources), `auditor` (reads
//! everything, changes nothing) and `gateway` (the cluster key: snapshot, artifacts, heartbeats
//! and audit uploads).
//!
//! Guessing keys is slowed per source address by [`FailureLimiter`]: after
//! [`MAX_FAILURES`] wrong keys within [`FAILURE_WINDOW`], the address is answered 429 with
//! `Retry-After` until the window ends, whatever key it sends.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use base64::Engine;
use sha2::{Digest, Sha256};

use crate::api::{ApiError, App};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    Admin,
    TenantAdmin,
    Auditor,
    Gateway,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::TenantAdmin => "tenant-admin",
            Role::Auditor => "auditor",
            Role::Gateway => "gateway",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "admin" => Role::Admin,
            "tenant-admin" => Role::TenantAdmin,
            "auditor" => Role::Auditor,
            "gateway" => Role::Gateway,
            _ => return None,
        })
    }
}

/// A new random key.
pub fn generate_key() -> String {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).expect("the OS random source");
    format!(
        "adbm_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
    )
}

pub fn random_id(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    getrandom::fill(&mut b).expect("the OS random source");
    hex::encode(b)
}

pub fn hash_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// Wrong API keys an address may send within [`FAILURE_WINDOW`].
pub const MAX_FAILURES: u32 = 10;
/// The window failures are counted in, and how long an address that exceeded them waits.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked at most; beyond, the entry whose window started first is dropped.
pub const MAX_TRACKED: usize = 10_000;

/// API-key failures per source address (IPv6 by /64, as one host usually holds a whole /64).
/// Memory is bounded by [`MAX_TRACKED`]; successful requests are never counted.
pub struct FailureLimiter {
    max_failures: u32,
    window: Duration,
    capacity: usize,
    table: parking_lot::Mutex<HashMap<IpAddr, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    since: Instant,
    count: u32,
}

impl Default for FailureLimiter {
    fn default() -> Self {
        FailureLimiter::new(MAX_FAILURES, FAILURE_WINDOW, MAX_TRACKED)
    }
}

impl FailureLimiter {
    pub fn new(max_failures: u32, window: Duration, capacity: usize) -> FailureLimiter {
        FailureLimiter {
            max_failures,
            window,
            capacity: capacity.max(1),
            table: parking_lot::Mutex::new(HashMap::new()),
        }
    }

    fn source(addr: IpAddr) -> IpAddr {
        match addr {
            IpAddr::V4(_) => addr,
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => {
                    let s = v6.segments();
                    IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
                }
            },
        }
    }

    /// How long `addr` must still wait, if it has used up its failures.
    pub fn blocked(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let t = self.table.lock();
        let f = t.get(&Self::source(addr))?;
        let end = f.since + self.window;
        (f.count >= self.max_failures && end > now).then(|| end - now)
    }

    /// Counts a failure of `addr`; returns true when this one used up its allowance.
    pub fn fail(&self, addr: IpAddr, now: Instant) -> bool {
        let key = Self::source(addr);
        let mut t = self.table.lock();
        if !t.contains_key(&key) && t.len() >= self.capacity {
            let window = self.window;
            t.retain(|_, f| f.since + window > now);
            if t.len() >= self.capacity
                && let Some(oldest) = t.iter().min_by_key(|(_, f)| f.since).map(|(k, _)| *k)
            {
                t.remove(&oldest);
            }
        }
        let f = t.entry(key).or_insert(Failures {
            since: now,
            count: 0,
        });
        if f.since + self.window <= now {
            *f = Failures {
                since: now,
                count: 0,
            };
        }
        f.count = f.count.saturating_add(1);
        f.count == self.max_failures
    }

    /// Addresses tracked now.
    pub fn tracked(&self) -> usize {
        self.table.lock().len()
    }
}

/// 429 with `Retry-After` in whole seconds, rounded up.
fn throttled(wait: Duration) -> ApiError {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    ApiError {
        retry_after: Some(secs.max(1)),
        ..ApiError::new(
            axum::http::StatusCode::TOO_MANY_REQUESTS,
            "too_many_failures",
            format!(
                "too many requests with a wrong API key from this address; retry in {} s",
                secs.max(1)
            ),
        )
    }
}

/// Who is calling.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub role: Role,
    pub tenant: Option<String>,
}

impl Caller {
    /// Whether the caller may read `tenant`'s resources.
    pub fn can_read_tenant(&self, tenant: &str) -> bool {
        match self.role {
            Role::Admin | Role::Auditor => true,
            Role::TenantAdmin => self.tenant.as_deref() == Some(tenant),
            Role::Gateway => false,
        }
    }

    /// Whether the caller may change `tenant`'s resources.
    pub fn can_write_tenant(&self, tenant: &str) -> bool {
        match self.role {
            Role::Admin => true,
            Role::TenantAdmin => self.tenant.as_deref() == Some(tenant),
            Role::Auditor | Role::Gateway => false,
        }
    }

    /// 403 unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), ApiError> {
        if roles.contains(&self.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the role {}; the key has {}",
                roles
                    .iter()
                    .map(|r| r.as_str())
                    .collect::<Vec<_>>()
                    .join(" or "),
                self.role.as_str()
            )))
        }
    }

    /// A tenant the caller may not read is reported as not found, so that other tenants'
    /// names do not leak.
    pub fn read_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        if self.can_read_tenant(tenant) {
            Ok(())
        } else if self.role == Role::Gateway {
            Err(ApiError::forbidden("the cluster key only reads snapshots"))
        } else {
            Err(ApiError::not_found(format!("tenant '{tenant}' not found")))
        }
    }

    pub fn write_tenant(&self, tenant: &str) -> Result<(), ApiError> {
        self.read_tenant(tenant)?;
        if self.can_write_tenant(tenant) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the role {} cannot change anything",
                self.role.as_str()
            )))
        }
    }

    /// The tenant a read across tenants (audit, indicators) is narrowed to: what the admin or
    /// auditor asked for (None: all), a tenant-admin's own tenant (another one is 404, so names
    /// do not leak). The cluster key is refused with `cluster_hint`.
    pub fn read_scope(
        &self,
        requested: Option<String>,
        cluster_hint: &str,
    ) -> Result<Option<String>, ApiError> {
        match self.role {
            Role::Admin | Role::Auditor => Ok(requested),
            Role::TenantAdmin => match requested {
                Some(t) if Some(&t) != self.tenant.as_ref() => {
                    Err(ApiError::not_found(format!("tenant '{t}' not found")))
                }
                _ => Ok(self.tenant.clone()),
            },
            Role::Gateway => Err(ApiError::forbidden(cluster_hint.to_string())),
        }
    }

    /// Who did it, for the audit log: `key:ID`, or `cert:SHA256-PREFIX` for a gateway known
    /// by its client certificate.
    pub fn actor(&self) -> String {
        if self.key_id.starts_with("cert:") {
            self.key_id.clone()
        } else {
            format!("key:{}", self.key_id)
        }
    }
}

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        app: &Arc<App>,
    ) -> Result<Self, Self::Rejection> {
        // Set by the server's accept loop; absent only when the router is served without it.
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let now = Instant::now();
        if let Some(wait) = peer.and_then(|p| app.auth_limiter.blocked(p, now)) {
            app.metrics.auth_throttled.inc();
            return Err(throttled(wait));
        }
        let fail = |message: &str| {
            app.metrics.auth_failures.inc();
            if let Some(p) = peer
                && app.auth_limiter.fail(p, now)
            {
                tracing::warn!(
                    peer = %p,
                    failures = MAX_FAILURES,
                    "API-key failures from this address: refusing it until its window ends"
                );
            }
            ApiError::unauthorized(message)
        };
        let Some(h) = parts.headers.get(axum::http::header::AUTHORIZATION) else {
            // A client certificate the TLS handshake verified against --tls-client-ca is a
            // gateway's identity (mTLS instead of the cluster key).
            if let Some(sha) = parts
                .extensions
                .get::<crate::tls::Peer>()
                .and_then(|p| p.client_cert.as_ref())
            {
                return Ok(Caller {
                    key_id: format!("cert:{}", &sha[..16]),
                    role: Role::Gateway,
                    tenant: None,
                });
            }
            return Err(ApiError::unauthorized(
                "missing API key: send `Authorization: Bearer KEY`",
            ));
        };
        let key = h
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| fail("the Authorization header must be `Bearer KEY`"))?;
        let row = app
            .store
            .key_by_hash(&hash_key(key))
            .await
            .map_err(ApiError::store)?;
        let Some(row) = row else {
            return Err(fail("unknown or revoked API key"));
        };
        let role = Role::parse(&row.role).ok_or_else(|| {
            ApiError::internal(format!("stored key has unknown role {}", row.role))
        })?;
        Ok(Caller {
            key_id: row.id,
            role,
            tenant: row.tenant,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_block_an_address_for_the_rest_of_its_window_only() {
        let l = FailureLimiter::new(3, Duration::from_secs(60), 100);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let t0 = Instant::now();
        assert!(!l.fail(a, t0));
        assert!(!l.fail(a, t0));
        assert_eq!(l.blocked(a, t0), None);
        assert!(l.fail(a, t0), "the third failure uses up the allowance");
        let wait = l.blocked(a, t0 + Duration::from_secs(10)).unwrap();
        assert_eq!(wait, Duration::from_secs(50));
        assert_eq!(l.blocked(b, t0), None, "another address is not affected");
        assert_eq!(l.blocked(a, t0 + Duration::from_secs(60)), None);
        // A new window starts from zero.
        assert!(!l.fail(a, t0 + Duration::from_secs(61)));
        assert_eq!(l.blocked(a, t0 + Duration::from_secs(61)), None);
    }

    #[test]
    fn ipv6_counts_per_64_and_mapped_ipv4_as_ipv4() {
        let l = FailureLimiter::new(2, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        l.fail("2001:db8:1:2::1".parse().unwrap(), t0);
        l.fail("2001:db8:1:2::ffff".parse().unwrap(), t0);
        assert!(l.blocked("2001:db8:1:2::9".parse().unwrap(), t0).is_some());
        assert!(l.blocked("2001:db8:1:3::1".parse().unwrap(), t0).is_none());
        l.fail("::ffff:192.0.2.7".parse().unwrap(), t0);
        l.fail("192.0.2.7".parse().unwrap(), t0);
        assert!(l.blocked("192.0.2.7".parse().unwrap(), t0).is_some());
    }

    #[test]
    fn the_table_stays_bounded_under_many_addresses() {
        let l = FailureLimiter::new(5, Duration::from_secs(60), 64);
        let t0 = Instant::now();
        for i in 0..10_000u32 {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            l.fail(ip, t0 + Duration::from_millis(u64::from(i)));
        }
        assert!(l.tracked() <= 64, "{}", l.tracked());
    }
}
