// node --import <this file>: resolves `articdbm-policy` to this SDK (see resolve-hook.mjs).
import { register } from 'node:module';

register('./resolve-hook.mjs', import.meta.url);
