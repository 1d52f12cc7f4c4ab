#!/usr/bin/env python3
"""Builds benign.txt: ordinary application, ORM, migration, reporting and admin SQL.

Each family below is written the way the named tool actually emits it (quoting, aliasing,
placeholders, comment styles). Small families are listed literally; the ORM families are
expanded over a handful of models so the corpus has the volume of real traffic without
repeating one statement. Deterministic; the output is committed.

Output lines: `dialect<TAB>source<TAB>sql`, newlines in SQL escaped as `\\n`.
"""

import os
import random

rng = random.Random(7)

MODELS = [
    # table, columns, fk
    ("blog_post", ["id", "title", "slug", "body", "author_id", "published_at", "status"], "author_id"),
    ("auth_user", ["id", "username", "email", "is_active", "date_joined", "last_login"], None),
    ("shop_order", ["id", "customer_id", "total", "status", "created_at", "updated_at"], "customer_id"),
    ("shop_product", ["id", "name", "sku", "price", "stock", "category_id"], "category_id"),
    ("crm_contact", ["id", "first_name", "last_name", "email", "company_id", "created_at"], "company_id"),
    ("billing_invoice", ["id", "account_id", "amount_cents", "currency", "due_date", "paid"], "account_id"),
]


def pg_django(t, cols, fk):
    q = lambda c: '"%s"."%s"' % (t, c)  # noqa: E731
    sel = ", ".join(q(c) for c in cols)
    out = [
        'SELECT %s FROM "%s" WHERE %s = $1 LIMIT 21' % (sel, t, q("id")),
        'SELECT %s FROM "%s" ORDER BY %s DESC LIMIT 20 OFFSET 40' % (sel, t, q(cols[1])),
        'SELECT COUNT(*) AS "__count" FROM "%s"' % t,
        'SELECT %s FROM "%s" WHERE %s IN ($1, $2, $3)' % (sel, t, q("id")),
        'SELECT (1) AS "a" FROM "%s" WHERE %s = $1 LIMIT 1' % (t, q(cols[1])),
        'INSERT INTO "%s" (%s) VALUES (%s) RETURNING "%s"."id"'
        % (t, ", ".join('"%s"' % c for c in cols[1:]), ", ".join("$%d" % (i + 1) for i in range(len(cols) - 1)), t),
        'UPDATE "%s" SET "%s" = $1 WHERE "%s"."id" = $2' % (t, cols[2], t),
        'DELETE FROM "%s" WHERE "%s"."id" IN ($1, $2)' % (t, t),
        'SELECT %s FROM "%s" WHERE UPPER(%s::text) LIKE UPPER($1) ORDER BY %s ASC' % (sel, t, q(cols[1]), q("id")),
        'SELECT %s FROM "%s" WHERE (%s IS NOT NULL AND NOT (%s = $1))' % (sel, t, q(cols[2]), q(cols[1])),
    ]
    if fk:
        out.append(
            'SELECT %s FROM "%s" INNER JOIN "rel_%s" ON (%s = "rel_%s"."id") WHERE "rel_%s"."name" = $1'
            % (sel, t, fk, q(fk), fk, fk)
        )
        out.append('SELECT %s FROM "%s" WHERE %s = 42 ORDER BY %s' % (sel, t, q(fk), q("id")))
    return out


def mysql_rails(t, cols, fk):
    out = [
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`id` = 1 LIMIT 1" % (t, t, t),
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`%s` = '%s' LIMIT 1" % (t, t, t, cols[1], "hello-world"),
        "SELECT `%s`.* FROM `%s` ORDER BY `%s`.`id` DESC LIMIT 25 OFFSET 50" % (t, t, t),
        "SELECT COUNT(*) FROM `%s` WHERE `%s`.`%s` IS NULL" % (t, t, cols[2]),
        "SELECT 1 AS one FROM `%s` WHERE `%s`.`%s` = BINARY 'abc' LIMIT 1" % (t, t, cols[1]),
        "INSERT INTO `%s` (`%s`, `created_at`, `updated_at`) VALUES ('x', '2024-05-01 10:00:00', '2024-05-01 10:00:00')"
        % (t, cols[1]),
        "UPDATE `%s` SET `%s`.`%s` = 'y', `%s`.`updated_at` = '2024-05-01 10:00:01' WHERE `%s`.`id` = 7"
        % (t, t, cols[2], t, t),
        "DELETE FROM `%s` WHERE `%s`.`id` = 7" % (t, t),
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`id` IN (1, 2, 3, 4)" % (t, t, t),
        "SELECT `%s`.`id` FROM `%s` WHERE `%s`.`%s` LIKE '%%lamp%%' LIMIT 10" % (t, t, t, cols[1]),
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`id` = 1 LIMIT 1 /*application:Shop,controller:%s,action:show*/"
        % (t, t, t, t.split("_")[-1] + "s"),
        "SELECT `%s`.* FROM `%s` WHERE 1=0" % (t, t),
    ]
    if fk:
        out.append("SELECT `%s`.* FROM `%s` WHERE `%s`.`%s` = 5 ORDER BY `%s`.`id` ASC LIMIT 1000" % (t, t, t, fk, t))
    return out


def pg_rails(t, cols, fk):
    return [
        'SELECT "%s".* FROM "%s" WHERE "%s"."id" = $1 LIMIT $2' % (t, t, t),
        'SELECT "%s".* FROM "%s" WHERE "%s"."%s" = $1 ORDER BY "%s"."id" ASC LIMIT $2' % (t, t, t, cols[1], t),
        'SELECT 1 AS one FROM "%s" WHERE "%s"."%s" = $1 LIMIT $2' % (t, t, cols[1]),
        'SELECT "%s".* FROM "%s" WHERE 1=0' % (t, t),
        'SELECT "%s".* FROM "%s" WHERE "%s"."id" = $1 LIMIT $2 /*application=\'Shop\',controller=\'%s\',action=\'show\'*/'
        % (t, t, t, t),
        'INSERT INTO "%s" ("%s", "created_at", "updated_at") VALUES ($1, $2, $3) RETURNING "id"' % (t, cols[1]),
    ]


