// A Server-Sent Events parser for a fetch()-read stream (EventSource cannot send the
// Authorization header). Follows the WHATWG event-stream grammar: lines end in CRLF, LF or CR;
// `:` starts a comment; `event`, `data`, `id` and `retry` fields; a blank line dispatches.

import { send, type Query } from './client';

export interface SseMessage {
  event: string;
  data: string;
  id: string | undefined;
}

export class SseParser {
  private buf = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;
  private sawCR = false;
  /** Comment lines seen (the server's `: ping` keep-alives). */
  comments = 0;
  /** The last event id, kept across messages as the spec says. */
  lastEventId: string | undefined;

  /** Feeds decoded text; returns the messages completed by it. */
  push(text: string): SseMessage[] {
    const out: SseMessage[] = [];
    let s = text;
    // A CR that ended the previous chunk may be the first half of a CRLF.
    if (this.sawCR && s.startsWith('\n')) s = s.slice(1);
    this.sawCR = false;
    this.buf += s;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone CR at the very end might be followed by LF in the next chunk.
      if (m[0] === '\r' && m.index === this.buf.length - 1) {
        this.sawCR = true;
      }
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      const msg = this.line(line);
      if (msg) out.push(msg);
    }
    return out;
  }

  private line(line: string): SseMessage | null {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return null;
      }
      const msg: SseMessage = { event: this.event || 'message', data: this.data.join('\n'), id: this.id };
      this.lastEventId = this.id ?? this.lastEventId;
      this.event = '';
      this.data = [];
      this.id = undefined;
      return msg;
    }
    if (line.startsWith(':')) {
      this.comments += 1;
      return null;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.event = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      default:
        // `retry` and unknown fields: ignored (we reconnect on our own terms).
        break;
    }
    return null;
  }
}

export interface StreamHandlers {
  onMessage: (m: SseMessage) => void;
  onOpen?: () => void;
}

/**
 * Reads an event stream from the API until the signal aborts or the server closes it.
 * Throws ApiError when the request is refused.
 */
export async function readEventStream(path: string, query: Query, signal: AbortSignal, h: StreamHandlers): Promise<void> {
  const resp = await send('GET', path, { query, signal, accept: 'text/event-stream' });
  h.onOpen?.();
  if (!resp.body) return;
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      for (const m of parser.push(value)) h.onMessage(m);
    }
  } finally {
    reader.releaseLock();
  }
}
