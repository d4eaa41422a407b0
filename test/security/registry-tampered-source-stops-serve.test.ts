// Attack: change one byte of a pinned tool's JS source after the lock was signed, then start the
// service. `toolcage serve` runs the registry's per-tool checks (schema compilation, entry parse)
// only when the registry is first used, after it listens; the lock's signature and every pinned hash
// must still be checked before it listens, so the tampered registry stops the start.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliError, runCli } from '../helpers/cli.ts';
import { makeWorkspace, type Workspace } from '../helpers/workspace.ts';

let ws: Workspace;
beforeAll(async () => {
  ws = await makeWorkspace();
});
afterAll(() => ws.cleanup());

it('serve exits non-zero with registry_invalid naming the changed file, and never listens', async () => {
  const file = ws.path('tool-manifests', 'text.word_count', 'word_count.js');
  const tampered = readFileSync(file);
  const at = tampered.indexOf('words ?');
  expect(at).toBeGreaterThan(-1);
  tampered[at] = 'W'.charCodeAt(0); // `words ?` → `Words ?`: one byte
  writeFileSync(file, tampered);

  const r = await runCli(['serve', '--host', '127.0.0.1', '--port', '0'], {
    cwd: ws.dir,
    timeoutMs: 60_000,
  });
  expect(r.code).not.toBe(0);
  expect(r.stdout + r.stderr).not.toMatch(/listening/);
  const e = cliError(r);
  expect(e.code).toBe('registry_invalid');
  expect(e.message).toMatch(
    /text\.word_count: artifact hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \(text\.word_count\/word_count\.js changed\)/,
  );
}, 90_000);
