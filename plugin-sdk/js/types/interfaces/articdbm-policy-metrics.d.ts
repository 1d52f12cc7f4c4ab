// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/metrics@0.1.2' {
  /**
   * Adds `value` to counter `name` (at most 64 distinct names per plugin).
   */
  export function counterAdd(name: string, value: bigint): void;
}
