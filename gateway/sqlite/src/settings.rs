//! Session settings (PostgreSQL GUCs) as this backend keeps them: defaults, startup-packet
//! overrides, `SET`/`RESET`/`SHOW`, and which ones are reported to the client with
//! ParameterStatus.
//!
//! No setting changes SQLite's behaviour; they exist so clients that set and read them work.
//! Any name can be set (clients send many settings SQLite has no use for); only the
//! read-only ones and values this backend cannot honour are refused.

use std::collections::BTreeMap;

use articdbm_pgwire::StartupMessage;
use articdbm_pgwire::backend::encode::{PgError, Severity};

use super::{PgResult, fail};

/// The server version reported to clients (psql and drivers parse it).
pub(crate) const SERVER_VERSION: &str = "15.0";

/// Settings reported with ParameterStatus at startup and whenever they change.
const REPORTED: &[&str] = &[
    "application_name",
    "client_encoding",
    "DateStyle",
    "IntervalStyle",
    "integer_datetimes",
    "is_superuser",
    "server_encoding",
    "server_version",
    "session_authorization",
    "standard_conforming_strings",
    "TimeZone",
];

const READ_ONLY: &[&str] = &[
    "server_version",
    "server_version_num",
    "server_encoding",
    "integer_datetimes",
    "is_superuser",
    "session_authorization",
    "max_identifier_length",
    "block_size",
    "lc_collate",
    "lc_ctype",
];

/// Startup-packet keys that are not settings.
const NOT_SETTINGS: &[&str] = &["user", "database", "options", "replication"];

/// The display name of a setting (PostgreSQL reports a few in mixed case).
fn canonical(lower: &str) -> String {
    match lower {
        "datestyle" => "DateStyle".into(),
        "intervalstyle" => "IntervalStyle".into(),
        "timezone" => "TimeZone".into(),
        other => other.to_owned(),
    }
}

fn invalid(name: &str, value: &str) -> PgError {
    PgError::new(
        Severity::Error,
        "22023",
        format!("invalid value for parameter \"{name}\": \"{value}\""),
    )
}

/// The settings of one session.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// Session defaults: built-ins overridden by the startup packet (what RESET restores).
    defaults: BTreeMap<String, String>,
    current: BTreeMap<String, String>,
    pub user: String,
    pub database: String,
}

