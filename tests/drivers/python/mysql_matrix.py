"""MySQL driver matrix program (tests/tests/my_drivers.rs): several clients at once, each
checking that every answer is its own, through PyMySQL, mysql-connector-python or mysqlclient
(MySQLdb, on MariaDB's C library libmariadb).

Environment: MYHOST, MYPORT, MYUSER, MYPASSWORD, MYDATABASE; DRV_DRIVER (pymysql |
connector | mysqlclient), DRV_AUTH (caching_sha2_password | mysql_native_password; connector
only: PyMySQL and mysqlclient follow the server), DRV_CLIENTS, DRV_ITERS, DRV_DEADLINE_SECS.

Each client, per iteration: parameters with quotes, backslashes, NULL and unicode; a 1 MB value
once; a transaction inserting its own row, rolled back every fourth time; a server error
(duplicate key) and the connection going on. Once per client: an injection that must be
refused (error 1142; DRV_GATEWAY=0 skips this when run directly against a server), then a
statement that must still work. With connector, statements are
server-side prepared (cursor(prepared=True)) and reused across transactions.

Output: one JSON line (see tests/drivers/README.md); exit status 0 whatever was found.
"""

import json
import os
import threading
import time

DRIVER = os.environ.get("DRV_DRIVER", "pymysql")
AUTH = os.environ.get("DRV_AUTH", "caching_sha2_password")
CLIENTS = int(os.environ.get("DRV_CLIENTS", "8"))
ITERS = int(os.environ.get("DRV_ITERS", "30"))
DEADLINE = float(os.environ.get("DRV_DEADLINE_SECS", "60"))
# Through the gateway an injection must be refused; directly against the server it is not.
GATEWAY = os.environ.get("DRV_GATEWAY", "1") == "1"

lock = threading.Lock()
stats = {"completed": 0, "ok": 0, "mismatches": 0, "errors": 0}
mismatch_examples = []
error_examples = []
error_kinds = set()


def connect():
    args = dict(
        host=os.environ["MYHOST"],
        port=int(os.environ["MYPORT"]),
        user=os.environ["MYUSER"],
        password=os.environ["MYPASSWORD"],
        database=os.environ["MYDATABASE"],
    )
    if DRIVER == "pymysql":
        import pymysql

        return pymysql.connect(charset="utf8mb4", autocommit=True, **args)
    if DRIVER == "mysqlclient":
        import MySQLdb

        return MySQLdb.connect(
            host=args["host"],
            port=args["port"],
            user=args["user"],
            passwd=args["password"],
            db=args["database"],
            charset="utf8mb4",
            autocommit=True,
        )
    import mysql.connector

    return mysql.connector.connect(
        use_pure=True,
        auth_plugin=AUTH,
        autocommit=True,
        ssl_disabled=True,
        **args,
    )


def cursor(conn):
    if DRIVER in ("pymysql", "mysqlclient"):
        return conn.cursor()
    return conn.cursor(prepared=True)


def begin(conn):
    if DRIVER == "connector":
        conn.start_transaction()
    elif DRIVER == "pymysql":
        conn.begin()
    else:
        cur = conn.cursor()
        cur.execute("BEGIN")
        cur.close()


def ph(sql):
    # PyMySQL, mysqlclient and connector's prepared cursors all take %s placeholders.
    return sql


def error_code(e):
    for attr in ("errno", "args"):
        v = getattr(e, attr, None)
        if isinstance(v, int):
            return v
        if isinstance(v, tuple) and v and isinstance(v[0], int):
            return v[0]
    return None


def ok():
    with lock:
        stats["ok"] += 1


def mismatch(client, what):
    with lock:
        stats["mismatches"] += 1
        if len(mismatch_examples) < 5:
            mismatch_examples.append(f"client{client}: {what}")


def error(client, e):
    with lock:
        stats["errors"] += 1
        kind = type(e).__name__ + str(error_code(e))
        if kind not in error_kinds and len(error_examples) < 5:
            error_kinds.add(kind)
            error_examples.append(f"client{client}: {e!r}")


