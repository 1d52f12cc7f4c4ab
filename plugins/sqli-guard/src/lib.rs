//! `sqli-guard`: structural SQL-injection detection.
//!
//! Whole statements are not HTTP parameters: ORM, migration and reporting SQL is full of
//! things a pattern list calls suspicious (`WHERE 1=1 AND ...`, `UNION ALL`, `pg_catalog`,
//! `pg_sleep`, comments). The guard instead asks what a user-data position turned into, using
//! the host's parsed [`QueryFacts`] plus one cheap pass over the raw text ([`lexer`]) for the
//! few things the facts do not say (which literals a constant comparison compares, what a
//! `CAST` converts, hex and `CHR()` encodings).
//!
//! # Rules
//!
//! | rule | fires on |
//! |---|---|
//! | `sqli.stacked` | more than one statement where the first is a query or DML (`SELECT ...; DROP ...`). Stacks that start with DDL, transaction control or `SET` are migrations and pass unless `allow_stacked_ddl` is false |
//! | `sqli.time-delay` | `pg_sleep`, `sleep`, `benchmark`, `dbms_lock.sleep`, `WAITFOR`, or a million-row `generate_series`, anywhere except a lone `SELECT pg_sleep(n)` / `SELECT SLEEP(n)` (an admin statement); `BENCHMARK` everywhere, alone too: it burns CPU and no application sends it |
//! | `sqli.file-access` | `INTO OUTFILE/DUMPFILE`, `LOAD_FILE`, `pg_read_file`, `COPY ... TO/FROM` a file or program, `lo_import`... |
//! | `sqli.remote` | a call that reaches another server: `dblink*`, `postgres_fdw_*`, pgsql-http's `http_get`..., `OPENROWSET` / `OPENDATASOURCE` / `OPENQUERY`, `xp_dirtree`, `UTL_HTTP` / `UTL_INADDR` |
//! | `sqli.error-probe` | `extractvalue`, `updatexml`, `gtid_subset`, a number `CAST` (or `::int`) of a concatenation, a table-less subquery, server identity (`version()`, `current_user`, `current_database()`, MySQL `user()`) or a string aggregate (`string_agg`, `group_concat`, `array_to_string`), `EXP(~(SELECT ...))`, `RAND(0)`. `current_setting(..)::int` is not one: row-level-security policies compare columns with it |
//! | `sqli.union` | a UNION branch of only literals / NULLs beside a table read (column-count probe), or one selecting server identity (`version()`, `current_user`, `@@version`) |
//! | `sqli.catalog-probe` | a system catalogue (`information_schema`, `pg_catalog`, `pg_*`, `mysql.*`, `sqlite_master`) read from a predicate subquery or a later UNION branch of a statement that also reads application tables; MySQL's credential tables (`mysql.user`, `mysql.global_priv`) read for their password hashes (`authentication_string`, `password`, `priv`, `*`) or from a subquery or UNION, whatever else the statement reads |
//! | `sqli.server-probe` | a condition (WHERE, ON, HAVING, ORDER BY, a searched `CASE WHEN`, at any depth) whose only inputs are server facts: `version()`, `current_user`, `session_user`, `current_setting(..)`, `has_*_privilege(..)`, `@@version`, catalogue subqueries (`ascii(substr(current_user,1,1))>100`, `CASE WHEN substr(version(),1,1)='P' ...`). True and false probes alike; statements that read only catalogues are introspection and pass |
//! | `sqli.tautology` | a constant comparison other than the builder idiom `0`/`1` `=`/`<>` `0`/`1` in a predicate (`AND 4821=4821` and `AND 4821=5923` alike: the shape, not the truth value, so there is no boolean oracle), inside parentheses anywhere, or an always-true constant OR-ed beside a column predicate (`OR 1=1`); and any condition built only from constants beyond that: a literal coerced to boolean (`OR 't'`, `'true'::bool`, `CAST('1' AS boolean)`, `1::bool`), a regular-expression, `SIMILAR TO`, `ANY(ARRAY[..])` or function-form comparison of literals (`'a' ~ 'a'`, `int4eq(1,1)`), `EXISTS` or a scalar subquery over constants (`(SELECT 1)=1`) |
//! | `sqli.blind-extraction` | `ascii`/`ord` over `substring`/`mid` in a predicate: character-by-character extraction |
//! | `sqli.encoded-string` | a hex literal spelling printable text (`0x61646d696e`), or three or more `CHR()` calls building a string |
//! | `sqli.comment-obfuscation` | a MySQL executable comment `/*! ... */` after the first token, or an empty `/**/` used as whitespace |
//! | `sqli.comment-truncation` | a trailing `--` / `#` comment holding the cut-off rest of a statement (quotes, parentheses, `=`), or empty; weaker shapes (SQL keywords, one short random word) add to the score |
//! | `sqli.unparsable` | SQL the host could not parse that also shows an injection trace (unterminated quote, unbalanced parentheses, literals side by side, a trailing comment, `UNION SELECT`); every unparsable statement when `deny_unparsable` is set |
//!
//! The conditions are judged term by term ([`lexer`]'s predicate-term pass): a term of an
//! AND / OR chain that holds a column, a placeholder or an application-table subquery is the
//! application's and passes, whatever functions, casts or operators it uses; a term of only
//! constants and server facts is the injection's.
//!
//! Most rules are decisive alone (score 1). A few weak signals (an ORDER BY ordinal, a short
//! random trailing comment, NULL padding in a UNION) only add up: when their sum reaches
//! `min_score` the strongest one is reported.
//!
//! Builder idioms that pass: `WHERE 1=1 AND a = $1`, `WHERE 1 != 1`, `... AND 1=0` (empty
//! IN lists in Rails / SQLAlchemy), Prisma's `(... AND 1=1)`, a top-level `SELECT pg_sleep(1)`,
//! catalogue introspection that reads only catalogues, sqlcommenter / marginalia comments.
//!
//! # MySQL and MariaDB
//!
//! Statements from MySQL clients (protocol `mysql`) are lexed as MySQL reads them: `||` is OR
//! and `&&` AND (the default sql_mode), `!` is NOT, `XOR` a connective, `DIV` an operator,
//! `<=>` an equality that no builder writes between literals, `SOUNDS LIKE` / `RLIKE` /
//! `REGEXP` comparisons; backslashes escape inside strings (`'it\'s'`), backticks quote names,
//! `#` and `-- ` (with its space: `1--1` is arithmetic) open comments, and `/*! ... */`,
//! `/*!50000 ... */` and MariaDB's `/*M! ... */` hold code. `0x..`, `X'..'` and `b'..'` are
//! literals. A number alone OR-ed in (`OR 1`, `|| TRUE`) is a constant condition, and
//! `FROM DUAL` reads no rows. The gateway's facts rotate `DIV`, `->` and `->>` back into
//! MySQL's precedence (the parser reads `a DIV 10 = 3` as `a DIV (10 = 3)`).
//!
//! Catalogues follow the PostgreSQL policy: ORMs and migration tools (Django, Rails, Laravel,
//! Hibernate schema validation, Alembic, Flyway, Prisma) read `information_schema`, so a
//! statement that reads only catalogues passes, even one whose UNION branches pad with
//! literals or that MySQL syntax keeps the parser from reading; a catalogue read inside a UNION
//! or a subquery beside application tables, under a constant condition or beside any other
//! injection sign is denied. Listing accounts (`SELECT user, host FROM mysql.user`) passes;
//! reading their password hashes does not.
//!
//! Reasons name the construct (a function, a table, a statement kind) and never echo the SQL.

