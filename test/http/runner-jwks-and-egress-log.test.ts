/**
 * The runner's HTTP service publishes its minting key at
 * `GET /.well-known/runner-jwks.json` (404 `not_found` without one), the
 * github lane example `toolcage init` writes (commented out) works once
 * uncommented with the key init generated, and every egress request is an
 * info line of the service log naming hosts, lanes and outcome, never a
 * credential, a body or a path. Only 127.0.0.1 is contacted.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_CONFIG } from '../../src/cli/workspace.ts';
import { loadSigningKey } from '../../src/claims/keys.ts';
import { writeSignedLock } from '../../src/registry/lock-build.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import {
  call,
  makeWorkspace,
  openBroker,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';

const opened: Array<{ ws: Workspace; served?: RunningRunner }> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) {
    await o.served?.close();
    o.ws.cleanup();
  }
});

/** The `credentials:` block of DEFAULT_CONFIG, uncommented the way an operator would. */
function uncommentedCredentials(): Record<string, unknown> {
  const block = DEFAULT_CONFIG.slice(DEFAULT_CONFIG.indexOf('# credentials:')).replace(
    /^# ?/gm,
    '',
  );
  return (parseYaml(block) as { credentials: Record<string, unknown> }).credentials;
}

describe('GET /.well-known/runner-jwks.json', () => {
  it('is 404 not_found when no signing key is configured', async () => {
    const ws = await makeWorkspace();
    const o: { ws: Workspace; served?: RunningRunner } = { ws };
    opened.push(o);
    o.served = await startRunner(ws);
    const r = await fetch(`${o.served.url}/.well-known/runner-jwks.json`);
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'not_found',
      message:
        'This runner has no signing key (credentials.signingKey is not configured), so it mints no tokens and publishes no JWKS.',
    });
  });

  it('serves the public half of the key init generated, once the init example lane is uncommented', async () => {
    const ws = await makeWorkspace({ credentials: uncommentedCredentials() });
    const o: { ws: Workspace; served?: RunningRunner } = { ws };
    opened.push(o);
    o.served = await startRunner(ws);
    const r = await fetch(`${o.served.url}/.well-known/runner-jwks.json`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('public, max-age=60');
    const jwks = (await r.json()) as { keys: Array<Record<string, unknown>> };
    const published = JSON.parse(
      readFileSync(join(ws.dir, 'keys', 'runner.jwks.json'), 'utf8'),
    ) as { keys: Array<Record<string, unknown>> };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({
      kid: published.keys[0]!.kid,
      kty: 'OKP',
      crv: 'Ed25519',
      x: published.keys[0]!.x,
    });
    expect(jwks.keys[0]).not.toHaveProperty('d');
    expect(o.served.service.runner.runnerJwks()).toEqual(jwks);
  });
});

describe('egress log of the runner service', () => {
  let api: LoopbackServer;
  afterAll(async () => {
    await api?.close();
  });

  it('logs each egress request at info, with hosts, lanes and outcome but no credential, body or path', async () => {
    api = await startLoopbackServer((_req, res) => res.end('RESPONSE-BODY-MARKER-e81f'));
    const ws = await makeWorkspace({
      credentials: {
        signingKey: 'keys/runner.private.jwk.json',
        lanes: {
          fake: {
            kind: 'minted',
            audience: 'test-api',
            hosts: [{ host: '127.0.0.1', port: api.port, scheme: 'http' }],
          },
        },
      },
      egress: { unsafeAllowPrivateAddresses: ['127.0.0.1/32'] },
    });
    const o: { ws: Workspace; served?: RunningRunner } = { ws };
    opened.push(o);
    const folder = join(ws.dir, 'tool-manifests', 'test.egress_log');
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'manifest.yaml'),
      `id: test.egress_log
version: 1.0.0
description: Posts to a loopback API through ctx.fetch, then tries a host off its list.
runtime: js
entry: tool.js
inputSchema: { type: object }
outputSchema: { type: object }
limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 4096 }
network: { egress: [{ host: 127.0.0.1, port: ${api.port} }] }
scopes: [test:run]
risk: low
credentials: [{ lane: fake, as: API_TOKEN, scopes: [], expose: egress }]
cost: 1
`,
    );
    writeFileSync(
      join(folder, 'tool.js'),
      `export default async function run(input, ctx) {
  const r = await ctx.fetch('${api.origin}/private-path-marker-7c2d', { method: 'POST', body: 'REQUEST-BODY-MARKER-4b9a' });
  let off;
  try { await ctx.fetch('http://127.0.0.1:1/'); } catch (e) { off = e.kind; }
  return { status: r.status, off };
}
`,
    );
    await writeSignedLock(
      join(ws.dir, 'tool-manifests'),
      await loadSigningKey(join(ws.dir, 'keys', 'registry.private.jwk.json')),
    );
    o.served = await startRunner(ws);
    const broker = await openBroker(ws);
    try {
      const r = await call(o.served.url, broker, 'test.egress_log', {}, { scope: ['test:run'] });
      expect(r.status).toBe(200);
      expect(r.body.result).toEqual({ status: 200, off: 'not_allowed' });
    } finally {
      await broker.close();
    }
    const token = String(api.seen.at(-1)?.headers.authorization).replace(/^Bearer /, '');
    expect(token.split('.')).toHaveLength(3);

    const lines = o.served.logs
      .map((l) => JSON.parse(l) as { level: number; msg: string; egress?: Record<string, unknown> })
      .filter((l) => l.msg === 'egress');
    expect(lines.map((l) => ({ level: l.level, ...l.egress }))).toEqual([
      expect.objectContaining({
        level: 30,
        toolId: 'test.egress_log',
        method: 'POST',
        host: '127.0.0.1',
        port: api.port,
        outcome: 'sent',
        status: 200,
        injected: ['fake'],
        responseBytes: 25,
      }),
      expect.objectContaining({
        level: 30,
        toolId: 'test.egress_log',
        method: 'GET',
        host: '127.0.0.1',
        port: 1,
        outcome: 'refused',
        injected: [],
      }),
    ]);
    const all = o.served.logs.join('\n');
    for (const secret of [
      token,
      'REQUEST-BODY-MARKER-4b9a',
      'RESPONSE-BODY-MARKER-e81f',
      'private-path-marker-7c2d',
    ])
      expect(all).not.toContain(secret);
  });
});
