import { describe, it } from 'vitest';
import { dpopSetup, expectDpopInvalid, newKey } from './dpop-helpers.ts';

// Attack: a thief holding a bound claim signs proofs with their own key.
describe('DPoP: a proof by another key is refused', () => {
  const t = dpopSetup();

  it('refuses a proof whose jwk thumbprint is not the claim cnf.jkt', async () => {
    const { claim } = await t.bound();
    const thief = await newKey();
    expectDpopInvalid(await t.send(claim, await t.proof(thief.privateJwk, claim)), /different key/);
  });

  it('refuses a proof whose jwk header carries the private key', async () => {
    const { key, claim } = await t.bound();
    const { SignJWT, importJWK } = await import('jose');
    const proof = await new SignJWT({
      htm: 'POST',
      htu: t.ctx.htu,
      ath: (await import('../../src/claims/dpop.ts')).accessTokenHash(claim),
    })
      .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.privateJwk })
      .setIssuedAt()
      .setJti(crypto.randomUUID())
      .sign(await importJWK(key.privateJwk, 'ES256'));
    expectDpopInvalid(await t.send(claim, proof), /private key material/);
  });
});
