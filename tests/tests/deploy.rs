//! The deployment files of `examples/deploy` and the `healthcheck` subcommands, offline and
//! against real processes: the build script run with the dev profile and the tree it stages;
//! the staged manager and gateway started, probed with `healthcheck` (healthy, unhealthy, not
//! there) and scraped, so every metric the dashboard, the alert rules and docs/DEPLOYMENT.md
//! name is one the binaries export; `promtool` on the Prometheus config and rules (and the
//! rules' unit tests); the Kubernetes manifests against the Kubernetes JSON schemas
//! (kubernetes-validate, in the test venv); the compose file's services, healthchecks, ports
//! and mounts; and the gateway configs of the compose file and the manifests through the
//! gateway's own parser.
//!
//! `ARTICDBM_DEPLOY_BUILD_ARGS` sets what the build script builds (its `ARTICDBM_BUILD_ARGS`);
//! the default, `--workspace --all-targets`, is the build scripts/test.sh has already made, so
//! the script rebuilds nothing there. Set it empty to build only the three packages the image
//! needs (quicker when running this file alone: `cargo test -p articdbm-tests --test deploy`).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use articdbm_tests::{process, tools};
use serde_json::Value;

const ADMIN: &str = "adbm_deploy_admin_key_for_tests_0123456789";
const CLUSTER: &str = "adbm_deploy_cluster_key_for_tests_0123456789";
/// The Kubernetes version the manifests are validated against.
const KUBERNETES: &str = "1.31.0";

fn root() -> PathBuf {
    tools::workspace_dir()
}

fn deploy() -> PathBuf {
    root().join("examples/deploy")
}

/// The tree `examples/deploy/build.sh` staged (once per test binary).
struct Staged {
    dir: PathBuf,
}

impl Staged {
    fn bin(&self, name: &str) -> PathBuf {
        self.dir.join("usr/local/bin").join(name)
    }
    fn share(&self) -> PathBuf {
        self.dir.join("usr/share/articdbm")
    }
}

fn staged() -> &'static Staged {
    static STAGED: OnceLock<Staged> = OnceLock::new();
    STAGED.get_or_init(|| {
        let target = tools::target_dir();
        let dir = target.join("deploy-stage");
        let args = std::env::var("ARTICDBM_DEPLOY_BUILD_ARGS")
            .unwrap_or_else(|_| "--workspace --all-targets".into());
        let started = Instant::now();
        let out = process::run(
            Command::new(deploy().join("build.sh"))
                .arg(&dir)
                .env("ARTICDBM_BUILD_PROFILE", "dev")
                .env("ARTICDBM_BUILD_ARGS", &args)
                .env("CARGO_TARGET_DIR", &target),
            Duration::from_secs(3600),
        )
        .expect("examples/deploy/build.sh builds and stages");
        eprintln!(
            "build.sh ({args}) took {:?}: {}",
            started.elapsed(),
            out.trim()
        );
        Staged { dir }
    })
}

/// Runs a staged binary to completion.
fn run_bin(cmd: &mut Command) -> Output {
    process::output(cmd, Duration::from_secs(60)).expect("the command finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ---------------------------------------------------------------- the staged tree

#[test]
fn build_script_stages_a_complete_runtime_tree() {
    let s = staged();
    let version = std::fs::read_to_string(root().join(".version")).unwrap();
    let version = version.trim().trim_start_matches('v');
    for bin in ["articdbm-manager", "articdbm-gateway"] {
        let path = s.bin(bin);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .permissions(),
        );
        assert_eq!(mode & 0o111, 0o111, "{} is executable", path.display());
        let out = run_bin(Command::new(&path).arg("--version"));
        assert!(out.status.success(), "{bin} --version: {out:?}");
        assert_eq!(text(&out.stdout).trim(), format!("{bin} {version}"));
    }
    // The first-party policy plugins, each with its manifest; no test components and no feed
    // parsers (built into the manager) where a gateway or the manager would load them.
    let plugins = s.share().join("plugins");
    let mut names: Vec<String> = std::fs::read_dir(&plugins)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    for p in ["sqli-guard", "acl", "network", "rate-limit", "threat-match"] {
        for ext in ["wasm", "json"] {
            let f = plugins.join(format!("{p}.{ext}"));
            assert!(
                f.metadata().map(|m| m.len() > 0).unwrap_or(false),
                "{} missing or empty in {names:?}",
                f.display()
            );
        }
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(plugins.join(format!("{p}.json"))).unwrap())
                .unwrap();
        assert_eq!(manifest["name"], p);
    }
    for unwanted in [
        "trap",
        "spin",
        "hog",
        "echo",
        "legacy",
        "feed-stix",
        "feed-misp",
    ] {
        assert!(
            !names.iter().any(|n| n.starts_with(&format!("{unwanted}."))),
            "{unwanted} staged: {names:?}"
        );
    }
    assert_eq!(
        std::fs::read(s.share().join("policies/default.toml")).unwrap(),
        std::fs::read(root().join("policies/default.toml")).unwrap()
    );
    assert!(s.share().join("packs/acme.toml").is_file());
    let config = s.dir.join("etc/articdbm/gateway.toml");
    let parsed = articdbm_gateway::config::Config::parse(
        &std::fs::read_to_string(&config).unwrap(),
        &config,
    )
    .unwrap_or_else(|e| panic!("{}: {e}", config.display()));
    assert_eq!(
        parsed.server.admin_listen,
        Some("0.0.0.0:9187".parse().unwrap())
    );
}

