import { describe, expect, it } from 'vitest';
import { locate, pointerSegments, validatePack, type Schemas } from '../src/lib/packValidate';
import { packSchema, pluginSchema } from './schemas';

const schemas: Schemas = {
  pack: packSchema(),
  plugins: { 'rate-limit': pluginSchema('rate-limit'), 'sqli-guard': pluginSchema('sqli-guard') },
};

const VALID = `version = 1
name = "pack-a"
kind = "tenant"
tenant = "a"
mode = "monitor"

[[binding]]
id = "a-sqli"
plugin = "sqli-guard"
hooks = ["query"]
config = {}

[[binding]]
id = "rl"
plugin = "rate-limit"
hooks = ["query"]
[binding.config]
per_user_qps = 1000
`;

describe('validatePack', () => {
  it('finds nothing wrong with a valid pack', () => {
    expect(validatePack(VALID, schemas)).toEqual([]);
  });

  it('reports a TOML syntax error at its line and column', () => {
    const text = VALID.replace('hooks = ["query"]\nconfig = {}', 'hooks = ["query"\nconfig = {}');
    const d = validatePack(text, schemas);
    expect(d).toHaveLength(1);
    expect(d[0]?.message).toMatch(/^TOML: /);
    // The unterminated array on line 10 is noticed where `config` starts, line 11.
    expect(d[0]?.line).toBeGreaterThanOrEqual(10);
    expect(d[0]?.line).toBeLessThanOrEqual(11);
    expect(d[0]?.column).toBeGreaterThan(0);
  });

  it('reports a bad value at the line of its key', () => {
    const text = VALID.replace('x = 1', 'x = 1').replace('name = "pack-a"', 'name = "pack-a"\nbogus = = 2');
    const d = validatePack(text, schemas);
    expect(d[0]?.line).toBe(3);
  });

  it('maps a binding config schema error to the line of the key in that binding', () => {
    const text = VALID.replace('per_user_qps = 1000', 'per_user_qps = "fast"');
    const d = validatePack(text, schemas);
    expect(d.length).toBeGreaterThan(0);
    const lines = text.split('\n');
    const expected = lines.findIndex((l) => l.startsWith('per_user_qps')) + 1;
    expect(d.every((x) => x.line === expected)).toBe(true);
    expect(d[0]?.message).toContain("binding 'rl' config");
    expect(d[0]?.message).toContain('per_user_qps');
  });

  it('maps an unknown config key of an inline table to its binding', () => {
    const text = VALID.replace('config = {}', 'config = { nonesuch = 1 }');
    const d = validatePack(text, schemas);
    expect(d.length).toBeGreaterThan(0);
    expect(d[0]?.line).toBe(11);
    expect(d[0]?.message).toContain("binding 'a-sqli' config");
  });

  it('reports pack schema errors at the top-level key', () => {
    const text = VALID.replace('mode = "monitor"', 'mode = "loud"');
    const d = validatePack(text, schemas);
    expect(d.length).toBeGreaterThan(0);
    expect(d.map((x) => x.line)).toContain(5);
    expect(d[0]?.message).toMatch(/^pack \/mode/);
  });

  it('reports a missing required key', () => {
    const text = VALID.replace('kind = "tenant"\n', '');
    const d = validatePack(text, schemas);
    expect(d.some((x) => /kind/.test(x.message))).toBe(true);
  });

  it('reports a binding of a plugin that is not enabled at its plugin line', () => {
    const text = VALID.replace('plugin = "rate-limit"', 'plugin = "nonesuch"');
    const d = validatePack(text, schemas);
    expect(d).toEqual([expect.objectContaining({ line: 15, severity: 'error' })]);
    expect(d[0]?.message).toContain('nonesuch');
  });

  it('checks syntax only without schemas', () => {
    expect(validatePack(VALID.replace('mode = "monitor"', 'mode = "loud"'), { pack: null, plugins: {} })).toEqual([]);
  });
});

describe('locate', () => {
  const lines = VALID.split('\n');
  it('finds keys inside the n-th binding', () => {
    expect(locate(VALID, ['binding', '1', 'config', 'per_user_qps'])).toBe(lines.indexOf('per_user_qps = 1000'));
    expect(locate(VALID, ['binding', '0', 'hooks'])).toBe(9);
    expect(locate(VALID, ['binding', '1', 'hooks'])).toBe(15);
  });
  it('falls back to the binding header for a key it cannot see', () => {
    expect(locate(VALID, ['binding', '1', 'failure'])).toBe(12);
  });
  it('decodes JSON pointers', () => {
    expect(pointerSegments('#/binding/0/config/a~1b')).toEqual(['binding', '0', 'config', 'a/b']);
    expect(pointerSegments('#')).toEqual([]);
  });
});
