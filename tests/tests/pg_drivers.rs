//! The driver matrix: real client drivers, many clients at once on fewer server connections
//! (transaction pooling, the default pack), each client checking that every answer it gets is
//! its own. Each driver program (tests/drivers/) runs first directly against PostgreSQL, where
//! it must be clean (so a failure through the gateway is the gateway's), then through the
//! gateway.
//!
//! The programs print a one-line JSON summary: iterations completed, checks that held (`ok`),
//! answers that belonged to someone else or to an earlier state (`mismatches`) and errors,
//! with the first examples of each. What each driver does on the wire, and so what it
//! exercises in the gateway, is in the header of its program.

mod gw_support;

use std::process::Command;
use std::time::Duration;

use articdbm_gateway::pg::Gateway;
use articdbm_tests::{PgServer, tools};
use gw_support::*;
use serde_json::Value;

/// Concurrent clients per driver (asyncpg runs half again as many tasks).
const CLIENTS: u64 = 8;
/// Iterations per client; each runs several statements.
const ITERS: u64 = 60;
/// Fewer server connections than clients, so clients take turns on them.
const POOL_SIZE: u64 = 3;
/// A program stops by itself after this long, reporting unfinished clients as errors; it is
/// killed (and the test fails without a summary) if it is still running a while later.
const DEADLINE_SECS: u64 = 20;

