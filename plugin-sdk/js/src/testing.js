// articdbm-policy/testing: run a policy's logic in Node (node --test) without building wasm.
//
// `install()` puts an in-memory TestHost behind every SDK host call: a key-value store with
// TTLs on a settable clock, captured logs and counters, indicators you list, and the reuse
// declaration of the last call. `harness(policy, config)` drives the exports the way the
// gateway does (configure, then hooks with WIT-shaped records), so the SDK's own conversion
// code runs in tests too.

import { setHost } from './host.js';
import { STATEMENT_KINDS } from './index.js';

const MAX_KEY = 512;
const MAX_VALUE = 64 * 1024;
const MAX_COUNTER_NAMES = 64;
const COUNTER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function kvFailure(tag, val) {
  const e = new Error(val === undefined ? `kv ${tag}` : `kv ${tag}: ${val}`);
  // The shape componentize-js gives a failed import result.
  Object.defineProperty(e, 'payload', { value: val === undefined ? { tag } : { tag, val } });
  return e;
}

/** The in-memory host a test sees. Raw WIT interface (bigints), like the component imports. */
export class TestHost {
  constructor({ nowMs = 1_700_000_000_000 } = {}) {
    /** The wall clock in ms since the epoch; move it with advance() or set it directly. */
    this.nowMs_ = nowMs;
    /** key -> { value: Uint8Array, expiresAt: number | undefined } */
    this.store = new Map();
    /** Every log call: { level, message }. */
    this.logs = [];
    /** Counter totals by name (numbers). */
    this.counters = new Map();
    /** Counter names the gateway would drop (bad name, or past 64 names). */
    this.droppedCounters = [];
    /** Listed indicators: IndicatorMatch records. */
    this.indicatorList = [];
    /** When true every kv call fails with `unavailable`. */
    this.kvDown = false;
    /** The last reuse declaration { scope, basis } of the current call, or undefined. */
    this.reuse = undefined;
    /** True when the current call used the clock, the kv store or indicators. */
    this.stateful = false;
  }

  /** The clock in ms (number). */
  get now() {
    return this.nowMs_;
  }
  set now(ms) {
    this.nowMs_ = ms;
  }

  /** Moves the clock forward by `ms`. */
  advance(ms) {
    this.nowMs_ += ms;
  }

  /** Lists an indicator (exact, case-insensitive match; sql-pattern: substring of the SQL). */
  addIndicator(kind, value, confidence = 90, source = 'test') {
    this.indicatorList.push({ id: `test--${this.indicatorList.length}`, kind, value, confidence, source });
  }

  /** The live value at `key` as a string, without marking the call stateful. */
  peek(key) {
    const e = this.live(key);
    return e === undefined ? undefined : decoder.decode(e.value);
  }

  /** The expiry (ms since epoch) of the live key, undefined when it has none or is missing. */
  expiresAt(key) {
    const e = this.live(key);
    return e === undefined ? undefined : e.expiresAt;
  }

  /** Messages logged at `level`. */
  logged(level) {
    return this.logs.filter((l) => l.level === level).map((l) => l.message);
  }

  /** The total of counter `name` (0 when never added). */
  counter(name) {
    return this.counters.get(name) ?? 0;
  }

  /** Forgets the per-call state (reuse, stateful); the harness does it before every hook. */
  beginCall() {
    this.reuse = undefined;
    this.stateful = false;
  }

