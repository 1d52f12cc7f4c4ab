//! The string literals of a statement, decoded, without a parser: a single forward scan that
//! knows just enough of the dialect to tell strings from comments and quoted identifiers.
//!
//! - `'...'` with `''` for a quote (backslashes are ordinary characters:
//!   `standard_conforming_strings` is on by default since PostgreSQL 9.1);
//! - `E'...'` (any case) with backslash escapes: `\n \t \r \b \f`, octal `\ooo`, hex `\xHH`,
//!   `\uXXXX`, `\UXXXXXXXX`, any other character stands for itself;
//! - `$$...$$` and `$tag$...$tag$` (not `$1`, not inside identifiers such as `a$b`);
//! - `"..."` is a quoted identifier, skipped;
//! - MySQL: `'...'` and `"..."` are both strings with backslash escapes (`\0 \b \n \r \t \Z`,
//!   `\%` and `\_` keep their backslash, any other character stands for itself), `` `...` ``
//!   is an identifier, `#` starts a line comment, `--` needs a space after it, and the body of
//!   an executable comment `/*! ... */` is scanned as code;
//! - `--` line and `/* */` block comments (nested in PostgreSQL) are skipped;
//! - `B'...'` and `X'...'` (bit and hex strings) are skipped; other introducers (`N'...'`,
//!   `_utf8'...'`, `date '...'`) are ordinary strings.
//!
//! Unterminated strings, comments and escapes end the scan: nothing after them is a literal.
//! Delimiters are ASCII, so every slice taken is on a character boundary.

/// At most `max_literals` literals of at most `max_len` bytes (decoded) each, in order;
/// longer literals are skipped (and not counted).
pub fn string_literals(sql: &str, mysql: bool, max_literals: usize, max_len: usize) -> Vec<String> {
    Lexer {
        s: sql,
        b: sql.as_bytes(),
        mysql,
        max_len,
    }
    .run(max_literals)
}

struct Lexer<'a> {
    s: &'a str,
    b: &'a [u8],
    mysql: bool,
    max_len: usize,
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// A literal being decoded; dropped once it grows past the limit.
struct Buf {
    text: String,
    max: usize,
    too_long: bool,
}

impl Buf {
    fn push_str(&mut self, s: &str) {
        if self.too_long {
            return;
        }
        if self.text.len() + s.len() > self.max {
            self.too_long = true;
            self.text = String::new();
        } else {
            self.text.push_str(s);
        }
    }

    fn push(&mut self, c: char) {
        let mut tmp = [0u8; 4];
        self.push_str(c.encode_utf8(&mut tmp));
    }

    fn done(self) -> Option<String> {
        (!self.too_long).then_some(self.text)
    }
}