// ---------------------------------------------------------------- processes

/// A staged binary running as a server until dropped; its stdout's "listening" line read.
struct Server {
    child: Child,
    line: String,
    log: PathBuf,
}

impl Server {
    fn start(cmd: &mut Command, log: PathBuf, listening: &str) -> Server {
        let logfile = std::fs::File::create(&log).unwrap();
        let mut child = process::own_session(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(logfile)
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let prefix = listening.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if line.starts_with(&prefix) {
                    let _ = tx.send(line);
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(line) => Server { child, line, log },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "no `{listening}` line within 120 s; log:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            }
        }
    }

    /// The address after `key=` in the listening line, or its last word.
    fn addr(&self, key: Option<&str>) -> SocketAddr {
        let word = match key {
            Some(k) => self
                .line
                .split_whitespace()
                .find_map(|w| w.strip_prefix(&format!("{k}=")))
                .unwrap_or_else(|| panic!("no {k}= in {:?}", self.line)),
            None => self.line.split_whitespace().last().unwrap(),
        };
        word.parse()
            .unwrap_or_else(|e| panic!("{word:?} in {:?}: {e}", self.line))
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET path` over HTTP/1.0; (status, body).
fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    http(addr, "GET", path, None)
}

/// One HTTP/1.0 request, with the admin key and a JSON body when given; (status, body).
fn http(addr: SocketAddr, method: &str, path: &str, json: Option<&str>) -> (u16, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(body) = json {
        req.push_str(&format!(
            "Authorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else if method != "GET" {
        req.push_str(&format!(
            "Authorization: Bearer {ADMIN}\r\nContent-Length: 0\r\n\r\n"
        ));
    } else {
        req.push_str("\r\n");
    }
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = String::new();
    s.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (status, body.to_string())
}

/// The value of the unlabelled sample `name` in a text exposition.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name)?.strip_prefix(' ')?;
        rest.trim().parse().ok()
    })
}

/// Every family a text exposition declares (`# TYPE name kind`), with its kind.
fn families(metrics: &str) -> BTreeMap<String, String> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            Some((w.next()?.to_string(), w.next()?.to_string()))
        })
        .collect()
}

/// The `articdbm_*` metric names written in `text` (queries, annotations, prose).
fn metric_names(text: &str) -> BTreeSet<String> {
    let bytes = text.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut names = BTreeSet::new();
    let mut i = 0;
    while let Some(at) = text[i..].find("articdbm_") {
        let start = i + at;
        let mut end = start + "articdbm_".len();
        while end < bytes.len() && word(bytes[end]) {
            end += 1;
        }
        // `articdbm_*` in prose is the prefix, not a name.
        if (start == 0 || !word(bytes[start - 1])) && end > start + "articdbm_".len() {
            names.insert(text[start..end].to_string());
        }
        i = end;
    }
    names
}

/// The names in `used` that no family of `exported` provides (a histogram provides its
/// `_bucket`, `_sum` and `_count` series).
fn unknown_metrics(used: &BTreeSet<String>, exported: &BTreeMap<String, String>) -> Vec<String> {
    used.iter()
        .filter(|name| {
            if exported.contains_key(name.as_str()) {
                return false;
            }
            !["_bucket", "_sum", "_count"].iter().any(|suffix| {
                name.strip_suffix(suffix)
                    .and_then(|base| exported.get(base))
                    .is_some_and(|kind| kind == "histogram" || kind == "summary")
            })
        })
        .cloned()
        .collect()
}

fn healthcheck(bin: &Path, url: &str, extra: &[&str]) -> Output {
    run_bin(
        Command::new(bin)
            .args(["healthcheck", "--url", url, "--timeout", "2"])
            .args(extra)
            .env_remove("ARTICDBM_ADMIN_TOKEN"),
    )
}

