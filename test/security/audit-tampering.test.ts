// Attack: someone with file access edits the audit trail to hide or invent a decision. Each kind of
// edit (one byte of a field, a deleted line, two swapped lines, a forged line, a cut tail, a checkpoint
// re-signed with another key) must be reported by `verifyAuditFiles` with its kind and a non-zero exit.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import canonicalize from 'canonicalize';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lineHash } from '../../src/audit/chain.ts';
import { signCheckpoint } from '../../src/audit/checkpoint.ts';
import { verifyAuditFiles } from '../../src/audit/verify.ts';
import { auditKey, tempDir, writeTrail, type TestKey } from '../audit/trail.ts';

let key: TestKey;
let other: TestKey;
let tmp: ReturnType<typeof tempDir>;
let file: string;

beforeAll(async () => {
  key = await auditKey();
  other = await auditKey();
});
afterEach(() => tmp?.cleanup());

async function fresh(): Promise<string[]> {
  tmp = tempDir();
  file = join(tmp.dir, 'audit.log');
  await writeTrail(file, key.key, 10);
  return readFileSync(file, 'utf8').trimEnd().split('\n');
}
const save = (lines: string[], tail = '\n') => writeFileSync(file, lines.join('\n') + tail);
const verify = () => verifyAuditFiles([file], { jwks: key.jwks });
const kinds = (r: Awaited<ReturnType<typeof verify>>) => r.findings.map((f) => f.kind);

describe('an untouched trail', () => {
  it('verifies: exit 0, one sealed chain, every checkpoint signed', async () => {
    const lines = await fresh();
    expect(lines.length).toBe(10 + 3); // 2 periodic checkpoints + the final one
    const r = await verify();
    expect(r.findings).toEqual([]);
    expect(r.exitCode).toBe(0);
    expect(r.chains).toHaveLength(1);
    expect(r.chains[0]).toMatchObject({
      sealed: true,
      records: 13,
      lastSeq: 13,
      checkpointedSeq: 13,
    });
  });
});

describe('tampering', () => {
  it('edit one byte of a field: modified', async () => {
    const lines = await fresh();
    lines[2] = lines[2]!.replace('"outcome":"allowed"', '"outcome":"allowez"');
    save(lines);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: 'modified', line: 3 }));
  });

  it('delete a line: deleted', async () => {
    const lines = await fresh();
    lines.splice(6, 1);
    save(lines);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: 'deleted', seq: 8 }));
  });

  it('swap two lines: reordered', async () => {
    const lines = await fresh();
    [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    save(lines);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toContain('reordered');
  });

  it('insert a forged line with a plausible seq and prev: inserted', async () => {
    const lines = await fresh();
    const real = JSON.parse(lines[3]!) as Record<string, unknown>;
    const forged = canonicalize({
      ...real,
      requestId: 'req_forged',
      outcome: 'refused',
      prev: lineHash(lines[2]!),
    })!;
    lines.splice(3, 0, forged);
    save(lines);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(r.findings).toContainEqual(expect.objectContaining({ kind: 'inserted', line: 4 }));
  });

  it('append a forged line after the final checkpoint: inserted', async () => {
    const lines = await fresh();
    const last = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    const forged = canonicalize({
      ...(JSON.parse(lines[0]!) as object),
      seq: (last.seq as number) + 1,
      prev: lineHash(lines.at(-1)!),
    })!;
    save([...lines, forged]);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toContain('inserted');
  });

  it('cut the tail (whole lines): unsealed, with the records after the last checkpoint named', async () => {
    const lines = await fresh();
    save(lines.slice(0, 7)); // the final checkpoint and the records after the 2nd checkpoint are gone
    const r = await verify();
    expect(r.exitCode).not.toBe(0);
    expect(r.findings).toContainEqual(
      expect.objectContaining({
        kind: 'unsealed',
        detail: expect.stringContaining('may have been cut'),
      }),
    );
  });

  it('cut the tail inside a line: truncated', async () => {
    const lines = await fresh();
    save([...lines.slice(0, 12), lines[12]!.slice(0, 20)], '');
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toContain('truncated');
  });

  it('replace a checkpoint with one signed by another key: checkpoint_invalid', async () => {
    const lines = await fresh();
    const i = lines.findIndex((l) => l.includes('"kind":"checkpoint"'));
    const cp = JSON.parse(lines[i]!) as Record<string, unknown>;
    const jws = await signCheckpoint(other.key, {
      chain: cp.chain as string,
      seq: cp.covers as number,
      head: cp.prev as string,
    });
    lines[i] = canonicalize({ ...cp, jws })!;
    // Re-link the next line so only the signature is wrong.
    const next = JSON.parse(lines[i + 1]!) as Record<string, unknown>;
    lines[i + 1] = canonicalize({ ...next, prev: lineHash(lines[i]!) })!;
    save(lines);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(r.findings).toContainEqual(
      expect.objectContaining({ kind: 'checkpoint_invalid', seq: cp.seq }),
    );
  });

  it('rewrite the whole chain after an edit (re-hash every line): the checkpoints no longer verify', async () => {
    const lines = await fresh();
    const recs = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    recs[0]!.outcome = 'refused';
    let prev: string | null = null;
    const out: string[] = [];
    for (const r of recs) {
      const line = canonicalize({ ...r, prev })!;
      out.push(line);
      prev = lineHash(line);
    }
    save(out);
    const r = await verify();
    expect(r.exitCode).toBe(1);
    expect(kinds(r)).toContain('checkpoint_invalid');
  });
});
