// Rotated audit files are read back in name order, so the names must follow the order the files
// were written in, whoever rotates them and however close together: a writer with a stale view of
// the live file must not rename another writer's newer file, and two rotations in one millisecond
// must neither sort by writer name nor replace one another.
import { existsSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { FileDestination } from '../../src/audit/destination.ts';
import { auditFilesOf } from '../../src/audit/files.ts';
import { tempDir } from './trail.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

const NOW = Date.UTC(2026, 10, 28, 0, 29, 10, 302);
const line = (s: string) => Buffer.from(`${s.padEnd(60, '.')}\n`);

/** Every line of the trail's files, in the order the verifier reads them. */
function trail(file: string): string[] {
  return auditFilesOf(file)
    .flatMap((f) => readFileSync(f, 'utf8').split('\n'))
    .filter(Boolean)
    .map((l) => l.replace(/\.+$/, ''));
}

it("a writer with a stale view does not rename another writer's newer file", async () => {
  const file = join(tmp.dir, 'stale', 'audit.log');
  // One fixed clock: both writers rotate in the same millisecond, and the stale one does not
  // re-check the path (it does so at most every 500 ms).
  const zeta = new FileDestination({
    file,
    rotate: { maxBytes: 150 },
    writer: 'zeta',
    now: () => NOW,
  });
  const alpha = new FileDestination({
    file,
    rotate: { maxBytes: 150 },
    writer: 'alpha',
    now: () => NOW,
  });
  await zeta.append(line('zeta 1'));
  await alpha.append(line('alpha 1'));
  await zeta.append(line('zeta 2')); // full: zeta rotates, then writes to a new live file
  await zeta.append(line('zeta 3'));
  await alpha.append(line('alpha 2')); // alpha still counts the first file as its own, and full
  await alpha.append(line('alpha 3'));
  await zeta.close();
  await alpha.close();

  const lines = trail(file);
  for (const w of ['zeta', 'alpha']) {
    const mine = lines.filter((l) => l.startsWith(w));
    expect(mine).toEqual([`${w} 1`, `${w} 2`, `${w} 3`]);
  }
  expect(lines).toHaveLength(6);
});

it('two rotations in one millisecond keep both files, in order', async () => {
  const file = join(tmp.dir, 'same-ms', 'audit.log');
  const d = new FileDestination({ file, rotate: { maxBytes: 70 }, writer: 'w', now: () => NOW });
  for (let i = 1; i <= 4; i++) await d.append(line(`w ${i}`)); // each line fills a file
  await d.close();
  expect(auditFilesOf(file)).toHaveLength(4);
  expect(trail(file)).toEqual(['w 1', 'w 2', 'w 3', 'w 4']);
});

it('writers rotate one at a time: a held lock defers the rotation, a dead writer’s lock is broken', async () => {
  const dir = join(tmp.dir, 'locked');
  const file = join(dir, 'audit.log');
  const lock = join(dir, '.audit.log.rotating');
  const d = new FileDestination({ file, rotate: { maxBytes: 70 }, writer: 'w' });
  await d.append(line('w 1'));
  writeFileSync(lock, ''); // another writer is rotating right now
  await d.append(line('w 2')); // full, but not rotated: written to the file it has
  expect(auditFilesOf(file)).toHaveLength(1);
  const old = new Date(Date.now() - 60_000);
  utimesSync(lock, old, old); // that writer died mid-rotation
  await d.append(line('w 3'));
  await d.close();
  expect(auditFilesOf(file)).toHaveLength(2);
  expect(existsSync(lock)).toBe(false);
  expect(trail(file)).toEqual(['w 1', 'w 2', 'w 3']);
});
