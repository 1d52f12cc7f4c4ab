"""SQLAlchemy 2 ORM sessions over psycopg 3, several threads sharing one engine: each thread
reads and changes its own row through the ORM and runs parameterised statements whose answers
name it. Every session handed back to SQLAlchemy's pool is rolled back there, and psycopg
follows a ROLLBACK with DEALLOCATE ALL once it has prepared statements (it prepares a
statement on its own after `prepare_threshold` = 5 executions)."""

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

import common
from common import CLIENTS, ITERS, MAX_ERRORS_PER_CLIENT

T = common.Tally("sqlalchemy")


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "drv_sqlalchemy"
    client: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    n: Mapped[int]
    who: Mapped[str]


ENGINE = create_engine(
    URL.create(
        "postgresql+psycopg",
        username=common.USER,
        password=common.PASSWORD,
        host=common.HOST,
        port=common.PORT,
        database=common.DBNAME,
        query={"sslmode": "disable", "connect_timeout": "10"},
    ),
    pool_size=CLIENTS,
    max_overflow=0,
    pool_timeout=20,
)

WHO = text("SELECT CAST(:id AS int) AS id, CAST(:who AS text) AS who")


def setup():
    Base.metadata.drop_all(ENGINE)
    Base.metadata.create_all(ENGINE)
    with Session(ENGINE) as s:
        s.add_all([Row(client=c, n=0, who="init") for c in range(1, CLIENTS + 1)])
        s.commit()


class State:
    def __init__(self):
        self.n = 0
        self.who = "init"


def iteration(c, i, st):
    who = f"c{c}-i{i}"
    # A unit of work: read own row, change it, commit.
    with Session(ENGINE) as s:
        row = s.get(Row, c)
        T.check(c, "orm get", (row.n, row.who), (st.n, st.who))
        row.n += 1
        row.who = who
        s.commit()
        st.n += 1
        st.who = who
    # Read-only work; the session is closed without a commit (rolled back on return).
    with Session(ENGINE) as s:
        # Six runs of one statement: psycopg prepares it at the fifth (prepare_threshold).
        for k in range(6):
            kwho = f"{who}-k{k}"
            got = s.execute(WHO, {"id": c, "who": kwho}).one()
            T.check(c, "text select", tuple(got), (c, kwho))
        got = s.scalars(select(Row).where(Row.client == c)).one()
        T.check(c, "orm select", (got.client, got.n, got.who), (c, st.n, st.who))
        tag = s.execute(text(f"SELECT CAST(:i AS int) AS i, {c} AS tag"), {"i": i}).one()
        T.check(c, "per-client statement text", tuple(tag), (i, c))
    # A change rolled back explicitly: nothing of it stays.
    if i % 3 == 2:
        with Session(ENGINE) as s:
            row = s.get(Row, c)
            row.n += 100
            row.who = f"{who}-discarded"
            s.flush()
            again = s.execute(select(Row.n, Row.who).where(Row.client == c)).one()
            T.check(c, "flushed, not committed", tuple(again), (st.n + 100, f"{who}-discarded"))
            s.rollback()
            again = s.execute(select(Row.n, Row.who).where(Row.client == c)).one()
            T.check(c, "after rollback", tuple(again), (st.n, st.who))


def client(c):
    errors = 0
    st = State()
    for i in range(ITERS):
        try:
            iteration(c, i, st)
            T.iteration_done()
        except SQLAlchemyError as e:
            T.error(c, f"iteration {i}", e)
            errors += 1
            if errors >= MAX_ERRORS_PER_CLIENT:
                return
            try:
                with Session(ENGINE) as s:
                    row = s.get(Row, c)
                    st.n, st.who = row.n, row.who
            except SQLAlchemyError as e2:
                T.error(c, "resync", e2)


def main():
    setup()
    common.run_threads(T, client)


if __name__ == "__main__":
    main()
