//! The AST walk: tables with access modes, functions with clauses, set operations and constant
//! comparisons. Depth-bounded; constructs without a dedicated arm go through sqlparser's
//! generic visitor, which still finds their tables and function calls.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FromTable, Function, FunctionArg, FunctionArgExpr, FunctionArguments,
    GroupByExpr, JoinConstraint, JoinOperator, LimitClause, MergeAction, ObjectName,
    ObjectNamePart, ObjectType, OrderByKind, Query, Select, SelectItem, SetExpr, Statement,
    TableFactor, TableObject, TableWithJoins, UnaryOperator, Value, Visit, Visitor,
};

use crate::consts::{self, Chain};
use crate::{
    AccessMode, Clause, Connective, ConstantComparison, FunctionCall, MAX_LIST, StatementKind,
    TableAccess,
};

/// How deep the walk descends before giving up on the statement.
pub(crate) const MAX_DEPTH: u32 = 96;

/// Functions that read or write server-side files.
const FILE_FUNCTIONS: &[&str] = &[
    "load_file",
    "pg_read_file",
    "pg_read_binary_file",
    "pg_ls_dir",
    "pg_stat_file",
    "pg_file_write",
    "lo_import",
    "lo_export",
    "readfile",
    "writefile",
    "load_extension",
];

#[derive(Clone, Copy)]
pub(crate) struct Ctx {
    pub clause: Clause,
    pub nested: bool,
    pub access: AccessMode,
    pub depth: u32,
}

impl Ctx {
    fn root() -> Self {
        Ctx {
            clause: Clause::Other,
            nested: false,
            access: AccessMode::Read,
            depth: 0,
        }
    }
    fn clause(self, clause: Clause) -> Self {
        Ctx { clause, ..self }
    }
    fn access(self, access: AccessMode) -> Self {
        Ctx { access, ..self }
    }
    fn nested(self) -> Self {
        Ctx {
            nested: true,
            ..self
        }
    }
}

/// Facts collected by the walk.
#[derive(Default)]
pub(crate) struct Walker {
    pub tables: Vec<TableAccess>,
    pub functions: Vec<FunctionCall>,
    pub consts: Vec<ConstantComparison>,
    pub union_count: u32,
    pub union_literal_branch: bool,
    pub file_access: bool,
    pub locking_read: bool,
    /// The statement nests deeper than [`MAX_DEPTH`]; the facts are incomplete.
    pub too_deep: bool,
    /// CTE names in scope (lowercased unless quoted).
    ctes: Vec<String>,
}

fn ident_name(id: &sqlparser::ast::Ident) -> String {
    if id.quote_style.is_some() {
        id.value.clone()
    } else {
        id.value.to_lowercase()
    }
}

fn is_data_literal(e: &Expr) -> bool {
    match e {
        Expr::Value(v) => !matches!(v.value, Value::Placeholder(_)),
        Expr::Nested(x) | Expr::UnaryOp { expr: x, .. } => is_data_literal(x),
        Expr::Cast { expr, .. } => is_data_literal(expr),
        Expr::TypedString(_) => true,
        _ => false,
    }
}

/// A branch that selects only literals: `SELECT NULL,NULL,NULL`, `SELECT 1,2,3`.
fn literal_branch(s: &SetExpr) -> bool {
    match s {
        SetExpr::Select(sel) => {
            !sel.projection.is_empty()
                && sel.projection.iter().all(|p| match p {
                    SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                        is_data_literal(e)
                    }
                    _ => false,
                })
        }
        SetExpr::Values(v) => v.rows.iter().all(|r| r.iter().all(is_data_literal)),
        SetExpr::Query(q) => literal_branch(&q.body),
        _ => false,
    }
}

impl Walker {
    fn enter(&mut self, ctx: Ctx) -> Option<Ctx> {
        if ctx.depth >= MAX_DEPTH {
            self.too_deep = true;
            return None;
        }
        Some(Ctx {
            depth: ctx.depth + 1,
            ..ctx
        })
    }

