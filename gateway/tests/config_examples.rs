//! Keeps the configuration format's three descriptions in agreement: the parser
//! (`gateway/config/src/lib.rs`), the JSON Schema (`docs/schema/gateway-config.schema.json`) and the
//! shipped examples (`examples/*.toml`). Every example loads and matches the schema; invalid
//! documents are refused by both; the schema's defaults are the parser's.

use std::path::{Path, PathBuf};

use articdbm_gateway::config::{BackendRole, Config, PoolMode, PoolSettings, Target, TlsMode};
use articdbm_pgwire::auth::scram::ScramVerifier;
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("gateway/ has a parent")
        .to_path_buf()
}

fn schema() -> Value {
    let path = root().join("docs/schema/gateway-config.schema.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

fn validator() -> jsonschema::Validator {
    jsonschema::draft202012::new(&schema()).expect("the schema compiles")
}

/// The schema's complaints about `doc`, one line each; empty when valid.
fn schema_errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn examples() -> Vec<PathBuf> {
    let dir = root().join("examples");
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{dir:?}: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    out.sort();
    out
}

fn as_json(text: &str) -> Value {
    toml::from_str(text).expect("valid TOML")
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema() {
    let s = schema();
    assert_eq!(
        s["$schema"], "https://json-schema.org/draft/2020-12/schema",
        "declares draft 2020-12"
    );
    if let Err(e) = jsonschema::meta::validate(&s) {
        panic!("not a valid JSON Schema: {e}");
    }
}

#[test]
fn every_example_loads() {
    let found = examples();
    let names: Vec<String> = found
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["gateway.toml", "gateway-postgres.toml"] {
        assert!(names.iter().any(|n| n == want), "examples/{want} missing");
    }
    for path in &found {
        if let Err(e) = Config::load(path) {
            panic!("{e}");
        }
    }
}

#[test]
fn every_example_matches_the_schema() {
    let v = validator();
    for path in examples() {
        let text = std::fs::read_to_string(&path).unwrap();
        let errors = schema_errors(&v, &as_json(&text));
        assert!(
            errors.is_empty(),
            "{}:\n{}",
            path.display(),
            errors.join("\n")
        );
    }
}

#[test]
fn quick_start_example() {
    let dir = root().join("examples");
    let c = Config::load(&dir.join("gateway.toml")).unwrap();
    assert_eq!(c.server.listen.to_string(), "127.0.0.1:6432");
    assert_eq!(
        c.server.admin_listen.map(|a| a.to_string()).as_deref(),
        Some("127.0.0.1:9187")
    );
    // Relative to the file, so the example works from any working directory.
    assert_eq!(c.server.packs, vec![dir.join("../policies/default.toml")]);
    assert!(c.server.packs[0].is_file(), "{:?}", c.server.packs[0]);
    assert_eq!(c.server.plugin_dir, dir.join("../target/plugins"));
    assert!(c.users["demo"].verifier.verify_password(b"demo"));
    let Target::Sqlite(db) = &c.databases["demo"].target else {
        panic!("demo is a SQLite database");
    };
    assert_eq!(db, &dir.join("../target/demo.db"));
}

#[test]
fn postgres_example() {
    let path = root().join("examples/gateway-postgres.toml");
    let c = Config::load(&path).unwrap();
    let tls = c.server.tls.as_ref().expect("client TLS");
    assert!(tls.required);

    // The verifiers were produced by PostgreSQL 15 (CREATE ROLE ... PASSWORD, read back
    // from pg_authid). Recomputing them from the password and salt with our implementation
    // must give the same text, byte for byte.
    let raw = as_json(&std::fs::read_to_string(&path).unwrap());
    for (name, tenant, password) in [
        ("app", "acme", "acme-app-secret"),
        ("analyst", "acme", "acme-analyst-secret"),
        ("globex_app", "globex", "globex-app-secret"),
    ] {
        let u = &c.users[name];
        assert_eq!(u.tenant, tenant, "{name}");
        assert!(u.verifier.verify_password(password.as_bytes()), "{name}");
        assert!(!u.verifier.verify_password(b"wrong"), "{name}");
        let text = raw["user"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == name)
            .and_then(|x| x["scram"].as_str())
            .unwrap_or_else(|| panic!("{name} has a scram verifier"));
        let parsed = ScramVerifier::parse(text).unwrap();
        let ours =
            ScramVerifier::from_password(password.as_bytes(), parsed.salt(), parsed.iterations());
        assert_eq!(ours.to_string(), text, "{name}");
    }
    assert!(c.users["analyst"].expires_at_ms.is_some());

    let shop = &c.databases["shop"];
    assert_eq!(shop.pool.mode, PoolMode::Transaction);
    assert!(shop.read_write_split);
    let Target::Postgres {
        backends,
        tls,
        tls_ca,
        ..
    } = &shop.target
    else {
        panic!("shop is on PostgreSQL");
    };
    assert_eq!(*tls, TlsMode::VerifyFull);
    assert!(tls_ca.as_ref().is_some_and(|p| p.is_absolute()));
    let roles: Vec<(BackendRole, u32)> = backends.iter().map(|b| (b.role, b.weight)).collect();
    assert_eq!(
        roles,
        [
            (BackendRole::Primary, 1),
            (BackendRole::Replica, 3),
            (BackendRole::Replica, 1)
        ]
    );
    assert_eq!(c.databases["ledger"].tenant.as_deref(), Some("globex"));
}

/// Documents both the schema and the parser accept.
#[test]
fn valid_documents_pass_both() {
    let v = validator();
    for text in [
        "",
        "[server]\n",
        "[server]\nlisten = \"[::1]:6432\"\nadmin_listen = \"0.0.0.0:9187\"\n",
        "[server.tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n",
        "[server]\nspin_us = 0\nspin_under_quota = true\n",
        "[[user]]\nname = \"a\"\npassword = \"x\"\ndatabases = [\"*\"]\nexpires_at = \"2030-01-01T00:00:00.250Z\"\n",
        "[[database]]\nname = \"m\"\nsqlite = \":memory:\"\npool = { mode = \"session\", size = 1, min_idle = 1 }\n",
        // role defaults to primary.
        "[[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 5432\n",
        "[[database]]\nname = \"d\"\ntls = \"verify-full\"\ntls_ca = \"ca.pem\"\n[[database.backend]]\nhost = \"h\"\nport = 5432\nrole = \"primary\"\nweight = 0\n[[database.backend]]\nhost = \"r\"\nport = 5432\nrole = \"replica\"\nweight = 2\n",
    ] {
        let errors = schema_errors(&v, &as_json(text));
        assert!(
            errors.is_empty(),
            "schema refused {text:?}:\n{}",
            errors.join("\n")
        );
        if let Err(e) = Config::parse(text, Path::new("/etc/articdbm/gateway.toml")) {
            panic!("parser refused {text:?}: {e}");
        }
    }
}

/// Documents both the schema and the parser refuse; `want` is in the parser's message.
#[test]
fn invalid_documents_fail_both() {
    let v = validator();
    let pg = "[[database.backend]]\nhost = \"h\"\nport = 5432\n";
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown top-level table",
            "[servers]\n".into(),
            "unknown field `servers`",
        ),
        (
            "unknown server field",
            "[server]\nlisten_addr = \"127.0.0.1:1\"\n".into(),
            "unknown field `listen_addr`",
        ),
        (
            "unknown user field",
            "[[user]]\nname = \"a\"\npassword = \"x\"\nrole = \"admin\"\n".into(),
            "unknown field `role`",
        ),
        (
            "unknown pool field",
            format!("[[database]]\nname = \"d\"\npool = {{ max = 3 }}\n{pg}"),
            "unknown field `max`",
        ),
        (
            "unknown backend field",
            "[[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 5432\nhostname = \"x\"\n".into(),
            "unknown field `hostname`",
        ),
        (
            "both scram and password",
            "[[user]]\nname = \"a\"\npassword = \"x\"\nscram = \"SCRAM-SHA-256$4096:GakB6/Ykh1NKbll+McliOw==$TJ2UVDpkJZdsjDM/oQ9Ua3zU9bJUymsTLCXQtPI7wXI=:yvedr/3igc3/8JBAjBFtY577taCTf8taVj1eJF7aIoM=\"\n".into(),
            "give either `scram` or `password`, not both",
        ),
        (
            "neither scram nor password",
            "[[user]]\nname = \"a\"\n".into(),
            "needs `scram`",
        ),
        (
            "not a SCRAM verifier",
            "[[user]]\nname = \"a\"\nscram = \"md5abcdef\"\n".into(),
            "not a SCRAM-SHA-256 verifier",
        ),
        (
            "empty user name",
            "[[user]]\nname = \"\"\npassword = \"x\"\n".into(),
            "user[0].name: must not be empty",
        ),
        (
            "database with both sqlite and backend",
            format!("[[database]]\nname = \"d\"\nsqlite = \"d.db\"\n{pg}"),
            "give either `sqlite` or `backend` entries, not both",
        ),
        (
            "database with neither",
            "[[database]]\nname = \"d\"\n".into(),
            "needs `sqlite",
        ),
        (
            "server fields on a SQLite database",
            "[[database]]\nname = \"d\"\nsqlite = \"d.db\"\nserver_user = \"u\"\n".into(),
            "server_user: only applies to server backends",
        ),
        (
            "zero pool size",
            format!("[[database]]\nname = \"d\"\npool = {{ size = 0 }}\n{pg}"),
            "pool.size: must be at least 1",
        ),
        (
            "unknown pool mode",
            format!("[[database]]\nname = \"d\"\npool = {{ mode = \"statement\" }}\n{pg}"),
            "unknown variant `statement`",
        ),
        (
            "unknown TLS mode",
            format!("[[database]]\nname = \"d\"\ntls = \"verify-ca\"\n{pg}"),
            "unknown variant `verify-ca`",
        ),
        (
            "verify-full without a CA",
            format!("[[database]]\nname = \"d\"\ntls = \"verify-full\"\n{pg}"),
            "tls = \"verify-full\" needs the CA certificate file",
        ),
        (
            "no primary",
            "[[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 5432\nrole = \"replica\"\n".into(),
            "found 0",
        ),
        (
            "two primaries (one by default)",
            format!("[[database]]\nname = \"d\"\n{pg}{pg}"),
            "found 2",
        ),
        (
            "replica of weight 0",
            format!("[[database]]\nname = \"d\"\n{pg}[[database.backend]]\nhost = \"r\"\nport = 5432\nrole = \"replica\"\nweight = 0\n"),
            "weight: 0 would never be chosen",
        ),
        (
            "port 0",
            "[[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 0\n".into(),
            "a non-zero port",
        ),
        (
            "listen is not an address",
            "[server]\nlisten = \"localhost:6432\"\n".into(),
            "invalid socket address",
        ),
        (
            "startup limit too small",
            "[server]\nmax_startup_bytes = 8\n".into(),
            "max_startup_bytes: 8 is too small",
        ),
        (
            "polling window too long",
            "[server]\nspin_us = 100001\n".into(),
            "spin_us: 100001 is too large",
        ),
        (
            "polling under a quota is a boolean",
            "[server]\nspin_under_quota = \"yes\"\n".into(),
            "expected a boolean",
        ),
        (
            "unknown function call mode",
            format!("[[database]]\nname = \"d\"\npool = {{ function_call = \"allow\" }}\n{pg}"),
            "unknown variant `allow`, expected `refuse` or `judge`",
        ),
        (
            "server messages bound too small",
            "[server]\nmax_server_message_bytes = 10\n".into(),
            "max_server_message_bytes: 10 is too small",
        ),
        (
            "client TLS without a key",
            "[server.tls]\ncert = \"c.pem\"\n".into(),
            "missing field `key`",
        ),
    ];
    for (what, text, want) in cases {
        let doc = as_json(&text);
        assert!(!v.is_valid(&doc), "{what}: the schema accepted\n{text}");
        match Config::parse(&text, Path::new("/etc/articdbm/gateway.toml")) {
            Ok(_) => panic!("{what}: the parser accepted\n{text}"),
            Err(e) => assert!(
                e.to_string().contains(want),
                "{what}: expected {want:?} in: {e}"
            ),
        }
    }
}

/// Every object in the schema is closed, and every field is documented with a default or
/// with what leaving it out means.
#[test]
fn the_schema_is_closed_and_documented() {
    fn walk(at: &str, node: &Value, problems: &mut Vec<String>) {
        match node {
            Value::Object(map) => {
                // Object schemas (and the root); `if` conditions also use `properties`.
                let is_object = map.get("type") == Some(&json!("object")) || at.is_empty();
                if let Some(Value::Object(props)) = map.get("properties")
                    && is_object
                {
                    if map.get("additionalProperties") != Some(&json!(false)) {
                        problems.push(format!("{at}: additionalProperties is not false"));
                    }
                    for (name, p) in props {
                        let Some(d) = p.get("description").and_then(Value::as_str) else {
                            problems.push(format!("{at}.{name}: no description"));
                            continue;
                        };
                        let explains_absence = ["Unset", "No default", "Give this"]
                            .iter()
                            .any(|w| d.contains(w));
                        if p.get("default").is_none() && !explains_absence {
                            problems.push(format!(
                                "{at}.{name}: neither a default nor what unset means"
                            ));
                        }
                    }
                }
                for (k, v) in map {
                    walk(&format!("{at}/{k}"), v, problems);
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    walk(&format!("{at}/{i}"), v, problems);
                }
            }
            _ => {}
        }
    }
    let mut problems = Vec::new();
    walk("", &schema(), &mut problems);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The defaults the schema states are the ones the parser applies.
#[test]
fn schema_defaults_are_the_parsers() {
    let s = schema();
    let default = |def: &str, field: &str| -> Value {
        s["$defs"][def]["properties"][field]["default"].clone()
    };
    let base = Path::new("/etc/articdbm");
    let c = Config::parse("", &base.join("gateway.toml")).unwrap();

    let srv = &c.server;
    assert_eq!(default("server", "listen"), json!(srv.listen.to_string()));
    let packs: Vec<PathBuf> = serde_json::from_value(default("server", "packs")).unwrap();
    let packs: Vec<PathBuf> = packs.iter().map(|p| base.join(p)).collect();
    assert_eq!(packs, srv.packs);
    let plugin_dir: PathBuf = serde_json::from_value(default("server", "plugin_dir")).unwrap();
    assert_eq!(base.join(plugin_dir), srv.plugin_dir);
    assert_eq!(
        default("server", "max_startup_bytes"),
        json!(srv.max_startup_bytes)
    );
    assert_eq!(
        default("server", "max_message_bytes"),
        json!(srv.max_message_bytes)
    );
    assert_eq!(
        default("server", "max_server_message_bytes"),
        json!(srv.max_server_message_bytes)
    );
    assert_eq!(
        default("server", "default_tenant"),
        json!(srv.default_tenant)
    );
    assert_eq!(
        default("server", "auth_timeout_secs"),
        json!(srv.auth_timeout_secs)
    );
    assert_eq!(default("server", "watch"), json!(srv.watch));
    assert_eq!(default("server", "spin_us"), json!(srv.spin_us));
    assert_eq!(
        default("server", "spin_under_quota"),
        json!(srv.spin_under_quota)
    );
    assert!(srv.admin_listen.is_none() && srv.tls.is_none() && srv.cache_dir.is_none());
    assert_eq!(default("serverTls", "required"), json!(false));

    let pool = PoolSettings::default();
    let mode = match pool.mode {
        PoolMode::Session => "session",
        PoolMode::Transaction => "transaction",
    };
    assert_eq!(default("pool", "mode"), json!(mode));
    assert_eq!(default("pool", "size"), json!(pool.size));
    assert_eq!(default("pool", "min_idle"), json!(pool.min_idle));
    assert_eq!(
        default("pool", "connect_timeout_ms"),
        json!(pool.connect_timeout_ms)
    );
    assert_eq!(
        default("pool", "queue_timeout_ms"),
        json!(pool.queue_timeout_ms)
    );
    assert_eq!(
        default("pool", "idle_timeout_secs"),
        json!(pool.idle_timeout_secs)
    );
    assert_eq!(
        default("pool", "max_lifetime_secs"),
        json!(pool.max_lifetime_secs)
    );
    assert_eq!(default("pool", "reset_query"), json!(pool.reset_query));
    assert_eq!(
        default("pool", "health_check_secs"),
        json!(pool.health_check_secs)
    );
    assert_eq!(
        default("pool", "max_prepared_statements"),
        json!(pool.max_prepared_statements)
    );
    assert_eq!(default("pool", "function_call"), json!("refuse"));
    assert_eq!(
        pool.function_call,
        articdbm_gateway::config::FunctionCallMode::Refuse
    );

    let c = Config::parse(
        "[[user]]\nname = \"u\"\npassword = \"p\"\n\
         [[database]]\nname = \"d\"\n[[database.backend]]\nhost = \"h\"\nport = 5432\n",
        &base.join("gateway.toml"),
    )
    .unwrap();
    let u = &c.users["u"];
    assert_eq!(default("user", "roles"), json!(u.roles));
    // Unset means every database, which is what ["*"] says.
    assert!(u.databases.is_none());
    assert_eq!(default("user", "databases"), json!(["*"]));
    assert_eq!(u.tenant, srv.default_tenant);
    let d = &c.databases["d"];
    assert_eq!(
        default("database", "read_write_split"),
        json!(d.read_write_split)
    );
    let Target::Postgres {
        backends,
        user,
        tls,
        ..
    } = &d.target
    else {
        panic!("d is on PostgreSQL");
    };
    assert_eq!(default("database", "server_user"), json!(user));
    let tls = match tls {
        TlsMode::Disable => "disable",
        TlsMode::Prefer => "prefer",
        TlsMode::Require => "require",
        TlsMode::VerifyFull => "verify-full",
    };
    assert_eq!(default("database", "tls"), json!(tls));
    assert_eq!(default("backend", "role"), json!("primary"));
    assert_eq!(backends[0].role, BackendRole::Primary);
    assert_eq!(default("backend", "weight"), json!(backends[0].weight));
}
