/**
 * Attack: DNS rebinding. The name first resolves to an address the policy
 * allows and then, when the socket would resolve it again, to a forbidden
 * one. The boundary resolves once, checks, and connects to the checked
 * address: the connection cannot be re-pointed.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway, type Resolver } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let server: LoopbackServer;
let calls = 0;
// First answer 127.0.0.1 (allowed by the test's unsafe list), every later answer 127.0.0.2 (not allowed).
const rebinding: Resolver = async () => [
  { address: ++calls === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 },
];
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => res.end(`host=${req.headers.host}`));
});
afterAll(() => server?.close());

it('connects to the address it checked, resolving once; the next resolution to a forbidden address is refused', async () => {
  const gateway = new EgressGateway({
    rulesFor: () => [{ host: 'rebind.example', port: server.port }],
    resolver: rebinding,
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
  });
  const session = gateway.open({ invocationId: 'inv', tool }, Date.now() + 5000)!;
  const first = await session.fetch({ url: `http://rebind.example:${server.port}/` });
  expect(first).toMatchObject({ status: 200, body: `host=rebind.example:${server.port}` });
  expect(calls).toBe(1); // the socket did not resolve the name again
  expect(server.seen[0]!.localAddress).toBe('127.0.0.1');
  await expect(
    session.fetch({ url: `http://rebind.example:${server.port}/` }),
  ).rejects.toMatchObject({
    kind: 'address_forbidden',
    message: expect.stringContaining('127.0.0.2'),
  });
  expect(server.seen).toHaveLength(1);
});
