// The cache of identity-token verifications: a token verified once is not checked against its
// signature again while it holds, the cache stays within its bound, failures are never kept, and
// a caller cannot change what the next request is handed. Its security properties (expiry,
// tampering, key rotation) are proven at the MCP edge, in
// test/security/mcp-cached-bearer-token-expired-tampered-or-key-dropped.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CachedTokenVerifier } from '../../src/identity/token-cache.ts';
import { IdentityVerifier } from '../../src/identity/verifier.ts';
import type { VerifiedToken } from '../../src/identity/principal.ts';
import { createIdp, createWorkspace, type TestIdp, type Workspace } from '../mcp/helpers.ts';

const AUD = 'http://127.0.0.1:1/mcp';

/** The real verifier, counting the verifications it performs. */
class CountingVerifier extends IdentityVerifier {
  calls = 0;
  override async verifyToken(token: string): Promise<VerifiedToken> {
    this.calls++;
    return super.verifyToken(token);
  }
}

let ws: Workspace;
let idp: TestIdp;
beforeAll(async () => {
  ws = await createWorkspace();
  idp = await createIdp(ws.dir);
});
afterAll(() => ws?.cleanup());

function counting(now?: () => number): CountingVerifier {
  return new CountingVerifier({
    defaultTenant: 'default',
    tokens: { issuer: idp.issuer, audience: AUD, keys: { jwksFile: idp.jwksFile } },
    ...(now ? { now } : {}),
  });
}

describe('CachedTokenVerifier', () => {
  it('verifies a token once while it holds, and gives the same principal every time', async () => {
    const verifier = counting();
    const cache = new CachedTokenVerifier({ verifier });
    const token = await idp.token({ sub: 'alice', roles: ['admin'], aud: AUD });
    const first = await cache.verifyToken(token);
    const second = await cache.verifyToken(token);
    expect(verifier.calls).toBe(1);
    expect(second).toEqual(first);
    expect(second.principal).toMatchObject({ subject: 'alice', roles: ['admin'] });
  });

  it('hands each caller its own copy', async () => {
    const cache = new CachedTokenVerifier({ verifier: counting() });
    const token = await idp.token({ sub: 'alice', roles: ['viewer'], aud: AUD });
    (await cache.verifyToken(token)).principal.roles.push('admin');
    const again = await cache.verifyToken(token);
    (again.principal as { subject: string }).subject = 'mallory';
    expect((await cache.verifyToken(token)).principal).toMatchObject({
      subject: 'alice',
      roles: ['viewer'],
    });
  });

  it('never keeps a failure', async () => {
    const verifier = counting();
    const cache = new CachedTokenVerifier({ verifier });
    const foreign = await idp.token({ sub: 'alice', aud: AUD }, idp.otherKey);
    for (let i = 0; i < 2; i++)
      await expect(cache.verifyToken(foreign)).rejects.toMatchObject({ code: 'unauthenticated' });
    expect(verifier.calls).toBe(2);
    expect(cache.size).toBe(0);
  });

  it('verifies afresh from exp on, by the verifier clock', async () => {
    let now = Date.now();
    const verifier = counting(() => now);
    const cache = new CachedTokenVerifier({ verifier });
    const token = await idp.token({ sub: 'alice', aud: AUD, expSeconds: 60 });
    await cache.verifyToken(token);
    now += 61_000;
    // Inside the verifier's 30 s clock tolerance: still accepted, but by a full verification.
    await cache.verifyToken(token);
    expect(verifier.calls).toBe(2);
  });

  it('holds at most maxEntries, dropping the least recently used', async () => {
    const verifier = counting();
    const cache = new CachedTokenVerifier({ verifier, maxEntries: 2 });
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((sub) => idp.token({ sub, aud: AUD })));
    await cache.verifyToken(a!);
    await cache.verifyToken(b!);
    await cache.verifyToken(a!); // a is now the most recently used
    await cache.verifyToken(c!); // drops b
    expect(cache.size).toBe(2);
    expect(verifier.calls).toBe(3);
    await cache.verifyToken(a!);
    expect(verifier.calls).toBe(3);
    await cache.verifyToken(b!);
    expect(verifier.calls).toBe(4);
  });

  it('refuses a bound that is not a positive integer', () => {
    for (const maxEntries of [0, -1, 1.5, Number.NaN])
      expect(() => new CachedTokenVerifier({ verifier: counting(), maxEntries })).toThrow(
        TypeError,
      );
  });
});
