// /metrics on the runner and the broker: the process and Node.js defaults under their standard names
// (what stock dashboards query), toolcage's own metrics prefixed toolcage_, and both outputs clean
// under `promtool check metrics` (Debian's prometheus package; scripts/setup.sh installs it). The test
// fails, never skips, when promtool is missing.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyHash } from '../../src/identity/verifier.ts';
import { createBrokerService, type BrokerService } from '../../src/runtime/broker-service.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  call,
  makeWorkspace,
  memoryLogger,
  openBroker,
  startRunner,
  type RunningRunner,
  type Workspace,
} from './helpers.ts';

const KEY = 'tck_metrics_promtool_0123456789';
let ws: Workspace;
let runner: RunningRunner;
let mintBroker: BrokerRuntime;
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
  mintBroker = await openBroker(ws);
  broker = await createBrokerService(loadConfig(ws.configFile), {
    logger: memoryLogger().logger,
  });
  brokerUrl = await broker.listen({ host: '127.0.0.1', port: 0 });
  // Some traffic, so the labelled series exist: one call allowed, one claim issued, one refused.
  await call(runner.url, mintBroker, 'text.word_count', { text: 'a b c' });
  for (const tool of ['text.word_count', 'no.such_tool'])
    await fetch(`${brokerUrl}/v1/claims`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ tool, args: { text: 'x' } }),
    });
});
afterAll(async () => {
  await runner?.close();
  await mintBroker?.close();
  await broker?.shutdown();
  ws?.cleanup();
});

/** `promtool check metrics` on `text`: exit status and what it said. */
function promtool(text: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error)
    throw new Error(
      `promtool is not runnable (${r.error.message}); run scripts/setup.sh (apt-get install prometheus)`,
    );
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

const STANDARD = [
  'process_cpu_seconds_total',
  'process_resident_memory_bytes',
  'process_start_time_seconds',
  'nodejs_heap_size_used_bytes',
  'nodejs_eventloop_lag_seconds',
];

describe.each(['runner', 'broker'] as const)('GET /metrics on the %s', (name) => {
  let text: string;
  beforeAll(async () => {
    const r = await fetch(`${name === 'runner' ? runner.url : brokerUrl}/metrics`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    text = await r.text();
  });

  it('passes promtool check metrics with nothing to say', () => {
    expect(promtool(text)).toEqual({ status: 0, output: '' });
  });

  it('names process and Node.js metrics the standard way, and prefixes its own with toolcage_', () => {
    const names = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!);
    for (const standard of STANDARD) expect(names).toContain(standard);
    expect(names.filter((n) => n.includes('toolcage_process_'))).toEqual([]);
    const own = names.filter((n) => !/^(process|nodejs)_/.test(n));
    expect(own.length).toBeGreaterThan(0);
    for (const n of own) expect(n).toMatch(/^toolcage_/);
    expect(own).toContain(
      name === 'runner' ? 'toolcage_calls_total' : 'toolcage_broker_claim_requests_total',
    );
  });
});

it('counts the broker claim answers by status', async () => {
  const text = await (await fetch(`${brokerUrl}/metrics`)).text();
  expect(text).toMatch(/toolcage_broker_claim_requests_total\{status="201"\} 1/);
  expect(text).toMatch(/toolcage_broker_claim_requests_total\{status="404"\} 1/);
});
