//! A native test harness: run a plugin's logic in `cargo test` without building wasm.
//!
//! The harness keeps an in-memory host per thread (key-value store with TTL, a settable clock,
//! indicators, captured logs and counters), so `host::*` calls behave as they do in the
//! gateway. With the `harness` feature, [`query`] computes facts with the gateway's own
//! extractor, so tests see exactly what the gateway would pass.
//!
//! ```ignore
//! let p = Harness::<MyPolicy>::new(r#"{"max": 3}"#).unwrap();
//! let conn = connection().user("alice").build();
//! assert!(p.on_query(&conn, &query("SELECT 1")).is_allow());
//! ```

use std::cell::RefCell;
use std::collections::HashMap;

use crate::{
    Connection, IndicatorKind, IndicatorMatch, KvError, Level, LiteralCounts, Policy, Protocol,
    Query, QueryFacts, ReuseBasis, ReuseScope, Verdict,
};

/// The in-memory host one test thread sees.
#[derive(Default)]
pub struct NativeHost {
    pub now_ms: u64,
    pub kv: HashMap<String, (Vec<u8>, Option<u64>)>,
    pub logs: Vec<(Level, String)>,
    pub counters: HashMap<String, u64>,
    pub indicators: Vec<IndicatorMatch>,
    /// When set, every kv call fails with `unavailable`, to test degraded behaviour.
    pub kv_down: bool,
    /// What the current hook call declared with `host::reuse_verdict` or
    /// `host::reuse_verdict_for`.
    pub reuse: Option<(ReuseScope, ReuseBasis)>,
    /// The current hook call used the clock, the key-value store or the indicators.
    pub stateful: bool,
}

impl NativeHost {
    fn live(&mut self, key: &str) -> Option<&Vec<u8>> {
        let now = self.now_ms;
        if let Some((_, Some(exp))) = self.kv.get(key)
            && *exp <= now
        {
            self.kv.remove(key);
        }
        self.kv.get(key).map(|(v, _)| v)
    }

    pub(crate) fn kv_get(&mut self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.check(key)?;
        Ok(self.live(key).cloned())
    }

    pub(crate) fn kv_set(
        &mut self,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
    ) -> Result<(), KvError> {
        self.check(key)?;
        let exp = ttl_ms.map(|t| self.now_ms + t);
        self.kv.insert(key.to_string(), (value.to_vec(), exp));
        Ok(())
    }

    pub(crate) fn kv_incr(
        &mut self,
        key: &str,
        delta: i64,
        ttl_ms: Option<u64>,
    ) -> Result<i64, KvError> {
        self.check(key)?;
        let current = match self.live(key) {
            Some(v) => std::str::from_utf8(v)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or(KvError::NotAnInteger)?,
            None => {
                let exp = ttl_ms.map(|t| self.now_ms + t);
                self.kv.insert(key.to_string(), (b"0".to_vec(), exp));
                0
            }
        };
        let next = current.saturating_add(delta);
        if let Some(entry) = self.kv.get_mut(key) {
            entry.0 = next.to_string().into_bytes();
        }
        Ok(next)
    }

    fn check(&self, key: &str) -> Result<(), KvError> {
        if self.kv_down {
            return Err(KvError::Unavailable("test host: kv is down".into()));
        }
        if key.is_empty() || key.len() > 512 {
            return Err(KvError::Invalid("key must be 1..=512 bytes".into()));
        }
        Ok(())
    }

    pub(crate) fn lookup(&self, kind: IndicatorKind, value: &str) -> Option<IndicatorMatch> {
        self.indicators
            .iter()
            .find(|m| m.kind == kind && m.value.eq_ignore_ascii_case(value))
            .cloned()
    }

    /// Lists an indicator (exact match only in the native host).
    pub fn add_indicator(&mut self, kind: IndicatorKind, value: &str, confidence: u8) {
        self.indicators.push(IndicatorMatch {
            id: format!("test--{}", self.indicators.len()),
            kind,
            value: value.to_string(),
            confidence,
            source: "test".into(),
        });
    }
}

thread_local! {
    static HOST: RefCell<NativeHost> = RefCell::new(NativeHost {
        now_ms: 1_700_000_000_000,
        ..NativeHost::default()
    });
}

/// Runs `f` with this thread's native host.
pub fn with_host<R>(f: impl FnOnce(&mut NativeHost) -> R) -> R {
    HOST.with(|h| f(&mut h.borrow_mut()))
}

/// Moves the native clock forward.
pub fn advance_ms(ms: u64) {
    with_host(|h| h.now_ms += ms);
}

/// Builder for a [`Connection`] with test defaults: tenant `acme`, user `alice`, database
/// `app`, client 127.0.0.1:50000, no TLS, PostgreSQL.
pub fn connection() -> ConnectionBuilder {
    ConnectionBuilder(Connection {
        id: 1,
        tenant: "acme".into(),
        user: "alice".into(),
        roles: Vec::new(),
        database: "app".into(),
        client_addr: "127.0.0.1".into(),
        client_port: 50000,
        tls: false,
        protocol: Protocol::Postgres,
        application_name: None,
        account_expires_at: None,
    })
}