mod config;
mod lexer;

use articdbm_plugin_sdk::facts::unqualified;
use articdbm_plugin_sdk::prelude::*;
use articdbm_plugin_sdk::{
    CommentKind, CommentPosition, Connective, ConstantComparison, TableAccess,
};

pub use config::{Config, Mode, RULES};
pub use lexer::{Signals, scan};

/// The policy: a validated [`Config`].
pub struct Plugin {
    cfg: Config,
}

impl Policy for Plugin {
    fn configure(config: &str) -> Result<Self, String> {
        Ok(Plugin {
            cfg: Config::parse(config)?,
        })
    }

    fn on_query(&self, conn: &Connection, query: &Query) -> Verdict {
        let sig = lexer::scan(&query.sql, conn.protocol == Protocol::Mysql);
        let verdict = evaluate(&self.cfg, &query.facts, &sig);
        // The rules read the facts, the text and the protocol; literal values only where the
        // scanner says so (integer arguments, ordinals, comparisons between literals), string
        // contents never, and of a block comment only its first character's class. Otherwise
        // every statement of this fingerprint gets the same verdict (tests/corpus.rs holds
        // this to the gateway's definition over the corpora).
        if !sig.value_sensitive {
            host::reuse_verdict_for(ReuseScope::Statement, ReuseBasis::Fingerprint);
        }
        verdict
    }
}

