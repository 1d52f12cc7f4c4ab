// Native tests of daily-budget (no wasm): plugin-sdk/js/test.sh compiles this with tsc
// (strict) and runs it with node --test against the SDK's in-memory host.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  connection,
  harness,
  query,
  isAllow,
  isAudit,
  isDeny,
  ruleOf,
  reasonOf,
  TestHost,
  type Harness,
} from 'articdbm-policy/testing';
import type { Verdict } from 'articdbm-policy';
import policy, { budgetKey, msUntilUtcMidnight, parseSettings, utcDay, DAY_MS } from './app.js';

// 2026-12-07T10:00:00Z
const T0 = Date.UTC(2026, 11, 7, 10, 0, 0);
const alice = connection({ user: 'alice' });

function setup(config: object): Harness {
  return harness(policy, config, { host: new TestHost({ nowMs: T0 }) });
}

function run(h: Harness, times: number, sql = 'SELECT 1', conn = alice): Verdict[] {
  return Array.from({ length: times }, () => h.onQuery(conn, sql));
}

test('row-returning statements are allowed up to the budget, then denied', () => {
  const h = setup({ default_budget: 3, warn_percent: 100 });
  const verdicts = run(h, 3);
  assert.deepEqual(verdicts.map(ruleOf), [undefined, undefined, 'budget.warning']);
  const v = h.onQuery(alice, 'SELECT * FROM orders');
  assert.ok(isDeny(v));
  assert.equal(ruleOf(v), 'budget.exhausted');
  assert.equal(reasonOf(v), 'daily budget of 3 row-returning statements used up for user alice; it resets at 00:00 UTC');
  assert.ok(isDeny(h.onQuery(alice, 'SHOW search_path')));
  assert.ok(isDeny(h.onQuery(alice, 'EXPLAIN SELECT 1')));
  assert.equal(h.host.peek(budgetKey('alice', T0)), '6');
  assert.equal(h.host.counter('allowed'), 2);
  assert.equal(h.host.counter('warned'), 1);
  assert.equal(h.host.counter('denied'), 3);
});

test('the first exhaustion of the day is logged once', () => {
  const h = setup({ default_budget: 2 });
  run(h, 5);
  assert.deepEqual(h.host.logged('warn'), [
    'daily-budget: user alice used up the daily budget of 2 row-returning statements for 2026-12-07',
  ]);
});

test('crossing 80% is audited once, with the share as score', () => {
  const h = setup({ default_budget: 10 });
  const verdicts = run(h, 10);
  const audits = verdicts.map((v, i) => (isAudit(v) ? i + 1 : 0)).filter((i) => i > 0);
  assert.deepEqual(audits, [8]);
  const w = verdicts[7]!;
  assert.ok(w.tag === 'audit');
  assert.equal(w.val.rule, 'budget.warning');
  assert.equal(w.val.reason, 'user alice has used 8 of 10 row-returning statements today (80% reached)');
  assert.equal(w.val.score, 0.8);
  assert.ok(verdicts.filter((v) => !isAudit(v)).every(isAllow));
  assert.ok(isDeny(h.onQuery(alice, 'SELECT 11')));
});

test('a stacked query counts each row-returning statement; a jump past 80% still warns', () => {
  const h = setup({ default_budget: 5 });
  assert.ok(isAllow(h.onQuery(alice, 'SELECT 1; SELECT 2; INSERT INTO t VALUES (1)')));
  assert.equal(h.host.peek(budgetKey('alice', T0)), '2');
  assert.equal(ruleOf(h.onQuery(alice, 'SELECT 1; SELECT 2')), 'budget.warning');
  assert.equal(ruleOf(h.onQuery(alice, 'SELECT 1; SELECT 2')), 'budget.exhausted');
});

test('other statements are not counted, touch no state and declare fingerprint reuse', () => {
  const h = setup({ default_budget: 1 });
  for (const sql of ['INSERT INTO t VALUES (1)', 'UPDATE t SET a = 1', 'BEGIN', 'SET x = 1', 'DROP TABLE t']) {
    assert.ok(isAllow(h.onQuery(alice, sql)), sql);
    assert.deepEqual(h.reused(), { scope: 'statement', basis: 'fingerprint' }, sql);
  }
  assert.equal(h.host.store.size, 0);
  assert.equal(ruleOf(h.onQuery(alice, 'SELECT 1')), 'budget.warning', 'with a budget of 1 the first read is at 100%');
  assert.equal(h.reused(), undefined, 'a counted statement is never reused');
  assert.ok(isDeny(h.onQuery(alice, 'SELECT 1')));
});

test('an unparsable statement counts as one', () => {
  const h = setup({ default_budget: 1 });
  const garbage = query('SELEKT 1', { parsed: false, parseError: 'sql parser error', statements: ['other'] });
  assert.ok(!isDeny(h.onQuery(alice, garbage)));
  assert.equal(h.host.peek(budgetKey('alice', T0)), '1');
  assert.ok(isDeny(h.onQuery(alice, garbage)));
});

