// Approvals the MCP way: a client that can open a URL is sent to the console page of the pending
// approval request, and the call is retried once the person has completed it there. Legacy era
// (2025-11-25, SDK v1 client, Streamable HTTP session): a server-initiated `elicitation/create`
// in URL mode. Current era (2026-07-28, SDK v2 client, stateless): an `input_required` result
// with a URL elicitation, fulfilled by the client's own elicitation handler and retried. The test
// acts as the person: it approves the request through the broker's HTTP API when the elicitation
// arrives. The approval is the broker's durable record either way, never the client's answer.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client as ClientV1 } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as HttpV1 } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, type ElicitRequest } from '@modelcontextprotocol/sdk/types.js';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { loadConfig } from '../../src/config/load.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { patchArgs } from '../helpers/runner.ts';
import { callRaw, errorOf } from './helpers.ts';
import { startMcpHttpFixture, type McpHttpFixture } from './http-server.ts';

const OPS_KEY = randomBytes(24).toString('base64url');
const CONSOLE = 'https://console.example.test';

type Answer = 'approve-then-accept' | 'accept-without-approving' | 'decline';

describe('approvals the MCP way: URL elicitation to the console page, then one retry', () => {
  let f: McpHttpFixture;
  let broker: BrokerService;
  let brokerUrl: string;
  /** What the person does when the next elicitation arrives. */
  let answer: Answer = 'approve-then-accept';
  const seen: Array<{ mode?: string; url?: string; message?: string }> = [];

  /** The person: looks at the page named in the elicitation, approves there (the HTTP API), answers. */
  async function person(params: { mode?: string; url?: string; message?: string }) {
    seen.push(params);
    const id = /\/console\/approvals\/(apr_[A-Za-z0-9_-]+)$/.exec(params.url ?? '')?.[1];
    if (answer === 'decline') return { action: 'decline' as const };
    if (answer === 'approve-then-accept' && id) {
      const r = await fetch(`${brokerUrl}/v1/approvals/${id}/approve`, {
        method: 'POST',
        headers: { 'x-api-key': OPS_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ reason: 'looked at it in the console' }),
      });
      if (r.status !== 200) throw new Error(`approve: ${r.status} ${await r.text()}`);
    }
    return { action: 'accept' as const };
  }

  beforeAll(async () => {
    f = await startMcpHttpFixture({
      broker: {
        apiKeys: [{ id: 'ops', sha256: apiKeyHash(OPS_KEY), subject: 'ops', roles: ['approver'] }],
        console: { publicUrl: CONSOLE },
        http: { logLevel: 'silent' },
      },
    });
    broker = await createBrokerService(loadConfig(f.ws.config));
    brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await broker?.shutdown();
    await f?.close();
  });

  describe('legacy era (2025-11-25): elicitation/create in URL mode over the session', () => {
    let client: ClientV1;
    beforeAll(async () => {
      client = new ClientV1(
        { name: 'elicit-v1', version: '1.0.0' },
        { capabilities: { elicitation: { url: {} } } },
      );
      client.setRequestHandler(ElicitRequestSchema, (request: ElicitRequest) =>
        person(request.params as { mode?: string; url?: string; message?: string }),
      );
      await client.connect(
        new HttpV1(new URL(f.server.url), {
          requestInit: { headers: { authorization: `Bearer ${f.token}` } },
        }),
      );
    });
    afterAll(async () => {
      await client?.close();
    });

    it('sends the person to the console page of the pending request, then runs the call once it is approved', async () => {
      answer = 'approve-then-accept';
      seen.length = 0;
      const r = await callRaw(client, 'repo.apply_patch', patchArgs('elicited-v1'));
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      expect(JSON.stringify(r.structuredContent)).toContain('elicited-v1 world');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        mode: 'url',
        url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
        message: expect.stringMatching(/needs a human's approval.*Open the approval request apr_/s),
      });
    });

    it('answers with the approval_required error when the person declines, or accepts without anybody approving', async () => {
      for (const a of ['decline', 'accept-without-approving'] as const) {
        answer = a;
        seen.length = 0;
        const r = await callRaw(client, 'repo.apply_patch', patchArgs(`not-${a}`));
        expect(r.isError).toBe(true);
        expect(errorOf(r)).toMatchObject({
          code: 'approval_required',
          details: { status: 'pending' },
        });
        expect(seen).toHaveLength(1);
      }
    });
  });

  describe('current era (2026-07-28): input_required with a URL elicitation, fulfilled by the client', () => {
    let client: Client;
    beforeAll(async () => {
      client = new Client(
        { name: 'elicit-v2', version: '1.0.0' },
        {
          capabilities: { elicitation: { url: {} } },
          versionNegotiation: { mode: { pin: '2026-07-28' } },
        },
      );
      client.setRequestHandler('elicitation/create', (request) =>
        person(request.params as { mode?: string; url?: string; message?: string }),
      );
      await client.connect(
        new StreamableHTTPClientTransport(new URL(f.server.url), {
          requestInit: { headers: { authorization: `Bearer ${f.token}` } },
        }),
      );
    });
    afterAll(async () => {
      await client?.close();
    });

    it('returns input_required naming the console page; the client’s retry runs the approved call', async () => {
      expect(client.getProtocolEra()).toBe('modern');
      answer = 'approve-then-accept';
      seen.length = 0;
      const r = await client.callTool({
        name: 'repo.apply_patch',
        arguments: patchArgs('elicited-v2'),
      });
      expect(r.isError ?? false, JSON.stringify(r)).toBe(false);
      expect(JSON.stringify(r.structuredContent)).toContain('elicited-v2 world');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toMatchObject({
        mode: 'url',
        url: expect.stringMatching(new RegExp(`^${CONSOLE}/console/approvals/apr_`)),
      });
    });

    it('ends with the approval_required error after one round when nobody approved', async () => {
      answer = 'accept-without-approving';
      seen.length = 0;
      const r = await client.callTool({
        name: 'repo.apply_patch',
        arguments: patchArgs('nobody-approved'),
      });
      expect(r.isError).toBe(true);
      expect(errorOf(r as never).code).toBe('approval_required');
      expect(seen).toHaveLength(1);
    });
  });
});
