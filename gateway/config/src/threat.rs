//! The threat-intelligence indicators a manager distributes to gateways: the wire types of
//! `GET /api/v1/indicators/changes` and of the per-tenant bypass rules carried in snapshots.
//! Shared by the manager (which writes them) and the gateway (which applies them to its
//! `ThreatStore` (in articdbm-runtime)).

use serde::{Deserialize, Serialize};

/// The indicator kinds, by their wire names (the WIT `indicator-kind` cases).
pub const KINDS: [&str; 6] = ["address", "domain", "url", "user", "email", "sql-pattern"];

/// One enforceable indicator as the manager distributes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorEntry {
    /// The feed it came from: `name` for a global feed, `tenant/name` for a tenant's feed.
    pub feed: String,
    /// The tenant a tenant feed belongs to; `None` for global feeds (every tenant sees them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// One of [`KINDS`].
    pub kind: String,
    /// The normalised value: an address or CIDR, a lower-case domain, a URL, a user name, a
    /// lower-case e-mail address, or a SQL fragment.
    pub value: String,
    /// The indicator's id in its source document (a STIX id, an OpenIOC item id, a MISP
    /// uuid): shown in audit, named in bypass rules.
    pub id: String,
    /// Confidence 0-100.
    pub confidence: u8,
    /// Validity window in milliseconds since the Unix epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<u64>,
}

/// One change to the indicator set, numbered by a sequence that only grows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum IndicatorChange {
    /// Add the indicator, or replace the one with the same (feed, kind, value).
    Upsert(IndicatorEntry),
    /// Remove the indicator with this (feed, kind, value), if held.
    Remove {
        feed: String,
        kind: String,
        value: String,
    },
}

/// A page of `GET /api/v1/indicators/changes?after=SEQ`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChangePage {
    /// Changes with sequence numbers in (`after`, `last`], oldest first. When `after` is 0
    /// only live indicators are listed (no removals).
    pub changes: Vec<IndicatorChange>,
    /// The sequence number of the last change in this page (or `after` when empty).
    pub last: u64,
    /// True when more changes follow: ask again with `after=last`.
    pub more: bool,
}

/// A tenant's bypass rules: what must never be blocked by threat intelligence.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bypass {
    /// Client addresses or CIDR blocks never reported as listed.
    #[serde(default)]
    pub addresses: Vec<String>,
    /// Gateway user names (and user-kind indicator values) never reported as listed.
    #[serde(default)]
    pub users: Vec<String>,
    /// Indicator ids (source ids) that never match.
    #[serde(default)]
    pub indicators: Vec<String>,
}

/// The indicator set a managed gateway holds, persisted as a log of change pages in
/// `STATE_DIR/indicators.log` (one JSON line per page), so a gateway restarted while the
/// manager is away starts with the indicators it had. Compacted to one page on load.
pub struct IndicatorLog {
    path: std::path::PathBuf,
}

#[derive(Serialize, Deserialize)]
struct LogLine {
    last: u64,
    changes: Vec<IndicatorChange>,
}

impl IndicatorLog {
    pub fn new(path: std::path::PathBuf) -> IndicatorLog {
        IndicatorLog { path }
    }

    /// Replays the log: the live indicators and the sequence number they are current to.
    /// A torn last line (a crash mid-write) ends the replay there; the log is then rewritten
    /// as one page, so it never grows past one page per change between restarts.
    pub fn load(&self) -> std::io::Result<(u64, Vec<IndicatorEntry>)> {
        use std::io::BufRead;
        let file = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, Vec::new())),
            Err(e) => return Err(e),
        };
        let mut live: std::collections::HashMap<(String, String, String), IndicatorEntry> =
            std::collections::HashMap::new();
        let mut last = 0;
        for line in std::io::BufReader::new(file).lines() {
            let Ok(page) = serde_json::from_str::<LogLine>(&line?) else {
                tracing::warn!(
                    "{}: torn or unreadable line; replay stops there",
                    self.path.display()
                );
                break;
            };
            for c in page.changes {
                match c {
                    IndicatorChange::Upsert(e) => {
                        live.insert((e.feed.clone(), e.kind.clone(), e.value.clone()), e);
                    }
                    IndicatorChange::Remove { feed, kind, value } => {
                        live.remove(&(feed, kind, value));
                    }
                }
            }
            last = page.last;
        }
        let mut entries: Vec<IndicatorEntry> = live.into_values().collect();
        entries.sort_by(|a, b| (&a.feed, &a.kind, &a.value).cmp(&(&b.feed, &b.kind, &b.value)));
        self.rewrite(last, &entries)?;
        Ok((last, entries))
    }

    fn rewrite(&self, last: u64, entries: &[IndicatorEntry]) -> std::io::Result<()> {
        let tmp = self.path.with_extension("log.tmp");
        {
            let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
            let page = LogLine {
                last,
                changes: entries
                    .iter()
                    .cloned()
                    .map(IndicatorChange::Upsert)
                    .collect(),
            };
            serde_json::to_writer(&mut w, &page)?;
            std::io::Write::write_all(&mut w, b"\n")?;
            std::io::Write::flush(&mut w)?;
            w.get_ref().sync_all()?;
        }
        std::fs::rename(tmp, &self.path)
    }

    /// Appends a page of changes applied.
    pub fn append(&self, page: &ChangePage) -> std::io::Result<()> {
        use std::io::Write;
        let mut line = serde_json::to_vec(&LogLine {
            last: page.last,
            changes: page.changes.clone(),
        })?;
        line.push(b'\n');
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)?;
        f.write_all(&line)?;
        f.sync_data()
    }

    /// Forgets everything (the manager's indicator store was replaced).
    pub fn reset(&self) -> std::io::Result<()> {
        self.rewrite(0, &[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(feed: &str, value: &str, confidence: u8) -> IndicatorEntry {
        IndicatorEntry {
            feed: feed.into(),
            tenant: None,
            kind: "address".into(),
            value: value.into(),
            id: format!("indicator--{value}"),
            confidence,
            valid_from: None,
            valid_until: None,
        }
    }

    #[test]
    fn the_log_replays_compacts_and_survives_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = IndicatorLog::new(dir.path().join("indicators.log"));
        assert_eq!(log.load().unwrap(), (0, vec![]));
        log.append(&ChangePage {
            changes: vec![
                IndicatorChange::Upsert(entry("a", "192.0.2.1", 50)),
                IndicatorChange::Upsert(entry("a", "192.0.2.2", 50)),
            ],
            last: 2,
            more: false,
        })
        .unwrap();
        log.append(&ChangePage {
            changes: vec![
                IndicatorChange::Remove {
                    feed: "a".into(),
                    kind: "address".into(),
                    value: "192.0.2.1".into(),
                },
                IndicatorChange::Upsert(entry("a", "192.0.2.2", 90)),
            ],
            last: 4,
            more: false,
        })
        .unwrap();
        // A crash in the middle of a third append.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("indicators.log"))
            .unwrap();
        f.write_all(b"{\"last\":9,\"changes\":[{\"op\":\"ups")
            .unwrap();
        drop(f);
        let (last, live) = log.load().unwrap();
        assert_eq!(last, 4);
        assert_eq!(live, vec![entry("a", "192.0.2.2", 90)]);
        // Compacted to one line.
        let text = std::fs::read_to_string(dir.path().join("indicators.log")).unwrap();
        assert_eq!(text.lines().count(), 1);
        assert_eq!(log.load().unwrap(), (4, vec![entry("a", "192.0.2.2", 90)]));
        log.reset().unwrap();
        assert_eq!(log.load().unwrap(), (0, vec![]));
    }
}
