import { useState } from 'react';
import { Link } from 'react-router';
import { Anchor, Button, Modal, Table, Text, TextInput } from '@mantine/core';
import { api } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Items, Tenant } from '../api/types';
import { isAdmin, useWho } from '../auth';
import { PageHeader, ReadOnlyNote } from '../components/common';
import { fmtTime } from '../lib/format';
import { SubmitForm } from '../components/forms';
import { LoadState } from '../components/resource';
import { TableHead } from '../components/table';

export default function Tenants() {
  const who = useWho();
  const { data, error, loading, reload } = useApiGet<Items<Tenant>>('/api/v1/tenants');
  const [open, setOpen] = useState(false);
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');

  const create = async () => {
    const ok = await runAction('Create tenant', () => api.post('/api/v1/tenants', { json: { name, description } }), `Tenant ${name} created`);
    if (ok !== undefined) {
      setOpen(false);
      setName('');
      setDescription('');
      reload();
    }
  };

  return (
    <>
      <PageHeader title="Tenants">
        {isAdmin(who) ? <Button onClick={() => setOpen(true)}>New tenant</Button> : null}
      </PageHeader>
      <ReadOnlyNote show={who.role === 'auditor'} />
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      {data ? (
        <Table striped aria-label="Tenants" data-testid="tenants">
          <TableHead columns={['Name', 'Description', 'Created']} />
          <Table.Tbody>
            {data.items.map((t) => (
              <Table.Tr key={t.name}>
                <Table.Td>
                  <Anchor component={Link} to={`/tenants/${encodeURIComponent(t.name)}`}>
                    {t.name}
                  </Anchor>
                </Table.Td>
                <Table.Td>{t.description ?? ''}</Table.Td>
                <Table.Td>{fmtTime(t.created_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {data && data.items.length === 0 ? <Text mt="sm">No tenants yet.</Text> : null}
      <Modal opened={open} onClose={() => setOpen(false)} title="New tenant">
        <SubmitForm onSubmit={create} submitLabel="Create tenant" disabled={name.trim() === ''}>
          <TextInput label="Tenant name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
          <TextInput label="Description" value={description} onChange={(e) => setDescription(e.currentTarget.value)} />
        </SubmitForm>
      </Modal>
    </>
  );
}
