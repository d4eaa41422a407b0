// With Redis stores the runner consumes the jti and decides the governors in one Lua script
// (one round trip). The observable behaviour must be exactly that of the two steps in a row:
// replay first, then the binding, then the governors; a replayed claim charges nothing; a claim
// refused for its binding is still spent.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { argsHash } from '../../src/util/hash.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';
import { expectRefusal, requestId, startRunner, type TestRunner } from '../helpers/runner.ts';
import { deleteKeys, testClient, uniquePrefix } from './redis-helpers.ts';

const prefix = uniquePrefix();
const client = testClient();
let ws: Workspace;
let t: TestRunner;

beforeAll(async () => {
  ws = await makeWorkspace({
    config: (text) =>
      `${text.replace(/state:\n(?: {2}.*\n)+/, '')}state:\n  stores: redis\n  redis: { url: redis://127.0.0.1:6379, keyPrefix: "${prefix.slice(0, -1)}" }\n` +
      `governors:\n  spend: { budget: 4, windowSeconds: 3600 }\n  loopGuard: { enabled: false }\n`,
  });
  t = await startRunner(ws);
}, 60_000);

afterAll(async () => {
  await t?.close();
  ws?.cleanup();
  await deleteKeys(client, prefix);
  client.disconnect();
});

const call = (args: unknown, claim: string) =>
  t.runner.executor.execute({ toolId: 'text.word_count', args, claim, requestId: requestId() });
const claimFor = (args: unknown) =>
  forge(ws.brokerKey, { tool: 'text.word_count', args, scope: ['text:read'] });

describe('one-step admission on Redis', () => {
  it('uses the admission step (one script for jti + governors)', async () => {
    expect(t.runner.stores.admission).toBeDefined();
    const admit = vi.spyOn(t.runner.stores.admission!, 'admit');
    const consume = vi.spyOn(t.runner.stores.replay, 'consume');
    const args = { text: 'one round trip' };
    await expect(call(args, await claimFor(args))).resolves.toMatchObject({ result: { words: 3 } });
    expect(admit).toHaveBeenCalledTimes(1);
    expect(consume).not.toHaveBeenCalled(); // the two-step path was not taken
    admit.mockRestore();
    consume.mockRestore();
  });

  it('a replayed claim is claim_replayed, takes precedence over a binding refusal, and charges nothing', async () => {
    const args = { text: 'spend me once' };
    const claim = await claimFor(args);
    await call(args, claim); // spend: 3 of 4 (the warm-up call, the first test, this one)
    await expectRefusal(call(args, claim), 'claim_replayed', /already been used/);
    await expectRefusal(call({ text: 'other' }, claim), 'claim_replayed', /already been used/);
    // The budget of 4 still has one unit: the replays charged nothing.
    const last = { text: 'the last unit' };
    await expect(call(last, await claimFor(last))).resolves.toBeDefined();
    const over = { text: 'over budget' };
    await expectRefusal(
      call(over, await claimFor(over)),
      'quota_exceeded',
      /spend cap is reached: 4 of 4/,
    );
  });

  it('a claim refused for its binding is still spent', async () => {
    const args = { text: 'bound' };
    const claim = await claimFor(args);
    await expectRefusal(
      call({ text: 'tampered' }, claim),
      'args_mismatch',
      /do not match the args_hash/,
    );
    await expectRefusal(call(args, claim), 'claim_replayed', /already been used/);
    expect(argsHash(args)).toMatch(/^sha256:/);
  });
});
