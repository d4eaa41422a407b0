// The npm package as a user gets it: `npm pack` builds first (prepack), the tarball holds what a user
// needs and no test images, and once installed into an empty prefix its `toolcage` bin makes a
// workspace and runs a tool.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'toolcage-pack-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

it('packs, installs into a temporary prefix, and runs init plus one call from the installed bin', async () => {
  const env = { ...process.env, npm_config_update_notifier: 'false', TOOLCAGE_DEBUG: '' };
  const packed = await run('npm', ['pack', '--json', '--pack-destination', tmp], {
    cwd: root,
    env,
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as Array<{
    filename: string;
    files: Array<{ path: string }>;
  }>;
  const files = info!.files.map((f) => f.path);
  expect(files).toContain('dist/cli/main.js');
  expect(files).toContain('sandboxes/isolated-vm/prelude.js');
  expect(files).toContain('docs/cli.md');
  expect(files.filter((f) => f.startsWith('sandboxes/docker/test-attack'))).toEqual([]);
  expect(files.filter((f) => f.startsWith('test/') || f.startsWith('src/'))).toEqual([]);

  const prefix = join(tmp, 'prefix');
  // Native modules load their bundled prebuilds (isolated-vm): no install scripts, no compiler.
  await run(
    'npm',
    [
      'install',
      '-g',
      '--prefix',
      prefix,
      '--prefer-offline',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      join(tmp, info!.filename),
    ],
    { cwd: tmp, env, timeout: 480_000, maxBuffer: 64 * 1024 * 1024 },
  );
  const bin = join(prefix, 'bin', 'toolcage');
  expect(readdirSync(join(prefix, 'bin'))).toContain('toolcage');

  const ws = join(tmp, 'ws');
  const init = await run(bin, ['init', ws, '--no-docker'], { cwd: tmp, env, timeout: 120_000 });
  expect(JSON.parse(init.stdout)).toMatchObject({
    tools: expect.arrayContaining(['text.word_count']),
  });
  writeFileSync(join(ws, 'args.json'), JSON.stringify({ text: 'one two three' }));
  const call = await run(bin, ['dev', 'call', 'text.word_count', '--args', 'args.json'], {
    cwd: ws,
    env,
    timeout: 120_000,
  });
  expect(JSON.parse(call.stdout)).toMatchObject({ result: { words: 3, lines: 1, characters: 13 } });
}, 900_000);
