/**
 * Attack surface: a Docker tool's syscalls reach the host's kernel, so one
 * kernel bug is one escape. Under the default configuration, where the
 * engine has gVisor registered (scripts/setup.sh does it), the tool talks
 * to gVisor's user-space kernel instead: /proc/version is gVisor's, not the
 * host's, and the result says which runtime the call ran on.
 */
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerBackend } from '../../src/sandbox/docker/index.ts';
import { attackTool, expectNoContainersLeft, uniqueRunnerId } from '../sandbox/docker/helpers.ts';

const runnerId = uniqueRunnerId('kernel');
const backend = createDockerBackend({ runnerId, pool: { size: 1 } });
afterAll(async () => {
  await backend.dispose();
  await expectNoContainersLeft(runnerId);
});

describe('docker sandbox: the host kernel behind a tool', () => {
  it('is out of reach under the default configuration: the tool sees gVisor, the health says so', async () => {
    const health = await backend.health();
    // setup.sh installs and registers runsc: its absence is a broken setup, not a reason to skip.
    expect(health.runtime, health.detail).toMatchObject({ default: 'runsc', gvisor: true });
    expect(health.detail).toContain('tools run under gVisor (runsc)');
    const tool = {
      ...(await attackTool('echo.sh')),
      id: 'test.proc_version',
      command: [
        '/bin/sh',
        '-c',
        'cat >/dev/null; printf "{\\"v\\":\\"%s\\"}" "$(cat /proc/version)"',
      ],
    };
    for (const pooled of [false, true]) {
      if (pooled) await backend.prewarm(tool);
      const r = await backend.run({ invocationId: `kernel-${pooled}`, tool, input: {} });
      expect(r).toMatchObject({ ok: true, runtime: 'runsc' });
      const seen = (JSON.parse((r as { outputJson: string }).outputJson) as { v: string }).v;
      expect(seen).not.toBe(readFileSync('/proc/version', 'utf8').trim());
      // gVisor reports a fixed, made-up kernel (`Linux version 4.4.0 #1 SMP Sun Jan 10 15:06:54 PST 2016`).
      expect(seen).toMatch(/^Linux version 4\.4\.0 #1 SMP Sun Jan 10 15:06:54 PST 2016/);
    }
  });
});