    pub(crate) fn relation(&mut self, name: &ObjectName, ctx: Ctx, access: AccessMode) {
        let parts: Vec<&sqlparser::ast::Ident> =
            name.0.iter().filter_map(ObjectNamePart::as_ident).collect();
        let Some(last) = parts.last() else { return };
        let table = ident_name(last);
        if parts.len() == 1 && self.ctes.contains(&table) {
            return;
        }
        let schema = parts
            .len()
            .checked_sub(2)
            .and_then(|i| parts.get(i))
            .map(|s| ident_name(s));
        if let Some(t) = self
            .tables
            .iter_mut()
            .find(|t| t.name == table && t.schema == schema && t.access == access)
        {
            t.nested &= ctx.nested;
            return;
        }
        if self.tables.len() < MAX_LIST {
            self.tables.push(TableAccess {
                schema,
                name: table,
                access,
                nested: ctx.nested,
            });
        }
    }

    fn function_name(&mut self, name: &ObjectName, clause: Clause) {
        let mut n = String::new();
        for p in name.0.iter().filter_map(ObjectNamePart::as_ident) {
            if !n.is_empty() {
                n.push('.');
            }
            n.push_str(&p.value.to_lowercase());
        }
        let base = n.rsplit('.').next().unwrap_or(&n);
        if FILE_FUNCTIONS.contains(&base) {
            self.file_access = true;
        }
        if self.functions.len() < MAX_LIST
            && !self
                .functions
                .iter()
                .any(|f| f.name == n && f.clause == clause)
        {
            self.functions.push(FunctionCall { name: n, clause });
        }
    }

    /// Walks anything without a dedicated arm with sqlparser's visitor.
    fn fallback<V: Visit>(&mut self, node: &V, ctx: Ctx) {
        let mut v = Fallback { w: self, ctx };
        let _ = node.visit(&mut v);
    }

    pub(crate) fn statement(&mut self, st: &Statement) -> StatementKind {
        let ctx = Ctx::root();
        self.statement_in(st, ctx)
    }

