// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/clock@0.1.2' {
  /**
   * Wall-clock time in milliseconds since the Unix epoch.
   */
  export function nowMs(): bigint;
  /**
   * A monotonic clock in nanoseconds, for measuring intervals.
   */
  export function monotonicNs(): bigint;
}
