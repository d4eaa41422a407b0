// `toolcage serve` listens while its Docker backend is still being made (the engine probed, the
// registry verified again with image identities): /healthz answers at once, /readyz stays 503
// naming the Docker backend as starting until it is usable, and a Docker call that arrives during
// the warm-up waits for the backend and runs, never crashing the service. Real Docker Engine.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { initWorkspace } from '../../src/cli/workspace.ts';
import { loadConfig, type LoadedConfig } from '../../src/config/load.ts';
import { createBrokerRuntime, type BrokerRuntime } from '../../src/runtime/broker.ts';
import { createRunnerService, type RunnerService } from '../../src/runtime/runner-service.ts';
import { imageContentIdentity } from '../../src/sandbox/docker/index.ts';
import type { DeferredBackend } from '../../src/runtime/deferred-backend.ts';
import { SuiteAuditSink, retire } from '../helpers/suite-output.ts';
import { call, memoryLogger, waitReady } from './helpers.ts';

let dir: string;
let loaded: LoadedConfig;
let broker: BrokerRuntime;
let service: RunnerService | undefined;
beforeAll(async () => {
  // `toolcage init` as on a host with the images built: its Docker tools are pinned and served.
  dir = mkdtempSync(join(tmpdir(), 'toolcage-warm-up-'));
  await initWorkspace(dir, { imageIdentity: (image) => imageContentIdentity(image) });
  const configFile = join(dir, 'toolcage.config.yaml');
  writeFileSync(
    configFile,
    `${readFileSync(configFile, 'utf8')}\nsandbox: { js: { workers: 1 }, docker: { enabled: true, poolSize: 1 } }\n`,
  );
  loaded = loadConfig(configFile);
  broker = await createBrokerRuntime(loaded);
}, 60_000);
afterAll(async () => {
  await service?.shutdown(2_000);
  await broker?.close();
  retire(dir);
});

it('answers /healthz while Docker starts, holds /readyz until it is usable, and runs a call that arrived meanwhile', async () => {
  service = await createRunnerService(loaded, {
    audit: new SuiteAuditSink(),
    logger: memoryLogger().logger,
  });
  const url = await service.listen({ host: '127.0.0.1', port: 0 });
  // Straight after listening: the Docker backend is only now being made.
  const [health, ready] = await Promise.all([fetch(`${url}/healthz`), fetch(`${url}/readyz`)]);
  expect(health.status).toBe(200);
  expect(ready.status).toBe(503);
  expect(ready.headers.get('retry-after')).toBe('1');
  const body = (await ready.json()) as {
    ready: boolean;
    backends: Record<string, { usable: boolean; detail: string }>;
    error: { code: string };
  };
  expect(body.ready).toBe(false);
  expect(body.backends.docker).toMatchObject({ usable: false, detail: 'starting' });
  expect(body.error.code).toBe('sandbox_unavailable');

  // A Docker call now waits for the backend, then runs on it.
  const r = await call(url, broker, 'text.sha256sum', { text: 'abc' }, { scope: ['text:read'] });
  expect(r.status).toBe(200);
  expect(r.body.result).toMatchObject({
    sha256: 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    bytes: 3,
  });

  await waitReady(url);
  const after = (await (await fetch(`${url}/readyz`)).json()) as {
    backends: Record<string, { usable: boolean }>;
  };
  expect(after.backends.docker?.usable).toBe(true);
  expect(after.backends.js?.usable).toBe(true);
  // Verified again with image identities once the engine answered: the image is pinned and held.
  expect(service.runner.registry().unverified).toEqual([]);
}, 120_000);

it('makes no Docker backend (no engine calls, no warm containers) for a service stopped before it listened', async () => {
  const stopped = await createRunnerService(loaded, {
    audit: new SuiteAuditSink(),
    logger: memoryLogger().logger,
  });
  await stopped.shutdown(1_000);
  const docker = stopped.runner.backends.docker as DeferredBackend;
  await docker.settled();
  expect(docker.current).toBeUndefined();
  expect(await docker.health()).toMatchObject({
    usable: false,
    detail: 'could not start: the runner stopped before it started',
  });
}, 60_000);
