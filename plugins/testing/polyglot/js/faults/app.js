// faults-js: misbehaves on request, to prove the sandbox holds a JavaScript guest.
//   SQL containing trap-me  -> an uncaught exception (the component traps)
//   SQL containing spin-me  -> an endless loop (cut by the CPU deadline)
//   SQL containing hog-me   -> allocates without bound, keeping every block (cut by the memory cap)
//   anything else           -> allow
import { definePolicy, allow } from 'articdbm-policy';

const hoard = [];

export default definePolicy({
  onQuery(_conn, query) {
    const sql = query.sql;
    if (sql.includes('trap-me')) {
      throw new Error('faults-js: trap-me');
    }
    if (sql.includes('spin-me')) {
      let n = 0;
      for (;;) n = (n + 1) | 0;
    }
    if (sql.includes('hog-me')) {
      for (;;) hoard.push(new Array(1 << 16).fill(hoard.length));
    }
    return allow();
  },
});
