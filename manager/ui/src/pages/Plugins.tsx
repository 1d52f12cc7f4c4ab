import { useState } from 'react';
import { Badge, Button, FileInput, Group, Modal, Stack, Table, Text } from '@mantine/core';
import { api, seg } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Items, Plugin, PluginDetail } from '../api/types';
import { isAdmin, useWho } from '../auth';
import { ErrorAlert, PageHeader, ReadOnlyNote } from '../components/common';
import { fmtBytes, fmtTime } from '../lib/format';
import { SubmitForm } from '../components/forms';
import { LoadState } from '../components/resource';
import { TableHead } from '../components/table';

function Upload({ onDone }: { onDone: () => void }) {
  const [manifest, setManifest] = useState<File | null>(null);
  const [component, setComponent] = useState<File | null>(null);
  const submit = async () => {
    if (!manifest || !component) return;
    // The API's multipart parts: `manifest` (JSON) and `component` (the .wasm component).
    const form = new FormData();
    form.append('manifest', manifest, manifest.name);
    form.append('component', component, component.name);
    const r = await runAction('Upload plugin', () => api.post<{ name: string; version: number }>('/api/v1/plugins', { form }));
    if (r) {
      onDone();
    }
  };
  return (
    <SubmitForm onSubmit={submit} submitLabel="Upload" disabled={!manifest || !component}>
      <FileInput label="Manifest (JSON)" accept="application/json,.json" value={manifest} onChange={setManifest} required clearable />
      <FileInput label="Component (.wasm)" accept="application/wasm,.wasm" value={component} onChange={setComponent} required clearable />
    </SubmitForm>
  );
}

function Versions({ name, admin, onChanged }: { name: string; admin: boolean; onChanged: () => void }) {
  const { data, error, reload } = useApiGet<PluginDetail>(`/api/v1/plugins/${seg(name)}`);
  const rollback = async (version: number) => {
    await runAction('Roll back', () => api.post(`/api/v1/plugins/${seg(name)}/rollback`, { json: { version } }), `${name} is at version ${version}`);
    reload();
    onChanged();
  };
  return (
    <Stack>
      <ErrorAlert error={error} />
      <Table aria-label={`Versions of ${name}`}>
        <TableHead columns={['Version', 'Manifest version', 'Size', 'SHA-256', 'Uploaded', admin && 'Activate']} />
        <Table.Tbody>
          {(data?.versions ?? []).map((v) => (
            <Table.Tr key={v.version}>
              <Table.Td>
                {v.version} {data?.active_version === v.version ? <Badge size="xs">active</Badge> : null}
              </Table.Td>
              <Table.Td>{v.manifest_version ?? '—'}</Table.Td>
              <Table.Td>{fmtBytes(v.size)}</Table.Td>
              <Table.Td className="mono">{v.sha256.slice(0, 12)}</Table.Td>
              <Table.Td>{fmtTime(v.created_at)}</Table.Td>
              {admin ? (
                <Table.Td>
                  {data?.active_version !== v.version ? (
                    <Button size="compact-xs" variant="outline" onClick={() => void rollback(v.version)} aria-label={`Make version ${v.version} of ${name} active`}>
                      Make active
                    </Button>
                  ) : null}
                </Table.Td>
              ) : null}
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
    </Stack>
  );
}

export default function Plugins() {
  const who = useWho();
  const admin = isAdmin(who);
  const { data, error, loading, reload } = useApiGet<Items<Plugin>>('/api/v1/plugins', undefined, 10000);
  const [uploading, setUploading] = useState(false);
  const [versionsOf, setVersionsOf] = useState<string | null>(null);

  const act = async (name: string, action: 'enable' | 'disable' | 'rollback') => {
    await runAction(
      `${action} ${name}`,
      () => api.post(`/api/v1/plugins/${seg(name)}/${action}`, action === 'rollback' ? { json: {} } : {}),
      action === 'rollback' ? `${name} rolled back` : `${name} ${action}d`,
    );
    reload();
  };

  return (
    <>
      <PageHeader title="Plugins">{admin ? <Button onClick={() => setUploading(true)}>Upload a plugin</Button> : null}</PageHeader>
      <ReadOnlyNote show={!admin} />
      <LoadState error={error} loading={loading} loaded={data !== undefined} />
      <Table.ScrollContainer minWidth={900}>
        <Table striped aria-label="Plugins" data-testid="plugins">
          <TableHead columns={['Name', 'State', 'Active version', 'Calls', 'Mean latency', 'Traps', 'Timeouts', 'Quarantined', 'Actions']} />
          <Table.Tbody>
            {(data?.items ?? []).map((p) => (
              <Table.Tr key={p.name} data-plugin={p.name}>
                <Table.Td>
                  <Text size="sm" fw={600}>
                    {p.name}
                  </Text>
                  {p.description ? (
                    <Text size="xs" c="dimmed" lineClamp={2} title={p.description}>
                      {p.description}
                    </Text>
                  ) : null}
                </Table.Td>
                <Table.Td>
                  <Badge color={p.enabled ? 'green' : 'gray'} variant="light" w="max-content">
                    {p.enabled ? 'enabled' : 'disabled'}
                  </Badge>
                </Table.Td>
                <Table.Td data-testid="active-version">{p.active_version}</Table.Td>
                <Table.Td>{p.stats?.calls ?? 0}</Table.Td>
                <Table.Td>{p.stats?.mean_us !== undefined ? `${p.stats.mean_us.toFixed(1)} µs` : '—'}</Table.Td>
                <Table.Td>{p.stats?.failures?.trap ?? 0}</Table.Td>
                <Table.Td>{p.stats?.failures?.timeout ?? 0}</Table.Td>
                <Table.Td>{p.stats?.quarantined?.length ? p.stats.quarantined.join(', ') : '—'}</Table.Td>
                <Table.Td>
                  <Group gap="xs" wrap="nowrap">
                    <Button size="compact-xs" variant="outline" onClick={() => setVersionsOf(p.name)} aria-label={`Versions of ${p.name}`}>
                      Versions
                    </Button>
                    {admin ? (
                      <>
                        <Button size="compact-xs" variant="outline" onClick={() => void act(p.name, p.enabled ? 'disable' : 'enable')} aria-label={`${p.enabled ? 'Disable' : 'Enable'} ${p.name}`}>
                          {p.enabled ? 'Disable' : 'Enable'}
                        </Button>
                        <Button size="compact-xs" variant="outline" onClick={() => void act(p.name, 'rollback')} aria-label={`Roll back ${p.name}`} disabled={p.active_version <= 1}>
                          Roll back
                        </Button>
                      </>
                    ) : null}
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Modal opened={uploading} onClose={() => setUploading(false)} title="Upload a plugin version">
        <Upload
          onDone={() => {
            setUploading(false);
            reload();
          }}
        />
      </Modal>
      <Modal opened={versionsOf !== null} onClose={() => setVersionsOf(null)} title={`Versions of ${versionsOf ?? ''}`} size="xl">
        {versionsOf ? <Versions name={versionsOf} admin={admin} onChanged={reload} /> : null}
      </Modal>
    </>
  );
}
