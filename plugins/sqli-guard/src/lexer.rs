//! One pass over the raw SQL text for token-level signals the host's facts do not carry:
//! which literals a constant comparison compares, what a `CAST` converts, how many `CHR()`
//! calls build a string, whether a hex literal spells text, ORDER BY ordinals, and, for SQL
//! the host could not parse, the keywords and names an injection leaves behind.
//!
//! The scanner allocates nothing: it keeps a four-token window and a small fixed stack of open
//! parentheses. It understands just enough lexical SQL (quotes, comments, dollar quoting,
//! MySQL executable comments) to keep string contents from looking like code.

mod terms;

/// Deepest parenthesis nesting tracked; deeper groups are counted but not described.
const MAX_PARENS: usize = 24;

/// Token-level signals of one SQL text.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Signals {
    /// Constant comparisons between literals other than the builder idiom (`1=1`, `1=0`,
    /// `1 != 1`...): `4821=4821`, `'a'='a'`, `5 BETWEEN 5 AND 5`.
    pub odd_constants: u32,
    /// Of those, how many sit inside parentheses (a subquery, `CASE WHEN (...)`, a function
    /// argument such as `ELT(4821=4821, ...)`), where no application writes them.
    pub odd_constants_in_parens: u32,
    /// Of those, how many sit anywhere but the top-level SELECT list (where `SELECT 'a'='a'`
    /// is at worst odd): in a predicate, ORDER BY, GROUP BY, SET, or any parentheses.
    pub odd_constants_in_clauses: u32,
    /// `ASCII(SUBSTRING(...))`, `ORD(MID(...))`: a character code of a slice, the unit of
    /// blind extraction.
    pub char_code_of_slice: bool,
    /// A subquery concatenated with string literals (`CONCAT('qkvjq',(SELECT ...),'qzvq')`,
    /// `'q'||(SELECT ...)||'q'`) outside the top-level SELECT list: markers around leaked data.
    pub marked_subquery: bool,
    /// The first word of the text opens a script (DDL, transaction control, `SET`).
    pub script_start: bool,
    /// Builder-idiom constant comparisons (`0`/`1` on both sides of `=`, `!=`, `<>`).
    pub canonical_constants: u32,
    /// `CAST(... AS <number type>)` or `(...)::<number type>` over a concatenation or a
    /// subquery: the classic error-based extraction.
    pub numeric_cast_of_text: bool,
    /// `CHR(n)` / `CHAR(n)` calls.
    pub chr_calls: u32,
    /// Hex literals of two or more bytes that decode to printable ASCII (`0x61646d696e`).
    pub hex_text: u32,
    /// `RAND(0)`: the seed of MySQL's duplicate-key error trick.
    pub rand_zero: bool,
    /// `~(` followed by `SELECT`: MySQL's `EXP(~(SELECT ...))` overflow.
    pub bitnot_subquery: bool,
    /// A `GENERATE_SERIES` / `BENCHMARK` argument of a million or more: a heavy query used as
    /// a delay.
    pub heavy_series: bool,
    /// Largest integer in an ORDER BY position list (`ORDER BY 7361`).
    pub order_by_ordinal: u32,
    /// A string or quoted identifier runs to the end of the text.
    pub unterminated_quote: bool,
    /// Unbalanced parentheses.
    pub unbalanced_parens: bool,
    /// Keyword counts, for text the host could not parse.
    pub selects: u32,
    pub unions: u32,
    /// A delay function or statement by name (`SLEEP(`, `PG_SLEEP(`, `BENCHMARK(`,
    /// `WAITFOR DELAY`).
    pub delay_call: bool,
    /// An error-probe function by name (`EXTRACTVALUE(`, `UPDATEXML(`...).
    pub error_call: bool,
    /// A system catalogue named (`information_schema`, `pg_catalog`, `pg_shadow`,
    /// `mysql.user`, `sqlite_master`...).
    pub catalog_name: bool,
    /// A file function or clause (`LOAD_FILE(`, `INTO OUTFILE`, `PG_READ_FILE(`...).
    pub file_call: bool,
    /// MySQL executable comment `/*! ... */` somewhere after the first token.
    pub executable_comment: bool,
    /// Two literals side by side (`1 ' AND '`): quoting knocked out of step by injected
    /// quotes, for text the host could not parse.
    pub adjacent_literals: bool,
    /// A `@@name` system variable (`@@version`).
    pub system_variable: bool,
    /// Significant tokens seen (0 for an empty or comment-only text).
    pub tokens: u32,
    /// The first keyword after each `;` that starts a further statement is a data-changing or
    /// reading verb (`SELECT`, `DROP`, `UPDATE`...), for text the host could not parse.
    pub stacked_verb: bool,
    /// A condition built only from constants beyond the `LIT op LIT` the checks above count:
    /// a literal coerced to boolean (`OR 't'`, `'true'::bool`), a regular-expression,
    /// `SIMILAR TO`, `ANY(ARRAY[..])` or function-form comparison of literals
    /// (`int4eq(1,1)`), `EXISTS` / a scalar subquery over constants (`(SELECT 1)=1`).
    pub constant_predicate: bool,
    /// A condition whose only inputs are server facts (`version()`, `current_user`,
    /// `current_setting(..)`, privileges, catalogue reads): a probe of the server, not a
    /// test of the rows.
    pub server_probe: bool,
    /// A call that reaches another server (`dblink`, `dblink_exec`, `postgres_fdw_*`,
    /// `OPENROWSET`, `UTL_HTTP`...).
    pub remote_call: bool,
    /// Some signal depended on the value of an integer literal (a series or `RAND` argument, an
    /// ORDER BY ordinal, a comparison between literals), so statements that differ only in
    /// integer values may be judged differently: the verdict is not reusable for the shape.
    pub value_sensitive: bool,
    /// The text was scanned as MySQL / MariaDB.
    pub mysql: bool,
    /// A credential column is named (`authentication_string`, `password`, MariaDB's
    /// `global_priv.priv`) or the top-level SELECT list holds a `*`: what a read of a
    /// credential table returns then includes the password hashes.
    pub credential_columns: bool,
    /// `mysql.user` or `mysql.global_priv` is named.
    pub credential_table: bool,
    /// A comparison between literals OR-ed in (`OR 1=1`), builder idiom or not: a trace in
    /// text the host could not parse.
    pub or_constant: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Lit {
    /// A number, with whether it is `0` or `1`.
    Num {
        bit: bool,
    },
    Str,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Cmp {
    Eq,
    Ne,
    Order,
    Like,
    Between,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kw {
    Select,
    From,
    Group,
    Set,
    Values,
    EndList,
    CharCode,
    Slice,
    Concat,
    Union,
    And,
    Or,
    Not,
    Where,
    When,
    Then,
    On,
    Having,
    Order,
    By,
    As,
    Cast,
    Chr,
    Rand,
    Series,
    Delay,
    Waitfor,
    Error,
    File,
    Into,
    Outfile,
    Verb,
    NumType,
    Case,
    End,
    Else,
    Exists,
    Is,
    In,
    Similar,
    /// `ANY` / `ALL` / `SOME`.
    AnyAll,
    Array,
    BoolType,
    /// Server identity that needs no parentheses (`current_user`).
    ServerWord,
    /// Server identity as a function (`version()`, MySQL `user()`).
    ServerText,
    /// Other server facts (`current_setting(..)`, `has_table_privilege(..)`).
    ServerFn,
    /// Aggregates building one string from many rows (`string_agg`, `group_concat`).
    TextAgg,
    Join,
    /// `RETURNING`, `INTERSECT`, `EXCEPT`, `WINDOW`: a clause ends the condition before it.
    EndClause,
    Distinct,
    /// Keywords that are neither columns nor operators here (`to`, `interval`, `current_date`).
    Noise,
    /// Functions that reach another server (`dblink`, `OPENROWSET`).
    Remote,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Lit(Lit),
    Cmp(Cmp),
    /// Arithmetic or concatenation operator, `.`, `::`: binds tighter than a comparison.
    Arith,
    Concat,
    DoubleColon,
    Tilde,
    LParen,
    RParen,
    Comma,
    Semi,
    Word(Kw),
    Other,
}

/// What an open parenthesis belongs to.
#[derive(Clone, Copy, Default)]
struct Group {
    /// Opened right after `CAST`.
    cast: bool,
    /// Opened right after `CHR`/`CHAR`, `RAND`, `GENERATE_SERIES`/`BENCHMARK`, or `~`.
    rand: bool,
    series: bool,
    bitnot: bool,
    /// Saw `||` or `CONCAT`, or a text-valued group, inside.
    textual: bool,
    /// Saw `SELECT` / `FROM` directly inside: a subquery, and whether it reads a table.
    select: bool,
    from: bool,
    /// Opened right after `CONCAT`, or saw `||` directly inside; saw a string literal / a
    /// subquery group directly inside.
    concat: bool,
    string: bool,
    subquery: bool,
    /// `CAST(... AS <number type>`: the AS at this level named a number type.
    as_number: bool,
    /// Only a literal `0` inside so far (for `RAND(0)`).
    zero_only: bool,
    any: bool,
}

struct Scanner<'a> {
    s: &'a [u8],
    i: usize,
    mysql: bool,
    /// Inside a MySQL `/*! ... */`: the closing `*/` is whitespace.
    in_exec_comment: bool,
}

/// Longest word [`keyword`] and [`is_catalog`] react to; longer words are neither.
const LONGEST_WORD: usize = 32;

/// Lower-cases `w` into `buf`; `None` when it is longer than any word the scanner reacts to.
fn lowered<'b>(w: &[u8], buf: &'b mut [u8; LONGEST_WORD]) -> Option<&'b [u8]> {
    let out = buf.get_mut(..w.len())?;
    for (o, c) in out.iter_mut().zip(w) {
        *o = c.to_ascii_lowercase();
    }
    Some(out)
}

