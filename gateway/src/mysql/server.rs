//! MySQL / MariaDB server connections: connect, TLS, authenticate with whatever the server
//! asks (`mysql_native_password`, MariaDB's `client_ed25519`, `caching_sha2_password` fast
//! path, and its full path over TLS or with the server's RSA key), send commands and read
//! answers packet by packet.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_mywire::consts::{caps, command, status};
use articdbm_mywire::{
    self as wire, AuthSwitchRequest, ErrPacket, Expect, HandshakeResponse, HandshakeV10, Packet,
    PacketDecoder, ResponseTracker,
};
use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::config::TlsMode;
use crate::pg::server::ServerError;
use crate::pg::stream::{PgStream, server_name};
use crate::pool::{BackendPool, Connector, Link};

/// Capabilities the gateway asks of a server. No multi-statements (the gateway sends one
/// judged statement at a time), no DEPRECATE_EOF (clients are offered classic EOF packets, so
/// answers pass through unchanged), no session tracking or query attributes. LOCAL_FILES, so
/// that a `LOAD DATA LOCAL INFILE` a pack allows can run; the session relays only the file the
/// statement names and treats any other request as a broken server.
pub const SERVER_CAPS: u32 = caps::CLIENT_LOCAL_FILES
    | caps::CLIENT_LONG_PASSWORD
    | caps::CLIENT_LONG_FLAG
    | caps::CLIENT_CONNECT_WITH_DB
    | caps::CLIENT_PROTOCOL_41
    | caps::CLIENT_TRANSACTIONS
    | caps::CLIENT_SECURE_CONNECTION
    | caps::CLIENT_MULTI_RESULTS
    | caps::CLIENT_PS_MULTI_RESULTS
    | caps::CLIENT_PLUGIN_AUTH
    | caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA;

/// What the gateway asks of a server for `ident`'s connections.
fn server_caps(ident: &MyIdentity) -> u32 {
    if ident.found_rows {
        SERVER_CAPS | caps::CLIENT_FOUND_ROWS
    } else {
        SERVER_CAPS
    }
}

/// The character set of every server connection: utf8mb4_general_ci, known to MySQL and
/// MariaDB alike. A client asking for another one gets `SET NAMES` on its leases.
pub const SERVER_CHARSET: u8 = 45;

/// Where a MySQL server connection goes.
#[derive(Clone)]
pub enum MyEndpoint {
    Tcp {
        host: String,
        port: u16,
        tls: TlsMode,
        tls_config: Option<Arc<rustls::ClientConfig>>,
    },
    /// The embedded SQLite database, served over the MySQL protocol in-process.
    Sqlite(Arc<crate::sqlite::SqliteDb>),
}

impl MyEndpoint {
    pub fn label(&self) -> String {
        match self {
            MyEndpoint::Tcp { host, .. } if host.starts_with('/') => host.clone(),
            MyEndpoint::Tcp { host, port, .. } => format!("{host}:{port}"),
            MyEndpoint::Sqlite(_) => "sqlite".into(),
        }
    }
}

/// Who the gateway is on the servers.
#[derive(Clone, Debug)]
pub struct MyIdentity {
    pub user: String,
    pub password: Option<String>,
    pub database: String,
    /// Ask for `CLIENT_FOUND_ROWS`: affected rows of an UPDATE are the rows matched, not
    /// the rows changed. Fixed per connection at the handshake, so clients that ask for it
    /// get connections of their own ([`crate::mysql::pool_for`]).
    pub found_rows: bool,
}

/// A statement prepared on one server connection, shared by every client whose statement
/// has the same text (each client's own statement carries its own permit).
#[derive(Debug, Clone)]
pub struct ServerStmt {
    pub id: u32,
    pub num_params: u16,
    pub num_columns: u16,
    /// The server's answer to the prepare (PrepareOk, parameter and column definitions, EOFs),
    /// replayed with the client's id to a client preparing the same text.
    pub answer: Vec<bytes::Bytes>,
}

