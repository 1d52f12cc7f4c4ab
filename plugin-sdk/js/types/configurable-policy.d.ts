/// <reference path="./interfaces/articdbm-policy-clock.d.ts" />
/// <reference path="./interfaces/articdbm-policy-config.d.ts" />
/// <reference path="./interfaces/articdbm-policy-hooks.d.ts" />
/// <reference path="./interfaces/articdbm-policy-indicators.d.ts" />
/// <reference path="./interfaces/articdbm-policy-kv.d.ts" />
/// <reference path="./interfaces/articdbm-policy-log.d.ts" />
/// <reference path="./interfaces/articdbm-policy-metrics.d.ts" />
/// <reference path="./interfaces/articdbm-policy-reuse.d.ts" />
/// <reference path="./interfaces/articdbm-policy-types.d.ts" />
// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:
// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.
declare module 'articdbm:policy/configurable-policy@0.1.2' {
  export type * as ArticdbmPolicyClock012 from 'articdbm:policy/clock@0.1.2'; // import articdbm:policy/clock@0.1.2
  export type * as ArticdbmPolicyIndicators012 from 'articdbm:policy/indicators@0.1.2'; // import articdbm:policy/indicators@0.1.2
  export type * as ArticdbmPolicyKv012 from 'articdbm:policy/kv@0.1.2'; // import articdbm:policy/kv@0.1.2
  export type * as ArticdbmPolicyLog012 from 'articdbm:policy/log@0.1.2'; // import articdbm:policy/log@0.1.2
  export type * as ArticdbmPolicyMetrics012 from 'articdbm:policy/metrics@0.1.2'; // import articdbm:policy/metrics@0.1.2
  export type * as ArticdbmPolicyReuse012 from 'articdbm:policy/reuse@0.1.2'; // import articdbm:policy/reuse@0.1.2
  export type * as ArticdbmPolicyTypes012 from 'articdbm:policy/types@0.1.2'; // import articdbm:policy/types@0.1.2
  export * as config from 'articdbm:policy/config@0.1.2'; // export articdbm:policy/config@0.1.2
  export * as hooks from 'articdbm:policy/hooks@0.1.2'; // export articdbm:policy/hooks@0.1.2
}
