// src/wasm-host.js imports the WIT interfaces by the names the generated types declare and
// installs a host with every method of the raw interface the SDK calls (TestHost has the same).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { register } from 'node:module';

import { TestHost } from 'articdbm-policy/testing';
import { log, kv, metrics, reuse } from 'articdbm-policy';
import { getHost } from '../src/host.js';

register('./fixtures/fake-wit-hook.mjs', import.meta.url);

test('wasm-host wires every raw host method to a WIT import', async () => {
  await import('../src/wasm-host.js');
  const host = getHost();
  assert.ok(!(host instanceof TestHost));
  const raw = Object.getOwnPropertyNames(TestHost.prototype).filter(
    (n) => /^(log|nowMs|monotonicNs|kv[A-Z]\w*|addressListed|nameListed|sqlPatternMatch|counterAdd|reuseVerdictFor)$/.test(n),
  );
  assert.equal(raw.length, 12);
  for (const name of raw) assert.equal(typeof host[name], 'function', `host.${name}`);
  assert.deepEqual(Object.keys(host).sort(), [...raw].sort());

  globalThis.__witCalls = [];
  log.warn('w');
  kv.delete('k');
  kv.incr('n', 2, { ttlMs: 5 });
  metrics.counterAdd('c');
  reuse({ scope: 'user', basis: 'fingerprint' });
  assert.deepEqual(globalThis.__witCalls, [
    ['log', 'log', ['warn', 'w']],
    ['kv', 'delete', ['k']],
    ['kv', 'incr', ['n', 2n, 5n]],
    ['metrics', 'counterAdd', ['c', 1n]],
    ['reuse', 'reuseVerdictFor', ['user', 'fingerprint']],
  ]);
});
