import type { ReactNode } from 'react';
import { render } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { MemoryRouter } from 'react-router';
import { SessionProvider, useSession } from '../src/auth';
import { theme } from '../src/theme';

/** Renders its children once the session's key has been checked. */
function LoggedIn({ children }: { children: ReactNode }) {
  const { who } = useSession();
  return who ? children : null;
}

export function renderApp(ui: ReactNode, route = '/') {
  return render(
    <MantineProvider theme={theme} forceColorScheme="dark">
      <SessionProvider>
        <MemoryRouter initialEntries={[route]}>
          <LoggedIn>{ui}</LoggedIn>
        </MemoryRouter>
      </SessionProvider>
    </MantineProvider>,
  );
}

/** A fetch stub answering by path; unknown paths get 404. */
export function routes(table: Record<string, (req: Request) => Response | Promise<Response>>) {
  return (input: RequestInfo | URL, init?: RequestInit) => {
    const req = new Request(new URL(String(input), 'http://console.test'), init);
    const path = new URL(req.url).pathname;
    const h = table[path];
    if (!h) return Promise.resolve(new Response('{"error":{"code":"not_found","message":"no route"}}', { status: 404 }));
    return Promise.resolve(h(req));
  };
}

export function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}
