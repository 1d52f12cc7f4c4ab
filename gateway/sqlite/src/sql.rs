//! From PostgreSQL-dialect text to what the backend runs: statement splitting, classification
//! (transaction control, `SET`/`SHOW`/`DISCARD` and the other commands answered without
//! SQLite), and the light rewrite of everything else for SQLite (`$n` → `?n`, `::type` casts,
//! `E''`/`$$` literals, a few PostgreSQL spellings). No I/O; the session resolves schema
//! questions (column types) itself.

use std::collections::BTreeMap;

use super::lex::{Kind, Token, quote_ident, quote_literal, tokenize};
use super::types::{CastRewrite, PgType, cast_target};

/// Split a query string into statements (their text without the `;`), dropping empty ones.
///
/// Semicolons inside literals, quoted identifiers and comments do not split, nor do those of a
/// `CREATE TRIGGER ... BEGIN ...; END` body.
pub(crate) fn split(sql: &str) -> Vec<&str> {
    let toks = tokenize(sql);
    let mut out = Vec::new();
    let mut start = 0usize; // byte offset of the current statement
    let mut pos = 0usize;
    let mut head: Vec<String> = Vec::new(); // first keywords of the current statement
    let mut in_trigger_body = false;
    let mut case_depth = 0usize;
    let mut significant = false;
    for t in &toks {
        let at = pos;
        pos += t.text.len();
        if t.is_trivia() {
            continue;
        }
        if t.kind == Kind::Semi && !in_trigger_body {
            if significant {
                out.push(sql.get(start..at).unwrap_or_default());
            }
            start = pos;
            head.clear();
            significant = false;
            continue;
        }
        significant = true;
        if head.len() < 3 && t.kind == Kind::Ident {
            head.push(t.text.to_ascii_uppercase());
        }
        let is_trigger = head.first().is_some_and(|h| h == "CREATE")
            && head.iter().skip(1).any(|h| h == "TRIGGER");
        if is_trigger && t.kind == Kind::Ident {
            if !in_trigger_body && t.is_kw("BEGIN") {
                in_trigger_body = true;
                case_depth = 0;
            } else if in_trigger_body && t.is_kw("CASE") {
                case_depth += 1;
            } else if in_trigger_body && t.is_kw("END") {
                if case_depth > 0 {
                    case_depth -= 1;
                } else {
                    in_trigger_body = false;
                }
            }
        }
    }
    if significant {
        out.push(sql.get(start..).unwrap_or_default());
    }
    out
}

