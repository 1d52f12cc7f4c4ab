//! Statement fingerprints: what two statements share when they differ only in their data.
//!
//! One pass over the text writes its fingerprint: the text with
//! - every integer and decimal literal replaced by a marker byte,
//! - every plain string literal (`'...'` with no prefix such as `E`, `X`, `N`, `_utf8`, `U&`)
//!   replaced by a marker byte,
//! - every ordinary block comment (`/* ... */`, not empty, not MySQL's executable `/*! */`,
//!   `/*M! */` or hint `/*+ */`) replaced by a marker byte and the *class* of its first
//!   non-blank character (a letter or digit, a blank, or the punctuation character itself:
//!   a comment opening with `'` or `)` is not the same as one opening with a word),
//! - and a list of literals of one kind after `IN` (`IN (1, 2, 3)`, `IN ('a','b')`) written
//!   as a list of any length, as pg_stat_statements does.
//!
//! Everything else is copied byte for byte: keywords, identifiers, quoted identifiers,
//! operators, placeholders, whitespace, hex and prefixed strings.
//!
//! The fingerprint refuses (returns `false`, the exact text is then the statement's only
//! identity) whatever it cannot read the way every server reads it: a backslash inside any
//! quoted text (its meaning depends on `standard_conforming_strings`, `NO_BACKSLASH_ESCAPES`
//! and the string's prefix), line comments (`--` is arithmetic in MySQL without a following
//! space, `#` a comment only there), nested or executable comments, dollar quoting, SQLite's
//! `[bracketed]` names, and anything unterminated. So a byte the fingerprint hides is one that
//! every server reads as part of a literal or an inert comment of the same kind, and two texts
//! with one fingerprint differ only inside such literals and comments and in IN-list lengths.
//!
//! Beside the key, the pass records what it hid, for the caller to put back:
//! - the comment bodies (the facts' comment texts) and the counts of hidden strings and numbers
//!   (the facts' literal counts);
//! - the *residue*: every hidden value except integers, length-prefixed, in order, plus the
//!   length of each collapsed list. Two texts with equal fingerprints and equal residues differ
//!   only in integer values: the "same shape" of the `reuse@0.1.1` contract.

use crate::Dialect;

/// Marker of an integer literal.
pub const INTEGER: u8 = 0x01;
/// Marker of a decimal literal (`1.5`).
pub const DECIMAL: u8 = 0x02;
/// Marker of a plain string literal.
pub const STRING: u8 = 0x03;
/// Marker of a block comment; the next byte is its class.
pub const COMMENT: u8 = 0x04;
/// Marker of a list of literals after `IN`; the next byte is the literals' marker.
pub const LIST: u8 = 0x05;

/// A statement's fingerprint and what it hid. Reuse one value per thread: the buffers keep
/// their capacity.
#[derive(Debug, Default, Clone)]
pub struct Fingerprint {
    key: Vec<u8>,
    residue: Vec<u8>,
    comments: Vec<(u32, u32)>,
    hidden: Vec<Hidden>,
    strings: u32,
    numbers: u32,
}

/// One thing the fingerprint hid, where it is in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hidden {
    /// [`INTEGER`], [`DECIMAL`], [`STRING`], [`COMMENT`] or [`LIST`].
    pub marker: u8,
    /// For a list, the marker of its literals.
    pub item: u8,
    /// Byte range in the text: the literal with its quotes, the comment with `/*` and `*/`,
    /// the list with its parentheses.
    pub start: u32,
    pub end: u32,
}

fn ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 || c == b'.'
}

fn word_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn blank(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// End (one past the closing quote) of the quoted text opening at `i`, with the quote doubled
/// inside as its only escape. `None` when unterminated or when a backslash appears inside.
fn quoted_end(b: &[u8], i: usize, q: u8) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => return None,
            c if c == q => {
                if b.get(j + 1) == Some(&q) {
                    j += 2;
                } else {
                    return Some(j + 1);
                }
            }
            _ => j += 1,
        }
    }
    None
}

