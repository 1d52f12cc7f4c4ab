//! Facts read from the token stream alone: comments, literal counts, statement count, and the
//! MySQL clauses sqlparser does not know (`INTO OUTFILE`, `LOCK IN SHARE MODE`), which are cut
//! out of the stream before parsing.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use crate::{Comment, CommentKind, CommentPosition, Dialect, LiteralCounts, MAX_LIST};

/// Longest comment body kept, in bytes.
const MAX_COMMENT: usize = 256;

/// What the token scan found.
#[derive(Debug, Default)]
pub(crate) struct TokenFacts {
    pub comments: Vec<Comment>,
    pub literals: LiteralCounts,
    /// Non-empty `;`-separated statements.
    pub statements: u32,
    /// Operator tokens in the largest statement: a bound on how deep a left-deep operator
    /// chain can make the AST (sqlparser's recursion limit does not count those).
    pub max_operators: u32,
    /// Deepest parenthesis nesting.
    pub max_parens: u32,
    pub file_access: bool,
    pub locking_read: bool,
}

pub(crate) fn truncate(s: &str) -> &str {
    if s.len() <= MAX_COMMENT {
        return s;
    }
    let mut end = MAX_COMMENT;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn significant(t: &Token) -> bool {
    !matches!(t, Token::Whitespace(_) | Token::EOF)
}

fn is_operator(t: &Token) -> bool {
    match t {
        Token::Word(w) => matches!(w.keyword, Keyword::AND | Keyword::OR | Keyword::XOR),
        Token::Eq
        | Token::DoubleEq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Spaceship
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::Ampersand
        | Token::Pipe
        | Token::Caret
        | Token::ShiftLeft
        | Token::ShiftRight
        | Token::Arrow
        | Token::LongArrow
        | Token::HashArrow
        | Token::HashLongArrow
        | Token::DoubleColon => true,
        _ => false,
    }
}

fn keyword(t: &Token) -> Keyword {
    match t {
        Token::Word(w) if w.quote_style.is_none() => w.keyword,
        _ => Keyword::NoKeyword,
    }
}

/// Scans the tokens for comments, literals and statement count.
pub(crate) fn scan(tokens: &[TokenWithSpan], dialect: Dialect) -> TokenFacts {
    let mut f = TokenFacts::default();
    let first = tokens.iter().position(|t| significant(&t.token));
    let last = tokens.iter().rposition(|t| significant(&t.token));
    let mut in_statement = false;
    let mut operators = 0u32;
    // The two previous significant tokens' keywords, to skip `IS [NOT] NULL`.
    let mut prev = [Keyword::NoKeyword; 2];
    let mut prev_token: Option<&Token> = None;
    let mut parens = 0u32;
    for (i, t) in tokens.iter().enumerate() {
        let lit = &mut f.literals;
        match &t.token {
            Token::Whitespace(ws) => {
                let (kind, body) = match ws {
                    Whitespace::SingleLineComment { comment, prefix } => {
                        let kind = if prefix.starts_with('#') {
                            CommentKind::Hash
                        } else {
                            CommentKind::Line
                        };
                        (kind, comment.trim_end_matches(['\n', '\r']))
                    }
                    Whitespace::MultiLineComment(body) => match body.strip_prefix('!') {
                        Some(rest) if dialect == Dialect::Mysql => (CommentKind::Conditional, rest),
                        _ => (CommentKind::Block, body.as_str()),
                    },
                    _ => continue,
                };
                if f.comments.len() < MAX_LIST {
                    let position = match (first, last) {
                        (Some(a), _) if i < a => CommentPosition::Leading,
                        (_, Some(b)) if i > b => CommentPosition::Trailing,
                        (None, None) => CommentPosition::Leading,
                        _ => CommentPosition::Inner,
                    };
                    f.comments.push(Comment {
                        kind,
                        position,
                        text: truncate(body).to_string(),
                    });
                }
                continue;
            }
            Token::EOF => continue,
            Token::SemiColon => {
                in_statement = false;
                f.max_operators = f.max_operators.max(operators);
                operators = 0;
                prev = [Keyword::NoKeyword; 2];
                prev_token = Some(&t.token);
                continue;
            }
            Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_) => lit.strings += 1,
            Token::HexStringLiteral(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_) => lit.hex += 1,
            Token::Number(n, _) => {
                if n.starts_with("0x") || n.starts_with("0X") || n.starts_with("0b") {
                    lit.hex += 1
                } else {
                    lit.numbers += 1
                }
            }
            Token::Placeholder(_) => lit.placeholders += 1,
            Token::LParen => {
                parens += 1;
                f.max_parens = f.max_parens.max(parens);
            }
            Token::RParen => parens = parens.saturating_sub(1),
            Token::Question if dialect != Dialect::Postgres => lit.placeholders += 1,
            Token::Word(w) if w.quote_style.is_none() => match w.keyword {
                Keyword::NULL => {
                    let after_is = prev[0] == Keyword::IS
                        || (prev[0] == Keyword::NOT && prev[1] == Keyword::IS);
                    if !after_is {
                        lit.nulls += 1
                    }
                }
                Keyword::TRUE | Keyword::FALSE => lit.booleans += 1,
                _ => {
                    // `:name` with no space between.
                    if matches!(prev_token, Some(Token::Colon))
                        && i > 0
                        && matches!(tokens[i - 1].token, Token::Colon)
                    {
                        lit.placeholders += 1
                    }
                }
            },
            _ => {}
        }
        if is_operator(&t.token) {
            // Unary minus/plus after `(`, `,` or an operator does not chain.
            let unary = matches!(t.token, Token::Minus | Token::Plus)
                && matches!(
                    prev_token,
                    None | Some(Token::LParen | Token::Comma | Token::SemiColon)
                )
                || (matches!(t.token, Token::Minus | Token::Plus)
                    && prev_token.is_some_and(is_operator));
            if !unary {
                operators += 1;
            }
        }
        if !in_statement {
            in_statement = true;
            f.statements += 1;
        }
        prev = [keyword(&t.token), prev[0]];
        prev_token = Some(&t.token);
    }
    f.max_operators = f.max_operators.max(operators);
    f
}

