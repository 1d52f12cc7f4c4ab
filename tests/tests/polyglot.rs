//! Policy plugins in Python, JavaScript/TypeScript and C, proven the way the Rust plugins are,
//! for each language:
//!
//! - through a real gateway with psql: the trivial policy's refusal, and the example plugin's
//!   captured traffic (`examples/plugins/*/traffic.jsonl`) replayed line by line as its users,
//!   each outcome equal to the verdict the policy engine gives in-process (`policy test`
//!   semantics) and at least one refusal among them;
//! - a trap, a runaway loop and a memory hog in that language contained: the statement fails
//!   closed (rule `plugin.failure`), the tenant's next statement runs on a fresh instance, and
//!   another tenant's session on the same gateway carries on throughout;
//! - uploaded to the manager and hot-swapped to a new version under pgbench load through a
//!   managed gateway, with zero failed transactions.
//!
//! The components are built from source by `articdbm_tests::polyglot` (cached by content).

mod gw_support;
mod mgr_support;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_gateway::config::Config;
use articdbm_gateway::managed::Managed;
use articdbm_gateway::pg::Gateway;
use articdbm_gateway::runtime::bindings::{Connection, Protocol};
use articdbm_gateway::runtime::host::HostServices;
use articdbm_gateway::runtime::indicators::NoIndicators;
use articdbm_gateway::runtime::kv::MemoryKv;
use articdbm_gateway::runtime::metrics::Metrics;
use articdbm_gateway::runtime::reload::{Reloader, Sources};
use articdbm_gateway::runtime::{Runtime, RuntimeConfig, StatementContext};
use articdbm_manager::Manager;
use articdbm_plugin_build::Lang;
use articdbm_tests::PgServer;
use articdbm_tests::polyglot::{self, Built};
use gw_support::*;
use mgr_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Builds a plugin off the async runtime (builds take seconds).
async fn built(rel_dir: String) -> Built {
    tokio::task::spawn_blocking(move || {
        polyglot::component(&rel_dir).unwrap_or_else(|e| panic!("{rel_dir}: {e:#}"))
    })
    .await
    .unwrap()
}

async fn shop_server() -> PgServer {
    tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().unwrap();
        create_shop(&pg);
        pg
    })
    .await
    .unwrap()
}

/// psql as `user` (password `pw-USER`) on the gateway, off the async runtime.
async fn psql_as(gw: &Gateway, user: &str, db: &str, sql: &str) -> (bool, String, String) {
    let conninfo = format!(
        "host=127.0.0.1 port={} user={user} dbname={db} sslmode=disable connect_timeout=10",
        gw.pg_addr().port()
    );
    let password = format!("pw-{user}");
    let sql = sql.to_string();
    tokio::task::spawn_blocking(move || psql_conn(&conninfo, &password, &sql))
        .await
        .unwrap()
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn user_block(name: &str, tenant: Option<&str>, roles: &[String]) -> String {
    let mut s = format!("\n[[user]]\nname = \"{name}\"\npassword = \"pw-{name}\"\n");
    if let Some(t) = tenant {
        s.push_str(&format!("tenant = \"{t}\"\n"));
    }
    if !roles.is_empty() {
        s.push_str(&format!("roles = {}\n", json!(roles)));
    }
    s
}

/// A gateway on free ports with `plugin_dir`, `packs` and the text of users and databases.
async fn gateway(dir: &Path, plugin_dir: &Path, packs: &[String], rest: &str) -> Gateway {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\npacks = {}\n\
         plugin_dir = \"{}\"\ncache_dir = \"{}\"\nwatch = false\n{rest}",
        json!(packs),
        plugin_dir.display(),
        Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("component-cache")
            .display(),
    );
    let path = dir.join("gateway.toml");
    std::fs::write(&path, &text).unwrap();
    let config = Config::load(&path).unwrap_or_else(|e| panic!("config parses: {e}\n{text}"));
    Gateway::start(config).await.expect("gateway starts")
}

