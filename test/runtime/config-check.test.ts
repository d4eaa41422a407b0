// A reload signal never claims to have applied a config it did not: the files a service reads at
// start are compared by digest, and the record says `ok` (unchanged), `refused` with
// `restart_required` and the changed files, or `failed` when a file cannot be read.
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { configCheck } from '../../src/runtime/config-check.ts';
import { SuiteAuditSink } from '../helpers/suite-output.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'toolcage-config-check-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

it('records ok while the files are the ones in effect, refused once one changed, failed when one is gone', async () => {
  const files = { config: join(dir, 'c.yaml'), policy: join(dir, 'p.yaml') };
  writeFileSync(files.config, 'tenant: a\n');
  writeFileSync(files.policy, 'roles: {}\n');
  const audit = new SuiteAuditSink();
  const check = configCheck({ audit, files });

  expect(await check()).toEqual({
    kind: 'config_reloaded',
    origin: 'service',
    outcome: 'ok',
    files: ['config', 'policy'],
  });
  writeFileSync(files.policy, 'roles: { admin: { tools: ["*"] } }\n');
  expect(await check()).toMatchObject({
    outcome: 'refused',
    reason: 'restart_required',
    changed: ['policy'],
  });
  // Putting the file back as it was makes it the one in effect again.
  writeFileSync(files.policy, 'roles: {}\n');
  expect(await check()).toMatchObject({ outcome: 'ok' });
  unlinkSync(files.config);
  expect(await check()).toMatchObject({
    outcome: 'failed',
    errorCode: 'config_invalid',
    reason: 'cannot read: config',
  });
  expect(audit.entries.map((e) => (e as { outcome: string }).outcome)).toEqual([
    'ok',
    'refused',
    'ok',
    'failed',
  ]);
  // Digests only: no file content reaches the record.
  expect(JSON.stringify(audit.entries)).not.toContain('admin');
});
