"""{{name}}: refuses DROP statements except for the users its config lists.

Build with `articdbm-gateway plugin build .` (or plugin-sdk/python/build.sh . dist/{{name}}.wasm);
the SDK's reference is plugin-sdk/python/README.md.
"""

from articdbm_policy import ConfigError, Policy, StatementKind, allow, deny, export, metrics


class Plugin(Policy):
    def configure(self, config: dict) -> None:
        users = config.get("allow_users", [])
        if not all(isinstance(u, str) for u in users):
            raise ConfigError("allow_users: expected a list of user names")
        self.allow_users = frozenset(users)

    def on_query(self, conn, query):
        if query.facts.has_statement(StatementKind.DROP) and conn.user not in self.allow_users:
            metrics.counter_add("refused_drops", 1)
            return deny("{{name}}.drop", f"{conn.user} may not DROP")
        return allow()


export(Plugin)
