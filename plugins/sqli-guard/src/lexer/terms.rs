//! Predicate terms: the scanner's tokens grouped into the terms of AND / OR chains, to ask of
//! each term in a predicate whether anything in it comes from the rows or the client (a column,
//! a placeholder, an application table) or whether it is built only from constants and server
//! facts. An application compares its data; an injection compares constants (`'a' ~ 'a'`,
//! `'t'::bool`, `EXISTS(SELECT 1)`, `int4eq(1,1)`) or asks about the server
//! (`ascii(substr(current_user,1,1))>100`).
//!
//! Like the scanner, this keeps fixed-size state (one record per open parenthesis) and looks at
//! each token once, so the cost is linear in the statement length. Anything it does not
//! understand counts as a column, which can only make it miss, never deny.

use super::{Kw, Lit, MAX_PARENS, Signals, Tok};

const LEVELS: usize = MAX_PARENS + 1;

/// Which part of a (sub)query the tokens at one level belong to.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
enum Ctx {
    /// A SELECT list: constants there are at worst odd (`SELECT 'a' ~ 'a'`).
    Projection,
    From,
    /// WHERE, ON, HAVING, GROUP BY, ORDER BY, SET, VALUES, LIMIT, or before any keyword.
    #[default]
    Pred,
}

/// What one term (or, aggregated, one parenthesised group) holds.
#[derive(Clone, Copy, Debug)]
struct Term {
    tokens: u16,
    /// Began where a condition begins (after WHERE, AND, OR, NOT, ON, HAVING, a searched WHEN,
    /// or as the first thing inside parentheses that began one).
    boolean: bool,
    /// A column, placeholder, application table or anything not understood.
    column: bool,
    /// A server fact: identity functions, settings, privileges, catalogue reads.
    server: bool,
    literals: u16,
    /// The first token is a string literal (not NULL).
    string_first: bool,
    /// The first token is a number (or TRUE / FALSE).
    number_first: bool,
    /// Began right after an OR-like connective (`OR`, MySQL's `||` and `XOR`).
    after_or: bool,
    /// Only literals, comparison / arithmetic operators and NOT: the constant comparisons the
    /// scanner's older check and the host's facts judge.
    plain: bool,
    /// A comparison operator (`=`, `~`, `LIKE`, `SIMILAR TO`, `IN`, `IS`, `ANY`...).
    cmp: bool,
    /// A cast to boolean (`::bool`, `CAST(.. AS boolean)`, `boolean 't'`).
    bool_cast: bool,
    /// A function call, a subquery, EXISTS.
    call: bool,
    subquery: bool,
    exists: bool,
}

impl Term {
    const EMPTY: Term = Term {
        tokens: 0,
        boolean: false,
        column: false,
        server: false,
        literals: 0,
        string_first: false,
        number_first: false,
        after_or: false,
        plain: true,
        cmp: false,
        bool_cast: false,
        call: false,
        subquery: false,
        exists: false,
    };

    fn add(&mut self, other: &Term) {
        self.column |= other.column;
        self.server |= other.server;
        self.literals = self.literals.saturating_add(other.literals);
        self.plain &= other.plain;
        self.bool_cast |= other.bool_cast;
        self.call |= other.call;
        self.subquery |= other.subquery;
        self.exists |= other.exists;
    }
}

/// One open parenthesis (level 0 is the statement itself).
#[derive(Clone, Copy, Debug)]
struct Level {
    term: Term,
    /// Everything this level held so far, over all its terms.
    acc: Term,
    ctx: Ctx,
    /// The next term begins where a condition begins.
    next_boolean: bool,
    /// ... right after an OR-like connective.
    next_or: bool,
    /// Opened right after a function name, CAST, EXISTS or ANY.
    func: bool,
    exists: bool,
    /// Holds a SELECT: a subquery, and whether it reads a catalogue or an application table.
    select: bool,
    catalog: bool,
    table: bool,
    /// Inside `x BETWEEN a AND b` before its AND.
    between: bool,
    /// This level is a CASE ... END rather than parentheses.
    case: Case,
}

/// What a CASE level is; the token after CASE decides.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Case {
    No,
    Opened,
    /// `CASE WHEN cond`: its WHENs begin conditions.
    Searched,
    /// `CASE x WHEN v`: its WHENs begin values.
    Simple,
}

impl Level {
    const EMPTY: Level = Level {
        term: Term::EMPTY,
        acc: Term::EMPTY,
        ctx: Ctx::Pred,
        next_boolean: false,
        next_or: false,
        func: false,
        exists: false,
        select: false,
        catalog: false,
        table: false,
        between: false,
        case: Case::No,
    };
}

