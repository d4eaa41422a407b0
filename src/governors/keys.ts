/**
 * Store keys for the governors. Principal, tenant and tool ids reach us from
 * claims and registries, so a key is built from encoded parts: every `:` and
 * brace inside a part is percent-encoded, and no choice of ids can make two
 * different (tenant, principal, tool, args) tuples share a key.
 *
 * The tenant part is wrapped in braces, `{tenant}`: a Redis Cluster hash tag,
 * so all of a tenant's keys land on one slot, and a key that is not scoped to
 * a tenant (replay, once) can never be mistaken for one that is, because an
 * encoded part never contains a brace.
 */

/** What `encodeURIComponent` leaves as it is: a part made only of these is its own encoding. */
const UNRESERVED = /^[A-Za-z0-9\-_.!~*'()]*$/;

function part(value: string): string {
  // Same result as encoding every part; most ids need none, and a call costs more than the test.
  return UNRESERVED.test(value) ? value : encodeURIComponent(value);
}

/** The key of something scoped to one tenant: `{tenant}:kind:part1:part2...`. */
export function tenantKey(tenant: string, kind: string, ...parts: string[]): string {
  let key = `{${part(tenant)}}:${kind}`;
  for (const p of parts) key += `:${part(p)}`;
  return key;
}

/** What every key of `tenant` starts with: `{tenant}:`. */
export function tenantPrefix(tenant: string): string {
  return `{${part(tenant)}}:`;
}

/** A tenant key read back: the tenant, the kind and the decoded parts; undefined for any other key. */
export function parseTenantKey(
  key: string,
): { tenant: string; kind: string; parts: string[] } | undefined {
  const m = /^\{([^{}:]*)\}:([^:]+)((?::[^:]*)*)$/.exec(key);
  if (!m) return undefined;
  try {
    const parts = m[3] ? m[3].slice(1).split(':').map(decodeURIComponent) : [];
    return { tenant: decodeURIComponent(m[1]!), kind: decodeURIComponent(m[2]!), parts };
  } catch {
    return undefined;
  }
}

/**
 * Seconds to wait, from milliseconds: whole seconds (an HTTP `Retry-After`
 * is an integer), rounded up so that waiting that long always suffices, and
 * at least 1 for a refusal.
 */
export function retryAfterSecondsFromMs(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}
