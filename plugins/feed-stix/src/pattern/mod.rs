//! The STIX patterning language (STIX 2.1 section 9): a recursive-descent parser producing a
//! small syntax tree that borrows from the pattern text.
//!
//! Precedence follows the specification, loosest first: `FOLLOWEDBY`, then `OR`, then `AND`
//! between observation expressions (`[...]`); `OR`, then `AND` between comparison expressions
//! inside one observation. Chains of one operator are kept flat (`Or(vec![a, b, c])`), and
//! qualifiers (`WITHIN`, `REPEATS`, `START ... STOP`) are postfix on an observation, so the
//! tree is only as deep as the parentheses and brackets, which are limited to
//! [`MAX_DEPTH`]. Every syntax tree renders back to pattern text ([`fmt::Display`]).

mod lexer;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::fmt;

use articdbm_feed_sdk::MAX_DEPTH;
use articdbm_feed_sdk::time::parse_rfc3339;

pub use lexer::CompareOp;
use lexer::{Keyword, Lexer, Spanned, Token, short};

/// Why a pattern does not parse: a message and the byte offset in the pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternError {
    pub offset: usize,
    pub message: String,
}

impl PatternError {
    fn new(offset: usize, message: String) -> Self {
        Self { offset, message }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.message, self.offset)
    }
}

