import { describe, it } from 'vitest';
import { dpopSetup, expectDpopInvalid } from './dpop-helpers.ts';

// Attack: a proof signed for a GET is used for the POST that runs a tool.
describe('DPoP: a proof for another method is refused', () => {
  const t = dpopSetup();

  it('refuses a proof whose htm is GET on a POST', async () => {
    const { key, claim } = await t.bound();
    expectDpopInvalid(
      await t.send(claim, await t.proof(key.privateJwk, claim, { htm: 'GET' })),
      /method GET, not POST/,
    );
  });
});
