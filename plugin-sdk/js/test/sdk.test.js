// Tests of the SDK's pure layer, run natively: node --import ../tools/register.mjs --test
import { test, describe, beforeEach } from 'node:test';
import assert from 'node:assert/strict';

import {
  allow,
  deny,
  audit,
  hasStatement,
  isReadOnly,
  tablesWith,
  calls,
  unqualified,
  accessOf,
  log,
  clock,
  kv,
  KvError,
  metrics,
  indicators,
  reuse,
  definePolicy,
  STATEMENT_KINDS,
} from 'articdbm-policy';
import {
  install,
  TestHost,
  harness,
  connection,
  facts,
  query,
  guessStatements,
  isAllow,
  isDeny,
  isAudit,
  ruleOf,
  reasonOf,
} from 'articdbm-policy/testing';
import { setHost } from '../src/host.js';

describe('verdicts', () => {
  test('allow, deny and audit have the WIT variant shape', () => {
    assert.deepEqual(allow(), { tag: 'allow' });
    assert.deepEqual(deny('x.rule', 'because'), { tag: 'deny', val: { rule: 'x.rule', reason: 'because' } });
    assert.deepEqual(audit('x.rule', 'noted', 0.25), {
      tag: 'audit',
      val: { rule: 'x.rule', reason: 'noted', score: 0.25 },
    });
  });

  test('scores outside [0, 1] and empty rules are refused', () => {
    assert.throws(() => deny('r', 'x', 1.5), RangeError);
    assert.throws(() => deny('r', 'x', -0.1), RangeError);
    assert.throws(() => deny('r', 'x', Number.NaN), RangeError);
    assert.throws(() => audit('', 'x'), TypeError);
    assert.equal(deny('r', 'x', 0).val.score, 0);
    assert.equal(deny('r', 'x', 1).val.score, 1);
  });

  test('verdict predicates', () => {
    assert.ok(isAllow(allow()) && !isDeny(allow()) && !isAudit(allow()));
    assert.ok(isDeny(deny('a', 'b')));
    assert.ok(isAudit(audit('a', 'b')));
    assert.equal(ruleOf(deny('a.b', 'c')), 'a.b');
    assert.equal(reasonOf(audit('a.b', 'c')), 'c');
    assert.equal(ruleOf(allow()), undefined);
  });
});

describe('facts helpers', () => {
  const f = facts({
    statements: ['select', 'drop'],
    tables: [
      { schema: 'public', name: 'orders', access: 'read', nested: false },
      { schema: undefined, name: 'users', access: 'ddl', nested: false },
    ],
    functions: [{ name: 'pg_catalog.pg_sleep', clause: 'where' }],
  });

  test('hasStatement', () => {
    assert.equal(hasStatement(f, 'drop'), true);
    assert.equal(hasStatement(f, 'select'), true);
    assert.equal(hasStatement(f, 'insert'), false);
    assert.throws(() => hasStatement(f, 'dorp'), /statement kind must be one of/);
  });

  test('isReadOnly', () => {
    assert.equal(isReadOnly(f), false);
    assert.equal(isReadOnly(facts({ statements: ['select', 'show', 'explain'] })), true);
    assert.equal(isReadOnly(facts({ statements: ['select'], lockingRead: true })), false);
    assert.equal(isReadOnly(facts({ statements: ['select'], fileAccess: true })), false);
    assert.equal(isReadOnly(facts({ statements: [] })), false);
  });

  test('tablesWith, calls, unqualified, accessOf', () => {
    assert.deepEqual(tablesWith(f, 'ddl').map((t) => t.name), ['users']);
    assert.deepEqual(tablesWith(f, 'insert'), []);
    assert.throws(() => tablesWith(f, 'write'), TypeError);
    assert.equal(calls(f, 'pg_sleep'), true);
    assert.equal(calls(f, 'sleep'), false);
    assert.equal(unqualified('a.b.c'), 'c');
    assert.equal(unqualified('now'), 'now');
    assert.equal(accessOf('merge'), 'update');
    assert.equal(accessOf('copy'), 'read');
    assert.equal(accessOf('revoke'), 'ddl');
    assert.equal(accessOf('listen'), undefined);
    assert.throws(() => accessOf('nope'), TypeError);
    assert.equal(STATEMENT_KINDS.length, 30);
  });

  test('guessStatements is a rough first-word classifier', () => {
    assert.deepEqual(guessStatements('SELECT 1'), ['select']);
    assert.deepEqual(guessStatements(' with x as (select 1) select * from x'), ['select']);
    assert.deepEqual(guessStatements('select 1; DROP TABLE t;'), ['select', 'drop']);
    assert.deepEqual(guessStatements('USE shop'), ['use-database']);
    assert.deepEqual(guessStatements('frobnicate'), ['other']);
    const q = query('select 1; drop table t');
    assert.equal(q.facts.stacked, true);
    assert.deepEqual(query('x', { statements: ['show'] }).facts.statements, ['show']);
    assert.throws(() => query('x', { statements: ['nope'] }), TypeError);
  });
});

