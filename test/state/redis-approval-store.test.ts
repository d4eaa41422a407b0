import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApprovalRecord } from '../../src/broker/approval-store.ts';
import { closeRedisClient, type RedisClient } from '../../src/state/redis/client.ts';
import { RedisApprovalStore } from '../../src/state/redis/approval-store.ts';
import { deleteKeys, testClient, uniquePrefix } from './redis-helpers.ts';

const prefix = uniquePrefix();
let a: RedisClient;
let b: RedisClient;
const now = Date.now();
const envelope = { tool: 'github.create_pr', sub: 'alice', tenant: 'acme', argsHash: 'sha256:aa' };

function record(id: string, overrides: Partial<ApprovalRecord> = {}): ApprovalRecord {
  return {
    id,
    ...envelope,
    status: 'pending',
    createdAtMs: now,
    expiresAtMs: now + 600_000,
    ...overrides,
  };
}

beforeAll(() => {
  a = testClient();
  b = testClient();
});

afterAll(async () => {
  await deleteKeys(a, prefix);
  await closeRedisClient(a);
  await closeRedisClient(b);
});

describe('RedisApprovalStore', () => {
  it('create, get, decide, consume: an approval is used once, across replicas', async () => {
    const storeA = new RedisApprovalStore({ client: a, prefix });
    const storeB = new RedisApprovalStore({ client: b, prefix });
    await storeA.create(record('ap-1'));
    await expect(storeA.create(record('ap-1'))).rejects.toThrow(/exists/);
    expect(await storeB.get('ap-1')).toEqual(record('ap-1'));
    expect(await storeB.consume('ap-1', envelope, now)).toBe('pending');
    expect(await storeB.decide('ap-1', 'approved', 'bob', now)).toBe(true);
    expect(await storeA.decide('ap-1', 'denied', 'eve', now)).toBe(false);
    expect(await storeA.consume('ap-1', { ...envelope, argsHash: 'sha256:bb' }, now)).toBe(
      'mismatch',
    );
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) =>
        (i % 2 ? storeA : storeB).consume('ap-1', envelope, now),
      ),
    );
    expect(results.filter((r) => r === 'ok')).toHaveLength(1);
    expect(results.filter((r) => r === 'used')).toHaveLength(99);
    expect(await storeA.get('ap-1')).toMatchObject({ status: 'used', decidedBy: 'bob' });
  });

  it('reports missing, denied and expired', async () => {
    const store = new RedisApprovalStore({ client: a, prefix });
    expect(await store.consume('nope', envelope, now)).toBe('missing');
    expect(await store.get('nope')).toBeUndefined();
    await store.create(record('ap-denied'));
    await store.decide('ap-denied', 'denied', 'bob', now);
    expect(await store.consume('ap-denied', envelope, now)).toBe('denied');
    await store.create(record('ap-old', { status: 'approved', expiresAtMs: now + 1000 }));
    expect(await store.consume('ap-old', envelope, now + 1000)).toBe('expired');
    expect(await store.decide('ap-old', 'approved', 'bob', now + 1000)).toBe(false);
  });

  it('every record expires (a day after the approval does)', async () => {
    const store = new RedisApprovalStore({ client: a, prefix });
    await store.create(record('ap-ttl'));
    const ttl = await a.pttl(`${prefix}approval:ap-ttl`);
    expect(ttl).toBeGreaterThan(86_400_000);
    expect(ttl).toBeLessThanOrEqual(86_400_000 + 600_000);
  });
});
