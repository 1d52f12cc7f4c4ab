import { useEffect, useReducer, useState } from 'react';
import { Alert, Badge, Button, Group, Select, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { readEventStream } from '../api/sse';
import { toApiError, type ApiError } from '../api/client';
import type { AuditEvent } from '../api/types';
import { useWho } from '../auth';
import { ErrorAlert, PageHeader, VerdictBadge } from '../components/common';
import { emptyFilter, initialLive, liveReducer, matches, type LiveFilter } from '../lib/live';
import { fmtTime } from '../lib/format';
import { TableHead } from '../components/table';

const VERDICTS = ['deny', 'would-deny', 'audit', 'allow'];

function isAuditEvent(v: unknown): v is AuditEvent {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' && typeof (v as { verdict?: unknown }).verdict === 'string';
}

export default function Live() {
  const who = useWho();
  const [state, dispatch] = useReducer(liveReducer, undefined, () => initialLive(500, 200));
  const [filter, setFilter] = useState<LiveFilter>(() => ({ ...emptyFilter, tenant: who.role === 'tenant-admin' ? (who.tenant ?? '') : '' }));
  const [debounced] = useDebouncedValue(filter, 400);
  const [status, setStatus] = useState<'connecting' | 'open' | 'closed'>('connecting');
  // The user filter of the open connection (tests wait for the filtered stream by it).
  const [openFor, setOpenFor] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);

  useEffect(() => {
    const ctl = new AbortController();
    let retry = 0;
    const run = async () => {
      while (!ctl.signal.aborted) {
        setStatus('connecting');
        setOpenFor(null);
        try {
          await readEventStream(
            '/api/v1/events',
            { tenant: debounced.tenant, user: debounced.user, rule: debounced.rule, verdict: debounced.verdict },
            ctl.signal,
            {
              onOpen: () => {
                retry = 0;
                setError(null);
                setStatus('open');
                setOpenFor(debounced.user);
              },
              onMessage: (m) => {
                if (m.event === 'audit') {
                  let ev: unknown;
                  try {
                    ev = JSON.parse(m.data);
                  } catch {
                    return;
                  }
                  if (isAuditEvent(ev) && matches(ev, debounced)) dispatch({ type: 'event', event: ev });
                } else if (m.event === 'lagged') {
                  let missed = 0;
                  try {
                    const d: unknown = JSON.parse(m.data);
                    if (typeof d === 'object' && d !== null && typeof (d as { missed?: unknown }).missed === 'number') missed = (d as { missed: number }).missed;
                  } catch {
                    // A lagged notice without a count still says events were missed.
                  }
                  dispatch({ type: 'lagged', missed, at: Date.now() });
                }
              },
            },
          );
        } catch (e) {
          const err = toApiError(e);
          if (err.code === 'aborted' || ctl.signal.aborted) return;
          setError(err);
          // Refusals (4xx) do not get better by retrying.
          if (err.status >= 400 && err.status < 500) {
            setStatus('closed');
            return;
          }
        }
        if (ctl.signal.aborted) return;
        setStatus('closed');
        retry = Math.min(retry + 1, 5);
        await new Promise<void>((resolve) => {
          const t = window.setTimeout(resolve, 500 * 2 ** retry);
          ctl.signal.addEventListener('abort', () => {
            window.clearTimeout(t);
            resolve();
          });
        });
      }
    };
    void run();
    return () => ctl.abort();
  }, [debounced]);

  const set = (k: keyof LiveFilter) => (v: string | null) => setFilter((f) => ({ ...f, [k]: v ?? '' }));

  return (
    <>
      <PageHeader title="Live decisions">
        <Badge color={status === 'open' ? 'green' : status === 'connecting' ? 'yellow' : 'red'} variant="light" data-testid="stream-status" data-user={openFor ?? undefined}>
          {status}
        </Badge>
        {state.paused ? (
          <Button onClick={() => dispatch({ type: 'resume' })}>Resume</Button>
        ) : (
          <Button variant="outline" onClick={() => dispatch({ type: 'pause' })}>
            Pause
          </Button>
        )}
        <Button variant="subtle" onClick={() => dispatch({ type: 'clear' })}>
          Clear
        </Button>
      </PageHeader>
      <Group mb="md" align="flex-end" wrap="wrap">
        <TextInput label="Tenant" value={filter.tenant} onChange={(e) => set('tenant')(e.currentTarget.value)} disabled={who.role === 'tenant-admin'} />
        <TextInput label="User" value={filter.user} onChange={(e) => set('user')(e.currentTarget.value)} />
        <TextInput label="Rule" placeholder="sqli.tautology" value={filter.rule} onChange={(e) => set('rule')(e.currentTarget.value)} />
        <Select label="Verdict" data={VERDICTS} value={filter.verdict || null} onChange={set('verdict')} clearable placeholder="any" />
      </Group>
      <ErrorAlert error={error} title="The event stream failed" />
      {state.paused ? (
        <Alert color="yellow" variant="light" mb="sm" data-testid="paused-note">
          Paused: {state.waiting.length} event(s) waiting (at most {state.maxPaused} are kept), {state.dropped} dropped.
        </Alert>
      ) : state.dropped > 0 ? (
        <Text size="sm" mb="sm">
          {state.dropped} event(s) were dropped while paused.
        </Text>
      ) : null}
      {state.notices.length > 0 ? (
        <Alert color="orange" variant="light" mb="sm" title="The stream lagged" data-testid="lagged-note">
          The server dropped {state.missed} event(s) because this page read too slowly (last at {fmtTime(state.notices[0]?.at)}).
        </Alert>
      ) : null}
      <Table.ScrollContainer minWidth={800}>
        <Table striped aria-label="Live decisions" data-testid="live-table">
          <TableHead columns={['Time', 'Tenant', 'User', 'Action', 'Verdict', 'Rule', 'Statement / reason']} />
          <Table.Tbody>
            {state.shown.map((e) => (
              <Table.Tr key={e.id} data-event-id={e.id} data-user={e.actor} data-verdict={e.verdict}>
                <Table.Td>{fmtTime(e.at)}</Table.Td>
                <Table.Td>{e.tenant}</Table.Td>
                <Table.Td>{e.actor}</Table.Td>
                <Table.Td>{e.action}</Table.Td>
                <Table.Td>
                  <VerdictBadge verdict={e.verdict} />
                </Table.Td>
                <Table.Td className="mono">{e.detail?.rule ?? '—'}</Table.Td>
                <Table.Td>
                  <Text size="sm" className="mono" lineClamp={2}>
                    {e.detail?.sql ?? e.detail?.reason ?? e.target}
                  </Text>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {state.shown.length === 0 ? (
        <Text size="sm" mt="sm">
          No decisions yet.
        </Text>
      ) : null}
    </>
  );
}
