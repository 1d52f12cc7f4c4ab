import { useState } from 'react';
import { Badge, Button, Group, Modal, NumberInput, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { api, seg } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Feed, Indicator, Items, Paged, Tenant } from '../api/types';
import { canWrite, canWriteTenant, isAdmin, useWho } from '../auth';
import { BypassRules } from '../components/Bypass';
import { PageHeader, ReadOnlyNote } from '../components/common';
import { fmtAge, fmtTime } from '../lib/format';
import { SubmitForm } from '../components/forms';
import { deleteThenReload, LoadState } from '../components/resource';
import { CursorPagination, RowDeleteButton, TableHead } from '../components/table';

const FORMATS = ['stix', 'openioc', 'misp', 'misp-feed'];
const KINDS = ['', 'address', 'domain', 'url', 'user', 'email', 'sql-pattern'];

function FeedForm({ tenant, onDone }: { tenant: string | null; onDone: () => void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [format, setFormat] = useState<string | null>('stix');
  const [interval, setInterval] = useState('1h');
  const [confidence, setConfidence] = useState<number | string>(50);
  const submit = async () => {
    const body: Record<string, unknown> = { name, url, format, interval, default_confidence: Number(confidence) };
    if (tenant) body.tenant = tenant;
    const r = await runAction('Add feed', () => api.post('/api/v1/feeds', { json: body }), `Feed ${name} added`);
    if (r !== undefined) onDone();
  };
  return (
    <SubmitForm onSubmit={submit} submitLabel="Add feed" disabled={!name || !url}>
      <TextInput label="Feed name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
      <TextInput label="URL" value={url} onChange={(e) => setUrl(e.currentTarget.value)} required placeholder="https://…" />
      <Select label="Format" data={FORMATS} value={format} onChange={setFormat} allowDeselect={false} />
      <TextInput label="Interval (30s, 15m, 6h, 1d or manual)" value={interval} onChange={(e) => setInterval(e.currentTarget.value)} />
      <NumberInput label="Default confidence (0-100)" min={0} max={100} value={confidence} onChange={setConfidence} />
      <Text size="sm">Scope: {tenant ? `tenant ${tenant}` : 'global (every tenant)'}</Text>
    </SubmitForm>
  );
}

function Indicators() {
  const [value, setValue] = useState('');
  const [kind, setKind] = useState<string | null>('');
  const [feed, setFeed] = useState('');
  const [cursors, setCursors] = useState<(number | null)[]>([null]);
  const [page, setPage] = useState(1);
  const after = cursors[page - 1] ?? null;
  const { data, error, loading } = useApiGet<Paged<Indicator, number>>('/api/v1/indicators', { value, kind, feed, after, limit: 50 });
  const reset = () => {
    setCursors([null]);
    setPage(1);
  };
  const next = data?.next ?? null;
  const total = next !== null ? Math.max(cursors.length, page + 1) : page;
  return (
    <Stack>
      <Group align="flex-end" wrap="wrap">
        <TextInput
          label="Search value"
          value={value}
          onChange={(e) => {
            setValue(e.currentTarget.value);
            reset();
          }}
        />
        <Select
          label="Kind"
          data={KINDS.map((k) => ({ value: k, label: k || 'any' }))}
          value={kind}
          onChange={(v) => {
            setKind(v);
            reset();
          }}
          allowDeselect={false}
        />
        <TextInput
          label="Feed"
          value={feed}
          onChange={(e) => {
            setFeed(e.currentTarget.value);
            reset();
          }}
        />
      </Group>
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Table.ScrollContainer minWidth={800}>
        <Table striped aria-label="Indicators" data-testid="indicators">
          <TableHead columns={['Kind', 'Value', 'Confidence', 'Feed (provenance)', 'Source id', 'Labels', 'First / last seen']} />
          <Table.Tbody>
            {(data?.items ?? []).map((i) => (
              <Table.Tr key={`${i.feed}/${i.kind}/${i.value}`}>
                <Table.Td>{i.kind}</Table.Td>
                <Table.Td className="mono">{i.value}</Table.Td>
                <Table.Td>{i.confidence}</Table.Td>
                <Table.Td>
                  {i.feed}
                  {i.tenant ? ` (${i.tenant})` : ''}
                </Table.Td>
                <Table.Td className="mono">{i.id}</Table.Td>
                <Table.Td>{i.labels.join(', ')}</Table.Td>
                <Table.Td>
                  {fmtTime(i.first_seen)} / {fmtTime(i.last_seen)}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {data && data.items.length === 0 ? <Text size="sm">No indicators match.</Text> : null}
      <CursorPagination total={total} page={page} cursors={cursors} next={next} setCursors={setCursors} setPage={setPage} />
    </Stack>
  );
}

export default function Feeds() {
  const who = useWho();
  const { data, error, loading, reload, at: now } = useApiGet<Items<Feed>>('/api/v1/feeds', undefined, 15000);
  const tenants = useApiGet<Items<Tenant>>(who.role === 'tenant-admin' ? null : '/api/v1/tenants');
  const [adding, setAdding] = useState(false);
  const [bypassTenant, setBypassTenant] = useState<string | null>(who.role === 'tenant-admin' ? who.tenant : null);
  const feedTenant = who.role === 'tenant-admin' ? who.tenant : null;

  const mayWrite = (f: Feed) => (f.tenant ? canWriteTenant(who, f.tenant) : isAdmin(who));
  const fetchNow = async (f: Feed) => {
    await runAction(`Fetch ${f.name}`, () => api.post(`/api/v1/feeds/${seg(f.name)}/fetch`), 'Fetched');
    reload();
  };
  const remove = (f: Feed) =>
    deleteThenReload({ confirm: `Delete feed ${f.name} and its indicators?`, what: `Delete ${f.name}`, path: `/api/v1/feeds/${seg(f.name)}`, success: 'Feed deleted', reload });

  return (
    <>
      <PageHeader title="Threat feeds">{canWrite(who) ? <Button onClick={() => setAdding(true)}>Add a feed</Button> : null}</PageHeader>
      <ReadOnlyNote show={!canWrite(who)} />
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Table.ScrollContainer minWidth={900}>
        <Table striped aria-label="Threat feeds" data-testid="feeds">
          <TableHead columns={['Feed', 'Format / parser', 'Interval', 'Freshness', 'Indicators', 'Last error', 'Actions']} />
          <Table.Tbody>
            {(data?.items ?? []).map((f) => (
              <Table.Tr key={f.key}>
                <Table.Td>
                  {f.key} {f.enabled ? null : <Badge size="xs">disabled</Badge>}
                  <Text size="xs" c="dimmed">
                    {f.url ?? ''}
                  </Text>
                </Table.Td>
                <Table.Td>
                  {f.format} / {f.parser}
                </Table.Td>
                <Table.Td>{f.interval}</Table.Td>
                <Table.Td>{f.status.last_success ? `${fmtAge(now - f.status.last_success)} ago` : 'never fetched'}</Table.Td>
                <Table.Td>{f.status.indicators}</Table.Td>
                <Table.Td>{f.status.last_error ? <Text size="sm" c="red.4">{f.status.last_error}</Text> : '—'}</Table.Td>
                <Table.Td>
                  {mayWrite(f) ? (
                    <Group gap="xs" wrap="nowrap">
                      <Button size="compact-xs" variant="outline" onClick={() => void fetchNow(f)} aria-label={`Fetch ${f.name} now`}>
                        Fetch now
                      </Button>
                      <RowDeleteButton onClick={() => void remove(f)} label={`Delete feed ${f.name}`}>
                        Delete
                      </RowDeleteButton>
                    </Group>
                  ) : (
                    '—'
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {data && data.items.length === 0 ? <Text size="sm">No feeds.</Text> : null}
      <Title order={2} size="h3" mt="xl" mb="sm">
        Indicators
      </Title>
      <Indicators />
      <Title order={2} size="h3" mt="xl" mb="sm">
        Bypass rules
      </Title>
      {who.role !== 'tenant-admin' ? (
        <Select
          label="Tenant"
          data={(tenants.data?.items ?? []).map((t) => t.name)}
          value={bypassTenant}
          onChange={setBypassTenant}
          placeholder="Choose a tenant"
          mb="sm"
          w={300}
        />
      ) : null}
      {bypassTenant ? <BypassRules key={bypassTenant} tenant={bypassTenant} writable={canWriteTenant(who, bypassTenant)} /> : null}
      <Modal opened={adding} onClose={() => setAdding(false)} title="Add a threat feed">
        <FeedForm
          tenant={feedTenant}
          onDone={() => {
            setAdding(false);
            reload();
          }}
        />
      </Modal>
    </>
  );
}
