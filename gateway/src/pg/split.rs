//! Splitting a simple-Query string into its statements the way PostgreSQL's lexer does:
//! `;` ends a statement unless it is inside a string ('…', E'…' with backslash escapes,
//! $tag$…$tag$), a quoted identifier ("…"), a `--` comment or a nested `/* */` comment,
//! or inside parentheses (a `CREATE RULE` body). Each statement is then judged by policy on its
//! own; whatever the split, the pieces cover the whole text, so no byte escapes judgement.

use articdbm_facts::sqltext::{
    block_comment_end, dollar_end, is_ident_cont, line_comment_end, quoted_end,
};

/// One statement: its byte range in the original text, without the terminating `;`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub start: usize,
    pub end: usize,
}

/// The statements of `sql` that hold more than whitespace and comments... and the empty
/// ones too, as empty statements matter for the response sequence of a simple query.
pub fn split(sql: &str) -> Vec<Piece> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    let mut depth = 0usize;
    while i < b.len() {
        if let Some(end) = skip(b, i) {
            i = end;
            continue;
        }
        match b[i] {
            b'(' => depth += 1,
            b')' => depth = depth.saturating_sub(1),
            b';' if depth == 0 => {
                out.push(Piece { start, end: i });
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    if start < b.len() || out.is_empty() {
        out.push(Piece {
            start,
            end: b.len(),
        });
    }
    out
}

/// True when `text` is only whitespace and comments (an empty statement).
pub fn is_blank(text: &str) -> bool {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_whitespace() {
            i += 1;
        } else if b[i] == b'-' && b.get(i + 1) == Some(&b'-') {
            i = line_comment_end(b, i);
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            i = block_comment_end(b, i);
        } else {
            return false;
        }
    }
    true
}

/// The end of the string, quoted identifier, dollar quote or comment starting at `i`, if one
/// starts there.
fn skip(b: &[u8], i: usize) -> Option<usize> {
    match b[i] {
        b'\'' => {
            let escapes =
                i > 0 && matches!(b[i - 1], b'e' | b'E') && (i < 2 || !is_ident_cont(b[i - 2]));
            Some(quoted_end(b, i, b'\'', escapes))
        }
        b'"' => Some(quoted_end(b, i, b'"', false)),
        b'-' if b.get(i + 1) == Some(&b'-') => Some(line_comment_end(b, i)),
        b'/' if b.get(i + 1) == Some(&b'*') => Some(block_comment_end(b, i)),
        b'$' if i == 0 || !is_ident_cont(b[i - 1]) => dollar_end(b, i),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(sql: &str) -> Vec<&str> {
        split(sql).iter().map(|p| &sql[p.start..p.end]).collect()
    }

    #[test]
    fn splits_on_top_level_semicolons_only() {
        assert_eq!(parts("select 1"), vec!["select 1"]);
        assert_eq!(parts("select 1; select 2;"), vec!["select 1", " select 2"]);
        assert_eq!(parts("select ';'; x"), vec!["select ';'", " x"]);
        assert_eq!(parts("select 'it''s;'; x"), vec!["select 'it''s;'", " x"]);
        assert_eq!(parts(r"select E'\';'; x"), vec![r"select E'\';'", " x"]);
        assert_eq!(parts(r"select '\'; x"), vec![r"select '\'", " x"]);
        assert_eq!(parts("select \"a;b\"; x"), vec!["select \"a;b\"", " x"]);
        assert_eq!(parts("select 1 -- ;\n; x"), vec!["select 1 -- ;\n", " x"]);
        assert_eq!(
            parts("select /* /* ; */ ; */ 1; x"),
            vec!["select /* /* ; */ ; */ 1", " x"]
        );
        assert_eq!(
            parts("do $f$ begin; end $f$; x"),
            vec!["do $f$ begin; end $f$", " x"]
        );
        assert_eq!(parts("select $$a;b$$; x"), vec!["select $$a;b$$", " x"]);
        assert_eq!(parts("select $1; x"), vec!["select $1", " x"]);
        assert_eq!(parts(""), vec![""]);
        assert_eq!(parts(";"), vec![""]);
    }

    #[test]
    fn pieces_cover_all_text() {
        for sql in [
            "a;b;c",
            "'unterminated; x",
            "$$ open; y",
            "/* open ; z",
            "x;;y",
        ] {
            let ps = split(sql);
            let mut at = 0;
            for p in &ps {
                assert!(p.start >= at);
                assert!(sql[at..p.start].chars().all(|c| c == ';'), "{sql}");
                at = p.end;
            }
            assert!(sql[at..].chars().all(|c| c == ';'), "{sql}");
        }
    }

    #[test]
    fn blank() {
        assert!(is_blank("  -- x\n /* y */ "));
        assert!(!is_blank(" select"));
    }
}
