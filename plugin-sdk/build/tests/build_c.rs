//! Builds the repository's C plugins with clang for wasm32-wasi and checks the components.
//! Needs the toolchain: `apt-get install -y clang lld wasi-libc libclang-rt-14-dev-wasm32`.

use std::path::{Path, PathBuf};

use articdbm_plugin_build::{
    APT_PACKAGES, BuildError, BuildOptions, HOOKS_INTERFACE, build_c, build_c_with,
    component_interfaces, generate_bindings, repo_c_sdk_dir, repo_wit_dir,
};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn build(dir: &str, out: &Path) -> articdbm_plugin_build::BuildReport {
    match build_c(&repo().join(dir), out) {
        Ok(report) => report,
        Err(e) => panic!("building {dir}: {e}"),
    }
}

/// A component of the policy world: exports hooks and config, imports only the policy
/// interfaces and WASI 0.2 (no wasi:http, which the gateway does not link), and at least
/// `required` (wit-component drops the imports a plugin never calls).
fn assert_policy_component(bytes: &[u8], required: &[&str]) -> Vec<String> {
    assert_eq!(&bytes[..4], b"\0asm");
    // A component's layer field is 1 (a core module's is 0).
    assert_eq!(&bytes[4..8], &[0x0d, 0x00, 0x01, 0x00], "not a component");
    let (imports, exports) = component_interfaces(bytes).expect("decodes as a component");
    assert!(
        exports.iter().any(|e| e == HOOKS_INTERFACE),
        "exports: {exports:?}"
    );
    assert!(
        exports.iter().any(|e| e == "articdbm:policy/config@0.1.2"),
        "exports: {exports:?}"
    );
    for import in &imports {
        assert!(
            import.starts_with("articdbm:policy/") || import.starts_with("wasi:"),
            "unexpected import {import}"
        );
        assert!(!import.starts_with("wasi:http/"), "imports {import}");
    }
    for r in required {
        assert!(
            imports.iter().any(|i| i == r),
            "{r} not imported: {imports:?}"
        );
    }
    imports
}

#[test]
fn trivial_builds_into_a_policy_component() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("nested/trivial-c.wasm");
    let report = build("plugins/testing/polyglot/c/trivial", &out);
    let bytes = std::fs::read(&out).unwrap();
    assert_eq!(report.component_bytes, bytes.len() as u64);
    assert!(report.core_module_bytes > 0 && report.core_module_bytes < report.component_bytes);
    assert!(
        report.warnings.trim().is_empty(),
        "clang warned: {}",
        report.warnings
    );
    let imports = assert_policy_component(&bytes, &[]);
    // No host calls: no policy interface but the shared types.
    assert!(
        imports
            .iter()
            .all(|i| !i.starts_with("articdbm:") || i == "articdbm:policy/types@0.1.2"),
        "{imports:?}"
    );
    // Only the component is left beside it.
    let names: Vec<_> = std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["trivial-c.wasm".to_string()]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o644, "{mode:o}");
    }
    eprintln!(
        "trivial-c: {} bytes (core module {} bytes), clang {:?}, total {:?}",
        report.component_bytes, report.core_module_bytes, report.compile_time, report.total_time
    );
}

#[test]
fn every_c_plugin_of_the_repository_builds() {
    let dir = tempfile::tempdir().unwrap();
    let where_guard: &[&str] = &[
        "articdbm:policy/log@0.1.2",
        "articdbm:policy/clock@0.1.2",
        "articdbm:policy/kv@0.1.2",
        "articdbm:policy/metrics@0.1.2",
        "articdbm:policy/reuse@0.1.2",
    ];
    for (plugin, required) in [
        ("plugins/testing/polyglot/c/faults", &[][..]),
        ("examples/plugins/c-where-guard", where_guard),
    ] {
        let out = dir.path().join("p.wasm");
        let report = build(plugin, &out);
        assert_policy_component(&std::fs::read(&out).unwrap(), required);
        eprintln!(
            "{plugin}: {} bytes in {:?}",
            report.component_bytes, report.total_time
        );
    }
}