/// An open, authenticated server connection.
pub struct MyConn {
    pub io: PgStream,
    pub rbuf: BytesMut,
    pub decoder: PacketDecoder,
    /// Capabilities in force on this connection.
    pub caps: u32,
    /// The server's thread id (for KILL).
    pub thread_id: u32,
    /// Status flags of the server's last OK or EOF.
    pub status: u16,
    /// `SET NAMES` value in force, when not the default.
    pub names: Option<String>,
    /// Fingerprint of the session-variable `SET`s applied since the connection was opened
    /// or reset (0: none), compared with a client's before its statements run.
    pub state: u64,
    /// Statements prepared here, by text.
    pub stmts: HashMap<Arc<str>, Arc<ServerStmt>>,
    pub created: Instant,
    pub idle_since: Instant,
    pub label: String,
    pub broken: bool,
    /// The server's version string, from its greeting.
    pub version: String,
    /// A Galera node: healthy only while synced (see [`MyConn::galera_synced`]).
    pub galera: Option<crate::config::Galera>,
}

impl MyConn {
    pub async fn connect(
        endpoint: &MyEndpoint,
        ident: &MyIdentity,
        max_message: usize,
        timeout: Duration,
    ) -> Result<MyConn, ServerError> {
        let label = endpoint.label();
        match tokio::time::timeout(timeout, Self::connect_inner(endpoint, ident, max_message)).await
        {
            Ok(r) => r,
            Err(_) => Err(ServerError::Timeout(label)),
        }
    }

