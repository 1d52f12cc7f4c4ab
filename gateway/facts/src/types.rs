//! The facts record handed to plugins; mirrors `articdbm:policy/types.query-facts` field for field.

use serde::Serialize;

/// Which SQL dialect to parse with; chosen from the client's wire protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Merge,
    Create,
    Alter,
    Drop,
    Truncate,
    Grant,
    Revoke,
    Begin,
    Commit,
    Rollback,
    Savepoint,
    Set,
    Show,
    Copy,
    Explain,
    Call,
    Prepare,
    Execute,
    Deallocate,
    Listen,
    Notify,
    Vacuum,
    Analyze,
    Lock,
    UseDatabase,
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccessMode {
    Read,
    Insert,
    Update,
    Delete,
    Ddl,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Clause {
    Projection,
    From,
    JoinCondition,
    Where,
    Having,
    GroupBy,
    OrderBy,
    Limit,
    Values,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct TableAccess {
    pub schema: Option<String>,
    pub name: String,
    pub access: AccessMode,
    pub nested: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct FunctionCall {
    pub name: String,
    pub clause: Clause,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommentKind {
    Line,
    Block,
    Hash,
    Conditional,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CommentPosition {
    Leading,
    Inner,
    Trailing,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Comment {
    pub kind: CommentKind,
    pub position: CommentPosition,
    /// Body without delimiters, truncated to 256 bytes on a char boundary.
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Connective {
    None,
    And,
    Or,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct ConstantComparison {
    pub op: String,
    pub value: Option<bool>,
    pub connective: Connective,
    pub position: u32,
    pub chain_length: u32,
    pub clause: Clause,
    pub beside_column_predicate: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
pub struct LiteralCounts {
    pub strings: u32,
    pub numbers: u32,
    pub placeholders: u32,
    pub nulls: u32,
    pub booleans: u32,
    pub hex: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct QueryFacts {
    pub parsed: bool,
    pub parse_error: Option<String>,
    pub statements: Vec<StatementKind>,
    pub stacked: bool,
    pub tables: Vec<TableAccess>,
    pub functions: Vec<FunctionCall>,
    pub comments: Vec<Comment>,
    pub union_count: u32,
    pub union_literal_branch: bool,
    pub constant_comparisons: Vec<ConstantComparison>,
    pub literals: LiteralCounts,
    pub file_access: bool,
    pub locking_read: bool,
}
