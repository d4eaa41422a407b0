import { describe, it } from 'vitest';
import { dpopSetup, expectDpopInvalid } from './dpop-helpers.ts';

// Attack: a proof captured for one endpoint is presented at another.
describe('DPoP: a proof for another URL is refused', () => {
  const t = dpopSetup();

  it('refuses a proof whose htu names another tool', async () => {
    const { key, claim } = await t.bound();
    const htu = t.ctx.htu.replace('text.word_count', 'data.json_query');
    expectDpopInvalid(
      await t.send(claim, await t.proof(key.privateJwk, claim, { htu })),
      /another URL/,
    );
  });

  it('refuses a proof whose htu names another host', async () => {
    const { key, claim } = await t.bound();
    const htu = t.ctx.htu.replace('127.0.0.1', 'runner.example.com');
    expectDpopInvalid(
      await t.send(claim, await t.proof(key.privateJwk, claim, { htu })),
      /another URL/,
    );
  });
});
