// Monitor <-> enforce: rewrites the top-level `mode = "..."` line of a pack's TOML (before the
// first table header), or adds one when absent, leaving everything else as written.

export type PackMode = 'monitor' | 'enforce';

interface TopLevel {
  lines: string[];
  /** Index of the first table header line, or lines.length. */
  end: number;
  /** Index of the top-level `mode` line, or -1. */
  modeLine: number;
  /** Index of the last top-level key line (outside multi-line strings), or -1. */
  lastKey: number;
}

const HEADER = /^\s*\[/;
const MODE = /^(\s*mode\s*=\s*)("[^"]*"|'[^']*')(.*)$/;
const KEY = /^\s*[A-Za-z0-9_"'.-]+\s*=/;

function scan(text: string): TopLevel {
  const lines = text.split('\n');
  let end = lines.length;
  let modeLine = -1;
  let lastKey = -1;
  let inMulti: string | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (inMulti) {
      if (line.includes(inMulti)) {
        inMulti = null;
        lastKey = i;
      }
      continue;
    }
    if (HEADER.test(line)) {
      end = i;
      break;
    }
    if (KEY.test(line)) {
      lastKey = i;
      if (MODE.test(line)) modeLine = i;
      for (const q of ['"""', "'''"]) {
        const at = line.indexOf(q);
        if (at !== -1 && line.indexOf(q, at + 3) === -1) inMulti = q;
      }
    }
  }
  return { lines, end, modeLine, lastKey };
}

/** The pack's top-level mode, or null when the TOML sets none (the default is enforce). */
export function getPackMode(text: string): PackMode | null {
  const t = scan(text);
  if (t.modeLine === -1) return null;
  const m = MODE.exec(t.lines[t.modeLine] ?? '');
  const v = m?.[2]?.slice(1, -1);
  return v === 'monitor' || v === 'enforce' ? v : null;
}

export function setPackMode(text: string, mode: PackMode): string {
  const t = scan(text);
  const lines = [...t.lines];
  if (t.modeLine !== -1) {
    const line = lines[t.modeLine] ?? '';
    lines[t.modeLine] = line.replace(MODE, (_all, pre: string, _v: string, rest: string) => `${pre}"${mode}"${rest}`);
    return lines.join('\n');
  }
  const at = t.lastKey === -1 ? 0 : t.lastKey + 1;
  lines.splice(at, 0, `mode = "${mode}"`);
  return lines.join('\n');
}
