// Types of articdbm-policy (hand-written; the WIT-derived records come from ../types, which
// `jco guest-types` generates from wit/v0.1.2 and test.sh keeps fresh).

/// <reference path="../types/interfaces/articdbm-policy-types.d.ts" />
/// <reference path="../types/interfaces/articdbm-policy-indicators.d.ts" />
/// <reference path="../types/interfaces/articdbm-policy-kv.d.ts" />
/// <reference path="../types/interfaces/articdbm-policy-log.d.ts" />
/// <reference path="../types/interfaces/articdbm-policy-reuse.d.ts" />

import type * as wit from 'articdbm:policy/types@0.1.2';
import type * as witIndicators from 'articdbm:policy/indicators@0.1.2';
import type * as witKv from 'articdbm:policy/kv@0.1.2';
import type * as witLog from 'articdbm:policy/log@0.1.2';
import type * as witReuse from 'articdbm:policy/reuse@0.1.2';

export type Protocol = wit.Protocol;
export type StatementKind = wit.StatementKind;
export type AccessMode = wit.AccessMode;
export type Clause = wit.Clause;
export type TableAccess = wit.TableAccess;
export type FunctionCall = wit.FunctionCall;
export type CommentKind = wit.CommentKind;
export type CommentPosition = wit.CommentPosition;
export type Comment = wit.Comment;
export type Connective = wit.Connective;
export type ConstantComparison = wit.ConstantComparison;
export type LiteralCounts = wit.LiteralCounts;
/** Structured facts about a statement, extracted by the gateway's SQL parser. */
export type QueryFacts = wit.QueryFacts;
/** One statement to be judged: `sql`, `facts`, `preparedName`, `inTransaction`. */
export type Query = wit.Query;
export type Finding = wit.Finding;
/** `{ tag: "allow" }`, `{ tag: "deny", val: Finding }` or `{ tag: "audit", val: Finding }`. */
export type Verdict = wit.Verdict;
export type IndicatorKind = wit.IndicatorKind;
export type IndicatorMatch = witIndicators.IndicatorMatch;
export type LogLevel = witLog.Level;
export type ReuseScope = witReuse.Scope;
export type ReuseBasis = witReuse.Basis;
/** The WIT error variant of a key-value call. */
export type KvErrorVariant = witKv.KvError;
export type KvErrorKind = KvErrorVariant['tag'];

/** The connection as plugins see it: the WIT record with its 64-bit fields as numbers. */
export interface Connection extends Omit<wit.Connection, 'id' | 'accountExpiresAt'> {
  /** Identifier of the connection, unique within one gateway process. */
  id: number;
  /** When the user's account expires, in milliseconds since the Unix epoch, if it does. */
  accountExpiresAt?: number;
}

export declare const STATEMENT_KINDS: readonly StatementKind[];
export declare const ACCESS_MODES: readonly AccessMode[];
export declare const LOG_LEVELS: readonly LogLevel[];
export declare const INDICATOR_KINDS: readonly IndicatorKind[];

/** Let the statement (or connection) through. */
export declare function allow(): Verdict;
/** Refuse it; the client sees `rule` and `reason`. `score` must lie in [0, 1]. */
export declare function deny(rule: string, reason: string, score?: number): Verdict;
/** Let it through and record the finding in the audit trail. */
export declare function audit(rule: string, reason: string, score?: number): Verdict;

/** True when any statement of the query is of `kind`. */
export declare function hasStatement(facts: QueryFacts, kind: StatementKind): boolean;
/** True when every statement is a plain select / show / explain without locking or file access. */
export declare function isReadOnly(facts: QueryFacts): boolean;
/** The tables accessed with `mode`. */
export declare function tablesWith(facts: QueryFacts, mode: AccessMode): TableAccess[];
/** True when a function of this lowercase, unqualified name is called. */
export declare function calls(facts: QueryFacts, fn: string): boolean;
/** "pg_catalog.pg_sleep" -> "pg_sleep". */
export declare function unqualified(name: string): string;
/** The access mode a statement kind implies; undefined for begin, set, listen and the like. */
export declare function accessOf(kind: StatementKind): AccessMode | undefined;

/** The gateway log (16 lines per call, 4 KiB per line). */
export declare const log: {
  readonly trace: (message: string) => void;
  readonly debug: (message: string) => void;
  readonly info: (message: string) => void;
  readonly warn: (message: string) => void;
  readonly error: (message: string) => void;
};

/** The host clocks. */
export declare const clock: {
  /** Milliseconds since the Unix epoch, as a number. */
  readonly nowMs: () => number;
  /** Monotonic nanoseconds, as a bigint. */
  readonly monotonicNs: () => bigint;
};

/** A failed key-value call. */
export declare class KvError extends Error {
  constructor(kind: KvErrorKind, detail?: string);
  readonly kind: KvErrorKind;
  readonly detail: string;
}

export interface KvOptions {
  /** Expiry in milliseconds from now (for incr: applied when the call creates the key). */
  ttlMs?: number | bigint;
}

/** The (tenant, plugin) scoped key-value store. Every call throws KvError on failure. */
export declare const kv: {
  readonly get: (key: string) => Uint8Array | undefined;
  readonly getString: (key: string) => string | undefined;
  readonly set: (key: string, value: string | Uint8Array, options?: KvOptions) => void;
  /** Adds `delta` (default 1) atomically and returns the new value. */
  readonly incr: (key: string, delta?: number | bigint, options?: KvOptions) => number;
  readonly delete: (key: string) => void;
};

/** Plugin counters: `articdbm_plugin_counter_total{plugin, tenant, name}`. */
export declare const metrics: {
  /** Adds `value` (default 1). Names: 1..64 of [A-Za-z0-9_.-], at most 64 names. */
  readonly counterAdd: (name: string, value?: number | bigint) => void;
};

/** Threat-intelligence lookups (best match or undefined). */
export declare const indicators: {
  readonly addressListed: (addr: string) => IndicatorMatch | undefined;
  readonly nameListed: (kind: IndicatorKind, name: string) => IndicatorMatch | undefined;
  readonly sqlPatternMatch: (sql: string) => IndicatorMatch | undefined;
};

export interface ReuseOptions {
  scope: ReuseScope;
  /** Default "shape". */
  basis?: ReuseBasis;
}
/** From onQuery: the returned verdict holds for every statement of the same basis in scope. */
export declare function reuse(options: ReuseOptions): void;

/** The binding's config, parsed. */
export type ConfigObject = Record<string, unknown>;

/** What a policy implements. `S` is what configure returns, handed to every hook. */
export interface PolicySpec<S = undefined> {
  /** Validates the config and returns the settings; throw to refuse the config. */
  configure?(config: ConfigObject): S;
  /** Default: allow. */
  onConnect?(conn: Connection, settings: S): Verdict;
  /** Default: allow. */
  onQuery?(conn: Connection, query: Query, settings: S): Verdict;
}

/** The component exports componentize-js binds to the WIT world (raw WIT values). */
export interface PolicyExports {
  readonly hooks: {
    readonly onConnect: (conn: wit.Connection) => Verdict;
    readonly onQuery: (conn: wit.Connection, query: Query) => Verdict;
  };
  readonly config: {
    readonly configure: (configJson: string) => { tag: 'ok'; val: undefined } | { tag: 'err'; val: string };
  };
}

/** Builds the component exports; export the result as default (or as `hooks` and `config`). */
export declare function definePolicy<S = undefined>(spec: PolicySpec<S>): PolicyExports;
