//! A real PostgreSQL server per test: `initdb` into a temporary directory, SCRAM everywhere,
//! 127.0.0.1 on a free port, started with `pg_ctl -w start` and stopped (immediate mode) on
//! drop; plus streaming replicas made with `pg_basebackup -R`.

use crate::net;
use crate::privilege::{give, server_command, server_tempdir};
use crate::process::{self, alive, children, sigkill};
use crate::tools;
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The superuser every server is created with.
pub const SUPERUSER: &str = "postgres";
/// The role [`PgServer::start_replica`] creates on the primary and streams as.
pub const REPLICATION_USER: &str = "replicator";
const REPLICATION_PASSWORD: &str = "replicator-password";

const START_TIMEOUT: Duration = Duration::from_secs(60);
const PSQL_TIMEOUT: Duration = Duration::from_secs(60);
/// Attempts at binding a fresh free port before giving up (another process may take it
/// between `free_port()` and the server's bind).
const BIND_ATTEMPTS: usize = 4;

/// How `host` connections (TCP) authenticate, and how passwords are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostAuth {
    /// `scram-sha-256` in pg_hba.conf, `password_encryption = scram-sha-256`.
    ScramSha256,
    /// `md5` in pg_hba.conf, `password_encryption = md5` (backends still set up that way).
    Md5,
    /// Clear-text `password`; verifiers stay SCRAM.
    Password,
    /// `trust`: no password asked.
    Trust,
}

impl HostAuth {
    fn hba(self) -> &'static str {
        match self {
            HostAuth::ScramSha256 => "scram-sha-256",
            HostAuth::Md5 => "md5",
            HostAuth::Password => "password",
            HostAuth::Trust => "trust",
        }
    }

    fn encryption(self) -> &'static str {
        match self {
            HostAuth::Md5 => "md5",
            _ => "scram-sha-256",
        }
    }
}

/// How [`PgServer::start_with`] sets a server up.
#[derive(Debug, Clone)]
pub struct PgOptions {
    /// The `postgres` superuser's password (written to a pwfile for initdb).
    pub password: String,
    /// `max_connections`; 100 leaves room for pgbench runs next to a gateway pool.
    pub max_connections: u32,
    pub auth: HostAuth,
    /// More `postgresql.conf` settings, `(name, value)` with the value as written in the file
    /// (quote strings yourself: `("log_statement", "'all'")`).
    pub settings: Vec<(String, String)>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            password: "postgres-test-password".into(),
            max_connections: 100,
            auth: HostAuth::ScramSha256,
            settings: Vec::new(),
        }
    }
}

/// A running PostgreSQL server owned by the test. Stopped (`pg_ctl -m immediate`) and its
/// directory removed on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    password: String,
    running: bool,
}

impl PgServer {
    /// A server with [`PgOptions::default`].
    pub fn start() -> Result<PgServer> {
        PgServer::start_with(PgOptions::default())
    }

    pub fn start_with(opts: PgOptions) -> Result<PgServer> {
        let dir = server_tempdir("articdbm-pg-")?;
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        let pwfile = dir.path().join("pwfile");
        std::fs::write(&pwfile, format!("{}\n", opts.password))?;
        give(&pwfile)?;

        process::run(
            server_command(&tools::pg_server_bin("initdb")?, dir.path())?
                .arg("-D")
                .arg(&data)
                .args(["-U", SUPERUSER, "--auth-local=scram-sha-256"])
                .arg(format!("--auth-host={}", opts.auth.hba()))
                .arg(format!("--pwfile={}", pwfile.display()))
                .args([
                    "--encoding=UTF8",
                    "--locale=C",
                    "--no-sync",
                    "--no-instructions",
                ])
                .env("LC_ALL", "C"),
            Duration::from_secs(120),
        )
        .context("initdb")?;
        std::fs::remove_file(&pwfile)?;

        let method = opts.auth.hba();
        overwrite(
            &data.join("pg_hba.conf"),
            &format!(
                "# written by articdbm-tests\n\
                 local all         all scram-sha-256\n\
                 host  all         all 127.0.0.1/32 {method}\n\
                 host  all         all ::1/128      {method}\n\
                 host  replication all 127.0.0.1/32 scram-sha-256\n"
            ),
        )?;
        let mut conf = format!(
            "\n# written by articdbm-tests\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{socket}'\n\
             max_connections = {max}\n\
             password_encryption = '{enc}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             wal_level = replica\n\
             max_wal_senders = 10\n\
             hot_standby = on\n\
             logging_collector = off\n",
            socket = dir.path().display(),
            max = opts.max_connections,
            enc = opts.auth.encryption(),
        );
        for (name, value) in &opts.settings {
            conf.push_str(&format!("{name} = {value}\n"));
        }
        append(&data.join("postgresql.conf"), &conf)?;

        let mut server = PgServer {
            dir,
            data,
            log,
            port: 0,
            password: opts.password,
            running: false,
        };
        server.start_on_free_port()?;
        Ok(server)
    }

