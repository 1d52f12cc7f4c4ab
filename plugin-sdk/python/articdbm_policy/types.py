"""The contract's types (`articdbm:policy@0.1.2`, `wit/v0.1.2/policy.wit`) as plain Python.

Enums carry the WIT case name as their value (``StatementKind("use-database")``,
``StatementKind.USE_DATABASE.value == "use-database"``), so config files can name them. Records
are dataclasses with the WIT field names in snake_case. The component glue converts the
generated bindings into these types and back; tests build them directly.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Iterator, List, Optional, Union

__all__ = [
    "Protocol",
    "StatementKind",
    "AccessMode",
    "Clause",
    "CommentKind",
    "CommentPosition",
    "Connective",
    "IndicatorKind",
    "Level",
    "ReuseScope",
    "ReuseBasis",
    "Connection",
    "TableAccess",
    "FunctionCall",
    "Comment",
    "ConstantComparison",
    "LiteralCounts",
    "QueryFacts",
    "Query",
    "Finding",
    "Verdict",
    "VerdictKind",
    "IndicatorMatch",
    "access_of",
    "unqualified",
]


class _WitEnum(str, enum.Enum):
    """An enum whose values are the WIT case names; compares equal to them as strings."""

    def __str__(self) -> str:  # "drop", not "StatementKind.DROP"
        return self.value

    @classmethod
    def parse(cls, value: Union[str, "_WitEnum"]):
        """The member named `value`: a member, its WIT name ("use-database") or its Python
        name in any case ("USE_DATABASE", "use_database")."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            try:
                return cls(value)
            except ValueError:
                pass
            try:
                return cls[value.upper().replace("-", "_")]
            except KeyError:
                pass
        names = ", ".join(m.value for m in cls)
        raise ValueError(f"{value!r} is not a {cls.__name__} (one of: {names})")


class Protocol(_WitEnum):
    """The wire protocol the client speaks to the gateway."""

    POSTGRES = "postgres"
    MYSQL = "mysql"
    SQLITE = "sqlite"


class StatementKind(_WitEnum):
    """What kind of statement the SQL is; DDL is split by verb."""

    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    MERGE = "merge"
    CREATE = "create"
    ALTER = "alter"
    DROP = "drop"
    TRUNCATE = "truncate"
    GRANT = "grant"
    REVOKE = "revoke"
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    SAVEPOINT = "savepoint"
    SET = "set"
    SHOW = "show"
    COPY = "copy"
    EXPLAIN = "explain"
    CALL = "call"
    PREPARE = "prepare"
    EXECUTE = "execute"
    DEALLOCATE = "deallocate"
    LISTEN = "listen"
    NOTIFY = "notify"
    VACUUM = "vacuum"
    ANALYZE = "analyze"
    LOCK = "lock"
    USE_DATABASE = "use-database"
    OTHER = "other"


class AccessMode(_WitEnum):
    """How a statement uses a table. DDL covers CREATE, ALTER, DROP, TRUNCATE and similar."""

    READ = "read"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    DDL = "ddl"


class Clause(_WitEnum):
    """The clause in which an expression (a function call, a comparison) appears."""

    PROJECTION = "projection"
    FROM = "from"
    JOIN_CONDITION = "join-condition"
    WHERE = "where"
    HAVING = "having"
    GROUP_BY = "group-by"
    ORDER_BY = "order-by"
    LIMIT = "limit"
    VALUES = "values"
    OTHER = "other"


class CommentKind(_WitEnum):
    LINE = "line"
    BLOCK = "block"
    HASH = "hash"
    CONDITIONAL = "conditional"


class CommentPosition(_WitEnum):
    LEADING = "leading"
    INNER = "inner"
    TRAILING = "trailing"


class Connective(_WitEnum):
    """How a predicate term is joined to the rest of its boolean expression."""

    NONE = "none"
    AND = "and"
    OR = "or"


class IndicatorKind(_WitEnum):
    ADDRESS = "address"
    DOMAIN = "domain"
    URL = "url"
    USER = "user"
    EMAIL = "email"
    SQL_PATTERN = "sql-pattern"


