//! Log output of both binaries: `ARTICDBM_LOG` chooses what is logged (a tracing filter such as
//! `info` or `articdbm_gateway=debug`), `ARTICDBM_LOG_FORMAT` how: `text` (the default, for
//! people) or `json` (one JSON object per line, for log collectors). The binaries read the two
//! variables and pass them here, so tests need no environment.

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`, `fields` (with `message`) and
    /// the enclosing `span`s.
    Json,
}

impl LogFormat {
    /// The format `ARTICDBM_LOG_FORMAT` names (unset: text).
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            None | Some("") | Some("text") => Ok(LogFormat::Text),
            Some("json") => Ok(LogFormat::Json),
            Some(other) => Err(format!(
                "ARTICDBM_LOG_FORMAT: '{other}' is not a log format: use text or json"
            )),
        }
    }
}

/// Installs the process's log subscriber: `filter` is `ARTICDBM_LOG` (else `default_filter`),
/// lines go to `writer` in `format`. Fails if the filter does not parse or a subscriber is
/// installed already.
pub fn init<W>(
    filter: Option<&str>,
    default_filter: &str,
    format: LogFormat,
    writer: W,
) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = match filter {
        Some(f) => EnvFilter::try_new(f).map_err(|e| format!("ARTICDBM_LOG: {e}"))?,
        None => EnvFilter::new(default_filter),
    };
    let b = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Text => b.try_init(),
        LogFormat::Json => b.json().try_init(),
    }
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_and_an_unknown_one_is_named() {
        assert_eq!(LogFormat::parse(None), Ok(LogFormat::Text));
        assert_eq!(LogFormat::parse(Some("json")), Ok(LogFormat::Json));
        assert_eq!(LogFormat::parse(Some("text")), Ok(LogFormat::Text));
        let e = LogFormat::parse(Some("xml")).unwrap_err();
        assert!(e.contains("'xml'") && e.contains("text or json"), "{e}");
    }
}