/// An observation expression: what must be observed.
#[derive(Debug, Clone, PartialEq)]
pub enum Observation<'p> {
    /// `[ comparison ]`: one observed object matching the comparison.
    Match(Comparison<'p>),
    And(Vec<Observation<'p>>),
    Or(Vec<Observation<'p>>),
    FollowedBy(Vec<Observation<'p>>),
    /// An observation and its qualifiers, in the order written.
    Qualified(Box<Observation<'p>>, Vec<Qualifier<'p>>),
}

/// A comparison expression: a test on one observed object.
#[derive(Debug, Clone, PartialEq)]
pub enum Comparison<'p> {
    And(Vec<Comparison<'p>>),
    Or(Vec<Comparison<'p>>),
    Test(Test<'p>),
}

/// `path [NOT] operator constant`, or `EXISTS path`.
#[derive(Debug, Clone, PartialEq)]
pub struct Test<'p> {
    pub path: ObjectPath<'p>,
    pub negated: bool,
    pub predicate: Predicate<'p>,
}

impl Test<'_> {
    /// The operator as written, with `NOT` when negated: `=`, `NOT IN`, `LIKE`...
    pub fn operator(&self) -> String {
        let op = self.predicate.operator();
        if self.negated {
            format!("NOT {op}")
        } else {
            op.to_string()
        }
    }
}

/// The operator of a test and its operand.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate<'p> {
    Compare(CompareOp, Constant<'p>),
    In(Vec<Constant<'p>>),
    Like(Cow<'p, str>),
    Matches(Cow<'p, str>),
    IsSubset(Cow<'p, str>),
    IsSuperset(Cow<'p, str>),
    Exists,
}

impl Predicate<'_> {
    /// The operator's name: `=`, `IN`, `LIKE`...
    pub fn operator(&self) -> &'static str {
        match self {
            Self::Compare(op, _) => op.as_str(),
            Self::In(_) => "IN",
            Self::Like(_) => "LIKE",
            Self::Matches(_) => "MATCHES",
            Self::IsSubset(_) => "ISSUBSET",
            Self::IsSuperset(_) => "ISSUPERSET",
            Self::Exists => "EXISTS",
        }
    }
}

/// `object-type:property` followed by `.key` and `[index]` steps.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectPath<'p> {
    pub object_type: &'p str,
    pub property: Cow<'p, str>,
    pub steps: Vec<Step<'p>>,
}

/// One step after an object path's first property.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<'p> {
    /// `.name` or `.'quoted name'`.
    Key(Cow<'p, str>),
    /// `[n]`.
    Index(i64),
    /// `[*]`: any element of a list.
    Any,
}

/// A constant. Numbers keep their text as written.
#[derive(Debug, Clone, PartialEq)]
pub enum Constant<'p> {
    Str(Cow<'p, str>),
    Int(i64),
    Float(&'p str),
    Bool(bool),
    Timestamp(&'p str),
    Hex(&'p str),
    Binary(&'p str),
}

impl Constant<'_> {
    /// The text of a string constant.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// An observation qualifier.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier<'p> {
    /// `WITHIN n SECONDS`, with the number as written (without a `+`).
    Within(&'p str),
    /// `REPEATS n TIMES`.
    Repeats(u64),
    /// `START t'...' STOP t'...'`, with both times in milliseconds since the Unix epoch.
    StartStop {
        start: &'p str,
        stop: &'p str,
        start_ms: u64,
        stop_ms: u64,
    },
}

/// Parses a whole pattern.
pub fn parse(pattern: &str) -> Result<Observation<'_>, PatternError> {
    let mut parser = Parser {
        lexer: Lexer::new(pattern),
        depth: 0,
    };
    let observation = parser.observations()?;
    let Spanned { offset, token } = parser.lexer.next()?;
    if token != Token::End {
        return Err(unexpected(offset, &token, "the end of the pattern"));
    }
    Ok(observation)
}

type Parsed<T> = Result<T, PatternError>;

struct Parser<'p> {
    lexer: Lexer<'p>,
    /// How many brackets and parentheses are open.
    depth: usize,
}

impl<'p> Parser<'p> {
    /// `observations FOLLOWEDBY observations`, the loosest operator.
    fn observations(&mut self) -> Parsed<Observation<'p>> {
        self.chain(
            Keyword::FollowedBy,
            Self::observation_or,
            Observation::FollowedBy,
        )
    }

    fn observation_or(&mut self) -> Parsed<Observation<'p>> {
        self.chain(Keyword::Or, Self::observation_and, Observation::Or)
    }

    fn observation_and(&mut self) -> Parsed<Observation<'p>> {
        self.chain(Keyword::And, Self::observation, Observation::And)
    }

    /// `[ comparison ]` or `( observations )`, then any qualifiers.
    fn observation(&mut self) -> Parsed<Observation<'p>> {
        let Spanned { offset, token } = self.lexer.next()?;
        let observation = match token {
            Token::LBracket => {
                Observation::Match(self.group(offset, Self::comparisons, Token::RBracket)?)
            }
            Token::LParen => self.group(offset, Self::observations, Token::RParen)?,
            other => return Err(unexpected(offset, &other, "'[' or '('")),
        };
        let mut qualifiers = Vec::new();
        while let Some(qualifier) = self.qualifier()? {
            qualifiers.push(qualifier);
        }
        Ok(if qualifiers.is_empty() {
            observation
        } else {
            Observation::Qualified(Box::new(observation), qualifiers)
        })
    }

    fn qualifier(&mut self) -> Parsed<Option<Qualifier<'p>>> {
        let keyword = match self.lexer.peek()? {
            Token::Keyword(k @ (Keyword::Within | Keyword::Repeats | Keyword::Start)) => *k,
            _ => return Ok(None),
        };
        self.lexer.next()?;
        let qualifier = match keyword {
            Keyword::Within => {
                let Spanned { offset, token } = self.lexer.next()?;
                let seconds = match token {
                    Token::Int(n) | Token::Float(n) if !n.starts_with('-') => {
                        n.trim_start_matches('+')
                    }
                    other => {
                        return Err(unexpected(offset, &other, "a positive number of seconds"));
                    }
                };
                self.expect(Token::Keyword(Keyword::Seconds))?;
                Qualifier::Within(seconds)
            }
            Keyword::Repeats => {
                let Spanned { offset, token } = self.lexer.next()?;
                let times = match token {
                    Token::Int(n) if !n.starts_with('-') => {
                        n.trim_start_matches('+').parse::<u64>().map_err(|_| {
                            PatternError::new(offset, format!("REPEATS {n} is out of range"))
                        })?
                    }
                    other => return Err(unexpected(offset, &other, "a positive integer")),
                };
                self.expect(Token::Keyword(Keyword::Times))?;
                Qualifier::Repeats(times)
            }
            _ => {
                let (start, start_ms) = self.time()?;
                self.expect(Token::Keyword(Keyword::Stop))?;
                let offset = self.offset()?;
                let (stop, stop_ms) = self.time()?;
                if stop_ms <= start_ms {
                    return Err(PatternError::new(
                        offset,
                        "STOP must be later than START".to_string(),
                    ));
                }
                Qualifier::StartStop {
                    start,
                    stop,
                    start_ms,
                    stop_ms,
                }
            }
        };
        Ok(Some(qualifier))
    }

    /// A `t'...'` constant of a START / STOP qualifier, with its time.
    fn time(&mut self) -> Parsed<(&'p str, u64)> {
        let Spanned { offset, token } = self.lexer.next()?;
        match token {
            Token::Timestamp(text) => parse_rfc3339(text).map(|ms| (text, ms)).ok_or_else(|| {
                PatternError::new(
                    offset,
                    format!("t'{}' is not a valid time after 1970", short(text)),
                )
            }),
            other => Err(unexpected(offset, &other, "a timestamp t'...'")),
        }
    }

    /// Comparison expressions joined by `OR`.
    fn comparisons(&mut self) -> Parsed<Comparison<'p>> {
        self.chain(Keyword::Or, Self::comparison_and, Comparison::Or)
    }

    fn comparison_and(&mut self) -> Parsed<Comparison<'p>> {
        self.chain(Keyword::And, Self::comparison, Comparison::And)
    }

    /// `( comparisons )`, `EXISTS path` or `path [NOT] operator operand`.
    fn comparison(&mut self) -> Parsed<Comparison<'p>> {
        let Spanned { offset, token } = self.lexer.next()?;
        let test = match token {
            Token::LParen => return self.group(offset, Self::comparisons, Token::RParen),
            Token::Keyword(Keyword::Exists) => {
                let Spanned { offset, token } = self.lexer.next()?;
                let Token::Ident(object_type) = token else {
                    return Err(unexpected(offset, &token, "an object path"));
                };
                Test {
                    path: self.object_path(object_type)?,
                    negated: false,
                    predicate: Predicate::Exists,
                }
            }
            Token::Ident(object_type) => Test {
                path: self.object_path(object_type)?,
                negated: self.eat(Token::Keyword(Keyword::Not))?,
                predicate: self.predicate()?,
            },
            other => return Err(unexpected(offset, &other, "an object path, EXISTS or '('")),
        };
        Ok(Comparison::Test(test))
    }

    /// The rest of an object path after its object type.
    fn object_path(&mut self, object_type: &'p str) -> Parsed<ObjectPath<'p>> {
        self.expect(Token::Colon)?;
        let property = self.key()?;
        let mut steps = Vec::new();
        loop {
            match self.lexer.peek()? {
                Token::Dot => {
                    self.lexer.next()?;
                    steps.push(Step::Key(self.key()?));
                }
                Token::LBracket => {
                    self.lexer.next()?;
                    let Spanned { offset, token } = self.lexer.next()?;
                    steps.push(match token {
                        Token::Star => Step::Any,
                        Token::Int(n) => Step::Index(integer(offset, n)?),
                        other => return Err(unexpected(offset, &other, "a list index or '*'")),
                    });
                    self.expect(Token::RBracket)?;
                }
                _ => {
                    return Ok(ObjectPath {
                        object_type,
                        property,
                        steps,
                    });
                }
            }
        }
    }

    /// A property name: an identifier or a quoted string.
    fn key(&mut self) -> Parsed<Cow<'p, str>> {
        let Spanned { offset, token } = self.lexer.next()?;
        match token {
            Token::Ident(name) => Ok(Cow::Borrowed(name)),
            Token::Str(name) => Ok(name),
            other => Err(unexpected(offset, &other, "a property name")),
        }
    }

    /// An operator and its operand.
    fn predicate(&mut self) -> Parsed<Predicate<'p>> {
        let Spanned { offset, token } = self.lexer.next()?;
        Ok(match token {
            Token::Compare(op) => {
                let offset = self.offset()?;
                let constant = self.constant()?;
                if op.is_ordering() && matches!(constant, Constant::Bool(_)) {
                    return Err(PatternError::new(
                        offset,
                        format!("'{}' cannot compare booleans", op.as_str()),
                    ));
                }
                Predicate::Compare(op, constant)
            }
            Token::Keyword(Keyword::In) => Predicate::In(self.set()?),
            Token::Keyword(Keyword::Like) => Predicate::Like(self.string()?),
            Token::Keyword(Keyword::Matches) => Predicate::Matches(self.string()?),
            Token::Keyword(Keyword::IsSubset) => Predicate::IsSubset(self.string()?),
            Token::Keyword(Keyword::IsSuperset) => Predicate::IsSuperset(self.string()?),
            other => return Err(unexpected(offset, &other, "a comparison operator")),
        })
    }

    /// `( constant, ... )`, possibly empty.
    fn set(&mut self) -> Parsed<Vec<Constant<'p>>> {
        self.expect(Token::LParen)?;
        let mut items = Vec::new();
        if self.eat(Token::RParen)? {
            return Ok(items);
        }
        loop {
            items.push(self.constant()?);
            let Spanned { offset, token } = self.lexer.next()?;
            match token {
                Token::Comma => {}
                Token::RParen => return Ok(items),
                other => return Err(unexpected(offset, &other, "',' or ')'")),
            }
        }
    }

    fn constant(&mut self) -> Parsed<Constant<'p>> {
        let Spanned { offset, token } = self.lexer.next()?;
        Ok(match token {
            Token::Str(s) => Constant::Str(s),
            Token::Int(n) => Constant::Int(integer(offset, n)?),
            Token::Float(f) => Constant::Float(f),
            Token::Bool(b) => Constant::Bool(b),
            Token::Timestamp(t) => Constant::Timestamp(t),
            Token::Hex(h) => Constant::Hex(h),
            Token::Binary(b) => Constant::Binary(b),
            other => return Err(unexpected(offset, &other, "a constant")),
        })
    }

    fn string(&mut self) -> Parsed<Cow<'p, str>> {
        let Spanned { offset, token } = self.lexer.next()?;
        match token {
            Token::Str(s) => Ok(s),
            other => Err(unexpected(offset, &other, "a string")),
        }
    }

    /// `items (keyword items)*`, flattened into one node when the keyword appears.
    fn chain<T>(
        &mut self,
        keyword: Keyword,
        item: fn(&mut Self) -> Parsed<T>,
        node: fn(Vec<T>) -> T,
    ) -> Parsed<T> {
        let first = item(self)?;
        if !self.eat(Token::Keyword(keyword))? {
            return Ok(first);
        }
        let mut items = vec![first];
        loop {
            items.push(item(self)?);
            if !self.eat(Token::Keyword(keyword))? {
                return Ok(node(items));
            }
        }
    }

    /// The inside of a bracket or parenthesis opened at `offset`, and its closing `close`.
    fn group<T>(
        &mut self,
        offset: usize,
        inner: fn(&mut Self) -> Parsed<T>,
        close: Token<'static>,
    ) -> Parsed<T> {
        if self.depth >= MAX_DEPTH {
            return Err(PatternError::new(
                offset,
                format!("brackets and parentheses nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        self.depth += 1;
        let value = inner(self)?;
        self.expect(close)?;
        self.depth -= 1;
        Ok(value)
    }

    /// Consumes the next token when it is `token`.
    fn eat(&mut self, token: Token<'static>) -> Parsed<bool> {
        let found = *self.lexer.peek()? == token;
        if found {
            self.lexer.next()?;
        }
        Ok(found)
    }

    fn expect(&mut self, token: Token<'static>) -> Parsed<()> {
        let Spanned {
            offset,
            token: found,
        } = self.lexer.next()?;
        if found == token {
            Ok(())
        } else {
            Err(unexpected(offset, &found, &token.describe()))
        }
    }

    /// The offset of the next token.
    fn offset(&mut self) -> Parsed<usize> {
        self.lexer.peek_offset()
    }
}

fn integer(offset: usize, text: &str) -> Parsed<i64> {
    text.parse()
        .map_err(|_| PatternError::new(offset, format!("integer {} is out of range", short(text))))
}

fn unexpected(offset: usize, found: &Token<'_>, expected: &str) -> PatternError {
    PatternError::new(
        offset,
        format!("expected {expected}, found {}", found.describe()),
    )
}

impl fmt::Display for Observation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Match(comparison) => write!(f, "[{comparison}]"),
            Self::And(items) => join(f, items, " AND ", Self::is_compound),
            Self::Or(items) => join(f, items, " OR ", Self::is_compound),
            Self::FollowedBy(items) => join(f, items, " FOLLOWEDBY ", Self::is_compound),
            Self::Qualified(inner, qualifiers) => {
                if inner.is_compound() {
                    write!(f, "({inner})")?;
                } else {
                    write!(f, "{inner}")?;
                }
                qualifiers.iter().try_for_each(|q| write!(f, " {q}"))
            }
        }
    }
}