impl Settings {
    /// Defaults plus the startup packet's parameters and its `options` (`-c name=value`).
    pub fn from_startup(startup: &StartupMessage) -> PgResult<Self> {
        let user = startup.user().to_owned();
        let database = startup.database().to_owned();
        let mut defaults: BTreeMap<String, String> = [
            ("application_name", ""),
            ("client_encoding", "UTF8"),
            ("datestyle", "ISO, MDY"),
            ("intervalstyle", "postgres"),
            ("integer_datetimes", "on"),
            ("is_superuser", "off"),
            ("server_encoding", "UTF8"),
            ("server_version", SERVER_VERSION),
            ("server_version_num", "150000"),
            ("standard_conforming_strings", "on"),
            ("timezone", "UTC"),
            ("search_path", "\"$user\", public"),
            ("transaction_isolation", "serializable"),
            ("default_transaction_isolation", "serializable"),
            ("transaction_read_only", "off"),
            ("default_transaction_read_only", "off"),
            ("extra_float_digits", "1"),
            ("statement_timeout", "0"),
            ("lock_timeout", "0"),
            ("max_identifier_length", "63"),
            ("client_min_messages", "notice"),
            ("lc_collate", "C"),
            ("lc_ctype", "C"),
            ("block_size", "8192"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        defaults.insert("session_authorization".into(), user.clone());
        let mut s = Self {
            current: BTreeMap::new(),
            defaults: BTreeMap::new(),
            user,
            database,
        };
        let mut overrides: Vec<(String, String)> = startup
            .params()
            .filter(|(k, _)| !NOT_SETTINGS.contains(k) && !k.starts_with("_pq_."))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect();
        overrides.extend(parse_options(startup.options().unwrap_or_default()));
        for (k, v) in overrides {
            let v = s.validate(&k, &v, true)?;
            defaults.insert(k, v);
        }
        s.current = defaults.clone();
        s.defaults = defaults;
        Ok(s)
    }

    /// Check and normalize a value. `startup`: read-only settings cannot be set either way,
    /// but the startup packet may not set them silently to something else.
    fn validate(&self, name: &str, value: &str, startup: bool) -> PgResult<String> {
        if READ_ONLY.contains(&name) {
            if startup && self.defaults.get(name).is_some_and(|d| d == value) {
                return Ok(value.to_owned());
            }
            return fail(PgError::new(
                Severity::Error,
                "55P02",
                format!("parameter \"{name}\" cannot be changed"),
            ));
        }
        match name {
            "client_encoding" => {
                let norm: String = value
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric())
                    .collect::<String>()
                    .to_ascii_uppercase();
                match norm.as_str() {
                    "UTF8" | "UNICODE" => Ok("UTF8".into()),
                    "SQLASCII" => Ok("SQL_ASCII".into()),
                    _ => fail(PgError::new(
                        Severity::Error,
                        "0A000",
                        format!(
                            "client_encoding \"{value}\" is not supported by the SQLite backend \
                             (use UTF8)"
                        ),
                    )),
                }
            }
            "standard_conforming_strings" => match value.to_ascii_lowercase().as_str() {
                "on" | "true" | "1" | "yes" => Ok("on".into()),
                _ => fail(PgError::new(
                    Severity::Error,
                    "0A000",
                    "standard_conforming_strings = off is not supported by the SQLite backend",
                )),
            },
            "transaction_isolation" | "default_transaction_isolation" => {
                // SQLite transactions are serializable; accept and keep reporting that.
                if value.is_empty() {
                    fail(invalid(name, value))
                } else {
                    Ok("serializable".into())
                }
            }
            _ => Ok(value.to_owned()),
        }
    }

    /// The current value of a setting (`name` in any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.current
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// `SET name = value` (`None`: back to the session default). Returns the ParameterStatus
    /// to send when the setting is reported and its value changed.
    pub fn set(&mut self, name: &str, value: Option<&str>) -> PgResult<Option<(String, String)>> {
        let name = name.to_ascii_lowercase();
        let new = match value {
            Some(v) => self.validate(&name, v, false)?,
            None => {
                if READ_ONLY.contains(&name.as_str()) {
                    return fail(PgError::new(
                        Severity::Error,
                        "55P02",
                        format!("parameter \"{name}\" cannot be changed"),
                    ));
                }
                match self.defaults.get(&name) {
                    Some(d) => d.clone(),
                    None => {
                        self.current.remove(&name);
                        return Ok(None);
                    }
                }
            }
        };
        let old = self.current.insert(name.clone(), new.clone());
        Ok(self.report_if_changed(&name, old.as_deref(), &new))
    }

    fn report_if_changed(
        &self,
        name: &str,
        old: Option<&str>,
        new: &str,
    ) -> Option<(String, String)> {
        let display = canonical(name);
        (REPORTED.contains(&display.as_str()) && old != Some(new))
            .then(|| (display, new.to_owned()))
    }

    /// `RESET ALL` / `DISCARD ALL`: every setting back to its session default. Returns the
    /// ParameterStatus messages to send.
    pub fn reset_all(&mut self) -> Vec<(String, String)> {
        let old = std::mem::replace(&mut self.current, self.defaults.clone());
        self.defaults
            .iter()
            .filter_map(|(k, v)| self.report_if_changed(k, old.get(k).map(String::as_str), v))
            .collect()
    }

    /// The ParameterStatus messages of the startup phase.
    pub fn reported(&self) -> Vec<(String, String)> {
        REPORTED
            .iter()
            .map(|n| {
                let v = self.get(n).unwrap_or_default().to_owned();
                ((*n).to_owned(), v)
            })
            .collect()
    }

    /// Every setting with its display name, for `SHOW ALL`.
    pub fn all(&self) -> Vec<(String, String)> {
        self.current
            .iter()
            .map(|(k, v)| (canonical(k), v.clone()))
            .collect()
    }
}

/// `-c name=value` and `--name=value` items of the startup `options` parameter
/// (backslash escapes a space).
fn parse_options(options: &str) -> Vec<(String, String)> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut chars = options.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            c if c.is_whitespace() => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    let mut out = Vec::new();
    let mut it = words.into_iter();
    while let Some(w) = it.next() {
        let item = if w == "-c" {
            it.next()
        } else if let Some(rest) = w.strip_prefix("--") {
            Some(rest.to_owned())
        } else {
            w.strip_prefix("-c").map(str::to_owned)
        };
        if let Some((k, v)) = item.as_deref().and_then(|i| i.split_once('=')) {
            out.push((k.replace('-', "_").to_ascii_lowercase(), v.to_owned()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use articdbm_pgwire::{StartupDecoder, StartupPacket, frontend::encode};
    use bytes::BytesMut;

    fn startup(params: &[(&str, &str)]) -> StartupMessage {
        let mut b = BytesMut::new();
        encode::startup_message(&mut b, params.iter().copied()).unwrap();
        match StartupDecoder::new().decode(&mut b).unwrap() {
            Some(StartupPacket::Startup(s)) => s,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn startup_overrides_and_options() {
        let s = Settings::from_startup(&startup(&[
            ("user", "alice"),
            ("application_name", "psql"),
            ("client_encoding", "utf-8"),
            ("options", "-c search_path=app --statement-timeout=5s"),
        ]))
        .unwrap();
        assert_eq!(s.get("application_name"), Some("psql"));
        assert_eq!(s.get("client_encoding"), Some("UTF8"));
        assert_eq!(s.get("search_path"), Some("app"));
        assert_eq!(s.get("statement_timeout"), Some("5s"));
        assert_eq!(s.get("session_authorization"), Some("alice"));
        assert_eq!(s.database, "alice");
        let reported = s.reported();
        assert!(reported.contains(&("TimeZone".into(), "UTC".into())));
        assert!(reported.contains(&("server_version".into(), SERVER_VERSION.into())));
    }

    #[test]
    fn refuses_what_cannot_be_honoured() {
        let e = Settings::from_startup(&startup(&[("user", "a"), ("client_encoding", "LATIN1")]))
            .unwrap_err();
        assert_eq!(e.code, "0A000");
        let mut s = Settings::from_startup(&startup(&[("user", "a")])).unwrap();
        assert_eq!(
            s.set("server_version", Some("9")).unwrap_err().code,
            "55P02"
        );
        assert_eq!(
            s.set("standard_conforming_strings", Some("off"))
                .unwrap_err()
                .code,
            "0A000"
        );
    }

    #[test]
    fn set_reset_and_reports() {
        let mut s =
            Settings::from_startup(&startup(&[("user", "a"), ("application_name", "x")])).unwrap();
        assert_eq!(
            s.set("Application_Name", Some("y")).unwrap(),
            Some(("application_name".into(), "y".into()))
        );
        assert_eq!(s.set("application_name", Some("y")).unwrap(), None);
        assert_eq!(s.set("work_mem", Some("64MB")).unwrap(), None);
        assert_eq!(s.get("WORK_MEM"), Some("64MB"));
        assert_eq!(
            s.set("timezone", Some("Europe/Paris")).unwrap(),
            Some(("TimeZone".into(), "Europe/Paris".into()))
        );
        let changed = s.reset_all();
        assert!(changed.contains(&("application_name".into(), "x".into())));
        assert!(changed.contains(&("TimeZone".into(), "UTC".into())));
        assert_eq!(s.get("work_mem"), None);
        assert_eq!(s.set("application_name", None).unwrap(), None);
    }
}