    /// A streaming replica of `primary`: `pg_basebackup -R` as the replication role (created
    /// on the primary on first use), started on its own free port. Returns once it is in
    /// recovery and has replayed everything the primary had written when it was called.
    pub fn start_replica(primary: &PgServer) -> Result<PgServer> {
        primary.psql(&format!(
            "DO $$ BEGIN \
               IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{REPLICATION_USER}') THEN \
                 CREATE ROLE {REPLICATION_USER} WITH REPLICATION LOGIN PASSWORD '{REPLICATION_PASSWORD}'; \
               END IF; \
             END $$"
        ))?;
        let dir = server_tempdir("articdbm-pg-replica-")?;
        let data = dir.path().join("data");
        let log = dir.path().join("server.log");
        process::run(
            server_command(&tools::pg_server_bin("pg_basebackup")?, dir.path())?
                .arg("-D")
                .arg(&data)
                .args(["-h", primary.host(), "-p", &primary.port.to_string()])
                .args(["-U", REPLICATION_USER, "-R", "-X", "stream", "-c", "fast"])
                .args(["--no-sync", "--no-password"])
                .env("PGPASSWORD", REPLICATION_PASSWORD)
                .env("PGCONNECT_TIMEOUT", "10"),
            Duration::from_secs(300),
        )
        .context("pg_basebackup")?;
        // The copied postgresql.conf names the primary's socket directory; later lines win.
        append(
            &data.join("postgresql.conf"),
            &format!(
                "\n# replica, written by articdbm-tests\nunix_socket_directories = '{}'\n",
                dir.path().display()
            ),
        )?;
        let mut replica = PgServer {
            dir,
            data,
            log,
            port: 0,
            password: primary.password.clone(),
            running: false,
        };
        replica.start_on_free_port()?;
        if !replica.is_in_recovery()? {
            bail!("the new replica is not in recovery");
        }
        replica.wait_caught_up(primary, START_TIMEOUT)?;
        Ok(replica)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The directory holding the server's Unix-domain socket (`host` for libpq-style clients).
    pub fn socket_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn addr(&self) -> SocketAddr {
        net::loopback(self.port)
    }

    pub fn superuser(&self) -> &'static str {
        SUPERUSER
    }

    /// The superuser's password.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// The data directory (owned by the server user).
    pub fn data_dir(&self) -> &Path {
        &self.data
    }

    /// The server log so far, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A libpq key/value connection string, understood by psql, tokio-postgres and psycopg.
    pub fn connstr(&self, db: &str, user: &str, password: &str) -> String {
        connstr(self.host(), self.port, db, user, password)
    }

    /// [`connstr`](Self::connstr) for the superuser.
    pub fn superuser_connstr(&self, db: &str) -> String {
        self.connstr(db, SUPERUSER, &self.password)
    }

    /// Runs `sql` with the real psql client as the superuser in database `postgres`; returns
    /// the unaligned, tuples-only output (`|` between columns), trailing newline removed.
    pub fn psql(&self, sql: &str) -> Result<String> {
        self.psql_in("postgres", sql)
    }

    /// [`psql`](Self::psql) in another database.
    pub fn psql_in(&self, db: &str, sql: &str) -> Result<String> {
        self.psql_as(db, SUPERUSER, &self.password, sql)
    }

