// Attack: the MCP Streamable HTTP edge keeps the verification of a bearer token it has already
// checked (src/identity/token-cache.ts), so that a stateless 2026-07-28 client does not pay for
// a signature check on every request. An attacker hopes the cache answers for more than the
// token it verified: the same token after it expired, a token altered from it (payload or
// signature), or a token whose signing key the identity provider has since dropped from its JWKS.
// Each is refused exactly as without the cache.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { IdentityVerifier, type TokenIssuerConfig } from '../../src/identity/verifier.ts';
import { startMcpHttp, type McpHttpServer } from '../../src/mcp/http.ts';
import { ToolcageMcpService } from '../../src/runtime/mcp-service.ts';
import { createIdp, createWorkspace, type TestIdp, type Workspace } from '../mcp/helpers.ts';

const MODERN = '2026-07-28';
const ISSUER = 'https://idp.test.invalid';

let ws: Workspace;
let idp: TestIdp;
let service: ToolcageMcpService;
let edge: McpHttpServer | undefined;

beforeAll(async () => {
  ws = await createWorkspace();
  idp = await createIdp(ws.dir);
  service = await ToolcageMcpService.create(loadConfig(ws.config), {
    backends: ['js'],
    log: () => {},
  });
});
afterEach(async () => {
  await edge?.close();
  edge = undefined;
});
afterAll(async () => {
  await service?.close();
  ws?.cleanup();
});

async function startEdge(
  tokens: Omit<TokenIssuerConfig, 'audience'>,
  now?: () => number,
): Promise<McpHttpServer> {
  edge = await startMcpHttp({
    service,
    port: 0,
    authorizationServers: [ISSUER],
    identity: (audience) =>
      new IdentityVerifier({
        defaultTenant: 'default',
        tokens: { ...tokens, audience },
        ...(now ? { now } : {}),
      }),
  });
  return edge;
}

/** A stateless 2026-07-28 `tools/list`: its status, and the 401's reason. */
async function list(url: string, token: string): Promise<{ status: number; reason: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-protocol-version': MODERN,
      'mcp-method': 'tools/list',
    },
    body: JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/list',
      params: {
        _meta: {
          'io.modelcontextprotocol/protocolVersion': MODERN,
          'io.modelcontextprotocol/clientInfo': { name: 'attacker', version: '1' },
          'io.modelcontextprotocol/clientCapabilities': {},
        },
      },
    }),
  });
  const text = await res.text();
  return { status: res.status, reason: res.headers.get('www-authenticate') ?? text };
}

const b64 = (json: unknown) => Buffer.from(JSON.stringify(json)).toString('base64url');
const payloadOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<
    string,
    unknown
  >;

describe('a cached bearer token', () => {
  it('is refused once it expired, although it verified (and was cached) before', async () => {
    let now = Date.now();
    // No clock tolerance: the verifier's own refusal comes at exp, the moment the cache must stop.
    const url = (
      await startEdge(
        { issuer: ISSUER, keys: { jwksFile: idp.jwksFile }, clockToleranceSeconds: 0 },
        () => now,
      )
    ).url;
    const token = await idp.token({ sub: 'alice', roles: ['admin'], aud: url, expSeconds: 60 });
    expect((await list(url, token)).status).toBe(200);
    expect((await list(url, token)).status).toBe(200);
    now += 59_000;
    expect((await list(url, token)).status).toBe(200);
    now += 2_000;
    const late = await list(url, token);
    expect(late.status).toBe(401);
    expect(late.reason).toMatch(/identity token has expired/);
  });

  it('does not answer for a token with its payload altered, nor one with its signature altered', async () => {
    const url = (await startEdge({ issuer: ISSUER, keys: { jwksFile: idp.jwksFile } })).url;
    const token = await idp.token({ sub: 'alice', roles: ['viewer'], aud: url });
    expect((await list(url, token)).status).toBe(200);

    const [header, , signature] = token.split('.');
    const promoted = `${header}.${b64({ ...payloadOf(token), roles: ['admin'] })}.${signature}`;
    const other = `${header}.${b64({ ...payloadOf(token), sub: 'mallory' })}.${signature}`;
    // A changed character inside the signature (not the last, whose low bits may be padding).
    const i = Math.floor(signature!.length / 2);
    const flipped = `${signature!.slice(0, i)}${signature![i] === 'A' ? 'B' : 'A'}${signature!.slice(i + 1)}`;
    const forged = `${header}.${token.split('.')[1]}.${flipped}`;
    for (const bad of [promoted, other, forged]) {
      const answer = await list(url, bad);
      expect(answer.status).toBe(401);
      expect(answer.reason).toMatch(/signature does not verify/);
    }
    // The genuine token still works: the refusals did not poison anything.
    expect((await list(url, token)).status).toBe(200);
  });

  it('does not outlive the removal of its signing key from the JWKS URL', async () => {
    const keyPair = async (kid: string) => {
      const { privateKey, publicKey } = await generateKeyPair('ES256');
      const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
      return { privateKey, jwk };
    };
    const a = await keyPair('key-a');
    const b = await keyPair('key-b');
    let published: JWK[] = [a.jwk];
    const jwks: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    const sign = (key: CryptoKey, kid: string, aud: string) =>
      new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject('alice')
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(key);
    try {
      // An unknown kid refetches the JWKS at once (no cooldown); the set is otherwise kept an hour.
      const url = (
        await startEdge({
          issuer: ISSUER,
          keys: { jwksUrl, cacheMaxAgeMs: 3_600_000, cooldownMs: 0 },
        })
      ).url;
      const old = await sign(a.privateKey, 'key-a', url);
      expect((await list(url, old)).status).toBe(200);
      expect((await list(url, old)).status).toBe(200);

      // The provider rotates: key-a is gone. A token under the new key makes jose fetch the set.
      published = [b.jwk];
      expect((await list(url, await sign(b.privateKey, 'key-b', url))).status).toBe(200);
      const after = await list(url, old);
      expect(after.status).toBe(401);
      expect(after.reason).toMatch(/signature does not verify/);
    } finally {
      jwks.close();
    }
  });

  it('does not outlive the JWKS cache age when the key is dropped with no new token to notice', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    let published: JWK[] = [
      { ...(await exportJWK(publicKey)), kid: 'key-a', alg: 'ES256', use: 'sig' },
    ];
    const jwks: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: published }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    try {
      const url = (
        await startEdge({
          issuer: ISSUER,
          keys: { jwksUrl, cacheMaxAgeMs: 500, cooldownMs: 30_000 },
        })
      ).url;
      const token = await new SignJWT({ roles: ['admin'] })
        .setProtectedHeader({ alg: 'ES256', kid: 'key-a', typ: 'JWT' })
        .setIssuer(ISSUER)
        .setSubject('alice')
        .setAudience(url)
        .setIssuedAt()
        .setExpirationTime('1h')
        .sign(privateKey);
      // The first verification fetched the keys; the second is reached under them and kept.
      expect((await list(url, token)).status).toBe(200);
      expect((await list(url, token)).status).toBe(200);
      published = [];
      await new Promise((r) => setTimeout(r, 700));
      const after = await list(url, token);
      expect(after.status).toBe(401);
      expect(after.reason).toMatch(/signature does not verify/);
    } finally {
      jwks.close();
    }
  });
});
