import { describe, expect, it } from 'vitest';
import { parse } from 'smol-toml';
import { getPackMode, setPackMode } from '../src/lib/packMode';

const WITH_MODE = `# a pack
version = 1
name = "p"
kind = "tenant"
tenant = "t"
mode = "monitor" # try it first

[[binding]]
id = "b"
plugin = "sqli-guard"
mode = "monitor"
`;

describe('pack mode flip', () => {
  it('rewrites the top-level mode and keeps the comment and binding modes', () => {
    const out = setPackMode(WITH_MODE, 'enforce');
    expect(out).toContain('mode = "enforce" # try it first');
    expect(getPackMode(out)).toBe('enforce');
    const doc = parse(out) as { mode: string; binding: { mode: string }[] };
    expect(doc.mode).toBe('enforce');
    expect(doc.binding[0]?.mode).toBe('monitor');
    expect(out.split('\n')).toHaveLength(WITH_MODE.split('\n').length);
  });

  it('adds a mode line before the first table when there is none', () => {
    const text = WITH_MODE.replace('mode = "monitor" # try it first\n', '');
    expect(getPackMode(text)).toBeNull();
    const out = setPackMode(text, 'monitor');
    const doc = parse(out) as { mode: string; binding: { mode: string }[] };
    expect(doc.mode).toBe('monitor');
    expect(out.indexOf('mode = "monitor"')).toBeLessThan(out.indexOf('[[binding]]'));
    expect(out.split('\n')).toHaveLength(text.split('\n').length + 1);
  });

  it('is not fooled by a multi-line string that mentions mode', () => {
    const text = `version = 1\nname = "p"\nkind = "baseline"\ndescription = """\nmode = "monitor"\n"""\n\n[[binding]]\nid = "x"\nplugin = "sqli-guard"\n`;
    expect(getPackMode(text)).toBeNull();
    const out = setPackMode(text, 'enforce');
    const doc = parse(out) as { mode: string; description: string };
    expect(doc.mode).toBe('enforce');
    expect(doc.description).toBe('mode = "monitor"\n');
  });

  it('round-trips monitor -> enforce -> monitor to the same text', () => {
    expect(setPackMode(setPackMode(WITH_MODE, 'enforce'), 'monitor')).toBe(WITH_MODE);
  });

  it("handles single-quoted values", () => {
    expect(getPackMode("version = 1\nmode = 'monitor'\n")).toBe('monitor');
    expect(setPackMode("version = 1\nmode = 'monitor'\n", 'enforce')).toBe('version = 1\nmode = "enforce"\n');
  });
});