impl Observation<'_> {
    fn is_compound(&self) -> bool {
        matches!(self, Self::And(_) | Self::Or(_) | Self::FollowedBy(_))
    }
}

impl fmt::Display for Comparison<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let compound = |c: &Comparison<'_>| !matches!(c, Comparison::Test(_));
        match self {
            Self::And(items) => join(f, items, " AND ", compound),
            Self::Or(items) => join(f, items, " OR ", compound),
            Self::Test(test) => write!(f, "{test}"),
        }
    }
}

/// Writes `items` separated by `separator`, parenthesising the compound ones.
fn join<T: fmt::Display>(
    f: &mut fmt::Formatter<'_>,
    items: &[T],
    separator: &str,
    compound: impl Fn(&T) -> bool,
) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(separator)?;
        }
        if compound(item) {
            write!(f, "({item})")?;
        } else {
            write!(f, "{item}")?;
        }
    }
    Ok(())
}

impl fmt::Display for Test<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let operator = self.operator();
        match &self.predicate {
            Predicate::Exists => write!(f, "EXISTS {}", self.path),
            Predicate::Compare(_, constant) => write!(f, "{} {operator} {constant}", self.path),
            Predicate::In(items) => {
                write!(f, "{} {operator} (", self.path)?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str(")")
            }
            Predicate::Like(s)
            | Predicate::Matches(s)
            | Predicate::IsSubset(s)
            | Predicate::IsSuperset(s) => {
                write!(f, "{} {operator} ", self.path)?;
                quote(f, s)
            }
        }
    }
}

