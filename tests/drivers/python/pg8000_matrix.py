"""pg8000 (pure Python), several clients at once, each checking it gets exactly its own
answers. pg8000 runs a statement with parameters as the unnamed statement split over three
Syncs (Parse+Sync; Describe+Sync and Bind; Execute+Sync), so a pooler that hands the server
connection back at a Sync outside a transaction separates the Parse from its Bind and
Execute. Also named statements from `prepare()` (pg8000_statement_0 in every client, with a
different text per client), and transactions committed or rolled back."""

import pg8000.native
from pg8000.exceptions import DatabaseError, InterfaceError

import common
from common import CLIENTS, ITERS, MAX_ERRORS_PER_CLIENT

T = common.Tally("pg8000")

UPDATE_ROW = "UPDATE drv_pg8000 SET n = n + 1, who = :who WHERE client = :c RETURNING n, who"
READ_ROW = "SELECT n, who FROM drv_pg8000 WHERE client = :c"


def connect():
    return pg8000.native.Connection(
        common.USER,
        host=common.HOST,
        port=common.PORT,
        database=common.DBNAME,
        password=common.PASSWORD,
        timeout=10,
    )


def setup():
    con = connect()
    con.run("DROP TABLE IF EXISTS drv_pg8000")
    con.run("CREATE TABLE drv_pg8000 (client int PRIMARY KEY, n int NOT NULL, who text NOT NULL)")
    for c in range(1, CLIENTS + 1):
        con.run("INSERT INTO drv_pg8000 (client, n, who) VALUES (:c, 0, 'init')", c=c)
    con.close()


class State:
    def __init__(self, con, c):
        self.n = 0
        self.who = "init"
        self.prepare(con, c)

    def prepare(self, con, c):
        # The first named statement of every client has the same text, the second a text of
        # its own: both are pg8000_statement_0 / _1 in every session.
        self.who_stmt = con.prepare("SELECT CAST(:id AS int) AS id, CAST(:who AS text) AS who")
        self.tag_stmt = con.prepare(f"SELECT CAST(:i AS int) AS i, {c} AS tag")


def one(rows):
    return tuple(rows[0]) if len(rows) == 1 else ("rows", [tuple(r) for r in rows])


def iteration(con, c, i, st):
    who = f"c{c}-i{i}"
    got = one(con.run("SELECT CAST(:id AS int) AS id, CAST(:who AS text) AS who", id=c, who=who))
    T.check(c, "unnamed select", got, (c, who))
    T.check(c, "named select", one(st.who_stmt.run(id=c, who=f"{who}-n")), (c, f"{who}-n"))
    T.check(c, "per-client named statement", one(st.tag_stmt.run(i=i)), (i, c))
    con.run("START TRANSACTION")
    T.check(c, "update returning", one(con.run(UPDATE_ROW, who=who, c=c)), (st.n + 1, who))
    T.check(c, "read in transaction", one(con.run(READ_ROW, c=c)), (st.n + 1, who))
    if i % 4 == 3:
        con.run("ROLLBACK")
    else:
        con.run("COMMIT")
        st.n += 1
        st.who = who
    T.check(c, "read own row", one(con.run(READ_ROW, c=c)), (st.n, st.who))


def client(c):
    errors = 0
    con = connect()
    st = State(con, c)
    for i in range(ITERS):
        try:
            iteration(con, c, i, st)
            T.iteration_done()
        except (DatabaseError, InterfaceError, OSError) as e:
            T.error(c, f"iteration {i}", e)
            errors += 1
            if errors >= MAX_ERRORS_PER_CLIENT:
                return
            con = recover(con, c, st)


def recover(con, c, st):
    """After an error: roll back (or reconnect and prepare again) and learn the row's state."""
    try:
        con.run("ROLLBACK")
    except (DatabaseError, InterfaceError, OSError):
        try:
            con.close()
        except Exception:  # noqa: BLE001 - the connection is already broken
            pass
        con = connect()
        st.prepare(con, c)
    try:
        st.n, st.who = one(con.run(READ_ROW, c=c))
    except (DatabaseError, InterfaceError, OSError, ValueError) as e:
        T.error(c, "resync", e)
    return con


def main():
    setup()
    common.run_threads(T, client)


if __name__ == "__main__":
    main()