  live(key) {
    const e = this.store.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt !== undefined && e.expiresAt <= this.nowMs_) {
      this.store.delete(key);
      return undefined;
    }
    return e;
  }

  check(key) {
    if (this.kvDown) throw kvFailure('unavailable', 'test host: kv is down');
    const n = encoder.encode(key).length;
    if (n === 0 || n > MAX_KEY) throw kvFailure('invalid', `key must be 1..=${MAX_KEY} bytes`);
  }

  expiry(ttlMs) {
    return ttlMs === undefined ? undefined : this.nowMs_ + Number(ttlMs);
  }

  // --- the raw host interface (what wasm-host.js installs from the WIT imports) ---

  log(level, message) {
    this.logs.push({ level, message });
  }

  nowMs() {
    this.stateful = true;
    return BigInt(this.nowMs_);
  }

  monotonicNs() {
    this.stateful = true;
    return BigInt(this.nowMs_) * 1_000_000n;
  }

  kvGet(key) {
    this.stateful = true;
    this.check(key);
    const e = this.live(key);
    return e === undefined ? undefined : new Uint8Array(e.value);
  }

  kvSet(key, value, ttlMs) {
    this.stateful = true;
    this.check(key);
    if (value.length > MAX_VALUE) {
      throw kvFailure('invalid', `value must be at most ${MAX_VALUE} bytes, got ${value.length}`);
    }
    this.store.set(key, { value: new Uint8Array(value), expiresAt: this.expiry(ttlMs) });
  }

  kvIncr(key, delta, ttlMs) {
    this.stateful = true;
    this.check(key);
    let e = this.live(key);
    let current = 0n;
    if (e === undefined) {
      e = { value: encoder.encode('0'), expiresAt: this.expiry(ttlMs) };
      this.store.set(key, e);
    } else {
      const text = decoder.decode(e.value);
      if (!/^-?\d+$/.test(text)) throw kvFailure('not-an-integer');
      current = BigInt(text);
    }
    let next = current + delta;
    const max = 2n ** 63n - 1n;
    if (next > max) next = max;
    if (next < -max - 1n) next = -max - 1n;
    e.value = encoder.encode(next.toString());
    return next;
  }

  kvDelete(key) {
    this.stateful = true;
    this.check(key);
    this.store.delete(key);
  }

  lookup(kind, value) {
    this.stateful = true;
    const v = value.toLowerCase();
    const m = this.indicatorList.find((i) => i.kind === kind && i.value.toLowerCase() === v);
    return m === undefined ? undefined : { ...m };
  }

  addressListed(addr) {
    return this.lookup('address', addr);
  }

  nameListed(kind, name) {
    return this.lookup(kind, name);
  }

  sqlPatternMatch(sql) {
    this.stateful = true;
    const m = this.indicatorList.find((i) => i.kind === 'sql-pattern' && sql.includes(i.value));
    return m === undefined ? undefined : { ...m };
  }

  counterAdd(name, value) {
    if (!COUNTER_NAME.test(name)) {
      this.droppedCounters.push(name);
      return;
    }
    if (!this.counters.has(name) && this.counters.size >= MAX_COUNTER_NAMES) {
      this.droppedCounters.push(name);
      return;
    }
    this.counters.set(name, (this.counters.get(name) ?? 0) + Number(value));
  }

  reuseVerdictFor(scope, basis) {
    this.reuse = { scope, basis };
  }
}

/** Installs `host` (a new TestHost by default) behind the SDK and returns it. */
export function install(host = new TestHost()) {
  setHost(host);
  return host;
}

/** A connection with test defaults: id 1, tenant "acme", user "alice", no roles, database
 * "app", client 127.0.0.1:50000, no TLS, PostgreSQL. */
export function connection(overrides = {}) {
  return {
    id: 1,
    tenant: 'acme',
    user: 'alice',
    roles: [],
    database: 'app',
    clientAddr: '127.0.0.1',
    clientPort: 50000,
    tls: false,
    protocol: 'postgres',
    applicationName: undefined,
    accountExpiresAt: undefined,
    ...overrides,
  };
}

/** Facts of an empty, parsed statement, with `overrides` applied. */
export function facts(overrides = {}) {
  return {
    parsed: true,
    parseError: undefined,
    statements: [],
    stacked: false,
    tables: [],
    functions: [],
    comments: [],
    unionCount: 0,
    unionLiteralBranch: false,
    constantComparisons: [],
    literals: { strings: 0, numbers: 0, placeholders: 0, nulls: 0, booleans: 0, hex: 0 },
    fileAccess: false,
    lockingRead: false,
    ...overrides,
  };
}

