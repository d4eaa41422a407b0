import { describe, expect, it } from 'vitest';
import { dpopSetup, newKey, TOOL, ARGS } from './dpop-helpers.ts';
import { createDpopProof } from '../../src/claims/dpop.ts';
import { mint } from '../http/helpers.ts';

// Positive control for the dpop-* attacks: a bound claim with a correct proof runs.
describe('DPoP: a valid proof passes', () => {
  const t = dpopSetup();

  it('runs a claim bound to an ES256 key with a proof for this method, URL, claim and time', async () => {
    const { key, claim } = await t.bound();
    const r = await t.send(claim, await t.proof(key.privateJwk, claim));
    expect(r.status).toBe(200);
    expect(r.body.result.words).toBe(4);
  });

  it('runs with an EdDSA key, and normalises the htu scheme and host case and ignores its query', async () => {
    const key = await newKey('EdDSA');
    const { claim } = await mint(t.ctx.broker, TOOL, ARGS, { dpopJkt: key.jkt });
    const htu = `${t.ctx.htu.replace('http://', 'HTTP://')}?ignored=1`;
    const r = await t.send(
      claim,
      await createDpopProof({ privateJwk: key.privateJwk, htm: 'POST', htu, accessToken: claim }),
    );
    expect(r.status).toBe(200);
  });
});