/// The words the scanner reacts to (lower-cased); everything else is `Kw::Other`.
fn keyword(w: &[u8]) -> Kw {
    match w {
        b"select" => Kw::Select,
        b"from" => Kw::From,
        b"group" => Kw::Group,
        b"set" => Kw::Set,
        b"values" => Kw::Values,
        b"limit" | b"offset" | b"fetch" | b"for" | b"procedure" => Kw::EndList,
        b"ascii" | b"ord" | b"unicode" => Kw::CharCode,
        b"substring" | b"substr" | b"mid" | b"left" | b"right" | b"substring_index" => Kw::Slice,
        b"concat" | b"concat_ws" => Kw::Concat,
        b"union" => Kw::Union,
        b"and" => Kw::And,
        b"or" => Kw::Or,
        b"not" => Kw::Not,
        b"where" => Kw::Where,
        b"when" => Kw::When,
        b"then" => Kw::Then,
        b"on" => Kw::On,
        b"having" => Kw::Having,
        b"order" => Kw::Order,
        b"by" => Kw::By,
        b"as" => Kw::As,
        b"cast" => Kw::Cast,
        b"chr" | b"char" => Kw::Chr,
        b"rand" => Kw::Rand,
        b"into" => Kw::Into,
        b"outfile" | b"dumpfile" => Kw::Outfile,
        b"generate_series" | b"benchmark" => Kw::Series,
        b"sleep" | b"pg_sleep" | b"pg_sleep_for" | b"pg_sleep_until" => Kw::Delay,
        b"waitfor" => Kw::Waitfor,
        b"extractvalue" | b"updatexml" | b"gtid_subset" | b"gtid_subtract" => Kw::Error,
        b"load_file"
        | b"pg_read_file"
        | b"pg_read_binary_file"
        | b"pg_ls_dir"
        | b"lo_import"
        | b"lo_export"
        | b"pg_stat_file"
        | b"pg_ls_logdir"
        | b"pg_ls_waldir"
        | b"pg_ls_tmpdir"
        | b"pg_ls_archive_statusdir"
        | b"pg_file_write"
        | b"pg_file_read"
        | b"pg_file_rename"
        | b"pg_file_unlink"
        | b"pg_logdir_ls" => Kw::File,
        b"drop" | b"alter" | b"grant" | b"update" | b"insert" | b"delete" | b"create"
        | b"truncate" | b"shutdown" | b"copy" => Kw::Verb,
        b"int" | b"int2" | b"int4" | b"int8" | b"integer" | b"smallint" | b"bigint"
        | b"numeric" | b"decimal" | b"real" | b"float" | b"float8" | b"double" | b"signed"
        | b"unsigned" => Kw::NumType,
        b"case" => Kw::Case,
        b"end" => Kw::End,
        b"else" => Kw::Else,
        b"exists" => Kw::Exists,
        b"is" | b"isnull" | b"notnull" => Kw::Is,
        b"in" => Kw::In,
        b"similar" => Kw::Similar,
        b"any" | b"all" | b"some" => Kw::AnyAll,
        b"array" => Kw::Array,
        b"bool" | b"boolean" => Kw::BoolType,
        b"current_user" | b"session_user" | b"current_role" | b"system_user"
        | b"current_catalog" | b"current_schema" => Kw::ServerWord,
        b"version" | b"user" | b"database" | b"schema" | b"current_database" => Kw::ServerText,
        b"current_setting"
        | b"pg_has_role"
        | b"inet_server_addr"
        | b"inet_server_port"
        | b"pg_postmaster_start_time"
        | b"pg_conf_load_time" => Kw::ServerFn,
        b"string_agg" | b"group_concat" | b"array_to_string" | b"listagg" => Kw::TextAgg,
        b"join" => Kw::Join,
        b"returning" | b"intersect" | b"except" | b"window" => Kw::EndClause,
        b"distinct" => Kw::Distinct,
        b"to" | b"escape" | b"symmetric" | b"interval" | b"date" | b"time" | b"timestamp"
        | b"current_date" | b"current_time" | b"current_timestamp" | b"localtime"
        | b"localtimestamp" | b"unknown" | b"at" | b"zone" | b"collate" | b"asc" | b"desc"
        | b"nulls" | b"first" | b"last" | b"only" | b"inner" | b"outer" | b"cross" | b"natural"
        | b"lateral" | b"with" | b"recursive" => Kw::Noise,
        _ if is_privilege_check(w) => Kw::ServerFn,
        _ if is_remote(w) => Kw::Remote,
        _ => Kw::Other,
    }
}

