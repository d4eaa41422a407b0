// Attack: present the same claim twice: in the same runner, and after the runner restarts (a restart
// must open no window for replay: the jti store is durable SQLite in the workspace).
import { expect, it } from 'vitest';
import { forge } from '../helpers/forge.ts';
import {
  execute,
  expectBenignSucceeds,
  expectRefusal,
  startRunner,
  useRunner,
} from '../helpers/runner.ts';

const s = useRunner();
const args = { text: 'a b' };
const MESSAGE =
  'This claim has already been used. Claims are single-use: mint a fresh claim for each call.';

it('refuses a claim used a second time with claim_replayed', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  await expect(execute(s.t, 'text.word_count', args, token)).resolves.toMatchObject({
    result: { words: 2 },
  });
  const e = await expectRefusal(
    execute(s.t, 'text.word_count', args, token),
    'claim_replayed',
    MESSAGE,
  );
  expect(e.status).toBe(409);
  await expectBenignSucceeds(s.t);
});

it('refuses a different token string that reuses a consumed (iss, jti): the store keys on the validated claim, not the token', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  await execute(s.t, 'text.word_count', args, token);
  // Same iss and jti, freshly signed: the store keys on the validated (iss, jti), not on the token string.
  const [, p] = token.split('.');
  const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
  const again = await forge(
    s.ws.brokerKey,
    { tool: 'text.word_count', args, scope: ['text:read'] },
    { jti: payload.jti, exp: (payload.exp as number) + 1 },
  );
  expect(again).not.toBe(token);
  await expectRefusal(execute(s.t, 'text.word_count', args, again), 'claim_replayed', MESSAGE);
  await expectBenignSucceeds(s.t);
});

it('refuses the claim after the runner is closed and started again on the same workspace', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  const first = await startRunner(s.ws);
  try {
    await execute(first, 'text.word_count', args, token);
  } finally {
    await first.close();
  }
  const second = await startRunner(s.ws);
  try {
    await expectRefusal(execute(second, 'text.word_count', args, token), 'claim_replayed', MESSAGE);
    await expectBenignSucceeds(second);
  } finally {
    await second.close();
  }
});

it('a replayed claim is not audited as allowed: one allowed line and one refused line for the jti', async () => {
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  await execute(s.t, 'text.word_count', args, token);
  await execute(s.t, 'text.word_count', args, token).catch(() => undefined);
  const jti = (
    JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }
  ).jti;
  expect(
    s.t.audit.events.filter((e) => e.jti === jti).map((e) => [e.outcome, e.errorCode ?? null]),
  ).toEqual([
    ['allowed', null],
    ['refused', 'claim_replayed'],
  ]);
});
