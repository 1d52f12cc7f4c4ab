//! The PostgreSQL side of the server pools (`crate::pool`): how a connection is opened and
//! checked, what is kept per backend (the parameters shown to new clients) and per database
//! (function names by OID, for fast-path calls judged as SQL).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::server::{Endpoint, Identity, ServerConn, ServerError};
use crate::pool::{ConnectFailure, Connector, Link};

pub use crate::pool::{AcquireError, Route, spawn_maintenance};

/// The pools of one PostgreSQL (or embedded SQLite) database.
pub type DbPool = crate::pool::DbPool<PgConnector>;
/// Connections to one PostgreSQL server.
pub type BackendPool = crate::pool::BackendPool<PgConnector>;
/// A PostgreSQL server connection leased to one client.
pub type Lease = crate::pool::Lease<PgConnector>;

/// Opens PostgreSQL server connections as `ident`.
pub struct PgConnector {
    pub ident: Identity,
    /// Function names by OID, for fast-path calls judged as SQL (`pool.function_call`).
    pub functions: Arc<Mutex<HashMap<u32, String>>>,
}

impl PgConnector {
    pub fn new(ident: Identity) -> Self {
        PgConnector {
            ident,
            functions: Arc::default(),
        }
    }
}

/// What is kept per PostgreSQL backend.
#[derive(Default)]
pub struct PgBackendState {
    /// ParameterStatus values of the last connection opened, shown to new clients.
    pub server_params: Mutex<Vec<(String, String)>>,
}

impl Connector for PgConnector {
    type Endpoint = Endpoint;
    type Conn = ServerConn;
    type Error = ServerError;
    type BackendState = PgBackendState;

    fn label(endpoint: &Endpoint) -> String {
        endpoint.label()
    }

    async fn connect(
        &self,
        backend: &BackendPool,
        timeout: Duration,
    ) -> Result<ServerConn, ServerError> {
        let conn =
            ServerConn::connect(&backend.endpoint, &self.ident, backend.index, timeout).await?;
        let mut params: Vec<(String, String)> = conn
            .params
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        params.sort();
        *backend.state.server_params.lock() = params;
        Ok(conn)
    }
}

impl Link for ServerConn {
    fn created(&self) -> Instant {
        self.created
    }
    fn idle_since(&self) -> Instant {
        self.idle_since
    }
    fn set_idle_since(&mut self, at: Instant) {
        self.idle_since = at;
    }
    fn broken(&self) -> bool {
        self.broken
    }
    fn is_alive(&mut self) -> bool {
        ServerConn::is_alive(self)
    }
    async fn ping(&mut self) -> bool {
        self.simple("SELECT 1").await.is_ok()
    }
    fn terminate(self: Box<Self>) -> impl Future<Output = ()> + Send + 'static {
        ServerConn::terminate(self)
    }
}

impl ConnectFailure for ServerError {
    fn to_string_client(&self) -> String {
        ServerError::to_string_client(self)
    }
}

/// Parameters a client sees at startup: the server's, with the client's own choices on top.
pub fn startup_params(
    backend: &BackendPool,
    client: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let mut params = backend.state.server_params.lock().clone();
    for (k, v) in client {
        if let Some(p) = params.iter_mut().find(|(n, _)| n == k) {
            p.1 = v.clone();
        }
    }
    params
}
