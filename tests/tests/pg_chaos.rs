//! The primary killed (SIGKILL) and restarted under load through the gateway: pgbench with
//! `-M prepared` (8 clients on a transaction pool of 4) and a tokio-postgres loop that holds
//! a statement prepared before the crash.
//!
//! What must hold: the in-process gateway keeps serving (new connections and queries work
//! within a deadline once the server is back); clients get errors, never hangs (every call is
//! bounded, pgbench finishes on its own); statements prepared before the crash work after it
//! — the server lost them, so the gateway must prepare them again on the new server
//! connections; and, once the server is back, no client is handed a server connection that
//! died with the old server.

mod gw_support;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::time::{Duration, Instant};

use articdbm_gateway::pg::Gateway;
use articdbm_tests::PgServer;
use gw_support::*;
use std::sync::Mutex;
use tokio_postgres::Client;

const OP_TIMEOUT: Duration = Duration::from_secs(5);

struct Setup {
    pg: PgServer,
    gw: Gateway,
    _dir: tempfile::TempDir,
}

async fn setup(pool: &str) -> Setup {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().expect("postgres starts");
        create_shop(&pg);
        // pgbench's tables, made directly on the server as the owner the gateway uses.
        pgbench(
            pg.port(),
            OWNER,
            OWNER_PASSWORD,
            &["-i", "-s", "1", "-q"],
            Duration::from_secs(60),
        );
        pg
    })
    .await
    .unwrap();
    let (gw, dir) = start_gateway(
        "",
        &database(
            "shop",
            pool,
            "tls = \"disable\"",
            &[Backend::primary(pg.port())],
        ),
    )
    .await;
    Setup { pg, gw, _dir: dir }
}

