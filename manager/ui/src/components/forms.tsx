import type { ReactNode } from 'react';
import { Button, Group, Stack, type MantineSpacing } from '@mantine/core';

/**
 * A form whose submit (the button or Enter) calls `onSubmit` instead of navigating: its fields
 * stacked, then the submit button, labelled `submitLabel`, at the right.
 */
export function SubmitForm({
  onSubmit,
  submitLabel,
  disabled,
  gap,
  children,
}: {
  onSubmit: () => unknown;
  submitLabel: string;
  disabled?: boolean;
  gap?: MantineSpacing;
  children: ReactNode;
}) {
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        void onSubmit();
      }}
    >
      <Stack gap={gap}>
        {children}
        <Group justify="flex-end">
          <Button type="submit" disabled={disabled}>
            {submitLabel}
          </Button>
        </Group>
      </Stack>
    </form>
  );
}