enum Program {
    /// A script in tests/drivers/python, run by the shared venv's interpreter.
    Python(&'static str),
    /// A script in tests/drivers/node, with node-postgres on `NODE_PATH`.
    Node(&'static str),
    /// A single-file program in tests/drivers/java, run with pgjdbc on the class path.
    Java(&'static str),
}

/// Where and as whom a program connects.
struct Target {
    port: u16,
    user: &'static str,
    password: &'static str,
    dbname: &'static str,
}

/// The parts of a program's summary the test asserts on, and the whole line for messages.
struct Summary {
    clients: u64,
    iterations: u64,
    completed: u64,
    ok: u64,
    mismatches: u64,
    errors: u64,
    line: String,
}

impl Program {
    fn command(&self) -> Command {
        let dir = tools::drivers_dir();
        match self {
            Program::Python(script) => {
                let py = tools::python_venv().expect("python venv with the drivers");
                let mut cmd = Command::new(py);
                cmd.arg(dir.join("python").join(script))
                    .env("PYTHONUNBUFFERED", "1")
                    // No __pycache__ in the source tree.
                    .env("PYTHONDONTWRITEBYTECODE", "1");
                cmd
            }
            Program::Node(script) => {
                let modules = tools::node_modules().expect("node-postgres installed");
                let mut cmd = Command::new(tools::node().expect("node"));
                cmd.arg(dir.join("node").join(script))
                    .env("NODE_PATH", modules);
                cmd
            }
            Program::Java(source) => {
                let mut cmd = Command::new(tools::java().expect("a JDK"));
                cmd.arg("-cp")
                    .arg(tools::pgjdbc_jar().expect("pgjdbc"))
                    .arg(dir.join("java").join(source));
                cmd
            }
        }
    }

    /// Runs the program against `target` and returns its summary; a program that fails or
    /// prints no summary fails the test with its output.
    fn run(&self, target: &Target, env: &[(&str, &str)]) -> Summary {
        let mut cmd = self.command();
        cmd.envs(env.iter().copied())
            .env("PGHOST", "127.0.0.1")
            .env("PGPORT", target.port.to_string())
            .env("PGUSER", target.user)
            .env("PGPASSWORD", target.password)
            .env("PGDATABASE", target.dbname)
            .env("DRV_CLIENTS", CLIENTS.to_string())
            .env("DRV_ITERS", ITERS.to_string())
            .env("DRV_DEADLINE_SECS", DEADLINE_SECS.to_string())
            .env_remove("PGSERVICE")
            .env_remove("PGOPTIONS")
            .env_remove("PGSSLMODE");
        let out =
            articdbm_tests::process::output(&mut cmd, Duration::from_secs(DEADLINE_SECS + 30))
                .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let line = stdout
            .lines()
            .rev()
            .find(|l| l.starts_with('{'))
            .unwrap_or_else(|| {
                panic!(
                    "no summary ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
                    out.status
                )
            });
        assert!(
            out.status.success(),
            "driver program failed ({}):\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("summary is not JSON ({e}): {line}"));
        let n = |key: &str| {
            v[key]
                .as_u64()
                .unwrap_or_else(|| panic!("summary has no {key}: {line}"))
        };
        Summary {
            clients: n("clients"),
            iterations: n("iterations"),
            completed: n("completed"),
            ok: n("ok"),
            mismatches: n("mismatches"),
            errors: n("errors"),
            line: line.to_string(),
        }
    }
}

impl Summary {
    /// Every client got exactly its own answers, with no error, in every iteration.
    fn assert_clean(&self, path: &str) {
        assert!(
            self.mismatches == 0 && self.errors == 0,
            "{path}: {} mismatches, {} errors:\n{}",
            self.mismatches,
            self.errors,
            self.line
        );
        assert!(
            self.clients >= CLIENTS && self.iterations == ITERS,
            "{path}: the program ran another workload than asked:\n{}",
            self.line
        );
        assert_eq!(
            self.completed,
            self.clients * self.iterations,
            "{path}: not every iteration completed:\n{}",
            self.line
        );
        // At least one check per iteration (each runs several).
        assert!(
            self.ok >= self.completed,
            "{path}: fewer checks than iterations:\n{}",
            self.line
        );
    }
}

/// PostgreSQL with the `shop` database, and a gateway in front of it with a transaction pool
/// of [`POOL_SIZE`] server connections.
async fn servers() -> (PgServer, Gateway, tempfile::TempDir) {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        create_shop(&pg);
        pg
    })
    .await
    .unwrap();
    let (gw, dir) = start_gateway(
        "",
        &database(
            "shop",
            &format!("{{ mode = \"transaction\", size = {POOL_SIZE} }}"),
            "tls = \"disable\"",
            &[Backend::primary(pg.port())],
        ),
    )
    .await;
    (pg, gw, dir)
}

/// Runs `program` (with `env` added to its environment) directly against PostgreSQL (it must
/// be clean: otherwise the program is wrong), then through the gateway.
async fn matrix(program: Program, env: &[(&str, &str)]) {
    let (pg, gw, _dir) = servers().await;
    let direct = Target {
        port: pg.port(),
        user: OWNER,
        password: OWNER_PASSWORD,
        dbname: "shop",
    };
    let summary = tokio::task::block_in_place(|| program.run(&direct, env));
    summary.assert_clean("directly against PostgreSQL (the test program is wrong)");

    let through = Target {
        port: gw.pg_addr().port(),
        user: APP_USER,
        password: APP_PASSWORD,
        dbname: "shop",
    };
    // Server sessions that start from here on are the gateway's (the direct run's are over).
    let since = tokio::task::block_in_place(|| pg.psql("SELECT now()")).unwrap();
    let summary = tokio::task::block_in_place(|| program.run(&through, env));
    // The clients really shared fewer server connections.
    let server_conns = tokio::task::block_in_place(|| {
        pg.psql(&format!(
            "SELECT count(*) FROM pg_stat_activity \
             WHERE usename = '{OWNER}' AND backend_start >= '{since}'"
        ))
    })
    .unwrap();
    summary.assert_clean(&format!(
        "through the gateway ({} clients on {POOL_SIZE} server connections)",
        summary.clients
    ));
    let server_conns: u64 = server_conns.trim().parse().unwrap();
    assert!(
        server_conns <= POOL_SIZE,
        "the gateway held {server_conns} server connections, more than its pool of {POOL_SIZE}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn psycopg_prepared_statements_rollbacks_pipeline_and_copy() {
    matrix(Program::Python("psycopg_matrix.py"), &[]).await;
}

/// Pipeline mode and COPY without any server-side prepared statement, so that they are
/// judged apart from the prepared statements above.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn psycopg_pipeline_and_copy_without_prepared_statements() {
    matrix(
        Program::Python("psycopg_matrix.py"),
        &[("DRV_PSYCOPG_PREPARE", "0")],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn asyncpg_prepared_statements_in_many_tasks() {
    matrix(Program::Python("asyncpg_matrix.py"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg8000_unnamed_statements_split_across_syncs() {
    matrix(Program::Python("pg8000_matrix.py"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlalchemy_orm_sessions_rolled_back_by_the_pool() {
    matrix(Program::Python("sqlalchemy_matrix.py"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn node_postgres_named_statements() {
    matrix(Program::Node("pg_matrix.js"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pgjdbc_past_prepare_threshold_and_batches() {
    matrix(Program::Java("Matrix.java"), &[]).await;
}
