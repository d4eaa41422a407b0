import { afterAll, describe, expect, it } from 'vitest';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { Governors } from '../../src/governors/governors.ts';
import {
  closeRedisClient,
  createRedisClient,
  pingRedis,
  type RedisClient,
} from '../../src/state/redis/client.ts';
import { createRedisGovernorStores } from '../../src/state/redis/governor-stores.ts';
import { RedisOnceStore } from '../../src/state/redis/once-store.ts';
import { RedisReplayStore } from '../../src/state/redis/replay-store.ts';
import { freePort, RedisServerProcess, waitFor } from './redis-helpers.ts';

/** Every store method on one client, each resolving to a value when Redis answers. */
function everyStoreCall(client: RedisClient): Record<string, () => Promise<unknown>> {
  const gov = createRedisGovernorStores({ client });
  const replay = new RedisReplayStore({ client });
  const once = new RedisOnceStore({ client });
  const governors = new Governors({ stores: gov });
  let n = 0;
  return {
    'replay.consume': () =>
      replay.consume({ iss: 'i', jti: `outage-${Date.now()}-${n++}` }, Date.now() + 10_000),
    'once.consumeOnce': () => once.consumeOnce(`outage-${Date.now()}-${n++}`, 10_000),
    'rate.take': () =>
      gov.rate.take('{t}:rate:tenant', { capacity: 1000, refillPerSecond: 1000 }, Date.now()),
    'spend.charge': () => gov.spend.charge('{t}:spend', 1, 1_000_000, 60, Date.now()),
    'loop.hit': () => gov.loop.hit(`{t}:loop:${n++}`, 10, 60, Date.now()),
    'governors.check': () =>
      governors.check({
        principal: 'p',
        tenant: 't',
        toolId: 'x.y',
        argsHash: `sha256:${n++}`,
        cost: 1,
      }),
    pingRedis: () => pingRedis(client),
  };
}

async function expectStateUnavailable(
  call: () => Promise<unknown>,
  withinMs: number,
): Promise<void> {
  const started = Date.now();
  const err = await call().then(
    () => new Error('the call succeeded without its shared state'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ToolcageError);
  expect((err as ToolcageError).code).toBe('state_unavailable');
  expect((err as ToolcageError).status).toBe(503);
  expect((err as ToolcageError).message).toMatch(/fails closed/);
  expect(Date.now() - started).toBeLessThan(withinMs);
}

const toClose: RedisClient[] = [];
const servers: RedisServerProcess[] = [];

afterAll(async () => {
  await Promise.all(toClose.map((c) => closeRedisClient(c)));
  await Promise.all(servers.map((s) => s.stop()));
});

describe('Redis unreachable: every store fails closed with state_unavailable', () => {
  it('a client pointed at a loopback port nothing listens on refuses every call, quickly', async () => {
    const client = createRedisClient({ url: `redis://127.0.0.1:${await freePort()}` });
    toClose.push(client);
    for (const [name, call] of Object.entries(everyStoreCall(client))) {
      await expectStateUnavailable(call, 1500).catch((err: unknown) => {
        throw new Error(`${name}: ${String(err)}`);
      });
    }
    // Still refused later, while it keeps trying to reconnect.
    await new Promise((r) => setTimeout(r, 300));
    for (const call of Object.values(everyStoreCall(client)))
      await expectStateUnavailable(call, 1500);
  });

  it('redis-server stopped mid-test: calls get state_unavailable; restarted on the same port: calls succeed again, by themselves', async () => {
    const server = new RedisServerProcess(await freePort());
    servers.push(server);
    await server.start();
    const client = createRedisClient({ url: server.url, maxReconnectDelayMs: 200 });
    toClose.push(client);
    const calls = everyStoreCall(client);
    for (const call of Object.values(calls)) await call();

    // A stream of calls across the outage: each one succeeds or is state_unavailable, nothing else.
    const outcomes: string[] = [];
    let streaming = true;
    const stream = (async () => {
      while (streaming) {
        outcomes.push(
          await calls['governors.check']!().then(
            () => 'ok',
            (e: unknown) => (e instanceof ToolcageError ? e.code : String(e)),
          ),
        );
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await new Promise((r) => setTimeout(r, 100));
    await server.stop();
    await waitFor(async () => outcomes.at(-1) === 'state_unavailable', 3000, 'the outage to show');
    for (const [name, call] of Object.entries(calls)) {
      await expectStateUnavailable(call, 1500).catch((err: unknown) => {
        throw new Error(`${name}: ${String(err)}`);
      });
    }

    await server.start();
    await waitFor(
      async () =>
        (await calls.pingRedis!().then(
          () => true,
          () => false,
        )) === true,
      5000,
      'the client to reconnect',
    );
    for (const call of Object.values(calls)) await call();
    await waitFor(async () => outcomes.at(-1) === 'ok', 3000, 'the stream to recover');
    streaming = false;
    await stream;
    expect(new Set(outcomes)).toEqual(new Set(['ok', 'state_unavailable']));
  });

  it('a Redis that stops answering (clients paused) is a state_unavailable within the command timeout', async () => {
    const server = new RedisServerProcess(await freePort());
    servers.push(server);
    await server.start();
    const admin = createRedisClient({ url: server.url });
    const client = createRedisClient({ url: server.url, commandTimeoutMs: 300 });
    toClose.push(admin, client);
    const calls = everyStoreCall(client);
    await calls['replay.consume']!();
    await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
    await expectStateUnavailable(calls['replay.consume']!, 1000);
    await expectStateUnavailable(calls['governors.check']!, 1000);
    await waitFor(
      async () => (await calls['replay.consume']!()) === true,
      5000,
      'the pause to end',
    );
  });
});

describe('createRedisClient', () => {
  it.each([
    [{ url: 'http://127.0.0.1:6379' }, /redis:\/\/ or rediss:\/\//],
    [{ url: 'redis://127.0.0.1:6379', commandTimeoutMs: 0 }, /commandTimeoutMs/],
    [{ url: 'redis://127.0.0.1:6379', connectTimeoutMs: -5 }, /connectTimeoutMs/],
    [{ url: 'redis://127.0.0.1:6379', db: -1 }, /db/],
  ])('refuses %j with a TypeError', (options, message) => {
    expect(() => createRedisClient(options)).toThrow(message);
  });

  it('does not echo a URL with credentials in its error', () => {
    expect(() => createRedisClient({ url: 'https://user:hunter2@example' })).toThrow(
      /^(?!.*hunter2)/s,
    );
  });
});
