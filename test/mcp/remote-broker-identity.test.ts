import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { ClientCredentialsToken } from '../../src/mcp/broker-credentials.ts';
import { RemoteBrokerClaimProvider } from '../../src/mcp/remote-broker.ts';
import { HttpRunnerClient } from '../../src/mcp/runner-client.ts';
import { newKey } from '../security/dpop-helpers.ts';
import { makeWorkspace, startRunner, type RunningRunner, type Workspace } from '../http/helpers.ts';
import { patchConfig } from './broker-process.ts';
import { createIdp, type TestIdp } from './helpers.ts';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

const AUDIENCE = 'toolcage-broker-test';
const SECRET = 'cc-secret-for-tests';
const ALICE = { sub: 'alice', tenant: 'default', roles: ['support'] };

describe('the MCP server at a remote broker with a client-credentials token, its claims DPoP-bound to its key', () => {
  let ws: Workspace;
  let idp: TestIdp;
  let tokenServer: Server;
  let tokenUrl: string;
  let tokenRequests = 0;
  /** The next token is signed by a key the broker does not trust (rotated away at the provider). */
  let nextTokenUntrusted = false;
  let broker: BrokerService;
  let brokerUrl: string;
  let runner: RunningRunner;

  beforeAll(async () => {
    ws = await makeWorkspace();
    idp = await createIdp(ws.dir);
    appendFileSync(
      join(ws.dir, 'broker-policy.yaml'),
      'delegates:\n  mcp-delegate: { subjects: ["*"], roles: [support] }\n',
    );
    patchConfig(ws.configFile, {
      broker: {
        identity: { issuer: idp.issuer, audience: AUDIENCE, jwksFile: 'keys/idp.jwks.json' },
      },
    });
    // The identity provider's token endpoint (RFC 6749 §4.4): Basic client auth, a JWT for the broker.
    tokenServer = createServer((req, res) => {
      tokenRequests++;
      const basic = Buffer.from(`mcp-gateway:${SECRET}`).toString('base64');
      let body = '';
      req.on('data', (c: Buffer) => (body += String(c)));
      req.on('end', () => {
        const form = new URLSearchParams(body);
        if (
          req.headers.authorization !== `Basic ${basic}` ||
          form.get('grant_type') !== 'client_credentials'
        ) {
          res.writeHead(401, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'invalid_client', error_description: 'bad secret' }));
          return;
        }
        const key = nextTokenUntrusted ? idp.otherKey : undefined;
        nextTokenUntrusted = false;
        void idp
          .token(
            { sub: 'mcp-gateway', roles: ['mcp-delegate'], aud: AUDIENCE, expSeconds: 300 },
            key,
          )
          .then((token) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ access_token: token, token_type: 'Bearer', expires_in: 300 }));
          });
      });
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
    tokenUrl = `http://127.0.0.1:${(tokenServer.address() as AddressInfo).port}/token`;
    broker = await createBrokerService(loadConfig(ws.configFile));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
    runner = await startRunner(ws);
  });

  afterAll(async () => {
    await runner?.close();
    await broker?.shutdown();
    await new Promise((r) => tokenServer?.close(r));
    ws?.cleanup();
  });

  const credential = (secret = SECRET) =>
    new ClientCredentialsToken({ tokenUrl, clientId: 'mcp-gateway', clientSecret: secret });

  it('gets a claim for the MCP caller with a client-credentials token, fetched once and reused', async () => {
    const provider = new RemoteBrokerClaimProvider({ url: brokerUrl, credential: credential() });
    const before = tokenRequests;
    const request = { toolId: 'text.word_count', args: { text: 'a b' }, principal: ALICE };
    const claim = await provider.claimFor(request);
    await provider.claimFor(request);
    expect(tokenRequests - before).toBe(1);
    expect(decodeJwt(claim)).toMatchObject({ sub: 'alice', tool: 'text.word_count' });
  });

  it('fetches a fresh token once when the broker refuses the cached one, and gets the claim', async () => {
    nextTokenUntrusted = true;
    const provider = new RemoteBrokerClaimProvider({ url: brokerUrl, credential: credential() });
    const before = tokenRequests;
    const claim = await provider.claimFor({
      toolId: 'text.word_count',
      args: { text: 'x' },
      principal: ALICE,
    });
    expect(tokenRequests - before).toBe(2);
    expect(decodeJwt(claim).sub).toBe('alice');
  });

  it('binds the claim to the MCP server’s DPoP key: the runner runs it with a proof of that key and refuses it without one', async () => {
    const key = await newKey();
    const provider = new RemoteBrokerClaimProvider({
      url: brokerUrl,
      credential: credential(),
      dpopKey: key.privateJwk,
    });
    const args = { text: 'one two three' };
    const claim = await provider.claimFor({ toolId: 'text.word_count', args, principal: ALICE });
    expect((decodeJwt(claim).cnf as { jkt?: string }).jkt).toBe(key.jkt);
    const bound = new HttpRunnerClient({ baseUrl: runner.url, dpopKey: key.privateJwk });
    const out = await bound.invoke({ toolId: 'text.word_count', args, claim, requestId: 'r-dpop' });
    expect(out.result).toEqual({ words: 3, lines: 1, characters: 13 });

    const again = await provider.claimFor({ toolId: 'text.word_count', args, principal: ALICE });
    const plain = new HttpRunnerClient({ baseUrl: runner.url });
    await expect(
      plain.invoke({ toolId: 'text.word_count', args, claim: again, requestId: 'r-nodpop' }),
    ).rejects.toMatchObject({ code: 'dpop_invalid' });
  });

  it('reports a refused client secret as broker_unavailable for the operator, never as the MCP caller being unauthenticated', async () => {
    const provider = new RemoteBrokerClaimProvider({
      url: brokerUrl,
      credential: credential('wrong'),
    });
    const err = await provider
      .claimFor({ toolId: 'text.word_count', args: { text: 'x' }, principal: ALICE })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'broker_unavailable' });
    expect((err as Error).message).toMatch(
      /HTTP 401 \(invalid_client\).*mcp\.broker\.clientCredentials/,
    );
    expect((err as Error).message).not.toContain('wrong');
  });

  it('reports an unreachable broker as broker_unavailable', async () => {
    const provider = new RemoteBrokerClaimProvider({
      url: 'http://127.0.0.1:9',
      credential: credential(),
    });
    await expect(
      provider.claimFor({ toolId: 'text.word_count', args: { text: 'x' }, principal: ALICE }),
    ).rejects.toMatchObject({ code: 'broker_unavailable' });
  });
});
