//! A MariaDB server for end-to-end tests: `mariadb-install-db` into a temporary directory,
//! `mariadbd` on a free loopback port (as the server user when the tests run as root; see
//! [`crate::privilege`]), a `root` password, and the `mariadb` command-line client.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{net, privilege, process};

/// Password of `root` (over TCP and the socket) on every test server.
pub const ROOT_PASSWORD: &str = "root-secret";

pub struct MariaDb {
    child: Option<Child>,
    dir: tempfile::TempDir,
    port: u16,
}

fn find(name: &str, dirs: &[&str]) -> Result<PathBuf> {
    for d in dirs {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return Ok(p);
        }
    }
    bail!("{name} not found (scripts/test.sh installs mariadb-server and mariadb-client)")
}

/// The `mariadb` command-line client.
pub fn client_binary() -> Result<PathBuf> {
    find("mariadb", &["/usr/bin", "/usr/local/bin"])
        .or_else(|_| find("mysql", &["/usr/bin", "/usr/local/bin"]))
}

impl MariaDb {
    /// A fresh server with `extra` server options (e.g. `--log-bin`).
    pub fn start_with(extra: &[&str]) -> Result<MariaDb> {
        let dir = privilege::server_tempdir("articdbm-mariadb-")?;
        let install = find("mariadb-install-db", &["/usr/bin", "/usr/local/bin"])?;
        let data = dir.path().join("data");
        // Temporary tables in the server's own directory, not the shared /tmp: a bootstrap
        // once failed there ("Could not remove temporary table '/tmp/#sql-temptable-…'",
        // then "Unknown table 'mysql.tmp_user_sys'") while other tests' servers ran.
        let tmp = dir.path().join("tmp");
        std::fs::create_dir_all(&tmp)?;
        privilege::give(&tmp)?;
        let mut cmd = privilege::server_command(&install, dir.path())?;
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .arg(format!("--tmpdir={}", tmp.display()));
        if privilege::server_user()?.is_some() {
            // The install script checks ownership against this name, not the uid.
            cmd.arg(format!("--user={}", whoami_server()?));
        }
        {
            // Run as root with --user, the script chowns the system's PAM plugin directory
            // (/usr/lib/mysql/plugin/auth_pam_tool_dir): two at once, from parallel tests or two
            // suites on one machine, make each other fail. One at a time, machine-wide.
            let _lock =
                crate::tools::FileLock::acquire(Path::new("/tmp/articdbm-mariadb-install.lock"))
                    .ok();
            process::run(&mut cmd, Duration::from_secs(120)).context("mariadb-install-db")?;
        }
        let mut s = MariaDb {
            child: None,
            dir,
            port: net::free_port()?,
        };
        s.spawn(extra)?;
        s.root_sql(&format!(
            "ALTER USER 'root'@'localhost' IDENTIFIED BY '{ROOT_PASSWORD}';
             CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '{ROOT_PASSWORD}';
             ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '{ROOT_PASSWORD}';
             GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
             FLUSH PRIVILEGES;"
        ))?;
        Ok(s)
    }

    pub fn start() -> Result<MariaDb> {
        Self::start_with(&[])
    }

    /// A primary for replication: binary log on, server id 1.
    pub fn start_primary() -> Result<MariaDb> {
        Self::start_with(&[
            "--log-bin=mariadb-bin",
            "--server-id=1",
            "--binlog-format=ROW",
        ])
    }

