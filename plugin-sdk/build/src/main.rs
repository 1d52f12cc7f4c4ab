//! `articdbm-build-c PLUGIN_DIR OUT.wasm`: builds a C policy plugin into a component (what
//! `plugin-sdk/c/build.sh` runs). `articdbm-build-c --bindings DIR` writes the generated C
//! bindings and the SDK sources into DIR (what `plugin-sdk/c/test.sh` compiles natively).

use std::path::Path;
use std::process::ExitCode;

const USAGE: &str =
    "usage: articdbm-build-c PLUGIN_DIR OUT.wasm\n       articdbm-build-c --bindings DIR";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, dir] if flag == "--bindings" => {
            let dir = Path::new(dir);
            let result =
                articdbm_plugin_build::generate_bindings(None, articdbm_plugin_build::WORLD, dir)
                    .and_then(|_| articdbm_plugin_build::write_embedded_sdk(dir));
            match result {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        [plugin_dir, out] if !plugin_dir.starts_with('-') => {
            match articdbm_plugin_build::build_c(Path::new(plugin_dir), Path::new(out)) {
                Ok(report) => {
                    if !report.warnings.trim().is_empty() {
                        eprint!("{}", report.warnings);
                    }
                    println!("{}", articdbm_plugin_build::summary(&report));
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