#[test]
fn healthchecks_metrics_and_the_compose_tenant_against_the_staged_binaries() {
    let s = staged();
    let tmp = tempfile::tempdir().unwrap();
    let manager_bin = s.bin("articdbm-manager");
    let gateway_bin = s.bin("articdbm-gateway");
    let share = s.share();
    let manager = Server::start(
        Command::new(&manager_bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(tmp.path().join("manager"))
            .arg("--seed-plugins")
            .arg(share.join("plugins"))
            .arg("--seed-pack")
            .arg(share.join("policies/default.toml"))
            .env("ARTICDBM_BOOTSTRAP_KEY", ADMIN)
            .env("ARTICDBM_CLUSTER_KEY", CLUSTER)
            .env("ARTICDBM_LOG", "warn"),
        tmp.path().join("manager.log"),
        "articdbm-manager listening ",
    );
    let m_addr = manager.addr(None);
    let m_url = format!("http://{m_addr}");

    // The manager's healthcheck: ok, with the token flag accepted (its /healthz needs none).
    let out = healthcheck(&manager_bin, &format!("{m_url}/healthz"), &[]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(text(&out.stdout).trim(), format!("ok {m_url}/healthz"));
    let out = healthcheck(
        &manager_bin,
        &format!("{m_url}/healthz"),
        &["--token", "anything"],
    );
    assert!(out.status.success(), "{out:?}");
    // A path the manager does not serve: 404 is unhealthy.
    let out = healthcheck(&manager_bin, &format!("{m_url}/nothing-here"), &[]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("answered 404"), "{out:?}");

    // A managed gateway with listeners on free ports; the compiled-component cache the other
    // manager tests use.
    let config = tmp.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nmysql_listen = \"127.0.0.1:0\"\n\
             admin_listen = \"127.0.0.1:0\"\ncache_dir = {:?}\n",
            Path::new(env!("CARGO_TARGET_TMPDIR"))
                .join("component-cache")
                .display()
                .to_string()
        ),
    )
    .unwrap();
    let gateway = Server::start(
        Command::new(&gateway_bin)
            .args(["run", "--config"])
            .arg(&config)
            .args(["--manager", &m_url, "--state-dir"])
            .arg(tmp.path().join("gateway-state"))
            .args(["--name", "deploy-test"])
            .env("ARTICDBM_CLUSTER_KEY", CLUSTER)
            .env("ARTICDBM_LOG", "warn"),
        tmp.path().join("gateway.log"),
        "articdbm-gateway listening ",
    );
    let admin = gateway.addr(Some("admin"));
    let g_url = format!("http://{admin}/healthz");
    let out = healthcheck(&gateway_bin, &g_url, &[]);
    assert!(out.status.success(), "{out:?}\n{}", gateway.log());
    assert_eq!(text(&out.stdout).trim(), format!("ok {g_url}"));

    // The compose stack's tenant file is one the manager accepts.
    let out = run_bin(
        Command::new(&manager_bin)
            .args(["apply", "--manager", &m_url, "--key", ADMIN, "-f"])
            .arg(deploy().join("config/tenants")),
    );
    assert!(
        out.status.success(),
        "apply config/tenants: {out:?}\n{}",
        manager.log()
    );

    // The gateway follows: the snapshot version it enforces reaches the manager's (the metrics
    // the "not following the manager" alert compares).
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, m) = http_get(m_addr, "/metrics");
        let (_, g) = http_get(admin, "/metrics");
        let want = sample(&m, "articdbm_manager_snapshot_version").expect("manager version");
        let have = sample(&g, "articdbm_snapshot_version").expect("gateway version");
        if want > 0.0 && have == want {
            assert_eq!(sample(&g, "articdbm_manager_reachable"), Some(1.0));
            break;
        }
        assert!(
            Instant::now() < deadline,
            "gateway at snapshot {have}, manager at {want}\n{}",
            gateway.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Its databases' servers (hosts `postgres` and `mariadb` of the compose network) are not
    // here: once the health checks see it, /healthz answers 503 and the healthcheck exits 1.
    let deadline = Instant::now() + Duration::from_secs(60);
    let out = loop {
        let out = healthcheck(&gateway_bin, &g_url, &[]);
        if !out.status.success() {
            break out;
        }
        assert!(
            Instant::now() < deadline,
            "/healthz still 200 with unreachable primaries: {}\n{}",
            text(&out.stdout),
            gateway.log()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = text(&out.stderr);
    assert!(
        err.starts_with("articdbm-gateway healthcheck: unhealthy: ")
            && err.contains("answered 503 Service Unavailable")
            && err.contains("\"up\":false"),
        "{err}"
    );

    // Every metric the dashboard, the alert rules and the deployment guide name is exported:
    // families without series yet are declared too, so a fresh process lists them all.
    let (_, m) = http_get(m_addr, "/metrics");
    let (_, g) = http_get(admin, "/metrics");
    let mut exported = families(&m);
    exported.extend(families(&g));
    for must in [
        "articdbm_backend_up",
        "articdbm_plugin_quarantined",
        "articdbm_denied_statements_total",
        "articdbm_manager_feed_last_success_timestamp_seconds",
        "articdbm_manager_feed_interval_seconds",
    ] {
        assert!(exported.contains_key(must), "{must} not exported");
    }
    for file in [
        "examples/deploy/grafana/dashboards/articdbm.json",
        "examples/deploy/prometheus/alerts.yml",
        "docs/DEPLOYMENT.md",
    ] {
        let used = metric_names(&std::fs::read_to_string(root().join(file)).unwrap());
        assert!(used.len() >= 5, "{file} names only {used:?}");
        let unknown = unknown_metrics(&used, &exported);
        assert!(
            unknown.is_empty(),
            "{file} uses metrics neither binary exports: {unknown:?}\nexported: {:?}",
            exported.keys().collect::<Vec<_>>()
        );
    }
    // A scheduled feed that never succeeds: its interval is exported (what the FeedStale
    // alert compares with), with no last success, and both go when the feed is deleted.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let (status, body) = http(
        m_addr,
        "POST",
        "/api/v1/feeds",
        Some(&format!(
            r#"{{"name": "deploy-stale", "format": "stix", "url": "http://{closed}/bundle.json", "interval": "1h"}}"#
        )),
    );
    assert!((200..300).contains(&status), "create feed: {status} {body}");
    let interval = "articdbm_manager_feed_interval_seconds{feed=\"deploy-stale\"} 3600";
    let failed = "articdbm_manager_feed_fetches_total{feed=\"deploy-stale\",result=\"error\"} 1";
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, m) = http_get(m_addr, "/metrics");
        if m.lines().any(|l| l == interval) && m.lines().any(|l| l == failed) {
            assert!(
                !m.contains(
                    "articdbm_manager_feed_last_success_timestamp_seconds{feed=\"deploy-stale\"}"
                ),
                "{m}"
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{interval} / {failed} not in\n{m}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let (status, body) = http(m_addr, "DELETE", "/api/v1/feeds/deploy-stale", None);
    assert!((200..300).contains(&status), "delete feed: {status} {body}");
    let deadline = Instant::now() + Duration::from_secs(30);
    while http_get(m_addr, "/metrics").1.contains(interval) {
        assert!(
            Instant::now() < deadline,
            "the deleted feed's interval stays"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // Backend health is there with its series, as the BackendDown alert reads it.
    assert!(
        g.lines()
            .any(|l| l.starts_with("articdbm_backend_up{") && l.ends_with(" 0")),
        "{g}"
    );
}

#[test]
fn healthcheck_failures_are_exit_1_with_the_reason() {
    let s = staged();
    let gateway = s.bin("articdbm-gateway");
    let manager = s.bin("articdbm-manager");
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    for bin in [&gateway, &manager] {
        let name = bin.file_name().unwrap().to_string_lossy().into_owned();
        let out = healthcheck(bin, &format!("http://{closed}/healthz"), &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(&format!(
                "{name} healthcheck: unhealthy: cannot connect to {closed}"
            )),
            "{err}"
        );
        // The gateway's admin endpoints are plain HTTP; the manager's healthcheck speaks
        // https too (for a manager run with --tls-cert).
        let out = healthcheck(bin, &format!("https://{closed}/healthz"), &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let says = if name == "articdbm-manager" {
            "cannot reach"
        } else {
            "https is not supported"
        };
        assert!(text(&out.stderr).contains(says), "{out:?}");
    }
    // A server that accepts and never answers: the timeout holds.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let started = Instant::now();
    let out = healthcheck(
        &gateway,
        &format!("http://{}/healthz", silent.local_addr().unwrap()),
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out.stderr).contains("no answer"), "{out:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    drop(silent);

    // ARTICDBM_ADMIN_TOKEN is sent as a bearer token.
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut c, _) = l.accept().unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while !got.ends_with(b"\r\n\r\n") {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        c.write_all(b"HTTP/1.0 200 OK\r\n\r\n{\"ready\":true}")
            .unwrap();
        String::from_utf8(got).unwrap()
    });
    let out = run_bin(
        Command::new(&gateway)
            .args(["healthcheck", "--url"])
            .arg(format!("http://{addr}/healthz"))
            .env("ARTICDBM_ADMIN_TOKEN", "tok-123"),
    );
    assert!(out.status.success(), "{out:?}");
    let request = server.join().unwrap();
    assert!(
        request.starts_with("GET /healthz HTTP/1.0\r\n")
            && request.contains("\r\nAuthorization: Bearer tok-123\r\n"),
        "{request}"
    );
}

// ---------------------------------------------------------------- Prometheus

fn promtool() -> PathBuf {
    tools::find("promtool", &[])
        .expect("promtool not found; scripts/test.sh installs the prometheus package")
}

#[test]
fn prometheus_config_and_rules_pass_promtool() {
    let dir = deploy().join("prometheus");
    for args in [
        &["check", "config", "prometheus.yml"][..],
        &["check", "rules", "alerts.yml"],
        // The rules' unit tests: each alert fires on the series it is written for.
        &["test", "rules", "alerts.test.yml"],
    ] {
        let out = process::output(
            Command::new(promtool()).args(args).current_dir(&dir),
            Duration::from_secs(60),
        )
        .unwrap();
        assert!(
            out.status.success(),
            "promtool {args:?}: {}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
    }
    // promtool can fail: a rule with a syntax error is refused.
    let tmp = tempfile::tempdir().unwrap();
    let broken = std::fs::read_to_string(dir.join("alerts.yml"))
        .unwrap()
        .replacen("articdbm_backend_up == 0", "articdbm_backend_up == == 0", 1);
    std::fs::write(tmp.path().join("alerts.yml"), broken).unwrap();
    let out = process::output(
        Command::new(promtool())
            .args(["check", "rules", "alerts.yml"])
            .current_dir(tmp.path()),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(!out.status.success(), "a broken rule passed promtool");

    // The scrape targets are the compose services and the ports they listen on.
    let config = std::fs::read_to_string(dir.join("prometheus.yml")).unwrap();
    for target in [
        "\"manager:8080\"",
        "\"gateway-1:9187\"",
        "\"gateway-2:9187\"",
    ] {
        assert!(config.contains(target), "{target} not scraped");
    }
}

// ---------------------------------------------------------------- YAML through Python

fn python() -> PathBuf {
    tools::python_venv().expect("the test venv (python3-venv, PyPI)")
}

/// Every YAML document of `file` as JSON.
fn yaml_docs(file: &Path) -> Vec<Value> {
    let out = process::run(
        Command::new(python()).args([
            "-c",
            "import json, sys, yaml\n\
             print(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1], encoding='utf-8')) if d is not None]))",
        ])
        .arg(file),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
    serde_json::from_str::<Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Checks a gateway config against docs/schema/gateway-config.schema.json (the parser is
/// checked separately), so editors completing from the schema agree with the parser.
fn assert_gateway_schema(what: &str, toml: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("gateway.toml");
    std::fs::write(&file, toml).unwrap();
    let out = process::output(
        Command::new(python())
            .args([
                "-c",
                "import json, sys, tomllib, jsonschema\n\
                 schema = json.load(open(sys.argv[1], encoding='utf-8'))\n\
                 doc = tomllib.load(open(sys.argv[2], 'rb'))\n\
                 v = jsonschema.Draft202012Validator(schema)\n\
                 errors = [f'{list(e.path)}: {e.message}' for e in v.iter_errors(doc)]\n\
                 print(chr(10).join(errors))\n\
                 sys.exit(1 if errors else 0)",
            ])
            .arg(root().join("docs/schema/gateway-config.schema.json"))
            .arg(&file),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(
        out.status.success(),
        "{what} does not match the gateway config schema: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

// ---------------------------------------------------------------- Kubernetes

#[test]
fn kubernetes_manifests_validate_against_the_schemas() {
    let k8s = deploy().join("k8s");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&k8s)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let script = root().join("tests/deploy/validate_k8s.py");
    let out = process::output(
        Command::new(python())
            .arg(&script)
            .arg(KUBERNETES)
            .args(&files),
        Duration::from_secs(120),
    )
    .unwrap();
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "validate_k8s.py:\n{stdout}{}",
        text(&out.stderr)
    );
    let seen: Vec<Value> = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let kinds: BTreeSet<(String, String)> = seen
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["name"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (kind, name) in [
        ("Namespace", "articdbm"),
        ("Deployment", "articdbm-manager"),
        ("Service", "articdbm-manager"),
        ("Deployment", "articdbm-gateway"),
        ("Service", "articdbm-gateway"),
        ("PodDisruptionBudget", "articdbm-gateway"),
        ("ConfigMap", "articdbm-gateway"),
        ("ConfigMap", "articdbm-manager"),
        ("Secret", "articdbm-manager"),
        ("Secret", "articdbm-cluster-key"),
        ("ServiceMonitor", "articdbm"),
    ] {
        assert!(
            kinds.contains(&(kind.to_string(), name.to_string())),
            "no {kind}/{name} in {kinds:?}"
        );
    }

    // The validator refuses what Kubernetes would: an unknown field, in a built-in kind and
    // in the ServiceMonitor (checked against tests/deploy/servicemonitor.schema.json).
    let tmp = tempfile::tempdir().unwrap();
    for (file, from, to) in [
        ("pdb.yaml", "minAvailable: 1", "minAvailabel: 1"),
        ("servicemonitor.yaml", "interval: 15s", "intervall: 15s"),
        ("gateway.yaml", "path: /healthz", "paht: /healthz"),
    ] {
        let bad = tmp.path().join(file);
        let original = std::fs::read_to_string(k8s.join(file)).unwrap();
        assert!(original.contains(from), "{file} has no {from:?}");
        std::fs::write(&bad, original.replacen(from, to, 1)).unwrap();
        let out = process::output(
            Command::new(python())
                .arg(&script)
                .arg(KUBERNETES)
                .arg(&bad),
            Duration::from_secs(120),
        )
        .unwrap();
        assert!(!out.status.success(), "{file} with {to:?} passed");
        assert!(text(&out.stdout).contains(to.split(':').next().unwrap()));
    }

    // What the schemas cannot see: probes, labels, ports and the gateway's config.
    let docs: Vec<Value> = files.iter().flat_map(|f| yaml_docs(f)).collect();
    let find = |kind: &str, name: &str| -> &Value {
        docs.iter()
            .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
            .unwrap_or_else(|| panic!("{kind}/{name}"))
    };
    for app in ["articdbm-manager", "articdbm-gateway"] {
        let deployment = find("Deployment", app);
        let service = find("Service", app);
        let pod_labels = &deployment["spec"]["template"]["metadata"]["labels"];
        for (k, v) in service["spec"]["selector"].as_object().unwrap() {
            assert_eq!(&pod_labels[k], v, "{app}: Service selector {k}");
        }
        for (k, v) in deployment["spec"]["selector"]["matchLabels"]
            .as_object()
            .unwrap()
        {
            assert_eq!(&pod_labels[k], v, "{app}: Deployment selector {k}");
        }
        assert_eq!(
            service["metadata"]["labels"]["app.kubernetes.io/part-of"], "articdbm",
            "{app}: the ServiceMonitor selects it"
        );
        let container = &deployment["spec"]["template"]["spec"]["containers"][0];
        let ports: BTreeMap<&str, i64> = container["ports"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap(),
                    p["containerPort"].as_i64().unwrap(),
                )
            })
            .collect();
        let probe = &container["readinessProbe"]["httpGet"];
        assert_eq!(probe["path"], "/healthz", "{app}");
        let port = probe["port"].as_str().unwrap();
        let want = if app == "articdbm-gateway" {
            9187
        } else {
            8080
        };
        assert_eq!(ports.get(port), Some(&want), "{app}: readiness port {port}");
        assert_eq!(
            deployment["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"],
            true
        );
    }
    let monitor = find("ServiceMonitor", "articdbm");
    let endpoints: BTreeSet<&str> = monitor["spec"]["endpoints"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["port"].as_str().unwrap())
        .collect();
    assert_eq!(endpoints, BTreeSet::from(["http", "admin"]));
    assert!(docs.iter().any(|d| d["kind"] == "PodDisruptionBudget"
        && d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "articdbm-gateway"));
    let toml = find("ConfigMap", "articdbm-gateway")["data"]["gateway.toml"]
        .as_str()
        .unwrap();
    let parsed = articdbm_gateway::config::Config::parse(toml, &tmp.path().join("gateway.toml"))
        .unwrap_or_else(|e| panic!("the ConfigMap's gateway.toml: {e}"));
    assert_gateway_schema("the ConfigMap's gateway.toml", toml);
    assert_eq!(
        parsed.server.admin_listen,
        Some("0.0.0.0:9187".parse().unwrap())
    );
}

// ---------------------------------------------------------------- compose

#[test]
fn compose_file_has_the_services_healthchecks_ports_and_mounts_the_docs_name() {
    let file = deploy().join("compose.yaml");
    let compose = yaml_docs(&file).remove(0);
    let services = compose["services"].as_object().unwrap();
    let names: BTreeSet<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "postgres",
            "mariadb",
            "redis",
            "manager",
            "apply",
            "gateway-1",
            "gateway-2",
            "prometheus",
            "grafana",
        ])
    );
    // docs/DEPLOYMENT.md's table of published ports.
    let published = |svc: &str| -> BTreeSet<String> {
        services[svc]["ports"]
            .as_array()
            .map(|a| a.iter().map(|p| p.as_str().unwrap().to_string()).collect())
            .unwrap_or_default()
    };
    for (svc, ports) in [
        ("manager", &["8080:8080"][..]),
        ("gateway-1", &["6432:6432", "3307:3307"]),
        ("gateway-2", &["6433:6432", "3308:3307"]),
        ("prometheus", &["9090:9090"]),
        ("grafana", &["3000:3000"]),
    ] {
        let want: BTreeSet<String> = ports.iter().map(|p| p.to_string()).collect();
        assert_eq!(published(svc), want, "{svc}");
    }
    for svc in ["postgres", "mariadb", "redis"] {
        assert!(published(svc).is_empty(), "{svc} is published");
    }
    // Every long-running service has a healthcheck; ours use the healthcheck subcommands.
    for (svc, def) in services {
        let hc = &def["healthcheck"];
        if svc == "apply" {
            assert_eq!(hc["disable"], true);
            continue;
        }
        let test: Vec<&str> = hc["test"]
            .as_array()
            .unwrap_or_else(|| panic!("{svc} has no healthcheck test"))
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(test[0], "CMD", "{svc}");
        let want: Option<&[&str]> = match svc.as_str() {
            "manager" => Some(&[
                "articdbm-manager",
                "healthcheck",
                "--url",
                "http://127.0.0.1:8080/healthz",
            ]),
            "gateway-1" | "gateway-2" => Some(&[
                "articdbm-gateway",
                "healthcheck",
                "--url",
                "http://127.0.0.1:9187/healthz",
            ]),
            _ => None,
        };
        if let Some(want) = want {
            assert_eq!(&test[1..], want, "{svc}");
        }
    }
    // The manager's address the gateways follow, and its store.
    for svc in ["gateway-1", "gateway-2"] {
        let command: Vec<&str> = services[svc]["command"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            command
                .windows(2)
                .any(|w| w == ["--manager", "http://manager:8080"]),
            "{svc}: {command:?}"
        );
        assert_eq!(
            services[svc]["depends_on"]["manager"]["condition"],
            "service_healthy"
        );
        assert!(services[svc]["environment"]["ARTICDBM_CLUSTER_KEY"].is_string());
    }
    assert_eq!(
        services["gateway-1"]["environment"]["ARTICDBM_GATEWAY_NAME"],
        "gateway-1"
    );
    assert_eq!(
        services["gateway-2"]["environment"]["ARTICDBM_GATEWAY_NAME"],
        "gateway-2"
    );
    assert!(
        services["manager"]["environment"]["DATABASE_URL"]
            .as_str()
            .unwrap()
            .starts_with("postgres://articdbm:")
    );
    // Every file mounted from the checkout exists, and every gateway config is one the
    // gateway's parser accepts, with the admin port Prometheus scrapes.
    let dir = deploy();
    for (svc, def) in services {
        for v in def["volumes"].as_array().into_iter().flatten() {
            let v = v.as_str().unwrap();
            if let Some(local) = v.strip_prefix("./") {
                let source = dir.join(local.split(':').next().unwrap());
                assert!(source.exists(), "{svc}: {} missing", source.display());
            }
        }
    }
    for config in ["config/gateway-cluster.toml", "config/gateway.toml"] {
        let path = dir.join(config);
        let parsed = articdbm_gateway::config::Config::parse(
            &std::fs::read_to_string(&path).unwrap(),
            &path,
        )
        .unwrap_or_else(|e| panic!("{config}: {e}"));
        assert_gateway_schema(config, &std::fs::read_to_string(&path).unwrap());
        assert_eq!(
            parsed.server.admin_listen,
            Some("0.0.0.0:9187".parse().unwrap()),
            "{config}"
        );
    }
    // Grafana's provisioning: the datasource uid the dashboard queries.
    let datasource =
        yaml_docs(&dir.join("grafana/provisioning/datasources/prometheus.yaml")).remove(0);
    let uid = datasource["datasources"][0]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        datasource["datasources"][0]["url"],
        "http://prometheus:9090"
    );
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("grafana/dashboards/articdbm.json")).unwrap(),
    )
    .unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let mut queried = 0;
    for p in panels.iter().filter(|p| p["type"] != "row") {
        assert_eq!(p["datasource"]["uid"], uid.as_str(), "{}", p["title"]);
        for t in p["targets"].as_array().unwrap() {
            assert!(t["expr"].as_str().is_some_and(|e| e.contains("articdbm_")));
            queried += 1;
        }
    }
    assert!(queried >= 15, "{queried} queries");
}

// ---------------------------------------------------------------- the name check itself

#[test]
fn metric_name_check_handles_histograms_and_word_boundaries() {
    let exported = BTreeMap::from([
        (
            "articdbm_pool_wait_seconds".to_string(),
            "histogram".to_string(),
        ),
        ("articdbm_backend_up".to_string(), "gauge".to_string()),
    ]);
    let used = metric_names(
        "rate(articdbm_pool_wait_seconds_bucket[5m]) articdbm_backend_up{x=\"y\"} \
         uid articdbm-prometheus, my_articdbm_thing, articdbm_backend_up_count, articdbm_nope, \
         every `articdbm_*` metric",
    );
    assert_eq!(
        used,
        BTreeSet::from([
            "articdbm_pool_wait_seconds_bucket".to_string(),
            "articdbm_backend_up".to_string(),
            "articdbm_backend_up_count".to_string(),
            "articdbm_nope".to_string(),
        ])
    );
    assert_eq!(
        unknown_metrics(&used, &exported),
        vec![
            "articdbm_backend_up_count".to_string(),
            "articdbm_nope".to_string()
        ]
    );
}

// ---------------------------------------------------------------- command lines

/// Runs `argv` (a command line written for the image or a host install) against the staged
/// binary with `--help` appended: clap parses and checks every argument before it reaches
/// `--help`, so an unknown flag or a bad value fails, and nothing starts.
fn assert_accepted(s: &Staged, what: &str, argv: &[String]) {
    let bin = Path::new(&argv[0])
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(
        bin == "articdbm-manager" || bin == "articdbm-gateway",
        "{what}: {argv:?}"
    );
    let out = run_bin(
        Command::new(s.bin(&bin))
            .args(&argv[1..])
            .arg("--help")
            .env_clear()
            .env("PATH", "/usr/bin:/bin"),
    );
    assert!(
        out.status.success() && text(&out.stdout).contains("Usage: "),
        "{what}: {argv:?} refused: {}{}",
        text(&out.stderr),
        text(&out.stdout)
    );
}

#[test]
fn command_lines_in_the_deployment_files_are_ones_the_binaries_accept() {
    let s = staged();
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect()
    };
    let mut checked = 0;
    // compose.yaml: the manager, apply and gateway commands, and the healthchecks.
    let compose = yaml_docs(&deploy().join("compose.yaml")).remove(0);
    for (svc, def) in compose["services"].as_object().unwrap() {
        if def["command"][0]
            .as_str()
            .is_some_and(|c| c.starts_with("articdbm-"))
        {
            assert_accepted(s, svc, &strings(&def["command"]));
            checked += 1;
        }
        let test = &def["healthcheck"]["test"];
        if test.is_array() && test[1].as_str().unwrap().starts_with("articdbm-") {
            assert_accepted(s, svc, &strings(test)[1..]);
            checked += 1;
        }
    }
    // The Kubernetes containers' args.
    for file in ["manager.yaml", "gateway.yaml"] {
        for doc in yaml_docs(&deploy().join("k8s").join(file)) {
            if doc["kind"] == "Deployment" {
                let c = &doc["spec"]["template"]["spec"]["containers"][0];
                assert_accepted(s, file, &strings(&c["args"]));
                checked += 1;
            }
        }
    }
    // The Dockerfile's exec-form CMDs (the default command and the HEALTHCHECK).
    let dockerfile = std::fs::read_to_string(deploy().join("Dockerfile")).unwrap();
    for line in dockerfile.lines() {
        if let Some(i) = line.find("CMD [") {
            let argv: Vec<String> = serde_json::from_str(&line[i + 4..]).unwrap();
            assert_accepted(s, "Dockerfile", &argv);
            checked += 1;
        }
    }
    // docs/DEPLOYMENT.md's systemd units (ExecStart with continuation lines).
    let docs = std::fs::read_to_string(root().join("docs/DEPLOYMENT.md")).unwrap();
    let mut lines = docs.lines();
    while let Some(line) = lines.next() {
        let Some(first) = line.strip_prefix("ExecStart=") else {
            continue;
        };
        let mut command = first.to_string();
        while command.ends_with('\\') {
            command.pop();
            command.push(' ');
            command.push_str(lines.next().unwrap().trim());
        }
        let argv: Vec<String> = command.split_whitespace().map(String::from).collect();
        assert_accepted(s, "docs/DEPLOYMENT.md", &argv);
        checked += 1;
    }
    // 4 compose commands, 3 compose healthchecks, 2 containers, 2 Dockerfile, 2 units.
    assert_eq!(checked, 13);

    // And a flag nobody has is refused, so the check above can fail.
    let out = run_bin(Command::new(s.bin("articdbm-gateway")).args([
        "run",
        "--config",
        "/x.toml",
        "--no-such-flag",
        "--help",
    ]));
    assert!(!out.status.success(), "{out:?}");
}
