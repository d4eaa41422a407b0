import { setFlagsFromString } from 'node:v8';

/**
 * Start-up loads ~800 modules in a burst of short-lived allocations, which
 * grows V8's young generation to its maximum (16 MB per semi-space) and V8
 * never gives that back while the service idles: ~25 MB of a service's
 * resident memory sized by a burst that is over. These keep it from growing
 * during start-up, then let it grow again with the service's own load. A
 * young-generation flag the user chose (NODE_OPTIONS, node flags) is left alone.
 */
const chosen = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)].some((a) =>
  /semi[-_]space/.test(a),
);

/** V8's default growth factor of the young generation (`--semi-space-growth-factor`). */
const DEFAULT_GROWTH_FACTOR = 2;

export function holdYoungGeneration(): void {
  if (!chosen) setFlagsFromString('--semi-space-growth-factor=1');
}

export function releaseYoungGeneration(): void {
  if (!chosen) setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
}
