// The hand-written reference pages stay true to the code they describe, and the README links only
// inside the repository (a clone or the npm package has no ../shared).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { claimPayloadSchema } from '../../src/claims/claim.ts';
import { ALLOWED_ALGS } from '../../src/claims/keys.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (f: string) => readFileSync(join(root, f), 'utf8');

/** Pages other branches add; linked before they land. */
const WRITTEN_ELSEWHERE = new Set([
  'docs/errors.md',
  'docs/audit.md',
  'docs/console.md',
  'docs/gvisor.md',
]);

function links(file: string): string[] {
  return [...read(file).matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)]
    .map((m) => m[1]!)
    .filter((l) => !/^[a-z]+:/.test(l));
}

it('README and docs/ link only to files inside the repository that exist', () => {
  const files = [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  for (const file of files) {
    for (const link of links(file)) {
      const target = resolve(root, dirname(file), link);
      expect(target.startsWith(root), `${file} links outside the repository: ${link}`).toBe(true);
      const rel = target.slice(root.length);
      if (WRITTEN_ELSEWHERE.has(rel) || rel.startsWith('docs/security-')) continue;
      expect(existsSync(target), `${file} links to missing ${link}`).toBe(true);
    }
  }
  expect(read('README.md')).not.toMatch(/\.\.\/shared|CONTRACT\.md/);
});

it('docs/claims.md lists every claim field and only the accepted algorithms', () => {
  const doc = read('docs/claims.md');
  for (const field of Object.keys(claimPayloadSchema.shape)) {
    const name = field === 'cnf' ? 'cnf.jkt' : field;
    expect(doc).toContain(`| \`${name}\` |`);
  }
  for (const alg of ALLOWED_ALGS) expect(doc).toContain(`\`${alg}\``);
});
