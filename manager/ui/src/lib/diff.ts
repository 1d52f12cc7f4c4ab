import { diffLines } from 'diff';

export interface DiffLine {
  kind: 'add' | 'del' | 'same';
  text: string;
}

/** A line diff of the stored pack and the draft. */
export function lineDiff(before: string, after: string): DiffLine[] {
  const out: DiffLine[] = [];
  for (const part of diffLines(before, after)) {
    const kind = part.added ? 'add' : part.removed ? 'del' : 'same';
    const lines = part.value.replace(/\n$/, '').split('\n');
    for (const text of lines) out.push({ kind, text });
  }
  return out;
}
