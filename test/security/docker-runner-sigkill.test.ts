import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend, type DockerBackend } from '../../src/sandbox/docker/index.ts';
import {
  containersOf,
  expectNoContainersLeft,
  testImages,
  textTool,
  uniqueRunnerId,
  dockerRuntime,
} from '../sandbox/docker/helpers.ts';

// Attack (or accident): the runner dies by SIGKILL mid-run, with no chance to clean up.
const child = fileURLToPath(new URL('../sandbox/docker/fixtures/runner-child.ts', import.meta.url));
const deadRunner = uniqueRunnerId('killed');
const liveRunner = uniqueRunnerId('live');
const cleanerRunner = uniqueRunnerId('cleaner');
const backends: DockerBackend[] = [];
/** The dead runner's secrets root (its `expose: file` folders go in here). */
const secretsDir = mkdtempSync('/dev/shm/toolcage-test-sigkill-');

afterAll(async () => {
  for (const b of backends) await b.dispose();
  rmSync(secretsDir, { recursive: true, force: true });
  for (const id of [deadRunner, liveRunner, cleanerRunner]) await expectNoContainersLeft(id);
});

async function until<T>(fn: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('docker sandbox: runner killed with SIGKILL', () => {
  it("the next runner's start-up removes the dead runner's containers, secrets and egress sockets, and no live runner's", async () => {
    await testImages();
    // A live runner with pooled containers that must survive the clean-up.
    const live = createDockerBackend({
      runtime: dockerRuntime,
      runnerId: liveRunner,
      pool: { size: 1 },
    });
    backends.push(live);
    await live.prewarm(await textTool('sha256sum'));

    const proc = spawn(process.execPath, [child, deadRunner, secretsDir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const egressFolders = (): string[] =>
      readdirSync(tmpdir()).filter((n) => n.startsWith(`toolcage-egress-owner-${proc.pid}-`));
    await until(async () => {
      const running = (await containersOf(deadRunner))
        .filter((c) => c.State === 'running')
        .map((c) => c.Labels['toolcage.invocation']);
      return ['long-run', 'long-run-file', 'long-run-egress'].every((i) => running.includes(i))
        ? true
        : undefined;
    }, 20_000);
    proc.kill('SIGKILL');
    await new Promise((r) => proc.once('exit', r));
    // The dead runner had no chance to remove anything: containers, its secret file, its socket.
    expect((await containersOf(deadRunner)).length).toBeGreaterThanOrEqual(3);
    expect(readdirSync(secretsDir).filter((n) => n.startsWith('toolcage-secrets-'))).toHaveLength(
      1,
    );
    expect(egressFolders()).toHaveLength(1);

    const cleaner = createDockerBackend({
      runtime: dockerRuntime,
      runnerId: cleanerRunner,
      pool: { size: 0 },
      secretsDir,
    });
    backends.push(cleaner);
    await cleaner.ready();
    await expectNoContainersLeft(deadRunner);
    expect(readdirSync(secretsDir)).toEqual([]);
    expect(egressFolders()).toEqual([]);
    expect((await containersOf(liveRunner)).length).toBe(1);
    expect(await cleaner.cleanupOrphans()).toBe(0);
  }, 60_000);
});
