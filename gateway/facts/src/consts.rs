//! Constant comparisons (`1=1`, `'a'='a'`, `5 BETWEEN 1 AND 9`, a bare `OR 1`): detection,
//! evaluation when both sides are plain literals, and where they sit in their AND / OR chain.

use std::cmp::Ordering;

use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value};

use crate::{Clause, Connective, ConstantComparison};

/// Expressions nested deeper than this are treated as non-constant (and column-referencing).
const MAX_DEPTH: u32 = 64;

/// The AND / OR chain an expression sits in.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub connective: Connective,
    pub position: u32,
    pub length: u32,
    /// Some term of the whole predicate references a column.
    pub beside_column: bool,
    /// Under an odd number of NOTs.
    pub negated: bool,
    /// The expression is itself a term of the chain (not buried in a function argument).
    pub term: bool,
}

impl Chain {
    /// No enclosing predicate: a chain found in a projection, say.
    pub(crate) fn outside(beside_column: bool) -> Chain {
        Chain {
            connective: Connective::None,
            position: 0,
            length: 1,
            beside_column,
            negated: false,
            term: false,
        }
    }
}

/// The terms of a chain of `op`, in order, without recursion.
pub(crate) fn flatten<'a>(e: &'a Expr, op: &BinaryOperator) -> Vec<&'a Expr> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    while let Some(x) = stack.pop() {
        match x {
            Expr::BinaryOp { left, op: o, right } if o == op => {
                stack.push(right);
                stack.push(left);
            }
            _ => out.push(x),
        }
    }
    out
}

/// True when `e` references a column outside any subquery. Too deep counts as true.
pub(crate) fn references_column(e: &Expr, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return true;
    }
    let r = |x: &Expr| references_column(x, depth + 1);
    match e {
        Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::CompoundFieldAccess { .. } => {
            true
        }
        Expr::Value(_) | Expr::TypedString(_) => false,
        Expr::BinaryOp { left, op, right } => {
            if matches!(op, BinaryOperator::And | BinaryOperator::Or) {
                flatten(e, op).into_iter().any(r)
            } else {
                r(left) || r(right)
            }
        }
        Expr::IsDistinctFrom(a, b)
        | Expr::IsNotDistinctFrom(a, b)
        | Expr::AnyOp {
            left: a, right: b, ..
        }
        | Expr::AllOp {
            left: a, right: b, ..
        }
        | Expr::Like {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::ILike {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::SimilarTo {
            expr: a,
            pattern: b,
            ..
        }
        | Expr::RLike {
            expr: a,
            pattern: b,
            ..
        } => r(a) || r(b),
        Expr::UnaryOp { expr, .. }
        | Expr::Nested(expr)
        | Expr::IsNull(expr)
        | Expr::IsNotNull(expr)
        | Expr::IsTrue(expr)
        | Expr::IsNotTrue(expr)
        | Expr::IsFalse(expr)
        | Expr::IsNotFalse(expr)
        | Expr::IsUnknown(expr)
        | Expr::IsNotUnknown(expr)
        | Expr::Cast { expr, .. }
        | Expr::Collate { expr, .. } => r(expr),
        Expr::InSubquery { expr, .. } => r(expr),
        Expr::Between {
            expr, low, high, ..
        } => r(expr) || r(low) || r(high),
        Expr::InList { expr, list, .. } => r(expr) || list.iter().any(r),
        Expr::Tuple(items) => items.iter().any(r),
        Expr::Subquery(_) | Expr::Exists { .. } => false,
        Expr::Function(f) => args(f).any(r),
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_some_and(r)
                || conditions.iter().any(|c| r(&c.condition) || r(&c.result))
                || else_result.as_deref().is_some_and(r)
        }
        _ => true,
    }
}

