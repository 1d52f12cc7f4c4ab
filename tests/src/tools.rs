//! Locating client and server binaries, and the shared Python venv for driver tests.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

/// The PostgreSQL server binaries (`initdb`, `pg_ctl`, `postgres`, `pg_basebackup`):
/// `$ARTICDBM_PG_BINDIR`, else the highest `/usr/lib/postgresql/<version>/bin` that has
/// `initdb`, else `pg_config --bindir`.
pub fn pg_bindir() -> Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| find_pg_bindir().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn find_pg_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("ARTICDBM_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let e = e.ok()?;
            let version = e.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Ok(bin);
    }
    let out = Command::new("pg_config").arg("--bindir").output();
    if let Ok(out) = out
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    bail!(
        "no PostgreSQL server binaries (initdb) in /usr/lib/postgresql/*/bin nor in \
         `pg_config --bindir`; scripts/test.sh installs the postgresql package"
    )
}

/// A PostgreSQL server program (`initdb`, `pg_ctl`, ...).
pub fn pg_server_bin(name: &str) -> Result<PathBuf> {
    let path = pg_bindir()?.join(name);
    if !path.is_file() {
        bail!("{} does not exist", path.display());
    }
    Ok(path)
}

/// `psql`: the server's own version first (no Debian wrapper in between), then `$PATH`.
pub fn psql() -> Result<PathBuf> {
    client("psql", "postgresql-client")
}

/// `pgbench`: the server's own version first, then `$PATH`.
pub fn pgbench() -> Result<PathBuf> {
    client("pgbench", "postgresql-client")
}

/// `pgbouncer`: `$PATH`, then `/usr/sbin` (Debian puts it there, outside a user's `$PATH`).
pub fn pgbouncer() -> Result<PathBuf> {
    find(
        "pgbouncer",
        &[Path::new("/usr/sbin"), Path::new("/usr/local/sbin")],
    )
    .context("pgbouncer not found; scripts/test.sh installs the pgbouncer package")
}

fn client(name: &str, package: &str) -> Result<PathBuf> {
    if let Ok(dir) = pg_bindir()
        && dir.join(name).is_file()
    {
        return Ok(dir.join(name));
    }
    find(name, &[]).with_context(|| format!("{name} not found; install {package}"))
}

/// `name` in `$PATH` or in one of `extra` directories.
pub fn find(name: &str, extra: &[&Path]) -> Result<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(extra.iter().map(|p| p.to_path_buf()))
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .with_context(|| format!("{name} not found in $PATH or {extra:?}"))
}

/// Cargo's target directory: the ancestor of the running binary that holds `CACHEDIR.TAG`
/// (test binaries live in `target/debug/deps`, helper binaries in `target/release`), else
/// `$CARGO_TARGET_DIR`, else `target/` beside the workspace manifest.
pub fn target_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe
            .ancestors()
            .skip(1)
            .find(|d| d.join("CACHEDIR.TAG").is_file())
    {
        return dir.to_path_buf();
    }
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(dir);
    }
    workspace_dir().join("target")
}

/// The workspace root (parent of this crate).
pub fn workspace_dir() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// What the test venv holds: psycopg for the Python driver tests, medallion (a TAXII 2.1
/// server) for the threat-feed tests.
const PY_PACKAGES: &[&str] = &["psycopg[binary]", "medallion"];

/// The Python interpreter of a venv with [`PY_PACKAGES`], created once under `target/pyvenv`
/// and reused by later runs. Concurrent test binaries serialise on a lock file; a half-made
/// venv (no `.ready` marker) is made again, and one made with fewer packages gets the rest.
pub fn python_venv() -> Result<PathBuf> {
    static VENV: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    VENV.get_or_init(|| make_venv().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn make_venv() -> Result<PathBuf> {
    let target = target_dir();
    std::fs::create_dir_all(&target)?;
    let dir = target.join("pyvenv");
    let python = dir.join("bin").join("python");
    let ready = dir.join(".ready");
    let _lock = FileLock::acquire(&target.join("pyvenv.lock"))?;
    let wanted = PY_PACKAGES.join("\n");
    let made = std::fs::read_to_string(&ready).ok();
    if made.as_deref() == Some(wanted.as_str()) && python.is_file() {
        return Ok(python);
    }
    if made.is_some() && python.is_file() {
        // An older venv: add what it lacks.
        crate::process::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(PY_PACKAGES),
            Duration::from_secs(600),
        )
        .with_context(|| format!("installing {} into the venv", PY_PACKAGES.join(", ")))?;
        std::fs::write(&ready, wanted.as_bytes())?;
        return Ok(python);
    }
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    // Debian's interpreter (python3-venv is what scripts/test.sh installs); a pyenv or
    // other `python3` on $PATH otherwise.
    let system = Path::new("/usr/bin/python3");
    let base = if system.is_file() {
        system.to_path_buf()
    } else {
        find("python3", &[])?
    };
    crate::process::run(
        Command::new(&base).args(["-m", "venv"]).arg(&dir),
        Duration::from_secs(120),
    )
    .context("creating the Python venv (is python3-venv installed?)")?;
    crate::process::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PY_PACKAGES),
        Duration::from_secs(600),
    )
    .with_context(|| format!("installing {} into the venv", PY_PACKAGES.join(", ")))?;
    crate::process::run(
        Command::new(&python).args(["-c", "import psycopg; print(psycopg.__version__)"]),
        Duration::from_secs(60),
    )?;
    std::fs::write(&ready, wanted.as_bytes())?;
    Ok(python)
}

/// An exclusive flock(2) on a file, released on drop (the fd closes).
struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    fn acquire(path: &Path) -> Result<Self> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .with_context(|| format!("opening {}", path.display()))?;
        // SAFETY: flock on a file descriptor we own; blocks until the lock is free.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error()).context("flock");
        }
        Ok(FileLock { _file: file })
    }
}
