//! Indicators and feed health in the store.
//!
//! An indicator row is keyed by (feed, kind, value) and carries its provenance: the source id,
//! confidence, validity window, labels, and when the feed first and last listed it. Every
//! change gives the row a new `seq`, unique and growing, and a removal keeps the row as a
//! tombstone, so `GET /api/v1/indicators/changes?after=SEQ` tells a gateway exactly what
//! changed since it last asked. An ingest that changes something bumps the snapshot version in
//! the same transaction (which also serialises ingests on PostgreSQL: the version row is
//! locked first), so the long poll wakes gateways and no two ingests hand out the same `seq`.

use std::collections::HashMap;

use sqlx::Row;
use sqlx::any::AnyRow;

use articdbm_config::threat::{ChangePage, IndicatorChange, IndicatorEntry};

use crate::store::{Backend, Result, Store, StoreError, now_ms};

/// Rows per multi-row statement. sqlx binds a SQLite parameter by looking its name up, which
/// SQLite does by a scan of the statement's parameters: the cost of a statement grows with
/// the square of its parameters, so SQLite gets short statements (13 parameters a row).
/// PostgreSQL takes long ones, well below its 65,535 parameters.
fn batch(backend: Backend) -> usize {
    match backend {
        Backend::Sqlite => 24,
        Backend::Postgres => 400,
    }
}

/// An indicator a parse produced, normalised and with its confidence resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIndicator {
    pub kind: String,
    pub value: String,
    pub id: String,
    pub confidence: u8,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub labels: Vec<String>,
    /// Revoked (or withdrawn) by the source: removes a held indicator.
    pub revoked: bool,
}

/// What an ingest changed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct IngestReport {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
    pub unchanged: u64,
    /// Live indicators of the feed afterwards.
    pub live: u64,
    /// The snapshot version the change was published as, when something changed.
    pub version: Option<i64>,
}

/// A stored indicator with its provenance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndicatorRow {
    pub feed: String,
    pub tenant: Option<String>,
    pub kind: String,
    pub value: String,
    pub id: String,
    pub confidence: i64,
    pub valid_from: Option<i64>,
    pub valid_until: Option<i64>,
    pub labels: Vec<String>,
    pub first_seen: i64,
    pub last_seen: i64,
    pub seq: i64,
}

/// A feed's health.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct FeedStatus {
    pub last_attempt: Option<i64>,
    pub last_success: Option<i64>,
    pub last_error: Option<String>,
    pub indicators: i64,
    /// Unsupported pattern kinds of the last successful parse, with counts.
    pub unsupported: serde_json::Value,
    /// Where an incremental (TAXII) feed continues: the last `added_after` date.
    pub cursor: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct Held {
    id: String,
    confidence: i64,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    labels: String,
    removed: bool,
}

struct RowOut<'a> {
    kind: &'a str,
    value: &'a str,
    id: &'a str,
    confidence: i64,
    valid_from: Option<i64>,
    valid_until: Option<i64>,
    labels: String,
    seq: i64,
    removed: bool,
}

/// Of several listings of one (kind, value) in a document, the live one with the highest
/// confidence wins; revoked only when every listing is revoked.
fn dedup(items: Vec<NewIndicator>) -> Vec<NewIndicator> {
    let mut by_key: HashMap<(String, String), NewIndicator> = HashMap::with_capacity(items.len());
    for it in items {
        match by_key.entry((it.kind.clone(), it.value.clone())) {
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(it);
            }
            std::collections::hash_map::Entry::Occupied(mut o) => {
                let cur = o.get();
                let better = (cur.revoked && !it.revoked)
                    || (cur.revoked == it.revoked && it.confidence > cur.confidence);
                if better {
                    o.insert(it);
                }
            }
        }
    }
    let mut out: Vec<NewIndicator> = by_key.into_values().collect();
    out.sort_by(|a, b| (&a.kind, &a.value).cmp(&(&b.kind, &b.value)));
    out
}

fn labels_text(labels: &[String]) -> String {
    serde_json::to_string(labels).unwrap_or_else(|_| "[]".into())
}

