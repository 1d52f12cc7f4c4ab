import { useState, type ReactNode } from 'react';
import { Button, Group, Modal, type MantineSize } from '@mantine/core';
import { api } from '../api/client';
import type { ApiError } from '../api/client';
import { runAction } from '../api/hooks';
import { ErrorAlert, Loading } from './common';

/**
 * Deletes `path` (after `confirm` is accepted, when given), reports the outcome as
 * `runAction` does, then calls `reload` (also when the delete failed).
 */
export async function deleteThenReload({
  confirm,
  what,
  path,
  success,
  reload,
}: {
  confirm?: string;
  what: string;
  path: string;
  success: string;
  reload: () => void;
}): Promise<void> {
  if (confirm !== undefined && !window.confirm(confirm)) return;
  await runAction(what, () => api.del(path), success);
  reload();
}

/** A loaded list's error, and "Loading…" until its first answer. */
export function LoadState({ error, loading, loaded }: { error: ApiError | null; loading: boolean; loaded: boolean }) {
  return (
    <>
      <ErrorAlert error={error} />
      {loading && !loaded ? <Loading /> : null}
    </>
  );
}

/**
 * A "New …" button (shown only when `writable`) that opens a modal with the create form;
 * `form(done)` renders the form, which calls `done` once it created something: the modal
 * closes and `reload` runs.
 */
export function useCreateModal(reload: () => void) {
  const [creating, setCreating] = useState(false);
  const done = () => {
    setCreating(false);
    reload();
  };
  const button = (writable: boolean, label: string) =>
    writable ? (
      <Group>
        <Button onClick={() => setCreating(true)}>{label}</Button>
      </Group>
    ) : null;
  const modal = (title: string, form: (done: () => void) => ReactNode, size?: MantineSize) => (
    <Modal opened={creating} onClose={() => setCreating(false)} title={title} size={size}>
      {form(done)}
    </Modal>
  );
  return { button, modal };
}
