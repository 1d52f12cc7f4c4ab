// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/kv@0.1.2' {
  /**
   * The value stored at `key`, if any and not expired.
   */
  export function get(key: string): Uint8Array | undefined;
  /**
   * Stores `value` at `key`, expiring after `ttl-ms` when given.
   */
  export function set(key: string, value: Uint8Array, ttlMs: bigint | undefined): void;
  /**
   * Atomically adds `delta` to the integer at `key` (missing keys count as 0) and returns
   * the new value. `ttl-ms` is applied when the key is created by this call.
   */
  export function incr(key: string, delta: bigint, ttlMs: bigint | undefined): bigint;
  /**
   * Removes `key`. Removing a missing key is not an error.
   */
  export { _delete as delete };
  function _delete(key: string): void;
  export type KvError = KvErrorUnavailable | KvErrorInvalid | KvErrorNotAnInteger;
  /**
   * The backing store could not be reached; the message says why.
   */
  export interface KvErrorUnavailable {
    tag: 'unavailable',
    val: string,
  }
  /**
   * The key is empty or longer than 512 bytes, or the value exceeds 64 KiB.
   */
  export interface KvErrorInvalid {
    tag: 'invalid',
    val: string,
  }
  /**
   * The stored value is not an integer (for `incr`).
   */
  export interface KvErrorNotAnInteger {
    tag: 'not-an-integer',
  }
}
