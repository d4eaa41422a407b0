// Two processes (a runner and a broker) append to one audit file at once, with rotation by size: the
// trail holds two chains, each complete, in order, sealed and signed across the rotated files.
import { spawn } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { generateSigningKey } from '../../src/claims/keys.ts';
import { auditFilesOf } from '../../src/audit/files.ts';
import { verifyAuditFiles } from '../../src/audit/verify.ts';
import { tempDir } from './trail.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const script = fileURLToPath(new URL('./writer-process.ts', import.meta.url));

function writer(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += String(d)));
    child.stderr.on('data', (d: Buffer) => (err += String(d)));
    child.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(err))));
  });
}

it('two concurrent writers produce two valid chains across rotated files', async () => {
  const { privateJwk, publicJwk } = await generateSigningKey('EdDSA');
  const jwkFile = join(tmp.dir, 'audit.private.jwk.json');
  writeFileSync(jwkFile, JSON.stringify(privateJwk));
  const file = join(tmp.dir, 'audit.log');
  const [a, b] = await Promise.all([
    writer([file, 'runner', '300', jwkFile, '20000']),
    writer([file, 'broker', '300', jwkFile, '20000']),
  ]);
  const files = auditFilesOf(file);
  expect(files.length).toBeGreaterThan(2); // rotated by size while both wrote
  expect(readdirSync(tmp.dir).filter((n) => n.startsWith('audit.log')).length).toBe(files.length);
  const r = await verifyAuditFiles(files, { jwks: { keys: [publicJwk] } });
  expect(r.findings).toEqual([]);
  expect(r.exitCode).toBe(0);
  expect(r.chains.map((c) => c.chain).sort()).toEqual([a, b].sort());
  for (const c of r.chains) expect(c).toMatchObject({ sealed: true });
  // 300 calls + start + stop, plus checkpoints.
  for (const c of r.chains) expect(c.records).toBeGreaterThan(302);
});
