// Attack: the SQLite replay store writes the consumes of one event-loop turn in one transaction
// (group commit). If a consume's promise settled before that transaction committed, a runner
// killed right after its calls started would forget their jtis, and the claims would run again.
// The process below consumes 20 jtis in one turn and SIGKILLs itself the moment they settle:
// every one of them must already be in the file. And a batch that cannot be written refuses
// every call in it: none is reported fresh (none would run).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteReplayStore } from '../../src/state/sqlite/replay-store.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolcage-replay-batch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const jti = (i: number) => `jti-batch-crash-${String(i).padStart(4, '0')}`;

it('a runner SIGKILLed as its batch of consumes settles: every jti of the batch stays spent', async () => {
  const file = join(dir, 'crash.db');
  openStateDatabase(file).close();
  const storeUrl = new URL('../../src/state/sqlite/replay-store.ts', import.meta.url).href;
  const dbUrl = new URL('../../src/state/sqlite/database.ts', import.meta.url).href;
  const script = `
    const { SqliteReplayStore } = await import(${JSON.stringify(storeUrl)});
    const { openStateDatabase } = await import(${JSON.stringify(dbUrl)});
    const store = new SqliteReplayStore(openStateDatabase(${JSON.stringify(file)}));
    const ids = Array.from({ length: 20 }, (_, i) => 'jti-batch-crash-' + String(i).padStart(4, '0'));
    const fresh = await Promise.all(ids.map((jti) => store.consume({ iss: 'toolcage-broker', jti }, Date.now() + 60000)));
    process.stdout.write(String(fresh.filter(Boolean).length));
    process.kill(process.pid, 'SIGKILL');`;
  const out = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
      (_err, stdout) => resolve(stdout),
    );
  });
  expect(out).toBe('20'); // all 20 were fresh in the killed process
  const store = new SqliteReplayStore(openStateDatabase(file));
  const again = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      store.consume({ iss: 'toolcage-broker', jti: jti(i) }, Date.now() + 60_000),
    ),
  );
  expect(again.filter(Boolean)).toEqual([]);
  await store.close();
});

it('a batch that cannot be written refuses every consume in it with state_unavailable', async () => {
  const db = openStateDatabase(join(dir, 'closed.db'));
  const store = new SqliteReplayStore(db);
  const asked = Array.from({ length: 5 }, (_, i) =>
    store.consume({ iss: 'toolcage-broker', jti: jti(100 + i) }, Date.now() + 60_000),
  );
  db.close(); // before the batch is written
  const settled = await Promise.allSettled(asked);
  expect(settled.map((r) => r.status)).toEqual(Array.from({ length: 5 }, () => 'rejected'));
  for (const r of settled)
    expect(((r as PromiseRejectedResult).reason as ToolcageError).code).toBe('state_unavailable');
});

it('one jti asked for twice in one batch is fresh once', async () => {
  const store = new SqliteReplayStore(openStateDatabase(join(dir, 'twice.db')));
  const id = { iss: 'toolcage-broker', jti: jti(200) };
  const [a, b, c] = await Promise.all([
    store.consume(id, Date.now() + 60_000),
    store.consume({ iss: 'toolcage-broker', jti: jti(201) }, Date.now() + 60_000),
    store.consume(id, Date.now() + 60_000),
  ]);
  expect([a, b, c]).toEqual([true, true, false]);
  await store.close();
});
