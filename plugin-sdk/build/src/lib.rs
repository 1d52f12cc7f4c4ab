//! Builds ArticDBM policy plugins into WebAssembly components: [`build`] for any language
//! (Rust, Python, JavaScript/TypeScript, C; the code behind `articdbm-gateway plugin build`),
//! [`scaffold`] for `plugin new`, and the C toolchain itself, in-process.
//!
//! ## C
//!
//! [`build_c`] takes a plugin directory holding `app.c` (next to its `manifest.json`) and
//! writes a component for the world `articdbm:policy/configurable-policy@0.1.2`:
//!
//! 1. C bindings for the world are generated with `wit-bindgen-c` (the same wit-bindgen line
//!    as the Rust SDK's), with the object file that carries the world's type information;
//! 2. `app.c`, the C SDK (`plugin-sdk/c`) and the bindings are compiled and linked by clang for
//!    `wasm32-wasi` (WASI preview 1) as a reactor (`-mexec-model=reactor`), against Debian's
//!    `wasi-libc`;
//! 3. `wit-component` turns the core module into a component, adapting its WASI preview 1
//!    imports with Wasmtime's `wasi_snapshot_preview1` reactor adapter (the release matching the
//!    gateway's Wasmtime).
//!
//! The toolchain is Debian's: `apt-get install -y clang lld wasi-libc
//! libclang-rt-14-dev-wasm32` ([`APT_PACKAGES`]). `ARTICDBM_CLANG` names another clang and
//! `WASI_SYSROOT` another wasi-libc sysroot (a wasi-sdk install, say).
//!
//! The WIT package and the C SDK sources are compiled into this crate, so a binary using it
//! builds plugins without the repository at hand; [`BuildOptions`] can point at other copies.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use wit_parser::{PackageId, Resolve, WorldId};

mod dispatch;
mod scaffold;

pub use dispatch::{Built, Lang, PluginError, Sdk, build, build_into, check_name, manifest_name};
pub use scaffold::scaffold;

/// The world every C plugin is built for.
pub const WORLD: &str = "configurable-policy";

/// The exported interface that makes a component a policy.
pub const HOOKS_INTERFACE: &str = "articdbm:policy/hooks@0.1.2";

/// Debian / Ubuntu packages that provide the toolchain.
pub const APT_PACKAGES: &[&str] = &["clang", "lld", "wasi-libc", "libclang-rt-14-dev-wasm32"];

/// The entry file of a C plugin.
pub const APP_FILE: &str = "app.c";

/// The wit/v0.1.2 package, as compiled into this crate.
const EMBEDDED_WIT: &[(&str, &str)] =
    &[("policy.wit", include_str!("../../../wit/v0.1.2/policy.wit"))];

/// The C SDK, as compiled into this crate: (file name, contents).
const EMBEDDED_SDK: &[(&str, &str)] = &[
    (
        "articdbm_policy.h",
        include_str!("../../c/articdbm_policy.h"),
    ),
    (
        "articdbm_policy.c",
        include_str!("../../c/articdbm_policy.c"),
    ),
    ("articdbm_json.c", include_str!("../../c/articdbm_json.c")),
    ("articdbm_sql.c", include_str!("../../c/articdbm_sql.c")),
];

/// The SDK's C sources compiled into every plugin.
pub const SDK_SOURCES: &[&str] = &["articdbm_policy.c", "articdbm_json.c", "articdbm_sql.c"];

/// The repository's WIT package for the contract C plugins are built against (`wit/v0.1.2`).
pub fn repo_wit_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wit/v0.1.2")
}

/// The repository's C SDK directory (`plugin-sdk/c`).
pub fn repo_c_sdk_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../c")
}