/// One reason to suspect the statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub rule: &'static str,
    pub reason: String,
    pub score: f32,
}

/// Collects hits, stopping at the first decisive one whose rule denies.
struct Judge<'c> {
    cfg: &'c Config,
    /// First decisive hit in audit mode, reported when nothing denies.
    audit: Option<Hit>,
    /// Weak signals: sum and strongest.
    weak_sum: f32,
    weak_top: Option<Hit>,
    deny: Option<Hit>,
}

impl Judge<'_> {
    /// Records a hit; returns true once a deny is decided.
    fn hit(&mut self, rule: &'static str, score: f32, reason: impl FnOnce() -> String) -> bool {
        if self.deny.is_some() {
            return true;
        }
        let mode = self.cfg.mode(rule);
        if mode == Mode::Off {
            return false;
        }
        if score >= self.cfg.min_score {
            let h = Hit {
                rule,
                reason: reason(),
                score,
            };
            match mode {
                Mode::Deny => {
                    self.deny = Some(h);
                    return true;
                }
                _ => {
                    if self.audit.is_none() {
                        self.audit = Some(h);
                    }
                }
            }
            return false;
        }
        self.weak_sum += score;
        if self.weak_top.as_ref().is_none_or(|t| score > t.score) {
            self.weak_top = Some(Hit {
                rule,
                reason: reason(),
                score,
            });
        }
        false
    }

    fn verdict(self) -> Verdict {
        let finding = |h: Hit| Finding {
            rule: h.rule.to_string(),
            reason: h.reason,
            score: Some(h.score.min(1.0)),
        };
        if let Some(h) = self.deny {
            return Verdict::Deny(finding(h));
        }
        if let Some(mut h) = self.weak_top
            && self.weak_sum >= self.cfg.min_score
        {
            h.score = self.weak_sum.min(1.0);
            h.reason.push_str(" (with other weak signals)");
            return match self.cfg.mode(h.rule) {
                Mode::Deny => Verdict::Deny(finding(h)),
                _ => Verdict::Audit(finding(h)),
            };
        }
        match self.audit {
            Some(h) => Verdict::Audit(finding(h)),
            None => Verdict::Allow,
        }
    }
}

/// At most 64 characters of a name, for reasons.
fn short(name: &str) -> &str {
    match name.char_indices().nth(64) {
        Some((i, _)) => &name[..i],
        None => name,
    }
}

fn kind_name(k: StatementKind) -> &'static str {
    use StatementKind::*;
    match k {
        Select => "SELECT",
        Insert => "INSERT",
        Update => "UPDATE",
        Delete => "DELETE",
        Merge => "MERGE",
        Create => "CREATE",
        Alter => "ALTER",
        Drop => "DROP",
        Truncate => "TRUNCATE",
        Grant => "GRANT",
        Revoke => "REVOKE",
        Begin => "BEGIN",
        Commit => "COMMIT",
        Rollback => "ROLLBACK",
        Savepoint => "SAVEPOINT",
        Set => "SET",
        Show => "SHOW",
        Copy => "COPY",
        Explain => "EXPLAIN",
        Call => "CALL",
        Prepare => "PREPARE",
        Execute => "EXECUTE",
        Deallocate => "DEALLOCATE",
        Listen => "LISTEN",
        Notify => "NOTIFY",
        Vacuum => "VACUUM",
        Analyze => "ANALYZE",
        Lock => "LOCK",
        UseDatabase => "USE",
        Other => "another statement",
    }
}

/// Statements a migration or script may open a multi-statement string with.
fn opens_script(k: StatementKind) -> bool {
    use StatementKind::*;
    matches!(
        k,
        Create
            | Alter
            | Drop
            | Truncate
            | Grant
            | Revoke
            | Begin
            | Commit
            | Rollback
            | Savepoint
            | Set
            | Lock
            | UseDatabase
            | Vacuum
            | Analyze
            | Other
    )
}

