use std::sync::Arc;
#[tokio::main]
async fn main() {
    let path = std::env::args().nth(1).unwrap_or(":memory:".into());
    let db = articdbm_gateway::sqlite::SqliteDb::open(std::path::Path::new(&path)).unwrap();
    let l = tokio::net::TcpListener::bind("127.0.0.1:55432").await.unwrap();
    loop {
        let (s, _) = l.accept().await.unwrap();
        let db: Arc<_> = db.clone();
        tokio::spawn(async move { let r = articdbm_gateway::sqlite::serve(s, db).await; eprintln!("conn end {r:?}"); });
    }
}