def hibernate(t, cols, fk):
    a = t.split("_")[-1][:2] + "1_0_"
    sel = ", ".join("%s.%s as %s%d_0_" % (a, c, c[:4], i) for i, c in enumerate(cols))
    out = [
        "select %s from %s %s where %s.id=?" % (sel, t, a, a),
        "select %s from %s %s where %s.%s=? order by %s.id desc" % (sel, t, a, a, cols[1], a),
        "select count(%s.id) as col_0_0_ from %s %s" % (a, t, a),
        "insert into %s (%s) values (%s)" % (t, ", ".join(cols[1:]), ", ".join("?" for _ in cols[1:])),
        "update %s set %s=?, %s=? where id=?" % (t, cols[1], cols[2], ),
        "delete from %s where id=?" % t,
        "/* load com.example.%s */ select %s from %s %s where %s.id=?" % (t.title().replace("_", ""), sel, t, a, a),
        "select %s from %s %s where 1=1 and %s.%s=? and %s.%s like ?" % (sel, t, a, a, cols[1], a, cols[2]),
        "select %s from %s %s offset ? rows fetch first ? rows only" % (sel, t, a),
    ]
    return out


def sqlalchemy(t, cols, fk):
    sel = ", ".join("%s.%s AS %s_%s" % (t, c, t, c) for c in cols)
    return [
        "SELECT %s \nFROM %s \nWHERE %s.id = %%(pk_1)s" % (sel, t, t),
        "SELECT %s \nFROM %s \nWHERE %s.id = $1::INTEGER" % (sel, t, t),
        "SELECT %s \nFROM %s \nWHERE 1 != 1" % (sel, t),
        "SELECT %s \nFROM %s \nWHERE %s.id IN (NULL) AND (1 != 1)" % (sel, t, t),
        "SELECT %s \nFROM %s \nWHERE %s.%s IN (SELECT CAST(NULL AS INTEGER) WHERE 1!=1)" % (sel, t, t, cols[0]),
        "SELECT count(*) AS count_1 \nFROM (SELECT %s \nFROM %s) AS anon_1" % (sel, t),
        "SELECT %s \nFROM %s ORDER BY %s.%s DESC \n LIMIT $1::INTEGER OFFSET $2::INTEGER" % (sel, t, t, cols[1]),
        "INSERT INTO %s (%s) VALUES (%s) RETURNING %s.id"
        % (t, ", ".join(cols[1:]), ", ".join("%%(%s)s" % c for c in cols[1:]), t),
        "UPDATE %s SET %s=%%(%s)s WHERE %s.id = %%(%s_id)s" % (t, cols[2], cols[2], t, t),
    ]


def prisma(t, cols, fk):
    sel = ", ".join('"public"."%s"."%s"' % (t, c) for c in cols)
    return [
        'SELECT %s FROM "public"."%s" WHERE ("public"."%s"."id" = $1 AND 1=1) LIMIT $2 OFFSET $3' % (sel, t, t),
        'SELECT %s FROM "public"."%s" WHERE 1=1 ORDER BY "public"."%s"."id" ASC LIMIT $1 OFFSET $2' % (sel, t, t),
        'SELECT COUNT(*) AS "_count._all" FROM (SELECT "public"."%s"."id" FROM "public"."%s" WHERE 1=1 OFFSET $1) AS "sub"' % (t, t),
        'INSERT INTO "public"."%s" ("%s") VALUES ($1) RETURNING "public"."%s"."id"' % (t, cols[1], t),
        'SELECT %s FROM "public"."%s" WHERE "public"."%s"."id" IN ($1,$2,$3) OFFSET $4' % (sel, t, t),
    ]


def sequelize(t, cols, fk):
    sel = ", ".join('"%s"' % c for c in cols)
    return [
        'SELECT %s FROM "%s" AS "%s" WHERE "%s"."id" = 5;' % (sel, t, t.title(), t.title()),
        'SELECT %s FROM "%s" AS "%s" WHERE "%s"."%s" = \'draft\' LIMIT 10;' % (sel, t, t.title(), t.title(), cols[-1]),
        'INSERT INTO "%s" ("id","%s","createdAt","updatedAt") VALUES (DEFAULT,$1,$2,$3) RETURNING %s;' % (t, cols[1], sel),
        'UPDATE "%s" SET "%s"=$1,"updatedAt"=$2 WHERE "id" = $3' % (t, cols[2]),
        'SELECT count(*) AS "count" FROM "%s" AS "%s";' % (t, t.title()),
    ]


def gorm(t, cols, fk):
    return [
        "SELECT * FROM `%s` WHERE `%s`.`id` = 10 AND `%s`.`deleted_at` IS NULL ORDER BY `%s`.`id` LIMIT 1" % (t, t, t, t),
        "SELECT * FROM `%s` WHERE %s = 'x' AND `%s`.`deleted_at` IS NULL" % (t, cols[1], t),
        "UPDATE `%s` SET `deleted_at`='2024-05-02 09:00:00.123' WHERE `%s`.`id` = 3 AND `%s`.`deleted_at` IS NULL" % (t, t, t),
        "INSERT INTO `%s` (`%s`,`created_at`) VALUES ('x','2024-05-02 09:00:00.123')" % (t, cols[1]),
        'SELECT * FROM "%s" WHERE "%s"."deleted_at" IS NULL AND id = $1 ORDER BY "%s"."id" LIMIT 1' % (t, t, t),
    ]


def builder(t, cols, fk):
    """Query builders that start every WHERE with 1=1 (or TRUE) and append filters."""
    return [
        "SELECT * FROM %s WHERE 1=1 AND %s = $1" % (t, cols[1]),
        "SELECT * FROM %s WHERE 1=1 AND %s = $1 AND %s > $2 ORDER BY id LIMIT 50" % (t, cols[1], cols[0]),
        "SELECT * FROM %s WHERE 1 = 1" % t,
        "SELECT * FROM %s WHERE TRUE AND %s = $1" % (t, cols[2]),
        "SELECT id FROM %s WHERE 1=1 AND (%s = $1 OR %s = $2)" % (t, cols[1], cols[2]),
        "SELECT * FROM `%s` WHERE 1=1 AND `%s` = 'abc' LIMIT 0, 20" % (t, cols[1]),
        "SELECT * FROM %s WHERE 1=1 AND %s IN (?, ?, ?)" % (t, cols[1]),
    ]


