// The documented limit of the embedded store, proven: with state.stores: sqlite the runner keeps
// rate, spend and loop state in its own memory, so a separate broker service reports none of it
// (and says so: store memory, not shared), while paused sessions, kept in the SQLite file, show
// everywhere. A broker service handed the runner's stores (one process) reports all of it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { sessionKey } from '../../src/governors/breaker.ts';
import {
  invoke,
  makeWorkspace,
  startRunner,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';

const ALICE = 'tck_embedded_alice_0123456789';
const AGENT = 'tck_embedded_agent_0123456789';
let ws: Workspace;
let runner: RunningRunner;
let separate: BrokerService;
let shared: BrokerService;
let urlSeparate: string;
let urlShared: string;

beforeAll(async () => {
  ws = await makeWorkspace({
    broker: {
      apiKeys: [
        {
          id: 'alice',
          sha256: apiKeyHash(ALICE),
          subject: 'alice',
          roles: ['approver'],
          tenant: 'acme',
        },
        {
          id: 'agent',
          sha256: apiKeyHash(AGENT),
          subject: 'svc-agent',
          roles: ['admin'],
          tenant: 'acme',
        },
      ],
    },
  });
  runner = await startRunner(ws);
  separate = await createBrokerService(loadConfig(ws.configFile));
  shared = await createBrokerService(loadConfig(ws.configFile), {
    stores: runner.service.runner.stores,
  });
  urlSeparate = await separate.listen({ host: '127.0.0.1', port: 0 });
  urlShared = await shared.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);

afterAll(async () => {
  await separate?.shutdown();
  await shared?.shutdown();
  await runner?.close();
  ws?.cleanup();
});

async function report(base: string) {
  const r = await fetch(`${base}/v1/governors`, { headers: { 'x-api-key': ALICE } });
  expect(r.status).toBe(200);
  return (await r.json()) as any;
}

it('a separate broker sees paused sessions but not the runner in-memory state; a shared one sees both', async () => {
  const args = { text: 'counted words' };
  const c = await fetch(`${urlSeparate}/v1/claims`, {
    method: 'POST',
    headers: { 'x-api-key': AGENT, 'content-type': 'application/json' },
    body: JSON.stringify({ tool: 'text.word_count', args }),
  });
  expect(
    (await invoke(runner.url, 'text.word_count', args, ((await c.json()) as any).claim)).status,
  ).toBe(200);
  await runner.service.runner.stores.sessions.fail(
    sessionKey('acme', 'sess-x'),
    Date.now(),
    { maxFailures: 1, windowSeconds: 60 },
    'tool_failed',
  );

  const apart = await report(urlSeparate);
  expect(apart.governors).toEqual({ store: 'memory', reportable: true, shared: false });
  expect(apart.pauses).toEqual({ store: 'sqlite', reportable: true });
  const acmeApart = apart.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
  expect(acmeApart.spend).toBeUndefined();
  expect(acmeApart.paused.map((p: { session: string }) => p.session)).toEqual(['sess-x']);

  const together = await report(urlShared);
  const acme = together.tenants.find((t: { tenant: string }) => t.tenant === 'acme');
  expect(acme.spend.spent).toBe(1);
  expect(acme.loops).toMatchObject([{ principal: 'svc-agent', tool: 'text.word_count', count: 1 }]);
  expect(acme.paused.map((p: { session: string }) => p.session)).toEqual(['sess-x']);
});
