// Attack: race one claim through many concurrent consumers, hoping two pass the check before either
// records the jti: in one process (50 parallel consumes, 50 parallel executions) and across processes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openStateDatabase } from '../../src/state/sqlite/database.ts';
import { SqliteReplayStore } from '../../src/state/sqlite/replay-store.ts';
import { forge } from '../helpers/forge.ts';
import { execute, expectBenignSucceeds, useRunner } from '../helpers/runner.ts';
import type { ToolcageError } from '../../src/errors/toolcage-error.ts';

const s = useRunner();
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolcage-replay-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('50 parallel consumes of one jti on the SQLite store: exactly one is true', async () => {
  const store = new SqliteReplayStore(openStateDatabase(join(dir, 'one.db')));
  const results = await Promise.all(
    Array.from({ length: 50 }, () =>
      store.consume({ iss: 'toolcage-broker', jti: 'jti-race-0001' }, Date.now() + 60_000),
    ),
  );
  expect(results.filter(Boolean)).toHaveLength(1);
  await store.close();
});

it('50 parallel consumes over 5 connections to one SQLite file: exactly one is true', async () => {
  const file = join(dir, 'five.db');
  const stores = Array.from({ length: 5 }, () => new SqliteReplayStore(openStateDatabase(file)));
  const results = await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      stores[i % 5]!.consume({ iss: 'toolcage-broker', jti: 'jti-race-0002' }, Date.now() + 60_000),
    ),
  );
  expect(results.filter(Boolean)).toHaveLength(1);
  await Promise.all(stores.map((st) => st.close()));
});

it('6 processes released at the same instant consume one jti: exactly one is true', async () => {
  const file = join(dir, 'procs.db');
  openStateDatabase(file).close(); // schema first, so no process races the CREATE TABLE
  const storeUrl = new URL('../../src/state/sqlite/replay-store.ts', import.meta.url).href;
  const dbUrl = new URL('../../src/state/sqlite/database.ts', import.meta.url).href;
  const at = Date.now() + 1500;
  const script = `
    const { SqliteReplayStore } = await import(${JSON.stringify(storeUrl)});
    const { openStateDatabase } = await import(${JSON.stringify(dbUrl)});
    const store = new SqliteReplayStore(openStateDatabase(${JSON.stringify(file)}));
    while (Date.now() < ${at}) {}
    const r = await Promise.all(Array.from({ length: 10 }, () => store.consume({ iss: 'toolcage-broker', jti: 'jti-race-0003' }, Date.now() + 60000)));
    process.stdout.write(String(r.filter(Boolean).length));`;
  const counts = await Promise.all(
    Array.from(
      { length: 6 },
      () =>
        new Promise<number>((resolve, reject) => {
          execFile(
            process.execPath,
            ['--input-type=module', '-e', script],
            { cwd: fileURLToPath(new URL('../..', import.meta.url)) },
            (err, out) => (err ? reject(err) : resolve(Number(out))),
          );
        }),
    ),
  );
  expect(counts.reduce((a, b) => a + b, 0)).toBe(1);
});

it('50 parallel executions of one claim through the executor: one result, 49 claim_replayed', async () => {
  const args = { text: 'race me' };
  const token = await forge(s.ws.brokerKey, {
    tool: 'text.word_count',
    args,
    scope: ['text:read'],
  });
  const settled = await Promise.allSettled(
    Array.from({ length: 50 }, () => execute(s.t, 'text.word_count', args, token)),
  );
  expect(settled.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
  const codes = settled.flatMap((r) =>
    r.status === 'rejected' ? [(r.reason as ToolcageError).code] : [],
  );
  expect(codes).toEqual(Array.from({ length: 49 }, () => 'claim_replayed'));
  await expectBenignSucceeds(s.t);
});
