"""psycopg 3, several clients at once, each checking it gets exactly its own answers:
server-side prepared statements (`prepare=True`) reused across rollbacks (psycopg sends
DEALLOCATE ALL after a ROLLBACK once it has prepared statements), a statement name that every
client uses for a different text, pipeline mode, and COPY FROM STDIN / COPY TO STDOUT.

With DRV_PSYCOPG_PREPARE=0 nothing is prepared on the server (`prepare=False`, no automatic
preparation), so pipeline mode and COPY are checked on their own."""

import os

import psycopg

import common
from common import CLIENTS, ITERS, MAX_ERRORS_PER_CLIENT

PREPARE = os.environ.get("DRV_PSYCOPG_PREPARE", "1") != "0"
T = common.Tally("psycopg" if PREPARE else "psycopg (nothing prepared)")

SELECT_WHO = "SELECT %s::int AS id, %s::text AS who"
UPDATE_ROW = "UPDATE drv_psycopg SET n = n + 1, who = %s WHERE client = %s RETURNING n, who"
READ_ROW = "SELECT n, who FROM drv_psycopg WHERE client = %s"


def connect():
    conn = psycopg.connect(common.conninfo())
    if not PREPARE:
        conn.prepare_threshold = None
    return conn


def setup():
    with psycopg.connect(common.conninfo(), autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS drv_psycopg")
        conn.execute("DROP TABLE IF EXISTS drv_psycopg_copy")
        conn.execute("CREATE TABLE drv_psycopg (client int PRIMARY KEY, n int NOT NULL, who text NOT NULL)")
        conn.execute("CREATE TABLE drv_psycopg_copy (client int NOT NULL, seq int NOT NULL, payload text NOT NULL)")
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO drv_psycopg (client, n, who) VALUES (%s, 0, 'init')",
                [(c,) for c in range(1, CLIENTS + 1)],
            )


class State:
    def __init__(self):
        self.n = 0
        self.who = "init"


def iteration(conn, c, i, st):
    who = f"c{c}-i{i}"
    ex = conn.execute
    T.check(c, "prepared select", ex(SELECT_WHO, (c, who), prepare=PREPARE).fetchone(), (c, who))
    # Every client prepares this shape with its own text; psycopg names statements by order of
    # preparation (_pg3_0, _pg3_1, ...), so the same name means different text per client.
    row = ex(f"SELECT %s::int AS i, {c}::int AS tag", (i,), prepare=PREPARE).fetchone()
    T.check(c, "per-client statement text", row, (i, c))
    row = ex(UPDATE_ROW, (who, c), prepare=PREPARE).fetchone()
    T.check(c, "update returning", row, (st.n + 1, who))
    if i % 4 == 3:
        conn.rollback()
    else:
        conn.commit()
        st.n += 1
        st.who = who
    T.check(c, "read own row", ex(READ_ROW, (c,), prepare=PREPARE).fetchone(), (st.n, st.who))
    conn.commit()

    if i % 3 == 0:
        pwho = f"{who}-p"
        with conn.pipeline():
            curs = [ex(SELECT_WHO, (c, f"{who}-p{k}"), prepare=PREPARE) for k in range(4)]
            upd = ex(UPDATE_ROW, (pwho, c), prepare=PREPARE)
            back = ex(READ_ROW, (c,), prepare=PREPARE)
        for k, cur in enumerate(curs):
            T.check(c, "pipeline select", cur.fetchone(), (c, f"{who}-p{k}"))
        T.check(c, "pipeline update", upd.fetchone(), (st.n + 1, pwho))
        T.check(c, "pipeline read", back.fetchone(), (st.n + 1, pwho))
        conn.commit()
        st.n += 1
        st.who = pwho

    if i % 5 == 1:
        rows = [(c, i, f"{who}-r{k}") for k in range(20)]
        with conn.cursor() as cur:
            with cur.copy("COPY drv_psycopg_copy (client, seq, payload) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            T.check(c, "copy in rowcount", cur.rowcount, len(rows))
            conn.commit()
            sql = (
                "COPY (SELECT client, seq, payload FROM drv_psycopg_copy "
                f"WHERE client = {c} AND seq = {i} ORDER BY payload) TO STDOUT"
            )
            with cur.copy(sql) as cp:
                got = [tuple(r) for r in cp.rows()]
            want = sorted((str(a), str(b), p) for a, b, p in rows)
            T.check(c, "copy out", got, want)
        conn.commit()


def client(c):
    errors = 0
    st = State()
    conn = connect()
    for i in range(ITERS):
        try:
            iteration(conn, c, i, st)
            T.iteration_done()
        except psycopg.Error as e:
            T.error(c, f"iteration {i}", e)
            errors += 1
            if errors >= MAX_ERRORS_PER_CLIENT:
                return
            conn = recover(conn, c, st)


def recover(conn, c, st):
    """After an error: roll back (or reconnect) and learn the row's committed state again."""
    try:
        conn.rollback()
    except psycopg.Error:
        conn.close()
        conn = connect()
    try:
        st.n, st.who = conn.execute(READ_ROW, (c,)).fetchone()
        conn.commit()
    except psycopg.Error as e:
        T.error(c, "resync", e)
        conn.rollback()
    return conn


def main():
    setup()
    common.run_threads(T, client)


if __name__ == "__main__":
    main()
