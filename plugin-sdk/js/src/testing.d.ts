// Types of articdbm-policy/testing.

import type {
  Connection,
  IndicatorKind,
  IndicatorMatch,
  LogLevel,
  PolicyExports,
  Query,
  QueryFacts,
  ReuseBasis,
  ReuseScope,
  StatementKind,
  Verdict,
} from './index.js';

export interface LogLine {
  level: LogLevel;
  message: string;
}

/** The in-memory host: kv with TTL on a settable clock, captured logs and counters. */
export declare class TestHost {
  constructor(options?: { nowMs?: number });
  /** The wall clock in ms since the epoch (settable). */
  now: number;
  /** Moves the clock forward. */
  advance(ms: number): void;
  readonly store: Map<string, { value: Uint8Array; expiresAt: number | undefined }>;
  readonly logs: LogLine[];
  readonly counters: Map<string, number>;
  /** Counter names the gateway would drop (invalid, or past 64 names). */
  readonly droppedCounters: string[];
  /** When true, every kv call fails with KvError kind "unavailable". */
  kvDown: boolean;
  /** The reuse declared by the current call, if any. */
  reuse: { scope: ReuseScope; basis: ReuseBasis } | undefined;
  /** The current call used the clock, the kv store or indicators. */
  stateful: boolean;
  addIndicator(kind: IndicatorKind, value: string, confidence?: number, source?: string): void;
  /** The live value at `key` as a string (does not count as a kv call). */
  peek(key: string): string | undefined;
  /** The expiry of a live key in ms since the epoch. */
  expiresAt(key: string): number | undefined;
  /** Messages logged at `level`. */
  logged(level: LogLevel): string[];
  /** A counter's total (0 when never added). */
  counter(name: string): number;
  /** Resets reuse and stateful (the harness calls it before every hook). */
  beginCall(): void;
}

/** Installs `host` (a new TestHost by default) behind the SDK and returns it. */
export declare function install(host?: TestHost): TestHost;

/** A connection with test defaults (tenant acme, user alice, database app, PostgreSQL). */
export declare function connection(overrides?: Partial<Connection>): Connection;
/** Facts of an empty parsed statement, with overrides. */
export declare function facts(overrides?: Partial<QueryFacts>): QueryFacts;
/** Statement kinds guessed from each statement's first word (rough; not the gateway parser). */
export declare function guessStatements(sql: string): StatementKind[];
/** A query with facts; statements guessed from the SQL unless given. */
export declare function query(
  sql: string,
  factOverrides?: Partial<QueryFacts>,
  options?: { preparedName?: string; inTransaction?: boolean },
): Query;

export declare class Harness {
  constructor(policy: PolicyExports, host: TestHost);
  readonly policy: PolicyExports;
  readonly host: TestHost;
  /** Runs configure; the error message, or undefined when accepted. */
  configure(config?: string | object): string | undefined;
  onConnect(conn?: Connection): Verdict;
  /** A string is turned into query(sql). */
  onQuery(conn: Connection, query: Query | string): Verdict;
  /** The reuse the last onQuery declared as the gateway takes it (undefined if stateful). */
  reused(): { scope: ReuseScope; basis: ReuseBasis } | undefined;
}

/** Installs a fresh TestHost, configures the policy (throws if refused), returns the harness. */
export declare function harness(
  policy: PolicyExports,
  config?: string | object,
  options?: { host?: TestHost },
): Harness;

export declare function isAllow(v: Verdict): boolean;
export declare function isDeny(v: Verdict): boolean;
export declare function isAudit(v: Verdict): boolean;
export declare function ruleOf(v: Verdict): string | undefined;
export declare function reasonOf(v: Verdict): string | undefined;