/// Runs pgbench against `port`; returns (exited successfully, stdout + stderr, how long).
/// Panics if it runs past `timeout` (a hang).
fn pgbench(
    port: u16,
    user: &str,
    password: &str,
    args: &[&str],
    timeout: Duration,
) -> (bool, String, Duration) {
    let start = Instant::now();
    let out = articdbm_tests::process::output(
        Command::new(articdbm_tests::tools::pgbench().unwrap())
            .args(args)
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
                "-U",
                user,
                "shop",
            ])
            .env("PGPASSWORD", password)
            .env("PGCONNECT_TIMEOUT", "10"),
        timeout,
    )
    .unwrap_or_else(|e| panic!("pgbench {args:?}: {e:#}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text, start.elapsed())
}

const BEFORE: u8 = 0;
const DOWN: u8 = 1;
const BACK: u8 = 2;

#[derive(Default, Debug)]
struct LoopStats {
    ok: [u64; 3],
    errors: [Vec<String>; 3],
    /// Calls that did not finish within OP_TIMEOUT.
    hangs: Vec<String>,
    reconnects: u64,
    /// The first client (its statement prepared before the crash) ran it again after the
    /// restart.
    old_statement_ok_after_restart: bool,
}

/// Queries in a loop until `stop`: a prepared statement, a simple query and a short write
/// transaction in turn; reconnects when the gateway closed the connection.
async fn query_loop(
    gw_port: u16,
    stop: Arc<AtomicBool>,
    phase: Arc<AtomicU8>,
    stats: Arc<Mutex<LoopStats>>,
) {
    let connstr = format!(
        "host=127.0.0.1 port={gw_port} user={APP_USER} password={APP_PASSWORD} dbname=shop connect_timeout=5"
    );
    let mut generation = 0u32;
    let mut client: Option<(Client, tokio_postgres::Statement)> = None;
    let mut i = 0i32;
    while !stop.load(Ordering::Relaxed) {
        let p = phase.load(Ordering::Relaxed) as usize;
        if client.as_ref().is_none_or(|(c, _)| c.is_closed()) {
            if client.is_some() {
                stats.lock().unwrap().reconnects += 1;
                generation += 1;
            }
            client = None;
            let r = tokio::time::timeout(OP_TIMEOUT, async {
                let (c, conn) = tokio_postgres::connect(&connstr, tokio_postgres::NoTls).await?;
                tokio::spawn(async move {
                    let _ = conn.await;
                });
                let st = c.prepare("SELECT name FROM items WHERE id = $1").await?;
                Ok::<_, tokio_postgres::Error>((c, st))
            })
            .await;
            match r {
                Ok(Ok(x)) => client = Some(x),
                Ok(Err(e)) => {
                    stats.lock().unwrap().errors[p].push(format!("connect: {}", describe(&e)))
                }
                Err(_) => stats
                    .lock()
                    .unwrap()
                    .hangs
                    .push(format!("connect in phase {p}")),
            }
            if client.is_none() {
                // Pace reconnection attempts while the server is down.
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        }
        let (c, st) = client.as_ref().unwrap();
        i += 1;
        let id = i % 100 + 1;
        let what = i % 3;
        let r = tokio::time::timeout(OP_TIMEOUT, async {
            match what {
                0 => {
                    let name: String = c.query_one(st, &[&id]).await?.get(0);
                    assert_eq!(name, format!("item {id}"));
                }
                1 => {
                    c.simple_query("SELECT count(*) FROM pgbench_branches")
                        .await?;
                }
                _ => {
                    c.batch_execute(&format!(
                        "BEGIN; UPDATE items SET price = price + 1 WHERE id = {id}; COMMIT"
                    ))
                    .await?;
                }
            }
            Ok::<_, tokio_postgres::Error>(())
        })
        .await;
        let failed = {
            let mut s = stats.lock().unwrap();
            match r {
                Ok(Ok(())) => {
                    s.ok[p] += 1;
                    if p == BACK as usize && what == 0 && generation == 0 {
                        s.old_statement_ok_after_restart = true;
                    }
                    false
                }
                Ok(Err(e)) => {
                    s.errors[p].push(format!("op {what}: {}", describe(&e)));
                    true
                }
                Err(_) => {
                    s.hangs.push(format!("op {what} in phase {p}"));
                    true
                }
            }
        };
        if failed {
            // Pace retries while the server is down.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn primary_killed_and_restarted_under_load() {
    let mut s = setup("{ mode = \"transaction\", size = 4, health_check_secs = 1, connect_timeout_ms = 2000, queue_timeout_ms = 5000 }").await;
    let gw_port = s.gw.pg_addr().port();

    let stop = Arc::new(AtomicBool::new(false));
    let phase = Arc::new(AtomicU8::new(BEFORE));
    let stats = Arc::new(Mutex::new(LoopStats::default()));
    let looper = tokio::spawn(query_loop(
        gw_port,
        Arc::clone(&stop),
        Arc::clone(&phase),
        Arc::clone(&stats),
    ));
    // One pgbench thread per client: pgbench prepares synchronously (PQprepare), so with
    // several clients per thread and more clients than server connections, a thread blocked
    // preparing waits for a connection held by its own other clients' open transactions
    // until the queue timeout — pgbench's doing, the same behind any transaction pooler.
    let bench_started = Instant::now();
    let bench = std::thread::spawn(move || {
        pgbench(
            gw_port,
            APP_USER,
            APP_PASSWORD,
            &["-M", "prepared", "-c", "8", "-j", "8", "-T", "8", "-n"],
            Duration::from_secs(40),
        )
    });

    // Both loads are running (pgbench has committed transactions, the loop has answers), and
    // the run is in its middle.
    let pg = &s.pg;
    let history = |pg: &PgServer| -> u64 {
        pg.psql_in("shop", "SELECT count(*) FROM pgbench_history")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let h = tokio::task::block_in_place(|| history(pg));
        let ok = stats.lock().unwrap().ok[0];
        if h >= 50 && ok >= 20 && bench_started.elapsed() >= Duration::from_secs(3) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "load did not start: {h} pgbench transactions, loop {:?}",
            stats.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let pg = &mut s.pg;
    tokio::task::block_in_place(|| pg.kill().unwrap());
    phase.store(DOWN, Ordering::Relaxed);
    let killed = Instant::now();
    tokio::task::block_in_place(|| pg.restart().unwrap());
    phase.store(BACK, Ordering::Relaxed);
    let restarted = Instant::now();
    eprintln!("server back after {:?}", restarted - killed);

    // pgbench finishes by itself (clients that saw errors abort; the others run to -T).
    let (_ok, out, took) = tokio::task::block_in_place(|| bench.join().unwrap());
    eprintln!("pgbench during the crash ({took:?}):\n{out}");
    assert!(
        took < Duration::from_secs(30),
        "pgbench took {took:?}:\n{out}"
    );
    assert!(
        out.contains("number of transactions actually processed"),
        "pgbench reported its run:\n{out}"
    );

    // The loop's original client — its statement prepared before the crash — works again.
    let deadline = Instant::now() + Duration::from_secs(20);
    while !stats.lock().unwrap().old_statement_ok_after_restart {
        assert!(
            Instant::now() < deadline,
            "the statement prepared before the crash never worked again: {:?}",
            stats.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let recovered = restarted.elapsed();
    // Let the loop run on a little after recovery, then stop it.
    let ok_at_recovery = stats.lock().unwrap().ok[BACK as usize];
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.lock().unwrap().ok[BACK as usize] < ok_at_recovery + 30 {
        assert!(
            Instant::now() < deadline,
            "the loop stalled: {:?}",
            stats.lock().unwrap()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    tokio::time::timeout(Duration::from_secs(10), looper)
        .await
        .expect("the loop ends")
        .unwrap();
    {
        let st = stats.lock().unwrap();
        eprintln!("loop: {st:?}; recovered {recovered:?} after the restart");
        assert!(
            st.hangs.is_empty(),
            "calls hung instead of failing: {:?}",
            st.hangs
        );
        assert_eq!(
            st.reconnects, 0,
            "transaction pooling keeps the client across a server crash"
        );
        assert!(st.ok[BEFORE as usize] >= 20);
    }

    // The gateway serves new clients, prepared statements included.
    let c = poll(
        "a new client connects and queries",
        Duration::from_secs(20),
        || async {
            let c = connect(&s.gw, "shop").await.map_err(|e| e.to_string())?;
            c.simple_query("SELECT 1")
                .await
                .map_err(|e| e.to_string())?;
            Ok(c)
        },
    )
    .await;
    let st = c
        .prepare("SELECT name FROM items WHERE id = $1")
        .await
        .unwrap();
    for id in 1..=20i32 {
        let name: String = c.query_one(&st, &[&id]).await.unwrap().get(0);
        assert_eq!(name, format!("item {id}"));
    }
    let (ok, out, _) = tokio::task::block_in_place(|| {
        pgbench(
            gw_port,
            APP_USER,
            APP_PASSWORD,
            &["-M", "prepared", "-c", "8", "-j", "8", "-T", "3", "-n"],
            Duration::from_secs(30),
        )
    });
    assert!(ok, "pgbench -M prepared after the restart:\n{out}");
    assert!(out.contains("number of failed transactions: 0"), "{out}");
    let h = http_get(&s.gw, "/healthz").await;
    assert!(h.starts_with("HTTP/1.1 200"), "{h}");
}

/// Once the server is back and a client has been served, the pool must not hand out a
/// server connection that died with the old server: every client, each on its own server
/// connection, succeeds after recovery. (Idle connections opened before the crash are dead;
/// PgBouncer notices an idle server connection closing and drops it.)
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_dead_connection_is_handed_out_after_recovery() {
    let mut s = setup(
        "{ mode = \"transaction\", size = 4, health_check_secs = 1, connect_timeout_ms = 2000 }",
    )
    .await;
    let mut clients = Vec::new();
    for _ in 0..4 {
        clients.push(connect(&s.gw, "shop").await.unwrap());
    }
    // Four server connections, then idle in the pool.
    for r in hold_one_each(&clients).await {
        r.unwrap();
    }
    let port = s.pg.port();
    let idle = |gw: &Gateway| {
        metric(
            &gw.shared.metrics.render(),
            &format!(
                "articdbm_pool_server_connections{{backend=\"127.0.0.1:{port}\",database=\"shop\",state=\"idle\"}}"
            ),
        )
    };
    assert_eq!(idle(&s.gw), Some(4.0));

    let pg = &mut s.pg;
    tokio::task::block_in_place(|| {
        pg.kill().unwrap();
        pg.restart().unwrap();
    });
    // One client gets through: the server is back and the gateway knows it.
    let c = &clients[0];
    let mut before = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout(OP_TIMEOUT, c.simple_query("SELECT 1")).await {
            Ok(Ok(_)) => break,
            Ok(Err(e)) => before.push(describe(&e)),
            Err(_) => panic!("a query hung after the restart"),
        }
        assert!(
            Instant::now() < deadline,
            "no query succeeded after the restart: {before:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Now every client, each on its own server connection, a few times.
    for round in 0..3 {
        let errors: Vec<String> = hold_one_each(&clients)
            .await
            .into_iter()
            .filter_map(Result::err)
            .collect();
        assert!(
            errors.is_empty(),
            "round {round}: clients were given server connections that died with the old \
             server, after a query had already succeeded (errors before that: {before:?}): {errors:?}"
        );
    }
}

/// Each client opens a transaction (so each holds its own server connection), then all
/// commit: per client, the first error.
async fn hold_one_each(clients: &[Client]) -> Vec<Result<(), String>> {
    let mut out = Vec::new();
    for c in clients {
        let r = tokio::time::timeout(OP_TIMEOUT, c.batch_execute("BEGIN; SELECT 1"))
            .await
            .map_err(|_| "hung".to_string())
            .and_then(|r| r.map_err(|e| describe(&e)));
        out.push(r);
    }
    for (c, r) in clients.iter().zip(out.iter_mut()) {
        let end = tokio::time::timeout(OP_TIMEOUT, c.batch_execute("ROLLBACK"))
            .await
            .map_err(|_| "hung".to_string())
            .and_then(|r| r.map_err(|e| describe(&e)));
        if r.is_ok() {
            *r = end;
        }
    }
    out
}

/// A server connection the server closed while it sat idle in the pool (here
/// `pg_terminate_backend`, as an admin or `idle_session_timeout` would) is not handed to the
/// next client: its query runs on a live connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn idle_server_connection_closed_by_the_server_is_not_reused() {
    let mut failures = Vec::new();
    for pool in [
        "{ mode = \"transaction\", size = 2 }",
        // Session mode: the client's own connection dies; PostgreSQL would end the session
        // with the FATAL error, and so may the gateway — but the *next* client must be fine.
        "{ mode = \"session\", size = 2 }",
    ] {
        let s = setup(pool).await;
        let first = connect(&s.gw, "shop").await.unwrap();
        first.simple_query("SELECT 1").await.unwrap();
        let session = pool.contains("session");
        // Session mode: the client leaves, its server connection goes back to the pool.
        let first = if session {
            drop(first);
            None
        } else {
            Some(first)
        };
        // Wait until the gateway has its connections back in the pool (none leased), then end
        // them all on the server.
        let port = s.pg.port();
        let gauge = |state: &str| {
            metric(
                &s.gw.shared.metrics.render(),
                &format!(
                    "articdbm_pool_server_connections{{backend=\"127.0.0.1:{port}\",database=\"shop\",state=\"{state}\"}}"
                ),
            )
            .unwrap_or(0.0)
        };
        let idle = poll(
            "the server connections are back in the pool",
            Duration::from_secs(10),
            || async {
                let (active, idle) = (gauge("active"), gauge("idle"));
                if active == 0.0 && idle >= 1.0 {
                    Ok(idle)
                } else {
                    Err(format!("active {active}, idle {idle}"))
                }
            },
        )
        .await;
        let pg = &s.pg;
        let killed = tokio::task::block_in_place(|| {
            pg.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE usename = 'shop_owner'",
            )
        })
        .unwrap();
        assert_eq!(killed, format!("{idle}"), "{pool}");
        // Terminated: gone from the server.
        poll("the backends are gone", Duration::from_secs(10), || async {
            let n = tokio::task::block_in_place(|| {
                pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'shop_owner'")
            })
            .map_err(|e| e.to_string())?;
            if n == "0" { Ok(()) } else { Err(n) }
        })
        .await;
        let c = match first {
            Some(c) => c,
            None => connect(&s.gw, "shop")
                .await
                .unwrap_or_else(|e| panic!("{pool}: new session: {e:?}")),
        };
        if let Err(e) = c.simple_query("SELECT 1").await {
            failures.push(format!("{pool}: {}", describe(&e)));
        }
    }
    assert!(
        failures.is_empty(),
        "the next query was given the server connection the server had closed: {failures:#?}"
    );
}