describe('host wrappers', () => {
  let host;
  beforeEach(() => {
    host = install(new TestHost({ nowMs: 1_000_000 }));
  });

  test('without a host, calls say what to do', () => {
    setHost(null);
    assert.throws(() => clock.nowMs(), /no host installed/);
  });

  test('log lines are captured by level', () => {
    log.info('hello');
    log.warn('careful');
    log.error(42);
    assert.deepEqual(host.logs, [
      { level: 'info', message: 'hello' },
      { level: 'warn', message: 'careful' },
      { level: 'error', message: '42' },
    ]);
    assert.deepEqual(host.logged('warn'), ['careful']);
  });

  test('clock: nowMs is a number, monotonicNs a bigint, both stateful', () => {
    assert.equal(clock.nowMs(), 1_000_000);
    host.advance(250);
    assert.equal(clock.nowMs(), 1_000_250);
    assert.equal(typeof clock.nowMs(), 'number');
    assert.equal(clock.monotonicNs(), 1_000_250_000_000n);
    assert.equal(host.stateful, true);
  });

  test('kv set / get / getString / delete, with TTL on the test clock', () => {
    kv.set('a', 'héllo', { ttlMs: 100 });
    kv.set('b', new Uint8Array([1, 2, 3]));
    assert.equal(kv.getString('a'), 'héllo');
    assert.deepEqual([...kv.get('b')], [1, 2, 3]);
    assert.equal(host.expiresAt('a'), 1_000_100);
    host.advance(99);
    assert.equal(kv.getString('a'), 'héllo');
    host.advance(1);
    assert.equal(kv.getString('a'), undefined, 'expired exactly at the TTL');
    assert.deepEqual([...kv.get('b')], [1, 2, 3], 'no TTL: kept');
    kv.delete('b');
    kv.delete('never-set');
    assert.equal(kv.get('b'), undefined);
    assert.throws(() => kv.set('c', 12), TypeError);
    assert.throws(() => kv.set('c', 'x', { ttlMs: -1 }), RangeError);
    assert.throws(() => kv.set('c', 'x', { ttlMs: 1.5 }), TypeError);
  });

  test('kv incr: atomic counter, TTL only when created, numbers out', () => {
    assert.equal(kv.incr('n', 1, { ttlMs: 1000 }), 1);
    host.advance(600);
    assert.equal(kv.incr('n', 2, { ttlMs: 1000 }), 3, 'existing key keeps its expiry');
    assert.equal(kv.incr('n'), 4, 'delta defaults to 1');
    assert.equal(kv.incr('n', -10n), -6, 'bigint deltas work');
    assert.equal(typeof kv.incr('n', 0), 'number');
    host.advance(400);
    assert.equal(kv.incr('n', 5, { ttlMs: 1000 }), 5, 'expired at 1000 ms: recreated');
    assert.equal(host.expiresAt('n'), 1_002_000);
    assert.throws(() => kv.incr('n', 0.5), TypeError);
  });

  test('kv errors become KvError with the WIT kind', () => {
    kv.set('text', 'abc');
    assert.throws(
      () => kv.incr('text'),
      (e) => e instanceof KvError && e.kind === 'not-an-integer' && e.detail === '',
    );
    assert.throws(() => kv.get(''), (e) => e instanceof KvError && e.kind === 'invalid');
    assert.throws(() => kv.get('k'.repeat(513)), (e) => e.kind === 'invalid');
    kv.get('k'.repeat(512));
    assert.throws(
      () => kv.set('big', new Uint8Array(64 * 1024 + 1)),
      (e) => e instanceof KvError && e.kind === 'invalid' && /at most 65536/.test(e.detail),
    );
    host.kvDown = true;
    assert.throws(
      () => kv.incr('n'),
      (e) => e instanceof KvError && e.kind === 'unavailable' && e.message === 'kv unavailable: test host: kv is down',
    );
    assert.ok(new KvError('invalid', 'x') instanceof Error);
  });

  test('metrics: counters add up; names the gateway would drop are dropped', () => {
    metrics.counterAdd('allowed');
    metrics.counterAdd('allowed', 2);
    metrics.counterAdd('big', 10n);
    metrics.counterAdd('bad name!');
    assert.equal(host.counter('allowed'), 3);
    assert.equal(host.counter('big'), 10);
    assert.equal(host.counter('bad name!'), 0);
    assert.deepEqual(host.droppedCounters, ['bad name!']);
    for (let i = 0; i < 70; i++) metrics.counterAdd(`c${i}`);
    assert.equal(host.counters.size, 64);
    assert.throws(() => metrics.counterAdd('x', -1), RangeError);
  });

  test('indicators', () => {
    host.addIndicator('address', '198.51.100.7', 80);
    host.addIndicator('sql-pattern', 'xp_cmdshell');
    assert.equal(indicators.addressListed('198.51.100.7').confidence, 80);
    assert.equal(indicators.addressListed('198.51.100.8'), undefined);
    assert.equal(indicators.sqlPatternMatch("exec xp_cmdshell 'dir'").kind, 'sql-pattern');
    assert.equal(indicators.nameListed('user', 'bob'), undefined);
    assert.throws(() => indicators.nameListed('person', 'bob'), TypeError);
  });

  test('reuse declarations are validated and recorded', () => {
    reuse({ scope: 'user' });
    assert.deepEqual(host.reuse, { scope: 'user', basis: 'shape' });
    reuse({ scope: 'statement', basis: 'fingerprint' });
    assert.deepEqual(host.reuse, { scope: 'statement', basis: 'fingerprint' });
    assert.throws(() => reuse({ scope: 'tenant' }), TypeError);
    assert.throws(() => reuse({ scope: 'user', basis: 'text' }), TypeError);
  });
});