fn args(f: &sqlparser::ast::Function) -> impl Iterator<Item = &Expr> {
    let list = match &f.args {
        sqlparser::ast::FunctionArguments::List(l) => l.args.as_slice(),
        _ => &[],
    };
    list.iter().filter_map(|a| match a {
        sqlparser::ast::FunctionArg::Named { arg, .. }
        | sqlparser::ast::FunctionArg::ExprNamed { arg, .. }
        | sqlparser::ast::FunctionArg::Unnamed(arg) => match arg {
            sqlparser::ast::FunctionArgExpr::Expr(e) => Some(e),
            _ => None,
        },
    })
}

/// True when `e` holds no column reference, placeholder or subquery (and nothing this module
/// does not understand).
fn is_constant(e: &Expr, depth: u32) -> bool {
    if depth > MAX_DEPTH {
        return false;
    }
    let c = |x: &Expr| is_constant(x, depth + 1);
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Placeholder(_)),
        Expr::TypedString(_) | Expr::Interval(_) => true,
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } | Expr::Cast { expr: x, .. } => c(x),
        Expr::Collate { expr, .. } => c(expr),
        Expr::BinaryOp { left, right, .. } => c(left) && c(right),
        Expr::Tuple(items) => items.iter().all(c),
        Expr::Function(f) => {
            matches!(
                f.args,
                sqlparser::ast::FunctionArguments::None
                    | sqlparser::ast::FunctionArguments::List(_)
            ) && f.over.is_none()
                && match &f.args {
                    sqlparser::ast::FunctionArguments::List(l) => l.args.iter().all(|a| {
                        matches!(
                            a,
                            sqlparser::ast::FunctionArg::Unnamed(
                                sqlparser::ast::FunctionArgExpr::Expr(x)
                            ) if c(x)
                        )
                    }),
                    _ => true,
                }
        }
        Expr::Case {
            operand,
            conditions,
            else_result,
            ..
        } => {
            operand.as_deref().is_none_or(c)
                && conditions.iter().all(|w| c(&w.condition) && c(&w.result))
                && else_result.as_deref().is_none_or(c)
        }
        _ => false,
    }
}

/// A plain literal value.
#[derive(Debug, Clone, PartialEq)]
enum Lit<'a> {
    Num(f64),
    Str(&'a str),
    Bool(bool),
    Null,
}

fn num(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn lit(e: &Expr, depth: u32) -> Option<Lit<'_>> {
    if depth > 16 {
        return None;
    }
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => num(n).map(Lit::Num),
            Value::SingleQuotedString(s)
            | Value::DoubleQuotedString(s)
            | Value::EscapedStringLiteral(s)
            | Value::NationalStringLiteral(s) => Some(Lit::Str(s)),
            Value::Boolean(b) => Some(Lit::Bool(*b)),
            Value::Null => Some(Lit::Null),
            _ => None,
        },
        Expr::Nested(x) => lit(x, depth + 1),
        Expr::UnaryOp { op, expr } => match (op, lit(expr, depth + 1)?) {
            (UnaryOperator::Minus, Lit::Num(n)) => Some(Lit::Num(-n)),
            (UnaryOperator::Plus, Lit::Num(n)) => Some(Lit::Num(n)),
            (UnaryOperator::Not, Lit::Bool(b)) => Some(Lit::Bool(!b)),
            _ => None,
        },
        Expr::BinaryOp { left, op, right } => {
            let (Lit::Num(a), Lit::Num(b)) = (lit(left, depth + 1)?, lit(right, depth + 1)?) else {
                return None;
            };
            let n = match op {
                BinaryOperator::Plus => a + b,
                BinaryOperator::Minus => a - b,
                BinaryOperator::Multiply => a * b,
                BinaryOperator::Divide if b != 0.0 => a / b,
                BinaryOperator::Modulo if b != 0.0 => a % b,
                _ => return None,
            };
            n.is_finite().then_some(Lit::Num(n))
        }
        _ => None,
    }
}

