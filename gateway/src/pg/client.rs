//! One client connection: startup (TLS, protocol negotiation, SCRAM-SHA-256), the on-connect
//! policy, then the proxy loop that judges every statement, leases server connections from the
//! pool (per transaction or per session), maps prepared statements onto server connections,
//! and keeps the client's view of the protocol exactly what a PostgreSQL server would show.
//!
//! # The response queue
//!
//! Every message forwarded to the server that the server answers pushes an [`Expect`] entry;
//! server messages complete entries in order. This is what lets the gateway
//! - answer some messages itself, in the right place of the response stream ([`Expect::Synth`]:
//!   a Parse of a statement the server connection already has, a Close of a client statement,
//!   a statement refused by policy outside a transaction);
//! - inject messages the client did not send and swallow their answers (a Parse of the
//!   client's statement on a server connection that has not seen it yet);
//! - replace the error of a refused statement: a denied statement is sent to the server as a
//!   call of a function that does not exist (named with a per-process random marker), so the
//!   server fails exactly where it would have failed had it refused the statement itself —
//!   the rest of the pipeline is skipped, the transaction block is aborted — and the gateway
//!   rewrites that one error into the policy's 42501.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use articdbm_pgwire::auth::scram::{ScramServer, ScramVerifier};
use articdbm_pgwire::backend::encode::{self as be, PgError, Severity};
use articdbm_pgwire::frontend::encode as fe;
use articdbm_pgwire::{
    FrontendDecoder, FrontendMessage, StartupDecoder, StartupPacket, TransactionStatus,
    frame_is_complete,
};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::io::poll_read_buf;

use super::pool::{Lease, Route};
use super::split::{is_blank, split};
use super::stream::PgStream;
use super::{CancelSlot, Shared};
use crate::config::PoolMode;
use crate::runtime::bindings::{AccessMode, Connection, Protocol, QueryFacts, StatementKind};
use crate::runtime::{Decision, FindingKind, StatementContext};
use crate::usage::TenantUsage;

/// Buffered bytes in one direction above which the gateway stops reading the other side.
const HIGH_WATER: usize = 256 * 1024;

/// What a forwarded message (or a synthesized answer) waits for.
enum Expect {
    /// Ends with ParseComplete or an error. `swallow`: injected by the gateway, the client
    /// never sent it. `hash`: the server-side statement being created. `deny`: the error to
    /// show instead of the server's (a refused statement).
    Parse {
        swallow: bool,
        hash: Option<u64>,
        deny: Option<Bytes>,
    },
    Bind,
    DescribeStatement,
    DescribePortal,
    Execute,
    Close,
    /// A Close the gateway injected to evict a server-side statement: its answer is swallowed.
    CloseInjected,
    /// Ends with ReadyForQuery.
    Sync,
    /// A simple query or function call: ends with ReadyForQuery.
    Query {
        deny: Option<Bytes>,
    },
    /// Bytes the gateway sends the client itself when this entry reaches the front.
    Synth(Bytes),
}

/// A client's named prepared statement.
struct Prepared {
    hash: u64,
    /// The Parse frame under the server-side name, to prepare it on any server connection.
    parse: Bytes,
    server_name: String,
    route: Route,
}

enum Event {
    ClientRead(std::io::Result<usize>),
    ClientWrote(std::io::Result<usize>),
    ServerRead(std::io::Result<usize>),
    ServerWrote(std::io::Result<usize>),
    /// The connection this client queued on is its own now (`None`: it was lost first).
    Lease(Option<Lease>),
}

/// Why a session ended.
#[derive(Debug)]
enum End {
    Terminate,
    ClientGone,
    Fatal,
}

pub(super) async fn handle(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    shared.metrics.client_connections.inc();
    shared.metrics.active_connections.inc();
    let r = startup(&shared, PgStream::Tcp(tcp), peer).await;
    if let Ok(Some(mut s)) = r {
        let end = s.run().await;
        tracing::debug!(?end, user = %s.conn.user, "client session ended");
        s.finish().await;
    }
    shared.metrics.active_connections.dec();
}

fn fatal(code: &str, message: impl Into<String>) -> BytesMut {
    let mut b = BytesMut::new();
    be::error_response(&mut b, &PgError::new(Severity::Fatal, code, message));
    b
}

