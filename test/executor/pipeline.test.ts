// The executor's pipeline order and its guarantees, on the real runtime: a missing claim, the jti spent
// by any verified claim (even one then refused), exactly one audit line per call, a closed runner.
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import {
  execute,
  expectBenignSucceeds,
  expectRefusal,
  startRunner,
  useRunner,
} from '../helpers/runner.ts';
import { pinnedIds } from '../helpers/workspace.ts';

const s = useRunner();
const args = { text: 'a b' };

it('refuses a call without a claim with claim_missing (401) and the catalogue message', async () => {
  const e = await expectRefusal(
    execute(s.t, 'text.word_count', args, undefined),
    'claim_missing',
    'No claim was presented. Ask the broker for a claim for this tool and these arguments, and send it as a Bearer token.',
  );
  expect(e.status).toBe(401);
  await expectBenignSucceeds(s.t);
});

it('resolves the tool before the claim: an unknown tool is tool_not_allowed even without a claim', async () => {
  await expectRefusal(
    execute(s.t, 'nope.tool', args, undefined),
    'tool_not_allowed',
    /not in the registry allowlist/,
  );
});

it('a verified claim is spent even when the call is then refused (no retry with the same claim after a mismatch)', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  await expectRefusal(
    execute(s.t, 'text.word_count', { text: 'other' }, token),
    'args_mismatch',
    /do not match the args_hash/,
  );
  await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_replayed',
    /already been used/,
  );
});

it('returns the result and an invocation id, and audits the same invocation id', async () => {
  const out = await s.t.benign('four words right here');
  expect(out).toEqual({
    result: { words: 4, lines: 1, characters: 21 },
    invocationId: expect.stringMatching(/^inv_[0-9a-f-]{36}$/),
  });
  expect(s.t.audit.events.at(-1)).toMatchObject({
    invocationId: out.invocationId,
    outcome: 'allowed',
  });
});

it('writes exactly one audit line per call, allowed or refused', async () => {
  const before = s.t.audit.events.length;
  await s.t.benign();
  await execute(s.t, 'text.word_count', args, 'garbage').catch(() => undefined);
  await execute(s.t, 'text.word_count', args, undefined).catch(() => undefined);
  expect(s.t.audit.events.length - before).toBe(3);
});

it('lists only the pinned tools with their public summary', () => {
  const tools = s.t.runner.executor.listTools();
  expect(tools.map((t) => t.id).sort()).toEqual(pinnedIds(s.ws));
  expect(tools.map((t) => t.id)).toEqual(
    expect.arrayContaining(['data.json_query', 'repo.apply_patch', 'text.word_count']),
  );
  expect(tools.find((t) => t.id === 'repo.apply_patch')).toMatchObject({
    risk: 'high',
    runtime: 'js',
    scopes: ['repo:write'],
    version: '1.0.0',
  });
});

it('a closed runner refuses calls with sandbox_unavailable, and reports not ready', async () => {
  const t = await startRunner(s.ws);
  await t.close();
  await expectRefusal(
    t.benign(),
    'sandbox_unavailable',
    'The runner is shutting down; retry on another replica.',
  );
  expect((await t.runner.executor.readiness()).ready).toBe(false);
});