    /// [`psql`](Self::psql) as another role; a refused login is an error carrying psql's
    /// message.
    pub fn psql_as(&self, db: &str, user: &str, password: &str, sql: &str) -> Result<String> {
        psql(self.host(), self.port, db, user, password, sql)
    }

    /// `CREATE ROLE name LOGIN PASSWORD 'password'` (stored as the configured verifier).
    pub fn create_user(&self, name: &str, password: &str) -> Result<()> {
        self.psql(&format!(
            "CREATE ROLE {} LOGIN PASSWORD {}",
            ident(name),
            literal(password)
        ))?;
        Ok(())
    }

    /// `CREATE DATABASE name OWNER owner`.
    pub fn create_database(&self, name: &str, owner: &str) -> Result<()> {
        self.psql(&format!(
            "CREATE DATABASE {} OWNER {}",
            ident(name),
            ident(owner)
        ))?;
        Ok(())
    }

    /// The stored password verifier of `user` (`SCRAM-SHA-256$...` or `md5...`), e.g. for a
    /// PgBouncer userlist or a gateway configured with verifiers.
    pub fn password_verifier(&self, user: &str) -> Result<String> {
        let v = self.psql(&format!(
            "SELECT rolpassword FROM pg_authid WHERE rolname = {}",
            literal(user)
        ))?;
        if v.is_empty() {
            bail!("role {user} has no password");
        }
        Ok(v)
    }

    /// `SELECT pg_is_in_recovery()`.
    pub fn is_in_recovery(&self) -> Result<bool> {
        Ok(self.psql("SELECT pg_is_in_recovery()")? == "t")
    }