/// A literal the fingerprint may hide, read at `i`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lit {
    /// `end`
    Integer(usize),
    Decimal(usize),
    String(usize),
}

impl Lit {
    fn end(self) -> usize {
        match self {
            Lit::Integer(e) | Lit::Decimal(e) | Lit::String(e) => e,
        }
    }
    fn marker(self) -> u8 {
        match self {
            Lit::Integer(_) => INTEGER,
            Lit::Decimal(_) => DECIMAL,
            Lit::String(_) => STRING,
        }
    }
}

/// The number at `i` (a digit not preceded by a word character): `Some` when it is a plain
/// integer or decimal that ends before a non-word character. `Err(end)` when it is part of a
/// longer word (`1e5`, `0x1F`, `1_000`, `12abc`) to be copied as it is.
fn number(b: &[u8], i: usize) -> Result<Lit, usize> {
    let digits = |mut j: usize| {
        while j < b.len() && b[j].is_ascii_digit() {
            j += 1;
        }
        j
    };
    let j = digits(i);
    if b.get(j) == Some(&b'.') && b.get(j + 1).is_some_and(u8::is_ascii_digit) {
        let k = digits(j + 1);
        if k < b.len() && ident(b[k]) {
            return Err(word_end(b, k));
        }
        return Ok(Lit::Decimal(k));
    }
    if j < b.len() && ident(b[j]) {
        return Err(word_end(b, j));
    }
    Ok(Lit::Integer(j))
}

fn word_end(b: &[u8], mut j: usize) -> usize {
    while j < b.len() && ident(b[j]) {
        j += 1;
    }
    j
}