    fn statement_in(&mut self, st: &Statement, ctx: Ctx) -> StatementKind {
        let Some(ctx) = self.enter(ctx) else {
            return StatementKind::Other;
        };
        let kind = crate::kinds::kind(st);
        match st {
            Statement::Query(q) => self.query(q, ctx),
            Statement::Insert(ins) => {
                if let TableObject::TableName(name) = &ins.table {
                    self.relation(name, ctx, AccessMode::Insert);
                } else {
                    self.fallback(&ins.table, ctx.clause(Clause::Other));
                }
                if let Some(src) = &ins.source {
                    self.query(src, ctx.access(AccessMode::Read));
                }
                for a in &ins.assignments {
                    self.expr(&a.value, ctx.clause(Clause::Values), None);
                }
                if let Some(on) = &ins.on {
                    self.fallback(on, ctx.clause(Clause::Values));
                }
                if let Some(r) = &ins.returning {
                    self.projection(r, ctx.clause(Clause::Projection));
                }
            }
            Statement::Update {
                table,
                assignments,
                from,
                selection,
                returning,
                limit,
                ..
            } => {
                self.table_with_joins(table, ctx, AccessMode::Update);
                if let Some(from) = from {
                    let tables = match from {
                        sqlparser::ast::UpdateTableFromKind::BeforeSet(t)
                        | sqlparser::ast::UpdateTableFromKind::AfterSet(t) => t,
                    };
                    for t in tables {
                        self.table_with_joins(t, ctx, AccessMode::Read);
                    }
                }
                for a in assignments {
                    self.expr(&a.value, ctx.clause(Clause::Values), None);
                }
                if let Some(s) = selection {
                    self.predicate(s, ctx.clause(Clause::Where));
                }
                if let Some(r) = returning {
                    self.projection(r, ctx.clause(Clause::Projection));
                }
                if let Some(l) = limit {
                    self.expr(l, ctx.clause(Clause::Limit), None);
                }
            }
            Statement::Delete(d) => {
                let from = match &d.from {
                    FromTable::WithFromKeyword(t) | FromTable::WithoutKeyword(t) => t,
                };
                if d.tables.is_empty() {
                    for t in from {
                        self.table_with_joins(t, ctx, AccessMode::Delete);
                    }
                } else {
                    for n in &d.tables {
                        self.relation(n, ctx, AccessMode::Delete);
                    }
                    for t in from {
                        self.table_with_joins(t, ctx, AccessMode::Read);
                    }
                }
                for t in d.using.iter().flatten() {
                    self.table_with_joins(t, ctx, AccessMode::Read);
                }
                if let Some(s) = &d.selection {
                    self.predicate(s, ctx.clause(Clause::Where));
                }
                if let Some(r) = &d.returning {
                    self.projection(r, ctx.clause(Clause::Projection));
                }
                for o in &d.order_by {
                    self.expr(&o.expr, ctx.clause(Clause::OrderBy), None);
                }
                if let Some(l) = &d.limit {
                    self.expr(l, ctx.clause(Clause::Limit), None);
                }
            }
            Statement::Merge {
                table,
                source,
                on,
                clauses,
                ..
            } => {
                let mut modes = Vec::new();
                for c in clauses {
                    let m = match c.action {
                        MergeAction::Insert(_) => AccessMode::Insert,
                        MergeAction::Update { .. } => AccessMode::Update,
                        MergeAction::Delete => AccessMode::Delete,
                    };
                    if !modes.contains(&m) {
                        modes.push(m);
                    }
                }
                if modes.is_empty() {
                    modes.push(AccessMode::Update);
                }
                for m in modes {
                    self.table_factor(table, ctx.clause(Clause::From), m);
                }
                self.table_factor(source, ctx.clause(Clause::From), AccessMode::Read);
                self.predicate(on, ctx.clause(Clause::JoinCondition));
                for c in clauses {
                    self.fallback(c, ctx.clause(Clause::Values));
                }
            }
            Statement::CreateTable(ct) => {
                self.relation(&ct.name, ctx, AccessMode::Ddl);
                if let Some(q) = &ct.query {
                    self.query(q, ctx.access(AccessMode::Read));
                }
            }
            Statement::CreateView { name, query, .. } => {
                self.relation(name, ctx, AccessMode::Ddl);
                self.query(query, ctx.access(AccessMode::Read));
            }
            Statement::CreateIndex(ci) => {
                self.relation(&ci.table_name, ctx, AccessMode::Ddl);
            }
            Statement::AlterTable { name, .. } => self.relation(name, ctx, AccessMode::Ddl),
            Statement::Drop {
                object_type, names, ..
            } => {
                if matches!(
                    object_type,
                    ObjectType::Table | ObjectType::View | ObjectType::MaterializedView
                ) {
                    for n in names {
                        self.relation(n, ctx, AccessMode::Ddl);
                    }
                }
            }
            Statement::Truncate { table_names, .. } => {
                for t in table_names {
                    self.relation(&t.name, ctx, AccessMode::Ddl);
                }
            }
            Statement::Copy {
                source, to, target, ..
            } => {
                if matches!(
                    target,
                    sqlparser::ast::CopyTarget::File { .. }
                        | sqlparser::ast::CopyTarget::Program { .. }
                ) {
                    self.file_access = true;
                }
                match source {
                    sqlparser::ast::CopySource::Table { table_name, .. } => {
                        let mode = if *to {
                            AccessMode::Read
                        } else {
                            AccessMode::Insert
                        };
                        self.relation(table_name, ctx, mode);
                    }
                    sqlparser::ast::CopySource::Query(q) => self.query(q, ctx),
                }
            }
            Statement::LoadData { table_name, .. } => {
                self.file_access = true;
                self.relation(table_name, ctx, AccessMode::Insert);
            }
            Statement::Explain { statement, .. } => {
                self.statement_in(statement, ctx);
            }
            Statement::Call(f) => self.function(f, ctx.clause(Clause::Other)),
            _ => {
                let access = match kind {
                    StatementKind::Create
                    | StatementKind::Alter
                    | StatementKind::Drop
                    | StatementKind::Truncate => AccessMode::Ddl,
                    _ => AccessMode::Read,
                };
                self.fallback(st, ctx.access(access));
            }
        }
        kind
    }