def tagged(dialect, source, sqls):
    return [(dialect, source, s) for s in sqls]


LITERAL = []

# Migrations (Django, Rails, Flyway, Alembic, Prisma, golang-migrate), several DDL per string.
LITERAL += tagged("postgres", "migration", [
    'CREATE TABLE "blog_post" ("id" bigint NOT NULL PRIMARY KEY GENERATED BY DEFAULT AS IDENTITY, "title" varchar(200) NOT NULL, "body" text NOT NULL, "published_at" timestamp with time zone NULL)',
    'CREATE INDEX "blog_post_title_4b1c_like" ON "blog_post" ("title" varchar_pattern_ops)',
    'ALTER TABLE "blog_post" ADD COLUMN "slug" varchar(50) DEFAULT \'\' NOT NULL',
    'ALTER TABLE "blog_post" ALTER COLUMN "slug" DROP DEFAULT',
    'ALTER TABLE "blog_post" ADD CONSTRAINT "blog_post_author_id_fk" FOREIGN KEY ("author_id") REFERENCES "auth_user" ("id") DEFERRABLE INITIALLY DEFERRED',
    'CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS idx_users_email ON users (lower(email))',
    "-- migration 0042_add_orders_index\nCREATE INDEX idx_orders_created_at ON orders (created_at)",
    "-- migration 0043\nALTER TABLE orders ADD COLUMN discount_cents integer NOT NULL DEFAULT 0",
    "BEGIN; ALTER TABLE accounts ADD COLUMN plan text; CREATE INDEX idx_accounts_plan ON accounts (plan); COMMIT;",
    "CREATE TABLE schema_migrations (version varchar NOT NULL PRIMARY KEY); CREATE TABLE ar_internal_metadata (key varchar NOT NULL PRIMARY KEY, value varchar, created_at timestamp(6) NOT NULL, updated_at timestamp(6) NOT NULL)",
    'INSERT INTO "schema_migrations" (version) VALUES (\'20240501101500\')',
    'SELECT "schema_migrations"."version" FROM "schema_migrations" ORDER BY "schema_migrations"."version" ASC',
    "CREATE TABLE IF NOT EXISTS flyway_schema_history (installed_rank INT NOT NULL, version VARCHAR(50), description VARCHAR(200) NOT NULL, type VARCHAR(20) NOT NULL, script VARCHAR(1000) NOT NULL, checksum INT, installed_by VARCHAR(100) NOT NULL, installed_on TIMESTAMP NOT NULL DEFAULT now(), execution_time INT NOT NULL, success BOOLEAN NOT NULL)",
    'SELECT "installed_rank","version","description","type","script","checksum","installed_on","installed_by","execution_time","success" FROM "public"."flyway_schema_history" WHERE "installed_rank" > $1 ORDER BY "installed_rank"',
    "SELECT pg_advisory_lock(72707369)",
    "SELECT pg_advisory_unlock(72707369)",
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))",
    "UPDATE alembic_version SET version_num='3f2a1b9c8d7e' WHERE alembic_version.version_num = '1a2b3c4d5e6f'",
    "DROP INDEX IF EXISTS idx_old_sessions",
    "ALTER TABLE users RENAME COLUMN fullname TO full_name",
    "CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'cancelled')",
    "CREATE EXTENSION IF NOT EXISTS pgcrypto",
    "CREATE EXTENSION IF NOT EXISTS \"uuid-ossp\"",
    "COMMENT ON TABLE orders IS 'Customer orders; one row per checkout'",
    "CREATE VIEW active_users AS SELECT id, email FROM users WHERE deleted_at IS NULL",
    "CREATE MATERIALIZED VIEW daily_sales AS SELECT date_trunc('day', created_at) AS day, sum(total) AS total FROM orders GROUP BY 1",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY daily_sales",
    "CREATE SEQUENCE invoice_number_seq START 1000",
    "ALTER TABLE invoices ALTER COLUMN number SET DEFAULT nextval('invoice_number_seq')",
    "TRUNCATE TABLE staging_import",
    "DROP TABLE IF EXISTS tmp_backfill_2024",
    "CREATE TABLE \"_prisma_migrations\" (\"id\" VARCHAR(36) PRIMARY KEY NOT NULL, \"checksum\" VARCHAR(64) NOT NULL, \"finished_at\" TIMESTAMPTZ, \"migration_name\" VARCHAR(255) NOT NULL, \"logs\" TEXT, \"rolled_back_at\" TIMESTAMPTZ, \"started_at\" TIMESTAMPTZ NOT NULL DEFAULT now(), \"applied_steps_count\" INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX idx_events_payload ON events USING gin (payload jsonb_path_ops)",
    "ALTER TABLE orders ADD CONSTRAINT orders_total_check CHECK (total >= 0)",
    "GRANT SELECT ON ALL TABLES IN SCHEMA reporting TO analyst",
    "CREATE SCHEMA IF NOT EXISTS reporting",
    "SET lock_timeout = '5s'; ALTER TABLE orders ADD COLUMN note text; RESET lock_timeout",
    "CREATE INDEX idx_a ON t (a); CREATE INDEX idx_b ON t (b); CREATE INDEX idx_c ON t (c)",
    "ALTER TABLE users ADD COLUMN status text; UPDATE users SET status = 'active' WHERE status IS NULL; ALTER TABLE users ALTER COLUMN status SET NOT NULL",
])
LITERAL += tagged("mysql", "migration", [
    "CREATE TABLE `users` (`id` bigint unsigned NOT NULL AUTO_INCREMENT, `email` varchar(255) NOT NULL, `created_at` datetime(6) NOT NULL, PRIMARY KEY (`id`), UNIQUE KEY `index_users_on_email` (`email`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
    "ALTER TABLE `orders` ADD `discount_cents` int DEFAULT 0 NOT NULL",
    "CREATE INDEX `index_orders_on_created_at` ON `orders` (`created_at`)",
    "ALTER TABLE `orders` ADD CONSTRAINT `fk_rails_3dad120da9` FOREIGN KEY (`user_id`) REFERENCES `users` (`id`)",
    "DROP TABLE IF EXISTS `tmp_import`",
    "INSERT INTO `schema_migrations` (`version`) VALUES ('20240501101500')",
    "SET FOREIGN_KEY_CHECKS = 0",
    "SET NAMES utf8mb4",
    "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ZERO_DATE'",
    "ALTER TABLE `products` MODIFY COLUMN `price` decimal(10,2) NOT NULL",
    "CREATE TABLE `goose_db_version` (`id` serial NOT NULL, `version_id` bigint NOT NULL, `is_applied` boolean NOT NULL, `tstamp` timestamp NULL default now(), PRIMARY KEY(`id`))",
    "SELECT GET_LOCK('schema_migrations', 0)",
    "SELECT RELEASE_LOCK('schema_migrations')",
    "/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */",
    "/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */",
    "/*!40101 SET NAMES utf8mb4 */",
])

