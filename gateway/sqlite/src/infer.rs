//! Result-column types and names for expressions SQLite cannot type (it knows declared types
//! of plain column references only): a small precedence parser over one select-list item that
//! follows PostgreSQL's rules where they matter to clients — `x::int4` is int4, `a = b` is
//! bool, `count(*)` is int8, `'a' || b` is text — and PostgreSQL's default column names
//! (`count`, `?column?`, the cast operand's name).
//!
//! Anything it does not recognise yields "unknown" and the caller's fallback applies; it never
//! fails and its recursion is bounded.

use super::lex::{Kind, Token, tokenize};
use super::sql::is_reserved;
use super::types::{PgType, cast_target};

/// What the parser needs from the schema and the statement.
pub(crate) trait Resolver {
    /// The type of a column reference (`qualifier.name` or `name`).
    fn column(&self, qualifier: Option<&str>, name: &str) -> Option<PgType>;
    /// The type of parameter `$n`.
    fn param(&self, n: u32) -> Option<PgType>;
}

/// What is known about one result item.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Item {
    /// `AS alias` or a bare alias.
    pub alias: Option<String>,
    /// PostgreSQL's default name for the expression (`?column?` for operators and literals),
    /// when the expression was understood.
    pub default_name: Option<String>,
    /// The expression's type, when it could be inferred.
    pub ty: Option<PgType>,
    /// `*` or `t.*`: expands to several columns.
    pub star: bool,
}

impl Item {
    /// The column name PostgreSQL would show, if it differs from SQLite's choice.
    pub fn name(&self) -> Option<&str> {
        if self.alias.is_some() {
            return None; // SQLite uses the alias too
        }
        self.default_name.as_deref()
    }
}

/// Analyze one select-list item (its source text, casts and `$n` not yet rewritten).
pub(crate) fn item(text: &str, r: &dyn Resolver) -> Item {
    let toks = tokenize(text);
    let sig: Vec<Token<'_>> = toks.into_iter().filter(|t| !t.is_trivia()).collect();
    let star = sig
        .last()
        .is_some_and(|t| t.kind == Kind::Op && t.text == "*")
        && (sig.len() == 1 || sig.get(sig.len() - 2).is_some_and(|t| t.kind == Kind::Dot));
    if star {
        return Item {
            star: true,
            ..Item::default()
        };
    }
    let mut p = Parser {
        sig: &sig,
        pos: 0,
        r,
        depth: 0,
    };
    let Some(e) = p.expr(0) else {
        return Item::default();
    };
    let rest = sig.get(p.pos..).unwrap_or_default();
    let alias = match rest {
        [] => None,
        [a, n] if a.is_kw("AS") => n.ident_name(),
        [n] if n.kind == Kind::QIdent || (n.kind == Kind::Ident && !is_reserved(n)) => {
            n.ident_name()
        }
        _ => return Item::default(),
    };
    let ty = match e.ty {
        Ty::Known(t) => Some(t),
        Ty::Null => Some(PgType::Text),
        Ty::Unknown => None,
    };
    Item {
        alias,
        default_name: e.name,
        ty,
        star: false,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Known(PgType),
    /// The NULL literal: adopts the other operand's type.
    Null,
    Unknown,
}

impl Ty {
    fn known(self) -> Option<PgType> {
        match self {
            Self::Known(t) => Some(t),
            _ => None,
        }
    }
}

impl From<Option<PgType>> for Ty {
    fn from(t: Option<PgType>) -> Self {
        t.map_or(Self::Unknown, Self::Known)
    }
}

struct Expr {
    ty: Ty,
    name: Option<String>,
}

impl Expr {
    fn op(ty: Ty) -> Self {
        Self {
            ty,
            name: Some("?column?".into()),
        }
    }
}

const MAX_DEPTH: usize = 64;

struct Parser<'a, 't> {
    sig: &'a [Token<'t>],
    pos: usize,
    r: &'a dyn Resolver,
    depth: usize,
}

