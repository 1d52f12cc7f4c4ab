//! `policy test` semantics: one statement with who sends it, judged by an engine as a gateway
//! would (on-connect first; a refused connection decides). Used by the gateway's
//! `policy test` command and the manager's `POST /api/v1/packs/{name}/try`.

use serde::{Deserialize, Serialize};

use crate::bindings::{Connection, Protocol};
use crate::policy::{Decision, PolicyEngine, StatementContext};

/// One input line of `policy test`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestInput {
    pub sql: String,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub database: Option<String>,
    #[serde(default)]
    pub tenant: Option<String>,
    #[serde(default)]
    pub client_addr: Option<String>,
    #[serde(default)]
    pub tls: bool,
    #[serde(default)]
    pub protocol: Option<ProtocolName>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub application_name: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProtocolName {
    Postgres,
    Mysql,
    Sqlite,
}

/// One output line of `policy test`.
#[derive(Debug, Serialize)]
pub struct TestOutput {
    pub line: usize,
    /// "allow", "deny" or "audit".
    pub verdict: &'static str,
    /// The hook that decided: "connect" when the connection itself was refused.
    pub hook: &'static str,
    pub plugin: Option<String>,
    pub binding: Option<String>,
    pub rule: Option<String>,
    pub reason: Option<String>,
    pub findings: Vec<crate::Finding>,
}

/// Evaluates one input: on-connect first (a refused connection decides), then on-query.
pub fn evaluate_line(
    engine: &PolicyEngine,
    line: usize,
    input: &TestInput,
    default_tenant: &str,
) -> TestOutput {
    let protocol = match input.protocol.unwrap_or(ProtocolName::Postgres) {
        ProtocolName::Postgres => Protocol::Postgres,
        ProtocolName::Mysql => Protocol::Mysql,
        ProtocolName::Sqlite => Protocol::Sqlite,
    };
    let conn = Connection {
        id: line as u64,
        tenant: input
            .tenant
            .clone()
            .unwrap_or_else(|| default_tenant.to_string()),
        user: input.user.clone().unwrap_or_else(|| "anonymous".into()),
        roles: input.roles.clone(),
        database: input.database.clone().unwrap_or_else(|| "postgres".into()),
        client_addr: input
            .client_addr
            .clone()
            .unwrap_or_else(|| "127.0.0.1".into()),
        client_port: 0,
        tls: input.tls,
        protocol,
        application_name: input.application_name.clone(),
        account_expires_at: None,
    };
    let connect = engine.evaluate_connect(&conn);
    if !connect.is_allowed() {
        return output(line, "connect", connect);
    }
    let mut d = engine.evaluate_sql(&conn, &input.sql, &StatementContext::default());
    let mut findings = connect.findings;
    findings.append(&mut d.findings);
    d.findings = findings;
    output(line, "query", d)
}

fn output(line: usize, hook: &'static str, d: Decision) -> TestOutput {
    let (verdict, hit) = match &d.denied {
        Some(h) => ("deny", Some(h.clone())),
        None => match d.findings.first() {
            Some(f) => ("audit", Some(f.hit.clone())),
            None => ("allow", None),
        },
    };
    TestOutput {
        line,
        verdict,
        hook,
        plugin: hit.as_ref().map(|h| h.plugin.clone()),
        binding: hit.as_ref().map(|h| h.binding.clone()),
        rule: hit.as_ref().map(|h| h.rule.clone()),
        reason: hit.map(|h| h.reason),
        findings: d.findings,
    }
}