# Reporting and analytics.
LITERAL += tagged("postgres", "reporting", [
    "WITH monthly AS (SELECT date_trunc('month', created_at) AS month, sum(total) AS revenue FROM orders WHERE status = 'paid' GROUP BY 1) SELECT month, revenue, revenue - lag(revenue) OVER (ORDER BY month) AS delta FROM monthly ORDER BY month",
    "SELECT customer_id, total, rank() OVER (PARTITION BY customer_id ORDER BY total DESC) AS r FROM orders",
    "SELECT region, product, sum(amount) FROM sales GROUP BY ROLLUP (region, product) ORDER BY region, product",
    "SELECT region, sum(amount) FROM sales GROUP BY CUBE (region, channel)",
    "SELECT id, CASE WHEN total > 1000 THEN 'large' WHEN total > 100 THEN 'medium' ELSE 'small' END AS bucket FROM orders",
    "SELECT 'order' AS kind, id, created_at FROM orders UNION ALL SELECT 'refund' AS kind, id, created_at FROM refunds ORDER BY created_at DESC LIMIT 100",
    "SELECT id, email FROM customers UNION SELECT id, email FROM leads",
    "SELECT date_trunc('day', created_at) AS day, count(*) FILTER (WHERE status = 'paid') AS paid, count(*) AS all_orders FROM orders GROUP BY 1 ORDER BY 1",
    "SELECT percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms) FROM requests WHERE created_at > now() - interval '1 hour'",
    "WITH RECURSIVE tree AS (SELECT id, parent_id, name, 1 AS depth FROM categories WHERE parent_id IS NULL UNION ALL SELECT c.id, c.parent_id, c.name, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id) SELECT * FROM tree",
    "SELECT u.id, u.email, COALESCE(o.cnt, 0) AS orders FROM users u LEFT JOIN (SELECT user_id, count(*) AS cnt FROM orders GROUP BY user_id) o ON o.user_id = u.id",
    "SELECT * FROM orders o WHERE EXISTS (SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.sku = 'X-1')",
    "SELECT * FROM products WHERE price BETWEEN 10 AND 20 AND category_id IN (SELECT id FROM categories WHERE active)",
    "SELECT generate_series(1, 12) AS month",
    "SELECT d::date FROM generate_series('2024-01-01'::date, '2024-12-31'::date, interval '1 day') d",
    "SELECT count(*) FROM events WHERE payload->>'type' = 'click' AND created_at >= CURRENT_DATE - 7",
    "SELECT json_agg(row_to_json(t)) FROM (SELECT id, name FROM teams ORDER BY name) t",
    "SELECT string_agg(tag, ', ' ORDER BY tag) FROM post_tags WHERE post_id = 7",
    "SELECT id, extract(epoch FROM (finished_at - started_at)) AS seconds FROM jobs WHERE finished_at IS NOT NULL",
    "SELECT CAST(amount AS numeric(12,2)) / 100 AS dollars FROM payments WHERE id = 9",
    "SELECT to_char(created_at, 'YYYY-MM') AS month, count(*) FROM signups GROUP BY 1 HAVING count(*) > 10",
    "SELECT a.id, b.id FROM a FULL OUTER JOIN b ON a.key = b.key WHERE a.id IS NULL OR b.id IS NULL",
    "SELECT * FROM (VALUES (1, 'one'), (2, 'two')) AS t(n, name)",
    "SELECT md5(email) FROM users WHERE id = 1",
    "SELECT concat(first_name, ' ', last_name) AS name FROM contacts ORDER BY 1",
    "SELECT id FROM orders ORDER BY 1 DESC LIMIT 10",
    "SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC",
    "SELECT 1",
    "SELECT 1 AS ok",
    "SELECT NULL::int AS nothing",
    "SELECT version()",
    "SELECT current_database(), current_user, now()",
    "SELECT now() AT TIME ZONE 'UTC'",
    "SELECT nextval('invoice_number_seq')",
    "SELECT * FROM orders WHERE created_at >= '2024-01-01' AND created_at < '2024-02-01' ORDER BY created_at",
    "SELECT * FROM messages WHERE body ILIKE '%' || $1 || '%'",
    "SELECT * FROM documents WHERE to_tsvector('english', body) @@ plainto_tsquery('english', $1)",
    "SELECT * FROM users WHERE email = 'o''brien@example.com'",
    "SELECT * FROM notes WHERE body = 'use -- for comments and /* */ for blocks'",
    "SELECT * FROM notes WHERE body = 'it''s 1=1 in the docs; really'",
    "SELECT * FROM users WHERE name = 'Robert''); DROP TABLE students;--'",
    "SELECT id FROM t WHERE flag IS TRUE AND deleted IS NOT TRUE",
    "SELECT id FROM t WHERE a = 1 OR b = 2 OR (c = 3 AND d = 4)",
    "SELECT id FROM t WHERE NOT (a = 1)",
    "SELECT * FROM orders WHERE id = ANY($1::bigint[])",
    "SELECT * FROM t WHERE (a, b) IN ((1, 2), (3, 4))",
    "SELECT greatest(a, b), least(a, b) FROM pairs",
    "SELECT * FROM t WHERE x IS DISTINCT FROM $1",
    "SELECT sum(CASE WHEN status = 'paid' THEN 1 ELSE 0 END) AS paid FROM orders",
    "SELECT * FROM logs ORDER BY id DESC FETCH FIRST 50 ROWS ONLY",
    "SELECT DISTINCT ON (customer_id) customer_id, id, created_at FROM orders ORDER BY customer_id, created_at DESC",
    "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED",
    "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
    "SELECT chr(65) || chr(66) AS ab",
    "SELECT encode(digest('abc', 'sha256'), 'hex')",
    "SELECT * FROM files WHERE sha256 = '\\xdeadbeef'::bytea",
    "SELECT 2 + 2 AS four",
    "SELECT 'a' = 'a' AS same",
    "SELECT id FROM t WHERE created_at > now() - interval '30 days' AND 1 = 1",
])
LITERAL += tagged("mysql", "reporting", [
    "SELECT DATE_FORMAT(created_at, '%Y-%m') AS month, SUM(total) FROM orders GROUP BY month WITH ROLLUP",
    "SELECT `status`, COUNT(*) AS c FROM `orders` GROUP BY `status` ORDER BY c DESC",
    "SELECT * FROM `orders` ORDER BY `id` DESC LIMIT 10, 20",
    "SELECT * FROM `products` WHERE `price` > 10 LIMIT 5",
    "SELECT IFNULL(`nickname`, `username`) AS display FROM `users` WHERE `id` = 3",
    "SELECT GROUP_CONCAT(DISTINCT `tag` ORDER BY `tag` SEPARATOR ', ') FROM `post_tags` WHERE `post_id` = 7",
    "SELECT CONCAT(`first_name`, ' ', `last_name`) FROM `contacts`",
    "SELECT IF(`stock` > 0, 'in stock', 'sold out') AS availability FROM `products`",
    "SELECT * FROM `users` WHERE `email` = 'a@example.com' AND `password_digest` IS NOT NULL",
    "SELECT COUNT(DISTINCT `user_id`) FROM `sessions` WHERE `created_at` > NOW() - INTERVAL 1 DAY",
    "SELECT `id` FROM `t` WHERE MATCH(`title`, `body`) AGAINST ('database gateway' IN NATURAL LANGUAGE MODE)",
    "SELECT `id`, `name` FROM `products` WHERE `name` LIKE 'lamp%' ORDER BY `name` LIMIT 0,10",
    "SELECT `a`.`id` FROM `a` LEFT JOIN `b` ON `b`.`a_id` = `a`.`id` WHERE `b`.`id` IS NULL",
    "SELECT 1",
    "SELECT @@version",
    "SELECT DATABASE()",
    "SELECT LAST_INSERT_ID()",
    "SELECT FOUND_ROWS()",
    "SELECT UNIX_TIMESTAMP()",
    "SELECT HEX(`uuid`) FROM `devices` WHERE `id` = 1",
    "SELECT * FROM `devices` WHERE `uuid` = UNHEX('0123456789abcdef0123456789abcdef')",
    "SELECT * FROM `blobs` WHERE `digest` = X'DEADBEEF'",
    "SELECT * FROM `t` WHERE `flags` & 4 = 4",
    "SELECT * FROM `t` WHERE `a` = 1 XOR `b` = 2",
    "SELECT * FROM `orders` WHERE `id` = 5 FOR UPDATE",
    "SELECT * FROM `orders` WHERE `id` = 5 LOCK IN SHARE MODE",
    "SELECT SQL_CALC_FOUND_ROWS * FROM `posts` LIMIT 10",
    "SELECT MD5('abc')",
    "SELECT SHA2(`email`, 256) FROM `users` LIMIT 1",
    "SELECT * FROM `events` WHERE JSON_EXTRACT(`payload`, '$.type') = 'click'",
    "SELECT `payload`->>'$.type' FROM `events` LIMIT 5",
])

