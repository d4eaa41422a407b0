import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { createDpopProof } from '../../src/claims/dpop.ts';
import { argsHash } from '../../src/util/hash.ts';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import {
  invoke,
  makeWorkspace,
  memoryLogger,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import { newKey } from '../security/dpop-helpers.ts';

const IDP = 'https://idp.test';
const KEYS = {
  analyst: 'tck_analyst_0123456789',
  support: 'tck_support_0123456789',
  admin: 'tck_admin_0123456789',
  approver: 'tck_approver_0123456789',
  tenantB: 'tck_tenantb_0123456789',
};

let ws: Workspace;
let broker: BrokerService;
let brokerUrl: string;
let runner: RunningRunner;
let idpKey: CryptoKey;
let logs: string[];

beforeAll(async () => {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  idpKey = privateKey;
  ws = await makeWorkspace(
    {
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
            id: 'analyst-svc',
            sha256: apiKeyHash(KEYS.analyst),
            subject: 'svc-analyst',
            roles: ['analyst'],
            tenant: 'acme',
          },
          {
            id: 'support-svc',
            sha256: apiKeyHash(KEYS.support),
            subject: 'svc-support',
            roles: ['support'],
            tenant: 'acme',
          },
          {
            id: 'admin-svc',
            sha256: apiKeyHash(KEYS.admin),
            subject: 'svc-admin',
            roles: ['admin'],
            tenant: 'acme',
          },
          {
            id: 'approver',
            sha256: apiKeyHash(KEYS.approver),
            subject: 'alice',
            roles: ['approver'],
            tenant: 'acme',
          },
          {
            id: 'tenant-b',
            sha256: apiKeyHash(KEYS.tenantB),
            subject: 'svc-b',
            roles: ['admin', 'approver'],
            tenant: 'globex',
          },
        ],
      },
    },
    // A shared broker: no self-approval (the dev workspace's default allows it, visibly).
    { policy: DEFAULT_POLICY.replace('allowSelfApproval: true', 'allowSelfApproval: false') },
  );
  writeFileSync(
    join(ws.dir, 'idp.jwks.json'),
    JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'idp-1', alg: 'ES256' }] }),
  );
  const { logger, lines } = memoryLogger();
  logs = lines;
  broker = await createBrokerService(
    (await import('../../src/config/load.ts')).loadConfig(ws.configFile),
    { logger },
  );
  brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