/// A word whose role the next token decides (`version` is a column, `version(` a function).
#[derive(Clone, Copy, Debug)]
struct Pending {
    kw: Kw,
    /// Right after `::` or AS: a type or an alias.
    type_pos: bool,
    /// Right after FROM / JOIN (or a catalogue qualifier there): a table.
    from_pos: bool,
    catalog: bool,
}

/// Facts about the current token the scanner knows and the token does not carry.
#[derive(Clone, Copy, Default)]
pub(super) struct Extra {
    /// The word is a system catalogue name (or `pg_*`).
    pub catalog: bool,
    /// The literal is NULL.
    pub null: bool,
    /// The operator is a `.`.
    pub dot: bool,
    /// The word follows `@@` (a MySQL system variable).
    pub sysvar: bool,
    /// A token that is neither data nor an operator: `[`, `]`, `@@`.
    pub neutral: bool,
    /// A `*`.
    pub star: bool,
    /// The word is `dual`: in FROM position, no table at all.
    pub dual: bool,
}

pub(super) struct Terms {
    /// MySQL: a number alone after OR is a condition (`|| 1`), not a type error.
    mysql: bool,
    levels: [Level; LEVELS],
    depth: usize,
    /// Parentheses opened beyond the deepest tracked level.
    overflow: usize,
    pending: Option<Pending>,
    prev: Tok,
    /// The previous word was a catalogue name followed by `.`, in FROM position or not.
    qualified: Option<bool>,
    from_pos: bool,
    /// The word before this token was called: `name(`.
    called: Option<Kw>,
    /// The previous token was a `.`.
    prev_dot: bool,
}

impl Terms {
    pub(super) fn new(mysql: bool) -> Terms {
        Terms {
            mysql,
            levels: [Level::EMPTY; LEVELS],
            depth: 0,
            overflow: 0,
            pending: None,
            prev: Tok::Semi,
            qualified: None,
            from_pos: false,
            called: None,
            prev_dot: false,
        }
    }

    fn level(&mut self) -> &mut Level {
        &mut self.levels[self.depth]
    }

    /// Counts `tok` as part of the current term, starting the term if needed.
    fn touch(&mut self, plain: bool) -> &mut Term {
        let l = &mut self.levels[self.depth];
        if l.term.tokens == 0 {
            l.term.boolean = l.next_boolean;
            l.term.after_or = l.next_or;
        }
        l.term.tokens = l.term.tokens.saturating_add(1);
        l.term.plain &= plain;
        &mut l.term
    }

    /// Ends the current term: judges it, folds it into its level.
    fn end_term(&mut self, next_boolean: bool, sig: &mut Signals) {
        let l = &mut self.levels[self.depth];
        judge(&l.term, l.ctx, self.mysql, sig);
        let t = l.term;
        l.acc.add(&t);
        l.acc.tokens = l.acc.tokens.saturating_add(t.tokens);
        l.term = Term::EMPTY;
        l.next_boolean = next_boolean;
        l.next_or = false;
    }

    /// The role of the previous word, now that `next` follows it.
    fn resolve(&mut self, p: Pending, next: Tok) {
        let t = &mut self.levels[self.depth].term;
        if next == Tok::LParen {
            match p.kw {
                Kw::ServerText | Kw::ServerWord | Kw::ServerFn => t.server = true,
                Kw::Exists => t.exists = true,
                _ => {}
            }
            t.call = true;
            t.plain = false;
            self.called = Some(p.kw);
            return;
        }
        if p.type_pos {
            if p.kw == Kw::BoolType {
                t.bool_cast = true;
            }
            return;
        }
        if let Tok::Lit(Lit::Str) = next
            && matches!(p.kw, Kw::Other | Kw::BoolType | Kw::NumType | Kw::Noise)
        {
            // A typed literal: `boolean 't'`, `date '2024-01-01'`.
            if p.kw == Kw::BoolType {
                t.bool_cast = true;
            }
            return;
        }
        if p.catalog {
            // A catalogue qualifier (`pg_catalog.`) or a catalogue read.
            t.server = true;
            if p.from_pos {
                self.levels[self.depth].catalog = true;
            }
            return;
        }
        match p.kw {
            Kw::ServerWord => t.server = true,
            Kw::Other
            | Kw::ServerText
            | Kw::ServerFn
            | Kw::TextAgg
            | Kw::CharCode
            | Kw::Concat
            | Kw::Chr
            | Kw::Rand
            | Kw::Series
            | Kw::Delay
            | Kw::Error
            | Kw::File
            | Kw::Remote
            // `date`, `time`, `first`...: keywords that are often column names too.
            | Kw::Noise => {
                t.column = true;
                if p.from_pos {
                    self.levels[self.depth].table = true;
                }
            }
            _ => {}
        }
    }

