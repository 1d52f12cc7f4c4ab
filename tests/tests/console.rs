//! The web console (docs/UI.md) with real parts: the API it reads (live decision stream, rates,
//! plugin counters, the pack check and the "try it" trial by the real runtime, CSV export) from
//! a real manager followed by a real managed gateway, the console's files and their
//! Content-Security-Policy, and the console itself driven in Debian's chromium
//! (`manager/ui/e2e/console.mjs`) against a manager, a gateway and PostgreSQL.

mod gw_support;
mod mgr_support;

use std::time::{Duration, Instant};

use articdbm_manager::Manager;
use gw_support::*;
use mgr_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

const INJECTION: &str = "SELECT * FROM t WHERE a = '' OR 1=1 --'";

/// A `GET /api/v1/events` subscription: reads Server-Sent Events frames.
struct Events {
    resp: reqwest::Response,
    buf: String,
}

impl Events {
    async fn open(api: &Api, key: &str, query: &str) -> Events {
        let resp = api
            .http
            .get(format!("{}/api/v1/events{query}", api.base))
            .bearer_auth(key)
            .send()
            .await
            .expect("manager answers");
        assert_eq!(resp.status(), StatusCode::OK);
        assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            "text/event-stream"
        );
        Events {
            resp,
            buf: String::new(),
        }
    }

    /// The next `(event, data)` frame within `timeout` (comments skipped), or `None`.
    async fn next(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(i) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..i + 2).collect();
                let mut event = String::from("message");
                let mut data = String::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_string();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data.push_str(v.trim_start());
                    }
                }
                if data.is_empty() {
                    continue; // a keep-alive comment
                }
                return Some((event, serde_json::from_str(&data).expect("JSON data")));
            }
            let left = deadline.checked_duration_since(Instant::now())?;
            match tokio::time::timeout(left, self.resp.chunk()).await {
                Ok(Ok(Some(c))) => self.buf.push_str(&String::from_utf8_lossy(&c)),
                _ => return None,
            }
        }
    }
}

