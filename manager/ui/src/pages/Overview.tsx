import { Badge, Card, SimpleGrid, Stack, Table, Text, Title } from '@mantine/core';
import { AreaChart, BarChart } from '@mantine/charts';
import { useApiGet } from '../api/hooks';
import type { Feed, Gateways, Items, Plugin, Stats } from '../api/types';
import { useWho } from '../auth';
import { ErrorAlert, Loading, PageHeader } from '../components/common';
import { fmtAge, fmtTime } from '../lib/format';
import { TableHead } from '../components/table';

function GatewaysCard() {
  const { data, error, loading, at } = useApiGet<Gateways>('/api/v1/gateways', undefined, 5000);
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="sm">
        Gateways
      </Title>
      <ErrorAlert error={error} />
      {loading && !data ? <Loading /> : null}
      {data ? (
        <>
          <Text size="sm" mb="xs">
            Manager snapshot version: <b data-testid="manager-snapshot">{data.snapshot_version ?? '—'}</b>
          </Text>
          {data.items.length === 0 ? <Text size="sm">No gateway has reported.</Text> : null}
          <Table.ScrollContainer minWidth={500}>
            <Table striped aria-label="Gateways" data-testid="gateways">
              <TableHead columns={['Name', 'Version', 'Snapshot', 'Heartbeat age', 'Follows']} />
              <Table.Tbody>
                {data.items.map((g) => {
                  const current = g.current ?? (data.snapshot_version !== undefined && g.snapshot_version === data.snapshot_version);
                  return (
                    <Table.Tr key={g.id} data-gateway={g.id}>
                      <Table.Td>{g.name || g.id}</Table.Td>
                      <Table.Td>{g.version}</Table.Td>
                      <Table.Td data-testid="gateway-snapshot">{g.snapshot_version}</Table.Td>
                      <Table.Td>{fmtAge(g.age_ms ?? at - g.last_seen)}</Table.Td>
                      <Table.Td>
                        <Badge color={current ? 'green' : 'orange'} variant="light" data-testid="gateway-current">
                          {current ? 'current' : 'behind'}
                        </Badge>
                      </Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        </>
      ) : null}
    </Card>
  );
}

function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function StatsCard({ tenant }: { tenant: string | null }) {
  const { data, error, loading } = useApiGet<Stats>('/api/v1/stats', { window: 3600, step: 60, tenant }, 15000);
  const rows = (data?.buckets ?? []).map((b) => ({
    time: clock(b.at),
    queries: Number((b.queries / (data?.step ?? 60)).toFixed(3)),
    denials: Number((b.denials / (data?.step ?? 60)).toFixed(3)),
  }));
  return (
    <>
      <Card withBorder>
        <Title order={2} size="h4" mb="sm">
          Queries and denials per second, last hour
        </Title>
        <ErrorAlert error={error} />
        {loading && !data ? <Loading /> : null}
        {data ? (
          <>
            <Text size="sm" mb="xs">
              Totals: {data.totals.queries} queries, {data.totals.denials} denials
            </Text>
            <div role="img" aria-label="Chart of queries and denials per second over the last hour">
            <AreaChart
              h={220}
              data={rows}
              dataKey="time"
              series={[
                { name: 'queries', label: 'queries/s', color: 'gold.5' },
                { name: 'denials', label: 'denials/s', color: 'red.6' },
              ]}
              curveType="monotone"
              withDots={false}
            />
            </div>
          </>
        ) : null}
      </Card>
      <Card withBorder>
        <Title order={2} size="h4" mb="sm">
          Denials and would-denies (monitor mode) by rule, last hour
        </Title>
        {data && data.denials_by_rule.length === 0 ? <Text size="sm">No denials.</Text> : null}
        {data && data.denials_by_rule.length > 0 ? (
          <div role="img" aria-label={`Denials by rule: ${data.denials_by_rule.map((r) => `${r.rule} ${r.count}`).join(', ')}`}>
            <BarChart h={220} data={data.denials_by_rule} dataKey="rule" series={[{ name: 'count', color: 'red.6' }]} maxBarWidth={64} />
          </div>
        ) : null}
      </Card>
    </>
  );
}

function QuarantineCard() {
  const { data, error } = useApiGet<Items<Plugin>>('/api/v1/plugins', undefined, 10000);
  const rows = (data?.items ?? []).flatMap((p) => (p.stats?.quarantined ?? []).map((t) => ({ plugin: p.name, tenant: t })));
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="sm">
        Plugins quarantined
      </Title>
      <ErrorAlert error={error} />
      {data && rows.length === 0 ? <Text size="sm">None.</Text> : null}
      {rows.length > 0 ? (
        <Table aria-label="Quarantined plugins">
          <TableHead columns={['Plugin', 'Tenant']} />
          <Table.Tbody>
            {rows.map((r) => (
              <Table.Tr key={`${r.plugin}/${r.tenant}`}>
                <Table.Td>{r.plugin}</Table.Td>
                <Table.Td>{r.tenant}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
    </Card>
  );
}

function FeedsCard() {
  const { data, error, at: now } = useApiGet<Items<Feed>>('/api/v1/feeds', undefined, 15000);
  return (
    <Card withBorder>
      <Title order={2} size="h4" mb="sm">
        Threat feeds
      </Title>
      <ErrorAlert error={error} />
      {data && data.items.length === 0 ? <Text size="sm">No feeds.</Text> : null}
      {data && data.items.length > 0 ? (
        <Table aria-label="Feed health">
          <TableHead columns={['Feed', 'Last success', 'Indicators', 'Last error']} />
          <Table.Tbody>
            {data.items.map((f) => (
              <Table.Tr key={f.key}>
                <Table.Td>{f.key}</Table.Td>
                <Table.Td>{f.status.last_success ? `${fmtAge(now - f.status.last_success)} ago` : 'never'}</Table.Td>
                <Table.Td>{f.status.indicators}</Table.Td>
                <Table.Td>{f.status.last_error ? <Text c="red.4" size="sm">{f.status.last_error}</Text> : '—'}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      ) : null}
      {data ? (
        <Text size="xs" c="dimmed" mt="xs">
          As of {fmtTime(now)}
        </Text>
      ) : null}
    </Card>
  );
}

export default function Overview() {
  const who = useWho();
  const seesGateways = who.role === 'admin' || who.role === 'auditor';
  return (
    <>
      <PageHeader title="Overview" />
      <Stack>
        {seesGateways ? <GatewaysCard /> : null}
        <StatsCard tenant={who.role === 'tenant-admin' ? who.tenant : null} />
        <SimpleGrid cols={{ base: 1, md: 2 }}>
          <QuarantineCard />
          <FeedsCard />
        </SimpleGrid>
      </Stack>
    </>
  );
}
