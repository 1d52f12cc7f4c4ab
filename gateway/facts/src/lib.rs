//! Query facts: parse each SQL statement once (sqlparser, dialect by protocol) and describe
//! its structure — statement kinds, tables and access modes, functions, comments, unions,
//! constant comparisons, literal counts — for policy plugins. No I/O; results are cached by
//! statement text in a bounded cache.

mod types;

pub use types::*;

use std::sync::Arc;

/// Extracts the facts of `sql` parsed in `dialect`. Never fails: unparsable SQL yields facts
/// with `parsed == false` filled from the token stream.
pub fn extract(sql: &str, dialect: Dialect) -> QueryFacts {
    let _ = (sql, dialect);
    QueryFacts {
        parsed: false,
        parse_error: Some("facts extraction not implemented yet".into()),
        statements: Vec::new(),
        stacked: false,
        tables: Vec::new(),
        functions: Vec::new(),
        comments: Vec::new(),
        union_count: 0,
        union_literal_branch: false,
        constant_comparisons: Vec::new(),
        literals: LiteralCounts::default(),
        file_access: false,
        locking_read: false,
    }
}

/// A bounded cache of facts keyed by (dialect, statement text).
pub struct FactsCache {
    capacity: usize,
}

impl FactsCache {
    pub fn new(capacity: usize) -> Self {
        FactsCache { capacity }
    }

    pub fn get(&self, sql: &str, dialect: Dialect) -> Arc<QueryFacts> {
        let _ = self.capacity;
        Arc::new(extract(sql, dialect))
    }
}
