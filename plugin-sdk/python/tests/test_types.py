import pytest

from articdbm_policy import (
    AccessMode,
    Finding,
    Level,
    StatementKind,
    TableAccess,
    Verdict,
    VerdictKind,
    access_of,
    allow,
    audit,
    deny,
    unqualified,
)
from articdbm_policy.testing import facts, guess_statements, query


def test_enum_values_are_wit_names_and_compare_as_strings():
    assert StatementKind.USE_DATABASE.value == "use-database"
    assert StatementKind("use-database") is StatementKind.USE_DATABASE
    assert StatementKind.DROP == "drop"
    assert str(StatementKind.DROP) == "drop"
    assert "drop" in [StatementKind.DROP]


@pytest.mark.parametrize("name", ["use-database", "USE_DATABASE", "use_database", StatementKind.USE_DATABASE])
def test_enum_parse_accepts_wit_and_python_names(name):
    assert StatementKind.parse(name) is StatementKind.USE_DATABASE


def test_enum_parse_rejects_unknown_names_listing_the_cases():
    with pytest.raises(ValueError, match="not a Level.*trace, debug, info, warn, error"):
        Level.parse("loud")


def test_has_statement_takes_members_or_names():
    f = facts(["select", "drop"])
    assert f.has_statement(StatementKind.DROP)
    assert f.has_statement("drop")
    assert not f.has_statement("insert")
    assert f.stacked
    with pytest.raises(ValueError):
        f.has_statement("dorp")


@pytest.mark.parametrize(
    "kinds, tables, write",
    [
        (["select"], [], False),
        (["show"], [], False),
        (["begin"], [], False),
        (["insert"], [], True),
        (["update"], [], True),
        (["merge"], [], True),
        (["delete"], [], True),
        (["create"], [], True),
        (["truncate"], [], True),
        (["grant"], [], True),
        (["select", "drop"], [], True),
        (["copy"], ["orders:insert"], True),
        (["copy"], ["orders:read"], False),
    ],
)
def test_is_write(kinds, tables, write):
    assert facts(kinds, tables).is_write() is write


def test_is_read_only_excludes_locking_reads_and_copy():
    assert facts(["select", "explain"]).is_read_only()
    assert not facts(["select"], locking_read=True).is_read_only()
    assert not facts(["copy"]).is_read_only()
    assert facts([]).is_read_only()


def test_access_of_matches_the_rust_sdk():
    assert access_of("select") is AccessMode.READ
    assert access_of(StatementKind.MERGE) is AccessMode.UPDATE
    assert access_of("revoke") is AccessMode.DDL
    assert access_of("begin") is None


def test_tables_with_and_calls():
    q = query("SELECT pg_catalog.pg_sleep(1) FROM public.orders", tables=["public.orders", "x:insert"])
    assert [t.qualified_name for t in q.facts.tables_with("read")] == ["public.orders"]
    assert [t.name for t in q.facts.tables_with(AccessMode.INSERT)] == ["x"]
    q.facts.functions.append(__import__("articdbm_policy").FunctionCall("pg_catalog.pg_sleep", "projection"))
    assert q.facts.calls("pg_sleep")
    assert not q.facts.calls("sleep")
    assert unqualified("a.b.c") == "c"


def test_table_string_defaults_to_the_statement_access():
    f = facts(["delete"], ["s.t"])
    assert f.tables == [TableAccess(name="t", schema="s", access=AccessMode.DELETE)]


def test_guess_statements_skips_comments_and_strings():
    assert guess_statements("/* DROP */ SELECT ';drop'; -- x\n DELETE FROM t") == [
        StatementKind.SELECT,
        StatementKind.DELETE,
    ]
    assert guess_statements("WITH x AS (SELECT 1) SELECT * FROM x") == [StatementKind.SELECT]
    assert guess_statements("frobnicate") == [StatementKind.OTHER]
    assert guess_statements("  ;  ") == []


def test_verdict_helpers():
    assert allow().is_allow and allow().rule is None
    d = deny("x.rule", "because", 0.5)
    assert d.is_deny and d.rule == "x.rule" and d.reason == "because" and d.finding.score == 0.5
    a = audit("x.audit", "noted")
    assert a.is_audit and not a.is_deny and a.kind is VerdictKind.AUDIT
    assert repr(d) == "Verdict(deny x.rule: 'because')"


@pytest.mark.parametrize("score", [-0.1, 1.5, float("nan")])
def test_scores_outside_unit_interval_are_refused(score):
    with pytest.raises(ValueError):
        deny("r", "why", score)


def test_score_must_be_a_number():
    with pytest.raises(TypeError):
        audit("r", "why", "high")
    with pytest.raises(TypeError):
        deny("r", None)


def test_verdict_shape_is_checked():
    with pytest.raises(ValueError):
        Verdict(VerdictKind.DENY)
    with pytest.raises(ValueError):
        Verdict(VerdictKind.ALLOW, Finding("r", "x"))