    /// Opens a level: parentheses, or a CASE.
    fn open(&mut self, func: bool, exists: bool, case: Case) {
        let parent = &self.levels[self.depth];
        let starting = parent.term.tokens == 0;
        let ctx = parent.ctx;
        // Plainness is decided when the level closes, by what it held.
        let t = self.touch(true);
        t.plain &= case == Case::No;
        let boolean = t.boolean;
        if self.depth + 1 >= LEVELS {
            self.overflow = 1;
            // Too deep to follow: the enclosing term cannot be judged.
            self.levels[self.depth].term.column = true;
            return;
        }
        self.depth += 1;
        self.levels[self.depth] = Level {
            ctx,
            next_boolean: starting && boolean && !func && case == Case::No,
            func: func || case != Case::No,
            exists,
            case,
            ..Level::EMPTY
        };
    }

    /// Closes the innermost level and folds what it held into the enclosing term.
    fn close(&mut self, sig: &mut Signals) {
        if self.depth == 0 {
            return;
        }
        self.end_term(false, sig);
        let g = self.levels[self.depth];
        self.depth -= 1;
        let cols = if g.select {
            g.table || (g.acc.column && !g.catalog)
        } else {
            g.acc.column
        };
        let t = &mut self.levels[self.depth].term;
        t.column |= cols;
        t.server |= g.acc.server || g.catalog;
        t.literals = t.literals.saturating_add(g.acc.literals);
        t.bool_cast |= g.acc.bool_cast;
        t.exists |= g.exists || g.acc.exists;
        t.subquery |= g.select || g.acc.subquery;
        t.call |= g.func || g.acc.call;
        // A bare parenthesised expression is as plain as what it holds.
        t.plain &= !(g.func || g.select) && g.acc.plain;
    }

    /// Feeds one significant token.
    pub(super) fn token(&mut self, tok: Tok, x: Extra, sig: &mut Signals) {
        if let Some(p) = self.pending.take() {
            self.resolve(p, tok);
        }
        let called = self.called.take();
        let prev_dot = std::mem::take(&mut self.prev_dot);
        let prev = self.prev;
        self.prev = tok;
        let type_pos = matches!(prev, Tok::DoubleColon | Tok::Word(Kw::As));
        let from_pos = std::mem::take(&mut self.from_pos);
        let qualified = self.qualified.take();

        if self.overflow > 0 {
            match tok {
                Tok::LParen => self.overflow += 1,
                Tok::RParen => self.overflow -= 1,
                Tok::Semi => {
                    self.overflow = 0;
                    self.reset();
                }
                _ => {}
            }
            return;
        }

        // The token after CASE says which kind it is.
        {
            let l = self.level();
            if l.case == Case::Opened {
                l.case = if tok == Tok::Word(Kw::When) {
                    Case::Searched
                } else {
                    Case::Simple
                };
            }
        }

        match tok {
            Tok::Lit(lit) => {
                let t = self.touch(true);
                if prev_dot {
                    // MySQL's `"table"."column"` (ANSI_QUOTES): a name, not a string.
                    t.column = true;
                }
                if t.tokens == 1 && lit == Lit::Str && !x.null {
                    t.string_first = true;
                }
                if t.tokens == 1 && matches!(lit, Lit::Num { .. }) {
                    t.number_first = true;
                }
                t.literals = t.literals.saturating_add(1);
            }
            Tok::Cmp(c) => {
                if c == super::Cmp::Between {
                    self.level().between = true;
                }
                self.touch(true).cmp = true;
            }
            Tok::Arith | Tok::Concat => {
                let plain = tok == Tok::Arith && !x.dot;
                let t = self.touch(plain);
                // `"table".` in MySQL, `count(*)`: rows, not constants.
                if (x.dot && matches!(prev, Tok::Lit(_))) || (x.star && prev == Tok::LParen) {
                    t.column = true;
                }
                self.prev_dot = x.dot;
                if x.dot
                    && let Some(p) = qualified
                {
                    // `pg_catalog.` keeps its FROM position for the name after it.
                    self.qualified = Some(p);
                }
            }
            Tok::DoubleColon => {
                self.touch(false);
            }
            Tok::Tilde => {
                let t = self.touch(false);
                // After an operand `~` is a regular-expression match, otherwise a bit NOT.
                if matches!(prev, Tok::Lit(_) | Tok::RParen | Tok::Word(_)) {
                    t.cmp = true;
                }
            }
            Tok::Other => {
                let t = self.touch(false);
                if !x.neutral {
                    // `?`, `@`: a placeholder or an operator not understood.
                    t.column = true;
                }
            }
            Tok::LParen => {
                let exists = called == Some(Kw::Exists);
                self.open(called.is_some(), exists, Case::No);
            }
            Tok::RParen => {
                // A CASE left open inside the parentheses ends with them.
                while self.depth > 0 && self.levels[self.depth].case != Case::No {
                    self.close(sig);
                }
                self.close(sig);
            }
            Tok::Comma => self.end_term(false, sig),
            Tok::Semi => {
                while self.depth > 0 {
                    self.close(sig);
                }
                self.end_term(false, sig);
                self.reset();
            }
            Tok::Word(kw) => self.word(kw, x, prev, type_pos, from_pos, qualified, sig),
        }
    }

