/**
 * Attack: a tool returns small, valid JSON nested 5,000–20,000 levels deep.
 * A loose output schema accepts it, the audit said `allowed`, and the client
 * got a 500 from the serialiser. Output depth is capped like input depth:
 * the call is refused as `output_invalid`, and the audit records exactly
 * that refusal.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace, startRunner, type RunningRunner, type Workspace } from '../http/helpers.ts';

let ws: Workspace;
let runner: RunningRunner;

beforeAll(async () => {
  ws = await makeWorkspace();
  const folder = join(ws.dir, 'tool-manifests', 'test.deep');
  mkdirSync(folder, { recursive: true });
  writeFileSync(
    join(folder, 'manifest.yaml'),
    `id: test.deep
version: 1.0.0
description: Returns output nested as deep as asked.
runtime: js
entry: deep.js
inputSchema: { type: object }
outputSchema: { type: object }
limits: { timeoutMs: 3000, memoryMb: 32, maxOutputBytes: 200000 }
network: none
scopes: [test:run]
risk: low
credentials: []
cost: 1
`,
  );
  writeFileSync(
    join(folder, 'deep.js'),
    'export default function run(input) { let v = []; for (let i = 1; i < input.depth; i++) v = [v]; return { v }; }\n',
  );
  await writeSignedLock(
    join(ws.dir, 'tool-manifests'),
    await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
  );
  ws.loaded = loadConfig(ws.configFile);
  runner = await startRunner(ws);
});
afterAll(async () => {
  await runner?.close();
  ws?.cleanup();
});

async function invokeDeep(depth: number) {
  const args = { depth };
  const claim = await forge(ws.brokerKey, { tool: 'test.deep', args, scope: ['test:run'] });
  const r = await fetch(`${runner.url}/v1/tools/test.deep/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${claim}` },
    body: JSON.stringify({ args }),
  });
  return { status: r.status, body: (await r.json()) as any };
}

it('shallow output passes', async () => {
  const r = await invokeDeep(10);
  expect(r.status).toBe(200);
});

for (const depth of [5_000, 20_000]) {
  it(`output nested ${depth} levels is output_invalid, and the audit says so`, async () => {
    const before = runner.audit.events.length;
    const r = await invokeDeep(depth);
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('output_invalid');
    expect(r.body.error.message).toMatch(/nest deeper than \d+ levels/);
    const events = runner.audit.events.slice(before);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      toolId: 'test.deep',
      outcome: 'failed',
      errorCode: 'output_invalid',
    });
  });
}
