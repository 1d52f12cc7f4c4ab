//! Statement shapes: a statement's text with the values of its integer literals blanked, so
//! that statements differing only in those values (`... WHERE id = 17`, `... WHERE id = 90210`)
//! share what was learned about one of them. The gateway shares facts by shape (when the facts
//! do not depend on the values) and keys reused plugin verdicts by it
//! (`articdbm:policy/reuse@0.1.1`), so this one function defines what "the same shape" means.

use crate::Dialect;

/// Writes the shape of a statement into `out`: its text with every integer literal outside
/// strings and quoted identifiers (`"..."`, and MySQL's and SQLite's `` `...` ``) replaced by
/// a NUL byte (which no SQL text holds), prefixed by the dialect. `false` when there is nothing to blank or the text has
/// comments or `$` (dollar quotes, placeholders): the exact text is then its own shape.
pub fn shape(sql: &str, dialect: Dialect, out: &mut Vec<u8>) -> bool {
    let b = sql.as_bytes();
    let ident =
        |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80 || c == b'.';
    out.clear();
    out.reserve(b.len() + 1);
    out.push(dialect as u8);
    let mut blanked = false;
    let mut i = 0;
    let mysql = dialect == Dialect::Mysql;
    while i < b.len() {
        let c = b[i];
        match c {
            b'\'' | b'"' | b'`' => {
                // MySQL escapes with backslashes in every string; PostgreSQL only in E'...'.
                let backslash = c != b'`'
                    && (mysql || (c == b'\'' && i > 0 && matches!(b[i - 1], b'e' | b'E')));
                let end = crate::sqltext::quoted_end(b, i, c, backslash);
                out.extend_from_slice(&b[i..end]);
                i = end;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => return false,
            b'/' if b.get(i + 1) == Some(&b'*') => return false,
            b'#' => return false, // MySQL comment
            b'$' => return false, // dollar quoting or placeholders: keep it simple, exact text
            b'0'..=b'9' if i == 0 || !ident(b[i - 1]) => {
                let mut j = i;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                if j < b.len() && ident(b[j]) {
                    // 1e5, 1.5, 0x1F, 12abc: copied as they are.
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    out.extend_from_slice(&b[i..j]);
                } else {
                    out.push(0);
                    blanked = true;
                }
                i = j;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    blanked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(s: &str) -> Option<String> {
        let mut v = Vec::new();
        super::shape(s, Dialect::Postgres, &mut v)
            .then(|| String::from_utf8_lossy(&v[1..]).replace('\0', "#"))
    }

    #[test]
    fn integers_outside_strings_are_blanked() {
        assert_eq!(
            shape("SELECT abalance FROM pgbench_accounts WHERE aid = 80125;").as_deref(),
            Some("SELECT abalance FROM pgbench_accounts WHERE aid = #;")
        );
        assert_eq!(
            shape("SELECT * FROM t1 WHERE a = 'x1' AND b = 7").as_deref(),
            Some("SELECT * FROM t1 WHERE a = 'x1' AND b = #")
        );
        assert_eq!(
            shape("SELECT 1.5, 1e5, 0x1F, 3").as_deref(),
            Some("SELECT 1.5, 1e5, 0x1F, #")
        );
        assert_eq!(
            shape(r"SELECT E'it\'s 5', 6").as_deref(),
            Some(r"SELECT E'it\'s 5', #")
        );
    }

    #[test]
    fn quoted_identifiers_and_mysql_escapes_keep_their_digits() {
        assert_eq!(
            shape("SELECT * FROM `table 1` WHERE id = 2").as_deref(),
            Some("SELECT * FROM `table 1` WHERE id = #")
        );
        let mut v = Vec::new();
        assert!(super::shape(r"SELECT 'it\'s 5', 6", Dialect::Mysql, &mut v));
        assert_eq!(
            String::from_utf8_lossy(&v[1..]).replace('\0', "#"),
            r"SELECT 'it\'s 5', #"
        );
    }

    #[test]
    fn nothing_to_blank_or_comments_means_no_shape() {
        assert_eq!(shape("SELECT a FROM t"), None);
        assert_eq!(shape("SELECT 1 -- 2"), None);
        assert_eq!(shape("SELECT 1 /* 2 */"), None);
        assert_eq!(shape("SELECT $1 + 2"), None);
    }

    #[test]
    fn different_values_share_a_shape_different_structure_does_not() {
        assert_eq!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = 99999")
        );
        assert_ne!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = 1 OR 1=1")
        );
        assert_ne!(
            shape("SELECT * FROM t WHERE id = 1"),
            shape("SELECT * FROM t WHERE id = '1'")
        );
    }
}
