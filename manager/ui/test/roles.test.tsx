import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { render } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { App } from '../src/App';
import { GATEWAY_KEY_MESSAGE } from '../src/auth';
import { getApiKey, setApiKey } from '../src/api/client';
import { navFor } from '../src/components/Layout';
import { theme } from '../src/theme';
import { json, routes } from './render';

function renderRoot() {
  return render(
    <MantineProvider theme={theme} forceColorScheme="dark">
      <App />
    </MantineProvider>,
  );
}

afterEach(() => {
  vi.unstubAllGlobals();
  sessionStorage.clear();
  window.location.hash = '';
});

describe('login', () => {
  it('refuses a gateway key and stores nothing', async () => {
    vi.stubGlobal('fetch', routes({ '/api/v1/whoami': () => json({ role: 'gateway', tenant: null, name: 'cluster' }) }));
    renderRoot();
    fireEvent.change(await screen.findByLabelText(/API key/), { target: { value: 'adbm_cluster' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByText(GATEWAY_KEY_MESSAGE)).toBeInTheDocument();
    expect(getApiKey()).toBeNull();
  });

  it('shows the API error of a refused key', async () => {
    vi.stubGlobal('fetch', routes({ '/api/v1/whoami': () => json({ error: { code: 'unauthorized', message: 'unknown API key' } }, 401) }));
    renderRoot();
    fireEvent.change(await screen.findByLabelText(/API key/), { target: { value: 'nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByText(/unknown API key/)).toBeInTheDocument();
  });

  it('logs an admin in and keeps the key in sessionStorage only', async () => {
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role: 'admin', tenant: null, name: 'root' }),
        '/api/v1/tenants': () => json({ items: [{ name: 'acme', description: null, created_at: 1 }] }),
      }),
    );
    window.location.hash = '#/tenants';
    renderRoot();
    fireEvent.change(await screen.findByLabelText(/API key/), { target: { value: 'adbm_admin' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByRole('link', { name: 'acme' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'New tenant' })).toBeInTheDocument();
    expect(getApiKey()).toBe('adbm_admin');
    expect(localStorage.length).toBe(0);
    expect(window.location.href).not.toContain('adbm_admin');
  });
});

describe('roles', () => {
  it('hides write controls from an auditor', async () => {
    setApiKey('adbm_auditor');
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role: 'auditor', tenant: null, name: 'eve' }),
        '/api/v1/tenants': () => json({ items: [{ name: 'acme', description: null, created_at: 1 }] }),
      }),
    );
    window.location.hash = '#/tenants';
    renderRoot();
    expect(await screen.findByRole('link', { name: 'acme' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'New tenant' })).toBeNull();
    expect(screen.getByText(/Read-only/)).toBeInTheDocument();
  });

  it('gives a tenant-admin its own tenant only, and shows the API refusal of another', async () => {
    setApiKey('adbm_ta');
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role: 'tenant-admin', tenant: 'acme', name: 'ta' }),
        '/api/v1/tenants/other': () => json({ error: { code: 'forbidden', message: "this key administers tenant 'acme' only" } }, 403),
      }),
    );
    window.location.hash = '#/tenants/other';
    renderRoot();
    const alert = await screen.findByTestId('api-error');
    expect(alert).toHaveTextContent('403');
    expect(alert).toHaveTextContent("administers tenant 'acme' only");
    const nav = screen.getByRole('navigation', { name: 'Main navigation' });
    await waitFor(() => expect(nav).toHaveTextContent('Tenant acme'));
    expect(nav).not.toHaveTextContent('Tenants');
  });

  it('computes the navigation per role', () => {
    const admin = navFor({ role: 'admin', tenant: null, name: 'a' }).map((i) => i.label);
    expect(admin).toContain('Tenants');
    expect(admin).toContain('API keys');
    expect(navFor({ role: 'auditor', tenant: null, name: 'e' }).map((i) => i.label)).not.toContain('API keys');
    const ta = navFor({ role: 'tenant-admin', tenant: 'acme', name: 't' });
    expect(ta.map((i) => i.label)).not.toContain('Tenants');
    expect(ta.map((i) => i.label)).not.toContain('API keys');
    expect(ta.find((i) => i.label === 'Tenant acme')?.to).toBe('/tenants/acme');
  });
});
