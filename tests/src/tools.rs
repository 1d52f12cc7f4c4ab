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
/// server) for the threat-feed tests, and the other drivers of the driver matrix
/// (tests/tests/pg_drivers.rs): asyncpg, pg8000 and SQLAlchemy (over psycopg); and the MySQL
/// drivers (tests/tests/my_gateway.rs): PyMySQL and mysql-connector-python; and
/// kubernetes-validate (with PyYAML and jsonschema) for the deployment files
/// (tests/tests/deploy.rs).
const PY_PACKAGES: &[&str] = &[
    "psycopg[binary]",
    "medallion",
    "asyncpg",
    "pg8000",
    "sqlalchemy",
    "pymysql",
    "mysql-connector-python",
    // Built against libmariadb (libmariadb-dev and pkg-config, installed by scripts/test.sh).
    "mysqlclient",
    "kubernetes-validate",
];

/// The Python interpreter of a venv with [`PY_PACKAGES`], created once under `target/pyvenv`
/// and reused by later runs. Concurrent test binaries serialise on a lock file; a half-made
/// venv (no `.ready` marker) is made again, and one made with fewer packages gets the rest.
/// The marker lists what the venv holds, so checkouts that want different subsets (worktrees
/// sharing one target directory) do not reinstall in turn.
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
    let made = std::fs::read_to_string(&ready).ok();
    if let Some(made) = made.filter(|_| python.is_file()) {
        let has: Vec<&str> = made.lines().collect();
        let lacking: Vec<&str> = PY_PACKAGES
            .iter()
            .copied()
            .filter(|p| !has.contains(p))
            .collect();
        if lacking.is_empty() {
            return Ok(python);
        }
        // An older venv: add what it lacks.
        crate::process::run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--quiet"])
                .args(&lacking),
            Duration::from_secs(600),
        )
        .with_context(|| format!("installing {} into the venv", lacking.join(", ")))?;
        let all: Vec<&str> = has.into_iter().chain(lacking).collect();
        std::fs::write(&ready, all.join("\n").as_bytes())?;
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
    std::fs::write(&ready, PY_PACKAGES.join("\n").as_bytes())?;
    Ok(python)
}

/// The npm packages of the driver matrix (tests/drivers/node/package.json) installed under
/// `target/node-drivers`; returns its `node_modules` (for `NODE_PATH`). Installed once with
/// `npm install` and made again only when package.json changes; concurrent test binaries
/// serialise on a lock file.
pub fn node_modules() -> Result<PathBuf> {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(|| install_node_modules().map_err(|e| format!("{e:#}")))
        .clone()
        .map_err(anyhow::Error::msg)
}

fn install_node_modules() -> Result<PathBuf> {
    let node = node()?;
    let npm =
        find("npm", &[]).context("npm not found; scripts/test.sh installs the npm package")?;
    let manifest = std::fs::read_to_string(drivers_dir().join("node/package.json"))
        .context("reading tests/drivers/node/package.json")?;
    let target = target_dir();
    std::fs::create_dir_all(&target)?;
    let dir = target.join("node-drivers");
    let ready = dir.join(".ready");
    let _lock = FileLock::acquire(&target.join("node-drivers.lock"))?;
    if std::fs::read_to_string(&ready).ok().as_deref() == Some(manifest.as_str()) {
        return Ok(dir.join("node_modules"));
    }
    std::fs::create_dir_all(&dir)?;
    let _ = std::fs::remove_file(&ready);
    std::fs::write(dir.join("package.json"), &manifest)?;
    crate::process::run(
        Command::new(&npm)
            .args(["install", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
        Duration::from_secs(600),
    )
    .context("npm install of the driver matrix packages")?;
    crate::process::run(
        Command::new(&node)
            .args(["-e", "require('pg')"])
            .env("NODE_PATH", dir.join("node_modules")),
        Duration::from_secs(60),
    )?;
    std::fs::write(&ready, manifest.as_bytes())?;
    Ok(dir.join("node_modules"))
}

/// `node` (Debian's `nodejs` package).
pub fn node() -> Result<PathBuf> {
    find("node", &[]).context("node not found; scripts/test.sh installs the nodejs package")
}

/// `java` able to run a single-file source program (a JDK: Debian's `default-jdk-headless`).
pub fn java() -> Result<PathBuf> {
    let java = find("java", &[])
        .context("java not found; scripts/test.sh installs default-jdk-headless")?;
    // Source launch needs the compiler module, which a JRE lacks.
    find("javac", &[]).context(
        "javac not found (a JRE cannot run a .java file); scripts/test.sh installs \
         default-jdk-headless",
    )?;
    Ok(java)
}

/// pgjdbc, the PostgreSQL JDBC driver: `$ARTICDBM_PGJDBC_JAR`, else Debian's
/// `libpostgresql-jdbc-java` jar.
/// MariaDB Connector/J from Debian (`libmariadb-java`), for the MySQL driver matrix.
pub fn mariadb_jdbc_jar() -> Result<PathBuf> {
    let jar = PathBuf::from("/usr/share/java/mariadb-java-client.jar");
    if !jar.is_file() {
        bail!(
            "{} does not exist; scripts/test.sh installs libmariadb-java",
            jar.display()
        );
    }
    Ok(jar)
}

pub fn pgjdbc_jar() -> Result<PathBuf> {
    let jar = std::env::var_os("ARTICDBM_PGJDBC_JAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/java/postgresql.jar"));
    if !jar.is_file() {
        bail!(
            "{} does not exist; scripts/test.sh installs libpostgresql-jdbc-java",
            jar.display()
        );
    }
    Ok(jar)
}

/// The driver programs of the driver matrix: `tests/drivers` (python/, node/, java/).
pub fn drivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("drivers")
}

/// An exclusive flock(2) on a file, released on drop (the fd closes).
pub(crate) struct FileLock {
    _file: std::fs::File,
}

impl FileLock {
    pub(crate) fn acquire(path: &Path) -> Result<Self> {
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