fn order(a: &Lit<'_>, b: &Lit<'_>) -> Option<Ordering> {
    match (a, b) {
        (Lit::Num(x), Lit::Num(y)) => x.partial_cmp(y),
        (Lit::Str(x), Lit::Str(y)) => Some(x.cmp(y)),
        (Lit::Bool(x), Lit::Bool(y)) => Some(x.cmp(y)),
        (Lit::Bool(x), Lit::Num(y)) => f64::from(u8::from(*x)).partial_cmp(y),
        (Lit::Num(x), Lit::Bool(y)) => x.partial_cmp(&f64::from(u8::from(*y))),
        _ => None,
    }
}

/// `a op b` for literals; a comparison with NULL never holds.
fn compare(op: &BinaryOperator, a: &Lit<'_>, b: &Lit<'_>) -> Option<bool> {
    if *op == BinaryOperator::Spaceship {
        return match (a, b) {
            (Lit::Null, Lit::Null) => Some(true),
            (Lit::Null, _) | (_, Lit::Null) => Some(false),
            _ => order(a, b).map(|o| o == Ordering::Equal),
        };
    }
    if matches!(a, Lit::Null) || matches!(b, Lit::Null) {
        return Some(false);
    }
    let o = order(a, b)?;
    Some(match op {
        BinaryOperator::Eq => o == Ordering::Equal,
        BinaryOperator::NotEq => o != Ordering::Equal,
        BinaryOperator::Lt => o == Ordering::Less,
        BinaryOperator::LtEq => o != Ordering::Greater,
        BinaryOperator::Gt => o == Ordering::Greater,
        BinaryOperator::GtEq => o != Ordering::Less,
        _ => return None,
    })
}

/// SQL `LIKE` with `%` and `_`; `None` when the pattern uses an escape character.
fn like(text: &str, pattern: &str, case_insensitive: bool) -> Option<bool> {
    if pattern.contains('\\') || text.len() > 4096 || pattern.len() > 4096 {
        return None;
    }
    let fold = |s: &str| -> Vec<char> {
        if case_insensitive {
            s.to_lowercase().chars().collect()
        } else {
            s.chars().collect()
        }
    };
    let (t, p) = (fold(text), fold(pattern));
    // Greedy wildcard matching with backtracking to the last `%`.
    let (mut ti, mut pi) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '_' || p[pi] == t[ti]) {
            ti += 1;
            pi += 1;
        } else if pi < p.len() && p[pi] == '%' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return Some(false);
        }
    }
    while pi < p.len() && p[pi] == '%' {
        pi += 1;
    }
    Some(pi == p.len())
}

fn truthy(l: &Lit<'_>) -> Option<bool> {
    match l {
        Lit::Num(n) => Some(*n != 0.0),
        Lit::Bool(b) => Some(*b),
        Lit::Null => Some(false),
        Lit::Str(_) => None,
    }
}

fn op_name(op: &BinaryOperator) -> Option<&'static str> {
    Some(match op {
        BinaryOperator::Eq => "=",
        BinaryOperator::NotEq => "<>",
        BinaryOperator::Lt => "<",
        BinaryOperator::LtEq => "<=",
        BinaryOperator::Gt => ">",
        BinaryOperator::GtEq => ">=",
        BinaryOperator::Spaceship => "<=>",
        _ => return None,
    })
}