# ON DUPLICATE KEY, REPLACE, upserts.
LITERAL += tagged("mysql", "orm", [
    "INSERT INTO `counters` (`name`, `value`) VALUES ('hits', 1) ON DUPLICATE KEY UPDATE `value` = `value` + 1",
    "INSERT INTO `settings` (`k`, `v`) VALUES ('theme', 'dark') ON DUPLICATE KEY UPDATE `v` = VALUES(`v`)",
    "INSERT IGNORE INTO `tags` (`name`) VALUES ('go'), ('rust')",
    "REPLACE INTO `cache` (`key`, `value`, `expires`) VALUES ('k', 'v', 1714557600)",
    "INSERT INTO `users` (`email`, `name`) VALUES (?, ?)",
    "UPDATE `users` SET `login_count` = `login_count` + 1 WHERE `id` = ?",
    "DELETE FROM `sessions` WHERE `expires_at` < NOW() LIMIT 1000",
])
LITERAL += tagged("postgres", "orm", [
    "INSERT INTO counters (name, value) VALUES ('hits', 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
    "INSERT INTO settings (k, v) VALUES ($1, $2) ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v RETURNING *",
    "INSERT INTO tags (name) VALUES ('go'), ('rust') ON CONFLICT DO NOTHING",
    "UPDATE accounts SET balance = balance - $1 WHERE id = $2 AND balance >= $1 RETURNING balance",
    "DELETE FROM sessions WHERE expires_at < now() RETURNING id",
    "WITH moved AS (DELETE FROM queue WHERE id = $1 RETURNING *) INSERT INTO queue_archive SELECT * FROM moved",
    "UPDATE orders SET status = 'shipped' FROM shipments WHERE shipments.order_id = orders.id AND shipments.sent",
    "COPY orders (id, total) FROM STDIN WITH (FORMAT csv)",
    "COPY (SELECT id, email FROM users) TO STDOUT WITH CSV HEADER",
    "SELECT * FROM users WHERE id = $1 AND tenant_id = $2",
    "SELECT * FROM users WHERE id = :id",
    "SELECT * FROM users WHERE email = ?",
])