/// What to build with. `Default` uses the embedded WIT and SDK, `clang` (or `$ARTICDBM_CLANG`)
/// and the compiler's own wasi-libc (or `--sysroot=$WASI_SYSROOT`).
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// A directory holding the WIT package; `None`: the copy of `wit/v0.1.2` in this crate.
    pub wit_dir: Option<PathBuf>,
    /// The world to build for.
    pub world: String,
    /// A directory holding the C SDK; `None`: the copy of `plugin-sdk/c` in this crate.
    pub sdk_dir: Option<PathBuf>,
    /// The clang to run.
    pub clang: PathBuf,
    /// `--sysroot` for wasi-libc; `None` lets clang find it (Debian: /usr/include/wasm32-wasi
    /// and /usr/lib/wasm32-wasi).
    pub sysroot: Option<PathBuf>,
    /// Extra clang arguments, after the SDK's.
    pub cflags: Vec<String>,
}

impl Default for BuildOptions {
    fn default() -> Self {
        BuildOptions {
            wit_dir: None,
            world: WORLD.to_string(),
            sdk_dir: None,
            clang: std::env::var_os("ARTICDBM_CLANG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("clang")),
            sysroot: std::env::var_os("WASI_SYSROOT")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
            cflags: Vec::new(),
        }
    }
}

/// What a successful build produced.
#[derive(Clone, Debug)]
pub struct BuildReport {
    /// The component written.
    pub out: PathBuf,
    /// Size of the component in bytes.
    pub component_bytes: u64,
    /// Size of the core module clang linked, before componentisation.
    pub core_module_bytes: u64,
    /// Time spent in clang (compile and link).
    pub compile_time: Duration,
    /// Time of the whole build.
    pub total_time: Duration,
    /// clang's warnings, if any (empty when it printed nothing).
    pub warnings: String,
}

/// Why a build failed. Every message names the problem and, for a missing toolchain, what to
/// install.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("plugin directory {0} does not exist")]
    MissingPluginDir(PathBuf),
    #[error(
        "{0} does not exist: a C plugin's source is app.c in the plugin directory, next to its manifest.json"
    )]
    MissingSource(PathBuf),
    #[error(
        "`{clang}` was not found: the C plugin toolchain is clang for wasm32-wasi; install it with \
         `apt-get install -y {packages}` (Debian/Ubuntu), or set ARTICDBM_CLANG to a clang that \
         targets wasm32-wasi",
        packages = APT_PACKAGES.join(" ")
    )]
    ClangNotFound { clang: PathBuf },
    #[error(
        "the wasm32-wasi toolchain is incomplete: {missing}; install it with `apt-get install -y {packages}` \
         (Debian/Ubuntu){sysroot_hint}\nclang said:\n{stderr}",
        packages = APT_PACKAGES.join(" "),
        sysroot_hint = if *.sysroot_set { ", or fix WASI_SYSROOT" } else { "" }
    )]
    ToolchainIncomplete {
        missing: String,
        sysroot_set: bool,
        stderr: String,
    },
    #[error("compiling {app} failed (clang --target=wasm32-wasi):\n{stderr}")]
    Compile { app: PathBuf, stderr: String },
    #[error("cannot run `{clang}`: {source}")]
    ClangFailed { clang: PathBuf, source: io::Error },
    #[error("WIT package {dir}: {message}")]
    Wit { dir: String, message: String },
    #[error("generating the C bindings failed: {0}")]
    Bindings(String),
    #[error("making a component of the core module failed: {0}")]
    Component(String),
    #[error("{context}: {source}")]
    Io { context: String, source: io::Error },
}

fn io_err(context: impl Into<String>) -> impl FnOnce(io::Error) -> BuildError {
    let context = context.into();
    move |source| BuildError::Io { context, source }
}

/// Builds the C plugin in `plugin_dir` (its `app.c`) into a component at `out`, with the
/// repository's contract and SDK as compiled into this crate.
pub fn build_c(plugin_dir: &Path, out: &Path) -> Result<BuildReport, BuildError> {
    build_c_with(plugin_dir, out, &BuildOptions::default())
}