/// The constant comparison `e` is, if it is one. `chain` is where it sits.
pub(crate) fn constant(
    e: &Expr,
    chain: Option<Chain>,
    clause: Clause,
) -> Option<ConstantComparison> {
    let c = |x: &Expr| is_constant(x, 0);
    fn l(x: &Expr) -> Option<Lit<'_>> {
        lit(x, 0)
    }
    let (op, value): (&str, Option<bool>) = match e {
        Expr::BinaryOp { left, op, right } => {
            let name = op_name(op)?;
            if !(c(left) && c(right)) {
                return None;
            }
            let v = match (l(left), l(right)) {
                (Some(a), Some(b)) => compare(op, &a, &b),
                _ => None,
            };
            (name, v)
        }
        Expr::Between {
            expr,
            negated,
            low,
            high,
        } => {
            if !(c(expr) && c(low) && c(high)) {
                return None;
            }
            let v = match (l(expr), l(low), l(high)) {
                (Some(x), Some(lo), Some(hi)) => {
                    match (
                        compare(&BinaryOperator::GtEq, &x, &lo),
                        compare(&BinaryOperator::LtEq, &x, &hi),
                    ) {
                        (Some(a), Some(b)) => Some((a && b) != *negated),
                        _ => None,
                    }
                }
                _ => None,
            };
            ("BETWEEN", v)
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            if !(c(expr) && list.iter().all(c)) {
                return None;
            }
            let x = l(expr);
            let mut v = Some(false);
            for item in list {
                match (&x, l(item)) {
                    (Some(a), Some(b)) => match compare(&BinaryOperator::Eq, a, &b) {
                        Some(true) => {
                            v = Some(true);
                            break;
                        }
                        Some(false) => {}
                        None => v = None,
                    },
                    _ => v = None,
                }
            }
            ("IN", v.map(|b| b != *negated))
        }
        Expr::Like {
            negated,
            expr,
            pattern,
            any: false,
            ..
        }
        | Expr::ILike {
            negated,
            expr,
            pattern,
            any: false,
            ..
        } => {
            if !(c(expr) && c(pattern)) {
                return None;
            }
            let ci = matches!(e, Expr::ILike { .. });
            let v = match (l(expr), l(pattern)) {
                (Some(Lit::Str(t)), Some(Lit::Str(p))) => like(t, p, ci).map(|b| b != *negated),
                (Some(Lit::Null), _) | (_, Some(Lit::Null)) => Some(false),
                _ => None,
            };
            (if ci { "ILIKE" } else { "LIKE" }, v)
        }
        Expr::IsNull(x) | Expr::IsNotNull(x) => {
            if !c(x) {
                return None;
            }
            let is_null = l(x).map(|v| v == Lit::Null);
            let v = if matches!(e, Expr::IsNull(_)) {
                is_null
            } else {
                is_null.map(|b| !b)
            };
            ("IS", v)
        }
        Expr::IsTrue(x) | Expr::IsNotTrue(x) | Expr::IsFalse(x) | Expr::IsNotFalse(x) => {
            if !c(x) {
                return None;
            }
            let t = l(x).and_then(|v| truthy(&v));
            let v = match e {
                Expr::IsTrue(_) => t,
                Expr::IsNotTrue(_) => t.map(|b| !b),
                Expr::IsFalse(_) => t.map(|b| !b),
                _ => t,
            };
            ("IS", v)
        }
        Expr::IsDistinctFrom(a, b) | Expr::IsNotDistinctFrom(a, b) => {
            if !(c(a) && c(b)) {
                return None;
            }
            let same = match (l(a), l(b)) {
                (Some(x), Some(y)) => compare(&BinaryOperator::Spaceship, &x, &y),
                _ => None,
            };
            let v = if matches!(e, Expr::IsDistinctFrom(..)) {
                same.map(|s| !s)
            } else {
                same
            };
            ("IS", v)
        }
        // A bare literal standing as a whole predicate term: `WHERE 1`, `OR true`.
        Expr::Value(_) | Expr::UnaryOp { .. } if chain.is_some_and(|ch| ch.term) => {
            let v = l(e)?;
            ("TRUTH", truthy(&v))
        }
        _ => return None,
    };
    let ch = chain.unwrap_or_else(|| Chain::outside(false));
    Some(ConstantComparison {
        op: op.to_string(),
        value: value.map(|v| v != ch.negated),
        connective: ch.connective,
        position: ch.position,
        chain_length: ch.length,
        clause,
        beside_column_predicate: ch.beside_column,
    })
}
