/**
 * Attack: a hostile resolver answers an allowlisted name with a forbidden
 * address spelled so that pattern checks miss it: the uncompressed
 * IPv4-mapped loopback `0:0:0:0:0:ffff:7f00:1`, other spellings of
 * mapped/NAT64 loopback and private addresses, and the local-use NAT64
 * range `64:ff9b:1::/48` (RFC 8215), which translates into whatever network
 * the operator routes it to. Every answer is normalised before the address
 * check; all are refused and the loopback server hears nothing.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway, forbiddenReason, type Resolver } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

const SPELLINGS: Record<string, string> = {
  'uncompressed IPv4-mapped loopback': '0:0:0:0:0:ffff:7f00:1',
  'uncompressed IPv4-mapped loopback, dotted': '0:0:0:0:0:ffff:127.0.0.1',
  'IPv4-mapped loopback with leading zeros': '0000:0000:0000:0000:0000:FFFF:7F00:0001',
  'SIIT-translated loopback': '::ffff:0:7f00:1',
  'IPv4-compatible loopback': '::127.0.0.1',
  'well-known NAT64 of a private address, uncompressed': '0064:ff9b:0:0:0:0:0a00:0001',
  'local-use NAT64 (64:ff9b:1::/48)': '64:ff9b:1::808:808',
  'local-use NAT64, another spelling': '64:ff9b:1:ffff::1',
  'link-local with a zone id': 'fe80::1%lo',
};

let server: LoopbackServer;
beforeAll(async () => {
  server = await startLoopbackServer();
});
afterAll(() => server?.close());

for (const [name, address] of Object.entries(SPELLINGS)) {
  it(`refuses a name that resolves to ${name} (${address})`, async () => {
    expect(forbiddenReason(address)).toBeDefined();
    const resolver: Resolver = async () => [{ address, family: 6 }];
    const gateway = new EgressGateway({
      rulesFor: () => [{ host: 'api.example', port: server.port }],
      resolver,
    });
    await expect(
      gateway
        .open({ invocationId: `inv-${name}`, tool }, Date.now() + 5000)!
        .fetch({ url: `http://api.example:${server.port}/` }),
    ).rejects.toMatchObject({ kind: 'address_forbidden' });
    expect(server.seen).toHaveLength(0);
  });
}

it('public addresses in any spelling still pass the check', () => {
  expect(forbiddenReason('0:0:0:0:0:ffff:808:808')).toBeUndefined();
  expect(forbiddenReason('2606:4700:4700:0:0:0:0:1111')).toBeUndefined();
  expect(forbiddenReason('64:ff9b::8.8.8.8')).toBeUndefined();
});
