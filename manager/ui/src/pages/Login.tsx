import { useState, type FormEvent } from 'react';
import { Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { useSession } from '../auth';
import { toApiError, type ApiError } from '../api/client';
import { ErrorAlert } from '../components/common';

export function LoginPage() {
  const { login } = useSession();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(key.trim());
    } catch (err) {
      setError(toApiError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Center mih="100vh" p="md">
      <main>
        <Paper withBorder p="xl" w={420} maw="100%">
          <form onSubmit={(e) => void submit(e)}>
            <Stack>
              <Title order={1} size="h3">
                ArticDBM console
              </Title>
              <Text size="sm">Paste an API key (admin, tenant-admin or auditor). It is kept for this browser tab only.</Text>
              <PasswordInput visibilityToggleButtonProps={{ 'aria-label': 'Show or hide the key' }} label="API key" value={key} onChange={(e) => setKey(e.currentTarget.value)} required autoComplete="off" data-autofocus />
              <ErrorAlert error={error} title="Login failed" />
              <Button type="submit" loading={busy} disabled={key.trim() === ''}>
                Log in
              </Button>
            </Stack>
          </form>
        </Paper>
      </main>
    </Center>
  );
}
