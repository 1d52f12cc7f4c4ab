import { useState } from 'react';
import { Alert, Badge, Button, Code, CopyButton, Group, Modal, Select, Table, Text, TextInput } from '@mantine/core';
import { api, seg } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Items, Tenant } from '../api/types';
import { ErrorAlert, Loading, PageHeader } from '../components/common';
import { fmtTime } from '../lib/format';
import { SubmitForm } from '../components/forms';
import { deleteThenReload } from '../components/resource';
import { RowDeleteButton, TableHead } from '../components/table';

interface ApiKey {
  id: string;
  role: string;
  tenant: string | null;
  name: string;
  created_at: number;
  revoked_at: number | null;
}

const ROLES = ['admin', 'tenant-admin', 'auditor', 'gateway'];

/** API keys (admin only): create (the key shown once) and revoke. */
export default function Keys() {
  const { data, error, loading, reload } = useApiGet<Items<ApiKey>>('/api/v1/keys');
  const tenants = useApiGet<Items<Tenant>>('/api/v1/tenants');
  const [open, setOpen] = useState(false);
  const [role, setRole] = useState<string | null>('tenant-admin');
  const [tenant, setTenant] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [created, setCreated] = useState<(ApiKey & { key: string }) | null>(null);

  const create = async () => {
    const body: Record<string, unknown> = { role, name };
    if (role === 'tenant-admin') body.tenant = tenant;
    const k = await runAction('Create key', () => api.post<ApiKey & { key: string }>('/api/v1/keys', { json: body }));
    if (k) {
      setCreated(k);
      setOpen(false);
      setName('');
      reload();
    }
  };
  const revoke = (k: ApiKey) => deleteThenReload({ confirm: `Revoke key ${k.name || k.id}?`, what: 'Revoke key', path: `/api/v1/keys/${seg(k.id)}`, success: 'Key revoked', reload });

  return (
    <>
      <PageHeader title="API keys">
        <Button onClick={() => setOpen(true)}>New key</Button>
      </PageHeader>
      {created ? (
        <Alert color="gold" variant="light" mb="md" title="New key: shown once" data-testid="new-key" withCloseButton closeButtonLabel="Dismiss the new key" onClose={() => setCreated(null)}>
          <Group gap="xs">
            <Code>{created.key}</Code>
            <CopyButton value={created.key}>
              {({ copied, copy }) => (
                <Button size="compact-xs" variant="outline" onClick={copy}>
                  {copied ? 'Copied' : 'Copy key'}
                </Button>
              )}
            </CopyButton>
          </Group>
          <Text size="xs" mt="xs">
            Only its hash is stored: it cannot be shown again.
          </Text>
        </Alert>
      ) : null}
      <ErrorAlert error={error} />
      {loading && !data ? <Loading /> : null}
      <Table striped aria-label="API keys" data-testid="keys">
        <TableHead columns={['Name', 'Role', 'Tenant', 'Created', 'State']} />
        <Table.Tbody>
          {(data?.items ?? []).map((k) => (
            <Table.Tr key={k.id}>
              <Table.Td>{k.name || <span className="mono">{k.id}</span>}</Table.Td>
              <Table.Td>{k.role}</Table.Td>
              <Table.Td>{k.tenant ?? '—'}</Table.Td>
              <Table.Td>{fmtTime(k.created_at)}</Table.Td>
              <Table.Td>
                {k.revoked_at ? (
                  <Badge color="gray" variant="light">
                    revoked {fmtTime(k.revoked_at)}
                  </Badge>
                ) : (
                  <RowDeleteButton onClick={() => void revoke(k)} label={`Revoke key ${k.name || k.id}`}>
                    Revoke
                  </RowDeleteButton>
                )}
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      <Modal opened={open} onClose={() => setOpen(false)} title="New API key">
        <SubmitForm onSubmit={create} submitLabel="Create key" disabled={role === 'tenant-admin' && !tenant}>
          <Select label="Role" data={ROLES} value={role} onChange={setRole} allowDeselect={false} />
          {role === 'tenant-admin' ? (
            <Select label="Tenant" data={(tenants.data?.items ?? []).map((t) => t.name)} value={tenant} onChange={setTenant} required searchable />
          ) : null}
          <TextInput label="Key name" value={name} onChange={(e) => setName(e.currentTarget.value)} />
        </SubmitForm>
      </Modal>
    </>
  );
}