fn baseline_pack(name: &str, plugin: &str) -> String {
    format!(
        "version = 1\nname = \"{name}\"\nkind = \"baseline\"\nmode = \"enforce\"\n\n\
         [[binding]]\nid = \"{plugin}\"\nplugin = \"{plugin}\"\nhooks = [\"query\"]\n"
    )
}

fn tenant_pack(tenant: &str, plugin: &str) -> String {
    format!(
        "version = 1\nname = \"{tenant}\"\nkind = \"tenant\"\ntenant = \"{tenant}\"\n\
         mode = \"enforce\"\n\n[[binding]]\nid = \"{plugin}\"\nplugin = \"{plugin}\"\n\
         hooks = [\"query\"]\n"
    )
}

/// The trivial policy refuses DROP through psql; the faults plugin's trap, runaway loop and
/// memory hog each fail one statement closed while another tenant's session carries on.
async fn trivial_and_faults(lang: Lang) {
    let short = polyglot::short(lang);
    let trivial = built(polyglot::testing_dir(lang, "trivial")).await;
    let faults = built(polyglot::testing_dir(lang, "faults")).await;
    let pg = shop_server().await;
    let dir = tempfile::tempdir().unwrap();
    let plugins = polyglot::plugin_dir(&[&trivial, &faults], &[]).unwrap();
    let packs = vec![
        write(
            dir.path(),
            "base.toml",
            &baseline_pack("base", &trivial.name),
        ),
        write(
            dir.path(),
            "faulty.toml",
            &tenant_pack("faulty", &faults.name),
        ),
    ];
    let rest = format!(
        "{}{}{}",
        user_block("app", None, &[]),
        user_block("mallory", Some("faulty"), &[]),
        database(
            "shop",
            "{ mode = \"transaction\", size = 4 }",
            "",
            &[Backend::primary(pg.port())]
        )
    );
    let gw = gateway(dir.path(), plugins.path(), &packs, &rest).await;

    let (ok, out, err) = psql_as(&gw, "app", "shop", "SELECT count(*) FROM items").await;
    assert!(ok && out == "100", "{short}: {out} {err}");
    let (ok, _, err) = psql_as(&gw, "app", "shop", "DROP TABLE items").await;
    assert!(!ok, "{short}: DROP went through");
    assert!(
        err.contains("statement refused by policy rule trivial.drop: DROP is not allowed"),
        "{short}: {err}"
    );

    // Another tenant's session stays open and answers while mallory's plugin misbehaves.
    let bystander = connect_as(&gw, "app").await;
    for (fault, words) in [
        ("trap-me", &["trapped", "failed"][..]),
        ("spin-me", &["CPU deadline"][..]),
        ("hog-me", &["memory", "trapped", "failed"][..]),
    ] {
        let t = Instant::now();
        let (ok, _, err) = psql_as(&gw, "mallory", "shop", &format!("SELECT '{fault}'")).await;
        assert!(!ok, "{short}: {fault} went through");
        assert!(
            err.contains("plugin.failure") && words.iter().any(|w| err.contains(w)),
            "{short}: {fault}: {err}"
        );
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "{short}: {fault} took {:?}",
            t.elapsed()
        );
        assert_eq!(
            simple_value(&bystander, "SELECT count(*) FROM items")
                .await
                .unwrap()
                .as_deref(),
            Some("100"),
            "{short}: the bystander after {fault}"
        );
        // The faulty tenant's next statement runs on a fresh instance.
        let (ok, out, err) = psql_as(&gw, "mallory", "shop", "SELECT 41 + 1").await;
        assert!(ok && out == "42", "{short}: after {fault}: {out} {err}");
    }
    let metrics = http_get(&gw, "/metrics").await;
    assert!(
        metrics.contains(&format!("plugin=\"{}\"", faults.name)),
        "{short}: the faults plugin's failures are counted"
    );
    drop(gw);
    drop(pg);
}