/// The startup phase. `Ok(None)`: the connection was handled (cancel request, refusal).
async fn startup(
    shared: &Arc<Shared>,
    mut stream: PgStream,
    peer: SocketAddr,
) -> std::io::Result<Option<Session>> {
    let config = shared.config.load_full();
    let max = config.server.max_startup_bytes;
    let decoder = StartupDecoder::with_max_len(max);
    let mut buf = BytesMut::with_capacity(512);
    let mut tls = false;
    let auth_deadline =
        tokio::time::Instant::now() + Duration::from_secs(config.server.auth_timeout_secs.max(1));
    let startup = loop {
        let packet = match decoder.decode(&mut buf) {
            Ok(Some(p)) => p,
            Ok(None) => {
                let n = tokio::time::timeout_at(auth_deadline, stream.read_buf(&mut buf))
                    .await
                    .map_err(|_| std::io::Error::other("startup timed out"))??;
                if n == 0 {
                    return Ok(None);
                }
                continue;
            }
            Err(e) => {
                shared
                    .metrics
                    .protocol_errors
                    .with_label_values(&[e.kind()])
                    .inc();
                let _ = stream
                    .write_all(&fatal(e.sqlstate(), e.to_string_client()))
                    .await;
                return Ok(None);
            }
        };
        match packet {
            StartupPacket::SslRequest => {
                if tls || !buf.is_empty() {
                    // A second request, or bytes pipelined before the handshake (which a
                    // man in the middle could have injected): refuse.
                    let _ = stream
                        .write_all(&fatal("08P01", "unexpected data after SSLRequest"))
                        .await;
                    return Ok(None);
                }
                match (shared.tls.load_full(), stream) {
                    (Some(cfg), PgStream::Tcp(mut tcp)) => {
                        tcp.write_all(b"S").await?;
                        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
                        let s = tokio::time::timeout_at(auth_deadline, acceptor.accept(tcp))
                            .await
                            .map_err(|_| std::io::Error::other("TLS handshake timed out"))??;
                        stream = PgStream::TlsServer(Box::new(s));
                        tls = true;
                    }
                    (_, mut other) => {
                        other.write_all(b"N").await?;
                        stream = other;
                    }
                }
            }
            StartupPacket::GssEncRequest => {
                // No GSSAPI: libpq falls back to SSLRequest or plain startup.
                stream.write_all(b"N").await?;
            }
            StartupPacket::Cancel(c) => {
                shared.cancel(c.process_id, &c.secret_key).await;
                return Ok(None);
            }
            StartupPacket::Startup(m) => break m,
        }
    };
    let mut out = BytesMut::new();
    if startup.needs_negotiation() {
        let unrecognized: Vec<&str> = startup.protocol_options().map(|(k, _)| k).collect();
        be::negotiate_protocol_version(&mut out, 0, &unrecognized)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    if config.server.tls.as_ref().is_some_and(|t| t.required) && !tls {
        out.extend_from_slice(&fatal(
            "28000",
            "this gateway requires TLS (use sslmode=require)",
        ));
        stream.write_all(&out).await?;
        shared.metrics.auth_failures.inc();
        return Ok(None);
    }
    if startup.replication().is_some() {
        out.extend_from_slice(&fatal("0A000", "replication connections are not supported"));
        stream.write_all(&out).await?;
        return Ok(None);
    }
    let user_name = startup.user().to_string();
    let db_name = startup.database().to_string();
    let user = config.users.get(&user_name).cloned();

    // SCRAM-SHA-256. Unknown users run the exchange against a mock verifier, so a client
    // cannot tell an unknown user from a wrong password.
    let verifier = match &user {
        Some(u) => u.verifier.clone(),
        None => ScramVerifier::mock(&user_name, shared.mock_secret.as_bytes()),
    };
    let fdec = FrontendDecoder::with_max_message_len(max);
    let next = async |stream: &mut PgStream,
                      buf: &mut BytesMut|
           -> std::io::Result<Option<FrontendMessage>> {
        loop {
            match fdec.decode(buf) {
                Ok(Some(m)) => return Ok(Some(m)),
                Ok(None) => {}
                Err(_) => return Ok(None),
            }
            let n = tokio::time::timeout_at(auth_deadline, stream.read_buf(buf))
                .await
                .map_err(|_| std::io::Error::other("authentication timed out"))??;
            if n == 0 {
                return Ok(None);
            }
        }
    };
    let auth_failed = |shared: &Shared| {
        shared.metrics.auth_failures.inc();
        fatal(
            "28P01",
            format!("password authentication failed for user \"{user_name}\""),
        )
    };
    let cleartext = tls
        && config
            .server
            .tls
            .as_ref()
            .is_some_and(|t| t.cleartext_password);
    if cleartext {
        be::authentication_cleartext_password(&mut out);
        stream.write_all(&out).await?;
        out.clear();
        let Some(FrontendMessage::AuthResponse(pw)) = next(&mut stream, &mut buf).await? else {
            shared.metrics.auth_failures.inc();
            return Ok(None);
        };
        let ok = match pw.password() {
            Err(_) => false,
            Ok(p) if verifier.verify_password(p) => true,
            Ok(p) => match &user {
                Some(u) => token_admits(shared, &u.tenant, &u.tokens, p).await,
                None => false,
            },
        };
        if !ok || user.is_none() {
            tracing::info!(user = %user_name, %peer, "authentication failed");
            stream.write_all(&auth_failed(shared)).await?;
            return Ok(None);
        }
    } else {
        be::authentication_sasl(&mut out, &["SCRAM-SHA-256"])
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        stream.write_all(&out).await?;
        out.clear();
        let Some(FrontendMessage::AuthResponse(first)) = next(&mut stream, &mut buf).await? else {
            shared.metrics.auth_failures.inc();
            return Ok(None);
        };
        let challenge = match first
            .sasl_initial()
            .map_err(|e| e.to_string())
            .and_then(|i| {
                ScramServer::new(verifier)
                    .handle_initial_response(&i)
                    .map_err(|e| e.to_string())
            }) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(user = %user_name, %peer, error = %e, "SCRAM exchange refused");
                stream.write_all(&auth_failed(shared)).await?;
                return Ok(None);
            }
        };
        be::authentication_sasl_continue(&mut out, challenge.server_first());
        stream.write_all(&out).await?;
        out.clear();
        let Some(FrontendMessage::AuthResponse(fin)) = next(&mut stream, &mut buf).await? else {
            shared.metrics.auth_failures.inc();
            return Ok(None);
        };
        let server_final = match challenge.handle_client_final(fin.sasl_response()) {
            Ok(v) if user.is_some() => v,
            _ => {
                tracing::info!(user = %user_name, %peer, "authentication failed");
                stream.write_all(&auth_failed(shared)).await?;
                return Ok(None);
            }
        };
        be::authentication_sasl_final(&mut out, &server_final);
    }
    // Both exchanges above refuse unknown users; this only names the known one.
    let Some(user) = user else {
        stream.write_all(&auth_failed(shared)).await?;
        return Ok(None);
    };

    let Some(db) = shared.database(&db_name) else {
        out.extend_from_slice(&fatal(
            "3D000",
            format!("database \"{db_name}\" does not exist"),
        ));
        stream.write_all(&out).await?;
        return Ok(None);
    };
    // After authentication, so that a probe learns nothing about which users exist.
    if user.require_tls && !tls {
        shared.metrics.auth_failures.inc();
        out.extend_from_slice(&fatal(
            "28000",
            format!("user \"{user_name}\" may only connect over TLS"),
        ));
        stream.write_all(&out).await?;
        return Ok(None);
    }
    if !user.may_connect_from(peer.ip()) {
        shared.metrics.auth_failures.inc();
        out.extend_from_slice(&fatal(
            "28000",
            format!(
                "user \"{user_name}\" may not connect from {}",
                peer.ip().to_canonical()
            ),
        ));
        stream.write_all(&out).await?;
        return Ok(None);
    }
    if !user.may_use(&db_name) {
        shared.metrics.auth_failures.inc();
        out.extend_from_slice(&fatal(
            "42501",
            format!("permission denied for database \"{db_name}\": user \"{user_name}\" may not connect to it"),
        ));
        stream.write_all(&out).await?;
        return Ok(None);
    }
    let client_params: HashMap<String, String> = startup
        .params()
        .filter(|(k, _)| !matches!(*k, "user" | "database" | "options") && !k.starts_with("_pq_."))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let tenant = config
        .databases
        .get(&db_name)
        .and_then(|d| d.tenant.clone())
        .unwrap_or_else(|| user.tenant.clone());
    let conn = Connection {
        id: shared.next_conn_id.fetch_add(1, Ordering::Relaxed),
        tenant,
        user: user.name.clone(),
        roles: user.roles.clone(),
        database: db_name.clone(),
        client_addr: peer.ip().to_canonical().to_string(),
        client_port: peer.port(),
        tls,
        protocol: Protocol::Postgres,
        application_name: startup.application_name().map(str::to_string),
        account_expires_at: user.expires_at_ms,
    };
    let d = shared.engine.evaluate_connect(&conn);
    log_findings(&d, &conn, None);
    audit(shared, &conn, "connect", &db_name, &d, None);
    let usage = shared.usage.tenant(&conn.tenant);
    if let Some(hit) = &d.denied {
        TenantUsage::add(&usage.denials);
        shared.metrics.auth_failures.inc();
        shared
            .metrics
            .denied_statements
            .with_label_values(&[hit.rule.as_str()])
            .inc();
        tracing::warn!(user = %conn.user, tenant = %conn.tenant, client = %peer, rule = %hit.rule,
            reason = %hit.reason, "connection refused by policy");
        out.extend_from_slice(&fatal(
            "42501",
            format!(
                "connection refused by policy rule {}: {}",
                hit.rule, hit.reason
            ),
        ));
        stream.write_all(&out).await?;
        return Ok(None);
    }

    TenantUsage::add(&usage.connections);
    be::authentication_ok(&mut out);
    // Session pooling: the client's own server connection, held until it leaves.
    let mut lease = None;
    if db.mode() == PoolMode::Session {
        match db.acquire(Route::Primary).await {
            Ok(mut l) => {
                if let Some(app) = client_params.get("application_name") {
                    let _ = l
                        .conn
                        .simple(&format!("SET application_name = {}", quote_literal(app)))
                        .await;
                }
                lease = Some(l);
            }
            Err(e) => {
                out.extend_from_slice(&fatal("08006", e.to_string()));
                stream.write_all(&out).await?;
                return Ok(None);
            }
        }
    } else if db.primary().server_params.lock().is_empty() {
        // The first client of this database: learn the server's parameters to show them.
        match db.acquire(Route::Primary).await {
            Ok(l) => {
                db.release(l, true);
            }
            Err(e) => {
                out.extend_from_slice(&fatal("08006", e.to_string()));
                stream.write_all(&out).await?;
                return Ok(None);
            }
        }
    }
    let params = match &lease {
        Some(l) => {
            let mut p: Vec<(String, String)> = l
                .conn
                .params
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            p.sort();
            for (k, v) in &client_params {
                if let Some(x) = p.iter_mut().find(|(n, _)| n == k) {
                    x.1 = v.clone();
                }
            }
            p
        }
        None => super::pool::startup_params(db.primary(), &client_params),
    };
    for (k, v) in &params {
        let _ = be::parameter_status(&mut out, k, v);
    }
    let (pid, secret, slot) = shared.register_cancel(
        lease
            .as_ref()
            .and_then(|l| l.conn.key.as_ref().map(|k| k.0)),
    );
    let _ = be::backend_key_data(&mut out, pid, &secret);
    be::ready_for_query(&mut out, TransactionStatus::Idle);
    if let Some(l) = &lease {
        slot.lock().clone_from(&l.conn.cancel);
    }

    let mode = db.mode();
    Ok(Some(Session {
        shared: Arc::clone(shared),
        db_name,
        db,
        conn,
        usage,
        mode,
        client: stream,
        cbuf: buf,
        cout: out,
        decoder: FrontendDecoder::with_max_message_len(config.server.max_message_bytes),
        lease,
        sout: BytesMut::with_capacity(8 * 1024),
        expect: VecDeque::new(),
        tx: b'I',
        sync_pending: false,
        skip_until_sync: false,
        stmts: HashMap::default(),
        cancel_pid: pid,
        cancel_slot: slot,
        pending_error: None,
        following: None,
        idle_after: false,
    }))
}

