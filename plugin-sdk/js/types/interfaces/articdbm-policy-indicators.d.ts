/// <reference path="./articdbm-policy-types.d.ts" />
// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/indicators@0.1.2' {
  /**
   * The best match for an IP address (exact or CIDR), if any.
   */
  export function addressListed(addr: string): IndicatorMatch | undefined;
  /**
   * The best match for a name of the given kind (domain, url, user, email), if any.
   */
  export function nameListed(kind: IndicatorKind, name: string): IndicatorMatch | undefined;
  /**
   * The best `sql-pattern` indicator matching the statement text, if any.
   */
  export function sqlPatternMatch(sql: string): IndicatorMatch | undefined;
  export type IndicatorKind = import('articdbm:policy/types@0.1.2').IndicatorKind;
  /**
   * Why a lookup matched.
   */
  export interface IndicatorMatch {
    /**
     * Indicator id, stable across snapshots.
     */
    id: string,
    kind: IndicatorKind,
    /**
     * The listed value that matched (an address, a CIDR, a name).
     */
    value: string,
    /**
     * Confidence 0-100.
     */
    confidence: number,
    /**
     * The feed the indicator came from.
     */
    source: string,
  }
}