/// [`build_c`] with explicit options.
pub fn build_c_with(
    plugin_dir: &Path,
    out: &Path,
    opts: &BuildOptions,
) -> Result<BuildReport, BuildError> {
    let started = Instant::now();
    if !plugin_dir.is_dir() {
        return Err(BuildError::MissingPluginDir(plugin_dir.to_path_buf()));
    }
    let app = plugin_dir.join(APP_FILE);
    if !app.is_file() {
        return Err(BuildError::MissingSource(app));
    }

    let work = tempfile::Builder::new()
        .prefix("articdbm-build-c-")
        .tempdir()
        .map_err(io_err("creating a temporary build directory"))?;
    let gen_dir = work.path().join("bindings");
    let bindings = generate_bindings(opts.wit_dir.as_deref(), &opts.world, &gen_dir)?;

    let sdk_dir = match &opts.sdk_dir {
        Some(dir) => dir.clone(),
        None => {
            let dir = work.path().join("sdk");
            write_embedded_sdk(&dir)?;
            dir
        }
    };
    for file in SDK_SOURCES {
        let path = sdk_dir.join(file);
        if !path.is_file() {
            return Err(BuildError::Io {
                context: format!("C SDK file {}", path.display()),
                source: io::Error::new(io::ErrorKind::NotFound, "missing"),
            });
        }
    }

    let core = work.path().join("core.wasm");
    let mut cmd = Command::new(&opts.clang);
    cmd.arg("--target=wasm32-wasi")
        .arg("-mexec-model=reactor")
        .arg("-O2")
        .arg("-std=gnu11")
        .arg("-fdiagnostics-color=never")
        .arg("-Wall")
        .arg("-Werror=implicit-function-declaration")
        .arg("-Werror=int-conversion")
        .arg("-Werror=incompatible-pointer-types")
        .arg("-Werror=return-type");
    if let Some(sysroot) = &opts.sysroot {
        cmd.arg(format!("--sysroot={}", sysroot.display()));
    }
    cmd.arg("-I").arg(plugin_dir);
    cmd.arg("-I").arg(&sdk_dir);
    cmd.arg("-I").arg(&gen_dir);
    cmd.args(&opts.cflags);
    cmd.arg(&app);
    for file in SDK_SOURCES {
        cmd.arg(sdk_dir.join(file));
    }
    cmd.arg(&bindings.c).arg(&bindings.object);
    // Smaller components: no debug sections; the name section stays for trap backtraces.
    cmd.arg("-Wl,--strip-debug");
    cmd.arg("-o").arg(&core);

    let compile_started = Instant::now();
    let output = match cmd.output() {
        Ok(output) => output,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(BuildError::ClangNotFound {
                clang: opts.clang.clone(),
            });
        }
        Err(source) => {
            return Err(BuildError::ClangFailed {
                clang: opts.clang.clone(),
                source,
            });
        }
    };
    let compile_time = compile_started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    if !output.status.success() {
        if let Some(missing) = missing_toolchain_part(&stderr) {
            return Err(BuildError::ToolchainIncomplete {
                missing,
                sysroot_set: opts.sysroot.is_some(),
                stderr,
            });
        }
        return Err(BuildError::Compile { app, stderr });
    }

    let module = std::fs::read(&core).map_err(io_err("reading the linked core module"))?;
    let component = componentize(&module)?;

    let parent = match out.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => {
            std::fs::create_dir_all(parent)
                .map_err(io_err(format!("creating {}", parent.display())))?;
            parent
        }
        None => Path::new("."),
    };
    // Written beside the target and renamed, so a gateway watching the directory never loads
    // a half-written file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".articdbm-build-c-")
        .suffix(".tmp")
        .tempfile_in(parent)
        .map_err(io_err(format!("creating a file in {}", parent.display())))?;
    std::io::Write::write_all(&mut tmp, &component)
        .map_err(io_err(format!("writing {}", tmp.path().display())))?;
    // Temporary files are private (0600); a component is read by the gateway's user.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644)).map_err(
            io_err(format!("setting the mode of {}", tmp.path().display())),
        )?;
    }
    tmp.persist(out).map_err(|e| BuildError::Io {
        context: format!("writing {}", out.display()),
        source: e.error,
    })?;

    Ok(BuildReport {
        out: out.to_path_buf(),
        component_bytes: component.len() as u64,
        core_module_bytes: module.len() as u64,
        compile_time,
        total_time: started.elapsed(),
        warnings: stderr,
    })
}

