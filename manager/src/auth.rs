//! API keys and roles.
//!
//! A key is `adbm_` followed by 32 random bytes in URL-safe base64. It is shown once, when
//! created; the store keeps only its SHA-256. Requests carry it as `Authorization: Bearer KEY`.
//!
//! Roles: `admin` (everything), `tenant-admin` (one tenant's resources), `auditor` (reads
//! everything, changes nothing) and `gateway` (the cluster key: snapshot, artifacts, heartbeats
//! and audit uploads).

use std::sync::Arc;

use axum::extract::FromRequestParts;
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
            .ok_or_else(|| {
                ApiError::unauthorized("the Authorization header must be `Bearer KEY`")
            })?;
        let row = app
            .store
            .key_by_hash(&hash_key(key))
            .await
            .map_err(ApiError::store)?;
        let Some(row) = row else {
            app.metrics.auth_failures.inc();
            return Err(ApiError::unauthorized("unknown or revoked API key"));
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
