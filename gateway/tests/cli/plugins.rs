//! `articdbm-gateway plugin new` and `plugin build` in every language, as a plugin author runs
//! them: a skeleton written, built with the language's toolchain, and its verdicts checked by
//! `policy test`; the errors an author meets name the problem.

use std::path::Path;
use std::process::{Command, Output};

fn gateway() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_articdbm-gateway"));
    c.env_remove("ARTICDBM_PLUGIN_DIR")
        .env_remove("ARTICDBM_SDK_DIR");
    // Rust skeletons share one target directory across runs (their dependencies compile once).
    c.env(
        "ARTICDBM_PLUGIN_CARGO_TARGET_DIR",
        Path::new(env!("CARGO_TARGET_TMPDIR")).join("rust-plugin-skeletons"),
    );
    c
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the gateway binary runs")
}

fn policy_test(plugins: &Path, pack: &Path, input: &Path) -> Vec<serde_json::Value> {
    let out = run(gateway()
        .args(["policy", "test", "--plugins"])
        .arg(plugins)
        .arg("--pack")
        .arg(pack)
        .arg("--input")
        .arg(input));
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The skeleton of `lang`: written, built, and judged by `policy test` on its own traffic.
fn skeleton(lang: &str) {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("my-{lang}-policy");
    let dir = tmp.path().join(&name);
    let out = run(gateway()
        .args(["plugin", "new", "--lang", lang, &name, "--dir"])
        .arg(&dir));
    assert!(out.status.success(), "{lang}: {}", text(&out));
    assert!(text(&out).contains("plugin build"), "{}", text(&out));
    let out = run(gateway().args(["plugin", "build"]).arg(&dir));
    assert!(out.status.success(), "{lang}: {}", text(&out));
    let wasm = dir.join("dist").join(format!("{name}.wasm"));
    let bytes = std::fs::read(&wasm).unwrap();
    assert_eq!(&bytes[..4], b"\0asm", "{lang}: a WebAssembly file");
    assert!(dir.join("dist").join(format!("{name}.json")).is_file());
    let verdicts = policy_test(
        &dir.join("dist"),
        &dir.join("pack.toml"),
        &dir.join("traffic.jsonl"),
    );
    let got: Vec<(String, String)> = verdicts
        .iter()
        .map(|v| {
            (
                v["verdict"].as_str().unwrap_or("").to_string(),
                v["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            ("allow".into(), String::new()),
            ("deny".into(), "app may not DROP".into()),
            ("allow".into(), String::new()),
        ],
        "{lang}: {verdicts:?}"
    );
    assert_eq!(verdicts[1]["rule"], format!("{name}.drop"), "{lang}");
}

#[test]
fn a_python_skeleton_builds_and_refuses_drop() {
    skeleton("python");
}

#[test]
fn a_javascript_skeleton_builds_and_refuses_drop() {
    skeleton("js");
}

#[test]
fn a_c_skeleton_builds_and_refuses_drop() {
    skeleton("c");
}

#[test]
fn a_rust_skeleton_builds_and_refuses_drop() {
    skeleton("rust");
}

#[test]
fn plugin_new_and_build_name_what_is_wrong() {
    let tmp = tempfile::tempdir().unwrap();
    // A name packs could not bind.
    let out = run(gateway()
        .args(["plugin", "new", "--lang", "c", "No_Good", "--dir"])
        .arg(tmp.path().join("x")));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("invalid plugin name \"No_Good\""),
        "{}",
        text(&out)
    );
    // An existing directory is never overwritten.
    let out = run(gateway()
        .args(["plugin", "new", "--lang", "c", "fine", "--dir"])
        .arg(tmp.path()));
    assert!(!out.status.success());
    assert!(text(&out).contains("already exists"), "{}", text(&out));
    // A directory with no entry file.
    let empty = tmp.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let out = run(gateway().args(["plugin", "build"]).arg(&empty));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("cannot tell the plugin's language"),
        "{}",
        text(&out)
    );
    // A C syntax error: clang's diagnostic, with the file and line.
    let c = tmp.path().join("broken-c");
    let out = run(gateway()
        .args(["plugin", "new", "--lang", "c", "broken-c", "--dir"])
        .arg(&c));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(
        c.join("app.c"),
        "#include \"articdbm_policy.h\"\nint x = ;\n",
    )
    .unwrap();
    let out = run(gateway().args(["plugin", "build"]).arg(&c));
    assert!(!out.status.success());
    assert!(
        text(&out).contains("app.c:2") && text(&out).contains("error"),
        "{}",
        text(&out)
    );
    // A Python syntax error names app.py.
    let py = tmp.path().join("broken-py");
    let out = run(gateway()
        .args(["plugin", "new", "--lang", "python", "broken-py", "--dir"])
        .arg(&py));
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(py.join("app.py"), "def on_query(:\n").unwrap();
    let out = run(gateway().args(["plugin", "build"]).arg(&py));
    assert!(!out.status.success());
    assert!(text(&out).contains("app.py"), "{}", text(&out));
    // A manifest without a usable name.
    std::fs::write(c.join("manifest.json"), "{\"version\": \"1.0.0\"}").unwrap();
    let out = run(gateway().args(["plugin", "build"]).arg(&c));
    assert!(!out.status.success());
    assert!(text(&out).contains("no \"name\""), "{}", text(&out));
}

/// componentize-js imports `wasi:http` unless told not to; the gateway gives plugins no
/// network, and says which import it refuses and how to build without it.
#[test]
fn a_component_importing_wasi_http_is_refused_with_how_to_build_without_it() {
    let tmp = tempfile::tempdir().unwrap();
    let src =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins/testing/polyglot/js/with-http");
    let out = run(gateway()
        .args(["plugin", "build"])
        .arg(&src)
        .arg("--out-dir")
        .arg(tmp.path().join("plugins")));
    assert!(out.status.success(), "{}", text(&out));
    let pack = tmp.path().join("pack.toml");
    std::fs::write(
        &pack,
        "version = 1\nname = \"b\"\nkind = \"baseline\"\n[[binding]]\nid = \"h\"\nplugin = \"with-http-js\"\n",
    )
    .unwrap();
    let out = run(gateway()
        .args(["policy", "check", "--pack"])
        .arg(&pack)
        .arg("--plugins")
        .arg(tmp.path().join("plugins")));
    assert!(!out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("`wasi:http/"), "{t}");
    assert!(t.contains("which the gateway does not provide"), "{t}");
    assert!(t.contains("-d http -d fetch-event"), "{t}");
}

/// Each language's example, built with `plugin build` and run by `policy test` on its own
/// captured traffic: the verdicts its README documents, line by line.
#[test]
fn the_examples_give_their_documented_verdicts_under_policy_test() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/plugins");
    // The verdict and rule of each line; None where the verdict depends on the time of day.
    type Expected = Vec<Option<(&'static str, &'static str)>>;
    let cases: [(&str, Expected); 3] = [
        (
            "python-business-hours",
            vec![
                Some(("allow", "")),
                Some(("deny", "hours.closed")),
                Some(("allow", "")),
                None,
                Some(("deny", "hours.closed")),
            ],
        ),
        (
            "js-daily-budget",
            vec![
                Some(("allow", "")),
                Some(("allow", "")),
                Some(("allow", "")),
                Some(("allow", "")),
                Some(("audit", "budget.warning")),
                Some(("deny", "budget.exhausted")),
                Some(("deny", "budget.exhausted")),
                Some(("allow", "")),
                Some(("allow", "")),
                Some(("allow", "")),
            ],
        ),
        (
            "c-where-guard",
            vec![
                Some(("allow", "")),
                Some(("deny", "where.missing")),
                Some(("deny", "where.missing")),
                Some(("deny", "where.missing")),
                Some(("allow", "")),
                Some(("audit", "where.missing")),
                Some(("allow", "")),
                Some(("allow", "")),
                Some(("deny", "where.missing")),
            ],
        ),
    ];
    for (example, want) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let dir = root.join(example);
        let out = run(gateway()
            .args(["plugin", "build"])
            .arg(&dir)
            .arg("--out-dir")
            .arg(tmp.path()));
        assert!(out.status.success(), "{example}: {}", text(&out));
        let verdicts = policy_test(
            tmp.path(),
            &dir.join("pack.toml"),
            &dir.join("traffic.jsonl"),
        );
        assert_eq!(verdicts.len(), want.len(), "{example}: {verdicts:?}");
        for (i, (v, w)) in verdicts.iter().zip(&want).enumerate() {
            let Some((verdict, rule)) = w else { continue };
            let got_rule = v["rule"]
                .as_str()
                .or_else(|| v["findings"][0]["rule"].as_str())
                .unwrap_or("");
            assert_eq!(
                (v["verdict"].as_str().unwrap_or(""), got_rule),
                (*verdict, *rule),
                "{example} line {}: {v}",
                i + 1
            );
        }
    }
}
