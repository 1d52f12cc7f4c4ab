use articdbm_plugin_sdk::Protocol;
use articdbm_plugin_sdk::testing::query_in;

#[test]
fn dump() {
    let Ok(sql) = std::env::var("SQL") else { return };
    let proto = if std::env::var("MY").is_ok() { Protocol::Mysql } else { Protocol::Postgres };
    for s in sql.split("\n===\n") {
        let q = query_in(s, proto);
        println!("{s}\n{:#?}", q.facts);
    }
}