struct Session {
    shared: Arc<Shared>,
    db_name: String,
    /// The database's pool (replaced when a reload closes it).
    db: Arc<super::pool::DbPool>,
    conn: Connection,
    usage: Arc<TenantUsage>,
    mode: PoolMode,
    client: PgStream,
    cbuf: BytesMut,
    cout: BytesMut,
    decoder: FrontendDecoder,
    lease: Option<Lease>,
    sout: BytesMut,
    expect: VecDeque<Expect>,
    /// Transaction status the client was last told.
    tx: u8,
    /// Extended-protocol messages were forwarded and their Sync has not been.
    sync_pending: bool,
    /// An error was sent for an extended-protocol message: drop messages until Sync.
    skip_until_sync: bool,
    stmts: HashMap<String, Arc<Prepared>, foldhash::fast::RandomState>,
    cancel_pid: i32,
    cancel_slot: CancelSlot,
    /// The server connection was lost while nothing was in flight (idle in a transaction):
    /// the client's next request gets this error.
    pending_error: Option<Bytes>,
    /// Transaction pooling, every connection busy: this client's requests are queued behind
    /// another client's read on a connection it gets once that read is answered.
    following: Option<super::pool::Following>,
    /// Everything sent since a server connection was attached leaves the server idle and
    /// outside a transaction (plain reads only): another client may queue behind it.
    idle_after: bool,
}

impl Session {
    async fn run(&mut self) -> End {
        loop {
            if let Some(end) = self.process_client().await {
                return end;
            }
            let ev = std::future::poll_fn(|cx| self.poll_io(cx)).await;
            crate::spin::event();
            match ev {
                Event::ClientWrote(Ok(n)) => self.cout.advance(n),
                Event::ClientWrote(Err(_))
                | Event::ClientRead(Err(_))
                | Event::ClientRead(Ok(0)) => {
                    return End::ClientGone;
                }
                Event::ClientRead(Ok(_)) => {}
                Event::ServerWrote(Ok(n)) => {
                    self.sout.advance(n);
                    self.maybe_release();
                }
                Event::Lease(Some(mut l)) => {
                    if let Some(mut f) = self.following.take() {
                        // A client queued behind this one's reads goes on behind them.
                        l.adopt_offer(&mut f);
                    }
                    self.cancel_slot.lock().clone_from(&l.conn.cancel);
                    self.lease = Some(l);
                    // Answers to this client's requests may already be in the buffer.
                    self.process_server();
                    if self.maybe_release() {
                        yield_once().await;
                    }
                }
                Event::Lease(None) => {
                    if let Some(end) = self.server_lost("the server connection was lost") {
                        return end;
                    }
                }
                Event::ServerRead(Ok(n)) if n > 0 => {
                    self.process_server();
                    if self.maybe_release() {
                        // The connection went to a waiting client. Let it run first, so its
                        // query reaches the server before this client's answer is written:
                        // the server works while the gateway writes, instead of after.
                        yield_once().await;
                    }
                }
                Event::ServerWrote(Err(e)) | Event::ServerRead(Err(e)) => {
                    if let Some(end) = self.server_lost(&e.to_string()) {
                        return end;
                    }
                }
                Event::ServerRead(Ok(_)) => {
                    if let Some(end) = self.server_lost("server closed the connection") {
                        return end;
                    }
                }
            }
        }
    }