/// Arithmetic result type: PostgreSQL's numeric promotion over the types used here.
fn arith(a: Ty, b: Ty) -> Ty {
    use PgType::*;
    match (a, b) {
        (Ty::Null, x) | (x, Ty::Null) => x,
        (Ty::Known(x), Ty::Known(y)) => {
            let rank = |t: PgType| match t {
                Int2 => Some(0),
                Int4 => Some(1),
                Int8 => Some(2),
                Numeric => Some(3),
                Float4 => Some(4),
                Float8 => Some(5),
                _ => None,
            };
            match (rank(x), rank(y)) {
                (Some(rx), Some(ry)) => {
                    let t = if rx >= ry { x } else { y };
                    // numeric with a float is float8, two float4s stay float4.
                    if (x == Numeric && y.is_float()) || (y == Numeric && x.is_float()) {
                        Ty::Known(Float8)
                    } else {
                        Ty::Known(t)
                    }
                }
                _ => Ty::Unknown,
            }
        }
        _ => Ty::Unknown,
    }
}

fn function_type(name: &str, args: &[Ty]) -> Ty {
    use PgType::*;
    let first_known = || {
        args.iter()
            .find_map(|t| t.known())
            .map_or(Ty::Unknown, Ty::Known)
    };
    let arg0 = args.first().copied().unwrap_or(Ty::Unknown);
    match name {
        "count" | "length" | "octet_length" | "char_length" | "character_length" | "instr"
        | "unicode" | "random" | "changes" | "total_changes" | "last_insert_rowid"
        | "pg_backend_pid" | "strpos" | "sign" | "row_number" | "rank" | "dense_rank" | "ntile"
        | "unixepoch" | "ascii" | "bit_length" => Ty::Known(Int8),
        "avg" | "total" | "julianday" | "round" | "percent_rank" | "cume_dist" | "pi" | "sqrt"
        | "exp" | "ln" | "log" | "log10" | "log2" | "pow" | "power" | "sin" | "cos" | "tan"
        | "asin" | "acos" | "atan" | "atan2" | "degrees" | "radians" | "stddev" | "variance" => {
            Ty::Known(Float8)
        }
        "sum" => match arg0 {
            Ty::Known(t) if t.is_integer() => Ty::Known(Int8),
            Ty::Known(t) if t.is_float() => Ty::Known(Float8),
            Ty::Known(Numeric) => Ty::Known(Numeric),
            _ => Ty::Unknown,
        },
        "min" | "max" | "abs" | "coalesce" | "ifnull" | "nullif" | "greatest" | "least"
        | "ceil" | "ceiling" | "floor" | "trunc" | "lag" | "lead" | "first_value"
        | "last_value" | "nth_value" | "any_value" | "likely" | "unlikely" | "likelihood" => {
            first_known()
        }
        "iif" => args
            .get(1..)
            .and_then(|a| a.iter().find_map(|t| t.known()))
            .map_or(Ty::Unknown, Ty::Known),
        "lower"
        | "upper"
        | "trim"
        | "ltrim"
        | "rtrim"
        | "btrim"
        | "substr"
        | "substring"
        | "replace"
        | "printf"
        | "format"
        | "quote"
        | "hex"
        | "typeof"
        | "group_concat"
        | "string_agg"
        | "concat"
        | "concat_ws"
        | "char"
        | "chr"
        | "version"
        | "current_database"
        | "current_user"
        | "session_user"
        | "current_role"
        | "current_catalog"
        | "current_schema"
        | "current_setting"
        | "date"
        | "time"
        | "datetime"
        | "strftime"
        | "timediff"
        | "now"
        | "lpad"
        | "rpad"
        | "left"
        | "right"
        | "repeat"
        | "reverse"
        | "to_char"
        | "json"
        | "json_array"
        | "json_object"
        | "json_extract"
        | "json_group_array"
        | "json_group_object"
        | "json_quote"
        | "json_type"
        | "json_set"
        | "json_insert"
        | "json_replace"
        | "json_remove"
        | "json_patch"
        | "soundex"
        | "gen_random_uuid"
        | "initcap"
        | "split_part"
        | "translate"
        | "sqlite_version"
        | "statement_timestamp"
        | "transaction_timestamp"
        | "clock_timestamp"
        | "sqlite_source_id"
        | "unistr"
        | "md5"
        | "octet" => Ty::Known(Text),
        "randomblob" | "zeroblob" | "unhex" | "pg_cast_bytea" => Ty::Known(Bytea),
        "pg_cast_bool" => Ty::Known(Bool),
        _ => Ty::Unknown,
    }
}