pub struct ConnectionBuilder(Connection);

impl ConnectionBuilder {
    pub fn tenant(mut self, v: &str) -> Self {
        self.0.tenant = v.into();
        self
    }
    pub fn user(mut self, v: &str) -> Self {
        self.0.user = v.into();
        self
    }
    pub fn role(mut self, v: &str) -> Self {
        self.0.roles.push(v.into());
        self
    }
    pub fn database(mut self, v: &str) -> Self {
        self.0.database = v.into();
        self
    }
    pub fn addr(mut self, v: &str) -> Self {
        self.0.client_addr = v.into();
        self
    }
    pub fn tls(mut self, v: bool) -> Self {
        self.0.tls = v;
        self
    }
    pub fn protocol(mut self, v: Protocol) -> Self {
        self.0.protocol = v;
        self
    }
    pub fn expires_at(mut self, ms: u64) -> Self {
        self.0.account_expires_at = Some(ms);
        self
    }
    pub fn build(self) -> Connection {
        self.0
    }
}

/// Facts of an empty, parsed statement; a starting point for hand-made facts.
pub fn empty_facts() -> QueryFacts {
    QueryFacts {
        parsed: true,
        parse_error: None,
        statements: Vec::new(),
        stacked: false,
        tables: Vec::new(),
        functions: Vec::new(),
        comments: Vec::new(),
        union_count: 0,
        union_literal_branch: false,
        constant_comparisons: Vec::new(),
        literals: LiteralCounts {
            strings: 0,
            numbers: 0,
            placeholders: 0,
            nulls: 0,
            booleans: 0,
            hex: 0,
        },
        file_access: false,
        locking_read: false,
    }
}

/// A query with the given facts.
pub fn query_with(sql: &str, facts: QueryFacts) -> Query {
    Query {
        sql: sql.into(),
        facts,
        prepared_name: None,
        in_transaction: false,
    }
}

/// A PostgreSQL query whose facts come from the gateway's extractor.
#[cfg(feature = "harness")]
pub fn query(sql: &str) -> Query {
    query_in(sql, Protocol::Postgres)
}

/// A query in the given protocol's dialect whose facts come from the gateway's extractor.
#[cfg(feature = "harness")]
pub fn query_in(sql: &str, protocol: Protocol) -> Query {
    let dialect = match protocol {
        Protocol::Postgres => articdbm_facts::Dialect::Postgres,
        Protocol::Mysql => articdbm_facts::Dialect::Mysql,
        Protocol::Sqlite => articdbm_facts::Dialect::Sqlite,
    };
    query_with(sql, convert::facts(&articdbm_facts::extract(sql, dialect)))
}

/// Conversion from the extractor's types to the WIT types.
#[cfg(feature = "harness")]
pub mod convert {
    use crate as sdk;
    use articdbm_facts as f;

    pub fn facts(x: &f::QueryFacts) -> sdk::QueryFacts {
        sdk::QueryFacts {
            parsed: x.parsed,
            parse_error: x.parse_error.clone(),
            statements: x.statements.iter().map(|k| statement(*k)).collect(),
            stacked: x.stacked,
            tables: x
                .tables
                .iter()
                .map(|t| sdk::TableAccess {
                    schema: t.schema.clone(),
                    name: t.name.clone(),
                    access: access(t.access),
                    nested: t.nested,
                })
                .collect(),
            functions: x
                .functions
                .iter()
                .map(|c| sdk::FunctionCall {
                    name: c.name.clone(),
                    clause: clause(c.clause),
                })
                .collect(),
            comments: x
                .comments
                .iter()
                .map(|c| sdk::Comment {
                    kind: match c.kind {
                        f::CommentKind::Line => sdk::CommentKind::Line,
                        f::CommentKind::Block => sdk::CommentKind::Block,
                        f::CommentKind::Hash => sdk::CommentKind::Hash,
                        f::CommentKind::Conditional => sdk::CommentKind::Conditional,
                    },
                    position: match c.position {
                        f::CommentPosition::Leading => sdk::CommentPosition::Leading,
                        f::CommentPosition::Inner => sdk::CommentPosition::Inner,
                        f::CommentPosition::Trailing => sdk::CommentPosition::Trailing,
                    },
                    text: c.text.clone(),
                })
                .collect(),
            union_count: x.union_count,
            union_literal_branch: x.union_literal_branch,
            constant_comparisons: x
                .constant_comparisons
                .iter()
                .map(|c| sdk::ConstantComparison {
                    op: c.op.clone(),
                    value: c.value,
                    connective: match c.connective {
                        f::Connective::None => sdk::Connective::None,
                        f::Connective::And => sdk::Connective::And,
                        f::Connective::Or => sdk::Connective::Or,
                    },
                    position: c.position,
                    chain_length: c.chain_length,
                    clause: clause(c.clause),
                    beside_column_predicate: c.beside_column_predicate,
                })
                .collect(),
            literals: sdk::LiteralCounts {
                strings: x.literals.strings,
                numbers: x.literals.numbers,
                placeholders: x.literals.placeholders,
                nulls: x.literals.nulls,
                booleans: x.literals.booleans,
                hex: x.literals.hex,
            },
            file_access: x.file_access,
            locking_read: x.locking_read,
        }
    }