const FIRST_WORD = {
  select: 'select', with: 'select', values: 'select', table: 'select',
  insert: 'insert', replace: 'insert', update: 'update', delete: 'delete', merge: 'merge',
  create: 'create', alter: 'alter', drop: 'drop', truncate: 'truncate', grant: 'grant',
  revoke: 'revoke', begin: 'begin', start: 'begin', commit: 'commit', end: 'commit',
  rollback: 'rollback', abort: 'rollback', savepoint: 'savepoint', release: 'savepoint',
  set: 'set', reset: 'set', show: 'show', copy: 'copy', explain: 'explain', describe: 'explain',
  call: 'call', prepare: 'prepare', execute: 'execute', deallocate: 'deallocate',
  listen: 'listen', notify: 'notify', vacuum: 'vacuum', analyze: 'analyze', lock: 'lock',
  use: 'use-database',
};

/**
 * Statement kinds guessed from the first word of each `;`-separated statement. A rough
 * stand-in for the gateway's parser (which the Rust SDK's harness can call): it ignores
 * comments and quoting subtleties. Give exact facts with query(sql, { statements: [...] })
 * when a test depends on them.
 */
export function guessStatements(sql) {
  const kinds = [];
  for (const part of sql.split(';')) {
    const m = /^\s*\(*\s*([A-Za-z]+)/.exec(part);
    if (m) kinds.push(FIRST_WORD[m[1].toLowerCase()] ?? 'other');
  }
  return kinds;
}

/** A query: `sql` with facts(factOverrides); statements guessed from the SQL unless given. */
export function query(sql, factOverrides = {}, { preparedName, inTransaction = false } = {}) {
  const statements = factOverrides.statements ?? guessStatements(sql);
  for (const k of statements) {
    if (!STATEMENT_KINDS.includes(k)) throw new TypeError(`unknown statement kind "${k}"`);
  }
  return {
    sql,
    facts: facts({ stacked: statements.length > 1, ...factOverrides, statements }),
    preparedName,
    inTransaction,
  };
}

function rawConnection(conn) {
  return {
    ...conn,
    id: BigInt(conn.id),
    accountExpiresAt: conn.accountExpiresAt === undefined ? undefined : BigInt(conn.accountExpiresAt),
  };
}

/** A policy (what definePolicy returned) driven as the gateway drives it. */
export class Harness {
  constructor(policy, host) {
    this.policy = policy;
    this.host = host;
  }

  /** Calls configure; returns the error message, or undefined when the config was accepted. */
  configure(config = '{}') {
    const text = typeof config === 'string' ? config : JSON.stringify(config);
    const r = this.policy.config.configure(text);
    return r.tag === 'err' ? r.val : undefined;
  }

  onConnect(conn = connection()) {
    this.host.beginCall();
    return this.policy.hooks.onConnect(rawConnection(conn));
  }

  onQuery(conn, q) {
    this.host.beginCall();
    const qq = typeof q === 'string' ? query(q) : q;
    return this.policy.hooks.onQuery(rawConnection(conn), qq);
  }

  /** The reuse the last onQuery declared, as the gateway takes it: undefined when it declared
   * none, or when the call used the clock, the kv store or indicators. */
  reused() {
    return this.host.stateful ? undefined : this.host.reuse;
  }
}

/**
 * Installs a fresh TestHost (or `options.host`), configures `policy` with `config` (an object
 * or JSON text; default {}) and returns the Harness. Throws when configure refuses the config.
 */
export function harness(policy, config = {}, { host } = {}) {
  const h = new Harness(policy, install(host ?? new TestHost()));
  const err = h.configure(config);
  if (err !== undefined) throw new Error(`configure refused the config: ${err}`);
  return h;
}

export const isAllow = (v) => v.tag === 'allow';
export const isDeny = (v) => v.tag === 'deny';
export const isAudit = (v) => v.tag === 'audit';
/** The rule of a deny or audit verdict, undefined for allow. */
export const ruleOf = (v) => (v.tag === 'allow' ? undefined : v.val.rule);
/** The reason of a deny or audit verdict, undefined for allow. */
export const reasonOf = (v) => (v.tag === 'allow' ? undefined : v.val.reason);