const DELAY_FUNCTIONS: &[&str] = &[
    "sleep",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
    "benchmark",
];

const ERROR_FUNCTIONS: &[&str] = &[
    "extractvalue",
    "updatexml",
    "gtid_subset",
    "gtid_subtract",
    "name_const",
];

/// Functions that report who and where the server is; selected by UNION-based extraction.
const IDENTITY_FUNCTIONS: &[&str] = &[
    "version",
    "user",
    "current_user",
    "session_user",
    "system_user",
    "database",
    "current_database",
    "schema",
    "current_schema",
    "load_file",
];

/// True for system catalogues and credential tables.
pub fn is_catalog(t: &TableAccess) -> bool {
    const SCHEMAS: &[&str] = &[
        "information_schema",
        "pg_catalog",
        "mysql",
        "performance_schema",
        "sys",
    ];
    const TABLES: &[&str] = &["sqlite_master", "sqlite_schema", "sqlite_temp_master"];
    let any = |list: &[&str], s: &str| list.iter().any(|n| n.eq_ignore_ascii_case(s));
    t.schema.as_deref().is_some_and(|s| any(SCHEMAS, s))
        || t.name
            .get(..3)
            .is_some_and(|p| p.eq_ignore_ascii_case("pg_"))
        || any(TABLES, &t.name)
}

/// MySQL / MariaDB tables holding password hashes: `mysql.user` (`authentication_string`,
/// `password`) and MariaDB's `mysql.global_priv`.
pub fn is_credential_table(t: &TableAccess) -> bool {
    t.schema
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("mysql"))
        && ["user", "global_priv"]
            .iter()
            .any(|n| n.eq_ignore_ascii_case(&t.name))
}

fn in_predicate(c: Clause) -> bool {
    matches!(c, Clause::Where | Clause::Having | Clause::JoinCondition)
}

fn is_equality(cc: &ConstantComparison) -> bool {
    matches!(cc.op.as_str(), "=" | "<>" | "!=" | "==")
}

/// Evaluates the rules over the facts and the token signals.
pub fn evaluate(cfg: &Config, f: &QueryFacts, sig: &Signals) -> Verdict {
    let mut j = Judge {
        cfg,
        audit: None,
        weak_sum: 0.0,
        weak_top: None,
        deny: None,
    };
    let _ = rules(&mut j, f, sig);
    j.verdict()
}

