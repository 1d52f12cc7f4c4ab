// The live decisions view's state: filtering and back-pressure, kept pure so it can be tested.
//
// Shown events are bounded (`maxShown`, newest first). While paused, arriving events wait in a
// buffer bounded by `maxPaused`: past it the oldest waiting event is dropped and counted, so a
// paused page holds bounded memory however busy the gateways are. `lagged` notices from the
// server (events it dropped for a slow reader) are kept as notices with their counts.

import type { AuditEvent } from '../api/types';

export interface LiveFilter {
  tenant: string;
  user: string;
  rule: string;
  verdict: string;
}

export const emptyFilter: LiveFilter = { tenant: '', user: '', rule: '', verdict: '' };

export interface LiveState {
  shown: AuditEvent[];
  waiting: AuditEvent[];
  paused: boolean;
  /** Events dropped from the paused buffer since the last clear. */
  dropped: number;
  /** Events the server said it missed (`lagged`), since the last clear. */
  missed: number;
  notices: { at: number; missed: number }[];
  maxShown: number;
  maxPaused: number;
}

export function initialLive(maxShown = 500, maxPaused = 200): LiveState {
  return { shown: [], waiting: [], paused: false, dropped: 0, missed: 0, notices: [], maxShown, maxPaused };
}

export type LiveAction =
  | { type: 'event'; event: AuditEvent }
  | { type: 'lagged'; missed: number; at: number }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'clear' };

/** Whether an event passes the filter (empty fields match everything). */
export function matches(e: AuditEvent, f: LiveFilter): boolean {
  if (f.tenant && e.tenant !== f.tenant) return false;
  if (f.user && e.actor !== f.user) return false;
  if (f.verdict) {
    // One verdict or several separated by commas, as the server's `verdict=` takes them.
    const verdicts = f.verdict.split(',').map((v) => v.trim());
    if (!verdicts.includes(e.verdict)) return false;
  }
  // Exact rule names, as the server filters them.
  if (f.rule && (e.detail?.rule ?? '') !== f.rule) return false;
  return true;
}

export function liveReducer(s: LiveState, a: LiveAction): LiveState {
  switch (a.type) {
    case 'event':
      if (s.paused) {
        const waiting = [...s.waiting, a.event];
        const over = waiting.length - s.maxPaused;
        if (over > 0) {
          return { ...s, waiting: waiting.slice(over), dropped: s.dropped + over };
        }
        return { ...s, waiting };
      }
      return { ...s, shown: [a.event, ...s.shown].slice(0, s.maxShown) };
    case 'lagged':
      return {
        ...s,
        missed: s.missed + a.missed,
        notices: [{ at: a.at, missed: a.missed }, ...s.notices].slice(0, 20),
      };
    case 'pause':
      return s.paused ? s : { ...s, paused: true };
    case 'resume': {
      if (!s.paused) return s;
      const newestFirst = [...s.waiting].reverse();
      return { ...s, paused: false, waiting: [], shown: [...newestFirst, ...s.shown].slice(0, s.maxShown) };
    }
    case 'clear':
      return { ...s, shown: [], waiting: [], dropped: 0, missed: 0, notices: [] };
  }
}
