// `npm run docs:gen` (all generated reference files) and `npm run docs:cli` (docs/cli.md only).
// `--check` writes nothing and exits 1 naming each stale file.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { generatedDocs } from './targets.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const check = process.argv.includes('--check');
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const stale: string[] = [];
for (const [file, render] of Object.entries(generatedDocs)) {
  if (only.length > 0 && !only.some((o) => file.includes(o))) continue;
  const path = `${root}${file}`;
  let current = '';
  try {
    current = readFileSync(path, 'utf8');
  } catch {
    // not written yet
  }
  const next = await render(current);
  if (next === current) continue;
  if (check) stale.push(file);
  else {
    writeFileSync(path, next);
    process.stdout.write(`wrote ${file}\n`);
  }
}
if (stale.length > 0) {
  process.stderr.write(`stale: ${stale.join(', ')}; run \`npm run docs:gen\`\n`);
  process.exitCode = 1;
}