# Introspection: psql \d, ORM schema readers, monitoring.
LITERAL += tagged("postgres", "admin", [
    "SELECT n.nspname as \"Schema\", c.relname as \"Name\", CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as \"Type\", pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\" FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog' AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema' AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 1,2",
    "SELECT c.oid, n.nspname, c.relname FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' COLLATE pg_catalog.default AND pg_catalog.pg_table_is_visible(c.oid) ORDER BY 2, 3",
    "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true) FROM pg_catalog.pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef), a.attnotnull FROM pg_catalog.pg_attribute a WHERE a.attrelid = '16384' AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    "SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = 'public' AND table_name = $1 ORDER BY ordinal_position",
    "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = ANY(current_schemas(false))",
    "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = '\"users\"'::regclass AND i.indisprimary",
    "SELECT t.oid, t.typname, t.typelem, t.typdelim, t.typinput, r.rngsubtype, t.typtype, t.typbasetype FROM pg_type as t LEFT JOIN pg_range as r ON oid = rngtypid WHERE t.typname IN ('int2', 'int4', 'int8', 'oid', 'float4', 'float8', 'numeric', 'bool')",
    "SELECT pid, usename, application_name, state, query_start, left(query, 100) FROM pg_stat_activity WHERE state <> 'idle' ORDER BY query_start",
    "SELECT pg_cancel_backend(12345)",
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'app' AND state = 'idle in transaction' AND state_change < now() - interval '10 minutes'",
    "SELECT relname, n_live_tup, n_dead_tup, last_autovacuum FROM pg_stat_user_tables ORDER BY n_dead_tup DESC LIMIT 20",
    "SELECT pg_size_pretty(pg_database_size(current_database()))",
    "SELECT pg_size_pretty(pg_total_relation_size('orders'))",
    "SELECT schemaname, indexrelname, idx_scan FROM pg_stat_user_indexes WHERE idx_scan = 0",
    "SELECT datname FROM pg_database WHERE datistemplate = false",
    "SELECT rolname, rolsuper, rolcanlogin FROM pg_roles ORDER BY 1",
    "SELECT * FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid WHERE NOT l.granted",
    "SELECT pg_is_in_recovery()",
    "SELECT pg_current_wal_lsn()",
    "SELECT setting FROM pg_settings WHERE name = 'max_connections'",
    "SELECT current_setting('server_version_num')",
    "SELECT pg_sleep(1)",
    "SELECT pg_sleep(0.5)",
    "SELECT pg_sleep_for('100 milliseconds')",
    "SHOW server_version",
    "SHOW search_path",
    "SHOW ALL",
    "SET search_path TO app, public",
    "SET application_name = 'billing-worker'",
    "SET statement_timeout = 30000",
    "SET TIME ZONE 'UTC'",
    "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL READ COMMITTED",
    "RESET ALL",
    "BEGIN",
    "BEGIN ISOLATION LEVEL SERIALIZABLE",
    "COMMIT",
    "ROLLBACK",
    "SAVEPOINT active_record_1",
    "RELEASE SAVEPOINT active_record_1",
    "ROLLBACK TO SAVEPOINT active_record_1",
    "DISCARD ALL",
    "LISTEN jobs_channel",
    "NOTIFY jobs_channel, 'wake'",
    "SELECT pg_notify('jobs_channel', $1)",
    "VACUUM ANALYZE orders",
    "ANALYZE users",
    "EXPLAIN ANALYZE SELECT * FROM orders WHERE customer_id = 42",
    "EXPLAIN (FORMAT JSON) SELECT * FROM orders WHERE id = 1",
    "PREPARE get_user (int) AS SELECT * FROM users WHERE id = $1",
    "EXECUTE get_user(1)",
    "DEALLOCATE get_user",
    "DEALLOCATE ALL",
    "LOCK TABLE orders IN SHARE ROW EXCLUSIVE MODE",
    "SELECT has_table_privilege('app', 'orders', 'SELECT')",
    "SELECT obj_description('orders'::regclass, 'pg_class')",
    "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = 'public'",
    "SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'reporting'",
    "SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'schema_migrations')",
    "SELECT kcu.column_name FROM information_schema.table_constraints tc JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_name = 'users'",
    "SELECT count(*) FROM pg_stat_replication",
    "SELECT slot_name, active FROM pg_replication_slots",
    "SELECT * FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 10",
    "SELECT usename FROM pg_user WHERE usename = current_user",
    "SELECT query FROM pg_stat_activity WHERE pid = pg_backend_pid()",
    "SELECT pg_reload_conf()",
    "SELECT txid_current()",
    "SELECT gen_random_uuid()",
    "SELECT pg_try_advisory_lock(hashtext('cron:cleanup'))",
])
LITERAL += tagged("mysql", "admin", [
    "SHOW TABLES",
    "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'",
    "SHOW COLUMNS FROM `users`",
    "SHOW FULL COLUMNS FROM `orders`",
    "SHOW INDEX FROM `orders`",
    "SHOW CREATE TABLE `orders`",
    "SHOW VARIABLES LIKE 'max_connections'",
    "SHOW GLOBAL STATUS LIKE 'Threads_connected'",
    "SHOW PROCESSLIST",
    "SHOW DATABASES",
    "SHOW WARNINGS",
    "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
    "SELECT column_name, data_type, is_nullable FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' ORDER BY ordinal_position",
    "SELECT `TABLE_NAME` FROM `INFORMATION_SCHEMA`.`TABLES` WHERE `TABLE_SCHEMA` = 'shop' AND `TABLE_TYPE` = 'BASE TABLE'",
    "SELECT CONSTRAINT_NAME, COLUMN_NAME, REFERENCED_TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME = 'orders' AND REFERENCED_TABLE_NAME IS NOT NULL",
    "SELECT * FROM information_schema.processlist WHERE command != 'Sleep'",
    "SELECT SLEEP(1)",
    "SELECT @@session.transaction_isolation",
    "SELECT @@SESSION.sql_mode",
    "SELECT @@autocommit, @@tx_isolation",
    "SET autocommit = 1",
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET @a = 5",
    "START TRANSACTION",
    "COMMIT",
    "ROLLBACK",
    "USE `shop`",
    "KILL QUERY 1234",
    "ANALYZE TABLE `orders`",
    "EXPLAIN SELECT * FROM `orders` WHERE `customer_id` = 42",
    "SELECT COUNT(*) FROM mysql.user",
    "SELECT user, host FROM mysql.user ORDER BY user",
])

