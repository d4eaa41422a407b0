import { describe, expect, it } from 'vitest';
import { dpopSetup, expectDpopInvalid } from './dpop-helpers.ts';
import { mint } from '../http/helpers.ts';
import { TOOL, ARGS } from './dpop-helpers.ts';

// Attack: one captured proof (same jti) reused with a second claim bound to the same key.
describe('DPoP: a replayed proof is refused', () => {
  const t = dpopSetup();

  it('refuses the second use of a proof jti, even with a fresh claim', async () => {
    const { key, claim } = await t.bound();
    const jti = crypto.randomUUID();
    expect((await t.send(claim, await t.proof(key.privateJwk, claim, { jti }))).status).toBe(200);
    const { claim: second } = await mint(t.ctx.broker, TOOL, ARGS, { dpopJkt: key.jkt });
    expectDpopInvalid(
      await t.send(second, await t.proof(key.privateJwk, second, { jti })),
      /already used/,
    );
  });

  it('refuses a proof made for another claim (ath mismatch)', async () => {
    const { key, claim } = await t.bound();
    const { claim: other } = await mint(t.ctx.broker, TOOL, ARGS, { dpopJkt: key.jkt });
    expectDpopInvalid(
      await t.send(claim, await t.proof(key.privateJwk, claim, { accessToken: other })),
      /ath/,
    );
  });
});