test('the counter lives until the next UTC midnight, then a new day starts', () => {
  const h = setup({ default_budget: 1 });
  assert.ok(!isDeny(h.onQuery(alice, 'SELECT 1')));
  assert.ok(isDeny(h.onQuery(alice, 'SELECT 1')));
  const midnight = Date.UTC(2026, 11, 8);
  assert.equal(h.host.expiresAt(budgetKey('alice', T0)), midnight);
  h.host.now = midnight - 1;
  assert.ok(isDeny(h.onQuery(alice, 'SELECT 1')), 'still 2026-12-07');
  h.host.now = midnight;
  assert.equal(h.host.peek(budgetKey('alice', T0)), undefined, 'expired at midnight');
  assert.ok(!isDeny(h.onQuery(alice, 'SELECT 1')), 'a new day');
  assert.equal(h.host.peek('budget:2026-12-08:alice'), '1');
});

test('users have separate budgets; per-user beats per-role beats default; the largest role wins', () => {
  const h = setup({
    default_budget: 1,
    users: { carol: 3, dave: 0 },
    roles: { analyst: 2, etl: 4 },
  });
  const count = (conn = alice): number => run(h, 6, 'SELECT 1', conn).filter((v) => !isDeny(v)).length;
  assert.equal(count(alice), 1);
  assert.equal(count(connection({ user: 'bob' })), 1, 'bob has his own counter');
  assert.equal(count(connection({ user: 'carol', roles: ['etl'] })), 3, 'per-user wins');
  assert.equal(count(connection({ user: 'dave' })), 0, 'a budget of 0 refuses every read');
  assert.equal(count(connection({ user: 'erin', roles: ['analyst'] })), 2);
  assert.equal(count(connection({ user: 'frank', roles: ['analyst', 'etl'] })), 4);
});

test('exempt roles are not counted', () => {
  const h = setup({ default_budget: 0, exempt_roles: ['dba'] });
  const dba = connection({ user: 'root', roles: ['dev', 'dba'] });
  assert.ok(run(h, 5, 'SELECT 1', dba).every(isAllow));
  assert.equal(h.host.store.size, 0);
  assert.equal(h.host.counter('exempt'), 5);
  assert.ok(isDeny(h.onQuery(alice, 'SELECT 1')));
});

test('a store failure audits (fail_open) or denies (fail_open false), and is logged', () => {
  const open = setup({ default_budget: 5 });
  open.host.kvDown = true;
  const v = open.onQuery(alice, 'SELECT 1');
  assert.ok(isAudit(v));
  assert.equal(ruleOf(v), 'budget.unavailable');
  assert.equal(open.host.counter('store_error'), 1);
  assert.deepEqual(open.host.logged('warn'), [
    'daily-budget: budget of user alice not checked: kv unavailable: test host: kv is down',
  ]);

  const closed = setup({ default_budget: 5, fail_open: false });
  closed.host.kvDown = true;
  assert.equal(ruleOf(closed.onQuery(alice, 'SELECT 1')), 'budget.unavailable');
  assert.ok(isDeny(closed.onQuery(alice, 'SELECT 1')));
});

test('config is validated with messages naming the field', () => {
  const bad: [object, RegExp][] = [
    [{ default_budget: -1 }, /^default_budget: expected an integer >= 0, got -1$/],
    [{ default_budget: 1.5 }, /^default_budget: /],
    [{ users: { bob: 'many' } }, /^users\.bob: expected an integer >= 0/],
    [{ roles: [] }, /^roles: expected an object/],
    [{ exempt_roles: 'dba' }, /^exempt_roles: /],
    [{ warn_percent: 0 }, /^warn_percent: expected an integer from 1 to 100, got 0$/],
    [{ fail_open: 'yes' }, /^fail_open: /],
    [{ budget: 3 }, /^unknown field "budget"$/],
  ];
  for (const [config, message] of bad) {
    const p = policy.config.configure(JSON.stringify(config));
    assert.ok(p.tag === 'err', JSON.stringify(config));
    assert.match(p.val, message);
  }
  const s = parseSettings({});
  assert.equal(s.defaultBudget, 1000);
  assert.equal(s.warnPercent, 80);
  assert.equal(s.failOpen, true);
});

test('date helpers', () => {
  assert.equal(utcDay(T0), '2026-12-07');
  assert.equal(msUntilUtcMidnight(T0), 14 * 3_600_000);
  assert.equal(msUntilUtcMidnight(Date.UTC(2026, 11, 8)), DAY_MS);
  assert.equal(msUntilUtcMidnight(Date.UTC(2026, 11, 8) - 1), 1);
});
