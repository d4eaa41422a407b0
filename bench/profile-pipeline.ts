/**
 * The runner's own CPU per call without a sandbox: the library pipeline
 * (claim verify, jti consume, governors, binding, validation, audit event)
 * with the JS backend's `run` replaced by an instant answer, 8 calls in
 * flight, next to a bare jose verify of the same claims. What is left after
 * the verify is the main process's work that the floor does not do (IPC and
 * the workers come on top).
 *
 *   [N=3000] [PROFILE_OUT=/tmp/pipeline.cpuprofile] node --no-node-snapshot bench/profile-pipeline.ts
 */
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { NullAuditSink } from '../src/audit/audit.ts';
import { loadJwksFile } from '../src/claims/keys.ts';
import { loadConfig } from '../src/config/load.ts';
import type { RunResult } from '../src/ports/sandbox.ts';
import { createBrokerRuntime } from '../src/runtime/broker.ts';
import { createRunner } from '../src/runtime/runner.ts';
import { profileTo } from './cpu-profile.ts';
import { argsOf } from './floor.ts';
import { benchWorkspace } from './library.ts';

const n = Number(process.env.N ?? 3000);
const out = process.env.PROFILE_OUT;
const ws = await benchWorkspace();
const loaded = loadConfig(ws.configFile);
const runner = await createRunner(loaded, { backends: ['js'], audit: new NullAuditSink() });
const broker = await createBrokerRuntime(loaded, {
  stores: runner.stores,
  registry: runner.registry,
  audit: new NullAuditSink(),
});
try {
  const claims: string[] = [];
  for (let i = 0; i < n + 200; i++)
    claims.push(
      (
        await broker.broker.issueClaim({
          tool: 'text.word_count',
          args: argsOf(i),
          sub: 'bench',
          roles: ['admin'],
          tenant: 'bench',
        })
      ).claim,
    );
  // The executor holds this same backend object: its runs now answer at once.
  const backend = runner.backends.js!;
  backend.run = async (request): Promise<RunResult> => {
    request.onStart?.();
    return { ok: true, outputJson: '{"words":9,"lines":1,"characters":70}', durationMs: 0 };
  };
  const call = (i: number) =>
    runner.executor.execute({
      toolId: 'text.word_count',
      args: argsOf(i),
      claim: claims[i]!,
      requestId: `bench-${i}`,
    });
  for (let i = 0; i < 200; i++) await call(i);
  const stopProfile = await profileTo(out);
  let next = 200;
  const c0 = process.cpuUsage();
  const m0 = process.threadCpuUsage();
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < n + 200) await call(next++);
    }),
  );
  const c = process.cpuUsage(c0);
  const m = process.threadCpuUsage(m0);
  await stopProfile();
  const jwks = createLocalJWKSet(loadJwksFile(join(ws.dir, 'keys/broker.jwks.json')));
  const v0 = process.cpuUsage();
  const vm0 = process.threadCpuUsage();
  for (let i = 0; i < n; i++)
    await jwtVerify(claims[i]!, jwks, {
      algorithms: ['EdDSA', 'ES256'],
      issuer: 'toolcage-broker',
      audience: 'toolcage-runner',
    });
  const v = process.cpuUsage(v0);
  const vm = process.threadCpuUsage(vm0);
  // The main thread's share apart: the Ed25519 verify itself runs on libuv's thread pool (the
  // floor's work, the same in both), GC helpers on V8's threads (they grow with allocation).
  const us = (x: { user: number; system: number }) => ((x.user + x.system) / n).toFixed(0);
  console.log(
    `pipeline with an instant sandbox, 8 in flight: ${us(c)} µs CPU per call (main thread ${us(m)}); bare jose verify: ${us(v)} µs (main thread ${us(vm)})`,
  );
} finally {
  await broker.close();
  await runner.close();
}