impl Store {
    /// Merges a feed's parsed indicators into the store. With `replace`, the document is the
    /// feed's whole current list and held indicators missing from it are removed; without, it
    /// is an increment (TAXII `added_after`). Revoked and expired indicators are removed.
    pub async fn ingest(
        &self,
        feed: &str,
        tenant: &str,
        items: Vec<NewIndicator>,
        replace: bool,
    ) -> Result<IngestReport> {
        let items = dedup(items);
        let now = now_ms();
        let mut tx = self.pool.begin().await?;
        // Bump first: on PostgreSQL this locks the version row, so concurrent ingests take
        // their sequence numbers one after the other.
        let version = Store::bump(&mut tx).await?;
        let mut held: HashMap<(String, String), Held> = HashMap::new();
        let rows = sqlx::query(
            "SELECT kind, value, id, confidence, valid_from, valid_until, labels, removed FROM indicators WHERE feed = $1",
        )
        .bind(feed)
        .fetch_all(&mut *tx)
        .await?;
        for r in &rows {
            held.insert(
                (r.try_get("kind")?, r.try_get("value")?),
                Held {
                    id: r.try_get("id")?,
                    confidence: r.try_get("confidence")?,
                    valid_from: r.try_get("valid_from")?,
                    valid_until: r.try_get("valid_until")?,
                    labels: r.try_get("labels")?,
                    removed: r.try_get::<i64, _>("removed")? != 0,
                },
            );
        }
        drop(rows);
        let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM indicators")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let mut report = IngestReport::default();
        let mut out: Vec<RowOut> = Vec::new();
        let mut listed: std::collections::HashSet<(&str, &str)> = Default::default();
        for it in &items {
            listed.insert((it.kind.as_str(), it.value.as_str()));
            let key = (it.kind.clone(), it.value.clone());
            let live = held.get(&key).filter(|h| !h.removed);
            let gone = it.revoked || it.valid_until.is_some_and(|u| u <= now);
            if gone {
                if live.is_some() {
                    seq += 1;
                    report.removed += 1;
                    out.push(tombstone(it.kind.as_str(), it.value.as_str(), live, seq));
                }
                continue;
            }
            let labels = labels_text(&it.labels);
            let same = live.is_some_and(|h| {
                h.id == it.id
                    && h.confidence == i64::from(it.confidence)
                    && h.valid_from == it.valid_from
                    && h.valid_until == it.valid_until
                    && h.labels == labels
            });
            if same {
                report.unchanged += 1;
                continue;
            }
            if live.is_some() {
                report.updated += 1;
            } else {
                report.added += 1;
            }
            seq += 1;
            out.push(RowOut {
                kind: &it.kind,
                value: &it.value,
                id: &it.id,
                confidence: i64::from(it.confidence),
                valid_from: it.valid_from,
                valid_until: it.valid_until,
                labels,
                seq,
                removed: false,
            });
        }
        if replace {
            let mut missing: Vec<(&(String, String), &Held)> = held
                .iter()
                .filter(|(k, h)| !h.removed && !listed.contains(&(k.0.as_str(), k.1.as_str())))
                .collect();
            missing.sort_by(|a, b| a.0.cmp(b.0));
            for (k, h) in missing {
                seq += 1;
                report.removed += 1;
                out.push(tombstone(&k.0, &k.1, Some(h), seq));
            }
        }
        if out.is_empty() {
            // Nothing changed: no new snapshot version.
            tx.rollback().await?;
        } else {
            for chunk in out.chunks(batch(self.backend)) {
                upsert(&mut tx, feed, tenant, now, chunk).await?;
            }
            tx.commit().await?;
            report.version = Some(version);
        }
        // Everything the document listed was seen now.
        if replace {
            sqlx::query("UPDATE indicators SET last_seen = $1 WHERE feed = $2 AND removed = 0")
                .bind(now)
                .bind(feed)
                .execute(&self.pool)
                .await?;
        }
        report.live = self.live_count(feed).await? as u64;
        Ok(report)
    }