# sqlcommenter / marginalia / hibernate comments, and comments in general.
LITERAL += tagged("postgres", "comments", [
    "SELECT * FROM orders WHERE id = $1 /*controller='orders',action='show',framework='django%3A4.2'*/",
    "SELECT * FROM users WHERE id = $1 /*traceparent='00-5bd66ef5095369c7b0d1f8f4bd33716a-c532cb4098ac3dd2-01'*/",
    "SELECT \"users\".* FROM \"users\" WHERE \"users\".\"id\" = $1 LIMIT $2 /*application:Shop,line:/app/controllers/users_controller.rb:12:in `show'*/",
    "/* request_id=9f1c */ SELECT * FROM carts WHERE user_id = $1",
    "-- name: GetUser :one\nSELECT id, email FROM users WHERE id = $1",
    "-- name: ListOrders :many\nSELECT id, total FROM orders WHERE customer_id = $1 ORDER BY id",
    "SELECT id, -- primary key\n email -- login\nFROM users\nWHERE id = $1",
    "SELECT id\nFROM orders\nWHERE status = 'open' -- only open ones\n  AND customer_id = $1",
    "SELECT *\nFROM products\nWHERE price > 0\n-- ORDER BY price\nLIMIT 10",
    "/* Hibernate */ select o1_0.id from orders o1_0 where o1_0.id=?",
    "SELECT 1 -- keepalive",
    "SELECT 1; -- healthcheck",
    "SELECT 1 /* ping */",
    "-- Flyway V2__add_index\nCREATE INDEX idx_users_created ON users (created_at)",
])
LITERAL += tagged("mysql", "comments", [
    "SELECT `orders`.* FROM `orders` WHERE `orders`.`id` = 1 LIMIT 1 /*application:Shop,controller:orders,action:show*/",
    "/* ApplicationName=DBeaver 23.0 - Main */ SELECT * FROM `users` LIMIT 200",
    "SELECT * FROM `users` WHERE `id` = 3 /* user lookup */",
    "# nightly report\nSELECT COUNT(*) FROM `orders`",
    "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM `orders` WHERE `status` = 'open'",
    "SELECT /*+ INDEX(o idx_created) */ * FROM `orders` o WHERE o.`created_at` > '2024-01-01'",
])

# Edge cases: each looks like one injection signal and is ordinary SQL.
LITERAL += tagged("postgres", "edge", [
    'SELECT "users".* FROM "users" WHERE ("users"."id" IN (1, 2) OR 1=0)',
    'SELECT "users".* FROM "users" WHERE "users"."active" = TRUE AND 1=0',
    "SELECT users.id AS users_id FROM users WHERE users.name = %(name_1)s AND 1 != 1",
    "SELECT users.id FROM users WHERE users.id NOT IN (SELECT CAST(NULL AS INTEGER) WHERE 1!=1)",
    "SELECT CASE WHEN 1=1 THEN 'on' ELSE 'off' END AS flag",
    "SELECT count(*) FILTER (WHERE 1=1) FROM orders",
    "SELECT 'Total: ' || (SELECT count(*) FROM orders) AS summary",
    "SELECT concat('Order #', id) AS label FROM orders WHERE id = $1",
    "SELECT id, name FROM products ORDER BY 2, 1",
    "SELECT status, count(*) FROM orders GROUP BY 1 ORDER BY 2 DESC LIMIT 5",
    "SELECT id FROM orders ORDER BY id DESC LIMIT 10 -- latest first",
    "SELECT * FROM users WHERE email = $1 -- login lookup",
    "SELECT * FROM users\n-- WHERE deleted_at IS NULL\nLIMIT 10",
    "SELECT (SELECT count(*) FROM orders)::int AS n",
    "SELECT CAST(price AS integer) FROM products WHERE id = 3",
    "SELECT id FROM t WHERE $1::text IS NULL OR name = $1",
    "SELECT * FROM events WHERE kind = 'union' AND note = 'select from where'",
    "SELECT * FROM logs WHERE message LIKE '%OR 1=1%'",
    "SELECT * FROM t WHERE a = 'x''y' AND b = ''",
    "SELECT upper(left(name, 1)) AS initial, count(*) FROM contacts GROUP BY 1",
    "SELECT * FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()",
    "SELECT id, NULL AS parent_id, name FROM roots UNION ALL SELECT id, parent_id, name FROM children",
    "SELECT * FROM orders WHERE created_at > now() - interval '1 day' ORDER BY created_at DESC FOR UPDATE",
    "SELECT sum(amount) FROM payments WHERE paid AND NOT refunded",
    "SELECT * FROM accounts WHERE (a = $1 AND 1=1) OR (b = $2 AND 1=1)",
])
LITERAL += tagged("mysql", "edge", [
    "SELECT * FROM `users` WHERE `users`.`id` IN (1, 2) OR 1=0",
    "SELECT CONCAT('Order #', `id`) FROM `orders` WHERE `id` = 7",
    "SELECT * FROM `orders` ORDER BY 2 DESC LIMIT 10, 10",
    "SELECT * FROM `t` WHERE `name` = \"double quoted\"",
    "SELECT * FROM `notes` WHERE `body` = 'it\\'s here'",
    "SELECT `id` FROM `users` WHERE `email` = 'a@example.com' # login",
    "SELECT IF(1=1, 'yes', 'no')",
    "SELECT * FROM `products` WHERE `id` = 5 LIMIT 1 /* cache:miss */",
])

