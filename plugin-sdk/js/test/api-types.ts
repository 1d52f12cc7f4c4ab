// Compile-time tests of the SDK's declared types (test.sh: tsc --noEmit --strict). Every
// `@ts-expect-error` line must stay an error: if a type loosens, tsc reports the directive
// as unused and the test fails.
import {
  allow,
  audit,
  clock,
  definePolicy,
  deny,
  hasStatement,
  indicators,
  kv,
  KvError,
  log,
  metrics,
  reuse,
  tablesWith,
  type Connection,
  type IndicatorMatch,
  type Query,
  type StatementKind,
  type Verdict,
} from 'articdbm-policy';
import { connection, harness, query, TestHost } from 'articdbm-policy/testing';

interface Settings {
  max: number;
}

const policy = definePolicy({
  configure(config): Settings {
    return { max: typeof config.max === 'number' ? config.max : 1 };
  },
  onConnect(conn: Connection, s: Settings): Verdict {
    const id: number = conn.id;
    const exp: number | undefined = conn.accountExpiresAt;
    return id > s.max && exp === undefined ? audit('t.id', 'big id', 0.5) : allow();
  },
  onQuery(_conn, q: Query, s) {
    const max: number = s.max;
    const kinds: StatementKind[] = q.facts.statements;
    if (hasStatement(q.facts, 'use-database')) return deny('t.use', 'no USE');
    if (tablesWith(q.facts, 'ddl').length > max) return deny('t.ddl', `${kinds.length}`);
    return allow();
  },
});

// The exports componentize-js binds.
const r = policy.config.configure('{}');
if (r.tag === 'err') {
  const message: string = r.val;
  void message;
}

// Settings flow from configure to the hooks.
definePolicy({
  configure: () => 42,
  // @ts-expect-error: settings are a number here, not a string
  onQuery: (_c, _q, s: string) => allow(),
});

// Host wrappers.
const ms: number = clock.nowMs();
const ns: bigint = clock.monotonicNs();
// @ts-expect-error: nowMs is a number
const wrongMs: bigint = clock.nowMs();
const n: number = kv.incr('k', 1, { ttlMs: 1000 });
kv.incr('k', 1n, { ttlMs: 1000n });
kv.set('k', 'v');
kv.set('k', new Uint8Array([1]), { ttlMs: 5 });
// @ts-expect-error: values are strings or bytes
kv.set('k', 5);
const bytes: Uint8Array | undefined = kv.get('k');
const text: string | undefined = kv.getString('k');
try {
  kv.delete('k');
} catch (e) {
  if (e instanceof KvError) {
    const kind: 'unavailable' | 'invalid' | 'not-an-integer' = e.kind;
    void kind;
  }
}
log.info('x');
// @ts-expect-error: no such level
log.notice('x');
metrics.counterAdd('allowed');
metrics.counterAdd('bytes', 10n);
reuse({ scope: 'statement' });
reuse({ scope: 'user', basis: 'fingerprint' });
// @ts-expect-error: no tenant scope
reuse({ scope: 'tenant' });
const m: IndicatorMatch | undefined = indicators.nameListed('email', 'a@example.com');
// @ts-expect-error: not an indicator kind
indicators.nameListed('phone', '123');
// @ts-expect-error: not a statement kind
hasStatement(query('x').facts, 'dorp');

// The testing layer.
const h = harness(policy, { max: 2 }, { host: new TestHost({ nowMs: 0 }) });
const v: Verdict = h.onQuery(connection({ user: 'bob', roles: ['dev'] }), 'SELECT 1');
h.host.advance(10);
const reused: { scope: 'statement' | 'user'; basis: 'shape' | 'fingerprint' } | undefined = h.reused();
// @ts-expect-error: connection ids are numbers
connection({ id: 1n });

void [ms, ns, wrongMs, n, bytes, text, m, v, reused];
