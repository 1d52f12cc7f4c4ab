//! `articdbm-gateway`: a thin binary over the library's CLI.

use clap::Parser;

fn main() {
    let format = std::env::var("ARTICDBM_LOG_FORMAT").ok();
    let filter = std::env::var("ARTICDBM_LOG").ok();
    if let Err(e) = articdbm_config::logging::LogFormat::parse(format.as_deref())
        .and_then(|f| articdbm_config::logging::init(filter.as_deref(), "warn", f, std::io::stderr))
    {
        eprintln!("error: {e}");
        std::process::exit(2);
    }
    let cli = articdbm_gateway::cli::Cli::parse();
    match articdbm_gateway::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
