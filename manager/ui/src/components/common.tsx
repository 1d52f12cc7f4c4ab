import { Alert, Badge, Group, Loader, Title, Text } from '@mantine/core';
import type { ReactNode } from 'react';
import type { ApiError } from '../api/client';

export function ErrorAlert({ error, title }: { error: ApiError | null; title?: string }) {
  if (!error) return null;
  return (
    <Alert color="red" variant="light" title={title ?? (error.status ? `Error ${error.status} (${error.code})` : 'Error')} role="alert" data-testid="api-error">
      <Text size="sm">{error.message}</Text>
      {error.field ? (
        <Text size="sm">
          Field: <span className="mono">{error.field}</span>
        </Text>
      ) : null}
    </Alert>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Group justify="space-between" mb="md" wrap="wrap">
      <Title order={1} size="h2">
        {title}
      </Title>
      {children ? <Group gap="xs">{children}</Group> : null}
    </Group>
  );
}

export function Loading({ label = 'Loading' }: { label?: string }) {
  return (
    <Group gap="xs" role="status" aria-live="polite">
      <Loader size="sm" aria-hidden />
      <Text size="sm">{label}…</Text>
    </Group>
  );
}

const VERDICT_COLOR: Record<string, string> = {
  deny: 'red',
  'would-deny': 'orange',
  audit: 'blue',
  allow: 'green',
};

export function VerdictBadge({ verdict }: { verdict: string }) {
  return (
    <Badge color={VERDICT_COLOR[verdict] ?? 'gray'} variant="light" w="max-content">
      {verdict}
    </Badge>
  );
}

export function ReadOnlyNote({ show }: { show: boolean }) {
  if (!show) return null;
  return (
    <Text size="sm" c="dimmed" mb="sm">
      Read-only: your role cannot change this.
    </Text>
  );
}
