import { describe, expect, it } from 'vitest';
import { dpopSetup, expectDpopInvalid } from './dpop-helpers.ts';
import { invoke } from '../http/helpers.ts';

// Attack: a stolen bound claim replayed as a plain bearer token, without any proof.
describe('DPoP: a bound claim without a proof is refused', () => {
  const t = dpopSetup();

  it('refuses a cnf.jkt claim sent with no DPoP header, without burning the claim', async () => {
    const { key, claim } = await t.bound();
    expectDpopInvalid(await t.send(claim), /DPoP proof/);
    // The refusal did not consume the claim: its owner can still use it.
    expect((await t.send(claim, await t.proof(key.privateJwk, claim))).status).toBe(200);
  });

  it('refuses an empty DPoP header', async () => {
    const { claim } = await t.bound();
    expectDpopInvalid(
      await invoke(t.ctx.runner.url, 'text.word_count', { text: 'bound to a key' }, claim, {
        dpop: '',
      }),
      /DPoP/,
    );
  });
});
