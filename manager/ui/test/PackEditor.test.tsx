import { describe, expect, it } from 'vitest';
import { EditorState } from '@codemirror/state';
import { toCmDiagnostics } from '../src/components/PackEditor';
import { validatePack } from '../src/lib/packValidate';
import { packSchema, pluginSchema } from './schemas';

describe('editor diagnostics', () => {
  it('cover the offending line of the document', () => {
    const text = 'version = 1\nname = "p"\nkind = "tenant"\ntenant = "a"\n\n[[binding]]\nid = "rl"\nplugin = "rate-limit"\n[binding.config]\nper_user_qps = -5\n';
    const state = EditorState.create({ doc: text });
    const diags = toCmDiagnostics(state, validatePack(text, { pack: packSchema(), plugins: { 'rate-limit': pluginSchema('rate-limit') } }));
    expect(diags.length).toBeGreaterThan(0);
    const line = state.doc.line(10);
    expect(diags[0]).toMatchObject({ from: line.from, to: line.to, severity: 'error' });
    expect(state.doc.sliceString(diags[0]?.from ?? 0, diags[0]?.to)).toBe('per_user_qps = -5');
  });

  it('start a syntax error at its column and clamp lines past the end', () => {
    const state = EditorState.create({ doc: 'a = 1\nb = \n' });
    const diags = toCmDiagnostics(state, [
      { line: 2, column: 5, message: 'x', severity: 'error' },
      { line: 99, message: 'y', severity: 'warning' },
    ]);
    expect(diags[0]?.from).toBe(state.doc.line(2).from + 4);
    expect(diags[1]?.from).toBe(state.doc.line(state.doc.lines).from);
  });
});
