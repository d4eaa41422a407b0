// Attack: loosen a limit in a pinned manifest (timeoutMs 1000 → 600000, more memory, more output) so a
// tool can do more than the reviewed manifest allowed. The manifest hash (JCS of the parsed manifest) pins it.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { expectBenignSucceeds, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const file = () => s.ws.path('tool-manifests', 'text.word_count', 'manifest.yaml');

it.each([
  ['timeoutMs', 'timeoutMs: 1000', 'timeoutMs: 600000'],
  ['memoryMb', 'memoryMb: 32', 'memoryMb: 33'],
  ['maxOutputBytes', 'maxOutputBytes: 1024', 'maxOutputBytes: 1025'],
  ['scopes', 'scopes: [text:read]', 'scopes: []'],
  ['risk', 'risk: low', 'risk: medium'],
])(
  'refuses a manifest whose %s changed, with registry_invalid naming the tool and manifest file',
  async (_field, from, to) => {
    const original = readFileSync(file(), 'utf8');
    expect(original).toContain(from);
    writeFileSync(file(), original.replace(from, to));
    try {
      await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
        code: 'registry_invalid',
        message: expect.stringMatching(
          /text\.word_count: manifest hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \(text\.word_count\/manifest\.yaml changed\)/,
        ),
      });
    } finally {
      writeFileSync(file(), original);
    }
    await expectBenignSucceeds(s.t);
  },
);

it('accepts a change that leaves the parsed manifest equal (a comment, flow vs block style): the pin is semantic', async () => {
  const original = readFileSync(file(), 'utf8');
  writeFileSync(
    file(),
    `# reviewed 2030-01-01\n${original.replace('limits: { timeoutMs: 1000, memoryMb: 32, maxOutputBytes: 1024 }', 'limits:\n  maxOutputBytes: 1024\n  memoryMb: 32\n  timeoutMs: 1000.0')}`,
  );
  try {
    await expect(loadRegistry(s.ws.loaded)).resolves.toBeTruthy();
  } finally {
    writeFileSync(file(), original);
  }
});
