//! The MySQL / MariaDB gateway: the listener, client sessions ([`client`]), server
//! connections ([`server`]) in the protocol-neutral pools (`crate::pool`), and statement
//! splitting in the MySQL dialect ([`split`]). Sessions judge every statement through the
//! same policy (`crate::session`) as PostgreSQL sessions.

pub mod client;
pub mod server;
pub mod split;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::config::{Config, Target};
use crate::metrics::Metrics;
use crate::pg::Shared;
use server::{MyConnector, MyEndpoint, MyIdentity};

/// The pools of one MySQL database.
pub type MyPool = crate::pool::DbPool<MyConnector>;
/// A MySQL server connection leased to one client.
pub type MyLease = crate::pool::Lease<MyConnector>;
/// Where a session's current statement runs (backend and server thread id), for KILL QUERY.
pub type KillSlot = Arc<Mutex<Option<(Arc<crate::pool::BackendPool<MyConnector>>, u32)>>>;

/// The pool for a client: `db` itself, or, for a client that negotiated `CLIENT_FOUND_ROWS`
/// (Django, Connector/J: affected rows are the rows an UPDATE matched), its variant whose
/// server connections were opened with that flag. The embedded SQLite database always
/// reports matched rows, so its clients share one pool.
pub fn pool_for(db: &Arc<MyPool>, found_rows: bool) -> Arc<MyPool> {
    let sqlite = db
        .backends
        .iter()
        .any(|b| matches!(b.endpoint, MyEndpoint::Sqlite(_)));
    if !found_rows || sqlite {
        return Arc::clone(db);
    }
    db.variant("found_rows", |c| MyConnector {
        ident: MyIdentity {
            found_rows: true,
            ..c.ident.clone()
        },
        ..c.clone()
    })
}

/// Builds the pools of the MySQL databases of `config`, keeping those of `old` whose
/// definition did not change.
pub fn build_pools(
    config: &Config,
    metrics: &Arc<Metrics>,
    old: Option<&HashMap<String, Arc<MyPool>>>,
    defs: &mut HashMap<String, String>,
) -> Result<HashMap<String, Arc<MyPool>>, String> {
    let mut out = HashMap::new();
    let mut new_defs = HashMap::new();
    for (name, db) in &config.databases {
        let def = format!(
            "{:?}{:?}{}{}{}",
            db.target,
            db.pool,
            db.read_write_split,
            crate::pg::target_secret(&db.target),
            config.server.max_server_message_bytes
        );
        if let (Some(old), Some(prev)) = (old, defs.get(name))
            && *prev == def
            && let Some(p) = old.get(name)
        {
            out.insert(name.clone(), Arc::clone(p));
            new_defs.insert(name.clone(), def);
            continue;
        }
        let (endpoints, ident) = match &db.target {
            Target::Postgres { .. } => continue,
            // The embedded database is served to MySQL clients too.
            Target::Sqlite(path) => {
                let sdb = crate::sqlite::SqliteDb::open_shared(name, path)
                    .map_err(|e| format!("database {name}: sqlite {}: {e}", path.display()))?;
                (
                    vec![(
                        MyEndpoint::Sqlite(sdb),
                        crate::config::BackendRole::Primary,
                        1,
                    )],
                    MyIdentity {
                        user: "articdbm".into(),
                        password: None,
                        database: name.clone(),
                        found_rows: false,
                    },
                )
            }
            Target::Mysql {
                backends,
                user,
                password,
                database,
                tls,
                tls_ca,
            } => {
                let tls_config = crate::pg::stream::backend_tls(*tls, tls_ca.as_deref())
                    .map_err(|e| format!("database {name}: {e}"))?;
                (
                    backends
                        .iter()
                        .map(|b| {
                            (
                                MyEndpoint::Tcp {
                                    host: b.host.clone(),
                                    port: b.port,
                                    tls: *tls,
                                    tls_config: tls_config.clone(),
                                },
                                b.role,
                                b.weight,
                            )
                        })
                        .collect(),
                    MyIdentity {
                        user: user.clone(),
                        password: password.clone(),
                        database: database.clone(),
                        found_rows: false,
                    },
                )
            }
        };
        let connector = MyConnector {
            ident,
            max_message: config.server.max_server_message_bytes,
            galera: db.galera,
        };
        let topology = if db.galera.is_some() {
            crate::pool::Topology::FirstHealthyWriter
        } else {
            crate::pool::Topology::PrimaryReplicas
        };
        let pool = MyPool::new(
            name.clone(),
            db.pool.clone(),
            connector,
            endpoints,
            db.read_write_split,
            topology,
            Arc::clone(metrics),
        );
        crate::pool::spawn_maintenance(Arc::clone(&pool));
        // One connection now, to learn the server's version (clients are shown it).
        let p = Arc::clone(&pool);
        tokio::spawn(async move {
            if let Ok(l) = p.acquire(crate::session::Route::Primary).await {
                p.release(l, true);
            }
        });
        out.insert(name.clone(), pool);
        new_defs.insert(name.clone(), def);
    }
    if let Some(old) = old {
        for (name, p) in old {
            if !out.get(name).is_some_and(|n| Arc::ptr_eq(n, p)) {
                p.close();
            }
        }
    }
    *defs = new_defs;
    Ok(out)
}

/// Serves MySQL clients on `listener` until `stop` changes.
pub fn spawn_listener(
    shared: Arc<Shared>,
    listener: tokio::net::TcpListener,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    client::prepare_rsa_key();
    tokio::spawn(async move {
        loop {
            tokio::select! {
                r = listener.accept() => match r {
                    Ok((tcp, peer)) => {
                        tokio::spawn(client::handle(Arc::clone(&shared), tcp, peer));
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "MySQL accept failed");
                        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    });
}
