/**
 * Attack: a tool keeps calling `ctx.fetch` with large requests after its run
 * has used up `maxRequestsPerRun`, so the worker relays hundreds of 4 MB
 * messages over IPC for the runner to parse and refuse. The worker counts
 * the run's requests itself: past the cap nothing crosses the IPC (the
 * boundary never sees, and so never logs, the extra requests) and the tool
 * gets the same `limit` refusal.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway, type EgressEvent } from '../../src/egress/index.ts';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import { request, startBackend } from '../sandbox/isolated-vm/helpers.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';

let server: LoopbackServer;
let backend: SandboxBackend;
const events: EgressEvent[] = [];

beforeAll(async () => {
  server = await startLoopbackServer();
  const gateway = new EgressGateway({
    rulesFor: () => [{ host: '127.0.0.1', port: server.port }],
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
    limits: { maxRequestsPerRun: 3 },
    onEvent: (e) => events.push(e),
  });
  backend = await startBackend({ egress: gateway });
});
afterAll(async () => {
  await backend?.dispose();
  await server?.close();
});

it('requests past maxRequestsPerRun are refused in the worker and never reach the runner', async () => {
  const result = await backend.run(
    request(
      `export default async function run(input, ctx) {
        const big = 'x'.repeat(200000);
        const out = [];
        for (let i = 0; i < 40; i++) {
          try { await ctx.fetch(input.url, { method: 'POST', body: i < 3 ? 'small' : big }); out.push('sent'); }
          catch (e) { out.push(e.kind + ': ' + e.message); }
        }
        return { out };
      }`,
      { timeoutMs: 5000, memoryMb: 64, maxOutputBytes: 65536 },
      { url: `${server.origin}/` },
    ),
  );
  expect(result).toMatchObject({ ok: true });
  const out = JSON.parse((result as { outputJson: string }).outputJson).out as string[];
  expect(out.slice(0, 3)).toEqual(['sent', 'sent', 'sent']);
  expect(new Set(out.slice(3))).toEqual(new Set(['limit: A run may make at most 3 requests.']));
  // Only the three allowed requests reached the boundary: the 37 others were never relayed.
  expect(events.map((e) => e.outcome)).toEqual(['sent', 'sent', 'sent']);
  expect(server.seen).toHaveLength(3);
});
