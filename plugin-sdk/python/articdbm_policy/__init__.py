"""The package ArticDBM policy plugins written in Python import.

    from articdbm_policy import Policy, StatementKind, allow, deny, export

    class NoDrop(Policy):
        def on_query(self, conn, query):
            if query.facts.has_statement(StatementKind.DROP):
                return deny("nodrop.drop", "DROP is not allowed here")
            return allow()

    export(NoDrop)

Build with ``plugin-sdk/python/build.sh PLUGIN_DIR OUT.wasm`` (componentize-py, contract
``articdbm:policy@0.1.2``, world ``configurable-policy``). Host capabilities: `log`, `clock`,
`kv`, `metrics`, `indicators`, and `reuse(...)`. `articdbm_policy.testing` runs a policy natively
against an in-memory host, for pytest.
"""

from . import clock, indicators, kv, log, metrics
from ._host import KvError, KvErrorKind
from .policy import (
    ConfigError,
    Policy,
    allow,
    audit,
    deny,
    export,
    exported,
    parse_config,
    reuse,
)
from .types import (
    AccessMode,
    Clause,
    Comment,
    CommentKind,
    CommentPosition,
    Connection,
    Connective,
    ConstantComparison,
    Finding,
    FunctionCall,
    IndicatorKind,
    IndicatorMatch,
    Level,
    LiteralCounts,
    Protocol,
    Query,
    QueryFacts,
    ReuseBasis,
    ReuseScope,
    StatementKind,
    TableAccess,
    Verdict,
    VerdictKind,
    access_of,
    unqualified,
)

__version__ = "0.1.2"
"""The SDK version follows the contract it builds (articdbm:policy@0.1.2)."""

__all__ = [
    "clock",
    "indicators",
    "kv",
    "log",
    "metrics",
    "KvError",
    "KvErrorKind",
    "ConfigError",
    "Policy",
    "allow",
    "audit",
    "deny",
    "export",
    "exported",
    "parse_config",
    "reuse",
    "AccessMode",
    "Clause",
    "Comment",
    "CommentKind",
    "CommentPosition",
    "Connection",
    "Connective",
    "ConstantComparison",
    "Finding",
    "FunctionCall",
    "IndicatorKind",
    "IndicatorMatch",
    "Level",
    "LiteralCounts",
    "Protocol",
    "Query",
    "QueryFacts",
    "ReuseBasis",
    "ReuseScope",
    "StatementKind",
    "TableAccess",
    "Verdict",
    "VerdictKind",
    "access_of",
    "unqualified",
]
