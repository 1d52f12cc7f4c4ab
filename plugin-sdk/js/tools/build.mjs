// The steps of plugin-sdk/js/build.sh (which installs the toolchain and calls this):
// tsc (app.ts) -> esbuild bundle with the SDK -> componentize-js -> import check -> OUT.wasm.
// Prints only errors, and `built OUT (N bytes)` on success.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, writeFileSync, unlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

const { values: opt } = parseArgs({
  options: {
    toolchain: { type: 'string' },
    sdk: { type: 'string' },
    wit: { type: 'string' },
    'plugin-dir': { type: 'string' },
    work: { type: 'string' },
    out: { type: 'string' },
  },
});
for (const k of ['toolchain', 'sdk', 'wit', 'plugin-dir', 'work', 'out']) {
  if (!opt[k]) fail(`build.mjs: --${k} is required`);
}
const pluginDir = opt['plugin-dir'];
const modules = join(opt.toolchain, 'node_modules');

/** WIT world the SDK builds. */
const WORLD = 'configurable-policy';
/** Import namespaces the gateway links (WASI 0.2 without http and sockets). */
const ALLOWED_IMPORTS = [
  /^articdbm:policy\/[a-z-]+@0\.1\.2$/,
  /^wasi:(cli|clocks|random|io|filesystem)\/[a-z-]+@0\.2\.\d+$/,
];
const HTTP_IMPORT = /^wasi:http\/[a-z-]+@0\.2\.\d+$/;

function fail(message) {
  process.stderr.write(`error: ${message}\n`);
  process.exit(1);
}

// --- options from PLUGIN_DIR/componentize.json (optional) -----------------------------------
let enableHttp = false;
const optionsFile = join(pluginDir, 'componentize.json');
if (existsSync(optionsFile)) {
  let o;
  try {
    o = JSON.parse(readFileSync(optionsFile, 'utf8'));
  } catch (e) {
    fail(`${optionsFile}: ${e.message}`);
  }
  for (const k of Object.keys(o)) {
    if (k !== 'http') fail(`${optionsFile}: unknown option "${k}" (known: "http")`);
  }
  if (typeof o.http !== 'boolean') fail(`${optionsFile}: "http" must be true or false`);
  enableHttp = o.http;
}

// --- 1. the entry module: app.ts through tsc, or app.js as is ---------------------------------
const hasTs = existsSync(join(pluginDir, 'app.ts'));
const hasJs = existsSync(join(pluginDir, 'app.js'));
if (hasTs && hasJs) {
  fail(`${pluginDir} has both app.ts and app.js: keep one (app.js next to app.ts is usually stale tsc output)`);
}
let appModule;
if (hasTs) {
  const outDir = join(opt.work, 'app');
  const tsconfig = {
    compilerOptions: {
      strict: true,
      target: 'ES2022',
      module: 'ES2022',
      moduleResolution: 'bundler',
      lib: ['ES2022'],
      types: [],
      rootDir: pluginDir,
      outDir,
      noEmitOnError: true,
      skipLibCheck: true,
      forceConsistentCasingInFileNames: true,
      paths: {
        'articdbm-policy': [join(opt.sdk, 'src/index.d.ts')],
        'articdbm-policy/testing': [join(opt.sdk, 'src/testing.d.ts')],
      },
    },
    files: [join(pluginDir, 'app.ts')],
  };
  const configPath = join(opt.work, 'tsconfig.json');
  writeFileSync(configPath, JSON.stringify(tsconfig, null, 2));
  const tsc = spawnSync(process.execPath, [join(modules, 'typescript/bin/tsc'), '-p', configPath, '--pretty', 'false'], {
    encoding: 'utf8',
  });
  if (tsc.status !== 0) {
    process.stderr.write(tsc.stdout + tsc.stderr);
    fail(`tsc could not compile ${join(pluginDir, 'app.ts')}`);
  }
  appModule = join(outDir, 'app.js');
} else {
  appModule = join(pluginDir, 'app.js');
}

