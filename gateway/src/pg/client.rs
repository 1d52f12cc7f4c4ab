//! One client connection: startup (TLS, protocol negotiation, SCRAM-SHA-256), the on-connect
//! policy, then the driver that runs the session core ([`super::core::PgCore`]): it owns the
//! client socket and the leased server connection, decodes what each side sends for the core,
//! writes what the core produces, and leases, releases and resolves what the core asks for.
//! The protocol decisions (judging, name mapping, the response queue) are the core's.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};
use std::time::Duration;

use articdbm_pgwire::auth::scram::{ScramServer, ScramVerifier};
use articdbm_pgwire::backend::encode as be;
use articdbm_pgwire::{
    BackendDecoder, FrontendDecoder, FrontendMessage, StartupDecoder, StartupPacket,
    TransactionStatus, frame_is_complete,
};
use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::io::poll_read_buf;

use super::core::{Attached, CoreSettings, End, PgCore, Step, fatal};
use super::pool::{Lease, Route};
use super::server::{Endpoint, ServerConn};
use super::stream::PgStream;
use super::{CancelSlot, Shared};
use crate::config::PoolMode;
use crate::runtime::bindings::{Connection, Protocol};
use crate::session::{EngineJudge, Refusal};

/// Buffered bytes in one direction above which the gateway stops reading the other side.
const HIGH_WATER: usize = 256 * 1024;

pub(super) async fn handle(shared: Arc<Shared>, tcp: TcpStream, peer: SocketAddr) {
    let _ = tcp.set_nodelay(true);
    shared.metrics.client_connections.inc();
    shared.metrics.active_connections.inc();
    // The startup and the ending run in futures of their own on the heap, and so do the
    // session's rarer waits (`process_client`): this task's future is what every idle client
    // costs, so it holds only what waiting for bytes needs.
    let r = Box::pin(startup(&shared, PgStream::Tcp(tcp), peer)).await;
    if let Ok(Some(mut s)) = r {
        let end = s.run().await;
        tracing::debug!(?end, user = %s.judge.conn.user, "client session ended");
        Box::pin(s.finish()).await;
    }
    shared.metrics.active_connections.dec();
}

