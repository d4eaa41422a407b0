// Sessions over HTTP: the Toolcage-Session header binds the claim (`sid`); a paused session gets
// 423 session_paused from POST /v1/claims until an approver resumes it with
// POST /v1/sessions/{id}/resume (a non-approver cannot).
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { openStateStores, type StateStores } from '../../src/runtime/state.ts';
import { sessionKey } from '../../src/governors/breaker.ts';
import { configuredAuditFiles } from '../../src/runtime/audit.ts';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, memoryLogger, type Workspace } from './helpers.ts';

const KEYS = { admin: 'tck_admin_0123456789', approver: 'tck_approver_0123456789' };
let ws: Workspace;
let broker: BrokerService;
let url: string;
let stores: StateStores;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        {
          id: 'admin-svc',
          sha256: apiKeyHash(KEYS.admin),
          subject: 'svc-admin',
          roles: ['admin'],
          tenant: 'acme',
        },
        {
          id: 'approver',
          sha256: apiKeyHash(KEYS.approver),
          subject: 'alice',
          roles: ['approver'],
          tenant: 'acme',
        },
      ],
    },
  });
  broker = await createBrokerService(ws.loaded, { logger: memoryLogger().logger });
  url = await broker.listen({ host: '127.0.0.1', port: 0 });
  stores = await openStateStores(ws.loaded);
});
afterAll(async () => {
  await stores?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

async function post(path: string, body: unknown, headers: Record<string, string>) {
  const r = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as Record<string, any> };
}
const claimFor = (session: string) =>
  post(
    '/v1/claims',
    { tool: 'text.word_count', args: { text: 'a' } },
    { 'x-api-key': KEYS.admin, 'toolcage-session': session },
  );

it('binds the session header into the claim, and refuses a malformed session id', async () => {
  const ok = await claimFor('conv-http-1');
  expect(ok.status).toBe(201);
  expect(decodeJwt(ok.body.claim as string)).toMatchObject({ sid: 'conv-http-1', tenant: 'acme' });
  expect(decodeJwt(ok.body.claim as string).pol).toMatchObject({ ids: ['role:admin'] });
  const bad = await claimFor('no spaces allowed');
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ code: 'request_invalid' });
});

it('a paused session gets 423 until an approver resumes it', async () => {
  for (let i = 0; i < 10; i++)
    await stores.sessions.fail(
      sessionKey('acme', 'looping'),
      Date.now(),
      { maxFailures: 10, windowSeconds: 60 },
      'timeout',
    );
  const paused = await claimFor('looping');
  expect(paused.status).toBe(423);
  expect(paused.body.error).toMatchObject({
    code: 'session_paused',
    message: expect.stringMatching(/^Session looping was paused at .*\(the last: timeout\)/),
  });
  const byAgent = await post('/v1/sessions/looping/resume', {}, { 'x-api-key': KEYS.admin });
  expect(byAgent.status).toBe(403);
  expect(byAgent.body.error).toMatchObject({ code: 'policy_denied' });
  const byHuman = await post('/v1/sessions/looping/resume', {}, { 'x-api-key': KEYS.approver });
  expect(byHuman).toEqual({
    status: 200,
    body: { session: 'looping', tenant: 'acme', resumed: true },
  });
  expect((await claimFor('looping')).status).toBe(201);
  const again = await post('/v1/sessions/looping/resume', {}, { 'x-api-key': KEYS.approver });
  expect(again.status).toBe(404);
  // Lifting a pause is a human's decision: on the trail, with who did it, the failed attempt too.
  const resumed = trail().filter((r) => r.kind === 'session_resumed');
  expect(resumed).toEqual([
    expect.objectContaining({
      origin: 'http',
      session: 'looping',
      tenant: 'acme',
      actor: 'alice',
      outcome: 'ok',
    }),
    expect.objectContaining({ actor: 'alice', outcome: 'refused', errorCode: 'not_found' }),
  ]);
});

it('toolcage sessions resume goes through the same rule and leaves a record', async () => {
  for (let i = 0; i < 10; i++)
    await stores.sessions.fail(
      sessionKey('acme', 'cli-paused'),
      Date.now(),
      { maxFailures: 10, windowSeconds: 60 },
      'timeout',
    );
  const cli = (...a: string[]) =>
    runCli(
      ['sessions', 'resume', 'cli-paused', '--tenant', 'acme', ...a, '--config', ws.configFile],
      {
        cwd: ws.dir,
      },
    );
  // `ops` is in no principals entry of the policy: no approver role, refused.
  const byStranger = await cli('--by', 'ops');
  expect(byStranger.code).not.toBe(0);
  expect(cliError(byStranger)).toMatchObject({ code: 'policy_denied' });
  const byLocal = await cli();
  expect(byLocal.code).toBe(0);
  expect(trail().filter((r) => r.kind === 'session_resumed' && r.origin === 'cli')).toEqual([
    expect.objectContaining({ session: 'cli-paused', actor: 'local-user', outcome: 'ok' }),
  ]);
});

function trail(): Record<string, unknown>[] {
  return configuredAuditFiles(ws.loaded).flatMap((f) =>
    readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>),
  );
}
