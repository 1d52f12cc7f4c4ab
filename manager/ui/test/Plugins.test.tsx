import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import Plugins from '../src/pages/Plugins';
import { setApiKey } from '../src/api/client';
import { json, renderApp, routes } from './render';

describe('Plugins page', () => {
  let uploads: FormData[];
  let rollbacks: unknown[];
  let active: number;
  beforeEach(() => {
    uploads = [];
    rollbacks = [];
    active = 2;
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    sessionStorage.clear();
  });

  function stub(role: string) {
    setApiKey('k');
    vi.stubGlobal(
      'fetch',
      routes({
        '/api/v1/whoami': () => json({ role, tenant: role === 'tenant-admin' ? 'acme' : null, name: 'x' }),
        '/api/v1/plugins': async (req) => {
          if (req.method === 'POST') {
            uploads.push(await req.formData());
            return json({ name: 'probe', version: 3, sha256: 'ab', size: 4 }, 201);
          }
          return json({ items: [{ name: 'probe', enabled: true, active_version: active, sha256: 'ab', description: null, stats: { calls: 10, failures: { trap: 3, timeout: 1 }, mean_us: 12.25, quarantined: ['acme'] } }] });
        },
        '/api/v1/plugins/probe/rollback': async (req) => {
          rollbacks.push(await req.json());
          active = 1;
          return json({});
        },
      }),
    );
  }

  it('uploads the manifest and component as the multipart parts the API expects', async () => {
    stub('admin');
    renderApp(<Plugins />);
    fireEvent.click(await screen.findByRole('button', { name: 'Upload a plugin' }));
    const dialog = await screen.findByRole('dialog');
    const inputs = dialog.querySelectorAll<HTMLInputElement>('input[type="file"]');
    expect(inputs).toHaveLength(2);
    const manifest = new File(['{"name":"probe"}'], 'manifest.json', { type: 'application/json' });
    const component = new File([new Uint8Array([0, 97, 115, 109])], 'probe.wasm', { type: 'application/wasm' });
    fireEvent.change(inputs[0] as HTMLInputElement, { target: { files: [manifest] } });
    fireEvent.change(inputs[1] as HTMLInputElement, { target: { files: [component] } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Upload' }));
    await waitFor(() => expect(uploads).toHaveLength(1));
    const form = uploads[0] as FormData;
    expect([...form.keys()]).toEqual(['manifest', 'component']);
    expect(await (form.get('manifest') as File).text()).toBe('{"name":"probe"}');
    expect((form.get('component') as File).size).toBe(4);
  });

  it('shows latency and trap counters and rolls back', async () => {
    stub('admin');
    renderApp(<Plugins />);
    const row = (await screen.findByText('probe')).closest('tr') as HTMLElement;
    expect(row).toHaveTextContent('12.3 µs');
    expect(within(row).getByTestId('active-version')).toHaveTextContent('2');
    const cells = within(row).getAllByRole('cell').map((c) => c.textContent);
    expect(cells).toContain('3');
    expect(cells).toContain('acme');
    fireEvent.click(within(row).getByRole('button', { name: 'Roll back probe' }));
    await waitFor(() => expect(within(row).getByTestId('active-version')).toHaveTextContent('1'));
    expect(rollbacks).toEqual([{}]);
  });

  it('gives an auditor no write control', async () => {
    stub('auditor');
    renderApp(<Plugins />);
    await screen.findByText('probe');
    expect(screen.queryByRole('button', { name: 'Upload a plugin' })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Roll back probe' })).toBeNull();
    expect(screen.queryByRole('button', { name: /Disable probe/ })).toBeNull();
    expect(screen.getByRole('button', { name: 'Versions of probe' })).toBeInTheDocument();
  });
});