/// `has_table_privilege`, `has_database_privilege`...: what the session may do.
fn is_privilege_check(w: &[u8]) -> bool {
    w.starts_with(b"has_") && w.ends_with(b"_privilege")
}

/// Functions and packages that reach another server: PostgreSQL's dblink and postgres_fdw
/// helpers, pgsql-http, SQL Server's ad-hoc remote rowsets and UNC probes, Oracle's network
/// packages.
fn is_remote(w: &[u8]) -> bool {
    const PREFIXES: &[&[u8]] = &[
        b"dblink",
        b"postgres_fdw",
        b"utl_http",
        b"utl_inaddr",
        b"utl_tcp",
        b"utl_smtp",
    ];
    const NAMES: &[&[u8]] = &[
        b"openrowset",
        b"opendatasource",
        b"openquery",
        b"xp_dirtree",
        b"xp_fileexist",
        b"xp_subdirs",
        b"http_get",
        b"http_post",
        b"http_put",
        b"http_patch",
        b"http_delete",
        b"http_head",
    ];
    PREFIXES.iter().any(|p| w.starts_with(p)) || NAMES.contains(&w)
}

/// Columns of MySQL's credential tables holding password hashes (lower-cased).
fn is_credential_column(w: &[u8]) -> bool {
    matches!(w, b"authentication_string" | b"password" | b"priv")
}