async fn connect_as(gw: &Gateway, user: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(
        &format!(
            "host=127.0.0.1 port={} user={user} password=pw-{user} dbname=shop sslmode=disable",
            gw.pg_addr().port()
        ),
        tokio_postgres::NoTls,
    )
    .await
    .unwrap();
    tokio::spawn(conn);
    client
}

/// One line of an example's `traffic.jsonl` (the `policy test` input format).
struct Line {
    sql: String,
    user: Option<String>,
    database: Option<String>,
    tenant: Option<String>,
    roles: Vec<String>,
}

impl Line {
    fn parse(text: &str) -> Result<Line, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let s = |k: &str| v[k].as_str().map(str::to_string);
        Ok(Line {
            sql: s("sql").ok_or("no sql")?,
            user: s("user"),
            database: s("database"),
            tenant: s("tenant"),
            roles: v["roles"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|r| r.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
        })
    }
}

/// The example's captured traffic replayed through a gateway with psql: each statement is
/// refused exactly when the policy engine, run in-process on the same lines in the same order,
/// refuses it, with the same rule; at least one is refused and one is not.
async fn example_through_psql(lang: Lang) {
    let rel = polyglot::example_dir(lang);
    let example = built(rel.to_string()).await;
    let root = root().join(rel);
    let traffic = std::fs::read_to_string(root.join("traffic.jsonl")).unwrap();
    let lines: Vec<Line> = traffic
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| Line::parse(l).unwrap_or_else(|e| panic!("{rel}: {e}: {l}")))
        .collect();
    let plugins = polyglot::plugin_dir(&[&example], &[]).unwrap();
    let pack = root.join("pack.toml").display().to_string();

    // What `policy test` semantics say, in-process.
    let expected = {
        let plugin_dir = plugins.path().to_path_buf();
        let pack = pack.clone();
        let lines: Vec<(String, String, String, Vec<String>, String)> = lines
            .iter()
            .map(|l| {
                (
                    l.sql.clone(),
                    l.user.clone().unwrap_or_else(|| "app".into()),
                    l.database.clone().unwrap_or_else(|| "shop".into()),
                    l.roles.clone(),
                    l.tenant.clone().unwrap_or_else(|| "default".into()),
                )
            })
            .collect();
        tokio::task::spawn_blocking(move || {
            let services = Arc::new(HostServices::new(
                Arc::new(MemoryKv::default()),
                Box::new(NoIndicators),
                Arc::new(Metrics::new()),
            ));
            let runtime = Arc::new(
                Runtime::new(
                    RuntimeConfig {
                        max_instances: 16,
                        ..RuntimeConfig::default()
                    },
                    services,
                )
                .unwrap(),
            );
            let sources = Sources {
                plugin_dir,
                packs: vec![pack.into()],
            };
            let (reloader, report) = Reloader::start(runtime, sources, 1000).unwrap();
            assert!(
                report.plugin_errors.is_empty(),
                "{:?}",
                report.plugin_errors
            );
            let engine = reloader.engine().clone();
            lines
                .iter()
                .enumerate()
                .map(|(i, (sql, user, db, roles, tenant))| {
                    let conn = Connection {
                        id: i as u64 + 1,
                        tenant: tenant.clone(),
                        user: user.clone(),
                        roles: roles.clone(),
                        database: db.clone(),
                        client_addr: "127.0.0.1".into(),
                        client_port: 40000,
                        tls: false,
                        protocol: Protocol::Postgres,
                        application_name: None,
                        account_expires_at: None,
                    };
                    engine
                        .evaluate_sql(&conn, sql, &StatementContext::default())
                        .denied
                        .map(|hit| hit.rule)
                })
                .collect::<Vec<Option<String>>>()
        })
        .await
        .unwrap()
    };
    assert!(
        expected.iter().any(Option::is_some) && expected.iter().any(Option::is_none),
        "{rel}: the traffic shows both an allow and a refusal: {expected:?}"
    );

    // The same lines through a gateway, as their users.
    let pg = shop_server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut users: BTreeMap<String, (Option<String>, Vec<String>)> = BTreeMap::new();
    let mut databases: Vec<String> = Vec::new();
    for l in &lines {
        users.insert(
            l.user.clone().unwrap_or_else(|| "app".into()),
            (l.tenant.clone(), l.roles.clone()),
        );
        let db = l.database.clone().unwrap_or_else(|| "shop".into());
        if !databases.contains(&db) {
            databases.push(db);
        }
    }
    let mut rest = String::new();
    for (user, (tenant, roles)) in &users {
        rest.push_str(&user_block(user, tenant.as_deref(), roles));
    }
    for db in &databases {
        rest.push_str(&database(
            db,
            "{ mode = \"transaction\", size = 2 }",
            "",
            &[Backend::primary(pg.port())],
        ));
    }
    let gw = gateway(dir.path(), plugins.path(), &[pack], &rest).await;
    for (l, want) in lines.iter().zip(&expected) {
        let user = l.user.as_deref().unwrap_or("app");
        let db = l.database.as_deref().unwrap_or("shop");
        // The statement may fail in PostgreSQL (the example's tables need not exist): only the
        // gateway's refusals count.
        let (_, _, err) = psql_as(&gw, user, db, &l.sql).await;
        let refused = err
            .split("statement refused by policy rule ")
            .nth(1)
            .and_then(|r| r.split(':').next())
            .map(str::to_string);
        assert_eq!(&refused, want, "{rel}: {:?} as {user}: {err}", l.sql);
    }
    drop(gw);
    drop(pg);
}