    async fn connect_inner(
        endpoint: &MyEndpoint,
        ident: &MyIdentity,
        max_message: usize,
    ) -> Result<MyConn, ServerError> {
        let label = endpoint.label();
        let (io, host, tls_mode, tls_config) = match endpoint {
            MyEndpoint::Sqlite(db) => {
                let (ours, theirs) = tokio::io::duplex(64 * 1024);
                let db = Arc::clone(db);
                tokio::spawn(async move {
                    if let Err(e) = crate::sqlite::mysql::serve(theirs, db).await {
                        tracing::debug!(error = %e, "sqlite backend connection ended");
                    }
                });
                (PgStream::Duplex(ours), "", TlsMode::Disable, None)
            }
            // A host that is a path: the server's Unix-domain socket (no TLS).
            MyEndpoint::Tcp { host, .. } if host.starts_with('/') => (
                PgStream::Unix(
                    crate::pg::stream::UnixConn::connect(host)
                        .await
                        .map_err(|e| ServerError::Io(label.clone(), e))?,
                ),
                host.as_str(),
                TlsMode::Disable,
                None,
            ),
            MyEndpoint::Tcp {
                host,
                port,
                tls,
                tls_config,
            } => {
                let tcp = TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| ServerError::Io(label.clone(), e))?;
                let _ = tcp.set_nodelay(true);
                (PgStream::Tcp(tcp), host.as_str(), *tls, tls_config.clone())
            }
        };
        let now = Instant::now();
        let mut conn = MyConn {
            io,
            rbuf: BytesMut::with_capacity(16 * 1024),
            decoder: PacketDecoder::new(max_message),
            caps: server_caps(ident),
            thread_id: 0,
            status: status::SERVER_STATUS_AUTOCOMMIT,
            names: None,
            state: 0,
            stmts: HashMap::new(),
            created: now,
            idle_since: now,
            label: label.clone(),
            broken: false,
            version: String::new(),
            galera: None,
        };
        let greeting = conn.recv().await?;
        if greeting.payload.first() == Some(&wire::response::ERR_HEADER) {
            let e = ErrPacket::decode(&greeting.payload)
                .map(|e| e.message)
                .unwrap_or_else(|_| "refused".into());
            return Err(ServerError::Protocol(
                label,
                format!("the server refused: {e}"),
            ));
        }
        let hello = HandshakeV10::decode(&greeting.payload)
            .map_err(|e| ServerError::Protocol(label.clone(), e.to_string()))?;
        conn.thread_id = hello.connection_id;
        conn.version = hello.server_version.clone();
        let mut want = server_caps(ident);
        let mut seq = greeting.next_seq;
        let server_tls = hello.capabilities & caps::CLIENT_SSL != 0;
        let mut tls = false;
        if tls_mode != TlsMode::Disable {
            if server_tls {
                want |= caps::CLIENT_SSL;
                let mut out = BytesMut::new();
                let mut p = BytesMut::new();
                wire::encode_ssl_request(
                    &mut p,
                    want & hello.capabilities,
                    1 << 24,
                    SERVER_CHARSET,
                );
                seq = wire::write_packet(&mut out, seq, &p);
                conn.send(&out).await?;
                let cfg = tls_config.clone().ok_or_else(|| {
                    ServerError::Tls(label.clone(), "no TLS configuration".into())
                })?;
                let name = server_name(host).map_err(|e| ServerError::Tls(label.clone(), e))?;
                let PgStream::Tcp(tcp) =
                    std::mem::replace(&mut conn.io, PgStream::Duplex(tokio::io::duplex(1).0))
                else {
                    return Err(ServerError::Tls(label, "not a TCP connection".into()));
                };
                let s = tokio_rustls::TlsConnector::from(cfg)
                    .connect(name, tcp)
                    .await
                    .map_err(|e| ServerError::Tls(label.clone(), e.to_string()))?;
                conn.io = PgStream::TlsClient(Box::new(s));
                tls = true;
            } else if tls_mode != TlsMode::Prefer {
                return Err(ServerError::Tls(
                    label,
                    "the server does not accept TLS and tls requires it".into(),
                ));
            }
        }
        conn.caps = want & hello.capabilities;
        let password = ident.password.as_deref().unwrap_or("").as_bytes();
        let mut plugin = hello.auth_plugin.clone();
        let mut nonce = hello.auth_data.clone();
        let auth_response = scramble(&plugin, password, &nonce);
        let resp = HandshakeResponse {
            capabilities: conn.caps,
            max_packet: 1 << 24,
            charset: SERVER_CHARSET,
            user: ident.user.clone(),
            auth_response,
            database: Some(ident.database.clone()),
            auth_plugin: Some(plugin.clone()),
            attrs: Vec::new(),
        };
        let mut p = BytesMut::new();
        resp.encode(&mut p);
        let mut out = BytesMut::new();
        wire::write_packet(&mut out, seq, &p);
        conn.send(&out).await?;
        // The exchange: OK ends it; ERR fails; a switch or more data continue it.
        loop {
            let pk = conn.recv().await?;
            let mut out = BytesMut::new();
            match pk.payload.first().copied() {
                Some(wire::response::OK_HEADER) => {
                    if let Ok(ok) = wire::OkPacket::decode(&pk.payload, conn.caps) {
                        conn.status = ok.status;
                    }
                    return Ok(conn);
                }
                Some(wire::response::ERR_HEADER) => {
                    let msg = ErrPacket::decode(&pk.payload)
                        .map(|e| e.message)
                        .unwrap_or_else(|_| "refused".into());
                    return Err(ServerError::Auth(label, msg));
                }
                Some(wire::response::EOF_HEADER) => {
                    let sw = AuthSwitchRequest::decode(&pk.payload)
                        .map_err(|e| ServerError::Protocol(label.clone(), e.to_string()))?;
                    plugin = sw.plugin;
                    nonce = sw.data;
                    if plugin == "client_ed25519" {
                        // 32 random bytes sent without a terminator: a last byte of 0 is one
                        // of them, so take them as sent (after 0xfe, the name and its NUL).
                        nonce = ed25519_nonce(&pk.payload, &plugin)
                            .map_err(|e| ServerError::Protocol(label.clone(), e))?;
                    } else if nonce.last() == Some(&0) {
                        nonce.pop();
                    }
                    if !matches!(
                        plugin.as_str(),
                        "mysql_native_password"
                            | "caching_sha2_password"
                            | "mysql_clear_password"
                            | "client_ed25519"
                    ) {
                        return Err(ServerError::Auth(
                            label,
                            format!(
                                "the server asks for authentication plugin {plugin}, which the gateway does not speak"
                            ),
                        ));
                    }
                    if plugin == "mysql_clear_password" && !tls {
                        return Err(ServerError::Auth(
                            label,
                            "the server asks for the password in clear without TLS".into(),
                        ));
                    }
                    let r = scramble(&plugin, password, &nonce);
                    wire::write_packet(&mut out, pk.next_seq, &r);
                }
                Some(wire::handshake::AUTH_MORE_DATA_HEADER)
                    if plugin == "caching_sha2_password" =>
                {
                    let data = wire::decode_auth_more_data(&pk.payload)
                        .map_err(|e| ServerError::Protocol(label.clone(), e.to_string()))?;
                    match data.first().copied() {
                        Some(wire::auth::SHA2_FAST_AUTH_SUCCESS) => continue,
                        Some(wire::auth::SHA2_PERFORM_FULL_AUTH) if tls => {
                            let mut pw = password.to_vec();
                            pw.push(0);
                            wire::write_packet(&mut out, pk.next_seq, &pw);
                        }
                        Some(wire::auth::SHA2_PERFORM_FULL_AUTH) => {
                            // No TLS: ask for the server's public key.
                            wire::write_packet(
                                &mut out,
                                pk.next_seq,
                                &[wire::auth::SHA2_REQUEST_PUBLIC_KEY],
                            );
                        }
                        _ => {
                            // The public key (PEM) we asked for.
                            let pem = String::from_utf8_lossy(data).to_string();
                            let enc = wire::auth::rsa_encrypt_password(&pem, password, &nonce)
                                .map_err(|e| ServerError::Auth(label.clone(), e.to_string()))?;
                            wire::write_packet(&mut out, pk.next_seq, &enc);
                        }
                    }
                }
                other => {
                    return Err(ServerError::Protocol(
                        label,
                        format!("unexpected packet {other:?} during authentication"),
                    ));
                }
            }
            conn.send(&out).await?;
        }
    }

    pub async fn send(&mut self, buf: &[u8]) -> Result<(), ServerError> {
        if let Err(e) = self.io.write_all(buf).await {
            self.broken = true;
            return Err(ServerError::Io(self.label.clone(), e));
        }
        Ok(())
    }

    /// Reads one logical packet.
    pub async fn recv(&mut self) -> Result<Packet, ServerError> {
        loop {
            match self.decoder.decode(&mut self.rbuf) {
                Ok(Some(p)) => return Ok(p),
                Ok(None) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(ServerError::Protocol(self.label.clone(), e.to_string()));
                }
            }
            match self.io.read_buf(&mut self.rbuf).await {
                Ok(0) => {
                    self.broken = true;
                    return Err(ServerError::Io(
                        self.label.clone(),
                        std::io::Error::new(
                            std::io::ErrorKind::UnexpectedEof,
                            "the server closed the connection",
                        ),
                    ));
                }
                Ok(_) => {}
                Err(e) => {
                    self.broken = true;
                    return Err(ServerError::Io(self.label.clone(), e));
                }
            }
        }
    }

    /// Sends one command and reads its whole answer, discarding it. The final status is
    /// recorded; a server error is returned as `Ok(Err)`.
    pub async fn run(
        &mut self,
        payload: &[u8],
        expect: Expect,
    ) -> Result<Result<Vec<bytes::Bytes>, ErrPacket>, ServerError> {
        let mut out = BytesMut::new();
        wire::write_packet(&mut out, 0, payload);
        self.send(&out).await?;
        let mut t = ResponseTracker::new(expect, self.caps);
        let mut answer = Vec::new();
        loop {
            let p = self.recv().await?;
            let ev = t.feed(&p.payload).map_err(|e| {
                self.broken = true;
                ServerError::Protocol(self.label.clone(), e.to_string())
            })?;
            answer.push(p.payload);
            match ev {
                wire::Event::Done { status, error } => {
                    if let Some(s) = status {
                        self.status = s;
                    }
                    return Ok(match error {
                        Some(e) => Err(e),
                        None => Ok(answer),
                    });
                }
                wire::Event::LocalInfile => {
                    // Never asked for (no CLIENT_LOCAL_FILES); a server that does is broken.
                    self.broken = true;
                    return Err(ServerError::Protocol(
                        self.label.clone(),
                        "the server asked for a local file".into(),
                    ));
                }
                _ if t.done() => return Ok(Ok(answer)),
                _ => {}
            }
        }
    }

    /// Runs one SQL statement; its rows as text (`None` for NULL).
    pub async fn rows(&mut self, sql: &str) -> Result<Vec<Vec<Option<String>>>, ServerError> {
        let mut p = Vec::with_capacity(sql.len() + 1);
        p.push(command::COM_QUERY);
        p.extend_from_slice(sql.as_bytes());
        let answer = match self.run(&p, Expect::Query).await? {
            Ok(a) => a,
            Err(e) => {
                return Err(ServerError::Server(
                    self.label.clone(),
                    e.code.to_string(),
                    e.message,
                ));
            }
        };
        let bad = |label: &str| ServerError::Protocol(label.to_string(), "malformed row".into());
        let Some(first) = answer.first() else {
            return Ok(Vec::new());
        };
        let mut b = &first[..];
        let columns = wire::lenenc::read_lenenc_int(&mut b).map_err(|_| bad(&self.label))? as usize;
        let mut out = Vec::new();
        // Column definitions, their EOF, then rows up to the final EOF.
        for pkt in answer.iter().skip(1 + columns + 1) {
            if wire::is_eof_packet(pkt) {
                break;
            }
            let mut b = &pkt[..];
            let mut row = Vec::with_capacity(columns);
            for _ in 0..columns {
                if b.first() == Some(&0xfb) {
                    b = &b[1..];
                    row.push(None);
                } else {
                    let v =
                        wire::lenenc::read_lenenc_bytes(&mut b).map_err(|_| bad(&self.label))?;
                    row.push(Some(String::from_utf8_lossy(v).to_string()));
                }
            }
            out.push(row);
        }
        Ok(out)
    }

    /// Whether this Galera node may serve: `wsrep_ready = ON` and `wsrep_local_state` 4
    /// (Synced), or 2 (Donor/Desynced) when allowed. `Err` when it cannot be read.
    pub async fn galera_synced(&mut self, allow_desynced: bool) -> Result<bool, ServerError> {
        let rows = self
            .rows("SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state')")
            .await?;
        let get = |name: &str| {
            rows.iter()
                .find(|r| r.first().and_then(|v| v.as_deref()) == Some(name))
                .and_then(|r| r.get(1).cloned().flatten())
        };
        let ready = get("wsrep_ready").is_some_and(|v| v.eq_ignore_ascii_case("ON"));
        let state = get("wsrep_local_state").and_then(|v| v.parse::<u32>().ok());
        Ok(ready && (state == Some(4) || (allow_desynced && state == Some(2))))
    }

    /// Runs one SQL statement on this connection, discarding any rows.
    pub async fn query(&mut self, sql: &str) -> Result<Result<(), ErrPacket>, ServerError> {
        let mut p = Vec::with_capacity(sql.len() + 1);
        p.push(command::COM_QUERY);
        p.extend_from_slice(sql.as_bytes());
        Ok(self.run(&p, Expect::Query).await?.map(|_| ()))
    }

    /// COM_RESET_CONNECTION: the server forgets the session (transaction rolled back,
    /// variables and prepared statements gone), and so does this record of it.
    pub async fn reset(&mut self) -> Result<Result<(), ErrPacket>, ServerError> {
        let r = self
            .run(&[command::COM_RESET_CONNECTION], Expect::Simple)
            .await?;
        if r.is_ok() {
            self.stmts.clear();
            self.names = None;
            self.state = 0;
            self.status = status::SERVER_STATUS_AUTOCOMMIT;
        }
        Ok(r.map(|_| ()))
    }

    /// Runs a session statement for a client (state set on its lease); a lost connection
    /// becomes the client's error 2013.
    pub async fn apply(&mut self, sql: &str) -> Result<(), ErrPacket> {
        match self.query(sql).await {
            Ok(r) => r,
            Err(e) => Err(lost_error(&e)),
        }
    }

    /// Whether the connection is inside a transaction, by the server's last status.
    pub fn in_transaction(&self) -> bool {
        self.status & status::SERVER_STATUS_IN_TRANS != 0
    }

    /// Whether autocommit is on, by the server's last status.
    pub fn autocommit(&self) -> bool {
        self.status & status::SERVER_STATUS_AUTOCOMMIT != 0
    }

    /// A non-blocking check that an idle connection was not closed by the server.
    pub fn is_alive(&mut self) -> bool {
        use std::pin::Pin;
        use std::task::{Context, Waker};
        use tokio::io::{AsyncRead, ReadBuf};
        if !self.rbuf.is_empty() {
            return false;
        }
        let mut cx = Context::from_waker(Waker::noop());
        let mut byte = [0u8; 1];
        let mut rb = ReadBuf::new(&mut byte);
        // Pending: nothing to read, the server has not closed it.
        Pin::new(&mut self.io)
            .poll_read(&mut cx, &mut rb)
            .is_pending()
    }

    pub async fn terminate(mut self: Box<Self>) {
        let mut out = BytesMut::new();
        wire::write_packet(&mut out, 0, &[command::COM_QUIT]);
        let _ = self.io.write_all(&out).await;
        let _ = self.io.shutdown().await;
    }
}

