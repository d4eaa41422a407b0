import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose';
import { generateSigningKey, signingKeyFromJwk, type SigningKey } from '../../src/claims/keys.ts';
import type { ClaimPayload } from '../../src/claims/claim.ts';
import {
  ExchangeLane,
  LaneCredentialProvider,
  MintedLane,
  StaticLane,
  laneConfigSchema,
  type CredentialLane,
  type LaneConfig,
} from '../../src/credentials/index.ts';
import { EgressGateway } from '../../src/egress/index.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';
import type { LoadedTool } from '../../src/registry/registry.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let key: SigningKey;
let jwks: JSONWebKeySet;
let dir: string;
const NOW = Date.UTC(2030, 0, 1, 12, 0, 0);
const DEADLINE = NOW + 2_500;

beforeAll(async () => {
  const { privateJwk, publicJwk } = await generateSigningKey('ES256');
  key = await signingKeyFromJwk(privateJwk, 'test');
  jwks = { keys: [publicJwk] };
  dir = mkdtempSync(join(tmpdir(), 'toolcage-lanes-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const claim = (scope: string[], over: Partial<ClaimPayload> = {}): ClaimPayload =>
  ({
    iss: 'toolcage-broker',
    sub: 'alice',
    aud: 'toolcage-runner',
    iat: 0,
    nbf: 0,
    exp: 0,
    jti: 'j',
    tool: 'gh.tool',
    scope,
    args_hash: 'sha256:x',
    tenant: 'acme',
    ...over,
  }) as ClaimPayload;
const lane = (raw: Record<string, unknown>): LaneConfig => laneConfigSchema.parse(raw);
const ctx = (scope: string[], c = claim(scope)) => ({
  claim: c,
  toolId: 'gh.tool',
  deadlineMs: DEADLINE,
  invocationId: 'inv_1',
  scope,
});
const tool = (
  credentials: Array<{
    lane: string;
    as: string;
    scopes?: string[];
    expose?: 'egress' | 'file' | 'env';
  }>,
): LoadedTool =>
  ({
    manifest: {
      id: 'gh.tool',
      credentials: credentials.map((c) => ({ scopes: [], expose: 'egress', ...c })),
    },
  }) as unknown as LoadedTool;

describe('minted lane', () => {
  it('signs a JWT that verifies against the runner JWKS, with the claim subject and tenant, the granted scope, exp = deadline + skew and a fresh jti', async () => {
    const minted = new MintedLane(
      'gh',
      lane({
        kind: 'minted',
        audience: 'https://api.example',
        hosts: [{ host: 'api.example', port: 443 }],
        scopes: ['pr:create', 'pr:read'],
      }) as Extract<LaneConfig, { kind: 'minted' }>,
      key,
      'toolcage-runner',
      () => NOW,
    );
    const a = await minted.issue(ctx(['pr:create']));
    const b = await minted.issue(ctx(['pr:create']));
    const { payload } = await jwtVerify(a.value, createLocalJWKSet(jwks), {
      issuer: 'toolcage-runner',
      audience: 'https://api.example',
      currentDate: new Date(NOW),
    });
    expect(payload).toMatchObject({
      sub: 'alice',
      tenant: 'acme',
      scope: 'pr:create',
      iat: NOW / 1000,
      nbf: NOW / 1000,
      exp: Math.ceil(DEADLINE / 1000) + 5,
    });
    expect(decodeJwt(b.value).jti).not.toBe(payload.jti);
    await expect(
      jwtVerify(a.value, createLocalJWKSet(jwks), { currentDate: new Date(DEADLINE + 6_000) }),
    ).rejects.toThrow(/exp/);
  });
});

describe('static lane', () => {
  it('reads a file, a per-tenant file in a folder, or a runner env var, fresh for each run', async () => {
    writeFileSync(join(dir, 'token'), 'file-secret-value-1\n');
    mkdirSync(join(dir, 'tenants'));
    writeFileSync(join(dir, 'tenants', 'acme'), 'acme-secret-value');
    const resolve = (p: string) => join(dir, p);
    const file = new StaticLane('f', lane({ kind: 'static', file: 'token' }) as never, resolve);
    const perTenant = new StaticLane(
      'd',
      lane({ kind: 'static', dir: 'tenants' }) as never,
      resolve,
    );
    const env = new StaticLane('e', lane({ kind: 'static', env: 'GH_TOKEN' }) as never, resolve, {
      GH_TOKEN: 'env-secret-value',
    });
    expect((await file.issue(ctx([]))).value).toBe('file-secret-value-1');
    writeFileSync(join(dir, 'token'), 'file-secret-value-2\n');
    expect((await file.issue(ctx([]))).value).toBe('file-secret-value-2');
    expect((await perTenant.issue(ctx([]))).value).toBe('acme-secret-value');
    expect((await env.issue(ctx([]))).value).toBe('env-secret-value');
  });

  it('refuses a missing tenant file, a path-like tenant, an unset variable and a too-short secret with sandbox_unavailable, never echoing a value', async () => {
    const resolve = (p: string) => join(dir, p);
    const perTenant = new StaticLane(
      'd',
      lane({ kind: 'static', dir: 'tenants' }) as never,
      resolve,
    );
    await expect(perTenant.issue(ctx([], claim([], { tenant: 'other' })))).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('no secret for tenant "other"'),
    });
    await expect(perTenant.issue(ctx([], claim([], { tenant: '../token' })))).rejects.toMatchObject(
      { code: 'sandbox_unavailable' },
    );
    await expect(
      new StaticLane('e', lane({ kind: 'static', env: 'NOPE' }) as never, resolve, {}).issue(
        ctx([]),
      ),
    ).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('credentials.lanes.e'),
    });
    const short = new StaticLane('s', lane({ kind: 'static', env: 'S' }) as never, resolve, {
      S: 'abc',
    });
    const err = await short.issue(ctx([])).catch((e: ToolcageError) => e);
    expect(err).toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('too short'),
    });
    expect((err as Error).message).not.toContain('abc');
  });

  it('config refuses a static lane with two sources', () => {
    expect(laneConfigSchema.safeParse({ kind: 'static', env: 'A', file: 'b' }).success).toBe(false);
  });
});