/// Names of system catalogues and credential tables (lower-cased).
fn is_catalog(w: &[u8]) -> bool {
    matches!(
        w,
        b"information_schema"
            | b"pg_catalog"
            | b"pg_shadow"
            | b"pg_authid"
            | b"pg_user"
            | b"pg_roles"
            | b"pg_tables"
            | b"pg_class"
            | b"pg_namespace"
            | b"pg_database"
            | b"pg_proc"
            | b"sqlite_master"
            | b"sqlite_schema"
            | b"sqlite_temp_master"
            | b"performance_schema"
            | b"dual"
    )
}

impl Scanner<'_> {
    fn peek(&self, k: usize) -> u8 {
        self.s.get(self.i + k).copied().unwrap_or(0)
    }

    /// Skips whitespace and comments. Returns false at end of input.
    fn skip_space(&mut self, sig: &mut Signals) -> bool {
        loop {
            let c = self.peek(0);
            if c == 0 && self.i >= self.s.len() {
                return false;
            }
            if c.is_ascii_whitespace() {
                self.i += 1;
            } else if (c == b'-' && self.peek(1) == b'-' && self.dash_comment())
                || (c == b'#' && self.mysql)
            {
                self.line_comment();
            } else if c == b'/' && self.peek(1) == b'*' {
                // `/*!` (MySQL, MariaDB) and `/*M!` (MariaDB only) are executable comments.
                let bang = if self.peek(2) == b'!' {
                    3
                } else if matches!(self.peek(2), b'M' | b'm') && self.peek(3) == b'!' {
                    4
                } else {
                    0
                };
                if self.mysql && bang > 0 {
                    // Executable comment: its body is SQL to MySQL, so it is SQL to us.
                    if sig.tokens > 0 {
                        sig.executable_comment = true;
                    }
                    self.i += bang;
                    while self.peek(0).is_ascii_digit() {
                        self.i += 1;
                    }
                    self.in_exec_comment = true;
                } else {
                    self.block_comment();
                }
            } else if c == b'*' && self.peek(1) == b'/' && self.in_exec_comment {
                self.in_exec_comment = false;
                self.i += 2;
            } else {
                return true;
            }
        }
    }

    /// After MySQL's `SOUNDS`: skips a following `LIKE`, when there is one.
    fn followed_by_like(&mut self) -> bool {
        let mut j = self.i;
        while self.s.get(j).is_some_and(u8::is_ascii_whitespace) {
            j += 1;
        }
        let word = self.s.get(j..j + 4);
        let ends = !self
            .s
            .get(j + 4)
            .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_');
        if word.is_some_and(|w| w.eq_ignore_ascii_case(b"like")) && ends {
            self.i = j + 4;
            return true;
        }
        false
    }

    /// At `--`: whether it opens a comment. MySQL needs whitespace or a control character (or
    /// the end of the text) after it: `1--1` is `1 - -1` there.
    fn dash_comment(&self) -> bool {
        !self.mysql || matches!(self.peek(2), 0..=b' ')
    }

    fn line_comment(&mut self) {
        while self.i < self.s.len() && self.s[self.i] != b'\n' {
            self.i += 1;
        }
    }

    fn block_comment(&mut self) {
        self.i += 2;
        while self.i < self.s.len() {
            if self.s[self.i] == b'*' && self.peek(1) == b'/' {
                self.i += 2;
                return;
            }
            self.i += 1;
        }
    }

    /// Skips a quoted run starting at the opening quote. Returns false when unterminated.
    fn quoted(&mut self, q: u8, backslash: bool) -> bool {
        self.i += 1;
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if backslash && c == b'\\' {
                self.i += 2;
                continue;
            }
            if c == q {
                if self.peek(1) == q {
                    self.i += 2;
                    continue;
                }
                self.i += 1;
                return true;
            }
            self.i += 1;
        }
        false
    }

    /// `$tag$ ... $tag$`; the caller saw `$`. Returns None when this is not a dollar quote.
    fn dollar(&mut self) -> Option<bool> {
        let start = self.i;
        let mut j = self.i + 1;
        while j < self.s.len() && (self.s[j].is_ascii_alphanumeric() || self.s[j] == b'_') {
            j += 1;
        }
        if self.s.get(j) != Some(&b'$') || self.s.get(start + 1).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        let tag = &self.s[start..=j];
        let mut k = j + 1;
        while k + tag.len() <= self.s.len() {
            if &self.s[k..k + tag.len()] == tag {
                self.i = k + tag.len();
                return Some(true);
            }
            k += 1;
        }
        self.i = self.s.len();
        Some(false)
    }
}

