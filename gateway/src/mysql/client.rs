//! One MySQL client connection: the handshake (TLS, `caching_sha2_password` and
//! `mysql_native_password` against stored verifiers, auth switch), the on-connect policy,
//! then the command loop.
//!
//! # No permit, no bytes
//!
//! Every command that carries client SQL to a server goes through [`Judge::judge`] first: a
//! COM_QUERY statement by statement, a COM_STMT_PREPARE once (its [`Permit`] is kept with
//! the client's statement and taken by each execute). Commands the gateway does not know are
//! refused, never forwarded. Statement ids are the session's own: the server ids behind them
//! are per server connection, and a statement is prepared again wherever it is executed.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use articdbm_mywire::consts::{caps, command, status};
use articdbm_mywire::{
    self as wire, AuthSwitchRequest, ClientHello, Command, ErrPacket, Event, Expect, HandshakeV10,
    OkPacket, PacketDecoder, ResponseTracker,
};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::server::{MyConn, SERVER_CHARSET, ServerStmt};
use super::split;
use super::{KillSlot, MyLease, MyPool};
use crate::config::{PoolMode, User};
use crate::pg::Shared;
use crate::pg::stream::PgStream;
use crate::runtime::StatementContext;
use crate::runtime::bindings::{Connection, Protocol};
use crate::session::{EngineJudge, Judge, Judgment, Permit, Refusal, Route};

/// What the gateway offers MySQL clients. Classic EOF packets only (no DEPRECATE_EOF), so
/// server answers pass through unchanged. FOUND_ROWS is kept per client: clients that ask for
/// it are served by server connections opened with it ([`super::pool_for`]). LOCAL_FILES is
/// offered, but a `LOAD DATA LOCAL INFILE` runs only when a pack allows it, and the gateway
/// relays only the file its statement names.
const CLIENT_CAPS: u32 = caps::CLIENT_LONG_PASSWORD
    | caps::CLIENT_FOUND_ROWS
    | caps::CLIENT_LOCAL_FILES
    | caps::CLIENT_LONG_FLAG
    | caps::CLIENT_CONNECT_WITH_DB
    | caps::CLIENT_PROTOCOL_41
    | caps::CLIENT_TRANSACTIONS
    | caps::CLIENT_SECURE_CONNECTION
    | caps::CLIENT_MULTI_STATEMENTS
    | caps::CLIENT_MULTI_RESULTS
    | caps::CLIENT_PS_MULTI_RESULTS
    | caps::CLIENT_PLUGIN_AUTH
    | caps::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
    | caps::CLIENT_CONNECT_ATTRS;

/// The version clients are shown before any server was reached.
pub const SERVER_VERSION: &str = "8.0.36-ArticDBM";

/// The version clients are shown: the servers' own (clients choose collations and features by
/// it), with `-ArticDBM` appended; [`SERVER_VERSION`] until a server has been reached.
fn server_version(shared: &Shared) -> String {
    let dbs = shared.my_databases();
    let mut names: Vec<&String> = dbs.keys().collect();
    names.sort();
    names
        .into_iter()
        .find_map(|n| dbs[n].primary().state.version.lock().clone())
        .map(|v| format!("{v}-ArticDBM"))
        .unwrap_or_else(|| SERVER_VERSION.to_string())
}

/// Client output buffered above this is written before reading more of a server's answer.
const FLUSH_AT: usize = 64 * 1024;

const ER_ACCESS_DENIED: u16 = 1045;
const ER_DBACCESS_DENIED: u16 = 1044;
const ER_BAD_DB: u16 = 1049;
/// The policy's refusals: the "command denied" family (1142), SQLSTATE 42000.
pub const ER_POLICY_DENIED: u16 = 1142;
const ER_UNKNOWN_COM: u16 = 1047;
const ER_NOT_SUPPORTED: u16 = 1235;
const ER_UNKNOWN_STMT: u16 = 1243;
const ER_EMPTY_QUERY: u16 = 1065;
const ER_PARSE: u16 = 1064;
const ER_NO_SUCH_THREAD: u16 = 1094;
/// MySQL's `ER_CLIENT_LOCAL_FILES_DISABLED`.
const ER_LOCAL_FILES_DISABLED: u16 = 3948;
const ER_KILL_DENIED: u16 = 1095;
const ER_CON_COUNT: u16 = 1040;
const ER_NET_READ: u16 = 1158;

pub(super) async fn handle(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    shared.metrics.client_connections.inc();
    shared.metrics.active_connections.inc();
    // As for PostgreSQL clients: the handshake and each command run in futures of their own
    // on the heap and the session lives there too, so what an idle client's task keeps is
    // small; between commands, with no server connection leased, the buffers are given back.
    match Box::pin(handshake(&shared, PgStream::Tcp(tcp), peer)).await {
        Ok(Some(mut s)) => {
            if let Err(e) = s.run().await {
                tracing::debug!(error = %e, user = %s.judge.conn.user, "MySQL client session ended");
            }
            s.finish();
        }
        Ok(None) => {}
        Err(e) => tracing::debug!(error = %e, %peer, "MySQL handshake failed"),
    }
    shared.metrics.active_connections.dec();
}

/// A client's prepared statement.
struct ClientStmt {
    sql: Arc<str>,
    permit: Permit,
    num_params: u16,
    /// The parameter types of the last execute that bound them: sent with every execute, as
    /// the server statement behind this one may be shared or new.
    types: Option<Vec<u8>>,
    /// COM_STMT_SEND_LONG_DATA payloads, sent right before the next execute.
    long_data: Vec<Bytes>,
    long_data_bytes: usize,
}

struct Session {
    shared: Arc<Shared>,
    db_name: String,
    db: Arc<MyPool>,
    mode: PoolMode,
    user: User,
    client: PgStream,
    cbuf: BytesMut,
    decoder: PacketDecoder,
    out: BytesMut,
    /// Capabilities negotiated with the client.
    caps: u32,
    multi_statements: bool,
    judge: EngineJudge,
    lease: Option<MyLease>,
    /// The client's session state, set on every server connection it is given.
    autocommit: bool,
    names: Option<String>,
    /// Status flags the client was last shown.
    status: u16,
    stmts: HashMap<u32, ClientStmt>,
    next_stmt: u32,
    conn_id: u32,
    kill: KillSlot,
    max_message: usize,
    /// The handshake's nonce (COM_CHANGE_USER answers are computed with it), and the
    /// connection's facts for a new user's checks.
    nonce: [u8; 20],
    tls: bool,
    peer: SocketAddr,
    /// The session-variable `SET`s the client ran, replayed on a server connection whose
    /// state differs (transaction pooling), and their fingerprint (0: none).
    session_sets: Vec<Arc<str>>,
    state: u64,
    /// The file the running `LOAD DATA LOCAL INFILE` names: the one file the server may ask
    /// this client for, once.
    infile: Option<String>,
}

fn err_packet(out: &mut BytesMut, seq: u8, code: u16, state: &str, msg: impl Into<String>) -> u8 {
    let mut p = BytesMut::new();
    ErrPacket::new(code, state, msg).encode(&mut p);
    wire::write_packet(out, seq, &p)
}

fn ok_packet(out: &mut BytesMut, seq: u8, caps: u32, status: u16) -> u8 {
    let mut p = BytesMut::new();
    OkPacket {
        status,
        ..Default::default()
    }
    .encode(&mut p, caps, wire::response::OK_HEADER);
    wire::write_packet(out, seq, &p)
}