/// What part of the toolchain a failed clang run lacked, judging by its messages.
fn missing_toolchain_part(stderr: &str) -> Option<String> {
    if stderr.contains("wasm-ld")
        && (stderr.contains("doesn't exist") || stderr.contains("not found"))
    {
        return Some("the linker wasm-ld is missing (Debian package lld)".into());
    }
    if stderr.contains("libclang_rt.builtins-wasm32.a") {
        return Some(
            "compiler-rt builtins for wasm32 are missing (Debian package libclang-rt-14-dev-wasm32)"
                .into(),
        );
    }
    let libc_header = [
        "stdlib.h",
        "string.h",
        "stdio.h",
        "stdint.h",
        "stddef.h",
        "stdbool.h",
        "ctype.h",
        "stdarg.h",
    ]
    .iter()
    .any(|h| stderr.contains(&format!("'{h}' file not found")));
    if libc_header
        || stderr.contains("crt1-reactor.o")
        || stderr.contains("unable to find library -lc")
        || stderr.contains("cannot open crt1")
    {
        return Some(
            "wasi-libc (headers and libc.a for wasm32-wasi) is missing (Debian package wasi-libc)"
                .into(),
        );
    }
    if stderr.contains("unknown target triple") || stderr.contains("No available targets") {
        return Some("this clang cannot target wasm32".into());
    }
    None
}

/// Paths of the generated bindings.
#[derive(Clone, Debug)]
pub struct Bindings {
    /// `<world>.h`
    pub header: PathBuf,
    /// `<world>.c`
    pub c: PathBuf,
    /// `<world>_component_type.o`: a wasm object whose custom section carries the world's
    /// type information, read back by wit-component.
    pub object: PathBuf,
}

/// Loads the WIT package (`None`: the embedded copy of wit/v0.1.2) and selects `world`.
pub fn load_world(wit_dir: Option<&Path>, world: &str) -> Result<(Resolve, WorldId), BuildError> {
    let mut resolve = Resolve::default();
    let (dir_name, pkg): (String, Result<PackageId, _>) = match wit_dir {
        Some(dir) => (
            dir.display().to_string(),
            resolve.push_dir(dir).map(|(pkg, _)| pkg),
        ),
        None => {
            let (name, text) = EMBEDDED_WIT[0];
            (
                "wit/v0.1.2 (built in)".to_string(),
                resolve.push_str(name, text),
            )
        }
    };
    let pkg = pkg.map_err(|e| BuildError::Wit {
        dir: dir_name.clone(),
        message: format!("{e:#}"),
    })?;
    let world = resolve
        .select_world(&[pkg], Some(world))
        .map_err(|e| BuildError::Wit {
            dir: dir_name,
            message: format!("{e:#}"),
        })?;
    Ok((resolve, world))
}

/// Generates the C bindings for `world` into `out_dir` (created if needed).
pub fn generate_bindings(
    wit_dir: Option<&Path>,
    world: &str,
    out_dir: &Path,
) -> Result<Bindings, BuildError> {
    let (mut resolve, world_id) = load_world(wit_dir, world)?;
    let mut files = wit_bindgen_core::Files::default();
    let opts = wit_bindgen_c::Opts::default();
    opts.build()
        .generate(&mut resolve, world_id, &mut files)
        .map_err(|e| BuildError::Bindings(format!("{e:#}")))?;
    std::fs::create_dir_all(out_dir).map_err(io_err(format!("creating {}", out_dir.display())))?;
    let mut header = None;
    let mut c = None;
    let mut object = None;
    for (name, bytes) in files.iter() {
        let path = out_dir.join(name);
        std::fs::write(&path, bytes).map_err(io_err(format!("writing {}", path.display())))?;
        if name.ends_with("_component_type.o") {
            object = Some(path);
        } else if name.ends_with(".h") {
            header = Some(path);
        } else if name.ends_with(".c") {
            c = Some(path);
        }
    }
    match (header, c, object) {
        (Some(header), Some(c), Some(object)) => Ok(Bindings { header, c, object }),
        _ => Err(BuildError::Bindings(format!(
            "wit-bindgen-c produced {:?}, expected a .h, a .c and a _component_type.o",
            files.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>()
        ))),
    }
}

