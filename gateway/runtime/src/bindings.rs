//! Host-side bindings of the `articdbm:policy@0.1.2` world, and conversion of extracted facts
//! into the WIT records plugins receive.
//!
//! One set of bindings serves every released contract version: 0.1.1 only adds the `reuse`
//! import and 0.1.2 one function to it, and wasmtime matches the interfaces of a component
//! built against 0.1.0 or 0.1.1 (`hooks@0.1.0`, `reuse@0.1.1`...) to their semver-compatible
//! 0.1.2 definitions.

wasmtime::component::bindgen!({
    path: "../../wit/v0.1.2",
    world: "articdbm:policy/policy",
});

pub use articdbm::policy::types::{
    AccessMode, Clause, Comment, CommentKind, CommentPosition, Connection, Connective,
    ConstantComparison, Finding, FunctionCall, IndicatorKind, LiteralCounts, Protocol, Query,
    QueryFacts, StatementKind, TableAccess, Verdict,
};

use articdbm_facts as f;

/// The SQL dialect used to parse statements arriving over `protocol`.
pub fn dialect_of(protocol: Protocol) -> f::Dialect {
    match protocol {
        Protocol::Postgres => f::Dialect::Postgres,
        Protocol::Mysql => f::Dialect::Mysql,
        Protocol::Sqlite => f::Dialect::Sqlite,
    }
}

/// Converts extracted facts into the WIT record.
pub fn facts(x: f::QueryFacts) -> QueryFacts {
    QueryFacts {
        parsed: x.parsed,
        parse_error: x.parse_error,
        statements: x.statements.into_iter().map(statement).collect(),
        stacked: x.stacked,
        tables: x
            .tables
            .into_iter()
            .map(|t| TableAccess {
                schema: t.schema,
                name: t.name,
                access: access(t.access),
                nested: t.nested,
            })
            .collect(),
        functions: x
            .functions
            .into_iter()
            .map(|c| FunctionCall {
                name: c.name,
                clause: clause(c.clause),
            })
            .collect(),
        comments: x
            .comments
            .into_iter()
            .map(|c| Comment {
                kind: match c.kind {
                    f::CommentKind::Line => CommentKind::Line,
                    f::CommentKind::Block => CommentKind::Block,
                    f::CommentKind::Hash => CommentKind::Hash,
                    f::CommentKind::Conditional => CommentKind::Conditional,
                },
                position: match c.position {
                    f::CommentPosition::Leading => CommentPosition::Leading,
                    f::CommentPosition::Inner => CommentPosition::Inner,
                    f::CommentPosition::Trailing => CommentPosition::Trailing,
                },
                text: c.text,
            })
            .collect(),
        union_count: x.union_count,
        union_literal_branch: x.union_literal_branch,
        constant_comparisons: x
            .constant_comparisons
            .into_iter()
            .map(|c| ConstantComparison {
                op: c.op,
                value: c.value,
                connective: match c.connective {
                    f::Connective::None => Connective::None,
                    f::Connective::And => Connective::And,
                    f::Connective::Or => Connective::Or,
                },
                position: c.position,
                chain_length: c.chain_length,
                clause: clause(c.clause),
                beside_column_predicate: c.beside_column_predicate,
            })
            .collect(),
        literals: LiteralCounts {
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

fn statement(k: f::StatementKind) -> StatementKind {
    use StatementKind as S;
    use f::StatementKind as F;
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

fn access(a: f::AccessMode) -> AccessMode {
    match a {
        f::AccessMode::Read => AccessMode::Read,
        f::AccessMode::Insert => AccessMode::Insert,
        f::AccessMode::Update => AccessMode::Update,
        f::AccessMode::Delete => AccessMode::Delete,
        f::AccessMode::Ddl => AccessMode::Ddl,
    }
}

fn clause(c: f::Clause) -> Clause {
    use Clause as S;
    use f::Clause as F;
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
