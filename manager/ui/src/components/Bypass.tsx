import { useState } from 'react';
import { Button, Group, Stack, TagsInput, Text } from '@mantine/core';
import { api, seg } from '../api/client';
import { runAction, useApiGet } from '../api/hooks';
import type { Bypass } from '../api/types';
import { ErrorAlert } from './common';

function base(tenant: string): string {
  return `/api/v1/tenants/${seg(tenant)}`;
}

/** A tenant's threat-intelligence bypass rules. */
export function BypassRules({ tenant, writable }: { tenant: string; writable: boolean }) {
  const { data, error, reload } = useApiGet<Bypass>(`${base(tenant)}/threat-bypass`);
  const [draft, setDraft] = useState<Bypass | null>(null);
  const current = draft ?? data ?? { addresses: [], users: [], indicators: [] };
  const save = async () => {
    const ok = await runAction('Save bypass rules', () => api.put(`${base(tenant)}/threat-bypass`, { json: current }), 'Bypass rules saved');
    if (ok !== undefined) {
      setDraft(null);
      reload();
    }
  };
  const change = (k: keyof Bypass) => (v: string[]) => setDraft({ ...current, [k]: v });
  return (
    <Stack>
      <Text size="sm">Clients, users and indicators that threat intelligence never reports for this tenant.</Text>
      <ErrorAlert error={error} />
      <TagsInput label="Addresses or CIDRs" value={current.addresses} onChange={change('addresses')} disabled={!writable} />
      <TagsInput label="User names" value={current.users} onChange={change('users')} disabled={!writable} />
      <TagsInput label="Indicator ids" value={current.indicators} onChange={change('indicators')} disabled={!writable} />
      {writable ? (
        <Group>
          <Button onClick={() => void save()} disabled={draft === null}>
            Save bypass rules
          </Button>
        </Group>
      ) : null}
    </Stack>
  );
}

