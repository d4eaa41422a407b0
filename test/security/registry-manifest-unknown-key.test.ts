// Attack (or a typo with the same effect): a manifest key the schema does not know, e.g. `timeoutMS`
// beside `timeoutMs`, or a top-level `sandbox: off`. Parsed strictly: refused, naming the file and field.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { expectBenignSucceeds, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const file = () => s.ws.path('tool-manifests', 'text.word_count', 'manifest.yaml');

it.each([
  [
    'a top-level key',
    (m: string) => `${m}sandbox: off\n`,
    'text.word_count/manifest.yaml: (root): Unrecognized key: "sandbox"',
  ],
  [
    'a key inside limits',
    (m: string) => m.replace('maxOutputBytes: 1024', 'maxOutputBytes: 1024, timeoutMS: 600000'),
    'text.word_count/manifest.yaml: limits: Unrecognized key: "timeoutMS"',
  ],
])(
  'refuses %s with registry_invalid naming the file and field, at load and at lock',
  async (_what, edit, expected) => {
    const original = readFileSync(file(), 'utf8');
    writeFileSync(file(), edit(original));
    try {
      await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
        code: 'registry_invalid',
        message: expect.stringContaining(expected),
      });
      await expect(s.ws.relock()).rejects.toMatchObject({
        code: 'registry_invalid',
        message: `Nothing was locked; fix these first:\n- Manifest invalid:\n${expected}`,
      });
    } finally {
      writeFileSync(file(), original);
    }
    await expectBenignSucceeds(s.t);
  },
);

it('refuses duplicate keys (the YAML smuggling variant: the second value would silently win)', async () => {
  const original = readFileSync(file(), 'utf8');
  writeFileSync(file(), `${original}risk: high\n`);
  try {
    await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: expect.stringMatching(
        /text\.word_count\/manifest\.yaml: not valid YAML: .*[Mm]ap keys must be unique/,
      ),
    });
  } finally {
    writeFileSync(file(), original);
  }
  await expectBenignSucceeds(s.t);
});
