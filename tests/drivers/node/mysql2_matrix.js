// MySQL driver matrix program for node mysql2 (tests/tests/my_gateway.rs): several clients at
// once, each checking that every answer is its own, with server-side prepared statements
// (`execute`) reused across transactions. Environment and output as mysql_matrix.py
// (tests/drivers/README.md): MYHOST, MYPORT, MYUSER, MYPASSWORD, MYDATABASE, DRV_CLIENTS,
// DRV_ITERS, DRV_DEADLINE_SECS, DRV_GATEWAY.
'use strict';
const mysql = require('mysql2/promise');

const CLIENTS = Number(process.env.DRV_CLIENTS || 8);
const ITERS = Number(process.env.DRV_ITERS || 30);
const DEADLINE = Number(process.env.DRV_DEADLINE_SECS || 60) * 1000;
const GATEWAY = (process.env.DRV_GATEWAY || '1') === '1';
const stats = { completed: 0, ok: 0, mismatches: 0, errors: 0 };
const mismatchExamples = [];
const errorExamples = [];
const errorKinds = new Set();

function connect() {
  return mysql.createConnection({
    host: process.env.MYHOST,
    port: Number(process.env.MYPORT),
    user: process.env.MYUSER,
    password: process.env.MYPASSWORD,
    database: process.env.MYDATABASE,
    charset: 'utf8mb4',
    supportBigNumbers: true,
  });
}
function mismatch(i, what) {
  stats.mismatches++;
  if (mismatchExamples.length < 5) mismatchExamples.push(`client${i}: ${what}`);
}
function error(i, e) {
  stats.errors++;
  const kind = `${e.code}${e.errno}`;
  if (!errorKinds.has(kind) && errorExamples.length < 5) {
    errorKinds.add(kind);
    errorExamples.push(`client${i}: ${e.message}`);
  }
}

async function client(i) {
  const c = await connect();
  try {
    for (let n = 0; n < ITERS; n++) {
      const label = `client${i} 'q' \\ é ✓ ${n}`;
      const [rows] = await c.execute('SELECT ? AS a, ? AS b, ? AS c', [i, label, null]);
      if (Number(rows[0].a) === i && rows[0].b === label && rows[0].c === null) stats.ok++;
      else mismatch(i, `select gave ${JSON.stringify(rows[0])}`);
      if (n === 0) {
        const big = 'x'.repeat(1024 * 1024);
        const [r] = await c.execute('SELECT LENGTH(?) AS l, ? AS i', [big, i]);
        if (Number(r[0].l) === big.length && Number(r[0].i) === i) stats.ok++;
        else mismatch(i, '1 MB value');
      }
      await c.beginTransaction();
      await c.execute('INSERT INTO drv_rows (client, n, v) VALUES (?, ?, ?)', [i, n, label]);
      const [cnt] = await c.execute('SELECT COUNT(*) AS k FROM drv_rows WHERE client = ?', [i]);
      if (n % 4 === 3) await c.rollback();
      else await c.commit();
      const expected = n - Math.floor(n / 4) + 1;
      if (Number(cnt[0].k) === expected) stats.ok++;
      else mismatch(i, `round ${n}: ${cnt[0].k} rows, expected ${expected}`);
      try {
        await c.execute('INSERT INTO drv_rows (client, n, v) VALUES (?, ?, ?)', [i, 0, 'dup']);
        mismatch(i, 'duplicate key accepted');
      } catch (e) {
        if (e.errno === 1062) stats.ok++;
        else error(i, e);
      }
      stats.completed++;
    }
    if (GATEWAY) {
      try {
        await c.execute('SELECT n FROM drv_rows WHERE client = ? OR 1=1', [i]);
        mismatch(i, 'injection not refused');
      } catch (e) {
        if (e.errno === 1142 && /sqli\./.test(e.message)) stats.ok++;
        else error(i, e);
      }
      const [r] = await c.execute('SELECT ? AS i', [i]);
      if (Number(r[0].i) === i) stats.ok++;
      else mismatch(i, 'after the refusal');
    }
  } catch (e) {
    error(i, e);
  } finally {
    await c.end().catch(() => {});
  }
}

async function main() {
  const start = Date.now();
  const setup = await connect();
  await setup.query('DROP TABLE IF EXISTS drv_rows');
  await setup.query('CREATE TABLE drv_rows (client INT NOT NULL, n INT NOT NULL, v LONGTEXT, PRIMARY KEY (client, n)) CHARACTER SET utf8mb4');
  await setup.end();
  const finished = new Set();
  const runs = [];
  for (let i = 0; i < CLIENTS; i++) runs.push(client(i).then(() => finished.add(i)));
  await Promise.race([Promise.all(runs), new Promise((r) => setTimeout(r, DEADLINE))]);
  const unfinished = [];
  for (let i = 0; i < CLIENTS; i++) if (!finished.has(i)) unfinished.push(i);
  stats.errors += unfinished.length;
  console.log(JSON.stringify({
    driver: 'mysql2', clients: CLIENTS, iterations: ITERS, ...stats,
    mismatch_examples: mismatchExamples, error_examples: errorExamples, unfinished,
    seconds: (Date.now() - start) / 1000,
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e); process.exit(1); });
