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
        let dir = tempfile::Builder::new()
            .prefix("articdbm-redis-")
            .tempdir()?;
        let mut s = RedisServer {
            child: None,
            dir,
            port: net::free_port()?,
        };
        s.spawn()?;
        Ok(s)
    }

    fn spawn(&mut self) -> Result<()> {
        let log = std::fs::File::create(self.dir.path().join("redis.log"))?;
        let child = Command::new(redis_server()?)
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
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

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
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
