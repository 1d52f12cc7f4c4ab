import { useCallback, useEffect, useState } from 'react';
import { notifications } from '@mantine/notifications';
import { api, toApiError, withQuery, type ApiError, type Query } from './client';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | null;
  loading: boolean;
  /** When the shown data (or error) arrived, ms since the epoch; 0 before. */
  at: number;
  reload: () => void;
}

interface Fetched<T> {
  url: string | null;
  /** The url and reload count the answer is for. */
  key: string;
  data: T | undefined;
  error: ApiError | null;
  at: number;
}

/** GETs `path` (null: nothing), again on reload() and every `refreshMs` when given. */
export function useApiGet<T>(path: string | null, query?: Query, refreshMs?: number): Loaded<T> {
  const url = path === null ? null : withQuery(path, query);
  const [state, setState] = useState<Fetched<T>>({ url: null, key: '', data: undefined, error: null, at: 0 });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  const key = `${url ?? ''}#${tick}`;

  useEffect(() => {
    if (url === null) return;
    const ctl = new AbortController();
    api
      .get<T>(url, { signal: ctl.signal })
      .then((data) => setState({ url, key, data, error: null, at: Date.now() }))
      .catch((e: unknown) => {
        const err = toApiError(e);
        if (err.code === 'aborted') return;
        setState((s) => ({ url, key, data: s.url === url ? s.data : undefined, error: err, at: Date.now() }));
      });
    return () => ctl.abort();
  }, [url, key]);

  useEffect(() => {
    if (!refreshMs || url === null) return;
    const t = window.setInterval(() => setTick((x) => x + 1), refreshMs);
    return () => window.clearInterval(t);
  }, [refreshMs, url]);

  const same = state.url === url;
  return {
    data: same ? state.data : undefined,
    error: same ? state.error : null,
    loading: url !== null && state.key !== key,
    at: same ? state.at : 0,
    reload,
  };
}

/** Runs a change; reports success or the API's error (message and field) as a notification. */
export async function runAction<T>(what: string, f: () => Promise<T>, success?: string): Promise<T | undefined> {
  try {
    const out = await f();
    if (success) notifications.show({ color: 'green', title: what, message: success });
    return out;
  } catch (e) {
    const err = toApiError(e);
    notifications.show({ color: 'red', title: `${what} failed`, message: err.describe(), autoClose: 10000 });
    return undefined;
  }
}
