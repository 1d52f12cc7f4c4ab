//! Lexical primitives of PostgreSQL-style SQL text shared by everything that must skip over
//! strings, quoted identifiers, dollar quotes and comments without parsing: the gateway's
//! simple-Query splitter (`pg::split`), statement fingerprints ([`crate::Fingerprint`]) and the SQLite
//! backend's tokenizer (`sqlite::lex`). Each returns the end (exclusive) of the
//! construct that starts at `i`; unterminated constructs run to the end of the text.

pub fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b >= 0x80
}

pub fn is_ident_cont(b: u8) -> bool {
    is_ident_start(b) || b.is_ascii_digit() || b == b'$'
}

/// A `/* ... */` comment (nested, as PostgreSQL allows) starting at `b[i] == '/'`.
pub fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0usize;
    while i < b.len() {
        if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            depth += 1;
            i += 2;
        } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
            depth = depth.saturating_sub(1);
            i += 2;
            if depth == 0 {
                return i;
            }
        } else {
            i += 1;
        }
    }
    b.len()
}

/// A `-- ...` comment starting at `i`: up to (not including) the newline.
pub fn line_comment_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i] != b'\n' {
        i += 1;
    }
    i
}

/// A quoted token starting at the opening quote `b[i] == q`; doubled quotes escape, and so do
/// backslashes when `backslash` (E'...' strings).
pub fn quoted_end(b: &[u8], mut i: usize, q: u8, backslash: bool) -> usize {
    i += 1;
    while i < b.len() {
        if backslash && b[i] == b'\\' {
            i += 2;
            continue;
        }
        if b[i] == q {
            if b.get(i + 1) == Some(&q) {
                i += 2;
                continue;
            }
            return i + 1;
        }
        i += 1;
    }
    b.len()
}

/// `$tag$ ... $tag$` starting at `b[i] == '$'`, if `b[i..]` opens one.
pub fn dollar_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if b.get(j).is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    while j < b.len() && b[j] != b'$' {
        if !is_ident_cont(b[j]) {
            return None;
        }
        j += 1;
    }
    if j >= b.len() {
        return None;
    }
    let tag = &b[i..=j];
    let body = j + 1;
    Some(
        b[body..]
            .windows(tag.len())
            .position(|w| w == tag)
            .map_or(b.len(), |k| body + k + tag.len()),
    )
}
