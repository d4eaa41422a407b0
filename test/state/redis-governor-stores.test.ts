import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { closeRedisClient, type RedisClient } from '../../src/state/redis/client.ts';
import {
  createRedisGovernorStores,
  RedisLoopStore,
  RedisRateLimitStore,
  RedisSpendStore,
} from '../../src/state/redis/governor-stores.ts';
import { deleteKeys, keysUnder, testClient, uniquePrefix } from './redis-helpers.ts';

// Frozen caller clock (the Redis stores decide with the caller's nowMs); a multiple of 3600 s.
const T0 = 1_800_000_000_000;
const prefix = uniquePrefix();
/** Two connections: two runner replicas sharing one Redis. */
let replicaA: RedisClient;
let replicaB: RedisClient;

beforeAll(() => {
  replicaA = testClient();
  replicaB = testClient();
});

afterAll(async () => {
  await deleteKeys(replicaA, prefix);
  await closeRedisClient(replicaA);
  await closeRedisClient(replicaB);
});

describe('RedisRateLimitStore (Lua token bucket)', () => {
  const rule = { capacity: 5, refillPerSecond: 2 };

  it('trips at capacity and refills at refillPerSecond', async () => {
    const store = new RedisRateLimitStore({ client: replicaA, prefix });
    for (let i = 0; i < 5; i++)
      expect(await store.take('bucket-1', rule, T0)).toEqual({
        allowed: true,
        retryAfterSeconds: 0,
      });
    expect(await store.take('bucket-1', rule, T0)).toEqual({
      allowed: false,
      retryAfterSeconds: 1,
    });
    expect((await store.take('bucket-1', rule, T0 + 499)).allowed).toBe(false);
    expect((await store.take('bucket-1', rule, T0 + 500)).allowed).toBe(true);
    expect((await store.take('bucket-1', rule, T0 + 500)).allowed).toBe(false);
    // Full again after capacity / refill = 2.5 s, never above capacity.
    const later = T0 + 60_000;
    for (let i = 0; i < 5; i++)
      expect((await store.take('bucket-1', rule, later)).allowed).toBe(true);
    expect((await store.take('bucket-1', rule, later)).allowed).toBe(false);
  });

  it('is one bucket for every replica: 100 concurrent takes over two connections allow exactly capacity', async () => {
    const a = new RedisRateLimitStore({ client: replicaA, prefix });
    const b = new RedisRateLimitStore({ client: replicaB, prefix });
    const big = { capacity: 37, refillPerSecond: 1 };
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => (i % 2 ? a : b).take('bucket-shared', big, T0)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(37);
  });

  it('a clock stepping back refills nothing', async () => {
    const store = new RedisRateLimitStore({ client: replicaA, prefix });
    for (let i = 0; i < 5; i++) await store.take('bucket-skew', rule, T0);
    expect((await store.take('bucket-skew', rule, T0 - 10_000)).allowed).toBe(false);
    expect((await store.take('bucket-skew', rule, T0 + 499)).allowed).toBe(false);
  });

  it('the bucket key expires once it would be full again', async () => {
    const store = new RedisRateLimitStore({ client: replicaA, prefix });
    await store.take('bucket-ttl', rule, T0);
    const ttl = await replicaA.pttl(`${prefix}bucket-ttl`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(500 + 1000);
  });

  it('returns a retry delay that always suffices for slow refills', async () => {
    const store = new RedisRateLimitStore({ client: replicaA, prefix });
    const slow = { capacity: 1, refillPerSecond: 0.25 };
    await store.take('bucket-slow', slow, T0);
    const refused = await store.take('bucket-slow', slow, T0 + 1);
    expect(refused).toEqual({ allowed: false, retryAfterSeconds: 4 });
    expect((await store.take('bucket-slow', slow, T0 + 1 + 4000)).allowed).toBe(true);
  });
});

describe('RedisSpendStore', () => {
  it('spend shared by two replicas trips at the sum of their charges, without charging the refused call', async () => {
    const a = new RedisSpendStore({ client: replicaA, prefix });
    const b = new RedisSpendStore({ client: replicaB, prefix });
    for (let i = 0; i < 5; i++) {
      expect((await a.charge('spend-1', 1, 10, 3600, T0)).allowed).toBe(true);
      expect((await b.charge('spend-1', 1, 10, 3600, T0)).allowed).toBe(true);
    }
    expect(await a.charge('spend-1', 1, 10, 3600, T0 + 600_000)).toEqual({
      allowed: false,
      spent: 10,
      retryAfterSeconds: 3000,
    });
    expect(await b.charge('spend-1', 1, 10, 3600, T0)).toMatchObject({ allowed: false, spent: 10 });
    expect(await replicaA.get(`${prefix}spend-1:${T0}`)).toBe('10');
    // The next window starts from zero.
    expect(await a.charge('spend-1', 1, 10, 3600, T0 + 3_600_000)).toMatchObject({
      allowed: true,
      spent: 1,
    });
  });

  it('200 concurrent charges over two connections never pass the budget', async () => {
    const a = new RedisSpendStore({ client: replicaA, prefix });
    const b = new RedisSpendStore({ client: replicaB, prefix });
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).charge('spend-race', 3, 100, 60, T0)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(33);
    expect(await replicaA.get(`${prefix}spend-race:${T0}`)).toBe('99');
  });

  it('the window key expires at the end of its window (plus a second of grace)', async () => {
    const store = new RedisSpendStore({ client: replicaA, prefix });
    await store.charge('spend-ttl', 1, 10, 60, T0 + 45_000);
    const ttl = await replicaA.pttl(`${prefix}spend-ttl:${T0}`);
    expect(ttl).toBeGreaterThan(15_000);
    expect(ttl).toBeLessThanOrEqual(16_000);
  });
});