class Level(_WitEnum):
    """Log levels."""

    TRACE = "trace"
    DEBUG = "debug"
    INFO = "info"
    WARN = "warn"
    ERROR = "error"


class ReuseScope(_WitEnum):
    """Which connections a reused verdict applies to."""

    STATEMENT = "statement"
    USER = "user"


class ReuseBasis(_WitEnum):
    """How far apart the statements a reused verdict covers may be."""

    SHAPE = "shape"
    FINGERPRINT = "fingerprint"


@dataclass
class Connection:
    """Everything the gateway knows about one client connection."""

    id: int
    tenant: str
    user: str
    roles: List[str]
    database: str
    client_addr: str
    client_port: int
    tls: bool
    protocol: Protocol
    application_name: Optional[str] = None
    account_expires_at: Optional[int] = None

    def has_role(self, *roles: str) -> bool:
        """True when the connection holds any of `roles`."""
        return any(r in self.roles for r in roles)


@dataclass
class TableAccess:
    """One table the statement touches (names lowercased unless quoted)."""

    name: str
    access: AccessMode
    schema: Optional[str] = None
    nested: bool = False

    @property
    def qualified_name(self) -> str:
        """``schema.name`` or ``name``."""
        return f"{self.schema}.{self.name}" if self.schema else self.name


@dataclass
class FunctionCall:
    """One function call: lowercased name with its schema qualifier if any."""

    name: str
    clause: Clause


@dataclass
class Comment:
    kind: CommentKind
    position: CommentPosition
    text: str


@dataclass
class ConstantComparison:
    """A comparison without column references (`1=1`, `'a'<>'b'`)."""

    op: str
    value: Optional[bool]
    connective: Connective
    position: int
    chain_length: int
    clause: Clause
    beside_column_predicate: bool


@dataclass
class LiteralCounts:
    strings: int = 0
    numbers: int = 0
    placeholders: int = 0
    nulls: int = 0
    booleans: int = 0
    hex: int = 0


def unqualified(name: str) -> str:
    """The last dotted part of a name: ``pg_catalog.pg_sleep`` -> ``pg_sleep``."""
    return name.rsplit(".", 1)[-1]


_READ_KINDS = frozenset({"select", "show", "explain", "copy"})
_ACCESS_OF = {
    "select": AccessMode.READ,
    "show": AccessMode.READ,
    "explain": AccessMode.READ,
    "copy": AccessMode.READ,
    "insert": AccessMode.INSERT,
    "update": AccessMode.UPDATE,
    "merge": AccessMode.UPDATE,
    "delete": AccessMode.DELETE,
    "create": AccessMode.DDL,
    "alter": AccessMode.DDL,
    "drop": AccessMode.DDL,
    "truncate": AccessMode.DDL,
    "grant": AccessMode.DDL,
    "revoke": AccessMode.DDL,
}


def access_of(kind: Union[StatementKind, str]) -> Optional[AccessMode]:
    """The access mode a statement kind implies (as the Rust SDK's `facts::access_of`):
    SELECT/SHOW/EXPLAIN/COPY read, INSERT insert, UPDATE/MERGE update, DELETE delete,
    CREATE/ALTER/DROP/TRUNCATE/GRANT/REVOKE ddl; None for statements that touch no table data
    (BEGIN, SET, ...)."""
    return _ACCESS_OF.get(StatementKind.parse(kind).value)