    pub fn statement(k: f::StatementKind) -> sdk::StatementKind {
        use f::StatementKind as F;
        use sdk::StatementKind as S;
        match k {
            F::Select => S::Select,
            F::Insert => S::Insert,
            F::Update => S::Update,
            F::Delete => S::Delete,
            F::Merge => S::Merge,
            F::Create => S::Create,
            F::Alter => S::Alter,
            F::Drop => S::Drop,
            F::Truncate => S::Truncate,
            F::Grant => S::Grant,
            F::Revoke => S::Revoke,
            F::Begin => S::Begin,
            F::Commit => S::Commit,
            F::Rollback => S::Rollback,
            F::Savepoint => S::Savepoint,
            F::Set => S::Set,
            F::Show => S::Show,
            F::Copy => S::Copy,
            F::Explain => S::Explain,
            F::Call => S::Call,
            F::Prepare => S::Prepare,
            F::Execute => S::Execute,
            F::Deallocate => S::Deallocate,
            F::Listen => S::Listen,
            F::Notify => S::Notify,
            F::Vacuum => S::Vacuum,
            F::Analyze => S::Analyze,
            F::Lock => S::Lock,
            F::UseDatabase => S::UseDatabase,
            F::Other => S::Other,
        }
    }

    pub fn access(a: f::AccessMode) -> sdk::AccessMode {
        match a {
            f::AccessMode::Read => sdk::AccessMode::Read,
            f::AccessMode::Insert => sdk::AccessMode::Insert,
            f::AccessMode::Update => sdk::AccessMode::Update,
            f::AccessMode::Delete => sdk::AccessMode::Delete,
            f::AccessMode::Ddl => sdk::AccessMode::Ddl,
        }
    }

    pub fn clause(c: f::Clause) -> sdk::Clause {
        use f::Clause as F;
        use sdk::Clause as S;
        match c {
            F::Projection => S::Projection,
            F::From => S::From,
            F::JoinCondition => S::JoinCondition,
            F::Where => S::Where,
            F::Having => S::Having,
            F::GroupBy => S::GroupBy,
            F::OrderBy => S::OrderBy,
            F::Limit => S::Limit,
            F::Values => S::Values,
            F::Other => S::Other,
        }
    }
}

/// A configured plugin under test.
pub struct Harness<P: Policy> {
    plugin: P,
}

impl<P: Policy> Harness<P> {
    /// Configures the plugin as the gateway would.
    pub fn new(config_json: &str) -> Result<Self, String> {
        Ok(Harness {
            plugin: P::configure(config_json)?,
        })
    }
    pub fn on_connect(&self, conn: &Connection) -> Verdict {
        self.plugin.on_connect(conn)
    }
    pub fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        with_host(|h| {
            h.reuse = None;
            h.stateful = false;
        });
        self.plugin.on_query(conn, query)
    }
    /// The reuse the last [`Harness::on_query`] declared, as the gateway would take it: `None`
    /// when it declared none, or when it used the clock, the key-value store or indicators.
    pub fn reused(&self) -> Option<ReuseScope> {
        self.reused_for().map(|(scope, _)| scope)
    }
    /// Like [`Harness::reused`], with the basis the declaration gave.
    pub fn reused_for(&self) -> Option<(ReuseScope, ReuseBasis)> {
        with_host(|h| if h.stateful { None } else { h.reuse })
    }
    pub fn plugin(&self) -> &P {
        &self.plugin
    }
}

/// Assertions on verdicts.
pub trait VerdictExt {
    fn is_allow(&self) -> bool;
    fn is_deny(&self) -> bool;
    fn is_audit(&self) -> bool;
    /// The rule id of a deny or audit verdict.
    fn rule(&self) -> Option<&str>;
}

impl VerdictExt for Verdict {
    fn is_allow(&self) -> bool {
        matches!(self, Verdict::Allow)
    }
    fn is_deny(&self) -> bool {
        matches!(self, Verdict::Deny(_))
    }
    fn is_audit(&self) -> bool {
        matches!(self, Verdict::Audit(_))
    }
    fn rule(&self) -> Option<&str> {
        match self {
            Verdict::Allow => None,
            Verdict::Deny(f) | Verdict::Audit(f) => Some(&f.rule),
        }
    }
}