/// The client's error for a server connection lost under it.
pub fn lost_error(e: &ServerError) -> ErrPacket {
    ErrPacket::new(
        2013,
        "HY000",
        format!(
            "lost connection to the database server: {}",
            e.to_string_client()
        ),
    )
}

/// The nonce of a `client_ed25519` auth switch request (`0xfe`, the plugin name, NUL, then
/// the nonce): 32 bytes exactly, a last 0 included.
fn ed25519_nonce(payload: &[u8], plugin: &str) -> Result<Vec<u8>, String> {
    let nonce = payload.get(plugin.len() + 2..).unwrap_or_default();
    if nonce.len() != wire::auth::ED25519_NONCE_LEN {
        return Err(format!(
            "client_ed25519: a nonce of {} bytes, not 32",
            nonce.len()
        ));
    }
    Ok(nonce.to_vec())
}

/// The auth response for `plugin`.
fn scramble(plugin: &str, password: &[u8], nonce: &[u8]) -> Vec<u8> {
    match plugin {
        "caching_sha2_password" => wire::auth::sha2_scramble(password, nonce),
        "client_ed25519" => wire::auth::ed25519_sign(password, nonce),
        "mysql_clear_password" => {
            let mut p = password.to_vec();
            p.push(0);
            p
        }
        _ => wire::auth::native_scramble(password, nonce),
    }
}

