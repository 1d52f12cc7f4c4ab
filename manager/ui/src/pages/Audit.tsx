import { useState } from 'react';
import { Button, Group, Select, Stack, Table, Text, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { send, withQuery, type Query } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { AuditEvent, Paged } from '../api/types';
import { useWho } from '../auth';
import { PageHeader, VerdictBadge } from '../components/common';
import { fmtTime } from '../lib/format';
import { LoadState } from '../components/resource';
import { CursorPagination, TableHead } from '../components/table';

const PAGE = 50;

function toMs(local: string): number | undefined {
  if (!local) return undefined;
  const t = new Date(local).getTime();
  return Number.isNaN(t) ? undefined : t;
}

export default function Audit() {
  const who = useWho();
  const [tenant, setTenant] = useState(who.role === 'tenant-admin' ? (who.tenant ?? '') : '');
  const [user, setUser] = useState('');
  const [verdict, setVerdict] = useState<string | null>(null);
  const [rule, setRule] = useState('');
  const [action, setAction] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState(1);
  const filters: Query = { tenant, user, verdict, rule, action, since: toMs(since), until: toMs(until) };
  const [debounced] = useDebouncedValue(filters, 400);
  const key = withQuery('', debounced);
  const [shownKey, setShownKey] = useState(key);
  if (shownKey !== key) {
    // New filters start again from the first page.
    setShownKey(key);
    setCursors([null]);
    setPage(1);
  }
  const cursor = cursors[page - 1] ?? null;
  const { data, error, loading } = useApiGet<Paged<AuditEvent>>('/api/v1/audit', { ...debounced, limit: PAGE, cursor });
  const next = data?.next ?? null;
  const total = next !== null ? Math.max(cursors.length, page + 1) : Math.max(page, cursors.length);

  const exportCsv = async () => {
    await runAction('Export CSV', async () => {
      const resp = await send('GET', '/api/v1/audit', { query: { ...debounced, limit: 10000, format: 'csv' }, accept: 'text/csv' });
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      const a = document.createElement('a');
      a.href = url;
      a.download = `articdbm-audit-${new Date().toISOString().replace(/[:.]/g, '-')}.csv`;
      document.body.appendChild(a);
      a.click();
      a.remove();
      window.setTimeout(() => URL.revokeObjectURL(url), 10000);
      return true;
    });
  };

  return (
    <>
      <PageHeader title="Audit">
        <Button variant="outline" onClick={() => void exportCsv()}>
          Export CSV
        </Button>
      </PageHeader>
      <Group mb="md" align="flex-end" wrap="wrap">
        <TextInput label="Tenant" value={tenant} onChange={(e) => setTenant(e.currentTarget.value)} disabled={who.role === 'tenant-admin'} />
        <TextInput label="User or actor" value={user} onChange={(e) => setUser(e.currentTarget.value)} />
        <Select label="Verdict" data={['deny', 'would-deny', 'audit', 'allow']} value={verdict} onChange={setVerdict} clearable placeholder="any" />
        <TextInput label="Rule" value={rule} onChange={(e) => setRule(e.currentTarget.value)} />
        <TextInput label="Action" placeholder="query, connect, pack.put…" value={action} onChange={(e) => setAction(e.currentTarget.value)} />
        <TextInput type="datetime-local" label="Since" value={since} onChange={(e) => setSince(e.currentTarget.value)} />
        <TextInput type="datetime-local" label="Until" value={until} onChange={(e) => setUntil(e.currentTarget.value)} />
      </Group>
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Stack>
        <Table.ScrollContainer minWidth={900}>
          <Table striped aria-label="Audit events" data-testid="audit">
            <TableHead columns={['Time', 'Tenant', 'Actor', 'Action', 'Target', 'Verdict', 'Rule / detail']} />
            <Table.Tbody>
              {(data?.items ?? []).map((e) => (
                <Table.Tr key={e.id}>
                  <Table.Td>{fmtTime(e.at)}</Table.Td>
                  <Table.Td>{e.tenant}</Table.Td>
                  <Table.Td>{e.actor}</Table.Td>
                  <Table.Td>{e.action}</Table.Td>
                  <Table.Td>{e.target}</Table.Td>
                  <Table.Td>{e.verdict ? <VerdictBadge verdict={e.verdict} /> : '—'}</Table.Td>
                  <Table.Td>
                    <Text size="sm" className="mono" lineClamp={2}>
                      {e.detail?.rule ?? ''} {e.detail?.sql ?? e.detail?.reason ?? ''}
                    </Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {data && data.items.length === 0 ? <Text size="sm">No events match.</Text> : null}
        <CursorPagination total={total} page={page} cursors={cursors} next={next} setCursors={setCursors} setPage={setPage} />
      </Stack>
    </>
  );
}
