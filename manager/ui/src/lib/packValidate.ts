// Validation of a pack's TOML as the user types: TOML syntax (smol-toml, with line and column),
// the pack JSON Schema, and each binding's `config` against its plugin's config schema.
// Schema errors are mapped back to the line of the key they concern.
//
// JSON Schema evaluation uses @cfworker/json-schema, an interpreter: Ajv compiles schemas to
// JavaScript with `new Function`, which the console's Content-Security-Policy (script-src
// 'self', no 'unsafe-eval') forbids, and the plugin schemas arrive at run time.

import { parse, TomlError } from 'smol-toml';
import { Validator, type Schema, type OutputUnit } from '@cfworker/json-schema';

export interface PackDiagnostic {
  /** 1-based line. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  message: string;
  severity: 'error' | 'warning';
}

export interface Schemas {
  pack: Schema | null;
  plugins: Record<string, Schema>;
}

/** Splits a JSON pointer (`/binding/0/config`) or `#/binding/0` location into segments. */
export function pointerSegments(pointer: string): string[] {
  const p = pointer.replace(/^#/, '');
  if (p === '' || p === '/') return [];
  return p
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const ARRAY_HEADER = /^\s*\[\[\s*([A-Za-z0-9_.-]+)\s*\]\]/;
const TABLE_HEADER = /^\s*\[\s*([A-Za-z0-9_.-]+)\s*\]/;

function keyLine(lines: string[], from: number, to: number, key: string): number {
  const k = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`(^|[{,\\s])("${k}"|'${k}'|${k})\\s*=`);
  for (let i = from; i < to; i++) {
    const line = lines[i] ?? '';
    const code = line.split('#')[0] ?? '';
    if (re.test(code)) return i;
  }
  return -1;
}

/**
 * The 0-based line of the value at `segments` in the TOML text, as well as it can be told:
 * the key's own line, else the nearest enclosing key or table header.
 */
export function locate(text: string, segments: string[]): number {
  const lines = text.split('\n');
  const firstHeader = lines.findIndex((l) => ARRAY_HEADER.test(l) || TABLE_HEADER.test(l));
  const topEnd = firstHeader === -1 ? lines.length : firstHeader;
  const [head, index, ...rest] = segments;
  if (head === undefined) return 0;
  const n = index === undefined ? NaN : Number(index);
  if (Number.isInteger(n)) {
    // An array of tables: the n-th `[[head]]` block, up to the next header that is not a
    // sub-table of it.
    let seen = -1;
    let start = -1;
    for (let i = 0; i < lines.length; i++) {
      const m = ARRAY_HEADER.exec(lines[i] ?? '');
      if (m && m[1] === head) {
        seen += 1;
        if (seen === n) {
          start = i;
          break;
        }
      }
    }
    if (start === -1) {
      const l = keyLine(lines, 0, topEnd, head);
      return l === -1 ? 0 : l;
    }
    let end = lines.length;
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i] ?? '';
      const name = ARRAY_HEADER.exec(line)?.[1] ?? TABLE_HEADER.exec(line)?.[1];
      if (name !== undefined && !name.startsWith(`${head}.`)) {
        end = i;
        break;
      }
    }
    // The deepest named key found inside the block wins.
    let best = start;
    let from = start;
    for (const s of rest) {
      if (/^\d+$/.test(s)) continue;
      const sub = lines.slice(from, end).findIndex((l) => TABLE_HEADER.exec(l)?.[1]?.endsWith(`.${s}`) === true);
      if (sub !== -1) {
        best = from + sub;
        from = best;
        continue;
      }
      const l = keyLine(lines, from, end, s);
      if (l === -1) break;
      best = l;
      from = l;
    }
    return best;
  }
  const l = keyLine(lines, 0, topEnd, head);
  if (l !== -1) return l;
  const t = lines.findIndex((x) => TABLE_HEADER.exec(x)?.[1] === head);
  return t === -1 ? 0 : t;
}

/** The most specific errors of a validation: drop any whose location is a prefix of another's. */
function leafErrors(errors: OutputUnit[]): OutputUnit[] {
  const real = errors.filter((e) => !['properties', 'items', 'prefixItems', 'allOf', '$ref', 'anyOf', 'oneOf', 'if', 'then', 'else'].includes(e.keyword) || errors.length === 1);
  const list = real.length > 0 ? real : errors;
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = `${e.instanceLocation} ${e.error}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function schemaDiagnostics(text: string, schema: Schema, value: unknown, prefix: string[], label: string): PackDiagnostic[] {
  let result;
  try {
    result = new Validator(schema, '2020-12', false).validate(value);
  } catch (e) {
    return [{ line: locate(text, prefix) + 1, message: `${label}: the schema cannot be used: ${e instanceof Error ? e.message : String(e)}`, severity: 'warning' }];
  }
  if (result.valid) return [];
  return leafErrors(result.errors).map((err) => {
    const segs = [...prefix, ...pointerSegments(err.instanceLocation)];
    const where = segs.length ? `/${segs.join('/')}` : '/';
    return { line: locate(text, segs) + 1, message: `${label} ${where}: ${err.error}`, severity: 'error' as const };
  });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Everything wrong with a pack draft, by line; empty when it is valid. */
export function validatePack(text: string, schemas: Schemas): PackDiagnostic[] {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const first = e.message.split('\n')[0] ?? e.message;
      return [{ line: e.line, column: e.column, message: `TOML: ${first}`, severity: 'error' }];
    }
    return [{ line: 1, message: `TOML: ${e instanceof Error ? e.message : String(e)}`, severity: 'error' }];
  }
  const out: PackDiagnostic[] = [];
  if (schemas.pack) out.push(...schemaDiagnostics(text, schemas.pack, doc, [], 'pack'));
  const bindings = Array.isArray(doc.binding) ? doc.binding : [];
  bindings.forEach((b: unknown, i) => {
    if (!isRecord(b) || typeof b.plugin !== 'string') return;
    const schema = schemas.plugins[b.plugin];
    if (schema === undefined) {
      if (Object.keys(schemas.plugins).length > 0) {
        out.push({
          line: locate(text, ['binding', String(i), 'plugin']) + 1,
          message: `binding ${i + 1}: no enabled plugin named '${b.plugin}'`,
          severity: 'error',
        });
      }
      return;
    }
    const config = b.config ?? {};
    out.push(...schemaDiagnostics(text, schema, config, ['binding', String(i), 'config'], `binding '${typeof b.id === 'string' ? b.id : i + 1}' config`));
  });
  return out.sort((a, b) => a.line - b.line);
}
