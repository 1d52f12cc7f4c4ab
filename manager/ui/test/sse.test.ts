import { describe, expect, it } from 'vitest';
import { SseParser } from '../src/api/sse';

describe('SseParser', () => {
  it('parses a frame split across chunks at every position', () => {
    const frame = 'event: audit\nid: e1\ndata: {"id":"e1","verdict":"deny"}\n\n';
    for (let cut = 0; cut <= frame.length; cut++) {
      const p = new SseParser();
      const out = [...p.push(frame.slice(0, cut)), ...p.push(frame.slice(cut))];
      expect(out).toEqual([{ event: 'audit', id: 'e1', data: '{"id":"e1","verdict":"deny"}' }]);
    }
  });

  it('skips comments and counts them', () => {
    const p = new SseParser();
    const out = p.push(': ping\n\n: ping\nevent: lagged\ndata: {"missed": 7}\n\n');
    expect(out).toEqual([{ event: 'lagged', id: undefined, data: '{"missed": 7}' }]);
    expect(p.comments).toBe(2);
  });

  it('joins multi-line data and defaults the event name', () => {
    const p = new SseParser();
    expect(p.push('data: a\ndata: b\n\n')).toEqual([{ event: 'message', id: undefined, data: 'a\nb' }]);
  });

  it('accepts CRLF and CR line ends, also split between chunks', () => {
    const p = new SseParser();
    const out = [...p.push('event: audit\r'), ...p.push('\ndata: x\r\n'), ...p.push('\r'), ...p.push('\n'), ...p.push('data: y\r\r')];
    expect(out).toEqual([
      { event: 'audit', id: undefined, data: 'x' },
      { event: 'message', id: undefined, data: 'y' },
    ]);
  });

  it('keeps several frames of one chunk in order and holds an incomplete one', () => {
    const p = new SseParser();
    const out = p.push('event: audit\ndata: 1\n\nevent: audit\ndata: 2\n\nevent: audit\ndata: 3\n');
    expect(out.map((m) => m.data)).toEqual(['1', '2']);
    expect(p.push('\n').map((m) => m.data)).toEqual(['3']);
  });

  it('ignores a blank line without data and unknown fields', () => {
    const p = new SseParser();
    expect(p.push('event: audit\n\nretry: 10\nfoo: bar\ndata:x\n\n')).toEqual([{ event: 'message', id: undefined, data: 'x' }]);
  });
});
