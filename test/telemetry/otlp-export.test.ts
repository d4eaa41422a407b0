// `toolcage serve` with tracing enabled posts its spans over OTLP/HTTP to the configured collector
// (here a loopback server started by the test), flushed on shutdown; the posted bytes hold no payload.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  call,
  invoke,
  makeWorkspace,
  mint,
  openBroker,
  startRunner,
  type RunningRunner,
  type Workspace,
} from '../http/helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';

interface Post {
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
const posts: Post[] = [];
let collector: Server;
let endpoint: string;
let ws: Workspace;
let broker: BrokerRuntime;
let running: RunningRunner | undefined;

beforeAll(async () => {
  collector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}/v1/traces`;
  ws = await makeWorkspace({
    telemetry: {
      tracing: { enabled: true, otlpEndpoint: endpoint, serviceName: 'toolcage-otlp-test' },
    },
  });
  broker = await openBroker(ws);
});

afterAll(async () => {
  await running?.close();
  await broker?.close();
  await new Promise((resolve) => collector?.close(resolve));
  ws?.cleanup();
});

it("posts the calls' spans to the OTLP endpoint when the service shuts down, and none of their payload", async () => {
  running = await startRunner(ws);
  const args = { text: 'SECRET-WORDS-4c1e in the span test' };
  const ok = await call(running.url, broker, 'text.word_count', args);
  expect(ok.status).toBe(200);
  const { claim } = await mint(broker, 'text.word_count', args);
  const refused = await invoke(running.url, 'text.word_count', { text: 'other' }, claim);
  expect(refused.body.error.code).toBe('args_mismatch');

  await running.service.shutdown(2_000);
  running = undefined;

  expect(posts.length).toBeGreaterThan(0);
  for (const p of posts) expect(p.url).toBe('/v1/traces');
  const text = posts.map((p) => p.body).join('\n');
  expect(text).toContain('toolcage-otlp-test');
  expect(text).toContain('toolcage.execute');
  expect(text).toContain('toolcage.stage.run');
  expect(text).toContain('args_mismatch');
  for (const secret of [
    args.text,
    'SECRET-WORDS-4c1e',
    claim,
    ...claim.split('.'),
    JSON.stringify(ok.body.result),
  ])
    expect(text).not.toContain(secret);
});
