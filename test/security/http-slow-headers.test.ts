// Attack (slowloris): a client sends its request headers a few bytes at a time, never finishing,
// to hold a connection open. Node enforces `headersTimeout` only when it checks its connections,
// every 30 s by default, so a 1 s header deadline really held for up to 31 s. The runner checks
// often enough that the configured `headersTimeoutMs` holds, and answers in the contract's shape.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeWorkspace, startRunner, type RunningRunner, type Workspace } from '../http/helpers.ts';
import { rawRequest } from '../http/raw-socket.ts';

let ws: Workspace;
let runner: RunningRunner;
beforeAll(async () => {
  ws = await makeWorkspace({ runner: { http: { headersTimeoutMs: 1000 } } });
  runner = await startRunner(ws);
});
afterAll(async () => {
  await runner?.close();
  ws?.cleanup();
});

it('closes a connection whose headers trickle in past headersTimeoutMs, within that deadline', async () => {
  const trickle = ['GET /healthz HTTP/1.1\r\nHost: x\r\n'];
  for (let i = 0; i < 40; i++) trickle.push(`x-slow-${i}: a\r\n`);
  const answer = await rawRequest(runner.url, trickle, { gapMs: 150, waitMs: 6_000 });
  expect(answer.closed).toBe(true);
  // 1 s deadline, checked every 100 ms; generous for a loaded machine, far below Node's 30 s.
  expect(answer.closedAfterMs).toBeLessThan(2_500);
  expect(answer.status).toBe(408);
  expect(answer.headers['x-request-id']).toMatch(/^req_/);
  expect(JSON.parse(answer.body)).toMatchObject({
    error: { code: 'request_timeout', requestId: answer.headers['x-request-id'] },
  });
});
