// What never reaches a route still gets the contract's answer: a malformed request line, a bad
// Content-Length, oversized headers (Node's parser), the wrong method on a known route (405 with
// Allow), a __proto__ key or a compressed body (a precise message, not "not valid JSON"), and an
// over-long TTL at the broker (one answer whatever its size). Raw sockets and fetch, both services.
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import {
  makeWorkspace,
  memoryLogger,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import { rawRequest, type RawAnswer } from './raw-socket.ts';

const KEY = 'tck_protocol_answers_0123456789';
let ws: Workspace;
let runner: RunningRunner;
let broker: BrokerService;
let brokerUrl: string;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        { id: 'svc', sha256: apiKeyHash(KEY), subject: 'svc', roles: ['admin'], tenant: 'acme' },
      ],
    },
  });
  runner = await startRunner(ws);
  broker = await createBrokerService(loadConfig(ws.configFile), {
    logger: memoryLogger().logger,
  });
  brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

function expectContractAnswer(a: RawAnswer, status: number, code: string, message?: RegExp): void {
  expect(a.status, a.body).toBe(status);
  expect(a.headers['x-request-id']).toMatch(/^req_/);
  const body = JSON.parse(a.body) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toMatchObject({ code, requestId: a.headers['x-request-id'] });
  expect(typeof body.error.message).toBe('string');
  if (message) expect(body.error.message).toMatch(message);
}

const services = () =>
  [
    ['runner', runner.url],
    ['broker', brokerUrl],
  ] as const;

describe.each(['runner', 'broker'] as const)('the %s service, at the protocol level', (name) => {
  const url = () => Object.fromEntries(services())[name]!;

  it('answers a malformed request line with request_invalid in the contract shape', async () => {
    const a = await rawRequest(url(), ['GET /healthz HTTP/9.x\r\nHost: x\r\n\r\n']);
    expectContractAnswer(a, 400, 'request_invalid', /request line/);
    expect(a.closed).toBe(true);
  });

  it('answers a bad Content-Length with request_invalid naming it', async () => {
    const a = await rawRequest(url(), [
      'POST /v1/claims HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 12abc\r\n\r\n{}',
    ]);
    expectContractAnswer(a, 400, 'request_invalid', /Content-Length/);
  });

  it('answers oversized headers with 431 request_headers_too_large', async () => {
    const a = await rawRequest(url(), [
      `GET /healthz HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    ]);
    expectContractAnswer(a, 431, 'request_headers_too_large');
  });

  it('answers a known path asked with the wrong method with 405 and Allow', async () => {
    const r = await fetch(`${url()}/healthz`, { method: 'DELETE' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toMatch(/GET/);
    expect(r.headers.get('x-request-id')).toMatch(/^req_/);
    expect(await r.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
    const unknown = await fetch(`${url()}/no/such/route`, { method: 'DELETE' });
    expect(unknown.status).toBe(404);
  });

  it('answers a bad percent-encoding in the path in the contract shape', async () => {
    const a = await rawRequest(
      url(),
      ['GET /v1/tools/%E0%A4%A/invoke HTTP/1.1\r\nHost: x\r\n\r\n'],
      {
        waitMs: 1_000,
      },
    );
    expect(a.status).toBe(400);
    expect(a.headers['x-request-id']).toMatch(/^req_/);
    expect(JSON.parse(a.body)).toMatchObject({ error: { code: 'request_invalid' } });
  });
});

describe('bodies', () => {
  const post = (url: string, body: string | Buffer, headers: Record<string, string> = {}) =>
    fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
      body,
    });

  it('names a __proto__ key (however spelled) instead of calling the body invalid JSON', async () => {
    for (const [name, url] of services()) {
      const target =
        name === 'runner' ? `${url}/v1/tools/text.word_count/invoke` : `${url}/v1/claims`;
      for (const text of [
        '{"args":{"text":"x","__proto__":{"admin":true}}}',
        '{"args":{"text":"x","\\u005f_proto__":{"admin":true}}}',
        '{"args":{"constructor":{"prototype":{"admin":true}}}}',
      ]) {
        const r = await post(target, text);
        expect(r.status, `${name} ${text}`).toBe(400);
        const body = (await r.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('request_invalid');
        expect(body.error.message).toMatch(/forbidden key at \$\.args\.(__proto__|constructor)/);
      }
      const bad = await post(target, '{"args":');
      expect(((await bad.json()) as { error: { message: string } }).error.message).toBe(
        'The body is not valid JSON.',
      );
    }
  });

  it('refuses a gzip body as 415 naming the encoding, not as invalid JSON', async () => {
    for (const [name, url] of services()) {
      const target =
        name === 'runner' ? `${url}/v1/tools/text.word_count/invoke` : `${url}/v1/claims`;
      const r = await post(target, gzipSync('{"args":{"text":"x"}}'), {
        'content-encoding': 'gzip',
      });
      expect(r.status, name).toBe(415);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error).toMatchObject({ code: 'unsupported_media_type' });
      expect(body.error.message).toMatch(/Content-Encoding "gzip" is not accepted/);
    }
  });
});

describe('the broker, asked for an over-long TTL', () => {
  it('answers policy_denied 403 whatever the size, and request_invalid only for a malformed one', async () => {
    for (const ttl of ['301', '86400', '86401', '1e12', '1e400']) {
      const r = await fetch(`${brokerUrl}/v1/claims`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: `{"tool":"text.word_count","args":{"text":"a b"},"ttlSeconds":${ttl}}`,
      });
      expect(r.status, ttl).toBe(403);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code, ttl).toBe('policy_denied');
      expect(body.error.message).toMatch(/exceeds the policy maximum/);
    }
    const fractional = await fetch(`${brokerUrl}/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: '{"tool":"text.word_count","args":{"text":"a b"},"ttlSeconds":1.5}',
    });
    expect(fractional.status).toBe(400);
  });
});
