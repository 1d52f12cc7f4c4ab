import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { screen, waitFor, fireEvent, within } from '@testing-library/react';
import Live from '../src/pages/Live';
import { setApiKey } from '../src/api/client';
import { json, renderApp, routes } from './render';

/** Event streams the test writes frames into: each request gets a new one; writes go to the newest. */
function stream() {
  let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
  const enc = new TextEncoder();
  return {
    response: () => {
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          ctl = c;
        },
      });
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    },
    write: (s: string) => ctl?.enqueue(enc.encode(s)),
  };
}

function frame(n: number, verdict = 'would-deny'): string {
  const e = { id: `e${n}`, at: 1_700_000_000_000 + n, tenant: 'acme', actor: 'app', action: 'query', target: 'shop', verdict, detail: { rule: 'sqli.tautology', sql: `SELECT ${n}` } };
  return `event: audit\nid: e${n}\ndata: ${JSON.stringify(e)}\n\n`;
}

describe('Live decisions page', () => {
  let s: ReturnType<typeof stream>;
  let requested: URL[];
  beforeEach(() => {
    setApiKey('adbm_admin');
    s = stream();
    requested = [];
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role: 'admin', tenant: null, name: 'root' }),
        '/api/v1/events': (req) => {
          requested.push(new URL(req.url));
          expect(req.headers.get('Authorization')).toBe('Bearer adbm_admin');
          return s.response();
        },
      }),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('shows streamed decisions, and bounds what it keeps while paused', async () => {
    renderApp(<Live />);
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveTextContent('open'));
    s.write(': ping\n\n');
    // A frame split across two chunks.
    const f = frame(1);
    s.write(f.slice(0, 20));
    s.write(f.slice(20));
    const table = screen.getByTestId('live-table');
    await waitFor(() => expect(within(table).getByText('SELECT 1')).toBeInTheDocument());

    fireEvent.click(screen.getByRole('button', { name: 'Pause' }));
    for (let n = 2; n <= 206; n++) s.write(frame(n));
    await waitFor(() => expect(screen.getByTestId('paused-note')).toHaveTextContent('200 event(s) waiting'));
    expect(screen.getByTestId('paused-note')).toHaveTextContent('5 dropped');
    expect(within(table).queryByText('SELECT 206')).toBeNull();

    fireEvent.click(screen.getByRole('button', { name: 'Resume' }));
    await waitFor(() => expect(within(table).getByText('SELECT 206')).toBeInTheDocument());
    // The five oldest waiting events were dropped, the rest are shown.
    expect(within(table).queryByText('SELECT 6')).toBeNull();
    expect(within(table).getByText('SELECT 7')).toBeInTheDocument();
    expect(screen.getByText('5 event(s) were dropped while paused.')).toBeInTheDocument();

    s.write('event: lagged\ndata: {"missed": 42}\n\n');
    await waitFor(() => expect(screen.getByTestId('lagged-note')).toHaveTextContent('dropped 42 event(s)'));
  });

  it('sends the filters to the server and applies them to what arrives', async () => {
    renderApp(<Live />);
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveTextContent('open'));
    fireEvent.change(screen.getByLabelText('User'), { target: { value: 'bob' } });
    await waitFor(() => expect(requested.some((u) => u.searchParams.get('user') === 'bob')).toBe(true), { timeout: 3000 });
    await waitFor(() => expect(screen.getByTestId('stream-status')).toHaveTextContent('open'));
    // An event of another user (a server that ignored the filter) is not shown.
    s.write(frame(1));
    s.write(frame(2).replace('"actor":"app"', '"actor":"bob"'));
    const table = screen.getByTestId('live-table');
    await waitFor(() => expect(within(table).getByText('SELECT 2')).toBeInTheDocument());
    expect(within(table).queryByText('SELECT 1')).toBeNull();
  });
});