async fn key(api: &Api, role: &str, tenant: Option<&str>) -> String {
    let mut body = json!({"role": role, "name": format!("{role}-key")});
    if let Some(t) = tenant {
        body["tenant"] = json!(t);
    }
    api.ok("post", "/api/v1/keys", Some(&body)).await["key"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A refusal in a gateway reaches a live-stream subscriber whose filters match, within 2 s of
/// the gateway's upload (it sends every second), and no other; the heartbeat's usage and plugin
/// counters become rates, per-rule counts and plugin latency; audit filters by rule and exports
/// CSV.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_decisions_rates_and_plugin_counters_from_a_managed_gateway() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    for t in ["live", "quiet"] {
        api.ok("post", "/api/v1/tenants", Some(&json!({ "name": t })))
            .await;
    }
    api.ok(
        "post",
        "/api/v1/tenants/live/users",
        Some(&json!({"name": APP_USER, "password": APP_PASSWORD})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/live/databases",
        Some(&json!({"name": "live", "sqlite": dir.path().join("live.db")})),
    )
    .await;
    let quiet_admin = key(&api, "tenant-admin", Some("quiet")).await;
    let live_admin = key(&api, "tenant-admin", Some("live")).await;

    let who: Value = {
        let (s, v) = api
            .call("get", "/api/v1/whoami", Some(&live_admin), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    };
    assert_eq!(who["role"], "tenant-admin");
    assert_eq!(who["tenant"], "live");
    assert_eq!(who["name"], "tenant-admin-key");

    let config = gateway_config(dir.path());
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let c = connect(&gw, "live").await.unwrap();
    c.simple_query("CREATE TABLE t (a text)").await.unwrap();

    // Subscribed before the refusal: the tenant's own admin with a verdict filter, the other
    // tenant's admin asking for everything (scoped to its own tenant by the manager), and an
    // admin filtering on a verdict that does not occur.
    let mut mine = Events::open(&api, &live_admin, "?verdict=deny,would-deny").await;
    let mut other = Events::open(&api, &quiet_admin, "").await;
    let mut audits_only = Events::open(&api, ADMIN, "?verdict=audit").await;

    let e = c.simple_query(INJECTION).await.unwrap_err();
    let refused_at = Instant::now();
    let message = describe(&e);
    assert!(message.contains("sqli."), "{message}");
    let (event, data) = mine
        .next(Duration::from_secs(5))
        .await
        .expect("the refusal reaches the live stream");
    let latency = refused_at.elapsed();
    assert_eq!(event, "audit", "{data}");
    assert_eq!(data["tenant"], "live");
    assert_eq!(data["actor"], APP_USER);
    assert_eq!(data["verdict"], "deny");
    assert_eq!(data["detail"]["sql"], INJECTION);
    let rule = data["detail"]["rule"].as_str().unwrap().to_string();
    assert!(rule.starts_with("sqli."), "{rule}");
    assert!(
        latency < Duration::from_millis(2500),
        "the refusal took {latency:?} to reach the stream"
    );
    // Both other subscribers were sent everything the first was; neither matched.
    assert_eq!(other.next(Duration::from_millis(500)).await, None);
    assert_eq!(audits_only.next(Duration::from_millis(100)).await, None);

    // Rates from heartbeats (every 10 s): two statements, one refusal, by rule.
    c.simple_query("SELECT 1").await.unwrap();
    let stats = poll(
        "usage reaches the manager",
        Duration::from_secs(30),
        || async {
            let (s, v) = api
                .call(
                    "get",
                    "/api/v1/stats?window=600&step=60",
                    Some(&live_admin),
                    None,
                )
                .await;
            if s != StatusCode::OK {
                return Err(format!("{s} {v}"));
            }
            if v["totals"]["queries"].as_i64() >= Some(3)
                && v["totals"]["denials"].as_i64() >= Some(1)
            {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        },
    )
    .await;
    assert_eq!(stats["buckets"].as_array().unwrap().len(), 10);
    assert_eq!(stats["denials_by_rule"][0]["rule"], rule.as_str());
    assert_eq!(stats["denials_by_rule"][0]["count"], 1);
    let summed: i64 = stats["buckets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["denials"].as_i64().unwrap())
        .sum();
    assert_eq!(summed, stats["totals"]["denials"].as_i64().unwrap());
    // The other tenant's admin sees none of it.
    let (_, quiet) = api
        .call("get", "/api/v1/stats", Some(&quiet_admin), None)
        .await;
    assert_eq!(quiet["totals"]["denials"], 0, "{quiet}");
    assert_eq!(quiet["denials_by_rule"], json!([]), "{quiet}");
    let (s, _) = api
        .call("get", "/api/v1/stats?window=10", Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The gateway follows the latest snapshot; its plugin counters arrived with the heartbeat.
    let gws = api.ok("get", "/api/v1/gateways", None).await;
    assert_eq!(gws["items"][0]["current"], true, "{gws}");
    assert_eq!(gws["items"][0]["snapshot_version"], gws["snapshot_version"]);
    assert!(
        gws["items"][0]["age_ms"].as_i64().unwrap() < 30_000,
        "{gws}"
    );
    let plugins = api.ok("get", "/api/v1/plugins", None).await;
    let guard = plugins["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sqli-guard")
        .unwrap()
        .clone();
    assert!(guard["stats"]["calls"].as_u64().unwrap() >= 1, "{guard}");
    assert!(guard["stats"]["mean_us"].as_f64().unwrap() > 0.0, "{guard}");
    assert_eq!(guard["stats"]["quarantined"], json!([]));

    // Audit: by rule, by action, as CSV.
    let by_rule = api
        .ok(
            "get",
            &format!("/api/v1/audit?tenant=live&rule={rule}"),
            None,
        )
        .await;
    assert_eq!(by_rule["items"].as_array().unwrap().len(), 1, "{by_rule}");
    let by_action = api
        .ok("get", "/api/v1/audit?tenant=live&action=connect", None)
        .await;
    assert_eq!(by_action["items"], json!([]), "{by_action}");
    let resp = api
        .http
        .get(format!("{}/api/v1/audit?tenant=live&format=csv", api.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()["content-type"].to_str().unwrap(),
        "text/csv; charset=utf-8"
    );
    let csv = resp.text().await.unwrap();
    let mut lines = csv.split("\r\n");
    assert_eq!(
        lines.next(),
        Some("id,at,tenant,actor,action,target,verdict,rule,plugin,binding,reason,client_addr,sql")
    );
    let row = lines.next().unwrap();
    assert!(row.contains(&format!("\"{rule}\"")), "{row}");
    assert!(
        row.contains("\"SELECT * FROM t WHERE a = '' OR 1=1 --'\""),
        "{row}"
    );
    let (s, v) = api
        .call("get", "/api/v1/audit?format=xml", Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "format");

    drop(c);
    drop(gw);
    drop(mg);
    m.stop().await;
}

/// `check` runs every check `PUT` runs and stores nothing; `try` judges statements with the
/// draft in place by the real runtime (the baseline's sqli-guard, the draft's acl), scoped to
/// what the key may read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pack_check_and_try_run_the_real_checks_and_runtime() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    for t in ["acme", "other"] {
        api.ok("post", "/api/v1/tenants", Some(&json!({ "name": t })))
            .await;
    }
    let acme_admin = key(&api, "tenant-admin", Some("acme")).await;
    let draft = "version = 1\nname = \"acme-pack\"\nkind = \"tenant\"\ntenant = \"acme\"\n\n\
                 [[binding]]\nid = \"perm\"\nplugin = \"acl\"\nhooks = [\"query\"]\n\
                 [binding.config]\ndefault = \"deny\"\n\
                 grants = [{ users = [\"alice\"], tables = [\"*\"], actions = [\"read\"] }]\n";
    let check = |key: &str, body: &str| {
        let api = &api;
        let (key, body) = (key.to_string(), body.as_bytes().to_vec());
        async move {
            api.raw(
                "POST",
                "/api/v1/packs/acme-pack/check",
                &key,
                "application/toml",
                body,
            )
            .await
        }
    };
    let (s, v) = check(&acme_admin, draft).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["bindings"], 1);
    // Nothing stored.
    let (s, _) = api
        .call("get", "/api/v1/packs/acme-pack", Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A config the plugin's schema refuses, and a TOML error with its line.
    let (s, v) = check(&acme_admin, &draft.replace("\"deny\"", "\"maybe\"")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("perm"),
        "{v}"
    );
    let (s, v) = check(&acme_admin, &draft.replace("hooks = [", "hooks = ")).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"].as_str().unwrap().contains("line 9"),
        "{v}"
    );
    // Another tenant's pack is not this key's to check.
    let (s, v) = check(&acme_admin, &draft.replace("\"acme\"", "\"other\"")).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");

    let trial = |key: &str, body: Value| {
        let api = &api;
        let key = key.to_string();
        async move {
            api.call(
                "post",
                "/api/v1/packs/acme-pack/try",
                Some(&key),
                Some(&body),
            )
            .await
        }
    };
    let started = Instant::now();
    let (s, v) = trial(
        &acme_admin,
        json!({"toml": draft, "statements": [
            {"sql": "SELECT * FROM orders", "user": "alice"},
            {"sql": "DELETE FROM orders", "user": "alice"},
            {"sql": "SELECT * FROM orders", "user": "mallory"},
            {"sql": INJECTION, "user": "alice"},
        ]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    eprintln!(
        "first trial (compiles the plugins): {:?}",
        started.elapsed()
    );
    let r = v["results"].as_array().unwrap();
    let verdicts: Vec<(&str, &str)> = r
        .iter()
        .map(|r| {
            (
                r["verdict"].as_str().unwrap(),
                r["rule"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(verdicts[0], ("allow", ""), "{v}");
    assert_eq!(verdicts[1].0, "deny", "{v}");
    assert!(verdicts[1].1.starts_with("acl."), "{v}");
    assert_eq!(verdicts[2].0, "deny", "{v}");
    assert_eq!(verdicts[3].0, "deny", "{v}");
    assert!(verdicts[3].1.starts_with("sqli."), "{v}");
    assert_eq!(r[3]["binding"], "sqli");
    // Without the draft's acl binding (an empty tenant pack), mallory may read.
    let empty = "version = 1\nname = \"acme-pack\"\nkind = \"tenant\"\ntenant = \"acme\"\n";
    let started = Instant::now();
    let (s, v) = trial(
        ADMIN,
        json!({"toml": empty, "statements": [{"sql": "SELECT * FROM orders", "user": "mallory", "tenant": "acme"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["results"][0]["verdict"], "allow", "{v}");
    eprintln!("second trial (cached components): {:?}", started.elapsed());

    // Bad input is named; another tenant is refused.
    let (s, v) = trial(&acme_admin, json!({"toml": draft, "statements": []})).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "statements");
    let (s, v) = trial(
        &acme_admin,
        json!({"toml": draft, "statements": [{"sql": "SELECT 1", "tenant": "other"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(v["error"]["field"], "statements[0].tenant");
    let (s, v) = trial(
        &acme_admin,
        json!({"toml": draft, "statements": [{"sql": "SELECT 1", "color": "red"}]}),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = trial(&acme_admin, json!({"statements": [{"sql": "SELECT 1"}]})).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "no stored pack to try: {v}");

    // The schemas the console's editor checks against.
    let schema = api.ok("get", "/api/v1/schemas/pack", None).await;
    assert_eq!(schema["title"], "ArticDBM rule pack");
    let configs = api.ok("get", "/api/v1/schemas/plugins", None).await;
    assert!(
        configs["acl"]["properties"]["grants"].is_object(),
        "{configs}"
    );
    assert!(
        configs.get("feed-stix").is_none(),
        "feed parsers are not bound in packs"
    );
    m.stop().await;
}

/// The console's files: `index.html` with a fresh CSP nonce per response and no inline script,
/// hashed assets cached for good, the console's own routes answered with `index.html`, unknown
/// files 404.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_are_served_with_a_strict_csp() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let base = format!("http://{}", m.addr);
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{base}{path}")).send();

    let r = get("/").await.unwrap();
    assert!(r.status().is_redirection());
    assert_eq!(r.headers()["location"], "/ui/");
    let mut nonces = Vec::new();
    let mut script = None;
    for path in ["/ui/", "/ui/packs/acme-pack"] {
        let r = get(path).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
        let nonce = csp
            .split("'nonce-")
            .nth(1)
            .and_then(|s| s.split('\'').next())
            .unwrap()
            .to_string();
        let html = r.text().await.unwrap();
        assert!(html.contains(&format!("content=\"{nonce}\"")), "{html}");
        assert!(!html.contains("__CSP_NONCE__"));
        // Every script is a file: no inline code.
        for s in html.split("<script").skip(1) {
            let tag = &s[..s.find('>').unwrap()];
            assert!(tag.contains("src=\"/ui/"), "inline script: <script{tag}>");
            script = tag
                .split("src=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .map(str::to_string);
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "a nonce is used once");
    let script = script.expect("index.html loads a script");
    let r = get(&script).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{script}");
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let r = get("/ui/assets/nothing-here.js").await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    m.stop().await;
}

/// `npm ci` in manager/ui when its packages are missing (the test command runs
/// manager/ui/check.sh first, which installs them; this is for a bare `cargo test`).
fn ui_packages() -> std::path::PathBuf {
    let ui = root().join("manager/ui");
    if !ui.join("node_modules/playwright-core").is_dir() {
        let out = std::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&ui)
            .output()
            .expect("npm runs (install nodejs and npm)");
        assert!(
            out.status.success(),
            "npm ci in manager/ui failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    ui
}

/// The console in Debian's chromium (manager/ui/e2e/console.mjs, Playwright with the system
/// browser) against a real manager, a real managed gateway and PostgreSQL: log in; create a
/// tenant, a user, a database and a pack in monitor mode; an injection sent with psql shows in
/// Live decisions within 2 s; the pack flipped to enforce refuses the next one in psql; a plugin
/// rolled back; a tenant-admin kept to its tenant. Every page passes axe with no serious or
/// critical violation and raises no CSP violation; each page's screenshot goes to docs/ui/.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_in_a_real_browser() {
    let chromium = std::path::Path::new("/usr/bin/chromium");
    assert!(
        chromium.exists(),
        "Debian's chromium is missing: apt-get install chromium chromium-driver (scripts/test.sh does)"
    );
    let ui = tokio::task::spawn_blocking(ui_packages).await.unwrap();
    let pg = tokio::task::spawn_blocking(|| articdbm_tests::PgServer::start().unwrap())
        .await
        .unwrap();
    pg.psql("CREATE DATABASE console").unwrap();
    let dir = tempfile::tempdir().unwrap();
    // No baseline pack: the tenant's own pack in monitor mode is what decides.
    let mut o = opts(&dir.path().join("manager"), None, None);
    o.seed_packs = vec![];
    let m = Manager::start(o).await.unwrap();
    let api = Api::new(m.addr);
    // Two versions of a plugin for the rollback step.
    let plugins = std::path::Path::new(articdbm_plugin_artifacts::TEST_PLUGIN_DIR);
    let component = std::fs::read(plugins.join("echo.wasm")).unwrap();
    for version in ["1.0.0", "2.0.0"] {
        let mut manifest: Value =
            serde_json::from_slice(&std::fs::read(plugins.join("echo.json")).unwrap()).unwrap();
        manifest["name"] = json!("e2e-probe");
        manifest["version"] = json!(version);
        let (s, v) = api
            .upload(
                ADMIN,
                &serde_json::to_vec(&manifest).unwrap(),
                component.clone(),
            )
            .await;
        assert!(s.is_success(), "upload e2e-probe {version}: {s} {v}");
    }
    let config = gateway_config(dir.path());
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;

    let shots = root().join("docs/ui");
    std::fs::create_dir_all(&shots).unwrap();
    let psql = articdbm_tests::tools::psql().unwrap();
    let mut cmd = std::process::Command::new(articdbm_tests::tools::node().unwrap());
    cmd.arg("e2e/console.mjs")
        .current_dir(&ui)
        .env("ARTICDBM_UI_URL", format!("http://{}/ui/", m.addr))
        .env("ARTICDBM_API_URL", format!("http://{}", m.addr))
        .env("ARTICDBM_ADMIN_KEY", ADMIN)
        .env("ARTICDBM_GATEWAY_HOST", "127.0.0.1")
        .env("ARTICDBM_GATEWAY_PORT", gw.pg_addr().port().to_string())
        .env("ARTICDBM_BACKEND_HOST", "127.0.0.1")
        .env("ARTICDBM_BACKEND_PORT", pg.port().to_string())
        .env("ARTICDBM_BACKEND_USER", pg.superuser())
        .env("ARTICDBM_BACKEND_PASSWORD", pg.password())
        .env("ARTICDBM_BACKEND_DB", "console")
        .env("ARTICDBM_SCREENSHOTS", &shots)
        .env("ARTICDBM_PSQL", &psql);
    let out = tokio::task::spawn_blocking(move || {
        articdbm_tests::process::output(&mut cmd, Duration::from_secs(300))
    })
    .await
    .unwrap()
    .expect("the browser test runs and finishes within 5 minutes");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stdout}\n{stderr}");
    assert!(
        out.status.success(),
        "the browser test failed:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("not ok"), "{stdout}");
    for page in [
        "overview", "live", "tenants", "packs", "plugins", "feeds", "audit",
    ] {
        let f = shots.join(format!("{page}.png"));
        let meta = std::fs::metadata(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(
            meta.len() > 10_000,
            "{} is {} bytes",
            f.display(),
            meta.len()
        );
    }
    drop(gw);
    drop(mg);
    m.stop().await;
    drop(pg);
}

/// Two manager replicas on one PostgreSQL store with Redis: events a gateway uploads to one
/// reach live-stream subscribers of both, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_stream_spans_replicas_through_redis() {
    let (pg, url) = postgres_store().await;
    let redis = tokio::task::spawn_blocking(|| articdbm_tests::RedisServer::start().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut managers = Vec::new();
    for i in 0..2 {
        let mut o = opts(&dir.path().join(format!("m{i}")), Some(url.clone()), None);
        o.redis = Some(redis.url());
        managers.push(Manager::start(o).await.unwrap());
    }
    let a = Api::new(managers[0].addr);
    let b = Api::new(managers[1].addr);
    let mut on_a = Events::open(&a, ADMIN, "").await;
    let mut on_b = Events::open(&b, ADMIN, "?verdict=deny").await;
    // Each replica's subscriber to Redis is up once a message from the other arrives: send
    // until one does (subscription is asynchronous), then check exactly-once on fresh ids.
    let upload = |id: String| {
        let a = &a;
        async move {
            let e = json!({"id": id, "at": 1_767_225_600_000i64, "tenant": "t", "actor": "u",
                           "action": "query", "target": "db", "verdict": "deny",
                           "detail": {"rule": "sqli.tautology", "sql": "SELECT 1"}});
            let (s, v) = a
                .call(
                    "post",
                    "/api/v1/audit",
                    Some(CLUSTER),
                    Some(&json!({"events": [e]})),
                )
                .await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
    };
    let mut warm = 0;
    loop {
        warm += 1;
        assert!(
            warm < 50,
            "replica b never heard of a's events through Redis"
        );
        upload(format!("warm-{warm}")).await;
        if on_b.next(Duration::from_millis(200)).await.is_some() {
            break;
        }
    }
    while on_a.next(Duration::from_millis(100)).await.is_some() {}
    while on_b.next(Duration::from_millis(300)).await.is_some() {}

    upload("the-one".into()).await;
    let t = Instant::now();
    let (_, got_b) = on_b
        .next(Duration::from_secs(3))
        .await
        .expect("b streams it");
    assert_eq!(got_b["id"], "the-one");
    assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    let (_, got_a) = on_a
        .next(Duration::from_secs(1))
        .await
        .expect("a streams it");
    assert_eq!(got_a["id"], "the-one");
    // Once each: a does not get its own event back from Redis, b not twice; a resend of the
    // same id (a gateway whose answer was lost) is stored and streamed once.
    upload("the-one".into()).await;
    assert_eq!(on_a.next(Duration::from_millis(700)).await, None);
    assert_eq!(on_b.next(Duration::from_millis(300)).await, None);
    for m in managers {
        m.stop().await;
    }
    drop(redis);
    drop(pg);
}
