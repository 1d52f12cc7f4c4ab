"""asyncpg, many concurrent tasks (one connection each) on one event loop, each checking it gets
exactly its own answers. asyncpg prepares every statement it runs as a named server statement
(`__asyncpg_stmt_N__`, the same names in every session, for different texts where the text
names the client) and keeps it for reuse; half the clients have a statement cache smaller than
their working set, so asyncpg keeps closing evicted statements and preparing them again. Also
explicit `prepare()`, `executemany` (many Bind/Execute before one Sync), and transactions
committed or rolled back."""

import asyncio
import os

import asyncpg

import common
from common import ITERS, MAX_ERRORS_PER_CLIENT

# asyncpg is made for many tasks at once: half again the thread drivers' client count by default.
CLIENTS = int(os.environ.get("DRV_ASYNC_CLIENTS", str(common.CLIENTS * 3 // 2)))
common.CLIENTS = CLIENTS
T = common.Tally("asyncpg")

UPDATE_ROW = "UPDATE drv_asyncpg SET n = n + 1, who = $1 WHERE client = $2 RETURNING n, who"
READ_ROW = "SELECT n, who FROM drv_asyncpg WHERE client = $1"


class Rollback(Exception):
    """Raised inside a transaction block to roll it back on purpose."""


async def connect(cache=100):
    return await asyncpg.connect(
        host=common.HOST,
        port=common.PORT,
        user=common.USER,
        password=common.PASSWORD,
        database=common.DBNAME,
        ssl=False,
        timeout=10,
        command_timeout=10,
        statement_cache_size=cache,
    )


async def setup():
    con = await connect()
    await con.execute("DROP TABLE IF EXISTS drv_asyncpg")
    await con.execute("DROP TABLE IF EXISTS drv_asyncpg_log")
    await con.execute("CREATE TABLE drv_asyncpg (client int PRIMARY KEY, n int NOT NULL, who text NOT NULL)")
    await con.execute("CREATE TABLE drv_asyncpg_log (client int NOT NULL, seq int NOT NULL, k int NOT NULL)")
    await con.executemany(
        "INSERT INTO drv_asyncpg (client, n, who) VALUES ($1, 0, 'init')",
        [(c,) for c in range(1, CLIENTS + 1)],
    )
    await con.close()


class State:
    def __init__(self):
        self.n = 0
        self.who = "init"
        self.stmt = None


async def iteration(con, c, i, st):
    who = f"c{c}-i{i}"
    row = await con.fetchrow("SELECT $1::int AS id, $2::text AS who", c, who)
    T.check(c, "cached select", tuple(row), (c, who))
    row = await con.fetchrow(f"SELECT $1::int AS i, {c}::int AS tag", i)
    T.check(c, "per-client statement text", tuple(row), (i, c))
    if st.stmt is None:
        st.stmt = await con.prepare("SELECT $1::int AS id, $2::text AS who, $3::int AS i")
    row = await st.stmt.fetchrow(c, f"{who}-s", i)
    T.check(c, "explicit prepared", tuple(row), (c, f"{who}-s", i))
    try:
        async with con.transaction():
            row = await con.fetchrow(UPDATE_ROW, who, c)
            T.check(c, "update returning", tuple(row), (st.n + 1, who))
            if i % 4 == 3:
                raise Rollback()
        st.n += 1
        st.who = who
    except Rollback:
        pass
    row = await con.fetchrow(READ_ROW, c)
    T.check(c, "read own row", tuple(row), (st.n, st.who))
    if i % 5 == 0:
        ks = list(range(10))
        await con.executemany(
            "INSERT INTO drv_asyncpg_log (client, seq, k) VALUES ($1, $2, $3)",
            [(c, i, k) for k in ks],
        )
        row = await con.fetchrow(
            "SELECT count(*)::int, sum(k)::int FROM drv_asyncpg_log WHERE client = $1 AND seq = $2",
            c,
            i,
        )
        T.check(c, "executemany rows", tuple(row), (len(ks), sum(ks)))


def cache_size(c):
    """Even clients keep asyncpg's default statement cache; odd ones a cache smaller than the
    statements they run, so asyncpg keeps evicting (Close) and preparing again."""
    return 100 if c % 2 == 0 else 3


async def client(c):
    errors = 0
    st = State()
    con = await connect(cache_size(c))
    for i in range(ITERS):
        try:
            await iteration(con, c, i, st)
            T.iteration_done()
        except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as e:
            T.error(c, f"iteration {i}", e)
            errors += 1
            if errors >= MAX_ERRORS_PER_CLIENT:
                break
            con = await recover(con, c, st)
    await con.close()


async def recover(con, c, st):
    """After an error: reconnect if the connection is gone, and learn the row's state again."""
    if con.is_closed():
        con = await connect(cache_size(c))
        st.stmt = None
    try:
        row = await con.fetchrow(READ_ROW, c)
        st.n, st.who = row["n"], row["who"]
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, asyncio.TimeoutError) as e:
        T.error(c, "resync", e)
    return con


async def guarded(c):
    try:
        await client(c)
    except Exception as e:  # noqa: BLE001 - any failure is a counted error
        T.error(c, "client", e)


async def main():
    await setup()
    tasks = {c: asyncio.ensure_future(guarded(c)) for c in range(1, CLIENTS + 1)}
    await asyncio.wait(tasks.values(), timeout=common.DEADLINE_SECS)
    unfinished = [c for c, t in tasks.items() if not t.done()]
    for c in unfinished:
        T.error(c, "deadline", TimeoutError(f"still running after {common.DEADLINE_SECS}s"))
    common.finish(T, unfinished=unfinished)


if __name__ == "__main__":
    asyncio.run(main())
