import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, getApiKey, setApiKey, setUnauthorizedHandler, toApiError } from './api/client';
import type { WhoAmI } from './api/types';

export interface Session {
  who: WhoAmI | null;
  /** True while a stored key is being checked. */
  checking: boolean;
  login: (key: string) => Promise<void>;
  logout: () => void;
}

const SessionContext = createContext<Session | null>(null);

export const GATEWAY_KEY_MESSAGE =
  'This is a gateway (cluster) key: it only reads snapshots. Log in with an admin, tenant-admin or auditor key.';

/** Checks a key with /api/v1/whoami; refuses gateway keys. */
export async function checkKey(key: string): Promise<WhoAmI> {
  let who: WhoAmI;
  try {
    who = await api.get<WhoAmI>('/api/v1/whoami', { key });
  } catch (e) {
    const err = toApiError(e);
    if (err.status === 401) throw new ApiError(401, err.code, `The key was refused: ${err.message}`, err.field);
    throw err;
  }
  if (who.role !== 'admin' && who.role !== 'tenant-admin' && who.role !== 'auditor') {
    throw new ApiError(403, 'forbidden', GATEWAY_KEY_MESSAGE);
  }
  return who;
}

export function SessionProvider({ children }: { children: ReactNode }) {
  const [who, setWho] = useState<WhoAmI | null>(null);
  const [checking, setChecking] = useState<boolean>(() => getApiKey() !== null);

  const logout = useCallback(() => {
    setApiKey(null);
    setWho(null);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(logout);
    return () => setUnauthorizedHandler(null);
  }, [logout]);

  useEffect(() => {
    const key = getApiKey();
    if (key === null) return;
    let live = true;
    checkKey(key)
      .then((w) => {
        if (live) setWho(w);
      })
      .catch(() => {
        if (live) setApiKey(null);
      })
      .finally(() => {
        if (live) setChecking(false);
      });
    return () => {
      live = false;
    };
  }, []);

  const login = useCallback(async (key: string) => {
    const w = await checkKey(key);
    setApiKey(key);
    setWho(w);
  }, []);

  const value = useMemo(() => ({ who, checking, login, logout }), [who, checking, login, logout]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The logged-in identity (pages are only rendered once logged in). */
export function useWho(): WhoAmI {
  const { who } = useSession();
  if (!who) throw new Error('not logged in');
  return who;
}

/** Whether the caller may change things at all (auditors only read). */
export function canWrite(who: WhoAmI): boolean {
  return who.role === 'admin' || who.role === 'tenant-admin';
}

export function isAdmin(who: WhoAmI): boolean {
  return who.role === 'admin';
}

/** Whether the caller may change resources of `tenant`. */
export function canWriteTenant(who: WhoAmI, tenant: string | null | undefined): boolean {
  if (who.role === 'admin') return true;
  return who.role === 'tenant-admin' && tenant !== null && tenant !== undefined && who.tenant === tenant;
}