fn hex_is_text(digits: &[u8]) -> bool {
    if digits.len() < 4 || !digits.len().is_multiple_of(2) {
        return false;
    }
    digits.chunks(2).all(|p| {
        let v = |c: u8| (c as char).to_digit(16);
        match (v(p[0]), v(p[1])) {
            (Some(h), Some(l)) => (0x20..0x7f).contains(&(h * 16 + l)),
            _ => false,
        }
    })
}

/// Scans `sql`. `mysql` selects MySQL lexing (`#` comments, backslash escapes, `"strings"`,
/// executable comments).
pub fn scan(sql: &str, mysql: bool) -> Signals {
    let mut sig = Signals {
        mysql,
        ..Signals::default()
    };
    let mut sc = Scanner {
        s: sql.as_bytes(),
        i: 0,
        mysql,
        in_exec_comment: false,
    };
    // Window of the last five significant tokens, newest last.
    let mut win = [Tok::Other; 5];
    // Which of those came from MySQL's symbolic or rare connectives (`||`, `&&`, `XOR`) or
    // `<=>`: no builder writes a constant comparison beside them.
    let mut sym = [false; 5];
    let mut stack = [Group::default(); MAX_PARENS];
    let mut depth: usize = 0;
    let mut closed_textual = false;
    let mut top = Top::Other;
    let mut char_code_open: Option<usize> = None;
    let mut in_order_by = false;
    let mut after_semi = false;
    let mut prev_word_opens: Option<Kw> = None;
    let mut prev_tilde = false;
    let mut terms = terms::Terms::new(mysql);

    loop {
        if !sc.skip_space(&mut sig) {
            break;
        }
        let c = sc.peek(0);
        let start = sc.i;
        let mut extra = terms::Extra {
            dot: c == b'.',
            // `[`, `]` and the `@@` of a system variable carry no row data.
            neutral: matches!(c, b'[' | b']')
                || (c == b'@' && (sc.peek(1) == b'@' || (start > 0 && sc.s[start - 1] == b'@'))),
            star: c == b'*',
            ..terms::Extra::default()
        };
        let mut symbolic = false;
        let tok = match c {
            b'\'' => {
                let backslash = mysql;
                if !sc.quoted(b'\'', backslash) {
                    sig.unterminated_quote = true;
                }
                Tok::Lit(Lit::Str)
            }
            b'"' => {
                if !sc.quoted(b'"', mysql) {
                    sig.unterminated_quote = true;
                }
                if mysql {
                    Tok::Lit(Lit::Str)
                } else {
                    Tok::Word(Kw::Other)
                }
            }
            b'`' => {
                if !sc.quoted(b'`', false) {
                    sig.unterminated_quote = true;
                } else {
                    let mut buf = [0u8; LONGEST_WORD];
                    let name = lowered(&sc.s[start + 1..sc.i - 1], &mut buf).unwrap_or_default();
                    if is_credential_column(name) {
                        sig.credential_columns = true;
                    }
                }
                Tok::Word(Kw::Other)
            }
            b'$' if !mysql => match sc.dollar() {
                Some(done) => {
                    if !done {
                        sig.unterminated_quote = true;
                    }
                    Tok::Lit(Lit::Str)
                }
                None => {
                    // `$1` placeholder.
                    sc.i += 1;
                    while sc.peek(0).is_ascii_digit() {
                        sc.i += 1;
                    }
                    Tok::Word(Kw::Other)
                }
            },
            b'0'..=b'9' => {
                if c == b'0' && matches!(sc.peek(1), b'x' | b'X') {
                    sc.i += 2;
                    let d = sc.i;
                    while sc.peek(0).is_ascii_hexdigit() {
                        sc.i += 1;
                    }
                    if hex_is_text(&sc.s[d..sc.i]) {
                        sig.hex_text += 1;
                    }
                    Tok::Lit(Lit::Num { bit: false })
                } else {
                    let mut value: u64 = 0;
                    while sc.peek(0).is_ascii_digit() {
                        value = value
                            .saturating_mul(10)
                            .saturating_add(u64::from(sc.peek(0) - b'0'));
                        sc.i += 1;
                    }
                    let mut integer = true;
                    if sc.peek(0) == b'.' && sc.peek(1).is_ascii_digit() {
                        integer = false;
                        sc.i += 1;
                        while sc.peek(0).is_ascii_digit() {
                            sc.i += 1;
                        }
                    }
                    if matches!(sc.peek(0), b'e' | b'E')
                        && (sc.peek(1).is_ascii_digit()
                            || (matches!(sc.peek(1), b'+' | b'-') && sc.peek(2).is_ascii_digit()))
                    {
                        integer = false;
                        sc.i += 2;
                        while sc.peek(0).is_ascii_digit() {
                            sc.i += 1;
                        }
                    }
                    if depth > 0 && depth <= MAX_PARENS {
                        let g = &mut stack[depth - 1];
                        if g.series || g.rand {
                            sig.value_sensitive = true;
                        }
                        if g.series && value >= 1_000_000 {
                            sig.heavy_series = true;
                        }
                        if !(g.rand && value == 0 && !g.any) {
                            g.zero_only = false;
                        }
                        g.any = true;
                    }
                    if in_order_by && integer && matches!(win[4], Tok::Word(Kw::By) | Tok::Comma) {
                        sig.value_sensitive = true;
                        sig.order_by_ordinal = sig
                            .order_by_ordinal
                            .max(u32::try_from(value).unwrap_or(u32::MAX));
                    }
                    Tok::Lit(Lit::Num {
                        bit: integer && value <= 1,
                    })
                }
            }
            b'x' | b'X' | b'b' | b'B' | b'e' | b'E' | b'n' | b'N' if sc.peek(1) == b'\'' => {
                let hex = matches!(c, b'x' | b'X');
                sc.i += 1;
                let d = sc.i + 1;
                if !sc.quoted(b'\'', matches!(c, b'e' | b'E') || mysql) {
                    sig.unterminated_quote = true;
                } else if hex && hex_is_text(&sc.s[d..sc.i - 1]) {
                    sig.hex_text += 1;
                }
                Tok::Lit(Lit::Str)
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' | 0x80..=0xff => {
                while sc.i < sc.s.len()
                    && (sc.s[sc.i].is_ascii_alphanumeric()
                        || matches!(sc.s[sc.i], b'_' | b'$')
                        || sc.s[sc.i] >= 0x80)
                {
                    sc.i += 1;
                }
                let w = &sc.s[start..sc.i];
                let mut buf = [0u8; LONGEST_WORD];
                let lw = lowered(w, &mut buf).unwrap_or_default();
                if is_credential_column(lw) {
                    sig.credential_columns = true;
                }
                if is_catalog(lw) && lw != b"dual" {
                    sig.catalog_name = true;
                    extra.catalog = true;
                }
                extra.catalog |= lw.starts_with(b"pg_") || (lw == b"mysql" && sc.peek(0) == b'.');
                extra.null = lw == b"null";
                extra.dual = lw == b"dual";
                extra.sysvar = start >= 2 && &sc.s[start - 2..start] == b"@@";
                if lw == b"mysql" && sc.peek(0) == b'.' {
                    let rest = &sc.s[sc.i + 1..];
                    let named = |n: &[u8]| {
                        rest.get(..n.len())
                            .is_some_and(|r| r.eq_ignore_ascii_case(n))
                            && !rest
                                .get(n.len())
                                .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                    };
                    if named(b"user") || named(b"global_priv") {
                        sig.catalog_name = true;
                        sig.credential_table = true;
                    }
                }
                match lw {
                    // MySQL: `XOR` is a connective, `DIV` integer division.
                    b"xor" if mysql => {
                        symbolic = true;
                        Tok::Word(Kw::Or)
                    }
                    b"div" if mysql => Tok::Arith,
                    b"sounds" if mysql && sc.followed_by_like() => Tok::Cmp(Cmp::Like),
                    b"like" | b"rlike" | b"ilike" | b"regexp" | b"glob" => Tok::Cmp(Cmp::Like),
                    b"between" => Tok::Cmp(Cmp::Between),
                    b"true" | b"false" => Tok::Lit(Lit::Num { bit: true }),
                    b"null" => Tok::Lit(Lit::Str),
                    _ => Tok::Word(keyword(lw)),
                }
            }
            b'(' => {
                sc.i += 1;
                Tok::LParen
            }
            b')' => {
                sc.i += 1;
                Tok::RParen
            }
            b',' => {
                sc.i += 1;
                Tok::Comma
            }
            b';' => {
                sc.i += 1;
                Tok::Semi
            }
            b'~' => {
                sc.i += 1;
                Tok::Tilde
            }
            b'=' => {
                sc.i += if sc.peek(1) == b'=' { 2 } else { 1 };
                Tok::Cmp(Cmp::Eq)
            }
            b'!' if sc.peek(1) == b'~' => {
                // `!~`, `!~*`: a negated regular-expression match.
                sc.i += 2;
                Tok::Tilde
            }
            b'!' if sc.peek(1) == b'=' => {
                sc.i += 2;
                Tok::Cmp(Cmp::Ne)
            }
            b'<' | b'>' => {
                let n = sc.peek(1);
                if c == b'<' && n == b'>' {
                    sc.i += 2;
                    Tok::Cmp(Cmp::Ne)
                } else if c == b'<' && n == b'=' && sc.peek(2) == b'>' {
                    sc.i += 3;
                    symbolic = true;
                    Tok::Cmp(Cmp::Eq)
                } else if n == b'=' {
                    sc.i += 2;
                    Tok::Cmp(Cmp::Order)
                } else if n == c {
                    sc.i += 2;
                    Tok::Arith
                } else {
                    sc.i += 1;
                    Tok::Cmp(Cmp::Order)
                }
            }
            // MySQL's default sql_mode: `||` is OR, `&&` AND, `!` NOT.
            b'|' if mysql && sc.peek(1) == b'|' => {
                sc.i += 2;
                symbolic = true;
                Tok::Word(Kw::Or)
            }
            b'&' if mysql && sc.peek(1) == b'&' => {
                sc.i += 2;
                symbolic = true;
                Tok::Word(Kw::And)
            }
            b'!' if mysql => {
                sc.i += 1;
                Tok::Word(Kw::Not)
            }
            b'|' if sc.peek(1) == b'|' => {
                sc.i += 2;
                if depth > 0 && depth <= MAX_PARENS {
                    stack[depth - 1].textual = true;
                    stack[depth - 1].concat = true;
                }
                Tok::Concat
            }
            b':' if sc.peek(1) == b':' => {
                sc.i += 2;
                Tok::DoubleColon
            }
            b'+' | b'-' | b'*' | b'/' | b'%' | b'.' | b'^' | b'&' | b'|' => {
                sc.i += 1;
                Tok::Arith
            }
            _ => {
                sc.i += 1;
                Tok::Other
            }
        };
        sig.tokens += 1;
        if sig.tokens == 1 {
            sig.script_start = matches!(tok, Tok::Word(_)) && is_script_word(&sc.s[start..sc.i]);
        }
        if let Tok::Lit(Lit::Str) = tok
            && depth > 0
            && depth <= MAX_PARENS
        {
            stack[depth - 1].string = true;
        }
        if depth == 0 {
            top = match tok {
                Tok::Word(Kw::Select) => Top::Projection,
                Tok::Word(Kw::From) => Top::From,
                Tok::Word(Kw::Where | Kw::On | Kw::Having | Kw::Group | Kw::Order) => Top::Other,
                Tok::Word(Kw::Set | Kw::Values) => Top::Other,
                Tok::Semi => Top::Other,
                _ => top,
            };
        }
        if is_lit(tok).is_some() && is_lit(win[4]).is_some() {
            sig.adjacent_literals = true;
        }
        if c == b'@' && sc.peek(0) == b'@' {
            sig.system_variable = true;
        }
        if extra.star && depth == 0 && top == Top::Projection {
            sig.credential_columns = true;
        }

        // Constant comparisons: LIT CMP LIT with nothing binding tighter on either side.
        check_constant(&win, &sym, tok, depth, top, &mut sig);
        terms.token(tok, extra, &mut sig);

        match tok {
            Tok::LParen => {
                let mut g = Group {
                    zero_only: true,
                    ..Group::default()
                };
                if char_code_open.is_none() && prev_word_opens == Some(Kw::CharCode) {
                    char_code_open = Some(depth);
                }
                match prev_word_opens {
                    Some(Kw::Cast) => g.cast = true,
                    Some(Kw::Concat) => {
                        g.concat = true;
                        g.textual = true;
                    }
                    Some(Kw::Chr) => sig.chr_calls += 1,
                    Some(Kw::Rand) => g.rand = true,
                    Some(Kw::Series) => g.series = true,
                    Some(Kw::Delay) => sig.delay_call = true,
                    Some(Kw::Error) => sig.error_call = true,
                    Some(Kw::File) => sig.file_call = true,
                    Some(Kw::Remote) => sig.remote_call = true,
                    // Server identity and string aggregates are text: casting them to a
                    // number puts their value in the error message.
                    Some(Kw::ServerText | Kw::ServerWord | Kw::TextAgg) => g.textual = true,
                    _ => {}
                }
                if prev_tilde {
                    g.bitnot = true;
                }
                if depth < MAX_PARENS {
                    stack[depth] = g;
                }
                depth += 1;
            }
            Tok::RParen => {
                if depth == 0 {
                    sig.unbalanced_parens = true;
                } else {
                    depth -= 1;
                    if depth < MAX_PARENS {
                        let mut g = stack[depth];
                        // A table-less subquery (`(SELECT version())`) yields text too.
                        g.textual |= g.select && !g.from;
                        if g.cast && g.as_number && g.textual {
                            sig.numeric_cast_of_text = true;
                        }
                        if g.rand && g.zero_only && g.any {
                            sig.rand_zero = true;
                        }
                        // A group with text or a subquery inside propagates outward.
                        if g.textual && depth > 0 && depth <= MAX_PARENS {
                            stack[depth - 1].textual = true;
                        }
                        // For `(...)::int` right after.
                        closed_textual = g.textual;
                        if g.concat && g.string && g.subquery && outside_projection(top, depth) {
                            sig.marked_subquery = true;
                        }
                        if g.select && depth > 0 && depth <= MAX_PARENS {
                            stack[depth - 1].subquery = true;
                        }
                        if char_code_open == Some(depth) {
                            char_code_open = None;
                        }
                    }
                }
            }
            Tok::Word(Kw::From) if depth > 0 && depth <= MAX_PARENS => {
                stack[depth - 1].from = true;
            }
            Tok::Word(Kw::Slice) if char_code_open.is_some() => sig.char_code_of_slice = true,
            Tok::Word(Kw::Select) => {
                sig.selects += 1;
                if depth > 0 && depth <= MAX_PARENS {
                    stack[depth - 1].select = true;
                    if stack[depth - 1].bitnot {
                        sig.bitnot_subquery = true;
                    }
                }
            }
            Tok::Word(Kw::Union) => sig.unions += 1,
            Tok::Word(Kw::NumType) => {
                // `CAST(x AS int)` or `(...)::int`.
                if win[4] == Tok::Word(Kw::As) && depth > 0 && depth <= MAX_PARENS {
                    stack[depth - 1].as_number = true;
                }
                if win[4] == Tok::DoubleColon
                    && ((win[3] == Tok::RParen && closed_textual)
                        || win[3] == Tok::Word(Kw::ServerWord))
                {
                    sig.numeric_cast_of_text = true;
                }
            }
            Tok::Word(Kw::ServerWord) if depth > 0 && depth <= MAX_PARENS => {
                // `CAST(current_user AS int)`.
                stack[depth - 1].textual = true;
            }
            Tok::Word(Kw::Remote) if sc.peek(0) == b'.' => sig.remote_call = true,
            Tok::Word(Kw::Outfile) if win[4] == Tok::Word(Kw::Into) => sig.file_call = true,
            Tok::Word(Kw::Waitfor) => sig.delay_call = true,
            _ => {}
        }
        if after_semi && matches!(tok, Tok::Word(Kw::Verb | Kw::Select | Kw::Waitfor)) {
            sig.stacked_verb = true;
        }
        if tok != Tok::RParen && tok != Tok::DoubleColon {
            closed_textual = false;
        }
        // ORDER BY <list>: numbers until a keyword ends the list.
        if tok == Tok::Word(Kw::By) && win[4] == Tok::Word(Kw::Order) {
            in_order_by = true;
        } else if matches!(tok, Tok::Word(k) if k != Kw::Other) || tok == Tok::Semi {
            in_order_by = false;
        }
        after_semi = tok == Tok::Semi;
        prev_word_opens = match tok {
            Tok::Word(k) => Some(k),
            _ => None,
        };
        prev_tilde = tok == Tok::Tilde;
        win = [win[1], win[2], win[3], win[4], tok];
        sym = [sym[1], sym[2], sym[3], sym[4], symbolic];
    }
    // End of text closes a pending comparison.
    check_constant(&win, &sym, Tok::Semi, depth, top, &mut sig);
    terms.finish(&mut sig);
    if depth > 0 {
        sig.unbalanced_parens = true;
    }
    sig
}

