import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, errorFromResponse, setApiKey, setUnauthorizedHandler, withQuery } from '../src/api/client';

function respond(status: number, body: string, type = 'application/json') {
  return vi.fn(() => Promise.resolve(new Response(status === 204 ? null : body, { status, headers: { 'Content-Type': type } })));
}

describe('api client', () => {
  beforeEach(() => {
    sessionStorage.clear();
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    setUnauthorizedHandler(null);
  });

  it('sends the stored key as a bearer token and parses JSON', async () => {
    setApiKey('adbm_secret');
    const f = respond(200, '{"items":[1]}');
    vi.stubGlobal('fetch', f);
    await expect(api.get('/api/v1/tenants', { query: { tenant: 'a', empty: '', none: undefined } })).resolves.toEqual({ items: [1] });
    const [url, init] = f.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe('/api/v1/tenants?tenant=a');
    expect(new Headers(init.headers).get('Authorization')).toBe('Bearer adbm_secret');
    expect(localStorage.length).toBe(0);
  });

  it('surfaces the API error message, code and field', async () => {
    vi.stubGlobal('fetch', respond(400, '{"error":{"code":"invalid","message":"a new user needs a password","field":"password"}}'));
    const err = await api.post('/api/v1/tenants/a/users', { json: { name: 'u' } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    expect(e.status).toBe(400);
    expect(e.code).toBe('invalid');
    expect(e.field).toBe('password');
    expect(e.describe()).toBe('password: a new user needs a password');
  });

  it('reports a non-JSON error body as text', async () => {
    const e = await errorFromResponse(new Response('upstream exploded', { status: 502, statusText: 'Bad Gateway' }));
    expect(e).toMatchObject({ status: 502, code: 'http_502', message: 'upstream exploded', field: undefined });
    const empty = await errorFromResponse(new Response('', { status: 503, statusText: 'Service Unavailable' }));
    expect(empty.message).toBe('Service Unavailable');
  });

  it('turns a network failure into an ApiError', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(api.get('/api/v1/whoami')).rejects.toMatchObject({ status: 0, code: 'network', message: 'Failed to fetch' });
  });

  it('ends the session on 401 for the stored key, not for a key being checked', async () => {
    const handler = vi.fn();
    setUnauthorizedHandler(handler);
    vi.stubGlobal('fetch', respond(401, '{"error":{"code":"unauthorized","message":"unknown key"}}'));
    await expect(api.get('/api/v1/whoami', { key: 'candidate' })).rejects.toMatchObject({ status: 401 });
    expect(handler).not.toHaveBeenCalled();
    await expect(api.get('/api/v1/tenants')).rejects.toMatchObject({ status: 401, message: 'unknown key' });
    expect(handler).toHaveBeenCalledTimes(1);
  });

  it('sends TOML with its content type and returns undefined for 204', async () => {
    const f = respond(204, '');
    vi.stubGlobal('fetch', f);
    await expect(api.put('/api/v1/packs/p', { toml: 'version = 1' })).resolves.toBeUndefined();
    const init = (f.mock.calls[0] as unknown as [string, RequestInit])[1];
    expect(new Headers(init.headers).get('Content-Type')).toBe('application/toml');
    expect(init.body).toBe('version = 1');
  });

  it('refuses a 200 that is not JSON', async () => {
    vi.stubGlobal('fetch', respond(200, '<html>', 'text/html'));
    await expect(api.get('/api/v1/tenants')).rejects.toMatchObject({ code: 'bad_response' });
  });

  it('builds query strings', () => {
    expect(withQuery('/x')).toBe('/x');
    expect(withQuery('/x', { a: 1, b: 'c d', n: null })).toBe('/x?a=1&b=c+d');
  });
});
