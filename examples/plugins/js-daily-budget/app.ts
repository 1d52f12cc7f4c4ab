// daily-budget: a per-user daily budget of row-returning statements, written in TypeScript
// with the articdbm-policy SDK.
//
// Every SELECT / SHOW / EXPLAIN a user runs adds one to a counter in the gateway's key-value
// store, under a key per user and UTC day that expires at the next UTC midnight. Past 80% of
// the budget (configurable) one statement is audited (rule budget.warning); past the budget
// every row-returning statement is refused (rule budget.exhausted) until midnight UTC, and
// the first refusal of the day is logged as a warning. Counters: allowed, warned, denied,
// exempt, store_error.

import {
  allow,
  audit,
  clock,
  definePolicy,
  deny,
  kv,
  KvError,
  log,
  metrics,
  reuse,
  type ConfigObject,
  type Connection,
  type QueryFacts,
  type StatementKind,
  type Verdict,
} from 'articdbm-policy';

/** Statement kinds that return rows. The facts do not tell whether an INSERT / UPDATE /
 * DELETE carries a RETURNING clause (a RETURNING without a function call leaves no trace),
 * so those are not counted. */
export const ROW_RETURNING: ReadonlySet<StatementKind> = new Set<StatementKind>(['select', 'show', 'explain']);

export const DAY_MS = 86_400_000;

export interface Settings {
  defaultBudget: number;
  users: ReadonlyMap<string, number>;
  roles: ReadonlyMap<string, number>;
  exemptRoles: ReadonlySet<string>;
  warnPercent: number;
  failOpen: boolean;
}

const KEYS = new Set(['default_budget', 'users', 'roles', 'exempt_roles', 'warn_percent', 'fail_open']);

function budgetValue(v: unknown, where: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new Error(`${where}: expected an integer >= 0, got ${JSON.stringify(v)}`);
  }
  return v;
}

function budgetMap(v: unknown, where: string): Map<string, number> {
  if (v === undefined) return new Map();
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new Error(`${where}: expected an object of name -> budget`);
  }
  return new Map(Object.entries(v).map(([k, n]) => [k, budgetValue(n, `${where}.${k}`)]));
}

/** Validates the binding config (the gateway validated it against the schema already; this
 * repeats the checks so that native tests and other hosts get the same messages). */
export function parseSettings(config: ConfigObject): Settings {
  for (const k of Object.keys(config)) {
    if (!KEYS.has(k)) throw new Error(`unknown field "${k}"`);
  }
  const exempt = config.exempt_roles ?? [];
  if (!Array.isArray(exempt) || !exempt.every((r): r is string => typeof r === 'string')) {
    throw new Error('exempt_roles: expected an array of role names');
  }
  const warn = config.warn_percent ?? 80;
  if (typeof warn !== 'number' || !Number.isInteger(warn) || warn < 1 || warn > 100) {
    throw new Error(`warn_percent: expected an integer from 1 to 100, got ${JSON.stringify(warn)}`);
  }
  const failOpen = config.fail_open ?? true;
  if (typeof failOpen !== 'boolean') throw new Error('fail_open: expected true or false');
  return {
    defaultBudget: budgetValue(config.default_budget ?? 1000, 'default_budget'),
    users: budgetMap(config.users, 'users'),
    roles: budgetMap(config.roles, 'roles'),
    exemptRoles: new Set(exempt),
    warnPercent: warn,
    failOpen,
  };
}

/** The user's daily budget, or undefined when one of their roles is exempt. A per-user
 * budget wins over role budgets; among several role budgets the largest applies. */
export function budgetFor(s: Settings, conn: Connection): number | undefined {
  if (conn.roles.some((r) => s.exemptRoles.has(r))) return undefined;
  const own = s.users.get(conn.user);
  if (own !== undefined) return own;
  const byRole = conn.roles.map((r) => s.roles.get(r)).filter((n): n is number => n !== undefined);
  return byRole.length > 0 ? Math.max(...byRole) : s.defaultBudget;
}

/** How many statements of the query count against the budget. A statement the gateway could
 * not parse counts as one (it may well be a read the parser does not know). */
export function countable(facts: QueryFacts): number {
  if (!facts.parsed) return Math.max(1, facts.statements.length);
  return facts.statements.filter((k) => ROW_RETURNING.has(k)).length;
}

/** "2026-12-07" for a time in ms since the epoch. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** Milliseconds from `ms` to the next UTC midnight (1..DAY_MS). */
export function msUntilUtcMidnight(ms: number): number {
  return DAY_MS - (ms % DAY_MS);
}

export function budgetKey(user: string, ms: number): string {
  return `budget:${utcDay(ms)}:${user}`;
}

function onQuery(conn: Connection, facts: QueryFacts, s: Settings): Verdict {
  const n = countable(facts);
  if (n === 0) {
    // Nothing to count: the verdict follows from the statement kinds alone, so the gateway
    // may answer every statement of this fingerprint without calling the plugin again.
    reuse({ scope: 'statement', basis: 'fingerprint' });
    return allow();
  }
  const budget = budgetFor(s, conn);
  if (budget === undefined) {
    metrics.counterAdd('exempt');
    return allow();
  }

  const now = clock.nowMs();
  let count: number;
  try {
    count = kv.incr(budgetKey(conn.user, now), n, { ttlMs: msUntilUtcMidnight(now) });
  } catch (e) {
    if (!(e instanceof KvError)) throw e;
    metrics.counterAdd('store_error');
    log.warn(`daily-budget: budget of user ${conn.user} not checked: ${e.message}`);
    return s.failOpen
      ? audit('budget.unavailable', 'the daily budget could not be checked (budget store unavailable)')
      : deny('budget.unavailable', 'the daily budget could not be checked (budget store unavailable)');
  }

  const before = count - n;
  if (count > budget) {
    if (before <= budget) {
      log.warn(`daily-budget: user ${conn.user} used up the daily budget of ${budget} row-returning statements for ${utcDay(now)}`);
    }
    metrics.counterAdd('denied');
    return deny(
      'budget.exhausted',
      `daily budget of ${budget} row-returning statements used up for user ${conn.user}; it resets at 00:00 UTC`,
    );
  }
  const threshold = Math.ceil((budget * s.warnPercent) / 100);
  if (before < threshold && count >= threshold) {
    metrics.counterAdd('warned');
    return audit(
      'budget.warning',
      `user ${conn.user} has used ${count} of ${budget} row-returning statements today (${s.warnPercent}% reached)`,
      count / budget,
    );
  }
  metrics.counterAdd('allowed');
  return allow();
}

export default definePolicy({
  configure: parseSettings,
  onQuery: (conn, query, settings) => onQuery(conn, query.facts, settings),
});
