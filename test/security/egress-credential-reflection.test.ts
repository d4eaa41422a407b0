/**
 * Attack: the lane host reflects request headers (a debug endpoint, an
 * error page), and the tool makes it hand the injected credential back:
 * in the reason phrase, reversed, split in two, one character at a time,
 * `\u`-escaped, base32-encoded, or a few bytes at a time with `Range`.
 * The boundary scans the whole response (status line, headers, body) in
 * all those forms and withholds it; requests carrying a credential may
 * not ask for a range. A lane may also `strip` or `refuse` any response
 * that echoes the request's headers at all.
 */
import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressGateway, type EgressGrant } from '../../src/egress/index.ts';
import type { SandboxTool } from '../../src/ports/sandbox.ts';
import { startLoopbackServer, type LoopbackServer, type Seen } from '../egress/helpers.ts';
import { CANARY_MARK } from '../helpers/canaries.ts';

const SECRET = `ghs_R3flect3dCredentialValue${CANARY_MARK}0123456789`;
const tool = {
  id: 'test.tool',
  version: '1.0.0',
  runtime: 'js',
  limits: { timeoutMs: 5000, memoryMb: 16, maxOutputBytes: 1000 },
} as SandboxTool;

function base32(bytes: Buffer): string {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += A[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return bits > 0 ? out + A[(value << (5 - bits)) & 31] : out;
}

/** What a reflecting host does with the Authorization header it got, by path. */
const REFLECT: Record<string, (auth: string, res: ServerResponse) => void> = {
  '/reason': (a, res) => {
    res.writeHead(401, `Unauthorized: ${a}`);
    res.end('no');
  },
  '/reversed': (a, res) => res.end([...a].reverse().join('')),
  '/split': (a, res) => {
    res.setHeader('x-debug-tail', a.slice(20));
    res.end(`{"seen":"${a.slice(0, 20)}"}`);
  },
  '/per-character': (a, res) => res.end(JSON.stringify({ chars: [...a] })),
  '/u-escaped': (a, res) =>
    res.end(
      `{"auth":"${[...a].map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).join('')}"}`,
    ),
  '/base32': (a, res) => res.end(base32(Buffer.from(`echo:${a}`)).toLowerCase()),
};

let server: LoopbackServer;
let seq = 0;
beforeAll(async () => {
  server = await startLoopbackServer((req: Seen, res) => {
    const auth = String(req.headers.authorization ?? '');
    const reflect = REFLECT[req.url];
    if (reflect) return reflect(auth, res);
    if (req.url === '/range') {
      // Serves the echo honouring a byte range, like a static debug dump would.
      const echo = Buffer.from(`authorization: ${auth}\n`);
      const m = /^bytes=(\d+)-(\d+)$/.exec(String(req.headers.range ?? ''));
      if (!m) return res.end(echo);
      res.writeHead(206, { 'content-range': `bytes ${m[1]}-${m[2]}/${echo.length}` });
      return res.end(echo.subarray(Number(m[1]), Number(m[2]) + 1));
    }
    if (req.url === '/headers')
      return res.end(
        JSON.stringify({
          ua: req.headers['user-agent'],
          all: Object.keys(req.headers),
          probe: req.headers['x-toolcage-reflection-probe'],
        }),
      );
    res.setHeader('content-type', 'text/plain');
    res.end('a plain answer that echoes nothing');
  });
});
afterAll(() => server?.close());

function session(reflection?: EgressGrant['reflection']) {
  const gateway = new EgressGateway({
    rulesFor: () => [{ host: '127.0.0.1', port: server.port }],
    unsafeAllowPrivateAddresses: ['127.0.0.1/32'],
  });
  const id = `inv-${++seq}`;
  gateway.grant(id, tool.id, [
    {
      lane: 'api',
      hosts: [{ host: '127.0.0.1', port: server.port, scheme: 'http' }],
      header: 'Authorization',
      headerValue: `Bearer ${SECRET}`,
      secret: SECRET,
      ...(reflection ? { reflection } : {}),
    },
  ]);
  return gateway.open({ invocationId: id, tool }, Date.now() + 5000)!;
}

describe('the whole response is scanned for the credential, in the forms a reflecting host produces', () => {
  for (const path of Object.keys(REFLECT)) {
    it(`withholds a reflection: ${path.slice(1)}`, async () => {
      await expect(session().fetch({ url: `${server.origin}${path}` })).rejects.toMatchObject({
        kind: 'leak',
        message: `The response from 127.0.0.1:${server.port} carried a credential of this run; it was withheld from the tool.`,
      });
    });
  }

  it('refuses a Range request on a request that carries a credential (slices too short to scan)', async () => {
    const s = session();
    await expect(
      s.fetch({ url: `${server.origin}/range`, headers: { range: 'bytes=22-27' } }),
    ).rejects.toMatchObject({
      kind: 'bad_request',
      message: expect.stringMatching(/^Range requests to 127\.0\.0\.1:\d+ are refused/),
    });
    expect(server.seen.some((r) => r.headers.range !== undefined)).toBe(false);
  });

  it('passes an ordinary response (no false positive)', async () => {
    const r = await session().fetch({ url: `${server.origin}/plain` });
    expect(r).toMatchObject({ status: 200, body: 'a plain answer that echoes nothing' });
  });
});

describe('per-lane reflection policy', () => {
  it('scan (the default) sends no probe and passes a header echo that does not carry the credential', async () => {
    const r = await session().fetch({ url: `${server.origin}/headers` });
    expect(JSON.parse(r.body).probe).toBeUndefined();
  });

  it('refuse withholds any response that echoes the request headers', async () => {
    await expect(
      session('refuse').fetch({ url: `${server.origin}/headers` }),
    ).rejects.toMatchObject({
      kind: 'leak',
      message: `The response from 127.0.0.1:${server.port} echoed the request's headers, and lane api refuses such responses; it was withheld from the tool.`,
    });
  });

  it('strip hands the tool only the status, content-type and an empty body', async () => {
    const r = await session('strip').fetch({ url: `${server.origin}/headers` });
    expect(r).toMatchObject({
      status: 200,
      statusText: 'OK',
      body: '',
      headers: [['x-toolcage-egress', 'reflection-stripped']],
    });
  });

  it('a response that does not echo passes untouched under refuse', async () => {
    const r = await session('refuse').fetch({ url: `${server.origin}/plain` });
    expect(r.body).toBe('a plain answer that echoes nothing');
  });
});
