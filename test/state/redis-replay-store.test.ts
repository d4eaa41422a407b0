import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedisClient, type RedisClient } from '../../src/state/redis/client.ts';
import { RedisOnceStore } from '../../src/state/redis/once-store.ts';
import { RedisReplayStore } from '../../src/state/redis/replay-store.ts';
import { deleteKeys, keysUnder, testClient, uniquePrefix } from './redis-helpers.ts';

const prefix = uniquePrefix();
let clients: RedisClient[] = [];

beforeAll(() => {
  clients = [testClient(), testClient()];
});

afterAll(async () => {
  await deleteKeys(clients[0]!, prefix);
  await Promise.all(clients.map((c) => closeRedisClient(c)));
});

describe('RedisReplayStore (real redis-server)', () => {
  it('200 concurrent consumes of one jti over two connections: exactly one true', async () => {
    const stores = clients.map((client) => new RedisReplayStore({ client, prefix }));
    const exp = Date.now() + 60_000;
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        stores[i % 2]!.consume({ iss: 'https://broker', jti: 'race-1' }, exp),
      ),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('keys on (iss, jti): the same jti from another issuer is another claim', async () => {
    const store = new RedisReplayStore({ client: clients[0]!, prefix });
    const exp = Date.now() + 60_000;
    expect(await store.consume({ iss: 'a', jti: 'j' }, exp)).toBe(true);
    expect(await store.consume({ iss: 'b', jti: 'j' }, exp)).toBe(true);
    expect(await store.consume({ iss: 'a', jti: 'j' }, exp)).toBe(false);
    // No concatenation ambiguity: ("a:b", "c") is not ("a", "b:c").
    expect(await store.consume({ iss: 'x:y', jti: 'z' }, exp)).toBe(true);
    expect(await store.consume({ iss: 'x', jti: 'y:z' }, exp)).toBe(true);
  });

  it('remembers the jti until expiresAtMs and no longer (the key carries that expiry, and no claim id)', async () => {
    const client = clients[0]!;
    const store = new RedisReplayStore({ client, prefix: `${prefix}ttl:` });
    const exp = Date.now() + 30_000;
    await store.consume({ iss: 'a', jti: 'secret-jti' }, exp);
    const [key] = await keysUnder(client, `${prefix}ttl:`);
    expect(key).toMatch(/^toolcage-test-.*:ttl:replay:[A-Za-z0-9_-]{43}$/);
    expect(key).not.toContain('secret-jti');
    const pexpireTime = await client.pexpiretime(key!);
    expect(pexpireTime).toBe(exp);

    const shortLived = new RedisReplayStore({ client, prefix: `${prefix}short:` });
    expect(await shortLived.consume({ iss: 'a', jti: 'short' }, Date.now() + 1100)).toBe(true);
    expect(await shortLived.consume({ iss: 'a', jti: 'short' }, Date.now() + 1100)).toBe(false);
    await new Promise((r) => setTimeout(r, 1300));
    expect(await shortLived.consume({ iss: 'a', jti: 'short' }, Date.now() + 1100)).toBe(true);
  });

  it('kind is redis; close leaves a shared client open', async () => {
    const store = new RedisReplayStore({ client: clients[0]!, prefix });
    expect(store.kind).toBe('redis');
    await store.close();
    expect(await clients[0]!.ping()).toBe('PONG');
  });
});

describe('RedisOnceStore.consumeOnce', () => {
  it('200 concurrent consumes of one key over two connections: exactly one true; the key expires', async () => {
    const stores = clients.map((client) => new RedisOnceStore({ client, prefix }));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => stores[i % 2]!.consumeOnce('approval:ap-1', 60_000)),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    const ttl = await clients[0]!.pttl(`${prefix}once:approval:ap-1`);
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('refuses misuse with a TypeError', async () => {
    const store = new RedisOnceStore({ client: clients[0]!, prefix });
    await expect(store.consumeOnce('', 1000)).rejects.toThrow(TypeError);
    await expect(store.consumeOnce('k', 0)).rejects.toThrow(/ttlMs/);
  });
});
