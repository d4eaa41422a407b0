// The approval webhook against a real loopback receiver: a signed JSON body per new pending request
// (never per reused one), retried with backoff after a failure, and never carrying the value of an
// argument the manifest marks writeOnly.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ApprovalService } from '../../src/broker/approval-service.ts';
import { MemoryApprovalStore } from '../../src/broker/approval-store.ts';
import { ApprovalWebhook, signWebhook } from '../../src/broker/approval-webhook.ts';
import { parsePolicy } from '../../src/broker/policy.ts';
import { DEFAULT_POLICY } from '../../src/cli/workspace.ts';
import type { Registry } from '../../src/registry/registry.ts';

const SECRET = 'whsec_0123456789abcdef';
const TOKEN = 'ghp_supersecretvalue_do_not_leak';
let server: Server;
let url: string;
const deliveries: { headers: IncomingMessage['headers']; body: string; status: number }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += String(c)));
    req.on('end', () => {
      // The first delivery fails, so the retry is exercised.
      const status = deliveries.length === 0 ? 500 : 204;
      deliveries.push({ headers: req.headers, body, status });
      res.statusCode = status;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const tool = {
  manifest: {
    id: 'vault.write',
    version: '1.0.0',
    risk: 'high',
    scopes: ['vault:write'],
    credentials: [],
    inputSchema: {
      type: 'object',
      properties: {
        path: { type: 'string' },
        secret: { type: 'object', properties: { token: { type: 'string', writeOnly: true } } },
      },
    },
  },
  manifestSha256: 'a'.repeat(64),
};
const registry = {
  get: (id: string) => (id === 'vault.write' ? tool : undefined),
} as unknown as Registry;

it('posts one signed, masked notification per new pending request, retrying after a failure', async () => {
  const webhook = new ApprovalWebhook({ url, secret: SECRET, backoffMs: 50, maxAttempts: 3 });
  const svc = new ApprovalService({
    store: new MemoryApprovalStore(),
    policy: parsePolicy(DEFAULT_POLICY, 'policy.yaml'),
    registry: () => registry,
    consoleUrl: (id) => `https://toolcage.example/console/approvals/${id}`,
    onPending: (v) => webhook.notify(v),
  });
  const input = {
    tool: 'vault.write',
    args: { path: 'ci/token', secret: { token: TOKEN } },
    sub: 'svc-ci',
    tenant: 'acme',
    via: 'api_key:ci',
  };
  const first = await svc.open(input);
  const again = await svc.open(input);
  expect(again).toMatchObject({ created: false, record: { id: first.record.id } });
  await webhook.drain();
  await webhook.close();

  expect(deliveries.map((d) => d.status)).toEqual([500, 204]);
  for (const d of deliveries) {
    expect(d.body).not.toContain(TOKEN);
    const expected = Buffer.from(
      signWebhook(SECRET, String(d.headers['x-toolcage-timestamp']), d.body),
    );
    const got = Buffer.from(String(d.headers['x-toolcage-signature']));
    expect(got.length === expected.length && timingSafeEqual(got, expected)).toBe(true);
  }
  expect(deliveries[0]!.headers['x-toolcage-delivery']).toBe(
    deliveries[1]!.headers['x-toolcage-delivery'],
  );
  const body = JSON.parse(deliveries[1]!.body);
  expect(body).toMatchObject({
    event: 'approval.pending',
    approval: {
      id: first.record.id,
      tool: 'vault.write',
      subject: 'svc-ci',
      tenant: 'acme',
      status: 'pending',
      args: { path: 'ci/token', secret: { token: '••••••' } },
      consoleUrl: `https://toolcage.example/console/approvals/${first.record.id}`,
    },
  });
  // The stored record keeps the exact arguments (the hash is over them), only views mask.
  expect((await svc.get(first.record.id))!.argsJson).toContain(TOKEN);
});
