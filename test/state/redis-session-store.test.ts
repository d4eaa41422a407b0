import { afterAll, expect, it } from 'vitest';
import { closeRedisClient } from '../../src/state/redis/client.ts';
import { RedisSessionBreakerStore } from '../../src/state/redis/session-store.ts';
import { sessionKey } from '../../src/governors/breaker.ts';
import { deleteKeys, testClient, uniquePrefix } from './redis-helpers.ts';

const prefix = uniquePrefix();
const a = testClient();
const b = testClient();
afterAll(async () => {
  await deleteKeys(a, prefix);
  await closeRedisClient(a);
  await closeRedisClient(b);
});

it('two replicas share one breaker per session: failures add up, the pause is seen by both, resume lifts it', async () => {
  const s1 = new RedisSessionBreakerStore({ client: a, prefix });
  const s2 = new RedisSessionBreakerStore({ client: b, prefix });
  const key = sessionKey('acme', 'conv-1');
  const rule = { maxFailures: 3, windowSeconds: 60 };
  const now = Date.now();
  // A failure older than the window is forgotten when the next one is counted.
  expect(await s1.fail(key, now - 120_000, rule, 'old')).toBe(false);
  expect(await s1.fail(key, now, rule, 'input_invalid')).toBe(false);
  expect(await s2.fail(key, now + 1, rule, 'timeout')).toBe(false);
  expect(await s1.fail(key, now + 2, rule, 'rate_limited')).toBe(true);
  expect(await s2.paused(key)).toEqual({ pausedAtMs: now + 2, reason: 'rate_limited' });
  expect(await s1.paused(sessionKey('globex', 'conv-1'))).toBeUndefined();
  expect(await s2.resume(key)).toBe(true);
  expect(await s1.paused(key)).toBeUndefined();
  expect(await s1.resume(key)).toBe(false);
  expect(await s1.fail(key, now + 3, rule, 'x')).toBe(false);
});