    fn query(&mut self, q: &Query, ctx: Ctx) {
        let Some(ctx) = self.enter(ctx) else { return };
        let scope = self.ctes.len();
        if let Some(with) = &q.with {
            for cte in &with.cte_tables {
                let name = ident_name(&cte.alias.name);
                self.ctes.push(name);
            }
            for cte in &with.cte_tables {
                self.query(&cte.query, ctx.access(AccessMode::Read));
            }
        }
        self.set_expr(&q.body, ctx);
        if let Some(ob) = &q.order_by
            && let OrderByKind::Expressions(exprs) = &ob.kind
        {
            for o in exprs {
                self.expr(&o.expr, ctx.clause(Clause::OrderBy), None);
            }
        }
        match &q.limit_clause {
            Some(LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if let Some(l) = limit {
                    self.expr(l, ctx.clause(Clause::Limit), None);
                }
                if let Some(o) = offset {
                    self.expr(&o.value, ctx.clause(Clause::Limit), None);
                }
                for e in limit_by {
                    self.expr(e, ctx.clause(Clause::Limit), None);
                }
            }
            Some(LimitClause::OffsetCommaLimit { offset, limit }) => {
                self.expr(offset, ctx.clause(Clause::Limit), None);
                self.expr(limit, ctx.clause(Clause::Limit), None);
            }
            None => {}
        }
        if !q.locks.is_empty() {
            self.locking_read = true;
        }
        self.ctes.truncate(scope);
    }

    fn set_expr(&mut self, s: &SetExpr, ctx: Ctx) {
        let Some(ctx) = self.enter(ctx) else { return };
        match s {
            SetExpr::Select(sel) => self.select(sel, ctx),
            SetExpr::Query(q) => self.query(q, ctx),
            SetExpr::SetOperation { left, right, .. } => {
                self.union_count += 1;
                if literal_branch(left) || literal_branch(right) {
                    self.union_literal_branch = true;
                }
                self.set_expr(left, ctx);
                self.set_expr(right, ctx.nested());
            }
            SetExpr::Values(v) => {
                for row in &v.rows {
                    for e in row {
                        self.expr(e, ctx.clause(Clause::Values), None);
                    }
                }
            }
            SetExpr::Insert(st)
            | SetExpr::Update(st)
            | SetExpr::Delete(st)
            | SetExpr::Merge(st) => {
                self.statement_in(st, ctx);
            }
            SetExpr::Table(t) => {
                if let Some(name) = &t.table_name {
                    let mut parts = Vec::new();
                    if let Some(s) = &t.schema_name {
                        parts.push(sqlparser::ast::Ident::new(s.clone()));
                    }
                    parts.push(sqlparser::ast::Ident::new(name.clone()));
                    self.relation(&ObjectName::from(parts), ctx, AccessMode::Read);
                }
            }
        }
    }

    fn projection(&mut self, items: &[SelectItem], ctx: Ctx) {
        for p in items {
            match p {
                SelectItem::UnnamedExpr(e) | SelectItem::ExprWithAlias { expr: e, .. } => {
                    self.expr(e, ctx, None)
                }
                _ => {}
            }
        }
    }

    fn select(&mut self, s: &Select, ctx: Ctx) {
        self.projection(&s.projection, ctx.clause(Clause::Projection));
        if let Some(into) = &s.into {
            self.relation(&into.name, ctx, AccessMode::Insert);
        }
        for t in &s.from {
            self.table_with_joins(t, ctx.access(AccessMode::Read), AccessMode::Read);
        }
        if let Some(w) = &s.selection {
            self.predicate(w, ctx.clause(Clause::Where));
        }
        if let GroupByExpr::Expressions(exprs, _) = &s.group_by {
            for e in exprs {
                self.expr(e, ctx.clause(Clause::GroupBy), None);
            }
        }
        if let Some(h) = &s.having {
            self.predicate(h, ctx.clause(Clause::Having));
        }
        if let Some(q) = &s.qualify {
            self.predicate(q, ctx.clause(Clause::Other));
        }
        if let Some(p) = &s.prewhere {
            self.predicate(p, ctx.clause(Clause::Where));
        }
        if !s.named_window.is_empty() {
            self.fallback(&s.named_window, ctx.clause(Clause::Other));
        }
    }

    fn table_with_joins(&mut self, t: &TableWithJoins, ctx: Ctx, first: AccessMode) {
        let ctx = ctx.clause(Clause::From);
        self.table_factor(&t.relation, ctx, first);
        for j in &t.joins {
            self.table_factor(&j.relation, ctx, AccessMode::Read);
            let constraint = match &j.join_operator {
                JoinOperator::Join(c)
                | JoinOperator::Inner(c)
                | JoinOperator::Left(c)
                | JoinOperator::LeftOuter(c)
                | JoinOperator::Right(c)
                | JoinOperator::RightOuter(c)
                | JoinOperator::FullOuter(c)
                | JoinOperator::CrossJoin(c)
                | JoinOperator::Semi(c)
                | JoinOperator::LeftSemi(c)
                | JoinOperator::RightSemi(c)
                | JoinOperator::Anti(c)
                | JoinOperator::LeftAnti(c)
                | JoinOperator::RightAnti(c)
                | JoinOperator::StraightJoin(c) => Some(c),
                JoinOperator::AsOf { constraint, .. } => Some(constraint),
                _ => None,
            };
            if let Some(JoinConstraint::On(e)) = constraint {
                self.predicate(e, ctx.clause(Clause::JoinCondition));
            }
        }
    }

