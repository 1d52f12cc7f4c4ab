//! A temporary plugin directory and pack files, and an engine over them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use articdbm_runtime::bindings::{Connection, Protocol};
use articdbm_runtime::host::HostServices;
use articdbm_runtime::indicators::{IndicatorStore, NoIndicators};
use articdbm_runtime::kv::MemoryKv;
use articdbm_runtime::metrics::Metrics;
use articdbm_runtime::reload::{ReloadReport, Reloader, Sources, StartError};
use articdbm_runtime::{Decision, PolicyEngine, Runtime, RuntimeConfig, StatementContext};

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub reloader: Arc<Reloader>,
    pub report: ReloadReport,
}

pub fn plugin_dir(dir: &Path) -> PathBuf {
    dir.join("plugins")
}

/// Copies the built component `name` (and its manifest) into `dir/plugins` as `as_name`.
pub fn install(dir: &Path, name: &str, as_name: &str) {
    let first_party = Path::new(articdbm_plugin_artifacts::PLUGIN_DIR);
    let src = if first_party.join(format!("{name}.wasm")).exists() {
        first_party
    } else {
        Path::new(articdbm_plugin_artifacts::TEST_PLUGIN_DIR)
    };
    let dst = plugin_dir(dir);
    std::fs::create_dir_all(&dst).unwrap();
    let bytes = std::fs::read(src.join(format!("{name}.wasm"))).unwrap();
    let tmp = dst.join(format!("{as_name}.wasm.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    let manifest = std::fs::read_to_string(src.join(format!("{name}.json"))).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    m["name"] = serde_json::Value::String(as_name.to_string());
    std::fs::write(dst.join(format!("{as_name}.json")), m.to_string()).unwrap();
    std::fs::rename(tmp, dst.join(format!("{as_name}.wasm"))).unwrap();
}

/// Sets a manifest field of an installed plugin.
pub fn set_manifest(dir: &Path, name: &str, pointer: &str, value: serde_json::Value) {
    let path = plugin_dir(dir).join(format!("{name}.json"));
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let key = pointer.trim_start_matches('/');
    m[key] = value;
    std::fs::write(path, m.to_string()).unwrap();
}

pub fn write_pack(dir: &Path, file: &str, text: &str) -> PathBuf {
    let packs = dir.join("packs");
    std::fs::create_dir_all(&packs).unwrap();
    let p = packs.join(file);
    std::fs::write(&p, text).unwrap();
    p
}

pub fn runtime(indicators: Box<dyn IndicatorStore>) -> Arc<Runtime> {
    let services = Arc::new(HostServices::new(
        Arc::new(MemoryKv::new(10_000)),
        indicators,
        Arc::new(Metrics::new()),
    ));
    Arc::new(
        Runtime::new(
            RuntimeConfig {
                max_instances: 48,
                max_memory_mib: 64,
                // Shared by every test of the run: each component is compiled once.
                cache_dir: Some(Path::new(env!("CARGO_TARGET_TMPDIR")).join("component-cache")),
                ..RuntimeConfig::default()
            },
            services,
        )
        .expect("runtime"),
    )
}

impl Fixture {
    /// Installs `plugins` (built names) and writes `packs` (file name, TOML), then starts.
    pub fn new(plugins: &[&str], packs: &[(&str, &str)]) -> Fixture {
        Self::try_new(plugins, packs, Box::new(NoIndicators)).expect("fixture starts")
    }

    pub fn try_new(
        plugins: &[&str],
        packs: &[(&str, &str)],
        indicators: Box<dyn IndicatorStore>,
    ) -> Result<Fixture, (tempfile::TempDir, StartError)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(plugin_dir(dir.path())).unwrap();
        for p in plugins {
            install(dir.path(), p, p);
        }
        for (f, t) in packs {
            write_pack(dir.path(), f, t);
        }
        std::fs::create_dir_all(dir.path().join("packs")).unwrap();
        let sources = Sources {
            plugin_dir: plugin_dir(dir.path()),
            packs: vec![dir.path().join("packs")],
        };
        match Reloader::start(runtime(indicators), sources, 1000) {
            Ok((reloader, report)) => Ok(Fixture {
                dir,
                reloader,
                report,
            }),
            Err(e) => Err((dir, e)),
        }
    }

    pub fn engine(&self) -> &Arc<PolicyEngine> {
        self.reloader.engine()
    }

    pub fn query(&self, conn: &Connection, sql: &str) -> Decision {
        self.engine()
            .evaluate_sql(conn, sql, &StatementContext::default())
    }

    pub fn connect(&self, conn: &Connection) -> Decision {
        self.engine().evaluate_connect(conn)
    }

    pub fn metrics(&self) -> String {
        self.engine().runtime().services().metrics.render()
    }
}

pub fn conn(tenant: &str, user: &str) -> Connection {
    Connection {
        id: 7,
        tenant: tenant.into(),
        user: user.into(),
        roles: vec![],
        database: "app".into(),
        client_addr: "127.0.0.1".into(),
        client_port: 40000,
        tls: false,
        protocol: Protocol::Postgres,
        application_name: None,
        account_expires_at: None,
    }
}

/// A baseline pack binding `plugin` with `extra` TOML lines appended to the binding.
pub fn baseline(plugin: &str, extra: &str) -> String {
    format!(
        "version = 1\nname = \"base\"\nkind = \"baseline\"\n\n[[binding]]\nid = \"{plugin}\"\nplugin = \"{plugin}\"\n{extra}\n"
    )
}

pub fn rule(d: &Decision) -> Option<&str> {
    d.denied.as_ref().map(|h| h.rule.as_str())
}

pub fn reason(d: &Decision) -> String {
    d.denied
        .as_ref()
        .map(|h| h.reason.clone())
        .unwrap_or_default()
}
