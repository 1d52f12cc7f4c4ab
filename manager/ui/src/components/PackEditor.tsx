// The pack editor: CodeMirror 6 with TOML highlighting and lint diagnostics at the right line
// (validatePack), restyled for the dark gold theme. Loaded lazily with the Pack page.

import { useEffect, useRef } from 'react';
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, highlightActiveLineGutter, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { StreamLanguage, HighlightStyle, syntaxHighlighting, bracketMatching } from '@codemirror/language';
import { toml } from '@codemirror/legacy-modes/mode/toml';
import { linter, lintGutter, type Diagnostic } from '@codemirror/lint';
import { tags } from '@lezer/highlight';
import { validatePack, type PackDiagnostic, type Schemas } from '../lib/packValidate';
import { styleNonce } from '../lib/nonce';

/** PackDiagnostics (1-based lines) as CodeMirror diagnostics over the whole line. */
export function toCmDiagnostics(state: EditorState, diags: PackDiagnostic[]): Diagnostic[] {
  return diags.map((d) => {
    const n = Math.min(Math.max(d.line, 1), state.doc.lines);
    const line = state.doc.line(n);
    const from = d.column !== undefined ? Math.min(line.from + Math.max(d.column - 1, 0), line.to) : line.from;
    return { from, to: Math.max(line.to, from), severity: d.severity, message: d.message };
  });
}

const highlight = HighlightStyle.define([
  { tag: tags.comment, color: '#a1915f', fontStyle: 'italic' },
  { tag: [tags.string, tags.special(tags.string)], color: '#b5e48c' },
  { tag: [tags.number, tags.bool, tags.atom], color: '#90caf9' },
  { tag: [tags.propertyName, tags.definition(tags.propertyName), tags.variableName], color: '#ffd54f' },
  { tag: [tags.heading, tags.meta, tags.bracket], color: '#ffb300', fontWeight: 'bold' },
]);

const darkTheme = EditorView.theme(
  {
    '&': { backgroundColor: '#17181b', color: '#ffe082' },
    '.cm-content': { caretColor: '#ffe082' },
    '.cm-gutters': { backgroundColor: '#141518', color: '#c9a64a', border: 'none' },
    '.cm-activeLine': { backgroundColor: '#ffffff0d' },
    '.cm-activeLineGutter': { backgroundColor: '#ffffff14' },
    '&.cm-focused .cm-selectionBackground, .cm-selectionBackground': { backgroundColor: '#5c4a1a' },
    '.cm-tooltip': { backgroundColor: '#222', color: '#ffe082', border: '1px solid #555' },
  },
  { dark: true },
);

export interface PackEditorProps {
  value: string;
  onChange: (v: string) => void;
  schemas: Schemas;
  readOnly: boolean;
  label: string;
}

export default function PackEditor({ value, onChange, schemas, readOnly, label }: PackEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  const schemasRef = useRef(schemas);
  const lintComp = useRef(new Compartment());
  const roComp = useRef(new Compartment());

  useEffect(() => {
    onChangeRef.current = onChange;
  }, [onChange]);

  // Created once; value, schemas and readOnly are pushed into the view below.
  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          EditorView.cspNonce.of(styleNonce()),
          lineNumbers(),
          highlightActiveLineGutter(),
          highlightActiveLine(),
          drawSelection(),
          history(),
          bracketMatching(),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          StreamLanguage.define(toml),
          syntaxHighlighting(highlight),
          darkTheme,
          lintGutter(),
          lintComp.current.of(linter((vw) => toCmDiagnostics(vw.state, validatePack(vw.state.doc.toString(), schemasRef.current)), { delay: 250 })),
          roComp.current.of(EditorState.readOnly.of(readOnly)),
          EditorView.contentAttributes.of({ 'aria-label': label, 'data-testid': 'pack-editor' }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps -- the view is created once; later values are dispatched by the effects below
  }, []);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const cur = v.state.doc.toString();
    if (cur !== value) v.dispatch({ changes: { from: 0, to: cur.length, insert: value } });
  }, [value]);

  useEffect(() => {
    schemasRef.current = schemas;
    const v = view.current;
    if (!v) return;
    // A new linter instance re-runs validation with the new schemas.
    v.dispatch({
      effects: lintComp.current.reconfigure(linter((vw) => toCmDiagnostics(vw.state, validatePack(vw.state.doc.toString(), schemasRef.current)), { delay: 250 })),
    });
  }, [schemas]);

  useEffect(() => {
    view.current?.dispatch({ effects: roComp.current.reconfigure(EditorState.readOnly.of(readOnly)) });
  }, [readOnly]);

  return <div ref={host} />;
}
