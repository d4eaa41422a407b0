// Attack: load host modules through import(), a static import, or require.
import { afterAll, beforeAll, it } from 'vitest';
import type { SandboxBackend } from '../../src/ports/sandbox.ts';
import {
  expectBenignSucceeds,
  expectFailure,
  request,
  startBackend,
} from '../sandbox/isolated-vm/helpers.ts';

let backend: SandboxBackend;
beforeAll(async () => {
  backend = await startBackend();
});
afterAll(async () => {
  await backend.dispose();
});

it('dynamic import("fs") is refused', async () => {
  expectFailure(
    await backend.run(
      request(
        `export default async function run() { const fs = await import('fs'); return fs.readFileSync('/etc/passwd', 'utf8'); }`,
      ),
    ),
    'sandbox_failed',
    /The tool threw/,
  );
  await expectBenignSucceeds(backend);
});

it('a static import is refused before any code runs', async () => {
  expectFailure(
    await backend.run(
      request(
        `import { readFileSync } from 'node:fs'; export default function run() { return readFileSync('/etc/passwd', 'utf8'); }`,
      ),
    ),
    'sandbox_failed',
    /may not import/,
  );
  await expectBenignSucceeds(backend);
});

it('require and process do not exist', async () => {
  expectFailure(
    await backend.run(
      request(
        `export default function run() { return require('child_process').execSync('id').toString(); }`,
      ),
    ),
    'sandbox_failed',
    /ReferenceError: require is not defined/,
  );
  expectFailure(
    await backend.run(request(`export default function run() { return process.env; }`)),
    'sandbox_failed',
    /ReferenceError: process is not defined/,
  );
  await expectBenignSucceeds(backend);
});