#[test]
fn the_repository_copies_of_wit_and_sdk_build_too() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("t.wasm");
    let opts = BuildOptions {
        wit_dir: Some(repo_wit_dir()),
        sdk_dir: Some(repo_c_sdk_dir()),
        ..BuildOptions::default()
    };
    build_c_with(
        &repo().join("plugins/testing/polyglot/c/trivial"),
        &out,
        &opts,
    )
    .unwrap();
    assert_policy_component(&std::fs::read(&out).unwrap(), &[]);
}

fn plugin_with(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.c"), source).unwrap();
    dir
}

#[test]
fn a_syntax_error_reports_clangs_diagnostic() {
    let plugin = plugin_with(
        "#include \"articdbm_policy.h\"\n\
         articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *c,\n\
                                                     const articdbm_query_t *q) {\n\
             return articdbm_allow()\n\
         }\n",
    );
    let out = plugin.path().join("out.wasm");
    let err = build_c(plugin.path(), &out).unwrap_err();
    assert!(matches!(err, BuildError::Compile { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("app.c:4:"), "{msg}");
    assert!(
        msg.contains("error: expected ';' after return statement"),
        "{msg}"
    );
    assert!(!out.exists());
}

#[test]
fn an_undefined_function_is_a_link_error() {
    let plugin = plugin_with(
        "#include \"articdbm_policy.h\"\n\
         int helper(void);\n\
         articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *c,\n\
                                                     const articdbm_query_t *q) {\n\
             return helper() ? articdbm_allow() : articdbm_deny(\"r\", \"x\");\n\
         }\n",
    );
    let err = build_c(plugin.path(), &plugin.path().join("out.wasm")).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("undefined symbol: helper"), "{msg}");
}

#[test]
fn an_implicit_declaration_is_an_error() {
    let plugin = plugin_with(
        "#include \"articdbm_policy.h\"\n\
         articdbm_verdict_t articdbm_policy_on_query(const articdbm_connection_t *c,\n\
                                                     const articdbm_query_t *q) {\n\
             return articdbm_alow();\n\
         }\n",
    );
    let msg = build_c(plugin.path(), &plugin.path().join("out.wasm"))
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("implicit declaration of function 'articdbm_alow'"),
        "{msg}"
    );
}

#[test]
fn a_missing_app_c_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let err = build_c(dir.path(), &dir.path().join("out.wasm")).unwrap_err();
    assert!(matches!(err, BuildError::MissingSource(_)), "{err:?}");
    assert!(err.to_string().contains("app.c does not exist"), "{err}");
    let err = build_c(&dir.path().join("nope"), &dir.path().join("out.wasm")).unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[test]
fn a_missing_clang_names_the_packages() {
    let opts = BuildOptions {
        clang: PathBuf::from("articdbm-no-such-clang"),
        ..BuildOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = build_c_with(
        &repo().join("plugins/testing/polyglot/c/trivial"),
        &dir.path().join("out.wasm"),
        &opts,
    )
    .unwrap_err();
    assert!(matches!(err, BuildError::ClangNotFound { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("articdbm-no-such-clang"), "{msg}");
    assert!(
        msg.contains(&format!("apt-get install -y {}", APT_PACKAGES.join(" "))),
        "{msg}"
    );
}

#[test]
fn a_missing_wasi_libc_names_the_package() {
    let opts = BuildOptions {
        sysroot: Some(PathBuf::from("/nonexistent-wasi-sysroot")),
        ..BuildOptions::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let err = build_c_with(
        &repo().join("plugins/testing/polyglot/c/trivial"),
        &dir.path().join("out.wasm"),
        &opts,
    )
    .unwrap_err();
    assert!(
        matches!(err, BuildError::ToolchainIncomplete { .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("Debian package wasi-libc") && msg.contains("WASI_SYSROOT"),
        "{msg}"
    );
}

#[test]
fn bindings_declare_the_exports_the_sdk_defines() {
    let dir = tempfile::tempdir().unwrap();
    let b = generate_bindings(None, "configurable-policy", dir.path()).unwrap();
    let header = std::fs::read_to_string(&b.header).unwrap();
    for f in [
        "exports_articdbm_policy_hooks_on_query",
        "exports_articdbm_policy_hooks_on_connect",
        "exports_articdbm_policy_config_configure",
    ] {
        assert!(header.contains(f), "{f} missing");
    }
    let err = generate_bindings(None, "no-such-world", dir.path()).unwrap_err();
    assert!(err.to_string().contains("no-such-world"), "{err}");
}