async fn read_packet(
    io: &mut PgStream,
    buf: &mut BytesMut,
    dec: &mut PacketDecoder,
) -> std::io::Result<Option<wire::Packet>> {
    loop {
        match dec.decode(buf) {
            Ok(Some(p)) => return Ok(Some(p)),
            Ok(None) => {}
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
        if buf.capacity() == buf.len() {
            // An idle session gave its buffer back: wait until the client sent something,
            // then read it into room enough for a usual command in one call.
            if buf.capacity() == 0 {
                std::future::poll_fn(|cx| io.poll_read_ready(cx)).await?;
            }
            buf.reserve(4096);
        }
        if io.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// The handshake. `Ok(None)`: the connection was refused (and told why).
async fn handshake(
    shared: &Arc<Shared>,
    mut stream: PgStream,
    peer: SocketAddr,
) -> std::io::Result<Option<Box<Session>>> {
    let config = shared.config.load_full();
    let conn_id = (shared.next_conn_id.fetch_add(1, Ordering::Relaxed) & 0xffff_ffff) as u32;
    let nonce = wire::auth::new_nonce();
    let tls_config = shared.tls.load_full();
    let mut offered = CLIENT_CAPS;
    if tls_config.is_some() {
        offered |= caps::CLIENT_SSL;
    }
    let mut out = BytesMut::new();
    let mut p = BytesMut::new();
    HandshakeV10 {
        server_version: server_version(shared),
        connection_id: conn_id,
        auth_data: nonce.to_vec(),
        capabilities: offered,
        charset: SERVER_CHARSET,
        status: status::SERVER_STATUS_AUTOCOMMIT,
        auth_plugin: "caching_sha2_password".into(),
        ..Default::default()
    }
    .encode(&mut p);
    wire::write_packet(&mut out, 0, &p);
    stream.write_all(&out).await?;
    out.clear();

    let mut buf = BytesMut::with_capacity(4096);
    let mut dec = PacketDecoder::new(config.server.max_startup_bytes.max(4096));
    let auth_timeout = std::time::Duration::from_secs(config.server.auth_timeout_secs);
    let Some(first) = read_auth(&mut stream, &mut buf, &mut dec, auth_timeout).await? else {
        return Ok(None);
    };
    let mut seq = first.next_seq;
    let hello = match wire::decode_client_hello(&first.payload) {
        Ok(h) => h,
        Err(e) => {
            err_packet(&mut out, seq, ER_NET_READ, "08S01", e.to_string_client());
            stream.write_all(&out).await?;
            return Ok(None);
        }
    };
    let mut tls = false;
    let resp = match hello {
        ClientHello::SslRequest { .. } => {
            let Some(cfg) = tls_config else {
                err_packet(
                    &mut out,
                    seq,
                    ER_NET_READ,
                    "08S01",
                    "TLS is not configured on this gateway",
                );
                stream.write_all(&out).await?;
                return Ok(None);
            };
            let PgStream::Tcp(tcp) = stream else {
                return Ok(None);
            };
            let tls_stream = match tokio_rustls::TlsAcceptor::from(cfg).accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::info!(%peer, error = %e, "MySQL client TLS handshake failed");
                    return Ok(None);
                }
            };
            stream = PgStream::TlsServer(Box::new(tls_stream));
            tls = true;
            let Some(next) = read_auth(&mut stream, &mut buf, &mut dec, auth_timeout).await? else {
                return Ok(None);
            };
            seq = next.next_seq;
            match wire::decode_client_hello(&next.payload) {
                Ok(ClientHello::Response(r)) => r,
                Ok(ClientHello::SslRequest { .. }) | Err(_) => {
                    err_packet(
                        &mut out,
                        seq,
                        ER_NET_READ,
                        "08S01",
                        "bad handshake after TLS",
                    );
                    stream.write_all(&out).await?;
                    return Ok(None);
                }
            }
        }
        ClientHello::Response(r) => r,
    };
    let client_caps = resp.capabilities & offered;
    let user_name = resp.user.clone();
    let host = peer.ip().to_canonical().to_string();
    let denied_text = format!(
        "Access denied for user '{}'@'{host}' (using password: {})",
        user_name,
        if resp.auth_response.is_empty() {
            "NO"
        } else {
            "YES"
        }
    );
    let user = config.users.get(&user_name).cloned();
    let verifiers = user.as_ref().and_then(|u| u.mysql.clone());
    let plugin = if client_caps & caps::CLIENT_PLUGIN_AUTH != 0 {
        resp.auth_plugin
            .clone()
            .unwrap_or_else(|| "mysql_native_password".into())
    } else {
        "mysql_native_password".into()
    };
    let Some((authed, next)) = authenticate(
        AuthIo {
            stream: &mut stream,
            buf: &mut buf,
            dec: &mut dec,
            out: &mut out,
            timeout: auth_timeout,
        },
        verifiers.as_ref(),
        plugin,
        resp.auth_response.clone(),
        &nonce,
        tls,
        seq,
    )
    .await?
    else {
        return Ok(None);
    };
    seq = next;
    let refuse = |out: &mut BytesMut, seq: u8, code: u16, state: &str, msg: String| {
        shared.metrics.auth_failures.inc();
        err_packet(out, seq, code, state, msg);
    };
    let Some(user) = user.filter(|_| authed) else {
        tracing::info!(user = %user_name, %peer, "MySQL authentication failed");
        out.clear();
        refuse(&mut out, seq, ER_ACCESS_DENIED, "28000", denied_text);
        stream.write_all(&out).await?;
        return Ok(None);
    };
    let db_name = match resp.database.clone().filter(|d| !d.is_empty()) {
        Some(d) => d,
        None => match default_database(shared, &user) {
            Some(d) => d,
            None => {
                refuse(&mut out, seq, ER_BAD_DB, "3D000",
                    "no database selected: name one when connecting (several databases are available)".into());
                stream.write_all(&out).await?;
                return Ok(None);
            }
        },
    };
    let found_rows = client_caps & caps::CLIENT_FOUND_ROWS != 0;
    let Some(db) = shared
        .my_database(&db_name)
        .map(|d| super::pool_for(&d, found_rows))
    else {
        refuse(
            &mut out,
            seq,
            ER_BAD_DB,
            "42000",
            format!("Unknown database '{db_name}'"),
        );
        stream.write_all(&out).await?;
        return Ok(None);
    };
    let tenant = config
        .databases
        .get(&db_name)
        .and_then(|d| d.tenant.clone())
        .unwrap_or_else(|| user.tenant.clone());
    let application_name = resp
        .attrs
        .iter()
        .find(|(k, _)| k == "program_name")
        .map(|(_, v)| v.clone());
    let conn = Connection {
        id: u64::from(conn_id),
        tenant,
        user: user.name.clone(),
        roles: user.roles.clone(),
        database: db_name.clone(),
        client_addr: host.clone(),
        client_port: peer.port(),
        tls,
        protocol: Protocol::Mysql,
        application_name,
        account_expires_at: user.expires_at_ms,
    };
    let usage = match shared.admit(&user, peer.ip(), &conn) {
        Ok(u) => u,
        Err(r) => {
            let (code, state, msg) = refusal_error(&r, &user_name, &host, &db_name);
            err_packet(&mut out, seq, code, state, msg);
            stream.write_all(&out).await?;
            return Ok(None);
        }
    };

    let mode = db.settings.mode;
    let mut lease = None;
    if mode == PoolMode::Session {
        match db.acquire(Route::Primary).await {
            Ok(l) => lease = Some(l),
            Err(e) => {
                tracing::warn!(database = %db_name, error = %e, "no server connection for a new MySQL client");
                err_packet(&mut out, seq, ER_CON_COUNT, "08004", e.to_string_client());
                stream.write_all(&out).await?;
                return Ok(None);
            }
        }
    }
    ok_packet(&mut out, seq, client_caps, status::SERVER_STATUS_AUTOCOMMIT);
    stream.write_all(&out).await?;
    out.clear();

    let names = charset_name(resp.charset)
        .filter(|n| *n != "utf8mb4")
        .map(str::to_string);
    let kill: KillSlot = Arc::new(Mutex::new(None));
    shared
        .my_sessions
        .lock()
        .insert(conn_id, (user.name.clone(), Arc::clone(&kill)));
    let judge = EngineJudge {
        engine: Arc::clone(&shared.engine),
        metrics: Arc::clone(&shared.metrics),
        audit: shared.audit.load_full(),
        conn,
        usage,
        database: db_name.clone(),
        protocol: Protocol::Mysql,
    };
    let max_message = config.server.max_message_bytes;
    Ok(Some(Box::new(Session {
        shared: Arc::clone(shared),
        db_name,
        db,
        mode,
        user,
        client: stream,
        cbuf: buf,
        decoder: PacketDecoder::new(max_message),
        out,
        caps: client_caps,
        multi_statements: client_caps & caps::CLIENT_MULTI_STATEMENTS != 0,
        judge,
        lease,
        autocommit: true,
        names,
        status: status::SERVER_STATUS_AUTOCOMMIT,
        stmts: HashMap::new(),
        next_stmt: 1,
        conn_id,
        kill,
        max_message,
        nonce,
        tls,
        peer,
        session_sets: Vec::new(),
        state: 0,
        infile: None,
    })))
}

/// The client socket, its buffers and the auth timeout, for an authentication exchange.
struct AuthIo<'a> {
    stream: &'a mut PgStream,
    buf: &'a mut BytesMut,
    dec: &'a mut PacketDecoder,
    out: &'a mut BytesMut,
    timeout: std::time::Duration,
}