describe('exchange lane (RFC 8693) against a loopback token endpoint', () => {
  let endpoint: LoopbackServer;
  beforeAll(async () => {
    endpoint = await startLoopbackServer((req, res) => {
      const form = new URLSearchParams(req.body);
      res.setHeader('content-type', 'application/json');
      if (req.url === '/revoke') return res.end('{}');
      if (
        req.headers.authorization !==
        `Basic ${Buffer.from('toolcage:client-secret-value').toString('base64')}`
      ) {
        res.statusCode = 401;
        return res.end(
          JSON.stringify({
            error: 'invalid_client',
            error_description: 'nope client-secret-value',
          }),
        );
      }
      res.end(
        JSON.stringify({
          access_token: `exchanged-for-${decodeJwt(form.get('subject_token')!).sub}-${form.get('scope')}`,
          issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          token_type: 'Bearer',
          expires_in: 60,
        }),
      );
    });
  });
  afterAll(() => endpoint?.close());

  it('posts a token-exchange grant with a runner-signed subject token for the claim subject, and revokes the token on release', async () => {
    const cfg = lane({
      kind: 'exchange',
      tokenEndpoint: `${endpoint.origin}/token`,
      revocationEndpoint: `${endpoint.origin}/revoke`,
      audience: 'https://api.example',
      clientId: 'toolcage',
      clientSecretEnv: 'CS',
      scopes: ['repo:write', 'repo:read'],
    });
    const ex = new ExchangeLane('x', cfg as never, {
      key,
      issuer: 'toolcage-runner',
      resolvePath: (p) => p,
      env: { CS: 'client-secret-value' },
    });
    const before = endpoint.seen.length;
    const c = await ex.issue(ctx(['repo:write']));
    expect(c.value).toBe('exchanged-for-alice-repo:write');
    const sent = endpoint.seen[before]!;
    const form = new URLSearchParams(sent.body);
    expect(Object.fromEntries(form)).toMatchObject({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      requested_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      audience: 'https://api.example',
      scope: 'repo:write',
    });
    const { payload } = await jwtVerify(form.get('subject_token')!, createLocalJWKSet(jwks), {
      audience: `${endpoint.origin}/token`,
      issuer: 'toolcage-runner',
    });
    expect(payload).toMatchObject({ sub: 'alice', tenant: 'acme' });
    await c.release?.();
    expect(endpoint.seen.at(-1)).toMatchObject({ url: '/revoke' });
    expect(new URLSearchParams(endpoint.seen.at(-1)!.body).get('token')).toBe(c.value);
  });

  it('a refusal by the endpoint is sandbox_unavailable with its RFC 6749 error code only', async () => {
    const cfg = lane({
      kind: 'exchange',
      tokenEndpoint: `${endpoint.origin}/token`,
      clientId: 'toolcage',
      clientSecretEnv: 'CS',
    });
    const ex = new ExchangeLane('x', cfg as never, {
      key,
      issuer: 'toolcage-runner',
      resolvePath: (p) => p,
      env: { CS: 'wrong-secret' },
    });
    const err = (await ex.issue(ctx([])).catch((e: unknown) => e)) as ToolcageError;
    expect(err).toMatchObject({
      code: 'sandbox_unavailable',
      message:
        'The credential lane "x" was refused by its token endpoint: HTTP 401 (invalid_client). Retry later or ask the operator.',
    });
  });

  it('refuses a plain-http token endpoint that is not loopback', () => {
    const cfg = lane({
      kind: 'exchange',
      tokenEndpoint: 'http://tokens.example/token',
      clientId: 'toolcage',
      clientSecretEnv: 'CS',
    });
    expect(
      () => new ExchangeLane('x', cfg as never, { key, issuer: 'i', resolvePath: (p) => p }),
    ).toThrow(/https/);
  });
});