    /// Waits for the next I/O event, in order of preference: bytes written to the client,
    /// bytes written to the server, bytes read from the server, bytes read from the client.
    /// Writes come first so that buffers drain before more is read; reading stops at the
    /// high-water marks so neither side can make the gateway buffer without bound.
    fn poll_io(&mut self, cx: &mut Context<'_>) -> Poll<Event> {
        if !self.cout.is_empty()
            && let Poll::Ready(r) = Pin::new(&mut self.client).poll_write(cx, &self.cout)
        {
            return Poll::Ready(Event::ClientWrote(r));
        }
        if let Some(f) = &mut self.following {
            if let Some(r) = f.offered() {
                r.take_bytes(&mut self.sout);
            }
            if !self.sout.is_empty() {
                f.relay.queue(&mut self.sout);
            }
            if let Poll::Ready(r) = Pin::new(&mut f.rx).poll(cx) {
                return Poll::Ready(Event::Lease(r.ok()));
            }
        }
        if let Some(l) = &mut self.lease {
            if let Some(r) = l.relay() {
                r.take_bytes(&mut self.sout);
            }
            let conn = &mut l.conn;
            if !self.sout.is_empty()
                && let Poll::Ready(r) = Pin::new(&mut conn.io).poll_write(cx, &self.sout)
            {
                return Poll::Ready(Event::ServerWrote(r));
            }
            if self.cout.len() < HIGH_WATER {
                reserve(&mut conn.rbuf);
                if let Poll::Ready(r) = poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.rbuf) {
                    return Poll::Ready(Event::ServerRead(r));
                }
            }
        }
        // A whole message already waiting (one the session is not ready to handle) is
        // enough: reading on would buffer without bound.
        if self.sout.len() < HIGH_WATER
            && self.cout.len() < HIGH_WATER
            && (self.cbuf.len() < HIGH_WATER || !frame_is_complete(&self.cbuf))
        {
            reserve(&mut self.cbuf);
            if let Poll::Ready(r) = poll_read_buf(Pin::new(&mut self.client), cx, &mut self.cbuf) {
                return Poll::Ready(Event::ClientRead(r));
            }
        }
        Poll::Pending
    }

    /// The client is gone: give the server connection back in a known state.
    async fn finish(&mut self) {
        let _ = self.client.write_all(&self.cout).await;
        // Queued behind another client: the connection is closed when it would have come
        // here (its state is unknown once part of this client's request ran).
        self.following = None;
        self.shared.unregister_cancel(self.cancel_pid);
        if self.lease.as_mut().is_some_and(|l| !l.withdraw_relay()) {
            // Another client's request is queued behind this one's on the connection: see
            // this client's answers through (they go nowhere), then hand the connection on.
            let timeout = self.db.settings.queue_timeout();
            if tokio::time::timeout(timeout, self.hand_over_on_exit())
                .await
                .is_err()
            {
                self.server_lost("timed out waiting for the server after the client left");
            }
        }
        if let Some(mut l) = self.lease.take() {
            let db = Arc::clone(l.db());
            let clean = self.expect.is_empty() && self.sout.is_empty() && self.tx == b'I';
            let reusable = clean && {
                let reset = db.settings.reset_query.clone();
                reset.is_empty()
                    || tokio::time::timeout(db.settings.connect_timeout(), l.conn.simple(&reset))
                        .await
                        .is_ok_and(|r| r.is_ok())
            };
            if reusable && !db.settings.reset_query.is_empty() {
                let mut p = l.conn.prepared.lock();
                p.set.clear();
                p.order.clear();
            }
            db.release(l, reusable);
        }
        let _ = self.client.shutdown().await;
    }

    /// The client left while a follower's request was queued on its server connection:
    /// reads the answers still owed to it and hands the connection over.
    async fn hand_over_on_exit(&mut self) {
        loop {
            self.cout.clear();
            self.process_server();
            if self.maybe_release() {
                return;
            }
            let Some(l) = self.lease.as_mut() else { return };
            if let Some(r) = l.relay() {
                r.take_bytes(&mut self.sout);
            }
            if !self.sout.is_empty() {
                if let Err(e) = l.conn.io.write_all(&self.sout).await {
                    self.server_lost(&e.to_string());
                    return;
                }
                self.sout.clear();
                continue;
            }
            match l.conn.io.read_buf(&mut l.conn.rbuf).await {
                Ok(0) => {
                    self.server_lost("server closed the connection");
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    self.server_lost(&e.to_string());
                    return;
                }
            }
        }
    }

    /// The server connection failed under this client.
    fn server_lost(&mut self, why: &str) -> Option<End> {
        if let Some(l) = self.lease.take() {
            tracing::warn!(user = %self.conn.user, database = %self.db_name, backend = %l.pool.label(),
                error = why, "server connection lost");
            let db = Arc::clone(l.db());
            db.release(l, false);
        } else {
            self.following.take()?;
            tracing::warn!(user = %self.conn.user, database = %self.db_name, error = why,
                "server connection lost before this client's queued request could run");
        }
        *self.cancel_slot.lock() = None;
        self.sout.clear();
        if self.mode == PoolMode::Session {
            self.cout
                .extend_from_slice(&fatal("08006", format!("server connection lost: {why}")));
            return Some(End::Fatal);
        }
        // Transaction pooling: the client stays; everything in flight fails.
        let mut err = BytesMut::new();
        error(
            &mut err,
            "08006",
            &format!("server connection lost: {why}; the transaction (if any) was rolled back"),
        );
        if self.expect.is_empty() && !self.sync_pending {
            self.tx = b'I';
            self.pending_error = Some(err.freeze());
            return None;
        }
        self.cout.extend_from_slice(&err);
        let mut syncs = 0;
        for e in self.expect.drain(..) {
            if matches!(e, Expect::Sync | Expect::Query { .. }) {
                syncs += 1;
            }
        }
        self.tx = b'I';
        for _ in 0..syncs {
            be::ready_for_query(&mut self.cout, TransactionStatus::Idle);
        }
        if self.sync_pending {
            self.skip_until_sync = true;
        }
        None
    }

    /// Gives the server connection back at the end of a transaction (transaction pooling).
    /// True when a waiting client took it.
    fn maybe_release(&mut self) -> bool {
        if self.mode == PoolMode::Transaction
            && self.lease.is_some()
            && self.expect.is_empty()
            && !self.sync_pending
            && self.sout.is_empty()
            && self.tx == b'I'
            && let Some(l) = self.lease.take()
        {
            let mut l = l;
            if l.withdraw_relay() {
                *self.cancel_slot.lock() = None;
                let db = Arc::clone(l.db());
                return db.release(l, true);
            }
            // A follower's request is queued on the connection: it goes there, once every
            // byte of that request was written.
            return match l.hand_over(&mut self.sout) {
                Ok(handed) => {
                    *self.cancel_slot.lock() = None;
                    handed
                }
                Err(l) => {
                    self.lease = Some(l);
                    false
                }
            };
        }
        false
    }

    /// Whether requests have a server to go to (a lease, or a place in a relay).
    fn has_server(&self) -> bool {
        self.lease.is_some() || self.following.is_some()
    }

    /// Transaction pooling: offers the leased connection to carry one more client's request
    /// when everything in flight is a read that leaves the server idle.
    async fn offer_relay(&mut self) {
        let offered = match (&self.lease, &self.following) {
            (Some(l), _) => l.relay().is_some(),
            (None, Some(f)) => f.offered().is_some(),
            (None, None) => return,
        };
        if offered
            || !self.idle_after
            || self.mode != PoolMode::Transaction
            || self.sync_pending
            || self.expect.is_empty()
        {
            return;
        }
        // The task's waker (cloned only if a relay is made) wakes this session when a
        // follower's bytes are ready to write.
        std::future::poll_fn(|cx| {
            if let Some(l) = &mut self.lease {
                l.offer_relay(cx.waker());
            } else if let Some(f) = &mut self.following {
                f.offer_relay(cx.waker());
            }
            Poll::Ready(())
        })
        .await;
    }

    fn push(&mut self, e: Expect) {
        match e {
            Expect::Synth(b) if self.expect.is_empty() => self.cout.extend_from_slice(&b),
            e => self.expect.push_back(e),
        }
    }

    fn emit_synth(&mut self) {
        while let Some(Expect::Synth(_)) = self.expect.front() {
            if let Some(Expect::Synth(b)) = self.expect.pop_front() {
                self.cout.extend_from_slice(&b);
            }
        }
    }

    /// Handles every complete server message in the read buffer.
    fn process_server(&mut self) {
        loop {
            let Some(l) = self.lease.as_mut() else {
                return;
            };
            let rbuf = &mut l.conn.rbuf;
            if rbuf.len() < 5 {
                return;
            }
            let tag = rbuf[0];
            let len = u32::from_be_bytes([rbuf[1], rbuf[2], rbuf[3], rbuf[4]]) as usize;
            if len < 4 {
                l.conn.broken = true;
                let _ = self.server_lost("invalid message length from server");
                return;
            }
            if rbuf.len() < len + 1 {
                rbuf.reserve(len + 1 - rbuf.len());
                return;
            }
            let frame = rbuf.split_to(len + 1);
            self.on_server_message(tag, frame);
            if self.expect.is_empty()
                && let Some(l) = &self.lease
                && l.relay().is_some()
            {
                // What follows answers the client queued behind this one (or nobody):
                // the connection goes on to it with the rest of the buffer.
                if self.tx != b'I'
                    && let Some(l) = self.lease.as_mut()
                    && !l.withdraw_relay()
                {
                    // Relays are offered only behind reads outside a transaction, so this
                    // cannot happen; were it to, the queued request would run inside this
                    // client's transaction. Close the connection under both instead.
                    l.conn.broken = true;
                    self.server_lost("a transaction was left open ahead of a queued request");
                }
                return;
            }
        }
    }

    fn on_server_message(&mut self, tag: u8, frame: BytesMut) {
        let mut pass = true;
        let mut pop = false;
        match tag {
            b'D' | b'd' | b'c' | b'G' | b'H' | b'W' | b'N' | b'A' | b't' | b'V' => {}
            b'S' => {
                if let (Some(l), Some((k, v))) = (self.lease.as_mut(), param_status(&frame)) {
                    l.conn.params.insert(k, v);
                }
            }
            b'T' => {
                pop = matches!(
                    self.expect.front(),
                    Some(Expect::DescribeStatement | Expect::DescribePortal)
                );
            }
            b'n' => pop = true,
            b'1' => match self.expect.front() {
                Some(Expect::Parse { swallow, .. }) => {
                    pass = !swallow;
                    pop = true;
                }
                _ => self.desync(tag),
            },
            b'2' => pop = true,
            b'3' => {
                pass = !matches!(self.expect.front(), Some(Expect::CloseInjected));
                pop = true;
            }
            b'C' | b'I' | b's' => {
                pop = matches!(self.expect.front(), Some(Expect::Execute));
            }
            b'E' if self.expect.is_empty() && self.mode == PoolMode::Transaction => {
                // Unasked: the server is ending this connection (admin command, postmaster
                // death, idle timeout). The client keeps its gateway connection: its next
                // request gets the error instead of a message it did not ask for.
                let why = error_message(&frame);
                if let Some(l) = self.lease.as_mut() {
                    l.conn.broken = true;
                }
                let _ = self.server_lost(&why);
                return;
            }
            b'E' => {
                if is_fatal(&frame)
                    && let Some(l) = self.lease.as_mut()
                {
                    l.conn.broken = true;
                }
                let mine = contains(&frame, self.shared.deny_marker.as_bytes());
                let (replacement, forget, skip) = match self.expect.front_mut() {
                    Some(Expect::Query { deny }) => {
                        (if mine { deny.take() } else { None }, None, false)
                    }
                    Some(Expect::Parse { deny, hash, .. }) => {
                        (if mine { deny.take() } else { None }, *hash, true)
                    }
                    Some(Expect::Sync) | None => (None, None, false),
                    Some(_) => (None, None, true),
                };
                if let Some(d) = replacement {
                    self.cout.extend_from_slice(&d);
                    pass = false;
                }
                if let (Some(h), Some(l)) = (forget, self.lease.as_mut()) {
                    l.conn.prepared.lock().set.remove(&h);
                }
                if skip {
                    self.skip_to_sync();
                }
            }
            b'Z' => {
                self.tx = frame.get(5).copied().unwrap_or(b'I');
                while let Some(e) = self.expect.pop_front() {
                    if matches!(e, Expect::Sync | Expect::Query { .. }) {
                        break;
                    }
                }
            }
            _ => {}
        }
        if pop {
            self.expect.pop_front();
        }
        if pass {
            self.cout.extend_from_slice(&frame);
        }
        if pop || tag == b'Z' || tag == b'E' {
            self.emit_synth();
        }
    }

    /// After an extended-protocol error the server skips to the next Sync: so do the entries.
    fn skip_to_sync(&mut self) {
        while let Some(e) = self.expect.front() {
            if matches!(e, Expect::Sync | Expect::Query { .. }) {
                break;
            }
            self.expect.pop_front();
        }
    }

    fn desync(&mut self, tag: u8) {
        tracing::error!(tag = %(tag as char), "unexpected server message; closing the server connection after this exchange");
        if let Some(l) = self.lease.as_mut() {
            l.conn.broken = true;
        }
    }

    /// Handles every complete client message in the buffer. `Some`: the session ends.
    async fn process_client(&mut self) -> Option<End> {
        if let Some(l) = &mut self.lease
            && l.relay().is_some()
        {
            // Nothing of this client's may follow another client's request on the
            // connection: with a complete message waiting, withdraw the offer, or wait for
            // the hand-over when a follower took it.
            if !frame_is_complete(&self.cbuf) || !l.withdraw_relay() {
                return None;
            }
        }
        if let Some(f) = &mut self.following
            && f.offered().is_some()
            && (!frame_is_complete(&self.cbuf) || !f.withdraw_relay())
        {
            return None;
        }
        while self.sout.len() < HIGH_WATER {
            let msg = match self.decoder.decode(&mut self.cbuf) {
                Ok(Some(m)) => m,
                Ok(None) => {
                    self.offer_relay().await;
                    return None;
                }
                Err(e) => {
                    self.shared
                        .metrics
                        .protocol_errors
                        .with_label_values(&[e.kind()])
                        .inc();
                    self.cout
                        .extend_from_slice(&fatal(e.sqlstate(), e.to_string_client()));
                    return Some(End::Fatal);
                }
            };
            if self.skip_until_sync
                && !matches!(
                    msg,
                    FrontendMessage::Sync(_) | FrontendMessage::Terminate(_)
                )
            {
                continue;
            }
            if let Some(err) = self.pending_error.take() {
                match &msg {
                    FrontendMessage::Query(_) | FrontendMessage::FunctionCall(_) => {
                        self.push(Expect::Synth(err));
                        self.push_ready();
                        continue;
                    }
                    FrontendMessage::Parse(_)
                    | FrontendMessage::Bind(_)
                    | FrontendMessage::Describe(_)
                    | FrontendMessage::Execute(_)
                    | FrontendMessage::Close(_) => {
                        self.push(Expect::Synth(err));
                        self.skip_until_sync = true;
                        continue;
                    }
                    _ => self.pending_error = Some(err),
                }
            }
            let r = match msg {
                FrontendMessage::Query(q) => self.on_query(q.frame(), q.sql()).await,
                FrontendMessage::Parse(p) => self.on_parse(&p).await,
                FrontendMessage::Bind(b) => self.on_bind(&b).await,
                FrontendMessage::Describe(d) => self.on_describe(&d).await,
                FrontendMessage::Execute(e) => {
                    // Usage counts executions; the statement was judged at its Parse.
                    TenantUsage::add(&self.usage.queries);
                    self.forward_extended(e.frame(), Expect::Execute, Route::Primary)
                        .await
                }
                FrontendMessage::Close(c) => self.on_close(&c),
                FrontendMessage::Sync(s) => {
                    self.skip_until_sync = false;
                    self.sync_pending = false;
                    if self.has_server() {
                        self.sout.extend_from_slice(s.frame());
                        self.push(Expect::Sync);
                    } else {
                        let mut b = BytesMut::new();
                        be::ready_for_query(&mut b, status(self.tx));
                        self.push(Expect::Synth(b.freeze()));
                    }
                    Ok(())
                }
                FrontendMessage::Flush(f) => {
                    if self.has_server() {
                        self.sout.extend_from_slice(f.frame());
                    }
                    Ok(())
                }
                FrontendMessage::CopyData(_)
                | FrontendMessage::CopyDone(_)
                | FrontendMessage::CopyFail(_) => {
                    self.idle_after = false;
                    if self.has_server() {
                        self.sout.extend_from_slice(msg.frame());
                    }
                    Ok(())
                }
                FrontendMessage::FunctionCall(f) => {
                    self.idle_after = false;
                    if self.ensure_server(Route::Primary).await {
                        self.sout.extend_from_slice(f.frame());
                        self.push(Expect::Query { deny: None });
                    } else {
                        self.push_ready();
                    }
                    Ok(())
                }
                FrontendMessage::Terminate(_) => return Some(End::Terminate),
                FrontendMessage::AuthResponse(_) => {
                    Err(articdbm_pgwire::ProtocolError::WrongMessageType {
                        expected: "a query or extended-protocol message (authentication is over)",
                        tag: b'p',
                    })
                }
            };
            if let Err(e) = r {
                self.shared
                    .metrics
                    .protocol_errors
                    .with_label_values(&[e.kind()])
                    .inc();
                self.cout
                    .extend_from_slice(&fatal(e.sqlstate(), e.to_string_client()));
                return Some(End::Fatal);
            }
        }
        None
    }

    /// Leases a server connection when none is held. `false`: an error was queued for the
    /// client instead.
    async fn ensure_server(&mut self, route: Route) -> bool {
        if self.has_server() {
            return true;
        }
        let route = if self.tx == b'I' {
            route
        } else {
            Route::Primary
        };
        if self.mode == PoolMode::Transaction
            && !self.db.is_closed()
            && let Some(f) = self.db.follow(route)
        {
            self.following = Some(f);
            self.idle_after = self.tx == b'I';
            return true;
        }
        // Whatever is owed to the client goes out before waiting in the queue.
        if !self.cout.is_empty() {
            if self.client.write_all(&self.cout).await.is_err() {
                self.cout.clear();
                return false;
            }
            self.cout.clear();
        }
        // The database's pool, looked up again only when a reload replaced it.
        if self.db.is_closed() {
            match self.shared.database(&self.db_name) {
                Some(db) => self.db = db,
                None => {
                    let mut b = BytesMut::new();
                    error(
                        &mut b,
                        "3D000",
                        &format!("database \"{}\" no longer exists", self.db_name),
                    );
                    self.push(Expect::Synth(b.freeze()));
                    return false;
                }
            }
        }
        let follow = self.mode == PoolMode::Transaction;
        match self.db.seat(route, follow).await {
            Ok(super::pool::Seat::Lease(l)) => {
                self.cancel_slot.lock().clone_from(&l.conn.cancel);
                self.lease = Some(l);
                self.idle_after = self.tx == b'I';
                true
            }
            Ok(super::pool::Seat::Follow(f)) => {
                self.following = Some(f);
                self.idle_after = self.tx == b'I';
                true
            }
            Err(e) => {
                let code = match e {
                    super::pool::AcquireError::Timeout(..) => "53300",
                    _ => "08006",
                };
                let mut b = BytesMut::new();
                error(&mut b, code, &e.to_string());
                self.push(Expect::Synth(b.freeze()));
                false
            }
        }
    }

    /// Queues ReadyForQuery after an error answered without a server.
    fn push_ready(&mut self) {
        let mut b = BytesMut::new();
        be::ready_for_query(&mut b, status(self.tx));
        self.push(Expect::Synth(b.freeze()));
    }

    fn judge(&self, sql: &str, prepared: Option<&str>) -> (Decision, Route) {
        let engine = &self.shared.engine;
        let stmt = engine.statement(sql, Protocol::Postgres);
        let ctx = StatementContext {
            in_transaction: self.tx != b'I',
            prepared_name: prepared.filter(|n| !n.is_empty()).map(str::to_string),
        };
        let d = engine.evaluate_statement(&self.conn, sql, &stmt, &ctx);
        if d.denied.is_some() {
            TenantUsage::add(&self.usage.denials);
        }
        log_findings(&d, &self.conn, Some(sql));
        audit(
            &self.shared,
            &self.conn,
            "query",
            &self.db_name,
            &d,
            Some(sql),
        );
        let route = if is_read(&stmt.facts) {
            Route::Read
        } else {
            Route::Primary
        };
        (d, route)
    }

    fn denial(&self, d: &Decision) -> Option<Bytes> {
        let hit = d.denied.as_ref()?;
        self.shared
            .metrics
            .denied_statements
            .with_label_values(&[hit.rule.as_str()])
            .inc();
        tracing::warn!(user = %self.conn.user, tenant = %self.conn.tenant, database = %self.db_name,
            rule = %hit.rule, plugin = %hit.plugin, reason = %hit.reason, "statement refused by policy");
        let mut b = BytesMut::new();
        be::error_response(
            &mut b,
            &PgError::new(
                Severity::Error,
                "42501",
                format!(
                    "statement refused by policy rule {}: {}",
                    hit.rule, hit.reason
                ),
            )
            .detail(format!("plugin {}, binding {}", hit.plugin, hit.binding)),
        );
        Some(b.freeze())
    }

    async fn on_query(
        &mut self,
        frame: &Bytes,
        sql: articdbm_pgwire::Result<&str>,
    ) -> articdbm_pgwire::Result<()> {
        let sql = sql?;
        let mut route = Route::Read;
        let mut denied = None;
        // One statement with or without its `;` (what drivers and psql send) needs no split.
        let body = sql.trim_end();
        let body = body.strip_suffix(';').unwrap_or(body);
        let pieces = if body.contains(';') {
            split(sql)
        } else {
            Vec::new()
        };
        let statements = pieces
            .iter()
            .filter(|p| !is_blank(&sql[p.start..p.end]))
            .count();
        let several = statements > 1;
        // Usage counts statements run (the extended protocol counts each Execute).
        self.usage
            .queries
            .fetch_add(statements.max(1) as u64, Ordering::Relaxed);
        if several {
            // The whole string first: stacking itself is evidence (`...; DROP TABLE`), and a
            // plugin sees every statement together. Then each statement, to refuse exactly
            // the one a rule objects to.
            let (d, _) = self.judge(sql, None);
            if let Some(err) = self.denial(&d) {
                denied = Some((0, err));
            }
        }
        if several && denied.is_none() {
            for p in pieces {
                let text = &sql[p.start..p.end];
                if is_blank(text) {
                    continue;
                }
                let (d, r) = self.judge(text, None);
                if let Some(err) = self.denial(&d) {
                    denied = Some((p.start, err));
                    break;
                }
                if r == Route::Primary {
                    route = Route::Primary;
                }
            }
        } else if !several && !is_blank(sql) {
            let (d, r) = self.judge(sql, None);
            if let Some(err) = self.denial(&d) {
                denied = Some((0, err));
            }
            route = r;
        }
        match denied {
            None => {
                if !self.ensure_server(route).await {
                    self.push_ready();
                    return Ok(());
                }
                if route != Route::Read {
                    self.idle_after = false;
                }
                self.sout.extend_from_slice(frame);
                self.push(Expect::Query { deny: None });
            }
            Some((at, err)) => {
                let nothing_before = is_blank(&sql[..at].replace(';', " "));
                if nothing_before && self.tx == b'I' && self.expect.is_empty() {
                    // Nothing runs, no transaction to abort: answer here.
                    let mut b = BytesMut::from(&err[..]);
                    be::ready_for_query(&mut b, TransactionStatus::Idle);
                    self.push(Expect::Synth(b.freeze()));
                    return Ok(());
                }
                if !self.ensure_server(Route::Primary).await {
                    self.push_ready();
                    return Ok(());
                }
                self.idle_after = false;
                let text = format!("{}SELECT {}()", &sql[..at], self.shared.deny_marker);
                fe::query(&mut self.sout, &text)?;
                self.push(Expect::Query { deny: Some(err) });
            }
        }
        Ok(())
    }

    async fn on_parse(
        &mut self,
        p: &articdbm_pgwire::frontend::Parse,
    ) -> articdbm_pgwire::Result<()> {
        let name = p.statement_name()?;
        let sql = p.query()?;
        p.validate()?;
        self.sync_pending = true;
        let (d, route) = self.judge(sql, Some(name));
        if let Some(err) = self.denial(&d) {
            if !self.ensure_server(Route::Primary).await {
                self.skip_until_sync = true;
                return Ok(());
            }
            self.idle_after = false;
            fe::parse(
                &mut self.sout,
                "",
                &format!("SELECT {}()", self.shared.deny_marker),
                &[],
            )?;
            self.push(Expect::Parse {
                swallow: false,
                hash: None,
                deny: Some(err),
            });
            return Ok(());
        }
        if name.is_empty() {
            if !self.ensure_server(route).await {
                self.skip_until_sync = true;
                return Ok(());
            }
            if route != Route::Read {
                self.idle_after = false;
            }
            self.sout.extend_from_slice(p.frame());
            self.push(Expect::Parse {
                swallow: false,
                hash: None,
                deny: None,
            });
            return Ok(());
        }
        if self.stmts.contains_key(name) {
            let mut b = BytesMut::new();
            error(
                &mut b,
                "42P05",
                &format!("prepared statement \"{name}\" already exists"),
            );
            self.push(Expect::Synth(b.freeze()));
            self.skip_until_sync = true;
            return Ok(());
        }
        // The server-side name is derived from the text and parameter types, so clients
        // preparing the same statement share it on a server connection, and no client ever
        // sees (or collides with) another's names.
        let rest = &p.body()[name.len() + 1..];
        let hash = self.shared.statement_id(rest);
        let server_name = format!("articdbm_s{hash}");
        let mut parse = BytesMut::with_capacity(rest.len() + server_name.len() + 6);
        parse.put_u8(b'P');
        parse.put_u32((4 + server_name.len() + 1 + rest.len()) as u32);
        parse.put_slice(server_name.as_bytes());
        parse.put_u8(0);
        parse.put_slice(rest);
        let prepared = Prepared {
            hash,
            parse: parse.freeze(),
            server_name,
            route,
        };
        if !self.has_server() && self.mode == PoolMode::Transaction {
            // No server needed yet: the statement is prepared on whichever server connection
            // first runs it (a Bind or Describe injects the Parse). A client preparing
            // synchronously then never waits in the pool queue behind clients of its own
            // thread; an error in the statement surfaces at its first use.
            self.stmts.insert(name.to_string(), Arc::new(prepared));
            let mut b = BytesMut::new();
            be::parse_complete(&mut b);
            self.push(Expect::Synth(b.freeze()));
            return Ok(());
        }
        if !self.ensure_server(route).await {
            self.skip_until_sync = true;
            return Ok(());
        }
        if route != Route::Read {
            self.idle_after = false;
        }
        self.prepare_on_server(&prepared, false);
        self.stmts.insert(name.to_string(), Arc::new(prepared));
        Ok(())
    }

    /// Makes sure the leased server connection has `p`; `inject`: the client did not ask
    /// for this Parse, swallow its answer.
    fn prepare_on_server(&mut self, p: &Prepared, inject: bool) {
        let (prepared, cap) = match (&self.lease, &self.following) {
            (Some(l), _) => (&l.conn.prepared, l.db().settings.max_prepared_statements),
            (None, Some(f)) => (&f.relay.prepared, self.db.settings.max_prepared_statements),
            (None, None) => return,
        };
        let mut set = prepared.lock();
        if set.set.contains(&p.hash) {
            drop(set);
            if !inject {
                let mut b = BytesMut::new();
                be::parse_complete(&mut b);
                self.push(Expect::Synth(b.freeze()));
            }
            return;
        }
        let mut evict = Vec::new();
        while set.set.len() >= cap {
            let Some(old) = set.order.pop_front() else {
                break;
            };
            if set.set.remove(&old) {
                evict.push(old);
            }
        }
        set.set.insert(p.hash);
        set.order.push_back(p.hash);
        if set.order.len() > 2 * cap {
            // Entries of statements that failed to prepare: drop them.
            let super::server::PreparedSet { set, order } = &mut *set;
            order.retain(|h| set.contains(h));
        }
        drop(set);
        for old in evict {
            // In stream order: a later Bind of the evicted statement re-prepares it.
            let _ = fe::close(
                &mut self.sout,
                articdbm_pgwire::frontend::Target::Statement,
                &format!("articdbm_s{old}"),
            );
            self.push(Expect::CloseInjected);
        }
        self.sout.extend_from_slice(&p.parse);
        self.push(Expect::Parse {
            swallow: inject,
            hash: Some(p.hash),
            deny: None,
        });
    }

    async fn on_bind(
        &mut self,
        b: &articdbm_pgwire::frontend::Bind,
    ) -> articdbm_pgwire::Result<()> {
        let portal = b.portal()?;
        let stmt = b.statement()?;
        self.sync_pending = true;
        let Some(p) = self.stmts.get(stmt).cloned() else {
            if !stmt.is_empty() {
                self.idle_after = false;
            }
            return self
                .forward_extended(b.frame(), Expect::Bind, Route::Primary)
                .await;
        };
        let ok = self.ensure_server(p.route).await;
        if p.route != Route::Read {
            self.idle_after = false;
        }
        if ok {
            self.prepare_on_server(&p, true);
            let rest = &b.body()[portal.len() + 1 + stmt.len() + 1..];
            let len = 4 + portal.len() + 1 + p.server_name.len() + 1 + rest.len();
            self.sout.put_u8(b'B');
            self.sout.put_u32(len as u32);
            self.sout.put_slice(portal.as_bytes());
            self.sout.put_u8(0);
            self.sout.put_slice(p.server_name.as_bytes());
            self.sout.put_u8(0);
            self.sout.put_slice(rest);
            self.push(Expect::Bind);
        } else {
            self.skip_until_sync = true;
        }
        Ok(())
    }

    async fn on_describe(
        &mut self,
        d: &articdbm_pgwire::frontend::Describe,
    ) -> articdbm_pgwire::Result<()> {
        use articdbm_pgwire::frontend::Target;
        let (target, name) = d.target()?;
        self.sync_pending = true;
        if target == Target::Portal {
            return self
                .forward_extended(d.frame(), Expect::DescribePortal, Route::Primary)
                .await;
        }
        let Some(p) = self.stmts.get(name).cloned() else {
            return self
                .forward_extended(d.frame(), Expect::DescribeStatement, Route::Primary)
                .await;
        };
        if self.ensure_server(p.route).await {
            self.prepare_on_server(&p, true);
            fe::describe(&mut self.sout, Target::Statement, &p.server_name)?;
            self.push(Expect::DescribeStatement);
        } else {
            self.skip_until_sync = true;
        }
        Ok(())
    }

    fn on_close(&mut self, c: &articdbm_pgwire::frontend::Close) -> articdbm_pgwire::Result<()> {
        use articdbm_pgwire::frontend::Target;
        let (target, name) = c.target()?;
        self.sync_pending = true;
        let named_statement = target == Target::Statement && !name.is_empty();
        if named_statement || !self.has_server() {
            // Server-side statements are shared and stay; portals do not outlive the
            // transaction that held the server connection.
            self.stmts.remove(name);
            let mut b = BytesMut::new();
            be::close_complete(&mut b);
            self.push(Expect::Synth(b.freeze()));
            return Ok(());
        }
        self.sout.extend_from_slice(c.frame());
        self.push(Expect::Close);
        Ok(())
    }

    async fn forward_extended(
        &mut self,
        frame: &Bytes,
        e: Expect,
        route: Route,
    ) -> articdbm_pgwire::Result<()> {
        self.sync_pending = true;
        if self.ensure_server(route).await {
            self.sout.extend_from_slice(frame);
            self.push(e);
        } else {
            self.skip_until_sync = true;
        }
        Ok(())
    }
}

