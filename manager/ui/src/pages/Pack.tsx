import { lazy, Suspense, useEffect, useMemo, useState } from 'react';
import { useNavigate, useParams, useSearchParams } from 'react-router';
import { Alert, Badge, Box, Button, Code, Group, SegmentedControl, Stack, Switch, Table, Tabs, Text, Textarea, TextInput } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import type { Schema } from '@cfworker/json-schema';
import { api, seg, toApiError, type ApiError } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Pack, TryResult, TryStatement } from '../api/types';
import { canWriteTenant, useWho } from '../auth';
import { ErrorAlert, Loading, PageHeader, ReadOnlyNote, VerdictBadge } from '../components/common';
import { getPackMode, setPackMode, type PackMode } from '../lib/packMode';
import { packTemplate } from '../lib/packTemplate';
import { validatePack, type Schemas } from '../lib/packValidate';
import { lineDiff } from '../lib/diff';
import { TableHead } from '../components/table';

const PackEditor = lazy(() => import('../components/PackEditor'));

function useSchemas(): { schemas: Schemas; error: ApiError | null } {
  const pack = useApiGet<Schema>('/api/v1/schemas/pack');
  const plugins = useApiGet<Record<string, Schema>>('/api/v1/schemas/plugins');
  const schemas = useMemo(() => ({ pack: pack.data ?? null, plugins: plugins.data ?? {} }), [pack.data, plugins.data]);
  return { schemas, error: pack.error ?? plugins.error };
}

function DiffView({ before, after }: { before: string; after: string }) {
  const lines = lineDiff(before, after);
  const changed = lines.some((l) => l.kind !== 'same');
  if (!changed) return <Text size="sm">No changes against the stored version.</Text>;
  return (
    <Box component="pre" className="mono" data-testid="pack-diff" p="sm" style={{ background: '#17181b', overflowX: 'auto', fontSize: '0.85rem' }}>
      {lines.map((l, i) => (
        <div key={i} style={{ color: l.kind === 'add' ? '#b5e48c' : l.kind === 'del' ? '#ff8a80' : undefined }}>
          {l.kind === 'add' ? '+ ' : l.kind === 'del' ? '- ' : '  '}
          {l.text}
        </div>
      ))}
    </Box>
  );
}

