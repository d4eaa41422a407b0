// The one-step Redis plan (one Lua script per call) must decide exactly as the governors do
// store by store: same order (loop guard, principal, tool, tenant, spend), same thresholds,
// same retry delays, and a refused step leaves the later ones untouched.
import { afterAll, describe, expect, it, vi } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';
import { createRedisGovernorStores } from '../../src/state/redis/governor-stores.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { deleteKeys, testClient, uniquePrefix } from './redis-helpers.ts';

const client = testClient();
const prefix = uniquePrefix();
afterAll(async () => {
  await deleteKeys(client, prefix);
  client.disconnect();
});

const config = {
  rateLimits: {
    principal: { capacity: 5, refillPerSecond: 1 },
    tool: { capacity: 8, refillPerSecond: 1 },
    tenant: { capacity: 12, refillPerSecond: 2 },
  },
  spend: { budget: 20, windowSeconds: 60 },
  loopGuard: { maxRepeats: 3, windowSeconds: 30 },
};

async function outcome(g: Governors, call: Parameters<Governors['check']>[0]): Promise<string> {
  try {
    await g.check(call);
    return 'ok';
  } catch (err) {
    const e = err as ToolcageError;
    return `${e.code}:${String(e.details?.limit)}:${e.retryAfterSeconds}`;
  }
}

describe('RedisGovernorPlanStore', () => {
  it('decides a mixed sequence of calls exactly as the store-by-store path does', async () => {
    const redisStores = createRedisGovernorStores({ client, prefix });
    expect(redisStores.plan).toBeDefined();
    const viaPlan = new Governors({ config, stores: redisStores });
    const oneByOne = new Governors({ config, stores: createMemoryGovernorStores() });
    const t0 = 1_800_000_000_000;
    const got: string[] = [];
    const want: string[] = [];
    // Principals p0..p2 in tenants a/b, repeated args (loop guard), costs 1..3, time moving on.
    for (let i = 0; i < 60; i++) {
      const call = {
        principal: `p${i % 3}`,
        tenant: i % 7 === 0 ? 'b' : 'a',
        toolId: i % 2 ? 'text.word_count' : 'data.json_query',
        argsHash: `sha256:${(i % 4).toString().padStart(64, '0')}`,
        cost: 1 + (i % 3),
        nowMs: t0 + i * 150,
      };
      got.push(await outcome(viaPlan, call));
      want.push(await outcome(oneByOne, call));
    }
    expect(got).toEqual(want);
    expect(new Set(got.map((o) => o.split(':')[0]))).toEqual(
      new Set(['ok', 'loop_detected', 'rate_limited', 'quota_exceeded']),
    );
  });

  it('makes one round trip per call (one script), where the stores one by one make five', async () => {
    const prefix2 = uniquePrefix();
    const stores = createRedisGovernorStores({ client, prefix: prefix2 });
    const call = {
      principal: 'x',
      tenant: 't',
      toolId: 'text.word_count',
      argsHash: `sha256:${'1'.repeat(64)}`,
      cost: 1,
      nowMs: Date.now(),
    };
    const scripts = vi.spyOn(client, 'evalsha');
    await new Governors({ config, stores }).check(call);
    expect(scripts).toHaveBeenCalledTimes(1);
    scripts.mockClear();
    const { plan: _plan, ...withoutPlan } = stores;
    await new Governors({ config, stores: withoutPlan }).check({
      ...call,
      argsHash: `sha256:${'2'.repeat(64)}`,
    });
    expect(scripts).toHaveBeenCalledTimes(5);
    scripts.mockRestore();
    await deleteKeys(client, prefix2);
  });
});