    /// A read-only replica of `primary` (binlog replication with GTIDs from the start of the
    /// primary's log), running once this returns.
    pub fn start_replica(primary: &MariaDb, server_id: u32) -> Result<MariaDb> {
        let id = format!("--server-id={server_id}");
        let r = Self::start_with(&[&id, "--read-only=ON", "--log-slave-updates=OFF"])?;
        r.root_sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root',
               MASTER_PASSWORD='{ROOT_PASSWORD}', MASTER_USE_GTID=slave_pos;
             START SLAVE;",
            primary.port()
        ))?;
        Ok(r)
    }

    /// Waits until this replica has applied everything `primary` has written.
    pub fn wait_caught_up(&self, primary: &MariaDb, timeout: Duration) -> Result<()> {
        let target = primary
            .root_sql("SELECT @@gtid_binlog_pos")?
            .trim()
            .to_string();
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let at = self.root_sql("SELECT @@gtid_slave_pos")?.trim().to_string();
            if at == target {
                return Ok(());
            }
            if std::time::Instant::now() >= deadline {
                bail!("replica at {at:?}, primary at {target:?}; {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Galera node that bootstraps a cluster of its own (`gcomm://`): it reports
    /// `wsrep_ready` and `wsrep_local_state` as any node does, and `SET GLOBAL wsrep_desync`
    /// moves it to Donor/Desynced.
    ///
    /// A node needs three more ports than a plain server (group communication, IST, base),
    /// each picked free and bound only when Galera starts; when tests start servers at the
    /// same time another may take one first, so a failed start is tried again with new ports.
    pub fn start_galera() -> Result<MariaDb> {
        let mut last = None;
        for _ in 0..3 {
            match Self::try_start_galera() {
                Ok(m) => return Ok(m),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("tried at least once"))
    }

    fn try_start_galera() -> Result<MariaDb> {
        let provider = Path::new("/usr/lib/galera/libgalera_smm.so");
        if !provider.is_file() {
            bail!(
                "{} not found (Debian's galera-4, installed with mariadb-server)",
                provider.display()
            );
        }
        let (gm, ist, base) = (net::free_port()?, net::free_port()?, net::free_port()?);
        let options = format!(
            "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:{gm};ist.recv_addr=127.0.0.1:{ist};base_port={base}"
        );
        let node = format!("--wsrep-node-address=127.0.0.1:{gm}");
        let provider = format!("--wsrep-provider={}", provider.display());
        Self::start_with(&[
            "--wsrep-on=ON",
            &provider,
            "--wsrep-cluster-address=gcomm://",
            "--binlog-format=ROW",
            "--innodb-autoinc-lock-mode=2",
            &options,
            &node,
        ])
    }

    fn spawn(&mut self, extra: &[&str]) -> Result<()> {
        let mariadbd = find("mariadbd", &["/usr/sbin", "/usr/bin", "/usr/local/sbin"])?;
        let d = self.dir.path();
        let log = std::fs::File::create(d.join("mariadbd.out"))?;
        let mut cmd = privilege::server_command(&mariadbd, d)?;
        cmd.arg("--no-defaults")
            .arg(format!("--datadir={}", d.join("data").display()))
            .arg(format!("--socket={}", self.socket().display()))
            .arg(format!("--pid-file={}", d.join("mariadbd.pid").display()))
            .arg(format!("--log-error={}", d.join("error.log").display()))
            .arg(format!("--port={}", self.port))
            .arg(format!("--tmpdir={}", d.join("tmp").display()))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-name-resolve",
                "--innodb-buffer-pool-size=32M",
                "--innodb-log-file-size=16M",
                "--max-connections=200",
            ])
            .args(extra);
        if privilege::server_user()?.is_none() && unsafe { libc::geteuid() } == 0 {
            cmd.arg("--user=root");
        }
        let child = process::own_session(&mut cmd)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("starting mariadbd")?;
        self.child = Some(child);
        net::wait_for_port(net::loopback(self.port), Duration::from_secs(60))
            .with_context(|| self.log())
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("mariadbd.sock")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Runs `sql` as root over the Unix socket; the tab-separated output without headers.
    pub fn root_sql(&self, sql: &str) -> Result<String> {
        let mut cmd = Command::new(client_binary()?);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "--batch", "--skip-column-names"])
            .arg(format!("--password={ROOT_PASSWORD}"))
            .args(["-e", sql]);
        // Before the root password is set, the socket takes root without one.
        let out = process::output(&mut cmd, Duration::from_secs(60))?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).to_string());
        }
        let mut cmd = Command::new(client_binary()?);
        cmd.arg("--no-defaults")
            .arg(format!("--socket={}", self.socket().display()))
            .args(["-uroot", "--batch", "--skip-column-names", "-e", sql]);
        let out2 = process::output(&mut cmd, Duration::from_secs(60))?;
        if out2.status.success() {
            return Ok(String::from_utf8_lossy(&out2.stdout).to_string());
        }
        bail!(
            "mariadb -e {sql:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Creates a user that may do anything from 127.0.0.1, with `mysql_native_password`.
    pub fn create_user(&self, name: &str, password: &str) -> Result<()> {
        self.root_sql(&format!(
            "CREATE USER '{name}'@'127.0.0.1' IDENTIFIED BY '{password}';
             GRANT ALL ON *.* TO '{name}'@'127.0.0.1';"
        ))
        .map(|_| ())
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            process::sigkill(c.id() as i32);
            let _ = c.wait();
        }
    }
}

fn whoami_server() -> Result<String> {
    let Some(u) = privilege::server_user()? else {
        bail!("not running as root");
    };
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2] == u.uid.to_string())
        .map(|f| f[0].to_string())
        .context("server user name")
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs the `mariadb` client against `127.0.0.1:port` as `user`, the statements of `sql` read
/// from its standard input (so `--force` goes on after an error, as it does not with `-e`);
/// `Ok(stdout and stderr)` when it exits with 0 (with `--force`, errors are on stderr), else
/// `Err(stdout and stderr)`.
pub fn client(
    port: u16,
    user: &str,
    password: &str,
    db: &str,
    args: &[&str],
    sql: &str,
) -> Result<String, String> {
    let run = || -> Result<std::process::Output> {
        let mut file = tempfile::NamedTempFile::new()?;
        std::io::Write::write_all(&mut file, sql.as_bytes())?;
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c")
            .arg("exec \"$0\" \"$@\" < \"$ARTICDBM_SQL\"")
            .arg(client_binary()?)
            .arg("--no-defaults")
            .args(["-h", "127.0.0.1", "-P", &port.to_string(), "-u", user])
            .arg(format!("--password={password}"))
            .args(["--batch", "--skip-column-names", "--skip-ssl"])
            .args(args)
            .arg(db)
            .env("ARTICDBM_SQL", file.path());
        process::output(&mut cmd, Duration::from_secs(60))
    };
    match run() {
        Ok(o) if o.status.success() => Ok(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Ok(o) => Err(format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Err(e.to_string()),
    }
}
