import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, makeWorkspace, openBroker, sleep, waitReady, type Workspace } from './helpers.ts';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import { captureOutput } from '../helpers/suite-output.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

interface Served {
  child: ChildProcess;
  url: string;
  stdout: string[];
  exited: Promise<number | null>;
}

/** `toolcage serve` as a child process on a free loopback port. */
async function serve(ws: Workspace): Promise<Served> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', ws.configFile, '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  captureOutput(child, 'runner');
  const stdout: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not start: ${stdout.join('')}`)),
      20_000,
    );
    child.stdout!.on('data', (chunk: Buffer) => {
      for (const line of String(chunk).split('\n').filter(Boolean)) {
        stdout.push(line);
        const m = /"url":"(http:\/\/[^"]+)".*toolcage runner listening/.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => stdout.push(String(chunk)));
  });
  await waitReady(url);
  return { child, url, stdout, exited };
}

function graceWorkspace(graceMs: number): Promise<Workspace> {
  return makeWorkspace({
    runner: { http: { logLevel: 'info', shutdownGraceMs: graceMs } },
    governors: { loopGuard: { enabled: false } },
  });
}

describe('graceful shutdown on SIGTERM', () => {
  let ws: Workspace;
  let broker: BrokerRuntime;
  let served: Served | undefined;
  beforeAll(async () => {
    ws = await graceWorkspace(5_000);
    broker = await openBroker(ws);
  });
  afterAll(async () => {
    if (served && served.child.exitCode === null) served.child.kill('SIGKILL');
    await broker?.close();
    ws?.cleanup();
  });

  it('finishes the in-flight run, refuses new work, and exits 0', async () => {
    served = await serve(ws);
    const inFlight = call(served.url, broker, 'test.slow', { ms: 1500 });
    await sleep(400);
    served.child.kill('SIGTERM');
    await sleep(100);
    // Not ready any more: a new connection is refused, or answered 503.
    const ready = await fetch(`${served.url}/readyz`).then(
      (r) => r.status,
      () => 'refused',
    );
    expect([503, 'refused']).toContain(ready);
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.body.result).toEqual({ slept: 1500 });
    expect(await served.exited).toBe(0);
    expect(served.stdout.join('\n')).toMatch(/"aborted":0.*toolcage runner stopped/);
  });
});

describe('graceful shutdown past the deadline', () => {
  let ws: Workspace;
  let broker: BrokerRuntime;
  let served: Served | undefined;
  beforeAll(async () => {
    ws = await graceWorkspace(300);
    broker = await openBroker(ws);
  });
  afterAll(async () => {
    if (served && served.child.exitCode === null) served.child.kill('SIGKILL');
    await broker?.close();
    ws?.cleanup();
  });

  it('aborts the run still going when shutdownGraceMs passes, answers it with an error body, and exits 0 promptly', async () => {
    served = await serve(ws);
    const inFlight = call(served.url, broker, 'test.slow', { ms: 6000 });
    await sleep(400);
    const t0 = Date.now();
    served.child.kill('SIGTERM');
    const r = await inFlight;
    expect(r.status).toBeGreaterThanOrEqual(500);
    expect(typeof r.body.error.code).toBe('string');
    expect(await served.exited).toBe(0);
    expect(Date.now() - t0).toBeLessThan(4_000);
    expect(served.stdout.join('\n')).toMatch(/"aborted":1.*toolcage runner stopped/);
  });
});
