//! Embedded SQLite backend speaking the PostgreSQL v3 protocol (server side).
//!
//! The gateway reaches an embedded database exactly as it reaches a PostgreSQL server: it
//! opens a byte stream (an in-process `tokio::io::duplex` pair), sends a StartupMessage and
//! relays frames. [`serve`] is the server end of that stream: startup, simple and extended
//! query protocols, transactions, and the PostgreSQL statements clients send that SQLite does
//! not know (`SET`, `SHOW`, `DISCARD ALL`, ...). What SQL reaches SQLite, the type mapping and
//! what is not supported are in docs/SQLITE.md.
//!
//! # Layout
//!
//! - `lex` / `sql`: tokenizing, splitting, classifying and rewriting statements (no I/O).
//! - `infer`: result types and names of select-list expressions.
//! - `types`: OIDs, decoding Bind parameters, encoding result values.
//! - `settings`: session settings (GUCs). `functions`: SQL functions registered per connection.
//! - `errors`: SQLite errors as SQLSTATEs.
//! - `session`: the protocol state machine over one SQLite connection (synchronous).
//! - this file: [`SqliteDb`] and the async glue of [`serve`].
//!
//! # Threads
//!
//! Each served connection gets its own OS thread owning its SQLite connection, so blocking
//! SQLite calls never run on a tokio worker. The async side reads and decodes frames and sends
//! them to the thread over a bounded channel; the thread answers with byte chunks over another
//! bounded channel that a writer future drains. Both channels are bounded, so a client that
//! does not read its results stops the thread instead of growing memory.

mod errors;
mod functions;
mod infer;
mod lex;
pub mod mysql;
mod session;
mod settings;
mod sql;
mod types;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::time::Duration;

use articdbm_pgwire::backend::encode::{self as enc, PgError, Severity};
use articdbm_pgwire::{
    FrontendDecoder, FrontendMessage, ProtocolError, StartupDecoder, StartupMessage, StartupPacket,
};
use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use rusqlite::{Connection, OpenFlags};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use session::{Flow, Output, Session};

/// Errors sent to the client are built on the cold path; boxed, they keep every `Result` in
/// this module small.
type PgResult<T> = Result<T, Box<PgError>>;

/// `Err` of a [`PgResult`].
fn fail<T>(e: PgError) -> PgResult<T> {
    Err(Box::new(e))
}

/// How long a statement waits for another connection's lock before failing with 55P03.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Frontend messages queued for a connection's thread.
const INPUT_QUEUE: usize = 64;
/// Output chunks queued for the writer.
const OUTPUT_QUEUE: usize = 16;

/// Errors opening a database.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqliteError {
    /// SQLite could not open or initialise the database.
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        /// The path as given.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
}

/// A SQLite database served over the PostgreSQL protocol: a file, or `":memory:"`.
///
/// Every served connection opens its own SQLite connection to it. A file database is put in
/// WAL mode (readers do not block the writer). `":memory:"` is one private in-memory database
/// shared by all connections of this `SqliteDb` (SQLite's `memdb` VFS), alive as long as the
/// `SqliteDb` is.
pub struct SqliteDb {
    path: PathBuf,
    /// What `Connection::open_with_flags` gets: the file path or the memdb URI.
    target: String,
    flags: OpenFlags,
    /// Keeps a memory database alive between client connections.
    anchor: Mutex<Option<Connection>>,
    next_pid: AtomicI32,
}

impl std::fmt::Debug for SqliteDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteDb")
            .field("path", &self.path)
            .finish()
    }
}

static MEMORY_DBS: AtomicU64 = AtomicU64::new(0);