    /// Polls until this replica has replayed the primary's current WAL position.
    pub fn wait_caught_up(&self, primary: &PgServer, timeout: Duration) -> Result<()> {
        let target = primary.psql("SELECT pg_current_wal_lsn()")?;
        let deadline = Instant::now() + timeout;
        loop {
            let done = self.psql(&format!(
                "SELECT coalesce(pg_last_wal_replay_lsn() >= '{target}'::pg_lsn, false)"
            ))?;
            if done == "t" {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "replica did not replay up to {target} within {timeout:?}; replica log:\n{}",
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `pg_ctl promote -w`: the replica becomes a primary.
    pub fn promote(&self) -> Result<()> {
        process::run(
            self.pg_ctl()?.args(["promote", "-w", "-t", "60"]),
            START_TIMEOUT,
        )?;
        Ok(())
    }

    /// Clean shutdown (`pg_ctl -m fast stop`); the data stays for [`restart`](Self::restart).
    pub fn stop(&mut self) -> Result<()> {
        if self.running {
            process::run(
                self.pg_ctl()?
                    .args(["-m", "fast", "-w", "-t", "60", "stop"]),
                START_TIMEOUT,
            )?;
            self.running = false;
        }
        Ok(())
    }

    /// Stops the server if it runs (fast mode), then starts it again on the same port —
    /// also after [`kill`](Self::kill), when it goes through crash recovery.
    pub fn restart(&mut self) -> Result<()> {
        self.stop()?;
        // After a kill, backends that outlived the postmaster may still hold the old shared
        // memory for a moment; the new postmaster refuses to start until they are gone.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(_) if Instant::now() < deadline && self.log().contains("still in use") => {
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Crashes the server: SIGKILL to the postmaster and every backend, so clients see their
    /// connections drop at once. [`restart`](Self::restart) brings it back (crash recovery;
    /// with `synchronous_commit = off` the last commits may be lost).
    pub fn kill(&mut self) -> Result<()> {
        let pid = self.postmaster_pid()?;
        let kids = children(pid);
        sigkill(pid);
        for &kid in &kids {
            sigkill(kid);
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while alive(pid) || kids.iter().any(|&k| alive(k)) {
            if Instant::now() >= deadline {
                bail!("server processes survived SIGKILL");
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        // The dead postmaster was reparented away from us; until whoever adopted it reaps it
        // (some inits do so lazily), its zombie answers kill(pid, 0), and the next postmaster
        // would take its lock files for a live server's. Nothing of it runs: remove them.
        let _ = std::fs::remove_file(self.data.join("postmaster.pid"));
        for entry in std::fs::read_dir(self.dir.path())?.flatten() {
            let name = entry.file_name();
            if name.to_string_lossy().starts_with(".s.PGSQL.") {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        self.running = false;
        Ok(())
    }

    fn postmaster_pid(&self) -> Result<i32> {
        let pidfile = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .context("reading postmaster.pid (is the server running?)")?;
        pidfile
            .lines()
            .next()
            .and_then(|l| l.trim().parse().ok())
            .context("no pid in postmaster.pid")
    }

    fn pg_ctl(&self) -> Result<Command> {
        let mut cmd = server_command(&tools::pg_server_bin("pg_ctl")?, self.dir.path())?;
        cmd.arg("-D").arg(&self.data);
        Ok(cmd)
    }

    fn pg_ctl_start(&mut self) -> Result<()> {
        let out = process::output(
            self.pg_ctl()?
                .arg("-l")
                .arg(&self.log)
                .args(["-w", "-t", "60", "start"])
                .arg("-o")
                .arg(format!("-p {}", self.port)),
            START_TIMEOUT + Duration::from_secs(10),
        )?;
        if !out.status.success() {
            bail!(
                "pg_ctl start failed ({}): {}\nserver log:\n{}",
                out.status,
                String::from_utf8_lossy(&out.stderr),
                tail(&self.log(), 30)
            );
        }
        self.running = true;
        Ok(())
    }

    fn start_on_free_port(&mut self) -> Result<()> {
        let mut last = None;
        for _ in 0..BIND_ATTEMPTS {
            self.port = net::free_port()?;
            let before = self.log().len();
            match self.pg_ctl_start() {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let log = self.log();
                    let lost_port = log
                        .get(before..)
                        .is_some_and(|new| new.contains("could not bind"));
                    if !lost_port {
                        return Err(e);
                    }
                    last = Some(e);
                }
            }
        }
        Err(last.unwrap_or_else(|| anyhow::anyhow!("no free port")))
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if !self.running {
            return;
        }
        let stopped = self.pg_ctl().and_then(|mut cmd| {
            process::run(
                cmd.args(["-m", "immediate", "-w", "-t", "30", "stop"]),
                Duration::from_secs(40),
            )
        });
        if stopped.is_err() {
            // Never leave a server running: fall back to SIGKILL.
            let _ = self.kill();
        }
    }
}

/// A libpq key/value connection string (values quoted as libpq wants).
pub fn connstr(host: &str, port: u16, db: &str, user: &str, password: &str) -> String {
    format!(
        "host={} port={port} dbname={} user={} password={}",
        conn_value(host),
        conn_value(db),
        conn_value(user),
        conn_value(password)
    )
}

/// Runs `sql` with psql against any PostgreSQL-protocol endpoint (a server, PgBouncer, the
/// gateway). `-X -A -t -v ON_ERROR_STOP=1`; the password goes through `PGPASSWORD`.
pub fn psql(
    host: &str,
    port: u16,
    db: &str,
    user: &str,
    password: &str,
    sql: &str,
) -> Result<String> {
    let out = process::run(
        Command::new(tools::psql()?)
            .args(["-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-w"])
            .arg("-d")
            .arg(format!(
                "host={} port={port} dbname={} user={} sslmode=disable connect_timeout=10",
                conn_value(host),
                conn_value(db),
                conn_value(user)
            ))
            .arg("-c")
            .arg(sql)
            .env("PGPASSWORD", password)
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS"),
        PSQL_TIMEOUT,
    )?;
    Ok(out.trim_end_matches('\n').to_string())
}

/// A SQL identifier, double-quoted.
pub fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A SQL string literal, single-quoted.
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

fn conn_value(v: &str) -> String {
    if !v.is_empty() && !v.contains([' ', '\'', '\\', '=']) {
        return v.to_string();
    }
    format!("'{}'", v.replace('\\', "\\\\").replace('\'', "\\'"))
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Rewrites a file the server user owns in place (keeps its owner and mode).
fn overwrite(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

/// Appends to a file the server user owns (keeps its owner and mode).
fn append(path: &Path, text: &str) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}
