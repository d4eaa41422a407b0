// Hashes (RFC 8785) and the signed lock, on their own.
import { expect, it } from 'vitest';
import { generateSigningKey, signingKeyFromJwk } from '../../src/claims/keys.ts';
import { argsHash, canonicalJson, sha256Hex } from '../../src/util/hash.ts';
import {
  parseLock,
  signLock,
  verifyLockSignature,
  type RegistryLock,
} from '../../src/registry/lock.ts';
import { parseManifest } from '../../src/registry/manifest.ts';

it('args_hash is "sha256:" + hex(sha256(JCS(args))): key order and number spelling do not change it', () => {
  expect(canonicalJson(JSON.parse('{"b":1.0,"a":[1e2,"x"],"c":{"z":null,"y":true}}'))).toBe(
    '{"a":[100,"x"],"b":1,"c":{"y":true,"z":null}}',
  );
  expect(argsHash({ text: 'a b' })).toBe(`sha256:${sha256Hex('{"text":"a b"}')}`);
  expect(argsHash(JSON.parse('{"b":1,"a":2}'))).toBe(argsHash(JSON.parse('{"a":2.0,"b":1e0}')));
  expect(argsHash({ a: '1' })).not.toBe(argsHash({ a: 1 }));
});

it('JCS sorts keys by UTF-16 code units and escapes per RFC 8785', () => {
  expect(canonicalJson({ '\u20ac': 1, '\r': 2, ö: 3, '1': 4 })).toBe('{"\\r":2,"1":4,"ö":3,"€":1}');
  expect(canonicalJson({ n: 1e21, m: 0.000001, k: -0 })).toBe('{"k":0,"m":0.000001,"n":1e+21}');
});

it('refuses values JSON cannot represent', () => {
  expect(() => canonicalJson(undefined)).toThrow(
    expect.objectContaining({ code: 'request_invalid' }),
  );
});

const lock: RegistryLock = {
  version: 1,
  tools: [
    {
      id: 'text.word_count',
      version: '1.0.0',
      runtime: 'js',
      manifest: 'text.word_count/manifest.yaml',
      manifestSha256: 'a'.repeat(64),
      artifact: 'text.word_count/word_count.js',
      artifactSha256: 'b'.repeat(64),
    },
  ],
};

it('a signed lock verifies against its key; any change to a pinned hash breaks the signature', async () => {
  const { privateJwk, publicJwk } = await generateSigningKey('EdDSA');
  const signed = await signLock(lock, await signingKeyFromJwk(privateJwk, 'k'));
  expect(signed.signature).toMatch(/^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
  await expect(verifyLockSignature(signed, { keys: [publicJwk] }, 'lock')).resolves.toBeUndefined();
  const edited = { ...signed, tools: [{ ...signed.tools[0]!, artifactSha256: 'c'.repeat(64) }] };
  await expect(verifyLockSignature(edited, { keys: [publicJwk] }, 'lock')).rejects.toMatchObject({
    code: 'registry_invalid',
    message:
      'lock: signature does not verify against the platform key; the lock was changed or signed by another key.',
  });
  // Key order in the file does not matter: the signature is over the JCS of the lock.
  const reordered = parseLock(
    JSON.stringify({ signature: signed.signature, tools: signed.tools, version: 1 }),
    'lock',
  );
  await expect(
    verifyLockSignature(reordered, { keys: [publicJwk] }, 'lock'),
  ).resolves.toBeUndefined();
});

it('refuses an attached (non-detached) signature and a lock pinning one tool twice', async () => {
  await expect(
    verifyLockSignature({ ...lock, signature: 'a.b.c' }, { keys: [] }, 'lock'),
  ).rejects.toMatchObject({ message: 'lock: signature is not a detached compact JWS.' });
  expect(() =>
    parseLock(JSON.stringify({ ...lock, tools: [lock.tools[0], lock.tools[0]] }), 'lock'),
  ).toThrow('lock: tool text.word_count is pinned twice.');
  expect(() => parseLock(JSON.stringify({ ...lock, extra: 1 }), 'lock')).toThrow(
    /Unrecognized key/,
  );
});

const MANIFEST = `id: text.word_count
version: 1.0.0
description: Count words.
runtime: js
entry: word_count.js
inputSchema: { type: object }
outputSchema: { type: object }
limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }
risk: low
`;

it('parses a manifest with defaults applied (network none, no scopes, no credentials, cost 1)', () => {
  expect(parseManifest(MANIFEST, 'm.yaml')).toMatchObject({
    network: 'none',
    scopes: [],
    credentials: [],
    cost: 1,
  });
});

it.each([
  [
    'a zero limit (zero never means unlimited)',
    MANIFEST.replace('timeoutMs: 1000', 'timeoutMs: 0'),
    'm.yaml: limits.timeoutMs:',
  ],
  [
    'a bad id',
    MANIFEST.replace('id: text.word_count', 'id: Text'),
    'm.yaml: id: must look like text.word_count',
  ],
  [
    'an entry outside the folder',
    MANIFEST.replace('entry: word_count.js', 'entry: ../../etc/passwd.js'),
    'm.yaml: entry: must be a .js/.mjs file name beside the manifest',
  ],
  [
    'a non-object schema',
    MANIFEST.replace('inputSchema: { type: object }', 'inputSchema: { type: string }'),
    'm.yaml: inputSchema: must be a JSON Schema with type: object',
  ],
  ['YAML aliases (billion laughs)', `${MANIFEST}x: &a [1]\ny: *a\n`, 'm.yaml: not valid YAML'],
])('refuses %s with registry_invalid naming the file and field', (_what, text, expected) => {
  expect(() => parseManifest(text, 'm.yaml')).toThrow(
    expect.objectContaining({
      code: 'registry_invalid',
      message: expect.stringContaining(expected),
    }),
  );
});
