//! Server connections: opening one (TCP, optional TLS, startup, SCRAM / md5 / cleartext /
//! trust authentication) to PostgreSQL or to the embedded SQLite backend, and the state the
//! gateway keeps about each.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_pgwire::auth::md5::md5_password;
use articdbm_pgwire::auth::scram::ScramClient;
use articdbm_pgwire::backend::Authentication;
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{BackendDecoder, BackendMessage};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::core::PreparedSet;
use super::stream::{PgStream, server_name};
use crate::config::TlsMode;
use crate::sqlite::SqliteDb;

/// Where a server connection goes.
#[derive(Clone)]
pub enum Endpoint {
    Postgres {
        host: String,
        port: u16,
        tls: TlsMode,
        tls_config: Option<Arc<rustls::ClientConfig>>,
    },
    Sqlite(Arc<SqliteDb>),
}

impl Endpoint {
    /// `host:port`, the socket path, or `sqlite`, for logs and metric labels.
    pub fn label(&self) -> String {
        match self {
            Endpoint::Postgres { host, port, .. } => match unix_socket(host, *port) {
                Some(path) => path,
                None => format!("{host}:{port}"),
            },
            Endpoint::Sqlite(_) => "sqlite".to_string(),
        }
    }
}

pub use articdbm_config::unix_socket;

/// Where to send a CancelRequest for a server connection's running query.
pub struct CancelTarget {
    pub endpoint: Endpoint,
    /// The server's BackendKeyData (process id, secret).
    pub key: (i32, Vec<u8>),
}

/// Who the gateway is on the server.
#[derive(Clone, Debug)]
pub struct Identity {
    pub user: String,
    pub password: Option<String>,
    pub database: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("connecting to {0}: timed out")]
    Timeout(String),
    #[error("connecting to {0}: {1}")]
    Io(String, std::io::Error),
    #[error("{0}: TLS: {1}")]
    Tls(String, String),
    #[error("{0}: authentication failed: {1}")]
    Auth(String, String),
    #[error("{0}: {1}")]
    Protocol(String, String),
    #[error("{0}: server error {1}: {2}")]
    Server(String, String, String),
}

impl ServerError {
    /// The text a client is shown: what went wrong, without the server's address (the log
    /// line has it).
    pub fn to_string_client(&self) -> String {
        match self {
            ServerError::Timeout(_) => "connecting to the database server timed out".into(),
            ServerError::Io(_, e) => format!("connecting to the database server: {e}"),
            ServerError::Tls(_, m) => format!("the database server: TLS: {m}"),
            ServerError::Auth(_, m) => {
                format!("the database server: authentication failed: {m}")
            }
            ServerError::Protocol(_, m) => format!("the database server: {m}"),
            ServerError::Server(_, code, m) => {
                format!("the database server: server error {code}: {m}")
            }
        }
    }
}

/// An open, authenticated server connection, idle between transactions.
pub struct ServerConn {
    pub io: PgStream,
    /// Bytes read from the server and not yet consumed.
    pub rbuf: BytesMut,
    /// ParameterStatus values as the server last reported them.
    pub params: HashMap<String, String>,
    /// The server's BackendKeyData, for cancel requests.
    pub key: Option<(i32, Vec<u8>)>,
    /// The same with the endpoint, shared with the client holding the connection.
    pub cancel: Option<Arc<CancelTarget>>,
    pub created: Instant,
    pub idle_since: Instant,
    /// The statements prepared on this connection (lent to the session core while leased).
    pub prepared: PreparedSet,
    /// Index of the backend within its database.
    pub backend: usize,
    pub endpoint: Endpoint,
    /// Set when the connection must not be reused (protocol desync, I/O error, ...).
    pub broken: bool,
}

impl ServerConn {
    /// Opens a connection and authenticates; returns when the server is ready for a query.
    pub async fn connect(
        endpoint: &Endpoint,
        ident: &Identity,
        backend: usize,
        timeout: Duration,
    ) -> Result<ServerConn, ServerError> {
        let label = endpoint.label();
        match tokio::time::timeout(timeout, Self::connect_inner(endpoint, ident, backend)).await {
            Ok(r) => r,
            Err(_) => Err(ServerError::Timeout(label)),
        }
    }

