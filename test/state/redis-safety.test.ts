// RedisSafety on its own (src/state/redis/safety.ts), against a private redis-server: the eviction
// policy verdict, the restart cutoff for issue times, and what it leaves alone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient, closeRedisClient } from '../../src/state/redis/client.ts';
import { RedisSafety } from '../../src/state/redis/safety.ts';
import { RedisReplayStore } from '../../src/state/redis/replay-store.ts';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { startRedisServer, type RedisServer } from '../replicas/helpers.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory-policy', 'volatile-lru'] });
});
afterAll(async () => {
  await redis?.kill();
});

describe('RedisSafety', () => {
  it('refuses a volatile-lru Redis (it evicts every expiring key) and accepts it only when told to', async () => {
    const client = createRedisClient({ url: redis.url });
    try {
      const strict = new RedisSafety({ client });
      const err = await strict.ensure().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ToolcageError);
      expect((err as ToolcageError).code).toBe('state_unavailable');
      expect((err as ToolcageError).message).toMatch(/"volatile-lru"/);
      expect(await strict.health()).toMatchObject({ usable: false });
      const store = new RedisReplayStore({ client, prefix: 'safety-test:', safety: strict });
      await expect(
        store.consume({ iss: 'i', jti: 'j', iat: Date.now() / 1000 }, Date.now() + 60_000),
      ).rejects.toMatchObject({
        code: 'state_unavailable',
      });

      const accepting = new RedisSafety({ client, unsafeAllowEviction: true });
      await accepting.ensure();
      expect(await accepting.health()).toMatchObject({ usable: true });
    } finally {
      await closeRedisClient(client);
    }
  });

  it('refuses issue times before the Redis started (plus the skew margin), and judges none when none is given', async () => {
    const client = createRedisClient({ url: redis.url });
    try {
      const now = Date.now();
      const safety = new RedisSafety({
        client,
        unsafeAllowEviction: true,
        clockSkewMs: 0,
        now: () => now,
      });
      await safety.ensure();
      const uptimeS = Number(/uptime_in_seconds:(\d+)/.exec(await client.info('server'))![1]);
      const startedS = now / 1000 - uptimeS;
      expect(() => safety.admits(startedS - 5)).toThrow(/restarted empty/);
      expect(() => safety.admits(Number.NaN)).toThrow(ToolcageError);
      expect(() => safety.admits(startedS + 1)).not.toThrow();
      expect(() => safety.admits(undefined)).not.toThrow();
    } finally {
      await closeRedisClient(client);
    }
  });
});