/// Uploaded to the manager, bound by the tenant's pack, then replaced by a new version while
/// pgbench runs through a managed gateway: zero failed transactions, and the new version serves.
async fn hot_swap_under_pgbench(lang: Lang) {
    let short = polyglot::short(lang);
    let trivial = built(polyglot::testing_dir(lang, "trivial")).await;
    // Version 2 is other code: the same policy with another reason.
    let v2 = {
        let dir = polyglot::testing_dir(lang, "trivial");
        tokio::task::spawn_blocking(move || {
            polyglot::variant(&dir, "DROP is not allowed", "DROP is not allowed (v2)")
        })
        .await
        .unwrap()
        .unwrap_or_else(|e| panic!("{short} v2: {e:#}"))
    };
    let pg = shop_server().await;
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    create_shop_tenant(&api, pg.port(), 4).await;
    // pgbench's tables first: `pgbench -i` drops them, which the plugin refuses.
    let config = gateway_config(dir.path());
    let g = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let port = g.0.pg_addr().port();
    let out = tokio::task::spawn_blocking(move || pgbench(port, &["-i", "-s", "1", "-q"]))
        .await
        .unwrap();
    assert!(out.0, "{short}: pgbench -i: {}", out.1);
    let (s, v) = api
        .upload(ADMIN, &trivial.manifest_bytes(), trivial.bytes())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{short}: {v}");
    let pack = format!(
        "version = 1\nname = \"shop\"\nkind = \"tenant\"\ntenant = \"shop\"\nmode = \"enforce\"\n\n\
         [[binding]]\nid = \"t\"\nplugin = \"{}\"\nhooks = [\"query\"]\n",
        trivial.name
    );
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/shop",
            ADMIN,
            "application/toml",
            pack.into_bytes(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{short}: {v}");
    let pack_version = v["snapshot_version"].as_i64().unwrap();
    // Compiling a multi-megabyte Python or JS component (in the manager at upload, then in the
    // gateway) takes seconds, more on a loaded 2-core machine.
    until_version(
        &g.1,
        pack_version,
        Duration::from_secs(120),
        "the gateway applies the pack",
    )
    .await;
    let c = connect(&g.0, "shop").await.unwrap();
    let e = c.simple_query("DROP TABLE items").await.unwrap_err();
    assert!(
        describe(&e).contains("trivial.drop"),
        "{short}: {}",
        describe(&e)
    );

    // Load in back-to-back pgbench rounds of 3 s until the new version is applied, then one
    // more: the swap (the manager's check of the upload, then the gateway's compile of a
    // multi-megabyte component, seconds for Python and JavaScript) happens under load however
    // long it takes, and every round must finish with no failed transaction.
    let applied = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let applied = Arc::clone(&applied);
        tokio::task::spawn_blocking(move || {
            let mut rounds = Vec::new();
            loop {
                let last = applied.load(std::sync::atomic::Ordering::SeqCst);
                // At a steady 400 transactions a second: load that leaves the 2-core machine
                // the CPU to compile the new version, rather than one that starves it.
                rounds.push(pgbench(
                    port,
                    &[
                        "-c", "4", "-j", "2", "-T", "3", "-R", "400", "-S", "-M", "prepared",
                    ],
                ));
                if last || rounds.len() > 100 {
                    return rounds;
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut manifest: Value = serde_json::from_slice(&trivial.manifest_bytes()).unwrap();
    manifest["version"] = json!("0.2.0");
    let t0 = Instant::now();
    let (s, v) = api
        .upload(ADMIN, &serde_json::to_vec(&manifest).unwrap(), v2)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{short}: {v}");
    let want = v["snapshot_version"].as_i64().unwrap();
    until_version(
        &g.1,
        want,
        Duration::from_secs(240),
        "the gateway applies the new version",
    )
    .await;
    let swapped_after = t0.elapsed();
    applied.store(true, std::sync::atomic::Ordering::SeqCst);
    let rounds = load.await.unwrap();
    assert!(rounds.len() >= 2, "{short}: {} round(s)", rounds.len());
    let mut processed = 0;
    for (ok, text) in &rounds {
        assert!(ok, "{short}: pgbench during the swap: {text}");
        processed += text
            .lines()
            .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
            .and_then(|n| n.split(['/', ' ']).next()?.parse::<u64>().ok())
            .unwrap_or(0);
        let failed = text
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions: "))
            .unwrap_or("0 ");
        assert!(failed.starts_with("0 "), "{short}: {text}");
    }
    assert!(processed > 100, "{short}: {processed} transactions");
    let active =
        g.0.reloader()
            .engine()
            .snapshot()
            .plugins
            .get(&trivial.name)
            .map(|p| p.manifest.version.clone());
    assert_eq!(active.as_deref(), Some("0.2.0"), "{short}");
    let e = c.simple_query("DROP TABLE items").await.unwrap_err();
    assert!(
        describe(&e).contains("trivial.drop: DROP is not allowed (v2)"),
        "{short}: {}",
        describe(&e)
    );
    println!(
        "{short}: new version serving {:.0} ms after the upload; {processed} pgbench transactions in {} rounds, none failed",
        swapped_after.as_secs_f64() * 1e3,
        rounds.len()
    );
    drop(c);
    drop(g);
    m.stop().await;
    drop(pg);
}

/// Waits until the managed gateway has snapshot version `v` (or a later one) in force.
async fn until_version(m: &Managed, v: i64, timeout: Duration, what: &str) {
    poll(what, timeout, || async {
        if m.version() >= v {
            Ok(())
        } else {
            Err(format!("at {}", m.version()))
        }
    })
    .await
}

/// pgbench through the gateway as `app`; (success, stdout and stderr).
fn pgbench(port: u16, args: &[&str]) -> (bool, String) {
    let out =
        articdbm_tests::process::output(&mut pgbench_command(port, args), Duration::from_secs(120))
            .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

macro_rules! per_language {
    ($($lang:ident => $value:expr),* $(,)?) => {
        $(
            mod $lang {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn trivial_policy_and_contained_faults_through_psql() {
                    trivial_and_faults($value).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn example_traffic_through_psql_matches_policy_test() {
                    example_through_psql($value).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn uploaded_and_hot_swapped_under_pgbench() {
                    hot_swap_under_pgbench($value).await;
                }
            }
        )*
    };
}

per_language! {
    python => Lang::Python,
    js => Lang::Js,
    c => Lang::C,
}
