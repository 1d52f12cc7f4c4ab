//! Statement kind of each sqlparser statement.

use sqlparser::ast::{SetExpr, Statement};

use crate::StatementKind as K;

fn query_kind(body: &SetExpr) -> K {
    match body {
        SetExpr::Insert(_) => K::Insert,
        SetExpr::Update(_) => K::Update,
        SetExpr::Delete(_) => K::Delete,
        SetExpr::Merge(_) => K::Merge,
        SetExpr::Query(q) => query_kind(&q.body),
        // SELECT, VALUES, TABLE t and set operations all only read.
        _ => K::Select,
    }
}

pub(crate) fn kind(st: &Statement) -> K {
    match st {
        Statement::Query(q) => query_kind(&q.body),
        Statement::Insert(_) => K::Insert,
        Statement::Update { .. } => K::Update,
        Statement::Delete(_) => K::Delete,
        Statement::Merge { .. } => K::Merge,
        Statement::CreateView { .. }
        | Statement::CreateTable(_)
        | Statement::CreateVirtualTable { .. }
        | Statement::CreateIndex(_)
        | Statement::CreateRole { .. }
        | Statement::CreateSecret { .. }
        | Statement::CreateServer(_)
        | Statement::CreatePolicy { .. }
        | Statement::CreateConnector(_)
        | Statement::CreateSchema { .. }
        | Statement::CreateDatabase { .. }
        | Statement::CreateFunction(_)
        | Statement::CreateTrigger(_)
        | Statement::CreateProcedure { .. }
        | Statement::CreateMacro { .. }
        | Statement::CreateStage { .. }
        | Statement::CreateSequence { .. }
        | Statement::CreateDomain(_)
        | Statement::CreateType { .. }
        | Statement::CreateExtension { .. }
        | Statement::CreateUser(_) => K::Create,
        Statement::AlterTable { .. }
        | Statement::AlterSchema(_)
        | Statement::AlterIndex { .. }
        | Statement::AlterView { .. }
        | Statement::AlterType(_)
        | Statement::AlterRole { .. }
        | Statement::AlterPolicy { .. }
        | Statement::AlterConnector { .. }
        | Statement::RenameTable(_)
        | Statement::Comment { .. } => K::Alter,
        Statement::AlterSession { .. } => K::Set,
        Statement::Drop { .. }
        | Statement::DropFunction { .. }
        | Statement::DropDomain(_)
        | Statement::DropProcedure { .. }
        | Statement::DropSecret { .. }
        | Statement::DropPolicy { .. }
        | Statement::DropConnector { .. }
        | Statement::DropExtension { .. }
        | Statement::DropTrigger(_) => K::Drop,
        Statement::Truncate { .. } => K::Truncate,
        Statement::Grant { .. } => K::Grant,
        Statement::Revoke { .. } | Statement::Deny(_) => K::Revoke,
        Statement::StartTransaction { .. } => K::Begin,
        Statement::Commit { .. } => K::Commit,
        Statement::Rollback { .. } => K::Rollback,
        Statement::Savepoint { .. } | Statement::ReleaseSavepoint { .. } => K::Savepoint,
        Statement::Set(_) => K::Set,
        Statement::ShowFunctions { .. }
        | Statement::ShowVariable { .. }
        | Statement::ShowStatus { .. }
        | Statement::ShowVariables { .. }
        | Statement::ShowCreate { .. }
        | Statement::ShowColumns { .. }
        | Statement::ShowDatabases { .. }
        | Statement::ShowSchemas { .. }
        | Statement::ShowCharset(_)
        | Statement::ShowObjects(_)
        | Statement::ShowTables { .. }
        | Statement::ShowViews { .. }
        | Statement::ShowCollation { .. } => K::Show,
        Statement::Copy { .. } | Statement::LoadData { .. } => K::Copy,
        Statement::Explain { .. } | Statement::ExplainTable { .. } => K::Explain,
        Statement::Call(_) => K::Call,
        Statement::Prepare { .. } => K::Prepare,
        Statement::Execute { .. } => K::Execute,
        Statement::Deallocate { .. } => K::Deallocate,
        Statement::LISTEN { .. } | Statement::UNLISTEN { .. } => K::Listen,
        Statement::NOTIFY { .. } => K::Notify,
        Statement::Vacuum(_) => K::Vacuum,
        Statement::Analyze { .. } => K::Analyze,
        Statement::LockTables { .. } | Statement::UnlockTables => K::Lock,
        Statement::Use(_) => K::UseDatabase,
        _ => K::Other,
    }
}