/// What is kept per MySQL backend.
#[derive(Default)]
pub struct MyBackendState {
    /// The version string of the last connection opened (shown to clients, who pick
    /// collations and features by it: MariaDB's `5.5.5-10.x-MariaDB` or MySQL's `8.x`).
    pub version: parking_lot::Mutex<Option<String>>,
}

/// Opens MySQL server connections as `ident`.
#[derive(Clone)]
pub struct MyConnector {
    pub ident: MyIdentity,
    /// The largest server answer packet accepted.
    pub max_message: usize,
    /// The database's servers are Galera nodes.
    pub galera: Option<crate::config::Galera>,
}

impl Connector for MyConnector {
    type Endpoint = MyEndpoint;
    type Conn = MyConn;
    type Error = ServerError;
    type BackendState = MyBackendState;

    fn label(endpoint: &MyEndpoint) -> String {
        endpoint.label()
    }

    async fn connect(
        &self,
        backend: &BackendPool<Self>,
        timeout: Duration,
    ) -> Result<MyConn, ServerError> {
        let mut c =
            MyConn::connect(&backend.endpoint, &self.ident, self.max_message, timeout).await?;
        *backend.state.version.lock() = Some(c.version.clone());
        if let Some(g) = self.galera {
            c.galera = Some(g);
            if !c.galera_synced(g.allow_desynced).await? {
                Box::new(c).terminate().await;
                return Err(ServerError::Protocol(
                    backend.endpoint.label(),
                    "the Galera node is not synced (wsrep_ready / wsrep_local_state)".into(),
                ));
            }
        }
        Ok(c)
    }
}

