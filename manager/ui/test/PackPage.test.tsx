import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { parse } from 'smol-toml';
import PackPage from '../src/pages/Pack';
import { setApiKey } from '../src/api/client';
import { json, renderApp, routes } from './render';
import { packSchema, pluginSchema } from './schemas';

const STORED = 'version = 1\nname = "pa"\nkind = "tenant"\ntenant = "acme"\nmode = "monitor"\n\n[[binding]]\nid = "acme-sqli"\nplugin = "sqli-guard"\nhooks = ["query"]\nconfig = {}\n';

describe('Pack page', () => {
  let puts: { type: string | null; body: string }[];
  beforeEach(() => {
    setApiKey('adbm_ta');
    puts = [];
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role: 'tenant-admin', tenant: 'acme', name: 'ta' }),
        '/api/v1/schemas/pack': () => json(packSchema()),
        '/api/v1/schemas/plugins': () => json({ 'sqli-guard': pluginSchema('sqli-guard') }),
        '/api/v1/packs/pa/check': () => json({ ok: true }),
        '/api/v1/packs/pa': async (req) => {
          if (req.method === 'PUT') {
            const body = await req.text();
            puts.push({ type: req.headers.get('Content-Type'), body });
            return json({ name: 'pa', tenant: 'acme', kind: 'tenant', mode: 'enforce', toml: body, updated_at: 2, snapshot_version: 9 });
          }
          return json({ name: 'pa', tenant: 'acme', kind: 'tenant', mode: 'monitor', toml: STORED, updated_at: 1 });
        },
      }),
    );
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  it('flips monitor to enforce, shows the diff and saves the rewritten TOML', async () => {
    renderApp(
      <Routes>
        <Route path="/packs/:name" element={<PackPage />} />
      </Routes>,
      '/packs/pa',
    );
    await waitFor(() => expect(screen.getByTestId('check-status')).toHaveTextContent('Server check: valid'));
    const save = screen.getByRole('button', { name: 'Save pack' });
    expect(save).toBeDisabled();
    fireEvent.click(screen.getByLabelText('enforce'));
    const diff = await screen.findByTestId('pack-diff');
    expect(diff).toHaveTextContent('- mode = "monitor"');
    expect(diff).toHaveTextContent('+ mode = "enforce"');
    const changed = [...diff.querySelectorAll('div')].map((d) => d.textContent).filter((t) => /^[+-] /.test(t));
    expect(changed).toEqual(['- mode = "monitor"', '+ mode = "enforce"']);
    await waitFor(() => expect(screen.getByRole('button', { name: 'Save pack' })).toBeEnabled());
    fireEvent.click(screen.getByRole('button', { name: 'Save pack' }));
    await waitFor(() => expect(puts).toHaveLength(1));
    expect(puts[0]?.type).toBe('application/toml');
    const saved = parse(puts[0]?.body ?? '') as { mode: string; binding: unknown[] };
    expect(saved.mode).toBe('enforce');
    expect(puts[0]?.body).toBe(STORED.replace('mode = "monitor"', 'mode = "enforce"'));
  });
});