/// Names PostgreSQL gives to SQL-standard value functions written without parentheses.
const VALUE_FUNCTIONS: &[(&str, PgType)] = &[
    ("current_timestamp", PgType::Text),
    ("current_date", PgType::Text),
    ("current_time", PgType::Text),
    ("localtimestamp", PgType::Text),
    ("localtime", PgType::Text),
    ("current_user", PgType::Text),
    ("session_user", PgType::Text),
    ("current_role", PgType::Text),
    ("current_catalog", PgType::Text),
    ("current_schema", PgType::Text),
    ("user", PgType::Text),
];

impl<'t> Parser<'_, 't> {
    fn peek(&self) -> Option<Token<'t>> {
        self.sig.get(self.pos).copied()
    }

    fn peek_kw(&self, kw: &str) -> bool {
        self.peek().is_some_and(|t| t.is_kw(kw))
    }

    fn peek_op(&self, op: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Kind::Op && t.text == op)
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        let hit = self.peek_kw(kw);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn eat(&mut self, kind: Kind) -> bool {
        let hit = self.peek().is_some_and(|t| t.kind == kind);
        if hit {
            self.pos += 1;
        }
        hit
    }

    /// Skip a parenthesised group starting at the current `(`.
    fn skip_group(&mut self) -> Option<()> {
        if !self.eat(Kind::LParen) {
            return None;
        }
        let mut depth = 1usize;
        while depth > 0 {
            let t = self.peek()?;
            match t.kind {
                Kind::LParen => depth += 1,
                Kind::RParen => depth -= 1,
                _ => {}
            }
            self.pos += 1;
        }
        Some(())
    }

    fn expr(&mut self, min_bp: u8) -> Option<Expr> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let r = self.expr_inner(min_bp);
        self.depth -= 1;
        r
    }

    fn expr_inner(&mut self, min_bp: u8) -> Option<Expr> {
        let mut lhs = self.prefix()?;
        while let Some(t) = self.peek() {
            // Postfix cast binds tightest.
            if t.kind == Kind::Cast {
                self.pos += 1;
                let (name, array) = self.type_name()?;
                let target = cast_target(&name, array);
                let ty = Ty::Known(target.ty.unwrap_or(PgType::Text));
                let name = lhs
                    .name
                    .filter(|n| n != "?column?")
                    .or(Some(type_label(&name)));
                lhs = Expr { ty, name };
                continue;
            }
            if t.is_kw("COLLATE") {
                self.pos += 1;
                self.peek()?;
                self.pos += 1;
                continue;
            }
            let (bp, kind) = match binary_op(&t, self.sig.get(self.pos + 1)) {
                Some(x) => x,
                None => break,
            };
            if bp < min_bp {
                break;
            }
            self.pos += 1;
            lhs = match kind {
                Bin::Logic => {
                    self.expr(bp + 1)?;
                    Expr::op(Ty::Known(PgType::Bool))
                }
                Bin::Compare => {
                    self.eat_kw("NOT");
                    if t.is_kw("IS") {
                        // IS [NOT] NULL / TRUE / FALSE / DISTINCT FROM x
                        if self.eat_kw("DISTINCT") {
                            if !self.eat_kw("FROM") {
                                return None;
                            }
                            self.expr(bp + 1)?;
                        } else {
                            self.expr(bp + 1)?;
                        }
                    } else if t.is_kw("NOT") {
                        // x NOT LIKE / IN / BETWEEN
                        let op = self.peek()?;
                        self.pos += 1;
                        self.rhs_of(&op, bp)?;
                    } else {
                        self.rhs_of(&t, bp)?;
                    }
                    Expr::op(Ty::Known(PgType::Bool))
                }
                Bin::Postfix => Expr::op(Ty::Known(PgType::Bool)),
                Bin::Concat => {
                    self.expr(bp + 1)?;
                    Expr::op(Ty::Known(PgType::Text))
                }
                Bin::Arith => {
                    let rhs = self.expr(bp + 1)?;
                    Expr::op(arith(lhs.ty, rhs.ty))
                }
                Bin::Bits => {
                    self.expr(bp + 1)?;
                    Expr::op(Ty::Known(PgType::Int8))
                }
                Bin::Other => {
                    self.expr(bp + 1)?;
                    Expr::op(Ty::Unknown)
                }
            };
        }
        Some(lhs)
    }

    /// The right side of LIKE / IN / BETWEEN / a comparison operator `op`.
    fn rhs_of(&mut self, op: &Token<'_>, bp: u8) -> Option<()> {
        if op.is_kw("IN") {
            if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
                self.skip_group()
            } else {
                self.expr(bp + 1).map(drop) // IN table-name (SQLite)
            }
        } else if op.is_kw("BETWEEN") {
            self.expr(BP_ARITH)?;
            if !self.eat_kw("AND") {
                return None;
            }
            self.expr(BP_ARITH).map(drop)
        } else {
            self.expr(bp + 1)?;
            if self.eat_kw("ESCAPE") {
                self.expr(bp + 1)?;
            }
            Some(())
        }
    }

    fn type_name(&mut self) -> Option<(String, bool)> {
        let mut name = self.peek()?.ident_name()?;
        self.pos += 1;
        if self.eat(Kind::Dot) {
            name = self.peek()?.ident_name()?;
            self.pos += 1;
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
            while let Some(t) = self.peek() {
                if t.kind == Kind::Ident && words.iter().any(|w| t.is_kw(w)) {
                    name.push(' ');
                    name.push_str(&t.text.to_ascii_lowercase());
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
            self.skip_group()?;
        }
        let mut array = name.starts_with('_');
        while self.peek_op("[") {
            while !self.peek_op("]") {
                self.peek()?;
                self.pos += 1;
            }
            self.pos += 1;
            array = true;
        }
        Some((name, array))
    }

    /// Function arguments after `(`; returns their types, consuming the closing `)`.
    fn args(&mut self) -> Option<Vec<Ty>> {
        let mut out = Vec::new();
        if self.eat(Kind::RParen) {
            return Some(out);
        }
        if self.peek_op("*") {
            self.pos += 1;
            return self.eat(Kind::RParen).then_some(out);
        }
        self.eat_kw("DISTINCT");
        self.eat_kw("ALL");
        loop {
            out.push(self.expr(0)?.ty);
            if self.eat(Kind::Comma) {
                continue;
            }
            if self.eat(Kind::RParen) {
                return Some(out);
            }
            // ORDER BY inside an aggregate, or anything else: skip to the close.
            let mut depth = 0usize;
            loop {
                let t = self.peek()?;
                self.pos += 1;
                match t.kind {
                    Kind::LParen => depth += 1,
                    Kind::RParen if depth == 0 => return Some(out),
                    Kind::RParen => depth -= 1,
                    _ => {}
                }
            }
        }
    }

    fn prefix(&mut self) -> Option<Expr> {
        let t = self.peek()?;
        self.pos += 1;
        match t.kind {
            Kind::Number => Some(Expr::op(Ty::Known(
                if t.text.contains(['.', 'e', 'E']) && !t.text.starts_with("0x") {
                    PgType::Float8
                } else {
                    PgType::Int8
                },
            ))),
            Kind::Str | Kind::EStr | Kind::DollarStr => Some(Expr::op(Ty::Known(PgType::Text))),
            Kind::Blob => Some(Expr::op(Ty::Known(PgType::Bytea))),
            Kind::Param => Some(Expr::op(
                t.param_number().and_then(|n| self.r.param(n)).into(),
            )),
            Kind::Op if t.text == "-" || t.text == "+" => {
                let e = self.expr(BP_UNARY)?;
                Some(Expr::op(e.ty))
            }
            Kind::Op if t.text == "~" => {
                self.expr(BP_UNARY)?;
                Some(Expr::op(Ty::Known(PgType::Int8)))
            }
            Kind::LParen => {
                if self.peek_kw("SELECT") || self.peek_kw("WITH") || self.peek_kw("VALUES") {
                    self.pos -= 1;
                    self.skip_group()?;
                    return Some(Expr {
                        ty: Ty::Unknown,
                        name: None,
                    });
                }
                let e = self.expr(0)?;
                if self.eat(Kind::RParen) {
                    Some(e)
                } else {
                    None // a row constructor or something unexpected
                }
            }
            Kind::Ident | Kind::QIdent => self.ident_prefix(&t),
            _ => None,
        }
    }

    fn ident_prefix(&mut self, t: &Token<'_>) -> Option<Expr> {
        let unquoted = t.kind == Kind::Ident;
        if unquoted {
            if t.is_kw("NULL") {
                return Some(Expr::op(Ty::Null));
            }
            if t.is_kw("TRUE") || t.is_kw("FALSE") {
                return Some(Expr {
                    ty: Ty::Known(PgType::Bool),
                    name: Some("bool".into()),
                });
            }
            if t.is_kw("NOT") {
                self.expr(BP_NOT)?;
                return Some(Expr::op(Ty::Known(PgType::Bool)));
            }
            if t.is_kw("EXISTS") {
                self.skip_group()?;
                return Some(Expr {
                    ty: Ty::Known(PgType::Bool),
                    name: Some("exists".into()),
                });
            }
            if t.is_kw("CASE") {
                return self.case();
            }
            if t.is_kw("CAST") && self.eat(Kind::LParen) {
                let inner = self.expr(0)?;
                if !self.eat_kw("AS") {
                    return None;
                }
                let (name, array) = self.type_name()?;
                if !self.eat(Kind::RParen) {
                    return None;
                }
                let target = cast_target(&name, array);
                let name = inner
                    .name
                    .filter(|n| n != "?column?")
                    .or(Some(type_label(&name)));
                return Some(Expr {
                    ty: Ty::Known(target.ty.unwrap_or(PgType::Text)),
                    name,
                });
            }
            if is_reserved(t) {
                return None;
            }
        }
        let first = t.ident_name()?;
        // Function call?
        if self.eat(Kind::LParen) {
            let args = self.args()?;
            // FILTER (WHERE ...) / OVER (...) / OVER name
            if self.eat_kw("FILTER") {
                self.skip_group()?;
            }
            if self.eat_kw("OVER") {
                if self.peek().is_some_and(|t| t.kind == Kind::LParen) {
                    self.skip_group()?;
                } else {
                    self.peek()?; // OVER window_name
                    self.pos += 1;
                }
            }
            let name = if first == "pg_cast_bool" || first == "pg_cast_bytea" {
                None
            } else {
                Some(first.clone())
            };
            return Some(Expr {
                ty: function_type(&first, &args),
                name,
            });
        }
        // Column reference a[.b[.c]] or t.*
        let mut parts = vec![first];
        while self.peek().is_some_and(|t| t.kind == Kind::Dot) {
            let Some(n) = self.sig.get(self.pos + 1).and_then(Token::ident_name) else {
                break;
            };
            parts.push(n);
            self.pos += 2;
        }
        if parts.len() == 1
            && unquoted
            && let Some((name, ty)) = VALUE_FUNCTIONS.iter().find(|(n, _)| *n == parts[0])
        {
            return Some(Expr {
                ty: Ty::Known(*ty),
                name: Some((*name).to_owned()),
            });
        }
        let name = parts.pop()?;
        let qualifier = parts.pop();
        let ty = self.r.column(qualifier.as_deref(), &name).into();
        Some(Expr {
            ty,
            name: Some(name),
        })
    }

    fn case(&mut self) -> Option<Expr> {
        let mut ty = Ty::Unknown;
        if !self.peek_kw("WHEN") {
            self.expr(0)?;
        }
        while self.eat_kw("WHEN") {
            self.expr(0)?;
            if !self.eat_kw("THEN") {
                return None;
            }
            let r = self.expr(0)?;
            if ty.known().is_none() && r.ty.known().is_some() {
                ty = r.ty;
            }
        }
        if self.eat_kw("ELSE") {
            let r = self.expr(0)?;
            if ty.known().is_none() && r.ty.known().is_some() {
                ty = r.ty;
            }
        }
        if !self.eat_kw("END") {
            return None;
        }
        Some(Expr {
            ty,
            name: Some("case".into()),
        })
    }
}

/// PostgreSQL names a cast of an anonymous expression after the type (`1::int8` → `int8`).
fn type_label(name: &str) -> String {
    match name {
        "integer" | "int" => "int4".into(),
        "bigint" => "int8".into(),
        "smallint" => "int2".into(),
        "boolean" => "bool".into(),
        "double precision" => "float8".into(),
        "real" => "float4".into(),
        "character varying" => "varchar".into(),
        "character" | "char" => "bpchar".into(),
        "decimal" => "numeric".into(),
        "timestamp with time zone" => "timestamptz".into(),
        "timestamp without time zone" => "timestamp".into(),
        other => other.to_owned(),
    }
}

const BP_OR: u8 = 1;
const BP_AND: u8 = 2;
const BP_NOT: u8 = 3;
const BP_IS: u8 = 4;
const BP_CMP: u8 = 5;
const BP_LIKE: u8 = 6;
const BP_OTHER: u8 = 7;
const BP_ARITH: u8 = 8;
const BP_MUL: u8 = 9;
const BP_POW: u8 = 10;
const BP_UNARY: u8 = 11;

#[derive(Debug, Clone, Copy)]
enum Bin {
    Logic,
    Compare,
    Postfix,
    Concat,
    Arith,
    Bits,
    Other,
}

fn binary_op(t: &Token<'_>, next: Option<&Token<'_>>) -> Option<(u8, Bin)> {
    match t.kind {
        Kind::Op => Some(match t.text {
            "=" | "==" | "<>" | "!=" | "<" | ">" | "<=" | ">=" => (BP_CMP, Bin::Compare),
            "+" | "-" => (BP_ARITH, Bin::Arith),
            "*" | "/" | "%" => (BP_MUL, Bin::Arith),
            "^" => (BP_POW, Bin::Other),
            "||" => (BP_OTHER, Bin::Concat),
            "->" | "->>" => (BP_OTHER, Bin::Concat),
            "&" | "|" | "<<" | ">>" | "#" => (BP_OTHER, Bin::Bits),
            "~" | "~*" | "!~" | "!~*" => (BP_LIKE, Bin::Compare),
            "[" => return None,
            _ => (BP_OTHER, Bin::Other),
        }),
        Kind::Ident => {
            let u = t.text.to_ascii_uppercase();
            Some(match u.as_str() {
                "OR" => (BP_OR, Bin::Logic),
                "AND" => (BP_AND, Bin::Logic),
                "IS" => (BP_IS, Bin::Compare),
                "ISNULL" | "NOTNULL" => (BP_IS, Bin::Postfix),
                "LIKE" | "ILIKE" | "GLOB" | "REGEXP" | "MATCH" | "IN" | "BETWEEN" => {
                    (BP_LIKE, Bin::Compare)
                }
                "NOT"
                    if next.is_some_and(|n| {
                        ["LIKE", "ILIKE", "GLOB", "REGEXP", "MATCH", "IN", "BETWEEN"]
                            .iter()
                            .any(|k| n.is_kw(k))
                    }) =>
                {
                    (BP_LIKE, Bin::Compare)
                }
                _ => return None,
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Schema;
    impl Resolver for Schema {
        fn column(&self, _q: Option<&str>, name: &str) -> Option<PgType> {
            match name {
                "id" | "n" => Some(PgType::Int8),
                "price" => Some(PgType::Float8),
                "name" => Some(PgType::Text),
                _ => None,
            }
        }
        fn param(&self, n: u32) -> Option<PgType> {
            (n == 1).then_some(PgType::Int4)
        }
    }

    fn ty(s: &str) -> Option<PgType> {
        item(s, &Schema).ty
    }

    fn name(s: &str) -> Option<String> {
        item(s, &Schema).name().map(str::to_owned)
    }

    #[test]
    fn types() {
        use PgType::*;
        assert_eq!(ty("1"), Some(Int8));
        assert_eq!(ty("1.5"), Some(Float8));
        assert_eq!(ty("'a'"), Some(Text));
        assert_eq!(ty("NULL"), Some(Text));
        assert_eq!(ty("true"), Some(Bool));
        assert_eq!(ty("$1::int8 + 1"), Some(Int8));
        assert_eq!(ty("$1 + 1"), Some(Int8));
        assert_eq!(ty("$1::int4"), Some(Int4));
        assert_eq!(ty("$2"), None);
        assert_eq!(ty("id * price"), Some(Float8));
        assert_eq!(ty("t.id + 1 AS x"), Some(Int8));
        assert_eq!(ty("count(*)"), Some(Int8));
        assert_eq!(ty("count(DISTINCT name) filter (where id > 1)"), Some(Int8));
        assert_eq!(ty("sum(id)"), Some(Int8));
        assert_eq!(ty("max(price)"), Some(Float8));
        assert_eq!(ty("avg(id)"), Some(Float8));
        assert_eq!(ty("lower(name) || 'x'"), Some(Text));
        assert_eq!(ty("id = 1 AND name IS NOT NULL"), Some(Bool));
        assert_eq!(ty("id NOT IN (1, 2)"), Some(Bool));
        assert_eq!(ty("id BETWEEN 1 AND 2"), Some(Bool));
        assert_eq!(ty("name NOT LIKE 'a%' ESCAPE '\\'"), Some(Bool));
        assert_eq!(ty("EXISTS (SELECT 1)"), Some(Bool));
        assert_eq!(ty("CASE WHEN id > 1 THEN 'a' ELSE NULL END"), Some(Text));
        assert_eq!(ty("CAST(name AS integer)"), Some(Int4));
        assert_eq!(ty("created::date"), Some(Text));
        assert_eq!(ty("x::double precision"), Some(Float8));
        assert_eq!(ty("'t'::boolean"), Some(Bool));
        assert_eq!(ty("coalesce(NULL, id)"), Some(Int8));
        assert_eq!(ty("(SELECT max(id) FROM t)"), None);
        assert_eq!(ty("row_number() OVER (ORDER BY id)"), Some(Int8));
        assert_eq!(ty("unknown_fn(id)"), None);
        assert_eq!(ty("mystery"), None);
        assert_eq!(ty("current_timestamp"), Some(Text));
        assert!(item("*", &Schema).star);
        assert!(item("t.*", &Schema).star);
    }

    #[test]
    fn names() {
        assert_eq!(name("1"), Some("?column?".into()));
        assert_eq!(name("count(*)"), Some("count".into()));
        assert_eq!(name("t.id"), Some("id".into()));
        assert_eq!(name("id::text"), Some("id".into()));
        assert_eq!(name("1::int8"), Some("int8".into()));
        assert_eq!(name("$1::integer"), Some("int4".into()));
        assert_eq!(name("CASE WHEN true THEN 1 END"), Some("case".into()));
        assert_eq!(name("id + 1 AS total"), None);
        assert_eq!(
            item("id + 1 total", &Schema).alias.as_deref(),
            Some("total")
        );
        assert_eq!(item("x::double precision", &Schema).alias, None);
        assert_eq!(name("current_user"), Some("current_user".into()));
        assert_eq!(name("(SELECT 1)"), None);
        assert_eq!(name("pg_cast_bool(x)"), None);
    }

    #[test]
    fn hostile_input_is_unknown_not_a_panic() {
        let deep = format!("{}1{}", "(".repeat(500), ")".repeat(500));
        assert_eq!(ty(&deep), None);
        for s in [
            "",
            "(",
            "CASE",
            "CAST(",
            "a::",
            "x IS",
            "1 +",
            "f(1,",
            "a BETWEEN 1",
        ] {
            let _ = item(s, &Schema);
        }
    }
}
