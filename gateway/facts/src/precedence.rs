//! MySQL operator precedence the parser gets wrong. sqlparser's MySQL dialect parses the right
//! operand of `DIV` as a whole expression, and gives `->` / `->>` the lowest precedence, so
//! `stock DIV 10 = 3 AND a = 1` comes out as `stock DIV ((10 = 3) AND a = 1)` and
//! `doc->'$.n' > 100` as `doc -> ('$.n' > 100)`: a constant comparison that is not in the SQL,
//! and an AND chain hidden under an arithmetic operator. This pass rotates such trees back into
//! MySQL's reading (`DIV` binds like `*`, the JSON arrows tighter than any binary operator).

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr, Statement, Value, visit_expressions_mut};
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// Deepest rotation followed; deeper trees are left as parsed.
const MAX_ROTATIONS: u32 = 64;

fn tight(op: &BinaryOperator) -> bool {
    matches!(
        op,
        BinaryOperator::MyIntegerDivide | BinaryOperator::Arrow | BinaryOperator::LongArrow
    )
}

/// Whether `inner`, found directly right of `outer`, really binds looser than (or as loose
/// as, left-associative) `outer`.
fn looser(outer: &BinaryOperator, inner: &BinaryOperator) -> bool {
    match outer {
        BinaryOperator::MyIntegerDivide => !matches!(
            inner,
            BinaryOperator::BitwiseXor | BinaryOperator::Arrow | BinaryOperator::LongArrow
        ),
        _ => !matches!(inner, BinaryOperator::Arrow | BinaryOperator::LongArrow),
    }
}

/// Whether the tokens hold an operator this pass corrects.
pub(crate) fn needed(tokens: &[TokenWithSpan]) -> bool {
    tokens.iter().any(|t| match &t.token {
        Token::Arrow | Token::LongArrow => true,
        Token::Word(w) => w.value.eq_ignore_ascii_case("div"),
        _ => false,
    })
}

/// Rebuilds `left op right` with `op` binding as tightly as MySQL binds it.
fn rotate(left: Expr, op: BinaryOperator, mut right: Expr, depth: u32) -> Expr {
    let hole = || Expr::Value(Value::Null.into());
    if depth < MAX_ROTATIONS {
        match &mut right {
            Expr::BinaryOp {
                left: inner, op: o, ..
            } if looser(&op, o) => {
                let l = std::mem::replace(&mut **inner, hole());
                **inner = rotate(left, op, l, depth + 1);
                return right;
            }
            Expr::IsNull(inner)
            | Expr::IsNotNull(inner)
            | Expr::IsTrue(inner)
            | Expr::IsNotTrue(inner)
            | Expr::IsFalse(inner)
            | Expr::IsNotFalse(inner)
            | Expr::Like { expr: inner, .. }
            | Expr::ILike { expr: inner, .. }
            | Expr::RLike { expr: inner, .. }
            | Expr::Between { expr: inner, .. }
            | Expr::InList { expr: inner, .. }
            | Expr::InSubquery { expr: inner, .. } => {
                let l = std::mem::replace(&mut **inner, hole());
                **inner = rotate(left, op, l, depth + 1);
                return right;
            }
            _ => {}
        }
    }
    Expr::BinaryOp {
        left: Box::new(left),
        op,
        right: Box::new(right),
    }
}

/// Corrects every `DIV`, `->` and `->>` in `statements` (children first, so each right operand
/// is already in MySQL's shape when its parent is rotated).
pub(crate) fn rebalance(statements: &mut Vec<Statement>) {
    let _ = visit_expressions_mut(statements, |e| {
        if let Expr::BinaryOp { op, .. } = e
            && tight(op)
        {
            let Expr::BinaryOp { left, op, right } =
                std::mem::replace(e, Expr::Value(Value::Null.into()))
            else {
                unreachable!()
            };
            *e = rotate(*left, op, *right, 0);
        }
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use crate::{Dialect, extract};

    #[test]
    fn div_and_json_arrows_bind_tightly() {
        for sql in [
            "SELECT * FROM items WHERE stock DIV 10 = 3",
            "SELECT * FROM items WHERE stock DIV 10 = 3 AND a = 1",
            "SELECT * FROM items WHERE stock DIV 10 + 1 = 3 OR b IS NULL",
            "SELECT id FROM events WHERE payload->'$.amount' > 100",
            "SELECT id FROM events WHERE payload->>'$.kind' = 'a' AND payload->'$.n' IS NOT NULL",
            "SELECT id FROM events WHERE payload->>'$.kind' LIKE 'a%'",
        ] {
            let f = extract(sql, Dialect::Mysql);
            assert!(f.parsed, "{sql}");
            assert!(f.constant_comparisons.is_empty(), "{sql}: {f:?}");
        }
        // Real constant comparisons stay.
        let f = extract(
            "SELECT * FROM items WHERE id = 1 OR 4 DIV 2 = 2",
            Dialect::Mysql,
        );
        assert_eq!(f.constant_comparisons.len(), 1, "{f:?}");
    }
}