# SQLite (embedded apps, migrations).
LITERAL += tagged("sqlite", "orm", [
    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'",
    "PRAGMA table_info(users)",
    "SELECT * FROM users WHERE id = ?1",
    "INSERT INTO users (email) VALUES (?) RETURNING id",
    "CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v BLOB)",
    "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)",
    "SELECT v FROM kv WHERE k = ?",
])

# Hard negatives for the predicate-term rules: the same constructs as the attacks, over columns
# and parameters, or where drivers and ORMs send them.
LITERAL += tagged("postgres", "hard-negative", [
    "SELECT * FROM blog_post WHERE true",
    "SELECT * FROM blog_post WHERE 1=1 AND slug = $1",
    "SELECT * FROM blog_post WHERE false",
    "SELECT CAST(amount AS int), quantity::int, price::numeric(10,2) FROM order_items WHERE order_id = $1",
    "SELECT * FROM order_items WHERE CAST(sku AS int) = $1 AND quantity::int > 2",
    "SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id)",
    "SELECT * FROM users u WHERE NOT EXISTS (SELECT 1 FROM bans b WHERE b.user_id = u.id AND b.active)",
    "SELECT * FROM users WHERE email ~ '@example\\.com$' AND name ~* $1",
    "SELECT * FROM users WHERE name !~ '^test_'",
    "SELECT * FROM products WHERE sku SIMILAR TO 'AB-[0-9]+' AND name NOT SIMILAR TO $1",
    "SELECT * FROM products WHERE id = ANY($1) AND category_id <> ALL($2::int[])",
    "SELECT * FROM products WHERE tags @> ARRAY['sale'] AND id = ANY(ARRAY[1, 2, 3]::int[] || $1)",
    "SELECT id, CASE WHEN status = 'paid' THEN 1 ELSE 0 END AS paid FROM orders",
    "SELECT * FROM orders WHERE CASE WHEN $1::text = 'all' THEN true ELSE status = $1 END",
    "SELECT * FROM orders WHERE (CASE status WHEN 'paid' THEN 1 WHEN 'open' THEN 2 ELSE 3 END) = $1",
    "SELECT current_user",
    "SELECT session_user, current_user, current_database()",
    "SELECT current_setting('TimeZone')",
    "SELECT current_setting('server_version_num')::int",
    "SELECT CAST(current_setting('server_version_num') AS integer)",
    "SET application_name = 'billing'",
    "SELECT substr(name, 1, 3), length(name), upper(substr(name, 1, 1)) FROM users WHERE id = $1",
    "SELECT * FROM users WHERE substr(name, 1, 1) = $1 AND length(name) > 3",
    "SELECT * FROM documents WHERE owner = current_user",
    "SELECT * FROM documents WHERE tenant_id = current_setting('app.tenant_id')::int",
    "SELECT * FROM documents WHERE created_by = session_user AND updated_at > now() - interval '1 day'",
    "SELECT * FROM events WHERE date > '2024-01-01' AND time < '12:00'",
    "SELECT * FROM flags WHERE enabled = 't' AND archived = 'f'::boolean",
    "SELECT * FROM flags WHERE enabled IS TRUE AND coalesce(archived, 'f'::bool) = false",
    "SELECT pg_try_advisory_xact_lock(42)",
    "SELECT * FROM jobs WHERE id = $1 AND pg_try_advisory_xact_lock(id)",
    "SELECT count(*)::int FROM pg_class WHERE relkind = 'r'",
    "SELECT rolname FROM pg_roles WHERE rolname = current_user AND rolsuper",
    "SELECT has_table_privilege('orders', 'SELECT')",
    "SELECT lo_unlink(oid) FROM orphaned_blobs WHERE created < now() - interval '30 days'",
])
LITERAL += tagged("mysql", "hard-negative", [
    "SELECT * FROM `users` WHERE `email` REGEXP '^[a-z]+@' AND `name` RLIKE ?",
    "SELECT `version`, `user`, `database` FROM `deployments` WHERE `id` = 3",
    "SELECT VERSION()",
    "SELECT DATABASE(), USER(), CURRENT_USER()",
    "SELECT CAST(`price` AS SIGNED), CAST(? AS UNSIGNED) FROM `products`",
    "SELECT group_concat(`name`) FROM `tags` WHERE `post_id` = 4",
])


def main():
    rows = []
    for t, cols, fk in MODELS:
        rows += tagged("postgres", "django", pg_django(t, cols, fk))
        rows += tagged("mysql", "rails", mysql_rails(t, cols, fk))
        rows += tagged("postgres", "rails", pg_rails(t, cols, fk))
        rows += tagged("postgres", "hibernate", hibernate(t, cols, fk))
        rows += tagged("postgres", "sqlalchemy", sqlalchemy(t, cols, fk))
        rows += tagged("postgres", "prisma", prisma(t, cols, fk))
        rows += tagged("postgres", "sequelize", sequelize(t, cols, fk))
        rows += tagged("mysql", "gorm", gorm(t, cols, fk))
        rows += tagged("postgres", "builder", builder(t, cols, fk))
    rows += LITERAL
    seen = set()
    out = []
    for dialect, source, sql in rows:
        line = sql.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", " ")
        if (dialect, line) in seen:
            continue
        seen.add((dialect, line))
        out.append("%s\t%s\t%s" % (dialect, source, line))
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "benign.txt")
    with open(path, "w") as f:
        f.write("# Generated by generate_benign.py: ordinary ORM, migration, reporting and admin SQL.\n")
        f.write("# dialect<TAB>source<TAB>sql; lines starting with # are comments.\n")
        f.write("\n".join(out) + "\n")
    print("wrote %d benign statements to %s" % (len(out), path))


if __name__ == "__main__":
    main()
