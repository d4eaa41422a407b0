// Attack: re-lock a tampered registry and sign it with a key of the attacker's own (valid JWS, EdDSA,
// even reusing the platform kid). Only the configured platform JWKS may sign the lock.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { generateSigningKey, signingKeyFromJwk } from '../../src/claims/keys.ts';
import { buildLock } from '../../src/registry/lock-build.ts';
import { signLock } from '../../src/registry/lock.ts';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { expectBenignSucceeds, useRunner } from '../helpers/runner.ts';

const s = useRunner();

it.each([
  ['its own kid', false],
  ['the platform kid', true],
])(
  'refuses a lock signed by another key under %s, with registry_invalid',
  async (_what, reuseKid) => {
    const lockFile = s.ws.path('tool-manifests', 'registry.lock.json');
    const source = s.ws.path('tool-manifests', 'text.word_count', 'word_count.js');
    const [original, originalSource] = [
      readFileSync(lockFile, 'utf8'),
      readFileSync(source, 'utf8'),
    ];
    writeFileSync(
      source,
      originalSource.replace('export default', 'globalThis.x = 1;\nexport default'),
    );
    const { privateJwk } = await generateSigningKey('EdDSA');
    const key = await signingKeyFromJwk(
      reuseKid ? { ...privateJwk, kid: s.ws.registryKey.kid } : privateJwk,
      'attacker',
    );
    writeFileSync(lockFile, JSON.stringify(await signLock(await buildLock(s.ws.manifests), key)));
    try {
      await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
        code: 'registry_invalid',
        message: `${lockFile}: signature does not verify against the platform key; the lock was changed or signed by another key.`,
      });
    } finally {
      writeFileSync(lockFile, original);
      writeFileSync(source, originalSource);
    }
    await expectBenignSucceeds(s.t);
  },
);
