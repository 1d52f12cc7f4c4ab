// node-postgres (`pg`), several clients at once on one event loop, each checking it gets
// exactly its own answers. Named statements ({name, text, values}): node-postgres parses a
// named statement once per connection and from then on sends only Bind/Execute, so the
// server connection that runs them must be one where this client prepared them. The name
// `tag` has a different text in every client. Also unnamed parameterised queries and
// transactions committed or rolled back.
//
// Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, DRV_CLIENTS, DRV_ITERS,
// DRV_DEADLINE_SECS (see tests/drivers/python/common.py). Prints one JSON line.
'use strict';

const { Client } = require('pg');

const CLIENTS = Number(process.env.DRV_CLIENTS || 8);
const ITERS = Number(process.env.DRV_ITERS || 60);
const DEADLINE_SECS = Number(process.env.DRV_DEADLINE_SECS || 20);
const MAX_ERRORS_PER_CLIENT = 10;
const EXAMPLES = 5;
const started = Date.now();

const tally = {
  ok: 0, completed: 0, mismatches: 0, errors: 0, mismatch_examples: [], error_examples: [],
};

function check(c, what, got, want) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g === w) {
    tally.ok += 1;
    return;
  }
  tally.mismatches += 1;
  if (tally.mismatch_examples.length < EXAMPLES) {
    tally.mismatch_examples.push(`client ${c} ${what}: got ${g}, want ${w}`.slice(0, 400));
  }
}

// One example per kind of error, so a rare one is not hidden by a frequent one.
const errorKinds = new Set();

function error(c, what, e) {
  tally.errors += 1;
  const code = e && e.code ? ` [${e.code}]` : '';
  const msg = String(e && e.message ? e.message : e).replace(/\n/g, ' | ');
  const kind = `${code}${msg.slice(0, 60)}`;
  if (tally.error_examples.length < EXAMPLES && !errorKinds.has(kind)) {
    errorKinds.add(kind);
    tally.error_examples.push(`client ${c} ${what}: ${msg}${code}`.slice(0, 400));
  }
}

let finished = false;

function finish(unfinished = []) {
  if (finished) return;
  finished = true;
  const out = {
    driver: 'node-postgres',
    clients: CLIENTS,
    iterations: ITERS,
    completed: tally.completed,
    ok: tally.ok,
    mismatches: tally.mismatches,
    errors: tally.errors,
    mismatch_examples: tally.mismatch_examples,
    error_examples: tally.error_examples,
    unfinished,
    seconds: (Date.now() - started) / 1000,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`, () => process.exit(0));
}

function connect() {
  const client = new Client({
    host: process.env.PGHOST,
    port: Number(process.env.PGPORT),
    user: process.env.PGUSER,
    password: process.env.PGPASSWORD,
    database: process.env.PGDATABASE,
    ssl: false,
    connectionTimeoutMillis: 10000,
    query_timeout: 10000,
  });
  // A connection that breaks emits 'error'; the query in flight reports it too.
  client.on('error', () => {});
  return client.connect().then(() => client);
}

const UPDATE_ROW = 'UPDATE drv_node SET n = n + 1, who = $1 WHERE client = $2 RETURNING n, who';
const READ_ROW = 'SELECT n, who FROM drv_node WHERE client = $1';

function vals(res) {
  return res.rows.map((r) => Object.values(r));
}

async function setup() {
  const db = await connect();
  await db.query('DROP TABLE IF EXISTS drv_node');
  await db.query('CREATE TABLE drv_node (client int PRIMARY KEY, n int NOT NULL, who text NOT NULL)');
  for (let c = 1; c <= CLIENTS; c += 1) {
    await db.query("INSERT INTO drv_node (client, n, who) VALUES ($1, 0, 'init')", [c]);
  }
  await db.end();
}

async function iteration(db, c, i, st) {
  const who = `c${c}-i${i}`;
  let res = await db.query({ name: 'who', text: 'SELECT $1::int AS id, $2::text AS who', values: [c, who] });
  check(c, 'named select', vals(res), [[c, who]]);
  res = await db.query({ name: 'tag', text: `SELECT $1::int AS i, ${c}::int AS tag`, values: [i] });
  check(c, 'per-client named statement text', vals(res), [[i, c]]);
  res = await db.query('SELECT $1::int AS id, $2::text AS who', [c, `${who}-u`]);
  check(c, 'unnamed select', vals(res), [[c, `${who}-u`]]);
  await db.query('BEGIN');
  res = await db.query({ name: 'update', text: UPDATE_ROW, values: [who, c] });
  check(c, 'named update returning', vals(res), [[st.n + 1, who]]);
  res = await db.query({ name: 'read', text: READ_ROW, values: [c] });
  check(c, 'named read in transaction', vals(res), [[st.n + 1, who]]);
  if (i % 4 === 3) {
    await db.query('ROLLBACK');
  } else {
    await db.query('COMMIT');
    st.n += 1;
    st.who = who;
  }
  res = await db.query({ name: 'read', text: READ_ROW, values: [c] });
  check(c, 'named read own row', vals(res), [[st.n, st.who]]);
}

async function client(c) {
  let errors = 0;
  const st = { n: 0, who: 'init' };
  let db = await connect();
  for (let i = 0; i < ITERS; i += 1) {
    try {
      await iteration(db, c, i, st);
      tally.completed += 1;
    } catch (e) {
      error(c, `iteration ${i}`, e);
      errors += 1;
      if (errors >= MAX_ERRORS_PER_CLIENT) break;
      db = await recover(db, c, st);
    }
  }
  await db.end();
}

// After an error: roll back (or reconnect) and learn the row's committed state again.
async function recover(db, c, st) {
  try {
    await db.query('ROLLBACK');
  } catch (e) {
    db.end().catch(() => {});
    db = await connect();
  }
  try {
    const res = await db.query(READ_ROW, [c]);
    [st.n, st.who] = vals(res)[0];
  } catch (e) {
    error(c, 'resync', e);
  }
  return db;
}

async function main() {
  const done = new Set();
  setTimeout(() => {
    const unfinished = [];
    for (let c = 1; c <= CLIENTS; c += 1) {
      if (!done.has(c)) {
        unfinished.push(c);
        error(c, 'deadline', `still running after ${DEADLINE_SECS}s`);
      }
    }
    finish(unfinished);
  }, DEADLINE_SECS * 1000);
  await setup();
  const clients = [];
  for (let c = 1; c <= CLIENTS; c += 1) {
    clients.push(client(c).catch((e) => error(c, 'client', e)).then(() => done.add(c)));
  }
  await Promise.all(clients);
  finish();
}

main().catch((e) => {
  error(0, 'setup', e);
  finish();
});