    /// Live indicators of a feed.
    pub async fn live_count(&self, feed: &str) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) AS n FROM indicators WHERE feed = $1 AND removed = 0")
                .bind(feed)
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?,
        )
    }

    /// Removes every indicator of a feed (the feed was deleted); returns the new snapshot
    /// version when something was removed.
    pub async fn drop_feed_indicators(&self, feed: &str) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let version = Store::bump(&mut tx).await?;
        let keys: Vec<(String, String)> = sqlx::query(
            "SELECT kind, value FROM indicators WHERE feed = $1 AND removed = 0 ORDER BY kind, value",
        )
        .bind(feed)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("kind")?, r.try_get("value")?)))
        .collect::<Result<_>>()?;
        sqlx::query("DELETE FROM feed_status WHERE feed = $1")
            .bind(feed)
            .execute(&mut *tx)
            .await?;
        if keys.is_empty() {
            tx.commit().await?;
            return Ok(None);
        }
        let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM indicators")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let rows: Vec<RowOut> = keys
            .iter()
            .map(|(k, v)| {
                seq += 1;
                tombstone(k, v, None, seq)
            })
            .collect();
        let now = now_ms();
        for chunk in rows.chunks(batch(self.backend)) {
            upsert(&mut tx, feed, "", now, chunk).await?;
        }
        tx.commit().await?;
        Ok(Some(version))
    }

    /// Removes the live indicators whose `valid_until` is at or before `now` (gateways already
    /// skip them at lookup; this keeps the store, the counts and new gateways in step). Returns
    /// the new snapshot version when something was removed.
    pub async fn expire_indicators(&self, now: i64) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let version = Store::bump(&mut tx).await?;
        let expired: Vec<(String, String, String)> = sqlx::query(
            "SELECT feed, kind, value FROM indicators WHERE removed = 0 AND valid_until IS NOT NULL \
             AND valid_until <= $1 ORDER BY feed, kind, value",
        )
        .bind(now)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| Ok((r.try_get("feed")?, r.try_get("kind")?, r.try_get("value")?)))
        .collect::<Result<_>>()?;
        if expired.is_empty() {
            tx.rollback().await?;
            return Ok(None);
        }
        let mut seq: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM indicators")
            .fetch_one(&mut *tx)
            .await?
            .try_get("s")?;
        let stamp = now_ms();
        for group in expired.chunk_by(|a, b| a.0 == b.0) {
            let feed = group[0].0.as_str();
            let rows: Vec<RowOut> = group
                .iter()
                .map(|(_, k, v)| {
                    seq += 1;
                    tombstone(k, v, None, seq)
                })
                .collect();
            for chunk in rows.chunks(batch(self.backend)) {
                upsert(&mut tx, feed, "", stamp, chunk).await?;
            }
        }
        tx.commit().await?;
        Ok(Some(version))
    }

    /// The highest indicator sequence number (0 when there are none).
    pub async fn indicator_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COALESCE(MAX(seq), 0) AS s FROM indicators")
                .fetch_one(&self.pool)
                .await?
                .try_get("s")?,
        )
    }

    /// Changes after `after`, oldest first, at most `limit`. From 0, only live indicators.
    pub async fn indicator_changes(&self, after: i64, limit: i64) -> Result<ChangePage> {
        let sql = if after == 0 {
            "SELECT feed, tenant, kind, value, id, confidence, valid_from, valid_until, seq, removed \
             FROM indicators WHERE seq > $1 AND removed = 0 ORDER BY seq LIMIT $2"
        } else {
            "SELECT feed, tenant, kind, value, id, confidence, valid_from, valid_until, seq, removed \
             FROM indicators WHERE seq > $1 ORDER BY seq LIMIT $2"
        };
        let rows = sqlx::query(sql)
            .bind(after)
            .bind(limit + 1)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() as i64 > limit;
        let mut last = after;
        let mut changes = Vec::with_capacity(rows.len());
        for r in rows.iter().take(limit as usize) {
            last = r.try_get("seq")?;
            let feed: String = r.try_get("feed")?;
            let kind: String = r.try_get("kind")?;
            let value: String = r.try_get("value")?;
            if r.try_get::<i64, _>("removed")? != 0 {
                changes.push(IndicatorChange::Remove { feed, kind, value });
                continue;
            }
            let tenant: String = r.try_get("tenant")?;
            let confidence: i64 = r.try_get("confidence")?;
            changes.push(IndicatorChange::Upsert(IndicatorEntry {
                feed,
                tenant: (!tenant.is_empty()).then_some(tenant),
                kind,
                value,
                id: r.try_get("id")?,
                confidence: confidence.clamp(0, 100) as u8,
                valid_from: r
                    .try_get::<Option<i64>, _>("valid_from")?
                    .map(|v| v.max(0) as u64),
                valid_until: r
                    .try_get::<Option<i64>, _>("valid_until")?
                    .map(|v| v.max(0) as u64),
            }));
        }
        Ok(ChangePage {
            changes,
            last: last.max(0) as u64,
            more,
        })
    }

    /// Live indicators matching the filters, with provenance, in `seq` order after `after`.
    pub async fn indicators(&self, f: &IndicatorFilter) -> Result<Vec<IndicatorRow>> {
        let mut sql = String::from(
            "SELECT feed, tenant, kind, value, id, confidence, valid_from, valid_until, labels, \
             first_seen, last_seen, seq FROM indicators WHERE removed = 0",
        );
        let mut args: Vec<String> = Vec::new();
        let mut arg = |sql: &mut String, cond: &str, v: &str| {
            args.push(v.to_string());
            sql.push_str(&format!(" AND {cond} ${}", args.len()));
        };
        if let Some(v) = &f.feed {
            arg(&mut sql, "feed =", v);
        }
        if let Some(v) = &f.kind {
            arg(&mut sql, "kind =", v);
        }
        if let Some(v) = &f.value {
            arg(&mut sql, "value =", v);
        }
        if let Some(v) = &f.id {
            arg(&mut sql, "id =", v);
        }
        if let Some(t) = &f.tenant {
            args.push(t.clone());
            sql.push_str(&format!(" AND (tenant = '' OR tenant = ${})", args.len()));
        }
        if let Some(after) = f.after {
            sql.push_str(&format!(" AND seq > {after}"));
        }
        sql.push_str(&format!(" ORDER BY seq LIMIT {}", f.limit.max(1)));
        let mut q = sqlx::query(&sql);
        for a in &args {
            q = q.bind(a.as_str());
        }
        let rows = q.fetch_all(&self.pool).await?;
        rows.iter().map(indicator_row).collect()
    }

    /// Records a fetch attempt's outcome.
    pub async fn set_feed_status(&self, feed: &str, s: &FeedStatus) -> Result<()> {
        sqlx::query(
            "INSERT INTO feed_status (feed, last_attempt, last_success, last_error, indicators, unsupported, cursor) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (feed) DO UPDATE SET \
             last_attempt = excluded.last_attempt, last_success = excluded.last_success, \
             last_error = excluded.last_error, indicators = excluded.indicators, \
             unsupported = excluded.unsupported, cursor = excluded.cursor",
        )
        .bind(feed)
        .bind(s.last_attempt)
        .bind(s.last_success)
        .bind(s.last_error.clone())
        .bind(s.indicators)
        .bind(s.unsupported.to_string())
        .bind(s.cursor.clone())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A feed's health; the default (never fetched) when there is none.
    pub async fn feed_status(&self, feed: &str) -> Result<FeedStatus> {
        let r = sqlx::query(
            "SELECT last_attempt, last_success, last_error, indicators, unsupported, cursor FROM feed_status WHERE feed = $1",
        )
        .bind(feed)
        .fetch_optional(&self.pool)
        .await?;
        let Some(r) = r else {
            return Ok(FeedStatus {
                unsupported: serde_json::json!({}),
                ..FeedStatus::default()
            });
        };
        let unsupported: String = r.try_get("unsupported")?;
        Ok(FeedStatus {
            last_attempt: r.try_get("last_attempt")?,
            last_success: r.try_get("last_success")?,
            last_error: r.try_get("last_error")?,
            indicators: r.try_get("indicators")?,
            unsupported: serde_json::from_str(&unsupported)
                .map_err(|e| StoreError::Other(e.to_string()))?,
            cursor: r.try_get("cursor")?,
        })
    }
}

