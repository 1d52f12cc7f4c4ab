//! Tokens of the STIX patterning language (STIX 2.1 section 9, grammar `STIXPattern.g4`).
//!
//! The lexer is lazy, with one token of lookahead, and never allocates except for a string
//! literal holding an escape (`\'` or `\\`). Whitespace, `/* ... */` and `// ...` comments
//! are skipped.

use std::borrow::Cow;

use super::PatternError;

/// A comparison operator written with symbols.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=` or `==`.
    Eq,
    /// `!=` or `<>`.
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    /// The operator as the specification writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Eq => "=",
            Self::Ne => "!=",
            Self::Lt => "<",
            Self::Le => "<=",
            Self::Gt => ">",
            Self::Ge => ">=",
        }
    }

    /// True for `<`, `<=`, `>` and `>=`, which take no booleans.
    pub fn is_ordering(self) -> bool {
        !matches!(self, Self::Eq | Self::Ne)
    }
}

/// A reserved word. The grammar spells them in upper case only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
}

impl Keyword {
    const ALL: [(&'static str, Self); 17] = [
        ("AND", Self::And),
        ("OR", Self::Or),
        ("NOT", Self::Not),
        ("FOLLOWEDBY", Self::FollowedBy),
        ("LIKE", Self::Like),
        ("MATCHES", Self::Matches),
        ("ISSUBSET", Self::IsSubset),
        ("ISSUPERSET", Self::IsSuperset),
        ("EXISTS", Self::Exists),
        ("LAST", Self::Last),
        ("IN", Self::In),
        ("START", Self::Start),
        ("STOP", Self::Stop),
        ("SECONDS", Self::Seconds),
        ("WITHIN", Self::Within),
        ("REPEATS", Self::Repeats),
        ("TIMES", Self::Times),
    ];

    /// The keyword `word` is, if any.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL.iter().find(|(w, _)| *w == word).map(|(_, k)| *k)
    }

    /// The keyword as written.
    pub fn as_str(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, k)| *k == self)
            .map_or("?", |(w, _)| w)
    }
}

