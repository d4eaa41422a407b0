/**
 * The HTTP layer's own CPU per request, apart from the pipeline: the runner's
 * app (fastify, our hooks, body parser, error handling, metrics) with an
 * executor that answers at once, next to a bare `node:http` server doing the
 * same JSON in and out. Each runs in its own process under autocannon (32
 * connections, the invoke route, a Bearer header the size of a claim), once
 * as fast as it goes and once paced at RATE requests/s (default 300, about
 * what the service does with real calls here: per-request costs rise when
 * each request wakes the processes on its own instead of in batches).
 * CPU from /proc (10 ms ticks), so use thousands of requests.
 *
 *   [N=20000] [RATE=300] [PACED_N=3000] node --no-node-snapshot bench/profile-http.ts
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pino from 'pino';

const SELF = fileURLToPath(import.meta.url);
const PATH = '/v1/tools/text.word_count/invoke';

/** CPU ms (user+system, every thread) of a process, from /proc. */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

const outcome = () => ({ result: { words: 6 }, invocationId: `inv_${randomUUID()}` });

async function bare(): Promise<number> {
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      JSON.parse(body);
      void Promise.resolve().then(() => {
        const payload = JSON.stringify(outcome());
        res.writeHead(200, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(payload),
          'x-request-id': `req_${randomUUID()}`,
          'cache-control': 'no-store',
        });
        res.end(payload);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

async function app(): Promise<number> {
  const { buildRunnerApp } = await import('../src/http/runner-app.ts');
  const { RunnerMetrics } = await import('../src/metrics/runner-metrics.ts');
  const metrics = new RunnerMetrics();
  const { STAGES } = await import('../src/executor/observer.ts');
  const executor = {
    listTools: () => [],
    readiness: () =>
      Promise.resolve({ ready: true, backends: {}, stores: 'embedded', withheld: [] }),
    execute: (call: { toolId: string }) => {
      // What the executor reports to the service's metrics per call.
      for (const s of STAGES) metrics.observer.stage(s, call.toolId, 0.1);
      metrics.observer.outcome(call.toolId, 'allowed', undefined, 1);
      return Promise.resolve(outcome());
    },
  } as unknown as Parameters<typeof buildRunnerApp>[0];
  const fastify = buildRunnerApp(executor, { logger: pino({ level: 'warn' }), metrics });
  await fastify.listen({ host: '127.0.0.1', port: 0 });
  return (fastify.server.address() as { port: number }).port;
}

async function child(mode: string): Promise<void> {
  const port = mode === 'bare' ? await bare() : await app();
  process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
  process.once('SIGTERM', () => process.exit(0));
}

async function measure(mode: string, amount: number, rate?: number): Promise<string> {
  const c = spawn(process.execPath, ['--no-node-snapshot', SELF, '--child', mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      c.once('exit', (code) => reject(new Error(`server exited ${code}`)));
      c.stdout!.on('data', (chunk: Buffer) => {
        const m = /LISTENING (\S+)/.exec(String(chunk));
        if (m) resolve(m[1]!);
      });
    });
    // A claim-sized bearer token, the bench's body.
    const token = `eyJhbGciOiJFZERTQSJ9.${'x'.repeat(560)}`;
    const fire = (n: number) =>
      autocannon({
        url: `${url}${PATH}`,
        connections: 32,
        amount: n,
        ...(rate ? { overallRate: rate } : {}),
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ args: { text: 'bench http 123 counting a few words' } }),
      });
    await fire(2000);
    const s0 = cpuMs(c.pid!);
    const c0 = process.cpuUsage();
    const r = await fire(amount);
    const client = process.cpuUsage(c0);
    const n = r.requests.total;
    const server = ((cpuMs(c.pid!) - s0) * 1000) / n;
    return `${mode.padEnd(5)} ${(rate ? `paced ${rate}/s` : 'flat out').padEnd(14)} ${String(n).padStart(6)} req ${(n / r.duration).toFixed(0).padStart(6)}/s non-2xx ${r.non2xx}  server CPU/req ${server.toFixed(0).padStart(4)} µs  client CPU/req ${((client.user + client.system) / n).toFixed(0).padStart(4)} µs`;
  } finally {
    c.kill('SIGTERM');
  }
}

if (process.argv[1] === SELF) {
  const i = process.argv.indexOf('--child');
  if (i > 0) {
    await child(process.argv[i + 1]!);
  } else {
    const n = Number(process.env.N ?? 20_000);
    const rate = Number(process.env.RATE ?? 300);
    const pacedN = Number(process.env.PACED_N ?? 3000);
    console.log(
      'bare = node:http, JSON in and out; app = the runner app, executor answering at once',
    );
    for (const mode of ['bare', 'app', 'bare', 'app']) console.log(await measure(mode, n));
    for (const mode of ['bare', 'app']) console.log(await measure(mode, pacedN, rate));
  }
}
