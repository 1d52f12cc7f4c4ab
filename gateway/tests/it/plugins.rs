//! Every first-party plugin through the real runtime (the plugins' own crates test their
//! logic natively; these prove the component, its manifest and schema, and the host wiring).

use crate::fixture::*;

fn default_pack() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::read_to_string(root.join("policies/default.toml")).unwrap()
}

#[test]
fn default_pack_denies_injection_and_allows_ordinary_sql() {
    let f = Fixture::new(&["sqli-guard"], &[("default.toml", &default_pack())]);
    let c = conn("acme", "someone-unknown");
    for sql in [
        "SELECT * FROM users WHERE id = $1",
        "SELECT * FROM products WHERE 1=1 AND category = 'books'",
        "INSERT INTO orders (customer_id, total) VALUES (42, 19.99) RETURNING id",
        "CREATE TABLE audit_log (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now())",
        "SELECT pg_sleep(1)",
    ] {
        let d = f.query(&c, sql);
        assert!(d.is_allowed(), "{sql}: {d:?}");
    }
    for sql in [
        "SELECT * FROM users WHERE name = 'admin' OR '1'='1'",
        "SELECT * FROM products WHERE id = 7; DROP TABLE users",
        "SELECT * FROM products WHERE id = 7 UNION ALL SELECT NULL,usename,passwd FROM pg_shadow--",
        "SELECT * FROM products WHERE id = 7 AND 4821=(SELECT 4821 FROM PG_SLEEP(5))",
    ] {
        let d = f.query(&c, sql);
        let r = rule(&d).unwrap_or_default();
        assert!(r.starts_with("sqli."), "{sql}: {d:?}");
    }
    assert!(f.metrics().contains("articdbm_sql_injection_attempts_total 4"));
}