/// Filters of an indicator search.
#[derive(Debug, Default, Clone)]
pub struct IndicatorFilter {
    pub feed: Option<String>,
    pub kind: Option<String>,
    pub value: Option<String>,
    pub id: Option<String>,
    /// Only global indicators and this tenant's.
    pub tenant: Option<String>,
    /// Only indicators with a larger `seq` (the cursor of the previous page).
    pub after: Option<i64>,
    pub limit: i64,
}

fn indicator_row(r: &AnyRow) -> Result<IndicatorRow> {
    let tenant: String = r.try_get("tenant")?;
    let labels: String = r.try_get("labels")?;
    Ok(IndicatorRow {
        feed: r.try_get("feed")?,
        tenant: (!tenant.is_empty()).then_some(tenant),
        kind: r.try_get("kind")?,
        value: r.try_get("value")?,
        id: r.try_get("id")?,
        confidence: r.try_get("confidence")?,
        valid_from: r.try_get("valid_from")?,
        valid_until: r.try_get("valid_until")?,
        labels: serde_json::from_str(&labels).unwrap_or_default(),
        first_seen: r.try_get("first_seen")?,
        last_seen: r.try_get("last_seen")?,
        seq: r.try_get("seq")?,
    })
}

fn tombstone<'a>(kind: &'a str, value: &'a str, held: Option<&Held>, seq: i64) -> RowOut<'a> {
    RowOut {
        kind,
        value,
        id: "",
        confidence: held.map_or(0, |h| h.confidence),
        valid_from: None,
        valid_until: None,
        labels: "[]".into(),
        seq,
        removed: true,
    }
}

