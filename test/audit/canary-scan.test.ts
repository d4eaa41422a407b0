// The suite-wide canary scan catches what it is there to catch: a canary value or a claim, proof or
// token in any line the system wrote (an audit trail anywhere under the suite root, captured service
// output), and fails the run from the global teardown; it leaves the trail's own checkpoint JWS and
// files the system did not write (tool outputs, fixtures) alone, and streams large files.
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterEach, beforeEach, expect, it } from 'vitest';
import {
  CANARIES,
  CANARY_API_KEY,
  CANARY_ARG,
  CANARY_MARK,
  CANARY_SECRET,
  canary,
} from '../helpers/canaries.ts';
import { scanFile, scanLine, scanSuiteOutput } from '../helpers/canary-scan.ts';
import { SUITE_ROOT_ENV } from '../helpers/suite-output.ts';
import setup from '../helpers/suite-setup.ts';
import { attackerKey, payloadFor, sign } from '../helpers/forge.ts';
import { auditKey, call, openSink, writeTrail } from './trail.ts';

// Removed outright: these plants are deliberate, so they must not reach the suite's own scan.
let root: { dir: string };
beforeEach(() => {
  root = { dir: mkdtempSync(join(tmpdir(), 'toolcage-canary-')) };
});
afterEach(() => rmSync(root.dir, { recursive: true, force: true }));

/** A real chained trail whose one record carries `extra` (a defence that failed would write it). */
async function trailWith(file: string, extra: Record<string, unknown>): Promise<void> {
  const { key } = await auditKey();
  const sink = openSink(file, key);
  await sink.record(call(1));
  await sink.record(call(2, extra));
  await sink.close();
}

it('finds each canary and any claim or proof in a line, never the trail checkpoint JWS', async () => {
  for (const c of [CANARY_ARG, CANARY_SECRET, CANARY_API_KEY, canary('lane')])
    expect(scanLine(`{"x":"a ${c} b"}`, CANARIES)).toEqual([`canary ${CANARY_MARK}`]);
  const k = await attackerKey('EdDSA');
  const claim = await sign(k, payloadFor({ tool: 'text.word_count', args: {} }));
  expect(scanLine(`{"authorization":"Bearer ${claim}"}`, CANARIES)).toEqual([
    'a compact JWS (typ JWT)',
  ]);
  const proof = await sign(k, { htm: 'POST' }, { typ: 'dpop+jwt' });
  expect(scanLine(proof, CANARIES)).toEqual(['a compact JWS (typ dpop+jwt)']);
  // A sealed trail holds checkpoint JWS only: nothing to report.
  const file = join(root.dir, 'audit.log');
  await writeTrail(file, (await auditKey()).key, 10);
  expect((await scanFile(file, CANARIES)).findings).toEqual([]);
});

it('reports a planted canary in a trail anywhere under the root and in captured output, with file and line; ignores tool output', async () => {
  const trail = join(root.dir, 'tmp', 'toolcage-http-x', '.toolcage', 'audit.log');
  mkdirSync(join(trail, '..'), { recursive: true });
  await trailWith(trail, { args: { text: CANARY_ARG } } as never);
  mkdirSync(join(root.dir, 'captured'));
  writeFileSync(
    join(root.dir, 'captured', 'broker-1-stdout.log'),
    `{"level":30,"msg":"listening"}\n{"level":30,"secret":"${CANARY_SECRET}"}\n`,
  );
  // A tool's output file echoes its input: not a line the system wrote about the call.
  writeFileSync(join(root.dir, 'tmp', 'echo-output.json'), `{"text":"${CANARY_ARG}"}\n`);

  const report = await scanSuiteOutput(root.dir, CANARIES);
  expect(report.files).toHaveLength(2);
  expect(report.findings).toHaveLength(2);
  expect(report.findings).toEqual(
    expect.arrayContaining([
      {
        file: join(root.dir, 'captured', 'broker-1-stdout.log'),
        line: 2,
        what: `canary ${CANARY_MARK}`,
      },
      { file: trail, line: 2, what: `canary ${CANARY_MARK}` },
    ]),
  );
});

it('streams a large file and names the line of a canary at its end', async () => {
  const file = join(root.dir, 'big.log');
  const out = createWriteStream(file);
  const line = `${JSON.stringify({ level: 30, msg: 'x'.repeat(200) })}\n`;
  for (let i = 0; i < 100_000; i++) if (!out.write(line)) await once(out, 'drain');
  out.end(`{"leak":"${CANARY_ARG}"}\n`);
  await once(out, 'finish');
  const before = process.memoryUsage().rss;
  const r = await scanFile(file, CANARIES);
  expect(r.lines).toBe(100_001);
  expect(r.findings).toEqual([{ file, line: 100_001, what: `canary ${CANARY_MARK}` }]);
  // ~21 MB read line by line: the file is never held whole.
  expect(process.memoryUsage().rss - before).toBeLessThan(20_000_000);
});

it("the suite's global teardown fails the run on a planted line, and passes a clean root", async () => {
  const saved = { root: process.env[SUITE_ROOT_ENV], tmp: process.env.TMPDIR };
  const restore = () => {
    for (const [name, value] of [
      [SUITE_ROOT_ENV, saved.root],
      ['TMPDIR', saved.tmp],
    ] as const)
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
  };
  try {
    const teardown = setup();
    const planted = process.env[SUITE_ROOT_ENV]!;
    restore();
    mkdirSync(join(planted, 'captured'), { recursive: true });
    writeFileSync(join(planted, 'captured', 'runner-9-stdout.log'), `{"args":"${CANARY_ARG}"}\n`);
    try {
      await expect(teardown()).rejects.toThrow(/1 line\(s\) the system wrote hold a canary/);
    } finally {
      rmSync(planted, { recursive: true, force: true });
    }

    const clean = setup();
    const cleanRoot = process.env[SUITE_ROOT_ENV]!;
    restore();
    await trailWith(join(cleanRoot, 'audit.log'), {});
    await expect(clean()).resolves.toBeUndefined();
    // A clean run leaves nothing behind.
    expect(existsSync(cleanRoot)).toBe(false);
  } finally {
    restore();
  }
});
