/**
 * Attack: a tool reaches a host:port its manifest does not list — directly,
 * by another port of an allowed host, by spelling the host differently, or
 * by a Host header naming an allowed host.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway, EgressError } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let allowed: LoopbackServer;
let offList: LoopbackServer;
let gateway: EgressGateway;
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

beforeAll(async () => {
  allowed = await startLoopbackServer((req, res) => res.end(`host=${req.headers.host}`));
  offList = await startLoopbackServer();
  gateway = new EgressGateway({
    rulesFor: () => [{ host: '127.0.0.1', port: allowed.port }],
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
  });
});
afterAll(async () => {
  await allowed?.close();
  await offList?.close();
});

const session = () =>
  gateway.open({ invocationId: `inv_${Math.random()}`, tool }, Date.now() + 5000)!;

it('refuses another port of an allowed host with a clear error, and nothing reaches it', async () => {
  const err = await session()
    .fetch({ url: `${offList.origin}/` })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(EgressError);
  expect(err).toMatchObject({
    kind: 'not_allowed',
    message: `127.0.0.1:${offList.port} is not on this tool's egress allowlist (allowed: 127.0.0.1:${allowed.port}).`,
  });
  expect(offList.seen).toHaveLength(0);
});

it('refuses another spelling of the address (localhost, 127.1, [::ffff:127.0.0.1]) — the pair is exact', async () => {
  for (const url of [
    `http://localhost:${allowed.port}/`,
    `http://127.1:${allowed.port}/`.replace('127.1', '127.0.0.2'),
    `http://[::ffff:127.0.0.1]:${allowed.port}/`,
  ]) {
    await expect(session().fetch({ url })).rejects.toMatchObject({ kind: 'not_allowed' });
  }
  expect(allowed.seen).toHaveLength(0);
});

it('a Host header naming the allowed host does not widen the list; on an allowed request the boundary sets Host itself', async () => {
  await expect(
    session().fetch({ url: `${offList.origin}/`, headers: { Host: `127.0.0.1:${allowed.port}` } }),
  ).rejects.toMatchObject({ kind: 'not_allowed' });
  const ok = await session().fetch({
    url: `${allowed.origin}/`,
    headers: { Host: 'evil.example' },
  });
  expect(ok.body).toBe(`host=127.0.0.1:${allowed.port}`);
  expect(offList.seen).toHaveLength(0);
});

it('refuses a tool with no egress rules (network: none) entirely: no session is opened', () => {
  const none = new EgressGateway({ rulesFor: () => undefined });
  expect(none.open({ invocationId: 'inv_x', tool }, Date.now() + 1000)).toBeUndefined();
});
