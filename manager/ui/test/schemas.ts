// The real schemas of the repository, so the tests validate against what the manager serves.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Schema } from '@cfworker/json-schema';

// Vitest runs in manager/ui.
const root = `${resolve(process.cwd(), '../..')}/`;

export function packSchema(): Schema {
  return JSON.parse(readFileSync(`${root}docs/schema/pack.schema.json`, 'utf8')) as Schema;
}

export function pluginSchema(name: string): Schema {
  const m = JSON.parse(readFileSync(`${root}plugins/${name}/manifest.json`, 'utf8')) as { config_schema: Schema };
  return m.config_schema;
}
