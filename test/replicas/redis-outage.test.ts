// Redis dies under two running replicas, then comes back. While it is gone every call is refused with
// state_unavailable (503): nothing runs without replay protection and governors, and nothing falls back
// to per-replica memory. When it is back, the same processes serve again without a restart.
// A private redis-server on a free port: the shared 6379 server is never stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  call,
  getJson,
  invoke,
  mint,
  openBroker,
  outcome,
  replicaWorkspace,
  sleep,
  startRedisServer,
  startReplica,
  uniquePrefix,
  type HttpResult,
  type RedisServer,
  type Replica,
  type Workspace,
} from './helpers.ts';

let redis: RedisServer;
let ws: Workspace;
let broker: BrokerRuntime;
let a: Replica;
let b: Replica;

beforeAll(async () => {
  redis = await startRedisServer();
  ws = await replicaWorkspace({ url: redis.url, keyPrefix: uniquePrefix('redis-outage') });
  broker = await openBroker(ws);
  [a, b] = await Promise.all([startReplica(ws, 'A'), startReplica(ws, 'B')]);
});

afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
  await broker?.close();
  // The private server holds only this file's keys and no persistence: killing it cleans up.
  await redis?.kill();
  ws?.cleanup();
});

let seq = 0;
const text = () => ({ text: `outage call ${seq++}` });

async function waitFor(
  check: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function expectStateUnavailable(r: HttpResult): void {
  expect(outcome(r)).toEqual({ status: 503, code: 'state_unavailable' });
  expect(r.body.error.message).toMatch(/fails closed and ran nothing/);
  expect(r.body.error.message).not.toContain(redis.url);
  expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
}

describe('Redis stopped and restarted under two replicas', () => {
  it('serves on both replicas while Redis is up', async () => {
    for (const r of [a, b])
      expect((await call(r.url, broker, 'text.word_count', text())).status).toBe(200);
  });

  it('Redis killed mid-traffic: every call is either served before or refused with state_unavailable, none otherwise', async () => {
    // A steady stream of calls on both replicas, with Redis killed in the middle of it.
    let stop = false;
    const stream = async (r: Replica): Promise<HttpResult[]> => {
      const replies: HttpResult[] = [];
      while (!stop) replies.push(await call(r.url, broker, 'text.word_count', text()));
      return replies;
    };
    const streams = [stream(a), stream(b)];
    await sleep(300);
    await redis.kill();
    await sleep(700);
    stop = true;
    for (const replies of await Promise.all(streams)) {
      const kinds = replies.map((r) => `${r.status} ${r.body?.error?.code ?? 'ok'}`);
      expect(kinds[0]).toBe('200 ok');
      expect(kinds.at(-1)).toBe('503 state_unavailable');
      // One switch from served to refused: once refused, never served again while Redis is down.
      const firstRefusal = kinds.indexOf('503 state_unavailable');
      expect(kinds.slice(0, firstRefusal).every((k) => k === '200 ok')).toBe(true);
      expect(kinds.slice(firstRefusal).every((k) => k === '503 state_unavailable')).toBe(true);
    }
  });

  it('while Redis is down, fresh claims on either replica get state_unavailable (503) and nothing runs', async () => {
    for (const r of [a, b, a, b])
      expectStateUnavailable(await call(r.url, broker, 'text.word_count', text()));
  });

  it('while Redis is down, /readyz is 503 state_unavailable naming the redis store on both replicas', async () => {
    for (const r of [a, b]) {
      const ready = await getJson(r.url, '/readyz');
      expect(ready.status).toBe(503);
      expect(ready.body).toMatchObject({
        ready: false,
        stores: 'redis',
        storesHealth: { usable: false },
        backends: { js: { usable: true } },
        error: { code: 'state_unavailable' },
      });
      expect(ready.body.error.message).toMatch(/redis state store is unreachable/);
    }
  });

  it('after Redis restarts, the same processes serve again by themselves, with replay protection back', async () => {
    const before = text();
    const { claim: beforeClaim } = await mint(broker, 'text.word_count', before);
    await redis.restart();
    const restartedAt = Date.now();
    for (const r of [a, b])
      await waitFor(
        async () => (await getJson(r.url, '/readyz')).status === 200,
        10_000,
        `${r.name} ready again`,
      );
    expect([a.child.exitCode, b.child.exitCode]).toEqual([null, null]);
    // The restarted Redis forgot every consumed claim id: a claim issued before it came back is
    // refused (src/state/redis/safety.ts), and so are claims issued in its first second or so.
    expect(outcome(await invoke(a.url, 'text.word_count', before, beforeClaim))).toEqual({
      status: 401,
      code: 'claim_state_lost',
    });
    await sleep(Math.max(0, restartedAt + 2_200 - Date.now()));
    for (const r of [a, b]) {
      const ready = await getJson(r.url, '/readyz');
      expect(ready.body).toMatchObject({
        ready: true,
        stores: 'redis',
        storesHealth: { usable: true },
      });
      expect((await call(r.url, broker, 'text.word_count', text())).status).toBe(200);
    }
    // The restarted Redis is empty; its Lua scripts are loaded again on first use and a replay is still refused across replicas.
    const args = text();
    const { claim } = await mint(broker, 'text.word_count', args);
    expect((await invoke(b.url, 'text.word_count', args, claim)).status).toBe(200);
    expect(outcome(await invoke(a.url, 'text.word_count', args, claim))).toEqual({
      status: 409,
      code: 'claim_replayed',
    });
  });
});
