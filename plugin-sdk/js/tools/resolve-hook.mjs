// Node module-resolution hook: maps `articdbm-policy` and its subpaths to this SDK's sources,
// so tests in the repository (SDK, examples) import the SDK by its package name without an
// npm install. Registered by tools/register.mjs (node --import).

const SDK = new URL('../src/', import.meta.url);
const ENTRIES = {
  'articdbm-policy': 'index.js',
  'articdbm-policy/testing': 'testing.js',
};

export async function resolve(specifier, context, next) {
  const file = ENTRIES[specifier];
  if (file !== undefined) {
    return { url: new URL(file, SDK).href, shortCircuit: true, format: 'module' };
  }
  return next(specifier, context);
}