impl fmt::Display for ObjectPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        key(f, &self.property)?;
        for step in &self.steps {
            match step {
                Step::Key(name) => {
                    f.write_str(".")?;
                    key(f, name)?;
                }
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::Any => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

/// A property name, quoted unless it is a plain identifier.
fn key(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let plain = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && Keyword::from_word(name).is_none()
        && name != "true"
        && name != "false";
    if plain {
        f.write_str(name)
    } else {
        quote(f, name)
    }
}

/// A string constant, with `'` and `\` escaped.
fn quote(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_str("'")?;
    let mut rest = text;
    while let Some(i) = rest.find(['\'', '\\']) {
        f.write_str(&rest[..i])?;
        f.write_str("\\")?;
        f.write_str(&rest[i..=i])?;
        rest = &rest[i + 1..];
    }
    f.write_str(rest)?;
    f.write_str("'")
}

impl fmt::Display for Constant<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Str(s) => quote(f, s),
            Self::Int(n) => write!(f, "{n}"),
            Self::Float(text) => f.write_str(text),
            Self::Bool(b) => write!(f, "{b}"),
            Self::Timestamp(t) => write!(f, "t'{t}'"),
            Self::Hex(h) => write!(f, "h'{h}'"),
            Self::Binary(b) => write!(f, "b'{b}'"),
        }
    }
}

impl fmt::Display for Qualifier<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Within(seconds) => write!(f, "WITHIN {seconds} SECONDS"),
            Self::Repeats(times) => write!(f, "REPEATS {times} TIMES"),
            Self::StartStop { start, stop, .. } => write!(f, "START t'{start}' STOP t'{stop}'"),
        }
    }
}
