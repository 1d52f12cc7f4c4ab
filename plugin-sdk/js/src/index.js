// articdbm-policy: the JavaScript / TypeScript SDK of ArticDBM policy plugins.
//
// A plugin module exports what `definePolicy` returns (as its default export, or as the named
// exports `hooks` and `config`); `plugin-sdk/js/build.sh` turns it into a component of the
// `articdbm:policy@0.1.2` world `configurable-policy`. Types: index.d.ts. Reference: README.md.

import { getHost } from './host.js';

// ---------------------------------------------------------------------------------------------
// Enumerations (the WIT enum cases, as the strings the component model hands to JS).

/** Every statement kind of `query-facts.statements`, in WIT order. */
export const STATEMENT_KINDS = Object.freeze([
  'select', 'insert', 'update', 'delete', 'merge', 'create', 'alter', 'drop', 'truncate',
  'grant', 'revoke', 'begin', 'commit', 'rollback', 'savepoint', 'set', 'show', 'copy',
  'explain', 'call', 'prepare', 'execute', 'deallocate', 'listen', 'notify', 'vacuum',
  'analyze', 'lock', 'use-database', 'other',
]);

/** Every table access mode. */
export const ACCESS_MODES = Object.freeze(['read', 'insert', 'update', 'delete', 'ddl']);

/** Every log level. */
export const LOG_LEVELS = Object.freeze(['trace', 'debug', 'info', 'warn', 'error']);

/** Every indicator kind. */
export const INDICATOR_KINDS = Object.freeze([
  'address', 'domain', 'url', 'user', 'email', 'sql-pattern',
]);

const KIND_SET = new Set(STATEMENT_KINDS);
const MODE_SET = new Set(ACCESS_MODES);

function oneOf(value, allowed, what) {
  if (!allowed.includes(value)) {
    throw new TypeError(`${what} must be one of ${allowed.map((a) => `"${a}"`).join(', ')}, got ${describe(value)}`);
  }
  return value;
}

function describe(value) {
  return typeof value === 'string' ? `"${value}"` : String(value);
}

// ---------------------------------------------------------------------------------------------
// Verdicts.

function finding(rule, reason, score) {
  if (typeof rule !== 'string' || rule.length === 0) {
    throw new TypeError('rule must be a non-empty string');
  }
  const f = { rule, reason: String(reason) };
  if (score !== undefined && score !== null) {
    if (typeof score !== 'number' || !(score >= 0 && score <= 1)) {
      throw new RangeError(`score must be a number in [0, 1], got ${describe(score)}`);
    }
    f.score = score;
  }
  return f;
}

/** Let the statement (or connection) through. */
export function allow() {
  return { tag: 'allow' };
}

/** Refuse it; the client sees `rule` and `reason` (never put secrets in the reason). */
export function deny(rule, reason, score) {
  return { tag: 'deny', val: finding(rule, reason, score) };
}

/** Let it through, recording the finding in the audit trail. */
export function audit(rule, reason, score) {
  return { tag: 'audit', val: finding(rule, reason, score) };
}

function checkVerdict(v, hook) {
  if (v !== null && typeof v === 'object') {
    if (typeof v.then === 'function') {
      throw new TypeError(`${hook} returned a Promise: hooks must return a verdict synchronously`);
    }
    if (v.tag === 'allow') return v;
    if ((v.tag === 'deny' || v.tag === 'audit') && v.val && typeof v.val.rule === 'string') {
      return v;
    }
  }
  throw new TypeError(`${hook} must return allow(), deny(...) or audit(...), got ${describe(v)}`);
}

// ---------------------------------------------------------------------------------------------
// Query facts.

/** True when any statement of the query is of `kind` ("select", "drop", "use-database"...). */
export function hasStatement(facts, kind) {
  if (!KIND_SET.has(kind)) oneOf(kind, STATEMENT_KINDS, 'statement kind');
  return facts.statements.includes(kind);
}

/** True when every statement is a plain read (select / show / explain) without locking or
 * file access. False for an empty statement list. */
export function isReadOnly(facts) {
  return (
    !facts.lockingRead &&
    !facts.fileAccess &&
    facts.statements.length > 0 &&
    facts.statements.every((k) => k === 'select' || k === 'show' || k === 'explain')
  );
}

/** The tables the statement accesses with `mode` ("read", "insert", "update", "delete", "ddl"). */
export function tablesWith(facts, mode) {
  if (!MODE_SET.has(mode)) oneOf(mode, ACCESS_MODES, 'access mode');
  return facts.tables.filter((t) => t.access === mode);
}

/** The last dotted part of a name: "pg_catalog.pg_sleep" -> "pg_sleep". */
export function unqualified(name) {
  const i = name.lastIndexOf('.');
  return i < 0 ? name : name.slice(i + 1);
}

/** True when a function with this lowercase, unqualified name is called anywhere. */
export function calls(facts, fn) {
  return facts.functions.some((f) => unqualified(f.name) === fn);
}