fn odd(sig: &mut Signals, depth: usize, top: Top) {
    sig.odd_constants += 1;
    if depth > 0 {
        sig.odd_constants_in_parens += 1;
    }
    if outside_projection(top, depth) {
        sig.odd_constants_in_clauses += 1;
    }
}

/// Which top-level clause the scanner is in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Top {
    Projection,
    From,
    /// WHERE, ON, HAVING, GROUP BY, ORDER BY, SET, VALUES, or before any keyword.
    Other,
}

fn outside_projection(top: Top, depth: usize) -> bool {
    depth > 0 || top != Top::Projection
}

/// First words of scripts: migrations and session set-up.
fn is_script_word(w: &[u8]) -> bool {
    const WORDS: &[&str] = &[
        "create",
        "alter",
        "drop",
        "truncate",
        "grant",
        "revoke",
        "begin",
        "start",
        "commit",
        "rollback",
        "savepoint",
        "set",
        "reset",
        "lock",
        "use",
        "vacuum",
        "analyze",
        "comment",
        "do",
    ];
    WORDS
        .iter()
        .any(|k| k.len() == w.len() && w.eq_ignore_ascii_case(k.as_bytes()))
}

fn is_lit(t: Tok) -> Option<Lit> {
    match t {
        Tok::Lit(l) => Some(l),
        _ => None,
    }
}

