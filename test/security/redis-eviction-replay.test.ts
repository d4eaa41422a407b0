// Attack: the runners share a Redis whose maxmemory-policy evicts keys (allkeys-lru here; managed
// defaults such as volatile-lru evict every key with an expiry, which is every consumed claim id).
// Under memory pressure a consumed claim's key is evicted and the same claim runs again. The runner
// checks the policy at start, on reconnect and on every readiness probe, and refuses to serve
// (readiness false, every call state_unavailable, a message naming the fix) unless it is
// noeviction, or the operator accepted the risk with state.redis.unsafeAllowEviction.
// A private redis-server on a free port: the shared 6379 server is never reconfigured.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { MemoryAuditSink } from '../../src/audit/audit.ts';
import { createRunnerService, type RunnerService } from '../../src/runtime/runner-service.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  invoke,
  makeWorkspace,
  memoryLogger,
  mint,
  openBroker,
  waitReady,
  type Workspace,
} from '../http/helpers.ts';
import { startRedisServer, type RedisServer } from '../replicas/helpers.ts';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedisServer({ args: ['--maxmemory-policy', 'allkeys-lru'] });
});
afterAll(async () => {
  await redis?.kill();
});

async function serve(unsafeAllowEviction: boolean) {
  const ws = await makeWorkspace({
    state: {
      stores: 'redis',
      redis: {
        url: redis.url,
        keyPrefix: `evict-${String(unsafeAllowEviction)}`,
        unsafeAllowEviction,
      },
    },
  });
  const service = await createRunnerService(ws.loaded, {
    audit: new MemoryAuditSink(),
    logger: memoryLogger().logger,
    backends: ['js'],
  });
  const url = await service.listen({ host: '127.0.0.1', port: 0 });
  return { ws, service, url };
}

async function readyz(url: string) {
  const r = await fetch(`${url}/readyz`);
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}

describe('a runner on a Redis whose maxmemory-policy evicts', () => {
  let ws: Workspace;
  let service: RunnerService;
  let url: string;
  let broker: BrokerRuntime;
  beforeAll(async () => {
    ({ ws, service, url } = await serve(false));
    broker = await openBroker(ws);
  });
  afterAll(async () => {
    await service?.shutdown(1_000);
    await broker?.close();
    ws?.cleanup();
  });

  it('is not ready, and says which policy and how to fix it', async () => {
    // Give the JS worker time to come up, so only the store can be what is not ready.
    await new Promise((r) => setTimeout(r, 1_500));
    const r = await readyz(url);
    expect(r.status).toBe(503);
    expect(r.body).toMatchObject({
      ready: false,
      storesHealth: { usable: false },
      error: { code: 'state_unavailable' },
    });
    expect(r.body.error.message).toMatch(/maxmemory-policy is "allkeys-lru"/);
    expect(r.body.error.message).toMatch(/noeviction/);
    expect(r.body.error.message).toMatch(/unsafeAllowEviction/);
  });

  it('refuses every call with state_unavailable and runs nothing', async () => {
    const args = { text: 'evictable claim' };
    const { claim } = await mint(broker, 'text.word_count', args);
    const r = await invoke(url, 'text.word_count', args, claim);
    expect({ status: r.status, code: r.body.error?.code }).toEqual({
      status: 503,
      code: 'state_unavailable',
    });
    expect(r.body.error.message).toMatch(
      /refuses to serve: Redis maxmemory-policy is "allkeys-lru"/,
    );
  });

  it('serves again once the operator sets noeviction (checked on the next probe)', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.config('SET', 'maxmemory-policy', 'noeviction');
      await waitReady(url, 10_000);
      const args = { text: 'after the fix' };
      const { claim } = await mint(broker, 'text.word_count', args);
      expect((await invoke(url, 'text.word_count', args, claim)).status).toBe(200);
      await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
      const r = await readyz(url);
      expect(r.status).toBe(503);
      expect(r.body.error.message).toMatch(/maxmemory-policy is "volatile-lru"/);
    } finally {
      await admin.config('SET', 'maxmemory-policy', 'allkeys-lru').catch(() => undefined);
      admin.disconnect();
    }
  });
});

describe('with state.redis.unsafeAllowEviction: true', () => {
  it('serves, and readiness says the risk out loud', async () => {
    const { ws, service, url } = await serve(true);
    const broker = await openBroker(ws);
    try {
      await waitReady(url, 10_000);
      const r = await readyz(url);
      expect(r.body.storesHealth.detail).toMatch(/allkeys-lru \(unsafeAllowEviction/);
      const args = { text: 'accepted risk' };
      const { claim } = await mint(broker, 'text.word_count', args);
      expect((await invoke(url, 'text.word_count', args, claim)).status).toBe(200);
    } finally {
      await service.shutdown(1_000);
      await broker.close();
      ws.cleanup();
    }
  });
});