function idToken(
  claims: Record<string, unknown>,
  o: { iss?: string; aud?: string; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'idp-1' })
    .setIssuer(o.iss ?? IDP)
    .setAudience(o.aud ?? 'toolcage-broker')
    .setSubject(String(claims.sub ?? 'bob'))
    .setIssuedAt(now)
    .setExpirationTime(o.exp ?? now + 300)
    .sign(idpKey);
}

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  const r = await fetch(`${brokerUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json() };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const WC = { tool: 'text.word_count', args: { text: 'via the broker' } };

describe('broker serve: authentication', () => {
  it('issues a claim to a service API key: {claim, expiresAt, jti}, usable at the runner', async () => {
    const r = await post('/v1/claims', WC, { 'x-api-key': KEYS.analyst });
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      claim: expect.any(String),
      expiresAt: expect.any(String),
      jti: expect.any(String),
    });
    expect(decodeJwt(r.body.claim)).toMatchObject({
      sub: 'svc-analyst',
      tenant: 'acme',
      tool: 'text.word_count',
      args_hash: argsHash(WC.args),
      jti: r.body.jti,
    });
    expect((await invoke(runner.url, WC.tool, WC.args, r.body.claim)).status).toBe(200);
  });

  it('accepts the API key as a Bearer credential too', async () => {
    expect((await post('/v1/claims', WC, bearer(KEYS.analyst))).status).toBe(201);
  });

  it('issues a claim to an identity token from the configured provider, with its roles and tenant', async () => {
    const r = await post(
      '/v1/claims',
      WC,
      bearer(await idToken({ sub: 'bob', roles: ['support'], tenant: 'initech' })),
    );
    expect(r.status).toBe(201);
    expect(decodeJwt(r.body.claim)).toMatchObject({ sub: 'bob', tenant: 'initech' });
  });

  it('refuses no credential, a wrong API key, and identity tokens that are expired, foreign, for another audience or unsigned: unauthenticated 401', async () => {
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, Record<string, string>]> = [
      ['none', {}],
      ['wrong key', { 'x-api-key': 'tck_guess' }],
      ['expired', bearer(await idToken({ sub: 'bob', roles: ['admin'] }, { exp: now - 120 }))],
      [
        'other issuer',
        bearer(await idToken({ sub: 'bob', roles: ['admin'] }, { iss: 'https://evil.test' })),
      ],
      [
        'other audience',
        bearer(await idToken({ sub: 'bob', roles: ['admin'] }, { aud: 'someone-else' })),
      ],
      [
        'alg none',
        bearer(
          `${Buffer.from('{"alg":"none","kid":"idp-1"}').toString('base64url')}.${Buffer.from(JSON.stringify({ sub: 'bob', roles: ['admin'], iss: IDP, aud: 'toolcage-broker', exp: now + 60 })).toString('base64url')}.x`,
        ),
      ],
    ];
    for (const [name, headers] of cases) {
      const r = await post('/v1/claims', WC, headers);
      expect({ name, status: r.status, code: r.body.error?.code }).toEqual({
        name,
        status: 401,
        code: 'unauthenticated',
      });
    }
  });

  it('never logs the Authorization header, API keys or bodies', () => {
    const all = logs.join('\n');
    for (const key of Object.values(KEYS)) expect(all).not.toContain(key);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{20,}/);
    expect(all).not.toContain('via the broker');
  });
});

describe('broker serve: RBAC by policy', () => {
  it('refuses a tool the role lacks with policy_denied 403 (support asks for data.json_query)', async () => {
    const r = await post(
      '/v1/claims',
      { tool: 'data.json_query', args: { document: {}, pointers: ['/a'] } },
      { 'x-api-key': KEYS.support },
    );
    expect(r.status).toBe(403);
    expect(r.body.error).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/support.*data\.json_query/),
    });
  });

  it('refuses a scope beyond the role and a TTL beyond policy', async () => {
    expect(
      (await post('/v1/claims', { ...WC, scope: ['repo:write'] }, { 'x-api-key': KEYS.analyst }))
        .body.error.code,
    ).toBe('policy_denied');
    expect(
      (await post('/v1/claims', { ...WC, ttlSeconds: 3000 }, { 'x-api-key': KEYS.analyst })).body
        .error.code,
    ).toBe('policy_denied');
  });

  it('keeps a key to its tenant: asking for another tenant is policy_denied', async () => {
    expect(
      (await post('/v1/claims', { ...WC, tenant: 'globex' }, { 'x-api-key': KEYS.analyst })).body
        .error.code,
    ).toBe('policy_denied');
  });

  it('refuses malformed claim requests with request_invalid 400', async () => {
    expect(
      (await post('/v1/claims', { tool: 'text.word_count' }, { 'x-api-key': KEYS.analyst })).body
        .error.code,
    ).toBe('request_invalid');
    expect(
      (await post('/v1/claims', { ...WC, extra: 1 }, { 'x-api-key': KEYS.analyst })).body.error
        .code,
    ).toBe('request_invalid');
    expect(
      (await post('/v1/claims', { ...WC, ttlSeconds: 'long' }, { 'x-api-key': KEYS.analyst })).body
        .error.code,
    ).toBe('request_invalid');
  });
});

describe('broker serve: DPoP binding and JWKS', () => {
  it('binds the claim to the caller key (cnf.jkt) when a DPoP proof is presented', async () => {
    const key = await newKey();
    const proof = await createDpopProof({
      privateJwk: key.privateJwk,
      htm: 'POST',
      htu: `${brokerUrl}/v1/claims`,
    });
    const r = await post('/v1/claims', WC, { 'x-api-key': KEYS.analyst, dpop: proof });
    expect(r.status).toBe(201);
    expect(decodeJwt(r.body.claim).cnf).toEqual({ jkt: key.jkt });
    // At the runner the bound claim needs a proof by that key.
    expect((await invoke(runner.url, WC.tool, WC.args, r.body.claim)).body.error.code).toBe(
      'dpop_invalid',
    );
  });

  it('refuses a DPoP proof made for another URL', async () => {
    const key = await newKey();
    const proof = await createDpopProof({
      privateJwk: key.privateJwk,
      htm: 'POST',
      htu: `${brokerUrl}/v1/approvals`,
    });
    expect(
      (await post('/v1/claims', WC, { 'x-api-key': KEYS.analyst, dpop: proof })).body.error.code,
    ).toBe('dpop_invalid');
  });

  it('publishes the public signing keys, without private members', async () => {
    const jwks = (await (await fetch(`${brokerUrl}/.well-known/jwks.json`)).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: ws.brokerKey.kid, kty: 'OKP' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('broker serve: approvals over HTTP', () => {
  const patch = {
    tool: 'repo.apply_patch',
    args: { files: { 'a.txt': 'x' }, edits: [{ path: 'a.txt', find: 'x', replace: 'y' }] },
  };

  it('pending → approved by an approver → claim carries the approval id → runs once', async () => {
    const noApproval = await post('/v1/claims', patch, { 'x-api-key': KEYS.admin });
    expect(noApproval.body.error.code).toBe('approval_required');
    expect(noApproval.body.error.details).toMatchObject({
      approvalId: expect.stringMatching(/^apr_/),
      status: 'pending',
    });
    // Asking explicitly for the same envelope returns the request the claim call opened.
    const created = await post('/v1/approvals', patch, { 'x-api-key': KEYS.admin });
    expect(created.status).toBe(200);
    expect(created.body.id).toBe(noApproval.body.error.details.approvalId);
    expect(created.body).toMatchObject({
      status: 'pending',
      subject: 'svc-admin',
      tenant: 'acme',
      tool: 'repo.apply_patch',
    });
    const id = created.body.id as string;
    expect(
      (await post('/v1/claims', { ...patch, approvalId: id }, { 'x-api-key': KEYS.admin })).body
        .error.code,
    ).toBe('approval_required');

    const approved = await post(`/v1/approvals/${id}/approve`, {}, { 'x-api-key': KEYS.approver });
    expect(approved.body).toMatchObject({ id, status: 'approved', decidedBy: 'alice' });
    const seen = await fetch(`${brokerUrl}/v1/approvals/${id}`, {
      headers: { 'x-api-key': KEYS.admin },
    });
    expect(((await seen.json()) as { status: string }).status).toBe('approved');

    const issued = await post(
      '/v1/claims',
      { ...patch, approvalId: id },
      { 'x-api-key': KEYS.admin },
    );
    expect(issued.status).toBe(201);
    expect(decodeJwt(issued.body.claim).approval_id).toBe(id);
    expect((await invoke(runner.url, patch.tool, patch.args, issued.body.claim)).status).toBe(200);
  });

  it('only approvers decide, never their own request nor another tenant', async () => {
    const created = await post('/v1/approvals', patch, { 'x-api-key': KEYS.admin });
    const id = created.body.id as string;
    expect(
      (await post(`/v1/approvals/${id}/approve`, {}, { 'x-api-key': KEYS.analyst })).body.error
        .code,
    ).toBe('policy_denied');
    expect(
      (await post(`/v1/approvals/${id}/approve`, {}, { 'x-api-key': KEYS.tenantB })).body.error
        .code,
    ).toBe('not_found');
    const own = await post('/v1/approvals', patch, { 'x-api-key': KEYS.tenantB });
    expect(
      (await post(`/v1/approvals/${own.body.id}/approve`, {}, { 'x-api-key': KEYS.tenantB })).body
        .error,
    ).toMatchObject({ code: 'policy_denied', message: expect.stringMatching(/own/) });
    const other = await fetch(`${brokerUrl}/v1/approvals/${id}`, {
      headers: { 'x-api-key': KEYS.support },
    });
    expect(other.status).toBe(404);
  });

  it('a denied request cannot be used for a claim', async () => {
    const created = await post('/v1/approvals', patch, { 'x-api-key': KEYS.admin });
    const id = created.body.id as string;
    expect(
      (await post(`/v1/approvals/${id}/deny`, {}, { 'x-api-key': KEYS.approver })).body.error.code,
    ).toBe('request_invalid');
    expect(
      (
        await post(
          `/v1/approvals/${id}/deny`,
          { reason: 'not on Fridays' },
          { 'x-api-key': KEYS.approver },
        )
      ).body.status,
    ).toBe('denied');
    expect(
      (await post('/v1/claims', { ...patch, approvalId: id }, { 'x-api-key': KEYS.admin })).body
        .error.code,
    ).toBe('approval_required');
    expect(
      (await post(`/v1/approvals/${id}/approve`, {}, { 'x-api-key': KEYS.approver })).body.error
        .code,
    ).toBe('not_found');
  });

  it('refuses an approval request for a tool the role may not get', async () => {
    expect(
      (await post('/v1/approvals', patch, { 'x-api-key': KEYS.analyst })).body.error.code,
    ).toBe('policy_denied');
  });
});