/// One statement, classified.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Command {
    /// Only whitespace and comments.
    Empty,
    /// `BEGIN` / `START TRANSACTION` (isolation levels ignored); `mode` is SQLite's
    /// `DEFERRED`, `IMMEDIATE` or `EXCLUSIVE`.
    Begin { mode: &'static str },
    /// `COMMIT` / `END`.
    Commit,
    /// `ROLLBACK` / `ABORT`.
    Rollback,
    /// `SAVEPOINT name`.
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`.
    Release(String),
    /// `ROLLBACK [WORK] TO [SAVEPOINT] name`.
    RollbackTo(String),
    /// `SET name = value` (`None`: `SET name TO DEFAULT`). `SET TRANSACTION ...` and other
    /// settings with no effect here are `Set` with an empty name.
    Set { name: String, value: Option<String> },
    /// `SHOW name` (`"all"` for `SHOW ALL`).
    Show(String),
    /// `RESET name` (`None`: `RESET ALL`).
    Reset(Option<String>),
    /// `DISCARD ALL | PLANS | TEMP | SEQUENCES`: the command tag.
    Discard(Discard),
    /// `DEALLOCATE [PREPARE] name | ALL` (`None`: all).
    Deallocate(Option<String>),
    /// `TRUNCATE [TABLE] a, b`: run as `DELETE FROM` each.
    Truncate(Vec<String>),
    /// A PostgreSQL command this backend does not implement (the feature name).
    Unsupported(String),
    /// Everything else goes to SQLite.
    Sql(SqlCommand),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Discard {
    All,
    Plans,
    Temp,
    Sequences,
}

impl Discard {
    pub fn tag(self) -> &'static str {
        match self {
            Self::All => "DISCARD ALL",
            Self::Plans => "DISCARD PLANS",
            Self::Temp => "DISCARD TEMP",
            Self::Sequences => "DISCARD SEQUENCES",
        }
    }
}

/// The main verb of a SQLite statement, for the command tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verb {
    /// `SELECT n` (also VALUES, and any other statement that returns rows).
    Select,
    /// `INSERT 0 n`.
    Insert,
    /// `UPDATE n`.
    Update,
    /// `DELETE n`.
    Delete,
    /// A fixed tag such as `CREATE TABLE` (row-returning statements still say `SELECT n`).
    Other(String),
}

/// Where a parameter's type may come from, when the client did not give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ParamHint {
    /// An explicit cast (`$1::int8`) or an unambiguous context (`LIMIT $1`, `$1 + 1`).
    Type(PgType),
    /// Compared with or assigned to a column (`col = $1`, `SET col = $1`, `col IN ($1)`).
    Column {
        qualifier: Option<String>,
        name: String,
    },
    /// The `index`-th column of `INSERT INTO table VALUES (...)` without a column list.
    ColumnAt { table: String, index: usize },
}

/// A table referenced by a statement, with its alias.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub name: String,
    pub alias: Option<String>,
}

/// A statement for SQLite.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct SqlCommand {
    /// The rewritten text.
    pub sql: String,
    pub verb: Verb,
    /// Highest `$n` used.
    pub max_param: usize,
    /// Hints for parameters, by number.
    pub param_hints: BTreeMap<u32, ParamHint>,
    /// Source text of the result expressions (select list, or RETURNING list), for type
    /// inference; empty when unknown.
    pub items: Vec<String>,
    /// The items are a VALUES row: SQLite's names (`column1`, ...) are PostgreSQL's too.
    pub values: bool,
    /// Tables the statement mentions.
    pub tables: Vec<TableRef>,
    /// PRAGMA, VACUUM, ATTACH, DETACH: SQLite refuses or ignores them inside a transaction,
    /// so they never run inside an implicit one.
    pub outside_transaction: bool,
}

/// Significant (non-trivia) tokens.
fn significant<'a>(toks: &[Token<'a>]) -> Vec<Token<'a>> {
    toks.iter().filter(|t| !t.is_trivia()).copied().collect()
}

fn upper(t: Option<&Token<'_>>) -> String {
    t.filter(|t| t.kind == Kind::Ident)
        .map(|t| t.text.to_ascii_uppercase())
        .unwrap_or_default()
}

/// Classify and rewrite one statement (as returned by [`split`]).
pub(crate) fn analyze(stmt: &str) -> Command {
    let toks = tokenize(stmt);
    let sig = significant(&toks);
    let Some(first) = sig.first() else {
        return Command::Empty;
    };
    let kw = |i: usize| upper(sig.get(i));
    let w0 = upper(Some(first));
    match w0.as_str() {
        "BEGIN" | "START" => {
            if w0 == "START" && kw(1) != "TRANSACTION" {
                return sql_command(stmt, &toks, &sig);
            }
            let mode = match kw(1).as_str() {
                "IMMEDIATE" => "IMMEDIATE",
                "EXCLUSIVE" => "EXCLUSIVE",
                _ => "DEFERRED",
            };
            Command::Begin { mode }
        }
        "COMMIT" | "END" => {
            if kw(1) == "PREPARED" {
                Command::Unsupported("two-phase commit".into())
            } else {
                Command::Commit
            }
        }
        "ABORT" => Command::Rollback,
        "ROLLBACK" => {
            if kw(1) == "PREPARED" {
                return Command::Unsupported("two-phase commit".into());
            }
            let mut i = 1;
            if matches!(kw(i).as_str(), "WORK" | "TRANSACTION") {
                i += 1;
            }
            if kw(i) == "TO" {
                i += 1;
                if kw(i) == "SAVEPOINT" {
                    i += 1;
                }
                match sig.get(i).and_then(Token::ident_name) {
                    Some(name) => Command::RollbackTo(name),
                    None => sql_command(stmt, &toks, &sig),
                }
            } else {
                Command::Rollback
            }
        }
        "SAVEPOINT" => match sig.get(1).and_then(Token::ident_name) {
            Some(name) => Command::Savepoint(name),
            None => sql_command(stmt, &toks, &sig),
        },
        "RELEASE" => {
            let i = if kw(1) == "SAVEPOINT" { 2 } else { 1 };
            match sig.get(i).and_then(Token::ident_name) {
                Some(name) => Command::Release(name),
                None => sql_command(stmt, &toks, &sig),
            }
        }
        "PREPARE" if kw(1) == "TRANSACTION" => Command::Unsupported("two-phase commit".into()),
        "SET" => parse_set(&sig),
        "SHOW" => parse_show(&sig),
        "RESET" => match kw(1).as_str() {
            "ALL" => Command::Reset(None),
            _ => Command::Reset(Some(setting_name(&sig[1..]).0)),
        },
        "DISCARD" => match kw(1).as_str() {
            "ALL" => Command::Discard(Discard::All),
            "PLANS" => Command::Discard(Discard::Plans),
            "TEMP" | "TEMPORARY" => Command::Discard(Discard::Temp),
            "SEQUENCES" => Command::Discard(Discard::Sequences),
            _ => sql_command(stmt, &toks, &sig),
        },
        "DEALLOCATE" => {
            let i = if kw(1) == "PREPARE" { 2 } else { 1 };
            if kw(i) == "ALL" {
                Command::Deallocate(None)
            } else {
                match sig.get(i).and_then(Token::ident_name) {
                    Some(n) => Command::Deallocate(Some(n)),
                    None => sql_command(stmt, &toks, &sig),
                }
            }
        }
        "TRUNCATE" => {
            let mut tables = Vec::new();
            let mut i = 1;
            while i < sig.len() {
                let t = &sig[i];
                if t.is_kw("TABLE") || t.is_kw("ONLY") || t.kind == Kind::Comma {
                    i += 1;
                    continue;
                }
                if t.is_kw("RESTART")
                    || t.is_kw("CONTINUE")
                    || t.is_kw("CASCADE")
                    || t.is_kw("RESTRICT")
                {
                    break;
                }
                let Some(mut name) = t.ident_name() else {
                    return sql_command(stmt, &toks, &sig);
                };
                // schema.table: keep the table.
                while sig.get(i + 1).is_some_and(|d| d.kind == Kind::Dot) {
                    match sig.get(i + 2).and_then(Token::ident_name) {
                        Some(n) => name = n,
                        None => break,
                    }
                    i += 2;
                }
                tables.push(name);
                i += 1;
            }
            if tables.is_empty() {
                sql_command(stmt, &toks, &sig)
            } else {
                Command::Truncate(tables)
            }
        }
        "COPY" => Command::Unsupported("COPY".into()),
        "LISTEN" | "NOTIFY" | "UNLISTEN" => Command::Unsupported(w0),
        "PREPARE" | "EXECUTE" => Command::Unsupported(format!("SQL-level {w0}")),
        "DECLARE" | "FETCH" | "MOVE" | "CLOSE" => Command::Unsupported("cursors".into()),
        "LOCK" | "GRANT" | "REVOKE" | "CLUSTER" | "CHECKPOINT" | "COMMENT" | "SECURITY"
        | "LOAD" | "REFRESH" | "IMPORT" | "CALL" | "DO" => Command::Unsupported(w0),
        "CREATE" | "DROP" | "ALTER" => {
            let mut i = 1;
            while matches!(
                kw(i).as_str(),
                "OR" | "REPLACE" | "TEMP" | "TEMPORARY" | "UNIQUE" | "UNLOGGED" | "MATERIALIZED"
            ) {
                i += 1;
            }
            let obj = kw(i);
            match obj.as_str() {
                "ROLE" | "USER" | "GROUP" | "DATABASE" | "SCHEMA" | "SEQUENCE" | "EXTENSION"
                | "FUNCTION" | "PROCEDURE" | "TYPE" | "DOMAIN" | "POLICY" | "PUBLICATION"
                | "SUBSCRIPTION" | "TABLESPACE" | "RULE" | "AGGREGATE" | "OPERATOR" | "SERVER"
                | "COLLATION" => Command::Unsupported(format!("{w0} {obj}")),
                _ => sql_command(stmt, &toks, &sig),
            }
        }
        _ => sql_command(stmt, &toks, &sig),
    }
}

/// A setting name: `a` or `a.b`, lower-cased. Returns the name and the tokens consumed.
fn setting_name(sig: &[Token<'_>]) -> (String, usize) {
    let mut name = sig.first().and_then(Token::ident_name).unwrap_or_default();
    let mut used = usize::from(!sig.is_empty());
    while sig.get(used).is_some_and(|t| t.kind == Kind::Dot) {
        if let Some(n) = sig.get(used + 1).and_then(Token::ident_name) {
            name.push('.');
            name.push_str(&n);
            used += 2;
        } else {
            break;
        }
    }
    (name, used)
}

fn parse_set(sig: &[Token<'_>]) -> Command {
    let mut i = 1;
    if sig
        .get(i)
        .is_some_and(|t| t.is_kw("SESSION") || t.is_kw("LOCAL"))
    {
        // SET SESSION AUTHORIZATION / CHARACTERISTICS are not settings.
        if sig.get(i + 1).is_some_and(|t| t.is_kw("CHARACTERISTICS")) {
            return ignored_set();
        }
        if sig.get(i + 1).is_some_and(|t| t.is_kw("AUTHORIZATION")) {
            return Command::Unsupported("SET SESSION AUTHORIZATION".into());
        }
        i += 1;
    }
    let rest = sig.get(i..).unwrap_or_default();
    let (name, used) = match rest.first() {
        Some(t) if t.is_kw("TRANSACTION") => return ignored_set(),
        Some(t) if t.is_kw("TIME") && rest.get(1).is_some_and(|z| z.is_kw("ZONE")) => {
            ("timezone".to_owned(), 2)
        }
        Some(t) if t.is_kw("NAMES") => ("client_encoding".to_owned(), 1),
        Some(t) if t.is_kw("SCHEMA") => ("search_path".to_owned(), 1),
        Some(t) if t.is_kw("ROLE") => return Command::Unsupported("SET ROLE".into()),
        _ => setting_name(rest),
    };
    if name.is_empty() {
        return Command::Unsupported("this form of SET".into());
    }
    let mut vals = rest.get(used..).unwrap_or_default();
    if vals
        .first()
        .is_some_and(|t| t.is_kw("TO") || (t.kind == Kind::Op && t.text == "="))
    {
        vals = &vals[1..];
    }
    if vals.len() == 1 && (vals[0].is_kw("DEFAULT") || vals[0].is_kw("LOCAL")) {
        return Command::Set { name, value: None };
    }
    let mut parts: Vec<String> = Vec::new();
    let mut cur = String::new();
    for t in vals {
        match t.kind {
            Kind::Comma => parts.push(std::mem::take(&mut cur)),
            Kind::Str | Kind::EStr | Kind::DollarStr => {
                cur.push_str(&t.string_value().unwrap_or_default());
            }
            Kind::Ident | Kind::QIdent => cur.push_str(&t.ident_name().unwrap_or_default()),
            _ => cur.push_str(t.text),
        }
    }
    parts.push(cur);
    Command::Set {
        name,
        value: Some(parts.join(", ")),
    }
}

fn ignored_set() -> Command {
    Command::Set {
        name: String::new(),
        value: None,
    }
}

fn parse_show(sig: &[Token<'_>]) -> Command {
    let rest = sig.get(1..).unwrap_or_default();
    let first = rest.first();
    let name =
        if first.is_some_and(|t| t.is_kw("TIME")) && rest.get(1).is_some_and(|t| t.is_kw("ZONE")) {
            "timezone".to_owned()
        } else if first.is_some_and(|t| t.is_kw("TRANSACTION")) {
            "transaction_isolation".to_owned()
        } else if first.is_some_and(|t| t.is_kw("SESSION"))
            && rest.get(1).is_some_and(|t| t.is_kw("AUTHORIZATION"))
        {
            "session_authorization".to_owned()
        } else {
            setting_name(rest).0
        };
    Command::Show(name)
}

/// Reserved words that cannot name a function or a table alias.
const RESERVED: &[&str] = &[
    "ALL",
    "AND",
    "ANY",
    "ARRAY",
    "AS",
    "ASC",
    "BETWEEN",
    "BY",
    "CASE",
    "CHECK",
    "CROSS",
    "DEFAULT",
    "DESC",
    "DISTINCT",
    "ELSE",
    "END",
    "EXCEPT",
    "EXISTS",
    "FETCH",
    "FOR",
    "FROM",
    "FULL",
    "GROUP",
    "HAVING",
    "IN",
    "INNER",
    "INTERSECT",
    "INTO",
    "IS",
    "JOIN",
    "LEFT",
    "LIKE",
    "ILIKE",
    "LIMIT",
    "NATURAL",
    "NOT",
    "NULL",
    "OFFSET",
    "ON",
    "OR",
    "ORDER",
    "OUTER",
    "RETURNING",
    "RIGHT",
    "SELECT",
    "SET",
    "SOME",
    "TABLE",
    "THEN",
    "UNION",
    "USING",
    "VALUES",
    "WHEN",
    "WHERE",
    "WINDOW",
    "WITH",
    "GLOB",
    "REGEXP",
    "MATCH",
];

pub(crate) fn is_reserved(t: &Token<'_>) -> bool {
    t.kind == Kind::Ident && RESERVED.iter().any(|r| t.text.eq_ignore_ascii_case(r))
}

/// A piece of rewritten output: text plus the kind of the token it came from (`None` for
/// synthesized text such as a whole `CAST(...)`, which behaves like a parenthesised primary).
struct Piece {
    text: String,
    kind: Option<Kind>,
}

fn sql_command(stmt: &str, toks: &[Token<'_>], sig: &[Token<'_>]) -> Command {
    let w0 = upper(sig.first());
    let ddl = matches!(w0.as_str(), "CREATE" | "ALTER");
    let mut param_hints = BTreeMap::new();
    let sql = rewrite(toks, ddl, &mut param_hints);
    let max_param = sig
        .iter()
        .filter_map(Token::param_number)
        .max()
        .unwrap_or(0) as usize;
    context_hints(sig, &mut param_hints);
    let verb = verb(sig);
    let (items, values) = result_items(stmt, toks);
    let tables = tables(sig);
    let outside_transaction = matches!(w0.as_str(), "PRAGMA" | "VACUUM" | "ATTACH" | "DETACH");
    Command::Sql(SqlCommand {
        sql,
        verb,
        max_param,
        param_hints,
        items,
        values,
        tables,
        outside_transaction,
    })
}

/// The main verb, looking past a leading `WITH` clause.
fn verb(sig: &[Token<'_>]) -> Verb {
    let w0 = upper(sig.first());
    let main = if w0 == "WITH" {
        let mut depth = 0i32;
        let mut found = String::new();
        for t in sig.iter().skip(1) {
            match t.kind {
                Kind::LParen => depth += 1,
                Kind::RParen => depth -= 1,
                Kind::Ident if depth == 0 => {
                    let u = t.text.to_ascii_uppercase();
                    if matches!(
                        u.as_str(),
                        "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "VALUES" | "REPLACE"
                    ) {
                        found = u;
                        break;
                    }
                }
                _ => {}
            }
        }
        found
    } else {
        w0.clone()
    };
    match main.as_str() {
        "SELECT" | "VALUES" | "WITH" | "" => Verb::Select,
        "INSERT" | "REPLACE" => Verb::Insert,
        "UPDATE" => Verb::Update,
        "DELETE" => Verb::Delete,
        "CREATE" | "DROP" | "ALTER" => {
            let mut words = vec![main.clone()];
            for t in sig.iter().skip(1).take(4) {
                let u = upper(Some(t));
                match u.as_str() {
                    "OR" | "REPLACE" | "TEMP" | "TEMPORARY" | "UNIQUE" | "VIRTUAL" => continue,
                    "TABLE" | "INDEX" | "VIEW" | "TRIGGER" => {
                        words.push(u);
                        break;
                    }
                    _ => break,
                }
            }
            Verb::Other(words.join(" "))
        }
        "EXPLAIN" => Verb::Other("EXPLAIN".into()),
        other => Verb::Other(other.to_owned()),
    }
}

/// The type name after `::` starting at `toks[i]` (trivia allowed between words). Returns the
/// normalized name, whether it is an array, and the index after the last token used.
fn cast_type_name(toks: &[Token<'_>], mut i: usize) -> Option<(String, bool, usize)> {
    let skip = |toks: &[Token<'_>], mut i: usize| {
        while toks.get(i).is_some_and(Token::is_trivia) {
            i += 1;
        }
        i
    };
    i = skip(toks, i);
    let mut name = toks.get(i)?.ident_name()?;
    i += 1;
    // pg_catalog.int8
    let j = skip(toks, i);
    if toks.get(j).is_some_and(|t| t.kind == Kind::Dot) {
        let k = skip(toks, j + 1);
        name = toks.get(k)?.ident_name()?;
        i = k + 1;
    }
    let follow: &[(&str, &[&str])] = &[
        ("double", &["precision"]),
        ("character", &["varying"]),
        ("char", &["varying"]),
        ("bit", &["varying"]),
        ("timestamp", &["with", "without", "time", "zone"]),
        ("time", &["with", "without", "time", "zone"]),
    ];
    if let Some((_, words)) = follow.iter().find(|(w, _)| *w == name) {
        loop {
            let j = skip(toks, i);
            match toks.get(j) {
                Some(t) if t.kind == Kind::Ident && words.iter().any(|w| t.is_kw(w)) => {
                    name.push(' ');
                    name.push_str(&t.text.to_ascii_lowercase());
                    i = j + 1;
                }
                _ => break,
            }
        }
    }
    // Modifiers: varchar(20), numeric(10, 2).
    let j = skip(toks, i);
    if toks.get(j).is_some_and(|t| t.kind == Kind::LParen) {
        let mut k = j + 1;
        while toks.get(k).is_some_and(|t| t.kind != Kind::RParen) {
            k += 1;
        }
        i = k + 1;
    }
    // Arrays: int[] / int[3].
    let mut array = false;
    loop {
        let j = skip(toks, i);
        if toks
            .get(j)
            .is_some_and(|t| t.kind == Kind::Op && t.text == "[")
        {
            let mut k = j + 1;
            while toks
                .get(k)
                .is_some_and(|t| !(t.kind == Kind::Op && t.text == "]"))
            {
                k += 1;
            }
            i = k + 1;
            array = true;
        } else {
            break;
        }
    }
    if name.starts_with('_') {
        array = true;
    }
    Some((name, array, i.min(toks.len())))
}

/// Start index (in `pieces`) of the primary expression that ends the output, if any.
fn primary_start(pieces: &[Piece]) -> Option<usize> {
    let mut j = pieces.len();
    while j > 0 && matches!(pieces[j - 1].kind, Some(Kind::Space | Kind::Comment)) {
        j -= 1;
    }
    let last = j.checked_sub(1)?;
    match pieces[last].kind {
        None => Some(last),
        Some(Kind::RParen) => {
            let mut depth = 0i32;
            let mut k = last;
            loop {
                match pieces[k].kind {
                    Some(Kind::RParen) => depth += 1,
                    Some(Kind::LParen) => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k = k.checked_sub(1)?;
            }
            // A function call: name (possibly qualified) right before the parenthesis.
            if k > 0 && matches!(pieces[k - 1].kind, Some(Kind::Ident | Kind::QIdent)) {
                let name = &pieces[k - 1];
                let tok = Token {
                    kind: name.kind.unwrap_or(Kind::Ident),
                    text: &name.text,
                };
                if !is_reserved(&tok) {
                    return Some(qualified_start(pieces, k - 1));
                }
            }
            Some(k)
        }
        Some(Kind::Ident | Kind::QIdent) => {
            let tok = Token {
                kind: pieces[last].kind.unwrap_or(Kind::Ident),
                text: &pieces[last].text,
            };
            if is_reserved(&tok) && !tok.is_kw("NULL") {
                return None;
            }
            Some(qualified_start(pieces, last))
        }
        Some(
            Kind::Str | Kind::EStr | Kind::DollarStr | Kind::Blob | Kind::Number | Kind::Param,
        ) => Some(last),
        _ => None,
    }
}

/// Extend an identifier at `i` backwards over `a.b.` qualifiers.
fn qualified_start(pieces: &[Piece], mut i: usize) -> usize {
    while i >= 2
        && pieces[i - 1].kind == Some(Kind::Dot)
        && matches!(pieces[i - 2].kind, Some(Kind::Ident | Kind::QIdent))
    {
        i -= 2;
    }
    i
}

fn next_sig(toks: &[Token<'_>], mut i: usize) -> Option<usize> {
    while toks.get(i).is_some_and(Token::is_trivia) {
        i += 1;
    }
    (i < toks.len()).then_some(i)
}

fn prev_sig(toks: &[Token<'_>], i: usize) -> Option<usize> {
    let mut j = i;
    while j > 0 {
        j -= 1;
        if !toks[j].is_trivia() {
            return Some(j);
        }
    }
    None
}

/// Index of the `)` matching the `(` at `open`.
fn matching_paren(toks: &[Token<'_>], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t.kind {
            Kind::LParen => depth += 1,
            Kind::RParen => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

/// Rewrite a statement's tokens for SQLite, recording the types of cast parameters.
fn rewrite(toks: &[Token<'_>], ddl: bool, hints: &mut BTreeMap<u32, ParamHint>) -> String {
    let mut pieces: Vec<Piece> = Vec::with_capacity(toks.len());
    let mut i = 0;
    while i < toks.len() {
        let t = toks[i];
        match t.kind {
            Kind::Cast => {
                let Some((name, array, next)) = cast_type_name(toks, i + 1) else {
                    // Not a type after all: leave it for SQLite to reject.
                    pieces.push(Piece {
                        text: t.text.to_owned(),
                        kind: Some(t.kind),
                    });
                    i += 1;
                    continue;
                };
                let target = cast_target(&name, array);
                // Trailing trivia before `::` is dropped.
                while pieces
                    .last()
                    .is_some_and(|p| matches!(p.kind, Some(Kind::Space | Kind::Comment)))
                {
                    pieces.pop();
                }
                if let Some(start) = primary_start(&pieces) {
                    if start + 1 == pieces.len()
                        && pieces[start].kind == Some(Kind::Param)
                        && let Some(n) = pieces[start]
                            .text
                            .get(1..)
                            .and_then(|d| d.parse::<u32>().ok())
                    {
                        hints
                            .entry(n)
                            .or_insert(ParamHint::Type(target.ty.unwrap_or(PgType::Text)));
                    }
                    let operand: String = pieces.drain(start..).map(|p| p.text).collect();
                    let text = match target.rewrite {
                        CastRewrite::Sqlite(aff) => format!("CAST({operand} AS {aff})"),
                        CastRewrite::Function(f) => format!("{f}({operand})"),
                        CastRewrite::Strip => format!("({operand})"),
                    };
                    pieces.push(Piece { text, kind: None });
                }
                i = next;
                continue;
            }
            Kind::Param => {
                let n = t.text.get(1..).unwrap_or_default();
                pieces.push(Piece {
                    text: format!("?{n}"),
                    kind: Some(Kind::Param),
                });
            }
            Kind::EStr | Kind::DollarStr => pieces.push(Piece {
                text: quote_literal(&t.string_value().unwrap_or_default()),
                kind: Some(Kind::Str),
            }),
            Kind::Ident => {
                let next = next_sig(toks, i + 1);
                let next_tok = next.map(|n| toks[n]);
                let prev_is_dot = prev_sig(toks, i).is_some_and(|p| toks[p].kind == Kind::Dot);
                let lower = t.text.to_ascii_lowercase();
                let call = next_tok.is_some_and(|n| n.kind == Kind::LParen);
                let text = match lower.as_str() {
                    "ilike" => "LIKE".to_owned(),
                    "string_agg" if call => "group_concat".to_owned(),
                    "current_user" | "session_user" | "current_role" | "current_catalog"
                    | "current_schema"
                        if !call && !prev_is_dot =>
                    {
                        format!("{lower}()")
                    }
                    "pg_catalog"
                        if next_tok.is_some_and(|n| n.kind == Kind::Dot)
                            && next.and_then(|n| next_sig(toks, n + 1)).is_some_and(|f| {
                                toks[f].kind == Kind::Ident
                                    && next_sig(toks, f + 1)
                                        .is_some_and(|p| toks[p].kind == Kind::LParen)
                            }) =>
                    {
                        // pg_catalog.version() → version()
                        i = next.map_or(i + 1, |n| n + 1);
                        continue;
                    }
                    "serial" | "serial4" | "serial8" | "bigserial" | "smallserial" | "serial2"
                        if ddl =>
                    {
                        "INTEGER".to_owned()
                    }
                    "generated" if ddl => {
                        // GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [(...)] → nothing
                        // (an INTEGER PRIMARY KEY is SQLite's identity column).
                        if let Some(end) = identity_clause_end(toks, i) {
                            i = end;
                            continue;
                        }
                        t.text.to_owned()
                    }
                    "default" if ddl => {
                        // DEFAULT f(...)[::type] → DEFAULT (f(...)): SQLite wants
                        // parentheses around any default that is not a literal.
                        if let Some(n) = next
                            && toks[n].kind == Kind::Ident
                            && let Some(p) = next_sig(toks, n + 1)
                            && toks[p].kind == Kind::LParen
                            && let Some(close) = matching_paren(toks, p)
                        {
                            let mut end = close + 1;
                            if let Some(c) = next_sig(toks, end)
                                && toks[c].kind == Kind::Cast
                                && let Some((_, _, after)) = cast_type_name(toks, c + 1)
                            {
                                end = after;
                            }
                            let inner = rewrite(&toks[n..end], ddl, hints);
                            pieces.push(Piece {
                                text: format!("{} ({inner})", t.text),
                                kind: None,
                            });
                            i = end;
                            continue;
                        }
                        t.text.to_owned()
                    }
                    _ => t.text.to_owned(),
                };
                pieces.push(Piece {
                    text,
                    kind: Some(Kind::Ident),
                });
            }
            _ => pieces.push(Piece {
                text: t.text.to_owned(),
                kind: Some(t.kind),
            }),
        }
        i += 1;
    }
    pieces.into_iter().map(|p| p.text).collect()
}

/// `GENERATED {ALWAYS | BY DEFAULT} AS IDENTITY [( options )]` starting at `i`: the index
/// after it.
fn identity_clause_end(toks: &[Token<'_>], i: usize) -> Option<usize> {
    let mut j = next_sig(toks, i + 1)?;
    if toks[j].is_kw("ALWAYS") {
        j = next_sig(toks, j + 1)?;
    } else if toks[j].is_kw("BY") {
        j = next_sig(toks, j + 1)?;
        if !toks[j].is_kw("DEFAULT") {
            return None;
        }
        j = next_sig(toks, j + 1)?;
    } else {
        return None;
    }
    if !toks[j].is_kw("AS") {
        return None;
    }
    j = next_sig(toks, j + 1)?;
    if !toks[j].is_kw("IDENTITY") {
        return None;
    }
    let after = j + 1;
    match next_sig(toks, after) {
        Some(p) if toks[p].kind == Kind::LParen => matching_paren(toks, p).map(|c| c + 1),
        _ => Some(after),
    }
}

const COMPARISON: &[&str] = &[
    "=", "<>", "!=", "<", ">", "<=", ">=", "==", "+", "-", "*", "/", "%",
];

/// A column reference or literal ending at `sig[i]` (going left) or starting at `sig[i]`
/// (going right): the hint it gives a parameter compared with it.
fn operand_hint(sig: &[Token<'_>], i: usize, leftwards: bool) -> Option<ParamHint> {
    let t = sig.get(i)?;
    match t.kind {
        Kind::Number => Some(ParamHint::Type(if t.text.contains(['.', 'e', 'E']) {
            PgType::Float8
        } else {
            PgType::Int8
        })),
        Kind::Str | Kind::EStr | Kind::DollarStr => Some(ParamHint::Type(PgType::Text)),
        Kind::Ident | Kind::QIdent if !is_reserved(t) => {
            if leftwards {
                let name = t.ident_name()?;
                let qualifier = (i >= 2 && sig[i - 1].kind == Kind::Dot)
                    .then(|| sig[i - 2].ident_name())
                    .flatten();
                Some(ParamHint::Column { qualifier, name })
            } else {
                // a.b: the column is the last part; a function call is not a column.
                let mut j = i;
                let mut qualifier = None;
                while sig.get(j + 1).is_some_and(|d| d.kind == Kind::Dot) {
                    qualifier = sig[j].ident_name();
                    j += 2;
                }
                if sig.get(j + 1).is_some_and(|p| p.kind == Kind::LParen) {
                    return None;
                }
                Some(ParamHint::Column {
                    qualifier,
                    name: sig.get(j)?.ident_name()?,
                })
            }
        }
        _ => None,
    }
}

/// Parameter types from context: `LIMIT $1`, `col = $1`, `$1 < col`, `col IN ($1, $2)`,
/// `col BETWEEN $1 AND $2`, `col LIKE $1`, `INSERT INTO t (a, b) VALUES ($1, $2)`.
fn context_hints(sig: &[Token<'_>], hints: &mut BTreeMap<u32, ParamHint>) {
    let insert = insert_targets(sig);
    for (i, t) in sig.iter().enumerate() {
        let Some(n) = t.param_number() else { continue };
        if hints.contains_key(&n) {
            continue;
        }
        let prev = i.checked_sub(1).and_then(|p| sig.get(p));
        let next = sig.get(i + 1);
        let hint = if prev.is_some_and(|p| p.is_kw("LIMIT") || p.is_kw("OFFSET")) {
            Some(ParamHint::Type(PgType::Int8))
        } else if prev.is_some_and(|p| p.is_kw("LIKE") || p.is_kw("ILIKE") || p.is_kw("GLOB"))
            || prev.is_some_and(|p| p.kind == Kind::Op && p.text == "||")
            || next.is_some_and(|p| p.kind == Kind::Op && p.text == "||")
        {
            Some(ParamHint::Type(PgType::Text))
        } else if let Some(p) = prev.filter(|p| p.kind == Kind::Op && COMPARISON.contains(&p.text))
        {
            let _ = p;
            operand_hint(sig, i.wrapping_sub(2), true).or_else(|| {
                next.filter(|x| x.kind == Kind::Op && COMPARISON.contains(&x.text))
                    .and_then(|_| operand_hint(sig, i + 2, false))
            })
        } else if let Some(x) = next.filter(|x| x.kind == Kind::Op && COMPARISON.contains(&x.text))
        {
            let _ = x;
            operand_hint(sig, i + 2, false)
        } else if prev.is_some_and(|p| p.is_kw("BETWEEN")) {
            operand_hint(sig, i.wrapping_sub(2), true)
        } else if prev.is_some_and(|p| p.is_kw("AND")) && i >= 4 && sig[i - 3].is_kw("BETWEEN") {
            operand_hint(sig, i - 4, true)
        } else {
            in_list_hint(sig, i)
        };
        let hint = hint.or_else(|| insert.get(&i).cloned());
        if let Some(h) = hint {
            hints.insert(n, h);
        }
    }
}

/// `col IN ($1, $2, ...)`: walk back over the list to `IN (`.
fn in_list_hint(sig: &[Token<'_>], i: usize) -> Option<ParamHint> {
    let mut j = i;
    loop {
        let p = sig.get(j.checked_sub(1)?)?;
        match p.kind {
            Kind::Comma => j = j.checked_sub(2)?,
            Kind::LParen => break,
            _ => return None,
        }
        if sig.get(j)?.param_number().is_none()
            && !matches!(sig.get(j)?.kind, Kind::Number | Kind::Str)
        {
            return None;
        }
    }
    // sig[j-1] is `(`; before it IN (or NOT IN).
    if !sig.get(j.checked_sub(2)?)?.is_kw("IN") {
        return None;
    }
    let mut k = j.checked_sub(3)?;
    if sig.get(k)?.is_kw("NOT") {
        k = k.checked_sub(1)?;
    }
    operand_hint(sig, k, true)
}

/// For `INSERT INTO t [(cols)] VALUES (...), (...)`: the hint for each token index that is a
/// direct value of a tuple.
fn insert_targets(sig: &[Token<'_>]) -> BTreeMap<usize, ParamHint> {
    let mut out = BTreeMap::new();
    let Some(into) = sig.iter().position(|t| t.is_kw("INTO")) else {
        return out;
    };
    if !sig
        .first()
        .is_some_and(|t| t.is_kw("INSERT") || t.is_kw("REPLACE"))
    {
        return out;
    }
    let Some(mut table) = sig.get(into + 1).and_then(Token::ident_name) else {
        return out;
    };
    let mut i = into + 2;
    while sig.get(i).is_some_and(|t| t.kind == Kind::Dot) {
        match sig.get(i + 1).and_then(Token::ident_name) {
            Some(n) => table = n,
            None => return out,
        }
        i += 2;
    }
    if sig.get(i).is_some_and(|t| t.is_kw("AS")) {
        i += 2;
    }
    let mut columns: Option<Vec<String>> = None;
    if sig.get(i).is_some_and(|t| t.kind == Kind::LParen) {
        let mut cols = Vec::new();
        i += 1;
        while let Some(t) = sig.get(i) {
            match t.kind {
                Kind::RParen => break,
                Kind::Comma => {}
                _ => cols.push(t.ident_name().unwrap_or_default()),
            }
            i += 1;
        }
        i += 1;
        columns = Some(cols);
    }
    if !sig.get(i).is_some_and(|t| t.is_kw("VALUES")) {
        return out;
    }
    i += 1;
    // Each tuple: ( v, v, ... ) , ( ... )
    while sig.get(i).is_some_and(|t| t.kind == Kind::LParen) {
        let mut depth = 0i32;
        let mut pos = 0usize;
        let mut item_start = true;
        let mut item_len = 0usize;
        let mut item_at = 0usize;
        let mut j = i;
        while let Some(t) = sig.get(j) {
            match t.kind {
                Kind::LParen => {
                    depth += 1;
                    if depth > 1 {
                        item_len += 1;
                    }
                }
                Kind::RParen => {
                    depth -= 1;
                    if depth == 0 {
                        record(&mut out, &columns, &table, pos, item_at, item_len, sig);
                        j += 1;
                        break;
                    }
                    item_len += 1;
                }
                Kind::Comma if depth == 1 => {
                    record(&mut out, &columns, &table, pos, item_at, item_len, sig);
                    pos += 1;
                    item_start = true;
                    item_len = 0;
                }
                _ => {
                    if item_start {
                        item_at = j;
                        item_start = false;
                    }
                    item_len += 1;
                }
            }
            j += 1;
        }
        i = j;
        if sig.get(i).is_some_and(|t| t.kind == Kind::Comma) {
            i += 1;
        } else {
            break;
        }
    }
    out
}

fn record(
    out: &mut BTreeMap<usize, ParamHint>,
    columns: &Option<Vec<String>>,
    table: &str,
    pos: usize,
    at: usize,
    len: usize,
    sig: &[Token<'_>],
) {
    // Only a bare `$n` (possibly followed by a cast, which already gave its type).
    if len != 1 || sig.get(at).and_then(Token::param_number).is_none() {
        return;
    }
    let hint = match columns {
        Some(cols) => match cols.get(pos) {
            Some(c) => ParamHint::Column {
                qualifier: Some(table.to_owned()),
                name: c.clone(),
            },
            None => return,
        },
        None => ParamHint::ColumnAt {
            table: table.to_owned(),
            index: pos,
        },
    };
    out.insert(at, hint);
}

/// Tables named after FROM, JOIN, UPDATE, INTO (and comma lists after FROM), with aliases.
fn tables(sig: &[Token<'_>]) -> Vec<TableRef> {
    let mut out: Vec<TableRef> = Vec::new();
    let mut i = 0;
    while i < sig.len() {
        let t = &sig[i];
        let starts = t.is_kw("FROM") || t.is_kw("JOIN") || t.is_kw("UPDATE") || t.is_kw("INTO");
        if !starts {
            i += 1;
            continue;
        }
        let list = t.is_kw("FROM");
        i += 1;
        while let Some(mut name) = sig
            .get(i)
            .filter(|t| !is_reserved(t))
            .and_then(Token::ident_name)
        {
            if sig.get(i + 1).is_some_and(|p| p.kind == Kind::LParen) {
                break; // a table-valued function
            }
            i += 1;
            while sig.get(i).is_some_and(|t| t.kind == Kind::Dot) {
                match sig.get(i + 1).and_then(Token::ident_name) {
                    Some(n) => name = n,
                    None => break,
                }
                i += 2;
            }
            let mut alias = None;
            if sig.get(i).is_some_and(|t| t.is_kw("AS")) {
                i += 1;
            }
            if let Some(a) = sig
                .get(i)
                .filter(|t| !is_reserved(t) && !t.is_kw("SET") && !t.is_kw("LEFT"))
                .and_then(Token::ident_name)
            {
                alias = Some(a);
                i += 1;
            }
            if !out.iter().any(|r| r.name == name && r.alias == alias) {
                out.push(TableRef { name, alias });
            }
            if list && sig.get(i).is_some_and(|t| t.kind == Kind::Comma) {
                i += 1;
                continue;
            }
            break;
        }
    }
    out
}

/// Source text of the result expressions: the main SELECT's list, VALUES' first row, or the
/// RETURNING list (and whether it is a VALUES row). Empty if the statement has none or its
/// shape is not recognised.
fn result_items(stmt: &str, toks: &[Token<'_>]) -> (Vec<String>, bool) {
    // Byte offsets of tokens.
    let mut offsets = Vec::with_capacity(toks.len() + 1);
    let mut pos = 0;
    for t in toks {
        offsets.push(pos);
        pos += t.text.len();
    }
    offsets.push(pos);
    let sig_idx: Vec<usize> = (0..toks.len()).filter(|&i| !toks[i].is_trivia()).collect();
    let first = sig_idx.first().map(|&i| toks[i]);
    // Find the start of the list (token index) and the keywords that end it.
    let mut depth = 0i32;
    let mut start = None;
    let mut with = first.is_some_and(|t| t.is_kw("WITH"));
    let mut values = false;
    for &i in &sig_idx {
        let t = toks[i];
        match t.kind {
            Kind::LParen => depth += 1,
            Kind::RParen => depth -= 1,
            Kind::Ident if depth == 0 => {
                if t.is_kw("SELECT") {
                    start = Some(i + 1);
                    break;
                }
                if t.is_kw("VALUES") && (Some(i) == sig_idx.first().copied() || with) {
                    values = true;
                    start = Some(i + 1);
                    break;
                }
                if t.is_kw("RETURNING") {
                    start = Some(i + 1);
                    break;
                }
                if t.is_kw("INSERT") || t.is_kw("UPDATE") || t.is_kw("DELETE") {
                    with = false;
                }
            }
            _ => {}
        }
    }
    let Some(mut s) = start else {
        return (Vec::new(), false);
    };
    if values {
        // The first tuple's items: skip to its `(`.
        while toks.get(s).is_some_and(Token::is_trivia) {
            s += 1;
        }
        if toks.get(s).is_none_or(|t| t.kind != Kind::LParen) {
            return (Vec::new(), false);
        }
        s += 1;
    } else {
        // SELECT DISTINCT / ALL
        let mut k = s;
        while toks.get(k).is_some_and(Token::is_trivia) {
            k += 1;
        }
        if toks
            .get(k)
            .is_some_and(|t| t.is_kw("DISTINCT") || t.is_kw("ALL"))
        {
            s = k + 1;
            let mut m = s;
            while toks.get(m).is_some_and(Token::is_trivia) {
                m += 1;
            }
            if toks.get(m).is_some_and(|t| t.is_kw("ON"))
                && let Some(open) = next_sig(toks, m + 1)
                && let Some(close) = matching_paren(toks, open)
            {
                s = close + 1;
            }
        }
    }
    const END: &[&str] = &[
        "FROM",
        "WHERE",
        "GROUP",
        "HAVING",
        "WINDOW",
        "ORDER",
        "LIMIT",
        "OFFSET",
        "UNION",
        "INTERSECT",
        "EXCEPT",
        "INTO",
        "FETCH",
        "FOR",
        "ON",
    ];
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut item_start = s;
    let mut k = s;
    while k < toks.len() {
        let t = toks[k];
        match t.kind {
            Kind::LParen => depth += 1,
            Kind::RParen => {
                if depth == 0 {
                    break; // end of a VALUES tuple
                }
                depth -= 1;
            }
            Kind::Comma if depth == 0 => {
                items.push(
                    stmt.get(offsets[item_start]..offsets[k])
                        .unwrap_or_default(),
                );
                item_start = k + 1;
            }
            Kind::Semi => break,
            Kind::Ident if depth == 0 && !values && END.iter().any(|e| t.is_kw(e)) => break,
            _ => {}
        }
        k += 1;
    }
    items.push(
        stmt.get(offsets[item_start]..offsets[k])
            .unwrap_or_default(),
    );
    let items: Vec<String> = items.into_iter().map(|s| s.trim().to_owned()).collect();
    if items.iter().all(String::is_empty) {
        return (Vec::new(), false);
    }
    (items, values)
}

/// A quoted identifier for building SQLite statements from names.
pub(crate) fn ident(name: &str) -> String {
    quote_ident(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sql(stmt: &str) -> SqlCommand {
        match analyze(stmt) {
            Command::Sql(c) => c,
            other => panic!("not SQL: {other:?}"),
        }
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        assert_eq!(
            split("select 'a;b'; select \"x;\" -- c;\n ; /* ; */ select $$;$$;"),
            vec![
                "select 'a;b'",
                " select \"x;\" -- c;\n ",
                " /* ; */ select $$;$$"
            ]
        );
        assert!(split(" ; -- nothing\n;").is_empty());
        assert_eq!(split("select 1").len(), 1);
        let trig = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = CASE WHEN 1 \
                    THEN 2 END; DELETE FROM c; END; SELECT 1";
        let parts = split(trig);
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert!(parts[0].trim_end().ends_with("END"));
    }

    #[test]
    fn classifies_transaction_control() {
        assert_eq!(analyze("BEGIN"), Command::Begin { mode: "DEFERRED" });
        assert_eq!(
            analyze("begin isolation level serializable"),
            Command::Begin { mode: "DEFERRED" }
        );
        assert_eq!(
            analyze("START TRANSACTION READ WRITE"),
            Command::Begin { mode: "DEFERRED" }
        );
        assert_eq!(
            analyze("BEGIN IMMEDIATE"),
            Command::Begin { mode: "IMMEDIATE" }
        );
        assert_eq!(analyze("end"), Command::Commit);
        assert_eq!(analyze("COMMIT WORK"), Command::Commit);
        assert_eq!(analyze("abort"), Command::Rollback);
        assert_eq!(
            analyze("ROLLBACK TO SAVEPOINT a"),
            Command::RollbackTo("a".into())
        );
        assert_eq!(
            analyze("rollback work to b"),
            Command::RollbackTo("b".into())
        );
        assert_eq!(
            analyze("SAVEPOINT \"S p\""),
            Command::Savepoint("S p".into())
        );
        assert_eq!(analyze("release savepoint x"), Command::Release("x".into()));
        assert!(matches!(
            analyze("COMMIT PREPARED 'x'"),
            Command::Unsupported(_)
        ));
        assert_eq!(analyze("  -- c\n "), Command::Empty);
    }

    #[test]
    fn classifies_settings() {
        let set = |n: &str, v: Option<&str>| Command::Set {
            name: n.into(),
            value: v.map(Into::into),
        };
        assert_eq!(
            analyze("SET application_name = 'my app'"),
            set("application_name", Some("my app"))
        );
        assert_eq!(
            analyze("set search_path to public, \"Other\""),
            set("search_path", Some("public, Other"))
        );
        assert_eq!(analyze("SET TIME ZONE 'UTC'"), set("timezone", Some("UTC")));
        assert_eq!(
            analyze("SET extra_float_digits = 3"),
            set("extra_float_digits", Some("3"))
        );
        assert_eq!(
            analyze("SET statement_timeout = -1"),
            set("statement_timeout", Some("-1"))
        );
        assert_eq!(analyze("SET LOCAL x.y TO DEFAULT"), set("x.y", None));
        assert_eq!(
            analyze("SET TRANSACTION ISOLATION LEVEL READ COMMITTED"),
            set("", None)
        );
        assert_eq!(analyze("SHOW ALL"), Command::Show("all".into()));
        assert_eq!(analyze("show DateStyle"), Command::Show("datestyle".into()));
        assert_eq!(analyze("SHOW TIME ZONE"), Command::Show("timezone".into()));
        assert_eq!(
            analyze("SHOW TRANSACTION ISOLATION LEVEL"),
            Command::Show("transaction_isolation".into())
        );
        assert_eq!(analyze("RESET ALL"), Command::Reset(None));
        assert_eq!(
            analyze("reset application_name"),
            Command::Reset(Some("application_name".into()))
        );
        assert_eq!(analyze("DISCARD ALL"), Command::Discard(Discard::All));
        assert_eq!(
            analyze("DEALLOCATE PREPARE s1"),
            Command::Deallocate(Some("s1".into()))
        );
        assert_eq!(analyze("DEALLOCATE ALL"), Command::Deallocate(None));
        assert_eq!(
            analyze("TRUNCATE TABLE a, public.b RESTART IDENTITY"),
            Command::Truncate(vec!["a".into(), "b".into()])
        );
        for s in [
            "COPY t FROM STDIN",
            "LISTEN x",
            "NOTIFY x",
            "CREATE SEQUENCE s",
            "DO $$ $$",
        ] {
            assert!(matches!(analyze(s), Command::Unsupported(_)), "{s}");
        }
    }

    #[test]
    fn rewrites_params_and_casts() {
        let c = sql("SELECT $1::int8 + 1, $2::text, 'a::b', x::float8 FROM t WHERE y = $3");
        assert_eq!(
            c.sql,
            "SELECT CAST(?1 AS INTEGER) + 1, CAST(?2 AS TEXT), 'a::b', CAST(x AS REAL) FROM t WHERE y = ?3"
        );
        assert_eq!(c.max_param, 3);
        assert_eq!(c.param_hints[&1], ParamHint::Type(PgType::Int8));
        assert_eq!(c.param_hints[&2], ParamHint::Type(PgType::Text));
        assert_eq!(
            c.param_hints[&3],
            ParamHint::Column {
                qualifier: None,
                name: "y".into()
            }
        );
        assert_eq!(c.verb, Verb::Select);
        assert_eq!(
            c.items,
            vec!["$1::int8 + 1", "$2::text", "'a::b'", "x::float8"]
        );
    }

    #[test]
    fn rewrites_cast_operands() {
        let r = |s: &str| sql(s).sql;
        assert_eq!(r("select (a + b)::int"), "select CAST((a + b) AS INTEGER)");
        assert_eq!(r("select t.a::text"), "select CAST(t.a AS TEXT)");
        assert_eq!(
            r("select lower(x)::varchar(10)"),
            "select CAST(lower(x) AS TEXT)"
        );
        assert_eq!(
            r("select '1'::int::text"),
            "select CAST(CAST('1' AS INTEGER) AS TEXT)"
        );
        assert_eq!(r("select 't'::boolean"), "select pg_cast_bool('t')");
        assert_eq!(r("select '\\x01'::bytea"), "select pg_cast_bytea('\\x01')");
        assert_eq!(
            r("select now()::timestamp with time zone"),
            "select (now())"
        );
        assert_eq!(r("select x :: double precision"), "select CAST(x AS REAL)");
        assert_eq!(r("select 'a'::pg_catalog.text"), "select CAST('a' AS TEXT)");
        assert_eq!(r("select '{1}'::int[]"), "select ('{1}')");
        assert_eq!(r("select -1::int"), "select -CAST(1 AS INTEGER)");
    }

    #[test]
    fn rewrites_postgres_spellings() {
        let r = |s: &str| sql(s).sql;
        assert_eq!(r("select E'a\\nb', $$it's$$"), "select 'a\nb', 'it''s'");
        assert_eq!(
            r("select current_user, pg_catalog.version()"),
            "select current_user(), version()"
        );
        assert_eq!(
            r("select string_agg(a, ',') from t where b ilike 'x'"),
            "select group_concat(a, ',') from t where b LIKE 'x'"
        );
        assert_eq!(
            r(
                "CREATE TABLE t (id serial PRIMARY KEY, at text DEFAULT now(), n int GENERATED ALWAYS AS IDENTITY)"
            ),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, at text DEFAULT (now()), n int )"
        );
        assert_eq!(
            r("CREATE TABLE t (a text DEFAULT now()::text)"),
            "CREATE TABLE t (a text DEFAULT (CAST(now() AS TEXT)))"
        );
        // serial outside DDL is just a name.
        assert_eq!(r("select serial from t"), "select serial from t");
    }

    #[test]
    fn verbs_and_tags() {
        assert_eq!(sql("insert into t values (1)").verb, Verb::Insert);
        assert_eq!(sql("WITH x AS (SELECT 1) DELETE FROM t").verb, Verb::Delete);
        assert_eq!(
            sql("with x as (select 1) select * from x").verb,
            Verb::Select
        );
        assert_eq!(sql("VALUES (1)").verb, Verb::Select);
        assert_eq!(
            sql("CREATE UNIQUE INDEX i ON t (a)").verb,
            Verb::Other("CREATE INDEX".into())
        );
        assert_eq!(
            sql("create temp table if not exists x (a)").verb,
            Verb::Other("CREATE TABLE".into())
        );
        assert_eq!(sql("DROP VIEW v").verb, Verb::Other("DROP VIEW".into()));
        assert_eq!(sql("vacuum").verb, Verb::Other("VACUUM".into()));
        assert!(sql("PRAGMA foreign_keys = on").outside_transaction);
    }

    #[test]
    fn result_items_and_tables() {
        let c = sql(
            "SELECT DISTINCT a, count(*) AS n, f(x, y) FROM s.t1 AS u, t3 JOIN t2 v ON u.id = v.id",
        );
        assert_eq!(c.items, vec!["a", "count(*) AS n", "f(x, y)"]);
        assert_eq!(
            c.tables,
            vec![
                TableRef {
                    name: "t1".into(),
                    alias: Some("u".into())
                },
                TableRef {
                    name: "t3".into(),
                    alias: None
                },
                TableRef {
                    name: "t2".into(),
                    alias: Some("v".into())
                },
            ]
        );
        assert_eq!(
            sql("insert into t (a) values ($1) returning id, a").items,
            vec!["id", "a"]
        );
        assert_eq!(sql("values (1, 'a'), (2, 'b')").items, vec!["1", "'a'"]);
        assert!(sql("create table t (a)").items.is_empty());
    }

    #[test]
    fn context_param_hints() {
        let c = sql("INSERT INTO t (a, b, c) VALUES ($1, $2::int4, lower($3))");
        assert_eq!(
            c.param_hints[&1],
            ParamHint::Column {
                qualifier: Some("t".into()),
                name: "a".into()
            }
        );
        assert_eq!(c.param_hints[&2], ParamHint::Type(PgType::Int4));
        assert!(!c.param_hints.contains_key(&3));
        let c = sql("insert into t values ($1, $2)");
        assert_eq!(
            c.param_hints[&2],
            ParamHint::ColumnAt {
                table: "t".into(),
                index: 1
            }
        );
        let c =
            sql("select * from t where u.a in ($1, $2) and b between $3 and $4 limit $5 offset $6");
        assert_eq!(
            c.param_hints[&2],
            ParamHint::Column {
                qualifier: Some("u".into()),
                name: "a".into()
            }
        );
        assert_eq!(
            c.param_hints[&3],
            ParamHint::Column {
                qualifier: None,
                name: "b".into()
            }
        );
        assert_eq!(
            c.param_hints[&4],
            ParamHint::Column {
                qualifier: None,
                name: "b".into()
            }
        );
        assert_eq!(c.param_hints[&5], ParamHint::Type(PgType::Int8));
        let c = sql("update t set a = $1 where $2 < t.b and c like $3 and $4 + 1.5 > 0");
        assert_eq!(
            c.param_hints[&1],
            ParamHint::Column {
                qualifier: None,
                name: "a".into()
            }
        );
        assert_eq!(
            c.param_hints[&2],
            ParamHint::Column {
                qualifier: Some("t".into()),
                name: "b".into()
            }
        );
        assert_eq!(c.param_hints[&3], ParamHint::Type(PgType::Text));
        assert_eq!(c.param_hints[&4], ParamHint::Type(PgType::Float8));
    }

    /// Every prefix and suffix of tricky statements goes through the whole front end
    /// (split, classify, rewrite, infer) without panicking.
    #[test]
    fn fragments_never_panic() {
        struct Nothing;
        impl crate::infer::Resolver for Nothing {
            fn column(&self, _: Option<&str>, _: &str) -> Option<PgType> {
                None
            }
            fn param(&self, _: u32) -> Option<PgType> {
                None
            }
        }
        let corpus = [
            "SELECT $1::int8 + 1, 'a''b'::text, x::double precision FROM t AS u WHERE u.a IN ($2, $3)",
            "INSERT INTO s.t (a, b) VALUES ($1, lower($2)), (3, 'x') RETURNING *, a::text",
            "CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT now()::text, \
             n int GENERATED BY DEFAULT AS IDENTITY (START 1))",
            "WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c) SELECT DISTINCT ON (n) n FROM c",
            "UPDATE t SET a = $1 WHERE b BETWEEN $2 AND $3 AND c NOT LIKE $4 ESCAPE '!'",
            "SELECT CASE WHEN a THEN E'x\\n' ELSE $$y$$ END, CAST(a AS int4), count(*) FILTER (WHERE b) OVER (PARTITION BY c)",
            "SET LOCAL search_path TO a, \"B\"; SHOW TIME ZONE; RESET ALL; DISCARD ALL; DEALLOCATE PREPARE x",
            "CREATE TRIGGER tr AFTER INSERT ON t BEGIN UPDATE u SET x = CASE WHEN 1 THEN 2 END; END; SELECT 1",
            "TRUNCATE TABLE ONLY a, public.b CASCADE; ROLLBACK WORK TO SAVEPOINT s; COPY t TO STDOUT",
            "select (((((a)))))::int[], '{1}'::_int4, -1::int, pg_catalog.version(), current_user /* c */ -- d",
        ];
        for stmt in corpus {
            let cuts = (0..=stmt.len()).filter(|&i| stmt.is_char_boundary(i));
            for i in cuts {
                for part in [&stmt[..i], &stmt[i..]] {
                    for piece in split(part) {
                        if let Command::Sql(c) = analyze(piece) {
                            for item in &c.items {
                                let _ = crate::infer::item(item, &Nothing);
                            }
                        }
                    }
                }
            }
        }
    }
}
