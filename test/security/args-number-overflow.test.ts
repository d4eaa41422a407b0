/**
 * Attack: a caller sends arguments holding `1e400` (valid JSON text that
 * parses to Infinity, which RFC 8785 cannot write). The broker answered
 * 500 `internal`; it must answer 400 `request_invalid` naming the field, and
 * the runner `input_invalid` naming it too — never an internal error.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import { forge } from '../helpers/forge.ts';
import { makeWorkspace, startRunner, type RunningRunner, type Workspace } from '../http/helpers.ts';

const KEY = 'tck_overflow_0123456789';
let ws: Workspace;
let broker: BrokerService;
let brokerUrl: string;
let runner: RunningRunner;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        { id: 'svc', sha256: apiKeyHash(KEY), subject: 'svc', roles: ['admin'], tenant: 'acme' },
      ],
    },
  });
  broker = await createBrokerService(loadConfig(ws.configFile), {});
  brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  runner = await startRunner(ws);
});
afterAll(async () => {
  await runner?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

it('the broker refuses 1e400 in arguments with 400 request_invalid naming the field', async () => {
  const r = await fetch(`${brokerUrl}/v1/claims`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': KEY },
    body: '{"tool":"text.word_count","args":{"text":"hi","deep":[1,{"n":1e400}]}}',
  });
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(r.status).toBe(400);
  expect(body.error.code).toBe('request_invalid');
  expect(body.error.message).toContain('args.deep[1].n is a number too large for JSON');
});

it('the runner refuses 1e400 in arguments with input_invalid naming the field, not internal', async () => {
  const claim = await forge(ws.brokerKey, {
    tool: 'text.word_count',
    args: { text: 'hi' },
    scope: ['text:read'],
  });
  const r = await fetch(`${runner.url}/v1/tools/text.word_count/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${claim}` },
    body: '{"args":{"text":"hi","n":-1e400}}',
  });
  const body = (await r.json()) as { error: { code: string; message: string } };
  expect(body.error.code).toBe('input_invalid');
  expect(r.status).toBeLessThan(500);
  expect(body.error.message).toContain('args.n is a number too large for JSON');
});
