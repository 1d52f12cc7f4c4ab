//! A Redis server (Debian's `redis-server`) on a free loopback port, in a temporary directory,
//! without persistence; stopped and restarted on the same port by tests, killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::{net, tools};

pub struct RedisServer {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
    opts: RedisOptions,
}

/// TLS and authentication for a test Redis.
#[derive(Debug, Clone, Default)]
pub struct RedisOptions {
    /// Serve TLS only (`rediss://`), with this certificate, key and the CA that clients'
    /// certificates are checked against.
    pub tls: Option<RedisTlsFiles>,
    /// An ACL user (name, password) with every right; the default user is then disabled.
    pub user: Option<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct RedisTlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
    /// `tls-auth-clients yes`: clients must present a certificate signed by `ca`.
    pub auth_clients: bool,
}

/// `redis-server`: `$PATH`, then `/usr/bin` and `/usr/sbin`.
pub fn redis_server() -> Result<PathBuf> {
    tools::find(
        "redis-server",
        &[
            std::path::Path::new("/usr/bin"),
            std::path::Path::new("/usr/sbin"),
        ],
    )
    .context("redis-server not found; scripts/test.sh installs the redis-server package")
}

impl RedisServer {
    pub fn start() -> Result<RedisServer> {
        Self::start_with(RedisOptions::default())
    }

    pub fn start_with(opts: RedisOptions) -> Result<RedisServer> {
        let dir = tempfile::Builder::new()
            .prefix("articdbm-redis-")
            .tempdir()?;
        let mut s = RedisServer {
            child: None,
            dir,
            port: net::free_port()?,
            opts,
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::File::create(self.dir.path().join("redis.log"))?;
        let mut cmd = Command::new(redis_server()?);
        cmd.args(["--bind", "127.0.0.1"]);
        match &self.opts.tls {
            None => {
                cmd.args(["--port", &self.port.to_string()]);
            }
            Some(t) => {
                cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(&t.cert)
                    .arg("--tls-key-file")
                    .arg(&t.key)
                    .arg("--tls-ca-cert-file")
                    .arg(&t.ca)
                    .args([
                        "--tls-auth-clients",
                        if t.auth_clients { "yes" } else { "no" },
                    ]);
            }
        }
        if let Some((user, password)) = &self.opts.user {
            let acl = self.dir.path().join("users.acl");
            std::fs::write(
                &acl,
                format!("user default off\nuser {user} on >{password} ~* &* +@all\n"),
            )?;
            cmd.arg("--aclfile").arg(&acl);
        }
        let child = cmd
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .arg("--dir")
            .arg(self.dir.path())
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting redis-server")?;
        self.child = Some(child);
        net::wait_for_port(net::loopback(self.port), Duration::from_secs(20))
            .with_context(|| self.log())
    }

    /// `redis://127.0.0.1:PORT/`, or `rediss://` with TLS, with the ACL user's credentials.
    pub fn url(&self) -> String {
        let scheme = if self.opts.tls.is_some() {
            "rediss"
        } else {
            "redis"
        };
        let auth = match &self.opts.user {
            Some((u, p)) => format!("{u}:{p}@"),
            None => String::new(),
        };
        format!("{scheme}://{auth}127.0.0.1:{}/", self.port)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("redis.log")).unwrap_or_default()
    }

    /// Kills the server (its data is gone: no persistence).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) -> Result<()> {
        self.stop();
        self.spawn()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