impl Fingerprint {
    /// Computes the fingerprint of `sql` read in `dialect`. `false` when the text holds
    /// something the fingerprint does not read (see the module documentation); the buffers
    /// then hold nothing meaningful.
    pub fn compute(&mut self, sql: &str, dialect: Dialect) -> bool {
        self.key.clear();
        self.residue.clear();
        self.comments.clear();
        self.hidden.clear();
        self.strings = 0;
        self.numbers = 0;
        let b = sql.as_bytes();
        self.key.reserve(b.len());
        // The last word written was `IN` (blanks and comments between do not count).
        let mut after_in = false;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            let prev = if i == 0 { None } else { Some(b[i - 1]) };
            match c {
                b'\'' => {
                    let Some(end) = quoted_end(b, i, b'\'') else {
                        return false;
                    };
                    if prev.is_some_and(|p| ident(p) || p == b'&') {
                        // E'..', X'..', N'..', _utf8'..', U&'..', date'..': kept as written.
                        self.key.extend_from_slice(&b[i..end]);
                    } else {
                        self.hide(b, Lit::String(end), i);
                    }
                    after_in = false;
                    i = end;
                }
                b'"' | b'`' => {
                    let Some(end) = quoted_end(b, i, c) else {
                        return false;
                    };
                    self.key.extend_from_slice(&b[i..end]);
                    after_in = false;
                    i = end;
                }
                b'[' if dialect == Dialect::Sqlite => return false,
                b'-' if b.get(i + 1) == Some(&b'-') => return false,
                b'#' if dialect == Dialect::Mysql => return false,
                b'/' if b.get(i + 1) == Some(&b'*') => {
                    let body_start = i + 2;
                    let Some(len) = find(&b[body_start..], b"*/") else {
                        return false;
                    };
                    let body = &b[body_start..body_start + len];
                    if body.is_empty()
                        || matches!(body[0], b'!' | b'+')
                        || body.starts_with(b"M!")
                        || find(body, b"/*").is_some()
                    {
                        return false;
                    }
                    let class = match body.iter().find(|c| !blank(**c)) {
                        None => b' ',
                        Some(&c) if c.is_ascii_alphanumeric() || c >= 0x80 => b'a',
                        Some(&c) => c,
                    };
                    self.key.push(COMMENT);
                    self.key.push(class);
                    self.comments
                        .push((body_start as u32, (body_start + len) as u32));
                    self.hidden.push(Hidden {
                        marker: COMMENT,
                        item: class,
                        start: i as u32,
                        end: (body_start + len + 2) as u32,
                    });
                    self.push_residue(b'C', body);
                    i = body_start + len + 2;
                }
                b'$' => {
                    // `$1` placeholders are kept. Anything else may open a PostgreSQL
                    // dollar-quoted string (and a server older than 15 reads `1$$` as `1`
                    // and a quote), so PostgreSQL text with another `$` is refused.
                    let mut j = i + 1;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    let placeholder = j > i + 1 && (j == b.len() || !ident(b[j]));
                    if dialect == Dialect::Postgres && !placeholder {
                        return false;
                    }
                    self.key.push(c);
                    after_in = false;
                    i += 1;
                }
                b'0'..=b'9' if !prev.is_some_and(ident) => {
                    match number(b, i) {
                        Ok(lit) => {
                            self.hide(b, lit, i);
                            i = lit.end();
                        }
                        Err(end) => {
                            if dialect == Dialect::Postgres && b[i..end].contains(&b'$') {
                                return false;
                            }
                            self.key.extend_from_slice(&b[i..end]);
                            i = end;
                        }
                    }
                    after_in = false;
                }
                b'(' if after_in => {
                    after_in = false;
                    match self.list(b, i) {
                        Some(end) => i = end,
                        None => {
                            self.key.push(c);
                            i += 1;
                        }
                    }
                }
                c if word_start(c) && !prev.is_some_and(ident) => {
                    let end = word_end(b, i);
                    if dialect == Dialect::Postgres && b[i..end].contains(&b'$') {
                        return false;
                    }
                    after_in = b[i..end].eq_ignore_ascii_case(b"in");
                    self.key.extend_from_slice(&b[i..end]);
                    i = end;
                }
                c => {
                    if !blank(c) {
                        after_in = false;
                    }
                    self.key.push(c);
                    i += 1;
                }
            }
        }
        std::str::from_utf8(&self.key).is_ok()
    }

    /// Writes the marker of the literal at `start` and records what it hid.
    fn hide(&mut self, b: &[u8], lit: Lit, start: usize) {
        self.key.push(lit.marker());
        self.hidden.push(Hidden {
            marker: lit.marker(),
            item: 0,
            start: start as u32,
            end: lit.end() as u32,
        });
        self.record(b, lit, start);
    }

    fn record(&mut self, b: &[u8], lit: Lit, start: usize) {
        match lit {
            Lit::Integer(_) => self.numbers += 1,
            Lit::Decimal(end) => {
                self.numbers += 1;
                self.push_residue(b'D', &b[start..end]);
            }
            Lit::String(end) => {
                self.strings += 1;
                self.push_residue(b'S', &b[start + 1..end - 1]);
            }
        }
    }

    fn push_residue(&mut self, tag: u8, bytes: &[u8]) {
        self.residue.push(tag);
        self.residue
            .extend_from_slice(&(bytes.len() as u32).to_le_bytes());
        self.residue.extend_from_slice(bytes);
    }

    /// `( literal, literal, ... )` of one kind at `open`: writes it as a list and returns the
    /// end, or `None` (nothing written) when it is anything else.
    fn list(&mut self, b: &[u8], open: usize) -> Option<usize> {
        let skip = |mut j: usize| {
            while j < b.len() && blank(b[j]) {
                j += 1;
            }
            j
        };
        let mut items: Vec<(Lit, usize)> = Vec::new();
        let mut j = open + 1;
        let close = loop {
            j = skip(j);
            let lit = match b.get(j)? {
                b'\'' => Lit::String(quoted_end(b, j, b'\'')?),
                b'0'..=b'9' => number(b, j).ok()?,
                _ => return None,
            };
            if items
                .first()
                .is_some_and(|(f, _)| f.marker() != lit.marker())
            {
                return None;
            }
            items.push((lit, j));
            j = skip(lit.end());
            match b.get(j)? {
                b',' => j += 1,
                b')' => break j,
                _ => return None,
            }
        };
        let marker = items[0].0.marker();
        self.key.extend_from_slice(&[b'(', LIST, marker, b')']);
        self.hidden.push(Hidden {
            marker: LIST,
            item: marker,
            start: open as u32,
            end: (close + 1) as u32,
        });
        self.residue.push(b'L');
        self.residue
            .extend_from_slice(&(items.len() as u32).to_le_bytes());
        for (lit, start) in items {
            self.record(b, lit, start);
        }
        Some(close + 1)
    }

    /// The fingerprint: valid UTF-8 after a successful [`compute`](Self::compute).
    pub fn key(&self) -> &str {
        std::str::from_utf8(&self.key).unwrap_or_default()
    }

    /// Every hidden value except integers, length-prefixed, and the length of each collapsed
    /// list: equal fingerprints with equal residues differ only in integer values.
    pub fn residue(&self) -> &[u8] {
        &self.residue
    }

    /// The bodies of the hidden comments, in order, as slices of `sql` (the text given to
    /// [`compute`](Self::compute)).
    pub fn comment_bodies<'a>(&'a self, sql: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.comments
            .iter()
            .map(move |&(a, z)| sql.get(a as usize..z as usize).unwrap_or_default())
    }

    /// What was hidden, in text order.
    pub fn hidden(&self) -> &[Hidden] {
        &self.hidden
    }

    /// Hidden comments.
    pub fn comment_count(&self) -> usize {
        self.comments.len()
    }

    /// Hidden string literals (inside collapsed lists too).
    pub fn strings(&self) -> u32 {
        self.strings
    }

    /// Hidden integer and decimal literals (inside collapsed lists too).
    pub fn numbers(&self) -> u32 {
        self.numbers
    }
}