/// The rules, in order; returns early (true) once a deny is decided.
fn rules(j: &mut Judge<'_>, f: &QueryFacts, sig: &Signals) -> bool {
    let parsed = f.parsed;

    // Executable comments first: they hide whatever else the statement holds.
    if obfuscation(j, f, sig) {
        return true;
    }

    // Stacked statements.
    if f.stacked {
        if parsed {
            let first = f.statements.first().copied();
            let script = j.cfg.allow_stacked_ddl && first.is_some_and(opens_script);
            if !script {
                let second = f.statements.get(1).copied();
                if j.hit("sqli.stacked", 1.0, || {
                    format!(
                        "a second statement ({}) is stacked after a {}",
                        second.map_or("unknown", kind_name),
                        first.map_or("statement", kind_name)
                    )
                }) {
                    return true;
                }
            }
        } else if (!j.cfg.allow_stacked_ddl || (sig.stacked_verb && !sig.script_start))
            && j.hit("sqli.stacked", 1.0, || {
                "a further statement is stacked after the first".to_string()
            })
        {
            return true;
        }
    }

    // Time delays.
    let lone_select = !f.stacked
        && f.statements.len() == 1
        && f.statements.first() == Some(&StatementKind::Select)
        && f.tables.is_empty()
        && f.union_count == 0
        && f.constant_comparisons.is_empty();
    if parsed {
        for call in &f.functions {
            let base = unqualified(&call.name);
            // A lone `SELECT SLEEP(n)` waits and is an admin's; BENCHMARK burns CPU, and no
            // application sends it.
            if DELAY_FUNCTIONS.contains(&base)
                && !(lone_select && call.clause == Clause::Projection && base != "benchmark")
                && j.hit("sqli.time-delay", 1.0, || {
                    format!(
                        "{}() inside a statement delays the server on demand",
                        short(base)
                    )
                })
            {
                return true;
            }
        }
        if sig.heavy_series
            && (!lone_select || sig.mysql)
            && j.hit("sqli.time-delay", 1.0, || {
                "a million-row series inside a statement works as a delay".to_string()
            })
        {
            return true;
        }
    }
    if !parsed
        && sig.delay_call
        && j.hit("sqli.time-delay", 1.0, || {
            "a delay function or WAITFOR in unparsable SQL".to_string()
        })
    {
        return true;
    }

    // File access.
    if (f.file_access || sig.file_call)
        && j.hit("sqli.file-access", 1.0, || {
            "the statement reads or writes server-side files".to_string()
        })
    {
        return true;
    }

    // Connections to other servers: data leaves through them, or they reach inside.
    if sig.remote_call
        && j.hit("sqli.remote", 1.0, || {
            "the statement opens a connection to another server (dblink, a foreign-data helper, a remote rowset)".to_string()
        })
    {
        return true;
    }

    // Error-based probes.
    for call in &f.functions {
        let base = unqualified(&call.name);
        if ERROR_FUNCTIONS.contains(&base)
            && j.hit("sqli.error-probe", 1.0, || {
                format!(
                    "{}() is used to leak data through error messages",
                    short(base)
                )
            })
        {
            return true;
        }
    }
    if !parsed
        && sig.error_call
        && j.hit("sqli.error-probe", 1.0, || {
            "an error-message probe function in unparsable SQL".to_string()
        })
    {
        return true;
    }
    if sig.numeric_cast_of_text
        && j.hit("sqli.error-probe", 1.0, || {
            "a concatenated string or subquery is cast to a number to leak it in the error"
                .to_string()
        })
    {
        return true;
    }
    if (sig.bitnot_subquery || sig.rand_zero)
        && j.hit("sqli.error-probe", 1.0, || {
            "an overflow / duplicate-key error probe".to_string()
        })
    {
        return true;
    }

    // Inline / error-based extraction wraps the leaked value in markers.
    if sig.marked_subquery
        && j.hit("sqli.inline-query", 1.0, || {
            "a subquery's result is wrapped in string markers inside a condition or clause"
                .to_string()
        })
    {
        return true;
    }

    // UNION-based extraction.
    let union = f.union_count > 0 || (!parsed && sig.unions > 0 && sig.selects >= 2);
    if union {
        let reads_table = !f.tables.is_empty();
        // Introspection that reads only catalogues may pad a branch (Flyway's
        // `SELECT 1 AS found FROM information_schema.views ...` UNIONs).
        let catalog_only = parsed && f.tables.iter().all(is_catalog);
        if f.union_literal_branch
            && reads_table
            && !catalog_only
            && j.hit("sqli.union", 1.0, || {
                "a UNION branch of only literals or NULLs is appended to a table read".to_string()
            })
        {
            return true;
        }
        if sig.system_variable
            && j.hit("sqli.union", 1.0, || {
                "a UNION branch selects a server variable".to_string()
            })
        {
            return true;
        }
        for call in &f.functions {
            let base = unqualified(&call.name);
            if call.clause == Clause::Projection
                && IDENTITY_FUNCTIONS.contains(&base)
                && j.hit("sqli.union", 1.0, || {
                    format!("a UNION selects {}()", short(base))
                })
            {
                return true;
            }
        }
        if !parsed
            && j.hit("sqli.union", 1.0, || {
                "UNION SELECT in unparsable SQL".to_string()
            })
        {
            return true;
        }
        if f.literals.nulls >= 2
            && j.hit("sqli.union", 0.4, || {
                "a UNION padded with NULL columns".to_string()
            })
        {
            return true;
        }
    }

    // Credential tables: listing the accounts (`SELECT user, host FROM mysql.user`) is an
    // administrator's; reading their password hashes is a credential probe.
    if sig.mysql
        && let Some(t) = f.tables.iter().find(|t| is_credential_table(t))
        && (sig.credential_columns || t.nested || f.union_count > 0)
        && j.hit("sqli.catalog-probe", 1.0, || {
            format!(
                "password hashes are read from the credential table mysql.{}",
                short(&t.name)
            )
        })
    {
        return true;
    }

    // Catalogue probing.
    let app_tables = f.tables.iter().any(|t| !is_catalog(t));
    if let Some(t) = f.tables.iter().find(|t| is_catalog(t))
        && (app_tables || (union && t.nested))
        && j.hit("sqli.catalog-probe", 1.0, || {
            format!(
                "system catalogue {}{}{} is read by a query on application tables",
                t.schema.as_deref().map_or("", short),
                if t.schema.is_some() { "." } else { "" },
                short(&t.name)
            )
        })
    {
        return true;
    }
    // MySQL syntax the parser does not know is common (`ORDER BY BINARY name`): there, as in
    // parsed SQL, a catalogue read alone is introspection, one in a subquery or a UNION, or a
    // read of password hashes, is a probe.
    let unparsed_probe = !sig.mysql
        || sig.selects >= 2
        || sig.unions > 0
        || (sig.credential_table && sig.credential_columns);
    if !parsed
        && sig.catalog_name
        && unparsed_probe
        && j.hit("sqli.catalog-probe", 1.0, || {
            "a system catalogue is named in unparsable SQL".to_string()
        })
    {
        return true;
    }

    // Conditions on server facts. Introspection that reads only catalogues may ask them.
    let catalog_only = parsed && !f.tables.is_empty() && !app_tables;
    if sig.server_probe
        && !catalog_only
        && j.hit("sqli.server-probe", 1.0, || {
            "a condition tests server facts (version, user, settings, privileges, catalogues) instead of the rows"
                .to_string()
        })
    {
        return true;
    }

    // Constant comparisons.
    if tautology(j, f, sig) {
        return true;
    }

    // Blind extraction: ascii(substring(...)) compared in a predicate.
    if sig.char_code_of_slice
        && j.hit("sqli.blind-extraction", 1.0, || {
            "the statement computes character codes of a substring, one character at a time"
                .to_string()
        })
    {
        return true;
    }

    // Encoded strings.
    if sig.hex_text > 0
        && j.hit("sqli.encoded-string", 1.0, || {
            "a hex literal spells out text".to_string()
        })
    {
        return true;
    }
    if sig.chr_calls >= 3
        && j.hit("sqli.encoded-string", 1.0, || {
            format!("a string is built from {} CHR() calls", sig.chr_calls)
        })
    {
        return true;
    }

    // Comments.
    if comments(j, f) {
        return true;
    }

    // ORDER BY ordinals: sqlmap counts columns with ORDER BY 1, 2, ... n.
    if sig.order_by_ordinal > 100
        && j.hit("sqli.union", 1.0, || {
            format!(
                "ORDER BY column {} probes the column count",
                sig.order_by_ordinal
            )
        })
    {
        return true;
    }
    if sig.order_by_ordinal > 0
        && j.hit("sqli.union", 0.3, || {
            "ORDER BY a column position".to_string()
        })
    {
        return true;
    }

    // Unparsable SQL.
    if !parsed {
        let trace = sig.unterminated_quote
            || sig.unbalanced_parens
            || sig.adjacent_literals
            || (f.stacked && !(j.cfg.allow_stacked_ddl && sig.script_start))
            || f.comments
                .iter()
                .any(|c| c.position == CommentPosition::Trailing)
            || sig.odd_constants > 0
            || sig.or_constant;
        if (trace || j.cfg.deny_unparsable)
            && j.hit("sqli.unparsable", 1.0, || {
                if trace {
                    "the statement does not parse and shows injection traces (broken quoting, a cut-off remainder)".to_string()
                } else {
                    "the statement does not parse".to_string()
                }
            })
        {
            return true;
        }
    }
    false
}

