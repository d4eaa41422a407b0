// Attack: Redis restarts without its data (no persistence, or a failover to an empty replica). Every
// consumed claim id is forgotten, so a claim already used runs again if presented before it
// expires. The runner notices that the Redis it talks to is another one (INFO run_id changed; its
// uptime says since when) and refuses every claim issued before that moment (claim_state_lost),
// since it cannot tell whether such a claim was used. Claims issued afterwards work as before.
// A private redis-server on a free port: the shared 6379 server is never touched.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  invoke,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  waitReady,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';
import { startRedisServer, type RedisServer } from '../replicas/helpers.ts';

let redis: RedisServer;
let ws: Workspace;
let runner: RunningRunner;
let broker: BrokerRuntime;

beforeAll(async () => {
  redis = await startRedisServer();
  ws = await makeWorkspace({
    state: { stores: 'redis', redis: { url: redis.url, keyPrefix: 'restart-empty' } },
  });
  // Claims issued in the first second or so of a Redis's life are refused too (whole-second
  // clocks): start minting only after that.
  await new Promise((r) => setTimeout(r, 2_500));
  runner = await startRunner(ws);
  broker = await openBroker(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.close();
  await redis?.kill();
  ws?.cleanup();
});

const outcome = (r: { status: number; body: any }) => ({
  status: r.status,
  code: r.body?.error?.code as string | undefined,
});

it('refuses a used claim replayed after Redis came back empty, and every claim issued before it', async () => {
  const used = { text: 'used before the restart' };
  const unused = { text: 'minted before the restart' };
  const usedClaim = (await mint(broker, 'text.word_count', used)).claim;
  const unusedClaim = (await mint(broker, 'text.word_count', unused)).claim;
  expect((await invoke(runner.url, 'text.word_count', used, usedClaim)).status).toBe(200);
  expect(outcome(await invoke(runner.url, 'text.word_count', used, usedClaim))).toEqual({
    status: 409,
    code: 'claim_replayed',
  });

  await redis.kill();
  await redis.restart(); // same port, empty
  await waitReady(runner.url, 15_000);

  const replay = await invoke(runner.url, 'text.word_count', used, usedClaim);
  expect(outcome(replay)).toEqual({ status: 401, code: 'claim_state_lost' });
  expect(replay.body.error.message).toMatch(/restarted empty .* Ask the broker for a new claim/);
  expect(outcome(await invoke(runner.url, 'text.word_count', unused, unusedClaim))).toEqual({
    status: 401,
    code: 'claim_state_lost',
  });
  const audit = runner.audit.events.filter((e) => e.errorCode === 'claim_state_lost');
  expect(audit).toHaveLength(2);

  // A claim issued after the restart (past the clock margin) runs once, and only once.
  await new Promise((r) => setTimeout(r, 2_200));
  const fresh = { text: 'minted after the restart' };
  const freshClaim = (await mint(broker, 'text.word_count', fresh)).claim;
  expect((await invoke(runner.url, 'text.word_count', fresh, freshClaim)).status).toBe(200);
  expect(outcome(await invoke(runner.url, 'text.word_count', fresh, freshClaim))).toEqual({
    status: 409,
    code: 'claim_replayed',
  });
});