fn word_is(t: &Token, name: &str) -> bool {
    matches!(t, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(name))
}

/// Cuts MySQL-only clauses that sqlparser rejects out of the token stream, recording what they
/// mean: `INTO OUTFILE 'f' [FIELDS ... LINES ...]`, `INTO DUMPFILE 'f'` (file access) and
/// `LOCK IN SHARE MODE` (a locking read). Returns true when something was removed.
pub(crate) fn strip_mysql_clauses(tokens: &mut Vec<TokenWithSpan>, f: &mut TokenFacts) -> bool {
    let sig: Vec<usize> = tokens
        .iter()
        .enumerate()
        .filter(|(_, t)| significant(&t.token))
        .map(|(i, _)| i)
        .collect();
    let kw = |k: usize| {
        sig.get(k)
            .map_or(Keyword::NoKeyword, |&i| keyword(&tokens[i].token))
    };
    let mut remove: Vec<(usize, usize)> = Vec::new();
    let mut k = 0;
    while k < sig.len() {
        let here = kw(k);
        let next_is = |name: &str| {
            sig.get(k + 1)
                .is_some_and(|&i| word_is(&tokens[i].token, name))
        };
        if here == Keyword::INTO && (next_is("OUTFILE") || next_is("DUMPFILE")) {
            f.file_access = true;
            let start = sig[k];
            let mut j = k + 2;
            // The file name, then export options made of option words and strings.
            while let Some(&i) = sig.get(j) {
                let t = &tokens[i].token;
                let option_word = [
                    "FIELDS",
                    "COLUMNS",
                    "LINES",
                    "TERMINATED",
                    "ENCLOSED",
                    "ESCAPED",
                    "STARTING",
                    "OPTIONALLY",
                    "BY",
                    "CHARACTER",
                    "SET",
                ]
                .iter()
                .any(|w| word_is(t, w));
                let string = matches!(
                    t,
                    Token::SingleQuotedString(_)
                        | Token::DoubleQuotedString(_)
                        | Token::HexStringLiteral(_)
                );
                if !(option_word || string) {
                    break;
                }
                j += 1;
            }
            let end = sig.get(j - 1).map_or(start, |&i| i);
            remove.push((start, end));
            k = j;
        } else if here == Keyword::LOCK
            && kw(k + 1) == Keyword::IN
            && kw(k + 2) == Keyword::SHARE
            && kw(k + 3) == Keyword::MODE
        {
            f.locking_read = true;
            remove.push((sig[k], sig[k + 3]));
            k += 4;
        } else {
            k += 1;
        }
    }
    if remove.is_empty() {
        return false;
    }
    let mut out = Vec::with_capacity(tokens.len());
    let mut r = remove.iter().peekable();
    for (i, t) in tokens.drain(..).enumerate() {
        while r.peek().is_some_and(|&&(_, e)| e < i) {
            r.next();
        }
        if r.peek().is_some_and(|&&(s, e)| s <= i && i <= e) {
            continue;
        }
        out.push(t);
    }
    *tokens = out;
    true
}
