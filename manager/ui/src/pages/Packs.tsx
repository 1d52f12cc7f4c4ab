import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Anchor, Badge, Button, Group, Modal, Select, Stack, Table, TextInput } from '@mantine/core';
import { useApiGet } from '../api/hooks';
import type { Items, Pack, Tenant } from '../api/types';
import { canWrite, isAdmin, useWho } from '../auth';
import { ErrorAlert, Loading, PageHeader, ReadOnlyNote } from '../components/common';
import { fmtTime } from '../lib/format';

export default function Packs() {
  const who = useWho();
  const navigate = useNavigate();
  const { data, error, loading } = useApiGet<Items<Pack>>('/api/v1/packs');
  const tenants = useApiGet<Items<Tenant>>(isAdmin(who) ? '/api/v1/tenants' : null);
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [owner, setOwner] = useState<string | null>(who.role === 'tenant-admin' ? who.tenant : null);
  const owners = [
    ...(isAdmin(who) ? [{ value: '', label: 'baseline (every tenant)' }] : []),
    ...(who.role === 'tenant-admin' && who.tenant ? [{ value: who.tenant, label: `tenant ${who.tenant}` }] : []),
    ...(tenants.data?.items ?? []).map((t) => ({ value: t.name, label: `tenant ${t.name}` })),
  ];

  return (
    <>
      <PageHeader title="Rule packs">{canWrite(who) ? <Button onClick={() => setOpen(true)}>New pack</Button> : null}</PageHeader>
      <ReadOnlyNote show={!canWrite(who)} />
      <ErrorAlert error={error} />
      {loading && !data ? <Loading /> : null}
      {data ? (
        <Table striped aria-label="Rule packs" data-testid="packs">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Name</Table.Th>
              <Table.Th>Kind</Table.Th>
              <Table.Th>Tenant</Table.Th>
              <Table.Th>Mode</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {data.items.map((p) => (
              <Table.Tr key={`${p.tenant ?? ''}/${p.name}`}>
                <Table.Td>
                  <Anchor component={Link} to={`/packs/${encodeURIComponent(p.name)}`}>
                    {p.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{p.kind}</Table.Td>
                <Table.Td>{p.tenant ?? '—'}</Table.Td>
                <Table.Td>
                  <Badge color={p.mode === 'monitor' ? 'orange' : 'red'} variant="light">
                    {p.mode ?? 'enforce'}
                  </Badge>
                </Table.Td>
                <Table.Td>{fmtTime(p.updated_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      <Modal opened={open} onClose={() => setOpen(false)} title="New pack">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const q = new URLSearchParams({ new: '1', tenant: owner ?? '' });
            void navigate(`/packs/${encodeURIComponent(name.trim())}?${q.toString()}`);
          }}
        >
          <Stack>
            <TextInput label="Pack name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
            <Select label="Owner" data={owners} value={owner ?? ''} onChange={(v) => setOwner(v === '' ? null : v)} allowDeselect={false} disabled={who.role === 'tenant-admin'} />
            <Group justify="flex-end">
              <Button type="submit" disabled={name.trim() === ''}>
                Open the editor
              </Button>
            </Group>
          </Stack>
        </form>
      </Modal>
    </>
  );
}