describe('LaneCredentialProvider', () => {
  const lanes = (): Map<string, CredentialLane> =>
    new Map<string, CredentialLane>([
      [
        'gh',
        new StaticLane(
          'gh',
          lane({
            kind: 'static',
            env: 'T',
            hosts: [{ host: 'api.example', port: 443 }],
            requiredScopes: ['pr:create'],
          }) as never,
          (p) => p,
          { T: 'static-secret-value' },
        ),
      ],
      [
        'mint',
        new MintedLane(
          'mint',
          lane({
            kind: 'minted',
            audience: 'a',
            hosts: [{ host: 'api.example', port: 443 }],
            scopes: ['x:write'],
            expose: ['egress', 'env'],
          }) as never,
          key,
          'toolcage-runner',
        ),
      ],
    ]);
  const gateway = () => new EgressGateway({ rulesFor: () => [{ host: 'api.example', port: 443 }] });

  it("refuses with scope_insufficient, before issuing anything, when the claim lacks a lane's required scopes", async () => {
    const p = new LaneCredentialProvider({ lanes: lanes(), egress: gateway() });
    await expect(
      p.lease(claim(['other']), tool([{ lane: 'gh', as: 'T' }]), DEADLINE, 'inv_a'),
    ).rejects.toMatchObject({
      code: 'scope_insufficient',
      message: expect.stringContaining('pr:create'),
    });
  });

  it("refuses with scope_insufficient when the claim grants none of a minted lane's scopes", async () => {
    const p = new LaneCredentialProvider({ lanes: lanes(), egress: gateway() });
    await expect(
      p.lease(claim(['pr:create']), tool([{ lane: 'mint', as: 'M' }]), DEADLINE, 'inv_b'),
    ).rejects.toMatchObject({
      code: 'scope_insufficient',
      message: expect.stringContaining('x:write'),
    });
  });

  it('refuses an unconfigured lane with sandbox_unavailable naming the config key', async () => {
    const p = new LaneCredentialProvider({ lanes: lanes(), egress: gateway() });
    await expect(
      p.lease(claim([]), tool([{ lane: 'missing', as: 'M' }]), DEADLINE, 'inv_c'),
    ).rejects.toMatchObject({
      code: 'sandbox_unavailable',
      message: expect.stringContaining('credentials.lanes.missing'),
    });
  });

  it('expose: egress hands the sandbox nothing; expose: env hands it the value; every value is in secrets; the lease names lanes only', async () => {
    const p = new LaneCredentialProvider({ lanes: lanes(), egress: gateway() });
    const lease = await p.lease(
      claim(['pr:create', 'x:write']),
      tool([
        { lane: 'gh', as: 'GH' },
        { lane: 'mint', as: 'MINT', expose: 'env' },
      ]),
      DEADLINE,
      'inv_d',
    );
    expect(lease.lanes).toEqual(['gh', 'mint']);
    expect(lease.credentials.map((c) => [c.lane, c.as, c.expose])).toEqual([
      ['mint', 'MINT', 'env'],
    ]);
    expect(lease.secrets).toContain('static-secret-value');
    expect(lease.secrets).toHaveLength(2);
    await lease.release();
  });
});
