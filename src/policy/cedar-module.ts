import { createRequire } from 'node:module';
import type * as Cedar from '@cedar-policy/cedar-wasm/nodejs';

export type CedarModule = typeof Cedar;

let loaded: CedarModule | undefined;

/**
 * Cedar's official WebAssembly build, loaded on first use: only a broker
 * with conditions pays its compile time. The `nodejs` build instantiates the
 * module from bytes (no experimental ESM-wasm import, so no warning on stderr).
 */
export function cedar(): CedarModule {
  loaded ??= createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as CedarModule;
  return loaded;
}