/// Writes the embedded C SDK (header and sources) into `dir`.
pub fn write_embedded_sdk(dir: &Path) -> Result<(), BuildError> {
    std::fs::create_dir_all(dir).map_err(io_err(format!("creating {}", dir.display())))?;
    for (name, text) in EMBEDDED_SDK {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(io_err(format!("writing {}", path.display())))?;
    }
    Ok(())
}

/// Makes a component of a core module that carries its world in a `component-type` custom
/// section, adapting WASI preview 1 imports with the reactor adapter.
pub fn componentize(module: &[u8]) -> Result<Vec<u8>, BuildError> {
    use wasi_preview1_component_adapter_provider::{
        WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME, WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
    };
    let mut encoder = wit_component::ComponentEncoder::default();
    encoder.validate(true);
    encoder
        .module(module)
        .map_err(|e| BuildError::Component(format!("{e:#}")))?;
    encoder
        .adapter(
            WASI_SNAPSHOT_PREVIEW1_ADAPTER_NAME,
            WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER,
        )
        .map_err(|e| BuildError::Component(format!("{e:#}")))?;
    encoder
        .encode()
        .map_err(|e| BuildError::Component(format!("{e:#}")))
}

/// The interfaces a component imports and exports, by name (`articdbm:policy/hooks@0.1.2`,
/// `wasi:cli/environment@0.2.x`...), read back with wit-component.
pub fn component_interfaces(component: &[u8]) -> Result<(Vec<String>, Vec<String>), String> {
    let (resolve, world) = match wit_component::decode(component).map_err(|e| format!("{e:#}"))? {
        wit_component::DecodedWasm::Component(resolve, world) => (resolve, world),
        wit_component::DecodedWasm::WitPackage(..) => {
            return Err("a WIT package, not a component".to_string());
        }
    };
    let world = &resolve.worlds[world];
    let name = |key: &wit_parser::WorldKey| resolve.name_world_key(key);
    let imports = world.imports.keys().map(name).collect();
    let exports = world.exports.keys().map(name).collect();
    Ok((imports, exports))
}

/// One line describing a report, as build.sh prints it.
pub fn summary(report: &BuildReport) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "built {} ({} bytes)",
        report.out.display(),
        report.component_bytes
    );
    s
}

#[cfg(test)]
mod tests {
    use super::missing_toolchain_part;

    #[test]
    fn toolchain_gaps_are_told_apart_from_compile_errors() {
        let part = |s: &str| missing_toolchain_part(s).unwrap_or_default();
        assert!(
            part("clang: error: unable to execute command: Executable \"wasm-ld\" doesn't exist!")
                .contains("lld")
        );
        assert!(part("wasm-ld: error: cannot open /usr/lib/llvm-14/lib/clang/14.0.6/lib/wasi/libclang_rt.builtins-wasm32.a: No such file or directory").contains("libclang-rt-14-dev-wasm32"));
        assert!(part("x.c:1:10: fatal error: 'stdlib.h' file not found").contains("wasi-libc"));
        assert!(
            part("wasm-ld: error: cannot open crt1-reactor.o: No such file or directory")
                .contains("wasi-libc")
        );
        assert_eq!(
            missing_toolchain_part("app.c:1:10: fatal error: 'mine.h' file not found"),
            None
        );
        assert_eq!(
            missing_toolchain_part("wasm-ld-14: error: app.o: undefined symbol: helper"),
            None
        );
        assert_eq!(
            missing_toolchain_part("app.c:3:5: error: expected ';'"),
            None
        );
    }
}
