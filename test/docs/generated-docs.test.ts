// The generated reference pages (CLI, configuration, manifest fields) are rendered from the code that
// defines them; this fails when one is stale, naming the command that regenerates it.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { expect, it } from 'vitest';
import { generatedDocs } from '../../scripts/docs/targets.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));

it.each(Object.keys(generatedDocs))(
  '%s matches the code (else run `npm run docs:gen`)',
  async (file) => {
    const current = readFileSync(`${root}${file}`, 'utf8');
    expect(await generatedDocs[file]!(current)).toBe(current);
  },
);

it('docs/cli.md names every command and option of the command tree', async () => {
  const { buildProgram } = await import('../../src/cli/program.ts');
  const doc = readFileSync(`${root}docs/cli.md`, 'utf8');
  const walk = (c: Command, path: string[]): void => {
    for (const sub of c.commands) {
      expect(doc).toContain(`\`toolcage ${[...path, sub.name()].join(' ')}\``);
      for (const o of sub.options) expect(doc).toContain(`\`${o.flags}\``);
      walk(sub, [...path, sub.name()]);
    }
  };
  walk(await buildProgram(), []);
});
