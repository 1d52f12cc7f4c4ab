//! Query facts: parse each SQL statement once (sqlparser, dialect by protocol) and describe
//! its structure — statement kinds, tables and access modes, functions, comments, unions,
//! constant comparisons, literal counts — for policy plugins. No I/O; results are cached by
//! statement text in a bounded cache.
//!
//! Bounds: statements over [`MAX_SQL_BYTES`] are not tokenized; sqlparser's recursion limit
//! and an operator-count limit keep the AST shallow enough to walk and drop on a small stack;
//! the walk itself stops at a fixed depth; every list holds at most [`MAX_LIST`] entries.
//! When a bound is hit the facts say `parsed == false` with a reason.

mod cache;
mod consts;
mod fingerprint;
mod kinds;
mod precedence;
pub mod sqltext;
mod tokens;
mod types;
mod walk;

pub use cache::FactsCache;
pub use fingerprint::{Fingerprint, Hidden, variants};
pub use types::*;

use sqlparser::dialect::{MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Tokenizer};

/// Longest SQL text analysed; longer statements get `parsed == false` without tokenizing.
pub const MAX_SQL_BYTES: usize = 1 << 20;

/// Most entries kept in each list of the facts (tables, functions, comments, comparisons,
/// statements).
pub const MAX_LIST: usize = 256;

/// sqlparser's nesting limit (its default): deeper SQL is a parse error, not a stack overflow.
/// Unoptimized sqlparser frames are large enough to overflow a 2 MiB thread stack near depth
/// 40, so debug builds use a lower limit.
const RECURSION_LIMIT: usize = if cfg!(debug_assertions) { 16 } else { 50 };

/// Deepest parenthesis nesting parsed. sqlparser backtracks on `(` (subquery or expression?)
/// and `NOT (` nested 30 deep already takes a quarter second; 24 stays under a millisecond.
const MAX_PARENS: u32 = 24;

/// Most binary operators in one statement. sqlparser parses a chain `a+b+c+...` in a loop that
/// its recursion limit does not count, but the resulting tree is as deep as the chain is long,
/// and dropping or visiting it recurses; this bound keeps that within a 2 MiB thread stack.
const MAX_OPERATORS: u32 = 2000;

static POSTGRES: PostgreSqlDialect = PostgreSqlDialect {};
static MYSQL: MySqlDialect = MySqlDialect {};
static SQLITE: SQLiteDialect = SQLiteDialect {};

fn dialect_of(d: Dialect) -> &'static dyn sqlparser::dialect::Dialect {
    match d {
        Dialect::Postgres => &POSTGRES,
        Dialect::Mysql => &MYSQL,
        Dialect::Sqlite => &SQLITE,
    }
}

fn empty() -> QueryFacts {
    QueryFacts {
        parsed: false,
        parse_error: None,
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

/// A comment's text as the facts give it: its body, truncated to 256 bytes on a char boundary.
pub fn comment_text(body: &str) -> &str {
    tokens::truncate(body)
}

/// Byte offset of a 1-based (line, column-in-chars) location in `sql`.
fn offset_of(sql: &str, loc: Location) -> usize {
    let mut line = 1u64;
    let mut col = 1u64;
    for (i, ch) in sql.char_indices() {
        if line == loc.line && col == loc.column {
            return i;
        }
        if ch == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    sql.len()
}

/// Extracts the facts of `sql` parsed in `dialect`. Never fails: unparsable SQL yields facts
/// with `parsed == false` filled from the token stream.
pub fn extract(sql: &str, dialect: Dialect) -> QueryFacts {
    let mut f = empty();
    if sql.len() > MAX_SQL_BYTES {
        f.parse_error = Some(format!(
            "statement is {} bytes, over the {MAX_SQL_BYTES}-byte limit for analysis",
            sql.len()
        ));
        return f;
    }
    let d = dialect_of(dialect);
    let mut tokens = match Tokenizer::new(d, sql).tokenize_with_location() {
        Ok(t) => t,
        Err(e) => {
            // Keep what the text before the error says (comments, literals, `;`).
            f.parse_error = Some(e.to_string());
            let end = offset_of(sql, e.location);
            if let Some(prefix) = sql.get(..end)
                && let Ok(t) = Tokenizer::new(d, prefix).tokenize_with_location()
            {
                let tf = tokens::scan(&t, dialect);
                f.comments = tf.comments;
                f.literals = tf.literals;
                // The unfinished token starts one more statement if it follows a `;`.
                f.stacked =
                    tf.statements > 1 || (tf.statements == 1 && prefix.trim_end().ends_with(';'));
            }
            return f;
        }
    };
    let mut tf = tokens::scan(&tokens, dialect);
    if dialect == Dialect::Mysql {
        tokens::strip_mysql_clauses(&mut tokens, &mut tf);
    }
    f.comments = std::mem::take(&mut tf.comments);
    f.literals = tf.literals;
    f.stacked = tf.statements > 1;
    f.file_access = tf.file_access;
    f.locking_read = tf.locking_read;
    if tf.max_operators > MAX_OPERATORS {
        f.parse_error = Some(format!(
            "statement has {} operators, over the {MAX_OPERATORS} limit for analysis",
            tf.max_operators
        ));
        return f;
    }
    if tf.max_parens > MAX_PARENS {
        f.parse_error = Some(format!(
            "statement nests parentheses {} deep, over the {MAX_PARENS} limit for analysis",
            tf.max_parens
        ));
        return f;
    }
    let rebalance = dialect == Dialect::Mysql && precedence::needed(&tokens);
    let mut statements = match Parser::new(d)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
    {
        Ok(s) => s,
        Err(e) => {
            f.parse_error = Some(e.to_string());
            return f;
        }
    };
    if rebalance {
        precedence::rebalance(&mut statements);
    }
    let mut w = walk::Walker::default();
    for st in &statements {
        let kind = w.statement(st);
        if f.statements.len() < MAX_LIST {
            f.statements.push(kind);
        }
    }
    f.parsed = !w.too_deep;
    if w.too_deep {
        f.parse_error = Some(format!(
            "statement nests deeper than {} levels; facts are incomplete",
            walk::MAX_DEPTH
        ));
    }
    f.stacked = statements.len() > 1;
    f.tables = w.tables;
    f.functions = w.functions;
    f.union_count = w.union_count;
    f.union_literal_branch = w.union_literal_branch;
    f.constant_comparisons = w.consts;
    f.file_access |= w.file_access;
    f.locking_read |= w.locking_read;
    f
}
