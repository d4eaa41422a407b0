/**
 * Attack: an allowlisted name (or literal) that points at a private,
 * loopback, link-local or metadata address. Nothing here ever connects:
 * every request is refused after resolution, before a socket is opened.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGateway, forbiddenReason, type Resolver } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let server: LoopbackServer;
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;
/** A hostile DNS: names resolve wherever the attacker likes. */
const zone: Record<string, string[]> = {
  'api.internal.example': ['10.0.0.5'],
  'metadata.example': ['169.254.169.254'],
  'v6meta.example': ['fd00:ec2::254'],
  'mapped.example': ['::ffff:192.168.1.1'],
  'mixed.example': ['8.8.8.8', '127.0.0.1'],
};
const resolver: Resolver = async (name) =>
  (zone[name] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));

beforeAll(async () => {
  server = await startLoopbackServer();
});
afterAll(() => server?.close());

describe('with unsafeAllowPrivateAddresses off (the default)', () => {
  const gateway = (rules: Array<{ host: string; port: number }>) =>
    new EgressGateway({ rulesFor: () => rules, resolver });
  const fetchVia = (host: string, port: number, url: string) =>
    gateway([{ host, port }])
      .open({ invocationId: 'inv', tool }, Date.now() + 5000)!
      .fetch({ url });

  it('refuses localhost even when it is on the allowlist, and the loopback server hears nothing', async () => {
    await expect(
      new EgressGateway({ rulesFor: () => [{ host: 'localhost', port: server.port }] })
        .open({ invocationId: 'i', tool }, Date.now() + 5000)!
        .fetch({ url: `http://localhost:${server.port}/` }),
    ).rejects.toMatchObject({
      kind: 'address_forbidden',
      message: expect.stringMatching(
        /^localhost resolves to (127\.0\.0\.1|::1), a loopback address; tools may only reach public addresses\.$/,
      ),
    });
    await expect(fetchVia('127.0.0.1', server.port, `${server.origin}/`)).rejects.toMatchObject({
      kind: 'address_forbidden',
    });
    expect(server.seen).toHaveLength(0);
  });

  it('refuses names resolving to private, metadata (v4 and v6) and IPv4-mapped private addresses', async () => {
    await expect(
      fetchVia('api.internal.example', 443, 'https://api.internal.example/'),
    ).rejects.toMatchObject({
      kind: 'address_forbidden',
      message:
        'api.internal.example resolves to 10.0.0.5, a private (RFC 1918) address; tools may only reach public addresses.',
    });
    await expect(
      fetchVia('metadata.example', 80, 'http://metadata.example/latest/meta-data/'),
    ).rejects.toMatchObject({
      kind: 'address_forbidden',
      message: expect.stringContaining('link-local'),
    });
    await expect(fetchVia('v6meta.example', 80, 'http://v6meta.example/')).rejects.toMatchObject({
      kind: 'address_forbidden',
      message: expect.stringContaining('unique local'),
    });
    await expect(fetchVia('mapped.example', 80, 'http://mapped.example/')).rejects.toMatchObject({
      kind: 'address_forbidden',
      message: expect.stringContaining('private'),
    });
  });

  it('refuses a mixed answer (one public, one loopback): a rebinding attempt, refused whole', async () => {
    await expect(fetchVia('mixed.example', 80, 'http://mixed.example/')).rejects.toMatchObject({
      kind: 'address_forbidden',
      message: expect.stringContaining('127.0.0.1'),
    });
  });

  it('refuses metadata and private IP literals on the allowlist', async () => {
    await expect(
      fetchVia('169.254.169.254', 80, 'http://169.254.169.254/latest/meta-data/'),
    ).rejects.toMatchObject({ kind: 'address_forbidden' });
    await expect(
      fetchVia('::1', server.port, `http://[::1]:${server.port}/`),
    ).rejects.toMatchObject({ kind: 'address_forbidden' });
  });
});

it('classifies the special-purpose ranges, including embedded IPv4 forms', () => {
  expect(forbiddenReason('8.8.8.8')).toBeUndefined();
  expect(forbiddenReason('2606:4700:4700::1111')).toBeUndefined();
  for (const ip of [
    '0.0.0.0',
    '10.1.2.3',
    '100.64.0.1',
    '127.0.0.1',
    '169.254.169.254',
    '172.16.0.1',
    '192.168.0.1',
    '224.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    'fe80::1',
    'fd00:ec2::254',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '64:ff9b::10.0.0.1',
    'ff02::1',
  ]) {
    expect(forbiddenReason(ip), ip).toBeDefined();
  }
});