/// Texts with the fingerprint of `sql`: each paired with whether it also has the same shape
/// (only integer values changed). Empty when the fingerprint refuses `sql`. For property tests
/// of whatever is shared or reused by fingerprint.
#[doc(hidden)]
pub fn variants(sql: &str, dialect: Dialect) -> Vec<(String, bool)> {
    const INTEGERS: [&str; 8] = ["0", "1", "2", "9", "100", "101", "7361", "50000000"];
    const DECIMALS: [&str; 3] = ["0.5", "1.25", "99.999"];
    const STRINGS: [&str; 9] = [
        "''",
        "'x'",
        "'O''Brien'",
        "'1=1'",
        "' OR ''a''=''a'",
        "'/* not a comment */'",
        "'$$ -- # '",
        "'ünïcode'",
        "'SELECT pg_sleep(10)'",
    ];
    const WORDS: [&str; 4] = [
        "request 42",
        "controller='users',action='show'",
        "x",
        "traceparent='00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'",
    ];
    const LENGTHS: [usize; 3] = [1, 2, 5];
    let mut fp = Fingerprint::default();
    if !fp.compute(sql, dialect) {
        return Vec::new();
    }
    let literal = |marker: u8, k: usize| match marker {
        INTEGER => INTEGERS[k % INTEGERS.len()],
        DECIMAL => DECIMALS[k % DECIMALS.len()],
        _ => STRINGS[k % STRINGS.len()],
    };
    let render = |k: usize, integers_only: bool| {
        let mut out = String::with_capacity(sql.len() + 64);
        let mut at = 0;
        for (n, h) in fp.hidden.iter().enumerate() {
            let (a, z) = (h.start as usize, h.end as usize);
            out.push_str(&sql[at..a]);
            at = z;
            let k = k + n;
            match h.marker {
                INTEGER => out.push_str(literal(INTEGER, k)),
                LIST if h.item == INTEGER || !integers_only => {
                    let len = if integers_only {
                        sql[a..z].split(',').count()
                    } else {
                        LENGTHS[k % LENGTHS.len()]
                    };
                    let items: Vec<&str> = (0..len).map(|i| literal(h.item, k + i)).collect();
                    out.push('(');
                    out.push_str(&items.join(", "));
                    out.push(')');
                }
                _ if integers_only => out.push_str(&sql[a..z]),
                DECIMAL | STRING => out.push_str(literal(h.marker, k)),
                COMMENT => {
                    out.push_str("/*");
                    match h.item {
                        b'a' => out.push_str(WORDS[k % WORDS.len()]),
                        b' ' => out.push_str("   "),
                        c => {
                            out.push(' ');
                            out.push(c as char);
                            out.push_str([" tail", "", " 'x'"][k % 3]);
                        }
                    }
                    out.push_str("*/");
                }
                _ => out.push_str(&sql[a..z]),
            }
        }
        out.push_str(&sql[at..]);
        out
    };
    let mut v = Vec::new();
    for k in 0..4 {
        v.push((render(k, true), true));
        v.push((render(k, false), false));
    }
    v
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(s: &str) -> Option<String> {
        fp_in(s, Dialect::Postgres)
    }

    fn fp_in(s: &str, d: Dialect) -> Option<String> {
        let mut f = Fingerprint::default();
        f.compute(s, d).then(|| {
            f.key()
                .replace(INTEGER as char, "#")
                .replace(DECIMAL as char, "#.#")
                .replace(STRING as char, "'?'")
                .replace(COMMENT as char, "/*")
                .replace(LIST as char, "...")
        })
    }

    #[test]
    fn literals_comments_and_lists_are_hidden() {
        assert_eq!(
            fp("SELECT abalance FROM pgbench_accounts WHERE aid = 80125; /* request 80125 */")
                .as_deref(),
            Some("SELECT abalance FROM pgbench_accounts WHERE aid = #; /*a")
        );
        assert_eq!(
            fp("SELECT * FROM t WHERE a = 'x1' AND b = 7.25 AND c IN (1, 2,3)").as_deref(),
            Some("SELECT * FROM t WHERE a = '?' AND b = #.# AND c IN (...#)")
        );
        assert_eq!(
            fp("select 1 from t where name in ('a','b') /*controller='x'*/").as_deref(),
            Some("select # from t where name in (...'?') /*a")
        );
    }

    #[test]
    fn words_prefixed_strings_and_quoted_names_are_kept() {
        assert_eq!(
            fp("SELECT t1.c2, 1e5, 0x1F, 1_000, E'x', X'41', N'n', U&'u', \"col 1\" FROM t9")
                .as_deref(),
            Some("SELECT t1.c2, 1e5, 0x1F, 1_000, E'x', X'41', N'n', U&'u', \"col 1\" FROM t9")
        );
        assert_eq!(
            fp_in("SELECT `a 1`, _utf8'x', 'y' FROM t", Dialect::Mysql).as_deref(),
            Some("SELECT `a 1`, _utf8'x', '?' FROM t")
        );
        assert_eq!(
            fp("SELECT $1, $2 FROM t").as_deref(),
            Some("SELECT $1, $2 FROM t")
        );
    }

    #[test]
    fn what_servers_read_differently_is_refused() {
        for s in [
            r"SELECT 'it\'s'",
            r#"SELECT "a\"b""#,
            "SELECT 1 -- c",
            "SELECT 1--1",
            "SELECT $$x$$",
            "SELECT $tag$x$tag$",
            "SELECT a$b FROM t",
            "SELECT 1$$ '$$; DROP TABLE x; --' x$$",
            "SELECT $1a",
            "SELECT /**/1",
            "SELECT /*! 1 */",
            "SELECT /*+ hint */ 1",
            "SELECT /*M! 1 */",
            "SELECT /* a /* b */ c */ 1",
            "SELECT 'open",
            "SELECT /* open",
        ] {
            assert_eq!(fp(s), None, "{s}");
        }
        assert_eq!(fp_in("SELECT 1 # c", Dialect::Mysql), None);
        assert_eq!(fp_in("SELECT [a'b] FROM t", Dialect::Sqlite), None);
        // `#` is an operator in PostgreSQL, `$` part of names in MySQL.
        assert_eq!(fp("SELECT 5 # 3").as_deref(), Some("SELECT # # #"));
        assert_eq!(
            fp_in("SELECT $x", Dialect::Mysql).as_deref(),
            Some("SELECT $x")
        );
    }

    #[test]
    fn comment_classes_tell_words_from_punctuation() {
        assert_eq!(fp("SELECT 1 /* x */"), fp("SELECT 2 /* request 99 */"));
        assert_ne!(fp("SELECT 1 /* x */"), fp("SELECT 1 /* ' or 1=1 */"));
        assert_ne!(fp("SELECT 1 /* x */"), fp("SELECT 1 /* ) */"));
        assert_ne!(fp("SELECT 1 /* x */"), fp("SELECT 1 /*   */"));
    }

    #[test]
    fn lists_collapse_only_after_in_and_only_when_uniform() {
        assert_eq!(fp("a IN (1)"), fp("a IN (1, 2, 3)"));
        assert_eq!(fp("a NOT IN ( 'x' , 'y' )"), fp("a NOT IN ('z')"));
        assert_ne!(fp("f(1)"), fp("f(1, 2)"));
        assert_ne!(fp("a IN (1)"), fp("a IN (1, 'x')"));
        assert_eq!(fp("a IN (1, b)").as_deref(), Some("a IN (#, b)"));
        assert_eq!(fp("a IN (-1, 2)").as_deref(), Some("a IN (-#, #)"));
    }

    #[test]
    fn residue_holds_everything_but_integers() {
        let mut a = Fingerprint::default();
        let mut b = Fingerprint::default();
        assert!(a.compute("SELECT 1 FROM t WHERE s = 'x' /* c */", Dialect::Postgres));
        assert!(b.compute("SELECT 2 FROM t WHERE s = 'x' /* c */", Dialect::Postgres));
        assert_eq!((a.key(), a.residue()), (b.key(), b.residue()));
        assert!(b.compute("SELECT 2 FROM t WHERE s = 'y' /* c */", Dialect::Postgres));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.residue(), b.residue());
        assert!(a.compute("a IN (1, 2)", Dialect::Postgres));
        assert!(b.compute("a IN (1, 2, 3)", Dialect::Postgres));
        assert_eq!(a.key(), b.key());
        assert_ne!(a.residue(), b.residue());
        assert_eq!((a.numbers(), b.numbers()), (2, 3));
        // Length prefixes keep ('ab', 'c') apart from ('a', 'bc').
        assert!(a.compute("SELECT 'ab', 'c'", Dialect::Postgres));
        assert!(b.compute("SELECT 'a', 'bc'", Dialect::Postgres));
        assert_ne!(a.residue(), b.residue());
    }

    #[test]
    fn variants_keep_the_fingerprint_and_shape_variants_the_residue() {
        for sql in [
            "SELECT abalance FROM pgbench_accounts WHERE aid = 80125; /* request 80125 */",
            "select * from t where a in (1, 2) and s = 'x' and d = 1.5 /* ) */",
            "/* lead */ SELECT 'a' FROM t WHERE b IN ('p','q')",
        ] {
            let mut a = Fingerprint::default();
            assert!(a.compute(sql, Dialect::Postgres));
            let vs = variants(sql, Dialect::Postgres);
            assert_eq!(vs.len(), 8);
            for (v, same_shape) in vs {
                let mut b = Fingerprint::default();
                assert!(b.compute(&v, Dialect::Postgres), "{v}");
                assert_eq!(a.key(), b.key(), "{sql} / {v}");
                if same_shape {
                    assert_eq!(a.residue(), b.residue(), "{sql} / {v}");
                }
            }
        }
    }

    #[test]
    fn comment_bodies_and_counts() {
        let sql = "/* lead */ SELECT 'a', 'b''c', 3 /* tail */";
        let mut f = Fingerprint::default();
        assert!(f.compute(sql, Dialect::Postgres));
        let bodies: Vec<_> = f.comment_bodies(sql).collect();
        assert_eq!(bodies, [" lead ", " tail "]);
        assert_eq!((f.strings(), f.numbers(), f.comment_count()), (2, 1, 2));
    }
}
