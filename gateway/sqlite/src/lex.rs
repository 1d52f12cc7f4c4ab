//! A PostgreSQL-flavoured SQL tokenizer, just precise enough to split statements and rewrite
//! them for SQLite without touching string literals, quoted identifiers or comments.
//!
//! It never fails: unterminated quotes and comments run to the end of the input (SQLite then
//! reports the syntax error). Token boundaries always fall on ASCII bytes or the end of the
//! input, so every token text is a valid `&str` slice.

use articdbm_facts::sqltext::{
    block_comment_end, dollar_end, is_ident_cont, is_ident_start, quoted_end,
};

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Whitespace.
    Space,
    /// `-- ...` or `/* ... */` (nested, as in PostgreSQL).
    Comment,
    /// `'...'` with `''` escapes (standard_conforming_strings = on).
    Str,
    /// `E'...'`: backslash escapes.
    EStr,
    /// `$tag$...$tag$`.
    DollarStr,
    /// `X'...'`: a SQLite blob literal.
    Blob,
    /// `"..."` with `""` escapes.
    QIdent,
    /// A keyword or an unquoted identifier.
    Ident,
    /// A numeric literal.
    Number,
    /// `$n`: a positional parameter.
    Param,
    /// `::`.
    Cast,
    /// `(`.
    LParen,
    /// `)`.
    RParen,
    /// `,`.
    Comma,
    /// `;`.
    Semi,
    /// `.`.
    Dot,
    /// Any operator (`=`, `<>`, `||`, `+`, ...) or other single character.
    Op,
}

/// One token: its kind and its text in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    pub kind: Kind,
    pub text: &'a str,
}

impl Token<'_> {
    /// Whitespace or a comment.
    pub fn is_trivia(&self) -> bool {
        matches!(self.kind, Kind::Space | Kind::Comment)
    }

    /// An identifier equal to `kw`, ignoring ASCII case.
    pub fn is_kw(&self, kw: &str) -> bool {
        self.kind == Kind::Ident && self.text.eq_ignore_ascii_case(kw)
    }

    /// The parameter number of a `$n` token (`None` when out of range).
    pub fn param_number(&self) -> Option<u32> {
        if self.kind != Kind::Param {
            return None;
        }
        self.text.get(1..)?.parse().ok().filter(|n| *n >= 1)
    }

    /// The identifier's name: unquoted names fold to lower case, quoted ones lose their quotes.
    pub fn ident_name(&self) -> Option<String> {
        match self.kind {
            Kind::Ident => Some(self.text.to_ascii_lowercase()),
            Kind::QIdent => Some(unquote(self.text, '"')),
            _ => None,
        }
    }

    /// The value of a string literal token.
    pub fn string_value(&self) -> Option<String> {
        match self.kind {
            Kind::Str => Some(unquote(self.text, '\'')),
            Kind::EStr => Some(unescape_e(self.text.get(1..).unwrap_or_default())),
            Kind::DollarStr => Some(dollar_body(self.text).to_owned()),
            _ => None,
        }
    }
}

/// The content of a quoted token with doubled-quote escapes (`'it''s'` → `it's`).
fn unquote(text: &str, q: char) -> String {
    let inner = text.strip_prefix(q).unwrap_or(text);
    let inner = inner.strip_suffix(q).unwrap_or(inner);
    let doubled = format!("{q}{q}");
    inner.replace(&doubled, &q.to_string())
}

/// The content of an `E'...'` literal (the text starts at the quote).
fn unescape_e(text: &str) -> String {
    let inner = text.strip_prefix('\'').unwrap_or(text);
    let inner = inner.strip_suffix('\'').unwrap_or(inner);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\u{8}'),
                Some('f') => out.push('\u{c}'),
                Some(other) => out.push(other),
                None => {}
            },
            '\'' if chars.peek() == Some(&'\'') => {
                chars.next();
                out.push('\'');
            }
            other => out.push(other),
        }
    }
    out
}

/// The body of `$tag$body$tag$`.
fn dollar_body(text: &str) -> &str {
    let Some(end_of_tag) = text.get(1..).and_then(|t| t.find('$')) else {
        return "";
    };
    let tag_len = end_of_tag + 2;
    if text.len() < tag_len * 2 {
        return text.get(tag_len..).unwrap_or_default();
    }
    text.get(tag_len..text.len() - tag_len).unwrap_or_default()
}

/// Quote `s` as a standard SQL string literal.
pub(crate) fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Quote `s` as an identifier.
pub(crate) fn quote_ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

const OP_CHARS: &[u8] = b"+-*/<>=~!@#%^&|`?";

