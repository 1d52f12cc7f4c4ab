import { useState } from 'react';
import { useParams } from 'react-router';
import { Alert, Badge, Button, Code, CopyButton, Group, Modal, MultiSelect, NumberInput, PasswordInput, Select, Stack, Switch, Table, Tabs, TagsInput, Text, TextInput } from '@mantine/core';
import { api, seg } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Database, GatewayUser, Items, NewTokenAnswer, Permission, Tenant, Token } from '../api/types';
import { canWriteTenant, useWho } from '../auth';
import { ErrorAlert, PageHeader, ReadOnlyNote } from '../components/common';
import { fmtTime } from '../lib/format';
import { BypassRules } from '../components/Bypass';
import { SubmitForm } from '../components/forms';
import { deleteThenReload, LoadState, useCreateModal } from '../components/resource';
import { RowDeleteButton, RowDeleteCell, TableHead } from '../components/table';

function base(tenant: string): string {
  return `/api/v1/tenants/${seg(tenant)}`;
}

/** An RFC 3339 value from a datetime-local input (empty: none). */
function toRfc3339(local: string): string | undefined {
  if (!local) return undefined;
  const d = new Date(local);
  return Number.isNaN(d.getTime()) ? local : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function UserForm({ tenant, onDone }: { tenant: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [roles, setRoles] = useState<string[]>([]);
  const [databases, setDatabases] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const [requireTls, setRequireTls] = useState(false);
  const [networks, setNetworks] = useState<string[]>([]);
  const submit = async () => {
    const body = {
      name,
      password,
      roles,
      databases: databases.length ? databases : null,
      expires_at: toRfc3339(expires) ?? null,
      require_tls: requireTls,
      allowed_networks: networks.length ? networks : null,
    };
    const ok = await runAction('Create user', () => api.post(`${base(tenant)}/users`, { json: body }), `User ${name} created`);
    if (ok !== undefined) onDone();
  };
  return (
    <SubmitForm onSubmit={submit} submitLabel="Create user" disabled={!name || !password}>
      <TextInput label="User name" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
      <PasswordInput visibilityToggleButtonProps={{ 'aria-label': 'Show or hide the password' }} label="Password" value={password} onChange={(e) => setPassword(e.currentTarget.value)} required autoComplete="new-password" />
      <TagsInput label="Roles" value={roles} onChange={setRoles} placeholder="Enter to add" />
      <TagsInput label="Databases (empty: all of the tenant's)" value={databases} onChange={setDatabases} placeholder="Enter to add" />
      <TextInput type="datetime-local" label="Expires at (empty: never)" value={expires} onChange={(e) => setExpires(e.currentTarget.value)} />
      <Switch label="Require TLS" checked={requireTls} onChange={(e) => setRequireTls(e.currentTarget.checked)} />
      <TagsInput label="Allowed networks (addresses or CIDRs; empty: any)" value={networks} onChange={setNetworks} placeholder="10.0.0.0/8" />
    </SubmitForm>
  );
}

function Tokens({ tenant, user, writable }: { tenant: string; user: string; writable: boolean }) {
  const path = `${base(tenant)}/users/${seg(user)}/tokens`;
  const { data, error, reload } = useApiGet<Items<Token>>(path);
  const [hours, setHours] = useState<number | string>(1);
  const [maxUses, setMaxUses] = useState<number | string>(1);
  const [created, setCreated] = useState<NewTokenAnswer | null>(null);
  const create = async () => {
    const expires_at = new Date(Date.now() + Number(hours) * 3_600_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    const t = await runAction('Create token', () => api.post<NewTokenAnswer>(path, { json: { expires_at, max_uses: Number(maxUses) } }));
    if (t) {
      setCreated(t);
      reload();
    }
  };
  const revoke = (id: string) => deleteThenReload({ what: 'Revoke token', path: `${path}/${seg(id)}`, success: 'Token revoked', reload });
  return (
    <Stack>
      <ErrorAlert error={error} />
      {created ? (
        <Alert color="gold" variant="light" title="New token: shown once" data-testid="new-token">
          <Group gap="xs">
            <Code>{created.token}</Code>
            <CopyButton value={created.token}>
              {({ copied, copy }) => (
                <Button size="compact-xs" variant="outline" onClick={copy}>
                  {copied ? 'Copied' : 'Copy token'}
                </Button>
              )}
            </CopyButton>
          </Group>
          <Text size="xs" mt="xs">
            Usable as {user}&apos;s password over TLS until {created.expires_at}, {created.max_uses} time(s). It cannot be shown again.
          </Text>
        </Alert>
      ) : null}
      <Table aria-label={`Tokens of ${user}`}>
        <TableHead columns={['Id', 'Expires', 'Uses', 'Created', writable && 'Revoke']} />
        <Table.Tbody>
          {(data?.items ?? []).map((t) => (
            <Table.Tr key={t.id}>
              <Table.Td className="mono">{t.id}</Table.Td>
              <Table.Td>{t.expires_at}</Table.Td>
              <Table.Td>{t.max_uses}</Table.Td>
              <Table.Td>{fmtTime(t.created_at)}</Table.Td>
              <RowDeleteCell show={writable} onClick={() => void revoke(t.id)} label={`Revoke token ${t.id}`}>
                Revoke
              </RowDeleteCell>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {writable ? (
        <Group align="flex-end">
          <NumberInput label="Valid for (hours)" min={1} max={720} value={hours} onChange={setHours} w={150} />
          <NumberInput label="Maximum uses" min={1} value={maxUses} onChange={setMaxUses} w={150} />
          <Button onClick={() => void create()}>Create token</Button>
        </Group>
      ) : null}
    </Stack>
  );
}

function Users({ tenant, writable }: { tenant: string; writable: boolean }) {
  const { data, error, loading, reload } = useApiGet<Items<GatewayUser>>(`${base(tenant)}/users`);
  const create = useCreateModal(reload);
  const [tokensOf, setTokensOf] = useState<string | null>(null);
  const remove = (name: string) =>
    deleteThenReload({ confirm: `Delete user ${name}?`, what: 'Delete user', path: `${base(tenant)}/users/${seg(name)}`, success: `User ${name} deleted`, reload });
  return (
    <Stack>
      {create.button(writable, 'New user')}
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Table.ScrollContainer minWidth={700}>
        <Table striped aria-label="Users" data-testid="users">
          <TableHead columns={['Name', 'Roles', 'Databases', 'Expires', 'TLS', 'Networks', 'Actions']} />
          <Table.Tbody>
            {(data?.items ?? []).map((u) => (
              <Table.Tr key={u.name}>
                <Table.Td>{u.name}</Table.Td>
                <Table.Td>{u.roles.join(', ') || '—'}</Table.Td>
                <Table.Td>{u.databases?.join(', ') ?? 'all'}</Table.Td>
                <Table.Td>{u.expires_at ?? 'never'}</Table.Td>
                <Table.Td>{u.require_tls ? <Badge variant="light">required</Badge> : 'optional'}</Table.Td>
                <Table.Td>{u.allowed_networks?.join(', ') ?? 'any'}</Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap">
                    <Button size="compact-xs" variant="outline" onClick={() => setTokensOf(u.name)} aria-label={`Tokens of ${u.name}`}>
                      Tokens
                    </Button>
                    {writable ? (
                      <RowDeleteButton onClick={() => void remove(u.name)} label={`Delete user ${u.name}`}>
                        Delete
                      </RowDeleteButton>
                    ) : null}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {create.modal('New gateway user', (done) => <UserForm tenant={tenant} onDone={done} />)}
      <Modal opened={tokensOf !== null} onClose={() => setTokensOf(null)} title={`Temporary tokens of ${tokensOf ?? ''}`} size="lg">
        {tokensOf ? <Tokens tenant={tenant} user={tokensOf} writable={writable} /> : null}
      </Modal>
    </Stack>
  );
}

function DatabaseForm({ tenant, onDone }: { tenant: string; onDone: () => void }) {
  const [name, setName] = useState('');
  const [serverDatabase, setServerDatabase] = useState('');
  const [serverUser, setServerUser] = useState('');
  const [serverPassword, setServerPassword] = useState('');
  const [tls, setTls] = useState<string | null>('prefer');
  const [protocol, setProtocol] = useState<string | null>('postgres');
  const [host, setHost] = useState('127.0.0.1');
  const [port, setPort] = useState<number | string>(5432);
  const submit = async () => {
    const body: Record<string, unknown> = {
      name,
      protocol,
      server_database: serverDatabase || name,
      server_user: serverUser,
      tls,
      backend: [{ host, port: Number(port) }],
    };
    if (serverPassword) body.server_password = serverPassword;
    const ok = await runAction('Create database', () => api.post(`${base(tenant)}/databases`, { json: body }), `Database ${name} created`);
    if (ok !== undefined) onDone();
  };
  return (
    <SubmitForm onSubmit={submit} submitLabel="Create database" disabled={!name || !serverUser || !host}>
      <TextInput label="Database name (what clients connect to)" value={name} onChange={(e) => setName(e.currentTarget.value)} required />
      <Select label="Protocol" data={['postgres', 'mysql']} value={protocol} onChange={setProtocol} allowDeselect={false} />
      <TextInput label="Server database" placeholder="same as the name" value={serverDatabase} onChange={(e) => setServerDatabase(e.currentTarget.value)} />
      <TextInput label="Server user" value={serverUser} onChange={(e) => setServerUser(e.currentTarget.value)} required />
      <PasswordInput visibilityToggleButtonProps={{ 'aria-label': 'Show or hide the password' }} label="Server password" value={serverPassword} onChange={(e) => setServerPassword(e.currentTarget.value)} autoComplete="new-password" />
      <Select label="TLS to the server" data={['disable', 'prefer', 'require', 'verify-full']} value={tls} onChange={setTls} allowDeselect={false} />
      <Group grow>
        <TextInput label="Backend host" value={host} onChange={(e) => setHost(e.currentTarget.value)} required />
        <NumberInput label="Backend port" value={port} onChange={setPort} min={1} max={65535} required />
      </Group>
    </SubmitForm>
  );
}

function Databases({ tenant, writable }: { tenant: string; writable: boolean }) {
  const { data, error, loading, reload } = useApiGet<Items<Database>>(`${base(tenant)}/databases`);
  const create = useCreateModal(reload);
  const remove = (name: string) =>
    deleteThenReload({ confirm: `Delete database ${name}?`, what: 'Delete database', path: `${base(tenant)}/databases/${seg(name)}`, success: `Database ${name} deleted`, reload });
  return (
    <Stack>
      {create.button(writable, 'New database')}
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Table striped aria-label="Databases" data-testid="databases">
        <TableHead columns={['Name', 'Server database', 'Server user', 'TLS', 'Backends', writable && 'Delete']} />
        <Table.Tbody>
          {(data?.items ?? []).map((d) => (
            <Table.Tr key={d.name}>
              <Table.Td>{d.name}</Table.Td>
              <Table.Td>{d.server_database ?? d.name}</Table.Td>
              <Table.Td>{d.server_user ?? '—'}</Table.Td>
              <Table.Td>{d.tls ?? 'prefer'}</Table.Td>
              <Table.Td className="mono">{(d.backend ?? []).map((b) => `${b.host}:${b.port}${b.role ? ` (${b.role})` : ''}`).join(', ') || (typeof d.sqlite === 'string' ? `sqlite ${d.sqlite}` : '—')}</Table.Td>
              <RowDeleteCell show={writable} onClick={() => void remove(d.name)} label={`Delete database ${d.name}`}>
                Delete
              </RowDeleteCell>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {create.modal('New database', (done) => <DatabaseForm tenant={tenant} onDone={done} />, 'lg')}
    </Stack>
  );
}

const ACTIONS = ['read', 'insert', 'update', 'delete', 'ddl'];

function Permissions({ tenant, writable }: { tenant: string; writable: boolean }) {
  const { data, error, reload } = useApiGet<Items<Permission>>(`${base(tenant)}/permissions`);
  const [users, setUsers] = useState<string[]>([]);
  const [roles, setRoles] = useState<string[]>([]);
  const [databases, setDatabases] = useState<string[]>([]);
  const [tables, setTables] = useState<string[]>([]);
  const [actions, setActions] = useState<string[]>(['read']);
  const [effect, setEffect] = useState<string | null>('allow');
  const [expires, setExpires] = useState('');
  const add = async () => {
    const grant: Record<string, unknown> = { effect, actions };
    if (users.length) grant.users = users;
    if (roles.length) grant.roles = roles;
    if (databases.length) grant.databases = databases;
    if (tables.length) grant.tables = tables;
    const e = toRfc3339(expires);
    if (e) grant.expires_at = e;
    const ok = await runAction('Add permission', () => api.post(`${base(tenant)}/permissions`, { json: grant }), 'Permission added');
    if (ok !== undefined) reload();
  };
  const remove = (id: string) => deleteThenReload({ what: 'Remove permission', path: `${base(tenant)}/permissions/${seg(id)}`, success: 'Permission removed', reload });
  const list = (v: unknown) => (Array.isArray(v) ? v.join(', ') : '—');
  return (
    <Stack>
      <Text size="sm">Once a tenant has permissions, whatever none of them grants is refused (default deny).</Text>
      <ErrorAlert error={error} />
      <Table striped aria-label="Permissions" data-testid="permissions">
        <TableHead columns={['Effect', 'Users', 'Roles', 'Databases', 'Tables', 'Actions', 'Expires', writable && 'Remove']} />
        <Table.Tbody>
          {(data?.items ?? []).map((p) => (
            <Table.Tr key={p.id}>
              <Table.Td>{p.effect ?? 'allow'}</Table.Td>
              <Table.Td>{list(p.users)}</Table.Td>
              <Table.Td>{list(p.roles)}</Table.Td>
              <Table.Td>{list(p.databases ?? ['*'])}</Table.Td>
              <Table.Td>{list(p.tables ?? ['*'])}</Table.Td>
              <Table.Td>{list(p.actions)}</Table.Td>
              <Table.Td>{p.expires_at ?? 'never'}</Table.Td>
              <RowDeleteCell show={writable} onClick={() => void remove(p.id)} label={`Remove permission ${p.id}`}>
                Remove
              </RowDeleteCell>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {writable ? (
        <SubmitForm onSubmit={add} submitLabel="Add permission" disabled={actions.length === 0 || (users.length === 0 && roles.length === 0)} gap="xs">
          <Text fw={700}>Add a permission</Text>
          <Group grow align="flex-start">
            <TagsInput label="Users" value={users} onChange={setUsers} placeholder="name or *" />
            <TagsInput label="Roles" value={roles} onChange={setRoles} />
          </Group>
          <Group grow align="flex-start">
            <TagsInput label="Databases (empty: all)" value={databases} onChange={setDatabases} />
            <TagsInput label="Tables (empty: all)" value={tables} onChange={setTables} placeholder="public.orders" />
          </Group>
          <Group grow align="flex-start">
            <MultiSelect label="Actions" data={ACTIONS} value={actions} onChange={setActions} />
            <Select label="Effect" data={['allow', 'deny']} value={effect} onChange={setEffect} allowDeselect={false} />
            <TextInput type="datetime-local" label="Expires at" value={expires} onChange={(e) => setExpires(e.currentTarget.value)} />
          </Group>
        </SubmitForm>
      ) : null}
    </Stack>
  );
}

interface Usage {
  connections?: number;
  queries?: number;
  denials?: number;
}

export default function TenantPage() {
  const { tenant = '' } = useParams();
  const who = useWho();
  const writable = canWriteTenant(who, tenant);
  const t = useApiGet<Tenant>(`${base(tenant)}`);
  const usage = useApiGet<Usage>(t.data ? `${base(tenant)}/usage` : null);
  return (
    <>
      <PageHeader title={`Tenant ${tenant}`}>
        {usage.data ? (
          <Group gap="xs">
            <Badge variant="outline">{usage.data.connections ?? 0} connections</Badge>
            <Badge variant="outline">{usage.data.queries ?? 0} statements</Badge>
            <Badge variant="outline">{usage.data.denials ?? 0} refusals</Badge>
          </Group>
        ) : null}
      </PageHeader>
      <LoadState error={t.error} loading={t.loading} loaded={t.data !== undefined} />
      {t.data ? (
        <>
          {t.data.description ? <Text mb="sm">{t.data.description}</Text> : null}
          <ReadOnlyNote show={!writable} />
          <Tabs defaultValue="users" keepMounted={false}>
            <Tabs.List mb="md">
              <Tabs.Tab value="users">Users</Tabs.Tab>
              <Tabs.Tab value="databases">Databases</Tabs.Tab>
              <Tabs.Tab value="permissions">Permissions</Tabs.Tab>
              <Tabs.Tab value="bypass">Threat bypass</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="users">
              <Users tenant={tenant} writable={writable} />
            </Tabs.Panel>
            <Tabs.Panel value="databases">
              <Databases tenant={tenant} writable={writable} />
            </Tabs.Panel>
            <Tabs.Panel value="permissions">
              <Permissions tenant={tenant} writable={writable} />
            </Tabs.Panel>
            <Tabs.Panel value="bypass">
              <BypassRules tenant={tenant} writable={writable} />
            </Tabs.Panel>
          </Tabs>
        </>
      ) : null}
    </>
  );
}