impl AuthIo<'_> {
    /// Sends what `out` holds and reads the client's answer (`None`: it left or timed out).
    async fn exchange(&mut self) -> std::io::Result<Option<wire::Packet>> {
        self.stream.write_all(self.out).await?;
        self.out.clear();
        read_auth(self.stream, self.buf, self.dec, self.timeout).await
    }
}

/// Checks a client's `answer` for `plugin` against `verifiers` (`None`: an unknown user, who
/// goes through the same steps and fails at the end), switching plugins or falling back to
/// caching_sha2's full path as needed. `Ok(None)`: the client left or timed out;
/// `Ok(Some((authenticated, next sequence number)))`. Packets owed to the client (fast-auth
/// success) are left in `io.out`.
async fn authenticate(
    mut io: AuthIo<'_>,
    verifiers: Option<&crate::config::MysqlVerifiers>,
    mut plugin: String,
    mut answer: Vec<u8>,
    nonce: &[u8; 20],
    tls: bool,
    mut seq: u8,
) -> std::io::Result<Option<(bool, u8)>> {
    // Check the answer for the plugin the client used, switching once to a plugin the user
    // has a verifier for. Unknown users go through the same steps and fail at the end.
    let check =
        |plugin: &str, nonce: &[u8], answer: &[u8]| -> bool {
            let Some(v) = verifiers else { return false };
            match plugin {
                "caching_sha2_password" => v.sha2.as_ref().is_some_and(|s| {
                    !answer.is_empty() && wire::auth::sha2_check(s, nonce, answer)
                }),
                "mysql_native_password" => v.native.as_ref().is_some_and(|s| {
                    !answer.is_empty() && wire::auth::native_check(s, nonce, answer)
                }),
                _ => false,
            }
        };
    let has = |plugin: &str| match (verifiers, plugin) {
        (Some(v), "caching_sha2_password") => v.sha2.is_some(),
        (Some(v), "mysql_native_password") => v.native.is_some(),
        (None, "caching_sha2_password") => true,
        _ => false,
    };
    // The exchange, as MySQL 8 runs it: the plugin the client chose when the user has a
    // verifier for it and the client sent an answer; else one switch (to the same plugin with
    // the nonce, or to the other one). caching_sha2_password falls back from a fast-path
    // mismatch to the full path: the password in clear over TLS, or encrypted with the
    // gateway's RSA key.
    let mut switched = false;
    let authed = loop {
        if !has(&plugin) || answer.is_empty() {
            if switched {
                break false;
            }
            let target = if has(&plugin) {
                plugin.clone()
            } else if plugin == "caching_sha2_password" {
                "mysql_native_password".to_string()
            } else {
                "caching_sha2_password".to_string()
            };
            // `encode` ends the data with the NUL MySQL sends.
            let mut p = BytesMut::new();
            AuthSwitchRequest {
                plugin: target.clone(),
                data: nonce.to_vec(),
            }
            .encode(&mut p);
            wire::write_packet(io.out, seq, &p);
            let Some(a) = io.exchange().await? else {
                return Ok(None);
            };
            seq = a.next_seq;
            answer = a.payload.to_vec();
            plugin = target;
            switched = true;
            continue;
        }
        if check(&plugin, nonce, &answer) {
            if plugin == "caching_sha2_password" {
                let mut p = BytesMut::new();
                wire::encode_auth_more_data(&mut p, &[wire::auth::SHA2_FAST_AUTH_SUCCESS]);
                seq = wire::write_packet(io.out, seq, &p);
            }
            break true;
        }
        if plugin != "caching_sha2_password" {
            break false;
        }
        // Full authentication.
        let mut p = BytesMut::new();
        wire::encode_auth_more_data(&mut p, &[wire::auth::SHA2_PERFORM_FULL_AUTH]);
        wire::write_packet(io.out, seq, &p);
        let Some(a) = io.exchange().await? else {
            return Ok(None);
        };
        seq = a.next_seq;
        let password = if tls {
            wire::auth::cleartext_password(&a.payload).to_vec()
        } else {
            let key = rsa_key().await;
            let Some((private, pem)) = key.as_deref() else {
                break false;
            };
            let encrypted = if a.payload[..] == [wire::auth::SHA2_REQUEST_PUBLIC_KEY] {
                let mut p = BytesMut::new();
                wire::encode_auth_more_data(&mut p, pem.as_bytes());
                wire::write_packet(io.out, seq, &p);
                let Some(e) = io.exchange().await? else {
                    return Ok(None);
                };
                seq = e.next_seq;
                e.payload
            } else {
                a.payload
            };
            match wire::auth::rsa_decrypt_password(private, &encrypted, nonce) {
                Ok(p) => p,
                Err(_) => break false,
            }
        };
        let ok = verifiers
            .and_then(|v| v.sha2.as_ref())
            .is_some_and(|v| wire::auth::sha2_check_cleartext(v, &password));
        break ok;
    };
    Ok(Some((authed, seq)))
}

async fn read_auth(
    stream: &mut PgStream,
    buf: &mut BytesMut,
    dec: &mut PacketDecoder,
    timeout: std::time::Duration,
) -> std::io::Result<Option<wire::Packet>> {
    match tokio::time::timeout(timeout, read_packet(stream, buf, dec)).await {
        Ok(r) => r,
        Err(_) => Ok(None),
    }
}

/// The gateway's RSA key for `caching_sha2_password` full authentication without TLS, and
/// its public key as PEM: made once per process, off the async workers (see
/// [`prepare_rsa_key`]). `None` if it cannot be made.
pub async fn rsa_key() -> Option<Arc<(rsa::RsaPrivateKey, String)>> {
    static KEY: std::sync::OnceLock<Option<Arc<(rsa::RsaPrivateKey, String)>>> =
        std::sync::OnceLock::new();
    if let Some(k) = KEY.get() {
        return k.clone();
    }
    tokio::task::spawn_blocking(|| {
        KEY.get_or_init(|| {
            let key = wire::auth::generate_rsa_key(2048)
                .map_err(|e| tracing::error!(error = %e, "cannot make the MySQL RSA key"))
                .ok()?;
            let pem = wire::auth::public_key_pem(&key.to_public_key()).ok()?;
            Some(Arc::new((key, pem)))
        })
        .clone()
    })
    .await
    .ok()
    .flatten()
}

/// Starts making the RSA key in the background, so that the first client needing it does
/// not wait.
pub fn prepare_rsa_key() {
    tokio::spawn(async {
        rsa_key().await;
    });
}

/// A refusal after authentication as MySQL words it: error code, SQLSTATE, message.
fn refusal_error(r: &Refusal, user: &str, host: &str, db: &str) -> (u16, &'static str, String) {
    match r {
        Refusal::TlsRequired => (
            ER_ACCESS_DENIED,
            "28000",
            format!("user '{user}' may only connect over TLS"),
        ),
        Refusal::Network => (
            ER_ACCESS_DENIED,
            "28000",
            format!("user '{user}' may not connect from {host}"),
        ),
        Refusal::Database => (
            ER_DBACCESS_DENIED,
            "42000",
            format!("Access denied for user '{user}' to database '{db}'"),
        ),
        Refusal::Policy { rule, reason } => (
            ER_ACCESS_DENIED,
            "42000",
            format!("connection refused by policy rule {rule}: {reason}"),
        ),
    }
}

/// The database of a client that named none: the only MySQL database the user may use.
fn default_database(shared: &Shared, user: &User) -> Option<String> {
    let dbs = shared.my_databases();
    let mut usable = dbs.keys().filter(|d| user.may_use(d));
    let first = usable.next()?.clone();
    if usable.next().is_some() {
        return None;
    }
    Some(first)
}

/// The `SET NAMES` name of a handshake character set id (the common ones).
fn charset_name(id: u8) -> Option<&'static str> {
    Some(match id {
        8 | 48 | 49 | 94 => "latin1",
        33 | 83 | 192..=215 => "utf8mb3",
        45 | 46 | 224..=247 | 255 => "utf8mb4",
        63 => "binary",
        11 | 65 => "ascii",
        _ => return None,
    })
}

