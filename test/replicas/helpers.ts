import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';
import type { BrokerRuntime } from '../../src/runtime/broker.ts';
import {
  makeWorkspace,
  openBroker,
  waitReady,
  type HttpResult,
  type Workspace,
} from '../http/helpers.ts';
import { captureOutput } from '../helpers/suite-output.ts';

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** The shared test Redis (scripts/setup.sh starts it on loopback). */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** A key prefix no other test file uses, so files can run at once against one Redis. */
export function uniquePrefix(name: string): string {
  return `toolcage-test:${name}:${randomUUID().slice(0, 8)}`;
}

/** Deletes every key under `prefix` (SCAN, never KEYS), so a test leaves Redis as it found it. */
export async function deleteKeys(url: string, prefix: string): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    let deleted = 0;
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) deleted += await client.del(...keys);
    } while (cursor !== '0');
    return deleted;
  } finally {
    client.disconnect();
  }
}

/** Every key under `prefix` with its time to live in ms (-1: no expiry), to prove that nothing grows without bound. */
export async function keysWithTtl(
  url: string,
  prefix: string,
): Promise<Array<{ key: string; pttl: number }>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  client.on('error', () => {});
  try {
    await client.connect();
    const found: Array<{ key: string; pttl: number }> = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) found.push({ key, pttl: await client.pttl(key) });
    } while (cursor !== '0');
    return found;
  } finally {
    client.disconnect();
  }
}

/** A loopback port nobody listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      server.close(() =>
        addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port')),
      );
    });
  });
}

/** A workspace whose runners keep every store on Redis under `keyPrefix`, with `config` merged in. */
export function replicaWorkspace(options: {
  url: string;
  keyPrefix: string;
  config?: Record<string, unknown>;
}): Promise<Workspace> {
  return makeWorkspace({
    ...options.config,
    state: { stores: 'redis', redis: { url: options.url, keyPrefix: options.keyPrefix } },
    // The listening line is logged at info; it carries the URL (port 0 picks a free one).
    runner: { http: { logLevel: 'info' } },
  });
}

export interface Replica {
  name: string;
  child: ChildProcess;
  url: string;
  output: string[];
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/** `toolcage serve --config <ws>` as its own process on a free loopback port, ready to run JS tools. */
export async function startReplica(ws: Workspace, name: string): Promise<Replica> {
  const child = spawn(
    process.execPath,
    [CLI, 'serve', '--config', ws.configFile, '--host', '127.0.0.1', '--port', '0'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  captureOutput(child, `replica-${name}`);
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  );
  const stop = async (graceMs = 3_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`replica ${name} did not start:\n${output.join('')}`)),
        20_000,
      );
      void exited.then((code) =>
        reject(new Error(`replica ${name} exited with ${String(code)}:\n${output.join('')}`)),
      );
      child.stdout!.on('data', (chunk: Buffer) => {
        for (const line of String(chunk).split('\n').filter(Boolean)) {
          output.push(line);
          const m = /"url":"(http:\/\/[^"]+)".*toolcage runner listening/.exec(line);
          if (m) {
            clearTimeout(timer);
            resolve(m[1]!);
          }
        }
      });
      child.stderr!.on('data', (chunk: Buffer) => output.push(String(chunk)));
    });
    await waitReady(url);
    return { name, child, url, output, exited, stop };
  } catch (err) {
    await stop(0);
    throw err;
  }
}

export interface RedisServer {
  port: number;
  url: string;
  /** Kills the server (SIGKILL: no goodbye to clients, as in a crash) and waits for it to exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty (`--save ''`, no AOF). */
  restart(): Promise<void>;
}

/**
 * A private `redis-server` child on a free loopback port, without persistence,
 * for tests that stop and restart Redis (the shared 6379 server is never touched).
 */
export async function startRedisServer(options: { args?: string[] } = {}): Promise<RedisServer> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const launch = async (): Promise<void> => {
    const c = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        ...(options.args ?? []),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = c;
    const log: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`redis-server on ${port} did not start:\n${log.join('')}`)),
        10_000,
      );
      c.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server on ${port} exited with ${String(code)}:\n${log.join('')}`));
      });
      c.stdout!.on('data', (chunk: Buffer) => {
        log.push(String(chunk));
        if (/Ready to accept connections/.test(log.join(''))) {
          clearTimeout(timer);
          resolve();
        }
      });
      c.stderr!.on('data', (chunk: Buffer) => log.push(String(chunk)));
    });
  };
  const kill = async (): Promise<void> => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGKILL');
    await gone;
  };
  await launch();
  return { port, url: `redis://127.0.0.1:${port}`, kill, restart: launch };
}

/** GET a path on a replica, JSON body. */
export async function getJson(url: string, path: string): Promise<HttpResult> {
  const r = await fetch(`${url}${path}`);
  const text = await r.text();
  return { status: r.status, headers: r.headers, body: text ? JSON.parse(text) : undefined };
}

/** `{status, code}` of a reply, for one-line assertions. */
export function outcome(r: HttpResult): { status: number; code: string | undefined } {
  return { status: r.status, code: r.body?.error?.code };
}

export {
  call,
  invoke,
  mint,
  openBroker,
  sleep,
  type HttpResult,
  type Workspace,
} from '../http/helpers.ts';

export interface TwoReplicas {
  /** This file's key prefix on the shared Redis. */
  prefix: string;
  ws: Workspace;
  broker: BrokerRuntime;
  a: Replica;
  b: Replica;
}

/**
 * Two `toolcage serve` replicas and an in-process broker on one workspace with
 * `state.stores: redis` (the shared Redis, under a key prefix of this file's
 * own), started before the file's tests and stopped, with their keys deleted,
 * after them. Read the fields inside tests (they are set in beforeAll).
 */
export function useTwoReplicas(name: string, config?: Record<string, unknown>): TwoReplicas {
  const prefix = uniquePrefix(name);
  const ctx = { prefix } as TwoReplicas;
  beforeAll(async () => {
    ctx.ws = await replicaWorkspace({
      url: SHARED_REDIS_URL,
      keyPrefix: prefix,
      ...(config ? { config } : {}),
    });
    ctx.broker = await openBroker(ctx.ws);
    [ctx.a, ctx.b] = await Promise.all([startReplica(ctx.ws, 'A'), startReplica(ctx.ws, 'B')]);
  });
  afterAll(async () => {
    await Promise.all([ctx.a?.stop(), ctx.b?.stop()]);
    await ctx.broker?.close();
    await deleteKeys(SHARED_REDIS_URL, prefix);
    ctx.ws?.cleanup();
  });
  return ctx;
}
