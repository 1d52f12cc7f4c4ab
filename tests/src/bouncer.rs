//! PgBouncer (the Debian package's binary) in front of a [`PgServer`], with a generated ini in
//! a temporary directory, run in the foreground as the server user and killed on drop.

use crate::net;
use crate::pg::{PgServer, connstr};
use crate::privilege::{server_command, server_tempdir};
use crate::process;

use crate::tools;
use anyhow::{Context, Result, bail};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const BIND_ATTEMPTS: usize = 4;

/// PgBouncer's `pool_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolMode {
    Session,
    Transaction,
    Statement,
}

impl PoolMode {
    fn as_str(self) -> &'static str {
        match self {
            PoolMode::Session => "session",
            PoolMode::Transaction => "transaction",
            PoolMode::Statement => "statement",
        }
    }
}

/// A running PgBouncer serving one database of one server for one user.
pub struct PgBouncer {
    // Declared before `dir` so the process dies before its directory is removed.
    child: Child,
    dir: tempfile::TempDir,
    log: PathBuf,
    port: u16,
    db: String,
}

impl PgBouncer {
    /// Serves database `db` of `pg` under the same name. `user`/`password` are both the
    /// client login (SCRAM against the userlist, which holds the plain password) and the
    /// server login; `pool_size` is `default_pool_size` and `max_db_connections`.
    pub fn start(
        pg: &PgServer,
        db: &str,
        user: &str,
        password: &str,
        pool_size: u32,
        mode: PoolMode,
    ) -> Result<PgBouncer> {
        PgBouncer::start_via(pg, pg.host(), db, user, password, pool_size, mode)
    }

    /// As [`PgBouncer::start`], reaching the server at `host`: its address, or the directory
    /// of its Unix-domain socket ([`PgServer::socket_dir`]).
    pub fn start_via(
        pg: &PgServer,
        host: &str,
        db: &str,
        user: &str,
        password: &str,
        pool_size: u32,
        mode: PoolMode,
    ) -> Result<PgBouncer> {
        let dir = server_tempdir("articdbm-pgbouncer-")?;
        let userlist = dir.path().join("userlist.txt");
        std::fs::write(&userlist, format!("{} {}\n", quote(user), quote(password)))?;
        let log = dir.path().join("pgbouncer.log");
        let ini = dir.path().join("pgbouncer.ini");
        let mut last = None;
        for _ in 0..BIND_ATTEMPTS {
            let port = net::free_port()?;
            std::fs::write(
                &ini,
                format!(
                    "[databases]\n\
                     {db} = host={host} port={pg_port} dbname={db}\n\
                     \n\
                     [pgbouncer]\n\
                     listen_addr = 127.0.0.1\n\
                     listen_port = {port}\n\
                     unix_socket_dir = {sock}\n\
                     pidfile = {sock}/pgbouncer.pid\n\
                     auth_type = scram-sha-256\n\
                     auth_file = {userlist}\n\
                     pool_mode = {mode}\n\
                     default_pool_size = {pool_size}\n\
                     max_db_connections = {pool_size}\n\
                     min_pool_size = 0\n\
                     reserve_pool_size = 0\n\
                     max_client_conn = 1000\n\
                     server_tls_sslmode = disable\n\
                     client_tls_sslmode = disable\n\
                     ignore_startup_parameters = extra_float_digits\n\
                     log_connections = 0\n\
                     log_disconnections = 0\n",
                    db = quote_db(db),
                    pg_port = pg.port(),
                    sock = dir.path().display(),
                    userlist = userlist.display(),
                    mode = mode.as_str(),
                ),
            )?;
            let logfile = std::fs::File::create(&log)?;
            let mut cmd = server_command(&tools::pgbouncer()?, dir.path())?;
            let mut child = process::own_session(&mut cmd)
                .arg(&ini)
                .stdin(Stdio::null())
                .stdout(logfile.try_clone()?)
                .stderr(logfile)
                .spawn()
                .context("starting pgbouncer")?;
            match wait_ready(&mut child, port) {
                Ok(()) => {
                    return Ok(PgBouncer {
                        child,
                        dir,
                        log,
                        port,
                        db: db.to_string(),
                    });
                }
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    let e = e.context(format!("pgbouncer log:\n{text}"));
                    if !text.contains("Address already in use") {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    pub fn addr(&self) -> SocketAddr {
        net::loopback(self.port)
    }

    /// The database name clients use (the same as on the server).
    pub fn database(&self) -> &str {
        &self.db
    }

    /// A libpq connection string to the pooled database.
    pub fn connstr(&self, user: &str, password: &str) -> String {
        connstr(self.host(), self.port, &self.db, user, password)
    }

    /// Runs `sql` with psql through PgBouncer.
    pub fn psql(&self, user: &str, password: &str, sql: &str) -> Result<String> {
        crate::pg::psql(self.host(), self.port, &self.db, user, password, sql)
    }

    /// PgBouncer's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The directory holding the ini, userlist and log.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Drop for PgBouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn wait_ready(child: &mut Child, port: u16) -> Result<()> {
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait()? {
            bail!("pgbouncer exited at start ({status})");
        }
        if net::wait_for_port(net::loopback(port), Duration::from_millis(100)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("pgbouncer did not listen on port {port} within {READY_TIMEOUT:?}");
        }
    }
}

/// A userlist field: double-quoted, `"` doubled.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A database name as an ini key; names outside `[A-Za-z0-9_]` are double-quoted.
fn quote_db(s: &str) -> String {
    if s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        s.to_string()
    } else {
        quote(s)
    }
}