describe('definePolicy', () => {
  test('configure gets the parsed object; its return value reaches the hooks', () => {
    let seen;
    const p = definePolicy({
      configure(config) {
        seen = config;
        return { max: config.max ?? 1 };
      },
      onQuery(conn, q, settings) {
        return q.facts.statements.length > settings.max ? deny('t.many', `${conn.user}: too many`) : allow();
      },
    });
    const h = harness(p, { max: 1 });
    assert.deepEqual(seen, { max: 1 });
    assert.ok(isAllow(h.onQuery(connection(), 'select 1')));
    const v = h.onQuery(connection({ user: 'bob' }), 'select 1; select 2');
    assert.equal(ruleOf(v), 't.many');
    assert.equal(reasonOf(v), 'bob: too many');
  });

  test('an empty config string is {}', () => {
    let seen;
    const p = definePolicy({ configure: (c) => { seen = c; } });
    assert.deepEqual(p.config.configure('  '), { tag: 'ok', val: undefined });
    assert.deepEqual(seen, {});
  });

  test('a configure that throws becomes err(message), and the old settings stay', () => {
    const p = definePolicy({
      configure(config) {
        if (typeof config.limit !== 'number') throw new Error('limit: expected a number');
        return config.limit;
      },
      onQuery: (_c, _q, limit) => audit('t.limit', `limit ${limit}`),
    });
    const h = harness(p, { limit: 5 });
    assert.deepEqual(p.config.configure('{"limit": "x"}'), { tag: 'err', val: 'limit: expected a number' });
    assert.equal(reasonOf(h.onQuery(connection(), 'select 1')), 'limit 5');
    assert.equal(h.configure('not json').startsWith('invalid config: '), true);
    assert.equal(h.configure('[1]'), 'invalid config: expected a JSON object');
    assert.throws(() => harness(p, { limit: 'no' }), /configure refused the config: limit: expected a number/);
    const thrower = definePolicy({ configure() { throw 'plain string'; } });
    assert.deepEqual(thrower.config.configure('{}'), { tag: 'err', val: 'plain string' });
  });

  test('hooks default to allow', () => {
    const h = harness(definePolicy({}));
    assert.ok(isAllow(h.onConnect(connection())));
    assert.ok(isAllow(h.onQuery(connection(), 'drop table x')));
  });

  test('a hook before configure configures with {}; a refused {} denies plugin.unconfigured', () => {
    let configured = 0;
    const p = definePolicy({ configure: () => { configured++; }, onQuery: () => allow() });
    install();
    const raw = { ...connection(), id: 1n };
    assert.ok(isAllow(p.hooks.onQuery(raw, query('select 1'))));
    assert.equal(configured, 1);
    p.hooks.onQuery(raw, query('select 1'));
    assert.equal(configured, 1, 'configured once');

    const strict = definePolicy({
      configure(c) {
        if (!c.required) throw new Error('required is missing');
      },
    });
    const v = strict.hooks.onConnect(raw);
    assert.equal(ruleOf(v), 'plugin.unconfigured');
    assert.equal(reasonOf(v), 'plugin has no valid configuration: required is missing');
  });

  test('connections reach hooks with 64-bit fields as numbers', () => {
    let got;
    const p = definePolicy({ onConnect: (conn) => { got = conn; return allow(); } });
    install();
    p.hooks.onConnect({ ...connection(), id: 42n, accountExpiresAt: 1_900_000_000_000n, roles: ['dev'] });
    assert.equal(got.id, 42);
    assert.equal(got.accountExpiresAt, 1_900_000_000_000);
    assert.deepEqual(got.roles, ['dev']);
    p.hooks.onConnect({ ...connection(), id: 7n });
    assert.equal(got.accountExpiresAt, undefined);
  });

  test('hooks that return no verdict or a Promise throw (a trap in the gateway)', () => {
    const h = harness(definePolicy({ onQuery: () => undefined }));
    assert.throws(() => h.onQuery(connection(), 'select 1'), /onQuery must return allow\(\), deny\(\.\.\.\) or audit\(\.\.\.\)/);
    const a = harness(definePolicy({ onConnect: async () => allow() }));
    assert.throws(() => a.onConnect(connection()), /Promise/);
    const c = definePolicy({ configure: async () => 1 });
    assert.match(c.config.configure('{}').val, /synchronous/);
  });

  test('typos in the spec are caught', () => {
    assert.throws(() => definePolicy({ onquery: () => allow() }), /unknown member "onquery"/);
    assert.throws(() => definePolicy({ onQuery: 1 }), /must be a function/);
    assert.throws(() => definePolicy(null), TypeError);
  });

  test('the harness reports reuse as the gateway takes it', () => {
    const p = definePolicy({
      onQuery(_conn, q) {
        if (q.sql.includes('time')) clock.nowMs();
        reuse({ scope: 'statement', basis: 'fingerprint' });
        return allow();
      },
    });
    const h = harness(p);
    h.onQuery(connection(), 'select 1');
    assert.deepEqual(h.reused(), { scope: 'statement', basis: 'fingerprint' });
    h.onQuery(connection(), 'select time');
    assert.equal(h.reused(), undefined, 'a call that read the clock is never reused');
    h.onQuery(connection(), 'select 2');
    assert.deepEqual(h.reused(), { scope: 'statement', basis: 'fingerprint' }, 'reset per call');
  });
});
