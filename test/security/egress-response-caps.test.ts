/**
 * Attack: an allowed host floods the tool with a huge response, or holds the
 * connection open; a tool floods the boundary with requests.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let server: LoopbackServer;
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    if (req.url === '/flood') {
      res.write(Buffer.alloc(64 * 1024, 97));
      res.end(Buffer.alloc(64 * 1024, 97));
    } else if (req.url === '/hang') {
      res.write('partial');
    } else res.end('ok');
  });
});
afterAll(() => server?.close());

const gateway = new EgressGateway({
  rulesFor: () => [{ host: '127.0.0.1', port: server.port }],
  unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
  limits: {
    maxResponseBytes: 10_000,
    requestTimeoutMs: 300,
    maxRequestsPerRun: 3,
    maxRequestBytes: 100,
  },
});

it('cuts a response above maxResponseBytes', async () => {
  await expect(
    gateway
      .open({ invocationId: 'a', tool }, Date.now() + 5000)!
      .fetch({ url: `${server.origin}/flood` }),
  ).rejects.toMatchObject({
    kind: 'too_large',
    message: `The response from 127.0.0.1:${server.port} is larger than 10000 bytes.`,
  });
});

it('gives up on a response slower than requestTimeoutMs, and never past the run deadline', async () => {
  const t0 = Date.now();
  await expect(
    gateway
      .open({ invocationId: 'b', tool }, Date.now() + 5000)!
      .fetch({ url: `${server.origin}/hang` }),
  ).rejects.toMatchObject({ kind: 'timeout' });
  expect(Date.now() - t0).toBeLessThan(2000);
  await expect(
    gateway.open({ invocationId: 'c', tool }, Date.now() - 1)!.fetch({ url: `${server.origin}/` }),
  ).rejects.toMatchObject({ kind: 'timeout' });
});

it('refuses request bodies above maxRequestBytes and requests past maxRequestsPerRun; closing the session refuses the rest', async () => {
  const s = gateway.open({ invocationId: 'd', tool }, Date.now() + 5000)!;
  await expect(
    s.fetch({ url: `${server.origin}/`, method: 'POST', body: 'x'.repeat(101) }),
  ).rejects.toMatchObject({ kind: 'too_large' });
  await s.fetch({ url: `${server.origin}/` });
  await s.fetch({ url: `${server.origin}/` });
  await expect(s.fetch({ url: `${server.origin}/` })).rejects.toMatchObject({ kind: 'limit' });
  const t = gateway.open({ invocationId: 'e', tool }, Date.now() + 5000)!;
  t.close();
  await expect(t.fetch({ url: `${server.origin}/` })).rejects.toMatchObject({ kind: 'closed' });
});
