// Attack: tamper a tool and rewrite the lock's hashes to match, dropping the signature (anyone with write
// access to tool-manifests/ could do this). An unsigned lock is refused unless an option named insecure… says so.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { buildLock } from '../../src/registry/lock-build.ts';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { parseConfig } from '../../src/config/load.ts';
import { expectBenignSucceeds, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const lockFile = () => s.ws.path('tool-manifests', 'registry.lock.json');

it('refuses a lock without a signature with registry_invalid', async () => {
  const original = readFileSync(lockFile(), 'utf8');
  const { signature: _sig, ...unsigned } = JSON.parse(original) as Record<string, unknown>;
  writeFileSync(lockFile(), JSON.stringify(unsigned));
  try {
    await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: `${lockFile()} is not signed: lock the registry with the platform key, or set registry.insecureSkipLockSignature for local experiments.`,
      hint: { kind: 'lock_registry' },
    });
  } finally {
    writeFileSync(lockFile(), original);
  }
  await expectBenignSucceeds(s.t);
});

it('refuses a lock whose hashes were rewritten to match a tampered tool, keeping the old signature', async () => {
  const original = readFileSync(lockFile(), 'utf8');
  const source = s.ws.path('tool-manifests', 'text.word_count', 'word_count.js');
  const originalSource = readFileSync(source, 'utf8');
  writeFileSync(
    source,
    originalSource.replace('export default', 'globalThis.x = 1;\nexport default'),
  );
  const rewritten = await buildLock(s.ws.manifests);
  writeFileSync(
    lockFile(),
    JSON.stringify({
      ...rewritten,
      signature: (JSON.parse(original) as { signature: string }).signature,
    }),
  );
  try {
    await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: `${lockFile()}: signature does not verify against the platform key; the lock was changed or signed by another key.`,
    });
  } finally {
    writeFileSync(lockFile(), original);
    writeFileSync(source, originalSource);
  }
  await expectBenignSucceeds(s.t);
});

it('loads an unsigned lock only with registry.insecureSkipLockSignature: true, and still checks every hash', async () => {
  const original = readFileSync(lockFile(), 'utf8');
  const { signature: _sig, ...unsigned } = JSON.parse(original) as Record<string, unknown>;
  writeFileSync(lockFile(), JSON.stringify(unsigned));
  const insecure = parseConfig({ registry: { insecureSkipLockSignature: true } }, 'test', s.ws.dir);
  const source = s.ws.path('tool-manifests', 'text.word_count', 'word_count.js');
  const originalSource = readFileSync(source, 'utf8');
  try {
    await expect(loadRegistry(insecure)).resolves.toBeTruthy();
    writeFileSync(source, `${originalSource} `);
    await expect(loadRegistry(insecure)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: expect.stringContaining('(text.word_count/word_count.js changed)'),
    });
  } finally {
    writeFileSync(lockFile(), original);
    writeFileSync(source, originalSource);
  }
});
