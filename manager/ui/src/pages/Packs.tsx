import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { Anchor, Badge, Button, Modal, Select, Table, TextInput } from '@mantine/core';
import { useApiGet } from '../api/hooks';
import type { Items, Pack, Tenant } from '../api/types';
import { canWrite, isAdmin, useWho } from '../auth';
import { PageHeader, ReadOnlyNote } from '../components/common';
import { fmtTime } from '../lib/format';
import { SubmitForm } from '../components/forms';
import { LoadState } from '../components/resource';
import { TableHead } from '../components/table';

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
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      {data ? (
        <Table striped aria-label="Rule packs" data-testid="packs">
          <TableHead columns={['Name', 'Kind', 'Tenant', 'Mode', 'Updated']} />
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
        <SubmitForm
          onSubmit={() => {
            const q = new URLSearchParams({ new: '1', tenant: owner ?? '' });
            return navigate(`/packs/${encodeURIComponent(name.trim())}?${q.toString()}`);
          }}
          submitLabel="Open the editor"
          disabled={name.trim() === ''}
        >
          <TextInput label="Pack name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <Select label="Owner" data={owners} value={owner ?? ''} onChange={(v) => setOwner(v === '' ? null : v)} allowDeselect={false} disabled={who.role === 'tenant-admin'} />
        </SubmitForm>
      </Modal>
    </>
  );
}
