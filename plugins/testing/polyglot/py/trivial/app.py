"""trivial-py: denies DROP, allows everything else. No reuse, no host calls: the Python
entry of the cross-language benchmarks."""

from articdbm_policy import Policy, StatementKind, allow, deny, export


class Trivial(Policy):
    def on_query(self, conn, query):
        if StatementKind.DROP in query.facts.statements:
            return deny("trivial.drop", "DROP is not allowed")
        return allow()


export(Trivial)