    fn table_factor(&mut self, t: &TableFactor, ctx: Ctx, access: AccessMode) {
        let Some(ctx) = self.enter(ctx) else { return };
        match t {
            TableFactor::Table { name, args, .. } => match args {
                Some(a) => {
                    self.function_name(name, Clause::From);
                    for arg in &a.args {
                        self.function_arg(arg, ctx);
                    }
                }
                None => self.relation(name, ctx, access),
            },
            TableFactor::Derived { subquery, .. } => {
                self.query(subquery, ctx.access(AccessMode::Read))
            }
            TableFactor::TableFunction { expr, .. } => self.expr(expr, ctx, None),
            TableFactor::Function { name, args, .. } => {
                self.function_name(name, Clause::From);
                for arg in args {
                    self.function_arg(arg, ctx);
                }
            }
            TableFactor::NestedJoin {
                table_with_joins, ..
            } => self.table_with_joins(table_with_joins, ctx, access),
            other => self.fallback(other, ctx.access(AccessMode::Read)),
        }
    }

    fn function_arg(&mut self, a: &FunctionArg, ctx: Ctx) {
        let arg = match a {
            FunctionArg::Named { arg, .. }
            | FunctionArg::ExprNamed { arg, .. }
            | FunctionArg::Unnamed(arg) => arg,
        };
        if let FunctionArgExpr::Expr(e) = arg {
            self.expr(e, ctx, None);
        }
    }

    fn function(&mut self, f: &Function, ctx: Ctx) {
        self.function_name(&f.name, ctx.clause);
        for args in [&f.parameters, &f.args] {
            match args {
                FunctionArguments::None => {}
                FunctionArguments::Subquery(q) => self.query(q, ctx.access(AccessMode::Read)),
                FunctionArguments::List(l) => {
                    for a in &l.args {
                        self.function_arg(a, ctx);
                    }
                }
            }
        }
        if let Some(filter) = &f.filter {
            self.expr(filter, ctx, None);
        }
        if f.over.is_some() || !f.within_group.is_empty() {
            self.fallback(&f.over, ctx);
            self.fallback(&f.within_group, ctx);
        }
    }

    /// A WHERE / HAVING / ON predicate: subqueries in it are nested, and its terms form the
    /// chains constant comparisons are placed in.
    fn predicate(&mut self, e: &Expr, ctx: Ctx) {
        let chain = Chain {
            connective: Connective::None,
            position: 0,
            length: 1,
            beside_column: consts::references_column(e, 0),
            negated: false,
            term: true,
        };
        self.expr(e, ctx.nested(), Some(chain));
    }

    /// Walks an expression. `chain` is the nearest enclosing AND / OR chain, if any; its
    /// `term` flag says the expression is itself a term of that chain.
    fn expr(&mut self, e: &Expr, ctx: Ctx, chain: Option<Chain>) {
        let Some(ctx) = self.enter(ctx) else { return };
        let mut chain = chain;
        let mut e = e;
        // Parentheses around a term keep it the same term.
        while let Expr::Nested(inner) = e {
            e = inner;
        }
        if let Expr::BinaryOp { op, .. } = e
            && matches!(op, BinaryOperator::And | BinaryOperator::Or)
        {
            let terms = consts::flatten(e, op);
            let connective = if *op == BinaryOperator::And {
                Connective::And
            } else {
                Connective::Or
            };
            let base = chain.unwrap_or_else(|| Chain::outside(false));
            let length = u32::try_from(terms.len()).unwrap_or(u32::MAX);
            for (i, t) in terms.into_iter().enumerate() {
                let c = Chain {
                    connective,
                    position: u32::try_from(i).unwrap_or(u32::MAX),
                    length,
                    term: true,
                    ..base
                };
                self.expr(t, ctx, Some(c));
            }
            return;
        }
        if let Some(c) = chain.as_mut()
            && let Expr::UnaryOp {
                op: UnaryOperator::Not,
                expr,
            } = e
        {
            let inner = Chain {
                negated: !c.negated,
                ..*c
            };
            self.expr(expr, ctx, Some(inner));
            return;
        }
        if let Some(found) = consts::constant(e, chain, ctx.clause) {
            if self.consts.len() < MAX_LIST {
                self.consts.push(found);
            }
            // Keep walking for function calls, but comparisons inside are part of this one.
            self.children(e, ctx, None, true);
            return;
        }
        let below = chain.map(|c| Chain { term: false, ..c });
        self.children(e, ctx, below, false);
    }

