import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  call,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';

let ws: Workspace;
let runner: RunningRunner;
let broker: BrokerRuntime;

beforeAll(async () => {
  ws = await makeWorkspace({
    runner: { http: { bodyLimitBytes: 4096 } },
    governors: {
      loopGuard: { enabled: false },
      rateLimits: { principal: { capacity: 1000, refillPerSecond: 1000 } },
    },
  });
  runner = await startRunner(ws);
  broker = await openBroker(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.close();
  ws?.cleanup();
});

async function raw(
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const r = await fetch(`${runner.url}${path}`, init);
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* text */
  }
  return { status: r.status, headers: r.headers, body };
}

const post = (
  body: string,
  headers: Record<string, string> = { 'content-type': 'application/json' },
) => raw('/v1/tools/text.word_count/invoke', { method: 'POST', headers, body });

describe('runner HTTP requests', () => {
  it('refuses malformed JSON with request_invalid 400 in the contract body', async () => {
    const r = await post('{"args": {');
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({
      code: 'request_invalid',
      requestId: r.headers.get('x-request-id'),
    });
  });

  it('refuses a __proto__ key in the body (prototype poisoning) with request_invalid', async () => {
    const r = await post('{"args": {"text": "a"}, "__proto__": {"polluted": true}}');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('request_invalid');
  });

  it('refuses a body without "args", or with unknown fields, with request_invalid', async () => {
    expect((await post('{"text": "a"}')).body.error).toMatchObject({
      code: 'request_invalid',
      message: expect.stringMatching(/args/),
    });
    expect((await post('{"args": {}, "claim": "x"}')).body.error).toMatchObject({
      code: 'request_invalid',
      message: expect.stringMatching(/Unknown body field/),
    });
    expect((await post('[1,2]')).body.error.code).toBe('request_invalid');
  });

  it('refuses a body above runner.http.bodyLimitBytes with payload_too_large 413', async () => {
    const r = await post(JSON.stringify({ args: { text: 'x'.repeat(5000) } }));
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('payload_too_large');
  });

  it('refuses a body that is not JSON with unsupported_media_type 415', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml']) {
      const r = await post('args=1', { 'content-type': type });
      expect({ type, status: r.status, code: r.body.error?.code }).toEqual({
        type,
        status: 415,
        code: 'unsupported_media_type',
      });
    }
  });

  it('answers unknown routes with not_found 404, and a wrong method on a known route with 405 + Allow', async () => {
    for (const [method, path, status, code, allow] of [
      ['GET', '/nope', 404, 'not_found', null],
      ['DELETE', '/v1/tools', 405, 'method_not_allowed', 'GET, HEAD'],
      ['GET', '/v1/tools/text.word_count/invoke', 405, 'method_not_allowed', 'POST'],
    ] as const) {
      const r = await raw(path, { method });
      expect({
        path,
        status: r.status,
        code: r.body.error?.code,
        allow: r.headers.get('allow'),
      }).toEqual({ path, status, code, allow });
    }
  });

  it('puts a request id on every response: a safe incoming one is echoed, anything else replaced', async () => {
    expect(
      (await raw('/healthz', { headers: { 'x-request-id': 'abc-12345678' } })).headers.get(
        'x-request-id',
      ),
    ).toBe('abc-12345678');
    const unsafe = await raw('/nope', { headers: { 'x-request-id': 'a b<script>' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_[0-9a-f-]{36}$/);
    expect(unsafe.body.error.requestId).toBe(unsafe.headers.get('x-request-id'));
  });

  it('lists the allowlisted tools with their schemas', async () => {
    const r = await raw('/v1/tools');
    expect(r.status).toBe(200);
    const wc = r.body.tools.find((t: { id: string }) => t.id === 'text.word_count');
    expect(wc).toMatchObject({
      version: '1.0.0',
      runtime: 'js',
      risk: 'low',
      scopes: ['text:read'],
      inputSchema: { type: 'object' },
      outputSchema: { type: 'object' },
    });
  });

  it('serves /healthz, and /readyz naming the usable backends and the store kind', async () => {
    expect((await raw('/healthz')).body).toEqual({ status: 'ok' });
    const ready = await raw('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      ready: true,
      draining: false,
      stores: 'sqlite',
      backends: { js: { usable: true } },
    });
  });

  it('runs 200 sequential calls with fresh claims, all 200', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 200; i++)
      statuses.push(
        (await call(runner.url, broker, 'text.word_count', { text: `call ${i}` })).status,
      );
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
  });

  it('exports Prometheus metrics: calls by tool and outcome, refusals by code, stage latency, queue depth', async () => {
    const { claim } = await mint(broker, 'text.word_count', { text: 'm' });
    await fetch(`${runner.url}/v1/tools/text.word_count/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${claim}` },
      body: JSON.stringify({ args: { text: 'other' } }),
    });
    const r = await fetch(`${runner.url}/metrics`);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    expect(text).toMatch(/toolcage_calls_total\{tool="text.word_count",outcome="allowed"\} \d+/);
    expect(text).toMatch(/toolcage_refusals_total\{code="args_mismatch"\} 1/);
    for (const stage of [
      'resolve',
      'verify',
      'replay',
      'decide',
      'govern',
      'validate_input',
      'queue',
      'run',
      'validate_output',
    ]) {
      expect(text).toContain(
        `toolcage_stage_duration_seconds_count{stage="${stage}",tool="text.word_count"}`,
      );
    }
    expect(text).toMatch(/toolcage_concurrency_queued 0/);
    expect(text).toMatch(/toolcage_concurrency_running 0/);
  });
});
