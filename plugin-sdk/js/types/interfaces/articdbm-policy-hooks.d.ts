/// <reference path="./articdbm-policy-types.d.ts" />
// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/hooks@0.1.2' {
  /**
   * Decides whether the connection may exist. Default in the SDK: allow.
   */
  export function onConnect(conn: Connection): Verdict;
  /**
   * Decides whether the statement may run. Default in the SDK: allow.
   */
  export function onQuery(conn: Connection, query: Query): Verdict;
  export type Connection = import('articdbm:policy/types@0.1.2').Connection;
  export type Query = import('articdbm:policy/types@0.1.2').Query;
  export type Verdict = import('articdbm:policy/types@0.1.2').Verdict;
}