def setup():
    conn = connect()
    cur = conn.cursor()
    cur.execute("DROP TABLE IF EXISTS drv_rows")
    cur.execute(
        "CREATE TABLE drv_rows (client INT NOT NULL, n INT NOT NULL, v LONGTEXT,"
        " PRIMARY KEY (client, n)) CHARACTER SET utf8mb4"
    )
    conn.close()


def run_client(i, finished):
    try:
        conn = connect()
    except Exception as e:  # noqa: BLE001
        error(i, e)
        return
    try:
        for n in range(ITERS):
            label = f"client{i} 'q' \\ é ✓ {n}"
            cur = cursor(conn)
            cur.execute(ph("SELECT %s, %s, %s"), (i, label, None))
            row = cur.fetchone()
            cur.close()
            got = tuple(x.decode() if isinstance(x, (bytes, bytearray)) else x for x in row)
            if got == (i, label, None):
                ok()
            else:
                mismatch(i, f"select gave {got!r}")
            if n == 0:
                big = ("x" * 1023 + "\n") * 1024
                cur = cursor(conn)
                cur.execute(ph("SELECT LENGTH(%s), %s"), (big, i))
                row = cur.fetchone()
                cur.close()
                if int(row[0]) == len(big) and int(row[1]) == i:
                    ok()
                else:
                    mismatch(i, f"1 MB value gave length {row[0]}")
            # A transaction of its own, rolled back every fourth time.
            begin(conn)
            cur = cursor(conn)
            cur.execute(ph("INSERT INTO drv_rows (client, n, v) VALUES (%s, %s, %s)"), (i, n, label))
            cur.close()
            cur = cursor(conn)
            cur.execute(ph("SELECT COUNT(*) FROM drv_rows WHERE client = %s"), (i,))
            count = int(cur.fetchone()[0])
            cur.close()
            if n % 4 == 3:
                conn.rollback()
            else:
                conn.commit()
            expected = n - n // 4 + 1
            if count == expected:
                ok()
            else:
                mismatch(i, f"round {n}: {count} rows, expected {expected}")
            # A server error, then the connection goes on.
            try:
                cur = cursor(conn)
                cur.execute(ph("INSERT INTO drv_rows (client, n, v) VALUES (%s, %s, %s)"), (i, 0, "dup"))
                cur.close()
                mismatch(i, "duplicate key accepted")
            except Exception as e:  # noqa: BLE001
                if error_code(e) == 1062:
                    ok()
                else:
                    error(i, e)
            with lock:
                stats["completed"] += 1
        # An injection refused, and the connection still usable.
        if not GATEWAY:
            return
        try:
            cur = cursor(conn)
            cur.execute(ph("SELECT n FROM drv_rows WHERE client = %s OR 1=1"), (i,))
            cur.fetchall()
            mismatch(i, "injection not refused")
        except Exception as e:  # noqa: BLE001
            if error_code(e) == 1142 and "sqli." in str(e):
                ok()
            else:
                error(i, e)
        cur = cursor(conn)
        cur.execute(ph("SELECT %s"), (i,))
        if int(cur.fetchone()[0]) == i:
            ok()
        else:
            mismatch(i, "after the refusal")
        cur.close()
    except Exception as e:  # noqa: BLE001
        error(i, e)
    finally:
        finished.add(i)
        try:
            conn.close()
        except Exception:  # noqa: BLE001
            pass


def main():
    start = time.time()
    setup()
    finished = set()
    threads = [threading.Thread(target=run_client, args=(i, finished), daemon=True) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(max(0.0, DEADLINE - (time.time() - start)))
    unfinished = [i for i in range(CLIENTS) if i not in finished]
    stats["errors"] += len(unfinished)
    print(
        json.dumps(
            {
                "driver": f"{DRIVER}/{AUTH}" if DRIVER == "connector" else DRIVER,
                "clients": CLIENTS,
                "iterations": ITERS,
                **stats,
                "mismatch_examples": mismatch_examples,
                "error_examples": error_examples,
                "unfinished": unfinished,
                "seconds": round(time.time() - start, 2),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