/// An error of the session that ends it.
type Fatal = std::io::Error;

impl Session {
    /// The client negotiated `CLIENT_FOUND_ROWS`.
    fn found_rows(&self) -> bool {
        self.caps & caps::CLIENT_FOUND_ROWS != 0
    }

    async fn run(&mut self) -> Result<(), Fatal> {
        loop {
            if self.lease.is_none() && self.cbuf.is_empty() && self.out.is_empty() {
                self.cbuf = BytesMut::new();
                self.out = BytesMut::new();
            }
            let Some(pkt) =
                read_packet(&mut self.client, &mut self.cbuf, &mut self.decoder).await?
            else {
                return Ok(());
            };
            let cmd = match wire::decode_command(&pkt.payload, self.caps) {
                Ok(c) => c,
                Err(e) => {
                    let ErrPacket {
                        code,
                        sql_state,
                        message,
                    } = ErrPacket::from_protocol_error(&e);
                    let state = String::from_utf8_lossy(&sql_state).to_string();
                    err_packet(&mut self.out, pkt.next_seq, code, &state, message);
                    self.flush().await?;
                    continue;
                }
            };
            let seq = pkt.next_seq;
            match cmd {
                Command::Quit => return Ok(()),
                Command::Ping => {
                    ok_packet(&mut self.out, seq, self.caps, self.status);
                }
                Command::InitDb(name) => Box::pin(self.use_database(seq, &name)).await?,
                Command::Query(sql) => Box::pin(self.query(seq, &sql)).await?,
                Command::StmtPrepare(sql) => Box::pin(self.prepare(seq, &sql)).await?,
                Command::StmtExecute { stmt_id, flags } => {
                    Box::pin(self.execute(seq, stmt_id, flags, pkt.payload)).await?
                }
                Command::StmtSendLongData { stmt_id, .. } => {
                    // No answer, as the server gives none; an error shows at the execute.
                    let limit = self.max_message;
                    if let Some(s) = self.stmts.get_mut(&stmt_id) {
                        s.long_data_bytes += pkt.payload.len();
                        if s.long_data_bytes <= limit {
                            s.long_data.push(pkt.payload);
                        }
                    }
                }
                Command::StmtClose(id) => {
                    self.stmts.remove(&id);
                }
                Command::StmtReset(id) => match self.stmts.get_mut(&id) {
                    Some(s) => {
                        s.long_data.clear();
                        s.long_data_bytes = 0;
                        ok_packet(&mut self.out, seq, self.caps, self.status);
                    }
                    None => {
                        err_packet(
                            &mut self.out,
                            seq,
                            ER_UNKNOWN_STMT,
                            "HY000",
                            format!(
                                "Unknown prepared statement handler ({id}) given to mysqld_stmt_reset"
                            ),
                        );
                    }
                },
                Command::SetOption(v) => {
                    self.multi_statements = v == 0;
                    let mut p = BytesMut::new();
                    wire::encode_eof(&mut p, 0, self.status);
                    wire::write_packet(&mut self.out, seq, &p);
                }
                Command::ResetConnection => {
                    Box::pin(self.reset()).await?;
                    ok_packet(&mut self.out, seq, self.caps, self.status);
                }
                Command::Statistics => {
                    let text = format!(
                        "ArticDBM gateway  Database: {}  Pool: {:?}",
                        self.db_name, self.mode
                    );
                    wire::write_packet(&mut self.out, seq, text.as_bytes());
                }
                Command::ProcessKill(id) => {
                    Box::pin(self.kill(seq, id)).await;
                }
                Command::ChangeUser(cu) => {
                    if !Box::pin(self.change_user(seq, cu)).await? {
                        self.flush().await?;
                        return Ok(());
                    }
                }
                other => {
                    let name = match other {
                        Command::FieldList { .. } => "COM_FIELD_LIST",
                        Command::StmtFetch { .. } => "COM_STMT_FETCH",
                        _ => wire::command::command_name(pkt.payload[0]),
                    };
                    err_packet(
                        &mut self.out,
                        seq,
                        ER_UNKNOWN_COM,
                        "08S01",
                        format!("{name} is not supported by the ArticDBM gateway"),
                    );
                }
            }
            self.maybe_release();
            self.flush().await?;
        }
    }