function TryPanel({ name, draft, tenant }: { name: string; draft: string; tenant: string | null }) {
  const [sql, setSql] = useState("SELECT * FROM orders WHERE id = 1;\nSELECT * FROM pg_user WHERE usename = '' OR 1=1 --'");
  const [user, setUser] = useState('app');
  const [database, setDatabase] = useState('');
  const [tls, setTls] = useState(false);
  const [useDraft, setUseDraft] = useState(true);
  const [results, setResults] = useState<TryResult[] | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(null);
    const statements: TryStatement[] = sql
      .split('\n')
      .filter((s) => s.trim() !== '')
      .map((s) => ({ sql: s, user: user || undefined, database: database || undefined, tenant: tenant ?? undefined, tls }));
    try {
      const r = await api.post<{ results: TryResult[] }>(`/api/v1/packs/${seg(name)}/try`, { json: { toml: useDraft ? draft : undefined, statements } });
      setResults(r.results);
    } catch (e) {
      setError(toApiError(e));
      setResults(null);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack>
      <Text size="sm">Runs the statements through the real policy runtime on the server (like `articdbm policy test`), one statement per line.</Text>
      <Textarea label="Statements (one per line)" autosize minRows={3} value={sql} onChange={(e) => setSql(e.currentTarget.value)} classNames={{ input: 'mono' }} />
      <Group align="flex-end">
        <TextInput label="User" value={user} onChange={(e) => setUser(e.currentTarget.value)} />
        <TextInput label="Database" value={database} onChange={(e) => setDatabase(e.currentTarget.value)} />
        <Switch label="Over TLS" checked={tls} onChange={(e) => setTls(e.currentTarget.checked)} />
        <Switch label="Use the draft (else the stored pack)" checked={useDraft} onChange={(e) => setUseDraft(e.currentTarget.checked)} />
        <Button onClick={() => void run()} loading={busy}>
          Try statements
        </Button>
      </Group>
      <ErrorAlert error={error} />
      {results ? (
        <Table aria-label="Try results" data-testid="try-results">
          <TableHead columns={['Line', 'Verdict', 'Hook', 'Binding', 'Rule', 'Reason']} />
          <Table.Tbody>
            {results.map((r, i) => (
              <Table.Tr key={i}>
                <Table.Td>{r.line}</Table.Td>
                <Table.Td>
                  <VerdictBadge verdict={r.verdict} />
                </Table.Td>
                <Table.Td>{r.hook}</Table.Td>
                <Table.Td>{r.binding ?? r.plugin ?? '—'}</Table.Td>
                <Table.Td className="mono">{r.rule ?? '—'}</Table.Td>
                <Table.Td>{r.reason ?? ''}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Stack>
  );
}

export default function PackPage() {
  const { name = '' } = useParams();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const who = useWho();
  const isNew = params.get('new') === '1';
  const stored = useApiGet<Pack>(isNew ? null : `/api/v1/packs/${seg(name)}`);
  const { schemas, error: schemaError } = useSchemas();
  const [draft, setDraft] = useState<string | null>(null);
  const [tab, setTab] = useState<string | null>('editor');
  const [saving, setSaving] = useState(false);
  const [check, setCheck] = useState<{ text: string; ok: boolean; error: ApiError | null } | null>(null);

  const newTenant = params.get('tenant');
  const storedText = stored.data?.toml ?? '';
  const base = isNew ? packTemplate(name, newTenant === '' ? null : newTenant) : storedText;
  const text = draft ?? base;
  const owner = isNew ? (newTenant === '' ? null : newTenant) : (stored.data?.tenant ?? null);
  const writable = owner === null ? who.role === 'admin' : canWriteTenant(who, owner);
  const mode: PackMode = getPackMode(text) ?? 'enforce';
  const dirty = isNew || text !== storedText;
  const localErrors = useMemo(() => validatePack(text, schemas).filter((d) => d.severity === 'error'), [text, schemas]);
  // A draft that is not even TOML cannot be saved; schema errors are shown, and the server,
  // which has the last word, refuses what is really wrong.
  const syntaxError = localErrors.some((d) => d.message.startsWith('TOML:'));

  // The full server-side check (merged with the other packs, plugin configs), debounced.
  const [debounced] = useDebouncedValue(text, 700);
  useEffect(() => {
    if (!writable || !debounced || (!isNew && !stored.data)) return;
    const ctl = new AbortController();
    api
      .post(`/api/v1/packs/${seg(name)}/check`, { toml: debounced, signal: ctl.signal })
      .then(() => setCheck({ text: debounced, ok: true, error: null }))
      .catch((e: unknown) => {
        const err = toApiError(e);
        if (err.code !== 'aborted') setCheck({ text: debounced, ok: false, error: err });
      });
    return () => ctl.abort();
  }, [debounced, name, writable, isNew, stored.data]);

  const save = async () => {
    setSaving(true);
    const r = await runAction('Save pack', () => api.put<Pack>(`/api/v1/packs/${seg(name)}`, { toml: text }), `Pack ${name} saved`);
    setSaving(false);
    if (r) {
      setDraft(null);
      if (isNew) void navigate(`/packs/${encodeURIComponent(name)}`, { replace: true });
      else stored.reload();
    }
  };

  const remove = async () => {
    if (!window.confirm(`Delete pack ${name}?`)) return;
    await runAction('Delete pack', () => api.del(`/api/v1/packs/${seg(name)}`), `Pack ${name} deleted`);
    void navigate('/packs');
  };

  const flip = (m: string) => {
    if (m !== 'monitor' && m !== 'enforce') return;
    setDraft(setPackMode(text, m));
    setTab('diff');
  };

  if (!isNew && stored.error) {
    return (
      <>
        <PageHeader title={`Pack ${name}`} />
        <ErrorAlert error={stored.error} />
      </>
    );
  }
  if (!isNew && !stored.data) return <Loading />;

  return (
    <>
      <PageHeader title={`Pack ${name}`}>
        <Badge variant="outline">{owner === null ? 'baseline' : `tenant ${owner}`}</Badge>
        {stored.data?.snapshot_version ? <Badge variant="outline">snapshot {stored.data.snapshot_version}</Badge> : null}
      </PageHeader>
      <ReadOnlyNote show={!writable} />
      <Group mb="md" align="flex-end" wrap="wrap">
        <Stack gap={4}>
          <Text size="sm" fw={500} id="mode-label">
            Mode
          </Text>
          <SegmentedControl
            aria-labelledby="mode-label"
            data={[
              { value: 'monitor', label: 'monitor' },
              { value: 'enforce', label: 'enforce' },
            ]}
            value={mode}
            onChange={flip}
            disabled={!writable}
            data-testid="mode-switch"
          />
        </Stack>
        {writable ? (
          <>
            <Button onClick={() => void save()} loading={saving} disabled={!dirty || syntaxError}>
              Save pack
            </Button>
            {draft !== null ? (
              <Button variant="subtle" onClick={() => setDraft(null)}>
                Discard changes
              </Button>
            ) : null}
            {!isNew ? (
              <Button variant="outline" color="red" onClick={() => void remove()}>
                Delete pack
              </Button>
            ) : null}
          </>
        ) : null}
        <Text size="sm" data-testid="check-status" role="status">
          {localErrors.length > 0
            ? `${localErrors.length} problem(s) in the draft`
            : check && check.text === text
              ? check.ok
                ? 'Server check: valid'
                : 'Server check: refused'
              : writable
                ? 'Checking…'
                : ''}
        </Text>
      </Group>
      {schemaError ? (
        <Alert color="yellow" variant="light" mb="sm" title="Schemas unavailable">
          Validation as you type covers TOML syntax only: {schemaError.describe()}
        </Alert>
      ) : null}
      {check && check.text === text && check.error ? <ErrorAlert error={check.error} title="The server refuses this draft" /> : null}
      <Tabs value={tab} onChange={setTab} mt="sm">
        <Tabs.List mb="sm">
          <Tabs.Tab value="editor">Editor</Tabs.Tab>
          <Tabs.Tab value="diff">Diff {dirty && !isNew ? <Badge size="xs" ml={4}>changed</Badge> : null}</Tabs.Tab>
          <Tabs.Tab value="try">Try it</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="editor">
          <Suspense fallback={<Loading label="Loading the editor" />}>
            <PackEditor value={text} onChange={setDraft} schemas={schemas} readOnly={!writable} label={`Pack ${name} (TOML)`} />
          </Suspense>
          <Text size="xs" c="dimmed" mt={4}>
            Tab indents inside the editor; press Escape, then Tab, to move on.
          </Text>
          {localErrors.length > 0 ? (
            <Stack gap={2} mt="xs" data-testid="pack-problems">
              {localErrors.map((d, i) => (
                <Text key={i} size="sm" c="red.4">
                  Line {d.line}: {d.message}
                </Text>
              ))}
            </Stack>
          ) : null}
        </Tabs.Panel>
        <Tabs.Panel value="diff">{isNew ? <Code block>{text}</Code> : <DiffView before={storedText} after={text} />}</Tabs.Panel>
        <Tabs.Panel value="try">
          <TryPanel name={name} draft={text} tenant={owner} />
        </Tabs.Panel>
      </Tabs>
    </>
  );
}