/** The access mode a statement kind implies, or undefined for statements that touch no table
 * data (begin, set, listen...). */
export function accessOf(kind) {
  switch (kind) {
    case 'select': case 'show': case 'explain': case 'copy':
      return 'read';
    case 'insert':
      return 'insert';
    case 'update': case 'merge':
      return 'update';
    case 'delete':
      return 'delete';
    case 'create': case 'alter': case 'drop': case 'truncate': case 'grant': case 'revoke':
      return 'ddl';
    default:
      if (!KIND_SET.has(kind)) oneOf(kind, STATEMENT_KINDS, 'statement kind');
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Host capabilities.

function int64(value, what, { min = -(2n ** 63n), max = 2n ** 63n - 1n } = {}) {
  let v;
  if (typeof value === 'bigint') {
    v = value;
  } else if (typeof value === 'number' && Number.isSafeInteger(value)) {
    v = BigInt(value);
  } else {
    throw new TypeError(`${what} must be an integer (number or bigint), got ${describe(value)}`);
  }
  if (v < min || v > max) throw new RangeError(`${what} is out of range: ${v}`);
  return v;
}

function ttl(options) {
  if (options === undefined || options === null || options.ttlMs === undefined) return undefined;
  return int64(options.ttlMs, 'ttlMs', { min: 0n, max: 2n ** 64n - 1n });
}

/** Writing to the gateway log, tagged with tenant and plugin. At most 16 lines per hook call
 * reach the log and each is cut at 4 KiB. */
export const log = Object.freeze({
  trace: (message) => getHost().log('trace', String(message)),
  debug: (message) => getHost().log('debug', String(message)),
  info: (message) => getHost().log('info', String(message)),
  warn: (message) => getHost().log('warn', String(message)),
  error: (message) => getHost().log('error', String(message)),
});

/** The host's clocks (the sandbox has none of its own worth trusting). Using the clock in a
 * call makes the gateway ignore that call's reuse declaration. */
export const clock = Object.freeze({
  /** Wall clock: milliseconds since the Unix epoch, as a number (exact until year 287396). */
  nowMs: () => Number(getHost().nowMs()),
  /** Monotonic nanoseconds as a bigint (a number would lose precision after 104 days). */
  monotonicNs: () => BigInt(getHost().monotonicNs()),
});

/** A failed key-value operation. `kind` is the WIT error case. */
export class KvError extends Error {
  constructor(kind, detail) {
    super(detail ? `kv ${kind}: ${detail}` : `kv ${kind}`);
    this.name = 'KvError';
    /** "unavailable" | "invalid" | "not-an-integer" */
    this.kind = kind;
    /** The host's message ("" for not-an-integer). */
    this.detail = detail ?? '';
  }
}

function kvCall(f) {
  try {
    return f(getHost());
  } catch (e) {
    const p = e && e.payload;
    if (p && typeof p === 'object' && typeof p.tag === 'string') {
      throw new KvError(p.tag, typeof p.val === 'string' ? p.val : '');
    }
    throw e;
  }
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The key-value store scoped to (tenant, plugin): in memory on one gateway, shared through
 * Redis across a cluster. Keys 1..512 bytes, values up to 64 KiB. Errors throw `KvError`. */
export const kv = Object.freeze({
  /** The bytes stored at `key`, or undefined when missing or expired. */
  get(key) {
    return kvCall((h) => h.kvGet(String(key)));
  },
  /** The value at `key` decoded as UTF-8, or undefined. */
  getString(key) {
    const v = kvCall((h) => h.kvGet(String(key)));
    return v === undefined ? undefined : decoder.decode(v);
  },
  /** Stores `value` (a string is stored as UTF-8) at `key`, expiring after `ttlMs` if given. */
  set(key, value, options) {
    let bytes;
    if (typeof value === 'string') bytes = encoder.encode(value);
    else if (value instanceof Uint8Array) bytes = value;
    else throw new TypeError('kv.set: value must be a string or a Uint8Array');
    const t = ttl(options);
    kvCall((h) => h.kvSet(String(key), bytes, t));
  },
  /** Atomically adds `delta` (default 1) to the integer at `key` (missing counts as 0) and
   * returns the new value as a number. `ttlMs` applies when this call creates the key. */
  incr(key, delta = 1, options) {
    const d = int64(delta, 'delta');
    const t = ttl(options);
    return Number(kvCall((h) => h.kvIncr(String(key), d, t)));
  },
  /** Removes `key`; removing a missing key is not an error. */
  delete(key) {
    kvCall((h) => h.kvDelete(String(key)));
  },
});

/** Plugin counters, exported as `articdbm_plugin_counter_total{plugin, tenant, name}`. Names:
 * 1..64 characters of [A-Za-z0-9_.-], at most 64 distinct names per instance; the gateway
 * drops others silently. */
export const metrics = Object.freeze({
  counterAdd(name, value = 1) {
    getHost().counterAdd(String(name), int64(value, 'counter value', { min: 0n, max: 2n ** 64n - 1n }));
  },
});

/** Lookups in the tenant's threat-intelligence indicators; each returns the best match or
 * undefined. */
export const indicators = Object.freeze({
  addressListed: (addr) => getHost().addressListed(String(addr)),
  nameListed: (kind, name) =>
    getHost().nameListed(oneOf(kind, INDICATOR_KINDS, 'indicator kind'), String(name)),
  sqlPatternMatch: (sql) => getHost().sqlPatternMatch(String(sql)),
});

/** Declares, from inside onQuery, that the verdict being returned holds for every statement of
 * the same `basis` ("shape", the default, or "fingerprint") within `scope` ("statement": every
 * connection of the tenant; "user": the same user, roles and database). Declare it only for a
 * verdict that follows from the statement alone; the gateway ignores it when the call used
 * the clock, the key-value store or indicators. */
export function reuse({ scope, basis = 'shape' }) {
  getHost().reuseVerdictFor(
    oneOf(scope, ['statement', 'user'], 'reuse scope'),
    oneOf(basis, ['shape', 'fingerprint'], 'reuse basis'),
  );
}

// ---------------------------------------------------------------------------------------------
// Policies.

function errorMessage(e) {
  if (e instanceof Error) return e.message || e.name;
  return String(e);
}

function toConnection(raw) {
  return {
    id: Number(raw.id),
    tenant: raw.tenant,
    user: raw.user,
    roles: raw.roles,
    database: raw.database,
    clientAddr: raw.clientAddr,
    clientPort: raw.clientPort,
    tls: raw.tls,
    protocol: raw.protocol,
    applicationName: raw.applicationName ?? undefined,
    accountExpiresAt:
      raw.accountExpiresAt === undefined || raw.accountExpiresAt === null
        ? undefined
        : Number(raw.accountExpiresAt),
  };
}

const SPEC_KEYS = new Set(['configure', 'onConnect', 'onQuery']);

/**
 * Builds the component exports from a policy's functions:
 *
 *   export default definePolicy({
 *     configure(config) { ... return settings },       // optional; throw to refuse the config
 *     onConnect(conn, settings) { return allow() },     // optional; default allow
 *     onQuery(conn, query, settings) { return allow() } // optional; default allow
 *   });
 *
 * `configure` receives the binding's config as a parsed JSON object ({} when empty) and runs
 * once per instance; what it returns is passed to the hooks. A `configure` that throws refuses
 * the config (the gateway shows the message) and keeps the previous configuration. A hook
 * called before any configure configures with {} first; if that throws, the hook denies with
 * rule `plugin.unconfigured`. A hook that throws traps the call: the gateway discards the
 * instance and applies the binding's failure mode (`plugin.failure`).
 */
export function definePolicy(spec) {
  if (spec === null || typeof spec !== 'object') {
    throw new TypeError('definePolicy expects an object with configure / onConnect / onQuery');
  }
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.has(key)) {
      throw new TypeError(`definePolicy: unknown member "${key}" (expected configure, onConnect, onQuery)`);
    }
    if (typeof spec[key] !== 'function') {
      throw new TypeError(`definePolicy: ${key} must be a function`);
    }
  }

  let configured = false;
  let settings;

  function apply(configJson) {
    const text = typeof configJson === 'string' && configJson.trim() !== '' ? configJson : '{}';
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`invalid config: ${errorMessage(e)}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('invalid config: expected a JSON object');
    }
    const next = spec.configure ? spec.configure.call(spec, parsed) : undefined;
    if (next !== null && typeof next === 'object' && typeof next.then === 'function') {
      throw new Error('configure returned a Promise: it must be synchronous');
    }
    settings = next;
    configured = true;
  }

  function unconfigured() {
    if (configured) return undefined;
    try {
      apply('{}');
      return undefined;
    } catch (e) {
      return deny('plugin.unconfigured', `plugin has no valid configuration: ${errorMessage(e)}`);
    }
  }

  return Object.freeze({
    config: Object.freeze({
      configure(configJson) {
        try {
          apply(configJson);
          return { tag: 'ok', val: undefined };
        } catch (e) {
          return { tag: 'err', val: errorMessage(e) };
        }
      },
    }),
    hooks: Object.freeze({
      onConnect(rawConn) {
        const refused = unconfigured();
        if (refused) return refused;
        if (!spec.onConnect) return allow();
        return checkVerdict(spec.onConnect.call(spec, toConnection(rawConn), settings), 'onConnect');
      },
      onQuery(rawConn, query) {
        const refused = unconfigured();
        if (refused) return refused;
        if (!spec.onQuery) return allow();
        return checkVerdict(
          spec.onQuery.call(spec, toConnection(rawConn), query, settings),
          'onQuery',
        );
      },
    }),
  });
}
