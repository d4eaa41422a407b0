/**
 * Attack: a tool whose credential lane is `api.example:PORT` over TLS asks
 * for `http://api.example:PORT/`. Injection matched host and port only, so
 * the lane's credential went out in clear text. A lane host is now pinned
 * to its scheme (https unless the lane is a loopback test lane marked
 * `scheme: http`): the request is refused before anything is sent, through
 * `ctx.fetch`'s boundary and the Docker socket proxy alike.
 *
 * The "TLS" host here is a plain loopback server the hostile resolver points
 * `api.example` at, so that anything the boundary sends in clear is seen.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { laneConfigSchema } from '../../src/credentials/index.ts';
import {
  EgressGateway,
  startSocketProxy,
  type EgressGrant,
  type Resolver,
  type SocketProxy,
} from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer } from '../egress/helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

const SECRET = `tls-only-lane-secret-${CANARY_MARK}-0123456789`;
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;
const resolver: Resolver = async () => [{ address: '127.0.0.1', family: 4 }];

let server: LoopbackServer;
let gateway: EgressGateway;
let seq = 0;
beforeAll(async () => {
  server = await startLoopbackServer((req, res) =>
    res.end(req.headers.authorization === `Bearer ${SECRET}` ? 'auth=injected' : 'auth=none'),
  );
  gateway = new EgressGateway({
    rulesFor: () => [
      { host: 'api.example', port: server.port },
      { host: '127.0.0.1', port: server.port },
    ],
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
    resolver,
  });
});
afterAll(() => server?.close());

function session(hosts: EgressGrant['hosts']) {
  const id = `inv-${++seq}`;
  gateway.grant(id, tool.id, [
    {
      lane: 'api',
      hosts,
      header: 'Authorization',
      headerValue: `Bearer ${SECRET}`,
      secret: SECRET,
    },
  ]);
  return gateway.open({ invocationId: id, tool }, Date.now() + 5000)!;
}

describe('ctx.fetch boundary', () => {
  it('refuses http:// to a lane host pinned to https (the default), and sends nothing', async () => {
    const s = session([{ host: 'api.example', port: server.port }]);
    await expect(s.fetch({ url: `http://api.example:${server.port}/` })).rejects.toMatchObject({
      kind: 'not_allowed',
      message: `api.example:${server.port} is a host of the credential lane api over https; the request used http and was not sent.`,
    });
    expect(server.seen).toHaveLength(0);
  });

  it('a loopback test lane explicitly marked scheme: http still gets its credential', async () => {
    const s = session([{ host: '127.0.0.1', port: server.port, scheme: 'http' }]);
    const r = await s.fetch({ url: `${server.origin}/` });
    expect(r.body).toBe('auth=injected');
    server.seen.length = 0;
  });

  it('a grant marking a non-loopback host scheme: http is refused outright', () => {
    expect(() =>
      gateway.grant('inv-bad', tool.id, [
        {
          lane: 'api',
          hosts: [{ host: 'api.example', port: 80, scheme: 'http' }],
          header: 'Authorization',
          headerValue: 'x',
          secret: SECRET,
        },
      ]),
    ).toThrow(/scheme http is only allowed for a loopback IP literal/);
  });
});

describe('lane config', () => {
  it('defaults a lane host to https and refuses scheme: http on anything but a loopback literal', () => {
    const base = { kind: 'static', env: 'T' } as const;
    expect(
      laneConfigSchema.parse({ ...base, hosts: [{ host: 'api.example', port: 443 }] }).hosts,
    ).toEqual([{ host: 'api.example', port: 443, scheme: 'https' }]);
    expect(() =>
      laneConfigSchema.parse({
        ...base,
        hosts: [{ host: 'api.example', port: 80, scheme: 'http' }],
      }),
    ).toThrow(/scheme: http is only for loopback test lanes/);
    expect(
      laneConfigSchema.parse({
        ...base,
        hosts: [{ host: '127.0.0.1', port: 8080, scheme: 'http' }],
      }).hosts[0]!.scheme,
    ).toBe('http');
  });
});

describe('Docker socket proxy', () => {
  let proxy: SocketProxy;
  beforeAll(async () => {
    proxy = await startSocketProxy(session([{ host: 'api.example', port: server.port }]));
  });
  afterAll(() => proxy?.close());

  it('refuses an absolute-form http:// request to an https lane host with 403, and sends nothing', async () => {
    const r = await new Promise<{ status: number; kind: unknown }>((resolve, reject) => {
      const req = request(
        { socketPath: proxy.path, method: 'GET', path: `http://api.example:${server.port}/` },
        (res) => {
          res.resume();
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, kind: res.headers['x-toolcage-egress'] }),
          );
        },
      );
      req.on('error', reject);
      req.end();
    });
    expect(r).toEqual({ status: 403, kind: 'not_allowed' });
    expect(server.seen).toHaveLength(0);
  });
});
