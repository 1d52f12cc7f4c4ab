//! The manager with real parts: its REST API (roles, validation, hostile input, OpenAPI in step
//! with the router), its store on SQLite and on a real PostgreSQL, `apply`, and gateways in
//! managed mode following its snapshots under pgbench load, surviving its absence and
//! restarting from their last good snapshot.

mod gw_support;
mod mgr_support;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use articdbm_gateway::managed::Managed;
use articdbm_gateway::pg::Gateway;
use articdbm_manager::{Manager, ServeOptions};
use articdbm_tests::PgServer;
use gw_support::*;
use mgr_support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn plugin_files(name: &str) -> (Vec<u8>, Vec<u8>) {
    let dir = Path::new(articdbm_plugin_artifacts::PLUGIN_DIR);
    (
        std::fs::read(dir.join(format!("{name}.json"))).unwrap(),
        std::fs::read(dir.join(format!("{name}.wasm"))).unwrap(),
    )
}

/// The manifest of `name` with its `version` field replaced: a new plugin version.
fn manifest_version(name: &str, version: &str) -> Vec<u8> {
    let (m, _) = plugin_files(name);
    let mut v: Value = serde_json::from_slice(&m).unwrap();
    v["version"] = json!(version);
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn roles_validation_hostile_input_and_audit() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);

    // Two tenants, each with a user, a database and a tenant pack.
    for t in ["a", "b"] {
        api.ok("post", "/api/v1/tenants", Some(&json!({"name": t})))
            .await;
        api.ok(
            "post",
            &format!("/api/v1/tenants/{t}/users"),
            Some(&json!({"name": format!("user-{t}"), "password": "password-1234"})),
        )
        .await;
        api.ok(
            "post",
            &format!("/api/v1/tenants/{t}/databases"),
            Some(&json!({"name": format!("db-{t}"), "sqlite": dir.path().join(format!("{t}.db"))})),
        )
        .await;
        let pack = format!(
            "version = 1\nname = \"pack-{t}\"\nkind = \"tenant\"\ntenant = \"{t}\"\n\n\
             [[binding]]\nid = \"rl\"\nplugin = \"rate-limit\"\nhooks = [\"query\"]\n\
             [binding.config]\nper_user_qps = 1000\n"
        );
        let (s, v) = api
            .raw(
                "PUT",
                &format!("/api/v1/packs/pack-{t}"),
                ADMIN,
                "application/toml",
                pack.into_bytes(),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let mut keys = std::collections::HashMap::new();
    for (name, body) in [
        ("ta", json!({"role": "tenant-admin", "tenant": "a"})),
        ("tb", json!({"role": "tenant-admin", "tenant": "b"})),
        ("aud", json!({"role": "auditor"})),
    ] {
        let v = api.ok("post", "/api/v1/keys", Some(&body)).await;
        let key = v["key"].as_str().unwrap().to_string();
        assert!(key.starts_with("adbm_") && key.len() > 40);
        keys.insert(name, key);
    }
    // The store never holds a key or a password in clear.
    let db = std::fs::read(dir.path().join("manager.db")).unwrap();
    let hay = String::from_utf8_lossy(&db);
    assert!(!hay.contains(keys["ta"].as_str()) && !hay.contains("password-1234"));

    // The role matrix: every kind of route, as admin, tenant-admin of the resource's tenant,
    // tenant-admin of another tenant, auditor, the cluster key and no key. Bodies are made
    // per caller so creations do not collide.
    type Body = fn(&str) -> Option<Value>;
    let none: Body = |_| None;
    let cases: Vec<(&str, &str, Body, [u16; 6])> = vec![
        // method, path, body, [admin, own, other, auditor, cluster, no key]
        (
            "get",
            "/api/v1/tenants/a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/users",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/usage",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/users/user-a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/tenants/a/users",
            |who| Some(json!({"name": format!("new-{who}"), "password": "password-1234"})),
            [201, 201, 404, 403, 403, 401],
        ),
        (
            "put",
            "/api/v1/tenants/a/users/user-a",
            |_| Some(json!({"name": "user-a", "roles": ["reader"]})),
            [200, 200, 404, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/databases",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/databases/db-a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/packs/pack-a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/packs/default",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        ("get", "/api/v1/keys", none, [200, 403, 403, 403, 403, 401]),
        (
            "post",
            "/api/v1/tenants",
            |who| Some(json!({"name": format!("t-{who}")})),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/plugins",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/plugins/acl",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/plugins/acl/enable",
            none,
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/gateways",
            none,
            [200, 403, 403, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/snapshot",
            none,
            [200, 403, 403, 403, 200, 401],
        ),
        ("get", "/api/v1/audit", none, [200, 200, 200, 200, 403, 401]),
        (
            "get",
            "/api/v1/audit?tenant=a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/gateways/heartbeat",
            |who| Some(json!({"id": format!("gw-{who}")})),
            [200, 403, 403, 403, 200, 401],
        ),
        (
            "delete",
            "/api/v1/tenants/a/users/nobody",
            none,
            [404, 404, 404, 403, 403, 401],
        ),
        ("get", "/healthz", none, [200; 6]),
        ("get", "/metrics", none, [200; 6]),
        ("get", "/api/v1/openapi.json", none, [200; 6]),
        (
            "get",
            "/api/v1/tenants",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/keys",
            |_| Some(json!({"role": "auditor"})),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/keys/nonesuch",
            none,
            [404, 403, 403, 403, 403, 401],
        ),
        (
            "post",
            "/api/v1/tenants/a/databases",
            |who| Some(json!({"name": format!("db-new-{who}"), "sqlite": "new.db"})),
            [201, 201, 404, 403, 403, 401],
        ),
        (
            "put",
            "/api/v1/tenants/a/databases/db-a",
            |_| Some(json!({"name": "db-a", "sqlite": "a2.db"})),
            [200, 200, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/tenants/a/databases/nothing",
            none,
            [404, 404, 404, 403, 403, 401],
        ),
        ("get", "/api/v1/packs", none, [200, 200, 200, 200, 403, 401]),
        (
            "put",
            "/api/v1/packs/pack-a",
            |_| {
                Some(
                    json!({"version": 1, "name": "pack-a", "kind": "tenant", "tenant": "a",
                    "binding": [{"id": "rl", "plugin": "rate-limit", "hooks": ["query"],
                                 "config": {"per_user_qps": 500}}]}),
                )
            },
            [200, 200, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/packs/nothing",
            none,
            [404, 404, 404, 404, 403, 401],
        ),
        (
            "post",
            "/api/v1/plugins/acl/disable",
            none,
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "post",
            "/api/v1/plugins/acl/rollback",
            |_| Some(json!({"version": 1})),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            "post",
            "/api/v1/plugins/acl/enable",
            none,
            [200, 403, 403, 403, 403, 401],
        ),
        // Not multipart: the admin gets 400, everyone else is refused first.
        (
            "post",
            "/api/v1/plugins",
            |_| Some(json!({})),
            [400, 403, 403, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/artifacts/0000000000000000000000000000000000000000000000000000000000000000",
            none,
            [404, 403, 403, 403, 404, 401],
        ),
        (
            "post",
            "/api/v1/audit",
            |_| Some(json!({"events": []})),
            [403, 403, 403, 403, 200, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/users/user-a/tokens",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/tenants/a/users/user-a/tokens",
            |_| Some(json!({})),
            [201, 201, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/tenants/a/users/user-a/tokens/nonesuch",
            none,
            [404, 404, 404, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/permissions",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/tenants/a/permissions",
            |who| {
                Some(
                    json!({"users": [format!("user-{who}")], "tables": ["public.x"],
                            "actions": ["read"]}),
                )
            },
            [201, 201, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/tenants/a/permissions/nonesuch",
            none,
            [404, 404, 404, 403, 403, 401],
        ),
        // Threat feeds: a tenant-admin's feeds are its tenant's; global ones are admin-only.
        ("get", "/api/v1/feeds", none, [200, 200, 200, 200, 403, 401]),
        (
            "post",
            "/api/v1/feeds",
            |who| {
                Some(
                    json!({"name": format!("feed-{who}"), "tenant": "a", "format": "stix",
                            "url": "http://127.0.0.1:9/feed.json", "interval": "manual"}),
                )
            },
            [201, 201, 404, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/feeds/feed-admin",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "put",
            "/api/v1/feeds/feed-admin",
            |_| {
                Some(
                    json!({"name": "feed-admin", "tenant": "a", "format": "stix",
                            "url": "http://127.0.0.1:9/other.json", "interval": "manual"}),
                )
            },
            [200, 200, 409, 403, 403, 401],
        ),
        (
            "post",
            "/api/v1/feeds/feed-admin/fetch",
            none,
            [502, 502, 404, 403, 403, 401],
        ),
        (
            "post",
            "/api/v1/feeds/feed-admin/document",
            |_| {
                Some(
                    json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": []}),
                )
            },
            [200, 200, 404, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/indicators",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/indicators/changes?after=0",
            none,
            [200, 403, 403, 403, 200, 401],
        ),
        (
            "get",
            "/api/v1/tenants/a/threat-bypass",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        (
            "put",
            "/api/v1/tenants/a/threat-bypass",
            |_| Some(json!({"addresses": ["10.0.0.0/8"], "users": ["ops"]})),
            [200, 200, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/tenants/a/threat-bypass",
            none,
            [204, 204, 404, 403, 403, 401],
        ),
        (
            "delete",
            "/api/v1/feeds/feed-admin",
            none,
            [204, 404, 404, 404, 403, 401],
        ),
        // The admin deletes the tenant it created above; the others never see it.
        (
            "delete",
            "/api/v1/tenants/t-admin",
            none,
            [204, 404, 404, 403, 403, 401],
        ),
        (
            "get",
            "/api/v1/whoami",
            none,
            [200, 200, 200, 200, 200, 401],
        ),
        ("get", "/api/v1/stats", none, [200, 200, 200, 200, 403, 401]),
        (
            "get",
            "/api/v1/stats?tenant=a",
            none,
            [200, 200, 404, 200, 403, 401],
        ),
        // The stream itself never ends; an unknown filter is refused, after the role check.
        (
            "get",
            "/api/v1/events?bogus=1",
            none,
            [400, 400, 400, 400, 403, 401],
        ),
        (
            "get",
            "/api/v1/schemas/pack",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "get",
            "/api/v1/schemas/plugins",
            none,
            [200, 200, 200, 200, 403, 401],
        ),
        (
            "post",
            "/api/v1/packs/pack-a/check",
            |_| {
                Some(
                    json!({"version": 1, "name": "pack-a", "kind": "tenant", "tenant": "a",
                    "binding": [{"id": "rl", "plugin": "rate-limit", "hooks": ["query"],
                                 "config": {"per_user_qps": 400}}]}),
                )
            },
            [200, 200, 404, 200, 403, 401],
        ),
        // No statements: refused once the caller may read the pack (the trial itself is
        // tested in console_try_runs_the_real_runtime).
        (
            "post",
            "/api/v1/packs/pack-a/try",
            |_| {
                Some(
                    json!({"toml": "version = 1\nname = \"pack-a\"\nkind = \"tenant\"\ntenant = \"a\"\n",
                            "statements": []}),
                )
            },
            [400, 400, 404, 400, 403, 401],
        ),
    ];
    // Every documented route is in the matrix.
    for r in articdbm_manager::openapi::ROUTES {
        let covered = cases.iter().any(|(m, p, _, _)| {
            *m == r.method && {
                let p = p.split('?').next().unwrap();
                let a: Vec<&str> = p.split('/').collect();
                let b: Vec<&str> = r.path.split('/').collect();
                a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| x == y || y.starts_with('{'))
            }
        });
        assert!(covered, "{} {} is not in the role matrix", r.method, r.path);
    }
    let callers: [(&str, Option<&str>); 6] = [
        ("admin", Some(ADMIN)),
        ("own", Some(&keys["ta"])),
        ("other", Some(&keys["tb"])),
        ("auditor", Some(&keys["aud"])),
        ("cluster", Some(CLUSTER)),
        ("nokey", None),
    ];
    let mut failures = Vec::new();
    for (method, path, body, expect) in &cases {
        for (i, (who, key)) in callers.iter().enumerate() {
            let b = body(who);
            let (s, v) = api.call(method, path, *key, b.as_ref()).await;
            if s.as_u16() != expect[i] {
                failures.push(format!(
                    "{method} {path} as {who}: {s}, expected {} ({v})",
                    expect[i]
                ));
            }
            if !s.is_success() {
                assert!(
                    v["error"]["message"].is_string(),
                    "{method} {path} as {who}: error body {v}"
                );
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // A wrong key is a 401 too.
    let (s, _) = api
        .call("get", "/api/v1/tenants", Some("adbm_not-a-key"), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // What tenant-admin A sees of the lists: only its own.
    let (_, v) = api
        .call("get", "/api/v1/tenants", Some(&keys["ta"]), None)
        .await;
    let names: Vec<&str> = v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a"]);
    let (_, v) = api
        .call("get", "/api/v1/packs", Some(&keys["ta"]), None)
        .await;
    assert!(!v.to_string().contains("pack-b"), "{v}");
    // It cannot write a pack for tenant b either.
    let (s, _) = api
        .raw(
            "PUT",
            "/api/v1/packs/sneaky",
            &keys["ta"],
            "application/toml",
            b"version = 1\nname = \"sneaky\"\nkind = \"tenant\"\ntenant = \"b\"\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Nor a baseline.
    let (s, _) = api
        .raw(
            "PUT",
            "/api/v1/packs/default",
            &keys["ta"],
            "application/toml",
            std::fs::read(root().join("policies/default.toml")).unwrap(),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // Hostile input: 4xx naming the problem, and nothing changes.
    let before = api.version().await;
    let (s, v) = api
        .raw(
            "POST",
            "/api/v1/tenants",
            ADMIN,
            "application/json",
            b"{\"name\": ".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants",
            Some(ADMIN),
            Some(&json!({"name": "c", "colour": 1})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("colour")),
        "{v}"
    );
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants",
            Some(ADMIN),
            Some(&json!({"name": "Bad Name"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{v}"
    );
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/a/databases",
            Some(ADMIN),
            Some(&json!({"name": "x", "sqlite": "x.db", "pool": {"size": "big"}})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("pool.size")),
        "{v}"
    );
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/a/users",
            Some(ADMIN),
            Some(&json!({"name": "short", "password": "123"})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("password")),
        "{v}"
    );
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/a/users",
            Some(ADMIN),
            Some(&json!({"name": "netuser", "password": "password-1234", "allowed_networks": ["10.0.0.0/40"]})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("allowed_networks")),
        "{v}"
    );
    // A pack whose config the plugin's schema refuses.
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/pack-a",
            ADMIN,
            "application/toml",
            b"version = 1\nname = \"pack-a\"\nkind = \"tenant\"\ntenant = \"a\"\n[[binding]]\nid = \"rl\"\nplugin = \"rate-limit\"\n[binding.config]\nper_user_qps = \"fast\"\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("per_user_qps"),
        "{v}"
    );
    // A pack binding a plugin that is not registered.
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/pack-a",
            ADMIN,
            "application/toml",
            b"version = 1\nname = \"pack-a\"\nkind = \"tenant\"\ntenant = \"a\"\n[[binding]]\nplugin = \"nonesuch\"\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    // Oversized JSON.
    // The manager answers 413 as soon as the limit is passed and closes the connection, so
    // the client may see the close before the answer: either is a refusal.
    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(2 << 20));
    // A client of its own: the manager closes the connection, which must not be reused.
    let s = reqwest::Client::new()
        .post(format!("{}/api/v1/tenants", api.base))
        .bearer_auth(ADMIN)
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .map(|r| r.status());
    assert!(
        s.as_ref().is_err()
            || s.as_ref()
                .is_ok_and(|s| *s == StatusCode::PAYLOAD_TOO_LARGE),
        "{s:?}"
    );
    // Uploads that are not a policy component.
    let (manifest, wasm) = plugin_files("acl");
    for (what, m, c) in [
        ("garbage", manifest.clone(), b"not wasm at all".to_vec()),
        ("core module", manifest.clone(), b"\0asm\x01\0\0\0".to_vec()),
        (
            "feed-parser manifest",
            {
                let mut v: Value = serde_json::from_slice(&manifest).unwrap();
                v["world"] = json!("feed-parser");
                serde_json::to_vec(&v).unwrap()
            },
            wasm.clone(),
        ),
        ("manifest not JSON", b"{".to_vec(), wasm.clone()),
        // A valid component that exports nothing: not the policy world.
        (
            "empty component",
            manifest.clone(),
            vec![0x00, 0x61, 0x73, 0x6d, 0x0d, 0x00, 0x01, 0x00],
        ),
    ] {
        let (s, v) = api.upload(ADMIN, &m, c).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{what}: {v}");
    }
    let form = reqwest::multipart::Form::new()
        .part(
            "manifest",
            reqwest::multipart::Part::bytes(manifest.clone()),
        )
        .part(
            "component",
            reqwest::multipart::Part::bytes(vec![0u8; 33 << 20]),
        );
    // A client of its own: the manager closes the connection, which must not be reused.
    let s = reqwest::Client::new()
        .post(format!("{}/api/v1/plugins", api.base))
        .bearer_auth(ADMIN)
        .multipart(form)
        .send()
        .await
        .map(|r| r.status());
    assert!(
        s.as_ref().is_err()
            || s.as_ref()
                .is_ok_and(|s| *s == StatusCode::PAYLOAD_TOO_LARGE),
        "{s:?}"
    );
    let (s, _) = api.upload(&keys["ta"], &manifest, wasm.clone()).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api
        .raw(
            "POST",
            "/api/v1/plugins",
            ADMIN,
            "application/json",
            b"{}".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(
        api.version().await,
        before,
        "refused writes changed nothing"
    );

    // Versions: upload, roll back, disable.
    let (s, v) = api
        .upload(ADMIN, &manifest_version("acl", "0.2.0"), wasm.clone())
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["version"], 2);
    let v = api.ok("get", "/api/v1/plugins/acl", None).await;
    assert_eq!(v["active_version"], 2);
    assert_eq!(v["versions"].as_array().unwrap().len(), 2);
    api.ok("post", "/api/v1/plugins/acl/rollback", Some(&json!({})))
        .await;
    let v = api.ok("get", "/api/v1/plugins/acl", None).await;
    assert_eq!(v["active_version"], 1);
    let (s, v) = api
        .call(
            "post",
            "/api/v1/plugins/acl/rollback",
            Some(ADMIN),
            Some(&json!({"version": 9})),
        )
        .await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("version"))
    );
    api.ok("post", "/api/v1/plugins/acl/disable", None).await;
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(
        !snap["plugins"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "acl"),
        "a disabled plugin is not in the snapshot"
    );

    // Gateway audit events: a resend never duplicates.
    let events: Vec<Value> = (0..25)
        .map(|i| {
            json!({"id": format!("ev-{i:03}"), "at": 1_000 + i, "tenant": if i % 2 == 0 { "a" } else { "b" },
                   "actor": "user-a", "action": "query", "target": "db-a", "verdict": if i % 5 == 0 { "deny" } else { "allow" }})
        })
        .collect();
    for expected in [25, 0] {
        let (s, v) = api
            .call(
                "post",
                "/api/v1/audit",
                Some(CLUSTER),
                Some(&json!({"events": events})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["stored"], expected);
    }
    // Filters and pages.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/api/v1/audit?actor=user-a&limit=4".to_string();
        if let Some(c) = &cursor {
            path += &format!("&cursor={c}");
        }
        let v = api.ok("get", &path, None).await;
        for e in v["items"].as_array().unwrap() {
            seen.push(e["id"].as_str().unwrap().to_string());
        }
        match v["next"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(
        (seen.len(), sorted.len()),
        (25, 25),
        "every event once, in pages"
    );
    let (_, v) = api
        .call("get", "/api/v1/audit?verdict=deny", Some(&keys["ta"]), None)
        .await;
    let items = v["items"].as_array().unwrap();
    assert!(
        !items.is_empty()
            && items
                .iter()
                .all(|e| e["tenant"] == "a" && e["verdict"] == "deny"),
        "{v}"
    );
    // Management changes are audited too.
    let v = api.ok("get", "/api/v1/audit?tenant=a", None).await;
    assert!(v.to_string().contains("user.create"), "{v}");
    m.stop().await;
}

/// Every route of the OpenAPI document is served (no 404 "no such route", no 405).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_matches_the_router() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    let doc = api.ok("get", "/api/v1/openapi.json", None).await;
    let paths = doc["paths"].as_object().unwrap();
    assert_eq!(
        paths
            .values()
            .map(|p| p.as_object().unwrap().len())
            .sum::<usize>(),
        articdbm_manager::openapi::ROUTES.len()
    );
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let mut concrete = path
                .replace("{tenant}", "t")
                .replace("{name}", "n")
                .replace("{id}", "i")
                .replace("{sha256}", &"0".repeat(64));
            if concrete == "/api/v1/events" {
                // The stream never ends; an unknown filter is answered at once.
                concrete.push_str("?bogus=1");
            }
            let (s, v) = api
                .call(method, &concrete, Some(ADMIN), Some(&json!({})))
                .await;
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert!(
                !(s == StatusCode::NOT_FOUND && v.to_string().contains("no such route")),
                "{method} {path} is documented but not routed"
            );
        }
    }
    // And an undocumented path is not routed.
    let (s, v) = api
        .call("get", "/api/v1/nothing-here", Some(ADMIN), None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert!(v.to_string().contains("no such route"));
    m.stop().await;
}

fn active_manifest_version(gw: &Gateway, plugin: &str) -> Option<String> {
    gw.reloader()
        .engine()
        .snapshot()
        .plugins
        .get(plugin)
        .map(|p| p.manifest.version.clone())
}

/// Waits until every gateway has `v` in force; returns how long that took from `since`.
async fn until_applied(gws: &[&(Gateway, Arc<Managed>)], v: i64, since: Instant) -> Duration {
    poll(
        "gateways apply the snapshot",
        Duration::from_secs(20),
        || async {
            let behind: Vec<i64> = gws
                .iter()
                .map(|(_, m)| m.version())
                .filter(|got| *got < v)
                .collect();
            if behind.is_empty() {
                Ok(since.elapsed())
            } else {
                Err(format!("versions behind {v}: {behind:?}"))
            }
        },
    )
    .await
}

fn pgbench(port: u16, args: &[&str]) -> std::process::Child {
    pgbench_command(port, args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_gateways_follow_the_manager_under_pgbench() {
    let pg = tokio::task::spawn_blocking(|| {
        let pg = PgServer::start().unwrap();
        create_shop(&pg);
        pg
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    create_shop_tenant(&api, pg.port(), 4).await;
    let config = gateway_config(dir.path());
    let g1 = managed_gateway(&config, &dir.path().join("state1"), m.addr).await;
    let g2 = managed_gateway(&config, &dir.path().join("state2"), m.addr).await;
    for (gw, _) in [&g1, &g2] {
        let c = connect(gw, "shop").await.unwrap();
        assert_eq!(
            simple_value(&c, "SELECT count(*) FROM items")
                .await
                .unwrap()
                .as_deref(),
            Some("100")
        );
        let e = c
            .simple_query("SELECT * FROM items WHERE id = 1 OR 1=1")
            .await
            .unwrap_err();
        assert!(describe(&e).contains("42501"), "{}", describe(&e));
    }
    // pgbench tables, through a gateway.
    let port1 = g1.0.pg_addr().port();
    let port2 = g2.0.pg_addr().port();
    let out = tokio::task::spawn_blocking(move || {
        pgbench(port1, &["-i", "-s", "1", "-q"])
            .wait_with_output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Load through both gateways while a plugin version and a pack change are published.
    let load: Vec<std::process::Child> = [port1, port2]
        .iter()
        .map(|p| {
            pgbench(
                *p,
                &["-c", "4", "-j", "2", "-T", "8", "-S", "-M", "prepared"],
            )
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (_, wasm) = plugin_files("sqli-guard");
    let t0 = Instant::now();
    let (s, v) = api
        .upload(ADMIN, &manifest_version("sqli-guard", "9.9.9"), wasm)
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let plugin_delay =
        until_applied(&[&g1, &g2], v["snapshot_version"].as_i64().unwrap(), t0).await;
    for (gw, _) in [&g1, &g2] {
        assert_eq!(
            active_manifest_version(gw, "sqli-guard").as_deref(),
            Some("9.9.9")
        );
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pack = "version = 1\nname = \"shop\"\nkind = \"tenant\"\ntenant = \"shop\"\n\n\
                [[binding]]\nid = \"rl\"\nplugin = \"rate-limit\"\nhooks = [\"query\"]\n\
                [binding.config]\nper_user_qps = 1000000\n";
    let t1 = Instant::now();
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/shop",
            ADMIN,
            "application/toml",
            pack.as_bytes().to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let pack_delay = until_applied(&[&g1, &g2], v["snapshot_version"].as_i64().unwrap(), t1).await;
    for (gw, _) in [&g1, &g2] {
        assert!(
            gw.reloader()
                .engine()
                .snapshot()
                .packs
                .tenant_pack("shop")
                .is_some(),
            "the tenant pack is in force"
        );
    }
    println!(
        "new plugin version serving on both gateways after {:.0} ms; pack change after {:.0} ms",
        plugin_delay.as_secs_f64() * 1e3,
        pack_delay.as_secs_f64() * 1e3
    );
    for child in load {
        let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "pgbench under snapshot changes: {text}"
        );
        let processed = text
            .lines()
            .find_map(|l| l.strip_prefix("number of transactions actually processed: "))
            .and_then(|n| n.split(['/', ' ']).next()?.parse::<u64>().ok())
            .unwrap_or(0);
        assert!(processed > 100, "{text}");
        if let Some(failed) = text
            .lines()
            .find_map(|l| l.strip_prefix("number of failed transactions: "))
        {
            assert!(failed.starts_with("0 "), "{text}");
        }
    }
    // The manager knows both gateways and the version each applied.
    let v = api.ok("get", "/api/v1/gateways", None).await;
    assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
    // Usage of the tenant, summed over both gateways' heartbeats: every pgbench connection,
    // every statement run (each Execute of a prepared one), the two refused injections.
    let usage = poll(
        "usage reaches the manager",
        Duration::from_secs(30),
        || async {
            let v = api.ok("get", "/api/v1/tenants/shop/usage", None).await;
            if v["denials"].as_i64() >= Some(2)
                && v["connections"].as_i64() >= Some(10)
                && v["queries"].as_i64() > Some(200)
            {
                Ok(v)
            } else {
                Err(v.to_string())
            }
        },
    )
    .await;
    assert!(usage["denials"].as_i64() == Some(2), "{usage}");
    drop(g1);
    drop(g2);
    m.stop().await;
    drop(pg);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gateway_outlives_the_manager_and_restarts_from_its_last_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mdir = dir.path().join("manager");
    let m = Manager::start(opts(&mdir, None, None)).await.unwrap();
    let addr = m.addr;
    let api = Api::new(addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "lite"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/lite/users",
        Some(&json!({"name": APP_USER, "password": APP_PASSWORD})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/lite/databases",
        Some(&json!({"name": "lite", "sqlite": dir.path().join("lite.db")})),
    )
    .await;
    let config = gateway_config(dir.path());
    let state = dir.path().join("state");
    let check = |gw: &Gateway| {
        let gw_conn = gw_connstr(gw, "lite");
        async move {
            let (c, conn) = tokio_postgres::connect(&gw_conn, tokio_postgres::NoTls)
                .await
                .expect("gateway admits the user");
            tokio::spawn(async move {
                let _ = conn.await;
            });
            c.simple_query("CREATE TABLE IF NOT EXISTS t (a int)")
                .await
                .unwrap();
            assert!(simple_value(&c, "SELECT count(*) FROM t").await.is_ok());
            let e = c
                .simple_query("SELECT * FROM t WHERE a = 1 OR 1=1")
                .await
                .unwrap_err();
            assert!(describe(&e).contains("42501"), "{}", describe(&e));
        }
    };
    let (gw, _mg) = managed_gateway(&config, &state, addr).await;
    check(&gw).await;

    // Manager gone: the gateway keeps enforcing and says so in its metrics.
    m.stop().await;
    check(&gw).await;
    poll(
        "manager_reachable drops to 0",
        Duration::from_secs(20),
        || async {
            let text = http_get(&gw, "/metrics").await;
            match metric(&text, "articdbm_manager_reachable") {
                Some(v) if v < 0.5 => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    // Restarted while the manager is still away: up from the last good snapshot.
    drop(gw);
    drop(_mg);
    let (gw, mg) = managed_gateway(&config, &state, addr).await;
    check(&gw).await;
    let saved = mg.version();
    assert!(saved > 0);

    // The manager returns on the same address: the gateway reconnects and follows again.
    let m = Manager::start(opts(&mdir, None, Some(addr))).await.unwrap();
    api.ok(
        "post",
        "/api/v1/tenants/lite/users",
        Some(&json!({"name": "late", "password": "late-password"})),
    )
    .await;
    let v = api.version().await;
    poll(
        "the gateway follows the returned manager",
        Duration::from_secs(30),
        || async {
            if mg.version() >= v {
                Ok(())
            } else {
                Err(format!("at {}", mg.version()))
            }
        },
    )
    .await;
    let conn = gw_connstr(&gw, "lite")
        .replace(&format!("user={APP_USER}"), "user=late")
        .replace(
            &format!("password={APP_PASSWORD}"),
            "password=late-password",
        );
    let (c, h) = tokio_postgres::connect(&conn, tokio_postgres::NoTls)
        .await
        .expect("a user created after the outage can log in");
    tokio::spawn(async move {
        let _ = h.await;
    });
    assert!(simple_value(&c, "SELECT 1").await.is_ok());

    // Audit: the three refused injections (one before the outage, two during it, spooled to
    // disk across a gateway restart) reach the manager exactly once each.
    poll("audit events arrive", Duration::from_secs(30), || async {
        let v = api
            .ok("get", "/api/v1/audit?actor=app&verdict=deny", None)
            .await;
        let n = v["items"].as_array().map_or(0, |a| a.len());
        let (queued, spooled) = gw.shared.audit.load_full().unwrap().pending();
        if n >= 3 && queued == 0 && spooled == 0 {
            Ok(v)
        } else {
            Err(format!("{n} events, {queued} queued, {spooled} spooled"))
        }
    })
    .await;
    let v = api
        .ok("get", "/api/v1/audit?actor=app&verdict=deny", None)
        .await;
    let items = v["items"].as_array().unwrap();
    assert_eq!(items.len(), 3, "{v}");
    for e in items {
        assert_eq!(e["tenant"], "lite");
        assert_eq!(e["detail"]["rule"], "sqli.tautology", "{e}");
        assert!(e["detail"]["sql"].as_str().unwrap().contains("OR 1=1"));
    }
    drop(gw);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_on_postgresql_and_idempotent_apply() {
    let (pg, url) = postgres_store().await;
    let dir = tempfile::tempdir().unwrap();
    let mut redis = tokio::task::spawn_blocking(|| articdbm_tests::RedisServer::start().unwrap())
        .await
        .unwrap();
    let with_redis = |o: ServeOptions| ServeOptions {
        redis: Some(redis.url()),
        ..o
    };
    let m = Manager::start(with_redis(opts(dir.path(), Some(url.clone()), None)))
        .await
        .unwrap();
    let addr = m.addr;
    let api = Api::new(addr);
    // Seeded plugins went into PostgreSQL (components as bytea).
    let v = api.ok("get", "/api/v1/plugins", None).await;
    let seeded = std::fs::read_dir(articdbm_plugin_artifacts::PLUGIN_DIR)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "wasm"))
        })
        .count();
    let builtin = articdbm_manager::feeds::builtin_parsers().len();
    assert_eq!(
        v["items"].as_array().unwrap().len(),
        seeded + builtin,
        "{v}"
    );
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    // Feed parsers run in the manager: gateways get the policies only.
    assert_eq!(snap["plugins"].as_array().unwrap().len(), seeded, "{snap}");
    let sha = snap["plugins"][0]["sha256"].as_str().unwrap().to_string();
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/api/v1/artifacts/{sha}"))
        .bearer_auth(CLUSTER)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let bytes = resp.bytes().await.unwrap();
    assert_eq!(articdbm_gateway::runtime::content_hash(&bytes), sha);

    // apply: a tenant file and a tenant pack, twice; the second run changes nothing.
    let files = dir.path().join("policies");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(
        files.join("acme.toml"),
        "[tenant]\nname = \"acme\"\ndescription = \"Acme\"\n\n[[user]]\nname = \"acme-app\"\npassword = \"acme-password\"\nroles = [\"writer\"]\n\n[[database]]\nname = \"acme\"\nsqlite = \"acme.db\"\n",
    )
    .unwrap();
    std::fs::write(
        files.join("pack-acme.toml"),
        "version = 1\nname = \"acme\"\nkind = \"tenant\"\ntenant = \"acme\"\n[[binding]]\nid = \"rl\"\nplugin = \"rate-limit\"\n[binding.config]\nper_user_qps = 50\n",
    )
    .unwrap();
    let apply = || {
        articdbm_manager::apply::apply(articdbm_manager::apply::ApplyOptions {
            manager: format!("http://{addr}"),
            key: ADMIN.into(),
            files: vec![files.clone()],
        })
    };
    apply().await.expect("first apply");
    let after_first = api.version().await;
    apply().await.expect("second apply");
    assert_eq!(
        api.version().await,
        after_first,
        "re-applying changed nothing"
    );
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(snap["config"].as_str().unwrap().contains("acme-app"));
    assert!(
        !snap.to_string().contains("acme-password"),
        "no clear password in the snapshot"
    );

    // A second replica on the same store, and a gateway following it: a change made through
    // the first reaches the gateway at once through Redis pub/sub, and without Redis by the
    // replicas polling the store.
    let m2 = Manager::start(with_redis(opts(
        &dir.path().join("m2"),
        Some(url.clone()),
        None,
    )))
    .await
    .unwrap();
    let config = gateway_config(dir.path());
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m2.addr).await;
    let mut delays = Vec::new();
    for (i, stop_redis) in [(0, false), (1, true)] {
        if stop_redis {
            redis.stop();
        }
        let t0 = Instant::now();
        api.ok(
            "post",
            "/api/v1/tenants/acme/users",
            Some(&json!({"name": format!("replica-{i}"), "password": "replica-password"})),
        )
        .await;
        let v = api.version().await;
        poll(
            "the gateway on the other replica follows",
            Duration::from_secs(20),
            || async {
                if mg.version() >= v {
                    Ok(())
                } else {
                    Err(format!("at {}", mg.version()))
                }
            },
        )
        .await;
        delays.push(t0.elapsed());
    }
    println!(
        "change on replica A applied by a gateway following replica B: {:.0} ms with Redis, {:.0} ms polling the store",
        delays[0].as_secs_f64() * 1e3,
        delays[1].as_secs_f64() * 1e3
    );
    drop(gw);
    m2.stop().await;

    // Everything survives a restart of the manager.
    let before_restart = api.version().await;
    m.stop().await;
    let m = Manager::start(opts(dir.path(), Some(url), None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    assert_eq!(api.version().await, before_restart);
    let v = api
        .ok("get", "/api/v1/tenants/acme/users/acme-app", None)
        .await;
    assert_eq!(v["roles"], json!(["writer"]));
    m.stop().await;
    drop(pg);
}

/// Two gateways sharing rate-limit state through a real Redis: a tenant quota holds across
/// both; with Redis stopped each keeps enforcing on its local state; after Redis comes back
/// empty the count is restored, not forgotten.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_hold_across_gateways_through_redis() {
    const QUOTA: usize = 30;
    let mut redis = tokio::task::spawn_blocking(|| articdbm_tests::RedisServer::start().unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pack = dir.path().join("quota.toml");
    std::fs::write(
        &pack,
        format!(
            "version = 1\nname = \"quota\"\nkind = \"tenant\"\ntenant = \"q\"\n\n\
             [[binding]]\nid = \"quota\"\nplugin = \"rate-limit\"\nhooks = [\"query\"]\n\
             [binding.config]\nper_tenant_hourly = {QUOTA}\n"
        ),
    )
    .unwrap();
    let mut gws = Vec::new();
    for i in 0..2 {
        let path = dir.path().join(format!("gw{i}.toml"));
        std::fs::write(
            &path,
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
                 packs = [{:?}, {:?}]\nplugin_dir = {:?}\nwatch = false\nredis = {:?}\n\n\
                 [[user]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\ntenant = \"q\"\n\n\
                 [[database]]\nname = \"lite\"\ntenant = \"q\"\nsqlite = {:?}\n",
                root().join("policies/default.toml").display().to_string(),
                pack.display().to_string(),
                articdbm_plugin_artifacts::PLUGIN_DIR,
                redis.url(),
                dir.path().join(format!("gw{i}.db")).display().to_string(),
            ),
        )
        .unwrap();
        let config = articdbm_gateway::config::Config::load(&path).unwrap();
        gws.push(Gateway::start(config).await.unwrap());
    }
    let kv_up = |want: f64| {
        let gws = &gws;
        async move {
            for gw in gws {
                poll("articdbm_kv_remote_up", Duration::from_secs(20), || async {
                    let text = http_get(gw, "/metrics").await;
                    match metric(&text, "articdbm_kv_remote_up") {
                        Some(v) if v == want => Ok(()),
                        other => Err(format!("{other:?}")),
                    }
                })
                .await;
            }
        }
    };
    kv_up(1.0).await;
    let mut clients = Vec::new();
    for gw in &gws {
        clients.push(connect(gw, "lite").await.unwrap());
    }
    // One statement every 10 ms, alternating gateways: what each admits counts on both.
    let run = |n: usize| {
        let clients = &clients;
        async move {
            let mut admitted = 0;
            let mut refused = 0;
            for i in 0..n {
                match clients[i % 2].simple_query("SELECT 1").await {
                    Ok(_) => admitted += 1,
                    Err(e) => {
                        let d = describe(&e);
                        assert!(d.contains("rate.tenant-quota"), "{d}");
                        refused += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (admitted, refused)
        }
    };
    let (admitted, refused) = run(100).await;
    println!("shared quota {QUOTA}: {admitted} admitted, {refused} refused across two gateways");
    // Each gateway sees the other's admissions up to one sync interval late, so a few more
    // than the quota pass; without sharing it would be twice the quota.
    assert!(
        (QUOTA..=QUOTA + 15).contains(&admitted),
        "the quota holds across gateways (alone each would admit {QUOTA}: {} in all): {admitted} admitted",
        2 * QUOTA
    );

    // Redis gone: both keep enforcing what they know.
    redis.stop();
    kv_up(0.0).await;
    let (admitted, _) = run(20).await;
    assert_eq!(
        admitted, 0,
        "still refused on local state while Redis is down"
    );

    // Redis back, empty: the count is written back, not forgotten.
    tokio::task::block_in_place(|| redis.restart()).unwrap();
    kv_up(1.0).await;
    // Wait for the gateways to write the count back into the empty Redis.
    let url = redis.url();
    poll(
        "the quota counter is restored in Redis",
        Duration::from_secs(20),
        || {
            let url = url.clone();
            async move {
                let mut c = redis::Client::open(url)
                    .and_then(|c| c.get_connection())
                    .map_err(|e| e.to_string())?;
                let keys: Vec<String> = redis::cmd("KEYS")
                    .arg("articdbm:kv:*")
                    .query(&mut c)
                    .map_err(|e| e.to_string())?;
                for k in &keys {
                    let v: Option<i64> = redis::cmd("GET").arg(k).query(&mut c).unwrap_or(None);
                    if v.is_some_and(|v| v >= QUOTA as i64) {
                        return Ok(());
                    }
                }
                Err(format!("keys {keys:?}"))
            }
        },
    )
    .await;
    let (admitted, _) = run(20).await;
    assert_eq!(
        admitted, 0,
        "the quota still holds after Redis lost its data"
    );
}

/// Temporary access tokens: created through the API, usable as the password over TLS as many
/// times as granted, refused once used up or revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn temporary_access_tokens_over_tls() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "tok"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/tok/users",
        Some(&json!({"name": "support", "password": "long-secret-password", "require_tls": true})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/tok/databases",
        Some(&json!({"name": "tok", "sqlite": dir.path().join("tok.db")})),
    )
    .await;
    // A self-signed certificate for the gateway's client side.
    articdbm_tests::pki::Pki::new(dir.path(), "ca")
        .and_then(|pki| pki.issue("ca", "gw", "DNS:localhost,IP:127.0.0.1"))
        .expect("gw.crt and gw.key");
    // Token uses are counted in Redis, exactly (one round trip per use).
    let redis_server =
        tokio::task::spawn_blocking(|| articdbm_tests::RedisServer::start().unwrap())
            .await
            .unwrap();
    let config = dir.path().join("gateway.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\nredis = {:?}\n\
             tls = {{ cert = \"gw.crt\", key = \"gw.key\", cleartext_password = true }}\n",
            redis_server.url()
        ),
    )
    .unwrap();
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/tok/users/support/tokens",
            Some(ADMIN),
            Some(&json!({"max_uses": 2})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let token = v["token"].as_str().unwrap().to_string();
    let id = v["id"].as_str().unwrap().to_string();
    let version = v["snapshot_version"].as_i64().unwrap();
    poll(
        "the gateway has the token",
        Duration::from_secs(20),
        || async {
            if mg.version() >= version {
                Ok(())
            } else {
                Err(format!("at {}", mg.version()))
            }
        },
    )
    .await;
    let port = gw.pg_addr().port();
    let login = |password: String, sslmode: &'static str| {
        tokio::task::spawn_blocking(move || {
            psql_conn(
                &format!(
                    "host=127.0.0.1 port={port} user=support dbname=tok sslmode={sslmode} connect_timeout=10"
                ),
                &password,
                "SELECT 1",
            )
        })
    };
    // The user's own password still works; the token twice, then no more.
    let (ok, _, err) = login("long-secret-password".into(), "require")
        .await
        .unwrap();
    assert!(ok, "{err}");
    for i in 0..2 {
        let (ok, out, err) = login(token.clone(), "require").await.unwrap();
        assert!(ok && out == "1", "use {i}: {err}");
    }
    let (ok, _, err) = login(token.clone(), "require").await.unwrap();
    assert!(
        !ok && err.contains("password authentication failed"),
        "{err}"
    );
    let mut r = redis::Client::open(redis_server.url())
        .unwrap()
        .get_connection()
        .unwrap();
    let uses: Option<i64> = redis::cmd("GET")
        .arg(format!(
            "articdbm:kv:tok\u{1f}gateway\u{1f}token-uses\u{1f}{id}"
        ))
        .query(&mut r)
        .unwrap();
    assert_eq!(
        uses,
        Some(3),
        "two admitted uses and one refused, counted in Redis"
    );
    // Not in clear, whatever the password: require_tls holds for tokens too.
    let (ok, _, _) = login("long-secret-password".into(), "disable")
        .await
        .unwrap();
    assert!(!ok);
    // Listing never shows the token; a revoked token stops working at once.
    let v = api
        .ok("get", "/api/v1/tenants/tok/users/support/tokens", None)
        .await;
    assert!(
        !v.to_string().contains(&token) && v.to_string().contains(&id),
        "{v}"
    );
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/tok/users/support/tokens",
            Some(ADMIN),
            Some(&json!({"max_uses": 5})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let second = v["token"].as_str().unwrap().to_string();
    let second_id = v["id"].as_str().unwrap().to_string();
    let (s, _) = api
        .call(
            "delete",
            &format!("/api/v1/tenants/tok/users/support/tokens/{second_id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let v = api.version().await;
    poll(
        "the gateway drops the revoked token",
        Duration::from_secs(20),
        || async {
            if mg.version() >= v {
                Ok(())
            } else {
                Err(format!("at {}", mg.version()))
            }
        },
    )
    .await;
    let (ok, _, _) = login(second, "require").await.unwrap();
    assert!(!ok, "a revoked token is refused");
    // Bad requests.
    for (body, field) in [
        (json!({"max_uses": 0}), "max_uses"),
        (json!({"expires_at": "2001-01-01T00:00:00Z"}), "expires_at"),
        (json!({"expires_at": "next week"}), "expires_at"),
    ] {
        let (s, v) = api
            .call(
                "post",
                "/api/v1/tenants/tok/users/support/tokens",
                Some(ADMIN),
                Some(&body),
            )
            .await;
        assert_eq!(
            (s, v["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some(field)),
            "{v}"
        );
    }
    drop(gw);
    m.stop().await;
}

/// Permissions are acl grants kept by the manager; gateways enforce them with default deny.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permissions_become_acl_grants_on_gateways() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "perm"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/perm/users",
        Some(&json!({"name": APP_USER, "password": APP_PASSWORD})),
    )
    .await;
    api.ok(
        "post",
        "/api/v1/tenants/perm/databases",
        Some(&json!({"name": "perm", "sqlite": dir.path().join("perm.db")})),
    )
    .await;
    let config = gateway_config(dir.path());
    let (gw, mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let c = connect(&gw, "perm").await.unwrap();
    c.simple_query("CREATE TABLE t (a int)").await.unwrap();
    c.simple_query("INSERT INTO t VALUES (1)").await.unwrap();

    let wait = |v: i64| {
        let mg = &mg;
        async move {
            poll(
                "the gateway applies the snapshot",
                Duration::from_secs(20),
                || async {
                    if mg.version() >= v {
                        Ok(())
                    } else {
                        Err(format!("at {}", mg.version()))
                    }
                },
            )
            .await
        }
    };
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/perm/permissions",
            Some(ADMIN),
            Some(
                &json!({"users": [APP_USER], "tables": ["public.t"], "actions": ["read"],
                         "description": "read-only"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_string();
    wait(v["snapshot_version"].as_i64().unwrap()).await;
    assert_eq!(
        simple_value(&c, "SELECT count(*) FROM t")
            .await
            .unwrap()
            .as_deref(),
        Some("1")
    );
    let e = c
        .simple_query("INSERT INTO t VALUES (2)")
        .await
        .unwrap_err();
    assert!(describe(&e).contains("acl.table"), "{}", describe(&e));

    // Removing it lifts the default deny again.
    let (s, _) = api
        .call(
            "delete",
            &format!("/api/v1/tenants/perm/permissions/{id}"),
            Some(ADMIN),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    wait(api.version().await).await;
    c.simple_query("INSERT INTO t VALUES (2)").await.unwrap();

    // A grant the acl schema refuses, and the reserved binding id in a pack.
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/perm/permissions",
            Some(ADMIN),
            Some(&json!({"users": [APP_USER], "tables": ["t"], "actions": ["fly"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let (s, v) = api
        .raw(
            "PUT",
            "/api/v1/packs/perm",
            ADMIN,
            "application/toml",
            b"version = 1\nname = \"perm\"\nkind = \"tenant\"\ntenant = \"perm\"\n[[binding]]\nid = \"manager-permissions\"\nplugin = \"acl\"\n".to_vec(),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    drop(gw);
    m.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn users_get_mysql_verifiers_and_mysql_databases_are_managed() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(&dir.path().join("manager"), None, None))
        .await
        .unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "my"})))
        .await;
    let u = api
        .ok(
            "post",
            "/api/v1/tenants/my/users",
            Some(&json!({"name": APP_USER, "password": APP_PASSWORD})),
        )
        .await;
    for hidden in ["scram", "mysql_native", "mysql_sha2", "password"] {
        assert!(u.get(hidden).is_none(), "{hidden} shown: {u}");
    }
    // A MySQL database validates with the gateway's parser; a wrong protocol names the field.
    api.ok(
        "post",
        "/api/v1/tenants/my/databases",
        Some(
            &json!({"name": "shop", "protocol": "mysql", "server_user": "gw",
                     "backend": [{"host": "127.0.0.1", "port": 3306}], "galera": false}),
        ),
    )
    .await;
    let (s, v) = api
        .call(
            "post",
            "/api/v1/tenants/my/databases",
            Some(ADMIN),
            Some(&json!({"name": "bad", "protocol": "oracle",
                         "backend": [{"host": "127.0.0.1", "port": 1}]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(v.to_string().contains("protocol"), "{v}");
    api.ok(
        "post",
        "/api/v1/tenants/my/databases",
        Some(&json!({"name": "lite", "sqlite": dir.path().join("lite.db")})),
    )
    .await;
    // A managed gateway with a MySQL listener admits the user with the verifiers the manager
    // made from the password.
    let config = gateway_config(dir.path());
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace("[server]\n", "[server]\nmysql_listen = \"127.0.0.1:0\"\n");
    std::fs::write(&config, text).unwrap();
    let (gw, _mg) = managed_gateway(&config, &dir.path().join("state"), m.addr).await;
    let port = gw.mysql_addr().unwrap().port();
    let out = tokio::task::spawn_blocking(move || {
        use articdbm_tests::mariadb::client;
        (
            client(port, APP_USER, APP_PASSWORD, "lite", &[], "SELECT 40 + 2"),
            client(port, APP_USER, "wrong", "lite", &[], "SELECT 1"),
        )
    })
    .await
    .unwrap();
    assert_eq!(out.0.as_deref(), Ok("42\n"), "{out:?}");
    assert!(out.1.as_ref().unwrap_err().contains("1045"), "{out:?}");
}

/// The first certificate the server at `port` presents, as PEM (through `openssl s_client`).
fn presented_certificate(port: u16) -> String {
    let out = std::process::Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .expect("openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    let begin = text.find("-----BEGIN CERTIFICATE-----").unwrap_or(0);
    let end = text
        .find("-----END CERTIFICATE-----")
        .map(|e| e + "-----END CERTIFICATE-----".len())
        .unwrap_or(0);
    text.get(begin..end).unwrap_or_default().to_string()
}

fn pem_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.trim().to_string()
}

fn sha256_of_pem(path: &Path) -> String {
    use sha2::Digest;
    let text = std::fs::read_to_string(path).unwrap();
    let b64: String = text
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64).unwrap();
    hex::encode(sha2::Sha256::digest(der))
}

/// The manager over HTTPS with a private CA: API keys work over it, plain HTTP on its port
/// does not, HSTS is set; a gateway client certificate signed by `--tls-client-ca` has the
/// gateway role (snapshots yes, tenants no) and one from another CA cannot connect; gateways
/// follow it with `--manager-ca`, with a pin, and by certificate alone (no cluster key); a
/// wrong CA or pin fails with an error naming the certificate; a renewed certificate is
/// served without a restart; a key that does not match its certificate is refused at start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn manager_over_https_with_gateway_client_certificates() {
    use articdbm_gateway::managed::{ManagedOptions, ManagerTls};
    use articdbm_tests::pki::{Pki, Usage};
    let certs = tempfile::tempdir().unwrap();
    let c = certs.path();
    let pki = Pki::new(c, "mgr-ca").unwrap();
    pki.add_ca("gw-ca").unwrap();
    pki.add_ca("rogue-ca").unwrap();
    let (cert, key) = pki
        .issue("mgr-ca", "manager", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    let (gw_cert, gw_key) = pki
        .issue_for("gw-ca", "gateway1", "gateway1", "", Usage::Client)
        .unwrap();
    let (rogue_cert, rogue_key) = pki
        .issue_for("rogue-ca", "rogue", "gateway1", "", Usage::Client)
        .unwrap();
    let identity = |cert: &Path, key: &Path| {
        let mut pem = std::fs::read(cert).unwrap();
        pem.extend(std::fs::read(key).unwrap());
        reqwest::Identity::from_pem(&pem).unwrap()
    };
    let trusting = |identity: Option<reqwest::Identity>| {
        let ca =
            reqwest::Certificate::from_pem(&std::fs::read(pki.ca_cert("mgr-ca")).unwrap()).unwrap();
        let mut b = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .pool_max_idle_per_host(0);
        if let Some(i) = identity {
            b = b.identity(i);
        }
        b.build().unwrap()
    };

    // A key that is not the certificate's: refused at start, both files named.
    let dir = tempfile::tempdir().unwrap();
    let mismatched = articdbm_manager::tls::TlsOptions {
        cert: cert.clone(),
        key: gw_key.clone(),
        client_ca: None,
    };
    let err = Manager::start(ServeOptions {
        tls: Some(mismatched),
        ..opts(dir.path(), None, None)
    })
    .await
    .err()
    .expect("a mismatched key is refused");
    assert!(
        format!("{err:#}").contains("does not belong to the certificate"),
        "{err:#}"
    );

    let m = Manager::start(ServeOptions {
        tls: Some(articdbm_manager::tls::TlsOptions {
            cert: cert.clone(),
            key: key.clone(),
            client_ca: Some(pki.ca_cert("gw-ca")),
        }),
        ..opts(dir.path(), None, None)
    })
    .await
    .unwrap();
    let base = format!("https://127.0.0.1:{}", m.addr.port());
    let api = Api::with_client(base.clone(), trusting(None));
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "shop"})))
        .await;
    let r = api
        .http
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()
            .get("strict-transport-security")
            .is_some_and(|v| v.to_str().unwrap().contains("max-age")),
        "{:?}",
        r.headers()
    );
    // `articdbm-manager healthcheck --url https://... --ca`: the CA given, it is healthy;
    // with the platform's roots, or another CA, the certificate is the reason it is not.
    let healthz = format!("{base}/healthz");
    let probe = |ca: Option<PathBuf>| {
        let healthz = healthz.clone();
        async move {
            articdbm_manager::tls::probe_https(
                &healthz,
                None,
                ca.as_deref(),
                Duration::from_secs(5),
            )
            .await
        }
    };
    probe(Some(pki.ca_cert("mgr-ca"))).await.unwrap();
    for ca in [None, Some(pki.ca_cert("rogue-ca"))] {
        let e = probe(ca.clone()).await.unwrap_err();
        assert!(e.contains("certificate"), "{ca:?}: {e}");
    }
    // No key and no certificate: 401.
    let (s, _) = api.call("get", "/api/v1/tenants", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Plain HTTP on the HTTPS port gets no HTTP answer.
    let plain = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{}/healthz", m.addr.port()))
        .send()
        .await;
    assert!(
        plain
            .as_ref()
            .map(|r| !r.status().is_success())
            .unwrap_or(true),
        "{plain:?}"
    );

    // A gateway certificate: the gateway role, without a key.
    let gw = Api::with_client(base.clone(), trusting(Some(identity(&gw_cert, &gw_key))));
    let (s, v) = gw.call("get", "/api/v1/snapshot", None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["version"].is_i64(), "{v}");
    let (s, v) = gw.call("get", "/api/v1/tenants", None, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
    // One from another CA does not get through the handshake.
    let rogue = trusting(Some(identity(&rogue_cert, &rogue_key)));
    let r = rogue.get(format!("{base}/api/v1/snapshot")).send().await;
    assert!(r.is_err(), "{r:?}");

    // Gateways following the HTTPS manager.
    let config = gateway_config(dir.path());
    let follow = |name: &str, cluster_key: Option<&str>, tls: ManagerTls| ManagedOptions {
        url: base.clone(),
        cluster_key: cluster_key.map(str::to_string),
        state_dir: dir.path().join(name),
        name: Some(name.into()),
        tls,
    };
    // By CA and certificate alone.
    let (g1, _) = articdbm_gateway::managed::start(
        &config,
        follow(
            "by-cert",
            None,
            ManagerTls {
                ca: Some(pki.ca_cert("mgr-ca")),
                client_cert: Some(gw_cert.clone()),
                client_key: Some(gw_key.clone()),
                ..Default::default()
            },
        ),
    )
    .await
    .expect("a gateway with a client certificate follows the manager");
    // By pin and cluster key.
    let (g2, _) = articdbm_gateway::managed::start(
        &config,
        follow(
            "by-pin",
            Some(CLUSTER),
            ManagerTls {
                pin: Some(sha256_of_pem(&cert)),
                ..Default::default()
            },
        ),
    )
    .await
    .expect("a gateway with the manager's pin follows it");
    poll(
        "both gateways report in",
        Duration::from_secs(30),
        || async {
            let v = api.ok("get", "/api/v1/gateways", None).await;
            let names: Vec<String> = v["items"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|g| g["name"].as_str().map(str::to_string))
                .collect();
            if names.iter().any(|n| n == "by-cert") && names.iter().any(|n| n == "by-pin") {
                Ok(())
            } else {
                Err(v.to_string())
            }
        },
    )
    .await;
    // The wrong CA, the wrong pin: no first snapshot, and the error says why.
    for (name, tls, says) in [
        (
            "wrong-ca",
            ManagerTls {
                ca: Some(pki.ca_cert("rogue-ca")),
                ..Default::default()
            },
            "certificate",
        ),
        (
            "wrong-pin",
            ManagerTls {
                pin: Some("00".repeat(32)),
                ..Default::default()
            },
            "pinned",
        ),
    ] {
        let err = articdbm_gateway::managed::start(&config, follow(name, Some(CLUSTER), tls))
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: the gateway must not follow"));
        let text = format!("{err:#}");
        assert!(text.contains(says), "{name}: {text}");
    }

    // A renewed certificate (same paths, written by rename as cert managers do) is served
    // without a restart.
    let before = presented_certificate(m.addr.port());
    assert_eq!(before.trim(), pem_of(&cert));
    let renew = tempfile::tempdir_in(c).unwrap();
    let renewed = Pki::new(renew.path(), "unused").unwrap();
    std::fs::copy(pki.ca_cert("mgr-ca"), renew.path().join("mgr-ca.crt")).unwrap();
    std::fs::copy(c.join("mgr-ca.key"), renew.path().join("mgr-ca.key")).unwrap();
    let (new_cert, new_key) = renewed
        .issue("mgr-ca", "manager", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    std::fs::rename(&new_key, &key).unwrap();
    std::fs::rename(&new_cert, &cert).unwrap();
    let want = pem_of(&cert);
    assert_ne!(want, before.trim());
    poll(
        "the renewed certificate is served",
        Duration::from_secs(20),
        || {
            let want = want.clone();
            let port = m.addr.port();
            async move {
                let got = tokio::task::spawn_blocking(move || presented_certificate(port))
                    .await
                    .unwrap();
                if got.trim() == want { Ok(()) } else { Err(got) }
            }
        },
    )
    .await;
    // Clients that trust the CA carry on.
    api.ok("get", "/api/v1/tenants", None).await;
    g1.shutdown();
    g2.shutdown();
    m.stop().await;
}

/// Redis over TLS with an ACL user, as a managed Redis runs: `tls-auth-clients yes` (a client
/// certificate from the Redis CA), the default user off. Gateways share rate-limit state
/// through it (`articdbm_kv_remote_up 1`) with `rediss://user:password@...` and
/// `server.redis_tls`; the manager publishes snapshot versions through it. The wrong CA, no
/// client certificate and a wrong password each fail with the reason, never showing the
/// password.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_over_tls_with_an_acl_user() {
    use articdbm_gateway::runtime::redis_kv::{RedisTls, client};
    use articdbm_tests::pki::{Pki, Usage};
    use articdbm_tests::{RedisOptions, RedisServer, RedisTlsFiles};
    const PW: &str = "redis-password-0123";
    let certs = tempfile::tempdir().unwrap();
    let c = certs.path();
    let pki = Pki::new(c, "redis-ca").unwrap();
    pki.add_ca("other-ca").unwrap();
    let (cert, key) = pki
        .issue("redis-ca", "redis", "DNS:localhost,IP:127.0.0.1")
        .unwrap();
    let (ccert, ckey) = pki
        .issue_for("redis-ca", "client", "articdbm", "", Usage::Client)
        .unwrap();
    let redis = tokio::task::spawn_blocking({
        let (cert, key, ca) = (cert.clone(), key.clone(), pki.ca_cert("redis-ca"));
        move || {
            RedisServer::start_with(RedisOptions {
                tls: Some(RedisTlsFiles {
                    cert,
                    key,
                    ca,
                    auth_clients: true,
                }),
                user: Some(("articdbm".into(), PW.into())),
            })
            .unwrap()
        }
    })
    .await
    .unwrap();
    let url = redis.url();
    assert!(url.starts_with("rediss://articdbm:"), "{url}");
    let good = RedisTls {
        ca: Some(pki.ca_cert("redis-ca")),
        cert: Some(ccert.clone()),
        key: Some(ckey.clone()),
    };

    // What fails, and says why without the password.
    let wrong_pw = url.replace(PW, "not-the-password");
    for (what, url, tls, says) in [
        (
            "wrong CA",
            url.clone(),
            RedisTls {
                ca: Some(pki.ca_cert("other-ca")),
                ..good.clone()
            },
            "certificate",
        ),
        (
            "no client certificate",
            url.clone(),
            RedisTls {
                ca: Some(pki.ca_cert("redis-ca")),
                cert: None,
                key: None,
            },
            "",
        ),
        (
            "wrong password",
            wrong_pw.clone(),
            good.clone(),
            "AuthenticationFailed",
        ),
    ] {
        let err = tokio::task::spawn_blocking(move || {
            let cl = client(&url, &tls).map_err(|e| e.to_string())?;
            let mut conn = cl
                .get_connection_with_timeout(Duration::from_secs(5))
                .map_err(|e| e.to_string())?;
            redis::cmd("PING")
                .query::<String>(&mut conn)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap()
        .expect_err(what);
        assert!(err.contains(says), "{what}: {err}");
        assert!(
            !err.contains(PW) && !err.contains("not-the-password"),
            "{what}: {err}"
        );
    }
    // A CA without rediss:// is a configuration error.
    let err = client(&url.replace("rediss://", "redis://"), &good).unwrap_err();
    assert!(err.contains("rediss://") && !err.contains(PW), "{err}");

    // A gateway sharing its kv state through it.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_listen = \"127.0.0.1:0\"\n\
             packs = [{:?}]\nplugin_dir = {:?}\nwatch = false\nredis = {:?}\n\
             redis_tls = {{ ca = {:?}, cert = {:?}, key = {:?} }}\n\n\
             [[user]]\nname = \"{APP_USER}\"\npassword = \"{APP_PASSWORD}\"\n\n\
             [[database]]\nname = \"lite\"\nsqlite = {:?}\n",
            root().join("policies/default.toml").display().to_string(),
            articdbm_plugin_artifacts::PLUGIN_DIR,
            url,
            pki.ca_cert("redis-ca").display().to_string(),
            ccert.display().to_string(),
            ckey.display().to_string(),
            dir.path().join("gw.db").display().to_string(),
        ),
    )
    .unwrap();
    let config = articdbm_gateway::config::Config::load(&path).unwrap();
    let gw = Gateway::start(config).await.unwrap();
    poll(
        "articdbm_kv_remote_up 1 over TLS",
        Duration::from_secs(20),
        || async {
            let text = http_get(&gw, "/metrics").await;
            match metric(&text, "articdbm_kv_remote_up") {
                Some(1.0) => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    gw.shutdown();

    // The manager publishing snapshot versions through it.
    let sub = tokio::task::spawn_blocking({
        let (url, tls) = (url.clone(), good.clone());
        move || {
            let cl = client(&url, &tls).unwrap();
            let mut conn = cl
                .get_connection_with_timeout(Duration::from_secs(5))
                .unwrap();
            let (tx, rx) = std::sync::mpsc::channel::<i64>();
            std::thread::spawn(move || {
                let mut ps = conn.as_pubsub();
                ps.subscribe(articdbm_manager::notify::CHANNEL).unwrap();
                ps.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
                // Subscribed: tell the test.
                let _ = tx.send(-1);
                while let Ok(msg) = ps.get_message() {
                    if let Ok(v) = msg.get_payload::<i64>()
                        && tx.send(v).is_err()
                    {
                        break;
                    }
                }
            });
            assert_eq!(rx.recv_timeout(Duration::from_secs(10)), Ok(-1));
            rx
        }
    })
    .await
    .unwrap();
    let m = Manager::start(ServeOptions {
        redis: Some(url.clone()),
        redis_tls: good.clone(),
        ..opts(&dir.path().join("manager"), None, None)
    })
    .await
    .unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "shop"})))
        .await;
    let got = tokio::task::spawn_blocking(move || sub.recv_timeout(Duration::from_secs(20)))
        .await
        .unwrap();
    assert!(
        got.is_ok_and(|v| v > 0),
        "the manager published a version over TLS: {got:?}"
    );
    m.stop().await;
}

// ---------------------------------------------------------------- secrets at rest

const BACKEND_SECRET: &str = "backend-secret-d41d8cd98f";

/// The stored bodies of `kind`, as they are in the store (secrets sealed).
async fn raw_bodies(url: &str, kind: &str) -> Vec<(String, String)> {
    use sqlx::Row;
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let rows = sqlx::query("SELECT name, body FROM resources WHERE kind = $1 ORDER BY name")
        .bind(kind)
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    rows.iter()
        .map(|r| (r.get::<String, _>("name"), r.get::<String, _>("body")))
        .collect()
}

async fn set_raw_body(url: &str, kind: &str, name: &str, body: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let n = sqlx::query("UPDATE resources SET body = $1 WHERE kind = $2 AND name = $3")
        .bind(body)
        .bind(kind)
        .bind(name)
        .execute(&pool)
        .await
        .unwrap()
        .rows_affected();
    pool.close().await;
    assert_eq!(n, 1);
}

fn with_key(o: ServeOptions, key: articdbm_manager::secrets::KeySource) -> ServeOptions {
    ServeOptions {
        secret_key: key,
        ..o
    }
}

fn key_file(dir: &Path, name: &str) -> std::path::PathBuf {
    let (_, text) = articdbm_manager::secrets::SecretKey::generate();
    let p = dir.join(name);
    articdbm_manager::secrets::write_key_file(&p, &text).unwrap();
    p
}

/// Backend passwords sealed at rest on `database_url` (None: SQLite in the data directory),
/// opened for the snapshot, masked by the API, clear rows of an earlier version sealed at
/// start, a ciphertext moved to another row refused, a wrong key refused by name, and a key
/// rotation after which only the new key opens the store.
async fn secrets_at_rest(dir: &Path, database_url: Option<String>, first_key: KeySourceFor) {
    use articdbm_manager::secrets::KeySource;
    let data = dir.join("manager");
    let url = database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", data.join("manager.db").display()));
    let key = match &first_key {
        KeySourceFor::Default => KeySource::default(),
        KeySourceFor::File(f) => KeySource {
            file: Some(f.clone()),
            ..Default::default()
        },
    };
    let start = |k: KeySource| Manager::start(with_key(opts(&data, database_url.clone(), None), k));
    let m = start(key.clone()).await.unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "vault"})))
        .await;
    let db = |name: &str, password: &str| {
        json!({"name": name, "server_user": "owner", "server_password": password,
               "server_database": "vault", "tls": "disable",
               "backend": [{"host": "127.0.0.1", "port": 5432}]})
    };
    for (name, pw) in [("one", BACKEND_SECRET), ("two", "another-backend-secret")] {
        let v = api
            .ok(
                "post",
                "/api/v1/tenants/vault/databases",
                Some(&db(name, pw)),
            )
            .await;
        assert_eq!(v["server_password"], "***", "{v}");
    }
    // The same password again changes nothing (the sealed value is kept, not re-sealed).
    let before = api.version().await;
    api.ok(
        "put",
        "/api/v1/tenants/vault/databases/one",
        Some(&db("one", BACKEND_SECRET)),
    )
    .await;
    assert_eq!(api.version().await, before, "re-applying changed nothing");
    let v = api
        .ok("get", "/api/v1/tenants/vault/databases/one", None)
        .await;
    assert_eq!(v["server_password"], "***");
    // The store holds ciphertext only; the snapshot has the password for gateways.
    let raw = raw_bodies(&url, "database").await;
    assert_eq!(raw.len(), 2);
    for (name, body) in &raw {
        assert!(!body.contains("backend-secret"), "{name}: {body}");
        let v: Value = serde_json::from_str(body).unwrap();
        assert!(
            v["server_password"]
                .as_str()
                .unwrap()
                .starts_with("enc:v1:"),
            "{body}"
        );
    }
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(snap["config"].as_str().unwrap().contains(BACKEND_SECRET));
    // Built without secrets (for a gateway whose connection could be read on the way), the
    // snapshot has no backend password at all.
    let bare = articdbm_manager::snapshot::build(&m.app.store, false)
        .await
        .unwrap();
    let config = bare["config"].as_str().unwrap();
    assert!(
        !config.contains("backend-secret") && !config.contains("server_password"),
        "{config}"
    );
    assert!(
        config.contains("server_user"),
        "the rest is there: {config}"
    );
    m.stop().await;

    // A row in clear, as an earlier version wrote it, is sealed at the next start.
    let (_, sealed_one) = raw.iter().find(|(n, _)| n == "one").unwrap().clone();
    let clear = db("one", BACKEND_SECRET);
    let mut clear = clear;
    clear["tenant"] = json!("vault");
    set_raw_body(&url, "database", "one", &clear.to_string()).await;
    let m = start(key.clone()).await.unwrap();
    let api = Api::new(m.addr);
    let raw = raw_bodies(&url, "database").await;
    assert!(
        raw.iter()
            .all(|(_, b)| b.contains("enc:v1:") && !b.contains("backend-secret"))
    );
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(snap["config"].as_str().unwrap().contains(BACKEND_SECRET));
    m.stop().await;

    // A sealed value moved to another row does not open: the start fails naming the row.
    let (_, sealed_two) = raw.iter().find(|(n, _)| n == "two").unwrap().clone();
    let mut moved: Value = serde_json::from_str(&sealed_two).unwrap();
    let one: Value = serde_json::from_str(&sealed_one).unwrap();
    moved["server_password"] = one["server_password"].clone();
    set_raw_body(&url, "database", "two", &moved.to_string()).await;
    let e = start(key.clone()).await.err().expect("refused").to_string();
    assert!(
        e.contains("database vault/two field server_password")
            && e.contains("moved from another row"),
        "{e}"
    );
    set_raw_body(&url, "database", "two", &sealed_two).await;

    // A wrong key: refused, naming both keys, not a panic.
    let wrong = key_file(dir, "wrong.key");
    let e = start(KeySource {
        file: Some(wrong.clone()),
        ..Default::default()
    })
    .await
    .err()
    .expect("refused")
    .to_string();
    assert!(
        e.contains("sealed with secret key") && e.contains("not the key given"),
        "{e}"
    );
    assert!(!e.contains("backend-secret"));

    // Rotation: every secret re-sealed with the new key in one go; then the old key fails and
    // the new one works.
    let new = key_file(dir, "new.key");
    let (done, new_id) = articdbm_manager::rotate_secrets(&articdbm_manager::RotateOptions {
        data_dir: data.clone(),
        database_url: database_url.clone(),
        secret_key: key.clone(),
        new_key_file: new.clone(),
    })
    .await
    .unwrap();
    assert_eq!((done.rows, done.fields), (2, 2));
    let raw = raw_bodies(&url, "database").await;
    assert!(
        raw.iter()
            .all(|(_, b)| b.contains(&format!("enc:v1:{new_id}:"))),
        "{raw:?}"
    );
    let e = start(key.clone())
        .await
        .err()
        .expect("old key refused")
        .to_string();
    assert!(e.contains(&new_id), "{e}");
    let new_key = KeySource {
        file: Some(new.clone()),
        ..Default::default()
    };
    let m = start(new_key.clone()).await.unwrap();
    let api = Api::new(m.addr);
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(snap["config"].as_str().unwrap().contains(BACKEND_SECRET));
    m.stop().await;

    // The rotation window: values under the previous key open with --old-secret-key-file and
    // are sealed with the current key at start.
    let newer = key_file(dir, "newer.key");
    let m = start(KeySource {
        file: Some(newer.clone()),
        old_files: vec![new.clone()],
        ..Default::default()
    })
    .await
    .unwrap();
    let api = Api::new(m.addr);
    let snap = api.ok("get", "/api/v1/snapshot", None).await;
    assert!(snap["config"].as_str().unwrap().contains(BACKEND_SECRET));
    m.stop().await;
    assert!(
        start(new_key).await.is_err(),
        "all re-sealed with the newer key"
    );
    let m = start(KeySource {
        file: Some(newer),
        ..Default::default()
    })
    .await
    .unwrap();
    m.stop().await;
}

enum KeySourceFor {
    /// The key generated in the data directory.
    Default,
    File(std::path::PathBuf),
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_at_rest_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    secrets_at_rest(dir.path(), None, KeySourceFor::Default).await;
    // The generated key is beside the store, owner-only.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(dir.path().join("manager/secret.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_are_sealed_at_rest_on_postgresql() {
    let (pg, url) = postgres_store().await;
    let dir = tempfile::tempdir().unwrap();
    // A shared store needs a key given: none is refused at start.
    let e = Manager::start(with_key(
        opts(&dir.path().join("manager"), Some(url.clone()), None),
        Default::default(),
    ))
    .await
    .err()
    .expect("refused without a key")
    .to_string();
    assert!(e.contains("PostgreSQL store needs a secret key"), "{e}");
    let key = key_file(dir.path(), "current.key");
    secrets_at_rest(dir.path(), Some(url), KeySourceFor::File(key)).await;
    drop(pg);
}

// ---------------------------------------------------------------- hardening

/// Every mutating route of the API, done once as admin with a valid request, leaves an audit
/// event of the admin's key. The list is checked against `openapi::ROUTES`, so a new mutating
/// route without an entry here fails. Gateway traffic (heartbeats, audit uploads) is exempt:
/// it is not an admin action, and auditing it would drown the trail.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_admin_change_is_audited() {
    let dir = tempfile::tempdir().unwrap();
    let site = tempfile::tempdir().unwrap();
    std::fs::write(
        site.path().join("stix.json"),
        json!({"type": "bundle", "id": "bundle--00000000-0000-4000-8000-000000000001",
               "objects": [{"type": "indicator", "spec_version": "2.1",
                            "id": "indicator--00000000-0000-4000-8000-000000000002",
                            "created": "2024-01-01T00:00:00.000Z",
                            "modified": "2024-01-01T00:00:00.000Z",
                            "pattern": "[ipv4-addr:value = '198.51.100.7']",
                            "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}]})
        .to_string(),
    )
    .unwrap();
    let files = tokio::task::spawn_blocking({
        let p = site.path().to_path_buf();
        move || articdbm_tests::FileServer::start(&p).unwrap()
    })
    .await
    .unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    let keys = api.ok("get", "/api/v1/keys", None).await;
    let admin_id = keys["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["name"] == "bootstrap")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let audited = || async {
        api.ok(
            "get",
            &format!("/api/v1/audit?actor=key:{admin_id}&limit=1000"),
            None,
        )
        .await["items"]
            .as_array()
            .unwrap()
            .clone()
    };

    enum Send {
        None,
        Json(Value),
        Raw(&'static str, Vec<u8>),
        Upload,
    }
    let pack = "version = 1\nname = \"aud-pack\"\nkind = \"tenant\"\ntenant = \"aud\"\n\n\
                [[binding]]\nid = \"rl\"\nplugin = \"rate-limit\"\nhooks = [\"query\"]\n\
                [binding.config]\nper_user_qps = 100\n";
    let user = json!({"name": "aud-user", "password": "password-1234"});
    let database = json!({"name": "aud-db", "sqlite": dir.path().join("aud.db")});
    let feed = json!({"name": "aud-feed", "tenant": "aud", "format": "stix",
                      "url": files.url("stix.json"), "interval": "manual"});
    // (template as in ROUTES, method, concrete path or a placeholder filled from an earlier
    // answer, what to send)
    let mut steps: Vec<(&str, &str, String, Send)> = vec![
        (
            "/api/v1/tenants",
            "post",
            "/api/v1/tenants".into(),
            Send::Json(json!({"name": "aud"})),
        ),
        (
            "/api/v1/keys",
            "post",
            "/api/v1/keys".into(),
            Send::Json(json!({"role": "auditor"})),
        ),
        (
            "/api/v1/keys/{id}",
            "delete",
            "/api/v1/keys/{key}".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}/users",
            "post",
            "/api/v1/tenants/aud/users".into(),
            Send::Json(user.clone()),
        ),
        (
            "/api/v1/tenants/{tenant}/users/{name}",
            "put",
            "/api/v1/tenants/aud/users/aud-user".into(),
            Send::Json(user.clone()),
        ),
        (
            "/api/v1/tenants/{tenant}/users/{name}/tokens",
            "post",
            "/api/v1/tenants/aud/users/aud-user/tokens".into(),
            Send::Json(json!({})),
        ),
        (
            "/api/v1/tenants/{tenant}/users/{name}/tokens/{id}",
            "delete",
            "/api/v1/tenants/aud/users/aud-user/tokens/{token}".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}/permissions",
            "post",
            "/api/v1/tenants/aud/permissions".into(),
            Send::Json(json!({"users": ["aud-user"], "tables": ["public.t"], "actions": ["read"]})),
        ),
        (
            "/api/v1/tenants/{tenant}/permissions/{id}",
            "delete",
            "/api/v1/tenants/aud/permissions/{permission}".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}/databases",
            "post",
            "/api/v1/tenants/aud/databases".into(),
            Send::Json(database.clone()),
        ),
        (
            "/api/v1/tenants/{tenant}/databases/{name}",
            "put",
            "/api/v1/tenants/aud/databases/aud-db".into(),
            Send::Json(database.clone()),
        ),
        (
            "/api/v1/tenants/{tenant}/databases/{name}",
            "delete",
            "/api/v1/tenants/aud/databases/aud-db".into(),
            Send::None,
        ),
        (
            "/api/v1/packs/{name}",
            "put",
            "/api/v1/packs/aud-pack".into(),
            Send::Raw("application/toml", pack.as_bytes().to_vec()),
        ),
        (
            "/api/v1/packs/{name}",
            "delete",
            "/api/v1/packs/aud-pack".into(),
            Send::None,
        ),
        (
            "/api/v1/plugins",
            "post",
            "/api/v1/plugins".into(),
            Send::Upload,
        ),
        (
            "/api/v1/plugins/{name}/disable",
            "post",
            "/api/v1/plugins/rate-limit/disable".into(),
            Send::None,
        ),
        (
            "/api/v1/plugins/{name}/enable",
            "post",
            "/api/v1/plugins/rate-limit/enable".into(),
            Send::None,
        ),
        (
            "/api/v1/plugins/{name}/rollback",
            "post",
            "/api/v1/plugins/rate-limit/rollback".into(),
            Send::Json(json!({})),
        ),
        (
            "/api/v1/feeds",
            "post",
            "/api/v1/feeds".into(),
            Send::Json(feed.clone()),
        ),
        (
            "/api/v1/feeds/{name}",
            "put",
            "/api/v1/feeds/aud-feed".into(),
            Send::Json(feed.clone()),
        ),
        (
            "/api/v1/feeds/{name}/fetch",
            "post",
            "/api/v1/feeds/aud-feed/fetch".into(),
            Send::None,
        ),
        (
            "/api/v1/feeds/{name}/document",
            "post",
            "/api/v1/feeds/aud-feed/document".into(),
            Send::Raw(
                "application/json",
                std::fs::read(site.path().join("stix.json")).unwrap(),
            ),
        ),
        (
            "/api/v1/feeds/{name}",
            "delete",
            "/api/v1/feeds/aud-feed".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}/threat-bypass",
            "put",
            "/api/v1/tenants/aud/threat-bypass".into(),
            Send::Json(json!({"addresses": ["192.0.2.0/24"], "users": [], "indicators": []})),
        ),
        (
            "/api/v1/tenants/{tenant}/threat-bypass",
            "delete",
            "/api/v1/tenants/aud/threat-bypass".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}/users/{name}",
            "delete",
            "/api/v1/tenants/aud/users/aud-user".into(),
            Send::None,
        ),
        (
            "/api/v1/tenants/{tenant}",
            "delete",
            "/api/v1/tenants/aud".into(),
            Send::None,
        ),
    ];
    // Dry runs (check, try) change nothing.
    let exempt = [
        "/api/v1/gateways/heartbeat",
        "/api/v1/audit",
        "/api/v1/packs/{name}/check",
        "/api/v1/packs/{name}/try",
    ];
    let mut covered: std::collections::BTreeSet<(String, String)> = steps
        .iter()
        .map(|(t, m, _, _)| (m.to_string(), t.to_string()))
        .collect();
    for r in articdbm_manager::openapi::ROUTES {
        if r.method == "get" || exempt.contains(&r.path) {
            continue;
        }
        assert!(
            covered.remove(&(r.method.to_string(), r.path.to_string())),
            "{} {} changes something but this test does not check that it is audited",
            r.method,
            r.path
        );
    }
    assert!(covered.is_empty(), "not routes: {covered:?}");

    let mut ids: std::collections::HashMap<&str, String> = Default::default();
    let mut seen = audited().await.len();
    for (template, method, path, send) in steps.drain(..) {
        let mut path = path;
        for (k, v) in &ids {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        let (s, v) = match send {
            Send::None => api.call(method, &path, Some(ADMIN), None).await,
            Send::Json(b) => api.call(method, &path, Some(ADMIN), Some(&b)).await,
            Send::Raw(ct, b) => {
                api.raw(&method.to_ascii_uppercase(), &path, ADMIN, ct, b)
                    .await
            }
            Send::Upload => {
                api.upload(
                    ADMIN,
                    &manifest_version("rate-limit", "9.9.9"),
                    plugin_files("rate-limit").1,
                )
                .await
            }
        };
        assert!(s.is_success(), "{method} {path}: {s} {v}");
        match template {
            "/api/v1/keys" => drop(ids.insert("key", v["id"].as_str().unwrap().into())),
            "/api/v1/tenants/{tenant}/users/{name}/tokens" => {
                drop(ids.insert("token", v["id"].as_str().unwrap().into()))
            }
            "/api/v1/tenants/{tenant}/permissions" => {
                drop(ids.insert("permission", v["id"].as_str().unwrap().into()))
            }
            _ => {}
        }
        let events = audited().await;
        assert!(
            events.len() > seen,
            "{method} {template} left no audit event of the admin key"
        );
        seen = events.len();
    }
    m.stop().await;
}

/// Wrong API keys from one address are answered 429 with Retry-After once they exceed the
/// allowance, whatever key follows; requests with a valid key never count; every response has
/// the security headers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_keys_are_throttled_and_responses_carry_security_headers() {
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    // Valid keys, many times: never limited.
    for _ in 0..(articdbm_manager::auth::MAX_FAILURES * 2) {
        api.ok("get", "/api/v1/tenants", None).await;
    }
    for i in 0..articdbm_manager::auth::MAX_FAILURES {
        let (s, v) = api
            .call(
                "get",
                "/api/v1/tenants",
                Some(&format!("adbm_guess-{i}")),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "guess {i}: {v}");
    }
    let resp = api
        .http
        .get(format!("{}/api/v1/tenants", api.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "too_many_failures", "{v}");
    let metrics = api.ok("get", "/metrics", None).await;
    let metrics = metrics.as_str().unwrap();
    assert!(
        metric(metrics, "articdbm_manager_auth_throttled_total").unwrap_or(0.0) >= 1.0,
        "{metrics}"
    );
    assert!(
        metric(metrics, "articdbm_manager_auth_failures_total").unwrap_or(0.0)
            >= f64::from(articdbm_manager::auth::MAX_FAILURES)
    );
    // Unauthenticated routes are not limited.
    api.ok("get", "/healthz", None).await;

    for (method, path, key) in [
        ("GET", "/healthz", None),
        ("GET", "/metrics", None),
        ("GET", "/api/v1/openapi.json", None),
        ("GET", "/api/v1/nothing", None),
        ("POST", "/api/v1/tenants", Some("adbm_wrong")),
    ] {
        let mut r = api.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
            format!("{}{path}", api.base),
        );
        if let Some(k) = key {
            r = r.bearer_auth(k);
        }
        let resp = r.send().await.unwrap();
        let h = resp.headers();
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            ("cross-origin-resource-policy", "same-origin"),
        ] {
            assert_eq!(
                h.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{method} {path} ({}): {name}",
                resp.status()
            );
        }
        let csp = h["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"),
            "{csp}"
        );
    }
    m.stop().await;
}

/// Backend passwords travel to gateways over TLS or within the manager's host only. Over
/// loopback (the listener) and over TLS from elsewhere the snapshot has them; from another
/// host over plain HTTP, or for a request that did not come through the listener, it has
/// none and says so (`secrets_withheld`). The peers from elsewhere are made in-process: the
/// tests send traffic over loopback only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_carry_backend_passwords_only_over_tls_or_loopback() {
    use tower::ServiceExt;
    const BACKEND_PW: &str = "backend-password-0123";
    let dir = tempfile::tempdir().unwrap();
    let m = Manager::start(opts(dir.path(), None, None)).await.unwrap();
    let api = Api::new(m.addr);
    api.ok("post", "/api/v1/tenants", Some(&json!({"name": "shop"})))
        .await;
    api.ok(
        "post",
        "/api/v1/tenants/shop/databases",
        Some(
            &json!({"name": "shop", "server_user": "owner", "server_password": BACKEND_PW,
                     "server_database": "shop", "tls": "disable",
                     "backend": [{"host": "127.0.0.1", "port": 5432}]}),
        ),
    )
    .await;
    // Through the listener, from this host.
    let (s, v) = api
        .call("get", "/api/v1/snapshot", Some(CLUSTER), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert!(v["config"].as_str().unwrap().contains(BACKEND_PW), "{v}");
    assert!(v.get("secrets_withheld").is_none(), "{v}");

    let router = articdbm_manager::api::router(Arc::clone(&m.app));
    let ask = |peer: Option<articdbm_manager::tls::Peer>| {
        let router = router.clone();
        async move {
            let mut req = axum::http::Request::get("/api/v1/snapshot")
                .header("authorization", format!("Bearer {CLUSTER}"))
                .body(axum::body::Body::empty())
                .unwrap();
            if let Some(p) = peer {
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(p.addr));
                req.extensions_mut().insert(p);
            }
            let resp = router.oneshot(req).await.unwrap();
            assert_eq!(resp.status(), StatusCode::OK);
            let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
                .await
                .unwrap();
            serde_json::from_slice::<Value>(&body).unwrap()
        }
    };
    let elsewhere = |tls: bool| articdbm_manager::tls::Peer {
        addr: "192.0.2.10:40000".parse().unwrap(),
        tls,
        client_cert: None,
    };
    for (what, peer, carried) in [
        (
            "plain HTTP from another host",
            Some(elsewhere(false)),
            false,
        ),
        ("TLS from another host", Some(elsewhere(true)), true),
        ("no peer", None, false),
        (
            "IPv4-mapped loopback",
            Some(articdbm_manager::tls::Peer {
                addr: "[::ffff:127.0.0.1]:40000".parse().unwrap(),
                tls: false,
                client_cert: None,
            }),
            true,
        ),
    ] {
        let v = ask(peer).await;
        let config = v["config"].as_str().unwrap();
        assert!(
            config.contains("owner"),
            "{what}: the database is there: {v}"
        );
        assert_eq!(config.contains(BACKEND_PW), carried, "{what}: {v}");
        assert_eq!(
            v["secrets_withheld"].as_bool() == Some(true),
            !carried,
            "{what}: {v}"
        );
    }
    m.stop().await;

    // --allow-plaintext-secrets: the operator vouches for the network.
    let m = Manager::start(ServeOptions {
        allow_plaintext_secrets: true,
        ..opts(dir.path(), None, None)
    })
    .await
    .unwrap();
    let router = articdbm_manager::api::router(Arc::clone(&m.app));
    let mut req = axum::http::Request::get("/api/v1/snapshot")
        .header("authorization", format!("Bearer {CLUSTER}"))
        .body(axum::body::Body::empty())
        .unwrap();
    req.extensions_mut().insert(elsewhere(false));
    let resp = router.oneshot(req).await.unwrap();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .unwrap();
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert!(v["config"].as_str().unwrap().contains(BACKEND_PW), "{v}");
    m.stop().await;
}
