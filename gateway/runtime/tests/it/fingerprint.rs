//! Facts shared by fingerprint are exact: for every statement of the SQL-injection corpora
//! (attacks and benign traffic, PostgreSQL and MySQL) and texts of the same fingerprint with
//! other literal values, comment texts and IN-list lengths, the facts the engine hands to
//! plugins equal the facts extracted from that very text.

use articdbm_facts::{Dialect, extract, variants};
use articdbm_runtime::bindings::{self, Protocol};

use crate::fixture::*;

fn corpus(name: &str) -> Vec<(Protocol, String)> {
    let path = format!(
        "{}/../../plugins/sqli-guard/corpus/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let mut parts = l.splitn(3, '\t');
            let protocol = match parts.next()? {
                "mysql" => Protocol::Mysql,
                "sqlite" => Protocol::Sqlite,
                _ => Protocol::Postgres,
            };
            let sql = parts.nth(1)?.replace("\\n", "\n");
            Some((protocol, sql))
        })
        .collect()
}

#[test]
fn facts_shared_by_fingerprint_equal_the_facts_of_each_text() {
    let f = Fixture::new(&[], &[]);
    let engine = f.engine();
    let (mut statements, mut texts, mut shared) = (0, 0, 0u32);
    for name in [
        "attacks.txt",
        "benign.txt",
        "mysql-attacks.txt",
        "mysql-benign.txt",
    ] {
        for (protocol, sql) in corpus(name) {
            let dialect = match protocol {
                Protocol::Mysql => Dialect::Mysql,
                Protocol::Sqlite => Dialect::Sqlite,
                Protocol::Postgres => Dialect::Postgres,
            };
            statements += 1;
            let first = engine.statement(&sql, protocol);
            for (text, _) in variants(&sql, dialect) {
                texts += 1;
                let stmt = engine.statement(&text, protocol);
                if std::sync::Arc::ptr_eq(&stmt.facts, &first.facts) {
                    shared += 1;
                }
                assert_eq!(
                    format!("{:?}", stmt.facts),
                    format!("{:?}", bindings::facts(extract(&text, dialect))),
                    "facts differ from the text's own:\n  {sql}\n  {text}"
                );
            }
        }
    }
    println!(
        "{statements} statements, {texts} texts of their fingerprints, {shared} with the first text's facts"
    );
    assert!(texts > 5000, "only {texts} texts");
    // Texts that differ only in integers (half the variants) share the very same facts.
    assert!(
        shared > texts / 4,
        "only {shared} of {texts} texts shared facts"
    );
}