async fn upsert(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    feed: &str,
    tenant: &str,
    now: i64,
    rows: &[RowOut<'_>],
) -> Result<()> {
    let mut sql = String::from(
        "INSERT INTO indicators (feed, kind, value, tenant, id, confidence, valid_from, valid_until, \
         labels, first_seen, last_seen, seq, removed) VALUES ",
    );
    for i in 0..rows.len() {
        let b = i * 13;
        if i > 0 {
            sql.push(',');
        }
        sql.push('(');
        for c in 1..=13 {
            if c > 1 {
                sql.push(',');
            }
            sql.push_str(&format!("${}", b + c));
        }
        sql.push(')');
    }
    sql.push_str(
        " ON CONFLICT (feed, kind, value) DO UPDATE SET tenant = excluded.tenant, id = excluded.id, \
         confidence = excluded.confidence, valid_from = excluded.valid_from, \
         valid_until = excluded.valid_until, labels = excluded.labels, \
         last_seen = excluded.last_seen, seq = excluded.seq, removed = excluded.removed",
    );
    let mut q = sqlx::query(&sql);
    for r in rows {
        q = q
            .bind(feed)
            .bind(r.kind)
            .bind(r.value)
            .bind(tenant)
            .bind(r.id)
            .bind(r.confidence)
            .bind(r.valid_from)
            .bind(r.valid_until)
            .bind(r.labels.as_str())
            .bind(now)
            .bind(now)
            .bind(r.seq)
            .bind(i64::from(r.removed));
    }
    q.execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(value: &str, valid_until: Option<i64>) -> NewIndicator {
        NewIndicator {
            kind: "address".into(),
            value: value.into(),
            id: format!("indicator--{value}"),
            confidence: 60,
            valid_from: None,
            valid_until,
            labels: vec![],
            revoked: false,
        }
    }

    #[tokio::test]
    async fn ingest_merges_replaces_and_expires_with_growing_sequence_numbers() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}?mode=rwc", dir.path().join("m.db").display());
        let store = Store::open(
            &url,
            std::sync::Arc::new(crate::secrets::Keyring::ephemeral()),
        )
        .await
        .unwrap();
        let now = now_ms();
        let soon = now + 60_000;
        let r = store
            .ingest(
                "f",
                "",
                vec![
                    item("192.0.2.1", None),
                    item("192.0.2.2", Some(soon)),
                    item("192.0.2.1", None),
                ],
                true,
            )
            .await
            .unwrap();
        assert_eq!((r.added, r.live), (2, 2));
        let v1 = r.version.unwrap();
        // The same document again changes nothing, not even the version.
        let r = store
            .ingest(
                "f",
                "",
                vec![item("192.0.2.1", None), item("192.0.2.2", Some(soon))],
                true,
            )
            .await
            .unwrap();
        assert_eq!((r.unchanged, r.version), (2, None));
        assert_eq!(store.snapshot_version().await.unwrap(), v1);
        let before = store.indicator_seq().await.unwrap();
        // Nothing has expired yet; at `soon` one has.
        assert_eq!(store.expire_indicators(now).await.unwrap(), None);
        assert!(store.expire_indicators(soon).await.unwrap().is_some());
        assert_eq!(store.live_count("f").await.unwrap(), 1);
        let page = store.indicator_changes(before, 100).await.unwrap();
        assert_eq!(
            page.changes,
            vec![IndicatorChange::Remove {
                feed: "f".into(),
                kind: "address".into(),
                value: "192.0.2.2".into()
            }]
        );
        assert!(page.last > before as u64 && !page.more);
        // From zero, only live indicators are listed.
        let all = store.indicator_changes(0, 100).await.unwrap();
        assert_eq!(all.changes.len(), 1);
        // A replacing document without 192.0.2.1 removes it.
        let r = store.ingest("f", "", vec![], true).await.unwrap();
        assert_eq!((r.removed, r.live), (1, 0));
    }
}
