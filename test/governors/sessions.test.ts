// Per-session caps beside the tenant ones: calls and spend per `sid`, in memory and on Redis
// (two replicas sharing one store see one session budget).
import { afterAll, expect, it } from 'vitest';
import { Governors } from '../../src/governors/governors.ts';
import { createMemoryGovernorStores } from '../../src/governors/memory-stores.ts';
import { createRedisGovernorStores } from '../../src/state/redis/governor-stores.ts';
import { closeRedisClient } from '../../src/state/redis/client.ts';
import { deleteKeys, testClient, uniquePrefix } from '../state/redis-helpers.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';

const config = {
  rateLimits: {
    principal: { enabled: false },
    tool: { enabled: false },
    tenant: { enabled: false },
  },
  loopGuard: { enabled: false },
  sessions: { maxCalls: 3, budget: 100, windowSeconds: 3600 },
} as const;
const call = (session: string | undefined, cost = 1) => ({
  principal: 'agent',
  tenant: 'acme',
  toolId: 'text.word_count',
  argsHash: `sha256:${'a'.repeat(64)}`,
  cost,
  nowMs: Date.UTC(2030, 0, 1, 0, 10),
  ...(session ? { session } : {}),
});

it('caps the calls of one session and leaves other sessions and session-less calls alone', async () => {
  const g = new Governors({ config, stores: createMemoryGovernorStores() });
  for (let i = 0; i < 3; i++) await g.check(call('s1'));
  const e = (await g.check(call('s1')).catch((x: unknown) => x)) as ToolcageError;
  expect(e).toMatchObject({
    code: 'quota_exceeded',
    message: expect.stringMatching(
      /^The session call cap is reached: 3 of 3 calls in this 3600 s window/,
    ),
    details: { limit: 'session_calls', budget: 3 },
  });
  await g.check(call('s2'));
  for (let i = 0; i < 5; i++) await g.check(call(undefined));
});

it('caps the spend of one session', async () => {
  const g = new Governors({ config, stores: createMemoryGovernorStores() });
  await g.check(call('s1', 60));
  await expect(g.check(call('s1', 60))).rejects.toMatchObject({
    code: 'quota_exceeded',
    details: { limit: 'session_spend', budget: 100, spent: 60, cost: 60 },
  });
});

const prefix = uniquePrefix();
const a = testClient();
const b = testClient();
afterAll(async () => {
  await deleteKeys(a, prefix);
  await closeRedisClient(a);
  await closeRedisClient(b);
});

it('two replicas on Redis share one session counter (one-step plan store)', async () => {
  const g1 = new Governors({ config, stores: createRedisGovernorStores({ client: a, prefix }) });
  const g2 = new Governors({ config, stores: createRedisGovernorStores({ client: b, prefix }) });
  await g1.check(call('shared'));
  await g2.check(call('shared'));
  await g1.check(call('shared'));
  await expect(g2.check(call('shared'))).rejects.toMatchObject({
    code: 'quota_exceeded',
    details: { limit: 'session_calls' },
  });
  await g2.check(call('other'));
});
