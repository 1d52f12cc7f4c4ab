// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/config@0.1.2' {
  /**
   * Receives the binding's JSON config (already validated against the plugin's JSON Schema
   * by the host). Returning an error refuses the config: the pack is not activated and the
   * message is shown to the operator.
   */
  export function configure(configJson: string): void;
}
