// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/reuse@0.1.2' {
  /**
   * Declares that the verdict the current `on-query` call returns holds for every statement
   * of the same shape within `scope`. A second call replaces the first; outside `on-query`
   * the call has no effect. The same as `reuse-verdict-for(scope, basis.shape)`.
   */
  export function reuseVerdict(scope: Scope): void;
  /**
   * Declares that the verdict the current `on-query` call returns holds for every statement
   * of the same `basis` within `scope`. A second call (of either function) replaces the
   * first; outside `on-query` the call has no effect. Since 0.1.2.
   */
  export function reuseVerdictFor(scope: Scope, basis: Basis): void;
  /**
   * Which connections a reused verdict applies to.
   * # Variants
   * 
   * ## `"statement"`
   * 
   * Every connection of the tenant: the verdict depends on the statement alone.
   * ## `"user"`
   * 
   * Connections of the same user, with the same roles, to the same database.
   */
  export type Scope = 'statement' | 'user';
  /**
   * How far apart the statements a reused verdict covers may be. Since 0.1.2.
   * # Variants
   * 
   * ## `"shape"`
   * 
   * The same shape (above): the texts differ at most in integer values.
   * ## `"fingerprint"`
   * 
   * The same fingerprint: the texts differ at most in the values of literals (integer
   * and decimal numbers, and plain string literals `'...'` without a prefix such as
   * `E`, `X` or `N`), in the number of literals of one kind listed after `IN`
   * (`IN (1, 2, 3)` and `IN (7)`), and in the text of block comments `/* ... *\/` whose
   * first non-blank character is of the same class (a letter or digit, none, or the
   * same punctuation character: a comment opening with `'` or `)` is not like one
   * opening with a word). Line comments, empty `/**\/`, executable `/*! *\/` and hint
   * `/*+ *\/` comments, and any backslash inside quotes make a text its own fingerprint.
   * The facts the plugin receives are exact for each statement: `comments` and
   * `literals` are recomputed, and a statement with constant comparisons is never
   * covered by another's verdict.
   * 
   * Declare it when the verdict reads neither literal values nor comment texts (beyond
   * the class of their first character). The exact definition is the gateway's
   * `Fingerprint` (docs/PLUGINS.md, "Reusing verdicts").
   */
  export type Basis = 'shape' | 'fingerprint';
}
