import { describe, it } from 'vitest';
import { dpopSetup, expectDpopInvalid } from './dpop-helpers.ts';

// Attack: a proof captured earlier is presented after the acceptance window (60 s + 5 s tolerance).
describe('DPoP: a proof that is too old (or from the future) is refused', () => {
  const t = dpopSetup();

  it('refuses a proof whose iat is 120 s old', async () => {
    const { key, claim } = await t.bound();
    expectDpopInvalid(
      await t.send(
        claim,
        await t.proof(key.privateJwk, claim, { iat: Math.floor(Date.now() / 1000) - 120 }),
      ),
      /too old/,
    );
  });

  it('refuses a proof whose iat is 120 s in the future', async () => {
    const { key, claim } = await t.bound();
    expectDpopInvalid(
      await t.send(
        claim,
        await t.proof(key.privateJwk, claim, { iat: Math.floor(Date.now() / 1000) + 120 }),
      ),
      /future/,
    );
  });
});
