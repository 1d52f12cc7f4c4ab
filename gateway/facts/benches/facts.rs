//! Facts extraction and cache benchmarks: cold extraction and cached lookups.

use std::hint::black_box;

use articdbm_facts::{Dialect, FactsCache, extract};
use criterion::{Criterion, criterion_group, criterion_main};

const STATEMENTS: &[(&str, &str)] = &[
    ("simple", "SELECT * FROM users WHERE id = $1"),
    (
        "django",
        r#"SELECT "auth_user"."id", "auth_user"."password", "auth_user"."last_login", "auth_user"."is_superuser", "auth_user"."username", "auth_user"."email" FROM "auth_user" WHERE "auth_user"."username" = $1 LIMIT 21"#,
    ),
    (
        "hibernate",
        "select o1_0.id,o1_0.created_at,o1_0.customer_id,c1_0.id,c1_0.name from orders o1_0 left join customers c1_0 on c1_0.id=o1_0.customer_id where o1_0.status=$1 and o1_0.created_at>=$2 order by o1_0.created_at desc fetch first $3 rows only",
    ),
    (
        "report",
        "WITH monthly AS (SELECT date_trunc('month', created_at) AS m, sum(total) AS revenue FROM orders WHERE status = 'paid' GROUP BY 1) SELECT m, revenue, lag(revenue) OVER (ORDER BY m) AS prev, revenue - lag(revenue) OVER (ORDER BY m) AS delta FROM monthly ORDER BY m",
    ),
    (
        "injection",
        "SELECT * FROM users WHERE id = 1 OR 1=1 UNION ALL SELECT NULL,NULL,version()-- ",
    ),
];

fn bench(c: &mut Criterion) {
    for (name, sql) in STATEMENTS {
        c.bench_function(&format!("extract/{name}"), |b| {
            b.iter(|| extract(black_box(sql), Dialect::Postgres))
        });
    }
    let cache = FactsCache::new(10_000);
    for (name, sql) in STATEMENTS {
        let _ = cache.get(sql, Dialect::Postgres);
        c.bench_function(&format!("cache_hit/{name}"), |b| {
            b.iter(|| cache.get(black_box(sql), Dialect::Postgres))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
