//! Splitting a MySQL COM_QUERY string into statements, in the MySQL dialect: `'...'` and
//! `"..."` strings with backslash escapes and doubled quotes, backtick identifiers, `#` and
//! `-- ` line comments, `/* ... */` block comments (executable `/*! ... */` comments are
//! kept with their statement, never split inside).

/// The statements of `sql`, trimmed, without their terminating `;`; empty statements
/// (`;;`, trailing comments) are dropped.
pub fn statements(sql: &str) -> Vec<&str> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut meaningful = false;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"' | b'`') => {
                meaningful = true;
                i += 1;
                while i < b.len() {
                    if b[i] == b'\\' && q != b'`' {
                        i += 2;
                        continue;
                    }
                    if b[i] == q {
                        if b.get(i + 1) == Some(&q) {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
            }
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-')
                && b.get(i + 2).is_none_or(|c| c.is_ascii_whitespace()) =>
            {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                if b.get(i + 2) == Some(&b'!') {
                    meaningful = true;
                }
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
            }
            b';' => {
                push(&mut out, &sql[start..i], meaningful);
                meaningful = false;
                i += 1;
                start = i;
            }
            c => {
                if !c.is_ascii_whitespace() {
                    meaningful = true;
                }
                i += 1;
            }
        }
    }
    push(&mut out, &sql[start.min(sql.len())..], meaningful);
    out
}

fn push<'a>(out: &mut Vec<&'a str>, s: &'a str, meaningful: bool) {
    let s = s.trim();
    if meaningful && !s.is_empty() {
        out.push(s);
    }
}

/// The first keyword of a statement (upper-cased), skipping comments and whitespace.
pub fn first_words(sql: &str, n: usize) -> Vec<String> {
    let mut words = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() && words.len() < n {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') && b.get(i + 2) != Some(&b'!') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i = (i + 2).min(b.len());
            }
            c if c.is_ascii_alphanumeric() || c == b'_' || c == b'@' => {
                let s = i;
                while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'@')
                {
                    i += 1;
                }
                words.push(sql[s..i].to_ascii_uppercase());
            }
            c if c.is_ascii_whitespace() => i += 1,
            _ => {
                // Punctuation: a word boundary worth keeping (`=`, `(`, a quote...).
                words.push((b[i] as char).to_string());
                i += 1;
            }
        }
    }
    words
}

/// For `LOAD DATA|XML [modifiers] LOCAL INFILE 'name' …`: `Some(Some(name))`, the file name as
/// the server reads the string literal (what it will ask the client for); `Some(None)` when no
/// string literal follows `INFILE`. `None` for any other statement. `LOCAL` is found among the
/// words before `INFILE`, executable comments included (`/*!LOCAL*/` is code).
pub fn local_infile(stmt: &str) -> Option<Option<String>> {
    let words = first_words(stmt, 16);
    if words.first().map(String::as_str) != Some("LOAD")
        || !matches!(words.get(1).map(String::as_str), Some("DATA" | "XML"))
    {
        return None;
    }
    let at = words.iter().position(|w| w == "INFILE")?;
    if !words[2..at].iter().any(|w| w == "LOCAL") {
        return None;
    }
    let upper = stmt.to_ascii_uppercase();
    let after = upper.find("INFILE").map(|i| i + "INFILE".len())?;
    let rest = stmt[after..].trim_start();
    Some(string_literal(rest))
}

/// The value of the MySQL string literal `s` starts with (`'…'` or `"…"`, backslash escapes
/// and doubled quotes as the server reads them).
fn string_literal(s: &str) -> Option<String> {
    let mut chars = s.chars();
    let q = chars.next().filter(|c| *c == '\'' || *c == '"')?;
    let mut out = String::new();
    let mut chars = chars.peekable();
    while let Some(c) = chars.next() {
        if c == q {
            if chars.peek() == Some(&q) {
                chars.next();
                out.push(q);
                continue;
            }
            return Some(out);
        }
        if c == '\\' {
            let e = chars.next()?;
            match e {
                '0' => out.push('\0'),
                'b' => out.push('\u{8}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'Z' => out.push('\u{1a}'),
                '%' | '_' => {
                    out.push('\\');
                    out.push(e);
                }
                other => out.push(other),
            }
            continue;
        }
        out.push(c);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_semicolons_outside_strings_and_comments() {
        assert_eq!(statements("SELECT 1; SELECT 2"), ["SELECT 1", "SELECT 2"]);
        assert_eq!(
            statements("SELECT 'a;b'; SELECT \"c;\""),
            ["SELECT 'a;b'", "SELECT \"c;\""]
        );
        assert_eq!(
            statements("SELECT 'it\\'s;'; SELECT 2"),
            ["SELECT 'it\\'s;'", "SELECT 2"]
        );
        assert_eq!(statements("SELECT 'x'';y'"), ["SELECT 'x'';y'"]);
        assert_eq!(statements("SELECT `a;b` FROM t"), ["SELECT `a;b` FROM t"]);
        assert_eq!(
            statements("SELECT 1 # c; d\n; SELECT 2"),
            ["SELECT 1 # c; d", "SELECT 2"]
        );
        assert_eq!(statements("SELECT 1 -- c; d\n"), ["SELECT 1 -- c; d"]);
        assert_eq!(statements("SELECT 1 /* ; */"), ["SELECT 1 /* ; */"]);
        // `--` without a following space is two minus signs, not a comment.
        assert_eq!(
            statements("SELECT 1--1; SELECT 2"),
            ["SELECT 1--1", "SELECT 2"]
        );
    }

    #[test]
    fn executable_comments_are_code() {
        assert_eq!(statements("/*! DROP TABLE t */"), ["/*! DROP TABLE t */"]);
        assert_eq!(statements("/* plain */"), Vec::<&str>::new());
        assert_eq!(statements("SELECT 1;;  ; -- end"), ["SELECT 1"]);
    }

    #[test]
    fn first_words_skip_comments() {
        assert_eq!(
            first_words("/* x */ SET  autocommit=0", 3),
            ["SET", "AUTOCOMMIT", "="]
        );
        assert_eq!(first_words("# c\nuse `db`", 2), ["USE", "`"]);
        assert_eq!(first_words("kill query 12", 3), ["KILL", "QUERY", "12"]);
    }

    #[test]
    fn local_infile_statements_and_their_file_names() {
        let f = |s: &str| super::local_infile(s);
        assert_eq!(
            f("LOAD DATA LOCAL INFILE '/tmp/a.csv' INTO TABLE t"),
            Some(Some("/tmp/a.csv".into()))
        );
        assert_eq!(
            f("load data low_priority local infile \"x\" into table t"),
            Some(Some("x".into()))
        );
        assert_eq!(
            f("LOAD XML LOCAL INFILE 'a''b\\\\c\\'d' INTO TABLE t"),
            Some(Some("a'b\\c'd".into()))
        );
        // LOCAL in an executable comment is code.
        assert_eq!(
            f("LOAD DATA /*!LOCAL*/ INFILE 'f' INTO TABLE t"),
            Some(Some("f".into()))
        );
        assert_eq!(f("LOAD DATA LOCAL INFILE @x INTO TABLE t"), Some(None));
        assert_eq!(f("LOAD DATA LOCAL INFILE 'unterminated"), Some(None));
        // Not LOCAL, not LOAD.
        assert_eq!(f("LOAD DATA INFILE '/tmp/a.csv' INTO TABLE t"), None);
        assert_eq!(f("SELECT 'LOAD DATA LOCAL INFILE'"), None);
        assert_eq!(f("/* LOAD DATA LOCAL INFILE 'x' */ SELECT 1"), None);
    }
}