    async fn flush(&mut self) -> Result<(), Fatal> {
        if !self.out.is_empty() {
            self.client.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    fn context(&self) -> StatementContext {
        StatementContext {
            in_transaction: self.status & status::SERVER_STATUS_IN_TRANS != 0,
            prepared_name: None,
        }
    }

    /// Gives the server connection back between transactions (transaction pooling).
    fn maybe_release(&mut self) {
        if self.mode != PoolMode::Transaction {
            return;
        }
        if let Some(l) = self.lease.take_if(|l| !l.conn.in_transaction()) {
            *self.kill.lock() = None;
            self.db.release(l, true);
        }
    }

    /// The leased connection, acquiring one for `route` when none is held, with the client's
    /// session state (autocommit, character set) set on it.
    async fn conn(&mut self, route: Route) -> Result<&mut MyConn, ErrPacket> {
        if self.lease.is_none() {
            if self.db.is_closed() {
                match self.shared.my_database(&self.db_name) {
                    Some(db) => self.db = super::pool_for(&db, self.found_rows()),
                    None => {
                        return Err(ErrPacket::new(
                            ER_BAD_DB,
                            "42000",
                            format!("database '{}' no longer exists", self.db_name),
                        ));
                    }
                }
            }
            match self.db.acquire(route).await {
                Ok(l) => {
                    *self.kill.lock() = Some((Arc::clone(&l.pool), l.conn.thread_id));
                    self.lease = Some(l);
                }
                Err(e) => {
                    tracing::warn!(user = %self.judge.conn.user, database = %self.db_name, error = %e,
                        "no server connection for a MySQL client request");
                    return Err(ErrPacket::new(ER_CON_COUNT, "08004", e.to_string_client()));
                }
            }
        }
        let autocommit = self.autocommit;
        let names = self.names.clone();
        let state = self.state;
        let Some(lease) = self.lease.as_mut() else {
            return Err(ErrPacket::new(2013, "HY000", "no server connection"));
        };
        let conn = &mut *lease.conn;
        // Session variables: a connection left with another client's is reset, then this
        // client's SETs are replayed (clients of one application usually share one state,
        // and then nothing is sent).
        if conn.state != state {
            if conn.state != 0 {
                conn.reset()
                    .await
                    .map_err(|e| super::server::lost_error(&e))??;
            }
            for set in &self.session_sets {
                conn.apply(set).await?;
            }
            conn.state = state;
        }
        if conn.autocommit() != autocommit {
            conn.apply(if autocommit {
                "SET autocommit = 1"
            } else {
                "SET autocommit = 0"
            })
            .await?;
        }
        if conn.names != names {
            conn.apply(&format!(
                "SET NAMES {}",
                names.as_deref().unwrap_or("utf8mb4")
            ))
            .await?;
            conn.names = names;
        }
        Ok(conn)
    }

    /// A lost server connection: the lease is dropped (closed), the client told.
    fn lost(&mut self, seq: u8, e: &crate::pg::server::ServerError) -> u8 {
        tracing::warn!(user = %self.judge.conn.user, database = %self.db_name, error = %e,
            "MySQL server connection lost");
        let message = format!(
            "Lost connection to the database server: {}",
            e.to_string_client()
        );
        self.drop_server(seq, 2013, "HY000", message)
    }

    /// Closes the leased server connection (it is not reused) and tells the client why.
    fn drop_server(&mut self, seq: u8, code: u16, state: &str, message: String) -> u8 {
        if let Some(l) = self.lease.take() {
            *self.kill.lock() = None;
            self.db.release(l, false);
        }
        self.status &= !status::SERVER_STATUS_IN_TRANS;
        err_packet(&mut self.out, seq, code, state, message)
    }

    fn refuse(&mut self, seq: u8, rule: &str, reason: &str) -> u8 {
        err_packet(
            &mut self.out,
            seq,
            ER_POLICY_DENIED,
            "42000",
            format!("statement refused by policy rule {rule}: {reason}"),
        )
    }

    async fn query(&mut self, seq: u8, sql: &Bytes) -> Result<(), Fatal> {
        let Ok(text) = std::str::from_utf8(sql) else {
            err_packet(
                &mut self.out,
                seq,
                ER_PARSE,
                "42000",
                "the statement is not valid UTF-8; the gateway judges UTF-8 text only",
            );
            return Ok(());
        };
        let stmts = split::statements(text);
        if stmts.is_empty() {
            err_packet(
                &mut self.out,
                seq,
                ER_EMPTY_QUERY,
                "42000",
                "Query was empty",
            );
            return Ok(());
        }
        if stmts.len() > 1 && !self.multi_statements {
            err_packet(
                &mut self.out,
                seq,
                ER_PARSE,
                "42000",
                "several statements in one query, and multi-statements are off for this connection",
            );
            return Ok(());
        }
        let n = stmts.len();
        self.judge.count_queries(n as u64);
        let mut seq = seq;
        for (i, stmt) in stmts.into_iter().enumerate() {
            let last = i + 1 == n;
            match self.statement(seq, stmt, last).await? {
                Some(next) => seq = next,
                None => break,
            }
        }
        Ok(())
    }

    /// One statement of a COM_QUERY. `Some(next seq)` when the next statement may follow.
    async fn statement(&mut self, seq: u8, stmt: &str, last: bool) -> Result<Option<u8>, Fatal> {
        let permit = match self.judge.judge(stmt, &self.context()) {
            Judgment::Allowed(p) => p,
            Judgment::Denied(d) => {
                self.refuse(seq, &d.rule, &d.reason);
                return Ok(None);
            }
        };
        // LOAD DATA LOCAL INFILE: only when a pack allows it and the client enabled it; the
        // server may then ask for the file the statement names, and no other.
        self.infile = None;
        if let Some(file) = split::local_infile(stmt) {
            let refusal = if !permit.local_infile() {
                Some(format!(
                    "LOAD DATA LOCAL INFILE is off for tenant '{}': no pack allows it (local_infile = \"allow\")",
                    self.user.tenant
                ))
            } else if self.caps & caps::CLIENT_LOCAL_FILES == 0 {
                Some("LOAD DATA LOCAL INFILE: this client did not enable local files".to_string())
            } else if file.is_none() {
                Some("LOAD DATA LOCAL INFILE: the file name must be a string literal".to_string())
            } else {
                None
            };
            if let Some(message) = refusal {
                err_packet(
                    &mut self.out,
                    seq,
                    ER_LOCAL_FILES_DISABLED,
                    "42000",
                    message,
                );
                return Ok(None);
            }
            self.infile = file;
        }
        let words = split::first_words(stmt, 64);
        // A session-variable SET that succeeds is recorded (transaction pooling).
        let mut record = false;
        let w = |i: usize| words.get(i).map(String::as_str).unwrap_or("");
        match w(0) {
            "USE" => {
                let name = stmt.trim()[3..]
                    .trim()
                    .trim_matches('`')
                    .trim_end_matches(';')
                    .trim();
                let ok = self.switch_database(seq, name).await?;
                return Ok(if ok { self.more(seq, last) } else { None });
            }
            "KILL" => {
                let (query, id) = match (w(1), w(2)) {
                    ("QUERY", id) => (true, id),
                    ("CONNECTION", id) => (false, id),
                    (id, _) => (false, id),
                };
                match id.parse::<u32>() {
                    Ok(id) if query => {
                        let ok = self.kill(seq, id).await;
                        return Ok(if ok { self.more(seq, last) } else { None });
                    }
                    _ => {
                        err_packet(
                            &mut self.out,
                            seq,
                            ER_NOT_SUPPORTED,
                            "42000",
                            "only KILL QUERY <id> is supported through the gateway (connections end when their clients leave)",
                        );
                        return Ok(None);
                    }
                }
            }
            "SET" => {
                if let Some(v) = autocommit_value(&words) {
                    self.autocommit = v;
                } else if w(1) == "NAMES" || (w(1) == "CHARACTER" && w(2) == "SET") {
                    let Some(n) = names_value(stmt) else {
                        err_packet(
                            &mut self.out,
                            seq,
                            ER_PARSE,
                            "42000",
                            "SET NAMES: a character set name is expected",
                        );
                        return Ok(None);
                    };
                    self.names = (n != "utf8mb4").then_some(n);
                } else if self.mode == PoolMode::Transaction {
                    match set_kind(stmt, &words) {
                        SetKind::Session => record = true,
                        SetKind::Other => {}
                        SetKind::Refused(why) => {
                            err_packet(
                                &mut self.out,
                                seq,
                                ER_NOT_SUPPORTED,
                                "42000",
                                format!(
                                    "{why} is not supported under transaction pooling: the next \
                                     transaction may run on another server connection. Use \
                                     pool.mode = \"session\" for this database (session \
                                     variables are carried over)"
                                ),
                            );
                            return Ok(None);
                        }
                    }
                }
            }
            "LOCK" | "UNLOCK" | "PREPARE" | "EXECUTE" | "DEALLOCATE" | "HANDLER"
                if self.mode == PoolMode::Transaction =>
            {
                err_packet(
                    &mut self.out,
                    seq,
                    ER_NOT_SUPPORTED,
                    "42000",
                    format!(
                        "{} is not supported under transaction pooling (it keeps state on the server connection); \
                             use pool.mode = \"session\" for this database, or protocol-level prepared statements",
                        w(0)
                    ),
                );
                return Ok(None);
            }
            _ => {}
        }
        let route = permit.route();
        let conn = match self.conn(route).await {
            Ok(c) => c,
            Err(e) => {
                let mut p = BytesMut::new();
                e.encode(&mut p);
                wire::write_packet(&mut self.out, seq, &p);
                return Ok(None);
            }
        };
        let mut payload = BytesMut::with_capacity(stmt.len() + 1);
        payload.extend_from_slice(&[command::COM_QUERY]);
        payload.extend_from_slice(stmt.as_bytes());
        let mut framed = BytesMut::new();
        wire::write_packet(&mut framed, 0, &payload);
        if let Err(e) = conn.send(&framed).await {
            self.lost(seq, &e);
            return Ok(None);
        }
        let done = self.relay(seq, Expect::Query, !last).await?;
        self.infile = None;
        if record && done.is_some() {
            self.session_sets.push(Arc::from(stmt));
            self.state = fingerprint(&self.session_sets);
            if let Some(l) = self.lease.as_mut() {
                l.conn.state = self.state;
            }
        }
        Ok(done)
    }

    /// `Some(seq)` when another statement follows: the OK just sent gets MORE_RESULTS.
    fn more(&mut self, seq: u8, last: bool) -> Option<u8> {
        if last {
            ok_packet(&mut self.out, seq, self.caps, self.status);
            return None;
        }
        Some(ok_packet(
            &mut self.out,
            seq,
            self.caps,
            self.status | status::SERVER_MORE_RESULTS_EXISTS,
        ))
    }

    /// Relays the answer of the command just sent, renumbering packets from `seq`. With
    /// `more`, the final OK or EOF says another result follows. `Some(next seq)` when the
    /// answer succeeded.
    async fn relay(
        &mut self,
        mut seq: u8,
        expect: Expect,
        more: bool,
    ) -> Result<Option<u8>, Fatal> {
        let caps = self.caps;
        let mut tracker = ResponseTracker::new(
            expect,
            self.lease.as_ref().map(|l| l.conn.caps).unwrap_or(caps),
        );
        loop {
            let Some(lease) = self.lease.as_mut() else {
                return Ok(None);
            };
            let pkt = match lease.conn.recv().await {
                Ok(p) => {
                    crate::spin::event();
                    p
                }
                Err(e) => {
                    self.lost(seq, &e);
                    return Ok(None);
                }
            };
            let ev = match tracker.feed(&pkt.payload) {
                Ok(ev) => ev,
                Err(e) => {
                    lease.conn.broken = true;
                    let e = crate::pg::server::ServerError::Protocol(
                        lease.conn.label.clone(),
                        e.to_string(),
                    );
                    self.lost(seq, &e);
                    return Ok(None);
                }
            };
            match ev {
                Event::Done { status: st, error } => {
                    if let Some(s) = st {
                        lease.conn.status = s;
                        self.status = s & !status::SERVER_MORE_RESULTS_EXISTS;
                    }
                    if error.is_none() && more && st.is_some() {
                        let mut p = pkt.payload.to_vec();
                        let _ =
                            wire::patch_status(&mut p, caps, status::SERVER_MORE_RESULTS_EXISTS, 0);
                        seq = wire::write_packet(&mut self.out, seq, &p);
                    } else {
                        seq = wire::write_packet(&mut self.out, seq, &pkt.payload);
                    }
                    return Ok(error.is_none().then_some(seq));
                }
                Event::LocalInfile => {
                    let requested = &pkt.payload[1..];
                    let expected = self.infile.take();
                    if expected.as_deref().map(str::as_bytes) != Some(requested) {
                        // Not the file the client's statement names (or no LOCAL statement at
                        // all): a server asking for a client's files is not trusted.
                        lease.conn.broken = true;
                        let message = format!(
                            "LOAD DATA LOCAL INFILE: the server asked for the file {:?}, which the \
                             statement does not name; nothing was sent and the server connection \
                             was closed",
                            String::from_utf8_lossy(requested)
                        );
                        tracing::warn!(user = %self.judge.conn.user, database = %self.db_name,
                            server = %lease.conn.label, "{message}");
                        self.drop_server(seq, ER_LOCAL_FILES_DISABLED, "42000", message);
                        return Ok(None);
                    }
                    wire::write_packet(&mut self.out, seq, &pkt.payload);
                    match self.send_local_file(pkt.next_seq).await? {
                        Some(next) => seq = next,
                        None => return Ok(None),
                    }
                    tracker.after_local_infile();
                }
                _ => {
                    seq = wire::write_packet(&mut self.out, seq, &pkt.payload);
                    if tracker.done() {
                        return Ok(Some(seq));
                    }
                    if self.out.len() >= FLUSH_AT {
                        self.flush().await?;
                    }
                }
            }
        }
    }

    /// Relays the file the client sends after a LOCAL INFILE request (already queued for it),
    /// packet by packet, to the server, numbering from `server_seq`, up to the empty packet that
    /// ends it. `Some(seq)`: the client's next sequence number (the server's answer follows);
    /// `None`: the client or the server went away (the server connection is not reused).
    async fn send_local_file(&mut self, mut server_seq: u8) -> Result<Option<u8>, Fatal> {
        self.flush().await?;
        let mut framed = BytesMut::new();
        loop {
            let pkt = read_packet(&mut self.client, &mut self.cbuf, &mut self.decoder).await;
            let Some(lease) = self.lease.as_mut() else {
                return Ok(None);
            };
            let pkt = match pkt {
                Ok(Some(p)) => p,
                Ok(None) | Err(_) => {
                    // Mid-transfer the server waits for more: this connection is done.
                    lease.conn.broken = true;
                    return Ok(None);
                }
            };
            framed.clear();
            server_seq = wire::write_packet(&mut framed, server_seq, &pkt.payload);
            if let Err(e) = lease.conn.send(&framed).await {
                let seq = pkt.next_seq;
                self.lost(seq, &e);
                return Ok(None);
            }
            if pkt.payload.is_empty() {
                return Ok(Some(pkt.next_seq));
            }
        }
    }

    async fn use_database(&mut self, seq: u8, name: &str) -> Result<(), Fatal> {
        if self.switch_database(seq, name).await? {
            ok_packet(&mut self.out, seq, self.caps, self.status);
        }
        Ok(())
    }

    /// Switches the session to database `name` (checked against the user's databases).
    /// `false`: refused, and the client told.
    async fn switch_database(&mut self, seq: u8, name: &str) -> Result<bool, Fatal> {
        if name == self.db_name {
            return Ok(true);
        }
        let user = &self.user.name;
        if !self.user.may_use(name) {
            err_packet(
                &mut self.out,
                seq,
                ER_DBACCESS_DENIED,
                "42000",
                format!("Access denied for user '{user}' to database '{name}'"),
            );
            return Ok(false);
        }
        let found_rows = self.found_rows();
        let Some(db) = self
            .shared
            .my_database(name)
            .map(|d| super::pool_for(&d, found_rows))
        else {
            err_packet(
                &mut self.out,
                seq,
                ER_BAD_DB,
                "42000",
                format!("Unknown database '{name}'"),
            );
            return Ok(false);
        };
        if self.lease.as_ref().is_some_and(|l| l.conn.in_transaction()) {
            err_packet(
                &mut self.out,
                seq,
                ER_NOT_SUPPORTED,
                "25000",
                "the database cannot change inside a transaction: commit or roll back first",
            );
            return Ok(false);
        }
        self.stmts.clear();
        self.judge.conn.database = name.to_string();
        Ok(self.enter(seq, db, name).await)
    }

    /// Moves the session to database `name` (pool `db`): the held connection goes back (its
    /// state is known: not in a transaction, or just reset), and session pooling leases one
    /// of the new pool. `false`: no connection, and the client told.
    async fn enter(&mut self, seq: u8, db: Arc<MyPool>, name: &str) -> bool {
        if let Some(l) = self.lease.take() {
            *self.kill.lock() = None;
            let clean = !l.conn.in_transaction() && !l.conn.broken;
            self.db.release(l, clean);
        }
        self.db = db;
        self.mode = self.db.settings.mode;
        self.db_name = name.to_string();
        self.judge.database = name.to_string();
        if self.mode == PoolMode::Session {
            match self.db.acquire(Route::Primary).await {
                Ok(l) => self.lease = Some(l),
                Err(e) => {
                    err_packet(
                        &mut self.out,
                        seq,
                        ER_CON_COUNT,
                        "08004",
                        e.to_string_client(),
                    );
                    return false;
                }
            }
        }
        true
    }

    /// KILL QUERY for a session of the same user. `true`: done (an OK is owed).
    async fn kill(&mut self, seq: u8, id: u32) -> bool {
        let target = self.shared.my_sessions.lock().get(&id).cloned();
        let Some((owner, slot)) = target else {
            err_packet(
                &mut self.out,
                seq,
                ER_NO_SUCH_THREAD,
                "HY000",
                format!("Unknown thread id: {id}"),
            );
            return false;
        };
        if owner != self.user.name {
            err_packet(
                &mut self.out,
                seq,
                ER_KILL_DENIED,
                "HY000",
                format!("You are not owner of thread {id}"),
            );
            return false;
        }
        let running = slot.lock().clone();
        if let Some((backend, thread)) = running
            && let Err(e) =
                super::server::kill_query(&backend.endpoint, &self.db.connector.ident, thread).await
        {
            tracing::warn!(error = %e, "forwarding KILL QUERY failed");
        }
        true
    }

    async fn prepare(&mut self, seq: u8, sql: &Bytes) -> Result<(), Fatal> {
        let Ok(text) = std::str::from_utf8(sql) else {
            err_packet(
                &mut self.out,
                seq,
                ER_PARSE,
                "42000",
                "the statement is not valid UTF-8; the gateway judges UTF-8 text only",
            );
            return Ok(());
        };
        if split::statements(text).len() > 1 {
            err_packet(
                &mut self.out,
                seq,
                ER_PARSE,
                "42000",
                "a prepared statement holds one statement",
            );
            return Ok(());
        }
        let permit = match self.judge.judge(text, &self.context()) {
            Judgment::Allowed(p) => p,
            Judgment::Denied(d) => {
                self.refuse(seq, &d.rule, &d.reason);
                return Ok(());
            }
        };
        let sql: Arc<str> = Arc::from(text);
        let stmt = match self.server_stmt(seq, &sql, permit.route()).await {
            Some(s) => s,
            None => return Ok(()),
        };
        let id = self.next_stmt;
        self.next_stmt = self.next_stmt.wrapping_add(1).max(1);
        let mut seq = seq;
        for (i, p) in stmt.answer.iter().enumerate() {
            if i == 0 {
                let mut first = p.to_vec();
                let _ = wire::set_prepare_ok_stmt_id(&mut first, id);
                seq = wire::write_packet(&mut self.out, seq, &first);
            } else {
                seq = wire::write_packet(&mut self.out, seq, p);
            }
        }
        self.stmts.insert(
            id,
            ClientStmt {
                sql,
                permit,
                num_params: stmt.num_params,
                types: None,
                long_data: Vec::new(),
                long_data_bytes: 0,
            },
        );
        Ok(())
    }

    /// The statement `sql` prepared on the leased connection (acquired for `route`), preparing
    /// it there if needed. `None`: an error was written for the client.
    async fn server_stmt(
        &mut self,
        seq: u8,
        sql: &Arc<str>,
        route: Route,
    ) -> Option<Arc<ServerStmt>> {
        let max = self.db.settings.max_prepared_statements;
        let conn = match self.conn(route).await {
            Ok(c) => c,
            Err(e) => {
                let mut p = BytesMut::new();
                e.encode(&mut p);
                wire::write_packet(&mut self.out, seq, &p);
                return None;
            }
        };
        if let Some(s) = conn.stmts.get(sql) {
            return Some(Arc::clone(s));
        }
        let mut payload = Vec::with_capacity(sql.len() + 1);
        payload.push(command::COM_STMT_PREPARE);
        payload.extend_from_slice(sql.as_bytes());
        match conn.run(&payload, Expect::Prepare).await {
            Ok(Ok(answer)) => {
                let ok = answer
                    .first()
                    .and_then(|p| wire::PrepareOk::decode(p).ok())?;
                if conn.stmts.len() >= max {
                    // Make room: close one (no answer to read).
                    if let Some(k) = conn.stmts.keys().next().cloned()
                        && let Some(old) = conn.stmts.remove(&k)
                    {
                        let mut close = vec![command::COM_STMT_CLOSE];
                        close.extend_from_slice(&old.id.to_le_bytes());
                        let mut framed = BytesMut::new();
                        wire::write_packet(&mut framed, 0, &close);
                        let _ = conn.send(&framed).await;
                    }
                }
                let s = Arc::new(ServerStmt {
                    id: ok.stmt_id,
                    num_params: ok.num_params,
                    num_columns: ok.num_columns,
                    answer,
                });
                conn.stmts.insert(Arc::clone(sql), Arc::clone(&s));
                Some(s)
            }
            Ok(Err(e)) => {
                let mut p = BytesMut::new();
                e.encode(&mut p);
                wire::write_packet(&mut self.out, seq, &p);
                None
            }
            Err(e) => {
                self.lost(seq, &e);
                None
            }
        }
    }

    async fn execute(&mut self, seq: u8, id: u32, flags: u8, payload: Bytes) -> Result<(), Fatal> {
        let Some(cs) = self.stmts.get_mut(&id) else {
            err_packet(
                &mut self.out,
                seq,
                ER_UNKNOWN_STMT,
                "HY000",
                format!("Unknown prepared statement handler ({id}) given to mysqld_stmt_execute"),
            );
            return Ok(());
        };
        if flags != 0 && self.mode == PoolMode::Transaction {
            err_packet(
                &mut self.out,
                seq,
                ER_NOT_SUPPORTED,
                "42000",
                "cursors are not supported under transaction pooling; use pool.mode = \"session\" for this database",
            );
            return Ok(());
        }
        let layout = match wire::execute_layout(&payload, cs.num_params) {
            Ok(l) => l,
            Err(e) => {
                err_packet(
                    &mut self.out,
                    seq,
                    ER_NET_READ,
                    "08S01",
                    e.to_string_client(),
                );
                return Ok(());
            }
        };
        if let Some(t) = &layout.types
            && cs.types.as_deref() != Some(&payload[t.clone()])
        {
            cs.types = Some(payload[t.clone()].to_vec());
        }
        // Types always travel with the execute: the server statement may be shared or new.
        let with_types = if !layout.new_params_bound && cs.num_params > 0 {
            match &cs.types {
                Some(t) => match wire::execute_with_types(&payload, cs.num_params, t) {
                    Ok(b) => Some(b),
                    Err(e) => {
                        err_packet(
                            &mut self.out,
                            seq,
                            ER_NET_READ,
                            "08S01",
                            e.to_string_client(),
                        );
                        return Ok(());
                    }
                },
                None => None,
            }
        } else {
            None
        };
        let too_long = cs.long_data_bytes > self.max_message;
        let long_data = std::mem::take(&mut cs.long_data);
        cs.long_data_bytes = 0;
        let sql = Arc::clone(&cs.sql);
        let route = cs.permit.route();
        if too_long {
            err_packet(
                &mut self.out,
                seq,
                1153,
                "08S01",
                "parameter data sent with COM_STMT_SEND_LONG_DATA exceeds server.max_message_bytes",
            );
            return Ok(());
        }
        self.judge.count_queries(1);
        let Some(ss) = self.server_stmt(seq, &sql, route).await else {
            return Ok(());
        };
        let mut framed = BytesMut::new();
        for d in &long_data {
            let mark = wire::begin_packet(&mut framed);
            framed.extend_from_slice(d);
            let _ = wire::set_stmt_id(&mut framed[mark + 4..], ss.id);
            wire::finish_packet(&mut framed, mark, 0);
        }
        // The execute, copied once into the server buffer and its statement id set there.
        let mark = wire::begin_packet(&mut framed);
        framed.extend_from_slice(with_types.as_deref().unwrap_or(&payload));
        let _ = wire::set_stmt_id(&mut framed[mark + 4..], ss.id);
        wire::finish_packet(&mut framed, mark, 0);
        let Some(lease) = self.lease.as_mut() else {
            return Ok(());
        };
        if let Err(e) = lease.conn.send(&framed).await {
            self.lost(seq, &e);
            return Ok(());
        }
        self.relay(seq, Expect::Execute, false).await?;
        Ok(())
    }

    /// COM_CHANGE_USER: the new user authenticates (answers computed with the handshake's
    /// nonce, or after a switch), passes the same checks as at connect (TLS, networks,
    /// database, on-connect policy), and the session starts afresh as that user, as after
    /// COM_RESET_CONNECTION. `false`: refused, the client told, and the connection ends (as
    /// MySQL ends it).
    async fn change_user(&mut self, seq: u8, cu: wire::ChangeUser) -> Result<bool, Fatal> {
        let config = self.shared.config.load_full();
        let user = config.users.get(&cu.user).cloned();
        let verifiers = user.as_ref().and_then(|u| u.mysql.clone());
        let plugin = cu
            .auth_plugin
            .clone()
            .unwrap_or_else(|| "mysql_native_password".into());
        let timeout = std::time::Duration::from_secs(config.server.auth_timeout_secs);
        let Some((authed, seq)) = authenticate(
            AuthIo {
                stream: &mut self.client,
                buf: &mut self.cbuf,
                dec: &mut self.decoder,
                out: &mut self.out,
                timeout,
            },
            verifiers.as_ref(),
            plugin,
            cu.auth_response.clone(),
            &self.nonce,
            self.tls,
            seq,
        )
        .await?
        else {
            return Ok(false);
        };
        let host = self.peer.ip().to_canonical().to_string();
        let refuse = |s: &mut Self, code: u16, state: &str, msg: String| {
            s.shared.metrics.auth_failures.inc();
            err_packet(&mut s.out, seq, code, state, msg);
            Ok(false)
        };
        let Some(user) = user.filter(|_| authed) else {
            tracing::info!(user = %cu.user, peer = %self.peer, "MySQL change of user refused");
            self.out.clear();
            return refuse(
                self,
                ER_ACCESS_DENIED,
                "28000",
                format!(
                    "Access denied for user '{}'@'{host}' (using password: YES)",
                    cu.user
                ),
            );
        };
        let db_name = cu
            .database
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| self.db_name.clone());
        let found_rows = self.found_rows();
        let Some(db) = self
            .shared
            .my_database(&db_name)
            .map(|d| super::pool_for(&d, found_rows))
        else {
            return refuse(
                self,
                ER_BAD_DB,
                "42000",
                format!("Unknown database '{db_name}'"),
            );
        };
        let tenant = config
            .databases
            .get(&db_name)
            .and_then(|d| d.tenant.clone())
            .unwrap_or_else(|| user.tenant.clone());
        let conn = Connection {
            id: u64::from(self.conn_id),
            tenant,
            user: user.name.clone(),
            roles: user.roles.clone(),
            database: db_name.clone(),
            client_addr: host,
            client_port: self.peer.port(),
            tls: self.tls,
            protocol: Protocol::Mysql,
            application_name: self.judge.conn.application_name.clone(),
            account_expires_at: user.expires_at_ms,
        };
        let usage = match self.shared.admit(&user, self.peer.ip(), &conn) {
            Ok(u) => u,
            Err(r) => {
                let (code, state, msg) = refusal_error(&r, &user.name, &conn.client_addr, &db_name);
                err_packet(&mut self.out, seq, code, state, msg);
                return Ok(false);
            }
        };
        // A fresh session as the new user.
        self.reset().await?;
        self.names = cu
            .charset
            .and_then(|c| u8::try_from(c).ok())
            .and_then(charset_name)
            .filter(|n| *n != "utf8mb4")
            .map(str::to_string);
        self.shared
            .my_sessions
            .lock()
            .insert(self.conn_id, (user.name.clone(), Arc::clone(&self.kill)));
        self.judge.conn = conn;
        self.judge.usage = usage;
        self.user = user;
        if !self.enter(seq, db, &db_name).await {
            return Ok(false);
        }
        ok_packet(&mut self.out, seq, self.caps, self.status);
        Ok(true)
    }

    /// COM_RESET_CONNECTION: the client's statements and session state go; a held server
    /// connection is reset on the server too (its transaction rolled back).
    async fn reset(&mut self) -> Result<(), Fatal> {
        self.stmts.clear();
        self.session_sets.clear();
        self.state = 0;
        self.autocommit = true;
        self.names = None;
        if let Some(mut l) = self.lease.take() {
            match l.conn.reset().await {
                Ok(Ok(())) => self.lease = Some(l),
                Ok(Err(_)) | Err(_) => {
                    l.conn.broken = true;
                    *self.kill.lock() = None;
                    self.db.release(l, false);
                }
            }
        }
        self.status = status::SERVER_STATUS_AUTOCOMMIT;
        Ok(())
    }

    fn finish(&mut self) {
        self.shared.my_sessions.lock().remove(&self.conn_id);
        if let Some(mut l) = self.lease.take() {
            // Session pooling: the next client gets a clean connection.
            let clean = !l.conn.in_transaction() && !l.conn.broken;
            if clean && self.mode == PoolMode::Session {
                let db = Arc::clone(&self.db);
                tokio::spawn(async move {
                    let ok = matches!(l.conn.reset().await, Ok(Ok(())));
                    db.release(l, ok);
                });
            } else {
                self.db.release(l, clean);
            }
        }
    }
}

/// What a `SET` (other than autocommit and names) does to the session, for transaction pooling.
enum SetKind {
    /// Session system variables: recorded and replayed on other server connections.
    Session,
    /// Not session state (GLOBAL, PASSWORD, ROLE, `SET STATEMENT ... FOR`): sent as it is.
    Other,
    /// State that cannot follow the client (user variables, `SET TRANSACTION` for the next
    /// transaction only): refused, naming what.
    Refused(&'static str),
}

fn set_kind(stmt: &str, words: &[String]) -> SetKind {
    let w1 = words.get(1).map(String::as_str).unwrap_or("");
    match w1 {
        "GLOBAL" | "PASSWORD" | "ROLE" | "DEFAULT" | "STATEMENT" => return SetKind::Other,
        "TRANSACTION" => return SetKind::Refused("SET TRANSACTION (for the next transaction)"),
        _ => {}
    }
    if w1.starts_with("@@GLOBAL") {
        return SetKind::Other;
    }
    // A user variable anywhere outside strings: `@name` not preceded by another `@`.
    let mut quote = None;
    let b = stmt.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        match (quote, c) {
            (None, b'\'' | b'"' | b'`') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, b'@') if b.get(i + 1) != Some(&b'@') && (i == 0 || b[i - 1] != b'@') => {
                return SetKind::Refused("SET of user variables");
            }
            _ => {}
        }
    }
    SetKind::Session
}