/// One token. Literals keep their text as written (numbers) or their content (quoted forms).
#[derive(Debug, Clone, PartialEq)]
pub enum Token<'p> {
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Colon,
    Dot,
    Star,
    Compare(CompareOp),
    Keyword(Keyword),
    Ident(&'p str),
    /// `'...'`, unescaped.
    Str(Cow<'p, str>),
    /// An integer as written, sign included.
    Int(&'p str),
    /// A float as written, sign included.
    Float(&'p str),
    Bool(bool),
    /// `t'...'`: the timestamp text between the quotes.
    Timestamp(&'p str),
    /// `h'...'`: the hex digits.
    Hex(&'p str),
    /// `b'...'`: the base64 text.
    Binary(&'p str),
    End,
}

impl Token<'_> {
    /// The token as an error message names it.
    pub fn describe(&self) -> String {
        let fixed = match self {
            Self::LBracket => "'['",
            Self::RBracket => "']'",
            Self::LParen => "'('",
            Self::RParen => "')'",
            Self::Comma => "','",
            Self::Colon => "':'",
            Self::Dot => "'.'",
            Self::Star => "'*'",
            Self::Str(_) => "a string",
            Self::Int(_) | Self::Float(_) => "a number",
            Self::Bool(_) => "a boolean",
            Self::Timestamp(_) => "a timestamp",
            Self::Hex(_) => "a hex constant",
            Self::Binary(_) => "a binary constant",
            Self::End => "the end of the pattern",
            Self::Compare(op) => return format!("'{}'", op.as_str()),
            Self::Keyword(k) => return format!("'{}'", k.as_str()),
            Self::Ident(name) => return format!("'{}'", short(name)),
        };
        fixed.to_string()
    }
}

/// A token and the byte offset where it starts.
#[derive(Debug)]
pub struct Spanned<'p> {
    pub offset: usize,
    pub token: Token<'p>,
}

/// The lexer over one pattern.
pub struct Lexer<'p> {
    src: &'p str,
    pos: usize,
    peeked: Option<Spanned<'p>>,
}

impl<'p> Lexer<'p> {
    pub fn new(src: &'p str) -> Self {
        Self {
            src,
            pos: 0,
            peeked: None,
        }
    }

    /// The next token, without consuming it.
    pub fn peek(&mut self) -> Result<&Token<'p>, PatternError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex()?);
        }
        Ok(self.peeked.as_ref().map_or(&Token::End, |s| &s.token))
    }

    /// Where the next token starts.
    pub fn peek_offset(&mut self) -> Result<usize, PatternError> {
        self.peek()?;
        Ok(self.peeked.as_ref().map_or(self.pos, |s| s.offset))
    }

    /// The next token, consumed.
    pub fn next(&mut self) -> Result<Spanned<'p>, PatternError> {
        match self.peeked.take() {
            Some(spanned) => Ok(spanned),
            None => self.lex(),
        }
    }

    fn lex(&mut self) -> Result<Spanned<'p>, PatternError> {
        self.skip_blanks()?;
        let offset = self.pos;
        let bytes = self.src.as_bytes();
        let Some(&first) = bytes.get(offset) else {
            return Ok(Spanned {
                offset,
                token: Token::End,
            });
        };
        let second = bytes.get(offset + 1).copied();
        let (token, len) = match (first, second) {
            (b'[', _) => (Token::LBracket, 1),
            (b']', _) => (Token::RBracket, 1),
            (b'(', _) => (Token::LParen, 1),
            (b')', _) => (Token::RParen, 1),
            (b',', _) => (Token::Comma, 1),
            (b':', _) => (Token::Colon, 1),
            (b'*', _) => (Token::Star, 1),
            (b'=', Some(b'=')) => (Token::Compare(CompareOp::Eq), 2),
            (b'=', _) => (Token::Compare(CompareOp::Eq), 1),
            (b'!', Some(b'=')) | (b'<', Some(b'>')) => (Token::Compare(CompareOp::Ne), 2),
            (b'<', Some(b'=')) => (Token::Compare(CompareOp::Le), 2),
            (b'<', _) => (Token::Compare(CompareOp::Lt), 1),
            (b'>', Some(b'=')) => (Token::Compare(CompareOp::Ge), 2),
            (b'>', _) => (Token::Compare(CompareOp::Gt), 1),
            (b'\'', _) => return self.string(offset),
            (b'0'..=b'9' | b'+' | b'-', _) => return self.number(offset),
            (b'.', Some(b'0'..=b'9')) => return self.number(offset),
            (b'.', _) => (Token::Dot, 1),
            (b'a'..=b'z' | b'A'..=b'Z' | b'_', _) => return self.word(offset),
            _ => {
                let c = self.src[offset..].chars().next().unwrap_or('?');
                return Err(PatternError::new(
                    offset,
                    format!("unexpected character {c:?}"),
                ));
            }
        };
        self.pos += len;
        Ok(Spanned { offset, token })
    }

    /// Skips whitespace and comments.
    fn skip_blanks(&mut self) -> Result<(), PatternError> {
        loop {
            let rest = &self.src[self.pos..];
            let trimmed = rest.trim_start();
            self.pos += rest.len() - trimmed.len();
            if let Some(body) = trimmed.strip_prefix("/*") {
                let end = body.find("*/").ok_or_else(|| {
                    PatternError::new(self.pos, "comment '/*' is never closed".to_string())
                })?;
                self.pos += 2 + end + 2;
            } else if let Some(body) = trimmed.strip_prefix("//") {
                self.pos += 2 + body.find(['\n', '\r']).unwrap_or(body.len());
            } else {
                return Ok(());
            }
        }
    }

    /// A string literal starting at the quote at `offset`: `\'` and `\\` are the only escapes.
    fn string(&mut self, offset: usize) -> Result<Spanned<'p>, PatternError> {
        let body_start = offset + 1;
        let body = &self.src[body_start..];
        let unterminated = || PatternError::new(offset, "string is never closed".to_string());
        let first = body.find(['\'', '\\']).ok_or_else(unterminated)?;
        if body.as_bytes()[first] == b'\'' {
            self.pos = body_start + first + 1;
            return Ok(Spanned {
                offset,
                token: Token::Str(Cow::Borrowed(&body[..first])),
            });
        }
        let mut text = String::with_capacity(body.len().min(256));
        text.push_str(&body[..first]);
        let mut chars = body[first..].char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos = body_start + first + i + 1;
                    return Ok(Spanned {
                        offset,
                        token: Token::Str(Cow::Owned(text)),
                    });
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('\'' | '\\'))) => text.push(escaped),
                    Some((j, other)) => {
                        return Err(PatternError::new(
                            body_start + first + j,
                            format!("invalid escape '\\{other}' (only \\' and \\\\ are allowed)"),
                        ));
                    }
                    None => return Err(unterminated()),
                },
                c => text.push(c),
            }
        }
        Err(unterminated())
    }

    /// An integer (`'+'? '-'? digits`) or a float (`sign? digits* '.' digits+`).
    fn number(&mut self, offset: usize) -> Result<Spanned<'p>, PatternError> {
        let bytes = self.src.as_bytes();
        let digits_from = |i: usize| bytes[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        let mut end = offset + usize::from(matches!(bytes[offset], b'+' | b'-'));
        let whole = digits_from(end);
        end += whole;
        let fraction = match bytes.get(end) {
            Some(b'.') => digits_from(end + 1),
            _ => 0,
        };
        let token = if fraction > 0 {
            end += 1 + fraction;
            Token::Float(&self.src[offset..end])
        } else if whole > 0 {
            Token::Int(&self.src[offset..end])
        } else {
            return Err(PatternError::new(
                offset,
                "a sign must be followed by a number".to_string(),
            ));
        };
        self.pos = end;
        Ok(Spanned { offset, token })
    }

    /// An identifier, keyword or boolean, or a `t'...'`, `h'...'`, `b'...'` constant.
    fn word(&mut self, offset: usize) -> Result<Spanned<'p>, PatternError> {
        let len = self.src.as_bytes()[offset..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'-')
            .count();
        let word = &self.src[offset..offset + len];
        self.pos = offset + len;
        let token = match word {
            "t" | "h" | "b" if self.src.as_bytes().get(self.pos) == Some(&b'\'') => {
                return self.quoted_constant(offset, word);
            }
            "true" => Token::Bool(true),
            "false" => Token::Bool(false),
            _ => Keyword::from_word(word).map_or(Token::Ident(word), Token::Keyword),
        };
        Ok(Spanned { offset, token })
    }

    /// The body of `t'...'`, `h'...'` or `b'...'` (no escapes), checked against the grammar.
    fn quoted_constant(
        &mut self,
        offset: usize,
        prefix: &str,
    ) -> Result<Spanned<'p>, PatternError> {
        let body_start = self.pos + 1;
        let body_len = self.src[body_start..]
            .find('\'')
            .ok_or_else(|| PatternError::new(offset, "constant is never closed".to_string()))?;
        let body = &self.src[body_start..body_start + body_len];
        self.pos = body_start + body_len + 1;
        let (token, valid, what) = match prefix {
            "t" => (
                Token::Timestamp(body),
                is_timestamp(body),
                "a timestamp (YYYY-MM-DDTHH:MM:SS[.s]Z)",
            ),
            "h" => (Token::Hex(body), is_hex(body), "pairs of hex digits"),
            _ => (Token::Binary(body), is_base64(body), "base64"),
        };
        if !valid {
            return Err(PatternError::new(
                offset,
                format!("{prefix}'{}' is not {what}", short(body)),
            ));
        }
        Ok(Spanned { offset, token })
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, optional fraction, `Z`, as the grammar's `TimestampLiteral`.
fn is_timestamp(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |from: usize, to: usize| {
        b.get(from..to)
            .is_some_and(|s| s.iter().all(u8::is_ascii_digit))
    };
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    let shape = digits(0, 4)
        && at(4, b'-')
        && digits(5, 7)
        && at(7, b'-')
        && digits(8, 10)
        && at(10, b'T')
        && digits(11, 13)
        && at(13, b':')
        && digits(14, 16)
        && at(16, b':')
        && digits(17, 19);
    shape
        && match &b[19..] {
            [b'Z'] => true,
            [b'.', fraction @ .., b'Z'] => {
                !fraction.is_empty() && fraction.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        }
}

fn is_hex(text: &str) -> bool {
    text.len().is_multiple_of(2) && text.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_base64(text: &str) -> bool {
    let data = text.trim_end_matches('=');
    text.len().is_multiple_of(4)
        && text.len() - data.len() <= 2
        && data
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// At most 40 characters of `text`, for error messages.
pub fn short(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}
