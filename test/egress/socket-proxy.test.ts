/**
 * The Docker tools' egress: the Unix-socket proxy, driven from the host the
 * way a container's HTTP client drives it (absolute-form requests over the
 * socket). Same boundary as ctx.fetch: allowlist, injection by destination.
 */
import { request } from 'node:http';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { EgressGateway, startSocketProxy, type SocketProxy } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from './helpers.ts';

const SECRET = 'proxy-lane-secret-0123456789';
let lane: LoopbackServer;
let other: LoopbackServer;
let proxy: SocketProxy;
const tool = {
  id: 'test.docker',
  version: '1.0.0',
  runtime: 'docker',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

function viaSocket(
  method: string,
  url: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: proxy.path, method, path: url, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

beforeAll(async () => {
  lane = await startLoopbackServer((req, res) =>
    res.end(
      `auth=${req.headers.authorization === `Bearer ${SECRET}` ? 'injected' : String(req.headers.authorization)} body=${req.body}`,
    ),
  );
  other = await startLoopbackServer((req, res) =>
    res.end(`auth=${String(req.headers.authorization)}`),
  );
  const gateway = new EgressGateway({
    rulesFor: () => [
      { host: '127.0.0.1', port: lane.port },
      { host: '127.0.0.1', port: other.port },
    ],
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
  });
  gateway.grant('inv_docker', tool.id, [
    {
      lane: 'gh',
      hosts: [{ host: '127.0.0.1', port: lane.port, scheme: 'http' as const }],
      header: 'Authorization',
      headerValue: `Bearer ${SECRET}`,
      secret: SECRET,
    },
  ]);
  proxy = await startSocketProxy(
    gateway.open({ invocationId: 'inv_docker', tool }, Date.now() + 10_000)!,
  );
});
afterAll(async () => {
  await proxy?.close();
  await lane?.close();
  await other?.close();
});

it('forwards an absolute-form request to the allowlisted lane host with the credential added', async () => {
  const r = await viaSocket(
    'POST',
    `${lane.origin}/repos/a/b/pulls`,
    { 'content-type': 'application/json' },
    '{"title":"t"}',
  );
  expect(r).toMatchObject({ status: 200, body: 'auth=injected body={"title":"t"}' });
});

it('adds nothing for another allowlisted host, and refuses a host off the list with 403 and a clear error', async () => {
  expect((await viaSocket('GET', `${other.origin}/`)).body).toBe('auth=undefined');
  const refused = await viaSocket('GET', 'http://127.0.0.1:1/');
  expect(refused.status).toBe(403);
  expect(refused.headers['x-toolcage-egress']).toBe('not_allowed');
  expect(JSON.parse(refused.body)).toEqual({
    error: {
      kind: 'not_allowed',
      message: `127.0.0.1:1 is not on this tool's egress allowlist (allowed: 127.0.0.1:${lane.port}, 127.0.0.1:${other.port}).`,
    },
  });
});

it('refuses CONNECT tunnels (they would hide the request from the boundary)', async () => {
  const answer = await new Promise<string>((resolve) => {
    const s = connect(proxy.path, () =>
      s.write(`CONNECT 127.0.0.1:${lane.port} HTTP/1.1\r\nhost: 127.0.0.1:${lane.port}\r\n\r\n`),
    );
    let text = '';
    s.on('data', (c: Buffer) => (text += c.toString('utf8')));
    s.on('close', () => resolve(text));
  });
  expect(answer).toMatch(/^HTTP\/1\.1 405 /);
  expect(lane.seen.every((r) => r.method !== 'CONNECT')).toBe(true);
});

it('the socket folder is private to the runner', () => {
  expect(statSync(proxy.path.replace(/\/egress\.sock$/, '')).mode & 0o777).toBe(0o700);
});