    fn children(&mut self, e: &Expr, ctx: Ctx, chain: Option<Chain>, inside_const: bool) {
        let chain = if inside_const { None } else { chain };
        let sub = |w: &mut Self, x: &Expr| {
            if inside_const {
                w.functions_only(x, ctx)
            } else {
                w.expr(x, ctx, chain)
            }
        };
        match e {
            Expr::Identifier(_) | Expr::CompoundIdentifier(_) | Expr::Value(_) => {}
            Expr::BinaryOp { left, right, .. }
            | Expr::IsDistinctFrom(left, right)
            | Expr::IsNotDistinctFrom(left, right)
            | Expr::AnyOp { left, right, .. }
            | Expr::AllOp { left, right, .. } => {
                sub(self, left);
                sub(self, right);
            }
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
            | Expr::Collate { expr, .. } => sub(self, expr),
            Expr::Between {
                expr, low, high, ..
            } => {
                sub(self, expr);
                sub(self, low);
                sub(self, high);
            }
            Expr::InList { expr, list, .. } => {
                sub(self, expr);
                for x in list {
                    sub(self, x);
                }
            }
            Expr::Like { expr, pattern, .. }
            | Expr::ILike { expr, pattern, .. }
            | Expr::SimilarTo { expr, pattern, .. }
            | Expr::RLike { expr, pattern, .. } => {
                sub(self, expr);
                sub(self, pattern);
            }
            Expr::InSubquery { expr, subquery, .. } => {
                sub(self, expr);
                self.query(subquery, ctx.access(AccessMode::Read));
            }
            Expr::Subquery(q) | Expr::Exists { subquery: q, .. } => {
                self.query(q, ctx.access(AccessMode::Read))
            }
            Expr::Function(f) => self.function(f, ctx),
            Expr::Tuple(items) => {
                for x in items {
                    sub(self, x);
                }
            }
            Expr::Case {
                operand,
                conditions,
                else_result,
                ..
            } => {
                if let Some(o) = operand {
                    sub(self, o);
                }
                for c in conditions {
                    sub(self, &c.condition);
                    sub(self, &c.result);
                }
                if let Some(x) = else_result {
                    sub(self, x);
                }
            }
            other => self.fallback(other, ctx.access(AccessMode::Read)),
        }
    }

    /// Inside a constant comparison: collect calls (and any tables) without recording further
    /// comparisons.
    fn functions_only(&mut self, e: &Expr, ctx: Ctx) {
        let Some(ctx) = self.enter(ctx) else { return };
        match e {
            Expr::Function(f) => {
                let saved = self.consts.len();
                self.function(f, ctx);
                self.consts.truncate(saved);
            }
            Expr::Value(_) => {}
            other => self.children(other, ctx, None, true),
        }
    }
}

struct Fallback<'w> {
    w: &'w mut Walker,
    ctx: Ctx,
}

impl Visitor for Fallback<'_> {
    type Break = ();

    fn pre_visit_relation(&mut self, relation: &ObjectName) -> ControlFlow<()> {
        self.w.relation(relation, self.ctx, self.ctx.access);
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        if let Expr::Function(f) = expr {
            self.w.function_name(&f.name, self.ctx.clause);
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        if !q.locks.is_empty() {
            self.w.locking_read = true;
        }
        let mut s = &*q.body;
        while let SetExpr::SetOperation { left, right, .. } = s {
            self.w.union_count += 1;
            if literal_branch(right) || literal_branch(left) {
                self.w.union_literal_branch = true;
            }
            s = left;
        }
        ControlFlow::Continue(())
    }
}