/// A fingerprint of a list of SET statements (0 is kept for "none").
fn fingerprint(sets: &[Arc<str>]) -> u64 {
    use std::hash::{Hash, Hasher};
    if sets.is_empty() {
        return 0;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    sets.hash(&mut h);
    h.finish().max(1)
}

/// `SET autocommit = 0|1|ON|OFF|TRUE|FALSE`, also written `@@autocommit`,
/// `@@session.autocommit`, `SESSION autocommit` or `LOCAL autocommit`.
fn autocommit_value(words: &[String]) -> Option<bool> {
    let eq = words.iter().position(|w| w == "=")?;
    let name: String = words[1..eq]
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" ");
    let name = name.trim_start_matches("@@");
    let name = ["SESSION .", "LOCAL .", "SESSION ", "LOCAL "]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
        .trim();
    if name != "AUTOCOMMIT" || words.len() != eq + 2 {
        return None;
    }
    match words[eq + 1].as_str() {
        "1" | "ON" | "TRUE" => Some(true),
        "0" | "OFF" | "FALSE" => Some(false),
        _ => None,
    }
}

/// The character set of `SET NAMES x [COLLATE y]` or `SET CHARACTER SET x`, lower-cased,
/// without quotes; `DEFAULT` is utf8mb4. `None`: not a plain name.
fn names_value(stmt: &str) -> Option<String> {
    let upper = stmt.to_ascii_uppercase();
    let at = upper
        .find("NAMES")
        .map(|i| i + 5)
        .or_else(|| upper.find("CHARACTER SET").map(|i| i + 13))?;
    let rest = stmt[at..].trim_start();
    let name: String = rest
        .trim_start_matches(['\'', '"', '`'])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    if name.is_empty() {
        return None;
    }
    let name = name.to_ascii_lowercase();
    Some(if name == "default" {
        "utf8mb4".into()
    } else {
        name
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_kinds() {
        let k = |s: &str| match set_kind(s, &split::first_words(s, 64)) {
            SetKind::Session => "session",
            SetKind::Other => "other",
            SetKind::Refused(_) => "refused",
        };
        assert_eq!(k("SET sql_mode = ''"), "session");
        assert_eq!(
            k("set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES')"),
            "session"
        );
        assert_eq!(
            k("SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            "session"
        );
        assert_eq!(
            k("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            "refused"
        );
        assert_eq!(k("SET @x = 1"), "refused");
        assert_eq!(k("SET time_zone = '@home'"), "session");
        assert_eq!(k("SET GLOBAL max_connections = 10"), "other");
        assert_eq!(k("SET @@global.max_connections = 10"), "other");
        assert_eq!(k("SET @@session.wait_timeout = 10"), "session");
    }

    #[test]
    fn set_names_values() {
        assert_eq!(names_value("SET NAMES utf8mb4").as_deref(), Some("utf8mb4"));
        assert_eq!(
            names_value("SET NAMES 'latin1' COLLATE 'latin1_swedish_ci'").as_deref(),
            Some("latin1")
        );
        assert_eq!(
            names_value("set character set `UTF8`").as_deref(),
            Some("utf8")
        );
        assert_eq!(names_value("SET NAMES DEFAULT").as_deref(), Some("utf8mb4"));
        assert_eq!(names_value("SET NAMES ''"), None);
    }

    #[test]
    fn autocommit_forms() {
        let w = |s: &str| split::first_words(s, 6);
        assert_eq!(autocommit_value(&w("SET autocommit=0")), Some(false));
        assert_eq!(autocommit_value(&w("set AUTOCOMMIT = 1")), Some(true));
        assert_eq!(autocommit_value(&w("SET @@autocommit = OFF")), Some(false));
        assert_eq!(
            autocommit_value(&w("SET SESSION autocommit = ON")),
            Some(true)
        );
        assert_eq!(autocommit_value(&w("SET sql_mode = ''")), None);
        assert_eq!(autocommit_value(&w("SET autocommit = @x")), None);
        assert_eq!(
            autocommit_value(&w("SET @@session.autocommit = OFF")),
            Some(false)
        );
        assert_eq!(autocommit_value(&w("SET LOCAL autocommit=1")), Some(true));
        assert_eq!(
            autocommit_value(&w("SET autocommit = 1, sql_mode = ''")),
            None
        );
    }

    #[test]
    fn charsets() {
        assert_eq!(charset_name(45), Some("utf8mb4"));
        assert_eq!(charset_name(255), Some("utf8mb4"));
        assert_eq!(charset_name(8), Some("latin1"));
        assert_eq!(charset_name(33), Some("utf8mb3"));
        assert_eq!(charset_name(200 - 150), None);
    }
}
