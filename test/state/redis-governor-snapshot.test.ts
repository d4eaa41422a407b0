// The Redis governor stores report what they hold (bounded SCAN on their own prefix, never KEYS),
// and the report over Redis equals the report over memory for the same calls.
import { afterAll, describe, expect, it } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';
import { MemorySessionBreakerStore, sessionKey } from '../../src/governors/breaker.ts';
import { governorReport } from '../../src/governors/report.ts';
import { createRedisGovernorStores } from '../../src/state/redis/governor-stores.ts';
import { RedisSessionBreakerStore } from '../../src/state/redis/session-store.ts';
import type { GovernorStores } from '../../src/ports/governors.ts';
import type { SessionBreakerStore } from '../../src/ports/stores.ts';
import { closeRedisClient } from '../../src/state/redis/client.ts';
import { deleteKeys, keysUnder, testClient, uniquePrefix } from './redis-helpers.ts';

const client = testClient();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deleteKeys(client, p);
  await closeRedisClient(client);
});

const T0 = Date.parse('2026-01-01T00:00:30Z');
const config = {
  rateLimits: { principal: { capacity: 10, refillPerSecond: 1 } },
  spend: { budget: 100, windowSeconds: 60 },
  loopGuard: { maxRepeats: 3, windowSeconds: 60 },
  sessions: { budget: 50, maxCalls: 20, windowSeconds: 60 },
} as const;

async function drive(stores: GovernorStores, sessions: SessionBreakerStore) {
  const g = new Governors({ config, stores, clock: () => T0 });
  const call = { principal: 'alice', toolId: 'text.count', argsHash: 'h1', cost: 7 };
  for (let i = 0; i < 3; i++) await g.check({ ...call, tenant: 'acme', session: 's-1' });
  await g.check({ ...call, principal: 'bob', tenant: 'a*', argsHash: 'h2', cost: 2 });
  await g.check({ ...call, principal: 'carol', tenant: 'ab:c', argsHash: 'h3', cost: 4 });
  await sessions.fail(sessionKey('acme', 's-9'), T0, { maxFailures: 1, windowSeconds: 60 }, 'x');
  await sessions.fail(sessionKey('a*', 's-8'), T0, { maxFailures: 1, windowSeconds: 60 }, 'y');
  return g.config;
}

function redisStores() {
  const prefix = uniquePrefix();
  prefixes.push(prefix);
  return {
    prefix,
    stores: createRedisGovernorStores({ client, prefix }),
    sessions: new RedisSessionBreakerStore({ client, prefix }),
  };
}

describe('Redis governor snapshot', () => {
  it('reports the same state as the memory stores for the same calls', async () => {
    const r = redisStores();
    const parsed = await drive(r.stores, r.sessions);
    const m = { stores: createMemoryGovernorStores(), sessions: new MemorySessionBreakerStore() };
    await drive(m.stores, m.sessions);
    const fromRedis = await governorReport({ ...r, config: parsed, nowMs: T0 + 1000 });
    const fromMemory = await governorReport({ ...m, config: parsed, nowMs: T0 + 1000 });
    expect(fromRedis.governors).toEqual({ store: 'redis', reportable: true, shared: true });
    expect(fromRedis.tenants).toEqual(fromMemory.tenants);
    expect(fromRedis.tenants.map((t) => t.tenant)).toEqual(['a*', 'ab:c', 'acme']);
    expect(fromRedis.tenants[2]!.spend?.spent).toBe(21);
    expect(fromRedis.tenants[2]!.paused.map((p) => p.session)).toEqual(['s-9']);
  });

  it('a tenant named with a glob character sees its own keys only', async () => {
    const r = redisStores();
    const parsed = await drive(r.stores, r.sessions);
    const only = await governorReport({ ...r, config: parsed, nowMs: T0, tenants: ['a*'] });
    expect(only.tenants.map((t) => t.tenant)).toEqual(['a*']);
    expect(only.tenants[0]!.paused.map((p) => p.session)).toEqual(['s-8']);
    const snap = await r.stores.snapshot!({ nowMs: T0, tenant: 'a*' });
    expect(snap.entries.length).toBeGreaterThan(0);
    expect(
      snap.entries.every((e) => e.key.startsWith('{a%2A}:') || e.key.startsWith('{a*}:')),
    ).toBe(true);
  });

  it('reads without changing anything, and stops at its limit', async () => {
    const r = redisStores();
    await drive(r.stores, r.sessions);
    const before = await keysUnder(client, r.prefix);
    const ttls = await Promise.all(before.map((k) => client.pttl(k)));
    const snap = await r.stores.snapshot!({ nowMs: T0, limit: 3 });
    expect(snap.truncated).toBe(true);
    expect(snap.entries).toHaveLength(3);
    expect(await keysUnder(client, r.prefix)).toEqual(before);
    const after = await Promise.all(before.map((k) => client.pttl(k)));
    after.forEach((t, i) => expect(t).toBeLessThanOrEqual(ttls[i]!));
  });
});