@dataclass
class QueryFacts:
    """Structured facts about a statement, extracted once by the gateway's SQL parser."""

    parsed: bool = True
    parse_error: Optional[str] = None
    statements: List[StatementKind] = field(default_factory=list)
    stacked: bool = False
    tables: List[TableAccess] = field(default_factory=list)
    functions: List[FunctionCall] = field(default_factory=list)
    comments: List[Comment] = field(default_factory=list)
    union_count: int = 0
    union_literal_branch: bool = False
    constant_comparisons: List[ConstantComparison] = field(default_factory=list)
    literals: LiteralCounts = field(default_factory=LiteralCounts)
    file_access: bool = False
    locking_read: bool = False

    def has_statement(self, kind: Union[StatementKind, str]) -> bool:
        """True when any statement is of `kind` (a member or its name, e.g. ``"drop"``)."""
        return StatementKind.parse(kind) in self.statements

    def is_read_only(self) -> bool:
        """True when every statement is a plain read (SELECT / SHOW / EXPLAIN) without
        locking or file access."""
        return (
            not self.locking_read
            and not self.file_access
            and all(k in (StatementKind.SELECT, StatementKind.SHOW, StatementKind.EXPLAIN)
                    for k in self.statements)
        )

    def is_write(self) -> bool:
        """True when a statement inserts, updates, deletes, merges or changes the schema
        (by its kind, see `access_of`), or a table is accessed other than for reading
        (``COPY t FROM ...``)."""
        for k in self.statements:
            mode = _ACCESS_OF.get(k.value)
            if mode is not None and mode is not AccessMode.READ:
                return True
        return any(t.access is not AccessMode.READ for t in self.tables)

    def tables_with(self, mode: Union[AccessMode, str]) -> Iterator[TableAccess]:
        """Tables accessed with `mode`."""
        mode = AccessMode.parse(mode)
        return (t for t in self.tables if t.access is mode)

    def calls(self, function: str) -> bool:
        """True when a function with this (lowercase, unqualified) name is called."""
        return any(unqualified(f.name) == function for f in self.functions)

    def always_true_comparisons(self) -> List[ConstantComparison]:
        """Constant comparisons the host evaluated to true (`1=1`, `'a'='a'`)."""
        return [c for c in self.constant_comparisons if c.value is True]


@dataclass
class Query:
    """One statement to be judged."""

    sql: str
    facts: QueryFacts = field(default_factory=QueryFacts)
    prepared_name: Optional[str] = None
    in_transaction: bool = False


@dataclass(frozen=True)
class Finding:
    """Why a rule fired: a stable rule id, a reason shown to the client, an optional score."""

    rule: str
    reason: str
    score: Optional[float] = None

    def __post_init__(self) -> None:
        if not isinstance(self.rule, str) or not isinstance(self.reason, str):
            raise TypeError("a finding's rule and reason must be strings")
        if self.score is not None:
            if not isinstance(self.score, (int, float)) or isinstance(self.score, bool):
                raise TypeError(f"score must be a number in [0, 1], not {self.score!r}")
            if not 0.0 <= float(self.score) <= 1.0:
                raise ValueError(f"score must be in [0, 1], not {self.score!r}")


class VerdictKind(_WitEnum):
    ALLOW = "allow"
    DENY = "deny"
    AUDIT = "audit"


@dataclass(frozen=True)
class Verdict:
    """A plugin's decision. Build it with `allow()`, `deny(...)` or `audit(...)`."""

    kind: VerdictKind
    finding: Optional[Finding] = None

    def __post_init__(self) -> None:
        if (self.kind is VerdictKind.ALLOW) != (self.finding is None):
            raise ValueError("allow carries no finding; deny and audit carry one")

    @property
    def is_allow(self) -> bool:
        return self.kind is VerdictKind.ALLOW

    @property
    def is_deny(self) -> bool:
        return self.kind is VerdictKind.DENY

    @property
    def is_audit(self) -> bool:
        return self.kind is VerdictKind.AUDIT

    @property
    def rule(self) -> Optional[str]:
        """The rule id of a deny or audit verdict."""
        return self.finding.rule if self.finding else None

    @property
    def reason(self) -> Optional[str]:
        return self.finding.reason if self.finding else None

    def __repr__(self) -> str:
        if self.finding is None:
            return "Verdict(allow)"
        return f"Verdict({self.kind.value} {self.finding.rule}: {self.finding.reason!r})"


@dataclass
class IndicatorMatch:
    """Why an indicator lookup matched."""

    id: str
    kind: IndicatorKind
    value: str
    confidence: int
    source: str
