// An image built elsewhere (here: `docker import` of a root filesystem with a static busybox, offline)
// is pinned by its content identity, called end to end, and a rebuild with other content is named by
// `registry verify` and not re-pinned by `registry lock` without --accept (docs/docker-images.md).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliError, runCli } from '../../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../../helpers/workspace.ts';

const suffix =
  Math.random()
    .toString(36)
    .replace(/[^a-z]/g, '')
    .slice(0, 8) || 'x';
const ID = `acme.own_${suffix}`;
const IMAGE = `toolcage-test-own/${suffix}:1`;
const imported: string[] = [];
let ws: Workspace;
let rootfs: string;

/** `docker import` of a rootfs whose tool prints `answer`; returns the engine's image id. */
function importImage(answer: string): string {
  rmSync(rootfs, { recursive: true, force: true });
  for (const d of ['bin', 'opt/tool', 'tmp', 'etc', 'proc', 'sys', 'dev'])
    mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o555);
  symlinkSync('busybox', join(rootfs, 'bin', 'sh'));
  symlinkSync('busybox', join(rootfs, 'bin', 'cat'));
  writeFileSync(
    join(rootfs, 'opt', 'tool', 'run.sh'),
    `#!/bin/sh\n/bin/cat > /dev/null\necho '{"answer":"${answer}"}'\n`,
    { mode: 0o555 },
  );
  const tar = join(rootfs, '..', 'rootfs.tar');
  execFileSync('tar', ['--owner=0', '--group=0', '-C', rootfs, '-cf', tar, '.']);
  const id = execFileSync('docker', ['import', tar, IMAGE], { encoding: 'utf8' }).trim();
  imported.push(id);
  return id;
}

beforeAll(async () => {
  ws = await makeWorkspace({
    config: (t) =>
      t.replace('docker: { enabled: false }', 'docker: { enabled: true, poolSize: 0 }'),
  });
  rootfs = join(mkdtempSync(join(tmpdir(), 'toolcage-own-image-')), 'rootfs');
  const folder = ws.path('tool-manifests', ID);
  mkdirSync(folder);
  writeFileSync(
    join(folder, 'manifest.yaml'),
    `${JSON.stringify({
      id: ID,
      version: '1.0.0',
      description: 'A tool in an image built elsewhere.',
      runtime: 'docker',
      image: IMAGE,
      command: ['/opt/tool/run.sh'],
      inputSchema: { type: 'object' },
      outputSchema: {
        type: 'object',
        properties: { answer: { type: 'string' } },
        required: ['answer'],
      },
      limits: { timeoutMs: 5000, memoryMb: 32, maxOutputBytes: 1024, cpus: 1, pids: 16 },
      risk: 'low',
    })}\n`,
  );
  writeFileSync(ws.path('args.json'), '{}\n');
});

afterAll(() => {
  for (const id of imported) {
    try {
      execFileSync('docker', ['image', 'rm', '-f', id], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
  rmSync(join(rootfs, '..'), { recursive: true, force: true });
  ws.cleanup();
});

it('a missing image is named by registry lock', async () => {
  const r = await runCli(['registry', 'lock'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(r.code).not.toBe(0);
  expect(cliError(r).message).toContain(`${ID}: image ${IMAGE} is not available`);
});

it('pins an imported image by content, calls it, and refuses a rebuilt one until accepted', async () => {
  importImage('first');
  const lock = await runCli(['registry', 'lock'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(lock.code, lock.stderr).toBe(0);
  expect(lock.stderr).toMatch(
    new RegExp(`^added ${ID.replace('.', '\\.')}@1\\.0\\.0 .* ${IMAGE} [0-9a-f]{64}$`, 'm'),
  );
  expect((await runCli(['registry', 'verify'], { cwd: ws.dir, timeoutMs: 60_000 })).code).toBe(0);
  const call = await runCli(['dev', 'call', ID, '--args', 'args.json'], {
    cwd: ws.dir,
    timeoutMs: 120_000,
  });
  expect(call.code, call.stderr).toBe(0);
  expect(JSON.parse(call.stdout)).toMatchObject({ result: { answer: 'first' } });

  importImage('second'); // same tag, other content
  const verify = await runCli(['registry', 'verify'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(verify.code).not.toBe(0);
  expect(cliError(verify).message).toMatch(
    new RegExp(
      `${ID.replace('.', '\\.')}: artifact hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \\(${IMAGE.replace(/[/.]/g, '\\$&')} changed\\)`,
    ),
  );
  const refused = await runCli(['registry', 'lock'], { cwd: ws.dir, timeoutMs: 60_000 });
  expect(refused.code).not.toBe(0);
  expect(cliError(refused).message).toContain(`--accept ${ID}`);
  const accepted = await runCli(['registry', 'lock', '--accept', ID], {
    cwd: ws.dir,
    timeoutMs: 60_000,
  });
  expect(accepted.code, accepted.stderr).toBe(0);
  expect(accepted.stderr).toMatch(
    /^changed acme\.own_[a-z]+: artifact hash [0-9a-f]{64} → [0-9a-f]{64}$/m,
  );
}, 300_000);