/// The startup phase. `Ok(None)`: the connection was handled (cancel request, refusal).
async fn startup(
    shared: &Arc<Shared>,
    mut stream: PgStream,
    peer: SocketAddr,
) -> std::io::Result<Option<Box<Session>>> {
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
    let usage = match shared.admit(&user, peer.ip(), &conn) {
        Ok(u) => u,
        Err(r) => {
            let (code, msg) = match r {
                Refusal::TlsRequired => (
                    "28000",
                    format!("user \"{user_name}\" may only connect over TLS"),
                ),
                Refusal::Network => (
                    "28000",
                    format!(
                        "user \"{user_name}\" may not connect from {}",
                        peer.ip().to_canonical()
                    ),
                ),
                Refusal::Database => (
                    "42501",
                    format!(
                        "permission denied for database \"{db_name}\": user \"{user_name}\" may not connect to it"
                    ),
                ),
                Refusal::Policy { rule, reason } => (
                    "42501",
                    format!("connection refused by policy rule {rule}: {reason}"),
                ),
            };
            out.extend_from_slice(&fatal(code, msg));
            stream.write_all(&out).await?;
            return Ok(None);
        }
    };
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
                tracing::warn!(database = %db_name, error = %e, "no server connection for a new client");
                out.extend_from_slice(&fatal(e.sqlstate(), e.to_string_client()));
                stream.write_all(&out).await?;
                return Ok(None);
            }
        }
    } else if db.primary().state.server_params.lock().is_empty() {
        // The first client of this database: learn the server's parameters to show them.
        match db.acquire(Route::Primary).await {
            Ok(l) => {
                db.release(l, true);
            }
            Err(e) => {
                tracing::warn!(database = %db_name, error = %e, "no server connection for a new client");
                out.extend_from_slice(&fatal(e.sqlstate(), e.to_string_client()));
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
    let settings = CoreSettings {
        mode,
        max_prepared: db.settings.max_prepared_statements,
        function_call: db.settings.function_call,
        deny_marker: shared.deny_marker.clone(),
    };
    let mut core = PgCore::new(settings, Arc::clone(&shared.statement_ids));
    core.functions = Arc::clone(&db.connector.functions);
    core.client_out().extend_from_slice(&out);
    if let Some(l) = &mut lease {
        core.attach(Attached::new(std::mem::take(&mut l.conn.prepared)));
    }
    let judge = EngineJudge {
        engine: Arc::clone(&shared.engine),
        metrics: Arc::clone(&shared.metrics),
        audit: shared.audit.load_full(),
        conn,
        usage,
        database: db_name.clone(),
        protocol: Protocol::Postgres,
    };
    Ok(Some(Box::new(Session {
        shared: Arc::clone(shared),
        db_name,
        db,
        mode,
        client: stream,
        cbuf: buf,
        decoder: FrontendDecoder::with_max_message_len(config.server.max_message_bytes),
        server_decoder: BackendDecoder::with_max_message_len(
            config.server.max_server_message_bytes,
        ),
        core,
        judge,
        lease,
        cancel_pid: pid,
        cancel_slot: slot,
    })))
}

/// The tokio driver of one client session: owns the sockets and the lease, feeds decoded
/// messages to the [`PgCore`] and carries out what it asks for.
struct Session {
    shared: Arc<Shared>,
    db_name: String,
    /// The database's pool (replaced when a reload closes it).
    db: Arc<super::pool::DbPool>,
    mode: PoolMode,
    client: PgStream,
    cbuf: BytesMut,
    decoder: FrontendDecoder,
    server_decoder: BackendDecoder,
    core: PgCore,
    judge: EngineJudge,
    lease: Option<Lease>,
    cancel_pid: i32,
    cancel_slot: CancelSlot,
}

enum Event {
    ClientRead(std::io::Result<usize>),
    ClientWrote(std::io::Result<usize>),
    ServerRead(std::io::Result<usize>),
    ServerWrote(std::io::Result<usize>),
}

impl Session {
    async fn run(&mut self) -> End {
        loop {
            if let Some(end) = self.process_client().await {
                return end;
            }
            if self.lease.is_none() && self.cbuf.is_empty() {
                // Between transactions the session holds no buffer: idle clients cost only
                // their state (see `poll_io` for the read).
                if self.cbuf.capacity() > 0 {
                    self.cbuf = BytesMut::new();
                }
                self.core.release_idle_buffers();
            }
            let ev = std::future::poll_fn(|cx| self.poll_io(cx)).await;
            crate::spin::event();
            match ev {
                Event::ClientWrote(Ok(n)) => {
                    self.core.client_out().advance(n);
                }
                Event::ClientWrote(Err(_))
                | Event::ClientRead(Err(_))
                | Event::ClientRead(Ok(0)) => {
                    return End::ClientGone;
                }
                Event::ClientRead(Ok(_)) => {}
                Event::ServerWrote(Ok(n)) => {
                    self.core.server_written(n);
                    self.maybe_release();
                }
                Event::ServerRead(Ok(n)) if n > 0 => {
                    if let Some(end) = self.process_server() {
                        return end;
                    }
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
        let cout_len = {
            let cout = self.core.client_out();
            if !cout.is_empty()
                && let Poll::Ready(r) = Pin::new(&mut self.client).poll_write(cx, cout)
            {
                return Poll::Ready(Event::ClientWrote(r));
            }
            cout.len()
        };
        if let Some(l) = &mut self.lease {
            let conn = &mut l.conn;
            let sout = self.core.server_out();
            if !sout.is_empty()
                && let Poll::Ready(r) = Pin::new(&mut conn.io).poll_write(cx, sout)
            {
                return Poll::Ready(Event::ServerWrote(r));
            }
            if cout_len < HIGH_WATER {
                reserve(&mut conn.rbuf);
                if let Poll::Ready(r) = poll_read_buf(Pin::new(&mut conn.io), cx, &mut conn.rbuf) {
                    return Poll::Ready(Event::ServerRead(r));
                }
            }
        }
        // A whole message already waiting (one the session is not ready to handle) is
        // enough: reading on would buffer without bound.
        if self.core.server_out_len() < HIGH_WATER
            && cout_len < HIGH_WATER
            && (self.cbuf.len() < HIGH_WATER || !frame_is_complete(&self.cbuf))
        {
            // With no buffer (an idle session gave it back), wait until the client has sent
            // something before allocating one.
            let ready = if self.cbuf.capacity() == 0 {
                match self.client.poll_read_ready(cx) {
                    Poll::Ready(Ok(())) => true,
                    Poll::Ready(Err(e)) => return Poll::Ready(Event::ClientRead(Err(e))),
                    Poll::Pending => false,
                }
            } else {
                true
            };
            if ready {
                reserve(&mut self.cbuf);
                if let Poll::Ready(r) =
                    poll_read_buf(Pin::new(&mut self.client), cx, &mut self.cbuf)
                {
                    return Poll::Ready(Event::ClientRead(r));
                }
            }
        }
        Poll::Pending
    }

    /// Handles every complete client message in the buffer. `Some`: the session ends.
    async fn process_client(&mut self) -> Option<End> {
        while self.core.server_out_len() < HIGH_WATER {
            let mut step = if self.core.has_parked() {
                // A message waiting for a Parse's answer goes first.
                if self.core.is_waiting() {
                    return None;
                }
                self.core.resume(&mut self.judge)
            } else {
                let msg = match self.decoder.decode(&mut self.cbuf) {
                    Ok(Some(m)) => m,
                    Ok(None) => return None,
                    Err(e) => return Some(self.protocol_error(&e)),
                };
                self.core.handle(msg, &mut self.judge)
            };
            loop {
                match step {
                    Ok(Step::Continue) => break,
                    Ok(Step::Wait) => return None,
                    Ok(Step::End(end)) => return Some(end),
                    Ok(Step::NeedServer(route)) => match Box::pin(self.acquire(route)).await {
                        Ok(()) => step = self.core.resume(&mut self.judge),
                        Err((code, message)) => {
                            self.core.acquire_failed(code, &message);
                            break;
                        }
                    },
                    Ok(Step::ResolveFunction(oid)) => {
                        if Box::pin(self.resolve_function(oid)).await {
                            step = self.core.resume(&mut self.judge);
                        } else {
                            self.core.function_unknown(oid);
                            break;
                        }
                    }
                    Err(e) => return Some(self.protocol_error(&e)),
                }
            }
        }
        None
    }

    fn protocol_error(&mut self, e: &articdbm_pgwire::ProtocolError) -> End {
        self.shared
            .metrics
            .protocol_errors
            .with_label_values(&[e.kind()])
            .inc();
        self.core
            .client_out()
            .extend_from_slice(&fatal(e.sqlstate(), e.to_string_client()));
        End::Fatal
    }

    /// Leases a server connection and attaches it to the core. `Err`: the SQLSTATE and
    /// message for the client.
    async fn acquire(&mut self, route: Route) -> Result<(), (&'static str, String)> {
        // Whatever is owed to the client goes out before waiting in the queue.
        let cout = self.core.client_out();
        if !cout.is_empty() {
            let r = self.client.write_all(cout).await;
            cout.clear();
            if r.is_err() {
                return Err(("08006", "the client connection failed".into()));
            }
        }
        // The database's pool, looked up again only when a reload replaced it.
        if self.db.is_closed() {
            match self.shared.database(&self.db_name) {
                Some(db) => {
                    self.core.functions = Arc::clone(&db.connector.functions);
                    self.db = db;
                }
                None => {
                    return Err((
                        "3D000",
                        format!("database \"{}\" no longer exists", self.db_name),
                    ));
                }
            }
        }
        match self.db.acquire(route).await {
            Ok(mut l) => {
                self.cancel_slot.lock().clone_from(&l.conn.cancel);
                self.core
                    .attach(Attached::new(std::mem::take(&mut l.conn.prepared)));
                self.lease = Some(l);
                Ok(())
            }
            Err(e) => {
                tracing::warn!(user = %self.judge.conn.user, database = %self.db_name, error = %e,
                    "no server connection for a client request");
                Err((e.sqlstate(), e.to_string_client()))
            }
        }
    }

    /// Finds the name of function `oid` on the primary (once per database: cached), on a
    /// connection of its own so that nothing interleaves with the session's. `false`: no
    /// such function, or it cannot be found out.
    async fn resolve_function(&mut self, oid: u32) -> bool {
        if self.db.connector.functions.lock().contains_key(&oid) {
            return true;
        }
        let primary = Arc::clone(self.db.primary());
        if !matches!(primary.endpoint, Endpoint::Postgres { .. }) {
            return false;
        }
        let sql = format!(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(p.proname) \
             FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace \
             WHERE p.oid = {oid}"
        );
        let timeout = self.db.settings.connect_timeout();
        let found = match ServerConn::connect(
            &primary.endpoint,
            &self.db.connector.ident,
            primary.index,
            timeout,
        )
        .await
        {
            Ok(mut c) => {
                let r = tokio::time::timeout(timeout, c.first_value(&sql)).await;
                tokio::spawn(Box::new(c).terminate());
                match r {
                    Ok(Ok(v)) => v,
                    Ok(Err(e)) => {
                        tracing::warn!(error = %e, oid, "resolving a function OID failed");
                        None
                    }
                    Err(_) => None,
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, oid, "resolving a function OID failed");
                None
            }
        };
        match found {
            Some(name) => {
                self.db.connector.functions.lock().insert(oid, name);
                true
            }
            None => false,
        }
    }

    /// Hands every complete server message to the core. `Some`: the session ends.
    fn process_server(&mut self) -> Option<End> {
        loop {
            let l = self.lease.as_mut()?;
            match self.server_decoder.decode(&mut l.conn.rbuf) {
                Ok(Some(m)) => {
                    if let Err(lost) = self.core.on_server(m) {
                        return self.server_lost(&lost.0);
                    }
                }
                Ok(None) => return None,
                Err(e) => {
                    l.conn.broken = true;
                    return self.server_lost(&format!("invalid message from the server: {e}"));
                }
            }
        }
    }

    /// Gives the server connection back at the end of a transaction (transaction pooling).
    /// True when a waiting client took it.
    fn maybe_release(&mut self) -> bool {
        if self.mode != PoolMode::Transaction || !self.core.at_idle_point() {
            return false;
        }
        let Some(mut l) = self.lease.take() else {
            return false;
        };
        self.detach_into(&mut l);
        *self.cancel_slot.lock() = None;
        let db = Arc::clone(l.db());
        db.release(l, true)
    }

    /// Takes the core's record of the server connection back into the connection.
    fn detach_into(&mut self, l: &mut Lease) {
        if let Some(a) = self.core.detach() {
            l.conn.prepared = a.prepared;
            l.conn.broken |= a.broken;
            for (k, v) in a.params {
                l.conn.params.insert(k, v);
            }
        }
    }

    /// The server connection failed under this client.
    fn server_lost(&mut self, why: &str) -> Option<End> {
        if let Some(mut l) = self.lease.take() {
            tracing::warn!(user = %self.judge.conn.user, database = %self.db_name,
                backend = %l.pool.label(), error = why, "server connection lost");
            self.detach_into(&mut l);
            let db = Arc::clone(l.db());
            db.release(l, false);
        }
        *self.cancel_slot.lock() = None;
        // The client is told the connection was lost, without the server's address.
        self.core.server_lost("the server connection failed")
    }

    /// The client is gone: give the server connection back in a known state.
    async fn finish(&mut self) {
        let cout = std::mem::take(self.core.client_out());
        let _ = self.client.write_all(&cout).await;
        self.shared.unregister_cancel(self.cancel_pid);
        let clean = self.core.clean();
        if let Some(mut l) = self.lease.take() {
            self.detach_into(&mut l);
            let db = Arc::clone(l.db());
            let mut reset = db.settings.reset_query.clone();
            if reset.is_empty() && self.mode == PoolMode::Session {
                // The next client must not reach this one's prepared statements.
                reset = "DEALLOCATE ALL".into();
            }
            let reusable = clean
                && (reset.is_empty()
                    || tokio::time::timeout(db.settings.connect_timeout(), l.conn.simple(&reset))
                        .await
                        .is_ok_and(|r| r.is_ok()));
            if reusable && !reset.is_empty() {
                l.conn.prepared.clear();
            }
            db.release(l, reusable);
        }
        let _ = self.client.shutdown().await;
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

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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