/// Constant comparisons: deny the shape, not the truth value.
fn tautology(j: &mut Judge<'_>, f: &QueryFacts, sig: &Signals) -> bool {
    // The token pass saw which literals each `=` / `<>` compares; when it found only the 0/1
    // builder idiom (and at least as many as the facts list), the facts' equalities are those.
    let eq_count = f
        .constant_comparisons
        .iter()
        .filter(|c| is_equality(c))
        .count();
    let all_canonical = sig.odd_constants == 0 && (sig.canonical_constants as usize) >= eq_count;
    for cc in &f.constant_comparisons {
        // `WHERE TRUE AND ...` is a builder idiom too.
        let canonical = cc.op == "TRUTH" || (all_canonical && is_equality(cc));
        if !in_predicate(cc.clause) {
            continue;
        }
        if !canonical {
            return j.hit("sqli.tautology", 1.0, || {
                format!(
                    "a constant {} comparison is part of the {} condition",
                    short(&cc.op),
                    clause_name(cc.clause)
                )
            });
        }
        if cc.connective == Connective::Or && cc.value == Some(true) && cc.beside_column_predicate {
            return j.hit("sqli.tautology", 1.0, || {
                format!(
                    "an always-true constant is OR-ed into the {} condition",
                    clause_name(cc.clause)
                )
            });
        }
    }
    if sig.odd_constants_in_clauses > 0 {
        return j.hit("sqli.tautology", 1.0, || {
            "a comparison between two literals sits in a condition, a clause or a subquery"
                .to_string()
        });
    }
    if sig.constant_predicate {
        return j.hit("sqli.tautology", 1.0, || {
            "a condition is built only from constants (a literal as a boolean, a regular-expression, ANY or function-form comparison of literals, a constant subquery)"
                .to_string()
        });
    }
    false
}

