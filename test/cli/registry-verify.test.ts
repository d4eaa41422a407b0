// `toolcage registry verify` exits 0 only when the lock signature and every pinned hash still match,
// and otherwise exits non-zero naming each mismatch (contract: CLI).
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

it('exits 0 on a clean workspace, then non-zero naming every mismatch, then 0 again after `registry lock`', async () => {
  const clean = await runCli(['registry', 'verify'], { cwd: ws.dir });
  expect(clean.code).toBe(0);
  expect(JSON.parse(clean.stdout)).toEqual({
    ok: true,
    problems: [],
    unpinned: [],
    unverified: [],
  });

  const source = ws.path('tool-manifests', 'text.word_count', 'word_count.js');
  const manifest = ws.path('tool-manifests', 'data.json_query', 'manifest.yaml');
  writeFileSync(source, `${readFileSync(source, 'utf8')}\n// tampered\n`);
  writeFileSync(
    manifest,
    readFileSync(manifest, 'utf8').replace('timeoutMs: 1000', 'timeoutMs: 9000'),
  );
  const dirty = await runCli(['registry', 'verify'], { cwd: ws.dir });
  expect(dirty.code).not.toBe(0);
  expect(dirty.stdout).toBe('');
  const err = cliError(dirty);
  expect(err.code).toBe('registry_invalid');
  expect(err.message).toMatch(/^Registry verification failed:\n- /);
  expect(err.message).toMatch(
    /data\.json_query: manifest hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \(data\.json_query\/manifest\.yaml changed\)/,
  );
  expect(err.message).toMatch(
    /text\.word_count: artifact hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \(text\.word_count\/word_count\.js changed\)/,
  );
  expect(err.message.split('\n- ')).toHaveLength(3);

  // `lock` refuses to re-sign changed tools until each change is accepted by id.
  const refused = await runCli(['registry', 'lock', '--accept', 'data.json_query'], {
    cwd: ws.dir,
  });
  expect(refused.code).not.toBe(0);
  expect(cliError(refused).message).toMatch(
    /Refusing to re-pin changed tools without review; nothing was written:\n- changed text\.word_count: artifact hash [0-9a-f]{64} → [0-9a-f]{64}\n.*--accept text\.word_count/,
  );
  expect(cliError(refused).message).not.toContain('changed data.json_query');

  const relock = await runCli(
    ['registry', 'lock', '--accept', 'data.json_query', '--accept', 'text.word_count'],
    { cwd: ws.dir },
  );
  expect(relock.code).toBe(0);
  expect(JSON.parse(relock.stdout)).toEqual({
    locked: expect.arrayContaining([
      'data.json_query@1.0.0',
      'repo.apply_patch@1.0.0',
      'text.word_count@1.0.0',
    ]),
    kid: ws.registryKey.kid,
    changes: [
      expect.objectContaining({ id: 'data.json_query', change: 'changed' }),
      expect.objectContaining({ id: 'text.word_count', change: 'changed' }),
    ],
  });
  expect(relock.stderr).toMatch(
    /^changed data\.json_query: manifest [0-9a-f]{64} → [0-9a-f]{64}$/m,
  );
  expect((await runCli(['registry', 'verify'], { cwd: ws.dir })).code).toBe(0);
}, 120_000);

it('exits non-zero when the lock is unsigned, and with --config from another folder', async () => {
  const lockFile = ws.path('tool-manifests', 'registry.lock.json');
  const original = readFileSync(lockFile, 'utf8');
  const { signature: _s, ...unsigned } = JSON.parse(original) as Record<string, unknown>;
  writeFileSync(lockFile, JSON.stringify(unsigned));
  try {
    const r = await runCli(['registry', 'verify', '--config', ws.configFile], { cwd: '/' });
    expect(r.code).not.toBe(0);
    expect(cliError(r)).toMatchObject({
      code: 'registry_invalid',
      message: expect.stringContaining('is not signed'),
    });
  } finally {
    writeFileSync(lockFile, original);
  }
});