    async fn connect_inner(
        endpoint: &Endpoint,
        ident: &Identity,
        backend: usize,
    ) -> Result<ServerConn, ServerError> {
        let label = endpoint.label();
        let stream = match endpoint {
            Endpoint::Sqlite(db) => {
                let (ours, theirs) = tokio::io::duplex(64 * 1024);
                let db = Arc::clone(db);
                tokio::spawn(async move {
                    if let Err(e) = crate::sqlite::serve(theirs, db).await {
                        tracing::debug!(error = %e, "sqlite backend connection ended");
                    }
                });
                PgStream::Duplex(ours)
            }
            Endpoint::Postgres { host, port, .. } if host.starts_with('/') => {
                // A Unix-domain socket: no TLS, as with libpq.
                let path = unix_socket(host, *port).unwrap_or_default();
                PgStream::Unix(
                    super::stream::UnixConn::connect(&path)
                        .await
                        .map_err(|e| ServerError::Io(label.clone(), e))?,
                )
            }
            Endpoint::Postgres {
                host,
                port,
                tls,
                tls_config,
            } => {
                let mut tcp = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| ServerError::Io(label.clone(), e))?;
                let _ = tcp.set_nodelay(true);
                if *tls == TlsMode::Disable {
                    PgStream::Tcp(tcp)
                } else {
                    let mut req = BytesMut::new();
                    fe::ssl_request(&mut req);
                    tcp.write_all(&req)
                        .await
                        .map_err(|e| ServerError::Io(label.clone(), e))?;
                    let mut answer = [0u8; 1];
                    tcp.read_exact(&mut answer)
                        .await
                        .map_err(|e| ServerError::Io(label.clone(), e))?;
                    match (answer[0], tls) {
                        (b'S', _) => {
                            let cfg = tls_config.clone().ok_or_else(|| {
                                ServerError::Tls(label.clone(), "no TLS configuration".into())
                            })?;
                            let name = server_name(host)
                                .map_err(|e| ServerError::Tls(label.clone(), e))?;
                            let s = tokio_rustls::TlsConnector::from(cfg)
                                .connect(name, tcp)
                                .await
                                .map_err(|e| ServerError::Tls(label.clone(), e.to_string()))?;
                            PgStream::TlsClient(Box::new(s))
                        }
                        (b'N', TlsMode::Prefer) => PgStream::Tcp(tcp),
                        (b'N', _) => {
                            return Err(ServerError::Tls(
                                label,
                                "the server does not accept TLS and tls requires it".into(),
                            ));
                        }
                        (other, _) => {
                            return Err(ServerError::Protocol(
                                label,
                                format!("unexpected answer {other:#04x} to SSLRequest"),
                            ));
                        }
                    }
                }
            }
        };
        let now = Instant::now();
        let mut conn = ServerConn {
            io: stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            params: HashMap::new(),
            key: None,
            cancel: None,
            created: now,
            idle_since: now,
            prepared: PreparedSet::default(),
            backend,
            endpoint: endpoint.clone(),
            broken: false,
        };
        conn.startup(ident).await?;
        conn.cancel = conn.key.clone().map(|key| {
            Arc::new(CancelTarget {
                endpoint: conn.endpoint.clone(),
                key,
            })
        });
        Ok(conn)
    }

    async fn send(&mut self, buf: &[u8]) -> Result<(), ServerError> {
        self.io
            .write_all(buf)
            .await
            .map_err(|e| ServerError::Io(self.endpoint.label(), e))
    }

    /// Reads one whole message.
    pub async fn recv(&mut self) -> Result<BackendMessage, ServerError> {
        let dec = BackendDecoder::new();
        loop {
            match dec.decode(&mut self.rbuf) {
                Ok(Some(m)) => return Ok(m),
                Ok(None) => {}
                Err(e) => {
                    return Err(ServerError::Protocol(self.endpoint.label(), e.to_string()));
                }
            }
            let n = self
                .io
                .read_buf(&mut self.rbuf)
                .await
                .map_err(|e| ServerError::Io(self.endpoint.label(), e))?;
            if n == 0 {
                return Err(ServerError::Io(
                    self.endpoint.label(),
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "server closed the connection",
                    ),
                ));
            }
        }
    }

    fn server_error(&self, m: &BackendMessage) -> ServerError {
        let (code, msg) = match m.error_fields() {
            Ok(f) => (
                f.code().unwrap_or_default().into_owned(),
                f.message().unwrap_or_default().into_owned(),
            ),
            Err(e) => ("08P01".into(), e.to_string()),
        };
        ServerError::Server(self.endpoint.label(), code, msg)
    }

    async fn startup(&mut self, ident: &Identity) -> Result<(), ServerError> {
        let label = self.endpoint.label();
        let proto =
            |e: articdbm_pgwire::ProtocolError| ServerError::Protocol(label.clone(), e.to_string());
        let mut out = BytesMut::new();
        fe::startup_message(
            &mut out,
            [
                ("user", ident.user.as_str()),
                ("database", ident.database.as_str()),
                ("client_encoding", "UTF8"),
            ],
        )
        .map_err(proto)?;
        self.send(&out).await?;
        let password = || {
            ident.password.clone().ok_or_else(|| {
                ServerError::Auth(
                    label.clone(),
                    "the server asks for a password and server_password is not set".into(),
                )
            })
        };
        let mut scram: Option<ScramClient> = None;
        let mut scram_final = None;
        loop {
            let m = self.recv().await?;
            match m.tag() {
                b'R' => {
                    let auth = m.authentication().map_err(proto)?;
                    out.clear();
                    match auth {
                        Authentication::Ok => continue,
                        Authentication::CleartextPassword => {
                            fe::password_message(&mut out, password()?.as_bytes())
                                .map_err(proto)?;
                        }
                        Authentication::Md5Password { salt } => {
                            let h =
                                md5_password(ident.user.as_bytes(), password()?.as_bytes(), salt);
                            fe::password_message(&mut out, h.as_bytes()).map_err(proto)?;
                        }
                        Authentication::Sasl(mechs) => {
                            if !mechs.contains(&"SCRAM-SHA-256") {
                                return Err(ServerError::Auth(
                                    label,
                                    format!("no supported SASL mechanism in {mechs:?}"),
                                ));
                            }
                            let c = ScramClient::new(password()?.as_bytes())
                                .map_err(|e| ServerError::Auth(label.clone(), e.to_string()))?;
                            fe::sasl_initial_response(&mut out, c.mechanism(), c.client_first())
                                .map_err(proto)?;
                            scram = Some(c);
                        }
                        Authentication::SaslContinue(data) => {
                            let c = scram.take().ok_or_else(|| {
                                ServerError::Protocol(
                                    label.clone(),
                                    "unexpected SASL continue".into(),
                                )
                            })?;
                            let f = c
                                .handle_server_first(data)
                                .map_err(|e| ServerError::Auth(label.clone(), e.to_string()))?;
                            fe::sasl_response(&mut out, f.client_final()).map_err(proto)?;
                            scram_final = Some(f);
                        }
                        Authentication::SaslFinal(data) => {
                            let f = scram_final.take().ok_or_else(|| {
                                ServerError::Protocol(label.clone(), "unexpected SASL final".into())
                            })?;
                            f.verify_server_final(data)
                                .map_err(|e| ServerError::Auth(label.clone(), e.to_string()))?;
                            continue;
                        }
                        other => {
                            return Err(ServerError::Auth(
                                label,
                                format!("unsupported authentication method {}", other.code()),
                            ));
                        }
                    }
                    self.send(&out).await?;
                }
                b'S' => {
                    let (k, v) = m.parameter_status().map_err(proto)?;
                    self.params.insert(k.to_string(), v.to_string());
                }
                b'K' => {
                    let k = m.backend_key_data().map_err(proto)?;
                    self.key = Some((k.process_id, k.secret_key.to_vec()));
                }
                b'Z' => return Ok(()),
                b'E' => return Err(self.server_error(&m)),
                b'N' | b'v' => {}
                other => {
                    return Err(ServerError::Protocol(
                        label,
                        format!("unexpected message {:?} during startup", other as char),
                    ));
                }
            }
        }
    }

    /// Runs a simple query to completion, discarding its results; errors are returned.
    /// For health checks, resets and parameter syncing on an idle connection.
    pub async fn simple(&mut self, sql: &str) -> Result<(), ServerError> {
        let mut out = BytesMut::new();
        fe::query(&mut out, sql)
            .map_err(|e| ServerError::Protocol(self.endpoint.label(), e.to_string()))?;
        self.send(&out).await?;
        let mut err = None;
        loop {
            let m = self.recv().await?;
            match m.tag() {
                b'E' => err = Some(self.server_error(&m)),
                b'S' => {
                    if let Ok((k, v)) = m.parameter_status() {
                        self.params.insert(k.to_string(), v.to_string());
                    }
                }
                b'Z' => break,
                _ => {}
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs a simple query on an idle connection and returns the first column of its first
    /// row (`None`: no row, or NULL).
    pub async fn first_value(&mut self, sql: &str) -> Result<Option<String>, ServerError> {
        let mut out = BytesMut::new();
        fe::query(&mut out, sql)
            .map_err(|e| ServerError::Protocol(self.endpoint.label(), e.to_string()))?;
        self.send(&out).await?;
        let mut err = None;
        let mut value = None;
        loop {
            let m = self.recv().await?;
            match m.tag() {
                b'E' => err = Some(self.server_error(&m)),
                b'D' if value.is_none() => {
                    if let Ok(row) = m.data_row() {
                        value = row
                            .iter()
                            .next()
                            .flatten()
                            .map(|v| String::from_utf8_lossy(v).into_owned());
                    }
                }
                b'Z' => break,
                _ => {}
            }
        }
        match err {
            Some(e) => Err(e),
            None => Ok(value),
        }
    }

    /// Whether an idle connection is still usable: the server has not closed it or sent
    /// anything unasked (an idle server only speaks to say it is terminating the session).
    /// One non-blocking read attempt; no syscall beyond it.
    pub fn is_alive(&mut self) -> bool {
        use std::pin::Pin;
        use std::task::{Context, Poll, Waker};
        use tokio::io::{AsyncRead, ReadBuf};
        if !self.rbuf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        let mut rb = ReadBuf::new(&mut byte);
        match Pin::new(&mut self.io).poll_read(&mut cx, &mut rb) {
            Poll::Pending => true,
            Poll::Ready(Ok(())) => false, // EOF or unsolicited bytes
            Poll::Ready(Err(_)) => false,
        }
    }

    /// Sends a CancelRequest for this connection's current query, on a new connection.
    pub async fn cancel(endpoint: &Endpoint, key: &(i32, Vec<u8>)) -> std::io::Result<()> {
        let Endpoint::Postgres { host, port, .. } = endpoint else {
            return Ok(());
        };
        let mut s = match unix_socket(host, *port) {
            Some(path) => PgStream::Unix(super::stream::UnixConn::connect(&path).await?),
            None => PgStream::Tcp(TcpStream::connect((host.as_str(), *port)).await?),
        };
        let mut out = BytesMut::new();
        fe::cancel_request(&mut out, key.0, &key.1)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e.to_string()))?;
        s.write_all(&out).await?;
        // The server closes the connection once it has read the request.
        let mut sink = [0u8; 1];
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read(&mut sink)).await;
        Ok(())
    }

    pub async fn terminate(mut self: Box<Self>) {
        let mut out = BytesMut::new();
        fe::terminate(&mut out);
        let _ = self.io.write_all(&out).await;
        let _ = self.io.shutdown().await;
    }
}
