// Generates plugin-sdk/js/types/ from the WIT: `jco guest-types` for world
// configurable-policy, then one fix-up jco 1.34 needs: WIT docs that mention SQL block
// comments (`/* ... */`) would close the generated JSDoc comments early, so `*/` inside a
// comment body becomes `*\/`. test.sh regenerates into a scratch directory and compares.
//
//   node tools/gen-types.mjs --toolchain DIR --wit WIT_DIR --out OUT_DIR

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, mkdirSync, writeFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: { toolchain: { type: 'string' }, wit: { type: 'string' }, out: { type: 'string' } },
});
if (!opt.toolchain || !opt.wit || !opt.out) {
  console.error('usage: node tools/gen-types.mjs --toolchain DIR --wit WIT_DIR --out OUT_DIR');
  process.exit(2);
}

const scratch = mkdtempSync(join(tmpdir(), 'articdbm-js-types-'));
try {
  const jco = spawnSync(
    join(opt.toolchain, 'node_modules/.bin/jco'),
    ['guest-types', opt.wit, '--world-name', 'configurable-policy', '--quiet', '-o', scratch],
    { encoding: 'utf8' },
  );
  if (jco.status !== 0) {
    process.stderr.write(jco.stdout + jco.stderr);
    console.error('error: jco guest-types failed');
    process.exit(1);
  }
  const header =
    '// Generated from wit/v0.1.2 (world configurable-policy) by plugin-sdk/js/tools/gen-types.mjs:\n' +
    '// `jco guest-types`, with `*/` escaped inside doc comments. Do not edit; test.sh checks it.\n';
  rmSync(opt.out, { recursive: true, force: true });
  const walk = (dir) =>
    readdirSync(dir).flatMap((n) => (statSync(join(dir, n)).isDirectory() ? walk(join(dir, n)) : [join(dir, n)]));
  for (const file of walk(scratch).sort()) {
    const text = readFileSync(file, 'utf8')
      .split('\n')
      .map((line) => (/^\s*\*(?!\/)/.test(line) ? line.replaceAll('*/', '*\\/') : line))
      .join('\n');
    const target = join(opt.out, relative(scratch, file));
    mkdirSync(join(target, '..'), { recursive: true });
    // A triple-slash reference must stay first: the header goes after the leading ones.
    const lines = text.split('\n');
    let i = 0;
    while (i < lines.length && lines[i].startsWith('/// <reference')) i++;
    lines.splice(i, 0, header.trimEnd());
    writeFileSync(target, lines.join('\n'));
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
