// `toolcage tool new` writes a tool that locks and runs as written, in each runtime; `toolcage dev call`
// mints and runs in one step only in a dev workspace; the scaffold's own test passes as generated.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverRecipes } from '../../src/cli/commands/images.ts';
import { CLI, cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

describe('a scaffolded JS tool', () => {
  let ws: Workspace;
  beforeAll(async () => {
    ws = await makeWorkspace();
  });
  afterAll(() => ws.cleanup());

  it('is written, locked and called with dev call; its generated test passes', async () => {
    const made = await runCli(['tool', 'new', 'acme.hello', '--runtime', 'js'], { cwd: ws.dir });
    expect(made.code).toBe(0);
    const folder = ws.path('tool-manifests', 'acme.hello');
    expect(JSON.parse(made.stdout)).toMatchObject({
      id: 'acme.hello',
      files: [
        join(folder, 'manifest.yaml'),
        join(folder, 'tool.js'),
        join(folder, 'example-args.json'),
        join(folder, 'tool.test.mjs'),
      ],
    });
    const lock = await runCli(['registry', 'lock'], { cwd: ws.dir });
    expect(lock.code, lock.stderr).toBe(0);
    expect(lock.stderr).toMatch(/^added acme\.hello@0\.1\.0 manifest [0-9a-f]{64}/m);

    const call = await runCli(
      ['dev', 'call', 'acme.hello', '--args', join(folder, 'example-args.json')],
      { cwd: ws.dir, timeoutMs: 60_000 },
    );
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({
      result: { characters: 11, upper: 'HELLO WORLD' },
    });

    // The generated test calls `toolcage` from PATH: give it this checkout's CLI.
    const bin = ws.path('bin');
    mkdirSync(bin);
    writeFileSync(join(bin, 'toolcage'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
    chmodSync(join(bin, 'toolcage'), 0o755);
    const out = await promisify(execFile)(
      process.execPath,
      ['--test', join(folder, 'tool.test.mjs')],
      {
        cwd: ws.dir,
        env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}` },
        timeout: 60_000,
      },
    );
    expect(out.stdout).toMatch(/pass 1/);
    expect(out.stdout).toMatch(/fail 0/);
  }, 180_000);

  it('dev call is refused where the config is not a dev workspace', async () => {
    const config = ws.path('prod.yaml');
    writeFileSync(config, readFileSync(ws.configFile, 'utf8').replace('dev: true', 'dev: false'));
    const r = await runCli(
      ['dev', 'call', 'text.word_count', '--args', '/dev/null', '--config', config],
      { cwd: ws.dir },
    );
    expect(r.code).not.toBe(0);
    expect(cliError(r)).toMatchObject({
      code: 'policy_denied',
      message: expect.stringMatching(/^dev call runs only in a dev workspace: set `dev: true`/),
    });
  }, 120_000);

  it('tool new refuses a bad id and an existing tool', async () => {
    expect(cliError(await runCli(['tool', 'new', 'Hello'], { cwd: ws.dir })).message).toMatch(
      /must be lowercase dotted words/,
    );
    expect(
      cliError(await runCli(['tool', 'new', 'text.word_count'], { cwd: ws.dir })).message,
    ).toMatch(/text\.word_count already exists/);
  }, 120_000);

  it('images build finds the workspace recipes in images/ beside the config', async () => {
    mkdirSync(ws.path('images', 'x'), { recursive: true });
    writeFileSync(
      ws.path('images', 'x', 'recipe.json'),
      JSON.stringify({
        image: 'acme/x',
        description: 'x',
        binaries: [{ package: 'busybox-static', source: '/bin/busybox', path: '/bin/busybox' }],
        files: [],
        user: { name: 'tool', uid: 65532, gid: 65532 },
      }),
    );
    const found = discoverRecipes({ config: ws.configFile, recipes: [], includeTest: false });
    expect(found.map((r) => r.image)).toContain('acme/x');
    expect(found.map((r) => r.image)).not.toContain('toolcage-test/attack');
    expect(() =>
      discoverRecipes({ config: ws.configFile, recipes: [ws.path('images')], includeTest: false }),
    ).toThrow(/Two recipes build acme\/x/);
  });
});

describe('a scaffolded Docker tool (the Docker engine scripts/setup.sh starts)', () => {
  let ws: Workspace;
  const suffix =
    Math.random()
      .toString(36)
      .replace(/[^a-z]/g, '')
      .slice(0, 8) || 'x';
  const id = `acme.bytes_${suffix}`;
  const image = `toolcage-local/acme.bytes-${suffix}`;
  beforeAll(async () => {
    ws = await makeWorkspace({
      config: (t) =>
        t.replace('docker: { enabled: false }', 'docker: { enabled: true, poolSize: 0 }'),
    });
  });
  afterAll(() => {
    try {
      execFileSync('docker', ['image', 'rm', '-f', `${image}:latest`], { stdio: 'ignore' });
    } catch {
      // never built
    }
    ws.cleanup();
  });

  it('is written with its recipe, built with images build --recipes, locked and called', async () => {
    const made = await runCli(['tool', 'new', id, '--runtime', 'docker'], { cwd: ws.dir });
    expect(made.code, made.stderr).toBe(0);
    // Build it from a recipes folder outside the workspace's images/ (the --recipes path).
    const recipeName = id.replace(/[._]/g, '-');
    mkdirSync(ws.path('recipes'));
    renameSync(ws.path('images', recipeName), ws.path('recipes', recipeName));
    const built = await runCli(['images', 'build', '--json', '--recipes', 'recipes'], {
      cwd: ws.dir,
      timeoutMs: 120_000,
    });
    expect(built.code, built.stderr).toBe(0);
    expect(
      (JSON.parse(built.stdout) as { images: Array<{ image: string }> }).images,
    ).toContainEqual(expect.objectContaining({ image: `${image}:latest` }));
    const lock = await runCli(['registry', 'lock'], { cwd: ws.dir, timeoutMs: 60_000 });
    expect(lock.code, lock.stderr).toBe(0);
    const call = await runCli(
      ['dev', 'call', id, '--args', ws.path('tool-manifests', id, 'example-args.json')],
      { cwd: ws.dir, timeoutMs: 120_000 },
    );
    expect(call.code, call.stderr).toBe(0);
    expect(JSON.parse(call.stdout)).toMatchObject({ result: { inputBytes: 23 } });
  }, 300_000);
});
