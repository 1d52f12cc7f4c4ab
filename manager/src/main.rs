//! The ArticDBM manager binary. The REST API, store and registry arrive with the manager
//! issue; until then this prints what exists.

use clap::Parser;

/// ArticDBM manager (REST API and plugin registry) — not built yet.
#[derive(Parser)]
#[command(version)]
struct Cli {}

fn main() {
    let _ = Cli::parse();
    eprintln!(
        "articdbm-manager: the REST manager is not implemented yet; \
         the gateway runs standalone from a plugin directory and pack files"
    );
    std::process::exit(2);
}