impl SqliteDb {
    /// Open (creating if missing) the database at `path`; `":memory:"` opens a fresh
    /// in-memory database shared by all connections of the returned `SqliteDb`.
    pub fn open(path: &Path) -> Result<Arc<SqliteDb>, SqliteError> {
        let open_err = |source| SqliteError::Open {
            path: path.to_owned(),
            source,
        };
        let memory = path.as_os_str() == ":memory:";
        let base = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let (target, flags) = if memory {
            // memdb (not shared-cache): connections lock the whole database with ordinary
            // SQLITE_BUSY semantics, so the busy timeout applies; shared cache would fail
            // conflicting statements at once with SQLITE_LOCKED.
            let n = MEMORY_DBS.fetch_add(1, Ordering::Relaxed);
            (
                format!("file:/articdbm-{}-{n}?vfs=memdb", std::process::id()),
                base | OpenFlags::SQLITE_OPEN_URI,
            )
        } else {
            (path.to_string_lossy().into_owned(), base)
        };
        let db = SqliteDb {
            path: path.to_owned(),
            target,
            flags,
            anchor: Mutex::new(None),
            next_pid: AtomicI32::new(1),
        };
        let first = db.connect().map_err(open_err)?;
        if !memory {
            // Persistent: set once per file. Readers no longer block the writer.
            first
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
                .map_err(open_err)?;
        }
        // Fails here, not on the first client, if the file is not a database.
        first
            .query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(open_err)?;
        if memory {
            *db.anchor.lock() = Some(first);
        }
        Ok(Arc::new(db))
    }

    /// [`SqliteDb::open`], but the same `SqliteDb` for the same `key` while one is alive, so
    /// that the PostgreSQL and MySQL sides of one configured database share it (an in-memory
    /// database too).
    pub fn open_shared(key: &str, path: &Path) -> Result<Arc<SqliteDb>, SqliteError> {
        static OPEN: Mutex<Vec<(String, std::sync::Weak<SqliteDb>)>> = Mutex::new(Vec::new());
        let mut open = OPEN.lock();
        open.retain(|(_, w)| w.strong_count() > 0);
        if let Some(db) = open
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, w)| w.upgrade())
            .filter(|db| db.path == path)
        {
            return Ok(db);
        }
        let db = Self::open(path)?;
        open.retain(|(k, _)| k != key);
        open.push((key.to_string(), Arc::downgrade(&db)));
        Ok(db)
    }

    /// The path this database was opened with.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A new SQLite connection with the session defaults: busy timeout, foreign keys on.
    fn connect(&self) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(&self.target, self.flags)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        // PostgreSQL enforces foreign keys; SQLite does only when asked, per connection.
        conn.execute_batch("PRAGMA foreign_keys = ON")?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }

    fn next_pid(&self) -> i32 {
        self.next_pid.fetch_add(1, Ordering::Relaxed)
    }
}

/// What the reader hands to the connection's thread.
enum Input {
    Message(FrontendMessage),
    /// A frame that could not be decoded: answer FATAL and close.
    Malformed(ProtocolError),
}

/// Serves one connection until Terminate or EOF.
///
/// Each call gets its own SQLite connection (its own transaction state), owned by a dedicated
/// OS thread, so blocking SQLite calls never block the tokio worker. If the future is dropped
/// or the client disconnects, a statement still running is interrupted.
pub async fn serve<S>(stream: S, db: Arc<SqliteDb>) -> std::io::Result<()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf = BytesMut::with_capacity(8192);
    let startup = match read_startup(&mut rd, &mut wr, &mut buf).await? {
        Some(s) => s,
        None => return Ok(()),
    };

    let (in_tx, in_rx) = mpsc::channel::<Input>(INPUT_QUEUE);
    let (out_tx, out_rx) = mpsc::channel::<Bytes>(OUTPUT_QUEUE);
    let (handle_tx, handle_rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("articdbm-sqlite".into())
        .spawn(move || connection_thread(&db, &startup, in_rx, out_tx, handle_tx))?;
    // Interrupts a running statement when this future ends or is dropped first.
    let _guard = InterruptGuard(handle_rx.await.ok().flatten());

    let result = {
        let reader = read_loop(rd, buf, in_tx);
        let writer = write_loop(&mut wr, out_rx);
        tokio::pin!(reader, writer);
        tokio::select! {
            r = &mut reader => {
                // Input is over (Terminate, EOF, malformed): let the thread finish answering.
                let w = writer.await;
                r.and(w)
            }
            w = &mut writer => w,
        }
    };
    let _ = wr.shutdown().await;
    result
}

