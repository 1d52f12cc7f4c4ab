//! The leading keywords of a SQL statement, past whitespace and comments: enough to recognise
//! the session-level commands the gateway answers or refuses itself (DEALLOCATE, DISCARD,
//! PREPARE, EXECUTE, LISTEN, DECLARE ... WITH HOLD) without parsing the statement.

use articdbm_facts::sqltext::{block_comment_end, is_ident_cont, line_comment_end, quoted_end};

/// A session-level command the PostgreSQL core handles itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCommand {
    /// `DEALLOCATE [PREPARE] ALL`
    DeallocateAll,
    /// `DEALLOCATE [PREPARE] name`
    Deallocate(String),
    /// `DISCARD ALL`
    DiscardAll,
    /// `PREPARE name ...`
    Prepare(String),
    /// `EXECUTE name ...`
    Execute(String),
    /// `LISTEN channel`
    Listen,
    /// `DECLARE name ... WITH HOLD ...`: a cursor that outlives its transaction.
    DeclareWithHold,
}

/// Recognises `sql` (one statement) as a [`SessionCommand`].
pub fn session_command(sql: &str) -> Option<SessionCommand> {
    let mut w = Words::new(sql);
    let first = w.next()?;
    // Most statements start with another word: compare lengths first, and never allocate
    // on the query path.
    let kw = |k: &str| first.len() == k.len() && first.eq_ignore_ascii_case(k);
    let which = [
        "deallocate",
        "discard",
        "prepare",
        "execute",
        "listen",
        "declare",
    ]
    .into_iter()
    .find(|k| kw(k))?;
    match which {
        "deallocate" => {
            let mut next = w.next()?;
            if next.eq_ignore_ascii_case("prepare") {
                next = w.next()?;
            }
            if next.eq_ignore_ascii_case("all") {
                Some(SessionCommand::DeallocateAll)
            } else {
                Some(SessionCommand::Deallocate(ident(next)))
            }
        }
        "discard" => w
            .next()
            .filter(|n| n.eq_ignore_ascii_case("all"))
            .map(|_| SessionCommand::DiscardAll),
        "prepare" => {
            let name = w.next()?;
            // `PREPARE TRANSACTION 'gid'` is two-phase commit, not a statement.
            if name.eq_ignore_ascii_case("transaction") {
                return None;
            }
            Some(SessionCommand::Prepare(ident(name)))
        }
        "execute" => Some(SessionCommand::Execute(ident(w.next()?))),
        "listen" => Some(SessionCommand::Listen),
        "declare" => {
            let mut prev: Option<&str> = None;
            for word in w {
                if word.eq_ignore_ascii_case("for") {
                    return None;
                }
                if word.eq_ignore_ascii_case("hold")
                    && prev.is_some_and(|p| p.eq_ignore_ascii_case("with"))
                {
                    return Some(SessionCommand::DeclareWithHold);
                }
                prev = Some(word);
            }
            None
        }
        _ => None,
    }
}

/// An identifier as PostgreSQL folds it: quoted names keep their case, others are lowered.
fn ident(word: &str) -> String {
    match word.strip_prefix('"').and_then(|w| w.strip_suffix('"')) {
        Some(q) => q.replace("\"\"", "\""),
        None => word.to_ascii_lowercase(),
    }
}

/// Words of a statement: identifiers, keywords and quoted identifiers, skipping whitespace,
/// comments and punctuation with the lexical primitives the splitter and the facts share.
/// Stops at the first string literal (nothing after one matters here).
struct Words<'a> {
    sql: &'a str,
    pos: usize,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str) -> Self {
        Words { sql, pos: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let b = self.sql.as_bytes();
        let mut i = self.pos;
        loop {
            let c = *b.get(i)?;
            let (start, end) = if c.is_ascii_whitespace() {
                i += 1;
                continue;
            } else if b[i..].starts_with(b"--") {
                i = line_comment_end(b, i);
                continue;
            } else if b[i..].starts_with(b"/*") {
                i = block_comment_end(b, i);
                continue;
            } else if c == b'"' {
                (i, quoted_end(b, i, b'"', false))
            } else if is_ident_cont(c) {
                let mut j = i + 1;
                while j < b.len() && is_ident_cont(b[j]) {
                    j += 1;
                }
                (i, j)
            } else if c == b'\'' {
                self.pos = b.len();
                return None;
            } else {
                // ASCII punctuation (bytes from 0x80 up are identifier bytes).
                i += 1;
                continue;
            };
            // Both ends sit next to ASCII bytes or at the end: char boundaries.
            self.pos = end;
            return Some(&self.sql[start..end]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_session_commands_past_comments_and_case() {
        use SessionCommand::*;
        let cases = [
            ("DEALLOCATE ALL", Some(DeallocateAll)),
            ("  deallocate prepare all;", Some(DeallocateAll)),
            (
                "/* c /* nested */ */ DEALLOCATE \"S1\"",
                Some(Deallocate("S1".into())),
            ),
            ("-- x\nDeallocate s1", Some(Deallocate("s1".into()))),
            ("DISCARD ALL", Some(DiscardAll)),
            ("DISCARD PLANS", None),
            ("PREPARE q (int) AS SELECT $1", Some(Prepare("q".into()))),
            ("PREPARE TRANSACTION 'x'", None),
            (
                "EXECUTE articdbm_s1(5)",
                Some(Execute("articdbm_s1".into())),
            ),
            ("listen ch", Some(Listen)),
            (
                "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
                Some(DeclareWithHold),
            ),
            ("DECLARE c CURSOR WITHOUT HOLD FOR SELECT 1", None),
            ("DECLARE c CURSOR FOR SELECT 'with hold'", None),
            ("SELECT 'DEALLOCATE ALL'", None),
            ("", None),
        ];
        for (sql, want) in cases {
            assert_eq!(session_command(sql), want, "{sql}");
        }
    }
}