/// Where a scan step ended: the next index, and a literal if one was read. `None` as the
/// index means the input ended inside a token.
type Step = Option<(usize, Option<String>)>;

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn run(&self, max_literals: usize) -> Vec<String> {
        let mut out = Vec::new();
        let n = self.b.len();
        let mut i = 0;
        while i < n && out.len() < max_literals {
            let c = self.b[i];
            let step: Step = match c {
                b'-' if self.at(i + 1) == Some(b'-')
                    && (!self.mysql
                        || self
                            .at(i + 2)
                            .is_none_or(|c| c.is_ascii_whitespace() || c.is_ascii_control())) =>
                {
                    Some((self.line_end(i), None))
                }
                b'#' if self.mysql => Some((self.line_end(i), None)),
                b'/' if self.at(i + 1) == Some(b'*') => {
                    if self.mysql && self.at(i + 2) == Some(b'!') {
                        // executable comment: its body is code
                        let mut j = i + 3;
                        while self.at(j).is_some_and(|c| c.is_ascii_digit()) {
                            j += 1;
                        }
                        Some((j, None))
                    } else {
                        self.block_end(i + 2).map(|j| (j, None))
                    }
                }
                b'\'' => self.quoted(i + 1, b'\'', self.mysql),
                b'"' if self.mysql => self.quoted(i + 1, b'"', true),
                b'"' => self.quoted(i + 1, b'"', false).map(|(j, _)| (j, None)),
                b'`' if self.mysql => self.quoted(i + 1, b'`', false).map(|(j, _)| (j, None)),
                b'$' if !self.mysql => self.dollar(i),
                c if is_ident_start(c) => {
                    let mut j = i + 1;
                    while self.at(j).is_some_and(|c| is_ident(c) || c == b'$') {
                        j += 1;
                    }
                    if self.at(j) == Some(b'\'') {
                        let word = &self.s[i..j];
                        let escapes = self.mysql || word.eq_ignore_ascii_case("e");
                        let keep =
                            !(word.eq_ignore_ascii_case("b") || word.eq_ignore_ascii_case("x"));
                        self.quoted(j + 1, b'\'', escapes)
                            .map(|(k, lit)| (k, lit.filter(|_| keep)))
                    } else {
                        Some((j, None))
                    }
                }
                c if c.is_ascii_digit() => {
                    let mut j = i + 1;
                    while self.at(j).is_some_and(|c| is_ident(c) || c == b'.') {
                        j += 1;
                    }
                    Some((j, None))
                }
                _ => Some((i + 1, None)),
            };
            match step {
                Some((j, lit)) => {
                    if let Some(l) = lit {
                        out.push(l);
                    }
                    i = j;
                }
                None => break,
            }
        }
        out
    }

    fn line_end(&self, i: usize) -> usize {
        match self.b[i..].iter().position(|&c| c == b'\n') {
            Some(p) => i + p + 1,
            None => self.b.len(),
        }
    }

    /// The index after the `*/` closing a block comment whose body starts at `i`.
    fn block_end(&self, mut i: usize) -> Option<usize> {
        let mut depth = 1u32;
        while i + 1 < self.b.len() {
            match (self.b[i], self.b[i + 1]) {
                (b'*', b'/') => {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        return Some(i);
                    }
                }
                (b'/', b'*') if !self.mysql => {
                    depth += 1;
                    i += 2;
                }
                _ => i += 1,
            }
        }
        None
    }

    /// A string whose body starts at `i`, closed by `q` (doubled `q` is one `q`).
    fn quoted(&self, start: usize, q: u8, escapes: bool) -> Step {
        let mut buf = Buf {
            text: String::new(),
            max: self.max_len,
            too_long: false,
        };
        let mut seg = start;
        let mut j = start;
        loop {
            let c = self.at(j)?;
            if c == q {
                if self.at(j + 1) == Some(q) {
                    buf.push_str(&self.s[seg..=j]);
                    j += 2;
                    seg = j;
                    continue;
                }
                buf.push_str(&self.s[seg..j]);
                return Some((j + 1, buf.done()));
            }
            if escapes && c == b'\\' {
                buf.push_str(&self.s[seg..j]);
                j = self.escape(j + 1, &mut buf)?;
                seg = j;
                continue;
            }
            j += 1;
        }
    }

    /// Decodes the escape whose character starts at `k` (after the backslash) into `buf`;
    /// returns the index after it.
    fn escape(&self, k: usize, buf: &mut Buf) -> Option<usize> {
        let ch = self.s.get(k..)?.chars().next()?;
        let after = k + ch.len_utf8();
        if self.mysql {
            match ch {
                '0' => buf.push('\0'),
                'b' => buf.push('\u{8}'),
                'n' => buf.push('\n'),
                'r' => buf.push('\r'),
                't' => buf.push('\t'),
                'Z' => buf.push('\u{1a}'),
                '%' | '_' => {
                    buf.push('\\');
                    buf.push(ch);
                }
                c => buf.push(c),
            }
            return Some(after);
        }
        let digits = |from: usize, max: usize, radix: u32| -> (u32, usize) {
            let mut v = 0u32;
            let mut j = from;
            while j < from + max
                && let Some(d) = self.at(j).and_then(|c| char::from(c).to_digit(radix))
            {
                v = v * radix + d;
                j += 1;
            }
            (v, j - from)
        };
        match ch {
            'b' => buf.push('\u{8}'),
            'f' => buf.push('\u{c}'),
            'n' => buf.push('\n'),
            'r' => buf.push('\r'),
            't' => buf.push('\t'),
            '0'..='7' => {
                let (v, len) = digits(k, 3, 8);
                buf.push(char::from((v & 0xff) as u8));
                return Some(k + len);
            }
            'x' => {
                let (v, len) = digits(after, 2, 16);
                if len == 0 {
                    buf.push('x');
                } else {
                    buf.push(char::from(v as u8));
                }
                return Some(after + len);
            }
            'u' | 'U' => {
                let want = if ch == 'u' { 4 } else { 8 };
                let (v, len) = digits(after, want, 16);
                match char::from_u32(v).filter(|_| len == want) {
                    Some(c) => buf.push(c),
                    None => buf.push(ch),
                }
                return Some(after + len);
            }
            c => buf.push(c),
        }
        Some(after)
    }

    /// `$tag$...$tag$` starting at `i` (a `$`); a `$` that opens no dollar quote (`$1`) is
    /// skipped.
    fn dollar(&self, i: usize) -> Step {
        let mut j = i + 1;
        if self.at(j).is_some_and(is_ident_start) {
            while self.at(j).is_some_and(is_ident) {
                j += 1;
            }
        }
        if self.at(j) != Some(b'$') {
            return Some((i + 1, None));
        }
        let tag = &self.s[i..=j];
        let body = j + 1;
        let end = self.s.get(body..)?.find(tag)?;
        let text = &self.s[body..body + end];
        let lit = (text.len() <= self.max_len).then(|| text.to_string());
        Some((body + end + tag.len(), lit))
    }
}

#[cfg(test)]
mod tests {
    use super::string_literals;

    fn pg(sql: &str) -> Vec<String> {
        string_literals(sql, false, 32, 2048)
    }

    fn my(sql: &str) -> Vec<String> {
        string_literals(sql, true, 32, 2048)
    }

