//! Helpers for reading query facts.

use crate::{AccessMode, QueryFacts, StatementKind, TableAccess};

/// Convenience queries over [`QueryFacts`].
pub trait FactsExt {
    /// True when any statement is of `kind`.
    fn has_statement(&self, kind: StatementKind) -> bool;
    /// True when every statement is a plain read (SELECT / SHOW / EXPLAIN) without locking.
    fn is_read_only(&self) -> bool;
    /// Tables accessed with `mode`.
    fn tables_with(&self, mode: AccessMode) -> impl Iterator<Item = &TableAccess>;
    /// True when a function with this (lowercase, unqualified) name is called.
    fn calls(&self, function: &str) -> bool;
}

impl FactsExt for QueryFacts {
    fn has_statement(&self, kind: StatementKind) -> bool {
        self.statements.contains(&kind)
    }

    fn is_read_only(&self) -> bool {
        !self.locking_read
            && !self.file_access
            && self.statements.iter().all(|k| {
                matches!(
                    k,
                    StatementKind::Select | StatementKind::Show | StatementKind::Explain
                )
            })
    }

    fn tables_with(&self, mode: AccessMode) -> impl Iterator<Item = &TableAccess> {
        self.tables.iter().filter(move |t| t.access == mode)
    }

    fn calls(&self, function: &str) -> bool {
        self.functions
            .iter()
            .any(|f| unqualified(&f.name) == function)
    }
}

/// The last dotted part of a name: `pg_catalog.pg_sleep` → `pg_sleep`.
pub fn unqualified(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Access mode of a statement kind, for permission checks that look at statements rather than
/// tables (`GRANT`, `SET`...). `None` for statements that touch no table data.
pub fn access_of(kind: StatementKind) -> Option<AccessMode> {
    use StatementKind::*;
    Some(match kind {
        Select | Show | Explain | Copy => AccessMode::Read,
        Insert => AccessMode::Insert,
        Update | Merge => AccessMode::Update,
        Delete => AccessMode::Delete,
        Create | Alter | Drop | Truncate | Grant | Revoke => AccessMode::Ddl,
        _ => return None,
    })
}