impl Link for MyConn {
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
        MyConn::is_alive(self)
    }
    async fn ping(&mut self) -> bool {
        match self.galera {
            Some(g) => matches!(self.galera_synced(g.allow_desynced).await, Ok(true)),
            None => matches!(
                self.run(&[command::COM_PING], Expect::Simple).await,
                Ok(Ok(_))
            ),
        }
    }
    fn terminate(self: Box<Self>) -> impl Future<Output = ()> + Send + 'static {
        MyConn::terminate(self)
    }
}

/// Sends a KILL QUERY for `thread_id` on a connection of its own.
pub async fn kill_query(
    endpoint: &MyEndpoint,
    ident: &MyIdentity,
    thread_id: u32,
) -> Result<(), ServerError> {
    if matches!(endpoint, MyEndpoint::Sqlite(_)) {
        return Ok(()); // statements on the embedded database are not interrupted
    }
    let mut c = MyConn::connect(endpoint, ident, 1 << 20, Duration::from_secs(5)).await?;
    let r = c.query(&format!("KILL QUERY {thread_id}")).await;
    Box::new(c).terminate().await;
    match r? {
        Ok(()) => Ok(()),
        Err(e) => Err(ServerError::Server(
            endpoint.label(),
            e.code.to_string(),
            e.message,
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ed25519_nonce_keeps_a_last_zero_byte() {
        let mut nonce = [9u8; 32];
        nonce[31] = 0;
        let mut p = vec![0xfe];
        p.extend_from_slice(b"client_ed25519\0");
        p.extend_from_slice(&nonce);
        // The generic decoder trims a last 0 (a terminator for the other plugins).
        let sw = AuthSwitchRequest::decode(&p).unwrap();
        assert_eq!(sw.data.len(), 31);
        assert_eq!(ed25519_nonce(&p, &sw.plugin).unwrap(), nonce.to_vec());
        assert!(ed25519_nonce(&p[..p.len() - 1], &sw.plugin).is_err());
    }
}