    #[test]
    fn standard_strings() {
        assert_eq!(pg("SELECT 'a', 'it''s', ''"), ["a", "it's", ""]);
        assert_eq!(pg(r"SELECT 'back\slash'"), [r"back\slash"]);
        assert_eq!(
            pg("SELECT N'nat', _utf8'x', date '2024-01-01'"),
            ["nat", "x", "2024-01-01"]
        );
        assert_eq!(pg("SELECT 'é.example', 'ü'"), ["é.example", "ü"]);
    }

    #[test]
    fn escape_strings() {
        assert_eq!(pg(r"SELECT E'a\'b', e'tab\there'"), ["a'b", "tab\there"]);
        assert_eq!(
            pg(r"SELECT E'\x65vil.example', E'\145vil', E'\u0065x', E'\U00000065y'"),
            ["evil.example", "evil", "ex", "ey"]
        );
        assert_eq!(pg(r"SELECT E'\\', E'\q', E'\xZZ'"), ["\\", "q", "xZZ"]);
        // an identifier ending in e is not an introducer
        assert_eq!(pg(r"SELECT some'a\'"), [r"a\"]);
    }

    #[test]
    fn dollar_quotes() {
        assert_eq!(
            pg("SELECT $$it's$$, $fn$ a $$ b $fn$"),
            ["it's", " a $$ b "]
        );
        assert_eq!(pg("SELECT $1, $2 WHERE x = 'v'"), ["v"]);
        assert_eq!(pg("SELECT a$b$c, 'v'"), ["v"]);
        assert_eq!(pg("SELECT $a$x$a$"), ["x"]);
        assert_eq!(pg("SELECT $_$y$_$"), ["y"]);
    }

    #[test]
    fn identifiers_and_comments_are_not_strings() {
        assert_eq!(pg(r#"SELECT "evil.example" FROM t"#), Vec::<String>::new());
        assert_eq!(pg(r#"SELECT "a""b", 'v'"#), ["v"]);
        assert_eq!(pg("SELECT 1 -- 'no'\n, 'yes'"), ["yes"]);
        assert_eq!(
            pg("SELECT /* 'no' /* nested 'no' */ 'no' */ 'yes'"),
            ["yes"]
        );
        assert_eq!(pg("SELECT X'41', B'0101', 'v'"), ["v"]);
        assert_eq!(pg("SELECT 1e5, 'v'"), ["v"]);
    }

    #[test]
    fn mysql_dialect() {
        assert_eq!(
            my(r#"SELECT "dq", 'it\'s', 'a''b', "x\"y""#),
            ["dq", "it's", "a'b", "x\"y"]
        );
        assert_eq!(my(r"SELECT 'a\nb', '\%', '\0'"), ["a\nb", "\\%", "\0"]);
        assert_eq!(my("SELECT `evil.example`, 'v' # 'no'\n"), ["v"]);
        assert_eq!(my("SELECT 1--'yes'\n"), ["yes"]);
        assert_eq!(my("SELECT 1 -- 'no'\n"), Vec::<String>::new());
        assert_eq!(my("SELECT /*! 'exec' */ 1 /* 'no' */"), ["exec"]);
        // MySQL has no dollar quotes
        assert_eq!(my("SELECT $$'v'$$"), ["v"]);
    }

    #[test]
    fn unterminated_input_never_panics() {
        assert_eq!(pg("SELECT 'ok', 'open"), ["ok"]);
        assert_eq!(pg("SELECT 'ok', E'open\\"), ["ok"]);
        assert_eq!(pg("SELECT 'ok', E'\\x"), ["ok"]);
        assert_eq!(pg("SELECT 'ok', $tag$ never"), ["ok"]);
        assert_eq!(pg("SELECT 'ok' /* never"), ["ok"]);
        assert_eq!(pg("SELECT 'ok' \"never"), ["ok"]);
        assert_eq!(my("SELECT 'ok', 'a\\"), ["ok"]);
        for sql in [
            "'", "E'", "$", "$$", "$a", "/*", "--", "\"", "e", "\\", "'\\", "E'\\u12",
        ] {
            let _ = pg(sql);
            let _ = my(sql);
        }
        // every prefix of a tricky statement
        let s = "SELECT E'\\u00e9\\x41', $t$é$t$, 'a''b' /* c */ -- d\n, \"q\"";
        for (i, _) in s.char_indices() {
            let _ = pg(&s[..i]);
            let _ = my(&s[..i]);
        }
    }

    #[test]
    fn limits() {
        assert_eq!(
            string_literals("SELECT 'a','b','c'", false, 2, 2048),
            ["a", "b"]
        );
        let long = format!(
            "SELECT '{}', 'short', $${}$$",
            "x".repeat(3000),
            "y".repeat(3000)
        );
        assert_eq!(string_literals(&long, false, 32, 2048), ["short"]);
        assert_eq!(
            string_literals("SELECT 'abcd', 'abc'", false, 32, 3),
            ["abc"]
        );
    }
}
