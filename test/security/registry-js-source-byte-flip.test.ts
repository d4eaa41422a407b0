// Attack: change one byte of a pinned tool's JS source after the lock was signed (a compromised
// deploy, a malicious commit). The load must be refused naming the tool and the file; a runner that
// already loaded the tool keeps running the exact bytes it hashed, and refuses to reload.
import { readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { ToolcageError } from '../../src/errors/toolcage-error.ts';
import { Registry } from '../../src/registry/registry.ts';
import { loadRegistry } from '../../src/runtime/runner.ts';
import { expectBenignSucceeds, useRunner } from '../helpers/runner.ts';

const s = useRunner();
const file = () => s.ws.path('tool-manifests', 'text.word_count', 'word_count.js');

it('refuses the whole registry with registry_invalid naming text.word_count and word_count.js', async () => {
  const original = readFileSync(file());
  const tampered = Buffer.from(original);
  const at = tampered.indexOf('words ?');
  tampered[at] = 'W'.charCodeAt(0); // `words ?` → `Words ?`: one byte
  writeFileSync(file(), tampered);
  try {
    const err = await loadRegistry(s.ws.loaded).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ToolcageError);
    const e = err as ToolcageError;
    expect(e.code).toBe('registry_invalid');
    expect(e.message).toMatch(/does not match what is on disk; nothing was loaded/);
    expect(e.message).toMatch(
      /text\.word_count: artifact hash [0-9a-f]{64} differs from pinned [0-9a-f]{64} \(text\.word_count\/word_count\.js changed\)/,
    );
    expect((e.details as { problems: string[] }).problems).toHaveLength(1);

    // The running runner is unaffected: it compiled the bytes it hashed, never re-reading the file.
    await expectBenignSucceeds(s.t);
    // Reloading is refused too, and the old verified registry stays in place.
    await expect(s.t.runner.reload()).rejects.toMatchObject({ code: 'registry_invalid' });
    await expectBenignSucceeds(s.t);
  } finally {
    writeFileSync(file(), original);
  }
  await expect(
    Registry.load({
      dir: s.ws.manifests,
      lockKeys: JSON.parse(readFileSync(s.ws.path('keys', 'registry.jwks.json'), 'utf8')),
    }),
  ).resolves.toBeInstanceOf(Registry);
});

it('refuses a source with a payload appended (same behaviour, more bytes)', async () => {
  const original = readFileSync(file(), 'utf8');
  writeFileSync(file(), `${original}\nglobalThis.exfil = 1;\n`);
  try {
    await expect(loadRegistry(s.ws.loaded)).rejects.toMatchObject({
      code: 'registry_invalid',
      message: expect.stringContaining('(text.word_count/word_count.js changed)'),
    });
  } finally {
    writeFileSync(file(), original);
  }
  await expectBenignSucceeds(s.t);
});
