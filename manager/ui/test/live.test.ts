import { describe, expect, it } from 'vitest';
import { emptyFilter, initialLive, liveReducer, matches, type LiveAction, type LiveState } from '../src/lib/live';
import type { AuditEvent } from '../src/api/types';

function ev(n: number, over: Partial<AuditEvent> = {}): AuditEvent {
  return {
    id: `e${n}`,
    at: 1_700_000_000_000 + n,
    tenant: 'acme',
    actor: 'app',
    action: 'query',
    target: 'shop',
    verdict: 'deny',
    detail: { rule: 'sqli.tautology', sql: `SELECT ${n}` },
    ...over,
  };
}

function run(s: LiveState, actions: LiveAction[]): LiveState {
  return actions.reduce(liveReducer, s);
}

describe('live filter', () => {
  it('matches every field and treats empty as any', () => {
    const e = ev(1);
    expect(matches(e, emptyFilter)).toBe(true);
    expect(matches(e, { ...emptyFilter, tenant: 'acme', user: 'app', rule: 'sqli.tautology', verdict: 'deny' })).toBe(true);
    expect(matches(e, { ...emptyFilter, tenant: 'other' })).toBe(false);
    expect(matches(e, { ...emptyFilter, user: 'bob' })).toBe(false);
    expect(matches(e, { ...emptyFilter, verdict: 'would-deny' })).toBe(false);
    expect(matches(e, { ...emptyFilter, verdict: 'audit, deny' })).toBe(true);
    expect(matches(e, { ...emptyFilter, rule: 'sqli' })).toBe(false);
    expect(matches(ev(2, { detail: null }), { ...emptyFilter, rule: 'sqli.tautology' })).toBe(false);
  });
});

describe('live back-pressure', () => {
  it('shows events newest first, bounded', () => {
    const s = run(
      initialLive(3, 2),
      [1, 2, 3, 4, 5].map((n) => ({ type: 'event', event: ev(n) })),
    );
    expect(s.shown.map((e) => e.id)).toEqual(['e5', 'e4', 'e3']);
    expect(s.dropped).toBe(0);
  });

  it('keeps at most maxPaused events while paused and counts the dropped ones', () => {
    let s = run(initialLive(100, 3), [{ type: 'event', event: ev(0) }, { type: 'pause' }]);
    for (let n = 1; n <= 10; n++) s = liveReducer(s, { type: 'event', event: ev(n) });
    expect(s.shown.map((e) => e.id)).toEqual(['e0']);
    expect(s.waiting.map((e) => e.id)).toEqual(['e8', 'e9', 'e10']);
    expect(s.dropped).toBe(7);
    s = liveReducer(s, { type: 'resume' });
    expect(s.paused).toBe(false);
    expect(s.waiting).toEqual([]);
    expect(s.shown.map((e) => e.id)).toEqual(['e10', 'e9', 'e8', 'e0']);
    expect(s.dropped).toBe(7);
    s = liveReducer(s, { type: 'event', event: ev(11) });
    expect(s.shown[0]?.id).toBe('e11');
    expect(liveReducer(s, { type: 'clear' })).toMatchObject({ shown: [], dropped: 0, missed: 0 });
  });

  it('resuming respects the shown bound', () => {
    let s = run(initialLive(2, 10), [{ type: 'pause' }]);
    for (let n = 1; n <= 5; n++) s = liveReducer(s, { type: 'event', event: ev(n) });
    s = liveReducer(s, { type: 'resume' });
    expect(s.shown.map((e) => e.id)).toEqual(['e5', 'e4']);
  });

  it('records lagged notices with their counts', () => {
    const s = run(initialLive(), [
      { type: 'lagged', missed: 5, at: 1 },
      { type: 'lagged', missed: 2, at: 2 },
    ]);
    expect(s.missed).toBe(7);
    expect(s.notices).toEqual([
      { at: 2, missed: 2 },
      { at: 1, missed: 5 },
    ]);
  });

  it('pause and resume are idempotent', () => {
    const s = initialLive();
    expect(liveReducer(s, { type: 'resume' })).toBe(s);
    const p = liveReducer(s, { type: 'pause' });
    expect(liveReducer(p, { type: 'pause' })).toBe(p);
  });
});