describe('RedisLoopStore', () => {
  it('refuses past maxRepeats in the sliding window, across replicas, and recovers as calls leave it', async () => {
    const a = new RedisLoopStore({ client: replicaA, prefix });
    const b = new RedisLoopStore({ client: replicaB, prefix });
    expect(await a.hit('loop-1', 3, 10, T0)).toMatchObject({ allowed: true, count: 1 });
    expect(await b.hit('loop-1', 3, 10, T0 + 1000)).toMatchObject({ allowed: true, count: 2 });
    expect(await a.hit('loop-1', 3, 10, T0 + 2000)).toMatchObject({ allowed: true, count: 3 });
    expect(await b.hit('loop-1', 3, 10, T0 + 3000)).toEqual({
      allowed: false,
      count: 3,
      retryAfterSeconds: 7,
    });
    expect((await a.hit('loop-1', 3, 10, T0 + 9999)).allowed).toBe(false);
    expect((await a.hit('loop-1', 3, 10, T0 + 10_000)).allowed).toBe(true);
    const ttl = await replicaA.pttl(`${prefix}loop-1`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(11_000);
  });

  it('concurrent identical calls in one instant record exactly maxRepeats', async () => {
    const a = new RedisLoopStore({ client: replicaA, prefix });
    const b = new RedisLoopStore({ client: replicaB, prefix });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).hit('loop-race', 20, 60, T0)),
    );
    expect(results.filter((r) => r.allowed)).toHaveLength(20);
    expect(await replicaA.zcard(`${prefix}loop-race`)).toBe(20);
  });
});

describe('Governors on Redis stores', () => {
  it('shares limits between two replicas, with tenant-scoped keys that all expire', async () => {
    const config = {
      rateLimits: {
        principal: { capacity: 4, refillPerSecond: 1 },
        tool: { enabled: false },
        tenant: { enabled: false },
      },
      spend: { budget: 1000, windowSeconds: 3600 },
      loopGuard: { maxRepeats: 100, windowSeconds: 60 },
    } as const;
    const gPrefix = `${prefix}gov:`;
    const a = new Governors({
      stores: createRedisGovernorStores({ client: replicaA, prefix: gPrefix }),
      config,
    });
    const b = new Governors({
      stores: createRedisGovernorStores({ client: replicaB, prefix: gPrefix }),
      config,
    });
    expect(a.storesKind).toBe('redis');
    const call = {
      principal: 'alice',
      tenant: 'acme',
      toolId: 'text.word_count',
      argsHash: 'sha256:aa',
      cost: 1,
      nowMs: T0,
    };
    await a.check(call);
    await b.check(call);
    await a.check(call);
    await b.check(call);
    await expect(a.check(call)).rejects.toMatchObject({
      code: 'rate_limited',
      details: { limit: 'principal' },
    });
    await expect(b.check(call)).rejects.toMatchObject({ code: 'rate_limited' });

    const keys = await keysUnder(replicaA, gPrefix);
    expect(keys).toEqual([
      `${gPrefix}{acme}:loop:alice:text.word_count:sha256%3Aaa`,
      `${gPrefix}{acme}:rate:principal:alice`,
      `${gPrefix}{acme}:spend:${T0}`,
    ]);
    for (const key of keys) expect(await replicaA.pttl(key)).toBeGreaterThan(0);
  });
});