struct InterruptGuard(Option<rusqlite::InterruptHandle>);

impl Drop for InterruptGuard {
    fn drop(&mut self) {
        if let Some(h) = &self.0 {
            h.interrupt();
        }
    }
}

/// Read the startup phase: answer SSL/GSS requests with `N`, return the StartupMessage
/// (`None`: the client left, or sent a CancelRequest, which is not served).
async fn read_startup<R, W>(
    rd: &mut R,
    wr: &mut W,
    buf: &mut BytesMut,
) -> std::io::Result<Option<StartupMessage>>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    let decoder = StartupDecoder::new();
    loop {
        match decoder.decode(buf) {
            Ok(Some(StartupPacket::Startup(s))) => return Ok(Some(s)),
            Ok(Some(StartupPacket::SslRequest | StartupPacket::GssEncRequest)) => {
                let mut answer = BytesMut::with_capacity(1);
                enc::ssl_response(&mut answer, false);
                wr.write_all(&answer).await?;
                wr.flush().await?;
                continue;
            }
            Ok(Some(StartupPacket::Cancel(_))) => return Ok(None),
            Ok(None) => {}
            Err(e) => {
                let mut out = BytesMut::new();
                enc::error_response(&mut out, &PgError::from_protocol(&e, Severity::Fatal));
                wr.write_all(&out).await?;
                wr.flush().await?;
                return Ok(None);
            }
        }
        if rd.read_buf(buf).await? == 0 {
            return Ok(None);
        }
    }
}

/// Decode frames and queue them for the thread until Terminate, EOF or a malformed frame.
async fn read_loop<R: AsyncRead + Unpin>(
    mut rd: R,
    mut buf: BytesMut,
    tx: mpsc::Sender<Input>,
) -> std::io::Result<()> {
    let decoder = FrontendDecoder::new();
    loop {
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(msg)) => {
                    let terminate = matches!(msg, FrontendMessage::Terminate(_));
                    if tx.send(Input::Message(msg)).await.is_err() || terminate {
                        return Ok(());
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    let _ = tx.send(Input::Malformed(e)).await;
                    return Ok(());
                }
            }
        }
        if rd.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

/// Write the thread's output chunks until it is done.
async fn write_loop<W: AsyncWrite + Unpin>(
    wr: &mut W,
    mut rx: mpsc::Receiver<Bytes>,
) -> std::io::Result<()> {
    while let Some(chunk) = rx.recv().await {
        wr.write_all(&chunk).await?;
        while let Ok(more) = rx.try_recv() {
            wr.write_all(&more).await?;
        }
        wr.flush().await?;
    }
    Ok(())
}

/// The body of a connection's thread: start the session, then handle messages until the
/// input ends or the session closes.
fn connection_thread(
    db: &SqliteDb,
    startup: &StartupMessage,
    mut rx: mpsc::Receiver<Input>,
    tx: mpsc::Sender<Bytes>,
    handle: tokio::sync::oneshot::Sender<Option<rusqlite::InterruptHandle>>,
) {
    let mut session = match Session::start(db, startup, Output::new(tx)) {
        Ok(s) => s,
        Err(mut out) => {
            out.flush();
            let _ = handle.send(None);
            return;
        }
    };
    let _ = handle.send(Some(session.interrupt_handle()));
    // The session flushes its output at ReadyForQuery, Flush and when its buffer is full.
    while let Some(input) = rx.blocking_recv() {
        let flow = match input {
            Input::Message(m) => session.handle(m),
            Input::Malformed(e) => session.fatal_protocol(&e),
        };
        if flow == Flow::Close || session.out.closed {
            break;
        }
    }
    session.out.flush();
}
