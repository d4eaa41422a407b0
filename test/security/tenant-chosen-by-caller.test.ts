// Attack: a caller whose credential does not pin a tenant names one in the request body, to use
// another tenant's per-tenant credentials, or to rotate invented tenants past every governor
// (rate, spend, loop guard and concurrency are all keyed by tenant). The tenant a claim is minted
// for comes from the credential (API key record, identity-token claim) or the config, never the body.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { apiKeyHash, IdentityVerifier } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import { makeWorkspace, memoryLogger, type Workspace } from '../http/helpers.ts';

const IDP = 'https://idp.test';
const KEYS = {
  unpinned: 'tck_unpinned_0123456789',
  two: 'tck_two_tenants_0123456789',
  any: 'tck_any_tenant_0123456789',
};

let ws: Workspace;
let broker: BrokerService;
let url: string;
let idpKey: CryptoKey;

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  idpKey = privateKey;
  ws = await makeWorkspace({
    broker: {
      identity: {
        jwksFile: 'idp.jwks.json',
        issuer: IDP,
        audience: 'toolcage-broker',
        rolesClaim: 'roles',
        tenantClaim: 'tenant',
      },
      apiKeys: [
        {
          id: 'unpinned',
          sha256: apiKeyHash(KEYS.unpinned),
          subject: 'svc-unpinned',
          roles: ['admin'],
        },
        {
          id: 'two',
          sha256: apiKeyHash(KEYS.two),
          subject: 'svc-two',
          roles: ['admin'],
          tenants: ['acme', 'initech'],
        },
        {
          id: 'any',
          sha256: apiKeyHash(KEYS.any),
          subject: 'svc-platform',
          roles: ['admin'],
          tenants: ['*'],
        },
      ],
    },
  });
  writeFileSync(
    join(ws.dir, 'idp.jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' }] }),
  );
  broker = await createBrokerService(loadConfig(ws.configFile), { logger: memoryLogger().logger });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await broker?.shutdown();
  ws?.cleanup();
});

function idToken(claims: Record<string, unknown>): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setIssuer(IDP)
    .setAudience('toolcage-broker')
    .setSubject('mallory')
    .setIssuedAt(now)
    .setExpirationTime(now + 300)
    .sign(idpKey);
}

async function mint(
  headers: Record<string, string>,
  tenant?: string,
): Promise<{ status: number; body: any }> {
  const body = { tool: 'text.word_count', args: { text: 'x' }, ...(tenant ? { tenant } : {}) };
  const r = await fetch(`${url}/v1/claims`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}
const tenantOf = (r: { body: { claim: string } }) => decodeJwt(r.body.claim).tenant;

describe('identity tokens', () => {
  it('a token without the configured tenant claim is unauthenticated, whatever the body asks for', async () => {
    const r = await mint(
      { authorization: `Bearer ${await idToken({ roles: ['admin'] })}` },
      'victim-corp',
    );
    expect(r.status).toBe(401);
    expect(r.body.error).toMatchObject({
      code: 'unauthenticated',
      message: expect.stringMatching(/"tenant" claim/),
    });
  });

  it('a token that names its tenant cannot ask for another', async () => {
    const token = await idToken({ roles: ['admin'], tenant: 'acme' });
    expect(tenantOf(await mint({ authorization: `Bearer ${token}` }))).toBe('acme');
    const r = await mint({ authorization: `Bearer ${token}` }, 'victim-corp');
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/cannot act for tenant victim-corp/),
    });
  });

  it('a token cannot grant itself every tenant with "*"', async () => {
    const r = await mint(
      { authorization: `Bearer ${await idToken({ roles: ['admin'], tenant: '*' })}` },
      'victim-corp',
    );
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe('unauthenticated');
  });
});

describe('API keys', () => {
  it('a key that names no tenant acts for the configured tenant only', async () => {
    expect(tenantOf(await mint({ 'x-api-key': KEYS.unpinned }))).toBe('default');
    for (const invented of ['victim-corp', 'rotate-1', 'rotate-2']) {
      const r = await mint({ 'x-api-key': KEYS.unpinned }, invented);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('policy_denied');
    }
  });

  it('a key with a list of tenants may pick among them, defaults to the first, and no other', async () => {
    expect(tenantOf(await mint({ 'x-api-key': KEYS.two }))).toBe('acme');
    expect(tenantOf(await mint({ 'x-api-key': KEYS.two }, 'initech'))).toBe('initech');
    expect((await mint({ 'x-api-key': KEYS.two }, 'globex')).body.error.code).toBe('policy_denied');
  });

  it('only a key the operator marked "*" may name any tenant', async () => {
    expect(tenantOf(await mint({ 'x-api-key': KEYS.any }, 'globex'))).toBe('globex');
    expect(tenantOf(await mint({ 'x-api-key': KEYS.any }))).toBe('default');
  });
});

describe('MCP bearer tokens (the same verifier)', () => {
  it('a configured tenant claim missing from an MCP token is unauthenticated', async () => {
    const verifier = new IdentityVerifier({
      defaultTenant: 'default',
      tokens: {
        issuer: IDP,
        audience: 'toolcage-broker',
        keys: { jwksFile: join(ws.dir, 'idp.jwks.json') },
        tenantClaim: 'tenant',
      },
    });
    await expect(verifier.verifyToken(await idToken({ roles: ['admin'] }))).rejects.toMatchObject({
      code: 'unauthenticated',
    });
    expect(
      (await verifier.verifyToken(await idToken({ roles: ['admin'], tenant: ['acme', 'initech'] })))
        .principal,
    ).toMatchObject({ tenants: ['acme', 'initech'], defaultTenant: 'acme' });
  });
});
