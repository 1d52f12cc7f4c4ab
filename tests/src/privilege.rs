//! Who server processes run as. PostgreSQL (initdb, pg_ctl, postgres, pg_basebackup) and
//! PgBouncer refuse to run as root, and CI runs as root; so when the effective uid is 0 they
//! are started as an unprivileged user through `CommandExt::uid/gid` (std drops the
//! supplementary groups too), in a temporary directory chowned to that user.
//! When not root, everything runs as the current user and nothing is chowned.

use anyhow::{Context, Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The unprivileged account server processes run as when the tests run as root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerUser {
    pub uid: u32,
    pub gid: u32,
}

/// `None` when the current process is not root (servers run as the current user).
pub fn server_user() -> Result<Option<ServerUser>> {
    static USER: OnceLock<Result<Option<ServerUser>, String>> = OnceLock::new();
    USER.get_or_init(|| lookup().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn lookup() -> Result<Option<ServerUser>> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = std::env::var("ARTICDBM_TEST_SERVER_USER").unwrap_or_else(|_| "nobody".into());
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for line in passwd.lines() {
        let fields: Vec<&str> = line.split(':').collect();
        if fields.len() >= 4 && fields[0] == name {
            let uid: u32 = fields[2].parse().context("uid in /etc/passwd")?;
            let gid: u32 = fields[3].parse().context("gid in /etc/passwd")?;
            if uid == 0 {
                bail!("server user {name} is root; PostgreSQL would refuse to run");
            }
            return Ok(Some(ServerUser { uid, gid }));
        }
    }
    bail!(
        "running as root, and there is no user {name:?} in /etc/passwd to run PostgreSQL as \
         (set ARTICDBM_TEST_SERVER_USER to an unprivileged account)"
    )
}

/// A command that runs `program` as the server user, with `cwd` as its working directory (the
/// caller's may not be readable by that user).
pub fn server_command(program: &Path, cwd: &Path) -> Result<Command> {
    let mut cmd = Command::new(program);
    cmd.current_dir(cwd);
    if let Some(user) = server_user()? {
        cmd.uid(user.uid).gid(user.gid);
    }
    Ok(cmd)
}

/// A fresh temporary directory owned by the server user, mode 0700, in a place that user can
/// reach: `$TMPDIR` when every ancestor is searchable by others, `/tmp` otherwise.
pub fn server_tempdir(prefix: &str) -> Result<tempfile::TempDir> {
    let user = server_user()?;
    let mut parent = std::env::temp_dir();
    if user.is_some() && !searchable_by_others(&parent) {
        parent = PathBuf::from("/tmp");
    }
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(&parent)
        .with_context(|| format!("creating a temporary directory in {}", parent.display()))?;
    give(dir.path())?;
    Ok(dir)
}

/// Hands `path` to the server user (a no-op when not root).
pub fn give(path: &Path) -> Result<()> {
    if let Some(user) = server_user()? {
        std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
            .with_context(|| format!("chown {} to uid {}", path.display(), user.uid))?;
    }
    Ok(())
}

fn searchable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().all(|p| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o001 != 0)
            .unwrap_or(false)
    })
}
