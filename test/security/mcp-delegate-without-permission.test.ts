import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { ApiKeyCredential } from '../../src/mcp/broker-credentials.ts';
import { RemoteBrokerClaimProvider } from '../../src/mcp/remote-broker.ts';
import { makeWorkspace, type Workspace } from '../http/helpers.ts';
import { loadConfig } from '../../src/config/load.ts';

/**
 * The attack: a service that holds a broker credential of its own (an MCP
 * server, a CI bot) names another subject in its claim request to get a claim
 * as that person, with that person's roles or any roles it likes. Only a role
 * in the policy's `delegates` may ask for another subject, only for the
 * subjects and roles its grant lists.
 */
const PLAIN_KEY = randomBytes(24).toString('base64url');
const DELEGATE_KEY = randomBytes(24).toString('base64url');

describe('a broker identity without the delegate permission cannot mint for another subject', () => {
  let ws: Workspace;
  let service: BrokerService;
  let url: string;

  const ask = (key: string, body: Record<string, unknown>) =>
    fetch(`${url}/v1/claims`, {
      method: 'POST',
      headers: { 'x-api-key': key, 'content-type': 'application/json' },
      body: JSON.stringify({ tool: 'text.word_count', args: { text: 'x' }, ...body }),
    });

  beforeAll(async () => {
    ws = await makeWorkspace({
      broker: {
        apiKeys: [
          { id: 'plain', sha256: apiKeyHash(PLAIN_KEY), subject: 'ci-bot', roles: ['admin'] },
          {
            id: 'mcp',
            sha256: apiKeyHash(DELEGATE_KEY),
            subject: 'mcp-gateway',
            roles: ['mcp-delegate'],
          },
        ],
      },
    });
    appendFileSync(
      join(ws.dir, 'broker-policy.yaml'),
      'delegates:\n  mcp-delegate: { subjects: ["alice", "team-*"], roles: [support] }\n',
    );
    service = await createBrokerService(loadConfig(ws.configFile));
    url = await service.listen({ host: '127.0.0.1', port: 0 });
  });

  afterAll(async () => {
    await service?.shutdown();
    ws?.cleanup();
  });

  it('refuses a claim for another subject from an identity with no delegate role (even an admin), and records the refusal', async () => {
    const r = await ask(PLAIN_KEY, { onBehalfOf: { subject: 'alice', roles: ['support'] } });
    expect(r.status).toBe(403);
    const body = (await r.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('policy_denied');
    expect(body.error.message).toMatch(
      /ci-bot may not ask claims on behalf of alice: none of its roles \(admin\) is a delegate .*`delegates`/,
    );
    expect(body).not.toHaveProperty('claim');
    // The same identity still gets claims for itself: the refusal is about the subject.
    expect((await ask(PLAIN_KEY, {})).status).toBe(201);
    await service.runtime.audit.flush();
    const trail = readFileSync(join(ws.dir, '.toolcage', 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(trail).toContainEqual(
      expect.objectContaining({
        kind: 'claim_refused',
        subject: 'ci-bot',
        errorCode: 'policy_denied',
      }),
    );
  });

  it('refuses the MCP client the same way: the MCP caller gets policy_denied, never a claim', async () => {
    const provider = new RemoteBrokerClaimProvider({
      url,
      credential: new ApiKeyCredential({ key: PLAIN_KEY }),
    });
    await expect(
      provider.claimFor({
        toolId: 'text.word_count',
        args: { text: 'x' },
        principal: { sub: 'alice', tenant: 'default', roles: ['support'] },
      }),
    ).rejects.toMatchObject({ code: 'policy_denied' });
  });

  it('refuses a delegate asking for a subject outside its grant, or asserting a role its grant does not list', async () => {
    const other = await ask(DELEGATE_KEY, { onBehalfOf: { subject: 'bob', roles: ['support'] } });
    expect(other.status).toBe(403);
    expect(((await other.json()) as { error: { message: string } }).error.message).toMatch(
      /on behalf of bob/,
    );
    const escalated = await ask(DELEGATE_KEY, {
      onBehalfOf: { subject: 'alice', roles: ['support', 'admin'] },
    });
    expect(escalated.status).toBe(403);
    expect(((await escalated.json()) as { error: { message: string } }).error.message).toMatch(
      /may not assert role admin for another subject/,
    );
  });

  it('mints for the subject (sub = the caller it names) when the delegate grant covers subject and roles', async () => {
    const r = await ask(DELEGATE_KEY, { onBehalfOf: { subject: 'team-blue', roles: ['support'] } });
    expect(r.status).toBe(201);
    const { claim } = (await r.json()) as { claim: string };
    expect(decodeJwt(claim).sub).toBe('team-blue');
  });
});
