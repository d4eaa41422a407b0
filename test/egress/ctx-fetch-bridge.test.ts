import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGateway, type EgressEvent } from '../../src/egress/index.ts';
import type { SandboxBackend, SandboxTool } from '../../src/ports/sandbox.ts';
import { request, startBackend } from '../sandbox/isolated-vm/helpers.ts';
import { startLoopbackServer, type LoopbackServer } from './helpers.ts';

let server: LoopbackServer;
let other: LoopbackServer;
let backend: SandboxBackend;
const events: EgressEvent[] = [];
let rules: Array<{ host: string; port: number }> = [];

beforeAll(async () => {
  server = await startLoopbackServer((req, res) => {
    if (req.url === '/json') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ hello: 'world', method: req.method, body: req.body }));
    } else res.end(`plain ${req.method} ${req.url}`);
  });
  other = await startLoopbackServer();
  rules = [{ host: '127.0.0.1', port: server.port }];
  const gateway = new EgressGateway({
    rulesFor: (tool: SandboxTool) => (tool.id === 'test.tool' ? rules : undefined),
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
    onEvent: (e) => events.push(e),
  });
  backend = await startBackend({ egress: gateway });
});
afterAll(async () => {
  await backend?.dispose();
  await server?.close();
  await other?.close();
});

const run = (source: string, input: unknown = {}) =>
  backend.run(request(source, { timeoutMs: 3000 }, input));

describe('ctx.fetch over the worker bridge', () => {
  it('reaches an allowlisted loopback server and returns status, headers and body', async () => {
    const result = await run(
      `export default async function run(input, ctx) {
      const r = await ctx.fetch(input.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ a: 1 }) });
      return { status: r.status, ok: r.ok, type: r.headers.get('Content-Type'), json: await r.json() };
    }`,
      { url: `${server.origin}/json` },
    );
    expect(result).toMatchObject({ ok: true });
    expect(JSON.parse((result as { outputJson: string }).outputJson)).toEqual({
      status: 200,
      ok: true,
      type: 'application/json',
      json: { hello: 'world', method: 'POST', body: '{"a":1}' },
    });
    expect(events.at(-1)).toMatchObject({
      outcome: 'sent',
      host: '127.0.0.1',
      port: server.port,
      status: 200,
      injected: [],
    });
  });

  it('rejects a host:port off the allowlist with a clear EgressError the tool can catch, and sends nothing', async () => {
    const before = other.seen.length;
    const result = await run(
      `export default async function run(input, ctx) {
      try { await ctx.fetch(input.url); return { sent: true }; } catch (e) { return { name: e.name, kind: e.kind, message: e.message }; }
    }`,
      { url: `${other.origin}/x` },
    );
    const out = JSON.parse((result as { outputJson: string }).outputJson);
    expect(out).toEqual({
      name: 'EgressError',
      kind: 'not_allowed',
      message: `127.0.0.1:${other.port} is not on this tool's egress allowlist (allowed: 127.0.0.1:${server.port}).`,
    });
    expect(other.seen.length).toBe(before);
  });

  it('an uncaught refusal fails the run with the boundary message', async () => {
    const result = await run(
      `export default async function run(input, ctx) { await ctx.fetch('http://127.0.0.1:1/'); return {}; }`,
    );
    expect(result).toMatchObject({
      ok: false,
      code: 'sandbox_failed',
      message: expect.stringContaining('EgressError: 127.0.0.1:1 is not on this tool'),
    });
  });

  it('a tool without egress rules gets network: none', async () => {
    const saved = rules;
    rules = [];
    try {
      const result = await run(
        `export default async function run(input, ctx) { try { await ctx.fetch(input.url); return {}; } catch (e) { return { m: e.message }; } }`,
        { url: `${server.origin}/` },
      );
      expect(JSON.parse((result as { outputJson: string }).outputJson)).toEqual({
        m: 'This tool declares no network egress (network: none).',
      });
    } finally {
      rules = saved;
    }
  });

  it('refuses non-string bodies and non-http schemes inside and outside the isolate', async () => {
    const result = await run(
      `export default async function run(input, ctx) {
      const out = [];
      for (const [u, init] of [[input.url, { method: 'POST', body: { a: 1 } }], ['file:///etc/passwd'], ['ftp://127.0.0.1/']]) {
        try { await ctx.fetch(u, init); out.push('sent'); } catch (e) { out.push(e.message); }
      }
      return { out };
    }`,
      { url: `${server.origin}/` },
    );
    expect(JSON.parse((result as { outputJson: string }).outputJson).out).toEqual([
      'ctx.fetch: body must be a string (use JSON.stringify)',
      'Only http and https URLs are allowed, not file:',
      'Only http and https URLs are allowed, not ftp:',
    ]);
  });

  it('a plain benign tool still works and sees no credentials', async () => {
    const result = await run(
      `export default function run(input, ctx) { return { keys: Object.keys(ctx.credentials), fetch: typeof ctx.fetch }; }`,
    );
    expect(JSON.parse((result as { outputJson: string }).outputJson)).toEqual({
      keys: [],
      fetch: 'function',
    });
  });
});