/// Returns `Pending` once, having woken itself: the task goes to the back of the run queue,
/// behind tasks already woken, without waiting for an I/O poll as `tokio::task::yield_now`
/// does.
async fn yield_once() {
    let mut yielded = false;
    std::future::poll_fn(|cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
    .await
}

/// Room for a read of at least 4 KiB.
fn reserve(buf: &mut BytesMut) {
    if buf.capacity() - buf.len() < 4096 {
        buf.reserve(8192);
    }
}

fn status(b: u8) -> TransactionStatus {
    match b {
        b'T' => TransactionStatus::InTransaction,
        b'E' => TransactionStatus::Failed,
        _ => TransactionStatus::Idle,
    }
}

fn error(buf: &mut BytesMut, code: &str, message: &str) {
    be::error_response(buf, &PgError::new(Severity::Error, code, message));
}

fn param_status(frame: &[u8]) -> Option<(String, String)> {
    let body = frame.get(5..)?;
    let mut it = body.split(|b| *b == 0);
    let k = std::str::from_utf8(it.next()?).ok()?;
    let v = std::str::from_utf8(it.next()?).ok()?;
    Some((k.to_string(), v.to_string()))
}

/// The message field of an ErrorResponse frame.
fn error_message(frame: &[u8]) -> String {
    let body = frame.get(5..).unwrap_or_default();
    body.split(|b| *b == 0)
        .find_map(|f| f.strip_prefix(b"M"))
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .unwrap_or_else(|| "the server ended the connection".into())
}

fn is_fatal(frame: &[u8]) -> bool {
    // Field 'S' (severity) comes first in PostgreSQL's ErrorResponse.
    let body = frame.get(5..).unwrap_or_default();
    body.split(|b| *b == 0)
        .any(|f| f == b"SFATAL" || f == b"SPANIC")
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Functions that only read: a statement calling only these may run on a replica.
const READ_ONLY_FUNCTIONS: &[&str] = &[
    "abs",
    "array_agg",
    "avg",
    "btrim",
    "ceil",
    "ceiling",
    "char_length",
    "coalesce",
    "concat",
    "concat_ws",
    "count",
    "current_database",
    "current_date",
    "current_schema",
    "current_timestamp",
    "current_user",
    "date_part",
    "date_trunc",
    "dense_rank",
    "every",
    "extract",
    "first_value",
    "floor",
    "format",
    "generate_series",
    "greatest",
    "json_agg",
    "json_build_object",
    "jsonb_agg",
    "jsonb_build_object",
    "lag",
    "last_value",
    "lead",
    "least",
    "left",
    "length",
    "lower",
    "ltrim",
    "max",
    "md5",
    "min",
    "now",
    "nullif",
    "position",
    "rank",
    "regexp_replace",
    "replace",
    "right",
    "round",
    "row_number",
    "rtrim",
    "session_user",
    "split_part",
    "string_agg",
    "substr",
    "substring",
    "sum",
    "to_char",
    "to_date",
    "to_json",
    "to_jsonb",
    "to_timestamp",
    "trim",
    "trunc",
    "unnest",
    "upper",
    "version",
];

/// A statement that only reads and may run on a replica.
fn is_read(f: &QueryFacts) -> bool {
    f.parsed
        && !f.locking_read
        && !f.file_access
        && !f.statements.is_empty()
        && f.statements
            .iter()
            .all(|s| matches!(s, StatementKind::Select))
        && f.tables.iter().all(|t| t.access == AccessMode::Read)
        && f.functions.iter().all(|c| {
            let name = c.name.strip_prefix("pg_catalog.").unwrap_or(&c.name);
            READ_ONLY_FUNCTIONS.contains(&name)
        })
}

/// A temporary access token given as the password: known, not expired, and within its uses
/// (counted in the key-value store, so across gateways when it is Redis).
async fn token_admits(
    shared: &Shared,
    tenant: &str,
    tokens: &[crate::config::AccessToken],
    password: &[u8],
) -> bool {
    use sha2::Digest;
    if tokens.is_empty() {
        return false;
    }
    let digest: [u8; 32] = sha2::Sha256::digest(password).into();
    let Some(t) = tokens.iter().find(|t| t.sha256 == digest) else {
        return false;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(u64::MAX);
    if now >= t.expires_at_ms {
        tracing::info!(token = %t.id, "access token expired");
        return false;
    }
    let Some(max) = t.max_uses else {
        return true;
    };
    let kv = Arc::clone(&shared.engine.runtime().services().kv);
    let key = format!("{tenant}\u{1f}gateway\u{1f}token-uses\u{1f}{}", t.id);
    let ttl = Duration::from_millis(t.expires_at_ms - now + 60_000);
    // Exact across gateways (one Redis round trip), off the async workers.
    let counted = tokio::task::spawn_blocking(move || kv.incr_exact(&key, 1, Some(ttl)))
        .await
        .unwrap_or_else(|e| Err(crate::runtime::kv::KvFailure::Unavailable(e.to_string())));
    match counted {
        Ok(n) if n >= 1 && (n as u64) <= max => true,
        Ok(n) => {
            tracing::info!(token = %t.id, uses = n, max, "access token used up");
            false
        }
        Err(e) => {
            // Cannot count: refuse rather than allow more uses than granted.
            tracing::warn!(token = %t.id, "access token refused, uses cannot be counted: {e}");
            false
        }
    }
}

/// Managed mode: refusals, would-denies and audits always, allowed statements at the pack's
/// `audit_sample` rate, become audit events for the manager.
fn audit(
    shared: &Shared,
    conn: &Connection,
    action: &str,
    database: &str,
    d: &Decision,
    sql: Option<&str>,
) {
    let Some(sink) = shared.audit.load_full() else {
        return;
    };
    let (verdict, hit) = if let Some(h) = &d.denied {
        ("deny", Some(h))
    } else if let Some(f) = d.findings.iter().find(|f| f.kind == FindingKind::WouldDeny) {
        ("would-deny", Some(&f.hit))
    } else if let Some(f) = d.findings.first() {
        ("audit", Some(&f.hit))
    } else {
        let p = d.audit_sample;
        if p <= 0.0 || !sample(p) {
            return;
        }
        ("allow", None)
    };
    let mut e = crate::audit::AuditEvent::new(&conn.tenant, &conn.user, action, database, verdict);
    let mut detail = serde_json::json!({"client_addr": conn.client_addr});
    if let Some(h) = hit {
        detail["rule"] = h.rule.clone().into();
        detail["plugin"] = h.plugin.clone().into();
        detail["binding"] = h.binding.clone().into();
        detail["reason"] = h.reason.clone().into();
    }
    if let Some(sql) = sql {
        let cut = sql
            .char_indices()
            .nth(2000)
            .map(|(i, _)| i)
            .unwrap_or(sql.len());
        detail["sql"] = sql[..cut].into();
    }
    e.detail = detail;
    sink.record(e);
}

/// True with probability `p` (a per-thread xorshift; sampling, not security).
fn sample(p: f64) -> bool {
    use std::cell::Cell;
    thread_local! {
        static STATE: Cell<u64> = Cell::new({
            let mut b = [0u8; 8];
            let _ = getrandom::fill(&mut b);
            u64::from_le_bytes(b) | 1
        });
    }
    STATE.with(|s| {
        let mut x = s.get();
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.set(x);
        (x >> 11) as f64 / (1u64 << 53) as f64 <= p
    })
}

fn log_findings(d: &Decision, conn: &Connection, sql: Option<&str>) {
    for f in &d.findings {
        match f.kind {
            FindingKind::WouldDeny => tracing::warn!(user = %conn.user, tenant = %conn.tenant,
                rule = %f.hit.rule, plugin = %f.hit.plugin, reason = %f.hit.reason,
                sql = sql.unwrap_or(""), "monitor mode: would deny"),
            _ => tracing::info!(user = %conn.user, tenant = %conn.tenant, kind = ?f.kind,
                rule = %f.hit.rule, plugin = %f.hit.plugin, reason = %f.hit.reason, "policy finding"),
        }
    }
}