/// Split `sql` into tokens. Concatenating the token texts gives back `sql`.
pub(crate) fn tokenize(sql: &str) -> Vec<Token<'_>> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let start = i;
        let c = b[i];
        let next = b.get(i + 1).copied();
        let kind = if c.is_ascii_whitespace() {
            while i < b.len() && b[i].is_ascii_whitespace() {
                i += 1;
            }
            Kind::Space
        } else if c == b'-' && next == Some(b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            Kind::Comment
        } else if c == b'/' && next == Some(b'*') {
            i = block_comment_end(b, i);
            Kind::Comment
        } else if c == b'\'' {
            i = quoted_end(b, i, b'\'', false);
            Kind::Str
        } else if (c == b'e' || c == b'E') && next == Some(b'\'') {
            i = quoted_end(b, i + 1, b'\'', true);
            Kind::EStr
        } else if (c == b'x' || c == b'X') && next == Some(b'\'') {
            i = quoted_end(b, i + 1, b'\'', false);
            Kind::Blob
        } else if c == b'"' {
            i = quoted_end(b, i, b'"', false);
            Kind::QIdent
        } else if c == b'$' {
            if next.is_some_and(|n| n.is_ascii_digit()) {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                Kind::Param
            } else if let Some(end) = dollar_end(b, i) {
                i = end;
                Kind::DollarStr
            } else {
                i += 1;
                Kind::Op
            }
        } else if is_ident_start(c) {
            while i < b.len() && is_ident_cont(b[i]) {
                i += 1;
            }
            Kind::Ident
        } else if c.is_ascii_digit() || (c == b'.' && next.is_some_and(|n| n.is_ascii_digit())) {
            i = number_end(b, i);
            Kind::Number
        } else if c == b':' && next == Some(b':') {
            i += 2;
            Kind::Cast
        } else {
            i += 1;
            match c {
                b'(' => Kind::LParen,
                b')' => Kind::RParen,
                b',' => Kind::Comma,
                b';' => Kind::Semi,
                b'.' => Kind::Dot,
                _ if OP_CHARS.contains(&c) => {
                    i = operator_end(b, start);
                    Kind::Op
                }
                _ => Kind::Op,
            }
        };
        out.push(Token {
            kind,
            text: sql.get(start..i).unwrap_or_default(),
        });
    }
    out
}

fn number_end(b: &[u8], mut i: usize) -> usize {
    if b[i] == b'0' && matches!(b.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < b.len() && b[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    if b.get(i) == Some(&b'.') && b.get(i + 1) != Some(&b'.') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
            i = j;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// PostgreSQL's operator rule: the longest run of operator characters, stopping before a
/// comment start; a multi-character operator may not end in `+` or `-` unless it contains one
/// of `~!@#%^&|`?` (so `=-1` is `=` then `-1`).
fn operator_end(b: &[u8], start: usize) -> usize {
    let mut end = start;
    while end < b.len() && OP_CHARS.contains(&b[end]) {
        if end > start && (b[end] == b'-' && b.get(end + 1) == Some(&b'-')) {
            break;
        }
        if end > start && (b[end] == b'/' && b.get(end + 1) == Some(&b'*')) {
            break;
        }
        end += 1;
    }
    let op = &b[start..end];
    if op.len() > 1 && !op.iter().any(|c| b"~!@#%^&|`?".contains(c)) {
        while end > start + 1 && matches!(b[end - 1], b'+' | b'-') {
            end -= 1;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(sql: &str) -> Vec<(Kind, &str)> {
        tokenize(sql)
            .into_iter()
            .filter(|t| !t.is_trivia())
            .map(|t| (t.kind, t.text))
            .collect()
    }

    #[test]
    fn round_trips_text() {
        let sql = "SELECT 'a;b''c', \"x\"\"y\", E'\\'q', $1::int8 /* c /* n */ */ -- t\n; $$a;$$";
        let joined: String = tokenize(sql).iter().map(|t| t.text).collect();
        assert_eq!(joined, sql);
    }

    #[test]
    fn literals_hide_semicolons_and_dollars() {
        let k = kinds("select 'a;$1', \"b;\", $tag$ x; $1 $tag$, $2");
        assert_eq!(
            k,
            vec![
                (Kind::Ident, "select"),
                (Kind::Str, "'a;$1'"),
                (Kind::Comma, ","),
                (Kind::QIdent, "\"b;\""),
                (Kind::Comma, ","),
                (Kind::DollarStr, "$tag$ x; $1 $tag$"),
                (Kind::Comma, ","),
                (Kind::Param, "$2"),
            ]
        );
    }

    #[test]
    fn operators_follow_postgres_rules() {
        let k = kinds("a=-1 b<>c d||e f::text g>=h");
        let ops: Vec<&str> = k
            .iter()
            .filter(|(k, _)| matches!(k, Kind::Op | Kind::Cast))
            .map(|(_, t)| *t)
            .collect();
        assert_eq!(ops, vec!["=", "-", "<>", "||", "::", ">="]);
    }

    #[test]
    fn numbers_and_params() {
        let k = kinds("1 2.5 .5 1e10 3.e-2 $12 0x1F");
        assert!(
            k.iter()
                .all(|(k, _)| matches!(k, Kind::Number | Kind::Param))
        );
        assert_eq!(tokenize("$12")[0].param_number(), Some(12));
        assert_eq!(tokenize("$0")[0].param_number(), None);
    }

    #[test]
    fn string_values() {
        assert_eq!(tokenize("'it''s'")[0].string_value().unwrap(), "it's");
        assert_eq!(tokenize("E'a\\nb\\''")[0].string_value().unwrap(), "a\nb'");
        assert_eq!(tokenize("$$x'y$$")[0].string_value().unwrap(), "x'y");
        assert_eq!(tokenize("$q$$q$")[0].string_value().unwrap(), "");
        assert_eq!(tokenize("\"A\"\"b\"")[0].ident_name().unwrap(), "A\"b");
        assert_eq!(tokenize("AbC")[0].ident_name().unwrap(), "abc");
    }

    #[test]
    fn unterminated_input_never_panics() {
        for s in [
            "'abc", "\"abc", "/* x", "$a$ x", "E'\\", "$", "x'", "1e", "é'ü",
        ] {
            let joined: String = tokenize(s).iter().map(|t| t.text).collect();
            assert_eq!(joined, s);
        }
    }
}