    fn reset(&mut self) {
        self.levels[0] = Level::EMPTY;
        self.depth = 0;
    }

    #[allow(clippy::too_many_arguments)]
    fn word(
        &mut self,
        kw: Kw,
        x: Extra,
        prev: Tok,
        type_pos: bool,
        from_pos: bool,
        qualified: Option<bool>,
        sig: &mut Signals,
    ) {
        match kw {
            Kw::And if self.level().between => {
                self.level().between = false;
                self.touch(true);
            }
            Kw::And | Kw::Or | Kw::Where | Kw::On | Kw::Having => {
                self.end_term(true, sig);
                self.level().next_or = kw == Kw::Or;
                if matches!(kw, Kw::Where | Kw::On | Kw::Having) {
                    self.level().ctx = Ctx::Pred;
                }
            }
            Kw::Not => {
                // At the start of a term NOT opens the condition that follows.
                if self.level().term.tokens > 0 {
                    self.touch(true);
                }
            }
            Kw::When => {
                let boolean = self.level().case == Case::Searched;
                self.end_term(boolean, sig);
            }
            Kw::Then | Kw::Else => self.end_term(false, sig),
            Kw::End => {
                if self.level().case != Case::No {
                    self.close(sig);
                } else {
                    self.touch(false);
                }
            }
            Kw::Case => self.open(false, false, Case::Opened),
            Kw::Select => {
                self.end_term(false, sig);
                let sub = self.depth > 0;
                let l = self.level();
                l.ctx = Ctx::Projection;
                l.select |= sub;
            }
            Kw::From if prev != Tok::Word(Kw::Distinct) => {
                self.end_term(false, sig);
                self.level().ctx = Ctx::From;
                self.from_pos = true;
            }
            Kw::Join => {
                self.end_term(false, sig);
                self.level().ctx = Ctx::From;
                self.from_pos = true;
            }
            Kw::Group
            | Kw::Order
            | Kw::EndList
            | Kw::Union
            | Kw::Into
            | Kw::Values
            | Kw::Set
            | Kw::EndClause => {
                self.end_term(false, sig);
                self.level().ctx = Ctx::Pred;
            }
            Kw::Is | Kw::In | Kw::Similar | Kw::AnyAll => {
                self.touch(false).cmp = true;
            }
            _ => {
                let t = self.touch(false);
                if x.sysvar {
                    t.server = true;
                    return;
                }
                if x.dual && from_pos {
                    // `FROM DUAL` reads no rows: `(SELECT 1 FROM DUAL WHERE 1=1)` is constant.
                    return;
                }
                self.pending = Some(Pending {
                    kw,
                    type_pos,
                    from_pos: from_pos || qualified == Some(true),
                    catalog: x.catalog || qualified.is_some(),
                });
                if x.catalog {
                    // Kept by a `.` right after: `pg_catalog.pg_user`.
                    self.qualified = Some(from_pos);
                }
            }
        }
    }

    /// End of text.
    pub(super) fn finish(&mut self, sig: &mut Signals) {
        if let Some(p) = self.pending.take() {
            self.resolve(p, Tok::Semi);
        }
        if self.overflow == 0 {
            while self.depth > 0 {
                self.close(sig);
            }
            self.end_term(false, sig);
        }
    }
}

/// Judges one finished term.
fn judge(t: &Term, ctx: Ctx, mysql: bool, sig: &mut Signals) {
    if t.tokens == 0 || t.column || ctx != Ctx::Pred || !(t.boolean || t.cmp) {
        return;
    }
    if t.server {
        sig.server_probe = true;
        return;
    }
    if t.plain {
        // `LIT op LIT` is the older check's; a lone string as a condition (`OR 't'`) is not.
        if t.boolean && t.tokens == 1 && t.string_first {
            sig.constant_predicate = true;
        }
        // MySQL's `OR 1`, `|| TRUE`, `XOR 0`: a number as a condition, OR-ed in.
        if mysql && t.boolean && t.tokens == 1 && t.number_first && t.after_or {
            sig.constant_predicate = true;
        }
        return;
    }
    if t.literals == 0 && !t.subquery && !t.exists {
        return;
    }
    // A call over one constant (`pg_try_advisory_xact_lock(42)`) is an action, not a test.
    if t.call && !t.cmp && !t.bool_cast && !t.exists && !t.subquery && t.literals < 2 {
        return;
    }
    sig.constant_predicate = true;
}
