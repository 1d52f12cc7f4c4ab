// {{name}}: refuses DROP statements except for the users its config lists.
//
// Build with `articdbm-gateway plugin build .`; rename this file app.ts to write TypeScript
// (checked with tsc --strict). The SDK's reference is plugin-sdk/js/README.md.
import { definePolicy, hasStatement, allow, deny, metrics } from 'articdbm-policy';

export default definePolicy({
  // What configure returns is handed to every hook; throwing refuses the config.
  configure(config) {
    const users = config.allow_users ?? [];
    if (!Array.isArray(users) || !users.every((u) => typeof u === 'string')) {
      throw new Error('allow_users: expected a list of user names');
    }
    return { allowUsers: new Set(users) };
  },
  onQuery(conn, query, settings) {
    if (hasStatement(query.facts, 'drop') && !settings.allowUsers.has(conn.user)) {
      metrics.counterAdd('refused_drops', 1);
      return deny('{{name}}.drop', `${conn.user} may not DROP`);
    }
    return allow();
  },
});