fn clause_name(c: Clause) -> &'static str {
    match c {
        Clause::Where => "WHERE",
        Clause::Having => "HAVING",
        Clause::JoinCondition => "JOIN",
        Clause::Projection => "SELECT list",
        Clause::From => "FROM",
        Clause::GroupBy => "GROUP BY",
        Clause::OrderBy => "ORDER BY",
        Clause::Limit => "LIMIT",
        Clause::Values => "VALUES",
        Clause::Other => "statement",
    }
}

/// Words that, in a trailing comment, read like the cut-off rest of a statement.
fn has_sql_keyword(text: &str) -> bool {
    const WORDS: &[&str] = &[
        "AND", "OR", "WHERE", "ORDER", "LIMIT", "GROUP", "SELECT", "FROM", "UNION", "HAVING",
        "OFFSET", "VALUES",
    ];
    text.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|w| WORDS.contains(&w))
}

fn obfuscation(j: &mut Judge<'_>, f: &QueryFacts, sig: &Signals) -> bool {
    if sig.executable_comment
        || f.comments
            .iter()
            .any(|c| c.kind == CommentKind::Conditional && c.position != CommentPosition::Leading)
    {
        return j.hit("sqli.comment-obfuscation", 1.0, || {
            "a MySQL executable comment hides SQL inside the statement".to_string()
        });
    }
    if f.comments.iter().any(|c| {
        c.kind == CommentKind::Block && c.position == CommentPosition::Inner && c.text.is_empty()
    }) {
        return j.hit("sqli.comment-obfuscation", 1.0, || {
            "empty /**/ comments stand in for whitespace".to_string()
        });
    }
    false
}

fn comments(j: &mut Judge<'_>, f: &QueryFacts) -> bool {
    for c in &f.comments {
        if c.position == CommentPosition::Trailing
            && c.kind == CommentKind::Block
            && c.text.trim_start().starts_with(['\'', '"', ')'])
            && j.hit("sqli.comment-truncation", 1.0, || {
                "a trailing block comment swallows the rest of the statement".to_string()
            })
        {
            return true;
        }
        if c.position != CommentPosition::Trailing
            || !matches!(c.kind, CommentKind::Line | CommentKind::Hash)
        {
            continue;
        }
        let text = c.text.trim();
        let (score, why) = if text.contains(['\'', '"', '`', '(', ')', '=']) {
            (1.0, "a trailing comment cuts off the rest of the statement")
        } else if text.is_empty() {
            (
                0.7,
                "an empty trailing comment cuts off the rest of the statement",
            )
        } else if has_sql_keyword(text) {
            (0.5, "a trailing comment holds SQL keywords")
        } else if text.len() <= 8 && text.bytes().all(|b| b.is_ascii_alphanumeric()) {
            (0.4, "a trailing comment holds one short word")
        } else {
            continue;
        };
        if j.hit("sqli.comment-truncation", score, || why.to_string()) {
            return true;
        }
    }
    false
}

export_policy!(Plugin);

#[cfg(test)]
mod tests;
