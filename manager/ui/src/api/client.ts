// The typed API client: same origin as the manager, bearer key from sessionStorage, errors
// surfaced with their message and field (never swallowed).

const KEY_STORAGE = 'articdbm.apiKey';

export function getApiKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}

export function setApiKey(key: string | null): void {
  if (key === null) sessionStorage.removeItem(KEY_STORAGE);
  else sessionStorage.setItem(KEY_STORAGE, key);
}

/** An error answered by the API (`{"error": {code, message, field?}}`) or met on the way. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly field: string | undefined;

  constructor(status: number, code: string, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }

  /** The message with its field, as shown to the user. */
  describe(): string {
    return this.field ? `${this.field}: ${this.message}` : this.message;
  }
}

/** Turns any thrown value into an ApiError (network failures, aborted requests...). */
export function toApiError(e: unknown): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof DOMException && e.name === 'AbortError') return new ApiError(0, 'aborted', 'request aborted');
  if (e instanceof Error) return new ApiError(0, 'network', e.message);
  return new ApiError(0, 'unknown', String(e));
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Reads the error of a non-2xx response. */
export async function errorFromResponse(resp: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await resp.text();
  } catch {
    // The body could not be read; the status still says what happened.
  }
  try {
    const parsed: unknown = JSON.parse(text);
    if (isRecord(parsed) && isRecord(parsed.error)) {
      const err = parsed.error;
      const message = typeof err.message === 'string' ? err.message : resp.statusText;
      const code = typeof err.code === 'string' ? err.code : `http_${resp.status}`;
      const field = typeof err.field === 'string' ? err.field : undefined;
      return new ApiError(resp.status, code, message, field);
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const message = text.trim() || resp.statusText || `HTTP ${resp.status}`;
  return new ApiError(resp.status, `http_${resp.status}`, message);
}

export type Query = Record<string, string | number | boolean | undefined | null>;

export function withQuery(path: string, query?: Query): string {
  if (!query) return path;
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

export interface RequestOptions {
  query?: Query;
  /** A JSON body. */
  json?: unknown;
  /** A TOML body (`Content-Type: application/toml`). */
  toml?: string;
  /** A multipart body. */
  form?: FormData;
  signal?: AbortSignal;
  /** Overrides the stored key (the login page checks a key before storing it). */
  key?: string;
  accept?: string;
}

let onUnauthorized: (() => void) | null = null;

/** Called when the API answers 401 to a stored key (the session ends). */
export function setUnauthorizedHandler(f: (() => void) | null): void {
  onUnauthorized = f;
}

/** Sends a request and returns the raw response if it is 2xx; throws ApiError otherwise. */
export async function send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers = new Headers();
  const key = opts.key ?? getApiKey();
  if (key) headers.set('Authorization', `Bearer ${key}`);
  headers.set('Accept', opts.accept ?? 'application/json');
  let body: BodyInit | undefined;
  if (opts.json !== undefined) {
    headers.set('Content-Type', 'application/json');
    body = JSON.stringify(opts.json);
  } else if (opts.toml !== undefined) {
    headers.set('Content-Type', 'application/toml');
    body = opts.toml;
  } else if (opts.form !== undefined) {
    body = opts.form; // the browser sets the multipart boundary
  }
  let resp: Response;
  try {
    resp = await fetch(withQuery(path, opts.query), {
      method,
      headers,
      body: body ?? null,
      signal: opts.signal ?? null,
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch (e) {
    throw toApiError(e);
  }
  if (!resp.ok) {
    const err = await errorFromResponse(resp);
    if (resp.status === 401 && opts.key === undefined && onUnauthorized) onUnauthorized();
    throw err;
  }
  return resp;
}

/** Sends a request and parses its JSON answer (`undefined` for 204). */
export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const resp = await send(method, path, opts);
  if (resp.status === 204) return undefined as T;
  const text = await resp.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(resp.status, 'bad_response', `the API answered something that is not JSON: ${text.slice(0, 200)}`);
  }
}

export const api = {
  get: <T>(path: string, opts?: RequestOptions) => request<T>('GET', path, opts),
  post: <T>(path: string, opts?: RequestOptions) => request<T>('POST', path, opts),
  put: <T>(path: string, opts?: RequestOptions) => request<T>('PUT', path, opts),
  del: <T>(path: string, opts?: RequestOptions) => request<T>('DELETE', path, opts),
};

/** Encodes one path segment. */
export const seg = encodeURIComponent;