/// Whether a token before a comparison's left operand leaves it a standalone term.
fn opens_term(t: Tok) -> bool {
    matches!(
        t,
        Tok::LParen
            | Tok::Comma
            | Tok::Semi
            | Tok::Other
            | Tok::Word(
                Kw::And
                    | Kw::Or
                    | Kw::Not
                    | Kw::Where
                    | Kw::When
                    | Kw::On
                    | Kw::Having
                    | Kw::Select
                    | Kw::Then
            )
    )
}

fn check_constant(
    win: &[Tok; 5],
    sym: &[bool; 5],
    next: Tok,
    depth: usize,
    top: Top,
    sig: &mut Signals,
) {
    let closes = !matches!(
        next,
        Tok::Arith | Tok::Concat | Tok::DoubleColon | Tok::LParen | Tok::Cmp(_)
    );
    if !closes {
        return;
    }
    // LIT BETWEEN LIT AND LIT
    if let (Some(_), Tok::Cmp(Cmp::Between), Some(_), Tok::Word(Kw::And), Some(_)) = (
        is_lit(win[0]),
        win[1],
        is_lit(win[2]),
        win[3],
        is_lit(win[4]),
    ) {
        sig.value_sensitive = true;
        odd(sig, depth, top);
        return;
    }
    // LIT CMP LIT
    if let (Some(a), Tok::Cmp(op), Some(b)) = (is_lit(win[2]), win[3], is_lit(win[4]))
        && op != Cmp::Between
        && opens_term(win[1])
    {
        sig.value_sensitive = true;
        if win[1] == Tok::Word(Kw::Or) {
            sig.or_constant = true;
        }
        let canonical = !sym[1]
            && !sym[3]
            && matches!(op, Cmp::Eq | Cmp::Ne)
            && matches!(a, Lit::Num { bit: true })
            && matches!(b, Lit::Num { bit: true });
        if canonical {
            sig.canonical_constants += 1;
        } else {
            odd(sig, depth, top);
        }
    }
}
