import type { ReactNode } from 'react';
import { Button, Pagination, Table } from '@mantine/core';

/** A table's header row; a falsy column (one shown only to writers, say) is left out. */
export function TableHead({ columns }: { columns: (string | false | null)[] }) {
  return (
    <Table.Thead>
      <Table.Tr>
        {columns.map((c) => (c ? <Table.Th key={c}>{c}</Table.Th> : null))}
      </Table.Tr>
    </Table.Thead>
  );
}

/**
 * Pages over a cursor-paged list: `cursors[i]` is the cursor of page i + 1 (null: the first),
 * `next` the cursor after the shown page (null: it is the last). Going one page on learns its cursor.
 */
export function CursorPagination<C>({
  total,
  page,
  cursors,
  next,
  setCursors,
  setPage,
}: {
  total: number;
  page: number;
  cursors: (C | null)[];
  next: C | null;
  setCursors: (c: (C | null)[]) => void;
  setPage: (p: number) => void;
}) {
  return (
    <Pagination
      total={total}
      value={page}
      onChange={(p) => {
        if (p === page + 1 && next !== null && cursors.length <= page) setCursors([...cursors, next]);
        if (p <= cursors.length || p === page + 1) setPage(p);
      }}
      getControlProps={(control) => ({ 'aria-label': `${control} page` })}
      getItemProps={(p) => ({ 'aria-label': `Page ${p}` })}
    />
  );
}

/** The small red outlined button of a row that deletes (or revokes, removes) it. */
export function RowDeleteButton({ label, onClick, children }: { label: string; onClick: () => void; children: ReactNode }) {
  return (
    <Button size="compact-xs" color="red" variant="outline" onClick={onClick} aria-label={label}>
      {children}
    </Button>
  );
}

/** The last cell of a row, with its delete button; shown only to writers (`show`), as the column is. */
export function RowDeleteCell({ show, label, onClick, children }: { show: boolean; label: string; onClick: () => void; children: ReactNode }) {
  if (!show) return null;
  return (
    <Table.Td>
      <RowDeleteButton label={label} onClick={onClick}>
        {children}
      </RowDeleteButton>
    </Table.Td>
  );
}
