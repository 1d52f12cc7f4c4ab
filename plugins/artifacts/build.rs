//! Builds the plugin components with a nested `cargo build --target wasm32-wasip2` (its own
//! target directory, so it never waits on the outer build's lock), then copies each component
//! and its manifest into `target/plugins/` and writes their paths as constants.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// (file stem, cargo package, crate dir relative to the workspace, extra features, tag)
const PLUGINS: &[(&str, &str, &str, &str)] = &[
    (
        "sqli-guard",
        "articdbm-plugin-sqli-guard",
        "plugins/sqli-guard",
        "",
    ),
    ("acl", "articdbm-plugin-acl", "plugins/acl", ""),
    ("network", "articdbm-plugin-network", "plugins/network", ""),
    (
        "rate-limit",
        "articdbm-plugin-rate-limit",
        "plugins/rate-limit",
        "",
    ),
    (
        "threat-match",
        "articdbm-plugin-threat-match",
        "plugins/threat-match",
        "",
    ),
    ("feed-stix", "articdbm-feed-stix", "plugins/feed-stix", ""),
    (
        "feed-openioc",
        "articdbm-feed-openioc",
        "plugins/feed-openioc",
        "",
    ),
    ("feed-misp", "articdbm-feed-misp", "plugins/feed-misp", ""),
    ("trap", "articdbm-test-trap", "plugins/testing/trap", ""),
    ("spin", "articdbm-test-spin", "plugins/testing/spin", ""),
    ("hog", "articdbm-test-hog", "plugins/testing/hog", ""),
    ("echo", "articdbm-test-echo", "plugins/testing/echo", ""),
    (
        "legacy",
        "articdbm-test-legacy",
        "plugins/testing/legacy",
        "",
    ),
    (
        "trivial-rust",
        "articdbm-test-trivial-rust",
        "plugins/testing/polyglot/rust/trivial",
        "",
    ),
    (
        "echo-v2",
        "articdbm-test-echo",
        "plugins/testing/echo",
        "v2",
    ),
];

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets this"));
    let root = manifest_dir
        .parent()
        .and_then(Path::parent)
        .expect("plugins/artifacts sits two levels below the workspace root")
        .to_path_buf();
    for dir in [
        "wit",
        "plugin-sdk/src",
        "plugin-sdk/Cargo.toml",
        "plugin-sdk/feed",
        "gateway/facts/src",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    for (_, _, dir, _) in PLUGINS {
        println!("cargo:rerun-if-changed={}", root.join(dir).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        root.join("Cargo.lock").display()
    );

    check_target();

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // First-party plugins, loaded by a running gateway; the hostile and probe components of
    // the runtime tests live apart so that no gateway ever loads them by accident.
    let out_plugins = root.join("target/plugins");
    let out_test_plugins = root.join("target/test-plugins");
    // Feed parsers are not policies: a gateway's plugin directory must not hold them.
    let out_feed_parsers = root.join("target/feed-parsers");
    fs::create_dir_all(&out_plugins).expect("create target/plugins");
    fs::create_dir_all(&out_feed_parsers).expect("create target/feed-parsers");
    fs::create_dir_all(&out_test_plugins).expect("create target/test-plugins");
    let mut consts = String::new();

    // Group by feature set: one nested cargo invocation per distinct feature list.
    let mut feature_sets: Vec<&str> = PLUGINS.iter().map(|p| p.3).collect();
    feature_sets.dedup();
    for features in feature_sets {
        let target_dir = if features.is_empty() {
            root.join("target/wasm-plugins")
        } else {
            root.join(format!("target/wasm-plugins-{features}"))
        };
        let mut cmd = Command::new(&cargo);
        cmd.current_dir(&root)
            .args([
                "build",
                "--release",
                "--target",
                "wasm32-wasip2",
                "--target-dir",
            ])
            .arg(&target_dir);
        for (_, pkg, _, f) in PLUGINS.iter().filter(|p| p.3 == features) {
            cmd.args(["-p", pkg]);
            let _ = f;
        }
        if !features.is_empty() {
            cmd.args(["--features", features]);
        }
        cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false")
            .env("CARGO_PROFILE_RELEASE_STRIP", "true")
            .env("CARGO_PROFILE_RELEASE_LTO", "true")
            .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
        // The outer build's flags and wrappers (clippy, coverage) must not leak into the
        // wasm build.
        for var in [
            "CARGO_ENCODED_RUSTFLAGS",
            "RUSTFLAGS",
            "CARGO_BUILD_RUSTFLAGS",
            "CARGO_TARGET_DIR",
            "RUSTC_WORKSPACE_WRAPPER",
            "CARGO_BUILD_TARGET",
            "CARGO_PRIMARY_PACKAGE",
        ] {
            cmd.env_remove(var);
        }
        let status = cmd
            .status()
            .unwrap_or_else(|e| panic!("could not run {cargo} to build plugins: {e}"));
        if !status.success() {
            panic!(
                "building plugins for wasm32-wasip2 failed (features: {features:?}); see the output above"
            );
        }
        for (stem, pkg, dir, _) in PLUGINS.iter().filter(|p| p.3 == features) {
            let out_plugins = if dir.starts_with("plugins/testing/") {
                &out_test_plugins
            } else if dir.starts_with("plugins/feed-") {
                &out_feed_parsers
            } else {
                &out_plugins
            };
            // An older layout kept test components beside the real ones: remove them.
            if dir.starts_with("plugins/testing/") {
                let _ = fs::remove_file(root.join("target/plugins").join(format!("{stem}.wasm")));
                let _ = fs::remove_file(root.join("target/plugins").join(format!("{stem}.json")));
            }
            let built = target_dir
                .join("wasm32-wasip2/release")
                .join(format!("{}.wasm", pkg.replace('-', "_")));
            let dest = out_plugins.join(format!("{stem}.wasm"));
            copy_if_changed(&built, &dest);
            let manifest = root.join(dir).join("manifest.json");
            let mut text = fs::read_to_string(&manifest)
                .unwrap_or_else(|e| panic!("reading {}: {e}", manifest.display()));
            if *stem == "echo-v2" {
                text = text.replacen("\"name\": \"echo\"", "\"name\": \"echo-v2\"", 1);
            }
            let dest_manifest = out_plugins.join(format!("{stem}.json"));
            if fs::read_to_string(&dest_manifest).ok().as_deref() != Some(text.as_str()) {
                fs::write(&dest_manifest, text).expect("write manifest");
            }
            let ident = stem.replace('-', "_").to_uppercase();
            writeln!(
                consts,
                "/// Path of the `{stem}` component.\npub const {ident}: &str = {:?};",
                dest.display().to_string()
            )
            .expect("write to string");
            writeln!(
                consts,
                "/// Path of the `{stem}` manifest.\npub const {ident}_MANIFEST: &str = {:?};",
                dest_manifest.display().to_string()
            )
            .expect("write to string");
            if dir.starts_with("plugins/feed-") {
                // The manager embeds the built-in feed parsers.
                writeln!(
                    consts,
                    "/// The `{stem}` component's bytes.\npub static {ident}_WASM: &[u8] = include_bytes!({:?});\n/// The `{stem}` manifest's text.\npub static {ident}_MANIFEST_JSON: &str = include_str!({:?});",
                    dest.display().to_string(),
                    dest_manifest.display().to_string()
                )
                .expect("write to string");
            }
        }
    }
    writeln!(
        consts,
        "/// The directory holding the first-party plugin components and their manifests.\npub const PLUGIN_DIR: &str = {:?};",
        out_plugins.display().to_string()
    )
    .expect("write to string");
    writeln!(
        consts,
        "/// The directory holding the feed-parser components (feed-stix, feed-openioc, feed-misp).\npub const FEED_PARSER_DIR: &str = {:?};",
        out_feed_parsers.display().to_string()
    )
    .expect("write to string");
    writeln!(
        consts,
        "/// The directory holding the test components (trap, spin, hog, echo, echo-v2, legacy).\npub const TEST_PLUGIN_DIR: &str = {:?};",
        out_test_plugins.display().to_string()
    )
    .expect("write to string");
    let out = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("paths.rs");
    fs::write(out, consts).expect("write paths.rs");
}

fn copy_if_changed(from: &Path, to: &Path) {
    let new =
        fs::read(from).unwrap_or_else(|e| panic!("built plugin {} missing: {e}", from.display()));
    if fs::read(to).ok().as_deref() != Some(new.as_slice()) {
        // Write then rename, so a watcher never sees a half-written component.
        let tmp = to.with_extension("wasm.tmp");
        fs::write(&tmp, &new).expect("write plugin");
        fs::rename(&tmp, to).expect("rename plugin");
    }
}

fn check_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let out = Command::new(rustc)
        .args(["--print", "target-libdir", "--target", "wasm32-wasip2"])
        .output();
    let ok = match out {
        Ok(o) if o.status.success() => {
            let dir = String::from_utf8_lossy(&o.stdout).trim().to_string();
            Path::new(&dir).exists()
        }
        _ => false,
    };
    if !ok {
        panic!(
            "the wasm32-wasip2 target is not installed; run `rustup target add wasm32-wasip2` \
             (scripts/test.sh does this for you)"
        );
    }
}