// --- 2. bundle the app with the SDK and the wasm host into one module ------------------------
const entry = join(opt.work, 'entry.js');
writeFileSync(
  entry,
  [
    "import 'articdbm-policy/wasm-host';",
    `import * as app from ${JSON.stringify(appModule)};`,
    'const policy = app.default ?? app;',
    'if (!policy || typeof policy.hooks !== "object" || typeof policy.config !== "object") {',
    `  throw new Error(${JSON.stringify(
      `${basename(appModule)} must export definePolicy(...) as its default export, or export \`hooks\` and \`config\``,
    )});`,
    '}',
    'export const hooks = policy.hooks;',
    'export const config = policy.config;',
    '',
  ].join('\n'),
);

const require = createRequire(join(modules, 'noop.js'));
const esbuild = require('esbuild');
const sdkEntries = {
  'articdbm-policy': 'src/index.js',
  'articdbm-policy/testing': 'src/testing.js',
  'articdbm-policy/wasm-host': 'src/wasm-host.js',
};
const bundle = join(opt.work, 'bundle.js');
try {
  await esbuild.build({
    entryPoints: [entry],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    external: ['articdbm:*'],
    nodePaths: [join(pluginDir, 'node_modules')],
    logLevel: 'silent',
    plugins: [
      {
        name: 'articdbm-policy',
        setup(build) {
          build.onResolve({ filter: /^articdbm-policy(\/.*)?$/ }, (args) => {
            const file = sdkEntries[args.path];
            if (!file) return { errors: [{ text: `articdbm-policy has no export "${args.path}"` }] };
            return { path: join(opt.sdk, file) };
          });
        },
      },
    ],
  });
} catch (e) {
  const msgs = e.errors ?? [];
  const text = await esbuild.formatMessages(msgs, { kind: 'error', color: false });
  process.stderr.write(text.join(''));
  fail(`bundling ${appModule} failed${msgs.length ? '' : `: ${e.message}`}`);
}

// --- 3. componentize ----------------------------------------------------------------------
const { componentize } = await import(
  pathToFileURL(join(modules, '@bytecodealliance/componentize-js/src/componentize.js')).href
);
const disableFeatures = enableHttp ? ['fetch-event'] : ['http', 'fetch-event'];
let component;
const log = console.log;
const captured = [];
console.log = (...args) => captured.push(args.join(' '));
try {
  ({ component } = await componentize({
    sourcePath: bundle,
    witPath: opt.wit,
    worldName: WORLD,
    disableFeatures,
  }));
} catch (e) {
  console.log = log;
  if (captured.length) process.stderr.write(captured.join('\n') + '\n');
  fail(`componentize-js failed for ${pluginDir}: ${e && e.message ? e.message : e}`);
}
console.log = log;

// --- 4. check the imports against what the gateway links -----------------------------------
const { componentWit } = await import(pathToFileURL(join(modules, '@bytecodealliance/jco/dist/api.js')).href);
const wit = await componentWit(component);
const imports = [...wit.matchAll(/^\s*import ([^;]+);/gm)].map((m) => m[1].trim());
const refused = imports.filter(
  (i) => !ALLOWED_IMPORTS.some((r) => r.test(i)) && !(enableHttp && HTTP_IMPORT.test(i)),
);
if (refused.length) {
  fail(`the component imports what the gateway does not link: ${refused.join(', ')}`);
}
const exportsSeen = [...wit.matchAll(/^\s*export ([^;]+);/gm)].map((m) => m[1].trim()).sort();
const wantExports = ['articdbm:policy/config@0.1.2', 'articdbm:policy/hooks@0.1.2'];
if (JSON.stringify(exportsSeen) !== JSON.stringify(wantExports)) {
  fail(`the component exports ${exportsSeen.join(', ')}; expected ${wantExports.join(', ')}`);
}

// --- 5. write OUT atomically ---------------------------------------------------------------
const tmp = `${opt.out}.tmp-${process.pid}`;
try {
  writeFileSync(tmp, component);
  renameSync(tmp, opt.out);
} catch (e) {
  try {
    unlinkSync(tmp);
  } catch {}
  fail(`cannot write ${opt.out}: ${e.message}`);
}
process.stdout.write(`built ${opt.out} (${component.length} bytes)\n`);
